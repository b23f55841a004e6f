"""Each counted instance's required CE, ranked once per run (methods#required-ce).

``supporting`` gives every instance's supporting CE and what its kept terms must beat.
``RequiredTerms.build`` ranks each counted row once, a block of rows at a time. Where numba is
installed, a compiled kernel (``compiled.signed_terms``) finds each count without ordering the
row and hands back the rows whose sums come within rounding of what they must beat. Those rows,
and every row without numba, are sorted: a partial sort (``np.partition`` at a width that holds
the top shares' terms, then a sort of that part only) and, for the rows whose required count
lies beyond it, a second one that reaches the row's last positive term (no later term can carry
the prediction, so the rest is never ordered); after a block whose rows mostly needed the
second, the next block goes there at once. Both give the same counts. From them every count
rule of the readings is read (the |CE| ranking too, by counting, without a sort of its own),
with the value at which each row's required set ends and the row's largest terms.
The metrics (``metrics``) and the tables (``summaries``) of one run read that one object; the
sets themselves are never stored whole: ``RequiredTerms.set_blocks`` rebuilds them a block of
rows at a time from where they end.
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
from dataclasses import dataclass, field, replace
from typing import Iterator, Mapping, NamedTuple

import numpy as np

from .extraction import CEResult

NOT_COUNTED = -2  # required count of an instance the reading does not count (not a TP by default)
NEVER_CROSSES = -1  # required count of a counted instance whose kept CE never carry the prediction
# Rows are processed in blocks of about this many entries. Blocks of 4 MB are recycled by the
# allocator; blocks of 32 MB and more are mapped and faulted in afresh each time (a fifth of a
# COIL 2000 SVM run's analysis at 1 << 22).
BLOCK_ELEMENTS = 1 << 19
FIRST_WIDTH = 64  # terms the first partial sort orders, at least (more when a top share needs more)
BIAS_MODES = ("include", "exclude")
RANKINGS = ("signed", "absolute")
INSTANCES = ("tp", "all")


@functools.cache
def compiled_kernels():
    """The compiled kernels (``ce/compiled.py``), or None where numba is not installed (the core
    install sorts with numpy and gets the same numbers). Imported on first use, not with the
    package: numba takes a quarter of a second to import, which every notebook that only reads
    results would pay."""
    if importlib.util.find_spec("numba") is None:
        return None
    return importlib.import_module(f"{__package__}.compiled")


def kernels_for(*arrays: np.ndarray):
    """The compiled kernels for these arrays, or None: they add in float64, so CE stored in
    float32 (a study's test CE, read back) are ranked and summed by numpy, in their own type."""
    if any(np.asarray(a).dtype != np.float64 for a in arrays):
        return None
    return compiled_kernels()


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}.")


@dataclass(frozen=True, eq=False)
class Supporting:
    """Per-instance quantities shared by the metrics, for one choice of counted instances.

    The supporting CE themselves (``values_of``) are computed a block of rows at a time from
    the result's features and weights when read, never held whole: for a wide SVM they are as
    large as its kernel matrix.
    """

    result: CEResult
    supported: np.ndarray  # (N,) the class each row's supporting CE point to: the predicted one
    cls: np.ndarray  # (N,) index of the true class
    tp: np.ndarray  # (N,) bool: prediction (bias included) equals the label
    counted: np.ndarray  # (N,) bool: instances the metrics count (TPs, or all under instances="all")
    negative_sum: np.ndarray  # (N,) sum of the negative supporting CE (opposing terms, binary)
    gap_include: np.ndarray  # (N,) binary: the signed bias; multi-class: b[label] - z[second]
    gap_exclude: np.ndarray  # (N,) binary: 0; multi-class: -sum(CE[second])
    instances: str = "tp"  # which instances are counted: "tp" or "all"

    @property
    def binary(self) -> bool:
        return self.result.binary

    @property
    def n_classes(self) -> int:
        return len(self.result.classes)

    @property
    def n_terms(self) -> int:
        return self.result.n_terms

    def values_of(self, rows) -> np.ndarray:
        """(n, D) the supporting CE of ``rows`` (indices or a slice): CE toward the predicted
        class (the true class for a TP), a new array."""
        parts = self.value_parts(np.arange(len(self.cls))[rows] if isinstance(rows, slice) else rows)
        if parts is not None:  # one pass, the same products (ce/compiled.py)
            return compiled_kernels().build_rows(*parts)
        toward = self.supported[rows]
        if self.binary:
            return self.result.signed_rows(np.where(toward == 1, 1.0, -1.0), rows)
        return self.result.class_rows(toward, rows)

    def value_parts(self, rows: np.ndarray):
        """``values_of(rows)`` as the compiled kernels build it, a row at a time: (source (M, D),
        rows, weights (W, D), index (n,), sign (n,)), row i of the CE being
        ``source[rows[i]] * weights[index[i]] * sign[i]``, numpy's products in numpy's order.
        None where the kernels cannot read them: a multi-class result's given CE, arrays not in
        float64 or not C-ordered, or no compiled kernels."""
        result, rows = self.result, np.asarray(rows, dtype=np.int64)
        toward = self.supported[rows]
        index = np.zeros(len(rows), dtype=np.int64)
        if self.binary:
            sign = np.where(toward == 1, 1.0, -1.0)
            if result.given_ce is not None or "ce" in result.__dict__:
                source, weights = result.ce, np.ones((1, self.n_terms))
            else:
                source, weights = result.features, np.asarray(result.weights)[None]
        elif result.given_ce is not None:
            return None
        else:
            source, weights, index, sign = result.features, result.weights, toward.astype(np.int64), np.ones(len(rows))
        arrays = (source, weights)
        if not all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in arrays):
            return None
        return (source, rows, weights, index, sign) if kernels_for(*arrays) is not None else None

    @property
    def values(self) -> np.ndarray:
        """(N, D) every row's supporting CE, built whole on each call (the metrics read blocks)."""
        return self.values_of(slice(None))

    def class_sums(self, rows_of=None, absolute: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Per class, the sum over its counted instances of the rows that ``rows_of(rows)`` gives
        (the supporting CE by default; their absolute values with ``absolute``): (C, D), and
        how many instances there are ((C,))."""
        rows_of = self.values_of if rows_of is None else rows_of
        rows = np.flatnonzero(self.counted)
        out = np.zeros((self.n_classes, self.n_terms))
        for block in row_blocks(len(rows), self.n_terms):
            part = rows_of(rows[block])
            out += onehot(self.cls[rows[block]], self.n_classes).T @ (np.abs(part) if absolute else part)
        return out, np.bincount(self.cls[rows], minlength=self.n_classes).astype(np.float64)

    @property
    def bias_only(self) -> np.ndarray:
        """Counted instances whose bias and opposing terms already carry the prediction."""
        return self.counted & (self.negative_sum + self.gap_include > 0)

    def offset(self, rule: "CountRule") -> np.ndarray:
        """(N,) what the kept terms are added to under ``rule``: the gap, and the negative terms
        when they are kept whole."""
        gap = self.gap_include if rule.bias == "include" else self.gap_exclude
        return gap + self.negative_sum if rule.keep_negatives else gap


def supporting(result: CEResult, y, instances: str = "tp") -> Supporting:
    """Supporting CE, the counted instances and what the kept terms must beat (methods#required-ce)."""
    check_choice("instances", instances, INSTANCES)
    cls = result.class_index(y)  # labels of any dtype, as indices into result.classes
    n = len(cls)
    rows = np.arange(n)
    pred = result.predicted_index
    tp = pred == cls
    counted = tp if instances == "tp" else np.ones(n, dtype=bool)
    gap_exc = np.zeros(n)
    if result.binary:
        gap_inc = np.where(pred == 1, 1.0, -1.0) * result.bias
    else:
        if len(result.classes) < 2:
            raise ValueError("A multi-class result needs at least two classes.")
        scores = result.scores
        masked = scores.copy()
        masked[rows, pred] = -np.inf
        second = masked.argmax(1)  # the runner-up of a TP; the released code's "next logit"
        bias = np.asarray(result.bias, dtype=np.float64)
        gap_inc = bias[cls] - scores[rows, second]
        for block in row_blocks(n, result.n_terms):
            gap_exc[block] = -result.class_rows(second[block], block).sum(1)
    negative_sum = np.empty(n)
    sup = Supporting(result, pred, cls, tp, counted, negative_sum, gap_inc, gap_exc, instances)
    for block in row_blocks(n, result.n_terms):  # no (N, D) array
        negative_sum[block] = np.minimum(sup.values_of(block), 0.0).sum(1)
    return sup


class CountRule(NamedTuple):
    """What a required count depends on: the bias, whether the negative supporting terms are
    kept whole (always for binary models) and the ranking of the terms."""

    bias: str = "include"
    keep_negatives: bool = True
    ranking: str = "signed"


def onehot(cls: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) rows of zeros with a one at each row's class (sums per class by a product)."""
    out = np.zeros((len(cls), n_classes))
    out[np.arange(len(cls)), cls] = 1.0
    return out


def row_blocks(n: int, d: int):
    step = max(1, BLOCK_ELEMENTS // max(d, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def descending(values: np.ndarray, m: int) -> np.ndarray:
    """(B, m) each row's m largest values, from the largest: a partial sort, then a sort of the
    kept part only (a full sort when m is three quarters of D or more, where the partial sort
    costs more than it saves: measured on the COIL 2000 SVM runs)."""
    d = values.shape[1]
    m = min(m, d)
    if 4 * m >= 3 * d:
        return np.sort(values, axis=1)[:, ::-1][:, :m]
    part = np.partition(values, d - m, axis=1)[:, d - m:]
    return np.sort(part, axis=1)[:, ::-1]


def _first_crossings(ranked: np.ndarray, rules: list[CountRule], offsets: list[np.ndarray]) -> list[np.ndarray]:
    """Per rule and row, the smallest j with ``sum(steps[:j]) + offset > 0`` (-1 where no j up to
    the ranked width does), the steps being the ranked terms (their positive parts when
    negatives are kept whole). The sum runs left to right as the released loop adds, so it is
    the full sort's to the last bit."""
    kept_sums = {}
    out = []
    for rule, offset in zip(rules, offsets):
        keep = rule.keep_negatives
        if keep not in kept_sums:
            kept = np.zeros((len(ranked), ranked.shape[1] + 1))
            np.cumsum(np.maximum(ranked, 0.0) if keep else ranked, axis=1, out=kept[:, 1:])
            kept_sums[keep] = kept
        kept = kept_sums[keep]
        must_beat = -offset[:, None]  # kept + offset > 0 exactly when kept > -offset (IEEE sums)
        if keep:  # the kept sum never falls: it crosses after the sums that do not beat the offset
            first = (kept <= must_beat).sum(1)
            out.append(np.where(first < kept.shape[1], first, -1))
        else:
            crosses = kept > must_beat
            out.append(np.where(crosses.any(1), crosses.argmax(1), -1))
    return out


def set_mask(key: np.ndarray, k: np.ndarray, end: np.ndarray) -> np.ndarray:
    """(B, D) bool: each row's k first terms in descending order of ``key`` with ties broken by
    feature index, from the key of its k-th term (``end``): every term above it, and the terms
    equal to it in index order until k are taken."""
    chosen = key > end[:, None]
    at = key == end[:, None]
    room = k - chosen.sum(1)
    tied = np.flatnonzero(at.sum(1) > room)  # rows where ties at the end exceed the places left
    if len(tied):
        at[tied] &= np.cumsum(at[tied], axis=1) <= room[tied, None]
    chosen |= at
    chosen &= (k > 0)[:, None]
    return chosen


def bounded_mask(values: np.ndarray, key: np.ndarray, k: np.ndarray, end: np.ndarray, positive: bool) -> np.ndarray:
    """``set_mask(key, k, end)``, and only positive ``values`` with ``positive``: the sets of
    ``RequiredTerms.set_bounds``, by the compiled kernel where it applies."""
    kernels = kernels_for(key, end)
    if kernels is not None:
        return kernels.set_masks(np.ascontiguousarray(key), np.asarray(k, dtype=np.int64), end, positive)
    mask = set_mask(key, k, end)
    if positive:
        mask &= values > 0
    return mask


def _end_key(ranked_key: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The key of each row's k-th ranked term: +inf for k = 0 (no term), -inf for a row that
    needs every term (``NEVER_CROSSES``: the released loop counts up to D)."""
    end = np.full(len(k), np.inf)
    some = k > 0
    end[some] = ranked_key[np.flatnonzero(some), k[some] - 1]
    end[k == NEVER_CROSSES] = -np.inf
    return end


def _signed_block(values: np.ndarray, rules: list[CountRule], offsets: list[np.ndarray], width: int, n_largest: int,
                  first_pass: bool = True):
    """Required counts and set ends of a block of rows for the signed rules, its ``n_largest``
    largest terms, the share of its rows the sorting pass did not settle (0 when the compiled
    kernel ranked the block), and each row's number of positive terms (None when sorted).

    Rules that keep the negative terms whole (every binary one, the default multi-class one)
    go to the compiled kernel where numba is installed: it finds each count without ordering
    the row, and hands back the rows whose sums come within rounding of what they must beat,
    which ``_sorted_block`` ranks here. Both give the same counts, ends and terms.
    """
    kernels = kernels_for(values, *offsets)
    if kernels is None or not all(rule.keep_negatives for rule in rules):
        return *_sorted_block(values, rules, offsets, width, n_largest, first_pass), None
    values = np.ascontiguousarray(values)
    k, end, ok, largest, positives = kernels.signed_terms(values, -np.stack(offsets, axis=1), n_largest)
    counts, ends = list(k.T), list(end.T)
    again = np.flatnonzero(~ok)
    if len(again):
        sorted_counts, sorted_ends, largest[again], _ = _sorted_block(
            values[again], rules, [o[again] for o in offsets], width, n_largest)
        for i in range(len(rules)):
            counts[i][again], ends[i][again] = sorted_counts[i], sorted_ends[i]
    return counts, ends, largest, 0.0, positives


def _sorted_block(values: np.ndarray, rules: list[CountRule], offsets: list[np.ndarray], width: int, n_largest: int,
                  first_pass: bool = True):
    """``_signed_block`` by sorting: required counts and set ends of a block of rows for the
    signed rules, its ``n_largest`` largest terms, and the share of its rows the first pass did
    not settle.

    A first pass orders each row's ``width`` largest terms; a row is done there when its count
    lies within them, or when the last of them is not positive (no later step can raise the
    kept sum). The others, and the rows that cannot cross within ``width`` terms (``width``
    times their largest term does not beat the offset), get one pass that orders the block's
    positive terms: k is unknown before sorting, so the order reaches only as far as a count can.
    Without ``first_pass`` every row goes to that pass at once (same counts: it orders at least
    ``width`` terms of each row the same way), for blocks whose rows mostly need it.
    """
    b, d = values.shape
    counts = [np.full(b, NEVER_CROSSES, dtype=np.int64) for _ in rules]
    ends = [np.full(b, -np.inf) for _ in rules]
    largest = np.empty((b, n_largest))
    deep = np.full(b, not first_pass and width < d)
    if width < d and first_pass:
        reach = width * np.maximum(values.max(1), 0.0) * (1 + 1e-9)  # above any rounding of the sum
        for offset in offsets:
            deep |= -offset > reach
    for second in (False, True):
        rows = np.flatnonzero(deep if second else ~deep)
        if not len(rows):
            continue
        sub = values if len(rows) == b else values[rows]
        parts = _positive_parts(sub, max(width + 1, n_largest)) if second else [(slice(None), descending(sub, width))]
        for at, top in parts:
            rows_at = rows[at]
            largest[rows_at] = top[:, :n_largest]
            for i, first in enumerate(_first_crossings(top, rules, [o[rows_at] for o in offsets])):
                k = np.where(first >= 0, first, NEVER_CROSSES)
                counts[i][rows_at] = k
                ends[i][rows_at] = _end_key(top, k)
                if not second:  # not settled: more terms may still carry it
                    deep[rows_at[(first < 0) & (top.shape[1] < d) & (top[:, -1] > 0)]] = True
    return counts, ends, largest, float(deep.mean()) if b else 0.0


def _positive_parts(values: np.ndarray, least: int, patterns: int = 2) -> list[tuple[np.ndarray, np.ndarray]]:
    """The second pass's order: (rows, (n, m) their positive terms and any after them, from the
    largest) for parts of a block, every row's positive terms ordered and at least ``least`` terms.

    Rows whose positive terms sit in the same columns are ordered on those columns alone, with
    no partial sort: an SVM's rows that predict one class (its RBF kernel values are positive,
    so the signs are those of its dual coefficients) share them. Up to ``patterns`` such parts
    (an SVM has one per class); the other rows are ordered by ``descending``.
    """
    positive = values > 0
    count = positive.sum(1)
    rest = np.arange(len(values))
    parts = []
    for _ in range(patterns):
        if not len(rest) or count[rest[0]] < least:
            break
        same = rest[(positive[rest] == positive[rest[0]]).all(1)]
        columns = np.flatnonzero(positive[rest[0]])
        part = values[:, columns] if len(same) == len(values) else values[np.ix_(same, columns)]
        parts.append((same, np.sort(part, axis=1)[:, ::-1]))
        rest = np.setdiff1d(rest, same, assume_unique=True)
    if len(rest):
        sub = values[rest]
        parts.append((rest, descending(sub, max(int(count[rest].max()), least))))
    return parts


# A block goes straight to the second pass when more than this share of the previous block's rows
# needed it (a COIL 2000 SVM's TPs need about 1,000 of 1,833 terms: the first pass is wasted work).
DEEP_SHARE = 0.5


def _absolute_from_signed(values: np.ndarray, k_signed: np.ndarray, end_signed: np.ndarray):
    """The |CE|-ranked count of a rule that keeps negatives whole, from the signed one.

    A negative term adds nothing to the kept sum, and the positive terms come in the same order
    under both rankings, so the kept sum crosses at the same positive term t (the signed
    count's last one): the |CE| count is its position in the |CE| order, t's place among the
    positive terms plus the negative terms ranked before it (|CE| above t, or equal with a lower
    index). Its set ends at the same key t.
    """
    k = k_signed.copy()
    crossing = np.flatnonzero(k_signed > 0)
    if len(crossing):
        v, t = values[crossing], end_signed[crossing, None]
        k[crossing] += (v < -t).sum(1)
        ties = np.flatnonzero((v == -t).any(1))
        if len(ties):
            # t's rank among the positive terms equal to it, then the negative ties before it
            vt, tt = v[ties], t[ties]
            rank = k_signed[crossing[ties]] - (vt > tt).sum(1)
            at_t = np.cumsum(vt == tt, axis=1)
            column = (at_t >= rank[:, None]).argmax(1)
            before = np.cumsum(vt == -tt, axis=1)[np.arange(len(ties)), column]
            k[crossing[ties]] += before
    return k, end_signed.copy()


def _full_order_block(values: np.ndarray, rules: list[CountRule], offsets: list[np.ndarray]):
    """Counts and ends by a full stable sort of |CE|: rules that rank the negative terms by |CE|
    (no reading does; the API allows it)."""
    key = np.abs(values)
    order = np.argsort(-key, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=1)
    ranked_key = np.take_along_axis(key, order, axis=1)
    counts, ends = [], []
    for first in _first_crossings(ranked, rules, offsets):
        counts.append(np.where(first >= 0, first, NEVER_CROSSES))
        ends.append(_end_key(ranked_key, counts[-1]))
    return counts, ends


def rank_rows(values: np.ndarray, offset: np.ndarray, rule: CountRule = CountRule()) -> tuple[np.ndarray, np.ndarray]:
    """Required counts ((n,): k or NEVER_CROSSES) and set ends ((n,)) of rows of supporting CE
    ``values`` that are no result's (permuted rows, say) whose kept terms must beat ``offset``,
    under a signed ``rule``."""
    if rule.ranking != "signed":
        raise ValueError("rank_rows ranks by signed value; the |CE| ranking needs a result's terms.")
    k = np.empty(len(values), dtype=np.int64)
    end = np.empty(len(values))
    d = values.shape[1]
    deep = 0.0
    for block in row_blocks(len(values), d + 1):
        counts, ends, _, deep, _ = _signed_block(values[block], [rule], [offset[block]], min(d, FIRST_WIDTH), 0,
                                                 first_pass=deep <= DEEP_SHARE)
        k[block], end[block] = counts[0], ends[0]
    return k, end


@dataclass(frozen=True, eq=False)
class RequiredTerms:
    """Every counted instance's required count under each count rule, the key at which its
    required set ends (``set_mask``) and its largest supporting terms: what the metrics of one
    result, labels and choice of instances read. Build it once with ``RequiredTerms.build``."""

    support: Supporting
    counts: Mapping[CountRule, np.ndarray]  # (N,) per rule: k, NEVER_CROSSES, or NOT_COUNTED
    ends: Mapping[CountRule, np.ndarray]  # (N_counted,) per rule: the ranking key of each set's last term
    largest: np.ndarray  # (N_counted, m) each counted row's m largest supporting terms, descending
    positive_sum: np.ndarray  # (N_counted,) each counted row's sum of positive supporting terms
    n_positive: np.ndarray  # (N_counted,) each counted row's number of positive supporting terms
    class_sums: np.ndarray  # (C, D) per class, the sum of its counted rows' supporting terms
    rows: np.ndarray = field(init=False)  # (N_counted,) the counted instances, in order
    class_counts: np.ndarray = field(init=False)  # (C,) per class, its counted instances

    def __post_init__(self):
        object.__setattr__(self, "rows", np.flatnonzero(self.support.counted))
        counts = np.bincount(self.support.cls[self.rows], minlength=self.support.n_classes)
        object.__setattr__(self, "class_counts", counts.astype(np.int64))

    @classmethod
    def build(cls, support: Supporting, rules=(CountRule(),), n_largest: int = 0) -> "RequiredTerms":
        """Rank each counted row of ``support`` once for ``rules`` (``CountRule``s) and keep its
        ``n_largest`` largest terms."""
        rules = list(dict.fromkeys(CountRule(*r) for r in rules))
        for rule in rules:
            check_choice("bias", rule.bias, BIAS_MODES)
            check_choice("ranking", rule.ranking, RANKINGS)
        # The |CE| count of a rule that keeps negatives is read from the signed one.
        derived = {r: CountRule(r.bias, True, "signed") for r in rules if r.ranking == "absolute" and r.keep_negatives}
        signed = list(dict.fromkeys([r for r in rules if r.ranking == "signed"] + list(derived.values())))
        full = [r for r in rules if r.ranking == "absolute" and not r.keep_negatives]
        rows = np.flatnonzero(support.counted)
        d = support.n_terms
        n_largest = min(n_largest, d)
        width = min(d, max(FIRST_WIDTH, n_largest))
        counts = {r: np.full(len(support.cls), NOT_COUNTED, dtype=np.int64) for r in rules + signed}
        ends = {r: np.full(len(rows), np.nan) for r in rules + signed}
        largest = np.empty((len(rows), n_largest))
        positive_sum = np.empty(len(rows))
        n_positive = np.empty(len(rows), dtype=np.int64)
        class_sums = np.zeros((support.n_classes, d))
        offsets = {r: support.offset(r) for r in signed + full}
        deep = 0.0
        for block in row_blocks(len(rows), d + 1):
            at = rows[block]
            values = support.values_of(at)  # one pass over the rows for everything below
            positive_sum[block] = np.maximum(values, 0.0).sum(1)
            class_sums += onehot(support.cls[at], support.n_classes).T @ values
            positives = None
            if signed:
                found, found_ends, largest[block], deep, positives = _signed_block(
                    values, signed, [offsets[r][at] for r in signed], width, n_largest, first_pass=deep <= DEEP_SHARE)
                for r, k, end in zip(signed, found, found_ends):
                    counts[r][at], ends[r][block] = k, end
            n_positive[block] = (values > 0).sum(1) if positives is None else positives
            for r, base in derived.items():
                counts[r][at], ends[r][block] = _absolute_from_signed(values, counts[base][at], ends[base][block])
            if full:
                for r, k, end in zip(full, *_full_order_block(values, full, [offsets[r][at] for r in full])):
                    counts[r][at], ends[r][block] = k, end
        keep = set(rules)
        return cls(support, {r: v for r, v in counts.items() if r in keep}, {r: v for r, v in ends.items() if r in keep},
                   largest, positive_sum, n_positive, class_sums)

    def ranked(self, rule: CountRule) -> tuple[np.ndarray, np.ndarray]:
        """The counts ((N,)) and set ends ((N_counted,)) under ``rule``: those ranked at build
        time, or, for a rule these terms were not built for, ranked now (and not kept)."""
        if rule not in self.counts:
            again = RequiredTerms.build(self.support, [rule])
            return again.counts[rule], again.ends[rule]
        return self.counts[rule], self.ends[rule]

    def count(self, rule: CountRule) -> np.ndarray:
        """(N,) the required counts under ``rule`` (a copy)."""
        return self.ranked(rule)[0].copy()

    def subset(self, counted: np.ndarray, instances: str) -> "RequiredTerms":
        """The same terms for fewer counted instances (``counted`` among this object's): the
        TPs of terms ranked over all instances have the same supporting CE and offsets."""
        counted = np.asarray(counted, dtype=bool)
        if (counted & ~self.support.counted).any():
            raise ValueError("A subset can only count instances that these terms count.")
        inner = counted[self.rows]
        counts = {r: np.where(counted, k, NOT_COUNTED) for r, k in self.counts.items()}
        support = replace(self.support, counted=counted, instances=instances)
        return RequiredTerms(support, counts, {r: e[inner] for r, e in self.ends.items()}, self.largest[inner],
                             self.positive_sum[inner], self.n_positive[inner], support.class_sums()[0])

    def set_bounds(self, rule: CountRule | None = None, at_least_one: bool = False, top: int = 0,
                   within: np.ndarray | None = None, values: bool = True) -> Iterator[tuple[np.ndarray, ...]]:
        """What ``set_blocks`` builds its sets from, a block at a time: (positions, (B, D) supporting
        CE, (B, D) ranking key, (B,) k, (B,) key of the k-th term, whether only positive terms
        count). A set is its row's k first terms in descending key order, ties broken by index:
        the key is the CE, or their absolute values under a rule that ranks by |CE|. Without
        ``values`` (for a kernel that builds each row itself, ``Supporting.value_parts``) each
        block is (positions, k, key of the k-th term, whether only positive terms count, whether
        the key is the absolute values), and no block of CE is built."""
        positions = np.arange(len(self.rows)) if within is None else np.asarray(within)
        d = self.support.n_terms
        if top:
            top = min(top, d)
            if self.largest.shape[1] < top:
                raise ValueError(f"These terms keep {self.largest.shape[1]} largest terms per row, fewer than {top}.")
        else:
            counts, ends = self.ranked(rule)
        absolute = not top and rule.ranking == "absolute"
        for block in row_blocks(len(positions), d):
            at = positions[block]
            block_values = self.support.values_of(self.rows[at]) if values else None
            if top:
                k, end, positive = np.full(len(at), top), self.largest[at, top - 1], True
            else:
                k, end, positive = counts[self.rows[at]], ends[at], False
                if at_least_one:
                    zero = k == 0
                    k = np.where(zero, 1, k)
                    end = end.copy()
                    end[zero] = self.first_key(rule, at[zero], None if block_values is None else block_values[zero])
                k = np.where(k == NEVER_CROSSES, d, k)
            if not values:
                yield at, k, end, positive, absolute
                continue
            key = np.abs(block_values) if absolute else block_values
            yield at, block_values, key, k, end, positive

    def set_blocks(self, rule: CountRule | None = None, at_least_one: bool = False, top: int = 0,
                   within: np.ndarray | None = None, with_values: bool = False) -> Iterator[tuple[np.ndarray, ...]]:
        """(positions among the counted rows, (B, D) bool sets) a block at a time: each row's
        required set under ``rule`` (with k = 1 for k = 0 under ``at_least_one``), or, with
        ``top`` > 0, its ``top`` largest positive terms (the reading "top-k sets"). ``within``:
        only these positions among the counted rows. ``with_values``: each block's (B, D)
        supporting CE come third, the ones its sets were read from."""
        for at, values, key, k, end, positive in self.set_bounds(rule, at_least_one, top, within):
            mask = bounded_mask(values, key, k, end, positive)
            yield (at, mask, values) if with_values else (at, mask)

    def first_key(self, rule: CountRule, positions: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        """The ranking key of the first term of the rows at ``positions`` under ``rule`` (``values``:
        their supporting CE, when the caller has them)."""
        if rule.ranking != "absolute" and self.largest.shape[1]:
            return self.largest[positions, 0]
        values = self.support.values_of(self.rows[positions]) if values is None else values
        return np.abs(values).max(1) if rule.ranking == "absolute" else values.max(1)

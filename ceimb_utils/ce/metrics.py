"""The paper's metrics on classification embeddings (SPEC section 2), vectorised.

Every function takes a ``CEResult`` and true labels ``y`` (values from ``result.classes``) and
works on the true positives (TPs): instances whose prediction, bias included, equals the label.
"Supporting CE" of an instance of class c are ``CE[n, c, :]`` for multi-class results and the CE
signed toward c for binary ones (for a TP, c is also the predicted class).
"""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from .extraction import CEResult

NOT_COUNTED = -2  # required_ce value of an instance the reading does not count (not a TP by default)
NOT_TP = NOT_COUNTED
NEVER_CROSSES = -1  # required_ce value of a counted instance whose kept CE never carry the prediction
BLOCK_ELEMENTS = 1 << 22  # rows are processed in blocks of about this many entries
NULL_BUDGET = 5 * 10**7  # permuted entries (instances x features x permutations) per null, at most
MIN_PERMUTATIONS = 20
BIAS_MODES = ("include", "exclude")
RANKINGS = ("signed", "absolute")


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}.")


@dataclass(frozen=True)
class Reading:
    """How the metrics read what the paper leaves open (SPEC 2.7). The defaults follow the
    authors' released code; each named reading in ``READINGS`` changes one choice.

    - ``negatives``: multi-class required CE keep the predicted class's own negative CE whole
      (``"kept"``, as the binary rule keeps opposing terms) or rank them with the rest
      (``"ranked"``: the reading "positive terms only", ``sum(top-k CE) + b[c] > z[r]``).
    - ``at_least_one``: count k = 1, not 0, when bias and opposing terms decide alone.
    - ``share_count``: the top share takes ``max(1, int(frac * D))`` entries (``"floor"``) or
      ``ceil(frac * D)`` (``"ceil"``).
    - ``sets``: the class-level union and RQ3's frequency are taken over each instance's
      required set (``"required"``: the k terms of ``required_ce``) or its top-k (``"top-k"``).
    - ``instances``: TPs only (``"tp"``), or every instance of a label with the CE of its
      predicted class (``"all"``: the released loops filter by label, not by prediction).
    - ``bias``: the bias takes part in the required count (``"include"``) or not.
    - ``ranking``: terms ranked by signed value or by |CE|.
    """

    negatives: str = "kept"
    at_least_one: bool = False
    share_count: str = "floor"
    sets: str = "required"
    instances: str = "tp"
    bias: str = "include"
    ranking: str = "signed"

    def __post_init__(self):
        for name, allowed in (("negatives", ("kept", "ranked")), ("share_count", ("floor", "ceil")),
                              ("sets", ("required", "top-k")), ("instances", ("tp", "all")),
                              ("bias", BIAS_MODES), ("ranking", RANKINGS), ("at_least_one", (False, True))):
            _check_choice(name, getattr(self, name), allowed)


DEFAULT = Reading()
READINGS = {
    "default": DEFAULT,
    "positive terms only": Reading(negatives="ranked"),
    "at least one term": Reading(at_least_one=True),
    "ceil share": Reading(share_count="ceil"),
    "top-10 sets": Reading(sets="top-k"),
    "as released, all instances": Reading(instances="all"),
    "bias excluded": Reading(bias="exclude"),
    "ranked by |CE|": Reading(ranking="absolute"),
}


def reading_named(name: str) -> Reading:
    if name not in READINGS:
        raise ValueError(f"Unknown reading {name!r}; choose one of {', '.join(map(repr, READINGS))}.")
    return READINGS[name]


@dataclass
class Supporting:
    """Per-instance quantities shared by the metrics, for one choice of counted instances."""

    values: np.ndarray  # (N, D) CE toward the predicted class (the true class for a TP)
    cls: np.ndarray  # (N,) index of the true class
    tp: np.ndarray  # (N,) bool: prediction (bias included) equals the label
    counted: np.ndarray  # (N,) bool: instances the metrics count (TPs, or all under instances="all")
    negative_sum: np.ndarray  # (N,) sum of the negative supporting CE (opposing terms, binary)
    gap_include: np.ndarray  # (N,) binary: the signed bias; multi-class: b[label] - z[second]
    gap_exclude: np.ndarray  # (N,) binary: 0; multi-class: -sum(CE[second])
    binary: bool

    @property
    def bias_only(self) -> np.ndarray:
        """Counted instances whose bias and opposing terms already carry the prediction."""
        return self.counted & (self.negative_sum + self.gap_include > 0)


def supporting(result: CEResult, y, instances: str = "tp") -> Supporting:
    """Supporting CE, the counted instances and what the kept terms must beat (SPEC 2.1).

    Remembered on the result for the last ``y`` and ``instances`` it was asked for, so that
    several metrics on the same result and labels read the CE once.
    """
    _check_choice("instances", instances, ("tp", "all"))
    y = np.asarray(y)
    key = (y.dtype.str, y.shape, hashlib.blake2b(np.ascontiguousarray(y).view(np.uint8)).hexdigest())
    remembered = result.__dict__.setdefault("_supporting", {})
    if instances in remembered and remembered[instances][0] == key:
        return remembered[instances][1]
    sup = _supporting(result, y, instances)
    remembered[instances] = (key, sup)
    return sup


def _supporting(result: CEResult, y, instances: str) -> Supporting:
    cls = result.class_index(y)
    n = len(cls)
    rows = np.arange(n)
    pred = result.predicted_index
    tp = pred == cls
    counted = tp if instances == "tp" else np.ones(n, dtype=bool)
    if result.binary:
        sign = np.where(pred == 1, 1.0, -1.0)
        values = result.ce * sign[:, None]
        gap_inc, gap_exc = sign * result.bias, np.zeros(n)
    else:
        if result.ce.shape[1] < 2:
            raise ValueError("A multi-class result needs at least two classes.")
        scores = result.scores
        values = result.ce[rows, pred]
        masked = scores.copy()
        masked[rows, pred] = -np.inf
        second = masked.argmax(1)  # the runner-up of a TP; the released code's "next logit"
        bias = np.asarray(result.bias, dtype=np.float64)
        gap_inc = bias[cls] - scores[rows, second]
        gap_exc = -result.ce[rows, second].sum(1)
    negative_sum = np.minimum(values, 0.0).sum(1)
    return Supporting(values, cls, tp, counted, negative_sum, gap_inc, gap_exc, result.binary)


def _row_blocks(n: int, d: int):
    step = max(1, BLOCK_ELEMENTS // max(d, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _order(values: np.ndarray, ranking: str) -> np.ndarray:
    """Per row, feature indices in descending order of the ranking (ties: lower index first)."""
    key = values if ranking == "signed" else np.abs(values)
    return np.argsort(-key, axis=1, kind="stable")


def required_ce(result: CEResult, y, reading: Reading = DEFAULT, support: Supporting | None = None,
                **changes) -> np.ndarray:
    """Smallest number k of supporting CE that still carry each counted prediction (SPEC 2.1, 2.7).

    The k largest supporting terms are kept. By default every negative supporting term (the
    opposing terms of a binary model, the predicted class's own negative CE of a multi-class
    one) is kept whole, with the bias: multi-class, ``sum(top-k positive CE[n,c]) +
    sum(negative CE[n,c]) + b[c] > z[r]``; binary, ``sum(top-k supporting) + sum(opposing) +
    signed bias > 0``. ``bias="exclude"`` drops the bias (multi-class: the runner-up's CE sum
    replaces its logit). ``changes`` alter single fields of ``reading``
    (``required_ce(r, y, bias="exclude")``).

    Returns an int array over all instances: k in [0, D] for counted instances (0: the bias and
    the opposing terms decide alone; 1 at least under ``at_least_one``), ``NOT_COUNTED`` for
    the others and ``NEVER_CROSSES`` for counted instances whose kept terms never cross.
    """
    reading = replace(reading, **changes) if changes else reading
    sup = support if support is not None else supporting(result, y, reading.instances)
    gap = sup.gap_include if reading.bias == "include" else sup.gap_exclude
    keep_negatives = sup.binary or reading.negatives == "kept"
    offset = gap + (sup.negative_sum if keep_negatives else 0.0)
    out = np.full(len(sup.cls), NOT_COUNTED, dtype=np.int64)
    rows_counted = np.flatnonzero(sup.counted)
    d = sup.values.shape[1]
    for block in _row_blocks(len(rows_counted), d + 1):
        rows = rows_counted[block]
        values = sup.values[rows]
        if reading.ranking == "signed":  # equal values add the same: a plain sort will do
            ranked = np.sort(values, axis=1)[:, ::-1]
        else:
            ranked = np.take_along_axis(values, _order(values, reading.ranking), axis=1)
        steps = np.maximum(ranked, 0.0) if keep_negatives else ranked
        kept = np.zeros((len(rows), d + 1))
        np.cumsum(steps, axis=1, out=kept[:, 1:])
        crosses = kept + offset[rows, None] > 0  # column j: the j largest terms kept
        k = crosses.argmax(1)
        if reading.at_least_one:
            k = np.maximum(k, 1)
        out[rows] = np.where(crosses.any(1), k, NEVER_CROSSES)
    return out


def required_mask(values: np.ndarray, k: np.ndarray, ranking: str = "signed") -> np.ndarray:
    """(N, D) bool: each row's required set, its k first terms in ranking order.

    A row with ``k == NEVER_CROSSES`` needs every term, as the released loop counts up to D.
    """
    d = values.shape[1]
    k = np.where(k == NEVER_CROSSES, d, k)
    if ranking == "signed":
        return _largest_mask(values, k, positive_only=False)
    mask = np.zeros(values.shape, dtype=bool)
    for block in _row_blocks(values.shape[0], d):
        order = _order(values[block], ranking)
        position = np.empty_like(order)
        np.put_along_axis(position, order, np.arange(d)[None, :].repeat(len(order), 0), axis=1)
        mask[block] = position < k[block, None]
    return mask


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)


def topk_mask(values: np.ndarray, k: int) -> np.ndarray:
    """(N, D) bool: each row's k largest entries that are positive (ties: lower index first)."""
    k = min(_check_k(k), values.shape[1])
    return _largest_mask(values, np.full(values.shape[0], k), positive_only=True)


def _largest_mask(values: np.ndarray, k: np.ndarray, positive_only: bool) -> np.ndarray:
    """(N, D) bool: row n's k[n] largest entries (ties: lower index first), optionally only the
    positive ones among them.

    A sort finds each row's k-th largest value t; entries above t are in, and entries equal to t
    fill the remaining places in index order.
    """
    n, d = values.shape
    mask = np.zeros(values.shape, dtype=bool)
    k = np.minimum(np.asarray(k), d)
    for block in _row_blocks(n, d):
        sub, kb = values[block], k[block]
        some = kb > 0
        kth = np.sort(sub, axis=1)[np.arange(len(kb)), d - np.maximum(kb, 1)][:, None]
        chosen = sub > kth
        at = sub == kth
        room = kb - chosen.sum(1)
        tied = np.flatnonzero(at.sum(1) > room)  # rows where ties at t exceed the places left
        fill = at
        if len(tied):
            fill = at.copy()
            fill[tied] &= np.cumsum(at[tied], axis=1) <= room[tied, None]
        chosen |= fill
        chosen &= some[:, None]
        if positive_only:
            chosen &= sub > 0
        mask[block] = chosen
    return mask


def _n_classes(result: CEResult) -> int:
    return len(result.classes)


def _class_sums(cls: np.ndarray, values: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sums of the rows of ``values`` and the row counts."""
    onehot = np.zeros((len(cls), n_classes))
    onehot[np.arange(len(cls)), cls] = 1.0
    return onehot.T @ values, onehot.sum(0)


def instance_sets(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT,
                  support: Supporting | None = None, needed: np.ndarray | None = None) -> np.ndarray:
    """(N_counted, D) bool: the terms each counted instance's prediction rests on.

    Default: its required set (the k terms of ``required_ce``, as the released code collects
    them); reading ``sets="top-k"``: its k largest positive supporting terms.
    """
    sup = support if support is not None else supporting(result, y, reading.instances)
    values = sup.values[sup.counted]
    if reading.sets == "top-k":
        return topk_mask(values, k)
    needed = needed if needed is not None else required_ce(result, y, reading, support=sup)
    return required_mask(values, needed[sup.counted], reading.ranking)


def class_topk_union(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT,
                     support: Supporting | None = None, needed: np.ndarray | None = None) -> np.ndarray:
    """Per class, the number of distinct CE indices in the union of its counted instances'
    sets (``instance_sets``: required sets by default, top-k under a reading) (SPEC 2.2).

    NaN for a class with no counted instance (no TP by default), like every per-class metric.
    """
    sup = support if support is not None else supporting(result, y, reading.instances)
    sets = instance_sets(result, y, k, reading, sup, needed)
    hits, counts = _class_sums(sup.cls[sup.counted], sets.astype(np.float64), _n_classes(result))
    return np.where(counts > 0, (hits > 0).sum(1), np.nan)


def n_top(d: int, frac: float, count: str = "floor") -> int:
    """How many entries the top share takes: ``max(1, int(frac * D))`` (the authors) or the
    ceiling (rounded first, so that 0.1 x 30 is 3, not 4)."""
    _check_choice("share_count", count, ("floor", "ceil"))
    if not 0 < frac <= 1:
        raise ValueError(f"frac must lie in (0, 1], got {frac!r}.")
    return max(1, int(frac * d)) if count == "floor" else max(1, math.ceil(round(frac * d, 9)))


def share_of_top(values: np.ndarray, frac: float = 0.1, count: str = "floor") -> np.ndarray:
    """Row-wise: sum of the ``n_top`` largest entries (negatives as 0) over the positive sum."""
    values = np.atleast_2d(values)
    top_n = n_top(values.shape[1], frac, count)
    positive = np.maximum(values, 0.0)
    top = -np.partition(-positive, top_n - 1, axis=1)[:, :top_n]
    total = positive.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, top.sum(1) / total, np.nan)


def top_share(result: CEResult, y, frac: float = 0.1, per_instance: bool = False,
              absolute: bool = False, reading: Reading = DEFAULT, support: Supporting | None = None) -> np.ndarray:
    """Per class, the share of the top ``frac`` of CE in the supporting sum (SPEC 2.3).

    Default: the class-mean supporting vector over the class's TPs; its ``n_top`` largest
    entries over the sum of its positive entries. ``per_instance=True``: the mean over TPs of
    each instance's share. ``absolute=True`` uses |CE| (a sensitivity reading). NaN for a class
    without TPs.
    """
    sup = support if support is not None else supporting(result, y, reading.instances)
    values = sup.values[sup.counted]
    values = np.abs(values) if absolute else values
    cls = sup.cls[sup.counted]
    n_classes = _n_classes(result)
    if per_instance:
        shares = share_of_top(values, frac, reading.share_count) if len(values) else np.empty(0)
        sums, counts = _class_sums(cls[~np.isnan(shares)], shares[~np.isnan(shares), None], n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums[:, 0] / np.maximum(counts, 1), np.nan)
    sums, counts = _class_sums(cls, values, n_classes)
    means = sums / np.maximum(counts, 1)[:, None]
    return np.where(counts > 0, share_of_top(means, frac, reading.share_count), np.nan)


@dataclass
class FrequencyMagnitude:
    """RQ3 per class: how often each CE index is in a TP's set and how large it is."""

    freq: np.ndarray  # (C, D) fraction of the class's TPs whose set includes d
    mag: np.ndarray  # (C, D) mean supporting CE of d over those TPs
    mag_features: np.ndarray  # (C, D) mean feature value F[d] over those TPs
    n_tp: np.ndarray  # (C,)
    spearman: np.ndarray  # (C,) rank correlation of freq and mag across d (NaN if undefined)
    ci_low: np.ndarray  # (C,) half-sampling interval (NaN where none is shown: see ci_status)
    ci_high: np.ndarray
    ci_status: np.ndarray  # (C,) str: one of INTERVAL_STATUS


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ra = stats.rankdata(a, axis=1)
    rb = stats.rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / denom, np.nan)


# Why a row of the RQ3 table shows no interval (SPEC 2.9). "sparse": more than SPARSE_SHARE of
# the features are in no TP's set; the statistic's value then moves with the number of TPs
# (more TPs reach more rare features) and, in simulations at the runs' n and D, no interval
# reached its nominal coverage (benchmarks/interval_coverage.py).
INTERVAL_STATUS = ("ok", "degenerate", "sparse", "bias unstable", "too few TPs", "not computed")
SPARSE_SHARE = 0.5
MIN_SUBSAMPLE = 10  # TPs in each quarter-sample, at least


def bias_aware_critical_value(t: float, ci: float = 0.95) -> float:
    """c with P(|Z + t| <= c) = ci for Z ~ N(0, 1): the half-width, in standard errors, of an
    interval that keeps its coverage when the estimator's bias is up to t standard errors
    (Armstrong and Kolesar's bias-aware interval). t = 0 gives the usual 1.96 at 95%."""
    t = abs(float(t))
    if t == 0:
        return float(stats.norm.ppf((1 + ci) / 2))
    return float(np.sqrt(stats.ncx2.ppf(ci, df=1, nc=t * t)))


def subsample_weights(n: int, size: int, resamples: int, rng) -> np.ndarray:
    """(resamples, n) 0/1 rows, each ``size`` of the n instances drawn without replacement;
    consecutive rows are disjoint parts of one random order (two halves, four quarters)."""
    parts = max(1, n // size)
    weights = np.zeros((resamples, n))
    for row in range(0, resamples, parts):
        order = rng.permutation(n)
        for part in range(min(parts, resamples - row)):
            weights[row + part, order[part * size:(part + 1) * size]] = 1.0
    return weights


def _subsample_spearman(sets: np.ndarray, values: np.ndarray, size: int, resamples: int, rng) -> np.ndarray:
    n, d = sets.shape
    draws = np.empty(resamples)
    step = max(4, (BLOCK_ELEMENTS // max(n, d)) // 4 * 4)
    for start in range(0, resamples, step):
        weights = subsample_weights(n, size, min(step, resamples - start), rng)
        draws[start:start + len(weights)] = _rowwise_spearman(weights @ sets / size, weights @ values / size)
    return draws[~np.isnan(draws)]


def spearman_interval(sets: np.ndarray, values: np.ndarray, resamples: int, rng,
                      ci: float = 0.95) -> tuple[float, float, str]:
    """An interval for the Spearman of frequency (column means of ``sets``) against magnitude
    (column means of ``values``) over one class's TPs (SPEC 2.9).

    Subsamples without replacement, not the bootstrap: resampling with replacement duplicates
    instances, which shifts the frequencies the statistic is built from (every bootstrap
    replicate lands below the estimate). A half-sample of n/2 of the n TPs varies around the
    estimate as much as the estimate varies around the population value (the finite-population
    factor 1 - 1/2 cancels the halving), so the half-samples' standard deviation s is the
    standard error. How far the means of half- and quarter-samples move from the estimate
    bounds the estimator's small-sample bias b (a bias that shrinks with n is larger in smaller
    samples); the interval is the estimate +- ``bias_aware_critical_value(b / s)`` s, so it
    always holds its estimate. Where the two shifts disagree (the quarter-samples move less
    than the halves, or the other way), the bias does not shrink with n in a way a subsample
    can measure: status "bias unstable", no interval. Returns (low, high, status).
    """
    n, d = sets.shape
    if not resamples:
        return np.nan, np.nan, "not computed"
    if n < 4 * MIN_SUBSAMPLE:
        return np.nan, np.nan, "too few TPs"
    if (sets.sum(0) == 0).mean() > SPARSE_SHARE:
        return np.nan, np.nan, "sparse"
    estimate = _rowwise_spearman(sets.mean(0)[None], values.mean(0)[None])[0]
    halves = _subsample_spearman(sets, values, n // 2, resamples, rng)
    quarters = _subsample_spearman(sets, values, n // 4, resamples, rng)
    if np.isnan(estimate) or len(halves) < 2 or np.ptp(halves) == 0:
        return np.nan, np.nan, "degenerate"
    spread = halves.std(ddof=1)
    half_shift, quarter_shift = halves.mean() - estimate, quarters.mean() - estimate
    noise = 2 * spread / np.sqrt(len(halves))  # Monte Carlo error of a shift
    if abs(half_shift) <= noise:
        bias = abs(half_shift) + noise
    else:
        # A bias c / m**g in samples of m: the quarters move (4**g - 1) / (2**g - 1) = 2**g + 1
        # times as far as the halves, and the estimate's own bias is half_shift / (2**g - 1).
        ratio = quarter_shift / half_shift
        if ratio <= 2 + noise / abs(half_shift):
            return np.nan, np.nan, "bias unstable"
        bias = abs(half_shift) / (ratio - 2)
    width = bias_aware_critical_value(bias / spread, ci) * spread
    return float(estimate - width), float(estimate + width), "ok"


def frequency_magnitude(result: CEResult, y, k: int = 10, resamples: int = 0, ci: float = 0.95,
                        seed: int = 0, reading: Reading = DEFAULT,
                        support: Supporting | None = None) -> FrequencyMagnitude:
    """Frequency vs magnitude of CE over the TPs of each class (SPEC 2.5).

    ``freq[d]``: the fraction of the class's TPs whose set (``instance_sets``: the required set
    by default, the top-k under a reading) holds d. Meant for training instances.
    ``resamples`` > 0 draws that many half-samples of each class's TPs (seeded by ``seed``) for
    the interval of ``spearman_interval``.
    """
    sup = support if support is not None else supporting(result, y, reading.instances)
    n_classes, d = _n_classes(result), sup.values.shape[1]
    cls = sup.cls[sup.counted]
    values = sup.values[sup.counted]
    feats = result.features[sup.counted]
    top = instance_sets(result, y, k, reading, sup).astype(np.float64) if len(values) else np.zeros((0, d))
    hits, counts = _class_sums(cls, top, n_classes)
    mags, _ = _class_sums(cls, values, n_classes)
    fmags, _ = _class_sums(cls, feats, n_classes)
    denom = np.maximum(counts, 1)[:, None]
    freq, mag, mag_f = hits / denom, mags / denom, fmags / denom
    empty = counts == 0
    freq[empty] = mag[empty] = mag_f[empty] = np.nan
    rho = _rowwise_spearman(freq, mag)
    rho[empty] = np.nan
    low = np.full(n_classes, np.nan)
    high = np.full(n_classes, np.nan)
    status = np.full(n_classes, "too few TPs" if resamples else "not computed", dtype=object)
    if resamples:
        rng = np.random.default_rng(seed)
        for c in np.flatnonzero(counts > 0):
            rows = cls == c
            low[c], high[c], status[c] = spearman_interval(top[rows], values[rows], resamples, rng, ci)
    return FrequencyMagnitude(freq, mag, mag_f, counts.astype(np.int64), rho, low, high, status)


@dataclass
class ExchangeableNull:
    """Per class, statistics recomputed under a feature-exchangeable null (SPEC 2.8).

    Each counted instance keeps its own supporting CE values and its own set (required set or
    top-k), but the feature axis is permuted independently per instance, so no feature is
    shared between instances beyond chance. ``union`` is the class-level count (distinct
    indices in the union of the sets) and ``spearman`` the frequency-magnitude correlation of
    RQ3, each (permutations, C).
    """

    union: np.ndarray
    spearman: np.ndarray

    def range(self, statistic: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` range of the null per class (NaN where undefined)."""
        draws = getattr(self, statistic)
        alpha = (1 - level) / 2
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN classes stay NaN
            return tuple(np.nanquantile(draws, [alpha, 1 - alpha], axis=0)) if len(draws) else (
                np.full(draws.shape[1], np.nan), np.full(draws.shape[1], np.nan))


def null_permutations(n: int, d: int, permutations: int, budget: int = NULL_BUDGET) -> int:
    """How many permutations a null over n x d entries draws: ``permutations``, fewer when they
    would permute more than ``budget`` entries, never fewer than ``MIN_PERMUTATIONS``."""
    return int(min(permutations, max(MIN_PERMUTATIONS, budget // max(n * d, 1))))


_ONE = np.uint64(1)


def _pack(values: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """float32 values (ranks are all the null needs) and boolean flags, one uint64 word each."""
    return (values.astype(np.float32).view(np.uint32).astype(np.uint64) << _ONE) | flags.astype(np.uint64)


def _unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = (packed >> _ONE).astype(np.uint32).view(np.float32)
    return values, (packed & _ONE).astype(np.float32)


def exchangeable_null(result: CEResult, y, k: int = 10, permutations: int = 200, seed: int = 0,
                      reading: Reading = DEFAULT, support: Supporting | None = None,
                      budget: int = NULL_BUDGET, spearman: bool = True) -> ExchangeableNull:
    """The class-level count and the RQ3 Spearman under draws of the feature-exchangeable null
    (seeded by ``seed``), vectorised over instances and features. It draws
    ``null_permutations(N, D, permutations, budget)`` permutations: wide SVMs get fewer.
    ``spearman=False`` leaves the Spearman draws NaN (the class table needs only the count)."""
    sup = support if support is not None else supporting(result, y, reading.instances)
    n_classes = _n_classes(result)
    cls = sup.cls[sup.counted]
    values = sup.values[sup.counted]
    sets = instance_sets(result, y, k, reading, sup) if len(values) else np.zeros(values.shape, dtype=bool)
    permutations = null_permutations(*values.shape, permutations, budget)
    union = np.full((permutations, n_classes), np.nan)
    rho = np.full((permutations, n_classes), np.nan)
    if not len(values):
        return ExchangeableNull(union, rho)
    rng = np.random.default_rng(seed)
    onehot = np.zeros((n_classes, len(cls)), dtype=np.float32)
    onehot[cls, np.arange(len(cls))] = 1.0
    counts = onehot.sum(1)
    present = counts > 0
    packed = _pack(values, sets)
    for p in range(permutations):
        # An independent permutation of the features per instance, moving each CE with its
        # top-k flag: one shuffle of the packed words instead of an index shuffle and two gathers.
        drawn_values, drawn_sets = _unpack(rng.permuted(packed, axis=1))
        hits = onehot @ drawn_sets
        union[p, present] = (hits[present] > 0).sum(1)
        if spearman:
            mags = onehot @ drawn_values
            rho[p, present] = _rowwise_spearman(hits[present] / counts[present, None],
                                                mags[present] / counts[present, None])
    return ExchangeableNull(union, rho)

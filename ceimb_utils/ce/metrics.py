"""The paper's metrics on classification embeddings (methods#metrics), vectorised.

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
from functools import cached_property

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
    """How the metrics read what the paper leaves open (methods#readings).

    The defaults follow the authors' released code; each named reading in ``READINGS`` (a dict
    from name to Reading) changes one choice, and every metric takes a reading.

    Parameters
    ----------
    negatives : {"kept", "ranked"}
        Multi-class required CE keep the predicted class's own negative CE whole (``"kept"``,
        as the binary rule keeps opposing terms) or rank them with the rest (``"ranked"``: the
        reading "positive terms only", ``sum(top-k CE) + b[c] > z[r]``).
    at_least_one : bool
        Count k = 1, not 0, when bias and opposing terms decide alone.
    share_count : {"floor", "ceil"}
        The top share takes ``max(1, int(frac * D))`` entries (``"floor"``) or
        ``ceil(frac * D)`` (``"ceil"``).
    sets : {"required", "top-k"}
        The class-level union and RQ3's frequency are taken over each instance's required set
        (``"required"``: the k terms of ``required_ce``) or its top-k (``"top-k"``).
    instances : {"tp", "all"}
        True positives only (``"tp"``), or every instance of a label with the CE of its
        predicted class (``"all"``: the released loops filter by label, not by prediction).
    bias : {"include", "exclude"}
        The bias takes part in the required count or not.
    ranking : {"signed", "absolute"}
        Terms ranked by signed value or by absolute value.

    Raises
    ------
    ValueError
        A field holds a value that is not among its choices.

    Examples
    --------
    >>> from ceimb_utils.ce.metrics import READINGS, Reading
    >>> list(READINGS)
    ['default', 'positive terms only', 'at least one term', 'ceil share', 'top-10 sets', \
'as released, all instances', 'bias excluded', 'ranked by |CE|']
    >>> READINGS["bias excluded"] == Reading(bias="exclude")
    True
    >>> Reading(ranking="largest")
    Traceback (most recent call last):
    ...
    ValueError: Unknown ranking 'largest'; choose one of 'signed', 'absolute'.
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

    @cached_property
    def descending(self) -> np.ndarray:
        """(N_counted, D) each counted row's values sorted from the largest: one sort that the
        required counts, the sets and the top shares of every signed reading share."""
        values = self.values[self.counted]
        out = np.empty_like(values)
        for block in _row_blocks(*values.shape):
            out[block] = np.sort(values[block], axis=1)[:, ::-1]
        return out

    @cached_property
    def absolute_order(self) -> np.ndarray:
        """(N_counted, D) each counted row's feature indices by descending |CE|, shared likewise."""
        values = self.values[self.counted]
        out = np.empty(values.shape, dtype=np.int32 if values.shape[1] < 2**31 else np.int64)  # half the memory
        for block in _row_blocks(*values.shape):
            out[block] = _order(values[block], "absolute")
        return out


def supporting(result: CEResult, y, instances: str = "tp") -> Supporting:
    """Supporting CE, the counted instances and what the kept terms must beat (methods#required-ce).

    Remembered on the result for the last ``y`` and ``instances`` it was asked for, so that
    several metrics on the same result and labels read the CE once.
    """
    _check_choice("instances", instances, ("tp", "all"))
    cls = result.class_index(y)  # labels of any dtype, as indices into result.classes
    key = hashlib.blake2b(np.ascontiguousarray(cls).view(np.uint8)).hexdigest()
    remembered = result.__dict__.setdefault("_supporting", {})
    if instances in remembered and remembered[instances][0] == key:
        return remembered[instances][1]
    sup = _supporting(result, cls, instances)
    remembered[instances] = (key, sup)
    return sup


def _supporting(result: CEResult, cls: np.ndarray, instances: str) -> Supporting:
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
        if len(result.classes) < 2:
            raise ValueError("A multi-class result needs at least two classes.")
        scores = result.scores
        values = result.class_rows(pred)
        masked = scores.copy()
        masked[rows, pred] = -np.inf
        second = masked.argmax(1)  # the runner-up of a TP; the released code's "next logit"
        bias = np.asarray(result.bias, dtype=np.float64)
        gap_inc = bias[cls] - scores[rows, second]
        gap_exc = -result.class_rows(second).sum(1)
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
    """Smallest number k of supporting CE that still carry each counted prediction (methods#required-ce).

    The k largest supporting terms are kept. By default every negative supporting term (the
    opposing terms of a binary model, the predicted class's own negative CE of a multi-class
    one) is kept whole, with the bias: multi-class, ``sum(top-k positive CE[n,c]) +
    sum(negative CE[n,c]) + b[c] > z[r]``; binary, ``sum(top-k supporting) + sum(opposing) +
    signed bias > 0``. ``bias="exclude"`` drops the bias (multi-class: the runner-up's CE sum
    replaces its logit). Other readings: methods#readings.

    Parameters
    ----------
    result : CEResult
        The CE of the instances, from ``extract``.
    y : array-like
        (N,) true labels, values of ``result.classes``.
    reading : Reading, default the authors' reading
        How the count reads what the paper leaves open (``READINGS``).
    **changes
        Single fields of ``reading`` to change: ``required_ce(r, y, bias="exclude")``.

    Returns
    -------
    ndarray of int
        (N,) k in [0, D] for counted instances (0: the bias and the opposing terms decide
        alone; 1 at least under ``at_least_one``), ``NOT_COUNTED`` (-2) for the others (not a
        true positive, by default) and ``NEVER_CROSSES`` (-1) for counted instances whose
        kept terms never carry the prediction.

    Raises
    ------
    ValueError
        ``y`` is not one label per instance, or holds a label the model does not know.

    Other Parameters
    ----------------
    support : optional
        Per-instance quantities computed once for ``result`` and ``y`` and shared by the
        metrics of one run (the runner passes them); computed here when None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> from ceimb_utils.ce.metrics import required_ce
    >>> X, y = make_classification(
    ...     n_samples=300, n_features=10, n_informative=4, n_redundant=0,
    ...     n_classes=3, n_clusters_per_class=1, weights=[0.6, 0.3, 0.1],
    ...     random_state=0)  # 179, 90 and 31 instances
    >>> result = extract(LogisticRegression(max_iter=1000).fit(X, y), X)
    >>> k = required_ce(result, y)
    >>> k[:8]  # -2: not a true positive, not counted
    array([-2,  0,  0,  2,  1,  1,  1,  0])
    >>> counted = k >= 0
    >>> np.round([k[counted & (y == c)].mean() for c in range(3)], 2)  # per class
    array([0.12, 0.87, 2.83])
    >>> required_ce(result, y, bias="exclude")[:8]  # -1: never carry it
    array([-2,  0,  0,  1, -1,  0,  0,  0])
    """
    reading = replace(reading, **changes) if changes else reading
    sup = support if support is not None else supporting(result, y, reading.instances)
    keep_negatives = sup.binary or reading.negatives == "kept"
    # Readings that differ only in what the count does not depend on share one count.
    remembered = sup.__dict__.setdefault("_required", {})
    key = (reading.bias, keep_negatives, reading.ranking)
    if key not in remembered:
        remembered[key] = _required_count(sup, reading.bias, keep_negatives, reading.ranking)
    out = remembered[key]
    return np.where(out >= 0, np.maximum(out, 1), out) if reading.at_least_one else out.copy()


def _required_count(sup: Supporting, bias: str, keep_negatives: bool, ranking: str) -> np.ndarray:
    gap = sup.gap_include if bias == "include" else sup.gap_exclude
    offset = gap + (sup.negative_sum if keep_negatives else 0.0)
    out = np.full(len(sup.cls), NOT_COUNTED, dtype=np.int64)
    rows_counted = np.flatnonzero(sup.counted)
    d = sup.values.shape[1]
    for block in _row_blocks(len(rows_counted), d + 1):
        rows = rows_counted[block]
        if ranking == "signed":  # equal values add the same: a plain sort will do
            ranked = sup.descending[block]
        else:
            ranked = np.take_along_axis(sup.values[rows], sup.absolute_order[block], axis=1)
        steps = np.maximum(ranked, 0.0) if keep_negatives else ranked
        kept = np.zeros((len(rows), d + 1))
        np.cumsum(steps, axis=1, out=kept[:, 1:])
        crosses = kept + offset[rows, None] > 0  # column j: the j largest terms kept
        out[rows] = np.where(crosses.any(1), crosses.argmax(1), NEVER_CROSSES)
    return out


def required_mask(values: np.ndarray, k: np.ndarray, ranking: str = "signed",
                  descending: np.ndarray | None = None, order: np.ndarray | None = None) -> np.ndarray:
    """(N, D) bool: each row's required set, its k first terms in ranking order.

    A row with ``k == NEVER_CROSSES`` needs every term, as the released loop counts up to D.
    ``descending``: the rows already sorted from the largest (``Supporting.descending``);
    ``order``: the rows' feature indices in ranking order (``Supporting.absolute_order``).
    """
    d = values.shape[1]
    k = np.where(k == NEVER_CROSSES, d, k)
    if ranking == "signed":
        return _largest_mask(values, k, positive_only=False, descending=descending)
    mask = np.zeros(values.shape, dtype=bool)
    for block in _row_blocks(values.shape[0], d):
        order_block = _order(values[block], ranking) if order is None else order[block]
        position = np.empty_like(order_block)
        np.put_along_axis(position, order_block, np.arange(d)[None, :].repeat(len(order_block), 0), axis=1)
        mask[block] = position < k[block, None]
    return mask


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)


def topk_mask(values: np.ndarray, k: int, descending: np.ndarray | None = None) -> np.ndarray:
    """(N, D) bool: each row's k largest entries that are positive (ties: lower index first)."""
    k = min(_check_k(k), values.shape[1])
    return _largest_mask(values, np.full(values.shape[0], k), positive_only=True, descending=descending)


def _largest_mask(values: np.ndarray, k: np.ndarray, positive_only: bool,
                  descending: np.ndarray | None = None) -> np.ndarray:
    """(N, D) bool: row n's k[n] largest entries (ties: lower index first), optionally only the
    positive ones among them.

    A sort (or the rows' ``descending`` values) gives each row's k-th largest value t; entries
    above t are in, and entries equal to t fill the remaining places in index order.
    """
    n, d = values.shape
    mask = np.zeros(values.shape, dtype=bool)
    k = np.minimum(np.asarray(k), d)
    for block in _row_blocks(n, d):
        sub, kb = values[block], k[block]
        some = kb > 0
        if descending is None:
            kth = np.sort(sub, axis=1)[np.arange(len(kb)), d - np.maximum(kb, 1)][:, None]
        else:
            kth = descending[block][np.arange(len(kb)), np.maximum(kb, 1) - 1][:, None]
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
        return topk_mask(values, k, sup.descending)
    needed = needed if needed is not None else required_ce(result, y, reading, support=sup)
    if reading.ranking == "signed":
        return required_mask(values, needed[sup.counted], "signed", descending=sup.descending)
    return required_mask(values, needed[sup.counted], reading.ranking, order=sup.absolute_order)


def class_topk_union(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT,
                     support: Supporting | None = None, needed: np.ndarray | None = None) -> np.ndarray:
    """Per class, the number of distinct CE indices in the union of its counted instances'
    sets (methods#class-level).

    An instance's set is its required set (the k terms of ``required_ce``) by default, its
    ``k`` largest positive supporting terms under the reading ``sets="top-k"``.

    Parameters
    ----------
    result : CEResult
        The CE of the instances, from ``extract``.
    y : array-like
        (N,) true labels, values of ``result.classes``.
    k : int, default 10
        The size of each instance's set under the reading ``sets="top-k"``.
    reading : Reading, default the authors' reading
        How the sets are read (``READINGS``).

    Returns
    -------
    ndarray of float
        (C,) the count per class, out of D; NaN for a class with no counted instance (no true
        positive, by default), like every per-class metric.

    Other Parameters
    ----------------
    support : optional
        Per-instance quantities computed once for ``result`` and ``y`` and shared by the
        metrics of one run (the runner passes them); computed here when None.
    needed : ndarray, optional
        ``required_ce(result, y, reading)``, when already computed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> from ceimb_utils.ce.metrics import class_topk_union
    >>> X, y = make_classification(
    ...     n_samples=300, n_features=10, n_informative=4, n_redundant=0,
    ...     n_classes=3, n_clusters_per_class=1, weights=[0.6, 0.3, 0.1],
    ...     random_state=0)  # 179, 90 and 31 instances
    >>> result = extract(LogisticRegression(max_iter=1000).fit(X, y), X)
    >>> class_topk_union(result, y)  # of D = 10 terms
    array([7., 3., 9.])
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


def share_of_top(values: np.ndarray, frac: float = 0.1, count: str = "floor", descending: bool = False) -> np.ndarray:
    """Row-wise: sum of the ``n_top`` largest entries (negatives as 0) over the positive sum.
    ``descending``: the rows are already sorted from the largest."""
    values = np.atleast_2d(values)
    top_n = n_top(values.shape[1], frac, count)
    positive = np.maximum(values, 0.0)
    top = positive[:, :top_n] if descending else -np.partition(-positive, top_n - 1, axis=1)[:, :top_n]
    total = positive.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, top.sum(1) / total, np.nan)


def top_share(result: CEResult, y, frac: float = 0.1, per_instance: bool = False,
              absolute: bool = False, reading: Reading = DEFAULT, support: Supporting | None = None) -> np.ndarray:
    """Per class, the share of the top ``frac`` of CE in the supporting sum (methods#top-share).

    By default the class-mean supporting vector over the class's true positives: its
    ``n_top(D, frac)`` largest entries over the sum of its positive entries.

    Parameters
    ----------
    result : CEResult
        The CE of the instances, from ``extract``.
    y : array-like
        (N,) true labels, values of ``result.classes``.
    frac : float, default 0.1
        The share of the D terms taken, in (0, 1]; ``reading.share_count`` rounds it.
    per_instance : bool, default False
        The mean over true positives of each instance's share, instead of the share of the
        class-mean vector.
    absolute : bool, default False
        Rank and sum absolute CE (a sensitivity reading).
    reading : Reading, default the authors' reading
        How the share reads what the paper leaves open (``READINGS``).

    Returns
    -------
    ndarray of float
        (C,) shares in [0, 1]; NaN for a class without true positives.

    Raises
    ------
    ValueError
        ``frac`` is not in (0, 1].

    Other Parameters
    ----------------
    support : optional
        Per-instance quantities computed once for ``result`` and ``y`` and shared by the
        metrics of one run (the runner passes them); computed here when None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> from ceimb_utils.ce.metrics import top_share
    >>> X, y = make_classification(
    ...     n_samples=300, n_features=10, n_informative=4, n_redundant=0,
    ...     n_classes=3, n_clusters_per_class=1, weights=[0.6, 0.3, 0.1],
    ...     random_state=0)  # 179, 90 and 31 instances
    >>> result = extract(LogisticRegression(max_iter=1000).fit(X, y), X)
    >>> np.round(top_share(result, y), 2)  # the largest of 10 mean terms
    array([0.68, 0.47, 0.31])
    """
    sup = support if support is not None else supporting(result, y, reading.instances)
    values = sup.values[sup.counted]
    values = np.abs(values) if absolute else values
    cls = sup.cls[sup.counted]
    n_classes = _n_classes(result)
    if per_instance:
        if not len(values):
            shares = np.empty(0)
        elif absolute:
            shares = share_of_top(values, frac, reading.share_count)
        else:
            shares = share_of_top(sup.descending, frac, reading.share_count, descending=True)
        sums, counts = _class_sums(cls[~np.isnan(shares)], shares[~np.isnan(shares), None], n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums[:, 0] / np.maximum(counts, 1), np.nan)
    sums, counts = _class_sums(cls, values, n_classes)
    means = sums / np.maximum(counts, 1)[:, None]
    return np.where(counts > 0, share_of_top(means, frac, reading.share_count), np.nan)


@dataclass
class FrequencyMagnitude:
    """RQ3 per class: how often each CE index is in a TP's set and how large it is
    (methods#frequency-magnitude); ``frequency_magnitude`` returns it.

    Parameters
    ----------
    freq, mag : ndarray
        (C, D) the fraction of the class's true positives whose set holds term d, and the mean
        supporting CE of d over those true positives.
    mag_features : ndarray
        (C, D) the mean feature value F[d] over them.
    n_tp : ndarray
        (C,) true positives per class.
    spearman : ndarray
        (C,) rank correlation of ``freq`` and ``mag`` across the D terms (NaN if undefined).
    ci_low, ci_high : ndarray
        (C,) its half-sampling interval (NaN where none is shown).
    ci_status : ndarray
        (C,) why, one of ``INTERVAL_STATUS``: "ok", or the reason there is no interval.
    mag_in_set, spearman_in_set : ndarray, optional
        (C, D) the mean supporting CE of d over the true positives whose set holds d, and
        (C,) ``freq`` against it over the terms some set holds: the size of a term where
        used, which being used more often alone cannot raise.
    feature_in_set, spearman_feature_in_set : ndarray, optional
        The same for the feature F[d] itself (CE = F x w): the latent magnitude without the
        weight.
    """

    freq: np.ndarray  # (C, D) fraction of the class's TPs whose set includes d
    mag: np.ndarray  # (C, D) mean supporting CE of d over those TPs
    mag_features: np.ndarray  # (C, D) mean feature value F[d] over those TPs
    n_tp: np.ndarray  # (C,)
    spearman: np.ndarray  # (C,) rank correlation of freq and mag across d (NaN if undefined)
    ci_low: np.ndarray  # (C,) half-sampling interval (NaN where none is shown: see ci_status)
    ci_high: np.ndarray
    ci_status: np.ndarray  # (C,) str: one of INTERVAL_STATUS
    # (C, D) mean supporting CE of d over the TPs whose set holds d (NaN where none does): its
    # size where used, which "more often non-zero" alone cannot raise (the calibration chapter)
    mag_in_set: np.ndarray | None = None
    spearman_in_set: np.ndarray | None = None  # (C,) freq against mag_in_set, over the d some set holds
    # the same for the feature F[d] itself (CE = F x w): the latent magnitude, without the weight
    feature_in_set: np.ndarray | None = None
    spearman_feature_in_set: np.ndarray | None = None


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ra = stats.rankdata(a, axis=1)
    rb = stats.rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / denom, np.nan)


# Why a row of the RQ3 table shows no interval (methods#intervals). "sparse": more than SPARSE_SHARE of
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
    (column means of ``values``) over one class's TPs (methods#intervals).

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
    """Frequency vs magnitude of CE over the TPs of each class (methods#frequency-magnitude).

    ``freq[c, d]`` is the fraction of class c's true positives whose set (``instance_sets``:
    the required set by default, the top-k under a reading) holds term d, and ``mag[c, d]``
    the mean supporting CE of d over them; ``spearman`` ranks one against the other across
    the D terms. Meant for training instances.

    Parameters
    ----------
    result : CEResult
        The CE of the instances, from ``extract``.
    y : array-like
        (N,) true labels, values of ``result.classes``.
    k : int, default 10
        The size of each instance's set under the reading ``sets="top-k"``.
    resamples : int, default 0
        Half-samples of each class's true positives drawn for the interval of
        ``spearman_interval`` (methods#intervals); 0 draws none.
    ci : float, default 0.95
        The interval's level.
    seed : int, default 0
        Seeds the half-samples.
    reading : Reading, default the authors' reading
        How the sets are read (``READINGS``).

    Returns
    -------
    FrequencyMagnitude
        Per class: frequencies and magnitudes (C, D), true positives, the Spearman
        correlation and its interval with the interval's status.

    Other Parameters
    ----------------
    support : optional
        Per-instance quantities computed once for ``result`` and ``y`` and shared by the
        metrics of one run (the runner passes them); computed here when None.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ceimb_utils.ce import extract
    >>> from ceimb_utils.ce.metrics import frequency_magnitude
    >>> X, y = make_classification(
    ...     n_samples=300, n_features=10, n_informative=4, n_redundant=0,
    ...     n_classes=3, n_clusters_per_class=1, weights=[0.6, 0.3, 0.1],
    ...     random_state=0)  # 179, 90 and 31 instances
    >>> result = extract(LogisticRegression(max_iter=1000).fit(X, y), X)
    >>> fm = frequency_magnitude(result, y)
    >>> fm.n_tp, fm.freq.shape
    (array([173,  87,  24]), (3, 10))
    >>> np.round(fm.spearman, 2)
    array([0.34, 0.8 , 0.78])
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
    where_used = {}
    for name, terms in (("ce", values), ("feature", feats)):
        in_set, _ = _class_sums(cls, terms * top, n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(hits > 0, in_set / np.maximum(hits, 1), np.nan)
        where_used[name] = mean, np.array([_spearman_where_defined(f, m) for f, m in zip(freq, mean)])
    low = np.full(n_classes, np.nan)
    high = np.full(n_classes, np.nan)
    status = np.full(n_classes, "too few TPs" if resamples else "not computed", dtype=object)
    if resamples:
        rng = np.random.default_rng(seed)
        for c in np.flatnonzero(counts > 0):
            rows = cls == c
            low[c], high[c], status[c] = spearman_interval(top[rows], values[rows], resamples, rng, ci)
    return FrequencyMagnitude(freq, mag, mag_f, counts.astype(np.int64), rho, low, high, status,
                              *where_used["ce"], *where_used["feature"])


def _spearman_where_defined(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman of a against b over the entries where b is defined (NaN below three)."""
    keep = ~np.isnan(b)
    return float(_rowwise_spearman(a[keep][None], b[keep][None])[0]) if keep.sum() >= 3 else np.nan


@dataclass
class ExchangeableNull:
    """Per class, statistics recomputed under a feature-exchangeable null (methods#verdicts).

    Each counted instance keeps its own supporting CE values and its own set (required set or
    top-k), but the feature axis is permuted independently per instance, so no feature is
    shared between instances beyond chance. ``union`` is the class-level count (distinct
    indices in the union of the sets) and ``spearman`` the frequency-magnitude correlation of
    RQ3, each (draws, C); a class drawn fewer times than another has NaN rows.
    ``spearman_method`` says per class how its Spearman draws were made (``NULL_METHODS``).
    """

    union: np.ndarray
    spearman: np.ndarray
    spearman_method: np.ndarray | None = None

    def range(self, statistic: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` range of the null per class (NaN where undefined)."""
        draws = getattr(self, statistic)
        alpha = (1 - level) / 2
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN classes stay NaN
            return tuple(np.nanquantile(draws, [alpha, 1 - alpha], axis=0)) if len(draws) else (
                np.full(draws.shape[1], np.nan), np.full(draws.shape[1], np.nan))

    def draws(self, statistic: str) -> np.ndarray:
        """(C,) how many draws each class has (0 without counted instances)."""
        return (~np.isnan(getattr(self, statistic))).sum(0)


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


def union_null_draws(sizes: np.ndarray, d: int, draws: int, rng) -> np.ndarray:
    """(draws,) the class-level count under the null, exactly and without permuting anything.

    A permuted instance's set is a uniformly random subset of its size, independent across
    instances, so the union grows as a Markov chain: a set of k terms added to a union of u
    brings in a hypergeometric number of new ones (k drawn from u covered and d - u not).
    """
    covered = np.zeros(draws, dtype=np.int64)
    for k in sizes[sizes > 0]:
        if (covered == d).all():
            break  # saturated: every feature is in some set
        covered += rng.hypergeometric(d - covered, covered, int(k))
    return covered


# How the Spearman draws of a class were made. "permutation": the null itself, per instance
# and feature. "normal approximation": the sum over many instances of one randomly placed
# (flag, value) pair per feature is bivariate normal with the same law for every feature (the
# permutation's fixed row sums shift every feature alike, which ranks ignore), so D such pairs
# are drawn, the counts rounded as real counts are. "permutation (fewer draws)": too few
# instances for the approximation and too many to permute 'permutations' times.
NULL_METHODS = ("permutation", "normal approximation", "permutation (fewer draws)")
NORMAL_MIN_VARIANCE = 25.0  # variance of a feature's count under the null, at least (sd >= 5)
NORMAL_MIN_INSTANCES = 50


def _permuted_spearman(sets: np.ndarray, values: np.ndarray, draws: int, rng) -> np.ndarray:
    packed = _pack(values, sets)
    out = np.empty(draws)
    for p in range(draws):
        # An independent permutation of the features per instance, moving each CE with its
        # flag: one shuffle of the packed words instead of an index shuffle and two gathers.
        drawn_values, drawn_sets = _unpack(rng.permuted(packed, axis=1))
        out[p] = _rowwise_spearman(drawn_sets.sum(0)[None], drawn_values.sum(0)[None])[0]
    return out


def _normal_moments(sets: np.ndarray, values: np.ndarray) -> tuple[float, float, float]:
    """Mean and variance of a feature's count under the null, and the correlation of count and
    summed CE, from each instance's own D (flag, value) pairs."""
    p = sets.mean(1)
    var_flags = p * (1 - p)
    var_values = values.var(1)
    cov = (values * sets).mean(1) - p * values.mean(1)
    denom = np.sqrt(var_flags.sum() * var_values.sum())
    corr = float(cov.sum() / denom) if denom > 0 else 0.0
    return float(p.sum()), float(var_flags.sum()), float(np.clip(corr, -1.0, 1.0))


def _normal_spearman(mean: float, var: float, corr: float, d: int, draws: int, rng) -> np.ndarray:
    z = rng.standard_normal((draws, 2, d))
    counts = np.round(mean + np.sqrt(var) * z[:, 0])
    sums = corr * z[:, 0] + np.sqrt(1 - corr**2) * z[:, 1]
    return _rowwise_spearman(counts, sums)


def exchangeable_null(result: CEResult, y, k: int = 10, permutations: int = 200, seed: int = 0,
                      reading: Reading = DEFAULT, support: Supporting | None = None,
                      budget: int = NULL_BUDGET, spearman: bool = True) -> ExchangeableNull:
    """The class-level count and the RQ3 Spearman under ``permutations`` draws of the
    feature-exchangeable null (seeded by ``seed``).

    The count is drawn exactly from the sets' sizes (``union_null_draws``). The Spearman is
    drawn per class by permuting, or, when that would permute more than ``budget`` entries, by
    the normal approximation where the class has enough instances for it (``NULL_METHODS``),
    else with ``null_permutations`` draws. ``spearman=False`` leaves the Spearman draws NaN
    (the class table needs only the count)."""
    sup = support if support is not None else supporting(result, y, reading.instances)
    n_classes = _n_classes(result)
    cls = sup.cls[sup.counted]
    values = sup.values[sup.counted]
    d = values.shape[1]
    sets = instance_sets(result, y, k, reading, sup) if len(values) else np.zeros(values.shape, dtype=bool)
    sizes = sets.sum(1)
    union = np.full((permutations, n_classes), np.nan)
    rho = np.full((permutations, n_classes), np.nan)
    method = np.full(n_classes, "", dtype=object)
    rng = np.random.default_rng(seed)
    for c in np.unique(cls):
        rows = cls == c
        union[:, c] = union_null_draws(sizes[rows], d, permutations, rng)
        if not spearman:
            continue
        n = int(rows.sum())
        if n * d * permutations <= budget:
            method[c], rho[:, c] = NULL_METHODS[0], _permuted_spearman(sets[rows], values[rows], permutations, rng)
            continue
        mean, var, corr = _normal_moments(sets[rows], values[rows])
        if n >= NORMAL_MIN_INSTANCES and var >= NORMAL_MIN_VARIANCE:
            method[c], rho[:, c] = NULL_METHODS[1], _normal_spearman(mean, var, corr, d, permutations, rng)
        else:
            fewer = null_permutations(n, d, permutations, budget)
            method[c] = NULL_METHODS[2]
            rho[:fewer, c] = _permuted_spearman(sets[rows], values[rows], fewer, rng)
    return ExchangeableNull(union, rho, method)

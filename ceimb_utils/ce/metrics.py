"""The paper's metrics on classification embeddings (methods#metrics), vectorised.

Every function takes a ``CEResult`` and true labels ``y`` (values from ``result.classes``) and
works on the true positives (TPs): instances whose prediction, bias included, equals the label.
"Supporting CE" of an instance of class c are ``CE[n, c, :]`` for multi-class results and the CE
signed toward c for binary ones (for a TP, c is also the predicted class).

Each function ranks the CE itself when called alone. To compute several metrics of one result,
rank them once (``required_terms``) and pass the ``RequiredTerms`` as ``terms=``: a run's tables
read one such object per choice of counted instances (``summaries``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from scipy import stats

from .extraction import CEResult
from .required import (BIAS_MODES, NEVER_CROSSES, NOT_COUNTED, RANKINGS, CountRule, RequiredTerms, Supporting,
                       bounded_mask, check_choice, compiled_kernels, descending, kernels_for, onehot, row_blocks,
                       set_mask, supporting)

NOT_TP = NOT_COUNTED
__all__ = ["NOT_COUNTED", "NEVER_CROSSES", "Reading", "READINGS", "DEFAULT", "RequiredTerms", "Supporting",
           "supporting", "required_terms", "required_ce", "class_topk_union", "top_share", "frequency_magnitude"]


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
            check_choice(name, getattr(self, name), allowed)

    def rule(self, binary: bool) -> CountRule:
        """The count rule of this reading: readings that differ only in what the count does not
        depend on share one (a binary model keeps its opposing terms whole under every reading)."""
        return CountRule(self.bias, binary or self.negatives == "kept", self.ranking)


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


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)


def n_top(d: int, frac: float, count: str = "floor") -> int:
    """How many entries the top share takes: ``max(1, int(frac * D))`` (the authors) or the
    ceiling (rounded first, so that 0.1 x 30 is 3, not 4)."""
    check_choice("share_count", count, ("floor", "ceil"))
    if not 0 < frac <= 1:
        raise ValueError(f"frac must lie in (0, 1], got {frac!r}.")
    return max(1, int(frac * d)) if count == "floor" else max(1, math.ceil(round(frac * d, 9)))


def required_terms(result: CEResult, y, readings=(DEFAULT,), k: int = 10,
                   frac: float | None = 0.1) -> dict[str, RequiredTerms]:
    """The required terms that the metrics of ``readings`` read, ranked once: one
    ``RequiredTerms`` per choice of counted instances (``"tp"``, ``"all"``), with every count
    rule the readings use and enough of each row's largest terms for the top-k sets and the top
    shares (``k``, ``frac``; ``frac=None`` where no top share will be read: the training
    tables). Where both are asked for, the TPs' terms are those of all instances restricted to
    the TPs (the same supporting CE and offsets), not ranked again."""
    readings = list(readings)
    k = _check_k(k)
    binary = result.binary
    d = result.n_terms
    wanted = {r.instances for r in readings}
    rules = list(dict.fromkeys(r.rule(binary) for r in readings))
    n_largest = max([k] + ([n_top(d, frac, r.share_count) for r in readings] if frac is not None else []))
    source = "all" if "all" in wanted else "tp"
    ranked = RequiredTerms.build(supporting(result, y, source), rules, n_largest)
    out = {source: ranked}
    if "tp" in wanted and source == "all":
        out["tp"] = ranked.subset(ranked.support.tp, "tp")
    return out


def _terms(result: CEResult, y, reading: Reading, terms: RequiredTerms | None, k: int = 10,
           frac: float = 0.1) -> RequiredTerms:
    """``terms`` checked against ``reading``, or terms ranked now for this reading alone."""
    if terms is None:
        return required_terms(result, y, [reading], k, frac)[reading.instances]
    if terms.support.instances != reading.instances:
        raise ValueError(f"The terms count instances={terms.support.instances!r}; the reading counts "
                         f"instances={reading.instances!r}.")
    return terms


def required_ce(result: CEResult, y, reading: Reading = DEFAULT, terms: RequiredTerms | None = None,
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
    terms : RequiredTerms, optional
        The supporting CE of ``result`` and ``y`` ranked once (``required_terms``) and shared by
        the metrics of one run (the runner passes them); ranked here when None.

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
    unknown = sorted(set(changes) - {f.name for f in fields(Reading)})
    if unknown:
        raise TypeError(f"required_ce() has no field {unknown[0]!r}; a reading's fields are "
                        f"{', '.join(f.name for f in fields(Reading))}.")
    reading = replace(reading, **changes) if changes else reading
    return reading_counts(_terms(result, y, reading, terms), reading)


def reading_counts(terms: RequiredTerms, reading: Reading) -> np.ndarray:
    """``required_ce`` of the instances of ``terms`` under ``reading``."""
    out = terms.count(reading.rule(terms.support.binary))
    return np.where(out >= 0, np.maximum(out, 1), out) if reading.at_least_one else out


def _set_bounds(terms: RequiredTerms, reading: Reading, k: int, within: np.ndarray | None = None,
                values: bool = True):
    """What the sets of ``instance_sets`` are built from, a block of counted rows at a time
    (``RequiredTerms.set_bounds``)."""
    if reading.sets == "top-k":
        return terms.set_bounds(top=_check_k(k), within=within, values=values)
    return terms.set_bounds(reading.rule(terms.support.binary), reading.at_least_one, within=within, values=values)


def _set_blocks(terms: RequiredTerms, reading: Reading, k: int, within: np.ndarray | None = None,
                with_values: bool = False):
    """The sets of ``instance_sets`` a block of counted rows at a time (``RequiredTerms.set_blocks``)."""
    if reading.sets == "top-k":
        return terms.set_blocks(top=_check_k(k), within=within, with_values=with_values)
    return terms.set_blocks(reading.rule(terms.support.binary), reading.at_least_one, within=within,
                            with_values=with_values)


def instance_sets(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT,
                  terms: RequiredTerms | None = None) -> np.ndarray:
    """(N_counted, D) bool: the terms each counted instance's prediction rests on.

    Default: its required set (the k terms of ``required_ce``, as the released code collects
    them); reading ``sets="top-k"``: its k largest positive supporting terms. Ties are broken
    by feature index.
    """
    terms = _terms(result, y, reading, terms, k)
    out = np.zeros((len(terms.rows), terms.support.n_terms), dtype=bool)
    for at, mask in _set_blocks(terms, reading, k):
        out[at] = mask
    return out


def topk_mask(values: np.ndarray, k: int) -> np.ndarray:
    """(N, D) bool: each row's k largest entries that are positive (ties: lower index first)."""
    k = min(_check_k(k), values.shape[1])
    out = np.zeros(values.shape, dtype=bool)
    for block in row_blocks(*values.shape):
        sub = values[block]
        out[block] = set_mask(sub, np.full(len(sub), k), descending(sub, k)[:, k - 1]) & (sub > 0)
    return out


def _n_classes(result: CEResult) -> int:
    return len(result.classes)


def _class_sums(cls: np.ndarray, values: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-class sums of the rows of ``values`` and the row counts."""
    member = onehot(cls, n_classes)
    return member.T @ values, member.sum(0)


def _compiled_sets(terms: RequiredTerms, *extra: np.ndarray):
    """The compiled kernels where they build these terms' sets row by row (numba is installed and
    the CE's parts and ``extra`` are float64 and C-ordered: ``Supporting.value_parts``), else None."""
    if terms.support.value_parts(terms.rows[:1]) is None:
        return None
    return kernels_for(*extra) if all(a.flags.c_contiguous for a in extra) else None


def class_set_sums(terms: RequiredTerms, readings, k: int, values: bool = False,
                   features: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Under each of ``readings`` and per class, how many counted instances' sets hold each term
    ((R, C, D) counts), and the sums over the set members of their supporting CE (with
    ``values``) and of their features (with ``features``), in that order ((R, W, C, D)). The
    compiled kernels build each row once for all the readings."""
    sup = terms.support
    n_classes, d, n_readings = sup.n_classes, sup.n_terms, len(readings)
    cls = sup.cls[terms.rows]
    hits = np.zeros((n_readings, n_classes, d), dtype=np.int64)
    sums = np.zeros((n_readings, values + features, n_classes, d))
    extra = sup.result.features if features else np.empty((0, d))
    kernels = _compiled_sets(terms, extra)
    for c in np.flatnonzero(terms.class_counts):
        within = np.flatnonzero(cls == c)
        if kernels is not None:  # each row built once and read for every set and sum (ce/compiled.py)
            for blocks in zip(*(_set_bounds(terms, reading, k, within, values=False) for reading in readings)):
                (at, *_), count, end, positive, absolute = zip(*blocks)  # the same rows under each reading
                block_hits = np.zeros((n_readings, 1, d), dtype=np.int64)
                block_sums = np.zeros((n_readings, sums.shape[1], 1, d))
                kernels.add_set_sums(*sup.value_parts(terms.rows[at]), np.array(absolute),
                                     np.array(count, dtype=np.int64), np.array(end, dtype=np.float64),
                                     np.array(positive), np.zeros(len(at), dtype=np.int64), block_hits, block_sums,
                                     False, values, extra)
                hits[:, c] += block_hits[:, 0]
                sums[:, :, c] += block_sums[:, :, 0]
            continue
        for t, reading in enumerate(readings):
            for at, block, key, count, end, positive in _set_bounds(terms, reading, k, within):
                mask = bounded_mask(block, key, count, end, positive)
                hits[t, c] += mask.sum(0)
                parts = ([block] if values else []) + ([sup.result.features[terms.rows[at]]] if features else [])
                for w, part in enumerate(parts):
                    sums[t, w, c] += np.where(mask, part, 0.0).sum(0)
    return hits, sums


def class_topk_union(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT,
                     terms: RequiredTerms | None = None) -> np.ndarray:
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
    terms : RequiredTerms, optional
        The supporting CE of ``result`` and ``y`` ranked once (``required_terms``) and shared by
        the metrics of one run (the runner passes them); ranked here when None.

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
    terms = _terms(result, y, reading, terms, k)
    return class_topk_unions(terms, [reading], k)[0]


def class_topk_unions(terms: RequiredTerms, readings, k: int = 10) -> list[np.ndarray]:
    """``class_topk_union`` under each of ``readings`` (of the same counted instances, those of
    ``terms``), from one pass over the rows."""
    hits, _ = class_set_sums(terms, readings, k)
    return [np.where(terms.class_counts > 0, (h > 0).sum(1), np.nan) for h in hits]


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
              absolute: bool = False, reading: Reading = DEFAULT, terms: RequiredTerms | None = None) -> np.ndarray:
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
    terms : RequiredTerms, optional
        The supporting CE of ``result`` and ``y`` ranked once (``required_terms``) and shared by
        the metrics of one run (the runner passes them); ranked here when None.

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
    terms = _terms(result, y, reading, terms, frac=frac)
    sup = terms.support
    n_classes = _n_classes(result)
    cls = sup.cls[terms.rows]
    if per_instance:
        top_n = n_top(sup.n_terms, frac, reading.share_count)
        if not len(terms.rows):
            shares = np.empty(0)
        elif absolute or terms.largest.shape[1] < top_n:
            values = sup.values_of(terms.rows)
            shares = share_of_top(np.abs(values) if absolute else values, frac, reading.share_count)
        else:  # the row's largest terms in order, over its positive sum
            with np.errstate(invalid="ignore", divide="ignore"):
                shares = np.where(terms.positive_sum > 0,
                                  np.maximum(terms.largest[:, :top_n], 0.0).sum(1) / terms.positive_sum, np.nan)
        sums, counts = _class_sums(cls[~np.isnan(shares)], shares[~np.isnan(shares), None], n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums[:, 0] / np.maximum(counts, 1), np.nan)
    sums, counts = sup.class_sums(absolute=True) if absolute else (terms.class_sums, terms.class_counts)
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


def _flat_rows(index: np.ndarray, width: int) -> np.ndarray:
    """Row-wise column indices into a 2-D array of ``width`` columns as indices into its flat
    copy: numpy's take_along_axis and put_along_axis build an index per axis, and took two and
    a half times as long as one flat gather on the RQ3 interval's blocks."""
    return index + (np.arange(len(index)) * width)[:, None]


def take_rows(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``np.take_along_axis(a, index, axis=1)`` of a 2-D ``a``."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1)[_flat_rows(index, a.shape[1])]


def put_rows(shape: tuple[int, int], index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A new float array of ``shape`` whose row r holds ``values[r]`` at columns ``index[r]``
    (``np.put_along_axis`` on an empty array; ``index`` rows are permutations)."""
    out = np.empty(shape)
    out.reshape(-1)[_flat_rows(index, shape[1])] = values
    return out


def average_ranks(a: np.ndarray) -> np.ndarray:
    """Row-wise ranks from 1, tied values sharing their average rank, as
    ``scipy.stats.rankdata(a, axis=1)`` gives them (NaN rows where a row holds a NaN).

    Computed here because rankdata orders each row with a stable merge sort, which average
    ranks do not need, and numpy's default sort takes a fraction of its time: the RQ3 interval
    ranks two rows of D values per half- and quarter-sample (4,000 rows per class by default).
    tests/test_metrics.py checks it against rankdata, ties and NaN included.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    order = np.argsort(a, axis=1)
    out = put_rows(a.shape, order, sorted_ranks(take_rows(a, order)))
    out[np.isnan(a).any(1)] = np.nan
    return out


def sorted_ranks(ordered: np.ndarray) -> np.ndarray:
    """(n, d) the average ranks from 1 of rows sorted in ascending order, at their sorted places.

    Ties are found where they are, not row by row: a tabular run's rows all hold a few (its
    zero and duplicated terms), and averaging whole rows doubled the cost."""
    n, d = ordered.shape
    out = np.broadcast_to(np.arange(1.0, d + 1), (n, d)).copy()  # the ranks where no value repeats
    row, place = np.nonzero(ordered[:, 1:] == ordered[:, :-1])  # place ties with place + 1
    if len(row):  # each run of equal values takes the mean of its places
        link = row * d + place
        starts = np.ones(len(link), dtype=bool)
        starts[1:] = link[1:] != link[:-1] + 1
        ends = np.ones(len(link), dtype=bool)
        ends[:-1] = starts[1:]
        first, last = place[starts], place[ends] + 1
        length = last - first + 1
        places = np.repeat(first - (np.cumsum(length) - length), length) + np.arange(length.sum())
        out[np.repeat(row[starts], length), places] = np.repeat((first + last) / 2 + 1, length)
    return out


def count_ranks(counts: np.ndarray) -> np.ndarray:
    """``average_ranks`` of rows of whole numbers from 0 (counts), by counting instead of sorting:
    a value with b values below it and e equal to it (itself included) ranks b + (e + 1) / 2."""
    counts = np.asarray(counts).astype(np.int64)
    n, d = counts.shape
    width = int(counts.max(initial=0)) + 1
    flat = _flat_rows(counts, width)
    tally = np.bincount(flat.ravel(), minlength=n * width).reshape(n, width)
    table = np.cumsum(tally, axis=1) - (tally - 1) / 2  # b + e - (e - 1) / 2
    return table.reshape(-1)[flat]


SPEARMAN_BLOCK = 1 << 18  # values ranked at once by rowwise_spearman (2 MB of float64)
# Up to this many terms per row, every sum of rowwise_spearman is exact in any order: ranks, their
# deviations from the mean rank (d + 1) / 2 and the deviations' products are multiples of a
# quarter, and their sums stay below 2**51 (d**3 / 4 at most).
EXACT_RANK_SUMS = 1 << 17


def rowwise_spearman(a: np.ndarray, b: np.ndarray, a_counts: bool = False,
                     b_order: np.ndarray | None = None) -> np.ndarray:
    """Row-wise Spearman of a and b (NaN where a row is constant; ``a_counts``: a's rows are
    whole numbers from 0). Computed a block of rows at a time, each row as alone: the ranks and
    their products then stay in the CPU's cache (half the time of whole arrays on the RQ3
    interval's 1,000 x D rows).

    ``b_order``: a column order that nearly sorts every row of b (the RQ3 interval's rows are
    subsamples of one class, ordered nearly as the class's mean terms): b's rows are then sorted
    from it with numpy's stable sort, which sorts nearly sorted rows in about half the time.
    Any order gives the same ranks, and the same value to the last bit."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    n, d = b.shape
    width = max(d, int(np.max(a, initial=0)) + 1) if a_counts else d  # count_ranks tallies that many
    step = max(1, SPEARMAN_BLOCK // max(width, 1))
    if n <= step:
        return _spearman_block(a, b, a_counts, b_order)
    return np.concatenate([_spearman_block(a[start:start + step], b[start:start + step], a_counts, b_order)
                           for start in range(0, n, step)])


def _spearman_block(a: np.ndarray, b: np.ndarray, a_counts: bool, b_order: np.ndarray | None) -> np.ndarray:
    b = np.asarray(b, dtype=np.float64)
    kernels = compiled_kernels()  # b is float64 here, a whole numbers
    if kernels is not None and a_counts and b_order is not None and b.shape[1] <= EXACT_RANK_SUMS:
        # the same ranks and exact sums, with b ordered from b_order by insertion (ce/compiled.py)
        return kernels.count_value_spearman(np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(b),
                                            np.asarray(b_order, dtype=np.int64))
    ra = count_ranks(a) if a_counts else average_ranks(a)
    if b_order is None:
        order = np.argsort(b, axis=1)
    else:
        order = b_order[np.argsort(b[:, b_order], axis=1, kind="stable")]
    rb = sorted_ranks(take_rows(b, order))  # b's ranks in the order of its values
    if b.shape[1] <= EXACT_RANK_SUMS:  # the sums below are exact in that order too
        ra = take_rows(ra, order)
    else:
        rb = put_rows(b.shape, order, rb)
    rb[np.isnan(b).any(1)] = np.nan
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
INTERVAL_BLOCK = 1 << 21  # subsamples x instances drawn at once (a multiple of 4 rows: the draws do not depend on it)
# A class of more TPs than this is summed once into this many random groups, and its half- and
# quarter-samples are drawn as halves and quarters of the groups (methods#intervals): each is still
# a uniformly random subsample of the TPs, at a cost that no longer grows with n. Smaller classes
# are drawn TP by TP, as before the groups (from a later point of the seeded stream when a larger
# class of the same run came first).
INTERVAL_GROUPS = 512


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


def _subsample_sums(sets: np.ndarray, values: np.ndarray, size: int, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """(count, D) sums of ``sets`` and of ``values`` over the rows of ``subsample_weights(n, size,
    count, rng)``, drawn from ``rng`` exactly as it draws them. Of the parts of one random order
    all but the last are summed (a product with their 0/1 rows); the last is the total less the
    others and the rows no part took, which halves the work for halves and saves a quarter for
    quarters. Set counts are summed in float32, exact for whole numbers below 2**24."""
    n, d = values.shape
    parts = max(1, n // size)
    orders = np.array([rng.permutation(n) for _ in range(-(-count // parts))])
    complete = np.arange(len(orders))[(np.arange(len(orders)) + 1) * parts <= count] if parts > 1 else np.arange(0)
    derived = complete * parts + parts - 1  # the last part of each complete order
    direct = np.setdiff1d(np.arange(count), derived)
    group, part = np.divmod(direct, parts)
    weights = np.zeros((len(direct), n))
    members = orders[group[:, None], part[:, None] * size + np.arange(size)]
    weights[np.arange(len(direct))[:, None], members] = 1.0
    set_sums, value_sums = np.empty((count, d)), np.empty((count, d))
    set_sums[direct] = weights.astype(np.float32) @ sets
    value_sums[direct] = weights @ values
    if len(derived):
        others = derived[:, None] - np.arange(1, parts)
        rest = orders[complete, parts * size:]  # the rows no part took (as many for every order)
        set_sums[derived] = sets.sum(0, dtype=np.float64) - set_sums[others].sum(1) - sets[rest].sum(1, dtype=np.float64)
        value_sums[derived] = values.sum(0) - value_sums[others].sum(1) - values[rest].sum(1)
    return set_sums, value_sums


def _group_order(n: int, groups: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A random order of n rows and the group of each place in it (``groups`` consecutive
    groups whose sizes differ by at most one): ``random_groups``'s draw from ``rng``."""
    return rng.permutation(n), (np.arange(n) * groups) // n


def random_groups(n: int, d: int, groups: int, rng, read) -> tuple[np.ndarray, np.ndarray]:
    """n rows in a random order summed into ``groups`` consecutive groups whose sizes differ by at
    most one: (groups, D) set counts (float32, whole numbers, exact below 2**24) and (groups, D)
    value sums. A half (quarter) of the groups is then a uniformly random half (quarter) of the
    rows, give or take the one row the sizes differ by. ``read(indices)`` gives the sets and
    values of those rows; they are read a block at a time, never whole."""
    order, group = _group_order(n, groups, rng)
    set_sums, value_sums = np.zeros((groups, d), dtype=np.float32), np.zeros((groups, d))
    for block in row_blocks(n, d):
        sets, values = read(order[block])
        first = group[block.start]
        member = onehot(group[block] - first, group[block.stop - 1] - first + 1).T  # the block's groups only
        set_sums[first:first + len(member)] += member.astype(np.float32) @ np.asarray(sets, dtype=np.float32)
        value_sums[first:first + len(member)] += member @ values
    return set_sums, value_sums


def _subsample_spearman(sets: np.ndarray, values: np.ndarray, size: int, resamples: int, rng,
                        order: np.ndarray | None = None) -> np.ndarray:
    n, d = sets.shape
    sets = np.asarray(sets, dtype=np.float32)
    draws = np.empty(resamples)
    step = max(4, (INTERVAL_BLOCK // max(n, d)) // 4 * 4)
    for start in range(0, resamples, step):
        count = min(step, resamples - start)
        set_sums, value_sums = _subsample_sums(sets, values, size, count, rng)
        # the counts rank as the frequencies they divide into
        draws[start:start + count] = rowwise_spearman(set_sums, value_sums / size, a_counts=True, b_order=order)
    return draws[~np.isnan(draws)]


def interval_precheck(n: int, hits: np.ndarray, resamples: int) -> str | None:
    """Why a class of n TPs whose sets hold each term ``hits`` times gets no interval, before
    any set is built (None: it may get one)."""
    if not resamples:
        return "not computed"
    if n < 4 * MIN_SUBSAMPLE:
        return "too few TPs"
    if (np.asarray(hits) == 0).mean() > SPARSE_SHARE:
        return "sparse"
    return None


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
    samples); the interval is the estimate +- ``bias_aware_critical_value(b / s)`` s, cut to
    [-1, 1], so it always holds its estimate. Where the two shifts disagree (the quarter-samples move less
    than the halves, or the other way), the bias does not shrink with n in a way a subsample
    can measure: status "bias unstable", no interval. A class of more than ``INTERVAL_GROUPS``
    TPs is first summed into that many ``random_groups``, whose halves and quarters are the
    subsamples. Returns (low, high, status).
    """
    n = len(sets)
    status = interval_precheck(n, sets.sum(0), resamples)
    if status is not None:
        return np.nan, np.nan, status
    return subsample_interval(*interval_rows(n, sets.shape[1], rng, lambda at: (sets[at], values[at])),
                              resamples, rng, ci)


def interval_rows(n: int, d: int, rng, read) -> tuple[np.ndarray, np.ndarray]:
    """The rows a class's interval subsamples: its n TPs' sets and values (``read(indices)``),
    or, above ``INTERVAL_GROUPS`` TPs, their ``random_groups``."""
    if n > INTERVAL_GROUPS:
        return random_groups(n, d, INTERVAL_GROUPS, rng, read)
    return read(np.arange(n))


def subsample_interval(sets: np.ndarray, values: np.ndarray, resamples: int, rng,
                       ci: float = 0.95) -> tuple[float, float, str]:
    """``spearman_interval`` from its rows once checked: one class's TPs, or ``random_groups``
    of them (their sums)."""
    estimate = rowwise_spearman(sets.mean(0)[None], values.mean(0)[None])[0]
    order = np.argsort(values.mean(0))  # the terms' order in the whole class, near each subsample's
    halves = _subsample_spearman(sets, values, len(sets) // 2, resamples, rng, order)
    quarters = _subsample_spearman(sets, values, len(sets) // 4, resamples, rng, order)
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
    # A Spearman lies in [-1, 1]: the part of the interval outside holds no value it could cover.
    return float(max(-1.0, estimate - width)), float(min(1.0, estimate + width)), "ok"


def class_sets(terms: RequiredTerms, reading: Reading, k: int, positions: np.ndarray,
               with_values: bool = False):
    """(n, D) bool: the sets of the counted rows at ``positions`` (one class's, say); with
    ``with_values``, also their (n, D) supporting CE, read once for both."""
    out = np.zeros((len(positions), terms.support.n_terms), dtype=bool)
    values = np.empty(out.shape) if with_values else None
    start = 0
    for at, mask, *block in _set_blocks(terms, reading, k, within=positions, with_values=with_values):
        out[start:start + len(at)] = mask
        if with_values:
            values[start:start + len(at)] = block[0]
        start += len(at)
    return (out, values) if with_values else out


def frequency_magnitude(result: CEResult, y, k: int = 10, resamples: int = 0, ci: float = 0.95,
                        seed: int = 0, reading: Reading = DEFAULT,
                        terms: RequiredTerms | None = None) -> FrequencyMagnitude:
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
    terms : RequiredTerms, optional
        The supporting CE of ``result`` and ``y`` ranked once (``required_terms``) and shared by
        the metrics of one run (the runner passes them); ranked here when None.

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
    terms = _terms(result, y, reading, terms, k)
    sup = terms.support
    hits, ((in_ce, in_feature),) = class_set_sums(terms, [reading], k, values=True, features=True)
    hits = hits[0]
    counts, mags = terms.class_counts, terms.class_sums
    fmags, _ = sup.class_sums(lambda rows: result.features[rows])
    denom = np.maximum(counts, 1)[:, None]
    freq, mag, mag_f = hits / denom, mags / denom, fmags / denom
    empty = counts == 0
    freq[empty] = mag[empty] = mag_f[empty] = np.nan
    rho = rowwise_spearman(freq, mag)
    rho[empty] = np.nan
    where_used = {}
    for name, in_set in (("ce", in_ce), ("feature", in_feature)):
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(hits > 0, in_set / np.maximum(hits, 1), np.nan)
        where_used[name] = mean, np.array([_spearman_where_defined(f, m) for f, m in zip(freq, mean)])
    low, high, status = class_intervals(terms, hits, resamples, ci, seed, reading, k)
    return FrequencyMagnitude(freq, mag, mag_f, counts.astype(np.int64), rho, low, high, status,
                              *where_used["ce"], *where_used["feature"])


def class_intervals(terms: RequiredTerms, hits: np.ndarray, resamples: int, ci: float = 0.95, seed: int = 0,
                    reading: Reading = DEFAULT, k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class, the interval of ``frequency_magnitude``'s Spearman (``spearman_interval``):
    (C,) low, (C,) high and (C,) status, from the terms and ``hits`` ((C, D) how many of the
    class's TPs' sets hold each term, or their frequencies) that ``frequency_magnitude``
    computed with ``reading`` and ``k``; the same ``seed`` draws the same subsamples."""
    sup = terms.support
    cls = sup.cls[terms.rows]
    n_classes = sup.n_classes
    low = np.full(n_classes, np.nan)
    high = np.full(n_classes, np.nan)
    status = np.full(n_classes, "too few TPs" if resamples else "not computed", dtype=object)
    if resamples:
        rng = np.random.default_rng(seed)
        for c in np.flatnonzero(terms.class_counts > 0):
            rows = np.flatnonzero(cls == c)
            status[c] = interval_precheck(len(rows), hits[c], resamples)
            if status[c] is None:  # only then are the class's sets built
                def read(at, rows=rows):
                    return class_sets(terms, reading, k, rows[at], with_values=True)
                if len(rows) > INTERVAL_GROUPS and _compiled_sets(terms) is not None:
                    summed = _summed_groups(terms, reading, k, rows, rng)
                else:
                    summed = interval_rows(len(rows), sup.n_terms, rng, read)
                low[c], high[c], status[c] = subsample_interval(*summed, resamples, rng, ci)
    return low, high, status


def _summed_groups(terms: RequiredTerms, reading: Reading, k: int, rows: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    """``random_groups`` of the sets and supporting CE of the counted rows at ``rows`` (one
    class's), the same draw from ``rng``, summed by the compiled kernel as each row is built and
    its set read: no block of CE, no (n, D) array of sets and no product with a one-hot matrix."""
    n, d = len(rows), terms.support.n_terms
    order, group = _group_order(n, INTERVAL_GROUPS, rng)
    hits = np.zeros((1, INTERVAL_GROUPS, d), dtype=np.int64)
    sums = np.zeros((1, 1, INTERVAL_GROUPS, d))
    start = 0
    for at, count, end, positive, absolute in _set_bounds(terms, reading, k, within=rows[order], values=False):
        compiled_kernels().add_set_sums(*terms.support.value_parts(terms.rows[at]), np.array([absolute]),
                                        np.asarray(count, dtype=np.int64)[None],
                                        np.asarray(end, dtype=np.float64)[None], np.array([positive]),
                                        group[start:start + len(at)], hits, sums, True, True, np.empty((0, d)))
        start += len(at)
    return hits[0].astype(np.float32), sums[0, 0]


def _spearman_where_defined(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman of a against b over the entries where b is defined (NaN below three)."""
    keep = ~np.isnan(b)
    return float(rowwise_spearman(a[keep][None], b[keep][None])[0]) if keep.sum() >= 3 else np.nan

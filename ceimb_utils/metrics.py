"""The paper's metrics on classification embeddings (SPEC section 2), vectorised.

Every function takes a ``CEResult`` and true labels ``y`` (values from ``result.classes``) and
works on the true positives (TPs): instances whose prediction, bias included, equals the label.
"Supporting CE" of an instance of class c are ``CE[n, c, :]`` for multi-class results and the CE
signed toward c for binary ones (for a TP, c is also the predicted class).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .ce import CEResult

NOT_TP = 0  # required_ce value of an instance that is not a true positive
NEVER_CROSSES = -1  # required_ce value of a TP whose kept CE never exceed the competitor
BLOCK_ELEMENTS = 1 << 22  # rows are processed in blocks of about this many entries
BIAS_MODES = ("include", "exclude")
RANKINGS = ("signed", "absolute")


@dataclass
class Supporting:
    """Per-instance quantities shared by the metrics."""

    values: np.ndarray  # (N, D) supporting CE
    cls: np.ndarray  # (N,) index of the true class
    tp: np.ndarray  # (N,) bool
    offset_include: np.ndarray  # (N,) what the kept positive CE must beat, bias included (negated)
    offset_exclude: np.ndarray  # (N,) the same without any bias term
    bias_only: np.ndarray  # (N,) bool: the bias alone already carries the prediction


def supporting(result: CEResult, y) -> Supporting:
    """Supporting CE, TP mask and the competitor each kept sum must beat (SPEC 2.1).

    Remembered on the result for the last ``y`` it was asked for, so that calling several
    metrics on the same result and labels reads the CE once.
    """
    y = np.asarray(y)
    key = (y.dtype.str, y.shape, hashlib.blake2b(np.ascontiguousarray(y).view(np.uint8)).hexdigest())
    cached = result.__dict__.get("_supporting")
    if cached is not None and cached[0] == key:
        return cached[1]
    sup = _supporting(result, y)
    result.__dict__["_supporting"] = (key, sup)
    return sup


def _supporting(result: CEResult, y) -> Supporting:
    cls = result.class_index(y)
    n = len(cls)
    rows = np.arange(n)
    tp = result.predicted_index == cls
    if result.binary:
        sign = np.where(cls == 1, 1.0, -1.0)
        values = result.ce * sign[:, None]
        opposing = np.minimum(values, 0.0).sum(1)
        signed_bias = sign * result.bias
        inc, exc = opposing + signed_bias, opposing
        bias_only = inc > 0
    else:
        if result.ce.shape[1] < 2:
            raise ValueError("A multi-class result needs at least two classes.")
        scores = result.scores
        values = result.ce[rows, cls]
        masked = scores.copy()
        masked[rows, cls] = -np.inf
        runner_up = masked.argmax(1)
        bias = np.asarray(result.bias, dtype=np.float64)
        inc = bias[cls] - scores[rows, runner_up]
        exc = -result.ce[rows, runner_up].sum(1)
        bias_only = inc > 0
    return Supporting(values, cls, tp, inc, exc, bias_only)


def _row_blocks(n: int, d: int):
    step = max(1, BLOCK_ELEMENTS // max(d, 1))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def _ranked(values: np.ndarray, ranking: str) -> np.ndarray:
    """Rows sorted in descending order of the ranking (ties keep feature order)."""
    if ranking == "signed":
        return np.sort(values, axis=1)[:, ::-1]
    order = np.argsort(-np.abs(values), axis=1, kind="stable")
    return np.take_along_axis(values, order, axis=1)


def required_ce(result: CEResult, y, bias: str = "include", ranking: str = "signed",
                support: Supporting | None = None) -> np.ndarray:
    """Smallest number k of supporting CE that still carry each TP's prediction (SPEC 2.1).

    The k largest supporting terms are kept and every opposing term is kept whole; for
    multi-class results the (raw) sum of the k largest terms plus ``b[c]`` must exceed the
    runner-up's logit
    (``bias="exclude"``: the kept sum must exceed the runner-up's CE sum); for binary results
    the kept sum, the opposing terms and (when included) the signed bias must be positive.
    ``ranking="absolute"`` orders terms by |CE| instead (a sensitivity reading).

    Returns an int array over all instances: k in [1, D] for TPs (k is at least 1: when the
    bias alone decides, the single largest term is counted), ``NOT_TP`` (0) for instances that
    are not TPs and ``NEVER_CROSSES`` (-1) for TPs whose kept terms never cross.
    """
    _check_choice("bias", bias, BIAS_MODES)
    _check_choice("ranking", ranking, RANKINGS)
    sup = support if support is not None else supporting(result, y)
    offset = sup.offset_include if bias == "include" else sup.offset_exclude
    out = np.full(len(sup.cls), NOT_TP, dtype=np.int64)
    tp_rows = np.flatnonzero(sup.tp)
    d = sup.values.shape[1]
    for block in _row_blocks(len(tp_rows), d):
        rows = tp_rows[block]
        ranked = _ranked(sup.values[rows], ranking)
        # Multi-class: the raw sum of the kept terms. Binary: the opposing terms are already
        # counted whole in the offset, so a kept term adds only its positive part.
        kept = np.cumsum(np.maximum(ranked, 0.0) if result.binary else ranked, axis=1)
        crosses = kept + offset[rows, None] > 0
        k = crosses.argmax(1) + 1
        out[rows] = np.where(crosses.any(1), k, NEVER_CROSSES)
    return out


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}; choose one of {', '.join(map(repr, allowed))}.")


def _check_k(k: int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)


def topk_mask(values: np.ndarray, k: int) -> np.ndarray:
    """(N, D) bool: each row's k largest entries that are positive (ties: lower index first).

    A partition finds each row's k-th largest value t; entries above t are in, and entries equal
    to t fill the remaining places in index order. No full sort is needed.
    """
    k = min(_check_k(k), values.shape[1])
    mask = np.zeros(values.shape, dtype=bool)
    if values.shape[0] == 0:
        return mask
    for block in _row_blocks(values.shape[0], values.shape[1]):
        sub = values[block]
        kth = np.sort(sub, axis=1)[:, sub.shape[1] - k, None]
        chosen = sub > kth
        at = sub == kth
        room = k - chosen.sum(1)
        tied = np.flatnonzero(at.sum(1) > room)  # rows where ties at t exceed the places left
        fill = at
        if len(tied):
            fill = at.copy()
            fill[tied] &= np.cumsum(at[tied], axis=1) <= room[tied, None]
        chosen |= fill
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


def class_topk_union(result: CEResult, y, k: int = 10, support: Supporting | None = None) -> np.ndarray:
    """Per class, the number of distinct CE indices in the union of every TP's top-k (SPEC 2.2).

    The top-k of an instance are its k largest positive supporting CE (a term <= 0 supports
    nothing); ties are broken by feature index. A class without TPs counts 0.
    """
    sup = support if support is not None else supporting(result, y)
    mask = topk_mask(sup.values[sup.tp], k)
    hits, _ = _class_sums(sup.cls[sup.tp], mask.astype(np.float64), _n_classes(result))
    return (hits > 0).sum(1)


def share_of_top(values: np.ndarray, frac: float = 0.1) -> np.ndarray:
    """Row-wise: sum of the ceil(frac*D) largest entries (negatives as 0) over the positive sum."""
    if not 0 < frac <= 1:
        raise ValueError(f"frac must lie in (0, 1], got {frac!r}.")
    values = np.atleast_2d(values)
    d = values.shape[1]
    n_top = math.ceil(frac * d)
    positive = np.maximum(values, 0.0)
    top = -np.partition(-positive, n_top - 1, axis=1)[:, :n_top]
    total = positive.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, top.sum(1) / total, np.nan)


def top_share(result: CEResult, y, frac: float = 0.1, per_instance: bool = False,
              absolute: bool = False, support: Supporting | None = None) -> np.ndarray:
    """Per class, the share of the top ``frac`` of CE in the supporting sum (SPEC 2.3).

    Default: the class-mean supporting vector over the class's TPs; its ceil(frac*D) largest
    entries over the sum of its positive entries. ``per_instance=True``: the mean over TPs of
    each instance's share. ``absolute=True`` uses |CE| (a sensitivity reading). NaN for a class
    without TPs.
    """
    sup = support if support is not None else supporting(result, y)
    values = sup.values[sup.tp]
    values = np.abs(values) if absolute else values
    cls = sup.cls[sup.tp]
    n_classes = _n_classes(result)
    if per_instance:
        shares = share_of_top(values, frac) if len(values) else np.empty(0)
        sums, counts = _class_sums(cls[~np.isnan(shares)], shares[~np.isnan(shares), None], n_classes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums[:, 0] / np.maximum(counts, 1), np.nan)
    sums, counts = _class_sums(cls, values, n_classes)
    means = sums / np.maximum(counts, 1)[:, None]
    return np.where(counts > 0, share_of_top(means, frac), np.nan)


@dataclass
class FrequencyMagnitude:
    """RQ3 per class: how often each CE index is in a TP's top-k and how large it is."""

    freq: np.ndarray  # (C, D) fraction of the class's TPs whose top-k include d
    mag: np.ndarray  # (C, D) mean supporting CE of d over those TPs
    mag_features: np.ndarray  # (C, D) mean feature value F[d] over those TPs
    n_tp: np.ndarray  # (C,)
    spearman: np.ndarray  # (C,) rank correlation of freq and mag across d (NaN if undefined)
    ci_low: np.ndarray  # (C,) bootstrap interval (NaN without bootstrap)
    ci_high: np.ndarray


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ra = stats.rankdata(a, axis=1)
    rb = stats.rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denom = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (ra * rb).sum(1) / denom, np.nan)


def frequency_magnitude(result: CEResult, y, k: int = 10, bootstrap: int = 0, ci: float = 0.95,
                        seed: int = 0, support: Supporting | None = None) -> FrequencyMagnitude:
    """Frequency vs magnitude of CE over the TPs of each class (SPEC 2.5).

    Meant for training instances. ``bootstrap`` > 0 resamples each class's TPs that many times
    (seeded by ``seed``) for a percentile interval of the Spearman correlation.
    """
    sup = support if support is not None else supporting(result, y)
    n_classes, d = _n_classes(result), sup.values.shape[1]
    cls = sup.cls[sup.tp]
    values = sup.values[sup.tp]
    feats = result.features[sup.tp]
    top = topk_mask(values, k).astype(np.float64) if len(values) else np.zeros((0, d))
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
    if bootstrap:
        rng = np.random.default_rng(seed)
        alpha = (1 - ci) / 2
        for c in np.flatnonzero(counts > 1):
            rows = cls == c
            draws = _bootstrap_spearman(top[rows], values[rows], bootstrap, rng)
            draws = draws[~np.isnan(draws)]
            if len(draws):
                low[c], high[c] = np.quantile(draws, [alpha, 1 - alpha])
    return FrequencyMagnitude(freq, mag, mag_f, counts.astype(np.int64), rho, low, high)


def _bootstrap_spearman(top: np.ndarray, values: np.ndarray, n_boot: int, rng) -> np.ndarray:
    n = len(top)
    out = np.empty(n_boot)
    step = max(1, BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n_boot, step):
        size = min(step, n_boot - start)
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=size) / n
        out[start:start + size] = _rowwise_spearman(weights @ top, weights @ values)
    return out

"""Straightforward per-instance implementations of the metrics, written from the definitions.

Slow on purpose: the tests check the vectorised ``metrics`` against them under every reading,
and ``benchmarks/ce_metrics.py`` times them. Not for use in the study.
"""
from __future__ import annotations

import math

import numpy as np

from .extraction import CEResult
from .metrics import DEFAULT, NEVER_CROSSES, NOT_COUNTED, Reading, rowwise_spearman, spearman_interval


def _logits(result: CEResult, n: int):
    return result.ce[n].sum(-1) + result.bias


def _predicted(result: CEResult, n: int) -> int:
    if result.binary:
        return int(_logits(result, n) > 0)
    return int(np.argmax(_logits(result, n)))


def _counted(result: CEResult, n: int, c: int, reading: Reading) -> bool:
    return reading.instances == "all" or _predicted(result, n) == c


def _supporting_one(result: CEResult, n: int, c: int, reading: Reading):
    """Supporting CE of instance n (label index c), the offset the kept terms are added to,
    and whether negative terms are kept whole (so a kept term adds only its positive part)."""
    p = _predicted(result, n)
    if result.binary:
        sign = 1.0 if p == 1 else -1.0
        s = sign * result.ce[n]
        gap = sign * result.bias if reading.bias == "include" else 0.0
        return s, np.minimum(s, 0.0).sum() + gap, True
    logits = _logits(result, n)
    second = max((j for j in range(len(logits)) if j != p), key=lambda j: logits[j])
    s = result.ce[n, p]
    gap = result.bias[c] - logits[second] if reading.bias == "include" else -result.ce[n, second].sum()
    keep = reading.negatives == "kept"
    return s, gap + (np.minimum(s, 0.0).sum() if keep else 0.0), keep


def _order(s, ranking: str) -> list[int]:
    key = (lambda d: (-s[d], d)) if ranking == "signed" else (lambda d: (-abs(s[d]), d))
    return sorted(range(len(s)), key=key)


def _required_one(result: CEResult, n: int, c: int, reading: Reading) -> int:
    s, offset, keep = _supporting_one(result, n, c, reading)
    if offset > 0:
        return 1 if reading.at_least_one else 0
    kept = 0.0
    for k, d in enumerate(_order(s, reading.ranking), start=1):
        kept += max(s[d], 0.0) if keep else s[d]
        if kept + offset > 0:
            return k
    return NEVER_CROSSES


def required_ce_loop(result: CEResult, y, reading: Reading = DEFAULT) -> np.ndarray:
    cls = result.class_index(y)
    out = np.full(len(cls), NOT_COUNTED, dtype=np.int64)
    for n, c in enumerate(cls):
        if _counted(result, n, c, reading):
            out[n] = _required_one(result, n, c, reading)
    return out


def _set_one(result: CEResult, n: int, c: int, reading: Reading, k: int) -> set[int]:
    s, _, _ = _supporting_one(result, n, c, reading)
    if reading.sets == "top-k":
        return {d for d in _order(s, "signed")[:k] if s[d] > 0}
    needed = _required_one(result, n, c, reading)
    return set(_order(s, reading.ranking)[:len(s) if needed == NEVER_CROSSES else needed])


def class_topk_union_loop(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT) -> np.ndarray:
    cls = result.class_index(y)
    unions = [set() for _ in result.classes]
    counted = [0] * len(result.classes)
    for n, c in enumerate(cls):
        if _counted(result, n, c, reading):
            counted[c] += 1
            unions[c] |= _set_one(result, n, c, reading, k)
    return np.array([len(u) if counted[c] else np.nan for c, u in enumerate(unions)])


def frequency_loop(result: CEResult, y, k: int = 10, reading: Reading = DEFAULT) -> np.ndarray:
    """(C, D): the fraction of each class's counted instances whose set holds d."""
    cls = result.class_index(y)
    d_total = result.n_terms
    hits = np.zeros((len(result.classes), d_total))
    counted = np.zeros(len(result.classes))
    for n, c in enumerate(cls):
        if _counted(result, n, c, reading):
            counted[c] += 1
            for d in _set_one(result, n, c, reading, k):
                hits[c, d] += 1
    with np.errstate(invalid="ignore"):
        return hits / np.where(counted > 0, counted, np.nan)[:, None]


def _share(v, frac: float, count: str) -> float:
    n_top = max(1, int(frac * len(v))) if count == "floor" else max(1, math.ceil(round(frac * len(v), 9)))
    positive = [max(x, 0.0) for x in v]
    total = sum(positive)
    return sum(sorted(positive, reverse=True)[:n_top]) / total if total > 0 else float("nan")


def top_share_loop(result: CEResult, y, frac: float = 0.1, reading: Reading = DEFAULT) -> np.ndarray:
    cls = result.class_index(y)
    sums = [None] * len(result.classes)
    counts = [0] * len(result.classes)
    for n, c in enumerate(cls):
        if _counted(result, n, c, reading):
            s, _, _ = _supporting_one(result, n, c, reading)
            sums[c] = s.copy() if sums[c] is None else sums[c] + s
            counts[c] += 1
    return np.array([_share(sums[c] / counts[c], frac, reading.share_count) if counts[c] else np.nan
                     for c in range(len(counts))])


# ---------------------------------------------------------------- a population with a known RQ3 Spearman
# Interval regimes the coverage test and benchmarks/interval_coverage.py draw from: (TPs per
# sample, D, mean required-set size), after the quick book's runs (SYLVA, HIVA, COIL 2000 LG and
# SVM classes, the ResNet's 64 features), the paper profile's COIL 2000 SVM and the issue's
# simulation (400 TPs, D = 200, top-10), and a class of an LG on COIL 2000 drawn in random groups.
INTERVAL_REGIMES = {
    "finite-population simulation (400 TPs, D 200, sets of 10)": (400, 200, 10),
    "HIVA LG minority (74 TPs, D 1617)": (74, 1617, 300),
    "SYLVA SVM minority (130 TPs, D 386)": (130, 386, 80),
    "COIL 2000 LG SMOTE minority (95 TPs, D 85)": (95, 85, 20),
    "CNN class (1000 TPs, D 64)": (1000, 64, 7),
    # more TPs than metrics.INTERVAL_GROUPS: drawn in random groups
    "COIL 2000 LG-sized class (3000 TPs, D 85, sets of 20)": (3000, 85, 20),
    "COIL 2000 SVM majority (6465 TPs, D 1833, sets of 1000)": (6465, 1833, 1000),
}
SPARSE_REGIMES = {
    "SYLVA LG majority (1970 TPs, D 216, sets of 1.5)": (1970, 216, 1.5),
    "sets of 5 among 500 (1000 TPs)": (1000, 500, 5),
}


def finite_population(size: int, d: int, mean_set: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """``size`` instances of supporting CE (``values``, (size, d)) and their required sets
    (``sets``, 0/1): per feature a magnitude (log-normal, 30% of features negative), per instance
    noise in proportion to it, and a set of the instance's k largest positive terms with k
    geometric around ``mean_set``, so some features are common and many rare, as in the runs."""
    mu = rng.lognormal(0.0, 1.0, d) * rng.choice([1.0, -1.0], d, p=[0.7, 0.3])
    values = mu[None, :] * (1.0 + rng.standard_normal((size, d)))
    k = np.minimum(d, rng.geometric(1.0 / mean_set, size))
    order = np.argsort(-values, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(d)[None, :].repeat(size, 0), axis=1)
    return ((rank < k[:, None]) & (values > 0)).astype(np.float64), values


def interval_coverage(n: int, d: int, mean_set: float, trials: int, resamples: int, seed: int,
                      ci: float = 0.95) -> dict:
    """Draw ``trials`` samples of n TPs without replacement from a population of 20 n whose
    Spearman is known, and count how often ``metrics.spearman_interval`` covers it."""
    rng = np.random.default_rng(seed)
    sets, values = finite_population(20 * n, d, mean_set, rng)
    truth = rowwise_spearman(sets.mean(0)[None], values.mean(0)[None])[0]
    covered, shown, statuses = 0, 0, {}
    for _ in range(trials):
        rows = rng.choice(len(sets), n, replace=False)
        low, high, status = spearman_interval(sets[rows], values[rows], resamples, rng, ci)
        statuses[status] = statuses.get(status, 0) + 1
        if status == "ok":
            shown += 1
            covered += bool(low <= truth <= high)
    return {"truth": float(truth), "shown": shown, "coverage": covered / shown if shown else float("nan"),
            "statuses": statuses}

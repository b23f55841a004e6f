"""Straightforward per-instance implementations of the metrics, written from the definitions.

Slow on purpose: the tests check the vectorised ``metrics`` against them under every reading,
and ``benchmarks/ce_metrics.py`` times them. Not for use in the study.
"""
from __future__ import annotations

import math

import numpy as np

from .extraction import CEResult
from .metrics import DEFAULT, NEVER_CROSSES, NOT_COUNTED, Reading


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

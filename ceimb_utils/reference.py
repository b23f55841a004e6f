"""Straightforward per-instance implementations of the metrics, written from the definitions.

Slow on purpose: the tests check the vectorised ``metrics`` against them, and
``benchmarks/ce_metrics.py`` times them. Not for use in the study.
"""
from __future__ import annotations

import math

import numpy as np

from .ce import CEResult


def _supporting_one(result: CEResult, n: int, c: int):
    """Supporting CE of instance n (true class index c), and what the kept sum must beat."""
    if result.binary:
        sign = 1.0 if c == 1 else -1.0
        s = sign * result.ce[n]
        opposing = sum(v for v in s if v < 0)
        return s, opposing + sign * result.bias, opposing
    logits = result.ce[n].sum(-1) + result.bias
    others = [j for j in range(len(logits)) if j != c]
    r = max(others, key=lambda j: logits[j])
    return result.ce[n, c], result.bias[c] - logits[r], -result.ce[n, r].sum()


def _is_tp(result: CEResult, n: int, c: int) -> bool:
    if result.binary:
        return int(result.ce[n].sum() + result.bias > 0) == c
    logits = result.ce[n].sum(-1) + result.bias
    return int(np.argmax(logits)) == c


def required_ce_loop(result: CEResult, y, bias: str = "include") -> np.ndarray:
    cls = result.class_index(y)
    out = np.zeros(len(cls), dtype=np.int64)
    for n, c in enumerate(cls):
        if not _is_tp(result, n, c):
            continue
        s, offset_inc, offset_exc = _supporting_one(result, n, c)
        offset = offset_inc if bias == "include" else offset_exc
        kept = 0.0
        out[n] = -1
        for k, value in enumerate(sorted(s, reverse=True), start=1):
            kept += max(value, 0.0) if result.binary else value
            if kept + offset > 0:
                out[n] = k
                break
    return out


def _topk_indices(s, k: int) -> list[int]:
    order = sorted(range(len(s)), key=lambda d: (-s[d], d))
    return [d for d in order[:k] if s[d] > 0]


def class_topk_union_loop(result: CEResult, y, k: int = 10) -> np.ndarray:
    cls = result.class_index(y)
    unions = [set() for _ in result.classes]
    for n, c in enumerate(cls):
        if _is_tp(result, n, c):
            s, _, _ = _supporting_one(result, n, c)
            unions[c].update(_topk_indices(s, k))
    return np.array([len(u) for u in unions])


def _share(v, frac: float) -> float:
    n_top = math.ceil(frac * len(v))
    positive = [max(x, 0.0) for x in v]
    total = sum(positive)
    return sum(sorted(positive, reverse=True)[:n_top]) / total if total > 0 else float("nan")


def top_share_loop(result: CEResult, y, frac: float = 0.1) -> np.ndarray:
    cls = result.class_index(y)
    sums = [None] * len(result.classes)
    counts = [0] * len(result.classes)
    for n, c in enumerate(cls):
        if _is_tp(result, n, c):
            s, _, _ = _supporting_one(result, n, c)
            sums[c] = s.copy() if sums[c] is None else sums[c] + s
            counts[c] += 1
    return np.array([_share(sums[c] / counts[c], frac) if counts[c] else np.nan for c in range(len(counts))])

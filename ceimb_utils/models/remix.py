"""ReMix (Bellinger et al., AAAI 2021) at the level of one mini-batch, as methods#models fixes it.

Per batch: the classes present are balanced by resampling each to the largest count, batch-size
rows are drawn with replacement from that pool and mixed with a shuffled copy of themselves,
one lambda ~ Beta(alpha, alpha) per batch; the labels are mixed with the same lambda.
"""
from __future__ import annotations

import numpy as np


def remix_indices(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (into the batch) of the balanced draw and of its mixing partners."""
    labels = np.asarray(labels)
    present, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    largest = counts.max()
    # balanced pool: every class present resampled (with replacement) to the largest count
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    picks = rng.integers(0, counts[:, None], size=(len(present), largest))
    pool = order[(starts[:, None] + picks).ravel()]
    first = pool[rng.integers(0, len(pool), size=len(labels))]
    return first, first[rng.permutation(len(first))]


def remix_lambda(alpha: float, rng: np.random.Generator) -> float:
    return float(rng.beta(alpha, alpha))


def remix_tabular(X: np.ndarray, y: np.ndarray, alpha: float, batch_size: int,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One pass of ReMix over (X, y) for models that cannot take soft labels.

    Each mixed row is emitted twice, once with each source label, with sample weights lambda
    and 1 - lambda; the weights of a pair sum to one. Returns (X_mixed, y, sample_weight).
    """
    order = rng.permutation(len(y))
    xs, ys, ws = [], [], []
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        first, second = remix_indices(y[batch], rng)
        lam = remix_lambda(alpha, rng)
        a, b = batch[first], batch[second]
        mixed = lam * X[a] + (1 - lam) * X[b]
        xs += [mixed, mixed]
        ys += [y[a], y[b]]
        ws += [np.full(len(a), lam), np.full(len(b), 1 - lam)]
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)

"""Planted data: tabular data sets whose answer is known by construction (the calibration chapter).

Each generator is seeded and binary (class 1 the minority, ``ratio`` majority rows per minority
row; ``ratio`` 1 is the balanced version):

- ``sparse``: Gaussian noise in D features; on the first ``signal`` features only, the two
  classes' means lie ``+-separation / (2 sqrt(signal))`` from the origin, so the classes lie
  ``separation`` standard deviations apart (Mahalanobis). The means are symmetric so that
  neither class sits at the origin, where its CE would centre on zero and the bias alone
  would carry its TPs.
- ``dense``: the same separation spread evenly over all D features.
- ``frequency``: non-negative latent features, as after a ReLU and pooling: feature d is active
  (non-zero) in a row of class c with a probability that differs by feature and class; when
  active its magnitude is drawn from one law for every feature.
- ``frequency_magnitude``: the same, but a feature's magnitude when active rises with how often
  it is active.

A profile declares one as a data set (``data_sets: {name: {planted: sparse, ...}}``); the
``planted`` profile holds the book's.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..datasets import PLANTED_DEFAULTS as DEFAULTS  # with the generators' names, in the registry


def settings(entry: Mapping) -> dict:
    """The generator's settings: the entry's, the rest from ``DEFAULTS``."""
    return {**DEFAULTS, **{k: entry[k] for k in DEFAULTS if k in entry}}


def class_sizes(n: int, ratio: float) -> tuple[int, int]:
    minority = max(2, int(round(n / (ratio + 1))))
    return n - minority, minority


def generate(kind: str, n: int, d: int, signal: int, ratio: float, separation: float, seed: int):
    """(X, y) of a planted data set; y = 1 marks the minority."""
    rng = np.random.default_rng(seed)
    majority, minority = class_sizes(n, ratio)
    y = np.r_[np.zeros(majority, dtype=int), np.ones(minority, dtype=int)]
    if kind in ("sparse", "dense"):
        X = rng.standard_normal((n, d))
        width = signal if kind == "sparse" else d
        X[:, :width] += np.where(y == 1, 0.5, -0.5)[:, None] * separation / np.sqrt(width)
        return X, y
    active = activation_rates(d, rng)  # (2, D)
    on = rng.random((n, d)) < active[y]
    magnitude = rng.gamma(4.0, 0.25, (n, d))  # mean 1, the same law for every feature
    if kind == "frequency_magnitude":
        magnitude *= 0.25 + 1.5 * active[y]  # more often active, larger when active
    return np.where(on, magnitude, 0.0), y


def activation_rates(d: int, rng) -> np.ndarray:
    """(2, D) how often each feature is active per class: spread from 5% to 95%, in one random
    order per class, so frequency differs by feature and by class."""
    levels = np.linspace(0.05, 0.95, d)
    return np.stack([rng.permutation(levels), rng.permutation(levels)])


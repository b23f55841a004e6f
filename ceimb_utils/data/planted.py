"""Planted data: data sets whose answer is known by construction (the calibration chapter).

Tables (``generate``), seeded and binary (class 1 the minority, ``ratio`` majority rows per
minority row; ``ratio`` 1 is the balanced version), each a generator built for a claim's rule
(methods#calibration-rates):

- ``sparse``: Gaussian noise in D features; on the first ``signal`` features only, the two
  classes' means lie ``+-separation / (2 sqrt(signal))`` from the origin (symmetric, so that
  neither class sits at the origin, where the bias alone would carry its TPs). Claim 1 holds.
- ``dense``: the same separation spread evenly over all D features. Claim 1 does not hold.
- ``invariant``: the separation on ``signal`` carrier features of fixed, decreasing strength
  (3 : 2 : 1 ...), so every TP of a class is carried by the same terms: claim 7's R is near 1.
- ``combinations``: every row is on in ``signal`` features drawn at random from all D (a class
  sets their sign), so each TP is carried by its own arbitrary combination: claim 7 holds.
- latent tables, non-negative as after a ReLU: feature d is on in a row of class c with
  probability ``p[c, d]`` (from 5% to 95%), independent across classes or shared by them
  (``rates``); when on, its size follows a law set by the generator: ``frequency`` the same law
  for every feature (no relation), ``frequency_magnitude`` larger when on more often (a relation
  in every class), ``opposite`` smaller when on more often, ``minority_magnitude`` the relation
  in class 1 only. ``units``: every column in a random unit (a factor from 0.01 to 100).

Images' latent features (``latent_features``, ``feature_maps``): C classes x D non-negative
features, or feature maps of H x W positions before global average pooling, with the same
laws per feature or per position, for the network reading of claim 9 (methods#latent-reading).
``relu_features`` and ``relu_maps`` plant no law at all: Gaussian pre-activations whose mean
differs by class and channel, passed through a ReLU, as a network's layer makes its features.
A profile declares a table as a data set (``data_sets: {name: {planted: sparse, ...}}``); the
``planted`` profile holds the book's.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..datasets import PLANTED_DEFAULTS as DEFAULTS  # with the generators' names, in the registry

LAWS = {  # size when on, as a factor of a feature's on-rate p (mean 1 at p = 0.5)
    "frequency": lambda p: np.ones_like(p),
    "frequency_magnitude": lambda p: 0.25 + 1.5 * p,
    "opposite": lambda p: 1.75 - 1.5 * p,
}
LATENT = ("frequency", "frequency_magnitude", "opposite", "minority_magnitude")


def settings(entry: Mapping) -> dict:
    """The generator's settings: the entry's, the rest from ``DEFAULTS``."""
    return {**DEFAULTS, **{k: entry[k] for k in DEFAULTS if k in entry}}


def class_sizes(n: int, ratio: float) -> tuple[int, int]:
    minority = max(2, int(round(n / (ratio + 1))))
    return n - minority, minority


def generate(kind: str, n: int, d: int, signal: int, ratio: float, separation: float, seed: int,
             rates: str = "independent", units: bool = False):
    """(X, y) of a planted table; y = 1 marks the minority."""
    rng = np.random.default_rng(seed)
    majority, minority = class_sizes(n, ratio)
    y = np.r_[np.zeros(majority, dtype=int), np.ones(minority, dtype=int)]
    sign = np.where(y == 1, 1.0, -1.0)[:, None]
    if kind in ("sparse", "dense"):
        X = rng.standard_normal((n, d))
        width = signal if kind == "sparse" else d
        X[:, :width] += 0.5 * sign * separation / np.sqrt(width)
        return X, y
    if kind == "invariant":
        X = 0.3 * rng.standard_normal((n, d))
        strength = np.arange(signal, 0, -1, dtype=float)  # fixed ranks: the same terms every time
        X[:, :signal] += sign * separation * strength / strength.sum()
        return X, y
    if kind == "combinations":
        X = 0.05 * rng.standard_normal((n, d))
        on = np.argsort(rng.random((n, d)), axis=1)[:, :signal]  # each row's own features
        np.put_along_axis(X, on, sign * separation * (1 + 0.1 * rng.standard_normal((n, signal))), axis=1)
        return X, y
    p = activation_rates(d, rng, shared=rates == "shared")[y]  # (n, d)
    X = np.where(rng.random((n, d)) < p, rng.gamma(4.0, 0.25, (n, d)) * _law(kind, p, y[:, None]), 0.0)
    if units:
        X *= 10.0 ** rng.uniform(-2, 2, d)
    return X, y


def _law(kind: str, p: np.ndarray, cls: np.ndarray) -> np.ndarray:
    if kind == "minority_magnitude":
        return np.where(cls == 1, LAWS["frequency_magnitude"](p), LAWS["frequency"](p))
    return LAWS[kind](p)


def activation_rates(d: int, rng, shared: bool = False, classes: int = 2) -> np.ndarray:
    """(classes, D) how often each feature is on per class: spread from 5% to 95%, in one random
    order per class (independent) or the same order for every class (shared)."""
    levels = np.linspace(0.05, 0.95, d)
    if shared:
        return np.tile(rng.permutation(levels), (classes, 1))
    return np.stack([rng.permutation(levels) for _ in range(classes)])


def latent_features(law: str, n_per_class: int = 300, classes: int = 6, d: int = 64, seed: int = 0):
    """(F, y): non-negative features of ``classes`` classes x ``d`` features, as a network's
    pooled layer holds them (ReLU zeros): on with a per-class, per-feature rate, of a size that
    follows ``law`` (a key of ``LAWS``) of that rate when on."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    p = activation_rates(d, rng, classes=classes)[y]
    F = np.where(rng.random(p.shape) < p, rng.gamma(4.0, 0.25, p.shape) * LAWS[law](p), 0.0)
    return F, y


def feature_maps(per_position: str, n_per_class: int = 60, classes: int = 6, channels: int = 64, size: int = 7,
                 seed: int = 0):
    """(maps, y): (N, channels, size, size) non-negative maps before global average pooling.
    A channel is active in an instance of class c with a rate q that differs by class and channel;
    when active, it is on at a share q of the positions (a channel active more often also covers
    more of the image), each of a size that follows ``per_position`` (a key of ``LAWS``) of the
    position's on-rate. With ``"frequency"`` nothing relates size to frequency per position, yet
    the pooled value of a channel, non-zero when it is active and as large as the positions it
    covers, rises with q: pooling alone makes the relation (methods#latent-reading)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    q = activation_rates(channels, rng, classes=classes)[y][:, :, None, None]  # (N, C, 1, 1)
    shape = (len(y), channels, size, size)
    active = rng.random((len(y), channels, 1, 1)) < q
    on = active & (rng.random(shape) < q)
    maps = np.where(on, rng.gamma(4.0, 0.25, shape) * LAWS[per_position](q * q), 0.0)
    return maps, y


RELU_MEANS = (-1.5, 1.5)  # the spread of the pre-activations' means, in units of their spread


def _relu(means: np.ndarray, shape: tuple[int, ...], rng) -> np.ndarray:
    """max(0, mean + N(0, 1)) for pre-activations of the given means (broadcast to ``shape``)."""
    return np.maximum(0.0, means + rng.standard_normal(shape))


def relu_features(n_per_class: int = 300, classes: int = 6, d: int = 64, seed: int = 0):
    """(F, y): ``classes`` classes x ``d`` features, each the ReLU of a Gaussian pre-activation
    whose mean is drawn per class and feature from ``RELU_MEANS``; no law relates a feature's
    size to how often it is on, yet a feature whose mean is larger is both on more often and
    larger when on: what a ReLU makes by itself (methods#latent-reading)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    means = rng.uniform(*RELU_MEANS, (classes, d))[y]
    return _relu(means, means.shape, rng), y


def relu_maps(n_per_class: int = 60, classes: int = 6, channels: int = 64, size: int = 7, seed: int = 0):
    """(maps, y): (N, channels, size, size) feature maps before pooling, each position the ReLU
    of a Gaussian pre-activation whose mean is drawn per class and channel from ``RELU_MEANS``
    (the same at every position), as ``relu_features`` per position."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), n_per_class)
    means = rng.uniform(*RELU_MEANS, (classes, channels))[y][:, :, None, None]
    return _relu(means, (len(y), channels, size, size), rng), y

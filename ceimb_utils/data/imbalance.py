"""Imbalance builders (methods#data) and seeded selection of the kept images."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..config import ConfigError


def exponential_counts(n_max: int, ratio: float, n_classes: int) -> list[int]:
    """Cao et al.: n_c = int(n_max * ratio ** (-c / (C - 1)))."""
    if n_classes == 1:
        return [int(n_max)]
    return [int(n_max * ratio ** (-c / (n_classes - 1))) for c in range(n_classes)]


def step_counts(n_max: int, ratio: float, n_classes: int, n_majority: int) -> list[int]:
    """The first ``n_majority`` classes keep n_max, the rest n_max / ratio."""
    if not 0 < n_majority < n_classes:
        raise ConfigError(f"Step imbalance needs 0 < n_majority < {n_classes} classes, got {n_majority}.")
    return [int(n_max) if c < n_majority else int(n_max / ratio) for c in range(n_classes)]


def class_counts(section: Mapping, n_classes: int) -> list[int]:
    if section["imbalance"] == "exponential":
        counts = exponential_counts(section["n_max"], section["ratio"], n_classes)
    else:
        counts = step_counts(section["n_max"], section["ratio"], n_classes, section["n_majority"])
    if min(counts) < 1:
        raise ConfigError(f"Imbalance {section['imbalance']} {section['ratio']:g}:1 with n_max={section['n_max']} "
                          "leaves a class with no training image.")
    return counts


def ldam_selection(y: np.ndarray, counts, seed: int) -> np.ndarray:
    """The training subset of Cao et al.'s ``IMBALANCECIFAR10(rand_number=seed)``, which
    Dablain and Chawla trained their published models on: ``np.random.seed(seed)``, then per
    class a shuffle of its indices and the first n."""
    rng = np.random.RandomState(seed)
    chosen = []
    for c, wanted in enumerate(counts):
        rows = np.flatnonzero(y == c)
        rng.shuffle(rows)
        chosen.append(rows[:wanted])
    return np.concatenate(chosen)


def select_per_class(y: np.ndarray, counts, seed: int, names=None, what: str = "training") -> np.ndarray:
    """Indices of ``counts[c]`` rows of each class c, drawn without replacement (seeded)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for c, wanted in enumerate(counts):
        rows = np.flatnonzero(y == c)
        if len(rows) < wanted:
            label = names[c] if names is not None else c
            raise ConfigError(f"Class {label!r} has {len(rows)} {what} images but the configuration asks "
                              f"for {wanted}; lower n_max / test_per_class or add data.")
        chosen.append(np.sort(rng.permutation(rows)[:wanted]))
    return np.concatenate(chosen)

"""Imbalance builders (methods#data) and seeded selection of the kept images."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..datasets import AS_IS
from ..errors import ConfigError


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


def class_counts(section: Mapping, available) -> list[int]:
    """Training images per class that ``section`` asks for, given the ``available`` ones per class:
    every one as they are (``imbalance: none``, at most ``n_max`` each when set), or the
    exponential / step builder's counts, which ``select_per_class`` checks against what there is."""
    n_classes = len(available)
    if section["imbalance"] == AS_IS:
        cap = section.get("n_max")
        return [min(int(a), cap) if cap else int(a) for a in available]
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
            raise ConfigError(too_few(names[c] if names is not None else c, len(rows), wanted, what))
        chosen.append(np.sort(rng.permutation(rows)[:wanted]))
    return np.concatenate(chosen)


def too_few(label, have: int, wanted: int, what: str = "training", dataset: str | None = None) -> str:
    """The sentence for a class that has fewer images than a configuration asks for."""
    key = "n_max" if what == "training" else "test_per_class"
    where = f"Data set {dataset!r} cannot supply what is asked: class" if dataset else "Class"
    return (f"{where} {label!r} has {have} {what} images but the configuration asks for {wanted}; lower {key}, "
            "add images, or use the data as they are (imbalance: none).")

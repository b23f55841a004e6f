"""tau-normalisation of a trained head (Kang et al. 2020): w_c / ||w_c||^tau, no bias.

tau is chosen by balanced accuracy on a class-balanced validation subset of the training set,
never on the test set. The base network saw these images in training, so the choice is
optimistic about the head classes; it is still the only data the run may look at.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
from sklearn.metrics import balanced_accuracy_score


def balanced_subset(y: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Up to ``per_class`` training rows of every class, drawn with ``seed``, in index order."""
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(y == c), min(per_class, int((y == c).sum())), replace=False)
            for c in np.unique(y)]
    return np.sort(np.concatenate(rows))


def normalised_weight(weight: np.ndarray, tau: float) -> np.ndarray:
    norms = np.maximum(np.linalg.norm(weight, axis=1, keepdims=True), 1e-12)
    return weight / norms ** tau


def choose_tau(features: np.ndarray, y: np.ndarray, weight: np.ndarray, grid) -> tuple[float, dict]:
    """The tau of ``grid`` with the best balanced accuracy (the smallest on a tie), and every score."""
    scores = {float(t): float(balanced_accuracy_score(y, (features @ normalised_weight(weight, t).T).argmax(1)))
              for t in grid}
    best = max(scores.values())
    return min(t for t, s in scores.items() if s == best), scores


def tau_head(weight: np.ndarray, tau: float, dtype=torch.float32) -> nn.Linear:
    head = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(normalised_weight(weight, tau)))
    return head.to(dtype)

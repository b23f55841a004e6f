"""Over-sampling in the 64-d feature space of a trained network, then a fresh linear head.

EOS (expansive over-sampling, Dablain et al.): one k-nearest-neighbour query over all classes;
the bases are minority instances with at least one neighbour of another class (an "enemy");
a new point is ``base + U(0,1) * (enemy - base)``, labelled with the base's class.
DSM: SMOTE in the same space (same-class neighbours, U(0,1) gap), by imbalanced-learn.
Each class is topped up to the largest class count. A class that cannot be over-sampled (no
base with an enemy for EOS, fewer than two instances for DSM) is left as it is and reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .resnet import init_parameters
from .train_cnn import Schedule, make_optimizer


@dataclass
class Augmented:
    features: np.ndarray  # original + synthetic
    labels: np.ndarray
    n_synthetic: np.ndarray  # per class
    skipped: list[str] = field(default_factory=list)  # classes left as they are, and why
    k_lowered: dict = field(default_factory=dict)  # DSM: class -> the k used, where its instances minus one < k


def _targets(labels: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(labels, minlength=n_classes)
    return counts.max() - counts


def eos(features: np.ndarray, labels: np.ndarray, k: int, rng: np.random.Generator,
        class_names=None) -> Augmented:
    """Expansive over-sampling toward enemy neighbours (vectorised; one neighbour query)."""
    from sklearn.neighbors import NearestNeighbors

    n_classes = int(labels.max()) + 1
    names = class_names or list(range(n_classes))
    need = _targets(labels, n_classes)
    k = min(k, len(labels) - 1)
    neighbours = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features, return_distance=False)[:, 1:]
    enemy = labels[neighbours] != labels[:, None]  # (N, k)
    new_x, new_y, skipped = [], [], []
    made = np.zeros(n_classes, dtype=np.int64)
    for c in np.flatnonzero(need > 0):
        bases = np.flatnonzero((labels == c) & enemy.any(1))
        if len(bases) == 0:
            skipped.append(f"{names[c]}: no instance has another class among its {k} nearest neighbours")
            continue
        chosen = bases[rng.integers(0, len(bases), size=need[c])]
        n_enemies = enemy[chosen].sum(1)
        pick = (rng.random(len(chosen)) * n_enemies).astype(np.int64)  # which enemy, uniformly
        position = (np.cumsum(enemy[chosen], axis=1) > pick[:, None]).argmax(1)
        partners = neighbours[chosen, position]
        gap = rng.random((len(chosen), 1))
        new_x.append(features[chosen] + gap * (features[partners] - features[chosen]))
        new_y.append(np.full(len(chosen), c))
        made[c] = len(chosen)
    return _combine(features, labels, new_x, new_y, made, skipped)


def dsm(features: np.ndarray, labels: np.ndarray, k: int, seed: int, class_names=None) -> Augmented:
    """SMOTE in feature space, class by class so that small classes use fewer neighbours."""
    from imblearn.over_sampling import SMOTE

    n_classes = int(labels.max()) + 1
    names = class_names or list(range(n_classes))
    need = _targets(labels, n_classes)
    counts = np.bincount(labels, minlength=n_classes)
    new_x, new_y, skipped, lowered = [], [], [], {}
    made = np.zeros(n_classes, dtype=np.int64)
    for c in np.flatnonzero(need > 0):
        if counts[c] < 2:
            skipped.append(f"{names[c]}: a single instance has no same-class neighbour")
            continue
        binary = (labels == c).astype(int)
        k_c = min(k, int(counts[c]) - 1)  # the class's instances minus one (methods#own-data)
        if k_c < k:
            lowered[str(names[c])] = k_c
        sampler = SMOTE(sampling_strategy={1: int(counts.max())}, k_neighbors=k_c,
                        random_state=seed + int(c))
        x_res, y_res = sampler.fit_resample(features, binary)
        synthetic = x_res[len(labels):]  # imblearn appends the new rows after the originals
        new_x.append(synthetic)
        new_y.append(np.full(len(synthetic), c))
        made[c] = len(synthetic)
    return _combine(features, labels, new_x, new_y, made, skipped, lowered)


def _combine(features, labels, new_x, new_y, made, skipped, lowered=None) -> Augmented:
    x = np.concatenate([features, *new_x]) if new_x else features
    y = np.concatenate([labels, *new_y]) if new_y else labels
    return Augmented(x, y, made, skipped, dict(lowered or {}))


def train_head(features: np.ndarray, labels: np.ndarray, n_classes: int, *, epochs: int, lr: float,
               warmup_epochs: int, momentum: float, weight_decay: float, batch_size: int, seed: int,
               device: torch.device, dtype: torch.dtype = torch.float32) -> nn.Linear:
    """A fresh linear head trained on (original + synthetic) features with SGD and warm-up."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    head = init_parameters(nn.Linear(features.shape[1], n_classes), seed).to(device=device, dtype=dtype)
    optimizer = make_optimizer(head, lr, momentum, weight_decay)
    schedule = Schedule(epochs, lr, warmup_epochs, reference_epochs=epochs)  # warm-up in head epochs
    x = torch.as_tensor(features, dtype=dtype)
    y = torch.as_tensor(labels, dtype=torch.int64)
    for epoch in range(epochs):
        for group in optimizer.param_groups:
            group["lr"] = schedule.lr_at(epoch) if epoch < schedule.warmup else lr
        for batch in torch.randperm(len(y), generator=generator).split(batch_size):
            loss = F.cross_entropy(head(x[batch].to(device)), y[batch].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return head.eval()

"""Training objectives of the image interventions, per epoch (deferred re-weighting switches).

- ``cb_ce``: cross-entropy with class-balanced weights (Cui et al. 2019), beta 0.9999.
- ``logit_adjust``: cross-entropy of logits + tau log(prior) (Menon et al. 2021), tau 1; the
  network predicts with its plain logits.
- ``ldam_drw``: LDAM (Cao et al. 2019) on a cosine head: the true class's cosine lowered by
  C / n_c^(1/4) (the largest margin 0.5), scaled by s = 30; class-balanced weights from 80% of
  the epochs (deferred re-weighting).
Every other method trains with plain cross-entropy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F

OBJECTIVES = ("ce", "cb_ce", "logit_adjust", "ldam_drw")


def class_balanced_weights(counts, beta: float) -> np.ndarray:
    """(1 - beta) / (1 - beta^n_c), scaled to sum to the number of classes."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights * len(counts) / weights.sum()


def ldam_margins(counts, max_margin: float) -> np.ndarray:
    """n_c^(-1/4), scaled so that the rarest class gets ``max_margin``."""
    margins = 1.0 / np.power(np.asarray(counts, dtype=np.float64), 0.25)
    return margins * (max_margin / margins.max())


@dataclass(frozen=True)
class Objective:
    """The loss of a batch of logits (fp32 or wider) at a given epoch."""

    kind: str = "ce"
    weights: np.ndarray | None = None     # cb_ce always, ldam_drw from ``reweight_from``
    log_prior: np.ndarray | None = None   # logit_adjust: tau * log(n_c / n)
    margins: np.ndarray | None = None     # ldam_drw
    scale: float = 1.0                    # ldam_drw: s
    reweight_from: int = 0                # ldam_drw: the first re-weighted epoch

    def __call__(self, logits: torch.Tensor, y: torch.Tensor, epoch: int) -> torch.Tensor:
        def as_tensor(values):
            return torch.as_tensor(values, dtype=logits.dtype, device=logits.device)

        if self.kind == "cb_ce":
            return F.cross_entropy(logits, y, weight=as_tensor(self.weights))
        if self.kind == "logit_adjust":
            return F.cross_entropy(logits + as_tensor(self.log_prior), y)
        if self.kind == "ldam_drw":
            shifted = logits - as_tensor(self.margins)[y][:, None] * F.one_hot(y, logits.shape[1]).to(logits.dtype)
            weight = as_tensor(self.weights) if epoch >= self.reweight_from else None
            return F.cross_entropy(self.scale * shifted, y, weight=weight)
        return F.cross_entropy(logits, y)


def objective(kind: str, counts, settings: Mapping, epochs: int) -> Objective:
    """The objective ``kind`` for these training class counts and the run's settings."""
    counts = np.asarray(counts, dtype=np.float64)
    if kind == "ce":
        return Objective()
    if kind == "cb_ce":
        return Objective(kind, weights=class_balanced_weights(counts, settings["cb_beta"]))
    if kind == "logit_adjust":
        return Objective(kind, log_prior=settings["la_tau"] * np.log(counts / counts.sum()))
    if kind == "ldam_drw":
        return Objective(kind, weights=class_balanced_weights(counts, settings["cb_beta"]),
                         margins=ldam_margins(counts, settings["ldam_max_margin"]), scale=settings["ldam_s"],
                         reweight_from=round(settings["drw_from"] * epochs))
    raise ValueError(f"Unknown objective {kind!r}; choose one of {', '.join(OBJECTIVES)}.")

"""What a run's record states besides its numbers: the class counts it used and a neighbour
count that over-sampling lowered for a small class (methods#own-data); the data set's pages read them."""
from __future__ import annotations

import numpy as np


def class_count_fields(y_train: np.ndarray, y_test: np.ndarray, n_classes: int) -> dict:
    """The training and test instances per class of a run."""
    return {"train_counts": np.bincount(y_train, minlength=n_classes).tolist(),
            "test_counts": np.bincount(y_test, minlength=n_classes).tolist()}


def neighbour_fields(method: str, k: int, lowered: dict) -> dict:
    """SMOTE, ADASYN or DSM: the k asked for and, per class whose training rows minus one are
    fewer, the k used instead (nothing when no class needed it)."""
    return {"neighbours": {"method": method, "k": int(k), "lowered": dict(lowered)}} if lowered else {}

"""Tabular models (LG, RBF SVM) trained with and without over-sampling.

Scaling is fitted on the training split only, before any over-sampling; over-sampling touches
the training split only. The fitted model is a Pipeline (scaler, classifier), so
``ce.extract`` applies the same scaling to whatever it is given.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from .config import TABULAR_METHODS, TABULAR_MODELS
from .remix import remix_tabular


@dataclass
class FitResult:
    model: Pipeline
    n_fit_rows: int  # rows the classifier saw (after over-sampling)
    fit_class_counts: list[float] = field(default_factory=list)  # weighted, after over-sampling
    warnings: list[str] = field(default_factory=list)


def make_classifier(model: str, lg_max_iter: int = 10000):
    if model == "lg":
        return LogisticRegression(max_iter=lg_max_iter)
    if model == "svm":
        return SVC()
    raise ValueError(f"Unknown tabular model {model!r}; choose one of {', '.join(TABULAR_MODELS)}.")


def _neighbours(n_minority: int, wanted: int, method: str) -> int:
    """SMOTE/ADASYN need k neighbours inside the minority class; fewer rows, fewer neighbours."""
    if n_minority < 2:
        raise ValueError(
            f"{method.upper()} needs at least 2 minority rows in the training split, found {n_minority}; "
            "use more rows (tabular.max_rows) or method 'base'."
        )
    return min(wanted, n_minority - 1)


def resample(method: str, X: np.ndarray, y: np.ndarray, seed: int, remix_alpha: float = 0.1,
             remix_batch: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Over-sample the (scaled) training split. Returns X, y and sample weights (or None)."""
    if method == "base":
        return X, y, None
    if method == "remix":
        return remix_tabular(X, y, remix_alpha, remix_batch, np.random.default_rng(seed))
    from imblearn.over_sampling import ADASYN, SMOTE

    n_minority = int(np.bincount(y).min())
    if method == "smote":
        sampler = SMOTE(random_state=seed, k_neighbors=_neighbours(n_minority, 5, method))
    elif method == "adasyn":
        sampler = ADASYN(random_state=seed, n_neighbors=_neighbours(n_minority, 5, method))
    else:
        raise ValueError(f"Unknown tabular method {method!r}; choose one of {', '.join(TABULAR_METHODS)}.")
    try:
        Xr, yr = sampler.fit_resample(X, y)
    except (ValueError, RuntimeError) as err:
        raise ValueError(f"{method.upper()} could not over-sample this training split: {err}") from err
    return Xr, yr, None


def fit_tabular(model: str, method: str, X_train: np.ndarray, y_train: np.ndarray, seed: int,
                lg_max_iter: int = 10000, remix_alpha: float = 0.1, remix_batch: int = 128) -> FitResult:
    """Scale, over-sample and fit; ConvergenceWarnings are recorded, not hidden."""
    clf = make_classifier(model, lg_max_iter)
    scaler = StandardScaler().fit(X_train)
    Xr, yr, weights = resample(method, scaler.transform(X_train), y_train, seed, remix_alpha, remix_batch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(Xr, yr, sample_weight=weights)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    counts = np.bincount(yr, weights=weights, minlength=2).tolist()
    return FitResult(Pipeline([("scale", scaler), ("clf", clf)]), len(yr), counts, messages)

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
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..config import TABULAR_METHODS, TABULAR_MODELS
from ..methods import METHODS
from .remix import remix_tabular


@dataclass
class FitResult:
    model: Pipeline
    n_fit_rows: int  # rows the classifier saw (after over-sampling)
    fit_class_counts: list[float] = field(default_factory=list)  # weighted, after over-sampling
    warnings: list[str] = field(default_factory=list)
    chosen: dict = field(default_factory=dict)  # what inner cross-validation picked (l1: C)
    k_lowered: dict = field(default_factory=dict)  # SMOTE / ADASYN: class -> the k used, where lowered


def make_classifier(model: str, lg_max_iter: int = 10000, method: str = "base", seed: int = 0,
                    l1_C=(0.01, 0.1, 1.0), l1_folds: int = 3, n_minority: int | None = None):
    """The classifier of a model and method; interventions change the classifier, not the data."""
    if model not in TABULAR_MODELS:
        raise ValueError(f"Unknown tabular model {model!r}; choose one of {', '.join(TABULAR_MODELS)}.")
    if not METHODS[method].applies_to("tabular", model):
        raise ValueError(f"Method {method!r} does not apply to model {model!r}.")
    weight = "balanced" if method == "balanced" else None
    if model == "svm":
        return SVC(class_weight=weight)
    if method == "l1":  # C chosen on folds of the training split only, by balanced accuracy
        if n_minority is not None and n_minority < 2:
            raise ValueError(f"L1's inner cross-validation needs at least 2 minority rows in the training split, "
                             f"found {n_minority}; use more rows (tabular.max_rows) or another method.")
        n_folds = min(l1_folds, n_minority or l1_folds)  # every training fold keeps both classes
        folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
        return LogisticRegressionCV(Cs=list(l1_C), cv=folds, l1_ratios=(1.0,), solver="liblinear",
                                    scoring="balanced_accuracy", max_iter=lg_max_iter, random_state=seed,
                                    use_legacy_attributes=False)  # liblinear draws at random: seeded
    return LogisticRegression(max_iter=lg_max_iter, class_weight=weight)


def _neighbours(n_minority: int, wanted: int, method: str) -> int:
    """SMOTE/ADASYN need k neighbours inside the minority class; fewer rows, fewer neighbours."""
    if n_minority < 2:
        raise ValueError(
            f"{method.upper()} needs at least 2 minority rows in the training split, found {n_minority}; "
            "use more rows (tabular.max_rows) or method 'base'."
        )
    return min(wanted, n_minority - 1)


K_NEIGHBOURS = 5  # SMOTE's and ADASYN's k (imbalanced-learn's default)


def lowered_k(method: str, y: np.ndarray) -> dict[str, int]:
    """SMOTE / ADASYN: the minority class and the k it is over-sampled with, when its training
    rows minus one are fewer than ``K_NEIGHBOURS`` (methods#own-data); empty otherwise."""
    if method not in ("smote", "adasyn"):
        return {}
    counts = np.bincount(y, minlength=2)
    minority = int(counts.argmin())
    k = _neighbours(int(counts[minority]), K_NEIGHBOURS, method)
    return {str(minority): k} if k < K_NEIGHBOURS else {}


def resample(method: str, X: np.ndarray, y: np.ndarray, seed: int, remix_alpha: float = 0.1,
             remix_batch: int = 128) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Over-sample the (scaled) training split. Returns X, y and sample weights (or None)."""
    if METHODS[method].family != "oversampling":
        return X, y, None
    if method == "remix":
        return remix_tabular(X, y, remix_alpha, remix_batch, np.random.default_rng(seed))
    from imblearn.over_sampling import ADASYN, SMOTE

    n_minority = int(np.bincount(y).min())
    if method == "smote":
        sampler = SMOTE(random_state=seed, k_neighbors=_neighbours(n_minority, K_NEIGHBOURS, method))
    elif method == "adasyn":
        sampler = ADASYN(random_state=seed, n_neighbors=_neighbours(n_minority, K_NEIGHBOURS, method))
    else:
        raise ValueError(f"Unknown tabular method {method!r}; choose one of {', '.join(TABULAR_METHODS)}.")
    try:
        Xr, yr = sampler.fit_resample(X, y)
    except (ValueError, RuntimeError) as err:
        raise ValueError(f"{method.upper()} could not over-sample this training split: {err}") from err
    return Xr, yr, None


def fit_tabular(model: str, method: str, X_train: np.ndarray, y_train: np.ndarray, seed: int,
                lg_max_iter: int = 10000, remix_alpha: float = 0.1, remix_batch: int = 128,
                l1_C=(0.01, 0.1, 1.0), l1_folds: int = 3) -> FitResult:
    """Scale, over-sample and fit; ConvergenceWarnings are recorded, not hidden."""
    clf = make_classifier(model, lg_max_iter, method, seed, l1_C, l1_folds, int(np.bincount(y_train).min()))
    # A head sees the features as they are; the others standardised on the training split.
    scaler = StandardScaler().fit(X_train) if model != "head" else None
    Xs = scaler.transform(X_train) if scaler is not None else X_train
    Xr, yr, weights = resample(method, Xs, y_train, seed, remix_alpha, remix_batch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(Xr, yr, sample_weight=weights)
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    counts = np.bincount(yr, weights=weights, minlength=2).tolist()
    chosen = {"C": float(np.ravel(clf.C_)[0])} if isinstance(clf, LogisticRegressionCV) else {}
    steps = [("scale", scaler)] if scaler is not None else []
    return FitResult(Pipeline([*steps, ("clf", clf)]), len(yr), counts, messages, chosen, lowered_k(method, y_train))

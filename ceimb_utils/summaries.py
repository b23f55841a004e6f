"""Tidy pandas tables of the metrics, as the runs store them and the notebooks plot them."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score

from . import metrics
from .ce import CEResult


def groups(train_counts) -> np.ndarray:
    """'majority' for the classes with the largest training count, 'minority' for the rest."""
    counts = np.asarray(train_counts)
    return np.where(counts == counts.max(), "majority", "minority")


def _percent(k: np.ndarray, d: int) -> np.ndarray:
    return np.where(k > 0, 100.0 * k / d, np.nan)


def instance_table(result: CEResult, y, support: metrics.Supporting | None = None) -> pd.DataFrame:
    """One row per test instance: class, TP flag and required CE under each reading."""
    sup = support if support is not None else metrics.supporting(result, y)
    frame = pd.DataFrame({
        "class_index": sup.cls,
        "tp": sup.tp,
        "bias_only": sup.bias_only & sup.tp,
    })
    for column, bias, ranking in [("k", "include", "signed"), ("k_exclude", "exclude", "signed"),
                                  ("k_absolute", "include", "absolute")]:
        frame[column] = metrics.required_ce(result, y, bias=bias, ranking=ranking, support=sup)
    return frame


def class_table(result: CEResult, y, train_counts, k: int = 10, frac: float = 0.1,
                support: metrics.Supporting | None = None, instances: pd.DataFrame | None = None,
                class_names=None) -> pd.DataFrame:
    """One row per class: counts, recall and every per-class metric of SPEC 2.1 to 2.3."""
    sup = support if support is not None else metrics.supporting(result, y)
    inst = instances if instances is not None else instance_table(result, y, sup)
    d = result.n_terms
    n_classes = len(result.classes)
    by_class = inst.assign(
        pct=_percent(inst["k"].to_numpy(), d),
        pct_exclude=_percent(inst["k_exclude"].to_numpy(), d),
        pct_absolute=_percent(inst["k_absolute"].to_numpy(), d),
        never_exclude=inst["k_exclude"] == metrics.NEVER_CROSSES,
        never=inst["k"] == metrics.NEVER_CROSSES,
    ).groupby("class_index")
    idx = pd.RangeIndex(n_classes)
    frame = pd.DataFrame({
        "class_index": np.arange(n_classes),
        "class": [str(c) for c in (result.classes if class_names is None else class_names)],
        "n_train": np.asarray(train_counts, dtype=np.int64),
        "n_test": by_class.size().reindex(idx, fill_value=0).to_numpy(),
        "n_tp": by_class["tp"].sum().reindex(idx, fill_value=0).to_numpy(),
        "D": d,
    })
    frame["recall"] = frame["n_tp"] / frame["n_test"].where(frame["n_test"] > 0)
    frame["group"] = groups(frame["n_train"])
    for column, source in [("required_pct", "pct"), ("required_pct_exclude", "pct_exclude"),
                           ("required_pct_absolute", "pct_absolute")]:
        frame[column] = by_class[source].mean().reindex(idx).to_numpy()
    frame["never_crosses"] = by_class["never"].sum().reindex(idx, fill_value=0).to_numpy()
    frame["never_crosses_exclude"] = by_class["never_exclude"].sum().reindex(idx, fill_value=0).to_numpy()
    frame["bias_only"] = by_class["bias_only"].sum().reindex(idx, fill_value=0).to_numpy()
    frame["union_pct"] = 100.0 * metrics.class_topk_union(result, y, k=k, support=sup) / d
    frame["top_share"] = metrics.top_share(result, y, frac, support=sup)
    frame["top_share_instance"] = metrics.top_share(result, y, frac, per_instance=True, support=sup)
    frame["top_share_absolute"] = metrics.top_share(result, y, frac, absolute=True, support=sup)
    return frame


def profile_table(result: CEResult, y, support: metrics.Supporting | None = None) -> pd.DataFrame:
    """Per class and CE index: mean feature over the class's instances and mean supporting CE over its TPs."""
    sup = support if support is not None else metrics.supporting(result, y)
    n_classes, d = len(result.classes), result.n_terms
    feat_sum, n = metrics._class_sums(sup.cls, result.features, n_classes)
    sup_sum, n_tp = metrics._class_sums(sup.cls[sup.tp], sup.values[sup.tp], n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_f = feat_sum / n[:, None]
        mean_s = sup_sum / n_tp[:, None]
    return pd.DataFrame({
        "class_index": np.repeat(np.arange(n_classes), d),
        "d": np.tile(np.arange(d), n_classes),
        "mean_feature": mean_f.ravel(),
        "mean_supporting": mean_s.ravel(),
    })


def frequency_tables(result: CEResult, y, k: int = 10, bootstrap: int = 0, ci: float = 0.95,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RQ3 on (training) instances: a long freq/mag table and a per-class Spearman table."""
    fm = metrics.frequency_magnitude(result, y, k=k, bootstrap=bootstrap, ci=ci, seed=seed)
    n_classes, d = fm.freq.shape
    long = pd.DataFrame({
        "class_index": np.repeat(np.arange(n_classes), d),
        "d": np.tile(np.arange(d), n_classes),
        "freq": fm.freq.ravel(),
        "mag": fm.mag.ravel(),
        "mag_feature": fm.mag_features.ravel(),
    })
    rho = pd.DataFrame({
        "class_index": np.arange(n_classes),
        "n_train_tp": fm.n_tp,
        "spearman": fm.spearman,
        "ci_low": fm.ci_low,
        "ci_high": fm.ci_high,
    })
    return long, rho


def generalisation(result: CEResult, y) -> dict:
    """Balanced accuracy and macro-F1 of the model on these instances (per-class recall is in class_table)."""
    pred = result.predict()
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=result.classes, zero_division=0)),
        "accuracy": float(np.mean(pred == np.asarray(y))),
    }

"""The tables a run's verdicts compare with, besides its metric tables (methods#nulls,
methods#latent-reading): claim 7's union curves at matched numbers of TPs, the TPs with k = 0,
RQ3's per-feature permutation null, and claim 9's latent reading of the run's own training rows.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..ce import latent, matched, metrics
from ..ce.extraction import CEResult

CURVE_FAMILY = ("head",)  # tabular models judged as networks; every image run has a curve


def nonzero_table(result: CEResult, y, terms: metrics.RequiredTerms | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Per class: TPs with k = 0 (carried by the bias and the opposing terms alone), TPs with
    k >= 1 and their mean k in percent of D (claim 7's instance level); and each instance's k."""
    terms = terms if terms is not None else metrics.required_terms(result, y)["tp"]
    sup = terms.support
    k = metrics.required_ce(result, y, terms=terms)
    n_classes, d = len(result.classes), result.n_terms
    counted = sup.counted
    cls, kc = sup.cls[counted], k[counted]
    nonzero = kc >= 1
    n_k0 = np.bincount(cls[kc == 0], minlength=n_classes)
    n_nz = np.bincount(cls[nonzero], minlength=n_classes)
    total = np.bincount(cls[nonzero], weights=100.0 * kc[nonzero] / d, minlength=n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_nz > 0, total / np.maximum(n_nz, 1), np.nan)
    table = pd.DataFrame({"class_index": np.arange(n_classes), "n_k0": n_k0, "n_tp_nonzero": n_nz,
                          "required_pct_nonzero": mean})
    return table, k


def curve_table(result: CEResult, y, k: np.ndarray, draws: int, replicates: int, seed: int,
                terms: metrics.RequiredTerms | None = None) -> pd.DataFrame:
    """Claim 7's union curve per class over its test TPs with k >= 1 (``matched.union_curve``)."""
    terms = terms if terms is not None else metrics.required_terms(result, y)["tp"]
    sup = terms.support
    sets = metrics.instance_sets(result, y, terms=terms)
    cls, kc = sup.cls[sup.counted], k[sup.counted]
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(len(result.classes)):
        mine = (cls == c) & (kc >= 1)
        for row in matched.union_curve(sets[mine], draws, replicates, rng):
            rows.append({"class_index": c, "n_tp_nonzero": int(mine.sum()), **row})
    columns = ["class_index", "n_tp_nonzero", "m", "union_pct", "null_mean_pct", "null_low_pct", "null_high_pct",
               "null_union_pct", "replicates"]
    return pd.DataFrame(rows, columns=columns)


def spearman_null_table(result: CEResult, y, subsample: int, permutations: int, seed: int) -> pd.DataFrame:
    """RQ3's per-feature permutation null per class, on a seeded subsample of at most ``subsample``
    of its training TPs (``matched.permutation_spearman``)."""
    sup = metrics.supporting(result, y)
    rng = np.random.default_rng(seed)
    offset = sup.gap_include + sup.negative_sum
    rows = []
    for c in range(len(result.classes)):
        mine = np.flatnonzero(sup.counted & (sup.cls == c))
        if len(mine) > subsample:
            mine = np.sort(rng.choice(mine, subsample, replace=False))
        if len(mine) < 2:
            rows.append({"class_index": c, "subsample_n": int(len(mine))})
            continue
        observed, null = matched.permutation_spearman(sup.values_of(mine), offset[mine], permutations, rng)
        finite = null[~np.isnan(null)]
        rows.append({"class_index": c, "subsample_n": int(len(mine)), "subsample_spearman": observed,
                     "perm_null_low": float(finite.min()) if len(finite) else np.nan,
                     "perm_null_high": float(finite.max()) if len(finite) else np.nan,
                     "perm_null_mean": float(finite.mean()) if len(finite) else np.nan})
    return pd.DataFrame(rows, columns=["class_index", "subsample_n", "subsample_spearman", "perm_null_low",
                                       "perm_null_high", "perm_null_mean"])


def latent_tables(counts: Mapping[str, latent.LatentCounts], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Claim 9's latent reading per reading ("table", "pooled", "pre-pool"): per class and feature,
    and per class with its status."""
    features, classes = [], []
    for reading, accumulated in counts.items():
        unit_free = reading == "table"
        table = accumulated.table(unit_free=unit_free)
        features.append(table.assign(reading=reading))
        classes.append(latent.class_table(table, "mu_unit_free" if unit_free else "mu", seed=seed).assign(reading=reading))
    return pd.concat(features, ignore_index=True), pd.concat(classes, ignore_index=True)


def table_reading(X_train: np.ndarray, y_train: np.ndarray, n_classes: int) -> dict[str, latent.LatentCounts]:
    """A table read once per split: its original training rows, columns as given."""
    counts = latent.LatentCounts(n_classes, X_train.shape[1], latent.off_values(X_train))
    counts.add(X_train, y_train)
    return {"table": counts}


def reference_tables(rc: Mapping[str, Any], test: CEResult, y_test, train: CEResult, y_train,
                     latent_counts: Mapping[str, latent.LatentCounts]) -> tuple[dict[str, pd.DataFrame], dict]:
    """Every reference table of a run, by name, and the seconds the permutation null took (reported
    apart from the analysis' own time)."""
    m = rc["metrics"]
    seed = rc.get("seed", rc.get("split", 0))
    terms = metrics.required_terms(test, y_test)["tp"]
    nonzero, k = nonzero_table(test, y_test, terms)
    out = {"nonzero": nonzero}
    if rc["kind"] == "image" or rc["model"] in CURVE_FAMILY:
        out["class_curve"] = curve_table(test, y_test, k, m["union_draws"], m["union_replicates"], seed, terms)
    started = time.perf_counter()
    out["spearman_null"] = spearman_null_table(train, y_train, m["spearman_subsample"], m["spearman_permutations"], seed)
    seconds = round(time.perf_counter() - started, 3)
    out["latent"], out["latent_classes"] = latent_tables(latent_counts, seed)
    return out, {"perm_null_seconds": seconds}

"""Tidy pandas tables of the metrics, as the runs store them and the notebooks plot them."""
from __future__ import annotations

import itertools
from contextlib import nullcontext
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score, f1_score

from . import metrics, nulls
from .extraction import CEResult

# Each seeded computation of a run draws from its own stream of the run's seed (split for tables).
PERMUTATION_STREAM, CURVE_STREAM, LATENT_STREAM = 1, 2, 3
CURVE_COLUMNS = ["class_index", "m", "n_tp_nonzero", "draws", "union_pct", "null_mean_pct", "null_low_pct",
                 "null_high_pct", "replicates", "null_union_pct"]


def groups(train_counts) -> np.ndarray:
    """'majority' for the classes with the largest training count, 'minority' for the rest."""
    counts = np.asarray(train_counts)
    return np.where(counts == counts.max(), "majority", "minority")


def _percent(k: np.ndarray, d: int) -> np.ndarray:
    """k / D in percent for counted instances that cross; NaN for the rest."""
    return np.where(k >= 0, 100.0 * k / d, np.nan)


INSTANCE_COLUMNS = {"k": metrics.DEFAULT, "k_exclude": metrics.Reading(bias="exclude"),
                    "k_absolute": metrics.Reading(ranking="absolute")}


def table_terms(result: CEResult, y, k: int = 10, frac: float = 0.1) -> dict[str, metrics.RequiredTerms]:
    """The required terms of every reading of ``metrics.READINGS`` and of the instance table,
    ranked once: what a run's test tables read."""
    readings = [*metrics.READINGS.values(), *INSTANCE_COLUMNS.values()]
    return metrics.required_terms(result, y, readings, k, frac)


def instance_table(result: CEResult, y, terms: metrics.RequiredTerms | None = None) -> pd.DataFrame:
    """One row per test instance: class, TP flag and required CE under three readings."""
    terms = terms if terms is not None else metrics.required_terms(result, y, INSTANCE_COLUMNS.values())["tp"]
    sup = terms.support
    frame = pd.DataFrame({
        "class_index": sup.cls,
        "tp": sup.tp,
        "bias_only": sup.bias_only,
    })
    for column, reading in INSTANCE_COLUMNS.items():
        frame[column] = metrics.required_ce(result, y, reading, terms=terms)
    return frame


def reading_columns(result: CEResult, y, reading: metrics.Reading = metrics.DEFAULT, k: int = 10,
                    frac: float = 0.1, terms: metrics.RequiredTerms | None = None,
                    computed: dict | None = None) -> dict[str, np.ndarray]:
    """Per class under one reading: counted instances, mean required CE in percent, how many
    never cross, the class-level union in percent and the two top shares (NaN without TPs).

    ``computed``: columns already computed for other readings of the same terms, by what they
    depend on; readings that differ only in what a column does not depend on share it.
    """
    terms = terms if terms is not None else metrics.required_terms(result, y, [reading], k, frac)[reading.instances]
    computed = {} if computed is None else computed
    rule = reading.rule(result.binary)

    def once(key, compute):
        key = (reading.instances, *key)
        if key not in computed:
            computed[key] = compute()
        return computed[key]

    count_key = ("required", rule, reading.at_least_one)
    return {
        **once(count_key, lambda: _required_columns(
            terms.support, metrics.required_ce(result, y, reading, terms=terms), result.n_terms, len(result.classes))),
        "union_pct": once(_union_key(result, reading, k), lambda: 100.0 * metrics.class_topk_union(
            result, y, k, reading, terms) / result.n_terms),
        "top_share": once(("share", reading.share_count),
                          lambda: metrics.top_share(result, y, frac, reading=reading, terms=terms)),
        "top_share_instance": once(("share per instance", reading.share_count),
                                   lambda: metrics.top_share(result, y, frac, per_instance=True, reading=reading,
                                                             terms=terms)),
    }


def _union_key(result: CEResult, reading: metrics.Reading, k: int) -> tuple:
    """What a reading's class-level union depends on: readings with the same key share it."""
    if reading.sets == "top-k":
        return ("union", "top", k)
    return ("union", "required", reading.rule(result.binary), reading.at_least_one)


def _unions(result: CEResult, k: int, terms: dict[str, metrics.RequiredTerms], computed: dict) -> None:
    """The class-level union of every reading of ``metrics.READINGS`` into ``computed``, as
    ``reading_columns`` keys it, each group of counted instances read in one pass."""
    for instances, group in itertools.groupby(sorted(metrics.READINGS.values(), key=lambda r: r.instances),
                                              key=lambda r: r.instances):
        distinct = {_union_key(result, reading, k): reading for reading in group}
        unions = metrics.class_topk_unions(terms[instances], list(distinct.values()), k)
        for key, union in zip(distinct, unions):
            computed[(instances, *key)] = 100.0 * union / result.n_terms


def _required_columns(sup: metrics.Supporting, needed: np.ndarray, d: int, n_classes: int) -> dict[str, np.ndarray]:
    """Per class: counted instances, mean required CE in percent over those that cross, and how
    many never cross."""
    pct = _percent(needed, d)
    crossing = sup.counted & ~np.isnan(pct)
    pct_sum, n_crossing = metrics._class_sums(sup.cls[crossing], pct[crossing, None], n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        required = np.where(n_crossing > 0, pct_sum[:, 0] / np.maximum(n_crossing, 1), np.nan)
    return {"n_counted": np.bincount(sup.cls[sup.counted], minlength=n_classes), "required_pct": required,
            "never_crosses": np.bincount(sup.cls[needed == metrics.NEVER_CROSSES], minlength=n_classes)}


def reading_table(result: CEResult, y, k: int = 10, frac: float = 0.1,
                  terms: dict[str, metrics.RequiredTerms] | None = None) -> pd.DataFrame:
    """``reading_columns`` under every reading of ``metrics.READINGS``, one row per reading and
    class: what the audit's sensitivity table reads, all from the same CE and one ranking of it
    (``terms``, from ``table_terms``)."""
    n_classes = len(result.classes)
    terms = terms if terms is not None else table_terms(result, y, k, frac)
    computed: dict = {}
    _unions(result, k, terms, computed)
    frames = [pd.DataFrame({"reading": name, "class_index": np.arange(n_classes),
                            **reading_columns(result, y, reading, k, frac, terms[reading.instances], computed)})
              for name, reading in metrics.READINGS.items()]
    return pd.concat(frames, ignore_index=True)


def class_table(result: CEResult, y, train_counts, k: int = 10, frac: float = 0.1,
                terms: metrics.RequiredTerms | None = None, instances: pd.DataFrame | None = None,
                class_names=None, readings: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per class: counts, recall and every per-class metric of methods#required-ce to methods#top-share under
    the default reading (taken from ``readings`` when given), with the bias-excluded and |CE|
    variants of the required count, and the count over the TPs that need a term (k >= 1:
    ``n_tp_nonzero``, ``required_pct_nonzero``; ``n_k0`` TPs need none). ``terms``: the TPs'
    terms of ``table_terms``."""
    terms = terms if terms is not None else table_terms(result, y, k, frac)["tp"]
    sup = terms.support
    inst = instances if instances is not None else instance_table(result, y, terms)
    d = result.n_terms
    n_classes = len(result.classes)
    idx = pd.RangeIndex(n_classes)
    by_class = inst.groupby("class_index")
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
    if readings is not None:
        default = readings[readings["reading"] == "default"].set_index("class_index").reindex(idx)
    else:
        default = reading_columns(result, y, metrics.DEFAULT, k, frac, terms)
    for column in ("required_pct", "never_crosses", "union_pct", "top_share", "top_share_instance"):
        frame[column] = np.asarray(default[column])
    for suffix in ("exclude", "absolute"):
        variant = _required_columns(sup, inst[f"k_{suffix}"].to_numpy(), d, n_classes)
        frame[f"required_pct_{suffix}"] = variant["required_pct"]
        frame[f"never_crosses_{suffix}"] = variant["never_crosses"]
    frame["bias_only"] = by_class["bias_only"].sum().reindex(idx, fill_value=0).to_numpy()
    frame["top_share_absolute"] = metrics.top_share(result, y, frac, absolute=True, terms=terms)
    needed = inst["k"].to_numpy()
    tp = inst["tp"].to_numpy()
    frame["n_k0"] = np.bincount(sup.cls[tp & (needed == 0)], minlength=n_classes)
    nonzero = _required_columns(sup, np.where(needed >= 1, needed, metrics.NOT_COUNTED), d, n_classes)
    frame["n_tp_nonzero"] = np.bincount(sup.cls[tp & (needed >= 1)], minlength=n_classes)
    frame["required_pct_nonzero"] = nonzero["required_pct"]
    frame["ceiling_pct"] = ceiling_pct(result)
    return frame


def ceiling_pct(result: CEResult) -> np.ndarray:
    """Per class, the largest share of CE that can support it, in percent (methods#verdicts).

    With non-negative features (RBF kernel values, pooled ReLU features) a term supports a
    class only when its weight has that class's sign: an SVM's class-0 TPs can use at most the
    support vectors with negative dual coefficients. NaN where features take both signs.
    """
    n_classes = len(result.classes)
    if result.features is None or (result.features < 0).any():
        return np.full(n_classes, np.nan)
    w = np.asarray(result.weights)
    if result.binary:
        return 100.0 * np.array([(w < 0).sum(), (w > 0).sum()]) / w.shape[-1]
    return 100.0 * (w > 0).sum(1) / w.shape[-1]


def profile_table(result: CEResult, y, terms: metrics.RequiredTerms | None = None) -> pd.DataFrame:
    """Per class and CE index: mean feature over the class's instances and mean supporting CE
    over its TPs (``terms``: the TPs' terms)."""
    terms = terms if terms is not None else metrics.required_terms(result, y)["tp"]
    if terms.support.instances != "tp":
        raise ValueError("The profile table averages the supporting CE over TPs: pass the TPs' terms.")
    sup = terms.support
    n_classes, d = len(result.classes), result.n_terms
    feat_sum, n = metrics._class_sums(sup.cls, result.features, n_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_f = feat_sum / n[:, None]
        mean_s = terms.class_sums / terms.class_counts[:, None]
    return pd.DataFrame({
        "class_index": np.repeat(np.arange(n_classes), d),
        "d": np.tile(np.arange(d), n_classes),
        "mean_feature": mean_f.ravel(),
        "mean_supporting": mean_s.ravel(),
    })


def permutation_null(terms: metrics.RequiredTerms, subsample: int = 200, permutations: int = 19,
                     seed: int = 0) -> nulls.PermutationNull:
    """RQ3's per-feature permutation null (``nulls.permutation_null``) from the run's seed."""
    return nulls.permutation_null(terms, subsample, permutations, np.random.default_rng([seed, PERMUTATION_STREAM]))


def frequency_tables(result: CEResult, y, k: int = 10, resamples: int = 0, ci: float = 0.95,
                     seed: int = 0, subsample: int = 200, permutations: int = 19,
                     terms: metrics.RequiredTerms | None = None,
                     null: nulls.PermutationNull | None = None,
                     times=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """RQ3 on (training) instances: a long freq/mag table and a per-class Spearman table with
    its half-sampling interval (and why a row has none) and, beside it, the per-feature
    permutation null (``permutation_null``: on a subsample of at most ``subsample`` TPs,
    ``permutations`` permutations; ``null``: computed already, its time being reported apart).
    ``terms``: the TPs' required terms under the default reading, ranked once for both.
    ``times``: a step timer (``times(name)`` is a context manager, as a run's ``StepTimes``); the
    tables are timed as the step "frequency" and the interval as "frequency interval" (its
    subsamples: a cost that grows with D and not, above ``metrics.INTERVAL_GROUPS`` TPs, with
    the class; methods#intervals)."""
    timed = times if times is not None else (lambda name: nullcontext())
    with timed("frequency"):
        terms = terms if terms is not None else metrics.required_terms(result, y, k=k)["tp"]
        fm = metrics.frequency_magnitude(result, y, k=k, seed=seed, terms=terms)
    with timed("frequency interval"):
        low, high, status = metrics.class_intervals(terms, fm.freq, resamples, ci, seed, k=k)
    with timed("frequency"):
        return _frequency_frames(replace(fm, ci_low=low, ci_high=high, ci_status=status),
                                 null if null is not None else permutation_null(terms, subsample, permutations, seed))


def _frequency_frames(fm: metrics.FrequencyMagnitude, null: nulls.PermutationNull) -> tuple[pd.DataFrame, pd.DataFrame]:
    n_classes, d = fm.freq.shape
    long = pd.DataFrame({
        "class_index": np.repeat(np.arange(n_classes), d),
        "d": np.tile(np.arange(d), n_classes),
        "freq": fm.freq.ravel(),
        "mag": fm.mag.ravel(),
        "mag_feature": fm.mag_features.ravel(),
        "mag_in_set": fm.mag_in_set.ravel(),
        "feature_in_set": fm.feature_in_set.ravel(),
    })
    rho = pd.DataFrame({
        "class_index": np.arange(n_classes),
        "n_train_tp": fm.n_tp,
        "spearman": fm.spearman,
        "spearman_in_set": fm.spearman_in_set,
        "spearman_feature_in_set": fm.spearman_feature_in_set,
        "ci_low": fm.ci_low,
        "ci_high": fm.ci_high,
        "ci_status": fm.ci_status.astype(str),
        "subsample_n": null.subsample_n,
        "subsample_spearman": null.subsample_spearman,
        "perm_null_low": null.low,
        "perm_null_high": null.high,
        "perm_null_mean": null.mean,
        "perm_null_permutations": null.permutations,
    })
    return long, rho


def class_curve_table(result: CEResult, y, terms: metrics.RequiredTerms | None = None, draws: int = 20,
                      replicates: int = 40, seed: int = 0) -> pd.DataFrame:
    """Claim 7 at matched TP counts (``nulls.class_curve``), one row per class and m, over the
    test TPs that need a term; ``terms``: the TPs' terms of ``table_terms``."""
    terms = terms if terms is not None else metrics.required_terms(result, y)["tp"]
    rows = nulls.class_curve(terms, draws, replicates, np.random.default_rng([seed, CURVE_STREAM]))
    return pd.DataFrame(rows, columns=CURVE_COLUMNS)


def generalisation(result: CEResult, y) -> dict:
    """Balanced accuracy and macro-F1 of the model on these instances (per-class recall is in class_table)."""
    pred = result.predict()
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=result.classes, zero_division=0)),
        "accuracy": float(np.mean(pred == np.asarray(y))),
    }

"""The calibration chapter: what each metric gives on planted data against what was planted
(``data.planted``), and the claims' rules on each planted data set alone."""
from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import pandas as pd

from ..data.planted import settings
from ..datasets import dataset_spec
from ..pipeline.study import Study
from . import audit
from .plots import legend_below

FEATURE_MODELS = ("lg", "head")  # CE per input feature; the SVM's D counts support vectors


def planted_of(study: Study) -> dict:
    entry = dataset_spec(study.dataset).entry
    return {"generator": entry["planted"], **settings(entry)}


def required_against_planted(study: Study) -> pd.DataFrame:
    """RQ1 per model, method and class: the measured CE per TP (% of D, mean over splits), the
    planted share s/D where signal is sparse, and the share of TPs within it (k <= s)."""
    planted = planted_of(study)
    sparse = planted["generator"] == "sparse"
    tp = study.instances[study.instances["tp"]]
    rows = []
    for (model, method, c), cell in study.classes.groupby(["model", "method", "class_index"], sort=False):
        ks = tp[(tp["model"] == model) & (tp["method"] == method) & (tp["class_index"] == c)]["k"]
        features = model in FEATURE_MODELS
        rows.append({
            "model": model, "method": method, "class": int(c), "group": cell["group"].iloc[0],
            "measured % of D": round(float(cell["required_pct"].mean()), 1),
            "planted s/D %": round(100 * planted["signal"] / planted["d"], 1) if sparse and features else None,
            "TPs with k <= s %": round(100 * float((ks.between(0, planted["signal"])).mean()), 1)
            if sparse and features and len(ks) else None,
            "recall": round(float(cell["recall"].mean()), 2),
        })
    return pd.DataFrame(rows)


def spearman_against_null(study: Study) -> pd.DataFrame:
    """RQ3 per model, method and class: the Spearman of frequency and magnitude (mean over
    splits), the null's 95% range, in how many splits it lies above the null, and the Spearman
    of frequency against the magnitude where used (the mean over the TPs whose set holds d)."""
    rho = study.spearman.assign(above=lambda f: f["spearman"] > f["null_high"])
    table = rho.groupby(["model", "method", "class_index"], sort=False).agg(
        spearman=("spearman", "mean"), null_low=("null_low", "mean"), null_high=("null_high", "mean"),
        above=("above", "sum"), splits=("above", "size"),
        **{"where used": ("spearman_in_set", "mean"),
           "feature where used": ("spearman_feature_in_set", "mean")}).reset_index()
    table["above the null"] = table["above"].astype(int).astype(str) + " of " + table["splits"].astype(str)
    return table.drop(columns=["above", "splits"]).rename(columns={"class_index": "class"}).round(2)


def summary(studies: Mapping[str, Study]) -> pd.DataFrame:
    """One row per planted data set: what was planted and, per feature model (LG and the head),
    the mean CE per TP and the mean Spearman with the share of class cells above the null."""
    rows = []
    for name, study in studies.items():
        planted = planted_of(study)
        required = required_against_planted(study)
        rho = spearman_against_null(study)
        row = {"data set": name, "generator": planted["generator"], "ratio": f"{planted['ratio']:g}:1",
               "D": planted["d"], "signal": planted["signal"] if planted["generator"] in ("sparse",) else planted["d"]
               if planted["generator"] == "dense" else None}
        for model in ("lg", "head", "svm"):
            mine = required[required["model"] == model]
            theirs = rho[rho["model"] == model]
            row[f"{model} CE per TP %"] = round(float(mine["measured % of D"].mean()), 1)
            row[f"{model} Spearman"] = round(float(theirs["spearman"].mean()), 2)
            row[f"{model} where used"] = round(float(theirs["where used"].mean()), 2)
            row[f"{model} feature where used"] = round(float(theirs["feature where used"].mean()), 2)
        rows.append(row)
    return pd.DataFrame(rows)


def verdicts_by_data_set(studies: Mapping[str, Study]) -> pd.DataFrame:
    """Each claim's rule on each planted data set alone (never in the book's audit)."""
    table = {}
    for name, study in studies.items():
        table[name] = {f"{v.number}. {audit.SHORT_TITLES.get(v.number, v.claim)}": f"{v.verdict} ({v.short})"
                       for v in audit.audit({name: study}, repeats=False)}
    return pd.DataFrame(table).rename_axis("claim").reset_index()


def required_figure(studies: Mapping[str, Study]):
    """Bars of the CE per TP of LG and the head on each planted data set, with the planted s/D
    of the sparse sets as a dashed line."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    names = list(studies)
    shares = {planted_of(s)["signal"] / planted_of(s)["d"] for s in studies.values() if planted_of(s)["generator"] == "sparse"}
    for offset, model, label in ((-0.2, "lg", "LG"), (0.2, "head", "head (CNN family)")):
        values = []
        for name in names:
            table = required_against_planted(studies[name])
            values.append(table.loc[table["model"] == model, "measured % of D"].mean())
        ax.bar([i + offset for i in range(len(names))], values, width=0.38, label=label)
    for share in sorted(shares):
        ax.axhline(100 * share, color="black", linestyle="--", linewidth=1,
                   label=f"planted s/D of the sparse sets ({100 * share:.0f}%)")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel("CE per TP (% of D)")
    legend_below(fig)
    return fig

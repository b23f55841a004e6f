"""RQ4: do the remedies that act on the decision change how few CE carry a prediction, and does
concentration go with worse minority recall?

Every table reads the per-class table of the runs (``Study.classes``); methods are labelled by
their family (``methods.py``): baseline, oversampling, intervention.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from typing import Mapping

from scipy.stats import spearmanr

from .. import methods
from ..pipeline.study import Study
from .health import health_table

CONCENTRATION = {"required_pct": "CE needed per TP (% of D)", "top_share": "share of the top 10% of CE"}
RUN = ["model", "method", "repeat"]


def _family_order(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(family=frame["method"].map(methods.family))
    rank = {f: i for i, f in enumerate(methods.FAMILIES)}
    return frame.sort_values(["model", "family"], key=lambda s: s.map(rank) if s.name == "family" else s,
                             kind="stable").reset_index(drop=True)


def group_table(study: Study) -> pd.DataFrame:
    """Per model, method and class group: CE needed per TP, top-10% share and recall, the mean
    over the group's classes, then mean and sd over seeds or splits."""
    per_run = study.classes.groupby(RUN + ["group"], observed=True, sort=False)[
        ["required_pct", "top_share", "recall"]].mean().reset_index()
    out = per_run.groupby(["model", "method", "group"], observed=True, sort=False).agg(
        required_pct=("required_pct", "mean"), required_pct_sd=("required_pct", "std"),
        top_share=("top_share", "mean"), top_share_sd=("top_share", "std"),
        recall=("recall", "mean"), recall_sd=("recall", "std"), runs=("repeat", "nunique")).reset_index()
    return _family_order(out)


def against_base(study: Study) -> pd.DataFrame:
    """Each method's change from base in the minority group, per model."""
    table = group_table(study)
    minority = table[table["group"] == "minority"]
    base = minority[minority["method"] == "base"].set_index("model")
    out = minority[minority["method"] != "base"].copy()
    columns = ["required_pct", "top_share", "recall"]
    for column in columns:
        # as floats: with base alone there are no rows, and an empty map keeps the models' string type
        out[f"{column}_change"] = out[column] - out["model"].map(base[column]).astype(float)
    return out[["model", "method", "family", *(f"{c}_change" for c in columns)]].reset_index(drop=True)


def minority_points(study: Study, health: pd.DataFrame | None = None) -> pd.DataFrame:
    """One point per model, method and seed or split: the minority classes' mean recall and
    concentration (both readings), and whether the run learned (``healthy``)."""
    minority = study.classes[study.classes["group"] == "minority"]
    points = minority.groupby(RUN, observed=True, sort=False)[["recall", *CONCENTRATION]].mean().reset_index()
    table = health if health is not None else health_table(study)
    marks = table.rename(columns={"seed": "repeat"})[RUN + ["healthy"]] if len(table) else None
    points = points.merge(marks, on=RUN, how="left") if marks is not None else points.assign(healthy=np.nan)
    points["healthy"] = points["healthy"].astype("boolean").fillna(False).astype(bool)
    return _family_order(points.rename(columns={"recall": "minority_recall"}))


MIN_HEALTHY = 4  # healthy runs a split needs for its correlation to count (methods#rq4)
MIN_SPLITS = 3  # splits with that many that a trend needs
# What each family's trend reads (methods#rq4); ``wording``-free codes the page words.
TREND, NO_TREND, TOO_FEW = "trend", "no consistent sign", "too few healthy runs"


def split_correlations(points: pd.DataFrame, concentration: str) -> pd.DataFrame:
    """Spearman's rho of minority recall against ``concentration`` per split (seed for images),
    over the methods' points of that split: on healthy runs (``rho``, ``n``) and on every run
    (``rho_all``, ``n_all``). The points of one split share a test set, so splits are kept apart."""
    rows = []
    for repeat, part in points.groupby("repeat", sort=True):
        healthy = part[part["healthy"]]
        rows.append({"repeat": repeat, "n": len(healthy), "rho": _rho(healthy, concentration),
                     "n_all": len(part), "rho_all": _rho(part, concentration)})
    return pd.DataFrame(rows, columns=["repeat", "n", "rho", "n_all", "rho_all"])


def _rho(points: pd.DataFrame, concentration: str) -> float:
    both = points[["minority_recall", concentration]].dropna().to_numpy()
    if len(both) < 3 or np.ptp(both[:, 0]) == 0 or np.ptp(both[:, 1]) == 0:
        return np.nan
    return float(spearmanr(both[:, 0], both[:, 1]).statistic)


def trend(splits: pd.DataFrame) -> dict:
    """A family's trend from its per-split correlations (methods#rq4): stated only when every split
    with at least ``MIN_HEALTHY`` healthy runs has the same sign, and there are at least
    ``MIN_SPLITS`` such splits; flagged as driven by runs that did not learn when the all-runs mean
    and the healthy mean differ in sign, or the all-runs splits agree in sign and the healthy ones
    do not."""
    counted = splits[(splits["n"] >= MIN_HEALTHY) & splits["rho"].notna()]
    mean, mean_all = float(counted["rho"].mean()) if len(counted) else np.nan, float(splits["rho_all"].mean())
    signs = set(np.sign(counted["rho"]))
    all_signs = set(np.sign(splits["rho_all"].dropna()))
    status = TOO_FEW if len(counted) < MIN_SPLITS else TREND if len(signs) == 1 and 0 not in signs else NO_TREND
    # "the healthy ones do not [agree]": counted splits of two signs (or a zero). Too few healthy
    # splits that agree are not a disagreement; the reading already says there are too few.
    cluster = bool((not np.isnan(mean) and not np.isnan(mean_all) and np.sign(mean) != np.sign(mean_all))
                   or (len(all_signs) == 1 and 0 not in all_signs and len(splits["rho_all"].dropna()) >= MIN_SPLITS
                       and (len(signs) > 1 or 0 in signs)))
    return {"status": status, "splits": len(counted), "mean": mean, "mean_all": mean_all, "cluster_driven": cluster,
            "sign": int(next(iter(signs))) if status == TREND else 0}


def model_family(study: Study, model: str) -> str:
    return "cnn" if study.kind == "image" else model


def correlation_table(study: Study, health: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model family (LG, SVM, CNN: never pooled, two clusters make a trend) and concentration
    reading: each split's correlation on healthy runs and on all runs, their means, and the trend
    the rule reads (methods#rq4)."""
    points = minority_points(study, health)
    rows = []
    for model, part in points.groupby("model", sort=False):
        for c in CONCENTRATION:
            splits = split_correlations(part, c)
            rows.append({"family": model_family(study, model), "concentration": c, **trend(splits),
                         "per_split": [None if np.isnan(r) else round(r, 3) for r in splits["rho"]],
                         "per_split_all": [None if np.isnan(r) else round(r, 3) for r in splits["rho_all"]],
                         "healthy_runs": [int(n) for n in splits["n"]]})
    return pd.DataFrame(rows)


# What a larger value of each reading means: the top share grows with concentration, the CE
# needed per TP shrinks with it. The sentence names the reading, so its direction cannot flip.
LARGER_MEANS = {"required_pct": "more CE per TP (less concentration)",
                "top_share": "a larger top-10% share (more concentration)"}


def correlation_reading(r: Mapping) -> str:
    """The trend in words."""
    if r["status"] == TOO_FEW:
        reading = (f"too few healthy runs to tell (fewer than {MIN_SPLITS} splits with {MIN_HEALTHY} or more "
                   f"healthy runs)")
    elif r["status"] == NO_TREND:
        reading = "cannot tell: the splits disagree in sign"
    else:
        reading = f"{LARGER_MEANS[r['concentration']]} goes with {'higher' if r['sign'] > 0 else 'lower'} minority recall"
    if r["cluster_driven"]:
        reading += "; the all-runs figure is carried by runs that did not learn, not a finding"
    return reading


def _span(values: pd.Series, fmt: str) -> str:
    low, high = values.min(), values.max()
    return fmt.format(low) if np.isclose(low, high) else f"{fmt.format(low)} to {fmt.format(high)}"


def _value(v) -> str:
    """A correlation, or n/a where a split or family had too few runs for one."""
    return "n/a" if v is None or pd.isna(v) else f"{v:.2f}"


def summary(study: Study, health: pd.DataFrame | None = None) -> str:
    """The page's findings in a few Markdown bullets: each family's change from base in the
    minority classes, and the recall-concentration trend per family (healthy runs, per split)."""
    shift = against_base(study)
    lines = [f"- **{name}** ({', '.join(dict.fromkeys(part['method']))}): minority CE per TP "
             f"{_span(part['required_pct_change'], '{:+.1f}')} pp of D, top-10% share "
             f"{_span(part['top_share_change'], '{:+.3f}')}, minority recall {_span(part['recall_change'], '{:+.3f}')} "
             "against base." for name, part in shift.groupby("family", sort=False)]
    table = correlation_table(study, health)
    for r in table[table["concentration"] == "top_share"].to_dict("records"):
        per = ", ".join(_value(v) for v in r["per_split"])
        lines.append(f"- {r['family'].upper()}, minority recall against the top-10% share, Spearman per split on "
                     f"healthy runs: {per} (mean {_value(r['mean'])}; all runs: {_value(r['mean_all'])}): "
                     f"{correlation_reading(r)}.")
    return "\n".join(lines)

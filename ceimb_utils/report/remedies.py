"""RQ4: do the remedies that act on the decision change how few CE carry a prediction, and does
concentration go with worse minority recall?

Every table reads the per-class table of the runs (``Study.classes``); methods are labelled by
their family (``methods.py``): baseline, oversampling, intervention.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from typing import Mapping

from scipy.stats import norm, spearmanr

from .. import methods
from ..pipeline.study import Study

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


def minority_points(study: Study) -> pd.DataFrame:
    """One point per model, method and seed or split: the minority classes' mean recall and
    concentration (both readings)."""
    minority = study.classes[study.classes["group"] == "minority"]
    points = minority.groupby(RUN, observed=True, sort=False)[["recall", *CONCENTRATION]].mean().reset_index()
    return _family_order(points.rename(columns={"recall": "minority_recall"}))


MIN_POINTS = 8  # fewer models than this in a family: "cannot tell"


def recall_vs_concentration(points: pd.DataFrame, concentration: str = "top_share", ci: float = 0.95) -> dict:
    """Spearman's rho between minority recall and ``concentration`` over the points (models of
    one family), with the Fisher-z interval of Bonett and Wright (2000): no resampling, so no
    duplicated model shifts it, and it always holds its estimate. NaN with fewer than 3 points
    or no spread; ``enough`` is False below ``MIN_POINTS``."""
    both = points[["minority_recall", concentration]].dropna().to_numpy()
    out = {"concentration": concentration, "n": int(len(both)), "rho": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "enough": len(both) >= MIN_POINTS}
    if len(both) < 4 or np.ptp(both[:, 0]) == 0 or np.ptp(both[:, 1]) == 0:
        return out
    rho = float(spearmanr(both[:, 0], both[:, 1]).statistic)
    out["rho"] = rho
    if abs(rho) < 1:
        se = np.sqrt((1 + rho**2 / 2) / (len(both) - 3))
        z = float(norm.ppf((1 + ci) / 2))
        out["ci_low"], out["ci_high"] = float(np.tanh(np.arctanh(rho) - z * se)), float(np.tanh(np.arctanh(rho) + z * se))
    return out


def model_family(study: Study, model: str) -> str:
    return "cnn" if study.kind == "image" else model


def correlation_table(study: Study) -> pd.DataFrame:
    """Per model family (LG, SVM, CNN: never pooled, two clusters make a trend) and
    concentration reading, the recall-concentration correlation and what it says."""
    points = minority_points(study)
    ci = study.config["metrics"]["ci"]
    rows = []
    for model, part in points.groupby("model", sort=False):
        for c in CONCENTRATION:
            r = recall_vs_concentration(part, c, ci)
            rows.append({"family": model_family(study, model), **r, "reading": correlation_verdict(r)})
    return pd.DataFrame(rows)


# What a larger value of each reading means: the top share grows with concentration, the CE
# needed per TP shrinks with it. The verdict names the reading, so its direction cannot flip.
LARGER_MEANS = {"required_pct": "more CE per TP (less concentration)",
                "top_share": "a larger top-10% share (more concentration)"}


def correlation_verdict(r: Mapping) -> str:
    if not r["enough"] or np.isnan(r["ci_low"]):
        return f"cannot tell (fewer than {MIN_POINTS} models)" if not r["enough"] else "cannot tell"
    larger = LARGER_MEANS[r["concentration"]]
    if r["ci_low"] > 0:
        return f"{larger} goes with higher minority recall"
    if r["ci_high"] < 0:
        return f"{larger} goes with lower minority recall"
    return "cannot tell (the interval spans 0)"


def _span(values: pd.Series, fmt: str) -> str:
    low, high = values.min(), values.max()
    return fmt.format(low) if np.isclose(low, high) else f"{fmt.format(low)} to {fmt.format(high)}"


def summary(study: Study) -> str:
    """The page's findings in a few Markdown bullets: each family's change from base in the
    minority classes, and the recall-concentration correlation."""
    shift = against_base(study)
    lines = [f"- **{name}** ({', '.join(dict.fromkeys(part['method']))}): minority CE per TP "
             f"{_span(part['required_pct_change'], '{:+.1f}')} pp of D, top-10% share "
             f"{_span(part['top_share_change'], '{:+.3f}')}, minority recall {_span(part['recall_change'], '{:+.3f}')} "
             "against base." for name, part in shift.groupby("family", sort=False)]
    table = correlation_table(study)
    for r in table[table["concentration"] == "top_share"].to_dict("records"):
        interval = f" [{r['ci_low']:.2f}, {r['ci_high']:.2f}]" if not np.isnan(r["ci_low"]) else ""
        lines.append(f"- {r['family'].upper()}, across {r['n']} models, minority recall against the top-10% share: "
                     f"Spearman {r['rho']:.2f}{interval}: {r['reading']}.")
    return "\n".join(lines)

"""RQ4: do the remedies that act on the decision change how few CE carry a prediction, and does
concentration go with worse minority recall?

Every table reads the per-class table of the runs (``Study.classes``); methods are labelled by
their family (``methods.py``): baseline, oversampling, intervention.
"""
from __future__ import annotations

import functools
from typing import Mapping

import numpy as np
import pandas as pd

from scipy.stats import spearmanr

from .. import methods
from ..pipeline.study import Study
from .audit import MAX_FALSE_POSITIVES
from .health import health_table
from .wording import span

# Both in percent, as every other page gives them: the top-10% share of study.classes is a fraction.
CONCENTRATION = {"required_pct": "CE needed per TP (% of D)", "top_share_pct": "share of the top 10% of CE (%)"}
RUN = ["model", "method", "repeat"]


def _family_order(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.assign(family=frame["method"].map(methods.family))
    rank = {f: i for i, f in enumerate(methods.FAMILIES)}
    return frame.sort_values(["model", "family"], key=lambda s: s.map(rank) if s.name == "family" else s,
                             kind="stable").reset_index(drop=True)


def _in_percent(classes: pd.DataFrame) -> pd.DataFrame:
    return classes.assign(top_share_pct=100 * classes["top_share"])


def group_table(study: Study) -> pd.DataFrame:
    """Per model, method and class group: CE needed per TP, top-10% share (both in percent) and
    recall, the mean over the group's classes, then mean and sd over seeds or splits."""
    per_run = _in_percent(study.classes).groupby(RUN + ["group"], observed=True, sort=False)[
        ["required_pct", "top_share_pct", "recall"]].mean().reset_index()
    out = per_run.groupby(["model", "method", "group"], observed=True, sort=False).agg(
        required_pct=("required_pct", "mean"), required_pct_sd=("required_pct", "std"),
        top_share_pct=("top_share_pct", "mean"), top_share_pct_sd=("top_share_pct", "std"),
        recall=("recall", "mean"), recall_sd=("recall", "std"), runs=("repeat", "nunique")).reset_index()
    return _family_order(out)


def against_base(study: Study, health: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each method's change from base in the minority group, per model: the method's minority
    mean (CE per TP and top-10% share in percentage points, recall) less base's on the same seed
    or split, averaged over the pairs in which both runs learned (methods#health: a paired
    comparison enters only then); ``pairs`` counts them, and a method without one has no change."""
    points = minority_points(study, health)
    columns = [*CONCENTRATION, "minority_recall"]
    base = points[points["method"] == "base"][["model", "repeat", "healthy", *columns]]
    pairs = points[points["method"] != "base"].merge(base, on=["model", "repeat"], suffixes=("", "_base"))
    learned = pairs[pairs["healthy"] & pairs["healthy_base"]]
    for column in columns:
        learned = learned.assign(**{f"{column}_change": learned[column] - learned[f"{column}_base"]})
    changes = [f"{c}_change" for c in columns]
    out = learned.groupby(["model", "method"], sort=False)[changes].mean()
    out["pairs"] = learned.groupby(["model", "method"], sort=False).size()
    rows = pairs[["model", "method", "family"]].drop_duplicates()
    out = rows.merge(out.reset_index(), on=["model", "method"], how="left")
    out["pairs"] = out["pairs"].fillna(0).astype(int)
    return out.rename(columns={"minority_recall_change": "recall_change"}).reset_index(drop=True)


def minority_points(study: Study, health: pd.DataFrame | None = None) -> pd.DataFrame:
    """One point per model, method and seed or split: the minority classes' mean recall and
    concentration (both readings), and whether the run learned (``healthy``)."""
    minority = _in_percent(study.classes[study.classes["group"] == "minority"])
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


PLANTED_RHO = 0.6  # the relation planted to measure the trend rule's power: a Gaussian copula's correlation
RATE_DRAWS = 500


@functools.lru_cache(maxsize=64)
def trend_rates(runs_per_split: tuple[int, ...], draws: int = RATE_DRAWS, seed: int = 0) -> tuple[float, float]:
    """How often ``trend`` reads a trend on splits of these healthy-run counts: with nothing
    planted (recall independent of concentration: its false-positive rate) and with a planted
    monotone relation (normal scores of correlation ``PLANTED_RHO``: its power). Simulated with
    ``draws`` seeded draws each, through ``trend`` itself."""
    rng = np.random.default_rng(seed)
    rates = []
    for planted in (0.0, PLANTED_RHO):
        hits = 0
        for _ in range(draws):
            rows = []
            for n in runs_per_split:
                x = rng.standard_normal(n)
                y = planted * x + np.sqrt(1 - planted ** 2) * rng.standard_normal(n)
                rho = float(spearmanr(x, y).statistic) if n >= 3 else np.nan
                rows.append({"n": n, "rho": rho, "rho_all": rho})
            hits += trend(pd.DataFrame(rows))["status"] == TREND
        rates.append(hits / draws)
    return rates[0], rates[1]


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
                "top_share_pct": "a larger top-10% share (more concentration)"}


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


def _rates_note(r: Mapping) -> str:
    """Beside a stated trend, how often the rule reads one on splits like these with nothing
    planted, and with a planted relation: a sign shared by three splits happens by chance."""
    if r["status"] != TREND:
        return ""
    runs = tuple(int(n) for n in r["healthy_runs"] if n >= MIN_HEALTHY)
    false_positive, power = trend_rates(runs)
    above = (f": above the {MAX_FALSE_POSITIVES:.0%} the claims' rules are held to, so a description, not a "
             "finding") if false_positive > MAX_FALSE_POSITIVES else ""
    return (f" (on {len(runs)} splits of {span(pd.Series(runs), '{:.0f}')} healthy runs, the rule reads a trend in "
            f"{100 * false_positive:.1f}% of draws with nothing planted and in {100 * power:.1f}% with a planted "
            f"rank relation of about {PLANTED_RHO}; simulated, {RATE_DRAWS} draws each{above})")


def _value(v) -> str:
    """A correlation, or n/a where a split or family had too few runs for one."""
    return "n/a" if v is None or pd.isna(v) else f"{v:.2f}"


def summary(study: Study, health: pd.DataFrame | None = None) -> str:
    """The page's findings in a few Markdown bullets: each family's change from base in the
    minority classes, and the recall-concentration trend per family (healthy runs, per split)."""
    shift = against_base(study, health)
    # a method named with its model where the page has more than one model
    shift["run"] = (shift["model"] + " " + shift["method"]) if shift["model"].nunique() > 1 else shift["method"]
    lines = []
    for name, part in shift.groupby("family", sort=False):
        paired, unpaired = part[part["pairs"] > 0], part[part["pairs"] == 0]
        line = f"- **{name}**: "
        if len(paired):
            line += (f"{', '.join(dict.fromkeys(paired['run']))}: minority CE per TP "
                     f"{span(paired['required_pct_change'], '{:+.1f}')} pp of D, top-10% share "
                     f"{span(paired['top_share_pct_change'], '{:+.1f}')} pp, minority recall "
                     f"{span(paired['recall_change'], '{:+.3f}')} against base, over "
                     f"{span(paired['pairs'], '{:.0f}')} pair{'s' * bool(paired['pairs'].max() > 1)} of runs that "
                     f"learned{' each' if len(paired) > 1 else ''} (the same seed or split)")
        if len(unpaired):
            line += ("; " if len(paired) else "") + (
                f"{', '.join(dict.fromkeys(unpaired['run']))}: no pair with base in "
                "which both runs learned, so no change is given")
        lines.append(line + ".")
    table = correlation_table(study, health)
    for r in table[table["concentration"] == "top_share_pct"].to_dict("records"):
        per = ", ".join(_value(v) for v in r["per_split"])
        lines.append(f"- {r['family'].upper()}, minority recall against the top-10% share, Spearman per split on "
                     f"healthy runs: {per} (mean {_value(r['mean'])}; all runs: {_value(r['mean_all'])}): "
                     f"{correlation_reading(r)}{_rates_note(r)}.")
    return "\n".join(lines)

"""The claims audit: every quantitative claim of the paper, measured, with a computed verdict.

Each claim is a function of the joined result tables of the studies at hand and a *reading*
(which column stands for required CE and which for the top-10% share). Verdicts come from the
rules below, never typed in; a claim whose data is absent says so.

Rules (stated on the audit page as well):

- A claim about a share of cells (a cell is one data set x model x method x class or group,
  averaged over seeds or splits) **holds** when at least 90% of the cells satisfy it, **partly**
  holds from 50%, and otherwise **does not hold**.
- "About x" means within 10 percentage points of x (within a factor 1.2 for the LG range).
- "Does not meaningfully change" means within 3 percentage points of the base model.
- A claim with two parts holds when both do, partly when one does.
- A class without a true positive has no value; the cells it would fill are left out and
  counted, and a comparison of two methods uses only the classes both got right at least once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from . import metrics
from .study import Study

HOLDS, PARTLY, FAILS, UNTESTABLE = "holds", "partly", "does not hold", "not testable here"
MOSTLY, SOME = 0.9, 0.5
ABOUT_PP = 10.0
MEANINGFUL_PP = 3.0
READING_COLUMNS = ("n_counted", "required_pct", "never_crosses", "union_pct", "top_share", "top_share_instance")
# Every reading of the metrics (``metrics.READINGS``, stored per run in the ``readings`` table),
# and the per-instance share, which is a choice of column rather than of metric.
READINGS = {name: {"metrics": name, "required": "required_pct", "share": "top_share"} for name in metrics.READINGS}
READINGS["per-instance share"] = {"metrics": "default", "required": "required_pct", "share": "top_share_instance"}


@dataclass
class Verdict:
    number: int
    claim: str
    paper: str
    ours: str
    verdict: str
    reason: str
    links: list[str] = field(default_factory=list)  # (question, dataset) pages it rests on


def share_verdict(fraction: float) -> str:
    if np.isnan(fraction):
        return UNTESTABLE
    return HOLDS if fraction >= MOSTLY else PARTLY if fraction >= SOME else FAILS


def combine(*verdicts: str) -> str:
    tested = [v for v in verdicts if v != UNTESTABLE]
    if not tested:
        return UNTESTABLE
    if all(v == HOLDS for v in tested):
        return HOLDS
    if all(v == FAILS for v in tested):
        return FAILS
    return PARTLY


# ---------------------------------------------------------------- tables
def family_of(study: Study, model: str) -> str:
    return "cnn" if study.kind == "image" else model


def joined(studies: Mapping[str, Study], reading: str = "default") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class and Spearman tables of every study, with a ``family`` column (cnn, lg, svm);
    the per-class figures are those of ``reading`` (a key of ``READINGS``)."""
    classes, rho, readings = [], [], []
    for study in studies.values():
        fam = {m: family_of(study, m) for m in study.models}
        classes.append(study.classes.assign(family=study.classes["model"].map(fam)))
        rho.append(study.spearman.assign(family=study.spearman["model"].map(fam)))
        readings.append(study.readings)
    if not classes:
        empty = pd.DataFrame(columns=["dataset", "family", "model", "method", "repeat", "class_index", "group"])
        return empty, empty
    classes = under_reading(pd.concat(classes, ignore_index=True), pd.concat(readings, ignore_index=True), reading)
    return classes, pd.concat(rho, ignore_index=True)


def under_reading(classes: pd.DataFrame, readings: pd.DataFrame, reading: str) -> pd.DataFrame:
    """``classes`` with its per-class figures replaced by those of ``reading``."""
    name = READINGS[reading]["metrics"]
    if name == "default":
        return classes
    keys = ["dataset", "model", "method", "repeat", "class_index"]
    chosen = readings.loc[readings["reading"] == name, keys + [c for c in READING_COLUMNS if c in readings]]
    return classes.drop(columns=[c for c in READING_COLUMNS if c in classes]).merge(chosen, on=keys, how="left")


CELL = ("dataset", "model", "method", "class_index", "group")


def cells(frame: pd.DataFrame, value: str, by=CELL) -> pd.DataFrame:
    """Mean and spread over repeats of ``value`` per cell; cells without a value (a class with
    no true positive has no required CE) are left out."""
    by = list(by)
    per = frame.groupby(by + ["repeat"], observed=True)[value].mean().reset_index()
    out = per.groupby(by, observed=True)[value].agg(["mean", "std"]).reset_index()
    return out.rename(columns={"mean": value, "std": f"{value}_sd"}).dropna(subset=[value])


def left_out(frame: pd.DataFrame, value: str) -> str:
    """'; N class cells without a true positive left out' (or nothing) for a verdict's reason."""
    if frame.empty:
        return ""
    per = frame.groupby(list(CELL), observed=True)[value].mean()
    n = int(per.isna().sum())
    return f"; {n} class cell{'s' * (n != 1)} without a true positive left out" if n else ""


def paired(frame: pd.DataFrame, value: str, keys=("dataset", "model", "class_index", "group")) -> tuple[pd.DataFrame, int]:
    """Base and every other method side by side on the classes both have a value for.

    Returns the long table of (keys, method, value, base value) and how many class cells were
    left out because one side had no true positive."""
    keys = list(keys)
    c = cells(frame, value, keys + ["method"])
    wide = c.pivot_table(index=keys, columns="method", values=value, observed=True, dropna=False)
    rows, dropped = [], 0
    for method in [m for m in dict.fromkeys(frame["method"]) if m != "base"]:
        if "base" not in wide or method not in wide:
            continue
        pair = wide[["base", method]]
        both = pair.dropna()
        dropped += int(pair.notna().any(axis=1).sum() - len(both))
        rows.append(both.rename(columns={method: value, "base": "base_value"}).reset_index().assign(method=method))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=keys + ["method", value, "base_value"])
    return out, dropped


def per_dataset(frame: pd.DataFrame, value: str, fmt: str = "{:.1f}%", scale: float = 1.0) -> str:
    """'dataset: mean ± sd' over repeats of the data set's average, for the 'ours' column."""
    if frame.empty:
        return "no data"
    parts = []
    for ds, part in frame.groupby("dataset", sort=False):
        per_repeat = part.groupby("repeat")[value].mean() * scale
        sd = per_repeat.std() if len(per_repeat) > 1 else 0.0
        parts.append(f"{ds}: {fmt.format(per_repeat.mean())} ± {fmt.format(sd).rstrip('%')}")
    return "; ".join(parts)


def _links(frame: pd.DataFrame, question: str) -> list[str]:
    return [(question, ds) for ds in dict.fromkeys(frame["dataset"])] if not frame.empty else []


# ---------------------------------------------------------------- the claims
def claim_cnn_few_ce(classes, rho, reading) -> Verdict:
    col = reading["required"]
    cnn = classes[classes["family"] == "cnn"]
    c = cells(cnn, col) if not cnn.empty else cnn
    frac = (c[col] <= 12.0).mean() if len(c) else np.nan
    worst = c.sort_values(col).tail(1) if len(c) else c
    reason = (f"{(c[col] <= 12.0).sum()} of {len(c)} class x method cells need 12% of CE or fewer"
              + (f"; the largest is {worst[col].iloc[0]:.1f}% (class {int(worst['class_index'].iloc[0])}, "
                 f"{worst['method'].iloc[0]}, {worst['dataset'].iloc[0]})" if len(c) else "") + left_out(cnn, col)
              if len(c) else "no image data set in this profile")
    return Verdict(1, "CNN: about 12% or fewer of CE carry a TP prediction, majority and minority classes alike",
                   "≤ 12% for every class but CIFAR-10 'cat'", per_dataset(cnn, col), share_verdict(frac), reason,
                   _links(cnn, "rq1"))


def claim_image_oversampling_no_change(classes, rho, reading) -> Verdict:
    col = reading["required"]
    cnn = classes[classes["family"] == "cnn"]
    if cnn.empty or "base" not in set(cnn["method"]) or cnn["method"].nunique() < 2:
        return Verdict(2, "Image over-sampling (ReMix, EOS, DSM) does not meaningfully change that percentage",
                       "no meaningful change", "no data", UNTESTABLE,
                       "needs an image data set with the base model and at least one over-sampling method")
    pairs, dropped = paired(cnn, col)
    other = pairs.groupby(["dataset", "method", "group"], observed=True, sort=False)[[col, "base_value"]].mean().reset_index()
    other["shift"] = other[col] - other["base_value"]
    frac = (other["shift"].abs() <= MEANINGFUL_PP).mean() if len(other) else np.nan
    ours = "; ".join(f"{r.dataset} {r.method} {r.group}: {r.shift:+.1f} pp" for r in other.itertuples())
    return Verdict(2, "Image over-sampling (ReMix, EOS, DSM) does not meaningfully change that percentage",
                   "no meaningful change", ours or "no class with a TP under both", share_verdict(frac),
                   f"{(other['shift'].abs() <= MEANINGFUL_PP).sum()} of {len(other)} method x group shifts from the "
                   f"base model are within {MEANINGFUL_PP:.0f} percentage points, each over the classes both models "
                   f"got right at least once; {dropped} class cell{'s' * (dropped != 1)} left out for lack of a TP "
                   "on one side", _links(cnn, "rq1"))


def claim_lg_range(classes, rho, reading) -> Verdict:
    col = reading["required"]
    lg = classes[classes["family"] == "lg"]
    c = cells(lg, col) if not lg.empty else lg
    inside = c[col].between(2.5 / 1.2, 40 * 1.2) if len(c) else pd.Series(dtype=bool)
    frac = inside.mean() if len(c) else np.nan
    reason = (f"{int(inside.sum())} of {len(c)} data set x method x class cells lie in 2.1% to 48%; ours range "
              f"{c[col].min():.1f}% to {c[col].max():.1f}%" + left_out(lg, col)) if len(c) else "no tabular data set in this profile"
    return Verdict(3, "LG: 2.5% to about 40% of CE per instance across tabular data sets", "2.5% to just over 40%",
                   per_dataset(lg, col), share_verdict(frac), reason, _links(lg, "rq1"))


def _gaps(frame: pd.DataFrame, col: str) -> pd.DataFrame:
    g = cells(frame, col, ("dataset", "method", "group"))
    wide = g.pivot_table(index=["dataset", "method"], columns="group", values=col, observed=True).reset_index()
    wide["gap"] = wide.get("minority", np.nan) - wide.get("majority", np.nan)
    return wide


def claim_lg_minority_needs_more(classes, rho, reading) -> Verdict:
    col = reading["required"]
    lg = classes[classes["family"] == "lg"]
    if lg.empty:
        return Verdict(4, "LG: minority instances need more CE than majority instances, on every data set",
                       "true on all five data sets", "no data", UNTESTABLE, "no tabular data set in this profile")
    gaps = _gaps(lg, col)
    frac = (gaps["gap"] > 0).mean()
    ours = "; ".join(f"{r.dataset} {r.method}: {r.gap:+.1f} pp" for r in gaps.itertuples())
    return Verdict(4, "LG: minority instances need more CE than majority instances, on every data set",
                   "true on all five data sets, with and without over-sampling", ours, share_verdict(frac),
                   f"minority minus majority is positive in {(gaps['gap'] > 0).sum()} of {len(gaps)} data set x method cells"
                   + left_out(lg, col),
                   _links(lg, "rq1"))


def claim_lg_gap_narrows(classes, rho, reading) -> Verdict:
    col = reading["required"]
    lg = classes[classes["family"] == "lg"]
    if lg.empty or "base" not in set(lg["method"]) or lg["method"].nunique() < 2:
        return Verdict(5, "LG: over-sampling narrows the majority/minority gap", "narrower with every method",
                       "no data", UNTESTABLE, "needs LG runs with the base model and an over-sampling method")
    pairs, dropped = paired(lg, col)
    sides = pairs.groupby(["dataset", "method", "group"], observed=True, sort=False)[[col, "base_value"]].mean()
    wide = sides.unstack("group")
    other = pd.DataFrame({
        "gap": wide[col].get("minority", np.nan) - wide[col].get("majority", np.nan),
        "base_gap": wide["base_value"].get("minority", np.nan) - wide["base_value"].get("majority", np.nan),
    }).dropna().reset_index()
    narrower = other["gap"].abs() < other["base_gap"].abs()
    ours = "; ".join(f"{r.dataset} {r.method}: {r.base_gap:+.1f} → {r.gap:+.1f} pp" for r in other.itertuples())
    return Verdict(5, "LG: over-sampling narrows the majority/minority gap", "narrower with every method",
                   ours or "no class with a TP under both", share_verdict(narrower.mean() if len(other) else np.nan),
                   f"the gap is narrower than the base model's in {int(narrower.sum())} of {len(other)} data set x method "
                   f"cells, over the classes both models got right at least once; {dropped} class cell"
                   f"{'s' * (dropped != 1)} left out for lack of a TP on one side", _links(lg, "rq1"))


def claim_svm(classes, rho, reading) -> Verdict:
    col = reading["required"]
    svm = classes[classes["family"] == "svm"]
    if svm.empty:
        return Verdict(6, "SVM: base models need nearly 100% of CE for the majority class; with SMOTE/ADASYN "
                       "both classes need about 40%", "≈100% (base majority); ≈40% (SMOTE, ADASYN)", "no data",
                       UNTESTABLE, "no tabular data set in this profile")
    g = cells(svm, col, ("dataset", "method", "group"))
    base_major = g.query("method == 'base' and group == 'majority'")
    part_a = share_verdict((base_major[col] >= 100 - ABOUT_PP).mean()) if len(base_major) else UNTESTABLE
    resampled = g[g["method"].isin(["smote", "adasyn"])]
    part_b = share_verdict(((resampled[col] - 40).abs() <= ABOUT_PP).mean()) if len(resampled) else UNTESTABLE
    ours = (f"base majority {base_major[col].mean():.1f}%" if len(base_major) else "no base model") + "; " + (
        f"SMOTE/ADASYN {resampled[col].min():.1f}% to {resampled[col].max():.1f}%" if len(resampled) else "no SMOTE/ADASYN")
    return Verdict(6, "SVM: base models need nearly 100% of CE for the majority class; with SMOTE/ADASYN both "
                   "classes need about 40%", "≈100% (base majority); ≈40% (SMOTE, ADASYN)", ours,
                   combine(part_a, part_b), f"base majority ≥ 90%: {part_a}; SMOTE/ADASYN within 30% to 50%: {part_b}"
                   + left_out(svm, col),
                   _links(svm, "rq1"))


def claim_class_exceeds_instance(classes, rho, reading) -> Verdict:
    """The paper's Figure 4 covers the image data sets; tabular cells are reported beside them."""
    col = reading["required"]
    title = "The class-level CE count exceeds the instance-level count, majority and minority"
    if classes.empty:
        return Verdict(7, title, "true everywhere (Figure 4, images)", "no data", UNTESTABLE, "no data set")
    keys = ["dataset", "model", "method", "group"]
    g = cells(classes, col, keys).merge(cells(classes, "union_pct", keys), on=keys)
    g["family"] = g["model"].map(classes.drop_duplicates("model").set_index("model")["family"])
    g["above"] = g["union_pct"] > g[col]
    scope = g[g["family"] == "cnn"] if (g["family"] == "cnn").any() else g
    others = g.drop(scope.index)
    reason = f"class level above instance level in {int(scope['above'].sum())} of {len(scope)} " + (
        "image" if scope is not g else "") + " data set x method x group cells, each over the classes with a TP"
    if len(others):
        reason += (f"; tabular (outside the paper's Figure 4, where the top-10 union is capped at 10 x TPs / D): "
                   f"{int(others['above'].sum())} of {len(others)}")
    ours = per_dataset(classes.assign(ratio=classes["union_pct"] / classes[col]), "ratio", "{:.1f}x")
    return Verdict(7, title, "true everywhere (Figure 4, images)", "class-level ÷ instance-level, " + ours,
                   share_verdict(scope["above"].mean()), reason.replace("  ", " "), _links(classes, "rq1"))


def claim_top_share(classes, rho, reading) -> Verdict:
    col = reading["share"]
    paper = {"cnn": 66.7, "lg": 62.8, "svm": 31.6}
    parts, ours = [], []
    for fam, target in paper.items():
        part = classes[classes["family"] == fam]
        if part.empty:
            continue
        mean = 100 * cells(part, col)[col].mean()
        parts.append(HOLDS if abs(mean - target) <= ABOUT_PP else FAILS)
        ours.append(f"{fam.upper()} {mean:.1f}% (paper {target}%)")
    in_range = classes[classes["family"].isin(["cnn", "lg"])]
    range_c = cells(in_range, col) if not in_range.empty else in_range
    range_verdict = share_verdict((100 * range_c[col]).between(40, 80).mean()) if len(range_c) else UNTESTABLE
    if len(range_c):
        ours.append(f"LG/CNN cells in 40% to 80%: {int((100 * range_c[col]).between(40, 80).sum())} of {len(range_c)}")
    averages = combine(*parts) if parts else UNTESTABLE
    return Verdict(8, "Top-10% share: images about 66.7%, LG about 62.8%, SVM about 31.6%; LG and CNN between "
                   "about 40% and 80%", "66.7% / 62.8% / 31.6%; 40% to 80%", "; ".join(ours) or "no data",
                   combine(averages, range_verdict),
                   f"family averages within {ABOUT_PP:.0f} pp of the paper: {averages}; LG/CNN range: {range_verdict}"
                   + left_out(classes, col),
                   _links(classes, "rq2"))


def claim_frequency_magnitude(classes, rho, reading) -> Verdict:
    if rho.empty:
        return Verdict(9, "Frequency and magnitude decline together for CNN features (with and without EOS), "
                       "not for tabular data", "clear for CIFAR-10; absent for tabular data", "no data", UNTESTABLE,
                       "no data set")
    per = rho.groupby(["dataset", "family", "model", "method", "class_index"], observed=True)[
        ["spearman", "ci_low", "ci_high"]].mean().reset_index()
    cnn = per[(per["family"] == "cnn") & per["method"].isin(["base", "eos"])]
    tab = per[per["family"] != "cnn"]
    cnn_v = share_verdict((cnn["ci_low"] > 0).mean()) if len(cnn) else UNTESTABLE
    tab_v = share_verdict((~(tab["ci_low"] > 0)).mean()) if len(tab) else UNTESTABLE
    ours = []
    if len(cnn):
        ours.append(f"CNN ρ {cnn['spearman'].mean():.2f} (interval above 0 for {int((cnn['ci_low'] > 0).sum())} of {len(cnn)} classes)")
    if len(tab):
        ours.append(f"tabular ρ {tab['spearman'].mean():.2f} (interval above 0 for {int((tab['ci_low'] > 0).sum())} of {len(tab)} classes)")
    return Verdict(9, "Frequency and magnitude decline together for CNN features (with and without EOS), "
                   "not for tabular data", "clear for CIFAR-10; absent for tabular data", "; ".join(ours),
                   combine(cnn_v, tab_v), f"CNN, positive Spearman interval: {cnn_v}; tabular, no positive interval: {tab_v}",
                   [("rq3", ds) for ds in dict.fromkeys(per["dataset"])])


CLAIMS: list[Callable] = [claim_cnn_few_ce, claim_image_oversampling_no_change, claim_lg_range,
                          claim_lg_minority_needs_more, claim_lg_gap_narrows, claim_svm,
                          claim_class_exceeds_instance, claim_top_share, claim_frequency_magnitude]


def audit(studies: Mapping[str, Study], reading: str = "default") -> list[Verdict]:
    if reading not in READINGS:
        raise ValueError(f"Unknown reading {reading!r}; choose one of {', '.join(map(repr, READINGS))}.")
    classes, rho = joined(studies, reading)
    return [claim(classes, rho, READINGS[reading]) for claim in CLAIMS]


def verdict_table(verdicts: list[Verdict], link=None) -> pd.DataFrame:
    """One row per claim; ``link(question, dataset)`` turns the pages a claim rests on into text."""
    rows = []
    for v in verdicts:
        pages = ", ".join(link(q, ds) if link else f"{q}/{ds}" for q, ds in v.links)
        rows.append({"#": v.number, "claim": v.claim, "paper": v.paper, "ours": v.ours, "verdict": v.verdict,
                     "why": v.reason, "figures": pages})
    return pd.DataFrame(rows)


def sensitivity(studies: Mapping[str, Study]) -> pd.DataFrame:
    """Every claim's verdict under every reading; whether its figure moves with the reading,
    and whether it holds under all of them."""
    rows, figures = {}, {}
    for reading in READINGS:
        for v in audit(studies, reading):
            rows.setdefault(v.number, {"#": v.number, "claim": v.claim})[reading] = v.verdict
            figures.setdefault(v.number, set()).add(v.ours)
    table = pd.DataFrame(list(rows.values()))
    table["figure moves with the reading"] = table["#"].map(lambda n: len(figures[n]) > 1)
    table["survives every reading"] = table[list(READINGS)].nunique(axis=1).eq(1) & table["default"].eq(HOLDS)
    return table

"""The claims audit: every quantitative claim of the paper, measured, with a computed verdict.

Each claim is a function of the joined result tables of the studies at hand and a *reading*
(which column stands for required CE and which for the top-10% share). Verdicts come from the
rules below, never typed in; a claim whose data is absent says so.

Rules (stated on the audit page as well):

- A claim about a share of cells (a cell is one data set x model x method x class or group,
  averaged over seeds or splits) **holds** when at least 90% of the cells satisfy it, **partly**
  holds from 50%, and otherwise **does not hold**. Where a rule grades a cell as supporting,
  partly supporting or contradicting the claim, it holds when at least 90% of the cells support
  it and partly holds when at least 50% support it at least partly.
- A claim judged against a reference says which side of it supports the claim (never
  "outside the null"): claim 7 against R = 1 and the feature-exchangeable null, claim 9 against
  the null's upper end.
- "About x" means within 10 percentage points of x (within a factor 1.2 for the LG range).
- "Does not meaningfully change" means within 3 percentage points of the base model.
- A claim with two parts holds when both do, partly when one does.
- A class without a true positive has no value; the cells it would fill are left out and
  counted, and a comparison of two methods uses only the classes both got right at least once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .. import methods, paper
from ..files import atomic_path
from ..ce import metrics
from ..pipeline.study import Study

HOLDS, PARTLY, FAILS, UNTESTABLE = "holds", "partly", "does not hold", "not testable here"
MOSTLY, SOME = 0.9, 0.5
ABOUT_PP = 10.0
MEANINGFUL_PP = 3.0
READING_COLUMNS = ("n_counted", "required_pct", "never_crosses", "union_pct", "top_share", "top_share_instance")


def _reading(name: str, share: str = "top_share", **extra) -> dict:
    """An audit reading: a reading of the metrics, the share column, and whether the
    feature-exchangeable null (drawn under the default sets only) applies to it."""
    default_sets = replace(metrics.READINGS[name], share_count="floor") == metrics.DEFAULT
    return {"metrics": name, "required": "required_pct", "share": share, "null": default_sets, **extra}


# Every reading of the metrics (stored per run in the ``readings`` table), the per-instance
# share (a choice of column, not of metric) and claim 6 judged against its ceiling.
READINGS = {name: _reading(name) for name in metrics.READINGS}
READINGS["per-instance share"] = _reading("default", share="top_share_instance")
READINGS["SVM against its ceiling"] = _reading("default", svm_target="ceiling")


@dataclass
class Verdict:
    number: int
    claim: str
    paper: str
    ours: str
    verdict: str
    reason: str
    links: list[str] = field(default_factory=list)  # (question, dataset) pages it rests on
    short: str = ""  # one short figure for the landing page (default: ``ours``)
    health: str = ""  # the runs behind it that did not learn (``mark_health``)
    runs: pd.DataFrame | None = field(default=None, repr=False)  # (dataset, model, method, repeat) it rests on
    evidence: str = ""  # runs used, healthy among them, repeats, data (``mark_health``)
    per_repeat: list[str] = field(default_factory=list)  # the rule's verdict on each repeat alone (methods#repeats)
    # What each repeat is compared with: the verdict on the means, or for a claim that pools
    # images and tabular data, the rule on the means of the repeat's own part.
    per_repeat_reference: list[str] = field(default_factory=list)

    @property
    def agreeing(self) -> int:
        """How many repeats' verdicts equal the verdict they are compared with."""
        references = self.per_repeat_reference or [self.verdict] * len(self.per_repeat)
        return sum(v == ref for v, ref in zip(self.per_repeat, references))

    @property
    def settled(self) -> bool:
        return self.agreeing == len(self.per_repeat)

    def repeat_note(self) -> str:
        """'unsettled (k of n)' where the repeats disagree, else ''."""
        return "" if self.settled else f"unsettled ({self.agreeing} of {len(self.per_repeat)})"

    def repeat_summary(self) -> str:
        """Every repeat's verdict in words: 'holds in 3 of 3 repeats', 'holds 2, partly 1 of 3'."""
        n = len(self.per_repeat)
        if not n:
            return "no repeat testable alone"
        counts = pd.Series(self.per_repeat).value_counts()
        if len(counts) == 1:
            return f"{counts.index[0]} in {n} of {n} repeats"
        return ", ".join(f"{v} {c}" for v, c in counts.items()) + f" of {n} repeats"

    def __post_init__(self):
        self.short = self.short or self.ours


def share_verdict(fraction: float) -> str:
    if np.isnan(fraction):
        return UNTESTABLE
    return HOLDS if fraction >= MOSTLY else PARTLY if fraction >= SOME else FAILS


SUPPORTS, PARTLY_SUPPORTS, CONTRADICTS = "supports", "partly supports", "contradicts"


def graded_verdict(grades: pd.Series) -> str:
    """Cells graded supports / partly supports / contradicts, added up by the audit's thresholds:
    holds when at least 90% support, partly when at least 50% support at least partly."""
    if not len(grades):
        return UNTESTABLE
    support = (grades == SUPPORTS).mean()
    if support >= MOSTLY:
        return HOLDS
    return PARTLY if support + (grades == PARTLY_SUPPORTS).mean() >= SOME else FAILS


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
    """cnn for a network (or a linear head on latent features, model "head"), else the model."""
    return "cnn" if study.kind == "image" or model == "head" else model


def _paper_methods(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's claims are about base and over-sampling: interventions (RQ4) are left out."""
    return frame[frame["method"].map(methods.family) != "intervention"]


def joined(studies: Mapping[str, Study], reading: str = "default") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-class and Spearman tables of every study, with a ``family`` column (cnn, lg, svm);
    the per-class figures are those of ``reading`` (a key of ``READINGS``)."""
    classes, rho, readings = [], [], []
    for study in studies.values():
        fam = {m: family_of(study, m) for m in study.models}
        classes.append(_paper_methods(study.classes).assign(family=lambda f: f["model"].map(fam)))
        rho.append(_paper_methods(study.spearman).assign(family=lambda f: f["model"].map(fam)))
        readings.append(_paper_methods(study.readings))
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


def _base_and_oversampling(frame: pd.DataFrame) -> bool:
    found = set(frame["method"])
    return "base" in found and any(methods.family(m) == "oversampling" for m in found)


def paired(frame: pd.DataFrame, value: str, keys=("dataset", "model", "class_index", "group"),
           family: str = "oversampling") -> tuple[pd.DataFrame, int]:
    """Base and every method of ``family`` side by side on the classes both have a value for.

    Returns the long table of (keys, method, value, base value) and how many class cells were
    left out because one side had no true positive."""
    keys = list(keys)
    c = cells(frame, value, keys + ["method"])
    wide = c.pivot_table(index=keys, columns="method", values=value, observed=True, dropna=False)
    rows, dropped = [], 0
    for method in [m for m in dict.fromkeys(frame["method"]) if methods.family(m) == family]:
        if "base" not in wide or method not in wide:
            continue
        pair = wide[["base", method]]
        both = pair.dropna()
        dropped += int(pair.notna().any(axis=1).sum() - len(both))
        rows.append(both.rename(columns={method: value, "base": "base_value"}).reset_index().assign(method=method))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=keys + ["method", value, "base_value"])
    return out, dropped


def per_dataset(frame: pd.DataFrame, value: str, fmt: str = "{:.1f}%", scale: float = 1.0) -> str:
    """'dataset: mean ± sd' over repeats of the data set's average, for the 'ours' column
    ('dataset: mean (1 repeat)' where there is one: no spread to show, not a spread of 0)."""
    if frame.empty:
        return "no data"
    parts = []
    for ds, part in frame.groupby("dataset", sort=False):
        per_repeat = part.groupby("repeat")[value].mean() * scale
        if len(per_repeat) > 1:
            parts.append(f"{ds}: {fmt.format(per_repeat.mean())} ± {fmt.format(per_repeat.std()).rstrip('%')}")
        else:
            parts.append(f"{ds}: {fmt.format(per_repeat.mean())} (1 repeat)")
    return "; ".join(parts)


def _links(frame: pd.DataFrame, question: str) -> list[str]:
    return [(question, ds) for ds in dict.fromkeys(frame["dataset"])] if not frame.empty else []


# ---------------------------------------------------------------- the claims
def claim_cnn_few_ce(classes, rho, reading) -> Verdict:
    col = reading["required"]
    cnn = classes[classes["family"] == "cnn"]
    c = cells(cnn, col) if not cnn.empty else cnn
    limit = paper.CNN_REQUIRED_MAX_PCT
    frac = (c[col] <= limit).mean() if len(c) else np.nan
    worst = c.sort_values(col).tail(1) if len(c) else c
    reason = (f"{(c[col] <= limit).sum()} of {len(c)} class x method cells need {limit:.0f}% of CE or fewer"
              + (f"; the largest is {worst[col].iloc[0]:.1f}% (class {int(worst['class_index'].iloc[0])}, "
                 f"{worst['method'].iloc[0]}, {worst['dataset'].iloc[0]})" if len(c) else "") + left_out(cnn, col)
              if len(c) else "no image data set in this profile")
    return Verdict(1, "CNN: about 12% or fewer of CE carry a TP prediction, majority and minority classes alike",
                   "≤ 12% for every class but CIFAR-10 'cat'", per_dataset(cnn, col), share_verdict(frac), reason,
                   _links(cnn, "rq1"),
                   short=f"{c[col].mean():.1f}% per TP; ≤ {limit:.0f}% in {int((c[col] <= limit).sum())}/{len(c)} cells" if len(c) else "")


def claim_image_oversampling_no_change(classes, rho, reading) -> Verdict:
    col = reading["required"]
    cnn = classes[classes["family"] == "cnn"]
    if not _base_and_oversampling(cnn):
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
                   "on one side", _links(cnn, "rq1"),
                   short=(f"{int((other['shift'].abs() <= MEANINGFUL_PP).sum())}/{len(other)} shifts within "
                          f"{MEANINGFUL_PP:.0f} pp (largest {other['shift'].abs().max():+.1f})") if len(other) else "")


def claim_lg_range(classes, rho, reading) -> Verdict:
    col = reading["required"]
    lg = classes[classes["family"] == "lg"]
    c = cells(lg, col) if not lg.empty else lg
    low, high = paper.LG_REQUIRED_RANGE_PCT
    inside = c[col].between(low / 1.2, high * 1.2) if len(c) else pd.Series(dtype=bool)
    frac = inside.mean() if len(c) else np.nan
    reason = (f"{int(inside.sum())} of {len(c)} data set x method x class cells lie in 2.1% to 48%; ours range "
              f"{c[col].min():.1f}% to {c[col].max():.1f}%" + left_out(lg, col)) if len(c) else "no tabular data set in this profile"
    return Verdict(3, "LG: 2.5% to about 40% of CE per instance across tabular data sets", "2.5% to just over 40%",
                   per_dataset(lg, col), share_verdict(frac), reason, _links(lg, "rq1"),
                   short=(f"{c[col].min():.1f}% to {c[col].max():.1f}%; {int(inside.sum())}/{len(c)} cells in range"
                          if len(c) else ""))


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
                   _links(lg, "rq1"), short=f"minority above majority in {int((gaps['gap'] > 0).sum())}/{len(gaps)}")


def claim_lg_gap_narrows(classes, rho, reading) -> Verdict:
    col = reading["required"]
    lg = classes[classes["family"] == "lg"]
    if not _base_and_oversampling(lg):
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
                   f"{'s' * (dropped != 1)} left out for lack of a TP on one side", _links(lg, "rq1"),
                   short=f"narrower in {int(narrower.sum())}/{len(other)}" if len(other) else "")


SVM_TITLE = ("SVM: base models need nearly 100% of CE for the majority class; with SMOTE/ADASYN both classes "
             "need about 40%")


def claim_svm(classes, rho, reading) -> Verdict:
    """Part A is judged against 100% by default and, under the reading "SVM against its
    ceiling", against the ceiling the definition imposes: a class-0 TP can use at most the
    support vectors with negative dual coefficients (``ceiling_pct``)."""
    col = reading["required"]
    svm = classes[classes["family"] == "svm"]
    paper_says = "≈100% (base majority); ≈40% (SMOTE, ADASYN)"
    if svm.empty:
        return Verdict(6, SVM_TITLE, paper_says, "no data", UNTESTABLE, "no tabular data set in this profile")
    g = cells(svm, col, ("dataset", "method", "group"))
    base_major = g.query("method == 'base' and group == 'majority'")
    base_ceiling = pd.Series(dtype=float)
    if "ceiling_pct" in svm:
        ceiling = cells(svm, "ceiling_pct", ("dataset", "method", "group"))
        base_ceiling = ceiling.query("method == 'base' and group == 'majority'").set_index("dataset")["ceiling_pct"]
    against_ceiling = reading.get("svm_target") == "ceiling"
    target = (base_ceiling.reindex(base_major["dataset"]).to_numpy() if against_ceiling
              else np.full(len(base_major), paper.SVM_BASE_MAJORITY_PCT))
    part_a = share_verdict((base_major[col].to_numpy() >= target - ABOUT_PP).mean()) if len(base_major) else UNTESTABLE
    resampled = g[g["method"].isin(["smote", "adasyn"])]
    part_b = share_verdict(((resampled[col] - paper.SVM_RESAMPLED_PCT).abs() <= ABOUT_PP).mean()) if len(resampled) else UNTESTABLE
    ceiling_text = (f" (ceiling n_SV0 / D: {base_ceiling.mean():.1f}%)" if len(base_ceiling) else "")
    ours = (f"base majority {base_major[col].mean():.1f}%{ceiling_text}" if len(base_major) else "no base model") + "; " + (
        f"SMOTE/ADASYN {resampled[col].min():.1f}% to {resampled[col].max():.1f}%" if len(resampled) else "no SMOTE/ADASYN")
    per_set = "; ".join(f"{ds} {c:.1f}%" for ds, c in base_ceiling.items())
    what = "within 10 pp of its ceiling" if against_ceiling else "≥ 90%"
    return Verdict(6, SVM_TITLE, paper_says, ours, combine(part_a, part_b),
                   f"base majority {what}: {part_a}; SMOTE/ADASYN within 30% to 50%: {part_b}. A class-0 TP can use "
                   f"at most the support vectors with negative dual coefficients: that ceiling, per data set, is "
                   f"{per_set or 'not available'}" + left_out(svm, col),
                   _links(svm, "rq1"), short=ours)


CLASS_TITLE = "The class-level CE count is much larger than the instance-level count, majority and minority"
NULL_SATURATED_PCT = 99.0  # a null whose 95% range starts here has every feature in the union


def class_level_cells(classes: pd.DataFrame, col: str = "required_pct") -> pd.DataFrame:
    """Claim 7 per data set x model x method x group: R = class-level count / instance-level
    count, the null's R (its 95% range and mean), the position p = (R - 1) / (mean R_null - 1)
    between the identical-sets bound (R = 1, p = 0) and the exchangeable null (p = 1), and the
    cell's grade (methods#verdicts)."""
    keys = ["dataset", "model", "method", "group"]
    g = cells(classes, col, keys)
    for column in ("union_pct", "union_null_low", "union_null_high", "union_null_mean"):
        if column in classes:
            g = g.merge(cells(classes, column, keys)[keys + [column]], on=keys, how="left")
    if "union_null_mean" not in g:
        g["union_null_mean"] = (g["union_null_low"] + g["union_null_high"]) / 2
    g["family"] = g["model"].map(classes.drop_duplicates("model").set_index("model")["family"])
    g = g[g[col] > 0].copy()  # no term needed at all: no ratio
    g["R"] = g["union_pct"] / g[col]
    g["R_null_low"], g["R_null_high"] = g["union_null_low"] / g[col], g["union_null_high"] / g[col]
    g["R_null_mean"] = g["union_null_mean"] / g[col]
    with np.errstate(invalid="ignore", divide="ignore"):
        g["p"] = (g["R"] - 1) / (g["R_null_mean"] - 1)
    g["below_null"] = g["union_pct"] < g["union_null_low"]
    g["null_saturated"] = g["union_null_low"] >= NULL_SATURATED_PCT
    much = g["R"] >= paper.CLASS_LEVEL_MUCH_LARGER
    g["grade"] = np.where(~much, CONTRADICTS, np.where(g["below_null"], PARTLY_SUPPORTS, SUPPORTS))
    return g


def claim_class_exceeds_instance(classes, rho, reading) -> Verdict:
    """The paper's Figure 4 covers the image data sets: judged on them alone, and not testable
    without them (the tabular cells are reported). Two references (methods#verdicts): R = 1, every TP of
    the class using the same terms (invariant features), and the feature-exchangeable null, the
    union the same TPs would give if each combined its terms at random ("any linear combination").
    A cell supports the claim when R >= 2 and the class-level count is not below the null's 95%
    range; it partly supports it when R >= 2 but below the null (the terms vary across TPs, yet
    far less than random combinations would); it contradicts it when R < 2."""
    col = reading["required"]
    paper_says = "much larger, everywhere (Figure 4, images)"
    if classes.empty:
        return Verdict(7, CLASS_TITLE, paper_says, "no data", UNTESTABLE, "no data set")
    if not reading.get("null", True) or "union_null_low" not in classes:
        return Verdict(7, CLASS_TITLE, paper_says, "no null", UNTESTABLE,
                       "the feature-exchangeable null is computed under the default reading of the sets only")
    g = class_level_cells(classes, col)
    images, tabular = g[g["family"] == "cnn"], g[g["family"] != "cnn"]

    def figure(part):
        return (f"R {part['R'].mean():.1f}x (null {part['R_null_low'].mean():.1f}x to {part['R_null_high'].mean():.1f}x), "
                f"p {part['p'].mean():.2f}")

    def summary(part, name):
        counts = part["grade"].value_counts()
        saturated = int(part["null_saturated"].sum())
        return (f"{name}: of {len(part)} data set x method x group cells, {counts.get(SUPPORTS, 0)} support the claim "
                f"(R ≥ 2, not below the null), {counts.get(PARTLY_SUPPORTS, 0)} partly (R ≥ 2 but below the null: the "
                f"class's TPs share their terms more than random combinations would), {counts.get(CONTRADICTS, 0)} "
                f"contradict it (R < 2)" + (f"; the null saturates at 100% of D in {saturated} (with few terms, such as "
                "a ResNet's 64, and hundreds of TPs, random combinations reach every feature)" if saturated else ""))

    if images.empty:
        return Verdict(7, CLASS_TITLE, paper_says, f"tabular only: {figure(tabular)}" if len(tabular) else "no data",
                       UNTESTABLE, "the paper's Figure 4 covers image data sets and this profile has none"
                       + (f"; {summary(tabular, 'tabular')}" if len(tabular) else ""),
                       _links(classes, "rq1"), short=f"no image data (tabular {figure(tabular)})" if len(tabular) else "")
    verdict = graded_verdict(images["grade"])
    reason = summary(images, "images") + (f"; reported, not judged: {summary(tabular, 'tabular')}" if len(tabular) else "")
    where = ("between invariant features (p = 0) and random combinations (p = 1)" if images["p"].mean() < 1
             else "at or beyond random combinations")
    return Verdict(7, CLASS_TITLE, paper_says, "images: " + figure(images), verdict, reason, _links(classes, "rq1"),
                   short=f"{figure(images)}: {where}")


TRIVIAL_SHARE = 1 - 1e-9  # a share this close to 1: the top entries hold every positive term


def claim_top_share(classes, rho, reading) -> Verdict:
    """Family averages against the paper's, and the LG/CNN range, on the cells whose share is
    not 1 by construction (methods#verdicts): a class with at most ``int(0.1 D)`` positive mean terms
    gives a share of 1 whatever the model does. Such *trivial* cells are counted and the figure
    with them is shown beside the verdict's."""
    col = reading["share"]
    parts, ours, short = [], [], []
    trivial_total = 0
    for fam, share in paper.TOP_SHARE.items():
        target = paper.pct(share)
        part = classes[classes["family"] == fam]
        if part.empty:
            continue
        c = cells(part, col)
        trivial = c[col] >= TRIVIAL_SHARE
        trivial_total += int(trivial.sum())
        kept = 100 * c.loc[~trivial, col].mean() if (~trivial).any() else np.nan
        every = 100 * c[col].mean()
        parts.append(UNTESTABLE if np.isnan(kept) else HOLDS if abs(kept - target) <= ABOUT_PP else FAILS)
        ours.append(f"{fam.upper()} {kept:.1f}% (paper {target}%; {int(trivial.sum())} of {len(c)} cells trivial, "
                    f"{every:.1f}% with them)")
        short.append(f"{fam.upper()} {kept:.1f}%")
    in_range = classes[classes["family"].isin(["cnn", "lg"])]
    range_c = cells(in_range, col) if not in_range.empty else in_range
    if len(range_c):
        range_c = range_c[range_c[col] < TRIVIAL_SHARE]
    low, high = (paper.pct(s) for s in paper.TOP_SHARE_RANGE)
    range_verdict = share_verdict((100 * range_c[col]).between(low, high).mean()) if len(range_c) else UNTESTABLE
    if len(range_c):
        ours.append(f"non-trivial LG/CNN cells in {low:.0f}% to {high:.0f}%: "
                    f"{int((100 * range_c[col]).between(low, high).sum())} of {len(range_c)}")
    averages = combine(*parts) if parts else UNTESTABLE
    return Verdict(8, "Top-10% share: images about 66.7%, LG about 62.8%, SVM about 31.6%; LG and CNN between "
                   "about 40% and 80%", "66.7% / 62.8% / 31.6%; 40% to 80%", "; ".join(ours) or "no data",
                   combine(averages, range_verdict),
                   f"family averages over the non-trivial cells within {ABOUT_PP:.0f} pp of the paper: {averages}; "
                   f"LG/CNN range: {range_verdict}. {trivial_total} trivial cell{'s' * (trivial_total != 1)} (share 1 by "
                   "construction: the top int(0.1 D) entries hold every positive term) left out of the verdict"
                   + left_out(classes, col), _links(classes, "rq2"), short=", ".join(short))


def top_share_by_family(classes: pd.DataFrame, col: str = "top_share") -> pd.DataFrame:
    """Claim 8's figure per family, in percent: the mean over non-trivial class cells (the
    verdict's), over every cell, and the count of trivial cells. Pages that quote the share of a
    family read it here."""
    rows = []
    for fam in [f for f in paper.TOP_SHARE if f in set(classes["family"])]:
        c = cells(classes[classes["family"] == fam], col)
        trivial = c[col] >= TRIVIAL_SHARE
        rows.append({"family": fam, "share_pct": 100 * c.loc[~trivial, col].mean(), "share_pct_all": 100 * c[col].mean(),
                     "trivial_cells": int(trivial.sum()), "cells": len(c), "paper_pct": paper.pct(paper.TOP_SHARE[fam])})
    return pd.DataFrame(rows)


FREQ_TITLE = ("Frequency and magnitude decline together for CNN features (with and without EOS), not for "
              "tabular data")


FAMILY_NAMES = {"cnn": "CNN", "lg": "LG", "svm": "SVM"}


def frequency_magnitude_parts(rho: pd.DataFrame) -> dict[str, tuple[str, pd.DataFrame]]:
    """Claim 9 per family: (verdict, its class cells with ``above`` the null's 95% range). The
    CNN (base and EOS) on the share of its classes above the null, LG and SVM each on the
    share not above it."""
    per = rho.groupby(["dataset", "family", "model", "method", "class_index"], observed=True)[
        ["spearman", "null_low", "null_high"]].mean().reset_index().dropna(subset=["spearman", "null_high"])
    per["above"] = per["spearman"] > per["null_high"]
    parts = {"cnn": per[(per["family"] == "cnn") & per["method"].isin(["base", "eos"])],
             "lg": per[per["family"] == "lg"], "svm": per[per["family"] == "svm"]}
    return {fam: (share_verdict((part["above"] if fam == "cnn" else ~part["above"]).mean()), part)
            for fam, part in parts.items() if not part.empty}


def claim_frequency_magnitude(classes, rho, reading) -> Verdict:
    """Judged against the feature-exchangeable null, never against zero: frequency (membership
    in a set chosen by value) and magnitude (the mean of the same values) correlate by
    construction, so a class shows the relation only when its Spearman lies above the null's
    95% range. Judged per family (methods#claim-9, ``frequency_magnitude_parts``)."""
    paper_says = "clear for CIFAR-10; absent for tabular data"
    if rho.empty:
        return Verdict(9, FREQ_TITLE, paper_says, "no data", UNTESTABLE, "no data set")
    verdicts, ours, short, why, used = [], [], [], [], []
    for fam, (verdict, part) in frequency_magnitude_parts(rho).items():
        used += list(part["dataset"])
        verdicts.append(verdict)
        name = FAMILY_NAMES[fam]
        ours.append(f"{name} ρ {part['spearman'].mean():.2f}, null up to {part['null_high'].mean():.2f}: above it "
                    f"for {int(part['above'].sum())} of {len(part)} classes")
        short.append(f"{name} above null {int(part['above'].sum())}/{len(part)}")
        why.append(f"{name}, Spearman {'above' if fam == 'cnn' else 'not above'} the null: {verdict}")
    return Verdict(9, FREQ_TITLE, paper_says, "; ".join(ours), combine(*verdicts),
                   "; ".join(why) + ". The null keeps each TP's CE values and permutes its features; noise alone "
                   "gives a Spearman near 0.6, so 0 is no reference",
                   [("rq3", ds) for ds in sorted(set(used))], short="; ".join(short))


CLAIMS: list[Callable] = [claim_cnn_few_ce, claim_image_oversampling_no_change, claim_lg_range,
                          claim_lg_minority_needs_more, claim_lg_gap_narrows, claim_svm,
                          claim_class_exceeds_instance, claim_top_share, claim_frequency_magnitude]


# The model families each claim rests on (claim 7 is judged on images; claim 9 on CNN base and EOS).
CLAIM_FAMILIES = {1: ("cnn",), 2: ("cnn",), 3: ("lg",), 4: ("lg",), 5: ("lg",), 6: ("svm",), 7: ("cnn",),
                  8: ("cnn", "lg", "svm"), 9: ("cnn", "lg", "svm")}
RUN_KEYS = ["dataset", "model", "method", "repeat"]


def runs_of_claim(number: int, classes: pd.DataFrame) -> pd.DataFrame:
    """The runs (dataset, model, method, repeat) a claim's verdict rests on."""
    part = classes[classes["family"].isin(CLAIM_FAMILIES[number])]
    if number == 9:
        part = part[(part["family"] != "cnn") | part["method"].isin(["base", "eos"])]
    return part[RUN_KEYS].drop_duplicates().reset_index(drop=True) if len(part) else pd.DataFrame(columns=RUN_KEYS)


def repeat_parts(number: int) -> list[tuple[str, ...]]:
    """The parts a claim is judged per repeat within: images (seeds) and tabular data (splits)
    are repeated apart, so a claim that pools both is judged per repeat of each."""
    families = CLAIM_FAMILIES[number]
    parts = [tuple(f for f in families if f == "cnn"), tuple(f for f in families if f != "cnn")]
    return [p for p in parts if p]


def judge_repeats(claim: Callable, number: int, classes: pd.DataFrame, rho: pd.DataFrame,
                  reading) -> list[tuple[str, str]]:
    """The claim's rule applied to each repeat alone (each seed, each split), untestable ones
    left out: (reference, verdict) pairs, the reference being the rule on the means of the
    repeat's own part (images or tabular data), which is the verdict on the means for a claim
    that does not pool the two."""
    out = []
    parts = repeat_parts(number)
    for part in parts:
        c, r = classes[classes["family"].isin(part)], rho[rho["family"].isin(part)]
        if not len(c):
            continue
        reference = claim(c, r, reading).verdict if len(parts) > 1 else None
        for repeat in sorted(c["repeat"].unique()):
            verdict = claim(c[c["repeat"] == repeat], r[r["repeat"] == repeat], reading).verdict
            if verdict != UNTESTABLE:
                out.append((reference, verdict))
    return out


def audit(studies: Mapping[str, Study], reading: str = "default", repeats: bool = True) -> list[Verdict]:
    """Every claim's verdict on the means of the repeats, and (``repeats``) on each repeat alone."""
    if reading not in READINGS:
        raise ValueError(f"Unknown reading {reading!r}; choose one of {', '.join(map(repr, READINGS))}.")
    classes, rho = joined(studies, reading)
    verdicts = [claim(classes, rho, READINGS[reading]) for claim in CLAIMS]
    for claim, v in zip(CLAIMS, verdicts):
        v.runs = runs_of_claim(v.number, classes)
        if repeats and len(classes):
            judged = judge_repeats(claim, v.number, classes, rho, READINGS[reading])
            v.per_repeat = [verdict for _, verdict in judged]
            v.per_repeat_reference = [ref or v.verdict for ref, _ in judged]
    return verdicts


def verdict_table(verdicts: list[Verdict], link=None) -> pd.DataFrame:
    """One row per claim; ``link(question, dataset)`` turns the pages a claim rests on into text."""
    rows = []
    for v in verdicts:
        pages = ", ".join(link(q, ds) if link else f"{q}/{ds}" for q, ds in v.links)
        rows.append({"#": f'<span id="claim-{v.number}">{v.number}</span>', "claim": v.claim, "paper": v.paper,
                     "ours": v.ours, "verdict": v.verdict, "why": v.reason, "per repeat": v.repeat_summary(),
                     "evidence": v.evidence,
                     "figures": pages, "unhealthy runs": v.health})
    return pd.DataFrame(rows)


SHORT_TITLES = {
    1: "CNN: ≤ 12% of CE carry a TP", 2: "Image over-sampling leaves that unchanged",
    3: "LG: 2.5% to 40% of CE", 4: "LG: minority needs more CE", 5: "LG: over-sampling narrows the gap",
    6: "SVM: ~100% base majority, ~40% resampled", 7: "Class level exceeds instance level",
    8: "Top-10% share: 66.7 / 62.8 / 31.6%", 9: "Frequency and magnitude together (CNN), not tabular",
}


def evidence(runs: pd.DataFrame, health: pd.DataFrame) -> tuple[str, str]:
    """(evidence, health) of a verdict: the runs it uses, how many of them learned, its
    repeats and whether the data are the paper's; and which of its runs did not learn."""
    if runs is None or runs.empty:
        return "no runs", ""
    marks = health.rename(columns={"seed": "repeat"})[RUN_KEYS + ["healthy"]] if len(health) else None
    joined_runs = runs.merge(marks, on=RUN_KEYS, how="left") if marks is not None else runs.assign(healthy=np.nan)
    n, healthy = len(joined_runs), int(joined_runs["healthy"].fillna(False).astype(bool).sum())
    repeats = joined_runs.groupby(["dataset", "model", "method"])["repeat"].nunique()
    rep = f"{repeats.min()}" if repeats.min() == repeats.max() else f"{repeats.min()} to {repeats.max()}"
    sets = list(dict.fromkeys(joined_runs["dataset"]))
    theirs = [ds for ds in sets if ds in paper.DATASETS]
    others = [ds for ds in sets if ds not in theirs]
    data = (f"the paper's data ({', '.join(theirs)})" if not others else f"substitute data ({', '.join(others)})"
            if not theirs else f"the paper's data ({', '.join(theirs)}) and substitutes ({', '.join(others)})")
    text = f"{n} runs, {healthy} healthy; {rep} repeat{'s' * (rep != '1')} each; {data}"
    if healthy < n / 2:
        text += "; rests on fewer than half healthy runs"
    bad = joined_runs[~joined_runs["healthy"].fillna(False).astype(bool)]
    note = "" if bad.empty else (f"{len(bad)} of {n} runs unhealthy, e.g. {bad.iloc[0]['dataset']} {bad.iloc[0]['model']} "
                                 f"{bad.iloc[0]['method']} repeat {bad.iloc[0]['repeat']}")
    return text, note


def mark_health(verdicts: list[Verdict], health_by_dataset: Mapping[str, pd.DataFrame]) -> list[Verdict]:
    """Give each verdict its evidence: the runs it rests on (not every run of its data sets),
    how many of them learned, its repeats and whether the data are the paper's."""
    tables = [t for t in health_by_dataset.values() if len(t)]
    health = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    for v in verdicts:
        v.evidence, v.health = evidence(v.runs, health)
    return verdicts


def landing_table(verdicts: list[Verdict], audit_page: str) -> pd.DataFrame:
    """The landing page's table: a short title, one short figure and the verdict per claim,
    linked to the claim's row on the audit page (where the per-cell detail is)."""
    return pd.DataFrame([{"#": f'<a href="{audit_page}#claim-{v.number}">{v.number}</a>',
                          "claim": SHORT_TITLES.get(v.number, v.claim), "ours": v.short or v.ours,
                          "verdict": v.verdict + (f" · {v.repeat_note()}" if v.repeat_note() else ""),
                          "evidence": v.evidence} for v in verdicts])


def write_csv(verdicts: list[Verdict], path) -> None:
    """The verdict table as CSV (plain text, no HTML), written atomically."""
    table = verdict_table(verdicts).replace(r"<[^>]+>", "", regex=True)
    table.insert(table.columns.get_loc("verdict") + 1, "unsettled", [v.repeat_note() for v in verdicts])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def findings(verdicts: list[Verdict]) -> str:
    """The landing page's opening, computed: how many claims hold, which hold and which do not
    (with the figure that decides it), and which verdicts the repeats leave unsettled."""
    def named(vs, figure=False):
        return "; ".join(f"{v.number} ({SHORT_TITLES.get(v.number, v.claim)}" + (f": {v.short}" if figure else "") + ")"
                         for v in vs)

    by = {k: [v for v in verdicts if v.verdict == k] for k in (HOLDS, PARTLY, FAILS, UNTESTABLE)}
    def verb(n, one, many):
        return f"{n} {one if n == 1 else many}"

    counts = [verb(len(by[HOLDS]), "holds", "hold"), verb(len(by[PARTLY]), "holds in part", "hold in part"),
              verb(len(by[FAILS]), "does not hold", "do not hold")]
    if by[UNTESTABLE]:
        counts.append(verb(len(by[UNTESTABLE]), "cannot be tested on these data", "cannot be tested on these data"))
    text = [f"Of the paper's {len(verdicts)} quantitative claims, measured here, {', '.join(counts[:-1])} and {counts[-1]}."]
    if by[HOLDS]:
        text.append(f"Claims that hold: {named(by[HOLDS])}.")
    if by[FAILS]:
        text.append(f"Claims that do not hold: {named(by[FAILS], figure=True)}.")
    unsettled = [v for v in verdicts if v.per_repeat and not v.settled]
    if unsettled:
        text.append("Verdicts the repeats leave unsettled: " + "; ".join(
            f"{v.number} ({v.repeat_note()})" for v in unsettled) + ".")
    return " ".join(text)


def limitations(verdicts: list[Verdict], robust: pd.DataFrame) -> pd.DataFrame:
    """Per claim, what would change its verdict: the readings under which it reads otherwise
    (``sensitivity``), the repeats that disagree with it, and the data it rests on."""
    rows = []
    by_number = robust.set_index("#") if len(robust) else robust
    for v in verdicts:
        other = []
        if v.number in by_number.index:
            row = by_number.loc[v.number]
            other = [f"{r}: {row[r]}" for r in READINGS if r in row and row[r] != v.verdict]
        rows.append({"#": v.number, "claim": SHORT_TITLES.get(v.number, v.claim), "verdict": v.verdict,
                     "readings that change it": "; ".join(other) or "none",
                     "repeats": v.repeat_summary(),
                     "data": ("the paper's data and substitutes" if "and substitutes" in v.evidence
                              else "substitute data" if "substitute data" in v.evidence
                              else "the paper's data" if "the paper's data" in v.evidence else "")})
    return pd.DataFrame(rows)


def sensitivity(studies: Mapping[str, Study]) -> pd.DataFrame:
    """Every claim's verdict under every reading; whether its figure moves with the reading,
    and whether it holds under all of them."""
    rows, figures = {}, {}
    for reading in READINGS:
        for v in audit(studies, reading, repeats=False):
            rows.setdefault(v.number, {"#": v.number, "claim": v.claim})[reading] = v.verdict
            figures.setdefault(v.number, set()).add(v.ours)
    table = pd.DataFrame(list(rows.values()))
    table["figure moves with the reading"] = table["#"].map(lambda n: len(figures[n]) > 1)
    table["survives every reading"] = table[list(READINGS)].nunique(axis=1).eq(1) & table["default"].eq(HOLDS)
    return table

"""The claims' rules: each a function from result tables to a small typed result, never words.

The methods page states every rule (methods#verdicts, methods#claim-1 to methods#claim-9); this
module computes them. ``wording`` turns a ``ClaimResult`` into sentences, HTML and CSV rows, and
``audit`` decides which runs and readings a rule is applied to (health, repeats, readings).

A rule receives ``Tables``: the per-class tables of the runs it may use, already restricted to
base and over-sampling methods (the paper's claims never count an intervention) and, by the
audit, to healthy runs. Within the rule, a class cell (data set x model x method x class,
averaged over repeats) without a true positive has no value and a *thin* cell, fewer than
``MIN_TPS`` TPs in some repeat, is left out; both are counted in ``ClaimResult.left_out``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from .. import paper

# ---------------------------------------------------------------- verdicts and their thresholds
HOLDS, PARTLY, FAILS, UNTESTABLE = "holds", "partly", "does not hold", "not testable here"
VERDICTS = (HOLDS, PARTLY, FAILS, UNTESTABLE)
MOSTLY, SOME = 0.9, 0.5  # share of cells: at least MOSTLY holds, at least SOME partly (methods#verdicts)
ABOUT = 1.25  # "about x": within x / ABOUT to x * ABOUT, for every claim (methods#about)
MEANINGFUL_PP = 3.0  # "does not meaningfully change": within this many percentage points of base
MIN_TPS = 20  # a class cell with fewer TPs in some repeat is thin: flagged, left out (methods#thin-cells)
SATURATED = 0.9  # claim 7: a null union at or above this share of D decides nothing (methods#claim-7)
TRIVIAL_SHARE = 1 - 1e-9  # claim 8: a share this close to 1 is 1 by construction (methods#claim-8)
SUPPORTS, PARTLY_SUPPORTS, CONTRADICTS = "supports", "partly supports", "contradicts"
# Claim 9's latent reading per class: the statuses of the run's ``latent_classes`` table.
RELATION, NO_RELATION, OPPOSITE, LATENT_UNTESTABLE = "relation", "no relation", "opposite", "untestable"
MIRRORED = "mirrored"  # a binary table whose two classes read relation and opposite: one contrast
CNN_LATENT = "pre-pool"  # the network reading that decides claim 9 (the pooled one is shown beside)
TABLE_LATENT = "table"

CELL = ["dataset", "model", "method", "class_index"]
RUN = ["dataset", "model", "method", "repeat"]


def about(value, x: float):
    """Whether ``value`` is about ``x``: within a factor ``ABOUT`` of it."""
    return (np.asarray(value) >= x / ABOUT) & (np.asarray(value) <= x * ABOUT)


def share_verdict(fraction: float) -> str:
    if fraction is None or np.isnan(fraction):
        return UNTESTABLE
    return HOLDS if fraction >= MOSTLY else PARTLY if fraction >= SOME else FAILS


def graded_verdict(grades: pd.Series) -> str:
    """Cells graded supports / partly supports / contradicts: holds when at least ``MOSTLY``
    support, partly when at least ``SOME`` support at least partly."""
    if not len(grades):
        return UNTESTABLE
    support = (grades == SUPPORTS).mean()
    if support >= MOSTLY:
        return HOLDS
    return PARTLY if support + (grades == PARTLY_SUPPORTS).mean() >= SOME else FAILS


def combine(*verdicts: str) -> str:
    """A claim of several parts: holds when every tested part holds, does not hold when every
    tested part does not, partly otherwise."""
    tested = [v for v in verdicts if v != UNTESTABLE]
    if not tested:
        return UNTESTABLE
    if all(v == HOLDS for v in tested):
        return HOLDS
    if all(v == FAILS for v in tested):
        return FAILS
    return PARTLY


def range_verdict(low: float, high: float, paper_low: float, paper_high: float) -> tuple[str, bool, bool]:
    """A range claim on both ends (methods#about): the lowest and the highest measured cell each
    about the paper's end; both: holds, one: partly, none: does not hold. Containment alone
    decides nothing."""
    if np.isnan(low) or np.isnan(high):
        return UNTESTABLE, False, False
    low_ok, high_ok = bool(about(low, paper_low)), bool(about(high, paper_high))
    return (HOLDS if low_ok and high_ok else PARTLY if low_ok or high_ok else FAILS), low_ok, high_ok


def reverses(verdict: str, other: str) -> bool:
    """A reading reverses a verdict when it moves it between holds and does not hold."""
    return {verdict, other} == {HOLDS, FAILS}


# ---------------------------------------------------------------- inputs and results
@dataclass(frozen=True)
class RuleReading:
    """What a reading of the sensitivity table changes for the rules (methods#readings): the
    required-CE figures come from the metrics reading ``metrics`` (the audit swaps them in),
    claim 8 reads the share column ``share``, claim 6 is judged against 100% or the ceiling,
    and the claim-7 curve exists under the default sets only."""

    name: str = "default"
    metrics: str = "default"
    share: str = "top_share"
    svm_target: str = "paper"  # "paper": about 100%; "ceiling": about its ceiling n_SV0 / D
    default_sets: bool = True


@dataclass(frozen=True)
class Tables:
    """The rows a rule may use, each with ``family`` (cnn, lg, svm), ``group`` and ``repeat``:
    per-class figures (``classes``), claim 7's union curves (``curve``) and claim 9's latent
    reading per class (``latent``)."""

    classes: pd.DataFrame
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    latent: pd.DataFrame = field(default_factory=pd.DataFrame)

    def of(self, *families: str) -> "Tables":
        return Tables(*(_of(t, families) for t in (self.classes, self.curve, self.latent)))

    def repeat(self, repeat) -> "Tables":
        return Tables(*(t[t["repeat"] == repeat] if len(t) else t for t in (self.classes, self.curve, self.latent)))

    def repeats(self) -> list:
        found = [r for t in (self.classes, self.curve, self.latent) if len(t) for r in t["repeat"].unique()]
        return sorted(set(found))


def _of(frame: pd.DataFrame, families) -> pd.DataFrame:
    return frame[frame["family"].isin(families)] if len(frame) else frame


@dataclass
class ClaimResult:
    """A rule's outcome: the verdict, the numbers behind it (``figures``, named), the cells it
    judged (``cells``, for the claim's section), its parts' verdicts, what it left out and why
    (``left_out``: reason -> count), and ``missing``: why it could not be judged (a key of
    ``wording.MISSING``) when the verdict is ``UNTESTABLE``."""

    number: int
    verdict: str
    figures: dict = field(default_factory=dict)
    cells: pd.DataFrame = field(default_factory=pd.DataFrame)
    parts: dict = field(default_factory=dict)
    left_out: dict = field(default_factory=dict)
    missing: str = ""
    datasets: list = field(default_factory=list)  # the data sets it rests on (links to their pages)


def untestable(number: int, missing: str, **left_out) -> ClaimResult:
    return ClaimResult(number, UNTESTABLE, missing=missing, left_out={k: v for k, v in left_out.items() if v})


# ---------------------------------------------------------------- cells
def class_cells(frame: pd.DataFrame, value: str, count: str = "n_tp", by=CELL) -> tuple[pd.DataFrame, dict]:
    """Mean and sd over repeats of ``value`` per class cell, without the cells that have no
    value (no TP) or are thin (fewer than ``MIN_TPS`` of ``count`` in some repeat); returns the
    cells and ``{"no TP": n, "thin": n}``."""
    by = list(by)
    if frame.empty:
        return pd.DataFrame(columns=by + [value, f"{value}_sd", "tps", "repeats"]), {}
    per = frame.groupby(by + ["repeat"], observed=True).agg(v=(value, "mean"), n=(count, "min")).reset_index()
    out = per.groupby(by, observed=True).agg(**{value: ("v", "mean"), f"{value}_sd": ("v", "std"),
                                                "tps": ("n", "min"), "repeats": ("repeat", "nunique")}).reset_index()
    no_tp = out[value].isna()
    thin = ~no_tp & (out["tps"] < MIN_TPS)
    return out[~no_tp & ~thin].reset_index(drop=True), _merge_counts({"no TP": no_tp.sum(), "thin": thin.sum()})


def _with_group(cells: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    groups = frame.drop_duplicates(["dataset", "model", "class_index"])[["dataset", "model", "class_index", "group"]]
    return cells.merge(groups, on=["dataset", "model", "class_index"], how="left")


def _merge_counts(*counts: Mapping[str, int]) -> dict:
    out: dict = {}
    for c in counts:
        for k, v in c.items():
            out[k] = out.get(k, 0) + int(v)
    return {k: v for k, v in out.items() if v}


def paired(frame: pd.DataFrame, value: str, count: str = "n_tp") -> tuple[pd.DataFrame, dict]:
    """Base and each over-sampling method on the same data set, model, class and repeat
    (methods#verdicts): a pair enters only when both runs are in ``frame`` (the audit keeps
    healthy runs) and both have a value; a class cell thin on either side is left out. Returns
    one row per (data set, model, method, class, group) with the method's and base's mean over
    the repeats of its pairs, and the counts left out."""
    keys = ["dataset", "model", "repeat", "class_index", "group"]
    base = frame[frame["method"] == "base"][keys + [value, count]]
    others = frame[frame["method"] != "base"]
    if base.empty or others.empty:
        return pd.DataFrame(columns=keys[:2] + ["method", "class_index", "group", value, "base_value", "tps"]), {}
    both = others[keys + ["method", value, count]].merge(base, on=keys, how="left", suffixes=("", "_base"))
    no_pair = both[f"{value}_base"].isna() | both[value].isna()
    tps = both[[count, f"{count}_base"]].min(axis=1)
    both = both.assign(tps=tps)
    cell = ["dataset", "model", "method", "class_index", "group"]
    per = both[~no_pair].groupby(cell, observed=True).agg(
        **{value: (value, "mean"), "base_value": (f"{value}_base", "mean"), "tps": ("tps", "min"),
           "repeats": ("repeat", "nunique")}).reset_index()
    lost = both[no_pair].groupby(cell, observed=True).size()
    lost = lost[~lost.index.isin(per.set_index(cell).index)] if len(per) else lost
    thin = per["tps"] < MIN_TPS
    return per[~thin].reset_index(drop=True), _merge_counts({"no TP on one side": len(lost), "thin": thin.sum()})


def _datasets(*frames: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(d for f in frames if len(f) for d in f["dataset"]))


# ---------------------------------------------------------------- claims 1 to 6
def claim_1(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """CNN: about 12% or fewer of CE carry a TP, majority and minority alike: a class cell passes
    at most ``ABOUT`` x 12% (methods#claim-1)."""
    cnn = t.of("cnn").classes
    if cnn.empty:
        return untestable(1, "no image data")
    c, left = class_cells(cnn, "required_pct")
    if c.empty:
        return untestable(1, "no cell", **left)
    limit = paper.CNN_REQUIRED_MAX_PCT * ABOUT
    c["passes"] = c["required_pct"] <= limit
    worst = c.loc[c["required_pct"].idxmax()]
    return ClaimResult(1, share_verdict(c["passes"].mean()), {
        "mean_pct": float(c["required_pct"].mean()), "passing": int(c["passes"].sum()), "cells": len(c),
        "limit_pct": limit, "largest_pct": float(worst["required_pct"]), "largest_class": int(worst["class_index"]),
        "largest_method": worst["method"], "largest_dataset": worst["dataset"]}, c, left_out=left,
        datasets=_datasets(cnn))


def _has_base_and_oversampling(frame: pd.DataFrame) -> bool:
    return "base" in set(frame["method"]) and len(set(frame["method"]) - {"base"}) > 0


def claim_2(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """Image over-sampling does not meaningfully change the CE per TP: each method's group mean
    within ``MEANINGFUL_PP`` of base's, on paired classes (methods#claim-2)."""
    cnn = t.of("cnn").classes
    if cnn.empty:
        return untestable(2, "no image data")
    if not _has_base_and_oversampling(cnn):
        return untestable(2, "no base and over-sampling pair")
    pairs, left = paired(cnn, "required_pct")
    if pairs.empty:
        return untestable(2, "no paired cell", **left)
    shifts = pairs.groupby(["dataset", "method", "group"], observed=True, sort=False)[
        ["required_pct", "base_value"]].mean().reset_index()
    shifts["shift"] = shifts["required_pct"] - shifts["base_value"]
    shifts["passes"] = shifts["shift"].abs() <= MEANINGFUL_PP
    return ClaimResult(2, share_verdict(shifts["passes"].mean()), {
        "passing": int(shifts["passes"].sum()), "shifts": len(shifts),
        "largest_shift": float(shifts.loc[shifts["shift"].abs().idxmax(), "shift"])}, shifts, left_out=left,
        datasets=_datasets(cnn))


def claim_3(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """LG needs from 2.5% to about 40% of CE per TP: the lowest and the highest class cell each
    about the paper's end (methods#claim-3)."""
    lg = t.of("lg").classes
    if lg.empty:
        return untestable(3, "no tabular data")
    c, left = class_cells(lg, "required_pct")
    if c.empty:
        return untestable(3, "no cell", **left)
    low, high = float(c["required_pct"].min()), float(c["required_pct"].max())
    verdict, low_ok, high_ok = range_verdict(low, high, *paper.LG_REQUIRED_RANGE_PCT)
    return ClaimResult(3, verdict, {"low_pct": low, "high_pct": high, "low_about": low_ok, "high_about": high_ok,
                                    "cells": len(c)}, c, left_out=left, datasets=_datasets(lg))


def _gaps(cells: pd.DataFrame, value: str, keys=("dataset", "method")) -> tuple[pd.DataFrame, dict]:
    """Minority minus majority of the group means of ``value`` per ``keys``, and the count of
    group cells left out because the other group has none (its cells thin or unpaired: no gap)."""
    g = cells.groupby(list(keys) + ["group"], observed=True)[value].mean().unstack("group")
    frame = pd.DataFrame({"majority": g.get("majority", np.nan), "minority": g.get("minority", np.nan)}).assign(
        gap=lambda f: f["minority"] - f["majority"])
    complete = frame["gap"].notna()
    alone = int(frame.loc[~complete, ["majority", "minority"]].notna().to_numpy().sum())
    return frame[complete].reset_index(), {"no other group": alone}


def claim_4(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """LG: minority TPs need more CE than majority TPs on every data set, with and without
    over-sampling: the gap is positive in a data set x method cell (methods#claim-4)."""
    lg = t.of("lg").classes
    if lg.empty:
        return untestable(4, "no tabular data")
    c, left = class_cells(lg, "required_pct")
    gaps, alone = _gaps(_with_group(c, lg), "required_pct")
    left = _merge_counts(left, alone)
    if gaps.empty:
        return untestable(4, "no cell", **left)
    gaps["passes"] = gaps["gap"] > 0
    return ClaimResult(4, share_verdict(gaps["passes"].mean()), {"passing": int(gaps["passes"].sum()),
                                                                  "cells": len(gaps)}, gaps, left_out=left,
                       datasets=_datasets(lg))


def claim_5(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """LG: over-sampling narrows the majority/minority gap: narrower than base's on the same
    classes and repeats (methods#claim-5)."""
    lg = t.of("lg").classes
    if lg.empty:
        return untestable(5, "no tabular data")
    if not _has_base_and_oversampling(lg):
        return untestable(5, "no base and over-sampling pair")
    pairs, left = paired(lg, "required_pct")
    method_gap, alone = _gaps(pairs, "required_pct")  # base's cells are the same pairs'
    left = _merge_counts(left, alone)
    base_gap = _gaps(pairs, "base_value")[0].rename(columns={"gap": "base_gap", "majority": "base_majority",
                                                             "minority": "base_minority"})
    both = method_gap.merge(base_gap, on=["dataset", "method"])
    if both.empty:
        return untestable(5, "no paired cell", **left)
    both["passes"] = both["gap"].abs() < both["base_gap"].abs()
    return ClaimResult(5, share_verdict(both["passes"].mean()), {"passing": int(both["passes"].sum()),
                                                                  "cells": len(both)}, both, left_out=left,
                       datasets=_datasets(lg))


CLAIM_6_RESAMPLED = ("smote", "adasyn")  # part B's methods, the paper's
CLAIM_6_METHODS = ("base", *CLAIM_6_RESAMPLED)  # every method claim 6 reads


def claim_6(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """SVM: base models need nearly all CE for the majority class (part A: about 100%, or about
    the ceiling n_SV0 / D under the reading "SVM against its ceiling"); with SMOTE or ADASYN
    both classes need about 40% (part B) (methods#claim-6)."""
    svm = t.of("svm").classes
    if svm.empty:
        return untestable(6, "no tabular data")
    # only the methods the rule reads: a thin ReMix cell is no cell this claim leaves out
    svm = svm[svm["method"].isin(CLAIM_6_METHODS)]
    c, left = class_cells(svm, "required_pct")
    c = _with_group(c, svm)
    ceiling, _ = class_cells(svm, "ceiling_pct") if "ceiling_pct" in svm else (pd.DataFrame(), {})
    if len(ceiling):
        c = c.merge(ceiling[CELL + ["ceiling_pct"]], on=CELL, how="left")
    else:
        c["ceiling_pct"] = np.nan
    base = c[(c["method"] == "base") & (c["group"] == "majority")].copy()
    target = base["ceiling_pct"] if reading.svm_target == "ceiling" else paper.SVM_BASE_MAJORITY_PCT
    base["passes"] = base["required_pct"] >= np.asarray(target) / ABOUT  # "nearly all": about 100%, never above
    resampled = c[c["method"].isin(CLAIM_6_RESAMPLED)].copy()
    resampled["passes"] = about(resampled["required_pct"], paper.SVM_RESAMPLED_PCT)
    part_a = share_verdict(base["passes"].mean()) if len(base) else UNTESTABLE
    part_b = share_verdict(resampled["passes"].mean()) if len(resampled) else UNTESTABLE
    verdict = combine(part_a, part_b)
    if verdict == UNTESTABLE:
        return untestable(6, "no cell", **left)
    cells = pd.concat([base.assign(part="A"), resampled.assign(part="B")], ignore_index=True)
    return ClaimResult(6, verdict, {
        "base_majority_pct": float(base["required_pct"].mean()) if len(base) else np.nan,
        "ceiling_pct": float(base["ceiling_pct"].mean()) if len(base) else np.nan,
        "resampled_low_pct": float(resampled["required_pct"].min()) if len(resampled) else np.nan,
        "resampled_high_pct": float(resampled["required_pct"].max()) if len(resampled) else np.nan,
        "against_ceiling": reading.svm_target == "ceiling",
        "ceilings": {ds: float(v) for ds, v in base.groupby("dataset")["ceiling_pct"].mean().items()}},
        cells, {"A": part_a, "B": part_b}, left, datasets=_datasets(svm))


# ---------------------------------------------------------------- claim 7
def matched_cells(curve: pd.DataFrame, classes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Claim 7 per cell (data set x model x method x group) at one matched number m of TPs
    (methods#claim-7): the largest m that every class of the cell reaches in every repeat and
    at which, for each of them, the null's mean union stays below ``SATURATED`` x D.

    ``classes`` gives each class's instance-level count over its TPs with k >= 1
    (``required_pct_nonzero``) and their number (``n_tp_nonzero``); TPs with k = 0 enter
    neither count. At m, the class level is the data's union of m drawn TPs' required sets
    (``union_pct``, averaged over draws), the null's the same TPs with permuted feature axes.
    R = class level / instance level, both averaged over the cell's classes and repeats;
    "below the null" means the data's class level lies under the null's 2.5th percentile
    (over replicates; each replicate averaged over the cell's classes and repeats alike).
    Returns one row per cell with R, the null's R, the position p and the grade, and the
    counts of classes left out (thin: fewer than ``MIN_TPS`` TPs with k >= 1 in a repeat)."""
    keys = ["dataset", "model", "method", "group"]
    inst, left = class_cells(classes, "required_pct_nonzero", count="n_tp_nonzero")
    inst = _with_group(inst, classes)
    rows = []
    untested = 0
    for cell, part in inst.groupby(keys, observed=True, sort=False):
        ds, model, method, group = cell
        kept = part["class_index"].tolist()
        c = curve[(curve["dataset"] == ds) & (curve["model"] == model) & (curve["method"] == method)
                  & curve["class_index"].isin(kept)]
        ok = c.assign(fits=c["null_mean_pct"] < 100 * SATURATED).groupby("m")
        reached = ok.apply(lambda f: len(f) == len(kept) * f["repeat"].nunique() and f["fits"].all()
                           and f.groupby("class_index")["repeat"].nunique().eq(c["repeat"].nunique()).all(),
                           include_groups=False)
        fitting = [m for m, good in reached.items() if good]
        instance = float(part["required_pct_nonzero"].mean())
        row = {"dataset": ds, "model": model, "method": method, "group": group, "classes": len(kept),
               "instance_pct": instance}
        if not fitting:
            untested += 1
            rows.append({**row, "m": np.nan, "grade": UNTESTABLE})
            continue
        m = max(fitting)
        at = c[c["m"] == m]
        union, null_mean = float(at["union_pct"].mean()), float(at["null_mean_pct"].mean())
        null_low = _null_quantile(at, 0.025)
        r = union / instance
        row.update(m=m, union_pct=union, null_mean_pct=null_mean, null_low_pct=null_low,
                   R=r, R_null=null_mean / instance, below_null=union < null_low,
                   p=(r - 1) / (null_mean / instance - 1) if null_mean != instance else np.nan)
        row["grade"] = CONTRADICTS if r < paper.CLASS_LEVEL_MUCH_LARGER else (
            PARTLY_SUPPORTS if row["below_null"] else SUPPORTS)
        rows.append(row)
    return pd.DataFrame(rows), _merge_counts(left, {"not testable here": untested})


def _null_quantile(at: pd.DataFrame, q: float) -> float:
    """The q-quantile of the cell's null class level: over replicates, each the mean over the
    cell's classes and repeats (from ``null_union_pct``, the replicates of each class) when the
    replicates are stored, else the mean of the classes' own quantiles (a lower bound)."""
    if "null_union_pct" in at and at["null_union_pct"].map(lambda v: v is not None and len(v) > 0).all():
        stacked = np.stack([np.asarray(v, dtype=float) for v in at["null_union_pct"]])
        return float(np.quantile(stacked.mean(0), q))
    return float(at["null_low_pct"].mean())


def claim_7(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """The class-level count is much larger than the instance-level count (paper Figure 4,
    images): judged at matched TP counts against R = 1 (invariant features) and the null
    (any combination of terms) (methods#claim-7)."""
    cnn = t.of("cnn")
    if cnn.classes.empty:
        return untestable(7, "no image data")
    if not reading.default_sets:
        return untestable(7, "sets of another reading")
    if cnn.curve.empty:
        return untestable(7, "no union curve")
    cells, left = matched_cells(cnn.curve, cnn.classes)
    judged = cells[cells["grade"] != UNTESTABLE] if len(cells) else cells
    if judged.empty:
        return untestable(7, "null saturates", **left)
    return ClaimResult(7, graded_verdict(judged["grade"]), {
        "R": float(judged["R"].mean()), "R_null": float(judged["R_null"].mean()), "p": float(judged["p"].mean()),
        "supports": int((judged["grade"] == SUPPORTS).sum()), "partly": int((judged["grade"] == PARTLY_SUPPORTS).sum()),
        "contradicts": int((judged["grade"] == CONTRADICTS).sum()), "cells": len(judged),
        "m": sorted({int(m) for m in judged["m"]}), "k0": int(cnn.classes["n_k0"].sum()) if "n_k0" in cnn.classes else 0,
        "judged": [tuple(map(str, c)) for c in judged[["dataset", "method", "group"]].itertuples(index=False)]},
        cells, left_out=left, datasets=_datasets(cnn.classes))


# ---------------------------------------------------------------- claim 8
def top_share_by_family(classes: pd.DataFrame, col: str = "top_share") -> pd.DataFrame:
    """Claim 8's figure per family, in percent: the mean over non-trivial, non-thin class cells
    (the verdict's), over every such cell with the trivial ones, and the count of trivial
    cells. Every page that quotes a family's share reads it here."""
    rows = []
    for fam in [f for f in paper.TOP_SHARE if len(classes) and f in set(classes["family"])]:
        c, _ = class_cells(classes[classes["family"] == fam], col)
        trivial = c[col] >= TRIVIAL_SHARE
        rows.append({"family": fam, "share_pct": 100 * c.loc[~trivial, col].mean() if (~trivial).any() else np.nan,
                     "share_pct_all": 100 * c[col].mean() if len(c) else np.nan, "trivial_cells": int(trivial.sum()),
                     "cells": len(c), "paper_pct": paper.pct(paper.TOP_SHARE[fam])})
    return pd.DataFrame(rows, columns=["family", "share_pct", "share_pct_all", "trivial_cells", "cells", "paper_pct"])


def claim_8(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """The top 10% of CE carry about 66.7% (images), 62.8% (LG) and 31.6% (SVM) of the
    supporting sum, and from about 40% to about 80% for LG and CNN classes; trivial cells
    (share 1 by construction) are left out and counted (methods#claim-8)."""
    col = reading.share
    classes = t.classes
    if classes.empty:
        return untestable(8, "no cell")
    families = top_share_by_family(classes, col)
    left = {}
    for fam in families["family"]:
        _, l = class_cells(classes[classes["family"] == fam], col)
        left = _merge_counts(left, l)
    families["passes"] = [bool(about(s, x)) for s, x in zip(families["share_pct"], families["paper_pct"])]
    averages = combine(*[HOLDS if p else FAILS for p, s in zip(families["passes"], families["share_pct"])
                         if not np.isnan(s)])
    in_range, _ = class_cells(classes[classes["family"].isin(["cnn", "lg"])], col)
    in_range = in_range[in_range[col] < TRIVIAL_SHARE]
    low, high = (float(100 * in_range[col].min()), float(100 * in_range[col].max())) if len(in_range) else (np.nan, np.nan)
    range_part, low_ok, high_ok = range_verdict(low, high, *(paper.pct(s) for s in paper.TOP_SHARE_RANGE))
    verdict = combine(averages, range_part)
    if verdict == UNTESTABLE:
        return untestable(8, "no cell", **left)
    trivial = int(families["trivial_cells"].sum())
    return ClaimResult(8, verdict, {"families": families.to_dict("records"), "range_low_pct": low,
                                    "range_high_pct": high, "low_about": low_ok, "high_about": high_ok,
                                    "trivial": trivial},
                       families, {"averages": averages, "range": range_part}, {**left, "trivial": trivial},
                       datasets=_datasets(classes))


# ---------------------------------------------------------------- claim 9
def mirrored_pair(statuses) -> bool:
    """Whether a binary table's two class statuses read relation and opposite: one contrast
    that either class may carry (methods#latent-reading)."""
    statuses = list(statuses)
    return len(statuses) == 2 and set(statuses) == {RELATION, OPPOSITE}


def latent_cells(latent: pd.DataFrame, reading_name: str) -> pd.DataFrame:
    """Claim 9's latent reading per class and repeat (one reading per trained extractor or
    table split), with binary tables' mirrored pairs marked: a table whose two classes read
    relation and opposite is one contrast, either class may carry it (methods#latent-reading)."""
    part = latent[latent["reading"] == reading_name].copy() if len(latent) else latent
    if part.empty:
        return part.assign(verdict=pd.Series(dtype=object))
    part["verdict"] = part["status"]
    if reading_name == TABLE_LATENT:
        pairs = part.groupby(["dataset", "repeat"])["status"].agg(mirrored_pair)
        mirrored = part.set_index(["dataset", "repeat"]).index.map(pairs.to_dict().get).fillna(False).astype(bool)
        part.loc[np.asarray(mirrored), "verdict"] = MIRRORED
    return part


def claim_9(t: Tables, reading: RuleReading = RuleReading()) -> ClaimResult:
    """Frequency and magnitude decline together for CNN features, not for tabular data, read on
    the latent features (methods#latent-reading): the CNN part on the share of testable classes
    (over extractors and seeds) whose pre-pool reading reads *relation*, the tabular part on
    the share of testable classes (over data sets and splits) that do not (a mirrored pair
    counts as not *relation*) (methods#claim-9)."""
    latent = t.latent
    if latent.empty:
        return untestable(9, "no latent reading")
    parts, figures, cells, left = {}, {}, [], {}
    for name, fam, reading_name, wanted in (("CNN", ("cnn",), CNN_LATENT, True),
                                            ("tabular", ("lg", "svm"), TABLE_LATENT, False)):
        c = latent_cells(_of(latent, fam), reading_name)
        if c.empty:
            continue
        testable = c[c["verdict"] != LATENT_UNTESTABLE]
        left[f"untestable ({name})"] = int((c["verdict"] == LATENT_UNTESTABLE).sum())
        shows = testable["verdict"] == RELATION
        share = (shows if wanted else ~shows).mean() if len(testable) else np.nan
        parts[name] = share_verdict(share)
        figures[name] = {"testable": len(testable), "relation": int(shows.sum()),
                         "opposite": int((testable["verdict"] == OPPOSITE).sum()),
                         "mirrored": int((testable["verdict"] == MIRRORED).sum()),
                         "no_relation": int((testable["verdict"] == NO_RELATION).sum())}
        cells.append(c.assign(part=name))
    if not parts:
        return untestable(9, "no latent reading")
    verdict = combine(*parts.values())
    return ClaimResult(9, verdict, figures, pd.concat(cells, ignore_index=True), parts,
                       {k: v for k, v in left.items() if v}, datasets=_datasets(latent))


CLAIMS: dict[int, Callable[[Tables, RuleReading], ClaimResult]] = {
    1: claim_1, 2: claim_2, 3: claim_3, 4: claim_4, 5: claim_5, 6: claim_6, 7: claim_7, 8: claim_8, 9: claim_9}
# The model families each claim rests on; a claim that spans images and tables is judged per
# repeat within each part (images repeat over seeds, tables over splits).
FAMILIES = {1: ("cnn",), 2: ("cnn",), 3: ("lg",), 4: ("lg",), 5: ("lg",), 6: ("svm",), 7: ("cnn",),
            8: ("cnn", "lg", "svm"), 9: ("cnn", "lg", "svm")}
# The methods a claim's rule reads where it reads fewer than every base and over-sampling run
# (the evidence counts the runs a rule could use, no others).
METHODS = {6: CLAIM_6_METHODS}


def parts_of(number: int) -> list[tuple[str, ...]]:
    """The parts a claim is repeated within: images (seeds) and tabular data (splits)."""
    families = FAMILIES[number]
    parts = [tuple(f for f in families if f == "cnn"), tuple(f for f in families if f != "cnn")]
    return [p for p in parts if p]


@dataclass(frozen=True)
class RepeatVerdict:
    part: str  # "images" or "tabular"
    repeat: int
    verdict: str


def per_repeat(number: int, t: Tables, reading: RuleReading = RuleReading()) -> list[RepeatVerdict]:
    """The claim's rule on each repeat of each of its parts alone (methods#repeats); repeats
    where it cannot be judged are left out."""
    out = []
    for part in parts_of(number):
        sub = t.of(*part)
        for repeat in sub.repeats():
            verdict = CLAIMS[number](sub.repeat(repeat), reading).verdict
            if verdict != UNTESTABLE:
                out.append(RepeatVerdict("images" if part == ("cnn",) else "tabular", int(repeat), verdict))
    return out

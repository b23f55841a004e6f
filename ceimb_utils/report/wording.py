"""Every sentence, table row and CSV row of the claims audit, from the rules' typed results.

The one place that words the audit: every figure is read from a result, from the rules'
thresholds (``rules``) or from the paper's numbers (``paper``), never typed, and no sentence is
parsed back. Links are built here for HTML and left out for the CSV, from the same rows.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from markdown_it import MarkdownIt

from .. import paper
from ..questions import and_list
from ..ce.latent import MIN_FEATURES
from ..files import atomic_path
from . import rules
from .audit import MAX_FALSE_POSITIVES, ClaimAudit, DataUsed, Evidence
from .health import FLOOR_EXAMPLES, balanced_accuracy_floor
from .rules import ABOUT, MEANINGFUL_PP, MIN_TPS, MOSTLY, SOME, ClaimResult

PCT = "{:.1f}%"


def _pct(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else PCT.format(x)


def span(values, fmt: str = "{:.1f}", empty: str = "—") -> str:
    """'low to high' of ``values`` in ``fmt``, one value where both ends read the same, ``empty``
    where there is none."""
    values = pd.Series(values, dtype=float).dropna()
    if not len(values):
        return empty
    low, high = fmt.format(values.min()), fmt.format(values.max())
    return low if low == high else f"{low} to {high}"


def count_of(count: int, word: str, plural: str | None = None) -> str:
    """'1 class cell', '2 class cells'."""
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _about(x: float) -> str:
    """The interval that "about x" stands for."""
    return f"{x / ABOUT:.1f}% to {x * ABOUT:.1f}%"


def _g(x: float) -> str:
    return f"{x:g}"


# ---------------------------------------------------------------- what each claim says
CNN_MAX, (LG_LOW, LG_HIGH) = paper.CNN_REQUIRED_MAX_PCT, paper.LG_REQUIRED_RANGE_PCT
SHARE = {f: paper.pct(s) for f, s in paper.TOP_SHARE.items()}
SHARE_LOW, SHARE_HIGH = (paper.pct(s) for s in paper.TOP_SHARE_RANGE)
MUCH = paper.CLASS_LEVEL_MUCH_LARGER

TITLES = {
    1: f"CNN: about {_g(CNN_MAX)}% or fewer of CE carry a TP prediction, majority and minority classes alike",
    2: "Image over-sampling (ReMix, EOS, DSM) does not meaningfully change that percentage",
    3: f"LG: {_g(LG_LOW)}% to about {_g(LG_HIGH)}% of CE per instance across tabular data sets",
    4: "LG: minority instances need more CE than majority instances, on every data set",
    5: "LG: over-sampling narrows the majority/minority gap",
    6: f"SVM: base models need nearly {_g(paper.SVM_BASE_MAJORITY_PCT)}% of CE for the majority class; with "
       f"SMOTE/ADASYN both classes need about {_g(paper.SVM_RESAMPLED_PCT)}%",
    7: "The class-level CE count is much larger than the instance-level count, majority and minority",
    8: f"Top-10% share: images about {SHARE['cnn']}%, LG about {SHARE['lg']}%, SVM about {SHARE['svm']}%; LG and "
       f"CNN between about {_g(SHARE_LOW)}% and {_g(SHARE_HIGH)}%",
    9: "Frequency and magnitude decline together for CNN features (with and without over-sampling), not for "
       "tabular data",
}
SHORT_TITLES = {
    1: f"CNN: ≤ about {_g(CNN_MAX)}% of CE carry a TP", 2: "Image over-sampling leaves that unchanged",
    3: f"LG: {_g(LG_LOW)}% to {_g(LG_HIGH)}% of CE", 4: "LG: minority needs more CE",
    5: "LG: over-sampling narrows the gap",
    6: f"SVM: ~{_g(paper.SVM_BASE_MAJORITY_PCT)}% base majority, ~{_g(paper.SVM_RESAMPLED_PCT)}% resampled",
    7: "Class level exceeds instance level",
    8: f"Top-10% share: {SHARE['cnn']} / {SHARE['lg']} / {SHARE['svm']}%",
    9: "Frequency and magnitude together (CNN), not tabular",
}
PAPER_SAYS = {
    1: f"≤ {_g(CNN_MAX)}% for every class but CIFAR-10 'cat'",
    2: "no meaningful change",
    3: f"{_g(LG_LOW)}% to just over {_g(LG_HIGH)}%",
    4: "true on all five data sets, with and without over-sampling",
    5: "narrower with every method",
    6: f"≈{_g(paper.SVM_BASE_MAJORITY_PCT)}% (base majority); ≈{_g(paper.SVM_RESAMPLED_PCT)}% (SMOTE, ADASYN)",
    7: "much larger, everywhere (Figure 4, images)",
    8: f"{SHARE['cnn']}% / {SHARE['lg']}% / {SHARE['svm']}%; {_g(SHARE_LOW)}% to over {_g(SHARE_HIGH)}%",
    9: "clear for CIFAR-10; absent for tabular data",
}
FAMILY_NAMES = {"cnn": "CNN", "lg": "LG", "svm": "SVM"}

# Why a claim could not be judged (``ClaimResult.missing``), in words.
MISSING = {
    "no image data": "no image data set in this profile",
    "no tabular data": "no tabular data set in this profile",
    "no base and over-sampling pair": "needs the base model and at least one over-sampling method on the same data",
    "no cell": "every class cell was left out (no TP or thin)",
    "no paired cell": "no class has a TP under both the base model and a method in the same repeat",
    "sets of another reading": "the union curves are computed under the default sets only",
    "no union curve": "the runs have no union curves (computed by this version's analysis)",
    "null saturates": "in every cell, even at the smallest number of TPs, the null's union reaches "
                      f"{rules.SATURATED:.0%} of D: a saturated null decides nothing",
    "no latent reading": "the runs have no latent reading",
    "no model learned": "no model learned (every run the claim would use is unhealthy)",
}


# ---------------------------------------------------------------- the figure behind each verdict
def _ours_1(r: ClaimResult, short: bool) -> str:
    f = r.figures
    if short:
        return f"{_pct(f['mean_pct'])} per TP; ≤ {_pct(f['limit_pct'])} in {f['passing']}/{f['cells']} cells"
    return (f"{_pct(f['mean_pct'])} of CE per TP (mean of {f['cells']} class cells); {f['passing']} of {f['cells']} "
            f"at most {_pct(f['limit_pct'])}; the largest {_pct(f['largest_pct'])} (class {f['largest_class']}, "
            f"{f['largest_method']}, {f['largest_dataset']})")


def _ours_2(r: ClaimResult, short: bool) -> str:
    f = r.figures
    if short:
        return f"{f['passing']}/{f['shifts']} shifts within {_g(MEANINGFUL_PP)} pp (largest {f['largest_shift']:+.1f} pp)"
    return "; ".join(f"{c.dataset} {c.method} {c.group}: {c.shift:+.1f} pp" for c in r.cells.itertuples())


def _ours_3(r: ClaimResult, short: bool) -> str:
    f = r.figures
    ends = f"{_pct(f['low_pct'])} to {_pct(f['high_pct'])}"
    if short:
        return f"{ends} (paper {_g(LG_LOW)}% to {_g(LG_HIGH)}%)"
    return (f"lowest class cell {_pct(f['low_pct'])} ({'about' if f['low_about'] else 'not about'} {_g(LG_LOW)}%), "
            f"highest {_pct(f['high_pct'])} ({'about' if f['high_about'] else 'not about'} {_g(LG_HIGH)}%), over "
            f"{f['cells']} class cells")


def _ours_4(r: ClaimResult, short: bool) -> str:
    f = r.figures
    if short:
        return f"minority above majority in {f['passing']}/{f['cells']}"
    return "; ".join(f"{c.dataset} {c.method}: {c.gap:+.1f} pp" for c in r.cells.itertuples())


def _ours_5(r: ClaimResult, short: bool) -> str:
    f = r.figures
    if short:
        return f"narrower in {f['passing']}/{f['cells']}"
    return "; ".join(f"{c.dataset} {c.method}: {c.base_gap:+.1f} → {c.gap:+.1f} pp" for c in r.cells.itertuples())


def _ours_6(r: ClaimResult, short: bool) -> str:
    f = r.figures
    ceiling = f" (ceiling n_SV0 / D: {_pct(f['ceiling_pct'])})" if not np.isnan(f["ceiling_pct"]) else ""
    base = f"base majority {_pct(f['base_majority_pct'])}{ceiling}" if not np.isnan(f["base_majority_pct"]) else "no base model"
    resampled = (f"SMOTE/ADASYN {_pct(f['resampled_low_pct'])} to {_pct(f['resampled_high_pct'])}"
                 if not np.isnan(f["resampled_low_pct"]) else "no SMOTE/ADASYN")
    return f"{base}; {resampled}"


def judged_cells(judged: list[tuple[str, str, str]], untested: int = 0) -> str:
    """Which cells claim 7 judged, by group: 'majority under base and remix; 6 not testable'
    (the data set named where there are several)."""
    several = len({d for d, _, _ in judged}) > 1
    by: dict[str, list[str]] = {}
    for dataset, method, group in judged:
        by.setdefault(group, []).append(f"{method} ({dataset})" if several else method)
    text = "; ".join(f"{group} under {and_list(list(dict.fromkeys(methods)))}" for group, methods in by.items())
    return text + (f"; {untested} not testable" if untested else "")


def _ours_7(r: ClaimResult, short: bool) -> str:
    f = r.figures
    at = ", ".join(map(str, f["m"]))
    if short:  # the cells decide, not the mean R: a mean of 2.0x sits above cells below 2x and others above
        which = f" ({judged_cells(f['judged'], r.left_out.get('not testable here', 0))})" if f.get("judged") else ""
        return (f"R {f['R']:.1f}x at {at} TPs (null {f['R_null']:.1f}x); {f['contradicts']} of {f['cells']} cells "
                f"under {paper.CLASS_LEVEL_MUCH_LARGER:g}x{which}")
    which = f" ({judged_cells(f['judged'])})" if f.get("judged") else ""  # the long form's "Left out" counts the rest
    return (f"images: R {f['R']:.1f}x (null {f['R_null']:.1f}x), p {f['p']:.2f} (R's place between 1 and the null, "
            f"the mean over cells), at m = {at} TPs with k ≥ 1; "
            f"{f['supports']} of {f['cells']} cells support, {f['partly']} partly, {f['contradicts']} contradict{which}")


def _ours_8(r: ClaimResult, short: bool) -> str:
    f = r.figures
    parts = []
    for fam in f["families"]:
        name = FAMILY_NAMES[fam["family"]]
        if short:
            parts.append(f"{name} {_pct(fam['share_pct'])}")
        else:
            parts.append(f"{name} {_pct(fam['share_pct'])} (paper {fam['paper_pct']}%; {fam['trivial_cells']} of "
                         f"{fam['cells']} cells trivial, {_pct(fam['share_pct_all'])} with them)")
    if not short and not np.isnan(f["range_low_pct"]):
        parts.append(f"non-trivial LG/CNN cells {_pct(f['range_low_pct'])} to {_pct(f['range_high_pct'])}")
    return ("; " if not short else ", ").join(parts)


# What each part of claim 9 can show, beside its figure on the landing page (the audit's reasoning,
# ``_why_9``, gives it in full): a reader of the landing table alone must not take 59/60 for a law
# that training made, or a tabular "no relation" for the absence of a shared one.
SCOPE_9 = {"CNN": "a ReLU alone can make it", "tabular": "sees class-specific relations only"}


def _ours_9(r: ClaimResult, short: bool) -> str:
    out = []
    for name, f in r.figures.items():
        if name == "CNN":
            out.append(f"CNN {f['relation']}/{f['testable']} classes relation ({SCOPE_9['CNN']})" if short else
                       f"CNN (pre-pool features): relation in {f['relation']} of {f['testable']} testable classes, "
                       f"opposite in {f['opposite']}")
        else:
            out.append(f"tabular {f['relation']}/{f['testable']} classes relation ({SCOPE_9['tabular']})" if short else
                       f"tabular (columns, unit-free): no relation in {f['no_relation']}, opposite in {f['opposite']}, "
                       f"mirrored in {f['mirrored']} and relation in {f['relation']} of {f['testable']} testable classes")
    return "; ".join(out)


def latent_readings(cells: pd.DataFrame) -> str:
    """One latent reading's class readings (``rules.latent_cells``, over repeats) in words: the
    testable ones by what they read, then the untestable ones by why (too few features kept, or
    a rho that is undefined because the on-rates or the magnitudes when on are all equal, as a
    binary column's magnitudes are)."""
    untestable = cells[cells["verdict"] == rules.LATENT_UNTESTABLE]
    testable = cells.drop(untestable.index)
    counts = testable["verdict"].value_counts()
    text = (f"of {len(testable)} testable class readings (over repeats), "
            + ", ".join(f"{n} read *{s}*" for s, n in counts.items()) if len(testable)
            else f"none of {len(cells)} class readings (over repeats) is testable")
    if len(untestable) and len(testable):
        text += f"; {len(untestable)} untestable"
    few = int((untestable["n_kept"] < MIN_FEATURES).sum())
    why = [f"{few} with fewer than {MIN_FEATURES} features kept" if few else "",
           f"{len(untestable) - few} with all on-rates or all magnitudes when on equal (as in binary columns)"
           if len(untestable) > few else ""]
    why = [w for w in why if w]
    return text + (f": {', '.join(why)}" if why else "")


OURS: dict[int, Callable[[ClaimResult, bool], str]] = {1: _ours_1, 2: _ours_2, 3: _ours_3, 4: _ours_4, 5: _ours_5,
                                                        6: _ours_6, 7: _ours_7, 8: _ours_8, 9: _ours_9}


def ours(result: ClaimResult, short: bool = False) -> str:
    """The measured figure the verdict rests on (``short``: the landing page's)."""
    if result.verdict == rules.UNTESTABLE:
        return MISSING.get(result.missing, result.missing) if not short or result.missing == "no model learned" \
            else "no data"
    return OURS[result.number](result, short)


def on_this_data_set(result: ClaimResult) -> str:
    """A claim's rule applied to one data set's healthy runs, for the data set's own page: the
    verdict, the figure the audit quotes and what was left out, in the audit's words."""
    left = _left_out(result)
    return (f"claim {result.number} on this data set alone: **{result.verdict}**; {ours(result)}."
            + (f" {left}" if left else ""))


# ---------------------------------------------------------------- why: the rule applied
LEFT_OUT = {"no TP": "class cells without a true positive", "thin": f"thin class cells (fewer than {MIN_TPS} TPs)",
            "no TP on one side": "class cells without a pair (a TP on each side, in runs that both learned)",
            "no other group": "class cells whose other group has no cell left (no gap to form)",
            "trivial": "trivial cells (share 1 by construction)",
            "not testable here": "cells not testable here (the null saturates at every m)"}


def _left_out(result: ClaimResult) -> str:
    parts = [f"{n} {LEFT_OUT.get(reason, reason).replace('cells', 'cell', 1) if n == 1 else LEFT_OUT.get(reason, reason)}"
             for reason, n in result.left_out.items() if n]
    return ("Left out: " + "; ".join(parts) + ".") if parts else ""


def _why_1(r):
    f = r.figures
    return (f"{f['passing']} of {f['cells']} class x method cells need at most {_pct(f['limit_pct'])} of CE (about "
            f"{_g(CNN_MAX)}%: within a factor of {_g(ABOUT)})")


def _why_2(r):
    f = r.figures
    return (f"{f['passing']} of {f['shifts']} method x group shifts from the base model are within "
            f"{_g(MEANINGFUL_PP)} percentage points, each over the classes and repeats where both runs are healthy "
            "and both have a TP")


def _why_3(r):
    f = r.figures
    return (f"a range claim is judged on both ends: the lowest class cell, {_pct(f['low_pct'])}, is "
            f"{'' if f['low_about'] else 'not '}about {_g(LG_LOW)}% ({_about(LG_LOW)}); the highest, "
            f"{_pct(f['high_pct'])}, is {'' if f['high_about'] else 'not '}about {_g(LG_HIGH)}% ({_about(LG_HIGH)})")


def _why_4(r):
    f = r.figures
    return f"minority minus majority is positive in {f['passing']} of {f['cells']} data set x method cells"


def _why_5(r):
    f = r.figures
    return (f"the gap is narrower than the base model's in {f['passing']} of {f['cells']} data set x method cells, "
            "over the classes and repeats where both runs are healthy and both have a TP")


def _why_6(r):
    f = r.figures
    what = (f"at least its ceiling / {_g(ABOUT)} (about its ceiling)" if f["against_ceiling"]
            else f"at least {_pct(paper.SVM_BASE_MAJORITY_PCT / ABOUT)} (about {_g(paper.SVM_BASE_MAJORITY_PCT)}%)")
    ceilings = "; ".join(f"{ds} {_pct(c)}" for ds, c in f["ceilings"].items())
    return (f"base majority {what}: {r.parts['A']}; SMOTE/ADASYN about {_g(paper.SVM_RESAMPLED_PCT)}% "
            f"({_about(paper.SVM_RESAMPLED_PCT)}): {r.parts['B']}. A class-0 TP can use at most the support vectors "
            f"with negative dual coefficients: that ceiling, per data set, is {ceilings or 'not available'}")


def _why_7(r):
    f = r.figures
    return (f"per cell, R = class level / instance level at a matched number m of TPs (k = 0 TPs removed first: "
            f"{f['k0']} of them); a cell supports the claim when R ≥ {_g(MUCH)} and its class level is not below the "
            f"null's 95% range, partly when R ≥ {_g(MUCH)} but below it (the TPs share their terms more than "
            f"arbitrary combinations would), contradicts it when R < {_g(MUCH)}: {f['supports']} support, "
            f"{f['partly']} partly, {f['contradicts']} contradict of {f['cells']}")


def _is_about(ok: bool) -> str:
    return "about" if ok else "not about"


def _why_8(r):
    f = r.figures
    return (f"family averages over the non-trivial cells about the paper's (within a factor of {_g(ABOUT)}): "
            f"{r.parts['averages']}; the LG/CNN range on both ends, the lowest cell {_pct(f['range_low_pct'])} "
            f"({_is_about(f['low_about'])} {_g(SHARE_LOW)}%) and the highest {_pct(f['range_high_pct'])} "
            f"({_is_about(f['high_about'])} {_g(SHARE_HIGH)}%): {r.parts['range']}")


def _why_9(r):
    parts = []
    if "CNN" in r.parts:
        parts.append(f"CNN, share of testable classes whose pre-pool features read relation: {r.parts['CNN']}")
    if "tabular" in r.parts:
        parts.append(f"tabular, share of testable classes that do not read relation (mirrored pairs count as not "
                     f"relation): {r.parts['tabular']}")
    scope = []
    if "CNN" in r.parts:
        scope.append("A ReLU makes the relation by itself wherever its channels differ in mean pre-activation, so the "
                     "CNN part confirms the paper's observation, not that training tied magnitude to frequency "
                     "(calibration page)")
    if "tabular" in r.parts:
        scope.append("The tabular reading sees only class-specific relations (a relation every class shares divides "
                     "out of its unit-free magnitude)")
    return "; ".join(parts) + "".join(f". {s}" for s in scope)


WHY = {1: _why_1, 2: _why_2, 3: _why_3, 4: _why_4, 5: _why_5, 6: _why_6, 7: _why_7, 8: _why_8, 9: _why_9}


def why(result: ClaimResult) -> str:
    if result.verdict == rules.UNTESTABLE:
        text = MISSING.get(result.missing, result.missing)
    else:
        text = WHY[result.number](result)
    left = _left_out(result)
    return f"{text[:1].upper()}{text[1:]}." + (f" {left}" if left else "")


# ---------------------------------------------------------------- markers, evidence, rows
def repeat_note(a: ClaimAudit) -> str:
    """'unsettled (k of n)' where some repeats alone give another verdict, else ''."""
    return "" if a.settled else f"unsettled ({a.agreeing} of {len(a.repeats)})"


def repeat_summary(a: ClaimAudit) -> str:
    """Every repeat's verdict, counted: 'holds in 3 of 3 repeats', 'holds 2, partly 1 of 3'."""
    n = len(a.repeats)
    if not n:
        return "no repeat testable alone"
    counts = pd.Series([r.verdict for r in a.repeats]).value_counts()
    if len(counts) == 1:
        return f"{counts.index[0]} in {n} of {n} repeats"
    return ", ".join(f"{v} {c}" for v, c in counts.items()) + f" of {n} repeats"


def _reading_name(name: str) -> str:
    return f"the {name} reading" if not name.startswith("the ") else name


def false_positive_rate(a: ClaimAudit) -> str:
    """A claim's measured false-positive rate as the calibration page prints it (one decimal: a
    rate of 8.5% must not read 8% on one page and 8.5% on the other)."""
    return _pct(100 * a.false_positive_rate)


def verdict_label(a: ClaimAudit) -> str:
    """The verdict with every marker the landing page puts beside it."""
    parts = [a.verdict]
    if repeat_note(a):
        parts.append(repeat_note(a))
    if a.reversals:
        parts.append("reverses under " + " and ".join(_reading_name(n) for n in a.reversals))
    if a.all_runs_differ:
        parts.append(f"on all runs: {a.all_runs.verdict}")
    if a.flagged_rate:
        parts.append(f"the rule reads a false positive in {false_positive_rate(a)} of planted null cases")
    if a.partly_as_on_null:
        parts.append(f"also given on planted data where the claim is false ({_null_seeds(a.null_partly)})")
    return " · ".join(parts)


def _null_seeds(r) -> str:
    """A rule's readings of one planted generator (``audit.NullReading``) in words."""
    return f"{r.count} of {r.n} seeds of {r.generator}"


def data_label(d: DataUsed) -> str:
    rows = f", {d.rows:,} of {d.of_rows:,} rows" if d.rows else ""
    return f"{d.name}{rows}"


def evidence_text(e: Evidence, a: ClaimAudit | None = None) -> str:
    """Runs used, healthy among them, left out and why, repeats, and whose data."""
    if not e.runs and not e.splits:
        return "no runs"
    text = []
    if e.runs:
        text.append(f"{count_of(e.runs, 'run')}, {e.healthy} healthy")
        if e.left_out:  # the health rule itself is stated once, beside the table (health_rule)
            text.append(f"{e.left_out} left out (did not learn)")
    if e.splits:
        text.append(f"{count_of(e.splits, 'table split')} read without a model")
    low, high = e.repeats
    # of the runs that learned, whose repeats a cell averages (a table split needs no model)
    if high:
        text.append(f"{low if low == high else f'{low} to {high}'} {'healthy ' if e.healthy else ''}repeat{'s' * (high != 1)} each")
    if a is not None and a.result.left_out.get("thin"):
        text.append(f"{count_of(a.result.left_out['thin'], 'thin class cell')} left out")
    theirs = [data_label(d) for d in e.data if d.papers]
    others = [data_label(d) for d in e.data if not d.papers]
    if theirs:
        text.append(f"the paper's data ({'; '.join(theirs)})")
    if others:
        text.append(f"substitute data ({'; '.join(others)})")
    if e.unlearned:
        text.append(f"no run learned on {', '.join(e.unlearned)}")
    if e.unjudged:
        text.append(f"no cell left to judge on {', '.join(e.unjudged)} (thin or unpaired)")
    return "; ".join(text)


def _rho(x: float) -> str:
    return f"{x:.2f}".replace("-0.00", "0.00")


def _figure(a: ClaimAudit, short: bool) -> str:
    described = "" if not a.described or a.result.verdict == rules.UNTESTABLE else (
        ("; CE Spearman " if short else "; the CE Spearman of frequency against magnitude, ")
        + ", ".join(f"{FAMILY_NAMES.get(f, f)} {_rho(lo)} to {_rho(hi)}" for f, (lo, hi) in a.described.items())
        + " (implied by the definitions; decides nothing)")
    return ours(a.result, short) + described


def _links(a: ClaimAudit, link: Callable[[str, str], str] | None, question: str) -> str:
    return ", ".join(link(question, ds) if link else f"{question}/{ds}" for ds in a.result.datasets)


QUESTION_OF = {1: "rq1", 2: "rq1", 3: "rq1", 4: "rq1", 5: "rq1", 6: "rq1", 7: "rq1", 8: "rq2", 9: "rq3"}


def _rows(audits: list[ClaimAudit], number_cell: Callable[[int], str], link) -> list[dict]:
    return [{"#": number_cell(a.number), "claim": SHORT_TITLES[a.number], "paper": PAPER_SAYS[a.number],
             "ours": _figure(a, short=True), "verdict": verdict_label(a), "evidence": evidence_text(a.evidence, a),
             "pages": _links(a, link, QUESTION_OF[a.number])} for a in audits]


def landing_table(audits: list[ClaimAudit], audit_page: str) -> pd.DataFrame:
    """The landing page's table: a short title, the deciding figure and the verdict with its
    markers, the number linked to the claim's section on the audit page."""
    rows = _rows(audits, lambda n: f'<a href="{audit_page}#claim-{n}">{n}</a>', None)
    return pd.DataFrame(rows)[["#", "claim", "ours", "verdict", "evidence"]]


def verdict_table(audits: list[ClaimAudit], link: Callable[[str, str], str] | None = None) -> pd.DataFrame:
    """The audit page's table: the verdict, the figure that decides it, and the pages behind it;
    the reasoning is in each claim's section below."""
    rows = _rows(audits, lambda n: f'<a href="#claim-{n}">{n}</a>', link)
    return pd.DataFrame(rows)[["#", "claim", "paper", "ours", "verdict", "pages"]]


def csv_table(audits: list[ClaimAudit]) -> pd.DataFrame:
    """The verdict table as plain text, from the same values, with the reasoning and markers in
    columns of their own."""
    rows = _rows(audits, str, None)
    for row, a in zip(rows, audits):
        row.update(claim=TITLES[a.number], ours=_figure(a, short=False), verdict=a.verdict,
                   unsettled=repeat_note(a), **{"per repeat": repeat_summary(a), "why": why(a.result),
                                               "reversed under": "; ".join(a.reversals),
                                               "all runs": a.all_runs.verdict})
    return pd.DataFrame(rows)


def write_csv(audits: list[ClaimAudit], path) -> None:
    """``csv_table`` written atomically (the landing page links it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        csv_table(audits).to_csv(tmp, index=False)


def claim_section(a: ClaimAudit, link: Callable[[str, str], str] | None = None, methods_page: str = "") -> str:
    """The claim's own section on the audit page, as HTML with the anchor ``claim-N``: the
    claim, the paper's figure, ours, the rule applied, what was left out, the repeats, the
    readings and the all-runs verdict (``methods_page``: the methods page's URL, for a link)."""
    lines = [f"### Claim {a.number}: {TITLES[a.number]}", "",
             f"- **Verdict**: {verdict_label(a)}.",
             f"- **The paper**: {PAPER_SAYS[a.number]}.",
             f"- **Ours**: {_figure(a, short=False)}.",
             f"- **The rule**: {why(a.result)}" + (f" ([the rule](<{methods_page}#claim-{a.number}>))"
                                                  if methods_page else ""),
             f"- **Evidence**: {evidence_text(a.evidence, a)}.",
             f"- **Per repeat**: {repeat_summary(a)}" + (f"; the marker counts the {a.agreeing} of {len(a.repeats)} "
                                                        f"that read \"{a.verdict}\"" if a.repeats else "") + "."]
    if a.evidence.left_out:
        lines.append(f"- **On all runs**, the unhealthy included: {a.all_runs.verdict}"
                     + (" (differs: shown beside the verdict)." if a.all_runs_differ else "."))
    if a.readings:
        moved = [f"{name}: {a.readings[name]}" + (" (reverses)" if name in a.reversals else "")
                 for name in a.readings if a.readings[name] != a.verdict]
        lines.append("- **Under the readings**: " + ("; ".join(moved) if moved else "the same verdict under every "
                                                     "reading") + ".")
    if a.false_positive_rate is not None:
        lines.append(f"- **Calibration**: on planted data with nothing planted, the rule reads a false positive in "
                     f"{false_positive_rate(a)} of cases (its largest over the null generators of the calibration page)" + (f", above {rules_fp_limit()}." if
                                                                           a.flagged_rate else ".")
                     + (f" It reads *{rules.PARTLY}*, the verdict here, in {_null_seeds(a.null_partly)}, where the "
                        "claim is false by construction: on this rule *partly* does not tell the claim from its "
                        "absence." if a.partly_as_on_null else ""))
    pages = _links(a, link, QUESTION_OF[a.number])
    if pages:
        lines.append(f"- **Pages**: {pages}.")
    return f'<section id="claim-{a.number}">' + MarkdownIt().render("\n".join(lines)) + "</section>"


def rules_fp_limit() -> str:
    return f"{MAX_FALSE_POSITIVES:.0%}"


def findings(audits: list[ClaimAudit]) -> str:
    """The landing page's opening, computed: how many claims hold, which hold and which do not
    (with the figure that decides it), and every marker that qualifies a verdict."""
    def named(items, figure=False):  # a figure after its claim's title, not inside its parentheses
        return "; ".join(f"{a.number} ({SHORT_TITLES[a.number]})" + (f", measured: {_figure(a, True)}" if figure else "")
                         for a in items)

    by = {k: [a for a in audits if a.verdict == k] for k in rules.VERDICTS}

    def verb(n, one, many):
        return f"{n} {one if n == 1 else many}"

    counts = [verb(len(by[rules.HOLDS]), "holds", "hold"), verb(len(by[rules.PARTLY]), "holds in part", "hold in part"),
              verb(len(by[rules.FAILS]), "does not hold", "do not hold")]
    if by[rules.UNTESTABLE]:
        counts.append(verb(len(by[rules.UNTESTABLE]), "cannot be tested here", "cannot be tested here"))
    text = [f"Of the paper's {len(audits)} quantitative claims, measured here on models that learned, "
            f"{', '.join(counts[:-1])} and {counts[-1]}."]
    if by[rules.HOLDS]:
        text.append(f"Claims that hold: {named(by[rules.HOLDS])}.")
    if by[rules.FAILS]:
        text.append(f"Claims that do not hold: {named(by[rules.FAILS], figure=True)}.")
    unsettled = [a for a in audits if a.repeats and not a.settled]
    if unsettled:
        text.append("Verdicts the repeats leave unsettled: " + "; ".join(
            f"{a.number} ({a.agreeing} of {len(a.repeats)} repeats give it)" for a in unsettled) + ".")
    reversed_ = [a for a in audits if a.reversals]
    if reversed_:
        text.append("Verdicts a reading of the paper's open choices reverses: " + "; ".join(
            f"{a.number} (under {' and '.join(_reading_name(n) for n in a.reversals)})" for a in reversed_) + ".")
    flagged = [a for a in audits if a.flagged_rate]
    if flagged:
        text.append("Rules whose false-positive rate on planted data exceeds " + rules_fp_limit() + ": " + "; ".join(
            f"{a.number} ({false_positive_rate(a)})" for a in flagged) + ".")
    as_on_null = [a for a in audits if a.partly_as_on_null]
    if as_on_null:
        text.append("Verdicts their rule also gives on planted data where the claim is false: " + "; ".join(
            f"{a.number} ({a.verdict} in {_null_seeds(a.null_partly)})" for a in as_on_null) + ".")
    return " ".join(text)


def limitations(audits: list[ClaimAudit]) -> pd.DataFrame:
    """Per claim, what would change its verdict: readings, repeats, unhealthy runs, the data."""
    rows = []
    for a in audits:
        kinds = {d.papers for d in a.evidence.data}
        rows.append({"#": a.number, "claim": SHORT_TITLES[a.number], "verdict": a.verdict,
                     "readings that change it": "; ".join(f"{n}: {a.readings[n]}" for n in a.readings
                                                          if a.readings[n] != a.verdict) or "none",
                     "repeats": repeat_summary(a),
                     "all runs": a.all_runs.verdict if a.evidence.left_out else "no run left out",
                     "data": ("the paper's data and substitutes" if kinds == {True, False} else
                              "the paper's data" if kinds == {True} else "substitute data" if kinds else "")})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the rules, stated once
TESTS = {  # what a cell must pass, from the constants
    1: f"class cell ≤ {_pct(CNN_MAX * ABOUT)} (about {_g(CNN_MAX)}%)",
    2: f"|shift from base| ≤ {_g(MEANINGFUL_PP)} pp per method x group",
    3: f"lowest cell in {_about(LG_LOW)}, highest in {_about(LG_HIGH)}",
    4: "minority minus majority > 0 per data set x method",
    5: "|gap| below base's per data set x method",
    6: f"A: base majority ≥ {_pct(paper.SVM_BASE_MAJORITY_PCT / ABOUT)}; B: SMOTE/ADASYN cells in "
       f"{_about(paper.SVM_RESAMPLED_PCT)}",
    7: f"R ≥ {_g(MUCH)} and not below the null (supports); R ≥ {_g(MUCH)} below it (partly); at the largest m "
       f"whose null union < {rules.SATURATED:.0%} of D",
    8: f"family means in {_about(SHARE['cnn'])} (CNN), {_about(SHARE['lg'])} (LG), {_about(SHARE['svm'])} (SVM); "
       f"LG/CNN lowest cell in {_about(SHARE_LOW)}, highest in {_about(SHARE_HIGH)}",
    9: "CNN: share of classes reading relation (pre-pool); tabular: share not reading relation",
}


def claims_table() -> pd.DataFrame:
    """Each claim, the paper's figure and the test a cell must pass (the methods page shows it)."""
    return pd.DataFrame([{"#": n, "claim": TITLES[n], "the paper": PAPER_SAYS[n], "a cell passes": TESTS[n]}
                         for n in TITLES])


def thresholds_table() -> pd.DataFrame:
    """The rules' thresholds by name, with their values."""
    rows = [("MOSTLY", f"{MOSTLY:.0%}", "share of cells for holds"), ("SOME", f"{SOME:.0%}", "share of cells for partly"),
            ("ABOUT", _g(ABOUT), "about x: from x / ABOUT to ABOUT x"),
            ("MEANINGFUL_PP", f"{_g(MEANINGFUL_PP)} pp", "does not meaningfully change"),
            ("MIN_TPS", str(MIN_TPS), "TPs a class cell needs in every repeat"),
            ("SATURATED", f"{rules.SATURATED:.0%} of D", "claim 7: a null union this large decides nothing"),
            ("much larger", f"{_g(MUCH)}x", "claim 7: R at least this"),
            ("false positives", f"{MAX_FALSE_POSITIVES:.0%}", "a rule above this is flagged beside its verdict")]
    return pd.DataFrame(rows, columns=["name", "value", "meaning"])

def rules_text() -> str:
    """The audit page's statement of the rules, from the thresholds the rules use."""
    return "\n".join([
        f"- A claim about a share of cells (a cell is one data set x model x method x class or group, averaged "
        f"over seeds or splits) **holds** when at least {MOSTLY:.0%} of the cells satisfy it, **partly** holds "
        f"from {SOME:.0%}, and otherwise **does not hold**; graded cells (supports / partly / contradicts) hold "
        f"when at least {MOSTLY:.0%} support and partly when at least {SOME:.0%} support at least partly.",
        f"- **About x** means within a factor of {_g(ABOUT)}: from x / {_g(ABOUT)} to {_g(ABOUT)} x; \"at most "
        f"about {_g(CNN_MAX)}%\" passes a cell at {_pct(CNN_MAX * ABOUT)}. A range claim is judged on both ends: the "
        "lowest and the highest cell each about the paper's end (both: holds; one: partly; none: does not hold).",
        f"- **Does not meaningfully change** means within {_g(MEANINGFUL_PP)} percentage points of the base model, "
        "on the classes and repeats where both runs learned and both have a TP.",
        f"- **Models that learned**: a verdict counts only healthy runs (no class of zero test recall, balanced "
        f"accuracy at least a quarter of the way from chance); the verdict on all runs is shown beside where it "
        f"differs. A class cell with fewer than {MIN_TPS} TPs in some repeat is thin: flagged on its page and left "
        "out of the verdict, and counted.",
        "- A claim judged against a reference says which side supports it: claim 7 against R = 1 and the null of "
        "arbitrary combinations at matched TP counts, claim 9 against the permutation null of its latent reading.",
        "- A claim with two parts holds when both do, does not hold when neither does, and partly otherwise (one part "
        "holding partly is enough). Each repeat of each part is judged "
        "alone; *unsettled (k of n)* means k of the n repeats give the stated verdict.",
        "- A reading of the paper's open choices **reverses** a verdict when it moves it between holds and does not "
        "hold; a move to or from partly is a change. Reversals are named beside the verdict.",
    ])


def health_paragraph() -> str:
    """The results pages' "Did the models learn?" paragraph, from the health rule's thresholds."""
    floor = ", ".join(f"{balanced_accuracy_floor(c):.3f} for {c} classes" for c in FLOOR_EXAMPLES)
    return ("The health of every run behind this page: balanced accuracy on the original training instances and on "
            "the test set, the classes no test instance of which is recognised, and the last epoch's training loss "
            "(image networks). A run is marked unhealthy when a class has zero recall or its test balanced accuracy "
            f"is below the floor, a quarter of the way from chance to a perfect score ({floor}). Health is judged on "
            "held-out data and sets a claim's scope; it never chooses a model. The claims audit counts only healthy "
            "runs; `python -m ceimb_utils health` prints the same table.")


def as_html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=False)


def escape(text: str) -> str:
    return html.escape(text)

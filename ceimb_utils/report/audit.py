"""The claims audit: which runs and readings each claim's rule is applied to, and what came out.

The rules live in ``rules`` (numbers in, typed results out) and their words in ``wording``.
This module joins the studies' tables, keeps the runs that learned (methods#health), applies
every rule on the means of the repeats, on each repeat alone (methods#repeats), on every run
(shown beside when it differs) and under every reading of the sensitivity table
(methods#reversals), and counts each claim's evidence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Mapping

import numpy as np
import pandas as pd

from .. import methods, paper, paths
from ..ce import metrics
from ..pipeline.study import Study
from . import rules
from .health import health_table
from .rules import ClaimResult, RepeatVerdict, RuleReading, Tables

# The sensitivity table's readings: every reading of the metrics (each run stores their per-class figures in its ``readings``
# table), the per-instance share (a choice of column) and claim 6 judged against its ceiling.
SENSITIVITY: dict[str, RuleReading] = {
    name: RuleReading(name, name, default_sets=replace(r, share_count="floor") == metrics.DEFAULT)
    for name, r in metrics.READINGS.items()}
SENSITIVITY["per-instance share"] = RuleReading("per-instance share", share="top_share_instance")
SENSITIVITY["SVM against its ceiling"] = RuleReading("SVM against its ceiling", svm_target="ceiling")
READING_COLUMNS = ("n_counted", "required_pct", "never_crosses", "union_pct", "top_share", "top_share_instance")
RUN = rules.RUN
RATES_RECORD = paths.ROOT / "benchmarks" / "measured" / "calibration_rates.json"
MAX_FALSE_POSITIVES = 0.10  # a rule above this share of false positives is flagged beside its verdict


def family_of(study: Study, model: str) -> str:
    """cnn for a network (or a linear head on latent features, model "head"), else the model."""
    return "cnn" if study.kind == "image" or model == "head" else model


def paper_methods(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's claims are about base and over-sampling: interventions (RQ4) are left out."""
    return frame[frame["method"].map(methods.family) != "intervention"] if len(frame) else frame


def _trains_extractor(method: str) -> bool:
    """EOS, DSM and tau-norm put a new head on the base's network: their features are base's."""
    return method not in methods.METHODS or not methods.METHODS[method].rehead


def _health_marks(study: Study, health: pd.DataFrame | None) -> pd.DataFrame:
    table = health if health is not None else health_table(study)
    if table.empty:
        return pd.DataFrame(columns=RUN + ["healthy"])
    return table.rename(columns={"seed": "repeat"})[RUN + ["healthy"]]


def _joined(study: Study, name: str, marks: pd.DataFrame) -> pd.DataFrame:
    frame = paper_methods(study.tables.get(name, pd.DataFrame()))
    if frame.empty:
        return frame
    fam = {m: family_of(study, m) for m in study.models}
    frame = frame.assign(family=frame["model"].map(fam))
    return frame.merge(marks, on=RUN, how="left").assign(healthy=lambda f: f["healthy"].fillna(False).astype(bool))


def under_reading(classes: pd.DataFrame, readings: pd.DataFrame, reading: str) -> pd.DataFrame:
    """``classes`` with its per-class figures replaced by those of the metrics reading ``reading``."""
    if reading == "default" or classes.empty:
        return classes
    keys = ["dataset", "model", "method", "repeat", "class_index"]
    if readings.empty:  # no run stored its readings: nothing to read under this one
        return classes.assign(**{c: np.nan for c in READING_COLUMNS if c in classes})
    chosen = readings.loc[readings["reading"] == reading, keys + [c for c in READING_COLUMNS if c in readings]]
    return classes.drop(columns=[c for c in READING_COLUMNS if c in classes]).merge(chosen, on=keys, how="left")


def latent_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Claim 9's latent reading once per trained extractor (networks: base and the methods that
    train their own; EOS and DSM keep the base's) and once per table split (every model and
    method of a split reads the same columns of the same rows)."""
    if frame.empty:
        return frame
    nets = frame[(frame["family"] == "cnn") & frame["method"].map(_trains_extractor)]
    tables = frame[frame["family"] != "cnn"].sort_values(RUN).drop_duplicates(
        ["dataset", "repeat", "reading", "class_index"]).assign(healthy=True)  # a reading of data, not of a model
    return pd.concat([nets, tables], ignore_index=True)


@dataclass
class Joined:
    """Every study's tables joined, with ``family`` and ``healthy`` per row."""

    classes: pd.DataFrame
    readings: pd.DataFrame
    curve: pd.DataFrame
    latent: pd.DataFrame
    rho: pd.DataFrame
    runs: pd.DataFrame  # dataset, model, method, repeat, family, healthy, rows of the data used

    def tables(self, reading: RuleReading = RuleReading(), healthy: bool = True) -> Tables:
        """The rules' input under ``reading``, on healthy runs only or on every run."""
        keep = (lambda f: f[f["healthy"]] if len(f) else f) if healthy else (lambda f: f)
        classes = under_reading(self.classes, self.readings, reading.metrics)
        return Tables(keep(classes), keep(self.curve), keep(self.latent))


def join(studies: Mapping[str, Study], health: Mapping[str, pd.DataFrame] | None = None) -> Joined:
    parts: dict[str, list] = {k: [] for k in ("classes", "readings", "curve", "latent", "rho", "runs")}
    for name, study in studies.items():
        marks = _health_marks(study, (health or {}).get(name))
        for table in ("classes", "readings", "curve", "latent", "rho"):
            source = {"curve": "class_curve", "latent": "latent_classes", "rho": "spearman"}.get(table, table)
            parts[table].append(_joined(study, source, marks))
        runs = _joined(study, "runs", marks)
        parts["runs"].append(runs)
    out = {k: pd.concat([f for f in v if len(f)], ignore_index=True) if any(len(f) for f in v) else pd.DataFrame()
           for k, v in parts.items()}
    out["latent"] = latent_rows(out["latent"])
    return Joined(**out)


# ---------------------------------------------------------------- evidence
@dataclass(frozen=True)
class DataUsed:
    name: str
    papers: bool  # one of the paper's data sets
    rows: int | None = None  # rows used of a table that was subsampled
    of_rows: int | None = None


@dataclass
class Evidence:
    """What a claim rests on (methods#health): its runs, the healthy ones, the repeats, the data."""

    runs: int
    healthy: int
    repeats: tuple[int, int]  # fewest and most repeats per data set, model and method (of the healthy runs)
    data: list[DataUsed]
    splits: int = 0  # table splits read without a model (claim 9's tabular part)
    unlearned: list[str] = field(default_factory=list)  # data sets in scope whose runs all did not learn
    unjudged: list[str] = field(default_factory=list)  # data sets that learned but left the rule no cell

    @property
    def left_out(self) -> int:
        return self.runs - self.healthy


def _data_used(runs: pd.DataFrame) -> list[DataUsed]:
    out = []
    for ds, part in runs.groupby("dataset", sort=False):
        rows = of = None
        if {"n_train", "n_test", "data_rows"} <= set(part) and part["data_rows"].notna().any():
            used, total = int((part["n_train"] + part["n_test"]).max()), int(part["data_rows"].max())
            rows, of = (used, total) if used < total else (None, None)
        out.append(DataUsed(ds, ds in paper.DATASETS, rows, of))
    return out


def evidence_of(number: int, joined: Joined) -> Evidence:
    """The runs a claim's rule could use (its families, and its methods where it reads fewer than
    all), how many learned, and the data: the data sets it rests on, and apart those whose runs
    all did not learn (they name no data the verdict used)."""
    families = rules.FAMILIES[number]
    runs = joined.runs[joined.runs["family"].isin(families)] if len(joined.runs) else joined.runs
    if number in rules.METHODS and len(runs):
        runs = runs[runs["method"].isin(rules.METHODS[number])]
    splits, tab = 0, runs.iloc[0:0]
    if number == 9:  # networks whose features are read; table splits need no model
        latent = joined.latent
        nets = latent[latent["family"] == "cnn"][RUN].drop_duplicates() if len(latent) else pd.DataFrame(columns=RUN)
        runs = runs.merge(nets, on=RUN) if len(runs) else runs
        tables = latent[latent["family"] != "cnn"] if len(latent) else latent
        splits = len(tables[["dataset", "repeat"]].drop_duplicates()) if len(tables) else 0
        if splits:  # the tables' data sets are evidence too, read from their runs' records
            tab = joined.runs[(joined.runs["family"] != "cnn") & joined.runs["dataset"].isin(set(tables["dataset"]))]
        if splits and runs.empty:
            return Evidence(0, 0, _repeat_range(tab), _data_used(tab), splits)
    if runs.empty:
        return Evidence(0, 0, (0, 0), [], splits)
    learned = runs.groupby("dataset", sort=False)["healthy"].any()
    unlearned = [d for d, ok in learned.items() if not ok and d not in set(tab["dataset"])]
    used = pd.concat([runs[~runs["dataset"].isin(unlearned)], tab])
    repeats = _repeat_range(runs, healthy=True)
    if repeats == (0, 0) and len(tab):  # no network learned: the table splits, which need none
        repeats = _repeat_range(tab)
    return Evidence(len(runs), int(runs["healthy"].sum()), repeats, _data_used(used), splits, unlearned)


def judged_on(evidence: Evidence, result: rules.ClaimResult) -> Evidence:
    """``evidence`` with its data narrowed to the data sets the verdict judged a cell of: one whose
    runs learned but whose cells were all thin or unpaired names no data the verdict used."""
    cells = result.cells
    if not len(cells) or "dataset" not in cells:
        return evidence
    judged = set(cells["dataset"])
    return replace(evidence, data=[d for d in evidence.data if d.name in judged],
                   unjudged=[d.name for d in evidence.data if d.name not in judged])


def _repeat_range(runs: pd.DataFrame, healthy: bool = False) -> tuple[int, int]:
    """The fewest and the most repeats per data set, model and method; ``healthy``: of the runs
    that learned, over the methods where one did (the repeats a class cell is averaged over)."""
    if healthy and "healthy" in runs:
        runs = runs[runs["healthy"].astype(bool)]
    if runs.empty:
        return (0, 0)
    n = runs.groupby(["dataset", "model", "method"])["repeat"].nunique()
    return int(n.min()), int(n.max())


# ---------------------------------------------------------------- the audit
def rate_rows(path=None) -> list[dict]:
    """The rows of the calibration record (``benchmarks/calibration_rates.py``); none when it
    has not been measured."""
    try:
        return json.loads((path or RATES_RECORD).read_text()).get("rows", [])
    except (OSError, ValueError):
        return []


def false_positive_rates(path=None, rows: list[dict] | None = None) -> dict[str, float]:
    """Each rule's measured false-positive rate on planted data with nothing planted, by claim,
    from the calibration record's ``rows`` (read from ``path`` when not given); empty when not
    measured."""
    rates: dict[str, float] = {}
    for r in rate_rows(path) if rows is None else rows:  # a rule run on several null generators: its largest rate
        if r.get("false_positive_rate") is not None:
            claim = str(r["claim"])
            rates[claim] = max(rates.get(claim, 0.0), float(r["false_positive_rate"]))
    return rates


@dataclass(frozen=True)
class NullReading:
    """How often a rule gave one verdict on a planted generator where its claim is false
    (``benchmarks/calibration_rates.py``): ``count`` of ``n`` seeds."""

    generator: str
    verdict: str
    count: int
    n: int

    @property
    def share(self) -> float:
        return self.count / self.n if self.n else 0.0


def _reads(text: str) -> dict[str, int]:
    """The calibration record's readings of one generator, "partly 17, holds 3", as counts."""
    out = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        verdict, _, count = part.rpartition(" ")
        out[verdict] = int(count)
    return out


def partly_on_null(path=None, rows: list[dict] | None = None) -> dict[str, NullReading]:
    """Per claim judged per seed, the generator with nothing of the claim planted on which its
    rule reads *partly* most often (from the calibration record's ``rows``, read from ``path``
    when not given): a *partly* verdict that the rule also gives where the claim is false does
    not tell the claim from its absence (its false-positive rate counts *holds* only). Empty
    when not measured."""
    out: dict[str, NullReading] = {}
    for r in rate_rows(path) if rows is None else rows:
        if r.get("false_positive_rate") is None or r.get("unit") != "verdict per seed":
            continue
        reading = NullReading(r["generator"], rules.PARTLY, _reads(r["reads"]).get(rules.PARTLY, 0), int(r["n"]))
        claim = str(r["claim"])
        if reading.count and (claim not in out or reading.share > out[claim].share):
            out[claim] = reading
    return out


@dataclass
class ClaimAudit:
    """One claim: its rule on healthy runs (the verdict), on every run, on each repeat and under
    each reading, and its evidence."""

    result: ClaimResult
    all_runs: ClaimResult
    repeats: list[RepeatVerdict]
    readings: dict[str, str]
    evidence: Evidence
    false_positive_rate: float | None = None
    per_reading: dict[str, ClaimResult] = field(default_factory=dict, repr=False)
    # figures shown beside a verdict that decide nothing (claim 9: the CE Spearman per family)
    described: dict[str, tuple[float, float]] = field(default_factory=dict)
    # the rule's *partly* on planted data where the claim is false (``partly_on_null``)
    null_partly: NullReading | None = None

    @property
    def number(self) -> int:
        return self.result.number

    @property
    def verdict(self) -> str:
        return self.result.verdict

    @cached_property
    def agreeing(self) -> int:
        """The k of "k of n" (the repeats whose own verdict equals the stated one)."""
        return sum(r.verdict == self.verdict for r in self.repeats)

    @property
    def settled(self) -> bool:
        return self.agreeing == len(self.repeats)

    @property
    def all_runs_differ(self) -> bool:
        return self.all_runs.verdict != self.verdict and self.evidence.left_out > 0

    @property
    def reversals(self) -> list[str]:
        return [name for name, v in self.readings.items() if rules.reverses(self.verdict, v)]

    @property
    def changes(self) -> list[str]:
        """Readings under which the verdict moves to or from partly (not a reversal), or reads
        not testable."""
        return [name for name, v in self.readings.items() if v != self.verdict and name not in self.reversals]

    @property
    def flagged_rate(self) -> bool:
        return self.false_positive_rate is not None and self.false_positive_rate > MAX_FALSE_POSITIVES

    @property
    def partly_as_on_null(self) -> bool:
        """A *partly* verdict that its rule gives in more than ``MAX_FALSE_POSITIVES`` of the
        seeds of a planted generator where the claim is false: flagged beside it, as a rate of
        false positives is."""
        return (self.verdict == rules.PARTLY and self.null_partly is not None
                and self.null_partly.share > MAX_FALSE_POSITIVES)


def _verdict(number: int, healthy: Tables, evidence: Evidence) -> ClaimResult:
    """A claim's rule on the healthy runs; untestable when it has runs and none of them learned."""
    if evidence.runs and not evidence.healthy and not evidence.splits:
        return rules.untestable(number, "no model learned")
    return rules.CLAIMS[number](healthy, SENSITIVITY["default"])


def verdict_on(number: int, studies: Mapping[str, Study]) -> ClaimResult:
    """One claim judged on ``studies`` alone as the audit judges it (a data set's own page)."""
    joined = join(studies)
    return _verdict(number, joined.tables(), evidence_of(number, joined))


def audit(studies: Mapping[str, Study], health: Mapping[str, pd.DataFrame] | None = None,
          readings: bool = True, joined: Joined | None = None) -> list[ClaimAudit]:
    """Every claim's audit (``readings``: also under every reading of the sensitivity table)."""
    joined = joined or join(studies, health)
    healthy, every = joined.tables(), joined.tables(healthy=False)
    calibration = rate_rows()  # read once for both
    rates, partly = false_positive_rates(rows=calibration), partly_on_null(rows=calibration)
    out = []
    for number, rule in rules.CLAIMS.items():
        evidence = evidence_of(number, joined)
        result = _verdict(number, healthy, evidence)
        evidence = judged_on(evidence, result)
        under = {}
        if readings:
            for name, reading in SENSITIVITY.items():
                if name != "default":
                    under[name] = rule(joined.tables(reading), reading)
        out.append(ClaimAudit(result, rule(every, SENSITIVITY["default"]), rules.per_repeat(number, healthy),
                              {k: v.verdict for k, v in under.items()}, evidence, rates.get(str(number)), under,
                              ce_spearman(joined.rho) if number == 9 else {}, partly.get(str(number))))
    return out


def ce_spearman(rho: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per model family, the lowest and highest Spearman of CE frequency against CE magnitude
    (RQ3's paper-view figure; per data set, model, method and class, the mean over healthy
    repeats of base and over-sampling runs): tied by construction, since a CE enters a required
    set because it is among the TP's largest (methods#frequency-magnitude). The claims audit and
    the RQ3 pages quote it from here."""
    if rho.empty or "spearman" not in rho:
        return {}
    kept = rho[rho["healthy"]].dropna(subset=["spearman"])
    means = kept.groupby(["family", "dataset", "model", "method", "class_index"], observed=True)["spearman"].mean()
    by = dict(list(means.groupby(level="family")))
    return {fam: (float(by[fam].min()), float(by[fam].max())) for fam in ("cnn", "lg", "svm") if fam in by}


def sensitivity(audits: list[ClaimAudit]) -> pd.DataFrame:
    """Every claim's verdict under every reading, and whether it holds under all of them."""
    rows = [{"#": a.number, "default": a.verdict, **a.readings} for a in audits]
    table = pd.DataFrame(rows)
    names = [c for c in table.columns if c != "#"]
    table["holds under every reading"] = table[names].eq(rules.HOLDS).all(axis=1)
    return table


def cells_mean(frame: pd.DataFrame, value: str, by) -> pd.DataFrame:
    """Per ``by``, the mean of ``value`` over class cells (data set, model, method, class), each
    cell first averaged over its repeats as the rules read it (``rules.class_cells``), and the
    spread over the cells (figures that aggregate cells). Averaging each repeat's methods first
    would weigh a method by the repeats in which the others did not learn."""
    by = list(by)
    cell = by + [c for c in rules.CELL if c not in by]
    per = frame.groupby(cell + ["repeat"], observed=True)[value].mean()
    cells = per.groupby(cell, observed=True).mean().reset_index()
    out = cells.groupby(by, observed=True)[value].agg(["mean", "std"]).reset_index()
    return out.rename(columns={"mean": value, "std": f"{value}_sd"}).dropna(subset=[value])

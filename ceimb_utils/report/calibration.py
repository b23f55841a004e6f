"""The calibration chapter (methods#calibration-rates): each claim's rule on data whose answer was
planted (``data.planted``), against that answer, and each rule's measured error rates.

Two kinds of planted data: tables declared in the ``planted`` profile, run through the whole
pipeline (models fitted, CE extracted, the audit's rules applied to each data set alone), and
network-like latent features (``latent_features``, ``feature_maps``) that the latent reading
reads directly, since it needs no model.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from joblib import cpu_count
from joblib.externals.loky import get_reusable_executor
from scipy.stats import beta, binom, binomtest

from ..config import load_profile
from ..ce import latent as latent_reading
from ..data import planted as generators
from ..data.planted import settings
from ..data.tabular import split_rows
from ..datasets import dataset_spec
from ..pipeline.study import Study
from . import audit, records, rules
from .plots import legend_below

FEATURE_MODELS = ("lg", "head")  # CE per input feature; the SVM's D counts support vectors
NOT_HOLDS = "not holds"  # a planted answer met by partly or does not hold
# A class's latent reading on a null generator is a 5% test: one draw of a table can read a
# relation by chance, and a table's splits share its rows, so they read it together. Each latent
# generator is therefore read on independent draws (seeds 0 to DRAWS - 1, each split once as a
# run splits it), and a null answer is a rate (methods#calibration-rates).
DRAWS = 100
LATENT_PROFILE = "planted-latent"
# A planted table's claim 9 answers carry the names of the rates table's rows, so the page names
# one rule one way: tables are read unit-free; the raw reading is the one a network's layer gets.
UNIT_FREE = "claim 9, latent reading (table, unit-free)"
RAW = "claim 9, latent reading (table, raw)"
CONFIDENCE = 0.95  # a null answer is missed when the rate's interval at this level lies above the limit


def planted_of(study: Study) -> dict:
    entry = dataset_spec(study.dataset).entry
    return {"generator": entry["planted"], **settings(entry)}


# ---------------------------------------------------------------- what each generator plants
@dataclass(frozen=True)
class Answer:
    rule: str  # "claim 1", "claim 7", UNIT_FREE or RAW
    planted: str  # a verdict, NOT_HOLDS, or a latent status (relation, no relation, ...)
    why: str


def answers_for(generator: str, rates: str = "independent", units: bool = False, ratio: float = 1.0) -> list[Answer]:
    """The answers a planted table was built to give (methods#calibration-rates)."""
    latent = generator in generators.LATENT
    out = []
    if generator == "sparse":
        out += [Answer("claim 1", rules.HOLDS, "k <= s: the signal features carry a TP"),
                Answer("claim 7", NOT_HOLDS, "two features carry every TP: no arbitrary combinations")]
    if generator == "dense" and ratio == 1:
        out.append(Answer("claim 1", rules.FAILS, "the separation is spread over all D features"))
    elif generator == "dense":
        # Imbalance moves the fitted bias towards the majority, which then carries part of the
        # majority's TPs with few terms whatever the features: only the minority is planted dense.
        out.append(Answer("claim 1", NOT_HOLDS, "the separation is spread over all D features; the bias "
                                                "carries part of the majority's TPs, so only the minority must fail"))
    if generator == "invariant":
        out.append(Answer("claim 7", rules.FAILS, "every TP uses the same carrier terms: R near 1"))
    if generator == "combinations":
        out.append(Answer("claim 7", rules.HOLDS, "each TP is carried by its own random features"))
    if generator in ("sparse", "dense", "invariant", "combinations"):
        out.append(Answer(UNIT_FREE, rules.LATENT_UNTESTABLE, "Gaussian columns: no off value"))
    if latent:
        raw = {"frequency": rules.NO_RELATION, "frequency_magnitude": rules.RELATION, "opposite": rules.OPPOSITE,
               "minority_magnitude": "relation (minority), no relation (majority)"}[generator]
        if rates == "shared":
            unit_free = {"frequency": rules.NO_RELATION, "frequency_magnitude": rules.NO_RELATION,
                         "opposite": rules.NO_RELATION, "minority_magnitude": rules.MIRRORED}[generator]
            why = ("shared on-rates: a relation every class shares divides out; one carried by one class reads as "
                   "its mirror in the other")
        else:
            unit_free = {"frequency": rules.NO_RELATION, "frequency_magnitude": rules.RELATION,
                         "opposite": rules.OPPOSITE, "minority_magnitude": "relation (minority)"}[generator]
            why = "independent on-rates: each class's relation survives the unit-free contrast"
        out.append(Answer(UNIT_FREE, unit_free, why))
        if not units:  # columns in random units have no raw reading: a network layer's units share one
            out.append(Answer(RAW, raw, "a network layer's units share one unit"))
    return out


# ---------------------------------------------------------------- what the rules read
def _claim_verdicts(study: Study) -> dict[int, str]:
    return {a.number: a.verdict for a in audit.audit({study.dataset: study}, readings=False)}


def latent_statuses(study: Study, raw: bool) -> pd.DataFrame:
    """Per class and repeat of a planted table, the latent reading's status: unit-free (the
    runs' own ``latent_classes``, mirrored pairs marked) or raw, recomputed from the runs'
    per-feature table with the same function (a network layer's reading)."""
    joined = audit.join({study.dataset: study}).latent
    if not raw:
        cells = rules.latent_cells(joined, rules.TABLE_LATENT)
        # one reading per split: the head (judged as a network) reads the same columns of the same rows
        return cells.drop_duplicates(["repeat", "class_index"])[["repeat", "class_index", "verdict"]]
    features = study.tables.get("latent", pd.DataFrame())
    first = features[["model", "method"]].drop_duplicates().iloc[0] if len(features) else None
    if first is not None:  # every model and method of a split reads the same rows
        features = features[(features["model"] == first["model"]) & (features["method"] == first["method"])]
    rows = []
    for (repeat, c), part in features[features["reading"] == rules.TABLE_LATENT].groupby(["repeat", "class_index"]):
        # a layer's units share one unit: the raw magnitudes against the row-level null
        reading = latent_reading.class_verdict(part["p"].to_numpy(), part["mu"].to_numpy(), part["kept"].to_numpy(),
                                               latent_reading.PERMUTATIONS, np.random.default_rng([int(repeat), int(c)]),
                                               (part["n_on"].to_numpy(), part["mu2"].to_numpy()))
        rows.append({"repeat": repeat, "class_index": c, "verdict": reading["status"]})
    return pd.DataFrame(rows, columns=["repeat", "class_index", "verdict"])


def _latent_reads(statuses: pd.DataFrame, names: Mapping[int, str]) -> str:
    """'class 0: relation 3 of 3; class 1: ...' over a table's splits."""
    if statuses.empty:
        return "no reading"
    parts = []
    for c, part in statuses.groupby("class_index"):
        counts = part["verdict"].value_counts()
        parts.append(f"{names.get(c, c)}: " + ", ".join(f"{s} {n} of {len(part)}" for s, n in counts.items()))
    return "; ".join(parts)


def _per_class(planted: str) -> dict[str, str]:
    """'relation (minority), no relation (majority)' as {group: answer}."""
    return dict(reversed(p.strip().rstrip(")").split(" (")) for p in planted.split(","))


def _group(c: int) -> str:
    return "minority" if c == 1 else "majority"


def _recovered(planted: str, reads: str | pd.DataFrame) -> bool:
    """Whether a claim's verdict, or a table's latent readings over its splits, give the planted answer."""
    if isinstance(reads, str):
        return reads != rules.HOLDS if planted == NOT_HOLDS else reads == planted
    if "(" in planted:  # per class: "relation (minority), no relation (majority)"
        wanted = _per_class(planted)
        checks = [(part["verdict"] == wanted[_group(c)]).mean() >= rules.MOSTLY
                  for c, part in reads.groupby("class_index") if _group(c) in wanted]
        return bool(checks) and all(checks)
    return bool(len(reads)) and (reads["verdict"] == planted).mean() >= rules.MOSTLY


# ---------------------------------------------------------------- the latent reading over independent draws
def _mirror(statuses: list[str]) -> list[str]:
    """A binary table whose two classes read relation and opposite reads *mirrored* in both, as
    ``rules.latent_cells`` marks a run's pairs."""
    return [rules.MIRRORED] * 2 if rules.mirrored_pair(statuses) else statuses


def split_settings(profile: str = LATENT_PROFILE) -> tuple[float, int | None]:
    """(test_size, max_rows): how a run of ``profile`` splits a table's rows."""
    section = load_profile(profile)["tabular"]
    return section["test_size"], section["max_rows"]


def read_table_draw(planted: Mapping, raw: bool, seed: int, split: tuple[float, int | None] | None = None) -> list[str]:
    """Each class's latent status on one draw of a planted table: the generator with ``seed``,
    split ``seed`` of its rows as a run splits them (``split``: ``split_settings()``, read once by
    the caller; ``data.tabular.split_rows``), its training rows read unit-free (mirrored pairs
    marked) or raw."""
    table = {k: v for k, v in planted.items() if k != "generator"}
    X, y = generators.generate(planted["generator"], **{**table, "seed": seed})
    test_size, max_rows = split or split_settings()
    train, _ = split_rows(y, seed, test_size, max_rows)
    statuses = latent_reading.read_table(X[train], y[train], 2, raw=raw, seed=seed)
    return statuses if raw else _mirror(statuses)


def _read_features(law: str, seed: int) -> list[str]:
    return latent_reading.read_features(*generators.latent_features(law, seed=seed), seed=seed)


@lru_cache(maxsize=1)
def _maps(law: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A draw of feature maps, kept until the next: the pre-pool and pooled cases of one law read
    it in turn (``latent_draws`` reads a generator's cases draw by draw), and it is the costly part."""
    return generators.feature_maps(law, seed=seed)  # neither reading writes to it


def _read_maps(law: str, pooled: bool, seed: int) -> list[str]:
    maps, y = _maps(law, seed)
    if pooled:  # global average pooling, as a network's head sees the features
        return latent_reading.read_features(maps.mean(axis=(2, 3)), y, seed=seed)
    return latent_reading.read_maps(maps, y, seed=seed)


@dataclass(frozen=True)
class LatentCase:
    """One latent generator under one reading, with what it was built to give."""
    rule: str  # as in the rates table: "claim 9, latent reading (table, unit-free)", ...
    generator: str  # a planted table's name or a network-like case
    reading: str  # "unit-free", "raw", "features", "pre-pool", "pooled"
    planted: str
    read: Callable[[int], list[str]]  # each class's status on the draw of this seed
    made_by: str = ""  # shown beside, not a rule: what makes the answer ("pooling", "the ReLU")

    @property
    def shown(self) -> bool:
        return bool(self.made_by)

    def statuses(self, draws: int) -> pd.DataFrame:
        return statuses_together([self], draws)[0]


def statuses_together(cases: list[LatentCase], draws: int) -> list[pd.DataFrame]:
    """Each case's class statuses on ``draws`` draws ((draw, class_index, verdict) rows), read
    draw by draw: the cases of one generator then read each draw in turn."""
    rows = [[] for _ in cases]
    for i in range(draws):
        for case, out in zip(cases, rows):
            out += [{"draw": i, "class_index": c, "verdict": v} for c, v in enumerate(case.read(i))]
    return [pd.DataFrame(out, columns=["draw", "class_index", "verdict"]) for out in rows]


TABLE_READINGS = {UNIT_FREE: "unit-free", RAW: "raw"}
NETWORK_CASES = (  # (name, kind, law, the direct or pre-pool answer, the pooled answer)
    ("multi-class features, none planted", "features", "frequency", rules.NO_RELATION, None),
    ("multi-class features, relation", "features", "frequency_magnitude", rules.RELATION, None),
    ("multi-class features, opposite", "features", "opposite", rules.OPPOSITE, None),
    ("feature maps, none per position", "maps", "frequency", rules.NO_RELATION, rules.RELATION),
    ("feature maps, relation per position", "maps", "frequency_magnitude", rules.RELATION, rules.RELATION),
)


def _read_relu_features(seed: int) -> list[str]:
    return latent_reading.read_features(*generators.relu_features(seed=seed), seed=seed)


def _read_relu_maps(seed: int) -> list[str]:
    return latent_reading.read_maps(*generators.relu_maps(seed=seed), seed=seed)


RELU_CASES = (  # (name, reading, rule, read): no law planted, a ReLU of Gaussian pre-activations
    ("ReLU of Gaussian pre-activations", "features", "claim 9, latent reading (network, raw)", _read_relu_features),
    ("ReLU of Gaussian pre-activations, maps", "pre-pool", "claim 9, latent reading (network, pre-pool)",
     _read_relu_maps),
)


def planted_tables(profile: str = LATENT_PROFILE) -> dict[str, dict]:
    """The latent tables a profile declares: {name: the generator and its settings}, as
    ``planted_of`` gives them for a loaded study."""
    entries = load_profile(profile)["data_sets"]
    return {name: {"generator": entry["planted"], **settings(entry)} for name, entry in entries.items()
            if entry.get("planted") in generators.LATENT}


def latent_cases(tables: Mapping[str, Mapping]) -> list[LatentCase]:
    """Each latent table under each reading it has an answer for, then the network-like cases."""
    cases = []
    split = split_settings()  # a profile is read once, not once per draw
    for name, planted in tables.items():
        for answer in answers_for(planted["generator"], planted["rates"], planted["units"], planted["ratio"]):
            if answer.rule in TABLE_READINGS:
                cases.append(LatentCase(answer.rule, name, TABLE_READINGS[answer.rule], answer.planted,
                                        partial(read_table_draw, dict(planted), answer.rule == RAW, split=split)))
    for name, kind, law, answer, pooled in NETWORK_CASES:
        if kind == "features":
            cases.append(LatentCase("claim 9, latent reading (network, raw)", name, "features", answer,
                                    partial(_read_features, law)))
        else:
            cases.append(LatentCase("claim 9, latent reading (network, pre-pool)", name, "pre-pool", answer,
                                    partial(_read_maps, law, False)))
            cases.append(LatentCase("claim 9, latent reading (network, pooled)", name, "pooled", pooled,
                                    partial(_read_maps, law, True), made_by="pooling"))
    for name, reading, rule, read in RELU_CASES:
        cases.append(LatentCase(rule, name, reading, rules.RELATION, read, made_by="the ReLU"))
    return cases


def _interval(hits: int, n: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a rate of ``hits`` in ``n`` at ``CONFIDENCE``."""
    if not n:
        return np.nan, np.nan
    ci = binomtest(hits, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return float(ci.low), float(ci.high)


def clustered_interval(hits: np.ndarray, n: np.ndarray) -> tuple[float, float, float]:
    """The exact interval of a share read in clusters, and its effective number of readings: the
    Clopper-Pearson interval on the readings a design effect leaves (Korn and Graubard 1998).

    A draw's classes are read on the same rows, and the two classes of a mirrored pair are one
    contrast, so a draw, not a class reading, is the independent unit. ``hits[i]`` of ``n[i]``
    readings of draw i count; the design effect is the share's variance over draws (a ratio
    estimator's) against a binomial's on all readings, at least 1. Where it cannot be estimated (a
    share of 0 or 1, or one draw), every reading counts, and the interval is ``_interval``'s."""
    hits, n = np.asarray(hits, dtype=float), np.asarray(n, dtype=float)
    total = n.sum()
    if not total:
        return np.nan, np.nan, 0.0
    rate, draws = hits.sum() / total, int((n > 0).sum())
    effective = total
    if draws > 1 and 0 < rate < 1:
        variance = draws / (draws - 1) * ((hits - rate * n) ** 2).sum() / total ** 2
        effective = min(total, rate * (1 - rate) / variance) if variance > 0 else total
    x, alpha = rate * effective, 1 - CONFIDENCE
    low = 0.0 if x <= 0 else float(beta.ppf(alpha / 2, x, effective - x + 1))
    high = 1.0 if x >= effective else float(beta.ppf(1 - alpha / 2, x + 1, effective - x))
    return low, high, float(effective)


COVERAGE_RATE = 0.08  # a rate near claim 9's measured false positives, for the coverage check
COVERAGE_SIMULATIONS = 400


def interval_coverage(simulations: int = COVERAGE_SIMULATIONS, draws: int = DRAWS, rate: float = COVERAGE_RATE,
                      seed: int = 0) -> dict[str, float]:
    """How often each interval holds a known rate on draws built like the mirrored tables: each
    draw's two class readings both hit (a mirrored pair) with chance ``rate``. The clustered
    interval should hold it in about ``CONFIDENCE`` of simulations; one that counts each class
    reading as independent does not."""
    rng = np.random.default_rng(seed)
    held = {"clustered": 0, "independent": 0}
    n = np.full(draws, 2)
    for _ in range(simulations):
        hits = 2 * (rng.random(draws) < rate)
        low, high, _ = clustered_interval(hits, n)
        held["clustered"] += low <= rate <= high
        low, high = _interval(int(hits.sum()), int(n.sum()))
        held["independent"] += low <= rate <= high
    return {k: v / simulations for k, v in held.items()}


def criterion_errors(n: int, null_rates: tuple[float, ...] = (0.05, 0.10, 0.15, 0.20),
                     powers: tuple[float, ...] = (0.85, 0.90, 0.95)) -> tuple[int, dict[float, float], dict[float, float]]:
    """The criteria of ``judge`` on ``n`` testable readings, as exact binomial chances: the fewest
    readings other than *no relation* from which a null answer is missed; the chance that it is
    missed for a rule whose false-positive rate is each of ``null_rates``; and the chance that a
    planted answer is recovered for a rule whose power is each of ``powers``."""
    if n < 1:
        raise ValueError("The criteria need at least one testable reading.")
    k = next((k for k in range(n + 1) if _interval(k, n)[0] > audit.MAX_FALSE_POSITIVES), n + 1)
    need = int(np.ceil(rules.MOSTLY * n - 1e-9))  # readings of the planted answer that recover it
    return (k, {r: float(binom.sf(k - 1, n, r)) for r in null_rates},
            {p: float(binom.sf(need - 1, n, p)) for p in powers})


def judge(planted: str, statuses: pd.DataFrame) -> dict:
    """A latent case's draws against its planted answer, over its testable class readings. A
    null answer (*no relation*): the false-positive rate, readings other than *no relation*, is
    recovered unless its interval (``clustered_interval``, at ``CONFIDENCE``) lies wholly above
    ``audit.MAX_FALSE_POSITIVES``; a planted answer: the power, the share reading it, is recovered
    from ``rules.MOSTLY``. Both with that interval, its effective number of readings, and the
    count they are read from; ``draws_hit``: the draws with such a reading in at least one class."""
    if "(" in planted:  # an answer per class group: each group judged on its own
        wanted = _per_class(planted)
        parts = {_group(c): judge(wanted[_group(c)], part) for c, part in statuses.groupby("class_index")
                 if _group(c) in wanted}
        return {"testable": sum(p["testable"] for p in parts.values()), "hits": np.nan, "effective": np.nan,
                "draws_hit": np.nan,
                "reads": "; ".join(f"{g}: {p['reads']}" for g, p in parts.items()),
                "false_positive_rate": np.nan, "power": np.nan, "low": np.nan, "high": np.nan,
                "recovered": bool(parts) and all(p["recovered"] for p in parts.values())}
    testable = statuses if planted == rules.LATENT_UNTESTABLE else \
        statuses[statuses["verdict"] != rules.LATENT_UNTESTABLE]
    n = len(testable)
    null = planted == rules.NO_RELATION
    hit = testable["verdict"] != rules.NO_RELATION if null else testable["verdict"] == planted
    hits = int(hit.sum())
    rate = hits / n if n else np.nan
    per_draw = hit.groupby(testable["draw"]).agg(["sum", "size"])
    low, high, effective = clustered_interval(per_draw["sum"].to_numpy(), per_draw["size"].to_numpy())
    recovered = bool(n) and (low <= audit.MAX_FALSE_POSITIVES if null else rate >= rules.MOSTLY)
    return {"testable": n, "hits": hits, "draws_hit": int((per_draw["sum"] > 0).sum()),
            "reads": ", ".join(f"{s} {k}" for s, k in testable["verdict"].value_counts().items()),
            "false_positive_rate": rate if null else np.nan, "power": np.nan if null else rate,
            "low": low, "high": high, "effective": effective, "recovered": recovered}


def latent_draws(tables: Mapping[str, Mapping], draws: int = DRAWS, jobs: int | None = 1) -> pd.DataFrame:
    """Every latent case read on ``draws`` independent draws and judged (``judge``): one row per
    case, the source of the calibration page's latent answers, its network table and its latent
    rates, and of the rates benchmark's record. ``jobs``: as ``start_latent_draws``."""
    return start_latent_draws(tables, draws, jobs)()


def start_latent_draws(tables: Mapping[str, Mapping], draws: int = DRAWS,
                       jobs: int | None = None) -> Callable[[], pd.DataFrame]:
    """``latent_draws`` begun in ``jobs`` other processes (None: one per CPU this process may
    use; 1: read here, when the frame is asked for): what it returns gives the frame, waiting for
    the draws, and this process is free meanwhile (the calibration page loads its studies). The
    rows are the same for any number of processes: each draw is seeded by its index alone."""
    cases = latent_cases(tables)
    groups = {}  # the cases of one generator, read together (``statuses_together``)
    for case in cases:
        groups.setdefault(case.generator, []).append(case)
    pending = in_processes([partial(statuses_together, group, draws) for group in groups.values()], jobs)

    def frame() -> pd.DataFrame:
        statuses = {id(case): read for group, frames in zip(groups.values(), pending())
                    for case, read in zip(group, frames)}
        return pd.DataFrame([{"rule": case.rule, "generator": case.generator, "reading": case.reading,
                              "planted": case.planted, "shown": case.shown, "made_by": case.made_by, "draws": draws,
                              **judge(case.planted, statuses[id(case)])} for case in cases])
    return frame


def in_processes(calls: list[Callable[[], Any]], jobs: int | None = None) -> Callable[[], list]:
    """The calls begun in ``jobs`` loky processes (None: one per CPU this process may use), or
    kept for this process (one job or one call): what it returns gives each call's result, in
    order, waiting for them."""
    jobs = cpu_count() if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1 (or None: one per CPU), got {jobs}.")
    if jobs == 1 or len(calls) <= 1:
        return lambda: [call() for call in calls]
    # One thread each: the processes share the cores out (torch's own threads in two processes on
    # two cores made the feature maps' reading twice as slow as reading them one after the other).
    executor = get_reusable_executor(max_workers=min(jobs, len(calls)), env={"OMP_NUM_THREADS": "1"})
    futures = [executor.submit(call) for call in calls]
    return lambda: [future.result() for future in futures]


def _percent(rate: float, low: float, high: float) -> str:
    return f"{100 * rate:.1f}% ({CONFIDENCE:.0%} interval {100 * low:.1f} to {100 * high:.1f}%)"


def _over_draws(row: Mapping) -> str:
    """'no relation 189 of 200 testable classes; false positives 5.5% (95% interval ...)'."""
    what = ("false positives", row["false_positive_rate"]) if row["planted"] == rules.NO_RELATION \
        else ("reading it", row["power"])
    text = f"{row['reads']} of {row['testable']} testable class readings"
    return text + (f"; {what[0]} {_percent(what[1], row['low'], row['high'])}" if pd.notna(what[1]) else "")


def _drawn(draws: pd.DataFrame | None, generator: str, rule: str) -> pd.Series | None:
    """A latent case's row of ``latent_draws`` (None: not read over draws)."""
    if draws is None:
        return None
    row = draws[(draws["generator"] == generator) & (draws["rule"] == rule)]
    return row.iloc[0] if len(row) else None


def answers_against_planted(studies: Mapping[str, Study], draws: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per planted table and answer: what was planted, what the rule reads on the table
    run through the pipeline (a claim's verdict, or each class's latent status over its splits),
    what the latent reading reads over independent draws of the table's generator (``draws``,
    from ``latent_draws``), and whether it recovers the answer: a claim's verdict on the table,
    a latent answer over the draws (``judge``)."""
    rows = []
    names = {0: "class 0", 1: "class 1"}
    for name, study in studies.items():
        planted = planted_of(study)
        verdicts = None
        for answer in answers_for(planted["generator"], planted["rates"], planted["units"], planted["ratio"]):
            over = "—"
            if answer.rule.startswith("claim 9"):
                statuses = latent_statuses(study, raw="raw" in answer.rule)
                reads = _latent_reads(statuses, names)
                recovered = alone = _recovered(answer.planted, statuses)
                drawn = _drawn(draws, name, answer.rule) if answer.rule in TABLE_READINGS else None
                if drawn is not None:
                    over, recovered = _over_draws(drawn), bool(drawn["recovered"])
            else:
                verdicts = verdicts or _claim_verdicts(study)
                reads = verdicts[int(answer.rule.split()[1])]
                recovered = alone = _recovered(answer.planted, reads)
            rows.append({"data set": name, "rule": answer.rule, "planted": answer.planted, "why": answer.why,
                         "rule reads": reads, "this table": "yes" if alone else "no",
                         "over independent draws": over, "recovered": "yes" if recovered else "no"})
    return pd.DataFrame(rows, columns=["data set", "rule", "planted", "why", "rule reads", "this table",
                                       "over independent draws", "recovered"])


def network_readings(draws: pd.DataFrame) -> pd.DataFrame:
    """The latent reading on network-like planted features (C = 6, D = 64, ReLU zeros), read
    directly over the draws: per case and reading (direct, pre-pool or pooled), what was planted,
    what the classes read and whether that recovers it."""
    part = draws[draws["rule"].str.contains("network")]
    planted = [f"{r['planted']} (made by {r['made_by']})" if r["shown"] else r["planted"] for _, r in part.iterrows()]
    return pd.DataFrame({"case": part["generator"], "reading": part["reading"], "planted": planted,
                         "over independent draws": [_over_draws(r) for _, r in part.iterrows()],
                         "recovered": np.where(part["shown"], "— (shown)", np.where(part["recovered"], "yes", "no"))}
                        ).reset_index(drop=True)


# ---------------------------------------------------------------- measured error rates
RATE_COLUMNS = ["claim", "rule", "unit", "generator", "planted", "reads", "false_positive_rate", "power", "n", "seeds"]


def latent_rate_rows(draws: pd.DataFrame) -> list[dict]:
    """The latent reading's rows of the rates table (the pooled reading, shown beside, is no rule)."""
    rows = []
    for _, r in draws[~draws["shown"]].iterrows():
        rows.append({"claim": "9", "rule": r["rule"], "unit": "testable class", "generator": r["generator"],
                     "planted": r["planted"], "reads": r["reads"],
                     **{k: (None if pd.isna(r[k]) else float(r[k])) for k in ("false_positive_rate", "power", "low",
                                                                              "high", "effective")},
                     "hits": None if pd.isna(r["hits"]) else int(r["hits"]), "n": int(r["testable"]),
                     "seeds": int(r["draws"])})
    return rows


RATE_SHOWN = {"false_positive_rate": "false positives (%)", "power": "power (%)"}
INTERVAL_SHOWN = f"{CONFIDENCE:.0%} interval (%)"


def rates(draws: pd.DataFrame | None = None) -> tuple[pd.DataFrame | None, str]:
    """Each rule's false-positive rate and power in percent with their exact interval: claims 1
    and 7 from ``benchmarks/calibration_rates.py``'s record (a head fitted per seed, a verdict per
    seed: independent readings), the latent reading from ``draws`` where given (read while the
    book is built, by the function that writes the record's rows) or else from the record, with
    the clustered interval of ``judge`` where the row has one; and the record's provenance."""
    try:
        record = records.load(audit.RATES_RECORD)  # the one path the landing page reads too
    except (OSError, ValueError):
        return None, records.missing("calibration_rates")
    rows = [r for r in record.raw["rows"] if draws is None or str(r["claim"]) != "9"]
    if draws is not None:
        rows += latent_rate_rows(draws)
    table = pd.DataFrame(rows).reindex(columns=RATE_COLUMNS + ["hits", "low", "high", "effective"])
    table["n"] = table["n"].fillna(table["seeds"]).astype(int)  # a verdict per seed: one reading each
    intervals = []
    for _, r in table.iterrows():
        rate = r["false_positive_rate"] if pd.notna(r["false_positive_rate"]) else r["power"]
        if pd.notna(r["low"]):  # read in draws: the clustered interval
            low, high = r["low"], r["high"]
        else:
            hits = r["hits"] if pd.notna(r["hits"]) else (round(float(rate) * r["n"]) if pd.notna(rate) else None)
            low, high = _interval(int(hits), int(r["n"])) if hits is not None and r["n"] else (np.nan, np.nan)
        intervals.append("—" if np.isnan(low) else f"{100 * low:.1f} to {100 * high:.1f}")
    table[INTERVAL_SHOWN] = intervals
    table["effective n"] = [round(e) if pd.notna(e) else n for e, n in zip(table["effective"], table["n"])]
    table = table.drop(columns=["hits", "low", "high", "effective"])
    for column, shown in RATE_SHOWN.items():
        table[shown] = (100 * pd.to_numeric(table.pop(column), errors="coerce")).round(1)
    table = table[[c for c in table if c not in (INTERVAL_SHOWN, "n", "effective n", "seeds")]
                  + ["n", "effective n", "seeds", INTERVAL_SHOWN]]
    table = table.astype(object).where(table.notna(), "—")
    source = "Claims 1 and 7 were" if draws is not None else "Every rule was"
    where = "" if draws is None else (f" The latent reading's rows were read while this book was built, over "
                                      f"{int(draws['draws'].iloc[0])} draws of each generator, by the function that "
                                      "writes them to the record.")
    return table, record.provenance(f"{source} measured") + where


# ---------------------------------------------------------------- RQ1 on planted data
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


MODEL_NAMES = {"lg": "LG", "head": "head", "svm": "SVM"}


def _planted_columns(name: str, study: Study) -> dict:
    planted = planted_of(study)
    width = {"sparse": planted["signal"], "dense": planted["d"], "invariant": planted["signal"],
             "combinations": planted["signal"]}.get(planted["generator"])
    return {"data set": name, "generator": planted["generator"], "rates": planted["rates"],
            "ratio": f"{planted['ratio']:g}:1", "D": int(planted["d"]),
            "signal features": int(width) if width is not None else "—"}


def summary_required(studies: Mapping[str, Study]) -> pd.DataFrame:
    """One row per planted data set: what was planted and each model's mean CE per TP (% of D)."""
    rows = []
    for name, study in studies.items():
        required = required_against_planted(study)
        rows.append({**_planted_columns(name, study), **{
            f"{MODEL_NAMES[m]} CE per TP %": round(float(required.loc[required["model"] == m, "measured % of D"].mean()), 1)
            for m in MODEL_NAMES if m in set(required["model"])}})
    return pd.DataFrame(rows).fillna("—")


def _pipeline_miss(r: Mapping, drawn: Mapping) -> str:
    """The one table run through the pipeline reads otherwise than its planted answer while
    the draws recover it: worded with the draws' rate."""
    what = (f"reads something other than no relation in {_percent(drawn['false_positive_rate'], drawn['low'], drawn['high'])}"
            f" of testable class readings, an interval that does not lie above the {audit.MAX_FALSE_POSITIVES:.0%} the "
            f"methods allow; {int(drawn['draws_hit'])} of the {int(drawn['draws'])} draws read so in at least one "
            "class, so a table that does is what that rate gives, not a failure of the rule") \
        if r["planted"] == rules.NO_RELATION else \
        f"reads it in {_percent(drawn['power'], drawn['low'], drawn['high'])} of testable class readings"
    return (f" On the one draw run through the pipeline, {r['data set']} reads {r['rule reads']} (planted "
            f"{r['planted']}; its splits share its rows and read them together); over {int(drawn['draws'])} draws the "
            f"rule {what}.")


def shared_twins(tables: Mapping[str, Mapping]) -> list[tuple[str, str]]:
    """(a table with a relation that both classes share, the table with nothing planted that it
    differs from by a factor per column): the same shared on-rates, units and ratio, so one
    seed draws the same rows and the relation multiplies each column by a factor of its on-rate,
    the same in both classes (methods#latent-reading)."""
    def setting(t):
        return t["rates"], t["units"], t["ratio"]
    nulls = {setting(t): name for name, t in tables.items() if t["generator"] == "frequency" and t["rates"] == "shared"}
    return [(name, nulls[setting(t)]) for name, t in tables.items()
            if t["rates"] == "shared" and t["generator"] in generators.LAWS and t["generator"] != "frequency"
            and setting(t) in nulls]


def _relu_line(draws: pd.DataFrame) -> list[str]:
    """What a ReLU makes by itself, from the draws of ``RELU_CASES``."""
    relu = draws[draws["made_by"] == "the ReLU"] if "made_by" in draws else draws.iloc[0:0]
    if relu.empty:
        return []
    reads = "; ".join(f"{r['reading']}: {r['reads']} of {r['testable']} testable class readings"
                      for _, r in relu.iterrows())
    low, high = generators.RELU_MEANS
    return [f"- **What a ReLU makes by itself.** With no law planted, Gaussian pre-activations whose mean differs by "
            f"class and channel (drawn from {low:g} to {high:g} standard deviations), passed through a ReLU, read "
            f"({reads}): a channel whose pre-activation is larger on average is both on more often and larger when "
            "on. So claim 9's CNN part, a *relation* in a network's features, is what any ReLU layer gives whose "
            "channels differ in mean pre-activation: reading it confirms the paper's observation, not that training "
            "tied magnitude to frequency."]


def _blind_spot(draws: pd.DataFrame, tables: Mapping[str, Mapping]) -> list[str]:
    """What the unit-free reading cannot see, from the draws of ``shared_twins``."""
    lines = []
    for shared, null in shared_twins(tables):
        a, b = _drawn(draws, shared, UNIT_FREE), _drawn(draws, null, UNIT_FREE)
        if a is None or b is None:
            continue
        same = a["reads"] == b["reads"] and a["testable"] == b["testable"]
        lines.append(f"- **What the tabular reading cannot see.** {shared}, whose two classes carry the same relation "
                     f"(shared on-rates), reads {a['reads']} of {a['testable']} testable class readings, "
                     + ("the same counts as" if same else f"against {b['reads']} of {b['testable']} on")
                     + f" {null}, where nothing was planted. The two draw the same rows from one seed and differ by "
                     "a factor per column, which the unit-free contrast divides out: the tabular part of claim 9 "
                     "detects only a relation that differs between classes.")
    return lines


def findings(studies: Mapping[str, Study], answers: pd.DataFrame, network: pd.DataFrame,
             rates_table: pd.DataFrame | None = None, draws: pd.DataFrame | None = None) -> str:
    """The chapter's conclusions, each computed from the tables of the page."""
    lines = []
    n_draws = int(draws["draws"].iloc[0]) if draws is not None and len(draws) else None
    for rule, part in answers.groupby("rule", sort=False):
        ok = (part["recovered"] == "yes").sum()
        missed = part[part["recovered"] == "no"]
        over = part["over independent draws"] != "—"
        line = (f"- **{rule[:1].upper()}{rule[1:]}** recovers its planted answer on {ok} of {len(part)} planted tables"
                + (f" (a latent table's answer over {n_draws} independent draws of its generator)" if over.any() and n_draws
                   else "")
                + ("" if missed.empty else ": it misses " + "; ".join(
                    f"{r['data set']} (planted {r['planted']}, reads {r['over independent draws'] if r['over independent draws'] != '—' else r['rule reads']})"
                    for _, r in missed.iterrows())) + ".")
        for _, r in part[over & (part["this table"] == "no") & (part["recovered"] == "yes")].iterrows():
            line += _pipeline_miss(r, _drawn(draws, r["data set"], rule))
        lines.append(line)
    if len(network):
        rules_only = network[network["recovered"] != "— (shown)"]  # the pooled rows are shown, not judged
        ok = (rules_only["recovered"] == "yes").sum()
        made = draws[(draws["reading"] == "pooled") & draws["generator"].str.contains("none per position")] \
            if draws is not None else pd.DataFrame()
        lines.append(f"- **The latent reading on network-like features** recovers {ok} of {len(rules_only)} planted "
                     f"answers over {n_draws} draws" + (
                         f"; on feature maps with no relation per position, the pooled features read "
                         f"{made['reads'].iloc[0]} of {made['testable'].iloc[0]} class readings: pooling makes the "
                         "relation by itself, which is why the pre-pool reading decides" if len(made) else "") + ".")
    if draws is not None:
        lines += _relu_line(draws) + _blind_spot(draws, planted_tables())
    judged = draws[~draws["shown"] & (draws["testable"] > 0)] if draws is not None else pd.DataFrame()
    for n in sorted(set(judged["testable"])) if len(judged) else []:
        k, missed, recovered = criterion_errors(int(n))
        lines.append(f"- **The criteria themselves**, with {n} testable readings (exact binomial chances, the readings "
                     "taken as independent): a null "
                     f"answer is judged missed from {k} readings other than no relation ({100 * k / n:.0f}%): with "
                     "probability " + ", ".join(f"{p:.2f} for a rule at {100 * r:.0f}% false positives"
                                                for r, p in missed.items())
                     + "; a planted answer is judged recovered with probability "
                     + ", ".join(f"{p:.2f} for a rule of power {100 * q:.0f}%" for q, p in recovered.items()) + ".")
    if len(judged):
        held = interval_coverage()
        lines.append(f"- **The interval of a rate read over draws** counts the readings of one draw together (a draw's "
                     "classes are read on the same rows, and a mirrored pair is one contrast). On simulated draws whose "
                     f"two classes hit together with a known chance of {COVERAGE_RATE:.0%}, it held that chance in "
                     f"{100 * held['clustered']:.1f}% of {COVERAGE_SIMULATIONS} simulations of {DRAWS} draws (its level: "
                     f"{CONFIDENCE:.0%}); an exact interval "
                     f"that takes each class reading as independent held it in {100 * held['independent']:.1f}%.")
    if rates_table is not None and len(rates_table):
        for rule, part in rates_table.groupby("rule", sort=False):
            fp = pd.to_numeric(part[RATE_SHOWN["false_positive_rate"]], errors="coerce").dropna() / 100
            power = pd.to_numeric(part[RATE_SHOWN["power"]], errors="coerce").dropna() / 100
            lines.append(f"- **{rule[:1].upper()}{rule[1:]}**, over {int(part['seeds'].iloc[0])} "
                         f"{'draws' if str(part['claim'].iloc[0]) == '9' else 'seeds'} of each generator: "
                         + (f"false positives {100 * fp.max():.1f}% at most (point estimates)" if len(fp)
                            else "no null generator")
                         + (f", power {100 * power.min():.0f}% at least" if len(power) else "")
                         + (f" (above the {audit.MAX_FALSE_POSITIVES:.0%} limit: flagged beside its verdict)"
                            if len(fp) and fp.max() > audit.MAX_FALSE_POSITIVES else "") + ".")
    return "\n".join(lines)


def required_figure(studies: Mapping[str, Study]):
    """Bars of the CE per TP of LG and the head on each planted data set, with the planted s/D
    of the sparse sets as a dashed line."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    names = [n for n, s in studies.items() if planted_of(s)["generator"] in ("sparse", "dense", "invariant",
                                                                              "combinations")]
    shares = {planted_of(studies[n])["signal"] / planted_of(studies[n])["d"] for n in names
              if planted_of(studies[n])["generator"] == "sparse"}
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

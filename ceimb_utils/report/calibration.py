"""The calibration chapter (methods#calibration-rates): each claim's rule on data whose answer was
planted (``data.planted``), against that answer, and each rule's measured error rates.

Two kinds of planted data: tables declared in the ``planted`` profile, run through the whole
pipeline (models fitted, CE extracted, the audit's rules applied to each data set alone), and
network-like latent features (``latent_features``, ``feature_maps``) that the latent reading
reads directly, since it needs no model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import paths
from ..ce import latent as latent_reading
from ..data import planted as generators
from ..data.planted import settings
from ..datasets import dataset_spec
from ..pipeline.study import Study
from . import audit, rules
from .plots import legend_below

FEATURE_MODELS = ("lg", "head")  # CE per input feature; the SVM's D counts support vectors
RATES_RECORD = paths.ROOT / "benchmarks" / "measured" / "calibration_rates.json"
NOT_HOLDS = "not holds"  # a planted answer met by partly or does not hold


def planted_of(study: Study) -> dict:
    entry = dataset_spec(study.dataset).entry
    return {"generator": entry["planted"], **settings(entry)}


# ---------------------------------------------------------------- what each generator plants
@dataclass(frozen=True)
class Answer:
    rule: str  # "claim 1", "claim 7", "claim 9, tabular (unit-free)", "claim 9, CNN (raw)"
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
        out.append(Answer("claim 9, tabular (unit-free)", rules.LATENT_UNTESTABLE, "Gaussian columns: no off value"))
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
        out.append(Answer("claim 9, tabular (unit-free)", unit_free, why))
        if not units:  # columns in random units have no raw reading: a network layer's units share one
            out.append(Answer("claim 9, CNN (raw)", raw, "a network layer's units share one unit"))
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


def _latent_reads(statuses: pd.DataFrame, names: Mapping[int, str]) -> tuple[str, float]:
    """'relation 6 of 6' per class group, and the share reading the commonest status."""
    if statuses.empty:
        return "no reading", np.nan
    parts = []
    for c, part in statuses.groupby("class_index"):
        counts = part["verdict"].value_counts()
        parts.append(f"{names.get(c, c)}: " + ", ".join(f"{s} {n} of {len(part)}" for s, n in counts.items()))
    return "; ".join(parts), np.nan


def _recovered(planted: str, reads: str | pd.DataFrame, names: Mapping[int, str]) -> bool:
    if isinstance(reads, str):
        return reads != rules.HOLDS if planted == NOT_HOLDS else reads == planted
    if "(" in planted:  # per class: "relation (minority), no relation (majority)"
        wanted = dict(reversed(p.strip().rstrip(")").split(" (")) for p in planted.split(","))
        checks = []
        for c, part in reads.groupby("class_index"):
            group = "minority" if c == 1 else "majority"
            if group in wanted:
                checks.append((part["verdict"] == wanted[group]).mean() >= rules.MOSTLY)
        return bool(checks) and all(checks)
    return bool(len(reads)) and (reads["verdict"] == planted).mean() >= rules.MOSTLY


def answers_against_planted(studies: Mapping[str, Study]) -> pd.DataFrame:
    """One row per planted table and answer: what was planted, what the rule reads, whether they
    agree (a latent answer: at least ``rules.MOSTLY`` of the class readings over repeats)."""
    rows = []
    for name, study in studies.items():
        planted = planted_of(study)
        names = {0: "class 0", 1: "class 1"}
        verdicts = None
        for answer in answers_for(planted["generator"], planted["rates"], planted["units"], planted["ratio"]):
            if answer.rule.startswith("claim 9"):
                statuses = latent_statuses(study, raw="raw" in answer.rule)
                reads, _ = _latent_reads(statuses, names)
                recovered = _recovered(answer.planted, statuses, names)
            else:
                verdicts = verdicts or _claim_verdicts(study)
                reads = verdicts[int(answer.rule.split()[1])]
                recovered = _recovered(answer.planted, reads, names)
            rows.append({"data set": name, "rule": answer.rule, "planted": answer.planted, "why": answer.why,
                         "rule reads": reads, "recovered": "yes" if recovered else "no"})
    return pd.DataFrame(rows, columns=["data set", "rule", "planted", "why", "rule reads", "recovered"])


# ---------------------------------------------------------------- network-like latent features
LATENT_CASES = (  # (name, generator, law, the pre-pool or direct answer, the pooled answer)
    ("multi-class features, none planted", "features", "frequency", rules.NO_RELATION, None),
    ("multi-class features, relation", "features", "frequency_magnitude", rules.RELATION, None),
    ("multi-class features, opposite", "features", "opposite", rules.OPPOSITE, None),
    ("feature maps, none per position", "maps", "frequency", rules.NO_RELATION, rules.RELATION),
    ("feature maps, relation per position", "maps", "frequency_magnitude", rules.RELATION, rules.RELATION),
)


def network_readings(seed: int = 0) -> pd.DataFrame:
    """The latent reading on network-like planted features (C = 6, D = 64, ReLU zeros), read
    directly: per case, what was planted and the share of classes reading it, pre-pool (or
    direct) and pooled."""
    rows = []
    for name, kind, law, answer, pooled_answer in LATENT_CASES:
        if kind == "features":
            F, y = generators.latent_features(law, seed=seed)
            readings = {"features": latent_reading.read_features(F, y, seed=seed)}
        else:
            maps, y = generators.feature_maps(law, seed=seed)
            readings = {"pre-pool": latent_reading.read_maps(maps, y, seed=seed),
                        "pooled": latent_reading.read_features(maps.mean(axis=(2, 3)), y, seed=seed)}
        for reading, statuses in readings.items():
            planted = pooled_answer if reading == "pooled" else answer
            share = float(np.mean([s == planted for s in statuses])) if len(statuses) else np.nan
            rows.append({"case": name, "reading": reading, "planted": planted,
                         "rule reads": ", ".join(f"{s} {n}" for s, n in pd.Series(statuses).value_counts().items()),
                         "share reading it": round(share, 2),
                         "recovered": "yes" if share >= rules.MOSTLY else "no"})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- measured error rates
def rates() -> tuple[pd.DataFrame | None, str]:
    """Each rule's false-positive rate and power from ``benchmarks/calibration_rates.py``'s
    record, and the record's provenance."""
    try:
        record = json.loads(RATES_RECORD.read_text())
    except (OSError, ValueError):
        return None, "*Not measured yet: run `python benchmarks/calibration_rates.py --save`.*"
    table = pd.DataFrame(record["rows"])
    for column in ("false_positive_rate", "power"):
        table[column] = pd.to_numeric(table[column], errors="coerce").round(3)
    table = table.fillna("—")
    return table, (f"Measured with `{record['command']}` on {record['machine']}, {record['measured']}, commit "
                   f"{record['git_commit']}.")


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


# The rates record's rule for each rule of the planted tables
RATE_RULES = {"claim 1": "claim 1", "claim 7": "claim 7",
              "claim 9, tabular (unit-free)": "claim 9, latent reading (table, unit-free)",
              "claim 9, CNN (raw)": "claim 9, latent reading (table, raw)"}
NULL_ANSWERS = (rules.FAILS, NOT_HOLDS, rules.NO_RELATION)


def _chance(rule: str, missed: pd.DataFrame, rates_table: pd.DataFrame | None) -> str:
    """Where every miss is a false positive on a null table, the rule's measured rate of them:
    one draw of a table is one chance, however many splits share its rows."""
    if rates_table is None or not missed["planted"].isin(NULL_ANSWERS).all():
        return ""
    fp = pd.to_numeric(rates_table.loc[rates_table["rule"] == RATE_RULES.get(rule), "false_positive_rate"],
                       errors="coerce").dropna()
    if fp.empty:
        return ""
    seeds = int(rates_table.loc[rates_table["rule"] == RATE_RULES[rule], "seeds"].iloc[0])
    return (f". A false positive on one draw of the table (its splits share its rows and read together): over "
            f"{seeds} draws of each null generator the rule reads one in {100 * fp.max():.0f}% of cases at most, "
            "below")


def findings(studies: Mapping[str, Study], answers: pd.DataFrame, network: pd.DataFrame,
             rates_table: pd.DataFrame | None = None) -> str:
    """The chapter's conclusions, each computed from the tables of the page."""
    lines = []
    for rule, part in answers.groupby("rule", sort=False):
        ok = (part["recovered"] == "yes").sum()
        missed = part[part["recovered"] == "no"]
        lines.append(f"- **{rule[:1].upper()}{rule[1:]}** recovers its planted answer on {ok} of {len(part)} planted "
                     "tables" + ("" if missed.empty else ": it misses " + "; ".join(
                         f"{r['data set']} (planted {r['planted']}, reads {r['rule reads']})"
                         for _, r in missed.iterrows()) + _chance(rule, missed, rates_table)) + ".")
    if len(network):
        ok = (network["recovered"] == "yes").sum()
        pooled = network[(network["reading"] == "pooled") & (network["case"].str.contains("none per position"))]
        lines.append(f"- **The latent reading on network-like features** recovers {ok} of {len(network)} planted "
                     "answers" + (f"; on feature maps with no relation per position, the pooled features read "
                                  f"{pooled['rule reads'].iloc[0]}: pooling makes the relation by itself, which is why "
                                  "the pre-pool reading decides" if len(pooled) else "") + ".")
    if rates_table is not None and len(rates_table):
        for rule, part in rates_table.groupby("rule", sort=False):
            fp = pd.to_numeric(part["false_positive_rate"], errors="coerce").dropna()
            power = pd.to_numeric(part["power"], errors="coerce").dropna()
            lines.append(f"- **{rule[:1].upper()}{rule[1:]}**, over {int(part['seeds'].iloc[0])} seeds of each generator: "
                         + (f"false positives {100 * fp.max():.0f}% at most" if len(fp) else "no null generator")
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

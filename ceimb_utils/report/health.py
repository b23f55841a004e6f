"""Training health: did each cached model learn? Read from the run cache, never recomputed.

Metrics of a model that did not learn say nothing about the paper's claims, so every results
notebook opens with this table and the audit marks the verdicts that rest on such runs. A run
is *unhealthy* when a class has zero recall on the test set or its test balanced accuracy is
below the floor: a quarter of the way from chance (1 / C) to a perfect score, i.e. clearly
better than guessing (``balanced_accuracy_floor``; methods#health).
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..config import load_profile
from ..datasets import dataset_spec
from ..pipeline.study import Study, SweepError, load_study
from .tables import Collapsed

COLUMNS = ("dataset", "model", "method", "seed", "train_balanced_accuracy", "test_balanced_accuracy",
           "zero_recall_classes", "final_loss", "loss_went_down", "healthy")


FLOOR_EXAMPLES = (2, 10)  # the class counts the pages quote the floor for


def balanced_accuracy_floor(n_classes: int) -> float:
    """A quarter of the way from chance to perfect: 0.625 for two classes, 0.325 for ten."""
    chance = 1.0 / n_classes
    return chance + (1.0 - chance) / 4


def _loss_trend(losses) -> tuple[float, bool | None]:
    if not isinstance(losses, list) or not losses:
        return math.nan, None  # tabular fits and re-headed networks record no epoch losses
    return float(losses[-1]), bool(losses[-1] < losses[0]) if len(losses) > 1 else None


def health_table(study: Study) -> pd.DataFrame:
    """One row per cached run of ``study``."""
    rows = []
    recall = study.classes.set_index(["model", "method", "repeat"])
    for run in study.cached:
        cfg, record = run.config, run.record
        key = (cfg["model"], cfg["method"], cfg.get("seed", cfg.get("split")))
        classes = recall.loc[[key]]
        zero = classes.loc[classes["recall"] == 0, "class"].astype(str).tolist()
        floor = balanced_accuracy_floor(len(classes))
        final, down = _loss_trend(record.get("losses"))
        test_ba = float(record["balanced_accuracy"])
        rows.append({"dataset": cfg["dataset"], "model": key[0], "method": key[1], "seed": int(key[2]),
                     "train_balanced_accuracy": float(record["train_balanced_accuracy"]),
                     "test_balanced_accuracy": test_ba, "zero_recall_classes": zero, "final_loss": final,
                     "loss_went_down": down, "healthy": not zero and test_ba >= floor,
                     "floor": round(floor, 3)})
    return pd.DataFrame(rows).round(3)


def health(profile: str, datasets: Iterable[str] | None = None,
           overrides: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Health of every cached run of ``profile``; also the data sets whose runs are not cached
    (``target_checks`` compares the table with the profile's targets)."""
    cfg = load_profile(profile, overrides)
    frames, missing = [], []
    for dataset in (datasets if datasets is not None else cfg["datasets"]):
        try:
            frames.append(health_table(load_study(dataset, profile, overrides, compute=False)))
        except SweepError:
            missing.append(dataset)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS) + ["floor"])
    return table, missing


def target_checks(table: pd.DataFrame, targets: Mapping[str, Any]) -> pd.DataFrame:
    """The profile's ``targets`` for its image models, per image data set of ``table`` (a health
    table): what was measured, what is required and whether it is met (None: it cannot be
    checked). Means are over seeds, compared unrounded and shown to four decimals."""
    rows = []

    def add(target, dataset, value, required, met, detail=""):
        rows.append({"target": target, "dataset": dataset, "value": value, "required": required,
                     "met": met, "detail": detail})

    for dataset, runs in table.groupby("dataset", sort=False):
        if dataset_spec(dataset).kind != "image":
            continue
        means = runs.groupby("method")["test_balanced_accuracy"].mean()
        has_base = "base" in means
        base = means.get("base", math.nan)
        if targets.get("base_balanced_accuracy") is not None:
            need = targets["base_balanced_accuracy"]
            add("base balanced accuracy", dataset, round(base, 4), f">= {need}", bool(base >= need) if has_base else None,
                f"mean of {(runs['method'] == 'base').sum()} seeds" if has_base else "not checked: no base runs")
        others = means.drop("base", errors="ignore") - base
        if targets.get("method_margin") is not None and len(others):
            need = -targets["method_margin"]
            if has_base:
                worst = others.idxmin()
                add("lowest method minus base", dataset, round(others[worst], 4), f">= {need}", bool(others[worst] >= need),
                    f"lowest: {worst} {means[worst]:.4f} against base {base:.4f}")
            else:
                add("lowest method minus base", dataset, None, f">= {need}", None, "not checked: no base runs")
        if targets.get("no_zero_recall"):
            zero = runs[runs["zero_recall_classes"].map(len) > 0]
            add("runs with a zero-recall class", dataset, len(zero), "0", not len(zero),
                "; ".join(f"{r['method']} seed {r['seed']}" for r in zero.to_dict("records")))
    return pd.DataFrame(rows, columns=["target", "dataset", "value", "required", "met", "detail"], dtype=object)


def any_target(targets: Mapping[str, Any]) -> bool:
    return any(v not in (None, False) for v in targets.values())


def as_json_lines(table: pd.DataFrame) -> str:
    """One JSON object per row (NaN as null)."""
    def clean(value):
        if isinstance(value, float) and math.isnan(value):
            return None
        return value.item() if isinstance(value, np.generic) else value
    return "\n".join(json.dumps({k: clean(v) for k, v in row.items()}) for row in table.to_dict("records"))


def why_unhealthy(row) -> str:
    why = []
    if row["zero_recall_classes"]:
        why.append("zero recall: " + ", ".join(row["zero_recall_classes"]))
    if row["test_balanced_accuracy"] < row["floor"]:
        why.append(f"balanced accuracy {row['test_balanced_accuracy']:.3f} < {row['floor']:.3f}")
    return "; ".join(why)


def unhealthy(table: pd.DataFrame) -> pd.DataFrame:
    """The runs that did not learn, with the reason."""
    bad = table[~table["healthy"]]
    return bad.assign(why=[why_unhealthy(r) for r in bad.to_dict("records")])[
        ["dataset", "model", "method", "seed", "test_balanced_accuracy", "why"]].reset_index(drop=True)


def health_summary(study: Study) -> Collapsed:
    """The health of a page's runs in one line (how many learned, which did not and why), the
    full table one click away."""
    table = health_table(study)
    bad = unhealthy(table)
    line = f"{len(table)} runs, {len(table) - len(bad)} healthy"
    if len(bad):
        shown = "; ".join(f"{r['model']} {r['method']} repeat {r['seed']} ({r['why']})" for r in bad.head(3).to_dict("records"))
        line += f"; did not learn: {shown}" + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
    checks = target_checks(table, study.config.get("targets", {}))
    if len(checks):
        line += "; the profile's targets: " + ", ".join(
            f"{r['target']} {r['value']} (target {r['required']}): "
            f"{ {True: 'met', False: 'missed', None: r['detail']}[r['met']]}" for r in checks.to_dict("records"))
    return Collapsed(line, table, "health-" + "-".join(map(str, table["dataset"].unique())))

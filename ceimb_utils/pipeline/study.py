"""A data set's study: its runs, made sure of, and their tables joined for the notebooks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pandas as pd

from ..config import load_profile
from ..datasets import dataset_spec
from .cache import Run
from .executors import InProcessExecutor
from .runs import Context, run_configs

TABLES = ("classes", "readings", "instances", "profile", "frequency", "spearman", "class_curve", "latent",
          "latent_classes")
RECORD_FIELDS = ("balanced_accuracy", "macro_f1", "accuracy", "train_balanced_accuracy", "D",
                 "n_train", "n_test", "n_fit_rows", "seconds", "fit_seconds", "train_seconds",
                 "epoch_seconds", "extract_seconds", "analysis_seconds", "perm_null_seconds", "device",
                 "device_name", "model_selection", "precision_used", "pooled_zero_share", "prepool_stage",
                 "prepool_missing")


class SweepError(RuntimeError):
    """One or more runs failed; the message lists each with its config and traceback."""


def ensure_runs(cfg: Mapping[str, Any], datasets, executor=None, context: Context | None = None):
    """Compute every missing run of ``datasets``; raise SweepError listing any that failed."""

    context = context or Context.from_config(cfg)
    configs = [rc for ds in datasets for rc in run_configs(cfg, ds)]
    if executor is not None:
        outcomes = executor.run(configs, context)
    else:  # tabular runs may run more at once than image runs (``tabular.jobs``)
        outcomes = []
        for kind, jobs in (("tabular", cfg["tabular"]["jobs"] or cfg["jobs"]), ("image", cfg["jobs"])):
            part = [rc for rc in configs if rc["kind"] == kind]
            if part:
                outcomes += InProcessExecutor(jobs).run(part, context)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SweepError(f"{len(failed)} of {len(outcomes)} runs failed:\n\n" + "\n\n".join(o.describe() for o in failed))
    return outcomes


@dataclass
class Study:
    """All runs of one data set under one configuration, as tidy tables.

    Every table carries the run columns ``dataset, model, method, repeat`` (``repeat`` is the
    seed of an image run and the split of a tabular run) and ``class`` names.
    """

    dataset: str
    config: dict
    cached: list[Run]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return dataset_spec(self.dataset).kind

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(self.tables["runs"]["method"]))

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.tables["runs"]["model"]))


def _run_columns(run: Run) -> dict:
    cfg = run.config
    return {"dataset": cfg["dataset"], "model": cfg["model"], "method": cfg["method"],
            "repeat": cfg.get("seed", cfg.get("split"))}


def collect(dataset: str, cfg: Mapping[str, Any], runs: list[Run]) -> Study:
    """Join the tables of ``runs`` into one Study."""
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    records = []
    for run in runs:
        cols = _run_columns(run)
        names = run.table("classes")[["class_index", "class", "group", "n_train"]]
        for name in TABLES:
            frame = run.table(name)
            if name != "classes":
                frame = frame.merge(names, on="class_index", how="left")
            tables[name].append(frame.assign(**cols))
        records.append({**cols, **{k: run.record.get(k) for k in RECORD_FIELDS},
                        "warnings": len(run.record.get("convergence_warnings") or []),
                        "path": str(run.path)})
    joined = {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()}
    joined["runs"] = pd.DataFrame(records)
    return Study(dataset, dict(cfg), runs, joined)


def load_study(dataset: str, profile: str = "smoke", overrides: Mapping[str, Any] | None = None,
               compute: bool = True) -> Study:
    """The study of ``dataset`` under ``profile`` + ``overrides``; missing runs are computed
    when ``compute`` (otherwise a missing run is an error)."""
    cfg = load_profile(profile, overrides)
    dataset_spec(dataset)
    context = Context.from_config(cfg)
    if compute:
        ensure_runs(cfg, [dataset], context=context)
    cache = context.cache()
    runs = []
    for rc in run_configs(cfg, dataset):
        run = cache.load(rc)
        if run is None:
            raise SweepError(f"Run {rc['model']} {rc['method']} of {dataset!r} is not in the cache; "
                             "run `python -m ceimb_utils run` first or pass compute=True.")
        runs.append(run)
    return collect(dataset, cfg, runs)

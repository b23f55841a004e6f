"""A data set's study: its runs, made sure of, and their tables joined for the notebooks."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from .. import paths
from ..config import DatasetConfig, load_profile
from ..datasets import dataset_spec
from .cache import Run
from .executors import InProcessExecutor, write_failure_log
from .runs import Context, RunPlan, run_configs

TABLES = ("classes", "readings", "instances", "profile", "frequency", "spearman", "class_curve", "latent",
          "latent_classes")
RECORD_FIELDS = ("balanced_accuracy", "macro_f1", "accuracy", "train_balanced_accuracy", "D",
                 "n_train", "n_test", "data_rows", "n_fit_rows", "seconds", "fit_seconds", "train_seconds",
                 "epoch_seconds", "extract_seconds", "analysis_seconds", "perm_null_seconds", "device",
                 "device_name", "model_selection", "precision_used", "train_counts", "test_counts", "neighbours",
                 "pooled_zero_share", "prepool_stage", "prepool_missing")


class SweepError(RuntimeError):
    """One or more runs failed; the message gives one line per failed run and the log file
    that holds their configs and tracebacks."""


def ensure_runs(plan: RunPlan, executor=None, context: Context | None = None):
    """Compute every missing run of the plan's data sets; raise SweepError listing any that failed."""
    cfg = plan.config
    context = context or Context.from_config(cfg)
    configs = plan.run_configs()
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
        log = write_failure_log(failed, Path(context.results_dir) if context.results_dir else paths.results_dir())
        raise SweepError(f"{len(failed)} of {len(outcomes)} runs failed:\n" + "\n".join(o.describe() for o in failed)
                         + f"\nTheir tracebacks: {log}")
    return outcomes


@dataclass
class Study:
    """All runs of one data set under one configuration, as tidy tables; ``load_study`` makes it.

    Every table carries the run columns ``dataset, model, method, repeat`` (``repeat`` is the
    seed of an image run and the split of a tabular run) and ``class`` names, and is read as an
    attribute (``study.classes``) or from ``tables``: ``runs`` (one row per run: scores,
    sizes, times, where it is cached), ``classes`` (per class: counts, recall and the metrics),
    ``readings`` (the per-class metrics under each reading, methods#readings), ``instances``,
    ``profile`` (the magnitude profile), ``frequency`` and ``spearman`` (RQ3).

    Parameters
    ----------
    dataset : str
        The data set's name.
    config : dict
        The effective configuration (``load_profile``).
    cached : list of Run
        The runs, as the run cache holds them.
    tables : dict of str to DataFrame
        The joined tables.

    See Also
    --------
    load_study : makes a Study, computing its missing runs.
    """

    dataset: str
    config: dict
    cached: list[Run]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    settings: DatasetConfig | None = None  # the data set's resolved configuration (None: a study made by hand)

    @property
    def kind(self) -> str:
        """``"tabular"`` or ``"image"``."""
        return dataset_spec(self.dataset).kind

    def __getattr__(self, name):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def methods(self) -> list[str]:
        """The methods of the runs, in run order."""
        return list(dict.fromkeys(self.tables["runs"]["method"]))

    @property
    def models(self) -> list[str]:
        """The models of the runs, in run order."""
        return list(dict.fromkeys(self.tables["runs"]["model"]))


def _run_columns(run: Run) -> dict:
    cfg = run.config
    return {"dataset": cfg["dataset"], "model": cfg["model"], "method": cfg["method"],
            "repeat": cfg.get("seed", cfg.get("split"))}


def collect(settings: DatasetConfig, cfg: Mapping[str, Any], runs: list[Run]) -> Study:
    """Join the tables of ``runs`` (of the data set of ``settings``) into one Study."""
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    records = []
    for run in runs:
        cols = _run_columns(run)
        names = run.table("classes")[["class_index", "class", "group", "n_train"]]
        for name in TABLES:
            if not run.has_table(name):  # a table this run's analysis did not make (a tabular run's curve)
                continue
            frame = run.table(name)
            if name != "classes":
                frame = frame.merge(names, on="class_index", how="left")
            tables[name].append(frame.assign(**cols))
        records.append({**cols, **{k: run.record.get(k) for k in RECORD_FIELDS},
                        "warnings": len(run.record.get("convergence_warnings") or []),
                        "path": str(run.path)})
    joined = {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items() if frames}
    joined["runs"] = pd.DataFrame(records)
    return Study(settings.name, dict(cfg), runs, joined, settings)


def run_command(profile: str, datasets, overrides: Mapping[str, Any] | None = None) -> str:
    """The command line that computes the runs of ``profile`` on ``datasets`` with ``overrides``
    (dotted keys, as ``--set`` gives them): what an error or a note tells a user to run."""
    words = ["python", "-m", "ceimb_utils", "run", "--profile", profile, "--datasets", ",".join(datasets)]
    for key, value in (overrides or {}).items():
        text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
        words += ["--set", f"{key}={text.removesuffix(chr(10) + '...').strip()}"]
    return shlex.join(words)


def load_study(dataset: str, profile: str = "smoke", overrides: Mapping[str, Any] | None = None,
               compute: bool = True) -> Study:
    """The study of ``dataset`` under ``profile`` + ``overrides``, its missing runs computed.

    Every run the configuration plans for the data set (models x methods x seeds or splits) is
    read from the run cache (methods#run-cache); a run that is not there is computed first.

    Parameters
    ----------
    dataset : str
        A data set of the profile or a built-in one (``python -m ceimb_utils list``).
    profile : str, default "smoke"
        A built-in profile or the path of a profile file (``load_profile``).
    overrides : mapping, optional
        Configuration keys to change, dotted (``{"image.epochs": 3}``) or nested.
    compute : bool, default True
        Compute missing runs; when False a missing run is an error.

    Returns
    -------
    Study
        The runs' tables, joined.

    Raises
    ------
    ConfigError
        An unknown profile, data set or key, or a value that is not allowed.
    SweepError
        A run failed, or (``compute=False``) a run is not in the cache.

    Examples
    --------
    A planted data set of the calibration chapter (40 features, two of them carry the signal,
    10:1), one logistic regression on one split: seconds.

    >>> from ceimb_utils.pipeline.study import load_study
    >>> tiny = {"tabular.models": ["lg"], "tabular.methods": ["base"],
    ...         "tabular.splits": 1}
    >>> study = load_study("sparse-imb", "planted", tiny)
    >>> study.runs[["model", "method", "repeat", "D", "n_train"]]
      model method  repeat   D  n_train
    0    lg   base       0  40     1400
    >>> study.classes[["class", "group", "n_train", "n_tp"]]
       class     group  n_train  n_tp
    0      0  majority     1273   537
    1      1  minority      127    42
    >>> study.classes["required_pct"].round(1).tolist()  # % of D per TP
    [0.3, 10.2]
    """
    cfg = load_profile(profile, overrides)
    plan = RunPlan.of(cfg, [dataset])  # a notebook's own plan: the data set resolved once
    context = Context.from_config(cfg)
    if compute:
        ensure_runs(plan, context=context)
    cache = context.cache()
    runs = []
    for rc in run_configs(plan[dataset]):
        run = cache.load(rc)
        if run is None:
            raise SweepError(f"Run {rc['model']} {rc['method']} of {dataset!r} is not in the cache; "
                             f"run `{run_command(profile, [dataset], overrides)}` first or pass compute=True.")
        runs.append(run)
    return collect(plan[dataset], cfg, runs)

"""Runs: one data set x model x method x seed (or split), computed once into the run cache.

``run_configs`` lists a data set's grid in dependency order; ``execute`` computes one run
(or returns it from the cache) in two stages: ``train_model`` fits or trains the model (or
takes it from the model cache), then its analysis measures it. Everything that shapes a run's
numbers is in its run config and so in its cache keys; where data lives and whether it may be
downloaded are not.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .. import paths
from ..config import dataset_config
from ..datasets import dataset_spec, register_source, source_of
from ..methods import METHODS, grid_methods
from ..models.device import resolve_device
from .cache import Run, RunCache
from .image_runs import analyse_image, base_config_of, checkpoint_run_configs, image_run_config, train_image
from .tabular_runs import analyse_tabular, tabular_run_configs, train_tabular


@dataclass(frozen=True)
class Context:
    """Where data comes from; not part of any cache key."""

    data_dir: str | None = None
    allow_download: bool = False
    results_dir: str | None = None
    progress: bool = True

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], progress: bool = True) -> "Context":
        return cls(cfg.get("data_dir"), bool(cfg.get("allow_download")), str(paths.results_dir()), progress)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir) if self.data_dir else paths.data_dir()

    @property
    def checkpoint_dir(self) -> Path:
        return Path(self.results_dir) / "checkpoints" if self.results_dir else paths.checkpoints_dir()

    def cache(self) -> RunCache:
        """The analysis stage of the cache (a finished run)."""
        return RunCache(Path(self.results_dir) / "runs" if self.results_dir else None)

    def models(self) -> RunCache:
        """The model stage of the cache."""
        return RunCache(Path(self.results_dir) / "models" if self.results_dir else None, stage="models")


def run_configs(cfg: Mapping[str, Any], dataset: str) -> list[dict]:
    """Every run of ``dataset`` under ``cfg`` (``dependencies`` names what a run needs first)."""
    spec = dataset_spec(dataset)
    section = dataset_config(cfg, dataset)
    common = {"dataset": dataset, "kind": spec.kind, "metrics": dict(cfg["metrics"])}
    source = source_of(spec)
    if source is not None:  # a user's data set: its entry travels with the run (and is in its key)
        common["source"] = source
    if spec.kind == "tabular":
        return tabular_run_configs(common, section, grid_methods(section), section["threads"] or cfg["threads"])
    device = resolve_device(cfg["device"]).type
    if section["checkpoints"]:
        return checkpoint_run_configs(common, section, dataset, cfg["threads"], device)
    return [image_run_config(common, section, method, seed, cfg["threads"], device)
            for seed in section["seeds"] for method in grid_methods(section)]


def dependencies(run_config: Mapping[str, Any]) -> list[dict]:
    """Runs that must be finished before this one (EOS/DSM/tau-norm need the trained base network)."""
    if run_config["kind"] == "image" and METHODS[run_config["method"]].rehead and "checkpoint" not in run_config:
        return [base_config_of(run_config)]
    return []


# Record fields of a model run that describe the cache entry, not the model.
CACHE_FIELDS = ("key", "stage", "config", "version", "code", "git_commit", "host", "finished", "seconds", "checksums")


def train_model(run_config: Mapping[str, Any], context: Context = Context()) -> Run:
    """The run's model, from the model cache or fitted / trained now (a re-head's base first)."""
    register_source(run_config["dataset"], run_config.get("source"))  # in a worker process too
    if run_config["kind"] == "tabular":
        compute = lambda writer: train_tabular(run_config, context, writer)  # noqa: E731
    else:
        compute = lambda writer: train_image(run_config, context, writer, train_model)  # noqa: E731
    return context.models().get_or_compute(run_config, compute)


def execute(run_config: Mapping[str, Any], context: Context = Context()) -> Run:
    """The finished run, from the cache or computed now: its model, then its analysis. The
    analysis record carries the model's training record, so a run reads as one."""
    register_source(run_config["dataset"], run_config.get("source"))
    analyse = analyse_tabular if run_config["kind"] == "tabular" else analyse_image

    def compute(writer):
        model = train_model(run_config, context)
        measured = analyse(run_config, context, writer, model)
        trained = {k: v for k, v in model.record.items() if k not in CACHE_FIELDS}
        return {**trained, **measured, "model_key": model.record["key"], "model_run": model.path.name,
                "model_seconds": model.record["seconds"], "model_git_commit": model.record["git_commit"]}

    return context.cache().get_or_compute(run_config, compute)

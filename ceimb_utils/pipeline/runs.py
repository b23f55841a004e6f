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
from typing import Any, Mapping, Sequence

from .. import paths
from ..config import DatasetConfig, plain, resolve_dataset
from ..datasets import register_source
from ..methods import METHODS
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


@dataclass(frozen=True)
class RunPlan:
    """What a sweep computes: the effective configuration (``config.load_profile``) and each of
    its data sets' configuration, resolved once here and passed down to every stage."""

    config: Mapping[str, Any]
    datasets: tuple[DatasetConfig, ...]

    @classmethod
    def of(cls, cfg: Mapping[str, Any], names: Sequence[str]) -> "RunPlan":
        return cls(cfg, tuple(resolve_dataset(cfg, name) for name in names))

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.datasets]

    def __getitem__(self, name: str) -> DatasetConfig:
        for settings in self.datasets:
            if settings.name == name:
                return settings
        raise KeyError(name)

    def run_configs(self) -> list[dict]:
        return [rc for settings in self.datasets for rc in run_configs(settings)]


def run_configs(settings: DatasetConfig) -> list[dict]:
    """Every run of a data set (``dependencies`` names what a run needs first)."""
    section = settings.plain()
    common = {"dataset": settings.name, "kind": settings.kind, "metrics": plain(settings.metrics)}
    if settings.source is not None:  # a user's data set: its entry travels with the run (and is in its key)
        common["source"] = plain(settings.source)
    if settings.kind == "tabular":
        return tabular_run_configs(common, section, settings.methods, settings.threads)
    device = resolve_device(settings.device).type
    if section["checkpoints"]:
        return checkpoint_run_configs(common, section, settings.name, settings.threads, device)
    return [image_run_config(common, section, method, seed, settings.threads, device)
            for seed in settings.repeats for method in settings.methods]


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

"""Runs: one data set x model x method x seed (or split), computed once into the run cache.

``run_configs`` lists a data set's grid in dependency order; ``execute`` computes one run
(or returns it from the cache). Everything that shapes a run's numbers is in its run config
and so in its cache key; where data lives and whether it may be downloaded are not.
"""
from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import ce as ce_module
from . import paths, summaries
from .cache import Run, RunCache, RunWriter
from .config import dataset_config
from .datasets import dataset_spec
from .methods import METHODS
from .seeding import seed_everything

INVARIANT_RTOL = 1e-6


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
        return RunCache(Path(self.results_dir) / "runs" if self.results_dir else None)


def run_configs(cfg: Mapping[str, Any], dataset: str) -> list[dict]:
    """Every run of ``dataset`` under ``cfg`` (``dependencies`` names what a run needs first)."""
    spec = dataset_spec(dataset)
    section = dataset_config(cfg, dataset)
    common = {"dataset": dataset, "kind": spec.kind, "metrics": dict(cfg["metrics"])}
    out = []
    if spec.kind == "tabular":
        threads = cfg["threads"]
        data = {"test_size": section["test_size"], "max_rows": section["max_rows"]}
        for split in range(section["splits"]):
            for model in section["models"]:
                for method in [m for m in grid_methods(section) if METHODS[m].applies_to("tabular", model)]:
                    train: dict[str, Any] = {}
                    if model == "lg":
                        train["lg_max_iter"] = section["lg_max_iter"]
                    train.update({k: section[k] for k in METHODS[method].keys})
                    out.append({**common, "model": model, "method": method, "split": split,
                                "data": data, "train": train, "threads": threads})
        return out
    from .device import resolve_device
    from .image_runs import checkpoint_run_configs, image_run_config

    device = resolve_device(cfg["device"]).type
    if section["checkpoints"] == "authors":
        return checkpoint_run_configs(common, section, dataset, cfg["threads"], device,
                                      Context.from_config(cfg).data_path)
    for seed in section["seeds"]:
        for method in grid_methods(section):
            out.append(image_run_config(common, section, method, seed, cfg["threads"], device))
    return out


def grid_methods(section: Mapping[str, Any]) -> list[str]:
    """The section's methods, then its interventions (each once)."""
    return list(dict.fromkeys([*section["methods"], *section.get("interventions", [])]))


def dependencies(run_config: Mapping[str, Any]) -> list[dict]:
    """Runs that must be finished before this one (EOS/DSM need the trained base network)."""
    if run_config["kind"] == "image" and METHODS[run_config["method"]].rehead and "checkpoint" not in run_config:
        from .image_runs import base_config_of

        return [base_config_of(run_config)]
    return []


def execute(run_config: Mapping[str, Any], context: Context = Context()) -> Run:
    """The finished run, from the cache or computed now."""
    if run_config["kind"] == "tabular":
        compute = _compute_tabular
    else:
        from .image_runs import compute_image as compute
    return context.cache().get_or_compute(run_config, lambda writer: compute(run_config, context, writer))


def check_invariant(result: ce_module.CEResult, rows: int = 64) -> float:
    """Refuse to store CE that do not add up to the model's own decision (checked on up to
    ``rows`` evenly spaced instances); returns the largest error."""
    n = result.ce.shape[0]
    idx = np.unique(np.linspace(0, n - 1, min(rows, n)).astype(int)) if n else np.arange(0)
    decision = result.decision_of(idx)
    scale = max(1.0, float(np.abs(decision).max(initial=0.0)))
    err = float(np.abs(result.scores[idx] - decision).max(initial=0.0))
    if err > INVARIANT_RTOL * scale * 10:
        raise AssertionError(f"CE do not sum to the decision function (max error {err:.3g}).")
    return err


def write_ce_artifacts(writer: RunWriter, rc: Mapping[str, Any], test: ce_module.CEResult, y_test,
                       train: ce_module.CEResult, y_train, train_counts, class_names=None) -> dict:
    """Store the test CE and every metric table of SPEC section 2; return record fields."""
    invariant_error = max(check_invariant(test), check_invariant(train))
    m = rc["metrics"]
    support = summaries.metrics.supporting(test, y_test)
    instances = summaries.instance_table(test, y_test, support)
    seed = rc.get("seed", rc.get("split", 0))
    readings = summaries.reading_table(test, y_test, k=m["topk"], frac=m["top_frac"])
    classes = summaries.class_table(test, y_test, train_counts, k=m["topk"], frac=m["top_frac"],
                                    support=support, instances=instances, class_names=class_names,
                                    null_permutations=m["null_permutations"], seed=seed, readings=readings)
    freq, rho = summaries.frequency_tables(train, y_train, k=m["topk"], bootstrap=m["bootstrap"],
                                           ci=m["ci"], seed=seed, null_permutations=m["null_permutations"])
    writer.table("instances", instances)
    writer.table("classes", classes)
    writer.table("readings", readings)
    writer.table("profile", summaries.profile_table(test, y_test, support))
    writer.table("frequency", freq)
    writer.table("spearman", rho)
    stored = test.astype(np.float32)
    writer.arrays("ce_test", ce=stored.ce, features=stored.features, weights=stored.weights,
                  bias=np.asarray(stored.bias, dtype=np.float32), y=np.asarray(y_test),
                  classes=np.asarray(test.classes))
    return {"D": int(test.n_terms), "invariant_max_error": invariant_error, **summaries.generalisation(test, y_test),
            "train_balanced_accuracy": summaries.generalisation(train, y_train)["balanced_accuracy"]}


def tabular_split(rc: Mapping[str, Any], X: np.ndarray, y: np.ndarray):
    """The run's stratified subsample (if any) and 70:30 split, seeded by the split index."""
    from sklearn.model_selection import train_test_split

    split, data = rc["split"], rc["data"]
    if data["max_rows"] and len(y) > data["max_rows"]:
        X, _, y, _ = train_test_split(X, y, train_size=data["max_rows"], stratify=y, random_state=split)
    return train_test_split(X, y, test_size=data["test_size"], stratify=y, random_state=split)


def _compute_tabular(rc: Mapping[str, Any], context: Context, writer: RunWriter) -> dict:
    import joblib

    from .tabular import fit_tabular
    from .tabular_data import load_tabular

    seed_everything(rc["split"], threads=rc["threads"])
    data = load_tabular(rc["dataset"], context.data_path, context.allow_download)
    X_train, X_test, y_train, y_test = tabular_split(rc, data.X, data.y)
    started = time.perf_counter()
    fit = fit_tabular(rc["model"], rc["method"], X_train, y_train, seed=rc["split"], **rc["train"])
    fitted = time.perf_counter()
    test = ce_module.extract(fit.model, X_test)
    train = ce_module.extract(fit.model, X_train)
    joblib.dump(fit.model, writer.file("model.joblib"))
    record = write_ce_artifacts(writer, rc, test, y_test, train, y_train, np.bincount(y_train, minlength=2))
    return {**record, "device": "cpu", "device_name": f"CPU ({platform.machine()}, {rc['threads']} threads)",
            "n_train": int(len(y_train)), "n_test": int(len(y_test)),
            "n_fit_rows": fit.n_fit_rows, "fit_class_counts": fit.fit_class_counts,
            "convergence_warnings": fit.warnings, "chosen": fit.chosen, "fit_seconds": round(fitted - started, 3),
            "ce_seconds": round(time.perf_counter() - fitted, 3), "data_source": data.source}

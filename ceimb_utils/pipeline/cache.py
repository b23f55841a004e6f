"""The run cache, in two stages: *models* (a fitted estimator or a trained network with its
training record) and *analyses* (CE, metric tables and nulls of one model).

A model is keyed by its run config without the metric settings, the package version and the
fingerprint of the code that trains (``TRAIN`` stage); an analysis by its model's key, the metric
settings and the fingerprint of the code that measures (``MEASURE`` stage). So editing a metric
re-analyses every run and retrains nothing; editing the training code retrains; rewording a
docstring or a comment recomputes nothing (``code_of``).

A run is written into a private temporary directory; ``record.json`` (with a SHA-256 of every
artifact) is written last and the directory is renamed into place, so a killed run leaves
nothing that looks finished. A run whose artifacts no longer match their checksums is treated
as missing and recomputed. If two workers finish the same run, the first rename wins and the
second copy is discarded: artifacts land exactly once.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .. import __version__, paths
from ..files import file_sha256

RECORD = "record.json"
# Modules that never shape a cached number, each with the reason. Every other module of the
# package (subpackages included) enters the code fingerprint, so a new module is covered the
# day it is written; leaving one out takes an entry here.
PRESENTATION_ONLY = {
    "__main__.py": "the command line: parses arguments and calls the runner",
    "report/": "tables, figures, health and verdicts computed from cached tables when a notebook runs",
    "models/bench.py": "speed measurements, never part of a run",
    "pipeline/dask_executor.py": "where runs are computed, not what they compute",
    "pipeline/executors.py": "where runs are computed, not what they compute",
    "paper.py": "the paper's figures that the book compares with",
    "progress.py": "progress bars",
    "questions.py": "the names, templates and titles of the book's questions",
    "pipeline/golden_numbers.py": "compares cached numbers with the golden file",
    "ce/reference.py": "slow loop versions of the metrics for tests and benchmarks; no run calls them",
    "pipeline/runner.py": "plans sweeps and executes notebooks, which only read the cache",
    "pipeline/study.py": "joins cached tables for the notebooks",
}


# Modules that only measure a model that exists: they enter the analysis key alone. A module
# both stages run (the extraction that EOS, DSM and tau-norm use while training) is in
# SHARED and so in both.
MEASURE_ONLY = ("ce/metrics.py", "ce/summaries.py", "ce/latent.py", "ce/nulls.py", "ce/required.py", "ce/compiled.py",
                "pipeline/artifacts.py")
SHARED = ("ce/extraction.py", "ce/__init__.py")
TRAIN, MEASURE = "train", "measure"
STAGES = (TRAIN, MEASURE)


def stage_of(name: str) -> tuple[str, ...]:
    """The stages whose fingerprint a result-shaping module enters."""
    if name in MEASURE_ONLY:
        return (MEASURE,)
    if name in SHARED:
        return STAGES
    return (TRAIN,)


def presentation_only(name: str) -> bool:
    """Whether the module at ``name`` (relative to the package; a folder entry ends in '/') is left out."""
    return name in PRESENTATION_ONLY or any(name.startswith(entry) for entry in PRESENTATION_ONLY if entry.endswith("/"))


class _Wording(ast.NodeTransformer):
    """Blanks the text of an error message: its strings and f-strings, expressions included."""

    def visit_JoinedStr(self, node):
        return ast.Constant("")

    def visit_Constant(self, node):
        return ast.Constant("") if isinstance(node.value, str) else node


def code_of(source: str | bytes) -> bytes:
    """What a module computes: its syntax tree without docstrings (a tree holds no comments) and
    without the text of the messages it raises (a run that raises stores nothing; the exception's
    class and the condition that raises it stay). Rewording a docstring, a comment or an error
    message keeps every cached run; a change to the code, down to a constant or an operator,
    changes the tree. The tree's form is Python's own (``ast.dump``), so a new Python minor
    version may change it once: runs are then recomputed, never reused wrongly."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            node.exc = _Wording().visit(node.exc)
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


@functools.lru_cache(maxsize=None)
def code_fingerprint(stage: str = TRAIN, package: Path = paths.PACKAGE) -> str:
    """Digest of every module of ``package`` that shapes a result of ``stage`` (once per process).

    Modules are hashed by their path relative to the package and their code (``code_of``), in
    sorted order, so renaming, adding or editing the code of a result-computing module changes
    the digest of its stages, and editing its docstrings or comments does not.
    """
    if stage not in STAGES:
        raise ValueError(f"Unknown stage {stage!r}; choose one of {STAGES}.")
    package = Path(package)
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(package).as_posix()
        if presentation_only(name) or "__pycache__" in path.parts or stage not in stage_of(name):
            continue
        digest.update(name.encode() + b"\0" + code_of(path.read_bytes()) + b"\0")
    return digest.hexdigest()[:16]


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def model_config(run_config: Mapping[str, Any]) -> dict:
    """What shapes a run's model: its config without the metric settings."""
    return {k: v for k, v in run_config.items() if k != "metrics"}


def model_key(run_config: Mapping[str, Any]) -> str:
    return _digest({"config": model_config(run_config), "version": __version__, "code": code_fingerprint(TRAIN)})


def analysis_key(run_config: Mapping[str, Any]) -> str:
    return _digest({"model": model_key(run_config), "metrics": run_config.get("metrics"),
                    "version": __version__, "code": code_fingerprint(MEASURE)})


run_key = analysis_key  # a run is finished when its analysis is
KEYS = {"models": model_key, "runs": analysis_key}


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(paths.ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=10, check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


class Run:
    """A finished run in the cache: its record and lazy access to its artifacts."""

    def __init__(self, directory: Path, record: dict):
        self.path = Path(directory)
        self.record = record

    @property
    def config(self) -> dict:
        return self.record["config"]

    def table(self, name: str):
        import pandas as pd

        return pd.read_parquet(self.path / f"{name}.parquet")

    def has_table(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").exists()

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        with np.load(self.path / f"{name}.npz", allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def model_path(self) -> Path:
        """The directory of the model an analysis measured (the model stage beside ``runs/``)."""
        if self.record.get("stage") == "models":
            return self.path
        return self.path.parents[2] / "models" / self.path.parent.name / self.record["model_run"]

    def model_file(self, name: str) -> Path:
        """A file of the run's model (``model.pt``, ``model.joblib``)."""
        return self.model_path / name


class RunWriter:
    """Where a run's compute function puts its artifacts (inside the temporary directory)."""

    def __init__(self, directory: Path):
        self.path = Path(directory)

    def table(self, name: str, frame) -> None:
        frame.to_parquet(self.path / f"{name}.parquet", index=False)

    def arrays(self, name: str, **arrays: np.ndarray) -> None:
        np.savez(self.path / f"{name}.npz", **arrays)  # float CE barely compress; zlib only costs time

    def file(self, name: str) -> Path:
        return self.path / name


def run_dir_name(run_config: Mapping[str, Any], key: str) -> str:
    index = run_config.get("seed", run_config.get("split", 0))
    tag = "split" if "split" in run_config else "seed"
    return f"{run_config['model']}-{run_config['method']}-{tag}{index}-{key[:12]}"


class RunCache:
    """One stage of the cache: ``stage="runs"`` holds analyses (the default), ``"models"`` models."""

    def __init__(self, root: Path | None = None, stage: str = "runs"):
        if stage not in KEYS:
            raise ValueError(f"Unknown cache stage {stage!r}; choose one of {sorted(KEYS)}.")
        self.stage = stage
        self.key = KEYS[stage]
        self.root = Path(root) if root is not None else paths.results_dir() / stage

    def directory(self, run_config: Mapping[str, Any]) -> Path:
        key = self.key(run_config)
        return self.root / str(run_config["dataset"]) / run_dir_name(run_config, key)

    def load(self, run_config: Mapping[str, Any]) -> Run | None:
        """The finished run, or None when missing or corrupted (a corrupted one is removed)."""
        directory = self.directory(run_config)
        record_path = directory / RECORD
        if not record_path.exists():
            return None
        try:
            record = json.loads(record_path.read_text())
            ok = all(file_sha256(directory / name) == digest for name, digest in record["checksums"].items())
        except (OSError, ValueError, KeyError):
            ok = False
        if not ok:
            shutil.rmtree(directory, ignore_errors=True)
            return None
        return Run(directory, record)

    def get_or_compute(
        self, run_config: Mapping[str, Any], compute: Callable[[RunWriter], Mapping[str, Any]]
    ) -> Run:
        """Return the cached run, computing it with ``compute(writer)`` when missing.

        ``compute`` writes artifacts through the writer and returns extra record fields
        (timings, device, warnings). Only a run that finished completely becomes visible.
        """
        found = self.load(run_config)
        if found is not None:
            return found
        final = self.directory(run_config)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp@{final.name}@{socket.gethostname()}@{os.getpid()}@{uuid.uuid4().hex[:6]}"
        tmp.mkdir()
        try:
            started = time.time()
            extra = dict(compute(RunWriter(tmp)) or {})
            checksums = {p.name: file_sha256(p) for p in sorted(tmp.iterdir()) if p.is_file()}
            record = {
                "key": self.key(run_config),
                "stage": self.stage,
                "config": dict(run_config) if self.stage == "runs" else model_config(run_config),
                "version": __version__,
                "code": code_fingerprint(TRAIN if self.stage == "models" else MEASURE),
                "git_commit": git_commit(),
                "host": socket.gethostname(),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "seconds": round(time.time() - started, 3),
                **extra,
                "checksums": checksums,
            }
            (tmp / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
            try:
                os.rename(tmp, final)
            except OSError:
                if self.load(run_config) is None:  # not a concurrent finish: a real failure
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        run = self.load(run_config)
        if run is None:
            raise RuntimeError(f"Run {final} vanished right after it was written.")
        return run

    def prune_partial(self) -> int:
        """Remove temporary directories left by killed runs of this host; returns how many."""
        host = socket.gethostname()
        removed = 0
        for tmp in self.root.glob("*/.tmp@*"):
            parts = tmp.name.split("@")
            if len(parts) != 5 or parts[2] != host:
                continue
            pid = int(parts[3]) if parts[3].isdigit() else -1
            if pid > 0 and _pid_alive(pid):
                continue
            shutil.rmtree(tmp, ignore_errors=True)
            removed += 1
        return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

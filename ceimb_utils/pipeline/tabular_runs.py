"""Tabular runs: a stratified split, a fitted LG or SVM (with its over-sampling or intervention),
its CE and their tables."""
from __future__ import annotations

import platform
import time
from typing import Any, Mapping

import joblib
import numpy as np

from .. import ce as ce_module
from ..ce import latent as latent_reading
from ..data.tabular import load_tabular, split_rows
from ..methods import METHODS
from ..models.tabular import K_NEIGHBOURS, fit_tabular
from ..seeding import seed_everything
from .artifacts import StepTimes, write_ce_artifacts
from .cache import RunWriter
from .records import class_count_fields, neighbour_fields


def tabular_run_configs(common: Mapping[str, Any], section: Mapping[str, Any], methods, threads: int) -> list[dict]:
    """Every split x model x method of a tabular data set (a method only with the models it applies to)."""
    out = []
    data = {"test_size": section["test_size"], "max_rows": section["max_rows"]}
    for split in range(section["splits"]):
        for model in section["models"]:
            for method in [m for m in methods if METHODS[m].applies_to("tabular", model)]:
                train: dict[str, Any] = {}
                if model in ("lg", "head"):  # both are logistic regressions
                    train["lg_max_iter"] = section["lg_max_iter"]
                train.update({k: section[k] for k in METHODS[method].keys})
                out.append({**common, "model": model, "method": method, "split": split,
                            "data": data, "train": train, "threads": threads})
    return out


def tabular_split(rc: Mapping[str, Any], X: np.ndarray, y: np.ndarray):
    """The run's stratified subsample (if any) and 70:30 split, seeded by the split index:
    X_train, X_test, y_train, y_test."""
    train, test = split_rows(y, rc["split"], rc["data"]["test_size"], rc["data"]["max_rows"])
    return X[train], X[test], y[train], y[test]


def _split_data(rc: Mapping[str, Any], context):
    data = load_tabular(rc["dataset"], context.data_path, context.allow_download)
    return data, tabular_split(rc, data.X, data.y)


def train_tabular(rc: Mapping[str, Any], context, writer: RunWriter) -> dict:
    """The model stage: the fitted estimator (``model.joblib``) and its fit record."""
    seed_everything(rc["split"], threads=rc["threads"])
    data, (X_train, X_test, y_train, y_test) = _split_data(rc, context)
    started = time.perf_counter()
    fit = fit_tabular(rc["model"], rc["method"], X_train, y_train, seed=rc["split"], **rc["train"])
    fit_seconds = round(time.perf_counter() - started, 3)
    joblib.dump(fit.model, writer.file("model.joblib"))
    return {"device": "cpu", "device_name": f"CPU ({platform.machine()}, {rc['threads']} thread{'s' * (rc['threads'] != 1)})",
            "n_train": int(len(y_train)), "n_test": int(len(y_test)), "data_rows": int(len(data.y)),
            "n_fit_rows": fit.n_fit_rows, "fit_class_counts": fit.fit_class_counts,
            "convergence_warnings": fit.warnings, "chosen": fit.chosen, "fit_seconds": fit_seconds,
            "data_source": data.source, **class_count_fields(y_train, y_test, 2),
            **neighbour_fields(rc["method"], K_NEIGHBOURS, fit.k_lowered)}


def analyse_tabular(rc: Mapping[str, Any], context, writer: RunWriter, model_run) -> dict:
    """The analysis stage: the stored estimator's CE on the split's test and training rows."""
    seed_everything(rc["split"], threads=rc["threads"])
    _, (X_train, X_test, y_train, y_test) = _split_data(rc, context)
    model = joblib.load(model_run.file("model.joblib"))
    started = time.perf_counter()
    times = StepTimes()
    with times("extraction"):
        test = ce_module.extract(model, X_test)
        train = ce_module.extract(model, X_train)
    with times("latent"):  # the split's own training rows, as given and before any over-sampling
        latent = {"table": latent_reading.table_counts(X_train, train.class_index(y_train), len(train.classes))}
    record = write_ce_artifacts(writer, rc, test, y_test, train, y_train, np.bincount(y_train, minlength=2),
                                latent=latent, times=times)
    return {**record, "extract_seconds": times.wall["extraction"],
            "ce_seconds": round(time.perf_counter() - started, 3)}

"""What every run stores: its CE, checked against the model's own decision, and the metric
tables of methods#metrics."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Mapping

import numpy as np

from .. import ce as ce_module
from ..ce import latent as latent_reading
from ..ce import required, summaries
from .cache import RunWriter

INVARIANT_RTOL = 1e-6


def check_invariant(result: ce_module.CEResult, rows: int = 64) -> float:
    """Refuse to store CE that do not add up to the model's own decision (checked on up to
    ``rows`` evenly spaced instances); returns the largest error."""
    n = result.n_instances
    idx = np.unique(np.linspace(0, n - 1, min(rows, n)).astype(int)) if n else np.arange(0)
    decision = result.decision_of(idx)
    scale = max(1.0, float(np.abs(decision).max(initial=0.0)))
    err = float(np.abs(result.scores[idx] - decision).max(initial=0.0))
    if err > INVARIANT_RTOL * scale * 10:
        raise AssertionError(f"CE do not sum to the decision function (max error {err:.3g}).")
    return err


class StepTimes:
    """Wall-clock and CPU seconds of each named step of an analysis (``with times("step"):``)."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = round(self.wall.get(name, 0.0) + time.perf_counter() - wall, 4)
            self.cpu[name] = round(self.cpu.get(name, 0.0) + time.process_time() - cpu, 4)


# Reported apart from a run's analysis time (issue 41's analysis is the tables a run needs): the
# per-feature permutation null, and what a process pays once, before its first analysis (numba's
# import and the compiled kernels' load; nothing after the first run).
APART = ("permutation null", "kernels")


def write_ce_artifacts(writer: RunWriter, rc: Mapping[str, Any], test: ce_module.CEResult, y_test,
                       train: ce_module.CEResult, y_train, train_counts, class_names=None,
                       latent: Mapping[str, latent_reading.LatentCounts] | None = None,
                       times: StepTimes | None = None) -> dict:
    """Store the test CE and every metric table of methods#metrics; return record fields.

    ``latent``: the latent reading's counts (methods#latent-reading) by reading name, made by
    the caller from the run's original training rows. The record's ``timings`` hold each step's
    wall-clock seconds (``timings_cpu`` its CPU seconds, ``times`` collects them), and
    ``analysis_seconds`` their sum without the steps of ``APART`` (the per-feature permutation
    null, ``perm_null_seconds``, and the compiled kernels' first load in a process); the CE
    extraction is the caller's.
    """
    times = times if times is not None else StepTimes()
    with times("kernels"):
        kernels = required.compiled_kernels()
        if kernels is not None:
            kernels.warm()
    with times("invariant"):
        invariant_error = max(check_invariant(test), check_invariant(train))
    m = rc["metrics"]
    seed = rc.get("seed", rc.get("split", 0))
    # Each instance's required terms are ranked once per CE and every table reads them.
    with times("required terms, test"):
        terms = summaries.table_terms(test, y_test, k=m["topk"], frac=m["top_frac"])
    with times("required terms, training"):
        # The training tables read no top share: each row keeps its top-k terms, not a tenth of D.
        train_terms = summaries.metrics.required_terms(train, y_train, k=m["topk"], frac=None)["tp"]
    with times("instances"):
        instances = summaries.instance_table(test, y_test, terms["tp"])
    with times("readings"):
        readings = summaries.reading_table(test, y_test, k=m["topk"], frac=m["top_frac"], terms=terms)
    with times("classes"):
        classes = summaries.class_table(test, y_test, train_counts, k=m["topk"], frac=m["top_frac"],
                                        terms=terms["tp"], instances=instances, class_names=class_names,
                                        readings=readings)
    # Claim 7 is judged on networks (and the head, a linear layer on latent features, as the
    # calibration judges it); a tabular LG's or SVM's curve would cost much and decide nothing.
    curve = None
    if rc["kind"] == "image" or rc["model"] == "head":
        with times("class curve"):
            curve = summaries.class_curve_table(test, y_test, terms["tp"], m["union_draws"],
                                                m["union_replicates"], seed)
    with times("permutation null"):
        null = summaries.permutation_null(train_terms, m["spearman_subsample"], m["spearman_permutations"], seed)
    freq, rho = summaries.frequency_tables(train, y_train, k=m["topk"], resamples=m["resamples"], ci=m["ci"],
                                           seed=seed, terms=train_terms, null=null, times=times)
    with times("profile"):
        profile = summaries.profile_table(test, y_test, terms["tp"])
    with times("latent"):
        features, verdicts = latent_reading.latent_tables(
            dict(latent or {}), m["latent_permutations"], [seed, summaries.LATENT_STREAM])
    tables = {"instances": instances, "classes": classes, "readings": readings, "profile": profile,
              "frequency": freq, "spearman": rho, "class_curve": curve, "latent": features,
              "latent_classes": verdicts}
    with times("write"):
        for name, frame in tables.items():
            if frame is not None:
                writer.table(name, frame)
        stored = test.astype(np.float32)
        # Features, weights and biases, not the (N, C, D) CE they make (CEResult builds it on demand).
        writer.arrays("ce_test", features=stored.features, weights=stored.weights,
                      bias=np.asarray(stored.bias, dtype=np.float32), y=np.asarray(y_test),
                      classes=np.asarray(test.classes))
    with times("generalisation"):
        measured = {**summaries.generalisation(test, y_test),
                    "train_balanced_accuracy": summaries.generalisation(train, y_train)["balanced_accuracy"]}
    return {"D": int(test.n_terms), "invariant_max_error": invariant_error, **measured,
            "analysis_seconds": round(sum(v for k, v in times.wall.items() if k not in APART + ("extraction",)), 3),
            "perm_null_seconds": times.wall["permutation null"], "timings": dict(times.wall),
            "timings_cpu": dict(times.cpu)}

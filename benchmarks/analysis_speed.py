"""Where a run's analysis spends its time, against the time of its fit (methods#reproducibility).

    .venv/bin/python benchmarks/analysis_speed.py [--methods base smote adasyn remix] [--split 0]
        [--image] [--sweep] [--numpy-avx2] [--save]

Tabular: the COIL 2000 SVM runs of the ``paper`` profile (split 0, one thread each, as the
profile runs them), each fitted by the pipeline's model stage into an empty results folder and
analysed by its analysis stage (``pipeline.tabular_runs.analyse_tabular``), whose record holds
every step's wall-clock and CPU seconds (``pipeline.artifacts.StepTimes``).
``--image``: the ``quick`` profile's fashion-lt base network of seed 0, trained once through the
run cache into ``results/bench-analysis`` (kept for the next call; its training time is the
fit) and analysed the same way, the pre-pool hook included.

A tabular run is fitted three times and analysed four times in the same process; the record holds
the median fit, and the steps of the median of the last three analyses (the first, which also pays
a process's one-time costs, is kept as ``first_analysis_s``). numba's import and the compiled
kernels' load (their compilation, on a machine's first use) are timed apart, before any run.

"Analysis" is the run's tables: the required terms, instance, readings, class, class-curve,
frequency table and its half-sampling interval (a step of its own), profile and latent tables,
the invariant check and the writing of the files. The CE extraction is reported beside it and
in a second ratio; the per-feature permutation null is reported apart (methods#nulls).

``--sweep``: times ``python -m ceimb_utils run --profile paper --datasets coil_2000
--no-notebooks`` into an empty results folder (the paper's other UCI sets are not offline
here) and reads each run's fit and analysis from its record.

``--numpy-avx2``: measures the tabular runs (and the sweep) again in a child process whose numpy
runs its AVX2 kernels (``NPY_DISABLE_CPU_FEATURES``, read when numpy is imported), as on a CPU
without AVX-512. Each process also times numpy's row sort alone: on AMD's Zen 4, numpy's AVX-512
sort stores with an instruction (a compress to memory) that Zen 4 runs in microcode, and sorting
is the largest single cost of a run's analysis where numba is not installed (the compiled
kernels order only what they must).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _backends import NUMPY_AVX2
from _record import save

from ceimb_utils import config, paths
from ceimb_utils.ce import required
from ceimb_utils.pipeline.cache import RunWriter
from ceimb_utils.pipeline.image_runs import analyse_image
from ceimb_utils.pipeline.runs import Context, run_configs, train_model
from ceimb_utils.pipeline.tabular_runs import analyse_tabular, train_tabular

IMAGE_RESULTS = paths.ROOT / "results" / "bench-analysis"
FITS = 3  # per tabular run; the median is its fit
SWEEP_DATASETS = ("coil_2000",)  # the paper's UCI sets that are offline here


def numpy_disabled() -> str:
    """The CPU features this process's numpy was told to leave unused ("" for its default kernels)."""
    return os.environ.get("NPY_DISABLE_CPU_FEATURES", "").strip()


def cpu_name() -> str:
    """The CPU's model name, with its family and model numbers where Linux gives them (AMD's
    family 25 is Zen 3 and Zen 4; a VM may show only "AMD EPYC")."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().split("\n\n")[0].splitlines()
                      if ":" in line)
    except OSError:
        return platform.processor() or platform.machine()
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    name = fields.get("model name", platform.machine())
    return f"{name}, family {fields['cpu family']}, model {fields['model']}" if "cpu family" in fields else name


def sort_probe() -> dict:
    """numpy's in-place row sort with this process's kernels, on seeded values the size of the base
    run's interval ranks (2,000 rows of 1,833), best of three."""
    values = np.random.default_rng(0).random((2000, 1833))
    best = float("inf")
    for _ in range(3):
        work = values.copy()
        started = time.perf_counter()
        work.sort(axis=1)
        best = min(best, time.perf_counter() - started)
    return {"probe": f"np.sort of {values.shape[0]:,} rows of {values.shape[1]:,} float64", "cpu": cpu_name(),
            "sort_s": round(best, 4)}


def numpy_avx2_rows(args) -> list[dict]:
    """The same measurements in a child process that runs numpy's AVX2 kernels."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        command = [sys.executable, __file__, "--methods", *args.methods, "--split", str(args.split),
                   "--rows-to", str(out)] + (["--sweep", "--datasets", *args.datasets] if args.sweep else [])
        subprocess.run(command, check=True, env={**os.environ, **NUMPY_AVX2})
        return json.loads(out.read_text())


ANALYSES = 4  # per run: the first also pays a process's one-time costs; the median of the rest is shown


def measure(rc: dict, context: Context, model_run, analyse, fits: list[float]) -> dict:
    """Analyse the run ``ANALYSES`` times (into folders that are thrown away) and read the timings
    of the median of all but the first: the first also pays what a process pays once (imports
    inside the steps, NumPy's and BLAS's first buffers), which a study's later runs do not; its
    total is kept beside. ``fits``: the run's fit times (their median is the fit)."""
    analyses = []
    for _ in range(ANALYSES):
        with tempfile.TemporaryDirectory() as tmp:
            analyses.append(analyse(rc, context, RunWriter(Path(tmp)), model_run))
    later = sorted(analyses[1:], key=lambda r: r["analysis_seconds"])
    record = later[len(later) // 2]
    analysis, extraction = record["analysis_seconds"], record["extract_seconds"]
    fit_s = statistics.median(fits)
    return {"dataset": rc["dataset"], "model": rc["model"], "method": rc["method"],
            "repeat": rc.get("seed", rc.get("split")), "threads": rc["threads"], "D": record["D"],
            "n_train": model_run.record["n_train"], "n_test": model_run.record["n_test"],
            "fit_s": fit_s, "extract_s": extraction, "analysis_s": analysis,
            "first_analysis_s": analyses[0]["analysis_seconds"],
            "analyses_s": [r["analysis_seconds"] for r in analyses], "fits_s": list(fits),
            "perm_null_s": record["perm_null_seconds"],
            "analysis_over_fit": round(analysis / fit_s, 3),
            "analysis_and_extraction_over_fit": round((analysis + extraction) / fit_s, 3),
            "steps_s": record["timings"], "steps_cpu_s": record["timings_cpu"]}


def kernels_row() -> dict:
    """What a process pays once before its first analysis: importing numba and loading the
    compiled kernels (compiling them, on a machine's first use), timed apart from every run."""
    started = time.perf_counter()
    kernels = required.compiled_kernels()
    if kernels is not None:
        kernels.warm()
    row = {"kernels": f"numba {importlib.metadata.version('numba')}" if kernels is not None else "none (numpy sorts)",
           "first_use_s": round(time.perf_counter() - started, 3)}
    print(json.dumps(row), flush=True)
    return row


def tabular_rows(methods: list[str], split: int) -> list[dict]:
    cfg = config.load_profile("paper")
    rows = []
    with tempfile.TemporaryDirectory() as results:
        context = Context(results_dir=results, progress=False)
        for rc in run_configs(config.resolve_dataset(cfg, "coil_2000")):
            if rc["model"] == "svm" and rc["method"] in methods and rc["split"] == split:
                model = train_model(rc, context)  # fitted now: the results folder is empty
                fits = [model.record["fit_seconds"]]
                for _ in range(FITS - 1):  # fitted again as the model stage fits it, into a folder thrown away
                    with tempfile.TemporaryDirectory() as tmp:
                        fits.append(train_tabular(rc, context, RunWriter(Path(tmp)))["fit_seconds"])
                rows.append(measure(rc, context, model, analyse_tabular, fits))
                print(json.dumps(rows[-1]), flush=True)
    return rows


def image_row() -> dict:
    cfg = config.load_profile("quick")
    rc = next(rc for rc in run_configs(config.resolve_dataset(cfg, "fashion-lt")) if rc["method"] == "base" and rc["seed"] == 0)
    context = Context(results_dir=str(IMAGE_RESULTS), progress=False)
    model = train_model(rc, context)  # trained on the first call only
    row = measure(rc, context, model, analyse_image, [model.record["train_seconds"]])
    row["fit"] = f"training of {rc['train']['epochs']} epochs, recorded {model.record['finished']}"
    print(json.dumps(row), flush=True)
    return row


def sweep_row(datasets=SWEEP_DATASETS) -> dict:
    """The paper profile's runs on ``datasets``, from an empty results folder."""
    with tempfile.TemporaryDirectory() as results:
        command = [sys.executable, "-m", "ceimb_utils", "run", "--profile", "paper", "--datasets",
                   *datasets, "--no-notebooks"]
        started = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "CEIMB_RESULTS": results, "CEIMB_PROGRESS": "0"})
        wall = round(time.perf_counter() - started, 1)
        records = [json.loads(p.read_text()) for p in Path(results).glob("runs/*/*/record.json")]
    svm = [r for r in records if r["config"]["model"] == "svm"]
    ratios = {m: [r["analysis_seconds"] / r["fit_seconds"] for r in svm if r["config"]["method"] == m]
              for m in sorted({r["config"]["method"] for r in svm})}
    row = {"sweep": " ".join(["python -m ceimb_utils run --profile paper --datasets", *datasets,
                              "--no-notebooks"]),
           "datasets": list(datasets), "runs": len(records), "wall_s": wall,
           "svm_analysis_over_fit": {m: {"median": round(statistics.median(v), 3), "max": round(max(v), 3)}
                                     for m, v in ratios.items()},
           "fit_s_total": round(sum(r["fit_seconds"] for r in records), 1),
           "extract_s_total": round(sum(r["extract_seconds"] for r in records), 1),
           "analysis_s_total": round(sum(r["analysis_seconds"] for r in records), 1),
           "perm_null_s_total": round(sum(r["perm_null_seconds"] for r in records), 1)}
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=["base", "smote", "adasyn", "remix"])
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--image", action="store_true", help="also the quick profile's fashion-lt base run")
    parser.add_argument("--sweep", action="store_true", help="also time the paper profile on the offline UCI sets")
    parser.add_argument("--datasets", nargs="+", default=list(SWEEP_DATASETS),
                        help="the sweep's data sets (all five UCI sets: ozone_level scene coil_2000 thyroid_sick us_crime, with CEIMB_DATA at an imbalanced-learn data home that holds them)")
    parser.add_argument("--numpy-avx2", action="store_true",
                        help="also measure the tabular runs (and the sweep) with numpy's AVX2 kernels, in a child process")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/analysis_speed.json")
    parser.add_argument("--rows-to", type=Path, help=argparse.SUPPRESS)  # the child's rows, for its parent
    args = parser.parse_args()
    rows = [sort_probe(), kernels_row(), *tabular_rows(args.methods, args.split)]
    if args.image:
        rows.append(image_row())
    if args.sweep:
        rows.append(sweep_row(tuple(args.datasets)))
    for row in rows:
        row["numpy_disabled"] = numpy_disabled()
    if args.rows_to:
        args.rows_to.write_text(json.dumps(rows))
    if args.numpy_avx2:
        rows += numpy_avx2_rows(args)
    if args.save:
        save("analysis_speed", rows)


if __name__ == "__main__":
    main()

"""Measure how much the golden numbers move across CPU back-ends and thread counts.

Each variant recomputes every smoke run from scratch in its own results directory, in a fresh
process whose environment selects a CPU back-end: PyTorch's vector width (ATEN_CPU_CAPABILITY),
oneDNN's instruction set, OpenBLAS's kernels (numpy and scipy), MKL's and numpy's own (its
ufuncs and sorts: NPY_DISABLE_CPU_FEATURES), as an AVX2-only laptop, an AMD Zen or an older CPU
would pick them. The spread per quantity is the largest difference from the default back-end;
``make golden`` turns it into tolerances.

    python benchmarks/golden_spread.py --save     # writes benchmarks/measured/golden_spread.json
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _backends import AVX2, NUMPY_AVX2, NUMPY_SSE  # noqa: E402
from _record import save  # noqa: E402

from ceimb_utils.pipeline import golden_numbers  # noqa: E402

VARIANTS = {
    "default": {},
    "one thread (OMP, MKL, OpenBLAS)": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    "AVX2 (torch, oneDNN)": AVX2,
    "AVX2 everywhere (+ numpy AVX2, OpenBLAS Haswell, MKL AVX2)": {**AVX2, **NUMPY_AVX2, "OPENBLAS_CORETYPE": "Haswell",
                                                                   "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "AMD Zen kernels (OpenBLAS Zen, numpy and torch AVX2)": {**AVX2, **NUMPY_AVX2, "OPENBLAS_CORETYPE": "Zen"},
    "no vector units (torch default, oneDNN SSE4.1, OpenBLAS Nehalem, numpy SSE)": {
        "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "OPENBLAS_CORETYPE": "Nehalem",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", **NUMPY_SSE},
}
DUMP = "import json, sys; from ceimb_utils.pipeline import golden_numbers; json.dump(golden_numbers.numbers(), open(sys.argv[1], 'w'))"


def measure(variant: dict[str, str], workdir: Path) -> tuple[dict, float]:
    out = workdir / "numbers.json"
    env = {**os.environ, **variant, "CEIMB_RESULTS": str(workdir / "results"), "CEIMB_PROGRESS": "0"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", DUMP, str(out)], env=env, check=True)
    return json.loads(out.read_text()), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/golden_spread.json")
    args = parser.parse_args()
    runs, seconds = [], {}
    for name, variant in VARIANTS.items():
        with tempfile.TemporaryDirectory() as tmp:
            numbers, took = measure(variant, Path(tmp))
        runs.append(numbers)
        seconds[name] = round(took, 1)
        print(f"{name}: {took:.0f} s", flush=True)
    spread = golden_numbers.spread(runs)
    per_variant = {name: golden_numbers.spread([runs[0], r]) for name, r in zip(VARIANTS, runs)}
    for q, s in sorted(spread.items(), key=lambda kv: -kv[1]):
        if s:
            print(f"{q:60s} {s:.3g}")
    if args.save:
        save("golden_spread", {"variants": {n: dict(v) for n, v in VARIANTS.items()}, "seconds": seconds,
                               "spread": spread, "spread_by_variant": per_variant})


if __name__ == "__main__":
    main()

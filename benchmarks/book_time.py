"""Where a fresh clone's `make book` and `make test` spend their time (methods#reproducibility).

Clones the repository into a temporary folder and times, in it, each step of `make book` as the
Makefile runs them (set-up, data, each profile's runs, the notebooks and HTML) and then
`CI=true bash .ci/run` (`make test` with its set-up). By default under the AVX2 back-end
(`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`), the kernels of a CPU without AVX-512 or
bf16, as the project's budgets are stated. The Reproduce and Speed pages read the record.

    python benchmarks/book_time.py --save            # about 35 minutes on 2 cores
    python benchmarks/book_time.py --no-test --save  # the book only
"""
from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from _record import save

ROOT = Path(__file__).resolve().parent.parent
# The steps of `make book`, in the Makefile's order (each a target of its own).
BOOK_STEPS = ("setup", "data", "runs-quick", "runs-own-data", "runs-planted", "html")
AVX2 = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def timed(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed in {cwd}:\n{done.stderr[-3000:]}")
    return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default-backend", action="store_true", help="the CPU's own kernels, not AVX2")
    parser.add_argument("--no-test", action="store_true", help="time the book only")
    parser.add_argument("--keep", type=Path, help="clone into this new folder and keep it (to read the built book)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, **({} if args.default_backend else AVX2)}
    env.pop("CEIMB_RESULTS", None)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clone = args.keep.resolve() if args.keep else Path(tmp) / "ceimb"
        if clone.exists():
            raise SystemExit(f"{clone} exists; --keep takes a new folder.")
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        for step in BOOK_STEPS:
            seconds = timed(["make", step], clone, env)
            rows.append({"command": "make book", "step": step, "seconds": seconds})
            print(f"{step}: {seconds:.0f} s", flush=True)
        if not args.no_test:
            test_clone = Path(tmp) / "ceimb-test"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(test_clone)], check=True)
            seconds = timed(["bash", ".ci/run"], test_clone, {**env, "CI": "true"})
            rows.append({"command": "make test", "step": "CI=true bash .ci/run (set-up included)", "seconds": seconds})
            print(f"make test: {seconds:.0f} s", flush=True)
    for row in rows:
        row.update(backend="default" if args.default_backend else "AVX2", commit=commit)
    if args.save:
        print(save("book_time", rows))


if __name__ == "__main__":
    main()

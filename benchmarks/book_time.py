"""Where a fresh clone's `make book` and `make test` spend their time (methods#reproducibility).

Clones the repository into a temporary folder and times, in it, each step of `make book` as the
Makefile runs them (set-up, data, each profile's runs, the notebooks and HTML) and then
`CI=true bash .ci/run` (`make test` with its set-up). By default under the AVX2 back-end
(`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`), the kernels of a CPU without AVX-512 or
bf16, as the project's budgets are stated. The book's time is what follows `make setup` (the
set-up is reported apart); with ``--runs 2`` (the budgets' protocol) each run is a new clone,
a third is made when the first two differ by more than three minutes, and the record's figure
is their median. The Reproduce and Speed pages read the record.

    python benchmarks/book_time.py --runs 2 --save    # about 45 minutes on 2 cores
    python benchmarks/book_time.py --no-test --save   # one book only
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _backends import AVX2
from _record import save

ROOT = Path(__file__).resolve().parent.parent
# The steps of `make book`, in the Makefile's order (each a target of its own).
BOOK_STEPS = ("setup", "data", "runs-quick", "runs-own-data", "runs-planted", "html")
SPREAD_S = 180  # two books further apart than this get a third (the budgets' protocol)


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
    parser.add_argument("--keep", type=Path, help="clone each run into DIR/run-N and keep it (to read the built book)")
    parser.add_argument("--runs", type=int, default=1, help="fresh clones whose book is timed, their median "
                                                            "recorded (with 2: a third when they differ by more than 3 minutes)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    if args.runs < 1:
        raise SystemExit("--runs takes at least 1.")
    env = {**os.environ, **({} if args.default_backend else AVX2)}
    env.pop("CEIMB_RESULTS", None)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep.resolve() if args.keep else None
        if keep is not None and keep.exists():
            raise SystemExit(f"{keep} exists; --keep takes a new folder.")
        books: list[float] = []
        while len(books) < args.runs or (len(books) == 2 and max(books) - min(books) > SPREAD_S):
            run = len(books) + 1
            clone = (keep if keep is not None else Path(tmp)) / f"run-{run}"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            for step in BOOK_STEPS:
                seconds = timed(["make", step], clone, env)
                rows.append({"command": "make book", "step": step, "seconds": seconds, "run": run})
                print(f"run {run}, {step}: {seconds:.0f} s", flush=True)
            books.append(sum(r["seconds"] for r in rows if r.get("run") == run and r["step"] != "setup"))
        if not args.no_test:
            test_clone = Path(tmp) / "ceimb-test"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(test_clone)], check=True)
            seconds = timed(["bash", ".ci/run"], test_clone, {**env, "CI": "true"})
            rows.append({"command": "make test", "step": "CI=true bash .ci/run (set-up included)", "seconds": seconds})
            print(f"make test: {seconds:.0f} s", flush=True)
    for row in rows:
        row.update(backend="default" if args.default_backend else "AVX2", commit=commit)
    if args.save:  # the clones' commit; a kept folder is this machine's, not the record's
        argv = [a if a != str(args.keep) else "DIR" for a in sys.argv]
        print(save("book_time", rows, argv=argv, commit=commit))


if __name__ == "__main__":
    main()

"""Peak memory and time of the CE metrics on an ImageNet-sized head, without the N x C x D array.

    .venv/bin/python benchmarks/ce_memory.py [--n 50000] [--classes 1000] [--d 2048] [--full-n 200] [--save]

Synthetic pooled features (non-negative, N x D) and a head (C x D). Each case runs in a fresh
process that reports its peak resident memory above the process's baseline: ``lazy`` is the
package as it is (``CEResult`` keeps features and weights; the metrics take the predicted and the
runner-up's rows), ``full`` passes the whole (N, C, D) CE as the code before issue 26 built it,
at ``--full-n`` instances, and its figures are scaled to N (both grow linearly in N).
Times ``required_terms`` + ``required_ce`` + ``class_topk_union`` + ``top_share``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def case(mode: str, n: int, c: int, d: int) -> dict:
    from ceimb_utils.ce import CEResult, metrics

    rng = np.random.default_rng(0)
    features = np.maximum(rng.normal(size=(n, d)), 0.0)
    weights = rng.normal(scale=0.05, size=(c, d))
    bias = rng.normal(scale=0.1, size=c)
    logits = features @ weights.T + bias
    y = np.where(rng.random(n) < 0.7, logits.argmax(1), rng.integers(0, c, n))
    del logits
    base = peak_mb()
    started = time.perf_counter()
    given = features[:, None, :] * weights[None, :, :] if mode == "full" else None
    result = CEResult(given, bias, features, weights, np.arange(c), features @ weights.T + bias)
    terms = metrics.required_terms(result, y)["tp"]
    metrics.required_ce(result, y, terms=terms)
    metrics.class_topk_union(result, y, terms=terms)
    metrics.top_share(result, y, terms=terms)
    seconds = time.perf_counter() - started
    return {"mode": mode, "n": n, "classes": c, "d": d, "tp": len(terms.rows), "seconds": round(seconds, 2),
            "peak_above_inputs_mb": round(peak_mb() - base, 1), "holds_full_tensor": given is not None or "ce" in result.__dict__}


def run_case(mode: str, n: int, c: int, d: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", mode, "--n", str(n), "--classes", str(c), "--d", str(d)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--full-n", type=int, default=200)
    parser.add_argument("--case", choices=["lazy", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/ce_memory.json")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(args.case, args.n, args.classes, args.d)))
        return
    lazy = run_case("lazy", args.n, args.classes, args.d)
    full = run_case("full", args.full_n, args.classes, args.d)
    scale = args.n / args.full_n
    full.update(scaled_to_n=args.n, scaled_seconds=round(full["seconds"] * scale, 1),
                scaled_peak_gb=round(full["peak_above_inputs_mb"] * scale / 1024, 1))
    for row in (lazy, full):
        print(json.dumps(row))
    if args.save:
        sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
        from _record import save

        save("ce_memory", [lazy, full])


if __name__ == "__main__":
    main()

"""Vectorised CE metrics against a per-instance loop on a CIFAR-10-test-sized problem.

    .venv/bin/python benchmarks/ce_metrics.py [--n 10000] [--classes 10] [--d 64] [--repeats 5]

Times required_ce + class_topk_union + top_share (ceimb_utils.ce.metrics, on one ranking of the CE:
``metrics.required_terms``) and the straightforward
loops of ceimb_utils.ce.reference on the same CE, checks they agree, prints both times and the ratio.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _record import save

from ceimb_utils.ce import CEResult, metrics, reference


def problem(n: int, c: int, d: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = np.maximum(rng.normal(size=(n, d)), 0)  # pooled ReLU features are non-negative
    weights = rng.normal(size=(c, d))
    bias = rng.normal(scale=0.1, size=c)
    ce = features[:, None, :] * weights[None]
    logits = ce.sum(-1) + bias
    y = np.where(rng.random(n) < 0.8, logits.argmax(1), rng.integers(0, c, n))  # about 80% TPs
    return CEResult(ce, bias, features, weights, np.arange(c), logits), y


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/ce_metrics.json for the book")
    args = parser.parse_args()
    result, y = problem(args.n, args.classes, args.d)

    def vectorised():
        fresh = CEResult(result.ce, result.bias, result.features, result.weights, result.classes, result.decision)
        terms = metrics.required_terms(fresh, y)["tp"]  # ranked once, as a run's tables read them
        return (metrics.required_ce(fresh, y, terms=terms), metrics.class_topk_union(fresh, y, terms=terms),
                metrics.top_share(fresh, y, terms=terms))

    def loop():
        return (reference.required_ce_loop(result, y), reference.class_topk_union_loop(result, y),
                reference.top_share_loop(result, y))

    fast_s, fast = best_of(vectorised, args.repeats)
    slow_s, slow = best_of(loop, max(1, args.repeats // 2))
    np.testing.assert_array_equal(fast[0], slow[0])
    np.testing.assert_array_equal(fast[1], slow[1])
    np.testing.assert_allclose(fast[2], slow[2])
    read_s, _ = best_of(lambda: result.ce.sum(), args.repeats)
    row = {"n": args.n, "classes": args.classes, "d": args.d, "tp": int((fast[0] >= 0).sum()),
           "vectorised_s": round(fast_s, 4), "loop_s": round(slow_s, 3), "speedup": round(slow_s / fast_s, 1),
           "read_ce_once_s": round(read_s, 4), "agree": True}
    print(json.dumps(row))
    if args.save:
        save("ce_metrics", [row])


if __name__ == "__main__":
    main()

"""Coverage of the RQ3 Spearman interval (methods#intervals) on finite populations with a known value.

For every regime of ``ceimb_utils.ce.reference`` (the runs' n, D and set sizes) and several
populations, draws samples of n TPs without replacement, computes ``metrics.spearman_interval``
and prints how often a shown interval covers the population's Spearman, and how often none is
shown (and why). Run on demand: ``python benchmarks/interval_coverage.py [--populations 5]
[--regimes TEXT ...]``.
"""
import argparse
import json
import time

from ceimb_utils.ce import reference

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--populations", type=int, default=5)
parser.add_argument("--trials", type=int, default=200)
parser.add_argument("--resamples", type=int, default=200)
parser.add_argument("--regimes", nargs="+", default=[], metavar="TEXT",
                    help="only the regimes whose name holds one of these (the COIL 2000 SVM regime's "
                         "population takes about 10 GB)")
args = parser.parse_args()
rows = []
regimes = {**reference.INTERVAL_REGIMES, **reference.SPARSE_REGIMES}
for name, (n, d, mean_set) in regimes.items():
    if args.regimes and not any(text in name for text in args.regimes):
        continue
    for seed in range(args.populations):
        started = time.perf_counter()
        found = reference.interval_coverage(n, d, mean_set, args.trials, args.resamples, seed)
        rows.append({"regime": name, "population": seed, **found, "seconds": round(time.perf_counter() - started, 1)})
        print(f"{name:58s} population {seed}: truth {found['truth']:.3f}, shown {found['shown']:3d}/{args.trials}, "
              f"coverage {found['coverage']:.3f}, {found['statuses']}", flush=True)
print(json.dumps(rows))

"""Does a faster precision cost accuracy? The profile's image base models, fast vs fp32.

    .venv/bin/python benchmarks/fast_vs_fp32.py [--profile quick] [--dataset fashion-lt] [--precision auto]

Trains (or reads from the run cache) the base model of every seed twice: with ``image.fast``
(channels_last) and ``image.precision`` as given (``auto``: bf16 autocast where the CPU has it,
fp16 AMP on CUDA, else fp32), and with ``image.fast: false`` in fp32 (NCHW). Prints balanced
accuracy, macro-F1, seconds per epoch and the precision each used, one JSON line per seed.
"""
from __future__ import annotations

import argparse
import json

from _record import save

from ceimb_utils.pipeline.study import load_study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--dataset", default="fashion-lt")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/fast_vs_fp32.json for the book")
    args = parser.parse_args()
    runs = {}
    for fast in (True, False):
        study = load_study(args.dataset, args.profile, {"image.methods": ["base"], "image.interventions": [], "image.fast": fast,
                                                       "image.precision": args.precision if fast else "fp32"})
        runs[fast] = study.runs.set_index("repeat")
    rows = []
    for seed in runs[True].index:
        row = {"seed": int(seed)}
        for fast, name in ((True, "fast"), (False, "fp32")):
            r = runs[fast].loc[seed]
            row.update({f"{name}_balanced_accuracy": round(float(r["balanced_accuracy"]), 4),
                        f"{name}_macro_f1": round(float(r["macro_f1"]), 4),
                        f"{name}_epoch_seconds": round(float(r["epoch_seconds"]), 2),
                        f"{name}_precision": r.get("precision_used", "fp32")})
        print(json.dumps(row))
        rows.append(row)
    if args.save:
        save("fast_vs_fp32", rows)


if __name__ == "__main__":
    main()

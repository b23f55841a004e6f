"""Where a tabular run's analysis spends its time: the COIL 2000 SVM base run of the paper profile.

    .venv/bin/python benchmarks/analysis_speed.py [--dataset coil_2000] [--model svm] [--split 0] [--save]

Fits the model once on the profile's split (paper settings, 2 threads), then times each table that
``pipeline.artifacts.write_ce_artifacts`` computes, on the same CE. The full sweep's time is
``python -m ceimb_utils run --profile paper --datasets coil_2000 --no-notebooks`` into an empty
``CEIMB_RESULTS``; its figure is in the closing note of issue 22 and on the Speed page.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _record import save

from ceimb_utils import config
from ceimb_utils.ce import extract, summaries
from ceimb_utils.data.tabular import load_tabular
from ceimb_utils.models.tabular import fit_tabular
from ceimb_utils.paths import data_dir
from ceimb_utils.pipeline.tabular_runs import tabular_split
from ceimb_utils.seeding import seed_everything


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - started, 2), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="coil_2000")
    parser.add_argument("--model", default="svm")
    parser.add_argument("--method", default="smote")
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/analysis_speed.json")
    args = parser.parse_args()
    profile = config.load_profile("paper")
    section, m = profile["tabular"], profile["metrics"]
    seed_everything(args.split, threads=profile["threads"])
    data = load_tabular(args.dataset, data_dir(), False)
    rc = {"split": args.split, "data": {"test_size": section["test_size"], "max_rows": section["max_rows"]}}
    X_train, X_test, y_train, y_test = tabular_split(rc, data.X, data.y)
    fit_s, fit = timed(lambda: fit_tabular(args.model, args.method, X_train, y_train, seed=args.split))
    extract_s, (test, train) = timed(lambda: (extract(fit.model, X_test), extract(fit.model, X_train)))
    row = {"dataset": args.dataset, "model": args.model, "method": args.method, "split": args.split, "D": int(test.n_terms),
           "n_train": int(len(y_train)), "n_test": int(len(y_test)), "fit_s": fit_s, "extract_s": extract_s}
    row["terms_s"], terms = timed(lambda: summaries.table_terms(test, y_test, k=m["topk"], frac=m["top_frac"]))
    row["train_terms_s"], train_terms = timed(lambda: summaries.metrics.required_terms(train, y_train, k=m["topk"])["tp"])
    row["instances_s"], instances = timed(lambda: summaries.instance_table(test, y_test, terms["tp"]))
    row["readings_s"], readings = timed(lambda: summaries.reading_table(test, y_test, k=m["topk"], frac=m["top_frac"],
                                                                         terms=terms))
    row["classes_s"], classes = timed(lambda: summaries.class_table(
        test, y_test, np.bincount(y_train, minlength=2), k=m["topk"], frac=m["top_frac"], terms=terms["tp"],
        instances=instances, null_permutations=m["null_permutations"], seed=args.split, readings=readings))
    row["frequency_s"], (_, rho) = timed(lambda: summaries.frequency_tables(
        train, y_train, k=m["topk"], resamples=m["resamples"], ci=m["ci"], seed=args.split,
        null_permutations=m["null_permutations"], terms=train_terms))
    row["analysis_s"] = round(sum(row[k] for k in ("terms_s", "train_terms_s", "instances_s", "readings_s",
                                                   "classes_s", "frequency_s")), 2)
    # The figures the speed-up must keep (null ranges within their Monte Carlo error).
    row["union_null"] = classes[["union_null_low", "union_null_mean", "union_null_high"]].round(2).to_numpy().tolist()
    row["spearman"] = rho[["spearman", "ci_low", "ci_high", "null_low", "null_high"]].round(3).to_numpy().tolist()
    row["ci_status"] = rho["ci_status"].tolist()
    print(json.dumps(row))
    if args.save:
        save("analysis_speed", [row])


if __name__ == "__main__":
    main()

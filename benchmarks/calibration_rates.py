"""Each claim rule's false-positive rate and power on planted data (methods#calibration-rates).

Over at least 20 seeds of each generator of ``ceimb_utils.data.planted``: claim 1's rule (a head,
logistic regression on the raw features, judged as the CNN family) must hold on sparse signal and
not on dense signal; claim 7's must not hold on invariant carriers or on sparse signal and must
hold on arbitrary combinations; claim 9's latent reading must read *no relation* where nothing was
planted and the relation where it was: on each latent table of the ``planted-latent`` profile
(unit-free, and raw for tables in one unit) and on network-like features and feature maps, by the
calibration page's own function (``report.calibration.latent_draws``). A false positive of claims
1 and 7 is a seed whose verdict is "holds" where that is not the planted answer; of claim 9's
reading, a testable class that reads anything but *no relation* on a null generator. Claim 1 is
also measured on imbalanced tables (10:1), where dense signal must not read "holds". The book's
calibration page reads claims 1 and 7 from the record (it reads the latent draws itself) and the
landing page reads every rule's largest rate.

    python benchmarks/calibration_rates.py --seeds 20 --latent-seeds 100 --save
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import save  # noqa: E402

from ceimb_utils.ce import extract, summaries  # noqa: E402
from ceimb_utils.data import planted  # noqa: E402
from ceimb_utils.datasets import PLANTED_DEFAULTS  # noqa: E402
from ceimb_utils.models.tabular import fit_tabular  # noqa: E402
from ceimb_utils.report import calibration, rules  # noqa: E402

CLAIM_SETS = {  # name: (generator, its settings beside PLANTED_DEFAULTS, the planted profile's)
    "sparse": ("sparse", {"ratio": 1.0}),
    "sparse, 10:1": ("sparse", {"ratio": 10.0}),
    "dense": ("dense", {"ratio": 1.0}),
    "dense, 10:1": ("dense", {"ratio": 10.0}),
    "invariant": ("invariant", {"signal": 3, "ratio": 1.0}),
    "combinations": ("combinations", {"d": 100, "signal": 1, "separation": 8.0, "ratio": 1.0}),
}
# (claim, table, planted answer): on imbalanced dense signal the bias carries part of the
# majority's TPs with few terms, so only "holds" is wrong there (the calibration page's answer).
CLAIM_ANSWERS = ((1, "sparse", rules.HOLDS), (1, "sparse, 10:1", rules.HOLDS), (1, "dense", rules.FAILS),
                 (1, "dense, 10:1", "not holds"), (7, "invariant", rules.FAILS), (7, "sparse", "not holds"),
                 (7, "combinations", rules.HOLDS))


def head_tables(name: str, seed: int) -> rules.Tables:
    """One split of a planted table through a head, as a run's tables (one repeat)."""
    generator, extra = CLAIM_SETS[name]
    settings = {**PLANTED_DEFAULTS, **extra, "seed": seed}
    X, y = planted.generate(generator, **settings)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=seed)
    model = fit_tabular("head", "base", X_train, y_train, seed=seed).model
    test = extract(model, X_test)
    classes = summaries.class_table(test, y_test, np.bincount(y_train, minlength=2))
    curve = summaries.class_curve_table(test, y_test, draws=20, replicates=40, seed=seed)
    cols = {"dataset": generator, "family": "cnn", "model": "head", "method": "base", "repeat": seed}
    classes = classes.assign(**cols)
    curve = curve.merge(classes[["class_index", "group"]], on="class_index").assign(**cols)
    return rules.Tables(classes, curve)


def verdict_rates(seeds: int) -> list[dict]:
    verdicts = {(g, c): [] for g in CLAIM_SETS for c in (1, 7)}
    for generator in CLAIM_SETS:
        for seed in range(seeds):
            tables = head_tables(generator, seed)
            for claim in (1, 7):
                verdicts[(generator, claim)].append(rules.CLAIMS[claim](tables).verdict)
    rows = []
    for claim, generator, planted_answer in CLAIM_ANSWERS:
        read = verdicts[(generator, claim)]
        holds = float(np.mean([v == rules.HOLDS for v in read]))
        null = planted_answer != rules.HOLDS
        rows.append({"claim": str(claim), "rule": f"claim {claim}", "unit": "verdict per seed", "generator": generator,
                     "planted": planted_answer, "reads": ", ".join(f"{k} {n}" for k, n in pd.Series(read).value_counts().items()),
                     "false_positive_rate": holds if null else None, "power": None if null else holds, "n": seeds,
                     "seeds": seeds})
    return rows


def latent_rates(seeds: int) -> list[dict]:
    """Claim 9's latent reading on ``seeds`` draws of each latent table of the planted-latent
    profile (unit-free, and raw for tables in one unit) and of each network-like case: the
    calibration page's function and draws, so its figures and the record's are the same."""
    return calibration.latent_rate_rows(calibration.latent_draws(calibration.planted_tables(), seeds, jobs=None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds of each table fitted for claims 1 and 7")
    parser.add_argument("--latent-seeds", type=int, default=calibration.DRAWS,
                        help="seeds of each generator of the latent reading (cheap: no model; a rate's error shrinks)")
    parser.add_argument("--save", action="store_true")
    args = parser.parse_args()
    if args.save and (args.seeds < 20 or args.latent_seeds != calibration.DRAWS):
        raise SystemExit(f"The record needs at least 20 seeds of each table and the calibration page's "
                         f"{calibration.DRAWS} draws of each latent generator.")
    rows = verdict_rates(args.seeds) + latent_rates(args.latent_seeds)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    if args.save:
        print(save("calibration_rates", [{k: (None if isinstance(v, float) and np.isnan(v) else v)
                                          for k, v in r.items()} for r in rows]))


if __name__ == "__main__":
    main()

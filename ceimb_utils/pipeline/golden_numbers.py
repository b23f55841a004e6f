"""Golden numbers: what the golden notebooks show, compared across machines with tolerances.

nbval checks that the golden notebooks run and show the same text and structure; their floats
are masked (``tests/golden/sanitize.cfg``) because BLAS, oneDNN and the CPU's vector width
legitimately move the last digits. The numbers themselves are compared here: every per-run
metric of the smoke studies, each quantity against ``tests/golden/numbers.json`` with an
absolute tolerance measured from the spread across CPU back-ends and thread counts
(``benchmarks/golden_spread.py``), never against printed text.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping

import numpy as np

from .. import paths
from ..files import atomic_path
from .study import Study, load_study

NUMBERS_FILE = paths.GOLDEN / "numbers.json"
GOLDEN_DATASETS = ("sylva", "fashion-lt")  # a tabular and an image data set, both offline
SPREAD_FILE = paths.ROOT / "benchmarks" / "measured" / "golden_spread.json"
# Per table, the columns compared (float or integer) and the columns that name a row.
QUANTITIES = {
    "classes": (("class_index",), ("n_tp", "recall", "required_pct", "required_pct_exclude",
                                   "required_pct_absolute", "never_crosses_exclude", "bias_only",
                                   "union_pct", "top_share", "top_share_instance", "top_share_absolute",
                                   "ceiling_pct", "n_k0", "n_tp_nonzero",
                                   "required_pct_nonzero")),
    "readings": (("reading", "class_index"), ("n_counted", "required_pct", "never_crosses", "union_pct",
                                              "top_share", "top_share_instance")),
    "spearman": (("class_index",), ("n_train_tp", "spearman", "ci_low", "ci_high", "subsample_spearman",
                                    "perm_null_low", "perm_null_high")),
    "class_curve": (("class_index", "m"), ("union_pct", "null_mean_pct", "null_low_pct", "null_high_pct")),
    "latent_classes": (("reading", "class_index"), ("n_kept", "rho", "null_low", "null_high")),
    "runs": ((), ("balanced_accuracy", "macro_f1", "accuracy", "train_balanced_accuracy", "D")),
}
# The smallest tolerance of each quantity, in its own unit, whatever the measured spread: the
# few machines measured are not every machine. Each stays far below what a real change of a
# definition moves (tests/test_golden_guard.py shows two such changes failing).
FLOORS = {
    "n_tp": 0, "n_counted": 0, "never_crosses": 0, "never_crosses_exclude": 0, "bias_only": 0, "n_train_tp": 0, "D": 0,
    "recall": 1e-3, "balanced_accuracy": 1e-3, "macro_f1": 1e-3, "accuracy": 1e-3,
    "train_balanced_accuracy": 1e-3,
    "required_pct": 0.05, "required_pct_exclude": 0.05, "required_pct_absolute": 0.05, "union_pct": 0.05,
    "ceiling_pct": 0.05,
    "top_share": 1e-3, "top_share_instance": 1e-3, "top_share_absolute": 1e-3,
    "spearman": 5e-3, "ci_low": 5e-3, "ci_high": 5e-3, "null_low": 5e-3, "null_high": 5e-3,
    "n_k0": 0, "n_tp_nonzero": 0, "required_pct_nonzero": 0.05, "n_kept": 0,
    "subsample_spearman": 5e-3, "perm_null_low": 5e-3, "perm_null_high": 5e-3, "rho": 5e-3,
    "null_mean_pct": 0.05, "null_low_pct": 0.05, "null_high_pct": 0.05,
}
MARGIN = 4.0  # tolerance = max(MARGIN x measured spread, floor)


def _row_name(row, keys: Iterable[str]) -> str:
    parts = [row["model"], row["method"], f"repeat{row['repeat']}"]
    parts += [f"{k} {row[k]}" for k in keys]
    return " ".join(str(p) for p in parts)


def study_numbers(study: Study) -> dict[str, float | None]:
    """Flat ``{"<dataset>/<table>/<column>/<row>": value}`` of every compared quantity (NaN as None)."""
    out: dict[str, float | None] = {}
    for table, (keys, columns) in QUANTITIES.items():
        if table not in study.tables:  # a table its runs do not make (a tabular model's union curve)
            continue
        frame = study.tables[table]
        for row in frame.to_dict("records"):
            name = _row_name(row, keys)
            for column in columns:
                value = float(row[column])
                out[f"{study.dataset}/{table}/{column}/{name}"] = None if math.isnan(value) else value
    return out


def numbers(profile: str = "smoke", datasets: Iterable[str] = GOLDEN_DATASETS,
            overrides: Mapping[str, Any] | None = None) -> dict[str, float | None]:
    """Every compared quantity of the studies of ``datasets`` (computing missing runs)."""
    out: dict[str, float | None] = {}
    for dataset in datasets:
        out.update(study_numbers(load_study(dataset, profile, overrides)))
    return out


def quantity(name: str) -> str:
    """The quantity a number belongs to: ``<dataset>/<table>/<column>``."""
    return name.rsplit("/", 1)[0]


def tolerances(spread: Mapping[str, float]) -> dict[str, float]:
    """Per quantity: max(MARGIN x measured spread, the column's floor)."""
    return {q: max(MARGIN * s, FLOORS[q.rsplit("/", 1)[1]]) for q, s in sorted(spread.items())}


def spread(runs: list[Mapping[str, float | None]]) -> dict[str, float]:
    """Per quantity, the largest difference of any number from its value in the first run.

    A number that is NaN on one machine and not on another counts as infinite spread.
    """
    reference = runs[0]
    out: dict[str, float] = {quantity(name): 0.0 for name in reference}
    for other in runs[1:]:
        if set(other) != set(reference):
            raise ValueError("The runs being compared do not hold the same numbers.")
        for name, value in reference.items():
            theirs = other[name]
            if (value is None) != (theirs is None):
                diff = math.inf
            else:
                diff = 0.0 if value is None else abs(theirs - value)
            q = quantity(name)
            out[q] = max(out[q], diff)
    return out


def compare(golden: Mapping[str, Any], observed: Mapping[str, float | None]) -> list[str]:
    """Every difference between ``observed`` and the golden file's values beyond its tolerance."""
    values, tol = golden["values"], golden["tolerances"]
    problems = [f"{name}: missing from this run" for name in values if name not in observed]
    problems += [f"{name}: not in the golden file" for name in observed if name not in values]
    for name in sorted(set(values) & set(observed)):
        want, got = values[name], observed[name]
        if (want is None) != (got is None):
            problems.append(f"{name}: golden {want}, now {got}")
        elif want is not None and not np.isclose(got, want, rtol=0.0, atol=tol[quantity(name)]):
            problems.append(f"{name}: golden {want:.6g}, now {got:.6g} (tolerance {tol[quantity(name)]:.3g})")
    return problems


def read_golden() -> dict:
    return json.loads(NUMBERS_FILE.read_text())


def read_spread() -> dict:
    if not SPREAD_FILE.exists():
        raise FileNotFoundError(f"{SPREAD_FILE} is missing; measure it with `python benchmarks/golden_spread.py --save`.")
    return json.loads(SPREAD_FILE.read_text())


def write_golden(values: Mapping[str, float | None], spread_by_quantity: Mapping[str, float],
                 measured_on: str) -> None:
    """Write ``numbers.json``: the values, the measured spread and the tolerances derived from it."""
    missing = sorted({quantity(n) for n in values} - set(spread_by_quantity))
    if missing:
        raise ValueError(f"No measured spread for {missing[0]}; run benchmarks/golden_spread.py.")
    payload = {
        "about": "Golden numbers of the smoke profile; compared by tests/golden/test_numbers.py. "
                 "Regenerate with `make golden`; remeasure the spread with benchmarks/golden_spread.py.",
        "margin": MARGIN,
        "measured_on": measured_on,
        "spread": dict(sorted(spread_by_quantity.items())),
        "tolerances": tolerances({q: spread_by_quantity[q] for q in {quantity(n) for n in values}}),
        "values": dict(sorted(values.items())),
    }
    with atomic_path(NUMBERS_FILE) as tmp:
        tmp.write_text(json.dumps(payload, indent=1) + "\n")


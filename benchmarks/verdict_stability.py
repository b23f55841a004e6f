"""Do the book's verdicts survive another CPU back-end? (methods#repeats)

Recomputes the quick profile's image runs under other PyTorch / oneDNN back-ends, each in a
results directory of its own and a fresh process, and prints every claim's verdict under each
back-end beside the largest difference of the image numbers the claims rest on. The tabular
runs do not depend on these back-ends: they are linked from the reference cache, not refitted.

    python benchmarks/verdict_stability.py --seeds 0 --save   # writes benchmarks/measured/verdict_stability.json

The reference is the default back-end in ``--reference`` (the book's cache by default): its image
runs are reused only when each records that it was built under this process's kernels
(``cpu_kernels`` in its record; a book made under AVX2 is not the default here), and are
otherwise trained again in a folder of their own. A flipped verdict is reported, never hidden: the
remedy is a margin in the rule that the measured spread justifies, not a choice of back-end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _backends import AVX2, NO_VECTORS  # noqa: E402
from _record import save  # noqa: E402

import torch  # noqa: E402

from ceimb_utils import paths  # noqa: E402
from ceimb_utils.config import load_profile  # noqa: E402
from ceimb_utils.datasets import dataset_spec  # noqa: E402
from ceimb_utils.models.device import cpu_kernels  # noqa: E402

# The image numbers a claim rests on, compared cell by cell across back-ends.
COMPARED = ("required_pct", "top_share", "union_pct", "spearman")

JUDGE = r"""
import json, sys
from ceimb_utils.pipeline.study import load_study
from ceimb_utils.report import audit, wording
profile, datasets, overrides, out = sys.argv[1], sys.argv[2].split(","), json.loads(sys.argv[3]), sys.argv[4]
studies = {name: load_study(name, profile, overrides) for name in datasets}
joined = audit.join(studies)
audits = audit.audit(studies, joined=joined, readings=False)
cells = {}
for table in (joined.classes, joined.rho):
    images = table[table["family"] == "cnn"] if len(table) else table
    keys = [k for k in ("dataset", "model", "method", "class_index", "group", "repeat") if k in images]
    for _, row in images.iterrows():
        cells.setdefault("|".join(map(str, row[keys])), {}).update(
            {c: (None if row[c] != row[c] else float(row[c])) for c in %r if c in images})
json.dump({"claims": [{"number": a.number, "verdict": a.verdict, "figure": wording.ours(a.result, short=True),
                       "per_repeat": wording.repeat_summary(a)} for a in audits], "cells": cells}, open(out, "w"))
""" % (COMPARED,)


def variants() -> dict[str, dict[str, str]]:
    """The default back-end, no vector units, and AVX2 where the CPU has more than AVX2."""
    out = {"default": {}}
    if torch.backends.cpu.get_cpu_capability().startswith("AVX512") or \
            torch.backends.cpu.get_cpu_capability() == "AMX":
        out["AVX2 (ATEN avx2, oneDNN AVX2)"] = AVX2
    out["no vector units (ATEN default, oneDNN SSE4.1)"] = NO_VECTORS
    return out


def link_tabular(reference: Path, target: Path, datasets: list[str]) -> None:
    """Hard-link (or copy) the tabular data sets' cached runs, so only image runs are recomputed."""
    for stage in ("runs", "models"):
        for name in datasets:
            source = reference / stage / name
            if source.exists() and not (target / stage / name).exists():
                (target / stage).mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copytree(source, target / stage / name, copy_function=os.link)
                except OSError:
                    shutil.copytree(source, target / stage / name, dirs_exist_ok=True)


def built_here(reference: Path, datasets: list[str]) -> list[str]:
    """Why ``reference``'s image runs are not the default back-end's of this process (none: they
    are). A cache built under other kernels (``make book`` under AVX2, say) would otherwise be
    reported as the default."""
    here, why = cpu_kernels(), []
    for name in datasets:
        for path in sorted((reference / "models" / name).glob("*/record.json")):
            kernels = json.loads(path.read_text()).get("cpu_kernels")
            if kernels != here:
                why.append(f"{path.parent.name}: {kernels or 'not recorded'}")
    return why


def judge(env: dict[str, str], results: Path, profile: str, datasets: list[str], overrides: dict, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", JUDGE, profile, ",".join(datasets), json.dumps(overrides), str(out)],
                   env={**os.environ, **env, "CEIMB_RESULTS": str(results)}, check=True)
    return time.perf_counter() - started


def largest_difference(reference: dict, other: dict) -> tuple[float, str]:
    worst, where = 0.0, ""
    for cell, values in reference.items():
        for column, value in values.items():
            theirs = other.get(cell, {}).get(column)
            if value is None or theirs is None:
                continue
            if abs(value - theirs) > worst:
                worst, where = abs(value - theirs), f"{column} at {cell}"
    return worst, where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", help="the profile whose verdicts are compared (default quick)")
    parser.add_argument("--seeds", help="comma-separated image seeds (default: the profile's)")
    parser.add_argument("--reference", type=Path, default=None, help="results directory of the default back-end")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/verdict_stability.json")
    args = parser.parse_args()
    cfg = load_profile(args.profile)
    datasets = list(cfg["datasets"])
    tabular = [d for d in datasets if dataset_spec(d).kind == "tabular"]
    overrides = {"image.seeds": [int(s) for s in args.seeds.split(",")]} if args.seeds else {}
    reference = (args.reference or paths.results_dir()).resolve()
    images = [d for d in datasets if d not in tabular]
    other = built_here(reference, images)
    if other:
        print(f"{reference}: {len(other)} image runs were not built under this process's kernels "
              f"({cpu_kernels()}), e.g. {other[0]}; the default back-end's are trained in a folder of their own.",
              flush=True)
    outcomes, seconds = {}, {}
    with tempfile.TemporaryDirectory(prefix="verdict-stability-") as tmp:
        for i, (name, env) in enumerate(variants().items()):
            results = reference if not env and not other else Path(tmp) / f"variant{i}"
            if results != reference:
                link_tabular(reference, results, tabular)
            out = Path(tmp) / f"variant{i}.json"
            seconds[name] = round(judge(env, results, args.profile, datasets, overrides, out), 1)
            outcomes[name] = json.loads(out.read_text())
            print(f"{name}: {seconds[name]:.0f} s", flush=True)
    names = list(outcomes)
    base = outcomes[names[0]]
    rows = []
    for i, claim in enumerate(base["claims"]):
        row = {"claim": claim["number"]}
        for name in names:
            theirs = outcomes[name]["claims"][i]
            row[name] = f"{theirs['verdict']} ({theirs['figure']}; {theirs['per_repeat']})"
        row["same verdict"] = len({outcomes[n]["claims"][i]["verdict"] for n in names}) == 1
        rows.append(row)
    spread = {name: largest_difference(base["cells"], outcomes[name]["cells"]) for name in names[1:]}
    for row in rows:
        print(f"claim {row['claim']}: " + " | ".join(str(row[n]) for n in names) +
              ("" if row["same verdict"] else "   <- FLIPS"))
    for name, (worst, where) in spread.items():
        print(f"largest image difference under {name}: {worst:.3g} ({where})")
    if args.save:
        save("verdict_stability", {"seeds": overrides.get("image.seeds", cfg["image"]["seeds"]), "seconds": seconds,
                                   "claims": rows, "largest_difference": {n: {"value": w, "where": at}
                                                                          for n, (w, at) in spread.items()}})


if __name__ == "__main__":
    main()

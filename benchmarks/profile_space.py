"""Drawn profiles executed whole: runs, every page and the claims audit (methods#profiles).

``tests/test_profile_space.py`` checks drawn profiles without notebooks in ``make test``; this
executes them as a user would, with ``python -m ceimb_utils run --profile mine.yaml``, over the
same tiny data sets, and reports how many were refused before any run (per need), how many built
every page they asked for, the sentences the pages put in place of a part, and every failure:
a traceback, a page that shows a Python warning, or a page whose sentences disagree with the
questions' declared needs.

    python benchmarks/profile_space.py --profiles 50 --save   # writes benchmarks/measured/profile_space.json

A rule that refuses most profiles is a failure, not a pass: the shares refused are printed.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests")]
from _record import save  # noqa: E402

import nbformat  # noqa: E402
import yaml  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import drawn_profiles as drawn  # noqa: E402
from ceimb_utils import paths  # noqa: E402
from ceimb_utils.config import ConfigError  # noqa: E402
from ceimb_utils.pipeline import runner  # noqa: E402
from ceimb_utils.pipeline.study import load_study  # noqa: E402
from ceimb_utils.questions import QUESTION_INFO  # noqa: E402
from ceimb_utils.report import needs  # noqa: E402

# The pages (question, part) whose sentence or figure this run checks in the executed notebook.
CHECKED = [("rq2", "magnitude"), ("rq3", "top5"), ("rq4", "against_base")]


def refused_need(message: str) -> str:
    """The need a refusal names, as a short label: 'rq4: base (tabular.methods)'."""
    key = message.partition(": ")[0]
    if "would have no run" in message:
        return f"a run for every data set ({key})"
    for question in QUESTION_INFO.values():
        if question.because and question.because in message:
            return f"{question.name}: {', '.join(question.requires)} ({key})"
    return f"unexplained: {message}"


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _warning(text: str) -> str:
    return next(line for line in text.splitlines() if "Warning" in line).strip()[-200:]


def page_problems(path: Path, study, question: str) -> list[str]:
    """What is wrong with one executed page: a warning shown, or a declared part whose sentence
    is missing or shown where the part is drawn."""
    nb = nbformat.read(path, as_version=4)
    outputs = _outputs(nb)
    problems = [f"{path.parent.name}/{path.name}: shows a warning: {_warning(o['text'])}"
                for o in outputs if o.get("name") == "stderr" and "Warning" in o.get("text", "")]
    shown = "\n".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    for q, part in CHECKED:
        if q != question:
            continue
        sentence = needs.in_place_of(study, q, part)
        if sentence and sentence not in shown:
            problems.append(f"{q}/{study.dataset}: the sentence in place of {part} is missing")
        if not sentence and QUESTION_INFO[q].need(part).part in shown:
            problems.append(f"{q}/{study.dataset}: a sentence stands in for {part}, which was drawn")
    return problems


def execute(body: dict, folder: Path, book: Path) -> dict:
    """One drawn profile, run whole as a user runs it; what happened."""
    path = drawn.write_profile(folder, body)
    row = {"profile": yaml.safe_dump(body, sort_keys=False, default_flow_style=True).strip()}
    started = time.perf_counter()
    paths.BOOK_RESULTS = book
    try:
        written = runner.run(str(path), overrides={"jobs": 2})
    except ConfigError as err:
        row.update(outcome="refused", need=refused_need(str(err)), message=str(err))
    except Exception as err:  # noqa: BLE001 - every failure is a finding, reported with its traceback
        row.update(outcome="failed", error=f"{type(err).__name__}: {str(err)[-2000:]}",
                   traceback=traceback.format_exc()[-4000:])
    else:
        problems, sentences = [], collections.Counter()
        for ds in body["datasets"]:
            study = load_study(ds, str(path), compute=False)
            for page in [p for p in written if p.parent.name in QUESTION_INFO and p.stem == ds]:
                problems += page_problems(page, study, page.parent.name)
            for q, part in CHECKED:
                if q in drawn.asked_questions(body) and needs.in_place_of(study, q, part):
                    sentences[f"{q}: {part}"] += 1
        for page in [p for p in written if p.parent == book]:  # the claims audit
            problems += [f"claims audit: shows a warning: {_warning(o['text'])}"
                         for o in _outputs(nbformat.read(page, as_version=4))
                         if o.get("name") == "stderr" and "Warning" in o.get("text", "")]
        problems = list(dict.fromkeys(problems))  # a warning once per page
        row.update(outcome="built" if not problems else "built with problems", pages=len(written),
                   problems=problems, sentences=dict(sentences))
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=int, default=50, help="distinct drawn profiles to execute")
    parser.add_argument("--seed", type=int, default=42, help="hypothesis's seed: the same profiles again")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/profile_space.json")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ceimb-profile-space-"))
    os.environ["CEIMB_RESULTS"] = str(work / "results")  # the kernels read the same run cache
    os.environ["CEIMB_PROGRESS"] = "0"
    data = drawn.write_data(work / "data")
    rows, seen = [], set()
    started = time.perf_counter()

    @settings(max_examples=4 * args.profiles, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @seed(args.seed)
    @given(drawn.profiles())
    def sweep(body):
        key = yaml.safe_dump(body, sort_keys=True)
        if len(rows) >= args.profiles or key in seen:
            return
        seen.add(key)
        row = execute(body, data, work / "book" / str(len(rows)))
        rows.append(row)
        print(f"[{len(rows)}/{args.profiles}] {row['outcome']}, {row['seconds']} s: "
              f"{row.get('need') or row.get('error') or row.get('problems') or row.get('sentences')}", flush=True)

    sweep()
    total = time.perf_counter() - started
    outcomes = collections.Counter(r["outcome"] for r in rows)
    refusals = collections.Counter(r["need"] for r in rows if r["outcome"] == "refused")
    sentences = collections.Counter()
    for r in rows:
        sentences.update(r.get("sentences", {}))
    print(f"\n{len(rows)} drawn profiles in {total / 60:.1f} min (work folder {work})")
    for outcome, n in outcomes.most_common():
        print(f"  {outcome}: {n} ({n / len(rows):.0%})")
    for need, n in refusals.most_common():
        print(f"  refused for {need}: {n} ({n / len(rows):.0%})")
    for part, n in sentences.most_common():
        print(f"  a sentence in place of {part}: on {n} pages")
    for r in rows:
        if r["outcome"] not in ("refused", "built"):
            print(f"\n{r['outcome']}: {r['profile']}\n  " + "\n  ".join(r.get("problems") or [r.get("traceback", "")]))
    if args.save:
        summary = {"profiles": len(rows), "minutes": round(total / 60, 1), "seed": args.seed,
                   "outcomes": dict(outcomes), "refused_for": dict(refusals), "sentences": dict(sentences)}
        print(save("profile_space", [summary, *rows]))


if __name__ == "__main__":
    main()

"""Choose the image training settings of a profile without the test set.

    python benchmarks/image_settings.py [--candidate "epochs=16 weight_decay=5e-4" ...] [--seeds 0 10] [--save]

Without ``--candidate`` it repeats the quick profile's search of its training settings (``SEARCHED``).

Trains the base network of every seed once per candidate (``key=value`` pairs of the image
section, over the profile's), on the profile's imbalanced training images minus a balanced
*validation* split of ``--per-class`` images per class from the training split
(``ceimb_utils.data.images.load_validation``: first the images the imbalanced selection left
out; the largest class, which keeps all of its images, lends its share). Prints, per candidate,
the validation balanced accuracy of each seed, their mean, the smallest class recall and the
training minutes, one JSON line per candidate. The test images are never read. Finished
trainings are remembered in ``results/benchmarks/image_settings/`` (delete it after changing the
training code).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from joblib import Parallel, delayed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import save  # noqa: E402

from ceimb_utils.config import parse_value  # noqa: E402


# Explicit in every setting searched, since a candidate overrides the profile as it is now.
SEARCHED = [f"schedule={s} batch_size={b} epochs={e}" + extra for s, b, e, extra in [
    ("step", 128, 12, ""), ("step", 128, 16, ""), ("step", 128, 12, " weight_decay=5e-4"), ("step", 64, 12, ""),
    ("cosine", 128, 12, ""), ("cosine", 128, 12, " warmup_epochs=17"), ("cosine", 128, 13, ""),
    ("cosine", 64, 12, ""), ("cosine", 64, 12, " lr=0.05")]]


def parse_candidate(text: str) -> dict:
    out = {}
    for pair in text.split():
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: a candidate is key=value pairs of the image section, got {pair!r}.")
        out[f"image.{key}"] = parse_value(value)
    return out


def validate(profile: str, dataset: str, overrides: dict, seed: int, per_class: int) -> dict:
    """One seed of one candidate, remembered under the results folder by the resolved run
    settings and the package version (an interrupted search resumes)."""
    from ceimb_utils import __version__, paths
    from ceimb_utils.files import atomic_path

    rc = run_config(profile, dataset, overrides, seed)
    key = hashlib.sha256(json.dumps([rc, per_class, __version__], sort_keys=True, default=str).encode()).hexdigest()[:16]
    path = paths.results_dir() / "benchmarks" / "image_settings" / f"{key}.json"
    if path.exists():
        return json.loads(path.read_text())
    result = _validate(rc, per_class)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result))
    return result


def run_config(profile: str, dataset: str, overrides: dict, seed: int) -> dict:
    """The base run of ``seed`` as the profile with the candidate's settings would train it."""
    from ceimb_utils.config import load_profile, resolve_dataset
    from ceimb_utils.pipeline.image_runs import image_run_config

    section = resolve_dataset(load_profile(profile, overrides), dataset).plain()
    return {**image_run_config({"dataset": dataset}, section, "base", seed, 1, "cpu"), "section": section}


def _validate(rc: dict, per_class: int) -> dict:
    """Train the base network, score it on the validation split."""
    import numpy as np
    import torch
    from sklearn.metrics import balanced_accuracy_score, recall_score

    from ceimb_utils import ce
    from ceimb_utils.data.images import load_validation
    from ceimb_utils.pipeline.image_runs import build_model, fit_network
    from ceimb_utils.seeding import seed_everything

    os.environ["CEIMB_PROGRESS"] = "0"  # parallel workers' bars would interleave
    seed_everything(rc["seed"], threads=1)
    data = load_validation(rc["dataset"], rc["section"], rc["seed"], per_class)
    model = build_model(rc, data)
    began = time.perf_counter()
    fit_network(rc, model, data, torch.device("cpu"))
    minutes = (time.perf_counter() - began) / 60
    predicted = ce.extract(model.eval(), data.test_x, batch_size=rc["eval_batch"]).predicted_index
    recall = recall_score(data.test_y, predicted, average=None)
    return {"seed": rc["seed"], "balanced_accuracy": float(balanced_accuracy_score(data.test_y, predicted)),
            "min_recall": float(np.min(recall)), "minutes": minutes, "n_train": int(len(data.train_y))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--dataset", default="fashion-lt")
    parser.add_argument("--candidate", action="append", help="key=value pairs of the image section "
                        "(repeatable; default: the quick profile's search)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 10])
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2, help="trainings at once, one thread each")
    parser.add_argument("--save", action="store_true", help="write benchmarks/measured/image_settings.json")
    args = parser.parse_args()
    candidates = [(text, parse_candidate(text)) for text in args.candidate or SEARCHED]
    tasks = [(text, overrides, seed) for text, overrides in candidates for seed in args.seeds]
    done = Parallel(n_jobs=args.jobs)(delayed(validate)(args.profile, args.dataset, o, s, args.per_class)
                                      for _, o, s in tasks)
    rows = []
    for text, _ in candidates:
        mine = [r for (t, _, _), r in zip(tasks, done) if t == text]
        row = {"candidate": text, "validation_balanced_accuracy": [round(r["balanced_accuracy"], 4) for r in mine],
               "mean": round(sum(r["balanced_accuracy"] for r in mine) / len(mine), 4),
               "min_recall": round(min(r["min_recall"] for r in mine), 3),
               "train_minutes": round(sum(r["minutes"] for r in mine) / len(mine), 2),
               "seeds": args.seeds, "n_train": mine[0]["n_train"], "per_class": args.per_class}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.save:
        print(save("image_settings", rows))


if __name__ == "__main__":
    main()

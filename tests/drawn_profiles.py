"""The profile space a user can write (methods#profiles), drawn by hypothesis over tiny data sets
of one's own, and what the book must make of each profile: refuse it before any run with one
sentence that names the key and the need, or build every part of every page it asks for, a
sentence standing in for each part whose need its runs lack.

Shared by ``tests/test_profile_space.py`` (pages checked without notebooks, in ``make test``)
and ``benchmarks/profile_space.py`` (profiles executed whole, notebooks included, on demand).
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from hypothesis import strategies as st

from ceimb_utils.config import IMAGE_METHODS, TABULAR_METHODS, TABULAR_MODELS
from ceimb_utils.methods import METHODS, family, in_family
from ceimb_utils.questions import AUDIT, QUESTION_INFO, QUESTIONS
from test_own_data import image_tree, table

TABULAR_REMEDIES = tuple(m for m in TABULAR_METHODS if m in in_family("intervention"))
IMAGE_REMEDIES = tuple(m for m in IMAGE_METHODS if m in in_family("intervention"))


def write_data(folder: Path) -> Path:
    """The data sets every drawn profile picks from, written once into ``folder``: two CSVs of a
    few hundred rows and an ImageFolder tree of a few small images per class."""
    folder.mkdir(parents=True, exist_ok=True)
    table(folder, n=300, minority=40, name="mine.csv")
    table(folder, n=200, minority=30, name="other.csv")
    image_tree(folder / "pets", per_class=(16, 12, 12))
    return folder


# The entries a profile file may declare, by the name the drawn profile gives them. Image runs
# are kept tiny: resnet8, one epoch, a few images per class.
ENTRIES = {
    "mine": {"file": "mine.csv", "target": "label", "minority": "rare"},
    "other": {"file": "other.csv", "target": "label", "minority": "rare"},
    "pets": {"folder": "pets", "imbalance": "exponential", "ratio": 2, "n_max": 16, "test_per_class": 4,
             "arch": "resnet8", "epochs": 1},
}
KIND = {"mine": "tabular", "other": "tabular", "pets": "image"}
# Settings that keep every drawn run to about a second; the smoke profile gives the rest.
SMALL = {"jobs": 1, "threads": 1, "metrics": {"resamples": 20, "union_replicates": 20}}
SMALL_IMAGE = {"head_epochs": 1, "batch_size": 32, "tau_val_per_class": 2}


def _subset(items, min_size=0):
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=len(items), unique=True)


@st.composite
def profiles(draw) -> dict:
    """A profile file's content: one data set or two, a subset of models and methods (with or
    without base), remedies or none, 1 to 3 splits or seeds, the questions alone, together or
    left to the default."""
    datasets = draw(st.sampled_from([["mine"], ["pets"], ["mine", "other"], ["mine", "pets"]]))
    body = {"extends": "smoke", "datasets": datasets, "data_sets": {d: ENTRIES[d] for d in datasets}, **SMALL}
    if any(KIND[d] == "tabular" for d in datasets):
        body["tabular"] = {"models": draw(_subset(TABULAR_MODELS, 1)), "methods": draw(_subset(TABULAR_METHODS, 1)),
                           "interventions": draw(_subset(TABULAR_REMEDIES)), "splits": draw(st.integers(1, 3))}
    if any(KIND[d] == "image" for d in datasets):
        body["image"] = {"methods": draw(_subset(IMAGE_METHODS, 1)), "interventions": draw(_subset(IMAGE_REMEDIES)),
                         "seeds": sorted(draw(_subset([0, 1, 2], 1))), **SMALL_IMAGE}
    questions = draw(st.none() | _subset(QUESTIONS, 1))
    if questions is not None:
        body["questions"] = questions
    return body


def write_profile(folder: Path, body: dict, name: str = "drawn.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


# ---------------------------------------------------------------- what the profile asks for, read plainly
def ran_methods(body: dict, dataset: str) -> set[str]:
    """The methods a data set's runs will have, read from the profile file as a user reads it:
    its methods and remedies, those that fit one of its models."""
    section = body[KIND[dataset]]
    asked = set(section["methods"]) | set(section.get("interventions", []))
    if KIND[dataset] == "image":
        return asked
    return {m for m in asked if any(METHODS[m].applies_to("tabular", model) for model in section["models"])}


def has(methods: set[str], requirement: str) -> bool:
    """A plain reading of each requirement: base among the methods, or a method of its family."""
    if requirement == "base":
        return "base" in methods
    wanted = {"oversampling": "oversampling", "remedy": "intervention"}[requirement]
    return any(family(m) == wanted for m in methods)


def asked_questions(body: dict) -> list[str]:
    from ceimb_utils.config import base_config

    return body.get("questions", base_config()["questions"])


def expected_refusal(body: dict) -> list[str]:
    """Why the profile cannot run, read plainly: a data set without a run, or a question asked
    that cannot run without what a data set's runs lack. Empty when it can run."""
    why = []
    for ds in body["datasets"]:
        methods = ran_methods(body, ds)
        if not methods:
            why.append(f"{ds}: no run")
        for q in asked_questions(body):
            lacking = [r for r in QUESTION_INFO[q].requires if not has(methods, r)]
            if methods and lacking:
                why.append(f"{ds}: {q} needs {', '.join(lacking)}")
    return why


def expected_in_place(body: dict, dataset: str) -> dict[tuple[str, str], bool]:
    """(question, part) -> whether the page shows a sentence in place of the part."""
    methods = ran_methods(body, dataset)
    questions = [QUESTION_INFO[q] for q in asked_questions(body)] + [AUDIT]
    return {(q.name, need.name): not all(has(methods, r) for r in need.requires)
            for q in questions for need in q.needs}


def check_refusal(message: str, body: dict) -> None:
    """A refusal is one sentence that starts with the key to change, says what is needed and
    what to add there (or which question to drop)."""
    key, _, rest = message.partition(": ")
    kind, _, sub = key.partition(".")
    assert kind in {KIND[d] for d in body["datasets"]} and sub in ("methods", "interventions"), message
    assert message.endswith(".") and ". " not in message and "\n" not in message, message
    assert re.search(rf"add (one of )?[a-z_0-9, ]+ to {re.escape(key)}", rest), message
    if "would have no run" not in rest:
        (q,) = [q for q in asked_questions(body) if QUESTION_INFO[q].because and QUESTION_INFO[q].because in rest]
        assert f"drop {q} from questions" in rest, message

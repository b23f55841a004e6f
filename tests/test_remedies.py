"""RQ4 tables: change from base, the recall-concentration correlation, and the question registry."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ceimb_utils import paths
from ceimb_utils.pipeline.study import Study
from ceimb_utils.questions import QUESTION_INFO
from ceimb_utils.report import remedies


def study_of(rows) -> Study:
    classes = pd.DataFrame(rows, columns=["model", "method", "repeat", "class_index", "group", "required_pct",
                                          "top_share", "recall"])
    runs = classes.drop_duplicates(["model", "method", "repeat"])[["model", "method", "repeat"]]
    return Study("sylva", {"metrics": {"resamples": 200, "ci": 0.95}}, [], {"classes": classes, "runs": runs})


def test_the_correlation_is_never_pooled_across_model_families():
    """Issue 22: two clusters, LG (low share, high recall) and SVM (high share, low recall),
    each without a trend inside; pooled they would give rho near -1."""
    rng = np.random.default_rng(1)
    rows = [(model, m, rep, 1, "minority", 10.0, share + rng.uniform(-0.05, 0.05), recall + rng.uniform(-0.05, 0.05))
            for model, share, recall in (("lg", 0.4, 0.9), ("svm", 0.9, 0.3))
            for m in ("base", "smote", "adasyn", "balanced") for rep in range(3)]
    study = study_of(rows)
    table = remedies.correlation_table(study)
    share = table[table["concentration"] == "top_share"].set_index("family")
    assert list(share.index) == ["lg", "svm"] and (share["n"] == 12).all()
    assert (share["rho"].abs() < 0.9).all()
    pooled = remedies.minority_points(study)
    assert remedies.recall_vs_concentration(pooled, "top_share")["ci_high"] < 0  # what pooling would say


def test_too_few_models_cannot_tell():
    points = pd.DataFrame({"minority_recall": np.linspace(0.1, 0.7, 7), "top_share": np.linspace(0.3, 0.9, 7)})
    r = remedies.recall_vs_concentration(points, "top_share")
    assert not r["enough"] and remedies.correlation_verdict(r).startswith("cannot tell (fewer than 8")


def test_the_interval_holds_its_estimate():
    rng = np.random.default_rng(2)
    for _ in range(20):
        points = pd.DataFrame({"minority_recall": rng.uniform(size=12), "top_share": rng.uniform(size=12)})
        r = remedies.recall_vs_concentration(points, "top_share")
        assert r["ci_low"] <= r["rho"] <= r["ci_high"]


def test_change_from_base_is_per_model_in_the_minority_group():
    rows = []
    for model, offset in (("lg", 0.0), ("svm", 10.0)):
        for method, shift in (("base", 0.0), ("smote", 2.0), ("balanced", -3.0)):
            for repeat in (0, 1):
                rows.append((model, method, repeat, 0, "majority", 50.0, 0.5, 0.9))
                rows.append((model, method, repeat, 1, "minority", 20.0 + offset + shift, 0.6, 0.5 + shift / 100))
    shift = remedies.against_base(study_of(rows)).set_index(["model", "method"])
    assert shift.loc[("lg", "smote"), "required_pct_change"] == pytest.approx(2.0)
    assert shift.loc[("svm", "balanced"), "required_pct_change"] == pytest.approx(-3.0)
    assert shift.loc[("svm", "balanced"), "recall_change"] == pytest.approx(-0.03)
    assert shift.loc[("lg", "balanced"), "family"] == "intervention"
    assert shift.loc[("lg", "smote"), "family"] == "oversampling"


@pytest.mark.parametrize("sign", [1, -1])
def test_correlation_follows_a_monotone_relation(sign):
    concentration = np.linspace(0.3, 0.9, 8)
    points = pd.DataFrame({"minority_recall": 0.5 + sign * concentration ** 2, "top_share": concentration})
    r = remedies.recall_vs_concentration(points, "top_share")
    assert r["rho"] == pytest.approx(sign) and r["n"] == 8 and r["enough"]
    assert np.isnan(r["ci_low"])  # a perfect rank correlation has no Fisher-z interval


def test_correlation_is_undefined_with_too_few_points():
    points = pd.DataFrame({"minority_recall": [0.1, 0.2], "top_share": [0.5, 0.6]})
    r = remedies.recall_vs_concentration(points, "top_share")
    assert np.isnan(r["rho"]) and np.isnan(r["ci_low"]) and r["n"] == 2


def test_summary_says_when_the_interval_spans_zero():
    rng = np.random.default_rng(0)
    rows = [("lg", m, rep, 1, "minority", 10.0, rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.9))
            for m in ("base", "smote", "balanced") for rep in range(2)]
    text = remedies.summary(study_of(rows))
    assert "**oversampling** (smote)" in text and "**intervention** (balanced)" in text
    assert "cannot tell" in text or "goes with" in text


def test_every_question_has_a_template_a_chapter_and_a_toc_entry():
    toc = yaml.safe_load(Path(paths.ROOT / "_toc.yml").read_text())
    chapters = {c["file"]: c for part in toc["parts"] for c in part["chapters"]}
    for q in QUESTION_INFO.values():
        assert (paths.NOTEBOOKS / q.template).exists(), q.name
        assert (paths.BOOK / f"{q.chapter}.md").exists(), q.name
        entry = chapters[f"book/{q.chapter}"]
        assert entry["sections"] == [{"glob": f"book/results/{q.name}/*"}], q.name


def test_the_reading_follows_what_each_concentration_measure_means():
    # recall rises with the CE needed per TP: that is *less* concentration with higher recall
    recall = np.linspace(0.1, 0.9, 12)
    recall[[3, 4]] = recall[[4, 3]]  # a strong, not perfect, relation: rho = 0.99
    points = pd.DataFrame({"minority_recall": recall, "required_pct": np.linspace(5, 40, 12),
                           "top_share": np.linspace(0.9, 0.3, 12)})
    needed = remedies.correlation_verdict(remedies.recall_vs_concentration(points, "required_pct"))
    share = remedies.correlation_verdict(remedies.recall_vs_concentration(points, "top_share"))
    assert needed == "more CE per TP (less concentration) goes with higher minority recall"
    assert share == "a larger top-10% share (more concentration) goes with lower minority recall"

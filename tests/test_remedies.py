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


def health(study: Study, unhealthy=()) -> pd.DataFrame:
    runs = study.runs.rename(columns={"repeat": "seed"}).assign(dataset="sylva")
    return runs.assign(healthy=[(m, me, r) not in unhealthy for m, me, r in zip(runs["model"], runs["method"], runs["seed"])])


METHODS = ("base", "smote", "adasyn", "remix", "balanced", "l1")


def points_rows(model, recall_of, repeats=(0, 1, 2)):
    return [(model, m, rep, 1, "minority", 10.0, 0.3 + 0.1 * i, recall_of(i, rep))
            for i, m in enumerate(METHODS) for rep in repeats]


def top_share_row(study, unhealthy=()):
    return remedies.correlation_table(study, health(study, unhealthy)).set_index("concentration", drop=False).loc["top_share_pct"]


def test_the_correlation_is_never_pooled_across_model_families():
    """Two clusters, LG (low share, high recall) and SVM (high share, low recall), each without
    a trend inside; pooled they would make one."""
    rng = np.random.default_rng(1)
    rows = [(model, m, rep, 1, "minority", 10.0, share + rng.uniform(-0.05, 0.05), recall + rng.uniform(-0.05, 0.05))
            for model, share, recall in (("lg", 0.4, 0.9), ("svm", 0.9, 0.3))
            for m in METHODS for rep in range(3)]
    study = study_of(rows)
    table = remedies.correlation_table(study, health(study))
    share = table[table["concentration"] == "top_share_pct"].set_index("family")
    assert list(share.index) == ["lg", "svm"] and (share["splits"] == 3).all()


@pytest.mark.parametrize("sign", [1, -1])
def test_a_trend_needs_every_split_with_enough_healthy_runs_to_agree(sign):
    r = top_share_row(study_of(points_rows("lg", lambda i, rep: 0.5 + sign * 0.05 * i)))
    assert r["status"] == remedies.TREND and r["sign"] == sign and r["per_split"] == [float(sign)] * 3
    assert not r["cluster_driven"]
    assert remedies.correlation_reading(r) == ("a larger top-10% share (more concentration) goes with "
                                               f"{'higher' if sign > 0 else 'lower'} minority recall")


def test_splits_that_disagree_state_no_trend():
    r = top_share_row(study_of(points_rows("lg", lambda i, rep: 0.5 + (0.05 if rep < 2 else -0.05) * i)))
    assert r["status"] == remedies.NO_TREND and remedies.correlation_reading(r).startswith("cannot tell")


def test_too_few_healthy_runs_say_so():
    study = study_of(points_rows("lg", lambda i, rep: 0.5 + 0.05 * i))
    sick = {("lg", m, rep) for m in METHODS[:3] for rep in (0, 1)}  # splits 0 and 1 keep 3 healthy runs
    r = top_share_row(study, sick)
    assert r["status"] == remedies.TOO_FEW and r["splits"] == 1 and r["healthy_runs"] == [3, 3, 6]
    assert remedies.correlation_reading(r).startswith("too few healthy runs")


def test_a_trend_carried_by_runs_that_did_not_learn_is_flagged():
    """Runs that did not learn (low recall, high share) make a negative trend over all runs; the
    healthy runs alone rise with the share."""
    rows = [("lg", m, rep, 1, "minority", 10.0, 0.9 if i < 2 else 0.3 + 0.05 * i, 0.05 if i < 2 else 0.4 + 0.05 * i)
            for i, m in enumerate(METHODS) for rep in range(3)]
    sick = {("lg", m, rep) for m in METHODS[:2] for rep in range(3)}
    r = top_share_row(study_of(rows), sick)
    assert r["mean_all"] < 0 < r["mean"] and r["status"] == remedies.TREND and r["sign"] == 1
    assert r["cluster_driven"] and "carried by runs that did not learn" in remedies.correlation_reading(r)


def test_all_runs_that_agree_against_healthy_splits_that_disagree_are_flagged():
    """Over all runs every split falls with the share; on its four healthy runs split 2 rises,
    and its two runs that did not learn (high share, no recall) turn it over."""
    def recall(i, rep):
        return 0.9 - 0.1 * i if rep < 2 else (0.5 + 0.02 * i if i < 4 else 0.0)
    r = top_share_row(study_of(points_rows("lg", recall)), {("lg", m, 2) for m in METHODS[4:]})
    assert r["status"] == remedies.NO_TREND and r["per_split"] == [-1.0, -1.0, 1.0]
    assert all(rho < 0 for rho in r["per_split_all"]) and r["mean"] < 0 and r["mean_all"] < 0
    assert r["cluster_driven"] and "carried by runs that did not learn" in remedies.correlation_reading(r)


def test_too_few_healthy_splits_that_agree_are_not_flagged():
    """The healthy splits agree with all runs; one split has too few healthy runs to count. The
    page says there are too few, and blames no cluster (results/rq4/hiva, LG)."""
    study = study_of(points_rows("lg", lambda i, rep: 0.9 - 0.1 * i))
    r = top_share_row(study, {("lg", m, 2) for m in METHODS[:3]})
    assert r["status"] == remedies.TOO_FEW and all(rho < 0 for rho in r["per_split_all"])
    assert not r["cluster_driven"] and "did not learn" not in remedies.correlation_reading(r)


def test_the_reading_follows_what_each_concentration_measure_means():
    # recall rises with the CE needed per TP: that is *less* concentration with higher recall
    rows = [("lg", m, rep, 1, "minority", 5.0 + 5 * i, 0.9 - 0.1 * i, 0.1 + 0.1 * i)
            for i, m in enumerate(METHODS) for rep in range(3)]
    table = remedies.correlation_table(study_of(rows), health(study_of(rows))).set_index("concentration", drop=False)
    assert remedies.correlation_reading(table.loc["required_pct"]) == (
        "more CE per TP (less concentration) goes with higher minority recall")
    assert remedies.correlation_reading(table.loc["top_share_pct"]) == (
        "a larger top-10% share (more concentration) goes with lower minority recall")


def test_change_from_base_is_per_model_in_the_minority_group():
    rows = []
    for model, offset in (("lg", 0.0), ("svm", 10.0)):
        for method, shift in (("base", 0.0), ("smote", 2.0), ("balanced", -3.0)):
            for repeat in (0, 1):
                rows.append((model, method, repeat, 0, "majority", 50.0, 0.5, 0.9))
                rows.append((model, method, repeat, 1, "minority", 20.0 + offset + shift, 0.6, 0.5 + shift / 100))
    study = study_of(rows)
    shift = remedies.against_base(study, health(study)).set_index(["model", "method"])
    assert shift.loc[("lg", "smote"), "required_pct_change"] == pytest.approx(2.0)
    assert shift.loc[("svm", "balanced"), "required_pct_change"] == pytest.approx(-3.0)
    assert shift.loc[("svm", "balanced"), "recall_change"] == pytest.approx(-0.03)
    assert shift.loc[("lg", "balanced"), "family"] == "intervention"
    assert shift.loc[("lg", "smote"), "family"] == "oversampling"
    assert (shift["pairs"] == 2).all()


def test_change_from_base_pairs_only_runs_that_both_learned():
    """Base's split 1 did not learn (its minority recall is 0): it pairs with nothing, and a method
    whose only healthy split has no healthy base has no change at all (methods#health)."""
    rows = []
    for method, shift in (("base", 0.0), ("smote", 2.0), ("l1", -4.0)):
        for repeat, lost in ((0, False), (1, True)):
            recall = 0.0 if lost and method == "base" else 0.5 + shift / 100
            rows.append(("lg", method, repeat, 0, "majority", 50.0, 0.5, 0.9))
            rows.append(("lg", method, repeat, 1, "minority", 20.0 + shift + (30.0 if lost else 0.0), 0.6 + shift / 100,
                         recall))
    study = study_of(rows)
    marks = health(study, {("lg", "base", 1), ("lg", "l1", 0)})
    shift = remedies.against_base(study, marks).set_index("method")
    assert shift.loc["smote", "pairs"] == 1 and shift.loc["smote", "required_pct_change"] == pytest.approx(2.0)
    assert shift.loc["l1", "pairs"] == 0 and np.isnan(shift.loc["l1", "recall_change"])
    text = remedies.summary(study, marks)
    assert "- **oversampling**: smote: minority CE per TP +2.0 pp of D, top-10% share +2.0 pp, minority recall " \
           "+0.020 against base, over 1 pair of runs that learned (the same seed or split)." in text
    assert "- **intervention**: l1: no pair with base in which both runs learned, so no change is given." in text


def test_every_question_has_a_template_a_chapter_and_a_toc_entry():
    toc = yaml.safe_load(Path(paths.ROOT / "_toc.yml").read_text())
    chapters = {c["file"]: c for part in toc["parts"] for c in part["chapters"]}
    for q in QUESTION_INFO.values():
        assert (paths.NOTEBOOKS / q.template).exists(), q.name
        assert (paths.BOOK / f"{q.chapter}.md").exists(), q.name
        entry = chapters[f"book/{q.chapter}"]
        assert entry["sections"] == [{"glob": f"book/results/{q.name}/*"}], q.name


def test_the_trend_rule_discloses_its_false_positive_rate_and_power():
    """Three splits share a sign by chance one time in four (2 x 0.5**3); five, one in sixteen. The
    simulated rates go through ``trend`` itself, and a stated trend carries them."""
    false_positive, power = remedies.trend_rates((6, 6, 6))
    assert 0.17 <= false_positive <= 0.33 and power > false_positive + 0.2  # 500 draws: sd about 0.02
    assert remedies.trend_rates((6,) * 5)[0] <= 0.12
    r = top_share_row(study_of(points_rows("lg", lambda i, rep: 0.5 + 0.05 * i)))
    assert r["status"] == remedies.TREND
    text = remedies.summary(study_of(points_rows("lg", lambda i, rep: 0.5 + 0.05 * i)),
                            health(study_of(points_rows("lg", lambda i, rep: 0.5 + 0.05 * i))))
    assert f"reads a trend in {100 * false_positive:.1f}% of draws with nothing planted" in text
    assert "above the 10% the claims' rules are held to, so a description, not a finding" in text

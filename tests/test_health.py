"""Training health: the table, the CLI and the audit's marks."""
import json
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest

from ceimb_utils.pipeline.study import load_study
from ceimb_utils.report import health

KEYS = {"dataset", "model", "method", "seed", "train_balanced_accuracy", "test_balanced_accuracy",
        "zero_recall_classes"}


def test_floor_is_halfway_from_chance():
    assert health.balanced_accuracy_floor(2) == 0.625
    assert health.balanced_accuracy_floor(10) == pytest.approx(0.325)


def test_health_of_cached_runs_and_the_command(isolated_results):
    study = load_study("sylva", "smoke")
    table = health.health_table(study)
    assert len(table) == len(study.cached) and KEYS <= set(table.columns)
    assert (table["floor"] == 0.625).all() and table["final_loss"].isna().all()  # tabular fits log no epochs
    expected = table["zero_recall_classes"].map(len).eq(0) & table["test_balanced_accuracy"].ge(0.625)
    assert table["healthy"].tolist() == expected.tolist()
    out = subprocess.run([sys.executable, "-m", "ceimb_utils", "health", "--profile", "smoke", "--datasets", "sylva",
                          "--json"], capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(table) and all(KEYS <= set(r) for r in rows)
    assert [r["test_balanced_accuracy"] for r in rows] == pytest.approx(table["test_balanced_accuracy"].tolist())


def test_health_command_says_what_is_missing(isolated_results):
    out = subprocess.run([sys.executable, "-m", "ceimb_utils", "health", "--profile", "smoke", "--datasets", "sylva"],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "missing from the cache" in out.stderr
    bad = subprocess.run([sys.executable, "-m", "ceimb_utils", "health", "--datasets", "mnist"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Unknown data set 'mnist'" in bad.stderr


def test_unhealthy_runs_say_why():
    """The audit leaves these runs out of every verdict (tests/test_audit.py); the table says why."""
    table = pd.DataFrame([
        {"dataset": "img", "model": "resnet32", "method": "base", "seed": 0, "test_balanced_accuracy": 0.4,
         "zero_recall_classes": ["Shirt"], "healthy": False, "floor": 0.55},
        {"dataset": "img", "model": "resnet32", "method": "eos", "seed": 0, "test_balanced_accuracy": 0.8,
         "zero_recall_classes": [], "healthy": True, "floor": 0.55},
        {"dataset": "img", "model": "resnet32", "method": "dsm", "seed": 0, "test_balanced_accuracy": 0.5,
         "zero_recall_classes": [], "healthy": False, "floor": 0.55},
    ])
    assert health.unhealthy(table)["why"].tolist() == ["zero recall: Shirt; balanced accuracy 0.400 < 0.550",
                                                       "balanced accuracy 0.500 < 0.550"]


def test_health_collapses_to_one_line_with_the_table_a_click_away(monkeypatch):
    table = pd.DataFrame([
        {"dataset": "fashion-lt", "model": "resnet32", "method": m, "seed": 0, "test_balanced_accuracy": ba,
         "zero_recall_classes": [], "healthy": ba >= 0.55, "floor": 0.55} for m, ba in (("base", 0.8), ("remix", 0.5))])
    monkeypatch.setattr(health, "health_table", lambda study: table)
    study = SimpleNamespace(config={"targets": {"base_balanced_accuracy": 0.75, "method_margin": 0.02, "no_zero_recall": False}})
    shown = health.health_summary(study)
    assert repr(shown).startswith("2 runs, 1 healthy; did not learn: resnet32 remix repeat 0 (balanced accuracy 0.500 < 0.550)")
    assert repr(shown).endswith("the profile's targets: base balanced accuracy 0.8 (target >= 0.75): met, "
                                "lowest method minus base -0.3 (target >= -0.02): missed")
    assert shown._repr_html_().startswith("<details><summary>2 runs, 1 healthy") and "<table" in shown._repr_html_()


def test_a_collapsed_table_carries_all_its_rows_and_a_csv_of_them():
    import base64
    import io
    import re

    from ceimb_utils.report.tables import Collapsed

    table = pd.DataFrame({"reading": [f"r{i}" for i in range(300)], "value": range(300)})
    page = Collapsed("300 readings", table, "readings-x")._repr_html_()
    assert page.count("<tr") == 301 and "..." not in page  # nothing cut by pandas' display limits
    data = re.search(r'download="readings-x.csv" href="data:text/csv;base64,([^"]+)"', page)[1]
    assert pd.read_csv(io.StringIO(base64.b64decode(data).decode())).equals(table)


def test_targets_are_checked_on_image_means_over_seeds():
    def run(dataset, method, seed, ba, zero=()):
        return {"dataset": dataset, "model": "resnet8", "method": method, "seed": seed,
                "test_balanced_accuracy": ba, "zero_recall_classes": list(zero)}
    table = pd.DataFrame([run("fashion-lt", "base", 0, 0.82), run("fashion-lt", "base", 10, 0.79),
                          run("fashion-lt", "remix", 0, 0.80), run("fashion-lt", "remix", 10, 0.78, ["9"]),
                          run("fashion-lt", "eos", 0, 0.81), run("fashion-lt", "eos", 10, 0.81),
                          {**run("sylva", "base", 0, 0.5), "model": "lg"}])
    targets = {"base_balanced_accuracy": 0.80, "method_margin": 0.02, "no_zero_recall": True}
    checks = health.target_checks(table, targets).set_index("target")
    assert set(checks["dataset"]) == {"fashion-lt"}  # tabular runs have no image targets
    assert checks.loc["base balanced accuracy", "value"] == pytest.approx(0.805)
    assert checks.loc["base balanced accuracy", "met"] is True
    assert checks.loc["lowest method minus base", "value"] == pytest.approx(-0.015)  # remix 0.79 - 0.805
    assert "remix" in checks.loc["lowest method minus base", "detail"] and checks.loc["lowest method minus base", "met"]
    assert checks.loc["runs with a zero-recall class", "value"] == 1 and checks.loc["runs with a zero-recall class", "met"] is False
    stricter = health.target_checks(table, {**targets, "base_balanced_accuracy": 0.8051, "method_margin": 0.01})
    assert stricter["met"].iloc[:2].tolist() == [False, False]  # compared unrounded: 0.805 < 0.8051
    no_base = health.target_checks(table[table["method"] != "base"], targets).set_index("target")
    assert no_base.loc["base balanced accuracy", "met"] is None and "no base runs" in no_base.loc["base balanced accuracy", "detail"]
    assert no_base.loc["lowest method minus base", "met"] is None
    assert health.target_checks(table, {"base_balanced_accuracy": None, "method_margin": None,
                                        "no_zero_recall": False}).empty


def test_health_command_says_when_targets_cannot_be_checked(isolated_results):
    load_study("sylva", "smoke")
    out = subprocess.run([sys.executable, "-m", "ceimb_utils", "health", "--profile", "smoke", "--datasets", "sylva",
                          "--json", "--set", "targets.base_balanced_accuracy=0.8"], capture_output=True, text=True, check=True)
    assert "targets are not checked: no cached image runs" in out.stderr
    assert not any("target" in json.loads(line) for line in out.stdout.splitlines())


def test_the_generalisation_finding_reads_only_runs_that_learned(monkeypatch):
    """Base's split 2 did not learn (0.50): it would pull base's mean down unseen. A remedy that
    beats both is named as one, never as what over-sampling bought."""
    from ceimb_utils.pipeline.study import Study
    from ceimb_utils.report import health as health_module
    from ceimb_utils.report import reports

    scores = {"base": [0.80, 0.82, 0.50], "smote": [0.84, 0.86, 0.85], "balanced": [0.90, 0.88, 0.89]}
    runs = pd.DataFrame([{"model": "lg", "method": m, "repeat": r, "balanced_accuracy": v}
                         for m, vs in scores.items() for r, v in enumerate(vs)])
    marks = runs.rename(columns={"repeat": "seed"}).assign(healthy=lambda f: f["balanced_accuracy"] > 0.6)
    monkeypatch.setattr(health_module, "health_table", lambda study: marks)
    text = reports.generalisation_headline(Study("sylva", {}, [], {"runs": runs}))
    assert text.splitlines()[0] == ("- **lg**: base 0.810 (2 of 3 runs learned; 0.707 over all 3); best over-sampling "
                                    "smote 0.850 (3 runs); best of all balanced 0.890 (3 runs), a remedy (RQ4).")
    assert "1 of 9 runs did not learn and is left out" in text

"""The audit's words: every figure read from a result or a constant, never typed; HTML and CSV
from the same rows; the shared paragraphs written once."""
import re

import pandas as pd
import pytest

from ceimb_utils import paper, paths
from ceimb_utils.report import health, rules, wording
from ceimb_utils.report.audit import ClaimAudit, DataUsed, Evidence
from ceimb_utils.report.rules import FAILS, HOLDS, PARTLY, ClaimResult, RepeatVerdict

# Figures that live in paper.py, rules.py and health.py: typed anywhere else, they would drift.
TYPED = [r"66\.7", r"62\.8", r"31\.6", r"\b0\.625\b", r"\b0\.325\b", r"2\.1% to 48%", r"30% to 50%", r"≥ 90%",
         r"\b15\.0%", r"\b1\.25\b"]
PROSE = [*(paths.PACKAGE / "report").glob("*.py"), *paths.NOTEBOOKS.glob("*.ipynb"), paths.ROOT / "book" / "methods.md"]
OWNERS = {"rules.py", "health.py"}


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.name)
def test_no_figure_of_a_constant_is_typed_in_prose(path):
    if path.name in OWNERS or not path.exists():
        return
    text = path.read_text()
    if path.suffix == ".ipynb":  # the sources, not the outputs
        import nbformat

        text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
    found = [p for p in TYPED if re.search(p, text)]
    assert not found, f"{path.name} types {found}: read them from ceimb_utils.paper or report.rules"


def test_the_rules_text_follows_the_constants(monkeypatch):
    text = wording.rules_text()
    assert f"{rules.MOSTLY:.0%}" in text and f"{rules.SOME:.0%}" in text
    assert f"{paper.CNN_REQUIRED_MAX_PCT * rules.ABOUT:.1f}%" in text  # "at most about 12%" passes 15.0%
    monkeypatch.setattr(wording, "ABOUT", 1.5)
    assert f"{paper.CNN_REQUIRED_MAX_PCT * 1.5:.1f}%" in wording.rules_text()


def test_the_rules_text_states_how_parts_combine_as_the_rule_combines_them():
    """Claim 6 reads "partly" with part A not holding and part B partly: the audit's rules must
    not say that partly needs a part that holds."""
    text = wording.rules_text()
    assert "partly when one does" not in text and "does not hold when neither does, and partly otherwise" in text
    assert rules.combine(FAILS, PARTLY) == PARTLY and rules.combine(FAILS, FAILS) == FAILS
    assert rules.combine(HOLDS, HOLDS) == HOLDS


def test_the_health_paragraph_reads_the_floor():
    text = wording.health_paragraph()
    for c in health.FLOOR_EXAMPLES:
        assert f"{health.balanced_accuracy_floor(c):.3f} for {c} classes" in text


def _claim(verdict=HOLDS, repeats=(HOLDS, HOLDS, FAILS), readings=None, left_out=1):
    result = ClaimResult(1, verdict, {"mean_pct": 9.0, "passing": 9, "cells": 10, "limit_pct": 15.0, "largest_pct": 20.0,
                                      "largest_class": 3, "largest_method": "eos", "largest_dataset": "img"},
                         datasets=["img"])
    every = ClaimResult(1, PARTLY, result.figures, datasets=["img"])
    return ClaimAudit(result, every, [RepeatVerdict("images", i, v) for i, v in enumerate(repeats)],
                      readings or {"bias excluded": FAILS}, Evidence(6, 6 - left_out, (3, 3), [DataUsed("img", False)]))


def test_the_verdict_carries_every_marker_once():
    a = _claim()
    label = wording.verdict_label(a)
    assert label == ("holds · unsettled (2 of 3) · reverses under the bias excluded reading · on all runs: partly")
    assert wording.landing_table([a], "results/claims-audit.html")["#"].item() == \
        '<a href="results/claims-audit.html#claim-1">1</a>'


def test_csv_rows_are_plain_text_from_the_same_values():
    a = _claim()
    row = wording.csv_table([a]).iloc[0]
    assert not any("<" in str(v) for v in row.values)  # built without HTML, not stripped of it
    assert row["verdict"] == HOLDS and row["unsettled"] == "unsettled (2 of 3)" and row["reversed under"] == "bias excluded"
    assert row["ours"].startswith("9.0% of CE per TP") and row["why"].startswith("9 of 10 class x method cells")


def test_findings_name_claims_reversals_and_unsettled_verdicts():
    text = wording.findings([_claim(), _claim(verdict=FAILS, repeats=(FAILS,), readings={})])
    assert text.startswith("Of the paper's 2 quantitative claims, measured here on models that learned, 1 holds, "
                           "0 hold in part and 1 does not hold.")
    assert "Verdicts the repeats leave unsettled: 1 (2 of 3 repeats give it)." in text
    assert "under the bias excluded reading" in text
    claim = wording.SHORT_TITLES[1]
    assert f"Claims that do not hold: 1 ({claim}), measured: " in text and f"({claim}:" not in text


def test_each_claim_has_a_section_with_its_anchor():
    html = wording.claim_section(_claim(), methods_page="../methods.html")
    assert html.startswith('<section id="claim-1">') and "../methods.html#claim-1" in html
    assert "On all runs" in html and "bias excluded: does not hold (reverses)" in html


def test_untestable_claims_say_why():
    r = rules.untestable(7, "null saturates", **{"not testable here": 2})
    assert wording.why(r).startswith("In every cell, even at the smallest number of TPs")
    assert "2 cells not testable here" in wording.why(r)


def test_the_verdict_table_downloads_as_plain_csv_written_atomically(tmp_path):
    wording.write_csv([_claim()], tmp_path / "out" / "audit.csv")
    table = pd.read_csv(tmp_path / "out" / "audit.csv")
    assert table.loc[0, "#"] == 1 and table.loc[0, "unsettled"] == "unsettled (2 of 3)"
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "audit.csv"]  # no temporary left


def test_claim_9_quotes_the_ce_spearman_as_implied_by_the_definitions_from_healthy_class_means():
    from ceimb_utils.report import audit

    rho = pd.DataFrame({"family": ["cnn"] * 4 + ["lg"] * 2, "dataset": "d", "model": "m",
                        "method": ["base", "base", "eos", "eos", "base", "base"], "class_index": 0,
                        "repeat": [0, 1, 0, 1, 0, 1], "spearman": [0.9, 0.7, 0.5, 0.3, -0.004, 0.2],
                        "healthy": [True, True, True, True, True, False]})
    # class means over healthy repeats: cnn base 0.8, eos 0.4; lg base -0.004 (repeat 1 did not learn)
    got = audit.ce_spearman(rho)
    assert list(got) == ["cnn", "lg"]
    assert got["cnn"] == pytest.approx((0.4, 0.8)) and got["lg"] == pytest.approx((-0.004, -0.004))
    result = ClaimResult(9, PARTLY, {"CNN": {"testable": 6, "relation": 6, "opposite": 0, "mirrored": 0, "no_relation": 0}},
                         datasets=["img"])
    a = ClaimAudit(result, result, [], {}, Evidence(2, 2, (1, 1), [DataUsed("img", False)]),
                   described=audit.ce_spearman(rho))
    row = wording.csv_table([a]).iloc[0]
    assert row["verdict"] == PARTLY  # described, never judged
    assert row["ours"].endswith("CNN 0.40 to 0.80, LG 0.00 to 0.00 (implied by the definitions; decides nothing)")


def test_a_data_set_page_states_its_claim_in_the_audit_s_words():
    figures = {"R": 2.1, "R_null": 5.5, "p": 0.26, "supports": 0, "partly": 2, "contradicts": 0, "cells": 2, "m": [10],
               "k0": 1}
    judged = wording.on_this_data_set(ClaimResult(7, PARTLY, figures, left_out={"not testable here": 6}))
    assert judged.startswith(f"claim 7 on this data set alone: **{PARTLY}**; images: R 2.1x (null 5.5x)")
    assert judged.endswith("Left out: 6 cells not testable here (the null saturates at every m).")
    short = wording.ours(ClaimResult(7, PARTLY, {**figures, "R": 2.0, "contradicts": 1}), short=True)
    assert short == "R 2.0x at 10 TPs (null 5.5x); 1 of 2 cells under 2x"  # what decides, beside the mean
    named = {**figures, "judged": [("fashion-lt", "base", "majority"), ("fashion-lt", "remix", "majority")]}
    short = wording.ours(ClaimResult(7, PARTLY, named, left_out={"not testable here": 6}), short=True)
    assert short.endswith("0 of 2 cells under 2x (majority under base and remix; 6 not testable)")
    long = wording.on_this_data_set(ClaimResult(7, PARTLY, named, left_out={"not testable here": 6}))
    assert "contradict (majority under base and remix). Left out: 6 cells not testable here" in long
    assert wording.judged_cells([("a", "base", "minority"), ("b", "eos", "majority")]) == (
        "minority under base (a); majority under eos (b)")
    saturated = wording.on_this_data_set(rules.untestable(7, "null saturates", **{"not testable here": 3}))
    assert f"**{rules.UNTESTABLE}**; in every cell, even at the smallest number of TPs" in saturated
    assert saturated.endswith("Left out: 3 cells not testable here (the null saturates at every m).")


def test_claim_9s_short_figure_counts_one_reading_per_part():
    """"No relation" is one of the readings; the landing page counts "relation" in both parts, so
    a table whose classes read opposite or mirrored is never called "no relation"."""
    figures = {"CNN": {"relation": 59, "testable": 60, "opposite": 1},
               "tabular": {"relation": 2, "testable": 12, "no_relation": 7, "opposite": 1, "mirrored": 2}}
    result = ClaimResult(9, PARTLY, figures=figures)
    assert wording.ours(result, short=True) == (
        "CNN 59/60 classes relation (a ReLU alone can make it); "
        "tabular 2/12 classes relation (sees class-specific relations only)")
    assert "no relation in 7, opposite in 1, mirrored in 2 and relation in 2 of 12" in wording.ours(result)


def test_latent_readings_say_why_a_class_is_untestable_and_never_leave_an_empty_list():
    cells = pd.DataFrame({"verdict": ["relation", "no relation", "no relation", "untestable", "untestable"],
                          "n_kept": [40, 40, 40, 3, 40]})
    assert wording.latent_readings(cells) == (
        "of 3 testable class readings (over repeats), 2 read *no relation*, 1 read *relation*; 2 untestable: "
        "1 with fewer than 10 features kept, 1 with all on-rates or all magnitudes when on equal (as in binary columns)")
    none = cells.iloc[3:]
    text = wording.latent_readings(none)
    assert text.startswith("none of 2 class readings (over repeats) is testable: 1 with") and ", ;" not in text


def test_a_span_reads_one_value_where_both_ends_read_the_same():
    from ceimb_utils.report import wording

    assert wording.span([0.1234, 0.56]) == "0.1 to 0.6"
    assert wording.span([2.04, 1.96], "{:.1f}%") == "2.0%"  # equal once written: one value
    assert wording.span([float("nan")], empty="no TP") == "no TP"
    assert wording.span([3, 1, 2], "{:+.0f}") == "+1 to +3"


def test_claim_9s_reason_states_each_parts_scope():
    """A ReLU makes the CNN part's relation by itself; the tabular part sees only class-specific
    relations (calibration page): each reason says the scope of the parts it judged."""
    from types import SimpleNamespace

    from ceimb_utils.report import wording as w

    cnn = w.WHY[9](SimpleNamespace(parts={"CNN": "holds"}, figures={}))
    both = w.WHY[9](SimpleNamespace(parts={"CNN": "holds", "tabular": "partly"}, figures={}))
    tabular = w.WHY[9](SimpleNamespace(parts={"tabular": "partly"}, figures={}))
    assert "A ReLU makes the relation by itself" in cnn and "class-specific" not in cnn
    assert "A ReLU makes" in both and "class-specific" in both
    assert "class-specific" in tabular and "ReLU" not in tabular

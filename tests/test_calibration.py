"""The calibration page's planted answers and how it words a miss (methods#calibration-rates)."""
from __future__ import annotations

import pandas as pd

from ceimb_utils.report import calibration, rules


def _claim1(generator, ratio):
    return [a.planted for a in calibration.answers_for(generator, ratio=ratio) if a.rule == "claim 1"]


def test_dense_signal_plants_a_failure_balanced_and_only_not_holds_imbalanced():
    # imbalanced, the bias carries part of the majority's TPs: only "holds" would be wrong
    assert _claim1("dense", 1.0) == [rules.FAILS]
    assert _claim1("dense", 10.0) == [calibration.NOT_HOLDS]
    assert _claim1("sparse", 10.0) == [rules.HOLDS]
    assert calibration._recovered(calibration.NOT_HOLDS, "partly", {})
    assert not calibration._recovered(calibration.NOT_HOLDS, "holds", {})
    assert not calibration._recovered(rules.FAILS, "partly", {})


def _answers(planted, recovered):
    return pd.DataFrame([{"data set": "t", "rule": "claim 9, CNN (raw)", "planted": planted, "why": "",
                          "rule reads": "class 1: opposite 3 of 3", "recovered": recovered}])


RATES = pd.DataFrame([
    {"rule": "claim 9, latent reading (table, raw)", "false_positive_rate": 0.04, "power": "—", "seeds": 100},
    {"rule": "claim 9, latent reading (table, raw)", "false_positive_rate": "—", "power": 1.0, "seeds": 100},
])


def test_a_miss_on_a_null_table_is_worded_with_the_rules_measured_false_positive_rate():
    text = calibration.findings({}, _answers(rules.NO_RELATION, "no"), pd.DataFrame(), RATES)
    assert "misses t (planted no relation" in text
    assert "over 100 draws of each null generator the rule reads one in 4% of cases at most" in text


def test_a_missed_planted_relation_is_a_miss_and_nothing_else():
    # a relation that was planted and not read is a lack of power, not chance on a null
    text = calibration.findings({}, _answers(rules.RELATION, "no"), pd.DataFrame(), RATES)
    assert "misses t (planted relation" in text and "A false positive on one draw" not in text
    assert "A false positive on one draw" not in calibration.findings({}, _answers(rules.NO_RELATION, "yes"), pd.DataFrame(),
                                                                     RATES)

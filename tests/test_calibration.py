"""The calibration page's planted answers and how it words a miss (methods#calibration-rates)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ceimb_utils.report import calibration, rules


def _claim1(generator, ratio):
    return [a.planted for a in calibration.answers_for(generator, ratio=ratio) if a.rule == "claim 1"]


def test_dense_signal_plants_a_failure_balanced_and_only_not_holds_imbalanced():
    # imbalanced, the bias carries part of the majority's TPs: only "holds" would be wrong
    assert _claim1("dense", 1.0) == [rules.FAILS]
    assert _claim1("dense", 10.0) == [calibration.NOT_HOLDS]
    assert _claim1("sparse", 10.0) == [rules.HOLDS]
    assert calibration._recovered(calibration.NOT_HOLDS, "partly")
    assert not calibration._recovered(calibration.NOT_HOLDS, "holds")
    assert not calibration._recovered(rules.FAILS, "partly")


def _answers(planted, alone, recovered, over="no relation 190, opposite 10 of 200 testable class readings"):
    return pd.DataFrame([{"data set": "t", "rule": calibration.RAW, "planted": planted, "why": "",
                          "rule reads": "class 1: opposite 3 of 3", "this table": alone,
                          "over independent draws": over, "recovered": recovered}])


DRAWS = pd.DataFrame([{"rule": calibration.RAW, "generator": "t", "reading": "raw",
                       "planted": rules.NO_RELATION, "shown": False, "draws": 100, "testable": 200, "hits": 10,
                       "reads": "no relation 190, opposite 10", "false_positive_rate": 0.05, "power": np.nan,
                       "low": 0.024, "high": 0.09, "effective": 200.0, "draws_hit": 9, "recovered": True}])


def test_a_null_tables_one_draw_is_worded_with_the_rate_its_draws_measure():
    text = calibration.findings({}, _answers(rules.NO_RELATION, "no", "yes"), pd.DataFrame(), None, DRAWS)
    assert "recovers its planted answer on 1 of 1 planted tables" in text
    assert "On the one draw run through the pipeline, t reads class 1: opposite 3 of 3" in text
    assert "over 100 draws the rule reads something other than no relation in 5.0% (95% interval 2.4 to 9.0%)" in text
    # how often one draw shows what this table shows, from the draws, not a word such as "tail"
    assert "9 of the 100 draws read so in at least one class" in text and "tail" not in text
    assert "it misses" not in text
    assert "exact binomial chances, the readings taken as independent): a null answer is judged missed from 30 readings other than no relation (15%): with probability 0.00 for a " \
           "rule at 5% false positives" in text


def test_a_missed_answer_is_a_miss_and_nothing_else():
    text = calibration.findings({}, _answers(rules.RELATION, "no", "no", "relation 120, no relation 80 of 200 testable "
                                             "class readings"), pd.DataFrame(), None, DRAWS)
    assert "misses t (planted relation, reads relation 120, no relation 80" in text
    assert "On the one draw" not in text


def _statuses(verdicts):
    return pd.DataFrame({"draw": range(len(verdicts)), "class_index": 0, "verdict": verdicts})


def test_the_null_criterion_misses_a_rule_above_ten_percent_and_keeps_one_at_five():
    k, missed, recovered = calibration.criterion_errors(200)
    assert missed[0.10] <= 0.025 < missed[0.15] and missed[0.05] < 1e-3 and missed[0.20] > 0.95
    assert recovered[0.85] < 0.05 < 0.95 < recovered[0.95]
    null = [rules.NO_RELATION] * 200
    assert calibration.judge(rules.NO_RELATION, _statuses(null))["recovered"]
    kept = calibration.judge(rules.NO_RELATION, _statuses([rules.RELATION] * (k - 1) + null[k - 1:]))
    assert kept["recovered"] and kept["low"] <= 0.10  # its interval does not lie above the limit
    judged = calibration.judge(rules.NO_RELATION, _statuses([rules.OPPOSITE] * k + null[k:]))
    assert not judged["recovered"] and judged["false_positive_rate"] == k / 200 and judged["hits"] == k
    assert 0.10 < judged["low"] < k / 200 < judged["high"]  # the interval holds its estimate and lies above 10%
    # the draws that read something other than no relation in at least one class
    two = pd.DataFrame({"draw": [0, 0, 1, 1, 2, 2], "class_index": [0, 1] * 3,
                        "verdict": [rules.RELATION, rules.OPPOSITE] + [rules.NO_RELATION] * 3 + [rules.RELATION]})
    assert calibration.judge(rules.NO_RELATION, two)["draws_hit"] == 2
    # untestable classes are neither hits nor readings
    assert calibration.judge(rules.RELATION, _statuses([rules.RELATION] * 9 + [rules.LATENT_UNTESTABLE] * 5))["testable"] == 9


def test_an_answer_per_class_group_is_judged_per_group_and_reads_in_the_rates_table():
    statuses = pd.DataFrame({"draw": [0, 0, 1, 1], "class_index": [0, 1, 0, 1],
                             "verdict": [rules.NO_RELATION, rules.RELATION, rules.NO_RELATION, rules.RELATION]})
    judged = calibration.judge("relation (minority), no relation (majority)", statuses)
    assert judged["recovered"] and judged["reads"] == "majority: no relation 2; minority: relation 2"
    draws = pd.DataFrame([{"rule": calibration.RAW, "generator": "t", "reading": "raw",
                           "planted": "relation (minority), no relation (majority)", "shown": False, "draws": 2,
                           **judged}])
    table, _ = calibration.rates(draws)
    assert table.loc[table["generator"] == "t", calibration.INTERVAL_SHOWN].item() == "—"


def test_the_draws_recover_pre_pool_maps_and_refuse_the_pooled_reading_on_the_same_draws():
    # On feature maps with no relation per position, the pre-pool reading's false positives
    # stay at its 5% level; the pooled reading, judged against the same null answer, fails it.
    cases = {c.reading: c for c in calibration.latent_cases({}) if c.generator == "feature maps, none per position"}
    pre = calibration.judge(rules.NO_RELATION, cases["pre-pool"].statuses(5))
    pooled = calibration.judge(rules.NO_RELATION, cases["pooled"].statuses(5))
    assert pre["testable"] == pooled["testable"] == 30
    assert pre["recovered"] and not pooled["recovered"] and pooled["false_positive_rate"] > 0.9


def test_a_binary_table_reading_relation_and_opposite_is_mirrored_in_both_classes():
    assert calibration._mirror([rules.RELATION, rules.OPPOSITE]) == [rules.MIRRORED] * 2
    assert calibration._mirror([rules.RELATION, rules.RELATION]) == [rules.RELATION] * 2
    settings = calibration.planted_tables()["minority-shared-imb"]
    assert set(calibration.read_table_draw(settings, False, 0)) == {rules.MIRRORED}
    assert set(calibration.read_table_draw(settings, True, 0)) != {rules.MIRRORED}  # raw: no pairs


def test_the_clustered_interval_holds_a_known_rate_where_one_of_independent_readings_does_not():
    """A draw's two classes read together (a mirrored pair): the exact interval over class
    readings is too narrow; the clustered one holds the rate at its level or above."""
    held = calibration.interval_coverage(simulations=400)
    assert held["clustered"] >= 0.93 and held["independent"] <= 0.90


def test_the_clustered_interval_is_the_exact_one_where_readings_are_independent_and_wider_in_pairs():
    one = np.r_[np.ones(12), np.zeros(188)]
    low, high, effective = calibration.clustered_interval(one, np.ones(200))
    exact = calibration._interval(12, 200)
    assert effective > 198 and abs(low - exact[0]) < 1e-3 and abs(high - exact[1]) < 1e-3
    low2, high2, effective2 = calibration.clustered_interval(np.r_[np.full(6, 2), np.zeros(94)], np.full(100, 2))
    assert effective2 < 101 and low2 < exact[0] and high2 > exact[1] and low2 < 0.06 < high2
    none = calibration.clustered_interval(np.zeros(50), np.full(50, 2))  # no design effect to estimate
    assert none[0] == 0.0 and abs(none[1] - calibration._interval(0, 100)[1]) < 1e-9


def test_a_relation_both_classes_share_reads_draw_for_draw_as_nothing_planted():
    """The unit-free reading's blind spot (methods#latent-reading), shown on the calibration page:
    the shared-relation table is the null table times a factor per column, which divides out."""
    tables = calibration.planted_tables()
    assert calibration.shared_twins(tables) == [("shared-relation-imb", "frequency-shared-imb")]
    split = calibration.split_settings()
    for seed in range(4):
        shared = calibration.read_table_draw(tables["shared-relation-imb"], False, seed, split)
        null = calibration.read_table_draw(tables["frequency-shared-imb"], False, seed, split)
        assert shared == null
    # with the classes' own on-rates the same law is read (the twin rule does not pair them)
    assert set(calibration.read_table_draw(tables["frequency-magnitude-imb"], False, 0, split)) == {rules.RELATION}


@pytest.mark.parametrize("same", [True, False])
def test_the_page_says_whether_the_shared_relation_read_as_the_null(same):
    draws = pd.DataFrame([
        {"rule": calibration.UNIT_FREE, "generator": "shared-relation-imb", "reads": "no relation 190, relation 10",
         "testable": 200},
        {"rule": calibration.UNIT_FREE, "generator": "frequency-shared-imb",
         "reads": "no relation 190, relation 10" if same else "no relation 195, relation 5", "testable": 200}])
    line, = calibration._blind_spot(draws, calibration.planted_tables())
    assert ("the same counts as frequency-shared-imb" in line) == same
    assert ("against no relation 195, relation 5 of 200 on frequency-shared-imb" in line) == (not same)


def test_a_relu_of_gaussian_pre_activations_reads_relation_with_no_law_planted():
    """The mechanism the calibration page discloses: a ReLU alone makes claim 9's relation."""
    cases = [c for c in calibration.latent_cases({}) if c.made_by == "the ReLU"]
    assert {c.reading for c in cases} == {"features", "pre-pool"}
    for case in cases:
        judged = calibration.judge(rules.RELATION, case.statuses(3))
        assert judged["testable"] == 18 and judged["power"] == 1.0
    draws = pd.DataFrame([{"rule": c.rule, "generator": c.generator, "reading": c.reading, "planted": c.planted,
                           "shown": c.shown, "made_by": c.made_by, "reads": "relation 18", "testable": 18,
                           "recovered": True} for c in cases])
    (line,) = calibration._relu_line(draws)
    assert "features: relation 18 of 18" in line and "pre-pool: relation 18 of 18" in line
    table = calibration.network_readings(draws.assign(false_positive_rate=np.nan, power=1.0, low=0.8, high=1.0))
    assert set(table["planted"]) == {"relation (made by the ReLU)"} and set(table["recovered"]) == {"— (shown)"}


def test_the_draws_read_in_other_processes_are_the_draws_read_here():
    """The page reads its latent draws in other processes while its studies load: the frame is
    the one read in this process, case for case and draw for draw (each draw seeded by its index)."""
    tables = dict(list(calibration.planted_tables().items())[:1])
    here = calibration.latent_draws(tables, draws=3, jobs=1)
    elsewhere = calibration.start_latent_draws(tables, draws=3, jobs=2)()
    pd.testing.assert_frame_equal(here, elsewhere)
    assert len(here) == len(calibration.latent_cases(tables)) > 2
    assert (here["draws"] == 3).all() and here["testable"].gt(0).all()


def test_a_generators_cases_read_together_give_what_each_reads_from_its_own_draws():
    # The pre-pool and pooled cases of one law share each draw's maps (the costly part): each
    # reads what it reads from maps generated afresh for that seed, never another draw's.
    from ceimb_utils.ce import latent as latent_reading
    from ceimb_utils.data import planted as generators

    cases = {c.reading: c for c in calibration.latent_cases({}) if c.generator == "feature maps, relation per position"}
    together = dict(zip(cases, calibration.statuses_together(list(cases.values()), 3)))
    for seed in range(3):
        maps, y = generators.feature_maps("frequency_magnitude", seed=seed)
        fresh = {"pre-pool": latent_reading.read_maps(maps, y, seed=seed),
                 "pooled": latent_reading.read_features(maps.mean(axis=(2, 3)), y, seed=seed)}
        for reading, frame in together.items():
            assert frame[frame["draw"] == seed]["verdict"].tolist() == fresh[reading]
    # a planted relation reads alike on every draw, so the kept draw itself is checked too
    for law, seed in [("frequency", 0), ("frequency", 0), ("frequency", 1), ("frequency_magnitude", 1), ("frequency", 1)]:
        kept, fresh_maps = calibration._maps(law, seed), generators.feature_maps(law, seed=seed)
        assert all(np.array_equal(a, b) for a, b in zip(kept, fresh_maps))


def test_draws_need_at_least_one_process():
    with pytest.raises(ValueError, match="at least 1"):
        calibration.in_processes([], jobs=0)

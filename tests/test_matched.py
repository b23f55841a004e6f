"""Claim 7's union curve and RQ3's per-feature permutation null (methods#nulls): exact where a
closed form exists, calibrated where the answer is known, and the same sets as the metrics."""
import numpy as np
import pytest

from ceimb_utils.ce import extract, matched, metrics
from ceimb_utils.ce.extraction import CEResult


def test_the_ladder_of_m():
    assert matched.ladder(9) == [] and matched.ladder(10) == [10]
    assert matched.ladder(250) == [10, 20, 50, 100, 200] and matched.ladder(1000)[-1] == 1000


def test_random_sets_have_their_sizes_and_no_preferred_feature():
    rng = np.random.default_rng(0)
    sizes = rng.integers(0, 8, 4000)
    sets = matched.random_sets(sizes, 16, rng)
    assert (sets.sum(1) == sizes).all()
    share = sets.sum(0) / sets.sum()
    np.testing.assert_allclose(share, 1 / 16, atol=0.01)


def test_the_nulls_mean_union_is_the_expected_union_of_random_sets():
    """m TPs with sets of size k out of d, uniformly random: E[union] = d (1 - (1 - k/d)^m)."""
    d, k, n = 40, 3, 60
    sets = matched.random_sets(np.full(n, k), d, np.random.default_rng(1))
    curve = {row["m"]: row for row in matched.union_curve(sets, draws=20, replicates=400, rng=np.random.default_rng(2))}
    for m in (10, 20, 50):
        expected = 100 * (1 - (1 - k / d) ** m)
        assert curve[m]["null_mean_pct"] == pytest.approx(expected, abs=1.5)


def test_the_null_is_calibrated_where_the_sets_are_arbitrary():
    """Where every TP's set is a random set of its size, the data's class level falls under the
    null's 2.5th percentile about 2.5% of the time (a replicate keeps each TP's set across the
    draws, as the data does); where every TP shares one set, always."""
    rng = np.random.default_rng(3)
    below, shared_below = [], []
    for _ in range(120):
        sizes = rng.integers(1, 4, 60)
        arbitrary = matched.random_sets(sizes, 30, rng)
        row = matched.union_curve(arbitrary, draws=20, replicates=40, rng=rng)[-1]
        below.append(row["union_pct"] < row["null_low_pct"])
    shared = np.zeros((60, 30), dtype=bool)
    shared[:, :2] = True
    for _ in range(5):
        row = matched.union_curve(shared, draws=20, replicates=40, rng=rng)[-1]
        shared_below.append(row["union_pct"] < row["null_low_pct"])
    assert np.mean(below) <= 0.08 and all(shared_below)


def test_required_sets_are_the_metrics_sets():
    rng = np.random.default_rng(4)
    ce = rng.normal(size=(300, 4, 12))
    bias = rng.normal(size=4)
    result = CEResult(ce, bias, np.ones((300, 12)), np.ones((4, 12)), np.arange(4), ce.sum(-1) + bias)
    y = result.predicted_index  # every row a TP
    sup = metrics.supporting(result, y)
    expected = metrics.instance_sets(result, y)
    got = matched.required_sets(sup.values, sup.gap_include + sup.negative_sum)
    np.testing.assert_array_equal(got, expected)


def test_the_permutation_null_keeps_each_features_values():
    rng = np.random.default_rng(5)
    values = rng.gamma(2.0, 1.0, (150, 20)) * np.linspace(0.2, 2.0, 20)  # features differ in size only
    offset = np.full(150, -3.0)
    observed, null = matched.permutation_spearman(values, offset, 19, rng)
    assert observed > 0.8  # implied by the definitions: larger features enter more sets
    assert null.min() > 0.5 and null.min() <= observed + 0.2  # the null gives the same: nothing beyond it

"""Hand-worked examples of every metric, edge cases, and vectorised == per-instance loop."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ceimb_utils import metrics, reference
from ceimb_utils.ce import CEResult


def binary_result(ce, bias):
    ce = np.asarray(ce, dtype=float)
    return CEResult(ce, float(bias), ce.copy(), np.ones(ce.shape[1]), np.array([0, 1]), ce.sum(1) + bias)


def multi_result(ce, bias):
    ce = np.asarray(ce, dtype=float)
    bias = np.asarray(bias, dtype=float)
    n, c, d = ce.shape
    return CEResult(ce, bias, np.ones((n, d)), np.ones((c, d)), np.arange(c), ce.sum(-1) + bias)


# ---------------------------------------------------------------- required_ce
def test_required_ce_multiclass_hand_example():
    # true class 0; z = [2.5, 2, 1]; runner-up 1; supporting sorted: 3, 1, 0.5, -1
    ce = [[[3, 1, -1, 0.5], [1, 1, 0, 0], [0, 0, 0, 1]]]
    r = multi_result(ce, [-1, 0, 0])
    # include: 3 - 1 = 2 is not > 2; 3 + 1 - 1 = 3 > 2  -> k = 2
    assert metrics.required_ce(r, [0]).tolist() == [2]
    # exclude: 3 > sum(CE[runner-up]) = 2 -> k = 1
    assert metrics.required_ce(r, [0], bias="exclude").tolist() == [1]


def test_required_ce_binary_hand_examples():
    ce = [
        [2, -1, 0.5, -0.5],   # class 1, score 0.2: include 2-1.5-0.8 < 0, 2.5-2.3 > 0 -> k=2
        [-2, 1, -0.5, 0],     # class 0, supporting 2,-1,.5,0; signed bias +0.8: 2-1+0.8 > 0 -> k=1
        [1, 1, 1, 1],         # labelled 0 but predicted 1: not a TP
        [0.2, -0.5, 0, 0],    # class 1, score 0.5 only thanks to the bias
    ]
    r = binary_result(ce, -0.8)
    y = [1, 0, 0, 1]
    r4 = binary_result([ce[3]], 0.8)
    k = metrics.required_ce(r, y)
    assert k[:3].tolist() == [2, 1, metrics.NOT_TP]
    # the last row is not a TP with bias -0.8 (score -1.1); with bias +0.8 it is, and the bias alone decides
    assert k[3] == metrics.NOT_TP
    assert metrics.required_ce(r4, [1]).tolist() == [1]
    assert metrics.supporting(r4, [1]).bias_only.tolist() == [True]
    # without the bias the kept 0.2 never beats the opposing -0.5
    assert metrics.required_ce(r4, [1], bias="exclude").tolist() == [metrics.NEVER_CROSSES]
    assert metrics.required_ce(r, y, bias="exclude")[:2].tolist() == [1, 1]


def test_required_ce_ties_and_absolute_ranking():
    # supporting 1, -3, 1, 1 with bias 0.5 (class 1): opposing -3 kept whole
    r = binary_result([[1, -3, 1, 1]], 0.5)
    assert metrics.required_ce(r, [1]).tolist() == [3]  # 3 - 3 + 0.5 > 0 at k = 3
    # ranked by |CE| the -3 comes first and adds nothing: k = 4
    assert metrics.required_ce(r, [1], ranking="absolute").tolist() == [4]


def test_required_ce_is_at_most_the_number_of_positive_terms():
    rng = np.random.default_rng(0)
    r = multi_result(rng.normal(size=(200, 4, 12)), rng.normal(size=4))
    y = r.predicted_index
    k = metrics.required_ce(r, y)
    n_pos = (metrics.supporting(r, y).values > 0).sum(1)
    assert (k >= 1).all() and (k <= np.maximum(n_pos, 1)).all()


@pytest.mark.parametrize("bad", [{"bias": "both"}, {"ranking": "size"}])
def test_required_ce_refuses_unknown_options(bad):
    r = binary_result([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError, match="choose one of"):
        metrics.required_ce(r, [1], **bad)


def test_labels_outside_classes_are_refused():
    r = binary_result([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among"):
        metrics.required_ce(r, [7])
    with pytest.raises(ValueError, match="1-d array of 1 labels"):
        metrics.required_ce(r, [1, 0])


# ---------------------------------------------------------------- class_topk_union
def union_example():
    ce = [
        [5, 0, 3, 1, 0],      # class 1 TP: top-2 {0, 2}
        [0, 4, 4, 0, -1],     # class 1 TP: tie between 1 and 2, both kept -> {1, 2}
        [-1, -1, 0, 0, 0],    # class 0 TP: supporting 1, 1, 0, 0, 0 -> {0, 1}
    ]
    return binary_result(ce, 0.0), [1, 1, 0]


def test_class_topk_union_hand_example():
    r, y = union_example()
    assert metrics.class_topk_union(r, y, k=2).tolist() == [2, 3]
    # k larger than D: every positive term of every TP
    assert metrics.class_topk_union(r, y, k=10).tolist() == [2, 4]


def test_topk_ties_broken_by_feature_index():
    mask = metrics.topk_mask(np.array([[1.0, 1.0, 1.0, 0.5]]), 2)
    assert mask.tolist() == [[True, True, False, False]]


def test_topk_keeps_only_positive_terms():
    mask = metrics.topk_mask(np.array([[3.0, 0.0, 0.0, -1.0, -1.0]]), 2)
    assert mask.tolist() == [[True, False, False, False, False]]


def test_class_without_tp():
    r, _ = union_example()
    y = [1, 1, 1]  # the class-0 instance is now a false negative; class 0 has no TP
    assert metrics.class_topk_union(r, y, k=2).tolist() == [0, 3]
    share = metrics.top_share(r, y)
    assert math.isnan(share[0]) and not math.isnan(share[1])
    fm = metrics.frequency_magnitude(r, y, k=2)
    assert np.isnan(fm.freq[0]).all() and math.isnan(fm.spearman[0]) and fm.n_tp.tolist() == [0, 2]


# ---------------------------------------------------------------- top_share
def test_top_share_hand_example():
    r, y = union_example()
    # class 1 mean supporting [2.5, 2, 3.5, 0.5, -0.5]; ceil(0.1*5) = 1 -> 3.5 / 8.5
    # class 0 mean [1, 1, 0, 0, 0] -> 1 / 2
    np.testing.assert_allclose(metrics.top_share(r, y, frac=0.1), [0.5, 3.5 / 8.5])
    # per instance: class 1 (5/9 + 4/8) / 2
    np.testing.assert_allclose(metrics.top_share(r, y, per_instance=True), [0.5, (5 / 9 + 0.5) / 2])
    # |CE|: class 1 mean |s| = [2.5, 2, 3.5, 0.5, 0.5] -> 3.5 / 9
    np.testing.assert_allclose(metrics.top_share(r, y, absolute=True), [0.5, 3.5 / 9])


def test_share_all_negative_is_nan_and_negatives_count_zero():
    assert math.isnan(metrics.share_of_top(np.array([[-1.0, -2.0]]))[0])
    # top-2 of [4, -1, -1, ...]: the -1 in the top counts as 0 -> 4/4
    assert metrics.share_of_top(np.array([[4.0] + [-1.0] * 10]), 0.2)[0] == 1.0


# ---------------------------------------------------------------- frequency_magnitude
def test_frequency_magnitude_hand_example():
    r, y = union_example()
    fm = metrics.frequency_magnitude(r, y, k=2)
    np.testing.assert_allclose(fm.freq[1], [0.5, 0.5, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(fm.mag[1], [2.5, 2.0, 3.5, 0.5, -0.5])
    np.testing.assert_allclose(fm.mag_features[1], [2.5, 2.0, 3.5, 0.5, -0.5])  # F = CE in this fixture
    # ranks: freq (3.5, 3.5, 5, 1.5, 1.5), mag (4, 3, 5, 2, 1): Pearson of ranks = 9 / sqrt(9 * 10)
    assert fm.spearman[1] == pytest.approx(9 / math.sqrt(90))


def test_bootstrap_interval_brackets_a_strong_relation():
    rng = np.random.default_rng(1)
    base = np.linspace(3, 0.1, 20)
    ce = base + rng.normal(0, 0.3, size=(300, 20))
    r = binary_result(ce, 0.0)
    y = np.ones(300, dtype=int)
    fm = metrics.frequency_magnitude(r, y, k=5, bootstrap=200, seed=3)
    assert fm.ci_low[1] <= fm.spearman[1] <= fm.ci_high[1]
    assert fm.ci_low[1] > 0.5
    again = metrics.frequency_magnitude(r, y, k=5, bootstrap=200, seed=3)
    assert again.ci_low[1] == fm.ci_low[1]  # seeded


# ---------------------------------------------------------------- vectorised == loop
values = st.floats(-5, 5, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 25), d=st.integers(1, 14))
def test_binary_metrics_match_the_loop(data, n, d):
    ce = data.draw(arrays(np.float64, (n, d), elements=values))
    bias = data.draw(values)
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    r = binary_result(ce, bias)
    for mode in ("include", "exclude"):
        np.testing.assert_array_equal(metrics.required_ce(r, y, bias=mode), reference.required_ce_loop(r, y, mode))
    np.testing.assert_array_equal(metrics.class_topk_union(r, y, k=3), reference.class_topk_union_loop(r, y, k=3))
    np.testing.assert_allclose(metrics.top_share(r, y, 0.3), reference.top_share_loop(r, y, 0.3), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 20), c=st.integers(2, 5), d=st.integers(1, 12))
def test_multiclass_metrics_match_the_loop(data, n, c, d):
    ce = data.draw(arrays(np.float64, (n, c, d), elements=values))
    bias = data.draw(arrays(np.float64, c, elements=values))
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    r = multi_result(ce, bias)
    for mode in ("include", "exclude"):
        np.testing.assert_array_equal(metrics.required_ce(r, y, bias=mode), reference.required_ce_loop(r, y, mode))
    np.testing.assert_array_equal(metrics.class_topk_union(r, y, k=4), reference.class_topk_union_loop(r, y, k=4))
    np.testing.assert_allclose(metrics.top_share(r, y), reference.top_share_loop(r, y), equal_nan=True)


def test_blocks_do_not_change_results(monkeypatch):
    rng = np.random.default_rng(2)
    r = multi_result(rng.normal(size=(300, 3, 9)), rng.normal(size=3))
    y = rng.integers(0, 3, 300)
    whole = metrics.required_ce(r, y), metrics.class_topk_union(r, y, 3)
    monkeypatch.setattr(metrics, "BLOCK_ELEMENTS", 20)
    np.testing.assert_array_equal(metrics.required_ce(r, y), whole[0])
    np.testing.assert_array_equal(metrics.class_topk_union(r, y, 3), whole[1])


def test_required_ce_multiclass_without_positive_support():
    # no supporting term is positive: the raw sum of the top-1 term still beats the runner-up
    r = multi_result([[[-1, -2], [-3, -3]]], [0, 0])
    assert metrics.required_ce(r, [0]).tolist() == [1]
    # a tie of logits is predicted as class 0 by argmax, but no kept sum is strictly larger
    tie = multi_result([[[-1.0], [-1.0]]], [0, 0])
    assert metrics.required_ce(tie, [0]).tolist() == [metrics.NEVER_CROSSES]


def test_supporting_is_remembered_per_labels():
    r, y = union_example()
    first = metrics.supporting(r, y)
    assert metrics.supporting(r, list(y)) is first
    assert metrics.supporting(r, [1, 1, 1]) is not first

"""Hand-worked examples of every metric, edge cases, and vectorised == per-instance loop."""
import math

import numpy as np
import pytest
from scipy import stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ceimb_utils.ce import CEResult, metrics, reference, required


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
    # default, the -1 kept whole: 3 - 1 - 1 = 1, 4 - 2 = 2 (not > 2), 4.5 - 2 = 2.5 > 2 -> k = 3
    assert metrics.required_ce(r, [0]).tolist() == [3]
    # "positive terms only": 3 - 1 = 2 is not > 2; 3 + 1 - 1 = 3 > 2 -> k = 2
    assert metrics.required_ce(r, [0], negatives="ranked").tolist() == [2]
    # bias excluded, -1 kept: 3 - 1 = 2 is not > sum(CE[runner-up]) = 2; 4 - 1 = 3 > 2 -> k = 2
    assert metrics.required_ce(r, [0], bias="exclude").tolist() == [2]
    assert metrics.required_ce(r, [0], bias="exclude", negatives="ranked").tolist() == [1]
    # a field no reading has is named with the ones it has (it was a bare TypeError of Reading's)
    with pytest.raises(TypeError, match=r"required_ce\(\) has no field 'bais'; a reading's fields are .*bias"):
        metrics.required_ce(r, [0], bais="exclude")


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
    # the bias alone decides: no supporting term is needed (k = 0, the authors' count)
    assert metrics.required_ce(r4, [1]).tolist() == [0]
    assert metrics.required_ce(r4, [1], at_least_one=True).tolist() == [1]
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
    assert (k >= 0).all() and (k <= n_pos).all()


def test_keeping_negatives_whole_never_needs_fewer_terms():
    """sum(top-j positives) + negatives <= sum(top-j terms) for every j, so the default k is at
    least the 'positive terms only' k wherever the default crosses."""
    rng = np.random.default_rng(4)
    r = multi_result(rng.normal(0.2, 1, size=(400, 5, 16)), rng.normal(size=5))
    y = r.predicted_index
    kept, ranked = metrics.required_ce(r, y), metrics.required_ce(r, y, negatives="ranked")
    assert (ranked <= kept).all() and (ranked < kept).any()


@pytest.mark.parametrize("bad", [{"bias": "both"}, {"ranking": "size"}, {"negatives": "some"},
                                 {"share_count": "round"}, {"sets": "top-5"}, {"instances": "fp"}])
def test_required_ce_refuses_unknown_options(bad):
    r = binary_result([[1.0, 2.0]], 0.0)
    with pytest.raises(ValueError, match="choose one of"):
        metrics.required_ce(r, [1], **bad)
    with pytest.raises(ValueError, match="choose one of"):
        metrics.Reading(**bad)


def test_reading_names():
    assert metrics.reading_named("default") == metrics.Reading()
    assert all(isinstance(v, metrics.Reading) for v in metrics.READINGS.values())
    with pytest.raises(ValueError, match="Unknown reading 'paper'"):
        metrics.reading_named("paper")


def test_as_released_counts_misclassified_instances_with_their_predicted_class():
    # a class-0 instance predicted as 1 (scores 1 vs 3): counted under "as released", with CE[1]
    ce = [[[1, 0, 0], [2, 1, 0]], [[3, 1, 0], [0, 0, 1]]]
    r = multi_result(ce, [0, 0])
    assert metrics.required_ce(r, [0, 0]).tolist() == [metrics.NOT_COUNTED, 1]
    released = metrics.required_ce(r, [0, 0], instances="all")
    # instance 0: supporting CE[1] = 2, 1, 0; bias of its label b[0] = 0; next logit 1 -> 2 > 1: k = 1
    assert released.tolist() == [1, 1]
    assert metrics.supporting(r, [0, 0], "all").counted.all()


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


TOP_K = metrics.Reading(sets="top-k")


def test_class_topk_union_hand_example():
    r, y = union_example()
    # default: each TP's required set; every TP here needs its single largest term
    assert metrics.required_ce(r, y).tolist() == [1, 1, 1]
    assert metrics.class_topk_union(r, y, k=2).tolist() == [1, 2]
    # reading "top-k": class 1 {0, 2} and {1, 2}, class 0 {0, 1}
    assert metrics.class_topk_union(r, y, k=2, reading=TOP_K).tolist() == [2, 3]
    # k larger than D: every positive term of every TP
    assert metrics.class_topk_union(r, y, k=10, reading=TOP_K).tolist() == [2, 4]


def test_topk_ties_broken_by_feature_index():
    mask = metrics.topk_mask(np.array([[1.0, 1.0, 1.0, 0.5]]), 2)
    assert mask.tolist() == [[True, True, False, False]]


def test_topk_keeps_only_positive_terms():
    mask = metrics.topk_mask(np.array([[3.0, 0.0, 0.0, -1.0, -1.0]]), 2)
    assert mask.tolist() == [[True, False, False, False, False]]


def test_class_without_tp():
    r, _ = union_example()
    y = [1, 1, 1]  # the class-0 instance is now a false negative; class 0 has no TP
    union = metrics.class_topk_union(r, y, k=2)
    assert math.isnan(union[0]) and union[1] == 2  # NaN, never 0, like every per-class metric
    assert math.isnan(metrics.class_topk_union(r, y, k=2, reading=TOP_K)[0])
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
    # 30% of D = 5 is 1.5 entries: int() takes 1 (the authors), the ceiling 2
    np.testing.assert_allclose(metrics.top_share(r, y, frac=0.3), [0.5, 3.5 / 8.5])
    np.testing.assert_allclose(metrics.top_share(r, y, frac=0.3, reading=metrics.Reading(share_count="ceil")),
                               [1.0, 6 / 8.5])


@pytest.mark.parametrize("d, frac, count, expected", [(5, 0.1, "floor", 1), (64, 0.1, "floor", 6),
                                                      (64, 0.1, "ceil", 7), (30, 0.1, "ceil", 3),
                                                      (1042, 0.1, "floor", 104), (1042, 0.1, "ceil", 105)])
def test_number_of_top_entries(d, frac, count, expected):
    assert metrics.n_top(d, frac, count) == expected  # 0.1 x 30 is 3.0000000000000004: still 3


def test_share_all_negative_is_nan_and_negatives_count_zero():
    assert math.isnan(metrics.share_of_top(np.array([[-1.0, -2.0]]))[0])
    # top-2 of [4, -1, -1, ...]: the -1 in the top counts as 0 -> 4/4
    assert metrics.share_of_top(np.array([[4.0] + [-1.0] * 10]), 0.2)[0] == 1.0


# ---------------------------------------------------------------- frequency_magnitude
def test_frequency_magnitude_hand_example():
    r, y = union_example()
    # default: the required sets {0} and {1} of class 1's two TPs
    fm = metrics.frequency_magnitude(r, y, k=2)
    np.testing.assert_allclose(fm.freq[1], [0.5, 0.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(fm.mag[1], [2.5, 2.0, 3.5, 0.5, -0.5])
    np.testing.assert_allclose(fm.mag_features[1], [2.5, 2.0, 3.5, 0.5, -0.5])  # F = CE in this fixture
    # ranks: freq (4.5, 4.5, 2, 2, 2), mag (4, 3, 5, 2, 1): Pearson of ranks = 2.5 / sqrt(7.5 * 10)
    assert fm.spearman[1] == pytest.approx(2.5 / math.sqrt(75))
    # reading "top-k": the top-2 sets {0, 2} and {1, 2}
    top = metrics.frequency_magnitude(r, y, k=2, reading=TOP_K)
    np.testing.assert_allclose(top.freq[1], [0.5, 0.5, 1.0, 0.0, 0.0])
    # ranks: freq (3.5, 3.5, 5, 1.5, 1.5), mag (4, 3, 5, 2, 1): Pearson of ranks = 9 / sqrt(9 * 10)
    assert top.spearman[1] == pytest.approx(9 / math.sqrt(90))


def test_half_sampling_interval_brackets_a_strong_relation():
    rng = np.random.default_rng(1)
    base = np.linspace(3, 0.1, 20)
    ce = base + rng.normal(0, 0.3, size=(300, 20))
    r = binary_result(ce, 0.0)
    y = np.ones(300, dtype=int)
    fm = metrics.frequency_magnitude(r, y, k=12, reading=TOP_K, resamples=200, seed=3)
    assert fm.ci_status[1] == "ok"
    assert fm.ci_low[1] <= fm.spearman[1] <= fm.ci_high[1]
    assert fm.ci_low[1] > 0.5
    again = metrics.frequency_magnitude(r, y, k=12, reading=TOP_K, resamples=200, seed=3)
    assert again.ci_low[1] == fm.ci_low[1]  # seeded
    assert fm.ci_status[0] == "too few TPs" and np.isnan(fm.ci_low[0])


def test_rows_that_share_their_positive_columns_are_ordered_on_them_alone():
    """An RBF SVM's CE: kernel values (positive) times signed dual coefficients, so every row that
    predicts one class has its positive terms in the same columns; those rows skip the partial
    sort (``descending`` is never called) and keep the loop's counts."""
    rng = np.random.default_rng(3)
    dual = rng.choice([-1.0, 1.0], 400) * rng.exponential(size=400)  # ~200 positive terms a row, above the first width
    ce = (rng.random((200, 400)) + 0.01) * dual
    bias = -float(np.median(ce.sum(1)))
    r = binary_result(ce, bias)
    y = (ce.sum(1) + bias > 0).astype(int)  # every row a TP, of both classes
    called = []
    with pytest.MonkeyPatch.context() as patch:
        sorting_only(patch)
        patch.setattr(required, "DEEP_SHARE", -1.0)  # every block to the second pass
        descending = required.descending
        patch.setattr(required, "descending", lambda *a: called.append(1) or descending(*a))
        found = metrics.required_ce(r, y)
    assert not called and set(np.unique(y)) == {0, 1}
    np.testing.assert_array_equal(found, reference.required_ce_loop(r, y, metrics.DEFAULT))


def test_random_groups_put_each_row_in_one_group_of_near_equal_size():
    n, groups = 103, 10
    rng = np.random.default_rng(0)
    sets = np.zeros((n, n), dtype=bool)
    sets[:, :4] = rng.random((n, 4)) < 0.3
    sets[:, 4] = True
    read = lambda at: (sets[at], np.eye(n)[at])  # noqa: E731  (values: which row is which)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(required, "BLOCK_ELEMENTS", 30 * n)  # groups cross the blocks
        set_sums, members = metrics.random_groups(n, n, groups, np.random.default_rng(1), read)
    assert set_sums.dtype == np.float32 and (set_sums == np.round(set_sums)).all()
    assert (members.sum(0) == 1).all()  # every row in exactly one group
    sizes = members.sum(1)
    assert sizes.max() - sizes.min() <= 1
    np.testing.assert_array_equal(set_sums, members @ sets)
    np.testing.assert_array_equal(set_sums[:, 4], sizes)
    assert not all((np.flatnonzero(m) == np.arange(len(np.flatnonzero(m))) + np.flatnonzero(m)[0]).all()
                   for m in members)  # a random order, not runs of consecutive rows


def test_a_large_class_gets_its_interval_from_random_groups_of_its_tps():
    """Above ``INTERVAL_GROUPS`` TPs the class is read in blocks into random groups: the same
    interval as the groups of its sets and values held whole, from the same seed."""
    rng = np.random.default_rng(2)
    ce = np.linspace(3, 0.1, 30) + rng.normal(0, 0.6, size=(400, 30))
    r, y = binary_result(ce, 0.0), np.ones(400, dtype=int)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(metrics, "INTERVAL_GROUPS", 64)
        patch.setattr(required, "BLOCK_ELEMENTS", 50 * 31)
        fm = metrics.frequency_magnitude(r, y, k=8, reading=TOP_K, resamples=100, seed=5)
        terms = metrics.required_terms(r, y, [TOP_K], k=8)["tp"]
        rows = np.flatnonzero(terms.support.cls[terms.rows] == 1)
        sets = metrics.class_sets(terms, TOP_K, 8, rows)
        whole = metrics.spearman_interval(sets, terms.support.values_of(terms.rows[rows]), 100,
                                          np.random.default_rng(5))
    assert len(rows) > 64 and whole[2] == "ok"
    assert (fm.ci_low[1], fm.ci_high[1], fm.ci_status[1]) == pytest.approx(whole)
    assert fm.ci_low[1] <= fm.spearman[1] <= fm.ci_high[1]


def test_an_interval_never_reaches_past_the_range_of_a_spearman():
    """A class whose terms rank almost perfectly: estimate + c s passes 1; the interval stops there."""
    rng = np.random.default_rng(4)
    base = np.linspace(3, 0.1, 40)
    ce = base + rng.normal(0, 0.25, size=(120, 40))
    r, y = binary_result(ce, 0.0), np.ones(120, dtype=int)
    fm = metrics.frequency_magnitude(r, y, k=15, reading=TOP_K, resamples=200, seed=0)
    assert fm.ci_status[1] == "ok" and fm.spearman[1] > 0.9
    assert -1.0 <= fm.ci_low[1] <= fm.spearman[1] < fm.ci_high[1] <= 1.0
    assert fm.ci_high[1] == 1.0  # estimate + c s passed 1 (it equals 1 exactly only by the cut)


def test_subsamples_never_repeat_an_instance():
    weights = metrics.subsample_weights(10, 5, 6, np.random.default_rng(0))
    assert set(np.unique(weights)) == {0.0, 1.0} and (weights.sum(1) == 5).all()
    assert (weights[0::2] + weights[1::2] == 1).all()  # the two halves of one split


def test_bias_aware_critical_value():
    assert metrics.bias_aware_critical_value(0.0) == pytest.approx(1.959964, abs=1e-5)
    for t in (0.5, 2.0):
        c = metrics.bias_aware_critical_value(t)
        assert stats.norm.cdf(c - t) - stats.norm.cdf(-c - t) == pytest.approx(0.95, abs=1e-6)
    assert metrics.bias_aware_critical_value(3.0) > 3.0 + 1.6


@pytest.mark.parametrize("regime, seed", [("finite-population simulation (400 TPs, D 200, sets of 10)", 1),
                                          ("CNN class (1000 TPs, D 64)", 1),
                                          ("SYLVA SVM minority (130 TPs, D 386)", 2),
                                          ("COIL 2000 LG-sized class (3000 TPs, D 85, sets of 20)", 0)])
def test_the_interval_covers_a_known_population_value(regime, seed):
    """methods#intervals: TPs drawn without replacement from a finite population whose Spearman is known,
    at a run's n, D and set sizes; the shown 95% intervals cover it 90% to 99% of the time."""
    n, d, mean_set = reference.INTERVAL_REGIMES[regime]
    if "3000 TPs" in regime:
        assert n > 4 * metrics.INTERVAL_GROUPS  # drawn in random groups of several TPs
    found = reference.interval_coverage(n, d, mean_set, trials=200, resamples=200, seed=seed)
    assert found["shown"] >= 120, found
    assert 0.90 <= found["coverage"] <= 0.99, found


@pytest.mark.parametrize("regime", sorted(reference.SPARSE_REGIMES))
def test_no_interval_where_most_features_are_never_required(regime):
    n, d, mean_set = reference.SPARSE_REGIMES[regime]
    found = reference.interval_coverage(n, d, mean_set, trials=5, resamples=20, seed=0)
    assert found["shown"] == 0 and found["statuses"] == {"sparse": 5}


# ---------------------------------------------------------------- vectorised == loop
values = st.floats(-5, 5, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 25), d=st.integers(1, 14))
def test_binary_metrics_match_the_loop(data, n, d):
    ce = data.draw(arrays(np.float64, (n, d), elements=values))
    bias = data.draw(values)
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    _assert_metrics_match_the_loop(binary_result(ce, bias), y, k=3)


def _assert_metrics_match_the_loop(r, y, k):
    for name, reading in metrics.READINGS.items():
        np.testing.assert_array_equal(metrics.required_ce(r, y, reading), reference.required_ce_loop(r, y, reading),
                                      err_msg=name)
        np.testing.assert_array_equal(metrics.class_topk_union(r, y, k, reading),
                                      reference.class_topk_union_loop(r, y, k, reading), err_msg=name)
        np.testing.assert_allclose(metrics.top_share(r, y, 0.3, reading=reading),
                                   reference.top_share_loop(r, y, 0.3, reading), equal_nan=True, err_msg=name)
        np.testing.assert_allclose(metrics.frequency_magnitude(r, y, k, reading=reading).freq,
                                   reference.frequency_loop(r, y, k, reading), equal_nan=True, err_msg=name)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 20), c=st.integers(2, 5), d=st.integers(1, 12))
def test_multiclass_metrics_match_the_loop(data, n, c, d):
    ce = data.draw(arrays(np.float64, (n, c, d), elements=values))
    bias = data.draw(arrays(np.float64, c, elements=values))
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    _assert_metrics_match_the_loop(multi_result(ce, bias), y, k=4)


def test_blocks_do_not_change_results(monkeypatch):
    rng = np.random.default_rng(2)
    r = multi_result(rng.normal(size=(300, 3, 9)), rng.normal(size=3))
    y = rng.integers(0, 3, 300)
    whole = metrics.required_ce(r, y), metrics.class_topk_union(r, y, 3)
    monkeypatch.setattr(required, "BLOCK_ELEMENTS", 20)
    np.testing.assert_array_equal(metrics.required_ce(r, y), whole[0])
    np.testing.assert_array_equal(metrics.class_topk_union(r, y, 3), whole[1])


# Values from a few levels, so that rows hold ties, and the same level with both signs (a
# positive and a negative term of equal |CE|, which the |CE| ranking orders by index).
tied = st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0])


def sorting_only(patch, compiled: bool = False):
    """Without ``compiled``, the analysis as the core install runs it, where numba is not
    installed: numpy sorts each row (tests/test_compiled.py compares the two)."""
    if not compiled:
        patch.setattr(required, "compiled_kernels", lambda: None)
        patch.setattr(metrics, "compiled_kernels", lambda: None)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 20), d=st.integers(1, 12), width=st.integers(1, 4),
       deep_share=st.sampled_from([required.DEEP_SHARE, -1.0]))
def test_partial_ranking_with_ties_matches_the_loop(compiled, data, n, d, width, deep_share):
    """The partial sort ranks at most ``width`` terms in its first pass, so every row whose
    count lies beyond it takes the second pass; ties are everywhere. With a deep share below 0
    every block skips the first pass, as blocks of rows that mostly need the second do. The
    compiled kernel meets the same ties (and hands back rows whose sums tie their threshold)."""
    ce = data.draw(arrays(np.float64, (n, d), elements=tied))
    bias = data.draw(tied)
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    with pytest.MonkeyPatch.context() as patch:
        sorting_only(patch, compiled)
        patch.setattr(required, "FIRST_WIDTH", width)
        patch.setattr(required, "DEEP_SHARE", deep_share)
        _assert_metrics_match_the_loop(binary_result(ce, bias), y, k=2)


@pytest.mark.parametrize("m", [1, 5, 9, 10, 19, 20, 25])
def test_descending_keeps_each_rows_largest_values_in_order(m):
    """A partial sort below three quarters of D, a full sort from there on: the same values either way."""
    values = np.round(np.random.default_rng(m).normal(size=(6, 20)), 1)  # ties
    expected = -np.sort(-values, axis=1)[:, :min(m, 20)]
    np.testing.assert_array_equal(required.descending(values, m), expected)


def test_a_deep_block_skips_the_first_pass_with_the_same_counts():
    """A COIL 2000 SVM's TPs need about 1,000 of 1,833 terms: after a block whose rows mostly
    went to the second pass, the next goes there at once, with the counts of the two passes."""
    rng = np.random.default_rng(0)
    ce = rng.exponential(size=(300, 200)) - 0.2
    r, y = binary_result(ce, -120.0), np.ones(300, dtype=int)
    with pytest.MonkeyPatch.context() as patch:
        sorting_only(patch)
        patch.setattr(required, "BLOCK_ELEMENTS", 40 * 201)  # several blocks
        skipped = []
        signed_block = required._signed_block
        patch.setattr(required, "_signed_block",
                      lambda *a, **kw: skipped.append(not kw.get("first_pass", True)) or signed_block(*a, **kw))
        fast = metrics.required_ce(r, y)
        patch.setattr(required, "DEEP_SHARE", 2.0)  # never skip
        slow = metrics.required_ce(r, y)
    assert skipped[0] is False and all(skipped[1:len(skipped) // 2])
    assert np.median(fast[fast > 0]) > required.FIRST_WIDTH
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, reference.required_ce_loop(r, y, metrics.DEFAULT))


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(1, 15), c=st.integers(2, 4), d=st.integers(1, 10), width=st.integers(1, 3))
def test_partial_ranking_with_ties_matches_the_loop_multiclass(compiled, data, n, c, d, width):
    ce = data.draw(arrays(np.float64, (n, c, d), elements=tied))
    bias = data.draw(arrays(np.float64, c, elements=tied))
    y = data.draw(arrays(np.int64, n, elements=st.integers(0, c - 1)))
    r = multi_result(ce, bias)
    with pytest.MonkeyPatch.context() as patch:
        sorting_only(patch, compiled)
        patch.setattr(required, "FIRST_WIDTH", width)
        _assert_metrics_match_the_loop(r, y, k=2)
        # a rule no reading uses: |CE| ranking with the negative terms ranked, by a full sort
        odd = metrics.Reading(ranking="absolute", negatives="ranked")
        np.testing.assert_array_equal(metrics.required_ce(r, y, odd), reference.required_ce_loop(r, y, odd))


def test_required_terms_are_ranked_once_for_every_reading():
    """One ``RequiredTerms`` per choice of counted instances serves every reading; the TPs' terms
    taken from all instances' are those ranked for the TPs alone."""
    rng = np.random.default_rng(8)
    r = multi_result(rng.normal(0.1, 1, size=(120, 4, 30)), rng.normal(size=4))
    y = rng.integers(0, 4, 120)
    terms = metrics.required_terms(r, y, metrics.READINGS.values(), k=5, frac=0.2)
    assert set(terms) == {"tp", "all"}
    alone = metrics.required_terms(r, y, [metrics.DEFAULT, metrics.Reading(ranking="absolute")], k=5, frac=0.2)["tp"]
    for rule in alone.counts:
        np.testing.assert_array_equal(terms["tp"].count(rule), alone.count(rule))
        np.testing.assert_array_equal(terms["tp"].ends[rule], alone.ends[rule])
    np.testing.assert_array_equal(terms["tp"].largest, alone.largest)
    for name, reading in metrics.READINGS.items():
        given = terms[reading.instances]
        np.testing.assert_array_equal(metrics.required_ce(r, y, reading, terms=given),
                                      metrics.required_ce(r, y, reading), err_msg=name)
        np.testing.assert_array_equal(metrics.class_topk_union(r, y, 5, reading, given),
                                      metrics.class_topk_union(r, y, 5, reading), err_msg=name)
        np.testing.assert_allclose(metrics.top_share(r, y, 0.2, per_instance=True, reading=reading, terms=given),
                                   metrics.top_share(r, y, 0.2, per_instance=True, reading=reading), err_msg=name)
    with pytest.raises(ValueError, match="instances='all'"):
        metrics.required_ce(r, y, metrics.DEFAULT, terms=terms["all"])
    excluded = required.CountRule("exclude")  # not ranked at build time: ranked when asked
    assert excluded not in alone.counts
    np.testing.assert_array_equal(alone.count(excluded), metrics.required_ce(r, y, bias="exclude"))


def test_ranks_equal_scipys_with_ties_and_nan():
    rng = np.random.default_rng(9)
    for _ in range(30):
        counts = rng.integers(0, 5, size=(6, 11)).astype(float)
        np.testing.assert_array_equal(metrics.average_ranks(counts), stats.rankdata(counts, axis=1))
        np.testing.assert_array_equal(metrics.count_ranks(counts), stats.rankdata(counts, axis=1))
        real = rng.normal(size=(6, 11))
        np.testing.assert_array_equal(metrics.average_ranks(real), stats.rankdata(real, axis=1))
    counts[2, 3] = np.nan
    np.testing.assert_array_equal(metrics.average_ranks(counts), stats.rankdata(counts, axis=1))

    # a few ties in every row, as a tabular run's terms give them (zero and duplicated columns)
    sparse = rng.normal(size=(8, 30))
    sparse[:, [0, 29]] = 0.0
    sparse[:, 7] = sparse[:, 12]
    sparse[3, [4, 5, 6]] = sparse[3, 20]
    np.testing.assert_array_equal(metrics.average_ranks(sparse), stats.rankdata(sparse, axis=1))


def test_rowwise_spearman_by_blocks_equals_each_row_alone(monkeypatch):
    """Rows ranked a block at a time give each row's Spearman as if it were alone (scipy's),
    to the bit whatever the block."""
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 6, size=(25, 9)).astype(float)
    values = rng.normal(size=(25, 9))
    values[:, 2] = values[:, 5]
    whole = metrics.rowwise_spearman(counts, values, a_counts=True)
    reversed_whole = metrics.rowwise_spearman(values, counts)
    alone = [stats.spearmanr(c, v).statistic for c, v in zip(counts, values)]
    np.testing.assert_allclose(whole, alone, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reversed_whole, alone, rtol=1e-12, atol=1e-12)
    for block in (9, 20, 50):  # one row, two rows and five rows at a time
        monkeypatch.setattr(metrics, "SPEARMAN_BLOCK", block)
        np.testing.assert_array_equal(metrics.rowwise_spearman(counts, values, a_counts=True), whole)
        np.testing.assert_array_equal(metrics.rowwise_spearman(values, counts), reversed_whole)


def test_rowwise_spearman_in_any_column_order_is_the_same_to_the_bit(monkeypatch):
    """Ranks, their deviations from the mean rank and the deviations' products are multiples of a
    quarter, so the sums come out the same in the order of b's values as in the columns' (the
    interval sorts b from a hint that nearly orders its rows)."""
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 40, size=(30, 200)).astype(float)
    values = rng.normal(size=(30, 200)) + np.linspace(0, 3, 200)  # nearly in column order
    values[:, 10] = values[:, 11]  # ties
    values[4, 0] = np.nan
    ra, rb = stats.rankdata(counts, axis=1), stats.rankdata(values, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    in_columns = (ra * rb).sum(1) / np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    assert np.isnan(in_columns[4]) and np.isfinite(np.delete(in_columns, 4)).all()
    hint = rng.permutation(200)
    for order in (None, hint, np.arange(200), np.arange(200)[::-1]):
        np.testing.assert_array_equal(metrics.rowwise_spearman(counts, values, a_counts=True, b_order=order),
                                      in_columns)
    monkeypatch.setattr(metrics, "EXACT_RANK_SUMS", 10)  # wider rows: b's ranks go back to the columns
    np.testing.assert_array_equal(metrics.rowwise_spearman(counts, values, a_counts=True, b_order=hint), in_columns)


def test_take_and_put_rows_are_numpys_along_axis():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(7, 26))[:, ::2]  # not contiguous
    index = np.argsort(rng.random((7, 13)), axis=1)
    np.testing.assert_array_equal(metrics.take_rows(a, index), np.take_along_axis(a, index, axis=1))
    repeated = rng.integers(0, 13, size=(7, 30))  # any columns, any number of times
    np.testing.assert_array_equal(metrics.take_rows(a, repeated), np.take_along_axis(a, repeated, axis=1))
    expected = np.zeros(a.shape)
    np.put_along_axis(expected, index, a, axis=1)
    np.testing.assert_array_equal(metrics.put_rows(a.shape, index, a), expected)


def test_class_sets_read_with_their_values_are_the_supporting_ce(monkeypatch):
    rng = np.random.default_rng(7)
    ce = rng.normal(size=(90, 12))
    r = binary_result(ce, 0.3)
    y = (rng.random(90) < 0.7).astype(int)
    terms = metrics.required_terms(r, y)["tp"]
    positions = np.arange(len(terms.rows))[::2]
    monkeypatch.setattr(required, "BLOCK_ELEMENTS", 5 * 12)  # blocks of five rows
    sets, values = metrics.class_sets(terms, metrics.DEFAULT, 10, positions, with_values=True)
    np.testing.assert_array_equal(sets, metrics.class_sets(terms, metrics.DEFAULT, 10, positions))
    np.testing.assert_array_equal(values, terms.support.values_of(terms.rows[positions]))
    assert sets.any() and len(positions) > 10


@pytest.mark.parametrize("n", [41, 43, 60])
def test_subsample_sums_equal_the_subsamples_products(n):
    """The last part of each random order is taken from the total: the same sums as summing it."""
    rng = np.random.default_rng(n)
    sets = rng.random((n, 7)) < 0.4
    values = rng.normal(size=(n, 7))
    for size in (n // 2, n // 4):
        weights = metrics.subsample_weights(n, size, 10, np.random.default_rng(1))
        got_sets, got_values = metrics._subsample_sums(sets.astype(np.float32), values, size, 10, np.random.default_rng(1))
        np.testing.assert_array_equal(got_sets, weights @ sets)
        np.testing.assert_allclose(got_values, weights @ values, rtol=1e-12, atol=1e-12)


def test_required_ce_multiclass_without_positive_support():
    # no supporting term is positive: -3 + 0 already beats the runner-up's -6 without any term
    r = multi_result([[[-1, -2], [-3, -3]]], [0, 0])
    assert metrics.required_ce(r, [0]).tolist() == [0]
    assert metrics.required_ce(r, [0], negatives="ranked", at_least_one=True).tolist() == [1]
    # a tie of logits is predicted as class 0 by argmax, but no kept sum is strictly larger
    tie = multi_result([[[-1.0], [-1.0]]], [0, 0])
    assert metrics.required_ce(tie, [0]).tolist() == [metrics.NEVER_CROSSES]


def test_class_without_tp_is_nan_in_every_per_class_table_column():
    """Issue 13, item 1: a class that is never predicted has no value anywhere (NaN, not 0), so
    group means of the instance- and class-level counts average over the same classes."""
    from ceimb_utils.ce import summaries

    rng = np.random.default_rng(5)
    ce = rng.normal(0, 1, size=(90, 3, 20))
    ce[:, 2] -= 5.0  # class 2 is never predicted
    r = multi_result(ce, [0.0, 0.0, 0.0])
    y = np.repeat([0, 1, 2], 30)
    table = summaries.class_table(r, y, train_counts=[100, 10, 1])
    assert table.loc[2, "n_tp"] == 0 and table.loc[:1, "n_tp"].gt(0).all()
    columns = ["required_pct", "union_pct", "top_share", "top_share_instance", "top_share_absolute",
               "required_pct_exclude", "required_pct_absolute"]
    assert table.loc[2, columns].isna().all() and table.loc[:1, columns].notna().all().all()
    readings = summaries.reading_table(r, y)
    tp_only = readings[readings["reading"] != "as released, all instances"]
    assert tp_only.loc[tp_only["class_index"] == 2, ["required_pct", "union_pct", "top_share"]].isna().all().all()
    released = readings[(readings["reading"] == "as released, all instances") & (readings["class_index"] == 2)]
    assert released["n_counted"].item() == 30  # the released loops count it all the same


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_reading_table_unions_are_each_readings_own(monkeypatch, compiled):
    """The reading table reads every reading's class union in one pass per group of counted
    instances: each is the union that reading gives alone, and the readings' unions differ."""
    from ceimb_utils.ce import summaries

    rng = np.random.default_rng(11)
    features = np.abs(rng.normal(size=(300, 40)))
    weights = rng.normal(size=40)
    bias = -float(np.median(features @ weights))
    r = CEResult(None, bias, features, weights, np.array([0, 1]), features @ weights + bias)
    y = (r.scores > 0).astype(int)
    y[::9] ^= 1  # errors, which the all-instances reading counts
    with monkeypatch.context() as patch:
        sorting_only(patch, compiled)
        table = summaries.reading_table(r, y, k=5)
        for name, reading in metrics.READINGS.items():
            alone = 100.0 * metrics.class_topk_union(r, y, 5, reading) / 40
            np.testing.assert_array_equal(table.loc[table["reading"] == name, "union_pct"], alone, err_msg=name)
    assert table.groupby("class_index")["union_pct"].nunique().min() >= 3


# ---------------------------------------------------------------- ceiling (methods#verdicts)
def test_ceiling_from_weight_signs_with_non_negative_features():
    from ceimb_utils.ce import summaries

    feats = np.abs(np.random.default_rng(7).normal(size=(10, 5)))
    w = np.array([-1.0, -2.0, 0.5, -0.1, 3.0])  # an SVM: 3 support vectors of class 0, 2 of class 1
    r = CEResult(feats * w, 0.0, feats, w, np.array([0, 1]), (feats * w).sum(1))
    np.testing.assert_allclose(summaries.ceiling_pct(r), [60.0, 40.0])
    signed = CEResult(-feats * w, 0.0, -feats, w, np.array([0, 1]), (-feats * w).sum(1))
    assert np.isnan(summaries.ceiling_pct(signed)).all()  # standardised inputs: no ceiling
    k = metrics.required_ce(r, r.predicted_index)
    counted = k >= 0
    assert (100 * k[counted] / 5 <= summaries.ceiling_pct(r)[r.predicted_index[counted]]).all()

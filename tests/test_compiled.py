"""The compiled kernels (ce/compiled.py) against the numpy code they replace: the same counts,
set ends, largest terms, sets, sums and Spearman, to the last bit, where numpy sorts. A kernel
that added a term too many, dropped a tie or summed a row twice fails here."""
import importlib.util

import numpy as np
import pytest

from ceimb_utils.ce import compiled, metrics, required
from ceimb_utils.ce.extraction import CEResult

from test_metrics import binary_result, multi_result, sorting_only


def _both(monkeypatch, compute):
    """``compute()`` with the compiled kernels, then as the core install runs it (numpy sorts)."""
    with_kernels = compute()
    with monkeypatch.context() as patch:
        sorting_only(patch)
        return with_kernels, compute()


def _svm_like(rng, n, d, levels=None):
    """An RBF SVM's CE: positive kernel values times signed dual coefficients (every row that
    predicts one class has its positive terms in the same columns), optionally on a few levels
    (ties)."""
    dual = rng.choice([-1.0, 1.0], d) * rng.exponential(size=d)
    kernel = rng.random((n, d)) + 0.01
    if levels:
        kernel = np.round(kernel * levels) / levels + 0.01
    ce = kernel * dual
    return ce, -float(np.median(ce.sum(1)))


RULES = [required.CountRule(), required.CountRule("exclude"), required.CountRule(ranking="absolute"),
         required.CountRule("exclude", ranking="absolute")]


@pytest.mark.parametrize("levels", [None, 4])
@pytest.mark.parametrize("instances", ["tp", "all"])
def test_compiled_ranking_is_the_sorted_ranking_binary(monkeypatch, levels, instances):
    rng = np.random.default_rng(1 if levels else 2)
    ce, bias = _svm_like(rng, 700, 300, levels)
    result = binary_result(ce, bias)
    y = (ce.sum(1) + bias > 0).astype(int)
    y[::7] ^= 1  # some errors, for instances="all"
    fast, slow = _both(monkeypatch, lambda: required.RequiredTerms.build(
        required.supporting(result, y, instances), RULES, n_largest=30))
    for rule in RULES:
        np.testing.assert_array_equal(fast.counts[rule], slow.counts[rule], err_msg=str(rule))
        np.testing.assert_array_equal(fast.ends[rule], slow.ends[rule], err_msg=str(rule))
    np.testing.assert_array_equal(fast.largest, slow.largest)
    np.testing.assert_array_equal(fast.n_positive, slow.n_positive)  # the kernel's count of positive terms
    np.testing.assert_array_equal(fast.positive_sum, slow.positive_sum)
    assert (fast.counts[RULES[0]] > 64).mean() > 0.5  # most rows reach beyond the sorted path's first pass


def test_compiled_ranking_is_the_sorted_ranking_multiclass(monkeypatch):
    rng = np.random.default_rng(3)
    result = multi_result(rng.normal(0.2, 1, size=(400, 5, 80)), rng.normal(size=5))
    y = rng.integers(0, 5, 400)
    rules = [required.CountRule(), required.CountRule("exclude"), required.CountRule(keep_negatives=False)]
    fast, slow = _both(monkeypatch, lambda: required.RequiredTerms.build(
        required.supporting(result, y, "all"), rules, n_largest=12))
    for rule in rules:
        np.testing.assert_array_equal(fast.counts[rule], slow.counts[rule], err_msg=str(rule))
        np.testing.assert_array_equal(fast.ends[rule], slow.ends[rule], err_msg=str(rule))
    np.testing.assert_array_equal(fast.largest, slow.largest)


def test_a_row_whose_sum_meets_its_threshold_within_rounding_is_handed_back(monkeypatch):
    """The kernel adds a band's terms in index order, the released loop from the largest: the two
    sums can differ in the last bit. A threshold set to the sorted sum of 51 terms (so the sorted
    count is 52) is beaten by the kernel's sum already at 51; the row must be handed back."""
    rng = np.random.default_rng(0)
    row = np.concatenate([1.0 + 0.04 * rng.random(50), 0.9 + 0.01 * rng.random(5)])[None]  # two bands
    must = np.cumsum(np.sort(row[0])[::-1])[50]
    k, _, ok, _, _ = compiled.signed_terms(row, np.array([[must]]), 0)
    assert k[0, 0] == 51 and not ok[0]  # its own sums cross one term early: not trusted
    result, y = binary_result(row, -must), np.array([1])
    found = metrics.required_ce(result, y)
    with monkeypatch.context() as patch:
        sorting_only(patch)
        assert metrics.required_ce(result, y)[0] == found[0] == 52
    k, _, ok, _, _ = compiled.signed_terms(row, np.array([[must - 0.45]]), 0)  # far from any sum: answered
    assert ok[0] and k[0, 0] == 51


def test_a_row_that_never_beats_its_threshold_in_sorted_order_is_handed_back(monkeypatch):
    """From the largest, 1 + 2**-53 + 2**-53 + ... stays 1 (each addition rounds back), so the
    row never beats a threshold of 1; the kernel's band of small terms must not say otherwise."""
    row = np.array([[1.0] + [2.0**-53] * 200])
    assert not compiled.signed_terms(row, np.array([[1.0]]), 0)[2][0]
    result, y = binary_result(row, -1.0), np.array([1])
    with monkeypatch.context() as patch:
        sorting_only(patch)
        expected = metrics.required_ce(result, y)
    assert metrics.required_ce(result, y)[0] == expected[0] == required.NEVER_CROSSES


def test_rows_the_kernel_cannot_rank_are_handed_back():
    rows = np.array([[1.0, np.nan, 2.0], [1.0, np.inf, 2.0], [3.0, -1.0, -2.0], [1.0, 2.0, 3.0]])
    k, end, ok, largest, positives = compiled.signed_terms(rows, np.zeros((4, 1)), 2)
    # NaN, infinity, fewer positive terms than the largest kept; the last one is ranked
    assert ok.tolist() == [False, False, False, True]
    assert positives.tolist() == [2, 3, 1, 3]  # counted on every row, handed back or not
    assert k[3, 0] == 1 and end[3, 0] == 3.0 and largest[3].tolist() == [3.0, 2.0]


def test_spearman_kernel_is_numpys_to_the_last_bit(monkeypatch):
    rng = np.random.default_rng(4)
    n, d = 60, 250
    counts = rng.integers(0, 40, size=(n, d)).astype(np.float64)
    values = np.round(rng.normal(size=d) + rng.normal(scale=0.3, size=(n, d)), 2)  # near one order, with ties
    values[3] = 1.5  # constant: NaN
    values[5, 7] = np.nan  # NaN
    counts[9] = 4.0  # constant counts: NaN
    for order in (np.argsort(values[0]), rng.permutation(d)):
        fast, slow = _both(monkeypatch, lambda: metrics.rowwise_spearman(counts, values, a_counts=True, b_order=order))
        np.testing.assert_array_equal(fast, slow)
        assert np.isnan(fast[[3, 5, 9]]).all() and np.isfinite(np.delete(fast, [3, 5, 9])).all()


def test_set_kernels_give_numpys_sets_and_sums():
    rng = np.random.default_rng(5)
    key = np.round(rng.normal(size=(50, 40)), 1)  # ties at many ends
    k = rng.integers(-1, 41, 50)
    end = np.sort(key, axis=1)[:, ::-1][np.arange(50), np.clip(k, 1, 40) - 1]
    expected = required.set_mask(key, k, end)
    np.testing.assert_array_equal(compiled.set_masks(key, k, end, False), expected)
    np.testing.assert_array_equal(compiled.set_masks(key, k, end, True), expected & (key > 0))


@pytest.mark.parametrize("positive", [False, True])
def test_row_built_set_sums_give_numpys(positive):
    """``add_set_sums`` builds each row as ``values_of`` does (source row x weights x sign, rows
    repeated and out of order, two weight rows), reads its set under two readings at once (one
    ranks the CE, one their absolute values; only one keeps positive terms only) and adds its
    counts and sums as numpy's sums over the rows of ``np.where`` do."""
    rng = np.random.default_rng(5)
    source = np.round(rng.normal(size=(30, 40)), 1)
    weights = np.round(rng.normal(size=(2, 40)), 1)  # products tie at many ends
    rows, index = rng.integers(0, 30, 50), rng.integers(0, 2, 50)
    sign = rng.choice([-1.0, 1.0], 50)
    values = source[rows] * weights[index] * sign[:, None]
    keys = [values, np.abs(values)]
    k = rng.integers(-1, 41, (2, 50))
    end = np.stack([np.sort(key, axis=1)[:, ::-1][np.arange(50), np.clip(c, 1, 40) - 1] for key, c in zip(keys, k)])
    only = np.array([positive, False])
    masks = [required.set_mask(key, c, e) & ((key > 0) if p else True) for key, c, e, p in zip(keys, k, end, only)]
    extra = rng.normal(size=(30, 40))
    group = rng.integers(0, 3, 50)
    for whole_rows in (False, True):
        hits, sums = np.zeros((2, 3, 40), dtype=np.int64), np.zeros((2, 2, 3, 40))
        compiled.add_set_sums(source, rows, weights, index, sign, np.array([False, True]), k, end, only, group,
                              hits, sums, whole_rows, True, extra)
        for t, mask in enumerate(masks):
            for g in range(3):
                at = group == g
                np.testing.assert_array_equal(hits[t, g], mask[at].sum(0))
                for total, part in zip(sums[t, :, g], (values[at], extra[rows[at]])):
                    expected = (part if whole_rows else np.where(mask[at], part, 0.0)).sum(0)
                    np.testing.assert_array_equal(total, expected)
        if not whole_rows:  # the second array alone goes first
            alone = np.zeros((2, 1, 3, 40))
            compiled.add_set_sums(source, rows, weights, index, sign, np.array([False, True]), k, end, only, group,
                                  np.zeros((2, 3, 40), dtype=np.int64), alone, False, False, extra)
            np.testing.assert_array_equal(alone[:, 0], sums[:, 1])


def test_groups_summed_by_the_kernel_give_the_numpy_interval(monkeypatch):
    """A class of more TPs than ``INTERVAL_GROUPS``: the kernel sums its random groups as the
    sets are read. The same groups, and an interval that holds its own estimate."""
    rng = np.random.default_rng(6)
    ce, bias = _svm_like(rng, 1500, 120)
    result = binary_result(ce, bias)
    y = (ce.sum(1) + bias > 0).astype(int)
    terms = metrics.required_terms(result, y, k=10, frac=None)["tp"]
    rows = np.flatnonzero(terms.support.cls[terms.rows] == np.bincount(y).argmax())
    assert len(rows) > metrics.INTERVAL_GROUPS
    summed = metrics._summed_groups(terms, metrics.DEFAULT, 10, rows, np.random.default_rng(0))
    read = lambda at: metrics.class_sets(terms, metrics.DEFAULT, 10, rows[at], with_values=True)  # noqa: E731
    grouped = metrics.random_groups(len(rows), terms.support.n_terms, metrics.INTERVAL_GROUPS,
                                    np.random.default_rng(0), read)
    np.testing.assert_array_equal(summed[0], grouped[0])
    np.testing.assert_allclose(summed[1], grouped[1], rtol=1e-12)  # BLAS may add in another order
    fm = metrics.frequency_magnitude(result, y, k=10, terms=terms)
    fast, slow = _both(monkeypatch, lambda: metrics.class_intervals(terms, fm.freq, 200, seed=3))
    assert list(fast[2]) == list(slow[2]) and "ok" in list(fast[2])
    np.testing.assert_allclose(fast[0], slow[0], rtol=1e-12)
    np.testing.assert_allclose(fast[1], slow[1], rtol=1e-12)
    ok = np.array(fast[2]) == "ok"
    assert ((fast[0] <= fm.spearman) & (fm.spearman <= fast[1]))[ok].all()


def test_float32_ce_are_ranked_and_summed_by_numpy(monkeypatch):
    """Stored CE are float32; numpy ranks and sums them in float32, the kernels add in float64,
    so float32 rows never reach a kernel."""
    rng = np.random.default_rng(7)
    ce, bias = _svm_like(rng, 200, 90)
    ce = ce.astype(np.float32)
    result = CEResult(ce, np.float32(bias), ce.copy(), np.ones(ce.shape[1], dtype=np.float32), np.array([0, 1]),
                      ce.sum(1) + np.float32(bias))
    y = (ce.sum(1) + bias > 0).astype(int)
    assert required.kernels_for(np.zeros(2, dtype=np.float32)) is None
    fast, slow = _both(monkeypatch, lambda: (metrics.required_ce(result, y), metrics.class_topk_union(result, y),
                                             metrics.frequency_magnitude(result, y).mag))
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


def test_without_numba_nothing_is_compiled(monkeypatch):
    real = importlib.util.find_spec
    required.compiled_kernels.cache_clear()
    try:
        with monkeypatch.context() as patch:
            patch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a))
            assert required.compiled_kernels() is None
            assert required.kernels_for(np.zeros(2)) is None
    finally:
        required.compiled_kernels.cache_clear()
    assert required.compiled_kernels() is compiled  # numba is in the locked toolchain


def test_warm_loads_every_kernel():
    compiled.warm()
    for kernel in (compiled.signed_terms, compiled.count_value_spearman, compiled.set_masks, compiled.add_set_sums):
        assert kernel.signatures  # compiled (or loaded from numba's cache) for float64 input


@pytest.mark.parametrize("kind", ["binary features", "binary CE", "multi-class features", "multi-class CE"])
def test_rows_built_by_the_kernel_are_values_of_to_the_last_bit(monkeypatch, kind):
    """``values_of`` builds its rows in one compiled pass from ``value_parts``: the same bits
    as numpy's products (rows gathered, times the weights, times the sign), rows of both signs,
    as a slice or as indices in any order; a multi-class result's given CE stay with numpy."""
    rng = np.random.default_rng(7)
    features = rng.normal(size=(40, 25))
    if kind.startswith("binary"):
        weights = rng.normal(size=25)
        result = CEResult(None, 0.3, features, weights, np.array([0, 1]), features @ weights + 0.3)
        if kind == "binary CE":
            result = binary_result(result.ce, 0.3)
    else:
        weights = rng.normal(size=(3, 25))
        result = CEResult(None, np.zeros(3), features, weights, np.arange(3), features @ weights.T)
        if kind == "multi-class CE":
            result = multi_result(result.ce, np.zeros(3))
    y = rng.integers(0, len(result.classes), 40)
    sup = required.supporting(result, y, "all")
    assert (sup.value_parts(np.arange(3)) is None) == (kind == "multi-class CE")
    if result.binary:
        assert len(np.unique(sup.supported)) == 2  # rows of both signs
    for rows in (slice(None), slice(3, 17), np.array([5, 2, 5, 39])):
        fast = sup.values_of(rows)
        with monkeypatch.context() as patch:
            sorting_only(patch)
            np.testing.assert_array_equal(fast, sup.values_of(rows))

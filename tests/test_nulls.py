"""The nulls of claims 7 and 9's CE readings (ceimb_utils.ce.nulls): claim 7 at matched TP counts
and RQ3's per-feature permutation null."""
import numpy as np
import pytest

from ceimb_utils.ce import CEResult, nulls, reference, summaries


def binary_result(ce, bias):
    ce = np.asarray(ce, dtype=float)
    return CEResult(ce, float(bias), ce.copy(), np.ones(ce.shape[1]), np.array([0, 1]), ce.sum(1) + bias)


@pytest.mark.parametrize("n, expected", [(9, []), (10, [10]), (55, [10, 20, 50]),
                                         (2500, [10, 20, 50, 100, 200, 500, 1000, 2000])])
def test_matched_counts(n, expected):
    assert nulls.matched_counts(n) == expected


def _curve(result, y, draws=20, replicates=40, seed=0):
    return summaries.class_curve_table(result, y, draws=draws, replicates=replicates, seed=seed)


def test_curve_null_mean_is_the_expected_union_of_random_sets():
    """With m equal to the class's TPs every draw takes them all: the data's union is their sets'
    union, and the null's mean is E|union of random subsets| = D (1 - prod(1 - k_i / D))."""
    rng = np.random.default_rng(3)
    d, n = 12, 10
    ce = rng.gamma(1.0, 1.0, size=(n, d)) * rng.choice([1.0, -0.3], size=(n, d), p=[0.8, 0.2])
    r = binary_result(ce, -2.0)
    y = np.ones(n, dtype=int)
    k = reference.required_ce_loop(r, y)
    assert (k >= 1).all()
    curve = _curve(r, y, draws=3, replicates=3000)
    assert curve["m"].tolist() == [10] and curve["n_tp_nonzero"].tolist() == [10]
    expected = 100.0 * (1 - np.prod(1 - k / d))
    replicate_sd = 100.0 * np.array([nulls.random_sets(k, d, rng).any(0).sum() for _ in range(3000)]).std() / d
    assert abs(curve["null_mean_pct"].item() - expected) < 4 * replicate_sd / np.sqrt(3000)
    union = 100.0 * reference.class_topk_union_loop(r, y)[1] / d
    assert curve["union_pct"].item() == pytest.approx(union)
    assert curve["null_low_pct"].item() <= curve["null_mean_pct"].item() <= curve["null_high_pct"].item()


def test_curve_tells_shared_features_from_arbitrary_ones_and_leaves_out_k0():
    rng = np.random.default_rng(4)
    n, d = 120, 200
    shared = rng.normal(0, 0.05, (n, d))
    shared[:, :3] = 2 + rng.random((n, 3))  # every TP rests on the same three terms
    arbitrary = rng.normal(0, 0.05, (n, d))
    arbitrary[np.arange(n)[:, None], rng.integers(0, d, (n, 3))] = 2 + rng.random((n, 3))
    arbitrary[:20] = np.abs(rng.normal(0, 0.01, (20, d)))  # nothing opposes: the bias alone decides (k = 0)
    y = np.ones(n, dtype=int)
    inv = _curve(binary_result(shared, -1.0), y).set_index("m")
    arb = _curve(binary_result(arbitrary, 1.0), y).set_index("m")
    assert (inv["union_pct"] < inv["null_low_pct"]).all()  # invariant features: far below random sets
    assert (arb["n_tp_nonzero"] == 100).all() and list(arb.index) == [10, 20, 50, 100]
    assert (arb["union_pct"] >= arb["null_low_pct"] - 1).all()  # arbitrary terms: as random sets
    again = _curve(binary_result(arbitrary, 1.0), y)
    np.testing.assert_array_equal(again["null_mean_pct"], arb["null_mean_pct"])  # seeded


def _loop_sets(values, offset):
    """The default reading's required sets, by the released loop, for rows with given offsets."""
    out = np.zeros(values.shape, dtype=bool)
    for i, (row, off) in enumerate(zip(values, offset)):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        kept, k = 0.0, len(row)
        if off > 0:
            k = 0
        else:
            for j, feature in enumerate(order, start=1):
                kept += max(row[feature], 0.0)
                if kept + off > 0:
                    k = j
                    break
        out[i, order[:k]] = True
    return out


def test_permuted_rows_keep_their_positions_threshold():
    rng = np.random.default_rng(5)
    values = rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0], size=(40, 9))  # ties everywhere
    offset = rng.normal(-2, 1.5, 40)
    np.testing.assert_array_equal(nulls.required_sets(values, offset), _loop_sets(values, offset))


def test_permuting_features_keeps_each_features_values():
    values = np.random.default_rng(6).normal(size=(50, 8))
    shuffled = nulls.permute_features(values, np.random.default_rng(7))
    np.testing.assert_array_equal(np.sort(shuffled, axis=0), np.sort(values, axis=0))  # mag exactly
    assert not (shuffled == values).all(1).any()  # no row keeps its combination


def test_permutation_null_reproduces_a_spearman_the_definitions_imply():
    """Features that differ in weight only, with no structure in the features: Spearman(freq, mag)
    is high, and the per-feature permutation null, which keeps mag, reproduces it."""
    rng = np.random.default_rng(8)
    n, d = 600, 40
    weight = np.linspace(2.0, 0.1, d)
    ce = rng.exponential(1.0, size=(n, d)) * weight
    r = binary_result(ce, -0.6 * ce.sum(1).mean())
    y = r.predicted_index
    _, rho = summaries.frequency_tables(r, y, subsample=200, permutations=19, seed=1)
    row = rho.set_index("class_index").loc[1]
    assert row["spearman"] > 0.8 and row["subsample_n"] == 200
    assert row["perm_null_low"] - 0.1 <= row["subsample_spearman"] <= row["perm_null_high"] + 0.1
    assert row["perm_null_low"] > 0.5 and row["perm_null_permutations"] == 19
    again = summaries.frequency_tables(r, y, subsample=200, permutations=19, seed=1)[1]
    assert again.loc[1, "perm_null_high"] == row["perm_null_high"]  # seeded
    # class 0's three TPs hold no positive supporting term: no Spearman and no null
    assert rho.loc[0, "subsample_n"] == 3 and np.isnan(rho.loc[0, ["subsample_spearman", "perm_null_low"]]).all()


def test_the_union_null_is_calibrated_where_the_sets_are_arbitrary():
    """Where every TP's set is a random set of its size, the data's class level falls under the
    null's 2.5th percentile about 2.5% of the time even where m nears the class's size (a replicate
    keeps each TP's set across the draws, as the data does); where every TP shares one set, always."""
    rng = np.random.default_rng(3)
    below = []
    for _ in range(120):
        arbitrary = nulls.random_sets(rng.integers(1, 4, 60), 30, rng)
        row = nulls.union_curve(arbitrary, draws=20, replicates=40, rng=rng)[-1]  # m = 50 of 60
        below.append(row["union_pct"] < row["null_low_pct"])
    shared = np.zeros((60, 30), dtype=bool)
    shared[:, :2] = True
    row = nulls.union_curve(shared, draws=20, replicates=40, rng=rng)[-1]
    assert np.mean(below) <= 0.08 and row["union_pct"] < row["null_low_pct"]
    assert (nulls.random_sets(np.array([0, 3, 30]), 30, rng).sum(1) == [0, 3, 30]).all()

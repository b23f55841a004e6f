"""Claim 9's latent reading (methods#latent-reading): counted by hand, read where something was
planted and where nothing was, and the same whether rows come whole or in blocks."""
import numpy as np
import pytest

from ceimb_utils.ce import latent
from ceimb_utils.data.planted import feature_maps, generate, latent_features


def test_on_rates_and_magnitudes_by_hand():
    # class 0: feature 0 on in 2 of 4 rows (sizes 2, 4); class 1: on in 1 of 2 rows (size 6)
    F = np.array([[2.0], [0.0], [4.0], [0.0], [6.0], [0.0]])
    y = np.array([0, 0, 0, 0, 1, 1])
    counts = latent.LatentCounts(2, 1)
    counts.add(F, y)
    table = counts.table(unit_free=True).set_index("class_index")
    assert table["n_on"].tolist() == [2, 1] and table["n_off"].tolist() == [2, 1]
    np.testing.assert_allclose(table["p"], [0.5, 0.5])
    np.testing.assert_allclose(table["mu"], [3.0, 6.0])
    np.testing.assert_allclose(table["mu_unit_free"], [3.0 / 4.5, 6.0 / 4.5])  # the unweighted mean over classes
    assert not table["kept"].any()  # fewer than 10 rows on and off


def test_a_tables_off_value_is_its_most_frequent_value_from_5_percent_of_rows():
    rows = 100
    X = np.column_stack([np.r_[np.full(5, 7.0), np.arange(100.0, 195.0)],   # 7 holds exactly 5%: the off value
                         np.r_[np.full(4, 7.0), np.arange(100.0, 196.0)],   # 4%: no off value
                         np.arange(rows, dtype=float)])              # all distinct: none
    off = latent.off_values(X)
    assert off[0] == 7.0 and np.isnan(off[1]) and np.isnan(off[2])
    counts = latent.LatentCounts(1, 3, off)
    counts.add(X, np.zeros(rows, dtype=int))
    table = counts.table()
    assert table.loc[0, "n_off"] == 5 and table.loc[0, "n_on"] == 95 and table.loc[1, "n_on"] == 0


def test_fewer_than_ten_kept_features_are_untestable():
    p, mu = np.linspace(0.1, 0.9, 9), np.linspace(1, 2, 9)
    assert latent.class_status(p, mu, np.ones(9, bool)).status == latent.UNTESTABLE
    p, mu = np.linspace(0.1, 0.9, 30), np.linspace(1, 2, 30)
    reading = latent.class_status(p, mu, np.ones(30, bool))
    assert reading.status == latent.RELATION and reading.rho == pytest.approx(1.0) and reading.null_high < 0.5
    assert latent.class_status(p, mu[::-1], np.ones(30, bool)).status == latent.OPPOSITE


def test_blocks_and_positions_add_up_to_the_whole():
    maps, y = feature_maps("frequency", n_per_class=8, classes=3, channels=12, size=4, seed=1)
    whole = latent.LatentCounts(3, 12)
    whole.add_maps(maps, y)
    blocks = latent.LatentCounts(3, 12)
    for start in range(0, len(y), 5):
        blocks.add_maps(maps[start:start + 5], y[start:start + 5])
    rows = latent.LatentCounts(3, 12)  # every position a row of its own
    flat = maps.transpose(0, 2, 3, 1).reshape(-1, 12)
    rows.add(flat, np.repeat(y, 16))
    for other in (blocks, rows):
        np.testing.assert_array_equal(whole.n_on, other.n_on)
        np.testing.assert_array_equal(whole.n_off, other.n_off)
        np.testing.assert_allclose(whole.size_on, other.size_on)


@pytest.mark.parametrize("law, answer", [("frequency", latent.NO_RELATION), ("frequency_magnitude", latent.RELATION),
                                         ("opposite", latent.OPPOSITE)])
def test_network_like_features_read_what_was_planted(law, answer):
    read = [s for seed in range(3) for s in latent.read_features(*latent_features(law, seed=seed), seed=seed)]
    assert np.mean([s == answer for s in read]) >= 0.8


def test_pooling_makes_the_relation_and_the_pre_pool_reading_does_not():
    maps, y = feature_maps("frequency", seed=0)
    assert np.mean([s == latent.NO_RELATION for s in latent.read_maps(maps, y)]) >= 0.8
    assert all(s == latent.RELATION for s in latent.read_features(maps.mean(axis=(2, 3)), y))


def test_a_relation_one_class_carries_reads_mirrored_in_a_unit_free_table_with_shared_rates():
    X, y = generate("minority_magnitude", 1400, 40, 2, 10.0, 3.0, 0, rates="shared", units=True)
    counts = latent.LatentCounts(2, 40, latent.off_values(X))
    counts.add(X, y)
    statuses = latent.class_table(counts.table(unit_free=True), "mu_unit_free")["status"].tolist()
    assert statuses == [latent.OPPOSITE, latent.RELATION]  # one contrast, either class may carry it

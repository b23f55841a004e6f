"""Imbalance builders and loaders: offline sources, seeded selection, fast clear failures."""
import re
import time

import numpy as np
import pytest

from ceimb_utils import paths
from ceimb_utils.config import ConfigError, load_profile, resolve_dataset
from ceimb_utils.data.images import check_available as image_available
from ceimb_utils.data.images import load_images, load_validation
from ceimb_utils.data.imbalance import exponential_counts, select_per_class, step_counts
from ceimb_utils.data.tabular import DataNotFoundError, load_tabular
from ceimb_utils.data.tabular import check_available as tabular_available


def test_exponential_counts_match_cao_et_al():
    assert exponential_counts(5000, 100, 10) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]


def test_step_counts():
    assert step_counts(2500, 5, 5, 2) == [2500, 2500, 500, 500, 500]
    with pytest.raises(ConfigError, match="n_majority"):
        step_counts(2500, 5, 5, 5)


def test_selection_is_seeded_and_refuses_too_few():
    y = np.repeat(np.arange(3), 10)
    a, b = select_per_class(y, [5, 3, 1], seed=0), select_per_class(y, [5, 3, 1], seed=0)
    np.testing.assert_array_equal(a, b)
    assert np.bincount(y[a]).tolist() == [5, 3, 1]
    assert not np.array_equal(a, select_per_class(y, [5, 3, 1], seed=10))
    with pytest.raises(ConfigError, match="has 10 training images but the configuration asks for 11"):
        select_per_class(y, [11, 1, 1], seed=0)


@pytest.mark.parametrize("name, shape, minority", [("hiva", (3845, 1617), 135), ("sylva", (13086, 216), 805),
                                                   ("coil_2000", (9822, 85), 586)])
def test_offline_tabular_data(name, shape, minority):
    data = load_tabular(name)
    assert data.X.shape == shape and data.y.sum() == minority and set(np.unique(data.y)) == {0, 1}
    assert np.isfinite(data.X).all()


@pytest.mark.parametrize("name", ["ozone_level", "us_crime"])
def test_missing_tabular_fails_fast_with_advice(tmp_path, name):
    started = time.perf_counter()
    with pytest.raises(DataNotFoundError, match=r"not found: expected .*zenodo.*--set allow_download=true"):
        load_tabular(name, data_dir=tmp_path)
    with pytest.raises(DataNotFoundError):
        tabular_available(name, tmp_path)
    assert time.perf_counter() - started < 5  # no network wait


def test_every_missing_data_set_is_named_at_once(tmp_path):
    """A sweep over several absent sets names each (one sentence apiece) before any run, so a
    user fetches them together instead of meeting them one rerun at a time."""
    from ceimb_utils.pipeline import runner
    from ceimb_utils.pipeline.runs import RunPlan

    cfg = load_profile("smoke", {"data_dir": str(tmp_path)})
    with pytest.raises(DataNotFoundError) as err:
        runner.check_data(RunPlan.of(cfg, ["ozone_level", "scene", "places5"]))
    lines = str(err.value).splitlines()
    assert lines[0] == "3 data sets cannot be had:"
    assert [re.match(r"- Data set '([\w-]+)' not found", line).group(1) for line in lines[1:]] == [
        "ozone_level", "scene", "places5"]
    with pytest.raises(DataNotFoundError, match=r"^Data set 'scene' not found"):  # one: its own sentence
        runner.check_data(RunPlan.of(cfg, ["scene"]))


def test_missing_images_fail_fast(tmp_path):
    """Each says where the files go; only what torchvision can fetch is offered a download."""
    for name, hint, download in [("cifar10-lt", "cifar-10-batches-py", True), ("places5", "places5", False),
                                 ("inat5", "inat5", False)]:
        with pytest.raises(DataNotFoundError, match=hint) as err:
            image_available(name, tmp_path)
        assert ("--set allow_download=true" in str(err.value)) is download


def test_fashion_lt_is_long_tailed_with_a_balanced_test_set():
    section = resolve_dataset(load_profile("smoke"), "fashion-lt").section
    data = load_images("fashion-lt", section, seed=0)
    assert data.train_x.shape[1:] == (1, 28, 28) and data.train_x.dtype == np.uint8
    assert data.train_counts.tolist() == exponential_counts(100, 20, 10)
    assert np.bincount(data.test_y).tolist() == [20] * 10
    other = load_images("fashion-lt", section, seed=10)
    np.testing.assert_array_equal(other.test_x, data.test_x)  # the test set does not depend on the seed
    assert not np.array_equal(other.train_x, data.train_x)


FOLDER_SECTION = {"imbalance": "step", "ratio": 2.0, "n_max": 4, "n_majority": 1, "test_per_class": 3,
                  "classes": ["cat", "dog"]}


def write_folder(root):
    """places5 as class folders: 5 training and 3 test images per class; red names the class,
    green the image (training 0 to 40, test 100 to 120)."""
    from PIL import Image

    for split, n in (("train", 5), ("test", 3)):
        for c, name in enumerate(FOLDER_SECTION["classes"]):
            folder = root / "places5" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", (48, 40), (c * 200, i * 10 + (100 if split == "test" else 0), 0)).save(folder / f"{i}.png")


def test_image_folder_dataset(tmp_path):
    section = FOLDER_SECTION
    write_folder(tmp_path)
    data = load_images("places5", section, seed=0, data_dir=tmp_path)
    assert data.train_x.shape == (6, 3, 32, 32) and data.train_counts.tolist() == [4, 2]
    assert data.test_x.shape == (6, 3, 32, 32)
    assert data.train_x[data.train_y == 1, 0].min() == 200  # red channel of the 'dog' images
    with pytest.raises(DataNotFoundError, match="Class folder .*bird is missing"):
        load_images("places5", {**section, "classes": ["cat", "bird"]}, seed=0, data_dir=tmp_path)


def test_validation_split_comes_from_training_images_left_out_or_lent(tmp_path):
    section = FOLDER_SECTION
    write_folder(tmp_path)
    full = load_images("places5", section, seed=0, data_dir=tmp_path)
    data = load_validation("places5", section, seed=0, per_class=2, data_dir=tmp_path)
    assert np.bincount(data.test_y).tolist() == [2, 2]
    # cat kept 4 of its 5 images: one left out, one lent; dog kept 2 of 5: both from the 3 left out
    assert data.train_counts.tolist() == [3, 2]
    for c in (0, 1):
        train = set(data.train_x[data.train_y == c, 1, 0, 0].tolist())
        val = set(data.test_x[data.test_y == c, 1, 0, 0].tolist())
        assert not train & val and max(val) < 100  # disjoint, and never a test image
        assert train <= set(full.train_x[full.train_y == c, 1, 0, 0].tolist())
    with pytest.raises(ConfigError, match="too few training images"):
        load_validation("places5", section, seed=0, per_class=5, data_dir=tmp_path)  # cat would lend all 4


def _leading_number(label: str) -> float:
    """The first number of a band's label ('1 - 10%', 'f 50-99', '20-30'), NaN without one."""
    found = re.search(r"\d+", label)
    return float(found[0]) if found else np.nan


def test_the_ticdata_codes_are_as_the_data_sets_page_says():
    """Ordered bands keep UCI's order (codes = UCI integers up to a constant); only the nominal
    TICDATA_ALPHABETICAL columns list their levels alphabetically (book/datasets.md)."""
    import rdata

    from ceimb_utils.data import tabular

    path = next(p for p in tabular._ticdata_candidates(paths.data_dir()) if p.exists())
    frame = rdata.read_rda(str(path))["ticdata"].drop(columns="CARAVAN")
    factors = {c: list(frame[c].cat.categories) for c in frame.columns if hasattr(frame[c], "cat")}
    alphabetical = {c for c, levels in factors.items() if np.isnan([_leading_number(x) for x in levels]).any()}
    assert alphabetical == set(tabular.TICDATA_ALPHABETICAL)
    for column, levels in factors.items():
        if column in alphabetical:
            assert levels == sorted(levels)
        else:
            assert np.all(np.diff([_leading_number(x) for x in levels]) > 0), column
    assert len(factors["STYPE"]) == 39 and "Mixed seniors" in factors["STYPE"]

"""The authors' own Places and iNaturalist image lists (image.selection: authors), tested on a
tiny folder of images and lists written in their layout."""
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ceimb_utils.config import ConfigError, load_profile, resolve_dataset
from ceimb_utils.data.images import check_lists, list_paths, load_images
from ceimb_utils.errors import DataNotFoundError
from ceimb_utils.pipeline import runner
from ceimb_utils.pipeline.runs import RunPlan

PLACES = ["airfield", "amusement_park", "aquarium", "baseball_field", "barn"]


def _image(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((40, 48, 3), value, dtype=np.uint8)).save(path)


def _places(tmp_path, seed=0, train=(3, 3, 1, 1, 1), test=(2, 2, 2, 2, 2)):
    """Images under tmp/places5/<letter>/<class>/ and the two lists of ``seed``, as they write them."""
    lists = tmp_path / "Hidden_Influence" / "data" / "Places"
    lists.mkdir(parents=True, exist_ok=True)
    for kind, counts in (("trn", train), ("val", test)):
        rows = []
        for c, n in enumerate(counts):
            for i in range(n):
                rel = f"{PLACES[c][0]}/{PLACES[c]}/{kind}{i:08d}.jpg"
                _image(tmp_path / "places5" / rel, 10 * c + i)
                rows.append((rel, c))
        pd.DataFrame(rows, columns=["file", "targets"]).to_csv(lists / f"places_{kind}_{seed}.csv", index=False)


def _section(tmp_path, **extra):
    cfg = load_profile("smoke", {"data_dir": str(tmp_path), "image.selection": "authors", **extra})
    return resolve_dataset(cfg, "places5").section


def test_the_lists_give_their_images_and_labels(tmp_path):
    _places(tmp_path)
    data = load_images("places5", _section(tmp_path), seed=0, data_dir=tmp_path)
    assert data.train_x.shape == (9, 3, 32, 32) and data.test_x.shape == (10, 3, 32, 32)
    assert data.train_counts.tolist() == [3, 3, 1, 1, 1]  # the lists' counts, not n_max and ratio
    assert np.bincount(data.test_y).tolist() == [2] * 5
    assert data.class_names == PLACES
    # the second listed training image of class 1 has value 10 * 1 + 1 in every pixel
    assert int(data.train_x[4, 0, 0, 0]) == 11
    assert "places_*_0.csv" in data.source


def test_a_list_root_elsewhere(tmp_path):
    _places(tmp_path)
    (tmp_path / "places5").rename(tmp_path / "data_256")
    section = _section(tmp_path, **{"image.list_root": str(tmp_path / "data_256")})
    assert load_images("places5", section, seed=0, data_dir=tmp_path).train_x.shape[0] == 9


def test_a_missing_image_is_named_before_any_work(tmp_path):
    _places(tmp_path)
    (tmp_path / "places5" / "a" / "aquarium" / "trn00000000.jpg").unlink()
    with pytest.raises(DataNotFoundError, match=r"1 of the 9 images of places_trn_0.csv .*a/aquarium/trn00000000.jpg"):
        check_lists("places5", _section(tmp_path), [0], tmp_path)


def test_a_missing_list_says_where_to_clone(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"places_trn_10.csv is missing; clone https://github.com/Anon-git-site"):
        check_lists("places5", _section(tmp_path), [10], tmp_path)


def test_a_list_that_is_not_one_is_refused(tmp_path):
    _places(tmp_path)
    train, _ = list_paths("places5", tmp_path, 0)
    train.write_text("file,targets\na/airfield/x.jpg,7\n")
    with pytest.raises(ValueError, match="class index below 5"):
        check_lists("places5", _section(tmp_path), [0], tmp_path)


def test_only_places_and_inaturalist_have_lists(tmp_path):
    with pytest.raises(ConfigError, match="places5 and inat5 only, not 'cifar10-lt'"):
        list_paths("cifar10-lt", tmp_path, 0)


def test_the_runner_checks_every_seed_before_any_work(tmp_path):
    _places(tmp_path, seed=0, train=(3, 3, 2, 2, 2))
    cfg = load_profile("smoke", {"data_dir": str(tmp_path), "image.selection": "authors", "image.seeds": [0, 10]})
    with pytest.raises(DataNotFoundError, match="places_trn_10.csv is missing"):
        runner.check_data(RunPlan.of(cfg, ["places5"]))
    one_seed = RunPlan.of(load_profile("smoke", {"data_dir": str(tmp_path), "image.selection": "authors"}), ["places5"])
    (counts,) = runner.check_data(one_seed)["places5"].values()  # the lists' counts, planned before any run
    assert (counts.train, counts.test) == ((3, 3, 2, 2, 2), (2,) * 5)
    _places(tmp_path, seed=0)  # classes of one training image: nothing to interpolate between
    with pytest.raises(ConfigError, match="class 'aquarium' has 1 training image"):
        runner.check_data(one_seed)


def test_the_authors_profile_reads_their_lists_for_places_and_inaturalist():
    cfg = load_profile("authors")
    assert resolve_dataset(cfg, "places5")["selection"] == "authors"
    assert resolve_dataset(cfg, "inat5")["selection"] == "authors"
    assert resolve_dataset(cfg, "cifar10-lt")["selection"] == "ldam"

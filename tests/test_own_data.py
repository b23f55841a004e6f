"""A user's own data sets and networks, declared in a profile file (methods#data): each kind of
entry runs, and each bad entry is refused with one sentence before any work."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from ceimb_utils import config, datasets, paths
from ceimb_utils.config import ConfigError, load_profile, resolve_dataset
from ceimb_utils.data.images import load_images
from ceimb_utils.data.tabular import load_tabular
from ceimb_utils.errors import DataNotFoundError
from ceimb_utils.models.resnet import build_resnet
from ceimb_utils.pipeline import image_runs, runner, tabular_runs
from ceimb_utils.pipeline.runs import RunPlan, run_configs
from ceimb_utils.pipeline.study import load_study

TABULAR = {"tabular": {"models": ["lg"], "methods": ["base", "smote"], "interventions": [], "splits": 1}}
IMAGE = {"image": {"methods": ["base"], "interventions": [], "seeds": [0], "epochs": 1}}


def profile_file(folder: Path, data_sets: dict, **keys) -> Path:
    path = folder / "mine.yaml"
    path.write_text(yaml.safe_dump({"extends": "smoke", "datasets": list(data_sets), "data_sets": data_sets, **keys}))
    return path


def table(folder: Path, n: int = 120, minority: int = 12, name: str = "mine.csv") -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["colour"] = rng.choice(["red", "green"], n)  # a non-numeric feature: one-hot encoded
    frame["label"] = ["rare" if i < minority else "common" for i in range(n)]
    frame.loc[: minority - 1, "a"] += 3  # the minority is learnable
    path = folder / name
    frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
    return path


def image_tree(root: Path, classes=("cat", "dog", "owl"), per_class=(14, 8, 5), split: bool = True) -> Path:
    rng = np.random.default_rng(0)
    for c, (name, n) in enumerate(zip(classes, per_class)):
        parts = (("train", n), ("test", 4)) if split else (("", n),)
        for part, count in parts:
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = np.clip(rng.normal(60 * c + 40, 20, (12, 12, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def test_a_csv_of_ones_own_runs_every_stage_with_paths_from_the_files_folder(tmp_path, monkeypatch, isolated_results):
    mine = tmp_path / "project"
    mine.mkdir()
    table(mine)
    path = profile_file(mine, {"my-csv": {"file": "mine.csv", "target": "label", "minority": "rare"}}, **TABULAR)
    monkeypatch.chdir(tmp_path)  # the profile is named from here, its CSV from its own folder
    cfg = load_profile("project/mine.yaml")
    assert cfg["profile"] == str(path) and cfg["data_sets"]["my-csv"]["file"] == str(mine / "mine.csv")
    data = load_tabular("my-csv")
    assert data.X.shape == (120, 6) and data.y.sum() == 12 and data.y[:12].all()  # 4 + one-hot colour
    runner.run("project/mine.yaml", notebooks=False)
    study = load_study("my-csv", str(path), compute=False)
    assert sorted(study.runs["method"]) == ["base", "smote"] and study.kind == "tabular"
    assert (study.runs["balanced_accuracy"] > 0.5).all()
    # the file's checksum is in the run key: a changed file is a new run
    before = {rc["source"]["sha256"] for rc in run_configs(resolve_dataset(cfg, "my-csv"))}
    table(mine, n=130)
    assert {rc["source"]["sha256"] for rc in run_configs(resolve_dataset(load_profile(str(path)), "my-csv"))} != before


def test_a_parquet_file_and_the_rarer_value_as_default_minority(tmp_path):
    table(tmp_path, name="mine.parquet")
    load_profile(str(profile_file(tmp_path, {"my-pq": {"file": "mine.parquet", "target": "label"}})))
    data = load_tabular("my-pq")
    assert data.y.sum() == 12 and data.X.shape[0] == 120


def test_an_imbalanced_learn_name_from_a_local_data_home(tmp_path):
    home = tmp_path / "home"
    (home / "zenodo").mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.where(np.arange(50) < 5, 1, -1)  # imbalanced-learn's files: 1 = minority, -1 = the rest
    np.savez(home / "zenodo" / "x1data.npz", data=rng.normal(size=(50, 7)), label=labels)  # id 1: ecoli
    load_profile(str(profile_file(tmp_path, {"my-ecoli": {"imblearn": "ecoli", "data_home": "home"}})))
    data = load_tabular("my-ecoli")
    assert data.X.shape == (50, 7) and data.y.tolist() == (labels == 1).astype(int).tolist()
    load_profile(str(profile_file(tmp_path, {"my-abalone": {"imblearn": "abalone", "data_home": "home"}})))
    with pytest.raises(DataNotFoundError, match="'abalone' is not in .*zenodo.*fetch_datasets"):
        runner.check_data(RunPlan.of(load_profile(str(tmp_path / "mine.yaml")), ["my-abalone"]))


def test_one_image_tree_is_cut_into_training_and_test_images_by_a_seeded_split(tmp_path):
    image_tree(tmp_path / "pets", per_class=(20, 12, 12), split=False)
    entry = {"folder": "pets", "classes": ["cat", "dog", "owl"], "test_share": 0.25, "imbalance": "exponential",
             "ratio": 3, "n_max": 15, "test_per_class": 3}
    cfg = load_profile(str(profile_file(tmp_path, {"pets": entry}, **IMAGE)))
    section = config.resolve_dataset(cfg, "pets").section
    first, second = (load_images("pets", section, seed) for seed in (0, 10))
    assert first.class_names == ["cat", "dog", "owl"] and first.train_counts.tolist() == [15, 8, 5]
    assert first.train_x.shape[1:] == (3, 32, 32)
    np.testing.assert_array_equal(first.test_x, second.test_x)  # the same test images for every seed
    assert np.bincount(first.test_y).tolist() == [3, 3, 3]


def test_an_image_folder_of_ones_own_trains_and_is_analysed(tmp_path, isolated_results):
    image_tree(tmp_path / "pets")
    entry = {"folder": "pets", "imbalance": "exponential", "ratio": 2.5, "n_max": 12, "test_per_class": 4,
             "arch": "resnet8", "title": "Pets"}
    path = profile_file(tmp_path, {"pets": entry}, **IMAGE)
    runner.run(str(path), notebooks=False)
    study = load_study("pets", str(path), compute=False)
    assert study.runs["method"].tolist() == ["base"] and study.kind == "image"
    assert study.classes["class"].tolist() == ["cat", "dog", "owl"]  # folder names, sorted
    assert study.classes["n_train"].tolist() == [12, 7, 4]


def test_a_torchvision_class_made_long_tailed(tmp_path):
    fake = {"num_classes": 4, "image_size": [3, 32, 32]}
    entry = {"torchvision": "FakeData", "train_args": {"size": 120, "random_offset": 0, **fake},
             "test_args": {"size": 40, "random_offset": 1000, **fake}, "imbalance": "exponential", "ratio": 4,
             "n_max": 20, "test_per_class": 5}
    cfg = load_profile(str(profile_file(tmp_path, {"fake-lt": entry}, **IMAGE)))
    runner.check_data(RunPlan.of(cfg, ["fake-lt"]))
    data = load_images("fake-lt", config.resolve_dataset(cfg, "fake-lt").section, 0)
    assert data.train_counts.tolist() == [20, 12, 7, 5] and data.class_names == ["0", "1", "2", "3"]
    assert data.train_x.dtype == np.uint8 and data.train_x.shape[1:] == (3, 32, 32)


def test_a_folder_of_ones_own_state_dicts_is_evaluated_never_trained(tmp_path, monkeypatch, isolated_results):
    image_tree(tmp_path / "pets")
    nets = tmp_path / "nets"
    nets.mkdir()
    for method, seed in (("base", 0), ("eos", 0), ("base", 10)):
        torch.save(build_resnet("resnet8", 3, 3, seed=seed + len(method)).state_dict(), nets / f"{method}_{seed}.pt")
    (nets / "notes.txt").write_text("not a network")
    entry = {"folder": "pets", "imbalance": "exponential", "ratio": 2.5, "n_max": 12, "test_per_class": 4, "arch": "resnet8"}
    path = profile_file(tmp_path, {"pets": entry}, image={"methods": ["base", "eos"], "interventions": [],
                                                          "seeds": [0], "checkpoints": "nets"})
    monkeypatch.setattr(image_runs, "train_network", _no_training)
    monkeypatch.setattr(image_runs, "train_head", _no_training)
    runner.run(str(path), notebooks=False)
    study = load_study("pets", str(path), compute=False)
    assert sorted(zip(study.runs["method"], study.runs["repeat"])) == [("base", 0), ("eos", 0)]
    assert study.runs["model_selection"].str.contains("how it was chosen is its trainer's").all()
    assert study.cached[0].config["checkpoint"]["layout"] == "ours"


def _no_training(*args, **kwargs):
    raise AssertionError("a network brought from a file must not be trained")


def _bad_entries(tmp_path: Path) -> list:
    table(tmp_path)
    one_class = tmp_path / "one.csv"
    pd.DataFrame({"a": [1.0, 2.0], "label": ["x", "x"]}).to_csv(one_class, index=False)
    gaps = tmp_path / "gaps.csv"
    pd.DataFrame({"a": [1.0, None, 3.0], "label": ["x", "y", "y"]}).to_csv(gaps, index=False)
    shutil.rmtree(image_tree(tmp_path / "no-test") / "test")
    image_tree(tmp_path / "empty-class", split=False)
    (tmp_path / "empty-class" / "eel").mkdir()
    image_tree(tmp_path / "pets")
    wrong = tmp_path / "wrong-nets"
    wrong.mkdir()
    torch.save(build_resnet("resnet14", 3, 3).state_dict(), wrong / "base_0.pt")
    image_tree(tmp_path / "lonely", classes=("cat", "dog"), per_class=(6, 1))
    rare = tmp_path / "rare.csv"
    pd.DataFrame({"a": np.arange(40.0), "label": ["y"] * 2 + ["n"] * 38}).to_csv(rare, index=False)
    pets = {"folder": "pets", "imbalance": "exponential", "ratio": 2.5, "n_max": 12, "test_per_class": 4, "arch": "resnet8"}
    return [
        ({"x": {"file": "absent.csv", "target": "label"}}, {}, ConfigError, r"absent.csv does not exist\.$"),
        ({"x": {"file": "mine.csv", "target": "y"}}, {}, ConfigError, "has no column 'y'; its columns are a, b"),
        ({"x": {"file": "one.csv", "target": "label"}}, {}, ConfigError, "has one class"),
        ({"x": {"file": "mine.csv", "target": "label", "minority": "absent"}}, {}, ConfigError, "no row of mine.csv has"),
        ({"x": {"file": "gaps.csv", "target": "label"}}, {}, ConfigError, "column 'a' of gaps.csv has 1 missing"),
        ({"x": {"file": "mine.csv"}}, {}, ConfigError, "needs target"),
        ({"x": {"file": "mine.csv", "target": "label", "colour": 1}}, {}, ConfigError, "Unknown key 'colour'"),
        ({"x": {"file": "mine.csv", "folder": "pets"}}, {}, ConfigError, "exactly one source"),
        ({"x": {"kind": "image", "file": "mine.csv", "target": "label"}}, {}, ConfigError, "is a tabular data set"),
        ({"sylva": {"file": "mine.csv", "target": "label"}}, {}, ConfigError, "'sylva' is a built-in data set"),
        ({"x": {"folder": "no-test"}}, IMAGE, DataNotFoundError, "has train/ but no test/"),
        ({"x": {"folder": "empty-class"}}, IMAGE, DataNotFoundError, "class 'eel' has 0 image"),
        ({"x": {"folder": "absent"}}, IMAGE, ConfigError, "is not a folder"),
        ({"x": {"torchvision": "NoSuchData"}}, IMAGE, ConfigError, "torchvision.datasets has no class 'NoSuchData'"),
        ({"x": {"torchvision": "CIFAR100", "root": "absent"}}, IMAGE, DataNotFoundError, "CIFAR100 is not under"),
        ({"x": pets}, {"image": {**IMAGE["image"], "checkpoints": "wrong-nets"}}, ConfigError,
         "base_0.pt does not fit a resnet8 with 3 classes and 3 channels"),
        ({"x": pets}, {"image": {**IMAGE["image"], "checkpoints": "pets"}}, ConfigError, "No file in .*pets has a name"),
        ({"x": {**pets, "epochs": "many"}}, IMAGE, ConfigError, "'image.epochs' must be of type int"),
        ({"x": {**pets, "checkpoint_layout": "LDAM"}}, IMAGE, ConfigError, "Unknown value 'LDAM' for 'image.checkpoint_layout'"),
        # a folder as it is, or re-imbalanced by its own entry only (methods#own-data)
        ({"x": {"folder": "pets", "ratio": 2}}, IMAGE, ConfigError,
         r"'x' is used as it is \(imbalance: none\), and ratio applies only to re-imbalancing"),
        ({"x": {"folder": "pets", "imbalance": "exponential", "ratio": 2}}, IMAGE, ConfigError,
         r"'x' is re-imbalanced \(exponential\) and needs n_max in its entry"),
        ({"x": {"folder": "pets", "imbalance": "exponential", "ratio": 2, "n_max": 20}}, IMAGE, ConfigError,
         "'x' cannot supply what is asked: class 'cat' has 14 training images but the configuration asks for 20"),
        ({"x": {"folder": "pets", "classes": ["cat", "zebra"]}}, IMAGE, DataNotFoundError, "Class folder .*zebra is missing"),
        ({"x": {"folder": "lonely"}}, IMAGE, ConfigError, r"class 'dog' has 1 training image\(s\), and a class needs at least 2"),
        ({"x": {"file": "rare.csv", "target": "label"}}, {}, ConfigError,
         r"'x' has 2 row\(s\) of class 1; a stratified split needs at least 2 training rows and 1 test row"),
        ({"x": {"file": "mine.csv", "target": "label", "max_rows": 0}}, {}, ConfigError, "max_rows must be a positive integer"),
        ({"x": {"file": "mine.csv", "target": "label", "imbalance": "step"}}, {}, ConfigError, "Unknown key 'imbalance'"),
    ]


def test_data_sets_must_be_a_mapping(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: smoke\ndata_sets: [a, b]\n")
    with pytest.raises(ConfigError, match="'data_sets' in profile file .* must map names"):
        load_profile(str(path))


def test_what_a_run_key_holds_of_an_image_tree(tmp_path):
    image_tree(tmp_path / "pets")
    entry = {"folder": "pets", "imbalance": "exponential", "ratio": 2.5, "n_max": 12, "test_per_class": 4, "arch": "resnet8", "title": "Pets"}
    path = profile_file(tmp_path, {"pets": entry}, **IMAGE)
    key = lambda: run_configs(resolve_dataset(load_profile(str(path)), "pets"))[0]["source"]  # noqa: E731
    before = key()
    profile_file(tmp_path, {"pets": {**entry, "title": "Pets, renamed"}}, **IMAGE)
    assert key() == before  # a new title retrains nothing
    Image.fromarray(np.zeros((12, 12, 3), dtype=np.uint8)).save(tmp_path / "pets" / "train" / "cat" / "new.png")
    assert key() != before  # a new image is a new run
    cfg = load_profile(str(path), {"dataset_overrides.pets.epochs": 3})  # the command line over the entry
    assert config.resolve_dataset(cfg, "pets")["epochs"] == 3


@pytest.mark.parametrize("case", range(27))
def test_every_bad_entry_is_refused_before_any_work(case, tmp_path, isolated_results):
    entries, keys, error, match = _bad_entries(tmp_path)[case]
    with pytest.raises(error, match=match):
        runner.run(str(profile_file(tmp_path, entries, **keys)), notebooks=False)
    assert not isolated_results.exists()  # nothing was written


def test_the_worked_example_without_its_files_says_how_to_write_them(tmp_path, monkeypatch):
    """README and the own-data page run examples/own-data.yaml; under another data directory its
    files are absent, and the refusal names the command that writes them."""
    monkeypatch.setenv("CEIMB_DATA", str(tmp_path / "data"))
    with pytest.raises(ConfigError, match=r"breast-cancer-lt.csv does not exist; `python -m ceimb_utils examples` "
                                          r"writes the worked example's data sets"):
        load_profile(str(paths.ROOT / "examples" / "own-data.yaml"))


def test_a_profile_file_that_is_not_a_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="Profile file .*absent.yaml does not exist"):
        load_profile("absent.yaml")
    (tmp_path / "mine.yaml").write_text("extends: nosuch\n")
    with pytest.raises(ConfigError, match="'extends: nosuch' in .*mine.yaml names no built-in profile; choose one of"):
        load_profile("mine.yaml")
    (tmp_path / "mine.yaml").write_text("extends: smoke\nimage: {epochs: many}\n")
    with pytest.raises(ConfigError, match="'image.epochs' must be of type int"):
        load_profile("mine.yaml")


def test_a_run_in_another_process_knows_the_users_data_set_from_its_config(tmp_path):
    table(tmp_path)
    cfg = load_profile(str(profile_file(tmp_path, {"my-csv": {"file": "mine.csv", "target": "label"}}, **TABULAR)))
    rc = run_configs(resolve_dataset(cfg, "my-csv"))[0]
    del datasets.DATASETS["my-csv"]  # as in a fresh worker process
    datasets.register_source(rc["dataset"], rc["source"])
    assert datasets.dataset_spec("my-csv").entry["file"] == str(tmp_path / "mine.csv")
    assert tabular_runs.load_tabular("my-csv").y.sum() == 12


def test_papermill_takes_the_profile_file_relative_to_the_working_directory(tmp_path, monkeypatch):
    import papermill

    table(tmp_path)
    profile_file(tmp_path, {"my-csv": {"file": "mine.csv", "target": "label"}}, **TABULAR)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.ipynb"
    papermill.execute_notebook(str(Path(config.paths.NOTEBOOKS) / "rq1-required-ce.ipynb"), str(out),
                               parameters={"dataset": "my-csv", "profile": "mine.yaml"}, kernel_name="python3",
                               progress_bar=False, cwd=os.getcwd())
    text = out.read_text()
    assert "my-csv" in text and '"output_type": "error"' not in text


# ---------------------------------------------------------------- your data as it is (methods#own-data)
NATURAL = {"truck": 400, "ship": 200, "frog": 100, "deer": 40}  # a naturally imbalanced folder


def jpeg_tree(root: Path, train: dict, test: int) -> Path:
    """An ImageFolder of tiny random JPEGs: train/<class>/ and test/<class>/."""
    rng = np.random.default_rng(0)
    for c, (name, n) in enumerate(train.items()):
        for part, count in (("train", n), ("test", test)):
            folder = root / part / name
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = np.clip(rng.normal(50 * c + 30, 25, (8, 8, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    return root


def churn_csv(path: Path, n: int = 3200, minority: int = 320) -> Path:
    """A table longer than the quick profile's row cap, with a string target and a string column."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["usage", "tenure", "calls"])
    frame["plan"] = rng.choice(["basic", "plus", "pro"], n)
    frame["churned"] = np.where(np.arange(n) < minority, "yes", "no")
    frame.loc[: minority - 1, "calls"] += 2
    frame.to_csv(path, index=False)
    return path


def imblearn_home(home: Path, n: int = 200, minority: int = 20) -> Path:
    """A data home in the layout imbalanced-learn's fetch_datasets reads offline (zenodo/x<id>data.npz)."""
    (home / "zenodo").mkdir(parents=True)
    rng = np.random.default_rng(2)
    labels = np.where(np.arange(n) < minority, 1, -1)
    np.savez(home / "zenodo" / "x1data.npz", data=rng.normal(size=(n, 7)) + (labels == 1)[:, None], label=labels)  # ecoli
    return home


def test_your_own_data_runs_as_it_is_with_its_own_class_counts(tmp_path, capsys, isolated_results):
    """A profile extending quick, with a naturally imbalanced JPEG folder, a CSV and an
    imbalanced-learn set, and no imbalance key: every image and row is used, the quick profile's
    n_max, test_per_class and max_rows never reach them, and the plan says the counts first."""
    from ceimb_utils.__main__ import main
    from ceimb_utils.report.reports import describe

    jpeg_tree(tmp_path / "photos", NATURAL, test=100)
    churn_csv(tmp_path / "churn.csv")
    imblearn_home(tmp_path / "home")
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({
        "extends": "quick", "datasets": ["photos", "churn", "ecoli"], "jobs": 1,
        "metrics": {"resamples": 50},
        "tabular": {"splits": 1, "models": ["lg"], "methods": ["base", "smote"], "interventions": []},
        "image": {"seeds": [0], "methods": ["base", "dsm"], "interventions": [], "head_epochs": 2},
        "data_sets": {"photos": {"folder": "photos", "classes": list(NATURAL)},
                      "churn": {"file": "churn.csv", "target": "churned"},
                      "ecoli": {"imblearn": "ecoli", "data_home": "home"}}}))
    assert main(["run", "--profile", str(path), "--set", "image.epochs=1", "--no-notebooks"]) == 0
    plan = [line for line in capsys.readouterr().out.splitlines() if line.startswith("plan: ")]
    assert plan == [
        "plan: photos: 1 seed, the images as they are; training / test images per class: "
        "truck: 400 / 100, ship: 200 / 100, frog: 100 / 100, deer: 40 / 100",
        "plan: churn: 1 split; training / test rows per class: 0: 2016 / 864, 1: 224 / 96",
        "plan: ecoli: 1 split; training / test rows per class: 0: 126 / 54, 1: 14 / 6"]
    expected = {"photos": ([400, 200, 100, 40], [100] * 4), "churn": ([2016, 224], [864, 96]),
                "ecoli": ([126, 14], [54, 6])}
    for name, (train, test) in expected.items():
        study = load_study(name, str(path), {"image.epochs": 1}, compute=False)
        assert [run.record["train_counts"] for run in study.cached] == [train] * 2  # base and the over-sampled
        assert [run.record["test_counts"] for run in study.cached] == [test] * 2
        assert describe(study).loc["training instances per class"].item() == ", ".join(map(str, train))
        assert describe(study).loc["test instances per class"].item() == ", ".join(map(str, test))
    data = load_study("photos", str(path), {"image.epochs": 1}, compute=False).cached[0].config["data"]
    assert (data["imbalance"], data["n_max"], data["ratio"], data["test_per_class"]) == ("none", None, None, None)
    assert load_study("churn", str(path), compute=False).cached[0].config["data"]["max_rows"] is None


def test_a_folder_that_cannot_supply_what_is_asked_is_refused_before_any_run(tmp_path, capsys, monkeypatch,
                                                                             isolated_results):
    from ceimb_utils import paths
    from ceimb_utils.__main__ import main

    monkeypatch.setattr(paths, "BOOK_RESULTS", tmp_path / "book")
    jpeg_tree(tmp_path / "photos", {"truck": 40, "ship": 20, "frog": 10, "deer": 4}, test=10)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"extends": "quick", "datasets": ["photos"], "data_sets": {
        "photos": {"folder": "photos", "classes": ["truck", "ship", "frog", "deer"], "imbalance": "exponential",
                   "ratio": 10, "n_max": 1000}}}))
    assert main(["run", "--profile", str(path), "--no-notebooks"]) == 2
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        "error: Data set 'photos' cannot supply what is asked: class 'truck' has 40 training images but the "
        "configuration asks for 1000; lower n_max, add images, or use the data as they are (imbalance: none)."]
    assert "plan: " not in out.out
    assert not isolated_results.exists() and not (tmp_path / "book").exists()  # no cache entry, no notebook


def test_a_small_minority_lowers_smotes_k_and_the_run_says_so(tmp_path, capsys, isolated_results):
    from ceimb_utils.report.reports import describe

    small = tmp_path / "small.csv"
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["label"] = ["rare"] * 6 + ["common"] * 54
    frame.loc[:5, "a"] += 3
    frame.to_csv(small, index=False)
    path = profile_file(tmp_path, {"small": {"file": "small.csv", "target": "label"}}, **TABULAR)
    runner.run(str(path), notebooks=False)
    study = load_study("small", str(path), compute=False)
    smote = next(run.record for run in study.cached if run.config["method"] == "smote")
    k = smote["train_counts"][1] - 1
    assert k < 5 and smote["neighbours"] == {"method": "smote", "k": 5, "lowered": {"1": k}}
    assert f"plan: small: SMOTE uses k = {k} for class 1 (its training rows minus one), not 5" in capsys.readouterr().out
    assert describe(study).loc["neighbours of over-sampling"].item() == (
        f"SMOTE: k = {k} for class 1 (its training instances minus one), not 5")


def test_dsm_lowers_k_for_a_class_with_few_instances():
    from ceimb_utils.models.latent_oversampling import dsm

    rng = np.random.default_rng(4)
    labels = np.repeat([0, 1, 2], [20, 8, 3])
    aug = dsm(rng.normal(size=(31, 4)) + labels[:, None], labels, 5, seed=0, class_names=["a", "b", "c"])
    assert aug.k_lowered == {"c": 2}  # its 3 instances minus one; b's 8 leave k = 5
    assert np.bincount(aug.labels).tolist() == [20, 20, 20]


def test_the_profiles_image_counts_reach_a_torchvision_class_but_not_a_folder(tmp_path):
    image_tree(tmp_path / "pets")
    fake = {"torchvision": "FakeData", "train_args": {"size": 40, "num_classes": 2}}
    cfg = load_profile(str(profile_file(tmp_path, {"pets": {"folder": "pets"}, "fake": fake,
                                                    "fake-as-is": {**fake, "imbalance": "none"}}, extends="quick")))
    counts = ("imbalance", "ratio", "n_max", "test_per_class")
    assert [resolve_dataset(cfg, "pets")[k] for k in counts] == ["none", None, None, None]
    assert [resolve_dataset(cfg, "fake")[k] for k in counts] == ["exponential", 100.0, 6000, 300]  # quick's
    assert [resolve_dataset(cfg, "fake-as-is")[k] for k in counts] == ["none", None, None, None]
    over = load_profile(str(tmp_path / "mine.yaml"), {"dataset_overrides.pets.test_per_class": 3})
    assert resolve_dataset(over, "pets")["test_per_class"] == 3  # the user's own setting for the data set

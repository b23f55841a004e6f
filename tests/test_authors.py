"""The authors' published networks: names, conversion, the selection they trained on, and a
sweep of the `authors` profile on a fake clone (no real file of theirs is needed)."""
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from ceimb_utils import paths
from ceimb_utils.config import ConfigError
from ceimb_utils.data import imbalance
from ceimb_utils.models import authors
from ceimb_utils.models.resnet import build_resnet


def their_layout(model, blocks_per_stage: int) -> dict:
    """Our state dict renamed into the LDAM-DRW layout the authors' files use."""
    out = {}
    for key, value in model.state_dict().items():
        if key in ("mean", "std"):
            continue
        match = re.match(r"^layers\.(\d+)\.(.*)$", key)
        if match:
            j = int(match[1])
            key = f"layer{j // blocks_per_stage + 1}.{j % blocks_per_stage}.{match[2]}"
        out[re.sub(r"^fc\.", "linear.", key)] = value.clone()
    return out


@pytest.mark.parametrize("name, method, seed, epoch", [
    ("no_augcifar10_mod_133_0 (1).pth", "base", 0, 133), ("cifar10_rem_mod_162_10.pth", "remix", 10, 162),
    ("EOS_100_best.pth", "eos", 100, None), ("DSM_0_best.pth", "dsm", 0, None),
    ("_aug_Plc_mod_25_0.pth", "base", 0, 25), ("_rem_Plc_mod_38_0.pth", "remix", 0, 38),
    ("rem_INat_mod_27_100.pth", "remix", 100, 27), ("plc_EOS_10_comb.pth", "eos", 10, None),
    ("inat_DSM_100_comb.pth", "dsm", 100, None),
])
def test_file_names(name, method, seed, epoch):
    ckpt = authors.parse_name(Path(name))
    assert (ckpt.method, ckpt.seed, ckpt.epoch) == (method, seed, epoch)
    assert "best test epoch" in ckpt.selection


@pytest.mark.parametrize("name", ["ROS_aug_INat_mod_32_0.pth", "_ros_aug_Plc_mod_14_0.pth", "ros_cifar10_mod_119_100.pth"])
def test_random_oversampling_files_are_not_read(name):
    assert authors.parse_name(Path(name)) is None


def test_their_layout_gives_identical_logits():
    ours = build_resnet("resnet32", 10, 3, authors.MEAN, authors.STD, seed=3).eval()
    converted = authors.convert(their_layout(ours, 5), "resnet32", 10)
    x = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(converted(x), ours(x))
    assert torch.allclose(converted.mean.flatten(), torch.tensor(authors.MEAN))


def test_a_file_that_does_not_fit_gets_one_sentence():
    state = their_layout(build_resnet("resnet32", 10, 3), 5)
    wrong = dict(state, **{"linear.weight": torch.zeros(5, 64)})
    with pytest.raises(ConfigError, match=r"'fc.weight' has shape \(5, 64\) where the network needs \(10, 64\)"):
        authors.convert(wrong, "resnet32", 10, "EOS_0_best.pth")
    missing = {k: v for k, v in state.items() if k != "layer3.4.bn2.weight"}
    with pytest.raises(ConfigError, match="no tensor for 'layers.14.bn2.weight'"):
        authors.convert(missing, "resnet32", 10)
    deeper = their_layout(build_resnet("resnet56", 10, 3), 9)
    with pytest.raises(ConfigError, match="it has a tensor 'layer3.5.conv1.weight'.*deeper ResNet"):
        authors.convert(deeper, "resnet32", 10)


def test_ldam_selection_is_cao_et_al_s():
    y = np.repeat(np.arange(4), 50)
    counts = imbalance.exponential_counts(50, 10, 4)
    np.random.seed(10)  # IMBALANCECIFAR10(rand_number=10), written out
    expected = []
    for c, n in enumerate(counts):
        idx = np.where(y == c)[0]
        np.random.shuffle(idx)
        expected.append(idx[:n])
    np.testing.assert_array_equal(imbalance.ldam_selection(y, counts, 10), np.concatenate(expected))


LISTED = [12, 12, 3, 3, 3]  # training images per class in the fake lists


def fake_places(data_dir: Path, seeds=(0, 10)) -> None:
    """Five tiny image classes and ResNet-56 checkpoints named as the authors name them."""
    rng = np.random.default_rng(0)
    classes = ["airfield", "amusement_park", "aquarium", "baseball_field", "barn"]
    for split, n in (("train", 12), ("test", 4)):
        for c, name in enumerate(classes):
            folder = data_dir / "places5" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(40 * c, 30, (32, 32, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    lists = data_dir / paths.AUTHORS_CLONE / "data" / "Places"  # their lists: paths from <data>/places5
    lists.mkdir(parents=True)
    for seed in seeds:
        train = [(f"train/{name}/{i}.png", c) for c, name in enumerate(classes) for i in range(LISTED[c])]
        test = [(f"test/{name}/{i}.png", c) for c, name in enumerate(classes) for i in range(4)]
        for kind, rows in (("trn", train), ("val", test)):
            pd.DataFrame(rows, columns=["file", "targets"]).to_csv(lists / f"places_{kind}_{seed}.csv", index=False)
    models = data_dir / paths.AUTHORS_CLONE / "models" / "places"
    models.mkdir(parents=True)
    for seed in seeds:
        for method, name in (("base", f"_aug_Plc_mod_25_{seed}.pth"), ("eos", f"plc_EOS_{seed}_comb.pth")):
            net = build_resnet("resnet56", 5, 3, seed=seed + len(method))
            torch.save(their_layout(net, 9), models / name)
    torch.save({}, models / "_ros_aug_Plc_mod_14_0.pth")  # random over-sampling: not read


SMALL = {"image.n_max": 12, "image.ratio": 3.0, "image.test_per_class": 4, "image.seeds": [0, 10],
         "image.methods": ["base", "eos"], "metrics.resamples": 20}


def test_authors_profile_evaluates_published_networks(tmp_path, isolated_results):
    from ceimb_utils.pipeline import runner
    from ceimb_utils.pipeline.study import load_study

    fake_places(tmp_path)
    overrides = {**SMALL, "data_dir": str(tmp_path)}
    runner.run("authors", ["places5"], overrides=overrides, notebooks=False)
    study = load_study("places5", "authors", overrides, compute=False)
    runs = study.runs
    assert sorted(zip(runs["method"], runs["repeat"])) == [("base", 0), ("base", 10), ("eos", 0), ("eos", 10)]
    assert runs["model_selection"].str.contains("chosen by them as the best test epoch").all()
    assert (runs["D"] == 64).all() and runs["train_seconds"].lt(60).all()
    assert study.cached[0].config["checkpoint"]["file"].endswith(".pth")
    # the training images are their lists' (12, 12, 3, 3, 3), not n_max 12 at ratio 3 (12, 12, 4, 4, 4)
    n_train = study.classes[study.classes["repeat"] == 0].groupby("class_index")["n_train"].first()
    assert n_train.tolist() == LISTED
    # the published networks are read as our own: claim 9's latent reading before and after
    # pooling, and claim 7's class level at matched numbers of TPs (methods#latent-reading)
    assert set(study.latent_classes["reading"]) == {"pre-pool", "pooled"}
    assert runs["prepool_stage"].notna().all() and runs["prepool_missing"].isna().all()
    # (four test images per class leave too few TPs for a point of the curve: the table, not its rows)
    assert all(run.has_table("class_curve") for run in study.cached) and "null_union_pct" in study.class_curve


def test_authors_profile_fails_before_any_work(tmp_path, isolated_results):
    from ceimb_utils.pipeline import runner

    with pytest.raises(ConfigError, match="git clone .*Hidden_Influence"):
        runner.run("authors", ["places5"], overrides={**SMALL, "data_dir": str(tmp_path)}, notebooks=False)
    fake_places(tmp_path)
    bad = tmp_path / paths.AUTHORS_CLONE / "models" / "places" / "plc_EOS_0_comb.pth"
    torch.save(their_layout(build_resnet("resnet32", 5, 3), 5), bad)
    with pytest.raises(ConfigError, match="plc_EOS_0_comb.pth does not fit a resnet56"):
        runner.run("authors", ["places5"], overrides={**SMALL, "data_dir": str(tmp_path)}, notebooks=False)
    assert not (isolated_results / "runs").exists()  # nothing was computed
    with pytest.raises(ConfigError, match="checkpoint_layout 'ldam' evaluates a folder of trained networks, and none is set for 'fashion-lt'"):
        runner.run("authors", ["fashion-lt"], overrides={"data_dir": str(tmp_path)}, notebooks=False)

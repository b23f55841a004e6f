"""Image data sets as uint8 arrays (N, channels, 32, 32), made imbalanced by a seeded selection
or used as they are (``imbalance: none``, a user's folder by default).

Every loader tries, in order, the data dir, a system package that ships the files, and a
download only when the caller allowed one; a missing data set fails fast with one sentence.
The test set holds up to ``test_per_class`` images per class (every test image when it is not
set) and is the same for every seed.
"""
from __future__ import annotations

import functools
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .. import paths
from ..datasets import ClassCounts, dataset_spec
from ..errors import ConfigError, DataNotFoundError
from .imbalance import class_counts, ldam_selection, select_per_class, too_few

FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                 "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
IMAGE_SIZE = 32
TEST_SEED = 0  # the test selection does not change with the run's seed
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"}
# The authors' image lists (selection: authors): data set -> folder in their repository, file prefix.
AUTHORS_LISTS = {"places5": ("data/Places", "places"), "inat5": ("data/INaturalist", "inat")}


@dataclass
class ImageData:
    train_x: np.ndarray  # (N, channels, 32, 32) uint8
    train_y: np.ndarray  # (N,) int64
    test_x: np.ndarray
    test_y: np.ndarray
    class_names: list[str]
    source: str

    @property
    def train_counts(self) -> np.ndarray:
        return np.bincount(self.train_y, minlength=len(self.class_names))


@dataclass
class RawImages:
    """A data set before imbalance: arrays, or per-class file lists for image folders."""

    class_names: list[str]
    source: str
    train_y: np.ndarray
    test_y: np.ndarray
    train_x: np.ndarray | None = None
    test_x: np.ndarray | None = None
    train_files: list[Path] | None = None
    test_files: list[Path] | None = None


# ---------------------------------------------------------------- Fashion-MNIST
def _fashion_dirs(data_dir: Path) -> list[Path]:
    return [data_dir / "fashion-mnist", data_dir / "FashionMNIST" / "raw", FASHION_SYSTEM]


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    return None


def _fashion_folder(data_dir: Path) -> Path | None:
    for folder in _fashion_dirs(data_dir):
        if all(_find_idx(folder, stem) for pair in FASHION_FILES.values() for stem in pair):
            return folder
    return None


def _read_idx(path: Path, offset: int) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        return np.frombuffer(fh.read(), dtype=np.uint8, offset=offset)


def _load_fashion(data_dir: Path, allow_download: bool) -> RawImages:
    folder = _fashion_folder(data_dir)
    if folder is None and allow_download:
        from torchvision.datasets import FashionMNIST

        for train in (True, False):
            FashionMNIST(str(data_dir), train=train, download=True)
        folder = _fashion_folder(data_dir)
    if folder is None:
        _missing("fashion-lt", data_dir)
    arrays = {}
    for split, (images, labels) in FASHION_FILES.items():
        y = _read_idx(_find_idx(folder, labels), 8).astype(np.int64)
        x = _read_idx(_find_idx(folder, images), 16).reshape(len(y), 1, 28, 28)
        arrays[split] = (x, y)  # native 28x28: the CIFAR ResNet pools globally, and 23% fewer pixels to train on
    return RawImages(FASHION_CLASSES, str(folder), arrays["train"][1], arrays["test"][1],
                     arrays["train"][0], arrays["test"][0])


# ---------------------------------------------------------------- CIFAR-10
def _load_cifar10(data_dir: Path, allow_download: bool) -> RawImages:
    from torchvision.datasets import CIFAR10

    if not (data_dir / "cifar-10-batches-py").exists() and not allow_download:
        _missing("cifar10-lt", data_dir)
    splits = {}
    for train in (True, False):
        try:
            ds = CIFAR10(str(data_dir), train=train, download=allow_download)
        except RuntimeError as err:
            raise DataNotFoundError(f"CIFAR-10 under {data_dir} is incomplete or corrupted ({err}); "
                                    "replace cifar-10-batches-py with a fresh copy.") from err
        splits[train] = (np.ascontiguousarray(ds.data.transpose(0, 3, 1, 2)), np.asarray(ds.targets, dtype=np.int64))
    return RawImages(CIFAR10_CLASSES, str(data_dir / "cifar-10-batches-py"), splits[True][1], splits[False][1],
                     splits[True][0], splits[False][0])


# ---------------------------------------------------------------- image folders
def _folder_split(root: Path, split_names) -> Path | None:
    for name in split_names:
        if (root / name).is_dir():
            return root / name
    return None


def _list_folder(root: Path, classes) -> tuple[list[Path], np.ndarray]:
    files, labels = [], []
    for c, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise DataNotFoundError(f"Class folder {folder} is missing; the classes are {list(classes)} "
                                    "(set image.classes to match your folders).")
        found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        files += found
        labels += [c] * len(found)
    return files, np.asarray(labels, dtype=np.int64)


def _load_folder(name: str, data_dir: Path, classes) -> RawImages:
    root = data_dir / name
    train, test = _folder_split(root, ("train",)), _folder_split(root, ("test", "val"))
    if train is None or test is None:
        _missing(name, data_dir)
    train_files, train_y = _list_folder(train, classes)
    test_files, test_y = _list_folder(test, classes)
    return RawImages(list(classes), str(root), train_y, test_y, train_files=train_files, test_files=test_files)


def _read_images(files) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(files), 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    for i, path in enumerate(files):  # file decoding is inherently per image
        with Image.open(path) as img:
            img = img.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
            out[i] = np.asarray(img).transpose(2, 0, 1)
    return out


def list_paths(name: str, data_dir: Path, seed: int) -> tuple[Path, Path]:
    """The authors' training and test lists of ``name`` for permutation ``seed``."""
    if name not in AUTHORS_LISTS:
        raise ConfigError(f"image.selection 'authors' reads the authors' image lists, which exist for "
                          f"{' and '.join(AUTHORS_LISTS)} only, not {name!r}.")
    folder, prefix = AUTHORS_LISTS[name]
    base = data_dir / paths.AUTHORS_CLONE / folder
    return base / f"{prefix}_trn_{seed}.csv", base / f"{prefix}_val_{seed}.csv"


def list_root(name: str, section: Mapping, data_dir: Path) -> Path:
    return Path(section["list_root"]) if section.get("list_root") else data_dir / name


def _read_list(path: Path, n_classes: int) -> tuple[list[str], np.ndarray]:
    """(relative image paths, labels) of one of the authors' lists: a header, then rows whose
    first column is the path and second the class index."""
    if not path.is_file():
        raise DataNotFoundError(f"The authors' image list {path} is missing; clone "
                                f"{paths.AUTHORS_REPOSITORY} into {path.parents[2]}.")
    table = pd.read_csv(path)
    labels = pd.to_numeric(table.iloc[:, 1], errors="coerce").to_numpy() if table.shape[1] >= 2 else np.array([np.nan])
    if np.isnan(labels).any() or not np.isin(labels, np.arange(n_classes)).all():
        raise ValueError(f"{path} is not an image list: each row needs a path and a class index below {n_classes}.")
    return table.iloc[:, 0].astype(str).tolist(), labels.astype(np.int64)


def check_lists(name: str, section: Mapping, seeds, data_dir: Path) -> None:
    """Every list of ``seeds`` and every image it names exist (one sentence for the first gap)."""
    root = list_root(name, section, data_dir)
    for seed in seeds:
        for path in list_paths(name, data_dir, seed):
            files, _ = _read_list(path, len(section["classes"]))
            missing = [f for f in files if not (root / f).is_file()]
            if missing:
                raise DataNotFoundError(f"{len(missing)} of the {len(files)} images of {path.name} are not under "
                                        f"{root} (the first: {missing[0]}); set image.list_root to the folder "
                                        "their paths start from.")


def _load_lists(name: str, section: Mapping, seed: int, data_dir: Path) -> ImageData:
    """The authors' own training and test images of ``seed``, as listed in their repository."""
    classes = list(section["classes"])
    root = list_root(name, section, data_dir)
    (train_files, train_y), (test_files, test_y) = (_read_list(p, len(classes)) for p in list_paths(name, data_dir, seed))
    return ImageData(_read_images([root / f for f in train_files]), train_y, _read_images([root / f for f in test_files]),
                     test_y, classes, f"{root} (the authors' lists {AUTHORS_LISTS[name][1]}_*_{seed}.csv)")


# ---------------------------------------------------------------- a user's data sets
DEFAULT_TEST_SHARE = 0.2  # a single tree without train/ and test/: the share cut off as test images


def _class_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _user_folder_files(name: str, entry: Mapping, classes) -> RawImages:
    """An ImageFolder tree of a user's: ``train/<class>/`` and ``test/<class>/`` (or ``val/``),
    or one tree of class folders cut into training and test images by a seeded stratified split
    (``test_share``; the same test images for every seed). Each class needs images on both sides."""
    from sklearn.model_selection import train_test_split

    root = Path(entry["folder"])
    train, test = _folder_split(root, ("train",)), _folder_split(root, ("test", "val"))
    share = entry.get("test_share")
    if train is not None and test is None and share is None:
        raise DataNotFoundError(f"Data set {name!r}: {root} has train/ but no test/ (or val/) images; add "
                                "test/<class>/ folders or set test_share to cut test images off train/.")
    tree = train if train is not None else root
    classes = list(classes) if classes else _class_folders(tree)
    if len(classes) < 2:
        raise DataNotFoundError(f"Data set {name!r}: {tree} needs at least two class folders, found {len(classes)}.")
    files, labels = _list_folder(tree, classes)
    if test is not None:
        test_files, test_y = _list_folder(test, classes)
        train_files, train_y = files, labels
    else:
        counts = np.bincount(labels, minlength=len(classes))
        if counts.min() < 2:
            raise DataNotFoundError(f"Data set {name!r}: class {classes[int(counts.argmin())]!r} has "
                                    f"{counts.min()} image(s); a seeded cut needs at least two per class.")
        rows = np.arange(len(files))
        train_rows, test_rows = train_test_split(rows, test_size=share or DEFAULT_TEST_SHARE, stratify=labels,
                                                 random_state=TEST_SEED)
        train_rows, test_rows = np.sort(train_rows), np.sort(test_rows)
        train_files, train_y = [files[i] for i in train_rows], labels[train_rows]
        test_files, test_y = [files[i] for i in test_rows], labels[test_rows]
    for split, y in (("training", train_y), ("test", test_y)):
        counts = np.bincount(y, minlength=len(classes))
        if counts.min() == 0:
            raise DataNotFoundError(f"Data set {name!r}: class {classes[int(counts.argmin())]!r} has no {split} images "
                                    f"under {root}.")
    return RawImages(classes, str(root), train_y, test_y, train_files=train_files, test_files=test_files)


def _torchvision_split(name: str, entry: Mapping, data_dir: Path, allow_download: bool, train: bool):
    import inspect

    import torchvision.datasets

    cls = getattr(torchvision.datasets, entry["torchvision"], None)
    if not inspect.isclass(cls):
        raise ConfigError(f"Data set {name!r}: torchvision.datasets has no class {entry['torchvision']!r}.")
    accepted = inspect.signature(cls).parameters
    kwargs = {"root": entry.get("root") or str(data_dir), "train": train, "download": allow_download}
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    kwargs.update(entry.get("train_args" if train else "test_args") or {})
    try:
        return cls(**kwargs)
    except (RuntimeError, OSError) as err:
        raise DataNotFoundError(f"Data set {name!r}: torchvision's {entry['torchvision']} is not under "
                                f"{kwargs.get('root', data_dir)} ({str(err).splitlines()[0]}); put its files there, "
                                "or let torchvision download them on a machine with internet "
                                "(--set allow_download=true, or allow_download: true in a profile file).") from err
    except TypeError as err:
        raise ConfigError(f"Data set {name!r}: {entry['torchvision']} does not take these arguments ({err}).") from err


def _torchvision_arrays(ds) -> tuple[np.ndarray, np.ndarray]:
    """(N, channels, 32, 32) uint8 and (N,) labels of a torchvision data set."""
    data, targets = getattr(ds, "data", None), getattr(ds, "targets", None)
    if isinstance(data, np.ndarray) and data.ndim == 4 and data.shape[1:3] == (IMAGE_SIZE, IMAGE_SIZE):
        return np.ascontiguousarray(data.transpose(0, 3, 1, 2)), np.asarray(targets, dtype=np.int64)
    from PIL import Image

    images, labels = [], []
    for img, label in (ds[i] for i in range(len(ds))):  # a generic data set yields PIL images
        img = img if isinstance(img, Image.Image) else Image.fromarray(np.asarray(img))
        img = img.convert("L" if img.mode in ("L", "1", "I", "F") else "RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
        pixels = np.asarray(img)
        images.append(pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1))
        labels.append(int(label))
    return np.stack(images).astype(np.uint8), np.asarray(labels, dtype=np.int64)


def _load_torchvision(name: str, entry: Mapping, data_dir: Path, allow_download: bool) -> RawImages:
    train_ds = _torchvision_split(name, entry, data_dir, allow_download, True)
    test_ds = _torchvision_split(name, entry, data_dir, allow_download, False)
    (train_x, train_y), (test_x, test_y) = _torchvision_arrays(train_ds), _torchvision_arrays(test_ds)
    n_classes = int(max(train_y.max(), test_y.max())) + 1
    classes = [str(c) for c in getattr(train_ds, "classes", None) or range(n_classes)]
    return RawImages(classes, f"torchvision {entry['torchvision']} ({getattr(train_ds, 'root', data_dir)})",
                     train_y, test_y, train_x, test_x)


def image_shape(name: str, section: Mapping, data_dir=None, allow_download: bool = False) -> tuple[int, int]:
    """(classes, channels) of an image data set, from its files (before any training)."""
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    if section.get("selection") == "authors":  # their lists name the images; the classes are the section's
        return len(section["classes"]), 3
    raw = _raw(name, data_dir, allow_download, tuple(section["classes"]) if section.get("classes") else None)
    channels = int(raw.train_x.shape[1]) if raw.train_x is not None else 3  # image folders are read as RGB
    return len(raw.class_names), channels


# ---------------------------------------------------------------- public
def _missing(name: str, data_dir: Path):
    # Only torchvision's two sets can be fetched: no loader downloads the image folder trees.
    if name == "fashion-lt":
        raise DataNotFoundError(f"Data set {name!r} not found: install Debian's dataset-fashion-mnist (apt-get "
                                f"install dataset-fashion-mnist) or put the four idx files in "
                                f"{data_dir / 'fashion-mnist'}, or let torchvision download them on a machine with "
                                "internet (--set allow_download=true, or allow_download: true in a profile file).")
    if name == "cifar10-lt":
        raise DataNotFoundError(f"Data set {name!r} not found: put CIFAR-10's python version "
                                f"(cifar-10-batches-py) in {data_dir}, or let torchvision download it on a machine "
                                "with internet (--set allow_download=true, or allow_download: true in a profile file).")
    raise DataNotFoundError(f"Data set {name!r} not found: put an image folder tree at "
                            f"{data_dir / name}/{{train,test}}/<class>/ (no loader downloads it; the data sets page "
                            "says where its images come from).")


def check_available(name: str, data_dir=None, allow_download: bool = False, classes=None) -> None:
    """Raise DataNotFoundError now, before any work, if ``name`` cannot be loaded (``classes``:
    the class folders the runs will read, for a user's image tree)."""
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    spec = dataset_spec(name)
    if not spec.builtin:  # a user's: list (folder) or open (torchvision) it, with every check of the loader
        _raw(name, data_dir, allow_download, tuple(classes) if classes else None)
        return
    if name == "fashion-lt":
        ok = allow_download or _fashion_folder(data_dir) is not None
    elif name == "cifar10-lt":
        ok = allow_download or (data_dir / "cifar-10-batches-py").exists()
    else:
        root = data_dir / name
        ok = _folder_split(root, ("train",)) is not None and _folder_split(root, ("test", "val")) is not None
    if not ok:
        _missing(name, data_dir)


def _raw(name: str, data_dir: Path, allow_download: bool, classes: tuple | None) -> RawImages:
    entry = dataset_spec(name).entry  # a user's entry is part of what is remembered
    return _raw_cached(name, data_dir, allow_download, classes, json.dumps(entry, sort_keys=True, default=str))


@functools.lru_cache(maxsize=2)
def _raw_cached(name: str, data_dir: Path, allow_download: bool, classes: tuple | None, entry_json: str) -> RawImages:
    entry = json.loads(entry_json)
    if entry is not None and entry["source"] == "folder":
        return _user_folder_files(name, entry, classes)
    if entry is not None:
        return _load_torchvision(name, entry, data_dir, allow_download)
    if name == "fashion-lt":
        return _load_fashion(data_dir, allow_download)
    if name == "cifar10-lt":
        return _load_cifar10(data_dir, allow_download)
    return _load_folder(name, data_dir, classes)


def _selection(name: str, section: Mapping, seed: int, data_dir: Path, allow_download: bool):
    """The raw images and the training rows of ``seed`` (seeded or Cao et al.'s selection)."""
    classes = tuple(section["classes"]) if section.get("classes") else None
    raw = _raw(name, data_dir, allow_download, classes)
    counts = class_counts(section, np.bincount(raw.train_y, minlength=len(raw.class_names)))
    if section.get("selection") == "ldam":
        return raw, ldam_selection(raw.train_y, counts, seed)
    return raw, select_per_class(raw.train_y, counts, seed, raw.class_names)


def _take(raw: RawImages, rows, test: bool) -> np.ndarray:
    if raw.train_x is not None:
        return (raw.test_x if test else raw.train_x)[rows]
    return _read_images([(raw.test_files if test else raw.train_files)[i] for i in rows])


def _check_image(name: str) -> None:
    if dataset_spec(name).kind != "image":
        raise ValueError(f"{name!r} is a tabular data set, not an image one.")


def _test_counts(section: Mapping, available) -> list[int]:
    """Test images per class: up to ``test_per_class`` each, every one when it is not set."""
    cap = section.get("test_per_class")
    return [min(cap, int(a)) if cap else int(a) for a in available]


def load_images(name: str, section: Mapping, seed: int, data_dir=None, allow_download: bool = False) -> ImageData:
    """The training set of ``seed`` (re-imbalanced, or as it is) and the test set of data set ``name``."""
    _check_image(name)
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    if section.get("selection") == "authors":
        return _load_lists(name, section, seed, data_dir)
    raw, train_idx = _selection(name, section, seed, data_dir, allow_download)
    n_classes = len(raw.class_names)
    available = np.bincount(raw.test_y, minlength=n_classes)
    if available.min() == 0:
        raise ConfigError(f"Data set {name!r} has a class without test images.")
    test_idx = select_per_class(raw.test_y, _test_counts(section, available), TEST_SEED, raw.class_names, "test")
    return ImageData(_take(raw, train_idx, False), raw.train_y[train_idx], _take(raw, test_idx, True),
                     raw.test_y[test_idx], list(raw.class_names), raw.source)


def planned_counts(name: str, section: Mapping, data_dir=None, allow_download: bool = False) -> dict[int, ClassCounts]:
    """Per seed, the training and test images per class that the runs of ``section`` will use,
    checked against the images there are before any run starts: one sentence for a class named
    but absent, a class that has fewer images than asked for, a class without test images or
    with fewer than 2 training images."""
    _check_image(name)
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    seeds = list(section["seeds"])
    if section.get("selection") == "authors":  # their lists name the images of each seed
        classes = tuple(section["classes"])
        out = {}
        for seed in seeds:
            (_, train_y), (_, test_y) = (_read_list(p, len(classes)) for p in list_paths(name, data_dir, seed))
            out[seed] = ClassCounts(classes, *(tuple(np.bincount(y, minlength=len(classes)).tolist())
                                               for y in (train_y, test_y)))
    else:
        raw = _raw(name, data_dir, allow_download, tuple(section["classes"]) if section.get("classes") else None)
        classes = tuple(raw.class_names)
        absent = [c for c in (section.get("classes") or []) if c not in classes]
        if absent:
            raise ConfigError(f"Data set {name!r} has no class {absent[0]!r}; its classes are {', '.join(classes)}.")
        have = np.bincount(raw.train_y, minlength=len(classes))
        have_test = np.bincount(raw.test_y, minlength=len(classes))
        train = class_counts(section, have)
        for label, n, wanted in zip(classes, have, train):
            if n < wanted:
                raise ConfigError(too_few(label, int(n), wanted, dataset=name))
        counts = ClassCounts(classes, tuple(train), tuple(_test_counts(section, have_test)))
        out = dict.fromkeys(seeds, counts)
    for counts in out.values():
        for label, n_train, n_test in zip(counts.classes, counts.train, counts.test):
            if n_test == 0:
                raise ConfigError(f"Data set {name!r}: class {label!r} has no test images; add some to its test "
                                  "folder (or set test_share to cut them off the training images).")
            if n_train < 2:
                raise ConfigError(f"Data set {name!r}: class {label!r} has {n_train} training image(s), and a class "
                                  "needs at least 2 (over-sampling interpolates between two); add images or leave "
                                  "the class out (classes).")
    return out


def load_validation(name: str, section: Mapping, seed: int, per_class: int, data_dir=None,
                    allow_download: bool = False) -> ImageData:
    """Training and *validation* images of ``seed``, for choosing settings without the test set:
    ``per_class`` validation images of each class from the training split, first from the images
    the imbalanced selection left out, then (a class that kept all of its images, like the largest
    one) lent from its training images, which then leave the training set. ``test_x`` and
    ``test_y`` hold the validation images; the test split is never read."""
    _check_image(name)
    if section.get("selection") == "authors":
        raise ConfigError("A validation split needs a seeded or ldam selection, not the authors' lists.")
    raw, train_idx = _selection(name, section, seed, Path(data_dir) if data_dir else paths.data_dir(),
                                allow_download)
    rng = np.random.default_rng([seed, 1])  # not the selection's own stream
    in_train = np.zeros(len(raw.train_y), bool)
    in_train[train_idx] = True
    validation, lent = [], []
    for c in range(len(raw.class_names)):
        spare = rng.permutation(np.flatnonzero((raw.train_y == c) & ~in_train))[:per_class]
        pool = rng.permutation(np.flatnonzero((raw.train_y == c) & in_train))
        short = per_class - len(spare)
        if short >= len(pool):
            raise ConfigError(f"Class {raw.class_names[c]!r} has too few training images for {per_class} "
                              f"validation images and a training set; lower per_class.")
        validation += [spare, pool[:short]]
        lent.append(pool[:short])
    val_idx = np.sort(np.concatenate(validation))
    keep = np.setdiff1d(train_idx, np.concatenate(lent))  # sorted: the order the measured searches used
    return ImageData(_take(raw, keep, False), raw.train_y[keep], _take(raw, val_idx, False), raw.train_y[val_idx],
                     list(raw.class_names), raw.source)

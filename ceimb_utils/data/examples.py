"""The worked example of the "Your own data" page: two small data sets written from files that
ship with scikit-learn, in the layouts a user brings their own in (``examples/own-data.yaml``).

- ``<data>/examples/breast-cancer-lt.csv``: the Wisconsin breast cancer table with every benign
  case and one malignant case in ten kept (357:22), a string target column ``diagnosis``;
- ``<data>/examples/digits/{train,test}/<digit>/*.png``: the 8x8 handwritten digits as an
  ImageFolder tree, cut 70:30 per class by a seeded split (the profile makes it long-tailed).

Written once, atomically; ``make data`` calls ``python -m ceimb_utils examples``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .. import paths
from ..files import atomic_path

FOLDER = paths.EXAMPLES
CSV = "breast-cancer-lt.csv"
DIGITS = "digits"
KEEP_MALIGNANT = 10  # one malignant case in ten: 357 benign against 22 malignant


def write_examples(data_dir: Path | None = None) -> list[Path]:
    """Write the example data sets under ``<data>/examples`` unless they are there; their paths."""
    root = Path(data_dir or paths.data_dir()) / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    csv, digits = root / CSV, root / DIGITS
    if not csv.exists():
        _write_csv(csv)
    if not digits.exists():
        _write_digits(digits)
    return [csv, digits]


def _write_csv(path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    diagnosis = np.where(frame.pop("target") == 1, "benign", "malignant")
    frame["diagnosis"] = diagnosis
    malignant = np.flatnonzero(diagnosis == "malignant")
    keep = np.sort(np.concatenate([np.flatnonzero(diagnosis == "benign"), malignant[::KEEP_MALIGNANT]]))
    with atomic_path(path) as tmp:
        frame.iloc[keep].to_csv(tmp, index=False)


def _write_digits(folder: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)
    rows = np.arange(len(images))
    train, test = train_test_split(rows, test_size=0.3, stratify=digits.target, random_state=0)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for split, chosen in (("train", train), ("test", test)):
        for i in chosen:
            target = tmp / split / str(digits.target[i])
            target.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i], mode="L").save(target / f"{i:04d}.png")
    tmp.rename(folder)  # the tree appears whole or not at all

"""Every project directory, once, as an absolute path from the repository root.

Notebooks, papermill, nbval and Jupyter Book each start in a different working
directory, so nothing in ceimb resolves a relative path against the cwd.
The data and results directories can be moved with ``CEIMB_DATA`` and
``CEIMB_RESULTS``; they are read at call time so tests can redirect them.
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
PROFILES = PACKAGE / "profiles"
NOTEBOOKS = ROOT / "notebooks"
BOOK = ROOT / "book"
BOOK_RESULTS = BOOK / "results"
TESTS = ROOT / "tests"
TOOLS = ROOT / "tools"  # scripts the tests and the Makefile run: the browser check, the core install's example
GOLDEN = TESTS / "golden"
EXAMPLES = "examples"  # <data>/examples: the worked example's data sets (``python -m ceimb_utils examples``)
BUILD = ROOT / "_build"
# The authors' repository (checkpoints, image lists, RQ3 tables), cloned by the user into the data dir.
AUTHORS_CLONE = "Hidden_Influence"
AUTHORS_REPOSITORY = "https://github.com/Anon-git-site/Hidden_Influence"


def data_dir() -> Path:
    """Where users put data sets (``CEIMB_DATA``, default ``<repo>/data``)."""
    return Path(os.environ.get("CEIMB_DATA") or ROOT / "data").expanduser().resolve()


def results_dir() -> Path:
    """Root of the run cache (``CEIMB_RESULTS``, default ``<repo>/results``)."""
    return Path(os.environ.get("CEIMB_RESULTS") or ROOT / "results").expanduser().resolve()


def runs_dir() -> Path:
    return results_dir() / "runs"


def checkpoints_dir() -> Path:
    return results_dir() / "checkpoints"

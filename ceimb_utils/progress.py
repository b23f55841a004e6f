"""Progress bars that switch themselves off under test and in executed notebooks.

Set ``CEIMB_PROGRESS=0`` to silence them (pytest, nbval and the runner's notebooks do).
"""
from __future__ import annotations

import os

try:  # widgets in Jupyter when ipywidgets is there; tqdm.auto without it warns into every notebook
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm


def enabled() -> bool:
    return os.environ.get("CEIMB_PROGRESS", "1") != "0" and "PYTEST_CURRENT_TEST" not in os.environ


def bar(iterable=None, **kwargs):
    kwargs.setdefault("disable", not enabled())
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, **kwargs)

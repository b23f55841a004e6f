"""ceimb_utils: classification-embedding analysis of imbalanced learning.

Reproduces and extends Dablain & Chawla, "The Hidden Influence of Latent Feature Magnitude
When Learning with Imbalanced Data" (arXiv 2407.10165). The notebooks call this package.

The public API, loaded on first use (so ``import ceimb_utils`` stays light):

- ``extract(model, X)``: the CE of a fitted LogisticRegression, SVC, Pipeline or torch network
  (``ceimb_utils.ce``); ``ceimb_utils.metrics`` measures them (``required_ce``, ``top_share``,
  ``class_topk_union``, ``frequency_magnitude``, ``READINGS``).
- ``load_profile(name, overrides)``, ``load_study(dataset, profile, overrides)``,
  ``run(profile, datasets, questions, overrides)``: configurations, a data set's runs as
  tables, and the whole sweep with its notebooks.
- ``METHODS`` and ``QUESTION_INFO``: the registries of training methods and research questions.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_FROM = {"extract": "ce", "load_profile": "config", "load_study": "study", "run": "runner",
         "METHODS": "methods", "QUESTION_INFO": "questions"}
__all__ = ["__version__", *_FROM]


def __getattr__(name: str):
    if name in _FROM:
        return getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

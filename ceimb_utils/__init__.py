"""ceimb_utils: classification-embedding analysis of imbalanced learning.

Reproduces and extends Dablain & Chawla, "The Hidden Influence of Latent Feature Magnitude
When Learning with Imbalanced Data" (arXiv 2407.10165). The notebooks call this package.

The public API, loaded on first use (so ``import ceimb_utils`` stays light):

- ``extract(model, X)``: the CE of a fitted LogisticRegression, SVC, Pipeline or torch network
  (``ceimb_utils.ce``); ``ceimb_utils.ce.metrics`` measures them (``required_ce``, ``top_share``,
  ``class_topk_union``, ``frequency_magnitude``, ``READINGS``).
- ``load_profile(name, overrides)``, ``load_study(dataset, profile, overrides)``,
  ``run(profile, datasets, questions, overrides)``: configurations, a data set's runs as
  tables, and the whole sweep with its notebooks.
- ``METHODS`` and ``QUESTION_INFO``: the registries of training methods and research questions.

The layout, lowest layer first (a module imports only from its own layer and those below):

- foundation, at the top level: ``errors``, ``paths``, ``files``, ``seeding``, ``progress``,
  ``config``, the registries ``datasets``, ``methods`` and ``questions``, and ``paper``;
- ``data``: loaders; ``models``: fitting and training; ``ce``: extraction and metrics;
- ``pipeline``: runs, their cache and scheduling, the sweep runner, ``study``;
- ``report``: tables, figures, health and the audit, drawn from the cache.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_FROM = {"extract": "ce", "load_profile": "config", "load_study": "pipeline.study", "run": "pipeline.runner",
         "METHODS": "methods", "QUESTION_INFO": "questions"}
__all__ = ["__version__", *_FROM]


def __getattr__(name: str):
    if name in _FROM:
        return getattr(importlib.import_module(f"{__name__}.{_FROM[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

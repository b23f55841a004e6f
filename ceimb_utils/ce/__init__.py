"""Classification embeddings (CE) and what is measured on them.

``extract(model, X)`` decomposes a fitted model's decision into CE (``extraction``);
``required`` ranks each instance's supporting CE once and finds its required terms,
``metrics`` measures them (methods#metrics), ``nulls`` gives the references claims 7 and 9's
CE readings are compared with (methods#nulls), ``latent`` reads the features themselves
(methods#latent-reading), ``summaries`` makes a run's tables and ``reference`` holds slow loop
versions of the metrics for tests.
"""
from .extraction import CEResult, UnsupportedModelError, distinct_support_vectors, extract, kernel_features

__all__ = ["CEResult", "UnsupportedModelError", "distinct_support_vectors", "extract", "kernel_features"]

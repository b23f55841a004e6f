"""ceimb_utils: classification-embedding analysis of imbalanced learning.

Reproduces and extends Dablain & Chawla, "The Hidden Influence of Latent Feature Magnitude
When Learning with Imbalanced Data" (arXiv 2407.10165). The notebooks call this package;
see the book for the narrative and ``ceimb_utils.ce`` / ``ceimb_utils.metrics`` for the core.
"""
__version__ = "0.1.0"

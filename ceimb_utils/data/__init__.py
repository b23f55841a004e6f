"""Data: the tabular and image loaders (offline sources of SPEC section 3) and the
long-tailed subsampling of image classes."""

"""Data: the tabular and image loaders (offline sources of methods#data) and the
long-tailed subsampling of image classes."""

"""The errors a user meets: each says in one sentence what is wrong and what to do."""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value or name a user gave is not allowed."""


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine (and downloading was not allowed or failed)."""

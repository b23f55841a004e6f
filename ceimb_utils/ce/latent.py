"""Claim 9's latent reading (methods#latent-reading): among a class's rows, are the features that are
on more often also larger when on?

For feature d with off value ``a_d`` (0 for a network's ReLU features; for a table, the column's
most frequent value when it holds at least ``OFF_SHARE`` of the rows, else none), per class c:
``p[c, d]``, the share of the class's rows with ``F != a_d``, and ``mu[c, d]``, the mean of
``|F - a_d|`` over them. A table's magnitudes are divided by their unweighted mean over the
classes (*unit-free*); a network's are read as they are (*raw*). Features with fewer than
``MIN_ROWS`` rows on or off in c are left out; a class with fewer than ``MIN_FEATURES`` left is
untestable. The statistic is Spearman(p, mu) over the kept features, against a null that permutes
mu over them (a table's, unit-free), or, for a network's raw magnitudes, that redistributes the
class's magnitudes when on over the features, each keeping its own number of rows on: a feature on
in few rows has a noisier mean, and permuting the means alone reads that noise as a relation
(measured on planted feature maps: 12% false positives against 5%; methods#latent-reading).

Counts accumulate in blocks (``LatentCounts``), so a network's feature maps before pooling are
read per channel over positions and instances without ever being held whole.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

OFF_SHARE = 0.05  # a table column's most frequent value is its off value when it holds this share of rows
MIN_ROWS = 10  # rows on and off a feature needs in a class to be read
MIN_FEATURES = 10  # features a class needs to be testable
PERMUTATIONS = 199
RELATION, NO_RELATION, OPPOSITE, UNTESTABLE = "relation", "no relation", "opposite", "untestable"
STATUSES = (RELATION, NO_RELATION, OPPOSITE, UNTESTABLE)


def off_values(X: np.ndarray, share: float = OFF_SHARE) -> np.ndarray:
    """(D,) each column's most frequent value where it holds at least ``share`` of the rows, NaN
    where none does (the column has no off state and is not read)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.full(X.shape[1], np.nan)
    for d in range(X.shape[1]):  # per column: np.unique sorts; D is at most thousands
        values, counts = np.unique(X[:, d], return_counts=True)
        best = counts.argmax()
        if counts[best] >= share * len(X):
            out[d] = values[best]
    return out


@dataclass
class LatentCounts:
    """Per class and feature: rows on, rows off, and the sum of ``|F - off|`` over the rows on;
    filled block by block (``add`` for rows of features, ``add_maps`` for feature maps, whose
    positions count as rows)."""

    n_classes: int
    n_features: int
    off: np.ndarray | None = None  # (D,) off values; None: 0 everywhere
    n_on: np.ndarray = field(init=False)
    n_off: np.ndarray = field(init=False)
    size_on: np.ndarray = field(init=False)
    square_on: np.ndarray = field(init=False)  # the sum of |F - off|**2 over the rows on

    def __post_init__(self):
        shape = (self.n_classes, self.n_features)
        self.n_on, self.n_off = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
        self.size_on, self.square_on = np.zeros(shape), np.zeros(shape)
        if self.off is None:
            self.off = np.zeros(self.n_features)

    def _onehot(self, y: np.ndarray) -> np.ndarray:
        onehot = np.zeros((len(y), self.n_classes))
        onehot[np.arange(len(y)), np.asarray(y)] = 1.0
        return onehot

    def add(self, F: np.ndarray, y: np.ndarray) -> None:
        """Rows of features (N, D) with their class indices."""
        F = np.asarray(F, dtype=np.float64)
        readable = ~np.isnan(self.off)
        off = np.where(readable, self.off, 0.0)
        distance = np.abs(F - off)
        on = (F != off) & readable
        onehot = self._onehot(y)
        self.n_on += np.rint(onehot.T @ on).astype(np.int64)
        self.n_off += np.rint(onehot.T @ (~on & readable)).astype(np.int64)
        self.size_on += onehot.T @ np.where(on, distance, 0.0)
        self.square_on += onehot.T @ np.where(on, distance * distance, 0.0)

    def add_maps(self, maps: np.ndarray, y: np.ndarray) -> None:
        """Feature maps (N, C, H, W) before pooling, off value 0: each position is a row."""
        maps = np.asarray(maps, dtype=np.float64)
        flat = maps.reshape(maps.shape[0], maps.shape[1], -1)
        on = flat != 0
        onehot = self._onehot(y)
        per_instance_on = on.sum(2)  # (N, C)
        self.n_on += np.rint(onehot.T @ per_instance_on).astype(np.int64)
        self.n_off += np.rint(onehot.T @ (flat.shape[2] - per_instance_on)).astype(np.int64)
        self.size_on += onehot.T @ np.abs(flat).sum(2)
        self.square_on += onehot.T @ (flat * flat).sum(2)

    def table(self, unit_free: bool = False) -> pd.DataFrame:
        """One row per class and feature: off value, rows on and off, on-rate ``p``, magnitude when
        on ``mu``, ``mu_unit_free`` (tables) and whether it is read (``kept``)."""
        total = self.n_on + self.n_off
        p = np.where(total > 0, self.n_on / np.maximum(total, 1), np.nan)
        mu = np.where(self.n_on > 0, self.size_on / np.maximum(self.n_on, 1), np.nan)
        mu2 = np.where(self.n_on > 0, self.square_on / np.maximum(self.n_on, 1), np.nan)
        mu_free = np.full(mu.shape, np.nan)
        if unit_free:  # each feature over the unweighted mean of its classes' magnitudes (those on at all)
            seen = (self.n_on > 0).sum(0)
            reference = np.where(seen > 0, np.nansum(mu, axis=0) / np.maximum(seen, 1), np.nan)
            with np.errstate(invalid="ignore", divide="ignore"):
                mu_free = mu / reference
        readable = ~np.isnan(self.off)
        kept = (self.n_on >= MIN_ROWS) & (self.n_off >= MIN_ROWS) & readable
        c, d = np.indices(p.shape)
        return pd.DataFrame({"class_index": c.ravel(), "d": d.ravel(), "off_value": np.tile(self.off, self.n_classes),
                             "n_on": self.n_on.ravel(), "n_off": self.n_off.ravel(), "p": p.ravel(), "mu": mu.ravel(),
                             "mu2": mu2.ravel(), "mu_unit_free": mu_free.ravel(), "kept": kept.ravel()})


@dataclass(frozen=True)
class ClassReading:
    n_kept: int
    rho: float
    null_low: float
    null_high: float
    status: str


def class_status(p: np.ndarray, mu: np.ndarray, kept: np.ndarray, permutations: int = PERMUTATIONS,
                 seed: int = 0, n_on: np.ndarray | None = None, mu2: np.ndarray | None = None) -> ClassReading:
    """Spearman of on-rate against magnitude over the kept features, and the 95% range of the same
    under the null: relation above it, opposite below, no relation inside; untestable with fewer
    than ``MIN_FEATURES`` kept features.

    The null permutes ``mu`` over the kept features; given the rows on (``n_on``) and the mean
    square when on (``mu2``), it instead redistributes the class's magnitudes when on over the
    features, each keeping its rows on: ``mu[d]`` is drawn from the normal law of a mean of
    ``n_on[d]`` of the class's pooled values (a row-level permutation, whose exact draws would
    need every value)."""
    kept = np.asarray(kept, dtype=bool) & ~np.isnan(p) & ~np.isnan(mu)
    n = int(kept.sum())
    if n < MIN_FEATURES:
        return ClassReading(n, np.nan, np.nan, np.nan, UNTESTABLE)
    rank_p = stats.rankdata(np.asarray(p)[kept])
    rank_mu = stats.rankdata(np.asarray(mu)[kept])
    rho = float(np.corrcoef(rank_p, rank_mu)[0, 1])
    rng = np.random.default_rng(seed)
    if n_on is None:
        draws = rng.permuted(np.tile(rank_mu, (permutations, 1)), axis=1)
    else:
        rows = np.asarray(n_on, dtype=np.float64)[kept]
        mean = float((np.asarray(mu)[kept] * rows).sum() / rows.sum())
        spread = max(float((np.asarray(mu2)[kept] * rows).sum() / rows.sum()) - mean * mean, 0.0)
        draws = stats.rankdata(mean + np.sqrt(spread / rows) * rng.standard_normal((permutations, n)), axis=1)
    centred_p = rank_p - rank_p.mean()
    centred = draws - draws.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        null = centred @ centred_p / np.sqrt((centred ** 2).sum(1) * (centred_p ** 2).sum())
    low, high = np.nanquantile(null, [0.025, 0.975])
    status = RELATION if rho > high else OPPOSITE if rho < low else NO_RELATION
    return ClassReading(n, rho, float(low), float(high), status)


def class_table(features: pd.DataFrame, magnitude: str, permutations: int = PERMUTATIONS, seed: int = 0) -> pd.DataFrame:
    """Per class of a ``LatentCounts.table``: the kept features, Spearman, the null's range and the
    status, reading ``magnitude`` ("mu" raw, "mu_unit_free" for a table)."""
    rows = []
    for c, part in features.groupby("class_index", sort=True):
        raw = magnitude == "mu"  # one unit for every feature: the row-level null (class_status)
        r = class_status(part["p"].to_numpy(), part[magnitude].to_numpy(), part["kept"].to_numpy(), permutations,
                         seed + int(c), part["n_on"].to_numpy() if raw else None, part["mu2"].to_numpy() if raw else None)
        rows.append({"class_index": int(c), "n_kept": r.n_kept, "rho": r.rho, "null_low": r.null_low,
                     "null_high": r.null_high, "status": r.status})
    return pd.DataFrame(rows, columns=["class_index", "n_kept", "rho", "null_low", "null_high", "status"])


def read_features(F: np.ndarray, y: np.ndarray, off: np.ndarray | None = None, unit_free: bool = False,
                  seed: int = 0) -> list[str]:
    """Each class's status for rows of features (a network's pooled features: off value 0)."""
    counts = LatentCounts(int(np.max(y)) + 1, F.shape[1], off)
    counts.add(F, y)
    return class_table(counts.table(unit_free), "mu_unit_free" if unit_free else "mu", seed=seed)["status"].tolist()


def read_maps(maps: np.ndarray, y: np.ndarray, seed: int = 0) -> list[str]:
    """Each class's status for feature maps before pooling, per channel over positions and instances."""
    counts = LatentCounts(int(np.max(y)) + 1, maps.shape[1])
    counts.add_maps(maps, y)
    return class_table(counts.table(), "mu", seed=seed)["status"].tolist()

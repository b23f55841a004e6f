"""Claim 9's latent reading (methods#latent-reading): are features that are on more often larger
when on?

The relation is a property of the features F, not of the head, so it is read over all of a
class's original training rows (never synthetic ones). Feature d has an off value a_d: 0 for a
network's features (they follow a ReLU); for a table, the column's most frequent value when it
holds at least ``OFF_SHARE`` of the training rows, else none (the column is left out). Per class
c and feature d: the on-rate ``p[c, d]`` (share of the class's rows with F != a_d) and the
magnitude when on ``mu[c, d]`` (mean |F - a_d| over those rows); a table's magnitude is read
unit-free, ``mu`` over the unweighted mean of ``mu[c', d]`` over the classes c'. A feature with
fewer than ``MIN_ROWS`` rows on or off in c is left out of c's reading; a class with fewer than
``MIN_FEATURES`` features left is untestable. Per class, rho = Spearman(p, magnitude) over the
kept features against ``permutations`` draws of a null: relation above the null's 95% range,
opposite below it, no relation inside. A table's unit-free magnitudes are permuted over the kept
features; a network's raw magnitudes are redistributed over them with each feature keeping its
own rows on (``class_verdict``): a feature on in few rows has a noisier mean, and permuting the
means alone reads that noise as a relation (12% of classes of planted feature maps with nothing
planted, against 5%; the calibration page).

A network is read twice: on its pooled features and on the feature maps before global average
pooling (per channel, over positions and instances), which ``PrePoolCounts`` accumulates from a
forward hook without storing the maps; pooling alone makes the relation (a channel on at more
positions is both on more often and larger), so the pre-pool reading decides.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .extraction import final_linear
from .metrics import rowwise_spearman

OFF_SHARE = 0.05  # a table column's most frequent value is its off value from this share of rows
MIN_ROWS = 10  # rows on and rows off a feature needs in a class to be read there
MIN_FEATURES = 10  # kept features a class needs to be testable
PERMUTATIONS = 199  # draws of the null (metrics.latent_permutations in a run)
STATUSES = ("relation", "no relation", "opposite", "untestable")
RELATION, NO_RELATION, OPPOSITE, UNTESTABLE = STATUSES
FEATURE_COLUMNS = ["reading", "class_index", "d", "off_value", "n_on", "n_off", "p", "mu", "mu2", "mu_unit_free",
                   "kept"]
CLASS_COLUMNS = ["reading", "class_index", "n_kept", "rho", "null_low", "null_high", "permutations", "status"]


@dataclass(frozen=True)
class LatentCounts:
    """Per class and feature: rows on, rows off and the sums of |F - off| and of its square over
    the rows on ((C, D) each), with each feature's off value (NaN where it has none)."""

    n_on: np.ndarray
    n_off: np.ndarray
    sum_on: np.ndarray
    off_value: np.ndarray
    unit_free: bool  # tables: the magnitude is read over the classes' mean (columns share no unit)
    square_on: np.ndarray | None = None

    @property
    def has_off(self) -> np.ndarray:
        return ~np.isnan(self.off_value)


def off_values(X: np.ndarray) -> np.ndarray:
    """(D,) each column's most frequent value (the smallest of equally frequent ones) when it
    holds at least ``OFF_SHARE`` of the rows, else NaN: the off values of a table."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if n == 0:
        return np.full(d, np.nan)
    ordered = np.sort(X, axis=0)
    starts = np.ones((n, d), dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]  # NaN never equals itself: a NaN is never the mode
    position = np.arange(n)[:, None]
    run = position - np.maximum.accumulate(np.where(starts, position, 0), axis=0) + 1  # run length so far
    longest = run.argmax(0)  # the first run to reach the longest length: the smallest such value
    count = run[longest, np.arange(d)]
    mode = ordered[longest, np.arange(d)]
    return np.where(count >= OFF_SHARE * n, mode, np.nan)


def table_counts(X: np.ndarray, y_index: np.ndarray, n_classes: int) -> LatentCounts:
    """The latent counts of a table's training rows ``X`` (as given: unscaled, before any
    over-sampling) with class indices ``y_index``."""
    X = np.asarray(X, dtype=np.float64)
    return _counts(X, np.asarray(y_index), n_classes, off_values(X), unit_free=True)


def feature_counts(F: np.ndarray, y_index: np.ndarray, n_classes: int) -> LatentCounts:
    """The latent counts of a network's pooled features ``F`` (off value 0)."""
    F = np.asarray(F, dtype=np.float64)
    return _counts(F, np.asarray(y_index), n_classes, np.zeros(F.shape[1]), unit_free=False)


def _counts(F: np.ndarray, y: np.ndarray, n_classes: int, off: np.ndarray, unit_free: bool) -> LatentCounts:
    d = F.shape[1]
    has_off = ~np.isnan(off)
    n_on, n_off, sum_on, square_on = (np.zeros((n_classes, d)) for _ in range(4))
    for c in range(n_classes):
        rows = F[y == c]
        distance = np.where((rows != off) & has_off, np.abs(rows - np.where(has_off, off, 0.0)), 0.0)
        n_on[c] = ((rows != off) & has_off).sum(0)
        n_off[c] = np.where(has_off, len(rows) - n_on[c], 0)
        sum_on[c] = distance.sum(0)
        square_on[c] = (distance * distance).sum(0)
    return LatentCounts(n_on, n_off, sum_on, off, unit_free, square_on)


class PrePoolCounts:
    """A forward hook for the module whose output a network pools: per class and channel, the
    positions x instances on (!= 0) and off, and the sum of the values on (their |value - 0|),
    accumulated batch by batch; the maps are never kept. The batches must come in the order of
    ``y_index`` (one pass over the instances, as ``extract`` makes it)."""

    def __init__(self, y_index: np.ndarray, n_classes: int):
        self.y = np.asarray(y_index)
        self.n_classes = n_classes
        self.seen = 0
        self.n_on = self.n_off = self.sum_on = self.square_on = None

    def __call__(self, _module, _inputs, output) -> None:
        if output.dim() != 4:
            raise ValueError(f"The pooled stage must give (batch, channels, height, width) maps, got shape "
                             f"{tuple(output.shape)}.")
        maps = output.detach().flatten(2)  # (B, C, positions)
        b, channels, positions = maps.shape
        y = self.y[self.seen:self.seen + b]
        if len(y) != b:
            raise ValueError(f"The hook saw more instances than the {len(self.y)} labels it was given.")
        self.seen += b
        on = (maps != 0).sum(2).double().cpu().numpy()
        total = maps.abs().double().sum(2).cpu().numpy()
        squares = maps.double().pow(2).sum(2).cpu().numpy()
        if self.n_on is None:
            self.n_on, self.n_off, self.sum_on, self.square_on = (np.zeros((self.n_classes, channels)) for _ in range(4))
        np.add.at(self.n_on, y, on)
        np.add.at(self.n_off, y, positions - on)
        np.add.at(self.sum_on, y, total)
        np.add.at(self.square_on, y, squares)

    def counts(self) -> LatentCounts:
        if self.n_on is None:
            raise ValueError("The hook saw no batch: the pooled stage did not run.")
        if self.seen != len(self.y):
            raise ValueError(f"The hook saw {self.seen} instances of the {len(self.y)} it was given.")
        return LatentCounts(self.n_on, self.n_off, self.sum_on, np.zeros(self.n_on.shape[1]), unit_free=False,
                            square_on=self.square_on)


def find_pooled_stage(model, batch, head=None):
    """The module of ``model`` whose (batch, D, H, W) output, averaged over positions, is the
    input of its head (``head``: as ``extract`` takes it), found on ``batch``; returns (module,
    its name, None), or (None, None, why not) for a network without such a spatial stage."""
    import torch

    head = final_linear(model, head)
    outputs, head_input = [], []
    handles = [m.register_forward_hook(lambda mod, _i, out, name=name: outputs.append((name, mod, out)))
               for name, m in model.named_modules() if m is not head and name]
    handles.append(head.register_forward_hook(lambda _m, inputs, _o: head_input.append(inputs[0])))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            param = next(model.parameters())
            batch = torch.as_tensor(batch)
            model((batch.to(param.dtype) if batch.is_floating_point() else batch).to(param.device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if len(head_input) != 1:
        return None, None, f"its head ran {len(head_input)} times in one forward pass"
    pooled = head_input[0].flatten(1)
    scale = float(pooled.abs().max()) or 1.0
    found = [(name, mod) for name, mod, out in outputs
             if isinstance(out, torch.Tensor) and out.dim() == 4 and out.shape[1] == pooled.shape[1]
             and out.shape[2] * out.shape[3] > 1
             and torch.allclose(out.mean((2, 3)), pooled, rtol=1e-5, atol=1e-6 * scale)]
    if not found:
        return None, None, ("no module gives (batch, channels, height, width) maps whose average over positions "
                            "is the head's input")
    name, module = found[-1]  # the last such in execution order: the stage the pooling reads
    return module, name, None


def latent_tables(readings: dict[str, LatentCounts], permutations: int, seed) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``latent`` table (one row per reading x class x feature) and the ``latent_classes``
    table (one row per reading x class: kept features, rho, the permutation null's 95% range
    and the status) of ``readings`` (name -> counts), the null seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    features, classes = [], []
    for name, counts in readings.items():
        n_classes, d = counts.n_on.shape
        with np.errstate(invalid="ignore", divide="ignore"):
            p = counts.n_on / (counts.n_on + counts.n_off)
            mu = counts.sum_on / counts.n_on
            mu2 = counts.square_on / counts.n_on if counts.square_on is not None else np.full_like(mu, np.nan)
            defined = np.isfinite(mu)  # a class with no row on has no magnitude to average
            class_mean = np.where(defined, mu, 0.0).sum(0) / defined.sum(0)
            mu_unit_free = mu / class_mean if counts.unit_free else np.full_like(mu, np.nan)
        magnitude = mu_unit_free if counts.unit_free else mu
        kept = counts.has_off & (counts.n_on >= MIN_ROWS) & (counts.n_off >= MIN_ROWS) & np.isfinite(magnitude)
        features.append(pd.DataFrame({
            "reading": name, "class_index": np.repeat(np.arange(n_classes), d), "d": np.tile(np.arange(d), n_classes),
            "off_value": np.tile(counts.off_value, n_classes), "n_on": counts.n_on.ravel().astype(np.int64),
            "n_off": counts.n_off.ravel().astype(np.int64), "p": p.ravel(), "mu": mu.ravel(), "mu2": mu2.ravel(),
            "mu_unit_free": mu_unit_free.ravel(), "kept": kept.ravel()}))
        for c in range(n_classes):
            rows = None if counts.unit_free or counts.square_on is None else (counts.n_on[c], mu2[c])
            classes.append({"reading": name, "class_index": c, **class_verdict(p[c], magnitude[c], kept[c],
                                                                               permutations, rng, rows)})
    table = pd.concat(features, ignore_index=True) if features else pd.DataFrame(columns=FEATURE_COLUMNS)
    return table, pd.DataFrame(classes, columns=CLASS_COLUMNS)


def class_verdict(p: np.ndarray, magnitude: np.ndarray, kept: np.ndarray, permutations: int, rng,
                  rows: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
    """One class's reading: rho = Spearman(p, magnitude) over the kept features, the 2.5th and
    97.5th percentiles of rho over ``permutations`` draws of the null, and the status
    (``STATUSES``; untestable below ``MIN_FEATURES`` kept features or where rho is undefined, a
    constant on-rate or magnitude).

    The null permutes the magnitude over the kept features; with ``rows`` (each feature's rows on
    and mean square when on, for raw magnitudes) it redistributes the class's magnitudes when on
    over the features instead, each keeping its rows on: the magnitude of feature d is drawn by
    the normal law of a mean of ``n_on[d]`` of the class's pooled values (the row-level
    permutation, whose exact draws would need every value)."""
    n_kept = int(kept.sum())
    out = {"n_kept": n_kept, "rho": np.nan, "null_low": np.nan, "null_high": np.nan, "permutations": 0,
           "status": "untestable"}
    if n_kept < MIN_FEATURES:
        return out
    on_rate, size = p[kept], magnitude[kept]
    rho = rowwise_spearman(on_rate[None], size[None])[0]
    if np.isnan(rho):
        return out
    if rows is None:
        shuffled = rng.permuted(np.broadcast_to(size, (permutations, n_kept)), axis=1)
    else:
        n_on, mean_square = (np.asarray(r, dtype=np.float64)[kept] for r in rows)
        mean = float((size * n_on).sum() / n_on.sum())
        spread = max(float((mean_square * n_on).sum() / n_on.sum()) - mean * mean, 0.0)
        shuffled = mean + np.sqrt(spread / n_on) * rng.standard_normal((permutations, n_kept))
    null = rowwise_spearman(np.broadcast_to(on_rate, shuffled.shape), shuffled)
    low, high = np.nanpercentile(null, [2.5, 97.5])
    status = "relation" if rho > high else "opposite" if rho < low else "no relation"
    return {**out, "rho": float(rho), "null_low": float(low), "null_high": float(high),
            "permutations": permutations, "status": status}


def read_features(F: np.ndarray, y_index: np.ndarray, permutations: int = 199, seed: int = 0) -> list[str]:
    """Each class's status for rows of a network's features (off value 0), read raw."""
    n_classes = int(np.max(y_index)) + 1
    _, classes = latent_tables({"features": feature_counts(F, y_index, n_classes)}, permutations, seed)
    return classes["status"].tolist()


def read_maps(maps: np.ndarray, y_index: np.ndarray, permutations: int = 199, seed: int = 0) -> list[str]:
    """Each class's status for feature maps before pooling, per channel over positions and
    instances (the counts a forward hook accumulates, ``PrePoolCounts``)."""
    import torch

    counts = PrePoolCounts(y_index, int(np.max(y_index)) + 1)
    counts(None, None, torch.as_tensor(maps))
    _, classes = latent_tables({"pre-pool": counts.counts()}, permutations, seed)
    return classes["status"].tolist()


def read_table(X: np.ndarray, y_index: np.ndarray, n_classes: int, raw: bool = False, permutations: int = 199,
               seed: int = 0) -> list[str]:
    """Each class's status for a table's training rows: unit-free, or raw (``raw``) as a network
    layer's units, which share one unit, would be read."""
    counts = table_counts(X, y_index, n_classes)
    if raw:
        counts = LatentCounts(counts.n_on, counts.n_off, counts.sum_on, counts.off_value, False, counts.square_on)
    _, classes = latent_tables({"table": counts}, permutations, seed)
    return classes["status"].tolist()

"""The references the CE readings of claims 7 and 9 are compared with (methods#nulls).

- ``class_curve``: claim 7 at matched TP counts. The class-level union of m required sets
  against the union of m sets of the same sizes drawn at random (each TP's feature axis
  permuted), for m = 10, 20, 50, ... TPs with k = 0 (decided by the bias and the opposing terms
  alone) are left out first: they hold no term.
- ``permutation_null``: the reference beside RQ3's Spearman(freq, mag), which the definitions
  make near 1 by themselves. The class's TPs are permuted independently per feature, which
  keeps each feature's CE distribution and so ``mag`` exactly; each permuted row keeps the
  threshold of the TP in its place (bias, opposing terms, runner-up logit), and its required
  set and ``freq`` are found again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import DEFAULT, rowwise_spearman, class_sets, reading_counts
from .required import NEVER_CROSSES, RequiredTerms, rank_rows, set_mask

CURVE_STEPS = (10, 20, 50)  # m runs over these times 1, 10, 100, ...
_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)  # set bits of each byte


def matched_counts(n: int) -> list[int]:
    """The TP counts m of the curve: 10, 20, 50, 100, 200, 500, ... while m <= n."""
    out, scale = [], 1
    while CURVE_STEPS[0] * scale <= n:
        out += [m * scale for m in CURVE_STEPS if m * scale <= n]
        scale *= 10
    return out


def random_sets(sizes: np.ndarray, d: int, rng) -> np.ndarray:
    """(n, d) bool: row i a uniformly random set of ``sizes[i]`` of the d features (its feature
    axis permuted)."""
    ranks = np.argsort(rng.random((len(sizes), d)), axis=1).argsort(axis=1)
    return ranks < np.asarray(sizes)[:, None]


def _unions(packed: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """(draws,) the size of the union of the packed sets of each draw's rows."""
    return np.array([_BITS[np.bitwise_or.reduce(packed[p], axis=0)].sum() for p in picks])


def class_curve(terms: RequiredTerms, draws: int, replicates: int, rng) -> list[dict]:
    """Claim 7's curve per class (rows of the ``class_curve`` table): for each m of
    ``matched_counts`` over the class's TPs with k >= 1 (default reading), ``draws`` draws of m
    of them without replacement, the union of their required sets averaged over the draws (in
    percent of D), and its null: ``replicates`` replicates, each giving every TP of the class a
    random set of its own size once, then taking the *same* draws and averaging their unions.

    A replicate keeps each TP's random set across the draws, as the data keeps each TP's set:
    where m nears the class's size the draws share most TPs, and a null that drew fresh sets per
    draw would vary less than the data and read "below" too often. Every
    replicate's value is kept (``null_union_pct``) so that a cell of several classes and repeats
    can average them replicate by replicate."""
    sup = terms.support
    k = reading_counts(terms, DEFAULT)[terms.rows]
    cls = sup.cls[terms.rows]
    rows = []
    for c in range(sup.n_classes):
        positions = np.flatnonzero((cls == c) & (k >= 1))
        if not matched_counts(len(positions)):
            continue
        sets = class_sets(terms, DEFAULT, 1, positions)
        rows += [{"class_index": c, **row} for row in union_curve(sets, draws, replicates, rng)]
    return rows


def union_curve(sets: np.ndarray, draws: int, replicates: int, rng) -> list[dict]:
    """``class_curve`` for one class's (n, D) required sets."""
    n, d = sets.shape
    packed = np.packbits(sets, axis=1)  # a set is D bits
    sizes = sets.sum(1)
    counts = matched_counts(n)
    picks = {m: np.array([rng.choice(n, m, replace=False) for _ in range(draws)]) for m in counts}
    null = {m: np.empty(replicates) for m in counts}
    for r in range(replicates):
        drawn = np.packbits(random_sets(sizes, d, rng), axis=1)
        for m in counts:
            null[m][r] = _unions(drawn, picks[m]).mean()
    rows = []
    for m in counts:
        union = _unions(packed, picks[m])
        pct = 100.0 * null[m] / d
        rows.append({"m": m, "n_tp_nonzero": n, "draws": draws, "union_pct": 100.0 * union.mean() / d,
                     "null_mean_pct": float(pct.mean()), "null_low_pct": float(np.percentile(pct, 2.5)),
                     "null_high_pct": float(np.percentile(pct, 97.5)), "replicates": replicates,
                     "null_union_pct": pct.round(4).tolist()})
    return rows


@dataclass(frozen=True)
class PermutationNull:
    """Per class: the per-feature permutation null of RQ3's Spearman on a subsample of the
    class's TPs ((C,) arrays; NaN where a class has no TP)."""

    low: np.ndarray  # the smallest of the permutations' Spearman
    high: np.ndarray  # the largest
    mean: np.ndarray
    subsample_n: np.ndarray  # TPs in the subsample
    subsample_spearman: np.ndarray  # the observed Spearman on the same subsample
    permutations: int


def permutation_null(terms: RequiredTerms, subsample: int, permutations: int, rng) -> PermutationNull:
    """The per-feature permutation null of Spearman(freq, mag) under the default reading, per
    class, on a seeded subsample of at most ``subsample`` of its TPs and with ``permutations``
    permutations (module docstring). ``mag`` is the subsample's own, the same for every
    permutation; ``freq`` is recomputed from the permuted rows' required sets."""
    sup = terms.support
    n_classes = sup.n_classes
    cls = sup.cls[terms.rows]
    offset = sup.offset(DEFAULT.rule(sup.binary))
    out = {name: np.full(n_classes, np.nan) for name in ("low", "high", "mean", "observed")}
    sizes = np.zeros(n_classes, dtype=np.int64)
    for c in range(n_classes):
        positions = np.flatnonzero(cls == c)
        if not len(positions):
            continue
        chosen = np.sort(rng.choice(positions, min(subsample, len(positions)), replace=False))
        values = sup.values_of(terms.rows[chosen])
        mag = values.mean(0)
        observed = class_sets(terms, DEFAULT, 1, chosen).mean(0)
        freq = np.empty((permutations, values.shape[1]))
        for p in range(permutations):
            freq[p] = required_sets(permute_features(values, rng), offset[terms.rows[chosen]]).mean(0)
        rho = rowwise_spearman(freq, np.broadcast_to(mag, freq.shape))
        sizes[c] = len(chosen)
        out["observed"][c] = rowwise_spearman(observed[None], mag[None])[0]
        if np.isfinite(rho).any():
            out["low"][c], out["high"][c], out["mean"][c] = np.nanmin(rho), np.nanmax(rho), np.nanmean(rho)
    return PermutationNull(out["low"], out["high"], out["mean"], sizes, out["observed"], permutations)


def permute_features(values: np.ndarray, rng) -> np.ndarray:
    """``values`` with each feature's column permuted over the rows on its own: every feature
    keeps its values (so its mean, ``mag``), and no row keeps its combination of them."""
    return rng.permuted(values, axis=0)


def required_sets(values: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(n, D) bool: the default reading's required sets of rows of supporting CE ``values``
    whose kept terms must beat ``offset`` (what the rows' own TPs had to beat)."""
    k, end = rank_rows(values, offset)
    return set_mask(values, np.where(k == NEVER_CROSSES, values.shape[1], k), end)

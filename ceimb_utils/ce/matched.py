"""Set-based references for the class level and for RQ3's frequency (methods#nulls).

``union_curve``: claim 7's class-level union at matched numbers m of TPs, for the data and for the
null of arbitrary combinations (each TP's set replaced by a uniformly random set of its own size,
fixed within a replicate, then the *same* draws of m TPs as the data).

``permutation_spearman``: RQ3's Spearman of frequency against magnitude on a subsample of a
class's TPs, and under the per-feature permutation null (each feature's CE permuted across the
TPs: ``mag`` is unchanged, the required sets and ``freq`` are recomputed, each row keeping the
threshold of the TP in its position).
"""
from __future__ import annotations

import numpy as np
from scipy import stats

LADDER_STEPS = (1, 2, 5)  # m runs over 10, 20, 50, 100, 200, 500, ...


def ladder(n: int) -> list[int]:
    """The numbers m of TPs a class of n TPs is compared at: 10, 20, 50, 100, ... up to n."""
    out, scale = [], 10
    while True:
        for step in LADDER_STEPS:
            m = step * scale
            if m > n:
                return out
            out.append(m)
        scale *= 10


def random_sets(sizes: np.ndarray, d: int, rng) -> np.ndarray:
    """(n, d) bool: row i a uniformly random set of ``sizes[i]`` of the d features."""
    ranks = np.argsort(rng.random((len(sizes), d)), axis=1).argsort(axis=1)
    return ranks < np.asarray(sizes)[:, None]


def union_curve(sets: np.ndarray, draws: int, replicates: int, rng) -> list[dict]:
    """Claim 7's curve for one class: per m, the data's union of m drawn TPs' sets (mean over
    ``draws`` draws without replacement) and the null's (``replicates`` replicates), in percent of
    D, with every replicate's value (``null_union_pct``) so that a cell of several classes can
    average them replicate by replicate."""
    sets = np.asarray(sets, dtype=bool)
    n, d = sets.shape
    steps = ladder(n)
    if not steps:
        return []
    picks = {m: [rng.choice(n, m, replace=False) for _ in range(draws)] for m in steps}
    data = {m: np.mean([sets[i].any(0).sum() for i in picks[m]]) for m in steps}
    null = {m: np.empty(replicates) for m in steps}
    sizes = sets.sum(1)
    for r in range(replicates):
        drawn = random_sets(sizes, d, rng)
        for m in steps:
            null[m][r] = np.mean([drawn[i].any(0).sum() for i in picks[m]])
    out = []
    for m in steps:
        pct = 100.0 * null[m] / d
        out.append({"m": m, "union_pct": 100.0 * data[m] / d, "null_mean_pct": float(pct.mean()),
                    "null_low_pct": float(np.quantile(pct, 0.025)), "null_high_pct": float(np.quantile(pct, 0.975)),
                    "null_union_pct": pct.round(4).tolist(), "replicates": replicates})
    return out


def required_sets(values: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(n, D) bool: each row's required set under the default reading: the fewest largest positive
    terms (ties by feature index) that, added to ``offset`` (the bias gap and the opposing terms),
    exceed 0; all positive terms when they never do."""
    order = np.argsort(-values, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=1)
    kept = np.cumsum(np.maximum(ranked, 0.0), axis=1) + offset[:, None] > 0
    k = np.where(kept.any(1), kept.argmax(1) + 1, (ranked > 0).sum(1))
    k = np.where(offset > 0, 0, k)  # the bias and the opposing terms carry it alone
    chosen = np.arange(values.shape[1])[None, :] < k[:, None]
    out = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(out, order, chosen, axis=1)
    return out


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return np.nan
    return float(stats.spearmanr(a, b).statistic)


def permutation_spearman(values: np.ndarray, offset: np.ndarray, permutations: int, rng) -> tuple[float, np.ndarray]:
    """The Spearman of freq (share of rows whose required set holds d) against mag (column means)
    on these rows, and ``permutations`` draws of it with each column permuted independently across
    the rows, each row keeping its own ``offset``."""
    values = np.asarray(values, dtype=np.float64)
    mag = values.mean(0)
    observed = _spearman(required_sets(values, offset).mean(0), mag)
    null = np.empty(permutations)
    for p in range(permutations):
        shuffled = rng.permuted(values, axis=0)
        null[p] = _spearman(required_sets(shuffled, offset).mean(0), mag)
    return observed, null

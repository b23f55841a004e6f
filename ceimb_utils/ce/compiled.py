"""Compiled kernels (numba) for the loops of a run's analysis that numpy can only do by sorting
whole rows or by building whole arrays of sets: each instance's required count
(methods#required-ce), the Spearman of the RQ3 interval's subsamples (methods#intervals), and
each row's sets read once for their counts and sums. Imported on first use by ``required`` and
``metrics`` when numba is installed (the ``fast`` extra); without it numpy sorts.

They give the numpy code's results to the last bit, which tests/test_compiled.py checks (the
interval's random groups are summed in row order, where numpy's one-hot product leaves the
order to BLAS):

- ``signed_terms`` finds where each row's kept sum crosses without ordering the row. It sums
  the terms by magnitude bands (a few per octave) and orders only the band where the sum
  crosses. Its sums run in another order than the released loop's, so a row is handed back
  (``ok`` False) whenever its sum comes within a rounding bound of what it must beat, and the
  caller ranks that row with numpy.
- ``count_value_spearman`` ranks the subsamples' magnitudes by an insertion sort that starts
  from the class's order: a subsample's terms lie in nearly that order (a median of about 1,750
  pairs out of order in a half-sample, 2,600 in a quarter-sample, among a COIL 2000 SVM's 1,833
  terms). Ranks are multiples of a half and every sum of the statistic is exact, so the order
  of summation cannot change a bit.
- ``build_rows`` builds the supporting CE of a block of rows in one pass from the features, the
  weights and each row's sign (``Supporting.value_parts``), the products numpy takes in three.
- ``add_set_sums`` builds one row at a time the same way, never a block, and reads from it the
  row's set under every reading asked for, adding the sets' counts and the sums over them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

UNIT = 2.0**-53  # unit roundoff of float64
BAND_BITS = 4  # mantissa bits of a band's key: 16 bands per octave
BANDS = 640  # 40 octaves below a row's largest term; smaller terms share the last band
SHIFT = 52 - BAND_BITS
SHORT = 32  # runs up to this long are ordered by insertion, longer ones by np.sort


@njit(cache=True)
def _order_descending(a, start, stop):
    n = stop - start
    if n <= SHORT:
        for i in range(start + 1, stop):
            v = a[i]
            j = i - 1
            while j >= start and a[j] < v:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = v
    else:
        part = np.sort(a[start:stop])
        for i in range(n):
            a[start + i] = part[n - 1 - i]


@njit(cache=True)
def signed_terms(values, thresholds, n_largest):
    """Per row of ``values`` ((n, D) supporting CE) and column r of ``thresholds`` ((n, R),
    what the kept positive terms must exceed): the smallest k whose k largest positive terms
    sum above it (0 below a threshold under 0, -1 where all do not), the k-th largest term
    (+inf for k = 0, -inf for -1), the row's ``n_largest`` largest terms in descending order,
    and ``ok``: False where the row must be ranked by sorting (its sums came within rounding
    of a threshold, it holds a NaN or an infinity, or fewer positive terms than
    ``n_largest``), and how many positive terms each row holds (every row's, ``ok`` or not)."""
    n, d = values.shape
    rules = thresholds.shape[1]
    k = np.full((n, rules), -1, np.int64)
    end = np.full((n, rules), -np.inf)
    ok = np.ones(n, np.bool_)
    positives = np.zeros(n, np.int64)
    largest = np.zeros((n, n_largest))
    terms = np.empty(d)
    band = np.empty(d, np.int64)
    part = np.empty(d)
    count = np.zeros(BANDS, np.int64)
    total = np.zeros(BANDS)
    place = np.zeros(BANDS, np.int64)
    for r in range(n):
        m = 0
        positive = 0.0
        top = 0
        nans = 0
        for j in range(d):  # without branches: a CE's sign is a coin toss the CPU cannot predict
            v = values[r, j]
            up = v > 0.0
            terms[m] = v
            positive += v if up else 0.0  # + 0.0 leaves a sum of positive terms as it is
            m += up
            nans += not (v == v)
        finite = nans == 0
        positives[r] = m
        for i in range(m):
            if terms[i] > terms[top]:
                top = i
        if not finite or m < n_largest or positive == np.inf:
            ok[r] = False
            continue
        count[:] = 0
        total[:] = 0.0
        if m:
            bits = terms[:m].view(np.int64)  # a positive float's bits rise with its value
            high = bits[top] >> SHIFT
            for i in range(m):
                b = high - (bits[i] >> SHIFT)
                if b >= BANDS:
                    b = BANDS - 1
                band[i] = b
                count[b] += 1
                total[b] += terms[i]
        # Any two sums of these terms differ by at most this (each adds at most m + BANDS terms).
        bound = 4.0 * (m + BANDS + 2) * UNIT * positive
        for t in range(rules):
            must = thresholds[r, t]
            if must < 0.0:
                k[r, t] = 0
                end[r, t] = np.inf
                continue
            if positive <= must:
                if must - positive < bound:
                    ok[r] = False
                continue
            kept = 0.0
            before = 0
            b = 0
            while b < BANDS - 1 and kept + total[b] <= must:
                kept += total[b]
                before += count[b]
                b += 1
            size = 0
            for i in range(m):
                if band[i] == b:
                    part[size] = terms[i]
                    size += 1
            _order_descending(part, 0, size)
            found = False
            for i in range(size):
                last = kept
                kept += part[i]
                if kept > must:
                    k[r, t] = before + i + 1
                    end[r, t] = part[i]
                    # (the sum before the first term is 0 in any order)
                    found = kept - must > bound and (before + i == 0 or must - last >= bound)
                    break
            if not found:
                ok[r] = False
        if n_largest:
            # the bands that hold the n_largest largest terms, each ordered in its place
            reached = 0
            b = 0
            while reached + count[b] < n_largest:
                place[b] = reached
                reached += count[b]
                b += 1
            place[b] = reached
            for i in range(m):
                if band[i] <= b:
                    part[place[band[i]]] = terms[i]
                    place[band[i]] += 1
            start = 0
            for c in range(b + 1):
                _order_descending(part, start, start + count[c])
                start += count[c]
            largest[r] = part[:n_largest]
    return k, end, ok, largest, positives


@njit(cache=True)
def count_value_spearman(counts, values, order):
    """Row-wise Spearman of ``counts`` ((n, D) whole numbers from 0) against ``values`` ((n, D)),
    tied values sharing their average rank; ``order``: the columns in an order that nearly
    sorts each row of ``values``. NaN where a row is constant or ``values`` holds a NaN."""
    n, d = values.shape
    out = np.empty(n)
    mean = (d + 1) / 2.0
    rank_a = np.empty(d)
    rank_b = np.empty(d)
    sorted_b = np.empty(d)
    column = np.empty(d, np.int64)
    width = 1
    for r in range(n):
        for j in range(d):
            c = int(counts[r, j])
            if c + 1 > width:
                width = c + 1
    tally = np.empty(width, np.int64)
    for r in range(n):
        # counts: b values below and e equal (itself included) rank b + (e + 1) / 2
        tally[:] = 0
        for j in range(d):
            tally[int(counts[r, j])] += 1
        below = 0
        for v in range(width):
            e = tally[v]
            tally[v] = below  # reused: the number of values below v
            below += e
        # the count's average rank: below + (equal + 1) / 2, equal read from the next start
        nan = False
        for j in range(d):
            v = int(counts[r, j])
            upper = tally[v + 1] if v + 1 < width else d
            rank_a[j] = tally[v] + (upper - tally[v] + 1) / 2.0
        # values: insertion sort from the given order, ascending
        for i in range(d):
            col = order[i]
            x = values[r, col]
            if x != x:
                nan = True
                break
            j = i - 1
            while j >= 0 and sorted_b[j] > x:
                sorted_b[j + 1] = sorted_b[j]
                column[j + 1] = column[j]
                j -= 1
            sorted_b[j + 1] = x
            column[j + 1] = col
        if nan:
            out[r] = np.nan
            continue
        i = 0
        while i < d:
            j = i + 1
            while j < d and sorted_b[j] == sorted_b[i]:
                j += 1
            average = (i + j + 1) / 2.0  # places i + 1 .. j share their mean
            for p in range(i, j):
                rank_b[column[p]] = average
            i = j
        aa = 0.0
        bb = 0.0
        ab = 0.0
        for j in range(d):
            x = rank_a[j] - mean
            y = rank_b[j] - mean
            aa += x * x
            bb += y * y
            ab += x * y
        denom = np.sqrt(aa * bb)
        out[r] = ab / denom if denom > 0 else np.nan
    return out


@njit(cache=True)
def _row_set(key, r, k, e, positive, mask):
    """Row r's set into ``mask``: every term above ``e``, then terms equal to it in index order
    until k are taken (and only positive ones with ``positive``). Loops without branches but
    for the ties, so that the compiler vectorises them."""
    d = key.shape[1]
    room = k
    for j in range(d):
        mask[j] = key[r, j] > e
        room -= mask[j]
    j = 0
    while room > 0 and j < d:  # the ties, until k are taken
        if key[r, j] == e:
            mask[j] = True
            room -= 1
        j += 1
    if positive:
        for j in range(d):
            mask[j] = mask[j] and key[r, j] > 0


@njit(cache=True)
def set_masks(key, k, end, positive):
    """``required.set_mask(key, k, end)`` (and ``key > 0`` with ``positive``): each row's k first
    terms in descending order of ``key``, ties broken by index, from the key of its k-th."""
    n, d = key.shape
    out = np.zeros((n, d), np.bool_)
    for r in range(n):
        if k[r] > 0:
            _row_set(key, r, k[r], end[r], positive, out[r])
    return out


@njit(cache=True)
def _build_row(source, row, weights, w, s, out):
    """Supporting CE of one row into ``out``: ``source[row] * weights[w] * s``, multiplied in
    ``Supporting.values_of``'s order (the features times the weights, then the sign)."""
    for j in range(source.shape[1]):
        out[j] = source[row, j] * weights[w, j] * s


@njit(cache=True)
def build_rows(source, rows, weights, index, sign):
    """(n, D) ``Supporting.values_of`` from its parts (``Supporting.value_parts``) in one pass:
    numpy takes three (the rows gathered, times the weights, times the sign)."""
    out = np.empty((rows.shape[0], source.shape[1]))
    for r in range(rows.shape[0]):
        _build_row(source, rows[r], weights, index[r], sign[r], out[r])
    return out


@njit(cache=True)
def add_set_sums(source, rows, weights, index, sign, absolute, k, end, positive, group, hits, sums,
                 whole_rows, sum_values, extra):
    """For R readings of the same rows at once: row r's supporting CE, ``source[rows[r]] *
    weights[index[r]] * sign[r]`` (as ``Supporting.values_of`` multiplies them,
    ``Supporting.value_parts``), built one row at a time and never as a block; under each
    reading t its set (``set_masks`` from ``k[t, r]`` and ``end[t, r]``, on the CE's absolute
    values where ``absolute[t]``, positive terms only where ``positive[t]``) added to
    ``hits[t, group[r]]`` ((R, G, D) counts); and over the set (over the whole row with
    ``whole_rows``) the row's CE, with ``sum_values``, then ``extra[rows[r]]`` (an empty
    ``extra`` adds nothing) to ``sums[t, :, group[r]]``, row after row as numpy's sum over the
    rows of ``np.where(mask, part, 0.0)`` adds them."""
    n = rows.shape[0]
    d = source.shape[1]
    readings = k.shape[0]
    values = np.empty((1, d))
    magnitude = np.empty((1, d))
    mask = np.zeros(d, np.bool_)
    sum_extra = extra.shape[0] > 0
    any_absolute = absolute.any()
    for r in range(n):
        row = rows[r]
        _build_row(source, row, weights, index[r], sign[r], values[0])
        if any_absolute:
            for j in range(d):
                magnitude[0, j] = abs(values[0, j])
        g = group[r]
        for t in range(readings):
            if k[t, r] <= 0:
                mask[:] = False
            else:
                _row_set(magnitude if absolute[t] else values, 0, k[t, r], end[t, r], positive[t], mask)
            for j in range(d):
                hits[t, g, j] += mask[j]
            at = 0
            if sum_values:
                for j in range(d):
                    sums[t, 0, g, j] += values[0, j] if whole_rows or mask[j] else 0.0
                at = 1
            if sum_extra:
                for j in range(d):
                    sums[t, at, g, j] += extra[row, j] if whole_rows or mask[j] else 0.0


def warm() -> None:
    """Load (or, on a machine's first use, compile) every kernel, on inputs too small to time:
    what a process pays once before its first analysis (benchmarks report it apart)."""
    values = np.array([[1.0, -0.5, 2.0], [0.5, 0.25, -1.0]])
    k = np.array([1, 2], dtype=np.int64)
    end = np.array([2.0, 0.25])
    signed_terms(values, np.zeros((2, 1)), 1)
    count_value_spearman(np.array([[0.0, 1.0, 2.0]]), np.array([[0.3, 0.1, 0.2]]), np.array([1, 2, 0], dtype=np.int64))
    set_masks(values, k, end, False)
    rows = np.array([1, 0], dtype=np.int64)
    build_rows(values, rows, np.ones((1, 3)), np.zeros(2, dtype=np.int64), np.ones(2))
    add_set_sums(values, rows, np.ones((1, 3)), np.zeros(2, dtype=np.int64), np.ones(2), np.array([False, True]),
                 np.stack([k, k]), np.stack([end, end]), np.array([True, False]), np.zeros(2, dtype=np.int64),
                 np.zeros((2, 1, 3), dtype=np.int64), np.zeros((2, 2, 1, 3)), False, True, values)

"""How a long table appears on a page: one line, the full table one click away, and a CSV."""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = "—"  # how a table shows a value that does not exist


def frame_html(frame: pd.DataFrame) -> str:
    """A table as the book shows it: every row and column, its index only where it names the
    rows, ``MISSING`` where a value is missing."""
    plain = (frame.index.nlevels == 1 and frame.index.name is None
             and (isinstance(frame.index, pd.RangeIndex) or pd.api.types.is_integer_dtype(frame.index)))
    if plain:  # a pivot's column name (``method``) would otherwise head an empty index column
        frame = frame.rename_axis(columns=None)
    return _missing_shown(frame).to_html(index=not plain, max_rows=None, max_cols=None, na_rep=MISSING)


def _missing_shown(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``None`` in its object columns (a flag that does not apply, say), and inside
    their lists (a split without a value), as ``MISSING``: ``to_html``'s ``na_rep`` replaces NaN
    only, and would print "None"."""
    out = frame
    for at in np.flatnonzero((frame.dtypes == object).to_numpy()):
        column = frame.iloc[:, at]
        absent = column.map(lambda v: v is None or v is pd.NA).to_numpy(dtype=bool)
        gaps = column.map(lambda v: isinstance(v, (list, tuple)) and any(x is None for x in v)).to_numpy(dtype=bool)
        if absent.any() or gaps.any():
            out = out.copy() if out is frame else out
            shown = column.where(~absent, MISSING)
            out.iloc[:, at] = shown.where(~gaps, column.map(
                lambda v: "[" + ", ".join(MISSING if x is None else str(x) for x in v) + "]"
                if isinstance(v, (list, tuple)) else v))
    return out


@dataclass
class Collapsed:
    """A table shown as one line (``summary``), the whole table in a dropdown (HTML ``details``,
    nothing cut by pandas) and a CSV download carried by the page itself (a ``data:`` link)."""

    summary: str
    table: pd.DataFrame
    name: str = "table"  # the CSV's file name, without .csv

    def csv_link(self) -> str:
        data = base64.b64encode(self.table.to_csv(index=False).encode()).decode()
        return f'<a download="{html.escape(self.name)}.csv" href="data:text/csv;base64,{data}">CSV</a>'

    def _repr_html_(self) -> str:
        return (f"<details><summary>{html.escape(self.summary)} (the full table: click; {self.csv_link()})</summary>"
                f"{frame_html(self.table.reset_index(drop=True))}</details>")

    def __repr__(self) -> str:
        return self.summary

"""How a long table appears on a page: one line, the full table one click away, and a CSV."""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass

import pandas as pd


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
                f"{self.table.to_html(index=False, max_rows=None, max_cols=None, na_rep='—')}</details>")

    def __repr__(self) -> str:
        return self.summary

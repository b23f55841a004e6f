"""The Speed and Reproduce pages read every benchmark record as findings and tables."""
from __future__ import annotations

import pytest

from ceimb_utils.report import records


@pytest.mark.parametrize("name", sorted(records.FINDINGS))
def test_each_committed_record_reads_as_a_finding_without_gaps(name):
    if records.read(name) is None:  # book_time.json is written by a timed fresh clone, on demand
        assert records.finding(name)[0] == records.missing(name)
        return
    text, table = records.finding(name)
    assert "does not hold what this page reads" not in text
    assert "nan" not in text.lower().replace("nanosecond", "")
    if table is not None:
        cells = table.astype(str)
        assert not cells.apply(lambda c: c.str.contains(r"^\{|^nan$|^None$")).any().any(), table

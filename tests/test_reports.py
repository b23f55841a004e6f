"""Tables of the result pages (``report.reports``) on hand-made studies."""
import pandas as pd

from ceimb_utils.pipeline.study import Study
from ceimb_utils.report import reports


def test_the_share_table_counts_the_cells_whose_share_is_one_by_construction():
    """An SVM minority class with a handful of positive CE has a top-10% share of exactly 1 in
    every repeat: the table must say so beside its 100 ± 0, as claim 8 leaves such cells out."""
    rows = [("svm", "base", rep, c, g, share) for rep in range(3)
            for c, g, share in ((0, "majority", 0.5 + 0.01 * rep), (1, "minority", 1.0))]
    rows.append(("svm", "base", 0, 2, "minority", 0.8))
    classes = pd.DataFrame(rows, columns=["model", "method", "repeat", "class_index", "group", "top_share"])
    classes = classes.assign(top_share_instance=classes["top_share"], top_share_absolute=classes["top_share"])
    runs = classes.drop_duplicates(["model", "method", "repeat"])[["model", "method", "repeat"]]
    table = reports.top_share(Study("sylva", {}, [], {"classes": classes, "runs": runs})).set_index("group")
    assert table.loc["minority", ["trivial_cells", "cells"]].tolist() == [3, 4]
    assert table.loc["majority", ["trivial_cells", "cells"]].tolist() == [0, 3]


def test_the_readings_table_gives_the_top_share_in_percent():
    """Every page gives the top-10% share in percent; the readings table did in fractions."""
    from ceimb_utils.pipeline.study import Study
    from ceimb_utils.report import reports

    runs = pd.DataFrame({"model": "lg", "method": ["base"], "repeat": 0})
    readings = pd.DataFrame({"model": "lg", "method": "base", "group": ["majority", "minority"], "reading": "default",
                             "repeat": 0, "required_pct": [2.0, 6.0], "union_pct": [20.0, 40.0],
                             "top_share": [0.6, 0.75]})
    table = reports.readings(Study("sylva", {}, [], {"runs": runs, "readings": readings}))
    assert "top_share" not in table and table["top_share_pct"].tolist() == [60.0, 75.0]

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

"""Every number the golden notebooks show, within the tolerance measured across CPU back-ends."""
from ceimb_utils.pipeline import regression


def test_smoke_numbers_match_the_golden_file():
    golden = regression.read_golden()
    problems = regression.compare(golden, regression.numbers())
    assert not problems, f"{len(problems)} numbers moved beyond their tolerance:\n" + "\n".join(problems[:40])

"""Every number the golden notebooks show, within the tolerance measured across CPU back-ends."""
from ceimb_utils.pipeline import golden_numbers


def test_smoke_numbers_match_the_golden_file():
    golden = golden_numbers.read_golden()
    problems = golden_numbers.compare(golden, golden_numbers.numbers())
    assert not problems, f"{len(problems)} numbers moved beyond their tolerance:\n" + "\n".join(problems[:40])

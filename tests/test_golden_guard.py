"""The golden-number check catches real changes of a result, not only that cells run."""
import pytest

from ceimb_utils.ce import metrics
from ceimb_utils.pipeline import golden_numbers


def _golden_for(dataset: str) -> dict:
    golden = golden_numbers.read_golden()
    return {**golden, "values": {k: v for k, v in golden["values"].items() if k.startswith(f"{dataset}/")}}


@pytest.fixture(scope="module")
def sylva_golden():
    return _golden_for("sylva")


def test_unchanged_code_passes(sylva_golden):
    assert golden_numbers.compare(sylva_golden, golden_numbers.numbers(datasets=["sylva"])) == []


def test_a_changed_share_fraction_fails(sylva_golden):
    problems = golden_numbers.compare(sylva_golden, golden_numbers.numbers(datasets=["sylva"],
                                                                   overrides={"metrics.top_frac": 0.2}))
    moved = {p.split("/")[2] for p in problems}
    assert "top_share" in moved and "top_share_instance" in moved
    assert "required_pct" not in moved  # the share's fraction moves the shares only


def test_a_changed_bias_rule_fails(sylva_golden, monkeypatch):
    exact = metrics.required_ce
    monkeypatch.setattr(metrics, "required_ce", lambda *a, **kw: exact(*a, **{**kw, "bias": "exclude"}))
    problems = golden_numbers.compare(sylva_golden, golden_numbers.numbers(datasets=["sylva"]))
    assert any(p.split("/")[2] == "required_pct" for p in problems)


def test_a_vanished_number_and_a_nan_are_reported():
    golden = {"values": {"d/t/c/a": 1.0, "d/t/c/b": 2.0}, "tolerances": {"d/t/c": 0.1}}
    assert golden_numbers.compare(golden, {"d/t/c/a": 1.05, "d/t/c/b": 2.0}) == []
    problems = golden_numbers.compare(golden, {"d/t/c/a": None, "d/t/c/c": 2.0})
    assert len(problems) == 3 and any("missing" in p for p in problems) and any("not in the golden" in p for p in problems)


def test_tolerance_is_the_margin_over_the_spread_or_the_floor():
    tol = golden_numbers.tolerances({"d/classes/top_share": 0.01, "d/classes/n_tp": 0.0})
    assert tol["d/classes/top_share"] == pytest.approx(golden_numbers.MARGIN * 0.01)
    assert tol["d/classes/n_tp"] == golden_numbers.FLOORS["n_tp"]

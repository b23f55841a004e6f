import os

import pytest

os.environ["CEIMB_PROGRESS"] = "0"


@pytest.fixture(autouse=True)
def isolated_results(tmp_path, monkeypatch):
    """Every test writes its run cache into its own temporary directory."""
    monkeypatch.setenv("CEIMB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("CEIMB_PROGRESS", "0")
    yield tmp_path / "results"

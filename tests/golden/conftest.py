import pytest


@pytest.fixture(autouse=True)
def isolated_results():
    """The golden numbers share the notebooks' run cache (CEIMB_RESULTS set by `make nbval-golden`)."""
    yield None

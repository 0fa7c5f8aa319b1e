import os

import pytest
from hypothesis import HealthCheck, settings

# CI runs derandomized so a red build is reproducible; locally Hypothesis explores new examples each run.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True, scope="session")
def _a_cache_directory_of_the_tests(tmp_path_factory):
    """``ml4t run`` uses the cache by default (ml4t.cache): every run of the tests, in this process and in the
    subprocesses that inherit the environment, uses a temporary cache directory, never the user's."""
    previous = os.environ.get("ML4T_CACHE_DIR")
    os.environ["ML4T_CACHE_DIR"] = str(tmp_path_factory.mktemp("ml4t-cache"))
    yield
    if previous is None:
        os.environ.pop("ML4T_CACHE_DIR", None)
    else:
        os.environ["ML4T_CACHE_DIR"] = previous

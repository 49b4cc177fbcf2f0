"""Test configuration: hypothesis profiles, the ``long`` marker and numba warm-up.

Tests marked ``@pytest.mark.long`` (the 10^4-case fuzz runs) are skipped unless ``pytest --long``
is given, so the default ``python -m pytest -q`` never runs them.

Profiles (numpy/SciPy style), chosen by the environment variable ``MDPKIT_HYPOTHESIS_PROFILE``:
``ci`` (default when ``CI`` is set: derandomized, no example database, no deadline) and ``dev``
(random, prints reproduction blobs, fewer examples).
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev", deadline=None, max_examples=30, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_default = "ci" if os.environ.get("CI") else "dev"
settings.load_profile(os.environ.get("MDPKIT_HYPOTHESIS_PROFILE", _default))


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False,
                     help="also run the tests marked 'long' (e.g. the 10^4-case fuzz runs of issue 13)")


def pytest_configure(config):
    config.addinivalue_line("markers", "long: long-running test (fuzz runs); skipped unless pytest --long is given")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--long"):
        return
    skip = pytest.mark.skip(reason="long run: pass --long to run it")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _warm_numba():
    """Compile (or load from cache) the kernels once so no test pays for compilation."""
    from mdpkit import TabularMDP
    from mdpkit.solvers import gauss_seidel_value_iteration, modified_policy_iteration, value_iteration

    P = np.full((2, 2, 2), 0.5)
    m = TabularMDP(P, np.ones((2, 2)), 0.5)
    for mm in (m, m.to_sparse()):
        value_iteration(mm)
        gauss_seidel_value_iteration(mm)
        modified_policy_iteration(mm)

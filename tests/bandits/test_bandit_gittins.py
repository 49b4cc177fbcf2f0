"""Gittins index by the restart-in-state MDP (value iteration) against Whittle's retirement
calibration solved by backward induction and bisection (an independent route)."""

import numpy as np
import pytest

from mdpkit import InvalidArgumentError
from mdpkit.solvers.bandits import gittins_index


def _retirement_index(a, b, gamma, H=200):
    """Smallest lambda at which retiring on lambda/(1-gamma) is optimal at Beta(a, b): backward induction
    over H pulls (leaves frozen at max(lambda, mean)/(1-gamma)), bisection on lambda to 1e-12."""

    def value(lam):
        s = np.arange(H + 1)
        mean = (a + s) / (a + b + H)
        W = np.maximum(lam, mean) / (1 - gamma)
        for k in range(H - 1, -1, -1):
            s = np.arange(k + 1)
            p = (a + s) / (a + b + k)
            cont = p + gamma * (p * W[1:k + 2] + (1 - p) * W[:k + 1])
            W = np.maximum(lam / (1 - gamma), cont)
        return W[0]

    lo, hi = a / (a + b), 1.0
    while hi - lo > 1e-12:
        mid = (lo + hi) / 2
        if value(mid) > mid / (1 - gamma) + 1e-14:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("a, b, gamma", [(1, 1, 0.5), (1, 1, 0.9), (2, 5, 0.8), (3.5, 1.5, 0.7), (1, 4, 0.9)])
def test_restart_dp_matches_retirement_calibration(a, b, gamma):
    g = gittins_index(a, b, gamma, depth=90)
    ref = _retirement_index(a, b, gamma, H=250)
    assert abs(g.index - ref) <= g.error_bound + gamma ** 250 + 1e-9
    assert g.index >= a / (a + b) - 1e-12  # the index is at least the myopic mean


def test_index_increases_with_successes_and_gamma():
    assert gittins_index(2, 1, 0.8, depth=60).index > gittins_index(1, 2, 0.8, depth=60).index
    assert gittins_index(1, 1, 0.9, depth=60).index > gittins_index(1, 1, 0.5, depth=60).index


def test_bad_gittins_input():
    with pytest.raises(InvalidArgumentError, match="gamma"):
        gittins_index(1, 1, 1.0)
    with pytest.raises(InvalidArgumentError, match="positive"):
        gittins_index(0, 1, 0.9)

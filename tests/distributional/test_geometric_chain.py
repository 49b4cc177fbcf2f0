"""The two-state chain with a geometric number of rewards: an exact return law.

State 0 pays reward 1 and stays with probability p, else moves to the absorbing state 1 (reward 0).
From state 0 the number of rewards N is Geometric(1 - p) on {1, 2, ...}, so the return is
G = sum_{t<N} gamma^t = (1 - gamma^N) / (1 - gamma) with P(N = n) = p^(n-1) (1 - p), and
E G = 1 / (1 - gamma p).  Expected values below come from this closed form only.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mdpkit import TabularMDP, bounds
from mdpkit import distributions as D
from mdpkit.solvers import categorical_policy_evaluation, quantile_policy_evaluation

CASES = [(0.9, 0.9, 51), (0.5, 0.8, 11), (0.99, 0.95, 201), (0.3, 0.5, 5)]
POLICY = np.zeros(2, dtype=np.int64)


def chain(p, gamma):
    P = np.zeros((2, 1, 2))
    P[0, 0, 0], P[0, 0, 1], P[1, 0, 1] = p, 1.0 - p, 1.0
    return TabularMDP(P, np.array([[1.0], [0.0]]), gamma)


def geometric_law(p, gamma, n_max=None):
    """Atoms (1 - gamma^n)/(1 - gamma), n = 1..n_max, with the mass p^n_max of N > n_max put on
    the last atom (so the law is the return truncated after n_max rewards)."""
    if n_max is None:
        n_max = int(np.ceil(np.log(1e-17) / np.log(p))) + 1
    n = np.arange(1, n_max + 1)
    x = (1.0 - gamma ** n) / (1.0 - gamma)
    w = p ** (n - 1) * (1.0 - p)
    w[-1] += p ** n_max
    return x, w


@pytest.mark.parametrize("p, gamma, K", CASES)
def test_exact_particles_match_the_closed_form(p, gamma, K):
    H = 12
    eta = D.exact_return_distributions(chain(p, gamma), POLICY, H)
    x, w = geometric_law(p, gamma, n_max=H)
    order = np.argsort(eta.x[0])
    assert_allclose(eta.x[0][order], x, rtol=1e-13)
    assert_allclose(eta.p[0][order], w, rtol=1e-12, atol=1e-15)
    assert eta.x[1].tolist() == [0.0]


@pytest.mark.parametrize("p, gamma, K", CASES)
def test_categorical_fixed_point_mean_and_cramer_bound(p, gamma, K):
    res = categorical_policy_evaluation(chain(p, gamma), POLICY, n_atoms=K, epsilon=1e-12)
    # mean preservation on a covering support: the fixed point's mean is E G exactly
    assert res.v[0] == pytest.approx(1.0 / (1.0 - gamma * p), rel=1e-11)
    assert res.v[1] == pytest.approx(0.0, abs=1e-11)
    x, w = geometric_law(p, gamma)
    z = res.returns.support
    dist = D.cramer_distance(z, res.returns.probs[0], x, w)
    bound = bounds.categorical_fixed_point_bound(gamma, float(np.max(np.diff(z)))).value
    assert 0.0 < dist <= bound
    # the bound shrinks like sqrt(gap): with 16x the atoms it is 4x smaller and still holds (the
    # error itself need not decrease monotonically: atoms can align with a coarse grid)
    finer = categorical_policy_evaluation(chain(p, gamma), POLICY, n_atoms=16 * (K - 1) + 1, epsilon=1e-12)
    z2 = finer.returns.support
    bound2 = bounds.categorical_fixed_point_bound(gamma, float(np.max(np.diff(z2)))).value
    assert bound2 == pytest.approx(bound / 4, rel=1e-9)
    assert D.cramer_distance(z2, finer.returns.probs[0], x, w) <= bound2


@pytest.mark.parametrize("p, gamma, K", CASES[:2])
def test_quantile_atoms_are_return_values_and_the_mc_band_holds_the_exact_cdf(p, gamma, K):
    """The quantile fixed point's atoms lie in the law's range and are among its atoms (each target
    atom is 1 + gamma * atom, or 1), and the Monte Carlo DKW band contains the exact CDF."""
    res = quantile_policy_evaluation(chain(p, gamma), POLICY, n_quantiles=K, epsilon=1e-12)
    x, w = geometric_law(p, gamma)
    theta = np.sort(np.asarray(res.returns.locations[0]))
    lo = x.min() - 1e-12
    hi = x.max() + 1e-12
    assert np.all((theta >= lo) & (theta <= hi))
    # every quantile atom is one of the exact return values (the law is discrete and the
    # quantile fixed point's atoms are reached through the chain's own return values)
    assert np.all(np.min(np.abs(theta[:, None] - x[None, :]), axis=1) < 1e-8 * (1 + x.max()))
    mc = D.sample_returns(chain(p, gamma), POLICY, 0, 4000, rng=1)
    grid = np.linspace(x.min(), x.max(), 50)
    F = np.array([w[x <= g + 1e-12].sum() for g in grid])
    band_lo, band_hi = mc.cdf_band(grid, 1e-3)
    assert np.all(band_lo <= F + 1e-12) and np.all(F <= band_hi + 1e-12)

"""Nested (iterated) risk DP: ERM equals the static ERM; nested CVaR by hand; infinite horizon."""

import numpy as np
import pytest

from mdpkit import TabularMDP
from mdpkit.generators import make
from mdpkit.generators._risk_examples import cvar_counterexample  # export pending in generators/__init__
from mdpkit.solvers import value_iteration
from mdpkit.solvers.risk import nested_risk_dp, optimize_cvar, optimize_erm

from risk_bruteforce_helpers import achievable_laws, erm_float, random_model


@pytest.mark.parametrize("beta", [-0.7, 0.3, 1.5])
@pytest.mark.parametrize("seed", range(4))
def test_nested_erm_equals_static_erm_brute_force(beta, seed):
    """max_pi ERM_beta(G^pi) over history-dependent policies = entropic backward induction."""
    mdp, exact = random_model(np.random.default_rng(seed), 3, 2)
    best = max(erm_float(law, beta) for law in achievable_laws(exact, 3, 1))
    res = optimize_erm(mdp, beta, 3, state=1)
    assert abs(res.value - best) < 1e-9 and abs(res.policy_value - best) < 1e-9
    nested = nested_risk_dp(mdp, "erm", beta, 3)
    assert abs(nested.v[0][1] - best) < 1e-9


def test_nested_erm_discounted_uses_beta_gamma_t():
    """With gamma = 1/2 the static ERM of G = r_0 + r_1/2 (brute force) equals the finite-horizon recursion."""
    from fractions import Fraction as F
    mdp, exact = random_model(np.random.default_rng(7), 2, 2, gamma=0.5)
    best = max(erm_float(law, 0.8) for law in achievable_laws(exact, 2, 0, gamma=F(1, 2)))
    assert abs(optimize_erm(mdp, 0.8, 2, state=0).value - best) < 1e-9


def test_nested_cvar_by_hand_on_counterexample():
    """Nested CVaR_{1/2}: V(choice) = max(20, CVaR(0/100 coin) = 0) = 20, V(other) = 50,
    V(start) = CVaR_{1/2} of {20, 50} w.p. 1/2 each = 20; below the static optimum 25."""
    res = nested_risk_dp(cvar_counterexample(), "cvar", 0.5, 2)
    assert res.v[0][0] == pytest.approx(20.0, abs=1e-12)
    assert res.v[1][1] == pytest.approx(20.0, abs=1e-12) and res.policy[1][1] == 0
    assert res.v[0][0] < optimize_cvar(cvar_counterexample(), 0.5, 2).value


def test_nested_cvar_alpha_one_is_value_iteration():
    mdp = make("riverswim").with_gamma(0.9)
    res = nested_risk_dp(mdp, "cvar", 1.0, epsilon=1e-8)
    vi = value_iteration(mdp, epsilon=1e-10)
    assert np.max(np.abs(res.v - vi.v_policy)) < 1e-7
    assert res.converged and res.error_bound <= 1e-8


def test_nested_cvar_infinite_horizon_certificate():
    """The nested-CVaR operator is a gamma-contraction: the certified bound covers the distance
    to a much longer run (proxy for the fixed point)."""
    rng = np.random.default_rng(1)
    mdp, _ = random_model(rng, 4, 2, gamma=0.8)
    short = nested_risk_dp(mdp, "cvar", 0.3, epsilon=1e-3)
    long = nested_risk_dp(mdp, "cvar", 0.3, epsilon=1e-12)
    gap = np.max(np.abs(short.v - long.v))
    assert gap <= short.residuals[-1] * 0.8 / 0.2 + 1e-9

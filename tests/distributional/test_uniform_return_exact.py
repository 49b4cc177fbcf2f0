"""Exact cases on the model whose return is Uniform[0, 2].

Two states, every transition goes to each state w.p. 1/2, the realised reward is 1 on entering
state 1 and 0 on entering state 0, gamma = 1/2.  The return sum_t 2^{-t} b_t with b_t iid fair
bits is the binary expansion of a Uniform[0, 2] variable, from either state.  The H-step truncated
return is uniform on {k 2^{1-H}: k = 0..2^H-1} and differs from the full return by at most 2^{1-H}
pathwise, so every 1-Lipschitz-in-coupling functional (VaR, CVaR, ERM, mean) is within 2^{1-H}.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from mdpkit import TabularMDP
from mdpkit import distributions as D
from mdpkit.policies import policy_evaluation
from mdpkit.solvers import categorical_policy_evaluation, quantile_policy_evaluation

H = 12
SLACK = 2.0 ** (1 - H)


def uniform_model():
    P = np.full((2, 1, 2), 0.5)
    R_sas = np.zeros((2, 1, 2))
    R_sas[:, :, 1] = 1.0
    return TabularMDP(P, None, 0.5, R_sas=R_sas)


@pytest.fixture(scope="module")
def truncated():
    return D.exact_return_distributions(uniform_model(), [0, 0], H)


def test_truncated_law_is_the_dyadic_grid(truncated):
    x, p = truncated.laws()[0]
    np.testing.assert_array_equal(x, np.arange(2**H) * 2.0 ** (1 - H))
    np.testing.assert_array_equal(p, np.full(2**H, 2.0**-H))


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.1, 0.25, 0.5, 0.77, 1.0])
def test_var_cvar_closed_forms(truncated, alpha):
    """Uniform[0,2]: VaR_alpha = 2 alpha, CVaR_alpha = alpha (lower tail), mean 1."""
    x, p = truncated.laws()[0]
    # exact VaR of the dyadic grid: smallest k with (k+1) 2^-H >= alpha (Fractions)
    a = Fraction(alpha)
    k = max(0, math.ceil(a * 2**H) - 1)
    assert D.value_at_risk(x, p, alpha) == float(k * Fraction(2, 2**H))
    assert abs(D.value_at_risk(x, p, alpha) - 2 * alpha) <= SLACK
    assert abs(D.cvar(x, p, alpha) - alpha) <= SLACK + 1e-12
    assert abs(D.mean(x, p) - 1.0) <= SLACK


@pytest.mark.parametrize("beta", [-3.0, -0.5, 0.0, 0.7, 5.0, 200.0])
def test_entropic_risk_closed_form(truncated, beta):
    """ERM_beta(U[0,2]) = -(1/beta) log((1 - e^{-2 beta}) / (2 beta)); beta -> 0 gives the mean."""
    x, p = truncated.laws()[0]
    if beta == 0.0:
        expected = 1.0
    else:
        expected = -(math.log(-math.expm1(-2 * beta)) - math.log(2 * beta)) / beta if beta > 0 else \
            -(math.log(math.expm1(-2 * beta)) - math.log(-2 * beta)) / beta
    assert abs(D.entropic_risk(x, p, beta) - expected) <= SLACK + 1e-9


def _cramer_sq_proj_uniform(delta):
    """Closed form: squared Cramer distance between U[0,2] and its projection on a grid of step delta.

    On each cell the CDF rises by delta/2 linearly while the projected CDF sits at the midpoint
    level: integral of (u/2 - delta/4)^2 over [0, delta] = delta^3/48; 2/delta cells -> delta^2/24.
    """
    return delta**2 / 24.0


@pytest.mark.parametrize("K", [3, 5, 9, 17])
def test_categorical_projection_error_delta_sq_over_24(truncated, K):
    """l2(Pi_C U, U)^2 = Delta^2/24 for U[0,2] on an evenly spaced support of [0, 2].

    The dyadic law nu_h (h = 2^{1-H}) has l2(nu_h, U) = h/sqrt(6) (h^2/6: each cell contributes
    the integral of (u/2)^2 over [0, h]); by the triangle inequality and the non-expansion of Pi_C,
    |l2(Pi_C nu_h, nu_h) - l2(Pi_C U, U)| <= 2 h / sqrt(6).
    """
    x, p = truncated.laws()[0]
    z = np.linspace(0.0, 2.0, K)
    delta = z[1] - z[0]
    q = D.categorical_projection(x, p, z)
    d = D.cramer_distance(x, p, z, q)
    h = SLACK
    assert abs(d - math.sqrt(_cramer_sq_proj_uniform(delta))) <= 2 * h / math.sqrt(6) + 1e-12
    # analytic projected masses: delta/4 at the ends, delta/2 inside
    expected = np.full(K, delta / 2)
    expected[[0, -1]] = delta / 4
    np.testing.assert_allclose(q, expected, atol=2 * h)


@pytest.mark.parametrize("K", [5, 11, 51])
def test_categorical_fixed_point_brackets(truncated, K):
    """Delta^2/24 <= l2(eta_C, U)^2 <= Delta/(1-gamma)  (Rowland et al. 2018, Prop. 1 and Prop. 3).

    The lower bound holds because Pi_C U is the l2-closest law on the support (Prop. 1).
    """
    mdp = uniform_model()
    res = categorical_policy_evaluation(mdp, [0, 0], support=np.linspace(0, 2, K), epsilon=1e-12)
    assert res.converged and res.covers_returns
    x, p = truncated.laws()[0]
    h = SLACK / math.sqrt(6)  # l2(nu_h, U)
    z = res.returns.support
    delta = z[1] - z[0]
    for s in range(2):
        d = D.cramer_distance(x, p, z, res.returns.probs[s])
        assert d + h >= math.sqrt(delta**2 / 24) - 1e-9
        assert d - h <= math.sqrt(delta / (1 - mdp.gamma)) + res.error_bound
        assert d - h <= res.approximation_bound
    np.testing.assert_allclose(res.v, policy_evaluation(mdp, [0, 0]), atol=res.v_error_bound + 1e-12)
    np.testing.assert_allclose(res.v, 1.0, atol=res.v_error_bound + 1e-12)


def test_quantile_fixed_point_not_mean_preserving():
    """Quantile DP does not preserve the mean: on this model its fixed point has mean 1 - 1/m.

    Independent derivation: with theta_i = 2(i-1)/m the target atoms are j/m, j = 0..2m-1, each of
    mass 1/(2m); the generalised inverse at tau_i = (2i-1)/(2m) is the (2i-1)-th atom, (2i-2)/m =
    theta_i, so theta is a fixed point, and Pi_Q T is a contraction, so it is *the* fixed point.
    """
    m = 10
    res = quantile_policy_evaluation(uniform_model(), [0, 0], n_quantiles=m, epsilon=1e-12)
    np.testing.assert_allclose(res.returns.locations, np.tile(2 * np.arange(m) / m, (2, 1)), atol=1e-10)
    np.testing.assert_allclose(res.v, 1 - 1 / m, atol=1e-10)

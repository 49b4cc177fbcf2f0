"""EVaR: closed forms, an independent scipy search in beta, ordering with CVaR, and the optimiser."""

import math

import numpy as np
import pytest
import scipy.optimize as so
from hypothesis import given, settings, strategies as st
from scipy.stats import norm

from mdpkit import InvalidArgumentError
from mdpkit import distributions as D
from mdpkit.solvers.risk import optimize_evar

from risk_bruteforce_helpers import achievable_laws, random_model


def _evar_beta_search(x, p, alpha):
    """Independent route: maximise ERM_beta + log(alpha)/beta over log(beta) (grid + bounded Brent)."""
    def f(lb):
        b = math.exp(lb)
        y = -b * x
        m = y.max()
        return -(m + math.log(np.dot(p, np.exp(y - m)))) / b + math.log(alpha) / b

    grid = np.linspace(-12, 8, 801)
    vals = np.array([f(g) for g in grid])
    i = int(np.argmax(vals))
    r = so.minimize_scalar(lambda g: -f(g), bounds=(grid[max(i - 1, 0)], grid[min(i + 1, 800)]), method="bounded",
                           options={"xatol": 1e-12})
    return max(vals[i], -r.fun, float(x.min()))


def test_gaussian_closed_form__ahmadi_javid_2012():
    """EVaR_alpha of N(mu, s^2) (lower tail) = mu - s sqrt(-2 log alpha)."""
    x = np.linspace(-12, 12, 48001)
    p = norm.pdf(x)
    p /= p.sum()
    for a in (0.01, 0.1, 0.5, 0.9):
        assert abs(D.evar(2 + 3 * x, p, a) - (2 - 3 * math.sqrt(-2 * math.log(a)))) < 1e-6


def test_two_point_closed_form():
    """G in {0, 1}, P(G = 0) = q: EVaR_alpha = 0 for alpha <= q (every beta gives a value <= 0)."""
    for q in (0.2, 0.5, 0.8):
        for a in (0.05, q / 2, q):
            assert D.evar([0.0, 1.0], [q, 1 - q], a) == pytest.approx(0.0, abs=1e-9)
        # alpha > q: strictly positive, and the 1-D search agrees
        a = (1 + q) / 2
        v = D.evar([0.0, 1.0], [q, 1 - q], a)
        assert v > 0 and abs(v - _evar_beta_search(np.array([0.0, 1.0]), np.array([q, 1 - q]), a)) < 1e-8


@settings(max_examples=40)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=6), st.lists(st.integers(1, 5), min_size=6, max_size=6),
       st.sampled_from([0.05, 0.2, 0.5, 0.8, 0.99]))
def test_evar_matches_beta_search_and_orders(xs, ws, a):
    x = np.array(xs, float)
    p = np.array(ws[: len(xs)], float)
    p /= p.sum()
    v = D.evar(x, p, a)
    assert abs(v - _evar_beta_search(x, p, a)) <= 1e-7 * max(1.0, np.abs(x).max())
    assert x.min() - 1e-12 <= v <= D.cvar(x, p, a) + 1e-9  # ess inf <= EVaR <= CVaR
    assert D.evar(x, p, 1.0) == pytest.approx(np.dot(x, p)) and D.evar(x, p, 0.0) == x.min()


def test_batched_and_mixin():
    x = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 3.0]])
    p = np.array([[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]])
    out = D.evar(x, p, 0.3)
    assert out.shape == (2,) and out[0] == D.evar(x[0], p[0], 0.3)
    fr = D.FiniteReturns((x[0], x[1]), (p[0], p[1]))
    assert np.allclose(fr.evar(0.3), out)
    with pytest.raises(InvalidArgumentError):
        D.evar(x, p, 1.5)


def test_optimize_evar_is_a_tight_lower_bound():
    """optimize_evar returns the exact EVaR of its policy; brute force over history-dependent
    policies bounds it from above and (on these instances) it is within 1e-6 of the optimum."""
    for seed in range(4):
        mdp, exact = random_model(np.random.default_rng(seed), 2, 2)
        laws = achievable_laws(exact, 2, 0)
        best = max(D.evar(np.array([float(k) for k in law]), np.array([float(v) for v in law.values()]), 0.3)
                   for law in laws)
        res = optimize_evar(mdp, 0.3, 2, state=0)
        assert res.value <= best + 1e-9
        assert res.value >= best - 1e-6 * max(1.0, abs(best))

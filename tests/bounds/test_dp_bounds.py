"""Tests of mdpkit.bounds: closed forms on hand-made instances, rate fitting, assertions.

The theorem-level property tests (each bound against solvers on hypothesis instances steered
toward tight ones, with negative controls) are in tests/theory/test_dp_theorems.py.
"""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, target
from hypothesis import strategies as st

from mdpkit import bounds
from mdpkit.bounds import BoundKind, BoundViolation, assert_bound, bound_ratio, fit_rate


# ----------------------------------------------------------------------------- span coefficient
def test_span_coefficient_extremes__puterman_6_6():
    """delta = 1 when two rows have disjoint supports, 0 when all rows are equal."""
    assert bounds.span_contraction_coefficient(np.eye(3)) == 1.0
    assert bounds.span_contraction_coefficient(np.full((4, 4), 0.25)) == 0.0


def test_span_coefficient_two_rows_by_hand():
    # rows (0.5, 0.5, 0) and (0, 0.5, 0.5): overlap 0.5 -> delta 0.5
    P = np.array([[[0.5, 0.5, 0.0]], [[0.0, 0.5, 0.5]], [[0.25, 0.5, 0.25]]])
    assert bounds.span_contraction_coefficient(P) == pytest.approx(0.5, abs=1e-15)
    assert bounds.span_contraction_coefficient(sp.csr_matrix(P.reshape(3, 3))) == pytest.approx(0.5, abs=1e-15)


def test_span_coefficient_ignores_masked_rows():
    P = np.zeros((2, 2, 2))
    P[0, 0] = [1, 0]
    P[1, 0] = [1, 0]
    P[0, 1] = [0, 1]  # disjoint from the others, but masked out
    P[1, 1] = [1, 0]
    mask = np.array([[True, False], [True, True]])
    assert bounds.span_contraction_coefficient(P) == 1.0
    assert bounds.span_contraction_coefficient(P, mask) == 0.0


def test_span_coefficient_refuses_huge_inputs():
    with pytest.raises(ValueError, match="max_rows"):
        bounds.span_contraction_coefficient(np.full((30, 30), 1 / 30), max_rows=10)


@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 0.99), st.floats(0.01, 10.0))
def test_span_vi_iterations_exact_on_two_state_chain(p, q, gamma, r):
    """Two states, one action: sp(P w) = |1-p-q| sp(w) exactly, so spans decay at (gamma delta)^k.

    The iteration count of a plain numpy VI with the span rule must not exceed the bound, and
    the bound is attained up to one sweep (it is exact for this chain).
    """
    P = np.array([[1 - p, p], [q, 1 - q]])
    R = np.array([r, 0.0])
    delta = bounds.span_contraction_coefficient(P[:, None, :])
    assert delta == pytest.approx(abs(1 - p - q), abs=1e-12)
    eps = 1e-6
    if gamma == 0.0:
        return
    tol = bounds.span_stopping_tol(eps, gamma)
    v = np.zeros(2)
    v1 = R + gamma * P @ v
    first = float(np.ptp(v1 - v))
    n, d = 1, first
    while d >= tol and n < 100_000:
        v, v1 = v1, R + gamma * P @ v1
        d = float(np.ptp(v1 - v))
        n += 1
    nb = bounds.span_vi_iterations(gamma, delta, first, tol)
    assert n <= nb
    target(n / nb)
    if first >= tol and gamma * delta > 1e-3 and first * (gamma * delta) ** (nb - 2) > tol * (1 + 1e-6):
        assert n == nb  # exact geometric decay: the bound is attained


# ----------------------------------------------------------------------------- scalar bounds
@pytest.mark.parametrize("fn,args", [
    (bounds.vi_contraction_bound, (0.9, 3, 2.0)),
    (bounds.vi_a_posteriori_bound, (0.9, 0.1)),
    (bounds.greedy_loss_v, (0.9, 0.1)),
    (bounds.greedy_loss_q, (0.9, 0.1)),
    (bounds.approximate_vi_bound, (0.9, 5, 1.0, 0.01)),
    (bounds.approximate_vi_asymptotic, (0.9, 0.01)),
    (bounds.pi_contraction_bound, (0.9, 2, 1.0)),
    (bounds.simulation_lemma_bound, (0.9, 0.1, 0.2, 3.0)),
    (bounds.span_contraction_bound, (0.9, 0.5, 2.0)),
])
def test_bound_records_carry_citation_and_kind(fn, args):
    b = fn(*args)
    assert isinstance(b, bounds.Bound) and b.value >= 0 and math.isfinite(b.value)
    assert b.citation and b.statement
    assert b.kind in (BoundKind.DETERMINISTIC, BoundKind.ASYMPTOTIC)
    assert float(b) == b.value


@pytest.mark.parametrize("fn,args", [
    (bounds.vi_contraction_bound, (1.0, 3, 2.0)),
    (bounds.greedy_loss_v, (-0.1, 0.1)),
    (bounds.approximate_vi_bound, (1.5, 5, 1.0, 0.01)),
    (bounds.span_contraction_bound, (1.2, 0.5, 2.0)),
])
def test_bounds_reject_bad_gamma(fn, args):
    with pytest.raises(ValueError, match="gamma"):
        fn(*args)


def test_approximate_vi_bound_limit_and_asymptotic_consistency():
    """k -> inf: eps/(1-gamma); times the greedy factor 2 gamma/(1-gamma) it is the B&T asymptotic bound."""
    g, eps = 0.8, 0.05
    lim = bounds.approximate_vi_bound(g, 10_000, 3.0, eps).value
    assert lim == pytest.approx(eps / (1 - g), rel=1e-12)
    assert bounds.greedy_loss_v(g, lim).value == pytest.approx(bounds.approximate_vi_asymptotic(g, eps).value, rel=1e-12)


def test_simulation_lemma_closed_form_single_state():
    """One state, one action: V_i = r_i/(1-gamma), P identical, so the bound eps_r/(1-gamma) is attained."""
    g, r1, r2 = 0.7, 2.0, 1.5
    gap = abs(r1 - r2) / (1 - g)
    assert bounds.simulation_lemma_bound(g, abs(r1 - r2), 0.0, 0.0).value == pytest.approx(gap, rel=1e-15)
    rhs = bounds.simulation_identity(g, np.ones((1, 1)), [r1], [r2], np.ones((1, 1)), [r2 / (1 - g)])
    assert rhs[0] == pytest.approx(gap, rel=1e-14)


def test_performance_difference_two_state_by_hand():
    """pi = stay, pi' = move, two states, gamma = 1/2: both sides computed in closed form."""
    # states 0, 1; action 0 stays, action 1 moves to the other state; R = [[0, 1], [2, 0]]
    g = 0.5
    # v_pi (always stay) = [0, 4]; q_pi(s, move) = R + g v(other) = [1 + 2, 0 + 0] = [3, 0]
    adv = np.array([[0.0, 3.0], [0.0, -4.0]])
    # pi' always moves from mu = (1, 0): visits 0,1,0,1...; normalized occupancy (1-g)(1, g, g^2, ...)
    d = np.array([[0.0, (1 - g) / (1 - g * g)], [0.0, (1 - g) * g / (1 - g * g)]])
    rhs = bounds.performance_difference(g, d, adv).value
    # v_pi'(0) = 1 + g*R[1,1] + g^2*1 + ... = 1/(1 - g^2) since R[1, 1] = 0; v_pi(0) = 0
    assert rhs == pytest.approx(1 / (1 - g * g), rel=1e-14)


# ----------------------------------------------------------------------------- rate fitting
def test_fit_rate_recovers_geometric_and_polynomial_exactly():
    k = np.arange(40)
    f = fit_rate(3.0 * 0.8**k)
    assert f.rate == pytest.approx(0.8, rel=1e-12) and f.residual < 1e-12 and f.n_points == 40
    kk = np.arange(1, 50)
    f = fit_rate(5.0 * kk**-0.5, kind="polynomial")
    assert f.rate == pytest.approx(-0.5, rel=1e-12) and f.intercept == pytest.approx(math.log(5.0), rel=1e-12)


def test_fit_rate_floor_start_and_short_traces():
    y = np.r_[0.5 ** np.arange(10), 0.0, 1e-3]
    f = fit_rate(y, floor=0.0)
    assert f.n_points == 10 and f.rate == pytest.approx(0.5)
    assert fit_rate(y, start=1).n_points == 9
    assert fit_rate([1.0, 0.5]) is None
    with pytest.raises(ValueError, match="NaN"):
        fit_rate([1.0, np.nan, 0.2])
    with pytest.raises(ValueError, match="kind"):
        fit_rate([1.0, 0.5, 0.2], kind="linear")


@given(st.lists(st.floats(0.05, 1.0), min_size=3, max_size=30), st.floats(0.05, 0.999))
def test_fitted_rate_never_exceeds_the_worst_step_ratio(ratios, rho):
    """OLS slope on equally spaced points is a positive weighted mean of the log step ratios."""
    r = np.minimum(np.asarray(ratios), rho)
    y = np.cumprod(np.r_[1.0, r])
    f = fit_rate(y)
    assert f.rate <= rho * (1 + 1e-9)
    target(f.rate / rho)


# ----------------------------------------------------------------------------- assertions
def test_assert_bound_slack_is_explicit():
    assert assert_bound([1.0, 2.0], [1.0, 2.0]) == pytest.approx(1.0, rel=1e-9)
    assert_bound(1.0 + 1e-13, 1.0, rtol=0, atol=1e-12)
    with pytest.raises(BoundViolation, match=r"index \(1,\)"):
        assert_bound([0.5, 2.5], [1.0, 2.0], rtol=0, atol=0, what="demo")
    with pytest.raises(BoundViolation):
        assert_bound(1.0 + 1e-11, 1.0, rtol=0, atol=1e-12)


def test_bound_ratio_zero_bound_and_nan():
    r = bound_ratio([0.0, 1e-13, 1.0, np.nan], [0.0, 0.0, 0.0, 1.0], rtol=0, atol=1e-12)
    assert r[0] == 0 and r[1] == pytest.approx(0.1) and r[2] > 1 and np.isnan(r[3])
    assert bound_ratio(1.0, 0.0, rtol=0, atol=0) == np.inf
    with pytest.raises(ValueError):
        bound_ratio(1.0, 1.0, rtol=-1)


# ----------------------------------------------------------------------------- PI complexity
def test_pi_iteration_bounds():
    from mdpkit.bounds import pi_iterations_hansen_miltersen_zwick, pi_iterations_scherrer, pi_iterations_ye

    # gamma = 0: ln(1)/1 = 0, so k* = 1 and the bound is m - n (greedy for R is optimal after one step)
    assert pi_iterations_scherrer(12, 4, 0.0).value == 8
    # gamma = 0.9: ln(10)/0.1 = 23.03 -> ceil 24, +1 = 25
    assert pi_iterations_scherrer(12, 4, 0.9).value == 8 * 25
    assert pi_iterations_scherrer(4, 4, 0.99).value == 0  # one action per state: pi_0 is optimal
    for f in (pi_iterations_hansen_miltersen_zwick, pi_iterations_ye):
        assert f(12, 4, 0.9).kind is BoundKind.RATE_ONLY
    with pytest.raises(ValueError, match="n_pairs"):
        pi_iterations_scherrer(3, 4, 0.5)
    with pytest.raises(ValueError, match="gamma"):
        pi_iterations_scherrer(8, 4, 1.0)


@given(st.integers(1, 4), st.integers(1, 3), st.sampled_from([0.0, 0.5, 0.9, 0.99]), st.integers(0, 10**6))
def test_pi_iterations_hold_against_brute_force__scherrer_2016(S, A, gamma, seed):
    """Run plain Howard PI (numpy) and check optimality by enumerating all A^S policies."""
    import itertools

    from mdpkit.bounds import pi_iterations_scherrer

    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S) * 0.3, size=(S, A))
    R = rng.normal(size=(S, A))

    def value(pi):
        Pp = P[np.arange(S), pi]
        return np.linalg.solve(np.eye(S) - gamma * Pp, R[np.arange(S), pi])

    vstar = np.max([value(np.array(p)) for p in itertools.product(range(A), repeat=S)], axis=0)
    pi = rng.integers(0, A, S)
    k = 0
    while True:
        v = value(pi)
        if np.all(vstar - v <= 1e-9 * (1 + np.abs(vstar).max())):
            break
        q = R + gamma * P @ v
        pi = np.where(q.max(axis=1) > q[np.arange(S), pi] + 1e-12, q.argmax(axis=1), pi)
        k += 1
    b = pi_iterations_scherrer(S * A, S, gamma).value
    assert k <= b
    if b:
        target(k / b)

"""Occupancy measures and exact policy gradients (mdpkit.occupancy).

Oracles: truncated power series of P_pi (numpy loop), Richardson-extrapolated central finite
differences of an independent value function (numpy dense solve written here), and the policy
gradient theorem assembled here from an explicit Jacobian of log pi.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit import occupancy as oc
from mdpkit.testing.strategies import mdps

INSTANCES = mdps(n_states=(2, 5), n_actions=(1, 3), gamma=(0.5, 0.95), masked=True)
SET = settings(max_examples=25, deadline=None)


# ----------------------------------------------------------------------------- independent oracles
def value_numpy(mdp, pi, mu):
    """V^pi(mu) by a dense numpy solve, pi any (S, A) array (off-simplex allowed: linear extension)."""
    P = mdp.P_dense()
    S = mdp.S
    Ppi = np.einsum("sa,sat->st", pi, P)
    rpi = np.sum(pi * np.where(mdp.action_mask, mdp.R, 0.0), axis=1)
    return float(mu @ np.linalg.solve(np.eye(S) - mdp.gamma * Ppi, rpi))


def softmax_numpy(theta, mask):
    z = np.where(mask, theta, -np.inf)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def richardson(f, x, h=1e-3):
    """Central differences extrapolated from h and h/2 (error O(h^4))."""
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        def cd(hh):
            e = np.zeros_like(x)
            e[idx] = hh
            return (f(x + e) - f(x - e)) / (2 * hh)
        g[idx] = (4 * cd(h / 2) - cd(h)) / 3
    return g


def draw_inputs(data, mdp):
    theta = np.array(data.draw(st.lists(st.floats(-2, 2), min_size=mdp.S * mdp.A, max_size=mdp.S * mdp.A))).reshape(mdp.S, mdp.A)
    w = np.array(data.draw(st.lists(st.integers(1, 5), min_size=mdp.S, max_size=mdp.S)), float)
    return theta, w / w.sum()


def scale(mdp):
    return max(1.0, float(np.abs(mdp.R).max())) / (1.0 - mdp.gamma)


# ----------------------------------------------------------------------------- occupancy
@SET
@given(INSTANCES, st.data())
def test_state_occupancy_equals_the_discounted_visit_series(mdp, data):
    theta, mu = draw_inputs(data, mdp)
    pi = softmax_numpy(theta, mdp.action_mask)
    d = oc.state_occupancy(mdp, pi, mu)
    Ppi = np.einsum("sa,sat->st", pi, mdp.P_dense())
    series, p, gt = np.zeros(mdp.S), mu.copy(), 1.0
    for _ in range(int(np.log(1e-16) / np.log(mdp.gamma)) + 50):
        series += gt * p
        p, gt = p @ Ppi, gt * mdp.gamma
    np.testing.assert_allclose(d, (1 - mdp.gamma) * series, atol=1e-12)
    assert d.sum() == pytest.approx(1.0, abs=1e-12)
    dsa = oc.state_action_occupancy(mdp, pi, mu)
    np.testing.assert_allclose(dsa.sum(axis=1), d, atol=1e-14)
    assert np.all(dsa[~mdp.action_mask] == 0)


# ----------------------------------------------------------------------------- gradients vs FD
@SET
@given(INSTANCES, st.data())
def test_softmax_gradient_matches_finite_differences_of_the_masked_policy(mdp, data):
    theta, mu = draw_inputs(data, mdp)
    g = oc.softmax_gradient(mdp, theta, mu)
    fd = richardson(lambda th: value_numpy(mdp, softmax_numpy(th, mdp.action_mask), mu), theta)
    assert np.max(np.abs(g - fd)) <= 1e-8 * scale(mdp)
    # masked logits do not move the masked policy: their gradient is exactly zero
    assert np.all(g[~mdp.action_mask] == 0.0)


@SET
@given(INSTANCES, st.data())
def test_softmax_gradient_is_the_policy_gradient_theorem(mdp, data):
    """(1/(1-gamma)) sum_{s,a} d(s) pi(a|s) grad log pi(a|s) Q(s,a), with the Jacobian of log pi written out."""
    theta, mu = draw_inputs(data, mdp)
    pi = softmax_numpy(theta, mdp.action_mask)
    P, S, A = mdp.P_dense(), mdp.S, mdp.A
    Ppi = np.einsum("sa,sat->st", pi, P)
    rpi = np.sum(pi * np.where(mdp.action_mask, mdp.R, 0), axis=1)
    v = np.linalg.solve(np.eye(S) - mdp.gamma * Ppi, rpi)
    q = mdp.R + mdp.gamma * P @ v
    d = (1 - mdp.gamma) * np.linalg.solve((np.eye(S) - mdp.gamma * Ppi).T, mu)
    grad = np.zeros((S, A))
    for s in range(S):
        for a in np.flatnonzero(mdp.action_mask[s]):
            glog = np.zeros((S, A))
            glog[s, mdp.action_mask[s]] = -pi[s, mdp.action_mask[s]]
            glog[s, a] += 1.0
            grad += d[s] * pi[s, a] * glog * q[s, a]
    grad /= 1 - mdp.gamma
    assert np.max(np.abs(oc.softmax_gradient(mdp, theta, mu) - grad)) <= 1e-10 * scale(mdp)


@SET
@given(INSTANCES, st.data())
def test_direct_gradient_matches_finite_differences(mdp, data):
    theta, mu = draw_inputs(data, mdp)
    pi = softmax_numpy(theta, mdp.action_mask)
    g = oc.direct_gradient(mdp, pi, mu)
    fd = richardson(lambda p: value_numpy(mdp, np.where(mdp.action_mask, p, 0.0), mu), pi, h=1e-4)
    fd[~mdp.action_mask] = 0.0
    assert np.max(np.abs(g - fd)) <= 1e-8 * scale(mdp) / (1 - mdp.gamma)


@SET
@given(INSTANCES, st.data())
def test_loglinear_gradient_matches_finite_differences(mdp, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    d = 3
    phi = rng.normal(size=(mdp.S, mdp.A, d))
    w = rng.normal(size=d)
    _, mu = draw_inputs(data, mdp)
    g = oc.loglinear_gradient(mdp, phi, w, mu)
    fd = richardson(lambda ww: value_numpy(mdp, softmax_numpy(phi @ ww, mdp.action_mask), mu), w)
    assert np.max(np.abs(g - fd)) <= 1e-8 * scale(mdp)


def test_loglinear_with_one_hot_features_is_the_tabular_softmax():
    rng = np.random.default_rng(3)
    S, A = 3, 2
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), 0.9)
    phi = np.eye(S * A).reshape(S, A, S * A)
    theta = rng.normal(size=(S, A))
    np.testing.assert_allclose(oc.loglinear_gradient(mdp, phi, theta.ravel()),
                               oc.softmax_gradient(mdp, theta).ravel(), atol=1e-13)


def test_masked_softmax_is_not_the_unmasked_gradient():
    """The naive gradient (softmax over all actions, then zero the masked ones) is a different vector."""
    S, A = 2, 3
    P = np.full((S, A, S), 0.5)
    mask = np.array([[True, True, False], [True, True, True]])
    mdp = TabularMDP(P, np.array([[1.0, 0.0, 5.0], [0.0, 1.0, 2.0]]), 0.9, action_mask=mask)
    theta = np.zeros((S, A))
    g = oc.softmax_gradient(mdp, theta)
    unmasked = TabularMDP(P, np.where(mask, mdp.R, 0.0), 0.9)
    naive = np.where(mask, oc.softmax_gradient(unmasked, theta), 0.0)
    assert np.max(np.abs(g - naive)) > 1e-2
    np.testing.assert_allclose(oc.softmax_policy(mdp, theta)[0], [0.5, 0.5, 0.0])


# ----------------------------------------------------------------------------- sampled estimator
def test_sampled_gradient_is_unbiased_with_its_standard_error():
    rng = np.random.default_rng(0)
    S, A = 3, 2
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), 0.7)
    theta = rng.normal(size=(S, A))
    exact = oc.softmax_gradient(mdp, theta)
    est = oc.sampled_gradient(mdp, theta, n_samples=40_000, rng=np.random.default_rng(1))
    z = np.abs(est.mean - exact) / est.stderr
    assert np.all(z < 4.5), z
    assert np.all(est.variance > 0) and est.n_samples == 40_000
    # more samples, smaller standard error (the variance per draw does not depend on n)
    small = oc.sampled_gradient(mdp, theta, n_samples=4_000, rng=np.random.default_rng(2))
    np.testing.assert_allclose(small.stderr / est.stderr, np.sqrt(10) * np.sqrt(small.variance / est.variance), rtol=1e-12)
    assert np.allclose(small.variance, est.variance, rtol=0.25)


def test_entropy_regularized_values_satisfy_the_soft_bellman_equation():
    rng = np.random.default_rng(5)
    S, A, tau = 4, 3, 0.3
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(-1, 1, (S, A)), 0.85)
    pi = rng.dirichlet(np.ones(A), size=S)
    v, q = oc.entropy_regularized_values(mdp, pi, tau)
    np.testing.assert_allclose(v, np.sum(pi * (q - tau * np.log(pi)), axis=1), atol=1e-12)
    np.testing.assert_allclose(q, mdp.R + mdp.gamma * mdp.P @ v, atol=1e-12)


# ----------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_named_errors():
    mdp = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 0.9)
    with pytest.raises(InvalidArgumentError, match="mu sums to"):
        oc.state_occupancy(mdp, np.full((2, 2), 0.5), [0.5, 0.6])
    with pytest.raises(InvalidArgumentError, match=r"mu\[1\]"):
        oc.state_occupancy(mdp, np.full((2, 2), 0.5), [1.5, -0.5])
    with pytest.raises(InvalidArgumentError, match="theta must have"):
        oc.softmax_gradient(mdp, np.zeros(3))
    with pytest.raises(InvalidArgumentError, match="n_samples"):
        oc.sampled_gradient(mdp, np.zeros((2, 2)), n_samples=1, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="rng"):
        oc.sampled_gradient(mdp, np.zeros((2, 2)), rng=0)
    with pytest.raises(InvalidArgumentError, match="phi must have shape"):
        oc.loglinear_policy(mdp, np.zeros((2, 3, 1)), np.zeros(1))
    with pytest.raises(InvalidArgumentError, match="tau"):
        oc.entropy_regularized_values(mdp, np.full((2, 2), 0.5), -1.0)

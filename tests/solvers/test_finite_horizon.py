"""Tests of finite-horizon backward induction (``mdpkit.solvers.backward_induction``).

Oracles are independent of the solver's recursion:

* brute force: every deterministic Markov policy ``pi (H, S)`` is enumerated and its expected
  total reward is computed *forward* by matrix products,
  ``sum_t gamma^t (P_0 ... P_{t-1}) r_t + gamma^H (P_0 ... P_{H-1}) v_term``;
  the optimum is the state-wise maximum over all of them;
* discounted v* (for the horizon limit): every stationary deterministic policy is evaluated by
  ``numpy.linalg.solve`` and the state-wise maximum is taken;
* a small hand-solved non-stationary example.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit.solvers import backward_induction
from mdpkit.testing.strategies import mdps

# Values below are sums of at most ~5 products of small integers and probabilities with small
# denominators, so float64 errors are ~1e-14; these tolerances leave two orders of margin.
RTOL = 1e-12
ATOL = 1e-10


def assert_bound(lhs, rhs, *, rtol, atol):
    """Assert ``lhs <= rhs + atol + rtol*|rhs|`` elementwise (explicit floating-point slack)."""
    lhs = np.asarray(lhs, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    ok = lhs <= rhs + atol + rtol * np.abs(rhs)
    assert np.all(ok), f"bound violated: lhs={lhs[~ok] if lhs.ndim else lhs}, rhs={rhs[~ok] if rhs.ndim else rhs}"


# ---------------------------------------------------------------------------- brute force
def markov_policy_value(models, policy, gamma, v_term):
    """Expected total reward of the Markov policy ``policy (H, S)`` from every start state.

    Forward in time: ``v = sum_t gamma^t M_t r_t + gamma^H M_H v_term`` with ``M_0 = I`` and
    ``M_{t+1} = M_t P_t[pi_t]`` (``M_t[s, s']`` = probability of being in ``s'`` at time ``t``).
    """
    S = v_term.shape[0]
    idx = np.arange(S)
    M = np.eye(S)
    total = np.zeros(S)
    for t, m in enumerate(models):
        P = m.P_dense()
        total += gamma**t * (M @ m.R[idx, policy[t]])
        M = M @ P[idx, policy[t]]
    return total + gamma ** len(models) * (M @ v_term)


def all_markov_policies(models, S):
    """Every deterministic Markov policy (H, S) that uses only available actions."""
    H = len(models)
    choices = [np.flatnonzero(m.action_mask[s]).tolist() for m in models for s in range(S)]
    for combo in itertools.product(*choices):
        yield np.array(combo, dtype=np.int64).reshape(H, S)


def brute_force_optimum(models, gamma, v_term):
    """State-wise max over all Markov policies of the expected total reward."""
    best = np.full(v_term.shape[0], -np.inf)
    for pol in all_markov_policies(models, v_term.shape[0]):
        best = np.maximum(best, markov_policy_value(models, pol, gamma, v_term))
    return best


def brute_force_discounted_vstar(mdp):
    """Discounted v* as the state-wise max of (I - gamma P_pi)^{-1} r_pi over stationary policies."""
    S = mdp.S
    P = mdp.P_dense()
    idx = np.arange(S)
    best = np.full(S, -np.inf)
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(S)]):
        pol = np.array(pol)
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pol], mdp.R[idx, pol])
        best = np.maximum(best, v)
    return best


# ---------------------------------------------------------------------------- strategies
GAMMAS = st.one_of(st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.floats(0.0, 1.0, allow_nan=False))


@st.composite
def fh_instances(draw, time_varying: bool):
    """(mdp or list of per-step models, H, gamma, terminal value or None); at most 3**6 policies."""
    S = draw(st.integers(1, 3))
    A = draw(st.integers(1, 3))
    H = draw(st.integers(1 if time_varying else 0, min(4, 6 // S)))
    gamma = draw(GAMMAS)
    kw = dict(n_states=S, n_actions=A, gamma=gamma, sparse=None, masked=True)
    if time_varying:
        model = [draw(mdps(**kw)) for _ in range(H)]
    else:
        model = draw(mdps(**kw))
    tv = draw(st.none() | st.lists(st.integers(-6, 6).map(lambda x: x / 2), min_size=S, max_size=S))
    return model, H, gamma, None if tv is None else np.array(tv)


def check_against_brute_force(model, H, gamma, tv, res):
    models = [model] * H if isinstance(model, TabularMDP) else list(model)
    S = models[0].S if models else model.S
    A = models[0].A if models else model.A
    v_term = np.zeros(S) if tv is None else tv
    # shapes and dtypes
    assert res.v.shape == (H + 1, S) and res.v.dtype == np.float64
    assert res.policy.shape == (H, S) and res.policy.dtype == np.int64
    assert res.q.shape == (H, S, A) and res.q.dtype == np.float64
    assert res.converged and res.error_bound == 0.0 and res.n_iter == H
    assert_array_equal(res.v[H], v_term)
    # v_t equals the brute-force optimum of the tail problem t..H-1, for every t
    opt = [None] * (H + 1)
    for t in range(H, -1, -1):
        opt[t] = brute_force_optimum(models[t:], gamma, v_term)
        assert_allclose(res.v[t], opt[t], rtol=RTOL, atol=ATOL, err_msg=f"v[{t}]")
    for t in range(H):
        m = models[t]
        # the returned policy uses available actions and its tail t..H-1 is optimal
        assert m.action_mask[np.arange(S), res.policy[t]].all()
        assert_allclose(markov_policy_value(models[t:], res.policy[t:], gamma, v_term), opt[t],
                        rtol=RTOL, atol=ATOL, err_msg=f"value of policy[{t}:]")
        # q_t(s, a) = R_t(s, a) + gamma P_t(s, a) . v*_{t+1}; masked actions hold -inf
        q_expected = np.where(m.action_mask, m.R + gamma * m.P_dense() @ opt[t + 1], -np.inf)
        assert_allclose(res.q[t], q_expected, rtol=RTOL, atol=ATOL, err_msg=f"q[{t}]")
    assert_allclose(res.v_policy, res.v[0], rtol=0, atol=0)


# ---------------------------------------------------------------------------- brute force
@given(fh_instances(time_varying=False))
def test_time_homogeneous_matches_brute_force_over_markov_policies__puterman_1994_thm_4_5_1(inst):
    """v_t = max over Markov policies of E[sum_{k=t}^{H-1} gamma^{k-t} r_k + gamma^{H-t} v_H]
    (Puterman 1994, Thm 4.5.1), and the greedy policy attains it from every t."""
    model, H, gamma, tv = inst
    res = backward_induction(model, H, terminal_value=tv)
    check_against_brute_force(model, H, gamma, tv, res)
    assert res.options["time_varying"] is False


@given(fh_instances(time_varying=True), st.booleans())
def test_time_varying_matches_brute_force_over_markov_policies__puterman_1994_thm_4_5_1(inst, pass_h):
    """Same statement with per-step models (P_t, R_t), t = 0..H-1 (Puterman 1994, Sec. 4.5)."""
    models, H, gamma, tv = inst
    res = backward_induction(models, H if pass_h else None, terminal_value=tv)
    check_against_brute_force(models, H, gamma, tv, res)
    assert res.options["time_varying"] is True


def test_dense_and_csr_give_identical_results():
    rng = np.random.default_rng(0)
    S, A = 4, 3
    P = rng.integers(0, 4, size=(S, A, S)).astype(float) + (rng.random((S, A, S)) < 0.2)
    P[P.sum(axis=2) == 0, 0] = 1.0
    P /= P.sum(axis=2, keepdims=True)
    m = TabularMDP(P, rng.integers(-3, 4, size=(S, A)).astype(float), 1.0)
    a = backward_induction(m, 6, terminal_value=np.arange(S, dtype=float))
    b = backward_induction(m.to_sparse(), 6, terminal_value=np.arange(S, dtype=float))
    assert_allclose(a.v, b.v, rtol=1e-13, atol=1e-13)
    assert_allclose(a.q, b.q, rtol=1e-13, atol=1e-13)
    # brute force at H = 2 on the CSR model (3**8 Markov policies)
    tv = np.arange(S, dtype=float)
    check_against_brute_force(m.to_sparse(), 2, 1.0, tv, backward_induction(m.to_sparse(), 2, terminal_value=tv))


def test_hand_solved_non_stationary_optimal_policy():
    """Two states, gamma = 1.  State 0: a0 -> state 1 (reward 0), a1 stays (reward 1).
    State 1 is absorbing with reward 3.  By hand: v_2 = [0, 0]; v_1 = [max(0+0, 1+0), 3] = [1, 3]
    with a1 in state 0; v_0 = [max(0+3, 1+1), 6] = [3, 6] with a0 in state 0.  The optimal
    action in state 0 changes with the time left, so no stationary policy is optimal."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 1] = P[1, 1, 1] = 1.0
    R = np.array([[0.0, 1.0], [3.0, 3.0]])
    res = backward_induction(TabularMDP(P, R, 1.0), 2)
    assert_array_equal(res.v, [[3.0, 6.0], [1.0, 3.0], [0.0, 0.0]])
    assert res.policy[:, 0].tolist() == [0, 1]
    assert_array_equal(res.q[0], [[3.0, 2.0], [6.0, 6.0]])
    # a terminal bonus of 10 in state 1 makes moving right away optimal at both epochs
    res = backward_induction(TabularMDP(P, R, 1.0), 2, terminal_value=[0.0, 10.0])
    assert_array_equal(res.v[0], [13.0, 16.0])
    assert res.policy[:, 0].tolist() == [0, 0]


def test_masked_actions_are_never_chosen_and_have_minus_inf_q():
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    R = np.array([[1.0, 100.0], [0.0, 0.0]])
    mask = np.array([[True, False], [True, True]])
    res = backward_induction(TabularMDP(P, R, 1.0, action_mask=mask), 3)
    assert (res.policy[:, 0] == 0).all()
    assert (res.q[:, 0, 1] == -np.inf).all()
    assert_array_equal(res.v[:, 0], [3.0, 2.0, 1.0, 0.0])


# ---------------------------------------------------------------------------- H = 0
@pytest.mark.parametrize("tv", [None, [1.5, -2.0, 0.0]])
def test_zero_horizon_returns_terminal_value(tv):
    m = TabularMDP(np.full((3, 2, 3), 1 / 3), np.ones((3, 2)), 0.9)
    res = backward_induction(m, 0, terminal_value=tv)
    assert res.v.shape == (1, 3) and res.policy.shape == (0, 3) and res.q.shape == (0, 3, 2)
    assert res.policy.dtype == np.int64
    assert_array_equal(res.v[0], np.zeros(3) if tv is None else tv)
    assert res.n_iter == 0 and res.error_bound == 0.0 and res.converged


# ---------------------------------------------------------------------------- errors
def _model(S=2, A=2, gamma=0.9):
    return TabularMDP(np.full((S, A, S), 1.0 / S), np.zeros((S, A)), gamma)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((_model(),), {}, "horizon is required"),
        ((_model(), -1), {}, "horizon must be >= 0"),
        ((_model(), 2.0), {}, "horizon must be an integer"),
        ((_model(), True), {}, "horizon must be an integer"),
        (([_model(), _model()], 3), {}, "horizon=3 but 2 per-step models"),
        (([_model(), _model(S=3)],), {}, "model 1 has S=3"),
        (([_model(), _model(A=3)],), {}, "model 1 has S=2, A=3"),
        (([_model(), _model(gamma=0.5)],), {}, "gamma=0.5"),
        (([],), {}, "non-empty sequence"),
        (([_model(), "not a model"],), {}, "sequence of TabularMDP"),
        ((_model(), 2), {"terminal_value": [0.0, 0.0, 0.0]}, r"terminal_value must have shape \(S,\) = \(2,\)"),
        ((_model(), 2), {"terminal_value": [[0.0, 0.0]]}, "terminal_value must have 1 dimensions"),
        ((_model(), 2), {"terminal_value": [0.0, np.nan]}, r"terminal_value\[1\] is nan"),
        ((_model(), 2), {"terminal_value": [np.inf, 0.0]}, r"terminal_value\[0\] is inf"),
        ((_model(), 2), {"terminal_value": ["a", "b"]}, "terminal_value could not be converted"),
    ],
)
def test_invalid_arguments_raise(args, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        backward_induction(*args, **kwargs)


# ---------------------------------------------------------------------------- horizon limit
@settings(max_examples=40)
@given(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.99), masked=True, sparse=None),
       st.lists(st.integers(-8, 8), min_size=4, max_size=4))
def test_horizon_value_converges_to_discounted_optimum__puterman_1994_thm_6_3_1(mdp, tv_ints):
    """||v_0^H - v*||_inf <= gamma^H ||v_H - v*||_inf, where v_0^H = T^H v_H is the H-step
    optimum with terminal value v_H (contraction of T; Puterman 1994, Thm 6.3.1(a)); with
    v_H = 0 this gives ||v_0^H - v*||_inf <= gamma^H max|R| / (1 - gamma)."""
    S = mdp.S
    v_star = brute_force_discounted_vstar(mdp)
    r_max = float(np.max(np.abs(mdp.R[mdp.action_mask])))
    tv = np.array(tv_ints[:S], dtype=float)
    # linear solves on (I - gamma P_pi), gamma <= 0.99: relative error well below 1e-12
    atol = 1e-11 * (1.0 + np.abs(v_star).max())
    H_max = 40
    v_zero = backward_induction(mdp, H_max).v  # terminal value 0
    v_tv = backward_induction(mdp, H_max, terminal_value=tv).v
    worst = 0.0
    for H in range(H_max + 1):
        # v[H_max - H] is the optimum with H steps to go
        gH = mdp.gamma**H
        err0 = np.abs(v_zero[H_max - H] - v_star).max()
        assert_bound(err0, gH * np.abs(v_star).max(), rtol=1e-10, atol=atol)
        assert_bound(err0, gH * r_max / (1.0 - mdp.gamma), rtol=1e-10, atol=atol)
        err = np.abs(v_tv[H_max - H] - v_star).max()
        rhs = gH * np.abs(tv - v_star).max()
        assert_bound(err, rhs, rtol=1e-10, atol=atol)
        if rhs > 1e-9:
            worst = max(worst, err / rhs)
    target(worst, label="||v_0^H - v*|| / (gamma^H ||v_H - v*||)")

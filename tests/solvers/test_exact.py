"""Tests of the exact (rational-arithmetic) evaluation and policy iteration."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from mdpkit import (
    ConvergenceWarning,
    ImproperPolicyError,
    InvalidArgumentError,
    InvalidMDPError,
    InvalidPolicyError,
    Status,
    TabularMDP,
)
from mdpkit.solvers.exact import exact_policy_evaluation, exact_policy_iteration, to_fractions

F = Fraction


# ---------------------------------------------------------------------------- helpers
def puterman_two_state():
    """Puterman (1994) Sec. 3.1 two-state example: P (2, 2, 2), R (2, 2), mask (2, 2)."""
    P = [
        [[F(1, 2), F(1, 2)], [F(0), F(1)]],  # state 0: a0 stay/move w.p. 1/2; a1 move
        [[F(0), F(1)], [F(0), F(1)]],  # state 1: a0 stay; a1 masked (row kept a distribution)
    ]
    R = [[F(5), F(10)], [F(-1), F(0)]]
    mask = np.array([[True, True], [True, False]])
    return P, R, mask


def puterman_closed_form(beta: Fraction) -> list[Fraction]:
    v0 = (5 - F(11, 2) * beta) / ((1 - beta / 2) * (1 - beta))
    v1 = F(-1) / (1 - beta)
    return [v0, v1]


def to_float(P, R):
    Pf = np.array([[[float(x) for x in row] for row in Ps] for Ps in P])
    Rf = np.array([[float(x) for x in row] for row in R])
    return Pf, Rf


def exact_solve_float(P, R, gamma, policy):
    """float64 oracle: numpy.linalg.solve on (I - gamma P_pi) v = r_pi (deterministic policy)."""
    Pf, Rf = to_float(P, R)
    S = Pf.shape[0]
    P_pi = Pf[np.arange(S), policy]
    r_pi = Rf[np.arange(S), policy]
    return np.linalg.solve(np.eye(S) - float(gamma) * P_pi, r_pi)


def all_deterministic_policies(mask):
    return itertools.product(*[np.flatnonzero(mask[s]).tolist() for s in range(mask.shape[0])])


@st.composite
def exact_mdps(draw, max_S=4, max_A=3):
    """Small exact MDPs: rows from integer weights normalised as Fractions (sum exactly 1)."""
    S = draw(st.integers(1, max_S))
    A = draw(st.integers(1, max_A))
    mask = np.array(draw(st.lists(st.lists(st.booleans(), min_size=A, max_size=A), min_size=S, max_size=S)))
    for s in range(S):  # every state keeps at least one action
        if not mask[s].any():
            mask[s, draw(st.integers(0, A - 1))] = True
    P = []
    for s in range(S):
        Ps = []
        for a in range(A):
            w = draw(st.lists(st.integers(0, 4), min_size=S, max_size=S))
            if sum(w) == 0:
                w[draw(st.integers(0, S - 1))] = 1  # deterministic row
            tot = sum(w)
            Ps.append([F(x, tot) for x in w])
        P.append(Ps)
    R = [[F(draw(st.integers(-6, 6)), draw(st.sampled_from([1, 2, 3]))) for _ in range(A)] for _ in range(S)]
    gamma = F(draw(st.integers(0, 19)), 20)
    return P, R, gamma, mask


# ---------------------------------------------------------------------------- to_fractions
def test_to_fractions_decimal_binary_and_exact_inputs():
    assert to_fractions(0.1) == F(1, 10)
    assert to_fractions(0.1, mode="binary") == F(0.1) != F(1, 10)
    assert to_fractions(np.float32(0.1)) == F(1, 10)  # shortest decimal in float32 precision
    out = to_fractions([["1/3", 2, F(5, 7)], [np.int64(4), 0.25, "0.1"]], mode="binary")
    assert out.dtype == object and out.shape == (2, 3)
    assert out.tolist() == [[F(1, 3), F(2), F(5, 7)], [F(4), F(1, 4), F(1, 10)]]
    assert to_fractions(np.array([1e-5, 2.5])).tolist() == [F(1, 100000), F(5, 2)]


@pytest.mark.parametrize(
    "bad, match",
    [([1.0, float("nan")], r"x\[1\] is nan"), (["1/0"], r"x\[0\]"), (["abc"], r"x\[0\]"), ([True], "bool")],
)
def test_to_fractions_rejects_bad_entries(bad, match):
    with pytest.raises(InvalidArgumentError, match=match):
        to_fractions(bad)


def test_to_fractions_rejects_unknown_mode():
    with pytest.raises(InvalidArgumentError, match="mode"):
        to_fractions([0.5], mode="exact")


# ---------------------------------------------------------------------------- known answer
def test_puterman_two_state_closed_form__puterman_1994_sec_3_1():
    """v* = [(5 - 5.5 b)/((1 - 0.5 b)(1 - b)), -1/(1 - b)] at b = 19/20, exactly."""
    P, R, mask = puterman_two_state()
    beta = F(19, 20)
    expected = puterman_closed_form(beta)
    res = exact_policy_iteration(P, R, beta, action_mask=mask)
    assert res.v_exact.tolist() == expected == [F(-60, 7), F(-20)]
    assert res.gamma_exact == beta
    assert res.policy.tolist() == [0, 0]
    assert res.policy.dtype == np.int64
    assert res.converged and res.status == Status.CONVERGED
    assert res.error_bound == 0.0 and "6.4.2" in res.bound_source
    assert res.method == "exact_policy_iteration"
    assert res.v.dtype == np.float64 and res.v.shape == (2,)
    assert_allclose(res.v, [float(x) for x in expected], rtol=0, atol=0)
    assert_allclose(res.v_policy, res.v, rtol=0, atol=0)
    assert res.q.shape == (2, 2) and res.q[1, 1] == -np.inf
    assert res.q_exact[1, 1] is None
    assert res.q_exact[0, 1] == 10 + beta * expected[1]
    assert res.n_iter == len(res.residuals) and res.residuals[-1] == 0
    assert res.options["mode"] == "decimal" and res.options["max_iter"] is None
    # exact evaluation of the other policy
    v1 = exact_policy_evaluation(P, [1, 0], R, beta, action_mask=mask)
    assert v1.tolist() == [10 + beta * expected[1], expected[1]]


def test_puterman_two_state_from_float_model_decimal_mode():
    P, R, mask = puterman_two_state()
    Pf, Rf = to_float(P, R)
    mdp = TabularMDP(P=Pf, R=Rf, gamma=0.95, action_mask=mask)
    res = exact_policy_iteration(mdp)  # 0.95 read as 19/20
    assert res.gamma_exact == F(19, 20)
    assert res.v_exact.tolist() == puterman_closed_form(F(19, 20))
    # dense and CSR give the same exact answer
    csr = TabularMDP(P=sp.csr_matrix(Pf.reshape(4, 2)), R=Rf, gamma=0.95, action_mask=mask)
    assert exact_policy_iteration(csr).v_exact.tolist() == res.v_exact.tolist()
    # smaller discount: switching to action 1 in state 0 pays (10 - b/(1-b) > v0 for small b)
    res2 = exact_policy_iteration(P, R, "1/2", action_mask=mask)
    assert res2.policy.tolist() == [1, 0]
    assert res2.v_exact.tolist() == [F(9), F(-2)]


def test_policy_iteration_keeps_current_action_on_ties():
    # two identical actions: a stable start must not move, and the default start takes index 0
    P = [[[1], [1]]]
    R = [[1, 1]]
    assert exact_policy_iteration(P, R, "1/2", policy0=[1]).policy.tolist() == [1]
    res = exact_policy_iteration(P, R, "1/2")
    assert res.policy.tolist() == [0] and res.n_iter == 1 and res.residuals.tolist() == [0.0]


# ---------------------------------------------------------------------------- random instances
@settings(max_examples=25, deadline=None)
@given(exact_mdps(), st.data())
def test_exact_evaluation_matches_linear_solve(inst, data):
    """exact v_pi solves (I - gamma P_pi) v = r_pi: agrees with numpy.linalg.solve to 1e-12."""
    P, R, gamma, mask = inst
    S, A = mask.shape
    policy = [data.draw(st.sampled_from(np.flatnonzero(mask[s]).tolist())) for s in range(S)]
    v = exact_policy_evaluation(P, policy, R, gamma, action_mask=mask)
    assert v.shape == (S,) and all(isinstance(x, Fraction) for x in v)
    assert_allclose([float(x) for x in v], exact_solve_float(P, R, gamma, policy), rtol=1e-12, atol=1e-12)
    # exact residual of the linear system is zero
    for s in range(S):
        a = policy[s]
        assert v[s] == R[s][a] + gamma * sum(P[s][a][t] * v[t] for t in range(S))
    # the same policy written as a one-hot stochastic policy gives the same value
    onehot = [[F(int(a == policy[s])) for a in range(A)] for s in range(S)]
    assert exact_policy_evaluation(P, onehot, R, gamma, action_mask=mask).tolist() == v.tolist()


@settings(max_examples=25, deadline=None)
@given(exact_mdps())
def test_exact_pi_beats_every_deterministic_policy__puterman_1994_thm_6_4_2(inst):
    """PI's policy value is >= v_pi for every deterministic pi and equals the max exactly."""
    P, R, gamma, mask = inst
    S, _ = mask.shape
    res = exact_policy_iteration(P, R, gamma, action_mask=mask)
    v_star = res.v_exact
    assert exact_policy_evaluation(P, res.policy, R, gamma, action_mask=mask).tolist() == v_star.tolist()
    best = [None] * S
    n_pol = 0
    for pol in all_deterministic_policies(mask):
        n_pol += 1
        v = exact_policy_evaluation(P, list(pol), R, gamma, action_mask=mask)
        assert all(v_star[s] >= v[s] for s in range(S))
        best = [v[s] if best[s] is None else max(best[s], v[s]) for s in range(S)]
    assert v_star.tolist() == best
    assert 1 <= res.n_iter <= n_pol
    q = res.q_exact
    for s in range(S):
        assert max(q[s, a] for a in range(mask.shape[1]) if mask[s, a]) == v_star[s]


# ---------------------------------------------------------------------------- validation
def test_row_not_summing_to_one_names_row_and_exact_sum():
    third = F(1, 3)
    P = [[[third, third, third, F(1, 100)]] for _ in range(4)]
    R = [[0]] * 4
    with pytest.raises(InvalidMDPError, match=r"P\[0, 0, :\] sums to exactly 101/100"):
        exact_policy_evaluation(P, [0, 0, 0, 0], R, "1/2")


def test_negative_probability_is_named():
    P = [[[F(3, 2), F(-1, 2)]], [[0, 1]]]
    with pytest.raises(InvalidMDPError, match=r"P\[0, 0, 1\] = -1/2 is negative"):
        exact_policy_evaluation(P, [0, 0], [[0], [0]], "1/2")


def test_binary_mode_rejects_rows_that_sum_to_one_only_in_decimal():
    P = np.array([[[0.1, 0.2, 0.7]], [[0.0, 1.0, 0.0]], [[0.0, 0.0, 1.0]]])
    mdp = TabularMDP(P=P, R=np.zeros((3, 1)), gamma=0.5)
    with pytest.raises(InvalidMDPError, match=r"P\[0, 0, :\] sums to exactly .*mode='binary'"):
        exact_policy_evaluation(mdp, [0, 0, 0], mode="binary")
    v = exact_policy_evaluation(mdp, [0, 0, 0], mode="decimal")
    assert v.tolist() == [0, 0, 0]
    assert exact_policy_iteration(mdp).converged


def test_float_model_with_thirds_raises_with_a_hint():
    mdp = TabularMDP(P=np.full((3, 1, 3), 1 / 3), R=np.zeros((3, 1)), gamma=0.5)
    with pytest.raises(InvalidMDPError, match=r"P\[0, 0, :\] sums to exactly .*Fractions or strings"):
        exact_policy_iteration(mdp)


@pytest.mark.parametrize(
    "policy, match",
    [
        ([0, 2], r"policy\[1\] = 2 is out of range"),
        ([0, 1], r"policy\[1\] = 1 is a masked action"),
        ([0], r"shape \(S,\)"),
        ([0.0, 0.0], r"policy\[0\] = 0.0 is not an integer"),
        ([[F(1, 2), F(1, 2)], [F(1, 2), F(1, 2)]], r"policy\[1, 1\] = 1/2 puts weight on a masked action"),
        ([[F(1, 2), F(1, 3)], [1, 0]], r"policy\[0, :\] sums to exactly 5/6"),
        ([[F(3, 2), F(-1, 2)], [1, 0]], r"policy\[0, 1\] = -1/2 is negative"),
        ([[[0]]], r"shape \(S,\) or \(S, A\)"),
    ],
)
def test_invalid_policies_raise(policy, match):
    P, R, mask = puterman_two_state()
    with pytest.raises(InvalidPolicyError, match=match):
        exact_policy_evaluation(P, policy, R, "1/2", action_mask=mask)


def test_invalid_policy0_raises():
    P, R, mask = puterman_two_state()
    with pytest.raises(InvalidPolicyError, match=r"policy0\[1\] = 1 is a masked action"):
        exact_policy_iteration(P, R, "1/2", action_mask=mask, policy0=[0, 1])


def test_argument_errors():
    P, R, mask = puterman_two_state()
    Pf, Rf = to_float(P, R)
    mdp = TabularMDP(P=Pf, R=Rf, gamma=0.5, action_mask=mask)
    with pytest.raises(InvalidArgumentError, match="R must be omitted"):
        exact_policy_evaluation(mdp, [0, 0], R=Rf)
    with pytest.raises(InvalidArgumentError, match="give a TabularMDP"):
        exact_policy_iteration(P)
    with pytest.raises(InvalidArgumentError, match="mode"):
        exact_policy_iteration(mdp, mode="float")
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        exact_policy_iteration(mdp, max_iter=0)
    with pytest.raises(InvalidMDPError, match=r"gamma must lie in \[0, 1\]"):
        exact_policy_evaluation(P, [0, 0], R, "21/20", action_mask=mask)


# ---------------------------------------------------------------------------- gamma = 1
def test_gamma_one_with_recurrent_rewarding_class_raises():
    # state 1 is absorbing with reward -1: the total reward diverges and I - P_pi is singular
    P, R, mask = puterman_two_state()
    with pytest.raises(ImproperPolicyError, match=r"gamma = 1 .*state 1 .*closed recurrent class \[1\]"):
        exact_policy_evaluation(P, [0, 0], R, 1, action_mask=mask)
    # a rewarding 2-cycle (average reward 0 but total reward undefined) is rejected too
    with pytest.raises(ImproperPolicyError, match=r"closed recurrent class \[0, 1\]"):
        exact_policy_evaluation([[[0, 1]], [[1, 0]]], [0, 0], [[1], [-1]], 1)


def test_gamma_one_absorbing_zero_reward_is_exact():
    # 0 -> {1 w.p. 1/3, 2 w.p. 2/3}; 1 -> 2; 2 absorbing with zero reward
    P = [[[0, F(1, 3), F(2, 3)]], [[0, 0, 1]], [[0, 0, 1]]]
    R = [[1], [3], [0]]
    v = exact_policy_evaluation(P, [0, 0, 0], R, "1")
    assert v.tolist() == [F(2), F(3), F(0)]
    # with a zero-reward self-loop class that is never left
    v2 = exact_policy_evaluation([[[F(1, 2), F(1, 2)]], [[0, 1]]], [0, 0], [[F(1, 4)], [0]], 1)
    assert v2.tolist() == [F(1, 2), F(0)]


def test_policy_iteration_rejects_gamma_one():
    P = [[[0, 1]], [[0, 1]]]
    with pytest.raises(InvalidMDPError, match="gamma < 1"):
        exact_policy_iteration(P, [[1], [0]], 1)


# ---------------------------------------------------------------------------- max_iter
def test_max_iter_warns_and_certifies_the_last_policy():
    # a chain where good news travels one state per improvement step
    S = 4
    P = [[[F(int(t == min(s + 1, S - 1))) for t in range(S)], [F(int(t == s)) for t in range(S)]] for s in range(S)]
    R = [[F(0), F(0)] for _ in range(S - 1)] + [[F(1), F(0)]]
    gamma = F(9, 10)
    full = exact_policy_iteration(P, R, gamma, policy0=[1] * S)
    assert full.converged and full.n_iter >= 3
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = exact_policy_iteration(P, R, gamma, policy0=[1] * S, max_iter=1)
    assert not res.converged and res.status == Status.MAX_ITER
    assert res.n_iter == 1 and len(res.residuals) == 1 and res.residuals[0] > 0
    gap = full.v - res.v_policy
    assert np.all(gap >= 0) and gap.max() <= res.error_bound
    assert res.error_bound > 0

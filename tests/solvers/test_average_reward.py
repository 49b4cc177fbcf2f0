"""Tests of average-reward relative value iteration (``closed_classes`` itself: tests/test_structure.py).

Oracles, computed here without mdpkit's solvers:

* the gain of a stationary deterministic policy on a unichain model: the stationary
  distribution ``d`` of ``P_pi`` (``numpy.linalg.lstsq`` on ``d (P_pi - I) = 0``, ``sum d = 1``)
  dotted with ``r_pi``; ``g* = max`` over every deterministic policy (a deterministic
  stationary gain-optimal policy exists in a finite unichain model; Puterman 1994, Sec. 8.4);
* the discounted limit ``(1 - gamma) v*_gamma -> g*`` as a secondary sanity check;
* hand-solved periodic, multichain and class-structure examples;
* the normalised relative value h* by enumerating policies and solving their evaluation
  equations (numpy lstsq), keeping those that satisfy the optimality equation.
"""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import ConvergenceWarning, InvalidArgumentError, MultichainError, Status, TabularMDP
from mdpkit.results import AverageRewardResult
from mdpkit.solvers import relative_value_iteration
from mdpkit.structure import closed_classes


def assert_bound(lhs, rhs, *, rtol, atol):
    """Assert ``lhs <= rhs + atol + rtol*|rhs|`` elementwise (explicit floating-point slack)."""
    lhs = np.asarray(lhs, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    ok = lhs <= rhs + atol + rtol * np.abs(rhs)
    assert np.all(ok), f"bound violated: lhs={lhs}, rhs={rhs}"


# ---------------------------------------------------------------------------- oracles
def stationary_distribution(P_pi: np.ndarray) -> np.ndarray:
    """The unique stationary distribution of a unichain P_pi: d (P_pi - I) = 0, sum(d) = 1."""
    S = P_pi.shape[0]
    M = np.vstack([(P_pi - np.eye(S)).T, np.ones((1, S))])
    b = np.zeros(S + 1)
    b[-1] = 1.0
    d, *_ = np.linalg.lstsq(M, b, rcond=None)
    assert np.abs(M @ d - b).max() < 1e-10, "P_pi is not unichain"
    return d


def policy_gain(mdp: TabularMDP, pi: np.ndarray) -> float:
    idx = np.arange(mdp.S)
    return float(stationary_distribution(mdp.P_dense()[idx, pi]) @ mdp.R[idx, pi])


def all_policies(mdp: TabularMDP):
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(mdp.S)]):
        yield np.array(pol, dtype=np.int64)


def optimal_gain(mdp: TabularMDP) -> float:
    return max(policy_gain(mdp, pi) for pi in all_policies(mdp))


def discounted_vstar(mdp: TabularMDP, gamma: float) -> np.ndarray:
    idx = np.arange(mdp.S)
    P = mdp.P_dense()
    return np.max(
        [np.linalg.solve(np.eye(mdp.S) - gamma * P[idx, pi], mdp.R[idx, pi]) for pi in all_policies(mdp)], axis=0
    )


def policy_gain_and_relative_value(mdp: TabularMDP, pi: np.ndarray, ref: int):
    """(g_pi, h_pi) of a unichain policy: the stacked system (I - P_pi) h + g 1 = r_pi, h[ref] = 0,
    solved by numpy.linalg.lstsq (S + 1 equations, S + 1 unknowns (h, g))."""
    S = mdp.S
    idx = np.arange(S)
    P_pi, r_pi = mdp.P_dense()[idx, pi], mdp.R[idx, pi]
    M = np.zeros((S + 1, S + 1))
    M[:S, :S] = np.eye(S) - P_pi
    M[:S, S] = 1.0
    M[S, ref] = 1.0
    b = np.append(r_pi, 0.0)
    x, *_ = np.linalg.lstsq(M, b, rcond=None)
    assert np.abs(M @ x - b).max() < 1e-9, "P_pi is not unichain"
    return float(x[S]), x[:S]


def optimal_relative_value(mdp: TabularMDP, ref: int) -> np.ndarray:
    """h* with h*(ref) = 0 solving h + g* = max_a [R + P h] (Puterman 1994, Sec. 8.4), by
    enumeration: among the deterministic policies, those whose (g_pi, h_pi) satisfies the
    optimality equation (gain-optimal and greedy for their own h_pi); all must agree."""
    P = mdp.P_dense()
    g_star = optimal_gain(mdp)
    sols = []
    for pi in all_policies(mdp):
        g, h = policy_gain_and_relative_value(mdp, pi, ref)
        if abs(g - g_star) > 1e-9:
            continue
        q = np.where(mdp.action_mask, mdp.R + P @ h, -np.inf)
        if np.abs(q.max(axis=1) - h - g_star).max() <= 1e-9:
            sols.append(h)
    assert sols, "no policy satisfies the optimality equation"
    for h in sols[1:]:
        assert_allclose(h, sols[0], rtol=0, atol=1e-8)
    return sols[0]


# ---------------------------------------------------------------------------- strategies
@st.composite
def unichain_mdps(draw, n_states=(1, 5), n_actions=(1, 3)):
    """Every (available or masked) row puts positive probability on state 0: state 0 is then
    reachable in one step from everywhere under every policy, so every policy is unichain
    (one recurrent class, containing 0) and aperiodic (P_pi(0, 0) > 0)."""
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
    w[:, :, 0] += draw(st.integers(1, 3))  # weight on state 0 (small: slow mixing is allowed)
    w[:, :, 1:] *= draw(st.sampled_from([1, 4]))
    P = w / w.sum(axis=2, keepdims=True)
    R = np.array(draw(st.lists(st.integers(-6, 6).map(lambda x: x / 2), min_size=S * A, max_size=S * A)))
    R = R.reshape(S, A)
    mask = None
    if A > 1 and draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A))).reshape(S, A)
        mask[np.arange(S), draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S))] = True
    mdp = TabularMDP(P, R, 0.9, action_mask=mask)  # gamma is ignored by RVI
    return mdp.to_sparse() if draw(st.booleans()) else mdp


# ---------------------------------------------------------------------------- RVI vs brute force
@settings(max_examples=50)
@given(unichain_mdps(), st.sampled_from([0.25, 0.5, 1.0]), st.sampled_from([1e-6, 1e-9]), st.data())
def test_gain_bracket_contains_optimal_gain__puterman_1994_thm_8_5_5(mdp, tau, epsilon, data):
    """For pi greedy for w on the transformed model (same gains, Puterman 1994 Sec. 8.5.4):
    min_s (T w - w)(s) <= g_pi <= g* <= max_s (T w - w)(s)  (Odoni 1969; Puterman 1994,
    Thm 8.5.5, as cited by mdpkit.bounds.gain_bracket).  g* and g_pi by brute force over stationary distributions."""
    ref = data.draw(st.integers(0, mdp.S - 1), label="ref_state")
    g_star = optimal_gain(mdp)
    res = relative_value_iteration(mdp, epsilon=epsilon, tau=tau, ref_state=ref)
    lo, hi = res.gain_lower, res.gain_upper
    # lo and hi are min/max of differences of iterates of size ~|R| * (iterations); the backup
    # is a sum of S products: slack 1e-9 (1 + max|R|) is far above the rounding error.
    slack = 1e-9 * (1.0 + np.abs(mdp.R).max())
    assert res.converged and res.status == Status.CONVERGED
    assert res.error_bound <= epsilon
    assert res.error_bound == pytest.approx(hi - lo, rel=0, abs=1e-15)
    assert_bound(lo, g_star, rtol=0, atol=slack)
    assert_bound(g_star, hi, rtol=0, atol=slack)
    assert res.gain == pytest.approx(0.5 * (lo + hi), rel=0, abs=1e-15)
    # the greedy policy is error_bound-gain-optimal, judged by its true (stationary) gain
    assert mdp.action_mask[np.arange(mdp.S), res.policy].all()
    g_pi = policy_gain(mdp, res.policy)
    assert_bound(g_star - res.error_bound, g_pi, rtol=0, atol=slack)
    assert_bound(lo, g_pi, rtol=0, atol=slack)
    assert_bound(g_pi, g_star, rtol=0, atol=slack)
    if res.error_bound > 0:
        target((g_star - g_pi) / res.error_bound, label="(g* - g_pi) / error_bound")


@settings(max_examples=50)
@given(unichain_mdps(), st.sampled_from([0.5, 1.0]), st.data())
def test_bias_solves_evaluation_equations_within_half_span(mdp, tau, data):
    """With w the last iterate, d = T~w - w and h = tau (w - w(ref)), the transformed backup
    R + tau (P w - w) + w (Puterman 1994 Sec. 8.5.4) gives, for the greedy pi,
    r_pi + P_pi h - h = d and max_a [R + P h] - h = d state-wise.  Since
    min d <= g_mid = (min d + max d)/2 <= max d, both residuals minus g_mid lie within
    sp(d)/2 = error_bound/2 of zero (derived here from the definitions)."""
    ref = data.draw(st.integers(0, mdp.S - 1), label="ref_state")
    res = relative_value_iteration(mdp, epsilon=1e-8, tau=tau, ref_state=ref)
    h, g = res.v, res.gain
    assert h.shape == (mdp.S,) and h[ref] == 0.0
    idx = np.arange(mdp.S)
    P = mdp.P_dense()
    eval_resid = mdp.R[idx, res.policy] + P[idx, res.policy] @ h - h - g
    opt_q = np.where(mdp.action_mask, mdp.R + P @ h, -np.inf)
    opt_resid = opt_q.max(axis=1) - h - g
    # rounding: h is O(|R| S * mixing time); 1e-9 (1 + max|h| + max|R|) covers a few hundred ulps
    slack = 1e-9 * (1.0 + np.abs(h).max() + np.abs(mdp.R).max())
    assert_bound(np.abs(eval_resid).max(), res.error_bound / 2, rtol=0, atol=slack)
    assert_bound(np.abs(opt_resid).max(), res.error_bound / 2, rtol=0, atol=slack)
    # the greedy action attains the max in the optimality equation (up to the same slack)
    assert_bound(opt_q.max(axis=1) - opt_q[idx, res.policy], 0.0, rtol=0, atol=slack)


@settings(max_examples=50)
@given(unichain_mdps(), st.sampled_from([0.25, 0.5, 1.0]), st.sampled_from([1, 2, 5, 100_000]), st.data())
def test_v_error_bound_certifies_distance_to_normalised_relative_value(mdp, tau, max_iter, data):
    """|v - h*| <= v_error_bound where h* is the solution of h + g* = max_a [R + P h] pinned at
    h*(ref) = 0, found by enumerating policies and solving each one's evaluation equations
    (numpy lstsq).  Every row of these models puts mass on state 0, so the transformed model's
    delta coefficient is < 1 and the bound is finite.  Truncated runs (max_iter 1, 2, 5) make
    it non-trivial.  Also: v_policy is the exact relative value of the returned policy, gain
    lies in its bracket, the typed fields replace the old extra dict."""
    ref = data.draw(st.integers(0, mdp.S - 1), label="ref_state")
    h_star = optimal_relative_value(mdp, ref)
    v0 = np.array(data.draw(st.lists(st.integers(-3, 3), min_size=mdp.S, max_size=mdp.S)), float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = relative_value_iteration(mdp, epsilon=1e-9, tau=tau, ref_state=ref, max_iter=max_iter, v0=v0)
    assert isinstance(res, AverageRewardResult) and not hasattr(res, "extra")
    assert res.v.dtype == np.float64 and res.v[ref] == 0.0 and not res.v.flags.writeable
    assert res.delta < 1.0
    assert np.isfinite(res.v_error_bound)
    slack = 1e-9 * (1.0 + np.abs(h_star).max())
    err = float(np.abs(res.v - h_star).max())
    assert_bound(err, res.v_error_bound, rtol=0, atol=slack)
    if res.v_error_bound > 1e-8:
        target(err / res.v_error_bound, label="|v - h*| / v_error_bound")
    assert res.gain_lower <= res.gain <= res.gain_upper
    assert_allclose(tau * (res.v_iterate - res.v_iterate[ref]), res.v, rtol=0, atol=1e-12)
    g_pi, h_pi = policy_gain_and_relative_value(mdp, res.policy, ref)
    assert_allclose(res.v_policy, h_pi, rtol=0, atol=1e-9 * (1.0 + np.abs(h_pi).max()))
    assert_bound(res.gain_lower, g_pi, rtol=0, atol=slack)


@pytest.mark.parametrize("seed", range(4))
def test_discounted_limit_approaches_optimal_gain(seed):
    """Sanity check: (1 - gamma) v*_gamma -> g* as gamma -> 1 (Puterman 1994, Sec. 8.2, Laurent
    expansion v_gamma = g/(1-gamma) + h + O(1-gamma));
    the error is O(1 - gamma), so it must shrink by ~100x from 1-gamma = 1e-2 to 1e-4."""
    rng = np.random.default_rng(seed)
    S, A = 4, 2
    w = rng.integers(0, 4, size=(S, A, S)).astype(float)
    w[:, :, 0] += 1
    mdp = TabularMDP(w / w.sum(axis=2, keepdims=True), rng.integers(-3, 4, size=(S, A)).astype(float), 0.9)
    g_star = optimal_gain(mdp)
    errs = [np.abs((1 - g) * discounted_vstar(mdp, g) - g_star).max() for g in (0.99, 0.999, 0.9999)]
    assert errs[2] <= 0.05 * errs[0] + 1e-9, errs
    res = relative_value_iteration(mdp, epsilon=1e-10)
    assert abs(res.gain - g_star) <= res.error_bound / 2 + 1e-12


# ---------------------------------------------------------------------------- periodic model
def two_cycle(R=(1.0, 0.0)):
    """Deterministic 2-cycle 0 -> 1 -> 0, one action; rewards R.  g = (R0 + R1)/2 and the bias
    equations h0 + g = R0 + h1, h1 + g = R1 + h0 give h1 - h0 = (R1 - R0)/2."""
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    return TabularMDP(P, np.array(R).reshape(2, 1), 1.0)


def test_periodic_chain_converges_with_aperiodicity_transform__puterman_1994_sec_8_5_4():
    """P~ = tau P + (1 - tau) I is aperiodic for tau < 1 and has the same gain (Puterman 1994,
    Sec. 8.5.4): RVI converges to g = 1/2, h = (0, -1/2)."""
    res = relative_value_iteration(two_cycle(), tau=0.5, epsilon=1e-10)
    assert res.converged
    assert abs(res.gain - 0.5) <= res.error_bound / 2 + 1e-15
    assert_allclose(res.v, [0.0, -0.5], rtol=0, atol=1e-9)
    # P~ has the two equal rows (1/2, 1/2): delta = 0 and v_error_bound = tau * span (+ rounding)
    assert res.delta == 0.0
    assert np.abs(res.v - [0.0, -0.5]).max() <= res.v_error_bound <= 0.5 * res.residuals[-1] + 1e-14
    assert_allclose(res.v_policy, [0.0, -0.5], rtol=0, atol=1e-12)


def test_periodic_chain_oscillates_without_transform():
    """tau = 1 (no transform): from w = 0, by hand T w - w = (1, 0), then (0, 1), and w returns
    to 0; the span stays exactly 1 forever.  The bracket [0, 1] still contains g = 1/2."""
    with pytest.warns(ConvergenceWarning, match="max_iter=50"):
        res = relative_value_iteration(two_cycle(), tau=1.0, max_iter=50)
    assert not res.converged and res.status == Status.MAX_ITER and res.n_iter == 50
    assert_array_equal(res.residuals, np.ones(50))
    assert res.gain_lower <= 0.5 <= res.gain_upper
    assert res.error_bound == 1.0
    # tau = 1: delta(P) = 1 for the deterministic 2-cycle, so nothing is certified about v
    assert res.delta == 1.0 and res.v_error_bound == np.inf


# ---------------------------------------------------------------------------- multichain
def two_absorbing():
    """States 1 and 3 absorbing (rewards 1 and 0); 0 splits between them, 2 moves to 0."""
    P = np.zeros((4, 2, 4))
    P[0, :, 1] = P[0, :, 3] = 0.5
    P[1, :, 1] = 1.0
    P[2, :, 0] = 1.0
    P[3, :, 3] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    return TabularMDP(P, R, 1.0)


@pytest.mark.parametrize("sparse", [False, True])
def test_two_absorbing_states_raise_multichain_error(sparse):
    mdp = two_absorbing()
    mdp = mdp.to_sparse() if sparse else mdp
    assert sorted(closed_classes(mdp)) == [[1], [3]]
    with pytest.raises(MultichainError, match="2 closed classes") as info:
        relative_value_iteration(mdp)
    msg = str(info.value)
    assert re.search(r"\b1\b", msg) and re.search(r"\b3\b", msg), msg


# ---------------------------------------------------------------------------- one closed class
def test_single_closed_class_with_transient_states_is_accepted():
    """Unichain with transient states 0, 1 and the closed class {2, 3}: RVI applies.  By hand
    g* = 2 (stay in 3 with reward 2) against 0 for alternating 2 <-> 3 with rewards 0, 0."""
    P = np.zeros((4, 2, 4))
    P[0, :, 1] = 1.0
    P[1, :, 2] = 1.0
    P[2, :, 3] = 1.0
    P[3, 0, 3] = 1.0
    P[3, 1, 2] = 1.0
    R = np.array([[5.0, 5.0], [5.0, 5.0], [0.0, 0.0], [2.0, 0.0]])
    mdp = TabularMDP(P, R, 1.0)
    res = relative_value_iteration(mdp, epsilon=1e-10)
    assert abs(res.gain - 2.0) <= res.error_bound / 2 + 1e-12
    assert res.policy[3] == 0


# ---------------------------------------------------------------------------- argument errors
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tau": 0.0}, "tau must be > 0"),
        ({"tau": 1.5}, r"tau must lie in \(0, 1\]"),
        ({"epsilon": 0.0}, "epsilon must be > 0"),
        ({"epsilon": -1.0}, "epsilon must be > 0"),
        ({"ref_state": 2}, "ref_state must be < S=2"),
        ({"ref_state": -1}, "ref_state must be >= 0"),
        ({"max_iter": 0}, "max_iter must be >= 1"),
        ({"v0": [0.0, 0.0, 0.0]}, r"v0 must have shape \(S,\) = \(2,\)"),
    ],
)
def test_invalid_arguments_raise(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        relative_value_iteration(two_cycle(), **kwargs)

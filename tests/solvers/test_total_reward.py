"""Tests of the total-reward / stochastic-shortest-path solvers (``mdpkit.solvers.total_reward``).

Oracles, all computed here without mdpkit's solvers:

* properness of a deterministic policy: a breadth-first search backwards from the terminal set
  in the graph of positive-probability moves of ``P_pi`` (a finite chain is absorbed w.p. 1 iff
  the absorbing set is reachable from every state);
* the value of a proper policy: ``numpy.linalg.solve`` of ``(I - gamma P_NN) v_N = r_N`` on the
  non-terminal states N (for ``gamma < 1`` also the full system ``(I - gamma P_pi) v = r_pi``);
* the optimum: the state-wise maximum over every stationary deterministic policy (proper ones
  when ``gamma = 1``);
* grid worlds with reward -1 per step: ``v*(s) = -(BFS distance from s to the goal)``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import ConvergenceWarning, ImproperPolicyError, InvalidArgumentError, InvalidPolicyError, Status, TabularMDP
from mdpkit.results import TotalRewardResult
from mdpkit.solvers import ssp_policy_evaluation, ssp_policy_iteration
from mdpkit.structure import all_policies_proper, terminal_states
from mdpkit.testing.strategies import policies

# Values are sums over at most a few hundred expected steps of integer rewards; the linear
# systems are well conditioned enough that float64 gives ~1e-12 relative accuracy.
RTOL = 1e-9
ATOL = 1e-9


def assert_bound(lhs, rhs, *, rtol, atol):
    """Assert ``lhs <= rhs + atol + rtol*|rhs|`` elementwise (explicit floating-point slack)."""
    lhs = np.asarray(lhs, dtype=float)
    rhs = np.asarray(rhs, dtype=float)
    ok = lhs <= rhs + atol + rtol * np.abs(rhs)
    assert np.all(ok), f"bound violated: lhs={lhs}, rhs={rhs}"


# ---------------------------------------------------------------------------- oracles
def reaches(P_pi: np.ndarray, target_set: np.ndarray) -> np.ndarray:
    """Boolean (S,): can state s reach ``target_set`` along positive-probability moves? (BFS)"""
    S = P_pi.shape[0]
    preds = [np.flatnonzero(P_pi[:, t] > 0) for t in range(S)]
    seen = target_set.copy()
    queue = deque(np.flatnonzero(target_set).tolist())
    while queue:
        t = queue.popleft()
        for s in preds[t]:
            if not seen[s]:
                seen[s] = True
                queue.append(s)
    return seen


def deterministic_policies(mdp: TabularMDP, term: np.ndarray):
    """Every stationary deterministic policy (the action in terminal states is irrelevant)."""
    choices = [
        [int(np.flatnonzero(mdp.action_mask[s])[0])] if term[s] else np.flatnonzero(mdp.action_mask[s]).tolist()
        for s in range(mdp.S)
    ]
    for pol in itertools.product(*choices):
        yield np.array(pol, dtype=np.int64)


def is_proper(mdp: TabularMDP, pi: np.ndarray, term: np.ndarray) -> bool:
    return bool(reaches(mdp.P_dense()[np.arange(mdp.S), pi], term).all())


def value_on_nonterminal(mdp: TabularMDP, pi: np.ndarray, term: np.ndarray, R=None) -> np.ndarray:
    """v_pi with v = 0 on terminal states: solve (I - gamma P_NN) v_N = r_N (pi proper)."""
    R = mdp.R if R is None else R
    S = mdp.S
    N = np.flatnonzero(~term)
    P_pi = mdp.P_dense()[np.arange(S), pi]
    v = np.zeros(S)
    v[N] = np.linalg.solve(np.eye(N.size) - mdp.gamma * P_pi[np.ix_(N, N)], R[N, pi[N]])
    return v


def value_full_system(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """gamma < 1: v_pi = (I - gamma P_pi)^{-1} r_pi on all states (proper or not)."""
    S = mdp.S
    return np.linalg.solve(np.eye(S) - mdp.gamma * mdp.P_dense()[np.arange(S), pi], mdp.R[np.arange(S), pi])


def brute_force(mdp: TabularMDP, term: np.ndarray):
    """(v* over proper policies or None, any policy proper, all policies proper, max E[steps])."""
    best, any_proper, all_proper, max_steps = None, False, True, 0.0
    steps_R = np.ones((mdp.S, mdp.A))
    for pi in deterministic_policies(mdp, term):
        if not is_proper(mdp, pi, term):
            all_proper = False
            continue
        any_proper = True
        v = value_on_nonterminal(mdp, pi, term)
        best = v if best is None else np.maximum(best, v)
        steps = value_on_nonterminal(mdp.with_gamma(1.0), pi, term, R=steps_R)
        max_steps = max(max_steps, float(steps.max()))
    return best, any_proper, all_proper, max_steps


def expected_steps(mdp: TabularMDP, pi: np.ndarray, term: np.ndarray) -> np.ndarray:
    """E_pi[tau] (undiscounted number of steps to termination) of a proper policy."""
    return value_on_nonterminal(mdp.with_gamma(1.0), pi, term, R=np.ones((mdp.S, mdp.A)))


def documented_step_bound(mdp: TabularMDP, term: np.ndarray, v_star: np.ndarray, all_proper: bool, max_steps: float):
    """N of the ssp_policy_iteration docstring, from brute-force quantities: the smaller of
    max_mu max_s E_mu[tau] (if every policy is proper) and max_s(-v*(s))/c (if every available
    non-terminal reward is <= -c < 0); inf if neither applies."""
    n = max_steps if all_proper else np.inf
    nonterm = mdp.action_mask & ~term[:, None]
    if nonterm.any() and mdp.R[nonterm].max() < 0:
        n = min(n, float(np.max(-v_star)) / -float(mdp.R[nonterm].max()))
    return n


# ---------------------------------------------------------------------------- strategies
@st.composite
def ssps(draw, mode=None, rewards=(-3, -1), gamma=1.0, n_states=(2, 5), n_actions=(1, 3), masked=True, trap=False):
    """A random model with a known terminal set (absorbing, zero reward, under every action).

    States are ranked by a random permutation; the lowest ranks are terminal.  ``mode``:
    ``"some"`` gives one available action per non-terminal state a positive weight on a lower
    rank (so the all-such-actions policy is proper); ``"all"`` does it for every action (so
    every policy is proper); ``"none"`` adds nothing (a proper policy may not exist).  Rows with
    no weight become self-loops.  ``gamma``: a float, a (min, max) range or a list to sample.
    ``trap`` (mode "some", A >= 2): one non-terminal state gets an available pure self-loop
    action, so some policy is improper.
    Returns ``(mdp, terminal mask)``.
    """
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    mode = draw(st.sampled_from(["none", "some", "all"])) if mode is None else mode
    if isinstance(gamma, tuple):
        g = draw(st.floats(*gamma))
    elif isinstance(gamma, list):
        g = draw(st.sampled_from(gamma))
    else:
        g = float(gamma)
    n_term = draw(st.integers(1, max(1, min(2, S - 1))))
    order = draw(st.permutations(range(S)))
    # mostly-zero weights: sparse rows, self-loops and unreachable terminals are common
    weights = st.sampled_from([0, 0, 0, 1, 2, 3])
    w = np.array(draw(st.lists(weights, min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
    R = np.array(draw(st.lists(st.integers(*rewards), min_size=S * A, max_size=S * A)), float).reshape(S, A)
    mask = np.ones((S, A), bool)
    if masked and A > 1:
        mask = np.array(draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A))).reshape(S, A)
    term = np.zeros(S, bool)
    for rank, s in enumerate(order):
        if rank < n_term:
            term[s] = True
            w[s] = 0.0
            w[s, :, s] = 1.0
            R[s] = 0.0
            mask[s, draw(st.integers(0, A - 1))] = True
            continue
        if mode == "all":
            acts = range(A)
        elif mode == "some":
            acts = [draw(st.integers(0, A - 1))]
        else:
            acts = []
        for a in acts:
            w[s, a, order[draw(st.integers(0, rank - 1))]] += 1.0
            mask[s, a] = True
        if trap and mode == "some" and rank == n_term and A > 1:
            a_trap = (acts[0] + 1) % A
            w[s, a_trap] = 0.0
            w[s, a_trap, s] = 1.0
            mask[s, a_trap] = True
        if not mask[s].any():
            mask[s, draw(st.integers(0, A - 1))] = True
    empty = w.sum(axis=2) == 0
    for s, a in zip(*np.nonzero(empty)):
        w[s, a, s] = 1.0
    P = w / w.sum(axis=2, keepdims=True)
    mdp = TabularMDP(P, R, g, action_mask=mask)
    if draw(st.booleans()):
        mdp = mdp.to_sparse()
    return mdp, term


# ---------------------------------------------------------------------------- random SSPs
@settings(max_examples=40)
@given(ssps(mode="some"))
def test_policy_iteration_matches_brute_force_over_proper_policies__bertsekas_tsitsiklis_1991_prop_2(inst):
    """Bertsekas & Tsitsiklis 1991, Prop. 2 (paraphrased, reward form): if a proper policy
    exists and every improper policy has value -inf from some state, policy iteration started
    from a proper policy terminates with an optimal proper policy, v_pi = v*.  Here gamma = 1
    and rewards <= -1 on non-terminal states, so improper policies have value -inf; v* is the
    state-wise max of v_pi over proper policies (brute force)."""
    mdp, term = inst
    v_star, any_proper, all_proper, max_steps = brute_force(mdp, term)
    assert any_proper  # by construction
    assert_array_equal(terminal_states(mdp), term)
    res = ssp_policy_iteration(mdp)
    assert res.converged and res.status == Status.CONVERGED
    assert res.v.shape == (mdp.S,) and res.policy.shape == (mdp.S,) and res.policy.dtype == np.int64
    assert res.q.shape == (mdp.S, mdp.A)
    assert_array_equal(res.terminal, term)
    assert_allclose(res.v, v_star, rtol=RTOL, atol=ATOL)
    assert_array_equal(res.v[term], 0.0)
    assert is_proper(mdp, res.policy, term)
    assert mdp.action_mask[np.arange(mdp.S), res.policy].all()
    assert_allclose(value_on_nonterminal(mdp, res.policy, term), v_star, rtol=RTOL, atol=ATOL)
    assert_allclose(res.v_policy, res.v, rtol=0, atol=0)
    # the exact evaluation agrees with the oracle for the returned policy
    assert_allclose(ssp_policy_evaluation(mdp, res.policy), v_star, rtol=RTOL, atol=ATOL)
    # rewards <= -1 off the terminal set: the "negative rewards" step bound always applies
    assert_allclose(res.max_expected_steps, documented_step_bound(mdp, term, v_star, all_proper, max_steps),
                    rtol=1e-9)
    assert math.isfinite(res.error_bound)
    assert_bound(expected_steps(mdp, res.policy, term).max(), res.max_expected_steps, rtol=1e-9, atol=ATOL)


@settings(max_examples=60)
@given(ssps(mode=None, rewards=(-3, -1)))
def test_all_policies_proper_and_proper_existence_match_brute_force(inst):
    """all_policies_proper(mdp) == every deterministic policy reaches the terminal set from every
    state (BFS on P_pi); ssp_policy_iteration raises ImproperPolicyError exactly when no policy
    is proper."""
    mdp, term = inst
    v_star, any_proper, all_proper, _ = brute_force(mdp, term)
    assert all_policies_proper(mdp) is all_proper
    assert all_policies_proper(mdp, terminal=term) is all_proper
    if not any_proper:
        # some state cannot reach the terminal set under any action sequence: name the first
        union = (mdp.P_dense() * mdp.action_mask[:, :, None]).sum(axis=1)
        first = int(np.flatnonzero(~reaches(union, term))[0])
        with pytest.raises(ImproperPolicyError, match=rf"no proper policy exists: state {first} cannot reach"):
            ssp_policy_iteration(mdp)
    else:
        assert_allclose(ssp_policy_iteration(mdp).v, v_star, rtol=RTOL, atol=ATOL)


@settings(max_examples=40)
@given(ssps(mode="all", rewards=(-3, 3), gamma=(0.0, 1.0)))
def test_all_proper_models_any_sign_rewards_match_brute_force(inst):
    """When every policy is proper the SSP assumptions hold for any rewards and any gamma <= 1:
    PI returns v* = max over all policies; for gamma < 1 this is also the ordinary discounted
    optimum of the full system (I - gamma P_pi) v = r_pi."""
    mdp, term = inst
    v_star, _, all_proper, max_steps = brute_force(mdp, term)
    assert all_proper and all_policies_proper(mdp)
    res = ssp_policy_iteration(mdp)
    assert_allclose(res.v, v_star, rtol=RTOL, atol=ATOL)
    assert_allclose(value_on_nonterminal(mdp, res.policy, term), v_star, rtol=RTOL, atol=ATOL)
    if mdp.gamma < 1.0:
        v_disc = np.max([value_full_system(mdp, pi) for pi in deterministic_policies(mdp, term)], axis=0)
        assert_allclose(res.v, v_disc, rtol=RTOL, atol=ATOL)
    # the certificate is finite; N is the documented step bound (brute-force quantities) and,
    # for gamma = 1, bounds the expected termination time of the optimal policy returned
    assert math.isfinite(res.error_bound)
    n_doc = documented_step_bound(mdp, term, v_star, True, max_steps)
    assert_allclose(res.max_expected_steps, n_doc, rtol=1e-9)
    if mdp.gamma == 1.0:
        assert_bound(expected_steps(mdp, res.policy, term).max(), res.max_expected_steps, rtol=1e-9, atol=ATOL)
    assert_bound(np.max(v_star - res.v_policy), res.error_bound, rtol=1e-9, atol=ATOL)


@settings(max_examples=40)
@given(ssps(mode="all", rewards=(-3, 3), gamma=(0.0, 1.0)), st.integers(1, 2), st.data())
def test_greedy_certificate_bounds_suboptimality__bertsekas_tsitsiklis_1991(inst, max_iter, data):
    """If every policy is proper and v = v_pi is exact, then
    v* - v_pi <= max(T v_pi - v_pi)^+ * max_mu E_mu[tau]  (mdpkit.bounds.ssp_greedy_bound; proof:
    v_mu - v = sum_k gamma^k P_mu^k (T_mu v - v) <= delta^+ E_mu[tau] for every proper mu).
    The solver may use the smaller negative-reward step bound when it applies; the reported
    error_bound is checked either way.  Truncated runs (max_iter = 1, 2) from a random policy,
    so the bound is not trivially 0; v* by brute force."""
    mdp, term = inst
    v_star, _, _, _ = brute_force(mdp, term)
    policy0 = data.draw(policies(mdp), label="policy0")  # every policy is proper here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = ssp_policy_iteration(mdp, policy0=policy0, max_iter=max_iter)
    assert res.converged or res.status == Status.MAX_ITER
    assert math.isfinite(res.error_bound)
    v_true = value_on_nonterminal(mdp, res.policy, term)
    gap = float(np.max(v_star - v_true))
    assert_bound(gap, res.error_bound, rtol=1e-9, atol=ATOL)
    # the bound also certifies the value reported in v_policy
    assert_bound(np.max(v_star - res.v_policy), res.error_bound, rtol=1e-9, atol=ATOL)
    if res.error_bound > 1e-9:
        target(gap / res.error_bound, label="gap / error_bound")


@settings(max_examples=40)
@given(ssps(mode="some", rewards=(-3, -1), n_states=(3, 7), n_actions=(2, 2), trap=True), st.data())
def test_negative_reward_certificate_bounds_suboptimality__bertsekas_tsitsiklis_1991(inst, data):
    """gamma = 1, R(s, a) <= -c < 0 off the terminal set (improper policies need not be ruled
    out): E_mu*[tau](s) <= -v*(s)/c <= -v_pi(s)/c, so
    v* - v_pi <= max(T v_pi - v_pi)^+ * max_s(-v_pi(s))/c  (mdpkit.bounds.ssp_greedy_bound,
    route "negative rewards"; derived there).  Models with an improper policy (a trap loop), so
    only this route is finite; runs truncated at max_iter = 1 from the worst proper policy so
    the bound is not trivially 0; v* by brute force over proper policies."""
    mdp, term = inst
    v_star, _, all_proper, _ = brute_force(mdp, term)
    assert not all_proper and not all_policies_proper(mdp)
    proper = [pi for pi in deterministic_policies(mdp, term) if is_proper(mdp, pi, term)]
    policy0 = min(proper, key=lambda pi: value_on_nonterminal(mdp, pi, term).sum())
    max_iter = data.draw(st.integers(1, 2), label="max_iter")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = ssp_policy_iteration(mdp, policy0=policy0, max_iter=max_iter)
    assert math.isfinite(res.error_bound) and "negative rewards" in res.bound_source
    assert is_proper(mdp, res.policy, term)
    gap = float(np.max(v_star - value_on_nonterminal(mdp, res.policy, term)))
    assert_bound(gap, res.error_bound, rtol=1e-9, atol=ATOL)
    assert_bound(np.max(v_star - res.v_policy), res.error_bound, rtol=1e-9, atol=ATOL)
    if res.error_bound > 1e-9:
        target(gap / res.error_bound, label="gap / error_bound")


@settings(max_examples=40)
@given(st.one_of(ssps(mode="all", rewards=(-3, 3), gamma=(0.0, 1.0)),
                 ssps(mode="some", rewards=(-3, -1), n_states=(3, 6), n_actions=(2, 2), trap=True)),
       st.integers(1, 3), st.data())
def test_v_error_bound_certifies_distance_to_optimal_total_reward(inst, max_iter, data):
    """res.v estimates v* (the optimum over proper policies) with |v - v*| <= v_error_bound and
    v_lower <= v* <= v_upper state-wise; v* by enumerating the proper deterministic policies and
    solving (I - gamma P_NN) v_N = r_N for each (numpy.linalg.solve).  Runs truncated at
    max_iter = 1..3 from a random proper policy, so the bound is not trivially 0.  Also checks
    the typed fields: terminal, expected_steps (= E_pi[tau] by the same linear solve with unit
    rewards) and max_expected_steps >= the optimal policy's worst expected termination time."""
    mdp, term = inst
    v_star, _, _, _ = brute_force(mdp, term)
    proper = [pi for pi in deterministic_policies(mdp, term) if is_proper(mdp, pi, term)]
    policy0 = proper[data.draw(st.integers(0, len(proper) - 1), label="policy0 index")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = ssp_policy_iteration(mdp, policy0=policy0, max_iter=max_iter)
    assert isinstance(res, TotalRewardResult) and not hasattr(res, "extra")
    assert res.v.dtype == np.float64 and res.v.shape == (mdp.S,) and not res.v.flags.writeable
    assert res.v_error_bound == res.error_bound
    assert_bound(np.abs(res.v - v_star).max(), res.v_error_bound, rtol=RTOL, atol=ATOL)
    if math.isfinite(res.v_error_bound):
        assert_bound(res.v_lower, v_star, rtol=RTOL, atol=ATOL)
        assert_bound(v_star, res.v_upper, rtol=RTOL, atol=ATOL)
        if res.v_error_bound > 1e-9:
            target(float(np.abs(res.v - v_star).max() / res.v_error_bound), label="|v - v*| / v_error_bound")
    else:
        assert res.v_lower is None and res.v_upper is None
    assert_array_equal(res.terminal, term)
    assert_allclose(res.expected_steps, expected_steps(mdp, res.policy, term), rtol=RTOL, atol=ATOL)
    assert res.max_expected_steps >= 0.0


def test_max_iter_warns():
    mdp = _chain()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        res = ssp_policy_iteration(mdp, policy0=[0, 0, 0, 0], max_iter=1)
    assert not res.converged and res.status == Status.MAX_ITER and res.n_iter == 1


def test_truncated_run_reports_the_value_of_the_returned_policy():
    """SolveResult.v_policy is documented as "the exact value of policy", also at max_iter.
    (Regression: the improved, unevaluated policy used to be returned with the previous
    policy's value.)"""
    mdp = _chain()
    with pytest.warns(ConvergenceWarning):
        res = ssp_policy_iteration(mdp, policy0=[0, 0, 0, 0], max_iter=1)
    term = np.array([True, False, False, False])
    assert_allclose(res.v_policy, value_on_nonterminal(mdp, res.policy, term), rtol=0, atol=1e-12)
    assert_allclose(res.v, res.v_policy, rtol=0, atol=0)
    # q is the one-step lookahead on the returned policy's value
    expected_q = mdp.R + mdp.P_dense() @ res.v_policy
    expected_q[term] = 0.0
    assert_allclose(res.q, expected_q, rtol=0, atol=1e-12)


def _chain():
    """State 0 terminal; s = 1..3: a0 steps to s-1 (reward -1), a1 jumps to 0 (reward -2.5).
    By hand: v* = [0, -1, -2, -2.5], optimal actions [*, 0, 0, 1]; every policy is proper with
    max E[steps] = 3 (a0 from state 3); rewards <= -1 give the step bound max(-v*)/1 = 2.5."""
    S = 4
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    P[0, :, 0] = 1.0
    for s in range(1, S):
        P[s, 0, s - 1] = 1.0
        R[s, 0] = -1.0
        P[s, 1, 0] = 1.0
        R[s, 1] = -2.5
    return TabularMDP(P, R, 1.0)


def test_hand_solved_chain():
    res = ssp_policy_iteration(_chain())
    assert_array_equal(res.v, [0.0, -1.0, -2.0, -2.5])
    assert res.policy[1:].tolist() == [0, 0, 1]
    assert res.max_expected_steps == 2.5  # min(3, 2.5)
    assert "negative rewards" in res.bound_source
    assert res.error_bound == 0.0
    # a reward of 0 on one non-terminal action disables the negative-reward route
    P, R = _chain().P_dense(), _chain().R.copy()
    R[3, 1] = 0.0
    res = ssp_policy_iteration(TabularMDP(P, R, 1.0))
    assert_array_equal(res.v, [0.0, -1.0, -2.0, 0.0])
    assert res.max_expected_steps == 3.0 and "all policies proper" in res.bound_source


# ---------------------------------------------------------------------------- grid worlds
MOVES = [(-1, 0), (1, 0), (0, -1), (0, 1)]  # up, down, left, right

LAYOUTS = {
    "open": ["....", "....", "...G"],
    "walls": ["...#.", ".#...", ".#.#.", "...#G"],
    "maze": ["G.#...", "#.#.#.", "..#.#.", ".##.#.", "......"],
    "single": ["G"],
}


def grid_world(layout, goal_mode: str, sparse: bool = False):
    """Deterministic grid: free cells ('.', 'G') are states in row-major order; '#' is a wall.
    Moving off the grid or into a wall leaves the agent in place.  Every move costs -1.

    goal_mode "exit": moving onto G ends the episode (next_state -1); G's own actions end the
    episode with reward 0.  goal_mode "absorbing": G is an absorbing zero-reward state.
    Returns (mdp, cells, idx, goal index)."""
    cells = [(r, c) for r, row in enumerate(layout) for c, ch in enumerate(row) if ch != "#"]
    idx = {cell: i for i, cell in enumerate(cells)}
    goal = next(idx[(r, c)] for r, row in enumerate(layout) for c, ch in enumerate(row) if ch == "G")
    n = len(cells)
    ns = np.zeros((n, 4), dtype=np.int64)
    rw = -np.ones((n, 4))
    for (r, c), i in idx.items():
        for a, (dr, dc) in enumerate(MOVES):
            j = idx.get((r + dr, c + dc), i)
            ns[i, a] = j
            if goal_mode == "exit" and j == goal:
                ns[i, a] = -1
        if i == goal:
            ns[i] = -1 if goal_mode == "exit" else goal
            rw[i] = 0.0
    mdp = TabularMDP.from_next_state(ns, rw, 1.0, sparse=sparse)
    return mdp, cells, idx, goal


def bfs_distance(cells, idx, goal):
    """Shortest number of moves from every free cell to the goal (inf if unreachable)."""
    dist = np.full(len(cells), np.inf)
    dist[goal] = 0
    queue = deque([goal])
    while queue:
        i = queue.popleft()
        r, c = cells[i]
        for dr, dc in MOVES:
            j = idx.get((r + dr, c + dc))
            if j is not None and dist[j] == np.inf:
                dist[j] = dist[i] + 1
                queue.append(j)
    return dist


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("goal_mode", ["exit", "absorbing"])
@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_grid_world_value_is_minus_bfs_distance(name, goal_mode, sparse):
    """Deterministic shortest path: with reward -1 per move, v*(s) = -d(s, goal), where d is the
    breadth-first-search distance in the grid graph (Bertsekas, DP&OC Vol. I, Sec. 2.1)."""
    layout = LAYOUTS[name]
    mdp, cells, idx, goal = grid_world(layout, goal_mode, sparse)
    dist = bfs_distance(cells, idx, goal)
    expected = -dist
    if goal_mode == "exit":
        expected = np.append(expected, 0.0)  # the extra terminal state added by from_next_state
    assert mdp.S == expected.size and mdp.is_sparse == sparse
    res = ssp_policy_iteration(mdp)
    assert_allclose(res.v, expected, rtol=0, atol=1e-9)
    # a policy that steps to a neighbour one closer to the goal has value -d as well
    pi = np.zeros(mdp.S, dtype=np.int64)
    for i, (r, c) in enumerate(cells):
        for a, (dr, dc) in enumerate(MOVES):
            j = idx.get((r + dr, c + dc))
            if j is not None and dist[j] == dist[i] - 1:
                pi[i] = a
                break
    assert_allclose(ssp_policy_evaluation(mdp, pi), expected, rtol=0, atol=1e-9)
    # walls make "always bump" policies improper, so only the negative-reward route can certify:
    # it applies when the goal is terminal (every other reward is -1, N = max d); in "exit" mode
    # the goal's own actions (reward 0, not terminal) rule it out and no certificate is claimed
    assert all_policies_proper(mdp) is (len(cells) == 1)
    if len(cells) == 1:
        assert res.error_bound == 0.0
    elif goal_mode == "absorbing":
        assert res.max_expected_steps == pytest.approx(dist.max(), rel=1e-12)
        assert "negative rewards" in res.bound_source
        assert 0.0 <= res.error_bound <= 1e-9
    else:
        assert res.error_bound == math.inf and res.max_expected_steps == math.inf


@pytest.mark.parametrize("action", range(4))
def test_grid_world_bumping_policy_is_improper_and_names_first_stuck_state(action):
    """Policy "always move in direction a": a state is stuck unless following a from it reaches
    the goal (deterministic walk, checked by hand-rolled simulation)."""
    layout = LAYOUTS["walls"]
    mdp, cells, idx, goal = grid_world(layout, "absorbing")
    dr, dc = MOVES[action]
    stuck = []
    for i, (r, c) in enumerate(cells):
        while (r, c) != cells[goal] and (r + dr, c + dc) in idx:
            r, c = r + dr, c + dc
        if (r, c) != cells[goal]:
            stuck.append(i)
    assert stuck  # every direction gets stuck somewhere in this layout
    with pytest.raises(ImproperPolicyError, match=rf"from state {stuck[0]} it never reaches a terminal state"):
        ssp_policy_evaluation(mdp, np.full(mdp.S, action))
    with pytest.raises(ImproperPolicyError, match=rf"from state {stuck[0]}"):
        ssp_policy_iteration(mdp, policy0=np.full(mdp.S, action))


def test_unreachable_pocket_has_no_proper_policy():
    layout = ["G.#.", "..#."]  # the right column is walled off from the goal
    mdp, cells, idx, goal = grid_world(layout, "absorbing")
    first = min(idx[(0, 3)], idx[(1, 3)])
    with pytest.raises(ImproperPolicyError, match=rf"no proper policy exists: state {first} cannot reach"):
        ssp_policy_iteration(mdp)
    assert all_policies_proper(mdp) is False


# ---------------------------------------------------------------------------- gamma < 1
@settings(max_examples=40)
@given(ssps(mode="some", rewards=(-3, -1), gamma=[0.0, 0.25, 0.5, 0.75, 0.9, 0.99]))
def test_discounted_total_reward_matches_brute_force_when_optimum_is_proper(inst):
    """gamma < 1: the total discounted reward until termination is the discounted value
    (terminal states are absorbing with reward 0).  When the optimum over *all* policies
    (full system (I - gamma P_pi) v = r_pi, improper ones included) is attained by a proper
    policy, PI must return it.  gamma is drawn from a grid of simple values: with e.g.
    gamma = 1e-9 an improper loop can beat a proper exit by ~1e-9, below any fixed test
    tolerance yet above PI's tie threshold, which makes the branch below ambiguous."""
    mdp, term = inst
    values = [(pi, value_full_system(mdp, pi)) for pi in deterministic_policies(mdp, term)]
    v_all = np.max([v for _, v in values], axis=0)
    proper_best = np.max([v for pi, v in values if is_proper(mdp, pi, term)], axis=0)
    if not np.allclose(proper_best, v_all, rtol=RTOL, atol=ATOL):
        # documented: an improvement step that turns improper is detected and reported
        with pytest.raises(ImproperPolicyError):
            ssp_policy_iteration(mdp)
        return
    res = ssp_policy_iteration(mdp)
    assert_allclose(res.v, v_all, rtol=RTOL, atol=ATOL)
    assert_allclose(value_full_system(mdp, res.policy), v_all, rtol=RTOL, atol=ATOL)


def test_discounted_improper_optimum_is_reported():
    """gamma = 0.9.  State 1: a0 loops with reward -1 (value -1/(1-0.9) = -10, improper),
    a1 ends with reward -20.  The discounted optimum is the improper loop; ssp_policy_iteration
    raises ImproperPolicyError (documented behaviour: it only handles proper policies)."""
    P = np.zeros((2, 2, 2))
    P[0, :, 0] = 1.0
    P[1, 0, 1] = 1.0
    P[1, 1, 0] = 1.0
    R = np.array([[0.0, 0.0], [-1.0, -20.0]])
    mdp = TabularMDP(P, R, 0.9)
    assert_allclose(value_full_system(mdp, np.array([0, 0])), [0.0, -10.0])
    with pytest.raises(ImproperPolicyError, match="from state 1"):
        ssp_policy_iteration(mdp)
    # with gamma = 1 the loop is worth -inf and the exit (-20) is optimal
    assert_array_equal(ssp_policy_iteration(mdp.with_gamma(1.0)).v, [0.0, -20.0])


# ---------------------------------------------------------------------------- errors
def _no_terminal():
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 0] = 1.0
    return TabularMDP(P, np.full((2, 1), -1.0), 1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: ssp_policy_iteration(m),
        lambda m: ssp_policy_evaluation(m, [0, 0]),
        lambda m: all_policies_proper(m),
    ],
    ids=["pi", "evaluation", "all_proper"],
)
def test_no_terminal_state_raises(call):
    with pytest.raises(InvalidArgumentError, match="no absorbing zero-reward"):
        call(_no_terminal())


def test_terminal_argument_is_validated():
    mdp = _chain()
    with pytest.raises(InvalidArgumentError, match="state 2 is declared terminal but is not absorbing"):
        ssp_policy_iteration(mdp, terminal=[0, 2])
    with pytest.raises(InvalidArgumentError, match=r"terminal mask must have shape \(S,\) = \(4,\)"):
        ssp_policy_iteration(mdp, terminal=np.array([True, False]))
    with pytest.raises(InvalidArgumentError, match=r"terminal states must be ids in \[0, 4\)"):
        ssp_policy_evaluation(mdp, [0, 0, 0, 0], terminal=[7])
    # explicit ids and masks give the same answer as auto-detection
    a = ssp_policy_iteration(mdp, terminal=[0]).v
    b = ssp_policy_iteration(mdp, terminal=np.array([True, False, False, False])).v
    assert_array_equal(a, b)
    assert_array_equal(a, [0.0, -1.0, -2.0, -2.5])


def test_a_state_that_cannot_reach_a_terminal_raises():
    """State 2 only loops (reward -1): no policy is proper from it."""
    P = np.zeros((3, 2, 3))
    P[0, :, 0] = 1.0
    P[1, 0, 0] = P[1, 1, 2] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, 0.0], [-1.0, -1.0], [-1.0, -1.0]])
    mdp = TabularMDP(P, R, 1.0)
    with pytest.raises(ImproperPolicyError, match="no proper policy exists: state 2 cannot reach"):
        ssp_policy_iteration(mdp)
    with pytest.raises(ImproperPolicyError, match="from state 1"):
        ssp_policy_evaluation(mdp.with_gamma(1.0), [0, 1, 0])
    assert all_policies_proper(mdp) is False


def test_policy_evaluation_argument_errors():
    mdp = _chain()
    with pytest.raises(InvalidArgumentError, match="deterministic policy"):
        ssp_policy_evaluation(mdp, np.full((4, 2), 0.5))
    with pytest.raises(InvalidPolicyError):
        ssp_policy_evaluation(mdp, [0, 0, 0, 2])
    with pytest.raises(InvalidArgumentError, match="mdp must be a TabularMDP"):
        ssp_policy_iteration("not a model")
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        ssp_policy_iteration(mdp, max_iter=0)

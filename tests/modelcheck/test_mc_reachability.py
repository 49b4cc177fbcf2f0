"""Reachability, reward-to-goal and long-run-average objectives against brute-force enumeration.

Oracle: every deterministic stationary policy of a small model (memoryless deterministic policies
are optimal for these objectives: Puterman 1994, Thm 9.1.8 for average reward; Baier & Katoen 2008,
Lemma 10.102 for reachability), each chain solved by plain numpy (graph closure by boolean matrix
products, then a dense linear solve).  Nothing here calls the code under test to get an expected
value.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mdpkit import TabularMDP
from mdpkit import qualitative as q
from mdpkit._exceptions import InvalidArgumentError
from mdpkit.solvers.reachability import (
    check_objective,
    long_run_average,
    max_expected_steps_bound,
    parse_objective,
    policy_value,
    reach_probability,
    reach_reward,
    step_bounded_probability,
)

TOL = 1e-9


# ----------------------------------------------------------------------------- instances
def instance(seed: int, S: int | None = None, A: int | None = None):
    """A small random model with absorbing goal / trap states, self-loop actions (end components),
    masked actions, zero rewards on some actions; returns (mdp, goal mask, avoid mask)."""
    rng = np.random.default_rng(seed)
    S = S or int(rng.integers(3, 6))
    A = A or int(rng.integers(1, 4))
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            k = int(rng.integers(1, min(S, 3) + 1))
            t = rng.choice(S, k, replace=False)
            w = rng.integers(1, 4, k).astype(float)
            P[s, a, t] = w / w.sum()
    # some pure self-loops: end components
    loops = rng.random((S, A)) < 0.15
    P[loops] = 0.0
    for s, a in zip(*np.nonzero(loops)):
        P[s, a, s] = 1.0
    mask = rng.random((S, A)) < 0.8
    mask[:, 0] = True
    R = np.round(rng.uniform(0.0, 2.0, (S, A)), 1)
    R[rng.random((S, A)) < 0.3] = 0.0
    goal = np.zeros(S, bool)
    goal[0] = True
    P[0] = 0.0
    P[0, :, 0] = 1.0
    R[0] = 0.0
    avoid = np.zeros(S, bool)
    if S > 3 and rng.random() < 0.5:
        avoid[S - 1] = True
    P = np.where(mask[:, :, None], P, 0.0)
    return TabularMDP(P, np.where(mask, R, 0.0), 1.0, action_mask=mask), goal, avoid


def policies(mdp):
    return itertools.product(*[np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(mdp.S)])


def closure(E):
    """Reflexive-transitive closure of a boolean adjacency matrix."""
    C = E | np.eye(E.shape[0], dtype=bool)
    while True:
        C2 = C | ((C.astype(int) @ C.astype(int)) > 0)
        if np.array_equal(C2, C):
            return C
        C = C2


def chain_reach(Ppi, G, B):
    """Probability of reaching G before B in the chain Ppi (graph precomputation + solve)."""
    S = Ppi.shape[0]
    E = (Ppi > 0) & ~(G | B)[:, None]  # paths stop at G and B
    C = closure(E)
    can = C[:, G].any(axis=1)
    x = np.where(G, 1.0, 0.0)
    m = can & ~G & ~B
    if m.any():
        Q = Ppi[np.ix_(m, m)]
        b = Ppi[np.ix_(m, G)].sum(axis=1)
        x[m] = np.linalg.solve(np.eye(m.sum()) - Q, b)
    return x


def chain_reward(Ppi, r, G):
    """Expected reward until G (inf where G is missed with positive probability)."""
    S = Ppi.shape[0]
    E = (Ppi > 0) & ~G[:, None]
    C = closure(E)
    can = C[:, G].any(axis=1)
    bad = ~can  # states from which G is unreachable
    surely = ~(C[:, bad].any(axis=1))  # reach G a.s. iff no state without a path to G is reachable
    x = np.where(surely, 0.0, np.inf)
    m = surely & ~G
    if m.any():
        x[m] = np.linalg.solve(np.eye(m.sum()) - Ppi[np.ix_(m, m)], r[m])
    return x


def enum(mdp, fn):
    P = mdp.P_dense()
    vals = []
    for pi in policies(mdp):
        pi = np.array(pi)
        vals.append(fn(P[np.arange(mdp.S), pi], mdp.R[np.arange(mdp.S), pi]))
    return np.array(vals)


def assert_bracket(res, truth, tol=TOL):
    fin = np.isfinite(truth)
    np.testing.assert_array_equal(np.isinf(res.v), ~fin)
    scale = max(1.0, float(np.max(np.abs(truth[fin])))) if fin.any() else 1.0
    assert np.all(res.v_lower[fin] <= truth[fin] + tol * scale)
    assert np.all(truth[fin] <= res.v_upper[fin] + tol * scale)
    assert np.max(np.abs(res.v[fin] - truth[fin]), initial=0.0) <= res.v_error_bound + tol * scale


SEEDS = range(30)


# ----------------------------------------------------------------------------- probabilities
@pytest.mark.parametrize("method", ["ovi", "ii", "svi", "pi"])
@pytest.mark.parametrize("maximize", [True, False])
def test_reach_probability_bracket_contains_enumerated_optimum(method, maximize):
    for seed in SEEDS:
        mdp, G, B = instance(seed)
        vals = enum(mdp, lambda Pp, r: chain_reach(Pp, G, B))
        truth = vals.max(axis=0) if maximize else vals.min(axis=0)
        res = reach_probability(mdp, G, avoid=B, maximize=maximize, method=method, epsilon=1e-8)
        assert_bracket(res, truth)
        assert res.converged
        # the returned policy attains the bracket (its exact value, by the independent oracle)
        Pp = mdp.P_dense()[np.arange(mdp.S), res.policy]
        vp = chain_reach(Pp, G, B)
        half = res.v_upper - res.v_lower
        if maximize:
            assert np.all(vp >= truth - np.maximum(half, 0) - 1e-7), seed
        else:
            assert np.all(vp <= truth + np.maximum(half, 0) + 1e-7), seed


def test_pi_certificate_bounds_policy_suboptimality():
    for seed in SEEDS:
        mdp, G, B = instance(seed)
        vals = enum(mdp, lambda Pp, r: chain_reach(Pp, G, B))
        res = reach_probability(mdp, G, avoid=B, method="pi")
        vp = chain_reach(mdp.P_dense()[np.arange(mdp.S), res.policy], G, B)
        np.testing.assert_allclose(res.v_policy, vp, atol=1e-10)
        assert np.max(vals.max(axis=0) - vp) <= res.certificate.value + 1e-10


# ----------------------------------------------------------------------------- qualitative
def test_qualitative_sets_match_enumeration_and_numpy_twins():
    for seed in range(60):
        mdp, G, B = instance(seed)
        vals = enum(mdp, lambda Pp, r: chain_reach(Pp, G, B))
        exact = {"prob0a": vals.max(0) == 0, "prob0e": vals.min(0) == 0,
                 "prob1a": vals.min(0) >= 1 - 1e-12, "prob1e": vals.max(0) >= 1 - 1e-12}
        for name, want in exact.items():
            got = getattr(q, name)(mdp, G, B)
            np.testing.assert_array_equal(got & ~G if "0" in name else got | G, want & ~G if "0" in name else want | G,
                                          err_msg=f"{name} seed {seed}")
            np.testing.assert_array_equal(got, getattr(q, name + "_reference")(mdp, G, B), err_msg=name)


def _is_end_component(mdp, C):
    """C (bool) is an end component: the pairs staying in C cover every state of C and connect it."""
    P = mdp.P_dense() > 0
    stay = mdp.action_mask & ~(P & ~C[None, None, :]).any(axis=2) & C[:, None]
    if not stay[C].any(axis=1).all():
        return False
    E = (P & stay[:, :, None]).any(axis=1)
    idx = np.flatnonzero(C)
    sub = closure(E[np.ix_(idx, idx)])
    return bool(sub.all())


def test_maximal_end_components_match_subset_enumeration():
    for seed in range(40):
        mdp, _, _ = instance(seed, S=5)
        mec, _ = q.maximal_end_components(mdp)
        subsets = [np.array(bits, bool) for bits in itertools.product([0, 1], repeat=mdp.S) if any(bits)]
        ecs = [C for C in subsets if _is_end_component(mdp, C)]
        in_some = np.zeros(mdp.S, bool)
        for C in ecs:
            in_some |= C
        np.testing.assert_array_equal(mec >= 0, in_some)
        for k in range(int(mec.max()) + 1):
            C = mec == k
            assert _is_end_component(mdp, C)
            assert not any(_is_end_component(mdp, D) for D in ecs if (D & C).sum() == C.sum() and D.sum() > C.sum())


# ----------------------------------------------------------------------------- rewards
@pytest.mark.parametrize("method", ["ovi", "pi"])
@pytest.mark.parametrize("maximize", [True, False])
def test_reach_reward_matches_enumeration_with_inf(method, maximize):
    n_inf = n_fin = 0
    for seed in SEEDS:
        mdp, G, _ = instance(seed)
        vals = enum(mdp, lambda Pp, r: chain_reward(Pp, r, G))
        truth = vals.max(axis=0) if maximize else vals.min(axis=0)
        res = reach_reward(mdp, G, maximize=maximize, method=method, epsilon=1e-9)
        assert_bracket(res, truth, tol=1e-7)
        np.testing.assert_array_equal(res.infinite, np.isinf(truth))
        n_inf += int(np.isinf(truth).sum())
        n_fin += int((np.isfinite(truth) & ~G).sum())
    assert n_inf > 10 and n_fin > 10  # both kinds of states occur


@pytest.mark.parametrize("maximize", [True, False])
def test_sound_vi_reward_matches_enumeration_or_refuses_positive_end_components(maximize):
    """Sound value iteration: the certified bracket contains the enumerated optimum; for rmin it may
    be refused (named error), and then only with a reason: some policy that keeps the finite-valued
    states has a recurrent class inside them that collects positive reward (an end component
    with positive reward, found by enumeration)."""
    n_ok = n_refused = 0
    for seed in SEEDS:
        mdp, G, _ = instance(seed)
        vals = enum(mdp, lambda Pp, r: chain_reward(Pp, r, G))
        truth = vals.max(axis=0) if maximize else vals.min(axis=0)
        try:
            res = reach_reward(mdp, G, maximize=maximize, method="svi", epsilon=1e-9)
        except InvalidArgumentError as e:
            assert not maximize and "svi" in str(e)
            fin = np.isfinite(truth) & ~G
            P = mdp.P_dense()
            reason = False
            for pi in policies(mdp):
                pi = np.array(pi)
                Pp = P[np.arange(mdp.S), pi] > 0
                C = closure(Pp)
                rec = fin & np.all(~C | C.T, axis=1) & ~C[:, ~fin].any(axis=1)
                if np.any(rec & (mdp.R[np.arange(mdp.S), pi] > 0)):
                    reason = True
                    break
            assert reason, seed
            n_refused += 1
            continue
        assert res.converged and res.certificate.citation.startswith("Quatmann")
        assert_bracket(res, truth, tol=1e-7)
        n_ok += 1
    assert n_ok >= 10 and (maximize or n_refused >= 3)


def test_sound_vi_needs_no_starting_bound_and_handles_slow_leaks():
    # a chain that leaks 1e-3 per step: the upper side comes from x / (1 - y), not from a start vector
    P = np.zeros((3, 2, 3))
    P[0, :, 0] = P[1, :, 1] = 1
    P[2, 0, [0, 1, 2]] = [1e-3, 2e-3, 1 - 3e-3]
    P[2, 1, [0, 2]] = [5e-4, 1 - 5e-4]
    mdp = TabularMDP(P, np.array([[0, 0], [0, 0], [1.0, 0.5]]), 1.0)
    for mx, exact in ((True, 1 / 3), (False, 1 / 3)):
        res = reach_probability(mdp, [0], avoid=[1], maximize=mx, method="svi", epsilon=1e-10)
        # action 1 reaches 0 surely (value 1) for max; for min action 0 gives 1/3
        want = 1.0 if mx else exact
        # rounding slack of the verifying backup (a few ulps) is amplified by the expected number
        # of steps (about 1/3e-3 here): allow 1e-11
        assert res.v_lower[2] - 1e-11 <= want <= res.v_upper[2] + 1e-11 and res.v_upper[2] - res.v_lower[2] <= 1e-9
    r = reach_reward(mdp, [0, 1], maximize=True, method="svi", epsilon=1e-10)
    assert r.v_lower[2] - 1e-8 <= 1000.0 <= r.v_upper[2] + 1e-8  # action 1: 0.5 / 5e-4 = 1000 > 1 / 3e-3


def test_infinite_reward_only_where_goal_is_missed():
    # 0 goal; 1 -> goal surely; 2 -> goal or trap 3 (absorbing, reward 1); 4 chooses 1 or 2
    P = np.zeros((5, 2, 5))
    P[0, :, 0] = 1
    P[1, :, 0] = 1
    P[2, :, [0, 3]] = 0.5
    P[3, :, 3] = 1
    P[4, 0, 1] = 1
    P[4, 1, 2] = 1
    R = np.array([[0, 0], [2, 2], [1, 1], [1, 1], [1, 5]], float)
    mdp = TabularMDP(P, R, 1.0)
    rmin = reach_reward(mdp, [0])
    rmax = reach_reward(mdp, [0], maximize=True)
    assert rmin.v.tolist() == [0.0, 2.0, np.inf, np.inf, 3.0]
    assert rmax.v.tolist() == [0.0, 2.0, np.inf, np.inf, np.inf]
    assert rmin.policy[4] == 0
    pmin = reach_probability(mdp, [0], maximize=False)
    assert pmin.v.tolist() == [1.0, 1.0, 0.5, 0.0, 0.5]


def test_zero_reward_end_component_is_collapsed_for_rmin():
    # states 1 <-> 2 loop with reward 0 (an end component); leaving costs 3 from 1, 1 from 2
    P = np.zeros((3, 2, 3))
    P[0, :, 0] = 1
    P[1, 0, 2] = 1
    P[1, 1, 0] = 1
    P[2, 0, 1] = 1
    P[2, 1, 0] = 1
    R = np.array([[0, 0], [0, 3], [0, 1]], float)
    res = reach_reward(TabularMDP(P, R, 1.0), [0], method="pi")
    np.testing.assert_allclose(res.v, [0, 1, 1], atol=1e-12)
    assert res.policy.tolist()[1:] == [0, 1]  # 1 walks to 2 (free), 2 leaves (cost 1)
    assert policy_value(TabularMDP(P, R, 1.0), "rmin", [True, False, False], None, res.policy).tolist() == [0, 1, 1]


def test_max_expected_steps_bound_matches_enumeration():
    for seed in range(15):
        rng = np.random.default_rng(seed)
        S, A = 4, 2
        P = rng.dirichlet(np.ones(S), size=(S, A))
        P[0] = 0
        P[0, :, 0] = 1
        P[1:, :, 0] += 0.2
        P /= P.sum(axis=2, keepdims=True)
        mdp = TabularMDP(P, np.zeros((S, A)), 1.0)
        term = np.arange(S) == 0
        steps = enum(mdp, lambda Pp, r: chain_reward(Pp, np.where(term, 0.0, 1.0), term)).max(axis=0)
        b, w = max_expected_steps_bound(mdp, term, exact=False)
        assert np.all(w >= steps - 1e-12) and b <= 1.011 * steps.max()
        b2, w2 = max_expected_steps_bound(mdp, term)
        np.testing.assert_allclose(w2, steps, rtol=1e-9)


# ----------------------------------------------------------------------------- step-bounded, LRA
def test_step_bounded_matches_markov_policy_enumeration():
    for seed in range(6):
        mdp, G, B = instance(seed, S=3, A=2)
        k = 3
        P = mdp.P_dense()
        best = np.full(mdp.S, -np.inf)
        worst = np.full(mdp.S, np.inf)
        pols = list(policies(mdp))
        for seq in itertools.product(pols, repeat=k):
            x = G.astype(float)
            for pi in reversed(seq):
                x = np.where(G, 1.0, np.where(B, 0.0, P[np.arange(mdp.S), np.array(pi)] @ x))
            best = np.maximum(best, x)
            worst = np.minimum(worst, x)
        np.testing.assert_allclose(step_bounded_probability(mdp, G, k, avoid=B).v, best, atol=1e-12)
        np.testing.assert_allclose(step_bounded_probability(mdp, G, k, avoid=B, maximize=False).v, worst, atol=1e-12)


def cesaro_gain(Ppi, r):
    """Per-state gain P* r; P* of the aperiodic transform (I + P)/2 by repeated squaring."""
    M = 0.5 * (np.eye(Ppi.shape[0]) + Ppi)
    for _ in range(60):  # (I+P)/2 to the power 2^60; rows renormalised against round-off drift
        M = M @ M
        M /= M.sum(axis=1, keepdims=True)
    return M @ r


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("method", ["pi", "ovi"])
def test_long_run_average_multichain_matches_enumeration(maximize, method):
    for seed in range(25):
        rng = np.random.default_rng(100 + seed)
        mdp, _, _ = instance(100 + seed)
        R = np.where(mdp.action_mask, rng.uniform(-1, 1, (mdp.S, mdp.A)), 0.0)
        mdp = TabularMDP(mdp.P, R, 1.0, action_mask=mdp.action_mask)
        vals = enum(mdp, cesaro_gain)
        truth = vals.max(axis=0) if maximize else vals.min(axis=0)
        res = long_run_average(mdp, maximize=maximize, method=method, epsilon=1e-9)
        assert_bracket(res, truth, tol=1e-7)


# ----------------------------------------------------------------------------- objective strings, errors
def test_parse_and_check_objective():
    assert parse_objective("pmax:goal") == dict(kind="p", maximize=True, goal="goal", steps=None, avoid=None)
    assert parse_objective("pmin:g:5")["steps"] == 5
    assert parse_objective("pmax:g:avoid=bad")["avoid"] == "bad"
    assert parse_objective("lramin")["maximize"] is False
    for bad in ["", "pmax", "qmax:g", "rmax:g:3", "lra:g", "pmax:g:x"]:
        with pytest.raises(InvalidArgumentError):
            parse_objective(bad)
    mdp, G, B = instance(3)
    labels = {"goal": np.flatnonzero(G), "bad": np.flatnonzero(B)}
    a = check_objective(mdp, "pmax:goal:avoid=bad", labels=labels)
    b = reach_probability(mdp, G, avoid=B)
    np.testing.assert_array_equal(a.v, b.v)
    with pytest.raises(InvalidArgumentError, match="unknown label 'nope'.*known labels: bad, goal"):
        check_objective(mdp, "pmax:nope", labels=labels)


def test_bad_input_named():
    mdp, G, _ = instance(1)
    R = mdp.R.copy()
    R[1, 0] = -1.0
    neg = TabularMDP(mdp.P, R, 1.0, action_mask=mdp.action_mask)
    with pytest.raises(InvalidArgumentError, match=r"R\[1, 0\] = -1.0"):
        reach_reward(neg, G)
    with pytest.raises(InvalidArgumentError, match="method"):
        reach_reward(mdp, G, method="ii")
    with pytest.raises(InvalidArgumentError, match="state id 99"):
        reach_probability(mdp, [99])
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        reach_probability(mdp, G, epsilon=0.0)

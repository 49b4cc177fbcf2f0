"""Diameter (Jaksch et al. 2010): hand values on the zoo, a BFS oracle on deterministic models, an LP per
target on random communicating models, and the kernel against its plain-numpy twin."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse import csgraph

from mdpkit import InvalidArgumentError, TabularMDP, generators
from mdpkit import structure


def lp_hitting_times(mdp: TabularMDP, t: int) -> np.ndarray:
    """max sum h s.t. h(s) <= 1 + P_a h for every available (s, a), s != t; h(t) = 0 (scipy HiGHS).

    The minimal expected hitting times are the largest vector satisfying these inequalities
    (Bertsekas & Tsitsiklis 1991: the SSP value is the largest subsolution)."""
    S, A = mdp.S, mdp.A
    P = mdp.P_dense()
    rows, b = [], []
    for s in range(S):
        if s == t:
            continue
        for a in range(A):
            if mdp.action_mask[s, a]:
                row = -P[s, a].copy()
                row[s] += 1.0
                rows.append(row)
                b.append(1.0)
    bounds = [(0, 0) if s == t else (0, None) for s in range(S)]
    res = linprog(-np.ones(S), A_ub=np.array(rows), b_ub=np.array(b), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return res.x


def twin_hitting_times(mdp: TabularMDP, t: int, n_iter: int) -> np.ndarray:
    """Plain-numpy twin of the kernel's value iteration (lower iterate after n_iter sweeps)."""
    P = mdp.P_dense()
    h = np.zeros(mdp.S)
    for _ in range(n_iter):
        q = 1.0 + np.einsum("sat,t->sa", P, h)
        q[~mdp.action_mask] = np.inf
        h = q.min(axis=1)
        h[t] = 0.0
    return h


@st.composite
def communicating_mdps(draw, n_states=(2, 6), n_actions=(1, 3)):
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
    # a ring s -> s+1 on action 0 keeps the model communicating
    w[np.arange(S), 0, (np.arange(S) + 1) % S] += draw(st.integers(1, 3))
    w[w.sum(axis=2) == 0, 0] = 1.0
    return TabularMDP(w / w.sum(axis=2, keepdims=True), np.zeros((S, A)), 1.0)


# ---------------------------------------------------------------------------- hand values
def test_riverswim_diameter_is_the_hand_value():
    """Swim right to the right end: T_0 = 10/3, T_i = (10 + T_{i-1})/3 (p_left 0.1, p_stay 0.6, p_right 0.3
    inside), so D = T_0 + ... + T_4 = 5470/243 from 0 to 5 (derived by hand; every leftward pair takes
    at most 5 deterministic steps)."""
    T = [Fraction(10, 3)]
    for _ in range(4):
        T.append((10 + T[-1]) / 3)
    assert sum(T) == Fraction(5470, 243)
    r = structure.diameter(generators.riverswim())
    assert r.pair == (0, 5)
    assert r.D_lower <= 5470 / 243 <= r.D_upper
    assert r.D_upper - r.D_lower <= 1e-8 * r.D_upper
    assert r.converged


def test_chain_diameter_is_the_hand_value():
    """Action a moves forward w.p. 0.8 and back to 0 otherwise: reaching 4 from 0 needs four successes in
    a row, E = (1 - p^4) / ((1 - p) p^4) = 1845/256 with p = 4/5."""
    p = Fraction(4, 5)
    assert (1 - p**4) / ((1 - p) * p**4) == Fraction(1845, 256)
    r = structure.diameter(generators.chain())
    assert r.pair == (0, 4)
    assert r.D_lower <= 1845 / 256 <= r.D_upper
    assert r.D_upper - r.D_lower <= 1e-8 * r.D_upper


def test_gridworld_4x4_is_not_communicating_so_D_is_infinite():
    m = generators.gridworld_4x4()
    r = structure.diameter(m)
    assert r.D == np.inf and r.D_lower == np.inf
    s, t = r.pair
    assert np.isinf(structure.steps_to(m, [t])[s])


def open_grid(n: int) -> TabularMDP:
    """n x n grid, four deterministic moves, walls keep you in place, no terminal state."""
    S = n * n
    ns = np.zeros((S, 4), dtype=np.int64)
    for s in range(S):
        r, c = divmod(s, n)
        for a, (dr, dc) in enumerate([(-1, 0), (0, 1), (1, 0), (0, -1)]):
            rr, cc = min(max(r + dr, 0), n - 1), min(max(c + dc, 0), n - 1)
            ns[s, a] = rr * n + cc
    P = np.zeros((S, 4, S))
    P[np.arange(S)[:, None], np.arange(4)[None, :], ns] = 1.0
    return TabularMDP(P, np.zeros((S, 4)), 1.0)


def test_open_4x4_grid_diameter_is_the_manhattan_distance_6():
    r = structure.diameter(open_grid(4))
    assert r.D == 6.0 and r.D_lower == r.D_upper == 6.0
    s, t = r.pair
    assert abs(s // 4 - t // 4) + abs(s % 4 - t % 4) == 6


@pytest.mark.parametrize("spec", ["gridworld_5x5", "frozenlake:is_slippery=False"])
def test_deterministic_zoo_diameter_is_the_graph_diameter(spec):
    """Deterministic moves: the minimal expected hitting time is the BFS distance (csgraph oracle)."""
    m = generators.make(spec)
    if not structure.is_communicating(m):
        assert structure.diameter(m).D == np.inf
        return
    adj = (m.P_dense() > 0).any(axis=1)
    dist = csgraph.shortest_path(sp.csr_matrix(adj.astype(float)), directed=True, unweighted=True)
    r = structure.diameter(m)
    assert r.D == dist.max()
    np.testing.assert_array_equal(r.hitting_times, dist)


# ---------------------------------------------------------------------------- LP oracle
@settings(max_examples=25, deadline=None)
@given(communicating_mdps())
def test_hitting_times_bracket_contains_the_lp_value(mdp):
    r = structure.diameter(mdp, rtol=1e-10)
    assert r.converged
    H = np.column_stack([lp_hitting_times(mdp, t) for t in range(mdp.S)])
    tol = 1e-7 * max(1.0, H.max())
    assert np.all(r.hitting_times <= H + tol)
    assert np.all(H <= r.hitting_times_upper + tol)
    assert r.D_lower - tol <= H.max() <= r.D_upper + tol
    s, t = r.pair
    assert H[s, t] >= H.max() - 2 * tol


def test_kernel_matches_its_numpy_twin():
    rng = np.random.default_rng(3)
    S, A = 5, 2
    P = rng.random((S, A, S)) ** 3
    P /= P.sum(axis=2, keepdims=True)
    mdp = TabularMDP(P, np.zeros((S, A)), 1.0)
    r = structure.diameter(mdp, rtol=1e-12)
    for t in range(S):
        h = twin_hitting_times(mdp, t, int(r.n_iter[t]))
        np.testing.assert_allclose(r.hitting_times[:, t], h, rtol=1e-13, atol=1e-13)


def test_sparse_and_dense_agree_and_masks_are_respected():
    m = generators.riverswim()
    a = structure.diameter(m)
    b = structure.diameter(m.to_sparse())
    np.testing.assert_allclose(a.hitting_times, b.hitting_times, rtol=1e-12)
    # masking "right" everywhere but the left end makes the right end unreachable
    mask = np.ones((6, 2), bool)
    mask[1:, 1] = False
    mm = TabularMDP(m.P, m.R, m.gamma, action_mask=mask)
    assert structure.diameter(mm).D == np.inf


def test_unconverged_bracket_is_still_valid():
    r = structure.diameter(generators.riverswim(), max_iter=5)
    assert not r.converged
    assert r.D_lower <= 5470 / 243 <= r.D_upper


def test_diameter_errors():
    m = generators.chain()
    with pytest.raises(InvalidArgumentError, match="rtol"):
        structure.diameter(m, rtol=0.0)
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        structure.diameter(m, max_iter=0)
    with pytest.raises(InvalidArgumentError, match="TabularMDP"):
        structure.diameter("chain")


@pytest.mark.parametrize("spec", ["riverswim", "chain", "chain:n_states=7,slip=0.4"])
def test_zoo_hitting_times_match_the_lp(spec):
    m = generators.make(spec)
    r = structure.diameter(m, rtol=1e-11)
    H = np.column_stack([lp_hitting_times(m, t) for t in range(m.S)])
    tol = 1e-7 * H.max()
    assert np.all(r.hitting_times <= H + tol) and np.all(H <= r.hitting_times_upper + tol)

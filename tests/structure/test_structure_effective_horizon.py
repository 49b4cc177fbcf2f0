"""k-QVI, minimal k and the GORP effective-horizon bound against brute force (enumeration of action
sequences) on small deterministic next-state tables, and against a plain-numpy twin on stochastic
and sticky-action models."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, InvalidMDPError, ModelFileError, generators
from mdpkit.effective_horizon import (
    FiniteHorizonModel,
    effective_horizon,
    k_qvi,
    minimal_k,
    optimal_q,
    random_policy_q,
)


# ---------------------------------------------------------------------------- brute force
def returns(ns, R, H, t, s):
    """Returns of every action sequence from (t, s) to the end: array shaped (A,) * (H - t)."""
    A = ns.shape[1]
    if t == H:
        return np.zeros(())
    out = np.empty((A,) * (H - t))
    for a in range(A):
        j = ns[s, a]
        if j < 0 or t + 1 == H:
            out[a] = R[s, a]
        else:
            out[a] = R[s, a] + returns(ns, R, H, t + 1, j)
    return out


def brute_q(ns, R, H, t, s, k):
    """(Q^k, Q*, Q^rand, Q^worst) at (t, s), shape (A,) each, from the enumerated returns."""
    G = returns(ns, R, H, t, s)
    A = ns.shape[1]
    n = H - t
    kk = min(k, n)
    Gk = G.reshape(A ** kk, -1).mean(axis=1).reshape((A,) + (A ** (kk - 1),))
    flat = G.reshape(A, -1)
    return Gk.max(axis=1), flat.max(axis=1), flat.mean(axis=1), flat.min(axis=1)


def brute_min_k(ns, R, H, s0=0, atol=1e-9):
    for k in range(1, H + 1):
        ok = True
        vis = {s0}
        for t in range(H):
            nxt = set()
            for s in vis:
                qk, qo, _, _ = brute_q(ns, R, H, t, s, k)
                greedy = qk >= qk.max() - atol
                if np.any(greedy & (qo < qo.max() - atol)):
                    ok = False
                for a in np.flatnonzero(greedy):
                    if ns[s, a] >= 0:
                        nxt.add(int(ns[s, a]))
            vis = nxt
            if not ok:
                break
        if ok:
            return k
    raise AssertionError


def brute_gorp(ns, R, H, k, s0=0, atol=1e-9):
    """(works, m_k) of the simple bound by enumeration (visited: actions above the best suboptimal)."""
    A = ns.shape[1]
    best = 1.0
    vis = {s0}
    logterm = math.log(2 * H) + k * math.log(A)
    for t in range(H):
        nxt = set()
        for s in vis:
            qk, qo, _, _ = brute_q(ns, R, H, t, s, k)
            opt = qo >= qo.max() - atol
            sub = np.where(opt, -np.inf, qk).max()
            if np.any(~opt) and sub >= qk.max() - atol:
                return False, math.nan
            gap = qk.max() - sub
            # variance bound at the leaves of the k-step lookahead, max over the action sequence
            var = 0.0
            for seq in itertools.product(range(A), repeat=k):
                tt, ss = t, s
                for a in seq[:-1]:
                    if ns[ss, a] < 0 or tt + 1 >= H:
                        ss = -1
                        break
                    ss, tt = int(ns[ss, a]), tt + 1
                if ss < 0:
                    continue
                _, o, r, w = brute_q(ns, R, H, tt, ss, 1)
                a = seq[-1] if tt == t + k - 1 else None
                vals = (r - w) * (o - w)
                var = max(var, float(vals[a]) if a is not None else 0.0)
            if np.isfinite(gap):
                best = max(best, math.ceil(16 * var / gap**2 * logterm))
            for a in np.flatnonzero(qk > sub + atol):
                if ns[s, a] >= 0:
                    nxt.add(int(ns[s, a]))
        vis = nxt
    return True, float(best)


@st.composite
def tables(draw, n_states=(1, 5), n_actions=(2, 3), horizon=(1, 5), rewards="int"):
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    H = draw(st.integers(*horizon))
    ns = np.array(draw(st.lists(st.integers(-1, S - 1), min_size=S * A, max_size=S * A)), dtype=np.int64).reshape(S, A)
    if rewards == "int":
        R = np.array(draw(st.lists(st.integers(0, 2), min_size=S * A, max_size=S * A)), float).reshape(S, A)
    else:
        R = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 1.0]), min_size=S * A, max_size=S * A))).reshape(S, A)
    return ns, R, H


# ---------------------------------------------------------------------------- Q-values and min k
@settings(max_examples=60, deadline=None)
@given(tables())
def test_q_functions_match_enumeration(tab):
    ns, R, H = tab
    m = FiniteHorizonModel.from_next_state(ns, R, H)
    Qr, Qo = random_policy_q(m), optimal_q(m)
    for t in range(H):
        for s in range(m.S):
            _, qo, qr, _ = brute_q(ns, R, H, t, s, 1)
            np.testing.assert_allclose(Qr[t, s], qr, atol=1e-12)
            np.testing.assert_allclose(Qo[t, s], qo, atol=1e-12)
    k = min(H, 2)
    Qk = k_qvi(m, k).q
    for t in range(H):
        for s in range(m.S):
            np.testing.assert_allclose(Qk[t, s], brute_q(ns, R, H, t, s, k)[0], atol=1e-12)


@settings(max_examples=80, deadline=None)
@given(tables())
def test_minimal_k_matches_brute_force(tab):
    ns, R, H = tab
    m = FiniteHorizonModel.from_next_state(ns, R, H)
    k = minimal_k(m)
    assert k == brute_min_k(ns, R, H)
    assert k_qvi(m, k).solvable and k_qvi(m, H).solvable
    if k > 1:
        assert not k_qvi(m, k - 1).solvable


@settings(max_examples=40, deadline=None)
@given(tables(n_states=(2, 4), horizon=(2, 4)))
def test_gorp_bound_matches_brute_force(tab):
    ns, R, H = tab
    m = FiniteHorizonModel.from_next_state(ns, R, H)
    r = effective_horizon(m)
    assert r.min_k == brute_min_k(ns, R, H)
    assert 1.0 <= r.H_bar <= H
    for k, works, mk, hk in zip(r.ks, r.works, r.m, r.H_k):
        w, bm = brute_gorp(ns, R, H, k)
        assert works == w
        if works:
            assert mk == bm
            assert abs(hk - (k + math.log(mk) / math.log(m.A))) <= 1e-12
            assert r.H_bar <= hk


@settings(max_examples=40, deadline=None)
@given(tables(n_states=(1, 4), horizon=(1, 4)))
def test_bhatia_davis_bounds_the_variance_of_a_random_rollout(tab):
    """The leaf variance bound (Q^rand - Q^worst)(Q* - Q^worst) >= the variance of the return of a
    uniformly random continuation (enumerated)."""
    ns, R, H = tab
    for t in range(H):
        for s in range(ns.shape[0]):
            G = returns(ns, R, H, t, s).reshape(ns.shape[1], -1)
            _, o, r, w = brute_q(ns, R, H, t, s, 1)
            assert np.all(G.var(axis=1) <= (r - w) * (o - w) + 1e-9)


def test_a_model_that_needs_lookahead():
    """Chain 0-1-2-3, H = 4, actions walk / stop (0.25, ends) / fall (0, ends); walking off state 3 pays 1.
    By hand: V^rand_3(3) = (1 + 0.25)/3 = 5/12, V^rand_2(2) = (5/12 + 1/4)/3 = 2/9 and V^rand_1(1) =
    (2/9 + 1/4)/3 = 17/108 < 1/4, so at t = 0 the random policy's Q prefers stopping (k = 1 fails);
    with k = 2, Q^2_0(0, walk) = max_a Q^rand_1(1, a) = 1/4 ties with stopping (fails); with k = 3,
    Q^3_0(0, walk) = Q^rand_2(2, walk) = 5/12 > 1/4 and later steps see the final reward: min k = 3."""
    n = 4
    ns = np.array([[i + 1 if i + 1 < n else -1, -1, -1] for i in range(n)], dtype=np.int64)
    R = np.zeros((n, 3))
    R[:, 1] = 0.25
    R[n - 1, 0] = 1.0
    m = FiniteHorizonModel.from_next_state(ns, R, n)
    assert minimal_k(m) == 3 == brute_min_k(ns, R, n)
    r = k_qvi(m, 1)
    assert not r.solvable and r.counterexample == (0, 0, 1)


# ---------------------------------------------------------------------------- stochastic and sticky
def twin_min_k(P, R, H, mu, atol):
    """Plain-numpy twin: dense P (S, A, S) sub-stochastic."""
    S, A = R.shape
    Qo = np.zeros((H, S, A))
    Qr = np.zeros((H, S, A))
    for t in range(H - 1, -1, -1):
        nxt_o = Qo[t + 1].max(axis=1) if t + 1 < H else np.zeros(S)
        nxt_r = Qr[t + 1].mean(axis=1) if t + 1 < H else np.zeros(S)
        Qo[t] = R + P @ nxt_o
        Qr[t] = R + P @ nxt_r
    Q = Qr.copy()
    for k in range(1, H + 1):
        vis = mu > 0
        ok = True
        for t in range(H):
            nv = np.zeros(S, bool)
            for s in np.flatnonzero(vis):
                g = Q[t, s] >= Q[t, s].max() - atol
                if np.any(g & (Qo[t, s] < Qo[t, s].max() - atol)):
                    ok = False
                nv |= (P[s][g] > 0).any(axis=0)
            vis = nv
        if ok:
            return k
        for t in range(H - k):
            Q[t] = R + P @ Q[t + 1].max(axis=1)
    raise AssertionError


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(2, 3), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_stochastic_minimal_k_matches_the_twin(S, A, H, seed):
    rng = np.random.default_rng(seed)
    P = rng.integers(0, 3, (S, A, S)).astype(float)
    P /= np.maximum(P.sum(axis=2, keepdims=True) + rng.integers(0, 2, (S, A, 1)), 1.0)
    R = rng.integers(0, 3, (S, A)).astype(float)
    m = FiniteHorizonModel(R, H, P=P.reshape(S * A, S), initial=np.eye(S)[0])
    atol = 1e-9 * max(1.0, np.abs(R).max()) * H
    assert minimal_k(m) == twin_min_k(P, R, H, np.eye(S)[0], atol)
    assert k_qvi(m, H).solvable


def sticky_random_return(ns, R, H, p):
    """Expected return of uniformly random play under sticky actions, by enumeration."""
    S, A = R.shape
    total = 0.0
    for seq in itertools.product(range(A), repeat=H):
        for sticks in itertools.product([0, 1], repeat=H):
            if sticks[0]:
                continue
            w = 1.0 / A**H * math.prod(p if x else 1 - p for x in sticks[1:])
            s, prev, G = 0, None, 0.0
            for t in range(H):
                a = prev if (t > 0 and sticks[t]) else seq[t]
                G += R[s, a]
                prev = a
                if ns[s, a] < 0:
                    break
                s = int(ns[s, a])
            total += w * G
    return total


def test_sticky_actions_random_value_matches_enumeration():
    ns = np.array([[1, 2], [2, -1], [0, 1]], dtype=np.int64)
    R = np.array([[0.0, 1.0], [2.0, 0.5], [0.0, 3.0]])
    H, p = 4, 0.25
    m = FiniteHorizonModel.from_next_state(ns, R, H).with_sticky_actions(p)
    Qr = random_policy_q(m)
    start = 0 * 3 + 2  # state 0, previous action "none"
    assert abs(Qr[0, start].mean() - sticky_random_return(ns, R, H, p)) <= 1e-12
    base = FiniteHorizonModel.from_next_state(ns, R, H)
    assert minimal_k(base.with_sticky_actions(0.0)) == minimal_k(base)


def test_from_mdp_detects_deterministic_models():
    g = FiniteHorizonModel.from_mdp(generators.make("frozenlake:is_slippery=False"), 6)
    assert g.deterministic
    s = FiniteHorizonModel.from_mdp(generators.riverswim(), 6)
    assert not s.deterministic and minimal_k(s) <= 6


def test_errors():
    with pytest.raises(InvalidMDPError, match=r"next_state\[0, 1\] = 5"):
        FiniteHorizonModel.from_next_state(np.array([[0, 5]]), np.zeros((1, 2)), 3)
    with pytest.raises(InvalidArgumentError, match="horizon"):
        FiniteHorizonModel.from_next_state(np.array([[0, 0]]), np.zeros((1, 2)), 0)
    m = FiniteHorizonModel.from_next_state(np.array([[0, -1]]), np.zeros((1, 2)), 3)
    with pytest.raises(InvalidArgumentError, match=r"k must be an integer in \[1, H=3\]"):
        k_qvi(m, 4)
    with pytest.raises(InvalidArgumentError, match="deterministic transitions"):
        effective_horizon(m.with_sticky_actions(0.1))
    with pytest.raises(InvalidArgumentError, match="sticky-action probability"):
        m.with_sticky_actions(1.0)


def test_bridge_npz_round_trip_and_errors(tmp_path):
    """The BRIDGE file layout: ``transitions`` and ``rewards`` arrays of shape (S, A), -1 = episode end."""
    ns = np.array([[1, -1, 2], [2, 2, -1], [-1, 0, 1]], dtype=np.int64)
    R = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 2.0], [0.0, 0.0, 1.0]])
    np.savez(tmp_path / "consolidated.npz", transitions=ns, rewards=R)
    m = FiniteHorizonModel.from_npz(tmp_path / "consolidated.npz", 4)
    assert m.deterministic and np.array_equal(m.next_state, ns) and np.array_equal(m.R, R) and m.initial[0] == 1.0
    assert minimal_k(m) == brute_min_k(ns, R, 4)
    np.savez(tmp_path / "bad.npz", transitions=ns)
    with pytest.raises(ModelFileError, match="expected arrays 'transitions' and 'rewards'"):
        FiniteHorizonModel.from_npz(tmp_path / "bad.npz", 4)
    np.savez(tmp_path / "obj.npz", transitions=np.array([object()], dtype=object), rewards=R)
    with pytest.raises(ModelFileError, match="not a readable npz"):
        FiniteHorizonModel.from_npz(tmp_path / "obj.npz", 4)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        FiniteHorizonModel.from_npz(tmp_path / "junk.npz", 4)
    with pytest.raises(ModelFileError, match="exceeds max_bytes"):
        FiniteHorizonModel.from_npz(tmp_path / "consolidated.npz", 4, max_bytes=10)

"""Classification, periods, Dobrushin coefficient, mixing time, concentrability, action gaps and the
optimal bias span, each against an independent oracle (enumeration, matrix powers, closed forms,
a peer solver)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, TabularMDP, generators
from mdpkit import structure
from mdpkit.testing.strategies import mdps, policies


# ---------------------------------------------------------------------------- oracles
def adjacency(mdp, pol=None):
    P = mdp.P_dense()
    used = mdp.action_mask if pol is None else np.eye(mdp.A, dtype=bool)[np.asarray(pol)]
    return ((P > 0) & used[:, :, None]).any(axis=1)


def closure(adj):
    S = adj.shape[0]
    reach = adj | np.eye(S, dtype=bool)
    for _ in range(S):
        reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
    return reach


def n_closed_and_transient(adj):
    reach = closure(adj)
    S = adj.shape[0]
    rec = [s for s in range(S) if np.all(reach[np.flatnonzero(reach[s]), s])]
    classes = {tuple(np.flatnonzero(reach[s] & reach[:, s])) for s in rec}
    return len(classes), S - len(rec)


def period_by_powers(adj, s):
    """gcd of the return times n <= S^2 + S of state s (boolean matrix powers)."""
    S = adj.shape[0]
    M = np.eye(S, dtype=bool)
    g = 0
    for n in range(1, S * S + S + 1):
        M = (M.astype(np.int64) @ adj.astype(np.int64)) > 0
        if M[s, s]:
            g = math.gcd(g, n)
    return g


model_st = mdps(n_states=(1, 5), n_actions=(1, 3), masked=True)


# ---------------------------------------------------------------------------- periods and classification
@settings(max_examples=60, deadline=None)
@given(model_st, st.data())
def test_periods_match_return_time_gcd(mdp, data):
    pol = data.draw(st.one_of(st.none(), policies(mdp)), label="policy")
    adj = adjacency(mdp, pol)
    got = structure.periods(mdp, pol)
    for cls, d in zip(structure.closed_classes(mdp, pol), got):
        assert d == period_by_powers(adj, cls[0])


def test_periodic_cycle_and_aperiodic_self_loop():
    P = np.zeros((3, 1, 3))
    P[[0, 1, 2], 0, [1, 2, 0]] = 1.0
    m = TabularMDP(P, np.zeros((3, 1)), 1.0)
    assert structure.periods(m) == [3]
    c = structure.classify(m)
    assert not c.aperiodic and c.recurrent and c.communicating
    P[0, 0] = [0.5, 0.5, 0.0]
    assert structure.periods(TabularMDP(P, np.zeros((3, 1)), 1.0)) == [1]


@settings(max_examples=60, deadline=None)
@given(model_st)
def test_model_classification_matches_policy_enumeration(mdp):
    """unichain: every deterministic policy has one closed class; recurrent: and no transient state."""
    c = structure.classify(mdp)
    uni, rec = True, True
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]) for s in range(mdp.S)]):
        k, tr = n_closed_and_transient(adjacency(mdp, pol))
        uni &= k == 1
        rec &= k == 1 and tr == 0
    assert c.unichain is uni
    assert c.recurrent is rec
    assert c.communicating is bool(closure(adjacency(mdp)).all())
    if rec:
        assert c.communicating and uni  # Puterman Sec. 8.3.1: recurrent => unichain and communicating
    if c.communicating:
        assert c.weakly_communicating


@settings(max_examples=40, deadline=None)
@given(model_st, st.data())
def test_policy_classification(mdp, data):
    pol = data.draw(st.one_of(policies(mdp), policies(mdp, stochastic=True)), label="policy")
    c = structure.classify(mdp, pol)
    pi = np.asarray(pol)
    used = np.eye(mdp.A, dtype=bool)[pi] if pi.ndim == 1 else pi > 0
    adj = ((mdp.P_dense() > 0) & used[:, :, None]).any(axis=1)
    k, tr = n_closed_and_transient(adj)
    assert c.unichain is (k == 1)
    assert c.recurrent is (k == 1 and tr == 0)
    assert int(c.transient.sum()) == tr


def test_classification_of_zoo_models():
    """RiverSwim: every row (left or right) puts positive mass on moving left (or staying at 0), so every
    recurrent class of every policy contains state 0: unichain; 'left' at 0 makes 1..5 transient, so not
    recurrent.  4x4 grid world: two absorbing corners.  Chain: every action reaches 0 and moves forward
    with positive probability: every policy is irreducible."""
    r = structure.classify(generators.riverswim())
    assert r.communicating and r.unichain is True and r.recurrent is False
    assert r.label == "unichain, communicating"
    g4 = structure.classify(generators.gridworld_4x4())
    assert g4.unichain is False and not g4.weakly_communicating and g4.closed_classes == [[0], [15]]
    assert g4.label == "multichain, not weakly communicating"
    ch = structure.classify(generators.chain())
    assert ch.recurrent and ch.unichain and ch.communicating


def test_classify_undecided_above_the_enumeration_limit():
    m = generators.garnet(12, 3, 12, gamma=0.9, rng=0)
    c = structure.classify(m, max_policies=10)
    assert c.unichain is None and c.n_policies_checked == 0
    assert "undecided" in c.label


# ---------------------------------------------------------------------------- Dobrushin
@settings(max_examples=40, deadline=None)
@given(model_st, st.data())
def test_dobrushin_is_half_max_l1_and_contracts_tv(mdp, data):
    pol = data.draw(policies(mdp, stochastic=True), label="policy")
    d = structure.dobrushin_coefficient(mdp, pol)
    P = np.einsum("sa,sat->st", np.asarray(pol), mdp.P_dense())
    half_l1 = 0.5 * np.abs(P[:, None, :] - P[None, :, :]).sum(axis=2).max()
    assert abs(d - half_l1) <= 1e-12
    rng = np.random.default_rng(0)
    for _ in range(5):
        mu, nu = rng.dirichlet(np.ones(mdp.S)), rng.dirichlet(np.ones(mdp.S))
        assert 0.5 * np.abs((mu - nu) @ P).sum() <= d * 0.5 * np.abs(mu - nu).sum() + 1e-12
    # point masses at the extremal pair attain it
    if mdp.S >= 2:
        i, j = np.unravel_index(np.argmax(np.abs(P[:, None, :] - P[None, :, :]).sum(axis=2)), (mdp.S, mdp.S))
        assert abs(0.5 * np.abs(P[i] - P[j]).sum() - d) <= 1e-12


def test_dobrushin_agrees_with_the_bounds_coefficient_on_one_action_models():
    from mdpkit.bounds import span_contraction_coefficient

    rng = np.random.default_rng(1)
    P = rng.random((6, 6)) ** 2
    P /= P.sum(axis=1, keepdims=True)
    assert abs(structure.dobrushin_coefficient(P) - span_contraction_coefficient(P[:, None, :])) <= 1e-12


def test_chain_input_errors():
    with pytest.raises(InvalidArgumentError, match="row 0"):
        structure.dobrushin_coefficient(np.array([[0.5, 0.4], [0.0, 1.0]]))
    with pytest.raises(InvalidArgumentError, match="policy is needed"):
        structure.dobrushin_coefficient(generators.chain())


# ---------------------------------------------------------------------------- mixing time
def test_two_state_mixing_time_closed_form():
    """P = [[1-p, p], [q, 1-q]]: d(t) = max(p, q)/(p+q) |1-p-q|^t (Levin-Peres-Wilmer Sec. 1.1)."""
    for p, q in [(0.1, 0.2), (0.3, 0.05), (0.5, 0.5 - 1e-3)]:
        P = np.array([[1 - p, p], [q, 1 - q]])
        r = structure.mixing_time(P, epsilon=0.01)
        lam = abs(1 - p - q)
        d = [max(p, q) / (p + q) * lam**t for t in range(len(r.d))]
        np.testing.assert_allclose(r.d, d, rtol=1e-10, atol=1e-15)
        assert r.t_mix == next(t for t, x in enumerate(d) if x <= 0.01)
        assert r.reversible and abs(r.relaxation_time - 1 / (1 - lam)) <= 1e-9


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1), st.sampled_from([0.05, 0.25, 0.4]))
def test_mixing_time_from_matrix_powers_and_spectral_bounds(S, seed, eps):
    rng = np.random.default_rng(seed)
    W = rng.random((S, S)) ** 3
    W = W + W.T + 0.01  # symmetric weights: a reversible random walk
    P = W / W.sum(axis=1, keepdims=True)
    r = structure.mixing_time(P, epsilon=eps)
    pi = W.sum(axis=1) / W.sum()
    np.testing.assert_allclose(r.stationary, pi, atol=1e-12)
    d = [0.5 * np.abs(np.linalg.matrix_power(P, t) - pi).sum(axis=1).max() for t in range(r.t_mix + 1)]
    np.testing.assert_allclose(r.d, d, atol=1e-12)
    assert r.d[-1] <= eps and (r.t_mix == 0 or r.d[-2] > eps)
    assert r.reversible
    assert r.spectral_lower - 1e-9 <= r.t_mix <= r.spectral_upper + 1e-9


def test_mixing_time_refuses_periodic_and_multichain():
    with pytest.raises(InvalidArgumentError, match="periodic"):
        structure.mixing_time(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(InvalidArgumentError, match="2 recurrent classes"):
        structure.mixing_time(np.eye(2))


# ---------------------------------------------------------------------------- concentrability
def test_concentrability_all_policies_matches_enumeration():
    rng = np.random.default_rng(2)
    S, A = 3, 2
    P = rng.random((S, A, S)) ** 2
    P /= P.sum(axis=2, keepdims=True)
    m = TabularMDP(P, np.zeros((S, A)), 0.8)
    rho = np.array([1.0, 0.0, 0.0])
    mu = np.array([0.5, 0.3, 0.2])
    r = structure.concentrability(m, rho, mu, m_max=3)
    dets = list(itertools.product(range(A), repeat=S))
    for mm in range(1, 4):
        best = 0.0
        for seq in itertools.product(dets, repeat=mm):
            d = rho.copy()
            for pol in seq:
                d = d @ P[np.arange(S), np.array(pol)]
            best = max(best, float((d / mu).max()))
        assert abs(r.c[mm - 1] - best) <= 1e-12
    # stationary class: direct matrix powers
    pols = [np.array([0, 1, 0]), np.array([1, 1, 1])]
    rs = structure.concentrability(m, rho, mu, policies=pols, m_max=5)
    for mm in range(1, 6):
        want = max(float((rho @ np.linalg.matrix_power(P[np.arange(S), p], mm) / mu).max()) for p in pols)
        assert abs(rs.c[mm - 1] - want) <= 1e-12
    assert rs.C_lower <= rs.C <= rs.C_upper and rs.c.max() <= r.c.max() + 1e-12
    # the bracket: (1-g)^2 sum m g^(m-1) = 1 for c = 1, so C of a constant-1 sequence is 1
    assert rs.C_upper <= rs.C_lower + (1 - 0.8) ** 2 * sum(k * 0.8 ** (k - 1) for k in range(6, 3000)) / mu.min() + 1e-9


def test_distribution_mismatch_matches_a_truncated_series():
    m = generators.chain(gamma=0.9)
    pol = np.zeros(5, dtype=np.int64)
    rho = np.full(5, 0.2)
    mu = np.array([0.4, 0.3, 0.15, 0.1, 0.05])
    P = m.P_dense()[np.arange(5), pol]
    d = np.zeros(5)
    x = rho.copy()
    for t in range(2000):
        d += (1 - 0.9) * 0.9**t * x
        x = x @ P
    assert abs(structure.distribution_mismatch(m, pol, rho, mu) - (d / mu).max()) <= 1e-9
    mu0 = np.array([1.0, 0, 0, 0, 0])
    assert structure.distribution_mismatch(m, pol, rho, mu0) == np.inf


# ---------------------------------------------------------------------------- action gaps
@settings(max_examples=40, deadline=None)
@given(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.5, 0.95), masked=True))
def test_action_gaps_match_enumeration(mdp):
    from mdpkit.theory._instances import enumerate_values

    _, vals = enumerate_values(mdp)
    vstar = vals.max(axis=0)
    q = mdp.R + mdp.gamma * mdp.P_dense() @ vstar
    q = np.where(mdp.action_mask, q, -np.inf)
    r = structure.action_gaps(mdp)
    tol = 1e-8 * max(1.0, np.abs(mdp.R).max()) / (1 - mdp.gamma)
    np.testing.assert_allclose(r.v, vstar, atol=tol)
    want_opt = mdp.action_mask & (q >= vstar[:, None] - r.tol)
    np.testing.assert_array_equal(r.optimal, want_opt)
    np.testing.assert_array_equal(r.n_optimal, want_opt.sum(axis=1))
    sub = mdp.action_mask & ~want_opt
    if sub.any():
        assert abs(r.min_gap - (vstar[:, None] - q)[sub].min()) <= tol
    else:
        assert r.min_gap == np.inf and r.argmin is None


# ---------------------------------------------------------------------------- optimal bias
def test_optimal_bias_matches_relative_value_iteration_and_solves_the_equation():
    from mdpkit.solvers import relative_value_iteration

    for spec in ["riverswim", "chain", "gridworld_5x5"]:
        m = generators.make(spec)
        b = structure.optimal_bias(m)
        assert b.converged and b.residual <= 1e-8 * max(1.0, np.abs(m.R).max())
        ref = relative_value_iteration(m, epsilon=1e-11)
        g = ref.gain
        assert b.gain_lower - 1e-8 <= g <= b.gain_upper + 1e-8
        # the solution need not be unique, so compare the span of a solution verified by its residual
        Th = (m.R + np.einsum("sat,t->sa", m.P_dense(), b.h)).max(axis=1)
        assert np.abs(Th - b.h - 0.5 * (b.gain_lower + b.gain_upper)).max() <= 1e-7 * max(1.0, np.abs(m.R).max())
        np.testing.assert_allclose(b.h, ref.v, atol=1e-6 * max(1.0, np.ptp(ref.v)))


def test_optimal_bias_refuses_two_closed_classes():
    with pytest.raises(InvalidArgumentError, match="weakly communicating"):
        structure.optimal_bias(generators.gridworld_4x4())


@pytest.mark.parametrize("spec", ["riverswim", "chain", "riverswim:n_states=4"])
def test_zoo_classification_matches_policy_enumeration(spec):
    m = generators.make(spec)
    c = structure.classify(m)
    ks = [n_closed_and_transient(adjacency(m, pol)) for pol in itertools.product(range(m.A), repeat=m.S)]
    assert c.unichain is all(k == 1 for k, _ in ks)
    assert c.recurrent is all(k == 1 and tr == 0 for k, tr in ks)
    assert c.n_policies_checked == len(ks) or not c.unichain

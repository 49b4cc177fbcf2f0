"""The one-entry-per-row CSR layouts (``mdpkit._kernels.CSR_ONE_ENTRY`` and ``CSR_ONE_ENTRY_UNIT``).

Deterministic models (grid worlds, shortest paths) store one entry per row of ``P``; the sweeps
then read row ``i``'s entry at position ``i`` instead of walking ``indptr``, and with unit
weights and every action available the greedy sweep reads neither ``data`` nor the mask.  The results must be
bitwise those of the generic CSR path (same arithmetic, one term per row), and agree with the
numpy oracle on the dense form.  Substochastic weights and masked actions are included.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import TabularMDP
from mdpkit import _reference as ref
from mdpkit._kernels import CSR, CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT, bellman, model_args, one_entry_per_row


def deterministic_model(S, A, seed, big=False):
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, S, size=S * A)
    P = sp.csr_matrix((np.ones(S * A), nxt, np.arange(S * A + 1)), shape=(S * A, S))
    mask = np.ones((S, A), dtype=bool)
    if not big:
        mask[rng.random((S, A)) < 0.3] = False
        mask[:, 0] = True
    return TabularMDP(P, rng.normal(size=(S, A)), 0.95, action_mask=mask)


def test_layout_detection():
    m = deterministic_model(30, 3, 0)  # masked actions: code 2, the sweep must test the mask
    assert model_args(m)[0] == CSR_ONE_ENTRY
    assert one_entry_per_row(m.P)
    full = TabularMDP(m.P, m.R, m.gamma)  # unit weights, every action available
    assert model_args(full)[0] == CSR_ONE_ENTRY_UNIT
    P = m.P.copy().tolil()
    P[0, 0], P[0, 1] = 0.5, 0.5  # row 0 now has two entries (unless both were already 0/1)
    P = sp.csr_matrix(P)
    P.eliminate_zeros()
    assert not one_entry_per_row(P)


def _all_sweeps(code, args, gamma, v, store_q):
    km = (code,) + tuple(args[1:])  # the same prepared arrays read through another layout code
    S, A = km[7], km[8]
    out, pi, q = np.empty(S), np.empty(S, dtype=np.int64), np.full(S * A, np.nan)
    stats = np.empty((bellman.N_CHUNKS, 3))
    d = bellman.greedy_sweep(km, gamma, v, out, pi, q, store_q, stats)
    pol_out = np.empty(S)
    e = bellman.policy_sweep(km, gamma, pi, v, pol_out, stats)
    return out, pi, q, np.array(d), pol_out, np.array(e)


@pytest.mark.parametrize("store_q", [False, True])
@pytest.mark.parametrize("big,S,A", [(False, 40, 3), (True, 70_000, 4), (True, 60_000, 5), (False, 30, 4)],
                         ids=["serial-A3", "parallel-A4", "parallel-A5", "serial-A4"])
def test_sweeps_bitwise_equal_generic_csr(big, S, A, store_q):
    """Codes 2 and 3 give the generic CSR path's bits: v, policy, q, the reductions and T_pi v.

    The parallel models (above PAR_MIN_WORK) have every action available, so ``model_args``
    picks code 3 and its own sweep (A = 4 unrolled, other A generic); NaN and -inf rewards are
    planted in the kernels' reward array so the fallback for a state with no value above -inf is
    exercised too.
    """
    m = deterministic_model(S, A, 1, big)
    args = model_args(m)
    if big:  # TabularMDP rejects such rewards; the kernels take raw arrays
        R1 = args[5].copy()
        R1[5 * A:6 * A] = -np.inf
        R1[7 * A:8 * A] = np.nan
        R1[9 * A + 1:10 * A] = np.nan
        R1.flags.writeable = False  # as prepared: the kernels have one signature (read-only R1)
        args = args[:5] + (R1,) + args[6:]
    layout, data = args[0], args[4]
    assert layout == (CSR_ONE_ENTRY_UNIT if big else CSR_ONE_ENTRY)
    if big:
        assert data.shape[0] >= bellman.PAR_MIN_WORK
    v = np.random.default_rng(2).normal(size=S)
    codes = (CSR, CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT) if big else (CSR, CSR_ONE_ENTRY)
    outs = {code: _all_sweeps(code, args, m.gamma, v, store_q) for code in codes}
    for code in codes[1:]:
        for a, b in zip(outs[CSR], outs[code]):
            assert_array_equal(a, b)
    if big:
        pi = outs[CSR_ONE_ENTRY_UNIT][1]
        assert pi[5] == 0 and pi[7] == 0 and pi[9] == 0  # no value above -inf: the first action
    else:
        Pd = m.P.toarray().reshape(S, A, S)
        q_ref = ref.bellman_q(Pd, m.R, m.gamma, v)
        v_ref, pi_ref = ref.greedy_max(q_ref, m.action_mask)
        out, pi = outs[CSR_ONE_ENTRY][0], outs[CSR_ONE_ENTRY][1]
        assert_allclose(out, v_ref, rtol=1e-13, atol=1e-13)
        assert_array_equal(pi, pi_ref)
        if store_q:
            assert_allclose(outs[CSR_ONE_ENTRY][2], q_ref.reshape(-1), rtol=1e-13, atol=1e-13)


def test_unit_sweep_matches_the_numpy_oracle_on_a_grid_world():
    """Code 3 against the dense numpy oracle (an independent route) on a 4-action grid world."""
    n = 300
    S, A = n * n, 4
    s = np.arange(S)
    r, c = np.divmod(s, n)
    nr = np.clip(r[:, None] + np.array([-1, 0, 1, 0]), 0, n - 1)
    nc = np.clip(c[:, None] + np.array([0, 1, 0, -1]), 0, n - 1)
    nxt = (nr * n + nc).ravel()
    rng = np.random.default_rng(4)
    R = rng.integers(-3, 1, size=(S, A)).astype(float)  # integer rewards: exact ties
    m = TabularMDP(sp.csr_matrix((np.ones(S * A), nxt, np.arange(S * A + 1)), shape=(S * A, S)), R, 0.9)
    args = model_args(m)
    assert args[0] == CSR_ONE_ENTRY_UNIT and args[4].shape[0] >= bellman.PAR_MIN_WORK
    v = rng.integers(0, 3, size=S).astype(float)
    out, pi, q, d, _, _ = _all_sweeps(CSR_ONE_ENTRY_UNIT, args, m.gamma, v, True)
    q_ref = R + m.gamma * v[nxt].reshape(S, A)
    v_ref = q_ref.max(axis=1)
    assert_array_equal(q, q_ref.ravel())
    assert_array_equal(out, v_ref)
    assert_array_equal(pi, q_ref.argmax(axis=1))  # numpy's argmax: the first maximiser
    assert d[0] == (v_ref - v).min() and d[1] == (v_ref - v).max()


@pytest.mark.parametrize("layout", ["dense", "csr", "one-entry"])
def test_masked_winner_falls_back_to_the_exact_masked_choice(layout):
    """The sweep takes the argmax over all actions and redoes a state whose winner is masked.

    Masked actions get the largest rewards here, so the fast path picks a masked action at every
    state where one exists; ties between a masked and an available action are included.  The
    result must be the lowest-index maximiser among available actions (numpy oracle).
    """
    S, A = 30, 4
    rng = np.random.default_rng(5)
    m0 = deterministic_model(S, A, 3)
    mask = m0.action_mask.copy()
    R = rng.integers(0, 3, size=(S, A)).astype(float)  # integer rewards: many exact ties
    R[~mask] = 100.0
    R[0, :] = 1.0  # state 0: equal rewards on all actions
    mask[0, 0] = False
    mask[0, 1:] = True
    R[1, :] = 100.0  # state 1: a masked action ties the best available one
    mask[1, :] = [False, True, False, True]
    P = m0.P if layout != "dense" else m0.P.toarray().reshape(S, A, S)
    m = TabularMDP(P, R, 0.9, action_mask=mask)
    if layout == "csr":
        m = TabularMDP(sp.csr_matrix(m0.P.toarray() * 0.5 + m0.P.toarray()[::-1] * 0.5), R, 0.9, action_mask=mask)
    km = model_args(m)
    code = km[0]
    assert code == {"dense": 0, "csr": CSR, "one-entry": CSR_ONE_ENTRY}[layout]
    v = rng.integers(0, 2, size=S).astype(float)
    out, pi, q = np.empty(S), np.empty(S, dtype=np.int64), np.empty(S * A)
    bellman.greedy_sweep(km, m.gamma, v, out, pi, q, False, np.empty((bellman.N_CHUNKS, 3)))
    Pd = m.P.toarray().reshape(S, A, S) if m.is_sparse else m.P
    v_ref, pi_ref = ref.greedy_max(ref.bellman_q(Pd, m.R, m.gamma, v), m.action_mask)
    assert_allclose(out, v_ref, rtol=1e-13, atol=1e-12)
    assert_array_equal(pi, pi_ref)
    assert pi[0] == 1 and pi[1] == 1
    assert np.all(m.action_mask[np.arange(S), pi])


@pytest.mark.parametrize("code", [CSR, CSR_ONE_ENTRY])
def test_gauss_seidel_on_masked_one_entry_model_matches_the_oracle(code):
    """Gauss-Seidel uses the same argmax-then-check rule; masked actions carry the largest rewards."""
    m0 = deterministic_model(25, 3, 11)
    R = np.where(m0.action_mask, m0.R, 50.0)
    m = TabularMDP(m0.P, R, 0.8, action_mask=m0.action_mask)
    km = (code,) + tuple(model_args(m)[1:])
    S, A = km[7], km[8]
    v = np.zeros(S)
    residuals = np.empty(50)
    n, _ = bellman.gauss_seidel_loop(km, m.gamma, v, 0.0, 50, residuals)
    v_ref, n_ref, res_ref = ref.gauss_seidel(m.P.toarray().reshape(S, A, S), m.R, m.action_mask, m.gamma,
                                             np.zeros(S), 0.0, 50)[:3]
    assert n == n_ref == 50
    assert_allclose(v, v_ref, rtol=1e-12, atol=1e-12)

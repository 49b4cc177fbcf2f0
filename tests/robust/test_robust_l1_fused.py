"""The fused L1 sweep (``_kernels.robust.robust_q_l1`` and the L1 policy sweep) against oracles.

Oracles: the plain-numpy sorting twin ``_reference_robust.l1_sort`` (checked here against the
HiGHS LP ``l1_lp``), applied row by row to the model's rows; values to 1e-12, minimisers to 1e-12.
The fused kernel's three routes (first removal inline, scan continuation, heap/insertion walk
with the minimiser) must agree bitwise, and the parallel path must not depend on the thread count.
"""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit._reference_robust as ref
from mdpkit import TabularMDP, generators
from mdpkit._kernels import model_args
from mdpkit._kernels import robust as rk
from mdpkit.testing.strategies import mdps
from mdpkit.uncertainty import make_workspace

KAPPAS = st.sampled_from([0.0, 1e-3, 0.05, 0.2, 0.6, 1.3, 2.0, 5.0])


@st.composite
def qz_rows(draw):
    k = draw(st.integers(1, 40))  # crosses the 16-entry switch between scan and heap
    w = np.array(draw(st.lists(st.integers(0, 5), min_size=k, max_size=k)), float)
    if w.sum() == 0:
        w[0] = 1.0
    z = np.array(draw(st.lists(st.integers(-3, 3), min_size=k, max_size=k)), float)  # many ties
    if draw(st.booleans()):
        z = z + np.array(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    return w / w.sum(), z


@settings(max_examples=40)
@given(qz_rows(), KAPPAS, st.booleans())
def test_l1_twin_matches_lp(qz, kappa, full):
    q, z = qz
    p, val = ref.l1_sort(q, z, kappa, full=full)
    idx = np.arange(q.size) if full else np.flatnonzero(q > 0)
    qs = q[idx]
    _, lp_val = ref.l1_lp(qs, z[idx], kappa)
    assert abs(val - lp_val) <= 1e-8 * (1 + np.abs(z).max())
    assert np.abs(p - q).sum() <= kappa + 1e-12
    assert p.min() >= 0 and abs(p.sum() - 1) <= 1e-12


def _twin_q(mdp, v, kappa1, full):
    P = mdp.P.toarray().reshape(mdp.S * mdp.A, mdp.S) if mdp.is_sparse else mdp.P.reshape(mdp.S * mdp.A, mdp.S)
    R1 = mdp.R.reshape(-1)
    mask1 = mdp.action_mask.reshape(-1)
    q = np.full(P.shape[0], -np.inf)
    rows = np.zeros_like(P)
    for i in range(P.shape[0]):
        if mask1[i]:
            rows[i], val = ref.l1_sort(P[i], v, kappa1[i], full=full)
            q[i] = R1[i] + mdp.gamma * val
    return q, rows


def _fused(mdp, v, kappa1, full, store, chunks=1):
    sparse, P2, indptr, indices, data, R1, mask1, S, A = model_args(mdp)
    n_max = int(np.diff(indptr).max()) if sparse else S
    w = make_workspace(n_max, rk.L1, chunks)
    q = np.empty(S * A)
    pw2 = np.zeros((S * A, S)) if (store and not sparse) else np.zeros((1, 1))
    pwd = np.zeros(data.size) if (store and sparse) else np.zeros(1)
    uset = (rk.L1, np.array(kappa1, dtype=float), bool(full), np.zeros(1), np.zeros((1, 1)))
    rk.robust_q(model_args(mdp), uset, mdp.gamma, np.array(v, dtype=float), store, (pw2, pwd), q, w)
    if not store:
        return q, None
    if sparse:
        return q, sp.csr_matrix((pwd, mdp.P.indices, mdp.P.indptr), shape=mdp.P.shape).toarray()
    return q, pw2


@st.composite
def model_case(draw):
    mdp = draw(mdps(n_states=(1, 24), n_actions=(1, 3), sparse=None, masked=True, max_weight=3))
    full = draw(st.booleans()) and not mdp.is_sparse  # simplex support runs on dense rows
    S, A = mdp.S, mdp.A
    kappa1 = np.array(draw(st.lists(KAPPAS, min_size=S * A, max_size=S * A)))
    v = np.array(draw(st.lists(st.integers(-4, 4), min_size=S, max_size=S)), float)
    if draw(st.booleans()):
        v = v + np.array(draw(st.lists(st.floats(-1, 1), min_size=S, max_size=S)))
    return mdp, v, kappa1, full


@settings(max_examples=60)
@given(model_case())
def test_fused_l1_q_matches_twin(case):
    """q-values of the fused sweep equal the twin to 1e-12; the stored minimisers too."""
    mdp, v, kappa1, full = case
    q_ref, rows_ref = _twin_q(mdp, v, kappa1, full)
    q_val, _ = _fused(mdp, v, kappa1, full, store=False)
    q_sto, rows = _fused(mdp, v, kappa1, full, store=True)
    fin = np.isfinite(q_ref)
    assert np.array_equal(np.isfinite(q_val), fin)
    np.testing.assert_allclose(q_val[fin], q_ref[fin], rtol=0, atol=1e-12)
    # values-only and minimiser-writing routes take the same masses in the same order
    assert np.array_equal(q_val, q_sto)
    mask1 = mdp.action_mask.reshape(-1)
    np.testing.assert_allclose(rows[mask1], rows_ref[mask1], rtol=0, atol=1e-12)


@settings(max_examples=30)
@given(model_case(), st.data())
def test_fused_l1_policy_sweep_matches_twin(case, data):
    mdp, v, kappa1, full = case
    S, A = mdp.S, mdp.A
    pi = np.array([data.draw(st.sampled_from(np.flatnonzero(mdp.action_mask[s]).tolist())) for s in range(S)],
                  dtype=np.int64)
    q_ref, _ = _twin_q(mdp, v, kappa1, full)
    sparse, P2, indptr, indices, data_, R1, mask1, S, A = model_args(mdp)
    w = make_workspace(int(np.diff(indptr).max()) if sparse else S, rk.L1)
    out = np.empty(S)
    uset = (rk.L1, np.array(kappa1, dtype=float), bool(full), np.zeros(1), np.zeros((1, 1)))
    rk.robust_policy_sweep(model_args(mdp), uset, mdp.gamma, pi, np.array(v, dtype=float), False,
                           (np.zeros((1, 1)), np.zeros(1)), out, w)
    np.testing.assert_allclose(out, q_ref.reshape(S, A)[np.arange(S), pi], rtol=0, atol=1e-12)


@pytest.mark.parametrize("sparse", [True, False])
def test_fused_l1_parallel_is_thread_count_independent(sparse):
    """Large enough for the prange path; 1 thread and all threads give bitwise equal sweeps."""
    S, A, b = (6000, 3, 6) if sparse else (200, 2, 5)
    mdp = generators.garnet(S, A, b, gamma=0.9, rng=3, sparse=sparse)
    if not sparse:  # dense: work = S*A*S must pass the threshold
        mdp = generators.garnet(190, 2, 5, gamma=0.9, rng=3, sparse=False)
        S = mdp.S
    sparse_, P2, indptr, indices, data, *_ = model_args(mdp)
    assert (data.size if sparse_ else P2.size) >= rk.PAR_MIN_WORK
    v = np.random.default_rng(1).standard_normal(mdp.S)
    kappa1 = np.random.default_rng(2).choice([0.0, 0.1, 0.4, 1.5], size=mdp.S * mdp.A)
    n0 = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        q1, r1 = _fused(mdp, v, kappa1, full=not sparse, store=True, chunks=rk.N_CHUNKS)
        q1v, _ = _fused(mdp, v, kappa1, full=not sparse, store=False, chunks=rk.N_CHUNKS)
        numba.set_num_threads(n0)
        qn, rn = _fused(mdp, v, kappa1, full=not sparse, store=True, chunks=rk.N_CHUNKS)
        qnv, _ = _fused(mdp, v, kappa1, full=not sparse, store=False, chunks=rk.N_CHUNKS)
    finally:
        numba.set_num_threads(n0)
    assert np.array_equal(q1, qn) and np.array_equal(r1, rn) and np.array_equal(q1v, qnv)
    qs, _ = _fused(mdp, v, kappa1, full=not sparse, store=False, chunks=1)  # serial path
    assert np.array_equal(qs, qnv)
    q_ref, _ = _twin_q(mdp, v, kappa1, full=not sparse)
    np.testing.assert_allclose(qnv, q_ref, rtol=0, atol=1e-12)


def test_fused_l1_full_support_destination_outside_row():
    """support='simplex': mass goes to the global argmin of v even when the row never reaches it."""
    P = np.zeros((3, 1, 3))
    P[0, 0, [1, 2]] = [0.5, 0.5]
    P[1, 0, 1] = 1.0
    P[2, 0, 2] = 1.0
    mdp = TabularMDP(P, np.zeros((3, 1)), 0.5)
    v = np.array([-10.0, 1.0, 3.0])
    q, rows = _fused(mdp, v, np.full(3, 0.4), full=True, store=True)
    # row 0: move 0.2 from state 2 (v=3) to state 0 (v=-10): 0.5*1 + 0.3*3 + 0.2*(-10) = -0.6
    assert q[0] == pytest.approx(0.5 * -0.6, abs=1e-15)
    np.testing.assert_allclose(rows[0], [0.2, 0.5, 0.3], atol=1e-15)

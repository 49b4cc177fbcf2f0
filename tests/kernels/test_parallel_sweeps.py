"""The parallel sweep paths of ``mdpkit/_kernels/bellman.py``.

Sweeps that read at least ``PAR_MIN_WORK`` stored entries of P run over ``N_CHUNKS`` fixed state
blocks with ``prange``.  Every state's backup is computed by the same serial code and the block
reductions are min/max, so the results must be *bitwise* equal to the serial path and
independent of the number of threads; against the numpy oracle they agree to rounding.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import TabularMDP
from mdpkit import _reference as ref
from mdpkit._kernels import bellman, model_args
from mdpkit.generators import garnet


def big_models():
    """One dense and one CSR model just above the parallel threshold."""
    rng = np.random.default_rng(7)
    S, A = 200, 8  # dense: 320_000 entries
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    dense = TabularMDP(P, rng.normal(size=(S, A)), 0.97)
    csr = garnet(700, 4, 100, gamma=0.97, rng=8, sparse=True)  # 280_000 stored entries
    for m in (dense, csr):
        assert m.nnz >= bellman.PAR_MIN_WORK
    return [pytest.param(dense, id="dense"), pytest.param(csr, id="csr")]


MODELS = big_models()


def _sweep(mdp, v, store_q=True):
    km = model_args(mdp)
    S, A = km[7], km[8]
    out = np.full(S, np.nan)
    pi = np.full(S, -1, dtype=np.int64)
    q = np.full(S * A, np.nan)
    stats = np.empty((bellman.N_CHUNKS, 3))
    d = bellman.greedy_sweep(km, mdp.gamma, v, out, pi, q, store_q, stats)
    return out, pi, q, np.array(d)


def _serial_sweep(mdp, v):
    """The serial path over all states (the function the parallel blocks call)."""
    layout, P2, indptr, indices, data, R1, mask1, S, A = model_args(mdp)
    out = np.full(S, np.nan)
    pi = np.full(S, -1, dtype=np.int64)
    q = np.full(S * A, np.nan)
    stats = np.empty((1, 3))
    bellman._greedy_rows(layout, P2, indptr, indices, data, R1, mask1, A, mdp.gamma, v, out, pi, q, True,
                         0, S, stats, 0)
    return out, pi, q, stats[0]


@pytest.fixture
def restore_threads():
    n = numba.get_num_threads()
    yield
    numba.set_num_threads(n)


@pytest.mark.parametrize("mdp", MODELS)
def test_parallel_sweep_equals_serial_bitwise_and_matches_oracle(mdp, restore_threads):
    v = np.random.default_rng(0).normal(size=mdp.S) * 10
    out, pi, q, d = _sweep(mdp, v)
    out_s, pi_s, q_s, d_s = _serial_sweep(mdp, v)
    assert_array_equal(out, out_s)
    assert_array_equal(pi, pi_s)
    assert_array_equal(q, q_s)
    assert_array_equal(d, d_s)
    diff = out - v
    assert_array_equal(d, [diff.min(), diff.max(), np.abs(diff).max()])
    q_ref = ref.bellman_q(np.asarray(mdp.P_dense()), np.asarray(mdp.R), mdp.gamma, v)
    scale = 1.0 + np.abs(mdp.R).max() + mdp.gamma * np.abs(v).max()
    assert_allclose(q.reshape(mdp.S, mdp.A), q_ref, rtol=0, atol=1e-12 * scale)
    v_r, _ = ref.greedy_max(q_ref, mdp.action_mask)
    assert_allclose(out, v_r, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("mdp", MODELS)
def test_results_independent_of_thread_count(mdp, restore_threads):
    """VI and MPI loops (which sweep in parallel here) give identical bits with 1 thread and all."""
    km = model_args(mdp)
    S, A = km[7], km[8]
    runs = []
    for n_threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(n_threads)
        v = np.zeros(S)
        q, v_new, pi = np.empty(S * A), np.empty(S), np.empty(S, dtype=np.int64)
        res, spans, dmm = np.empty(50), np.empty(50), np.empty(2)
        n, conv = bellman.value_iteration_loop(km, mdp.gamma, v, 1e-9, False, 50, q, v_new, pi, res, spans, dmm)
        w = np.zeros(S)
        q2, w_new, pi2 = np.empty(S * A), np.empty(S), np.empty(S, dtype=np.int64)
        res2, spans2, dmm2, nev = np.empty(40), np.empty(40), np.empty(2), np.zeros(1, dtype=np.int64)
        n2, conv2 = bellman.modified_policy_iteration_loop(
            km, mdp.gamma, w, 1e-9, 30, 1e-2, 40, q2, w_new, pi2, res2, spans2, dmm2, nev)
        runs.append((v.copy(), pi.copy(), q.copy(), res[:n].copy(), w.copy(), pi2.copy(), res2[:n2].copy(),
                     int(nev[0])))
    for a, b in zip(runs[0], runs[-1]):
        assert_array_equal(a, b)


@pytest.mark.parametrize("mdp", MODELS)
def test_parallel_policy_sweep_matches_oracle(mdp, restore_threads):
    km = model_args(mdp)
    S, A = km[7], km[8]
    rng = np.random.default_rng(1)
    pi = rng.integers(0, A, size=S).astype(np.int64)
    v = rng.normal(size=S)
    out = np.full(S, np.nan)
    stats = np.empty((bellman.N_CHUNKS, 3))
    dmin, dmax, dabs = bellman.policy_sweep(km, mdp.gamma, pi, v, out, stats)
    expect = ref.policy_backup(np.asarray(mdp.P_dense()), np.asarray(mdp.R), mdp.gamma, pi, v)
    assert_allclose(out, expect, rtol=0, atol=1e-12 * (1 + np.abs(mdp.R).max() + np.abs(v).max()))
    diff = out - v
    assert (dmin, dmax, dabs) == (diff.min(), diff.max(), np.abs(diff).max())
    # the one-call wrapper gives the same bits
    out2 = np.full(S, np.nan)
    bellman.policy_backup(km, mdp.gamma, pi, v, out2)
    assert_array_equal(out, out2)


def test_parallel_compact_policy_sweep_equals_serial_bitwise(restore_threads):
    """Policy rows above PAR_MIN_WORK: the gather and the sweep on the compact copy run in parallel;
    they give the bits of the serial full-model policy_sweep with any thread count."""
    mdp = garnet(2700, 2, 100, gamma=0.97, rng=9, sparse=True)  # 270_000 entries per policy
    km = model_args(mdp)
    S, A = km[7], km[8]
    rng = np.random.default_rng(2)
    pi = rng.integers(0, A, size=S).astype(np.int64)
    v = rng.normal(size=S)
    cap = bellman.policy_rows_capacity(km)
    assert cap >= bellman.PAR_MIN_WORK
    serial = np.full(S, np.nan)
    stats1 = np.empty((1, 3))
    layout, P2, indptr, indices, data, R1, mask1, _, _ = km
    bellman._policy_rows(layout, P2, indptr, indices, data, R1, mdp.gamma, pi, A, v, serial, 0, S, stats1, 0)
    for n_threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(n_threads)
        compact = (np.zeros(S + 1, np.int64), np.zeros(cap, np.uint32), np.zeros(cap), np.zeros(S))
        assert bellman.gather_policy_rows(km, pi, compact) >= bellman.PAR_MIN_WORK
        out = np.full(S, np.nan)
        stats = np.empty((bellman.N_CHUNKS, 3))
        d = bellman.compact_policy_sweep(km, compact, mdp.gamma, v, out, stats)
        assert_array_equal(out, serial)
        assert_array_equal(d, [stats1[0, 0], stats1[0, 1], stats1[0, 2]])

"""The one-entry-per-row CSR layout (``mdpkit._kernels.CSR_ONE_ENTRY``) of the Bellman kernels.

Deterministic models (grid worlds, shortest paths) store one entry per row of ``P``; the sweeps
then read row ``i``'s entry at position ``i`` instead of walking ``indptr``.  The results must be
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
from mdpkit._kernels import CSR, CSR_ONE_ENTRY, bellman, model_args, one_entry_per_row


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
    m = deterministic_model(30, 3, 0)
    assert model_args(m)[0] == CSR_ONE_ENTRY
    assert one_entry_per_row(m.P)
    P = m.P.copy().tolil()
    P[0, 0], P[0, 1] = 0.5, 0.5  # row 0 now has two entries (unless both were already 0/1)
    P = sp.csr_matrix(P)
    P.eliminate_zeros()
    assert not one_entry_per_row(P)


@pytest.mark.parametrize("big", [False, True], ids=["serial", "parallel"])
def test_sweeps_bitwise_equal_generic_csr(big):
    S, A = (40, 3) if not big else (70_000, 4)  # 280_000 rows: above PAR_MIN_WORK
    m = deterministic_model(S, A, 1, big)
    layout, P2, indptr, indices, data, R1, mask1, S, A = model_args(m)
    assert layout == CSR_ONE_ENTRY
    if big:
        assert data.shape[0] >= bellman.PAR_MIN_WORK
    v = np.random.default_rng(2).normal(size=S)
    outs = {}
    for code in (CSR, CSR_ONE_ENTRY):
        out, pi, q = np.empty(S), np.empty(S, dtype=np.int64), np.empty(S * A)
        stats = np.empty((bellman.N_CHUNKS, 3))
        d = bellman.greedy_sweep(code, P2, indptr, indices, data, R1, mask1, S, A, m.gamma, v, out, pi, q, True,
                                 stats)
        pol_out = np.empty(S)
        e = bellman.policy_sweep(code, P2, indptr, indices, data, R1, m.gamma, pi, A, v, pol_out, stats)
        outs[code] = (out, pi, q, np.array(d), pol_out, np.array(e))
    for a, b in zip(outs[CSR], outs[CSR_ONE_ENTRY]):
        assert_array_equal(a, b)
    if not big:
        Pd = m.P.toarray().reshape(S, A, S)
        q_ref = ref.bellman_q(Pd, m.R, m.gamma, v)
        v_ref, pi_ref = ref.greedy_max(q_ref, m.action_mask)
        out, pi = outs[CSR_ONE_ENTRY][0], outs[CSR_ONE_ENTRY][1]
        assert_allclose(out, v_ref, rtol=1e-13, atol=1e-13)
        assert_array_equal(pi, pi_ref)

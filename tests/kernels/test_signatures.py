"""One type signature per kernel (DESIGN.md "Kernels").

Every Numba kernel in ``mdpkit/_kernels/bellman.py`` must be compiled for exactly one type
signature, whatever the storage (dense, CSR with int32 or int64 input indices, the one-entry
layouts), the model size (serial and parallel sweeps) and the user's inputs (read-only or
writable ``v0`` and ``policy0``, int32 policies).  A second signature means a second entry in
the kernel's on-disk cache index, and two processes compiling different entries of one index
at the same time can leave it pointing at the wrong machine code (a segfault in a later
process; see ``tests/test_numba_cache.py``).

Before the prepared kernel model, this test failed: ``greedy_sweep``, ``_greedy_sweep_par`` and
``_greedy_sweep_unit_par`` each held two signatures (``store_q`` passed as a literal ``True`` by the
policy-iteration loops and ``False`` by value iteration), and a CSR matrix with int64 indices
(SciPy's choice for very large matrices) gave ``bellman_q`` an int64/uint64 signature beside the
int32/uint32 one.
"""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from numba.core.registry import CPUDispatcher
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import InvalidMDPError, TabularMDP
from mdpkit._kernels import (
    CSR,
    CSR_ONE_ENTRY,
    CSR_ONE_ENTRY_UNIT,
    DENSE,
    MAX_CSR_STATES,
    bellman,
    model_args,
    prepare,
)
from mdpkit.policies import bellman_operator, policy_evaluation, q_from_v
from mdpkit.solvers import (
    backward_induction,
    gauss_seidel_value_iteration,
    modified_policy_iteration,
    policy_iteration,
    relative_value_iteration,
    value_iteration,
)


def _dispatchers():
    return {name: d for name, d in vars(bellman).items() if isinstance(d, CPUDispatcher)}


def _readonly(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _dense(S, A, seed=0, mask=False):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) + 0.05
    P /= P.sum(axis=2, keepdims=True)
    m = None
    if mask:
        m = np.ones((S, A), dtype=bool)
        m[::2, -1] = False
    return TabularMDP(P, rng.random((S, A)), 0.9, action_mask=m)


def _int64_csr(mdp):
    """The same model built from a CSR input whose indptr and indices are int64."""
    M = sp.csr_matrix(mdp.P_rows)
    M.indptr = M.indptr.astype(np.int64)
    M.indices = M.indices.astype(np.int64)
    return TabularMDP(M, mdp.R, mdp.gamma, action_mask=mdp.action_mask)


def _one_entry(S, A, seed=0, masked=False):
    """A deterministic model: one stored entry per CSR row (layout 3, or 2 when masked)."""
    rng = np.random.default_rng(seed)
    nxt = rng.integers(0, S, size=(S, A))
    P = sp.csr_matrix((np.ones(S * A), (np.arange(S * A), nxt.ravel())), shape=(S * A, S))
    mask = None
    if masked:
        mask = np.ones((S, A), dtype=bool)
        mask[::3, 0] = False
    return TabularMDP(P, rng.random((S, A)), 0.9, action_mask=mask)


def _exercise(mdp, *, readonly_inputs):
    """Every bellman-kernel route a user can reach on ``mdp``."""
    S = mdp.S
    v0 = np.linspace(0.0, 1.0, S)
    pi0 = np.argmax(mdp.action_mask, axis=1).astype(np.int32)  # an available action, int32
    if readonly_inputs:
        v0, pi0 = _readonly(v0), _readonly(pi0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r_vi = value_iteration(mdp, epsilon=1e-6, v0=v0)
        value_iteration(mdp, epsilon=1e-6, stopping="span")
        r_pi = policy_iteration(mdp, policy0=pi0)
        r_mpi = modified_policy_iteration(mdp, epsilon=1e-6, v0=v0)
        modified_policy_iteration(mdp, epsilon=1e-6, max_iter=1)  # the unconverged re-certification
        r_gs = gauss_seidel_value_iteration(mdp, epsilon=1e-6, v0=v0)
        backward_induction(mdp, horizon=3, terminal_value=v0)
        backward_induction([mdp, mdp.with_gamma(mdp.gamma)], terminal_value=v0)
        q_from_v(mdp, v0)
        bellman_operator(mdp, v0)
        policy_evaluation(mdp, pi0)
    for r in (r_vi, r_mpi, r_gs):
        assert_allclose(r.v, r_pi.v, atol=1e-4)


MODELS = {
    "dense": lambda: _dense(6, 3),
    "dense-masked": lambda: _dense(5, 3, seed=1, mask=True),
    "csr": lambda: _dense(6, 3, seed=2).to_sparse(),
    "csr-int64-input": lambda: _int64_csr(_dense(6, 3, seed=3, mask=True)),
    "csr-one-entry-unit": lambda: _one_entry(7, 4),
    "csr-one-entry-masked": lambda: _one_entry(7, 3, seed=1, masked=True),
    # above PAR_MIN_WORK: the parallel sweeps
    "dense-parallel": lambda: _dense(200, 8, seed=4),
    "csr-one-entry-unit-parallel": lambda: _one_entry(bellman.PAR_MIN_WORK // 4 + 8, 4, seed=2),
    "csr-parallel": lambda: TabularMDP(
        sp.csr_matrix(_dense(12, 2, seed=5).P_rows), _dense(12, 2, seed=5).R, 0.9
    ),
}


def test_every_bellman_kernel_has_one_signature():
    layouts = set()
    for name, build in MODELS.items():
        mdp = build()
        layouts.add(model_args(mdp)[0])
        for ro in (False, True):
            if "parallel" in name and ro:
                continue  # same kernels as the writable run; keep the test short
            _exercise(mdp, readonly_inputs=ro)
    # relative value iteration: a unichain model (every entry of P positive)
    for mdp in (_dense(6, 3), _dense(6, 3).to_sparse()):
        relative_value_iteration(mdp.with_gamma(1.0), epsilon=1e-8, v0=_readonly(np.zeros(6)))
        relative_value_iteration(mdp.with_gamma(1.0), epsilon=1e-8)
    # a stand-in carrying int64 CSR arrays goes through model_args (prepare) too
    base = _dense(5, 2, seed=6).to_sparse()
    M = base.P.copy()
    M.indptr, M.indices = M.indptr.astype(np.int64), M.indices.astype(np.int64)
    wide = SimpleNamespace(S=5, A=2, R=base.R, action_mask=base.action_mask, is_sparse=True, P=M)
    q = np.empty(10)
    bellman.bellman_q(model_args(wide), 0.9, np.ones(5), q)
    # the sweeps called directly (benchmarks do), with Python bools
    for mdp in (_dense(5, 2), base):
        km = model_args(mdp)
        v, out, pi, stats = np.ones(5), np.empty(5), np.zeros(5, np.int64), np.empty((bellman.N_CHUNKS, 3))
        for store_q in (False, True):
            bellman.greedy_sweep(km, 0.9, v, out, pi, q, store_q, stats)
        bellman.policy_sweep(km, 0.9, pi, v, out, stats)
        bellman.policy_backup(km, 0.9, pi, v, out)
    # the compact copy of a policy's rows (what MPI evaluates on general CSR models)
    km = model_args(base)
    cap = bellman.policy_rows_capacity(km)
    compact = (np.zeros(6, np.int64), np.empty(cap, np.uint32), np.empty(cap), np.empty(5))
    bellman.gather_policy_rows(km, pi, compact)
    bellman.compact_policy_sweep(km, compact, 0.9, v, out, stats)
    bellman.patch_policy_rows(km, pi, pi.copy(), compact)
    assert layouts == {DENSE, CSR, CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT}

    many = {name: d.signatures for name, d in _dispatchers().items() if len(d.signatures) > 1}
    assert not many, "kernels compiled for more than one type signature:\n" + "\n".join(
        f"{name}:\n" + "\n".join(f"    {s}" for s in sigs) for name, sigs in many.items()
    )
    # and every kernel called from Python was reached (kernels called only from other kernels are
    # compiled, and counted, only on a cold cache: tests/test_numba_cache.py checks the cache index)
    for name in ("bellman_q", "greedy_max", "greedy_sweep", "policy_sweep", "policy_backup", "value_iteration_loop",
                 "gauss_seidel_loop", "modified_policy_iteration_loop", "single_entry_policy_value",
                 "single_entry_policy_iteration_loop", "relative_value_iteration_loop",
                 "policy_rows_capacity", "gather_policy_rows", "compact_policy_sweep", "patch_policy_rows"):
        assert len(getattr(bellman, name).signatures) == 1, name


# ---------------------------------------------------------------------------- the prepared model
def test_prepared_model_types_are_fixed():
    """prepare() gives the same dtypes, contiguity and read-only flags for every storage form."""
    for build in MODELS.values():
        mdp = build()
        layout, P2, indptr, indices, data, R1, mask1, S, A = km = model_args(mdp)
        assert isinstance(layout, int) and isinstance(S, int) and isinstance(A, int)
        for arr, dt, nd in ((P2, np.float64, 2), (indptr, np.int64, 1), (indices, np.uint32, 1),
                            (data, np.float64, 1), (R1, np.float64, 1), (mask1, np.bool_, 1)):
            assert arr.dtype == dt and arr.ndim == nd
            assert arr.flags.c_contiguous and not arr.flags.writeable
        assert model_args(mdp) is km  # cached on the model
        if mdp.is_sparse:
            assert_array_equal(indptr, mdp.P.indptr)
            assert_array_equal(indices, mdp.P.indices)
        else:
            assert np.shares_memory(P2, mdp.P)  # a view, not a copy


def test_prepare_does_not_touch_the_callers_arrays():
    """Read-only flags are set on views: a writable user matrix stays writable."""
    rng = np.random.default_rng(0)
    P = rng.random((4 * 2, 4))
    P /= P.sum(axis=1, keepdims=True)
    M = sp.csr_matrix(P)
    wide = SimpleNamespace(S=4, A=2, R=np.zeros((4, 2)), action_mask=np.ones((4, 2), bool), is_sparse=True, P=M)
    prepare(wide)
    assert M.data.flags.writeable and M.indptr.flags.writeable and M.indices.flags.writeable


def test_prepare_rejects_more_states_than_uint32_indices_hold():
    # checked before any array is read, so a stand-in with tiny arrays is enough
    fake = SimpleNamespace(S=MAX_CSR_STATES + 1, A=1, R=np.zeros((1, 1)), action_mask=np.ones((1, 1), bool),
                           is_sparse=True, P=sp.csr_matrix((1, 1)))
    with pytest.raises(InvalidMDPError, match="2\\*\\*32"):
        prepare(fake)

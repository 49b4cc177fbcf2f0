"""Each Numba kernel of ``mdpkit/_kernels/bellman.py`` against its numpy twin in ``mdpkit/_reference.py``.

The kernels and the reference sum in different orders (four accumulators / CSR order vs einsum),
so values are compared with explicit tolerances, and a greedy action is compared exactly only
where the reference's best action beats the runner-up by more than the rounding slack.  Exact
ties are tested on dyadic models, where every quantity is exact in binary floating point, so
every summation order gives the same bits and ties must go to the lowest index.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import TabularMDP
from mdpkit import _reference as ref
from mdpkit._kernels import bellman, model_args, prepare
from mdpkit.testing import mdps, policies

#: Relative rounding slack for one backup (a handful of ulps of the largest term).
RTOL_BACKUP = 1e-12
#: Slack for quantities accumulated over many iterations (the brief's 1e-10).
RTOL_LOOP = 1e-10
#: A greedy action is "unambiguous" when it beats the runner-up by this much (relative).
GAP_RTOL = 1e-9
#: Kernel and reference iterates differ by rounding only (a few ulps of the value scale per
#: sweep, damped by the contraction); a stopping criterion within this relative distance of the
#: threshold may fall on either side, so such examples are skipped rather than compared.
BORDER_RTOL = 1e-12

MODELS = mdps(gamma=(0.0, 0.99), masked=True, sparse=None)
DENSE_AND_SPARSE_MODELS = mdps(gamma=(0.0, 0.99), masked=True, sparse=None, reward="sa") | mdps(
    gamma=(0.0, 0.99), masked=True, sparse=None, reward="sas"
)


# ---------------------------------------------------------------------------- helpers
def values(S: int, bound: float = 100.0):
    """Finite value vectors of length S (integers and halves included, so ties can occur)."""
    return hnp.arrays(
        np.float64,
        S,
        elements=st.one_of(
            st.integers(-4, 4).map(float),
            st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
        ),
    )


def dense_parts(mdp: TabularMDP):
    """The reference's inputs: dense P (S, A, S), R (S, A), mask (S, A)."""
    return np.asarray(mdp.P_dense()), np.asarray(mdp.R), np.asarray(mdp.action_mask)


def kernel_q(mdp: TabularMDP, v: np.ndarray) -> np.ndarray:
    km = model_args(mdp)
    S, A = km[7], km[8]
    q = np.full(S * A, np.nan)
    bellman.bellman_q(km, mdp.gamma, v, q)
    return q.reshape(S, A)


def kernel_greedy(q: np.ndarray, mask: np.ndarray):
    S, A = q.shape
    v_out = np.full(S, np.nan)
    pi_out = np.full(S, -7, dtype=np.int64)
    # a prepared kernel model carrying only the mask (greedy_max reads nothing else)
    stand_in = SimpleNamespace(S=S, A=A, R=np.zeros((S, A)), action_mask=mask, is_sparse=True,
                               P=sp.csr_matrix((S * A, S)))
    bellman.greedy_max(prepare(stand_in), np.ascontiguousarray(q.ravel()), v_out, pi_out)
    return v_out, pi_out


def backup_scale(mdp: TabularMDP, v: np.ndarray) -> float:
    """Magnitude of the largest term of a backup R + gamma * P v."""
    return 1.0 + float(np.abs(mdp.R).max()) + mdp.gamma * float(np.abs(v).max(initial=0.0))


def assert_greedy_consistent(pi_kernel, q_ref, mask, slack):
    """pi_kernel equals the reference argmax where that is unambiguous, else is a near-maximiser.

    ``q_ref`` is the reference's q (S, A); ``slack`` the absolute rounding slack on q.
    """
    qm = np.where(mask, q_ref, -np.inf)
    best = qm.max(axis=1)
    arg = qm.argmax(axis=1)
    srt = np.sort(qm, axis=1)
    runner_up = srt[:, -2] if qm.shape[1] > 1 else np.full(qm.shape[0], -np.inf)
    clear = best - runner_up > slack
    assert_array_equal(pi_kernel[clear], arg[clear])
    S = qm.shape[0]
    assert np.all(mask[np.arange(S), pi_kernel]), "kernel picked a masked action"
    assert np.all(qm[np.arange(S), pi_kernel] >= best - slack)


# ---------------------------------------------------------------------------- one backup
@given(DENSE_AND_SPARSE_MODELS.flatmap(lambda m: st.tuples(st.just(m), values(m.S))))
def test_bellman_q_matches_reference(case):
    mdp, v = case
    P, R, mask = dense_parts(mdp)
    q = kernel_q(mdp, v)
    q_ref = ref.bellman_q(P, R, mdp.gamma, v)
    # every row, masked ones included: the kernel computes them all, the mask is applied later
    assert_allclose(q, q_ref, rtol=RTOL_BACKUP, atol=RTOL_BACKUP * backup_scale(mdp, v))


@st.composite
def q_tables_with_ties(draw):
    """q (S, A) from a few small integers, so exact ties are frequent, and a valid mask."""
    S = draw(st.integers(1, 6))
    A = draw(st.integers(1, 5))
    q = np.array(draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 2.0]), min_size=S * A, max_size=S * A)))
    mask = np.array(draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A))).reshape(S, A)
    mask[np.arange(S), draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S))] = True
    return q.reshape(S, A), mask


@given(q_tables_with_ties())
def test_greedy_max_matches_reference_and_breaks_ties_low(case):
    """Same q in, so max and argmax must agree bit for bit; ties go to the lowest available index."""
    q, mask = case
    v_k, pi_k = kernel_greedy(q, mask)
    v_r, pi_r = ref.greedy_max(q, mask)
    assert_array_equal(v_k, v_r)
    assert_array_equal(pi_k, pi_r)
    # and directly: the lowest-index available maximiser
    for s in range(q.shape[0]):
        avail = np.flatnonzero(mask[s])
        best = q[s, avail].max()
        assert pi_k[s] == avail[q[s, avail] == best][0]


def test_greedy_max_all_tied_row_picks_first_available_action():
    q = np.zeros((3, 4))
    mask = np.array([[True, True, True, True], [False, True, True, True], [False, False, False, True]])
    v_k, pi_k = kernel_greedy(q, mask)
    assert_array_equal(pi_k, [0, 1, 3])
    assert_array_equal(v_k, [0.0, 0.0, 0.0])
    assert_array_equal(pi_k, ref.greedy_max(q, mask)[1])


def test_greedy_max_ignores_larger_q_on_masked_action():
    q = np.array([[10.0, 1.0, 1.0], [5.0, 7.0, 9.0]])
    mask = np.array([[False, True, True], [True, True, False]])
    v_k, pi_k = kernel_greedy(q, mask)
    assert_array_equal(v_k, [1.0, 7.0])
    assert_array_equal(pi_k, [1, 1])


@given(DENSE_AND_SPARSE_MODELS.flatmap(lambda m: st.tuples(st.just(m), values(m.S))))
def test_bellman_q_then_greedy_max_matches_reference(case):
    mdp, v = case
    P, R, mask = dense_parts(mdp)
    q = kernel_q(mdp, v)
    v_k, pi_k = kernel_greedy(q, mask)
    q_ref = ref.bellman_q(P, R, mdp.gamma, v)
    v_r, _ = ref.greedy_max(q_ref, mask)
    slack = RTOL_BACKUP * backup_scale(mdp, v)
    assert_allclose(v_k, v_r, rtol=0, atol=slack)
    assert_greedy_consistent(pi_k, q_ref, mask, GAP_RTOL * backup_scale(mdp, v))


@st.composite
def dyadic_mdps_and_values(draw):
    """Models whose probabilities are multiples of 1/4, gamma in {0, 1/4, 1/2, 3/4}, integer R and v.

    Every product and partial sum is then an exact binary float, so all summation orders
    (dense four-accumulator, CSR, einsum) give identical bits and exact q ties survive.
    """
    S = draw(st.integers(1, 5))
    A = draw(st.integers(1, 4))
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            for t in draw(st.lists(st.integers(0, S - 1), min_size=4, max_size=4)):
                P[s, a, t] += 0.25
    R = np.array(draw(st.lists(st.integers(-2, 2), min_size=S * A, max_size=S * A)), dtype=float).reshape(S, A)
    gamma = draw(st.sampled_from([0.0, 0.25, 0.5, 0.75]))
    mask = np.array(draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A))).reshape(S, A)
    mask[np.arange(S), draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S))] = True
    v = np.array(draw(st.lists(st.integers(-4, 4), min_size=S, max_size=S)), dtype=float)
    mdp = TabularMDP(P, R, gamma, action_mask=mask)
    return mdp, v


@given(dyadic_mdps_and_values())
def test_bellman_greedy_exact_ties_on_dyadic_models(case):
    """Dense kernel, CSR kernel and reference agree exactly, ties included (lowest index wins)."""
    mdp, v = case
    P, R, mask = dense_parts(mdp)
    q_ref = ref.bellman_q(P, R, mdp.gamma, v)
    v_r, pi_r = ref.greedy_max(q_ref, mask)
    for m in (mdp, mdp.to_sparse()):
        q = kernel_q(m, v)
        assert_array_equal(q, q_ref)
        v_k, pi_k = kernel_greedy(q, mask)
        assert_array_equal(v_k, v_r)
        assert_array_equal(pi_k, pi_r)


def test_bellman_greedy_tie_between_different_transition_rows():
    """Two actions with different P but equal q: the lowest index wins in both storages."""
    P = np.array([[[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]] * 3)
    R = np.zeros((3, 3))
    v = np.array([1.0, 3.0, 2.0])  # P v = 2 for actions 0 and 1 (different rows), 3 for action 2
    R[:, 2] = -1.0  # q = R + 0.5 P v = [1, 1, 0.5]: actions 0 and 1 tie exactly
    mdp = TabularMDP(P, R, 0.5)
    for m in (mdp, mdp.to_sparse()):
        q = kernel_q(m, v)
        assert_array_equal(q, np.tile([1.0, 1.0, 0.5], (3, 1)))
        _, pi = kernel_greedy(q, np.ones((3, 3), bool))
        assert_array_equal(pi, [0, 0, 0])


# ---------------------------------------------------------------------------- policy backup
@given(MODELS.flatmap(lambda m: st.tuples(st.just(m), policies(m), values(m.S))))
def test_policy_backup_matches_reference(case):
    mdp, pi, v = case
    P, R, _ = dense_parts(mdp)
    km = model_args(mdp)
    out = np.full(km[7], np.nan)
    v_in = v.copy()
    bellman.policy_backup(km, mdp.gamma, pi, v_in, out)
    assert_array_equal(v_in, v)  # input untouched
    assert_allclose(out, ref.policy_backup(P, R, mdp.gamma, pi, v), rtol=RTOL_BACKUP,
                    atol=RTOL_BACKUP * backup_scale(mdp, v))


# ---------------------------------------------------------------------------- compact policy rows
CSR_MODELS = mdps(gamma=(0.0, 0.99), masked=True, sparse=True)


def _compact(km):
    S = km[7]
    cap = bellman.policy_rows_capacity(km)
    return (np.full(S + 1, -1, dtype=np.int64), np.zeros(cap, dtype=np.uint32), np.full(cap, np.nan),
            np.full(S, np.nan))


@given(CSR_MODELS.flatmap(lambda m: st.tuples(st.just(m), policies(m), values(m.S))))
def test_gather_policy_rows_and_compact_sweep_match_reference(case):
    """The compact copy of P_pi is the reference's exactly; a sweep on it is policy_sweep, bit for bit,
    and the oracle's T_pi v to rounding."""
    mdp, pi, v = case
    km = model_args(mdp)
    S, A = km[7], km[8]
    P = mdp.P
    assert bellman.policy_rows_capacity(km) == ref.policy_rows_capacity(P.indptr, S, A)
    compact = _compact(km)
    nnz = bellman.gather_policy_rows(km, pi, compact)
    c_ptr, c_idx, c_data, c_r = ref.gather_policy_rows(P.indptr, P.indices, P.data, np.asarray(mdp.R), pi)
    assert nnz == c_ptr[-1]
    assert_array_equal(compact[0], c_ptr)
    assert_array_equal(compact[1][:nnz], c_idx)
    assert_array_equal(compact[2][:nnz], c_data)
    assert_array_equal(compact[3], c_r)
    stats = np.empty((bellman.N_CHUNKS, 3))
    out = np.full(S, np.nan)
    v_in = v.copy()
    d = bellman.compact_policy_sweep(km, compact, mdp.gamma, v_in, out, stats)
    assert_array_equal(v_in, v)
    expect = np.full(S, np.nan)
    d_full = bellman.policy_sweep(km, mdp.gamma, pi, v, expect, stats)
    assert_array_equal(out, expect)
    assert_array_equal(d, d_full)
    scale = backup_scale(mdp, v)
    assert_allclose(out, ref.compact_policy_sweep(c_ptr, c_idx, c_data, c_r, mdp.gamma, v), rtol=RTOL_BACKUP,
                    atol=RTOL_BACKUP * scale)
    P_d, R_d, _ = dense_parts(mdp)
    assert_allclose(out, ref.policy_backup(P_d, R_d, mdp.gamma, pi, v), rtol=RTOL_BACKUP, atol=RTOL_BACKUP * scale)


@given(CSR_MODELS.flatmap(lambda m: st.tuples(st.just(m), policies(m), policies(m))))
def test_patch_policy_rows_matches_reference_gather(case):
    """Patching the compact rows of one policy to another gives the reference gather of the new
    policy exactly, or reports (False) a row whose length differs."""
    mdp, pi_old, pi_new = case
    km = model_args(mdp)
    P = mdp.P
    compact = _compact(km)
    bellman.gather_policy_rows(km, pi_old, compact)
    prev = np.array(pi_old, dtype=np.int64)
    ok = bellman.patch_policy_rows(km, np.asarray(pi_new, dtype=np.int64), prev, compact)
    lens = np.diff(P.indptr)
    A = km[8]
    rows_old = np.arange(mdp.S) * A + pi_old
    rows_new = np.arange(mdp.S) * A + pi_new
    assert bool(ok) == bool(np.all(lens[rows_old] == lens[rows_new]))
    if ok:
        c_ptr, c_idx, c_data, c_r = ref.gather_policy_rows(P.indptr, P.indices, P.data, np.asarray(mdp.R), pi_new)
        nnz = c_ptr[-1]
        assert_array_equal(prev, pi_new)
        assert_array_equal(compact[0], c_ptr)
        assert_array_equal(compact[1][:nnz], c_idx)
        assert_array_equal(compact[2][:nnz], c_data)
        assert_array_equal(compact[3], c_r)


def test_patch_policy_rows_on_equal_length_rows():
    """Every row of the same length (a Garnet): the patch always applies."""
    from mdpkit.generators import garnet

    mdp = garnet(40, 3, 5, gamma=0.9, rng=3, sparse=True)
    km = model_args(mdp)
    rng = np.random.default_rng(4)
    pi_old = rng.integers(0, 3, size=40).astype(np.int64)
    pi_new = pi_old.copy()
    pi_new[::3] = (pi_new[::3] + 1) % 3
    compact = _compact(km)
    bellman.gather_policy_rows(km, pi_old, compact)
    prev = pi_old.copy()
    assert bellman.patch_policy_rows(km, pi_new, prev, compact)
    fresh = _compact(km)
    bellman.gather_policy_rows(km, pi_new, fresh)
    for a, b in zip(compact, fresh):
        assert_array_equal(a, b)
    assert_array_equal(prev, pi_new)


# ---------------------------------------------------------------------------- loops
def _run_vi_kernel(mdp, v0, tol, use_span, max_iter):
    km = model_args(mdp)
    S, A = km[7], km[8]
    v = v0.copy()
    q = np.empty(S * A)
    v_new = np.empty(S)
    pi = np.full(S, -1, dtype=np.int64)
    residuals = np.full(max_iter, np.nan)
    spans = np.full(max_iter, np.nan)
    dmm = np.empty(2)
    n, conv = bellman.value_iteration_loop(
        km, mdp.gamma, v, tol, use_span, max_iter, q, v_new, pi, residuals, spans, dmm
    )
    return v, pi, int(n), bool(conv), residuals, spans, dmm


def _not_borderline(res, tol, slack):
    """True if no residual lies within rounding distance of the stopping threshold."""
    return bool(np.all(np.abs(np.asarray(res) - tol) > slack))


loop_cases = MODELS.flatmap(
    lambda m: st.tuples(
        st.just(m),
        values(m.S, bound=50.0),
        st.sampled_from([1e-1, 1e-3, 1e-6, 1e-9]),
        st.integers(1, 60),
    )
)


def _reference_trajectory(P, R, mask, gamma, v0, n):
    """v_0, ..., v_n of value iteration, one reference sweep at a time (tol < 0 never stops)."""
    vs = [np.array(v0, dtype=float)]
    for _ in range(n):
        vs.append(ref.value_iteration(P, R, mask, gamma, vs[-1], -1.0, 1)[0])
    return vs


@pytest.mark.parametrize("use_span", [False, True], ids=["norm", "span"])
@given(case=loop_cases)
def test_value_iteration_loop_matches_reference(case, use_span):
    mdp, v0, tol, max_iter = case
    P, R, mask = dense_parts(mdp)
    v_r, pi_r, n_r, res_r = ref.value_iteration(P, R, mask, mdp.gamma, v0, tol, max_iter, use_span=use_span)
    traj = _reference_trajectory(P, R, mask, mdp.gamma, v0, n_r)
    diffs = [b - a for a, b in zip(traj[:-1], traj[1:])]
    spans_r = np.array([d.max() - d.min() for d in diffs])
    scale = 1.0 + float(np.abs(R).max()) / (1.0 - mdp.gamma) + float(np.abs(v0).max())
    slack = RTOL_LOOP * scale
    # kernel and reference may stop one sweep apart only if a criterion sits on the threshold
    assume(_not_borderline(spans_r if use_span else res_r, tol, BORDER_RTOL * scale))

    v_k, pi_k, n_k, conv, residuals, spans, dmm = _run_vi_kernel(mdp, v0, tol, use_span, max_iter)
    assert n_k == n_r
    assert conv == bool((spans_r if use_span else res_r)[-1] < tol)
    assert_allclose(residuals[:n_k], res_r, rtol=0, atol=slack)
    assert_allclose(spans[:n_k], spans_r, rtol=0, atol=2 * slack)
    assert_allclose(v_k, v_r, rtol=0, atol=slack)
    assert_allclose(v_r, traj[-1], rtol=0, atol=slack)  # the replay is the reference itself
    assert_allclose(dmm, [diffs[-1].min(), diffs[-1].max()], rtol=0, atol=slack)
    # the policy is greedy for v_{n-1} (ties: see assert_greedy_consistent)
    assert_greedy_consistent(pi_k, ref.bellman_q(P, R, mdp.gamma, traj[-2]), mask, GAP_RTOL * scale)
    assert_greedy_consistent(pi_r, ref.bellman_q(P, R, mdp.gamma, traj[-2]), mask, 0.0)


@given(case=loop_cases)
def test_gauss_seidel_loop_matches_reference(case):
    mdp, v0, tol, max_iter = case
    P, R, mask = dense_parts(mdp)
    v_r, n_r, res_r = ref.gauss_seidel(P, R, mask, mdp.gamma, v0, tol, max_iter)
    km = model_args(mdp)
    v_k = v0.copy()
    residuals = np.full(max_iter, np.nan)
    n_k, conv = bellman.gauss_seidel_loop(km, mdp.gamma, v_k, tol, max_iter, residuals)
    scale = 1.0 + float(np.abs(R).max()) / (1.0 - mdp.gamma) + float(np.abs(v0).max())
    slack = RTOL_LOOP * scale
    assume(_not_borderline(res_r, tol, BORDER_RTOL * scale))
    assert n_k == n_r
    assert bool(conv) == bool(res_r[-1] < tol)
    assert_allclose(residuals[:n_k], res_r, rtol=0, atol=slack)
    assert_allclose(v_k, v_r, rtol=0, atol=slack)


def _mpi_twin(P, R, mask, gamma, v0, tol, m, max_iter):
    """Plain-numpy modified policy iteration (Puterman 1994, Sec. 6.5), written from the docstring.

    Returns (v, pi, n_iter, residuals, spans, converged, min_gap) where ``min_gap`` is the
    smallest margin between the best and second-best available action over all improvement steps.
    """
    v = np.array(v0, dtype=float)
    res, spans = [], []
    idx = np.arange(v.shape[0])
    pi = None
    converged = False
    min_gap = np.inf
    for _ in range(max_iter):
        qm = np.where(mask, R + gamma * np.einsum("ijk,k->ij", P, v), -np.inf)
        if qm.shape[1] > 1:
            top2 = np.sort(qm, axis=1)[:, -2:]
            gaps = np.where(np.isfinite(top2[:, 0]), top2[:, 1] - top2[:, 0], np.inf)
            min_gap = min(min_gap, float(gaps.min()))
        Tv, pi = qm.max(axis=1), qm.argmax(axis=1)
        d = Tv - v
        res.append(np.abs(d).max())
        spans.append(d.max() - d.min())
        v = Tv
        if d.max() - d.min() < tol:
            converged = True
            break
        for _ in range(m):
            v = R[idx, pi] + gamma * P[idx, pi] @ v
    return v, pi, len(res), np.array(res), np.array(spans), converged, min_gap


@given(case=loop_cases, m=st.integers(0, 6))
def test_modified_policy_iteration_loop_matches_numpy_twin(case, m):
    """m = 0 is also checked against the reference span-rule value iteration."""
    mdp, v0, tol, max_iter = case
    P, R, mask = dense_parts(mdp)
    v_t, pi_t, n_t, res_t, spans_t, conv_t, min_gap = _mpi_twin(P, R, mask, mdp.gamma, v0, tol, m, max_iter)
    scale = 1.0 + float(np.abs(R).max()) / (1.0 - mdp.gamma) + float(np.abs(v0).max())
    slack = RTOL_LOOP * scale
    assume(_not_borderline(spans_t, tol, BORDER_RTOL * scale))
    # MPI's trajectory depends on the greedy policy: compare only when no greedy step was a near-tie
    assume(min_gap > BORDER_RTOL * scale)

    km = model_args(mdp)
    S, A = km[7], km[8]
    v_k = v0.copy()
    q = np.empty(S * A)
    v_new = np.empty(S)
    pi_k = np.full(S, -1, dtype=np.int64)
    residuals = np.full(max_iter, np.nan)
    spans = np.full(max_iter, np.nan)
    dmm = np.empty(2)
    n_eval = np.zeros(1, dtype=np.int64)
    n_k, conv = bellman.modified_policy_iteration_loop(
        km, mdp.gamma, v_k, tol, m, 0.0, max_iter, q, v_new, pi_k, residuals, spans, dmm, n_eval
    )
    assert n_k == n_t
    assert bool(conv) == conv_t
    assert_allclose(residuals[:n_k], res_t, rtol=0, atol=slack)
    assert_allclose(spans[:n_k], spans_t, rtol=0, atol=2 * slack)
    assert_allclose(v_k, v_t, rtol=0, atol=slack)
    assert_array_equal(pi_k, pi_t)
    if m == 0:
        v_r, pi_r, n_r, res_r = ref.value_iteration(P, R, mask, mdp.gamma, v0, tol, max_iter, use_span=True)
        assert n_k == n_r
        assert_allclose(v_k, v_r, rtol=0, atol=slack)
        assert_array_equal(pi_k, pi_r)


def test_kernels_accept_int64_csr_indices():
    """model_args normalises int64 CSR index arrays (as scipy uses for very large matrices) to the
    one kernel signature, int64 indptr and uint32 indices; the kernels then give the same q as
    the reference.

    TabularMDP itself stores int32 indices for small models, so the int64 form is fed through a
    stand-in object carrying the attributes model_args reads."""
    rng = np.random.default_rng(0)
    S, A = 7, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[P < 0.1] = 0.0
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A))
    mdp = TabularMDP(P, R, 0.9).to_sparse()
    M = mdp.P.copy()
    M.indptr = M.indptr.astype(np.int64)
    M.indices = M.indices.astype(np.int64)
    assert M.indptr.dtype == np.int64
    wide = SimpleNamespace(S=S, A=A, R=mdp.R, action_mask=mdp.action_mask, is_sparse=True, P=M, gamma=0.9)
    args = model_args(wide)
    assert args[2].dtype == np.int64 and args[3].dtype == np.uint32  # indices: unsigned 32-bit
    v = rng.normal(size=S)
    q = kernel_q(wide, v)
    assert_allclose(q, ref.bellman_q(P, R, 0.9, v), rtol=RTOL_BACKUP, atol=RTOL_BACKUP * backup_scale(mdp, v))
    assert_allclose(q, kernel_q(mdp, v), rtol=0, atol=0)  # same summation order as int32 CSR


# ---------------------------------------------------------------------------- functional-graph evaluation
@st.composite
def functional_graphs(draw):
    """s -> next_state[s] with weight in {1, 1/2, 0.9}, rewards, gamma: every tree-on-cycles shape."""
    S = draw(st.integers(1, 12))
    nxt = np.array(draw(st.lists(st.integers(0, S - 1), min_size=S, max_size=S)), dtype=np.int64)
    w = np.array(draw(st.lists(st.sampled_from([1.0, 0.5, 0.9]), min_size=S, max_size=S)))
    r = np.array(draw(st.lists(st.floats(-10, 10), min_size=S, max_size=S)))
    gamma = draw(st.sampled_from([0.0, 0.5, 0.9, 0.999]))
    return nxt, w, r, gamma


@given(functional_graphs())
def test_single_entry_policy_value_matches_dense_solve(case):
    nxt, w, r, gamma = case
    S = r.shape[0]
    v = np.full(S, np.nan)
    ok = bellman.single_entry_policy_value(nxt, w, r, gamma, v, np.empty(S, np.int8), np.empty(S, np.int64),
                                           np.empty(S, np.int64))
    assert ok
    expect = ref.single_entry_policy_value(nxt, w, r, gamma)
    scale = 1.0 + float(np.abs(r).max()) / (1.0 - gamma)
    assert_allclose(v, expect, rtol=0, atol=1e-11 * scale)
    # and it is the fixed point it claims to be
    assert_allclose(v, r + gamma * w * v[nxt], rtol=0, atol=1e-11 * scale)


def test_single_entry_policy_value_reports_singular_cycle():
    """gamma * w = 1 around a cycle: the system is singular and the kernel says so."""
    nxt = np.array([1, 0, 0], dtype=np.int64)
    v = np.empty(3)
    ok = bellman.single_entry_policy_value(nxt, np.ones(3), np.ones(3), 1.0, v, np.empty(3, np.int8),
                                           np.empty(3, np.int64), np.empty(3, np.int64))
    assert not ok

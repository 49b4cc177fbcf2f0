"""``solve(mdp)`` with no method ("auto") and the adaptive modified-policy-iteration schedule.

Expected values come from brute force: on tiny models every deterministic policy is evaluated
by a dense linear solve, and v* is their elementwise maximum (an optimal deterministic policy
exists and dominates every other one, Puterman 1994 Thm 6.2.10), independent of mdpkit's
solvers and kernels.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from mdpkit import ConvergenceWarning, InvalidArgumentError, InvalidMDPError, TabularMDP
from mdpkit.bounds import assert_bound
from mdpkit.generators import forest, garnet
from mdpkit.solvers import modified_policy_iteration, solve
from mdpkit.solvers._dispatch import auto_method
from mdpkit.testing import mdps

#: Float slack relative to the value scale (several backups' rounding).
REL = 1e-9

SMALL = mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.99), sparse=None, masked=True)


def brute_force(mdp: TabularMDP):
    """(v*, value function of every deterministic policy) by enumeration and dense solves."""
    S, A = mdp.S, mdp.A
    P = np.asarray(mdp.P_dense())
    R = np.asarray(mdp.R)
    idx = np.arange(S)
    allowed = [np.flatnonzero(mdp.action_mask[s]) for s in range(S)]
    best = np.full(S, -np.inf)
    for pi in itertools.product(*allowed):
        pi = np.array(pi)
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pi], R[idx, pi])
        best = np.maximum(best, v)
    return best


def value_of(mdp: TabularMDP, pi) -> np.ndarray:
    S = mdp.S
    idx = np.arange(S)
    P = np.asarray(mdp.P_dense())
    return np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pi], np.asarray(mdp.R)[idx, pi])


@given(mdp=SMALL, epsilon=st.sampled_from([1e-2, 1e-6]))
def test_auto_policy_is_certified_eps_optimal__puterman_thm_6_5_5(mdp, epsilon):
    """Puterman 1994 Thm 6.5.5 (MPI converges for any order sequence) and Sec. 6.6.2
    (MacQueen-Porteus): solve(mdp) returns pi with 0 <= v* - v_pi <= error_bound < epsilon,
    and v* lies in the returned bracket [v_lower, v_upper]."""
    vs = brute_force(mdp)
    slack = REL * (1.0 + float(np.abs(vs).max()))
    r = solve(mdp, epsilon=epsilon)
    assert r.converged
    assert r.options["auto"] is True
    deterministic = mdp.is_sparse and mdp.nnz == mdp.S * mdp.A
    assert r.method == ("policy_iteration" if deterministic else "modified_policy_iteration")
    gap = vs - value_of(mdp, r.policy)
    assert_bound(0.0, gap.min(), atol=slack, rtol=0.0, what="v_pi <= v*")
    assert_bound(gap.max(), r.error_bound, atol=slack, rtol=0.0, what="v* - v_pi <= error_bound")
    assert_bound(r.error_bound, epsilon, atol=0.0, rtol=1e-12, what="error_bound <= epsilon")
    if r.v_lower is not None:
        assert np.all(r.v_lower <= vs + slack) and np.all(vs <= r.v_upper + slack)
    else:  # PI: v is the exact value of the returned policy
        assert_allclose(r.v, value_of(mdp, r.policy), rtol=0, atol=slack)


@given(mdp=SMALL, m=st.integers(0, 30), eval_rtol=st.sampled_from([0.0, 1e-3, 0.1, 0.9]), data=st.data())
def test_adaptive_mpi_from_any_v0__puterman_thm_6_5_5(mdp, m, eval_rtol, data):
    """Puterman 1994 Thm 6.5.5 holds for any order sequence m_k; the adaptive rule picks
    m_k <= m, so from any v0 the certified bound holds and is below epsilon."""
    v0 = np.array(data.draw(st.lists(st.floats(-50, 50), min_size=mdp.S, max_size=mdp.S)), dtype=float)
    vs = brute_force(mdp)
    slack = REL * (1.0 + float(np.abs(vs).max()) + float(np.abs(v0).max()))
    r = modified_policy_iteration(mdp, m=m, eval_rtol=eval_rtol, v0=v0, epsilon=1e-6, max_iter=50_000)
    assert r.converged
    gap = vs - value_of(mdp, r.policy)
    assert_bound(gap.max(), r.error_bound, atol=slack, rtol=0.0, what="v* - v_pi <= error_bound")
    assert_bound(r.error_bound, 1e-6, atol=0.0, rtol=1e-12, what="error_bound <= epsilon")
    assert 0 <= r.n_eval_sweeps <= m * r.n_iter
    if eval_rtol == 0.0:  # fixed order: exactly m sweeps after every improvement that did not stop
        assert r.n_eval_sweeps == m * (r.n_iter - 1)


def test_auto_records_choice_and_accepts_overrides():
    mdp = garnet(30, 3, 4, gamma=0.95, rng=1)
    key, defaults, reason = auto_method(mdp)
    r = solve(mdp)
    assert r.method == "modified_policy_iteration"
    assert r.options["auto"] is True and r.options["auto_reason"] == reason
    assert r.options["m"] == defaults["m"] and r.options["eval_rtol"] == defaults["eval_rtol"]
    r2 = solve(mdp, "auto", m=3, eval_rtol=0.0, epsilon=1e-4)
    assert r2.options["m"] == 3 and r2.options["eval_rtol"] == 0.0 and r2.options["epsilon"] == 1e-4
    r3 = solve(mdp, "AUTO")
    assert r3.options["auto"] is True
    # an explicitly named method is not marked as chosen automatically
    assert "auto" not in solve(mdp, "mpi").options


def test_auto_dense_and_csr_agree():
    """Dense and CSR storage of one model give the same policy and values (to rounding)."""
    mdp = garnet(200, 4, 5, gamma=0.99, rng=3, sparse=False)
    rd, rs = solve(mdp, epsilon=1e-8), solve(mdp.to_sparse(), epsilon=1e-8)
    vs = brute_force_large(mdp)
    for r in (rd, rs):
        assert np.all(vs - value_of(mdp, r.policy) <= r.error_bound + 1e-9)
    assert_allclose(rd.v, rs.v, rtol=0, atol=1e-8)


def brute_force_large(mdp: TabularMDP) -> np.ndarray:
    """v* for a model too big to enumerate: Howard PI written here with numpy (exact evaluation,
    strict-improvement switching), independent of mdpkit's solvers."""
    S, A = mdp.S, mdp.A
    P = np.asarray(mdp.P_dense())
    R = np.asarray(mdp.R)
    idx = np.arange(S)
    mask = np.asarray(mdp.action_mask)
    pi = np.argmax(mask, axis=1)  # first available action
    for _ in range(1000):
        v = np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pi], R[idx, pi])
        q = np.where(mask, R + mdp.gamma * np.einsum("sat,t->sa", P, v), -np.inf)
        better = q.max(axis=1) > q[idx, pi] + 1e-12 * (1 + np.abs(v).max())
        if not better.any():
            return v
        pi = np.where(better, q.argmax(axis=1), pi)
    raise AssertionError("reference policy iteration did not stop")


def test_auto_on_forest_matches_reference():
    mdp = forest(S=300, gamma=0.99)
    r = solve(mdp, epsilon=1e-6)
    vs = brute_force_large(mdp)
    assert np.all(vs - value_of(mdp, r.policy) <= r.error_bound + 1e-9)
    assert r.error_bound < 1e-6


def test_auto_uses_policy_iteration_on_deterministic_csr_models():
    """A deterministic grid: every policy graph is functional; PI with the O(S) evaluation
    returns the optimal policy, checked against brute-force PI written with numpy."""
    n = 6
    S, A = n * n, 4
    rng = np.random.default_rng(0)
    r, c = np.divmod(np.arange(S), n)
    nxt = np.stack([np.clip(r - 1, 0, n - 1) * n + c, r * n + np.clip(c + 1, 0, n - 1),
                    np.clip(r + 1, 0, n - 1) * n + c, r * n + np.clip(c - 1, 0, n - 1)], axis=1)
    nxt[7] = 7  # absorbing goal
    R = -rng.uniform(1, 5, size=(S, 1)).repeat(A, axis=1)
    R[7] = 0.0
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    mdp = TabularMDP(P, R, 0.999).to_sparse()
    res = solve(mdp, epsilon=1e-6)
    assert res.method == "policy_iteration" and "deterministic" in res.options["auto_reason"]
    assert res.options["epsilon_requested"] == 1e-6
    vs = brute_force_large(mdp)
    assert_allclose(value_of(mdp, res.policy), vs, rtol=0, atol=1e-9)
    assert res.error_bound < 1e-6
    # an MPI-only option keeps auto on MPI
    assert solve(mdp, m=5).method == "modified_policy_iteration"


def test_auto_rejects_gamma_one_with_the_solvers_error():
    mdp = garnet(5, 2, 2, gamma=0.9, rng=0).with_gamma(1.0)
    with pytest.raises(InvalidMDPError, match="gamma"):
        solve(mdp)


@pytest.mark.parametrize("bad", [-1e-3, float("nan"), "0.1", None])
def test_bad_eval_rtol_rejected(bad):
    with pytest.raises(InvalidArgumentError, match="eval_rtol"):
        modified_policy_iteration(garnet(5, 2, 2, rng=0), eval_rtol=bad)


def _grid_parts(n, seed=0, masked=False):
    """Deterministic n x n grid (4 moves, border stays), random costs, one absorbing goal:
    ``(nxt (S, 4) next states, R (S, 4), mask or None)``."""
    S, A = n * n, 4
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(S), n)
    nxt = np.stack([np.clip(r - 1, 0, n - 1) * n + c, r * n + np.clip(c + 1, 0, n - 1),
                    np.clip(r + 1, 0, n - 1) * n + c, r * n + np.clip(c - 1, 0, n - 1)], axis=1)
    goal = int(rng.integers(S))
    nxt[goal] = goal
    R = -rng.uniform(1, 5, size=(S, 1)).repeat(A, axis=1)
    R[goal] = 0.0
    mask = None
    if masked:
        mask = rng.random((S, A)) < 0.7
        mask[np.arange(S), rng.integers(0, A, S)] = True
    return nxt, R, mask


def _grid(n, gamma, seed=0, masked=False):
    """:func:`_grid_parts` as a dense model."""
    nxt, R, mask = _grid_parts(n, seed, masked)
    S, A = R.shape
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    return TabularMDP(P, R, gamma, action_mask=mask)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("gamma", [0.5, 0.99, 0.999])
def test_policy_iteration_single_entry_fast_path_matches_generic_loop(gamma, masked):
    """On a deterministic CSR model policy_iteration runs one compiled loop; the dense copy of
    the same model takes the generic loop (LU evaluations).  Same policies, iteration counts and
    switch counts; values equal to rounding; v* checked by numpy PI."""
    from mdpkit.solvers import policy_iteration

    dense = _grid(7, gamma, seed=int(gamma * 1000), masked=masked)
    csr = dense.to_sparse()
    rf, rg = policy_iteration(csr), policy_iteration(dense)
    assert rf.converged and rg.converged
    assert rf.n_iter == rg.n_iter
    np.testing.assert_array_equal(rf.policy, rg.policy)
    np.testing.assert_array_equal(rf.n_changed, rg.n_changed)
    scale = 1.0 + np.abs(rg.v).max()
    assert_allclose(rf.v, rg.v, rtol=0, atol=1e-12 * scale)
    assert_allclose(rf.q[dense.action_mask], rg.q[dense.action_mask], rtol=0, atol=1e-12 * scale)
    assert np.all(np.isneginf(rf.q[~dense.action_mask]))
    assert_allclose(rf.v, brute_force_large(dense), rtol=0, atol=1e-9 * scale)
    # max_iter: the evaluated (not the switched) policy comes back, as in the generic loop
    if rg.n_iter > 2:
        with pytest.warns(ConvergenceWarning):
            a = policy_iteration(csr, max_iter=2)
        with pytest.warns(ConvergenceWarning):
            b = policy_iteration(dense, max_iter=2)
        np.testing.assert_array_equal(a.policy, b.policy)
        assert_allclose(a.v, b.v, rtol=0, atol=1e-12 * scale)


@pytest.mark.parametrize("masked", [False, True], ids=["unit-layout", "masked"])
def test_policy_iteration_single_entry_fast_path_on_a_large_grid(masked):
    """Above the kernels' parallel threshold (4 * 300^2 rows) the fast path's improvement step is a
    parallel greedy sweep (unmasked: the unit-weight layout).  Checked with numpy alone: v solves
    v = r_pi + gamma v[next_pi] and the Bellman optimality equation holds at v."""
    from mdpkit._kernels import CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT, bellman, model_args
    from mdpkit.solvers import policy_iteration

    n, gamma = 300, 0.99
    S, A = n * n, 4
    nxt, R, mask = _grid_parts(n, seed=1, masked=masked)
    P = sp.csr_matrix((np.ones(S * A), nxt.ravel(), np.arange(S * A + 1)), shape=(S * A, S))
    mdp = TabularMDP(P, R, gamma, action_mask=mask)
    assert model_args(mdp)[0] == (CSR_ONE_ENTRY if masked else CSR_ONE_ENTRY_UNIT)
    assert S * A >= bellman.PAR_MIN_WORK
    res = policy_iteration(mdp)
    assert res.converged
    pi = np.asarray(res.policy)
    avail = np.ones((S, A), bool) if mask is None else mask
    assert np.all(avail[np.arange(S), pi])
    v = np.asarray(res.v)
    scale = 1.0 + np.abs(v).max()
    assert_allclose(v, R[np.arange(S), pi] + gamma * v[nxt[np.arange(S), pi]], rtol=0, atol=1e-11 * scale)
    q = np.where(avail, R + gamma * v[nxt], -np.inf)
    assert_allclose(q.max(axis=1), v, rtol=0, atol=1e-11 * scale)

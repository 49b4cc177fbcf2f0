r"""Policies and the exact operators on them.

A deterministic policy is an int array ``pi (S,)`` with ``pi[s]`` an available action; a
stochastic policy is a float array ``pi (S, A)`` whose rows lie on the simplex and put no mass on
masked actions.  Everything here is exact up to floating point (linear solves, not iteration).

Functions
---------
check_policy, policy_matrices, policy_evaluation, q_from_v, greedy_policy, bellman_operator,
occupancy_measure
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numpy.typing import ArrayLike, NDArray

from ._exceptions import InvalidArgumentError, InvalidPolicyError
from ._kernels import bellman, greedy_backup, model_args, one_entry_per_row
from ._validation import as_float_array, check_gamma, first_index
from .model import TabularMDP

__all__ = [
    "bellman_operator",
    "check_policy",
    "check_value",
    "greedy_policy",
    "occupancy_measure",
    "policy_evaluation",
    "policy_matrices",
    "q_from_v",
    "solve_policy_system",
]

#: Default absolute tolerance for stochastic-policy rows.
POLICY_ATOL = 1e-8


def check_policy(mdp: TabularMDP, policy: ArrayLike, *, atol: float = POLICY_ATOL) -> NDArray:
    """Validate a policy for ``mdp`` and return it as int64 (S,) or float64 (S, A).

    Raises
    ------
    InvalidPolicyError
        Wrong shape, non-integer or out-of-range actions, masked actions, negative or
        non-finite probabilities, or rows not summing to 1 within ``atol``.
    """
    arr = np.asarray(policy)
    S, A = mdp.S, mdp.A
    if arr.ndim == 1:
        if arr.shape != (S,):
            raise InvalidPolicyError(f"a deterministic policy must have shape (S,) = ({S},), got {arr.shape}")
        if arr.dtype.kind not in "iu":
            if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InvalidPolicyError(f"a deterministic policy must hold integer actions, got dtype {arr.dtype}")
        pi = np.ascontiguousarray(arr, dtype=np.int64)
        bad = (pi < 0) | (pi >= A)
        if bad.any():
            s = int(np.flatnonzero(bad)[0])
            raise InvalidPolicyError(f"policy[{s}] = {pi[s]} is not an action in [0, {A})")
        avail = mdp.action_mask[np.arange(S), pi]
        if not avail.all():
            s = int(np.flatnonzero(~avail)[0])
            raise InvalidPolicyError(f"policy[{s}] = {pi[s]} is a masked (unavailable) action in state {s}")
        return pi
    if arr.ndim == 2:
        pi = as_float_array(arr, "policy", 2, exc=InvalidPolicyError)
        if pi.shape != (S, A):
            raise InvalidPolicyError(f"a stochastic policy must have shape (S, A) = ({S}, {A}), got {pi.shape}")
        if np.any(pi < 0):
            s, a = first_index(pi < 0)
            raise InvalidPolicyError(f"policy[{s}, {a}] = {float(pi[s, a])!r} is negative")
        masked = (pi > 0) & ~mdp.action_mask
        if masked.any():
            s, a = first_index(masked)
            raise InvalidPolicyError(f"policy[{s}, {a}] = {float(pi[s, a])!r} puts mass on a masked action")
        sums = pi.sum(axis=1)
        bad = np.abs(sums - 1.0) > atol
        if bad.any():
            s = int(np.flatnonzero(bad)[0])
            raise InvalidPolicyError(f"policy[{s}, :] sums to {float(sums[s])!r}; expected 1 within atol={atol:g}")
        return pi
    raise InvalidPolicyError(f"a policy must have shape (S,) or (S, A), got {arr.shape}")


def policy_matrices(mdp: TabularMDP, policy: ArrayLike):
    r"""Return ``(P_pi, r_pi)`` for a policy: ``P_pi (S, S)`` (dense or CSR like ``mdp.P``), ``r_pi (S,)``.

    :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s'|s,a)` and :math:`r_\pi(s) = \sum_a \pi(a|s) R(s,a)`.
    """
    pi = check_policy(mdp, policy)
    S, A = mdp.S, mdp.A
    if pi.ndim == 1:
        rows = np.arange(S) * A + pi
        r = mdp.R[np.arange(S), pi].copy()
        P = mdp.P_rows[rows]
        return (sp.csr_matrix(P) if mdp.is_sparse else np.ascontiguousarray(P)), r
    r = np.einsum("sa,sa->s", pi, np.where(mdp.action_mask, mdp.R, 0.0))
    W = sp.csr_matrix((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
    P = W @ mdp.P_rows
    return (sp.csr_matrix(P) if mdp.is_sparse else np.asarray(P)), r


#: Sparse policy systems up to this many states are solved directly (sparse LU), not by Krylov.
DIRECT_SOLVE_MAX_S = 2000


def solve_policy_system(P_pi, r_pi, gamma: float, *, rtol: float = 1e-12, x0=None) -> NDArray[np.float64]:
    """Solve (I - gamma P_pi) v = r_pi.

    Dense: LU.  CSR with at most ``DIRECT_SOLVE_MAX_S`` states: sparse LU.  CSR: when every row of ``P_pi`` has exactly one stored entry (a deterministic
    policy graph, e.g. a grid world) the system is solved exactly in O(S) along the graph
    (:func:`mdpkit._kernels.bellman.single_entry_policy_value`); with at most one off-diagonal
    entry per row the matrix is a permuted triangular matrix plus cycles and a direct sparse LU
    barely fills in, so it is solved directly.  Otherwise a Krylov solver
    (BiCGSTAB, then restarted GMRES) with a Jacobi (diagonal) preconditioner is used: a direct
    solve of a random sparse system fills in and stalls.  A Krylov answer is accepted only if
    its residual is at most ``1e3 * rtol * max|r_pi|``; otherwise the exact direct solve is the
    fallback.  ``x0`` (optional) is the Krylov solvers' initial guess; by default ``r_pi/(1-gamma)``.
    """
    S = r_pi.shape[0]
    if not sp.issparse(P_pi):
        return np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)
    P_pi = sp.csr_matrix(P_pi)
    if one_entry_per_row(P_pi):
        # one stored entry per row (a deterministic policy graph): exact O(S) solve
        v = np.empty(S)
        ok = bellman.single_entry_policy_value(  # fresh writable arrays: one kernel signature
            P_pi.indices.astype(np.int64), np.array(P_pi.data, dtype=np.float64),
            np.array(r_pi, dtype=np.float64), float(gamma), v,
            np.empty(S, dtype=np.int8), np.empty(S, dtype=np.int64), np.empty(S, dtype=np.int64))
        if ok:
            return v
    M = (sp.identity(S, format="csr") - gamma * P_pi).tocsr()
    # small systems, or at most one off-diagonal entry per row (LU barely fills in): the direct
    # solve, exact up to round-off (a Krylov answer is only accurate to its residual tolerance)
    if S <= DIRECT_SOLVE_MAX_S or np.diff(M.indptr).max() <= 2:
        return np.asarray(spla.spsolve(M.tocsc(), r_pi), dtype=np.float64)
    scale = max(float(np.abs(r_pi).max()), 1e-300)
    if x0 is None:
        x0 = r_pi / (1.0 - gamma) if gamma < 1 else None
    diag = M.diagonal()
    if np.all(diag != 0):
        inv_diag = 1.0 / diag
        prec = spla.LinearOperator(M.shape, matvec=lambda x: inv_diag * x, dtype=np.float64)
    else:
        prec = None

    def ok(v):
        return np.all(np.isfinite(v)) and np.abs(M @ v - r_pi).max() <= 1e3 * rtol * scale

    v, info = spla.bicgstab(M, r_pi, x0=x0, rtol=rtol, atol=0.0, maxiter=2000, M=prec)
    if info != 0 or not ok(v):
        v, info = spla.gmres(M, r_pi, x0=x0, rtol=rtol, atol=0.0, restart=50, maxiter=200, M=prec)
        if info != 0 or not ok(v):
            v = spla.spsolve(M.tocsc(), r_pi)  # direct fallback: exact but may fill in
    return np.asarray(v, dtype=np.float64)


def policy_evaluation(mdp: TabularMDP, policy: ArrayLike, *, v0: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Exact value of a policy in a discounted MDP: solve :math:`(I-\gamma P_\pi) v = r_\pi`.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1`` (total-reward models: :func:`mdpkit.solvers.ssp_policy_evaluation`).
    policy : array_like, (S,) int or (S, A) float
    v0 : array_like (S,), optional
        Initial guess for the Krylov solvers on CSR models (e.g. the iterate a value-iteration
        solver stopped at, which makes the solve a few iterations long); ignored by the direct
        and exact routes.  It changes the answer only within the solver tolerance.

    Returns
    -------
    v : ndarray of float64, shape (S,)
        :math:`v_\pi = (I-\gamma P_\pi)^{-1} r_\pi`, in reward units.  Dense models use LU
        (``numpy.linalg.solve``).  CSR models with a deterministic policy graph (one stored
        entry per row of :math:`P_\pi`) are solved exactly in O(S) along the graph (trees
        hanging on cycles, each cycle in closed form), or by a direct sparse LU when at most
        one off-diagonal entry per row remains, which barely fills in; other
        CSR models use Jacobi-preconditioned BiCGSTAB, then GMRES (``rtol=1e-12``), and fall back
        to a direct sparse solve when both fail or the residual exceeds ``1e-9 * max|r_pi|``.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidPolicyError
        If the policy is not valid for ``mdp``.
    InvalidArgumentError
        If ``v0`` is given and is not a finite (S,) vector.

    References
    ----------
    Puterman 1994, Thm 6.1.1 (policy evaluation equations).
    """
    gamma = check_gamma(mdp.gamma, allow_one=False)
    P_pi, r_pi = policy_matrices(mdp, policy)
    x0 = None if v0 is None else check_value(mdp, v0, "v0")
    return solve_policy_system(P_pi, r_pi, gamma, x0=x0)


def q_from_v(mdp: TabularMDP, v: ArrayLike) -> NDArray[np.float64]:
    r"""One-step lookahead :math:`q(s,a) = R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')`.

    Returns ``q (S, A)`` float64; masked actions hold ``-inf``.
    """
    vv = check_value(mdp, v)
    km = model_args(mdp)
    mask1, S, A = km[6], km[7], km[8]
    q = np.empty(S * A)
    bellman.bellman_q(km, mdp.gamma, vv, q)
    q[~mask1] = -np.inf
    return q.reshape(S, A)


def bellman_operator(mdp: TabularMDP, v: ArrayLike):
    r"""Apply the Bellman optimality operator: returns ``(T v (S,), greedy policy (S,) int64)``.

    :math:`(Tv)(s) = \max_{a \in A_s} R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')`; ties go to the
    lowest action index.  Puterman 1994, Eq. (6.2.3).
    """
    vv = check_value(mdp, v)
    _, out, pi = greedy_backup(model_args(mdp), mdp.gamma, vv)
    return out, pi


def greedy_policy(mdp: TabularMDP, v: ArrayLike) -> NDArray[np.int64]:
    """Deterministic policy greedy for ``v`` (ties to the lowest action index), shape (S,)."""
    return bellman_operator(mdp, v)[1]


def occupancy_measure(
    mdp: TabularMDP, policy: ArrayLike, *, mu0: ArrayLike | None = None, normalized: bool = True
) -> NDArray[np.float64]:
    r"""Discounted state-action occupancy measure of a policy.

    .. math:: d_\pi(s, a) = c \sum_{t \ge 0} \gamma^t \Pr_{\mu_0,\pi}(s_t = s, a_t = a),

    with :math:`c = 1-\gamma` when ``normalized`` (a probability distribution) else 1.  Solves
    :math:`(I - \gamma P_\pi^\top) d_S = \mu_0` and sets :math:`d(s,a) = d_S(s)\pi(a|s)`.
    Puterman 1994, Sec. 6.9.1 (the dual LP variables).

    Returns ``d (S, A)`` float64.
    """
    gamma = check_gamma(mdp.gamma, allow_one=False)
    pi = check_policy(mdp, policy)
    m0 = mdp.mu0 if mu0 is None else as_float_array(mu0, "mu0", 1, exc=InvalidArgumentError)
    if m0.shape != (mdp.S,):
        raise InvalidArgumentError(f"mu0 must have shape (S,) = ({mdp.S},), got {m0.shape}")
    P_pi, _ = policy_matrices(mdp, pi)
    dS = solve_policy_system(P_pi.T.tocsr() if sp.issparse(P_pi) else P_pi.T, m0, gamma)
    if normalized:
        dS = dS * (1.0 - gamma)
    if pi.ndim == 1:
        d = np.zeros((mdp.S, mdp.A))
        d[np.arange(mdp.S), pi] = dS
        return d
    return dS[:, None] * pi


def check_value(mdp: TabularMDP, v: ArrayLike, name: str = "v") -> NDArray[np.float64]:
    """A value vector as float64 of shape (S,), finite; raises :class:`InvalidArgumentError` naming ``name``."""
    vv = as_float_array(v, name, 1, exc=InvalidArgumentError)
    if vv.shape != (mdp.S,):
        raise InvalidArgumentError(f"{name} must have shape (S,) = ({mdp.S},), got {vv.shape}")
    return vv

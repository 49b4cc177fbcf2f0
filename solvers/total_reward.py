r"""Total-reward problems with absorbing terminal states (stochastic shortest path).

The objective is :math:`v_\pi(s) = E_\pi[\sum_{t<\tau} \gamma^t R(s_t, a_t)]` with
:math:`\tau` the hitting time of the terminal set and :math:`\gamma \le 1` (typically 1).  A
policy is *proper* when it reaches the terminal set with probability one from every state.
Under the standard assumptions (a proper policy exists; every improper policy has value
:math:`-\infty` from some state) policy iteration started from a proper policy stays proper and
terminates with an optimal policy (Bertsekas & Tsitsiklis 1991, Prop. 2; Bertsekas,
*Dynamic Programming and Optimal Control* Vol. II, Sec. 3.2).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds
from mdpkit import qualitative as qual
from mdpkit._exceptions import ImproperPolicyError, InvalidArgumentError
from mdpkit._validation import check_gamma, check_int
from mdpkit.model import TabularMDP
from mdpkit.policies import solve_policy_system, check_policy
from mdpkit.results import TotalRewardResult
from mdpkit.structure import all_policies_proper, check_terminal, steps_to

from ._common import build_result, check_mdp, initial_policy
from .reachability import max_expected_steps_bound, one_blas_thread

__all__ = ["ssp_policy_evaluation", "ssp_policy_iteration"]


def _reaches_terminal(mdp: TabularMDP, pi: np.ndarray, term: np.ndarray) -> np.ndarray:
    """Bool (S,): states from which the policy's chain reaches ``term`` with positive probability
    (backward attractor through the policy's pairs: a compiled worklist on the cached support graph)."""
    g = qual.support_graph(mdp)
    ok = np.zeros(mdp.S * mdp.A, dtype=bool)
    ok[np.arange(mdp.S) * mdp.A + pi] = True
    return qual.attractor(g, term, np.ones(mdp.S, dtype=bool), ok & g.mask1)[0]


def _evaluate(mdp: TabularMDP, R: np.ndarray, pi: np.ndarray, term: np.ndarray, gamma: float) -> np.ndarray:
    S, A = mdp.S, mdp.A
    reach = _reaches_terminal(mdp, pi, term)
    if not reach.all():
        s = int(np.flatnonzero(~reach)[0])
        raise ImproperPolicyError(
            f"the policy is improper: from state {s} it never reaches a terminal state "
            "(the total-reward value is undefined or infinite)"
        )
    N = np.flatnonzero(~term)
    rows = N * A + pi[N]
    P_NN = mdp.P_rows[rows][:, N]
    v = np.zeros(S)
    if N.size:
        with one_blas_thread():  # BLAS-1 calls of the Krylov solver oversubscribe shared cores
            v[N] = solve_policy_system(sp.csr_matrix(P_NN) if mdp.is_sparse else np.asarray(P_NN), R[N, pi[N]], gamma)
    return v


def _q(mdp: TabularMDP, R: np.ndarray, v: np.ndarray, gamma: float) -> np.ndarray:
    q = R + gamma * np.asarray(mdp.P_rows @ v).reshape(mdp.S, mdp.A)
    return np.where(mdp.action_mask, q, -np.inf)


def _proper_policy(mdp: TabularMDP, term: np.ndarray) -> np.ndarray:
    """A proper policy: at each state the first action that can move one step closer to the
    terminal set (vectorised: per-pair minimum successor distance by a segmented reduction)."""
    S, A = mdp.S, mdp.A
    dist = steps_to(mdp, term)
    if np.isinf(dist).any():
        s = int(np.flatnonzero(np.isinf(dist))[0])
        raise ImproperPolicyError(f"no proper policy exists: state {s} cannot reach a terminal state under any policy")
    P = sp.csr_matrix(mdp.P_rows)
    d = np.where(P.data > 0, dist[P.indices], np.inf)
    nnz_row = np.diff(P.indptr)
    best = np.full(S * A, np.inf)
    has = nnz_row > 0
    if P.nnz:
        best[has] = np.minimum.reduceat(d, P.indptr[:-1][has])
    closer = (best.reshape(S, A) < dist[:, None]) & mdp.action_mask
    pi = np.argmax(closer, axis=1).astype(np.int64)
    pi[term] = np.argmax(mdp.action_mask[term], axis=1)
    return pi


def _pi_loop(mdp, R, term, gamma, pi, max_iter, tie_rtol):
    S = mdp.S
    residuals, converged = [], False
    for it in range(max_iter):
        v = _evaluate(mdp, R, pi, term, gamma)
        q = _q(mdp, R, v, gamma)
        q[term] = np.where(mdp.action_mask[term], 0.0, -np.inf)
        best = np.argmax(q, axis=1)
        cur = q[np.arange(S), pi]
        residuals.append(float(np.max(q.max(axis=1) - v)))
        switch = q[np.arange(S), best] > cur + tie_rtol * (1.0 + np.abs(v).max())
        if not switch.any():
            converged = True
            break
        if it == max_iter - 1:
            break  # return the evaluated policy, so v, q and the bound all describe it
        pi = np.where(switch, best, pi).astype(np.int64)
    return pi, v, q, residuals, converged


def ssp_policy_evaluation(mdp: TabularMDP, policy, *, terminal=None) -> np.ndarray:
    r"""Exact total (possibly discounted) reward of a proper policy until termination.

    Solves :math:`(I - \gamma P_{\pi,NN}) v_N = r_{\pi,N}` on the non-terminal states N, with
    :math:`v = 0` on terminal states.  ``gamma`` may be 1.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like of int, shape (S,)
    terminal : bool mask (S,) or ids, optional
        Terminal states; default all absorbing zero-reward states.

    Returns
    -------
    v : ndarray (S,) float64

    Raises
    ------
    ImproperPolicyError
        If the policy does not reach the terminal set w.p. 1 from some state (named).
    InvalidArgumentError
        If there is no terminal state, or a declared one is not absorbing with zero reward.
    """
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=True)
    pi = check_policy(mdp, policy)
    if pi.ndim != 1:
        raise InvalidArgumentError("ssp_policy_evaluation takes a deterministic policy (S,)")
    term = check_terminal(mdp, terminal)
    return _evaluate(mdp, np.asarray(mdp.R), pi, term, gamma)


def ssp_policy_iteration(
    mdp: TabularMDP,
    *,
    terminal=None,
    policy0=None,
    max_iter: int = 10_000,
    tie_rtol: float = 1e-12,
) -> TotalRewardResult:
    r"""Policy iteration for total-reward / stochastic-shortest-path MDPs (``gamma <= 1``).

    Starts from a proper policy (``policy0`` or one built from shortest positive-probability
    paths to the terminal set), evaluates it exactly on the non-terminal states and improves
    greedily (switching only on an improvement above ``tie_rtol * (1 + max|v|)``).  Under the
    SSP assumptions (a proper policy exists; every improper policy has value :math:`-\infty`
    from some state) it terminates with an optimal proper policy (Bertsekas & Tsitsiklis 1991,
    Prop. 2).  If the assumptions fail (an improper policy with finite value, e.g. a zero-reward
    cycle) the improvement step can produce an improper policy; this is detected and reported.

    The certificate is :math:`0 \le v^* - v_\pi \le \max(Tv_\pi - v_\pi)^+ \cdot N`
    state-wise (:func:`mdpkit.bounds.ssp_greedy_bound`), where :math:`N` bounds the optimal
    policy's expected number of steps: :math:`\max_\mu E_\mu[\tau]` when every policy is proper,
    computed by :func:`mdpkit.solvers.reachability.max_expected_steps_bound` (optimistic value
    iteration to 1% with a verified upper bound, polished to the exact value by policy iteration
    warm-started from its greedy policy, usually one evaluation)
    (:func:`mdpkit.structure.all_policies_proper`), or :math:`\max_s(-v_\pi(s))/c` when every
    non-terminal reward is at most :math:`-c < 0`.  If neither applies the certificate is
    ``inf`` (the policy is still optimal by the convergence theorem; no numeric certificate is
    claimed).

    Parameters
    ----------
    mdp : TabularMDP
        ``P`` (S, A, S) or CSR (S*A, S); ``R`` (S, A); ``gamma`` in ``[0, 1]``; at least one
        absorbing zero-reward state.
    terminal : bool mask (S,) or int ids, optional
        Terminal states; default :func:`mdpkit.structure.terminal_states` (every absorbing
        zero-reward state).
    policy0 : array_like of int, shape (S,), optional
        A proper initial policy.
    max_iter : int, default 10_000
        Maximum number of evaluation-improvement rounds.
    tie_rtol : float, default 1e-12

    Returns
    -------
    TotalRewardResult
        ``v`` (S,) float64, the estimate of the optimal total reward :math:`v^*` (the supremum
        over proper policies, zero on terminal states): the exact value :math:`v_\pi` of the
        returned policy, so ``v_policy`` is ``v``.  ``v_error_bound`` certifies
        :math:`\|v - v^*\|_\infty`; it equals ``certificate.value`` because
        :math:`v_\pi \le v^* \le v_\pi + \text{certificate}` (``v_lower = v``,
        ``v_upper = v + certificate``), and is ``inf`` exactly when the certificate is: no bound
        on the optimal policy's expected termination time is available, so the final residual
        does not bound the distance to :math:`v^*` (a converged run still has :math:`v = v^*`
        under the SSP assumptions, by Prop. 2 in exact arithmetic, which is not a numeric
        certificate).  ``policy`` (S,) int64, proper; ``q`` (S, A) the backup of ``v``
        (``-inf`` on masked actions, 0 on terminal states); ``residuals`` (n_iter,)
        :math:`\max_s (Tv_{\pi_k} - v_{\pi_k})(s)`; ``terminal`` (S,) bool the terminal set used;
        ``expected_steps`` (S,) float64, :math:`E_\pi[\tau]` of the returned policy (undiscounted
        number of steps to termination); ``max_expected_steps`` the bound :math:`N` the
        certificate uses (the smaller of the two routes; ``inf`` if neither applies).
        With ``gamma < 1`` an optimal policy that never terminates is reported as improper (this
        solver assumes termination), although its discounted value is finite.

    Raises
    ------
    ImproperPolicyError
        If no proper policy exists, ``policy0`` is improper, or an iterate becomes improper.
    InvalidArgumentError
        If there is no terminal state, a declared one is not absorbing with zero reward, or
        ``max_iter < 1``.
    InvalidPolicyError
        If ``policy0`` is not a valid deterministic policy.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached (the certificate still describes the returned policy).

    References
    ----------
    .. [1] D. P. Bertsekas and J. N. Tsitsiklis, "An analysis of stochastic shortest path
       problems", Math. Oper. Res. 16(3), 1991.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Ch. 7 (total reward).
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    term = check_terminal(mdp, terminal)
    pi = initial_policy(mdp, policy0)
    if pi is None:
        pi = _proper_policy(mdp, term)
    R = np.asarray(mdp.R, dtype=float)
    pi, v, q, residuals, converged = _pi_loop(mdp, R, term, gamma, pi, max_iter, tie_rtol)
    n_max, route = np.inf, "no finite certificate"
    if all_policies_proper(mdp, term):
        # max_mu E_mu[steps]: optimistic value iteration to 1% (a verified upper bound), then polished
        # by a warm-started policy iteration; not a second policy iteration from scratch
        n_bound, _ = max_expected_steps_bound(mdp, term, epsilon=1e-2)
        if np.isfinite(n_bound):
            n_max, route = float(n_bound), "all policies proper"
    nonterm = mdp.action_mask & ~term[:, None]
    if nonterm.any() and R[nonterm].max() < 0.0:
        c = -float(R[nonterm].max())
        n_neg = float(np.max(-v)) / c
        if n_neg < n_max:
            n_max, route = n_neg, "negative rewards"
    cert = bounds.ssp_greedy_bound(max(residuals[-1], 0.0), n_max, route=route)
    unit = np.where(term[:, None], 0.0, 1.0) * np.ones((mdp.S, mdp.A))
    return build_result(
        mdp,
        cls=TotalRewardResult,
        v=v,
        v_error_bound=cert.value,
        policy=pi,
        certificate=cert,
        converged=converged,
        n_iter=len(residuals),
        residuals=np.asarray(residuals),
        method="ssp_policy_iteration",
        options=dict(max_iter=max_iter, tie_rtol=tie_rtol, policy0_given=policy0 is not None,
                     terminal_given=terminal is not None),
        t0=t0,
        v_policy=v,
        q=q,
        v_lower=v if np.isfinite(cert.value) else None,
        v_upper=v + cert.value if np.isfinite(cert.value) else None,
        terminal=term,
        expected_steps=_evaluate(mdp, unit, pi, term, 1.0),
        max_expected_steps=float(n_max),
    )

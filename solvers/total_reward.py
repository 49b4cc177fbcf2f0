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
from scipy.sparse import csgraph

from mdpkit import bounds
from mdpkit._exceptions import ImproperPolicyError, InvalidArgumentError
from mdpkit._validation import check_gamma, check_int
from mdpkit.model import TabularMDP
from mdpkit.policies import _solve_policy_system, check_policy
from mdpkit.results import SolveResult

from ._common import legacy_build_result as build_result, check_mdp, initial_policy

__all__ = ["terminal_states", "ssp_policy_evaluation", "ssp_policy_iteration", "all_policies_proper"]


def terminal_states(mdp: TabularMDP) -> np.ndarray:
    """Boolean (S,) mask of absorbing zero-reward states: ``P[s, a, s] = 1`` and ``R[s, a] = 0``
    for every available action ``a``."""
    S, A = mdp.S, mdp.A
    rows = np.arange(S * A)
    self_p = np.asarray(mdp.P_rows[rows, np.repeat(np.arange(S), A)]).ravel().reshape(S, A)
    ok = (np.abs(self_p - 1.0) <= 1e-12) & (mdp.R == 0.0)
    return np.all(ok | ~mdp.action_mask, axis=1)


def _check_terminal(mdp: TabularMDP, terminal) -> np.ndarray:
    if terminal is None:
        term = terminal_states(mdp)
    else:
        t = np.asarray(terminal)
        if t.dtype == bool:
            if t.shape != (mdp.S,):
                raise InvalidArgumentError(f"terminal mask must have shape (S,) = ({mdp.S},), got {t.shape}")
            term = t.copy()
        else:
            term = np.zeros(mdp.S, dtype=bool)
            idx = t.astype(np.int64).ravel()
            if np.any((idx < 0) | (idx >= mdp.S)):
                raise InvalidArgumentError(f"terminal states must be ids in [0, {mdp.S}), got {t.tolist()}")
            term[idx] = True
        auto = terminal_states(mdp)
        if np.any(term & ~auto):
            s = int(np.flatnonzero(term & ~auto)[0])
            raise InvalidArgumentError(f"state {s} is declared terminal but is not absorbing with zero reward")
    if not term.any():
        raise InvalidArgumentError("the model has no absorbing zero-reward (terminal) state")
    return term


def _graph(rows_P, pi=None, S=None, A=None, mask=None):
    """Adjacency (S+1, S+1) of positive-probability moves; node S is a virtual terminal sink."""
    P = sp.csr_matrix(rows_P)
    if pi is not None:
        P = P[np.arange(S) * A + pi]
        adj = P
    else:
        keep = sp.diags(mask.ravel().astype(float))
        M = sp.csr_matrix((np.ones(S * A), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
        adj = M @ keep @ P
    adj = sp.csr_matrix(adj)
    adj.data = np.ones_like(adj.data)
    return adj


def _dist_to_terminal(adj, term: np.ndarray) -> np.ndarray:
    """Shortest number of positive-probability steps to the terminal set (inf if unreachable)."""
    S = term.shape[0]
    ext = sp.bmat([[adj, sp.csr_matrix(term.astype(float)[:, None])], [sp.csr_matrix((1, S)), None]], format="csr")
    d = csgraph.shortest_path(ext.T.tocsr(), directed=True, unweighted=True, indices=S)
    return d[:S] - 1.0


def all_policies_proper(mdp: TabularMDP, terminal=None) -> bool:
    """True when every deterministic policy reaches the terminal set w.p. 1 from every state.

    Computes the largest set of non-terminal states that some policy can keep the process in
    forever (a fixpoint: drop states with no action whose successors all stay in the set);
    every policy is proper iff that set is empty.
    """
    term = _check_terminal(mdp, terminal)
    S, A = mdp.S, mdp.A
    P = sp.csr_matrix(mdp.P_rows)
    C = ~term
    while True:
        leave = (P @ (~C).astype(float)).reshape(S, A) > 0
        stays = mdp.action_mask & ~leave
        C_new = C & stays.any(axis=1)
        if np.array_equal(C_new, C):
            return not C.any()
        C = C_new


def _evaluate(mdp: TabularMDP, R: np.ndarray, pi: np.ndarray, term: np.ndarray, gamma: float) -> np.ndarray:
    S, A = mdp.S, mdp.A
    adj = _graph(mdp.P_rows, pi, S, A)
    dist = _dist_to_terminal(adj, term)
    if np.isinf(dist).any():
        s = int(np.flatnonzero(np.isinf(dist))[0])
        raise ImproperPolicyError(
            f"the policy is improper: from state {s} it never reaches a terminal state "
            "(the total-reward value is undefined or infinite)"
        )
    N = np.flatnonzero(~term)
    rows = N * A + pi[N]
    P_NN = mdp.P_rows[rows][:, N]
    v = np.zeros(S)
    if N.size:
        v[N] = _solve_policy_system(sp.csr_matrix(P_NN) if mdp.is_sparse else np.asarray(P_NN), R[N, pi[N]], gamma)
    return v


def _q(mdp: TabularMDP, R: np.ndarray, v: np.ndarray, gamma: float) -> np.ndarray:
    q = R + gamma * np.asarray(mdp.P_rows @ v).reshape(mdp.S, mdp.A)
    return np.where(mdp.action_mask, q, -np.inf)


def _proper_policy(mdp: TabularMDP, term: np.ndarray) -> np.ndarray:
    """A proper policy: at each state an action that can move one step closer to the terminal set."""
    S, A = mdp.S, mdp.A
    dist = _dist_to_terminal(_graph(mdp.P_rows, None, S, A, mdp.action_mask), term)
    if np.isinf(dist).any():
        s = int(np.flatnonzero(np.isinf(dist))[0])
        raise ImproperPolicyError(f"no proper policy exists: state {s} cannot reach a terminal state under any policy")
    P = sp.csr_matrix(mdp.P_rows)
    pi = np.zeros(S, dtype=np.int64)
    for s in np.flatnonzero(~term):
        for a in range(A):
            if not mdp.action_mask[s, a]:
                continue
            i = s * A + a
            succ = P.indices[P.indptr[i]:P.indptr[i + 1]][P.data[P.indptr[i]:P.indptr[i + 1]] > 0]
            if succ.size and dist[succ].min() < dist[s]:
                pi[s] = a
                break
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
    term = _check_terminal(mdp, terminal)
    return _evaluate(mdp, np.asarray(mdp.R), pi, term, gamma)


def ssp_policy_iteration(
    mdp: TabularMDP,
    *,
    terminal=None,
    policy0=None,
    max_iter: int = 10_000,
    tie_rtol: float = 1e-12,
) -> SolveResult:
    r"""Policy iteration for total-reward / stochastic-shortest-path MDPs (``gamma <= 1``).

    Starts from a proper policy (``policy0`` or one built from shortest positive-probability
    paths to the terminal set), evaluates it exactly on the non-terminal states and improves
    greedily (switching only on an improvement above ``tie_rtol * (1 + max|v|)``).  Under the
    SSP assumptions it terminates with an optimal proper policy (Bertsekas & Tsitsiklis 1991,
    Prop. 2).  If the assumptions fail (an improper policy with finite value, e.g. a zero-reward
    cycle) the improvement step can produce an improper policy; this is detected and reported.

    The certified bound is :math:`v^* - v_\pi \le \max(Tv_\pi - v_\pi)^+ \cdot N`
    (:func:`mdpkit.bounds.ssp_greedy_bound`), where :math:`N` bounds the optimal policy's expected
    number of steps: :math:`\max_\mu E_\mu[\tau]` computed exactly by the same policy iteration
    on the unit-reward problem when every policy is proper (:func:`all_policies_proper`), or
    :math:`\max_s(-v_\pi(s))/c` when every non-terminal reward is at most :math:`-c < 0`.  If
    neither applies ``error_bound`` is ``inf`` (the policy is still optimal by the convergence
    theorem; no numeric certificate is claimed).

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma`` in ``[0, 1]``; at least one absorbing zero-reward state.
    terminal : bool mask (S,) or ids, optional
        Terminal states; default all absorbing zero-reward states.
    policy0 : array_like of int, shape (S,), optional
        A proper initial policy.
    max_iter : int, default 10_000
    tie_rtol : float, default 1e-12

    Returns
    -------
    SolveResult
        ``v`` = ``v_policy`` (S,) (zero on terminal states); ``residuals`` per iteration
        :math:`\max_s (Tv_{\pi_k} - v_{\pi_k})(s)`; ``extra["terminal"]`` the terminal mask and
        ``extra["max_expected_steps"]``, the bound :math:`N` on the optimal policy's expected number
        of steps used by the certificate (the smaller of the two routes; ``inf`` if neither applies).
        With ``gamma < 1`` an optimal policy that never terminates is reported as improper (this
        solver assumes termination), although its discounted value is finite.

    Raises
    ------
    ImproperPolicyError
        If no proper policy exists, ``policy0`` is improper, or an iterate becomes improper.
    InvalidArgumentError
        If there is no terminal state.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached.

    References
    ----------
    .. [1] D. P. Bertsekas and J. N. Tsitsiklis, "An analysis of stochastic shortest path
       problems", Math. Oper. Res. 16(3), 1991.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Ch. 7 (total reward).
    """
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=True)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    t0 = time.perf_counter()
    term = _check_terminal(mdp, terminal)
    pi = initial_policy(mdp, policy0)
    if pi is None:
        pi = _proper_policy(mdp, term)
    R = np.asarray(mdp.R, dtype=float)
    pi, v, q, residuals, converged = _pi_loop(mdp, R, term, gamma, pi, max_iter, tie_rtol)
    n_max, route = np.inf, "no finite certificate"
    if all_policies_proper(mdp, term):
        ones = np.where(term[:, None], 0.0, 1.0) * np.ones((mdp.S, mdp.A))
        _, steps, _, _, ok = _pi_loop(mdp, ones, term, 1.0, _proper_policy(mdp, term), 10 * mdp.S + 10, tie_rtol)
        if ok:
            n_max, route = float(steps.max()), "all policies proper"
    nonterm = mdp.action_mask & ~term[:, None]
    if nonterm.any() and R[nonterm].max() < 0.0:
        c = -float(R[nonterm].max())
        n_neg = float(np.max(-v)) / c
        if n_neg < n_max:
            n_max, route = n_neg, "negative rewards"
    bound = bounds.ssp_greedy_bound(max(residuals[-1], 0.0), n_max, route=route)
    return build_result(
        mdp,
        v=v,
        policy=pi,
        converged=converged,
        n_iter=len(residuals),
        residuals=np.asarray(residuals),
        bound=bound,
        method="ssp_policy_iteration",
        options=dict(max_iter=max_iter, tie_rtol=tie_rtol, policy0_given=policy0 is not None),
        wall_time=time.perf_counter() - t0,
        evaluate=False,
        v_policy=v.copy(),
        q=q,
        extra={"terminal": term, "max_expected_steps": n_max},
    )

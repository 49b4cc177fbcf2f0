r"""Discounted infinite-horizon solvers: value iteration, Gauss-Seidel VI, policy iteration, MPI.

For a discounted MDP with :math:`0 \le \gamma < 1` the Bellman operator
:math:`(Tv)(s) = \max_a R(s,a) + \gamma \sum_{s'} P(s'|s,a) v(s')` is a :math:`\gamma`-contraction
in the sup norm with unique fixed point :math:`v^*` (Puterman 1994, Thm 6.2.3).  Every solver
here returns a deterministic policy :math:`\pi` and a *certified* bound on
:math:`\|v^* - v_\pi\|_\infty` computed by :mod:`mdpkit.bounds` from the solver's last exact
Bellman backup, so the bound holds whether or not the stopping rule was reached.
"""

from __future__ import annotations

import time

import numpy as np

from mdpkit import bounds
from mdpkit._kernels import CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT, backup_buffers, bellman, greedy_backup, model_args
from mdpkit._validation import check_gamma, check_int, check_memory, check_positive, check_real_option, check_value_scale
from mdpkit.policies import policy_evaluation, q_from_v
from mdpkit.model import TabularMDP
from mdpkit.results import DiscountedResult

from ._common import (
    bracket_midpoint,
    q_matrix,
    build_result,
    check_common,
    check_mdp,
    initial_policy,
    initial_v,
)
from mdpkit._exceptions import InvalidArgumentError

#: Largest accepted ``tie_rtol`` of :func:`policy_iteration`: a larger threshold would stop at
#: policies that are clearly improvable and still report ``converged=True``.
TIE_RTOL_MAX = 1e-3

__all__ = [
    "gauss_seidel_value_iteration",
    "modified_policy_iteration",
    "policy_iteration",
    "value_iteration",
]


def _check_scale_and_trace(mdp, gamma: float, v0, max_iter: int, n_traces: int, who: str) -> None:
    """Refuse, before any work, a problem whose values would overflow or whose trace arrays
    (``n_traces`` float64 arrays of length ``max_iter``, preallocated for the kernels) would
    not fit the memory limit (:func:`mdpkit._validation.check_memory`)."""
    scale = check_value_scale(mdp.R, gamma, mask=mdp.action_mask)
    if v0 is not None:
        v = initial_v(mdp, v0)
        if v.size and float(np.max(np.abs(v))) > 1e300 - scale:
            raise InvalidArgumentError(f"v0 has entries up to {float(np.max(np.abs(v))):.3g}; |v0| must stay below 1e300")
    check_memory(8.0 * n_traces * max_iter, f"{who} with max_iter={max_iter:,} (trace arrays)")


def _certified_result(mdp, gamma, *, v_iterate, v_next, pi, q1, dmin, dmax, n, converged, residuals, method,
                      options, t0, **fields):
    """Result for a policy greedy for some u, certified by one exact backup v_next = T u, d = v_next - u.

    ``v`` is the midpoint of the MacQueen-Porteus bracket
    (:func:`mdpkit.bounds.macqueen_bounds`) on :math:`v^*` and ``v_error_bound`` its half-width;
    the policy's bound (:func:`mdpkit.bounds.greedy_span_bound`) depends only on gamma and
    ``max d - min d``.  ``v_iterate`` is the solver's own last iterate.
    """
    lo, hi = bounds.macqueen_bounds(gamma, v_next, dmin, dmax)
    v, v_err = bracket_midpoint(lo, hi)
    return build_result(
        mdp,
        cls=DiscountedResult,
        v=v,
        v_error_bound=v_err,
        policy=pi,
        certificate=bounds.greedy_span_bound(gamma, dmax - dmin),
        converged=converged,
        n_iter=n,
        residuals=residuals,
        method=method,
        options=options,
        t0=t0,
        q=q_matrix(q1, mdp.action_mask.reshape(-1), mdp.S, mdp.A),
        v_iterate=v_iterate,
        v_lower=lo,
        v_upper=hi,
        **fields,
    )


def value_iteration(
    mdp: TabularMDP,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 100_000,
    v0=None,
    stopping: str = "norm",
) -> DiscountedResult:
    r"""Value iteration (Jacobi) for a discounted tabular MDP.

    Iterates :math:`v_{k+1} = T v_k`.  With ``stopping="norm"`` it stops when
    :math:`\|v_{k+1}-v_k\|_\infty < \varepsilon(1-\gamma)/(2\gamma)` (Puterman 1994, Thm 6.3.1);
    with ``stopping="span"`` when :math:`\operatorname{sp}(v_{k+1}-v_k) < \varepsilon(1-\gamma)/\gamma`
    (Puterman 1994, Sec. 6.6.3), which is never later.  The returned policy :math:`\pi` is greedy
    for :math:`v_k` and is certified :math:`\varepsilon`-optimal by the MacQueen-Porteus bound
    :math:`\|v^*-v_\pi\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(v_{k+1}-v_k)`
    (:func:`mdpkit.bounds.greedy_span_bound`).

    Parameters
    ----------
    mdp : TabularMDP
        Dense ``P (S, A, S)`` or CSR ``(S*A, S)``; ``R (S, A)``; requires ``gamma < 1``.
    epsilon : float, default 1e-6
        Target sup-norm suboptimality of the returned policy, in reward units.
    max_iter : int, default 100_000
        Maximum number of Bellman-operator applications (one iteration = one sweep).
    v0 : array_like of shape (S,), optional
        Initial iterate; zeros if omitted.
    stopping : {"norm", "span"}, default "norm"
        Which stopping rule to apply.

    Returns
    -------
    DiscountedResult
        ``v`` (S,) the estimate of :math:`v^*`: the midpoint of the MacQueen-Porteus bracket
        ``[v_lower, v_upper]``, with ``v_error_bound`` its half-width (certified
        :math:`\|v - v^*\|_\infty`); ``v_iterate`` the last iterate :math:`v_{k+1}`; ``policy`` (S,)
        int64 greedy for :math:`v_k`; ``q`` (S, A) the backup of :math:`v_k`; ``residuals`` (n_iter,)
        the sup norms :math:`\|v_{j+1}-v_j\|_\infty` and ``spans`` their spans; ``certificate`` the
        certified :math:`\|v^*-v_\pi\|_\infty` bound; ``v_policy`` computed on first access.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        If ``epsilon <= 0``, ``max_iter < 1``, ``stopping`` is unknown or ``v0`` has the wrong shape.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first (``result.converged`` is False; the bound still holds).

    Notes
    -----
    :math:`\|v_k - v^*\|_\infty \le \gamma^k \|v_0 - v^*\|_\infty`.  Cost per iteration
    O(S^2 A) dense, O(nnz(P)) CSR.  Greedy ties go to the lowest action index.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.3 and 6.6.
    .. [2] J. MacQueen, "A modified dynamic programming method for Markovian decision problems",
       J. Math. Anal. Appl. 14, 1966.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit import TabularMDP
    >>> from mdpkit.solvers import value_iteration
    >>> P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    >>> mask = np.array([[True, True], [True, False]])
    >>> res = value_iteration(TabularMDP(P, R, 0.95, action_mask=mask), epsilon=1e-8)
    >>> res.policy
    array([0, 0])
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    if stopping not in ("norm", "span"):
        raise InvalidArgumentError(f"stopping must be 'norm' or 'span', got {stopping!r}")
    _check_scale_and_trace(mdp, gamma, v0, max_iter, 2, "value_iteration")
    tol = bounds.vi_norm_stopping_tol(epsilon, gamma) if stopping == "norm" else bounds.span_stopping_tol(epsilon, gamma)
    v = initial_v(mdp, v0)
    km = model_args(mdp)
    q, v_new, pi = backup_buffers(km)
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    n, converged = bellman.value_iteration_loop(
        km, gamma, v, tol, stopping == "span", max_iter, q, v_new, pi, residuals, spans, dmm
    )
    return _certified_result(
        mdp, gamma, v_iterate=v, v_next=v, pi=pi, q1=q, dmin=dmm[0], dmax=dmm[1], n=n, converged=converged,
        residuals=residuals[:n].copy(), method="value_iteration",
        options=dict(epsilon=epsilon, max_iter=max_iter, stopping=stopping, tol=tol, v0_given=v0 is not None),
        t0=t0, spans=spans[:n].copy(),
    )


def gauss_seidel_value_iteration(
    mdp: TabularMDP,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 100_000,
    v0=None,
) -> DiscountedResult:
    r"""Gauss-Seidel value iteration for a discounted tabular MDP.

    Sweeps states in index order, each backup using the values already updated in the sweep
    (Puterman 1994, Sec. 6.3.3); the Gauss-Seidel operator is a :math:`\gamma`-contraction with
    fixed point :math:`v^*` (Puterman 1994, Thm 6.3.4).  Stops when a sweep changes no value by
    more than :math:`\varepsilon(1-\gamma)/(2\gamma)`.  Then one Jacobi backup :math:`Tv`
    gives the returned greedy policy and its certified bound
    :math:`\|v^*-v_\pi\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(Tv-v)`
    (:func:`mdpkit.bounds.greedy_span_bound`).

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    epsilon : float, default 1e-6
        Target suboptimality in reward units.
    max_iter : int, default 100_000
        Maximum number of Gauss-Seidel sweeps (the final certifying Jacobi backup is extra).
    v0 : array_like of shape (S,), optional

    Returns
    -------
    DiscountedResult
        ``v`` (S,) the midpoint of the MacQueen-Porteus bracket ``[v_lower, v_upper]`` of
        :math:`v^*` from the final Jacobi backup, ``v_error_bound`` its half-width; ``v_iterate``
        the last Gauss-Seidel iterate; ``residuals`` (n_iter,) per-sweep max change; ``policy``
        greedy for ``v_iterate``.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        Bad ``epsilon``, ``max_iter`` or ``v0``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.3.3.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    _check_scale_and_trace(mdp, gamma, v0, max_iter, 1, "gauss_seidel_value_iteration")
    tol = bounds.vi_norm_stopping_tol(epsilon, gamma)
    v = initial_v(mdp, v0)
    km = model_args(mdp)
    residuals = np.empty(max_iter)
    n, converged = bellman.gauss_seidel_loop(km, gamma, v, tol, max_iter, residuals)
    q, Tv, pi = greedy_backup(km, gamma, v)
    d = Tv - v
    return _certified_result(
        mdp, gamma, v_iterate=v, v_next=Tv, pi=pi, q1=q, dmin=d.min(), dmax=d.max(), n=n, converged=converged,
        residuals=residuals[:n].copy(), method="gauss_seidel_value_iteration",
        options=dict(epsilon=epsilon, max_iter=max_iter, tol=tol, v0_given=v0 is not None),
        t0=t0,
    )


def _single_entry_policy_iteration(mdp, gamma, pi, max_iter, tie_rtol):
    """PI loop in one kernel call when every row of the CSR ``P`` has exactly one stored entry.

    Same iterates, tie rule and outputs as the generic loop below (evaluation by
    :func:`mdpkit.policies.policy_evaluation` takes the same O(S) functional-graph route for such
    models); returns None for other models or if an evaluation is singular.
    """
    km = model_args(mdp)
    layout, mask1, S, A = km[0], km[6], km[7], km[8]
    if layout not in (CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT):
        return None
    pi = np.ascontiguousarray(pi, dtype=np.int64).copy()
    v = np.empty(S)
    q = np.empty(S * A)
    residuals = np.empty(max_iter)
    n_changed = np.empty(max_iter, dtype=np.int64)
    n, converged, ok = bellman.single_entry_policy_iteration_loop(
        km, gamma, tie_rtol, pi, v, q, max_iter, residuals, n_changed)
    if not ok:
        return None
    return v, q_matrix(q, mask1, S, A), pi, bool(converged), residuals[:n].copy(), n_changed[:n].copy()


def policy_iteration(
    mdp: TabularMDP,
    *,
    max_iter: int = 10_000,
    policy0=None,
    tie_rtol: float = 1e-12,
) -> DiscountedResult:
    r"""Howard's policy iteration with exact policy evaluation.

    Alternates exact evaluation :math:`v_k = (I-\gamma P_{\pi_k})^{-1} r_{\pi_k}` and greedy
    improvement.  Values increase monotonically and the method stops, after finitely many
    iterations, with an optimal policy (Puterman 1994, Prop. 6.4.1 and Thm 6.4.2).  An action
    is switched only when it improves :math:`q(s, \cdot)` by more than
    ``tie_rtol * (1 + max|v|)`` so floating-point noise cannot make it cycle among ties.  The
    returned bound is the a posteriori :math:`\|v^*-v_\pi\|_\infty \le \|Tv_\pi - v_\pi\|_\infty/(1-\gamma)`
    (:func:`mdpkit.bounds.residual_value_bound`).  On deterministic CSR models (one stored
    entry per row of ``P``) the whole loop runs in one compiled call, each evaluation solving the
    policy's functional graph exactly in O(S); iterates and outputs are the same.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    max_iter : int, default 10_000
        Maximum number of evaluation/improvement steps.
    policy0 : array_like of int, shape (S,), optional
        Initial policy; greedy for the zero value (i.e. for ``R``) if omitted.
    tie_rtol : float, default 1e-12
        Relative improvement threshold (see above), a finite number in ``[0, 1e-3]``
        (``TIE_RTOL_MAX``): nan or a large value would stop at an improvable policy with
        ``converged=True``, a negative one could cycle.

    Returns
    -------
    DiscountedResult
        ``v`` = ``v_policy`` (S,) exact value of the final policy, an estimate of :math:`v^*` with
        ``v_error_bound`` the residual bound; ``residuals`` (n_iter,) the Bellman residual
        :math:`\|Tv_{\pi_k}-v_{\pi_k}\|_\infty` of each evaluated policy; ``n_changed`` actions
        switched per iteration.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``, or ``max|R| / (1 - gamma)`` exceeds 1e300 (values would overflow).
    InvalidPolicyError
        If ``policy0`` is invalid.
    InvalidArgumentError
        Bad ``max_iter`` or ``tie_rtol``; trace arrays for ``max_iter`` above the memory limit.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` improvements happen without the policy becoming stable.

    References
    ----------
    .. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.4.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tie_rtol = check_real_option(tie_rtol, "tie_rtol", lo=0.0, hi=TIE_RTOL_MAX)
    _check_scale_and_trace(mdp, gamma, None, max_iter, 2, "policy_iteration")
    S = mdp.S
    pi = initial_policy(mdp, policy0)
    if pi is None:
        pi = np.argmax(np.where(mdp.action_mask, mdp.R, -np.inf), axis=1).astype(np.int64)
    fast = _single_entry_policy_iteration(mdp, gamma, pi, max_iter, tie_rtol)
    if fast is not None:
        v, q, pi, converged, res, changed = fast
        return _pi_result(mdp, gamma, v, q, pi, converged, res, changed, t0,
                          dict(max_iter=max_iter, tie_rtol=tie_rtol, policy0_given=policy0 is not None))
    residuals, changed = [], []
    converged = False
    for it in range(max_iter):
        v = policy_evaluation(mdp, pi)
        q = q_from_v(mdp, v)
        best = np.argmax(q, axis=1)
        cur = q[np.arange(S), pi]
        residuals.append(float(np.abs(q.max(axis=1) - v).max()))
        switch = q[np.arange(S), best] > cur + tie_rtol * (1.0 + np.abs(v).max())
        changed.append(int(switch.sum()))
        if not switch.any():
            converged = True
            break
        if it == max_iter - 1:
            break  # return the evaluated policy, so v, q and the bound all describe it
        pi = np.where(switch, best, pi).astype(np.int64)
    return _pi_result(mdp, gamma, v, q, pi, converged, np.asarray(residuals), np.asarray(changed, dtype=np.int64), t0,
                      dict(max_iter=max_iter, tie_rtol=tie_rtol, policy0_given=policy0 is not None))


def _pi_result(mdp, gamma, v, q, pi, converged, residuals, changed, t0, options):
    r"""Result of policy iteration: ``v`` is the exactly evaluated final policy's value.

    Its distance to :math:`v^*` is certified by the residual bound of that policy,
    :math:`\|v^*-v_\pi\|_\infty \le \|Tv_\pi-v_\pi\|_\infty/(1-\gamma)`, which is also the certificate.
    """
    cert = bounds.residual_value_bound(gamma, residuals[-1])
    return build_result(
        mdp, cls=DiscountedResult, v=v, v_error_bound=cert.value, policy=pi, certificate=cert,
        converged=converged, n_iter=len(residuals), residuals=residuals, method="policy_iteration",
        options=options, t0=t0, v_policy=v, q=q, n_changed=changed,
    )


def modified_policy_iteration(
    mdp: TabularMDP,
    *,
    epsilon: float = 1e-6,
    m: int = 20,
    max_iter: int = 100_000,
    v0=None,
    eval_rtol: float = 0.0,
) -> DiscountedResult:
    r"""Modified policy iteration (Puterman & Shin 1978).

    Each iteration applies one improvement backup :math:`u_0 = T v_k` with greedy policy
    :math:`\pi_k`, then ``m`` partial evaluation sweeps :math:`u_{j+1} = T_{\pi_k} u_j`;
    :math:`v_{k+1} = u_m` (Puterman 1994, Sec. 6.5).  ``m = 0`` is value iteration and
    ``m -> inf`` policy iteration.  Converges for any ``v0`` (Puterman 1994, Thm 6.5.5); the
    default ``v0 = min R / (1-gamma)`` satisfies :math:`Tv_0 \ge v_0`, which makes the iterates
    increase monotonically to :math:`v^*` (Thm 6.5.2).  Stops when
    :math:`\operatorname{sp}(Tv_k-v_k) < \varepsilon(1-\gamma)/\gamma`; the returned policy
    (greedy for :math:`v_k`) then satisfies the certified
    :math:`\|v^*-v_\pi\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(Tv_k - v_k) < \varepsilon`.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    epsilon : float, default 1e-6
        Target suboptimality in reward units.
    m : int, default 20
        Partial-evaluation sweeps per iteration (``m >= 0``); with ``eval_rtol > 0`` the most
        sweeps per iteration.
    eval_rtol : float, default 0.0
        Adaptive order: stop an iteration's partial evaluation after the first sweep whose change
        has span below ``eval_rtol * sp(T v_k - v_k)``.  ``0`` keeps exactly ``m`` sweeps.  Any
        order sequence ``0 <= m_k <= m`` keeps the convergence theorem (Puterman 1994,
        Thm 6.5.5 holds for an arbitrary order sequence) and the certificate, which is computed
        at the improvement step.
    max_iter : int, default 100_000
        Maximum number of improvement steps (each costs ``1 + m`` sweeps).
    v0 : array_like of shape (S,), optional

    Returns
    -------
    DiscountedResult
        ``v`` (S,) the midpoint of the MacQueen-Porteus bracket ``[v_lower, v_upper]`` of
        :math:`v^*`, ``v_error_bound`` its half-width (at most ``epsilon / 2`` on convergence);
        ``v_iterate`` the last iterate :math:`T v_k`, which the span rule can leave far from
        :math:`v^*`; ``residuals`` (n_iter,) the sup norms of :math:`Tv_k - v_k` and ``spans`` their
        spans; ``n_eval_sweeps`` the partial-evaluation sweeps done.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        Bad ``epsilon``, ``m``, ``max_iter`` or ``v0``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.

    References
    ----------
    .. [1] M. L. Puterman and M. C. Shin, "Modified policy iteration algorithms for discounted
       Markov decision problems", Management Science 24(11), 1978.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.5.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    m = check_int(m, "m", minimum=0)
    eval_rtol = check_positive(eval_rtol, "eval_rtol", allow_zero=True)
    _check_scale_and_trace(mdp, gamma, v0, max_iter, 2, "modified_policy_iteration")
    tol = bounds.span_stopping_tol(epsilon, gamma)
    if v0 is None:
        rmin = mdp.reward_range[0]
        v = np.full(mdp.S, rmin / (1.0 - gamma))
    else:
        v = initial_v(mdp, v0)
    km = model_args(mdp)
    q, v_new, pi = backup_buffers(km)
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    n_eval = np.zeros(1, dtype=np.int64)
    n, converged = bellman.modified_policy_iteration_loop(
        km, gamma, v, tol, m, eval_rtol, max_iter, q, v_new, pi, residuals, spans, dmm, n_eval
    )
    if not converged:
        # v was moved on by the partial sweeps after the last test: certify it afresh
        bellman.bellman_q(km, gamma, v, q)
        bellman.greedy_max(km, q, v_new, pi)
        d = v_new - v
        dmm[:] = d.min(), d.max()
        v = v_new.copy()
    return _certified_result(
        mdp, gamma, v_iterate=v, v_next=v, pi=pi, q1=q, dmin=dmm[0], dmax=dmm[1], n=n, converged=converged,
        residuals=residuals[:n].copy(), method="modified_policy_iteration",
        options=dict(epsilon=epsilon, m=m, eval_rtol=eval_rtol, max_iter=max_iter, tol=tol, v0_given=v0 is not None),
        t0=t0, spans=spans[:n].copy(), n_eval_sweeps=int(n_eval[0]),
    )

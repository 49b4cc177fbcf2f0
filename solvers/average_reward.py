r"""Average-reward (gain) optimality: relative value iteration.

The gain of a policy is :math:`g_\pi(s) = \lim_N \frac1N E_\pi[\sum_{t<N} R(s_t, a_t)]`; when the
optimal gain :math:`g^*` is constant (unichain or weakly communicating models) it solves, with a
relative value (bias) :math:`h`, the optimality equation
:math:`h(s) + g^* = \max_a R(s,a) + \sum_{s'} P(s'|s,a) h(s')` (Puterman 1994, Sec. 8.4).
Structure queries (closed classes, unichain checks) live in :mod:`mdpkit.structure`.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError, MultichainError
from mdpkit._kernels import backup_buffers, bellman, model_args
from mdpkit._validation import check_int, check_memory, check_positive, check_value_scale
from mdpkit.model import TabularMDP
from mdpkit.results import AverageRewardResult
from mdpkit.structure import closed_classes  # also the old import path mdpkit.solvers.closed_classes

from ._common import build_result, check_common, check_mdp, initial_v

__all__ = ["relative_value_iteration"]


# Above this many flops (rows^2 * S) the exact delta coefficient of the transformed model is
# replaced by the cheaper column-minimum upper bound (O(nnz)).
_EXACT_DELTA_FLOPS = 2e7


def _transformed_delta(mdp: TabularMDP, tau: float) -> tuple[float, str]:
    r"""An upper bound on the delta coefficient of :math:`\tilde P = \tau P + (1-\tau) I`.

    Exact (:func:`mdpkit.bounds.span_contraction_coefficient`, O(rows^2 S)) on small models;
    otherwise :math:`1 - \sum_j \min_{(s,a)} \tilde P(j|s,a)` (O(nnz)), which is never smaller,
    since the overlap of any two rows is at least the sum of the column minima.
    """
    import scipy.sparse as sp

    S, A = mdp.S, mdp.A
    rows = np.flatnonzero(mdp.action_mask.reshape(-1))
    n = rows.size
    diag = sp.csr_matrix((np.full(n, 1.0 - tau), (np.arange(n), rows // A)), shape=(n, S))
    if float(n) * n * S <= _EXACT_DELTA_FLOPS:
        Pr = mdp.P_rows[rows]
        Pt = tau * (Pr.toarray() if sp.issparse(Pr) else np.asarray(Pr)) + diag.toarray()
        return bounds.span_contraction_coefficient(Pt, max_rows=max(n, 1)), "exact delta coefficient"
    if mdp.is_sparse:
        Pt = sp.csr_matrix(tau * sp.csr_matrix(mdp.P_rows[rows]) + diag)
        colmin = np.asarray(Pt.min(axis=0).todense()).ravel()
    else:
        Pt = tau * np.asarray(mdp.P_rows)[rows]
        Pt[np.arange(n), rows // A] += 1.0 - tau
        colmin = Pt.min(axis=0)
    return float(min(max(1.0 - colmin.sum(), 0.0), 1.0)), "column-minimum bound on the delta coefficient"


def _policy_relative_value(mdp: TabularMDP, policy, ref_state: int = 0) -> tuple[np.ndarray, float]:
    r"""Exact relative value and gain of a unichain deterministic policy.

    Solves :math:`h + g\mathbf 1 = r_\pi + P_\pi h` with :math:`h(\text{ref}) = 0`: the matrix
    :math:`I - P_\pi` with column ``ref`` replaced by ones is non-singular iff :math:`P_\pi` is
    unichain (Puterman 1994, Sec. 8.2.3 and A.5), and the solution is the policy's bias shifted
    to vanish at ``ref``.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like of int, shape (S,)
    ref_state : int, default 0

    Returns
    -------
    h : ndarray of float64, shape (S,)
        ``h[ref_state] == 0``.
    g : float
        The policy's gain.

    Raises
    ------
    MultichainError
        If the policy has more than one recurrent class (:func:`mdpkit.structure.closed_classes`).
    """
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    from mdpkit.policies import check_policy

    pi = check_policy(mdp, policy)
    classes = closed_classes(mdp, pi)
    if len(classes) > 1:
        raise MultichainError(
            f"the policy has {len(classes)} recurrent classes (e.g. containing states {classes[0][0]} and "
            f"{classes[1][0]}): its gain depends on the state and its relative value is not defined"
        )
    S, A = mdp.S, mdp.A
    rows = np.arange(S) * A + pi
    r = np.asarray(mdp.R).reshape(-1)[rows]
    if mdp.is_sparse:
        M = sp.lil_matrix(sp.identity(S, format="csr") - sp.csr_matrix(mdp.P_rows[rows]))
        M[:, ref_state] = np.ones((S, 1))
        x = spla.spsolve(sp.csc_matrix(M), r)
    else:
        M = np.eye(S) - np.asarray(mdp.P_rows[rows])
        M[:, ref_state] = 1.0
        x = np.linalg.solve(M, r)
    g = float(x[ref_state])
    h = np.asarray(x, dtype=np.float64).copy()
    h[ref_state] = 0.0
    return h, g


def relative_value_iteration(
    mdp: TabularMDP,
    *,
    epsilon: float = 1e-6,
    tau: float = 0.5,
    ref_state: int = 0,
    max_iter: int = 100_000,
    v0=None,
) -> AverageRewardResult:
    r"""Relative value iteration for the average-reward criterion, with gain and relative value.

    Runs :math:`w_{k+1} = \tilde T w_k - (\tilde T w_k)(s_{\text{ref}})` on the
    aperiodicity-transformed model :math:`\tilde P = \tau P + (1-\tau) I`, :math:`\tilde R = R`,
    which has the same gain and optimal policies, relative values :math:`h = \tau \tilde h`, and
    an aperiodic chain under every policy (Puterman 1994, Sec. 8.5.4-8.5.5).  Stops when
    :math:`\operatorname{sp}(\tilde T w - w) < \varepsilon`; then
    :math:`\min(\tilde T w - w) \le g_\pi \le g^* \le \max(\tilde T w - w)`
    (:func:`mdpkit.bounds.gain_bracket`), so the greedy policy is :math:`\varepsilon`-gain-optimal.
    ``gamma`` of the model is ignored.

    Parameters
    ----------
    mdp : TabularMDP
        ``P`` (S, A, S) or CSR (S*A, S); ``R`` (S, A).  Must not have two closed classes
        (:func:`mdpkit.structure.closed_classes`).
    epsilon : float, default 1e-6
        Target gain suboptimality, reward units per step.
    tau : float in (0, 1], default 0.5
        Aperiodicity transform weight (``tau = 1`` means no transform).
    ref_state : int, default 0
        State whose relative value is pinned to 0.
    max_iter : int, default 100_000
        Maximum number of backups.
    v0 : array_like (S,), optional
        Initial iterate :math:`w_0` (of the transformed model); zeros if omitted.

    Returns
    -------
    AverageRewardResult
        ``gain`` the midpoint of the certified bracket ``[gain_lower, gain_upper]`` on
        :math:`g^*` (reward per step); ``certificate`` the certified gain gap
        :math:`g^* - g_\pi \le` ``gain_upper - gain_lower``; ``policy`` (S,) int64 greedy for
        the last iterate; ``residuals`` (n_iter,) the spans
        :math:`\operatorname{sp}(\tilde Tw_k-w_k)`.

        ``v`` (S,) float64 is the estimate of the relative value :math:`h^*`: the solution of the
        optimality equation :math:`h + g^* = \max_a [R + P h]` normalised by
        :math:`h^*(s_{\text{ref}}) = 0` (it is the bias of the optimal policy up to an additive
        constant).  ``v[ref_state] == 0``.  ``v_error_bound`` certifies
        :math:`\|v - h^*\|_\infty \le \tau\operatorname{sp}(\tilde Tw-w)/(1-\delta)` with
        :math:`\delta` the delta (span-contraction) coefficient of :math:`\tilde P`, computed
        exactly on small models and bounded by its column-minimum form on large ones (fields
        ``delta`` and ``delta_route``).  When :math:`\delta = 1` (e.g. a
        sparse or nearly-deterministic model) ``v_error_bound`` is ``inf``: the span residual
        then bounds the gain but not the relative value (:math:`h^*` need not even be unique up
        to a constant: with several optimal recurrent classes the optimality equation has
        several normalised solutions).  ``v_iterate`` the raw iterate :math:`w` (untransformed
        scale, ``v = tau * (w - w[ref])``).  ``v_policy`` (computed on first access): the exact
        relative value of ``policy``, the solution of :math:`h + g_\pi = r_\pi + P_\pi h`,
        :math:`h(s_{\text{ref}}) = 0`; accessing it raises ``MultichainError`` if the policy has
        two recurrent classes.

    Raises
    ------
    MultichainError
        If the model has two or more closed classes (the optimal gain may differ by state and
        RVI does not apply); the message names one state of each.
    InvalidArgumentError
        Bad ``epsilon``, ``tau``, ``ref_state``, ``max_iter`` or ``v0``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached, e.g. on a model that is not weakly communicating
        (:func:`mdpkit.structure.is_weakly_communicating`), whose optimal gain can depend on the
        state, or with ``tau = 1`` on a periodic chain; the bracket still holds state-wise.

    Notes
    -----
    Cost per backup O(S^2 A) dense, O(nnz(P)) CSR; the delta coefficient costs O(rows^2 S) when
    ``rows^2 S <= 2e7`` (rows = available state-action pairs), else O(nnz(P)).

    References
    ----------
    .. [1] D. J. White, "Dynamic programming, Markov chains, and the method of successive
       approximations", J. Math. Anal. Appl. 6, 1963.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.6, 8.4 and 8.5.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    epsilon, max_iter = check_common(epsilon, max_iter)
    tau = check_positive(tau, "tau")
    if tau > 1.0:
        raise InvalidArgumentError(f"tau must lie in (0, 1], got {tau}")
    ref = check_int(ref_state, "ref_state", minimum=0)
    if ref >= mdp.S:
        raise InvalidArgumentError(f"ref_state must be < S={mdp.S}, got {ref}")
    # relative values are differences of partial sums of rewards: keep max|R| far from overflow
    check_value_scale(mdp.R, 0.999, mask=mdp.action_mask)
    check_memory(8.0 * max_iter, f"relative_value_iteration with max_iter={max_iter:,} (trace array)")
    classes = closed_classes(mdp)
    if len(classes) > 1:
        raise MultichainError(
            f"the model has {len(classes)} closed classes (e.g. states {classes[0][0]} and {classes[1][0]} "
            "can never reach each other under any policy): it is multichain and the optimal gain may differ "
            "by state; relative value iteration needs a unichain or communicating model"
        )
    v = initial_v(mdp, v0)
    km = model_args(mdp)
    q, v_new, pi = backup_buffers(km)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    n, converged = bellman.relative_value_iteration_loop(km, tau, ref, v, epsilon, max_iter, q, v_new, pi, spans, dmm)
    cert = bounds.gain_bracket(dmm[0], dmm[1])
    w = v.copy()
    h = tau * (v - v[ref])
    delta, delta_route = _transformed_delta(mdp, tau)
    v_err = bounds.rvi_relative_value_bound(tau, dmm[1] - dmm[0], delta).value
    if np.isfinite(v_err):  # rounding in the backups that produced w and d
        scale = tau * float(np.abs(w).max()) + float(np.abs(mdp.R).max()) + float(np.abs(h).max())
        v_err += (mdp.S + 8) * float(np.finfo(float).eps) * scale / (1.0 - delta)
    res = build_result(
        mdp,
        cls=AverageRewardResult,
        v=h,
        v_error_bound=v_err,
        policy=pi,
        certificate=cert,
        converged=converged,
        n_iter=n,
        residuals=spans[:n].copy(),
        method="relative_value_iteration",
        options=dict(epsilon=epsilon, tau=tau, ref_state=ref, max_iter=max_iter, v0_given=v0 is not None),
        t0=t0,
        v_iterate=w,
        gain=0.5 * (float(dmm[0]) + float(dmm[1])),
        gain_lower=float(dmm[0]),
        gain_upper=float(dmm[1]),
        delta=float(delta),
        delta_route=delta_route,
        # v_policy: the policy's relative value pinned at ref (average-reward evaluation)
        policy_evaluator=functools.partial(_policy_relative_value_only, mdp, pi, ref),
    )
    return res


def _policy_relative_value_only(mdp, pi, ref):
    """The relative value of ``pi`` pinned at ``ref`` (a module-level function so results pickle)."""
    return _policy_relative_value(mdp, pi, ref)[0]

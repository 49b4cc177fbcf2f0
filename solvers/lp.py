r"""Linear-programming solution of discounted MDPs (primal values, dual occupancy measures)."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import as_float_array, check_gamma, check_value_scale
from mdpkit.model import TabularMDP
from mdpkit.policies import bellman_operator
from mdpkit.results import LPResult, Status

from ._common import bracket_midpoint, build_result, check_mdp

__all__ = ["linear_programming"]


def linear_programming(
    mdp: TabularMDP,
    *,
    mu0=None,
    solver: str | None = None,
    solver_options: dict | None = None,
) -> LPResult:
    r"""Solve a discounted MDP as a linear program with cvxpy.

    Primal (Puterman 1994, Sec. 6.9, Eq. 6.9.1):

    .. math:: \min_v \ \mu_0^\top v \quad\text{s.t.}\quad
              v(s) \ge R(s,a) + \gamma \textstyle\sum_{s'} P(s'|s,a) v(s') \ \ \forall (s, a) \text{ available},

    whose solution is :math:`v^*` for any :math:`\mu_0 > 0`.  Dual: occupancy measures
    :math:`x(s,a) \ge 0` with :math:`\sum_a x(s',a) - \gamma\sum_{s,a} P(s'|s,a) x(s,a) = \mu_0(s')`;
    an optimal dual gives an optimal policy :math:`\pi(s) = \arg\max_a x(s,a)` (Thm 6.9.4).
    The returned ``policy`` is greedy for the primal solution and certified from one exact
    Bellman backup of it, :math:`\|v^*-v_\pi\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(Tv-v)`,
    so solver tolerances show up in the certificate rather than being trusted; ``v`` is the
    midpoint of the MacQueen-Porteus bracket from that backup, certified to ``v_error_bound``.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    mu0 : array_like (S,), optional
        Positive initial-state weights of the primal objective (the dual's occupancy measure is
        the one started from ``mu0``); uniform ``1/S`` if omitted.  Not ``mdp.mu0``, which may
        have zeros: with a zero weight the primal need not give :math:`v^*` in that state.
    solver : str, optional
        A cvxpy solver name (e.g. ``"HIGHS"``, ``"CLARABEL"``); cvxpy's default if omitted.
    solver_options : dict, optional
        Keyword arguments passed to ``cvxpy.Problem.solve``.

    Returns
    -------
    LPResult
        ``v`` (S,) estimate of :math:`v^*` within ``v_error_bound``; ``v_iterate`` the primal
        solution; ``occupancy`` (S, A) dual solution :math:`x` (zero on masked actions);
        ``dual_policy`` (S,) int64 argmax of :math:`x`; ``objective``; ``lp_solver``;
        ``residuals`` holds the single :math:`\|Tv-v\|_\infty` of the primal solution.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        If ``mu0`` is not positive with shape (S,).
    RuntimeError
        If the LP solver does not report an optimal (or optimal_inaccurate) status.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.9.
    .. [2] F. d'Epenoux, "A probabilistic production and inventory problem", Management
       Science 10(1), 1963.
    """
    t0 = time.perf_counter()
    import cvxpy as cp  # lazy

    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    check_value_scale(mdp.R, gamma, mask=mdp.action_mask)
    S, A = mdp.S, mdp.A
    if mu0 is None:
        w = np.full(S, 1.0 / S)
    else:
        w = as_float_array(mu0, "mu0", 1, exc=InvalidArgumentError)
        if w.shape != (S,) or not np.all(w > 0):
            raise InvalidArgumentError(f"mu0 must be a positive array of shape (S,) = ({S},)")
    avail = np.flatnonzero(mdp.action_mask.ravel())
    E = sp.csr_matrix((np.ones(avail.size), (np.arange(avail.size), avail // A)), shape=(avail.size, S))
    M = (E - gamma * sp.csr_matrix(mdp.P_rows)[avail]).tocsr()
    v_var = cp.Variable(S)
    cons = [M @ v_var >= mdp.R.ravel()[avail]]
    prob = cp.Problem(cp.Minimize(w @ v_var), cons)
    prob.solve(solver=solver, **dict(solver_options or {}))
    if v_var.value is None or prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"the LP solver returned status {prob.status!r}")
    v = np.asarray(v_var.value, dtype=float)
    x = np.zeros(S * A)
    x[avail] = np.asarray(cons[0].dual_value, dtype=float)
    x = x.reshape(S, A)
    dual_pi = np.argmax(np.where(mdp.action_mask, x, -np.inf), axis=1).astype(np.int64)
    Tv, pi = bellman_operator(mdp, v)
    d = Tv - v
    bound = bounds.greedy_span_bound(gamma, float(d.max() - d.min()))
    lo, hi = bounds.macqueen_bounds(gamma, Tv, d.min(), d.max())
    v_mid, v_err = bracket_midpoint(lo, hi)
    return build_result(
        mdp,
        cls=LPResult,
        v=v_mid,
        v_error_bound=v_err,
        policy=pi,
        certificate=bound,
        converged=True,
        n_iter=1,
        residuals=np.array([float(np.abs(d).max())]),
        method="linear_programming",
        options=dict(mu0_given=mu0 is not None, solver=solver, solver_options=dict(solver_options or {})),
        t0=t0,
        status=Status.CONVERGED,
        message=(f"LP solved ({prob.solver_stats.solver_name}, status {prob.status}); certified suboptimality "
                 f"<= {bound.value:.3g}; |v - v*| <= {v_err:.3g}"),
        v_iterate=v,
        v_lower=lo,
        v_upper=hi,
        occupancy=x,
        dual_policy=dual_pi,
        objective=float(prob.value),
        lp_solver=prob.solver_stats.solver_name,
    )

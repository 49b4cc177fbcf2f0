r"""Linear-programming solution of discounted MDPs (primal values, dual occupancy measures)."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import as_float_array, check_gamma
from mdpkit.model import TabularMDP
from mdpkit.policies import bellman_operator
from mdpkit.results import SolveResult, Status

from ._common import legacy_build_result as build_result, check_mdp, resolve_evaluate

__all__ = ["linear_programming"]


def linear_programming(
    mdp: TabularMDP,
    *,
    alpha=None,
    solver: str | None = None,
    evaluate_policy: bool | None = None,
    solver_options: dict | None = None,
) -> SolveResult:
    r"""Solve a discounted MDP as a linear program with cvxpy.

    Primal (Puterman 1994, Sec. 6.9, Eq. 6.9.1):

    .. math:: \min_v \ \alpha^\top v \quad\text{s.t.}\quad
              v(s) \ge R(s,a) + \gamma \textstyle\sum_{s'} P(s'|s,a) v(s') \ \ \forall (s, a) \text{ available},

    whose solution is :math:`v^*` for any :math:`\alpha > 0`.  Dual: occupancy measures
    :math:`x(s,a) \ge 0` with :math:`\sum_a x(s',a) - \gamma\sum_{s,a} P(s'|s,a) x(s,a) = \alpha(s')`;
    an optimal dual gives an optimal policy :math:`\pi(s) = \arg\max_a x(s,a)` (Thm 6.9.4).
    The returned ``policy`` is greedy for the primal solution and certified from one exact
    Bellman backup of it, :math:`\|v^*-v_\pi\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(Tv-v)`,
    so solver tolerances show up in ``error_bound`` rather than being trusted.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    alpha : array_like (S,), optional
        Positive state weights; uniform ``1/S`` if omitted.
    solver : str, optional
        A cvxpy solver name (e.g. ``"HIGHS"``, ``"CLARABEL"``); cvxpy's default if omitted.
    evaluate_policy : bool, optional
        Compute ``v_policy`` exactly; default True when ``S <= 10_000``.
    solver_options : dict, optional
        Keyword arguments passed to ``cvxpy.Problem.solve``.

    Returns
    -------
    SolveResult
        ``v`` (S,) primal solution; ``extra["occupancy"]`` (S, A) dual solution :math:`x`
        (zero on masked actions); ``extra["dual_policy"]`` (S,) argmax of :math:`x`;
        ``extra["objective"]``; ``extra["solver"]``; ``residuals`` holds the single
        :math:`\|Tv-v\|_\infty`.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        If ``alpha`` is not positive with shape (S,).
    RuntimeError
        If the LP solver does not report an optimal (or optimal_inaccurate) status.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.9.
    .. [2] F. d'Epenoux, "A probabilistic production and inventory problem", Management
       Science 10(1), 1963.
    """
    import cvxpy as cp  # lazy

    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    S, A = mdp.S, mdp.A
    if alpha is None:
        w = np.full(S, 1.0 / S)
    else:
        w = as_float_array(alpha, "alpha", 1, exc=InvalidArgumentError)
        if w.shape != (S,) or np.any(w <= 0):
            raise InvalidArgumentError(f"alpha must be a positive array of shape (S,) = ({S},)")
    evaluate = resolve_evaluate(mdp, evaluate_policy)
    t0 = time.perf_counter()
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
    return build_result(
        mdp,
        v=v,
        policy=pi,
        converged=True,
        n_iter=1,
        residuals=np.array([float(np.abs(d).max())]),
        bound=bound,
        method="linear_programming",
        options=dict(alpha_given=alpha is not None, solver=solver, solver_options=dict(solver_options or {})),
        wall_time=time.perf_counter() - t0,
        evaluate=evaluate,
        v_lower=lo,
        v_upper=hi,
        status=Status.CONVERGED,
        message=f"LP solved ({prob.solver_stats.solver_name}, status {prob.status}); certified suboptimality <= {bound.value:.3g}",
        extra={"occupancy": x, "dual_policy": dual_pi, "objective": float(prob.value), "solver": prob.solver_stats.solver_name},
    )

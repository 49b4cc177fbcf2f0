r"""Constrained MDPs: the occupancy-measure LP (ground truth, with Lagrange multipliers), and the
Lagrangian primal-dual method in plain (GDA) and optimistic (ReLOAD) form, traced exactly.

Problem (Altman 1999, *Constrained Markov Decision Processes*, Ch. 3): with costs ``C (m, S, A)``
and budgets ``b (m,)``,

.. math:: \max_\pi V_R^\pi(\mu) \quad\text{s.t.}\quad V_{C_i}^\pi(\mu)\le b_i,\ i=1..m,

values unnormalized (:math:`V^\pi_C(\mu)=\mathbb{E}\sum_t\gamma^tC(s_t,a_t)`).  Optimal policies
may need randomization; the LP over occupancy measures finds one exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import as_float_array, check_gamma, check_int
from mdpkit.occupancy import masked_softmax, policy_quantities, validate_distribution
from mdpkit.policies import policy_evaluation, policy_matrices
from mdpkit.results import SolveResult

from ._common import build_result, check_mdp
from ._registry import SolverSpec, register_solver

__all__ = [
    "CMDPResult",
    "InfeasibleCMDPError",
    "PrimalDualResult",
    "cmdp_linear_programming",
    "cmdp_primal_dual",
    "constraint_values",
]


class InfeasibleCMDPError(InvalidArgumentError):
    r"""No policy meets the budgets.  Carries a Farkas-type certificate from the phase-one LP:

    Attributes
    ----------
    weights : ndarray (m,)
        :math:`w\ge0`, :math:`\sum w=1`.
    value : ndarray (S,)
        :math:`u` with :math:`u(s)\le w^\top C(s,a)+\gamma\sum_{s'}P(s'|s,a)u(s')` for every
        available :math:`(s,a)`: then every policy has :math:`w^\top V_C^\pi(\mu)\ge\mu^\top u`.
    gap : float
        :math:`\mu^\top u - w^\top b > 0`: the weighted cost every policy pays above budget.
    dual_residual : float
        Largest violation of the inequality on ``value`` (LP round-off; ``gap`` exceeds
        ``dual_residual/(1-gamma)`` whenever the certificate is conclusive).
    """

    def __init__(self, message, *, weights, value, gap, dual_residual):
        super().__init__(message)
        self.weights = weights
        self.value = value
        self.gap = gap
        self.dual_residual = dual_residual


def _check_costs(mdp, costs, budgets):
    C = as_float_array(costs, "costs", (2, 3), exc=InvalidArgumentError)
    if C.ndim == 2:
        C = C[None]
    if C.shape[1:] != (mdp.S, mdp.A):
        raise InvalidArgumentError(f"costs must have shape (S, A) or (m, S, A) with (S, A) = ({mdp.S}, {mdp.A}), got {C.shape}")
    b = as_float_array(np.atleast_1d(np.asarray(budgets, dtype=object)).astype(float), "budgets", 1, exc=InvalidArgumentError)
    if b.shape != (C.shape[0],):
        raise InvalidArgumentError(f"budgets must have shape (m,) = ({C.shape[0]},), got {b.shape}")
    return np.ascontiguousarray(C), b


def constraint_values(mdp, policy, costs, mu=None) -> np.ndarray:
    r""":math:`V_{C_i}^\pi(\mu)` for each cost, shape (m,), by exact linear solves."""
    C, _ = _check_costs(mdp, costs, np.zeros(np.asarray(costs).shape[0] if np.ndim(costs) == 3 else 1))
    m = validate_distribution(mdp, mu)
    P_pi, _ = policy_matrices(mdp, policy)
    pi = np.asarray(policy, dtype=float)
    if pi.ndim == 1:
        pi1 = np.zeros((mdp.S, mdp.A))
        pi1[np.arange(mdp.S), pi.astype(int)] = 1.0
        pi = pi1
    from mdpkit.policies import solve_policy_system

    return np.array([float(m @ solve_policy_system(P_pi, np.sum(pi * Ci, axis=1), mdp.gamma)) for Ci in C])


@dataclass(frozen=True, eq=False, repr=False)
class CMDPResult(SolveResult):
    r"""Occupancy-measure LP solution of a CMDP.

    Attributes
    ----------
    policy : ndarray (S, A)
        The (randomized) optimal policy :math:`\pi(a|s)=x(s,a)/\sum_{a'}x(s,a')` (uniform over
        available actions where :math:`x(s,\cdot)=0`); ``v`` is its exact reward value.
    occupancy : ndarray (S, A)
        Unnormalized discounted occupancy :math:`x` (sums to :math:`1/(1-\gamma)`).
    multipliers : ndarray (m,)
        Lagrange multipliers :math:`\lambda\ge0` of the budget constraints (LP duals).
    dual_value : ndarray (S,)
        Dual variables of the flow constraints: the optimal value of the Lagrangian MDP
        :math:`R-\lambda^\top C`.
    objective : float
        :math:`V_R^\pi(\mu)` of the returned policy, exact.
    upper_bound : float
        Certified upper bound on the CMDP optimum from the dual (weak duality, with the dual
        residual added).
    constraint_values : ndarray (m,)
        :math:`V_{C_i}^\pi(\mu)` of the returned policy, exact.
    budgets : ndarray (m,)
    max_violation : float
        :math:`\max_i(V_{C_i}^\pi(\mu)-b_i)^+` (LP round-off only).
    """

    occupancy: np.ndarray | None = None
    multipliers: np.ndarray | None = None
    dual_value: np.ndarray | None = None
    objective: float = math.nan
    upper_bound: float = math.nan
    constraint_values: np.ndarray | None = None
    budgets: np.ndarray | None = None
    max_violation: float = math.nan


def _flow_matrix(mdp):
    S, A = mdp.S, mdp.A
    E = np.zeros((S, S * A))
    E[np.repeat(np.arange(S), A), np.arange(S * A)] = 1.0
    Prow = mdp.P_dense().reshape(S * A, S)
    return E - mdp.gamma * Prow.T


def cmdp_linear_programming(mdp, *, costs, budgets, mu=None) -> CMDPResult:
    r"""Solve a CMDP exactly by the occupancy-measure LP (Altman 1999, Thm 3.3; scipy HiGHS).

    .. math:: \max_{x\ge0} \sum_{s,a}R(s,a)x(s,a)\ \ \text{s.t.}\ \
              \sum_a x(s',a)-\gamma\sum_{s,a}P(s'|s,a)x(s,a)=\mu(s'),\ \
              \sum_{s,a}C_i(s,a)x(s,a)\le b_i.

    The duals of the budget rows are the Lagrange multipliers :math:`\lambda^*` and strong duality
    :math:`\max_\pi\min_{\lambda\ge0}L=\min_{\lambda\ge0}\max_\pi L` holds (Altman 1999, Thm 3.6;
    numbers not checked against the text).  ``certificate`` is ``upper_bound - objective``: the
    certified optimality gap of the returned policy.

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    costs : array_like (S, A) or (m, S, A)
    budgets : float or array_like (m,)
    mu : array_like (S,), optional
        Start distribution (``mdp.mu0``).

    Raises
    ------
    InfeasibleCMDPError
        No policy meets the budgets; carries the phase-one LP's certificate.
    InvalidArgumentError
        Bad shapes or distributions.
    RuntimeError
        HiGHS fails for another reason.
    """
    from scipy.optimize import linprog

    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    C, b = _check_costs(mdp, costs, budgets)
    m = validate_distribution(mdp, mu)
    S, A = mdp.S, mdp.A
    F = _flow_matrix(mdp)
    avail = mdp.action_mask.ravel()
    bnds = [(0.0, None) if ok else (0.0, 0.0) for ok in avail]
    res = linprog(-mdp.R.ravel() * avail, A_ub=C.reshape(len(b), -1), b_ub=b, A_eq=F, b_eq=m, bounds=bnds,
                  method="highs")
    if res.status == 2:
        _raise_infeasible(mdp, C, b, m, F, bnds)
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the CMDP LP: {res.message}")
    x = np.maximum(res.x, 0.0).reshape(S, A)
    lam = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0)
    u = -np.asarray(res.eqlin.marginals, dtype=float)
    rowsum = x.sum(axis=1, keepdims=True)
    unif = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    pi = np.where(rowsum > 1e-300, x / np.where(rowsum > 0, rowsum, 1.0), unif)
    pi = np.where(mdp.action_mask, pi, 0.0)
    pi /= pi.sum(axis=1, keepdims=True)
    v = policy_evaluation(mdp, pi)
    P_pi, r_pi = policy_matrices(mdp, pi)
    v_err = float(np.max(np.abs(r_pi + g * (P_pi @ v) - v))) / (1.0 - g) + 8 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(v))))
    cv = constraint_values(mdp, pi, C, m)
    # weak duality: for any feasible pi, V_R(mu) <= mu.u' + lam.b with u' = u + delta/(1-g) dual feasible
    lag = np.where(mdp.action_mask, mdp.R - np.tensordot(lam, C, axes=1) + g * (mdp.P_dense() @ u) - u[:, None], -np.inf)
    delta = max(float(np.max(lag)), 0.0)
    upper = float(m @ u + lam @ b + delta / (1.0 - g))
    obj = float(m @ v)
    cert = bounds.Bound(value=max(upper - obj, 0.0) + v_err, kind=bounds.BoundKind.DETERMINISTIC,
                        citation="LP weak duality for the occupancy-measure LP (Altman 1999, Ch. 3)",
                        assumptions=("gamma < 1", "returned policy feasible up to max_violation"),
                        statement="OPT - V_R^pi(mu) <= mu.u + lambda.b + delta/(1-gamma) - V_R^pi(mu)")
    viol = max(float(np.max(cv - b)), 0.0)
    return build_result(
        mdp, cls=CMDPResult, v=v, v_error_bound=v_err, policy=np.ascontiguousarray(pi), certificate=cert,
        converged=True, n_iter=1, residuals=np.array([viol]), method="cmdp_linear_programming",
        options=dict(costs_given=True, budgets_given=True, mu_given=mu is not None), t0=t0, v_policy=v.copy(),
        message=f"CMDP LP solved (HiGHS); objective {obj:.6g}, certified gap <= {cert.value:.3g}, violation {viol:.3g}",
        occupancy=x, multipliers=lam, dual_value=u, objective=obj, upper_bound=upper, constraint_values=cv,
        budgets=b, max_violation=viol)


def _raise_infeasible(mdp, C, b, m, F, bnds):
    """Phase one: min t s.t. C x - b <= t 1, flow; t* > 0 proves infeasibility; its duals are the certificate."""
    from scipy.optimize import linprog

    k = len(b)
    n = F.shape[1]
    c = np.zeros(n + 1)
    c[-1] = 1.0
    A_ub = np.hstack([C.reshape(k, -1), -np.ones((k, 1))])
    res = linprog(c, A_ub=A_ub, b_ub=b, A_eq=np.hstack([F, np.zeros((F.shape[0], 1))]), b_eq=m,
                  bounds=list(bnds) + [(None, None)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the CMDP phase-one LP: {res.message}")
    w = np.maximum(-np.asarray(res.ineqlin.marginals, dtype=float), 0.0)
    w = w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)
    u = np.asarray(res.eqlin.marginals, dtype=float)
    g = mdp.gamma
    lhs = u[:, None] - (np.tensordot(w, C, axes=1) + g * (mdp.P_dense() @ u))
    resid = max(float(np.max(np.where(mdp.action_mask, lhs, -np.inf))), 0.0)
    gap = float(m @ u - w @ b)
    raise InfeasibleCMDPError(
        f"the CMDP is infeasible: every policy has w.V_C(mu) >= {m @ u:.6g} > w.b = {w @ b:.6g} "
        f"(weights w = {np.array2string(w, precision=4)}; minimal excess over budget t* = {res.x[-1]:.6g})",
        weights=w, value=u, gap=gap, dual_residual=resid)


@dataclass(frozen=True, eq=False, repr=False)
class PrimalDualResult(SolveResult):
    r"""Lagrangian primal-dual run (GDA or ReLOAD), traced exactly per iteration.

    Attributes
    ----------
    policy : ndarray (S, A)
        Last policy iterate (``v`` its exact reward value).
    reward_values : ndarray (n_iter+1,)
        :math:`V_R^{\pi_t}(\mu)`.
    cost_values : ndarray (n_iter+1, m)
        :math:`V_C^{\pi_t}(\mu)`.
    violation : ndarray (n_iter+1,)
        :math:`\max_i(V_{C_i}^{\pi_t}(\mu)-b_i)^+`.
    optimality_gap : ndarray (n_iter+1,)
        :math:`|OPT - V_R^{\pi_t}(\mu)|` with OPT from :func:`cmdp_linear_programming`.
    multipliers : ndarray (n_iter+1, m)
        :math:`\lambda_t`.
    lp_objective : float
        OPT.
    lp_multipliers : ndarray (m,)
    variant : str
        ``"gda"`` or ``"reload"``.
    average_policy : ndarray (S, A)
        The policy whose occupancy is the average of the iterates' occupancies (the averaged
        iterate of the primal-dual analysis; mixtures of occupancies are occupancies).
    average_reward_value : float
        :math:`V_R(\mu)` of ``average_policy`` (exact).
    average_cost_values : ndarray (m,)
        :math:`V_C(\mu)` of ``average_policy`` (exact).
    """

    reward_values: np.ndarray | None = None
    cost_values: np.ndarray | None = None
    violation: np.ndarray | None = None
    optimality_gap: np.ndarray | None = None
    multipliers: np.ndarray | None = None
    lp_objective: float = math.nan
    lp_multipliers: np.ndarray | None = None
    variant: str = ""
    average_policy: np.ndarray | None = None
    average_reward_value: float = math.nan
    average_cost_values: np.ndarray | None = None


def cmdp_primal_dual(mdp, *, costs, budgets, variant: str = "reload", eta: float = 0.1, eta_lambda: float | None = None,
                     n_iter: int = 2000, mu=None, epsilon: float = 1e-4) -> PrimalDualResult:
    r"""Lagrangian primal-dual policy optimization for a CMDP, exact advantages.

    Lagrangian :math:`L(\pi,\lambda)=V_R^\pi(\mu)-\lambda^\top(V_C^\pi(\mu)-b)`, :math:`\lambda\ge0`.
    Policy player: NPG step on the Lagrangian reward, :math:`\pi_{t+1}\propto\pi_t\exp(\eta\,g^\pi_t/(1-\gamma))`;
    multiplier player: :math:`\lambda_{t+1}=[\lambda_t+\eta_\lambda g^\lambda_t]_+`.

    * ``variant="gda"``: :math:`g_t` the current gradient (advantage of :math:`R-\lambda_t^\top C`;
      :math:`V_C^{\pi_t}(\mu)-b`).  Converges only on average; the last iterate typically cycles
      (the negative control of the ``cmdp-last-iterate`` check).
    * ``variant="reload"``: optimistic :math:`2g_t-g_{t-1}` for both players (Moskovitz et al.
      2023, "ReLOAD: Reinforcement Learning with Optimistic Ascent-Descent for Last-Iterate
      Convergence in Constrained MDPs", ICML, Alg. 1 in this exact tabular policy-space form;
      number not checked against the text).  The paper's last-iterate theorem is stated for its
      own setting; here last-iterate convergence is *observed* exactly (traces), not certified.

    ``violation`` and ``optimality_gap`` are exact per iteration (OPT from the LP).  The averaged
    iterate (``average_policy``, the mixture of the iterates' occupancies) is what no-regret
    primal-dual analyses certify; with constant steps it is only accurate to O(step size).  ``converged``
    when the last iterate has violation and gap both at most ``epsilon``.

    Raises
    ------
    InfeasibleCMDPError
        From the LP when the CMDP is infeasible.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    if variant not in ("gda", "reload"):
        raise InvalidArgumentError(f"variant must be 'gda' or 'reload', got {variant!r}")
    e = float(eta)
    el = e if eta_lambda is None else float(eta_lambda)
    if not (math.isfinite(e) and e > 0 and math.isfinite(el) and el > 0):
        raise InvalidArgumentError(f"eta and eta_lambda must be finite and > 0, got {eta!r}, {eta_lambda!r}")
    K = check_int(n_iter, "n_iter", minimum=1)
    C, b = _check_costs(mdp, costs, budgets)
    m = validate_distribution(mdp, mu)
    lp = cmdp_linear_programming(mdp, costs=C, budgets=b, mu=m)
    opt = float(lp.objective)
    dm = mdp.to_dense() if mdp.is_sparse else mdp
    logits = np.where(mdp.action_mask, 0.0, -np.inf)
    pi = masked_softmax(logits, mdp.action_mask)
    lam = np.zeros(len(b))
    prev_adv, prev_glam = None, None
    rv, cvs, lams = [], [], []
    occ_sum = np.zeros((mdp.S, mdp.A))
    for k in range(K + 1):
        pq = policy_quantities(dm, pi, m)
        occ_sum += pq.d[:, None] * pi
        vr = float(m @ pq.v)
        # V_C(mu) = <d, C pi>/(1-gamma): the occupancy identity, no extra solve
        cv = np.einsum("s,isa,sa->i", pq.d, C, pi) / (1.0 - g)
        rv.append(vr)
        cvs.append(cv)
        lams.append(lam.copy())
        if k == K:
            break
        lag = mdp.R - np.tensordot(lam, C, axes=1)
        adv = policy_quantities(dm, pi, m, R=lag).adv
        glam = cv - b
        if variant == "reload" and prev_adv is not None:
            step_pi, step_l = 2 * adv - prev_adv, 2 * glam - prev_glam
        else:
            step_pi, step_l = adv, glam
        prev_adv, prev_glam = adv, glam
        logits = np.where(mdp.action_mask, logits + e * step_pi / (1.0 - g), -np.inf)
        logits = logits - np.max(logits, axis=1, keepdims=True)
        pi = masked_softmax(logits, mdp.action_mask)
        lam = np.maximum(lam + el * step_l, 0.0)
    rv = np.array(rv)
    cvs = np.array(cvs)
    viol = np.maximum(cvs - b[None, :], 0.0).max(axis=1)
    gap = np.abs(opt - rv)
    occ = occ_sum / (K + 1)
    rows = occ.sum(axis=1, keepdims=True)
    avg_pi = np.where(rows > 0, occ / np.where(rows > 0, rows, 1.0), mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True))
    avg_q = policy_quantities(dm, avg_pi, m)
    avg_r = float(m @ avg_q.v)
    avg_c = np.einsum("s,isa,sa->i", avg_q.d, C, avg_pi) / (1.0 - g)
    v = policy_evaluation(mdp, pi)
    P_pi, r_pi = policy_matrices(mdp, pi)
    v_err = float(np.max(np.abs(r_pi + g * (P_pi @ v) - v))) / (1.0 - g) + 8 * np.finfo(float).eps * max(1.0, float(np.max(np.abs(v))))
    converged = bool(viol[-1] <= epsilon and gap[-1] <= epsilon)
    cert = bounds.Bound(value=max(lp.upper_bound - rv[-1], 0.0) if viol[-1] <= 0 else math.inf,
                        kind=bounds.BoundKind.DETERMINISTIC,
                        citation="LP weak duality (upper bound from cmdp_linear_programming); inf when the iterate is infeasible",
                        statement="OPT - V_R^{pi_T}(mu), valid only for a feasible pi_T")
    return build_result(
        mdp, cls=PrimalDualResult, v=v, v_error_bound=v_err, policy=np.ascontiguousarray(pi), certificate=cert,
        converged=converged, n_iter=K, residuals=np.maximum(viol[1:], gap[1:]), method="cmdp_primal_dual",
        options=dict(costs_given=True, budgets_given=True, variant=variant, eta=e, eta_lambda=el, n_iter=K,
                     mu_given=mu is not None, epsilon=epsilon), t0=t0, v_policy=v.copy(),
        message=(f"{variant}: last iterate violation {viol[-1]:.3g}, |gap| {gap[-1]:.3g} after {K} iterations"),
        status=None, reward_values=rv, cost_values=cvs, violation=viol, optimality_gap=gap,
        multipliers=np.array(lams), lp_objective=opt, lp_multipliers=lp.multipliers, variant=variant,
        average_policy=avg_pi, average_reward_value=avg_r, average_cost_values=avg_c)


register_solver(SolverSpec("cmdp_lp", cmdp_linear_programming, "constrained",
                           "constrained MDP by the occupancy-measure LP (HiGHS), with Lagrange multipliers",
                           "Altman 1999, Thm 3.3 (number not checked against the text)",
                           required=("costs", "budgets")))

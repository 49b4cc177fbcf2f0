r"""Exact policy optimization on tabular MDPs: softmax PG, NPG, entropy-regularized NPG, policy
mirror descent and conservative policy iteration, with every iterate evaluated exactly.

Each solver runs the paper's update with exact gradients / Q-values (linear solves), and records
per iteration the exact suboptimality :math:`V^*(\rho) - V^{\pi_t}(\rho)` (with :math:`V^*` from
policy iteration) next to the theorem's bound.  Step sizes outside a theorem's range are
accepted; the result then says ``bound_applies=False`` and ``rate_bound`` is NaN.

Finite-horizon diagnostics: :func:`finite_horizon_policy_gradient` (dynamic vs simultaneous PG),
:func:`pg_iterations_to_epsilon` (exact steps to reach epsilon) and :func:`dynamic_pg_epoch_run`
(per-epoch traces for the softmax-bandit rate of :func:`mdpkit.bounds.dynamic_pg_epoch_bound`).

The returned ``policy`` is the final *stochastic* iterate ``(S, A)``; ``v`` is its exact value
(family ``"policy-optimization"``: :math:`v^\pi` of the final iterate), certified to
``v_error_bound`` by the residual of the linear solve, and ``certificate`` bounds its
suboptimality by the Bellman residual, :math:`\|v^*-v^\pi\|_\infty\le\|Tv^\pi-v^\pi\|_\infty/(1-\gamma)`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_gamma
from mdpkit.occupancy import (
    entropy_regularized_values,
    masked_softmax,
    policy_quantities,
    state_occupancy,
    validate_distribution,
)
from mdpkit.policies import bellman_operator, policy_evaluation, policy_matrices
from mdpkit.results import SolveResult

from ._common import build_result, check_common, check_mdp
from ._registry import SolverSpec, register_solver

__all__ = [
    "FiniteHorizonPGResult",
    "GeneralUtilityResult",
    "PolicyOptimizationResult",
    "conservative_policy_iteration",
    "dynamic_pg_epoch_run",
    "entropy_regularized_npg",
    "finite_horizon_policy_gradient",
    "frank_wolfe_general_utility",
    "natural_policy_gradient",
    "pg_iterations_to_epsilon",
    "policy_mirror_descent",
    "quadratic_utility",
    "soft_optimal_values",
    "softmax_policy_gradient",
    "state_entropy_utility",
]


@dataclass(frozen=True, eq=False, repr=False)
class PolicyOptimizationResult(SolveResult):
    r"""Result of an exact policy-optimization run.

    Attributes
    ----------
    policy : ndarray of float64, shape (S, A)
        The final stochastic iterate :math:`\pi_T` (``v`` is its exact value).
    theta : ndarray of float64, shape (S, A), or None
        Final softmax logits (softmax PG, NPG); masked entries are ``-inf``.
    rho : ndarray of float64, shape (S,)
        Evaluation distribution of the traces.
    values : ndarray of float64, shape (n_iter + 1,)
        :math:`V^{\pi_t}(\rho)` for t = 0..n_iter, exact.
    suboptimality : ndarray of float64, shape (n_iter + 1,)
        :math:`V^*(\rho) - V^{\pi_t}(\rho)`, exact (:math:`V^*` by policy iteration).
    rate_bound : ndarray of float64, shape (n_iter + 1,)
        The theorem's bound on ``suboptimality`` (or on the quantity named in ``bound_quantity``)
        at each t; NaN where the theorem gives none or does not apply.
    bound_quantity : str
        What ``rate_bound`` bounds (``"suboptimality"``, ``"soft-Q error"``, ``"improvement"``).
    bound_trace : ndarray of float64, shape (n_iter + 1,) or None
        The bounded quantity when it is not ``suboptimality`` (soft-Q error; per-step improvement).
    bound_applies : bool
        Whether the chosen step sizes are inside the theorem's range.
    bound_note : str
        The theorem, or why it does not apply.
    step_sizes : ndarray of float64, shape (n_iter,)
    """

    theta: np.ndarray | None = None
    rho: np.ndarray | None = None
    values: np.ndarray | None = None
    suboptimality: np.ndarray | None = None
    rate_bound: np.ndarray | None = None
    bound_quantity: str = "suboptimality"
    bound_trace: np.ndarray | None = None
    bound_applies: bool = False
    bound_note: str = ""
    step_sizes: np.ndarray | None = None


# ----------------------------------------------------------------------------- shared plumbing
def _optimal_value(mdp) -> np.ndarray:
    from .discounted import policy_iteration

    return np.asarray(policy_iteration(mdp).v_policy, dtype=np.float64)


def _dense(mdp):
    """The dense twin of a CSR model for the O(S^3) inner loops (one conversion, not one per iteration)."""
    return mdp.to_dense() if mdp.is_sparse else mdp


def _uniform(mdp) -> np.ndarray:
    m = mdp.action_mask.astype(np.float64)
    return m / m.sum(axis=1, keepdims=True)


def _reward_span(mdp) -> float:
    r = mdp.R[mdp.action_mask]
    return float(r.max() - r.min())


def _check_eta(eta, name="eta") -> float:
    e = float(eta)
    if not (math.isfinite(e) and e > 0):
        raise InvalidArgumentError(f"{name} must be finite and > 0, got {eta!r}")
    return e


def _check_theta0(mdp, theta0):
    if theta0 is None:
        return np.where(mdp.action_mask, 0.0, -np.inf)
    th = np.array(theta0, dtype=np.float64)
    if th.shape != (mdp.S, mdp.A):
        raise InvalidArgumentError(f"theta0 must have shape (S, A) = ({mdp.S}, {mdp.A}), got {th.shape}")
    if not np.all(np.isfinite(th[mdp.action_mask])):
        raise InvalidArgumentError("theta0 must be finite on available actions")
    return np.where(mdp.action_mask, th, -np.inf)


def _check_policy0(mdp, policy0):
    if policy0 is None:
        return _uniform(mdp)
    from mdpkit.policies import check_policy

    pi = check_policy(mdp, policy0)
    if pi.ndim == 1:
        out = np.zeros((mdp.S, mdp.A))
        out[np.arange(mdp.S), pi] = 1.0
        return out
    return pi.copy()


def _certify(mdp, pi):
    """Exact value of ``pi`` with its solve error bound and the Bellman-residual certificate."""
    P_pi, r_pi = policy_matrices(mdp, pi)
    v = policy_evaluation(mdp, pi)
    res = r_pi + mdp.gamma * (P_pi @ v) - v
    scale = max(1.0, float(np.max(np.abs(v))))
    v_err = float(np.max(np.abs(res))) / (1.0 - mdp.gamma) + 8 * np.finfo(float).eps * scale
    Tv, _ = bellman_operator(mdp, v)
    resid = max(float(np.max(Tv - v)), 0.0)
    cert = bounds.residual_value_bound(mdp.gamma, resid + v_err * (1.0 + mdp.gamma))
    return v, v_err, cert


def _finish(mdp, *, pi, theta, rho, values, subopt, rate_bound, quantity, bound_trace, applies, note, steps,
            method, options, t0, epsilon, converged, cls=None):
    v, v_err, cert = _certify(mdp, pi)
    n_iter = len(values) - 1
    return build_result(
        mdp, cls=cls or PolicyOptimizationResult, v=v, v_error_bound=v_err, policy=np.ascontiguousarray(pi),
        certificate=cert, converged=converged, n_iter=n_iter,
        residuals=np.asarray(subopt[1:], dtype=np.float64), method=method, options=options, t0=t0, v_policy=v.copy(),
        theta=None if theta is None else np.asarray(theta, dtype=np.float64), rho=rho,
        values=np.asarray(values, dtype=np.float64), suboptimality=np.asarray(subopt, dtype=np.float64),
        rate_bound=np.asarray(rate_bound, dtype=np.float64), bound_quantity=quantity,
        bound_trace=None if bound_trace is None else np.asarray(bound_trace, dtype=np.float64),
        bound_applies=bool(applies), bound_note=note, step_sizes=np.asarray(steps, dtype=np.float64),
    )


def _stop(mdp, v_star, v, epsilon) -> bool:
    # the stopping rule uses the exact gap to v* (policy iteration's v*, exact to round-off)
    return float(np.max(v_star - v)) <= epsilon


def _evaluated_iterates(mdp, dm, current_pi, *, mu, rho, v_star, epsilon, max_iter, values, status, on_eval=None):
    """The shared loop of the exact solvers: evaluate ``current_pi()`` exactly (occupancy from ``mu``),
    record :math:`V^{\\pi}(\\rho)` in ``values`` (and call ``on_eval(pi)``), stop when the exact gap to
    ``v_star`` is <= epsilon (``status["converged"] = True``) or after ``max_iter`` updates; otherwise
    yield ``(k, pq)`` for the caller to update its policy."""
    status["converged"] = False
    for k in range(max_iter + 1):
        pi = current_pi()
        pq = policy_quantities(dm, pi, mu)
        values.append(float(rho @ pq.v))
        if on_eval is not None:
            on_eval(pi)
        if _stop(mdp, v_star, pq.v, epsilon):
            status["converged"] = True
            return
        if k == max_iter:
            return
        yield k, pq


def _kl_star(mdp, pi_star_det, pi0, rho) -> float:
    """E_{s ~ d^{pi*}_rho} KL(pi*_s || pi0_s) for a deterministic optimal policy."""
    d = state_occupancy(mdp, pi_star_det, rho)
    p = pi0[np.arange(mdp.S), pi_star_det]
    if np.any((p <= 0) & (d > 0)):
        return math.inf
    return float(np.sum(np.where(d > 0, -d * np.log(np.where(p > 0, p, 1.0)), 0.0)))


def _greedy_optimal(mdp, v_star) -> np.ndarray:
    return bellman_operator(mdp, v_star)[1]


# ----------------------------------------------------------------------------- softmax PG
def softmax_policy_gradient(mdp, *, eta: float | None = None, mu=None, rho=None, theta0=None, epsilon: float = 1e-3,
                            max_iter: int = 10_000) -> PolicyOptimizationResult:
    r"""Softmax policy gradient ascent with exact gradients (Mei, Xiao, Szepesvari & Schuurmans 2020).

    :math:`\theta_{t+1} = \theta_t + \eta\nabla_\theta V^{\pi_\theta}(\mu)` with the exact
    gradient :math:`\frac{1}{1-\gamma}d^{\pi}_\mu(s)\pi(a|s)A^\pi(s,a)` (masked softmax over the
    available actions).  Mei et al. 2020, Thm 4 (number not checked against the text): with
    :math:`\eta=(1-\gamma)^3/(8w)` (:func:`mdpkit.bounds.mei_softmax_step`, ``w`` the reward span)
    and :math:`\mu>0`, :math:`V^*(\rho)-V^{\pi_t}(\rho)\le 16Sw\|d^{\pi^*}_\mu/\mu\|^2_\infty\|1/\mu\|_\infty/(c^2(1-\gamma)^6t)`,
    an :math:`O(1/t)` rate; ``rate_bound`` holds it with :math:`c` the smallest optimal-action
    probability seen over the run.

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    eta : float, optional
        Step size; Mei's :math:`(1-\gamma)^3/(8w)` if omitted.  Other values run, with
        ``bound_applies=False``.
    mu : array_like (S,), optional
        Distribution the gradient is taken at (``mdp.mu0`` if omitted); the theorem needs it > 0.
    rho : array_like (S,), optional
        Evaluation distribution of the traces (``mu`` if omitted).
    theta0 : array_like (S, A), optional
        Initial logits (zeros: the uniform policy).
    epsilon : float
        Stop when :math:`\max_s(v^*-v^{\pi_t})(s)\le\epsilon`.
    max_iter : int

    Returns
    -------
    PolicyOptimizationResult

    Raises
    ------
    InvalidMDPError
        ``gamma >= 1``.
    InvalidArgumentError
        Bad step size, distributions or initial logits.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    w = _reward_span(mdp)
    mei = bounds.mei_softmax_step(mdp.gamma, w) if w > 0 else math.inf
    eta_v = mei if eta is None else _check_eta(eta)
    m = validate_distribution(mdp, mu, "mu")
    r = m if rho is None else validate_distribution(mdp, rho, "rho")
    theta = _check_theta0(mdp, theta0)
    v_star = _optimal_value(mdp)
    _dm = _dense(mdp)
    a_star = _greedy_optimal(mdp, v_star)
    Vs = float(r @ v_star)
    pi = masked_softmax(theta, mdp.action_mask)
    values, pstar, status = [], [], {}
    for _t, pq in _evaluated_iterates(mdp, _dm, lambda: pi, mu=m, rho=r, v_star=v_star, epsilon=epsilon,
                                      max_iter=max_iter, values=values, status=status,
                                      on_eval=lambda p: pstar.append(float(np.min(p[np.arange(mdp.S), a_star])))):
        grad = pq.d[:, None] * pi * pq.adv / (1.0 - mdp.gamma)
        theta = np.where(mdp.action_mask, theta + eta_v * grad, -np.inf)
        pi = masked_softmax(theta, mdp.action_mask)
    values = np.array(values)
    subopt = Vs - values
    n = len(values) - 1
    applies = bool(np.isfinite(mei) and abs(eta_v - mei) <= 1e-12 * mei and np.all(m > 0))
    rb = np.full(n + 1, np.nan)
    if applies and n >= 1:
        c = float(min(pstar[1:]))
        dstar = state_occupancy(mdp, a_star, m)
        mism = float(np.max(dstar / m))
        for k in range(1, n + 1):
            rb[k] = bounds.softmax_pg_bound(mdp.gamma, k, n_states=mdp.S, c=c, mismatch=mism,
                                            inv_mu=float(np.max(1.0 / m)), reward_span=w).value
        note = "Mei et al. 2020 Thm 4, c = min over the run of min_s pi_t(a*(s)|s) = %.3g" % c
    else:
        note = ("bound does not apply: eta != (1-gamma)^3/(8 w) (Mei et al. 2020 Thm 4 step size)" if not applies
                else "no iterations")
    return _finish(mdp, pi=pi, theta=theta, rho=r, values=values, subopt=subopt, rate_bound=rb,
                   quantity="suboptimality", bound_trace=None, applies=applies, note=note,
                   steps=np.full(n, eta_v), method="softmax_policy_gradient",
                   options=dict(eta=eta_v, mu_given=mu is not None, rho_given=rho is not None,
                                theta0_given=theta0 is not None, epsilon=epsilon, max_iter=max_iter),
                   t0=t0, epsilon=epsilon, converged=status["converged"])


# ----------------------------------------------------------------------------- NPG / PMD
def _pmd_core(mdp, *, steps_fn, mirror, rho, policy0, epsilon, max_iter, v_star):
    """Policy mirror descent pi_{k+1,s} = argmax_p eta_k <Q_k(s), p> - D(p, pi_{k,s})."""
    r = rho
    _dm = _dense(mdp)
    pi = policy0.copy()
    logits = np.where(mdp.action_mask, np.log(np.where(pi > 0, pi, 1.0)), -np.inf)
    logits[(pi <= 0) & mdp.action_mask] = -np.inf
    values, steps, status = [], [], {}
    for k, pq in _evaluated_iterates(mdp, _dm, lambda: pi, mu=r, rho=r, v_star=v_star, epsilon=epsilon,
                                     max_iter=max_iter, values=values, status=status):
        eta = steps_fn(k)
        steps.append(eta)
        A = pq.adv  # Q - V: the same update as Q (a constant per state), better conditioned
        if mirror == "kl":
            logits = np.where(mdp.action_mask, logits + eta * A, -np.inf)
            pi = masked_softmax(logits, mdp.action_mask)
        else:
            pi = _project_rows(pi + eta * A, mdp.action_mask)
    return pi, np.array(values), steps, status["converged"]


def _project_rows(y, mask):
    """Euclidean projection of each row onto the simplex over its available actions (sort-based;
    Held, Wolfe & Crowder 1974; Duchi et al. 2008)."""
    out = np.zeros_like(y)
    for s in range(y.shape[0]):
        idx = np.flatnonzero(mask[s])
        z = y[s, idx]
        u = np.sort(z)[::-1]
        css = np.cumsum(u) - 1.0
        k = np.arange(1, z.size + 1)
        rho_ = np.nonzero(u - css / k > 0)[0][-1]
        out[s, idx] = np.maximum(z - css[rho_] / (rho_ + 1), 0.0)
    return out


def natural_policy_gradient(mdp, *, eta: float = 1.0, rho=None, theta0=None, epsilon: float = 1e-6,
                            max_iter: int = 10_000) -> PolicyOptimizationResult:
    r"""Natural policy gradient for the softmax parametrization, exact (Kakade 2001; AKLM 2021).

    :math:`\pi_{t+1}(a|s)\propto\pi_t(a|s)\exp(\eta A^{\pi_t}(s,a)/(1-\gamma))`.  AKLM 2021, Thm 16
    (number not checked against the text): for every :math:`\eta>0` and :math:`T\ge1`,
    :math:`V^*(\rho)-V^{(T)}(\rho)\le\mathbb{E}_{s\sim d^{\pi^*}_\rho}\mathrm{KL}(\pi^*_s\|\pi_{0,s})/(\eta T)+w/((1-\gamma)^2T)`
    (:math:`\le\log|A|/(\eta T)+\dots` from the uniform start), ``rate_bound`` at every T.

    Parameters
    ----------
    eta : float
        Any positive step (the theorem covers all).
    rho : array_like (S,), optional
        Evaluation distribution (``mdp.mu0``).
    theta0 : array_like (S, A), optional
        Initial logits (uniform policy if omitted).
    epsilon, max_iter
        Stop when :math:`\max_s(v^*-v^{\pi_t})(s)\le\epsilon`.

    Returns
    -------
    PolicyOptimizationResult
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    e = _check_eta(eta)
    r = validate_distribution(mdp, rho, "rho")
    theta = _check_theta0(mdp, theta0)
    pi0 = masked_softmax(theta, mdp.action_mask)
    v_star = _optimal_value(mdp)
    pi, values, steps, conv = _pmd_core(mdp, steps_fn=lambda k: e / (1.0 - mdp.gamma), mirror="kl", rho=r,
                                        policy0=pi0, epsilon=epsilon, max_iter=max_iter, v_star=v_star)
    subopt = float(r @ v_star) - values
    kl0 = _kl_star(mdp, _greedy_optimal(mdp, v_star), pi0, r)
    n = len(values) - 1
    rb = np.full(n + 1, np.nan)
    for T in range(1, n + 1):
        rb[T] = bounds.npg_bound(mdp.gamma, e, T, kl0=kl0, reward_span=_reward_span(mdp)).value
    theta_f = np.where(mdp.action_mask, np.log(np.where(pi > 0, pi, 1.0)), -np.inf)
    return _finish(mdp, pi=pi, theta=theta_f, rho=r, values=values, subopt=subopt, rate_bound=rb,
                   quantity="suboptimality", bound_trace=None, applies=True,
                   note=f"AKLM 2021 Thm 16 with E_d* KL(pi*||pi0) = {kl0:.4g}", steps=np.full(n, e),
                   method="natural_policy_gradient",
                   options=dict(eta=e, rho_given=rho is not None, theta0_given=theta0 is not None, epsilon=epsilon,
                                max_iter=max_iter), t0=t0, epsilon=epsilon, converged=conv)


def policy_mirror_descent(mdp, *, eta0: float = 1.0, growth: float | str = 1.0, mirror: str = "kl", rho=None,
                          policy0=None, epsilon: float = 1e-6, max_iter: int = 10_000) -> PolicyOptimizationResult:
    r"""Exact policy mirror descent (Xiao 2022; Tomar et al., "Mirror Descent Policy Optimization", tabular form).

    :math:`\pi_{k+1,s}=\arg\max_{p\in\Delta(A_s)}\eta_k\langle Q^{\pi_k}(s,\cdot),p\rangle-D(p,\pi_{k,s})`
    with :math:`D` the KL divergence (``mirror="kl"``: NPG with :math:`\eta_k=\eta/(1-\gamma)`) or
    half the squared Euclidean distance (``"euclidean"``: projected Q-ascent), and
    :math:`\eta_k=\eta_0\,\mathrm{growth}^k`.  With ``growth >= 1/gamma`` (``"geometric"`` means
    exactly :math:`1/\gamma`) Xiao 2022, Thm 10 (number not checked against the text) gives the
    linear rate :math:`V^*(\rho)-V^{\pi_k}(\rho)\le\gamma^k(V^*(\rho)-V^{\pi_0}(\rho)+D^*_0/((1-\gamma)\eta_0))`;
    with constant KL steps the NPG bound of AKLM 2021 Thm 16 applies with :math:`\eta=\eta_0(1-\gamma)`.
    Other choices run with ``bound_applies=False``.

    Parameters
    ----------
    eta0 : float
        First step size (> 0).
    growth : float >= 1 or "geometric"
    mirror : {"kl", "euclidean"}
    rho : array_like (S,), optional
    policy0 : array_like, optional
        Initial policy (uniform over available actions if omitted).
    epsilon, max_iter
        Stop when :math:`\max_s(v^*-v^{\pi_k})(s)\le\epsilon`.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    e0 = _check_eta(eta0, "eta0")
    if isinstance(growth, str):
        if growth != "geometric":
            raise InvalidArgumentError(f"growth must be a number >= 1 or 'geometric', got {growth!r}")
        if g == 0.0:
            raise InvalidArgumentError("growth='geometric' (1/gamma) needs gamma > 0")
        gr = 1.0 / g
    else:
        gr = float(growth)
        if not (math.isfinite(gr) and gr >= 1.0):
            raise InvalidArgumentError(f"growth must be finite and >= 1, got {growth!r}")
    if mirror not in ("kl", "euclidean"):
        raise InvalidArgumentError(f"mirror must be 'kl' or 'euclidean', got {mirror!r}")
    r = validate_distribution(mdp, rho, "rho")
    pi0 = _check_policy0(mdp, policy0)
    v_star = _optimal_value(mdp)
    pi, values, steps, conv = _pmd_core(mdp, steps_fn=lambda k: e0 * gr ** k, mirror=mirror, rho=r, policy0=pi0,
                                        epsilon=epsilon, max_iter=max_iter, v_star=v_star)
    Vs = float(r @ v_star)
    subopt = Vs - values
    n = len(values) - 1
    a_star = _greedy_optimal(mdp, v_star)
    rb = np.full(n + 1, np.nan)
    if g > 0 and gr >= 1.0 / g * (1 - 1e-12):
        if mirror == "kl":
            d0 = _kl_star(mdp, a_star, pi0, r)
        else:
            dstar = state_occupancy(mdp, a_star, r)
            onehot = np.zeros_like(pi0)
            onehot[np.arange(mdp.S), a_star] = 1.0
            d0 = float(dstar @ (0.5 * np.sum((onehot - pi0) ** 2, axis=1)))
        for k in range(n + 1):
            rb[k] = bounds.pmd_geometric_bound(g, k, gap0=subopt[0], d0=d0, eta0=e0).value
        applies, note = True, f"Xiao 2022 Thm 10 (geometric steps, growth {gr:.4g} >= 1/gamma), D*_0 = {d0:.4g}"
    elif gr == 1.0 and mirror == "kl":
        kl0 = _kl_star(mdp, a_star, pi0, r)
        for T in range(1, n + 1):
            rb[T] = bounds.npg_bound(g, e0 * (1.0 - g), T, kl0=kl0, reward_span=_reward_span(mdp)).value
        applies, note = True, "AKLM 2021 Thm 16 (constant KL steps = NPG with eta = eta0 (1 - gamma))"
    else:
        applies, note = False, (f"bound does not apply: growth {gr:.4g} < 1/gamma (Xiao 2022 Thm 10) and not the "
                                "constant-step KL case")
    return _finish(mdp, pi=pi, theta=None, rho=r, values=values, subopt=subopt, rate_bound=rb,
                   quantity="suboptimality", bound_trace=None, applies=applies, note=note, steps=steps,
                   method="policy_mirror_descent",
                   options=dict(eta0=e0, growth=gr, mirror=mirror, rho_given=rho is not None,
                                policy0_given=policy0 is not None, epsilon=epsilon, max_iter=max_iter),
                   t0=t0, epsilon=epsilon, converged=conv)


# ----------------------------------------------------------------------------- entropy-regularized NPG
def soft_optimal_values(mdp, tau: float, *, tol: float = 1e-13, max_iter: int = 100_000):
    r"""Optimal entropy-regularized values :math:`(V^*_\tau, Q^*_\tau, \pi^*_\tau)` by soft value iteration.

    :math:`V(s)=\tau\log\sum_{a\in A_s}\exp(Q(s,a)/\tau)`, :math:`Q=R+\gamma PV`, a
    :math:`\gamma`-contraction; iterates until the a posteriori bound
    :math:`\gamma\|V_{k+1}-V_k\|/(1-\gamma)` is below ``tol`` times the value scale, and
    :math:`\pi^*_\tau(a|s)\propto\exp(Q^*_\tau(s,a)/\tau)` (Cen et al. 2022, Eq. (10)).
    Raises :class:`~mdpkit.ConvergenceWarning`-free :class:`RuntimeError` if ``max_iter`` is hit.
    """
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    t = _check_eta(tau, "tau")
    S, A = mdp.S, mdp.A
    Prow = mdp.P_rows
    v = np.zeros(S)
    scale = max(1.0, float(np.abs(mdp.R[mdp.action_mask]).max()) + t * math.log(A)) / (1.0 - g)
    for _ in range(max_iter):
        q = mdp.R + g * np.asarray(Prow @ v).reshape(S, A)
        z = np.where(mdp.action_mask, q / t, -np.inf)
        zmax = z.max(axis=1)
        v_new = t * (zmax + np.log(np.sum(np.exp(z - zmax[:, None]), axis=1)))
        diff = float(np.max(np.abs(v_new - v)))
        v = v_new
        if g * diff / (1.0 - g) <= tol * scale:
            break
    else:
        raise RuntimeError(f"soft value iteration did not reach tol={tol:g} in {max_iter} iterations")
    q = mdp.R + g * np.asarray(Prow @ v).reshape(S, A)
    pi = masked_softmax(q / t, mdp.action_mask)
    return v, np.where(mdp.action_mask, q, 0.0), pi


def entropy_regularized_npg(mdp, *, tau: float, eta: float | None = None, rho=None, policy0=None,
                            epsilon: float = 1e-8, max_iter: int = 10_000) -> PolicyOptimizationResult:
    r"""Entropy-regularized NPG (Cen, Cheng, Chen, Wei & Chi 2022), exact soft Q.

    :math:`\pi^{(t+1)}(a|s)\propto\pi^{(t)}(a|s)^{1-\eta\tau/(1-\gamma)}\exp(\eta Q^{(t)}_\tau(s,a)/(1-\gamma))`.
    Cen et al. 2022, Thm 1 (number not checked against the text): for :math:`0<\eta\le(1-\gamma)/\tau`,
    :math:`\|Q^*_\tau-Q^{(t+1)}_\tau\|_\infty\le C_1\gamma(1-\eta\tau)^t`; ``bound_trace`` holds
    the exact soft-Q error :math:`\|Q^*_\tau-Q^{(t)}_\tau\|_\infty` and ``rate_bound`` the bound
    (index t+1).  ``suboptimality`` is the *unregularized* gap of each iterate.  Stops when the
    soft-Q error is at most ``epsilon``.

    Parameters
    ----------
    tau : float
        Entropy weight (> 0).
    eta : float, optional
        Step; :math:`(1-\gamma)/\tau` (soft policy iteration) if omitted.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    t = _check_eta(tau, "tau")
    e = (1.0 - g) / t if eta is None else _check_eta(eta)
    r = validate_distribution(mdp, rho, "rho")
    pi = _check_policy0(mdp, policy0)
    if np.any((pi <= 0) & mdp.action_mask):
        raise InvalidArgumentError("policy0 must put positive probability on every available action (log pi is used)")
    _, q_star, pi_star = soft_optimal_values(mdp, t)
    v_star = _optimal_value(mdp)
    _dm = _dense(mdp)
    Vs = float(r @ v_star)
    values, qerr = [], []
    logpi0 = np.log(np.where(mdp.action_mask, pi, 1.0))
    logpi = logpi0.copy()
    converged = False
    for k in range(max_iter + 1):
        values.append(float(r @ policy_quantities(_dm, pi, r).v))
        _, q = entropy_regularized_values(mdp, pi, t)
        qerr.append(float(np.max(np.abs((q_star - q)[mdp.action_mask]))))
        if qerr[-1] <= epsilon:
            converged = True
            break
        if k == max_iter:
            break
        a = 1.0 - e * t / (1.0 - g)
        # log-space update: pi may underflow to 0 while log pi stays finite (a < 0 out of range)
        logits = np.where(mdp.action_mask, a * logpi + e * q / (1.0 - g), -np.inf)
        zmax = logits.max(axis=1, keepdims=True)
        logpi = np.where(mdp.action_mask, logits - zmax - np.log(np.sum(np.exp(logits - zmax), axis=1, keepdims=True)), 0.0)
        pi = np.where(mdp.action_mask, np.exp(logpi), 0.0)
        if not np.all(np.isfinite(logpi)):
            raise FloatingPointError(f"entropy_regularized_npg diverged at iteration {k} (eta = {e:g}, tau = {t:g})")
    n = len(values) - 1
    applies = e * t <= (1.0 - g) * (1 + 1e-12)
    rb = np.full(n + 1, np.nan)
    if applies:
        logstar = np.log(np.where(mdp.action_mask, pi_star, 1.0))
        c1 = qerr[0] + 2 * t * (1.0 - e * t / (1.0 - g)) * float(np.max(np.abs((logstar - logpi0)[mdp.action_mask])))
        for k in range(1, n + 1):
            rb[k] = bounds.entropy_npg_bound(g, e, t, k - 1, c1=c1).value
        note = f"Cen et al. 2022 Thm 1, C1 = {c1:.4g}"
    else:
        note = f"bound does not apply: eta = {e:g} > (1-gamma)/tau = {(1 - g) / t:g} (Cen et al. 2022 Thm 1)"
    return _finish(mdp, pi=pi, theta=None, rho=r, values=np.array(values), subopt=Vs - np.array(values),
                   rate_bound=rb, quantity="soft-Q error", bound_trace=np.array(qerr), applies=applies, note=note,
                   steps=np.full(n, e), method="entropy_regularized_npg",
                   options=dict(tau=t, eta=e, rho_given=rho is not None, policy0_given=policy0 is not None,
                                epsilon=epsilon, max_iter=max_iter), t0=t0, epsilon=epsilon, converged=converged)


# ----------------------------------------------------------------------------- CPI
def conservative_policy_iteration(mdp, *, alpha: float | None = None, rho=None, policy0=None, epsilon: float = 1e-6,
                                  max_iter: int = 10_000) -> PolicyOptimizationResult:
    r"""Conservative policy iteration (Kakade & Langford 2002), exact.

    :math:`\pi_{k+1}=(1-\alpha_k)\pi_k+\alpha_k\pi'_k`, :math:`\pi'_k` greedy for :math:`Q^{\pi_k}`.
    With ``alpha`` omitted, :math:`\alpha_k=\min(1,(1-\gamma)\mathbb{A}_k/(4\gamma\epsilon_k))`
    maximizes (up to a factor) the improvement lower bound of Kakade & Langford 2002, Thm 4.1
    (:func:`mdpkit.bounds.cpi_improvement_bound`, number not checked against the text), with
    :math:`\mathbb{A}_k=\mathbb{E}_{s\sim d^{\pi_k}_\rho}\mathbb{E}_{a\sim\pi'_k}A^{\pi_k}(s,a)` and
    :math:`\epsilon_k=\max_s|\mathbb{E}_{a\sim\pi'_k}A^{\pi_k}(s,a)|`.  ``bound_trace[k]`` is the
    exact improvement :math:`V^{\pi_{k+1}}(\rho)-V^{\pi_k}(\rho)` and ``rate_bound[k]`` its
    lower bound (``bound_quantity="improvement"``, index k = 0..n_iter-1; the last entry is NaN).
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    if alpha is not None:
        al = float(alpha)
        if not (0.0 < al <= 1.0):
            raise InvalidArgumentError(f"alpha must lie in (0, 1], got {alpha!r}")
    r = validate_distribution(mdp, rho, "rho")
    pi = _check_policy0(mdp, policy0)
    v_star = _optimal_value(mdp)
    _dm = _dense(mdp)
    values, lower, alphas, status = [], [], [], {}
    for k, pq in _evaluated_iterates(mdp, _dm, lambda: pi, mu=r, rho=r, v_star=v_star, epsilon=epsilon,
                                     max_iter=max_iter, values=values, status=status):
        A = pq.adv
        greedy = np.argmax(np.where(mdp.action_mask, A, -np.inf), axis=1)
        pa = A[np.arange(mdp.S), greedy]
        d = pq.d
        big_a = float(d @ pa)
        eps_k = float(np.max(np.abs(pa)))
        if alpha is None:
            a_k = 1.0 if g == 0 or eps_k == 0 else min(1.0, (1.0 - g) * big_a / (4.0 * g * eps_k))
            a_k = max(a_k, 1e-12)
        else:
            a_k = al
        alphas.append(a_k)
        lower.append(bounds.cpi_improvement_bound(g, a_k, policy_advantage=big_a, eps=eps_k).value)
        onehot = np.zeros_like(pi)
        onehot[np.arange(mdp.S), greedy] = 1.0
        pi = (1.0 - a_k) * pi + a_k * onehot
    values = np.array(values)
    imp = np.append(np.diff(values), np.nan)
    rb = np.append(np.array(lower, dtype=float), np.nan)
    return _finish(mdp, pi=pi, theta=None, rho=r, values=values, subopt=float(r @ v_star) - values, rate_bound=rb,
                   quantity="improvement", bound_trace=imp, applies=True,
                   note="Kakade & Langford 2002 Thm 4.1 lower bound on each step's improvement",
                   steps=np.array(alphas), method="conservative_policy_iteration",
                   options=dict(alpha=alpha, rho_given=rho is not None, policy0_given=policy0 is not None,
                                epsilon=epsilon, max_iter=max_iter), t0=t0, epsilon=epsilon, converged=status["converged"])


# ----------------------------------------------------------------------------- general utilities
@dataclass(frozen=True)
class GeneralUtilityResult:
    r"""Frank-Wolfe on the occupancy polytope for a concave utility :math:`F(\lambda)`.

    Attributes
    ----------
    occupancy : ndarray (S, A)
        Final normalized occupancy :math:`\lambda_K` (sums to 1).
    policy : ndarray (S, A)
        A policy whose occupancy is :math:`\lambda_K`: :math:`\pi(a|s)=\lambda(s,a)/\sum_{a'}\lambda(s,a')`
        (uniform over available actions where :math:`\lambda(s,\cdot)=0`).
    utility : ndarray (K+1,)
        :math:`F(\lambda_k)`.
    fw_gap : ndarray (K+1,)
        Frank-Wolfe gap :math:`g_k=\langle\nabla F(\lambda_k), \lambda(\pi'_k)-\lambda_k\rangle\ge F^*-F(\lambda_k)`
        (a certificate for concave :math:`F`).
    rate_bound : ndarray (K+1,)
        :math:`2C/(k+2)` with :math:`C = 2L` (curvature of an L-smooth F over a set of l2-diameter
        at most :math:`\sqrt2`), NaN when ``smoothness`` was not given.
    certificate : mdpkit.bounds.Bound
        :math:`\min_k g_k`-type bound on the suboptimality of the returned occupancy (its own gap).
    n_iter : int
    method : str
    options : dict
    wall_time : float
    """

    occupancy: np.ndarray
    policy: np.ndarray
    utility: np.ndarray
    fw_gap: np.ndarray
    rate_bound: np.ndarray
    certificate: object
    n_iter: int
    method: str
    options: dict
    wall_time: float


def quadratic_utility(target):
    r"""``(F, grad F, L)`` for :math:`F(\lambda) = -\tfrac12\|\lambda-\lambda_{target}\|_2^2` (1-smooth, concave)."""
    tg = np.asarray(target, dtype=np.float64)

    def f(lam):
        return -0.5 * float(np.sum((lam - tg) ** 2))

    def grad(lam):
        return -(lam - tg)

    return f, grad, 1.0


def state_entropy_utility(mdp, eps: float = 1e-3):
    r"""``(F, grad F, L)`` for the smoothed entropy of the state occupancy,
    :math:`F(\lambda) = -\sum_s (d(s)+\epsilon)\log(d(s)+\epsilon)`, :math:`d(s)=\sum_a\lambda(s,a)`
    (maximum-entropy exploration, Hazan, Kakade, Singh & Van Soest 2019); concave and
    :math:`L`-smooth with :math:`L = A/\epsilon` in the l2 norm of :math:`\lambda`."""
    e = _check_eta(eps, "eps")

    def f(lam):
        d = lam.sum(axis=1) + e
        return -float(np.sum(d * np.log(d)))

    def grad(lam):
        d = lam.sum(axis=1) + e
        return np.repeat((-(np.log(d) + 1.0))[:, None], mdp.A, axis=1)

    return f, grad, mdp.A / e


def _occupancy_of(mdp, pi, mu):
    return policy_quantities(mdp, pi, mu).d[:, None] * pi


def frank_wolfe_general_utility(mdp, utility, *, smoothness: float | None = None, mu=None, max_iter: int = 500,
                                epsilon: float = 1e-6, lam0=None) -> GeneralUtilityResult:
    r"""Maximize a concave utility of the occupancy measure by Frank-Wolfe with exact oracles.

    ``utility`` is ``(F, grad_F)`` or ``(F, grad_F, L)``: callables on the normalized occupancy
    :math:`\lambda` (S, A).  Each iteration solves the linear maximization
    :math:`\max_{\lambda'}\langle\nabla F(\lambda_k),\lambda'\rangle` over the occupancy polytope
    exactly — an MDP with reward :math:`\nabla F(\lambda_k)`, solved by policy iteration — and
    moves :math:`\lambda_{k+1}=(1-\alpha_k)\lambda_k+\alpha_k\lambda(\pi'_k)`, :math:`\alpha_k=2/(k+2)`.
    Mixtures stay occupancies (the polytope is convex; Puterman 1994 Thm 6.9.1).  Zhang, Koppel,
    Bedi, Szepesvari & Wang 2020, "Variational policy gradient method for reinforcement learning
    with general utilities" (the setting); Frank-Wolfe rate :math:`F^*-F(\lambda_k)\le 2C_F/(k+2)`
    from Jaggi 2013, ICML, Thm 1 (numbers not checked against the text).  Stops when the
    Frank-Wolfe gap (a certified upper bound on :math:`F^*-F(\lambda_k)` for concave F) is at
    most ``epsilon``.
    """
    from .discounted import policy_iteration

    t0 = time.perf_counter()
    check_mdp(mdp)
    g = check_gamma(mdp.gamma, allow_one=False)
    if not (isinstance(utility, tuple) and len(utility) in (2, 3) and all(callable(u) for u in utility[:2])):
        raise InvalidArgumentError("utility must be a tuple (F, grad_F) or (F, grad_F, L) of callables")
    F, dF = utility[0], utility[1]
    L = smoothness if smoothness is not None else (utility[2] if len(utility) == 3 else None)
    epsilon, max_iter = check_common(epsilon, max_iter)
    m = validate_distribution(mdp, mu)
    dm = _dense(mdp)
    from mdpkit.model import TabularMDP

    lam = _occupancy_of(dm, _uniform(mdp), m) if lam0 is None else np.array(lam0, dtype=np.float64)
    if lam.shape != (mdp.S, mdp.A):
        raise InvalidArgumentError(f"lam0 must have shape (S, A) = ({mdp.S}, {mdp.A}), got {lam.shape}")
    vals, gaps = [], []
    for k in range(max_iter + 1):
        grad = np.asarray(dF(lam), dtype=np.float64)
        if grad.shape != (mdp.S, mdp.A) or not np.all(np.isfinite(grad[mdp.action_mask])):
            raise InvalidArgumentError(f"grad_F must return a finite (S, A) array, got shape {grad.shape}")
        lin = TabularMDP(dm.P, np.where(mdp.action_mask, grad, 0.0), g, action_mask=mdp.action_mask)
        pol = policy_iteration(lin).policy
        onehot = np.zeros((mdp.S, mdp.A))
        onehot[np.arange(mdp.S), pol] = 1.0
        s_k = _occupancy_of(dm, onehot, m)
        vals.append(float(F(lam)))
        gaps.append(max(float(np.sum(grad * (s_k - lam))), 0.0))
        if gaps[-1] <= epsilon or k == max_iter:
            break
        a = 2.0 / (k + 2.0)
        lam = (1.0 - a) * lam + a * s_k
    rows = lam.sum(axis=1, keepdims=True)
    unif = _uniform(mdp)
    pi = np.where(rows > 0, lam / np.where(rows > 0, rows, 1.0), unif)
    n = len(vals) - 1
    ks = np.arange(n + 1)
    rb = 2.0 * 2.0 * float(L) / (ks + 2.0) if L is not None else np.full(n + 1, np.nan)
    cert = bounds.Bound(value=gaps[-1], kind=bounds.BoundKind.DETERMINISTIC,
                        citation="Frank-Wolfe duality gap (Jaggi 2013, ICML, Sec. 2), valid for concave F",
                        assumptions=("F concave on the occupancy polytope", "exact linear oracle (policy iteration)"),
                        statement="F* - F(lambda_K) <= <grad F(lambda_K), lambda(pi'_K) - lambda_K>")
    for arr in (lam, pi):
        arr.flags.writeable = False
    return GeneralUtilityResult(occupancy=lam, policy=pi, utility=np.array(vals), fw_gap=np.array(gaps),
                                rate_bound=np.asarray(rb, dtype=float), certificate=cert, n_iter=n,
                                method="frank_wolfe_general_utility",
                                options=dict(smoothness=L, mu_given=mu is not None, max_iter=max_iter, epsilon=epsilon,
                                             lam0_given=lam0 is not None),
                                wall_time=time.perf_counter() - t0)


# ----------------------------------------------------------------------------- finite horizon: dynamic vs simultaneous
@dataclass(frozen=True)
class FiniteHorizonPGResult:
    r"""Finite-horizon softmax PG run (dynamic or simultaneous), traced exactly.

    Attributes
    ----------
    policy : ndarray (H, S, A)
        Final non-stationary policy.
    values : ndarray (n_steps+1,)
        :math:`J(\theta) = \mu^\top V_0^{\pi_\theta}` after each gradient step (exact).
    suboptimality : ndarray (n_steps+1,)
        :math:`\mu^\top V_0^* - J` (``V*`` by backward induction).
    epoch : ndarray of int (n_steps,)
        Epoch h updated at each step (-1: all epochs at once, simultaneous PG).
    step_sizes : ndarray (H,)
        Step size used for each epoch.
    method : str
    options : dict
    wall_time : float
    """

    policy: np.ndarray
    values: np.ndarray
    suboptimality: np.ndarray
    epoch: np.ndarray
    step_sizes: np.ndarray
    method: str
    options: dict
    wall_time: float


def _fh_values(P, R, g, pis):
    """V_h (H+1, S) and Q_h (H, S, A) of a non-stationary policy, backwards."""
    H, S, A = pis.shape
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        Q[h] = R + g * P @ V[h + 1]
        V[h] = np.sum(pis[h] * Q[h], axis=1)
    return V, Q


def finite_horizon_policy_gradient(mdp, horizon: int, *, method: str = "dynamic", n_steps: int = 1000, eta=None,
                                   mu=None) -> FiniteHorizonPGResult:
    r"""Exact softmax policy gradient for a finite horizon, trained backwards in time (``"dynamic"``)
    or all epochs at once (``"simultaneous"``); Klein, Weissmann & Döring 2024, "Beyond
    stationarity: convergence analysis of stochastic softmax policy gradient methods", ICLR.

    Policy :math:`\pi_h(a|s)\propto\exp\theta_h(s,a)`, h = 0..H-1 (masked softmax).
    Simultaneous: :math:`\theta_h \mathrel{+}= \eta\, d_h(s)\pi_h(a|s)A_h(s,a)` for every h, with
    :math:`d_h` the law of :math:`s_h` from :math:`\mu` (the exact gradient of :math:`J`).
    Dynamic: epochs h = H-1, ..., 0 in turn, each for ``n_steps // H`` steps of
    :math:`\theta_h \mathrel{+}= \eta_h\,\nu(s)\pi_h(a|s)A_h(s,a)` with the later epochs frozen and
    :math:`\nu` uniform (a contextual bandit with rewards :math:`Q_h`).  Default steps:
    :math:`\eta_h = 2/(5(H-h)w)` for dynamic PG (the softmax-bandit smoothness 5/2 times the
    reward range :math:`(H-h)w` of :math:`Q_h`; Mei et al. 2020, Lemma 2) and the conservative
    :math:`2/(5H^2w)` for simultaneous PG.  The papers' rate constants are not encoded (not
    checked against the text); ``suboptimality`` is exact against backward induction.

    Parameters
    ----------
    mdp : TabularMDP
        Any gamma in [0, 1] (gamma = 1: undiscounted finite horizon).
    horizon : int >= 1
    method : {"dynamic", "simultaneous"}
    n_steps : int
        Total gradient steps (dynamic: split evenly over the H epochs).
    eta : float or array_like (H,), optional
    mu : array_like (S,), optional
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    from mdpkit._validation import check_int as _ci

    H = _ci(horizon, "horizon", minimum=1)
    K = _ci(n_steps, "n_steps", minimum=1)
    if method not in ("dynamic", "simultaneous"):
        raise InvalidArgumentError(f"method must be 'dynamic' or 'simultaneous', got {method!r}")
    m = validate_distribution(mdp, mu)
    P, R, g, mask = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, 0.0), float(mdp.gamma), mdp.action_mask
    w = max(_reward_span(mdp), 1e-12)
    if eta is None:
        steps = (2.0 / (5.0 * (H - np.arange(H)) * w) if method == "dynamic" else np.full(H, 2.0 / (5.0 * H * H * w)))
    else:
        steps = np.broadcast_to(np.asarray(eta, dtype=np.float64), (H,)).copy()
        if not np.all(np.isfinite(steps) & (steps > 0)):
            raise InvalidArgumentError("eta must be positive and finite")
    from .finite_horizon import backward_induction

    vstar = float(m @ np.asarray(backward_induction(mdp, H).v)[0])
    theta = np.where(mask[None], 0.0, -np.inf) * np.ones((H, 1, 1))
    pis = np.stack([masked_softmax(theta[h], mask) for h in range(H)])
    nu = np.full(mdp.S, 1.0 / mdp.S)
    vals, epochs = [], []

    def J():
        return float(m @ _fh_values(P, R, g, pis)[0][0])

    vals.append(J())
    if method == "simultaneous":
        for _ in range(K):
            V, Q = _fh_values(P, R, g, pis)
            d = m.copy()
            for h in range(H):
                A_h = np.where(mask, Q[h] - V[h][:, None], 0.0)
                theta[h] = np.where(mask, theta[h] + steps[h] * d[:, None] * pis[h] * A_h, -np.inf)
                d = g * (d @ np.einsum("sa,sat->st", pis[h], P)) if h < H - 1 else d
            pis = np.stack([masked_softmax(theta[h], mask) for h in range(H)])
            vals.append(J())
            epochs.append(-1)
    else:
        per = [K // H + (1 if i < K % H else 0) for i in range(H)]
        for i, h in enumerate(range(H - 1, -1, -1)):
            V, Q = _fh_values(P, R, g, pis)  # later epochs are frozen: Q_h stays fixed during epoch h
            for _ in range(per[i]):
                A_h = np.where(mask, Q[h] - np.sum(pis[h] * Q[h], axis=1)[:, None], 0.0)
                theta[h] = np.where(mask, theta[h] + steps[h] * nu[:, None] * pis[h] * A_h, -np.inf)
                pis[h] = masked_softmax(theta[h], mask)
                vals.append(J())
                epochs.append(h)
    vals = np.array(vals)
    pis.flags.writeable = False
    return FiniteHorizonPGResult(policy=pis, values=vals, suboptimality=vstar - vals, epoch=np.array(epochs, dtype=np.int64),
                                 step_sizes=np.asarray(steps), method="finite_horizon_policy_gradient",
                                 options=dict(horizon=H, method=method, n_steps=K, eta_given=eta is not None,
                                              mu_given=mu is not None), wall_time=time.perf_counter() - t0)


def _fh_inputs(mdp, horizon, who):
    """Validated ``(H, P (S, A, S), R (S, A), gamma)`` of the finite-horizon PG diagnostics (every action available)."""
    check_mdp(mdp)
    from mdpkit._validation import check_int

    H = check_int(horizon, "horizon", minimum=1)
    if not np.all(mdp.action_mask):
        raise InvalidArgumentError(f"{who} needs every action available")
    return H, mdp.P_dense(), np.asarray(mdp.R, dtype=np.float64), float(mdp.gamma)


def pg_iterations_to_epsilon(mdp, horizon: int, epsilon: float, *, method: str = "dynamic", eta=None,
                             max_steps: int = 1_000_000, decay: bool = False) -> int | float:
    r"""Exact-gradient softmax PG steps needed to reach :math:`J^*-J(\theta)\le\epsilon` on a finite
    horizon, dynamic (backward in time) or simultaneous (Klein, Weissmann & Döring 2024, ICLR,
    "Beyond stationarity"; the horizon scaling it is used to check is
    :func:`mdpkit.bounds.dynamic_pg_steps_bound`).

    ``"simultaneous"``: full-gradient steps on all epochs (as :func:`finite_horizon_policy_gradient`)
    until the exact :math:`J^*-J\le\epsilon`.  ``"dynamic"``: epochs h = H-1..0 in turn, each a
    softmax contextual bandit with rewards :math:`Q_h` (later epochs frozen) and uniform state
    weights, trained until :math:`\max_s(\max_aQ_h(s,a)-\pi_h(\cdot|s)^\top Q_h(s,\cdot))\le\epsilon/H`;
    by the performance-difference lemma :math:`J^*-J\le\sum_h\max_s(\cdot)\le\epsilon`, so the
    returned total is a number of steps after which the guarantee holds.  Default steps as in
    :func:`finite_horizon_policy_gradient`: :math:`2/(5(H-h)w)` dynamic, :math:`2/(5H^2w)`
    simultaneous (``w`` the reward span); ``eta`` may be a callable ``eta(h, H)`` or a number;
    ``decay=True`` (dynamic only) divides the step by :math:`\sqrt{t+1}` at the t-th step of an epoch
    (a control outside the constant-step theorem).  Returns ``inf`` when ``max_steps`` is exceeded.
    """
    H, P, R, g = _fh_inputs(mdp, horizon, "pg_iterations_to_epsilon")
    S, A = R.shape
    eps = _check_eta(epsilon, "epsilon")
    if method not in ("dynamic", "simultaneous"):
        raise InvalidArgumentError(f"method must be 'dynamic' or 'simultaneous', got {method!r}")
    w = max(_reward_span(mdp), 1e-12)
    if eta is None:
        step = (lambda h, HH: 2.0 / (5.0 * (HH - h) * w)) if method == "dynamic" else (lambda h, HH: 2.0 / (5.0 * HH * HH * w))
    elif callable(eta):
        step = eta
    else:
        e0 = _check_eta(eta)
        step = lambda h, HH: e0  # noqa: E731
    mu = np.asarray(mdp.mu0, dtype=np.float64)
    if method == "dynamic":
        nu = np.full(S, 1.0 / S)
        V = np.zeros(S)
        total = 0
        from mdpkit._kernels.pg import softmax_bandit_steps

        pi = np.empty((S, A))
        for h in range(H - 1, -1, -1):
            Q = np.ascontiguousarray(R + g * (P @ V))
            n_h = softmax_bandit_steps(Q, nu, np.float64(step(h, H)), np.float64(eps / H),
                                       np.float64(0.5 if decay else 0.0), np.int64(max_steps - total), pi)
            if n_h < 0:
                return math.inf
            total += int(n_h)
            V = np.sum(pi * Q, axis=1)
        return total
    from .finite_horizon import backward_induction

    Js = float(mu @ np.asarray(backward_induction(mdp, H).v)[0])
    th = np.zeros((H, S, A))
    steps = np.array([float(step(h, H)) for h in range(H)])
    n = 0
    while True:
        pis = np.stack([masked_softmax(th[h], mdp.action_mask) for h in range(H)])
        Vn, Q = _fh_values(P, R, g, pis)
        if Js - float(mu @ Vn[0]) <= eps:
            return n
        d = mu.copy()
        for h in range(H):
            th[h] += steps[h] * d[:, None] * pis[h] * (Q[h] - Vn[h][:, None])
            d = g * (d @ np.einsum("sa,sat->st", pis[h], P))
        n += 1
        if n > max_steps:
            return math.inf


def dynamic_pg_epoch_run(mdp, horizon: int, n_steps: int, eta_fn, *, decay: bool = False):
    r"""Dynamic PG epoch by epoch (Klein, Weissmann & Döring 2024) with exact gradients, traced for the
    per-epoch softmax-bandit rate.

    Epochs h = H-1..0 (backwards in time), each ``n_steps`` steps of
    :math:`\theta_h(s,\cdot)\mathrel{+}=\eta_h\nu(s)\pi_h(\cdot|s)\circ(Q_h(s,\cdot)-\pi_h(\cdot|s)^\top Q_h(s,\cdot))`
    from uniform logits, :math:`Q_h = R+\gamma PV_{h+1}` of the current later epochs, :math:`\nu`
    uniform, ``eta_fn(h, H)`` the step (divided by :math:`\sqrt{t+1}` at step t when ``decay``: a
    control outside the constant-step theorem).  The iterates are scored against the final
    :math:`Q_h` (the training target: later epochs are frozen once trained).

    Returns
    -------
    worst, eta_state, C : ndarray (H, S)
        :math:`\max_{1\le t\le n}t\,(\max_aQ_h(s,a)-\pi_t(\cdot|s)^\top Q_h(s,\cdot))`, the per-state
        step :math:`\eta_h\nu(s)` and :math:`C=\min_{0\le t\le n}\pi_t(a^*|s)` (largest probability over
        the maximizers of the final :math:`Q_h(s,\cdot)`): the inputs of
        :func:`mdpkit.bounds.dynamic_pg_epoch_bound`.
    """
    from mdpkit._validation import check_int

    H, P, R, g = _fh_inputs(mdp, horizon, "dynamic_pg_epoch_run")
    S, A = R.shape
    n = check_int(n_steps, "n_steps", minimum=1)
    nu = np.full(S, 1.0 / S)
    pis = np.full((H, S, A), 1.0 / A)
    traces = np.empty((H, n + 1, S, A))
    eta_s = np.zeros((H, S))
    for h in range(H - 1, -1, -1):
        Q = _fh_values(P, R, g, pis)[1][h]
        e = float(eta_fn(h, H))
        eta_s[h] = e * nu
        th = np.zeros((S, A))
        for t in range(n + 1):
            pi = masked_softmax(th, mdp.action_mask)
            traces[h, t] = pi
            vq = np.sum(pi * Q, axis=1)
            th += (e / math.sqrt(t + 1.0) if decay else e) * nu[:, None] * pi * (Q - vq[:, None])
        pis[h] = traces[h, n]
    Qf = _fh_values(P, R, g, pis)[1]
    best = Qf.max(axis=2)
    opt = Qf >= best[..., None] - 1e-12 * max(1.0, float(np.max(np.abs(Qf))))
    gaps = best[:, None, :] - np.einsum("htsa,hsa->hts", traces, Qf)
    worst = np.max(np.arange(n + 1)[None, 1:, None] * gaps[:, 1:, :], axis=1)
    C = np.min(np.max(np.where(opt[:, None], traces, 0.0), axis=3), axis=1)
    return worst, eta_s, C


# ----------------------------------------------------------------------------- registry
_PO = "policy-optimization"
register_solver(SolverSpec("softmax_pg", softmax_policy_gradient, _PO, "softmax policy gradient, exact gradients",
                           "Mei et al. 2020, Thm 4 (number not checked against the text)"))
register_solver(SolverSpec("npg", natural_policy_gradient, _PO, "natural policy gradient (softmax), exact",
                           "Agarwal, Kakade, Lee & Mahajan 2021, Thm 16 (number not checked against the text)"))
register_solver(SolverSpec("pmd", policy_mirror_descent, _PO, "policy mirror descent (KL or Euclidean), exact",
                           "Xiao 2022, Thm 10 (number not checked against the text)"))
register_solver(SolverSpec("cpi", conservative_policy_iteration, _PO, "conservative policy iteration, exact",
                           "Kakade & Langford 2002, Thm 4.1 (number not checked against the text)"))

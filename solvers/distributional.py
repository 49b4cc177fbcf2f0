r"""Distributional policy evaluation: categorical and quantile dynamic programming, certified.

Both solvers iterate a *projected* distributional Bellman operator :math:`\Pi T^\pi` (see
:mod:`mdpkit.distributions` for :math:`T^\pi`) from an initial return-distribution function and
stop with a certificate from its contraction modulus:

* categorical (:func:`categorical_policy_evaluation`): :math:`\Pi_C T^\pi` is a
  :math:`\sqrt\gamma`-contraction in the supremum-Cramer metric
  :math:`\bar\ell_2(\eta, \eta') = \max_s \ell_2(\eta(s), \eta'(s))` (Rowland et al. 2018,
  Prop. 2), so :math:`\bar\ell_2(\eta_k, \eta_C) \le \frac{\sqrt\gamma}{1-\sqrt\gamma}\,
  \bar\ell_2(\eta_k, \eta_{k-1})`, where :math:`\eta_C` is the projected fixed point;
* quantile (:func:`quantile_policy_evaluation`): :math:`\Pi_Q T^\pi` is a :math:`\gamma`-contraction
  in :math:`\bar w_\infty` (Dabney et al. 2018, Prop. 2), so
  :math:`\bar w_\infty(\theta_k, \theta_Q) \le \frac{\gamma}{1-\gamma}\bar w_\infty(\theta_k, \theta_{k-1})`.

Rewards.  The realised reward of a transition is ``mdp.R_sas[s, a, s']`` when the model has
``R_sas``; otherwise the reward is taken to be the deterministic ``R[s, a]`` (so the return
distribution only reflects the randomness of the transitions and of the policy).

References
----------
.. [1] M. Rowland, M. G. Bellemare, W. Dabney, R. Munos, Y. W. Teh, "An analysis of categorical
   distributional reinforcement learning", AISTATS 2018 (Prop. 1: Cramer projection; Prop. 2:
   sqrt(gamma)-contraction of Pi_C T^pi in sup-Cramer; Prop. 3: fixed-point error).
.. [2] W. Dabney, M. Rowland, M. G. Bellemare, R. Munos, "Distributional reinforcement learning
   with quantile regression", AAAI 2018 (Lemma 2: W1 projection; Prop. 2: gamma-contraction of
   Pi_W1 T^pi in sup-w_inf).
.. [3] M. G. Bellemare, W. Dabney, M. Rowland, *Distributional Reinforcement Learning*, MIT Press,
   2023, Ch. 5.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds

from mdpkit._kernels import distributional as _dk
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_gamma, check_int, check_positive
from mdpkit.distributions import (
    CategoricalReturns,
    QuantileReturns,
    check_support,
    categorical_projection,
    policy_transition_entries,
    uniform_support,
)
from mdpkit.policies import check_policy
from mdpkit.results import SolveResult

from ._common import bracket_midpoint, build_result, check_mdp, initial_policy, q_matrix

__all__ = [
    "DistributionalControlResult",
    "DistributionalResult",
    "categorical_bellman_operator",
    "categorical_policy_evaluation",
    "categorical_value_iteration",
    "distributional_policy_iteration",
    "quantile_bellman_operator",
    "quantile_policy_evaluation",
    "quantile_value_iteration",
    "state_action_entries",
]

_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False, repr=False)
class DistributionalResult(SolveResult):
    r"""What a distributional policy-evaluation solver returns (a :class:`mdpkit.SolveResult`).

    The quantity computed is :math:`V^\pi`: ``v`` (S,) float64 is the mean of the returned laws
    (an estimate of :math:`V^\pi`) and ``v_error_bound`` a certified bound on
    :math:`\|v - V^\pi\|_\infty` (reward units), the smaller of

    * the a posteriori bound :math:`\|T^\pi v - v\|_\infty/(1-\gamma)` of the exact (linear)
      Bellman operator of the policy (:func:`mdpkit.bounds.residual_value_bound`; Puterman 1994,
      Thm 6.3.1 argument), which holds for any ``v``, quantile means included, and
    * categorical with a covering support only: :math:`\sqrt{z_K - z_1}` times the certified
      sup-Cramer distance to the projected fixed point, whose mean is exactly :math:`V^\pi`
      (:func:`mdpkit.bounds.mean_error_from_cramer`; Rowland et al. 2018, mean preservation),

    each widened by a rounding allowance of a few ulps.  ``certificate`` (``error_bound``) is the
    certified distance of the returned laws to the *projected* fixed point in ``error_metric``
    (:func:`mdpkit.bounds.categorical_evaluation_bound` or
    :func:`mdpkit.bounds.quantile_evaluation_bound`): the policy is given, so there is no
    suboptimality to certify.  ``policy`` is the evaluated policy ((S,) int64 or (S, A) float64);
    ``v_policy`` (deterministic policies) is the exact :math:`V^\pi`, computed on first access.
    One iteration is one application of :math:`\Pi T^\pi`; ``residuals (n_iter,)`` are the step
    sizes :math:`\bar d(\eta_k, \eta_{k-1})` in ``error_metric``.

    Attributes
    ----------
    returns : CategoricalReturns or QuantileReturns
        The last iterate, one law per state (``batch_shape == (S,)``).
    error_metric : str
        ``"sup-cramer"`` (categorical) or ``"sup-w_inf"`` (quantile).
    approximation_bound : float
        Categorical with a covering support: a certified bound on :math:`\bar\ell_2(\eta_k,
        \eta^\pi)` (distance to the *true* return distributions), ``error_bound +
        sqrt(max_gap / (1 - gamma))`` (Rowland et al. 2018, Prop. 3).  ``inf`` otherwise (no
        theorem bounds the quantile or a non-covering categorical fixed point's distance).
    covers_returns : bool
        Whether the (categorical) support contains ``[r_min/(1-gamma), r_max/(1-gamma)]``.
    stop_tol : float
        The step threshold the stopping rule used.
    """

    returns: object = None
    error_metric: str = ""
    approximation_bound: float = float("inf")
    covers_returns: bool = False
    stop_tol: float = float("nan")


def _setup(mdp, policy, epsilon, max_iter):
    mdp = check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False, who="mdp.gamma")
    eps = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    pi = check_policy(mdp, policy)
    ent = _dk.entries(*policy_transition_entries(mdp, pi))
    return mdp, gamma, eps, max_iter, pi, ent


def _evaluation_residual_bound(ent, gamma, v):
    r"""Certified :math:`\|v - V^\pi\|_\infty \le \|T^\pi v - v\|_\infty/(1-\gamma)` plus a rounding allowance."""
    indptr, nxt, w, rew = ent
    S = v.shape[0]
    if S == 0:
        return 0.0
    counts = np.diff(indptr)
    tv = np.bincount(np.repeat(np.arange(S), counts), weights=w * (rew + gamma * v[nxt]), minlength=S)
    resid = float(np.max(np.abs(tv - v)))
    scale = (float(np.max(np.abs(rew), initial=0.0)) + (1.0 + gamma) * float(np.max(np.abs(v))))
    slack = 4.0 * (int(counts.max()) + 2) * _EPS * scale
    return bounds.residual_value_bound(gamma, resid + slack).value


def categorical_policy_evaluation(
    mdp,
    policy,
    *,
    support=None,
    n_atoms: int = 51,
    epsilon: float = 1e-8,
    max_iter: int = 100_000,
    eta0=None,
) -> DistributionalResult:
    r"""Categorical distributional policy evaluation: iterate :math:`\eta \leftarrow \Pi_C T^\pi \eta`.

    Stops when :math:`\frac{\sqrt\gamma}{1-\sqrt\gamma}\bar\ell_2(\eta_k,\eta_{k-1}) \le \varepsilon`;
    then :math:`\bar\ell_2(\eta_k, \eta_C) \le \varepsilon` for the projected fixed point
    :math:`\eta_C` (Rowland et al. 2018, Prop. 2, sqrt(gamma)-contraction in sup-Cramer; constant
    checked against the statement as recalled in Bellemare, Dabney & Rowland 2023, Ch. 5 -- the
    search tool did not return the paper text, so it is *re-derived* in the tests, which check the
    contraction on exact finite-support laws).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR, ``gamma < 1``.  Rewards: ``R_sas`` if present, else ``R[s, a]``.
    policy : array_like, (S,) int or (S, A) float
    support : array_like (K,), optional
        Strictly increasing atoms; default ``n_atoms`` evenly spaced atoms on
        ``[r_min/(1-gamma), r_max/(1-gamma)]`` (the realised rewards of the policy's transitions),
        which covers every return, so the fixed point's mean is exactly :math:`V^\pi`.
    n_atoms : int, default 51
        Used only when ``support`` is omitted (>= 2).
    epsilon : float, default 1e-8
        Target sup-Cramer distance to the projected fixed point (reward units x sqrt(reward units)).
    max_iter : int, default 100_000
    eta0 : array_like (S, K), optional
        Initial probabilities; default the projection of a point mass at 0 in every state.

    Returns
    -------
    DistributionalResult
        ``returns`` a :class:`~mdpkit.distributions.CategoricalReturns` with probs (S, K);
        ``v`` (S,) float64 its means, the estimate of :math:`V^\pi`, with the certified
        ``v_error_bound`` (see :class:`DistributionalResult`); ``certificate`` the sup-Cramer
        distance to the projected fixed point; ``approximation_bound`` (covering support) the
        sup-Cramer distance to the true return laws.

    Raises
    ------
    InvalidArgumentError
        Bad ``support``, ``n_atoms``, ``epsilon``, ``max_iter`` or ``eta0``; not a TabularMDP.
    InvalidMDPError
        ``gamma == 1``.
    InvalidPolicyError
        Bad policy.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` reached first (the bound still holds and is reported).

    Notes
    -----
    Cost per iteration O(E K log K), E = number of ``(s, a, s')`` with positive probability
    under the policy.  The iterates are probability vectors (no mass is created or lost).
    """
    t0 = time.perf_counter()
    mdp, gamma, eps, max_iter, pi, ent = _setup(mdp, policy, epsilon, max_iter)
    S = mdp.S
    rew = ent[3]
    r_lo, r_hi = float(rew.min()), float(rew.max())
    g_lo, g_hi = r_lo / (1.0 - gamma), r_hi / (1.0 - gamma)
    if support is None:
        K = check_int(n_atoms, "n_atoms", minimum=2)
        if g_hi - g_lo <= 0:
            z = uniform_support(g_lo - 1.0, g_hi + 1.0, K)
        else:
            z = uniform_support(g_lo, g_hi, K)
    else:
        z = check_support(support)
        K = z.shape[0]
    z = _dk.ro(z)
    covers = bool(z[0] <= g_lo and z[-1] >= g_hi)
    if eta0 is None:
        eta = np.tile(categorical_projection(np.zeros(1), np.ones(1), z), (S, 1))
    else:
        eta = _dk.wr(CategoricalReturns(z, eta0).probs)
        if eta.shape != (S, K):
            raise InvalidArgumentError(f"eta0 must have shape (S, K) = ({S}, {K}), got {eta.shape}")
    tol = bounds.categorical_stopping_tol(eps, gamma)
    work = (np.empty_like(eta), np.empty((_dk.N_CHUNKS, K)))
    residuals = np.empty(max_iter)
    n = _dk.categorical_evaluation_loop(ent, z, float(gamma), eta, work, float(tol), max_iter, residuals)
    residuals = residuals[:n].copy()
    cert = bounds.categorical_evaluation_bound(gamma, residuals[-1])
    err = cert.value
    converged = bool(residuals[-1] <= tol)
    ret = CategoricalReturns(z, eta)
    v = np.asarray(ret.mean(), dtype=np.float64)
    v_err = _evaluation_residual_bound(ent, gamma, v)
    approx = float("inf")
    if covers:
        gap = float(np.max(np.diff(z))) if K > 1 else 0.0
        approx = err + bounds.categorical_fixed_point_bound(gamma, gap).value
        zmax = float(np.max(np.abs(z)))
        v_err = min(v_err, bounds.mean_error_from_cramer(z[-1] - z[0], err).value + 4.0 * (K + 2) * _EPS * zmax)
    msg = (f"{'converged' if converged else 'max_iter reached'} after {n} iterations; sup-Cramer distance to the "
           f"projected fixed point <= {err:.3g}; |v - V^pi| <= {v_err:.3g}")
    return build_result(
        mdp, cls=DistributionalResult, v=v, v_error_bound=v_err, policy=pi, certificate=cert, converged=converged,
        n_iter=n, residuals=residuals, method="categorical_policy_evaluation",
        options={"epsilon": eps, "max_iter": max_iter, "n_atoms": K, "support_min": float(z[0]),
                 "support_max": float(z[-1]), "stop_tol": tol, "eta0_given": eta0 is not None},
        t0=t0, message=msg, returns=ret, error_metric="sup-cramer", approximation_bound=approx,
        covers_returns=covers, stop_tol=float(tol),
    )


def quantile_policy_evaluation(
    mdp,
    policy,
    *,
    n_quantiles: int = 51,
    epsilon: float = 1e-8,
    max_iter: int = 100_000,
    theta0=None,
) -> DistributionalResult:
    r"""Quantile distributional policy evaluation: iterate :math:`\theta \leftarrow \Pi_Q T^\pi \theta`.

    :math:`\Pi_Q` puts ``m`` atoms of mass ``1/m`` at :math:`F^{-1}(\tau_i)`,
    :math:`\tau_i = (2i-1)/(2m)` (the W1 projection, Dabney et al. 2018, Lemma 2).  Stops when
    :math:`\frac{\gamma}{1-\gamma}\bar w_\infty(\theta_k,\theta_{k-1}) \le \varepsilon`; then
    :math:`\bar w_\infty(\theta_k, \theta_Q) \le \varepsilon` for the projected fixed point
    (Dabney et al. 2018, Prop. 2, gamma-contraction in sup-w_inf; statement as recalled, checked
    numerically in the tests).  The quantile fixed point does **not** in general have mean
    :math:`V^\pi`, so ``v_error_bound`` comes from the exact Bellman residual of the means,
    :math:`\|T^\pi v - v\|_\infty/(1-\gamma)` (Puterman 1994, Thm 6.3.1 argument), which reports
    that bias honestly.

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR, ``gamma < 1``.  Rewards: ``R_sas`` if present, else ``R[s, a]``.
    policy : array_like, (S,) int or (S, A) float
    n_quantiles : int, default 51
    epsilon : float, default 1e-8
        Target sup-w_inf distance to the projected fixed point, in reward units.
    max_iter : int, default 100_000
    theta0 : array_like (S, m), optional
        Initial atoms (sorted per row); zeros by default.

    Returns
    -------
    DistributionalResult
        ``returns`` a :class:`~mdpkit.distributions.QuantileReturns` with locations (S, m);
        ``v`` (S,) float64 its means with the certified ``v_error_bound`` on
        :math:`\|v - V^\pi\|_\infty`; ``certificate`` the sup-:math:`w_\infty` distance to the
        projected (quantile) fixed point; ``approximation_bound`` is ``inf``.

    Raises
    ------
    InvalidArgumentError, InvalidMDPError, InvalidPolicyError
        As :func:`categorical_policy_evaluation`.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` reached first.

    Notes
    -----
    Cost per iteration O(E m log(E_s m)) (a sort of each state's target atoms).  Cumulative masses
    are compared with ``cum >= tau - 1e-12`` (:data:`mdpkit.distributions.QUANTILE_LEVEL_ATOL`).
    """
    t0 = time.perf_counter()
    mdp, gamma, eps, max_iter, pi, ent = _setup(mdp, policy, epsilon, max_iter)
    S = mdp.S
    m = check_int(n_quantiles, "n_quantiles", minimum=1)
    if theta0 is None:
        theta = np.zeros((S, m))
    else:
        theta = _dk.wr(QuantileReturns(theta0).locations)
        if theta.shape != (S, m):
            raise InvalidArgumentError(f"theta0 must have shape (S, m) = ({S}, {m}), got {theta.shape}")
    tol = bounds.quantile_stopping_tol(eps, gamma)
    work = (np.empty_like(theta), _dk.quantile_scratch(ent[0], m))
    residuals = np.empty(max_iter)
    n = _dk.quantile_evaluation_loop(ent, float(gamma), theta, work, float(tol), max_iter, residuals)
    residuals = residuals[:n].copy()
    cert = bounds.quantile_evaluation_bound(gamma, residuals[-1])
    err = cert.value
    converged = bool(residuals[-1] <= tol)
    ret = QuantileReturns(theta)
    v = np.asarray(ret.mean(), dtype=np.float64)
    v_err = _evaluation_residual_bound(ent, gamma, v)
    msg = (f"{'converged' if converged else 'max_iter reached'} after {n} iterations; sup-w_inf distance to the "
           f"projected fixed point <= {err:.3g}; |v - V^pi| <= {v_err:.3g}")
    return build_result(
        mdp, cls=DistributionalResult, v=v, v_error_bound=v_err, policy=pi, certificate=cert, converged=converged,
        n_iter=n, residuals=residuals, method="quantile_policy_evaluation",
        options={"epsilon": eps, "max_iter": max_iter, "n_quantiles": m, "stop_tol": tol,
                 "theta0_given": theta0 is not None},
        t0=t0, message=msg, returns=ret, error_metric="sup-w_inf", covers_returns=False, stop_tol=float(tol),
    )


# ============================================================================ control
_NOT_CONTRACTION = (
    "The distributional Bellman *optimality* operator is not a contraction in any metric in general "
    "(Bellemare, Dabney & Munos 2017, Prop. 1 and the counterexample after it; Bellemare, Dabney & "
    "Rowland 2023, Ch. 7), so no distributional convergence rate is claimed for the iterates"
)


@dataclass(frozen=True, eq=False, repr=False)
class DistributionalControlResult(SolveResult):
    r"""A :class:`mdpkit.SolveResult` plus return distributions (distributional control solvers).

    Every :class:`~mdpkit.SolveResult` field keeps its meaning: ``policy`` (S,) int64; ``v`` (S,)
    the estimate of :math:`v^*` with the certified ``v_error_bound`` on :math:`\|v - v^*\|_\infty`;
    ``v_iterate`` (S,) the means of ``returns`` (the solver's own iterate, which is *not* in
    general within ``v_error_bound`` of :math:`v^*`); ``q`` (S, A) the means of ``returns_sa``;
    ``certificate`` a certified bound on :math:`\max_s v^*(s) - v_\pi(s)`.

    Attributes
    ----------
    returns : CategoricalReturns or QuantileReturns
        The last iterate, one law per state (``batch_shape == (S,)``).
    returns_sa : CategoricalReturns or QuantileReturns
        State-action laws of the last sweep (``batch_shape == (S, A)``), whose means are ``q``;
        rows of masked actions hold a placeholder (the point mass at the atom nearest 0, or zeros
        for quantiles): use ``mdp.action_mask``.
    policy_returns : DistributionalResult or None
        Certified distributional evaluation of the returned policy (same representation), when
        requested.
    covers_returns : bool
        Categorical: whether the support covers ``[r_min, r_max]/(1-gamma)``.
    spans : ndarray of float64, shape (n_iter,), or None
        Span of each sweep's change of the means (categorical VI).
    n_changed : ndarray of int64, shape (n_iter,), or None
        Greedy actions switched per sweep (VI) or per improvement step (PI).
    mean_steps : ndarray of float64, shape (n_iter,), or None
        Sup-norm change of the means per sweep (quantile VI).
    eval_error_bound : float
        Policy iteration: certified :math:`\|v_{\text{eval}} - V^{\pi}\|_\infty` of the last
        categorical evaluation (:math:`\delta`); ``nan`` for the other solvers.
    """

    returns: object = None
    returns_sa: object = None
    policy_returns: object = None
    covers_returns: bool = False
    spans: np.ndarray | None = None
    n_changed: np.ndarray | None = None
    mean_steps: np.ndarray | None = None
    eval_error_bound: float = float("nan")


def state_action_entries(mdp):
    r"""Flatten ``P(s'|s, a)`` and the realised rewards into entry lists per state-action row ``s*A + a``.

    Returns ``(sa_indptr (S*A+1,) int64, nxt (E,) int64, w (E,) float64, rew (E,) float64)``;
    rows of masked actions are empty.  Within a row entries are sorted by reward, then next
    state, so entries with equal rewards are consecutive (the kernels mix them before projecting).
    """
    S, A = mdp.S, mdp.A
    Prow = (mdp.P_rows.tocsr() if mdp.is_sparse else sp.csr_matrix(mdp.P_rows)).tocoo()
    rows, cols, vals = Prow.row.astype(np.int64), Prow.col.astype(np.int64), Prow.data
    s_of, a_of = rows // A, rows % A
    if mdp.R_sas is not None:
        Rs = mdp.R_sas
        rew = np.asarray(Rs.tocsr()[rows, cols]).ravel() if sp.issparse(Rs) else Rs[s_of, a_of, cols]
    else:
        rew = mdp.R[s_of, a_of]
    keep = (vals > 0) & mdp.action_mask.reshape(-1)[rows]
    rows, cols, vals, rew = rows[keep], cols[keep], vals[keep], np.asarray(rew, dtype=np.float64)[keep]
    order = np.lexsort((cols, rew, rows))
    sa_indptr = np.zeros(S * A + 1, dtype=np.int64)
    np.add.at(sa_indptr, rows + 1, 1)
    return (np.cumsum(sa_indptr), np.ascontiguousarray(cols[order]), np.ascontiguousarray(vals[order], dtype=np.float64),
            np.ascontiguousarray(rew[order]))


def _return_range(mdp, gamma, rew):
    r_lo, r_hi = (float(rew.min()), float(rew.max())) if rew.size else (0.0, 0.0)
    return r_lo / (1.0 - gamma), r_hi / (1.0 - gamma)


def _control_support(support, n_atoms, g_lo, g_hi):
    if support is None:
        K = check_int(n_atoms, "n_atoms", minimum=2)
        return uniform_support(g_lo - 1.0, g_hi + 1.0, K) if g_hi - g_lo <= 0 else uniform_support(g_lo, g_hi, K)
    return check_support(support)


def _policy_residual_bound(mdp, gamma, policy):
    """Certificate of any deterministic policy from its exact value: ||T v_pi - v_pi|| / (1 - gamma)."""
    from mdpkit.policies import bellman_operator, policy_evaluation

    v_pi = policy_evaluation(mdp, policy)
    tv = bellman_operator(mdp, v_pi)[0]
    return v_pi, bounds.residual_value_bound(gamma, float(np.max(np.abs(tv - v_pi))))


def _bracket_from_policy(v_pi, cert):
    r"""``v* in [v_pi, v_pi + c]`` (``v_pi <= v*`` and ``||v* - v_pi|| <= c``): midpoint and half-width."""
    lo = np.asarray(v_pi, dtype=np.float64)
    hi = lo + float(cert.value)
    v, err = bracket_midpoint(lo, hi)
    return v, err, lo, hi


def categorical_value_iteration(
    mdp,
    *,
    support=None,
    n_atoms: int = 51,
    epsilon: float = 1e-6,
    max_iter: int = 100_000,
    eta0=None,
    evaluate_returns: bool = True,
) -> DistributionalControlResult:
    r"""Categorical distributional value iteration (control), certified through the means.

    One iteration computes the state-action laws :math:`\eta_{sa} = \Pi_C T\eta_k` (each
    :math:`(s, a)` row is :math:`\Pi_C \sum_{s'} P(s'|s,a) (b_{r(s,a,s'),\gamma})_\#\eta_k(s')`),
    picks :math:`\pi_k(s) \in \arg\max_a \mathbb{E}\,\eta_{sa}(s, a)` (ties to the lowest action)
    and sets :math:`\eta_{k+1}(s) = \eta_{sa}(s, \pi_k(s))`.

    Guarantee.  The distributional optimality operator is **not** a contraction in general
    (Bellemare, Dabney & Munos 2017, Prop. 1 and its counterexample; Bellemare, Dabney & Rowland
    2023, Ch. 7), so the laws need not converge (ties can make them oscillate).  Their *means* do:
    when the support covers :math:`[r_{\min}/(1-\gamma), r_{\max}/(1-\gamma)]` (the default) every
    target atom :math:`r + \gamma z_j` lies in :math:`[z_1, z_K]`, where :math:`\Pi_C` preserves
    means (Rowland et al. 2018, Prop. 1), so the means :math:`v_k` follow classic value iteration
    :math:`v_{k+1} = T v_k` exactly (up to rounding).  The solver therefore stops with value
    iteration's rule :math:`\|v_{k+1}-v_k\|_\infty < \varepsilon(1-\gamma)/(2\gamma)` (Puterman
    1994, Thm 6.3.1) and certifies :math:`\pi_k` (greedy for :math:`v_k`) with the
    MacQueen-Porteus bound :math:`\|v^*-v_{\pi}\|_\infty \le \frac{\gamma}{1-\gamma}
    \operatorname{sp}(v_{k+1}-v_k)` (:func:`mdpkit.bounds.greedy_span_bound`).  With a support that
    does not cover the returns the means are not VI iterates; the policy is then certified from its
    exact value, :math:`\|v^* - v_\pi\|_\infty \le \|Tv_\pi - v_\pi\|_\infty/(1-\gamma)`
    (:func:`mdpkit.bounds.residual_value_bound`).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR, ``gamma < 1``.  Rewards: ``R_sas`` if present, else ``R[s, a]``.
    support : array_like (K,), optional
        Strictly increasing atoms; default ``n_atoms`` evenly spaced atoms on
        ``[r_min/(1-gamma), r_max/(1-gamma)]`` over all available transitions.
    n_atoms : int, default 51
    epsilon : float, default 1e-6
        Target suboptimality of the returned policy, in reward units.
    max_iter : int, default 100_000
        Maximum number of applications of the categorical optimality operator.
    eta0 : array_like (S, K), optional
        Initial probabilities; default the projection of a point mass at 0 in every state.
    evaluate_returns : bool, default True
        Also run :func:`categorical_policy_evaluation` of the returned policy on the same support
        (``policy_returns``).

    Returns
    -------
    DistributionalControlResult
        ``v`` (S,) float64 the estimate of :math:`v^*`: with a covering support the midpoint of the
        MacQueen-Porteus bracket ``[v_lower, v_upper]`` (:func:`mdpkit.bounds.macqueen_bounds`),
        otherwise the midpoint of ``[v_pi, v_pi + certificate]``; ``v_error_bound`` its certified
        half-width; ``v_iterate`` (S,) the means of ``returns`` (:math:`v_{k+1}`); ``policy`` (S,)
        int64 greedy for :math:`v_k`; ``q`` (S, A) means of ``returns_sa`` (:math:`T` applied to
        :math:`v_k`, masked actions ``-inf``); ``residuals`` (n_iter,)
        :math:`\|v_{j+1}-v_j\|_\infty`; ``returns`` CategoricalReturns (S, K)
        :math:`\eta_{k+1}`; ``returns_sa`` (S, A, K); ``spans`` (n_iter,), ``n_changed``
        (n_iter,) int64 (greedy actions switched per sweep), ``covers_returns``; ``v_policy``
        exact (computed on first access, or already when the certificate needed it).

    Raises
    ------
    InvalidArgumentError
        Bad ``support``, ``n_atoms``, ``epsilon``, ``max_iter`` or ``eta0``; not a TabularMDP.
    InvalidMDPError
        ``gamma >= 1``.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` reached first (the bound still holds and is reported).

    Notes
    -----
    Cost per iteration O(E_sa K) where E_sa = number of ``(s, a, s')`` with positive probability
    (entries with equal reward are mixed before one projection).  Sweeps above
    ``PAR_MIN_WORK_DIST`` run in parallel over fixed state blocks; results do not depend on the
    thread count.  Constants: Prop. 1 of Rowland et al. (2018) (mean preservation) and Thm 6.3.1 of
    Puterman (1994) as recalled; the search tool did not return the papers' text, so the identity
    "means = VI iterates" is checked against classic VI in the tests and by ``mdpkit verify``.

    References
    ----------
    .. [1] M. G. Bellemare, W. Dabney, R. Munos, "A distributional perspective on reinforcement
       learning", ICML 2017 (Prop. 1: the optimality operator is not a contraction).
    .. [2] M. Rowland et al., "An analysis of categorical distributional reinforcement learning",
       AISTATS 2018.
    .. [3] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Thm 6.3.1.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit import TabularMDP
    >>> from mdpkit.solvers.distributional import categorical_value_iteration
    >>> P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    >>> res = categorical_value_iteration(TabularMDP(P, R, 0.9), n_atoms=11, epsilon=1e-6)
    >>> res.policy, res.returns_sa.batch_shape
    (array([1, 0]), (2, 2))
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False, who="mdp.gamma")
    eps = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    S, A = mdp.S, mdp.A
    ent = _dk.entries(*state_action_entries(mdp))
    g_lo, g_hi = _return_range(mdp, gamma, ent[3])
    z = _dk.ro(_control_support(support, n_atoms, g_lo, g_hi))
    K = z.shape[0]
    covers = bool(z[0] <= g_lo and z[-1] >= g_hi)
    point0 = categorical_projection(np.zeros(1), np.ones(1), z)
    if eta0 is None:
        eta = np.tile(point0, (S, 1))
    else:
        eta = _dk.wr(CategoricalReturns(z, eta0).probs)
        if eta.shape != (S, K):
            raise InvalidArgumentError(f"eta0 must have shape (S, K) = ({S}, {K}), got {eta.shape}")
    tol = bounds.vi_norm_stopping_tol(eps, gamma)
    mask1 = _dk.ro(mdp.action_mask.reshape(-1), np.bool_)
    eta_sa = np.tile(point0, (S * A, 1))
    buf, mix = np.empty_like(eta), np.empty((_dk.N_CHUNKS, K))
    q1, pi = np.empty(S * A), np.full(S, -1, dtype=np.int64)
    v, v_new = eta @ z, np.empty(S)
    residuals, spans, changed, dmm = np.empty(max_iter), np.empty(max_iter), np.empty(max_iter, np.int64), np.empty(2)
    n = _dk.categorical_value_iteration_loop(A, ent, mask1, z, float(gamma), (eta, buf, mix, eta_sa, q1, pi, v, v_new),
                                             float(tol), max_iter, (residuals, spans, dmm, changed))
    converged = bool(residuals[n - 1] < tol)
    options = dict(epsilon=eps, max_iter=max_iter, tol=tol, n_atoms=K, support_min=float(z[0]),
                   support_max=float(z[-1]), eta0_given=eta0 is not None, evaluate_returns=bool(evaluate_returns))
    if covers:
        lo, hi = bounds.macqueen_bounds(gamma, v_new, dmm[0], dmm[1])
        v_est, v_err = bracket_midpoint(lo, hi)
        cert, v_pi = bounds.greedy_span_bound(gamma, dmm[1] - dmm[0]), None
    else:
        v_pi, cert = _policy_residual_bound(mdp, gamma, pi)
        v_est, v_err, lo, hi = _bracket_from_policy(v_pi, cert)
    pol_ret = categorical_policy_evaluation(mdp, pi, support=z) if evaluate_returns else None
    return build_result(
        mdp, cls=DistributionalControlResult, v=v_est, v_error_bound=v_err, policy=pi, certificate=cert,
        converged=converged, n_iter=n, residuals=residuals[:n].copy(), method="categorical_value_iteration",
        options=options, t0=t0, v_policy=v_pi, q=q_matrix(q1, mask1, S, A), v_iterate=v_new, v_lower=lo, v_upper=hi,
        returns=CategoricalReturns(z, buf), returns_sa=CategoricalReturns(z, eta_sa.reshape(S, A, K)),
        policy_returns=pol_ret, covers_returns=covers, spans=spans[:n].copy(), n_changed=changed[:n].copy(),
    )


def quantile_value_iteration(
    mdp,
    *,
    n_quantiles: int = 51,
    epsilon: float = 1e-6,
    max_iter: int = 10_000,
    theta0=None,
    evaluate_returns: bool = True,
) -> DistributionalControlResult:
    r"""Quantile distributional value iteration (control), with an a posteriori certificate.

    One iteration computes :math:`\theta_{sa} = \Pi_Q T\theta_k` per state-action pair (``m``
    atoms at :math:`F^{-1}(\tau_i)`, Dabney et al. 2018, Lemma 2), picks the action with the largest
    atom mean (ties to the lowest index) and sets :math:`\theta_{k+1}(s) = \theta_{sa}(s, \pi_k(s))`.

    Guarantee.  None for the iterates: the optimality operator is not a contraction (Bellemare,
    Dabney & Munos 2017, Prop. 1), and, unlike the categorical projection, :math:`\Pi_Q` does not
    preserve means, so the means are *not* value-iteration iterates and the greedy policy can be
    suboptimal even at a fixed point.  The solver stops when the greedy policy did not change in a
    sweep and the sup-:math:`w_\infty` step is below :math:`\varepsilon(1-\gamma)/(2\gamma)` (a
    heuristic), and certifies the returned policy from its exact value:
    :math:`\|v^* - v_\pi\|_\infty \le \|Tv_\pi - v_\pi\|_\infty/(1-\gamma)`
    (:func:`mdpkit.bounds.residual_value_bound`, Puterman 1994, Thm 6.3.1 proof), which is 0 when
    the policy is optimal.

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR, ``gamma < 1``.  Rewards: ``R_sas`` if present, else ``R[s, a]``.
    n_quantiles : int, default 51
    epsilon : float, default 1e-6
        Scale of the heuristic stopping rule (reward units).
    max_iter : int, default 10_000
    theta0 : array_like (S, m), optional
        Initial atoms (sorted per row); zeros by default.
    evaluate_returns : bool, default True
        Also run :func:`quantile_policy_evaluation` of the returned policy (``policy_returns``).

    Returns
    -------
    DistributionalControlResult
        ``v`` (S,) float64 the estimate of :math:`v^*`, the midpoint of the certified bracket
        ``[v_lower, v_upper] = [v_pi, v_pi + certificate]`` (:math:`v_\pi \le v^*`), with
        ``v_error_bound`` its half-width; ``v_iterate`` (S,) the means of ``returns`` (biased:
        :math:`\Pi_Q` does not preserve means); ``v_policy`` (S,) exact value of ``policy`` (always
        computed: the certificate needs it); ``q`` (S, A) atom means of ``returns_sa``;
        ``residuals`` (n_iter,) sup-:math:`w_\infty` steps; ``returns`` QuantileReturns (S, m);
        ``returns_sa`` (S, A, m); ``mean_steps`` (n_iter,), ``n_changed`` (n_iter,) int64.

    Raises
    ------
    InvalidArgumentError
        Bad ``n_quantiles``, ``epsilon``, ``max_iter`` or ``theta0``; not a TabularMDP.
    InvalidMDPError
        ``gamma >= 1``.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` reached first (the certificate is still valid).

    Notes
    -----
    Cost per iteration O(E_sa m log b) (bottom-up merge of the ``b`` sorted runs of a row).

    References
    ----------
    .. [1] W. Dabney, M. Rowland, M. G. Bellemare, R. Munos, "Distributional reinforcement learning
       with quantile regression", AAAI 2018.
    .. [2] M. G. Bellemare, W. Dabney, R. Munos, ICML 2017, Prop. 1.
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False, who="mdp.gamma")
    eps = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    m = check_int(n_quantiles, "n_quantiles", minimum=1)
    S, A = mdp.S, mdp.A
    ent = _dk.entries(*state_action_entries(mdp))
    if theta0 is None:
        theta = np.zeros((S, m))
    else:
        theta = _dk.wr(QuantileReturns(theta0).locations)
        if theta.shape != (S, m):
            raise InvalidArgumentError(f"theta0 must have shape (S, m) = ({S}, {m}), got {theta.shape}")
    tol = bounds.vi_norm_stopping_tol(eps, gamma)
    mask1 = _dk.ro(mdp.action_mask.reshape(-1), np.bool_)
    theta_sa = np.zeros((S * A, m))
    buf, scratch = np.empty_like(theta), _dk.quantile_scratch(ent[0], m)
    q1, pi = np.empty(S * A), np.full(S, -1, dtype=np.int64)
    v, v_new = theta.mean(axis=1), np.empty(S)
    residuals, steps, changed, dmm = np.empty(max_iter), np.empty(max_iter), np.empty(max_iter, np.int64), np.empty(2)
    n = _dk.quantile_value_iteration_loop(A, ent, mask1, float(gamma), (theta, buf, scratch, theta_sa, q1, pi, v, v_new),
                                          float(tol), max_iter, (residuals, steps, dmm, changed))
    converged = bool(residuals[n - 1] < tol and changed[n - 1] == 0)
    v_pi, cert = _policy_residual_bound(mdp, gamma, pi)
    v_est, v_err, lo, hi = _bracket_from_policy(v_pi, cert)
    pol_ret = quantile_policy_evaluation(mdp, pi, n_quantiles=m) if evaluate_returns else None
    return build_result(
        mdp, cls=DistributionalControlResult, v=v_est, v_error_bound=v_err, policy=pi, certificate=cert,
        converged=converged, n_iter=n, residuals=residuals[:n].copy(), method="quantile_value_iteration",
        options=dict(epsilon=eps, max_iter=max_iter, tol=tol, n_quantiles=m, theta0_given=theta0 is not None,
                     evaluate_returns=bool(evaluate_returns)),
        t0=t0, v_policy=v_pi, q=q_matrix(q1, mask1, S, A), v_iterate=v_new, v_lower=lo, v_upper=hi,
        message=(f"{'stopped' if converged else 'max_iter reached'} after {n} iterations (heuristic rule); "
                 f"certified suboptimality of the policy <= {cert.value:.3g}; |v - v*| <= {v_err:.3g}"),
        returns=QuantileReturns(buf), returns_sa=QuantileReturns(theta_sa.reshape(S, A, m)), policy_returns=pol_ret,
        mean_steps=steps[:n].copy(), n_changed=changed[:n].copy(),
    )


def distributional_policy_iteration(
    mdp,
    *,
    support=None,
    n_atoms: int = 51,
    policy0=None,
    eval_epsilon: float = 1e-10,
    max_iter: int = 1_000,
    tie_rtol: float = 1e-12,
) -> DistributionalControlResult:
    r"""Distributional policy iteration: certified categorical evaluation, greedy improvement on the means.

    Each iteration evaluates :math:`\pi_k` with :func:`categorical_policy_evaluation` (covering
    support, so the fixed point's mean is :math:`V^{\pi_k}` and the iterate's means :math:`v` satisfy
    :math:`\|v - V^{\pi_k}\|_\infty \le \delta` with the certified ``v_error_bound`` :math:`\delta`),
    forms the state-action laws :math:`\Pi_C T\eta` whose means are
    :math:`\hat q = r + \gamma P v` (:math:`|\hat q - Q^{\pi_k}| \le \gamma\delta`), and switches the
    action in state ``s`` only when :math:`\max_a \hat q(s,a) > \hat q(s,\pi_k(s)) + \theta`,
    :math:`\theta = 2\gamma\delta + ` ``tie_rtol`` :math:`(1+\max|v|)`.

    Guarantee.  Every switch is then a strict improvement of :math:`Q^{\pi_k}` over
    :math:`V^{\pi_k}`, so by the policy improvement theorem (Puterman 1994, Prop. 6.4.1) values
    increase, no policy repeats and the method stops after finitely many iterations (at most the
    number of deterministic policies) like Howard's PI.  At the stop
    :math:`T v_{\pi} - v_{\pi} \le \theta + 2\gamma\delta` componentwise, hence
    :math:`\|v^* - v_\pi\|_\infty \le (\theta + 2\gamma\delta)/(1-\gamma)`
    (:func:`mdpkit.bounds.residual_value_bound`); this is the reported ``error_bound``.

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR, ``gamma < 1``.
    support : array_like (K,), optional
        Must cover ``[r_min/(1-gamma), r_max/(1-gamma)]``; default ``n_atoms`` evenly spaced atoms
        on that interval.
    n_atoms : int, default 51
    policy0 : array_like (S,) int, optional
        Initial deterministic policy; default greedy for ``R`` (first available action on ties).
    eval_epsilon : float, default 1e-10
        Sup-Cramer accuracy of each evaluation (sets :math:`\delta`).
    max_iter : int, default 1_000
        Maximum number of evaluations.
    tie_rtol : float, default 1e-12

    Returns
    -------
    DistributionalControlResult
        ``v`` (S,) float64 means of the last evaluation, with the certified
        ``v_error_bound`` :math:`= \delta + ` ``error_bound`` on :math:`\|v - v^*\|_\infty`
        (:math:`|v - V^\pi| \le \delta` and :math:`0 \le v^* - V^\pi \le` ``error_bound``);
        ``eval_error_bound`` :math:`\delta`; ``q`` (S, A); ``residuals`` (n_iter,)
        :math:`\max_s(\max_a\hat q - \hat q(s,\pi_k(s)))`; ``returns`` the last evaluation's
        CategoricalReturns (S, K); ``returns_sa`` (S, A, K); ``policy_returns`` the last
        :class:`DistributionalResult`; ``n_changed`` (n_iter,) int64; ``v_policy`` computed on
        first access.

    Raises
    ------
    InvalidArgumentError
        A support that does not cover the returns, bad ``n_atoms``, ``policy0``, ``eval_epsilon``,
        ``max_iter``; not a TabularMDP.
    InvalidMDPError
        ``gamma >= 1``.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` evaluations without the policy becoming stable.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.4.
    .. [2] M. Rowland et al., AISTATS 2018 (mean preservation of the categorical projection).
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False, who="mdp.gamma")
    ev_eps = check_positive(eval_epsilon, "eval_epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tie = check_positive(tie_rtol, "tie_rtol", allow_zero=True)
    S, A = mdp.S, mdp.A
    ent = _dk.entries(*state_action_entries(mdp))
    g_lo, g_hi = _return_range(mdp, gamma, ent[3])
    z = _dk.ro(_control_support(support, n_atoms, g_lo, g_hi))
    K = z.shape[0]
    if not (z[0] <= g_lo and z[-1] >= g_hi):
        raise InvalidArgumentError(
            f"support [{z[0]:g}, {z[-1]:g}] must cover the returns [{g_lo:g}, {g_hi:g}] = [r_min, r_max]/(1-gamma): "
            "policy iteration needs the means of the categorical evaluation to be V^pi")
    pi = initial_policy(mdp, policy0)
    if pi is None:
        pi = np.argmax(np.where(mdp.action_mask, mdp.R, -np.inf), axis=1).astype(np.int64)
    mask1 = _dk.ro(mdp.action_mask.reshape(-1), np.bool_)
    eta_sa = np.tile(categorical_projection(np.zeros(1), np.ones(1), z), (S * A, 1))
    buf, mix = np.empty((S, K)), np.empty((_dk.N_CHUNKS, K))
    q1, greedy = np.empty(S * A), np.empty(S, dtype=np.int64)
    inv_dz = float(_dk.uniform_inverse_step(z))
    residuals, changed = [], []
    converged, thr, delta = False, 0.0, 0.0
    for _ in range(max_iter):
        ev = categorical_policy_evaluation(mdp, pi, support=z, epsilon=ev_eps)
        v = np.asarray(ev.v)
        delta = float(ev.v_error_bound)
        _dk.categorical_control_sweep(A, ent, mask1, z, float(gamma), inv_dz, _dk.wr(ev.returns.probs), mix,
                                      (eta_sa, q1, greedy), buf)
        q = q1.reshape(S, A)
        cur = q[np.arange(S), pi]
        best = q[np.arange(S), greedy]
        thr = 2.0 * gamma * delta + tie * (1.0 + float(np.abs(v).max()))
        switch = best > cur + thr
        residuals.append(float(np.max(best - cur)))
        changed.append(int(switch.sum()))
        if not switch.any():
            converged = True
            break
        pi = np.where(switch, greedy, pi).astype(np.int64)
    cert = bounds.residual_value_bound(gamma, thr + 2.0 * gamma * delta)
    return build_result(
        mdp, cls=DistributionalControlResult, v=v.copy(), v_error_bound=delta + cert.value, policy=pi,
        certificate=cert, converged=converged, n_iter=len(residuals), residuals=np.asarray(residuals, dtype=np.float64),
        method="distributional_policy_iteration",
        options=dict(eval_epsilon=ev_eps, max_iter=max_iter, tie_rtol=tie, n_atoms=K, support_min=float(z[0]),
                     support_max=float(z[-1]), policy0_given=policy0 is not None),
        t0=t0, q=q_matrix(q1, mask1, S, A),
        returns=ev.returns, returns_sa=CategoricalReturns(z, eta_sa.reshape(S, A, K)), policy_returns=ev,
        covers_returns=True, n_changed=np.asarray(changed, dtype=np.int64), eval_error_bound=delta,
    )


# ============================================================================ operators
def categorical_bellman_operator(mdp, policy, support, probs) -> np.ndarray:
    r"""The projected categorical operator :math:`\Pi_C T^\pi` applied once: probs (S, K) -> (S, K).

    :math:`\Pi_C T^\pi` is a :math:`\sqrt\gamma`-contraction in sup-Cramer (Rowland et al. 2018,
    Prop. 2).  Rewards: ``R_sas`` if present, else ``R[s, a]``.

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
        Bad support, probabilities (rows on the simplex, shape (S, K)) or policy.
    """
    mdp = check_mdp(mdp)
    ret = CategoricalReturns(support, probs)
    if ret.probs.shape != (mdp.S, ret.support.shape[0]):
        raise InvalidArgumentError(f"probs must have shape (S, K) = ({mdp.S}, {ret.support.shape[0]}), got {ret.probs.shape}")
    ent = _dk.entries(*policy_transition_entries(mdp, policy))
    out = np.empty(ret.probs.shape)
    _dk.categorical_backup(ent, ret.support, float(mdp.gamma), ret.probs, out)
    return out


def quantile_bellman_operator(mdp, policy, locations) -> np.ndarray:
    r"""The projected quantile operator :math:`\Pi_Q T^\pi` applied once: atoms (S, m) -> (S, m).

    :math:`\Pi_Q T^\pi` is a :math:`\gamma`-contraction in sup-:math:`w_\infty` (Dabney et al. 2018,
    Prop. 2).  Rows of ``locations`` must be sorted.

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
    """
    mdp = check_mdp(mdp)
    th = QuantileReturns(locations).locations
    if th.ndim != 2 or th.shape[0] != mdp.S:
        raise InvalidArgumentError(f"locations must have shape (S, m) with S = {mdp.S}, got {th.shape}")
    ent = _dk.entries(*policy_transition_entries(mdp, policy))
    out = np.empty(th.shape)
    _dk.quantile_backup(ent, float(mdp.gamma), th, out)
    return out

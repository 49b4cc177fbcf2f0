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
from dataclasses import dataclass, field

import numpy as np

from mdpkit import bounds

from mdpkit._kernels import distributional as _dk
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_gamma, check_int, check_positive
from mdpkit.distributions import (
    CategoricalReturns,
    QuantileReturns,
    _check_support,
    categorical_projection,
    policy_transition_entries,
    uniform_support,
)
from mdpkit.results import Status

from ._common import check_mdp, warn_not_converged

__all__ = ["DistributionalResult", "categorical_policy_evaluation", "quantile_policy_evaluation"]

_CAT_SOURCE = (
    "Rowland et al. 2018, Prop. 2: Pi_C T^pi is a sqrt(gamma)-contraction in sup-Cramer (l2-bar), "
    "hence l2-bar(eta_k, eta_C) <= sqrt(gamma)/(1-sqrt(gamma)) * l2-bar(eta_k, eta_{k-1})"
)
_CAT_APPROX_SOURCE = (
    "l2-bar(eta_C, eta_pi)^2 <= max_i (z_{i+1}-z_i) / (1-gamma) when every return lies in "
    "[z_1, z_K] (Rowland et al. 2018, Prop. 3; re-derived here from Pythagoras for the orthogonal "
    "projection Pi_C and the sqrt(gamma)-contraction, the paper text was not at hand)"
)
_Q_SOURCE = (
    "Dabney et al. 2018, Prop. 2: Pi_W1 T^pi is a gamma-contraction in sup-w_inf, hence "
    "w_inf-bar(theta_k, theta_Q) <= gamma/(1-gamma) * w_inf-bar(theta_k, theta_{k-1})"
)


@dataclass(frozen=True, eq=False)
class DistributionalResult:
    r"""What a distributional policy-evaluation solver returns.

    Attributes
    ----------
    returns : CategoricalReturns or QuantileReturns
        The last iterate, one law per state (``batch_shape == (S,)``).
    v : ndarray (S,)
        Its means.
    converged, status, message, n_iter
        As in :class:`mdpkit.SolveResult`; one iteration is one application of :math:`\Pi T^\pi`.
    residuals : ndarray (n_iter,)
        Step sizes :math:`\bar d(\eta_k, \eta_{k-1})` in ``error_metric``.
    error_bound : float
        Certified bound on :math:`\bar d(\eta_k, \eta_{\Pi})` (distance of the returned iterate to
        the projected fixed point) in ``error_metric``.
    error_metric : str
        ``"sup-cramer"`` (categorical) or ``"sup-w_inf"`` (quantile).
    bound_source : str
    approximation_bound : float or None
        Categorical only, and only when the support covers every possible return: a certified bound
        on :math:`\bar\ell_2(\eta_k, \eta^\pi)` (distance to the *true* return distributions),
        ``error_bound + sqrt(max_gap / (1 - gamma))``.  None otherwise.
    v_error_bound : float or None
        Categorical with covering support: certified bound on :math:`\|v - V^\pi\|_\infty`,
        ``sqrt(z_K - z_1) * error_bound`` (Cauchy-Schwarz, :math:`|\mathbb{E}\nu-\mathbb{E}\nu'|
        = |\int (F-F')| \le \sqrt{z_K-z_1}\,\ell_2`; the fixed point's mean is exactly
        :math:`V^\pi` because :math:`\Pi_C` preserves means on the support).  Quantile: bound on
        the distance of ``v`` to the means of the quantile fixed point (:math:`w_1 \le w_\infty`),
        which is *not* :math:`V^\pi`.
    covers_returns : bool
        Whether the (categorical) support contains ``[r_min/(1-gamma), r_max/(1-gamma)]``.
    method, options, wall_time
    """

    returns: object
    v: np.ndarray
    converged: bool
    status: Status
    message: str
    n_iter: int
    residuals: np.ndarray
    error_bound: float
    error_metric: str
    bound_source: str
    method: str
    options: dict
    wall_time: float
    approximation_bound: float | None = None
    v_error_bound: float | None = None
    covers_returns: bool = False
    extra: dict = field(default_factory=dict)


def _setup(mdp, policy, epsilon, max_iter):
    mdp = check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False, who="mdp.gamma")
    eps = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    entries = policy_transition_entries(mdp, policy)
    return mdp, gamma, eps, max_iter, entries


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
        ``returns`` is a :class:`~mdpkit.distributions.CategoricalReturns` with probs (S, K).

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
    mdp, gamma, eps, max_iter, (indptr, nxt, w, rew) = _setup(mdp, policy, epsilon, max_iter)
    S = mdp.S
    r_lo, r_hi = float(rew.min()), float(rew.max())
    g_lo, g_hi = r_lo / (1.0 - gamma), r_hi / (1.0 - gamma)
    if support is None:
        K = check_int(n_atoms, "n_atoms", minimum=2)
        if g_hi - g_lo <= 0:
            z = uniform_support(g_lo - 1.0, g_hi + 1.0, K)
        else:
            z = uniform_support(g_lo, g_hi, K)
    else:
        z = _check_support(support)
        K = z.shape[0]
    covers = bool(z[0] <= g_lo and z[-1] >= g_hi)
    if eta0 is None:
        eta = np.tile(categorical_projection(np.zeros(1), np.ones(1), z), (S, 1))
    else:
        eta = CategoricalReturns(z, eta0).probs.copy()
        if eta.shape != (S, K):
            raise InvalidArgumentError(f"eta0 must have shape (S, K) = ({S}, {K}), got {eta.shape}")
    tol = bounds.categorical_stopping_tol(eps, gamma)
    buf = np.empty_like(eta)
    residuals = np.empty(max_iter)
    n = _dk.categorical_evaluation_loop(indptr, nxt, w, rew, z, gamma, eta, buf, tol, max_iter, residuals)
    residuals = residuals[:n].copy()
    err = bounds.categorical_evaluation_bound(gamma, residuals[-1]).value
    converged = bool(residuals[-1] <= tol)
    ret = CategoricalReturns(z, eta)
    v = ret.mean()
    gap = float(np.max(np.diff(z))) if K > 1 else 0.0
    approx = err + bounds.categorical_fixed_point_bound(gamma, gap).value if covers else None
    v_err = bounds.mean_error_from_cramer(z[-1] - z[0], err).value if covers else None
    status = Status.CONVERGED if converged else Status.MAX_ITER
    msg = (f"{'converged' if converged else 'max_iter reached'} after {n} iterations; "
           f"sup-Cramer distance to the projected fixed point <= {err:.3g}")
    if not converged:
        warn_not_converged("categorical_policy_evaluation", n, f"last residual {residuals[-1]:.3g}")
    for a in (v, residuals):
        a.flags.writeable = False
    return DistributionalResult(
        returns=ret, v=v, converged=converged, status=status, message=msg, n_iter=n,
        residuals=residuals, error_bound=err, error_metric="sup-cramer",
        bound_source=_CAT_SOURCE + ("; approximation_bound: " + _CAT_APPROX_SOURCE if covers else ""),
        method="categorical_policy_evaluation",
        options={"epsilon": eps, "max_iter": max_iter, "n_atoms": K, "support_min": float(z[0]),
                 "support_max": float(z[-1]), "stop_tol": tol},
        wall_time=time.perf_counter() - t0, approximation_bound=approx, v_error_bound=v_err,
        covers_returns=covers,
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
    :math:`V^\pi`.

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
        ``returns`` is a :class:`~mdpkit.distributions.QuantileReturns` with locations (S, m).

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
    mdp, gamma, eps, max_iter, (indptr, nxt, w, rew) = _setup(mdp, policy, epsilon, max_iter)
    S = mdp.S
    m = check_int(n_quantiles, "n_quantiles", minimum=1)
    if theta0 is None:
        theta = np.zeros((S, m))
    else:
        theta = QuantileReturns(theta0).locations.copy()
        if theta.shape != (S, m):
            raise InvalidArgumentError(f"theta0 must have shape (S, m) = ({S}, {m}), got {theta.shape}")
    tol = bounds.quantile_stopping_tol(eps, gamma)
    n_max = int(np.max(np.diff(indptr))) * m
    ys, ms = np.empty(n_max), np.empty(n_max)
    buf = np.empty_like(theta)
    residuals = np.empty(max_iter)
    n = _dk.quantile_evaluation_loop(indptr, nxt, w, rew, gamma, theta, buf, ys, ms, tol, max_iter, residuals)
    residuals = residuals[:n].copy()
    err = bounds.quantile_evaluation_bound(gamma, residuals[-1]).value
    converged = bool(residuals[-1] <= tol)
    ret = QuantileReturns(theta)
    v = ret.mean()
    status = Status.CONVERGED if converged else Status.MAX_ITER
    msg = (f"{'converged' if converged else 'max_iter reached'} after {n} iterations; "
           f"sup-w_inf distance to the projected fixed point <= {err:.3g}")
    if not converged:
        warn_not_converged("quantile_policy_evaluation", n, f"last residual {residuals[-1]:.3g}")
    for a in (v, residuals):
        a.flags.writeable = False
    return DistributionalResult(
        returns=ret, v=v, converged=converged, status=status, message=msg, n_iter=n,
        residuals=residuals, error_bound=err, error_metric="sup-w_inf", bound_source=_Q_SOURCE,
        method="quantile_policy_evaluation",
        options={"epsilon": eps, "max_iter": max_iter, "n_quantiles": m, "stop_tol": tol},
        wall_time=time.perf_counter() - t0, v_error_bound=err, covers_returns=False,
    )

r"""Bounds for distributional policy evaluation (categorical and quantile representations).

Metrics: :math:`\bar\ell_2` is the supremum over states of the Cramér distance
:math:`\ell_2(\nu,\nu') = (\int (F_\nu-F_{\nu'})^2)^{1/2}`; :math:`\bar w_\infty` the supremum of the
:math:`\infty`-Wasserstein distance.  Constants quoted from Rowland et al. (2018) and Dabney et al.
(2018) were re-derived here but not checked against the papers' text (not available to us).
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind

__all__ = [
    "categorical_evaluation_bound",
    "categorical_fixed_point_bound",
    "categorical_stopping_tol",
    "mean_error_from_cramer",
    "quantile_evaluation_bound",
    "quantile_stopping_tol",
    "truncated_policy_bound",
    "truncation_bound",
]

ROWLAND = "M. Rowland, M. Bellemare, W. Dabney, R. Munos, Y. W. Teh, An analysis of categorical distributional RL, AISTATS 2018"
DABNEY = "W. Dabney, M. Rowland, M. Bellemare, R. Munos, Distributional RL with quantile regression, AAAI 2018"


def _g(gamma):
    g = float(gamma)
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    return g


def categorical_stopping_tol(epsilon: float, gamma: float) -> float:
    r"""Step threshold :math:`\varepsilon(1-\sqrt\gamma)/\sqrt\gamma` making :func:`categorical_evaluation_bound` <= epsilon."""
    c = math.sqrt(_g(gamma))
    return math.inf if c == 0.0 else float(epsilon) * (1.0 - c) / c


def categorical_evaluation_bound(gamma: float, step: float) -> Bound:
    r""":math:`\bar\ell_2(\eta_k, \eta_C) \le \frac{\sqrt\gamma}{1-\sqrt\gamma}\bar\ell_2(\eta_k, \eta_{k-1})`.

    :math:`\Pi_C T^\pi` is a :math:`\sqrt\gamma`-contraction in :math:`\bar\ell_2` (Rowland et al.
    2018; earlier cited here as Prop. 2, suspected to be Prop. 1: the paper's text could not be
    retrieved, so the number is not checked), with fixed point :math:`\eta_C`; the a posteriori
    bound follows as for any contraction.
    """
    c = math.sqrt(_g(gamma))
    return Bound(
        value=0.0 if c == 0.0 else c / (1.0 - c) * max(float(step), 0.0),
        kind=BoundKind.DETERMINISTIC, citation=f"{ROWLAND}, Prop. 1 (suspected; cited as Prop. 2 before; number not checked against the text)",
        assumptions=("gamma < 1", "categorical projection onto a fixed sorted support"),
        statement="sup-Cramer(eta_k, eta_C) <= sqrt(gamma)/(1-sqrt(gamma)) sup-Cramer(eta_k, eta_{k-1})",
    )


def categorical_fixed_point_bound(gamma: float, max_gap: float) -> Bound:
    r""":math:`\bar\ell_2(\eta_C, \eta^\pi) \le \sqrt{\Delta/(1-\gamma)}` when the support covers every return.

    :math:`\Delta` is the largest gap between consecutive atoms.  Rowland et al. 2018, Prop. 3
    (the number agrees with a secondary source that cites "[Rowland et al., 2018, Proposition 3]"
    for the approximation bound of the categorical fixed point; the paper itself was not read)
    (squared form :math:`\bar\ell_2^2 \le \frac{1}{1-\gamma}\max_i (z_{i+1}-z_i)`, under the
    assumption that every return distribution is supported on :math:`[z_1, z_K]`).  The form
    matches the statement as recalled; the paper's text was searched for (``search`` tool, pages
    and docs corpora) but not retrieved, so the constant is not checked against it.  It is also
    re-derived: :math:`\Pi_C` is an orthogonal projection in the Cramer geometry, so
    :math:`\ell_2^2(\eta_C, \eta^\pi) \le \gamma\,\ell_2^2(\eta_C, \eta^\pi) +
    \ell_2^2(\Pi_C\eta^\pi, \eta^\pi)` and :math:`\ell_2^2(\Pi_C\nu,\nu) \le \Delta`
    (on each cell the CDF error is at most the mass :math:`m_i` that :math:`\nu` puts inside it,
    so the integral is at most :math:`\sum_i \Delta m_i^2 \le \Delta`).
    """
    g = _g(gamma)
    return Bound(
        value=math.sqrt(max(float(max_gap), 0.0) / (1.0 - g)),
        kind=BoundKind.DETERMINISTIC, citation=f"{ROWLAND}, Prop. 3 (number from a secondary source; not checked against the paper)",
        assumptions=("gamma < 1", "support covers [r_min/(1-gamma), r_max/(1-gamma)]"),
        statement="sup-Cramer(eta_C, eta_pi)^2 <= max_gap / (1 - gamma)",
    )


def mean_error_from_cramer(support_width: float, cramer: float) -> Bound:
    r"""Means differ by at most :math:`\sqrt{z_K - z_1}\,\ell_2` for laws on :math:`[z_1, z_K]`.

    :math:`|\mathbb E\nu - \mathbb E\nu'| = |\int (F-F')| \le \sqrt{z_K-z_1}\,\ell_2(\nu,\nu')`
    (Cauchy-Schwarz).
    """
    return Bound(
        value=math.sqrt(max(float(support_width), 0.0)) * max(float(cramer), 0.0),
        kind=BoundKind.DETERMINISTIC, citation="Cauchy-Schwarz on the CDF difference (derived)",
        assumptions=("both laws supported on an interval of the given width",),
        statement="|E nu - E nu'| <= sqrt(z_K - z_1) * Cramer(nu, nu')",
    )


def quantile_stopping_tol(epsilon: float, gamma: float) -> float:
    r"""Step threshold :math:`\varepsilon(1-\gamma)/\gamma` making :func:`quantile_evaluation_bound` <= epsilon."""
    g = _g(gamma)
    return math.inf if g == 0.0 else float(epsilon) * (1.0 - g) / g


def quantile_evaluation_bound(gamma: float, step: float) -> Bound:
    r""":math:`\bar w_\infty(\theta_k, \theta_Q) \le \frac{\gamma}{1-\gamma}\bar w_\infty(\theta_k, \theta_{k-1})`.

    :math:`\Pi_Q T^\pi` is a :math:`\gamma`-contraction in :math:`\bar w_\infty` (Dabney et al. 2018,
    Prop. 2; number not checked).
    """
    g = _g(gamma)
    return Bound(
        value=0.0 if g == 0.0 else g / (1.0 - g) * max(float(step), 0.0),
        kind=BoundKind.DETERMINISTIC, citation=f"{DABNEY}, Prop. 2 (number not checked)",
        assumptions=("gamma < 1", "quantile projection (W1-optimal midpoints)"),
        statement="sup-w_inf(theta_k, theta_Q) <= gamma/(1-gamma) sup-w_inf(theta_k, theta_{k-1})",
    )


# ============================================================================ return objectives (risk)
def truncation_bound(gamma: float, horizon: int, max_abs_reward: float) -> Bound:
    r"""Pathwise truncation error :math:`|G - G_H| \le \gamma^H \max|r| / (1-\gamma)`.

    :math:`G - G_H = \sum_{t \ge H}\gamma^t r_t`.  For objectives :math:`\rho` that are monotone and
    translation-equivariant (mean, VaR, CVaR, ERM, EVaR, ess inf), :math:`G_H - b \le G \le G_H + b`
    pathwise gives :math:`|\rho(G) - \rho(G_H)| \le b` for every policy, hence also for the optimum
    (derived; the standard argument, e.g. Bauerle & Ott 2011, Sec. 3 for AVaR).
    """
    g = float(gamma)
    H = int(horizon)
    if g >= 1.0:
        raise ValueError(f"gamma must lie in [0, 1) for a truncated horizon, got {gamma!r}")
    return Bound(
        value=(g ** H) * max(float(max_abs_reward), 0.0) / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation="tail of a geometric series (derived); monotone + translation-equivariant objectives are "
                 "1-Lipschitz in the sup of the pathwise error",
        assumptions=("0 <= gamma < 1", "|r| <= max_abs_reward", "rho monotone and translation-equivariant"),
        statement="|rho(G) - rho(G_H)| <= gamma^H max|r| / (1 - gamma)",
    )


def truncated_policy_bound(truncation: float) -> Bound:
    r"""Suboptimality of a policy optimal for the truncated return: :math:`\le 2b`.

    With :math:`|\rho(G^\pi) - \rho(G^\pi_H)| \le b` for every :math:`\pi`:
    :math:`\rho(G^{\pi^*}) \le \rho(G_H^{\pi^*}) + b \le \rho(G_H^{\hat\pi}) + b \le \rho(G^{\hat\pi}) + 2b`
    for :math:`\hat\pi` optimal on :math:`G_H` (derived).
    """
    return Bound(
        value=2.0 * max(float(truncation), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation="two applications of the truncation bound (derived)",
        assumptions=("the policy is exactly optimal for the truncated objective", "truncation bound b holds"),
        statement="rho(G^pi*) - rho(G^pi) <= 2 b",
    )

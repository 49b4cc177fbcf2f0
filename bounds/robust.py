r"""Certificates for robust dynamic programming (rectangular robust MDPs).

The robust Bellman operator :math:`T_{\mathcal U}v = \max_\pi \min_{P\in\mathcal U}(r_\pi + \gamma P_\pi v)`
and the robust policy operator :math:`T_{\pi,\mathcal U}` are, for (s)a-rectangular sets,

* monotone: :math:`u \le v \Rightarrow Tu \le Tv`;
* :math:`\gamma`-translation equivariant: :math:`T(v + c\mathbf 1) = Tv + \gamma c \mathbf 1`;

hence :math:`\gamma`-contractions in the sup norm (Iyengar 2005, Thm 5 / Nilim & El Ghaoui 2005,
Thm 3; theorem numbers not checked against the papers).  The MacQueen-Porteus bracket and the
greedy span bound of :mod:`mdpkit.bounds.dp` use *only* these two properties (their proof
iterates :math:`T^k v \le Tv + (\gamma + \dots + \gamma^{k-1}) \max d`), so they hold verbatim for
robust operators, with :math:`v^*` the robust optimal value and :math:`v_\pi` the robust
(worst-case) value of a policy :math:`\pi` greedy for :math:`v`.  The functions below reuse the
constants of :mod:`mdpkit.bounds.dp` and only restate the assumptions and the citation.
"""

from __future__ import annotations

import numpy as np

from ._bound import Bound, BoundKind
from .dp import greedy_span_bound, residual_value_bound

__all__ = ["robust_greedy_span_bound", "robust_evaluation_bound", "robust_pi_bound", "norm_ball_closed_form"]

ROBUST_CITATION = (
    "Iyengar (2005) Math. Oper. Res. 30(2); Nilim & El Ghaoui (2005) Oper. Res. 53(5); "
    "constant of MacQueen (1966) / Puterman (1994) Sec. 6.6.2, derived for monotone gamma-translation operators"
)
_ASSUMPTIONS = ("gamma < 1", "rectangular uncertainty set (sa or s)",
                "operators monotone and gamma-translation equivariant")


def robust_greedy_span_bound(gamma: float, span: float) -> Bound:
    r""":math:`\|v^*_{\mathcal U} - v^\pi_{\mathcal U}\|_\infty \le \frac{\gamma}{1-\gamma}\operatorname{sp}(T_{\mathcal U}v - v)`.

    For any :math:`v` and :math:`\pi` greedy for it in the robust operator
    (:math:`T_{\pi,\mathcal U}v = T_{\mathcal U}v`).  Same constant as
    :func:`mdpkit.bounds.greedy_span_bound` (reused); valid for robust operators because its
    proof only uses monotonicity and :math:`\gamma`-translation (module docstring).  Checked by
    property tests against the exact robust value of the greedy policy.
    """
    b = greedy_span_bound(gamma, span)
    return Bound(value=b.value, kind=BoundKind.DETERMINISTIC, citation=ROBUST_CITATION,
                 assumptions=_ASSUMPTIONS + ("policy greedy for v in the robust operator",),
                 statement="||v*_U - v^pi_U||_inf <= gamma/(1-gamma) * sp(T_U v - v)")


def robust_evaluation_bound(gamma: float, residual: float) -> Bound:
    r""":math:`\|v - v^\pi_{\mathcal U}\|_\infty \le \|T_{\pi,\mathcal U} v - v\|_\infty/(1-\gamma)`.

    Banach's a posteriori bound for the :math:`\gamma`-contraction :math:`T_{\pi,\mathcal U}`;
    the constant of :func:`mdpkit.bounds.residual_value_bound` (reused).
    """
    b = residual_value_bound(gamma, residual)
    return Bound(value=b.value, kind=BoundKind.DETERMINISTIC, citation=ROBUST_CITATION,
                 assumptions=_ASSUMPTIONS, statement="||v - v^pi_U||_inf <= ||T_{pi,U} v - v||_inf / (1 - gamma)")


def robust_pi_bound(gamma: float, bellman_residual: float, evaluation_residual: float) -> Bound:
    r"""Suboptimality of a policy whose robust value is known only approximately.

    With :math:`v` an approximation of :math:`v^\pi_{\mathcal U}`:
    :math:`v^* - v^\pi \le \|v^* - v\| + \|v - v^\pi\| \le
    \frac{\|T_{\mathcal U}v - v\|_\infty + \|T_{\pi,\mathcal U}v - v\|_\infty}{1-\gamma}`
    (two applications of :func:`mdpkit.bounds.residual_value_bound`).
    """
    a = residual_value_bound(gamma, bellman_residual).value
    b = residual_value_bound(gamma, evaluation_residual).value
    return Bound(value=a + b, kind=BoundKind.DETERMINISTIC, citation=ROBUST_CITATION, assumptions=_ASSUMPTIONS,
                 statement="||v*_U - v^pi_U||_inf <= (||T_U v - v|| + ||T_{pi,U} v - v||) / (1 - gamma)")


def norm_ball_closed_form(q, z, radius: float, kind: str):
    r"""Closed form of :math:`\min\{p^\top z : \textstyle\sum_i p_i = 1,\ d(p, q) \le \kappa\}` without :math:`p \ge 0`.

    Dropping nonnegativity relaxes nature's problem, so the value is a *lower bound* on the
    inner minimum over the simplex, and equal to it when the relaxed minimiser is nonnegative
    (the simplex constraint is slack).  ``q`` and ``z`` are restricted to the states nature may
    use (the nominal support).  Elementary Lagrangian/Hoelder arguments:

    * ``"l1"``: :math:`q^\top z - \frac{\kappa}{2}(\max z - \min z)`; slack iff the states
      attaining :math:`\max z` hold mass :math:`\ge \kappa/2`;
    * ``"l2"``: :math:`q^\top z - \kappa\|z - \bar z\|_2` (:math:`\bar z` the plain mean);
      minimiser :math:`q - \kappa (z - \bar z)/\|z - \bar z\|_2`;
    * ``"chi2"``: :math:`q^\top z - \sqrt{\kappa \operatorname{Var}_q(z)}`; minimiser
      :math:`q_i (1 - (z_i - \mathbb E_q z)\sqrt{\kappa / \operatorname{Var}_q(z)})`.

    Returns ``(value, slack)``: the closed-form value and whether the simplex constraint is
    slack (then it is the exact inner minimum).
    """
    q = np.asarray(q, dtype=float)
    z = np.asarray(z, dtype=float)
    k = float(radius)
    qz = float(q @ z)
    if kind == "l1":
        zmax, zmin = float(z.max()), float(z.min())
        return qz - 0.5 * k * (zmax - zmin), bool(zmax == zmin or q[z == zmax].sum() >= 0.5 * k)
    if kind == "l2":
        d = z - z.mean()
        nd = float(np.linalg.norm(d))
        if nd == 0.0:
            return qz, True
        return qz - k * nd, bool(np.all(q - k * d / nd >= 0.0))
    if kind == "chi2":
        m = qz
        var = float(q @ (z - m) ** 2)
        if var == 0.0:
            return qz, True
        return qz - np.sqrt(k * var), bool(np.all(q * (1.0 - (z - m) * np.sqrt(k / var)) >= 0.0))
    raise ValueError(f"norm_ball_closed_form: kind must be 'l1', 'l2' or 'chi2', got {kind!r}")

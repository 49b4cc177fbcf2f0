r"""Bounds for linear MDPs: LSVI-UCB's confidence width and regret, finite-horizon approximate DP.

The constants of Jin, Yang, Wang & Jordan (2020, "Provably efficient reinforcement learning with
linear function approximation", COLT) are written here once.  Their Theorem 3.1 sets
:math:`\lambda = 1`, :math:`\beta = c\, d H \sqrt{\iota}` with :math:`\iota = \log(2dT/p)` and an
*absolute constant* :math:`c > 0` that the paper does not give numerically; the regret is then
:math:`O(\sqrt{d^3 H^3 T \iota^2})` with probability :math:`1 - 2p` (T = K H steps).  mdpkit exposes
``c`` (default 1) and reports the regret bound as a rate with an unknown constant
(:attr:`BoundKind.RATE_ONLY`).  The theorem and algorithm numbers were not checked against the
text (the paper's text was not reachable from here).
"""

from __future__ import annotations

import math

import numpy as np

from mdpkit._exceptions import InvalidArgumentError

from ._bound import Bound, BoundKind

__all__ = [
    "finite_horizon_adp_bound",
    "lmc_lsvi_regret_bound",
    "lsvi_ucb_beta",
    "lsvi_ucb_iota",
    "lsvi_ucb_regret_bound",
]

JIN2020 = ("C. Jin, Z. Yang, Z. Wang, M. I. Jordan, Provably efficient reinforcement learning with linear "
           "function approximation, COLT 2020 / Math. Oper. Res. 2023, Thm 3.1 (number not checked against the text)")


def _pos_int(x, name):
    if isinstance(x, bool) or int(x) != x or int(x) < 1:
        raise InvalidArgumentError(f"{name} must be a positive integer, got {x!r}")
    return int(x)


def lsvi_ucb_iota(d: int, T: int, delta: float) -> float:
    r""":math:`\iota = \log(2 d T / p)` of Jin et al. (2020), Thm 3.1 (``delta`` is their ``p``)."""
    d, T = _pos_int(d, "d"), _pos_int(T, "T")
    if not (0.0 < float(delta) < 1.0):
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta!r}")
    return math.log(2.0 * d * T / float(delta))


def lsvi_ucb_beta(d: int, H: int, T: int, delta: float, c: float = 1.0) -> float:
    r"""LSVI-UCB's bonus multiplier :math:`\beta = c\, d H \sqrt{\iota}` (Jin et al. 2020, Thm 3.1).

    Parameters
    ----------
    d, H : int
        Feature dimension and horizon.
    T : int
        Total number of steps ``K * H``.
    delta : float
        Failure probability ``p``.
    c : float
        The absolute constant (not given numerically in the paper; default 1).
    """
    if not (float(c) > 0.0):
        raise InvalidArgumentError(f"c must be > 0, got {c!r}")
    return float(c) * _pos_int(d, "d") * _pos_int(H, "H") * math.sqrt(lsvi_ucb_iota(d, T, delta))


def lsvi_ucb_regret_bound(d: int, H: int, K: int, delta: float) -> Bound:
    r"""LSVI-UCB regret after ``K`` episodes: :math:`\sqrt{d^3 H^3 T \iota^2}`, ``T = K H``, up to an absolute constant.

    Jin et al. (2020), Thm 3.1: with probability at least :math:`1 - 2p`,
    :math:`\mathrm{Regret}(K) = O(\sqrt{d^3 H^3 T \iota^2})` under Assumption A (linear MDP,
    :math:`\|\phi\| \le 1`, :math:`\|\mu_h(\mathcal S)\|, \|\theta_h\| \le \sqrt d`, rewards in [0, 1]),
    with :math:`\lambda = 1` and :math:`\beta = c\,dH\sqrt\iota`.  The constant of the O is not given,
    so ``value`` is the rate with constant 1 and ``kind`` is ``RATE_ONLY``: use it for growth
    (exponent 1/2 in ``K``) and as a scale, not as a certified inequality.
    """
    d, H, K = _pos_int(d, "d"), _pos_int(H, "H"), _pos_int(K, "K")
    T = K * H
    iota = lsvi_ucb_iota(d, T, delta)
    return Bound(
        value=math.sqrt(d**3 * H**3 * T * iota**2),
        kind=BoundKind.RATE_ONLY,
        citation=JIN2020,
        assumptions=("linear MDP (Jin et al. Assumption A): ||phi|| <= 1, ||mu_h(S)||, ||theta_h|| <= sqrt(d)",
                     "rewards in [0, 1]", "lambda = 1, beta = c d H sqrt(iota), iota = log(2 d T / delta)",
                     "constant of the O(.) not given in the paper (value uses 1)"),
        delta=2.0 * float(delta),
        statement="Regret(K) = O(sqrt(d^3 H^3 T iota^2)), T = K H, with probability >= 1 - 2 delta",
        extra={"T": T, "iota": iota},
    )


def finite_horizon_adp_bound(stage_errors) -> Bound:
    r"""Greedy-policy loss of approximate backward induction: :math:`V^*_0 - V^{\pi}_0 \le 2\sum_h \varepsilon_h`.

    For :math:`\hat Q_h = r_h + P_h \hat V_{h+1} + e_h` with :math:`\|e_h\|_\infty \le \varepsilon_h`,
    :math:`\hat V_h = \max_a \hat Q_h`, :math:`\hat V_H = 0`, and :math:`\pi` greedy for :math:`\hat Q`:
    by induction :math:`\|\hat Q_h - Q^*_h\|_\infty \le E_h := \sum_{t \ge h} \varepsilon_t`
    (the max is non-expansive) and :math:`\hat V_h - V^\pi_h \le E_h` (one step of :math:`\pi`
    costs at most :math:`\varepsilon_h` plus the next stage), so
    :math:`V^*_h - V^\pi_h = (V^*_h - \hat V_h) + (\hat V_h - V^\pi_h) \le 2E_h` everywhere.
    Derived here (the finite-horizon analogue of Bertsekas & Tsitsiklis 1996, Sec. 6.2, not seen).
    Tight: one stage, two actions with :math:`Q^* = (0, \delta)` and errors :math:`(+\varepsilon, -\varepsilon)`,
    :math:`\delta \uparrow 2\varepsilon`.

    Parameters
    ----------
    stage_errors : array_like of float, shape (H,)
        :math:`\varepsilon_h \ge 0`, sup-norm backup errors per stage (reward units).
    """
    e = np.asarray(stage_errors, dtype=np.float64)
    if e.ndim != 1 or not np.all(np.isfinite(e)) or np.any(e < 0):
        raise InvalidArgumentError("stage_errors must be a 1-D array of finite non-negative numbers")
    return Bound(
        value=2.0 * float(e.sum()),
        kind=BoundKind.DETERMINISTIC,
        citation="derived (finite-horizon approximate DP; cf. Bertsekas & Tsitsiklis 1996, Sec. 6.2, not seen)",
        assumptions=("||Qhat_h - (r_h + P_h Vhat_{h+1})||_inf <= eps_h for every stage", "policy greedy for Qhat"),
        statement="max_s (V*_0 - V^pi_0)(s) <= 2 sum_h eps_h",
    )


ISHFAQ2024 = ("H. Ishfaq, Q. Lan, P. Xu, A. R. Mahmood, D. Precup, A. Anandkumar, K. Azizzadenesheli, Provable and "
              "practical: efficient exploration in reinforcement learning via Langevin Monte Carlo, ICLR 2024, "
              "Thm 4.2 (number not checked against the text)")


def lmc_lsvi_regret_bound(d: int, H: int, K: int, delta: float) -> Bound:
    r"""LMC-LSVI regret rate :math:`\tilde O(d^{3/2} H^{3/2} \sqrt T)`, ``T = K H`` (Ishfaq et al. 2024).

    The constant and the logarithmic factors are not given in closed form here, so ``value`` is
    :math:`d^{3/2} H^{3/2}\sqrt{T}\,\log(2dT/\delta)` and ``kind`` is ``RATE_ONLY``.
    """
    d, H, K = _pos_int(d, "d"), _pos_int(H, "H"), _pos_int(K, "K")
    T = K * H
    iota = lsvi_ucb_iota(d, T, delta)
    return Bound(value=d**1.5 * H**1.5 * math.sqrt(T) * iota, kind=BoundKind.RATE_ONLY, citation=ISHFAQ2024,
                 assumptions=("linear MDP (Jin et al. Assumption A)", "the paper's step sizes, inverse temperature and "
                              "number of Langevin steps J_k", "constant and log factors of the O~ not given (value "
                              "uses log(2dT/delta) once)"),
                 delta=float(delta), statement="Regret(K) = O~(d^{3/2} H^{3/2} sqrt(T)), T = K H",
                 extra={"T": T})

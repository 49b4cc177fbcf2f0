r"""Bounds for linear MDPs: LSVI-UCB's confidence width and regret, finite-horizon approximate DP,
LMC-LSVI's regret rate, and HF-UCRL-RFE++'s reward-free suboptimality and sample complexity (Zhang, Zhang
& Gu 2023; :func:`reward_free_suboptimality_bound`, :func:`reward_free_sample_complexity`).

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
    "reward_free_parameters",
    "reward_free_sample_complexity",
    "reward_free_suboptimality_bound",
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


ZHANG2023 = ("J. Zhang, W. Zhang, Q. Gu, Optimal horizon-free reward-free exploration for linear mixture MDPs, ICML 2023 "
             "(arXiv:2303.10165), HF-UCRL-RFE++; encoded from the restatement in the authors' thesis chapter "
             "(Algorithms 4-5, Thm 2.6.3, Cor. 2.6.4, Lemmas 2.8.6-2.8.9, Eq. (2.8.60) there); the ICML paper's own "
             "theorem numbers were not checked against its text")


def reward_free_parameters(d: int, H: int, K: int, delta: float, B: float) -> dict:
    r"""The parameters HF-UCRL-RFE++ is run with (Zhang, Zhang & Gu 2023; thesis Thm 2.6.3).

    :math:`M = \lceil\log(7KH)/\log 2\rceil` moment levels, :math:`\alpha = H^{-1/2}`,
    :math:`\gamma = d^{-1/4}`, :math:`\lambda = d/B^2` and the confidence radius (thesis Eq. (2.8.68))

    .. math::

        \beta_k = 12\sqrt{d\,\eta_k\,\tau_k} + 30\,\tau_k/\gamma^2 + \sqrt\lambda B,\quad
        \eta_k = \log\big(1 + kH/(\alpha^2 d\lambda)\big),\quad
        \tau_k = \log\big(32(\log(\gamma^2/\alpha) + 1)k^2H^2/\delta\big).

    :math:`\log(\gamma^2/\alpha) = \tfrac12\log(H/d)` is negative when ``d > H``; it is clamped at 0
    there (the source does not treat that case).  Also returned: :math:`\iota = \log(1 + KH/(d\lambda\alpha^2))`
    and :math:`\zeta = 4\log(4\log(KH)/\delta)` (Lemmas 2.8.25-2.8.27 there).

    Returns
    -------
    dict
        ``M, alpha, gamma, lam, iota, zeta`` and ``beta`` (a function ``k -> beta_k``), ``beta_K``.
    """
    d, H, K = _pos_int(d, "d"), _pos_int(H, "H"), _pos_int(K, "K")
    if K * H < 3:
        raise InvalidArgumentError(f"K * H must be >= 3 (zeta = 4 log(4 log(KH)/delta) needs log(KH) > 1), got {K * H}")
    if not (0.0 < float(delta) < 1.0):
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta!r}")
    if not (float(B) > 0.0 and math.isfinite(float(B))):
        raise InvalidArgumentError(f"B (bound on ||theta*||_2) must be positive and finite, got {B!r}")
    delta, B = float(delta), float(B)
    M = int(math.ceil(math.log(7.0 * K * H) / math.log(2.0)))
    alpha, gamma, lam = H ** -0.5, d ** -0.25, d / B**2
    lg = max(0.0, math.log(gamma**2 / alpha))

    def beta(k: int) -> float:
        eta = math.log(1.0 + k * H / (alpha**2 * d * lam))
        tau = math.log(32.0 * (lg + 1.0) * k**2 * H**2 / delta)
        return 12.0 * math.sqrt(d * eta * tau) + 30.0 * tau / gamma**2 + math.sqrt(lam) * B

    iota = math.log(1.0 + K * H / (d * lam * alpha**2))
    zeta = 4.0 * math.log(4.0 * math.log(K * H) / delta)
    return dict(M=M, alpha=alpha, gamma=gamma, lam=lam, iota=iota, zeta=zeta, beta=beta, beta_K=beta(K))


def reward_free_suboptimality_bound(d: int, H: int, K: int, delta: float, B: float) -> Bound:
    r"""Suboptimality of HF-UCRL-RFE++'s planned policy after ``K`` exploration episodes, for any reward.

    From the thesis restatement of Zhang, Zhang & Gu (2023): Lemma 2.8.7 gives
    :math:`V^*_1(s_1; r) - V^{\hat\pi_r}_1(s_1; r) \le 4\hat V_{K,1}`, Lemma 2.8.8 gives
    :math:`K\hat V_{K,1} \le \sum_k \hat V_{k,1}`, and Eq. (2.8.60) bounds the sum, so

    .. math::

        \mathrm{SubOpt} \le \frac4K\Big[896\max\{64\beta^2 d\iota, 2\zeta\} + 24\zeta + 240 d\iota
        + 240\beta\gamma^2 d\iota + 120\beta d\iota\sqrt M + 24\sqrt{\zeta M d\iota} + M d\iota
        + \big(64\max\{8\beta\sqrt{d\iota}, \sqrt{2\zeta}\} + 120\beta\sqrt{d\iota H}\alpha\big)\sqrt K\Big]

    with :math:`\beta = \beta_K` and the constants of :func:`reward_free_parameters`
    (:math:`\tilde O(d^2/K + d/\sqrt K)`, Thm 2.6.3 there).  The last term is printed as
    :math:`120\beta\sqrt{d\iota}H\alpha^2\sqrt K` in the source; the line above it gives
    :math:`120\beta\sqrt{d\iota}\sqrt{KH\alpha^2}`, used here (equal to :math:`120\beta\sqrt{d\iota K}`
    at :math:`\alpha = H^{-1/2}`).  Holds with probability at least :math:`1 - 4M\delta` (events of
    Lemmas 2.8.6 and 2.8.27, each :math:`1 - 2M\delta`).  With these constants the value exceeds 1 (the
    largest possible suboptimality under total reward <= 1) until ``K`` is astronomically large: it is
    vacuous at any ``K`` a test can run, and is reported as the theorem states it.
    """
    p = reward_free_parameters(d, H, K, delta, B)
    b, M, io, ze, g, al = p["beta_K"], p["M"], p["iota"], p["zeta"], p["gamma"], p["alpha"]
    const = (896.0 * max(64.0 * b * b * d * io, 2.0 * ze) + 24.0 * ze + 240.0 * d * io + 240.0 * b * g * g * d * io
             + 120.0 * b * d * io * math.sqrt(M) + 24.0 * math.sqrt(ze * M * d * io) + M * d * io)
    slope = 64.0 * max(8.0 * b * math.sqrt(d * io), math.sqrt(2.0 * ze)) + 120.0 * b * math.sqrt(d * io * H) * al
    value = 4.0 / K * (const + slope * math.sqrt(K))
    return Bound(value=value, kind=BoundKind.HIGH_PROBABILITY, citation=ZHANG2023,
                 assumptions=("linear mixture MDP P = sum_i theta*_i P_i, ||theta*||_2 <= B, ||psi_V(s,a)||_2 <= 1 "
                              "for every V: S -> [0, 1]", "total reward of every trajectory in [0, 1]",
                              "the paper's M, alpha, gamma, lambda, beta_k", "the exact argmax oracle of "
                              "Algorithm 4 line 5 (over theta in the confidence set, policies and rewards)"),
                 delta=min(1.0, 4.0 * M * float(delta)),
                 statement="V*_1(s1; r) - V^{pi_r}_1(s1; r) <= 4/K [const + slope sqrt(K)] for every reward r with "
                           "total reward <= 1, simultaneously",
                 extra={"const": const, "slope": slope, **{k: v for k, v in p.items() if k != "beta"}})


def reward_free_sample_complexity(d: int, H: int, epsilon: float, delta: float, B: float) -> Bound:
    r"""Episodes HF-UCRL-RFE++ needs for an ``epsilon``-optimal policy for every reward: the smallest ``K``
    with :func:`reward_free_suboptimality_bound` ``<= epsilon`` (found by doubling then bisection; the
    bound is decreasing in ``K`` beyond the first few episodes, checked at both ends of the bracket).

    :math:`\tilde O(d^2\epsilon^{-2})` (Zhang, Zhang & Gu 2023, Cor. 2.6.4 of the thesis restatement, whose
    closed form (2.6.7) prints the constant 2752 where Eq. (2.8.60) has 896; this function inverts the
    suboptimality bound itself, so it inherits (2.8.60)).
    """
    eps = float(epsilon)
    if not (0.0 < eps <= 1.0):
        raise InvalidArgumentError(f"epsilon must lie in (0, 1], got {epsilon!r}")
    f = lambda k: reward_free_suboptimality_bound(d, H, k, delta, B).value  # noqa: E731
    lo = max(1, -(-3 // _pos_int(H, "H")))
    hi = lo
    while f(hi) > eps:
        lo, hi = hi, hi * 2
        if hi > 2**80:
            raise InvalidArgumentError("no K below 2^80 reaches this epsilon")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) <= eps:
            hi = mid
        else:
            lo = mid
    b = reward_free_suboptimality_bound(d, H, hi, delta, B)
    return Bound(value=float(hi), kind=BoundKind.HIGH_PROBABILITY, citation=ZHANG2023, assumptions=b.assumptions,
                 delta=b.delta, statement=f"K >= {hi} exploration episodes give an {eps:g}-optimal policy for every "
                 "reward with total reward <= 1", extra={"suboptimality_at_K": b.value, "epsilon": eps})

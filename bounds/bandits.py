r"""Regret bounds of K-armed bandit algorithms as their papers state them, and the lower bounds.

Every function returns a :class:`~mdpkit.bounds.Bound` on the *pseudo-regret*
:math:`\bar R_T = \sum_i \Delta_i \mathbb{E}[T_i(T)]` after ``T`` rounds (or, for the
high-probability statement, the failure probability), with the paper's constants, after checking
the theorem's assumptions on the instance.  When an assumption fails (e.g. UCB1's rewards in
[0, 1] on a Gaussian instance) or the algorithm is a practical variant whose constants differ from
the theorem's, the bound is refused with :class:`BoundNotApplicableError`.

Where we could read the statement in the source, the number is given as is; otherwise the docstring
says "(number not checked against the text)".  Asymptotic statements (KL-UCB, KL-UCB++, Thompson
sampling, IMED, Lai-Robbins) are returned with kind ``ASYMPTOTIC`` and value
:math:`C \log T`: the leading term, not a finite-time guarantee.

Instances are :class:`mdpkit.bandits.StochasticBandit` records; only numpy/scipy are used.
"""

from __future__ import annotations

import math

import numpy as np

from mdpkit._exceptions import InvalidArgumentError

from ._bound import Bound, BoundKind

__all__ = [
    "BoundNotApplicableError",
    "ao_ucb_regret_bound",
    "asymptotic_regret_bound",
    "dynlin_ucb_regret_rate",
    "elliptical_potential_bound",
    "etc_regret_bound",
    "exp3_regret_bound",
    "kl_ucb_ls_regret_bound",
    "lai_robbins_bound",
    "minimax_lower_bound",
    "moss_regret_bound",
    "oful_radius",
    "oful_regret_bound",
    "regret_bound",
    "tsallis_inf_regret_bound",
    "ucb1_regret_bound",
    "ucb_confidence_failure_bound",
    "ucb_delta_regret_bound",
]

LS = "Lattimore & Szepesvari 2020, Bandit Algorithms"


class BoundNotApplicableError(InvalidArgumentError):
    """A theorem's bound was asked for an algorithm variant or an instance it does not cover."""


def _T(T) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise InvalidArgumentError(f"horizon T must be an integer >= 1, got {T!r}")
    return int(T)


def _bounded01(inst, who):
    lo, hi = inst.reward_range
    if lo < 0.0 or hi > 1.0:
        raise BoundNotApplicableError(f"{who} assumes rewards in [0, 1]; {inst!r} has rewards in [{lo}, {hi}]")


def _subgaussian1(inst, who):
    if inst.subgaussian_sigma > 1.0:
        raise BoundNotApplicableError(f"{who} assumes 1-subgaussian rewards; {inst!r} is only "
                                      f"{inst.subgaussian_sigma:g}-subgaussian")


def ucb1_regret_bound(instance, T) -> Bound:
    r"""UCB1: :math:`\bar R_T \le 8\sum_{\Delta_i>0} \frac{\ln T}{\Delta_i} + (1+\pi^2/3)\sum_j \Delta_j`.

    Auer, Cesa-Bianchi & Fischer 2002, "Finite-time analysis of the multiarmed bandit problem",
    Thm 1 (number not checked against the text).  Rewards in [0, 1].
    """
    T = _T(T)
    _bounded01(instance, "UCB1 (Auer et al. 2002, Thm 1)")
    g = instance.gaps
    pos = g[g > 0]
    v = 8.0 * math.log(T) * float(np.sum(1.0 / pos)) + (1.0 + math.pi ** 2 / 3.0) * float(g.sum())
    return Bound(v, BoundKind.EXPECTATION, "Auer, Cesa-Bianchi & Fischer 2002, Thm 1",
                 ("rewards in [0, 1]", "index mean + sqrt(2 ln n / n_i) after one pull of each arm"),
                 statement="E[R_T] <= 8 sum_{i: D_i>0} ln(T)/D_i + (1 + pi^2/3) sum_j D_j")


def ucb_delta_regret_bound(instance, T) -> Bound:
    r"""UCB(delta) with :math:`\delta = 1/T^2`: :math:`\bar R_T \le 3\sum_i\Delta_i + \sum_{\Delta_i>0} 16\log(T)/\Delta_i`.

    Lattimore & Szepesvari 2020, Thm 7.1 (statement read in the text).  1-subgaussian rewards.
    """
    T = _T(T)
    _subgaussian1(instance, "UCB(delta) (L&S Thm 7.1)")
    g = instance.gaps
    pos = g[g > 0]
    v = 3.0 * float(g.sum()) + 16.0 * math.log(T) * float(np.sum(1.0 / pos))
    return Bound(v, BoundKind.EXPECTATION, f"{LS}, Thm 7.1",
                 ("1-subgaussian rewards", "delta = 1/T^2"),
                 statement="R_T <= 3 sum_i D_i + sum_{i: D_i>0} 16 log(T)/D_i")


def _eps_grid(D, n=400):
    return D * (np.arange(1, n) / n)


def ao_ucb_regret_bound(instance, T) -> Bound:
    r"""Asymptotically optimal UCB, :math:`f(t) = 1 + t\log^2 t`:

    .. math:: \bar R_T \le \sum_{\Delta_i>0} \inf_{\varepsilon\in(0,\Delta_i)} \Delta_i\Big(1 + \frac{5}{\varepsilon^2}
              + \frac{2}{(\Delta_i-\varepsilon)^2}\big(\log f(T) + \sqrt{\pi \log f(T)} + 1\big)\Big).

    Lattimore & Szepesvari 2020, Thm 8.1 (the second term read in the proof; the 5/eps^2 term:
    number not checked against the text).  1-subgaussian rewards.  The infimum is taken over a
    grid of 399 values of epsilon (every grid point gives a valid bound).
    """
    T = _T(T)
    _subgaussian1(instance, "asymptotically optimal UCB (L&S Thm 8.1)")
    lf = math.log(1.0 + T * math.log(T) ** 2) if T > 1 else 0.0
    tot = 0.0
    for D in instance.gaps[instance.gaps > 0]:
        e = _eps_grid(D)
        tot += float(np.min(D * (1.0 + 5.0 / e ** 2 + 2.0 / (D - e) ** 2 * (lf + math.sqrt(math.pi * lf) + 1.0))))
    return Bound(tot, BoundKind.EXPECTATION, f"{LS}, Thm 8.1", ("1-subgaussian rewards", "f(t) = 1 + t log^2 t"),
                 statement="R_T <= sum_i inf_eps D_i (1 + 5/eps^2 + 2/(D_i-eps)^2 (log f(T) + sqrt(pi log f(T)) + 1))")


def kl_ucb_ls_regret_bound(instance, T) -> Bound:
    r"""KL-UCB with :math:`\log f(t)`, Bernoulli arms (L&S 2020, Thm 10.6, from its proof):

    .. math:: \mathbb{E}[T_i(T)] \le \inf_{\varepsilon_1+\varepsilon_2<\Delta_i}
              \frac{2}{\varepsilon_2^2} + \frac{\log f(T)}{d(\mu_i+\varepsilon_1, \mu^*-\varepsilon_2)}
              + \frac{1}{2\varepsilon_1^2}.
    """
    from mdpkit.bandits import bernoulli_kl

    T = _T(T)
    if instance.family != "bernoulli":
        raise BoundNotApplicableError(f"L&S Thm 10.6 is stated for Bernoulli arms; got {instance.family} arms")
    lf = math.log(1.0 + T * math.log(T) ** 2) if T > 1 else 0.0
    tot = 0.0
    ms = instance.mu_star
    for i in np.flatnonzero(instance.gaps > 0):
        D = instance.gaps[i]
        e1, e2 = np.meshgrid(_eps_grid(D, 120), _eps_grid(D, 120))
        ok = e1 + e2 < D * (1.0 - 1e-6)
        d = bernoulli_kl(instance.means[i] + e1[ok], ms - e2[ok])
        tot += D * float(np.min(2.0 / e2[ok] ** 2 + lf / d + 1.0 / (2.0 * e1[ok] ** 2)))
    return Bound(tot, BoundKind.EXPECTATION, f"{LS}, Thm 10.6", ("Bernoulli rewards", "f(t) = 1 + t log^2 t"),
                 statement="R_T <= sum_i D_i inf_{e1+e2<D_i} (2/e2^2 + log f(T)/d(mu_i+e1, mu*-e2) + 1/(2 e1^2))")


def moss_regret_bound(instance, T) -> Bound:
    r"""MOSS with the horizon: :math:`\bar R_T \le 38\sqrt{KT} + \sum_i \Delta_i`.

    Lattimore & Szepesvari 2020, Thm 9.1 (the proof's last line, read in the text, gives 38; the
    theorem is stated with 39).  1-subgaussian rewards; index
    :math:`\hat\mu_i + \sqrt{\frac{4}{T_i}\log^+\frac{T}{K T_i}}`.
    """
    T = _T(T)
    _subgaussian1(instance, "MOSS (L&S Thm 9.1)")
    v = 38.0 * math.sqrt(instance.K * T) + float(instance.gaps.sum())
    return Bound(v, BoundKind.EXPECTATION, f"{LS}, Thm 9.1 (proof)", ("1-subgaussian rewards", "known horizon T"),
                 statement="R_T <= 38 sqrt(K T) + sum_i D_i")


def exp3_regret_bound(instance, T) -> Bound:
    r"""Exp3 with :math:`\eta = \sqrt{2\log K/(TK)}`: :math:`R_T \le \sqrt{2TK\log K}`.

    Lattimore & Szepesvari 2020, Thm 11.2 (statement read in the text), for any reward table in
    [0, 1]^{T x K}; the stochastic pseudo-regret is at most the expected adversarial regret of
    the random table.
    """
    T = _T(T)
    _bounded01(instance, "Exp3 (L&S Thm 11.2)")
    K = instance.K
    return Bound(math.sqrt(2.0 * T * K * math.log(K)), BoundKind.EXPECTATION, f"{LS}, Thm 11.2",
                 ("rewards in [0, 1]", "eta = sqrt(2 log K / (T K))"), statement="R_T <= sqrt(2 T K log K)")


def etc_regret_bound(instance, T, m: int) -> Bound:
    r"""Explore-then-commit with ``m`` pulls per arm (:math:`1 \le m \le T/K`):

    .. math:: \bar R_T \le m\sum_i\Delta_i + (T - mK)\sum_i \Delta_i \exp(-m\Delta_i^2/4).

    Lattimore & Szepesvari 2020, Thm 6.1 (statement read in the text).  1-subgaussian rewards.
    """
    T = _T(T)
    _subgaussian1(instance, "ETC (L&S Thm 6.1)")
    K = instance.K
    if not 1 <= m <= T // K:
        raise BoundNotApplicableError(f"L&S Thm 6.1 needs 1 <= m <= T/K = {T // K}, got m = {m}")
    g = instance.gaps
    v = m * float(g.sum()) + (T - m * K) * float(np.sum(g * np.exp(-m * g ** 2 / 4.0)))
    return Bound(v, BoundKind.EXPECTATION, f"{LS}, Thm 6.1", ("1-subgaussian rewards", f"m = {m}"),
                 statement="R_T <= m sum_i D_i + (T - m K) sum_i D_i exp(-m D_i^2 / 4)")


def tsallis_inf_regret_bound(instance, T) -> Bound:
    r"""Tsallis-INF (alpha = 1/2, :math:`\eta_t = 2/\sqrt t`, importance-weighted losses):
    :math:`\bar R_T \le 4\sqrt{KT} + 1`.

    Zimmert & Seldin 2021, JMLR 22(28), Thm 1 (number not checked against the text).  Losses
    (1 - reward) in [0, 1].
    """
    T = _T(T)
    _bounded01(instance, "Tsallis-INF (Zimmert & Seldin 2021, Thm 1)")
    return Bound(4.0 * math.sqrt(instance.K * T) + 1.0, BoundKind.EXPECTATION, "Zimmert & Seldin 2021, Thm 1",
                 ("losses in [0, 1]", "eta_t = 2/sqrt(t)", "importance-weighted estimator"),
                 statement="R_T <= 4 sqrt(K T) + 1")


def asymptotic_regret_bound(instance, T, *, algorithm: str = "kl_ucb") -> Bound:
    r"""Leading term :math:`C\log T` of an asymptotically optimal algorithm's regret (kind ASYMPTOTIC).

    :math:`\limsup_T \bar R_T/\log T \le C`, with :math:`C = \sum \Delta_i / \mathrm{kl}(\mu_i, \mu^*)`
    (Bernoulli kl of the means) for KL-UCB on rewards in [0, 1] (Garivier & Cappe 2011, Thm 1, c = 3),
    KL-UCB++ (Menard & Garivier 2017, Thm 1) and Beta-Thompson sampling (Kaufmann, Korda & Munos
    2012, Thm 1; Agrawal & Goyal 2013, Thm 1); :math:`C = \sum \Delta_i/K_{\inf}` for IMED (Honda &
    Takemura 2015).  On Bernoulli arms every one equals the Lai-Robbins constant.  Theorem numbers
    not checked against the texts.
    """
    from mdpkit.bandits import bernoulli_kl

    T = _T(T)
    g = instance.gaps
    if instance.family == "gaussian":
        if algorithm in ("ts_beta",):
            raise BoundNotApplicableError("Beta-Thompson sampling's bound assumes rewards in [0, 1]")
        k = instance.k_inf()
    elif algorithm == "imed":
        k = instance.k_inf()
    else:
        k = np.where(g > 0, bernoulli_kl(instance.means, instance.mu_star), 1.0)
    sub = g > 0
    C = float(np.sum(np.where(np.isinf(k[sub]), 0.0, g[sub] / k[sub])))
    cite = {"kl_ucb": "Garivier & Cappe 2011, Thm 1", "kl_ucb_pp": "Menard & Garivier 2017, Thm 1",
            "ts_beta": "Kaufmann, Korda & Munos 2012, Thm 1; Agrawal & Goyal 2013, Thm 1",
            "imed": "Honda & Takemura 2015"}[algorithm]
    return Bound(C * math.log(T), BoundKind.ASYMPTOTIC, cite, ("T -> infinity",),
                 statement="limsup R_T / log T <= C", extra={"C": C})


def lai_robbins_bound(instance, T) -> Bound:
    r"""Lai-Robbins lower bound, kind ASYMPTOTIC: :math:`\liminf_T \bar R_T/\log T \ge C(\nu)` for every
    consistent policy, :math:`C(\nu)` = ``instance.lai_robbins_constant()``; value :math:`C\log T`.

    Lai & Robbins 1985, Thm 2; Burnetas & Katehakis 1996, Thm 1 (numbers not checked against the texts).
    """
    T = _T(T)
    C = instance.lai_robbins_constant()
    return Bound(C * math.log(T), BoundKind.ASYMPTOTIC, "Lai & Robbins 1985, Thm 2; Burnetas & Katehakis 1996",
                 ("consistent policy", f"model class of {instance.family} arms", "lower bound"),
                 statement="liminf R_T / log T >= sum_i D_i / K_inf(nu_i, mu*)", extra={"C": C, "lower": True})


def minimax_lower_bound(K: int, T) -> Bound:
    r"""Minimax lower bound: for every policy some Gaussian bandit with means in [0, 1] has
    :math:`\bar R_T \ge \frac{1}{27}\sqrt{(K-1)T}` (:math:`T \ge K-1`).

    Lattimore & Szepesvari 2020, Thm 15.2 (number not checked against the text).
    """
    T = _T(T)
    if K < 2 or T < K - 1:
        raise InvalidArgumentError(f"minimax_lower_bound needs K >= 2 and T >= K - 1, got K={K}, T={T}")
    return Bound(math.sqrt((K - 1) * T) / 27.0, BoundKind.DETERMINISTIC, f"{LS}, Thm 15.2",
                 ("worst case over unit-variance Gaussian bandits", "lower bound"),
                 statement="inf_policy sup_nu R_T >= sqrt((K-1) T)/27", extra={"lower": True})


def ucb_confidence_failure_bound(T, delta: float) -> Bound:
    r"""Probability that the UCB(delta) index of the optimal arm is ever below :math:`\mu^*` within T
    rounds: at most :math:`T\delta` (1-subgaussian rewards).

    Lattimore & Szepesvari 2020, Eq. (7.7) in the proof of Thm 7.1 (read in the text): a union bound
    over the optimal arm's sample counts s = 1..T of
    :math:`P(\hat\mu_{1s} + \sqrt{2\log(1/\delta)/s} \le \mu_1) \le \delta`.
    """
    T = _T(T)
    if not 0.0 < delta < 1.0:
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta}")
    return Bound(min(1.0, T * delta), BoundKind.HIGH_PROBABILITY, f"{LS}, Eq. (7.7)",
                 ("1-subgaussian rewards",), delta=min(1.0, T * delta),
                 statement="P(exists s <= T: mu_hat_1s + sqrt(2 log(1/delta)/s) <= mu_1) <= T delta")


def elliptical_potential_bound(d: int, T, lam: float, L: float) -> Bound:
    r"""Elliptical potential lemma: for :math:`V_t = \lambda I + \sum_{s\le t} x_s x_s^\top`, :math:`\|x_s\|\le L`,

    .. math:: \sum_{t=1}^T \min(1, \|x_t\|^2_{V_{t-1}^{-1}}) \le 2 d \log\Big(1 + \frac{T L^2}{d\lambda}\Big).

    Abbasi-Yadkori, Pal & Szepesvari 2011, Lemma 11; Lattimore & Szepesvari 2020, Lemma 19.4
    (numbers not checked against the texts).
    """
    T = _T(T)
    if d < 1 or lam <= 0 or L <= 0:
        raise InvalidArgumentError(f"need d >= 1, lam > 0, L > 0; got d={d}, lam={lam}, L={L}")
    return Bound(2.0 * d * math.log(1.0 + T * L * L / (d * lam)), BoundKind.DETERMINISTIC, f"{LS}, Lemma 19.4",
                 ("||x_t|| <= L",), statement="sum_t min(1, ||x_t||^2_{V_{t-1}^-1}) <= 2 d log(1 + T L^2/(d lam))")


def oful_radius(logdet_V: float, d: int, lam: float, R: float, S: float, delta: float) -> Bound:
    r"""Self-normalised confidence radius: with probability at least :math:`1-\delta`, for all t >= 0,
    :math:`\|\hat\theta_t - \theta^*\|_{V_t} \le R\sqrt{2\log\frac{\det(V_t)^{1/2}\det(\lambda I)^{-1/2}}{\delta}}
    + \lambda^{1/2} S`.

    Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 2 (number not checked against the text);
    R-subgaussian noise, :math:`\|\theta^*\|_2 \le S`.  ``logdet_V`` is :math:`\log\det V_t`.
    """
    if lam <= 0 or R < 0 or S < 0 or not 0 < delta < 1:
        raise InvalidArgumentError(f"need lam > 0, R >= 0, S >= 0, delta in (0, 1); got {lam}, {R}, {S}, {delta}")
    v = R * math.sqrt(2.0 * math.log(1.0 / delta) + logdet_V - d * math.log(lam)) + math.sqrt(lam) * S
    return Bound(v, BoundKind.HIGH_PROBABILITY, "Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 2",
                 ("R-subgaussian noise", "||theta*|| <= S", "uniform over t"), delta=delta,
                 statement="||theta_hat_t - theta*||_{V_t} <= R sqrt(2 log(det(V_t)^1/2 det(lam I)^-1/2 / delta)) "
                           "+ lam^1/2 S for all t")


def oful_regret_bound(instance, T, *, lam: float = 1.0, delta: float = 0.05) -> Bound:
    r"""OFUL's regret: with probability at least :math:`1-\delta`,

    .. math:: R_T \le 4\sqrt{T d \log(\lambda + T L/d)}\,\big(\lambda^{1/2} S + R\sqrt{2\log(1/\delta)
              + d\log(1 + T L/(\lambda d))}\big).

    Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 3 (number not checked against the text); assumes
    :math:`\langle x, \theta^*\rangle \in [-1, 1]` for every arm, :math:`\|x\| \le L`, ``lam >= max(1, L^2)``.
    """
    T = _T(T)
    # finite arm sets expose their means; the unit ball its largest |<x, theta*>| = ||theta*||
    top = getattr(instance, "max_abs_mean", None)
    top = float(np.max(np.abs(instance.means))) if top is None else float(top)
    if top > 1.0 + 1e-12:
        raise BoundNotApplicableError("OFUL Thm 3 assumes <x, theta*> in [-1, 1] for every arm")
    L, S, R, d = instance.arm_norm, instance.theta_norm, instance.sigma, instance.d
    if lam < max(1.0, L * L):
        raise BoundNotApplicableError(f"OFUL Thm 3 assumes lam >= max(1, L^2) = {max(1.0, L * L):g}, got {lam}")
    v = 4.0 * math.sqrt(T * d * math.log(lam + T * L / d)) * (
        math.sqrt(lam) * S + R * math.sqrt(2.0 * math.log(1.0 / delta) + d * math.log(1.0 + T * L / (lam * d))))
    return Bound(v, BoundKind.HIGH_PROBABILITY, "Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 3",
                 ("<x, theta*> in [-1, 1]", "R-subgaussian noise", "lam >= max(1, L^2)"), delta=delta,
                 statement="R_T <= 4 sqrt(T d log(lam + T L/d)) (lam^1/2 S + R sqrt(2 log(1/delta) + d log(1 + T L/(lam d))))")


def dynlin_ucb_regret_rate(instance, T, rho_bar: float | None = None) -> Bound:
    r"""DynLin-UCB's regret rate, kind RATE_ONLY: :math:`\mathbb{E}[R_T] = \tilde O\big(d\sqrt{T}/(1-\bar\rho)^{3/2}\big)`.

    Mussi, Metelli & Restelli 2023, "Dynamical Linear Bandits", ICML, main regret theorem (number
    and constants not checked against the text: only the abstract's rate was read).  ``value`` is
    :math:`d\sqrt{T}/(1-\bar\rho)^{3/2}` without constants or logarithmic factors, so it is not a
    numeric guarantee.  ``rho_bar`` (default the spectral radius of A) must satisfy
    :math:`\rho(A) \le \bar\rho < 1`.
    """
    T = _T(T)
    rho = instance.spectral_radius
    rb = rho if rho_bar is None else float(rho_bar)
    if not rho * (1 - 1e-9) <= rb < 1.0:
        raise BoundNotApplicableError(f"DynLin-UCB's analysis needs rho(A) <= rho_bar < 1; rho(A) = {rho:.6g}, rho_bar = {rb}")
    v = instance.d * math.sqrt(T) / (1.0 - rb) ** 1.5
    return Bound(v, BoundKind.RATE_ONLY, "Mussi, Metelli & Restelli 2023 (ICML), regret theorem (number not checked)",
                 ("stable A: rho(A) <= rho_bar < 1", "subgaussian noise", "bounded actions and parameters"),
                 statement="E[R_T] = O~(d sqrt(T) / (1 - rho_bar)^(3/2)); constants and log factors omitted",
                 extra={"rho_bar": rb})


def regret_bound(algorithm, instance, T) -> Bound:
    """The regret bound of ``algorithm`` (a :class:`mdpkit.solvers.bandits.BanditAlgorithm` or its name)
    on ``instance`` after ``T`` rounds.

    Raises
    ------
    BoundNotApplicableError
        A practical variant (its constants are not the theorem's), an algorithm without an encoded
        bound, or an instance violating the theorem's assumptions.
    """
    name = getattr(algorithm, "name", algorithm)
    variant = getattr(algorithm, "variant", "paper")
    options = getattr(algorithm, "options", {})
    if variant != "paper" and not (name == "kl_ucb" and variant == "ls"):
        raise BoundNotApplicableError(f"{name}[{variant}] runs with non-paper constants; no theorem covers it "
                                      f"(use variant='paper')")
    if name == "ucb1":
        return ucb1_regret_bound(instance, T)
    if name == "ucb_delta":
        return ucb_delta_regret_bound(instance, T)
    if name == "ao_ucb":
        return ao_ucb_regret_bound(instance, T)
    if name == "kl_ucb" and variant == "ls":
        return kl_ucb_ls_regret_bound(instance, T)
    if name in ("kl_ucb", "kl_ucb_pp", "ts_beta", "imed"):
        return asymptotic_regret_bound(instance, T, algorithm=name)
    if name == "moss":
        return moss_regret_bound(instance, T)
    if name == "exp3":
        return exp3_regret_bound(instance, T)
    if name == "tsallis_inf":
        return tsallis_inf_regret_bound(instance, T)
    if name == "etc":
        m = int(options.get("m", max(1, int(_T(T) ** (2.0 / 3.0) / instance.K))))
        return etc_regret_bound(instance, T, m)
    raise BoundNotApplicableError(f"no regret bound is encoded for {name!r} (ts_gaussian: the constants of "
                                  f"Agrawal & Goyal 2013 are not encoded; greedy, uniform, eps_greedy: none)")

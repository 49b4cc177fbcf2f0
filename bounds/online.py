r"""Regret bounds of online tabular RL algorithms, with the papers' constants.

Every function checks its assumptions on the arguments it is given and refuses
(:class:`NonPaperVariantError`) when asked for the bound of a variant that does not run the
paper's constants: such a bound would not apply to what was run.

Episodic (``K`` episodes of length ``H``, ``T = K H`` steps, rewards in ``[0, 1]``)
    ucbvi_ch_regret_bound, ucbvi_bf_regret_bound, ucb_h_regret_rate, ucb_b_regret_rate,
    psrl_bayes_regret_rate
Average reward (``T`` steps)
    ucrl2_regret_bound, ucrl2_episode_bound
"""

from __future__ import annotations

import math

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_int

from ._bound import Bound, BoundKind

__all__ = [
    "AZAR_2017",
    "JAKSCH_2010",
    "JIN_2018",
    "NonPaperVariantError",
    "OSBAND_2013",
    "psrl_bayes_regret_rate",
    "ucb_b_regret_rate",
    "ucb_h_regret_rate",
    "ucbvi_bf_regret_bound",
    "ucbvi_ch_regret_bound",
    "ucbvi_log",
    "ucrl2_episode_bound",
    "ucrl2_regret_bound",
]

AZAR_2017 = ("M. G. Azar, I. Osband and R. Munos, Minimax regret bounds for reinforcement learning, "
             "ICML 2017 (arXiv:1703.05449v2)")
JIN_2018 = ("C. Jin, Z. Allen-Zhu, S. Bubeck and M. I. Jordan, Is Q-learning provably efficient?, "
            "NeurIPS 2018")
JAKSCH_2010 = ("T. Jaksch, R. Ortner and P. Auer, Near-optimal regret bounds for reinforcement learning, "
               "JMLR 11:1563-1600, 2010")
OSBAND_2013 = ("I. Osband, D. Russo and B. Van Roy, (More) efficient reinforcement learning via posterior "
               "sampling, NeurIPS 2013")


class NonPaperVariantError(InvalidArgumentError):
    """A bound was asked for a variant that does not run the paper's constants."""


def _require_paper(variant: str, algo: str) -> None:
    if variant != "paper":
        raise NonPaperVariantError(
            f"the {algo} regret bound holds only for variant='paper' (the paper's constants); "
            f"variant={variant!r} changes the bonus, so no bound is attached to it")


def _delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (0.0 < float(delta) <= 1.0):
        raise InvalidArgumentError(f"delta must be a probability in (0, 1], got {delta!r}")
    return float(delta)


def _sahk(S, A, H, K):
    return (check_int(S, "S", minimum=1), check_int(A, "A", minimum=1), check_int(H, "H", minimum=1),
            check_int(K, "K (number of episodes)", minimum=1))


def ucbvi_log(S: int, A: int, H: int, K: int, delta: float, *, in_bound: bool) -> float:
    r"""The logarithm of UCBVI: :math:`L = \ln(5SAT/\delta)` in the algorithm's bonus (Alg. 3-4),
    :math:`\ln(5HSAT/\delta)` in Theorems 1-2 (as printed; ``in_bound=True``), ``T = KH``."""
    S, A, H, K = _sahk(S, A, H, K)
    T = K * H
    return math.log(5.0 * (H if in_bound else 1) * S * A * T / _delta(delta))


def _episodic_assumptions():
    return ("finite MDP with stationary (time-homogeneous) transitions",
            "known deterministic rewards in [0, 1]",
            "episodes of H steps, undiscounted; regret sum_k V*_1(s_1^k) - V^{pi_k}_1(s_1^k)")


def ucbvi_ch_regret_bound(S: int, A: int, H: int, K: int, delta: float, *, variant: str = "paper") -> Bound:
    r"""High-probability regret of UCBVI-CH (Chernoff-Hoeffding bonus).

    With probability at least :math:`1-\delta`,
    :math:`\mathrm{Regret}(K) \le 20 H L \sqrt{SAT} + 250 H^2 S^2 A L^2` with
    :math:`T = KH`, :math:`L = \ln(5HSAT/\delta)` (Azar, Osband & Munos 2017, Theorem 1).

    Parameters
    ----------
    S, A, H, K : int
        States, actions, episode length, number of episodes.
    delta : float in (0, 1]
    variant : str
        Must be ``"paper"`` (the bonus ``7 H L_alg sqrt(1/N)``).

    Returns
    -------
    Bound
        ``kind = HIGH_PROBABILITY``, reward units (sum over episodes).

    Raises
    ------
    NonPaperVariantError
        ``variant != "paper"``.
    InvalidArgumentError
        Non-positive sizes or ``delta`` outside (0, 1].
    """
    _require_paper(variant, "UCBVI-CH")
    S, A, H, K = _sahk(S, A, H, K)
    L = ucbvi_log(S, A, H, K, delta, in_bound=True)
    T = K * H
    val = 20.0 * H * L * math.sqrt(S * A * T) + 250.0 * H ** 2 * S ** 2 * A * L ** 2
    return Bound(val, BoundKind.HIGH_PROBABILITY, f"{AZAR_2017}, Theorem 1", _episodic_assumptions(),
                 delta=float(delta), statement="Regret(K) <= 20 H L sqrt(SAT) + 250 H^2 S^2 A L^2, L = ln(5HSAT/delta)",
                 extra=dict(L=L, T=T))


def ucbvi_bf_regret_bound(S: int, A: int, H: int, K: int, delta: float, *, variant: str = "paper") -> Bound:
    r"""High-probability regret of UCBVI-BF (Bernstein-Freedman bonus).

    With probability at least :math:`1-\delta`,
    :math:`\mathrm{Regret}(K) \le 30 L\sqrt{HSAT} + 2500 H^2 S^2 A L^2 + 4 H \sqrt{T L}`
    (printed as :math:`30 H L \sqrt{SAK} + 2500 H^2S^2AL^2 + 4H^{3/2}\sqrt{KL}`),
    :math:`L = \ln(5HSAT/\delta)` (Azar, Osband & Munos 2017, Theorem 2).

    Raises
    ------
    NonPaperVariantError
        ``variant != "paper"``.
    """
    _require_paper(variant, "UCBVI-BF")
    S, A, H, K = _sahk(S, A, H, K)
    L = ucbvi_log(S, A, H, K, delta, in_bound=True)
    T = K * H
    val = 30.0 * L * math.sqrt(H * S * A * T) + 2500.0 * H ** 2 * S ** 2 * A * L ** 2 + 4.0 * H * math.sqrt(T * L)
    return Bound(val, BoundKind.HIGH_PROBABILITY, f"{AZAR_2017}, Theorem 2", _episodic_assumptions(),
                 delta=float(delta),
                 statement="Regret(K) <= 30 L sqrt(HSAT) + 2500 H^2 S^2 A L^2 + 4 H sqrt(T L), L = ln(5HSAT/delta)",
                 extra=dict(L=L, T=T))


def ucb_h_regret_rate(S: int, A: int, H: int, K: int, delta: float, *, variant: str = "paper") -> Bound:
    r"""Order of the regret of Q-learning with UCB-Hoeffding (rate only).

    With probability at least :math:`1-p`, :math:`\mathrm{Regret}(K) = O(H^2 SA + \sqrt{H^4 SAT\iota})`,
    :math:`\iota = \ln(SAT/p)` (Jin et al. 2018, Theorem 1).  The theorem holds for "some absolute
    constant c" in the bonus and prints no constant in the bound, so ``value`` is the expression
    inside the O (constant 1): a rate, not a number to compare regret with.

    Raises
    ------
    NonPaperVariantError
        ``variant != "paper"``.
    """
    _require_paper(variant, "UCB-H")
    S, A, H, K = _sahk(S, A, H, K)
    T = K * H
    iota = math.log(S * A * T / _delta(delta))
    val = H ** 2 * S * A + math.sqrt(H ** 4 * S * A * T * iota)
    return Bound(val, BoundKind.RATE_ONLY, f"{JIN_2018}, Theorem 1",
                 ("episodic MDP, H steps, rewards in [0, 1] (the paper allows step-dependent P_h, r_h)",),
                 delta=float(delta), statement="Regret(K) = O(H^2 S A + sqrt(H^4 S A T iota)), iota = ln(SAT/p)",
                 extra=dict(iota=iota, T=T))


def ucb_b_regret_rate(S: int, A: int, H: int, K: int, delta: float, *, variant: str = "paper") -> Bound:
    r"""Order of the regret of Q-learning with UCB-Bernstein (rate only).

    :math:`\mathrm{Regret}(K) = O(\sqrt{H^3 SAT\iota^2} + \sqrt{H^9 S^3 A^3}\,\iota^2)` with
    probability at least :math:`1-p` (Jin et al. 2018, Theorem 2; number not checked against the
    text, and a secondary summary prints :math:`\iota` instead of :math:`\iota^2` in the first term:
    the larger power is used).  ``value`` is the expression inside the O.

    Raises
    ------
    NonPaperVariantError
        ``variant != "paper"``.
    """
    _require_paper(variant, "UCB-B")
    S, A, H, K = _sahk(S, A, H, K)
    T = K * H
    iota = math.log(S * A * T / _delta(delta))
    val = math.sqrt(H ** 3 * S * A * T * iota ** 2) + math.sqrt(H ** 9 * S ** 3 * A ** 3) * iota ** 2
    return Bound(val, BoundKind.RATE_ONLY, f"{JIN_2018}, Theorem 2 (number not checked against the text)",
                 ("episodic MDP, H steps, rewards in [0, 1]",), delta=float(delta),
                 statement="Regret(K) = O(sqrt(H^3 S A T iota^2) + sqrt(H^9 S^3 A^3) iota^2)", extra=dict(iota=iota, T=T))


def psrl_bayes_regret_rate(S: int, A: int, H: int, K: int) -> Bound:
    r"""Order of the Bayesian regret of PSRL (rate only).

    :math:`\mathbb E[\mathrm{Regret}(T)] = O(\tau S\sqrt{AT\log(SAT)})` with episode length
    :math:`\tau = H` and :math:`T = KH`, the expectation over the prior too (Osband, Russo & Van Roy
    2013, Theorem 1).  A Bayesian bound: it says nothing about one fixed MDP.
    """
    S, A, H, K = _sahk(S, A, H, K)
    T = K * H
    val = H * S * math.sqrt(A * T * math.log(S * A * T)) if S * A * T > 1 else 0.0
    return Bound(val, BoundKind.RATE_ONLY, f"{OSBAND_2013}, Theorem 1",
                 ("M* drawn from the prior that PSRL uses (Bayesian regret)", "episodes of fixed length tau = H"),
                 statement="E[Regret(T)] = O(tau S sqrt(A T log(S A T)))", extra=dict(T=T))


def ucrl2_regret_bound(S: int, A: int, T: int, delta: float, *, D: float | None = None, mdp=None,
                       variant: str = "paper") -> Bound:
    r"""High-probability regret of UCRL2 in a communicating MDP with diameter :math:`D`.

    With probability at least :math:`1-\delta`, for any initial state and any :math:`T > 1`,
    :math:`\Delta(T) = T\rho^* - \sum_{t \le T} r_t \le 34 D S\sqrt{AT\ln(T/\delta)}`
    (Jaksch, Ortner & Auer 2010, Theorem 2).

    Parameters
    ----------
    S, A, T : int
    delta : float in (0, 1]
    D : float, optional
        Diameter; computed from ``mdp`` by ``mdpkit.structure.diameter`` when omitted.
    mdp : TabularMDP, optional
    variant : str
        Must be ``"paper"``.

    Raises
    ------
    NonPaperVariantError
        ``variant != "paper"``.
    InvalidArgumentError
        ``T < 2``, neither ``D`` nor ``mdp`` given, or an infinite diameter (not communicating).
    """
    _require_paper(variant, "UCRL2")
    S, A = check_int(S, "S", minimum=1), check_int(A, "A", minimum=1)
    T = check_int(T, "T", minimum=2)
    delta = _delta(delta)
    if D is None:
        if mdp is None:
            raise InvalidArgumentError("ucrl2_regret_bound needs the diameter D or the model mdp")
        from mdpkit import structure

        if not hasattr(structure, "diameter"):
            raise InvalidArgumentError("mdpkit.structure.diameter is not available: pass D")
        D = structure.diameter(mdp)
        D = float(getattr(D, "value", D))
    D = float(D)
    if not math.isfinite(D) or D < 0:
        raise InvalidArgumentError(f"the diameter must be finite (a communicating MDP), got D={D}")
    val = 34.0 * D * S * math.sqrt(A * T * math.log(T / delta))
    return Bound(val, BoundKind.HIGH_PROBABILITY, f"{JAKSCH_2010}, Theorem 2",
                 ("communicating MDP with diameter D", "rewards in [0, 1]", "any initial state, T > 1"),
                 delta=delta, statement="T rho* - sum_t r_t <= 34 D S sqrt(A T ln(T/delta))", extra=dict(D=D))


def ucrl2_episode_bound(S: int, A: int, T: int) -> Bound:
    r"""Number of episodes of UCRL2 up to step :math:`T \ge SA`: :math:`m \le SA\log_2(8T/(SA))`.

    Deterministic (it follows from the doubling stopping rule alone; Jaksch, Ortner & Auer 2010,
    Proposition 18, number not checked against the text).

    Raises
    ------
    InvalidArgumentError
        ``T < S A``.
    """
    S, A = check_int(S, "S", minimum=1), check_int(A, "A", minimum=1)
    T = check_int(T, "T", minimum=S * A)
    return Bound(S * A * math.log2(8.0 * T / (S * A)), BoundKind.DETERMINISTIC,
                 f"{JAKSCH_2010}, Proposition 18 (number not checked against the text)", ("T >= S A",),
                 statement="m <= S A log2(8 T / (S A))")

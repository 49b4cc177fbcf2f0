"""Bounds in terms of structural quantities: diameter, bias span, Dobrushin coefficient, mixing
time, and the GORP sample complexity behind the effective horizon.

The quantities themselves are computed by :mod:`mdpkit.structure` and
:mod:`mdpkit.effective_horizon`; these functions turn them into :class:`Bound` records.
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind

__all__ = [
    "bias_span_bound",
    "diameter_lower_bound",
    "dobrushin_tv_bound",
    "effective_horizon_bound",
    "gorp_rollouts",
    "mixing_time_spectral_bounds",
]

JAKSCH = "Jaksch, Ortner & Auer 2010, JMLR 11"
LPW = "Levin, Peres & Wilmer 2017, Markov Chains and Mixing Times, 2nd ed."
LAIDLAW = "Laidlaw, Russell & Dragan 2023, Bridging RL Theory and Practice with the Effective Horizon"


def diameter_lower_bound(n_states: int, n_actions: int) -> Bound:
    r"""Every MDP with S states and A actions has diameter :math:`D \ge \log_A S - 3`.

    Jaksch, Ortner & Auer 2010, Sec. 2, remark after the definition of the diameter (location
    not checked against the text).  With ``A = 1`` and ``S >= 2`` no two-way move is possible
    between all pairs unless the chain is a cycle, and the bound reads :math:`D \ge -\infty`
    formally; the function returns ``-inf`` then.  The de Bruijn graph (states: words of length
    ``n`` over ``A`` letters, an action appends a letter) has :math:`D = n = \log_A S`, so the
    bound is tight up to the additive 3.

    Parameters
    ----------
    n_states, n_actions : int >= 1

    Returns
    -------
    Bound
        ``value`` a lower bound on ``D`` in steps (kind deterministic).
    """
    S, A = int(n_states), int(n_actions)
    if S < 1 or A < 1:
        raise ValueError(f"n_states and n_actions must be >= 1, got {n_states}, {n_actions}")
    v = -math.inf if A == 1 else math.log(S) / math.log(A) - 3.0
    return Bound(value=v, kind=BoundKind.DETERMINISTIC, citation=f"{JAKSCH}, Sec. 2 (location not checked)",
                 assumptions=("any MDP with S states and A actions per state",),
                 statement="D >= log_A(S) - 3 (a lower bound: the observed D must be at least this)")


def bias_span_bound(diameter: float, reward_range: float) -> Bound:
    r"""Span of the optimal bias: :math:`\operatorname{sp}(h^*) \le D\,(r_{max} - r_{min})`.

    Bartlett & Tewari 2009 (REGAL, UAI), Thm 4 (number not checked against the text), stated for
    rewards in [0, 1]; for general rewards shift them (``h`` is unchanged) and scale by the
    reward range.  Proof sketch: for any solution ``h`` of the optimality equation and the policy
    reaching ``s'`` fastest from ``s``, :math:`h(s) \ge h(s') - g^*\,E[\tau]` with rewards
    shifted to :math:`[0, r_{max} - r_{min}]`, and :math:`g^* \le r_{max} - r_{min}`.  Tight:
    a two-state model whose rewarding state is reached w.p. 1/D per step has
    :math:`\operatorname{sp}(h^*) = D`.

    Parameters
    ----------
    diameter : float
        ``D`` (:func:`mdpkit.structure.diameter`), finite for a communicating model.
    reward_range : float
        :math:`\max R - \min R` over available pairs.
    """
    return Bound(value=float(diameter) * max(float(reward_range), 0.0), kind=BoundKind.DETERMINISTIC,
                 citation="Bartlett & Tewari 2009, Thm 4 (number not checked); Jaksch et al. 2010, Sec. 4.3.1",
                 assumptions=("communicating MDP (D < inf)", "h any solution of the average-reward optimality equation"),
                 statement="sp(h*) <= D * (r_max - r_min)")


def dobrushin_tv_bound(delta: float, tv_distance: float) -> Bound:
    r""":math:`\|\mu P - \nu P\|_{TV} \le \delta(P)\,\|\mu - \nu\|_{TV}` (Dobrushin 1956; Seneta 2006,
    Thm 3.1 (number not checked against the text)); ``delta`` from
    :func:`mdpkit.structure.dobrushin_coefficient`.  Equality for point masses at the pair of
    rows attaining :math:`\delta`."""
    return Bound(value=float(delta) * max(float(tv_distance), 0.0), kind=BoundKind.DETERMINISTIC,
                 citation="Dobrushin 1956; Seneta 2006, Non-negative Matrices and Markov Chains, Thm 3.1 (not checked)",
                 assumptions=("P row-stochastic", "mu, nu probability vectors"),
                 statement="||mu P - nu P||_TV <= delta(P) ||mu - nu||_TV")


def mixing_time_spectral_bounds(relaxation_time: float, epsilon: float, pi_min: float) -> tuple[Bound, Bound]:
    r"""Spectral bounds on the mixing time of a reversible, irreducible, aperiodic chain.

    :math:`(t_{rel} - 1)\log\frac{1}{2\varepsilon} \le t_{mix}(\varepsilon) \le
    t_{rel}\log\frac{1}{\varepsilon\,\pi_{min}}` with :math:`t_{rel} = 1/\gamma_*`, the inverse
    absolute spectral gap (Levin, Peres & Wilmer 2017, Thm 12.4 and Thm 12.5; numbers not
    checked against the text).

    Returns
    -------
    (lower, upper) : tuple of Bound
    """
    t, e, p = float(relaxation_time), float(epsilon), float(pi_min)
    if not (0 < e < 1) or not (0 < p <= 1) or t < 1:
        raise ValueError("need 0 < epsilon < 1, 0 < pi_min <= 1 and relaxation_time >= 1")
    lo = max(0.0, (t - 1.0) * math.log(1.0 / (2.0 * e))) if e < 0.5 else 0.0
    hi = t * math.log(1.0 / (e * p))
    common = dict(kind=BoundKind.DETERMINISTIC, assumptions=("reversible", "irreducible", "aperiodic"))
    return (Bound(value=lo, citation=f"{LPW}, Thm 12.5 (not checked)", statement="t_mix >= (t_rel - 1) log(1/(2 eps))",
                  **common),
            Bound(value=hi, citation=f"{LPW}, Thm 12.4 (not checked)", statement="t_mix <= t_rel log(1/(eps pi_min))",
                  **common))


def gorp_rollouts(variance: float, gap: float, horizon: int, n_actions: int, k: int) -> Bound:
    r"""Rollouts per action sequence that let GORP act optimally at one state (Laidlaw et al. 2023, Thm 5.4).

    :math:`m = \max(1, \lceil 16\,\sigma^2/\Delta^2\,\log(2 H A^k)\rceil)`, with :math:`\sigma^2`
    a bound on the variance of a random rollout's return and :math:`\Delta` the gap between the
    best and the best suboptimal action's :math:`Q^k` (the constant 16 and the logarithm as in the
    authors' ``compute_simple_effective_horizon``; theorem number from the BRIDGE README).  The
    whole model's :math:`m_k` is the maximum over the states GORP may visit, and the
    effective horizon bound is :math:`k + \log_A m_k` (:func:`effective_horizon_bound`).

    Returns
    -------
    Bound
        ``value`` = m (rollouts; a high-probability guarantee with failure probability 1/2 for
        the whole run, as the effective horizon is defined).
    """
    v, g, H, A, k = float(variance), float(gap), int(horizon), int(n_actions), int(k)
    if g <= 0 or H < 1 or A < 2 or k < 1 or v < 0:
        raise ValueError("need gap > 0, horizon >= 1, n_actions >= 2, k >= 1, variance >= 0")
    m = max(1.0, math.ceil(16.0 * v / g**2 * (math.log(2.0 * H) + k * math.log(A))))
    return Bound(value=m, kind=BoundKind.HIGH_PROBABILITY, delta=0.5, citation=f"{LAIDLAW}, Thm 5.4",
                 assumptions=("deterministic transitions", "rewards bounded so returns lie in [Q_worst, Q*]",
                              "k-QVI-solvable on the states GORP may visit"),
                 statement="m_k = max(1, ceil(16 sigma^2 / Delta^2 log(2 H A^k)))")


def effective_horizon_bound(k: int, m: float, n_actions: int, horizon: int) -> Bound:
    r""":math:`\bar H \le \min(H, k + \log_A m_k)` (Laidlaw et al. 2023, Thm 5.4; Def. of the effective
    horizon, number not checked).  GORP's sample complexity is then at most
    :math:`O(T^2 A^{\bar H})`-ish in the paper's terms; here only the exponent is returned."""
    A = int(n_actions)
    if A < 2 or float(m) < 1 or int(k) < 1:
        raise ValueError("need n_actions >= 2, m >= 1 and k >= 1")
    return Bound(value=min(float(horizon), int(k) + math.log(float(m)) / math.log(A)), kind=BoundKind.DETERMINISTIC,
                 citation=f"{LAIDLAW}, Thm 5.4", assumptions=("deterministic transitions",),
                 statement="H_bar <= min(H, k + log_A m_k)")

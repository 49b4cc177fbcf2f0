"""Small integer-reward models for risk-sensitive objectives (stock augmentation, CVaR)."""

from __future__ import annotations

import numpy as np

from ..model import TabularMDP
from ._common import check_probability, check_real

__all__ = ["cvar_counterexample", "risky_investment"]


def cvar_counterexample(safe: float = 20.0, lottery: float = 100.0, other: float = 50.0, p_choice: float = 0.5) -> TabularMDP:
    r"""A two-step MDP on which the risk-level decomposition of CVaR over-estimates the optimum.

    The phenomenon is the one of Hau, Delage, Ghavamzadeh & Petrik (2023, "On dynamic programming
    decompositions of static risk measures in Markov decision processes", Sec. 3): the
    decomposition of Chow et al. (2015) lets the action after a risk split depend on the risk level
    chosen by the adversary (:math:`\min_\xi\max_\pi` instead of :math:`\max_\pi\min_\xi`).  The
    paper's own MDP was not at hand when this was written; this is a reconstruction of the same
    mechanism with the smallest structure we found, **not** the paper's instance (see Notes).

    States: 0 ``start``, 1 ``choice``, 2 ``other``, 3 ``end``, 4 ``end (won)``; actions 0
    ``safe``, 1 ``lottery``.  From ``start`` (action 0 only) the chain moves to ``choice`` w.p.
    ``p_choice`` and to ``other`` otherwise, reward 0.  In ``choice``: ``safe`` pays ``safe``;
    ``lottery`` pays ``lottery`` or 0 with probability 1/2 each.  ``other`` pays ``other``
    (action 0 only).  ``end`` states are absorbing with reward 0.  ``gamma = 1``; use horizon 2;
    ``mu0`` is the point mass on ``start``.

    Notes
    -----
    With the defaults and :math:`\alpha = 1/2` (exact values, checked by enumeration in the tests):
    ``safe`` gives the return law {20: 1/2, 50: 1/2}, CVaR 20; ``lottery`` gives
    {0: 1/4, 50: 1/2, 100: 1/4}, CVaR 25, so the optimal static CVaR is 25 with ``lottery`` in
    ``choice``.  The decomposition (exact inner problems, risk levels on a grid containing the
    kink 5/8) gives :math:`\min_\beta [\max(20\beta, 100(\beta-\frac12)^+) + 50(1-\beta)] = 31.25`,
    an over-estimate by 25%.  (The issue that asked for this example quotes "optimum 25,
    decomposition 50" for the paper's instance; our reconstruction has the same optimum by
    construction of the defaults but a smaller gap.)
    """
    safe = check_real(safe, "safe")
    lottery = check_real(lottery, "lottery")
    other = check_real(other, "other")
    p = check_probability(p_choice, "p_choice")
    S, A = 5, 2
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    mask = np.zeros((S, A), dtype=bool)
    mask[:, 0] = True
    mask[1, 1] = True
    P[0, 0, 1], P[0, 0, 2] = p, 1.0 - p
    P[1, 0, 3] = 1.0
    R[1, 0, 3] = safe
    P[1, 1, 3], P[1, 1, 4] = 0.5, 0.5
    R[1, 1, 4] = lottery
    P[2, 0, 3] = 1.0
    R[2, 0, 3] = other
    P[3, 0, 3] = P[4, 0, 4] = 1.0
    P[0, 1, 1] = P[2, 1, 3] = P[3, 1, 3] = P[4, 1, 4] = 1.0  # masked rows (kept stochastic)
    mu0 = np.array([1.0, 0, 0, 0, 0])
    return TabularMDP(P, None, 1.0, R_sas=R, action_mask=mask, mu0=mu0,
                      state_labels=("start", "choice", "other", "end", "end (won)"),
                      action_labels=("safe", "lottery"), name="cvar_counterexample")


def risky_investment(p_stay_calm: float = 0.8, p_stay_volatile: float = 0.6, gamma: float = 1.0) -> TabularMDP:
    r"""Two market regimes, three investments, integer rewards (for CVaR/mean trade-offs).

    States: 0 ``calm``, 1 ``volatile``; the regime moves independently of the action (stay calm
    w.p. ``p_stay_calm``, stay volatile w.p. ``p_stay_volatile``).  Actions and realised rewards
    (depending on the next regime):

    ====== ============================ ===============================
    action next regime calm             next regime volatile
    ====== ============================ ===============================
    cash   +1                           +1
    bonds  +2                           -1
    stocks +5                           -4
    ====== ============================ ===============================

    With the defaults the one-step means are cash 1, bonds 1.4 / 0.2, stocks 3.2 / -0.4 (calm /
    volatile), so the mean-optimal policy buys stocks when calm and holds cash when volatile, while
    low-CVaR policies hold more cash; stock-augmented CVaR policies gamble when behind their
    target and lock in with cash once it is secured.
    ``gamma`` defaults to 1 (finite horizons; rewards on the integer lattice, so stock
    augmentation is exact).  ``mu0`` is the point mass on ``calm``.  A teaching model made for
    mdpkit (no external source).
    """
    pc = check_probability(p_stay_calm, "p_stay_calm")
    pv = check_probability(p_stay_volatile, "p_stay_volatile")
    T = np.array([[pc, 1 - pc], [1 - pv, pv]])
    P = np.repeat(T[:, None, :], 3, axis=1)
    win = np.array([1.0, 2.0, 5.0])
    lose = np.array([1.0, -1.0, -4.0])
    R = np.stack([np.stack([win, lose], axis=1)] * 2)  # (S, A, S')
    return TabularMDP(P, None, gamma, R_sas=R, mu0=np.array([1.0, 0.0]), state_labels=("calm", "volatile"),
                      action_labels=("cash", "bonds", "stocks"), name="risky_investment")

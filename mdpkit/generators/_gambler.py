"""The gambler's problem of Sutton & Barto (2018), Example 4.3."""

from __future__ import annotations

import numpy as np

from ..model import TabularMDP
from ._common import check_int, check_memory, check_probability, dense_bytes

__all__ = ["gambler"]


def gambler(
    p_heads: float = 0.4, goal: int = 100, gamma: float = 1.0, *, allow_zero_stake: bool = False
) -> TabularMDP:
    r"""The gambler's problem of Sutton & Barto (2018), Example 4.3 (Figure 4.3).

    A gambler with capital ``s`` stakes ``a`` on a coin flip: with probability ``p_heads`` the
    capital becomes ``s + a``, otherwise ``s - a``.  The episode ends at capital 0 or ``goal``;
    the reward is :math:`+1` on the transition that reaches ``goal`` and 0 otherwise, so the
    undiscounted value is the probability of reaching the goal.

    Parameters
    ----------
    p_heads : float, default 0.4
        Probability of heads (the gambler wins the stake), in ``[0, 1]``.
    goal : int, default 100
        Target capital (``>= 2``).  States are the capitals ``0, 1, ..., goal``.
    gamma : float, default 1.0
        Discount factor; the book's problem is undiscounted.
    allow_zero_stake : bool, default False
        Whether a stake of 0 is available in the non-terminal states (see Notes).

    Returns
    -------
    TabularMDP
        ``S = goal + 1``, ``A = goal // 2 + 1`` (action ``a`` is the stake ``a``), dense, with
        ``R_sas`` (the reward 1 sits on the transition into ``goal``) and an ``action_mask``.

    Raises
    ------
    InvalidArgumentError
        If ``p_heads`` is outside ``[0, 1]`` or ``goal < 2``.

    Notes
    -----
    - Available stakes in a non-terminal state ``1 <= s <= goal - 1`` are
      ``1, ..., min(s, goal - s)``; larger stakes are masked out.
    - Stake 0: the book writes the action set as :math:`\{0, 1, \ldots, \min(s, 100 - s)\}`,
      but its optimal policies (Figure 4.3) use stakes :math:`\ge 1`.  A zero stake is a
      zero-reward self-loop, so with ``gamma = 1`` the policy "always stake 0" never ends the
      episode; that breaks the SSP assumptions (every policy proper or of cost :math:`-\infty`)
      and makes :math:`I - P_\pi` singular in policy evaluation.  It never changes :math:`v^*`
      (for ``p_heads > 0``), so by default stake 0 is masked in non-terminal states;
      ``allow_zero_stake=True`` restores the book's literal action set.
    - Terminal handling: capitals 0 and ``goal`` are absorbing with zero reward; only action 0
      (stake 0) is available there.
    - ``mu0`` is uniform over the non-terminal capitals.
    - For ``p_heads < 1/2`` bold play is optimal (Dubins & Savage), e.g. :math:`v^*(50) = 0.4`
      and :math:`v^*(25) = 0.16` for ``p_heads = 0.4``.  Many optimal policies exist; the book's
      figure shows one of them.

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, Example 4.3 and Figure 4.3 (pp. 84-85).
    .. [2] L. E. Dubins and L. J. Savage, *How to Gamble If You Must*, McGraw-Hill, 1965.

    Examples
    --------
    >>> from mdpkit.generators import gambler
    >>> m = gambler()
    >>> m.S, m.A, int(m.action_mask[50].sum()), int(m.action_mask[99].sum())
    (101, 51, 50, 1)
    """
    p = check_probability(p_heads, "p_heads")
    goal = check_int(goal, "goal", minimum=2)
    S, A = goal + 1, goal // 2 + 1
    # dense P and R_sas, and the model's copies of both
    check_memory(dense_bytes(S, A, 4), f"gambler(goal={goal}) with S={S}, A={A} (dense)")
    s = np.arange(S)[:, None]
    a = np.arange(A)[None, :]
    inner = (s >= 1) & (s <= goal - 1)
    mask = inner & (a >= (0 if allow_zero_stake else 1)) & (a <= np.minimum(s, goal - s))
    mask[0, 0] = mask[goal, 0] = True

    P = np.zeros((S, A, S))
    si, ai = np.nonzero(mask & inner)
    np.add.at(P, (si, ai, si + ai), p)
    np.add.at(P, (si, ai, si - ai), 1.0 - p)
    P[0, 0, 0] = P[goal, 0, goal] = 1.0
    R_sas = np.zeros((S, A, S))
    win = si + ai == goal
    R_sas[si[win], ai[win], goal] = 1.0  # the transition that reaches the goal pays 1
    mu0 = np.where(inner[:, 0], 1.0 / (goal - 1), 0.0)
    return TabularMDP(
        P=P,
        R=None,
        R_sas=R_sas,
        gamma=gamma,
        action_mask=mask,
        mu0=mu0,
        state_labels=[str(k) for k in range(S)],
        action_labels=[f"stake {k}" for k in range(A)],
        name=f"gambler(p_heads={p:g}, goal={goal})",
    )

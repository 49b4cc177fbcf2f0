"""The two small grid worlds of Sutton & Barto (2018), Examples 3.5 and 4.1."""

from __future__ import annotations

import numpy as np

from ..model import TabularMDP
from ._common import grid_labels, one_hot_P

__all__ = ["gridworld_4x4", "gridworld_5x5"]

# Action order shared by both grids: the book's order "up, down, right, left" (Ex. 4.1), which is
# also its "north, south, east, west" (Ex. 3.5).
_MOVES = np.array([(-1, 0), (1, 0), (0, 1), (0, -1)])


def _grid_moves(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Next cell of every (cell, action) and whether the move tried to leave the grid."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    r2 = r[:, None] + _MOVES[None, :, 0]
    c2 = c[:, None] + _MOVES[None, :, 1]
    off = (r2 < 0) | (r2 >= rows) | (c2 < 0) | (c2 >= cols)
    nxt = np.where(off, np.arange(rows * cols)[:, None], r2 * cols + c2)
    return nxt, off


def gridworld_4x4(gamma: float = 1.0) -> TabularMDP:
    r"""The 4x4 grid world of Sutton & Barto (2018), Example 4.1 (Figure 4.1).

    Sixteen cells in row-major order ``s = 4*row + col``.  The two shaded corner cells
    ``(0, 0)`` and ``(3, 3)`` (states 0 and 15) are terminal; the other fourteen are the book's
    states 1, ..., 14.  Every move from a non-terminal cell earns :math:`-1`; a move that would
    leave the grid leaves the state unchanged (and still costs :math:`-1`).

    Parameters
    ----------
    gamma : float, default 1.0
        Discount factor.  The book's example is undiscounted, episodic.

    Returns
    -------
    TabularMDP
        ``S = 16``, ``A = 4``, dense, ``grid_shape = (4, 4)``.

    Notes
    -----
    - Actions: 0 = up, 1 = down, 2 = right, 3 = left (the book's order).
    - Terminal handling: the two terminal cells are absorbing with zero reward, so the total
      reward of an episode equals the book's return.  With ``gamma = 1`` this is a stochastic
      shortest-path problem; use a total-reward/SSP solver or ``with_gamma(g)`` for ``g < 1``.
    - Reward timing: :math:`r(s, a) = -1` is received on leaving a non-terminal cell ``s``,
      including the step that enters a terminal cell.
    - ``mu0`` is uniform over the 14 non-terminal cells (the book gives no start distribution).
    - The equiprobable random policy has the values of Figure 4.1 (:math:`k = \infty`):
      ``0 -14 -20 -22 / -14 -18 -20 -20 / -20 -20 -18 -14 / -22 -20 -14 0``.

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, Example 4.1 and Figure 4.1 (pp. 76-77).

    Examples
    --------
    >>> from mdpkit.generators import gridworld_4x4
    >>> m = gridworld_4x4()
    >>> m.S, m.A, m.grid_shape
    (16, 4, (4, 4))
    """
    rows = cols = 4
    S = rows * cols
    nxt, _ = _grid_moves(rows, cols)
    terminal = np.array([0, S - 1])
    nxt[terminal, :] = terminal[:, None]
    R = np.full((S, 4), -1.0)
    R[terminal, :] = 0.0
    mu0 = np.full(S, 1.0 / (S - 2))
    mu0[terminal] = 0.0
    labels = [str(s) for s in range(S)]
    labels[0], labels[S - 1] = "terminal(0,0)", "terminal(3,3)"
    return TabularMDP(
        P=one_hot_P(nxt, S),
        R=R,
        gamma=gamma,
        mu0=mu0,
        state_labels=labels,
        action_labels=("up", "down", "right", "left"),
        name="gridworld 4x4 (Sutton & Barto 2018, Ex. 4.1)",
        grid_shape=(rows, cols),
    )


def gridworld_5x5(gamma: float = 0.9) -> TabularMDP:
    r"""The 5x5 grid world of Sutton & Barto (2018), Example 3.5 (Figures 3.2 and 3.5).

    Twenty-five cells in row-major order ``s = 5*row + col``.  From the special cell
    ``A = (0, 1)`` every action earns :math:`+10` and moves to ``A' = (4, 1)``; from
    ``B = (0, 3)`` every action earns :math:`+5` and moves to ``B' = (2, 3)``.  Elsewhere a move
    that would leave the grid earns :math:`-1` and leaves the state unchanged, and every other
    move earns 0.

    Parameters
    ----------
    gamma : float, default 0.9
        Discount factor; 0.9 is the book's value for this continuing task.

    Returns
    -------
    TabularMDP
        ``S = 25``, ``A = 4``, dense, ``grid_shape = (5, 5)``.

    Notes
    -----
    - Actions: 0 = north, 1 = south, 2 = east, 3 = west (the book's order).
    - Continuing task: there are no terminal states.  ``mu0`` is uniform.
    - Reward timing: :math:`r(s, a)` is received on the transition out of ``s``.
    - Published values to check against: the equiprobable random policy has first row
      ``3.3 8.8 4.4 5.3 1.5`` (Figure 3.2) and the optimal values have first row
      ``22.0 24.4 22.0 19.4 17.5`` (Figure 3.5).

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, Example 3.5 (Figure 3.2, p. 60) and Example 3.8 (Figure 3.5, p. 65).

    Examples
    --------
    >>> from mdpkit.generators import gridworld_5x5
    >>> m = gridworld_5x5()
    >>> m.R[1], m.R[3]
    (array([10., 10., 10., 10.]), array([5., 5., 5., 5.]))
    """
    rows = cols = 5
    S = rows * cols
    nxt, off = _grid_moves(rows, cols)
    R = np.where(off, -1.0, 0.0)
    A_cell, A_prime, B_cell, B_prime = 0 * 5 + 1, 4 * 5 + 1, 0 * 5 + 3, 2 * 5 + 3
    nxt[A_cell, :], R[A_cell, :] = A_prime, 10.0
    nxt[B_cell, :], R[B_cell, :] = B_prime, 5.0
    labels = grid_labels(rows, cols)
    for s, tag in ((A_cell, "A"), (A_prime, "A'"), (B_cell, "B"), (B_prime, "B'")):
        labels[s] = f"{labels[s]} {tag}"
    return TabularMDP(
        P=one_hot_P(nxt, S),
        R=R,
        gamma=gamma,
        state_labels=labels,
        action_labels=("north", "south", "east", "west"),
        name="gridworld 5x5 (Sutton & Barto 2018, Ex. 3.5)",
        grid_shape=(rows, cols),
    )

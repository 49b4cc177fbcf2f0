"""Gymnasium's toy-text environments (FrozenLake, Taxi, CliffWalking) read as exact MDPs.

gymnasium is imported lazily, inside these functions only.  Every model has one extra absorbing
zero-reward state (the last index, labelled ``"terminal"``) that receives every transition
gymnasium marks ``terminated`` (see :meth:`TabularMDP.from_gymnasium`).
"""

from __future__ import annotations

import re

from .._exceptions import InvalidArgumentError
from ..model import TabularMDP

__all__ = ["frozenlake", "taxi", "cliff_walking"]


def _latest_id(base: str) -> str:
    """The newest registered ``base-vN`` id of the installed gymnasium (e.g. ``Taxi-v4``)."""
    import gymnasium

    pat = re.compile(rf"^{re.escape(base)}-v(\d+)$")
    versions = [int(m.group(1)) for k in gymnasium.envs.registry if (m := pat.match(k))]
    if not versions:
        raise InvalidArgumentError(f"gymnasium {gymnasium.__version__} has no {base}-v* environment")
    return f"{base}-v{max(versions)}"


def frozenlake(map_name: str = "4x4", is_slippery: bool = True, gamma: float = 0.99) -> TabularMDP:
    r"""Gymnasium's FrozenLake (``FrozenLake-v1``) as an exact tabular MDP.

    The agent walks on a frozen lake from ``S`` to the goal ``G`` avoiding holes ``H``.  On the
    slippery lake the intended move happens with probability 1/3 and each perpendicular move
    with probability 1/3.  The reward is 1 on reaching ``G`` and 0 otherwise.

    Parameters
    ----------
    map_name : {"4x4", "8x8"}, default "4x4"
        Gymnasium's built-in maps.
    is_slippery : bool, default True
        Gymnasium's slippery dynamics (True) or deterministic moves (False).
    gamma : float, default 0.99
        Discount factor; gymnasium itself has none, and 0.99 is the common choice in the
        literature that uses these maps.

    Returns
    -------
    TabularMDP
        ``S = rows*cols + 1`` (17 or 65), ``A = 4``, dense, with ``R_sas``,
        ``grid_shape = (rows, cols)`` and ``mu0`` on the start cell.

    Raises
    ------
    InvalidArgumentError
        If ``map_name`` is not ``"4x4"`` or ``"8x8"``.

    Notes
    -----
    - States: cell ``row*cols + col`` (row-major, as gymnasium), labelled with the map letter,
      e.g. ``"S(0,0)"``, ``"H(1,1)"``; state ``rows*cols`` is the absorbing terminal state.
    - Actions (gymnasium's order): 0 = left, 1 = down, 2 = right, 3 = up.
    - Terminal handling: entering a hole or the goal ends the episode, so those transitions go
      to the terminal state; the reward 1 is earned on the transition into ``G``.  The hole and
      goal cells themselves are then unreachable.
    - Gymnasium's registration adds a time limit (100 or 200 steps); this model has none
      (the discounted, infinite-horizon reading).

    References
    ----------
    .. [1] M. Towers et al., "Gymnasium: a standard interface for reinforcement learning
       environments", arXiv:2407.17032, 2024; ``gymnasium/envs/toy_text/frozen_lake.py``.

    Examples
    --------
    >>> from mdpkit.generators import frozenlake
    >>> m = frozenlake("8x8")
    >>> m.S, m.A, m.grid_shape, m.action_labels
    (65, 4, (8, 8), ('left', 'down', 'right', 'up'))
    """
    import gymnasium

    if map_name not in ("4x4", "8x8"):
        raise InvalidArgumentError(f"map_name must be '4x4' or '8x8', got {map_name!r}")
    env = gymnasium.make("FrozenLake-v1", map_name=map_name, is_slippery=bool(is_slippery))
    desc = env.unwrapped.desc
    rows, cols = desc.shape
    labels = [f"{desc[r, c].decode()}({r},{c})" for r in range(rows) for c in range(cols)]
    kind = "slippery" if is_slippery else "deterministic"
    return TabularMDP.from_gymnasium(
        env,
        gamma,
        state_labels=labels,
        action_labels=("left", "down", "right", "up"),
        grid_shape=(rows, cols),
        name=f"FrozenLake-v1 ({map_name}, {kind})",
    )


def taxi(gamma: float = 0.99) -> TabularMDP:
    r"""Gymnasium's Taxi (Dietterich 2000) as an exact tabular MDP.

    A taxi on a 5x5 grid with walls picks up a passenger at one of four stands (R, G, Y, B) and
    drops them at their destination: :math:`+20` for a correct drop-off, :math:`-10` for an
    illegal pick-up or drop-off, :math:`-1` per step otherwise.  Deterministic.

    Parameters
    ----------
    gamma : float, default 0.99
        Discount factor (gymnasium has none; 0.99 is the common choice).

    Returns
    -------
    TabularMDP
        ``S = 501`` (500 encoded states plus the terminal state), ``A = 6``, dense, with
        ``R_sas`` and ``mu0`` = gymnasium's initial-state distribution.

    Notes
    -----
    - States: gymnasium's encoding ``((taxi_row*5 + taxi_col)*5 + passenger)*4 + destination``
      with passenger 0-3 = R, G, Y, B, 4 = in the taxi; labels such as
      ``"taxi(0,0) pass=R dest=G"``.  State 500 is the absorbing terminal state.
    - Actions (gymnasium's order): 0 = south, 1 = north, 2 = east, 3 = west, 4 = pickup,
      5 = dropoff.
    - Terminal handling: the successful drop-off (reward 20) goes to the terminal state.
    - Uses the newest ``Taxi-v*`` registered by the installed gymnasium (recorded in ``name``);
      its time limit (200 steps) is not part of the model.

    References
    ----------
    .. [1] T. G. Dietterich, "Hierarchical reinforcement learning with the MAXQ value function
       decomposition", *JAIR* 13:227-303, 2000, Sec. 3.1.
    .. [2] Gymnasium, ``gymnasium/envs/toy_text/taxi.py``.

    Examples
    --------
    >>> from mdpkit.generators import taxi
    >>> m = taxi()
    >>> m.S, m.A
    (501, 6)
    """
    import gymnasium

    env_id = _latest_id("Taxi")
    env = gymnasium.make(env_id)
    u = env.unwrapped
    stands = ("R", "G", "Y", "B", "taxi")
    labels = []
    for s in range(u.observation_space.n):
        r, c, p, d = u.decode(s)
        labels.append(f"taxi({r},{c}) pass={stands[p]} dest={stands[d]}")
    return TabularMDP.from_gymnasium(
        env,
        gamma,
        state_labels=labels,
        action_labels=("south", "north", "east", "west", "pickup", "dropoff"),
        name=env_id,
    )


def cliff_walking(gamma: float = 1.0, is_slippery: bool = False) -> TabularMDP:
    r"""Cliff walking (Sutton & Barto 2018, Example 6.6), read from gymnasium's CliffWalking.

    A 4x12 grid; the agent starts at the bottom-left cell ``(3, 0)`` and must reach the
    bottom-right goal ``(3, 11)``.  Each step costs :math:`-1`; stepping into the cliff (the
    bottom row between start and goal) costs :math:`-100` and sends the agent back to the start.

    Parameters
    ----------
    gamma : float, default 1.0
        Discount factor; the book's task is undiscounted and episodic (a stochastic
        shortest-path problem: use an SSP/total-reward solver or ``with_gamma``).
    is_slippery : bool, default False
        Gymnasium's slippery variant (not in the book).

    Returns
    -------
    TabularMDP
        ``S = 49`` (48 cells plus the terminal state), ``A = 4``, dense, with ``R_sas``,
        ``grid_shape = (4, 12)`` and ``mu0`` on the start cell.

    Notes
    -----
    - States: cell ``row*12 + col`` (row-major), labels ``"(r,c)"`` tagged ``start``, ``goal``,
      ``cliff``; state 48 is the absorbing terminal state.
    - Actions (gymnasium's order): 0 = up, 1 = right, 2 = down, 3 = left.
    - Terminal handling: the step into the goal earns :math:`-1` and goes to the terminal
      state; the goal and cliff cells are never occupied.
    - Uses the newest ``CliffWalking-v*`` registered by the installed gymnasium.

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, Example 6.6 (p. 132).
    .. [2] Gymnasium, ``gymnasium/envs/toy_text/cliffwalking.py``.

    Examples
    --------
    >>> from mdpkit.generators import cliff_walking
    >>> m = cliff_walking()
    >>> m.S, m.grid_shape, m.action_labels
    (49, (4, 12), ('up', 'right', 'down', 'left'))
    """
    import gymnasium

    env_id = _latest_id("CliffWalking")
    env = gymnasium.make(env_id, **({"is_slippery": True} if is_slippery else {}))
    rows, cols = env.unwrapped.shape
    labels = []
    for r in range(rows):
        for c in range(cols):
            tag = ""
            if (r, c) == (rows - 1, 0):
                tag = " start"
            elif (r, c) == (rows - 1, cols - 1):
                tag = " goal"
            elif r == rows - 1:
                tag = " cliff"
            labels.append(f"({r},{c}){tag}")
    return TabularMDP.from_gymnasium(
        env,
        gamma,
        state_labels=labels,
        action_labels=("up", "right", "down", "left"),
        grid_shape=(rows, cols),
        name=env_id + (" (slippery)" if is_slippery else ""),
    )

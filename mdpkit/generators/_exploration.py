"""Hard-exploration chains: RiverSwim and the chain problem of Dearden, Friedman & Russell."""

from __future__ import annotations

import numpy as np

from .._exceptions import InvalidArgumentError
from ..model import TabularMDP
from ._common import check_int, check_memory, check_probability, check_real, dense_bytes

__all__ = ["riverswim", "chain"]

# (p_left, p_stay, p_right) of "swim right" at the left end, inside, and at the right end,
# and the rewards (left end "left", right end "right"), per convention.
_RIVERSWIM = {
    "strehl_littman": dict(
        first=(0.0, 0.7, 0.3), middle=(0.1, 0.6, 0.3), last=(0.7, 0.3, 0.0), r_left=5.0, r_right=10000.0
    ),
    "osband": dict(
        first=(0.0, 0.4, 0.6), middle=(0.05, 0.6, 0.35), last=(0.4, 0.6, 0.0), r_left=0.005, r_right=1.0
    ),
}


def riverswim(n_states: int = 6, gamma: float = 0.99, *, convention: str = "strehl_littman") -> TabularMDP:
    r"""RiverSwim (Strehl & Littman 2008), by default exactly craam2's ``riverswim_mdp.csv``.

    A swimmer in a river of ``n_states`` positions can swim "left" (downstream: always works)
    or "right" (upstream: against the current, often fails).  A small reward waits at the left
    end and a large one at the right end, which an agent only finds by persistent exploration.

    Parameters
    ----------
    n_states : int, default 6
        Number of positions (``>= 2``).
    gamma : float, default 0.99
        Discount factor; craam2's example (``examples/R/riverswim/riverswim_mdp.R``) solves this
        model with 0.99.
    convention : {"strehl_littman", "osband"}, default "strehl_littman"
        Which of the published parameterisations (see Notes).

    Returns
    -------
    TabularMDP
        ``S = n_states``, ``A = 2`` (0 = left, 1 = right), dense; ``R_sas`` holds the realised
        reward of each transition.

    Raises
    ------
    InvalidArgumentError
        If ``n_states < 2`` or ``convention`` is unknown.

    Notes
    -----
    "left" moves one position left with probability 1 (staying at the left end).  "right"
    moves (left, stay, right) with probabilities:

    ================  =================  ==================  =================
    convention        left end           inside              right end
    ================  =================  ==================  =================
    strehl_littman    (0, 0.7, 0.3)      (0.1, 0.6, 0.3)     (0.7, 0.3, 0)
    osband            (0, 0.4, 0.6)      (0.05, 0.6, 0.35)   (0.4, 0.6, 0)
    ================  =================  ==================  =================

    Rewards, ``"strehl_littman"`` (the default: the RiverSwim of Strehl & Littman [1]_ as
    transcribed by craam2 [2]_): 5 for "left" at the left end (a self-loop) and 10000 on the *transition*
    that stays at the right end under "right" (so ``R[n-1, right] = 0.3 * 10000 = 3000``); 0
    otherwise.  With ``n_states = 6`` this model equals the 22 rows of craam2's
    ``riverswim_mdp.csv`` entry for entry.

    Rewards, ``"osband"`` (Osband, Russo & Van Roy [3]_, who use it with a finite horizon):
    5/1000 for "left" at the left end and 1 for "right" at the right end, as
    state-action rewards (``R`` only; ``R_sas`` equals ``R`` on every successor).

    ``mu0`` puts all mass on the left end (position 0), where both papers start.

    References
    ----------
    .. [1] A. L. Strehl and M. L. Littman, "An analysis of model-based interval estimation for
       Markov decision processes", *J. Comput. Syst. Sci.* 74(8):1309-1331, 2008.
    .. [2] M. Petrik et al., craam2, ``examples/R/riverswim/riverswim_mdp.csv``,
       https://github.com/marekpetrik/craam2 (MIT licence).
    .. [3] I. Osband, D. Russo and B. Van Roy, "(More) efficient reinforcement learning via
       posterior sampling", *NeurIPS* 2013.

    Examples
    --------
    >>> from mdpkit.generators import riverswim
    >>> m = riverswim()
    >>> m.R[0], m.R[5]
    (array([5., 0.]), array([   0., 3000.]))
    """
    n = check_int(n_states, "n_states", minimum=2)
    check_memory(dense_bytes(n, 2, 4) + 400.0 * n, f"riverswim(n_states={n}) (dense)")
    if convention not in _RIVERSWIM:
        raise InvalidArgumentError(f"convention must be one of {sorted(_RIVERSWIM)}, got {convention!r}")
    c = _RIVERSWIM[convention]
    P = np.zeros((n, 2, n))
    R_sas = np.zeros((n, 2, n))
    s = np.arange(n)
    P[s, 0, np.maximum(s - 1, 0)] = 1.0
    for st in range(n):
        pl, ps, pr = c["first"] if st == 0 else c["last"] if st == n - 1 else c["middle"]
        for dst, p in ((st - 1, pl), (st, ps), (st + 1, pr)):
            if p > 0:
                P[st, 1, dst] += p
    R_sas[0, 0, 0] = c["r_left"]
    if convention == "strehl_littman":
        R_sas[n - 1, 1, n - 1] = c["r_right"]  # paid on the transition that stays at the right end
    else:
        R_sas[n - 1, 1, P[n - 1, 1] > 0] = c["r_right"]  # a state-action reward
    mu0 = np.zeros(n)
    mu0[0] = 1.0
    return TabularMDP(
        P=P,
        R=None,
        R_sas=R_sas,
        gamma=gamma,
        mu0=mu0,
        state_labels=[str(k) for k in range(n)],
        action_labels=("left", "right"),
        name=f"riverswim(n_states={n}, {convention})",
    )


def chain(
    n_states: int = 5,
    gamma: float = 0.99,
    *,
    slip: float = 0.2,
    small_reward: float = 2.0,
    large_reward: float = 10.0,
) -> TabularMDP:
    r"""The chain problem of Dearden, Friedman & Russell (1998) and Strens (2000).

    ``n_states`` states in a line and two actions.  Action "a" moves one state forward with
    reward 0, and at the last state stays there with reward ``large_reward`` (10).  Action "b"
    returns to the first state with reward ``small_reward`` (2).  With probability ``slip``
    (0.2) the agent slips and the *other* action is performed.

    Parameters
    ----------
    n_states : int, default 5
        Length of the chain (``>= 2``).
    gamma : float, default 0.99
        Discount factor.  At 0.99 the optimal policy takes "a" everywhere; for small ``gamma``
        the myopic "b" wins, which is what makes the problem a test of exploration.
    slip : float, default 0.2
        Probability that the opposite action is executed.
    small_reward, large_reward : float, default 2 and 10
        Reward of a performed "b" and of a performed "a" at the last state.

    Returns
    -------
    TabularMDP
        ``S = n_states``, ``A = 2`` (0 = "a" forward, 1 = "b" back to start), dense, with
        ``R_sas``: the reward depends on the action *performed*, which the successor reveals.

    Raises
    ------
    InvalidArgumentError
        If ``n_states < 2`` or ``slip`` is outside ``[0, 1]``.

    Notes
    -----
    ``R[s, a] = (1 - slip) * r(performed a) + slip * r(performed b)``; e.g. at the last state
    ``R = [0.8*10 + 0.2*2, 0.8*2 + 0.2*10] = [8.4, 3.6]``.  ``mu0`` is the first state.  The same
    model is OpenAI Gym's former ``NChain-v0``.

    References
    ----------
    .. [1] R. Dearden, N. Friedman and S. Russell, "Bayesian Q-learning", *AAAI* 1998.
    .. [2] M. Strens, "A Bayesian framework for reinforcement learning", *ICML* 2000
       (the "chain" problem).

    Examples
    --------
    >>> from mdpkit.generators import chain
    >>> chain().R[-1]
    array([8.4, 3.6])
    """
    n = check_int(n_states, "n_states", minimum=2)
    check_memory(dense_bytes(n, 2, 4) + 400.0 * n, f"chain(n_states={n}) (dense)")
    q = check_probability(slip, "slip")
    r_small = check_real(small_reward, "small_reward")
    r_large = check_real(large_reward, "large_reward")
    s = np.arange(n)
    fwd = np.minimum(s + 1, n - 1)
    r_fwd = np.where(s == n - 1, r_large, 0.0)
    P = np.zeros((n, 2, n))
    R_sas = np.zeros((n, 2, n))
    for a, p_fwd in ((0, 1.0 - q), (1, q)):
        P[s, a, fwd] += p_fwd
        P[s, a, 0] += 1.0 - p_fwd
        R_sas[s, a, fwd] = r_fwd
        R_sas[s, a, 0] = r_small  # forward never lands on state 0, so no clash (n >= 2)
    mu0 = np.zeros(n)
    mu0[0] = 1.0
    return TabularMDP(
        P=P,
        R=None,
        R_sas=R_sas,
        gamma=gamma,
        mu0=mu0,
        state_labels=[str(k) for k in range(n)],
        action_labels=("a", "b"),
        name=f"chain(n_states={n}, slip={q:g})",
    )

"""Instance families and independent reference solutions for theorem checks.

References are computed by a route independent of the code under test: brute-force enumeration
of deterministic policies (each evaluated by a dense linear solve) whenever that is small, else
Howard policy iteration with its a posteriori certificate checked to round-off.
"""

from __future__ import annotations

import itertools

import numpy as np

from mdpkit.model import TabularMDP

ENUMERATION_LIMIT = 4096  #: largest number of deterministic policies enumerated


def discounted_mdps(n_states=None, n_actions=(1, 3), gamma=None, sparse=None, masked=True):
    """The checks' family of discounted MDPs: :func:`mdpkit.testing.theory_mdps` (S >= 2, gamma in [0.5, 0.95]).

    Dense or CSR, masked actions, ties; ``n_states`` defaults to
    :data:`mdpkit.testing.STATE_RANGE` and ``gamma`` to :data:`mdpkit.testing.GAMMA_RANGE`.
    """
    from mdpkit.testing.strategies import GAMMA_RANGE, STATE_RANGE, theory_mdps

    return theory_mdps(n_states=STATE_RANGE if n_states is None else n_states, n_actions=n_actions,
                       gamma=GAMMA_RANGE if gamma is None else gamma, sparse=sparse, masked=masked)


def dense_mdps(n_states=None, n_actions=(1, 3), gamma=None):
    """As :func:`discounted_mdps`, dense storage only."""
    return discounted_mdps(n_states=n_states, n_actions=n_actions, gamma=gamma, sparse=False)


def edge_cases():
    """Degenerate instances run explicitly (gamma = 0, S = 1): :func:`mdpkit.testing.edge_mdps`."""
    from mdpkit.testing.strategies import edge_mdps

    return edge_mdps()


def edge_cases_two_states():
    """The edge cases with S >= 2 only (gamma = 0)."""
    from mdpkit.testing.strategies import edge_mdps

    return edge_mdps(gamma=None)


def positive_mdps(n_states=(2, 5), n_actions=(1, 3)):
    """Every transition probability positive: unichain and aperiodic under every policy (gamma = 1, S >= 2)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(*n_states))
        A = d(st.integers(*n_actions))
        w = np.array(d(st.lists(st.integers(1, 5), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
        R = np.array(d(st.lists(st.integers(-3, 3), min_size=S * A, max_size=S * A)), float).reshape(S, A)
        return TabularMDP(w / w.sum(axis=2, keepdims=True), R, 1.0)

    return draw()


def value_scale(mdp: TabularMDP) -> float:
    """``max(1, max|R|) / (1 - gamma)``: the size of values, used to scale round-off slack."""
    r = float(np.abs(np.where(mdp.action_mask, mdp.R, 0.0)).max()) if mdp.R.size else 0.0
    return max(1.0, r) / (1.0 - mdp.gamma) if mdp.gamma < 1 else max(1.0, r)


def _available(mdp: TabularMDP):
    return [np.flatnonzero(mdp.action_mask[s]) for s in range(mdp.S)]


def n_deterministic_policies(mdp: TabularMDP) -> int:
    n = 1
    for a in _available(mdp):
        n *= len(a)
        if n > 10**12:
            break
    return n


def enumerate_values(mdp: TabularMDP):
    """Values of every deterministic policy: ``(policies (N, S) int64, values (N, S))``.

    Each value solves :math:`(I-\\gamma P_\\pi)v = r_\\pi` by a dense solve (batched).
    """
    S = mdp.S
    pols = np.array(list(itertools.product(*_available(mdp))), dtype=np.int64).reshape(-1, S)
    P = mdp.P_dense()
    Ppi = P[np.arange(S)[None, :], pols]  # (N, S, S)
    rpi = mdp.R[np.arange(S)[None, :], pols]  # (N, S)
    M = np.eye(S)[None] - mdp.gamma * Ppi
    return pols, np.linalg.solve(M, rpi[..., None])[..., 0]


def optimal_value(mdp: TabularMDP) -> np.ndarray:
    """:math:`v^*` by enumeration (small models) or certified policy iteration (larger ones)."""
    if n_deterministic_policies(mdp) <= ENUMERATION_LIMIT:
        _, vals = enumerate_values(mdp)
        return vals.max(axis=0)
    from mdpkit.solvers import policy_iteration

    res = policy_iteration(mdp)
    if not (res.converged and res.error_bound <= 1e-8 * value_scale(mdp)):
        raise RuntimeError(f"reference policy iteration did not certify v* (bound {res.error_bound:g})")
    return np.asarray(res.v_policy)


def stationary_gain(P_pi: np.ndarray, r_pi: np.ndarray) -> float:
    """Gain of a unichain policy: the stationary distribution d (dP = d, sum d = 1) times r."""
    S = P_pi.shape[0]
    M = np.vstack([P_pi.T - np.eye(S), np.ones((1, S))])
    b = np.zeros(S + 1)
    b[-1] = 1.0
    d = np.linalg.lstsq(M, b, rcond=None)[0]
    return float(d @ r_pi)


def optimal_gain(mdp: TabularMDP) -> float:
    """:math:`g^*` of a unichain model by enumerating deterministic policies."""
    if n_deterministic_policies(mdp) > ENUMERATION_LIMIT:
        raise ValueError("optimal_gain: too many policies to enumerate")
    S = mdp.S
    pols = np.array(list(itertools.product(*_available(mdp))), dtype=np.int64).reshape(-1, S)
    P = mdp.P_dense()
    return max(stationary_gain(P[np.arange(S), p], mdp.R[np.arange(S), p]) for p in pols)

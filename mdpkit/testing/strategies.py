"""Hypothesis strategies for random tabular MDPs.

Probabilities are built from small non-negative integer weights, normalised: this shrinks towards
simple MDPs and produces exact zeros, deterministic rows and absorbing states.  Rewards are small
integers (plus optional halves) so Q-value ties happen.  Degenerate cases (S = 1, A = 1,
gamma = 0) are inside the default ranges.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from mdpkit.model import TabularMDP

__all__ = ["mdps", "policies"]


def _int_range(x):
    return (x, x) if isinstance(x, int) else x


@st.composite
def mdps(
    draw,
    n_states=(1, 6),
    n_actions=(1, 4),
    gamma=(0.0, 0.99),
    sparse: bool | None = False,
    reward: str = "sa",
    masked: bool = False,
    max_weight: int = 4,
):
    """Draw a valid :class:`~mdpkit.TabularMDP`.

    Parameters
    ----------
    n_states, n_actions : int or (min, max)
    gamma : float or (min, max)
        A fixed discount or a range; the range includes its end points (``0`` and ``max``).
    sparse : bool or None
        Storage; ``None`` draws it.
    reward : {"sa", "sas"}
        ``R (S, A)`` or a realised reward ``R_sas (S, A, S)``.
    masked : bool
        Draw an ``action_mask`` (every state keeps at least one action).
    max_weight : int
        Largest integer weight used to build probabilities.
    """
    S = draw(st.integers(*_int_range(n_states)))
    A = draw(st.integers(*_int_range(n_actions)))
    if isinstance(gamma, (int, float)):
        g = float(gamma)
    else:
        g = draw(st.one_of(st.sampled_from([float(gamma[0]), float(gamma[1])]),
                           st.floats(float(gamma[0]), float(gamma[1]), allow_nan=False)))
    w = np.array(draw(st.lists(st.integers(0, max_weight), min_size=S * A * S, max_size=S * A * S)),
                 dtype=float).reshape(S, A, S)
    # rows with no weight become self-loops (absorbing), so every row is a distribution
    empty = w.sum(axis=2) == 0
    for s, a in zip(*np.nonzero(empty)):
        w[s, a, s] = 1.0
    P = w / w.sum(axis=2, keepdims=True)
    mask = None
    if masked and A > 1:
        mask = np.array(draw(st.lists(st.booleans(), min_size=S * A, max_size=S * A))).reshape(S, A)
        mask[np.arange(S), draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S))] = True
    is_sparse = draw(st.booleans()) if sparse is None else sparse
    ints = st.integers(-3, 3)
    if reward == "sas":
        R_sas = np.array(draw(st.lists(ints, min_size=S * A * S, max_size=S * A * S)), dtype=float).reshape(S, A, S)
        if is_sparse:
            Pc = sp.csr_matrix(P.reshape(S * A, S))
            Rc = sp.csr_matrix(Pc.sign().multiply(sp.csr_matrix(R_sas.reshape(S * A, S))))
            return TabularMDP(P=Pc, R=None, R_sas=Rc, gamma=g, action_mask=mask if mask is not None else np.ones((S, A), bool))
        return TabularMDP(P=P, R=None, R_sas=R_sas, gamma=g, action_mask=mask)
    R = np.array(draw(st.lists(ints, min_size=S * A, max_size=S * A)), dtype=float).reshape(S, A)
    if is_sparse:
        return TabularMDP(P=sp.csr_matrix(P.reshape(S * A, S)), R=R, gamma=g, action_mask=mask)
    return TabularMDP(P=P, R=R, gamma=g, action_mask=mask)


@st.composite
def policies(draw, mdp: TabularMDP, stochastic: bool = False):
    """Draw a valid deterministic (S,) or stochastic (S, A) policy for ``mdp``."""
    S, A = mdp.S, mdp.A
    if not stochastic:
        return np.array([draw(st.sampled_from(np.flatnonzero(mdp.action_mask[s]).tolist())) for s in range(S)],
                        dtype=np.int64)
    w = np.array(draw(st.lists(st.integers(0, 3), min_size=S * A, max_size=S * A)), dtype=float).reshape(S, A)
    w[~mdp.action_mask] = 0.0
    for s in range(S):
        if w[s].sum() == 0:
            w[s, np.flatnonzero(mdp.action_mask[s])[0]] = 1.0
    return w / w.sum(axis=1, keepdims=True)

"""Hypothesis strategies for random tabular MDPs, and the instance family of the theorem checks.

Probabilities are built from small non-negative integer weights, normalised: this shrinks towards
simple MDPs and produces exact zeros, deterministic rows and absorbing states.  Rewards are small
integers (plus optional halves) so Q-value ties happen.

Two families:

* :func:`mdps` is the general strategy of the unit tests; degenerate cases (``S = 1``, ``A = 1``,
  ``gamma = 0``) are inside its default ranges on purpose.
* :func:`theory_mdps` is the family of the theorem checks (``mdpkit verify``): ``S >= 2`` and
  ``gamma`` drawn from :data:`GAMMA_RANGE`, bounded away from 0, so that no draw is a degenerate
  instance on which a bound holds trivially (``gamma = 0`` makes most bounds 0, ``S = 1`` makes
  most spans 0).  The degenerate cases are listed separately by :func:`edge_mdps` and run as
  explicit extra instances.  Duplicate draws are removed by the check runner with
  :func:`instance_key`.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from mdpkit.model import TabularMDP

__all__ = [
    "EFFECTIVE_GAMMA_MIN",
    "GAMMA_RANGE",
    "STATE_RANGE",
    "edge_mdps",
    "instance_key",
    "is_effective",
    "mdps",
    "policies",
    "theory_mdps",
]

#: discount range of :func:`theory_mdps` (bounded away from 0 and from 1)
GAMMA_RANGE = (0.5, 0.95)
#: state-count range of :func:`theory_mdps` (at least two states)
STATE_RANGE = (2, 5)
#: an instance counts as *effective* in a check report when ``S >= 2`` and ``gamma >= this``
EFFECTIVE_GAMMA_MIN = 0.05


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


def theory_mdps(n_states=STATE_RANGE, n_actions=(1, 3), gamma=GAMMA_RANGE, sparse: bool | None = False,
                masked: bool = True, reward: str = "sa", max_weight: int = 4):
    """The instance family of the theorem checks: non-degenerate random MDPs.

    Same construction as :func:`mdps`, with ``S >= 2`` and ``gamma`` drawn from a range bounded
    away from 0 (default :data:`GAMMA_RANGE` = [0.5, 0.95]: its end points and uniform floats in
    between).  Edge cases (``gamma = 0``, ``S = 1``) are *not* drawn; :func:`edge_mdps` lists
    them for explicit runs.

    Parameters
    ----------
    n_states : int or (min, max)
        Default :data:`STATE_RANGE` = (2, 5); the minimum must be >= 2.
    n_actions : int or (min, max)
    gamma : float or (min, max)
        Within (0, 1]; a range must have a positive lower end.
    sparse, masked, reward, max_weight
        As in :func:`mdps`.

    Raises
    ------
    InvalidArgumentError
        A state range reaching below 2 or a discount range reaching 0.
    """
    from mdpkit._exceptions import InvalidArgumentError

    lo_s = _int_range(n_states)[0]
    if lo_s < 2:
        raise InvalidArgumentError(f"theory_mdps: n_states must be >= 2 (got {n_states!r}); list S = 1 in edge_mdps")
    lo_g = gamma if isinstance(gamma, (int, float)) else gamma[0]
    if not lo_g > 0:
        raise InvalidArgumentError(f"theory_mdps: gamma must be bounded away from 0 (got {gamma!r}); "
                                   "list gamma = 0 in edge_mdps")
    return mdps(n_states=n_states, n_actions=n_actions, gamma=gamma, sparse=sparse, reward=reward, masked=masked,
                max_weight=max_weight)


def edge_mdps(gamma: float | None = 0.9) -> list:
    """The degenerate instances run explicitly by the theorem checks (never drawn by :func:`theory_mdps`).

    Returns three :class:`~mdpkit.TabularMDP`: one state and one action (``gamma``), two states
    with ``gamma = 0``, and a two-state chain with two actions and ``gamma = 0``.  Pass
    ``gamma=None`` to drop the one-state model (for checks that need ``S >= 2``).
    """
    out = []
    if gamma is not None:
        out.append(TabularMDP(np.ones((1, 1, 1)), np.array([[1.0]]), float(gamma), name="edge-one-state"))
    P = np.array([[[0.5, 0.5]], [[0.0, 1.0]]])
    out.append(TabularMDP(P, np.array([[1.0], [-1.0]]), 0.0, name="edge-gamma0"))
    P2 = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, 0.0]]])
    out.append(TabularMDP(P2, np.array([[0.0, 1.0], [2.0, -1.0]]), 0.0, name="edge-gamma0-2a"))
    return out


def is_effective(instance) -> bool:
    """Whether an instance counts as non-degenerate: ``S >= 2`` and ``gamma >= EFFECTIVE_GAMMA_MIN``.

    Instances without ``S`` or ``gamma`` attributes (bandit instances, games) count as effective.
    """
    S = getattr(instance, "S", None)
    g = getattr(instance, "gamma", None)
    try:
        if S is not None and int(S) < 2:
            return False
        if g is not None and float(g) < EFFECTIVE_GAMMA_MIN:
            return False
    except (TypeError, ValueError):
        return True
    return True


def _feed(h, x, depth: int = 0) -> None:
    if depth > 4:
        h.update(type(x).__qualname__.encode())
        return
    if isinstance(x, np.ndarray):
        h.update(f"nd{x.dtype}{x.shape}".encode())
        h.update(np.ascontiguousarray(x).tobytes() if x.dtype != object else repr(x.tolist()).encode())
    elif sp.issparse(x):
        c = sp.csr_matrix(x)
        h.update(f"sp{c.shape}".encode())
        for a in (c.data, c.indices, c.indptr):
            h.update(np.ascontiguousarray(a).tobytes())
    elif x is None or isinstance(x, (bool, int, float, str, bytes, complex, np.generic)):
        h.update(repr(x).encode())
    elif isinstance(x, (tuple, list)):
        h.update(b"(")
        for y in x:
            _feed(h, y, depth + 1)
        h.update(b")")
    elif isinstance(x, dict):
        for k in sorted(x, key=repr):
            h.update(repr(k).encode())
            _feed(h, x[k], depth + 1)
    elif dataclasses.is_dataclass(x) and not isinstance(x, type):
        h.update(type(x).__qualname__.encode())
        for f in dataclasses.fields(x):
            if f.init:
                _feed(h, getattr(x, f.name, None), depth + 1)
    elif hasattr(x, "__dict__"):
        h.update(type(x).__qualname__.encode())
        for k, v in sorted(vars(x).items()):
            if not k.startswith("_") and not callable(v):
                h.update(k.encode())
                _feed(h, v, depth + 1)
    else:
        h.update(repr(x).encode())


def instance_key(instance) -> str:
    """A content key of any instance, equal for equal instances (used to deduplicate draws).

    An instance may provide its own key through an ``instance_key()`` method.  Otherwise the key
    hashes the type name and every constructor field (dataclasses) or public attribute: arrays by
    dtype, shape and bytes, sparse matrices by their CSR arrays, scalars by ``repr``.

    Returns
    -------
    str
        24 hex digits (BLAKE2b).
    """
    own = getattr(instance, "instance_key", None)
    if callable(own):
        return str(own())
    h = hashlib.blake2b(digest_size=12)
    _feed(h, instance)
    return h.hexdigest()


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

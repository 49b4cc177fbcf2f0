"""Benchmark MDPs, built with fixed seeds (same instance on every run and machine).

Every builder returns a validated :class:`mdpkit.TabularMDP`; the peers receive the same arrays
converted to their own layouts (see ``peers.py``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mdpkit import TabularMDP
from mdpkit.generators import forest, garnet


def dense_garnet(S: int, A: int, gamma: float, seed: int = 0) -> TabularMDP:
    """Garnet(S, A, b=S): every row dense, a flat Dirichlet(1, ..., 1) draw; R ~ U[0, 1).

    A flat Dirichlet is a vector of i.i.d. Exp(1) draws divided by its sum, which is how it
    is built here (``mdpkit.generators.garnet`` with ``b = S`` draws the same law by cut points,
    at O(S*A*S*b) cost).
    """
    rng = np.random.default_rng(seed)
    P = rng.standard_exponential((S * A, S))
    P /= P.sum(axis=1, keepdims=True)
    R = rng.random((S, A))
    return TabularMDP(P.reshape(S, A, S), R, gamma, name=f"dense garnet(S={S}, A={A})")


def sparse_garnet(S: int, A: int, b: int, gamma: float, seed: int = 0) -> TabularMDP:
    """Garnet(S, A, b) in CSR (``mdpkit.generators.garnet``)."""
    m = garnet(S, A, b, gamma=gamma, rng=seed, sparse=True)
    return m


def forest_model(S: int, gamma: float) -> TabularMDP:
    """pymdptoolbox's forest management problem in CSR (``mdpkit.generators.forest``)."""
    return forest(S=S, gamma=gamma, sparse=True)


def grid_world(n: int, gamma: float, seed: int = 0) -> TabularMDP:
    """Deterministic ``n x n`` grid world in CSR: ``n*n`` states, 4 actions (up, right, down, left).

    A move into the border leaves the state unchanged.  Leaving cell ``s`` costs ``c(s)``, drawn
    i.i.d. Uniform[1, 5) with ``seed`` (so shortest paths bend); the goal cell, drawn with the same
    seed, is absorbing with reward 0.  ``R[s, a] = -c(s)``.
    """
    rng = np.random.default_rng(seed)
    S = n * n
    s = np.arange(S)
    r, c = np.divmod(s, n)
    dr = np.array([-1, 0, 1, 0])
    dc = np.array([0, 1, 0, -1])
    nr = np.clip(r[:, None] + dr[None, :], 0, n - 1)
    nc = np.clip(c[:, None] + dc[None, :], 0, n - 1)
    nxt = (nr * n + nc).astype(np.int64)
    cost = rng.uniform(1.0, 5.0, size=S)
    goal = int(rng.integers(S))
    nxt[goal, :] = goal
    R = -np.repeat(cost[:, None], 4, axis=1)
    R[goal, :] = 0.0
    idx_dtype = np.int32 if S < 2**31 else np.int64
    P = sp.csr_matrix(
        (np.ones(S * 4), nxt.ravel().astype(idx_dtype), np.arange(S * 4 + 1, dtype=np.int64)), shape=(S * 4, S)
    )
    return TabularMDP(P, R, gamma, name=f"grid world({n}x{n})")


#: name -> (builder, kwargs) per size profile.  ``full`` is the issue's suite.
SUITES = {
    "full": {
        "dense-garnet": (dense_garnet, dict(S=2000, A=8)),
        "sparse-garnet": (sparse_garnet, dict(S=200_000, A=4, b=8)),
        "forest": (forest_model, dict(S=10_000)),
        "grid-world": (grid_world, dict(n=1000)),
    },
    "quick": {
        "dense-garnet": (dense_garnet, dict(S=500, A=8)),
        "sparse-garnet": (sparse_garnet, dict(S=20_000, A=4, b=8)),
        "forest": (forest_model, dict(S=2_000)),
        "grid-world": (grid_world, dict(n=100)),
    },
    "smoke": {
        "dense-garnet": (dense_garnet, dict(S=60, A=4)),
        "sparse-garnet": (sparse_garnet, dict(S=400, A=3, b=4)),
        "forest": (forest_model, dict(S=50)),
        "grid-world": (grid_world, dict(n=12)),
    },
}


def build(name: str, suite: str, gamma: float) -> TabularMDP:
    fn, kw = SUITES[suite][name]
    return fn(gamma=gamma, **kw)


def params(name: str, suite: str) -> dict:
    return dict(SUITES[suite][name][1])

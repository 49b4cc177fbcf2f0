"""Helpers shared by the distributional tests (not a test module)."""

import numpy as np
from hypothesis import strategies as st

from mdpkit import distributions as D
from mdpkit.policies import check_policy


def dense_parts(mdp, pol):
    """Dense P (S, A, S), realised rewards (S, A, S) and a stochastic policy (S, A)."""
    P = mdp.P_dense()
    Rs = mdp.R_sas_dense()
    if Rs is None:
        Rs = np.repeat(mdp.R[:, :, None], mdp.S, axis=2)
    pi = check_policy(mdp, pol)
    if pi.ndim == 1:
        pi = np.eye(mdp.A)[pi]
    return P, Rs, pi


def random_laws(data, S):
    xs, ps = [], []
    for _ in range(S):
        n = data.draw(st.integers(1, 4))
        xs.append(np.array(data.draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n)), float))
        w = np.array(data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)), float)
        ps.append(w / w.sum())
    return D.FiniteReturns(tuple(xs), tuple(ps))

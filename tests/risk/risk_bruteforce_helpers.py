"""Independent oracles for the risk tests: exact enumeration of every history-dependent policy.

A law is a dict {Fraction value: Fraction probability}.  ``achievable_laws(model, H, s)`` returns
the set of return laws of all deterministic history-dependent policies from ``s`` (the action at a
node may depend on the whole path, so every successor picks its continuation independently).
Everything is exact rational arithmetic; nothing here calls mdpkit's solvers.  The enumeration,
``cvar_exact`` and ``exact_from_mdp`` live in ``mdpkit.theory._risk`` (shared with the
``stock-cvar-exact`` theorem check); the rest is test-only.
"""

from fractions import Fraction as F
import math

import numpy as np
from hypothesis import strategies as st

from mdpkit import TabularMDP
from mdpkit.theory._risk import achievable_laws, cvar_exact, exact_from_mdp  # noqa: F401  (re-exported)


def random_model(rng, S, A, rewards=(-2, -1, 0, 1, 2, 3), max_w=3, gamma=1):
    """(TabularMDP, exact description) with integer-weight probabilities and integer rewards."""
    W = rng.integers(0, max_w + 1, size=(S, A, S))
    for s in range(S):
        for a in range(A):
            if W[s, a].sum() == 0:
                W[s, a, rng.integers(S)] = 1
    R = rng.choice(np.array(rewards), size=(S, A, S))
    exact = {(s, a): [(s2, F(int(W[s, a, s2]), int(W[s, a].sum())), F(int(R[s, a, s2])))
                      for s2 in range(S) if W[s, a, s2] > 0] for s in range(S) for a in range(A)}
    P = W / W.sum(axis=2, keepdims=True)
    return TabularMDP(P, None, float(gamma), R_sas=R.astype(float) * (W > 0)), exact


def var_exact(law, alpha):
    alpha = F(alpha)
    xs = sorted(law)
    if alpha == 0:
        return xs[0]
    c = F(0)
    for x in xs:
        c += law[x]
        if c >= alpha:
            return x
    return xs[-1]


def prob_ge(law, t):
    return sum((p for x, p in law.items() if x >= t), F(0))


def mean_exact(law):
    return sum((x * p for x, p in law.items()), F(0))


def erm_float(law, beta):
    if beta == 0:
        return float(mean_exact(law))
    xs = np.array([float(x) for x in law])
    ps = np.array([float(p) for p in law.values()])
    y = -beta * xs
    m = y.max()
    return -(m + math.log(float(np.dot(ps, np.exp(y - m))))) / beta


@st.composite
def instances(draw):
    """A random integer-reward model (S <= 3, A <= 2), its exact form, a horizon and a start state."""
    S = draw(st.integers(1, 3))
    A = draw(st.integers(1, 2))
    H = draw(st.integers(1, 3 if S * A <= 4 else 2))
    seed = draw(st.integers(0, 2**31 - 1))
    s0 = draw(st.integers(0, S - 1))
    mdp, exact = random_model(np.random.default_rng(seed), S, A)
    return mdp, exact, H, s0

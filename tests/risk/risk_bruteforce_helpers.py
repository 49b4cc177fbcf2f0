"""Independent oracles for the risk tests: exact enumeration of every history-dependent policy.

A law is a dict {Fraction value: Fraction probability}.  ``achievable_laws(model, H, s)`` returns
the set of return laws of all deterministic history-dependent policies from ``s`` (the action at a
node may depend on the whole path, so every successor picks its continuation independently).
Everything is exact rational arithmetic; nothing here calls mdpkit's solvers.
"""

from fractions import Fraction as F
import itertools
import math

import numpy as np

from mdpkit import TabularMDP


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


def exact_from_mdp(mdp):
    """Exact description of an mdpkit model whose probabilities are dyadic/simple floats."""
    P = np.asarray(mdp.P)
    Rs = np.asarray(mdp.R_sas) if mdp.R_sas is not None else np.broadcast_to(mdp.R[:, :, None], P.shape)
    return {(s, a): [(s2, F(P[s, a, s2]).limit_denominator(10**6), F(Rs[s, a, s2]).limit_denominator(10**6))
                     for s2 in range(mdp.S) if P[s, a, s2] > 0]
            for s in range(mdp.S) for a in range(mdp.A) if mdp.action_mask[s, a]}


def _key(law):
    return tuple(sorted(law.items()))


def achievable_laws(exact, H, s, gamma=F(1)):
    memo = {}
    actions = {}
    for (st, a) in exact:
        actions.setdefault(st, []).append(a)

    def laws(t, st):
        if (t, st) in memo:
            return memo[(t, st)]
        if t == H:
            out = {_key({F(0): F(1)})}
        else:
            out = set()
            for a in actions[st]:
                succ = exact[(st, a)]
                options = [sorted(laws(t + 1, s2)) for s2, _, _ in succ]
                for combo in itertools.product(*options):
                    law = {}
                    for (s2, p, r), sub in zip(succ, combo):
                        for x, q in sub:
                            v = r + gamma * x
                            law[v] = law.get(v, F(0)) + p * q
                    out.add(_key(law))
        memo[(t, st)] = out
        return out

    return [dict(k) for k in laws(0, s)]


def cvar_exact(law, alpha):
    alpha = F(alpha)
    xs = sorted(law)
    if alpha == 0:
        return xs[0]
    acc, tot = F(0), F(0)
    for x in xs:
        take = min(law[x], alpha - acc)
        if take <= 0:
            break
        tot += take * x
        acc += take
    return tot / alpha


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

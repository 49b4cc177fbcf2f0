"""Registered theorem checks for static risk objectives (stock augmentation), and their brute-force oracle.

The oracle enumerates the return law of every deterministic history-dependent policy of a
finite-horizon model in exact rational arithmetic (:class:`fractions.Fraction`); nothing in it
calls mdpkit's solvers.  ``tests/risk`` imports the same functions.  A law is a dict
``{Fraction value: Fraction probability}``.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit.model import TabularMDP
from mdpkit.stock import transition_entries

from ._core import Observation, Theorem, register

__all__ = ["achievable_laws", "cvar_exact", "exact_from_mdp", "stock_cvar_value", "decomposition_cvar_value"]

#: risk levels of the ``stock-cvar-exact`` check (exact rationals for the oracle)
ALPHAS = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(1))


# ----------------------------------------------------------------------------- exact oracle
def exact_from_mdp(mdp: TabularMDP, max_denominator: int = 10**6) -> dict:
    """Exact description ``{(s, a): [(s', P(s'|s,a), r(s,a,s')), ...]}`` of an available-action model.

    Probabilities and rewards are recovered as the nearest fractions with denominator at most
    ``max_denominator``; each must convert back to the stored float exactly, else
    :class:`InvalidArgumentError` (the model is then not "simple rational", and an exact
    enumeration of it would be a different model).
    """
    P = mdp.P_dense()
    Rs = mdp.R_sas_dense()
    Rs = np.broadcast_to(mdp.R[:, :, None], P.shape) if Rs is None else Rs

    def frac(x, what):
        f = Fraction(float(x)).limit_denominator(max_denominator)
        if float(f) != float(x):
            raise InvalidArgumentError(f"exact_from_mdp: {what} = {float(x)!r} is not a fraction with denominator "
                                       f"<= {max_denominator}")
        return f

    return {(s, a): [(s2, frac(P[s, a, s2], f"P[{s}, {a}, {s2}]"), frac(Rs[s, a, s2], f"R_sas[{s}, {a}, {s2}]"))
                     for s2 in range(mdp.S) if P[s, a, s2] > 0]
            for s in range(mdp.S) for a in range(mdp.A) if mdp.action_mask[s, a]}


def _key(law):
    return tuple(sorted(law.items()))


def achievable_laws(exact: dict, H: int, s: int, gamma=Fraction(1)) -> list:
    """Return laws of :math:`G = \\sum_{t<H} \\gamma^t r_t` from ``s`` under every deterministic history-dependent policy.

    The action at a node may depend on the whole path, so each successor picks its continuation
    law independently: the set at ``(t, s)`` is the union over actions of all combinations of the
    successors' sets at ``t + 1``.  Exact; the number of laws grows doubly exponentially in ``H``
    (keep models tiny).  Returns a list of dicts ``{value: probability}`` (duplicates removed).
    """
    memo: dict = {}
    actions: dict = {}
    for (st, a) in exact:
        actions.setdefault(st, []).append(a)

    def laws(t, st):
        if (t, st) in memo:
            return memo[(t, st)]
        if t == H:
            out = {_key({Fraction(0): Fraction(1)})}
        else:
            out = set()
            for a in actions[st]:
                succ = exact[(st, a)]
                options = [sorted(laws(t + 1, s2)) for s2, _, _ in succ]
                for combo in itertools.product(*options):
                    law: dict = {}
                    for (s2, p, r), sub in zip(succ, combo):
                        for x, q in sub:
                            v = r + gamma * x
                            law[v] = law.get(v, Fraction(0)) + p * q
                    out.add(_key(law))
        memo[(t, st)] = out
        return out

    return [dict(k) for k in laws(0, s)]


def cvar_exact(law: dict, alpha) -> Fraction:
    """Lower-tail :math:`\\mathrm{CVaR}_\\alpha` of a finite law, exactly: the mean of its lowest ``alpha`` mass.

    ``alpha = 0`` gives the smallest atom (ess inf), ``alpha = 1`` the mean (the convention of
    :mod:`mdpkit.distributions`).
    """
    alpha = Fraction(alpha)
    xs = sorted(law)
    if alpha == 0:
        return xs[0]
    acc, tot = Fraction(0), Fraction(0)
    for x in xs:
        take = min(law[x], alpha - acc)
        if take <= 0:
            break
        tot += take * x
        acc += take
    return tot / alpha


# ----------------------------------------------------------------------------- subjects
def stock_cvar_value(mdp, alpha, horizon, *, state):
    """Default subject: the optimal static CVaR by stock augmentation (:func:`mdpkit.solvers.risk.optimize_cvar`)."""
    from mdpkit.solvers.risk import optimize_cvar

    return optimize_cvar(mdp, alpha, horizon, state=state).value


def decomposition_cvar_value(mdp, alpha, horizon, *, state):
    """Negative control: the risk-level decomposition of CVaR (Chow et al. 2015), which can over-estimate."""
    from mdpkit.solvers.risk import cvar_decomposition

    return cvar_decomposition(mdp, alpha, horizon, state=state).value


# ----------------------------------------------------------------------------- the check
def finite_horizon_integer_mdps():
    """Hypothesis strategy: 2 <= S <= 3, A <= 2 (masked), gamma = 1, integer rewards in [-3, 3] on transitions."""
    from mdpkit.testing.strategies import mdps

    return mdps(n_states=(2, 3), n_actions=(1, 2), gamma=1.0, sparse=False, reward="sas", masked=True, max_weight=3)


def _horizon(mdp, rng) -> int:
    # H = 3 with 3 states and 2 actions everywhere can give ~10^4 history-dependent laws: keep H = 2 there
    n_pairs = int(np.count_nonzero(mdp.action_mask))
    return int(rng.integers(2, 4)) if n_pairs <= 4 else 2


def _run_stock_cvar(mdp, rng, f):
    H = _horizon(mdp, rng)
    support = np.flatnonzero(np.asarray(mdp.mu0) > 0)  # a start state the model allows (all, for uniform mu0)
    s0 = int(support[rng.integers(support.size)])
    laws = achievable_laws(exact_from_mdp(mdp), H, s0)
    best = np.array([float(max(cvar_exact(law, a) for law in laws)) for a in ALPHAS])
    got = np.array([float(f(mdp, float(a), H, state=s0)) for a in ALPHAS])
    scale = max(1.0, H * float(np.abs(transition_entries(mdp)[4]).max(initial=0.0)))  # size of the returns
    return Observation(np.abs(got - best), np.zeros(len(ALPHAS)), x=np.array([float(a) for a in ALPHAS]),
                       rtol=0.0, atol=1e-9 * scale,
                       info={"H": H, "state": s0, "n_laws": len(laws),
                             "max_excess": float(np.max(got - best)), "min_excess": float(np.min(got - best))})


register(Theorem(
    name="stock-cvar-exact",
    statement="max over history-dependent policies of CVaR_alpha(G) = max_b {b + E[min(G - b, 0)]/alpha} solved by DP "
              "on the stock-augmented MDP (finite horizon, gamma = 1, alpha in {0.1, 0.25, 0.5, 1}); reference: "
              "exact enumeration of every deterministic history-dependent policy",
    source="Rockafellar & Uryasev (2000), Thm 1; Bauerle & Ott (2011), Math. Meth. Oper. Res. 74, Thm 3.1; "
           "Avila Pires et al. (2025), Sec. 3",
    compare="identity",
    subject=stock_cvar_value, subject_doc="f(mdp, alpha, horizon, state=) -> float, the optimal static CVaR_alpha",
    run=_run_stock_cvar, family=finite_horizon_integer_mdps,
    negative=decomposition_cvar_value,
    negative_doc="risk-level decomposition of CVaR (Chow et al. 2015), over-estimates (Hau et al. 2023)",
    zoo=("cvar_counterexample",), plot="ratio", ylabel="|CVaR found - brute-force optimum|",
))

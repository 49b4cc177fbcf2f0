"""Registered theorem checks for the model-checking solvers (reachability, graph precomputation).

* ``interval-iteration-bracket``: interval iteration's bracket contains the maximal reachability
  probability computed by an LP per model, and its half-width is what the solver claims.
  Negative control: value iteration from below stopped when an iteration changes the values by
  less than epsilon, claiming the bracket ``[x, x + epsilon]`` (the classic unsound stopping rule;
  on a slow leak it stops far below the value).
* ``prob01-graph-sets``: the four graph sets Prob0A/Prob0E/Prob1A/Prob1E equal the sets of states
  whose optimal probabilities are exactly 0 or 1, found by enumerating every deterministic policy.
  Negative control: "Pmax = 1" replaced by "the goal is reachable in the graph".
"""

from __future__ import annotations

import itertools

import numpy as np

from mdpkit.model import TabularMDP

from ._core import Observation, Theorem, register

GOAL, FAIL = 0, 1


# ----------------------------------------------------------------------------- instances
def _leak(delta: float, S: int = 3) -> TabularMDP:
    """A slow leak: state 2 stays with probability 1 - delta and otherwise goes to goal or fail
    evenly (value 1/2); a second action goes to goal / fail with probability 1/2 at once.  Value
    iteration from below creeps up by about delta/2 (1 - delta)^k per sweep."""
    P = np.zeros((S, 2, S))
    P[GOAL, :, GOAL] = 1
    P[FAIL, :, FAIL] = 1
    for s in range(2, S):
        P[s, 0, s] = 1 - delta
        P[s, 0, GOAL] = P[s, 0, FAIL] = delta / 2
        P[s, 1, GOAL] = P[s, 1, FAIL] = 0.5
    mask = np.ones((S, 2), bool)
    mask[2:, 1] = False
    return TabularMDP(P, np.zeros((S, 2)), 1.0, action_mask=mask, name=f"leak(delta={delta:g})")


def _tight() -> list:
    """The bracket's half-width is attained: in state 2 action 1 gives 1/2 at once (the lower
    iterate is exact after one sweep) while action 0 (value 1/2 too) keeps the upper iterate high
    for a long time, so the midpoint is a full half-width above the value."""
    P = np.zeros((3, 2, 3))
    P[GOAL, :, GOAL] = P[FAIL, :, FAIL] = 1
    P[2, 0, 2] = 0.9
    P[2, 0, GOAL] = P[2, 0, FAIL] = 0.05
    P[2, 1, GOAL] = P[2, 1, FAIL] = 0.5
    return [TabularMDP(P, np.zeros((3, 2)), 1.0, name="two-speed")]


def reach_mdps():
    """Hypothesis strategy: small MDPs (S in [3, 6], A in [1, 3]) with absorbing goal 0 and fail 1,
    random supports (end components included), or slow leaks (delta in [1e-3, 3e-2])."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        if d(st.integers(0, 4)) == 0:
            return _leak(float(d(st.sampled_from([1e-3, 3e-3, 1e-2, 3e-2]))), d(st.integers(3, 4)))
        S = d(st.integers(3, 6))
        A = d(st.integers(1, 3))
        P = np.zeros((S, A, S))
        P[GOAL, :, GOAL] = P[FAIL, :, FAIL] = 1
        for s in range(2, S):
            for a in range(A):
                k = d(st.integers(1, 3))
                t = d(st.lists(st.integers(0, S - 1), min_size=k, max_size=k, unique=True))
                w = np.array(d(st.lists(st.integers(1, 4), min_size=k, max_size=k)), float)
                P[s, a, t] = w / w.sum()
        return TabularMDP(P, np.zeros((S, A)), 1.0)

    return draw()


# ----------------------------------------------------------------------------- oracles
def _closure(E):
    C = E | np.eye(E.shape[0], dtype=bool)
    while True:
        C2 = C | ((C.astype(int) @ C.astype(int)) > 0)
        if np.array_equal(C2, C):
            return C
        C = C2


def pmax_lp(mdp: TabularMDP, goal: int = GOAL) -> np.ndarray:
    r"""Maximal reachability probabilities by the LP :math:`\min \sum_s x_s` s.t.
    :math:`x_s \ge \sum_t P(t|s,a) x_t` for every available action of a non-goal state that can
    reach the goal, :math:`x = 1` on the goal and 0 where the goal is unreachable in the graph
    (Baier & Katoen 2008, Thm 10.105; Puterman 1994, Sec. 7.2.7; numbers not checked against the
    text).  scipy HiGHS."""
    from scipy.optimize import linprog

    S = mdp.S
    P = mdp.P_dense()
    E = ((P > 0) & mdp.action_mask[:, :, None]).any(axis=1)
    E[goal] = False
    can = _closure(E)[:, goal]
    rows, b = [], []
    for s in range(S):
        if s == goal or not can[s]:
            continue
        for a in np.flatnonzero(mdp.action_mask[s]):
            row = P[s, a].copy()
            row[s] -= 1.0
            rows.append(row)  # P x - x_s <= 0
            b.append(0.0)
    bounds = [(1.0, 1.0) if s == goal else ((0.0, 0.0) if not can[s] else (0.0, 1.0)) for s in range(S)]
    if not rows:
        return np.array([1.0 if s == goal else 0.0 for s in range(S)])
    res = linprog(np.ones(S), A_ub=np.array(rows), b_ub=np.array(b), bounds=bounds, method="highs")
    return np.asarray(res.x, dtype=float)


def _chain_reach(Pp, goal_mask, avoid_mask):
    E = (Pp > 0) & ~(goal_mask | avoid_mask)[:, None]
    can = _closure(E)[:, goal_mask].any(axis=1)
    x = goal_mask.astype(float)
    m = can & ~goal_mask & ~avoid_mask
    if m.any():
        x[m] = np.linalg.solve(np.eye(int(m.sum())) - Pp[np.ix_(m, m)], Pp[np.ix_(m, goal_mask)].sum(axis=1))
    return x


def enumerate_extremes(mdp: TabularMDP, goal_mask, avoid_mask):
    """(Pmin, Pmax) over every deterministic stationary policy (optimal for reachability)."""
    P = mdp.P_dense()
    acts = [np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(mdp.S)]
    vals = np.array([_chain_reach(P[np.arange(mdp.S), np.array(pi)], goal_mask, avoid_mask)
                     for pi in itertools.product(*acts)])
    return vals.min(axis=0), vals.max(axis=0)


# ----------------------------------------------------------------------------- subjects
def interval_iteration(mdp, goal, epsilon):
    """Default subject: ``reach_probability(mdp, goal, method="ii", epsilon=epsilon, relative=False)``."""
    from mdpkit.solvers.reachability import reach_probability

    return reach_probability(mdp, goal, method="ii", epsilon=epsilon, relative=False)


class _Naive:
    def __init__(self, lo, hi):
        self.v_lower, self.v_upper = lo, hi
        self.v = lo + 0.5 * (hi - lo)


def naive_vi(mdp, goal, epsilon):
    """Negative control: value iteration from 0, stopped when no value changes by more than
    ``epsilon``, claiming ``[x, x + epsilon]`` (unsound: Haddad & Monmege 2018, Sec. 1)."""
    P = mdp.P_dense()
    G = np.zeros(mdp.S, bool)
    G[goal] = True
    x = G.astype(float)
    for _ in range(10**6):
        q = np.where(mdp.action_mask, np.einsum("sat,t->sa", P, x), -np.inf)
        nx = np.where(G, 1.0, q.max(axis=1))
        if np.max(np.abs(nx - x)) < epsilon:
            x = nx
            break
        x = nx
    return _Naive(x, np.minimum(x + epsilon, 1.0))


def _run_bracket(mdp, rng, subject):
    eps = float(10.0 ** rng.uniform(-6, -2))
    truth = pmax_lp(mdp)
    res = subject(mdp, [GOAL], eps)
    lo, hi = np.asarray(res.v_lower, float), np.asarray(res.v_upper, float)
    half = 0.5 * (hi - lo)
    observed = np.abs(np.asarray(res.v, float) - truth)
    return Observation(observed, half, atol=1e-9, label=mdp.name or f"random S={mdp.S} A={mdp.A}",
                       info={"epsilon": eps, "max_half_width": float(half.max()),
                             "width_ok": bool(np.all(hi - lo <= 2 * eps + 1e-12))})


register(Theorem(
    name="interval-iteration-bracket",
    statement="v_lower <= Pmax <= v_upper state-wise: |mid - Pmax| <= (v_upper - v_lower)/2 (LP oracle), "
              "after end-component collapse, with width <= 2 epsilon at termination",
    source="Haddad & Monmege (2018), Theor. Comput. Sci. 735, Thm 1 (number not checked against the text)",
    compare="bound",
    subject=interval_iteration, subject_doc="subject(mdp, goal_ids, epsilon) -> result with v, v_lower, v_upper",
    run=_run_bracket, family=reach_mdps,
    negative=naive_vi, negative_doc="value iteration from below stopped on a change < epsilon, claiming [x, x + epsilon]",
    tight=_tight, plot="ratio", ylabel="|mid - Pmax| / half-width",
))


def graph_sets(mdp, goal, avoid):
    """Default subject: the four sets of :mod:`mdpkit.qualitative`."""
    from mdpkit import qualitative as q

    return {k: getattr(q, k)(mdp, goal, avoid) for k in ("prob0a", "prob0e", "prob1a", "prob1e")}


def graph_sets_wrong(mdp, goal, avoid):
    """Negative control: Prob1E replaced by 'some path reaches the goal' (Pmax > 0)."""
    out = graph_sets(mdp, goal, avoid)
    out["prob1e"] = ~out["prob0a"]
    return out


def _run_sets(mdp, rng, subject):
    G = np.zeros(mdp.S, bool)
    G[GOAL] = True
    B = np.zeros(mdp.S, bool)
    if mdp.S > 3 and rng.random() < 0.5:
        B[FAIL] = True
    pmin, pmax = enumerate_extremes(mdp, G, B)
    want = {"prob0a": pmax == 0, "prob0e": pmin == 0, "prob1a": pmin >= 1 - 1e-12, "prob1e": pmax >= 1 - 1e-12}
    got = subject(mdp, G, B)
    mism = sum(int(np.sum(np.asarray(got[k], bool) != want[k])) for k in want)
    return Observation(np.array([float(mism)]), np.array([0.0]), atol=0.0, rtol=0.0,
                       label=mdp.name or f"random S={mdp.S} A={mdp.A}", info={"mismatched_states": mism})


register(Theorem(
    name="prob01-graph-sets",
    statement="Prob0A = {Pmax = 0}, Prob0E = {Pmin = 0}, Prob1A = {Pmin = 1}, Prob1E = {Pmax = 1} "
              "(sets from graph fixpoints; probabilities by enumerating every deterministic policy)",
    source="Baier & Katoen (2008), Sec. 10.6.1, Alg. 45-47; de Alfaro (1997), Ch. 3 (numbers not checked against the text)",
    compare="identity",
    subject=graph_sets, subject_doc="subject(mdp, goal_mask, avoid_mask) -> dict of four bool (S,) masks",
    run=_run_sets, family=reach_mdps,
    negative=graph_sets_wrong, negative_doc="Prob1E replaced by 'the goal is reachable in the graph' (Pmax > 0)",
    mutation=False, plot="ratio", ylabel="mismatched states",
))

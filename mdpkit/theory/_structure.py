"""Registered theorem checks for structural quantities: diameter, bias span, Dobrushin contraction,
k-QVI (effective horizon) and the ROVER claim.

Each check's statement and source live in its :class:`Theorem` record; the functions below run the
subject and assemble the observed and bound arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdpkit import bounds
from mdpkit.effective_horizon import FiniteHorizonModel, minimal_k, rover_check
from mdpkit.model import TabularMDP
from mdpkit.structure import diameter, dobrushin_coefficient, optimal_bias

from ._core import Observation, Theorem, register

JAKSCH = "Jaksch, Ortner & Auer 2010 (JMLR 11)"


# ----------------------------------------------------------------------------- instance families
def communicating_mdps(n_states=(8, 20), n_actions=(2, 3), rewards=False):
    """Random communicating models: integer weights plus a ring ``s -> s+1`` on action 0."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(*n_states))
        A = d(st.integers(*n_actions))
        seed = d(st.integers(0, 2**31 - 1))
        sparsity = d(st.sampled_from([0.0, 0.5, 0.8]))
        rng = np.random.default_rng(seed)
        w = rng.integers(0, 4, (S, A, S)).astype(float) * (rng.random((S, A, S)) >= sparsity)
        w[np.arange(S), 0, (np.arange(S) + 1) % S] += 1.0
        w[w.sum(axis=2) == 0, 0] = 1.0
        R = rng.integers(-2, 3, (S, A)).astype(float) if rewards else np.zeros((S, A))
        return TabularMDP(w / w.sum(axis=2, keepdims=True), R, 1.0, name="communicating")

    return draw()


def de_bruijn(A: int, n: int) -> TabularMDP:
    """States = words of length n over A letters, an action appends a letter: D = n = log_A S exactly."""
    S = A**n
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, (s * A + a) % S] = 1.0
    return TabularMDP(P, np.zeros((S, A)), 1.0, name=f"de Bruijn(A={A}, n={n})")


def slow_reward(D: int) -> TabularMDP:
    """State 0 pays 0 and moves to 1 w.p. 1/D (both actions); state 1 pays 1 and stays or returns to 0.
    D(M) = D (0 -> 1), g* = 1 and 1 + h(0) = (1 - 1/D) h(0) + h(1)/D, so sp(h*) = D = D * range."""
    P = np.zeros((2, 2, 2))
    P[0, :] = [1.0 - 1.0 / D, 1.0 / D]
    P[1, 0, 1] = 1.0
    P[1, 1, 0] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 1.0]])
    return TabularMDP(P, R, 1.0, name=f"slow reward (D={D})")


def _min_pair_diameter(mdp):
    """Negative control: the *minimum* over pairs s != t of the hitting times instead of the maximum."""
    r = diameter(mdp)
    H = np.array(r.hitting_times, dtype=float)
    np.fill_diagonal(H, np.inf)
    m = float(H.min()) if mdp.S > 1 else 0.0
    return type(r)(D=m, D_lower=m, D_upper=m, pair=r.pair, hitting_times=r.hitting_times,
                   hitting_times_upper=r.hitting_times_upper, n_iter=r.n_iter, converged=r.converged,
                   definition="(wrong) min over pairs")


# ----------------------------------------------------------------------------- diameter lower bound
def _run_diameter_lower(mdp, rng, subject):
    r = subject(mdp)
    f = bounds.diameter_lower_bound(mdp.S, mdp.A).value
    return Observation(np.array([f]), np.array([r.D_lower]), atol=1e-9, rtol=0.0,
                       info={"D": float(r.D), "log_A_S": f + 3.0})


register(Theorem(
    name="diameter-lower-bound",
    statement="every MDP with S states and A actions has diameter D >= log_A(S) - 3 (observed: log_A S - 3; "
              "bound: the certified lower end of D)",
    source=f"{JAKSCH}, Sec. 2, remark after the definition of the diameter",
    compare="bound",
    subject=diameter, subject_doc="subject(mdp) -> DiameterResult (.D_lower, .D)",
    run=_run_diameter_lower, family=communicating_mdps,
    negative=_min_pair_diameter, negative_doc="the minimum over pairs of the hitting times instead of the maximum",
    zoo=("riverswim", "chain", "gridworld_5x5"),
    tight=lambda: [de_bruijn(2, 6), de_bruijn(2, 8), de_bruijn(3, 5)],
    plot="ratio", ylabel="(log_A S - 3) / D",
    power_note="random models have D far above log_A S; the de Bruijn graphs (D = log_A S) come within 3 of it",
))


# ----------------------------------------------------------------------------- bias span vs diameter
def _span_and_diameter(mdp):
    """Default subject: ``(sp(h*), D_upper)``."""
    return optimal_bias(mdp).span, diameter(mdp).D_upper


def _span_and_min_pair(mdp):
    """Negative control: the diameter replaced by the minimum over pairs of the hitting times."""
    return optimal_bias(mdp).span, _min_pair_diameter(mdp).D


def _run_bias_span(mdp, rng, subject):
    span, D = subject(mdp)
    rr = float(np.ptp(mdp.R[mdp.action_mask]))
    b = bounds.bias_span_bound(D, rr).value
    return Observation(np.array([span]), np.array([b]), atol=1e-7 * max(1.0, rr * D), rtol=1e-9,
                       info={"D": float(D), "reward_range": rr})


register(Theorem(
    name="bias-span-diameter",
    statement="sp(h*) <= D (r_max - r_min) for communicating MDPs",
    source="Bartlett & Tewari 2009 (REGAL), Thm 4; Jaksch et al. 2010, Sec. 4.3.1",
    compare="bound",
    subject=_span_and_diameter, subject_doc="subject(mdp) -> (sp(h*), D)",
    run=_run_bias_span, family=lambda: communicating_mdps(n_states=(3, 15), rewards=True),
    negative=_span_and_min_pair, negative_doc="D replaced by the minimum over pairs of the hitting times",
    zoo=("riverswim", "chain", "gridworld_5x5"),
    tight=lambda: [slow_reward(3), slow_reward(10)],
    plot="ratio", ylabel="sp(h*) / (D * range)",
))


# ----------------------------------------------------------------------------- Dobrushin contraction
def _consecutive_rows(P):
    """Negative control: Dobrushin's coefficient over consecutive row pairs only (a plausible bug)."""
    P = np.asarray(P)
    if P.shape[0] < 2:
        return 0.0
    return float(0.5 * np.abs(np.diff(P, axis=0)).sum(axis=1).max())


def _run_dobrushin(mdp, rng, subject):
    S, A = mdp.S, mdp.A
    w = rng.random((S, A)) * mdp.action_mask
    w[w.sum(axis=1) == 0] = mdp.action_mask[w.sum(axis=1) == 0]
    pi = w / w.sum(axis=1, keepdims=True)
    P = np.einsum("sa,sat->st", pi, mdp.P_dense())
    delta = float(subject(P))
    pairs = [(rng.dirichlet(np.ones(S)), rng.dirichlet(np.ones(S))) for _ in range(6)]
    L1 = np.abs(P[:, None, :] - P[None, :, :]).sum(axis=2)
    i, j = np.unravel_index(int(np.argmax(L1)), L1.shape)
    pairs.append((np.eye(S)[i], np.eye(S)[j]))  # the extremal pair attains delta
    obs = [0.5 * np.abs((mu - nu) @ P).sum() for mu, nu in pairs]
    bnd = [bounds.dobrushin_tv_bound(delta, 0.5 * np.abs(mu - nu).sum()).value for mu, nu in pairs]
    return Observation(np.array(obs), np.array(bnd), atol=1e-12, rtol=1e-10, info={"delta": delta})


def _dobrushin_family():
    from mdpkit.testing.strategies import mdps

    return mdps(n_states=(2, 7), n_actions=(1, 3), gamma=0.9, masked=True)


register(Theorem(
    name="dobrushin-contraction",
    statement="||mu P - nu P||_TV <= delta(P) ||mu - nu||_TV with delta(P) = (1/2) max_ij ||P_i - P_j||_1, P = P_pi",
    source="Dobrushin 1956; Seneta 2006, Thm 3.1",
    compare="bound",
    subject=dobrushin_coefficient, subject_doc="subject(P (S, S) row-stochastic) -> float",
    run=_run_dobrushin, family=_dobrushin_family,
    negative=_consecutive_rows, negative_doc="the coefficient over consecutive row pairs only",
    zoo=("riverswim", "chain"), plot="ratio", ylabel="TV after / (delta * TV before)",
    tight=lambda: [TabularMDP(np.array([[[0.9, 0.1]], [[0.2, 0.8]]]), np.zeros((2, 1)), 0.9, name="two-state chain")],
))


# ----------------------------------------------------------------------------- k-QVI
def _enumerate_returns(ns, R, H, t, s):
    A = ns.shape[1]
    if t == H:
        return np.zeros(())
    out = np.empty((A,) * (H - t))
    for a in range(A):
        j = ns[s, a]
        out[a] = R[s, a] if (j < 0 or t + 1 == H) else R[s, a] + _enumerate_returns(ns, R, H, t + 1, j)
    return out


def brute_force_minimal_k(model: FiniteHorizonModel, atol: float = 1e-9) -> int:
    """Minimal k by enumerating every action sequence (deterministic tables only; A^H small)."""
    ns, R, H, A = model.next_state, model.R, model.H, model.A
    s0 = int(np.argmax(model.initial))
    for k in range(1, H + 1):
        ok, vis = True, {s0}
        for t in range(H):
            nxt = set()
            for s in vis:
                G = _enumerate_returns(ns, R, H, t, s)
                kk = min(k, H - t)
                qk = G.reshape(A**kk, -1).mean(axis=1).reshape(A, -1).max(axis=1)
                qo = G.reshape(A, -1).max(axis=1)
                greedy = qk >= qk.max() - atol
                ok &= not np.any(greedy & (qo < qo.max() - atol))
                nxt |= {int(ns[s, a]) for a in np.flatnonzero(greedy) if ns[s, a] >= 0}
            vis = nxt
        if ok:
            return k
    raise AssertionError("unreachable")  # pragma: no cover


def _first_argmax_minimal_k(model):
    """Negative control: minimal k when only the lowest-index greedy action counts (ties ignored)."""
    from mdpkit.effective_horizon import k_qvi, optimal_q

    Qo = optimal_q(model)
    for k in range(1, model.H + 1):
        Q = k_qvi(model, k).q
        ok, vis = True, {int(np.argmax(model.initial))}
        for t in range(model.H):
            nxt = set()
            for s in vis:
                a = int(np.argmax(Q[t, s]))
                ok &= Qo[t, s, a] >= Qo[t, s].max() - 1e-9
                if model.next_state[s, a] >= 0:
                    nxt.add(int(model.next_state[s, a]))
            vis = nxt
        if ok:
            return k
    return model.H


def _tables():
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(2, 5))
        A = d(st.integers(2, 3))
        H = d(st.integers(2, 5))
        ns = np.array(d(st.lists(st.integers(-1, S - 1), min_size=S * A, max_size=S * A)), dtype=np.int64)
        R = np.array(d(st.lists(st.integers(0, 2), min_size=S * A, max_size=S * A)), float)
        return FiniteHorizonModel.from_next_state(ns.reshape(S, A), R.reshape(S, A), H)

    return draw()


def _run_kqvi(model, rng, subject):
    k = int(subject(model))
    kb = brute_force_minimal_k(model)
    return Observation(np.array([abs(k - kb), max(0, k - model.H)], dtype=float), np.zeros(2), atol=0.0, rtol=0.0,
                       part=np.array([0, 1]), label=f"table S={model.S} A={model.A} H={model.H}",
                       info={"min_k": k, "brute_force": kb})


def _lookahead_chain():
    n = 4
    ns = np.array([[i + 1 if i + 1 < n else -1, -1, -1] for i in range(n)], dtype=np.int64)
    R = np.zeros((n, 3))
    R[:, 1] = 0.25
    R[n - 1, 0] = 1.0
    return FiniteHorizonModel.from_next_state(ns, R, n)


register(Theorem(
    name="k-qvi-minimal-k",
    statement="the minimal k for which k-QVI (k-1 value-iteration steps from the random policy's Q, then greedy) "
              "is optimal equals brute force over all action sequences, and k <= H (Q^H = Q*)",
    source="Laidlaw, Russell & Dragan 2023, Sec. 5 (k-QVI-solvable; definition number not checked)",
    compare="identity",
    subject=minimal_k, subject_doc="subject(FiniteHorizonModel) -> int",
    run=_run_kqvi, family=_tables,
    negative=_first_argmax_minimal_k, negative_doc="only the lowest-index greedy action is checked (ties ignored)",
    parts=("min k = brute force", "min k <= H"), mutation=False, plot="ratio", ylabel="|k - k_brute|",
    tight=lambda: [_lookahead_chain()],
    power_note="an identity: the instance family has integer rewards, so ties (where the control differs) are common",
))


# ----------------------------------------------------------------------------- ROVER
@dataclass(frozen=True, eq=False)
class EpisodicInstance:
    """An episodic model for :func:`mdpkit.effective_horizon.rover_check`: ``P (S, A, S)`` sub-stochastic
    (the rest ends the episode) or an integer next-state table, and ``R (S, A)``."""

    P: np.ndarray
    R: np.ndarray
    name: str = ""

    @property
    def S(self) -> int:
        return int(self.R.shape[0])

    def instance_key(self) -> str:
        import hashlib

        h = hashlib.blake2b(digest_size=12)
        for x in (np.asarray(self.P), np.asarray(self.R)):
            h.update(f"{x.dtype}{x.shape}".encode())
            h.update(np.ascontiguousarray(x).tobytes())
        return h.hexdigest()


def _trees():
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(2, 12))
        A = d(st.integers(2, 3))
        used = {}
        i = 1
        while i < S:
            slots = [(p, a) for p in range(i) for a in range(A) if (p, a) not in used]
            p, a = d(st.sampled_from(slots))
            used[(p, a)] = i
            i += 1
        ns = np.full((S, A), -1, dtype=np.int64)
        for (p, a), c in used.items():
            ns[p, a] = c
        R = np.where(ns < 0, np.array(d(st.lists(st.sampled_from([0.0, 1.0]), min_size=S * A,
                                                 max_size=S * A))).reshape(S, A), 0.0)
        return EpisodicInstance(ns, R, name="binary tree")

    return draw()


def _rover_value_gap(inst):
    """Default subject: ``(V*, V_greedy)`` at the root (greedy on the uniform policy's Q)."""
    r = rover_check(inst.P, inst.R)
    return r.v_star, r.v_greedy


def _run_rover(inst, rng, subject):
    v_star, v_greedy = subject(inst)
    return Observation(np.array([v_star - v_greedy]), np.zeros(1), atol=1e-12, rtol=0.0,
                       label=inst.name or f"episodic S={inst.S}", info={"v_star": v_star, "v_greedy": v_greedy})


def _relabel(ns_or_P, R, rng):
    """The same model with states 1.. permuted (the root stays 0, actions keep their order)."""
    X = np.asarray(ns_or_P)
    S, A = R.shape
    perm = np.concatenate([[0], 1 + rng.permutation(S - 1)])
    inv = np.argsort(perm)
    act = np.arange(A)  # actions keep their order: the tie-breaking the counterexamples rest on
    R2 = R[perm][:, act]
    if np.issubdtype(X.dtype, np.integer):
        X2 = X[perm][:, act]
        X2 = np.where(X2 >= 0, inv[np.maximum(X2, 0)], -1)
        return X2.astype(np.int64), R2
    return X[perm][:, act][:, :, perm], R2


def stochastic_counterexample():
    """Hypothesis-found (tests/structure/test_structure_rover.py): a 3/4 gamble beats a sure 1/2-looking path."""
    P = np.zeros((4, 2, 4))
    P[0, 0, 1], P[0, 0, 3] = 0.25, 0.75
    P[0, 1, 2] = 1.0
    return P, np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def non_binary_counterexample():
    return np.array([[1, -1], [-1, 2], [-1, -1]], dtype=np.int64), np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])


def cyclic_counterexample():
    return (np.array([[0, 1], [0, 3], [0, 0], [-1, 0]], dtype=np.int64),
            np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]))


def _control(make, what):
    def subject(inst):
        # the instance's size seeds the relabelling, so the control varies across instances
        X, R = _relabel(*make(), np.random.default_rng(inst.S))
        r = rover_check(X, R)
        return r.v_star, r.v_greedy

    subject.__doc__ = f"Negative control: greedy on Q^u where the {what} assumption is dropped (a committed counterexample)."
    return subject


register(Theorem(
    name="rover-uniform-q-greedy",
    statement="in a deterministic, tree-structured episodic MDP with binary terminal rewards, the policy greedy on "
              "the uniform policy's Q is optimal: V*(root) - V_greedy(root) <= 0",
    source="He et al. 2025, Random Policy Valuation is Enough for LLM Reasoning with Verifiable Rewards, Thm 3.1",
    compare="bound",
    subject=_rover_value_gap, subject_doc="subject(EpisodicInstance) -> (V*(root), V_greedy(root))",
    run=_run_rover, family=_trees,
    negative=_control(stochastic_counterexample, "deterministic-transitions"),
    negative_doc="the check run on a model with stochastic transitions (hypothesis-found counterexample)",
    controls=(("non-binary rewards (hypothesis-found counterexample)", _control(non_binary_counterexample, "binary-reward")),
              ("a graph with a cycle instead of a tree (hypothesis-found counterexample)",
               _control(cyclic_counterexample, "tree"))),
    mutation=False, plot="ratio", ylabel="V* - V_greedy",
    power_note="a sign property (V* - V_greedy <= 0): halving a zero bound means nothing",
))

__all__: list[str] = []

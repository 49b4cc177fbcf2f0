"""ROVER (He et al. 2025): greedy on the uniform policy's Q is optimal in deterministic, tree-structured
MDPs with binary terminal rewards; hypothesis finds counterexamples once any assumption is dropped.

The explicit ``test_counterexample_*`` instances were found by ``hypothesis.find`` with the strategies
of this file (``test_hypothesis_finds_a_counterexample_*`` repeats the searches) and are committed as
they came out (shrunk), with the values checked by hand in each docstring; one hand-made variant
without ties is added.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError
from mdpkit.effective_horizon import FiniteHorizonModel, minimal_k, rover_check

# ---------------------------------------------------------------------------- strategies
END = -1


@st.composite
def trees(draw, n_states=(1, 7), n_actions=(1, 3), rewards=(0.0, 1.0), stochastic=False):
    """Random trees: node i > 0 hangs from a free (parent, action) slot of an earlier node; free slots end
    the episode with a reward drawn from ``rewards``.  ``stochastic``: a slot may lead to two children
    with probabilities w, 1 - w (each child keeps a single parent pair, so the graph is still a tree)."""
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    used = {}
    i = 1
    while i < S:
        slots = [(p, a) for p in range(i) for a in range(A) if (p, a) not in used or (stochastic and len(used[(p, a)]) == 1)]
        if not slots:
            break
        p, a = draw(st.sampled_from(slots))
        used.setdefault((p, a), []).append(i)
        i += 1
    S = i
    P, R = P[:S, :, :S], R[:S]
    for s in range(S):
        for a in range(A):
            ch = used.get((s, a), [])
            if len(ch) == 1:
                P[s, a, ch[0]] = 1.0
            elif len(ch) == 2:
                w = draw(st.sampled_from([0.25, 0.5, 0.75]))
                P[s, a, ch[0]], P[s, a, ch[1]] = w, 1.0 - w
            else:
                R[s, a] = draw(st.sampled_from(list(rewards)))
    return P, R


@st.composite
def graphs(draw, n_states=(1, 5), n_actions=(1, 3)):
    """Deterministic graphs with cycles allowed: each slot goes to any state or ends with reward 0 or 1."""
    S = draw(st.integers(*n_states))
    A = draw(st.integers(*n_actions))
    ns = np.array(draw(st.lists(st.integers(-1, S - 1), min_size=S * A, max_size=S * A)), dtype=np.int64).reshape(S, A)
    R = np.where(ns < 0, np.array(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=S * A, max_size=S * A))).reshape(S, A), 0.0)
    return ns, R


def _ok(inst):
    try:
        return rover_check(*inst)
    except InvalidArgumentError:  # the uniform policy never ends some episode: outside the claim's scope
        return None


def _counterexample(inst):
    r = _ok(inst)
    return r is not None and not r.greedy_optimal


# generate only: the committed instances below are the shrunk ones; the tests re-find *a* counterexample
SEARCH = settings(database=None, max_examples=3000, derandomize=True, deadline=None, phases=(Phase.generate,),
                  suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------------------- the claim
@settings(max_examples=150, deadline=None)
@given(trees())
def test_claim_holds_on_deterministic_binary_trees(inst):
    r = rover_check(*inst)
    assert r.deterministic and r.tree and r.binary_terminal and r.assumptions_hold
    assert r.greedy_optimal and not r.claim_violated


@settings(max_examples=60, deadline=None)
@given(trees(n_states=(1, 8), n_actions=(2, 3)))
def test_claim_in_k_qvi_terms_min_k_is_one(inst):
    """Laidlaw et al.'s 1-QVI-solvability is the same statement with time-indexed Q and all ties: on a
    binary-reward tree written as a next-state table with horizon = depth bound S, min k = 1."""
    P, R = inst
    S, A = R.shape
    ns = np.where(P.sum(axis=2) > 0, P.argmax(axis=2), -1).astype(np.int64)
    assert minimal_k(FiniteHorizonModel.from_next_state(ns, R, S)) == 1


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_with_a_fixed_time_indexed_horizon_the_tree_is_not_needed(tab):
    """With time-indexed values and all ties allowed, Q^rand_t(s, a) > 0 iff a reward-1 end is reachable
    within the remaining steps iff Q*_t(s, a) = 1, so graphs with cycles are 1-QVI-solvable too: the tree
    assumption matters for the stationary, termination-driven setting only."""
    ns, R = tab
    assert minimal_k(FiniteHorizonModel.from_next_state(ns, R, 6)) == 1


# ---------------------------------------------------------------------------- committed counterexamples
def test_counterexample_stochastic_transitions():
    """Found by hypothesis (``trees(stochastic=True)``).  Root action 0 moves to leaf 1 (ends with 0) w.p.
    1/4 or leaf 3 (ends with 1) w.p. 3/4; action 1 moves to node 2, where action 1 ends with 1.
    Q^u(0, .) = (3/4, 1/2): greedy gambles (3/4) where action 1 is sure (1)."""
    P = np.zeros((4, 2, 4))
    P[0, 0, 1], P[0, 0, 3] = 0.25, 0.75
    P[0, 1, 2] = 1.0
    R = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    r = rover_check(P, R)
    assert not r.deterministic and r.tree and r.binary_terminal
    np.testing.assert_allclose(r.q_uniform[0], [0.75, 0.5])
    assert r.v_star == 1.0 and r.v_greedy == 0.75 and not r.greedy_optimal and not r.claim_violated


def test_counterexample_non_binary_rewards():
    """Found by hypothesis (``trees(rewards=(0, 1, 2))``).  0 -a0-> 1 (a1 ends with 0); 1: a0 ends with 1,
    a1 -> 2; 2: a0 ends with 2, a1 with 0.  Q^u(1, .) = (1, (2 + 0)/2) = (1, 1): the tie goes to a0 and
    collects 1 where 2 was available."""
    ns = np.array([[1, END], [END, 2], [END, END]], dtype=np.int64)
    R = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    r = rover_check(ns, R)
    assert r.deterministic and r.tree and not r.binary_terminal
    np.testing.assert_allclose(r.q_uniform, [[1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    assert r.v_star == 2.0 and r.v_greedy == 1.0 and not r.greedy_optimal


def test_counterexample_non_binary_rewards_without_a_tie():
    """Hand-made variant without ties: a0 reaches two ends paying 1 and 1 (Q^u = 1), a1 reaches ends
    paying 0 and 1.5 (Q^u = 0.75, Q* = 1.5)."""
    ns = np.array([[1, 2], [END, END], [END, END]], dtype=np.int64)
    R = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.5]])
    r = rover_check(ns, R)
    assert r.v_star == 1.5 and r.v_greedy == 1.0 and not r.greedy_optimal


def test_counterexample_graph_with_a_cycle():
    """Found by hypothesis (``graphs()``).  0: a0 loops on 0, a1 -> 1; 1: a0 -> 0, a1 -> 3; 3: a0 ends with
    1, a1 -> 0 (state 2 is unreachable).  The only end pays 1 and the uniform policy reaches it w.p. 1
    from everywhere, so Q^u = 1 everywhere; greedy breaks the tie to a0 and loops on 0 forever: return 0.
    (Without ties greedy strictly increases the harmonic V^u and cannot cycle, so every such
    counterexample rests on a tie.)"""
    ns = np.array([[0, 1], [0, 3], [0, 0], [END, 0]], dtype=np.int64)
    R = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    r = rover_check(ns, R)
    assert r.deterministic and not r.tree and r.binary_terminal
    np.testing.assert_allclose(r.q_uniform, 1.0)
    assert r.v_star == 1.0 and r.v_greedy == 0.0 and not r.greedy_optimal


# ---------------------------------------------------------------------------- the hypothesis searches
def test_hypothesis_finds_a_counterexample_with_stochastic_transitions():
    P, R = find(trees(n_states=(2, 6), n_actions=(2, 2), stochastic=True), _counterexample, settings=SEARCH)
    r = rover_check(P, R)
    assert not r.deterministic and r.tree and r.binary_terminal and not r.greedy_optimal


def test_hypothesis_finds_a_counterexample_with_non_binary_rewards():
    P, R = find(trees(n_states=(2, 6), n_actions=(2, 2), rewards=(0.0, 1.0, 2.0)), _counterexample, settings=SEARCH)
    r = rover_check(P, R)
    assert r.deterministic and r.tree and not r.binary_terminal and not r.greedy_optimal


def test_hypothesis_finds_a_counterexample_on_graphs():
    ns, R = find(graphs(n_states=(1, 4), n_actions=(2, 2)), _counterexample, settings=SEARCH)
    r = rover_check(ns, R)
    assert r.deterministic and not r.tree and r.binary_terminal and not r.greedy_optimal


def test_rover_errors():
    with pytest.raises(InvalidArgumentError, match="uniform policy does not end"):
        rover_check(np.array([[0]], dtype=np.int64), np.zeros((1, 1)))
    with pytest.raises(InvalidArgumentError, match="root"):
        rover_check(np.array([[END]], dtype=np.int64), np.zeros((1, 1)), root=3)

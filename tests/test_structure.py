"""Tests of ``mdpkit.structure`` (transition graph, classes of states, model classification).

Oracles, computed here without networkx and without ``mdpkit.structure``:

* the one-step adjacency ``adj[s, t] = any_a mask[s, a] and P[s, a, t] > 0`` from ``P_dense()``
  (or from the rows the policy plays);
* reachability by boolean matrix squaring of ``I | adj`` (transitive closure); communicating
  classes = mutual-reachability groups; recurrent states = those that every state they reach
  reaches back (Kemeny & Snell 1960, Thm 3.1.1);
* an algebraic route for the number of recurrent classes of a chain: the multiplicity of the
  eigenvalue 1, ``S - rank(I - P_pi)`` (Puterman 1994, Appendix A.3), on models with small
  integer weights where the numerical rank is unambiguous;
* step distances by boolean matrix powers; properness by enumerating deterministic policies.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from mdpkit import InvalidArgumentError, InvalidPolicyError, TabularMDP
from mdpkit import structure
from mdpkit.testing.strategies import mdps, policies


# ---------------------------------------------------------------------------- oracles
def adjacency(mdp: TabularMDP, policy=None) -> np.ndarray:
    P = mdp.P_dense()
    if policy is None:
        used = mdp.action_mask
    else:
        pi = np.asarray(policy)
        used = np.eye(mdp.A, dtype=bool)[pi] if pi.ndim == 1 else pi > 0
    return ((P > 0) & used[:, :, None]).any(axis=1)


def closure(adj: np.ndarray) -> np.ndarray:
    """reach[s, t]: t accessible from s in >= 0 steps (boolean squaring of I | adj)."""
    S = adj.shape[0]
    reach = adj | np.eye(S, dtype=bool)
    for _ in range(max(1, int(np.ceil(np.log2(S + 1))))):
        reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
    return reach


def classes_oracle(adj: np.ndarray):
    """(communicating classes, closed classes), each sorted by smallest member."""
    reach = closure(adj)
    mutual = reach & reach.T
    S = adj.shape[0]
    comm = sorted({tuple(np.flatnonzero(mutual[s]).tolist()) for s in range(S)})
    recurrent = [s for s in range(S) if np.all(reach[np.flatnonzero(reach[s]), s])]
    closed = sorted({tuple(np.flatnonzero(mutual[s]).tolist()) for s in recurrent})
    return [list(c) for c in comm], [list(c) for c in closed]


def n_recurrent_classes_by_rank(mdp: TabularMDP, pi: np.ndarray) -> int:
    """Multiplicity of the eigenvalue 1 of a stochastic matrix = number of recurrent classes."""
    P_pi = mdp.P_dense()[np.arange(mdp.S), pi]
    return mdp.S - int(np.linalg.matrix_rank(np.eye(mdp.S) - P_pi, tol=1e-9))


def det(next_state, mask=None, R=None):
    """Deterministic model from a next-state table (S, A)."""
    ns = np.asarray(next_state)
    S, A = ns.shape
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], ns] = 1.0
    return TabularMDP(P, np.zeros((S, A)) if R is None else np.asarray(R, float), 1.0, action_mask=mask)


model_st = mdps(n_states=(1, 7), n_actions=(1, 3), sparse=None, masked=True)


# ---------------------------------------------------------------------------- graph
@settings(max_examples=60)
@given(model_st, st.data())
def test_transition_graph_edges_match_adjacency(mdp, data):
    G = structure.transition_graph(mdp)
    assert sorted(G.nodes) == list(range(mdp.S))
    got = np.zeros((mdp.S, mdp.S), bool)
    for s, t in G.edges:
        got[s, t] = True
    assert_array_equal(got, adjacency(mdp))
    pi = data.draw(st.one_of(policies(mdp), policies(mdp, stochastic=True)), label="policy")
    got = np.zeros((mdp.S, mdp.S), bool)
    for s, t in structure.transition_graph(mdp, pi).edges:
        got[s, t] = True
    assert_array_equal(got, adjacency(mdp, pi))


# ---------------------------------------------------------------------------- classes
@settings(max_examples=80)
@given(model_st)
def test_model_classes_match_transitive_closure(mdp):
    comm, closed = classes_oracle(adjacency(mdp))
    assert structure.communicating_classes(mdp) == comm
    assert structure.closed_classes(mdp) == closed
    rec = np.zeros(mdp.S, bool)
    for c in closed:
        rec[c] = True
    assert_array_equal(structure.recurrent_states(mdp), rec)
    assert_array_equal(structure.transient_states(mdp), ~rec)
    assert structure.is_communicating(mdp) is bool(closure(adjacency(mdp)).all())
    # the model graph is the graph of the uniform policy over available actions
    uniform = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    assert structure.closed_classes(mdp, uniform) == closed


@settings(max_examples=80)
@given(model_st, st.data())
def test_policy_recurrent_classes_match_closure_and_eigenvalue_multiplicity(mdp, data):
    """Recurrent classes of P_pi (closure oracle); their number equals S - rank(I - P_pi)."""
    pi = data.draw(policies(mdp), label="policy")
    comm, closed = classes_oracle(adjacency(mdp, pi))
    assert structure.communicating_classes(mdp, pi) == comm
    assert structure.closed_classes(mdp, pi) == closed
    assert len(closed) == n_recurrent_classes_by_rank(mdp, pi)
    assert structure.is_unichain(mdp, pi) is (len(closed) == 1)
    rec = structure.recurrent_states(mdp, pi)
    assert_array_equal(rec | structure.transient_states(mdp, pi), np.ones(mdp.S, bool))
    assert not np.any(rec & structure.transient_states(mdp, pi))
    # a recurrent class of a policy lies inside one communicating class of the model
    model_comm = structure.communicating_classes(mdp)
    for c in closed:
        assert any(set(c) <= set(m) for m in model_comm)


@pytest.mark.parametrize(
    "model, comm, closed",
    [
        (det([[0]]), [[0]], [[0]]),
        (det([[1, 0], [2, 1], [0, 2]]), [[0, 1, 2]], [[0, 1, 2]]),
        (det([[1, 0], [2, 0], [3, 3], [2, 2]]), [[0, 1], [2, 3]], [[2, 3]]),
        (det([[1, 3], [1, 1], [3, 0], [3, 3]]), [[0], [1], [2], [3]], [[1], [3]]),
        (det([[0, 1], [0, 0]], mask=np.array([[True, False], [True, True]])), [[0], [1]], [[0]]),
        (det([[0, 1], [0, 0]]), [[0, 1]], [[0, 1]]),
    ],
    ids=["single", "communicating", "closed-pair", "two-absorbing", "masked-edge", "unmasked-edge"],
)
def test_hand_built_classes(model, comm, closed):
    for m in (model, model.to_sparse()):
        assert structure.communicating_classes(m) == comm
        assert structure.closed_classes(m) == closed
        assert structure.is_communicating(m) is (len(comm) == 1)


def test_explicit_zeros_in_csr_are_no_edges():
    """A stored 0.0 in the CSR matrix is not a transition: state 0 stays absorbing."""
    P = sp.csr_matrix((np.array([1.0, 0.0, 1.0]), np.array([0, 1, 0]), np.array([0, 2, 3])), shape=(2, 2))
    mdp = TabularMDP(P, np.zeros((2, 1)), 1.0)
    assert mdp.P.nnz == 3
    assert list(structure.transition_graph(mdp).edges) == [(0, 0), (1, 0)]
    assert structure.closed_classes(mdp) == [[0]]
    assert_array_equal(structure.absorbing_states(mdp), [True, False])
    assert_array_equal(structure.terminal_states(mdp), [True, False])


def test_multichain_policy_in_a_communicating_model():
    """Each state has 'stay' and 'switch': the model communicates, but 'always stay' has two
    recurrent classes (Puterman 1994, Sec. 8.3: communicating does not imply unichain)."""
    m = det([[0, 1], [1, 0]])
    assert structure.is_communicating(m)
    assert structure.closed_classes(m, [0, 0]) == [[0], [1]]
    assert not structure.is_unichain(m, [0, 0])
    assert structure.is_unichain(m, [1, 1]) and structure.is_unichain(m, [0, 1])
    assert_array_equal(structure.transient_states(m, [0, 1]), [False, True])


def _weakly_communicating_oracle(mdp: TabularMDP) -> bool:
    """Puterman 1994, Sec. 8.3.1, by enumeration: one closed class C of the model graph and,
    for every deterministic policy, every recurrent class of P_pi inside C."""
    _, closed = classes_oracle(adjacency(mdp))
    if len(closed) != 1:
        return False
    C = set(closed[0])
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(mdp.S)]):
        _, rec = classes_oracle(adjacency(mdp, np.array(pol)))
        if any(not set(r) <= C for r in rec):
            return False
    return True


@settings(max_examples=80)
@given(mdps(n_states=(1, 5), n_actions=(1, 3), sparse=None, masked=True))
def test_is_weakly_communicating_matches_enumeration(mdp):
    wc = structure.is_weakly_communicating(mdp)
    assert wc is _weakly_communicating_oracle(mdp)
    if structure.is_communicating(mdp):
        assert wc


def test_weakly_communicating_hand_built():
    assert structure.is_weakly_communicating(det([[1, 1], [2, 2], [1, 2]]))  # C = {1, 2}; 0 -> 1 always
    assert not structure.is_weakly_communicating(det([[0, 1], [1, 1]]))  # 0 can loop forever outside C = {1}
    assert not structure.is_weakly_communicating(det([[0], [1]]))  # two closed classes
    assert structure.is_weakly_communicating(det([[0, 1], [1, 1]], mask=np.array([[False, True], [True, True]])))


@settings(max_examples=60)
@given(model_st, st.data())
def test_closed_class_of_each_state_from_successor_lists(mdp, data):
    """The helper for callers without a TabularMDP (exact arithmetic) agrees with the closure
    oracle: each recurrent state maps to its closed class, each transient state to None."""
    from mdpkit.structure import closed_class_of_each_state

    pi = data.draw(policies(mdp), label="policy")
    adj = adjacency(mdp, pi)
    got = closed_class_of_each_state([np.flatnonzero(adj[s]).tolist() for s in range(mdp.S)])
    _, closed = classes_oracle(adj)
    expected = [None] * mdp.S
    for c in closed:
        for s in c:
            expected[s] = set(c)
    assert got == expected


# ---------------------------------------------------------------------------- absorbing / terminal
@settings(max_examples=60)
@given(model_st)
def test_absorbing_and_terminal_states_match_definition(mdp):
    P = mdp.P_dense()
    S = mdp.S
    off = P * (1 - np.eye(S))[:, None, :]
    absorbing = np.all((off.max(axis=2) == 0) | ~mdp.action_mask, axis=1)
    assert_array_equal(structure.absorbing_states(mdp), absorbing)
    zero = np.all((mdp.R == 0) | ~mdp.action_mask, axis=1)
    assert_array_equal(structure.terminal_states(mdp), absorbing & zero)
    # absorbing states are exactly the singleton closed classes with a self-loop
    for s in np.flatnonzero(absorbing):
        assert [int(s)] in structure.closed_classes(mdp)


# ---------------------------------------------------------------------------- reachability, distances
@settings(max_examples=60)
@given(model_st, st.data())
def test_reachable_states_and_steps_to_match_matrix_powers(mdp, data):
    S = mdp.S
    src = data.draw(st.lists(st.integers(0, S - 1), min_size=0, max_size=S), label="sources")
    use_policy = data.draw(st.booleans(), label="use_policy")
    pi = data.draw(policies(mdp), label="policy") if use_policy else None
    adj = adjacency(mdp, pi)
    reach = closure(adj)
    expected = reach[src].any(axis=0) if src else np.zeros(S, bool)
    assert_array_equal(structure.reachable_states(mdp, src, policy=pi), expected)
    # steps: d(s) = min k with (adj^k)[s, targets] nonzero
    tgt = np.zeros(S, bool)
    tgt[src] = True
    d = np.full(S, np.inf)
    Ak = np.eye(S, dtype=bool)
    for k in range(S + 1):
        hit = (Ak[:, tgt]).any(axis=1) & np.isinf(d)
        d[hit] = k
        Ak = (Ak.astype(np.int64) @ adj.astype(np.int64)) > 0
    assert_array_equal(structure.steps_to(mdp, src, policy=pi), d)
    assert_array_equal(structure.steps_to(mdp, tgt, policy=pi), d)


def test_reachable_states_default_to_mu0_support():
    m = det([[1], [1], [0]])
    assert_array_equal(m.mu0 > 0, [True, True, True])  # the default mu0 is uniform
    assert_array_equal(structure.reachable_states(m), [True, True, True])
    m0 = TabularMDP(m.P, m.R, 1.0, mu0=np.array([0.0, 0.0, 1.0]))
    assert_array_equal(structure.reachable_states(m0), [True, True, True])
    m1 = TabularMDP(m.P, m.R, 1.0, mu0=np.array([0.0, 1.0, 0.0]))
    assert_array_equal(structure.reachable_states(m1), [False, True, False])


# ---------------------------------------------------------------------------- properness
def _proper_oracle(mdp: TabularMDP, term: np.ndarray) -> bool:
    for pol in itertools.product(*[np.flatnonzero(mdp.action_mask[s]).tolist() for s in range(mdp.S)]):
        reach = closure(adjacency(mdp, np.array(pol)))
        if not reach[:, term].any(axis=1).all():
            return False
    return True


@settings(max_examples=60)
@given(mdps(n_states=(1, 5), n_actions=(1, 3), sparse=None, masked=True), st.data())
def test_all_policies_proper_matches_enumeration(mdp, data):
    term = structure.terminal_states(mdp)
    if not term.any():
        with pytest.raises(InvalidArgumentError, match="no absorbing zero-reward"):
            structure.all_policies_proper(mdp)
        return
    assert structure.all_policies_proper(mdp) is _proper_oracle(mdp, term)
    # a declared subset of the terminal states
    sub = term & np.array(data.draw(st.lists(st.booleans(), min_size=mdp.S, max_size=mdp.S)))
    if sub.any():
        assert structure.all_policies_proper(mdp, terminal=sub) is _proper_oracle(mdp, sub)
        assert structure.all_policies_proper(mdp, terminal=np.flatnonzero(sub)) is _proper_oracle(mdp, sub)


# ---------------------------------------------------------------------------- errors and imports
def test_argument_errors():
    m = det([[1], [0]])
    with pytest.raises(InvalidArgumentError, match="mdp must be a TabularMDP"):
        structure.closed_classes("model")
    with pytest.raises(InvalidArgumentError, match="needs a policy"):
        structure.is_unichain(m, None)
    with pytest.raises(InvalidPolicyError):
        structure.closed_classes(m, [0, 1])
    with pytest.raises(InvalidArgumentError, match=r"source states must be ids in \[0, 2\)"):
        structure.reachable_states(m, [2])
    with pytest.raises(InvalidArgumentError, match=r"target mask must have shape \(S,\) = \(2,\)"):
        structure.steps_to(m, np.array([True]))
    with pytest.raises(InvalidArgumentError, match="state 1 is declared terminal but is not absorbing"):
        structure.all_policies_proper(det([[0], [0]]), terminal=[1])


def test_import_mdpkit_does_not_load_networkx():
    code = ("import sys, mdpkit, mdpkit.structure; "
            "assert 'networkx' not in sys.modules, 'networkx loaded by import'")
    subprocess.run([sys.executable, "-c", code], check=True)

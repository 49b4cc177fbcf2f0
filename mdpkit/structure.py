r"""Structure of a tabular MDP: its transition graph, classes of states and model classification.

Every query here depends on the model only through the *support* of ``P`` (which transitions
have positive probability) and the action mask, never on the size of the probabilities, so the
answers are exact: no tolerance is involved (a stored zero in a CSR matrix is no transition).

Definitions (Puterman 1994, Appendix A.2 and Sec. 8.3; Kemeny & Snell 1960, Ch. II)
-----------------------------------------------------------------------------------
Let :math:`G` be a directed graph on the states with an edge :math:`s \to s'` when one step can
move :math:`s` to :math:`s'` with positive probability: under a given policy (the *policy
graph*, the graph of the Markov chain :math:`P_\pi`), or under some available action (the
*model graph*; it is the graph of any policy that plays every available action with positive
probability, e.g. uniformly at random, so every chain-theoretic definition below applies to it
through that policy).

accessible
    :math:`s'` is accessible from :math:`s` when there is a path :math:`s \to \dots \to s'` in
    :math:`G` (of length 0 included: every state is accessible from itself).
communicating class
    A class of the equivalence relation "each is accessible from the other": a strongly
    connected component of :math:`G`.  Singletons count (Kemeny & Snell 1960, Def. 2.4.1).
closed set
    No edge leaves it.  A *closed class* is a communicating class that is closed.  In a finite
    chain the closed classes are exactly the *recurrent classes*; their states are *recurrent*
    and every other state is *transient* (visited finitely often w.p. 1) (Puterman 1994,
    Sec. A.2; Kemeny & Snell 1960, Thm 3.1.1).
absorbing
    :math:`s` is absorbing when its only successor in :math:`G` is :math:`s` itself.
unichain / multichain policy
    :math:`P_\pi` has one recurrent class (plus possibly transient states) / more than one
    (Puterman 1994, Sec. 8.3).
communicating model
    For every pair :math:`s, s'` some deterministic stationary policy makes :math:`s'`
    accessible from :math:`s` (Puterman 1994, Sec. 8.3.1).  Equivalently the model graph is
    strongly connected: follow a shortest path, which visits each state once, so one action per
    state suffices.
weakly communicating model
    A closed set of states that communicate in the sense above, plus states that are transient
    under every policy (Puterman 1994, Sec. 8.3.1); the optimal gain is then constant.

Implementation and cost
-----------------------
The support is gathered once into a CSR adjacency (O(nnz(P)); dense: O(S^2 A)).  Classes,
reachability and step distances run on it in compiled code (strongly connected components and
breadth-first search of :mod:`scipy.sparse.csgraph`), linear in the number of edges: on a dense
S = 1000, A = 4 model this takes about 0.2 s where building the same graph in networkx and
condensing it takes about 8 s, and relative value iteration runs this check on every call.
:func:`transition_graph` returns a :class:`networkx.DiGraph` for anything else (networkx is
imported inside it, so ``import mdpkit`` does not load it).

References
----------
.. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Appendix A.2 and Sec. 8.3.
.. [2] J. G. Kemeny and J. L. Snell, *Finite Markov Chains*, Van Nostrand, 1960, Ch. II-III.
.. [3] D. P. Bertsekas and J. N. Tsitsiklis, "An analysis of stochastic shortest path
   problems", Math. Oper. Res. 16(3), 1991 (proper policies).
"""

from __future__ import annotations

import numpy as np

from ._exceptions import InvalidArgumentError
from .model import TabularMDP

__all__ = [
    "absorbing_states",
    "all_policies_proper",
    "check_terminal",
    "closed_class_of_each_state",
    "closed_classes",
    "communicating_classes",
    "is_communicating",
    "is_unichain",
    "is_weakly_communicating",
    "reachable_states",
    "recurrent_states",
    "steps_to",
    "terminal_states",
    "transient_states",
    "transition_graph",
]


# ----------------------------------------------------------------------------- plumbing
def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    return mdp


def _used(mdp: TabularMDP, policy) -> np.ndarray:
    """Bool (S, A): the actions that carry edges (available ones, or those the policy plays)."""
    if policy is None:
        return np.asarray(mdp.action_mask, dtype=bool)
    from .policies import check_policy

    pi = check_policy(mdp, policy)
    if pi.ndim == 1:
        used = np.zeros((mdp.S, mdp.A), dtype=bool)
        used[np.arange(mdp.S), pi] = True
        return used
    return pi > 0


def _adjacency(mdp: TabularMDP, policy=None):
    """CSR (S, S) adjacency with 1.0 at every positive-probability move, canonical format."""
    import scipy.sparse as sp

    S, A = mdp.S, mdp.A
    used = _used(mdp, policy)
    if mdp.is_sparse:
        P = mdp.P
        support = sp.csr_matrix(((P.data > 0).astype(np.float64), P.indices, P.indptr), shape=P.shape)
        cols = np.flatnonzero(used.reshape(-1))
        sel = sp.csr_matrix((np.ones(cols.size), (cols // A, cols)), shape=(S, S * A))
        adj = sp.csr_matrix(sel @ support)
    else:
        P = mdp.P
        dense = np.zeros((S, S), dtype=bool)
        for a in range(A):
            dense |= (P[:, a, :] > 0) & used[:, a, None]
        adj = sp.csr_matrix(dense, dtype=np.float64)
    adj.eliminate_zeros()
    adj.data[:] = 1.0
    adj.sort_indices()
    return adj


def _edges(mdp: TabularMDP, policy=None) -> tuple[np.ndarray, np.ndarray]:
    """Distinct edges ``(src, dst)`` (int64, sorted) of positive-probability one-step moves."""
    adj = _adjacency(mdp, policy)
    src = np.repeat(np.arange(mdp.S, dtype=np.int64), np.diff(adj.indptr))
    return src, adj.indices.astype(np.int64)


def _components(mdp: TabularMDP, policy=None):
    """(labels (S,), closed (n_comp,) bool): strongly connected components and which are closed."""
    from scipy.sparse import csgraph

    adj = _adjacency(mdp, policy)
    src = np.repeat(np.arange(mdp.S, dtype=np.int64), np.diff(adj.indptr))
    dst = adj.indices
    n, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    closed = np.ones(n, dtype=bool)
    leave = labels[src] != labels[dst]
    closed[labels[src[leave]]] = False
    return labels, closed


def _groups(labels: np.ndarray, keep: np.ndarray) -> list[list[int]]:
    """States grouped by component label (only labels with keep[label]), sorted by smallest member."""
    order = np.argsort(labels, kind="stable")
    bounds_ = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [g.tolist() for g in np.split(order, bounds_) if g.size and keep[labels[g[0]]]]
    return sorted(groups)


def _bfs_from(adj, start: np.ndarray) -> np.ndarray:
    """Breadth-first distances (float64 (S,), inf if unreachable) from the set ``start``.

    One search from a virtual node linked to every start state (scipy.sparse.csgraph).
    """
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    S = adj.shape[0]
    ids = np.flatnonzero(start)
    if ids.size == 0:
        return np.full(S, np.inf)
    link = sp.csr_matrix((np.ones(ids.size), (np.zeros(ids.size, dtype=np.int64), ids)), shape=(1, S))
    ext = sp.bmat([[sp.csr_matrix((1, 1)), link], [sp.csr_matrix((S, 1)), adj]], format="csr")
    d = csgraph.shortest_path(ext, directed=True, unweighted=True, indices=0)
    return d[1:] - 1.0


def closed_class_of_each_state(successors) -> list[set[int] | None]:
    """For a chain given by its successor lists (``successors[s]`` iterates the states reached
    from ``s`` with positive probability), each state's closed (recurrent) class, or None if the
    state is transient.  For callers without a :class:`~mdpkit.TabularMDP` (exact arithmetic)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    S = len(successors)
    src = np.array([s for s in range(S) for _ in successors[s]], dtype=np.int64)
    dst = np.array([t for s in range(S) for t in successors[s]], dtype=np.int64)
    adj = sp.csr_matrix((np.ones(src.size), (src, dst)), shape=(S, S))
    n, labels = csgraph.connected_components(adj, directed=True, connection="strong")
    closed = np.ones(n, dtype=bool)
    closed[labels[src[labels[src] != labels[dst]]]] = False
    members = {int(c): set(np.flatnonzero(labels == c).tolist()) for c in np.flatnonzero(closed)}
    return [members.get(int(labels[s])) for s in range(S)]


def _state_mask(mdp: TabularMDP, states, name: str) -> np.ndarray:
    """A bool (S,) mask from a bool mask or an iterable of state ids."""
    t = np.asarray(states)
    if t.dtype == bool:
        if t.shape != (mdp.S,):
            raise InvalidArgumentError(f"{name} mask must have shape (S,) = ({mdp.S},), got {t.shape}")
        return t.copy()
    if t.size and t.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} states must be a bool mask (S,) or integer ids, got dtype {t.dtype}")
    idx = t.astype(np.int64).ravel()
    if np.any((idx < 0) | (idx >= mdp.S)):
        raise InvalidArgumentError(f"{name} states must be ids in [0, {mdp.S}), got {t.tolist()}")
    m = np.zeros(mdp.S, dtype=bool)
    m[idx] = True
    return m


# ----------------------------------------------------------------------------- graph and classes
def transition_graph(mdp: TabularMDP, policy=None):
    r"""Directed graph of the one-step moves with positive probability.

    Edge :math:`s \to s'` iff :math:`P(s' \mid s, a) > 0` for some available action :math:`a`
    (``policy=None``, the *model graph*), or for some action the policy plays with positive
    probability (the graph of the chain :math:`P_\pi`).  Stored zeros of a CSR ``P`` are no
    edges; masked actions contribute none.

    Parameters
    ----------
    mdp : TabularMDP
        Dense ``P`` (S, A, S) or CSR (S*A, S).
    policy : array_like, optional
        Deterministic (S,) int or stochastic (S, A) float policy.

    Returns
    -------
    networkx.DiGraph
        Nodes ``0 .. S-1`` (all of them, isolated or not); edges without attributes.  Self-loops
        are edges.

    Raises
    ------
    InvalidArgumentError
        If ``mdp`` is not a :class:`~mdpkit.TabularMDP`.
    InvalidPolicyError
        If ``policy`` is invalid for ``mdp`` (:func:`mdpkit.policies.check_policy`).

    Notes
    -----
    Cost O(nnz(P)) to find the edges, plus networkx's per-edge overhead.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Appendix A.2.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit import TabularMDP
    >>> from mdpkit.structure import transition_graph
    >>> P = np.array([[[0.0, 1.0]], [[0.0, 1.0]]])      # 0 -> 1, 1 absorbing
    >>> sorted(transition_graph(TabularMDP(P, np.zeros((2, 1)), 1.0)).edges)
    [(0, 1), (1, 1)]
    """
    import networkx as nx  # lazy: import mdpkit loads numpy, scipy and numba only

    src, dst = _edges(_check_mdp(mdp), policy)
    G = nx.DiGraph()
    G.add_nodes_from(range(mdp.S))
    G.add_edges_from(zip(src.tolist(), dst.tolist()))
    return G


def communicating_classes(mdp: TabularMDP, policy=None) -> list[list[int]]:
    r"""Communicating classes: the strongly connected components of the transition graph.

    :math:`s` and :math:`s'` communicate when each is accessible from the other
    (:func:`transition_graph` of the model, or of ``policy``).  Every state lies in exactly one
    class; a state that reaches no state that reaches it back is a class of its own
    (Kemeny & Snell 1960, Def. 2.4.1; Puterman 1994, Appendix A.2).

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A); ``None`` for the model graph.

    Returns
    -------
    list of list of int
        Each class sorted, the list sorted by smallest member; together a partition of
        ``range(S)``.

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
        As :func:`transition_graph`.
    """
    labels, closed = _components(_check_mdp(mdp), policy)
    return _groups(labels, np.ones(closed.size, dtype=bool))


def closed_classes(mdp: TabularMDP, policy=None) -> list[list[int]]:
    r"""Closed communicating classes: the recurrent classes of the chain.

    A communicating class is closed when no edge of the transition graph leaves it.  With a
    ``policy`` these are the recurrent classes of :math:`P_\pi` (in a finite chain a class is
    recurrent iff it is closed; Puterman 1994, Appendix A.2; Kemeny & Snell 1960, Thm 3.1.1).
    With ``policy=None`` they are the closed classes of the model graph: sets that no action
    can leave.  Two or more of them make every policy multichain (each policy has a recurrent
    class inside each one), so the optimal gain may depend on the state.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A); ``None`` for the model graph.

    Returns
    -------
    list of list of int
        Each class sorted, the list sorted by smallest member; never empty (a finite chain has
        at least one recurrent class).

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
        As :func:`transition_graph`.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit import TabularMDP
    >>> from mdpkit.structure import closed_classes
    >>> P = np.zeros((3, 1, 3)); P[0, 0, [1, 2]] = 0.5; P[1, 0, 1] = P[2, 0, 2] = 1.0
    >>> closed_classes(TabularMDP(P, np.zeros((3, 1)), 1.0))
    [[1], [2]]
    """
    labels, closed = _components(_check_mdp(mdp), policy)
    return _groups(labels, closed)


def recurrent_states(mdp: TabularMDP, policy=None) -> np.ndarray:
    r"""Bool mask (S,) of the recurrent states: those in a closed class (:func:`closed_classes`).

    With a ``policy``: the states :math:`P_\pi` visits infinitely often w.p. 1 once it has visited
    them (Puterman 1994, Appendix A.2).  With ``policy=None``: the states of the model graph's
    closed classes, i.e. recurrent under any policy that plays every available action with
    positive probability.

    Returns
    -------
    ndarray of bool, shape (S,)
    """
    labels, closed = _components(_check_mdp(mdp), policy)
    return closed[labels]


def transient_states(mdp: TabularMDP, policy=None) -> np.ndarray:
    r"""Bool mask (S,) of the transient states: the complement of :func:`recurrent_states`.

    A transient state is visited finitely often w.p. 1 from any start (Puterman 1994,
    Appendix A.2); in the graph it reaches some state that cannot reach it back.

    Returns
    -------
    ndarray of bool, shape (S,)
    """
    return ~recurrent_states(mdp, policy)


def absorbing_states(mdp: TabularMDP, policy=None) -> np.ndarray:
    r"""Bool mask (S,) of the absorbing states: :math:`P(s \mid s, a) = 1` under every available
    action (``policy=None``) or every action the policy plays.

    Judged on the support: :math:`s` is absorbing when :math:`s` is its only positive-probability
    successor (so the row equals the unit vector up to the model's row-sum tolerance).

    Returns
    -------
    ndarray of bool, shape (S,)
    """
    _check_mdp(mdp)
    src, dst = _edges(mdp, policy)
    leaves = np.zeros(mdp.S, dtype=bool)
    leaves[src[src != dst]] = True
    return ~leaves


def terminal_states(mdp: TabularMDP) -> np.ndarray:
    r"""Bool mask (S,) of the terminal states: absorbing with zero reward under every available action.

    :math:`P(s \mid s, a) = 1` (on the support, :func:`absorbing_states`) and :math:`R(s, a) = 0`
    for every available :math:`a`.  These are the states at which a total-reward (stochastic
    shortest path) problem ends: staying there earns nothing (Bertsekas & Tsitsiklis 1991).

    Returns
    -------
    ndarray of bool, shape (S,)

    Raises
    ------
    InvalidArgumentError
        If ``mdp`` is not a :class:`~mdpkit.TabularMDP`.
    """
    absorbing = absorbing_states(mdp)
    return absorbing & np.all((np.asarray(mdp.R) == 0.0) | ~mdp.action_mask, axis=1)


def is_unichain(mdp: TabularMDP, policy) -> bool:
    r"""True when the chain :math:`P_\pi` has exactly one recurrent class (Puterman 1994, Sec. 8.3).

    Transient states are allowed.  Whether *every* policy of a model is unichain (a unichain
    model) is NP-hard to decide in general (Tsitsiklis 2007), so this query takes one policy.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like
        Deterministic (S,) or stochastic (S, A).

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
        As :func:`transition_graph`.

    References
    ----------
    .. [1] J. N. Tsitsiklis, "NP-hardness of checking the unichain condition in average cost
       MDPs", Oper. Res. Lett. 35(3), 2007.
    """
    if policy is None:
        raise InvalidArgumentError("is_unichain needs a policy (deciding it for every policy is NP-hard)")
    return len(closed_classes(mdp, policy)) == 1


def is_communicating(mdp: TabularMDP) -> bool:
    r"""True when the model is communicating (Puterman 1994, Sec. 8.3.1).

    Every state is accessible from every other under some deterministic stationary policy;
    equivalently the model graph (:func:`transition_graph`) is strongly connected.  A
    communicating model has a constant optimal gain.
    """
    return len(communicating_classes(mdp)) == 1


def reachable_states(mdp: TabularMDP, sources=None, policy=None) -> np.ndarray:
    r"""Bool mask (S,) of the states accessible from ``sources`` (in zero or more steps).

    Under some policy (``policy=None``: along the model graph) or under ``policy``.

    Parameters
    ----------
    mdp : TabularMDP
    sources : bool mask (S,) or state ids, optional
        Start states; default the support of ``mdp.mu0``.
    policy : array_like, optional

    Returns
    -------
    ndarray of bool, shape (S,)

    Raises
    ------
    InvalidArgumentError
        If ``sources`` has the wrong shape or holds ids outside ``[0, S)``.
    """
    _check_mdp(mdp)
    start = (np.asarray(mdp.mu0) > 0) if sources is None else _state_mask(mdp, sources, "source")
    return np.isfinite(_bfs_from(_adjacency(mdp, policy), start))


def steps_to(mdp: TabularMDP, targets, policy=None) -> np.ndarray:
    r"""Fewest one-step moves with positive probability from each state to the set ``targets``.

    :math:`d(s) = \min\{k : \Pr(s_k \in \text{targets} \mid s_0 = s) > 0\}` for some policy
    (``policy=None``) or for ``policy``; 0 on the targets, ``inf`` when they are not accessible.
    Breadth-first search on the reversed transition graph.

    Parameters
    ----------
    mdp : TabularMDP
    targets : bool mask (S,) or state ids
    policy : array_like, optional

    Returns
    -------
    ndarray of float64, shape (S,)
    """
    _check_mdp(mdp)
    tgt = _state_mask(mdp, targets, "target")
    return _bfs_from(_adjacency(mdp, policy).T.tocsr(), tgt)


# ----------------------------------------------------------------------------- total reward
def check_terminal(mdp: TabularMDP, terminal=None) -> np.ndarray:
    """Validated terminal mask (S,) bool: ``terminal`` (bool mask or state ids) or, if None,
    :func:`terminal_states`.

    Raises
    ------
    InvalidArgumentError
        If a declared state is not absorbing with zero reward, or there is no terminal state.
    """
    auto = terminal_states(mdp)
    if terminal is None:
        term = auto
    else:
        term = _state_mask(mdp, terminal, "terminal")
        if np.any(term & ~auto):
            s = int(np.flatnonzero(term & ~auto)[0])
            raise InvalidArgumentError(f"state {s} is declared terminal but is not absorbing with zero reward")
    if not term.any():
        raise InvalidArgumentError("the model has no absorbing zero-reward (terminal) state")
    return term


def all_policies_proper(mdp: TabularMDP, terminal=None) -> bool:
    r"""True when every policy is *proper*: it reaches the terminal set w.p. 1 from every state.

    A policy is proper when the terminal set is accessible from every state in its chain
    (Bertsekas & Tsitsiklis 1991).  Some deterministic policy is improper iff a non-empty set
    :math:`C` of non-terminal states exists in which every state has an available action
    whose successors all stay in :math:`C` (that policy stays in :math:`C` forever).  The
    largest such set is the fixpoint of "drop the states with no such action", started from all
    non-terminal states; every policy (stochastic ones too: their support contains a
    deterministic policy's) is proper iff it is empty.  A graph fixpoint on the support of
    ``P``: exact, O(nnz(P)) per round, at most S rounds.

    Parameters
    ----------
    mdp : TabularMDP
    terminal : bool mask (S,) or state ids, optional
        Terminal states; default :func:`terminal_states`.

    Returns
    -------
    bool

    Raises
    ------
    InvalidArgumentError
        If there is no terminal state, or a declared one is not absorbing with zero reward.
    """
    term = check_terminal(_check_mdp(mdp), terminal)
    return not _trap(mdp, ~term).any()


def _trap(mdp: TabularMDP, region: np.ndarray) -> np.ndarray:
    """Largest subset of ``region`` that some deterministic policy can stay in forever.

    Fixpoint of "drop the states with no available action whose successors all stay in the
    set", started from ``region``; at most S rounds of O(nnz(P)).
    """
    import scipy.sparse as sp

    S, A = mdp.S, mdp.A
    P = sp.csr_matrix(mdp.P_rows)
    support = sp.csr_matrix(((P.data > 0).astype(float), P.indices, P.indptr), shape=P.shape)
    C = np.asarray(region, dtype=bool).copy()
    while True:
        leave = (support @ (~C).astype(float)).reshape(S, A) > 0
        C_new = C & (mdp.action_mask & ~leave).any(axis=1)
        if np.array_equal(C_new, C):
            return C
        C = C_new


def is_weakly_communicating(mdp: TabularMDP) -> bool:
    r"""True when the model is weakly communicating (Puterman 1994, Sec. 8.3.1).

    Definition: there is a closed set :math:`C` in which every state is accessible from every
    other under some deterministic stationary policy, and every state outside :math:`C` is
    transient under every policy.  In such a model the optimal gain is constant
    (Puterman 1994, Thm 8.3.2), the setting of relative value iteration.

    Computed as: the model graph has exactly one closed class :math:`C`
    (:func:`closed_classes`), and no policy can stay outside :math:`C` forever (the largest set
    outside :math:`C` that some action choice never leaves is empty; see
    :func:`all_policies_proper` for the fixpoint).  Both conditions are necessary: a second
    closed class contains a recurrent class of every policy, outside any communicating
    :math:`C`; a set outside :math:`C` that a policy never leaves contains a recurrent class of
    that policy.  They are sufficient: a recurrent
    class of a policy is closed under it, cannot contain a state of :math:`C` and a state
    outside (nothing leaves :math:`C`), and cannot lie outside :math:`C`.

    Returns
    -------
    bool
    """
    classes = closed_classes(mdp)
    if len(classes) != 1:
        return False
    outside = np.ones(mdp.S, dtype=bool)
    outside[classes[0]] = False
    return not _trap(mdp, outside).any()

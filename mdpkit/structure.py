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

Quantities (each function's docstring names its definition and source)
-----------------------------------------------------------------------
:func:`classify` (model or policy: recurrent / unichain / multichain / communicating / weakly
communicating, Puterman 1994 Sec. 8.3), :func:`periods` (period of each recurrent class),
:func:`diameter` (Jaksch, Ortner & Auer 2010, certified bracket, argmax pair),
:func:`optimal_bias` (span of the optimal bias), :func:`dobrushin_coefficient`,
:func:`stationary_distribution`, :func:`mixing_time` (exact from matrix powers, spectral bounds for
reversible chains), :func:`distribution_mismatch`, :func:`concentrability` (Munos &
Szepesvari 2008), :func:`action_gaps` (gaps and numbers of optimal actions).  The effective
horizon and k-QVI live in :mod:`mdpkit.effective_horizon`.

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
from ._record import SlotsRecord

__all__ = [
    "ActionGaps",
    "BiasSpanResult",
    "Classification",
    "ConcentrabilityResult",
    "DiameterResult",
    "MixingResult",
    "absorbing_states",
    "action_gaps",
    "all_policies_proper",
    "check_terminal",
    "classify",
    "closed_class_of_each_state",
    "closed_classes",
    "communicating_classes",
    "concentrability",
    "diameter",
    "distribution_mismatch",
    "dobrushin_coefficient",
    "is_communicating",
    "is_unichain",
    "is_weakly_communicating",
    "mixing_time",
    "optimal_bias",
    "periods",
    "reachable_states",
    "recurrent_states",
    "stationary_distribution",
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


# ============================================================================= periodicity, classification
def periods(mdp: TabularMDP, policy=None) -> list[int]:
    r"""Period of each closed (recurrent) class, in the order of :func:`closed_classes`.

    The period of a communicating class :math:`C` is
    :math:`d = \gcd\{n \ge 1 : (P^n)_{ss} > 0\}` for any :math:`s \in C` (the same for every
    member; Kemeny & Snell 1960, Sec. 2.4; Levin, Peres & Wilmer 2017, Sec. 1.3, Lemma 1.6
    (number not checked against the text)).  A class with :math:`d = 1` is aperiodic.
    Computed on the support graph: with breadth-first levels :math:`\ell` from one member,
    :math:`d = \gcd_{(u \to v) \text{ inside } C} |\ell(u) + 1 - \ell(v)|` (every closed walk's
    length is a sum of such terms and the tree edges contribute 0).  Exact, O(edges).

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A); ``None`` for the model graph (the chain of any
        policy that plays every available action with positive probability).

    Returns
    -------
    list of int
        ``periods[i]`` is the period of ``closed_classes(mdp, policy)[i]``.

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
        As :func:`transition_graph`.
    """
    from scipy.sparse import csgraph

    _check_mdp(mdp)
    adj = _adjacency(mdp, policy)
    out = []
    for cls in closed_classes(mdp, policy):
        idx = np.asarray(cls, dtype=np.int64)
        sub = adj[idx][:, idx].tocsr()
        lev = csgraph.shortest_path(sub, directed=True, unweighted=True, indices=0)
        src = np.repeat(np.arange(idx.size), np.diff(sub.indptr))
        diff = np.abs(lev[src] + 1.0 - lev[sub.indices]).astype(np.int64)
        out.append(int(np.gcd.reduce(diff)) if diff.size else 0)
    return out


class Classification(SlotsRecord):
    r"""The chain structure of a model (``policy=None``) or of one policy's chain.

    Attributes
    ----------
    communicating_classes, closed_classes : list of list of int
        As :func:`communicating_classes` and :func:`closed_classes`.
    transient : ndarray of bool, shape (S,)
        States in no closed class.
    periods : list of int
        Period of each closed class (:func:`periods`); all 1 means aperiodic.
    policy_given : bool
        True when the classification is of ``P_pi`` for a given policy.
    communicating, weakly_communicating : bool or None
        The model properties of Puterman 1994, Sec. 8.3.1 (``None`` for a policy).
    unichain : bool or None
        Policy: ``P_pi`` has exactly one recurrent class.  Model: every deterministic stationary
        policy is unichain (Puterman 1994, Sec. 8.3); decided by enumeration of the
        deterministic policies when there are at most ``max_policies`` of them, or refuted at
        once when the model graph has two closed classes; ``None`` when not decided (deciding
        it is NP-hard in general, Tsitsiklis 2007).
    recurrent : bool or None
        Policy: ``P_pi`` is irreducible (one class, no transient state).  Model: every
        deterministic stationary policy is irreducible (Puterman's *recurrent* model); decided
        like ``unichain``.
    n_policies_checked : int
        Deterministic policies enumerated (0 when none was needed).
    label : str
        The applicable names, most specific first.
    """

    __slots__ = ("communicating_classes", "closed_classes", "transient", "periods", "policy_given",
                 "communicating", "weakly_communicating", "unichain", "recurrent", "n_policies_checked", "label")


    @property
    def aperiodic(self) -> bool:
        """All closed classes have period 1."""
        return all(p == 1 for p in self.periods)

    def to_dict(self) -> dict:
        """JSON-ready dictionary of every field."""
        d = {k: getattr(self, k) for k in self.__slots__}
        d["transient"] = np.flatnonzero(self.transient).tolist()
        d["aperiodic"] = self.aperiodic
        return d

    def __repr__(self) -> str:
        return (f"Classification({self.label!r}, closed_classes={len(self.closed_classes)}, "
                f"transient={int(self.transient.sum())}, periods={self.periods})")


def classify(mdp: TabularMDP, policy=None, *, max_policies: int = 4096) -> Classification:
    r"""Classify a model or one policy's chain (Puterman 1994, Sec. 8.3; Kemeny & Snell 1960, Ch. II).

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A).  ``None`` classifies the model.
    max_policies : int, default 4096
        Largest number of deterministic policies enumerated to decide whether the *model* is
        unichain / recurrent; above it those fields are ``None`` unless the model graph's two
        closed classes already refute them.

    Returns
    -------
    Classification

    Raises
    ------
    InvalidArgumentError
        ``mdp`` is not a TabularMDP or ``max_policies < 0``.
    InvalidPolicyError
        As :func:`transition_graph`.

    Notes
    -----
    Puterman's model classes (Sec. 8.3.1): *recurrent* (every deterministic policy irreducible)
    implies *unichain* (every deterministic policy has one recurrent class) and *communicating*;
    *communicating* implies *weakly communicating*; a model that is not unichain is
    *multichain*.  The model classes quantify over deterministic stationary policies, as in
    Puterman; stochastic policies are classified one at a time with ``policy=``.
    """
    _check_mdp(mdp)
    if int(max_policies) < 0:
        raise InvalidArgumentError(f"max_policies must be >= 0, got {max_policies}")
    labels, closed = _components(mdp, policy)
    comm = _groups(labels, np.ones(closed.size, dtype=bool))
    cl = _groups(labels, closed)
    transient = ~closed[labels]
    per = periods(mdp, policy)
    n_checked = 0
    if policy is not None:
        uni = len(cl) == 1
        rec = uni and not transient.any()
        names = ["irreducible" if rec else ("unichain" if uni else "multichain")]
        names.append("aperiodic" if all(p == 1 for p in per) else "periodic (period " + ", ".join(map(str, per)) + ")")
        return Classification(communicating_classes=comm, closed_classes=cl, transient=transient, periods=per,
                              policy_given=True, communicating=None, weakly_communicating=None, unichain=uni,
                              recurrent=rec, n_policies_checked=0, label=", ".join(names))
    communicating = len(comm) == 1
    weak = is_weakly_communicating(mdp)
    uni: bool | None
    rec: bool | None
    if len(cl) >= 2:
        uni, rec = False, False
    else:
        n_pol = 1
        avail = [np.flatnonzero(mdp.action_mask[s]) for s in range(mdp.S)]
        for a in avail:
            n_pol *= len(a)
            if n_pol > int(max_policies):
                break
        if n_pol > int(max_policies):
            uni = rec = None
            if not communicating:
                rec = False  # a recurrent model is communicating
        else:
            import itertools

            uni, rec = True, communicating
            for pol in itertools.product(*avail):
                n_checked += 1
                lab, clo = _components(mdp, np.asarray(pol, dtype=np.int64))
                k = int(clo.sum())
                if k != 1:
                    uni = rec = False
                    break
                if rec and not clo[lab].all():
                    rec = False
    names = []
    if rec:
        names.append("recurrent")
    if uni:
        names.append("unichain")
    elif uni is False:
        names.append("multichain")
    else:
        names.append("unichain undecided")
    names.append("communicating" if communicating else ("weakly communicating" if weak else "not weakly communicating"))
    return Classification(communicating_classes=comm, closed_classes=cl, transient=transient, periods=per,
                          policy_given=False, communicating=communicating, weakly_communicating=weak, unichain=uni,
                          recurrent=rec, n_policies_checked=n_checked, label=", ".join(names))


# ============================================================================= diameter
class DiameterResult(SlotsRecord):
    r"""The diameter of a communicating MDP with a certified bracket (see :func:`diameter`).

    Attributes
    ----------
    D : float
        Midpoint of ``[D_lower, D_upper]`` (``inf`` for a non-communicating model), in steps.
    D_lower, D_upper : float
        Certified bracket: :math:`D_{lower} \le D \le D_{upper}`.
    pair : tuple of int
        ``(s, t)`` attaining the lower bound of the maximum (for ``inf``: a pair with ``t`` not
        reachable from ``s``).
    hitting_times, hitting_times_upper : ndarray (S, S) or None
        ``[s, t]``: lower and upper bounds on :math:`\min_\pi E[\tau_t \mid s_0 = s]`.
    n_iter : ndarray of int64 (S,)
        Sweeps per target.
    converged : bool
        Every target's bracket closed to ``rtol``.
    definition : str
    """

    __slots__ = ("D", "D_lower", "D_upper", "pair", "hitting_times", "hitting_times_upper", "n_iter", "converged",
                 "definition")


    def __float__(self) -> float:
        return float(self.D)

    def __repr__(self) -> str:
        return f"DiameterResult(D={self.D!r}, bracket=[{self.D_lower!r}, {self.D_upper!r}], pair={self.pair})"


DIAMETER_DEFINITION = ("D = max_{s != t} min_pi E[tau_t | s_0 = s], tau_t the first time t is reached "
                       "(Jaksch, Ortner & Auer 2010, Def. 1)")


def _support_csr(mdp: TabularMDP):
    """CSR (S*A, S) of ``P`` with int64 indices and float64 data (stored zeros dropped)."""
    import scipy.sparse as sp

    M = sp.csr_matrix(mdp.P_rows, dtype=np.float64, copy=True)
    M.eliminate_zeros()
    return (np.ascontiguousarray(M.indptr, dtype=np.int64), np.ascontiguousarray(M.indices, dtype=np.int64),
            np.ascontiguousarray(M.data, dtype=np.float64))


def diameter(mdp: TabularMDP, *, rtol: float = 1e-9, max_iter: int = 1_000_000) -> DiameterResult:
    r"""Diameter :math:`D = \max_{s \ne t} \min_\pi E[\tau_t \mid s_0 = s]` (Jaksch, Ortner & Auer 2010).

    The worst-case over pairs of the smallest expected number of steps to move from ``s`` to
    ``t`` (Jaksch, Ortner & Auer 2010, Def. 1 (number not checked against the text)).
    Finite iff the model is communicating (:func:`is_communicating`); otherwise ``inf`` with a
    pair ``(s, t)`` such that ``t`` is not accessible from ``s``.

    For each target ``t`` the minimal hitting times solve a stochastic shortest-path problem
    with unit costs; value iteration from 0 gives lower bounds, and once a sweep moves every
    state by at most ``c < 1`` the greedy policy is proper with expected hitting times at most
    ``h_k / (1 - c)`` (a Lyapunov argument, derived in
    :func:`mdpkit._kernels.structure.hitting_times`), an upper bound.  Each target stops when
    its bracket is narrower than ``rtol * max(1, max_s h)``.  One compiled loop over targets.

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR; ``gamma`` and ``R`` are ignored.
    rtol : float, default 1e-9
        Relative width of the certified bracket on every hitting time.
    max_iter : int, default 1_000_000
        Sweeps per target; when reached, ``converged`` is False and the bracket is still valid
        (the upper bound may be ``inf``).

    Returns
    -------
    DiameterResult
        ``D`` in steps, ``pair`` the maximising ``(s, t)``, the bracket and the hitting-time
        matrices.  A single-state model has ``D = 0``.

    Raises
    ------
    InvalidArgumentError
        ``mdp`` is not a TabularMDP, ``rtol <= 0`` or ``max_iter < 1``.

    Notes
    -----
    Cost O(S * nnz(P) * sweeps); the number of sweeps grows like the hitting times times
    ``log(1/rtol)``.

    References
    ----------
    .. [1] T. Jaksch, R. Ortner and P. Auer, "Near-optimal regret bounds for reinforcement
       learning", JMLR 11:1563-1600, 2010.
    .. [2] D. P. Bertsekas and J. N. Tsitsiklis, "An analysis of stochastic shortest path
       problems", Math. Oper. Res. 16(3), 1991.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit import TabularMDP
    >>> from mdpkit.structure import diameter
    >>> P = np.zeros((2, 1, 2)); P[0, 0] = [0.5, 0.5]; P[1, 0] = [1.0, 0.0]
    >>> round(diameter(TabularMDP(P, np.zeros((2, 1)), 1.0)).D, 9)    # 0 -> 1 takes 2 steps on average
    2.0
    """
    from ._kernels import structure as kern

    _check_mdp(mdp)
    rtol = float(rtol)
    if not (rtol > 0 and np.isfinite(rtol)):
        raise InvalidArgumentError(f"rtol must be a positive finite number, got {rtol!r}")
    if int(max_iter) < 1:
        raise InvalidArgumentError(f"max_iter must be >= 1, got {max_iter}")
    S = mdp.S
    if S == 1:
        z = np.zeros((1, 1))
        return DiameterResult(D=0.0, D_lower=0.0, D_upper=0.0, pair=(0, 0), hitting_times=z, hitting_times_upper=z,
                              n_iter=np.zeros(1, dtype=np.int64), converged=True, definition=DIAMETER_DEFINITION)
    if not is_communicating(mdp):
        adj = _adjacency(mdp)
        for t in range(S):
            d = _bfs_from(adj.T.tocsr(), np.arange(S) == t)
            if np.isinf(d).any():
                s = int(np.flatnonzero(np.isinf(d))[0])
                return DiameterResult(D=np.inf, D_lower=np.inf, D_upper=np.inf, pair=(s, t), hitting_times=None,
                                      hitting_times_upper=None, n_iter=np.zeros(S, dtype=np.int64), converged=True,
                                      definition=DIAMETER_DEFINITION)
    indptr, indices, data = _support_csr(mdp)
    mask1 = np.array(mdp.action_mask.reshape(-1), dtype=np.bool_, copy=True)  # writable: one kernel signature
    targets = np.arange(S, dtype=np.int64)
    low = np.empty((S, S))
    up = np.empty((S, S))
    iters = np.empty(S, dtype=np.int64)
    kern.hitting_times(indptr, indices, data, mask1, np.int64(S), np.int64(mdp.A), targets, np.float64(rtol),
                       np.int64(max_iter), low, up, iters)
    lower, upper = low.T.copy(), up.T.copy()  # [s, t]
    np.fill_diagonal(lower, 0.0)
    np.fill_diagonal(upper, 0.0)
    s, t = np.unravel_index(int(np.argmax(lower)), lower.shape)
    D_lo, D_up = float(lower.max()), float(upper.max())
    return DiameterResult(D=0.5 * (D_lo + D_up) if np.isfinite(D_up) else D_lo, D_lower=D_lo, D_upper=D_up,
                          pair=(int(s), int(t)), hitting_times=lower, hitting_times_upper=upper, n_iter=np.abs(iters),
                          converged=bool(np.all(iters > 0)), definition=DIAMETER_DEFINITION)


# ============================================================================= optimal bias span
class BiasSpanResult(SlotsRecord):
    r"""Span of a solution of the average-reward optimality equation (see :func:`optimal_bias`).

    Attributes
    ----------
    h : ndarray (S,)
        Relative values with ``h[ref_state] = 0``.
    span : float
        :math:`\operatorname{sp}(h) = \max h - \min h`, reward units.
    gain_lower, gain_upper : float
        Certified bracket on the optimal gain :math:`g^*` (reward per step).
    residual : float
        :math:`\operatorname{sp}(Th - h)` of the untransformed model: 0 for an exact solution.
    n_iter : int
    converged : bool
    definition : str
    """

    __slots__ = ("h", "span", "gain_lower", "gain_upper", "residual", "n_iter", "converged", "definition")


    def __repr__(self) -> str:
        return f"BiasSpanResult(span={self.span!r}, gain in [{self.gain_lower!r}, {self.gain_upper!r}])"


BIAS_SPAN_DEFINITION = ("sp(h*) = max h* - min h*, h* a solution of h + g* = max_a [R + P h] "
                        "(Puterman 1994, Sec. 8.4; Bartlett & Tewari 2009)")


def optimal_bias(mdp: TabularMDP, *, tol: float = 1e-10, tau: float = 0.5, ref_state: int = 0,
                 max_iter: int = 1_000_000) -> BiasSpanResult:
    r"""Span of the optimal bias :math:`\operatorname{sp}(h^*)` by relative value iteration.

    Relative value iteration on the aperiodicity-transformed model
    :math:`\tilde P = \tau P + (1-\tau) I` (same gain, relative values :math:`h = \tau\tilde h`;
    Puterman 1994, Sec. 8.5.4-8.5.5) until :math:`\operatorname{sp}(\tilde T w - w) < tol`.
    The gain bracket :math:`\min(\tilde Tw - w) \le g^* \le \max(\tilde Tw - w)` is certified
    (Puterman 1994, Thm 8.5.5; number not checked against the text).  ``h`` solves the
    optimality equation :math:`h + g = \max_a[R + Ph]` up to ``residual``; when an optimal
    policy is multichain the equation has several normalised solutions and this is the one
    relative value iteration reaches.

    Parameters
    ----------
    mdp : TabularMDP
        Weakly communicating (one closed class and nothing else recurrent under any policy:
        :func:`is_weakly_communicating`), so that :math:`g^*` is constant.  ``gamma`` ignored.
    tol : float, default 1e-10
        Stopping threshold on the span of the transformed residual (reward units).
    tau : float in (0, 1], default 0.5
    ref_state : int, default 0
    max_iter : int, default 1_000_000

    Returns
    -------
    BiasSpanResult

    Raises
    ------
    InvalidArgumentError
        The model is not weakly communicating, or a parameter is out of range.
    """
    from .policies import bellman_operator

    _check_mdp(mdp)
    if not (0.0 < float(tau) <= 1.0):
        raise InvalidArgumentError(f"tau must lie in (0, 1], got {tau!r}")
    if not (float(tol) > 0):
        raise InvalidArgumentError(f"tol must be > 0, got {tol!r}")
    if not (0 <= int(ref_state) < mdp.S):
        raise InvalidArgumentError(f"ref_state must be in [0, {mdp.S}), got {ref_state}")
    if not is_weakly_communicating(mdp):
        raise InvalidArgumentError("optimal_bias needs a weakly communicating model (the optimal gain must be "
                                   "constant); see mdpkit.structure.classify")
    import scipy.sparse as sp

    S, A = mdp.S, mdp.A
    tau = float(tau)
    if mdp.is_sparse:
        eye = sp.csr_matrix((np.ones(S * A), (np.arange(S * A), np.repeat(np.arange(S), A))), shape=(S * A, S))
        Pt = sp.csr_matrix(tau * sp.csr_matrix(mdp.P_rows) + (1.0 - tau) * eye)
    else:
        Pt = tau * mdp.P_dense() + (1.0 - tau) * np.eye(S)[:, None, :]
    mt = TabularMDP(Pt, np.asarray(mdp.R), 1.0, action_mask=mdp.action_mask)
    w = np.zeros(S)
    ref = int(ref_state)
    converged = False
    k = 0
    lo = hi = 0.0
    for k in range(1, int(max_iter) + 1):
        tw = bellman_operator(mt, w)[0]
        d = tw - w
        lo, hi = float(d.min()), float(d.max())
        w = tw - tw[ref]
        if hi - lo < tol:
            converged = True
            break
    h = tau * w
    th = bellman_operator(mdp.with_gamma(1.0) if mdp.gamma != 1.0 else mdp, h)[0] - h
    return BiasSpanResult(h=h, span=float(h.max() - h.min()), gain_lower=lo, gain_upper=hi,
                          residual=float(th.max() - th.min()), n_iter=k, converged=converged,
                          definition=BIAS_SPAN_DEFINITION)


# ============================================================================= chains: Dobrushin, mixing
def _chain(mdp_or_P, policy=None) -> np.ndarray:
    """Dense row-stochastic (S, S) matrix of a chain: ``P_pi`` of an MDP, or a given matrix."""
    if isinstance(mdp_or_P, TabularMDP):
        if policy is None:
            raise InvalidArgumentError("a policy is needed to form the chain P_pi of an MDP")
        from .policies import policy_matrices

        P, _ = policy_matrices(mdp_or_P, policy)
        P = P.toarray() if hasattr(P, "toarray") else np.asarray(P)
        return np.asarray(P, dtype=np.float64)
    P = mdp_or_P.toarray() if hasattr(mdp_or_P, "toarray") else np.asarray(mdp_or_P, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
        raise InvalidArgumentError(f"a chain must be a square (S, S) matrix, got shape {P.shape}")
    if not np.all(np.isfinite(P)) or (P < 0).any():
        raise InvalidArgumentError("a chain must have finite non-negative entries")
    bad = np.abs(P.sum(axis=1) - 1.0) > 1e-8
    if bad.any():
        s = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(f"row {s} of the chain sums to {P[s].sum()!r}, expected 1 within 1e-8")
    return P


def dobrushin_coefficient(mdp_or_P, policy=None) -> float:
    r"""Dobrushin's ergodicity coefficient :math:`\delta(P) = \tfrac12 \max_{i,j} \|P_{i\cdot} - P_{j\cdot}\|_1`.

    Equivalently :math:`1 - \min_{i,j}\sum_k \min(P_{ik}, P_{jk})`.  It is the contraction
    factor of the chain in total variation,
    :math:`\|\mu P - \nu P\|_{TV} \le \delta(P)\,\|\mu - \nu\|_{TV}`, and of the span seminorm,
    :math:`\operatorname{sp}(P v) \le \delta(P)\operatorname{sp}(v)` (Dobrushin 1956;
    Seneta 2006, Sec. 3.1, Thm 3.1 (number not checked against the text)).  For the
    model-level coefficient over all state-action rows see
    :func:`mdpkit.bounds.span_contraction_coefficient`.

    Parameters
    ----------
    mdp_or_P : TabularMDP or array_like (S, S)
        A model (with ``policy``: the chain :math:`P_\pi`) or a row-stochastic matrix.
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A); required with a model.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    InvalidArgumentError
        Not a square stochastic matrix, or a model without a policy.
    InvalidPolicyError
        Invalid policy.
    """
    P = _chain(mdp_or_P, policy)
    S = P.shape[0]
    worst = 0.0
    chunk = max(1, 2_000_000 // max(1, S * S))
    for i0 in range(0, S, chunk):
        ov = np.minimum(P[i0:i0 + chunk, None, :], P[None, :, :]).sum(axis=2)
        worst = max(worst, float(1.0 - ov.min()))
    return float(min(max(worst, 0.0), 1.0))


class MixingResult(SlotsRecord):
    r"""Mixing time of an ergodic chain (see :func:`mixing_time`).

    Attributes
    ----------
    t_mix : int or float
        :math:`\min\{t : d(t) \le \varepsilon\}`, or ``inf`` if not reached within ``t_max``.
    epsilon : float
    d : ndarray (n,)
        :math:`d(t) = \max_s \|P^t(s, \cdot) - \pi\|_{TV}` for ``t = 0 .. n-1``.
    stationary : ndarray (S,)
    reversible : bool
        Detailed balance :math:`\pi_i P_{ij} = \pi_j P_{ji}` within 1e-12.
    relaxation_time : float or None
        :math:`t_{rel} = 1/\gamma_*`, :math:`\gamma_* = 1 - \max\{|\lambda| : \lambda \ne 1\}`
        (absolute spectral gap), for reversible chains only.
    spectral_lower, spectral_upper : float or None
        :math:`(t_{rel} - 1)\log(1/(2\varepsilon)) \le t_{mix} \le t_{rel}\log(1/(\varepsilon\pi_{min}))`
        (:func:`mdpkit.bounds.mixing_time_spectral_bounds`).
    definition : str
    """

    __slots__ = ("t_mix", "epsilon", "d", "stationary", "reversible", "relaxation_time", "spectral_lower",
                 "spectral_upper", "definition")


    def __repr__(self) -> str:
        return (f"MixingResult(t_mix={self.t_mix!r}, epsilon={self.epsilon!r}, reversible={self.reversible}, "
                f"relaxation_time={self.relaxation_time!r})")


MIXING_DEFINITION = ("t_mix(eps) = min{t >= 0 : max_s ||P^t(s, .) - pi||_TV <= eps}, ||mu - nu||_TV = "
                     "max_A |mu(A) - nu(A)| = (1/2) sum |mu - nu| (Levin, Peres & Wilmer 2017, Sec. 4.5)")


def stationary_distribution(mdp_or_P, policy=None) -> np.ndarray:
    r"""The stationary distribution :math:`\pi = \pi P` of a chain with one recurrent class.

    Parameters
    ----------
    mdp_or_P : TabularMDP (with ``policy``) or array_like (S, S)
    policy : array_like, optional

    Returns
    -------
    ndarray (S,), non-negative, summing to 1 (zero on transient states).

    Raises
    ------
    InvalidArgumentError
        The chain has more than one recurrent class (the stationary law is not unique).
    """
    P = _chain(mdp_or_P, policy)
    succ = [np.flatnonzero(P[s] > 0).tolist() for s in range(P.shape[0])]
    cls = closed_class_of_each_state(succ)
    rec = {frozenset(c) for c in cls if c is not None}
    if len(rec) != 1:
        raise InvalidArgumentError(f"the chain has {len(rec)} recurrent classes; its stationary law is not unique")
    S = P.shape[0]
    M = np.vstack([P.T - np.eye(S), np.ones((1, S))])
    b = np.zeros(S + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(M, b, rcond=None)[0]
    members = np.array(sorted(next(iter(rec))))
    out = np.zeros(S)
    out[members] = np.maximum(pi[members], 0.0)
    return out / out.sum()


def mixing_time(mdp_or_P, policy=None, *, epsilon: float = 0.25, t_max: int = 100_000) -> MixingResult:
    r"""Exact mixing time of an ergodic chain from its matrix powers, with spectral bounds.

    :math:`t_{mix}(\varepsilon) = \min\{t : d(t) \le \varepsilon\}`,
    :math:`d(t) = \max_s \|P^t(s,\cdot) - \pi\|_{TV}` (Levin, Peres & Wilmer 2017, Sec. 4.5;
    :math:`\varepsilon = 1/4` is their default).  :math:`d(t)` is computed exactly from
    :math:`P^t` (one dense product per step; :math:`d` is non-increasing, LPW Ex. 4.2).  For a
    reversible chain the relaxation time and the spectral bounds of LPW Thm 12.4 and 12.5
    (2nd ed.; numbers not checked against the text) are reported as well.

    Parameters
    ----------
    mdp_or_P : TabularMDP (with ``policy``) or array_like (S, S)
    policy : array_like, optional
    epsilon : float in (0, 1), default 0.25
    t_max : int, default 100_000
        Largest ``t`` tried; ``t_mix = inf`` when ``d(t_max) > epsilon``.

    Returns
    -------
    MixingResult

    Raises
    ------
    InvalidArgumentError
        The chain is not ergodic in the needed sense: more than one recurrent class, or a
        periodic recurrent class (then :math:`d(t)` does not tend to 0); or bad parameters.
    """
    P = _chain(mdp_or_P, policy)
    eps = float(epsilon)
    if not (0.0 < eps < 1.0):
        raise InvalidArgumentError(f"epsilon must lie in (0, 1), got {epsilon!r}")
    S = P.shape[0]
    pi = stationary_distribution(P)
    mdp1 = TabularMDP(P[:, None, :], np.zeros((S, 1)), 1.0, normalize=True)
    per = periods(mdp1)
    if per != [1]:
        raise InvalidArgumentError(f"the recurrent class is periodic (period {per[0]}): d(t) does not tend to 0")
    Pt = np.eye(S)
    d = [float(0.5 * np.abs(Pt - pi).sum(axis=1).max())]
    t = 0
    while d[-1] > eps and t < int(t_max):
        Pt = Pt @ P
        t += 1
        d.append(float(0.5 * np.abs(Pt - pi).sum(axis=1).max()))
    t_mix = t if d[-1] <= eps else np.inf
    rev = bool(np.all(pi > 0)) and bool(np.allclose(pi[:, None] * P, (pi[:, None] * P).T, rtol=0.0, atol=1e-12))
    t_rel = lo = hi = None
    if rev:
        sq = np.sqrt(pi)
        Ssym = sq[:, None] * P / sq[None, :]
        lam = np.sort(np.abs(np.linalg.eigvalsh(0.5 * (Ssym + Ssym.T))))[::-1]
        lam_star = float(lam[1]) if S > 1 else 0.0
        t_rel = np.inf if lam_star >= 1.0 - 1e-15 else 1.0 / (1.0 - lam_star)
        lo = max(0.0, (t_rel - 1.0) * np.log(1.0 / (2.0 * eps))) if eps < 0.5 else 0.0
        hi = t_rel * np.log(1.0 / (eps * float(pi.min())))
    return MixingResult(t_mix=t_mix, epsilon=eps, d=np.array(d), stationary=pi, reversible=rev,
                        relaxation_time=t_rel, spectral_lower=lo, spectral_upper=hi, definition=MIXING_DEFINITION)


# ============================================================================= concentrability
def _dist(x, S: int, name: str) -> np.ndarray:
    d = np.asarray(x, dtype=np.float64)
    if d.shape != (S,) or not np.all(np.isfinite(d)) or (d < 0).any() or abs(d.sum() - 1.0) > 1e-8:
        raise InvalidArgumentError(f"{name} must be a probability vector of shape ({S},) summing to 1")
    return d


def _ratio_max(num: np.ndarray, mu: np.ndarray) -> float:
    """max_s num(s)/mu(s), with 0/0 = 0 and x/0 = inf for x > 0."""
    pos = num > 0
    if np.any(pos & (mu <= 0)):
        return np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(pos, num / np.where(mu > 0, mu, 1.0), 0.0)
    return float(r.max())


def distribution_mismatch(mdp: TabularMDP, policy, rho, mu) -> float:
    r"""Distribution-mismatch coefficient :math:`\|d^\pi_\rho / \mu\|_\infty`.

    :math:`d^\pi_\rho = (1-\gamma)\rho^\top(I-\gamma P_\pi)^{-1}` is the discounted state
    occupancy of ``policy`` from ``rho`` (Kakade & Langford 2002; Agarwal, Kakade, Lee & Mahajan
    2021, Sec. 2 and Thm 4.1 (numbers not checked against the text)).  ``inf`` when
    :math:`d^\pi_\rho` charges a state that ``mu`` does not.

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    policy : array_like
        Deterministic (S,) or stochastic (S, A), e.g. an optimal policy.
    rho, mu : array_like (S,)
        Probability vectors: start distribution and the reference (sampling) distribution.

    Returns
    -------
    float >= 1 (or inf)

    Raises
    ------
    InvalidArgumentError
        ``gamma >= 1`` or ``rho``/``mu`` not probability vectors.
    """
    from .policies import policy_matrices

    _check_mdp(mdp)
    if not mdp.gamma < 1:
        raise InvalidArgumentError("distribution_mismatch needs gamma < 1")
    S = mdp.S
    rho, mu = _dist(rho, S, "rho"), _dist(mu, S, "mu")
    P, _ = policy_matrices(mdp, policy)
    P = P.toarray() if hasattr(P, "toarray") else np.asarray(P)
    d = (1.0 - mdp.gamma) * np.linalg.solve((np.eye(S) - mdp.gamma * P).T, rho)
    return _ratio_max(np.maximum(d, 0.0), mu)


class ConcentrabilityResult(SlotsRecord):
    r"""Concentrability coefficients (see :func:`concentrability`).

    Attributes
    ----------
    c : ndarray (m_max,)
        ``c[m-1]`` :math:`= c(m)`, the m-step coefficient.
    C : float
        :math:`C_{\rho,\mu} = (1-\gamma)^2\sum_{m\ge1} m\gamma^{m-1}c(m)`, midpoint of the bracket.
    C_lower, C_upper : float
        Partial sum to ``m_max`` and partial sum plus the tail bound with
        :math:`c(m) \le 1/\min\mu`.
    policy_class : str
    definition : str
    """

    __slots__ = ("c", "C", "C_lower", "C_upper", "policy_class", "definition")


    def __repr__(self) -> str:
        return f"ConcentrabilityResult(C={self.C!r}, bracket=[{self.C_lower!r}, {self.C_upper!r}], class={self.policy_class!r})"


CONCENTRABILITY_DEFINITION = ("c(m) = sup_{pi_1..pi_m in class} ||rho P_{pi_1} ... P_{pi_m} / mu||_inf, "
                              "C = (1-gamma)^2 sum_{m>=1} m gamma^(m-1) c(m) (Munos 2003; Munos & Szepesvari 2008)")


def concentrability(mdp: TabularMDP, rho, mu, *, policies=None, m_max: int = 200) -> ConcentrabilityResult:
    r"""Concentrability coefficients :math:`c(m)` and :math:`C_{\rho,\mu}` (Munos & Szepesvári 2008).

    :math:`c(m) = \sup_{\pi_1,\dots,\pi_m} \|\rho^\top P_{\pi_1}\cdots P_{\pi_m} / \mu\|_\infty`
    and :math:`C_{\rho,\mu} = (1-\gamma)^2 \sum_{m \ge 1} m \gamma^{m-1} c(m)` (Munos 2003;
    Munos & Szepesvári 2008, Assumption A2 (number not checked against the text)).

    Policy classes: ``policies=None`` takes the supremum over all (Markov, non-stationary)
    policies, exactly: for each target state ``x``, :math:`\max_\pi \Pr(s_m = x)` is an
    ``m``-step finite-horizon problem with terminal reward :math:`e_x`, solved by backward
    induction for all ``x`` at once.  A list of stationary policies takes the maximum over
    the list of :math:`\|\rho^\top P_\pi^m/\mu\|_\infty` (each policy held for all ``m`` steps).

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1`` (for ``C``).  Dense cost O(m_max S^3 A).
    rho, mu : array_like (S,)
        Probability vectors.
    policies : sequence of policies, optional
    m_max : int, default 200
        Terms computed; the rest is bracketed.

    Returns
    -------
    ConcentrabilityResult

    Raises
    ------
    InvalidArgumentError
        Bad distributions, ``gamma >= 1`` or ``m_max < 1``.
    """
    _check_mdp(mdp)
    if not mdp.gamma < 1:
        raise InvalidArgumentError("concentrability needs gamma < 1")
    if int(m_max) < 1:
        raise InvalidArgumentError(f"m_max must be >= 1, got {m_max}")
    S, g, M = mdp.S, float(mdp.gamma), int(m_max)
    rho, mu = _dist(rho, S, "rho"), _dist(mu, S, "mu")
    c = np.empty(M)
    if policies is None:
        P = mdp.P_dense()
        W = np.eye(S)
        for m in range(M):
            cand = np.einsum("sat,tx->sax", P, W)
            cand[~mdp.action_mask] = -np.inf
            W = cand.max(axis=1)
            c[m] = _ratio_max(rho @ W, mu)
        cls = "all Markov policies"
    else:
        from .policies import policy_matrices

        mats = []
        for pol in policies:
            Pp, _ = policy_matrices(mdp, pol)
            mats.append(Pp.toarray() if hasattr(Pp, "toarray") else np.asarray(Pp))
        if not mats:
            raise InvalidArgumentError("policies must hold at least one policy")
        rows = [rho.copy() for _ in mats]
        for m in range(M):
            rows = [r @ Pp for r, Pp in zip(rows, mats)]
            c[m] = max(_ratio_max(r, mu) for r in rows)
        cls = f"{len(mats)} stationary policies"
    ms = np.arange(1, M + 1)
    part = (1.0 - g) ** 2 * float(np.sum(ms * g ** (ms - 1) * c))
    tail_w = ((M + 1) * g ** M - M * g ** (M + 1))  # (1-g)^2 * sum_{m>M} m g^(m-1)
    mu_min = float(mu.min())
    upper = part + (tail_w / mu_min if mu_min > 0 else (np.inf if tail_w > 0 else 0.0))
    return ConcentrabilityResult(c=c, C=0.5 * (part + upper) if np.isfinite(upper) else np.inf, C_lower=part,
                                 C_upper=upper, policy_class=cls, definition=CONCENTRABILITY_DEFINITION)


# ============================================================================= action gaps
class ActionGaps(SlotsRecord):
    r"""Action gaps of a discounted MDP (see :func:`action_gaps`).

    Attributes
    ----------
    gaps : ndarray (S, A)
        :math:`V^*(s) - Q^*(s, a)` (``nan`` for masked actions; 0 for optimal ones).
    optimal : ndarray of bool (S, A)
        Actions within ``tol`` of :math:`V^*(s)`.
    n_optimal : ndarray of int64 (S,)
    min_gap : float
        Smallest positive gap :math:`\min\{V^*(s) - Q^*(s,a) : a \text{ suboptimal}\}`
        (``inf`` when every available action is optimal everywhere).
    argmin : tuple of int or None
    v, q : ndarray
        :math:`V^*` (S,) and :math:`Q^*` (S, A) used.
    tol : float
    definition : str
    """

    __slots__ = ("gaps", "optimal", "n_optimal", "min_gap", "argmin", "v", "q", "tol", "definition")


    def __repr__(self) -> str:
        return f"ActionGaps(min_gap={self.min_gap!r}, argmin={self.argmin}, n_optimal={self.n_optimal.tolist()})"


GAPS_DEFINITION = ("gap(s, a) = V*(s) - Q*(s, a); min_gap = min over suboptimal (s, a) "
                   "(e.g. Farahmand 2011, action-gap regularity; Simchowitz & Jamieson 2019, gap-dependent regret)")


def _optimal_q(mdp: TabularMDP, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact Howard policy iteration (linear solves); switches only on improvements above ``tol``."""
    from .policies import greedy_policy, policy_evaluation, q_from_v

    pi = greedy_policy(mdp, np.zeros(mdp.S))
    rows = np.arange(mdp.S)
    for _ in range(10_000):
        v = policy_evaluation(mdp, pi)
        q = q_from_v(mdp, v)
        best = np.argmax(q, axis=1)
        better = q[rows, best] > q[rows, pi] + tol
        if not better.any():
            return q.max(axis=1), q
        pi = np.where(better, best, pi)
    raise RuntimeError("policy iteration did not terminate in 10000 steps")  # pragma: no cover


def action_gaps(mdp: TabularMDP, q=None, *, tol: float | None = None) -> ActionGaps:
    r"""Action gaps :math:`V^*(s) - Q^*(s,a)` and the number of optimal actions per state.

    :math:`Q^*` is computed exactly by Howard policy iteration with linear solves (or taken from
    ``q``); actions with :math:`Q^*(s,a) \ge V^*(s) - tol` count as optimal.

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    q : array_like (S, A), optional
        :math:`Q^*` if already known (masked entries ignored).
    tol : float, optional
        Tie tolerance; default ``1e-9 * max(1, max|R|) / (1 - gamma)``.

    Returns
    -------
    ActionGaps

    Raises
    ------
    InvalidArgumentError
        ``gamma >= 1`` or ``q`` of the wrong shape.
    """
    _check_mdp(mdp)
    if not mdp.gamma < 1:
        raise InvalidArgumentError("action_gaps needs gamma < 1 (discounted Q*)")
    S, A = mdp.S, mdp.A
    r = float(np.abs(np.where(mdp.action_mask, mdp.R, 0.0)).max()) if mdp.R.size else 0.0
    tol = 1e-9 * max(1.0, r) / (1.0 - mdp.gamma) if tol is None else float(tol)
    if q is None:
        v, qq = _optimal_q(mdp, tol * 1e-3)
    else:
        qq = np.asarray(q, dtype=np.float64)
        if qq.shape != (S, A):
            raise InvalidArgumentError(f"q must have shape (S, A) = ({S}, {A}), got {qq.shape}")
        qq = np.where(mdp.action_mask, qq, -np.inf)
        v = qq.max(axis=1)
    gaps = np.where(mdp.action_mask, v[:, None] - qq, np.nan)
    optimal = mdp.action_mask & (gaps <= tol)
    sub = mdp.action_mask & ~optimal
    if sub.any():
        g = np.where(sub, gaps, np.inf)
        s, a = np.unravel_index(int(np.argmin(g)), g.shape)
        min_gap, arg = float(g[s, a]), (int(s), int(a))
    else:
        min_gap, arg = np.inf, None
    return ActionGaps(gaps=gaps, optimal=optimal, n_optimal=optimal.sum(axis=1).astype(np.int64), min_gap=min_gap,
                      argmin=arg, v=v, q=qq, tol=tol, definition=GAPS_DEFINITION)

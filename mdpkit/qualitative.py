r"""Graph-based (qualitative) analysis of reachability in a tabular MDP.

Every answer depends only on the support of ``P`` and on the action mask, so it is exact (no
tolerance).  Notation (Baier & Katoen 2008, Sec. 10.6; de Alfaro 1997, Ch. 3; the set names are
Storm's): for a goal set :math:`G` and a set :math:`B` of states to avoid,
:math:`\Pr^{\max}_s` / :math:`\Pr^{\min}_s` are the maximal / minimal probabilities over all
policies (schedulers) of reaching :math:`G` without passing through :math:`B \setminus G`.

=================  =====================================================================
``prob0a``         :math:`\Pr^{\max}_s = 0` (probability 0 under *every* policy)
``prob0e``         :math:`\Pr^{\min}_s = 0` (*some* policy reaches :math:`G` with probability 0)
``prob1a``         :math:`\Pr^{\min}_s = 1` (every policy reaches :math:`G` almost surely)
``prob1e``         :math:`\Pr^{\max}_s = 1` (some policy reaches :math:`G` almost surely)
=================  =====================================================================

Algorithms (each a fixpoint on the graph, computed with worklist kernels in
:mod:`mdpkit._kernels.reachability`, linear in the number of edges per fixpoint):

- ``prob0a``: complement of the backward reachability of :math:`G` through non-avoid states
  (Baier & Katoen 2008, Alg. 45 for Markov chains; the same on the model graph for "some
  policy").
- ``prob0e``: complement of the least fixpoint :math:`X \supseteq G` that adds a non-avoid state
  when *all* its actions have a successor in :math:`X` (Baier & Katoen 2008, Sec. 10.6.1,
  Alg. 46; number not checked against the text).
- ``prob1e``: greatest fixpoint of :math:`U \mapsto` "states that reach :math:`G` inside
  :math:`U` using only actions whose successors all stay in :math:`U`", started from the
  complement of ``prob0a`` (de Alfaro 1997, Alg. 3.3; Baier & Katoen 2008, Alg. 47; numbers not
  checked against the text).  The strategy that picks, in each state, the action through which
  it entered the last attractor reaches :math:`G` almost surely (:func:`prob1e_strategy`).
- ``prob1a``: the complement of the states that can reach a ``prob0e`` state without passing
  through :math:`G` (Baier & Katoen 2008, Sec. 10.6.1; number not checked).

Maximal end components (:func:`maximal_end_components`): de Alfaro 1997, Alg. 3.1 (also Baier &
Katoen 2008, Alg. 47, "MEC decomposition"): repeatedly take the strongly connected components
of the graph restricted to the remaining pairs, drop every pair with a successor outside its
component, and drop states without pairs, until nothing changes (scipy.sparse.csgraph for the
components).

References
----------
.. [1] L. de Alfaro, *Formal Verification of Probabilistic Systems*, PhD thesis, Stanford, 1997.
.. [2] C. Baier and J.-P. Katoen, *Principles of Model Checking*, MIT Press, 2008, Ch. 10.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ._exceptions import InvalidArgumentError
from .model import TabularMDP

__all__ = [
    "SupportGraph",
    "attractor",
    "kernel_array",
    "maximal_end_components",
    "prob01max",
    "prob01min",
    "prob0a",
    "prob0a_reference",
    "prob0e",
    "prob0e_reference",
    "prob1a",
    "prob1a_reference",
    "prob1e",
    "prob1e_reference",
    "prob1e_strategy",
    "state_set",
    "support_graph",
]


class SupportGraph:
    """The support of ``P`` in the forms the kernels need (built once per model and cached).

    Attributes
    ----------
    S, A : int
    succ : scipy.sparse.csr_matrix (S*A, S), bool-valued (1.0 where ``P > 0``)
    pt_indptr, pt_pairs, pt_state : int64 arrays
        For each state ``t`` the pairs ``r = s*A + a`` with ``P[r, t] > 0``, and their states ``s``.
    mask1 : bool (S*A,)
        Available pairs.
    p_indptr, p_indices, p_data : int64, int64, float64 arrays
        ``P`` as ``(S*A, S)`` CSR rows, in the kernels' dtypes (converted once).
    """

    def __init__(self, mdp: TabularMDP):
        S, A = mdp.S, mdp.A
        P = sp.csr_matrix(mdp.P_rows)
        keep = P.data > 0
        succ = sp.csr_matrix((keep.astype(np.float64), P.indices.copy(), P.indptr.copy()), shape=P.shape)
        succ.eliminate_zeros()
        mask1 = np.array(mdp.action_mask.reshape(-1), dtype=np.bool_)  # a writable copy
        # masked pairs carry no edges
        succ = sp.csr_matrix(sp.diags(mask1.astype(np.float64)) @ succ)
        succ.eliminate_zeros()
        succ.sort_indices()
        pt = succ.T.tocsr()
        pt.sort_indices()
        self.S, self.A = S, A
        # P's rows as kernel arrays (int64 indices, writable), converted once per model
        self.p_indptr = kernel_array(P.indptr, np.int64)
        self.p_indices = kernel_array(P.indices, np.int64)
        self.p_data = kernel_array(P.data, np.float64)
        self.succ = succ
        self.mask1 = mask1
        self.pt_indptr = kernel_array(pt.indptr, np.int64)
        self.pt_pairs = kernel_array(pt.indices, np.int64)
        self.pt_state = self.pt_pairs // A
        self.pair_state = np.repeat(np.arange(S, dtype=np.int64), A)

    def pairs_inside(self, region: np.ndarray) -> np.ndarray:
        """Bool (S*A,): available pairs whose successors all lie in ``region``."""
        out_deg = np.diff(self.succ.indptr)
        inside = self.succ @ region.astype(np.float64)
        return self.mask1 & (inside == out_deg)

    def pairs_touching(self, region: np.ndarray) -> np.ndarray:
        """Bool (S*A,): available pairs with some successor in ``region``."""
        return self.mask1 & ((self.succ @ region.astype(np.float64)) > 0)


def support_graph(mdp: TabularMDP) -> SupportGraph:
    """The cached :class:`SupportGraph` of ``mdp``."""
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    g = mdp.__dict__.get("_support_graph")
    if g is None:
        g = SupportGraph(mdp)
        object.__setattr__(mdp, "_support_graph", g)
    return g


def state_set(mdp: TabularMDP, states, name: str, labels=None) -> np.ndarray:
    """A bool (S,) mask from a bool mask, integer state ids, or a label name looked up in ``labels``.

    Raises
    ------
    InvalidArgumentError
        Wrong shape or dtype, ids outside ``[0, S)``, or an unknown label (the known ones are named).
    """
    S = mdp.S
    if states is None:
        return np.zeros(S, dtype=bool)
    if isinstance(states, str):
        if labels is None or states not in labels:
            known = ", ".join(sorted(labels)) if labels else "none (pass labels=)"
            raise InvalidArgumentError(f"{name}: unknown label {states!r}; known labels: {known}")
        states = labels[states]
    t = np.asarray(states)
    if t.dtype == bool:
        if t.shape != (S,):
            raise InvalidArgumentError(f"{name} mask must have shape (S,) = ({S},), got {t.shape}")
        return t.copy()
    if t.size and t.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} must be a bool mask (S,), integer state ids or a label name, got dtype {t.dtype}")
    idx = t.astype(np.int64).ravel()
    if idx.size and (idx.min() < 0 or idx.max() >= S):
        bad = int(idx[(idx < 0) | (idx >= S)][0])
        raise InvalidArgumentError(f"{name}: state id {bad} is outside [0, {S})")
    m = np.zeros(S, dtype=bool)
    m[idx] = True
    return m


def kernel_array(x, dtype) -> np.ndarray:
    """``x`` as a C-contiguous *writable* array of ``dtype`` (a copy when it is not one), so that
    every call of a kernel has one Numba type signature (read-only arrays are another type)."""
    return np.require(x, dtype=dtype, requirements=("C", "W"))


def _sets(mdp, goal, avoid):
    g = support_graph(mdp)
    G = state_set(mdp, goal, "goal")
    B = state_set(mdp, avoid, "avoid") & ~G
    return g, G, B


# ----------------------------------------------------------------------------- kernels' users
def attractor(g: SupportGraph, target, allowed, pair_ok):
    """(X, choice): least X >= target adding allowed states with an ``pair_ok`` pair that has a
    successor in X; ``choice`` (S,) int64 the pair through which each state entered (-1 for
    targets and states outside X).  Worklist kernel, linear in the graph."""
    from ._kernels.reachability import attractor_exists

    out = np.empty(g.S, dtype=np.bool_)
    choice = np.empty(g.S, dtype=np.int64)
    attractor_exists(g.pt_indptr, g.pt_pairs, g.pt_state, kernel_array(pair_ok, np.bool_),
                     kernel_array(target, np.bool_), kernel_array(allowed, np.bool_), out, choice)
    return out, choice


def _attractor_all(g: SupportGraph, target, allowed, pair_ok):
    from ._kernels.reachability import attractor_forall

    pair_ok = kernel_array(pair_ok, np.bool_)
    n_ok = kernel_array(pair_ok.reshape(g.S, g.A).sum(axis=1), np.int64)
    out = np.empty(g.S, dtype=np.bool_)
    attractor_forall(g.pt_indptr, g.pt_pairs, g.pt_state, pair_ok, n_ok,
                     kernel_array(target, np.bool_), kernel_array(allowed, np.bool_), out)
    return out


def prob0a(mdp: TabularMDP, goal, avoid=None) -> np.ndarray:
    r"""Bool (S,): states with :math:`\Pr^{\max}_s(\neg B \,\mathrm{U}\, G) = 0`.

    Parameters
    ----------
    mdp : TabularMDP
    goal : bool mask (S,) or int state ids
    avoid : bool mask (S,) or int state ids, optional
        States that end a path unsuccessfully (goal states are never avoided).

    Raises
    ------
    InvalidArgumentError
        Bad ``goal`` / ``avoid``.
    """
    g, G, B = _sets(mdp, goal, avoid)
    reach, _ = attractor(g, G, ~B, g.mask1)
    return ~reach


def prob0e(mdp: TabularMDP, goal, avoid=None) -> np.ndarray:
    r"""Bool (S,): states with :math:`\Pr^{\min}_s(\neg B \,\mathrm{U}\, G) = 0` (some policy avoids
    :math:`G` surely).  Arguments as :func:`prob0a`."""
    g, G, B = _sets(mdp, goal, avoid)
    return ~_attractor_all(g, G, ~B, g.mask1)


def _prob1e(g: SupportGraph, G, B, U=None):
    """Greatest fixpoint from ``U`` = the states that can reach G (the complement of prob0a; computed
    when not given)."""
    if U is None:
        U = attractor(g, G, ~B, g.mask1)[0]
    while True:
        ok = g.pairs_inside(U)
        X, choice = attractor(g, G, U & ~B, ok)
        if np.array_equal(X, U):
            return U, choice
        U = X


def prob1e(mdp: TabularMDP, goal, avoid=None) -> np.ndarray:
    r"""Bool (S,): states with :math:`\Pr^{\max}_s(\neg B \,\mathrm{U}\, G) = 1`.  Arguments as
    :func:`prob0a`."""
    g, G, B = _sets(mdp, goal, avoid)
    return _prob1e(g, G, B)[0]


def prob1e_strategy(mdp: TabularMDP, goal, avoid=None) -> tuple[np.ndarray, np.ndarray]:
    r"""``(prob1e_mask, policy)``: a deterministic policy (S,) int64 that reaches the goal almost
    surely from every ``prob1e`` state (the action through which a state entered the last
    attractor; its successors all stay in the ``prob1e`` set and one of them is closer to the goal).
    Elsewhere (and on goal states) the first available action."""
    g, G, B = _sets(mdp, goal, avoid)
    U, choice = _prob1e(g, G, B)
    pol = np.argmax(mdp.action_mask, axis=1).astype(np.int64)
    sel = choice >= 0
    pol[sel] = choice[sel] % g.A
    return U, pol


def prob1a(mdp: TabularMDP, goal, avoid=None) -> np.ndarray:
    r"""Bool (S,): states with :math:`\Pr^{\min}_s(\neg B \,\mathrm{U}\, G) = 1`.  Arguments as
    :func:`prob0a`."""
    return prob01min(mdp, goal, avoid)[1]


def prob01max(mdp: TabularMDP, goal, avoid=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""``(prob0a, prob1e, policy)`` in one pass: the backward reachability of the goal is computed
    once and serves both as the complement of ``prob0a`` and as the start of the ``prob1e``
    fixpoint (Storm's "prob01 max").  ``policy`` as :func:`prob1e_strategy`.  Arguments as
    :func:`prob0a`."""
    g, G, B = _sets(mdp, goal, avoid)
    reach, _ = attractor(g, G, ~B, g.mask1)
    U, choice = _prob1e(g, G, B, reach.copy())
    pol = np.argmax(mdp.action_mask, axis=1).astype(np.int64)
    sel = choice >= 0
    pol[sel] = choice[sel] % g.A
    return ~reach, U, pol


def prob01min(mdp: TabularMDP, goal, avoid=None) -> tuple[np.ndarray, np.ndarray]:
    r"""``(prob0e, prob1a)`` in one pass (``prob1a`` is the complement of the states that reach a
    ``prob0e`` state outside the goal, so ``prob0e`` is computed once; Storm's "prob01 min").
    Arguments as :func:`prob0a`."""
    g, G, B = _sets(mdp, goal, avoid)
    zero = ~_attractor_all(g, G, ~B, g.mask1)
    bad, _ = attractor(g, zero, ~G, g.mask1)
    return zero, ~bad


# ----------------------------------------------------------------------------- plain-numpy twins
def _succ_dense(mdp):
    P = mdp.P_dense() > 0
    return P & mdp.action_mask[:, :, None]


def _fixpoint(X, step):
    """Iterate ``X <- step(X)`` (monotone) until it stops changing."""
    while True:
        new = step(X)
        if np.array_equal(new, X):
            return X
        X = new


def _backward_closure(E, X, allowed):
    """States reaching ``X`` through ``allowed`` states in the dense successor relation ``E``."""
    return _fixpoint(X.copy(), lambda Y: Y | (allowed & (E & Y[None, None, :]).any(axis=(1, 2))))


def prob0a_reference(mdp, goal, avoid=None):
    """Round-by-round twin of :func:`prob0a` (dense; test oracle)."""
    G = state_set(mdp, goal, "goal")
    B = state_set(mdp, avoid, "avoid") & ~G
    return ~_backward_closure(_succ_dense(mdp), G, ~B)


def prob0e_reference(mdp, goal, avoid=None):
    """Round-by-round twin of :func:`prob0e` (dense; test oracle)."""
    G = state_set(mdp, goal, "goal")
    B = state_set(mdp, avoid, "avoid") & ~G
    E = _succ_dense(mdp)

    def step(X):
        hit = (E & X[None, None, :]).any(axis=2) | ~mdp.action_mask
        return X | (~B & hit.all(axis=1))

    return ~_fixpoint(G.copy(), step)


def prob1e_reference(mdp, goal, avoid=None):
    """Round-by-round twin of :func:`prob1e` (dense; test oracle)."""
    G = state_set(mdp, goal, "goal")
    B = state_set(mdp, avoid, "avoid") & ~G
    E = _succ_dense(mdp)

    def step(U):
        stay = mdp.action_mask & ~(E & ~U[None, None, :]).any(axis=2)
        return _fixpoint(G.copy(), lambda X: X | (U & ~B & (stay & (E & X[None, None, :]).any(axis=2)).any(axis=1)))

    return _fixpoint(~prob0a_reference(mdp, G, B), step)


def prob1a_reference(mdp, goal, avoid=None):
    """Round-by-round twin of :func:`prob1a` (dense; test oracle)."""
    G = state_set(mdp, goal, "goal")
    return ~_backward_closure(_succ_dense(mdp), prob0e_reference(mdp, goal, avoid), ~G)


# ----------------------------------------------------------------------------- end components
def maximal_end_components(mdp: TabularMDP, states=None, pairs=None) -> tuple[np.ndarray, np.ndarray]:
    r"""Maximal end components of the sub-MDP on ``states`` using only ``pairs``.

    An end component is a set :math:`C` of states with a non-empty set of actions per state whose
    successors all stay in :math:`C`, such that the graph they induce is strongly connected
    (de Alfaro 1997, Def. 3.1; Baier & Katoen 2008, Def. 10.117; numbers not checked against the
    text).  A single state with an action that loops to itself surely is one.

    Parameters
    ----------
    mdp : TabularMDP
    states : bool mask (S,) or ids, optional
        Restrict to these states (default all).
    pairs : bool (S, A) or (S*A,), optional
        Restrict to these state-action pairs (default the available ones).

    Returns
    -------
    mec : ndarray int64 (S,)
        Index of each state's MEC, ``-1`` for states in none.  MECs are numbered 0, 1, ...
    mec_pairs : ndarray bool (S*A,)
        The pairs that stay inside their state's MEC (the MEC's actions).
    """
    from scipy.sparse import csgraph

    g = support_graph(mdp)
    S, A = g.S, g.A
    alive = np.ones(S, dtype=bool) if states is None else state_set(mdp, states, "states")
    ok = g.mask1.copy() if pairs is None else (np.asarray(pairs, dtype=bool).reshape(-1) & g.mask1)
    ok &= alive[g.pair_state]
    ok &= g.pairs_inside(alive)
    labels = np.full(S, -1, dtype=np.int64)
    while True:
        alive &= ok.reshape(S, A).any(axis=1)
        ok &= alive[g.pair_state]
        ok &= g.pairs_inside(alive)
        rows = np.flatnonzero(ok)
        sub = g.succ[rows]
        src = np.repeat(rows // A, np.diff(sub.indptr))
        adj = sp.csr_matrix((np.ones(src.size), (src, sub.indices)), shape=(S, S))
        _, lab = csgraph.connected_components(adj, directed=True, connection="strong")
        lab = np.where(alive, lab, -1)
        # drop pairs with a successor in another component
        succ_lab = sp.csr_matrix((lab[sub.indices].astype(np.float64) + 1.0, sub.indices, sub.indptr), shape=sub.shape)
        lo = np.minimum.reduceat(succ_lab.data, sub.indptr[:-1]) if sub.nnz else np.zeros(0)
        hi = np.maximum.reduceat(succ_lab.data, sub.indptr[:-1]) if sub.nnz else np.zeros(0)
        own = lab[rows // A].astype(np.float64) + 1.0
        empty = np.diff(sub.indptr) == 0
        lo = np.where(empty, own, lo[: rows.size] if rows.size else lo)
        hi = np.where(empty, own, hi[: rows.size] if rows.size else hi)
        bad = rows[(lo != own) | (hi != own)]
        alive_before = alive.copy()
        ok[bad] = False
        alive &= ok.reshape(S, A).any(axis=1)
        if bad.size == 0 and np.array_equal(alive, alive_before):
            labels = lab
            break
    labels = np.where(alive, labels, -1)
    uniq, inv = np.unique(labels[alive], return_inverse=True)
    mec = np.full(S, -1, dtype=np.int64)
    mec[alive] = inv
    return mec, ok

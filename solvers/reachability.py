r"""Reachability probabilities and expected total reward to a goal, the model-checker way.

Objectives (on a :class:`~mdpkit.TabularMDP`, with a goal set given as a bool mask, state ids or a
label name looked up in ``labels=``):

``pmax`` / ``pmin``
    :math:`\max_\pi / \min_\pi \Pr^\pi_s(\neg B \,\mathrm{U}\, G)`: the probability of reaching
    the goal :math:`G` without first entering an avoid set :math:`B` (PCTL ``P=? [!B U G]``).
``rmax`` / ``rmin``
    :math:`\max_\pi / \min_\pi E^\pi_s[\sum_{t<\tau_G} R(s_t, a_t)]`, the expected reward
    accumulated until the goal is reached, with the model checkers' convention that it is
    :math:`+\infty` under a policy that misses the goal with positive probability (PRISM / Storm
    ``R=? [F G]``).  Rewards must be non-negative.  ``rmax`` is :math:`+\infty` exactly where
    :math:`\Pr^{\min}(F\,G) < 1` and ``rmin`` exactly where :math:`\Pr^{\max}(F\,G) < 1`; these
    states are found on the graph (:mod:`mdpkit.qualitative`) and reported as ``inf``, never as
    an exception.
``pmax:k`` / ``pmin:k``
    Step-bounded: probability of reaching the goal within ``k`` steps (backward induction).
``lra`` (``lramax`` / ``lramin``)
    Long-run average reward :math:`\max_\pi \liminf_T \frac1T E^\pi_s[\sum_{t<T} R]`, multichain:
    maximal end-component decomposition, an LP for the optimal gain inside each MEC, then the
    maximal expected gain of the MEC where the run ends (de Alfaro 1997, Ch. 7; Baier & Katoen
    2008, Sec. 10.6 (numbers not checked against the text)).

Method (the same for all unbounded objectives).  (1) Graph precomputation decides the states
with value 0, 1 or ``inf``.  (2) The undecided states form a reduced model in which every policy
leaves almost surely: for ``pmax`` the maximal end components of the undecided states are
collapsed into single states keeping only their leaving actions (de Alfaro 1997; Haddad &
Monmege 2018, Sec. 4); for ``pmin`` and ``rmax`` no end component remains; for ``rmin`` the
zero-reward end components are collapsed (any other end component costs :math:`+\infty`).
(3) The reduced model is split into strongly connected components solved bottom-up (topological
order), with

* ``method="ovi"``: optimistic value iteration (Hartmanns & Kaminski 2020), Gauss-Seidel
  from below, an upper bound guessed and verified by Gauss-Seidel sweeps that do not increase it
  (:math:`Tu \le u`);
* ``method="ii"``: interval iteration (Haddad & Monmege 2018), lower and upper iterates from 0
  and 1 (probabilities only);
* ``method="svi"``: sound value iteration (Quatmann & Katoen 2018): Gauss-Seidel iterates of the
  reward collected so far ``x`` and of the probability ``y`` of still being undecided, the value
  bracketed by ``x + y L <= v <= x + y u`` with ``L``, ``u`` the extreme ratios
  ``x / (1 - y)``; no starting bounds needed.  The side that depends on the action choices is
  verified by one backup (see :func:`_sound_vi`);
* ``method="pi"`` (default): topological policy iteration: the components are solved bottom-up
  (small ones by dense policy iteration inside a Numba kernel, large ones by sparse policy
  iteration; one dominant component as a whole), started from the greedy policy of Jacobi
  value-iteration sweeps (exact evaluation by a sparse Krylov solve with BLAS limited to one
  thread); the certificate is the verified inductive bracket
  :math:`[v_\pi - w, v_\pi + w]`, :math:`w = 10^{-3}\,\epsilon \max|v_\pi|`, around the final
  policy's value (one backup of both sides in one pass, :math:`Tl \ge l`, :math:`Tu \le u`, up
  to 8-16 ulps of rounding; no second policy iteration), with optimistic value iteration as the
  fallback when the verification fails.

The result's ``v_lower`` / ``v_upper`` is the certified per-state bracket
(:func:`mdpkit.bounds.reachability.bracket_bound`), ``v`` its midpoint (``inf`` where infinite).

References
----------
.. [1] L. de Alfaro, *Formal Verification of Probabilistic Systems*, PhD thesis, Stanford, 1997.
.. [2] C. Baier and J.-P. Katoen, *Principles of Model Checking*, MIT Press, 2008, Ch. 10.
.. [3] S. Haddad and B. Monmege, "Interval iteration algorithm for MDPs and IMDPs",
   Theor. Comput. Sci. 735, 2018.
.. [4] A. Hartmanns and B. L. Kaminski, "Optimistic value iteration", CAV 2020.
.. [5] T. Quatmann and J.-P. Katoen, "Sound value iteration", CAV 2018, LNCS 10981.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mdpkit import qualitative as qual
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_int, check_positive
from mdpkit.bounds.reachability import bracket_bound, policy_bracket_bound
from mdpkit.model import TabularMDP
from mdpkit.results import SolveResult

from ._common import build_result, check_mdp
from ._registry import SolverSpec, register_solver

__all__ = [
    "OBJECTIVES",
    "ReachabilityResult",
    "check_objective",
    "format_values",
    "long_run_average",
    "max_expected_steps_bound",
    "one_blas_thread",
    "parse_objective",
    "policy_value",
    "reach_probability",
    "reach_reward",
    "save_scheduler_json",
    "solve_file",
    "step_bounded_probability",
]

#: Objective names accepted by :func:`check_objective` / :func:`parse_objective`.
OBJECTIVES = ("pmax", "pmin", "rmax", "rmin", "lra", "lramax", "lramin")
_METHODS = ("ovi", "ii", "svi", "pi")


@dataclass(frozen=True, eq=False, repr=False)
class ReachabilityResult(SolveResult):
    r"""Result of a reachability / reward-to-goal / long-run-average objective.

    ``v`` (S,) float64 is the value (midpoint of the certified bracket; ``inf`` where infinite,
    exact 0 / 1 where decided on the graph); ``v_lower`` / ``v_upper`` (S,) the certified bracket
    (equal to ``v`` on decided states); ``v_error_bound`` the largest half-width over states with a
    finite value; ``policy`` (S,) int64 a policy attaining the bracket's side (step-bounded:
    ``(k, S)``, row ``t`` used with ``k - t`` steps left).

    ``n_iter`` counts policy-iteration rounds (``method="pi"``), single-state backups
    (``"ovi"``, ``"ii"``) or steps (step-bounded).

    Attributes
    ----------
    objective : str
        ``"pmax"``, ``"pmin"``, ``"rmax"``, ``"rmin"``, ``"lramax"``, ``"lramin"``.
    goal, avoid : ndarray of bool (S,) or None
    infinite : ndarray of bool (S,)
        States whose value is ``+inf``.
    decided : ndarray of bool (S,)
        States whose value was fixed by the graph precomputation (0, 1 or inf; goal states).
    n_reduced : int
        Number of states of the reduced model after end-component collapse.
    n_components : int
        Number of strongly connected components of the reduced model.
    step_bound : int or None
    """

    objective: str = ""
    goal: np.ndarray | None = None
    avoid: np.ndarray | None = None
    infinite: np.ndarray | None = None
    decided: np.ndarray | None = None
    n_reduced: int = 0
    n_components: int = 0
    step_bound: int | None = None


# ============================================================================ plumbing
_CONTROLLER: list = []


@contextlib.contextmanager
def one_blas_thread():
    """Limit BLAS to one thread around iterative solves: the BLAS-1 calls of a Krylov solver gain
    nothing from threads and oversubscribe cores that other processes use.  The threadpoolctl
    controller (library discovery costs about 10 ms) is built once per process; without
    threadpoolctl this is a no-op."""
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional dependency
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    ctl = _CONTROLLER[0]
    if ctl is None:  # pragma: no cover
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        yield


def _check_eps(epsilon, relative):
    eps = check_positive(epsilon, "epsilon")
    if not isinstance(relative, (bool, np.bool_)):
        raise InvalidArgumentError(f"relative must be True or False, got {relative!r}")
    return eps, bool(relative)


def _check_method(method, allowed=_METHODS):
    if method not in allowed:
        raise InvalidArgumentError(f"method must be one of {', '.join(map(repr, allowed))}, got {method!r}")
    return method


@dataclass
class _Reduced:
    """The reduced model (see :mod:`mdpkit._kernels.reachability`)."""

    n: int
    state_ptr: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    c: np.ndarray
    rows: np.ndarray  # original pair id of each reduced pair
    red: np.ndarray  # (S,) reduced id of each original state, -1 if decided
    exit_mass: np.ndarray  # (m,) probability of leaving the reduced model


#: Use the scipy path of :func:`_reduce` even without merged states (tests compare both paths).
_SCIPY_REDUCE = False


def _reduce(mdp: TabularMDP, maybe, pair_ok, reward1, fixed, group, allow_empty=False) -> _Reduced:
    """Reduced model on ``maybe`` states: pairs ``pair_ok``; states with equal ``group >= 0``
    merged (their internal pairs dropped); mass to decided states folded into ``c`` via ``fixed``."""
    S, A = mdp.S, mdp.A
    merged = bool((group >= 0).any())
    red = np.full(S, -1, dtype=np.int64)
    if merged:
        key = np.where(group >= 0, S + group, np.arange(S))
        uniq, inv = np.unique(key[maybe], return_inverse=True)
        red[maybe] = inv
        n = int(uniq.size)
    else:
        n = int(np.count_nonzero(maybe))
        red[maybe] = np.arange(n)
    rows = np.flatnonzero(pair_ok & maybe[np.arange(S * A) // A])
    if not merged and not _SCIPY_REDUCE:
        from mdpkit._kernels.reachability import reduce_rows

        # red is increasing on the kept states, so filtering keeps each row canonical; one pass
        fixed0 = qual.kernel_array(np.where(maybe, 0.0, fixed), np.float64)
        g = qual.support_graph(mdp)
        indptr, indices, data, c, exit_mass = reduce_rows(
            g.p_indptr, g.p_indices, g.p_data, rows.astype(np.int64), red, fixed0,
            qual.kernel_array(reward1[rows], np.float64))
        M = sp.csr_matrix((data, indices, indptr), shape=(rows.size, n))
        rstate = red[rows // A]
        counts = np.bincount(rstate, minlength=n)
        if n and counts.min() == 0 and not allow_empty:  # pragma: no cover - excluded by the graph precomputation
            raise RuntimeError(f"internal error: reduced state {int(np.argmin(counts))} has no action")
        state_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=state_ptr[1:])
        return _Reduced(n, state_ptr, indptr, indices, data, c, rows, red, exit_mass)
    P = sp.csr_matrix(mdp.P_rows)
    Pr = P[rows]
    Pr.eliminate_zeros()
    if merged:
        g_row = np.repeat(group[rows // A], np.diff(Pr.indptr))
        outside = (group[Pr.indices] != g_row) | (g_row < 0)
        n_out = np.add.reduceat(outside.astype(np.int64), Pr.indptr[:-1]) if Pr.nnz else np.zeros(rows.size, np.int64)
        n_out = np.where(np.diff(Pr.indptr) > 0, n_out, 0)
        keep = (n_out > 0) | (group[rows // A] < 0)
        rows = rows[keep]
        Pr = P[rows]
        Pr.eliminate_zeros()
    fixed0 = np.where(maybe, 0.0, fixed)
    c = np.asarray(reward1[rows], dtype=np.float64) + Pr @ fixed0
    cols = red[Pr.indices]
    inside = cols >= 0
    if (group >= 0).any():  # merged states: entries may repeat within a row
        row_of = np.repeat(np.arange(rows.size), np.diff(Pr.indptr))
        M = sp.csr_matrix((Pr.data[inside], (row_of[inside], cols[inside])), shape=(rows.size, n))
        M.sum_duplicates()
    else:  # red is increasing on the kept states: filtering the columns keeps each row canonical
        kept = np.zeros(inside.size + 1, dtype=np.int64)
        np.cumsum(inside, out=kept[1:])
        M = sp.csr_matrix((Pr.data[inside], cols[inside], kept[Pr.indptr]), shape=(rows.size, n))
    if not M.has_sorted_indices:
        M.sort_indices()
    exit_mass = 1.0 - np.asarray(M.sum(axis=1)).ravel()
    rstate = red[rows // A]
    if rstate.size and np.any(rstate[1:] < rstate[:-1]):
        order = np.argsort(rstate, kind="stable")
        rows, c, exit_mass, rstate = rows[order], c[order], exit_mass[order], rstate[order]
        M = M[order]
    counts = np.bincount(rstate, minlength=n)
    if n and counts.min() == 0 and not allow_empty:  # pragma: no cover - excluded by the graph precomputation
        raise RuntimeError(f"internal error: reduced state {int(np.argmin(counts))} has no action")
    state_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=state_ptr[1:])
    return _Reduced(n, state_ptr, qual.kernel_array(M.indptr, np.int64),
                    qual.kernel_array(M.indices, np.int64), qual.kernel_array(M.data, np.float64),
                    qual.kernel_array(c, np.float64), rows, red, exit_mass)


def _sccs(rm: _Reduced):
    """(scc_ptr, scc_states, k): the strongly connected components of the reduced graph in bottom-up
    order (Tarjan's algorithm, :func:`mdpkit._kernels.reachability.scc_bottom_up`; a state's edges
    are the successors of its pairs, which are stored contiguously)."""
    from mdpkit._kernels.reachability import scc_bottom_up

    n = rm.n
    ptr = np.zeros(n + 1, dtype=np.int64)
    states = np.empty(n, dtype=np.int64)
    k = scc_bottom_up(qual.kernel_array(rm.indptr[rm.state_ptr], np.int64), rm.indices, ptr, states) if n else 0
    return ptr[: k + 1].copy(), states, int(k)


def _backup(rm: _Reduced, v, maximize):
    from mdpkit._kernels.reachability import greedy_pairs

    pair = np.empty(rm.n, dtype=np.int64)
    val = np.empty(rm.n, dtype=np.float64)
    greedy_pairs(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, qual.kernel_array(v, np.float64),
                 np.bool_(maximize), pair, val)
    return pair, val


def _bracket(rm, maximize, x, y, eps_abs, eps_rel, max_sweeps, optimistic, scc):
    from mdpkit._kernels.reachability import bracket_iterate

    ptr, states, _ = scc
    stats = np.zeros(3, dtype=np.int64)
    tol = np.array([eps_abs, eps_rel, float(max_sweeps)])
    bracket_iterate(ptr, states, rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, x, y, tol,
                    np.bool_(maximize), np.bool_(optimistic), stats)
    return stats


def _proper_pairs(rm: _Reduced) -> np.ndarray:
    """One pair per reduced state giving a policy that leaves the reduced model almost surely:
    states with an exit pair take it; the others the pair through which they entered the backward
    attractor of those states (each step has a positive chance of getting closer)."""
    from mdpkit._kernels.reachability import attractor_exists

    n = rm.n
    pstate = np.repeat(np.arange(n, dtype=np.int64), np.diff(rm.state_ptr))
    exits = rm.exit_mass > 1e-15
    target = np.zeros(n, dtype=bool)
    target[pstate[exits]] = True
    first_exit = np.full(n, -1, dtype=np.int64)
    ex = np.flatnonzero(exits)
    first_exit[pstate[ex[::-1]]] = ex[::-1]
    M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(pstate.size, n))
    MT = M.T.tocsr()
    out = np.empty(n, dtype=np.bool_)
    choice = np.empty(n, dtype=np.int64)
    pt_pairs = qual.kernel_array(MT.indices, np.int64)
    attractor_exists(qual.kernel_array(MT.indptr, np.int64), pt_pairs, pstate[pt_pairs],
                     np.ones(pstate.size, dtype=np.bool_), target, np.ones(n, dtype=np.bool_), out, choice)
    pair = np.where(target, first_exit, choice)
    if (pair < 0).any():  # pragma: no cover - excluded by the graph precomputation
        raise RuntimeError("internal error: a reduced state cannot leave the reduced model")
    return pair


def _leaves_surely(rm: _Reduced, pair) -> bool:
    """True when the policy choosing ``pair`` leaves the reduced model almost surely (graph test on
    the policy's own chain: every state reaches a state whose pair has exit mass)."""
    from mdpkit._kernels.reachability import attractor_exists

    n = rm.n
    target = np.ascontiguousarray(rm.exit_mass[pair] > 1e-15)
    if target.all():
        return True
    M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(rm.c.size, n))[pair]
    MT = M.T.tocsr()  # row t: the states whose chosen pair moves to t
    out = np.empty(n, dtype=np.bool_)
    choice = np.empty(n, dtype=np.int64)
    src = qual.kernel_array(MT.indices, np.int64)
    attractor_exists(qual.kernel_array(MT.indptr, np.int64), src, src, np.ones(n, dtype=np.bool_),
                     target, np.ones(n, dtype=np.bool_), out, choice)
    return bool(out.all())


def _start_pairs(rm: _Reduced, maximize: bool, lo0: float, max_sweeps: int = 16):
    """Initial policy of policy iteration: greedy after Jacobi value-iteration sweeps from the lower
    start, stopped once fewer than 0.025 % of the states change their greedy choice in a sweep
    (at most ``max_sweeps``; on the benchmark models about 12 sweeps, after which one improvement
    round is left), if it leaves the reduced model surely; else :func:`_proper_pairs`."""
    from mdpkit._kernels.reachability import jacobi_sweeps

    v = np.full(rm.n, float(lo0) if np.isfinite(lo0) else 0.0)
    pair = np.zeros(rm.n, dtype=np.int64)
    limits = np.array([max_sweeps, rm.n // 4000], dtype=np.int64)
    jacobi_sweeps(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, np.bool_(maximize), limits, pair)
    if _leaves_surely(rm, pair):
        return pair
    return _proper_pairs(rm)


def _evaluate_pairs(rm: _Reduced, pair, x0=None, M=None):
    """Exact value of the policy choosing ``pair`` (one per reduced state): (I - P_pi) v = c_pi.

    Small systems: sparse LU.  Larger: BiCGSTAB with a Jacobi preconditioner (then GMRES, then LU)
    under a one-thread BLAS limit (:func:`one_blas_thread`); accepted only with a residual below
    ``1e-10 max|c_pi|``."""
    import scipy.sparse.linalg as spla

    n = rm.n
    if M is None:
        M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(rm.c.size, n))
    Mp = M[pair]
    b = rm.c[pair]
    A_ = (sp.identity(n, format="csr") - Mp).tocsr()
    scale = max(float(np.abs(b).max()) if n else 0.0, 1e-300)
    accept = 1e-10 * scale
    with one_blas_thread():
        if n <= 2000:
            return np.asarray(spla.spsolve(A_.tocsc(), b), dtype=np.float64)
        inv_d = 1.0 / A_.diagonal()
        prec = spla.LinearOperator(A_.shape, matvec=lambda z: inv_d * z, dtype=np.float64)
        v, info = spla.bicgstab(A_, b, x0=x0, rtol=1e-12, atol=0.0, maxiter=5000, M=prec)
        if info != 0 or not np.all(np.isfinite(v)) or np.abs(A_ @ v - b).max() > accept:
            v, info = spla.gmres(A_, b, x0=x0, rtol=1e-13, atol=0.0, restart=60, maxiter=500, M=prec)
            if info != 0 or np.abs(A_ @ v - b).max() > accept:
                v = spla.spsolve(A_.tocsc(), b)
    return np.asarray(v, dtype=np.float64)


def _pi_rounds(rm, maximize, max_iter, pair):
    """Policy iteration on a reduced model from ``pair`` (which must leave it almost surely).

    A state switches when the gain exceeds ``1e-12 (1 + |v|)``.  (Loose intermediate evaluations
    were tried: on the benchmark models they added more rounds than they saved.)  Returns (v, pair,
    n_iter, residuals)."""
    residuals = []
    v = None
    from mdpkit._kernels.reachability import improve_pairs

    M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(rm.c.size, rm.n))
    best = np.empty(rm.n, dtype=np.int64)
    gain = np.empty(rm.n, dtype=np.float64)
    pair = qual.kernel_array(pair, np.int64)
    for _ in range(max_iter):
        v = _evaluate_pairs(rm, pair, x0=v, M=M)
        improve_pairs(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, np.bool_(maximize), pair, best, gain)
        residuals.append(float(gain.max()) if gain.size else 0.0)
        switch = gain > 1e-12 * (1.0 + np.abs(v))
        if not switch.any():
            break
        pair = qual.kernel_array(np.where(switch, best, pair), np.int64)
    return v, pair, len(residuals), residuals


def _component(rm: _Reduced, comp, v) -> _Reduced:
    """The reduced model restricted to the states ``comp`` (all their pairs), the values ``v`` of
    the other states folded into ``c``; ``rows`` holds the pairs' ids in ``rm``."""
    n, m = rm.n, comp.size
    counts = rm.state_ptr[comp + 1] - rm.state_ptr[comp]
    sptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=sptr[1:])
    rows = np.repeat(rm.state_ptr[comp] - sptr[:-1], counts) + np.arange(sptr[-1])
    M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(rm.c.size, n))[rows]
    loc = np.full(n, -1, dtype=np.int64)
    loc[comp] = np.arange(m)
    lj = loc[M.indices]
    inside = lj >= 0
    row_of = np.repeat(np.arange(rows.size), np.diff(M.indptr))
    c = rm.c[rows] + np.bincount(row_of[~inside], weights=M.data[~inside] * v[M.indices[~inside]], minlength=rows.size)
    Mi = sp.csr_matrix((M.data[inside], (row_of[inside], lj[inside])), shape=(rows.size, m))
    Mi.sum_duplicates()
    exit_mass = 1.0 - np.asarray(Mi.sum(axis=1)).ravel()
    return _Reduced(m, sptr, qual.kernel_array(Mi.indptr, np.int64), qual.kernel_array(Mi.indices, np.int64),
                    qual.kernel_array(Mi.data, np.float64), qual.kernel_array(c, np.float64), rows, loc, exit_mass)


#: Components up to this size are solved inside the topological kernel (dense LU per round).
_DENSE_COMPONENT = 128


def _sound_vi(rm, maximize, eps_abs, eps_rel, max_sweeps):
    """Sound value iteration (Quatmann & Katoen 2018) on the reduced model: (lo, hi, pair, sweeps,
    verified).

    Minimisation runs on the negated constants (``min v = -max(-v)``).  The side of the bracket
    that holds whatever the kernel's choices (the lower side when maximising, the upper side when
    minimising; :func:`mdpkit._kernels.reachability.sound_vi`) is taken as it comes; the other side,
    ``x + y u``, is accepted only when one Bellman backup does not increase it (``T h <= h``, up to
    8-16 ulps; the inductive-bound principle of :mod:`mdpkit.bounds.reachability`), otherwise the
    iteration goes on with a halved precision target.  (The paper instead certifies that side
    through the "decision value" of the action choices; the backup check replaces that
    bookkeeping.)  Without a verified side (sweep cap), that side is +-inf."""
    from mdpkit._kernels.reachability import greedy_pairs, sound_vi

    n = rm.n
    c = qual.kernel_array(rm.c if maximize else -rm.c, np.float64)
    best = np.empty(n, dtype=np.int64)
    x = np.zeros(n)
    y = np.ones(n)
    pair = np.zeros(n, dtype=np.int64)
    bounds = np.array([-np.inf, np.inf])
    stats = np.zeros(2, dtype=np.int64)
    ea, er = float(eps_abs), float(eps_rel)
    verified = False
    hi = np.full(n, np.inf)
    pairs_val = np.empty(n)
    while stats[0] < max_sweeps and not stats[1]:
        tol = np.array([ea, er, float(max_sweeps - stats[0])])
        sound_vi(rm.state_ptr, rm.indptr, rm.indices, rm.data, c, x, y, pair, bounds, tol, stats)
        if not np.isfinite(bounds[1]):
            break
        hi = x + y * bounds[1]
        greedy_pairs(rm.state_ptr, rm.indptr, rm.indices, rm.data, c, hi, np.bool_(True), best, pairs_val)
        if np.all(pairs_val <= hi + 8.0 * np.finfo(np.float64).eps * np.maximum(np.abs(hi), 1.0)):
            verified = True
            break
        ea, er = ea / 2.0, er / 2.0
    L = bounds[0]
    lo = np.where(y > 0.0, x + y * L, x) if np.isfinite(L) else np.full(n, -np.inf)
    if not verified:
        hi = np.full(n, np.inf)
    if maximize:
        return lo, hi, pair, int(stats[0]), verified
    return -hi, -lo, pair, int(stats[0]), verified


def _leaves_under_every_policy(rm: _Reduced) -> bool:
    """True when every policy leaves the reduced model almost surely (no end component inside it):
    the least set W containing every state all of whose pairs either have exit mass or reach W is
    everything (a counter attractor on the graph with one extra node for "outside")."""
    from mdpkit._kernels.reachability import attractor_forall

    n = rm.n
    m = rm.c.size
    pstate = np.repeat(np.arange(n, dtype=np.int64), np.diff(rm.state_ptr))
    rows = np.concatenate([np.repeat(np.arange(m), np.diff(rm.indptr)), np.flatnonzero(rm.exit_mass > 1e-15)])
    cols = np.concatenate([rm.indices, np.full(int(np.sum(rm.exit_mass > 1e-15)), n)])
    T = sp.csr_matrix((np.ones(rows.size), (cols, rows)), shape=(n + 1, m))
    pt_pairs = qual.kernel_array(T.indices, np.int64)
    target = np.zeros(n + 1, dtype=np.bool_)
    target[n] = True
    out = np.empty(n + 1, dtype=np.bool_)
    n_ok = qual.kernel_array(np.append(np.diff(rm.state_ptr), 1), np.int64)
    pstate_x = np.append(pstate, n)
    attractor_forall(qual.kernel_array(T.indptr, np.int64), pt_pairs, pstate_x[pt_pairs], np.ones(m, dtype=np.bool_),
                     n_ok, target, np.ones(n + 1, dtype=np.bool_), out)
    return bool(out[:n].all())


def _topological_pi(rm, maximize, max_iter, pair0, scc):
    """Policy iteration on the strongly connected components bottom-up (each component sees the
    final values of the components below it as constants; Ciesinski et al. 2008, "On
    partitioning and ordering for topological value iteration" style decomposition, with policy
    iteration per component); one dominant component (>= 90 % of the states) is solved as a whole.
    Returns (v, pair, n_iter, residuals)."""
    from mdpkit._kernels.reachability import topological_pi

    ptr, states, k = scc
    n = rm.n
    if k <= 1 or int(np.max(np.diff(ptr))) >= 0.9 * n:
        return _pi_rounds(rm, maximize, max_iter, pair0)
    v = np.zeros(n)
    pair = qual.kernel_array(pair0, np.int64)
    pos = np.full(n, -1, dtype=np.int64)
    stats = np.zeros(2, dtype=np.int64)
    params = np.array([_DENSE_COMPONENT, 0, max_iter], dtype=np.int64)
    n_iter, residuals, ci = 0, [], 0
    while True:
        params[1] = ci
        ci = int(topological_pi(ptr, states, rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, pair,
                                np.bool_(maximize), params, pos, stats))
        if ci >= k:
            break
        comp = states[ptr[ci]:ptr[ci + 1]]
        sub = _component(rm, comp, v)
        local0 = sub.state_ptr[:-1] + (pair[comp] - rm.state_ptr[comp])
        vs, ps, it, res = _pi_rounds(sub, maximize, max_iter, local0)
        v[comp] = vs
        pair[comp] = sub.rows[ps]
        n_iter += it
        residuals.extend(res)
        ci += 1
    return v, pair, n_iter + int(stats[0]), residuals


def _certify(rm, v, maximize, eps_abs, eps_rel):
    """The inductive bracket around the final policy's value: (lo, hi, verified).

    A constant shift is inductive (T(v + w 1) <= T v + w 1 since rows sum to <= 1); a relative
    one is not (a state's neighbours may have larger values).  Checked by one backup each side,
    T lo >= lo and T hi <= hi, up to 8-16 ulps of rounding (both in one pass,
    :func:`mdpkit._kernels.reachability.bracket_is_inductive`).  A slack of delta per backup
    weakens the bound by up to delta times the expected number of steps to leave the reduced
    model (about 1e-12 relative for leaks of 1e-3 per step)."""
    from mdpkit._kernels.reachability import bracket_is_inductive

    width = max(eps_abs, eps_rel * float(np.max(np.abs(v)))) * 1e-3
    lo, hi = v - width, v + width
    ok = bool(bracket_is_inductive(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, lo, hi, np.bool_(maximize)))
    return lo, hi, ok


def policy_value(mdp: TabularMDP, objective: str, goal, avoid, policy) -> np.ndarray:
    r"""Exact value of a deterministic policy for a reachability or reward-to-goal objective.

    The policy's Markov chain is analysed on its graph (probability 0 / 1 states; reward ``inf``
    where the goal is missed with positive probability) and the rest solved as one linear system.

    Parameters
    ----------
    mdp : TabularMDP
    objective : {"pmax", "pmin", "rmax", "rmin"}
        Only ``p*`` versus ``r*`` matters here.
    goal, avoid : bool masks (S,) (``avoid`` may be None)
    policy : int array (S,)

    Returns
    -------
    ndarray float64 (S,)
    """
    from mdpkit.policies import check_policy

    pi = check_policy(mdp, policy)
    if pi.ndim != 1:
        raise InvalidArgumentError("policy_value takes a deterministic policy (S,)")
    S, A = mdp.S, mdp.A
    G = qual.state_set(mdp, goal, "goal")
    B = qual.state_set(mdp, avoid, "avoid") & ~G
    rows = np.arange(S) * A + pi
    chain = TabularMDP(P=sp.csr_matrix(sp.csr_matrix(mdp.P_rows)[rows]), R=np.asarray(mdp.R)[np.arange(S), pi][:, None],
                       gamma=1.0)
    g = qual.support_graph(chain)
    if objective.startswith("p"):
        one = qual.prob1a(chain, G, B) | G
        maybe = ~one & ~(qual.prob0a(chain, G, B) & ~G)
        fixed = np.where(one, 1.0, 0.0)
        rew = np.zeros(S)
    else:
        one = qual.prob1a(chain, G) | G
        maybe = one & ~G
        fixed = np.where(one, 0.0, np.inf)
        rew = np.asarray(chain.R).reshape(-1)
    rm = _reduce(chain, maybe, g.mask1, rew, np.where(np.isfinite(fixed), fixed, 0.0), np.full(S, -1, np.int64))
    out = fixed.copy()
    if rm.n:
        out[maybe] = _evaluate_pairs(rm, np.arange(rm.n))[rm.red[maybe]]
    return out


def max_expected_steps_bound(mdp: TabularMDP, terminal, *, epsilon: float = 1e-2, exact: bool = True) -> tuple[float, np.ndarray]:
    r"""Certified upper bound on :math:`\max_\mu E_\mu[\tau]`, the largest expected number of steps
    to the ``terminal`` set over all policies, when every policy is proper.

    Optimistic value iteration (Hartmanns & Kaminski 2020) on the unit-cost problem
    :math:`w = \max_a (1 + P_a w)` on the non-terminal states, Gauss-Seidel in topological order of
    the strongly connected components, stopped at relative precision ``epsilon``: the returned
    vector ``w`` satisfies :math:`T w \le w`, hence :math:`w \ge \max_\mu E_\mu[\tau]` state-wise
    (every policy proper: :math:`T^k w \to` the maximal expected steps).  A loose ``epsilon`` is
    enough for a certificate and costs a few dozen sweeps.

    Parameters
    ----------
    mdp : TabularMDP
    terminal : bool mask (S,)
        Absorbing states; every policy must reach them almost surely (not checked here; see
        :func:`mdpkit.structure.all_policies_proper`).
    epsilon : float, default 1e-2
    exact : bool, default True
        Solve by policy iteration instead (started from the greedy policy of a few value-iteration
        sweeps, typically two evaluations): the exact maximal expected steps (to linear-solve
        precision), verified by one backup (:math:`Tw \le w` up to rounding); optimistic value
        iteration if the verification fails.

    Returns
    -------
    (bound, w) : (float, ndarray (S,))
        ``max(w)`` and the per-state upper bounds (0 on terminal states); ``inf`` if the sweep
        cap was hit.
    """
    S, A = mdp.S, mdp.A
    term = qual.state_set(mdp, terminal, "terminal")
    g = qual.support_graph(mdp)
    rm = _reduce(mdp, ~term, g.mask1, np.ones(S * A), np.zeros(S), np.full(S, -1, np.int64))
    w = np.zeros(S)
    if rm.n == 0:
        return 0.0, w
    if exact:
        # policy iteration from the greedy policy of a few value-iteration sweeps, certified by the
        # inductive bracket around its value (optimistic value iteration if that fails)
        x, y, _, _, _, ok, _, _, vpi = _solve_reduced(rm, True, method="pi", eps_abs=0.0, eps_rel=float(epsilon),
                                                        max_sweeps=100_000, lo0=0.0, hi0=np.inf, max_iter=1000)
        w[~term] = (vpi if vpi is not None else y)[rm.red[~term]]
        if vpi is None and not ok:
            return math.inf, np.where(term, 0.0, np.inf)
        return float(w.max()), w
    x = np.zeros(rm.n)
    y = np.zeros(rm.n)
    stats = _bracket(rm, True, x, y, 0.0, float(epsilon), 100_000, True, _sccs(rm))
    if stats[2]:
        return math.inf, np.where(term, 0.0, np.inf)
    w[~term] = y[rm.red[~term]]
    return float(w.max()), w


# ============================================================================ the public solvers
def _finish(mdp, *, t0, objective, goal, avoid, v_lo, v_hi, policy, infinite, decided, n_iter, residuals, method,
            options, rm, ncomp, converged, cert_method, v_policy=None, step_bound=None, message=None):
    v_lo = np.asarray(v_lo, dtype=np.float64)
    v_hi = np.asarray(v_hi, dtype=np.float64)
    fin = ~infinite
    with np.errstate(invalid="ignore"):
        mid = np.where(fin, v_lo + 0.5 * (v_hi - v_lo), np.inf)
        mid = np.where(v_lo == v_hi, v_lo, mid)
    half = float(np.max(0.5 * (v_hi[fin] - v_lo[fin]))) if fin.any() else 0.0
    cert_val = bracket_bound(half, method=cert_method)
    certificate = cert_val
    if v_policy is not None:
        g = (v_hi[fin] - v_policy[fin]) if objective.endswith("max") else (v_policy[fin] - v_lo[fin])
        certificate = policy_bracket_bound(float(np.max(g)) if g.size else 0.0)
    return build_result(
        mdp, cls=ReachabilityResult, v=mid, v_error_bound=half, policy=policy, certificate=certificate,
        converged=converged, n_iter=n_iter, residuals=np.asarray(residuals, dtype=np.float64), method=method,
        options=options, t0=t0, v_policy=v_policy,
        policy_evaluator=(None if v_policy is not None or policy is None or policy.ndim != 1
                          else functools.partial(policy_value, mdp, objective, goal, avoid, policy)),
        message=message, v_lower=v_lo, v_upper=v_hi, objective=objective, goal=goal, avoid=avoid,
        infinite=infinite, decided=decided, n_reduced=0 if rm is None else rm.n, n_components=ncomp, step_bound=step_bound,
    )


def _solve_reduced(rm, maximize, *, method, eps_abs, eps_rel, max_sweeps, lo0, hi0, max_iter):
    """Solve the reduced model; returns (x, y, pair, n_iter, residuals, converged, cert_method, ncomp, v_pi)."""
    n = rm.n
    if n == 0:
        e = np.zeros(0)
        return e, e.copy(), np.zeros(0, np.int64), 0, [], True, method, 0, None
    if method == "svi":
        x, y, pair, sweeps, conv = _sound_vi(rm, maximize, eps_abs, eps_rel, max_sweeps)
        return x, y, pair, sweeps, [float(np.max(y - x)) if n else 0.0], conv, "svi", 0, None
    scc = _sccs(rm)
    if method == "pi":
        pair0 = _start_pairs(rm, maximize, lo0)
        try:
            v, pair, it, res = _topological_pi(rm, maximize, max_iter, pair0, scc)
        except np.linalg.LinAlgError:  # pragma: no cover - a singular component system: let OVI decide
            v = None
        if v is not None:
            lo, hi, ok = _certify(rm, v, maximize, eps_abs, eps_rel)
            if ok:
                return lo, hi, pair, it, res, True, "pi", scc[2], v
        method = "ovi"
    x = np.full(n, lo0, dtype=np.float64)
    y = np.full(n, hi0, dtype=np.float64)
    stats = _bracket(rm, maximize, x, y, eps_abs, eps_rel, max_sweeps, method == "ovi", scc)
    pair, _ = _backup(rm, x if maximize else y, maximize)
    return x, y, pair, int(stats[0]), [float(np.max(y - x)) if n else 0.0], not bool(stats[2]), method, scc[2], None


def _lift_policy(mdp, rm, pair, group, mec_pairs, base_policy):
    """Original-state policy from reduced pairs; inside a collapsed end component, the states move
    (with the component's own actions) towards the state owning the chosen leaving pair."""
    S, A = mdp.S, mdp.A
    pol = base_policy.copy()
    if rm is None or rm.n == 0:
        return pol
    rows = rm.rows[pair]
    owner = rows // A
    pol[owner] = rows % A
    if (group >= 0).any():
        g = qual.support_graph(mdp)
        target = np.zeros(S, dtype=bool)
        target[owner] = True
        allowed = group >= 0
        out, choice = qual.attractor(g, target, allowed, mec_pairs)
        sel = allowed & ~target & (choice >= 0)
        pol[sel] = choice[sel] % A
    return pol


def _rewards_checked(mdp, region):
    R = np.asarray(mdp.R, dtype=np.float64)
    bad = mdp.action_mask & (R < 0) & region[:, None]
    if bad.any():
        s, a = map(int, np.argwhere(bad)[0])
        raise InvalidArgumentError(
            f"reward objectives need non-negative rewards; R[{s}, {a}] = {float(R[s, a])!r} (negate the rewards and swap max/min "
            "for costs)")
    return R.reshape(-1)


def reach_probability(
    mdp: TabularMDP,
    goal,
    *,
    maximize: bool = True,
    avoid=None,
    labels=None,
    method: str = "pi",
    epsilon: float = 1e-6,
    relative: bool = True,
    max_sweeps: int = 1_000_000,
    max_iter: int = 1000,
) -> ReachabilityResult:
    r"""Maximal or minimal probability of reaching ``goal`` (avoiding ``avoid``), per state.

    Computes :math:`\Pr^{\max}_s(\neg B\,\mathrm{U}\,G)` (``maximize=True``) or
    :math:`\Pr^{\min}_s`, with a certified bracket ``v_lower <= value <= v_upper`` per state.
    Graph precomputation (:mod:`mdpkit.qualitative`) fixes the states with value 0 and 1; for the
    maximum the maximal end components of the remaining states are collapsed (de Alfaro 1997,
    Alg. 3.1; Haddad & Monmege 2018, Sec. 4), so the fixpoint of the reduced Bellman operator is
    unique and interval iteration from 0 and 1 converges to it from both sides (Haddad & Monmege
    2018, Thm 1 (number not checked against the text)).

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma`` is ignored (the objective is undiscounted).
    goal : bool mask (S,), int state ids, or str
        Goal states, or a label name looked up in ``labels``.
    maximize : bool, default True
    avoid : bool mask, ids or str, optional
        States that end a path unsuccessfully (goal states are never avoided).
    labels : dict of str -> int array, optional
        Named state sets (as returned by :func:`mdpkit.io.load_prism` / :func:`mdpkit.io.load_drn`).
    method : {"pi", "ovi", "ii", "svi"}, default "pi"
        Policy iteration (certified by the verified bracket around its final value; optimistic
        value iteration when the verification fails), optimistic value iteration, interval
        iteration or sound value iteration (see the module docstring).
    epsilon : float, default 1e-6
        Target half-width of the bracket: ``v_upper - v_lower <= 2 epsilon |v|`` (``relative``) or
        ``<= 2 epsilon`` (absolute).  For ``method="pi"`` the bracket is much narrower.
    relative : bool, default True
    max_sweeps : int, default 1_000_000
        Cap on Gauss-Seidel sweeps per strongly connected component (the bracket stays sound).
    max_iter : int, default 1000
        Cap on policy-iteration rounds (``method="pi"``).

    Returns
    -------
    ReachabilityResult
        ``v``, ``v_lower``, ``v_upper`` (S,) in [0, 1]; ``policy`` (S,) int64: maximising, it
        reaches the goal with probability 1 from the value-1 states; minimising, it stays in the
        value-0 states surely.  ``certificate`` the bracket's half-width (or, for ``method="pi"``,
        the verified gap between the policy's exact value and the far side of the bracket).

    Raises
    ------
    InvalidArgumentError
        Unknown label, bad state set, ``method``, ``epsilon`` or caps.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    method = _check_method(method)
    eps, rel = _check_eps(epsilon, relative)
    max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    G = qual.state_set(mdp, goal, "goal", labels)
    B = qual.state_set(mdp, avoid, "avoid", labels) & ~G
    S, A = mdp.S, mdp.A
    g = qual.support_graph(mdp)
    if maximize:
        zero, one, pol1 = qual.prob01max(mdp, G, B)
    else:
        zero, one = qual.prob01min(mdp, G, B)
        pol1 = np.argmax(mdp.action_mask, axis=1).astype(np.int64)
    zero &= ~G
    one |= G
    maybe = ~zero & ~one
    base = pol1.copy()
    if not maximize and zero.any():
        stay = g.pairs_inside(zero).reshape(S, A)
        base[zero] = np.argmax(stay[zero], axis=1)
    fixed = np.where(one, 1.0, 0.0)
    group = np.full(S, -1, dtype=np.int64)
    mec_pairs = np.zeros(S * A, dtype=bool)
    if maximize and maybe.any():
        group, mec_pairs = qual.maximal_end_components(mdp, states=maybe)
    rm = _reduce(mdp, maybe, g.mask1, np.zeros(S * A), fixed, group)
    x, y, pair, n_iter, res, conv, cm, ncomp, vpi = _solve_reduced(
        rm, maximize, method=method, eps_abs=0.0 if rel else eps, eps_rel=eps if rel else 0.0, max_sweeps=max_sweeps,
        lo0=0.0, hi0=1.0, max_iter=max_iter)
    lo, hi = fixed.copy(), fixed.copy()
    lo[maybe] = np.clip(x[rm.red[maybe]], 0.0, 1.0)
    hi[maybe] = np.clip(y[rm.red[maybe]], 0.0, 1.0)
    policy = _lift_policy(mdp, rm, pair, group, mec_pairs, base)
    v_pi = None
    if vpi is not None:
        v_pi = fixed.copy()
        v_pi[maybe] = vpi[rm.red[maybe]]
    return _finish(mdp, t0=t0, objective="pmax" if maximize else "pmin", goal=G, avoid=B, v_lo=lo, v_hi=hi,
                   policy=policy, infinite=np.zeros(S, bool), decided=~maybe, n_iter=n_iter, residuals=res,
                   method="reach_probability", options=dict(maximize=maximize, method=method, epsilon=eps, relative=rel,
                                                            max_sweeps=max_sweeps, max_iter=max_iter, goal_given=True,
                                                            avoid_given=avoid is not None, labels_given=labels is not None),
                   rm=rm, ncomp=ncomp, converged=conv, cert_method=cm, v_policy=None if (vpi is None or group.max() >= 0) else v_pi)


def reach_reward(
    mdp: TabularMDP,
    goal,
    *,
    maximize: bool = False,
    labels=None,
    method: str = "pi",
    epsilon: float = 1e-6,
    relative: bool = True,
    max_sweeps: int = 1_000_000,
    max_iter: int = 1000,
) -> ReachabilityResult:
    r"""Maximal or minimal expected total reward accumulated until ``goal``, ``inf`` where infinite.

    :math:`\operatorname{opt}_\pi E^\pi_s[\sum_{t < \tau_G} R(s_t, a_t)]` with ``R = mdp.R``
    (non-negative), and the model checkers' convention: a policy missing the goal with positive
    probability has value :math:`+\infty`.  Hence ``rmax`` is ``inf`` exactly on the states where
    :math:`\Pr^{\min}(F\,G) < 1` (complement of :func:`mdpkit.qualitative.prob1a`) and ``rmin`` on
    those where :math:`\Pr^{\max}(F\,G) < 1` (complement of :func:`~mdpkit.qualitative.prob1e`);
    ``rmin`` only uses actions that keep :math:`\Pr^{\max} = 1` and collapses the end components
    made of zero-reward actions (any other end component costs :math:`+\infty`, so the SSP
    assumptions of Bertsekas & Tsitsiklis 1991 hold on the reduced model).

    Parameters
    ----------
    mdp : TabularMDP
        ``R`` (S, A) >= 0 on the states with a finite value; ``gamma`` ignored.
    goal : bool mask, ids or label name
    maximize : bool, default False
    labels, method, epsilon, relative, max_sweeps, max_iter
        As :func:`reach_probability`; ``method="ii"`` is refused (no a priori upper bound on
        rewards); ``method="svi"`` is refused for ``rmin`` when end components with positive
        reward remain (sound value iteration needs every policy to leave).

    Returns
    -------
    ReachabilityResult
        ``v`` (S,) float64 with ``inf`` on ``infinite``; bracket ``v_lower``/``v_upper`` (``inf``
        on infinite states); ``policy`` (S,) int64.

    Raises
    ------
    InvalidArgumentError
        Negative reward on a state with a finite value (named), ``method="ii"``, ``"svi"`` as
        above, bad arguments.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    method = _check_method(method, ("ovi", "svi", "pi"))
    eps, rel = _check_eps(epsilon, relative)
    max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    G = qual.state_set(mdp, goal, "goal", labels)
    S, A = mdp.S, mdp.A
    g = qual.support_graph(mdp)
    if maximize:
        finite = qual.prob1a(mdp, G) | G
        pair_ok = g.mask1.copy()
        base = np.argmax(mdp.action_mask, axis=1).astype(np.int64)
    else:
        finite, base = qual.prob1e_strategy(mdp, G)
        finite |= G
        pair_ok = g.pairs_inside(finite)
    maybe = finite & ~G
    R1 = _rewards_checked(mdp, maybe)
    group = np.full(S, -1, dtype=np.int64)
    mec_pairs = np.zeros(S * A, dtype=bool)
    if not maximize and maybe.any():
        zero_pairs = pair_ok & (R1 == 0.0)
        group, mec_pairs = qual.maximal_end_components(mdp, states=maybe, pairs=zero_pairs)
    fixed = np.zeros(S)
    rm = _reduce(mdp, maybe, pair_ok, R1, fixed, group)
    if method == "svi" and not maximize and rm.n and not _leaves_under_every_policy(rm):
        raise InvalidArgumentError(
            "method='svi' needs every policy to leave the undecided states almost surely; this model keeps end "
            "components with positive reward (rmin): use method='pi' or 'ovi'")
    x, y, pair, n_iter, res, conv, cm, ncomp, vpi = _solve_reduced(
        rm, maximize, method=method, eps_abs=0.0 if rel else eps, eps_rel=eps if rel else 0.0, max_sweeps=max_sweeps,
        lo0=0.0, hi0=np.inf, max_iter=max_iter)
    infinite = ~finite
    lo = np.where(infinite, np.inf, 0.0)
    hi = lo.copy()
    lo[maybe] = np.maximum(x[rm.red[maybe]], 0.0)
    hi[maybe] = y[rm.red[maybe]]
    policy = _lift_policy(mdp, rm, pair, group, mec_pairs, base)
    v_pi = None
    if vpi is not None and group.max() < 0:
        v_pi = lo.copy()
        v_pi[maybe] = vpi[rm.red[maybe]]
        v_pi[G] = 0.0
    return _finish(mdp, t0=t0, objective="rmax" if maximize else "rmin", goal=G, avoid=None, v_lo=lo, v_hi=hi,
                   policy=policy, infinite=infinite, decided=~maybe, n_iter=n_iter, residuals=res,
                   method="reach_reward", options=dict(maximize=maximize, method=method, epsilon=eps, relative=rel,
                                                       max_sweeps=max_sweeps, max_iter=max_iter, goal_given=True,
                                                       labels_given=labels is not None),
                   rm=rm, ncomp=ncomp, converged=conv, cert_method=cm, v_policy=v_pi)


def step_bounded_probability(
    mdp: TabularMDP, goal, steps: int, *, maximize: bool = True, avoid=None, labels=None
) -> ReachabilityResult:
    r"""Maximal or minimal probability of reaching ``goal`` within ``steps`` steps (avoiding ``avoid``).

    Backward induction :math:`x_0 = 1_G`, :math:`x_{t+1}(s) = \operatorname{opt}_a \sum_{s'}
    P(s' \mid s, a) x_t(s')` on :math:`s \notin G \cup B` (1 on :math:`G`, 0 on :math:`B`);
    :math:`x_k` is the value (Baier & Katoen 2008, Sec. 10.6.1, bounded until; number not
    checked).  Exact up to floating-point rounding, so the bracket has zero width.

    Parameters
    ----------
    mdp : TabularMDP
    goal, avoid, labels
        As :func:`reach_probability`.
    steps : int >= 0
    maximize : bool, default True

    Returns
    -------
    ReachabilityResult
        ``v`` (S,); ``policy`` (steps, S) int64, row ``t`` the action to take at time ``t`` (with
        ``steps - t`` steps left); ``step_bound`` = ``steps``.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    k = check_int(steps, "steps", minimum=0)
    G = qual.state_set(mdp, goal, "goal", labels)
    B = qual.state_set(mdp, avoid, "avoid", labels) & ~G
    S, A = mdp.S, mdp.A
    P = sp.csr_matrix(mdp.P_rows)
    x = G.astype(np.float64)
    pol = np.zeros((k, S), dtype=np.int64)
    fill = -np.inf if maximize else np.inf
    for t in range(k):
        q = np.where(mdp.action_mask, (P @ x).reshape(S, A), fill)
        a = np.argmax(q, axis=1) if maximize else np.argmin(q, axis=1)
        nx = q[np.arange(S), a]
        nx[G] = 1.0
        nx[B] = 0.0
        pol[k - 1 - t] = a
        x = nx
    return _finish(mdp, t0=t0, objective="pmax" if maximize else "pmin", goal=G, avoid=B, v_lo=x, v_hi=x.copy(),
                   policy=pol, infinite=np.zeros(S, bool), decided=np.zeros(S, bool), n_iter=k, residuals=np.zeros(k),
                   method="step_bounded_probability", options=dict(steps=k, maximize=maximize), rm=None, ncomp=0,
                   converged=True, cert_method="ii", v_policy=x.copy(), step_bound=k,
                   message=f"backward induction over {k} steps (exact up to rounding)")


def _mec_gains(mdp, mec, mec_pairs, maximize):
    """Optimal gain of every MEC (restricted to its own actions), one LP (HiGHS) for all of them:
    min sum_i g_i s.t. g_i + h_s - sum_t P h_t >= R(s, a) for every MEC pair (s, a) (maximising;
    Puterman 1994, Sec. 9.3, communicating case; reversed for minimising)."""
    from scipy.optimize import linprog

    S, A = mdp.S, mdp.A
    k = int(mec.max()) + 1
    states = np.flatnonzero(mec >= 0)
    col = np.full(S, -1, dtype=np.int64)
    col[states] = k + np.arange(states.size)
    rows = np.flatnonzero(mec_pairs)
    P = sp.csr_matrix(mdp.P_rows)[rows]
    s_of = rows // A
    n = rows.size
    sign = 1.0 if maximize else -1.0
    # constraint: -(g_i + h_s - P h) <= -R   (maximise)  |  (g_i + h_s - P h) <= R  (minimise)
    r_idx = np.repeat(np.arange(n), np.diff(P.indptr))
    M = sp.csr_matrix((-P.data, (r_idx, col[P.indices])), shape=(n, k + states.size))
    M = M + sp.csr_matrix((np.ones(n), (np.arange(n), col[s_of])), shape=M.shape)
    M = M + sp.csr_matrix((np.ones(n), (np.arange(n), mec[s_of])), shape=M.shape)
    R = np.asarray(mdp.R).reshape(-1)[rows]
    cost = np.zeros(k + states.size)
    cost[:k] = sign
    # fix h = 0 at one state of each MEC (h is defined up to a constant per MEC)
    first = np.full(k, -1, dtype=np.int64)
    first[mec[states[::-1]]] = states[::-1]
    bounds = [(None, None)] * (k + states.size)
    for i in range(k):  # one bound per MEC, not per state
        bounds[col[first[i]]] = (0.0, 0.0)
    res = linprog(cost, A_ub=-sign * M, b_ub=-sign * R, bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is feasible and bounded for a finite MDP
        raise RuntimeError(f"internal error: MEC gain LP failed: {res.message}")
    return res.x[:k], res.x[k:], col


def long_run_average(mdp: TabularMDP, *, maximize: bool = True, method: str = "pi", epsilon: float = 1e-6) -> ReachabilityResult:
    r"""Maximal or minimal long-run average reward per state (multichain), ``R = mdp.R``.

    (1) Maximal end-component decomposition (:func:`mdpkit.qualitative.maximal_end_components`);
    (2) the optimal gain :math:`g_i` of each MEC with its own actions (one LP, HiGHS; inside a MEC
    the model is communicating, so the optimal gain is constant, Puterman 1994, Thm 9.1.8 (number
    not checked)); (3) the value is the optimal expected gain of the MEC where a run settles,
    :math:`\operatorname{opt}_\pi \sum_i \Pr^\pi(\text{settle in } i)\, g_i`, computed on the
    quotient where every MEC is one state with an extra "stay" action paying :math:`g_i` and
    ending (de Alfaro 1997, Ch. 7; Baier & Katoen 2008, Sec. 10.6 (numbers not checked against
    the text)).

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma`` ignored.
    maximize : bool, default True
    method : {"pi", "ovi"}, default "pi"
        Solver of the quotient (step 3).
    epsilon : float, default 1e-6
        Relative precision target of the quotient solve.

    Returns
    -------
    ReachabilityResult
        ``v`` (S,) the optimal gain per state with bracket ``v_lower``/``v_upper`` (exact LP gains
        inside MECs, certified bracket on the quotient); ``policy`` (S,) int64: outside MECs it
        steers to the chosen MEC; inside a MEC it is greedy for the LP's relative values ``h``
        (gain-optimal when the greedy choice is unique; not certified, ``certificate`` is the
        value bracket only).
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    method = _check_method(method, ("pi", "ovi"))
    eps = check_positive(epsilon, "epsilon")
    S, A = mdp.S, mdp.A
    g = qual.support_graph(mdp)
    mec, mec_pairs = qual.maximal_end_components(mdp)
    gains, h, col = _mec_gains(mdp, mec, mec_pairs, maximize)
    everything = np.ones(S, dtype=bool)
    rm = _reduce(mdp, everything, g.mask1, np.zeros(S * A), np.zeros(S), mec, allow_empty=True)
    # add the "stay in MEC i and collect g_i" pair to every collapsed MEC state
    k = gains.size
    mec_red = np.full(k, -1, dtype=np.int64)
    mstates = np.flatnonzero(mec >= 0)
    mec_red[mec[mstates]] = rm.red[mstates]
    pstate = np.repeat(np.arange(rm.n), np.diff(rm.state_ptr))
    new_state = np.concatenate([pstate, mec_red])
    order = np.argsort(new_state, kind="stable")
    M = sp.csr_matrix((rm.data, rm.indices, rm.indptr), shape=(pstate.size, rm.n))
    M = sp.vstack([M, sp.csr_matrix((k, rm.n))]).tocsr()[order]
    c = np.concatenate([rm.c, gains])[order]
    rows = np.concatenate([rm.rows, -1 - np.arange(k)])[order]
    exit_mass = np.concatenate([rm.exit_mass, np.ones(k)])[order]
    state_ptr = np.zeros(rm.n + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_state, minlength=rm.n), out=state_ptr[1:])
    q = _Reduced(rm.n, state_ptr, qual.kernel_array(M.indptr, np.int64), qual.kernel_array(M.indices, np.int64),
                 qual.kernel_array(M.data, np.float64), qual.kernel_array(c, np.float64), rows, rm.red, exit_mass)
    lo0 = float(gains.min()) if k else 0.0
    x, y, pair, n_iter, res, conv, cm, ncomp, vpi = _solve_reduced(
        q, maximize, method=method, eps_abs=0.0, eps_rel=eps, max_sweeps=1_000_000,
        lo0=lo0, hi0=np.inf, max_iter=1000)
    lo = x[rm.red]
    hi = y[rm.red]
    # policy: outside MECs the chosen pair; in MECs that stay, greedy for h on the MEC's own pairs
    pol = np.argmax(mdp.action_mask, axis=1).astype(np.int64)
    chosen = q.rows[pair]
    leave = chosen >= 0
    pol[chosen[leave] // A] = chosen[leave] % A
    hv = np.zeros(S)
    hv[mstates] = h[col[mstates] - k]
    Pq = (sp.csr_matrix(mdp.P_rows) @ hv).reshape(S, A)
    score = np.where(mec_pairs.reshape(S, A), np.asarray(mdp.R) + Pq, -np.inf if maximize else np.inf)
    stay_mec = np.zeros(k, dtype=bool)
    stay_mec[-1 - chosen[~leave]] = True
    in_stay = (mec >= 0) & stay_mec[np.maximum(mec, 0)]
    best = np.argmax(score, axis=1) if maximize else np.argmin(score, axis=1)
    pol[in_stay] = best[in_stay]
    return _finish(mdp, t0=t0, objective="lramax" if maximize else "lramin", goal=None, avoid=None, v_lo=lo, v_hi=hi,
                   policy=pol, infinite=np.zeros(S, bool), decided=np.zeros(S, bool), n_iter=n_iter, residuals=res,
                   method="long_run_average", options=dict(maximize=maximize, method=method, epsilon=eps), rm=q,
                   ncomp=ncomp, converged=conv, cert_method=cm, v_policy=None)


# ============================================================================ objective strings (CLI)
def parse_objective(text: str) -> dict:
    """Parse ``pmax:GOAL``, ``pmin:GOAL``, ``rmax:GOAL``, ``rmin:GOAL``, ``pmax:GOAL:K`` (step-bounded),
    ``pmax:GOAL:avoid=LABEL``, ``lra`` / ``lramax`` / ``lramin``.

    Returns
    -------
    dict
        ``kind`` ("p", "r" or "lra"), ``maximize`` (bool), ``goal`` (str or None), ``steps`` (int or
        None), ``avoid`` (str or None).

    Raises
    ------
    InvalidArgumentError
        Naming what is wrong and the accepted forms.
    """
    forms = "pmax:GOAL, pmin:GOAL, rmax:GOAL, rmin:GOAL, pmax:GOAL:K, pmax:GOAL:avoid=LABEL, lra, lramax, lramin"
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError(f"objective must be a non-empty string; accepted: {forms}")
    parts = text.strip().split(":")
    head = parts[0].lower()
    if head in ("lra", "lramax", "lramin"):
        if len(parts) != 1:
            raise InvalidArgumentError(f"objective {text!r}: {head} takes no goal; accepted: {forms}")
        return dict(kind="lra", maximize=head != "lramin", goal=None, steps=None, avoid=None)
    if head not in ("pmax", "pmin", "rmax", "rmin"):
        raise InvalidArgumentError(f"objective {text!r}: unknown kind {parts[0]!r}; accepted: {forms}")
    if len(parts) < 2 or not parts[1]:
        raise InvalidArgumentError(f"objective {text!r}: missing the goal label; accepted: {forms}")
    out = dict(kind=head[0], maximize=head.endswith("max"), goal=parts[1], steps=None, avoid=None)
    for extra in parts[2:]:
        if extra.startswith("avoid="):
            if head[0] != "p" or not extra[6:]:
                raise InvalidArgumentError(f"objective {text!r}: avoid= needs a label and a probability objective")
            out["avoid"] = extra[6:]
        elif extra.isdigit():
            if head[0] != "p":
                raise InvalidArgumentError(f"objective {text!r}: step bounds are supported for pmax / pmin only")
            out["steps"] = int(extra)
        else:
            raise InvalidArgumentError(f"objective {text!r}: cannot read {extra!r}; accepted: {forms}")
    return out


def check_objective(model, objective: str, *, labels=None, method: str | None = None, epsilon: float = 1e-6) -> ReachabilityResult:
    """Solve an objective string (:func:`parse_objective`) on a model.

    Parameters
    ----------
    model : TabularMDP or mdpkit LabelledMDP (from the PRISM / DRN / Cassandra readers)
        A ``LabelledMDP`` supplies its labels (``labels=`` adds to / overrides them).
    objective : str
    labels : dict, optional
    method : str, optional
        Passed to the solver (default: each solver's default).
    epsilon : float, default 1e-6

    Returns
    -------
    ReachabilityResult
    """
    spec = parse_objective(objective)
    if isinstance(model, TabularMDP):
        mdp, labs = model, dict(labels or {})
    elif hasattr(model, "mdp") and hasattr(model, "labels"):
        mdp, labs = model.mdp, {**model.labels, **(labels or {})}
    else:
        raise InvalidArgumentError(f"model must be a TabularMDP or a LabelledMDP, got {type(model).__name__}")
    kw = {} if method is None else {"method": method}
    if spec["kind"] == "lra":
        return long_run_average(mdp, maximize=spec["maximize"], epsilon=epsilon, **kw)
    if spec["kind"] == "p":
        if spec["steps"] is not None:
            return step_bounded_probability(mdp, spec["goal"], spec["steps"], maximize=spec["maximize"],
                                            avoid=spec["avoid"], labels=labs)
        return reach_probability(mdp, spec["goal"], maximize=spec["maximize"], avoid=spec["avoid"], labels=labs,
                                 epsilon=epsilon, **kw)
    return reach_reward(mdp, spec["goal"], maximize=spec["maximize"], labels=labs, epsilon=epsilon, **kw)


def format_values(res: ReachabilityResult, states=None) -> str:
    """Lines ``state  value  [lower, upper]`` (``inf`` where infinite) for ``states`` (default all,
    at most 20 shown), for printing by the command line."""
    S = res.v.shape[0]
    ids = np.arange(S) if states is None else np.asarray(states, dtype=np.int64)
    out = [f"{'state':>8}  {'value':>22}  bracket"]
    for s in ids[:20].tolist():
        out.append(f"{s:>8}  {float(res.v[s])!r:>22}  [{float(res.v_lower[s])!r}, {float(res.v_upper[s])!r}]")
    if ids.size > 20:
        out.append(f"... ({ids.size - 20} more states)")
    return "\n".join(out)


def save_scheduler_json(res: ReachabilityResult, path, *, action_names=None) -> None:
    """Write the policy (scheduler) of a result as JSON, atomically.

    Format: ``{"format": "mdpkit-scheduler", "version": 1, "objective": ..., "memoryless": bool,
    "deterministic": true, "choices": [...]}`` where ``choices`` is one action index per state
    (stationary policies) or one list per time step (step-bounded, ``policy[t]`` with ``k - t``
    steps left); with ``action_names`` ((S, A) array of names, e.g. ``LabelledMDP.action_names``)
    the choices are written as names.  Values and brackets go along (``inf`` written as the
    string ``"inf"``).
    """
    import json

    from mdpkit.io import atomic_write

    pol = np.asarray(res.policy)

    def name(s, a):
        if action_names is None:
            return int(a)
        nm = action_names[s, a]
        return str(nm) if nm is not None else int(a)

    if pol.ndim == 1:
        choices = [name(s, a) for s, a in enumerate(pol.tolist())]
    else:
        choices = [[name(s, a) for s, a in enumerate(row)] for row in pol.tolist()]

    def num(x):
        return [float(v) if np.isfinite(v) else ("inf" if v > 0 else "-inf") for v in np.asarray(x, float).tolist()]

    doc = {"format": "mdpkit-scheduler", "version": 1, "objective": res.objective, "memoryless": pol.ndim == 1,
           "deterministic": True, "choices": choices, "value": num(res.v), "value_lower": num(res.v_lower),
           "value_upper": num(res.v_upper)}
    atomic_write(path, json.dumps(doc, indent=1) + "\n")


def solve_file(path, objective: str, *, method: str | None = None, epsilon: float = 1e-6,
               max_bytes: int | None = 2**30):
    """For the command line: read a model-checker file (``.drn``, ``.tra``, ``.mdp`` by extension,
    :mod:`mdpkit.io`) and solve ``objective`` (:func:`parse_objective`).

    Returns
    -------
    (ReachabilityResult, str)
        The result and a printable summary: the objective, the value with its bracket for the
        initial states (all states when there is no ``init`` label; at most 20 shown), ``inf``
        where infinite, and the certificate.

    Raises
    ------
    ModelFileError, InvalidArgumentError
        As the readers and :func:`check_objective`.
    """
    import os

    from mdpkit import io as mio

    ext = os.fspath(path).rsplit(".", 1)[-1].lower()
    readers = {"drn": mio.load_drn, "tra": mio.load_prism, "mdp": mio.load_cassandra}
    if ext not in readers:
        raise InvalidArgumentError(f"{os.fspath(path)!r}: expected a .drn, .tra or .mdp file for --objective")
    rec = readers[ext](path, max_bytes=max_bytes)
    res = check_objective(rec, objective, method=method, epsilon=epsilon)
    states = rec.initial if rec.initial.size else None
    head = (f"{objective}: {res.message}\ncertified: v_lower <= value <= v_upper per state "
            f"({res.certificate.citation})")
    return res, head + "\n" + format_values(res, states)


# ============================================================================ registry
register_solver(SolverSpec(
    key="reach_probability", function=reach_probability, family="reachability",
    summary="max/min probability of reaching a goal set (optionally avoiding a set), certified bracket",
    theorem="Haddad & Monmege 2018, Thm 1; Hartmanns & Kaminski 2020 (numbers not checked against the text)",
    required=("goal",),
))
register_solver(SolverSpec(
    key="reach_reward", function=reach_reward, family="reachability",
    summary="max/min expected total reward until a goal set, inf where infinite, certified bracket",
    theorem="Hartmanns & Kaminski 2020; Bertsekas & Tsitsiklis 1991 (numbers not checked against the text)",
    required=("goal",),
))

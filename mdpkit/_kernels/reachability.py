"""Numba kernels for graph-based reachability precomputation and bracketed value iteration.

Conventions as in :mod:`mdpkit._kernels.bellman`: raw C-contiguous arrays in, preallocated
outputs, no validation, exactly one type signature per kernel (int64 index arrays, float64 values,
bool masks; scalars float64 / int64 / bool, never Python literals).  Plain-numpy twins (test oracles): the attractors' in :mod:`mdpkit.qualitative` (the
``*_reference`` fixpoints), and :func:`greedy_pairs_reference`, :func:`bottom_up_order_reference`,
:func:`interval_iteration_reference` here.

Graph layout: ``pt_indptr`` (S+1,) int64 and ``pt_pairs`` (nnz,) int64 hold, for every state
``t``, the state-action pairs ``r = s*A + a`` with ``P[r, t] > 0`` (the transposed support);
``pair_ok`` (S*A,) bool marks the pairs that may be used and ``pair_state`` (S*A,) int64 the
state owning each pair.

Reduced model (for the value kernels): ``n`` states; state ``s`` owns the pairs
``state_ptr[s] .. state_ptr[s+1]-1``; pair ``k`` has successors ``indices[indptr[k]:indptr[k+1]]``
(int64, in ``[0, n)``) with probabilities ``data`` (row sums <= 1, the missing mass having left
the reduced model) and the constant ``c[k]`` (reward plus the value of the mass that left).
``scc_ptr`` / ``scc_states`` list the strongly connected components of the reduced graph in
bottom-up (reverse topological) order: a component only reaches components listed before it.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def attractor_exists(pt_indptr, pt_pairs, pair_ok, pair_state, target, allowed, out, choice):
    """Least X >= target with s in X when s is allowed and some ok pair of s has a successor in X.

    ``out`` (S,) bool receives X; ``choice`` (S,) int64 the pair through which each added state
    entered (-1 for targets and states outside X).  Linear in the size of the graph (worklist).
    """
    S = target.size
    queue = np.empty(S, dtype=np.int64)
    head = 0
    tail = 0
    for s in range(S):
        out[s] = target[s]
        choice[s] = -1
        if target[s]:
            queue[tail] = s
            tail += 1
    while head < tail:
        t = queue[head]
        head += 1
        for k in range(pt_indptr[t], pt_indptr[t + 1]):
            r = pt_pairs[k]
            if not pair_ok[r]:
                continue
            s = pair_state[r]
            if out[s] or not allowed[s]:
                continue
            out[s] = True
            choice[s] = r
            queue[tail] = s
            tail += 1
    return tail


@njit(cache=True)
def attractor_forall(pt_indptr, pt_pairs, pair_ok, pair_state, n_ok, target, allowed, out):
    """Least X >= target with s in X when s is allowed and *every* ok pair of s has a successor
    in X (``n_ok[s]`` >= 1 ok pairs).  ``out`` (S,) bool receives X.  Linear (counters)."""
    S = target.size
    queue = np.empty(S, dtype=np.int64)
    hit = np.zeros(pair_ok.size, dtype=np.bool_)
    count = np.zeros(S, dtype=np.int64)
    head = 0
    tail = 0
    for s in range(S):
        out[s] = target[s]
        if target[s]:
            queue[tail] = s
            tail += 1
    while head < tail:
        t = queue[head]
        head += 1
        for k in range(pt_indptr[t], pt_indptr[t + 1]):
            r = pt_pairs[k]
            if not pair_ok[r] or hit[r]:
                continue
            hit[r] = True
            s = pair_state[r]
            if out[s] or not allowed[s]:
                continue
            count[s] += 1
            if count[s] == n_ok[s]:
                out[s] = True
                queue[tail] = s
                tail += 1
    return tail


@njit(cache=True)
def _backup(s, state_ptr, indptr, indices, data, c, v, maximize):
    best = 0.0
    for k in range(state_ptr[s], state_ptr[s + 1]):
        acc = c[k]
        for j in range(indptr[k], indptr[k + 1]):
            acc += data[j] * v[indices[j]]
        if k == state_ptr[s] or (acc > best if maximize else acc < best):
            best = acc
    return best


@njit(cache=True)
def bracket_iterate(scc_ptr, scc_states, state_ptr, indptr, indices, data, c, x, y, tol, maximize, optimistic, stats):
    """Bracketed Gauss-Seidel value iteration, component by component, bottom-up.

    ``x`` (n,) must hold a lower bound of the fixpoint (a vector with ``T x >= x``, e.g. 0 for
    probabilities or non-negative rewards).  With ``optimistic`` False, ``y`` must hold an upper
    bound with ``T y <= y`` (interval iteration, Haddad & Monmege 2018); with ``optimistic`` True
    ``y`` is ignored on entry and an upper bound is *guessed and verified* per component
    (optimistic value iteration, Hartmanns & Kaminski 2020): ``y = x + max(tol[0], tol[1] |x|)``,
    accepted only when one Bellman backup does not increase it anywhere in the component,
    ``T y <= y`` (then ``y >= v*`` because every policy of the reduced model leaves the component
    or its cost diverges, so ``T^k y -> v*``); otherwise the lower iteration goes on with a halved
    guess.  Gauss-Seidel updates of ``x`` (``y``) keep ``x <= v*`` (``y >= v*``) by monotonicity
    of ``T``.

    ``tol = [eps_abs, eps_rel, max_sweeps]``: a component is done when every state has
    ``y - x <= 2 max(eps_abs, eps_rel |(x + y)/2|)``.  ``stats`` (3,) int64 receives the total
    number of state-sweeps over components, the number of failed verifications, and 1 if a
    component hit ``max_sweeps`` (its bracket is still sound but wider than asked).
    """
    eps_abs = tol[0]
    eps_rel = tol[1]
    max_sweeps = np.int64(tol[2])
    total = 0
    fails = 0
    hit_max = 0
    for ci in range(scc_ptr.size - 1):
        lo = scc_ptr[ci]
        hi = scc_ptr[ci + 1]
        # a single state without a self-loop: one exact backup of each bound
        trivial = hi - lo == 1
        if trivial:
            s = scc_states[lo]
            for k in range(state_ptr[s], state_ptr[s + 1]):
                for j in range(indptr[k], indptr[k + 1]):
                    if indices[j] == s and data[j] > 0.0:
                        trivial = False
        if trivial:
            s = scc_states[lo]
            x[s] = max(x[s], _backup(s, state_ptr, indptr, indices, data, c, x, maximize))
            yb = _backup(s, state_ptr, indptr, indices, data, c, y, maximize)
            y[s] = yb if optimistic else min(y[s], yb)
            total += 1
            continue
        verified = not optimistic
        guess = 1.0
        sweeps = 0
        while True:
            # one Gauss-Seidel sweep of the known bound(s)
            gap_ok = True
            change = 0.0
            for i in range(lo, hi):
                s = scc_states[i]
                nx = _backup(s, state_ptr, indptr, indices, data, c, x, maximize)
                if nx > x[s]:
                    change = max(change, nx - x[s])
                    x[s] = nx
                if verified:
                    ny = _backup(s, state_ptr, indptr, indices, data, c, y, maximize)
                    if ny < y[s]:
                        y[s] = ny
                    w = 2.0 * max(eps_abs, eps_rel * abs(0.5 * (x[s] + y[s])))
                    if y[s] - x[s] > w:
                        gap_ok = False
            sweeps += 1
            if verified and gap_ok:
                break
            if sweeps >= max_sweeps:
                hit_max = 1
                if not verified:  # no upper bound found: report +-inf-free failure via y = inf
                    for i in range(lo, hi):
                        y[scc_states[i]] = np.inf
                break
            if not verified:
                # guess once the lower iterate moves less than the (shrinking) target width
                thr = 0.0
                for i in range(lo, hi):
                    s = scc_states[i]
                    thr = max(thr, guess * max(eps_abs, eps_rel * abs(x[s])))
                if change <= thr:
                    for i in range(lo, hi):
                        s = scc_states[i]
                        y[s] = x[s] + guess * max(eps_abs, eps_rel * abs(x[s]))
                    # verification phase (Hartmanns & Kaminski 2020): Gauss-Seidel sweeps of both
                    # iterates; a sweep in which no update of y increases it leaves T y <= y (each
                    # state's backup only reads values that have not increased since), which
                    # proves y >= v*.  y falling below x disproves the guess.
                    budget = max(sweeps, 8)
                    for _ in range(budget):
                        all_down = True
                        crossed = False
                        for i in range(lo, hi):
                            s = scc_states[i]
                            nx = _backup(s, state_ptr, indptr, indices, data, c, x, maximize)
                            if nx > x[s]:
                                x[s] = nx
                            ny = _backup(s, state_ptr, indptr, indices, data, c, y, maximize)
                            if ny > y[s]:
                                all_down = False
                            y[s] = ny
                            if y[s] < x[s]:
                                crossed = True
                        sweeps += 1
                        if all_down and not crossed:
                            verified = True
                            break
                        if crossed:
                            break
                    if not verified:
                        fails += 1
                        guess *= 0.5
        total += sweeps * (hi - lo)
    stats[0] = total
    stats[1] = fails
    stats[2] = hit_max
    return total


@njit(cache=True)
def greedy_pairs(state_ptr, indptr, indices, data, c, v, maximize, out_pair, out_val):
    """For every reduced state the best pair (lowest index on ties) and its backup value."""
    n = v.size
    for s in range(n):
        best = 0.0
        arg = state_ptr[s]
        for k in range(state_ptr[s], state_ptr[s + 1]):
            acc = c[k]
            for j in range(indptr[k], indptr[k + 1]):
                acc += data[j] * v[indices[j]]
            if k == state_ptr[s] or (acc > best if maximize else acc < best):
                best = acc
                arg = k
        out_pair[s] = arg
        out_val[s] = best
    return n


@njit(cache=True)
def bottom_up_order(indptr, indices, out):
    """Order the nodes of a DAG (CSR edges ``u -> indices[indptr[u]:indptr[u+1]]``) so that every
    node comes after all of its successors (Kahn's algorithm on the reversed graph)."""
    k = indptr.size - 1
    outdeg = np.empty(k, dtype=np.int64)
    rcount = np.zeros(k + 1, dtype=np.int64)
    for u in range(k):
        outdeg[u] = indptr[u + 1] - indptr[u]
        for j in range(indptr[u], indptr[u + 1]):
            rcount[indices[j] + 1] += 1
    for u in range(k):
        rcount[u + 1] += rcount[u]
    fill = rcount[:-1].copy()
    rev = np.empty(indices.size, dtype=np.int64)
    for u in range(k):
        for j in range(indptr[u], indptr[u + 1]):
            d = indices[j]
            rev[fill[d]] = u
            fill[d] += 1
    tail = 0
    for u in range(k):
        if outdeg[u] == 0:
            out[tail] = u
            tail += 1
    head = 0
    while head < tail:
        d = out[head]
        head += 1
        for j in range(rcount[d], rcount[d + 1]):
            u = rev[j]
            outdeg[u] -= 1
            if outdeg[u] == 0:
                out[tail] = u
                tail += 1
    return tail


# ----------------------------------------------------------------------------- numpy twins (oracles)
def greedy_pairs_reference(state_ptr, indptr, indices, data, c, v, maximize):
    """Twin of :func:`greedy_pairs`: (best pair, best value) per reduced state."""
    m = c.size
    rows = np.repeat(np.arange(m), np.diff(indptr))
    val = c + np.bincount(rows, weights=data * v[indices], minlength=m)
    n = state_ptr.size - 1
    pair = np.empty(n, dtype=np.int64)
    best = np.empty(n)
    for s in range(n):
        seg = val[state_ptr[s]:state_ptr[s + 1]]
        k = int(np.argmax(seg) if maximize else np.argmin(seg))
        pair[s], best[s] = state_ptr[s] + k, seg[k]
    return pair, best


def bottom_up_order_reference(indptr, indices):
    """Twin of :func:`bottom_up_order`: repeatedly take every node whose successors are all taken."""
    k = indptr.size - 1
    done = np.zeros(k, dtype=bool)
    out = []
    while not done.all():
        ready = [u for u in range(k) if not done[u] and all(done[indices[indptr[u]:indptr[u + 1]]])]
        if not ready:
            raise ValueError("not a DAG")
        for u in ready:
            done[u] = True
        out.extend(ready)
    return np.array(out, dtype=np.int64)


def interval_iteration_reference(state_ptr, indptr, indices, data, c, lo, hi, maximize, eps, max_sweeps=10**6):
    """Twin of :func:`bracket_iterate` (interval mode): Jacobi sweeps of both bounds on the whole
    reduced model until ``hi - lo <= 2 eps``."""
    x, y = lo.copy(), hi.copy()
    for _ in range(max_sweeps):
        x = np.maximum(x, greedy_pairs_reference(state_ptr, indptr, indices, data, c, x, maximize)[1])
        y = np.minimum(y, greedy_pairs_reference(state_ptr, indptr, indices, data, c, y, maximize)[1])
        if np.all(y - x <= 2 * eps):
            break
    return x, y

"""Numba kernels for graph-based reachability precomputation and bracketed value iteration.

Conventions as in :mod:`mdpkit._kernels.bellman`: raw C-contiguous arrays in, preallocated
outputs, no validation, exactly one type signature per kernel (int64 index arrays, float64 values,
bool masks; scalars float64 / int64 / bool, never Python literals).  Plain-numpy twins (test oracles): the attractors' in :mod:`mdpkit.qualitative` (the
``*_reference`` fixpoints), and :func:`greedy_pairs_reference`, :func:`scc_bottom_up_reference`,
:func:`interval_iteration_reference`, :func:`jacobi_sweeps_reference`,
:func:`improve_pairs_reference`, :func:`bracket_is_inductive_reference` and
:func:`policy_iteration_reference` (the twin of :func:`topological_pi`) here;
:func:`reduce_rows` is checked against the scipy path of ``solvers.reachability._reduce``.

Graph layout: ``pt_indptr`` (S+1,) int64 and ``pt_pairs`` (nnz,) int64 hold, for every state
``t``, the state-action pairs ``r = s*A + a`` with ``P[r, t] > 0`` (the transposed support);
``pt_state`` (nnz,) int64 the state owning each of those pairs; ``pair_ok`` (S*A,) bool marks
the pairs that may be used.

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
def _seed(target, out):
    """``out = target``; a worklist queue (S,) holding the targets, and its length."""
    queue = np.empty(target.size, dtype=np.int64)
    tail = 0
    for s in range(target.size):
        out[s] = target[s]
        if target[s]:
            queue[tail] = s
            tail += 1
    return queue, tail


@njit(cache=True)
def attractor_exists(pt_indptr, pt_pairs, pt_state, pair_ok, target, allowed, out, choice):
    """Least X >= target with s in X when s is allowed and some ok pair of s has a successor in X.

    ``pt_state`` (nnz,) int64 is the state owning ``pt_pairs[k]`` (read sequentially alongside
    ``pt_pairs``: a random lookup per edge costs more than the rest of the loop).  ``out`` (S,)
    bool receives X; ``choice`` (S,) int64 the pair through which each added state entered (-1 for
    targets and states outside X).  Linear in the size of the graph (worklist).
    """
    choice[:] = -1
    queue, tail = _seed(target, out)
    head = 0
    while head < tail:
        t = queue[head]
        head += 1
        for k in range(pt_indptr[t], pt_indptr[t + 1]):
            s = pt_state[k]
            if out[s] or not allowed[s]:
                continue
            r = pt_pairs[k]
            if not pair_ok[r]:
                continue
            out[s] = True
            choice[s] = r
            queue[tail] = s
            tail += 1
    return tail


@njit(cache=True)
def attractor_forall(pt_indptr, pt_pairs, pt_state, pair_ok, n_ok, target, allowed, out):
    """Least X >= target with s in X when s is allowed and *every* ok pair of s has a successor
    in X (``n_ok[s]`` >= 1 ok pairs).  ``out`` (S,) bool receives X.  Linear (counters)."""
    hit = np.zeros(pair_ok.size, dtype=np.bool_)
    count = np.zeros(target.size, dtype=np.int64)
    queue, tail = _seed(target, out)
    head = 0
    while head < tail:
        t = queue[head]
        head += 1
        for k in range(pt_indptr[t], pt_indptr[t + 1]):
            r = pt_pairs[k]
            if not pair_ok[r] or hit[r]:
                continue
            hit[r] = True
            s = pt_state[k]
            if out[s] or not allowed[s]:
                continue
            count[s] += 1
            if count[s] == n_ok[s]:
                out[s] = True
                queue[tail] = s
                tail += 1
    return tail


@njit(cache=True, inline="always")
def _pair_value(k, indptr, indices, data, c, v):
    """``c[k] + sum_j P[k, j] v[j]`` for one reduced pair."""
    acc = c[k]
    for j in range(indptr[k], indptr[k + 1]):
        acc += data[j] * v[indices[j]]
    return acc


@njit(cache=True, inline="always")
def _best(s, state_ptr, indptr, indices, data, c, v, sign):
    """(``max_k sign * value(k)``, its pair, lowest index on ties) over the pairs of state ``s``;
    the direction enters as a sign, not as a branch per pair (about 30 % faster).  Inlined at
    Numba-IR level: as a called function it made the backups 2-3 times slower."""
    best = -np.inf
    arg = state_ptr[s]
    for k in range(state_ptr[s], state_ptr[s + 1]):
        acc = sign * _pair_value(k, indptr, indices, data, c, v)
        if acc > best:
            best = acc
            arg = k
    return best, arg


@njit(cache=True)
def _backup(s, state_ptr, indptr, indices, data, c, v, maximize):
    sign = 1.0 if maximize else -1.0
    return sign * _best(s, state_ptr, indptr, indices, data, c, v, sign)[0]


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
    """For every reduced state the best pair (lowest index on ties) and its backup value.  (The
    direction enters as a sign, not as a branch per pair: about 30 % faster.)"""
    n = v.size
    sign = 1.0 if maximize else -1.0
    for s in range(n):
        best, arg = _best(s, state_ptr, indptr, indices, data, c, v, sign)
        out_pair[s] = arg
        out_val[s] = sign * best
    return n


@njit(cache=True)
def jacobi_sweeps(state_ptr, indptr, indices, data, c, v, maximize, limits, out_pair):
    """Jacobi Bellman sweeps from ``v`` (updated in place): at most ``limits[0]`` sweeps, stopping
    after the first sweep (not the first) in which at most ``limits[1]`` states changed their
    greedy pair.  ``out_pair`` receives the greedy pairs of the last sweep (lowest index on ties).
    Returns the number of sweeps."""
    n = v.size
    nv = np.empty(n, dtype=np.float64)
    sign = 1.0 if maximize else -1.0
    done = 0
    for it in range(limits[0]):
        ch = 0
        for s in range(n):
            best, arg = _best(s, state_ptr, indptr, indices, data, c, v, sign)
            nv[s] = sign * best
            if it == 0 or out_pair[s] != arg:
                ch += 1
            out_pair[s] = arg
        for s in range(n):
            v[s] = nv[s]
        done = it + 1
        if it > 0 and ch <= limits[1]:
            break
    return done


@njit(cache=True)
def improve_pairs(state_ptr, indptr, indices, data, c, v, maximize, pair, out_best, out_gain):
    """Policy-improvement data in one pass: for every reduced state the best pair (lowest index on
    ties) in ``out_best`` and the gain of switching to it over the current ``pair`` in ``out_gain``
    (>= 0)."""
    n = v.size
    sign = 1.0 if maximize else -1.0
    for s in range(n):
        best, arg = _best(s, state_ptr, indptr, indices, data, c, v, sign)
        out_best[s] = arg
        out_gain[s] = best - sign * _pair_value(pair[s], indptr, indices, data, c, v)
    return n


@njit(cache=True)
def bracket_is_inductive(state_ptr, indptr, indices, data, c, lo, hi, maximize):
    """True when ``T lo >= lo`` and ``T hi <= hi`` hold at every reduced state up to a rounding
    slack of ``8 eps max(|x|, 1)`` (between 8 and 16 ulps of x); both backups in one pass."""
    n = lo.size
    for s in range(n):
        blo = 0.0
        bhi = 0.0
        for k in range(state_ptr[s], state_ptr[s + 1]):
            alo = c[k]
            ahi = c[k]
            for j in range(indptr[k], indptr[k + 1]):
                alo += data[j] * lo[indices[j]]
                ahi += data[j] * hi[indices[j]]
            if k == state_ptr[s]:
                blo = alo
                bhi = ahi
            elif maximize:
                blo = max(blo, alo)
                bhi = max(bhi, ahi)
            else:
                blo = min(blo, alo)
                bhi = min(bhi, ahi)
        if blo < lo[s] - 8.0 * 2.220446049250313e-16 * max(abs(lo[s]), 1.0):
            return False
        if bhi > hi[s] + 8.0 * 2.220446049250313e-16 * max(abs(hi[s]), 1.0):
            return False
    return True


@njit(cache=True)
def scc_bottom_up(indptr, indices, scc_ptr, scc_states):
    """Strongly connected components of a directed graph (CSR edges ``u -> indices[indptr[u]:
    indptr[u+1]]``, duplicates allowed), in bottom-up order: a component only reaches components
    listed before it.

    Tarjan's algorithm (Tarjan 1972) with an explicit call stack; it completes a component after
    every component reachable from it, so the completion order is the bottom-up order.  Writes the
    states of component ``i`` to ``scc_states[scc_ptr[i]:scc_ptr[i+1]]`` (``scc_ptr`` (n+1,),
    ``scc_states`` (n,)) and returns the number of components.
    """
    n = indptr.size - 1
    index = np.full(n, -1, dtype=np.int64)
    low = np.empty(n, dtype=np.int64)
    onstack = np.zeros(n, dtype=np.bool_)
    stack = np.empty(n, dtype=np.int64)
    call_node = np.empty(n, dtype=np.int64)
    call_edge = np.empty(n, dtype=np.int64)
    top = 0
    counter = 0
    k = 0
    filled = 0
    scc_ptr[0] = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        depth = 0
        call_node[0] = root
        call_edge[0] = indptr[root]
        index[root] = counter
        low[root] = counter
        counter += 1
        stack[top] = root
        top += 1
        onstack[root] = True
        while depth >= 0:
            u = call_node[depth]
            e = call_edge[depth]
            if e < indptr[u + 1]:
                call_edge[depth] = e + 1
                w = indices[e]
                if index[w] < 0:
                    index[w] = counter
                    low[w] = counter
                    counter += 1
                    stack[top] = w
                    top += 1
                    onstack[w] = True
                    depth += 1
                    call_node[depth] = w
                    call_edge[depth] = indptr[w]
                elif onstack[w] and index[w] < low[u]:
                    low[u] = index[w]
            else:
                if low[u] == index[u]:
                    while True:
                        top -= 1
                        w = stack[top]
                        onstack[w] = False
                        scc_states[filled] = w
                        filled += 1
                        if w == u:
                            break
                    k += 1
                    scc_ptr[k] = filled
                depth -= 1
                if depth >= 0:
                    p = call_node[depth]
                    if low[u] < low[p]:
                        low[p] = low[u]
    return k


@njit(cache=True)
def topological_pi(scc_ptr, scc_states, state_ptr, indptr, indices, data, c, v, pair, maximize, params, pos, stats):
    """Policy iteration component by component, bottom-up, from component ``params[1]`` on; stops
    at the first component with more than ``params[0]`` states and returns its index (the caller
    solves it with sparse linear algebra and calls again), or the number of components.

    A single state without a self-loop gets one exact backup.  A larger component is solved by
    policy iteration (Howard 1960; Puterman 1994, Sec. 7.2 (number not checked against the text))
    started from ``pair`` (which must leave the reduced model almost surely, hence the component),
    the values of the components below being constants: exact evaluation by a dense LU solve,
    switching a state only when the gain exceeds ``1e-12 (1 + |v|)``, at most ``params[2]`` rounds.
    ``v`` (n,) and ``pair`` (n,) are updated in place; ``pos`` (n,) int64 is workspace (all -1 on
    entry and on exit); ``stats`` (2,) int64 receives the added policy-iteration rounds and 1 if
    the round cap was hit.
    """
    big = params[0]
    start = params[1]
    max_rounds = params[2]
    sign = 1.0 if maximize else -1.0
    ncomp = scc_ptr.size - 1
    for ci in range(start, ncomp):
        lo = scc_ptr[ci]
        hi = scc_ptr[ci + 1]
        m = hi - lo
        if m > big:
            return ci
        if m == 1:
            s = scc_states[lo]
            loop = False
            for k in range(state_ptr[s], state_ptr[s + 1]):
                for j in range(indptr[k], indptr[k + 1]):
                    if indices[j] == s and data[j] > 0.0:
                        loop = True
            if not loop:
                best, arg = _best(s, state_ptr, indptr, indices, data, c, v, sign)
                v[s] = sign * best
                pair[s] = arg
                continue
        for i in range(m):
            pos[scc_states[lo + i]] = i
        M = np.empty((m, m), dtype=np.float64)
        b = np.empty(m, dtype=np.float64)
        for rnd in range(max_rounds):
            M[:, :] = 0.0
            for i in range(m):
                s = scc_states[lo + i]
                k = pair[s]
                M[i, i] += 1.0
                acc = c[k]
                for j in range(indptr[k], indptr[k + 1]):
                    t = indices[j]
                    if pos[t] >= 0:
                        M[i, pos[t]] -= data[j]
                    else:
                        acc += data[j] * v[t]
                b[i] = acc
            x = np.linalg.solve(M, b)
            for i in range(m):
                v[scc_states[lo + i]] = x[i]
            stats[0] += 1
            switched = False
            for i in range(m):
                s = scc_states[lo + i]
                best, arg = _best(s, state_ptr, indptr, indices, data, c, v, sign)
                gain = best - sign * _pair_value(pair[s], indptr, indices, data, c, v)
                if gain > 1e-12 * (1.0 + abs(v[s])):
                    pair[s] = arg
                    switched = True
            if not switched:
                break
            if rnd == max_rounds - 1:
                stats[1] = 1
        for i in range(m):
            pos[scc_states[lo + i]] = -1
    return ncomp


@njit(cache=True)
def sound_vi(state_ptr, indptr, indices, data, c, x, y, pair, bounds, tol, stats):
    """Sound value iteration sweeps (Quatmann & Katoen 2018), maximising, in place.

    ``x`` (n,) accumulates the expected reward (or probability) collected so far and ``y`` (n,)
    the probability of still being inside the reduced model, both under the chosen pairs, updated
    Gauss-Seidel style: ``x(s) = c_a + P_a x``, ``y(s) = P_a y`` for the chosen pair ``a``.
    ``bounds`` (2,) holds ``[L, u]``: ``L`` the best lower bound of ``min_s v*(s)`` found so far and
    ``u`` the current estimate ``max_s x/(1-y)`` (``inf`` until every ``y < 1``).  The pair chosen
    maximises ``x_a + y_a u`` (ties: the smaller ``y_a``); while ``u`` is infinite, the largest
    ``y_a`` (ties: the larger ``x_a``).  After each sweep with every ``y <= 1 - 1e-12``,
    ``L = max(L, min_s x/(1-y))`` and ``u = max_s x/(1-y)``.

    Invariants (per state, after every update, whatever the choices): ``v*(s) >= x(s) + y(s) m``
    with ``m = min v*``, hence ``m >= x(s)/(1-y(s))`` at the minimising state and ``x + y L <= v*``
    (Quatmann & Katoen 2018, Lemma 3 and Sec. 4 (numbers not checked against the text)).  The
    upper side ``x + y u`` depends on the choices and is *not* certified here: the caller verifies
    it by one Bellman backup (``T h <= h``).

    ``tol = [eps_abs, eps_rel, max_sweeps]``; returns when ``y (u - L) <= 2 max(eps_abs, eps_rel
    |x + y (L + u)/2|)`` at every state or after ``max_sweeps`` sweeps.  ``stats`` (2,) int64
    receives the sweeps done (added) and 1 if the cap was hit.
    """
    n = x.size
    eps_abs = tol[0]
    eps_rel = tol[1]
    max_sweeps = np.int64(tol[2])
    L = bounds[0]
    u = bounds[1]
    for it in range(max_sweeps):
        for s in range(n):
            bx = 0.0
            by = 0.0
            bv = 0.0
            arg = state_ptr[s]
            for k in range(state_ptr[s], state_ptr[s + 1]):
                ax = c[k]
                ay = 0.0
                for j in range(indptr[k], indptr[k + 1]):
                    t = indices[j]
                    ax += data[j] * x[t]
                    ay += data[j] * y[t]
                if np.isfinite(u):
                    av = ax + ay * u
                    better = k == state_ptr[s] or av > bv or (av == bv and ay < by)
                else:
                    av = 0.0
                    better = k == state_ptr[s] or ay > by or (ay == by and ax > bx)
                if better:
                    bx = ax
                    by = ay
                    bv = av
                    arg = k
            x[s] = bx
            y[s] = by
            pair[s] = arg
        stats[0] += 1
        ymax = 0.0
        for s in range(n):
            ymax = max(ymax, y[s])
        if ymax > 1.0 - 1e-12:
            continue
        lo_r = np.inf
        hi_r = -np.inf
        for s in range(n):
            r = x[s] / (1.0 - y[s])
            lo_r = min(lo_r, r)
            hi_r = max(hi_r, r)
        L = max(L, lo_r)
        u = hi_r
        done = True
        for s in range(n):
            w = y[s] * (u - L)
            mid = x[s] + y[s] * 0.5 * (L + u)
            if w > 2.0 * max(eps_abs, eps_rel * abs(mid)):
                done = False
                break
        if done:
            bounds[0] = L
            bounds[1] = u
            return it + 1
    bounds[0] = L
    bounds[1] = u
    stats[1] = 1
    return max_sweeps


@njit(cache=True)
def reduce_rows(p_indptr, p_indices, p_data, rows, red, fixed, reward):
    """Rows ``rows`` of the CSR matrix ``P`` restricted to the columns ``t`` with ``red[t] >= 0``
    (renamed ``red[t]``; order kept, zeros dropped): returns ``(indptr, indices, data, c,
    exit_mass)`` with ``c[i] = reward[i] + sum_{t: red[t] < 0} P[rows[i], t] fixed[t]`` and
    ``exit_mass[i] = 1 - sum_{t: red[t] >= 0} P[rows[i], t]``."""
    m = rows.size
    cap = 0
    for i in range(m):
        cap += p_indptr[rows[i] + 1] - p_indptr[rows[i]]
    indptr = np.zeros(m + 1, dtype=np.int64)
    indices = np.empty(cap, dtype=np.int64)
    data = np.empty(cap, dtype=np.float64)
    c = np.empty(m, dtype=np.float64)
    exit_mass = np.empty(m, dtype=np.float64)
    k = 0
    for i in range(m):
        r = rows[i]
        acc = reward[i]
        inside = 0.0
        for j in range(p_indptr[r], p_indptr[r + 1]):
            x = p_data[j]
            if x == 0.0:
                continue
            t = p_indices[j]
            rt = red[t]
            if rt >= 0:
                indices[k] = rt
                data[k] = x
                inside += x
                k += 1
            else:
                acc += x * fixed[t]
        indptr[i + 1] = k
        c[i] = acc
        exit_mass[i] = 1.0 - inside
    indices = indices[:k].copy()
    data = data[:k].copy()
    return indptr, indices, data, c, exit_mass


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


def scc_bottom_up_reference(indptr, indices):
    """Twin of :func:`scc_bottom_up`: scipy's strongly connected components (duplicates summed
    first; scipy 1.17 splits components wrongly on non-canonical CSR input), ordered bottom-up
    by :func:`bottom_up_order_reference` on the condensation.  Returns (scc_ptr, scc_states)."""
    import scipy.sparse as sp
    from scipy.sparse import csgraph

    n = indptr.size - 1
    adj = sp.csr_matrix((np.ones(indices.size), indices, indptr), shape=(n, n))
    adj.sum_duplicates()
    k, lab = csgraph.connected_components(adj, directed=True, connection="strong")
    src = np.repeat(np.arange(n), np.diff(adj.indptr))
    e = lab[src] != lab[adj.indices]
    dag = sp.csr_matrix((np.ones(int(e.sum())), (lab[src][e], lab[adj.indices][e])), shape=(k, k))
    dag.sum_duplicates()
    order = bottom_up_order_reference(dag.indptr, dag.indices)
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    states = np.argsort(rank[lab], kind="stable").astype(np.int64)
    ptr = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(rank[lab], minlength=k), out=ptr[1:])
    return ptr, states


def bottom_up_order_reference(indptr, indices):
    """Bottom-up order of a DAG's nodes: repeatedly take every node whose successors are all taken."""
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


def _pair_values(state_ptr, indptr, indices, data, c, v):
    m = c.size
    rows = np.repeat(np.arange(m), np.diff(indptr))
    return c + np.bincount(rows, weights=data * v[indices], minlength=m)


def jacobi_sweeps_reference(state_ptr, indptr, indices, data, c, v, maximize, limits):
    """Twin of :func:`jacobi_sweeps`: returns (v, pairs, sweeps)."""
    v = v.copy()
    pair = None
    for it in range(int(limits[0])):
        p, v = greedy_pairs_reference(state_ptr, indptr, indices, data, c, v, maximize)
        ch = p.size if pair is None else int(np.sum(p != pair))
        pair = p
        if it > 0 and ch <= limits[1]:
            return v, pair, it + 1
    return v, pair, int(limits[0])


def improve_pairs_reference(state_ptr, indptr, indices, data, c, v, maximize, pair):
    """Twin of :func:`improve_pairs`: (best pairs, gains)."""
    val = _pair_values(state_ptr, indptr, indices, data, c, v)
    best, bv = greedy_pairs_reference(state_ptr, indptr, indices, data, c, v, maximize)
    cur = val[pair]
    return best, (bv - cur) if maximize else (cur - bv)


def bracket_is_inductive_reference(state_ptr, indptr, indices, data, c, lo, hi, maximize):
    """Twin of :func:`bracket_is_inductive`."""
    tlo = greedy_pairs_reference(state_ptr, indptr, indices, data, c, lo, maximize)[1]
    thi = greedy_pairs_reference(state_ptr, indptr, indices, data, c, hi, maximize)[1]
    e = 8.0 * np.finfo(np.float64).eps
    return bool(np.all(tlo >= lo - e * np.maximum(np.abs(lo), 1.0)) and np.all(thi <= hi + e * np.maximum(np.abs(hi), 1.0)))


def policy_iteration_reference(state_ptr, indptr, indices, data, c, pair, maximize, max_rounds=1000):
    """Twin of :func:`topological_pi` (all components): policy iteration on the whole reduced
    model, dense solves.  Returns (v, pair)."""
    n = state_ptr.size - 1
    m = c.size
    rows = np.repeat(np.arange(m), np.diff(indptr))
    P = np.zeros((m, n))
    np.add.at(P, (rows, indices), data)
    pair = pair.copy()
    for _ in range(max_rounds):
        v = np.linalg.solve(np.eye(n) - P[pair], c[pair])
        best, gain = improve_pairs_reference(state_ptr, indptr, indices, data, c, v, maximize, pair)
        switch = gain > 1e-12 * (1.0 + np.abs(v))
        if not switch.any():
            break
        pair = np.where(switch, best, pair)
    return v, pair


def sound_vi_reference(state_ptr, indptr, indices, data, c, x, y, bounds, sweeps):
    """Twin of :func:`sound_vi` for a fixed number of sweeps (no stopping test): returns (x, y, pair,
    bounds)."""
    x, y, bounds = x.copy(), y.copy(), bounds.copy()
    n = x.size
    pair = np.zeros(n, dtype=np.int64)
    for _ in range(sweeps):
        L, u = bounds
        for s in range(n):
            ks = range(state_ptr[s], state_ptr[s + 1])
            ax = [c[k] + sum(data[j] * x[indices[j]] for j in range(indptr[k], indptr[k + 1])) for k in ks]
            ay = [sum(data[j] * y[indices[j]] for j in range(indptr[k], indptr[k + 1])) for k in ks]
            if np.isfinite(u):
                key = [(ax[i] + ay[i] * u, -ay[i], -i) for i in range(len(ax))]
            else:
                key = [(ay[i], ax[i], -i) for i in range(len(ax))]
            i = max(range(len(ax)), key=lambda i: key[i])
            x[s], y[s], pair[s] = ax[i], ay[i], state_ptr[s] + i
        if y.max() <= 1.0 - 1e-12:
            r = x / (1.0 - y)
            bounds = np.array([max(L, r.min()), r.max()])
    return x, y, pair, bounds

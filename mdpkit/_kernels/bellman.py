"""Numba kernels for Bellman backups and the DP loops built on them.

Conventions (see DESIGN.md "Kernels"): raw float64/int64 C-contiguous arrays in, preallocated
outputs, no validation, no defaults.  The model arrives as one argument, the prepared kernel
model ``model = (layout, P2, indptr, indices, data, R1, mask1, S, A)`` built once per
``TabularMDP`` by :func:`mdpkit._kernels.prepare` (unpacked at the top of each kernel, which costs
nothing).  The transition matrix is in it in both forms at once: ``layout`` (a layout code, see
:data:`mdpkit._kernels.DENSE`) selects dense rows ``P2 (S*A, S)`` or CSR
``(indptr, indices, data)``; the unused form is a dummy array.  With code 2 (one stored
entry per row) the sweeps read row ``i``'s entry at position ``i`` and skip ``indptr``; with code
3 (one entry per row, equal to 1.0, and every action available) the parallel greedy sweep skips
``data`` and the mask test too (other kernels treat code 3 as code 2: the same doubles).  Row
``s*A + a`` holds ``P[s, a, :]``.  Argmax ties go to the lowest action index (strict ``>``).
Masked actions (``mask[s*A + a] == False``) are skipped.

One signature per kernel (DESIGN.md "Kernels"): every function here is compiled for exactly one
type signature, so the on-disk cache index of each holds one entry and processes compiling at
the same time cannot leave an index pointing at another overload's machine code.  Hence: the
model tuple has one type (:func:`mdpkit._kernels.prepare` fixes dtypes, contiguity and
read-only flags; int64 ``indptr``, uint32 ``indices``); vectors passed in (``v``, ``pi``) and
outputs are writable float64/int64 C arrays; scalars are int64/float64/bool; and a kernel
never passes a *literal* constant to another non-inlined kernel (Numba would compile a separate
``Literal[bool](True)`` specialisation): write ``bool(True)``, which is a plain bool.
``tests/kernels/test_signatures.py`` checks this after running every solver.

Performance (see STYLE.md, "Performance notes for kernels"):

* a sweep is memory-bound; the dense row product is compiled with
  ``fastmath={"reassoc", "contract"}`` so LLVM vectorises it with several accumulators (never
  ``nnan``/``ninf``: NaN checks keep working); CSR rows are summed in storage order, and
  :func:`mdpkit._kernels.prepare` passes the column indices through an *unsigned* view so
  the gather ``v[indices[k]]`` needs no negative-index wraparound;
* whole iteration loops run inside one compiled call; a sweep whose work (stored entries of
  ``P`` it reads) reaches :data:`PAR_MIN_WORK` runs over :data:`N_CHUNKS` fixed blocks of states
  with ``prange``; every state's backup is computed by the same serial code and the per-block
  reductions are min/max (exact), so results are bitwise independent of the thread count;
* Jacobi loops swap two value buffers instead of copying, and no sweep allocates;
* modified policy iteration on a general CSR model copies the rows ``s*A + pi[s]`` of the current
  policy into a compact CSR once per improvement step (:func:`gather_policy_rows`; only the
  changed states' rows when their lengths allow, :func:`patch_policy_rows`) and runs its evaluation sweeps on that copy
  (:func:`compact_policy_sweep`): one contiguous stream instead of every ``A``-th row of ``P``,
  the same arithmetic in the same order, so the same bits (2-2.5x faster sweeps on the sparse
  Garnet benchmark);
* in the MPI loop, a sweep big enough for the parallel path takes the serial or the parallel path,
  whichever was faster when last timed (:func:`_choose_par`, re-timed every
  :data:`PROBE_EVERY` sweeps): on a machine whose cores other processes use, the parallel path can
  lose to the serial one.  Both paths give the same bits, so results never depend on the
  timing.  Idle OpenMP workers are told not to busy-wait (``OMP_WAIT_POLICY=PASSIVE`` unless the
  user set a policy), since a spinning worker takes the core the next serial sweep needs;
* deterministic models with every action available (code 3, where a row costs one gather and an
  add) have their own parallel greedy sweep with no mask test, and ``A = 4`` (grid worlds) is
  passed as a constant so LLVM unrolls the action loop into selects (1.4x on
  the grid-world benchmark).  It is a separate kernel, not a branch inlined into the generic
  one, because every inlined body multiplies Numba's compile time of the parallel sweep.
"""

import os
import time

# Numba's OpenMP threading layer (GNU libgomp) lets idle worker threads busy-wait after each
# parallel region; on a machine whose cores are shared with other processes, that spinning thread
# takes the core from the main thread's next serial sweep (measured: 2x slower serial sweeps right
# after a parallel one on a loaded 2-core machine).  libgomp reads the policy once, when it is
# loaded (Numba loads it at the first parallel call, after this import); an explicit user setting
# is left alone.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit, objmode, prange  # noqa: E402

# Launch Numba's thread pool now (get_num_threads does; about 50 ms, once per process).  A serial
# kernel that calls a parallel one carries the pool's entry points; Numba re-registers them when
# a *parallel* kernel is loaded from the cache, but not when the serial caller was compiled in a
# process that had loaded its parallel callee from the cache (the caller's cache entry then lacks
# the hook), and calling such a caller first in a new process jumped to address 0 (SIGSEGV:
# seen with single_entry_policy_iteration_loop -> greedy_sweep -> greedy_sweep_on).
numba.get_num_threads()

NEG_INF = -np.inf
# stand-ins for the storage a code-3 sweep never reads (module globals are compile-time constants)
_DUMMY_P2 = np.zeros((1, 1))
_DUMMY_PTR = np.zeros(1, dtype=np.int64)
_DUMMY_DATA = np.zeros(1)

#: Sweeps reading at least this many stored entries of P run in parallel (prange over blocks).
#: Below it the serial path is used: entering a parallel region costs microseconds, which a
#: small sweep cannot repay (and on a loaded machine far more).
PAR_MIN_WORK = 1 << 18
#: Fixed number of state blocks of a parallel sweep (independent of the thread count).
N_CHUNKS = 64
#: In the MPI loop, every PROBE_EVERY-th sweep of a kind runs on the path (serial or parallel)
#: that is currently the slower one, to notice when the load on the machine changes.
PROBE_EVERY = 6


@njit(cache=True)
def _clock():
    """time.perf_counter() (about 1-2 us through objmode).  Used only to choose between the serial
    and the parallel path of a sweep, which give the same bits, so results never depend on it."""
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


@njit(cache=True, inline="always")
def _choose_par(tm, k):
    """Path of the next sweep of kind ``k``: ``tm[k] = (last serial s, last parallel s, count)``.

    Each path is tried once, then the one whose last sweep was faster is taken, except every
    :data:`PROBE_EVERY`-th sweep, which re-times the other one."""
    if tm[k, 1] < 0.0:
        return tm[k, 1] < 0.0
    if tm[k, 0] < 0.0:
        return tm[k, 0] >= 0.0
    tm[k, 2] += 1.0
    best = tm[k, 1] <= tm[k, 0]
    if tm[k, 2] % PROBE_EVERY == 0.0:
        return not best
    return best


@njit(cache=True, fastmath={"reassoc", "contract"})
def _dense_dot(P2, i, v):
    """sum_j P2[i, j] v[j], reassociated so that it vectorises (one call per row)."""
    acc = 0.0
    for j in range(P2.shape[1]):
        acc += P2[i, j] * v[j]
    return acc


@njit(cache=True, inline="always")
def _row_dot(layout, P2, indptr, indices, data, i, v):
    """sum_s' P[i, s'] v[s'] for one state-action row ``i``."""
    if layout == 3:  # CSR_ONE_ENTRY_UNIT: row i's only entry, 1.0, sits at position i
        return 0.0 + v[indices[i]]
    if layout >= 2:  # CSR_ONE_ENTRY: row i's only entry sits at position i
        return 0.0 + data[i] * v[indices[i]]
    if layout:
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * v[indices[k]]
        return acc
    return _dense_dot(P2, i, v)


@njit(cache=True, inline="always")
def _work(layout, P2, data, A, per_state):
    """Stored entries of P read by one sweep (all actions, or one action per state)."""
    n = data.shape[0] if layout else P2.shape[0] * P2.shape[1]
    return n if not per_state else n // max(A, 1)


@njit(cache=True, inline="always")
def _chunk(c, n_chunks, S):
    return (c * S) // n_chunks, ((c + 1) * S) // n_chunks


# ---------------------------------------------------------------------------- one backup
@njit(cache=True, inline="always")
def _q_rows(layout, P2, indptr, indices, data, R1, gamma, v, q_out, lo, hi):
    for i in range(lo, hi):
        q_out[i] = R1[i] + gamma * _row_dot(layout, P2, indptr, indices, data, i, v)


@njit(cache=True, parallel=True)
def _bellman_q_par(model, gamma, v, q_out):
    layout, P2, indptr, indices, data, R1, _mask1, _S, _A = model
    n = R1.shape[0]
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, n)
        _q_rows(layout, P2, indptr, indices, data, R1, gamma, v, q_out, lo, hi)


@njit(cache=True)
def bellman_q(model, gamma, v, q_out):
    """q_out[s*A + a] = R[s, a] + gamma * sum_s' P[s, a, s'] v[s'] for every row."""
    layout, P2, indptr, indices, data, R1, _mask1, _S, _A = model
    if _work(layout, P2, data, 1, False) >= PAR_MIN_WORK:
        _bellman_q_par(model, gamma, v, q_out)
    else:
        _q_rows(layout, P2, indptr, indices, data, R1, gamma, v, q_out, 0, R1.shape[0])


@njit(cache=True)
def greedy_max(model, q, v_out, pi_out):
    """v_out[s] = max_a q[s, a] over available actions; pi_out the lowest maximiser."""
    _layout, _P2, _indptr, _indices, _data, _R1, mask1, S, A = model
    for s in range(S):
        best = NEG_INF
        arg = -1
        for a in range(A):
            i = s * A + a
            if mask1[i] and (arg < 0 or q[i] > best):
                best = q[i]
                arg = a
        v_out[s] = best
        pi_out[s] = arg


# ---------------------------------------------------------------------------- fused sweeps
@njit(cache=True, inline="always")
def _masked_best(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, s):
    """The exact masked greedy choice at state ``s``: the first available action, then any
    available action with a strictly larger value (the slow path of :func:`_greedy_body`)."""
    best = NEG_INF
    arg = -1
    for a in range(A):
        i = s * A + a
        if mask1[i]:
            val = R1[i] + gamma * _row_dot(layout, P2, indptr, indices, data, i, v)
            if arg < 0 or val > best:
                best = val
                arg = a
    return best, arg


@njit(cache=True, inline="always")
def _greedy_body(layout, masked, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out,
                 store_q, lo, hi, stats, c):
    dmin = np.inf
    dmax = -np.inf
    res = 0.0
    for s in range(lo, hi):
        # argmax over all actions first: a mask test inside this loop makes LLVM branch on every
        # comparison, and on a random-looking argmax those branches mispredict (5x slower on the
        # grid-world benchmark).  The winner is then checked against the mask; if it is masked
        # (or no value compared greater than -inf) the state is redone exactly by _masked_best.
        best = NEG_INF
        arg = -1
        for a in range(A):
            i = s * A + a
            val = R1[i] + gamma * _row_dot(layout, P2, indptr, indices, data, i, v)
            if store_q:
                q_out[i] = val
            if val > best:
                best = val
                arg = a
        if arg < 0 or (masked and not mask1[s * A + arg]):
            best, arg = _masked_best(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, s)
        v_out[s] = best
        pi_out[s] = arg
        d = best - v[s]
        if d < dmin:
            dmin = d
        if d > dmax:
            dmax = d
        if abs(d) > res:
            res = abs(d)
    stats[c, 0] = dmin
    stats[c, 1] = dmax
    stats[c, 2] = res


@njit(cache=True, inline="always")
def _greedy_rows(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out, store_q,
                 lo, hi, stats, c):
    """States lo..hi-1: v_out[s] = (T v)(s), pi_out[s] its lowest available maximiser, optionally q_out.

    stats[c] = (min d, max d, max |d|) over the block, d = v_out - v.  The layout test is hoisted
    out of the state loop: each branch inlines the body with a constant layout, which LLVM folds.
    With finite values the choice is the lowest-index maximiser among available actions; a NaN
    value is never chosen over a number, and if no available value compares greater than -inf
    the first available action is chosen.
    """
    if layout >= 2:  # code 3 reads data here: the same doubles (only the parallel unit sweep skips it)
        _greedy_body(2, True, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out,
                     store_q, lo, hi, stats, c)
    elif layout:
        _greedy_body(1, True, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out,
                     store_q, lo, hi, stats, c)
    else:
        _greedy_body(0, True, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out,
                     store_q, lo, hi, stats, c)


@njit(cache=True, parallel=True)
def _greedy_sweep_par(model, gamma, v, v_out, pi_out, q_out, store_q, stats):
    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, S)
        _greedy_rows(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out, store_q,
                     lo, hi, stats, c)


@njit(cache=True, parallel=True)
def _greedy_sweep_unit_par(model, gamma, v, v_out, pi_out, q_out, store_q, stats):
    """:func:`_greedy_sweep_par` for code 3: one stored entry per row, equal to 1.0, and every action
    available (so no mask test; see module notes).  ``store_q`` is made a constant as well: a
    runtime test next to the inlined fallback keeps LLVM from unrolling the action loop (2x slower)."""
    _layout, _P2, _indptr, indices, _data, R1, mask1, S, A = model
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, S)
        if A == 4 and not store_q:
            _greedy_body(3, False, _DUMMY_P2, _DUMMY_PTR, indices, _DUMMY_DATA, R1, mask1, 4, gamma, v, v_out,
                         pi_out, q_out, False, lo, hi, stats, c)
        elif A == 4:
            _greedy_body(3, False, _DUMMY_P2, _DUMMY_PTR, indices, _DUMMY_DATA, R1, mask1, 4, gamma, v, v_out,
                         pi_out, q_out, True, lo, hi, stats, c)
        else:
            _greedy_body(3, False, _DUMMY_P2, _DUMMY_PTR, indices, _DUMMY_DATA, R1, mask1, A, gamma, v, v_out,
                         pi_out, q_out, store_q, lo, hi, stats, c)


@njit(cache=True, inline="always")
def _reduce(stats, n):
    dmin = stats[0, 0]
    dmax = stats[0, 1]
    res = stats[0, 2]
    for c in range(1, n):
        dmin = min(dmin, stats[c, 0])
        dmax = max(dmax, stats[c, 1])
        res = max(res, stats[c, 2])
    return dmin, dmax, res


@njit(cache=True)
def greedy_sweep(model, gamma, v, v_out, pi_out, q_out, store_q, stats):
    """One fused Bellman sweep ``v_out = T v`` with greedy ``pi_out`` (and ``q_out`` if ``store_q``).

    ``stats`` is a (N_CHUNKS, 3) scratch buffer.  Returns ``(min d, max d, max |d|)`` of
    ``d = v_out - v``.  ``v`` and ``v_out`` must not alias.
    """
    layout, P2, _indptr, _indices, data, _R1, _mask1, _S, A = model
    par = _work(layout, P2, data, A, False) >= PAR_MIN_WORK
    return greedy_sweep_on(model, gamma, v, v_out, pi_out, q_out, store_q, stats, par)


@njit(cache=True)
def greedy_sweep_on(model, gamma, v, v_out, pi_out, q_out, store_q, stats, par):
    """:func:`greedy_sweep` on the parallel path (``par``) or the serial one: the same bits."""
    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    if par:
        if layout == 3:
            _greedy_sweep_unit_par(model, gamma, v, v_out, pi_out, q_out, store_q, stats)
        else:
            _greedy_sweep_par(model, gamma, v, v_out, pi_out, q_out, store_q, stats)
        return _reduce(stats, N_CHUNKS)
    _greedy_rows(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, v_out, pi_out, q_out, store_q,
                 0, S, stats, 0)
    return _reduce(stats, 1)


@njit(cache=True, inline="always")
def _policy_body(layout, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c):
    dmin = np.inf
    dmax = -np.inf
    for s in range(lo, hi):
        i = s * A + pi[s]
        x = R1[i] + gamma * _row_dot(layout, P2, indptr, indices, data, i, v)
        v_out[s] = x
        d = x - v[s]
        if d < dmin:
            dmin = d
        if d > dmax:
            dmax = d
    stats[c, 0] = dmin
    stats[c, 1] = dmax
    stats[c, 2] = max(abs(dmin), abs(dmax))


@njit(cache=True, inline="always")
def _policy_rows(layout, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c):
    """States lo..hi-1: v_out = T_pi v; the layout test hoisted out of the loop (see _greedy_rows)."""
    if layout >= 2:
        _policy_body(2, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c)
    elif layout:
        _policy_body(1, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c)
    else:
        _policy_body(0, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c)


@njit(cache=True, parallel=True)
def _policy_sweep_par(model, gamma, pi, v, v_out, stats):
    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, S)
        _policy_rows(layout, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, lo, hi, stats, c)


@njit(cache=True)
def policy_sweep(model, gamma, pi, v, v_out, stats):
    """``v_out = T_pi v`` for a deterministic ``pi``; returns (min, max, max abs) of ``v_out - v``."""
    layout, P2, _indptr, _indices, data, _R1, _mask1, _S, A = model
    par = _work(layout, P2, data, A, True) >= PAR_MIN_WORK
    return policy_sweep_on(model, gamma, pi, v, v_out, stats, par)


@njit(cache=True)
def policy_sweep_on(model, gamma, pi, v, v_out, stats, par):
    """:func:`policy_sweep` on the parallel path (``par``) or the serial one: the same bits."""
    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    if par:
        _policy_sweep_par(model, gamma, pi, v, v_out, stats)
        return _reduce(stats, N_CHUNKS)
    _policy_rows(layout, P2, indptr, indices, data, R1, gamma, pi, A, v, v_out, 0, S, stats, 0)
    return _reduce(stats, 1)


@njit(cache=True)
def policy_backup(model, gamma, pi, v, v_out):
    """v_out[s] = R[s, pi[s]] + gamma * sum_s' P[s, pi[s], s'] v[s'] (deterministic pi)."""
    stats = np.empty((N_CHUNKS, 3))
    policy_sweep(model, gamma, pi, v, v_out, stats)


# ---------------------------------------------------------------------------- compact policy rows
@njit(cache=True)
def policy_rows_capacity(model):
    """sum_s max_a (stored entries of row s*A + a): room for the rows of any policy (CSR layouts)."""
    _layout, _P2, indptr, _indices, _data, _R1, _mask1, S, A = model
    cap = 0
    for s in range(S):
        longest = 0
        for a in range(A):
            i = s * A + a
            n = indptr[i + 1] - indptr[i]
            if n > longest:
                longest = n
        cap += longest
    return cap


@njit(cache=True, inline="always")
def _gather_rows(indptr, indices, data, R1, A, pi, c_ptr, c_idx, c_data, c_r, lo, hi):
    for s in range(lo, hi):
        i = s * A + pi[s]
        k0 = indptr[i]
        j = c_ptr[s]
        for k in range(k0, indptr[i + 1]):
            c_idx[j] = indices[k]
            c_data[j] = data[k]
            j += 1
        c_r[s] = R1[i]


@njit(cache=True, parallel=True)
def _gather_policy_rows_par(model, pi, compact):
    _layout, _P2, indptr, indices, data, R1, _mask1, S, A = model
    c_ptr, c_idx, c_data, c_r = compact
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, S)
        _gather_rows(indptr, indices, data, R1, A, pi, c_ptr, c_idx, c_data, c_r, lo, hi)


@njit(cache=True)
def gather_policy_rows(model, pi, compact):
    """Copy the rows ``s*A + pi[s]`` of a CSR model into the compact CSR ``compact``.

    ``compact = (c_ptr, c_idx, c_data, c_r)``: ``c_ptr`` int64 (S+1,), ``c_idx`` uint32 and
    ``c_data`` float64 with room for :func:`policy_rows_capacity` entries, ``c_r`` float64 (S,).
    Afterwards row ``s`` of ``(c_ptr, c_idx, c_data)`` is row ``s*A + pi[s]`` of ``P`` with its
    entries in storage order (so a sweep over it sums them in the same order as
    :func:`policy_sweep`, bitwise), and ``c_r[s] = R[s, pi[s]]``.  Returns the number of entries.
    """
    return gather_policy_rows_on(model, pi, compact, policy_rows_capacity(model) >= PAR_MIN_WORK)


@njit(cache=True)
def gather_policy_rows_on(model, pi, compact, par):
    """:func:`gather_policy_rows`, the copy on the parallel path (``par``) or the serial one."""
    _layout, _P2, indptr, indices, data, R1, _mask1, S, A = model
    c_ptr, c_idx, c_data, c_r = compact
    c_ptr[0] = 0
    for s in range(S):
        i = s * A + pi[s]
        c_ptr[s + 1] = c_ptr[s] + (indptr[i + 1] - indptr[i])
    nnz = c_ptr[S]
    if par:
        _gather_policy_rows_par(model, pi, compact)
    else:
        _gather_rows(indptr, indices, data, R1, A, pi, c_ptr, c_idx, c_data, c_r, 0, S)
    return nnz


@njit(cache=True)
def patch_policy_rows(model, pi, pi_prev, compact):
    """Update the compact rows of policy ``pi_prev`` (from :func:`gather_policy_rows`) to ``pi`` in place.

    Only the states whose action changed are copied, and only while the new row has as many
    stored entries as the old one (so every other row stays where it is; always the case when
    every row of ``P`` has the same length, as in a Garnet).  ``pi_prev[s]`` is set to ``pi[s]``
    for every state copied.  Returns False at the first state whose new row has another length
    (then ``compact`` describes neither policy: call :func:`gather_policy_rows`), else True, and
    ``compact`` then holds exactly what :func:`gather_policy_rows` would write for ``pi``.
    """
    _layout, _P2, indptr, indices, data, R1, _mask1, S, A = model
    c_ptr, c_idx, c_data, c_r = compact
    for s in range(S):
        a = pi[s]
        if a != pi_prev[s]:
            i = s * A + a
            k0 = indptr[i]
            j0 = c_ptr[s]
            n = indptr[i + 1] - k0
            if n != c_ptr[s + 1] - j0:
                return False
            for t in range(n):
                c_idx[j0 + t] = indices[k0 + t]
                c_data[j0 + t] = data[k0 + t]
            c_r[s] = R1[i]
            pi_prev[s] = a
    return True


@njit(cache=True, inline="always")
def _compact_body(c_ptr, c_idx, c_data, c_r, gamma, v, v_out, lo, hi, stats, c):
    """v_out[s] = c_r[s] + gamma * (row s of the compact CSR) . v for s in lo..hi-1 (the arithmetic
    of _policy_body with layout 1, term for term)."""
    dmin = np.inf
    dmax = -np.inf
    for s in range(lo, hi):
        acc = 0.0
        for k in range(c_ptr[s], c_ptr[s + 1]):
            acc += c_data[k] * v[c_idx[k]]
        x = c_r[s] + gamma * acc
        v_out[s] = x
        d = x - v[s]
        if d < dmin:
            dmin = d
        if d > dmax:
            dmax = d
    stats[c, 0] = dmin
    stats[c, 1] = dmax
    stats[c, 2] = max(abs(dmin), abs(dmax))


@njit(cache=True, parallel=True)
def _compact_policy_sweep_par(compact, gamma, v, v_out, stats):
    c_ptr, c_idx, c_data, c_r = compact
    S = c_r.shape[0]
    for c in prange(N_CHUNKS):
        lo, hi = _chunk(c, N_CHUNKS, S)
        _compact_body(c_ptr, c_idx, c_data, c_r, gamma, v, v_out, lo, hi, stats, c)


@njit(cache=True)
def compact_policy_sweep(model, compact, gamma, v, v_out, stats):
    """:func:`policy_sweep` on the rows gathered by :func:`gather_policy_rows` (same bits).

    ``v_out = T_pi v``; returns (min, max, max abs) of ``v_out - v``.  Reads one contiguous
    stream instead of every A-th row of ``P`` (and no ``indptr`` of the full model).
    """
    c_ptr = compact[0]
    S = c_ptr.shape[0] - 1
    par = c_ptr[S] >= PAR_MIN_WORK
    return compact_policy_sweep_on(model, compact, gamma, v, v_out, stats, par)


@njit(cache=True)
def compact_policy_sweep_on(model, compact, gamma, v, v_out, stats, par):
    """:func:`compact_policy_sweep` on the parallel path (``par``) or the serial one: the same bits."""
    c_ptr, c_idx, c_data, c_r = compact
    S = c_r.shape[0]
    if par:
        _compact_policy_sweep_par(compact, gamma, v, v_out, stats)
        return _reduce(stats, N_CHUNKS)
    _compact_body(c_ptr, c_idx, c_data, c_r, gamma, v, v_out, 0, S, stats, 0)
    return _reduce(stats, 1)


# ---------------------------------------------------------------------------- loops
@njit(cache=True)
def value_iteration_loop(model, gamma, v, tol, use_span, max_iter, q, v_new, pi_out, residuals, spans, dminmax):
    """Jacobi value iteration v_{k+1} = T v_k, result left in ``v``.

    Stops after the first iteration whose difference d = v_{k+1} - v_k has
    ``span(d) < tol`` (``use_span``) or ``max|d| < tol``.  On return ``v`` holds the last iterate
    v_{n}, ``pi_out`` the greedy policy of v_{n-1} (so T_pi v_{n-1} = v_n), ``q`` the backup of
    v_{n-1}, ``dminmax`` the min and max of the last d, ``residuals``/``spans`` the
    per-iteration max|d| and span(d).  ``v`` and ``v_new`` are swapped between sweeps (no
    copies); q is written once, after the loop.  Returns ``(n_iter, converged)``.
    """
    stats = np.empty((N_CHUNKS, 3))
    no_q = bool(False)  # a plain bool, not a literal: see "One signature per kernel" in the module notes
    cur = v
    nxt = v_new
    n = 0
    converged = False
    while True:
        dmin, dmax, res = greedy_sweep(model, gamma, cur, nxt, pi_out, q, no_q, stats)
        residuals[n] = res
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        crit = dmax - dmin if use_span else res
        if crit < tol:
            converged = True
            break
        if n >= max_iter:
            break
        cur, nxt = nxt, cur
    # nxt = v_n = T cur, cur = v_{n-1}; n - 1 swaps happened
    bellman_q(model, gamma, cur, q)
    if (n - 1) % 2 == 0:  # nxt is v_new
        v[:] = nxt
    return n, converged


@njit(cache=True, inline="always")
def _gauss_seidel_sweep(layout, P2, indptr, indices, data, R1, mask1, S, A, gamma, v):
    """One in-place Gauss-Seidel sweep; returns max |change|.  Same greedy rule as _greedy_body."""
    res = 0.0
    for s in range(S):
        best = NEG_INF
        arg = -1
        for a in range(A):
            i = s * A + a
            val = R1[i] + gamma * _row_dot(layout, P2, indptr, indices, data, i, v)
            if val > best:
                best = val
                arg = a
        if arg < 0 or not mask1[s * A + arg]:
            best, arg = _masked_best(layout, P2, indptr, indices, data, R1, mask1, A, gamma, v, s)
        d = abs(best - v[s])
        if d > res:
            res = d
        v[s] = best
    return res


@njit(cache=True)
def gauss_seidel_loop(model, gamma, v, tol, max_iter, residuals):
    """Gauss-Seidel value iteration: states updated in order 0..S-1, in place on ``v``.

    Each state's backup uses the values already updated in the same sweep (so the sweep is
    serial by nature; it costs the same as a serial Jacobi sweep).  Stops after the first sweep
    whose max change is below ``tol``.  Returns ``(n_iter, converged)``.
    """
    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    n = 0
    converged = False
    while n < max_iter:
        if layout >= 2:
            res = _gauss_seidel_sweep(2, P2, indptr, indices, data, R1, mask1, S, A, gamma, v)
        elif layout:
            res = _gauss_seidel_sweep(1, P2, indptr, indices, data, R1, mask1, S, A, gamma, v)
        else:
            res = _gauss_seidel_sweep(0, P2, indptr, indices, data, R1, mask1, S, A, gamma, v)
        residuals[n] = res
        n += 1
        if res < tol:
            converged = True
            break
    return n, converged


@njit(cache=True)
def modified_policy_iteration_loop(model, gamma, v, tol, m, eval_rtol, max_iter, q, v_new, pi_out, residuals, spans,
                                   dminmax, n_eval):
    """Modified policy iteration (Puterman 1994, Sec. 6.5), result left in ``v``.

    Each iteration is one improvement sweep u_0 = T v_k (greedy pi_k, q stored) followed by at
    most ``m`` partial evaluation sweeps u_{j+1} = T_{pi_k} u_j; v_{k+1} = u_j.  With
    ``eval_rtol > 0`` the partial evaluation stops early, after the first sweep with
    span(u_{j+1} - u_j) < eval_rtol * span(T v_k - v_k) (an adaptive order sequence m_k <= m);
    ``eval_rtol = 0`` gives ``m`` sweeps, or fewer when a sweep changes no value (a floating-point
    fixed point of T_pi, after which every sweep gives the same bits).  The stopping test is applied to
    d = T v_k - v_k at the improvement step: ``span(d) < tol``; then ``pi_out`` is greedy for
    v_k, ``q`` its backup, ``dminmax`` holds min/max of d and ``v`` is left equal to T v_k.
    ``n_eval[0]`` receives the total number of partial evaluation sweeps.
    Returns ``(n_iter, converged)``.

    On a general CSR model (layout code 1, ``A > 1``) the rows ``s*A + pi_k[s]`` are copied once
    per improvement step into a compact CSR by :func:`gather_policy_rows` (or only those of the
    states whose action changed, by :func:`patch_policy_rows`), and the evaluation sweeps run on it
    (:func:`compact_policy_sweep`: one contiguous stream, the same bits as :func:`policy_sweep`).
    """
    layout, P2, _indptr, _indices, data, _R1, _mask1, S, A = model
    stats = np.empty((N_CHUNKS, 3))
    store_q = bool(True)  # a plain bool, not a literal (module notes)
    use_compact = layout == 1 and A > 1 and m > 0
    cap = policy_rows_capacity(model) if use_compact else 0
    n_ptr = S + 1 if use_compact else 1
    n_pi = S if use_compact else 0
    compact = (np.zeros(n_ptr, dtype=np.int64), np.empty(cap, dtype=np.uint32), np.empty(cap),
               np.empty(n_pi))
    pi_prev = np.empty(n_pi, dtype=np.int64)
    have_rows = False
    # sweeps big enough for the parallel path take whichever path was faster when last timed
    # (tm rows: improvement, evaluation; see _choose_par): both give the same bits
    adapt_g = _work(layout, P2, data, A, False) >= PAR_MIN_WORK
    adapt_e = (cap if use_compact else _work(layout, P2, data, A, True)) >= PAR_MIN_WORK
    tm = np.full((2, 3), -1.0)
    tm[:, 2] = 0.0
    t0 = 0.0
    cur = v
    nxt = v_new
    swaps = 0
    n = 0
    n_ev = 0
    converged = False
    while n < max_iter:
        par = adapt_g
        if adapt_g:
            par = _choose_par(tm, 0)
            t0 = _clock()
        dmin, dmax, res = greedy_sweep_on(model, gamma, cur, nxt, pi_out, q, store_q, stats, par)
        if adapt_g:
            tm[0, 1 if par else 0] = _clock() - t0
        residuals[n] = res
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        cur, nxt = nxt, cur
        swaps += 1
        if dmax - dmin < tol:
            converged = True
            break
        thresh = eval_rtol * (dmax - dmin)
        if use_compact:
            # the rows of the states whose action changed, or all rows (the path of the sweep just done)
            if not (have_rows and patch_policy_rows(model, pi_out, pi_prev, compact)):
                gather_policy_rows_on(model, pi_out, compact, par)
                pi_prev[:] = pi_out
                have_rows = True
        for _ in range(m):
            par = adapt_e
            if adapt_e:
                par = _choose_par(tm, 1)
                t0 = _clock()
            if use_compact:
                emin, emax, moved = compact_policy_sweep_on(model, compact, gamma, cur, nxt, stats, par)
            else:
                emin, emax, moved = policy_sweep_on(model, gamma, pi_out, cur, nxt, stats, par)
            if adapt_e:
                tm[1, 1 if par else 0] = _clock() - t0
            cur, nxt = nxt, cur
            swaps += 1
            n_ev += 1
            # a sweep that moved no value reached a floating-point fixed point of T_pi: every
            # further sweep gives the same bits, so stopping here is exact (and a huge m ends)
            if emax - emin < thresh or moved == 0.0:
                break
    if swaps % 2 == 1:  # cur is v_new
        v[:] = cur
    n_eval[0] = n_ev
    return n, converged


@njit(cache=True)
def single_entry_policy_value(next_state, weight, r, gamma, v_out, status, pos, path):
    """Exact v = r + gamma * weight * v[next_state] when every row of P_pi has one stored entry.

    ``next_state`` (S,) int64 and ``weight`` (S,) float64 describe the functional graph
    s -> next_state[s] with probability ``weight[s]`` (1 for a deterministic model, less in a
    substochastic total-reward model).  The graph is a forest of trees hanging on cycles: along
    each new path the values are filled backward from a solved state, and a cycle
    c_0 -> ... -> c_{L-1} -> c_0 is solved in closed form,
    v(c_0) = sum_k (prod_{i<k} gamma w_i) r_k / (1 - prod_{i<L} gamma w_i).
    O(S) time.  ``status`` (S,) int8, ``pos`` (S,) int64 and ``path`` (S,) int64 are scratch.
    Returns False (and leaves ``v_out`` partly filled) if a cycle has
    ``prod gamma w_i == 1`` (the system is singular), else True.
    """
    S = next_state.shape[0]
    for s in range(S):
        status[s] = 0
    for s0 in range(S):
        if status[s0] == 2:
            continue
        n = 0
        s = s0
        while status[s] == 0:
            status[s] = 1
            pos[s] = n
            path[n] = s
            n += 1
            s = next_state[s]
        if status[s] == 1:  # closed a cycle path[j:n]
            j = pos[s]
            num = 0.0
            disc = 1.0
            for k in range(j, n):
                c = path[k]
                num += disc * r[c]
                disc *= gamma * weight[c]
            if disc == 1.0:
                return False
            v_out[path[j]] = num / (1.0 - disc)
            status[path[j]] = 2
            for k in range(n - 1, j, -1):
                c = path[k]
                v_out[c] = r[c] + gamma * weight[c] * v_out[next_state[c]]
                status[c] = 2
            n = j
        for k in range(n - 1, -1, -1):  # the tail hangs on a solved state
            c = path[k]
            v_out[c] = r[c] + gamma * weight[c] * v_out[next_state[c]]
            status[c] = 2
    return True


@njit(cache=True)
def single_entry_policy_iteration_loop(model, gamma, tie_rtol, pi, v, q, max_iter, residuals, n_changed):
    """Howard policy iteration on a CSR model whose every row has exactly one stored entry.

    ``model``'s layout code is :data:`CSR_ONE_ENTRY` or :data:`CSR_ONE_ENTRY_UNIT`.  Each
    iteration evaluates ``pi`` exactly with :func:`single_entry_policy_value` (O(S)), then
    computes ``q`` (all rows; masked ones too, as :func:`bellman_q`) and the greedy values and
    actions with one :func:`greedy_sweep` (parallel on large models), and switches ``pi[s]`` to
    the lowest-index available maximiser when it beats ``q[s, pi[s]]`` by more than
    ``tie_rtol * (1 + max|v|)``.  On the last allowed iteration the evaluated policy is kept.
    ``residuals[n]`` = max_s |max_a q - v|, ``n_changed[n]`` = switches.  Returns
    ``(n_iter, converged, ok)``; ``ok`` is False if an evaluation was singular (then stop).
    """
    _layout, _P2, indptr, indices, data, R1, _mask1, S, A = model
    stats = np.empty((N_CHUNKS, 3))
    store_q = bool(True)  # a plain bool, not a literal (module notes)
    nxt = np.empty(S, dtype=np.int64)  # scratch, allocated once
    w = np.empty(S)
    r = np.empty(S)
    status = np.empty(S, dtype=np.int8)
    pos = np.empty(S, dtype=np.int64)
    path = np.empty(S, dtype=np.int64)
    best = np.empty(S)
    arg = np.empty(S, dtype=np.int64)
    n = 0
    converged = False
    while n < max_iter:
        for s in range(S):
            i = s * A + pi[s]
            k = indptr[i]
            nxt[s] = indices[k]
            w[s] = data[k]
            r[s] = R1[i]
        if not single_entry_policy_value(nxt, w, r, gamma, v, status, pos, path):
            return n, False, False
        vmax = 0.0
        for s in range(S):
            if abs(v[s]) > vmax:
                vmax = abs(v[s])
        thr = tie_rtol * (1.0 + vmax)
        last = n + 1 == max_iter
        _dmin, _dmax, res = greedy_sweep(model, gamma, v, best, arg, q, store_q, stats)
        changed = 0
        for s in range(S):
            if best[s] > q[s * A + pi[s]] + thr:
                changed += 1
                if not last:
                    pi[s] = arg[s]
        residuals[n] = res
        n_changed[n] = changed
        n += 1
        if changed == 0:
            converged = True
            break
    return n, converged, True


@njit(cache=True)
def relative_value_iteration_loop(model, tau, ref, v, tol, max_iter, q, v_new, pi_out, spans, dminmax):
    """Relative value iteration on the aperiodicity-transformed model (Puterman 1994, Sec. 8.5.5).

    The transformed kernel is ``tau * P + (1 - tau) * I`` with unchanged rewards, so
    (T v)(s) = max_a R[s, a] + tau * P[s, a] . v + (1 - tau) * v[s].  After each backup the
    value at state ``ref`` is subtracted.  Stops when span(T v - v) < tol; ``dminmax`` then
    holds min and max of T v - v (they bracket the optimal gain) and ``pi_out`` is greedy for
    ``v``.  Returns ``(n_iter, converged)``.
    """
    S = model[7]
    A = model[8]
    n = 0
    converged = False
    while n < max_iter:
        bellman_q(model, tau, v, q)
        for s in range(S):
            for a in range(A):
                q[s * A + a] += (1.0 - tau) * v[s]
        greedy_max(model, q, v_new, pi_out)
        dmin = np.inf
        dmax = -np.inf
        for s in range(S):
            d = v_new[s] - v[s]
            if d < dmin:
                dmin = d
            if d > dmax:
                dmax = d
        spans[n] = dmax - dmin
        dminmax[0] = dmin
        dminmax[1] = dmax
        n += 1
        if dmax - dmin < tol:
            converged = True
            break
        off = v_new[ref]
        for s in range(S):
            v[s] = v_new[s] - off
    return n, converged

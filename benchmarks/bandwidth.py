"""STREAM-like memory bandwidth of this machine, measured in the benchmark run itself.

Triad ``a = b + s * c`` over arrays far larger than the caches, counted the STREAM way
(3 arrays x 8 bytes per element; write-allocate traffic not counted): once with numpy (two
passes, ``np.multiply`` then ``np.add`` with ``out=``, so it moves 5 arrays' worth of data but
is credited with 3, like STREAM's own numpy ports), once with a Numba ``prange`` loop on all
cores.  A read-only reduction (``sum(b)``) is also reported: a Bellman sweep mostly reads.

:func:`gather_time` is the CSR counterpart: the least work any CSR sweep does, ``sum_k data[k] *
v[indices[k]]`` over every stored entry in storage order (four accumulators, ``prange`` over
blocks; no ``indptr``, rows, rewards or maximum).  When ``v`` outgrows the per-core cache the
random reads of ``v`` cost more than streaming ``P`` does, and this bound says by how much.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


@njit(parallel=True, cache=True, fastmath={"reassoc"})
def _read(b):
    acc = 0.0
    for i in prange(b.shape[0]):
        acc += b[i]
    return acc


@njit(parallel=True, cache=True)
def _gather(indices, data, v, out):
    n = indices.shape[0]
    nb = out.shape[0]
    for c in prange(nb):
        lo = c * n // nb
        hi = (c + 1) * n // nb
        a0 = a1 = a2 = a3 = 0.0
        k = lo
        while k + 3 < hi:
            a0 += data[k] * v[indices[k]]
            a1 += data[k + 1] * v[indices[k + 1]]
            a2 += data[k + 2] * v[indices[k + 2]]
            a3 += data[k + 3] * v[indices[k + 3]]
            k += 4
        while k < hi:
            a0 += data[k] * v[indices[k]]
            k += 1
        out[c] = a0 + a1 + a2 + a3


def gather_time(mdp, repeats: int = 10) -> tuple[float, float] | None:
    """(median, min) seconds of :func:`_gather` over a CSR model's ``P`` (None for dense models)."""
    if not mdp.is_sparse:
        return None
    P = mdp.P
    indices = P.indices.view(np.uint32) if P.indices.dtype == np.int32 else P.indices.astype(np.int64)
    v = np.random.default_rng(0).random(mdp.S)
    out = np.empty(64)
    _gather(indices, P.data, v, out)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _gather(indices, P.data, v, out)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), float(min(ts))


def measure(n: int = 1 << 25, repeats: int = 10) -> dict:
    """Return best-of-``repeats`` bandwidths in GB/s (1e9 bytes/s) and the array size used."""
    a = np.empty(n)
    b = np.random.default_rng(0).random(n)
    c = np.random.default_rng(1).random(n)
    s = 3.0

    def best(fn):
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts), float(np.median(ts))

    def np_triad():
        np.multiply(c, s, out=a)
        np.add(a, b, out=a)

    tn, tn_med = best(np_triad)
    tb, tb_med = best(lambda: _triad(a, b, c, s))
    tr, tr_med = best(lambda: _read(b))
    bytes3 = 3 * 8 * n
    return {
        "array_mib": 8 * n / 2**20,
        "numpy_triad_gbs": bytes3 / tn / 1e9,
        "numba_triad_gbs": bytes3 / tb / 1e9,
        "numba_read_gbs": 8 * n / tr / 1e9,
        "numba_triad_median_gbs": bytes3 / tb_med / 1e9,
        # the floor uses the best of all three: a sweep mostly reads, and reads stream faster
        # than a triad, so taking the read rate too makes the floor stricter, never looser
        "floor_gbs": max(bytes3 / tn, bytes3 / tb, 8 * n / tr) / 1e9,
    }


if __name__ == "__main__":
    print(measure())

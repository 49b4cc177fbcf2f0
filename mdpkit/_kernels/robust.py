r"""Numba kernels for robust MDPs: nature's inner problems and the robust Bellman loops.

Conventions follow ``bellman.py``: raw float64/int64 arrays, preallocated outputs and work
buffers, no validation, no defaults.  Nature minimises ``p . z`` over an uncertainty set around a
nominal distribution ``q``; every inner routine works on the first ``n`` entries of gathered
buffers ``qb, zb`` (the states nature may use) and writes the minimiser into ``pb``, returning
the minimum.  Which states are gathered is the *support semantics*: the nominal support
(``q > 0``) or, for dense rows, every state (``full``).

Set codes (``kind``):

====  ==============  =========================================================================
code  name            set (or penalty) around q, radius kappa (penalty weight beta)
====  ==============  =========================================================================
0     l1              ||p - q||_1 <= kappa
1     linf            ||p - q||_inf <= kappa
2     l2              ||p - q||_2 <= kappa
3     chi2            sum_i (p_i - q_i)^2 / q_i <= kappa      (support only)
4     kl              sum_i p_i log(p_i / q_i) <= kappa       (support only)
5     wasserstein     W_1(p, q) <= kappa for the ground metric D (S, S)
6     wl1             sum_i w_i |p_i - q_i| <= kappa  (= W_1 with cost w_i + w_j, i != j)
7     kl_penalty      min p.z + beta KL(p || q)               (support only)
8     tv_penalty      min p.z + beta TV(p, q),  TV = ||p - q||_1 / 2
9     cvar            0 <= p <= q / alpha (kappa = alpha)     (support only)
====  ==============  =========================================================================

Argument tuples (one argument each, so no kernel takes more than about a dozen arguments):

* ``model``: the read-only tuple ``(layout, P2, indptr, indices, data, R1, mask1, S, A)`` of
  :func:`mdpkit._kernels.model_args`;
* ``uset = (kind, kappa, full, W, metric)``: the set (``kappa`` (S*A,) sa, (S,) s-rectangular);
* ``work``: the 26 scratch buffers of :func:`mdpkit.uncertainty.make_workspace`; ``swork = (XI,
  QV, M, Rs, avail)`` for s-rectangular sets; ``pw = (pw2, pwd)`` nature's rows (dense / CSR);
* ``ctrl``: the loop settings; ``out``: the preallocated outputs.

Callers normalise every array once (float64 / int64, C-contiguous, model arrays read-only, work
buffers, iterates and outputs freshly allocated and writable), so each kernel is compiled for
one type signature (``tests/robust/test_robust_signatures.py``).

The plain-numpy oracles are in ``mdpkit/_reference_robust.py``.
"""

import numpy as np
from numba import njit, prange

# bellman.greedy_max is called by the robust loops.  Numba's on-disk cache does not track callees
# in other files: after editing it, clear NUMBA_CACHE_DIR (or touch this file).
from . import bellman
# The same holds for the batched kernels of robust_lanes, called by _div_block.
from .robust_lanes import (DONE, LANES, ellipsoid_lanes, exp_nonpos, exp_nonpos_into,  # noqa: F401
                           kl_lanes, kl_start, lane_buffers)


NEG_INF = -np.inf

L1, LINF, L2, CHI2, KL, WASSERSTEIN, WL1, KL_PENALTY, TV_PENALTY, CVAR = range(10)


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _argsort_into(z, n, idx):
    """idx[:n] = a stable ascending argsort of z[:n] (insertion sort for short rows)."""
    if n <= 24:
        for k in range(n):
            idx[k] = k
        for k in range(1, n):
            key = idx[k]
            zk = z[key]
            j = k - 1
            while j >= 0 and z[idx[j]] > zk:
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = key
    else:
        order = np.argsort(z[:n], kind="mergesort")
        for k in range(n):
            idx[k] = order[k]


@njit(cache=True, inline="always")
def _dot(p, z, n):
    acc = 0.0
    for k in range(n):
        acc += p[k] * z[k]
    return acc


@njit(cache=True)
def _zmin(z, n):
    m = np.inf
    for k in range(n):
        if z[k] < m:
            m = z[k]
    return m


# --------------------------------------------------------------------------------------------
# inner problems on gathered rows
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _removes_first(zs, a, b):
    """Order in which nature removes mass: larger z first, lower index among ties."""
    return zs[a] > zs[b] or (zs[a] == zs[b] and a < b)


@njit(cache=True)
def _sift_down(zs, h, root, end):
    while True:
        child = 2 * root + 1
        if child >= end:
            return
        if child + 1 < end and _removes_first(zs, h[child + 1], h[child]):
            child += 1
        if _removes_first(zs, h[child], h[root]):
            t = h[root]
            h[root] = h[child]
            h[child] = t
            root = child
        else:
            return


@njit(cache=True, inline="always")
def _l1_take(qs, zs, m, zlo, rem, pb):
    """Remove up to ``rem`` mass from entry m; returns (mass taken, gain = taken * (z_m - zlo))."""
    qm = qs[m]
    take = qm if qm < rem else rem
    pb[m] = qm - take
    return take, take * (zs[m] - zlo)


@njit(cache=True)
def _l1_walk(qs, zs, n, i0, zlo, eps, order, pb):
    """Remove ``eps`` mass from the entries with ``q > 0`` other than ``i0``, largest z first.

    This is the step of Ho, Petrik & Wiesemann (2018), Sec. 3, that needs an order: only the
    n gathered successors are ordered (insertion sort for n <= 16, otherwise a binary heap that
    pops only as many entries as the budget reaches), in place in ``order``; no allocation.
    Ties go to the lower index, so the minimiser does not depend on the sort used.  Writes
    ``pb[m] = q_m - taken_m`` for the entries it takes from (others untouched).  Returns
    ``(gain, moved)``: ``gain = sum_m taken_m (z_m - zlo)``, ``moved = sum_m taken_m``.
    """
    c = np.int64(0)  # typed: a literal would add a Numba signature
    for m in range(n):
        if m != i0 and qs[m] > 0.0:
            order[c] = m
            c += 1
    gain = 0.0
    rem = eps
    if c <= 16:
        for k in range(1, c):
            key = order[k]
            zk = zs[key]
            j = k - 1
            while j >= 0 and zs[order[j]] < zk:  # strict: stable, ties keep the lower index first
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = key
        for k in range(c):
            take, g = _l1_take(qs, zs, order[k], zlo, rem, pb)
            gain += g
            rem -= take
            if rem <= 0.0:
                break
    else:
        for r in range(c // 2 - 1, -1, -1):
            _sift_down(zs, order, r, c)
        end = c
        while end > 0 and rem > 0.0:
            take, g = _l1_take(qs, zs, order[0], zlo, rem, pb)
            gain += g
            rem -= take
            end -= 1
            order[0] = order[end]
            _sift_down(zs, order, np.int64(0), end)
    return gain, eps - rem


@njit(cache=True, inline="always")
def _l1_budget(qs, i0, kappa):
    """Mass nature moves onto the destination: min(kappa / 2, 1 - q_dest) (q_dest = 0 outside the support)."""
    eps = 0.5 * kappa
    room = 1.0 - (qs[i0] if i0 >= 0 else 0.0)
    return room if room < eps else eps


@njit(cache=True)
def inner_l1(qb, zb, kappa, n, pb, idx):
    """min p.z s.t. ||p - q||_1 <= kappa, p in the simplex over the n gathered states.

    Ho, Petrik & Wiesemann (2018), Sec. 3 (unit weights): move ``eps = min(kappa/2, 1 - q_i0)``
    of mass onto the lowest-z state ``i0`` (the first minimiser), taken from the highest-z
    states first (:func:`_l1_walk`).  The mass added equals the mass removed, so ``sum p =
    sum q``.  The value is ``q.z - gain`` (exact in real arithmetic).
    """
    acc = 0.0
    i0 = np.int64(-1)  # typed: a literal would add a Numba signature
    for k in range(n):
        pb[k] = qb[k]
        acc += qb[k] * zb[k]
        if i0 < 0 or zb[k] < zb[i0]:
            i0 = k
    if n <= 1:
        return acc
    eps = _l1_budget(qb, i0, kappa)
    if eps <= 0.0:
        return acc
    gain, moved = _l1_walk(qb, zb, n, i0, zb[i0], eps, idx, pb)
    pb[i0] += moved
    return acc - gain


@njit(cache=True)
def inner_box(lo, hi, zb, n, pb, idx):
    """min p.z s.t. lo <= p <= hi, sum p = 1 (needs sum lo <= 1 <= sum hi): fill lowest z first."""
    rem = 1.0
    for k in range(n):
        pb[k] = lo[k]
        rem -= lo[k]
    _argsort_into(zb, n, idx)
    for k in range(n):
        if rem <= 0.0:
            break
        j = idx[k]
        add = hi[j] - lo[j]
        if add > rem:
            add = rem
        pb[j] += add
        rem -= add
    return _dot(pb, zb, n)


@njit(cache=True)
def _ellip_project(qb, cb, zb, t, n, pb, bb, idx):
    """p_i = max(0, q_i + c_i (s - t z_i)) with s such that sum p = 1; returns the active count."""
    for k in range(n):
        bb[k] = t * zb[k] - qb[k] / cb[k]
    _argsort_into(bb, n, idx)
    C = 0.0
    CB = 0.0
    s = 0.0
    for k in range(n):
        j = idx[k]
        C += cb[j]
        CB += cb[j] * bb[j]
        s = (1.0 + CB) / C
        if k == n - 1 or s <= bb[idx[k + 1]]:
            break
    cnt = np.int64(0)  # typed: a literal would add a Numba signature
    for k in range(n):
        val = qb[k] + cb[k] * (s - t * zb[k])
        if val > 0.0:
            pb[k] = val
            cnt += 1
        else:
            pb[k] = 0.0
    return cnt


@njit(cache=True)
def _ellip_dist(qb, cb, pb, n):
    d = 0.0
    for k in range(n):
        e = pb[k] - qb[k]
        d += e * e / cb[k]
    return d


@njit(cache=True)
def inner_ellipsoid(qb, cb, zb, r2, n, pb, bb, idx, act):
    """The ellipsoid inner problem on a gathered row (:func:`_ellipsoid_kkt`, called out of line)."""
    return _ellipsoid_kkt(qb, cb, zb, r2, n, pb, bb, idx, act)


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def _ellipsoid_kkt(qb, cb, zb, r2, n, pb, bb, idx, act):
    """min p.z s.t. sum_i (p_i - q_i)^2 / c_i <= r2, p in the simplex (c > 0).

    ``c = 1, r2 = kappa^2`` is the L2 ball; ``c = q, r2 = kappa`` the chi-square ball.  On entry
    ``bb[:n]`` holds ``q^2 / c`` (the callers know it without a division: q^2 or q); it is
    scratch on return.  The minimiser is translation invariant in z, so everything works on
    ``d = z - min z`` (the multiplier t grows like 1 / spread(z) and never multiplies large
    absolute values).  Cases: a flat z or r2 = 0 (p = q); a ball reaching the vertex argmin z
    (all mass there); otherwise the closed-form KKT point on an active set
    (:func:`_ellipsoid_active_set`), verified, and only if the verification fails the bisection
    of :func:`_ellipsoid_bisect`.  Sums are reassociated (``fastmath`` without ``nnan``/``ninf``).
    """
    if n == 0:
        return 0.0
    zmin = np.inf
    zmax = -np.inf
    for k in range(n):
        zmin = zb[k] if zb[k] < zmin else zmin
        zmax = zb[k] if zb[k] > zmax else zmax
    if zmax - zmin <= 0.0 or r2 <= 0.0:
        for k in range(n):
            pb[k] = qb[k]
        return _dot(pb, zb, n)
    # one pass: the vertex test (limit t -> inf) and the sums of the all-active KKT point
    QM = 0.0
    CM = 0.0
    rest = 0.0
    QK = 0.0
    CK = 0.0
    CZ = 0.0
    for k in range(n):
        at = zb[k] == zmin
        QM += qb[k] if at else 0.0
        CM += cb[k] if at else 0.0
        rest += 0.0 if at else bb[k]
        QK += qb[k]
        CK += cb[k]
        CZ += cb[k] * (zb[k] - zmin)
    dinf = (1.0 - QM) * (1.0 - QM) / CM + rest
    if dinf <= r2:
        for k in range(n):
            pb[k] = qb[k] + cb[k] * (1.0 - QM) / CM if zb[k] == zmin else 0.0
        return _dot(pb, zb, n)
    val = _ellipsoid_active_set(qb, cb, zb, zmin, r2, n, pb, bb, act, QK, CK, CZ)
    if val == val:
        return val
    for k in range(n):
        zb[k] -= zmin
    _ellipsoid_bisect(qb, cb, zb, r2, zmax - zmin, n, pb, bb, idx, act)
    for k in range(n):
        zb[k] += zmin
    return _dot(pb, zb, n)


@njit(cache=True, inline="always", fastmath={"reassoc", "contract"})
def _ellipsoid_active_set(qb, cb, zb, zmin, r2, n, pb, bb, act, QK, CK, CZ):
    """Closed-form solve on a shrinking active set (Michelot-style: drop every negative entry).

    For an active set ``K`` the KKT point is ``p_k = q_k + c_k (alpha + t (dbar - d_k))`` on ``K``
    (0 elsewhere), ``d = z - zmin``, with ``alpha = (1 - q(K)) / c(K)``, ``dbar`` the
    ``c``-weighted mean of d on K and ``t >= 0`` fixed by the distance equation (a quadratic).
    Starting from every entry (``QK, CK, CZ``: its sums, from the caller's pass), negative entries
    are dropped until none is left; the value ``p.z`` is returned only if the point satisfies
    every KKT condition (positive on K, a non-positive candidate value off K, the distance equal
    to ``r2``), else NaN and the caller falls back to :func:`_ellipsoid_bisect`.  ``bb`` holds
    ``q^2 / c``.
    """
    for k in range(n):
        act[k] = 1
    restK = 0.0
    for it in range(n):
        if it > 0:
            QK = 0.0
            CK = 0.0
            CZ = 0.0
            restK = 0.0
            for k in range(n):
                a = act[k] != 0
                QK += qb[k] if a else 0.0
                CK += cb[k] if a else 0.0
                CZ += cb[k] * (zb[k] - zmin) if a else 0.0
                restK += 0.0 if a else bb[k]
        if CK <= 0.0:
            return np.nan
        zbar = CZ / CK
        alpha = (1.0 - QK) / CK
        B = 0.0
        for k in range(n):
            beta = zbar - (zb[k] - zmin)
            B += cb[k] * beta * beta if act[k] != 0 else 0.0
        const = alpha * alpha * CK + restK
        if B <= 0.0 or r2 < const:
            return np.nan
        t = np.sqrt((r2 - const) / B)
        dropped = False
        off_ok = True
        value = 0.0
        for k in range(n):
            val = qb[k] + cb[k] * (alpha + t * (zbar - (zb[k] - zmin)))
            a = act[k] != 0
            drop = a and val <= 0.0
            dropped = dropped or drop
            off_ok = off_ok and (a or val <= 0.0)  # an inactive entry must not want mass
            act[k] = 0 if drop else act[k]
            pv = val if a else 0.0
            pb[k] = pv
            value += pv * zb[k]
        if not dropped:
            return value if off_ok else np.nan
    return np.nan


@njit(cache=True, inline="always")
def _ellipsoid_weights(kind, qb, kappa, n, bb, cb):
    """The L2 (``c = 1, r2 = kappa^2``) or chi-square (``c = q, r2 = kappa``) ball of radius
    ``kappa`` as an ellipsoid: fills ``cb = c`` and ``bb = q^2 / c`` (no division), returns r2."""
    l2 = kind == L2
    for k in range(n):
        cb[k] = 1.0 if l2 else qb[k]
        bb[k] = qb[k] * qb[k] if l2 else qb[k]
    return kappa * kappa if l2 else kappa


@njit(cache=True, inline="always")
def _ellipsoid_row(kind, qb, zb, kappa, n, pb, bb, cb, idx, act):
    """The L2 or chi-square ball of radius ``kappa`` on a gathered row (:func:`inner_ellipsoid`)."""
    r2 = _ellipsoid_weights(kind, qb, kappa, n, bb, cb)
    return inner_ellipsoid(qb, cb, zb, r2, n, pb, bb, idx, act)


@njit(cache=True)
def _ellipsoid_bisect(qb, cb, zb, r2, spread, n, pb, bb, idx, act):
    """The safe path of :func:`inner_ellipsoid` (z already shifted to min 0, spread > 0).

    KKT gives ``p(t) = argmin_{simplex} ||p - (q - t c z)||_{c^{-1}}`` (a weighted projection),
    whose distance to q grows with t; t is bracketed by bisection and then solved exactly (a
    quadratic) on the piece where the active set is constant.
    """
    lo = 0.0
    hi = 1.0 / spread
    for _ in range(200):
        _ellip_project(qb, cb, zb, hi, n, pb, bb, idx)
        if _ellip_dist(qb, cb, pb, n) >= r2:
            break
        lo = hi
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        _ellip_project(qb, cb, zb, mid, n, pb, bb, idx)
        # exact solve on the active set of p(mid)
        QK = 0.0
        CK = 0.0
        CZ = 0.0
        restK = 0.0
        for k in range(n):
            if pb[k] > 0.0:
                act[k] = 1
                QK += qb[k]
                CK += cb[k]
                CZ += cb[k] * zb[k]
            else:
                act[k] = 0
                restK += qb[k] * qb[k] / cb[k]
        zbar = CZ / CK
        alpha = (1.0 - QK) / CK
        B = 0.0
        for k in range(n):
            if act[k]:
                beta = zbar - zb[k]
                B += cb[k] * beta * beta
        const = alpha * alpha * CK + restK
        if B > 0.0 and r2 >= const:
            tstar = np.sqrt((r2 - const) / B)
            if lo <= tstar <= hi:
                _ellip_project(qb, cb, zb, tstar, n, pb, bb, idx)
                same = True
                for k in range(n):
                    if (pb[k] > 0.0) != (act[k] == 1):
                        same = False
                        break
                if same:
                    return _dot(pb, zb, n)
        _ellip_project(qb, cb, zb, mid, n, pb, bb, idx)
        if _ellip_dist(qb, cb, pb, n) < r2:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    _ellip_project(qb, cb, zb, lo, n, pb, bb, idx)
    return _dot(pb, zb, n)


@njit(cache=True, fastmath={"reassoc", "contract"})
def inner_kl(qb, zb, kappa, n, pb, u0, want_p):
    """min p.z s.t. KL(p || q) <= kappa (p << q), Nilim & El Ghaoui (2005) 1-D dual.

    Returns ``(value, u)``.  The minimiser is the exponential tilt ``p ∝ q exp(-u (z - min z))``
    with ``KL(p||q) = kappa``; if ``kappa >= -log q(argmin z)`` the minimum ``min z`` is attained on
    the boundary (u -> inf, returned as u = 0): p is q restricted to argmin z, renormalised.

    The root of ``F(u) = KL(p_u || q) - kappa`` is found by Halley's method: one pass over the row
    gives ``F``, ``F'(u) = u Var_p(z)`` and ``F''(u) = Var_p(z) - u mu3_p(z)`` (mu3 the third
    central moment).  It starts from ``u0`` when ``u0 > 0`` (the previous sweep's multiplier of
    this row: a warm start), otherwise from the small-``kappa`` guess ``sqrt(2 kappa / Var_q(z))``
    refined by the cubic term of the series (:func:`kl_start`); the bracket of evaluated points
    safeguards it (doubling until the root is bracketed, bisection when a step leaves it).  Stopping: when
    ``F(u)`` is at its round-off level, the value is ``min z + E_p[z - min z]`` at u.  Without
    ``want_p``, once the next step ``delta`` satisfies ``|delta| (max z - min z) <= 2^-17`` the
    value at ``u + delta`` is taken from its Taylor expansion ``m1 - Var delta + mu3 delta^2 / 2``
    (``dm1/du = -Var``, ``d^2m1/du^2 = mu3``; the remainder and Halley's cubic root error are of
    order ``(2^-17)^3 (max z - min z) < 5e-16 (max z - min z)``), which saves the pass that would
    only confirm it.  Without ``want_p`` ``pb`` is scratch on return; with it the loop ends on
    an evaluated point and ``pb`` is the normalised minimiser.  The start changes the result only
    at round-off.  The exponentials are :func:`exp_nonpos` (vectorised); sums are reassociated
    (``fastmath`` without ``nnan``/``ninf``).
    """
    if n == 0:
        return 0.0, 0.0
    zmin = _zmin(zb, n)
    QM = 0.0
    zmax = -np.inf
    m1q = 0.0
    m2q = 0.0
    for k in range(n):
        d = zb[k] - zmin
        QM += qb[k] if d == 0.0 else 0.0
        zmax = zb[k] if zb[k] > zmax else zmax
    m3q = 0.0
    m4q = 0.0
    if not u0 > 0.0:
        for k in range(n):
            d = zb[k] - zmin
            qd = qb[k] * d
            m1q += qd
            m2q += qd * d
            m3q += qd * d * d
            m4q += qd * d * d * d
    spread = zmax - zmin
    if spread <= 0.0 or kappa <= 0.0:
        for k in range(n):
            pb[k] = qb[k]
        return _dot(pb, zb, n), 0.0
    # the boundary test kappa >= -log(QM); QM < 1 - kappa <= exp(-kappa) rules it out without a log
    if QM >= 1.0 - kappa and kappa >= -np.log(QM):
        for k in range(n):
            pb[k] = qb[k] / QM if zb[k] == zmin else 0.0
        return zmin, 0.0
    u = u0
    if not u0 > 0.0:
        u = kl_start(kappa, m1q, m2q, m3q, m4q, spread)
    lo = 0.0
    hi = np.inf
    m1 = 0.0
    inv = 1.0
    for _ in range(300):
        Z = 0.0
        S1 = 0.0
        S2 = 0.0
        S3 = 0.0
        for k in range(n):
            d = zb[k] - zmin
            w = qb[k] * exp_nonpos(-u * d)
            pb[k] = w
            Z += w
            S1 += w * d
            S2 += w * d * d
            S3 += w * d * d * d
        inv = 1.0 / Z
        m1 = S1 * inv
        m2 = S2 * inv
        lz = np.log(Z)
        f = -u * m1 - lz - kappa
        if f < 0.0:
            lo = u
        else:
            hi = u
        # stop at the round-off level of f, or when the bracket is a few ulps wide
        if abs(f) <= 8e-16 * (kappa + u * m1 + abs(lz)) or (hi < np.inf and hi - lo <= 4e-16 * hi):
            break
        var = m2 - m1 * m1
        mu3 = S3 * inv - 3.0 * m1 * m2 + 2.0 * m1 * m1 * m1
        d1 = u * var
        d2 = var - u * mu3
        den = 2.0 * d1 * d1 - f * d2
        step = -2.0 * f * d1 / den if den > 0.0 else (-f / d1 if d1 > 0.0 else np.inf)
        un = u + step
        if not (lo < un < hi):
            un = 0.5 * (lo + hi) if hi < np.inf else 2.0 * u
        elif not want_p and abs(step) * spread <= 7.62939453125e-06:
            return zmin + m1 - var * step + 0.5 * mu3 * step * step, un
        if abs(un - u) <= 8e-16 * u:
            break
        u = un
    if want_p:
        for k in range(n):
            pb[k] *= inv
    return zmin + m1, u


@njit(cache=True)
def inner_kl_penalty(qb, zb, beta, n, pb):
    """min p.z + beta KL(p || q) = -beta log sum q exp(-z / beta); p ∝ q exp(-z / beta)."""
    if n == 0:
        return 0.0
    zmin = _zmin(zb, n)
    Z = 0.0
    for k in range(n):
        w = qb[k] * np.exp(-(zb[k] - zmin) / beta)
        pb[k] = w
        Z += w
    for k in range(n):
        pb[k] /= Z
    return zmin - beta * np.log(Z)


@njit(cache=True)
def inner_tv_penalty(qb, zb, beta, n, pb, i0):
    """min p.z + beta * ||p - q||_1 / 2: move all mass with z_i > z_{i0} + beta onto i0 = argmin z."""
    zmin = zb[i0]
    val = 0.0
    for k in range(n):
        pb[k] = qb[k]
    for k in range(n):
        if zb[k] > zmin + beta:
            pb[i0] += pb[k]
            val += qb[k] * (zmin + beta)
            pb[k] = 0.0
        else:
            val += qb[k] * zb[k]
    return val


@njit(cache=True)
def inner_transport(qb, zb, D, kappa, n, pb, hull, seg_slope, seg_len, seg_src, order, pos, frac):
    """min p.z over {p : W(p, q) <= kappa} with transport cost D (n, n), D[i, i] = 0.

    Exact fractional knapsack: each source i moves its mass along the lower convex hull of the
    points (D[i, j], z_j); hull segments of all sources are taken steepest first until the
    budget is spent.  O(n^2 log n).  Work buffers: ``hull (n, n)`` int, ``seg_* (n*n,)``,
    ``order (n*n,)`` int, ``pos (n,)`` int, ``frac (n,)``.
    """
    nseg = 0
    for i in range(n):
        pos[i] = 0
        frac[i] = 0.0
        # sort targets by cost (ties: lower z first) -- insertion sort on hull row
        h = 0
        for j in range(n):
            # insert j keeping (D[i, j], z_j) lexicographic order
            k = h
            while k > 0:
                jj = hull[i, k - 1]
                if D[i, jj] > D[i, j] or (D[i, jj] == D[i, j] and zb[jj] > zb[j]):
                    hull[i, k] = jj
                    k -= 1
                else:
                    break
            hull[i, k] = j
            h += 1
        # lower convex hull, decreasing part only (monotone chain)
        m = 0
        for k in range(n):
            j = hull[i, k]
            if m > 0 and zb[j] >= zb[hull[i, m - 1]]:
                continue  # not lower: never useful
            while m >= 2:
                a = hull[i, m - 2]
                b = hull[i, m - 1]
                # cross product: remove b if it lies on or above segment a -> j
                cr = (D[i, b] - D[i, a]) * (zb[j] - zb[a]) - (zb[b] - zb[a]) * (D[i, j] - D[i, a])
                if cr <= 0.0:
                    m -= 1
                else:
                    break
            if m == 1 and D[i, hull[i, 0]] == D[i, j]:
                m = 0  # same cost, lower z: replace the start
            hull[i, m] = j
            m += 1
        # segments of source i
        for k in range(m - 1):
            a = hull[i, k]
            b = hull[i, k + 1]
            dl = D[i, b] - D[i, a]
            seg_slope[nseg] = (zb[b] - zb[a]) / dl
            seg_len[nseg] = dl
            seg_src[nseg] = i
            nseg += 1
        # mark the hull length in frac's sign-free slot via pos bound (stored in hull[i, n-1]? no:
        # hull rows keep vertices 0..m-1; the start vertex is hull[i, 0])
    if nseg > 0:
        o = np.argsort(seg_slope[:nseg], kind="mergesort")
        for k in range(nseg):
            order[k] = o[k]
    budget = kappa
    for k in range(nseg):
        if budget <= 0.0:
            break
        g = order[k]
        i = seg_src[g]
        cost = qb[i] * seg_len[g]
        if cost <= 0.0:
            pos[i] += 1
            continue
        if cost <= budget:
            pos[i] += 1
            budget -= cost
        else:
            frac[i] = budget / cost
            budget = 0.0
    for k in range(n):
        pb[k] = 0.0
    for i in range(n):
        if qb[i] <= 0.0:
            continue
        a = hull[i, pos[i]]
        if frac[i] > 0.0:
            b = hull[i, pos[i] + 1]
            pb[a] += qb[i] * (1.0 - frac[i])
            pb[b] += qb[i] * frac[i]
        else:
            pb[a] += qb[i]
    return _dot(pb, zb, n)


# --------------------------------------------------------------------------------------------
# one row of the robust Bellman operator
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _gather(model, i, v, full, qb, zb, pos, cols):
    """Gather the states nature may use in row i: q, z = v and the storage position.

    ``model`` is the tuple of ``mdpkit._kernels.model_args``.  ``pos[k]`` is the CSR position
    (CSR layouts) or the column (dense); ``cols`` is filled later, and only by the transport sets that
    need state indices (see ``solve_row``).
    """
    layout, P2, indptr, indices, data = model[0], model[1], model[2], model[3], model[4]
    n = np.int64(0)  # typed: a literal would add a Numba signature
    if layout:
        for k in range(indptr[i], indptr[i + 1]):
            if data[k] > 0.0:
                qb[n] = data[k]
                zb[n] = v[indices[k]]
                pos[n] = k
                n += 1
    else:
        S = P2.shape[1]
        for j in range(S):
            pij = P2[i, j]
            if full or pij > 0.0:
                qb[n] = pij
                zb[n] = v[j]
                pos[n] = j
                n += 1
    return n


@njit(cache=True)
def _fill_cols(layout, indices, pos, n, cols):
    for k in range(n):
        cols[k] = indices[pos[k]] if layout else pos[k]


@njit(cache=True, inline="always")
def solve_row(kind, n, kappa, W, metric, work):
    """Dispatch one inner problem on the gathered buffers of ``work``; returns the min value.

    ``work`` is the first 17 buffers ``work[:17]`` of :func:`mdpkit.uncertainty.make_workspace`
    (not the per-block L1 scratch: a shorter tuple is cheaper to pass per row): ``qb, zb``
    (= work[0], work[1]) hold the first ``n`` gathered entries of q and z, ``cols`` (work[4])
    their state indices (transport sets only); the minimiser is written to ``pb[:n]`` (work[2]).
    """
    qb, zb, pb, cols = work[0], work[1], work[2], work[4]
    idx, bb, cb, act, Db = work[5], work[6], work[7], work[8], work[9]
    if kind == L1:
        return inner_l1(qb, zb, kappa, n, pb, idx)
    if kind == LINF:
        for k in range(n):
            lo = qb[k] - kappa
            bb[k] = lo if lo > 0.0 else 0.0
            hi = qb[k] + kappa
            cb[k] = hi if hi < 1.0 else 1.0
        return inner_box(bb, cb, zb, n, pb, idx)
    if kind == CVAR:
        for k in range(n):
            bb[k] = 0.0
            cb[k] = qb[k] / kappa
        return inner_box(bb, cb, zb, n, pb, idx)
    if kind == L2 or kind == CHI2:
        return _ellipsoid_row(kind, qb, zb, kappa, n, pb, bb, cb, idx, act)
    if kind == KL:
        return inner_kl(qb, zb, kappa, n, pb, np.float64(0.0), np.bool_(True))[0]
    if kind == KL_PENALTY:
        return inner_kl_penalty(qb, zb, kappa, n, pb)
    if kind == TV_PENALTY:
        i0 = np.int64(0)  # typed: a literal would add a Numba signature
        for k in range(1, n):
            if zb[k] < zb[i0]:
                i0 = k
        return inner_tv_penalty(qb, zb, kappa, n, pb, i0)
    # transport: Wasserstein with metric, or weighted L1 with cost w_i + w_j
    for a in range(n):
        for b in range(n):
            if kind == WASSERSTEIN:
                Db[a, b] = metric[cols[a], cols[b]]
            else:
                Db[a, b] = 0.0 if a == b else W[cols[a]] + W[cols[b]]
    return inner_transport(qb, zb, Db, kappa, n, pb, work[10], work[11], work[12], work[13], work[14], work[15],
                           work[16])


# --------------------------------------------------------------------------------------------
# fused L1 sweep: gather + Ho-Petrik-Wiesemann update per row, no per-row allocation
# --------------------------------------------------------------------------------------------

#: L1 sweeps reading at least this many stored entries of P run ``prange`` over N_CHUNKS fixed
#: blocks of rows, each with its own row of the (N_CHUNKS, n_max) scratch arrays.  A robust L1
#: row costs several times a nominal row, so the threshold is a quarter of ``bellman.py``'s
#: ``PAR_MIN_WORK``.
PAR_MIN_WORK = 1 << 16
N_CHUNKS = 64


@njit(cache=True)
def _l1_walk_scan(qs, zs, n, i0, zlo, rem, zprev, jprev, gain):
    """Continue :func:`_l1_walk` after the entry ``jprev`` (value ``zprev``) by repeated scans.

    Each scan picks the next entry in removal order (larger z first, lower index among ties)
    with branch-free selects; for short rows a few scans cost less than sorting.  Returns
    ``(gain, rem)``; does not write the minimiser (values only).
    """
    while rem > 0.0:
        best = -np.inf
        j = -1
        for m in range(n):
            zm = zs[m]
            ok = (m != i0) & ((zm < zprev) | ((zm == zprev) & (m > jprev)))  # & |: no branches
            better = ok & ((j < 0) | (zm > best))
            best = zm if better else best
            j = m if better else j
        if j < 0:
            break
        qm = qs[j]
        take = qm if qm < rem else rem
        gain += take * (zs[j] - zlo)
        rem -= take
        zprev = zs[j]
        jprev = j
    return gain, rem


@njit(cache=True, inline="always")
def _l1_gather_csr(indptr, indices, data, i, v, qs, zs, ks):
    """Gather CSR row i's successors with ``q > 0`` into ``qs, zs, ks`` in one pass over the row.

    ``ks`` receives the CSR positions.  Tracks the nominal ``q.v``, the first minimiser and the
    first maximiser with branch-free selects.  Returns ``(k, acc, i0, zlo, ihi, zhi)``.
    """
    n = np.int64(0)  # typed: a literal would add a Numba signature
    acc = 0.0
    i0 = np.int64(-1)  # typed: a literal would add a Numba signature
    zlo = np.inf
    ihi = np.int64(-1)  # typed: a literal would add a Numba signature
    zhi = -np.inf
    for k in range(indptr[i], indptr[i + 1]):
        d = data[k]
        if d > 0.0:
            z = v[indices[k]]
            acc += d * z
            qs[n] = d
            zs[n] = z
            ks[n] = k
            lo_ = z < zlo
            zlo = z if lo_ else zlo
            i0 = n if lo_ else i0
            hi_ = z > zhi
            zhi = z if hi_ else zhi
            ihi = n if hi_ else ihi
            n += 1
    return n, acc, i0, zlo, ihi, zhi


@njit(cache=True, inline="always")
def _l1_gather_dense(P2, i, v, jg, zg, qs, zs, ks):
    """Dense twin of :func:`_l1_gather_csr` (``ks``: columns).

    ``jg >= 0`` (``support="simplex"``) makes the destination the global first minimiser ``jg``
    of v, with ``zg = v[jg]`` computed once per sweep by the caller; ``i0 = -1`` then means the
    destination lies outside the row's support.
    """
    n = np.int64(0)  # typed: a literal would add a Numba signature
    acc = 0.0
    i0 = np.int64(-1)  # typed: a literal would add a Numba signature
    zlo = np.inf
    ihi = np.int64(-1)  # typed: a literal would add a Numba signature
    zhi = -np.inf
    idest = np.int64(-1)  # typed: a literal would add a Numba signature
    for j in range(P2.shape[1]):
        d = P2[i, j]
        if d > 0.0:
            z = v[j]
            acc += d * z
            qs[n] = d
            zs[n] = z
            ks[n] = j
            lo_ = z < zlo
            zlo = z if lo_ else zlo
            i0 = n if lo_ else i0
            hi_ = z > zhi
            zhi = z if hi_ else zhi
            ihi = n if hi_ else ihi
            idest = n if j == jg else idest
            n += 1
    if jg >= 0:
        i0 = idest
        zlo = zg
    return n, acc, i0, zlo, ihi, zhi


@njit(cache=True)
def _l1_long_gain(qs, zs, n, i0, zlo, eps, order, pb):
    gain, moved = _l1_walk(qs, zs, n, i0, zlo, eps, order, pb)
    return gain


@njit(cache=True, inline="always")
def _l1_value(qs, zs, n, acc, i0, zlo, ihi, zhi, kappa, order, pb):
    """Value of the L1 inner problem on a gathered row (see :func:`_l1_gather_csr`), no minimiser.

    Rows with k <= 16 whose budget the first removal (from the tracked maximiser) covers are
    finished inline; a second removal continues with :func:`_l1_walk_scan` and longer rows use
    :func:`_l1_walk`, out of line (Numba passes arrays as large structs: calls get as few
    as possible).  All routes take the same masses
    in the same order as :func:`_l1_walk`, so the value is bitwise the one
    :func:`_l1_row_store` computes.
    """
    eps = _l1_budget(qs, i0, kappa)
    if eps <= 0.0 or n == 0 or (n <= 16 and zhi <= zlo):  # zhi <= zlo: nothing to gain
        return acc
    if n > 16:
        return acc - _l1_long_gain(qs, zs, n, i0, zlo, eps, order, pb)
    q1 = qs[ihi]
    if q1 >= eps:
        return acc - eps * (zhi - zlo)
    gain, rem = _l1_walk_scan(qs, zs, n, i0, zlo, eps - q1, zhi, ihi, q1 * (zhi - zlo))
    return acc - gain


@njit(cache=True)
def _l1_row_store(model, i, v, kappa, dest, scratch, pw):
    """Value of row i's L1 inner problem; writes its minimiser to ``pw[0]`` (dense (S*A, S)) or
    ``pw[1]`` (CSR data).  ``dest = (jg, zg)`` (see :func:`_l1_dest`); ``scratch = (qs, zs, ks,
    order, pb)`` one row of the per-block scratch."""
    layout, P2, indptr, indices, data = model[0], model[1], model[2], model[3], model[4]
    jg, zg = dest
    qs, zs, ks, order, pb = scratch
    pw2, pwd = pw
    if layout:
        n, acc, i0, zlo, ihi, zhi = _l1_gather_csr(indptr, indices, data, i, v, qs, zs, ks)
    else:
        n, acc, i0, zlo, ihi, zhi = _l1_gather_dense(P2, i, v, jg, zg, qs, zs, ks)
    for m in range(n):
        pb[m] = qs[m]
    eps = _l1_budget(qs, i0, kappa)
    gain = 0.0
    moved = 0.0
    if eps > 0.0 and n > 0:
        gain, moved = _l1_walk(qs, zs, n, i0, zlo, eps, order, pb)
    if layout:
        for k in range(indptr[i], indptr[i + 1]):
            pwd[k] = 0.0
        for m in range(n):
            pwd[ks[m]] = pb[m]
        if i0 >= 0:
            pwd[ks[i0]] += moved
    else:
        for j in range(pw2.shape[1]):
            pw2[i, j] = 0.0
        for m in range(n):
            pw2[i, ks[m]] = pb[m]
        if i0 >= 0:
            pw2[i, ks[i0]] += moved
        elif jg >= 0:
            pw2[i, jg] += moved
    return acc - gain


@njit(cache=True, inline="always")
def _l1_q_block(model, gamma, v, kappa1, dest, store, pw, q_out, lo, hi, scratch):
    """Rows lo..hi-1 of :func:`robust_q_l1`; one loop per storage form and per ``store``, so the
    hot loop (values only) holds nothing but the gather and the out-of-line :func:`_l1_value`."""
    layout, P2, indptr, indices, data, R1, mask1 = (model[0], model[1], model[2], model[3], model[4], model[5],
                                                    model[6])
    jg, zg = dest
    qs, zs, ks, order, pb = scratch
    if store:
        for i in range(lo, hi):
            if mask1[i]:
                q_out[i] = R1[i] + gamma * _l1_row_store(model, i, v, kappa1[i], dest, scratch, pw)
            else:
                q_out[i] = NEG_INF
    elif layout:
        for i in range(lo, hi):
            if mask1[i]:
                n, acc, i0, zlo, ihi, zhi = _l1_gather_csr(indptr, indices, data, i, v, qs, zs, ks)
                q_out[i] = R1[i] + gamma * _l1_value(qs, zs, n, acc, i0, zlo, ihi, zhi, kappa1[i], order, pb)
            else:
                q_out[i] = NEG_INF
    else:
        for i in range(lo, hi):
            if mask1[i]:
                n, acc, i0, zlo, ihi, zhi = _l1_gather_dense(P2, i, v, jg, zg, qs, zs, ks)
                q_out[i] = R1[i] + gamma * _l1_value(qs, zs, n, acc, i0, zlo, ihi, zhi, kappa1[i], order, pb)
            else:
                q_out[i] = NEG_INF


@njit(cache=True, parallel=True)
def _l1_q_par(model, gamma, v, kappa1, dest, store, pw, q_out, chunk):
    nrow = model[5].shape[0]
    QS, ZS, KS, OS, PS = chunk
    for c in prange(N_CHUNKS):
        lo = (c * nrow) // N_CHUNKS
        hi = ((c + 1) * nrow) // N_CHUNKS
        _l1_q_block(model, gamma, v, kappa1, dest, store, pw, q_out, lo, hi, (QS[c], ZS[c], KS[c], OS[c], PS[c]))


@njit(cache=True)
def _first_argmin(v):
    j = 0
    for k in range(1, v.shape[0]):
        if v[k] < v[j]:
            j = k
    return j


@njit(cache=True)
def _l1_dest(layout, full, v):
    """(jg, zg): the global destination for dense rows with support="simplex", else (-1, 0)."""
    if full and not layout and v.shape[0] > 0:
        jg = _first_argmin(v)
        return jg, v[jg]
    return -1, 0.0


@njit(cache=True)
def robust_q_l1(model, gamma, v, kappa1, full, store, pw, q_out, chunk):
    """Fused sa-rectangular L1 robust q-backup: ``q_out[i] = R1[i] + gamma min_{||p-q_i||_1<=kappa1[i]} p.v``.

    Works row by row in place on the stored rows.  ``chunk = (QS, ZS, KS, OS, PS)``: scratch
    (float, float, int64, int64, float) of shape (C, n_max) with n_max the longest row (dense:
    S); with C >= N_CHUNKS and a sweep reading >= PAR_MIN_WORK entries, blocks of rows run in
    parallel, each on its own scratch row.  Every row is computed by the same serial code, so
    the result is bitwise independent of the thread count.  ``full`` applies to dense rows
    (CSR rows with ``support="simplex"`` are densified by the caller).  ``pw = (pw2, pwd)``
    receives the minimisers when ``store``.
    """
    layout, P2, data = model[0], model[1], model[4]
    dest = _l1_dest(layout, full, v)
    work = data.shape[0] if layout else P2.shape[0] * P2.shape[1]
    QS, ZS, KS, OS, PS = chunk
    if work >= PAR_MIN_WORK and QS.shape[0] >= N_CHUNKS:
        _l1_q_par(model, gamma, v, kappa1, dest, store, pw, q_out, chunk)
    else:
        _l1_q_block(model, gamma, v, kappa1, dest, store, pw, q_out, 0, model[5].shape[0],
                    (QS[0], ZS[0], KS[0], OS[0], PS[0]))


# --------------------------------------------------------------------------------------------
# fused divergence sweeps (L2, chi-square, KL): gather + inner problem per row, warm-started
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _div_rows(work, c):
    """Block c's row buffers ``(qb, zb, pb, pos, idx, bb, cb, act)`` of the (C, n_max) scratch of
    :func:`mdpkit.uncertainty.make_workspace` (``work[17:25]``)."""
    return (work[17][c], work[18][c], work[21][c], work[19][c], work[20][c], work[22][c], work[23][c], work[24][c])


@njit(cache=True)
def _div_row(model, uset, gamma, v, i, store, pw, rows, warm, use_warm):
    """Row i of the fused divergence sweep by the scalar kernels: ``R1[i] + gamma min_p p.v``."""
    kind, kappa1, full = uset[0], uset[1], uset[2]
    qb, zb, pb, pos, idx, bb, cb, act = rows
    n = _gather(model, i, v, full, qb, zb, pos, pos)
    kappa = kappa1[i]
    if kind == KL:
        val, u = inner_kl(qb, zb, kappa, n, pb, warm[i] if use_warm else 0.0, store)
        if use_warm:
            warm[i] = u
    else:
        r2 = _ellipsoid_weights(kind, qb, kappa, n, bb, cb)
        val = _ellipsoid_kkt(qb, cb, zb, r2, n, pb, bb, idx, act)
    if store:
        _store_row(model, i, n, pos, pb, pw)
    return model[5][i] + gamma * val


# Passes (KL) and active-set iterations (L2, chi2) a batch spends before its unfinished rows go to
# the scalar kernel.  A batch runs until its slowest lane is done, so a long tail costs every lane:
# on the benchmark's Garnet (benchmarks/robust_sweep.py) 3 passes leave about 1% of cold-started KL
# rows (0.01% warm) and 3 iterations 0.2% of cold-started L2 rows (0.004% warm) to the scalar kernel.
LANE_PASSES = 3


@njit(cache=True)
def _div_block(model, uset, gamma, v, pol, pi, store, pw, out, lo, hi, rows, warm):
    """Rows (``pol`` False: state-action rows lo..hi-1 into ``out[i]``, masked rows -inf) or states
    (``pol`` True: rows ``s*A + pi[s]`` into ``out[s]``) of the fused divergence sweep.

    ``warm`` (S*A,) holds each row's warm start from the previous sweep (KL: the tilt u; L2 and
    chi2: the active set's bit mask as float64 bits, see ``robust_lanes.ellipsoid_lanes``; 0 = none)
    and is updated in place; a shorter array (the (1,) dummy) means no warm start.  CSR rows whose
    minimiser is not stored run ``LANES`` at a time through the batched kernels of
    ``robust_lanes`` (which hand back the rows they do not finish); dense rows, stored
    minimisers run row by row.  A row's batch depends on the block boundaries, but not its result:
    each lane's iteration reads only its own row (padding adds exact zeros), so the sweep stays
    bitwise independent of the thread count and of how the rows are split into blocks.
    """
    kind, kappa1 = uset[0], uset[1]
    layout, R1, mask1, A = model[0], model[5], model[6], model[8]
    use_warm = warm.shape[0] >= R1.shape[0]
    r0 = lo
    if layout and not store:
        lb = lane_buffers()
        F = lb[1]
        il = np.empty(LANES, dtype=np.int64)
        kap = np.empty(LANES)
        csr = (model[2], model[3], model[4])
        while r0 < hi:
            m = min(LANES, hi - r0)
            for l in range(LANES):
                r = r0 + l
                i = -1
                if l < m:
                    i = r * A + pi[r] if pol else r
                    kap[l] = kappa1[i]
                    F[2, l] = warm[i] if use_warm else 0.0
                    if not (pol or mask1[i]):
                        out[r] = NEG_INF
                        i = -1
                il[l] = i
            if kind == KL:
                kl_lanes(csr, v, il, kap, lb, LANE_PASSES)
            else:
                ellipsoid_lanes(csr, v, il, kap, kind == L2, lb, LANE_PASSES)
            for l in range(m):
                i = il[l]
                if i < 0:
                    continue
                if F[0, l] == DONE:
                    out[r0 + l] = R1[i] + gamma * F[1, l]
                    if use_warm:
                        warm[i] = F[2, l]
                else:
                    out[r0 + l] = _div_row(model, uset, gamma, v, i, store, pw, rows, warm, use_warm)
            r0 += m
    for r in range(r0, hi):
        i = r * A + pi[r] if pol else r
        if not (pol or mask1[i]):
            out[r] = NEG_INF
            continue
        out[r] = _div_row(model, uset, gamma, v, i, store, pw, rows, warm, use_warm)


@njit(cache=True, parallel=True)
def _div_par(model, uset, gamma, v, pol, pi, store, pw, out, work):
    m = out.shape[0]
    warm = work[25]
    for c in prange(N_CHUNKS):
        lo = (c * m) // N_CHUNKS
        hi = ((c + 1) * m) // N_CHUNKS
        _div_block(model, uset, gamma, v, pol, pi, store, pw, out, lo, hi, _div_rows(work, c), warm)


@njit(cache=True)
def div_sweep(model, uset, gamma, v, pol, pi, store, pw, out, work):
    """Fused L2 / chi-square / KL sweep: the q-backup (``pol`` False, ``out`` (S*A,)) or the policy
    sweep of ``pi`` (``pol`` True, ``out`` (S,)); see :func:`robust_q`, :func:`robust_policy_sweep`.

    One gather and one inner solve per row, on the per-block scratch ``work[17:25]``; sweeps reading
    at least ``PAR_MIN_WORK`` stored entries run ``prange`` over ``N_CHUNKS`` fixed blocks (as the
    nominal ``bellman.bellman_q``), so every row is computed by the same serial code whatever the
    thread count.  Rows are warm-started from ``work[25]``: the previous sweep's multipliers (KL) or
    active sets (L2, chi2; batched CSR rows only).
    With ``pol`` False, ``pi`` is not read (pass any int64 vector).
    """
    layout, P2, data, A = model[0], model[1], model[4], model[8]
    nwork = data.shape[0] if layout else P2.shape[0] * P2.shape[1]
    if pol:
        nwork = nwork // max(A, 1)
    if nwork >= PAR_MIN_WORK and work[17].shape[0] >= N_CHUNKS:
        _div_par(model, uset, gamma, v, pol, pi, store, pw, out, work)
    else:
        _div_block(model, uset, gamma, v, pol, pi, store, pw, out, np.int64(0), out.shape[0], _div_rows(work, 0),
                   work[25])


@njit(cache=True)
def _store_row(model, i, n, pos, pb, pw):
    """Write the minimiser ``pb[:n]`` of row i (gathered at ``pos``) into ``pw = (pw2, pwd)``."""
    layout, indptr = model[0], model[2]
    pw2, pwd = pw
    if layout:
        for k in range(indptr[i], indptr[i + 1]):
            pwd[k] = 0.0
        for k in range(n):
            pwd[pos[k]] = pb[k]
    else:
        for j in range(pw2.shape[1]):
            pw2[i, j] = 0.0
        for k in range(n):
            pw2[i, pos[k]] = pb[k]


@njit(cache=True, inline="always")
def _rows_sweep(model, uset, gamma, v, pol, pi, store, pw, out, work):
    """The serial sweep of the sets without a fused kernel: gather each row and :func:`solve_row`.

    Rows as in :func:`_div_block`: ``pol`` False, every state-action row into ``out[i]`` (masked
    rows -inf); ``pol`` True, the rows ``s*A + pi[s]`` into ``out[s]``.
    """
    kind, kappa1, full, W, metric = uset
    layout, indices, R1, mask1, A = model[0], model[3], model[5], model[6], model[8]
    qb, zb, pb, pos, cols = work[0], work[1], work[2], work[3], work[4]
    rw = work[:17]
    for r in range(out.shape[0]):
        i = r * A + pi[r] if pol else r
        if not (pol or mask1[i]):
            out[r] = NEG_INF
            continue
        n = _gather(model, i, v, full, qb, zb, pos, cols)
        if kind == WASSERSTEIN or kind == WL1:
            _fill_cols(layout, indices, pos, n, cols)
        out[r] = R1[i] + gamma * solve_row(kind, n, kappa1[i], W, metric, rw)
        if store:
            _store_row(model, i, n, pos, pb, pw)


@njit(cache=True)
def robust_q(model, uset, gamma, v, store, pw, q_out, work):
    """q_out[i] = R1[i] + gamma * min_{p in U_i} p . v for every available row i (-inf if masked).

    ``model`` is the tuple of ``mdpkit._kernels.model_args``; ``uset = (kind, kappa1, full, W,
    metric)`` the set (kappa1 (S*A,)); ``work`` the tuple of
    :func:`mdpkit.uncertainty.make_workspace`.  If ``store``, the minimiser is written to
    ``pw[0]`` (dense rows, (S*A, S), zero outside the gathered states) or ``pw[1]`` (CSR data,
    aligned with ``data``).  L1 sets run the fused :func:`robust_q_l1` (scratch ``work[17:22]``),
    L2 / chi2 / KL the fused :func:`div_sweep` (``work[17:26]``, warm-started); the other sets
    gather each row and call :func:`solve_row`.
    """
    kind, kappa1, full = uset[0], uset[1], uset[2]
    if kind == L1:
        robust_q_l1(model, gamma, v, kappa1, full, store, pw, q_out,
                    (work[17], work[18], work[19], work[20], work[21]))
        return
    if kind == L2 or kind == CHI2 or kind == KL:
        div_sweep(model, uset, gamma, v, np.bool_(False), work[19][0], store, pw, q_out, work)
        return
    _rows_sweep(model, uset, gamma, v, np.bool_(False), work[19][0], store, pw, q_out, work)


# --------------------------------------------------------------------------------------------
# s-rectangular L1 (Ho, Petrik & Wiesemann 2018, Sec. 4)
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def l1_knots(qb, zb, n, idx, xi_k, f_k):
    """Breakpoints of f(xi) = min {p.z : ||p - q||_1 <= xi} (convex, piecewise linear, decreasing).

    Writes knots ``xi_k[0] = 0 < ... `` and values ``f_k``; returns their number m.  Beyond the
    last knot f is constant (all movable mass sits on argmin z).
    """
    _argsort_into(zb, n, idx)
    f0 = 0.0
    for k in range(n):
        f0 += qb[k] * zb[k]
    xi_k[0] = 0.0
    f_k[0] = f0
    m = 1
    if n <= 1:
        return m
    i0 = idx[0]
    zlo = zb[i0]
    cap = 1.0 - qb[i0]
    eps = 0.0
    f = f0
    for k in range(n - 1, 0, -1):
        j = idx[k]
        if eps >= cap:
            break
        take = qb[j]
        if eps + take > cap:
            take = cap - eps
        if take <= 0.0:
            continue
        if zb[j] <= zlo:
            break  # the remaining moves are free of gain: f is flat from here
        eps += take
        f += take * (zlo - zb[j])
        xi_k[m] = 2.0 * eps
        f_k[m] = f
        m += 1
    return m


@njit(cache=True)
def _pl_inverse(xi_k, f_k, m, u):
    """Smallest xi with f(xi) <= u for the piecewise-linear decreasing f (inf if u < floor)."""
    if u >= f_k[0]:
        return 0.0
    if u < f_k[m - 1]:
        return np.inf
    for k in range(1, m):
        if f_k[k] <= u:
            a = f_k[k - 1]
            b = f_k[k]
            return xi_k[k - 1] + (xi_k[k] - xi_k[k - 1]) * (a - u) / (a - b)
    return xi_k[m - 1]


@njit(cache=True)
def _pl_slope(xi_k, f_k, m, xi):
    """Slope of f on the piece just right of ``xi`` (0 past the last knot)."""
    for k in range(1, m):
        if xi < xi_k[k]:
            return (f_k[k] - f_k[k - 1]) / (xi_k[k] - xi_k[k - 1])
    return 0.0


@njit(cache=True)
def _srect_total(A, avail, XI, QV, M, u):
    """sum_a xi_a(u): the budget needed to push every q_a(xi_a) down to u (inf if impossible)."""
    t = 0.0
    for a in range(A):
        if avail[a]:
            t += _pl_inverse(XI[a], QV[a], M[a], u)
    return t


@njit(cache=True)
def s_rect_l1_state(A, avail, XI, QV, M, kappa, pi_out, xi_out):
    """Ho et al. (2018) s-rectangular L1 update at one state from per-action knots.

    Action a has the convex, piecewise-linear, non-increasing q_a(xi) = R_a + gamma f_a(xi) with
    knots ``XI[a, :M[a]]`` and values ``QV[a, :M[a]]``.  Solves
    min_{xi >= 0, sum xi <= kappa} max_a q_a(xi_a) (= the max over randomized policies of the
    worst case, by the minimax theorem) exactly over the breakpoints, writes the budget split
    into ``xi_out`` and an optimal randomized policy (pi_a ∝ 1/|q_a'(xi_a)| on the active
    actions: the epigraph multipliers) into ``pi_out``; returns the value.
    """
    ulo = -np.inf
    c = 0
    for a in range(A):
        pi_out[a] = 0.0
        xi_out[a] = 0.0
        if avail[a]:
            c += M[a]
            if QV[a, M[a] - 1] > ulo:
                ulo = QV[a, M[a] - 1]
    if _srect_total(A, avail, XI, QV, M, ulo) <= kappa:
        best = -1
        for a in range(A):
            if avail[a] and (best < 0 or QV[a, M[a] - 1] > QV[best, M[best] - 1]):
                best = a
        pi_out[best] = 1.0
        for a in range(A):
            if avail[a]:
                xi_out[a] = _pl_inverse(XI[a], QV[a], M[a], ulo)
        return ulo
    lev = np.empty(c)
    c = 0
    for a in range(A):
        if avail[a]:
            for k in range(M[a]):
                lev[c] = QV[a, k]
                c += 1
    lev = np.sort(lev)
    lo = 0
    while lev[lo] < ulo:
        lo += 1
    hi = c - 1  # the largest q_a(0): total 0 there
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _srect_total(A, avail, XI, QV, M, lev[mid]) <= kappa:
            hi = mid
        else:
            lo = mid
    ua = lev[lo]
    ub = lev[hi]
    ta = _srect_total(A, avail, XI, QV, M, ua)
    tb = _srect_total(A, avail, XI, QV, M, ub)
    if ta <= kappa:
        ustar = ua
    elif tb >= kappa or ta == tb:
        ustar = ub
    else:
        ustar = ua + (ub - ua) * (ta - kappa) / (ta - tb)
        if ustar > ub:
            ustar = ub
        if ustar < ua:
            ustar = ua
    # policy from the slopes on the open segment (ua, ub)
    umid = 0.5 * (ua + ub)
    tot = 0.0
    for a in range(A):
        if not avail[a]:
            continue
        xm = _pl_inverse(XI[a], QV[a], M[a], umid)
        if xm > 0.0 and xm < np.inf:
            sl = _pl_slope(XI[a], QV[a], M[a], xm)
            if sl < 0.0:
                pi_out[a] = -1.0 / sl
                tot += pi_out[a]
    if tot > 0.0:
        for a in range(A):
            pi_out[a] /= tot
    else:  # degenerate segment: fall back to the action with the largest floor
        best = -1
        for a in range(A):
            if avail[a] and (best < 0 or QV[a, M[a] - 1] > QV[best, M[best] - 1]):
                best = a
        pi_out[best] = 1.0
    for a in range(A):
        if avail[a]:
            x = _pl_inverse(XI[a], QV[a], M[a], ustar)
            xi_out[a] = x if x < np.inf else XI[a, M[a] - 1]
    return ustar


@njit(cache=True)
def _s_knots(model, gamma, v, full, s, work, swork):
    """Per-action knots of q_a(xi) = R[s, a] + gamma min_{||p - q_a||_1 <= xi} p.v at state s.

    Writes ``swork = (XI, QV, M, Rs, avail)``."""
    R1, mask1, A = model[5], model[6], model[8]
    qb, zb, pos, cols, idx = work[0], work[1], work[3], work[4], work[5]
    XI, QV, M, avail = swork[0], swork[1], swork[2], swork[4]
    for a in range(A):
        i = s * A + a
        avail[a] = mask1[i]
        M[a] = 1
        XI[a, 0] = 0.0
        QV[a, 0] = R1[i]
        if mask1[i]:
            n = _gather(model, i, v, full, qb, zb, pos, cols)
            M[a] = l1_knots(qb, zb, n, idx, XI[a], QV[a])
            if gamma == 0.0:
                M[a] = 1
            for k in range(M[a]):
                QV[a, k] = R1[i] + gamma * QV[a, k]


@njit(cache=True)
def _store_l1_rows(model, v, full, s, xi, pw, work):
    """Store the L1 minimisers of the rows (s, a) at budgets ``xi (A,)`` into ``pw``."""
    mask1, A = model[6], model[8]
    qb, zb, pb, pos, cols, idx = work[0], work[1], work[2], work[3], work[4], work[5]
    for a in range(A):
        i = s * A + a
        if not mask1[i]:
            continue
        n = _gather(model, i, v, full, qb, zb, pos, cols)
        inner_l1(qb, zb, xi[a], n, pb, idx)
        _store_row(model, i, n, pos, pb, pw)


@njit(cache=True)
def s_rect_l1_backup(model, uset, gamma, v, store, out, pw, work, swork):
    """(T v)(s) for the s-rectangular L1 set {(p_a): sum_a ||p_a - q_a||_1 <= kappa_s[s]}.

    ``uset = (kind, kappa_s (S,), full, W, metric)`` (kind, W and metric unused);
    ``out = (v_out (S,), pi_out (S*A,), xi_out (S*A,))`` receive the values, the randomized policy
    and the budget split; with ``store`` the worst-case rows (p_a at budget xi_a) go to
    ``pw = (pw2, pwd)``.  ``swork = (XI, QV, M, Rs, avail)`` (``Rs`` unused).
    """
    kappa_s, full = uset[1], uset[2]
    S, A = model[7], model[8]
    v_out, pi_out, xi_out = out
    XI, QV, M, avail = swork[0], swork[1], swork[2], swork[4]
    for s in range(S):
        _s_knots(model, gamma, v, full, s, work, swork)
        v_out[s] = s_rect_l1_state(A, avail, XI, QV, M, kappa_s[s], pi_out[s * A:(s + 1) * A],
                                   xi_out[s * A:(s + 1) * A])
        if store:
            _store_l1_rows(model, v, full, s, xi_out[s * A:(s + 1) * A], pw, work)


@njit(cache=True)
def s_rect_l1_policy_state(A, avail, pis, XI, QV, M, kappa, xi_out):
    """min over budget splits of sum_a pi_a q_a(xi_a): a fractional knapsack over knot segments.

    Returns the value; the split goes to ``xi_out``.  Segments with the most negative
    ``pi_a * slope`` are bought first (each action's slopes increase along its knots, so its
    segments are bought in order).
    """
    val = 0.0
    nseg = 0
    for a in range(A):
        xi_out[a] = 0.0
        if avail[a] and pis[a] > 0.0:
            val += pis[a] * QV[a, 0]
            nseg += M[a] - 1
    if nseg == 0:
        return val
    sl = np.empty(nseg)
    sa = np.empty(nseg, dtype=np.int64)
    sk = np.empty(nseg, dtype=np.int64)
    c = 0
    for a in range(A):
        if avail[a] and pis[a] > 0.0:
            for k in range(1, M[a]):
                sl[c] = pis[a] * (QV[a, k] - QV[a, k - 1]) / (XI[a, k] - XI[a, k - 1])
                sa[c] = a
                sk[c] = k
                c += 1
    order = np.argsort(sl, kind="mergesort")
    budget = kappa
    for t in range(nseg):
        g = order[t]
        if budget <= 0.0 or sl[g] >= 0.0:
            break
        a = sa[g]
        k = sk[g]
        length = XI[a, k] - XI[a, k - 1]
        take = length if length < budget else budget
        xi_out[a] += take
        val += sl[g] * take
        budget -= take
    return val


@njit(cache=True)
def s_rect_l1_policy_backup(model, uset, gamma, v, pis, store, out, pw, work, swork):
    """(T_pi v)(s) = min_{(p_a) in U_s} sum_a pi[s, a] (R[s, a] + gamma p_a . v), s-rectangular L1.

    ``pis (S*A,)`` the randomized policy; ``out = (v_out (S,), xi_out (S*A,))``; other arguments
    as :func:`s_rect_l1_backup`.
    """
    kappa_s, full = uset[1], uset[2]
    S, A = model[7], model[8]
    v_out, xi_out = out
    XI, QV, M, avail = swork[0], swork[1], swork[2], swork[4]
    for s in range(S):
        _s_knots(model, gamma, v, full, s, work, swork)
        v_out[s] = s_rect_l1_policy_state(A, avail, pis[s * A:(s + 1) * A], XI, QV, M, kappa_s[s],
                                          xi_out[s * A:(s + 1) * A])
        if store:
            _store_l1_rows(model, v, full, s, xi_out[s * A:(s + 1) * A], pw, work)


# --------------------------------------------------------------------------------------------
# loops
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _diff_update(v, v_new, S):
    """v <- v_new; returns (sup |v_new - v|, min d, max d) of d = v_new - v."""
    dmin = np.inf
    dmax = -np.inf
    res = 0.0
    for s in range(S):
        d = v_new[s] - v[s]
        if d < dmin:
            dmin = d
        if d > dmax:
            dmax = d
        if abs(d) > res:
            res = abs(d)
        v[s] = v_new[s]
    return res, dmin, dmax


@njit(cache=True, inline="always")
def _record_sweep(v, v_new, S, n, trace, use_span, tol):
    """v <- v_new after sweep n of a loop; records ``trace = (residuals, spans, dminmax)`` and
    returns whether the stopping test (span of v_new - v if ``use_span``, else sup norm) is < tol."""
    residuals, spans, dminmax = trace
    res, dmin, dmax = _diff_update(v, v_new, S)
    residuals[n] = res
    spans[n] = dmax - dmin
    dminmax[0] = dmin
    dminmax[1] = dmax
    return (dmax - dmin if use_span else res) < tol


@njit(cache=True)
def robust_vi_loop(model, uset, gamma, v, ctrl, out, pw, work):
    """sa-rectangular robust value iteration v_{k+1} = T_U v_k, in place on ``v``.

    ``ctrl = (tol, use_span, max_iter)``; ``out = (q (S*A,), v_new (S,), pi_out (S,) int64,
    residuals (max_iter,), spans (max_iter,), dminmax (2,))``.  Same contract as
    ``bellman.value_iteration_loop``: on return ``v`` is the last iterate, ``q`` and ``pi_out``
    the robust q-values and greedy policy of the previous iterate.  Returns ``(n_iter, converged)``.
    """
    tol, use_span, max_iter = ctrl
    q, v_new, pi_out, residuals, spans, dminmax = out
    S = model[7]
    n = 0
    converged = False
    while n < max_iter:
        robust_q(model, uset, gamma, v, np.bool_(False), pw, q, work)
        bellman.greedy_max(model, q, v_new, pi_out)
        n += 1
        if _record_sweep(v, v_new, S, n - 1, (residuals, spans, dminmax), use_span, tol):
            converged = True
            break
    return n, converged


@njit(cache=True, inline="always")
def _l1_policy_block(model, gamma, pi, v, kappa1, dest, store, pw, v_out, lo, hi, scratch):
    """States lo..hi-1 of the fused L1 policy sweep (same structure as :func:`_l1_q_block`)."""
    layout, P2, indptr, indices, data, R1, A = (model[0], model[1], model[2], model[3], model[4], model[5],
                                                model[8])
    jg, zg = dest
    qs, zs, ks, order, pb = scratch
    for s in range(lo, hi):
        i = s * A + pi[s]
        if store:
            val = _l1_row_store(model, i, v, kappa1[i], dest, scratch, pw)
        else:
            if layout:
                n, acc, i0, zlo, ihi, zhi = _l1_gather_csr(indptr, indices, data, i, v, qs, zs, ks)
            else:
                n, acc, i0, zlo, ihi, zhi = _l1_gather_dense(P2, i, v, jg, zg, qs, zs, ks)
            val = _l1_value(qs, zs, n, acc, i0, zlo, ihi, zhi, kappa1[i], order, pb)
        v_out[s] = R1[i] + gamma * val


@njit(cache=True, parallel=True)
def _l1_policy_par(model, gamma, pi, v, kappa1, dest, store, pw, v_out, chunk):
    S = v.shape[0]
    QS, ZS, KS, OS, PS = chunk
    for c in prange(N_CHUNKS):
        lo = (c * S) // N_CHUNKS
        hi = ((c + 1) * S) // N_CHUNKS
        _l1_policy_block(model, gamma, pi, v, kappa1, dest, store, pw, v_out, lo, hi,
                         (QS[c], ZS[c], KS[c], OS[c], PS[c]))


@njit(cache=True)
def robust_policy_sweep(model, uset, gamma, pi, v, store, pw, v_out, work):
    """v_out[s] = R[s, pi[s]] + gamma min_{p in U_{s, pi[s]}} p . v (deterministic pi, sa-rectangular).

    Arguments as :func:`robust_q`; ``pi (S,)`` int64.  With ``store`` the minimising rows of the
    policy's actions are written to ``pw``.  L1 sets use the fused row update (in parallel over
    fixed state blocks on large models, as :func:`robust_q_l1`).
    """
    kind, kappa1, full = uset[0], uset[1], uset[2]
    layout, P2, data, A = model[0], model[1], model[4], model[8]
    if kind == L1:
        dest = _l1_dest(layout, full, v)
        nwork = data.shape[0] if layout else P2.shape[0] * P2.shape[1]
        chunk = (work[17], work[18], work[19], work[20], work[21])
        if nwork // max(A, 1) >= PAR_MIN_WORK and work[17].shape[0] >= N_CHUNKS:
            _l1_policy_par(model, gamma, pi, v, kappa1, dest, store, pw, v_out, chunk)
        else:
            _l1_policy_block(model, gamma, pi, v, kappa1, dest, store, pw, v_out, 0, v.shape[0],
                             (work[17][0], work[18][0], work[19][0], work[20][0], work[21][0]))
        return
    if kind == L2 or kind == CHI2 or kind == KL:
        div_sweep(model, uset, gamma, v, np.bool_(True), pi, store, pw, v_out, work)
        return
    _rows_sweep(model, uset, gamma, v, np.bool_(True), pi, store, pw, v_out, work)


@njit(cache=True)
def robust_mpi_loop(model, uset, gamma, v, ctrl, out, pw, work):
    """Robust modified policy iteration (Kaufman & Schaefer 2013), sa-rectangular, in place on ``v``.

    ``ctrl = (tol, m, max_iter)``; ``out`` as :func:`robust_vi_loop`.  One improvement backup
    u = T_U v (greedy pi), stop if span(u - v) < tol, else ``m`` robust evaluation sweeps
    u <- T_{pi, U} u.  On a stop ``v`` = T_U v_k and ``pi_out`` is greedy for v_k.  Returns
    ``(n_iter, converged)``.
    """
    tol, m, max_iter = ctrl
    q, v_new, pi_out, residuals, spans, dminmax = out
    S = model[7]
    n = 0
    converged = False
    while n < max_iter:
        robust_q(model, uset, gamma, v, np.bool_(False), pw, q, work)
        bellman.greedy_max(model, q, v_new, pi_out)
        n += 1
        if _record_sweep(v, v_new, S, n - 1, (residuals, spans, dminmax), np.bool_(True), tol):
            converged = True
            break
        for _ in range(m):
            robust_policy_sweep(model, uset, gamma, pi_out, v, np.bool_(False), pw, v_new, work)
            for s in range(S):
                v[s] = v_new[s]
    return n, converged


@njit(cache=True)
def s_rect_l1_vi_loop(model, uset, gamma, v, ctrl, out, pw, work, swork):
    """s-rectangular L1 robust value iteration, in place on ``v`` (policy of the previous iterate).

    ``ctrl = (tol, use_span, max_iter)``; ``out = (v_new (S,), pi_out (S*A,), xi_out (S*A,),
    residuals, spans, dminmax)``; other arguments as :func:`s_rect_l1_backup`.
    """
    tol, use_span, max_iter = ctrl
    v_new, pi_out, xi_out, residuals, spans, dminmax = out
    S = model[7]
    n = 0
    converged = False
    while n < max_iter:
        s_rect_l1_backup(model, uset, gamma, v, np.bool_(False), (v_new, pi_out, xi_out), pw, work, swork)
        n += 1
        if _record_sweep(v, v_new, S, n - 1, (residuals, spans, dminmax), use_span, tol):
            converged = True
            break
    return n, converged


# --------------------------------------------------------------------------------------------
# s-rectangular L-infinity, L2 and KL: a level search over convex per-action value curves
# --------------------------------------------------------------------------------------------
#
# At state s action a has the convex non-increasing curve g_a(xi) = R[s, a] + gamma f_a(xi),
# f_a(xi) = min {p.v : d(p, q_a) <= xi}, evaluated by the sa-inner kernels above together with a
# subgradient f_a'(xi) read off their KKT point (:func:`srect_eval`).  The s-rectangular update
# min_{xi >= 0, sum xi <= kappa} max_a g_a(xi_a) is solved through the level u: the budget
# T(u) = sum_a g_a^{-1}(u) is convex and non-increasing in u, so Newton's method from the left
# (safeguarded by bisection) finds T(u*) = kappa; an optimal randomized policy is
# pi_a ∝ 1 / |g_a'(xi_a)| on the active actions (the epigraph multipliers).  For a fixed
# policy nature's split solves min sum_a pi_a g_a(xi_a): bisection on the budget multiplier.
#
# ``sw`` = (QB (A, n), ZB (A, n), PS (A, n) int64, NA (A,) int64, RA (A,), G0 (A,), FL (A,),
#           XM (A,), avail (A,) bool, XL (A,), FXL (A,), SXL (A,), XR (A,), XC (A,), FC (A,), SC (A,))
# holds the gathered rows of one state, g_a(0), the floor g_a(inf), the radius reaching it, the
# left bracket (radius, f, slope), the right bracket and the current point.


@njit(cache=True, inline="always")
def _row_bufs(work):
    """The row buffers ``(qb, zb, pb, idx, bb, cb, act)`` of a workspace (a short tuple to pass down)."""
    return (work[0], work[1], work[2], work[5], work[6], work[7], work[8])


@njit(cache=True)
def srect_eval(kind, x, q, z, n, rw):
    """f(x) = min {p.z : d(p, q) <= x, p in the simplex} and a subgradient f'(x) <= 0.

    ``kind`` is LINF, L2 or KL; ``q, z`` hold the ``n`` gathered entries; the minimiser is written
    to ``rw[2][:n]``; ``rw = (qb, zb, pb, idx, bb, cb, act)`` are the row buffers of
    :func:`mdpkit.uncertainty.make_workspace` (``work[0], work[1], work[2], work[5:9]``).  The
    subgradient is minus the KKT multiplier of the distance constraint:
    L-infinity, with the LP dual ``nu`` (z of the marginal entry of the greedy fill),
    ``f' = -sum_{q_i > x} (z_i - nu)^+ - sum_{q_i + x < 1} (nu - z_i)^+``; L2, with
    ``p = Pi_simplex(q - t z)``, ``f' = -x / t`` (t by least squares on the active set; 0 at
    x = 0, where the point does not show the right derivative); KL, with ``p ∝ q exp(-u z)``,
    ``f' = -1 / u`` (u by least squares of log(p/q) on z; ``-inf`` at x = 0).  Returns ``(f, f')``.
    """
    qb, zb, pb = rw[0], rw[1], rw[2]
    idx, bb, cb, act = rw[3], rw[4], rw[5], rw[6]
    for k in range(n):
        qb[k] = q[k]
        zb[k] = z[k]
    if kind == LINF:
        rem = 1.0
        for k in range(n):
            lo = q[k] - x
            bb[k] = lo if lo > 0.0 else 0.0
            hi = q[k] + x
            cb[k] = hi if hi < 1.0 else 1.0
            rem -= bb[k]
        f = inner_box(bb, cb, zb, n, pb, idx)
        nu = z[idx[0]]
        for k in range(n):
            j = idx[k]
            nu = z[j]
            add = cb[j] - bb[j]
            if add >= rem:
                break
            rem -= add
        sl = 0.0
        for k in range(n):
            d = z[k] - nu
            if d > 0.0 and q[k] > x:
                sl -= d
            elif d < 0.0 and q[k] + x < 1.0:
                sl += d
        return f, sl
    if kind == L2:
        f = _ellipsoid_row(kind, qb, zb, x, n, pb, bb, cb, idx, act)
        c = 0
        mz = 0.0
        md = 0.0
        for k in range(n):
            if pb[k] > 0.0:
                c += 1
                mz += z[k]
                md += pb[k] - q[k]
        if c < 2 or x <= 0.0:
            return f, 0.0
        mz /= c
        md /= c
        szz = 0.0
        szd = 0.0
        for k in range(n):
            if pb[k] > 0.0:
                szz += (z[k] - mz) * (z[k] - mz)
                szd += (z[k] - mz) * (pb[k] - q[k] - md)
        if szz <= 0.0 or szd >= 0.0:
            return f, 0.0
        return f, x * szz / szd
    f = inner_kl(qb, zb, x, n, pb, np.float64(0.0), np.bool_(True))[0]
    if x <= 0.0:
        return f, -np.inf
    c = 0
    mz = 0.0
    ml = 0.0
    for k in range(n):
        if pb[k] > 1e-250:
            c += 1
            mz += z[k]
            ml += np.log(pb[k] / q[k])
    if c < 2:
        return f, 0.0
    mz /= c
    ml /= c
    szz = 0.0
    szl = 0.0
    for k in range(n):
        if pb[k] > 1e-250:
            szz += (z[k] - mz) * (z[k] - mz)
            szl += (z[k] - mz) * (np.log(pb[k] / q[k]) - ml)
    if szz <= 0.0 or szl >= 0.0:
        return f, 0.0
    return f, szz / szl


@njit(cache=True)
def srect_reach(kind, q, z, n):
    """Smallest radius at which f reaches its floor min z (all mass on argmin z); 0 if z is flat."""
    zmin = _zmin(z, n)
    QM = 0.0
    CM = 0.0
    rest = 0.0
    qmax = 0.0
    for k in range(n):
        if z[k] == zmin:
            QM += q[k]
            CM += 1.0
        else:
            rest += q[k] * q[k]
            if q[k] > qmax:
                qmax = q[k]
    if CM == float(n):
        return 0.0
    if kind == LINF:
        spread = (1.0 - QM) / CM
        return qmax if qmax > spread else spread
    if kind == L2:
        return np.sqrt((1.0 - QM) * (1.0 - QM) / CM + rest)
    return -np.log(QM)


@njit(cache=True)
def _srect_prepare(kind, model, v, full, s, gamma, work, sw):
    """Gather state s into ``sw`` and set g_a(0), floors, reach radii and brackets; returns ftol."""
    R1, mask1, A = model[5], model[6], model[8]
    qb, zb, pos, cols = work[0], work[1], work[3], work[4]
    QB, ZB, PS, NA, RA, G0, FL, XM, avail = sw[0], sw[1], sw[2], sw[3], sw[4], sw[5], sw[6], sw[7], sw[8]
    XL, FXL, SXL, XR = sw[9], sw[10], sw[11], sw[12]
    zscale = 0.0
    for a in range(A):
        i = s * A + a
        avail[a] = mask1[i]
        NA[a] = 0
        RA[a] = R1[i]
        G0[a] = R1[i]
        FL[a] = R1[i]
        XM[a] = 0.0
        XL[a] = 0.0
        FXL[a] = 0.0
        SXL[a] = 0.0
        XR[a] = 0.0
        if not mask1[i]:
            continue
        n = _gather(model, i, v, full, qb, zb, pos, cols)
        NA[a] = n
        m = 0.0
        for k in range(n):
            QB[a, k] = qb[k]
            ZB[a, k] = zb[k]
            PS[a, k] = pos[k]
            m += qb[k] * zb[k]
            if abs(zb[k]) > zscale:
                zscale = abs(zb[k])
        FXL[a] = m
        if gamma > 0.0 and n > 0:
            zmin = _zmin(zb, n)
            G0[a] = R1[i] + gamma * m
            FL[a] = R1[i] + gamma * zmin
            if FL[a] >= G0[a]:
                FL[a] = G0[a]
            else:
                XM[a] = srect_reach(kind, QB[a], ZB[a], n)
                XR[a] = XM[a]
                f, sl = srect_eval(kind, 0.0, QB[a], ZB[a], n, _row_bufs(work))
                SXL[a] = sl
    return 1e-13 * (1.0 + zscale)


@njit(cache=True)
def _srect_inverse(kind, c, q, z, n, xl, fl, sl, xr, ftol, rw):
    """Radius x in [xl, xr] with f(x) = c (within ``ftol``); f convex non-increasing, f(xl) = fl > c.

    Newton from the left (it never overshoots for a convex f) with the subgradient ``sl`` at xl,
    safeguarded by bisection (every fourth step, or when a step leaves the bracket).  Returns
    ``(x, f(x), f'(x))``; when the bracket shrinks to round-off, its right end (f <= c).
    """
    if fl <= c + ftol:
        return xl, fl, sl
    xrr = xr
    fr = np.nan
    sr = 0.0
    for it in range(200):
        if sl < 0.0 and sl > -np.inf and it % 4 != 3:
            cand = xl + (fl - c) / (-sl)
        else:
            cand = 0.5 * (xl + xrr)
        if not (cand > xl and cand < xrr):
            cand = 0.5 * (xl + xrr)
        f, s = srect_eval(kind, cand, q, z, n, rw)
        if abs(f - c) <= ftol:
            return cand, f, s
        if f > c:
            xl, fl, sl = cand, f, s
        else:
            xrr, fr, sr = cand, f, s
        if xrr - xl <= 4e-16 * xrr:
            break
    if fr != fr:
        fr, sr = srect_eval(kind, xrr, q, z, n, rw)
    return xrr, fr, sr


@njit(cache=True)
def _srect_level_total(kind, u, gamma, A, ftol, rw, sw):
    """T(u) = sum_a g_a^{-1}(u) and dT/du; the radii, f-values and slopes go to XC, FC, SC."""
    QB, ZB, NA, RA, G0, FL, XM, avail = sw[0], sw[1], sw[3], sw[4], sw[5], sw[6], sw[7], sw[8]
    XL, FXL, SXL, XR, XC, FC, SC = sw[9], sw[10], sw[11], sw[12], sw[13], sw[14], sw[15]
    tot = 0.0
    dT = 0.0
    for a in range(A):
        XC[a] = 0.0
        FC[a] = 0.0
        SC[a] = 0.0
        if not avail[a] or G0[a] <= u:
            continue
        if u < FL[a]:
            return np.inf, 0.0
        if u == FL[a]:
            XC[a] = XM[a]
            FC[a] = (FL[a] - RA[a]) / gamma
            tot += XM[a]
            dT = -np.inf
            continue
        x, f, s = _srect_inverse(kind, (u - RA[a]) / gamma, QB[a], ZB[a], NA[a], XL[a], FXL[a], SXL[a], XR[a],
                                 ftol, rw)
        XC[a] = x
        FC[a] = f
        SC[a] = s
        tot += x
        if s < 0.0:
            dT += 1.0 / (gamma * s)
        else:
            dT = -np.inf
    return tot, dT


@njit(cache=True)
def _first_argmax(x, avail, A):
    best = -1
    for a in range(A):
        if avail[a] and (best < 0 or x[a] > x[best]):
            best = a
    return best


@njit(cache=True)
def s_rect_state(kind, A, kappa, gamma, ftol, pi_out, xi_out, rw, sw):
    """min_{xi >= 0, sum xi <= kappa} max_a g_a(xi_a) at one prepared state (see the section notes).

    Writes the budget split to ``xi_out`` and an optimal randomized policy (pi_a ∝ 1/|g_a'(xi_a)|
    on the active actions) to ``pi_out``; returns the value.  ``sw`` as prepared by
    :func:`_srect_prepare` for this state.
    """
    G0, FL, avail = sw[5], sw[6], sw[8]
    XL, FXL, SXL, XR, XC, FC, SC = sw[9], sw[10], sw[11], sw[12], sw[13], sw[14], sw[15]
    ulo = -np.inf
    uhi = -np.inf
    for a in range(A):
        pi_out[a] = 0.0
        xi_out[a] = 0.0
        if avail[a]:
            if FL[a] > ulo:
                ulo = FL[a]
            if G0[a] > uhi:
                uhi = G0[a]
    if kappa <= 0.0 or ulo >= uhi:
        pi_out[_first_argmax(G0, avail, A)] = 1.0
        return uhi
    T, dT = _srect_level_total(kind, ulo, gamma, A, ftol, rw, sw)
    if T <= kappa:
        pi_out[_first_argmax(FL, avail, A)] = 1.0
        for a in range(A):
            xi_out[a] = XC[a]
        return ulo
    lo, Tlo, dTlo = ulo, T, dT
    for a in range(A):
        if avail[a] and G0[a] > ulo:
            XR[a] = XC[a]
    hi = uhi
    moved = False
    for it in range(300):
        if dTlo < 0.0 and dTlo > -np.inf and it % 4 != 3:
            cand = lo + (Tlo - kappa) / (-dTlo)
        else:
            cand = 0.5 * (lo + hi)
        if not (cand > lo and cand < hi):
            cand = 0.5 * (lo + hi)
        T, dT = _srect_level_total(kind, cand, gamma, A, ftol, rw, sw)
        if T <= kappa * (1.0 + 1e-13):
            hi = cand
            moved = True
            for a in range(A):
                if avail[a] and G0[a] > cand:
                    XL[a] = XC[a]
                    FXL[a] = FC[a]
                    SXL[a] = SC[a]
            if T >= kappa * (1.0 - 1e-12):
                break
        else:
            lo, Tlo, dTlo = cand, T, dT
            for a in range(A):
                if avail[a] and G0[a] > cand:
                    XR[a] = XC[a]
        if hi - lo <= 4e-16 * max(abs(lo), abs(hi)):
            break
    if not moved:
        pi_out[_first_argmax(G0, avail, A)] = 1.0
        return uhi
    tot = 0.0
    for a in range(A):
        if avail[a] and G0[a] > hi:
            xi_out[a] = XL[a]
            if SXL[a] < 0.0 and SXL[a] > -np.inf:
                pi_out[a] = -1.0 / SXL[a]
                tot += pi_out[a]
    if tot > 0.0:
        for a in range(A):
            pi_out[a] /= tot
    else:
        pi_out[_first_argmax(G0, avail, A)] = 1.0
    return hi


@njit(cache=True)
def _srect_store_rows(kind, model, s, xi, pw, rw, sw):
    """Store the minimisers of the rows (s, a) at the radii ``xi (A,)`` into ``pw``."""
    A = model[8]
    QB, ZB, PS, NA, avail = sw[0], sw[1], sw[2], sw[3], sw[8]
    for a in range(A):
        if not avail[a]:
            continue
        n = NA[a]
        srect_eval(kind, xi[a], QB[a], ZB[a], n, rw)
        _store_row(model, s * A + a, n, PS[a], rw[2], pw)


@njit(cache=True)
def s_rect_backup(model, uset, gamma, v, store, out, pw, work, sw):
    """(T v)(s) for the s-rectangular sets {(p_a): sum_a d(p_a, q_a) <= kappa_s[s]}, d = Linf, L2 or KL.

    Same contract as :func:`s_rect_l1_backup`: ``uset = (kind, kappa_s (S,), full, W, metric)``;
    ``out = (v_out (S,), pi_out (S*A,), xi_out (S*A,))``; with ``store`` the worst-case rows (p_a
    at radius xi_a) go to ``pw``; ``sw`` the s-rectangular work tuple (section notes).
    """
    kind, kappa_s, full = uset[0], uset[1], uset[2]
    S, A = model[7], model[8]
    v_out, pi_out, xi_out = out
    rw = _row_bufs(work)
    for s in range(S):
        ftol = _srect_prepare(kind, model, v, full, s, gamma, work, sw)
        v_out[s] = s_rect_state(kind, A, kappa_s[s], gamma, ftol, pi_out[s * A:(s + 1) * A],
                                xi_out[s * A:(s + 1) * A], rw, sw)
        if store:
            _srect_store_rows(kind, model, s, xi_out[s * A:(s + 1) * A], pw, rw, sw)


@njit(cache=True)
def _srect_radius_at_slope(kind, sig, q, z, n, xm, rw):
    """The radius in [0, xm] where the non-decreasing f' crosses ``sig < 0`` (bisection)."""
    lo = 0.0
    hi = xm
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        f, s = srect_eval(kind, mid, q, z, n, rw)
        if s <= sig:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 4e-16 * hi:
            break
    return lo


@njit(cache=True)
def _srect_split(kind, lam, pis, gamma, A, rw, sw, x_out):
    """Nature's radii at the budget multiplier lam: x_a = argmin pi_a g_a(x) + lam x; returns sum x."""
    QB, ZB, NA, G0, FL, XM, avail = sw[0], sw[1], sw[3], sw[5], sw[6], sw[7], sw[8]
    tot = 0.0
    for a in range(A):
        x_out[a] = 0.0
        if avail[a] and pis[a] > 0.0 and G0[a] > FL[a]:
            x_out[a] = _srect_radius_at_slope(kind, -lam / (pis[a] * gamma), QB[a], ZB[a], NA[a], XM[a], rw)
            tot += x_out[a]
    return tot


@njit(cache=True)
def s_rect_policy_state(kind, A, pis, kappa, gamma, xi_out, rw, sw):
    """min over budget splits of sum_a pi_a g_a(xi_a) (nature's response to a randomized policy).

    Convex separable with one budget: bisection (geometric) on the multiplier lam of the budget,
    x_a(lam) from f_a'(x_a) = -lam / (pi_a gamma); the two splits bracketing kappa are
    interpolated so the budget is used exactly (exact where f_a is piecewise linear, as for
    L-infinity).  Writes the split to ``xi_out``; returns the value.
    """
    QB, ZB, NA, RA, G0, FL, XM, avail = sw[0], sw[1], sw[3], sw[4], sw[5], sw[6], sw[7], sw[8]
    XL, XR = sw[9], sw[12]
    reach = 0.0
    zspread = 0.0
    for a in range(A):
        xi_out[a] = 0.0
        if avail[a] and pis[a] > 0.0 and G0[a] > FL[a]:
            reach += XM[a]
            if G0[a] - FL[a] > zspread:
                zspread = G0[a] - FL[a]
    if kappa > 0.0 and reach > 0.0:
        if reach <= kappa:
            for a in range(A):
                if avail[a] and pis[a] > 0.0 and G0[a] > FL[a]:
                    xi_out[a] = XM[a]
        else:
            lam_lo = zspread
            X = _srect_split(kind, lam_lo, pis, gamma, A, rw, sw, XR)
            for _ in range(2000):
                if X > kappa:
                    break
                lam_lo *= 0.5
                X = _srect_split(kind, lam_lo, pis, gamma, A, rw, sw, XR)
            X_lo = X
            lam_hi = 2.0 * lam_lo
            X = _srect_split(kind, lam_hi, pis, gamma, A, rw, sw, XL)
            for _ in range(2000):
                if X <= kappa:
                    break
                lam_lo = lam_hi
                X_lo = X
                for a in range(A):
                    XR[a] = XL[a]
                lam_hi *= 2.0
                X = _srect_split(kind, lam_hi, pis, gamma, A, rw, sw, XL)
            X_hi = X
            for _ in range(200):
                if lam_hi - lam_lo <= 1e-13 * lam_hi or X_lo - X_hi <= 1e-14 * kappa:
                    break
                lam = np.sqrt(lam_lo * lam_hi) if lam_hi < 4.0 * lam_lo else 0.5 * (lam_lo + lam_hi)
                X = _srect_split(kind, lam, pis, gamma, A, rw, sw, xi_out)
                if X > kappa:
                    lam_lo = lam
                    X_lo = X
                    for a in range(A):
                        XR[a] = xi_out[a]
                else:
                    lam_hi = lam
                    X_hi = X
                    for a in range(A):
                        XL[a] = xi_out[a]
            th = (kappa - X_hi) / (X_lo - X_hi) if X_lo > X_hi else 0.0
            for a in range(A):
                xi_out[a] = XL[a] + th * (XR[a] - XL[a])
    val = 0.0
    for a in range(A):
        if avail[a] and pis[a] > 0.0:
            if xi_out[a] > 0.0:
                f, s = srect_eval(kind, xi_out[a], QB[a], ZB[a], NA[a], rw)
                val += pis[a] * (RA[a] + gamma * f)
            else:
                val += pis[a] * G0[a]
    return val


@njit(cache=True)
def s_rect_policy_backup(model, uset, gamma, v, pis, store, out, pw, work, sw):
    """(T_pi v)(s) = min_{(p_a) in U_s} sum_a pi[s, a] (R[s, a] + gamma p_a . v), s-rectangular Linf/L2/KL.

    Same contract as :func:`s_rect_l1_policy_backup`: ``pis (S*A,)``, ``out = (v_out (S,),
    xi_out (S*A,))``; ``sw`` the s-rectangular work tuple (section notes).
    """
    kind, kappa_s, full = uset[0], uset[1], uset[2]
    S, A = model[7], model[8]
    v_out, xi_out = out
    rw = _row_bufs(work)
    for s in range(S):
        _srect_prepare(kind, model, v, full, s, gamma, work, sw)
        v_out[s] = s_rect_policy_state(kind, A, pis[s * A:(s + 1) * A], kappa_s[s], gamma,
                                       xi_out[s * A:(s + 1) * A], rw, sw)
        if store:
            _srect_store_rows(kind, model, s, xi_out[s * A:(s + 1) * A], pw, rw, sw)


@njit(cache=True)
def s_rect_vi_loop(model, uset, gamma, v, ctrl, out, pw, work, sw):
    """s-rectangular Linf / L2 / KL robust value iteration, in place on ``v``.

    Same contract as :func:`s_rect_l1_vi_loop` (``sw`` the s-rectangular work tuple).
    """
    tol, use_span, max_iter = ctrl
    v_new, pi_out, xi_out, residuals, spans, dminmax = out
    S = model[7]
    n = 0
    converged = False
    while n < max_iter:
        s_rect_backup(model, uset, gamma, v, np.bool_(False), (v_new, pi_out, xi_out), pw, work, sw)
        n += 1
        if _record_sweep(v, v_new, S, n - 1, (residuals, spans, dminmax), use_span, tol):
            converged = True
            break
    return n, converged


@njit(cache=True)
def s_rect_run(model, uset, gamma, v, pis, ctrl, out, pw, work, sw):
    """The one entry point of the s-rectangular Linf / L2 / KL kernels (one compilation of the tree).

    ``ctrl = (mode, store, tol, use_span, max_iter)``; ``out = (v_out (S,), pi_out (S*A,),
    xi_out (S*A,), residuals (max_iter,), spans (max_iter,), dminmax (2,))``.  ``mode`` 0:
    :func:`s_rect_backup` of ``v`` (``pis`` unused); 1: :func:`s_rect_policy_backup` for the
    randomized policy ``pis (S*A,)`` (``pi_out`` unused); 2: :func:`s_rect_vi_loop` in place on
    ``v`` (``store`` unused).  Returns ``(n_iter, converged)`` (``(1, True)`` for modes 0 and 1).
    """
    mode, store, tol, use_span, max_iter = ctrl
    v_out, pi_out, xi_out, residuals, spans, dminmax = out
    if mode == 0:
        s_rect_backup(model, uset, gamma, v, store, (v_out, pi_out, xi_out), pw, work, sw)
        return 1, True
    if mode == 1:
        s_rect_policy_backup(model, uset, gamma, v, pis, store, (v_out, xi_out), pw, work, sw)
        return 1, True
    return s_rect_vi_loop(model, uset, gamma, v, (tol, use_span, max_iter), (v_out, pi_out, xi_out, residuals, spans,
                                                                             dminmax), pw, work, sw)

"""Row-batched inner problems of the fused divergence sweep: ``LANES`` rows side by side.

A KL, L2 or chi-square row of a sparse model has a handful of entries (a Garnet with b = 8: eight),
too few for LLVM to vectorise a loop over them, so the per-row kernels of ``robust.py`` run at
scalar speed.  Here ``LANES`` rows are gathered into entry-major buffers ``Qt[k, l]``,
``Zt[k, l]`` (entry k of lane l; shorter rows padded with ``q = 0`` at their own ``min z``), and
every pass over the entries is a loop over the lanes inside, which LLVM turns into SIMD
instructions (AVX2: four lanes per instruction).  Each lane runs the same iteration as the scalar
kernel of its set, with its own multiplier, bracket and stopping test, written so that the
per-lane bookkeeping is straight-line arithmetic; a lane leaves the batch when its own test
passes.  A lane whose row is too long (more than ``KMAX`` entries), empty, degenerate (flat z, a
zero radius, the KL boundary case) or not finished after the batch's pass budget is marked for
the scalar kernel, which the caller (``robust._div_block``) runs on that row: the batch never
decides a case it does not handle exactly as the scalar kernel would.

Also here, because the batched and the scalar kernels share them: the vectorisable ``exp`` of
non-positive arguments and ``log`` of positive ones (straight-line arithmetic on the IEEE-754
bits; ``np.exp`` and ``np.log`` are scalar libm calls of about 20 ns each, which no loop can
vectorise without Intel's SVML), and the KL cold start.
"""

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.extending import intrinsic

LANES = 64  # rows per batch
KMAX = 16  # longer rows take the scalar kernel

# lane states
RUN, DONE, SCALAR = 0.0, 1.0, 2.0


@intrinsic
def _f64_bits(typingctx, x):
    """The IEEE-754 bits of a float64 as an int64 (a register bitcast, vectorisable)."""
    if x == types.float64:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], llvm_ir.IntType(64))
        return types.int64(types.float64), codegen
    return None


@intrinsic
def _bits_f64(typingctx, x):
    """The float64 with the given IEEE-754 bits (inverse of :func:`_f64_bits`)."""
    if x == types.int64:
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], llvm_ir.DoubleType())
        return types.float64(types.int64), codegen
    return None


_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of log 2: k * _LN2_HI is exact for |k| < 2^20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_ROUND_MAGIC = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer held in the low bits


@njit(cache=True, inline="always")
def exp_nonpos(x):
    """exp(x) for x <= 0 (0.0 below -708), within about 1 ulp; a loop of these vectorises.

    ``np.exp`` is a scalar libm call (about 20 ns here, 8 of them per KL pass); this version is
    straight-line arithmetic LLVM vectorises over a row: x = k log 2 + r with |r| <= log(2)/2
    (Cody-Waite, fdlibm's split of log 2), exp(r) by its Taylor polynomial to degree 13
    (remainder < 0.347^14/14! < 5e-18) in Estrin's scheme, and 2^k assembled in the exponent bits.  The rounding
    k = round(x / log 2) uses the 1.5 * 2^52 trick, so no float-to-int conversion (which AVX2
    lacks) is needed.  Checked against ``np.exp`` in ``tests/robust/test_robust_inner.py``.
    """
    xc = x if x > -708.0 else -708.0
    t = xc * _INV_LN2 + _ROUND_MAGIC
    kf = t - _ROUND_MAGIC
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    # Estrin's scheme: a tree of depth 4 instead of Horner's chain of 13 dependent FMAs, whose
    # latency bounded the KL pass (profiled: the pass waited on the chain, not on its inputs)
    r2 = r * r
    r4 = r2 * r2
    r8 = r4 * r4
    p = ((((1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0)))
          + r4 * ((1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0))))
         + r8 * (((1.0 / 40320.0 + r * (1.0 / 362880.0)) + r2 * (1.0 / 3628800.0 + r * (1.0 / 39916800.0)))
                 + r4 * (1.0 / 479001600.0 + r * (1.0 / 6227020800.0))))
    scale = _bits_f64((_f64_bits(t) + 1023) << 52)  # low bits of t hold k; << 52 drops the magic's bits
    return p * scale if x > -708.0 else 0.0


@njit(cache=True)
def exp_nonpos_into(x, out):
    """out[k] = exp(x[k]) for x[k] <= 0 by :func:`exp_nonpos` (a test hook for its accuracy)."""
    for k in range(x.shape[0]):
        out[k] = exp_nonpos(x[k])


@njit(cache=True, inline="always")
def kl_start(kappa, m1q, m2q, m3q, m4q, spread):
    """Cold start of :func:`inner_kl` from the raw moments ``m_j = E_q[d^j]`` of d = z - min z.

    With c2, c3, c4 the cumulants of d under q, ``KL(p_u || q) = c2 u^2 / 2 - c3 u^3 / 3 + c4 u^4
    / 8 + O(u^5)`` (expand log E_q exp(-u d)).  The quadratic term alone gives ``sqrt(2 kappa /
    c2)``; three Newton steps on the quartic refine it when the higher terms are a moderate
    correction (together at most a quarter of the quadratic one, the quartic still increasing),
    else the quadratic guess is kept.  Only a start: the safeguarded iteration of
    :func:`inner_kl` does not depend on its accuracy.
    """
    c2 = m2q - m1q * m1q
    if not c2 > 0.0:
        return 1.0 / spread
    u = np.sqrt(2.0 * kappa / c2)
    mu3 = m3q - 3.0 * m1q * m2q + 2.0 * m1q * m1q * m1q
    mu4 = m4q - 4.0 * m1q * m3q + 6.0 * m1q * m1q * m2q - 3.0 * m1q * m1q * m1q * m1q
    c4 = mu4 - 3.0 * c2 * c2
    w = u
    for _ in range(3):
        g = w * w * (0.5 * c2 - w * (mu3 / 3.0 - 0.125 * c4 * w)) - kappa
        dg = w * (c2 - w * (mu3 - 0.5 * c4 * w))
        if not dg > 0.0:
            return u
        w -= g / dg
    if w > 0.0 and abs(w * (mu3 / 3.0 - 0.125 * c4 * w)) <= 0.125 * c2:
        return w
    return u


_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # IEEE-754 bits of sqrt(1/2)


@njit(cache=True, inline="always")
def _log_pos(x):
    """log(x) for a finite, normal x > 0, within about 2 ulp; a loop of these vectorises.

    ``x = 2^e m`` with ``m`` in [sqrt(1/2), sqrt(2)) read off the bits (musl's split: subtracting
    the bits of sqrt(1/2) carries into the exponent exactly when the mantissa is at least
    sqrt(2)), then ``log m = 2 atanh(s)``, ``s = (m - 1) / (m + 1)``, ``|s| <= 0.1716``, by its
    odd series to ``s^23`` in Estrin's scheme (next term below ``0.0295^12 / 25 < 6e-20``
    relative), plus ``e log 2``
    in fdlibm's two parts.  Checked against ``np.log`` in ``tests/robust/test_robust_lanes.py``.
    """
    bits = _f64_bits(x)
    e = (bits - _SQRT_HALF_BITS) >> 52
    m = _bits_f64(bits - (e << 52))
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    # Estrin's scheme in s2 (as in exp_nonpos: a short dependency chain)
    s4 = s2 * s2
    s8 = s4 * s4
    poly = (((1.0 + s2 * (1.0 / 3.0)) + s4 * (1.0 / 5.0 + s2 * (1.0 / 7.0)))
            + s8 * ((1.0 / 9.0 + s2 * (1.0 / 11.0)) + s4 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))
            + s8 * s8 * ((1.0 / 17.0 + s2 * (1.0 / 19.0)) + s4 * (1.0 / 21.0 + s2 * (1.0 / 23.0))))
    ef = np.float64(e)
    return ef * _LN2_HI + (2.0 * s * poly + ef * _LN2_LO)


@njit(cache=True)
def log_pos_into(x, out):
    """out[k] = log(x[k]) for x[k] > 0 by :func:`_log_pos` (a test hook for its accuracy)."""
    for k in range(x.shape[0]):
        out[k] = _log_pos(x[k])


@njit(cache=True, inline="always")
def _pick(c, x, y):
    """``x if c else y`` for a lane update ``a[l] = _pick(c, x, a[l])``, as the sum of two selects.

    Written as a select, such an update is a conditional store to LLVM, which it vectorises into
    masked stores (``vmaskmovpd``: microcoded and slow on AMD cores; profiled as the most expensive
    instructions of the L2 pass).  Exact: one of the two terms is +0.0 (only a -0.0 comes out +0.0).
    """
    return (x if c else 0.0) + (0.0 if c else y)


# --------------------------------------------------------------------------------------------
# the batch: gather, then the KL and ellipsoid iterations on all lanes at once
# --------------------------------------------------------------------------------------------

_NF = 20  # per-lane float rows of the batch scratch
# Offsets of the per-lane rows in the flattened scratch F (row c at c * LANES) and of the entry
# buffers in the flattened T (buffer c at c * _TK).  Loops index the flat arrays at constant
# offsets, from which LLVM sees that the rows do not overlap; with row views each pair would
# need a run-time overlap check, and LLVM leaves a loop over more than a few of them scalar.
_ST, _VAL, _WARM, _ZMIN, _ZMAX = (c * LANES for c in range(5))  # shared
_U = _WARM  # KL: the warm start is the tilt
_QM, _ZS, _S1, _S2, _S3, _LO, _HI = (c * LANES for c in range(5, 12))  # KL
_CM, _REST, _QK, _CK, _CZ, _B, _RK, _ALPHA, _T, _R2, _NDROP, _VALUE, _WARMED = (
    c * LANES for c in range(6, 19))  # L2 / chi2 (and _QM)
_TK = KMAX * LANES
_QT, _ZT, _AT = (c * _TK for c in range(3))


@njit(cache=True)
def lane_buffers():
    """The scratch of one batch: ``(T, F, I)``, allocated once per block of rows.

    ``T`` (3, KMAX, LANES) float64: ``T[0..2] = Qt, Zt, At``, q, z and the active mask (one
    allocation: LLVM vectorises a loop only if it can rule out overlaps between the arrays it
    writes and reads, and the run-time checks it would need for separate buffers exceed its
    limit); ``F`` (_NF, LANES) float64 per-lane quantities (row 0: the state, 1: the value, 2: the
    warm start (KL: the tilt u; L2 / chi2: the active set's bits)); ``I`` (4, LANES) int64: the row
    lengths, the active sets' bit masks and the lane swaps of ``ellipsoid_lanes``.
    """
    return np.empty((3, KMAX, LANES)), np.zeros((_NF, LANES)), np.zeros((4, LANES), dtype=np.int64)


@njit(cache=True, inline="always")
def _gather_lanes(csr, v, il, Qt, Zt, F, nl):
    """Gather the rows ``il[l]`` (``-1``: an unused lane) of the CSR model into the lanes.

    Every stored entry is copied, with the row's min and max of z and min of q kept on the way
    (branch-free).  Entries with ``q = 0`` are outside the support (as in ``robust._gather``):
    when a batch has any (stored zeros, or padding), a second pass leaves them out of ``min z``
    and ``max z`` and sets their z to the row's ``min z``, so that, with ``q = 0``, they add exact
    zeros to every sum.  Columns are padded the same way to the longest row.  Writes ``nl[l]``
    (the row's stored length, -1 when it is longer than ``KMAX``), ``F[3] = min z``, ``F[4] = max
    z`` over the support (0 for a lane without support) and the state ``F[0]``: RUN, or SCALAR for
    a lane without support or with a row too long.  Returns the longest length.
    """
    indptr, indices, data = csr
    L = il.shape[0]
    zmin, zmax, st = F[3], F[4], F[0]
    nmax = 0
    zeros = False
    for l in range(L):
        i = il[l]
        n = 0
        lo = np.inf
        hi = -np.inf
        qlo = np.inf
        if i >= 0:
            a = indptr[i]
            n = indptr[i + 1] - a
            if n <= KMAX:
                for k in range(n):
                    q = data[a + k]
                    z = v[indices[a + k]]
                    Qt[k, l] = q
                    Zt[k, l] = z
                    lo = z if z < lo else lo
                    hi = z if z > hi else hi
                    qlo = q if q < qlo else qlo
            else:
                n = -1
        nl[l] = n
        zeros = zeros | (not qlo > 0.0)
        zmin[l] = lo
        zmax[l] = hi
        nmax = n if n > nmax else nmax
    for l in range(L):
        zeros = zeros | (nl[l] != nmax)
    if zeros:  # stored zeros, empty or short rows: rare, so a separate pass over the support
        for l in range(L):
            for k in range(max(nl[l], 0), nmax):
                Qt[k, l] = 0.0
                Zt[k, l] = 0.0
        for l in range(L):
            lo = np.inf
            hi = -np.inf
            for k in range(max(nl[l], 0)):
                z = Zt[k, l]
                pos = Qt[k, l] > 0.0
                lo = z if (pos and z < lo) else lo
                hi = z if (pos and z > hi) else hi
            zmin[l] = lo
            zmax[l] = hi
    for l in range(L):
        ok = zmin[l] <= zmax[l]
        zmin[l] = zmin[l] if ok else 0.0
        zmax[l] = zmax[l] if ok else 0.0
        st[l] = RUN if ok else SCALAR
    if zeros:
        for k in range(nmax):
            for l in range(L):
                Zt[k, l] = Zt[k, l] if Qt[k, l] > 0.0 else zmin[l]
    return nmax


@njit(cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def kl_lanes(csr, v, il, kap, lb, max_passes):
    """KL balls on the lanes' rows: ``inner_kl`` (see ``robust.py``) on ``LANES`` rows at once.

    ``csr = (indptr, indices, data)``; ``il`` (LANES,) the rows (-1: unused); ``kap`` (LANES,) the
    radii; ``lb`` the buffers of :func:`lane_buffers`, with ``F[2]`` holding on entry each lane's
    warm-start multiplier (0: cold) and on return, for DONE lanes, the new one.  On return ``F[0]``
    is DONE (``F[1]`` the value ``min p.z``) or SCALAR (the caller solves the row with the scalar
    kernel, from its own copy of the warm start).

    Per lane this is the scalar kernel's iteration: the cold start from the moments
    (:func:`kl_start`), Halley steps on ``F(u) = KL(p_u || q) - kappa`` inside the bracket of
    evaluated points, the stop at the round-off level of F or on a bracket a few ulps wide, and the
    Taylor finish when a step is below ``2^-17`` of the spread.  Lanes with a flat row, ``kappa
    <= 0`` or ``q(argmin z) >= 1 - kappa`` (where the boundary case ``kappa >= -log q(argmin z)``
    may hold) are left to the scalar kernel, as are lanes not finished after ``max_passes``
    passes.
    """
    T, F, I = lb
    Qt, Zt = T[0], T[1]
    nl = I[0]
    L = il.shape[0]  # a run-time count: a constant one is unrolled before LLVM could vectorise it
    st, val, u, zmin, zmax = F[0], F[1], F[2], F[3], F[4]
    QM, Zs, S1, S2, S3, lo, hi = F[5], F[6], F[7], F[8], F[9], F[10], F[11]
    # the same rows, flat: F[c, l] = Fl[c * LANES + l] at constant offsets, from which LLVM sees
    # that the rows do not overlap (row views would each need a run-time overlap check, and a
    # loop over more than a few of them is left scalar)
    Fl = F.reshape(F.size)
    nmax = _gather_lanes(csr, v, il, Qt, Zt, F, nl)
    cold = False
    for l in range(L):
        ok = (Fl[_ST + l] == RUN) & (Fl[_ZMAX + l] - Fl[_ZMIN + l] > 0.0) & (kap[l] > 0.0)
        Fl[_ST + l] = _pick(ok, RUN, SCALAR)
        cold = cold | (ok & (not Fl[_U + l] > 0.0))
        Fl[_LO + l] = 0.0
        Fl[_HI + l] = np.inf
    if cold:
        # the raw moments of d = z - min z under q for the cold start
        F[6:10] = 0.0  # Zs, S1, S2, S3
        for k in range(nmax):
            for l in range(L):
                d = Zt[k, l] - Fl[_ZMIN + l]
                qd = Qt[k, l] * d
                qdd = qd * d
                Fl[_ZS + l] += qd
                Fl[_S1 + l] += qdd
                Fl[_S2 + l] += qdd * d
                Fl[_S3 + l] += qdd * d * d
        for l in range(L):
            if st[l] == RUN and not u[l] > 0.0:
                u[l] = kl_start(kap[l], Zs[l], S1[l], S2[l], S3[l], zmax[l] - zmin[l])
    running = 0
    for l in range(L):
        u[l] = _pick(st[l] == RUN, u[l], 0.0)
        running += 1 if st[l] == RUN else 0
    for _ in range(max_passes):
        if running == 0:
            break
        F[5:10] = 0.0  # QM, Zs, S1, S2, S3
        for k in range(nmax):
            for l in range(L):
                q = Qt[k, l]
                d = Zt[k, l] - Fl[_ZMIN + l]
                Fl[_QM + l] += q if d == 0.0 else 0.0
                w = q * exp_nonpos(-Fl[_U + l] * d)
                Fl[_ZS + l] += w
                wd = w * d
                Fl[_S1 + l] += wd
                wdd = wd * d
                Fl[_S2 + l] += wdd
                Fl[_S3 + l] += wdd * d
        # the per-lane step: straight-line arithmetic and selects so that it vectorises (divisions,
        # logs and the tests too; a branchy loop over the lanes ran at scalar speed)
        running = 0
        for l in range(L):
            ul = Fl[_U + l]
            zs = Fl[_ZS + l]
            inv = 1.0 / zs
            m1 = Fl[_S1 + l] * inv
            m2 = Fl[_S2 + l] * inv
            lz = _log_pos(zs)
            f = -ul * m1 - lz - kap[l]
            var = m2 - m1 * m1
            mu3 = Fl[_S3 + l] * inv - 3.0 * m1 * m2 + 2.0 * m1 * m1 * m1
            d1 = ul * var
            d2 = var - ul * mu3
            den = 2.0 * d1 * d1 - f * d2
            step = -2.0 * f * d1 / den if den > 0.0 else (-f / d1 if d1 > 0.0 else np.inf)
            # the scalar kernel's tests in order, as masks (& and |: no short-circuit branches)
            stl = Fl[_ST + l]
            run = stl == RUN
            scal = run & (Fl[_QM + l] >= 1.0 - kap[l])  # the boundary case may hold: the scalar kernel decides
            r1 = run & (not scal)
            neg = f < 0.0
            lol = ul if (r1 & neg) else Fl[_LO + l]
            hil = ul if (r1 & (not neg)) else Fl[_HI + l]
            conv = (abs(f) <= 8e-16 * (kap[l] + ul * m1 + abs(lz))) | ((hil < np.inf) & (hil - lol <= 4e-16 * hil))
            r2 = r1 & (not conv)
            un = ul + step
            inb = (lol < un) & (un < hil)
            un = un if inb else (0.5 * (lol + hil) if hil < np.inf else 2.0 * ul)
            zmn = Fl[_ZMIN + l]
            taylor = r2 & inb & (abs(step) * (Fl[_ZMAX + l] - zmn) <= 7.62939453125e-06)  # 2^-17
            r3 = r2 & (not taylor)
            tiny = r3 & (abs(un - ul) <= 8e-16 * ul)
            done = (r1 & conv) | taylor | tiny
            vl = zmn + m1
            vl = vl - var * step + 0.5 * mu3 * step * step if taylor else vl
            Fl[_VAL + l] = _pick(done, vl, Fl[_VAL + l])
            go = r3 & (not tiny)
            Fl[_U + l] = un if (taylor | go) else ul
            Fl[_LO + l] = lol
            Fl[_HI + l] = hil
            Fl[_ST + l] = SCALAR if scal else (DONE if done else stl)
            running += 1 if go else 0
    for l in range(L):
        st[l] = _pick(st[l] == RUN, SCALAR, st[l])


@njit(cache=True, inline="always")
def _swap(x, j, i):
    x[j], x[i] = x[i], x[j]


@njit(cache=True, inline="always")
def _swap_lanes(Tl, Fl, j, i, nmax, full):
    """Swap lanes j and i: their active-set column, state and value, and (``full``) everything
    the active-set iteration reads (the q and z columns, min z, the radius, the set's sums)."""
    for k in range(nmax):
        b = k * LANES
        _swap(Tl, _AT + b + j, _AT + b + i)
        if full:
            _swap(Tl, _QT + b + j, _QT + b + i)
            _swap(Tl, _ZT + b + j, _ZT + b + i)
    _swap(Fl, _ST + j, _ST + i)
    _swap(Fl, _VAL + j, _VAL + i)
    if full:
        for r in (_ZMIN, _R2, _QK, _CK, _CZ, _RK, _WARMED):
            _swap(Fl, r + j, r + i)


@njit(cache=True, fastmath={"reassoc", "contract"}, error_model="numpy")
def ellipsoid_lanes(csr, v, il, kap, l2, lb, max_iters):
    """L2 (``l2`` True: ``c = 1, r2 = kappa^2``) or chi-square (``c = q, r2 = kappa``) balls on the
    lanes' rows: ``robust._ellipsoid_kkt`` on ``LANES`` rows at once.

    Arguments as :func:`kl_lanes`; ``F[2]`` holds on entry each lane's warm start, the active set
    of the row's last solution as a bit mask over its stored entries (``_bits_f64(mask)``; 0: none,
    start from every entry), and on return, for DONE lanes, the new one.  Per lane: the vertex test
    (all mass on argmin z when the ball reaches that vertex), then the closed-form KKT point on an
    active set, starting from the warm one; each iteration drops every entry of the set with a
    non-positive candidate (Michelot-style) and adds every entry off it with a positive one (a
    warm set can be too small: on the benchmark's Garnet, dropping alone left a fifth of the warm
    L2 rows to the scalar kernel); a warm set on which the equations have no solution restarts
    from the whole support.  The point is returned only when it satisfies every KKT
    condition: positive on the active set, a non-positive candidate off it (the sum and distance
    equations hold by construction of alpha and t); as the problem is convex, such a point is a
    minimiser, whatever the start or the path.  A lane with a flat row or a zero radius, one whose
    equations have no solution on a set reached from the whole support, or one still changing its
    set after ``max_iters``
    iterations is left to the scalar kernel (whose bisection is the safe path).

    The sums of the next iteration's active set are formed in the pass that tests the current
    point, so an iteration costs two passes (the spread term B, then the point).  When at most half
    of the lanes still run, they are swapped to the front and the passes cover only those (undone
    before returning): the batch's last iterations, which a few lanes need, then cost a fraction of
    a full one.
    """
    T, F, I = lb
    Qt, Zt = T[0], T[1]
    nl, mk, sw_j, sw_i = I[0], I[1], I[2], I[3]
    L = il.shape[0]  # a run-time count: a constant one is unrolled before LLVM could vectorise it
    # flat views, rows at constant offsets (see kl_lanes): T[c, k, l] = Tl[c * _TK + k * LANES + l]
    Tl = T.reshape(T.size)
    Fl = F.reshape(F.size)
    nmax = _gather_lanes(csr, v, il, Qt, Zt, F, nl)
    for l in range(L):
        mk[l] = _f64_bits(Fl[_WARM + l])
        Fl[_QM + l] = 0.0
        Fl[_CM + l] = 0.0
        Fl[_REST + l] = 0.0
        Fl[_QK + l] = 0.0
        Fl[_CK + l] = 0.0
        Fl[_CZ + l] = 0.0
        Fl[_RK + l] = 0.0
        Fl[_R2 + l] = kap[l] * kap[l] if l2 else kap[l]
        Fl[_WARMED + l] = 1.0 if mk[l] != 0 else 0.0
    # the starting active set, the vertex test (limit t -> inf) and the set's sums, in one pass;
    # the weights c = 1 (L2) or q (chi2) on the support and q^2 / c are recomputed, not stored
    for k in range(nmax):
        b = k * LANES
        for l in range(L):
            q = Tl[_QT + b + l]
            real = q > 0.0
            c = (1.0 if real else 0.0) if l2 else q
            bb = q * q if l2 else q
            guess = (mk[l] == 0) | (((mk[l] >> k) & 1) != 0)
            a = 1.0 if (real & guess) else 0.0
            Tl[_AT + b + l] = a
            d = Tl[_ZT + b + l] - Fl[_ZMIN + l]
            at = 1.0 if ((d == 0.0) & real) else 0.0
            Fl[_QM + l] += at * q
            Fl[_CM + l] += at * c
            Fl[_REST + l] += (1.0 - at) * bb
            Fl[_QK + l] += a * q
            Fl[_CK + l] += a * c
            Fl[_CZ + l] += a * c * d
            Fl[_RK + l] += (1.0 - a) * bb
    running = 0
    for l in range(L):
        ok = (Fl[_ST + l] == RUN) & (Fl[_ZMAX + l] - Fl[_ZMIN + l] > 0.0) & (Fl[_R2 + l] > 0.0)
        qm = Fl[_QM + l]
        vertex = ok & ((1.0 - qm) * (1.0 - qm) / Fl[_CM + l] + Fl[_REST + l] <= Fl[_R2 + l])
        Fl[_VAL + l] = _pick(vertex, Fl[_ZMIN + l], Fl[_VAL + l])
        Fl[_ST + l] = _pick(vertex, DONE, _pick(ok, RUN, SCALAR))
        running += 1 if (ok & (not vertex)) else 0
    Lc = L  # the lanes the passes cover: the running ones are among them
    nsw = 0
    for _ in range(max_iters):
        if running == 0:
            break
        if 2 * running <= Lc and Lc >= 8:  # compact: the running lanes to the front
            j = 0
            for i in range(Lc):
                if Fl[_ST + i] == RUN:
                    if i != j:
                        _swap_lanes(Tl, Fl, j, i, nmax, True)
                        sw_j[nsw] = j
                        sw_i[nsw] = i
                        nsw += 1
                    j += 1
            Lc = max(4, ((running + 3) // 4) * 4)
        for l in range(Lc):
            ckl = Fl[_CK + l]
            ck = ckl if ckl > 0.0 else 1.0
            Fl[_ALPHA + l] = (1.0 - Fl[_QK + l]) / ck
            Fl[_REST + l] = Fl[_CZ + l] / ck  # the c-weighted mean of d on the active set
            Fl[_B + l] = 0.0
        for k in range(nmax):
            b = k * LANES
            for l in range(Lc):
                q = Tl[_QT + b + l]
                c = (1.0 if q > 0.0 else 0.0) if l2 else q
                beta = Fl[_REST + l] - (Tl[_ZT + b + l] - Fl[_ZMIN + l])
                Fl[_B + l] += Tl[_AT + b + l] * c * beta * beta
        for l in range(Lc):
            ckl = Fl[_CK + l]
            al = Fl[_ALPHA + l]
            const = al * al * ckl + Fl[_RK + l]
            bl = Fl[_B + l]
            r2l = Fl[_R2 + l]
            run = Fl[_ST + l] == RUN
            bad = run & ((not ckl > 0.0) | (not bl > 0.0) | (r2l < const))
            # no KKT point on this set: a warm set (too small, or of one value) restarts from the
            # whole support, in the pass below; a set reached from the whole support goes to the
            # scalar kernel
            reset = bad & (Fl[_WARMED + l] > 0.0)
            Fl[_WARMED + l] = _pick(reset, 2.0, Fl[_WARMED + l])  # 2: restart in this pass
            Fl[_ST + l] = _pick(bad & (not reset), SCALAR, Fl[_ST + l])
            Fl[_T + l] = np.sqrt((r2l - const) / bl) if (run & (not bad)) else 0.0
            Fl[_NDROP + l] = 0.0  # entries dropped or added
            Fl[_VALUE + l] = 0.0
            # the next active set's sums, formed in the pass below
            Fl[_QK + l] = 0.0
            Fl[_CK + l] = 0.0
            Fl[_CZ + l] = 0.0
            Fl[_RK + l] = 0.0
        for k in range(nmax):
            b = k * LANES
            for l in range(Lc):
                a = Tl[_AT + b + l]
                q = Tl[_QT + b + l]
                c = (1.0 if q > 0.0 else 0.0) if l2 else q
                bb = q * q if l2 else q
                z = Tl[_ZT + b + l]
                d = z - Fl[_ZMIN + l]
                pv = q + c * (Fl[_ALPHA + l] + Fl[_T + l] * (Fl[_REST + l] - d))
                # 0 / 1 factors: sums without conditional stores; only running lanes change sets
                run = Fl[_ST + l] == RUN
                dropf = 1.0 if (run & (a > 0.0) & (pv <= 0.0)) else 0.0
                addf = 1.0 if (run & (a == 0.0) & (pv > 0.0)) else 0.0  # off the set, wants mass (q = 0: never)
                rs = Fl[_WARMED + l] == 2.0
                Fl[_NDROP + l] += dropf + addf + (1.0 if rs else 0.0)
                Fl[_VALUE + l] += a * (pv * z)
                an = (1.0 if q > 0.0 else 0.0) if rs else a - dropf + addf
                Tl[_AT + b + l] = an
                Fl[_QK + l] += an * q
                Fl[_CK + l] += an * c
                Fl[_CZ + l] += an * c * d
                Fl[_RK + l] += (1.0 - an) * bb
        running = 0
        for l in range(Lc):
            Fl[_WARMED + l] = _pick(Fl[_WARMED + l] == 2.0, 0.0, Fl[_WARMED + l])
            run = Fl[_ST + l] == RUN
            fin = run & (Fl[_NDROP + l] == 0.0)
            Fl[_ST + l] = _pick(fin, DONE, Fl[_ST + l])
            Fl[_VAL + l] = _pick(fin, Fl[_VALUE + l], Fl[_VAL + l])
            running += 1 if (run & (not fin)) else 0
    for s in range(nsw - 1, -1, -1):  # undo the compactions
        _swap_lanes(Tl, Fl, sw_j[s], sw_i[s], nmax, False)
    for l in range(L):
        Fl[_ST + l] = _pick(Fl[_ST + l] == RUN, SCALAR, Fl[_ST + l])
        mk[l] = 0
    # the active sets of the solved lanes: next sweep's warm start
    for k in range(nmax):
        b = k * LANES
        for l in range(L):
            mk[l] |= (1 << k) if Tl[_AT + b + l] > 0.0 else 0
    for l in range(L):
        Fl[_WARM + l] = _pick(Fl[_ST + l] == DONE, _bits_f64(mk[l]), Fl[_WARM + l])

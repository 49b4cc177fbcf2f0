"""One backward step of the monotone stock-grid DP (lower and upper bounds together).

The stock ``y`` (accumulated discounted reward, plus the initial stock) lives on the uniform grid
``y_k = (k0 + k) * delta``; a transition adds ``gamma^t r``, which is ``shift`` grid steps plus a
remainder ``rem`` in ``[0, delta)``.  The true value ``V_{t+1}(s', y)`` is non-decreasing in ``y``
(and ``lip``-Lipschitz when ``lip`` is finite), so

* lower bound: round the next stock down (``V(floor) <= V(y')``), or, when Lipschitz, use the
  upper neighbour minus ``lip * (delta - rem)``; the larger of the two;
* upper bound: round up, or the lower neighbour plus ``lip * rem``; the smaller of the two.

Beyond the top of the grid the lower bound clamps to the top point (a rounding down) and the upper
bound is ``top_up`` (a bound on the terminal function's supremum); below the bottom the lower bound
is the bottom point minus ``lip`` times the distance when Lipschitz, else ``bot_lo`` (a bound on the
terminal function's infimum; the caller adds grid margin so that this is rarely used), and the upper
bound clamps to the bottom point (a rounding up).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["stock_grid_step"]


@njit(cache=True)
def stock_grid_step(Vn_lo, Vn_up, ent, p, shift, rem, par, mask, Q_lo, Q_up, V_lo, V_up, pol):
    """Fill ``V_lo, V_up (S, K)`` and ``pol (S, K)`` (argmax of the lower Q) from ``Vn_* (S, K)``.

    ``ent (3, E)`` int64 rows ``s, a, s'``; ``p (E,)`` float64; ``shift (2, E)`` int64 and
    ``rem (2, E)`` float64, row 0 for the lower bound (from the increment rounded down by a few
    ulps), row 1 for the upper bound (rounded up), so float round-off cannot cross a grid point;
    ``par (4,)`` float64 = ``(delta, lip, top_up, bot_lo)``; ``mask (S, A)`` bool; ``Q_* (S, A, K)`` scratch;
    ``pol`` int16.  Ties go to the lowest action.
    """
    S, A, K = Q_lo.shape
    delta = par[0]
    lip = par[1]
    top_up = par[2]
    bot_lo = par[3]
    finite_lip = lip < np.inf
    Q_lo[:] = 0.0
    Q_up[:] = 0.0
    for e in range(p.shape[0]):
        s = ent[0, e]
        a = ent[1, e]
        s2 = ent[2, e]
        pe = p[e]
        sh = shift[0, e]
        rm = rem[0, e]
        shu = shift[1, e]
        rmu = rem[1, e]
        for k in range(K):
            j = k + sh
            # lower bound on V(s2, y_k + x)
            if j >= K:
                lo = Vn_lo[s2, K - 1]
            elif j < 0:
                lo = Vn_lo[s2, 0] - lip * (-j * delta - rm) if finite_lip else bot_lo
            else:
                lo = Vn_lo[s2, j]
                if rm > 0.0 and finite_lip and j + 1 < K:
                    alt = Vn_lo[s2, j + 1] - lip * (delta - rm)
                    if alt > lo:
                        lo = alt
            # upper bound
            j = k + shu
            if rmu == 0.0:
                if j >= K:
                    up = top_up
                elif j < 0:
                    up = Vn_up[s2, 0]
                else:
                    up = Vn_up[s2, j]
            else:
                c = j + 1
                if c >= K:
                    up = top_up
                elif c < 0:
                    up = Vn_up[s2, 0]
                else:
                    up = Vn_up[s2, c]
                if finite_lip and 0 <= j < K:
                    alt = Vn_up[s2, j] + lip * rmu
                    if alt < up:
                        up = alt
            Q_lo[s, a, k] += pe * lo
            Q_up[s, a, k] += pe * up
    for s in range(S):
        for k in range(K):
            best_lo = -np.inf
            best_up = -np.inf
            arg = -1
            for a in range(A):
                if not mask[s, a]:
                    continue
                if arg < 0 or Q_lo[s, a, k] > best_lo:
                    best_lo = Q_lo[s, a, k]
                    arg = a
                if Q_up[s, a, k] > best_up:
                    best_up = Q_up[s, a, k]
            V_lo[s, k] = best_lo
            V_up[s, k] = best_up
            pol[s, k] = arg

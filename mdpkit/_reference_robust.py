"""Plain numpy/scipy twins of the robust kernels, used only as test oracles.

Each solves nature's inner problem by a route independent of ``_kernels/robust.py``:
polyhedral sets as linear programs (scipy HiGHS), the L2 / chi-square balls by enumerating the
active sets of the KKT system, the KL ball by maximising its one-dimensional dual, the KL
penalty by its closed form.  Inputs are already restricted to the states nature may use.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linprog, minimize_scalar
from scipy.special import logsumexp


def _lp(c, A_ub=None, b_ub=None, A_eq=None, b_eq=None, bounds=None):
    # tolerances far below HiGHS's defaults (1e-7): an oracle must resolve objective differences of
    # 1e-8 (hypothesis found a weighted-L1 instance where the default stopped at the nominal row)
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs",
                  options={"dual_feasibility_tolerance": 1e-10, "primal_feasibility_tolerance": 1e-10})
    if res.status != 0:
        raise RuntimeError(res.message)
    return res


def transport_lp(q, z, C, kappa):
    """min_T sum_j z_j sum_i T_ij s.t. T 1 = q, <C, T> <= kappa, T >= 0 (W-ball, weighted L1 with C)."""
    n = q.size
    c = np.tile(z, n)  # T flattened row-major: T[i, j] -> i*n + j
    A_eq = np.zeros((n, n * n))
    for i in range(n):
        A_eq[i, i * n:(i + 1) * n] = 1.0
    res = _lp(c, A_ub=C.reshape(1, -1), b_ub=[kappa], A_eq=A_eq, b_eq=q, bounds=(0, None))
    T = res.x.reshape(n, n)
    return T.sum(axis=0), float(res.fun)


def l1_lp(q, z, kappa, w=None):
    """min z.p s.t. sum w |p - q| <= kappa, p in simplex; variables (p, t) with t >= |p - q|."""
    n = q.size
    w = np.ones(n) if w is None else w
    c = np.concatenate([z, np.zeros(n)])
    I = np.eye(n)
    A_ub = np.block([[I, -I], [-I, -I], [np.zeros((1, n)), w[None, :]]])
    b_ub = np.concatenate([q, -q, [kappa]])
    A_eq = np.concatenate([np.ones(n), np.zeros(n)])[None, :]
    res = _lp(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (2 * n))
    return res.x[:n], float(res.x[:n] @ z)


def box_lp(lo, hi, z):
    res = _lp(z, A_eq=np.ones((1, z.size)), b_eq=[1.0], bounds=list(zip(lo, hi)))
    return res.x, float(res.x @ z)


def tv_penalty_lp(q, z, beta):
    """min z.p + beta/2 sum |p - q| over the simplex (LP with t >= |p - q|)."""
    n = q.size
    c = np.concatenate([z, 0.5 * beta * np.ones(n)])
    I = np.eye(n)
    A_ub = np.block([[I, -I], [-I, -I]])
    b_ub = np.concatenate([q, -q])
    A_eq = np.concatenate([np.ones(n), np.zeros(n)])[None, :]
    res = _lp(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (2 * n))
    return res.x[:n], float(res.fun)


def ellipsoid_enum(q, c, z, r2):
    """min z.p s.t. sum (p - q)^2 / c <= r2, p in simplex, by enumerating the support K of p.

    On K the KKT conditions give p_i = q_i + c_i (alpha + t (zbar_K - z_i)), t >= 0, with alpha
    fixed by sum p = 1 and t by the ball constraint (or t = inf when K is a set of minimisers
    of z).  Every candidate that is feasible is evaluated; the smallest objective wins.
    """
    n = q.size
    zmin = float(z.min())
    z = z - zmin  # translation invariance; keeps t * z well scaled
    best_val, best_p = float(q @ z), q.copy()
    for k in range(1, n + 1):
        for K in itertools.combinations(range(n), k):
            K = list(K)
            out = [i for i in range(n) if i not in K]
            QK, CK = q[K].sum(), c[K].sum()
            alpha = (1.0 - QK) / CK
            zbar = (c[K] * z[K]).sum() / CK
            beta = zbar - z[K]
            B = (c[K] * beta ** 2).sum()
            const = alpha ** 2 * CK + (q[out] ** 2 / c[out]).sum()
            if B == 0.0:
                t_cands = [0.0]
            elif r2 >= const:
                t_cands = [np.sqrt((r2 - const) / B)]
            else:
                continue
            for t in t_cands:
                p = np.zeros(n)
                p[K] = q[K] + c[K] * (alpha + t * beta)
                if p.min() < -1e-12 or ((p - q) ** 2 / c).sum() > r2 * (1 + 1e-9) + 1e-12:
                    continue
                val = float(p @ z)
                if val < best_val:
                    best_val, best_p = val, p
    return best_p, best_val + zmin


def kl_dual(q, z, kappa):
    """max_{lam > 0} -lam kappa - lam log sum q exp(-z / lam), and its lam -> 0 limit min z."""
    zmin = z.min()
    if kappa <= 0 or np.ptp(z) == 0:
        return float(q @ z)

    def neg(loglam):
        lam = np.exp(loglam)
        return -(-lam * kappa - lam * logsumexp(-(z - zmin) / lam, b=q) + zmin)

    best = -np.inf
    for lo, hi in ((-30, 0), (-5, 10), (0, 30)):
        r = minimize_scalar(neg, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13})
        best = max(best, -r.fun)
    return float(max(best, zmin if kappa >= -np.log(q[z == zmin].sum()) else -np.inf))


def kl_penalty_closed(q, z, beta):
    return float(-beta * logsumexp(-z / beta, b=q))


def cvar_lower(q, z, alpha):
    """Lower-tail CVaR_alpha of z under q: mean of the worst alpha-fraction (sorted sum)."""
    order = np.argsort(z, kind="stable")
    rem, val = alpha, 0.0
    for i in order:
        take = min(q[i], rem)
        val += take * z[i]
        rem -= take
        if rem <= 0:
            break
    return val / alpha


def transport_cost(q, p, C):
    """min <C, T> over couplings T of q (rows) and p (columns): W_1 for a metric C."""
    n = q.size
    A_eq = np.zeros((2 * n, n * n))
    for i in range(n):
        A_eq[i, i * n:(i + 1) * n] = 1.0
        A_eq[n + i, i::n] = 1.0
    res = _lp(C.reshape(-1), A_eq=A_eq, b_eq=np.concatenate([q, p]), bounds=(0, None))
    return float(res.fun)


def l1_sort(q, z, kappa, full=False):
    """Plain-numpy twin of the L1 kernels (Ho, Petrik & Wiesemann 2018, Sec. 3, unit weights).

    Destination ``i0``: the first minimiser of z over the support (over every state with
    ``full``); nature moves ``eps = min(kappa / 2, 1 - q[i0])`` onto it, removed from the other
    support states in the order (z descending, index ascending) by a cumulative sum.  Returns
    ``(p, value)`` with ``value = p @ z``.
    """
    q = np.asarray(q, dtype=float)
    z = np.asarray(z, dtype=float)
    cand = np.arange(q.size) if full else np.flatnonzero(q > 0)
    i0 = int(cand[np.argmin(z[cand])])
    eps = min(kappa / 2.0, 1.0 - q[i0])
    p = q.copy()
    if eps <= 0:
        return p, float(p @ z)
    src = np.flatnonzero(q > 0)
    src = src[src != i0]
    src = src[np.lexsort((src, -z[src]))]  # z descending, ties: lower index first
    before = np.concatenate([[0.0], np.cumsum(q[src])[:-1]])
    take = np.clip(eps - before, 0.0, q[src])
    p[src] -= take
    p[i0] += take.sum()
    return p, float(p @ z)

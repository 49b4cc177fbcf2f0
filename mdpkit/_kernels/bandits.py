r"""Numba kernels for K-armed bandits: index computations, one round's select/update, whole runs.

Conventions (DESIGN.md "Kernels"): raw arrays in, preallocated outputs, no validation; argmax ties go
to the lowest arm index (strict ``>``).  Every function here is compiled for exactly one type
signature: integers are int64 (``code``, ``t``, ``T``, ``fam``), real parameters float64 arrays,
the per-run state a C-contiguous float64 array ``state (N_ROWS, K)``.  ``mdpkit.solvers.bandits``
normalises everything before calling.

Randomness (DESIGN.md): inside a run every draw comes from Numba's own Mersenne-Twister stream,
seeded explicitly at the start of the run with the 32-bit seed that the caller drew from the run's
``numpy.random.Generator`` (:func:`run_runs`).  Only two primitives are used, ``np.random.random()``
and ``np.random.standard_normal()``; Numba implements both with the same algorithm as NumPy's legacy
``RandomState`` (bitwise), so :func:`reference_run` (plain NumPy/Python, the test oracle) replays a
run exactly from ``RandomState(seed)``.  Beta variates use :func:`beta_draw` (Cheng 1978, two
uniforms per try) and Gamma variates :func:`gamma_draw` (Marsaglia & Tsang 2000, "A simple method
for generating gamma variables", ACM TOMS 26(3)), built on those primitives for that reason.

State rows (``state[row, arm]``)
    0 ``N``  pulls of each arm;  1 ``S``  sum of its rewards;  2 ``X``  algorithm-specific
    accumulator (Beta-TS successes, EXP3 reward estimates, Tsallis-INF loss estimates);
    3 ``P``  last sampling distribution (EXP3, Tsallis-INF);  4 scratch (indices).

Algorithm codes and their ``params`` (float64 array, at least :data:`N_PARAMS` long)
    UCB1 (0): c.  Index mu_hat + sqrt(c log(t-1) / N) after one pull of every arm; t-1 is the number
        of plays so far (Auer et al. 2002 use c = 2).
    UCB_DELTA (1): log(1/delta).  mu_hat + sqrt(2 log(1/delta) / N); +inf for unplayed arms.
    AO_UCB (2): c.  mu_hat + sqrt(c log f(t) / N), f(t) = 1 + t log^2 t; +inf for unplayed arms.
    KL_UCB (3): rhs mode, c, divergence code, variance.  max{q : N d(mu_hat, q) <= rhs}, with
        rhs = log t + c log log t (mode 0), log f(t) (mode 1, f as above) or
        g(N) = log+(T/(K N) (log+^2(T/(K N)) + 1)) (mode 2, KL-UCB++).  Divergence 0: Bernoulli
        kl; 1: Gaussian (p-q)^2/(2 variance) (closed form).
    TS_BETA (4): none.  theta ~ Beta(X + 1, N - X + 1), X the number of (binarised) successes.
    TS_GAUSS (5): variance.  theta ~ N(S/(N+1), variance/(N+1)).
    MOSS (6): c, use-horizon flag.  mu_hat + sqrt(c / N log+(n / (K N))), n = T (flag 1) or t.
    IMED (7): divergence code, variance.  argmin N d(mu_hat, mu_hat*) + log N.
    EXP3 (8): eta, anytime flag.  P ∝ exp(eta X); X_i += 1 - 1{A=i}(1 - r)/P_i (loss-based
        estimator); anytime: eta_t = eta / sqrt(t).
    ETC (9): m.  Round robin for m K rounds, then the arm with the best mean after them (kept).
    EPS_GREEDY (10): epsilon, mode, c, d.  Mode 0: fixed epsilon; mode 1:
        eps_t = min(1, c K / (d^2 t)).  epsilon = 0 is the greedy rule.
    TSALLIS (11): eta0.  w_i = 4 (eta_t (L_i - x))^-2 with sum w = 1, eta_t = eta0 / sqrt(t),
        importance-weighted losses L_i += (1 - r) / w_i.
    UNIFORM (12): none.  Uniformly random arm.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "AO_UCB",
    "EPS_GREEDY",
    "ETC",
    "EXP3",
    "IMED",
    "KL_UCB",
    "LINTS",
    "MOSS",
    "N_PARAMS",
    "N_ROWS",
    "OFUL",
    "TSALLIS",
    "TS_BETA",
    "TS_GAUSS",
    "UCB1",
    "UCB_DELTA",
    "UNIFORM",
    "bernoulli_kl",
    "beta_draw",
    "gamma_draw",
    "kl_ucb_index",
    "reference_linear_run",
    "reference_run",
    "ridge_estimate_and_radius",
    "row_quad_form",
    "run_linear_runs",
    "run_runs",
    "seed_stream",
    "select_arm",
    "sherman_morrison_update",
    "tsallis_weights",
    "update_state",
]

UCB1, UCB_DELTA, AO_UCB, KL_UCB, TS_BETA, TS_GAUSS, MOSS, IMED, EXP3, ETC, EPS_GREEDY, TSALLIS, UNIFORM = range(13)
N_ROWS = 5
N_PARAMS = 4
BERNOULLI, GAUSSIAN, BETA, TABLE = 0, 1, 2, 3  # reward families (``fam``)
_EPS = 1e-15


@njit(cache=True)
def bernoulli_kl(p, q):
    """kl(p, q) between Bernoulli laws, with 0 log 0 = 0 and q clipped to [1e-15, 1 - 1e-15]."""
    q = min(max(q, _EPS), 1.0 - _EPS)
    out = 0.0
    if p > 0.0:
        out += p * math.log(p / q)
    if p < 1.0:
        out += (1.0 - p) * math.log((1.0 - p) / (1.0 - q))
    return out


@njit(cache=True)
def _div(dcode, var, p, q):
    if dcode == 0:
        return bernoulli_kl(p, q)
    return (p - q) * (p - q) / (2.0 * var)


@njit(cache=True)
def kl_ucb_index(p, level, dcode, var):
    """max{q >= p : d(p, q) <= level} (``level`` = rhs / N).

    Gaussian divergence: the closed form p + sqrt(2 var level).  Bernoulli: safeguarded Newton on
    d(p, q) - level, which is convex and increasing in q on [p, 1]: Newton from the right end of a
    bracket [lo, hi] never overshoots the root of a convex increasing function, and each step is
    replaced by bisection if it leaves the bracket; stops at |step| < 1e-12 (at most 60 steps).
    """
    if level <= 0.0:
        return p
    if dcode == 1:
        return p + math.sqrt(2.0 * var * level)
    if p >= 1.0:
        return 1.0
    if bernoulli_kl(p, 1.0) <= level:  # finite because of the clip: the whole interval qualifies
        return 1.0
    lo = p
    hi = 1.0
    # start from a point where d(p, q) >= level: Pinsker gives d >= 2 (q-p)^2
    q = min(1.0 - 1e-12, p + math.sqrt(level / 2.0) + 1e-12)
    while bernoulli_kl(p, q) < level and q < 1.0 - 1e-12:
        lo = q
        q = 0.5 * (q + 1.0)
    hi = q
    for _ in range(60):
        f = bernoulli_kl(p, q) - level
        if f > 0.0:
            hi = q
        else:
            lo = q
        g = (q - p) / (q * (1.0 - q))  # d/dq kl(p, q)
        if g > 0.0:
            qn = q - f / g
        else:
            qn = 0.5 * (lo + hi)
        if not (lo < qn < hi):
            qn = 0.5 * (lo + hi)
        if abs(qn - q) < 1e-12:
            q = qn
            break
        q = qn
    return q


@njit(cache=True)
def seed_stream(seed):
    """Seed Numba's internal generator of this thread (``seed`` int64 in [0, 2**32))."""
    np.random.seed(np.uint32(seed))


@njit(cache=True)
def gamma_draw(a):
    """A Gamma(a, 1) variate (Marsaglia & Tsang 2000; a < 1 by the U^(1/a) boost)."""
    boost = 1.0
    if a < 1.0:
        boost = np.random.random() ** (1.0 / a)
        a = a + 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = np.random.standard_normal()
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = np.random.random()
        if u < 1.0 - 0.0331 * x * x * x * x:
            return d * v * boost
        if math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


@njit(cache=True)
def beta_draw(aa, bb):
    """A Beta(aa, bb) variate by Cheng's algorithms BB (min > 1) and BC (min <= 1) (Cheng 1978,
    "Generating beta variates with nonintegral shape parameters", CACM 21(4)), two uniforms per try."""
    a = min(aa, bb)
    b = max(aa, bb)
    alpha = a + b
    if a <= 1.0:  # algorithm BC
        beta = 1.0 / a
        delta = 1.0 + b - a
        k1 = delta * (0.0138889 + 0.0416667 * a) / (b * beta - 0.777778)
        k2 = 0.25 + (0.5 + 0.25 / delta) * a
        while True:
            u1 = np.random.random()
            u2 = np.random.random()
            if u1 < 0.5:
                y = u1 * u2
                z = u1 * y
                if 0.25 * u2 + z - y >= k1:
                    continue
            else:
                z = u1 * u1 * u2
                if z <= 0.25:
                    v = beta * math.log(u1 / (1.0 - u1))
                    w = b * math.exp(v) if v <= 709.0 else 1.7976931348623157e308
                    break
                if z >= k2:
                    continue
            v = beta * math.log(u1 / (1.0 - u1))
            w = b * math.exp(v) if v <= 709.0 else 1.7976931348623157e308
            if alpha * (math.log(alpha / (a + w)) + v) - 1.3862944 >= math.log(z):
                break
        return a / (a + w) if aa == a else w / (a + w)
    beta = math.sqrt((alpha - 2.0) / (2.0 * a * b - alpha))  # algorithm BB
    gam = a + 1.0 / beta
    while True:
        u1 = np.random.random()
        u2 = np.random.random()
        v = beta * math.log(u1 / (1.0 - u1))
        w = a * math.exp(v) if v <= 709.0 else 1.7976931348623157e308
        z = u1 * u1 * u2
        r = gam * v - 1.3862944
        s = a + r - w
        if s + 2.609438 >= 5.0 * z:
            break
        t = math.log(z)
        if s > t:
            break
        if r + alpha * math.log(alpha / (b + w)) >= t:
            break
    return b / (b + w) if aa != a else w / (b + w)


@njit(cache=True)
def _first_unplayed(state):
    K = state.shape[1]
    for i in range(K):
        if state[0, i] == 0.0:
            return i
    return -1


@njit(cache=True)
def _argmax(x):
    best = 0
    for i in range(1, x.shape[0]):
        if x[i] > x[best]:
            best = i
    return best


@njit(cache=True)
def _sample(p):
    u = np.random.random()
    acc = 0.0
    K = p.shape[0]
    for i in range(K - 1):
        acc += p[i]
        if u < acc:
            return i
    return K - 1


@njit(cache=True)
def tsallis_weights(L, eta, out):
    """Tsallis-INF (alpha = 1/2) weights w_i = 4 (eta (L_i - x))^-2 with x < min L and sum w = 1.

    f(x) = sum_i w_i(x) - 1 is increasing on (-inf, min L); the bracket
    [min L - 2 sqrt(K)/eta, min L - 2/eta] contains its root (f <= 0 and f >= 0 there); Newton steps
    that leave the bracket are replaced by bisection.  Writes ``out`` and returns x.
    """
    K = L.shape[0]
    m = L[0]
    for i in range(1, K):
        if L[i] < m:
            m = L[i]
    lo = m - 2.0 * math.sqrt(K) / eta
    hi = m - 2.0 / eta
    x = hi
    for _ in range(100):
        s = 0.0
        ds = 0.0
        for i in range(K):
            z = eta * (L[i] - x)
            w = 4.0 / (z * z)
            s += w
            ds += 2.0 * eta * w / z  # d w_i / dx
        f = s - 1.0
        if f > 0.0:
            hi = x
        else:
            lo = x
        xn = x - f / ds
        if not (lo <= xn <= hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= 1e-13 * max(1.0, abs(x)):
            x = xn
            break
        x = xn
    s = 0.0
    for i in range(K):
        z = eta * (L[i] - x)
        out[i] = 4.0 / (z * z)
        s += out[i]
    for i in range(K):  # remove the last ulps of the root finder
        out[i] /= s
    return x


@njit(cache=True)
def select_arm(code, params, state, t, T):
    """The arm pulled in round ``t`` (1-based) of a horizon-``T`` run, given the state after t-1 rounds."""
    K = state.shape[1]
    N = state[0]
    S = state[1]
    X = state[2]
    P = state[3]
    idx = state[4]
    if code == UNIFORM:
        return min(int(np.random.random() * K), K - 1)
    if code == ETC:
        m = int(params[0])
        if t <= m * K:
            return (t - 1) % K
        if t == m * K + 1:  # commit once, to the best mean after exploration (kept in P[0])
            for i in range(K):
                idx[i] = S[i] / N[i]
            P[0] = float(_argmax(idx))
        return int(P[0])
    if code == EXP3:
        eta = params[0] / math.sqrt(t) if params[1] > 0.0 else params[0]
        mx = X[0]
        for i in range(1, K):
            mx = max(mx, X[i])
        tot = 0.0
        for i in range(K):
            P[i] = math.exp(eta * (X[i] - mx))
            tot += P[i]
        for i in range(K):
            P[i] /= tot
        return _sample(P)
    if code == TSALLIS:
        eta = params[0] / math.sqrt(t)
        tsallis_weights(X, eta, P)
        return _sample(P)
    if code == TS_BETA:
        for i in range(K):
            idx[i] = beta_draw(X[i] + 1.0, N[i] - X[i] + 1.0)
        return _argmax(idx)
    if code == TS_GAUSS:
        for i in range(K):
            idx[i] = S[i] / (N[i] + 1.0) + math.sqrt(params[0] / (N[i] + 1.0)) * np.random.standard_normal()
        return _argmax(idx)
    # every remaining rule first pulls each arm once, in index order
    j = _first_unplayed(state)
    if j >= 0:
        return j
    if code == EPS_GREEDY:
        eps = params[0]
        if params[1] > 0.0:
            eps = min(1.0, params[2] * K / (params[3] * params[3] * t))
        if eps > 0.0 and np.random.random() < eps:
            return min(int(np.random.random() * K), K - 1)
        for i in range(K):
            idx[i] = S[i] / N[i]
        return _argmax(idx)
    if code == IMED:
        best = -np.inf
        for i in range(K):
            best = max(best, S[i] / N[i])
        for i in range(K):
            mu = S[i] / N[i]
            idx[i] = -(N[i] * _div(int(params[0]), params[1], mu, best) + math.log(N[i]))
        return _argmax(idx)
    lt = math.log(t)
    for i in range(K):
        mu = S[i] / N[i]
        if code == UCB1:
            idx[i] = mu + math.sqrt(params[0] * math.log(t - 1.0) / N[i])
        elif code == UCB_DELTA:
            idx[i] = mu + math.sqrt(2.0 * params[0] / N[i])
        elif code == AO_UCB:
            idx[i] = mu + math.sqrt(params[0] * math.log(1.0 + t * lt * lt) / N[i])
        elif code == MOSS:
            n = float(T) if params[1] > 0.0 else float(t)
            idx[i] = mu + math.sqrt(params[0] / N[i] * max(0.0, math.log(n / (K * N[i]))))
        elif code == KL_UCB:
            mode = int(params[0])
            if mode == 0:
                rhs = lt + params[1] * math.log(lt) if lt > 0.0 else 0.0
            elif mode == 1:
                rhs = math.log(1.0 + t * lt * lt)
            else:
                y = max(0.0, math.log(T / (K * N[i])))
                rhs = max(0.0, math.log(T / (K * N[i]) * (y * y + 1.0)))
            idx[i] = kl_ucb_index(mu, rhs / N[i], int(params[2]), params[3])
    return _argmax(idx)


@njit(cache=True)
def update_state(code, params, state, a, r, t):
    """Fold the reward ``r`` of arm ``a`` in round ``t`` into ``state`` (in place)."""
    K = state.shape[1]
    state[0, a] += 1.0
    state[1, a] += r
    if code == TS_BETA:
        # Agrawal & Goyal 2012, Algorithm 2: a reward in [0, 1] counts as a Bernoulli(r) success
        if r >= 1.0:
            state[2, a] += 1.0
        elif r > 0.0 and np.random.random() < r:
            state[2, a] += 1.0
    elif code == EXP3:
        state[2, a] -= (1.0 - r) / state[3, a]
        for i in range(K):
            state[2, i] += 1.0
    elif code == TSALLIS:
        state[2, a] += (1.0 - r) / state[3, a]


@njit(cache=True)
def run_runs(code, params, fam, p1, p2, seeds, actions, rewards):
    """Run ``R = seeds.shape[0]`` independent runs of ``T = actions.shape[1]`` rounds.

    Parameters
    ----------
    code : int64; params : float64 (N_PARAMS,)
        Algorithm (module docstring).
    fam : int64; p1, p2 : float64 (K,)
        Reward law: 0 Bernoulli(p1), 1 Normal(p1, p2^2), 2 Beta(p1, p2); 3 an oblivious reward
        table: p1 (T * K,) row-major holds x[t, k], p2 (K,) only gives K.
    seeds : int64 (R,)
        32-bit seed of each run's Numba stream.
    actions : int64 (R, T); rewards : float64 (R, T)
        Outputs.
    """
    R, T = actions.shape
    K = p2.shape[0] if fam == TABLE else p1.shape[0]
    state = np.zeros((N_ROWS, K))
    for run in range(R):
        np.random.seed(np.uint32(seeds[run]))
        state[:, :] = 0.0
        for t in range(1, T + 1):
            a = select_arm(code, params, state, t, T)
            if fam == BERNOULLI:
                r = 1.0 if np.random.random() < p1[a] else 0.0
            elif fam == GAUSSIAN:
                r = p1[a] + p2[a] * np.random.standard_normal()
            elif fam == TABLE:
                r = p1[(t - 1) * K + a]
            else:
                r = beta_draw(p1[a], p2[a])
            update_state(code, params, state, a, r, t)
            actions[run, t - 1] = a
            rewards[run, t - 1] = r


# ----------------------------------------------------------------------------- plain twin (test oracle)
def _ref_kl(p, q):
    q = min(max(q, _EPS), 1.0 - _EPS)
    out = 0.0
    if p > 0.0:
        out += p * math.log(p / q)
    if p < 1.0:
        out += (1.0 - p) * math.log((1.0 - p) / (1.0 - q))
    return out


def _ref_kl_index(p, level, dcode, var):
    """Bisection on [p, 1] to 1e-13 (independent of the Newton iteration in the kernel)."""
    if level <= 0.0:
        return p
    if dcode == 1:
        return p + math.sqrt(2.0 * var * level)
    if p >= 1.0 or _ref_kl(p, 1.0) <= level:
        return 1.0
    lo, hi = p, 1.0
    while hi - lo > 1e-13:
        mid = 0.5 * (lo + hi)
        if _ref_kl(p, mid) > level:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _ref_gamma(rs, a):
    boost = 1.0
    if a < 1.0:
        boost = rs.random_sample() ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = rs.standard_normal()
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v ** 3
        u = rs.random_sample()
        if u < 1.0 - 0.0331 * x ** 4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


def _ref_beta(rs, aa, bb):
    """Cheng's BB / BC, written from the same description with NumPy's RandomState draws."""
    a, b = min(aa, bb), max(aa, bb)
    alpha = a + b
    big = 1.7976931348623157e308

    def vw(beta, u1, scale):
        v = beta * math.log(u1 / (1.0 - u1))
        return v, (scale * math.exp(v) if v <= 709.0 else big)

    if a <= 1.0:
        beta = 1.0 / a
        delta = 1.0 + b - a
        k1 = delta * (0.0138889 + 0.0416667 * a) / (b * beta - 0.777778)
        k2 = 0.25 + (0.5 + 0.25 / delta) * a
        while True:
            u1, u2 = rs.random_sample(), rs.random_sample()
            if u1 < 0.5:
                y = u1 * u2
                z = u1 * y
                if 0.25 * u2 + z - y >= k1:
                    continue
            else:
                z = u1 * u1 * u2
                if z <= 0.25:
                    v, w = vw(beta, u1, b)
                    break
                if z >= k2:
                    continue
            v, w = vw(beta, u1, b)
            if alpha * (math.log(alpha / (a + w)) + v) - 1.3862944 >= math.log(z):
                break
        return a / (a + w) if aa == a else w / (a + w)
    beta = math.sqrt((alpha - 2.0) / (2.0 * a * b - alpha))
    gam = a + 1.0 / beta
    while True:
        u1, u2 = rs.random_sample(), rs.random_sample()
        v, w = vw(beta, u1, a)
        z = u1 * u1 * u2
        r = gam * v - 1.3862944
        s = a + r - w
        if s + 2.609438 >= 5.0 * z or s > math.log(z) or r + alpha * math.log(alpha / (b + w)) >= math.log(z):
            break
    return b / (b + w) if aa != a else w / (b + w)


def _ref_sample(rs, p):
    u = rs.random_sample()
    c = np.cumsum(p[:-1])
    hit = np.flatnonzero(u < c)
    return int(hit[0]) if hit.size else p.size - 1


def _ref_tsallis(L, eta):
    from scipy.optimize import brentq

    m = L.min()
    f = lambda x: np.sum(4.0 / (eta * (L - x)) ** 2) - 1.0  # noqa: E731
    x = brentq(f, m - 2.0 * math.sqrt(L.size) / eta, m - 2.0 / eta, xtol=1e-14, rtol=1e-15)
    w = 4.0 / (eta * (L - x)) ** 2
    return w / w.sum()


def reference_run(code, params, fam, p1, p2, seed, T):
    """Plain NumPy/Python twin of one run of :func:`run_runs` (test oracle; slow).

    Draws from ``numpy.random.RandomState(seed)`` in the same order as the kernel, so a run gives
    the same arms; indices are recomputed with NumPy expressions (and the KL-UCB index by plain
    bisection, Tsallis-INF weights by ``scipy.optimize.brentq``).  Returns ``(actions, rewards)``.
    """
    rs = np.random.RandomState(np.uint32(seed))
    K = len(p2) if fam == TABLE else len(p1)
    N = np.zeros(K)
    S = np.zeros(K)
    X = np.zeros(K)
    P = np.full(K, 1.0 / K)
    acts = np.zeros(T, np.int64)
    rews = np.zeros(T)
    for t in range(1, T + 1):
        unplayed = np.flatnonzero(N == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mu = S / N
        if code == UNIFORM:
            a = min(int(rs.random_sample() * K), K - 1)
        elif code == ETC:
            m = int(params[0])
            if t <= m * K:
                a = (t - 1) % K
            else:
                if t == m * K + 1:
                    commit = int(np.argmax(mu))
                a = commit
        elif code == EXP3:
            eta = params[0] / math.sqrt(t) if params[1] > 0 else params[0]
            w = np.exp(eta * (X - X.max()))
            P = w / w.sum()
            a = _ref_sample(rs, P)
        elif code == TSALLIS:
            P = _ref_tsallis(X, params[0] / math.sqrt(t))
            a = _ref_sample(rs, P)
        elif code == TS_BETA:
            a = int(np.argmax([_ref_beta(rs, X[i] + 1.0, N[i] - X[i] + 1.0) for i in range(K)]))
        elif code == TS_GAUSS:
            th = [S[i] / (N[i] + 1) + math.sqrt(params[0] / (N[i] + 1)) * rs.standard_normal() for i in range(K)]
            a = int(np.argmax(th))
        elif unplayed.size:
            a = int(unplayed[0])
        elif code == EPS_GREEDY:
            eps = min(1.0, params[2] * K / (params[3] ** 2 * t)) if params[1] > 0 else params[0]
            if eps > 0 and rs.random_sample() < eps:
                a = min(int(rs.random_sample() * K), K - 1)
            else:
                a = int(np.argmax(mu))
        elif code == IMED:
            best = mu.max()
            d = np.array([_ref_kl(mu[i], best) if params[0] == 0 else (mu[i] - best) ** 2 / (2 * params[1])
                          for i in range(K)])
            a = int(np.argmin(N * d + np.log(N)))
        else:
            if code == UCB1:
                ix = mu + np.sqrt(params[0] * np.log(t - 1.0) / N)
            elif code == UCB_DELTA:
                ix = mu + np.sqrt(2.0 * params[0] / N)
            elif code == AO_UCB:
                ix = mu + np.sqrt(params[0] * np.log(1 + t * np.log(t) ** 2) / N)
            elif code == MOSS:
                n = T if params[1] > 0 else t
                ix = mu + np.sqrt(params[0] / N * np.maximum(0.0, np.log(n / (K * N))))
            else:  # KL_UCB
                ix = np.empty(K)
                for i in range(K):
                    lt = math.log(t)
                    if params[0] == 0:
                        rhs = lt + params[1] * math.log(lt) if lt > 0 else 0.0
                    elif params[0] == 1:
                        rhs = math.log(1 + t * lt * lt)
                    else:
                        y = max(0.0, math.log(T / (K * N[i])))
                        rhs = max(0.0, math.log(T / (K * N[i]) * (y * y + 1)))
                    ix[i] = _ref_kl_index(mu[i], rhs / N[i], int(params[2]), params[3])
            a = int(np.argmax(ix))
        if fam == BERNOULLI:
            r = 1.0 if rs.random_sample() < p1[a] else 0.0
        elif fam == GAUSSIAN:
            r = p1[a] + p2[a] * rs.standard_normal()
        elif fam == TABLE:
            r = p1[(t - 1) * K + a]
        else:
            r = _ref_beta(rs, p1[a], p2[a])
        N[a] += 1
        S[a] += r
        if code == TS_BETA:
            if r >= 1.0 or (r > 0.0 and rs.random_sample() < r):
                X[a] += 1
        elif code == EXP3:
            X[a] -= (1.0 - r) / P[a]
            X += 1.0
        elif code == TSALLIS:
            X[a] += (1.0 - r) / P[a]
        acts[t - 1] = a
        rews[t - 1] = r
    return acts, rews


# ----------------------------------------------------------------------------- linear bandits
OFUL, LINTS = 0, 1


@njit(cache=True)
def sherman_morrison_update(Vinv, x, z):
    """Rank-one update of an inverse Gram matrix for the vector ``x`` (1-D):
    ``Vinv <- Vinv - (Vinv x)(Vinv x)' / (1 + x' Vinv x)`` in place (``z`` receives ``Vinv x``
    before the update); returns ``q = x' Vinv x`` (so ``log det V`` grows by ``log(1 + q)``)."""
    d = x.shape[0]
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += Vinv[i, j] * x[j]
        z[i] = s
    q = 0.0
    for i in range(d):
        q += x[i] * z[i]
    for i in range(d):
        for j in range(d):
            Vinv[i, j] -= z[i] * z[j] / (1.0 + q)
    return q


@njit(cache=True)
def row_quad_form(M, X, k):
    """``X[k] M X[k]'``: the squared ``||x_k||_M`` of arm ``k`` (M = V^-1 in the OFUL indices)."""
    d = X.shape[1]
    q = 0.0
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += M[i, j] * X[k, j]
        q += X[k, i] * s
    return q


@njit(cache=True)
def ridge_estimate_and_radius(Vinv, b, logdet, params, th):
    """Write the ridge estimate ``V^-1 b`` into ``th`` and return OFUL's confidence radius:
    ``params[4]`` (a fixed width) when positive, else the self-normalised radius
    R sqrt(2 log(1/delta) + log det V - d log lam) + sqrt(lam) S of Abbasi-Yadkori et al. 2011,
    Thm 2, with ``params[:4] = (lam, R, S, delta)``.  Shared by the finite-arm and unit-ball OFUL kernels."""
    d = th.shape[0]
    for i in range(d):
        s = 0.0
        for j in range(d):
            s += Vinv[i, j] * b[j]
        th[i] = s
    lam, Rn, S, delta, width = params[0], params[1], params[2], params[3], params[4]
    if width > 0.0:
        return width
    return Rn * math.sqrt(2.0 * math.log(1.0 / delta) + (logdet - d * math.log(lam))) + math.sqrt(lam) * S


@njit(cache=True)
def run_linear_runs(code, params, X, theta, sigma, seeds, actions, rewards, ratio):
    """Linear bandit runs over a finite arm set ``X (n_arms, d)``; reward <x, theta> + sigma N(0, 1).

    ``params = (lam, R, S, delta, width, v)``: ridge ``lam``; the radius
    sqrt(beta_t) = R sqrt(2 log(det(V_t)^(1/2) lam^(-d/2) / delta)) + sqrt(lam) S (Abbasi-Yadkori
    et al. 2011, Thm 2) when ``width <= 0``, else the fixed ``width``; ``v`` the scale of the LinTS
    perturbation theta ~ N(theta_hat, v^2 V^-1).  V^-1 follows Sherman-Morrison updates and
    log det V the matrix determinant lemma.  ``ratio[run]`` receives
    max_t ||theta_hat_t - theta||_{V_t} / sqrt(beta_t) over the run (t = 0..T-1, before each choice).
    """
    R_, T = actions.shape
    n, d = X.shape
    lam, Rn, S, delta, width, v = params[0], params[1], params[2], params[3], params[4], params[5]
    Vinv = np.zeros((d, d))
    b = np.zeros(d)
    th = np.zeros(d)
    u = np.zeros(d)
    z = np.zeros(d)
    Vmat = np.zeros((d, d))
    for run in range(R_):
        np.random.seed(np.uint32(seeds[run]))
        Vinv[:, :] = 0.0
        Vmat[:, :] = 0.0
        for i in range(d):
            Vinv[i, i] = 1.0 / lam
            Vmat[i, i] = lam
        b[:] = 0.0
        logdet = d * math.log(lam)
        worst = 0.0
        for t in range(T):
            rad = ridge_estimate_and_radius(Vinv, b, logdet, params, th)
            # ||th - theta||_V^2 with V = lam I + sum x x' kept explicitly (Vmat)
            e2 = 0.0
            for i in range(d):
                s = 0.0
                for j in range(d):
                    s += Vmat[i, j] * (th[j] - theta[j])
                e2 += (th[i] - theta[i]) * s
            r_ = math.sqrt(max(e2, 0.0)) / rad
            if r_ > worst:
                worst = r_
            if code == LINTS:
                # theta_tilde = th + v L z with L L' = Vinv
                Lc = np.linalg.cholesky(Vinv)
                for i in range(d):
                    z[i] = np.random.standard_normal()
                for i in range(d):
                    s = 0.0
                    for j in range(i + 1):
                        s += Lc[i, j] * z[j]
                    u[i] = th[i] + v * s
            best = -np.inf
            a = 0
            for k in range(n):
                m = 0.0
                for i in range(d):
                    m += X[k, i] * (u[i] if code == LINTS else th[i])
                if code == OFUL:
                    m += rad * math.sqrt(max(row_quad_form(Vinv, X, k), 0.0))
                if m > best:
                    best = m
                    a = k
            mean = 0.0
            for i in range(d):
                mean += X[a, i] * theta[i]
            r = mean + sigma * np.random.standard_normal()
            actions[run, t] = a
            rewards[run, t] = r
            q = sherman_morrison_update(Vinv, X[a], z)
            for i in range(d):
                for j in range(d):
                    Vmat[i, j] += X[a, i] * X[a, j]
                b[i] += r * X[a, i]
            logdet += math.log(1.0 + q)
        ratio[run] = worst


def reference_linear_run(code, params, X, theta, sigma, seed, T):
    """Plain NumPy twin of one run of :func:`run_linear_runs` (test oracle): V and its inverse by
    ``numpy.linalg`` from the design at every round; returns ``(actions, rewards, worst ratio)``."""
    rs = np.random.RandomState(np.uint32(seed))
    n, d = X.shape
    lam, Rn, S, delta, width, v = params[:6]
    V = lam * np.eye(d)
    b = np.zeros(d)
    acts, rews, worst = np.zeros(T, np.int64), np.zeros(T), 0.0
    for t in range(T):
        Vinv = np.linalg.inv(V)
        th = Vinv @ b
        sign, logdet = np.linalg.slogdet(V)
        rad = width if width > 0 else Rn * math.sqrt(2 * math.log(1 / delta) + logdet - d * math.log(lam)) + math.sqrt(lam) * S
        worst = max(worst, math.sqrt(max((th - theta) @ V @ (th - theta), 0.0)) / rad)
        if code == LINTS:
            Lc = np.linalg.cholesky(Vinv)
            zz = np.array([rs.standard_normal() for _ in range(d)])
            score = X @ (th + v * (Lc @ zz))
        else:
            score = X @ th + rad * np.sqrt(np.maximum(np.einsum("ki,ij,kj->k", X, Vinv, X), 0.0))
        a = int(np.argmax(score))
        r = float(X[a] @ theta) + sigma * rs.standard_normal()
        V += np.outer(X[a], X[a])
        b += r * X[a]
        acts[t], rews[t] = a, r
    return acts, rews, worst

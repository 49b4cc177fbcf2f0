r"""Risk objectives of the discounted return with a certified bracket ``[lo, hi]``.

For a discounted model (``gamma < 1``) and no horizon, the static objective
:math:`\max_\pi \rho(G^\pi)` of the infinite return :math:`G = \sum_t \gamma^t r_t` is bracketed by
two exact-arithmetic-free but *certified* steps:

1. **Truncation.** With :math:`r_{\min} \le r(s, a, s') \le r_{\max}` over every transition,
   :math:`G_H + L \le G \le G_H + U` pathwise, where :math:`G_H = \sum_{t<H}\gamma^t r_t`,
   :math:`L = \gamma^H r_{\min}/(1-\gamma)` and :math:`U = \gamma^H r_{\max}/(1-\gamma)`.  ``H`` is
   the smallest horizon with :math:`U - L \le` ``tol``.  Every objective here is **monotone**
   (a pathwise larger return has a larger value), so the optimum lies between the optimum for
   :math:`G_H + L` and for :math:`G_H + U`; CVaR, VaR, ERM, EVaR and the mean are also
   **translation-equivariant** (:math:`\rho(X + c) = \rho(X) + c`), so the tails are simply added
   to the bracket of the :math:`G_H` problem.  Thresholds :math:`P(G \ge \theta)` and expected
   utilities use monotonicity only: the tails enter the terminal function.
2. **A bounded stock, rounded both ways.** CVaR (Rockafellar & Uryasev 2000, Thm 1), VaR, thresholds
   and utilities are expectations of a function of the *whole* return, solved on the
   stock-augmented MDP (Bauerle & Ott 2011; Avila Pires et al. 2025, Sec. 3).  The stock here is
   the accumulated discounted reward :math:`y_t = y_0 + \sum_{k<t}\gamma^k r_k` with the time in
   the state (it stays in a bounded range, unlike :math:`(c + r)/\gamma`), on a uniform grid of
   spacing ``delta``.  The optimal value :math:`V_t(s, y)` is non-decreasing in ``y`` (the terminal
   function is), so rounding every next stock **down** gives a lower bound, attained in the true
   model by the returned policy (it acts on the rounded-down stock, a statistic of the history),
   and rounding **up** gives an upper bound (:mod:`mdpkit._kernels.stock_grid`).  When the terminal
   function is 1-Lipschitz (CVaR's :math:`\min(y, 0)`) the neighbouring grid point plus or minus the
   remainder is used where tighter.  The bracket shrinks as the grid is refined (nested grids give
   nested brackets); its width is at most about ``H delta / alpha`` for CVaR and is reported.
3. **The outer optimisation** over the Rockafellar-Uryasev level ``b`` uses that
   :math:`J(b) = \max_\pi \mathbb{E}\min(G_H - b, 0)` is non-increasing in ``b``: on a grid cell
   :math:`[b_i, b_{i+1}]`, :math:`b + J(b)/\alpha \le b_{i+1} + J(b_i)/\alpha`, and levels above
   :math:`B = (\max_\pi \mathbb{E} G_H - \alpha G_{H,\min})/(1-\alpha)` cannot beat
   :math:`G_{H,\min}` (since :math:`J(b) \le \mathbb{E}G_H - b`).  For EVaR the outer supremum over
   :math:`\beta` of :math:`\max_\pi \mathrm{ERM}_\beta + \log(\alpha)/\beta` is bracketed the same
   way (:math:`\mathrm{ERM}_\beta` is non-increasing in :math:`\beta`, :math:`\log(\alpha)/\beta`
   increasing).

A rounding allowance of ``16 (H + 2)`` ulps of the return scale (times ``1/alpha`` for CVaR) is added
to both ends, so float round-off cannot break the guarantee.  The construction (steps 2-3) is this
library's; its ingredients are monotonicity of the stock value (Bauerle & Ott 2011, Sec. 3) and the
truncation bound (:func:`mdpkit.bounds.distributional.truncation_bound`).

Relation to Avila Pires et al. (2025): their stock-augmented return distribution optimisation
covers objectives of the stock-augmented return, with CVaR (through the outer optimisation over the
initial stock) and homeostatic regulation (a band) as applications, and their distributional value
and policy iteration come with bounds and a characterisation of which objectives they can or cannot
optimise (abstract; the conditions and section numbers could not be checked against the text here).
Their guarantees are for exact (or projected) distributional iterates with the stock
:math:`(c + r)/\gamma`; they do not give a computable interval on a finite grid.  Here: CVaR, VaR,
thresholds and increasing utilities use the stock with certified rounding; ERM, EVaR and the mean
need no stock (exact recursions); the band is not monotone in the return and is refused.

References
----------
.. [1] R. T. Rockafellar, S. Uryasev, "Optimization of conditional value-at-risk", J. Risk 2(3), 2000, Thm 1.
.. [2] N. Bauerle, J. Ott, "Markov decision processes with average-value-at-risk criteria", Math. Meth.
   Oper. Res. 74, 2011, Sec. 3.
.. [3] B. Avila Pires et al., "Optimizing Return Distributions with Distributional Dynamic
   Programming", JMLR 2025 (arXiv:2501.13028), Sec. 3.
.. [4] A. Ahmadi-Javid, "Entropic value-at-risk: a new coherent risk measure", JOTA 155, 2012.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels.stock_grid import stock_grid_step
from mdpkit._validation import check_int, check_memory
from mdpkit.bounds import Bound, BoundKind
from mdpkit.model import TabularMDP
from mdpkit.results import SolveResult
from mdpkit.stock import transition_entries

from ._common import build_result, check_mdp

__all__ = ["RiskBracketResult", "bracket_horizon", "entropic_backward_induction", "optimize_discounted_risk"]

_EPS = float(np.finfo(np.float64).eps)
#: Objectives with a certified discounted bracket.
BRACKET_OBJECTIVES = ("cvar", "var", "threshold", "utility", "mean", "erm", "evar")


@dataclass(frozen=True, eq=False, repr=False)
class RiskBracketResult(SolveResult):
    r"""A discounted risk objective's optimum with a certified interval.

    ``v`` is the midpoint of ``[v_lower, v_upper]``, an interval that contains
    :math:`\max_\pi \rho(G^\pi)` for the *untruncated* discounted return; ``v_error_bound`` is its
    half-width (plus round-off allowance).  ``certificate.value = v_upper - v_lower`` bounds the
    suboptimality of ``policy``, whose value is at least ``v_lower``.

    Attributes
    ----------
    objective : str
        E.g. ``"cvar(alpha=0.1)"``.
    horizon : int
        Truncation horizon ``H``.
    tail : float
        :math:`U - L`: the truncation's share of the interval width.
    stocks : ndarray of float64, shape (K,), or None
        The stock grid (accumulated discounted reward); None for ERM/EVaR/mean (no stock).
    grid_spacing : float
        ``delta`` (0 without a stock).
    initial_stock : float or None
        The returned policy's initial stock :math:`y_0` (CVaR: :math:`-b^*`; VaR: :math:`-t^*`).
    policy : ndarray
        ``(H, S, K)`` int16, the action at time ``t`` in state ``s`` when the **rounded-down**
        stock is ``stocks[k]`` (stock objectives), or ``(H, S)`` int64 (ERM, EVaR, mean).  After
        ``H`` steps any action keeps the guarantee.
    state : int or None
        Start state (None: ``mdp.mu0``).
    """

    objective: str = ""
    horizon: int = 0
    tail: float = float("nan")
    stocks: np.ndarray | None = None
    grid_spacing: float = 0.0
    initial_stock: float | None = None
    state: int | None = None


def bracket_horizon(mdp: TabularMDP, tol: float) -> tuple[int, float, float]:
    r"""Smallest ``H`` with :math:`\gamma^H (r_{\max} - r_{\min})/(1-\gamma) \le` ``tol``, and ``(L, U)``.

    ``r_min, r_max`` are over every transition ``(s, a, s')`` with positive probability.

    Raises
    ------
    InvalidArgumentError
        ``gamma`` not in ``(0, 1)`` or ``tol`` not a positive finite number.
    """
    g = float(mdp.gamma)
    if not (0.0 < g < 1.0):
        raise InvalidArgumentError(f"a discounted bracket needs 0 < gamma < 1, got gamma = {g!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or not (math.isfinite(tol) and tol > 0):
        raise InvalidArgumentError(f"tol must be a positive finite number, got {tol!r}")
    r = transition_entries(mdp)[4]
    rmin, rmax = float(r.min()), float(r.max())
    span = (rmax - rmin) / (1.0 - g)
    H = 0 if span <= tol else int(math.ceil(math.log(tol / span) / math.log(g)))
    while H > 0 and g ** (H - 1) * span <= tol:  # guard the log's round-off: smallest such H
        H -= 1
    while g**H * span > tol:
        H += 1
    tailc = g**H / (1.0 - g)
    return H, tailc * rmin, tailc * rmax


def entropic_backward_induction(mdp: TabularMDP, beta: float, H: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`U_t(s) = \max_a \mathrm{ERM}_{\beta\gamma^t}[r + \gamma U_{t+1}(s')]`, ``t < H``.

    :math:`U_0(s) = \max_\pi \mathrm{ERM}_\beta(G_H)` from ``s`` (Howard & Matheson 1972; the
    entropic risk is time consistent).  ``beta = 0`` is the mean.  Returns ``U (H+1, S)`` and the
    Markov policy ``(H, S)`` int64.
    """
    es, ea, es2, ep, er = transition_entries(mdp)
    S, A, g = mdp.S, mdp.A, mdp.gamma
    U = np.zeros((H + 1, S))
    pol = np.zeros((H, S), dtype=np.int64)
    row = es * A + ea
    for t in range(H - 1, -1, -1):
        bt = beta * g**t
        z = er + g * U[t + 1][es2]
        if bt == 0.0:
            q = np.zeros(S * A)
            np.add.at(q, row, ep * z)
        else:
            y = -bt * z
            m = np.full(S * A, -np.inf)
            np.maximum.at(m, row, y)
            acc = np.zeros(S * A)
            np.add.at(acc, row, ep * np.exp(y - m[row]))
            with np.errstate(divide="ignore"):
                q = -(m + np.log(acc)) / bt
        q = q.reshape(S, A)
        q[~mdp.action_mask] = -np.inf
        pol[t] = np.argmax(q, axis=1)
        U[t] = q.max(axis=1)
    return U, pol


def _start(mdp: TabularMDP, state):
    if state is None:
        return None, np.asarray(mdp.mu0, float)
    s = check_int(state, "state", minimum=0)
    if s >= mdp.S:
        raise InvalidArgumentError(f"state must be < S = {mdp.S}, got {state}")
    dist = np.zeros(mdp.S)
    dist[s] = 1.0
    return s, dist


def _erm_value(U0, dist, beta):
    sup = dist > 0
    if beta == 0.0:
        return float(dist[sup] @ U0[sup])
    y = -beta * U0[sup]
    m = y.max()
    return float(-(m + math.log(float(dist[sup] @ np.exp(y - m)))) / beta)


def _grid_dp(mdp, H, k_lo, K, delta, terminal_lo, terminal_up, lip, top_up, bot_lo=-np.inf):
    """Lower/upper stock DP on the grid ``y_k = (k_lo + k) delta``: ``V_lo0, V_up0 (S, K)``, policy ``(H, S, K)``."""
    es, ea, es2, ep, er = transition_entries(mdp)
    S, A, g = mdp.S, mdp.A, mdp.gamma
    check_memory(float(H) * S * K * 2 + 6.0 * S * A * K * 8 + 4.0 * S * K * 8,
                 f"the stock-grid DP (H={H}, S={S}, A={A}, K={K} stocks)")
    if A > np.iinfo(np.int16).max:
        raise InvalidArgumentError(f"the stock-grid policy table stores actions as int16: A = {A} is too many")
    ent = np.ascontiguousarray(np.stack([es, ea, es2]).astype(np.int64))
    p = np.ascontiguousarray(ep, dtype=np.float64)
    y = (k_lo + np.arange(K, dtype=np.float64)) * delta
    # directed round-off: the terminal is monotone, so evaluate it a few ulps below (above) the grid value
    ey = 4.0 * _EPS * np.maximum(np.abs(y), delta)
    V_lo = np.ascontiguousarray(np.broadcast_to(np.asarray(terminal_lo(y - ey), float), (S, K)))
    V_up = np.ascontiguousarray(np.broadcast_to(np.asarray(terminal_up(y + ey), float), (S, K)))
    Vn_lo, Vn_up = np.empty_like(V_lo), np.empty_like(V_up)
    Q_lo = np.empty((S, A, K))
    Q_up = np.empty((S, A, K))
    pol = np.empty((H, S, K), dtype=np.int16)
    mask = np.ascontiguousarray(mdp.action_mask, dtype=np.bool_)
    par = np.array([delta, lip, top_up, bot_lo], dtype=np.float64)
    for t in range(H - 1, -1, -1):
        x = g**t * er
        ex = 4.0 * _EPS * (t + 2) * np.abs(x)  # g**t and the product: a few ulps per factor
        shift, rem = _split(np.stack([x - ex, x + ex]), delta)
        Vn_lo, V_lo = V_lo, Vn_lo
        Vn_up, V_up = V_up, Vn_up
        stock_grid_step(Vn_lo, Vn_up, ent, p, shift, rem, par, mask, Q_lo, Q_up, V_lo, V_up, pol[t])
    return V_lo, V_up, pol, y


def _split(x: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """``x = shift * delta + rem`` with integer ``shift`` and ``0 <= rem < delta`` (row 0 rounded so
    that ``rem`` errs low, row 1 so that it errs high: the caller passes ``x`` already nudged)."""
    shift = np.floor(x / delta)
    rem = x - shift * delta
    low = rem < 0.0
    shift[low] -= 1.0
    rem[low] += delta
    high = rem >= delta
    shift[high] += 1.0
    rem[high] -= delta
    return np.ascontiguousarray(shift.astype(np.int64)), np.ascontiguousarray(rem)


def _grid(lo: float, hi: float, n: int, margin: int = 0) -> tuple[int, int, float]:
    """A uniform grid ``(k_lo + k) delta`` covering ``[lo, hi]`` with about ``n`` points and 0 on it.

    ``margin`` extra points on each side absorb the drift of rounding down (up) by less than one
    spacing per step, so that non-Lipschitz objectives rarely need the coarse off-grid bounds.
    """
    span = max(hi - lo, 1e-300)
    delta = span / (n - 1)
    k_lo = int(math.floor(lo / delta)) - margin
    k_hi = int(math.ceil(hi / delta)) + margin
    return k_lo, k_hi - k_lo + 1, delta


def _parts(mdp, H):
    r = transition_entries(mdp)[4]
    g = mdp.gamma
    gs = (1.0 - g**H) / (1.0 - g)
    neg = gs * min(float(r.min()), 0.0)  # lower bound on every partial sum of gamma^k r_k
    pos = gs * max(float(r.max()), 0.0)
    gmin = gs * float(r.min())  # bounds on G_H
    gmax = gs * float(r.max())
    return neg, pos, gmin, gmax


def _check_level(x, name, lo, hi, lo_open=False, hi_open=False):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.floating, np.integer)) or not math.isfinite(float(x)):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    x = float(x)
    if x < lo or x > hi or (lo_open and x == lo) or (hi_open and x == hi):
        raise InvalidArgumentError(f"{name} must lie in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}, got {x!r}")
    return x


def optimize_discounted_risk(mdp: TabularMDP, kind: str, params: tuple = (), *, horizon: int | None = None,
                             state: int | None = None, tol: float | None = None,
                             n_stocks: int = 4097) -> RiskBracketResult:
    r"""Certified interval for :math:`\max_\pi \rho(G^\pi)` of the discounted return (``gamma < 1``).

    Parameters
    ----------
    mdp : TabularMDP
        ``0 < gamma < 1``.
    kind : {"cvar", "var", "threshold", "utility", "mean", "erm", "evar"}
        The objective (lower-tail conventions of :mod:`mdpkit.distributions`); ``params`` as in
        :func:`mdpkit.solvers.risk.parse_objective`: ``(alpha,)`` for cvar/var/evar, ``(beta,)`` for
        erm, ``(theta,)`` for threshold (:math:`P(G \ge \theta)`), ``("exp", c)`` (``-exp(-c x)``,
        ``c > 0``) or ``("power", p)`` (``x^p``, ``p > 0``, returns must be non-negative) for utility.
    horizon : int, optional
        Optimise the finite-horizon return :math:`G_H` instead (no truncation: ``L = U = 0``).
    state : int, optional
        Start state; default ``mdp.mu0``.
    tol : float, optional
        Truncation budget :math:`U - L` (ignored with ``horizon``); default ``1e-3`` times the
        return range :math:`(r_{\max} - r_{\min})/(1-\gamma)`.
    n_stocks : int, default 4097
        About how many stock grid points (stock objectives); the interval shrinks as it grows.

    Returns
    -------
    RiskBracketResult
        ``v_lower <= max_pi rho(G^pi) <= v_upper``; ``v`` the midpoint.

    Raises
    ------
    InvalidArgumentError
        ``gamma`` not in (0, 1), unknown objective or bad parameters, a non-monotone utility, or a
        request whose memory estimate exceeds the limit.
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    if kind not in BRACKET_OBJECTIVES:
        raise InvalidArgumentError(f"no discounted bracket for objective {kind!r}; choose one of {BRACKET_OBJECTIVES}")
    r = transition_entries(mdp)[4]
    scale0 = max(float(np.abs(r).max(initial=0.0)), 1e-300) / (1.0 - mdp.gamma) if mdp.gamma < 1 else 1.0
    if not (0.0 < mdp.gamma < 1.0):
        raise InvalidArgumentError(f"a discounted bracket needs 0 < gamma < 1, got gamma = {mdp.gamma!r}")
    if tol is None:
        tol = 1e-3 * max(float(np.ptp(r)), 1e-12) / (1.0 - mdp.gamma)
    if horizon is None:
        H, L, U = bracket_horizon(mdp, tol)
    else:
        H, L, U = check_int(horizon, "horizon", minimum=0), 0.0, 0.0
    n_stocks = check_int(n_stocks, "n_stocks", minimum=3)
    s0, dist = _start(mdp, state)
    neg, pos, gmin, gmax = _parts(mdp, H)
    ulp = 16.0 * (H + 2) * _EPS * max(1.0, scale0)
    fields: dict = {}
    src = ((f"truncation at H={H} (|G - G_H - (L+U)/2| <= (U-L)/2 = {(U - L) / 2:.3g} pathwise)" if horizon is None
            else f"finite horizon H={H}") + " and monotone rounding of the accumulated-reward stock (mdpkit construction; Bauerle & Ott 2011 Sec. 3, "
           "Avila Pires et al. 2025 Sec. 3, section numbers not checked)")
    stocks = None
    delta = 0.0
    y0 = None
    if kind in ("mean", "erm"):
        beta = 0.0 if kind == "mean" else _check_level(params[0], "beta", -np.inf, np.inf)
        U0, pol = entropic_backward_induction(mdp, beta, H)
        val = _erm_value(U0[0], dist, beta)
        lo, hi = val + L - ulp, val + U + ulp
        name = "mean" if kind == "mean" else f"erm(beta={beta:g})"
        src += "; exact entropic recursion with beta_t = beta gamma^t (Howard & Matheson 1972)"
    elif kind == "evar":
        a = _check_level(params[0], "alpha", 0.0, 1.0, lo_open=True, hi_open=True)
        lo, hi, pol, b_star = _evar_bracket(mdp, a, H, dist, gmin, gmax)
        lo, hi = lo + L - ulp, hi + U + ulp
        name = f"evar(alpha={a:g})"
        fields["message_extra"] = f"beta* = {b_star:.6g}"
        src += "; EVaR = sup_beta [max_pi ERM_beta + log(alpha)/beta] (Ahmadi-Javid 2012), bracketed on a beta grid"
    elif kind == "cvar":
        a = _check_level(params[0], "alpha", 0.0, 1.0, lo_open=True)
        if a == 1.0:
            return optimize_discounted_risk(mdp, "mean", (), state=state, tol=tol, n_stocks=n_stocks)
        U0, _ = entropic_backward_induction(mdp, 0.0, H)
        mean_up = float(dist[dist > 0] @ U0[0][dist > 0]) + ulp
        B = max((mean_up - a * gmin) / (1.0 - a), gmin)
        k_lo, K, delta = _grid(-B + neg, -neg, n_stocks)
        V_lo, V_up, pol, y = _grid_dp(mdp, H, k_lo, K, delta, lambda v: np.minimum(v, 0.0),
                                      lambda v: np.minimum(v, 0.0), 1.0, 0.0)
        J_lo, J_up = dist @ np.where(dist[:, None] > 0, V_lo, 0.0), dist @ np.where(dist[:, None] > 0, V_up, 0.0)
        b = -y
        sel = np.flatnonzero((b >= gmin - delta) & (b <= B + delta))
        order = sel[np.argsort(b[sel])]
        g_lo = b[order] + J_lo[order] / a
        i = int(np.argmax(g_lo))
        lo = float(g_lo[i])
        hi = float(np.max(b[order][1:] + J_up[order][:-1] / a)) if len(order) > 1 else float(b[order][0] + J_up[order][0] / a)
        y0 = float(y[order[i]])
        lo, hi = lo + L - ulp / a, hi + U + ulp / a
        name = f"cvar(alpha={a:g})"
        src += "; Rockafellar & Uryasev 2000 Thm 1 (outer max over b bracketed on the grid)"
        stocks = y
    elif kind == "var":
        a = _check_level(params[0], "alpha", 0.0, 1.0, lo_open=True, hi_open=True)
        k_lo, K, delta = _grid(-gmax + neg, -neg, n_stocks, H + 1)
        step = lambda v: (v >= 0.0).astype(float)  # noqa: E731
        V_lo, V_up, pol, y = _grid_dp(mdp, H, k_lo, K, delta, step, step, np.inf, 1.0, 0.0)
        P_lo, P_up = dist @ V_lo, dist @ V_up
        t = -y
        m = 64.0 * (H + 2) * _EPS  # round-off of the probability sums
        ok = np.flatnonzero(P_lo > 1.0 - a + m)
        bad = np.flatnonzero(P_up < 1.0 - a - m)
        lo_i = ok[np.argmax(t[ok])] if ok.size else None
        lo = float(t[lo_i]) if lo_i is not None else gmin
        hi = float(t[bad].min()) if bad.size else gmax
        hi = min(max(hi, lo), gmax)
        y0 = float(y[lo_i]) if lo_i is not None else None
        lo, hi = lo + L - ulp, hi + U + ulp
        name = f"var(alpha={a:g})"
        src += "; a level t is certified feasible when the lower bound on max_pi P(G_H >= t) exceeds 1 - alpha"
        src += "; VaR_alpha >= t iff P(G < t) <= alpha; threshold DP over every level t at once"
        stocks = y
    else:  # threshold, utility
        if kind == "threshold":
            th = _check_level(params[0], "threshold", -np.inf, np.inf)
            f_lo = lambda v: (v + L >= th).astype(float)  # noqa: E731
            f_up = lambda v: (v + U >= th).astype(float)  # noqa: E731
            top, sup, inf = min(max(th - L - neg, 0.0), pos), 1.0, 0.0
            name = f"P(G >= {th:g})"
        else:
            form, c = params
            c = _check_level(c, f"utility parameter of {form}", 0.0, np.inf, lo_open=True)
            if form == "exp":
                f_lo = lambda v: -np.exp(-c * (v + L))  # noqa: E731
                f_up = lambda v: -np.exp(-c * (v + U))  # noqa: E731
                sup, inf = 0.0, -np.inf
                name = f"E[-exp(-{c:g} G)]"
            elif form == "power":
                if neg + min(L, 0.0) < 0.0:
                    raise InvalidArgumentError("utility power:p needs non-negative returns: the model has negative rewards")
                f_lo = lambda v: np.maximum(v + L, 0.0) ** c  # noqa: E731
                f_up = lambda v: np.maximum(v + U, 0.0) ** c  # noqa: E731
                sup, inf = np.inf, 0.0
                name = f"E[G^{c:g}]"
            else:
                raise InvalidArgumentError(f"utility must be exp:<c> or power:<p>, got {form!r}")
            top = pos
        k_lo, K, delta = _grid(neg, max(top, neg + 1e-12), n_stocks, H + 1)
        V_lo, V_up, pol, y = _grid_dp(mdp, H, k_lo, K, delta, f_lo, f_up, np.inf, sup, inf)
        k0 = -k_lo  # y = 0
        lo = float(dist @ V_lo[:, k0])
        hi = float(dist @ V_up[:, k0])
        y0 = 0.0
        if kind == "threshold":  # a probability: round-off allowance at the scale 1, and P <= 1
            ulp = 16.0 * (H + 2) * _EPS
            lo, hi = max(lo - ulp, 0.0), min(hi + ulp, 1.0)
        else:
            lo, hi = lo - ulp, hi + ulp
        stocks = y
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidArgumentError(f"{name}: the bracket is not finite ([{lo!r}, {hi!r}]); the grid does not cover the "
                                   "reachable stocks (report this as a bug)")
    hi = max(hi, lo)
    mid = lo + 0.5 * (hi - lo)
    width = hi - lo
    cert = Bound(value=width, kind=BoundKind.DETERMINISTIC, citation=src,
                 assumptions=("monotone objective of the return", f"rewards in [{float(r.min())!r}, {float(r.max())!r}]"),
                 statement="rho(G^pi) >= v_lower and max_pi rho(G^pi) <= v_upper, so the suboptimality <= v_upper - v_lower")
    extra = fields.pop("message_extra", "")
    msg = (f"{name} in [{lo:.10g}, {hi:.10g}] (" + (f"truncation H={H}, tail {U - L:.3g}" if horizon is None
                                                    else f"horizon H={H}")
           + (f", {len(stocks)} stocks, spacing {delta:.3g}" if stocks is not None else "") + (f"; {extra}" if extra else "") + ")")
    return build_result(
        mdp, cls=RiskBracketResult, v=np.float64(mid), v_error_bound=0.5 * width + 4.0 * float(np.spacing(max(abs(lo), abs(hi)))),
        policy=pol, certificate=cert, converged=True, n_iter=int(H), residuals=np.zeros(0),
        method=f"discounted_{kind}_bracket", options=dict(kind=kind, params=tuple(params), horizon=horizon, state=state, tol=float(tol),
                                                       n_stocks=int(n_stocks)),
        t0=t0, message=msg, v_lower=np.float64(lo), v_upper=np.float64(hi), objective=name, horizon=int(H),
        tail=float(U - L), stocks=stocks, grid_spacing=float(delta), initial_stock=y0, state=s0)


def _evar_bracket(mdp, a, H, dist, gmin, gmax):
    """``(lo, hi, policy, beta*)`` for :math:`\\sup_\\beta \\{\\max_\\pi \\mathrm{ERM}_\\beta(G_H) + \\log(a)/\\beta\\}`."""
    span = max(gmax - gmin, 1e-12)
    betas = np.logspace(-3, 4, 57) / span
    vals = []
    pols = []
    for b in betas:
        U0, pol = entropic_backward_induction(mdp, float(b), H)
        vals.append(_erm_value(U0[0], dist, float(b)))
        pols.append(pol)
    vals = np.array(vals)
    mean = _erm_value(entropic_backward_induction(mdp, 0.0, H)[0][0], dist, 0.0)
    la = math.log(a)
    phi = vals + la / betas
    i = int(np.argmax(phi))
    lo = float(phi[i])
    # on [beta_j, beta_j+1]: ERM*_beta <= ERM*_beta_j (non-increasing in beta), log(a)/beta <= log(a)/beta_j+1
    cand = [mean + la / betas[0], float(np.max(vals[:-1] + la / betas[1:])), float(vals[-1])]
    return lo, max(cand), pols[i], float(betas[i])

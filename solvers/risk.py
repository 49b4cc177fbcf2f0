r"""Risk-sensitive objectives of the return: stock augmentation, entropic DP, nested risk DP.

Static objectives of the (finite-horizon, possibly discounted) return
:math:`G = \sum_{t<H}\gamma^t r_t` from a start state (or from ``mdp.mu0``), optimised over all
history-dependent policies:

=========================  ==========================================================  ===========
objective                  how                                                         exact when
=========================  ==========================================================  ===========
``E u(c0 + G)``            backward induction on the stock-augmented MDP               lattice [1]
``CVaR_alpha(G)``          + Rockafellar-Uryasev outer max over the stock ``c0 = -b``  lattice [1]
``VaR_alpha(G)``           threshold DP ``max P(G >= t)`` + search over ``t``          lattice [1]
``P(G >= t)``, band        indicator utilities (band optionally at every step)         lattice [1]
``ERM_beta(G)``            entropic recursion with :math:`\beta_t = \beta\gamma^t`      always
``EVaR_alpha(G)``          :math:`\sup_\beta` of the optimal ERM (grid + refinement)   lower bound
=========================  ==========================================================  ===========

[1] :math:`\gamma = 1` and rewards on a lattice :math:`h\mathbb{Z}`: the stock grid
:func:`mdpkit.stock.lattice_stocks` is then exact (see :mod:`mdpkit.stock` for the stock update
:math:`c_{t+1} = (c_t + r_t)/\gamma` and the explicit ``off_grid="interpolate"`` approximation).

Why CVaR needs the stock (Bauerle & Ott 2011, Thm 3.1; Rockafellar & Uryasev 2000, Thm 1):
:math:`\max_\pi \mathrm{CVaR}_\alpha(G^\pi) = \max_b \{ b - \frac1\alpha \max_\pi
\mathbb{E}[-(b - G^\pi)^+] \}` and, for a fixed ``b``, the inner problem is an expected utility of
:math:`c_0 + G` with :math:`c_0 = -b`, :math:`u(x) = \min(x, 0)`, solved exactly on the augmented
MDP.  For one policy the Rockafellar-Uryasev function of ``b`` is concave and piecewise linear
with kinks at the atoms of :math:`G^\pi`, which lie on the reward lattice: searching ``b`` over the
lattice points of :math:`[G_{\min}, G_{\max}]` is exact.

Nested (iterated) risk DP (:func:`nested_risk_dp`):
:math:`V_t(s) = \max_a \rho_{s' \sim P(\cdot|s,a)}[r(s,a,s') + \gamma V_{t+1}(s')]` with
:math:`\rho` the one-step CVaR or ERM (Ruszczynski 2010, Markov risk measures).  For ERM with
:math:`\beta_t = \beta\gamma^t` this equals the static ERM (the entropic risk is time consistent);
for CVaR it is a different, time-consistent objective.

:func:`cvar_decomposition` is the risk-level decomposition of Chow, Tamar, Mannor & Pavone (2015),
kept as the known-inexact baseline (Hau, Delage, Ghavamzadeh & Petrik 2023): it over-estimates the
optimal static CVaR on :func:`mdpkit.generators.cvar_counterexample`.

References
----------
.. [1] N. Bauerle, J. Ott, "Markov decision processes with average-value-at-risk criteria",
   Math. Meth. Oper. Res. 74:361-379, 2011 (Thm 3.1: the AVaR problem reduces to an MDP on the
   state space extended by the accumulated cost; theorem number from memory, not re-checked).
.. [2] R. T. Rockafellar, S. Uryasev, "Optimization of conditional value-at-risk", J. Risk 2(3), 2000, Thm 1.
.. [3] B. Avila Pires et al., "Optimizing Return Distributions with Distributional Dynamic
   Programming", JMLR 2025 (stock augmentation; homeostatic regulation as a band objective).
.. [4] A. Ahmadi-Javid, "Entropic value-at-risk: a new coherent risk measure", JOTA 155, 2012.
.. [5] A. Ruszczynski, "Risk-averse dynamic programming for Markov decision processes",
   Math. Program. 125:235-261, 2010.
.. [6] Y. Chow, A. Tamar, S. Mannor, M. Pavone, "Risk-sensitive and robust decision-making: a CVaR
   optimization approach", NeurIPS 2015.
.. [7] J. L. Hau, E. Delage, M. Ghavamzadeh, M. Petrik, "On dynamic programming decompositions of
   static risk measures in Markov decision processes", NeurIPS 2023.
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_int, check_memory, check_positive
from mdpkit.distributions import QUANTILE_LEVEL_ATOL, FiniteReturns, cvar, entropic_risk, evar, value_at_risk
from mdpkit.model import TabularMDP
from mdpkit.bounds import Bound, BoundKind
from mdpkit.bounds.distributional import truncated_policy_bound, truncation_bound
from mdpkit.results import SolveResult, ResultRecord
from mdpkit.stock import StockAugmentedMDP, lattice_stocks, reward_lattice_step, transition_entries, truncation_horizon

from ._common import build_result, check_mdp

__all__ = [
    "CVaRDecompositionResult",
    "RiskResult",
    "cvar_decomposition",
    "nested_risk_dp",
    "optimize_band",
    "optimize_cvar",
    "optimize_erm",
    "optimize_evar",
    "optimize_expected_utility",
    "optimize_mean",
    "optimize_threshold",
    "optimize_var",
    "parse_objective",
    "solve_objective",
]


@dataclass(frozen=True, eq=False, repr=False)
class RiskResult(SolveResult):
    r"""What a risk-objective solver returns (a :class:`mdpkit.SolveResult`).

    Static objectives (every ``optimize_*`` function and :func:`solve_objective`): ``v`` (float64
    scalar) is the solver's estimate of the optimal objective value
    :math:`\max_\pi \rho(G^\pi)` from the start (``state`` or ``mdp.mu0``), and ``v_error_bound``
    a certified bound on :math:`|v - \max_\pi\rho(G^\pi)|` for the *untruncated* problem: the
    pathwise truncation error :math:`\gamma^H\max|r|/(1-\gamma)` for objectives that are monotone
    and translation-equivariant (mean, VaR, CVaR, ERM, ess inf; 0 for a finite horizon) plus a
    rounding allowance, when the stock grid is exact (lattice, no interpolation, no outer grid);
    ``inf`` otherwise (interpolated stock grids, EVaR's outer search over :math:`\beta`, utilities
    that are not Lipschitz), because no theorem bounds those errors.  ``certificate`` bounds the
    suboptimality of the returned ``policy`` in the same objective (twice the truncation error when
    exact, ``inf`` when not certified).  The DP is backward induction: ``n_iter`` is the horizon,
    ``residuals`` is empty (shape (0,)), ``converged`` is True.

    Nested objectives (:func:`nested_risk_dp`): ``v`` is the nested value function, (H+1, S) for a
    finite horizon (exact) or (S,) for value iteration with ``residuals (n_iter,)`` the sup-norm
    steps and ``v_error_bound`` the a posteriori contraction bound.

    Attributes
    ----------
    objective : str
        E.g. ``"cvar(alpha=0.1)"``.
    policy : ndarray of int64
        ``(H, S, K)``: action at time ``t`` in state ``s`` with stock ``stocks[k]`` (stock
        objectives), or ``(H, S)`` (ERM/EVaR/mean/nested: Markov policies suffice), or ``(S,)``
        (stationary nested).
    stocks : ndarray of float64, shape (K,), or None
        The stock grid (:math:`c_{t+1} = (c_t + r_t)/\gamma`, see :mod:`mdpkit.stock`).
    initial_stock : float or None
        The chosen :math:`c_0` (for CVaR: :math:`c_0 = -b^*` with :math:`b^* = \mathrm{VaR}`).
    returns : FiniteReturns or None
        The law of :math:`G` under ``policy`` from the start (one row), computed by forward
        propagation (exact on lattices).
    policy_value : float
        The objective evaluated on ``returns`` with :mod:`mdpkit.distributions` (independent of
        the DP's value; the two agree when exact).
    dp_values : ndarray of float64 or None
        DP values: ``(H+1, S, K)`` for stock objectives (NaN where unreachable), ``(H+1, S)``
        else.
    horizon : int
    gamma : float
    state : int or None
        Start state (None: ``mdp.mu0``).
    exact : bool
        Whether ``v`` is exact up to rounding (no interpolation, no truncation, no outer grid).
    b_values, objective_by_b : ndarray of float64, shape (n_b,), or None
        CVaR: the candidate values of ``b`` and the Rockafellar-Uryasev objective at each.
    t_values, max_prob_ge_t : ndarray of float64, shape (n_t,), or None
        VaR: the lattice thresholds ``t`` and :math:`\max_\pi P(G^\pi \ge t)` at each.
    beta : float
        EVaR: the chosen :math:`\beta^*` (``nan`` elsewhere).
    grid_betas, grid_lower_bounds : ndarray of float64, shape (n_grid,), or None
        EVaR: the grid of :math:`\beta` and the lower bound on the optimum at each.
    value : float
        Property, ``float(v)`` for static objectives.
    """

    objective: str = ""
    stocks: np.ndarray | None = None
    initial_stock: float | None = None
    returns: FiniteReturns | None = None
    policy_value: float = float("nan")
    dp_values: np.ndarray | None = None
    horizon: int = 0
    gamma: float = float("nan")
    state: int | None = None
    exact: bool = False
    b_values: np.ndarray | None = None
    objective_by_b: np.ndarray | None = None
    t_values: np.ndarray | None = None
    max_prob_ge_t: np.ndarray | None = None
    beta: float = float("nan")
    grid_betas: np.ndarray | None = None
    grid_lower_bounds: np.ndarray | None = None

    @property
    def value(self) -> float:
        """The objective value ``v`` as a float (static objectives)."""
        return float(self.v)

    def action(self, t: int, s: int, stock: float | None = None) -> int:
        """Action of the returned policy at time ``t``, state ``s`` (and stock ``stock``)."""
        if self.policy.ndim == 2:
            return int(self.policy[t, s])
        if stock is None:
            raise InvalidArgumentError("this policy depends on the stock: pass stock=")
        k = int(np.argmin(np.abs(self.stocks - float(stock))))
        if abs(self.stocks[k] - float(stock)) > 1e-9 * max(1.0, abs(float(stock))):
            raise InvalidArgumentError(f"stock {stock!r} is not on the stock grid")
        return int(self.policy[t, s, k])

    @property
    def first_action(self) -> int:
        """Action at ``t = 0`` in the start state (requires ``state``) with the chosen initial stock."""
        if self.state is None:
            raise InvalidArgumentError("first_action needs a single start state")
        return self.action(0, self.state, self.initial_stock)


@dataclass(frozen=True, eq=False, repr=False)
class CVaRDecompositionResult(ResultRecord):
    r"""What :func:`cvar_decomposition` returns (the Chow et al. 2015 baseline; not certified).

    Attributes
    ----------
    value : float
        The decomposition's value :math:`h_0(s_0, \alpha)/\alpha` (can over-estimate the optimal
        static CVaR: Hau et al. 2023).
    action : int
        The decomposition's action at ``(t=0, state, alpha)``.
    levels : ndarray of float64, shape (L,)
        The risk-level grid.
    h : ndarray of float64, shape (H+1, S, L)
        :math:`h_t(s, \beta) = \beta V_t(s, \beta)` on the grid.
    policy : ndarray of int64, shape (H, S, L)
    alpha : float
    horizon, state : int
    method : str
    options : dict
    wall_time : float
    """

    value: float
    action: int
    levels: np.ndarray
    h: np.ndarray
    policy: np.ndarray
    alpha: float
    horizon: int
    state: int
    method: str
    options: dict
    wall_time: float


# ----------------------------------------------------------------------------- helpers
def _check_level(x, name, lo=0.0, hi=1.0, lo_open=False):
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(float(x)):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    x = float(x)
    if x > hi or x < lo or (lo_open and x == lo):
        br = "(" if lo_open else "["
        raise InvalidArgumentError(f"{name} must lie in {br}{lo}, {hi}], got {x!r}")
    return x


def _start(mdp: TabularMDP, state):
    if state is None:
        dist = np.asarray(mdp.mu0, float)
        return None, dist, np.flatnonzero(dist > 0)
    s = check_int(state, "state", minimum=0)
    if s >= mdp.S:
        raise InvalidArgumentError(f"state must be < S = {mdp.S}, got {state}")
    dist = np.zeros(mdp.S)
    dist[s] = 1.0
    return s, dist, np.array([s])


def _resolve_horizon(mdp: TabularMDP, horizon, tol):
    """(H, certified pathwise bound on |G - G_H|, source)."""
    tol = check_positive(tol, "tol")
    if horizon is not None:
        H = check_int(horizon, "horizon", minimum=0)
        # every DP here keeps at least the values and the policy over (H + 1, S)
        check_memory(24.0 * (H + 1) * mdp.S, f"a risk DP with horizon={H} and S={mdp.S}")
        return H, 0.0, "finite horizon H (no truncation)"
    if mdp.gamma >= 1.0:
        raise InvalidArgumentError("gamma = 1 needs a finite horizon: pass horizon=H")
    rmax = float(np.abs(transition_entries(mdp)[4]).max(initial=0.0))
    H = truncation_horizon(mdp.gamma, rmax, tol)
    check_memory(24.0 * (H + 1) * mdp.S, f"a risk DP truncated at horizon={H} (tol={tol:g}) with S={mdp.S}")
    b = truncation_bound(mdp.gamma, H, rmax).value
    return H, b, (f"discounted return truncated at H={H}: |G - G_H| <= gamma^H max|r|/(1-gamma) = {b:.3g} pathwise; "
                  "mean, VaR, CVaR, ERM, EVaR are monotone and translation-equivariant, hence 1-Lipschitz in that bound")


def _augmented(mdp, H, stocks, off_grid, initial):
    if stocks is None:
        stocks = lattice_stocks(mdp, H, initial)
    return StockAugmentedMDP(mdp, H, stocks, off_grid)


def _stock_dp(aug: StockAugmentedMDP, terminal: Callable, starts, init_idx, running: Callable | None = None):
    """Backward induction on the augmented MDP: V (H+1, S, K), policy (H, S, K).

    ``terminal(x)`` is applied to ``x = gamma^H c`` (= c0 + G); ``running(t, x)`` (optional) is a
    0/1 multiplier applied to ``V_t`` at ``x = gamma^t c`` (for band-at-every-step objectives).
    Raises when a reachable transition leaves the grid; NaN at unreachable nodes.
    """
    H, S, K = aug.horizon, aug.S, aug.K
    reach = aug.reachable(starts, init_idx)
    g = aug.mdp.gamma
    V = np.full((H + 1, S, K), np.nan)
    pol = np.zeros((H, S, K), dtype=np.int64)
    vH = np.broadcast_to(np.asarray(terminal(g**H * aug.stocks), dtype=float), (K,))
    V[H] = vH[None, :]
    if running is not None:
        V[H] *= running(H, g**H * aug.stocks)[None, :]
    for t in range(H - 1, -1, -1):
        q = aug.expectation(np.where(reach[t + 1], V[t + 1], np.nan))  # (S, A, K)
        qq = np.where(np.isnan(q), -np.inf, q)
        pol[t] = np.argmax(qq, axis=1)
        vt = np.take_along_axis(q, pol[t][:, None, :], axis=1)[:, 0, :]
        if running is not None:
            vt = vt * running(t, g**t * aug.stocks)[None, :]
        V[t] = np.where(reach[t], vt, np.nan)
    return V, pol


def _law_value(fn, law: FiniteReturns) -> float:
    return float(fn(law.x[0], law.p[0]))


_EPS = float(np.finfo(np.float64).eps)


def _finish(mdp, t0, *, objective, value, policy, law, policy_value, H, state, exact, certified, trunc, src, method,
            msg, options, scale=1.0, stocks=None, c0=None, dp_values=None, **fields):
    """Build the :class:`RiskResult` of a static objective (backward induction: n_iter = H, no residuals).

    ``certified``: the error of ``value`` is bounded by ``trunc`` (pathwise truncation error; 0 for
    a finite horizon) plus a rounding allowance of a few ulps per backward step of the size of the
    returns times ``scale`` (``1/alpha`` for CVaR); otherwise ``v_error_bound`` is ``inf``.
    """
    value = float(value)
    if certified:
        size = max(1.0, abs(value), float(np.max(np.abs(law.x[0]), initial=0.0)))
        v_err = float(trunc) + 16.0 * (H + 2) * _EPS * size * float(scale)
        tb = truncated_policy_bound(v_err)
        cert = Bound(value=tb.value, kind=BoundKind.DETERMINISTIC, citation=src,
                     assumptions=tb.assumptions + ("rounding allowance of a few ulps per backward step",),
                     statement="rho(G^pi*) - rho(G^pi) <= 2 (truncation bound + rounding allowance)")
    else:
        v_err = float("inf")
        cert = Bound(value=float("inf"), kind=BoundKind.DETERMINISTIC, citation=src, assumptions=(),
                     statement="not certified: no theorem bounds the error of this approximation")
    return build_result(
        mdp, cls=RiskResult, v=np.float64(value), v_error_bound=v_err, policy=policy, certificate=cert,
        converged=True, n_iter=int(H), residuals=np.zeros(0), method=method, options=options, t0=t0, message=msg,
        objective=objective, stocks=stocks, initial_stock=None if c0 is None else float(c0), returns=law,
        policy_value=float(policy_value), dp_values=dp_values, horizon=int(H), gamma=float(mdp.gamma), state=state,
        exact=bool(exact), **fields)


def _markov_law(mdp: TabularMDP, policy: np.ndarray, dist: np.ndarray) -> FiniteReturns:
    """Exact law of G_H under a Markov policy (H, S) from dist: enumerate (state, partial return) pairs."""
    es, ea, es2, ep, er = transition_entries(mdp)
    H = policy.shape[0]
    g = mdp.gamma
    cur = {(int(s), 0.0): float(dist[s]) for s in np.flatnonzero(dist > 0)}
    for t in range(H):
        nxt: dict = {}
        for (s, y), m in cur.items():
            sel = (es == s) & (ea == policy[t, s])
            for s2, p, r in zip(es2[sel], ep[sel], er[sel]):
                key = (int(s2), y + g**t * r)
                nxt[key] = nxt.get(key, 0.0) + m * p
        cur = nxt
    xs = np.array([y for (_, y) in cur])
    ps = np.array(list(cur.values()))
    return FiniteReturns((xs,), (ps / ps.sum(),))


# ----------------------------------------------------------------------------- stock objectives
def optimize_expected_utility(mdp: TabularMDP, utility: Callable, horizon: int | None = None, *, state: int | None = None,
                              initial_stock: float = 0.0, stocks=None, off_grid: str = "error",
                              tol: float = 1e-6, name: str = "utility") -> RiskResult:
    r"""Maximise :math:`\mathbb{E}\,u(c_0 + G)` over history-dependent policies (stock augmentation).

    Backward induction on the stock-augmented MDP (:class:`mdpkit.stock.StockAugmentedMDP`) with
    terminal reward :math:`u(\gamma^H c_H) = u(c_0 + G_H)`; an optimal policy is Markov in
    ``(t, s, c)`` (Bauerle & Ott 2011, Sec. 3; Avila Pires et al. 2025, Sec. 3).

    Parameters
    ----------
    mdp : TabularMDP
    utility : callable
        Vectorised ``u(x: ndarray) -> ndarray``, non-decreasing or not (any function works).
    horizon : int, optional
        ``H``; omitted for ``gamma < 1`` means the truncation with pathwise error ``tol``.
    state : int, optional
        Start state; default: ``mdp.mu0``.
    initial_stock : float, default 0
    stocks : array_like (K,), optional
        Stock grid; default :func:`mdpkit.stock.lattice_stocks` (``gamma = 1``, lattice rewards).
    off_grid : {"error", "interpolate"}

    Returns
    -------
    RiskResult
        ``policy (H, S, K)``, ``value`` = the DP's optimum; ``policy_value`` = the mean of ``u``
        over the forward-propagated law of the returned policy.

    Raises
    ------
    InvalidArgumentError
        Bad arguments, or a reachable stock off the grid (``off_grid="error"``).
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    aug = _augmented(mdp, H, stocks, off_grid, [initial_stock])
    k0 = aug.stock_index(initial_stock)
    V, pol = _stock_dp(aug, utility, starts, [k0])
    value = float(dist[starts] @ V[0, starts, k0])
    law = aug.return_law(pol, dist, aug.stocks[k0])
    pv = float(np.dot(law.p[0], np.asarray(utility(aug.stocks[k0] + law.x[0]), float)))
    ok = aug.exact and err == 0.0  # a general utility is not Lipschitz: truncation is not certified
    return _finish(mdp, t0, objective=f"E[{name}(c0 + G)]", value=value, policy=pol, law=law, policy_value=pv, H=H,
                   state=s0, exact=ok, certified=ok, trunc=0.0,
                   src=src + "; Bauerle & Ott 2011 Sec. 3 / Avila Pires et al. 2025 Sec. 3 (stock augmentation)",
                   method="stock_backward_induction", msg="exact backward induction on the stock-augmented MDP",
                   options=dict(horizon=H, initial_stock=float(initial_stock), off_grid=off_grid, K=aug.K, tol=tol),
                   stocks=aug.stocks, c0=aug.stocks[k0], dp_values=V)


def optimize_cvar(mdp: TabularMDP, alpha: float, horizon: int | None = None, *, state: int | None = None,
                  stocks=None, candidates=None, off_grid: str = "error", tol: float = 1e-6) -> RiskResult:
    r"""Maximise the static lower-tail :math:`\mathrm{CVaR}_\alpha(G)` over history-dependent policies.

    :math:`\max_\pi\mathrm{CVaR}_\alpha(G^\pi) = \max_b \{b + \frac1\alpha V_0(s_0, -b)\}` with
    :math:`V_0(s, c) = \max_\pi \mathbb{E}\min(c + G^\pi, 0)` from the stock-augmented MDP
    (Rockafellar & Uryasev 2000, Thm 1; Bauerle & Ott 2011, Thm 3.1, there for costs).  ``b`` runs
    over ``candidates`` (default: every lattice point of :math:`[H\min(r_{\min},0),
    H\max(r_{\max},0)]`, which contains every atom of every achievable return, hence exact); the
    smallest maximiser is kept.  ``alpha = 0`` is :math:`\mathrm{CVaR}_0 = \operatorname{ess\,inf}`,
    solved by the max-min DP (no stock needed).  Convention: :mod:`mdpkit.distributions`.

    Returns
    -------
    RiskResult
        ``initial_stock`` = :math:`-b^*`; ``policy (H, S, K)``; ``returns`` the exact law of the
        returned policy, ``policy_value`` its CVaR (equal to ``value`` when exact).

    Raises
    ------
    InvalidArgumentError
        ``alpha`` outside [0, 1]; see :func:`optimize_expected_utility`.
    """
    a = _check_level(alpha, "alpha")
    if a == 0.0:
        return _maximin(mdp, horizon, state, tol, "cvar(alpha=0)", lambda x, p: cvar(x, p, 0.0))
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    cands = _return_lattice(mdp, H) if candidates is None else np.asarray(candidates, float)
    c0s = -cands[::-1]
    aug = _augmented(mdp, H, stocks, off_grid, c0s)
    kk = np.array([aug.stock_index(c) for c in c0s])
    V, pol = _stock_dp(aug, lambda x: np.minimum(x, 0.0), starts, kk)
    W = dist[starts] @ V[0][np.ix_(starts, kk)]  # (n_c,)
    obj = -c0s + W / a  # objective at b = -c0
    order = np.argsort(-c0s, kind="stable")  # increasing b
    best = order[int(np.argmax(obj[order] >= obj.max() - 1e-12 * max(1.0, abs(obj.max()))))]
    c_star = float(c0s[best])
    law = aug.return_law(pol, dist, c_star)
    pv = _law_value(lambda x, p: cvar(x, p, a), law)
    certified = aug.exact and candidates is None
    exact = certified and err == 0.0
    src = src if aug.exact else src + "; stock grid interpolated (off_grid='interpolate'): no certified bound"
    return _finish(mdp, t0, objective=f"cvar(alpha={a:g})", value=obj[best], policy=pol, law=law, policy_value=pv,
                   H=H, state=s0, exact=exact, certified=certified, trunc=err, scale=1.0 / a,
                   src=src + "; Rockafellar & Uryasev 2000 Thm 1 + stock augmentation (Bauerle & Ott 2011 Thm 3.1)",
                   method="stock_cvar", msg=f"b* = VaR candidate {-c_star:g} over {len(c0s)} lattice values",
                   options=dict(alpha=a, horizon=H, n_candidates=len(c0s), off_grid=off_grid, K=aug.K, tol=tol,
                                candidates_given=candidates is not None),
                   stocks=aug.stocks, c0=c_star, dp_values=V, b_values=-c0s, objective_by_b=obj)


def _return_lattice(mdp, H):
    if mdp.gamma != 1.0:
        raise InvalidArgumentError(
            "the exact CVaR/VaR search over b needs gamma = 1 and lattice rewards; for gamma < 1 pass "
            "candidates= (values of b) and stocks= with off_grid='interpolate' (an approximation)")
    h = reward_lattice_step(mdp)
    r = transition_entries(mdp)[4]
    lo, hi = H * min(float(r.min()), 0.0), H * max(float(r.max()), 0.0)
    n = int(round((hi - lo) / h)) + 1
    # n candidates, and the stock DP over (H + 1, S, >= n) that evaluates them
    check_memory(8.0 * n + 17.0 * (H + 1) * mdp.S * n,
                 f"the exact CVaR/VaR search with horizon={H} ({n:,} return values of step {h:g}, S={mdp.S})")
    return lo + h * np.arange(n)


def _maximin(mdp, horizon, state, tol, name, fn):
    """ess inf objective: V_t(s) = max_a min_{s': P>0} r + gamma V_{t+1}(s')."""
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    es, ea, es2, ep, er = transition_entries(mdp)
    S, A = mdp.S, mdp.A
    V = np.zeros((H + 1, S))
    pol = np.zeros((H, S), dtype=np.int64)
    for t in range(H - 1, -1, -1):
        q = np.full(S * A, np.inf)
        np.minimum.at(q, es * A + ea, er + mdp.gamma * V[t + 1][es2])
        q = q.reshape(S, A)
        q[~mdp.action_mask] = -np.inf
        pol[t] = np.argmax(q, axis=1)
        V[t] = q.max(axis=1)
    value = float(V[0][starts].min())
    law = _markov_law(mdp, pol, dist)
    return _finish(mdp, t0, objective=name, value=value, policy=pol, law=law, policy_value=_law_value(fn, law), H=H,
                   state=s0, exact=err == 0.0, certified=True, trunc=err, src=src + "; max-min backward induction",
                   method="maximin_backward_induction", msg="ess inf of the return: max-min backward induction",
                   options=dict(horizon=H, tol=tol), dp_values=V)


def optimize_var(mdp: TabularMDP, alpha: float, horizon: int | None = None, *, state: int | None = None,
                 stocks=None, off_grid: str = "error", tol: float = 1e-6) -> RiskResult:
    r"""Maximise the lower-tail :math:`\mathrm{VaR}_\alpha(G) = \inf\{x: F(x) \ge \alpha\}`.

    On a lattice, :math:`\mathrm{VaR}_\alpha(G) \ge t \iff P(G \ge t) > 1 - \alpha` (up to
    :data:`mdpkit.distributions.QUANTILE_LEVEL_ATOL`, the module's convention), so the optimum is
    the largest lattice ``t`` with :math:`\max_\pi P(G^\pi \ge t) > 1 - \alpha + 10^{-12}`, and
    :math:`\max_\pi P(G^\pi \ge t) = V_0(s_0, -t)` for :math:`u(x) = 1[x \ge 0]` on the
    stock-augmented MDP (the VaR decomposition is exact: Hau et al. 2023, Sec. 5).
    ``alpha = 0`` is the ess inf (max-min DP).

    Returns
    -------
    RiskResult
        ``initial_stock = -t*``; ``policy_value`` = VaR of the returned policy's exact law.
    """
    a = _check_level(alpha, "alpha")
    if a == 0.0:
        return _maximin(mdp, horizon, state, tol, "var(alpha=0)", lambda x, p: value_at_risk(x, p, 0.0))
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    ts = _return_lattice(mdp, H)
    c0s = -ts
    aug = _augmented(mdp, H, stocks, off_grid, c0s)
    kk = np.array([aug.stock_index(c) for c in c0s])
    V, pol = _stock_dp(aug, lambda x: (x >= 0).astype(float), starts, kk)
    W = dist[starts] @ V[0][np.ix_(starts, kk)]
    ok = W > 1.0 - a + QUANTILE_LEVEL_ATOL
    i = int(np.flatnonzero(ok).max())
    law = aug.return_law(pol, dist, c0s[i])
    pv = _law_value(lambda x, p: value_at_risk(x, p, a), law)
    return _finish(mdp, t0, objective=f"var(alpha={a:g})", value=ts[i], policy=pol, law=law, policy_value=pv, H=H,
                   state=s0, exact=aug.exact and err == 0.0, certified=aug.exact, trunc=err,
                   src=src + "; VaR_alpha >= t iff P(G >= t) > 1 - alpha on a lattice; threshold DP on the "
                             "stock-augmented MDP",
                   method="stock_var",
                   msg=f"largest t with max_pi P(G >= t) > 1 - alpha: t* = {ts[i]:g} (P = {W[i]:.6g})",
                   options=dict(alpha=a, horizon=H, K=aug.K, off_grid=off_grid, tol=tol),
                   stocks=aug.stocks, c0=c0s[i], dp_values=V, t_values=ts, max_prob_ge_t=W)


def optimize_threshold(mdp: TabularMDP, threshold: float, horizon: int | None = None, *, state: int | None = None,
                       stocks=None, off_grid: str = "error", tol: float = 1e-6) -> RiskResult:
    r"""Maximise :math:`P(G \ge t)`: :math:`u(x) = 1[x \ge 0]` with initial stock :math:`c_0 = -t`."""
    t = _check_level(threshold, "threshold", -np.inf, np.inf)
    res = optimize_expected_utility(mdp, lambda x: (x >= 0).astype(float), horizon, state=state, initial_stock=-t,
                                    stocks=stocks, off_grid=off_grid, tol=tol, name="1[.>=0]")
    return _retitle(res, f"P(G >= {t:g})", float(np.sum(res.returns.p[0][res.returns.x[0] >= t])))


def _retitle(res, name, pv):
    return replace(res, objective=name, policy_value=float(pv))


def optimize_band(mdp: TabularMDP, low: float, high: float, horizon: int, *, state: int | None = None,
                  at_every_step: bool = False, stocks=None, off_grid: str = "error") -> RiskResult:
    r"""Homeostatic regulation: maximise the probability that the return stays in ``[low, high]``.

    ``at_every_step=False``: :math:`\max_\pi P(\text{low} \le G_H \le \text{high})`.
    ``at_every_step=True``: :math:`\max_\pi P(\text{low} \le \sum_{k<t}\gamma^k r_k \le \text{high}
    \ \forall t = 1..H)` (the partial returns :math:`\gamma^t c_t - c_0` stay in the band; the
    band objective of Avila Pires et al. 2025, Sec. 5, in this documented form), solved by backward
    induction with the indicator applied at every step.  Initial stock 0.

    Returns
    -------
    RiskResult
        ``policy_value`` is the band probability of the returned policy's final return (for
        ``at_every_step`` it is an upper bound on the every-step probability, see ``message``).
    """
    lo = _check_level(low, "low", -np.inf, np.inf)
    hi = _check_level(high, "high", -np.inf, np.inf)
    if hi < lo:
        raise InvalidArgumentError(f"need low <= high, got {low!r} > {high!r}")
    ind = lambda x: ((x >= lo) & (x <= hi)).astype(float)  # noqa: E731
    if not at_every_step:
        res = optimize_expected_utility(mdp, ind, horizon, state=state, stocks=stocks, off_grid=off_grid, name="band")
        x, p = res.returns.x[0], res.returns.p[0]
        return _retitle(res, f"P({lo:g} <= G <= {hi:g})", float(np.sum(p[(x >= lo) & (x <= hi)])))
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    H = check_int(horizon, "horizon", minimum=0)
    s0, dist, starts = _start(mdp, state)
    aug = _augmented(mdp, H, stocks, off_grid, [0.0])
    k0 = aug.stock_index(0.0)
    V, pol = _stock_dp(aug, ind, starts, [k0], running=lambda t, x: ind(x) if t > 0 else np.ones_like(x))
    value = float(dist[starts] @ V[0, starts, k0])
    law = aug.return_law(pol, dist, 0.0)
    x, p = law.x[0], law.p[0]
    return _finish(mdp, t0, objective=f"P({lo:g} <= partial returns <= {hi:g} for t=1..H)", value=value, policy=pol,
                   law=law, policy_value=float(np.sum(p[(x >= lo) & (x <= hi)])), H=H, state=s0, exact=aug.exact,
                   certified=aug.exact, trunc=0.0,
                   src="backward induction with the band indicator at every step (stock augmentation)",
                   method="stock_band",
                   msg="policy_value is P(final return in band), an upper bound on the every-step value",
                   options=dict(horizon=H, at_every_step=True, off_grid=off_grid), stocks=aug.stocks, c0=0.0,
                   dp_values=V)


# ----------------------------------------------------------------------------- entropic
def _erm_dp(mdp, beta, H):
    """U_t(s) = max_a ERM_{beta gamma^t}(r + gamma U_{t+1}(s')) (exact static ERM), policy (H, S)."""
    es, ea, es2, ep, er = transition_entries(mdp)
    S, A, g = mdp.S, mdp.A, mdp.gamma
    U = np.zeros((H + 1, S))
    pol = np.zeros((H, S), dtype=np.int64)
    for t in range(H - 1, -1, -1):
        bt = beta * g**t
        z = er + g * U[t + 1][es2]
        if bt == 0.0:
            q = np.zeros(S * A)
            np.add.at(q, es * A + ea, ep * z)
        else:
            y = -bt * z
            m = np.full(S * A, -np.inf)
            np.maximum.at(m, es * A + ea, y)
            acc = np.zeros(S * A)
            np.add.at(acc, es * A + ea, ep * np.exp(y - m[es * A + ea]))
            with np.errstate(divide="ignore"):
                q = -(m + np.log(acc)) / bt
        q = q.reshape(S, A)
        q[~mdp.action_mask] = -np.inf
        pol[t] = np.argmax(q, axis=1)
        U[t] = q.max(axis=1)
    return U, pol


def optimize_erm(mdp: TabularMDP, beta: float, horizon: int | None = None, *, state: int | None = None,
                 tol: float = 1e-6) -> RiskResult:
    r"""Maximise the static entropic risk :math:`\mathrm{ERM}_\beta(G) = -\frac1\beta\log\mathbb{E}e^{-\beta G}`.

    Exact backward induction :math:`U_t(s) = \max_a \mathrm{ERM}_{\beta_t}[r + \gamma U_{t+1}(s')]`
    with :math:`\beta_t = \beta\gamma^t`, since :math:`\mathrm{ERM}_\beta(r + \gamma G') = r +
    \gamma\,\mathrm{ERM}_{\beta\gamma}(G')` and the entropic risk of a mixture is monotone in the
    components' entropic risks (Howard & Matheson 1972, risk-sensitive MDPs; the exponential-utility
    DP).  Markov policies ``(H, S)`` are optimal.  ``beta < 0`` is risk-seeking, ``beta = 0`` the mean.
    """
    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    b = _check_level(beta, "beta", -np.inf, np.inf)
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    U, pol = _erm_dp(mdp, b, H)
    value = float(entropic_risk(U[0][starts], dist[starts], b))
    law = _markov_law(mdp, pol, dist)
    pv = _law_value(lambda x, p: entropic_risk(x, p, b), law)
    return _finish(mdp, t0, objective=f"erm(beta={b:g})", value=value, policy=pol, law=law, policy_value=pv, H=H,
                   state=s0, exact=err == 0.0, certified=True, trunc=err,
                   src=src + "; exact entropic recursion with beta_t = beta gamma^t (Howard & Matheson 1972)",
                   method="erm_backward_induction", msg="exact entropic backward induction",
                   options=dict(beta=b, horizon=H, tol=tol), dp_values=U)


def optimize_mean(mdp: TabularMDP, horizon: int | None = None, *, state: int | None = None, tol: float = 1e-6) -> RiskResult:
    """Maximise the expected return (``optimize_erm`` with ``beta = 0``: classic backward induction)."""
    res = optimize_erm(mdp, 0.0, horizon, state=state, tol=tol)
    return _retitle(res, "mean", float(np.dot(res.returns.x[0], res.returns.p[0])))


def optimize_evar(mdp: TabularMDP, alpha: float, horizon: int | None = None, *, state: int | None = None,
                  n_grid: int = 61, tol: float = 1e-6) -> RiskResult:
    r"""Maximise the lower-tail :math:`\mathrm{EVaR}_\alpha(G)` over policies.

    :math:`\max_\pi \mathrm{EVaR}_\alpha(G^\pi) = \sup_{\beta>0}\{\max_\pi\mathrm{ERM}_\beta(G^\pi)
    + \log(\alpha)/\beta\}` (swap the two suprema; Ahmadi-Javid 2012 for the dual form; Hau et al.
    2023 use the same reduction to ERM).  The inner maximum is exact (:func:`optimize_erm`); the
    outer supremum over :math:`\beta` is searched on ``n_grid`` log-spaced values scaled to the
    return range, refined by a bounded scalar search around the best.  Every :math:`\beta` gives a
    lower bound attained by the ERM-optimal policy :math:`\pi_\beta`; the returned ``value`` is the
    exact EVaR of the returned policy (``policy_value``), a certified **lower bound** on the
    optimum (``exact=False``; the gap is not bounded).
    """
    import scipy.optimize as so

    t0 = time.perf_counter()
    a = _check_level(alpha, "alpha")
    mdp = check_mdp(mdp)
    if a in (0.0, 1.0):
        res = optimize_cvar(mdp, a, horizon, state=state, tol=tol) if a == 0.0 else optimize_mean(mdp, horizon, state=state, tol=tol)
        return _retitle(res, f"evar(alpha={a:g})", _law_value(lambda x, p: evar(x, p, a), res.returns))
    H, err, src = _resolve_horizon(mdp, horizon, tol)
    s0, dist, starts = _start(mdp, state)
    r = transition_entries(mdp)[4]
    span = max(float(np.ptp(r)) * max(H, 1), 1e-12)

    def lower(beta):
        U, _ = _erm_dp(mdp, beta, H)
        return float(entropic_risk(U[0][starts], dist[starts], beta)) + math.log(a) / beta

    betas = np.logspace(-3, 3, check_int(n_grid, "n_grid", minimum=3)) / span
    vals = np.array([lower(b) for b in betas])
    i = int(np.argmax(vals))
    lo, hi = np.log(betas[max(i - 1, 0)]), np.log(betas[min(i + 1, len(betas) - 1)])
    rr = so.minimize_scalar(lambda lb: -lower(math.exp(lb)), bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    b_star = math.exp(rr.x) if -rr.fun > vals[i] else float(betas[i])
    _, pol = _erm_dp(mdp, b_star, H)
    law = _markov_law(mdp, pol, dist)
    pv = _law_value(lambda x, p: evar(x, p, a), law)
    return _finish(mdp, t0, objective=f"evar(alpha={a:g})", value=pv, policy=pol, law=law, policy_value=pv, H=H,
                   state=s0, exact=False, certified=False, trunc=err,
                   src=src + "; EVaR = sup_beta [max_pi ERM_beta + log(alpha)/beta] (Ahmadi-Javid 2012 dual), "
                   "outer sup on a grid: value is the exact EVaR of the returned policy, a lower bound on the optimum",
                   method="evar_via_erm", msg=f"beta* = {b_star:.6g}; v is a lower bound on the optimum (gap not bounded)",
                   options=dict(alpha=a, horizon=H, n_grid=n_grid, tol=tol), beta=float(b_star), grid_betas=betas,
                   grid_lower_bounds=vals)


# ----------------------------------------------------------------------------- nested risk
def nested_risk_dp(mdp: TabularMDP, risk: str, level: float, horizon: int | None = None, *,
                   epsilon: float = 1e-8, max_iter: int = 100_000) -> RiskResult:
    r"""Nested (iterated) risk DP: :math:`V(s) = \max_a \rho_{s'\sim P(\cdot|s,a)}[r(s,a,s') + \gamma V(s')]`.

    ``risk="cvar"``: :math:`\rho` is the one-step lower-tail :math:`\mathrm{CVaR}_{\text{level}}`
    of the next-state values, computed with :func:`mdpkit.uncertainty.cvar_inner` (its dual set
    :math:`\{p \le q/\alpha\}`).  ``risk="erm"``: :math:`\rho = \mathrm{ERM}_{\text{level}}`; with a
    finite horizon the level is :math:`\beta\gamma^t` at time ``t`` and the value equals the static
    ERM of the return (see :func:`optimize_erm`); with ``horizon=None`` (``gamma < 1``) the level
    is kept fixed (the stationary nested ERM objective of Ruszczynski 2010).

    Finite horizon: exact backward induction, ``v (H+1, S)``, ``policy (H, S)``.  Infinite horizon:
    value iteration; the nested operator is a monotone :math:`\gamma`-contraction (translation
    equivariance of :math:`\rho`; Ruszczynski 2010, Sec. 4), so stopping when
    :math:`\|V_{k+1}-V_k\|_\infty \le \varepsilon(1-\gamma)/(2\gamma)` makes the greedy policy
    :math:`\varepsilon`-optimal for the nested objective (the Puterman 1994 Thm 6.3.1 argument,
    which uses only these two properties).

    Returns
    -------
    RiskResult
        Finite horizon: ``v`` (H+1, S) float64 the exact nested values (``v_error_bound = 0``),
        ``policy`` (H, S) int64, ``n_iter = H``, empty ``residuals``.  Infinite horizon: ``v`` (S,)
        the last iterate :math:`v_k = \mathcal{T} v_{k-1}` with the certified
        ``v_error_bound`` :math:`\frac{\gamma}{1-\gamma}\|v_k - v_{k-1}\|_\infty`, ``policy``
        (S,) int64 greedy for :math:`v_k`, ``residuals (n_iter,)`` the sup-norm steps,
        ``certificate`` :math:`\frac{2\gamma}{1-\gamma}\|v_k - v_{k-1}\|_\infty` on its
        suboptimality, ``v_policy`` its nested value (policy operator iterated to a relative step
        of 1e-14).

    Raises
    ------
    InvalidArgumentError
        Unknown ``risk``, level out of range (CVaR: (0, 1]; ERM: finite), ``gamma = 1`` without a horizon.

    Warns
    -----
    ConvergenceWarning
        ``max_iter`` reached before the stopping rule (the bounds still hold).
    """
    from mdpkit.uncertainty import cvar_inner

    t0 = time.perf_counter()
    mdp = check_mdp(mdp)
    if risk not in ("cvar", "erm"):
        raise InvalidArgumentError(f"risk must be 'cvar' or 'erm', got {risk!r}")
    lv = _check_level(level, "level", 0.0, 1.0, lo_open=True) if risk == "cvar" else _check_level(level, "level", -np.inf, np.inf)
    S, A, g = mdp.S, mdp.A, mdp.gamma
    P = mdp.P.toarray().reshape(S, A, S) if mdp.is_sparse else np.asarray(mdp.P)
    if mdp.R_sas is not None:
        Rs = mdp.R_sas.toarray().reshape(S, A, S) if hasattr(mdp.R_sas, "toarray") else np.asarray(mdp.R_sas)
    else:
        Rs = np.broadcast_to(mdp.R[:, :, None], (S, A, S))

    def backup(v, lev):
        q = np.full((S, A), -np.inf)
        for s in range(S):
            for a_ in range(A):
                if not mdp.action_mask[s, a_]:
                    continue
                z = Rs[s, a_] + g * v
                if risk == "cvar":
                    q[s, a_] = cvar_inner(P[s, a_], z, lv)[1]
                else:
                    sup = P[s, a_] > 0
                    q[s, a_] = entropic_risk(z[sup], P[s, a_][sup], lev)
        return q

    name = f"nested {risk}(level={lv:g})"
    src = ("nested risk operator: monotone and translation-equivariant, a gamma-contraction "
           "(Ruszczynski 2010, Sec. 4)")
    if horizon is not None:
        H = check_int(horizon, "horizon", minimum=0)
        check_memory(16.0 * (H + 1) * S, f"nested_risk_dp with horizon={H} and S={S}")
        v = np.zeros((H + 1, S))
        pol = np.zeros((H, S), dtype=np.int64)
        for t in range(H - 1, -1, -1):
            q = backup(v[t + 1], lv * g**t if risk == "erm" else lv)
            pol[t] = np.argmax(q, axis=1)
            v[t] = q.max(axis=1)
        exact = Bound(value=0.0, kind=BoundKind.DETERMINISTIC, citation="backward induction is exact for the nested "
                      "objective (Ruszczynski 2010, Thm 2)", assumptions=("finite horizon",),
                      statement="the returned Markov policy attains the nested optimum")
        return build_result(mdp, cls=RiskResult, v=v, v_error_bound=0.0, policy=pol, certificate=exact, converged=True,
                            n_iter=H, residuals=np.zeros(0), method=f"nested_{risk}",
                            options=dict(level=lv, horizon=H), t0=t0,
                            message=f"exact nested {risk} backward induction over H={H}", v_policy=v[0].copy(),
                            objective=name, dp_values=v, horizon=H, gamma=float(g), exact=True)
    if g >= 1.0:
        raise InvalidArgumentError("nested_risk_dp with horizon=None needs gamma < 1")
    eps = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    thr = eps * (1 - g) / (2 * g) if g > 0 else np.inf
    v = np.zeros(S)
    res = []
    for k in range(1, max_iter + 1):
        q = backup(v, lv)
        vn = q.max(axis=1)
        d = float(np.max(np.abs(vn - v)))
        res.append(d)
        v = vn
        if d <= thr:
            break
    conv = res[-1] <= thr
    pol = np.argmax(backup(v, lv), axis=1).astype(np.int64)
    # v = T v_{k-1}: ||v - V|| <= gamma/(1-gamma) ||v - v_{k-1}|| (contraction, Puterman 1994 Thm 6.3.1 proof)
    v_err = g / (1 - g) * res[-1] if g > 0 else 0.0
    cert = Bound(value=2 * g * res[-1] / (1 - g) if g > 0 else 0.0, kind=BoundKind.DETERMINISTIC,
                 citation=src + "; Puterman 1994 Thm 6.3.1 argument (uses only monotonicity and translation equivariance)",
                 assumptions=("gamma < 1", "pi greedy for the last iterate v_k"),
                 statement="||V* - V^pi||_inf <= 2 gamma ||v_k - v_{k-1}||_inf / (1 - gamma)")
    # v_policy: the nested value of the greedy policy, by iterating its (contracting) policy operator
    idx = np.arange(S)

    def pol_backup(u):
        return backup(u, lv)[idx, pol]

    vp = v.copy()
    for _ in range(max_iter):
        vq = pol_backup(vp)
        step = float(np.max(np.abs(vq - vp)))
        vp = vq
        if step <= 1e-14 * max(1.0, float(np.max(np.abs(vp)))):
            break
    return build_result(mdp, cls=RiskResult, v=v, v_error_bound=v_err, policy=pol, certificate=cert, converged=conv,
                        n_iter=len(res), residuals=np.array(res), method=f"nested_{risk}",
                        options=dict(level=lv, epsilon=eps, max_iter=max_iter), t0=t0,
                        message=f"nested {risk} value iteration, {len(res)} iterations; |v - V| <= {v_err:.3g}",
                        v_policy=vp, objective=name, horizon=0, gamma=float(g), exact=False)


# ----------------------------------------------------------------------------- decomposition (baseline)
def cvar_decomposition(mdp: TabularMDP, alpha: float, horizon: int, *, state: int, n_levels: int = 8,
                       max_successors: int = 6) -> CVaRDecompositionResult:
    r"""The risk-level decomposition of CVaR (Chow et al. 2015), known to over-estimate (Hau et al. 2023).

    With :math:`h_t(s, \beta) = \beta V_t(s, \beta)` on the level grid
    :math:`\{0, 1/N, \dots, 1\} \cup \{\alpha\}` (``N = n_levels``), linearly interpolated between
    grid points (Chow et al.'s interpolation of :math:`\beta V`), :math:`h_H = 0` and

    .. math:: h_t(s,\beta) = \max_a \min_{\beta' \in [0,1]^{S'},\ \sum_{s'} P(s'|s,a)\beta'_{s'} = \beta}
       \sum_{s'} P(s'|s,a)\,[\beta'_{s'} r(s,a,s') + h_{t+1}(s', \beta'_{s'})],

    the substitution :math:`\beta' = \beta\xi` of the recursion
    :math:`V_t(s,\beta) = \max_a \min_{\xi \le 1/\beta, E\xi = 1} E[\xi(r + V_{t+1}(s', \beta\xi))]`.
    The inner problem is separable and piecewise linear, so a minimiser has at most one
    :math:`\beta'_{s'}` off the grid (a vertex of a box cut by one hyperplane): it is solved exactly
    by enumerating which successor is free and grid values for the others (cost
    ``n (N+2)^(n-1)`` for ``n`` successors, at most ``max_successors``).  The decomposition value is
    :math:`V_0(s_0, \alpha) = h_0(s_0,\alpha)/\alpha`.  With :math:`h_{t+1}` known exactly, the
    recursion is exact for evaluating a fixed policy that ignores the risk level; here
    :math:`h_{t+1}` is interpolated linearly between grid levels, so even a one-action model can
    come out slightly high (0.0625 was seen on a random 3-state model, horizon 3, the default
    grid).  With the max over actions it can exceed the optimal static CVaR further: weak duality :math:`\max_\pi\min_\xi \le \min_\xi\max_\pi` (Hau et al. 2023, Sec. 3).

    Returns
    -------
    CVaRDecompositionResult
        ``value`` (float), ``action`` (int, the decomposition's choice at ``(0, state, alpha)``),
        ``levels`` (L,) float64, ``h`` (H+1, S, L) float64, ``policy`` (H, S, L) int64.  No
        certificate: the decomposition is a known-inexact baseline.

    Raises
    ------
    InvalidArgumentError
        ``alpha`` outside (0, 1], bad ``horizon``, ``state`` or ``n_levels``, or a state-action
        pair with more than ``max_successors`` successors.
    """
    t0 = time.perf_counter()
    a = _check_level(alpha, "alpha", 0.0, 1.0, lo_open=True)
    mdp = check_mdp(mdp)
    H = check_int(horizon, "horizon", minimum=0)
    s0 = check_int(state, "state", minimum=0)
    N = check_int(n_levels, "n_levels", minimum=1)
    L = np.unique(np.concatenate([np.arange(N + 1) / N, [a]]))
    es, ea, es2, ep, er = transition_entries(mdp)
    S, A = mdp.S, mdp.A
    h = np.zeros((H + 1, S, L.shape[0]))
    pol = np.zeros((H, S, L.shape[0]), dtype=np.int64)
    for t in range(H - 1, -1, -1):
        for s in range(S):
            for j, beta in enumerate(L):
                best, arg = -np.inf, 0
                for a_ in range(A):
                    if not mdp.action_mask[s, a_]:
                        continue
                    sel = (es == s) & (ea == a_)
                    val = _decomp_inner(ep[sel], er[sel], [h[t + 1, s2] for s2 in es2[sel]], L, beta, max_successors)
                    if val > best + 1e-12:
                        best, arg = val, a_
                h[t, s, j], pol[t, s, j] = best, arg
    ja = int(np.flatnonzero(L == a)[0])
    for arr in (L, h, pol):
        arr.flags.writeable = False
    return CVaRDecompositionResult(value=float(h[0, s0, ja] / a), action=int(pol[0, s0, ja]), levels=L, h=h, policy=pol,
                                   alpha=a, horizon=H, state=s0, method="cvar_decomposition",
                                   options=dict(n_levels=N, max_successors=int(max_successors)),
                                   wall_time=time.perf_counter() - t0)


def _decomp_inner(p, r, hs, L, beta, max_n):
    n = len(p)
    if n > max_n:
        raise InvalidArgumentError(f"cvar_decomposition: {n} successors > max_successors={max_n}")

    def g(i, b):
        return b * r[i] + float(np.interp(b, L, hs[i]))

    best = np.inf
    if n == 1:
        return g(0, beta) if beta <= 1 + 1e-12 else np.inf
    for free in range(n):
        others = [i for i in range(n) if i != free]
        for combo in itertools.product(L, repeat=n - 1):
            rest = beta - sum(p[i] * c for i, c in zip(others, combo))
            bf = rest / p[free]
            if bf < -1e-12 or bf > 1 + 1e-12:
                continue
            bf = min(max(bf, 0.0), 1.0)
            val = p[free] * g(free, bf) + sum(p[i] * g(i, c) for i, c in zip(others, combo))
            best = min(best, val)
    return best


# ----------------------------------------------------------------------------- CLI entry
_OBJECTIVES = ("mean", "cvar", "var", "evar", "erm", "threshold", "band", "utility")


def parse_objective(spec: str) -> tuple[str, tuple]:
    """Parse ``"cvar:0.1"``, ``"var:0.05"``, ``"evar:0.1"``, ``"erm:0.5"``, ``"threshold:3"``,
    ``"band:-1:4"``, ``"utility:exp:0.5"`` (``-exp(-0.5 x)``), ``"utility:power:0.5"`` (x >= 0),
    ``"mean"``.  Returns ``(kind, params)``; raises :class:`InvalidArgumentError` otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError("objective must be a string like 'cvar:0.1'")
    parts = [x.strip() for x in spec.strip().split(":")]
    kind = parts[0].lower()
    if kind not in _OBJECTIVES:
        raise InvalidArgumentError(f"unknown objective {parts[0]!r}; choose one of {', '.join(_OBJECTIVES)}")
    need = {"mean": 0, "cvar": 1, "var": 1, "evar": 1, "erm": 1, "threshold": 1, "band": 2, "utility": 2}[kind]
    if len(parts) - 1 != need:
        raise InvalidArgumentError(f"objective {kind} takes {need} parameter(s) separated by ':', got {spec!r}")
    if kind == "utility":
        if parts[1] not in ("exp", "power"):
            raise InvalidArgumentError(f"utility must be exp:<a> or power:<p>, got {spec!r}")
        head = (parts[1],)
        parts = parts[1:]
    else:
        head = ()
    try:
        vals = tuple(float(x) for x in parts[1:])
    except ValueError:
        raise InvalidArgumentError(f"objective parameters must be numbers, got {spec!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise InvalidArgumentError(f"objective parameters must be finite numbers (no nan or inf), got {spec!r}")
    return kind, head + vals


def solve_objective(mdp: TabularMDP, spec: str, horizon: int | None = None, *, state: int | None = None,
                    n_stocks: int | None = None, tol: float | None = None):
    r"""Dispatch an objective spec (:func:`parse_objective`) to its solver.

    ``gamma = 1`` (a horizon is then required): the exact stock-augmented DP on the reward lattice.
    ``gamma < 1`` (with or without a horizon): the certified bracket of
    :func:`mdpkit.solvers.risk_bracket.optimize_discounted_risk` (a
    :class:`~mdpkit.solvers.risk_bracket.RiskBracketResult` whose ``[v_lower, v_upper]`` contains
    the optimum), with ``n_stocks`` grid points (default 4097) and truncation budget ``tol``
    (default: 1e-3 of the return range); ``band`` is not monotone in the return and has no
    bracket, so it is refused for ``gamma < 1``.
    """
    kind, par = parse_objective(spec)
    mdp = check_mdp(mdp)
    if mdp.gamma < 1.0:
        from .risk_bracket import optimize_discounted_risk

        if kind == "band":
            raise InvalidArgumentError(
                "the band objective P(low <= G <= high) is not monotone in the return, so no certified bracket "
                "exists for gamma < 1; use gamma = 1 with a horizon (exact on reward lattices)")
        return optimize_discounted_risk(mdp, kind, par, horizon=horizon, state=state, tol=tol,
                                        n_stocks=4097 if n_stocks is None else n_stocks)
    tol = 1e-6 if tol is None else tol
    n_stocks = 1001 if n_stocks is None else n_stocks
    # the objective kinds are keys of the method registry (mdpkit list solvers); evar and utility
    # are not registered (no certified error on v), so they are called directly
    from ._registry import get_solver

    if kind == "mean":
        return get_solver("mean").function(mdp, horizon, state=state, tol=tol)
    if kind == "erm":
        return get_solver("erm").function(mdp, par[0], horizon, state=state, tol=tol)
    if kind == "evar":
        return optimize_evar(mdp, par[0], horizon, state=state, tol=tol)
    kw = dict(state=state)
    if kind == "cvar":
        return get_solver("cvar").function(mdp, par[0], horizon, **kw)
    if kind == "var":
        return get_solver("var").function(mdp, par[0], horizon, **kw)
    if kind == "threshold":
        return get_solver("threshold").function(mdp, par[0], horizon, **kw)
    if kind == "band":
        return get_solver("band").function(mdp, par[0], par[1], horizon, **kw)
    # utility
    if par[0] == "exp":
        c = par[1]
        return optimize_expected_utility(mdp, lambda x: -np.exp(-c * x), horizon, name=f"-exp(-{c:g} x)", **kw)
    pw = par[1]
    return optimize_expected_utility(mdp, lambda x: np.where(x >= 0, np.abs(x) ** pw, -np.inf), horizon,
                                     name=f"x^{pw:g}", **kw)

r"""Zero-sum Markov games: matrix games by LP, Shapley value iteration, minimax-Q, minimax fitted
Q-iteration, exact exploitability; and a coarse-correlated-equilibrium LP for normal-form stages.

General-sum Markov games are out of reach on purpose: computing a stationary Nash (or even a
stationary coarse correlated) equilibrium of a general-sum discounted Markov game is PPAD-hard
(Daskalakis, Golowich & Zhang 2023, "The complexity of Markov equilibrium in stochastic games";
Foster, Golowich & Kakade 2023, "Hardness of independent learning and sparse equilibrium
computation in Markov games"), so mdpkit does not approximate them silently.  Only the one-shot
normal-form CCE LP (:func:`cce_lp`) is provided.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError, InvalidPolicyError
from mdpkit._validation import check_int
from mdpkit.games import ZeroSumMarkovGame
from mdpkit.model import TabularMDP
from mdpkit.results import ResultRecord

from ._common import check_common, warn_not_converged

__all__ = [
    "CCESolution",
    "GameResult",
    "MatrixGameSolution",
    "cce_lp",
    "exploitability",
    "game_policy_values",
    "linear_minimax_fqi",
    "minimax_fitted_q_iteration",
    "minimax_q",
    "shapley_operator",
    "shapley_value_iteration",
    "solve_matrix_game",
]


class MatrixGameSolution(NamedTuple):
    r"""``value`` of :math:`\max_x\min_y x^\top M y`; optimal mixed strategies ``x (A1,)`` and
    ``y (A2,)``; ``duality_gap`` the exact exploitability :math:`\max_a(My)_a-\min_b(x^\top M)_b\ge0`
    of the pair (0 at a saddle point, up to the LP tolerance)."""

    value: float
    x: np.ndarray
    y: np.ndarray
    duality_gap: float


def solve_matrix_game(M) -> MatrixGameSolution:
    r"""Value and optimal strategies of the zero-sum matrix game ``M (A1, A2)`` (row player maximizes).

    One LP solved with scipy HiGHS (von Neumann 1928; the LP formulation of Dantzig 1951):
    :math:`\max_{x\in\Delta,v} v` s.t. :math:`M^\top x\ge v\mathbf 1`; the column player's
    strategy is its dual solution (the multipliers of those rows).  A pure saddle point
    (:math:`\max_a\min_b M_{ab}=\min_b\max_a M_{ab}`, exact comparison) is returned without an LP.  ``duality_gap`` is the exact
    exploitability :math:`\max_a(My)_a-\min_b(x^\top M)_b` of the returned pair (0 at a saddle
    point, up to the LP tolerance).

    Raises
    ------
    InvalidArgumentError
        ``M`` not a finite 2-D array.
    RuntimeError
        HiGHS does not report optimality.
    """
    from scipy.optimize import linprog

    M = np.asarray(M, dtype=np.float64)
    if M.ndim != 2 or M.size == 0 or not np.all(np.isfinite(M)):
        raise InvalidArgumentError(f"M must be a finite non-empty 2-D array, got shape {M.shape}")
    n, m = M.shape
    # a pure saddle point (max_a min_b M = min_b max_a M) is optimal as it stands: no LP needed
    rmin, cmax = M.min(axis=1), M.max(axis=0)
    a, b = int(np.argmax(rmin)), int(np.argmin(cmax))
    if rmin[a] == cmax[b]:
        x, y = np.zeros(n), np.zeros(m)
        x[a], y[b] = 1.0, 1.0
        return MatrixGameSolution(value=float(M[a, b]), x=x, y=y, duality_gap=0.0)
    # player 1: variables (x, v); minimize -v; -M^T x + v <= 0; sum x = 1
    c = np.zeros(n + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-M.T, np.ones((m, 1))])
    res1 = linprog(c, A_ub=A_ub, b_ub=np.zeros(m), A_eq=np.append(np.ones(n), 0.0)[None, :], b_eq=[1.0],
                   bounds=[(0, None)] * n + [(None, None)], method="highs")
    if res1.status != 0:
        raise RuntimeError(f"HiGHS failed on a matrix game: {res1.message}")
    x = np.maximum(res1.x[:n], 0.0)
    x /= x.sum()
    # the column player's optimal strategy is the dual of the rows M^T x >= v (LP duality)
    y = np.maximum(-np.asarray(res1.ineqlin.marginals, dtype=np.float64), 0.0)
    y /= y.sum()
    gap = float(np.max(M @ y) - np.min(x @ M))
    return MatrixGameSolution(value=float(res1.x[-1]), x=x, y=y, duality_gap=max(gap, 0.0))


def _check_game(game) -> ZeroSumMarkovGame:
    if not isinstance(game, ZeroSumMarkovGame):
        raise InvalidArgumentError(f"game must be a ZeroSumMarkovGame, got {type(game).__name__}")
    return game


def shapley_operator(game: ZeroSumMarkovGame, v):
    r"""Shapley's operator :math:`(Tv)(s)=\mathrm{val}\,[R(s,\cdot,\cdot)+\gamma P(s,\cdot,\cdot)v]`.

    Returns ``(Tv (S,), x (S, A1), y (S, A2))``: the values and the optimal stage strategies; a
    :math:`\gamma`-contraction in the sup norm (Shapley 1953, PNAS 39(10)).
    """
    _check_game(game)
    Ms = game.stage_matrix(v)
    out = np.empty(game.S)
    X = np.empty((game.S, game.A1))
    Y = np.empty((game.S, game.A2))
    for s in range(game.S):
        sol = solve_matrix_game(Ms[s])
        out[s], X[s], Y[s] = sol.value, sol.x, sol.y
    return out, X, Y


def _check_pair_policy(game, pi, n_actions, name):
    p = np.asarray(pi, dtype=np.float64)
    if p.shape != (game.S, n_actions):
        raise InvalidPolicyError(f"{name} must have shape (S, {n_actions}) = ({game.S}, {n_actions}), got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise InvalidPolicyError(f"{name} must be finite and non-negative")
    bad = np.abs(p.sum(axis=1) - 1.0) > 1e-8
    if bad.any():
        s = int(np.flatnonzero(bad)[0])
        raise InvalidPolicyError(f"{name}[{s}, :] sums to {float(p[s].sum())!r}; expected 1 within 1e-8")
    return p


def game_policy_values(game: ZeroSumMarkovGame, pi1, pi2) -> np.ndarray:
    r"""Exact value :math:`V^{\pi_1,\pi_2}` (S,) of a pair of stationary policies (linear solve)."""
    _check_game(game)
    x = _check_pair_policy(game, pi1, game.A1, "pi1")
    y = _check_pair_policy(game, pi2, game.A2, "pi2")
    P = np.einsum("sa,sb,sabt->st", x, y, game.P)
    r = np.einsum("sa,sb,sab->s", x, y, game.R)
    return np.linalg.solve(np.eye(game.S) - game.gamma * P, r)


def _induced_mdp(game, pi, player):
    """The MDP faced by the other player when ``player`` (1 or 2) plays ``pi``; rewards to the
    maximizer of that MDP (player 2's rewards are negated)."""
    if player == 1:
        P = np.einsum("sa,sabt->sbt", pi, game.P)
        R = -np.einsum("sa,sab->sb", pi, game.R)
    else:
        P = np.einsum("sb,sabt->sat", pi, game.P)
        R = np.einsum("sb,sab->sa", pi, game.R)
    return TabularMDP(P, R, game.gamma, atol=1e-7)


def exploitability(game: ZeroSumMarkovGame, pi1, pi2, mu=None) -> float:
    r"""Exact exploitability (Nash gap) of a stationary policy pair from the start law ``mu``:

    .. math:: \mu^\top\big(\max_{\pi_1'}V^{\pi_1',\pi_2}-\min_{\pi_2'}V^{\pi_1,\pi_2'}\big)\ \ge 0,

    zero exactly at a Nash equilibrium.  Each best response is an MDP solved exactly by policy
    iteration (deterministic stationary best responses suffice; Puterman 1994, Thm 6.2.10).
    """
    from .discounted import policy_iteration

    _check_game(game)
    x = _check_pair_policy(game, pi1, game.A1, "pi1")
    y = _check_pair_policy(game, pi2, game.A2, "pi2")
    m = game.mu0 if mu is None else np.asarray(mu, dtype=np.float64)
    best1 = np.asarray(policy_iteration(_induced_mdp(game, y, 2)).v_policy)
    best2 = -np.asarray(policy_iteration(_induced_mdp(game, x, 1)).v_policy)
    return float(m @ (best1 - best2))


@dataclass(frozen=True, eq=False, repr=False)
class GameResult(ResultRecord):
    r"""Result of a zero-sum Markov-game solver.

    Attributes
    ----------
    v : ndarray (S,)
        Estimate of the game value :math:`v^*` (Shapley 1953).
    v_error_bound : float
        Certified :math:`\|v-v^*\|_\infty` (``inf``: not certified, e.g. minimax-Q).
    policy1, policy2 : ndarray (S, A1), (S, A2)
        Stationary strategies of the maximizer and the minimizer (stage-game optima of ``v``).
    exploitability : float
        Exact exploitability of ``(policy1, policy2)`` from ``mu0``.
    certificate : mdpkit.bounds.Bound
        The bound behind ``v_error_bound``.
    converged : bool
    n_iter : int
    residuals : ndarray (n_iter,)
        :math:`\|v_{k+1}-v_k\|_\infty` (minimax-Q / MFQI: :math:`\|v_k-v^*_{ref}\|` when a reference is given, else NaN).
    method : str
    options : dict
    wall_time : float
    """

    v: np.ndarray
    v_error_bound: float
    policy1: np.ndarray
    policy2: np.ndarray
    exploitability: float
    certificate: object
    converged: bool
    n_iter: int
    residuals: np.ndarray
    method: str
    options: dict
    wall_time: float


def shapley_value_iteration(game: ZeroSumMarkovGame, *, epsilon: float = 1e-8, max_iter: int = 100_000,
                            v0=None) -> GameResult:
    r"""Shapley's value iteration :math:`v_{k+1}=Tv_k`, each stage game solved by LP (scipy HiGHS).

    Shapley 1953 (PNAS 39(10)): :math:`T` is a :math:`\gamma`-contraction whose fixed point is the
    game value.  Stops when :math:`\|v_{k+1}-v_k\|_\infty<\epsilon(1-\gamma)/(2\gamma)`, so that
    :math:`\|v_{k+1}-v^*\|_\infty\le\gamma\|v_{k+1}-v_k\|/(1-\gamma)<\epsilon/2`
    (:func:`mdpkit.bounds.vi_a_posteriori_bound`, the same contraction argument).  The returned
    strategies are the stage-game optima of the final ``v``.
    """
    t0 = time.perf_counter()
    _check_game(game)
    epsilon, max_iter = check_common(epsilon, max_iter)
    g = game.gamma
    v = np.zeros(game.S) if v0 is None else np.array(v0, dtype=np.float64)
    if v.shape != (game.S,) or not np.all(np.isfinite(v)):
        raise InvalidArgumentError(f"v0 must be a finite array of shape (S,) = ({game.S},)")
    tol = bounds.vi_norm_stopping_tol(epsilon, g) if g > 0 else math.inf
    res = []
    converged = False
    for _ in range(max_iter):
        v_new, X, Y = shapley_operator(game, v)
        res.append(float(np.max(np.abs(v_new - v))))
        v = v_new
        if res[-1] < tol:
            converged = True
            break
    if not converged:
        warn_not_converged("shapley_value_iteration", max_iter, f"last residual {res[-1]:.3g}")
    _, X, Y = shapley_operator(game, v)
    cert = bounds.vi_a_posteriori_bound(g, res[-1]) if g > 0 else bounds.vi_a_posteriori_bound(0.0, 0.0)
    # the LPs' own tolerance adds to the contraction bound: a few units of HiGHS' 1e-9 feasibility tolerance
    lp_slack = 1e-8 * max(1.0, float(np.max(np.abs(v))))
    expl = exploitability(game, X, Y)
    for arr in (v, X, Y):
        arr.flags.writeable = False
    return GameResult(v=v, v_error_bound=float(cert.value) + lp_slack, policy1=X, policy2=Y, exploitability=expl,
                      certificate=cert, converged=converged, n_iter=len(res), residuals=np.array(res),
                      method="shapley_value_iteration", options=dict(epsilon=epsilon, max_iter=max_iter,
                                                                     v0_given=v0 is not None),
                      wall_time=time.perf_counter() - t0)


def _empirical_game(game, n_samples, rng):
    S, A1, A2 = game.S, game.A1, game.A2
    counts = np.zeros((S, A1, A2, S))
    for s in range(S):
        for a in range(A1):
            for b in range(A2):
                counts[s, a, b] = rng.multinomial(n_samples, game.P[s, a, b])
    return counts / n_samples


def minimax_fitted_q_iteration(game: ZeroSumMarkovGame, *, n_samples: int, n_iter: int, rng: np.random.Generator,
                               v_ref=None) -> GameResult:
    r"""Minimax fitted Q-iteration in its tabular form (Fan, Wang, Xie & Yang 2020, "A theoretical
    analysis of deep Q-learning", Alg. 2 with a tabular function class; number not checked).

    Draws ``n_samples`` next states for every :math:`(s,a,b)` (a generative model), then iterates
    :math:`Q_{k+1}(s,a,b)=R(s,a,b)+\gamma\frac1n\sum_i\mathrm{val}\,Q_k(s'_i)` — the least-squares
    fit over the tabular class is the sample mean, so this is Shapley VI on the empirical game.
    ``residuals`` holds :math:`\|v_k-v_{ref}\|_\infty` when ``v_ref`` (e.g. Shapley's value) is
    given.  ``v_error_bound`` is ``inf`` (sampling error is not certified).
    """
    t0 = time.perf_counter()
    _check_game(game)
    n = check_int(n_samples, "n_samples", minimum=1)
    K = check_int(n_iter, "n_iter", minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgumentError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    emp = ZeroSumMarkovGame(_empirical_game(game, n, rng), game.R, game.gamma, mu0=game.mu0)
    v = np.zeros(game.S)
    res = []
    for _ in range(K):
        v, X, Y = shapley_operator(emp, v)
        res.append(float(np.max(np.abs(v - v_ref))) if v_ref is not None else math.nan)
    expl = exploitability(game, X, Y)
    return GameResult(v=v, v_error_bound=math.inf, policy1=X, policy2=Y, exploitability=expl,
                      certificate=bounds.Bound(math.inf, bounds.BoundKind.RATE_ONLY, "not certified (sampled model)"),
                      converged=True, n_iter=K, residuals=np.array(res), method="minimax_fitted_q_iteration",
                      options=dict(n_samples=n, n_iter=K), wall_time=time.perf_counter() - t0)


def _stage_values(Q):
    """val Q(s) (S,) and the stage optima X (S, A1), Y (S, A2) of a Q-table (S, A1, A2)."""
    sols = [solve_matrix_game(Q[s]) for s in range(Q.shape[0])]
    return (np.array([x.value for x in sols]), np.array([x.x for x in sols]), np.array([x.y for x in sols]))


def linear_minimax_fqi(game: ZeroSumMarkovGame, phi, *, n_iter: int, n_samples: int | None = None,
                       rng: np.random.Generator | None = None, ridge: float = 0.0, v_ref=None) -> GameResult:
    r"""Minimax fitted Q-iteration with a linear function class (Fan, Wang, Xie & Yang 2020, "A
    theoretical analysis of deep Q-learning", L4DC, the Minimax-FQI algorithm of the zero-sum
    Markov-game section; algorithm number not checked against the text).

    Class :math:`\mathcal F=\{(s,a,b)\mapsto\phi(s,a,b)^\top w\}`.  Iteration k regresses the
    minimax targets

    .. math:: Y_i = R(s_i,a_i,b_i) + \gamma\,\mathrm{val}\,Q_k(s'_i),\qquad
              \mathrm{val}\,Q(s)=\max_{x\in\Delta_{A_1}}\min_{y\in\Delta_{A_2}}x^\top Q(s,\cdot,\cdot)y

    (each matrix game by LP, :func:`solve_matrix_game`) on the features:
    :math:`w_{k+1}=\arg\min_w\frac1n\sum_i(Y_i-\phi_i^\top w)^2+\lambda\|w\|^2`
    (``ridge`` :math:`\lambda\ge0`; the minimum-norm solution when singular).

    * ``n_samples=None`` (exact targets): the regression is over every :math:`(s,a,b)` with equal
      weight and the *exact* target :math:`R+\gamma P\,\mathrm{val}\,Q_k` (the population
      least-squares step under the uniform sampling law).  With one-hot features this is exactly
      Shapley's value iteration :math:`v_{k+1}=Tv_k`.
    * ``n_samples=n``: each iteration draws n fresh :math:`(s_i,a_i,b_i)` uniformly and
      :math:`s'_i\sim P(\cdot|s_i,a_i,b_i)` from ``rng`` (the i.i.d. sampling of the paper's
      analysis, with the uniform law as :math:`\sigma`); rewards are the expected ``R``.

    Parameters
    ----------
    game : ZeroSumMarkovGame
    phi : array_like (S, A1, A2, d)
        Features.
    n_iter : int >= 1
    n_samples : int, optional
    rng : numpy.random.Generator
        Required when ``n_samples`` is given.
    ridge : float >= 0
    v_ref : array_like (S,), optional
        Reference value (e.g. Shapley's): ``residuals[k]`` is :math:`\|v_k-v_{ref}\|_\infty`.

    Returns
    -------
    GameResult
        ``v`` = :math:`\mathrm{val}\,Q_K`; strategies are the stage optima of :math:`Q_K`;
        ``v_error_bound`` is ``inf`` (approximation and sampling error are not certified).

    Raises
    ------
    InvalidArgumentError
        Bad feature shape, ``n_samples`` without ``rng``, negative ridge.
    """
    t0 = time.perf_counter()
    _check_game(game)
    K = check_int(n_iter, "n_iter", minimum=1)
    F = np.asarray(phi, dtype=np.float64)
    S, A1, A2, g = game.S, game.A1, game.A2, game.gamma
    if F.ndim != 4 or F.shape[:3] != (S, A1, A2) or not np.all(np.isfinite(F)):
        raise InvalidArgumentError(f"phi must be a finite array of shape (S, A1, A2, d) = ({S}, {A1}, {A2}, d), "
                                   f"got {F.shape}")
    lam = float(ridge)
    if not (math.isfinite(lam) and lam >= 0):
        raise InvalidArgumentError(f"ridge must be finite and >= 0, got {ridge!r}")
    if n_samples is not None:
        n = check_int(n_samples, "n_samples", minimum=1)
        if not isinstance(rng, np.random.Generator):
            raise InvalidArgumentError("n_samples needs rng, a numpy.random.Generator")
        cdf = np.cumsum(game.P.reshape(-1, S), axis=1)
    d = F.shape[3]
    Fall = F.reshape(-1, d)
    Q = np.zeros((S, A1, A2))
    vals = np.zeros(S)
    res = []
    for _ in range(K):
        if n_samples is None:
            X, Y = Fall, (game.R + g * (game.P @ vals)).ravel()
        else:
            rows = rng.integers(0, S * A1 * A2, size=n)
            nxt = np.minimum((cdf[rows] < rng.random(n)[:, None]).sum(axis=1), S - 1)
            X, Y = Fall[rows], game.R.ravel()[rows] + g * vals[nxt]
        # the d x d normal equations (min-norm solution when singular); einsum, not BLAS: on small
        # tall matrices a multithreaded BLAS call costs far more than the arithmetic
        G = np.einsum("ni,nj->ij", X, X) / len(Y) + lam * np.eye(d)
        w = np.linalg.lstsq(G, np.einsum("ni,n->i", X, Y) / len(Y), rcond=None)[0]
        Q = (Fall @ w).reshape(S, A1, A2)
        vals, Xs, Ys = _stage_values(Q)
        res.append(float(np.max(np.abs(vals - np.asarray(v_ref)))) if v_ref is not None else math.nan)
    return GameResult(v=vals, v_error_bound=math.inf, policy1=Xs, policy2=Ys,
                      exploitability=exploitability(game, Xs, Ys),
                      certificate=bounds.Bound(math.inf, bounds.BoundKind.RATE_ONLY,
                                               "not certified (function approximation / sampled targets)"),
                      converged=True, n_iter=K, residuals=np.array(res), method="linear_minimax_fqi",
                      options=dict(n_iter=K, n_samples=n_samples, ridge=lam, d=d), wall_time=time.perf_counter() - t0)


def minimax_q(game: ZeroSumMarkovGame, *, n_sweeps: int, rng: np.random.Generator, v_ref=None) -> GameResult:
    r"""Minimax-Q (Littman 1994, ICML) with a generative model, synchronous form.

    Each sweep draws one next state :math:`s'` for every :math:`(s,a,b)` and updates
    :math:`Q(s,a,b)\leftarrow(1-\alpha_k)Q(s,a,b)+\alpha_k(R(s,a,b)+\gamma\,\mathrm{val}\,Q(s'))`
    with :math:`\alpha_k=1/(1+(1-\gamma)k)` (Robbins-Monro; convergence w.p. 1 by Littman &
    Szepesvari 1996, ICML, Thm 1 — number not checked against the text).  ``v_error_bound`` is
    ``inf``; ``residuals`` holds :math:`\|v_k-v_{ref}\|_\infty` when ``v_ref`` is given.
    """
    t0 = time.perf_counter()
    _check_game(game)
    K = check_int(n_sweeps, "n_sweeps", minimum=1)
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgumentError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    S, A1, A2, g = game.S, game.A1, game.A2, game.gamma
    cdf = np.cumsum(game.P.reshape(-1, S), axis=1)
    Q = np.zeros((S, A1, A2))
    vals = np.zeros(S)
    res = []
    for k in range(K):
        u = rng.random(cdf.shape[0])
        nxt = np.minimum((cdf < u[:, None]).sum(axis=1), S - 1).reshape(S, A1, A2)
        alpha = 1.0 / (1.0 + (1.0 - g) * k)
        Q = (1.0 - alpha) * Q + alpha * (game.R + g * vals[nxt])
        vals = np.array([solve_matrix_game(Q[s]).value for s in range(S)])
        res.append(float(np.max(np.abs(vals - v_ref))) if v_ref is not None else math.nan)
    sols = [solve_matrix_game(Q[s]) for s in range(S)]
    X = np.array([s_.x for s_ in sols])
    Y = np.array([s_.y for s_ in sols])
    return GameResult(v=vals, v_error_bound=math.inf, policy1=X, policy2=Y, exploitability=exploitability(game, X, Y),
                      certificate=bounds.Bound(math.inf, bounds.BoundKind.ASYMPTOTIC,
                                               "Littman & Szepesvari 1996, Thm 1 (convergence w.p. 1; no rate)"),
                      converged=True, n_iter=K, residuals=np.array(res), method="minimax_q",
                      options=dict(n_sweeps=K), wall_time=time.perf_counter() - t0)


class CCESolution(NamedTuple):
    """Coarse correlated equilibrium ``z (A1, A2)`` (a joint distribution), its payoffs
    ``(u1, u2)`` and the largest deviation gain ``max_regret`` (<= 0 up to LP tolerance)."""

    z: np.ndarray
    u1: float
    u2: float
    max_regret: float


def cce_lp(U1, U2, *, objective: str = "welfare") -> CCESolution:
    r"""Exact coarse correlated equilibrium of a two-player normal-form (general-sum) game by LP.

    Variables :math:`z\in\Delta(A_1\times A_2)`; constraints, for every deviation :math:`a'` of
    player 1, :math:`\sum_{a,b}z(a,b)(U_1(a,b)-U_1(a',b))\ge0` (and likewise for player 2);
    maximizes the social welfare :math:`\sum z(U_1+U_2)` (``objective="welfare"``) or finds any
    feasible point (``"feasibility"``).  Hannan 1957 / Moulin & Vial 1978 (the CCE polytope); scipy
    HiGHS.  This is for *one-shot* stage games only: stationary equilibria of general-sum Markov
    games are not computed by mdpkit (PPAD-hard; see the module docstring).
    """
    from scipy.optimize import linprog

    U1 = np.asarray(U1, dtype=np.float64)
    U2 = np.asarray(U2, dtype=np.float64)
    if U1.ndim != 2 or U1.shape != U2.shape or not (np.all(np.isfinite(U1)) and np.all(np.isfinite(U2))):
        raise InvalidArgumentError(f"U1 and U2 must be finite arrays of one shape (A1, A2); got {U1.shape}, {U2.shape}")
    if objective not in ("welfare", "feasibility"):
        raise InvalidArgumentError(f"objective must be 'welfare' or 'feasibility', got {objective!r}")
    n, m = U1.shape
    rows = []
    for a2 in range(n):  # player 1 deviates to a2: sum_z z(a,b)(U1(a2,b) - U1(a,b)) <= 0
        rows.append((U1[a2][None, :] - U1).ravel())
    for b2 in range(m):
        rows.append((U2[:, b2][:, None] - U2).ravel())
    c = -(U1 + U2).ravel() if objective == "welfare" else np.zeros(n * m)
    res = linprog(c, A_ub=np.array(rows), b_ub=np.zeros(len(rows)), A_eq=np.ones((1, n * m)), b_eq=[1.0],
                  bounds=[(0, None)] * (n * m), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the CCE LP: {res.message}")
    z = np.maximum(res.x, 0.0).reshape(n, m)
    z /= z.sum()
    regret = float(max(np.max(U1 @ z.sum(axis=0)) - np.sum(z * U1), np.max(z.sum(axis=1) @ U2) - np.sum(z * U2)))
    return CCESolution(z=z, u1=float(np.sum(z * U1)), u2=float(np.sum(z * U2)), max_regret=regret)

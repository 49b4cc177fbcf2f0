r"""Stock augmentation: the MDP on (state, stock) pairs, for objectives of the whole return.

The stock :math:`c_t` is a statistic of the rewards received so far.  mdpkit uses the
accumulated-reward stock of Avila Pires, Rowland, Borsa et al. (2025, Sec. 3, "stock-augmented
MDP"; the same construction as the extended state of Bauerle & Ott 2011, Sec. 3, written there for
costs as :math:`(c - r)/\gamma` with the opposite sign):

.. math:: c_{t+1} = \frac{c_t + r_t}{\gamma}, \qquad r_t = r(s_t, a_t, s_{t+1}),

so that, by induction, :math:`\gamma^t c_t = c_0 + \sum_{k<t}\gamma^k r_k` and, at the horizon
:math:`H`, :math:`\gamma^H c_H = c_0 + G_H` with :math:`G_H = \sum_{t<H}\gamma^t r_t` the
discounted return.  (Only the abstract of the 2025 paper was at hand when this was written: the
update was re-derived from the identity above, which the tests check, not copied from the paper.)
An objective :math:`\max_\pi \mathbb{E}\,u(c_0 + G)` of the return is then an ordinary expected
terminal reward :math:`u(\gamma^H c_H)` in the augmented MDP with states :math:`(s, c)`, solved
exactly by backward induction; optimal policies are Markov in :math:`(t, s, c)` (Bauerle & Ott
2011, Thm 3.1 for the AVaR case; Avila Pires et al. 2025 for general stock-augmented objectives).

Grids and exactness
-------------------
The stock lives on a sorted grid ``stocks (K,)``.  The augmented model is **exact** when every
stock value :math:`(c + r)/\gamma` reachable from the initial stocks is a grid point: this holds
for finite horizons with :math:`\gamma = 1` and rewards on a lattice :math:`h\mathbb{Z}` (integer
rewards), with the grid :func:`lattice_stocks`.  Otherwise the caller chooses explicitly:

``off_grid="error"`` (default)
    raise :class:`~mdpkit.InvalidArgumentError` naming the time, state, action, next state and the
    stock value that fell off the grid (a next stock is on the grid when it is within
    ``1e-9 * max(1, |c|)`` of a grid point: float round-off of the update, nothing more);
``off_grid="interpolate"``
    split the transition's probability between the two neighbouring grid points in proportion to
    the distance (the stock's mean is kept, its law is not: an approximation, reported as
    ``exact=False`` by the solvers).  Stocks beyond the ends of the grid still raise.

Discounted infinite horizons are handled by the solvers as the :math:`H`-step truncation, with
:math:`|G - G_H| \le \gamma^H \max|r| / (1-\gamma)` pathwise (:func:`truncation_horizon`).

Only states and stocks reachable from the initial stocks are checked and evaluated; values at
unreachable ``(t, s, c)`` are NaN.

References
----------
.. [1] B. Avila Pires, M. Rowland, D. Borsa, Z. D. Guo, K. Khetarpal, A. Barreto, D. Abel,
   R. Munos, W. Dabney, "Optimizing Return Distributions with Distributional Dynamic
   Programming", JMLR 2025 (arXiv:2501.13028), Sec. 3.
.. [2] N. Bauerle, J. Ott, "Markov decision processes with average-value-at-risk criteria",
   Math. Meth. Oper. Res. 74:361-379, 2011, Sec. 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from ._exceptions import InvalidArgumentError
from ._validation import as_float_array, check_int, check_memory, readonly
from .distributions import FiniteReturns
from .model import TabularMDP

__all__ = [
    "StockAugmentedMDP",
    "lattice_stocks",
    "reward_lattice_step",
    "transition_entries",
    "truncation_horizon",
]

#: Relative tolerance for "a next stock is a grid point" (float round-off of (c + r) / gamma only).
STOCK_RTOL = 1e-9
OFF_GRID = ("error", "interpolate")


def transition_entries(mdp: TabularMDP):
    r"""Every transition with positive probability: ``(s, a, s', p, r)`` as five arrays ``(E,)``.

    ``r`` is the realised reward ``R_sas[s, a, s']`` when the model has ``R_sas``, else
    ``R[s, a]``.  Masked actions are left out.  Entries are sorted by ``(s, a, s')``.
    """
    S, A = mdp.S, mdp.A
    coo = (sp.csr_matrix(mdp.P_rows) if not mdp.is_sparse else mdp.P_rows.tocsr()).tocoo()
    rows, cols, vals = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
    s_of, a_of = rows // A, rows % A
    keep = (vals > 0) & mdp.action_mask[s_of, a_of]
    s_of, a_of, cols, vals, rows = s_of[keep], a_of[keep], cols[keep], vals[keep], rows[keep]
    if mdp.R_sas is not None:
        if sp.issparse(mdp.R_sas):
            rew = np.asarray(mdp.R_sas.tocsr()[rows, cols]).ravel()
        else:
            rew = np.asarray(mdp.R_sas)[s_of, a_of, cols]
    else:
        rew = mdp.R[s_of, a_of]
    order = np.lexsort((cols, a_of, s_of))
    return (s_of[order], a_of[order], cols[order], np.asarray(vals, float)[order],
            np.asarray(rew, float)[order])


def reward_lattice_step(mdp: TabularMDP) -> float:
    r"""The largest ``h`` in ``{1, 1/2, 1/4, ..., 2^-20}`` with every realised reward in :math:`h\mathbb{Z}`.

    Raises
    ------
    InvalidArgumentError
        If no such ``h`` exists (rewards are not on a dyadic lattice; then no stock grid is exact).
    """
    rew = np.unique(transition_entries(mdp)[4])
    for e in range(0, 21):
        h = 2.0 ** (-e)
        q = rew / h
        if np.all(q == np.round(q)):
            return h
    raise InvalidArgumentError(
        "the realised rewards are not on a lattice h*Z with h = 2^-k, k <= 20 (e.g. "
        f"{rew[np.argmax(np.abs(rew / 2.0**-20 - np.round(rew / 2.0**-20)))]!r}); no stock grid is exact: "
        "use off_grid='interpolate' with an explicit grid")


def lattice_stocks(mdp: TabularMDP, horizon: int, initial_stocks: ArrayLike = (0.0,)) -> NDArray[np.float64]:
    r"""The exact stock grid for a finite horizon with ``gamma == 1`` and lattice rewards.

    With every reward in :math:`h\mathbb{Z}` (:func:`reward_lattice_step`) and initial stocks
    :math:`c_0` on the same lattice, every reachable stock :math:`c_0 + \sum_{k<t} r_k` lies in
    :math:`h\mathbb{Z} \cap [\min c_0 + H r_{\min}^-, \max c_0 + H r_{\max}^+]`, which this returns
    (:math:`r^- = \min(r_{\min}, 0)`, :math:`r^+ = \max(r_{\max}, 0)`).

    Raises
    ------
    InvalidArgumentError
        ``gamma != 1``, rewards off every dyadic lattice, or an initial stock off the lattice.
    """
    H = check_int(horizon, "horizon", minimum=0)
    if mdp.gamma != 1.0:
        raise InvalidArgumentError(
            f"lattice_stocks needs gamma = 1 (got {mdp.gamma}): with gamma < 1 the update (c + r)/gamma leaves "
            "any lattice; pass an explicit grid with off_grid='interpolate'")
    h = reward_lattice_step(mdp)
    c0 = as_float_array(np.atleast_1d(initial_stocks), "initial_stocks", 1, exc=InvalidArgumentError)
    if np.any(c0 / h != np.round(c0 / h)):
        raise InvalidArgumentError(f"initial stocks must lie on the reward lattice {h}*Z, got {c0.tolist()}")
    rew = transition_entries(mdp)[4]
    lo = float(c0.min()) + H * min(float(rew.min()), 0.0)
    hi = float(c0.max()) + H * max(float(rew.max()), 0.0)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InvalidArgumentError(f"the stock range [{lo}, {hi}] is not finite (horizon={H})")
    n = int(round((hi - lo) / h))
    # the grid itself, and the (H + 1, S, K) tables of the stock DP it is built for
    check_memory(8.0 * (n + 1) + 17.0 * (H + 1) * mdp.S * (n + 1),
                 f"a stock lattice with horizon={H} ({n + 1:,} grid points of step {h:g}, S={mdp.S})")
    return lo + h * np.arange(n + 1, dtype=float)


def truncation_horizon(gamma: float, r_max: float, tol: float) -> int:
    r"""Smallest ``H`` with :math:`\gamma^H r_{\max}/(1-\gamma) \le` ``tol`` (pathwise :math:`|G - G_H|`)."""
    if not (0.0 <= gamma < 1.0):
        raise InvalidArgumentError(f"truncation needs 0 <= gamma < 1, got {gamma}")
    if not (tol > 0):
        raise InvalidArgumentError(f"tol must be > 0, got {tol!r}")
    if gamma == 0.0 or r_max == 0.0:
        return 1
    return max(1, math.ceil(math.log(tol * (1.0 - gamma) / r_max) / math.log(gamma)))


@dataclass(frozen=True, eq=False)
class StockAugmentedMDP:
    r"""The finite-horizon MDP on ``(state, stock)`` pairs with :math:`c' = (c + r)/\gamma`.

    Parameters
    ----------
    mdp : TabularMDP
        The base model; ``gamma`` may be 1.
    horizon : int
        ``H >= 0`` decision epochs.
    stocks : array_like of shape (K,)
        Strictly increasing stock grid (e.g. :func:`lattice_stocks`).
    off_grid : {"error", "interpolate"}
        What to do when a reachable next stock is not a grid point (see the module docstring).

    Attributes
    ----------
    entries : tuple of arrays
        :func:`transition_entries` of ``mdp``: ``(s, a, s', p, r)``, each ``(E,)``.
    next_lo : ndarray (E, K) int64
        Grid index of the next stock (the lower neighbour when interpolating); -1 when off the grid.
    next_w : ndarray (E, K) float64
        Weight on ``next_lo`` (1 on the grid; the rest goes to ``next_lo + 1``).
    exact : bool
        True when every next stock (from every grid point) is a grid point or off the ends; no
        interpolation can then happen.

    Notes
    -----
    Augmented node ``(s, k)``: state ``s`` with stock ``stocks[k]``.  Transition of entry
    ``e = (s, a, s', p, r)`` from stock ``c_k``: to ``(s', k')`` with :math:`c_{k'} = (c_k + r)/\gamma`.
    """

    mdp: TabularMDP
    horizon: int
    stocks: np.ndarray
    off_grid: str = "error"

    def __post_init__(self):
        if not isinstance(self.mdp, TabularMDP):
            raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(self.mdp).__name__}")
        H = check_int(self.horizon, "horizon", minimum=0)
        z = as_float_array(self.stocks, "stocks", 1, exc=InvalidArgumentError)
        if z.shape[0] < 1 or np.any(np.diff(z) <= 0):
            raise InvalidArgumentError("stocks must be a non-empty, strictly increasing 1-D array")
        if self.off_grid not in OFF_GRID:
            raise InvalidArgumentError(f"off_grid must be one of {OFF_GRID}, got {self.off_grid!r}")
        if self.mdp.gamma == 0.0 and H > 1:
            raise InvalidArgumentError("gamma = 0 makes the stock update (c + r)/gamma undefined after one step; "
                                       "use horizon <= 1")
        ent = transition_entries(self.mdp)
        E, K_, S_ = ent[0].shape[0], z.shape[0], self.mdp.S
        # per (E, K): next stocks, indices, weights and temporaries (~10 float64/int64 arrays);
        # per (H+1, S, K): the DP values, the policy and the reachability flags of the solvers
        check_memory(
            80.0 * E * K_ + 17.0 * (H + 1) * S_ * K_,
            f"the stock-augmented MDP with horizon={H}, S={S_}, K={K_} stock grid points, {E} transitions",
        )
        g = self.mdp.gamma if self.mdp.gamma > 0 else 1.0
        nxt = (z[None, :] + ent[4][:, None]) / g  # (E, K)
        K = z.shape[0]
        idx = np.searchsorted(z, nxt, side="left")  # z[idx-1] < nxt <= z[idx]
        tol = STOCK_RTOL * np.maximum(1.0, np.abs(nxt))
        lo = np.full(nxt.shape, -1, dtype=np.int64)
        w = np.ones(nxt.shape)
        hit_hi = (idx < K) & (np.abs(z[np.minimum(idx, K - 1)] - nxt) <= tol)
        hit_lo = (idx > 0) & (np.abs(z[np.maximum(idx - 1, 0)] - nxt) <= tol)
        lo[hit_hi] = idx[hit_hi]
        lo[hit_lo & ~hit_hi] = idx[hit_lo & ~hit_hi] - 1
        on = hit_hi | hit_lo
        inside = (~on) & (idx > 0) & (idx < K)
        exact = not inside.any()
        if self.off_grid == "interpolate" and inside.any():
            i1 = idx[inside]
            zl, zh = z[i1 - 1], z[i1]
            lo[inside] = i1 - 1
            w[inside] = (zh - nxt[inside]) / (zh - zl)
        object.__setattr__(self, "horizon", H)
        object.__setattr__(self, "stocks", readonly(z))
        object.__setattr__(self, "entries", tuple(readonly(np.ascontiguousarray(x)) for x in ent))
        object.__setattr__(self, "next_stock", readonly(nxt))
        object.__setattr__(self, "next_lo", readonly(lo))
        object.__setattr__(self, "next_w", readonly(w))
        object.__setattr__(self, "exact", bool(exact))

    # ------------------------------------------------------------------ helpers
    @property
    def S(self) -> int:
        return self.mdp.S

    @property
    def K(self) -> int:
        return self.stocks.shape[0]

    def stock_index(self, c: float) -> int:
        """Grid index of stock ``c`` (must be a grid point within the round-off tolerance)."""
        c = float(c)
        k = int(np.argmin(np.abs(self.stocks - c)))
        if abs(self.stocks[k] - c) > STOCK_RTOL * max(1.0, abs(c)):
            raise InvalidArgumentError(
                f"initial stock {c!r} is not on the stock grid [{float(self.stocks[0])!r} .. {float(self.stocks[-1])!r}] "
                f"({self.K} points)")
        return k

    def _off_grid_error(self, t, s_nodes, k_nodes, e, k):
        s, a, s2, p, r = (x[e] for x in self.entries)
        c, cn, r, p = float(self.stocks[k]), float(self.next_stock[e, k]), float(r), float(p)
        z0, z1 = float(self.stocks[0]), float(self.stocks[-1])
        where = "beyond the ends of" if (cn < z0 or cn > z1) else "between points of"
        hint = ("extend the grid (lattice_stocks gives the exact one)" if where.startswith("beyond")
                else "use a finer grid, gamma = 1 with lattice rewards, or off_grid='interpolate'")
        raise InvalidArgumentError(
            f"stock update leaves the grid: at t={t}, state {int(s)}, stock {c!r}, action {int(a)} -> state "
            f"{int(s2)} (p={p:.6g}, r={r!r}) the next stock (c + r)/gamma = {cn!r} is {where} the stock grid "
            f"[{z0!r} .. {z1!r}]; {hint}")

    def reachable(self, states: ArrayLike, initial_stock_idx: ArrayLike) -> NDArray[np.bool_]:
        """``(H+1, S, K)`` bool: nodes reachable at time ``t`` under some policy.

        Starts from every ``(s, k)`` with ``s`` in ``states`` and ``k`` in ``initial_stock_idx``.
        Raises :class:`InvalidArgumentError` when a reachable transition leaves the grid.
        """
        H, S, K = self.horizon, self.S, self.K
        reach = np.zeros((H + 1, S, K), dtype=bool)
        st = np.atleast_1d(np.asarray(states, dtype=np.int64))
        ki = np.atleast_1d(np.asarray(initial_stock_idx, dtype=np.int64))
        reach[0][np.ix_(st, ki)] = True
        es, _, es2, _, _ = self.entries
        lo, w = self.next_lo, self.next_w
        for t in range(H):
            act = reach[t][es]  # (E, K): entry e is taken from a reachable node
            bad = act & (lo < 0)
            if bad.any():
                e, k = (int(i) for i in np.argwhere(bad)[0])
                self._off_grid_error(t, None, None, e, k)
            e_i, k_i = np.nonzero(act)
            reach[t + 1][es2[e_i], lo[e_i, k_i]] = True
            frac = w[e_i, k_i] < 1.0
            reach[t + 1][es2[e_i[frac]], lo[e_i[frac], k_i[frac]] + 1] = True
        return reach

    def expectation(self, v_next: np.ndarray) -> np.ndarray:
        r"""``Q[s, a, k] = sum_{s'} P(s'|s,a) v_next[s', k'(s,a,s',k)]``, shape ``(S, A, K)``.

        Masked actions hold ``-inf``; entries whose next stock is off the grid contribute NaN.
        """
        S, A, K = self.S, self.mdp.A, self.K
        es, ea, es2, ep, _ = self.entries
        lo, w = self.next_lo, self.next_w
        safe = np.maximum(lo, 0)
        val = w * v_next[es2[:, None], safe]
        frac = w < 1.0
        if frac.any():
            hi = np.minimum(safe + 1, K - 1)
            val = val + np.where(frac, (1.0 - w) * v_next[es2[:, None], hi], 0.0)
        val = np.where(lo < 0, np.nan, val) * ep[:, None]
        q = np.zeros((S * A, K))
        np.add.at(q, es * A + ea, val)
        q = q.reshape(S, A, K)
        q[~self.mdp.action_mask] = -np.inf
        return q

    def return_law(self, policy: np.ndarray, states_dist: np.ndarray, initial_stock: float) -> FiniteReturns:
        r"""Law of :math:`G_H = \gamma^H c_H - c_0` under a stock policy ``(H, S, K)`` int64.

        ``states_dist (S,)`` is the law of the start state.  Exact (up to float products of the
        probabilities) when no interpolation happens; returns a one-row :class:`FiniteReturns`.
        """
        H, S, K = self.horizon, self.S, self.K
        k0 = self.stock_index(initial_stock)
        d = np.zeros((S, K))
        d[:, k0] = states_dist
        es, ea, es2, ep, _ = self.entries
        lo, w = self.next_lo, self.next_w
        for t in range(H):
            chosen = policy[t][es] == ea[:, None]  # (E, K)
            mass = d[es] * chosen * ep[:, None]
            use = mass > 0
            if np.any(use & (lo < 0)):
                e, k = (int(i) for i in np.argwhere(use & (lo < 0))[0])
                self._off_grid_error(t, None, None, e, k)
            nd = np.zeros((S, K))
            e_i, k_i = np.nonzero(use)
            np.add.at(nd, (es2[e_i], lo[e_i, k_i]), mass[e_i, k_i] * w[e_i, k_i])
            frac = w[e_i, k_i] < 1.0
            if frac.any():
                np.add.at(nd, (es2[e_i[frac]], lo[e_i[frac], k_i[frac]] + 1),
                          mass[e_i[frac], k_i[frac]] * (1.0 - w[e_i[frac], k_i[frac]]))
            d = nd
        pk = d.sum(axis=0)
        scale = self.mdp.gamma ** H
        x = scale * self.stocks - float(initial_stock)
        keep = pk > 0
        p = pk[keep]
        return FiniteReturns((x[keep],), (p / p.sum(),))


def exact_stock_identity(rewards, gamma, c0) -> bool:
    r"""Check :math:`\gamma^t c_t = c_0 + \sum_{k<t}\gamma^k r_k` in exact rational arithmetic.

    ``rewards`` is one reward sequence; ``gamma`` and ``c0`` are converted with
    :class:`fractions.Fraction` (exact for floats).  Used by the tests and as documentation.
    """
    g, c = Fraction(gamma), Fraction(c0)
    acc = Fraction(c0)
    for t, r in enumerate(rewards):
        c = (c + Fraction(r)) / g
        acc += g**t * Fraction(r)
        if g ** (t + 1) * c != acc:
            return False
    return True

r"""Harvest models on a stock grid: the fisheries setting of Gaussian-process dynamic programming.

A stock :math:`x_t \ge 0` is harvested (:math:`h_t \le x_t`, reward ``price * h_t``); the escapement
:math:`S_t = x_t - h_t` grows to :math:`x_{t+1} \sim` a law with centre :math:`f(S_t)`
(Reed 1979; the setting of Boettiger, Mangel & Munch 2015).  :func:`harvest_mdp` discretises any
such law on a uniform grid: states and harvests are grid points (so escapements are grid points
too), and the next stock's probability mass is binned by the law's CDF on the cells around the grid
points (the last cell is open above, the first cell holds all mass at or below its upper edge,
including extinction).  The discretisation is exact for the binned chain, an approximation of the
continuous model (the usual one of stochastic dynamic programming for fisheries).

Growth functions (``x`` is escapement):

``allen``   :math:`f(S) = S\exp\big(r(1 - S/K)(S - C)/K\big)`: an Allee effect with tipping point
            ``C`` (below it the stock declines to extinction), the "true model" with a tipping point
            of Boettiger et al. 2015 (form and default parameters as recalled, not checked against
            the text).
``ricker``  :math:`f(S) = S\exp\big(r(1 - S/K)\big)` (Ricker 1954): no tipping point.

References
----------
.. [1] C. Boettiger, M. Mangel, S. Munch, "Avoiding tipping points in fisheries management through
   Gaussian process dynamic programming", Proc. R. Soc. B 282: 20141631, 2015.
.. [2] W. J. Reed, "Optimal escapement levels in stochastic and deterministic harvesting models",
   J. Environ. Econ. Manage. 6, 1979.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import stats

from .._exceptions import InvalidArgumentError
from .._validation import check_int
from ..model import TabularMDP

__all__ = ["allen_growth", "fisheries", "harvest_mdp", "ricker_growth"]

NOISE = ("lognormal", "normal")


def allen_growth(S, r: float = 2.0, K: float = 10.0, C: float = 5.0):
    r"""Allen (Allee-effect) recruitment :math:`S\exp(r(1 - S/K)(S - C)/K)`; tipping point ``C``."""
    S = np.asarray(S, float)
    return S * np.exp(r * (1.0 - S / K) * (S - C) / K)


def ricker_growth(S, r: float = 2.0, K: float = 10.0):
    r"""Ricker recruitment :math:`S\exp(r(1 - S/K))` (no tipping point)."""
    S = np.asarray(S, float)
    return S * np.exp(r * (1.0 - S / K))


def _finite_positive(x, name):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(float(x)) or x <= 0:
        raise InvalidArgumentError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def harvest_mdp(center: Callable, spread, grid, *, noise: str = "lognormal", gamma: float = 0.95,
                price: float = 1.0, name: str = "harvest") -> TabularMDP:
    r"""The harvest MDP on ``grid`` for a next-stock law centred at ``center(S)``.

    Parameters
    ----------
    center : callable
        Vectorised ``S (m,) -> (m,)`` float64, non-negative: the median next stock (``lognormal``:
        :math:`x' = f(S) e^{\sigma Z}`) or the mean (``normal``: :math:`x' \sim N(\mu(S), sd(S)^2)`,
        e.g. a Gaussian process's predictive law; mass below 0 goes to the first cell).
    spread : float or callable
        :math:`\sigma` (log scale) for ``lognormal``; ``sd`` (stock units, float or callable of ``S``)
        for ``normal``.  Must be positive.
    grid : array_like (n,)
        Uniform, strictly increasing, starting at 0 (stock 0 is extinction, absorbing when
        ``center(0) = 0``).
    noise : {"lognormal", "normal"}
    gamma : float, default 0.95
    price : float, default 1
        Reward per unit harvested.

    Returns
    -------
    TabularMDP
        ``S = A = n``: state ``i`` is stock ``grid[i]``, action ``j`` harvests ``grid[j]`` (allowed iff
        ``j <= i``, an action mask); ``R[i, j] = price * grid[j]``.

    Raises
    ------
    InvalidArgumentError
        A grid that is not uniform from 0, a non-positive or non-finite spread, ``center`` values
        that are negative or not finite, an unknown noise.
    """
    x = np.asarray(grid, dtype=float)
    if x.ndim != 1 or x.shape[0] < 2:
        raise InvalidArgumentError(f"grid must be a 1-D array of at least 2 stocks, got shape {x.shape}")
    n = check_int(x.shape[0], "len(grid)", minimum=2)
    d = np.diff(x)
    if x[0] != 0.0 or not np.all(np.isfinite(x)) or np.any(d <= 0) or np.ptp(d) > 1e-9 * d[0]:
        raise InvalidArgumentError("grid must be uniform, strictly increasing and start at 0 (the extinct stock)")
    if noise not in NOISE:
        raise InvalidArgumentError(f"noise must be one of {NOISE}, got {noise!r}")
    step = float(d[0])
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    mask = j <= i
    esc = x[np.maximum(i - j, 0)]  # escapement is a grid point: x_i - x_j = x_{i-j}
    c = np.asarray(center(esc.ravel()), dtype=float).reshape(n, n)
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        k = np.argwhere(~(np.isfinite(c) & (c >= 0)))[0]
        raise InvalidArgumentError(f"center(S) must be finite and >= 0; at S = {esc[tuple(k)]!r} it is {c[tuple(k)]!r}")
    edges = x[:-1] + 0.5 * step  # upper edges of cells 0..n-2; cell n-1 is open above
    if noise == "lognormal":
        sig = _finite_positive(spread, "spread (log-scale sigma)")
        with np.errstate(divide="ignore"):
            z = (np.log(edges)[None, None, :] - np.log(c)[:, :, None]) / sig
        F = np.where(c[:, :, None] > 0, stats.norm.cdf(z), 1.0)
    else:
        sd = np.asarray(spread(esc.ravel()) if callable(spread) else np.full(esc.size, spread), dtype=float).reshape(n, n)
        if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
            raise InvalidArgumentError("spread (sd) must be positive and finite at every escapement")
        F = stats.norm.cdf((edges[None, None, :] - c[:, :, None]) / sd[:, :, None])
    F = np.concatenate([np.zeros((n, n, 1)), F, np.ones((n, n, 1))], axis=2)
    P = np.diff(F, axis=2)  # telescopes to 1 (F runs from 0 to 1); the model's validation checks it
    P[~mask] = 0.0
    P[~mask, 0] = 1.0  # masked actions carry a valid row
    R = np.where(mask, float(price) * x[j], 0.0)
    return TabularMDP(P, R, gamma, action_mask=mask, name=name,
                      state_labels=tuple(f"x={v:g}" for v in x), action_labels=tuple(f"h={v:g}" for v in x))


def fisheries(n_states: int = 51, *, model: str = "allen", r: float = 2.0, K: float = 10.0, C: float = 5.0,
              sigma: float = 0.05, x_max: float | None = None, gamma: float = 0.95) -> TabularMDP:
    """Harvest MDP of the Allen (tipping point ``C``) or Ricker stock dynamics with log-normal noise.

    See :func:`harvest_mdp`; the grid is ``linspace(0, x_max, n_states)`` with ``x_max = 1.5 K``.
    """
    n = check_int(n_states, "n_states", minimum=2)
    r, K, sigma = _finite_positive(r, "r"), _finite_positive(K, "K"), _finite_positive(sigma, "sigma")
    x_max = 1.5 * K if x_max is None else _finite_positive(x_max, "x_max")
    if model == "allen":
        C = _finite_positive(C, "C")
        f = lambda S: allen_growth(S, r, K, C)  # noqa: E731
        label = f"allen(r={r:g}, K={K:g}, C={C:g})"
    elif model == "ricker":
        f = lambda S: ricker_growth(S, r, K)  # noqa: E731
        label = f"ricker(r={r:g}, K={K:g})"
    else:
        raise InvalidArgumentError(f"model must be 'allen' or 'ricker', got {model!r}")
    return harvest_mdp(f, sigma, np.linspace(0.0, x_max, n), gamma=gamma,
                       name=f"fisheries {label}, sigma={sigma:g}, {n} stocks")

r"""Empirical rates of convergence traces.

``fit_rate`` fits :math:`\log e_k = c + k \log\rho` (geometric) or :math:`\log e_k = c + p \log k`
(polynomial) by least squares and reports the fit's residual, so a claimed rate can be compared with
what a run shows.  For a geometric fit over equally spaced iterations the least-squares slope is a
positive weighted average of the one-step log ratios, so a trace with every ratio
:math:`e_{k+1}/e_k \le \rho` has fitted rate :math:`\le \rho`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RateFit", "fit_rate"]


@dataclass(frozen=True)
class RateFit:
    """Result of :func:`fit_rate`.

    Attributes
    ----------
    kind : {"geometric", "polynomial"}
    rate : float
        Geometric: :math:`\\rho = e^{\\text{slope}}` (error ratio per step).  Polynomial: the
        exponent :math:`p` in :math:`e_k \\approx C k^{p}` (negative for decaying errors).
    slope, intercept : float
        Of the least-squares line in log space.
    residual : float
        Root-mean-square residual of that line, in natural-log units.
    n_points : int
        Points used (after dropping those at or below ``floor``).
    """

    kind: str
    rate: float
    slope: float
    intercept: float
    residual: float
    n_points: int


def fit_rate(trace, x=None, *, kind: str = "geometric", floor: float = 0.0, start: int = 0) -> RateFit | None:
    """Least-squares rate of a positive, decaying trace.

    Parameters
    ----------
    trace : array_like (K,)
        Errors or residuals, e.g. :math:`\\|v_k - v^*\\|_\\infty` for ``k = 0..K-1``.
    x : array_like (K,), optional
        Abscissae; default ``0..K-1`` (geometric) or ``1..K`` (polynomial).
    kind : {"geometric", "polynomial"}
        Log-linear (``log e`` vs ``x``) or log-log (``log e`` vs ``log x``) fit.
    floor : float
        Points with ``trace <= floor`` (converged to round-off) are dropped, as is everything after
        the first such point.
    start : int
        Skip the first ``start`` points (transient).

    Returns
    -------
    RateFit or None
        None when fewer than 3 usable points remain.

    Raises
    ------
    ValueError
        Unknown ``kind``, NaN in ``trace``, or ``x`` of the wrong shape.
    """
    y = np.asarray(trace, dtype=float).ravel()
    if np.isnan(y).any():
        raise ValueError("fit_rate: trace contains NaN")
    if kind not in ("geometric", "polynomial"):
        raise ValueError(f"fit_rate: kind must be 'geometric' or 'polynomial', got {kind!r}")
    if x is None:
        xx = np.arange(y.size, dtype=float) + (1.0 if kind == "polynomial" else 0.0)
    else:
        xx = np.asarray(x, dtype=float).ravel()
        if xx.shape != y.shape:
            raise ValueError(f"fit_rate: x has shape {xx.shape}, trace {y.shape}")
    below = np.flatnonzero(~(y > floor))
    stop = below[0] if below.size else y.size
    y, xx = y[start:stop], xx[start:stop]
    if y.size < 3:
        return None
    if kind == "polynomial":
        if (xx <= 0).any():
            raise ValueError("fit_rate: polynomial fit needs x > 0")
        xx = np.log(xx)
    ly = np.log(y)
    slope, intercept = np.polyfit(xx, ly, 1)
    res = float(np.sqrt(np.mean((ly - (intercept + slope * xx)) ** 2)))
    rate = float(np.exp(slope)) if kind == "geometric" else float(slope)
    return RateFit(kind, rate, float(slope), float(intercept), res, int(y.size))

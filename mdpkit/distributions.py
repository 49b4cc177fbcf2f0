r"""Return distributions: representations, projections, distances and risk measures.

The random return of a policy :math:`\pi` from state :math:`s` is
:math:`G(s) = \sum_{t \ge 0} \gamma^t r_t` with :math:`r_t = r(s_t, a_t, s_{t+1})`, the realised
reward (``mdp.R_sas`` when the model has it, else the deterministic ``R[s, a]``).  Its law
:math:`\eta^\pi(s)` is the fixed point of the distributional Bellman operator

.. math:: (T^\pi \eta)(s) = \sum_{a, s'} \pi(a|s) P(s'|s,a)\, (b_{r(s,a,s'), \gamma})_\# \eta(s'),
   \qquad b_{r,\gamma}(x) = r + \gamma x .

Representations (one per row of a batch, usually the states)
    :class:`CategoricalReturns`  probabilities ``probs (..., K)`` on a sorted support ``z (K,)``;
    :class:`QuantileReturns`     ``m`` atoms ``(..., m)`` of mass ``1/m`` at levels
    :math:`\tau_i = (2i-1)/(2m)`;
    :class:`FiniteReturns`       exact finite-support laws (particles), one ``(x, p)`` pair per row,
    for small models and short horizons (:func:`exact_return_distributions`).
Projections
    :func:`categorical_projection` (the Cramer/l2 projection, Rowland et al. 2018, Prop. 1; mass
    outside ``[z_1, z_K]`` goes to the nearest end atom, as in the paper's definition),
    :func:`quantile_projection` (the W1 projection: atoms at :math:`F^{-1}(\tau_i)`, Dabney et al.
    2018, Lemma 2).
Distances (between two finite-support laws, computed exactly)
    :func:`cramer_distance` (:math:`\ell_2`), :func:`lp_distance`, :func:`wasserstein_distance`
    (:math:`w_p`, ``p = inf`` allowed), :func:`sup_distance` (max over rows).
Risk measures
    :func:`mean`, :func:`value_at_risk`, :func:`cvar`, :func:`entropic_risk`, :func:`evar`.
Monte Carlo
    :func:`sample_returns` (truncated discounted returns, with the truncation error) and
    :class:`MonteCarloReturns` with DKW confidence bands on the CDF (:func:`dkw_epsilon`).

Risk-level convention (used everywhere in mdpkit)
-------------------------------------------------
Returns are rewards: *low* is bad.  ``alpha`` in ``[0, 1]`` is the fraction of the *lower* tail.

* :math:`\mathrm{VaR}_\alpha(G) = F^{-1}(\alpha) = \inf\{x : F(x) \ge \alpha\}` for
  :math:`\alpha \in (0, 1]`, and :math:`\mathrm{VaR}_0(G) = \operatorname{ess\,inf} G` (the
  smallest atom), which is the limit :math:`\alpha \downarrow 0`.
* :math:`\mathrm{CVaR}_\alpha(G) = \frac{1}{\alpha}\int_0^\alpha F^{-1}(u)\,du` for
  :math:`\alpha \in (0, 1]` (so :math:`\mathrm{CVaR}_1 = \mathbb{E}G`), and
  :math:`\mathrm{CVaR}_0(G) = \operatorname{ess\,inf} G`.  This equals the Rockafellar-Uryasev
  form :math:`\max_c \{ c - \frac{1}{\alpha}\mathbb{E}(c - G)^+ \}`.
* :math:`\mathrm{ERM}_\beta(G) = -\frac{1}{\beta}\log \mathbb{E} e^{-\beta G}` (risk-averse for
  :math:`\beta > 0`, risk-seeking for :math:`\beta < 0`, the mean at :math:`\beta = 0`).
* :math:`\mathrm{EVaR}_\alpha(G) = \sup_{\beta > 0} \{\mathrm{ERM}_\beta(G) + \frac{\log\alpha}{\beta}\}`
  for :math:`\alpha \in (0, 1]` (so :math:`\mathrm{EVaR}_1 = \mathbb{E}G`), and
  :math:`\mathrm{EVaR}_0(G) = \operatorname{ess\,inf} G`; it satisfies
  :math:`\mathrm{EVaR}_\alpha \le \mathrm{CVaR}_\alpha` (Ahmadi-Javid 2012, written there for losses).

Numerical convention: :func:`value_at_risk` and :func:`quantile_projection` compare cumulative
masses with ``cum >= level - 1e-12`` (:data:`QUANTILE_LEVEL_ATOL`), so a cumulative mass equal to
the level up to rounding picks the lower atom.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from ._exceptions import InvalidArgumentError
from ._kernels import distributional as _dk
from ._kernels.distributional import QUANTILE_LEVEL_ATOL
from ._validation import ROW_SUM_ATOL, as_float_array, check_int, first_index, fmt_index, readonly
from .model import TabularMDP
from .policies import check_policy

__all__ = [
    "CategoricalReturns",
    "FiniteReturns",
    "MonteCarloReturns",
    "QUANTILE_LEVEL_ATOL",
    "QuantileReturns",
    "categorical_projection",
    "check_support",
    "cramer_distance",
    "cvar",
    "distributional_bellman_exact",
    "dkw_epsilon",
    "entropic_risk",
    "evar",
    "exact_return_distributions",
    "lp_distance",
    "mean",
    "policy_transition_entries",
    "quantile_levels",
    "quantile_projection",
    "sample_returns",
    "sup_distance",
    "uniform_support",
    "value_at_risk",
    "wasserstein_distance",
]


# ----------------------------------------------------------------------------- validation
def check_support(z, name: str = "support") -> np.ndarray:
    """A categorical support as float64 (K,), finite and strictly increasing; raises :class:`InvalidArgumentError`."""
    z = as_float_array(z, name, 1, exc=InvalidArgumentError)
    if z.shape[0] < 1:
        raise InvalidArgumentError(f"{name} must have at least one atom")
    bad = np.diff(z) <= 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(
            f"{name} must be strictly increasing; {name}[{i}] = {z[i]!r} >= {name}[{i + 1}] = {z[i + 1]!r}"
        )
    return z


def _check_probs(p, name: str, atol: float = ROW_SUM_ATOL) -> np.ndarray:
    p = as_float_array(p, name, tuple(range(1, 8)), exc=InvalidArgumentError)
    if np.any(p < 0):
        idx = first_index(p < 0)
        raise InvalidArgumentError(f"{fmt_index(name, idx)} = {float(p[idx])!r} is negative; masses must be >= 0")
    sums = p.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if np.any(bad):
        idx = first_index(np.atleast_1d(bad))
        s = float(np.atleast_1d(sums)[idx])
        where = fmt_index(name, idx, trailing_colon=True) if p.ndim > 1 else name
        raise InvalidArgumentError(f"{where} sums to {s!r}; expected 1 within atol={atol:g}")
    return p


def _check_atoms(x, p, who: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validate a finite-support law ``(x, p)``: 1-D or batched ``(..., n)``, same shapes."""
    xn, pn = f"{who}x", f"{who}p"
    x = as_float_array(x, xn, tuple(range(1, 8)), exc=InvalidArgumentError)
    p = _check_probs(p, pn)
    if x.shape != p.shape:
        raise InvalidArgumentError(f"{xn} and {pn} must have the same shape, got {x.shape} and {p.shape}")
    if x.shape[-1] < 1:
        raise InvalidArgumentError(f"{xn} must hold at least one atom")
    return x, p


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not (0.0 <= float(alpha) <= 1.0):
        raise InvalidArgumentError(f"alpha must be a real number in [0, 1], got {alpha!r}")
    return float(alpha)


# ----------------------------------------------------------------------------- helpers
def quantile_levels(m: int) -> NDArray[np.float64]:
    r"""The quantile levels :math:`\tau_i = (2i-1)/(2m)`, ``i = 1..m``, shape ``(m,)``."""
    m = check_int(m, "m", minimum=1)
    return (2.0 * np.arange(1, m + 1) - 1.0) / (2.0 * m)


def uniform_support(v_min: float, v_max: float, K: int) -> NDArray[np.float64]:
    """``K`` evenly spaced atoms from ``v_min`` to ``v_max`` (both included), shape ``(K,)``."""
    K = check_int(K, "K", minimum=2)
    lo, hi = float(v_min), float(v_max)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise InvalidArgumentError(f"need finite v_min < v_max, got v_min={v_min!r}, v_max={v_max!r}")
    return np.linspace(lo, hi, K)


def _sorted_merge(x, p):
    """Sort the atoms of a 1-D law and merge equal locations (exact float equality)."""
    order = np.argsort(x, kind="mergesort")
    xs, ps = x[order], p[order]
    u, inv = np.unique(xs, return_inverse=True)
    pu = np.zeros(u.shape[0])
    np.add.at(pu, inv, ps)
    return u, pu


# ----------------------------------------------------------------------------- projections
def categorical_projection(x: ArrayLike, p: ArrayLike, support: ArrayLike) -> NDArray[np.float64]:
    r"""Cramer (:math:`\ell_2`) projection of finite-support laws onto a sorted support.

    An atom at :math:`y \in [z_i, z_{i+1}]` splits its mass between :math:`z_i` and
    :math:`z_{i+1}` in proportion :math:`(z_{i+1}-y) : (y - z_i)`; an atom below :math:`z_1`
    (above :math:`z_K`) goes to :math:`z_1` (:math:`z_K`).  This is the orthogonal projection in the
    Cramer geometry (Rowland et al. 2018, Prop. 1); it preserves the mean when every atom lies in
    :math:`[z_1, z_K]`, and it is a non-expansion in :math:`\ell_2` (ibid., Lemma 3 / Prop. 1).

    Parameters
    ----------
    x, p : array_like of shape (n,) or (B, n)
        Atom locations and masses (each row non-negative, summing to 1 within 1e-8).
    support : array_like of shape (K,)
        Strictly increasing atoms.

    Returns
    -------
    ndarray of shape (K,) or (B, K)

    Raises
    ------
    InvalidArgumentError
        Non-finite or mismatched arrays, negative masses, rows not summing to 1, unsorted support.
    """
    z = check_support(support)
    x, p = _check_atoms(x, p)
    one = x.ndim == 1
    X, Pm = np.atleast_2d(x), np.atleast_2d(p)
    if X.ndim > 2:
        X, Pm = X.reshape(-1, X.shape[-1]), Pm.reshape(-1, Pm.shape[-1])
    out = np.empty((X.shape[0], z.shape[0]))
    _dk.project(X, Pm, z, out)
    return out[0] if one else out.reshape(x.shape[:-1] + (z.shape[0],))


def _quantile_rows(x, p, m):
    """Generalised inverse CDF at tau_i for each row of (B, n) atoms (the kernel's convention)."""
    tau = quantile_levels(m)
    out = np.empty((x.shape[0], m))
    for b in range(x.shape[0]):
        order = np.argsort(x[b], kind="mergesort")
        xs, cum = x[b][order], np.cumsum(p[b][order])
        idx = np.searchsorted(cum, tau - QUANTILE_LEVEL_ATOL, side="left")
        out[b] = xs[np.minimum(idx, xs.shape[0] - 1)]
    return out


def quantile_projection(x: ArrayLike, p: ArrayLike, m: int) -> NDArray[np.float64]:
    r"""W1 projection onto ``m`` equally weighted atoms: :math:`\theta_i = F^{-1}(\tau_i)`.

    :math:`\tau_i = (2i-1)/(2m)` and :math:`F^{-1}(\tau) = \inf\{x: F(x) \ge \tau\}` (the
    midpoints of the quantile intervals minimise the W1 distance, Dabney et al. 2018, Lemma 2).
    The projection does **not** preserve the mean in general.

    Parameters
    ----------
    x, p : array_like of shape (n,) or (B, n)
    m : int >= 1

    Returns
    -------
    ndarray of shape (m,) or (B, m), sorted non-decreasing along the last axis.
    """
    m = check_int(m, "m", minimum=1)
    x, p = _check_atoms(x, p)
    one = x.ndim == 1
    X, Pm = x.reshape(-1, x.shape[-1]), p.reshape(-1, p.shape[-1])
    out = _quantile_rows(X, Pm, m)
    return out[0] if one else out.reshape(x.shape[:-1] + (m,))


# ----------------------------------------------------------------------------- distances
def _cdf_at(x, p, t):
    """CDF of the law (x, p) evaluated at the sorted points t (right-continuous)."""
    order = np.argsort(x, kind="mergesort")
    cum = np.concatenate(([0.0], np.cumsum(p[order])))
    return cum[np.searchsorted(x[order], t, side="right")]


def _cdf_pieces(x1, p1, x2, p2):
    """Merged breakpoints and the two CDFs on each interval between consecutive breakpoints."""
    pts = np.union1d(x1, x2)
    return np.diff(pts), _cdf_at(x1, p1, pts[:-1]), _cdf_at(x2, p2, pts[:-1])


def lp_distance(x1: ArrayLike, p1: ArrayLike, x2: ArrayLike, p2: ArrayLike, p: float = 2.0) -> float:
    r""":math:`\ell_p(\nu_1, \nu_2) = (\int |F_1(x) - F_2(x)|^p dx)^{1/p}` for finite-support laws (1-D).

    Computed exactly (the CDFs are piecewise constant).  ``p = 2`` is the Cramer distance and
    ``p = 1`` equals :math:`w_1`.  ``p = inf`` gives :math:`\sup_x |F_1 - F_2|` (Kolmogorov).
    """
    x1, p1 = _check_atoms(x1, p1, "1:")
    x2, p2 = _check_atoms(x2, p2, "2:")
    if x1.ndim != 1 or x2.ndim != 1:
        raise InvalidArgumentError("lp_distance takes one law per argument (1-D x and p)")
    q = float(p)
    if not (q >= 1.0):
        raise InvalidArgumentError(f"p must be >= 1 (or inf), got {p!r}")
    dx, F1, F2 = _cdf_pieces(x1, p1, x2, p2)
    d = np.abs(F1 - F2)
    if math.isinf(q):
        both = np.union1d(x1, x2)
        return float(np.max(np.abs(_cdf_at(x1, p1, both) - _cdf_at(x2, p2, both))))
    return float(np.sum(d**q * dx) ** (1.0 / q))


def cramer_distance(x1: ArrayLike, p1: ArrayLike, x2: ArrayLike, p2: ArrayLike) -> float:
    r"""The Cramer distance :math:`\ell_2(\nu_1,\nu_2) = (\int (F_1-F_2)^2 dx)^{1/2}` (exact, 1-D)."""
    return lp_distance(x1, p1, x2, p2, 2.0)


def wasserstein_distance(x1: ArrayLike, p1: ArrayLike, x2: ArrayLike, p2: ArrayLike, p: float = 1.0) -> float:
    r""":math:`w_p(\nu_1,\nu_2) = (\int_0^1 |F_1^{-1}(u) - F_2^{-1}(u)|^p du)^{1/p}`, exact, 1-D.

    ``p = inf`` gives :math:`w_\infty = \sup_{u \in (0,1)} |F_1^{-1}(u) - F_2^{-1}(u)|`.
    Both quantile functions are piecewise constant on the merged cumulative levels; level intervals
    shorter than 1e-12 (:data:`QUANTILE_LEVEL_ATOL`, rounding of the cumulative sums) are ignored.
    """
    x1, p1 = _check_atoms(x1, p1, "1:")
    x2, p2 = _check_atoms(x2, p2, "2:")
    if x1.ndim != 1 or x2.ndim != 1:
        raise InvalidArgumentError("wasserstein_distance takes one law per argument (1-D x and p)")
    q = float(p)
    if not (q >= 1.0):
        raise InvalidArgumentError(f"p must be >= 1 (or inf), got {p!r}")
    a1, b1 = _sorted_merge(x1, p1)
    a2, b2 = _sorted_merge(x2, p2)
    c1, c2 = np.cumsum(b1), np.cumsum(b2)
    c1[-1] = c2[-1] = 1.0
    levels = np.union1d(c1, c2)
    levels = levels[levels > 0]
    du = np.diff(np.concatenate(([0.0], levels)))
    keep = du > QUANTILE_LEVEL_ATOL  # level gaps below 1e-12 are rounding of the cumulative sums
    mids = (np.concatenate(([0.0], levels))[:-1] + levels) / 2.0
    q1 = a1[np.minimum(np.searchsorted(c1, mids, side="left"), a1.shape[0] - 1)]
    q2 = a2[np.minimum(np.searchsorted(c2, mids, side="left"), a2.shape[0] - 1)]
    d = np.abs(q1 - q2)[keep]
    if math.isinf(q):
        return float(d.max())
    return float(np.sum(d**q * du[keep]) ** (1.0 / q))


_METRICS = ("cramer", "w1", "winf")


def sup_distance(eta1, eta2, metric: str = "cramer", p: float | None = None) -> float:
    r"""``max`` over rows (states) of a distance between two return-distribution functions.

    ``eta1``, ``eta2`` are any of :class:`CategoricalReturns`, :class:`QuantileReturns`,
    :class:`FiniteReturns` with the same number of rows.  ``metric`` is ``"cramer"``
    (:math:`\bar\ell_2`), ``"w1"``, ``"winf"``, ``"lp"`` or ``"wp"`` (then give ``p``).
    """
    l1, l2 = eta1.laws(), eta2.laws()
    if len(l1) != len(l2):
        raise InvalidArgumentError(f"eta1 and eta2 have {len(l1)} and {len(l2)} rows")
    if metric == "cramer":
        f = lambda a, b: lp_distance(*a, *b, 2.0)  # noqa: E731
    elif metric == "w1":
        f = lambda a, b: wasserstein_distance(*a, *b, 1.0)  # noqa: E731
    elif metric == "winf":
        f = lambda a, b: wasserstein_distance(*a, *b, math.inf)  # noqa: E731
    elif metric in ("lp", "wp"):
        if p is None:
            raise InvalidArgumentError(f"metric {metric!r} needs p")
        g = lp_distance if metric == "lp" else wasserstein_distance
        f = lambda a, b: g(*a, *b, p)  # noqa: E731
    else:
        raise InvalidArgumentError(f"metric must be one of cramer, w1, winf, lp, wp; got {metric!r}")
    return max(f(a, b) for a, b in zip(l1, l2))


# ----------------------------------------------------------------------------- risk measures
def _rows(x, p):
    x, p = _check_atoms(x, p)
    return x, p, x.shape[:-1]


def mean(x: ArrayLike, p: ArrayLike) -> NDArray[np.float64] | float:
    """Mean of finite-support laws; ``x, p`` of shape (n,) or (..., n); returns shape (...)."""
    x, p, shape = _rows(x, p)
    out = np.sum(x * p, axis=-1)
    return float(out) if not shape else out


def _lower_tail_rows(x, p, alpha: float, one):
    """Apply ``one(xs, ps)`` to each law of ``x, p`` (n,) or (..., n) with atoms sorted ascending
    (stable, so tied atoms keep their order); level 0 gives the smallest atom of positive mass."""
    x, p, shape = _rows(x, p)
    X, Pm = x.reshape(-1, x.shape[-1]), p.reshape(-1, p.shape[-1])
    out = np.empty(X.shape[0])
    for b in range(X.shape[0]):
        order = np.argsort(X[b], kind="mergesort")
        xs, ps = X[b][order], Pm[b][order]
        out[b] = xs[ps > 0][0] if alpha == 0.0 else one(xs, ps)
    return float(out[0]) if not shape else out.reshape(shape)


def value_at_risk(x: ArrayLike, p: ArrayLike, alpha: float) -> NDArray[np.float64] | float:
    r"""Lower-tail :math:`\mathrm{VaR}_\alpha = \inf\{x : F(x) \ge \alpha\}`; ``VaR_0`` is the smallest atom.

    See the module docstring for the convention.  ``x, p`` of shape (n,) or (..., n).
    """
    a = _check_alpha(alpha)

    def one(xs, ps):
        i = int(np.searchsorted(np.cumsum(ps), a - QUANTILE_LEVEL_ATOL, side="left"))
        return xs[min(i, xs.shape[0] - 1)]

    return _lower_tail_rows(x, p, a, one)


def cvar(x: ArrayLike, p: ArrayLike, alpha: float) -> NDArray[np.float64] | float:
    r"""Lower-tail :math:`\mathrm{CVaR}_\alpha = \frac1\alpha\int_0^\alpha F^{-1}(u)du`; ``CVaR_0`` = smallest atom.

    ``CVaR_1`` is the mean.  Computed as :math:`\frac1\alpha\sum_i x_{(i)}\min(p_{(i)},
    (\alpha - c_{(i-1)})^+)` on the sorted atoms with cumulative masses :math:`c`.
    """
    a = _check_alpha(alpha)

    def one(xs, ps):
        prev = np.concatenate(([0.0], np.cumsum(ps)[:-1]))
        return float(np.dot(np.clip(a - prev, 0.0, ps), xs) / a)

    return _lower_tail_rows(x, p, a, one)


def entropic_risk(x: ArrayLike, p: ArrayLike, beta: float) -> NDArray[np.float64] | float:
    r"""Entropic risk :math:`\mathrm{ERM}_\beta = -\frac1\beta \log \mathbb{E} e^{-\beta G}` (mean at ``beta = 0``).

    Computed with a log-sum-exp shift, so large ``|beta|`` does not overflow.
    """
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not np.isfinite(float(beta)):
        raise InvalidArgumentError(f"beta must be a finite real number, got {beta!r}")
    bt = float(beta)
    x, p, shape = _rows(x, p)
    if bt == 0.0:
        out = np.sum(x * p, axis=-1)
    else:
        y = -bt * x
        ymax = np.max(np.where(p > 0, y, -np.inf), axis=-1, keepdims=True)
        with np.errstate(divide="ignore"):
            lse = ymax[..., 0] + np.log(np.sum(p * np.exp(y - ymax), axis=-1))
        out = -lse / bt
    return float(out) if not shape else out


def _evar_row(xs, ps, a):
    """EVaR of one sorted law (masses > 0) at level a in (0, 1): concave 1-D maximisation in t = 1/beta."""
    import scipy.optimize as so

    m = float(xs[0])
    y = xs - m  # >= 0
    ey = float(np.dot(ps, y))
    if ey <= 0.0:
        return m
    la = math.log(a)

    def f(t):  # m + t log(a) - t log E exp(-Y/t); concave in t > 0 (perspective of the CGF)
        if t <= 0.0:
            return m
        return m + t * la - t * math.log(float(np.dot(ps, np.exp(-y / t))))

    t_hi = ey / (-la)  # f(t) <= m + t log a + E Y < m for t > t_hi (Jensen), and f(0+) = m
    r = so.minimize_scalar(lambda t: -f(t), bounds=(0.0, t_hi), method="bounded",
                           options={"xatol": 1e-12 * max(1.0, t_hi), "maxiter": 500})
    return max(m, f(float(r.x)))


def evar(x: ArrayLike, p: ArrayLike, alpha: float) -> NDArray[np.float64] | float:
    r"""Lower-tail entropic value-at-risk :math:`\mathrm{EVaR}_\alpha(G) = \sup_{\beta>0}\{\mathrm{ERM}_\beta(G) + \log(\alpha)/\beta\}`.

    Ahmadi-Javid (2012, J. Optim. Theory Appl. 155:1105-1123), where it is written for losses
    :math:`X = -G` as :math:`\inf_{z>0} z^{-1}\log(M_X(z)/\alpha)` (definition and the bound
    :math:`\mathrm{EVaR}_\alpha \le \mathrm{CVaR}_\alpha` in the reward orientation; the paper's
    numbering was not checked, the paper text was not at hand).  ``EVaR_1`` is the mean and
    ``EVaR_0`` the smallest atom (the limits).
    Computed through its 1-D convex dual in :math:`t = 1/\beta`: with :math:`m = \min G` and
    :math:`Y = G - m \ge 0`, :math:`f(t) = m + t\log\alpha - t\log\mathbb{E}e^{-Y/t}` is concave
    (perspective of the cumulant generating function), :math:`f(0^+) = m` and the maximiser lies in
    :math:`[0, \mathbb{E}Y/(-\log\alpha)]` (Jensen), where a bounded Brent search finds it (relative
    tolerance 1e-12 in ``t``).  ``x, p`` of shape (n,) or (..., n); returns shape (...).
    """
    a = _check_alpha(alpha)
    x, p, shape = _rows(x, p)
    X, Pm = x.reshape(-1, x.shape[-1]), p.reshape(-1, p.shape[-1])
    out = np.empty(X.shape[0])
    for b in range(X.shape[0]):
        xs, ps = _sorted_merge(X[b], Pm[b])
        keep = ps > 0
        xs, ps = xs[keep], ps[keep] / ps[keep].sum()
        if a == 0.0:
            out[b] = xs[0]
        elif a == 1.0:
            out[b] = float(np.dot(xs, ps))
        else:
            out[b] = _evar_row(xs, ps, a)
    return float(out[0]) if not shape else out.reshape(shape)


# ----------------------------------------------------------------------------- representations
class _RiskMixin:
    def mean(self):
        """Mean per row, shape ``batch_shape``."""
        x, p = self.atoms()
        return mean(x, p)

    def value_at_risk(self, alpha: float):
        """Lower-tail VaR per row (module convention)."""
        x, p = self.atoms()
        return value_at_risk(x, p, alpha)

    def cvar(self, alpha: float):
        """Lower-tail CVaR per row (module convention)."""
        x, p = self.atoms()
        return cvar(x, p, alpha)

    def entropic_risk(self, beta: float):
        """Entropic risk per row."""
        x, p = self.atoms()
        return entropic_risk(x, p, beta)

    def evar(self, alpha: float):
        """Lower-tail EVaR per row (module convention)."""
        x, p = self.atoms()
        return evar(x, p, alpha)

    def laws(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """One ``(x, p)`` pair per row (rows in C order over ``batch_shape``)."""
        x, p = self.atoms()
        X, Pm = x.reshape(-1, x.shape[-1]), p.reshape(-1, p.shape[-1])
        return [(X[i], Pm[i]) for i in range(X.shape[0])]


@dataclass(frozen=True, eq=False)
class CategoricalReturns(_RiskMixin):
    """Categorical laws on a common sorted support.

    Attributes
    ----------
    support : ndarray (K,), strictly increasing
    probs : ndarray (..., K), rows non-negative and summing to 1 within 1e-8 (e.g. (S, K) or (S, A, K))
    """

    support: np.ndarray
    probs: np.ndarray

    def __post_init__(self):
        z = readonly(check_support(self.support))
        p = _check_probs(self.probs, "probs")
        if p.shape[-1] != z.shape[0]:
            raise InvalidArgumentError(f"probs must end in K = {z.shape[0]} (the support size), got {p.shape}")
        object.__setattr__(self, "support", z)
        object.__setattr__(self, "probs", readonly(p))

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.probs.shape[:-1]

    def atoms(self):
        """``(x, p)`` of shape ``(..., K)`` (the support broadcast to every row)."""
        return np.broadcast_to(self.support, self.probs.shape).copy(), self.probs

    def cdf(self) -> np.ndarray:
        """Cumulative probabilities at the atoms, shape (..., K)."""
        return np.cumsum(self.probs, axis=-1)


@dataclass(frozen=True, eq=False)
class QuantileReturns(_RiskMixin):
    r"""Quantile laws: ``m`` atoms of mass ``1/m`` meant to sit at levels :math:`\tau_i = (2i-1)/(2m)`.

    Attributes
    ----------
    locations : ndarray (..., m), non-decreasing along the last axis
    """

    locations: np.ndarray

    def __post_init__(self):
        th = as_float_array(self.locations, "locations", tuple(range(1, 8)), exc=InvalidArgumentError)
        bad = np.diff(th, axis=-1) < 0
        if bad.any():
            idx = first_index(bad)
            raise InvalidArgumentError(f"{fmt_index('locations', idx)} decreases to the next atom; locations must be sorted")
        object.__setattr__(self, "locations", readonly(th))

    @property
    def m(self) -> int:
        return self.locations.shape[-1]

    @property
    def tau(self) -> np.ndarray:
        return quantile_levels(self.m)

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.locations.shape[:-1]

    def atoms(self):
        return self.locations.copy(), np.full(self.locations.shape, 1.0 / self.m)


@dataclass(frozen=True, eq=False)
class FiniteReturns(_RiskMixin):
    """Exact finite-support laws, one per row; row ``i`` is ``(x[i], p[i])`` with its own length.

    Equal locations within a row are merged (exact float equality); atoms are sorted.
    """

    x: tuple
    p: tuple

    def __post_init__(self):
        if len(self.x) != len(self.p) or len(self.x) == 0:
            raise InvalidArgumentError(f"x and p must be non-empty sequences of equal length, got {len(self.x)}, {len(self.p)}")
        xs, ps = [], []
        for i, (a, b) in enumerate(zip(self.x, self.p)):
            a, b = _check_atoms(a, b, f"[{i}]")
            if a.ndim != 1:
                raise InvalidArgumentError(f"row {i}: x and p must be 1-D")
            u, pu = _sorted_merge(a, b)
            xs.append(readonly(u))
            ps.append(readonly(pu))
        object.__setattr__(self, "x", tuple(xs))
        object.__setattr__(self, "p", tuple(ps))

    def laws(self):
        return list(zip(self.x, self.p))

    def _each(self, f, *args):
        return np.array([f(a, b, *args) for a, b in zip(self.x, self.p)])

    def mean(self):
        return self._each(mean)

    def value_at_risk(self, alpha: float):
        return self._each(value_at_risk, alpha)

    def cvar(self, alpha: float):
        return self._each(cvar, alpha)

    def entropic_risk(self, beta: float):
        return self._each(entropic_risk, beta)

    def evar(self, alpha: float):
        return self._each(evar, alpha)

    def atoms(self):
        raise InvalidArgumentError("FiniteReturns rows have different lengths; use laws()")


# ----------------------------------------------------------------------------- exact operator
def policy_transition_entries(mdp: TabularMDP, policy: ArrayLike):
    r"""Flatten ``pi(a|s) P(s'|s, a)`` and the realised rewards into per-state entry lists.

    Returns ``(indptr (S+1,) int64, nxt (E,) int64, w (E,) float64, rew (E,) float64)``: the
    entries of state ``s`` are ``indptr[s]:indptr[s+1]``, one per ``(a, s')`` with positive weight
    ``w = pi(a|s) P(s'|s, a)``; ``rew`` is ``R_sas[s, a, s']`` when the model has ``R_sas``, else
    the deterministic ``R[s, a]``.  Works for dense and CSR models alike.
    """
    pi = check_policy(mdp, policy)
    S, A = mdp.S, mdp.A
    if pi.ndim == 1:
        W = np.zeros((S, A))
        W[np.arange(S), pi] = 1.0
    else:
        W = pi
    Prow = sp.csr_matrix(mdp.P_rows) if not mdp.is_sparse else mdp.P_rows.tocsr()
    Prow = Prow.tocoo()
    rows, cols, vals = Prow.row, Prow.col, Prow.data
    s_of, a_of = rows // A, rows % A
    wts = W[s_of, a_of] * vals
    if mdp.R_sas is not None:
        Rs = mdp.R_sas
        if sp.issparse(Rs):
            Rd = Rs.tocsr()
            rew = np.asarray(Rd[rows, cols]).ravel()
        else:
            rew = Rs[s_of, a_of, cols]
    else:
        rew = mdp.R[s_of, a_of]
    keep = wts > 0
    s_k = s_of[keep]
    order = np.lexsort((cols[keep], a_of[keep], s_k))
    s_k = s_k[order]
    nxt = cols[keep][order].astype(np.int64)
    w = np.ascontiguousarray(wts[keep][order], dtype=np.float64)
    rew = np.ascontiguousarray(np.asarray(rew, dtype=np.float64)[keep][order])
    indptr = np.zeros(S + 1, dtype=np.int64)
    np.add.at(indptr, s_k + 1, 1)
    indptr = np.cumsum(indptr)
    return indptr, nxt, w, rew


def distributional_bellman_exact(mdp: TabularMDP, policy: ArrayLike, eta: FiniteReturns) -> FiniteReturns:
    r"""Apply the (unprojected) distributional Bellman operator :math:`T^\pi` to exact laws.

    The result is exact up to float rounding of the atoms :math:`r + \gamma x`; its support size is
    at most (number of entries of a state) x (support size of the next states).
    """
    if not isinstance(eta, FiniteReturns) or len(eta.x) != mdp.S:
        raise InvalidArgumentError(f"eta must be FiniteReturns with S = {mdp.S} rows")
    indptr, nxt, w, rew = policy_transition_entries(mdp, policy)
    g = mdp.gamma
    xs, ps = [], []
    for s in range(mdp.S):
        e = slice(indptr[s], indptr[s + 1])
        xs.append(np.concatenate([rew[k] + g * eta.x[nxt[k]] for k in range(e.start, e.stop)]))
        ps.append(np.concatenate([w[k] * eta.p[nxt[k]] for k in range(e.start, e.stop)]))
    return FiniteReturns(tuple(xs), tuple(ps))


def exact_return_distributions(mdp: TabularMDP, policy: ArrayLike, horizon: int, initial: FiniteReturns | None = None) -> FiniteReturns:
    r"""Exact laws of :math:`\sum_{t<H} \gamma^t r_t + \gamma^H G_0(s_H)`: :math:`(T^\pi)^H \eta_0`.

    ``initial`` is :math:`\eta_0` (a point mass at 0 in every state when omitted, giving the
    ``H``-step truncated return).  The support can grow like (branching factor)^H: intended for
    small models and short horizons.
    """
    H = check_int(horizon, "horizon", minimum=0)
    eta = initial if initial is not None else FiniteReturns(tuple(np.zeros(1) for _ in range(mdp.S)), tuple(np.ones(1) for _ in range(mdp.S)))
    for _ in range(H):
        eta = distributional_bellman_exact(mdp, policy, eta)
    return eta


# ----------------------------------------------------------------------------- Monte Carlo
def dkw_epsilon(n: int, delta: float) -> float:
    r"""Half-width :math:`\varepsilon = \sqrt{\log(2/\delta)/(2n)}` of the DKW band.

    Dvoretzky-Kiefer-Wolfowitz inequality with Massart's tight constant (Massart 1990, Thm 1):
    :math:`\Pr(\sup_x |F_n(x) - F(x)| > \varepsilon) \le 2 e^{-2 n \varepsilon^2}` for i.i.d. samples.
    """
    n = check_int(n, "n", minimum=1)
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not (0.0 < float(delta) < 1.0):
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta!r}")
    return math.sqrt(math.log(2.0 / float(delta)) / (2.0 * n))


@dataclass(frozen=True, eq=False)
class MonteCarloReturns:
    r"""Sampled discounted returns from one start state.

    Attributes
    ----------
    samples : ndarray (n,), sorted
        :math:`G_H = \sum_{t<H} \gamma^t r_t`, one per independent episode.
    state : int
    horizon : int
        ``H``; the untruncated return :math:`G` satisfies :math:`|G - G_H| \le` ``truncation_error``.
    truncation_error : float
        :math:`\gamma^H \max|r| / (1-\gamma)` (0 when ``gamma == 0``).
    seed : object
        What was passed as ``rng`` (for replay).
    """

    samples: np.ndarray
    state: int
    horizon: int
    truncation_error: float
    seed: object = None

    def cdf_band(self, x: ArrayLike, delta: float) -> tuple[np.ndarray, np.ndarray]:
        r"""A ``1 - delta`` confidence band ``(lower, upper)`` for the CDF of the *untruncated* return at ``x``.

        With :math:`b` = ``truncation_error`` and :math:`\varepsilon` = :func:`dkw_epsilon`:
        :math:`F_n(x - b) - \varepsilon \le F(x) \le F_n(x + b) + \varepsilon`, clipped to [0, 1]
        (simultaneously for all ``x`` with probability at least ``1 - delta``).
        """
        eps = dkw_epsilon(self.samples.shape[0], delta)
        x = np.asarray(x, dtype=float)
        n = self.samples.shape[0]
        b = self.truncation_error
        lo = np.searchsorted(self.samples, x - b, side="right") / n - eps
        hi = np.searchsorted(self.samples, x + b, side="right") / n + eps
        return np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)

    def quantile_band(self, tau: ArrayLike, delta: float) -> tuple[np.ndarray, np.ndarray]:
        r"""``(lower, upper)`` with :math:`F^{-1}(\tau)` inside, simultaneously for all ``tau``, w.p. ``>= 1 - delta``.

        Inverts :meth:`cdf_band`: ``lower`` is the empirical quantile at ``tau - eps`` minus the
        truncation error, ``upper`` the one at ``tau + eps`` plus it (``-inf``/``inf`` when the level
        leaves (0, 1]).
        """
        eps = dkw_epsilon(self.samples.shape[0], delta)
        tau = np.asarray(tau, dtype=float)
        n = self.samples.shape[0]
        b = self.truncation_error

        def emp_q(level):
            k = np.ceil(level * n - 1e-9).astype(np.int64) - 1
            out = np.where(k < 0, -np.inf, self.samples[np.clip(k, 0, n - 1)])
            return np.where(level > 1.0, np.inf, out)

        return emp_q(tau - eps) - b, emp_q(tau + eps) + b


def sample_returns(mdp: TabularMDP, policy: ArrayLike, state: int, n_samples: int, *, horizon: int | None = None,
                   rng=None, tol: float = 1e-10) -> MonteCarloReturns:
    r"""Sample ``n_samples`` independent truncated returns :math:`\sum_{t<H}\gamma^t r_t` from ``state``.

    Actions follow ``policy``, next states ``P``, rewards are ``R_sas`` (else ``R[s, a]``), as in
    the distributional solvers.  ``horizon`` defaults to the smallest ``H`` with
    :math:`\gamma^H \max|r|/(1-\gamma) \le` ``tol``.  Randomness comes only from
    ``np.random.default_rng(rng)``.
    """
    if mdp.gamma >= 1.0:
        raise InvalidArgumentError("sample_returns needs gamma < 1")
    n = check_int(n_samples, "n_samples", minimum=1)
    s0 = check_int(state, "state", minimum=0)
    if s0 >= mdp.S:
        raise InvalidArgumentError(f"state must be < S = {mdp.S}, got {state}")
    indptr, nxt, w, rew = policy_transition_entries(mdp, policy)
    g = mdp.gamma
    rmax = float(np.abs(rew).max()) if rew.size else 0.0
    if horizon is None:
        if g == 0.0 or rmax == 0.0:
            H = 1
        else:
            H = max(1, math.ceil(math.log(tol * (1 - g) / rmax) / math.log(g)))
    else:
        H = check_int(horizon, "horizon", minimum=0)
    trunc = 0.0 if g == 0.0 and H >= 1 else (g**H) * rmax / (1 - g)
    # entries of state s occupy indptr[s]:indptr[s+1] and their weights sum to 1: searching
    # s + u in the running "state index + within-state cumulative weight" picks one entry
    seg = np.repeat(np.arange(mdp.S), np.diff(indptr))
    cw = np.empty_like(w)
    for s in range(mdp.S):
        cw[indptr[s]:indptr[s + 1]] = np.cumsum(w[indptr[s]:indptr[s + 1]])
    key = seg + cw
    gen = np.random.default_rng(rng)
    cur = np.full(n, s0, dtype=np.int64)
    G = np.zeros(n)
    disc = 1.0
    for _ in range(H):
        u = gen.random(n)
        e = np.searchsorted(key, cur + u, side="right")
        e = np.minimum(np.maximum(e, indptr[cur]), indptr[cur + 1] - 1)
        G += disc * rew[e]
        cur = nxt[e]
        disc *= g
    G.sort()
    return MonteCarloReturns(readonly(G), s0, H, float(trunc), rng)

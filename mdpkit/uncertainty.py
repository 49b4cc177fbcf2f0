r"""Uncertainty sets for robust MDPs and nature's inner problems.

A robust MDP replaces the known kernel by a set of plausible kernels.  Under
*sa-rectangularity* nature picks every row ``p = P[s, a, :]`` independently from a set
:math:`\mathcal U_{s,a}` around the nominal row ``q``; the robust Bellman operator is

.. math:: (T_{\mathcal U} v)(s) = \max_a\; R(s,a) + \gamma \min_{p \in \mathcal U_{s,a}} p^\top v .

The inner problem :math:`\min_{p\in\mathcal U} p^\top z` is "nature".  Every built-in set has
an exact Numba kernel (:mod:`mdpkit._kernels.robust`, callable from Numba outer loops) and a
validated Python function here with the signature ``(q, z, radius, ...) -> (p_worst, value)``:

==================  ===========================================================================
function            set around ``q``
==================  ===========================================================================
l1_inner            :math:`\|p-q\|_1 \le \kappa` (Ho, Petrik & Wiesemann 2018), O(n log n)
weighted_l1_inner   :math:`\sum_i w_i |p_i-q_i| \le \kappa`, O(n^2 log n)
linf_inner          :math:`\|p-q\|_\infty \le \kappa` (box), O(n log n)
l2_inner            :math:`\|p-q\|_2 \le \kappa`
chi2_inner          :math:`\sum_i (p_i-q_i)^2/q_i \le \kappa` (Pearson chi-square)
kl_inner            :math:`\sum_i p_i \log(p_i/q_i) \le \kappa` (Nilim & El Ghaoui 2005)
wasserstein_inner   :math:`W_1(p, q) \le \kappa` for a ground metric ``D`` (default ``|i-j|``)
kl_penalty_inner    penalty form :math:`\min_p p^\top z + \beta\,\mathrm{KL}(p\|q)`
tv_penalty_inner    penalty form :math:`\min_p p^\top z + \beta\,\mathrm{TV}(p,q)`, TV = L1 / 2
cvar_inner          :math:`\{0 \le p \le q/\alpha\}`: nested CVaR at level :math:`\alpha`
==================  ===========================================================================

Support semantics (``support=``)
    ``"nominal"`` (default): nature may only move mass among the states with ``q > 0``.
    ``"simplex"``: nature may move mass to any state of the simplex.  For the divergence sets
    (``chi2``, ``kl``, ``kl_penalty``) and ``cvar`` the set itself forces ``p << q``, so both
    semantics give the same set and ``"simplex"`` is accepted as a synonym.

Engines
    ``engine="numba"`` (default) runs the exact kernels; ``engine="cvxpy"`` solves the same
    problem with cvxpy (Clarabel), and also solves any set the user writes in cvxpy
    (:class:`UncertaintySet` with ``kind="cvxpy"`` and a ``constraints(p, q)`` callable).  The
    cvxpy route is the test oracle of the kernels.

Spellings accepted by :func:`parse_uncertainty` (and the CLI): ``"l1:0.1"``,
``"kl:0.05"``, ``"l1:0.2,rect=s"``, ``"linf:0.1,support=simplex"``, ``"cvar:0.25"``,
``"tv_penalty:0.5"``, ``"wasserstein:0.3"``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ._exceptions import InvalidArgumentError
from ._kernels import robust as _rk
from ._validation import as_float_array, check_distribution

__all__ = [
    "KINDS",
    "UncertaintySet",
    "chi2_inner",
    "cvar_inner",
    "cvxpy_inner",
    "kl_inner",
    "kl_penalty_inner",
    "l1_inner",
    "l2_inner",
    "linf_inner",
    "parse_uncertainty",
    "s_rect_bellman_cvxpy",
    "set_auxiliary_arrays",
    "tv_penalty_inner",
    "wasserstein_inner",
    "weighted_l1_inner",
    "worst_case",
]

#: kind name -> kernel code
KINDS = {
    "l1": _rk.L1,
    "linf": _rk.LINF,
    "l2": _rk.L2,
    "chi2": _rk.CHI2,
    "kl": _rk.KL,
    "wasserstein": _rk.WASSERSTEIN,
    "wl1": _rk.WL1,
    "kl_penalty": _rk.KL_PENALTY,
    "tv_penalty": _rk.TV_PENALTY,
    "cvar": _rk.CVAR,
}
_ALIASES = {"box": "linf", "w1": "wasserstein", "weighted_l1": "wl1", "chisq": "chi2", "chi-square": "chi2"}
#: sets that force p << q (support semantics irrelevant)
SUPPORT_ONLY = frozenset({"chi2", "kl", "kl_penalty", "cvar"})
#: penalty forms: the parameter is a penalty weight beta > 0, and beta -> inf is the nominal model
PENALTIES = frozenset({"kl_penalty", "tv_penalty"})
#: kinds with an s-rectangular form {(p_a)_a : sum_a d(p_a, q_a) <= kappa_s} (Numba and cvxpy engines)
S_RECT_KINDS = frozenset({"l1", "linf", "l2", "kl"})

#: absolute tolerance on sum(q) == 1 in the inner-problem functions
Q_ATOL = 1e-8


@dataclass(frozen=True, eq=False)
class UncertaintySet:
    r"""A rectangular uncertainty set specification (validated on use against a model).

    Parameters
    ----------
    kind : str
        One of :data:`KINDS` (``"l1"``, ``"linf"``, ``"l2"``, ``"chi2"``, ``"kl"``,
        ``"wasserstein"``, ``"wl1"``, ``"kl_penalty"``, ``"tv_penalty"``, ``"cvar"``) or
        ``"cvxpy"`` for a user set (cvxpy engine only).
    radius : float or ndarray
        Radius :math:`\kappa \ge 0` (penalty weight :math:`\beta > 0` for penalties, level
        :math:`\alpha \in (0, 1]` for ``cvar``).  sa-rectangular: scalar or ``(S, A)``;
        s-rectangular: scalar or ``(S,)`` (the per-state budget).
    support : {"nominal", "simplex"}
        See the module docstring.
    rectangularity : {"sa", "s"}
        s-rectangular sets are :math:`\{(p_a)_a : \sum_a d(p_a, q_a) \le \kappa_s\}` for
        ``kind`` in :data:`S_RECT_KINDS` (``"l1"``, ``"linf"``, ``"l2"``, ``"kl"``; d the L1,
        L-infinity, L2 distance or KL(p_a || q_a)); other kinds raise
        :class:`InvalidArgumentError`.  The Numba engine solves L1 exactly over breakpoints (Ho,
        Petrik & Wiesemann 2018, Sec. 4) and Linf / L2 / KL by a level search on the per-action
        value curves (:func:`mdpkit._kernels.robust.s_rect_state`).
    weights : ndarray of shape (S,), optional
        State weights :math:`w \ge 0` for ``"wl1"``.
    metric : ndarray of shape (S, S), optional
        Ground metric for ``"wasserstein"`` (non-negative, zero diagonal); ``|i - j|`` if omitted.
    constraints : callable, optional
        For ``kind="cvxpy"``: ``constraints(p, q) -> list`` of cvxpy constraints on the variable
        ``p`` (the simplex constraints are added automatically).
    """

    kind: str
    radius: float | np.ndarray = 0.0
    support: str = "nominal"
    rectangularity: str = "sa"
    weights: np.ndarray | None = None
    metric: np.ndarray | None = None
    constraints: Callable | None = field(default=None, repr=False)

    def __post_init__(self):
        kind = _ALIASES.get(str(self.kind).lower(), str(self.kind).lower())
        object.__setattr__(self, "kind", kind)
        if kind not in KINDS and kind != "cvxpy":
            raise InvalidArgumentError(f"unknown uncertainty set kind {self.kind!r}; expected one of "
                                       f"{sorted(KINDS) + ['cvxpy']}")
        if self.support not in ("nominal", "simplex"):
            raise InvalidArgumentError(f"support must be 'nominal' or 'simplex', got {self.support!r}")
        if self.rectangularity not in ("sa", "s"):
            raise InvalidArgumentError(f"rectangularity must be 'sa' or 's', got {self.rectangularity!r}")
        if self.rectangularity == "s" and kind not in S_RECT_KINDS:
            raise InvalidArgumentError(f"s-rectangular sets (rect='s') are defined for kinds {sorted(S_RECT_KINDS)}; "
                                       f"got kind {kind!r}")
        if kind == "cvxpy" and self.constraints is None:
            raise InvalidArgumentError("kind='cvxpy' needs constraints=callable(p, q) -> list of constraints")
        r = np.asarray(self.radius, dtype=float)
        _check_radius(kind, r, "radius")

    @property
    def code(self) -> int:
        return KINDS[self.kind]

    @property
    def full_support(self) -> bool:
        """True when nature may use every state (and the set does not itself force p << q)."""
        return self.support == "simplex" and self.kind not in SUPPORT_ONLY

    def with_radius(self, radius) -> "UncertaintySet":
        """The same set with another radius (for radius sweeps)."""
        return UncertaintySet(self.kind, radius, self.support, self.rectangularity, self.weights, self.metric,
                              self.constraints)

    def __str__(self) -> str:
        r = self.radius if np.ndim(self.radius) == 0 else f"array{np.shape(self.radius)}"
        return f"{self.kind}:{r}" + (",rect=s" if self.rectangularity == "s" else "") + (
            ",support=simplex" if self.support == "simplex" else "")


def _check_radius(kind: str, r: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(r)):
        raise InvalidArgumentError(f"{name} must be finite, got {r!r}")
    if kind == "cvar":
        if np.any(r <= 0) or np.any(r > 1):
            raise InvalidArgumentError(f"{name} of a cvar set is the level alpha and must lie in (0, 1], got {r!r}")
    elif kind in PENALTIES:
        if np.any(r <= 0):
            raise InvalidArgumentError(f"{name} of a penalty set is the weight beta and must be > 0, got {r!r}")
    elif np.any(r < 0):
        raise InvalidArgumentError(f"{name} must be >= 0, got {r!r}")


def parse_uncertainty(spec) -> UncertaintySet:
    """Parse ``"KIND:RADIUS[,rect=s][,support=simplex]"`` (or pass an :class:`UncertaintySet` through).

    Examples
    --------
    >>> parse_uncertainty("l1:0.1")
    UncertaintySet(kind='l1', radius=0.1, support='nominal', rectangularity='sa', weights=None, metric=None)
    >>> parse_uncertainty("l1:0.2,rect=s").rectangularity
    's'
    """
    if isinstance(spec, UncertaintySet):
        return spec
    if not isinstance(spec, str):
        raise InvalidArgumentError(f"an uncertainty set is an UncertaintySet or a string like 'l1:0.1', got {spec!r}")
    head, *opts = [t.strip() for t in spec.split(",")]
    if ":" not in head:
        raise InvalidArgumentError(f"uncertainty spec {spec!r} must look like 'KIND:RADIUS', e.g. 'l1:0.1'")
    kind, rad = head.split(":", 1)
    try:
        radius = float(rad)
    except ValueError:
        raise InvalidArgumentError(f"radius {rad!r} in uncertainty spec {spec!r} is not a number") from None
    kw = {}
    for o in opts:
        if "=" not in o:
            raise InvalidArgumentError(f"option {o!r} in uncertainty spec {spec!r} must be key=value")
        k, val = (t.strip() for t in o.split("=", 1))
        if k in ("rect", "rectangularity"):
            kw["rectangularity"] = val
        elif k == "support":
            kw["support"] = val
        else:
            raise InvalidArgumentError(f"unknown option {k!r} in uncertainty spec {spec!r} (rect, support)")
    return UncertaintySet(kind, radius, **kw)


# --------------------------------------------------------------------------------------------
# workspaces for the kernels
# --------------------------------------------------------------------------------------------


def make_workspace(n_max: int, kind: int, chunks: int = 1, rows: int = 0):
    """Work buffers for the robust kernels, for rows of at most ``n_max`` gathered states.

    Returns the tuple ``(qb, zb, pb, pos, cols, idx, bb, cb, act, Db, hull, seg_slope, seg_len,
    seg_src, order, tpos, frac, QS, ZS, KS, OS, PS, BS, CS, AS, warm)``, passed to the kernels as
    *one* argument: the first 17 are the buffers of ``_kernels.robust.solve_row`` (the transport
    buffers are (1, 1) dummies unless needed); the next 8 are the (chunks, n_max) per-block scratch
    of the fused sweeps (``QS..PS``: L1, L2, chi2 and KL, ``_kernels.robust.robust_q_l1`` and
    ``div_sweep``; ``BS, CS, AS``: L2, chi2 and KL only; (1, 1) dummies otherwise); ``warm``
    (rows,) holds the per-row warm starts the divergence sweep carries from one sweep to the next
    (KL: the multipliers; L2 and chi2: the active sets, as bits) (pass
    ``rows = S*A``; with the default a (1,) dummy, i.e. no warm start).  Every buffer is freshly
    allocated, writable, float64 or int64 and C-contiguous, and the tuple has the same types for
    every kind and size, so the kernels keep one type signature.  Pass
    ``chunks=_kernels.robust.N_CHUNKS`` to let large sweeps run in parallel.
    """
    n = max(int(n_max), 1)
    f = lambda k: np.zeros(k)  # noqa: E731
    i = lambda k: np.zeros(k, dtype=np.int64)  # noqa: E731
    transport = kind in (_rk.WASSERSTEIN, _rk.WL1)
    m = n if transport else 1
    div = kind in (_rk.L2, _rk.CHI2, _rk.KL)
    c, nl = (max(int(chunks), 1), n) if (kind == _rk.L1 or div) else (1, 1)
    chunk = (np.zeros((c, nl)), np.zeros((c, nl)), np.zeros((c, nl), dtype=np.int64),
             np.zeros((c, nl), dtype=np.int64), np.zeros((c, nl)))
    cd, nd = (c, nl) if div else (1, 1)
    extra = (np.zeros((cd, nd)), np.zeros((cd, nd)), np.zeros((cd, nd), dtype=np.int64),
             f(max(int(rows), 1) if div else 1))
    return (f(n), f(n), f(n), i(n), i(n), i(n), f(n), f(n), i(n), np.zeros((m, m)), np.zeros((m, m), dtype=np.int64),
            f(m * m), f(m * m), i(m * m), i(m * m), i(m), f(m)) + chunk + extra


_DUMMY_W = np.zeros(1)
_DUMMY_M = np.zeros((1, 1))


# --------------------------------------------------------------------------------------------
# validated inner problems
# --------------------------------------------------------------------------------------------


def _check_qz(q, z):
    qq = as_float_array(q, "q", 1, exc=InvalidArgumentError)
    zz = as_float_array(z, "z", 1, exc=InvalidArgumentError)
    if qq.shape != zz.shape or qq.size == 0:
        raise InvalidArgumentError(f"q and z must be non-empty vectors of one shape, got {qq.shape} and {zz.shape}")
    check_distribution(qq, "q", Q_ATOL, exc=InvalidArgumentError)
    return qq, zz


def _check_scalar(x, name):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise InvalidArgumentError(f"{name} must be a real number, got {x!r}")
    return float(x)


def set_auxiliary_arrays(kind: str, n: int, weights, metric):
    """The extra arrays a set kind needs, validated: weights (n,) for ``wl1``, a metric (n, n) for
    ``wasserstein``; empty placeholders otherwise.  Raises :class:`InvalidArgumentError`."""
    if kind == "wl1":
        if weights is None:
            raise InvalidArgumentError("kind 'wl1' needs weights of shape (n,)")
        w = as_float_array(weights, "weights", 1, exc=InvalidArgumentError)
        if w.shape != (n,):
            raise InvalidArgumentError(f"weights must have shape ({n},), got {w.shape}")
        if np.any(w < 0):
            raise InvalidArgumentError(f"weights must be >= 0; weights[{int(np.argmin(w))}] = {w.min()!r}")
        return w, _DUMMY_M
    if kind == "wasserstein":
        D = default_metric(n) if metric is None else as_float_array(metric, "metric", 2, exc=InvalidArgumentError)
        check_metric(D, n)
        return _DUMMY_W, D
    return _DUMMY_W, _DUMMY_M


def default_metric(n: int) -> np.ndarray:
    """The ground metric ``D[i, j] = |i - j|`` on state indices (a chain)."""
    ar = np.arange(n, dtype=float)
    return np.abs(ar[:, None] - ar[None, :])


def check_metric(D: np.ndarray, n: int) -> None:
    if D.shape != (n, n):
        raise InvalidArgumentError(f"metric must have shape ({n}, {n}), got {D.shape}")
    if np.any(D < 0):
        raise InvalidArgumentError("metric entries must be >= 0")
    if np.any(np.diag(D) != 0):
        raise InvalidArgumentError("metric must have a zero diagonal (D[i, i] == 0)")


def _gather_idx(qq: np.ndarray, full: bool) -> np.ndarray:
    return np.arange(qq.size) if full else np.flatnonzero(qq > 0)


def worst_case(q, z, uset, radius=None, *, support=None, weights=None, metric=None, engine: str = "numba"):
    r"""Nature's inner problem :math:`\min_{p \in \mathcal U(q)} p^\top z` (plus the penalty, if any).

    Parameters
    ----------
    q : array_like of shape (n,)
        Nominal distribution (non-negative, sums to 1 within ``1e-8``).
    z : array_like of shape (n,)
        The vector nature minimises against (in a Bellman update, the next-state values ``v``).
    uset : UncertaintySet or str
        The set, or a kind name (then ``radius`` is required) or a spec like ``"l1:0.1"``.
    radius : float, optional
        Overrides the set's radius.
    support : {"nominal", "simplex"}, optional
        Overrides the set's support semantics.
    weights, metric : ndarray, optional
        For ``"wl1"`` (shape (n,)) and ``"wasserstein"`` (shape (n, n)).
    engine : {"numba", "cvxpy"}

    Returns
    -------
    p_worst : ndarray of shape (n,)
        A minimiser (on the simplex, in the set).
    value : float
        :math:`\min_p p^\top z` (plus ``beta * D(p, q)`` for penalty forms).

    Raises
    ------
    InvalidArgumentError
        Bad ``q``, ``z``, radius, weights, metric, kind or engine.
    """
    if isinstance(uset, str) and ":" not in uset:
        if radius is None:
            raise InvalidArgumentError(f"worst_case(q, z, {uset!r}) needs radius=")
        uset = UncertaintySet(uset, radius)
    us = parse_uncertainty(uset)
    if radius is not None or support is not None or weights is not None or metric is not None:
        us = UncertaintySet(us.kind, us.radius if radius is None else radius, support or us.support,
                            us.rectangularity, us.weights if weights is None else weights,
                            us.metric if metric is None else metric, us.constraints)
    if np.ndim(us.radius) != 0:
        raise InvalidArgumentError("worst_case takes a scalar radius")
    qq, zz = _check_qz(q, z)
    if engine == "cvxpy" or us.kind == "cvxpy":
        return cvxpy_inner(qq, zz, us)
    if engine != "numba":
        raise InvalidArgumentError(f"engine must be 'numba' or 'cvxpy', got {engine!r}")
    W, D = set_auxiliary_arrays(us.kind, qq.size, us.weights, us.metric)
    idx = _gather_idx(qq, us.full_support)
    n = idx.size
    work = make_workspace(n, us.code)
    qb, zb, pb, cols = work[0], work[1], work[2], work[4]
    qb[:n] = qq[idx]
    zb[:n] = zz[idx]
    cols[:n] = idx
    val = _rk.solve_row(int(us.code), int(n), float(us.radius), W, D, work[:17])
    p = np.zeros_like(qq)
    p[idx] = pb[:n]
    return p, float(val)


def _make_inner(kind: str, doc: str, param: str = "radius", extra: str | None = None):
    def fn(q, z, radius, *, support="nominal", **kw):
        if extra is None and kw:
            raise TypeError(f"{kind}_inner got unexpected keyword arguments {sorted(kw)}")
        if extra is not None and set(kw) - {extra}:
            raise TypeError(f"{kind}_inner got unexpected keyword arguments {sorted(set(kw) - {extra})}")
        r = _check_scalar(radius, param)
        return worst_case(q, z, UncertaintySet(kind, r, support), **kw)

    fn.__doc__ = doc
    return fn


l1_inner = _make_inner("l1", r"""Worst case over the L1 ball :math:`\{p \in \Delta: \|p - q\|_1 \le \kappa\}`.

Returns ``(p_worst (n,), value)``.  Algorithm: put :math:`\epsilon = \min(\kappa/2, 1 - q_{i_0})`
extra mass on :math:`i_0 = \arg\min z` and remove it from the largest :math:`z_i` first; O(n log n).
This is the sa-rectangular L1 update of Ho, Petrik & Wiesemann (2018), Sec. 3 (their homotopy
method specialised to unit weights); optimality is checked against cvxpy in the tests, the
algorithm number in the paper was not checked.  ``support="simplex"`` lets the mass go to
a state with ``q = 0``.
""")
l1_inner.__name__ = "l1_inner"

linf_inner = _make_inner("linf", r"""Worst case over the box :math:`\{p \in \Delta: |p_i - q_i| \le \kappa\}`.

Greedy: start from :math:`\max(0, q - \kappa)` and fill the lowest :math:`z_i` up to
:math:`\min(1, q_i + \kappa)`; exact for this LP (a fractional knapsack).  Returns ``(p, value)``.
""")
linf_inner.__name__ = "linf_inner"

l2_inner = _make_inner("l2", r"""Worst case over the L2 ball :math:`\{p \in \Delta: \|p - q\|_2 \le \kappa\}`.

KKT: :math:`p(t) = \Pi_\Delta(q - t z)` with :math:`\|p(t) - q\|_2 = \kappa` (or the minimiser of
:math:`z` on the simplex when the ball contains it); t is found by bisection and then exactly
on its active set.  When the simplex constraint is slack the closed form is
:math:`p = q - \kappa (z - \bar z)/\|z - \bar z\|_2`, value :math:`q^\top z - \kappa\|z-\bar z\|_2`.
""")
l2_inner.__name__ = "l2_inner"

chi2_inner = _make_inner("chi2", r"""Worst case over the chi-square ball :math:`\{p \ll q: \sum_i (p_i-q_i)^2/q_i \le \kappa\}`.

Same route as :func:`l2_inner` with weights ``q``.  When :math:`p \ge 0` is slack the closed form is
:math:`q^\top z - \sqrt{\kappa\, \mathrm{Var}_q(z)}`.
""")
chi2_inner.__name__ = "chi2_inner"

kl_inner = _make_inner("kl", r"""Worst case over the KL ball :math:`\{p \ll q: \mathrm{KL}(p\|q) \le \kappa\}`.

Nilim & El Ghaoui (2005), Sec. 6 (the 1-D dual; section number not checked):
:math:`\min_p p^\top z = \max_{\lambda \ge 0} -\lambda\kappa - \lambda \log \sum_i q_i e^{-z_i/\lambda}`.
The minimiser is the tilt :math:`p \propto q e^{-z/\lambda^*}` with :math:`\mathrm{KL}(p\|q) = \kappa`,
found by safeguarded Newton on :math:`u = 1/\lambda`.  Boundary case: if
:math:`\kappa \ge -\log q(\arg\min z)` the minimum :math:`\min_{q_i > 0} z_i` is attained
(:math:`\lambda^* = 0`) by q restricted to :math:`\arg\min z`, renormalised.
""")
kl_inner.__name__ = "kl_inner"

kl_penalty_inner = _make_inner("kl_penalty", r"""KL penalty form :math:`\min_p p^\top z + \beta\,\mathrm{KL}(p\|q)`.

Closed form (Gibbs variational principle): value :math:`-\beta \log \sum_i q_i e^{-z_i/\beta}`,
minimiser :math:`p \propto q e^{-z/\beta}`.  ``radius`` is the weight :math:`\beta > 0`; the regularized
robust MDPs of Derman, Geist & Mannor (2021) use such penalty forms.
""", param="beta")
kl_penalty_inner.__name__ = "kl_penalty_inner"

tv_penalty_inner = _make_inner("tv_penalty", r"""TV penalty form :math:`\min_p p^\top z + \beta\,\mathrm{TV}(p, q)`, TV = half the L1 distance.

Closed form: value :math:`\sum_i q_i \min(z_i, z_{\min} + \beta)`; the mass of every state with
:math:`z_i > z_{\min} + \beta` moves to :math:`\arg\min z` (over the support, or over all states with
``support="simplex"``).  It is the Lagrangian of the L1 ball (:func:`l1_inner`).
""", param="beta")
tv_penalty_inner.__name__ = "tv_penalty_inner"

cvar_inner = _make_inner("cvar", r"""Nested-CVaR set :math:`\{p: 0 \le p \le q/\alpha, \sum p = 1\}`, ``radius`` = level :math:`\alpha`.

:math:`\min_p p^\top z` over this set is the lower-tail :math:`\mathrm{CVaR}_\alpha` of z under q
(the dual representation of CVaR); greedy fill of the lowest z.  :math:`\alpha = 1` is the mean.
""", param="alpha")
cvar_inner.__name__ = "cvar_inner"


def weighted_l1_inner(q, z, radius, weights, *, support="nominal"):
    r"""Worst case over :math:`\{p \in \Delta: \sum_i w_i |p_i - q_i| \le \kappa\}`.

    Exact: the weighted L1 distance is the optimal-transport cost with :math:`c_{ij} = w_i + w_j`
    (:math:`i \ne j`), so the problem is solved as a fractional knapsack over transport moves
    (:func:`wasserstein_inner`'s kernel), O(n^2 log n).  Ho, Petrik & Wiesemann (2018) give a
    homotopy method for the same problem; this is a different exact route, checked against cvxpy.
    ``weights`` has shape (n,).
    """
    r = _check_scalar(radius, "radius")
    return worst_case(q, z, UncertaintySet("wl1", r, support), weights=weights)


def wasserstein_inner(q, z, radius, metric=None, *, support="nominal"):
    r"""Worst case over the Wasserstein-1 ball :math:`\{p: W_1(p, q) \le \kappa\}` for metric ``D``.

    Exact fractional knapsack over the lower convex hulls of the points :math:`(D_{ij}, z_j)` of
    each source state i (the mass of i only ever moves along that hull); O(n^2 log n).
    ``metric`` (n, n), non-negative with zero diagonal; ``|i - j|`` if omitted.  With
    ``support="nominal"`` mass may only move to states in the nominal support.
    """
    r = _check_scalar(radius, "radius")
    return worst_case(q, z, UncertaintySet("wasserstein", r, support), metric=metric)


# --------------------------------------------------------------------------------------------
# cvxpy oracle
# --------------------------------------------------------------------------------------------

_CLARABEL_OPTS = dict(tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11, tol_ktratio=1e-9, max_iter=500)


def _cp_solve(prob):
    import cvxpy as cp

    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        try:
            prob.solve(solver=cp.CLARABEL, **_CLARABEL_OPTS)
        except cp.error.SolverError:
            prob.solve(solver=cp.CLARABEL)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"cvxpy could not solve the inner problem (status {prob.status})")


def _cp_set(kind, p, q, r, w=None, D=None, constraints=None):
    """(extra constraints, penalty expression) describing the set in cvxpy."""
    import cvxpy as cp

    if kind == "l1":
        return [cp.norm1(p - q) <= r], 0
    if kind == "linf":
        return [cp.norm_inf(p - q) <= r], 0
    if kind == "l2":
        return [cp.norm2(p - q) <= r], 0
    if kind == "chi2":
        return [cp.sum(cp.multiply(1.0 / q, cp.square(p - q))) <= r], 0
    if kind == "kl":
        return [cp.sum(cp.rel_entr(p, q)) <= r], 0
    if kind == "wl1":
        return [w @ cp.abs(p - q) <= r], 0
    if kind == "cvar":
        return [p <= q / r], 0
    if kind == "kl_penalty":
        return [], r * cp.sum(cp.rel_entr(p, q))
    if kind == "tv_penalty":
        return [], 0.5 * r * cp.norm1(p - q)
    if kind == "wasserstein":
        n = q.size
        T = cp.Variable((n, n), nonneg=True)
        return [cp.sum(T, axis=1) == q, cp.sum(T, axis=0) == p, cp.sum(cp.multiply(D, T)) <= r], 0
    if kind == "cvxpy":
        return list(constraints(p, q)), 0
    raise InvalidArgumentError(f"no cvxpy formulation for kind {kind!r}")


def cvxpy_inner(q, z, uset, *, return_status: bool = False):
    r"""Solve nature's inner problem with cvxpy (Clarabel): the oracle and ``engine="cvxpy"``.

    ``uset`` is an :class:`UncertaintySet` (any built-in kind, or ``kind="cvxpy"`` with a
    ``constraints(p, q)`` callable for a user-written set).  Returns ``(p_worst (n,), value)``.
    The simplex constraints and the support semantics are added here.  With
    ``return_status`` the cvxpy status string is returned third.
    """
    import cvxpy as cp

    us = parse_uncertainty(uset)
    qq, zz = _check_qz(q, z)
    full = us.full_support if us.kind != "cvxpy" else us.support == "simplex"
    idx = _gather_idx(qq, full)
    n = idx.size
    qs, zs = qq[idx], zz[idx]
    w = D = None
    if us.kind in ("wl1", "wasserstein"):
        W, DD = set_auxiliary_arrays(us.kind, qq.size, us.weights, us.metric)
        w = W[idx] if us.kind == "wl1" else None
        D = DD[np.ix_(idx, idx)] if us.kind == "wasserstein" else None
    p = cp.Variable(n, nonneg=True)
    cons, pen = _cp_set(us.kind, p, qs, float(us.radius), w, D, us.constraints)
    prob = cp.Problem(cp.Minimize(zs @ p + pen), [cp.sum(p) == 1] + cons)
    _cp_solve(prob)
    out = np.zeros_like(qq)
    out[idx] = np.asarray(p.value, dtype=float)
    if return_status:
        return out, float(prob.value), prob.status
    return out, float(prob.value)


def s_rect_bellman_cvxpy(R_s, Q_s, v, gamma, radius, *, kind: str = "l1", support: str = "nominal"):
    r"""s-rectangular robust update at one state, by cvxpy: the oracle of the Numba s-rectangular kernel.

    Solves the epigraph program

    .. math:: \min_{u, (p_a)} u \;\text{s.t.}\; R_a + \gamma p_a^\top v \le u\;\forall a,\;
              \sum_a d(p_a, q_a) \le \kappa,\; p_a \in \Delta,

    whose value equals :math:`\max_{\pi \in \Delta_A} \min_{(p_a) \in \mathcal U_s}
    \sum_a \pi_a (R_a + \gamma p_a^\top v)` by the minimax theorem (Wiesemann, Kuhn & Rustem 2013,
    s-rectangular sets; theorem number not checked); the optimal randomized policy is the dual
    of the epigraph constraints.  ``d`` is the L1 distance (``kind="l1"``), L-infinity, L2 or KL.

    Returns ``(value, pi (A,), P_worst (A, S), budget (A,))``.
    """
    import cvxpy as cp

    R_s = np.asarray(R_s, float)
    Q_s = np.asarray(Q_s, float)
    v = np.asarray(v, float)
    A, S = Q_s.shape
    ps, cons, dist = [], [], []
    u = cp.Variable()
    for a in range(A):
        idx = np.arange(S) if (support == "simplex" and kind not in SUPPORT_ONLY) else np.flatnonzero(Q_s[a] > 0)
        p = cp.Variable(idx.size, nonneg=True)
        qa = Q_s[a, idx]
        if kind == "l1":
            d = cp.norm1(p - qa)
        elif kind == "linf":
            d = cp.norm_inf(p - qa)
        elif kind == "l2":
            d = cp.norm2(p - qa)
        elif kind == "kl":
            d = cp.sum(cp.rel_entr(p, qa))
        else:
            raise InvalidArgumentError(f"s_rect_bellman_cvxpy supports l1, linf, l2, kl; got {kind!r}")
        ps.append((idx, p))
        dist.append(d)
        cons.append(cp.sum(p) == 1)
    epi = [R_s[a] + gamma * (v[ps[a][0]] @ ps[a][1]) <= u for a in range(A)]
    prob = cp.Problem(cp.Minimize(u), cons + epi + [cp.sum(cp.hstack(dist)) <= radius])
    _cp_solve(prob)
    pi = np.array([max(float(c.dual_value), 0.0) for c in epi])
    pi = pi / pi.sum()
    Pw = np.zeros((A, S))
    budget = np.zeros(A)
    for a, (idx, p) in enumerate(ps):
        Pw[a, idx] = p.value
        budget[a] = float(dist[a].value)
    return float(prob.value), pi, Pw, budget

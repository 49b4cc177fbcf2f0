"""Comparing observed numbers with bounds, with the floating-point slack made explicit.

``lhs <= rhs`` is checked as ``lhs <= rhs + atol + rtol * |rhs|``: ``atol`` covers round-off in
quantities that should be exactly zero, ``rtol`` round-off relative to the bound's size.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BoundViolation", "assert_bound", "bound_ratio"]


class BoundViolation(AssertionError):
    """An observed quantity exceeded its bound by more than the stated slack."""


def bound_ratio(observed, bound, *, rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """Elementwise ``observed / (bound + atol + rtol*|bound|)``: a value <= 1 means the bound holds.

    A ratio near 1 means the bound is tight on this instance.  Both inputs broadcast; NaN
    observations give NaN (callers treat it as a failure).
    """
    o, b = np.broadcast_arrays(np.asarray(observed, dtype=float), np.asarray(bound, dtype=float))
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be >= 0, got rtol={rtol}, atol={atol}")
    den = b + atol + rtol * np.abs(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, o / np.where(den > 0, den, 1.0), np.where(o <= den, 0.0, np.inf))
    return np.where(np.isnan(o) | np.isnan(b), np.nan, r)


def assert_bound(observed, bound, *, rtol: float = 1e-10, atol: float = 1e-12, what: str = "") -> float:
    """Raise :class:`BoundViolation` unless ``observed <= bound + atol + rtol*|bound|`` elementwise.

    Returns the worst ratio (see :func:`bound_ratio`), so a test can also record tightness.
    """
    o, b = np.broadcast_arrays(np.asarray(observed, dtype=float), np.asarray(bound, dtype=float))
    ok = o <= b + atol + rtol * np.abs(b)
    if not np.all(ok):
        i = tuple(int(j) for j in np.argwhere(~ok)[0]) if o.ndim else ()
        raise BoundViolation(
            f"{what + ': ' if what else ''}observed {float(o[i])!r} > bound {float(b[i])!r} at index {i} "
            f"(slack atol={atol:g}, rtol={rtol:g}; {int((~ok).sum())} of {o.size} entries violate it)"
        )
    r = bound_ratio(o, b, rtol=rtol, atol=atol)
    return float(np.max(r)) if r.size else 0.0

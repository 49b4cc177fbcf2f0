"""Boundary validation shared by the model, the policies and the solvers.

Every check raises one of mdpkit's own ``ValueError`` subclasses with a message that names the
argument, what was expected, what was found and the first offending index.  Nothing is clipped,
renormalised or dropped here.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._exceptions import InvalidArgumentError, InvalidMDPError

#: Default absolute tolerance on probability row sums (documented in ``TabularMDP``).
ROW_SUM_ATOL = 1e-8


def check_gamma(gamma, *, allow_one: bool, who: str = "gamma") -> float:
    """Return ``gamma`` as float after checking ``0 <= gamma < 1`` (or ``<= 1``)."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise InvalidMDPError(f"{who} must be a real number, got {type(gamma).__name__}")
    g = float(gamma)
    if not np.isfinite(g) or g < 0.0 or g > 1.0 or (g == 1.0 and not allow_one):
        rng = "[0, 1]" if allow_one else "[0, 1)"
        raise InvalidMDPError(f"{who} must lie in {rng}, got {gamma!r}")
    return g


def check_positive(x, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(float(x)):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    if float(x) < 0.0 or (float(x) == 0.0 and not allow_zero):
        op = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(f"{name} must be {op}, got {x!r}")
    return float(x)


def check_int(x, name: str, *, minimum: int) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise InvalidArgumentError(f"{name} must be an integer, got {x!r}")
    if int(x) < minimum:
        raise InvalidArgumentError(f"{name} must be >= {minimum}, got {x!r}")
    return int(x)


def first_index(bad: np.ndarray) -> tuple[int, ...]:
    """Index tuple of the first True entry of a boolean array (C order)."""
    flat = int(np.flatnonzero(bad.ravel())[0])
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def fmt_index(name: str, idx: tuple[int, ...], trailing_colon: bool = False) -> str:
    inner = ", ".join(str(i) for i in idx)
    if trailing_colon:
        inner += ", :"
    return f"{name}[{inner}]"


def as_float_array(x, name: str, ndim: int | tuple[int, ...], exc=InvalidMDPError) -> np.ndarray:
    """Convert to a float64 C-contiguous copy; check dimensionality and finiteness."""
    try:
        arr = np.array(x, dtype=np.float64, copy=True, order="C")
    except (TypeError, ValueError) as e:
        raise exc(f"{name} could not be converted to a float64 array: {e}") from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise exc(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        idx = first_index(~np.isfinite(arr))
        raise exc(f"{fmt_index(name, idx)} is {float(arr[idx])!r}; entries must be finite")
    return arr


def check_distribution(p: np.ndarray, name: str, atol: float, exc=InvalidMDPError) -> None:
    """Check a 1-D probability vector: finite, non-negative, sums to 1 within ``atol``."""
    if np.any(p < 0):
        idx = first_index(p < 0)
        raise exc(f"{fmt_index(name, idx)} = {float(p[idx])!r} is negative; probabilities must be >= 0")
    s = float(p.sum())
    if abs(s - 1.0) > atol:
        raise exc(f"{name} sums to {s}; expected 1 within atol={atol:g}")


def readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a

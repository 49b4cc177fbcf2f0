"""Private helpers shared by the generator modules (argument checks, small array builders)."""

from __future__ import annotations

import numbers

import numpy as np

from .._exceptions import InvalidArgumentError
from .._validation import check_int, check_memory, check_positive

__all__ = [
    "check_int", "check_memory", "check_positive", "check_probability", "check_real", "dense_bytes", "grid_labels",
    "one_hot_P",
]


def dense_bytes(S: int, A: int, copies: int) -> float:
    """Bytes of ``copies`` dense float64 ``(S, A, S)`` arrays (a Python float: never overflows)."""
    return 8.0 * float(S) * float(A) * float(S) * copies


def check_real(x, name: str) -> float:
    """Return ``x`` as a finite float (any sign) or raise :class:`InvalidArgumentError`."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(float(x)):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    return float(x)


def check_probability(x, name: str) -> float:
    """Return ``x`` as a float after checking ``0 <= x <= 1``."""
    x = check_real(x, name)
    if not 0.0 <= x <= 1.0:
        raise InvalidArgumentError(f"{name} must lie in [0, 1], got {x!r}")
    return x


def one_hot_P(next_state: np.ndarray, S: int) -> np.ndarray:
    """Dense deterministic ``P`` (S, A, S) with ``P[s, a, next_state[s, a]] = 1``."""
    ns = np.asarray(next_state, dtype=np.int64)
    P = np.zeros(ns.shape + (S,))
    s_idx, a_idx = np.indices(ns.shape)
    P[s_idx, a_idx, ns] = 1.0
    return P


def grid_labels(rows: int, cols: int) -> list[str]:
    """``"(r,c)"`` labels of a ``rows x cols`` grid in row-major order."""
    return [f"({r},{c})" for r in range(rows) for c in range(cols)]

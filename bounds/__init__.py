"""Theorems as functions: every theory constant used by mdpkit, written once.

Exact dynamic programming (:mod:`mdpkit.bounds.dp`)
    vi_norm_stopping_tol, span_stopping_tol, greedy_span_bound, macqueen_bounds,
    residual_value_bound, ssp_greedy_bound, gain_bracket, vi_iterations
Records
    Bound, BoundKind
"""

from ._bound import Bound, BoundKind
from .dp import (
    gain_bracket,
    greedy_span_bound,
    macqueen_bounds,
    residual_value_bound,
    span_stopping_tol,
    ssp_greedy_bound,
    vi_iterations,
    vi_norm_stopping_tol,
)

__all__ = [
    "Bound",
    "BoundKind",
    "gain_bracket",
    "greedy_span_bound",
    "macqueen_bounds",
    "residual_value_bound",
    "span_stopping_tol",
    "ssp_greedy_bound",
    "vi_iterations",
    "vi_norm_stopping_tol",
]

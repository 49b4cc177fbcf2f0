"""Theorems as checks: run a theorem against instances and see whether, and how tightly, it holds.

Each registered :class:`Theorem` pairs a subject (an mdpkit solver or operator, or your own with
the same signature) with a bound from :mod:`mdpkit.bounds`, over a family of random instances
(hypothesis, steered toward near-tight ones) and zoo models, and carries a negative control that
must fail.

    >>> from mdpkit import theory
    >>> res = theory.check("vi-contraction", n_examples=5)
    >>> res.verdict
    'PASS'

Functions
    check, verify, list_theorems, get, register, write_report, format_table
Records
    Theorem, Observation, CheckResult, Report
"""

from ._core import REGISTRY, CheckResult, Observation, Theorem, check, get, list_theorems, register
from ._report import Report, format_table, verify, write_report

__all__ = [
    "CheckResult",
    "Observation",
    "REGISTRY",
    "Report",
    "Theorem",
    "check",
    "format_table",
    "get",
    "list_theorems",
    "register",
    "verify",
    "write_report",
]

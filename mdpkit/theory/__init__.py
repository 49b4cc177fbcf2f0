"""Theorems as checks: run a theorem against instances and see whether, and how tightly, it holds.

Each registered :class:`Theorem` pairs a subject (an mdpkit solver or operator, or your own with
the same signature) with a bound from :mod:`mdpkit.bounds`, over a family of random instances
(hypothesis: distinct, non-degenerate draws from :func:`mdpkit.testing.theory_mdps`, plus a few
steered toward near-tight ones), the theorem's tight instances (literature or constructed, e.g.
Singh & Yee's two-state example), explicit edge cases (gamma = 0, S = 1) and zoo models.  Every
check carries negative controls that break the claimed property itself (damped operators for
rates and contractions, widened brackets for containment claims, non-covering supports, a
non-monotone operator) and must fail; bound and rate checks also run a *mutation control* (bound
halved, claimed rate squared) and are reported ``low power`` when it still passes.  The report
gives per check the number of distinct effective instances and their gamma and S ranges.

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

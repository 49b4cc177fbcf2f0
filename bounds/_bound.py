"""The ``Bound`` record returned by every function in :mod:`mdpkit.bounds`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class BoundKind(str, enum.Enum):
    """What sort of guarantee a bound is."""

    DETERMINISTIC = "deterministic"
    EXPECTATION = "expectation"
    HIGH_PROBABILITY = "high-probability"
    ASYMPTOTIC = "asymptotic"
    RATE_ONLY = "rate-only"


@dataclass(frozen=True)
class Bound:
    """A number with the theorem it comes from.

    Attributes
    ----------
    value : float
        The bound, in the units the function documents (reward units for value errors).
    kind : BoundKind
    citation : str
        Paper or book with theorem/equation number.
    assumptions : tuple of str
        What must hold for the bound to apply.
    delta : float or None
        Failure probability for high-probability bounds.
    statement : str
        The inequality, in words or LaTeX.
    extra : dict
        Further numbers a caller may want (e.g. the two ends of a bracket).
    number_checked : bool
        Whether the theorem/proposition number in ``citation`` was checked against the source
        text (False by default: most numbers were recalled or read in secondary sources, and the
        citation text then says so).
    """

    value: float
    kind: BoundKind
    citation: str
    assumptions: tuple[str, ...] = ()
    delta: float | None = None
    statement: str = ""
    extra: dict = field(default_factory=dict)
    number_checked: bool = False

    def __float__(self) -> float:
        return float(self.value)

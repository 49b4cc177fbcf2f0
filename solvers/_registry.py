"""The method registry: one table of every planning solver.

It feeds :func:`mdpkit.solvers.solve`, the command line (``mdpkit solve --method``,
``mdpkit list solvers``), :func:`mdpkit.solvers.risk.solve_objective` and the cross-family
contract test (``tests/test_solver_contract.py``), so a solver added here is reachable and
checked everywhere at once.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from mdpkit._exceptions import InvalidArgumentError

__all__ = ["FAMILIES", "SOLVERS", "SolverSpec", "get_solver", "register_solver"]

#: Families and what ``res.v`` estimates in each.
FAMILIES = {
    "discounted": "v*: optimal discounted value",
    "exact": "v*: optimal discounted value, in exact rational arithmetic",
    "finite-horizon": "v*_t: optimal finite-horizon values, shape (H+1, S)",
    "total-reward": "v*: optimal expected total reward to termination",
    "average-reward": "h: relative value (bias) of an optimal policy; gain g* as a field",
    "robust": "robust optimal value under the uncertainty set",
    "distributional": "mean of the return distribution (v^pi or v*)",
    "risk": "the risk objective's optimal value from the given state",
    "policy-optimization": "v^pi: exact value of the final policy iterate",
    "constrained": "v^pi: exact value of the returned constrained-optimal (randomized) policy",
    "reachability": "per-state optimal reachability probability or expected total reward to a goal (inf where infinite)",
}


@dataclass(frozen=True)
class SolverSpec:
    """One registered solver.

    Attributes
    ----------
    key : str
        Short name for ``solve(mdp, method=key)`` and ``mdpkit solve --method``.
    function : callable
        The public solver, called as ``function(mdp, **options)``.
    family : str
        A key of :data:`FAMILIES`.
    summary : str
        One line for ``mdpkit list solvers``.
    theorem : str
        The theorem the solver's guarantee rests on (paper or book, theorem number), marked where
        the number could not be checked against the text.
    required : tuple of str
        Options without which the solver cannot run (e.g. ``horizon``, ``uncertainty``).
    """

    key: str
    function: Callable
    family: str
    summary: str
    theorem: str
    required: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The solver function's name (also accepted as a method name)."""
        return self.function.__name__

    def options(self) -> tuple[str, ...]:
        """Keyword options the solver takes (after the model)."""
        params = list(inspect.signature(self.function).parameters.values())[1:]
        return tuple(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))

    def check_options(self, options: dict) -> None:
        """Raise :class:`InvalidArgumentError` naming unknown or missing options."""
        known = self.options()
        unknown = sorted(k for k in options if k not in known)
        if unknown:
            raise InvalidArgumentError(
                f"method {self.key!r} ({self.name}) does not take option(s) {', '.join(unknown)}; "
                f"it takes {', '.join(known) or 'none'}")
        missing = [k for k in self.required if options.get(k) is None]
        if missing:
            raise InvalidArgumentError(f"method {self.key!r} ({self.name}) requires option(s) {', '.join(missing)}")


#: key -> SolverSpec, in registration order.
SOLVERS: dict[str, SolverSpec] = {}
_ALIASES: dict[str, str] = {}


def register_solver(spec: SolverSpec) -> SolverSpec:
    """Add ``spec`` to the registry (its key and its function's name become method names)."""
    if spec.family not in FAMILIES:
        raise InvalidArgumentError(f"unknown family {spec.family!r}; choose one of {', '.join(FAMILIES)}")
    for name in (spec.key, spec.name):
        if _ALIASES.get(name, spec.key) != spec.key:
            raise InvalidArgumentError(f"method name {name!r} is already registered for {_ALIASES[name]!r}")
    SOLVERS[spec.key] = spec
    _ALIASES[spec.key] = spec.key
    _ALIASES[spec.name] = spec.key
    return spec


def get_solver(method: str) -> SolverSpec:
    """The spec registered under ``method`` (a key or a solver function's name, any case)."""
    key = _ALIASES.get(str(method).lower())
    if key is None:
        raise InvalidArgumentError(f"unknown method {method!r}; choose one of {', '.join(SOLVERS)}")
    return SOLVERS[key]

"""``solve(mdp, method=...)``: one entry point to every planning solver."""

from __future__ import annotations

from mdpkit._exceptions import InvalidArgumentError
from mdpkit.model import TabularMDP
from mdpkit.results import SolveResult

from .average_reward import relative_value_iteration
from .discounted import gauss_seidel_value_iteration, modified_policy_iteration, policy_iteration, value_iteration
from .exact import exact_policy_iteration
from .finite_horizon import backward_induction
from .lp import linear_programming
from .total_reward import ssp_policy_iteration

#: method name -> (function, criterion, one-line description)
SOLVERS = {
    "vi": (value_iteration, "discounted", "value iteration (Jacobi), norm or span stopping, MacQueen-Porteus bounds"),
    "gs": (gauss_seidel_value_iteration, "discounted", "Gauss-Seidel value iteration"),
    "pi": (policy_iteration, "discounted", "Howard policy iteration with exact evaluation"),
    "mpi": (modified_policy_iteration, "discounted", "modified policy iteration (Puterman & Shin 1978)"),
    "lp": (linear_programming, "discounted", "linear programming with cvxpy (primal values, dual occupancies)"),
    "exact": (exact_policy_iteration, "discounted", "policy iteration in exact rational arithmetic (small models)"),
    "ssp": (ssp_policy_iteration, "total reward", "policy iteration for stochastic shortest path / total reward"),
    "rvi": (relative_value_iteration, "average reward", "relative value iteration with aperiodicity transform"),
    "finite": (backward_induction, "finite horizon", "backward induction (requires horizon=H)"),
}

_ALIASES = {
    "value_iteration": "vi",
    "gauss_seidel": "gs",
    "gauss_seidel_value_iteration": "gs",
    "policy_iteration": "pi",
    "modified_policy_iteration": "mpi",
    "linear_programming": "lp",
    "exact_policy_iteration": "exact",
    "ssp_policy_iteration": "ssp",
    "relative_value_iteration": "rvi",
    "backward_induction": "finite",
}


def solve(mdp: TabularMDP, method: str = "mpi", **options) -> SolveResult:
    """Solve ``mdp`` with the named method; ``options`` go to that solver.

    Parameters
    ----------
    mdp : TabularMDP
    method : str, default "mpi"
        One of ``SOLVERS`` (``vi``, ``gs``, ``pi``, ``mpi``, ``lp``, ``exact``, ``ssp``, ``rvi``,
        ``finite``) or the solver's full name.  The discounted default is modified policy
        iteration, which reaches a certified epsilon-optimal policy in the fewest sweeps.
    **options
        Keyword arguments of the chosen solver (e.g. ``epsilon``, ``max_iter``, ``horizon``).

    Returns
    -------
    SolveResult

    Raises
    ------
    InvalidArgumentError
        Unknown method or an option the solver does not take.
    """
    key = str(method).lower()
    key = _ALIASES.get(key, key)
    if key not in SOLVERS:
        raise InvalidArgumentError(f"unknown method {method!r}; choose one of {', '.join(SOLVERS)}")
    fn = SOLVERS[key][0]
    if key == "finite":
        return fn(mdp, options.pop("horizon", None), **options)
    import inspect

    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [] if takes_any else [k for k in options if k not in params]
    if unknown:
        raise InvalidArgumentError(f"method {key!r} does not take option(s) {', '.join(unknown)}")
    return fn(mdp, **options)

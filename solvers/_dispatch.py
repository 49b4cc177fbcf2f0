"""``solve(mdp, method=...)``: one entry point to every planning solver."""

from __future__ import annotations

import dataclasses

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import one_entry_per_row
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


#: Schedule ``solve(mdp)`` ("auto") gives modified policy iteration: at most ``AUTO_M`` partial
#: evaluation sweeps per improvement, stopping early once a sweep's change has span below
#: ``AUTO_EVAL_RTOL`` times the span of the improvement residual.  Chosen on the benchmark suite
#: (benchmarks/run.py): an evaluation sweep reads one action's rows, an improvement sweep all
#: ``A``, so long evaluations are cheap, and the span test stops them early on fast-mixing models.
AUTO_M = 500
AUTO_EVAL_RTOL = 1e-2

#: Options that only make sense for the iterative solvers; passing one keeps "auto" on MPI.
_MPI_ONLY = ("m", "eval_rtol", "v0")


def _single_entry_rows(mdp: TabularMDP) -> bool:
    """True if every row of ``P`` has exactly one stored entry (a deterministic CSR model)."""
    return mdp.is_sparse and one_entry_per_row(mdp.P)


def auto_method(mdp: TabularMDP, options: dict | None = None) -> tuple[str, dict, str]:
    """The method ``solve(mdp)`` uses: ``(method key, default options, reason)``.

    Both candidates are certified: MPI by the MacQueen-Porteus bound
    (:func:`mdpkit.bounds.greedy_span_bound`), PI by the residual bound
    (:func:`mdpkit.bounds.residual_value_bound`) of the exactly evaluated final policy.

    * Deterministic CSR models (one stored entry per row of ``P``: grid worlds, shortest paths):
      Howard policy iteration.  Every policy's transition graph is then a functional graph, which
      :func:`mdpkit.policies.policy_evaluation` solves exactly in O(S); value iteration and MPI
      would need a number of sweeps of the order of the longest path (and of
      ``log(eps)/log(gamma)``), policy iteration a few dozen to a few hundred improvement steps.
    * Everything else: modified policy iteration with the adaptive schedule above.

    On the benchmark suite (dense and sparse Garnets, forest management, a 10^6-state grid world
    at gamma = 0.99 and 0.999) this was the fastest mdpkit method on every instance.  A model with
    ``gamma == 1`` goes to MPI, which rejects it with the usual error.
    """
    opts = options or {}
    if mdp.gamma < 1.0 and _single_entry_rows(mdp) and not any(k in opts for k in _MPI_ONLY):
        return "pi", {}, (f"deterministic CSR model (S={mdp.S}, A={mdp.A}, gamma={mdp.gamma:g}): policy iteration "
                          "with exact O(S) evaluation of each policy's functional graph")
    reason = (f"model with S={mdp.S}, A={mdp.A}, gamma={mdp.gamma:g}: modified policy iteration with "
              f"adaptive partial evaluation (m <= {AUTO_M}, eval_rtol={AUTO_EVAL_RTOL:g})")
    return "mpi", {"m": AUTO_M, "eval_rtol": AUTO_EVAL_RTOL}, reason


def solve(mdp: TabularMDP, method: str = "auto", **options) -> SolveResult:
    """Solve ``mdp`` with the named method; ``options`` go to that solver.

    Parameters
    ----------
    mdp : TabularMDP
    method : str, default "auto"
        ``"auto"`` picks the fastest certified method for the model (:func:`auto_method`:
        policy iteration with O(S) exact evaluation on deterministic CSR models, otherwise
        modified policy iteration with an adaptive evaluation schedule) and records the choice in ``result.options["auto"]`` and ``result.options["auto_reason"]``;
        ``result.method`` names the solver that ran.  Otherwise one of ``SOLVERS`` (``vi``,
        ``gs``, ``pi``, ``mpi``, ``lp``, ``exact``, ``ssp``, ``rvi``, ``finite``) or the solver's
        full name.
    **options
        Keyword arguments of the chosen solver (e.g. ``epsilon``, ``max_iter``, ``horizon``);
        with ``"auto"`` they override the automatic schedule (e.g. ``m=``).

    Returns
    -------
    SolveResult

    Raises
    ------
    InvalidArgumentError
        Unknown method or an option the solver does not take.

    Examples
    --------
    >>> from mdpkit.generators import garnet
    >>> from mdpkit.solvers import solve
    >>> res = solve(garnet(50, 3, 4, gamma=0.9, rng=0))
    >>> res.method, res.options["auto"], res.error_bound < 1e-6
    ('modified_policy_iteration', True, True)
    """
    if isinstance(method, str) and method.lower() == "auto":
        if not isinstance(mdp, TabularMDP):
            return solve(mdp, "mpi", **options)  # the solver raises its own type error
        key, defaults, reason = auto_method(mdp, options)
        extra_opts = {}
        if key == "pi":
            # PI needs no tolerance: it stops at an optimal policy (its bound is reported)
            extra_opts = {k: options.pop(k) for k in ("epsilon", "evaluate_policy") if k in options}
        res = solve(mdp, key, **{**defaults, **options})
        opts = dict(res.options, auto=True, auto_reason=reason, **{f"{k}_requested": v for k, v in extra_opts.items()})
        return dataclasses.replace(res, options=opts)
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

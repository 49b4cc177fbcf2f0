"""``solve(mdp, method=...)``: one entry point to every planning solver."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import check_positive

from mdpkit._kernels import one_entry_per_row
from mdpkit.model import TabularMDP
from mdpkit.results import SolveResult

from .average_reward import relative_value_iteration
from .discounted import gauss_seidel_value_iteration, modified_policy_iteration, policy_iteration, value_iteration
from .exact import exact_policy_iteration
from .finite_horizon import backward_induction
from .lp import linear_programming
from .distributional import categorical_value_iteration, distributional_policy_iteration, quantile_value_iteration
from .risk import nested_risk_dp, optimize_band, optimize_cvar, optimize_erm, optimize_mean, optimize_threshold, optimize_var  # noqa: E501
from .robust import (
    robust_modified_policy_iteration,
    robust_partial_policy_iteration,
    robust_policy_iteration,
    robust_value_iteration,
)
from .robust_static import regularized_value_iteration
from .total_reward import ssp_policy_iteration
from ._registry import SolverSpec, get_solver, register_solver

_PUTERMAN = "M. L. Puterman, Markov Decision Processes, Wiley 1994"

for _spec in (
    SolverSpec("vi", value_iteration, "discounted",
               "value iteration (Jacobi), norm or span stopping, MacQueen-Porteus bracket",
               f"{_PUTERMAN}, Thm 6.3.1 and Sec. 6.6.2 (MacQueen 1966)"),
    SolverSpec("gs", gauss_seidel_value_iteration, "discounted", "Gauss-Seidel value iteration",
               f"{_PUTERMAN}, Thm 6.3.4 and Sec. 6.6.2"),
    SolverSpec("pi", policy_iteration, "discounted", "Howard policy iteration with exact evaluation",
               f"{_PUTERMAN}, Prop. 6.4.1 and Thm 6.4.2"),
    SolverSpec("mpi", modified_policy_iteration, "discounted", "modified policy iteration (Puterman & Shin 1978)",
               f"{_PUTERMAN}, Thm 6.5.5 and Sec. 6.6.2"),
    SolverSpec("lp", linear_programming, "discounted", "linear programming with cvxpy (primal values, dual occupancies)",
               f"{_PUTERMAN}, Thm 6.9.1 and Thm 6.9.4"),
    SolverSpec("exact", exact_policy_iteration, "exact", "policy iteration in exact rational arithmetic (small models)",
               f"{_PUTERMAN}, Thm 6.4.2"),
    SolverSpec("finite", backward_induction, "finite-horizon", "backward induction (requires horizon=H)",
               f"{_PUTERMAN}, Thm 4.5.1", required=("horizon",)),
    SolverSpec("ssp", ssp_policy_iteration, "total-reward",
               "policy iteration for stochastic shortest path / total reward",
               "D. P. Bertsekas and J. N. Tsitsiklis, Math. Oper. Res. 16(3), 1991, Prop. 2 (SSP policy iteration)" " [theorem numbers not checked against the text]"),
    SolverSpec("rvi", relative_value_iteration, "average-reward", "relative value iteration with aperiodicity transform",
               f"{_PUTERMAN}, Thm 8.5.5 and Prop. 8.5.10 (gain bracket) [theorem numbers not checked against the text]"),
    SolverSpec("robust_vi", robust_value_iteration, "robust", "robust value iteration (sa- and s-rectangular sets)",
               "G. N. Iyengar, Math. Oper. Res. 30(2), 2005, Thm 5; A. Nilim and L. El Ghaoui, Oper. Res. 53(5), 2005, "
               "Thm 3; W. Wiesemann, D. Kuhn and B. Rustem, Math. Oper. Res. 38(1), 2013, Thm 4 (s-rectangular) [theorem numbers not checked against the text]",
               required=("uncertainty",)),
    SolverSpec("robust_pi", robust_policy_iteration, "robust", "robust policy iteration",
               "G. N. Iyengar, Math. Oper. Res. 30(2), 2005, Thm 6 [theorem numbers not checked against the text]", required=("uncertainty",)),
    SolverSpec("robust_mpi", robust_modified_policy_iteration, "robust", "robust modified policy iteration",
               "M. A. Kaufman and A. J. Schaefer, INFORMS J. Comput. 25(3), 2013, Thm 4 [theorem numbers not checked against the text]", required=("uncertainty",)),
    SolverSpec("robust_ppi", robust_partial_policy_iteration, "robust", "robust partial policy iteration",
               "C. P. Ho, M. Petrik and W. Wiesemann, J. Mach. Learn. Res. 22, 2021, Thm 3.3 [theorem numbers not checked against the text]", required=("uncertainty",)),
    SolverSpec("regularized_vi", regularized_value_iteration, "robust",
               "value iteration with the regularized (R^2-MDP) Bellman operator of ball-robust MDPs",
               "E. Derman, M. Geist and S. Mannor, NeurIPS 2021, Sec. 4; N. Kumar et al. 2022 (sum-constrained Lp); "
               f"{_PUTERMAN}, Thm 6.3.1 (contraction); theorem numbers not checked against the papers",
               required=("beta",)),
    SolverSpec("categorical_vi", categorical_value_iteration, "distributional",
               "categorical distributional value iteration (C51 projection, exact model)",
               "M. Rowland et al., AISTATS 2018, Prop. 2 (Cramer contraction)"),
    SolverSpec("quantile_vi", quantile_value_iteration, "distributional",
               "quantile distributional value iteration (exact model)",
               "W. Dabney et al., AAAI 2018, Prop. 2 (w_inf contraction)"),
    SolverSpec("distributional_pi", distributional_policy_iteration, "distributional",
               "policy iteration on the mean with the return distribution of the final policy",
               f"{_PUTERMAN}, Thm 6.4.2; Rowland et al. 2018, Prop. 2"),
    SolverSpec("cvar", optimize_cvar, "risk", "static CVaR of the return by stock augmentation (history-dependent)",
               "R. T. Rockafellar and S. Uryasev, J. Risk 2(3), 2000, Thm 1; N. Bauerle and J. Ott, Math. Meth. Oper. "
               "Res. 74, 2011, Thm 3.1 [theorem numbers not checked against the text]", required=("alpha",)),
    SolverSpec("var", optimize_var, "risk", "static VaR of the return (exact on reward lattices)",
               "J. L. Hau, E. Delage, M. Ghavamzadeh and M. Petrik, NeurIPS 2023, Sec. 5 (VaR decomposition) [theorem numbers not checked against the text]",
               required=("alpha",)),
    SolverSpec("erm", optimize_erm, "risk", "static entropic risk of the return by exponential-utility DP",
               "R. A. Howard and J. E. Matheson, Management Sci. 18(7), 1972 (risk-sensitive MDPs)", required=("beta",)),
    SolverSpec("mean", optimize_mean, "risk", "expected return by backward induction (the risk-neutral objective)",
               f"{_PUTERMAN}, Thm 4.5.1"),
    SolverSpec("threshold", optimize_threshold, "risk", "probability that the return reaches a threshold",
               "N. Bauerle and J. Ott, Math. Meth. Oper. Res. 74, 2011 (stock augmentation)", required=("threshold",)),
    SolverSpec("band", optimize_band, "risk", "probability that the return stays in [low, high]",
               "B. Avila Pires et al. 2025, Sec. 5 (band objective); stock augmentation",
               required=("low", "high", "horizon")),
    SolverSpec("nested_risk", nested_risk_dp, "risk", "nested (dynamic) risk-measure value iteration",
               "A. Ruszczynski, Math. Program. 125, 2010, Thm 4 [theorem numbers not checked against the text]", required=("risk", "level")),
):
    register_solver(_spec)
del _spec


#: Schedule ``solve(mdp)`` ("auto") gives modified policy iteration: at most ``AUTO_M`` partial
#: evaluation sweeps per improvement, stopping early once a sweep's change has span below
#: ``AUTO_EVAL_RTOL`` times the span of the improvement residual.  Chosen on the benchmark suite
#: (benchmarks/run.py): an evaluation sweep reads one action's rows, an improvement sweep all
#: ``A``, so long evaluations are cheap, and the span test stops them early on fast-mixing models.
#: Re-tuned after MPI's evaluation sweeps on CSR models moved to a compact copy of the policy's
#: rows (2-2.5x cheaper sweeps), over eval_rtol in 1e-5..1e-2 at gamma 0.99 and 0.999: 1e-2 stayed
#: the fastest on the sparse Garnet (0.30 s vs 0.34-0.43 s: tighter tolerances save one improvement
#: step, 8 -> 7, and pay 12-30 more evaluation sweeps) and on forest management (all within noise).
#: On the dense Garnet 1e-4 would save one of four improvement sweeps (0.053 s vs 0.060 s).
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
        ``result.method`` names the solver that ran.  Otherwise a key of the registry
        :data:`mdpkit.solvers.SOLVERS` (``mdpkit list solvers``: ``vi``, ``gs``, ``pi``, ``mpi``,
        ``lp``, ``exact``, ``finite``, ``ssp``, ``rvi``, ``robust_vi``, ...) or the solver's
        function name.
    **options
        Keyword arguments of the chosen solver (e.g. ``epsilon``, ``max_iter``, ``horizon``);
        with ``"auto"`` they override the automatic schedule (e.g. ``m=``).

    Returns
    -------
    SolveResult

    Raises
    ------
    InvalidArgumentError
        Unknown method, an option the solver does not take, or a missing required option
        (e.g. ``horizon`` for ``finite``, ``uncertainty`` for the robust solvers).

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
            # PI needs no tolerance: it stops at an optimal policy (its bound is reported); the
            # requested epsilon is still validated, so a bad value is an error on every path
            extra_opts = {k: check_positive(options.pop(k), k) for k in ("epsilon",) if k in options}
        res = solve(mdp, key, **{**defaults, **options})
        opts = dict(res.options, auto=True, auto_reason=reason, **{f"{k}_requested": v for k, v in extra_opts.items()})
        return dataclasses.replace(res, options=opts)
    spec = get_solver(method)
    spec.check_options(options)
    res = spec.function(mdp, **options)
    _refuse_nan_converged(res, spec.name)
    return _record_options(spec, res, mdp, options)


def _refuse_nan_converged(res, name: str) -> None:
    """Last line of defence: a result that claims convergence never carries nan.

    The model and option checks keep values finite (rewards finite, ``max|R| / (1 - gamma)``
    far below the float64 maximum), so this should never fire; if it does, the caller gets an
    error rather than a nan reported as a converged answer.
    """
    if not getattr(res, "converged", False):
        return
    try:
        v = np.asarray(res.v, dtype=np.float64)
        err = float(res.v_error_bound)
    except (TypeError, ValueError, AttributeError):
        return  # exact (rational) results and non-numeric values
    if np.isnan(v).any() or np.isnan(err):
        raise InvalidArgumentError(
            f"{name} produced nan values while reporting convergence (float64 overflow or invalid input); "
            "the result is refused: rescale the rewards or check the model"
        )


def _record_options(spec, res, mdp, options):
    """Add every resolved argument of the call (defaults included) that the solver did not record
    itself: scalars by value, arrays and other objects as ``<name>_given``."""
    bound = inspect.signature(spec.function).bind(mdp, **options)
    bound.apply_defaults()
    missing = {}
    for name, val in list(bound.arguments.items())[1:]:
        if name in res.options or f"{name}_given" in res.options:
            continue
        if val is None or isinstance(val, (bool, int, float, str)):
            missing[name] = val
        else:
            missing[f"{name}_given"] = True
    return dataclasses.replace(res, options={**res.options, **missing}) if missing else res

"""Planning algorithms for tabular MDPs (installed as ``mdpkit.solvers``).

Discounted
    value_iteration, gauss_seidel_value_iteration, policy_iteration,
    modified_policy_iteration, linear_programming
Exact arithmetic
    exact_policy_evaluation, exact_policy_iteration, to_fractions
Finite horizon
    backward_induction
Total reward / stochastic shortest path
    ssp_policy_iteration, ssp_policy_evaluation, terminal_states, all_policies_proper
Average reward
    relative_value_iteration, closed_classes
Robust (sa- and s-rectangular)
    robust_value_iteration, robust_policy_iteration, robust_modified_policy_iteration,
    robust_partial_policy_iteration (operators in mdpkit.solvers.robust)
Static / regularized robust
    scenario_value, static_robust_policy, iwocs, regularized_bellman_operator,
    regularized_value_iteration
Distributional
    categorical_policy_evaluation, quantile_policy_evaluation, categorical_value_iteration,
    quantile_value_iteration, distributional_policy_iteration, categorical_bellman_operator,
    quantile_bellman_operator, DistributionalResult,
    DistributionalControlResult
Risk-sensitive (stock augmentation, finite horizon; mdpkit.solvers.risk)
    solve_objective, optimize_cvar, optimize_var, optimize_threshold, optimize_band,
    optimize_expected_utility, optimize_mean, optimize_erm, optimize_evar, nested_risk_dp,
    cvar_decomposition, RiskResult
Dispatcher
    solve, SOLVERS
"""

from ._dispatch import SOLVERS, solve
from .average_reward import closed_classes, relative_value_iteration
from .discounted import (
    gauss_seidel_value_iteration,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from .exact import exact_policy_evaluation, exact_policy_iteration, to_fractions
from .finite_horizon import backward_induction
from .lp import linear_programming
from .total_reward import all_policies_proper, ssp_policy_evaluation, ssp_policy_iteration, terminal_states
from .distributional import (
    DistributionalControlResult,
    DistributionalResult,
    categorical_bellman_operator,
    categorical_policy_evaluation,
    categorical_value_iteration,
    distributional_policy_iteration,
    quantile_bellman_operator,
    quantile_policy_evaluation,
    quantile_value_iteration,
)
from .risk import (
    RiskResult,
    cvar_decomposition,
    nested_risk_dp,
    optimize_band,
    optimize_cvar,
    optimize_erm,
    optimize_evar,
    optimize_expected_utility,
    optimize_mean,
    optimize_threshold,
    optimize_var,
    solve_objective,
)
from .robust import robust_modified_policy_iteration, robust_partial_policy_iteration, robust_policy_iteration, robust_value_iteration  # noqa: E501
from .robust_static import iwocs, regularized_bellman_operator, regularized_value_iteration, scenario_value, static_robust_policy  # noqa: E501

__all__ = [
    "categorical_bellman_operator",
    "quantile_bellman_operator",
    "DistributionalControlResult",
    "categorical_value_iteration",
    "quantile_value_iteration",
    "distributional_policy_iteration",
    "RiskResult",
    "cvar_decomposition",
    "nested_risk_dp",
    "optimize_band",
    "optimize_cvar",
    "optimize_erm",
    "optimize_evar",
    "optimize_expected_utility",
    "optimize_mean",
    "optimize_threshold",
    "optimize_var",
    "solve_objective",
    "DistributionalResult",
    "SOLVERS",
    "all_policies_proper",
    "backward_induction",
    "categorical_policy_evaluation",
    "closed_classes",
    "exact_policy_evaluation",
    "exact_policy_iteration",
    "gauss_seidel_value_iteration",
    "iwocs",
    "linear_programming",
    "modified_policy_iteration",
    "policy_iteration",
    "quantile_policy_evaluation",
    "regularized_bellman_operator",
    "regularized_value_iteration",
    "relative_value_iteration",
    "robust_modified_policy_iteration",
    "robust_partial_policy_iteration",
    "robust_policy_iteration",
    "robust_value_iteration",
    "scenario_value",
    "solve",
    "ssp_policy_evaluation",
    "ssp_policy_iteration",
    "static_robust_policy",
    "terminal_states",
    "to_fractions",
    "value_iteration",
]

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
Model checking (mdpkit.solvers.reachability): reachability, reward to a goal, long-run average
    reach_probability, reach_reward, step_bounded_probability, long_run_average,
    check_objective, ReachabilityResult
Average reward
    relative_value_iteration, closed_classes
Robust (sa- and s-rectangular)
    robust_value_iteration, robust_policy_iteration, robust_modified_policy_iteration,
    robust_partial_policy_iteration, RobustResult (operators in mdpkit.solvers.robust)
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
    cvar_decomposition, RiskResult, CVaRDecompositionResult
Discounted risk objectives with a certified interval (mdpkit.solvers.risk_bracket)
    optimize_discounted_risk, RiskBracketResult
Structure queries moved to :mod:`mdpkit.structure` (``closed_classes``, ``terminal_states``,
``all_policies_proper``); the old names here forward there with a ``DeprecationWarning``.
Exact policy optimization (mdpkit.solvers.policy_optimization)
    softmax_policy_gradient, natural_policy_gradient, entropy_regularized_npg,
    policy_mirror_descent, conservative_policy_iteration, PolicyOptimizationResult
Constrained MDPs (mdpkit.solvers.cmdp) and zero-sum Markov games (mdpkit.solvers.games)
    cmdp_linear_programming, cmdp_primal_dual, InfeasibleCMDPError, CMDPResult, PrimalDualResult;
    Shapley value iteration, minimax-Q, linear minimax FQI, exploitability, CCE LP in mdpkit.solvers.games
Adversarial / stochastic episodic MDPs, known transitions (mdpkit.solvers.adversarial_po)
    bobw_policy_optimization, delay_adapted_policy_optimization, best_fixed_policy (exact regret)
Linear MDPs (mdpkit.solvers.linear)
    linear_exact_solution, lsvi, fitted_q_iteration, mdvi, lsvi_ucb, lmc_lsvi, r2pvi,
    regularized_expectation, g_optimal_design, vwls_mdvi, RidgeRegressor, LinearVIResult, MDVIResult,
    LSVIUCBResult, R2PVIResult, GOptimalDesign, VWLSMDVIResult; reward_free_exploration (HF-UCRL-RFE++ on
    linear mixture MDPs), RewardFreeResult, RewardFreePlan
Online tabular RL (mdpkit.solvers.online)
    run_episodes (UCBVI-CH/BF, UCB-H/B, PSRL; exact per-episode regret), ucrl2, q_learning,
    orchestrated_q_learning, EpisodicResult, AverageRewardLearningResult, QLearningResult
Bandits (mdpkit.solvers.bandits) and seeded sweeps (mdpkit.solvers.sweep)
    run_bandit, bandit_algorithm, BanditAlgorithm, run_sweep, bandit_sweep
Method registry and dispatcher
    solve, auto_method, SOLVERS, SolverSpec, get_solver, register_solver
"""

from ._dispatch import auto_method, solve
from ._registry import SOLVERS, SolverSpec, get_solver, register_solver
from .bandits import BanditAlgorithm, bandit_algorithm, run_bandit
from .sweep import bandit_sweep, run_sweep
from .average_reward import relative_value_iteration
from .discounted import (
    gauss_seidel_value_iteration,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)
from .exact import exact_policy_evaluation, exact_policy_iteration, to_fractions
from .finite_horizon import backward_induction
from .online import orchestrated_q_learning, q_learning, run_episodes, ucrl2
from .linear import (
    GOptimalDesign,
    LinearVIResult,
    LSVIUCBResult,
    MDVIResult,
    R2PVIResult,
    RewardFreePlan,
    RewardFreeResult,
    RidgeRegressor,
    VWLSMDVIResult,
    fitted_q_iteration,
    g_optimal_design,
    linear_exact_solution,
    lmc_lsvi,
    lsvi,
    lsvi_ucb,
    mdvi,
    r2pvi,
    regularized_expectation,
    reward_free_exploration,
    vwls_mdvi,
)
from .lp import linear_programming
from .cmdp import CMDPResult, InfeasibleCMDPError, PrimalDualResult, cmdp_linear_programming, cmdp_primal_dual
from .policy_optimization import (
    PolicyOptimizationResult,
    conservative_policy_iteration,
    entropy_regularized_npg,
    natural_policy_gradient,
    policy_mirror_descent,
    softmax_policy_gradient,
)
from .total_reward import ssp_policy_evaluation, ssp_policy_iteration
from .reachability import (
    ReachabilityResult,
    check_objective,
    long_run_average,
    reach_probability,
    reach_reward,
    step_bounded_probability,
)
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
from .risk_bracket import RiskBracketResult, optimize_discounted_risk
from .risk import (
    CVaRDecompositionResult,
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
from .robust import (
    RobustResult,
    robust_modified_policy_iteration,
    robust_partial_policy_iteration,
    robust_policy_iteration,
    robust_value_iteration,
)
from .robust_static import (
    IWOCSResult,
    RegularizedVIResult,
    ScenarioValue,
    StaticPolicyResult,
    iwocs,
    regularized_bellman_operator,
    regularized_value_iteration,
    scenario_value,
    static_robust_policy,
)

__all__ = [
    "BanditAlgorithm",
    "CMDPResult",
    "CVaRDecompositionResult",
    "DistributionalControlResult",
    "DistributionalResult",
    "GOptimalDesign",
    "IWOCSResult",
    "InfeasibleCMDPError",
    "LSVIUCBResult",
    "LinearVIResult",
    "MDVIResult",
    "PolicyOptimizationResult",
    "PrimalDualResult",
    "R2PVIResult",
    "ReachabilityResult",
    "RegularizedVIResult",
    "RewardFreePlan",
    "RewardFreeResult",
    "RidgeRegressor",
    "RiskBracketResult",
    "RiskResult",
    "RobustResult",
    "SOLVERS",
    "ScenarioValue",
    "SolverSpec",
    "StaticPolicyResult",
    "VWLSMDVIResult",
    "auto_method",
    "backward_induction",
    "bandit_algorithm",
    "bandit_sweep",
    "categorical_bellman_operator",
    "categorical_policy_evaluation",
    "categorical_value_iteration",
    "check_objective",
    "cmdp_linear_programming",
    "cmdp_primal_dual",
    "conservative_policy_iteration",
    "cvar_decomposition",
    "distributional_policy_iteration",
    "entropy_regularized_npg",
    "exact_policy_evaluation",
    "exact_policy_iteration",
    "fitted_q_iteration",
    "g_optimal_design",
    "gauss_seidel_value_iteration",
    "get_solver",
    "iwocs",
    "linear_exact_solution",
    "linear_programming",
    "lmc_lsvi",
    "long_run_average",
    "lsvi",
    "lsvi_ucb",
    "mdvi",
    "modified_policy_iteration",
    "natural_policy_gradient",
    "nested_risk_dp",
    "optimize_band",
    "optimize_cvar",
    "optimize_discounted_risk",
    "optimize_erm",
    "optimize_evar",
    "optimize_expected_utility",
    "optimize_mean",
    "optimize_threshold",
    "optimize_var",
    "orchestrated_q_learning",
    "policy_iteration",
    "policy_mirror_descent",
    "q_learning",
    "quantile_bellman_operator",
    "quantile_policy_evaluation",
    "quantile_value_iteration",
    "r2pvi",
    "reach_probability",
    "reach_reward",
    "register_solver",
    "regularized_bellman_operator",
    "regularized_expectation",
    "regularized_value_iteration",
    "relative_value_iteration",
    "reward_free_exploration",
    "robust_modified_policy_iteration",
    "robust_partial_policy_iteration",
    "robust_policy_iteration",
    "robust_value_iteration",
    "run_bandit",
    "run_episodes",
    "run_sweep",
    "scenario_value",
    "softmax_policy_gradient",
    "solve",
    "solve_objective",
    "ssp_policy_evaluation",
    "ssp_policy_iteration",
    "static_robust_policy",
    "step_bounded_probability",
    "to_fractions",
    "ucrl2",
    "value_iteration",
    "vwls_mdvi",
]

_MOVED = {"closed_classes": "mdpkit.structure", "terminal_states": "mdpkit.structure",
          "all_policies_proper": "mdpkit.structure"}


def __getattr__(name):
    # QuantEcon-style shim: names that moved keep working for a while, with a warning
    if name in _MOVED:
        import importlib
        import warnings

        warnings.warn(f"mdpkit.solvers.{name} moved to {_MOVED[name]}.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'mdpkit.solvers' has no attribute {name!r}")

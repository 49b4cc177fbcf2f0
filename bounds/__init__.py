"""Theorems as functions: every theory constant used by mdpkit, written once.

Exact dynamic programming (:mod:`mdpkit.bounds.dp`)
    vi_norm_stopping_tol, span_stopping_tol, vi_iterations, vi_contraction_bound,
    vi_a_posteriori_bound, residual_value_bound, greedy_span_bound, macqueen_bounds,
    span_contraction_coefficient, span_contraction_bound, span_vi_iterations,
    greedy_loss_v, greedy_loss_q, approximate_vi_bound, approximate_vi_asymptotic,
    pi_contraction_bound, mpi_vi_dominance, simulation_lemma_bound, ssp_greedy_bound, gain_bracket,
    rvi_relative_value_bound
Policy-iteration complexity (:mod:`mdpkit.bounds.pi`)
    pi_iterations_scherrer, pi_iterations_hansen_miltersen_zwick, pi_iterations_ye
Robust dynamic programming (:mod:`mdpkit.bounds.robust`)
    robust_greedy_span_bound, robust_evaluation_bound, robust_pi_bound, norm_ball_closed_form
Distributional evaluation (:mod:`mdpkit.bounds.distributional`)
    categorical_stopping_tol, categorical_evaluation_bound, categorical_fixed_point_bound,
    mean_error_from_cramer, quantile_stopping_tol, quantile_evaluation_bound, truncation_bound,
    truncated_policy_bound
Policy optimization (:mod:`mdpkit.bounds.pg`)
    npg_bound, mei_softmax_step, softmax_pg_bound, entropy_npg_bound, pmd_geometric_bound,
    gradient_domination_bound, trpo_improvement_bound, cpi_improvement_bound
Identities (:mod:`mdpkit.bounds.identities`)
    performance_difference, simulation_identity
Linear MDPs (:mod:`mdpkit.bounds.linear`)
    lsvi_ucb_beta, lsvi_ucb_iota, lsvi_ucb_regret_bound, finite_horizon_adp_bound
Rates and assertions
    fit_rate, RateFit, assert_bound, bound_ratio, BoundViolation
Records
    Bound, BoundKind
"""

from ._bound import Bound, BoundKind
from .assertions import BoundViolation, assert_bound, bound_ratio
from .dp import (
    approximate_vi_asymptotic,
    approximate_vi_bound,
    gain_bracket,
    greedy_loss_q,
    greedy_loss_v,
    greedy_span_bound,
    macqueen_bounds,
    mpi_vi_dominance,
    pi_contraction_bound,
    residual_value_bound,
    rvi_relative_value_bound,
    simulation_lemma_bound,
    span_contraction_bound,
    span_contraction_coefficient,
    span_stopping_tol,
    span_vi_iterations,
    ssp_greedy_bound,
    vi_a_posteriori_bound,
    vi_contraction_bound,
    vi_iterations,
    vi_norm_stopping_tol,
)
from .distributional import (
    categorical_evaluation_bound,
    categorical_fixed_point_bound,
    categorical_stopping_tol,
    mean_error_from_cramer,
    quantile_evaluation_bound,
    quantile_stopping_tol,
    truncated_policy_bound,
    truncation_bound,
)
from .identities import performance_difference, simulation_identity
from .pg import (
    cpi_improvement_bound,
    entropy_npg_bound,
    gradient_domination_bound,
    mei_softmax_step,
    npg_bound,
    pmd_geometric_bound,
    softmax_pg_bound,
    trpo_improvement_bound,
)
from .linear import finite_horizon_adp_bound, lsvi_ucb_beta, lsvi_ucb_iota, lsvi_ucb_regret_bound
from .pi import pi_iterations_hansen_miltersen_zwick, pi_iterations_scherrer, pi_iterations_ye
from .rates import RateFit, fit_rate
from .robust import norm_ball_closed_form, robust_evaluation_bound, robust_greedy_span_bound, robust_pi_bound

__all__ = [
    "Bound",
    "BoundKind",
    "BoundViolation",
    "RateFit",
    "approximate_vi_asymptotic",
    "approximate_vi_bound",
    "assert_bound",
    "bound_ratio",
    "categorical_evaluation_bound",
    "categorical_fixed_point_bound",
    "categorical_stopping_tol",
    "cpi_improvement_bound",
    "entropy_npg_bound",
    "finite_horizon_adp_bound",
    "fit_rate",
    "gain_bracket",
    "gradient_domination_bound",
    "greedy_loss_q",
    "greedy_loss_v",
    "greedy_span_bound",
    "lsvi_ucb_beta",
    "lsvi_ucb_iota",
    "lsvi_ucb_regret_bound",
    "macqueen_bounds",
    "mean_error_from_cramer",
    "mei_softmax_step",
    "mpi_vi_dominance",
    "norm_ball_closed_form",
    "npg_bound",
    "performance_difference",
    "pi_contraction_bound",
    "pi_iterations_hansen_miltersen_zwick",
    "pi_iterations_scherrer",
    "pi_iterations_ye",
    "pmd_geometric_bound",
    "quantile_evaluation_bound",
    "quantile_stopping_tol",
    "residual_value_bound",
    "robust_evaluation_bound",
    "robust_greedy_span_bound",
    "robust_pi_bound",
    "rvi_relative_value_bound",
    "simulation_identity",
    "simulation_lemma_bound",
    "softmax_pg_bound",
    "span_contraction_bound",
    "span_contraction_coefficient",
    "span_stopping_tol",
    "span_vi_iterations",
    "ssp_greedy_bound",
    "trpo_improvement_bound",
    "truncated_policy_bound",
    "truncation_bound",
    "vi_a_posteriori_bound",
    "vi_contraction_bound",
    "vi_iterations",
    "vi_norm_stopping_tol",
]

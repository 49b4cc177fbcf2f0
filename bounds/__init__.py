"""Theorems as functions: every theory constant used by mdpkit, written once.

Exact dynamic programming (:mod:`mdpkit.bounds.dp`)
    vi_norm_stopping_tol, span_stopping_tol, vi_iterations, vi_contraction_bound,
    vi_a_posteriori_bound, residual_value_bound, greedy_span_bound, macqueen_bounds,
    span_contraction_coefficient, span_contraction_bound, span_vi_iterations,
    greedy_loss_v, greedy_loss_q, approximate_vi_bound, approximate_vi_asymptotic, macqueen_action_elimination,
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
    gradient_domination_bound, trpo_improvement_bound, cpi_improvement_bound, bobw_po_regret_rate,
    dapo_regret_rate, dynamic_pg_epoch_bound, dynamic_pg_steps_bound
Identities (:mod:`mdpkit.bounds.identities`)
    performance_difference, simulation_identity
Linear MDPs (:mod:`mdpkit.bounds.linear`)
    lsvi_ucb_beta, lsvi_ucb_iota, lsvi_ucb_regret_bound, lmc_lsvi_regret_bound, finite_horizon_adp_bound
Structure and hardness (:mod:`mdpkit.bounds.structure`)
    diameter_lower_bound, bias_span_bound, dobrushin_tv_bound, mixing_time_spectral_bounds,
    gorp_rollouts, effective_horizon_bound
Online tabular RL (:mod:`mdpkit.bounds.online`)
    ucbvi_ch_regret_bound, ucbvi_bf_regret_bound, ucb_h_regret_rate, ucb_b_regret_rate,
    psrl_bayes_regret_rate, ucrl2_regret_bound, ucrl2_episode_bound, NonPaperVariantError
Bandits (:mod:`mdpkit.bounds.bandits`; every regret bound there)
    regret_bound, lai_robbins_bound, minimax_lower_bound, elliptical_potential_bound,
    BoundNotApplicableError
Rates and assertions
    fit_rate, RateFit, assert_bound, bound_ratio, BoundViolation
Records
    Bound, BoundKind
"""

from ._bound import Bound, BoundKind
from .assertions import BoundViolation, assert_bound, bound_ratio
from .bandits import (
    BoundNotApplicableError,
    elliptical_potential_bound,
    lai_robbins_bound,
    minimax_lower_bound,
    regret_bound,
)
from .dp import (
    approximate_vi_asymptotic,
    approximate_vi_bound,
    gain_bracket,
    greedy_loss_q,
    greedy_loss_v,
    greedy_span_bound,
    macqueen_action_elimination,
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
    bobw_po_regret_rate,
    cpi_improvement_bound,
    dapo_regret_rate,
    dynamic_pg_epoch_bound,
    dynamic_pg_steps_bound,
    entropy_npg_bound,
    gradient_domination_bound,
    mei_softmax_step,
    npg_bound,
    pmd_geometric_bound,
    softmax_pg_bound,
    trpo_improvement_bound,
)
from .linear import (
    finite_horizon_adp_bound,
    lmc_lsvi_regret_bound,
    lsvi_ucb_beta,
    lsvi_ucb_iota,
    lsvi_ucb_regret_bound,
)
from .online import (
    NonPaperVariantError,
    psrl_bayes_regret_rate,
    ucb_b_regret_rate,
    ucb_h_regret_rate,
    ucbvi_bf_regret_bound,
    ucbvi_ch_regret_bound,
    ucrl2_episode_bound,
    ucrl2_regret_bound,
)
from .pi import pi_iterations_hansen_miltersen_zwick, pi_iterations_scherrer, pi_iterations_ye
from .rates import RateFit, fit_rate
from .robust import norm_ball_closed_form, robust_evaluation_bound, robust_greedy_span_bound, robust_pi_bound
from .structure import (
    bias_span_bound,
    diameter_lower_bound,
    dobrushin_tv_bound,
    effective_horizon_bound,
    gorp_rollouts,
    mixing_time_spectral_bounds,
)

__all__ = [
    "Bound",
    "BoundKind",
    "BoundNotApplicableError",
    "BoundViolation",
    "NonPaperVariantError",
    "RateFit",
    "approximate_vi_asymptotic",
    "approximate_vi_bound",
    "assert_bound",
    "bias_span_bound",
    "bobw_po_regret_rate",
    "bound_ratio",
    "categorical_evaluation_bound",
    "categorical_fixed_point_bound",
    "categorical_stopping_tol",
    "cpi_improvement_bound",
    "dapo_regret_rate",
    "diameter_lower_bound",
    "dobrushin_tv_bound",
    "dynamic_pg_epoch_bound",
    "dynamic_pg_steps_bound",
    "effective_horizon_bound",
    "elliptical_potential_bound",
    "entropy_npg_bound",
    "finite_horizon_adp_bound",
    "fit_rate",
    "gain_bracket",
    "gorp_rollouts",
    "gradient_domination_bound",
    "greedy_loss_q",
    "greedy_loss_v",
    "greedy_span_bound",
    "lai_robbins_bound",
    "lmc_lsvi_regret_bound",
    "lsvi_ucb_beta",
    "lsvi_ucb_iota",
    "lsvi_ucb_regret_bound",
    "macqueen_action_elimination",
    "macqueen_bounds",
    "mean_error_from_cramer",
    "mei_softmax_step",
    "minimax_lower_bound",
    "mixing_time_spectral_bounds",
    "mpi_vi_dominance",
    "norm_ball_closed_form",
    "npg_bound",
    "performance_difference",
    "pi_contraction_bound",
    "pi_iterations_hansen_miltersen_zwick",
    "pi_iterations_scherrer",
    "pi_iterations_ye",
    "pmd_geometric_bound",
    "psrl_bayes_regret_rate",
    "quantile_evaluation_bound",
    "quantile_stopping_tol",
    "regret_bound",
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
    "ucb_b_regret_rate",
    "ucb_h_regret_rate",
    "ucbvi_bf_regret_bound",
    "ucbvi_ch_regret_bound",
    "ucrl2_episode_bound",
    "ucrl2_regret_bound",
    "vi_a_posteriori_bound",
    "vi_contraction_bound",
    "vi_iterations",
    "vi_norm_stopping_tol",
]

"""Registered theorem checks for distributional policy evaluation."""

from __future__ import annotations

import numpy as np

from mdpkit.policies import policy_evaluation
from mdpkit.solvers.distributional import categorical_policy_evaluation

from ._core import Observation, Theorem, register
from ._dp import _random_stochastic_policy, _slack, _sup, _wrong_gamma
from ._instances import discounted_mdps


def categorical_wrong_discount(mdp, policy, **kw):
    """Negative control: categorical evaluation run with discount (1+gamma)/2."""
    return categorical_policy_evaluation(_wrong_gamma(mdp), policy, **kw)


def _run_categorical_mean(mdp, rng, evaluate):
    pi = _random_stochastic_policy(mdp, rng)
    K = int(rng.choice([5, 11, 51]))
    res = evaluate(mdp, pi, n_atoms=K, epsilon=1e-9)
    v_pi = policy_evaluation(mdp, pi)
    b = res.v_error_bound if res.v_error_bound is not None else 0.0
    return Observation(np.array([_sup(np.asarray(res.v) - v_pi)]), np.array([b]), atol=_slack(mdp),
                       info={"n_atoms": K, "n_iter": int(res.n_iter)})


register(Theorem(
    name="categorical-mean",
    statement="on a support covering every return, the categorical projection preserves means, so the "
              "categorical fixed point's mean is V^pi (up to the certified sup-Cramer error times sqrt(z_K - z_1))",
    source="Rowland et al. (2018), AISTATS (mean preservation of Pi_C; Prop. 2 contraction)",
    compare="bound",
    subject=categorical_policy_evaluation,
    subject_doc="evaluate(mdp, policy, n_atoms=, epsilon=) -> result with .v (S,) means and .v_error_bound",
    run=_run_categorical_mean, family=discounted_mdps,
    negative=categorical_wrong_discount, negative_doc="categorical evaluation with discount (1+gamma)/2",
    zoo=("gridworld_5x5", "riverswim:gamma=0.9"), plot="ratio",
))

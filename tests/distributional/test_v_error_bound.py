"""``v`` means what it says for distributional evaluation: ``|v - V^pi| <= v_error_bound``, exactly.

Oracle: the exact linear solve :func:`mdpkit.policies.policy_evaluation` (no distributional code).
The inequality is asserted with no extra tolerance: ``v_error_bound`` includes its own rounding
allowance.  Covering and non-covering categorical supports, quantiles (whose means are biased, and
whose bound must say so), dense and CSR models, deterministic and stochastic policies, converged
and stopped-early runs.
"""

import warnings

import numpy as np
from hypothesis import given, settings, strategies as st

from mdpkit import ConvergenceWarning
from mdpkit.policies import policy_evaluation
from mdpkit.results import SolveResult
from mdpkit.solvers.distributional import (
    DistributionalResult,
    categorical_policy_evaluation,
    quantile_policy_evaluation,
)
from mdpkit.testing.strategies import mdps, policies


def _check(res, v_true):
    assert isinstance(res, DistributionalResult) and isinstance(res, SolveResult)
    assert np.isfinite(res.v_error_bound)
    assert float(np.max(np.abs(res.v - v_true))) <= res.v_error_bound


@settings(max_examples=40)
@given(st.data())
def test_distributional_evaluation_v_within_v_error_bound(data):
    mdp = data.draw(mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.95),
                         reward=data.draw(st.sampled_from(["sa", "sas"])), sparse=None))
    pol = data.draw(policies(mdp, stochastic=data.draw(st.booleans())))
    v_true = policy_evaluation(mdp, pol)
    max_iter = data.draw(st.sampled_from([3, 100_000]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cat = categorical_policy_evaluation(mdp, pol, n_atoms=data.draw(st.sampled_from([2, 11, 51])), epsilon=1e-9,
                                            max_iter=max_iter)
        narrow = categorical_policy_evaluation(mdp, pol, support=np.linspace(-0.5, 0.5, 7), epsilon=1e-9,
                                               max_iter=max_iter)
        qua = quantile_policy_evaluation(mdp, pol, n_quantiles=data.draw(st.integers(1, 9)), epsilon=1e-9,
                                         max_iter=max_iter)
    for res in (cat, narrow, qua):
        _check(res, v_true)
    assert cat.covers_returns
    if cat.converged:  # covering support: the Cramer route makes the bound small
        assert cat.v_error_bound <= 1e-6 * max(1.0, float(np.max(np.abs(v_true))))
    if np.asarray(pol).ndim == 1:  # the lazy v_policy is the exact V^pi of the evaluated policy
        np.testing.assert_allclose(cat.v_policy, v_true, rtol=1e-12, atol=1e-12)

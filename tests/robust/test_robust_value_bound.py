"""``res.v`` is certified: ``|res.v - v_true| <= res.v_error_bound`` against independent oracles.

Oracles: for radius 0 the nominal optimum from an exact linear solve of the optimal policy
(``policy_evaluation`` of policy iteration's policy); for radius > 0 a plain-numpy robust value
iteration with the plain-numpy inner problems of ``mdpkit._reference_robust`` (L1: the sorting
twin; nested CVaR and the KL penalty: closed forms), run until its own a posteriori error is below 1e-12 (Banach), so the
oracle shares no code with the Numba kernels or the solvers.
"""

import numpy as np
import pytest
from hypothesis import given, settings

import mdpkit._reference_robust as ref
from mdpkit.policies import policy_evaluation
from mdpkit.solvers import policy_iteration
from mdpkit.solvers.robust import (
    robust_modified_policy_iteration,
    robust_partial_policy_iteration,
    robust_policy_iteration,
    robust_value_iteration,
)
from mdpkit.testing.strategies import mdps

SOLVERS = {
    "vi": lambda m, U: robust_value_iteration(m, U, epsilon=1e-3),
    "vi-span": lambda m, U: robust_value_iteration(m, U, epsilon=1e-3, stopping="span"),
    "pi": lambda m, U: robust_policy_iteration(m, U),
    "mpi": lambda m, U: robust_modified_policy_iteration(m, U, epsilon=1e-3, m=3),
    "ppi": lambda m, U: robust_partial_policy_iteration(m, U, epsilon=1e-3),
}


def _inner(kind, q, z, kappa):
    if kind == "l1":
        return ref.l1_sort(q, z, kappa)[1]
    idx = np.flatnonzero(q > 0)
    if kind == "cvar":
        return float(ref.cvar_lower(q[idx], z[idx], kappa))
    return float(ref.kl_penalty_closed(q[idx], z[idx], kappa))


def numpy_robust_value(mdp, kind, kappa, tol=1e-12):
    """Plain-numpy robust VI to an a posteriori error <= tol (gamma/(1-gamma) ||v_{k+1} - v_k||)."""
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    v = np.zeros(mdp.S)
    for _ in range(100_000):
        q = np.full((mdp.S, mdp.A), -np.inf)
        for s in range(mdp.S):
            for a in range(mdp.A):
                if mdp.action_mask[s, a]:
                    q[s, a] = R[s, a] + g * _inner(kind, P[s, a], v, kappa)
        v_new = q.max(axis=1)
        step = np.abs(v_new - v).max()
        v = v_new
        if g * step <= tol * (1 - g):
            return v
    raise RuntimeError("oracle did not converge")


@pytest.mark.parametrize("solver", list(SOLVERS))
@settings(max_examples=8, deadline=None)
@given(mdp=mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.9), sparse=None, masked=True))
def test_radius_zero_v_is_within_bound_of_exact_nominal_value(solver, mdp):
    v_star = policy_evaluation(mdp, policy_iteration(mdp).policy)  # exact linear solve
    res = SOLVERS[solver](mdp, "l1:0")
    assert np.all(np.abs(res.v - v_star) <= res.v_error_bound + 1e-12 * (1 + np.abs(v_star).max()))


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("spec", ["l1:0.3", "cvar:0.5", "kl_penalty:1.0"])
@settings(max_examples=6, deadline=None)
@given(mdp=mdps(n_states=(1, 5), n_actions=(1, 3), gamma=(0.0, 0.9), sparse=None, masked=True))
def test_robust_v_is_within_bound_of_numpy_oracle(solver, spec, mdp):
    kind, kappa = spec.split(":")
    v_true = numpy_robust_value(mdp, kind, float(kappa))
    res = SOLVERS[solver](mdp, spec)
    slack = 1e-10 * (1 + np.abs(v_true).max())  # oracle tolerance and floating-point sums
    assert np.all(np.abs(res.v - v_true) <= res.v_error_bound + slack)
    if res.v_lower is not None:
        assert np.all(res.v_lower <= v_true + slack) and np.all(v_true <= res.v_upper + slack)
    # the robust value of the returned policy is within its certificate of v*_U
    assert np.all(v_true - res.v_policy_robust <= res.error_bound + res.v_policy_robust_error_bound + slack)


@pytest.mark.parametrize("max_iter", [1, 3, 10])
def test_vi_bound_is_not_vacuous(max_iter):
    """Runs cut short: the bound is far above the oracle's accuracy, and it still holds."""
    from mdpkit import generators
    from mdpkit._exceptions import ConvergenceWarning

    mdp = generators.garnet(8, 3, 3, gamma=0.9, rng=5, sparse=False)
    v_true = numpy_robust_value(mdp, "l1", 0.3)
    with pytest.warns(ConvergenceWarning):
        res = robust_value_iteration(mdp, "l1:0.3", epsilon=1e-12, max_iter=max_iter)
    err = np.abs(res.v - v_true).max()
    assert res.v_error_bound > 1e-6 and err <= res.v_error_bound
    # the raw iterate is a worse estimate than the certified midpoint
    assert np.abs(res.v_iterate - v_true).max() >= err

"""``v`` means what it says for the risk solvers: ``|v - optimum| <= v_error_bound``.

Oracles: the exact enumeration of every deterministic history-dependent policy in rational
arithmetic (``mdpkit.theory._risk``, no solver calls) for CVaR and ERM; for a truncated discounted
horizon the optimum of a horizon long enough that its own truncation error is below 1e-13.
"""

import math
from fractions import Fraction as F

import numpy as np
from hypothesis import given, settings, strategies as st

from mdpkit.results import SolveResult, Status
from mdpkit.solvers.risk import CVaRDecompositionResult, RiskResult, cvar_decomposition, optimize_cvar, optimize_erm, optimize_evar

from risk_bruteforce_helpers import achievable_laws, cvar_exact, instances, random_model


@settings(max_examples=25)
@given(instances(), st.sampled_from([F(1, 10), F(1, 4), F(1, 2), F(1)]))
def test_cvar_v_within_v_error_bound_of_brute_force(inst, alpha):
    mdp, exact, H, s0 = inst
    best = float(max(cvar_exact(law, alpha) for law in achievable_laws(exact, H, s0)))
    res = optimize_cvar(mdp, float(alpha), H, state=s0)
    assert isinstance(res, RiskResult) and isinstance(res, SolveResult)
    assert res.converged and res.status == Status.CONVERGED and res.n_iter == H and res.residuals.shape == (0,)
    assert math.isfinite(res.v_error_bound) and res.v_error_bound < 1e-9 * max(1.0, abs(best))
    assert abs(float(res.v) - best) <= res.v_error_bound
    assert res.certificate.value >= 0.0 and res.b_values.shape == res.objective_by_b.shape


def test_erm_truncated_discounted_v_within_v_error_bound():
    """gamma = 0.5, horizon=None: truncation at H(tol).  Reference: the exact horizon-8 optimum, itself
    within b8 = gamma^8 max|r|/(1-gamma) of the untruncated optimum, so |v - v_true| <= v_error_bound
    requires |v - v_8| <= v_error_bound + b8."""
    mdp, _ = random_model(np.random.default_rng(3), 3, 2, gamma=0.5)
    res = optimize_erm(mdp, 0.7, None, state=0, tol=5e-2)
    long = optimize_erm(mdp, 0.7, 8, state=0)
    assert res.horizon < 8 and res.v_error_bound > 0 and not res.exact
    rmax = float(np.abs(mdp.R_sas_dense()).max())
    assert abs(float(res.v) - float(long.v)) <= res.v_error_bound + 0.5**8 * rmax / 0.5


def test_uncertified_results_say_inf():
    mdp, _ = random_model(np.random.default_rng(0), 2, 2)
    res = optimize_evar(mdp, 0.3, 2, state=0)
    assert res.v_error_bound == math.inf and res.certificate.value == math.inf and math.isnan(res.beta) is False
    dec = cvar_decomposition(mdp, 0.5, 2, state=0)
    assert isinstance(dec, CVaRDecompositionResult) and isinstance(dec.value, float)
    assert not hasattr(res, "extra")

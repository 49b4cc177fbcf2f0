"""The CVaR counterexample: risk-level decomposition over-estimates, stock augmentation is exact.

Reconstruction of the phenomenon of Hau, Delage, Ghavamzadeh & Petrik (2023, Sec. 3) on
``cvar_counterexample`` (defaults: safe 20, lottery 0/100, other 50, alpha = 1/2, horizon 2).
"""

from fractions import Fraction as F

import numpy as np

from mdpkit.generators import make
from mdpkit.generators._risk_examples import cvar_counterexample  # export pending in generators/__init__
from mdpkit.solvers.risk import cvar_decomposition, optimize_cvar

from risk_bruteforce_helpers import achievable_laws, cvar_exact, exact_from_mdp

ALPHA = F(1, 2)


def test_brute_force_optimum_is_25_with_the_lottery():
    mdp = make("cvar_counterexample")
    laws = achievable_laws(exact_from_mdp(mdp), 2, 0)
    vals = sorted(cvar_exact(law, ALPHA) for law in laws)
    assert len(laws) == 2  # safe or lottery in "choice"
    assert vals == [F(20), F(25)]
    lottery = {F(0): F(1, 4), F(50): F(1, 2), F(100): F(1, 4)}
    assert cvar_exact(lottery, ALPHA) == 25


def test_stock_augmentation_is_exact_and_picks_the_lottery():
    mdp = cvar_counterexample()
    res = optimize_cvar(mdp, 0.5, 2)
    assert res.exact and res.value == 25.0 and res.policy_value == 25.0
    # b* = VaR_{1/2} of the optimal law = 50; the stock after the first (zero) reward is -b* = -50
    assert res.initial_stock == -50.0
    assert res.action(1, 1, -50.0) == 1  # "lottery"
    x, p = res.returns.x[0], res.returns.p[0]
    assert np.array_equal(x, [0.0, 50.0, 100.0]) and np.allclose(p, [0.25, 0.5, 0.25])


def _decomposition_closed_form():
    """min_beta max(20 b, 100 (b - 1/2)^+) + 50 (1 - b) over b in [0, 1]: piecewise linear, the
    minimum is at a breakpoint {0, 1/2, 5/8, 1}; exact rationals."""
    f = lambda b: max(20 * b, 100 * max(b - F(1, 2), F(0))) + 50 * (1 - b)  # noqa: E731
    return min(f(b) for b in (F(0), F(1, 2), F(5, 8), F(1)))


def test_decomposition_overestimates__hau_et_al_2023():
    mdp = cvar_counterexample()
    want = _decomposition_closed_form()
    assert want == F(125, 4)
    dec = cvar_decomposition(mdp, 0.5, 2, state=0, n_levels=8)  # level grid contains the kink 5/8
    assert abs(dec.value - float(want)) < 1e-12
    assert dec.value > optimize_cvar(mdp, 0.5, 2).value + 6.0


def test_decomposition_is_exact_without_a_choice():
    """With the choice removed (lottery only) the decomposition evaluates the fixed policy exactly
    (Pflug & Pichler decomposition of CVaR): 25."""
    mdp = cvar_counterexample(safe=-1000.0)  # safe never chosen by any sensible criterion
    dec = cvar_decomposition(mdp, 0.5, 2, state=0, n_levels=8)
    assert abs(dec.value - 25.0) < 1e-12

"""Stock augmentation vs brute-force enumeration of every history-dependent policy (exact Fractions)."""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit.solvers.risk import (optimize_band, optimize_cvar, optimize_expected_utility, optimize_threshold,
                                 optimize_var)
from mdpkit.stock import StockAugmentedMDP, exact_stock_identity, lattice_stocks

from risk_bruteforce_helpers import achievable_laws, cvar_exact, instances, mean_exact, prob_ge, random_model, var_exact

ALPHAS = [F(0), F(1, 4), F(1, 3), F(1, 2), F(3, 4), F(1)]


@settings(max_examples=25)
@given(instances(), st.sampled_from(ALPHAS))
def test_stock_cvar_equals_brute_force__bauerle_ott_2011(inst, alpha):
    """max_pi CVaR_alpha(G^pi) over history-dependent policies = stock-augmented RU optimum (Bauerle & Ott 2011, Thm 3.1)."""
    mdp, exact, H, s0 = inst
    best = max(cvar_exact(law, alpha) for law in achievable_laws(exact, H, s0))
    res = optimize_cvar(mdp, float(alpha), H, state=s0)
    assert res.exact
    assert abs(res.value - float(best)) <= 1e-9 * max(1.0, abs(float(best)))
    assert abs(res.policy_value - float(best)) <= 1e-9 * max(1.0, abs(float(best)))


@settings(max_examples=20)
@given(instances(), st.sampled_from(ALPHAS))
def test_stock_var_equals_brute_force__lattice_threshold(inst, alpha):
    """max_pi VaR_alpha(G^pi) = largest t with max_pi P(G >= t) > 1 - alpha (lattice returns)."""
    mdp, exact, H, s0 = inst
    best = max(var_exact(law, alpha) for law in achievable_laws(exact, H, s0))
    res = optimize_var(mdp, float(alpha), H, state=s0)
    assert res.value == float(best)
    assert res.policy_value == float(best)


@settings(max_examples=20)
@given(instances(), st.integers(-3, 6))
def test_threshold_probability_equals_brute_force(inst, t):
    mdp, exact, H, s0 = inst
    best = max(prob_ge(law, t) for law in achievable_laws(exact, H, s0))
    res = optimize_threshold(mdp, float(t), H, state=s0)
    assert abs(res.value - float(best)) <= 1e-12
    assert abs(res.policy_value - float(best)) <= 1e-12


@settings(max_examples=15)
@given(instances())
def test_expected_utility_and_band_equal_brute_force(inst):
    mdp, exact, H, s0 = inst
    laws = achievable_laws(exact, H, s0)
    u = lambda x: np.minimum(x, 1.0) - 0.25 * np.maximum(x - 1.0, 0.0) ** 2  # non-monotone, concave
    best = max(sum(float(p) * float(u(np.float64(x))) for x, p in law.items()) for law in laws)
    res = optimize_expected_utility(mdp, u, H, state=s0)
    assert abs(res.value - best) <= 1e-9 * max(1.0, abs(best))
    assert abs(res.policy_value - best) <= 1e-9 * max(1.0, abs(best))
    band = max(float(sum((p for x, p in law.items() if -1 <= x <= 2), F(0))) for law in laws)
    rb = optimize_band(mdp, -1, 2, H, state=s0)
    assert abs(rb.value - band) <= 1e-12 and abs(rb.policy_value - band) <= 1e-12


def _every_step_band(exact, H, s0, lo, hi):
    """Brute force: max over history-dependent policies of P(all partial sums in [lo, hi])."""
    acts = {}
    for (s, a) in exact:
        acts.setdefault(s, []).append(a)

    def best(t, s, acc):
        if t == H:
            return F(1)
        out = F(0)
        for a in acts[s]:
            v = F(0)
            for s2, p, r in exact[(s, a)]:
                y = acc + r
                if lo <= y <= hi:
                    v += p * best(t + 1, s2, y)
            out = max(out, v)
        return out

    return best(0, s0, F(0))


@settings(max_examples=15)
@given(instances(), st.integers(-2, 1), st.integers(0, 4))
def test_band_at_every_step_equals_brute_force(inst, lo, width):
    mdp, exact, H, s0 = inst
    hi = lo + width
    want = _every_step_band(exact, H, s0, lo, hi)
    res = optimize_band(mdp, lo, hi, H, state=s0, at_every_step=True)
    assert abs(res.value - float(want)) <= 1e-12


def test_stock_identity_exact():
    """gamma^t c_t = c_0 + sum_{k<t} gamma^k r_k for the update c_{t+1} = (c_t + r_t)/gamma (exact rationals)."""
    rng = np.random.default_rng(0)
    for g in (1.0, 0.5, 0.75, 0.9):
        for _ in range(20):
            assert exact_stock_identity(rng.integers(-5, 6, size=8).tolist(), g, float(rng.integers(-3, 4)))


def test_mu0_start_mixture():
    """Start from mu0: CVaR of the mixture law, optimum over policies that see s0 (brute force per start)."""
    rng = np.random.default_rng(3)
    mdp, exact = random_model(rng, 2, 2)
    mdp = TabularMDP(np.asarray(mdp.P), None, 1.0, R_sas=mdp.R_sas, mu0=[0.5, 0.5])
    l0, l1 = achievable_laws(exact, 2, 0), achievable_laws(exact, 2, 1)
    best = F(-10**9)
    for a in l0:
        for b in l1:
            mix = {}
            for law in (a, b):
                for x, p in law.items():
                    mix[x] = mix.get(x, F(0)) + p / 2
            best = max(best, cvar_exact(mix, F(1, 3)))
    res = optimize_cvar(mdp, 1 / 3, 2)
    assert abs(res.value - float(best)) <= 1e-9


def _coin_model(gamma, reward=1.0):
    P = np.full((1, 1, 1), 1.0)
    return TabularMDP(P, None, gamma, R_sas=np.full((1, 1, 1), reward))


def test_off_grid_raises_with_location():
    mdp = _coin_model(0.5)
    with pytest.raises(InvalidArgumentError, match="gamma = 1"):
        lattice_stocks(mdp, 3)
    aug = StockAugmentedMDP(mdp, 3, np.arange(-2.0, 9.0))
    with pytest.raises(InvalidArgumentError, match=r"t=2, state 0, stock 6\.0.*next stock.* = 14\.0 is beyond"):
        aug.reachable([0], [aug.stock_index(0.0)])
    aug2 = StockAugmentedMDP(_coin_model(1.0, 1.5), 2, np.arange(0.0, 3.0))
    with pytest.raises(InvalidArgumentError, match="between points"):
        aug2.reachable([0], [0])
    aug3 = StockAugmentedMDP(_coin_model(1.0), 3, np.arange(0.0, 3.0))
    with pytest.raises(InvalidArgumentError, match="beyond the ends"):
        aug3.reachable([0], [0])


def test_interpolation_is_explicit_and_flagged():
    mdp = _coin_model(1.0, 1.5)
    stocks = np.arange(-1.0, 5.0)
    with pytest.raises(InvalidArgumentError):
        optimize_expected_utility(mdp, lambda x: x, 2, state=0, stocks=stocks)
    res = optimize_expected_utility(mdp, lambda x: x, 2, state=0, stocks=stocks, off_grid="interpolate")
    assert not res.exact
    # linear interpolation keeps the stock's mean: E[c0 + G] = 3 for the identity utility
    assert abs(res.value - 3.0) < 1e-12


def test_lattice_rejects_non_dyadic_rewards():
    with pytest.raises(InvalidArgumentError, match="lattice"):
        lattice_stocks(_coin_model(1.0, 0.1), 2)
    assert np.array_equal(lattice_stocks(_coin_model(1.0, 0.5), 2), np.arange(0, 1.5, 0.5))


def test_bad_arguments():
    mdp = _coin_model(1.0)
    with pytest.raises(InvalidArgumentError):
        optimize_cvar(mdp, 1.5, 2, state=0)
    with pytest.raises(InvalidArgumentError, match="horizon"):
        optimize_cvar(mdp, 0.5, None, state=0)
    with pytest.raises(InvalidArgumentError):
        optimize_cvar(mdp, 0.5, 2, state=3)
    with pytest.raises(InvalidArgumentError):
        StockAugmentedMDP(mdp, 2, [1.0, 0.0])
    with pytest.raises(InvalidArgumentError):
        StockAugmentedMDP(mdp, 2, [0.0, 1.0], off_grid="round")

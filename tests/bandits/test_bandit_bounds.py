"""Bandit bounds: hand formulas, assumptions checked, practical variants refused, ETC tightness."""

import math

import numpy as np
import pytest

from mdpkit.bandits import BernoulliBandit, GaussianBandit
from mdpkit.bounds import BoundKind
from mdpkit.bounds import bandits as bb
from mdpkit.solvers.bandits import bandit_algorithm, etc_expected_regret, run_bandit


def test_values_by_hand():
    b = BernoulliBandit([0.9, 0.8, 0.5])
    T = 1000
    assert bb.ucb1_regret_bound(b, T).value == pytest.approx(8 * math.log(T) * (10 + 2.5) + (1 + math.pi ** 2 / 3) * 0.5)
    assert bb.ucb_delta_regret_bound(b, T).value == pytest.approx(3 * 0.5 + 16 * math.log(T) * 12.5)
    assert bb.moss_regret_bound(b, T).value == pytest.approx(38 * math.sqrt(3 * T) + 0.5)
    assert bb.exp3_regret_bound(b, T).value == pytest.approx(math.sqrt(2 * T * 3 * math.log(3)))
    assert bb.etc_regret_bound(b, T, 10).value == pytest.approx(
        10 * 0.5 + (T - 30) * (0.1 * math.exp(-10 * 0.01 / 4) + 0.4 * math.exp(-10 * 0.16 / 4)))
    lr = bb.lai_robbins_bound(b, T)
    assert lr.kind is BoundKind.ASYMPTOTIC and lr.value == pytest.approx(b.lai_robbins_constant() * math.log(T))
    assert bb.minimax_lower_bound(3, T).value == pytest.approx(math.sqrt(2 * T) / 27)
    assert bb.ucb_confidence_failure_bound(100, 1e-4).delta == pytest.approx(0.01)


def test_ao_ucb_and_kl_ucb_ls_bounds_are_infima_over_valid_epsilons():
    b = BernoulliBandit([0.9, 0.6])
    T = 5000
    lf = math.log(1 + T * math.log(T) ** 2)
    D = 0.3
    one = lambda e: D * (1 + 5 / e ** 2 + 2 / (D - e) ** 2 * (lf + math.sqrt(math.pi * lf) + 1))  # noqa: E731
    v = bb.ao_ucb_regret_bound(b, T).value
    assert v <= one(0.1) and v <= one(0.2) and v >= min(one(e) for e in np.linspace(1e-3, D - 1e-3, 5000)) - 1e-9


@pytest.mark.parametrize("name, variant", [("ucb1", "practical"), ("kl_ucb", "practical"), ("moss", "anytime"),
                                           ("exp3", "practical"), ("eps_greedy", "practical"), ("greedy", "paper"),
                                           ("ts_gaussian", "paper")])
def test_refused_without_theorem(name, variant):
    with pytest.raises(bb.BoundNotApplicableError):
        bb.regret_bound(bandit_algorithm(name, variant=variant), BernoulliBandit([0.5, 0.4]), 100)


def test_assumptions_checked_on_instance():
    g = GaussianBandit([1.0, 0.0], sigma=1.0)
    with pytest.raises(bb.BoundNotApplicableError, match=r"\[0, 1\]"):
        bb.ucb1_regret_bound(g, 100)
    with pytest.raises(bb.BoundNotApplicableError, match="1-subgaussian"):
        bb.moss_regret_bound(GaussianBandit([1.0, 0.0], sigma=2.0), 100)
    assert bb.moss_regret_bound(g, 100).value > 0
    res = run_bandit("ucb1", g, 50, 1)
    assert res.certificate is None  # a run never carries a bound whose assumptions fail


def test_etc_bound_holds_on_exact_regret_and_halving_breaks_it():
    rng = np.random.default_rng(11)
    for _ in range(25):
        K = int(rng.integers(2, 5))
        inst = GaussianBandit(rng.uniform(0, 1.5, K))
        T = int(rng.integers(50, 400))
        m = int(rng.integers(1, T // K + 1))
        exact = etc_expected_regret(inst, m, T)[-1]
        assert exact <= bb.etc_regret_bound(inst, T, m).value * (1 + 1e-9)
    # tight family (m >= 16/D_min^2: the commit term is negligible): half the bound is violated
    for _ in range(20):
        K = int(rng.integers(2, 5))
        mu = np.sort(rng.uniform(0.5, 1.5, K))[::-1] - np.r_[0.0, np.zeros(K - 1)]
        mu[0] = mu[1] + rng.uniform(0.5, 1.5)
        inst = GaussianBandit(mu)
        m = int(np.ceil(16 / inst.min_gap ** 2))
        T = m * K + int(rng.integers(10, 200))
        exact = etc_expected_regret(inst, m, T)[-1]
        bound = bb.etc_regret_bound(inst, T, m).value
        assert bound / 2 < exact <= bound * (1 + 1e-9)


def test_mean_regret_below_finite_time_bounds():
    b = BernoulliBandit([0.8, 0.6, 0.5])
    for name in ("ucb1", "ucb_delta", "ao_ucb", "moss", "exp3", "tsallis_inf"):
        r = run_bandit(name, b, 2000, 40, seed=3)
        assert r.pseudo_regret[:, -1].mean() <= r.certificate.value, name

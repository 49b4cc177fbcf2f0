"""Bandit instances: validation, gaps, Lai-Robbins constants against closed forms and a convex primal."""

import math

import numpy as np
import pytest

from mdpkit.bandits import (
    BernoulliBandit, BetaBandit, GaussianBandit, InvalidBanditError, bernoulli_kl, k_inf_bounded, make_bandit,
)


@pytest.mark.parametrize("make, msg", [
    (lambda: BernoulliBandit([0.5]), "K >= 2"),
    (lambda: BernoulliBandit([0.5, 1.2]), r"means\[1\] = 1.2"),
    (lambda: BernoulliBandit([0.5, -0.1]), r"means\[1\]"),
    (lambda: BernoulliBandit([0.5, np.nan]), "not finite"),
    (lambda: BernoulliBandit([[0.5, 0.2]]), "1-D"),
    (lambda: GaussianBandit([0.0, 1.0], sigma=0.0), r"sigma\[0\]"),
    (lambda: GaussianBandit([0.0, 1.0], sigma=[1.0, 1.0, 1.0]), "shape"),
    (lambda: BetaBandit.from_params([1.0, 0.0], [1.0, 1.0]), r"alpha\[1\]"),
    (lambda: BetaBandit([0.5, 0.5]), "alpha and beta"),
    (lambda: make_bandit("poisson:1,2"), "unknown bandit family"),
    (lambda: make_bandit("bernoulli:0.5,x"), "cannot read"),
])
def test_bad_instances_raise_named_errors(make, msg):
    with pytest.raises(InvalidBanditError, match=msg):
        make()


def test_gaps_and_lai_robbins_bernoulli_closed_form():
    b = BernoulliBandit([0.9, 0.8, 0.5])
    assert b.K == 3 and b.mu_star == 0.9 and list(b.optimal_arms) == [0]
    np.testing.assert_allclose(b.gaps, [0.0, 0.1, 0.4], atol=1e-15)

    def kl(p, q):
        return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))

    expected = 0.1 / kl(0.8, 0.9) + 0.4 / kl(0.5, 0.9)
    assert b.lai_robbins_constant() == pytest.approx(expected, rel=1e-13)
    assert bernoulli_kl(0.0, 0.5) == pytest.approx(math.log(2), rel=1e-14)


def test_lai_robbins_gaussian_closed_form():
    g = GaussianBandit([1.0, 0.5, 0.0], sigma=[1.0, 2.0, 0.5])
    assert g.lai_robbins_constant() == pytest.approx(2 * 4.0 / 0.5 + 2 * 0.25 / 1.0, rel=1e-14)


def test_k_inf_two_point_law_is_bernoulli_kl():
    # a law on {0, 1} with mean p: K_inf over [0, 1]-laws equals kl(p, mu) (Honda & Takemura 2010)
    for p, mu in [(0.3, 0.5), (0.8, 0.9), (0.05, 0.6)]:
        ex = lambda g, p=p: (1 - p) * g(np.array([0.0]))[0] + p * g(np.array([1.0]))[0]  # noqa: E731
        assert k_inf_bounded(ex, mu) == pytest.approx(bernoulli_kl(p, mu), rel=1e-7)


def test_k_inf_dual_matches_convex_primal():
    import cvxpy as cp

    x = np.array([0.0, 0.2, 0.45, 0.7])
    p = np.array([0.1, 0.4, 0.3, 0.2])
    mu = 0.6
    # primal: min KL(p || q) over laws q on the atoms plus the point 1, with mean >= mu
    xs = np.append(x, 1.0)
    q = cp.Variable(5, nonneg=True)
    obj = cp.sum(cp.rel_entr(p, q[:4]))
    prob = cp.Problem(cp.Minimize(obj), [cp.sum(q) == 1, xs @ q >= mu])
    prob.solve()
    ex = lambda g: float(np.sum(p * g(x)))  # noqa: E731
    assert k_inf_bounded(ex, mu) == pytest.approx(prob.value, rel=1e-5)


def test_beta_instance_means_and_k_inf_at_least_bernoulli_kl():
    b = BetaBandit.from_params([3.0, 1.0, 2.0], [1.0, 1.0, 2.0])
    np.testing.assert_allclose(b.means, [0.75, 0.5, 0.5])
    k = b.k_inf()
    assert k[0] == 0.0
    # a [0,1]-law is never easier to confuse than the Bernoulli law with its mean
    assert np.all(k[1:] >= bernoulli_kl(b.means[1:], 0.75) - 1e-9)
    rng = np.random.default_rng(0)
    assert abs(b.sample(rng, 0, 20000).mean() - 0.75) < 0.01


def test_make_bandit_specs():
    assert make_bandit("bernoulli:0.9,0.8").K == 2
    g = make_bandit("gaussian:1,0;sigma=2")
    assert g.subgaussian_sigma == 2.0
    assert make_bandit("beta:2/1,1/1").means[0] == pytest.approx(2 / 3)

"""Monte Carlo returns and DKW bands against exact answers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit import distributions as D
from mdpkit.policies import policy_evaluation
from mdpkit.testing.strategies import mdps, policies


def uniform_model():
    P = np.full((2, 1, 2), 0.5)
    R_sas = np.zeros((2, 1, 2))
    R_sas[:, :, 1] = 1.0
    return TabularMDP(P, None, 0.5, R_sas=R_sas)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dkw_band_contains_uniform_cdf_and_quantiles(seed):
    """The return is Uniform[0, 2]: F(x) = x/2 and F^{-1}(tau) = 2 tau must lie in the 1-1e-6 bands."""
    mc = D.sample_returns(uniform_model(), [0, 0], 1, 5000, rng=seed)
    x = np.linspace(-0.5, 2.5, 301)
    lo, hi = mc.cdf_band(x, 1e-6)
    F = np.clip(x / 2, 0, 1)
    assert np.all(lo <= F) and np.all(F <= hi)
    tau = np.linspace(0.01, 0.99, 99)
    qlo, qhi = mc.quantile_band(tau, 1e-6)
    assert np.all(qlo <= 2 * tau) and np.all(2 * tau <= qhi)
    # the band is not vacuous: half-width sqrt(log(2e6)/1e4) ~ 0.038
    assert D.dkw_epsilon(5000, 1e-6) == pytest.approx(math.sqrt(math.log(2e6) / 1e4))
    assert np.max(hi - lo) <= 2 * D.dkw_epsilon(5000, 1e-6) + 2 / 5000 + 1e-12


def test_seeded_replay():
    a = D.sample_returns(uniform_model(), [0, 0], 0, 100, rng=7)
    b = D.sample_returns(uniform_model(), [0, 0], 0, 100, rng=7)
    np.testing.assert_array_equal(a.samples, b.samples)
    assert a.seed == 7


@settings(max_examples=15)
@given(st.data())
def test_sample_mean_vs_v_pi_hoeffding(data):
    """|mean(G_H) - V^pi(s)| <= (G_max - G_min) sqrt(log(2/delta)/(2n)) + truncation (delta = 1e-6)."""
    mdp = data.draw(mdps(n_states=(1, 4), n_actions=(1, 3), gamma=(0.0, 0.8), reward=data.draw(st.sampled_from(["sa", "sas"])), sparse=None))
    pol = data.draw(policies(mdp, stochastic=data.draw(st.booleans())))
    s = data.draw(st.integers(0, mdp.S - 1))
    n = 4000
    mc = D.sample_returns(mdp, pol, s, n, rng=data.draw(st.integers(0, 2**32)))
    _, _, _, rew = D.policy_transition_entries(mdp, pol)
    width = (rew.max() - rew.min()) * (1 - mdp.gamma ** mc.horizon) / (1 - mdp.gamma)
    v = policy_evaluation(mdp, pol)[s]
    assert abs(mc.samples.mean() - v) <= width * math.sqrt(math.log(2e6) / (2 * n)) + mc.truncation_error + 1e-9


def test_sample_returns_errors():
    with pytest.raises(InvalidArgumentError, match="state"):
        D.sample_returns(uniform_model(), [0, 0], 2, 10)
    with pytest.raises(InvalidArgumentError, match="delta"):
        D.dkw_epsilon(10, 0.0)

"""run_bandit: reproducibility, exact pseudo-regret, ETC's exact expected regret, pure step API, bad input."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from mdpkit import InvalidArgumentError
from mdpkit.bandits import BernoulliBandit, GaussianBandit
from mdpkit.solvers.bandits import (
    bandit_algorithm, etc_expected_regret, run_bandit, run_seeds, select, spawn_seeds, update,
)


def test_same_seed_same_traces_and_replay_of_one_run():
    inst = BernoulliBandit([0.6, 0.5, 0.3])
    a = run_bandit("ts_beta", inst, 300, 5, seed=42)
    b = run_bandit("ts_beta", inst, 300, 5, seed=42)
    c = run_bandit("ts_beta", inst, 300, 5, seed=43)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    assert not np.array_equal(a.actions, c.actions)
    np.testing.assert_array_equal(a.seeds, spawn_seeds(42, 5))
    acts, rews = run_seeds("ts_beta", inst, 300, a.seeds[3:4])  # run 3 replayed from its own seed
    np.testing.assert_array_equal(acts[0], a.actions[3])
    np.testing.assert_array_equal(rews[0], a.rewards[3])


def test_pseudo_regret_is_cumulative_gap_of_pulled_arms():
    inst = GaussianBandit([0.0, 1.0, 0.25])
    r = run_bandit("ucb_delta", inst, 200, 3, seed=0)
    gaps = np.array([1.0, 0.0, 0.75])
    np.testing.assert_allclose(r.pseudo_regret, np.cumsum(gaps[r.actions], axis=1), rtol=0, atol=1e-12)
    assert r.n_pulls.sum(axis=1).tolist() == [200] * 3
    assert r.certificate is not None and r.certificate.citation.endswith("Thm 7.1")


def _etc_exact_by_enumeration(p, m, T):
    """Enumerate all 2^(mK) exploration outcomes with exact fractions (K = 2, lowest-index ties)."""
    K = len(p)
    pr = [Fraction(x).limit_denominator(1000) for x in p]
    best = max(pr)
    commit = Fraction(0)
    for out in itertools.product([0, 1], repeat=m * K):
        w = Fraction(1)
        sums = [0] * K
        for i, x in enumerate(out):
            arm = i % K
            w *= pr[arm] if x else 1 - pr[arm]
            sums[arm] += x
        k = int(np.argmax(sums))
        commit += w * (best - pr[k])
    explore = sum(best - pr[i % K] for i in range(m * K))
    return explore + (T - m * K) * commit


def test_etc_expected_regret_against_exact_enumeration_and_monte_carlo():
    p = [0.3, 0.5]
    m, T = 3, 40
    exact = etc_expected_regret(BernoulliBandit(p), m, T)
    assert exact[-1] == pytest.approx(float(_etc_exact_by_enumeration(p, m, T)), rel=1e-12)
    res = run_bandit("etc", BernoulliBandit(p), T, 4000, seed=5, m=m)
    assert res.expected_regret_exact
    final = res.pseudo_regret[:, -1]
    se = final.std(ddof=1) / np.sqrt(final.size)
    assert abs(final.mean() - exact[-1]) < 4 * se
    # Gaussian arms: quadrature commit law against Monte Carlo
    g = GaussianBandit([0.0, 0.3, 0.1])
    res = run_bandit("etc", g, 60, 4000, seed=6, m=4)
    final = res.pseudo_regret[:, -1]
    assert abs(final.mean() - res.expected_regret[-1]) < 4 * final.std(ddof=1) / np.sqrt(final.size)


def test_uniform_exact_expected_regret_matches_monte_carlo():
    inst = BernoulliBandit([0.9, 0.5, 0.2])
    r = run_bandit("uniform", inst, 200, 3000, seed=3)
    assert r.expected_regret_exact and r.expected_regret[-1] == pytest.approx(200 * (0.0 + 0.4 + 0.7) / 3)
    f = r.pseudo_regret[:, -1]
    assert abs(f.mean() - r.expected_regret[-1]) < 4 * f.std(ddof=1) / np.sqrt(f.size)


@pytest.mark.parametrize("name", ["ucb1", "kl_ucb", "moss", "ao_ucb", "imed", "etc"])
def test_pure_step_api_reproduces_the_kernel_run(name):
    """Deterministic index rules: fed the rewards of a kernel run, the pure API picks the same arms."""
    inst = BernoulliBandit([0.4, 0.6, 0.5])
    T = 150
    opts = {"m": 5} if name == "etc" else {}
    res = run_bandit(name, inst, T, 1, seed=9, **opts)
    algo = bandit_algorithm(name, **opts)
    st = algo.init(inst, T)
    rng = np.random.default_rng(0)
    for t in range(T):
        a = select(st, rng)
        assert a == res.actions[0, t]
        st = update(st, a, float(res.rewards[0, t]), rng)
    np.testing.assert_array_equal(st.stats[0], res.n_pulls[0])


@pytest.mark.parametrize("call, msg", [
    (lambda i: run_bandit("ucb1", i, 0), "horizon"),
    (lambda i: run_bandit("ucb1", i, 10, 0), "n_runs"),
    (lambda i: run_bandit("ucb2", i, 10), "unknown bandit algorithm"),
    (lambda i: run_bandit("ucb1", i, 10, variant="fast"), "unknown variant"),
    (lambda i: run_bandit("ucb1", i, 10, variant="practical", zeta=1), "unknown option"),
    (lambda i: run_bandit("ucb1", i, 10, c=3.0), "paper variant takes no tuning"),
    (lambda i: run_bandit("etc", i, 10, m=6), "m must satisfy"),
    (lambda i: run_bandit("ucb1", "bernoulli:0.5,0.4", 10), "StochasticBandit"),
])
def test_bad_input(call, msg):
    with pytest.raises(InvalidArgumentError, match=msg):
        call(BernoulliBandit([0.5, 0.4]))


def test_adversarial_table_regret_against_direct_computation():
    from mdpkit.bandits import AdversarialBandit, InvalidBanditError
    from mdpkit.solvers.bandits import run_adversarial

    inst = AdversarialBandit.switching(400, 3, 0.3)
    r = run_adversarial("exp3", inst, 5, seed=4)
    x = inst.table
    for i in range(5):
        np.testing.assert_array_equal(r.rewards[i], x[np.arange(400), r.actions[i]])
        t = 250
        want = max(x[:t, k].sum() for k in range(3)) - x[np.arange(t), r.actions[i, :t]].sum()
        assert r.pseudo_regret[i, t - 1] == pytest.approx(want, abs=1e-9)
    assert r.certificate is not None and r.certificate.value == pytest.approx(np.sqrt(2 * 400 * 3 * np.log(3)))
    with pytest.raises(InvalidBanditError, match="table"):
        AdversarialBandit(np.array([[0.5, 1.5]]))


def test_exp3_adversarial_bound_in_expectation_on_the_switching_table():
    """L&S Thm 11.2 in expectation: the mean over 400 runs is below sqrt(2 T K log K) (plus 3 standard
    errors of Monte Carlo slack; the regret of a single run is heavy-tailed)."""
    from mdpkit.bandits import AdversarialBandit
    from mdpkit.solvers.bandits import run_adversarial

    r = run_adversarial("exp3", AdversarialBandit.switching(2000, 2), 400, seed=1)
    f = r.pseudo_regret[:, -1]
    assert f.mean() <= r.certificate.value + 3 * f.std(ddof=1) / np.sqrt(f.size)

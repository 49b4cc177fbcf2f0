"""Linear bandits: kernel vs plain twin, bad input, OFUL's ellipsoid coverage and regret bound."""

import math

import numpy as np
import pytest

import mdpkit.theory._bandits  # noqa: F401
from mdpkit._kernels import bandits as kb
from mdpkit.bandits import InvalidBanditError, LinearBandit
from mdpkit.bounds import bandits as bb
from mdpkit.solvers.bandits import run_linear_bandit
from mdpkit.theory._core import check


@pytest.mark.parametrize("code, width, v", [(kb.OFUL, 0.0, 0.0), (kb.OFUL, 0.7, 0.0), (kb.LINTS, 0.0, 0.4)])
def test_linear_kernel_matches_twin(code, width, v):
    inst = LinearBandit.random(np.random.default_rng(1), 7, 3, sigma=0.5)
    p = np.array([1.0, 0.5, inst.theta_norm, 0.05, width, v])
    seeds = np.array([5, 77], np.int64)
    A = np.zeros((2, 80), np.int64)
    X = np.zeros((2, 80))
    W = np.zeros(2)
    kb.run_linear_runs(np.int64(code), p, inst.arms.copy(), inst.theta.copy(), 0.5, seeds, A, X, W)
    for r in range(2):
        a, x, w = kb.reference_linear_run(code, p, inst.arms, inst.theta, 0.5, seeds[r], 80)
        np.testing.assert_array_equal(A[r], a)
        np.testing.assert_allclose(X[r], x, rtol=1e-12)
        assert W[r] == pytest.approx(w, rel=1e-8)


def test_bad_linear_input():
    with pytest.raises(InvalidBanditError, match="d = len"):
        LinearBandit(np.ones((3, 2)), np.ones(3))
    with pytest.raises(InvalidBanditError, match="K >= 2"):
        LinearBandit(np.ones((1, 2)), np.ones(2))
    inst = LinearBandit.random(np.random.default_rng(0), 4, 2)
    with pytest.raises(ValueError, match="unknown linear"):
        run_linear_bandit("linucb2", inst, 10)
    with pytest.raises(ValueError, match="delta"):
        run_linear_bandit("oful", inst, 10, delta=1.5)


def test_oful_radius_and_regret_bound_by_hand():
    b = bb.oful_radius(logdet_V=3.0, d=2, lam=1.0, R=0.5, S=1.0, delta=0.1)
    assert b.value == pytest.approx(0.5 * math.sqrt(2 * math.log(10) + 3.0) + 1.0)
    inst = LinearBandit(np.eye(2), np.array([0.6, 0.8]), sigma=0.5)
    T = 1000
    want = 4 * math.sqrt(T * 2 * math.log(1 + T / 2)) * (1.0 + 0.5 * math.sqrt(2 * math.log(20) + 2 * math.log(1 + T / 2)))
    assert bb.oful_regret_bound(inst, T, lam=1.0, delta=0.05).value == pytest.approx(want)
    assert bb.elliptical_potential_bound(2, T, 1.0, 1.0).value == pytest.approx(4 * math.log(1 + T / 2))
    with pytest.raises(bb.BoundNotApplicableError):
        bb.oful_regret_bound(LinearBandit(np.eye(2) * 2, np.array([0.6, 0.8])), T)


def test_oful_regret_below_high_probability_bound_in_every_run():
    inst = LinearBandit.random(np.random.default_rng(4), 10, 3, sigma=0.5)
    r = run_linear_bandit("oful", inst, 500, 20, seed=2)
    assert np.all(r.pseudo_regret[:, -1] <= r.certificate.value)
    assert np.all(r.ellipsoid_ratio <= 1.0)


def test_elliptical_potential_lemma_on_oful_design():
    """sum_t min(1, ||x_t||^2_{V_{t-1}^-1}) over an OFUL run's pulled arms <= 2 d log(1 + T L^2/(d lam))."""
    inst = LinearBandit.random(np.random.default_rng(6), 12, 4, sigma=1.0)
    r = run_linear_bandit("oful", inst, 400, 3, seed=1)
    for run in range(3):
        V = np.eye(4)
        tot = 0.0
        for a in r.actions[run]:
            x = inst.arms[a]
            tot += min(1.0, float(x @ np.linalg.solve(V, x)))
            V += np.outer(x, x)
        assert tot <= bb.elliptical_potential_bound(4, 400, 1.0, inst.arm_norm).value


def test_oful_ellipsoid_check_passes_and_fixed_width_fails():
    r = check("bandit-oful-ellipsoid", n_examples=20, seed=0)
    assert r.verdict == "PASS" and r.control_failed is True and r.n_effective >= 20

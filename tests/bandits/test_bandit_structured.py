"""Structured bandits: dynamical linear bandits (DynLin-UCB), OFUL on the unit ball, and the MDP
reduction of recovering / last-switch-dependent bandits.

Oracles: plain-NumPy twins of the kernels (bitwise replay from RandomState), the Markov-parameter
convolution for the expected rewards of a DLB, the Neumann series for the steady state, a grid
search on the unit circle for the optimistic action, numpy's eigh for the Jacobi routine, brute-force
enumeration of action sequences for the planner, and hand-computed numbers.
"""

import math

import numpy as np
import pytest

from mdpkit._kernels import structured_bandits as ks
from mdpkit.bandits import InvalidBanditError
from mdpkit.bounds import bandits as bb
from mdpkit.structured_bandits import (DynamicalLinearBandit, LSDBandit, RecoveringBandit, UnitBallBandit)
from mdpkit.solvers import structured_bandits as sbs


def _dlb(seed=0, **kw):
    return DynamicalLinearBandit.random(np.random.default_rng(seed), **kw)


# ----------------------------------------------------------------------------- DLB instance
def test_dlb_expected_rewards_match_markov_parameter_convolution():
    inst = _dlb(3, n=3, d=2, n_arms=4, rho=0.8)
    rng = np.random.default_rng(1)
    acts = rng.integers(0, 4, 40)
    U = inst.actions[acts]
    # E y_t = sum_{s<t} omega' A^{t-1-s} B u_s + theta' u_t, Markov parameters by repeated products
    G = [inst.omega @ np.linalg.matrix_power(inst.A, k) @ inst.B for k in range(40)]
    want = np.array([U[t] @ inst.theta + sum(G[t - 1 - s] @ U[s] for s in range(t)) for t in range(40)])
    np.testing.assert_allclose(inst.expected_rewards(acts), want, rtol=1e-12, atol=1e-12)
    both = inst.expected_rewards(np.stack([acts, acts[::-1]]))
    np.testing.assert_allclose(both[0], want, rtol=1e-12, atol=1e-12)


def test_dlb_steady_state_is_neumann_series():
    inst = _dlb(5, n=2, d=3, n_arms=3, rho=0.6)
    S = sum(np.linalg.matrix_power(inst.A, k) for k in range(400))
    h = inst.theta + inst.B.T @ S.T @ inst.omega
    np.testing.assert_allclose(inst.h, h, rtol=1e-12)
    np.testing.assert_allclose(inst.means, inst.actions @ h, rtol=1e-12)
    # holding arm k forever: the expected reward converges to means[k]
    k = int(inst.optimal_arms[0])
    assert inst.expected_rewards(np.full(300, k))[-1] == pytest.approx(inst.mu_star, rel=1e-12)
    assert inst.gaps.min() == 0.0


def test_dlb_phi():
    diag = DynamicalLinearBandit(np.diag([0.5, -0.3]), np.eye(2), [1, 1], [0, 0], np.eye(2))
    assert diag.phi(0.5) == pytest.approx(1.0)
    jordan = DynamicalLinearBandit(np.array([[0.5, 1.0], [0.0, 0.5]]), np.eye(2), [1, 1], [0, 0], np.eye(2))
    # ||A^t|| / 0.6^t peaks at a finite t; checked against a direct maximum over t
    want = max(np.linalg.norm(np.linalg.matrix_power(jordan.A, t), 2) / 0.6 ** t for t in range(200))
    assert jordan.phi(0.6) == pytest.approx(want, rel=1e-9)
    with pytest.raises(InvalidBanditError, match="still grows"):
        jordan.phi(0.5)
    with pytest.raises(InvalidBanditError, match="rho_bar"):
        jordan.phi(0.4)


def test_dlb_bad_input():
    U = np.eye(2)
    with pytest.raises(InvalidBanditError, match="spectral radius"):
        DynamicalLinearBandit(np.eye(2), np.eye(2), [1, 1], [0, 0], U)
    with pytest.raises(InvalidBanditError, match=r"B must have shape"):
        DynamicalLinearBandit(0.5 * np.eye(2), np.eye(3), [1, 1], [0, 0], U)
    with pytest.raises(InvalidBanditError, match="theta"):
        DynamicalLinearBandit(0.5 * np.eye(2), np.eye(2), [1, 1], [0, 0, 0], U)
    with pytest.raises(InvalidBanditError, match="two actions"):
        DynamicalLinearBandit(0.5 * np.eye(2), np.eye(2), [1, 1], [0, 0], U[:1])
    with pytest.raises(InvalidBanditError, match="not finite"):
        DynamicalLinearBandit(0.5 * np.eye(2), np.eye(2), [1, np.nan], [0, 0], U)
    with pytest.raises(InvalidBanditError, match="actions must lie"):
        _dlb().expected_rewards(np.array([0, 9]))


# ----------------------------------------------------------------------------- DynLin-UCB
def test_epoch_schedule_by_hand():
    # rho_bar = 1/2: H_m = 1 + floor(log2 m) = 1, 2, 2, 3, 3, 3, 3, 4: epochs end at rounds 1, 3, 5, 8, 11, 14, 17, 21
    ends = sbs.dynlin_epoch_ends(21, 0.5)
    np.testing.assert_array_equal(np.flatnonzero(ends) + 1, [1, 3, 5, 8, 11, 14, 17, 21])
    assert sbs.dynlin_epoch_ends(5, 0.0).tolist() == [1] * 5


def test_dynlin_paper_constants_by_hand():
    inst = DynamicalLinearBandit(0.5 * np.eye(2), 2.0 * np.eye(2), [3.0, 4.0], [0.6, 0.8],
                                 np.array([[1.0, 0.0], [0.0, 1.0]]), sigma=0.5)
    c = sbs.dynlin_paper_constants(inst, 0.5)
    # Theta = 1, Omega = 5, ||B|| = 2, U = 1, Phi = 1, X = U/(1-rho) = 2
    assert c["c1"] == pytest.approx(1 + 5 * 2 * 1 / 0.5)
    assert c["c2"] == pytest.approx(1 * 5 * 1 * (1 * 2 / 0.5 + 2))
    assert c["bar_sigma_sq"] == pytest.approx(0.25 * (1 + 25 / 0.75))


@pytest.mark.parametrize("width", [0.0, 0.8])
def test_dynlin_kernel_matches_twin(width):
    inst = _dlb(2, n=3, d=2, n_arms=5, rho=0.7, sigma=0.3)
    T = 150
    c = sbs.dynlin_paper_constants(inst, 0.7)
    p = np.array([1.0, inst.sigma, c["c1"], c["c2"], c["bar_sigma_sq"], c["u_norm"], math.log(T), width])
    ends = sbs.dynlin_epoch_ends(T, 0.7)
    seeds = np.array([11, 12345], np.int64)
    A = np.zeros((2, T), np.int64)
    Y = np.zeros((2, T))
    M = np.zeros((2, T))
    ks.run_dynlin_runs(p, inst.actions.copy(), inst.A.copy(), inst.B.copy(), inst.omega.copy(), inst.theta.copy(),
                       ends, seeds, A, Y, M)
    for r in range(2):
        a, y, m = ks.reference_dynlin_run(p, inst.actions, inst.A, inst.B, inst.omega, inst.theta, ends, seeds[r], T)
        np.testing.assert_array_equal(A[r], a)
        np.testing.assert_allclose(Y[r], y, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(M[r], m, rtol=1e-10, atol=1e-12)
    # actions change only at epoch starts
    starts = np.concatenate([[0], np.flatnonzero(ends[:-1]) + 1])
    changes = np.flatnonzero(np.diff(A[0])) + 1
    assert set(changes) <= set(starts)


def test_dynlin_result_is_exact_and_seeded():
    inst = _dlb(4, n=2, d=2, n_arms=4, rho=0.5, sigma=0.2)
    r = sbs.run_dynlin_ucb(inst, 300, 3, seed=9)
    want = np.cumsum(inst.mu_star - inst.expected_rewards(r.actions), axis=1)
    np.testing.assert_allclose(r.pseudo_regret, want, rtol=1e-10, atol=1e-10)
    assert not r.expected_regret_exact
    assert r.certificate.kind.value == "rate-only"
    assert r.certificate.value == pytest.approx(2 * math.sqrt(300) / (1 - inst.spectral_radius) ** 1.5)
    r2 = sbs.run_dynlin_ucb(inst, 300, 3, seed=9)
    np.testing.assert_array_equal(r.actions, r2.actions)
    prac = sbs.run_dynlin_ucb(inst, 300, 3, seed=9, variant="practical", rho_bar=0.0)
    assert prac.certificate is None


def test_dynlin_learns_the_best_steady_action():
    # a two-action instance where the action with the larger immediate reward is worse in the steady
    # state: the dynamics reverse the ranking, and DynLin-UCB (fixed width, epochs) learns it
    inst = DynamicalLinearBandit(np.array([[0.6]]), np.array([[0.0, 1.0]]), [1.0], [0.5, 0.1], np.eye(2), sigma=0.05)
    assert inst.means.tolist() == pytest.approx([0.5, 0.1 + 1 / 0.4])
    assert (inst.actions @ inst.theta).argmax() != inst.optimal_arms[0]
    r = sbs.run_dynlin_ucb(inst, 2000, 4, seed=1, variant="practical", width=3.0)
    assert np.mean(r.actions[:, -500:] == 1) > 0.95


def test_dynlin_bad_input_and_bound_refusal():
    inst = _dlb()
    with pytest.raises(ValueError, match="rho_bar"):
        sbs.run_dynlin_ucb(inst, 10, rho_bar=0.1)
    with pytest.raises(ValueError, match="width"):
        sbs.run_dynlin_ucb(inst, 10, width=1.0)
    with pytest.raises(ValueError, match="variant"):
        sbs.run_dynlin_ucb(inst, 10, variant="fast")
    with pytest.raises(ValueError, match="horizon"):
        sbs.run_dynlin_ucb(inst, 0)
    with pytest.raises(bb.BoundNotApplicableError):
        bb.dynlin_ucb_regret_rate(inst, 100, rho_bar=0.1)


# ----------------------------------------------------------------------------- unit-ball OFUL
def test_sym_eig_matches_numpy():
    rng = np.random.default_rng(0)
    for d in (1, 2, 3, 6):
        M = rng.standard_normal((d, d))
        M = M @ M.T + 0.1 * np.eye(d)
        ev, Q = ks.sym_eig(M)
        np.testing.assert_allclose(np.sort(ev), np.linalg.eigvalsh(M), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(Q @ np.diag(ev) @ Q.T, M, atol=1e-10)
        np.testing.assert_allclose(Q.T @ Q, np.eye(d), atol=1e-12)


def test_ball_argmax_matches_grid_search():
    rng = np.random.default_rng(3)
    cases = [(np.diag([1.0, 4.0]), np.zeros(2), 1.0), (np.diag([2.0, 2.0]), np.zeros(2), 0.5),
             (np.diag([1.0, 9.0]), np.array([0.0, 0.2]), 2.0)]  # hard cases: no weight on the longest axis
    for _ in range(30):
        M = rng.standard_normal((2, 2))
        cases.append((M @ M.T + 0.2 * np.eye(2), rng.standard_normal(2) * rng.choice([0.1, 1.0, 5.0]),
                      float(rng.uniform(0.05, 3.0))))
    for V, th, rad in cases:
        x = np.zeros(2)
        val = ks.ball_ucb_argmax(V, th, rad, x)
        _, best = ks.reference_ball_argmax(V, th, rad)
        f = x @ th + rad * math.sqrt(x @ np.linalg.solve(V, x))
        assert np.linalg.norm(x) == pytest.approx(1.0)
        assert f == pytest.approx(val, rel=1e-9)
        assert val >= best - 1e-12
        assert val <= best + 1e-5 * max(1.0, best)  # the 20001-point grid is within 1e-5


def test_ball_oful_kernel_matches_twin_and_regret_is_exact():
    th = np.array([0.3, -0.4, 0.5])
    p = np.array([1.0, 0.5, np.linalg.norm(th), 0.05, 0.0])
    X = np.zeros((2, 120, 3))
    I = np.zeros((2, 120))
    ks.run_ball_oful_runs(p, th, 0.5, np.array([7, 8], np.int64), X, I)
    for r in range(2):
        Xr, Ir = ks.reference_ball_oful_run(p, th, 0.5, [7, 8][r], 120)
        np.testing.assert_allclose(X[r], Xr, atol=1e-9)
        np.testing.assert_allclose(I[r], Ir, atol=1e-9)
    np.testing.assert_allclose(I, np.linalg.norm(th) - X @ th, atol=1e-13)


def test_ball_oful_regret_below_thm3_in_every_run():
    inst = UnitBallBandit([0.5, 0.5, -0.3], sigma=0.5)
    r = sbs.run_unit_ball_oful(inst, 600, 12, seed=3)
    assert r.action_vectors.shape == (12, 600, 3)
    np.testing.assert_allclose(np.linalg.norm(r.action_vectors, axis=2), 1.0, atol=1e-9)
    assert np.all(r.pseudo_regret[:, -1] <= r.certificate.value)
    assert r.certificate.delta == 0.05
    assert sbs.run_unit_ball_oful(inst, 50, 2, variant="practical", width=0.3).certificate is None
    with pytest.raises(bb.BoundNotApplicableError, match=r"\[-1, 1\]"):
        bb.oful_regret_bound(UnitBallBandit([2.0, 0.0]), 100)
    with pytest.raises(InvalidBanditError, match="non-zero"):
        UnitBallBandit([0.0, 0.0])
    with pytest.raises(ValueError, match="delta"):
        sbs.run_unit_ball_oful(inst, 10, delta=0.0)


# ----------------------------------------------------------------------------- recovering / LSD
def test_recovering_and_lsd_rewards_by_hand():
    rb = RecoveringBandit([[0.1, 0.5, 0.9], [0.3, 0.4, 0.6]])
    # z starts at 3 for both: pull 0 (0.9), pull 0 (z=1: 0.1), pull 1 (0.6), idle (0), pull 0 (z=3: 0.9)
    np.testing.assert_allclose(rb.expected_rewards(np.array([0, 0, 1, 2, 0])), [0.9, 0.1, 0.6, 0.0, 0.9])
    lsd = LSDBandit([[0.5, 0.8], [0.4, 0.6]], [[0.7, 0.2], [0.5, 0.3]])
    # tau starts at -2: mu0(-2) = .8, mu0(1) = .7, mu0(2) = .2, mu1(-2) = .6, mu1(1) = .5, mu0(-2) = .8
    np.testing.assert_allclose(lsd.expected_rewards(np.array([0, 0, 0, 1, 1, 0])), [0.8, 0.7, 0.2, 0.6, 0.5, 0.8])
    assert lsd.state_values().tolist() == [-2, -1, 1, 2]


def _random_recovering(rng):
    N, m = int(rng.integers(2, 4)), int(rng.integers(1, 4))
    r = np.sort(np.round(rng.uniform(0, 1, (N, m)), 2), axis=1)
    z0 = rng.integers(1, m + 1, N)
    return RecoveringBandit(r, initial=z0)


def _random_lsd(rng):
    N, m = int(rng.integers(2, 4)), int(rng.integers(1, 3))
    rest = np.sort(np.round(rng.uniform(0, 1, (N, m)), 2), axis=1)
    play = np.sort(np.round(rng.uniform(0, 1, (N, m)), 2), axis=1)[:, ::-1]
    tau0 = rng.choice([-1, 1], N) * rng.integers(1, m + 1, N)
    return LSDBandit(rest, play, initial=tau0)


def _random_recovering_k2(rng):
    N, m = 3, int(rng.integers(1, 3))
    r = np.sort(np.round(rng.uniform(0, 1, (N, m)), 2), axis=1)
    return RecoveringBandit(r, initial=rng.integers(1, m + 1, N), max_pulls=2)


def test_recovering_with_two_pulls_per_period():
    rb = RecoveringBandit([[0.1, 0.5], [0.3, 0.4], [0.0, 0.9]], max_pulls=2)
    assert rb.action_sets == ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2), ())
    # pull {0, 2} (0.5 + 0.9), then {0, 1} (0.1 + 0.4), then {2} (z = 2: 0.9), then idle
    np.testing.assert_allclose(rb.expected_rewards(np.array([4, 3, 2, 6])), [1.4, 0.5, 0.9, 0.0])
    with pytest.raises(InvalidBanditError, match="max_pulls"):
        RecoveringBandit([[0.1], [0.2]], max_pulls=3)


@pytest.mark.parametrize("make", [_random_recovering, _random_lsd, _random_recovering_k2])
def test_mdp_planning_matches_brute_force(make):
    rng = np.random.default_rng(42)
    for _ in range(12):
        inst = make(rng)
        T = 7 if inst.n_actions <= 3 else (6 if inst.n_actions <= 4 else 5)
        plan = sbs.plan_history_bandit(inst, T)
        brute = sbs.brute_force_plan(inst, T)
        assert plan.value == pytest.approx(brute.value, abs=1e-12)
        np.testing.assert_allclose(plan.optimal_values, brute.optimal_values, atol=1e-12)
        # the planner's sequence achieves its value when replayed on the instance
        assert inst.expected_rewards(plan.actions).sum() == pytest.approx(plan.value, abs=1e-12)
        reg = sbs.sequence_regret(inst, np.array(brute.actions), plan)
        assert reg[-1] == pytest.approx(0.0, abs=1e-12)
        allseq = np.random.default_rng(0).integers(0, inst.n_actions, (50, T))
        assert np.all(sbs.sequence_regret(inst, allseq, plan) >= -1e-12)


@pytest.mark.parametrize("make", [_random_recovering, _random_lsd])
def test_optimal_gain_matches_long_horizon_value(make):
    rng = np.random.default_rng(7)
    for _ in range(6):
        inst = make(rng)
        g = sbs.history_optimal_gain(inst)
        n = inst.n_joint_states
        T = 60 * n
        vT = sbs.plan_history_bandit(inst, T).value
        # deterministic MDP: a walk of T steps is a path of < n steps plus cycles, so |V_T - g T| <= 2 n r_max
        assert abs(vT - g * T) <= 2 * n + 1e-9
        # mdpkit's relative value iteration on the same reduction: g lies in its certified gain bracket
        from mdpkit.solvers.average_reward import relative_value_iteration

        rvi = relative_value_iteration(inst.to_mdp(), epsilon=1e-9)
        assert rvi.gain_lower - 1e-9 <= g <= rvi.gain_upper + 1e-9


def test_recovering_idle_can_pay():
    # r(1) = 0, r(2) = 1: pulling every other period (idle in between) earns 1/2 per period
    rb = RecoveringBandit([[0.0, 1.0], [0.0, 0.0]])
    assert sbs.history_optimal_gain(rb) == pytest.approx(0.5)
    assert sbs.plan_history_bandit(rb, 6).value == pytest.approx(3.0)


def test_history_bad_input():
    with pytest.raises(InvalidBanditError, match="non-decreasing"):
        RecoveringBandit([[0.5, 0.2], [0.1, 0.3]])
    with pytest.raises(InvalidBanditError, match="reward range"):
        RecoveringBandit([[0.5, 1.2], [0.1, 0.3]])
    with pytest.raises(InvalidBanditError, match="initial"):
        RecoveringBandit([[0.1, 0.2], [0.1, 0.3]], initial=np.array([0, 1]))
    with pytest.raises(InvalidBanditError, match="monotone"):
        LSDBandit([[0.5, 0.2], [0.1, 0.3]], [[0.5, 0.2], [0.1, 0.1]])
    LSDBandit([[0.5, 0.2], [0.1, 0.3]], [[0.5, 0.2], [0.1, 0.1]], monotone=False)
    with pytest.raises(InvalidBanditError, match="non-zero"):
        LSDBandit([[0.1], [0.2]], [[0.1], [0.1]], initial=np.array([0, 1]))
    big = RecoveringBandit(np.tile(np.linspace(0, 1, 40), (4, 1)))
    with pytest.raises(InvalidBanditError, match="states"):
        big.to_mdp()
    with pytest.raises(ValueError, match="max_sequences"):
        sbs.brute_force_plan(RecoveringBandit([[0.1, 0.2], [0.1, 0.3]]), 30)
    with pytest.raises(ValueError, match="RecoveringBandit or LSDBandit"):
        sbs.plan_history_bandit(_dlb(), 3)


def test_structured_example_writes_png(tmp_path, monkeypatch):
    import runpy
    import sys
    from pathlib import Path

    pytest.importorskip("matplotlib")
    ex = Path(__file__).resolve().parents[2] / "examples" / "bandits" / "plot_structured_regret.py"
    monkeypatch.setattr(sys, "argv", ["x", "--out", str(tmp_path), "--runs", "3", "--horizon", "200"])
    runpy.run_path(str(ex), run_name="__main__")
    png = tmp_path / "structured_regret.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_reduction_check_passes_and_myopic_control_fails():
    import mdpkit.theory._bandits as tb
    from mdpkit.theory._core import check

    r = check("bandit-history-mdp-reduction", n_examples=20, seed=0)
    assert r.verdict == "PASS", (r.errors, [o.label for o in r.failures()])
    assert r.n_effective >= 20
    assert r.control_failed is True and not r.control_errors
    # the control is wrong for a reason: resting an arm can pay (r(1) = 0, r(2) = 1)
    rb = RecoveringBandit([[0.0, 1.0], [0.0, 0.0]])
    assert tb.myopic_value(rb, 6) == pytest.approx(1.0)  # pulls arm 0 every round: 1, 0, 0, ...
    assert tb.plan_value(rb, 6) == pytest.approx(3.0)  # pulls it every other round


def test_one_signature_per_structured_kernel():
    from numba.core.registry import CPUDispatcher

    from mdpkit._kernels import bandits as kb
    from mdpkit.bandits import LinearBandit
    from mdpkit.solvers.bandits import run_linear_bandit

    inst = _dlb(1)
    for kw in ({}, {"variant": "practical", "width": 2.0}, {"variant": "practical", "rho_bar": 0.0}):
        sbs.run_dynlin_ucb(inst, 30, 2, **kw)
    ball = UnitBallBandit([0.3, 0.4])
    sbs.run_unit_ball_oful(ball, 20, 2)
    sbs.run_unit_ball_oful(ball, 20, 2, variant="practical", width=0.5)
    run_linear_bandit("oful", LinearBandit.random(np.random.default_rng(0), 5, 3), 20, 2)
    out = np.zeros(2)
    ks.ball_ucb_argmax(np.eye(2), np.ones(2), 1.0, out)
    ks.sym_eig(np.eye(3))
    for mod in (ks, kb):
        for nm, d in vars(mod).items():
            if isinstance(d, CPUDispatcher):
                assert len(d.signatures) <= 1, (nm, d.signatures)

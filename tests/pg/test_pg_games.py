"""Zero-sum Markov games (mdpkit.games, mdpkit.solvers.games).

Oracles: the 2x2 closed form of a matrix game without a saddle point; an independent cvxpy LP
(another solver) for each stage game; max-min enumeration over deterministic stationary policies
on turn-based games (which have pure stationary optimal strategies: Shapley 1953 / Condon 1992);
best responses by enumerating the opponent's deterministic policies.
"""

import itertools

import numpy as np
import pytest

from mdpkit import InvalidMDPError
from mdpkit.games import ZeroSumMarkovGame
from mdpkit.solvers.games import (
    cce_lp,
    exploitability,
    game_policy_values,
    minimax_fitted_q_iteration,
    minimax_q,
    shapley_operator,
    shapley_value_iteration,
    solve_matrix_game,
)


def random_game(seed, S=3, A1=2, A2=3, gamma=0.7):
    rng = np.random.default_rng(seed)
    return ZeroSumMarkovGame(rng.dirichlet(np.ones(S), size=(S, A1, A2)), rng.uniform(-1, 1, (S, A1, A2)), gamma)


def turn_based_game(seed, S=4, A=2, gamma=0.75):
    """States 0..S/2-1 belong to player 1 (player 2 has one effective action), the rest to player 2."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, A, S))
    R = np.zeros((S, A, A))
    for s in range(S):
        for a in range(A):
            p = rng.dirichlet(np.ones(S))
            r = rng.uniform(-1, 1)
            if s < S // 2:  # player 1 moves: the outcome ignores b
                P[s, a, :, :] = p
                R[s, a, :] = r
            else:  # player 2 moves: the outcome ignores a
                P[s, :, a, :] = p
                R[s, :, a] = r
    return ZeroSumMarkovGame(P, R, gamma)


def cvxpy_value(M):
    import cvxpy as cp

    x, v = cp.Variable(M.shape[0]), cp.Variable()
    prob = cp.Problem(cp.Maximize(v), [M.T @ x >= v, cp.sum(x) == 1, x >= 0])
    prob.solve(solver="CLARABEL")
    return float(prob.value)


def test_matrix_game_closed_form_2x2():
    a, b, c, d = 3.0, -1.0, -2.0, 1.0  # no saddle point
    sol = solve_matrix_game([[a, b], [c, d]])
    assert sol.value == pytest.approx((a * d - b * c) / (a + d - b - c), abs=1e-10)
    assert sol.x[0] == pytest.approx((d - c) / (a + d - b - c), abs=1e-9)
    assert sol.y[0] == pytest.approx((d - b) / (a + d - b - c), abs=1e-9)
    assert sol.duality_gap <= 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_matrix_game_matches_an_independent_lp(seed):
    M = np.random.default_rng(seed).normal(size=(3, 4))
    sol = solve_matrix_game(M)
    assert sol.value == pytest.approx(cvxpy_value(M), abs=1e-6)
    assert sol.duality_gap <= 1e-8
    # the pair is a saddle point: x^T M >= value >= M y
    assert np.min(sol.x @ M) >= sol.value - 1e-8 and np.max(M @ sol.y) <= sol.value + 1e-8


@pytest.mark.parametrize("seed", range(3))
def test_shapley_vi_matches_pure_maxmin_enumeration_on_turn_based_games(seed):
    game = turn_based_game(seed)
    res = shapley_value_iteration(game, epsilon=1e-8)
    S, A = game.S, game.A1
    best = np.full(S, -np.inf)
    for s1 in itertools.product(range(A), repeat=S):
        worst = np.full(S, np.inf)
        for s2 in itertools.product(range(A), repeat=S):
            x, y = np.eye(A)[list(s1)], np.eye(A)[list(s2)]
            worst = np.minimum(worst, game_policy_values(game, x, y))
        best = np.maximum(best, worst)
    assert np.max(np.abs(res.v - best)) <= res.v_error_bound
    assert res.exploitability <= 1e-6


@pytest.mark.parametrize("seed", range(3))
def test_shapley_vi_fixed_point_with_independent_stage_lps(seed):
    game = random_game(seed)
    res = shapley_value_iteration(game, epsilon=1e-7)
    Ms = game.R + game.gamma * game.P @ res.v
    for s in range(game.S):
        assert cvxpy_value(Ms[s]) == pytest.approx(res.v[s], abs=res.v_error_bound + 1e-6)
    # the returned stationary pair is an (approximate) Nash equilibrium and attains v
    assert res.exploitability <= 2 * res.v_error_bound * 10 + 1e-6
    np.testing.assert_allclose(game_policy_values(game, res.policy1, res.policy2), res.v, atol=1e-5)


def test_one_state_game_value_is_the_matrix_value_over_one_minus_gamma():
    M = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]])
    game = ZeroSumMarkovGame(np.ones((1, 2, 3, 1)), M[None], 0.6)
    res = shapley_value_iteration(game, epsilon=1e-10)
    assert res.v[0] == pytest.approx(cvxpy_value(M) / 0.4, abs=1e-6)


def test_shapley_operator_is_a_gamma_contraction():
    game = random_game(9, gamma=0.9)
    rng = np.random.default_rng(0)
    for _ in range(5):
        u, v = rng.normal(size=game.S) * 5, rng.normal(size=game.S) * 5
        Tu, Tv = shapley_operator(game, u)[0], shapley_operator(game, v)[0]
        assert np.max(np.abs(Tu - Tv)) <= game.gamma * np.max(np.abs(u - v)) + 1e-8


def test_exploitability_matches_enumerated_best_responses():
    game = random_game(4, S=2, A1=2, A2=2)
    rng = np.random.default_rng(1)
    x = rng.dirichlet(np.ones(2), size=2)
    y = rng.dirichlet(np.ones(2), size=2)
    br1 = max(game.mu0 @ game_policy_values(game, np.eye(2)[list(p)], y) for p in itertools.product(range(2), repeat=2))
    br2 = min(game.mu0 @ game_policy_values(game, x, np.eye(2)[list(p)]) for p in itertools.product(range(2), repeat=2))
    assert exploitability(game, x, y) == pytest.approx(br1 - br2, abs=1e-10)
    assert exploitability(game, x, y) > 0


def test_minimax_q_and_fitted_q_iteration_approach_the_value():
    game = random_game(2, S=2, A1=2, A2=2, gamma=0.5)
    ref = shapley_value_iteration(game, epsilon=1e-10).v
    mq = minimax_q(game, n_sweeps=200, rng=np.random.default_rng(0), v_ref=ref)
    assert mq.residuals[-1] < 0.1 * mq.residuals[0]
    assert mq.residuals[-1] < 0.1
    fq = minimax_fitted_q_iteration(game, n_samples=2000, n_iter=25, rng=np.random.default_rng(0), v_ref=ref)
    assert fq.residuals[-1] < 0.05 and fq.exploitability < 0.1


def test_cce_lp_on_prisoners_dilemma_and_chicken():
    # prisoner's dilemma: defection strictly dominant, so the only CCE is (D, D)
    U1 = np.array([[3.0, 0.0], [5.0, 1.0]])
    sol = cce_lp(U1, U1.T)
    np.testing.assert_allclose(sol.z, [[0, 0], [0, 1]], atol=1e-9)
    # chicken: the welfare-optimal CCE beats every pure Nash equilibrium's welfare (enumerated)
    U1 = np.array([[0.0, -1.0], [1.0, -10.0]])
    U2 = U1.T
    sol = cce_lp(U1, U2)
    assert sol.max_regret <= 1e-9
    pure = [(a, b) for a in range(2) for b in range(2)
            if U1[a, b] >= U1[:, b].max() and U2[a, b] >= U2[a, :].max()]
    assert pure and sol.u1 + sol.u2 >= max(U1[p] + U2[p] for p in pure) - 1e-9


def test_game_validation():
    with pytest.raises(InvalidMDPError, match=r"P\[0, 0, 0, :\] sums"):
        ZeroSumMarkovGame(np.full((1, 1, 1, 1), 0.5), np.zeros((1, 1, 1)), 0.5)
    with pytest.raises(InvalidMDPError, match="R must have shape"):
        ZeroSumMarkovGame(np.ones((1, 1, 1, 1)), np.zeros((1, 2, 1)), 0.5)
    with pytest.raises(InvalidMDPError, match="gamma"):
        ZeroSumMarkovGame(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 1)), 1.0)


def test_linear_minimax_fqi_one_hot_exact_targets_is_shapley_vi():
    from mdpkit.solvers.games import linear_minimax_fqi

    game = random_game(11)
    S, A1, A2 = game.S, game.A1, game.A2
    phi = np.eye(S * A1 * A2).reshape(S, A1, A2, -1)
    v = np.zeros(S)
    for k in range(6):
        v = shapley_operator(game, v)[0]
    res = linear_minimax_fqi(game, phi, n_iter=6)
    assert np.allclose(res.v, v, atol=1e-9)
    # a non-identity invertible reparametrization of the one-hot class spans the same functions
    M = np.random.default_rng(0).normal(size=(S * A1 * A2, S * A1 * A2))
    res2 = linear_minimax_fqi(game, (phi.reshape(-1, phi.shape[-1]) @ M).reshape(phi.shape), n_iter=6)
    assert np.allclose(res2.v, v, atol=1e-7)


def test_linear_minimax_fqi_sampled_targets_error_shrinks():
    from mdpkit.solvers.games import linear_minimax_fqi

    game = random_game(12, gamma=0.6)
    ref = shapley_value_iteration(game, epsilon=1e-10).v
    phi = np.eye(game.S * game.A1 * game.A2).reshape(game.S, game.A1, game.A2, -1)
    errs = []
    for n in (100, 10_000):
        r = linear_minimax_fqi(game, phi, n_iter=40, n_samples=n, rng=np.random.default_rng(1), v_ref=ref)
        errs.append(float(np.mean(r.residuals[-20:])))  # fresh samples each iteration: average the tail
    assert errs[1] < errs[0] / 3, errs  # the sampling error falls like 1/sqrt(n) (x10 here)
    assert errs[1] < 0.02


def test_linear_minimax_fqi_low_dimensional_realizable_features():
    # features spanning R and P v for every v (phi = [R, P]) make every Bellman target realizable:
    # exact-target Minimax-FQI then reproduces Shapley VI with d = S + 1 << S A1 A2
    from mdpkit.solvers.games import linear_minimax_fqi

    game = random_game(13)
    phi = np.concatenate([game.R[..., None], game.P], axis=3)
    v = np.zeros(game.S)
    for _ in range(5):
        v = shapley_operator(game, v)[0]
    assert np.allclose(linear_minimax_fqi(game, phi, n_iter=5).v, v, atol=1e-9)
    with pytest.raises(ValueError, match="rng"):
        linear_minimax_fqi(game, phi, n_iter=1, n_samples=10)

"""run_episodes: exact regret against closed forms and realised returns, seeds, bad input."""

import math

import numpy as np
import pytest

from mdpkit import TabularMDP
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import online as K
from mdpkit.bounds import online as B
from mdpkit.generators import make
from mdpkit.solvers.online import ALGORITHMS, online_model, run_episodes


@pytest.fixture(scope="module")
def river():
    return make("riverswim:convention=osband")


def _random(seed, S=3, A=2):
    rng = np.random.default_rng(seed)
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 0.9)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_bandit_case_regret_is_the_gap_of_the_first_action(algorithm):
    # S = 1, H = 1: the episode's policy is one action, its exact regret max R - R[a]
    R = np.array([[0.2, 0.9, 0.5]])
    m = TabularMDP(np.ones((1, 3, 1)), R, 0.9)
    kw = {} if algorithm == "psrl" else dict(variant="practical", bonus_scale=0.05)
    res = run_episodes(algorithm, m, horizon=1, n_episodes=60, n_runs=2, seed=3, **kw)
    np.testing.assert_array_equal(res.episode_regret, 0.9 - R[0, res.actions])
    np.testing.assert_array_equal(res.rewards, R[0, res.actions])


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_exact_regret_matches_realised_returns_on_average(algorithm):
    # E[return_k | pi_k] = V^{pi_k}_1(s_1): sum_k (V*_1(s_1^k) - return_k) - Regret(K) is a martingale
    # with increments in [-H, H]; over 8 runs x 300 episodes it must sit within 4 standard errors of 0
    m = _random(11)
    H = 4
    kw = {} if algorithm == "psrl" else dict(variant="practical", bonus_scale=0.1)
    res = run_episodes(algorithm, m, horizon=H, n_episodes=300, n_runs=8, seed=5, **kw)
    vstar_s1 = res.v_star[0][res.start_states]
    diff = (vstar_s1 - res.rewards) - res.episode_regret
    se = diff.std() / math.sqrt(diff.size)
    assert abs(diff.mean()) <= 4 * se + 1e-12
    assert np.all(res.episode_regret >= -1e-12)
    assert np.all(res.episode_regret <= vstar_s1 + 1e-12)
    np.testing.assert_allclose(res.pseudo_regret, np.cumsum(res.episode_regret, axis=1))


def test_v_star_is_backward_induction_by_enumeration():
    # V*_1 by brute force over all deterministic Markov policies of a 2-state, 2-action, H = 3 model
    import itertools

    m = _random(4, S=2, A=2)
    H = 3
    res = run_episodes("ucb-h", m, horizon=H, n_episodes=1)
    om = online_model(m)
    best = np.full(2, -np.inf)
    for flat in itertools.product(range(2), repeat=H * 2):
        pol = np.array(flat, np.int64).reshape(H, 2)
        v = np.zeros((H + 1, 2))
        K.eval_nonstationary(om, pol, v)
        best = np.maximum(best, v[0])
    np.testing.assert_allclose(res.v_star[0], best, rtol=0, atol=1e-12)


def test_seeds_replay_each_run_bitwise(river):
    res = run_episodes("ucbvi-bf", river, horizon=10, n_episodes=50, n_runs=3, seed=7, variant="practical",
                       bonus_scale=0.1)
    again = run_episodes("ucbvi-bf", river, horizon=10, n_episodes=50, n_runs=3, seed=7, variant="practical",
                         bonus_scale=0.1)
    np.testing.assert_array_equal(res.episode_regret, again.episode_regret)
    np.testing.assert_array_equal(res.actions, again.actions)
    assert len(set(res.seeds.tolist())) == 3
    # run 2 alone, from its seed, through the plain-numpy twin
    rng = np.random.default_rng(int(res.seeds[2]))
    u0, u = rng.random(50), rng.random((50, 10))
    from mdpkit.solvers import backward_induction

    bi = backward_induction(river.with_gamma(1.0), 10)
    ref = (bi.q.reshape(10, -1).copy(), bi.v.copy())
    L = B.ucbvi_log(6, 2, 10, 50, 0.1, in_bound=False)
    f, i = K.ucbvi_numpy(online_model(river), ref, u0, u, np.array([K.BERNSTEIN, 10, 50]), np.array([L, 0.1]))
    np.testing.assert_allclose(res.episode_regret[2], f[:, 0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(res.start_states[2], i[:, 0])


def test_paper_certificates_and_refusals(river):
    H, Kk = 5, 40
    res = run_episodes("ucbvi-ch", river, horizon=H, n_episodes=Kk)
    S, A, T = 6, 2, H * Kk
    L = math.log(5 * H * S * A * T / 0.1)
    assert res.certificate.value == pytest.approx(20 * H ** 1.5 * L * math.sqrt(S * A * Kk) + 250 * H * H * S * S * A * L * L)
    assert res.pseudo_regret[0, -1] <= res.certificate.value
    bf = run_episodes("ucbvi-bf", river, horizon=H, n_episodes=Kk)
    assert bf.certificate.value == pytest.approx(30 * H * L * math.sqrt(S * A * Kk) + 2500 * H * H * S * S * A * L * L
                                                 + 4 * H ** 1.5 * math.sqrt(Kk * L))
    assert run_episodes("ucbvi-ch", river, horizon=H, n_episodes=Kk, variant="practical").certificate is None
    with pytest.raises(B.NonPaperVariantError):
        B.ucbvi_ch_regret_bound(S, A, H, Kk, 0.1, variant="practical")
    assert run_episodes("ucb-h", river, horizon=H, n_episodes=Kk).certificate.kind.value == "rate-only"


def test_paper_constants_keep_ucbvi_in_burn_in_while_psrl_learns(river):
    # the paper's bonus 7 H L / sqrt(N) exceeds H until N > 49 L^2: on RiverSwim over 300 episodes
    # UCBVI-CH keeps Q = H and explores like a random walk, PSRL finds the right end
    H, Kk = 20, 300
    ch = run_episodes("ucbvi-ch", river, horizon=H, n_episodes=Kk, seed=1)
    ps = run_episodes("psrl", river, horizon=H, n_episodes=Kk, seed=1)
    vstar = ch.v_star[0, 0]
    assert ch.pseudo_regret[0, -1] > 0.9 * Kk * vstar * 0.9
    assert ps.pseudo_regret[0, -1] < 0.3 * ch.pseudo_regret[0, -1]


@pytest.mark.parametrize("kwargs, match", [
    (dict(algorithm="ucbvi"), "unknown episodic algorithm"),
    (dict(horizon=0), "horizon"),
    (dict(n_episodes=0), "n_episodes"),
    (dict(delta=1.5), "delta"),
    (dict(bonus_scale=0.5), "variant='paper'"),
    (dict(variant="fast"), "variant"),
    (dict(algorithm="psrl", variant="practical"), "PSRL has no bonus"),
    (dict(algorithm="psrl", prior=0.0), "prior"),
    (dict(seed=-1), "seed"),
])
def test_bad_input(river, kwargs, match):
    args = dict(algorithm="ucbvi-ch", horizon=3, n_episodes=2)
    args.update(kwargs)
    alg = args.pop("algorithm")
    with pytest.raises(InvalidArgumentError, match=match):
        run_episodes(alg, river, **args)


def test_rewards_outside_unit_interval_are_refused():
    m = make("riverswim")  # Strehl & Littman rewards (5, 10000)
    with pytest.raises(InvalidArgumentError, match=r"rewards in \[0, 1\]"):
        run_episodes("ucbvi-ch", m, horizon=3, n_episodes=2)


def test_sweep_runner_merges_and_resumes(river, tmp_path):
    import functools

    from mdpkit.solvers.online import episodes_cell
    from mdpkit.solvers.sweep import run_sweep

    cells = {"psrl": functools.partial(episodes_cell, "psrl", river, 5, 30),
             "ucbvi-bf": functools.partial(episodes_cell, "ucbvi-bf", river, 5, 30, variant="practical",
                                           bonus_scale=0.05)}
    out = run_sweep(cells, [3, 4], tmp_path, n_jobs=1, progress=False)
    for name, fn in cells.items():
        direct = np.concatenate([fn(3).pseudo_regret, fn(4).pseudo_regret])
        np.testing.assert_array_equal(out[name].pseudo_regret, direct)
    again = run_sweep(cells, [3, 4], tmp_path, n_jobs=1, progress=False)  # every cell file exists: reloaded
    np.testing.assert_array_equal(again["psrl"].pseudo_regret, out["psrl"].pseudo_regret)

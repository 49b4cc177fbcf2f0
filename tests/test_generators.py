"""Tests of the model zoo (``mdpkit.generators``).

Every expected number comes from an independent route: a published table (Sutton & Barto,
Puterman), a closed form, a peer library (pymdptoolbox), a data file (craam2), a brute-force
enumeration written here, or Monte-Carlo rollouts in gymnasium itself.  The value and policy
computations below are plain numpy written for these tests; ``mdpkit.solvers`` is not used.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import InvalidArgumentError, TabularMDP
from mdpkit import generators as g

DATA = Path(__file__).parent / "data" / "craam2"


# ----------------------------------------------------------------------------- plain-numpy oracles
def _value_iteration(P, R, mask, gamma, tol=1e-13, max_iter=200_000):
    """Plain VI on dense arrays; masked actions get -inf.  Returns (v, greedy policy)."""
    v = np.zeros(P.shape[0])
    for _ in range(max_iter):
        q = np.where(mask, R + gamma * (P @ v), -np.inf)
        v_new = q.max(axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            return v_new, q.argmax(axis=1)
        v = v_new
    raise AssertionError("test VI did not converge")


def _policy_value(P, R, policy, gamma, states=None):
    """Exact value of a stochastic policy (S, A) by a linear solve, optionally on a subset."""
    P_pi = np.einsum("sa,sat->st", policy, P)
    r_pi = np.einsum("sa,sa->s", policy, R)
    idx = np.arange(P.shape[0]) if states is None else np.asarray(states)
    M = np.eye(len(idx)) - gamma * P_pi[np.ix_(idx, idx)]
    v = np.zeros(P.shape[0])
    v[idx] = np.linalg.solve(M, r_pi[idx])
    return v


def _read_craam2(name):
    """craam2 CSV -> dense P (S, A, S), R_sas (S, A, S), parsed here with numpy only."""
    rows = np.genfromtxt(DATA / name, delimiter=",", skip_header=1)
    s, a, t = (rows[:, k].astype(int) for k in range(3))
    S, A = max(s.max(), t.max()) + 1, a.max() + 1
    P = np.zeros((S, A, S))
    R_sas = np.zeros((S, A, S))
    for si, ai, ti, p, r in zip(s, a, t, rows[:, 3], rows[:, 4]):
        P[si, ai, ti] += p
        R_sas[si, ai, ti] = r
    return P, R_sas


def _poisson_pmf(k, lam):
    return math.exp(-lam) * lam**k / math.factorial(k)


# ----------------------------------------------------------------------------- every model
SPECS = [n if n != "garnet" else "garnet:S=60,A=3,b=4,rng=0" for n, _ in g.list_models()]


@pytest.mark.parametrize("spec", SPECS)
def test_every_model_is_valid_and_labelled(spec):
    m = g.make(spec)
    assert isinstance(m, TabularMDP)
    assert m.name
    if not spec.startswith("garnet"):  # random instances have nothing to name
        assert len(m.state_labels) == m.S and len(m.action_labels) == m.A
    P = m.P_dense()
    sums = P.sum(axis=2)
    assert_allclose(sums[m.action_mask], 1.0, rtol=0, atol=1e-12)
    assert np.all((sums[~m.action_mask] == 0) | (np.abs(sums[~m.action_mask] - 1) < 1e-12))
    assert np.all(P >= 0)
    assert m.action_mask.any(axis=1).all()
    assert abs(m.mu0.sum() - 1) < 1e-12
    if m.grid_shape is not None:
        assert m.grid_shape[0] * m.grid_shape[1] <= m.S


def test_list_models_names_and_descriptions():
    models = g.list_models()
    names = [n for n, _ in models]
    assert len(names) == len(set(names))
    for n, d in models:
        assert isinstance(d, str) and d and "\n" not in d
    for required in ("gridworld", "gridworld4x4", "frozenlake8x8", "riverswim", "garnet", "jacks_car_rental"):
        assert required in names


def test_import_does_not_load_gymnasium():
    code = "import sys, mdpkit.generators; assert 'gymnasium' not in sys.modules, 'gymnasium imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- Sutton & Barto
FIG_4_1 = np.array([[0, -14, -20, -22], [-14, -18, -20, -20], [-20, -20, -18, -14], [-22, -20, -14, 0]])

FIG_3_2 = np.array(
    [
        [3.3, 8.8, 4.4, 5.3, 1.5],
        [1.5, 3.0, 2.3, 1.9, 0.5],
        [0.1, 0.7, 0.7, 0.4, -0.4],
        [-1.0, -0.4, -0.4, -0.6, -1.2],
        [-1.9, -1.3, -1.2, -1.4, -2.0],
    ]
)

FIG_3_5 = np.array(
    [
        [22.0, 24.4, 22.0, 19.4, 17.5],
        [19.8, 22.0, 19.8, 17.8, 16.0],
        [17.8, 19.8, 17.8, 16.0, 14.4],
        [16.0, 17.8, 16.0, 14.4, 13.0],
        [14.4, 16.0, 14.4, 13.0, 11.7],
    ]
)


def test_gridworld_4x4_random_policy__sutton_barto_fig_4_1():
    m = g.gridworld_4x4()
    assert (m.S, m.A, m.gamma, m.grid_shape) == (16, 4, 1.0, (4, 4))
    uniform = np.full((16, 4), 0.25)
    v = _policy_value(m.P, m.R, uniform, 1.0, states=np.arange(1, 15))
    assert_allclose(v.reshape(4, 4), FIG_4_1, atol=1e-9)


def test_gridworld_4x4_optimal_is_manhattan_distance():
    m = g.gridworld_4x4()
    v, _ = _value_iteration(m.P, m.R, m.action_mask, 1.0)
    r, c = np.divmod(np.arange(16), 4)
    dist = np.minimum(r + c, (3 - r) + (3 - c))
    assert_allclose(v, -dist, atol=1e-12)
    assert np.all(m.P[[0, 15], :, [0, 15]] == 1) and np.all(m.R[[0, 15]] == 0)


def test_gridworld_5x5_random_policy__sutton_barto_fig_3_2():
    m = g.gridworld_5x5()
    assert (m.S, m.gamma, m.grid_shape) == (25, 0.9, (5, 5))
    v = _policy_value(m.P, m.R, np.full((25, 4), 0.25), 0.9)
    assert_allclose(v.reshape(5, 5), FIG_3_2, atol=0.05 + 1e-9)


def test_gridworld_5x5_optimal__sutton_barto_fig_3_5():
    m = g.gridworld_5x5()
    v, _ = _value_iteration(m.P, m.R, m.action_mask, 0.9)
    assert_allclose(v.reshape(5, 5), FIG_3_5, atol=0.05 + 1e-9)


def _bold_play_probability(s, goal, p):
    """Dubins-Savage bold-play success probability of capital s, by the doubling map.

    f(x) = p f(2x) for x <= 1/2 and p + (1-p) f(2x-1) otherwise; rational x has an eventually
    periodic orbit, which closes a linear equation.
    """
    x = Fraction(s, goal)
    a, b = 0.0, 1.0  # f(x0) = a + b f(x)
    seen = {}
    while x not in (0, 1):
        if x in seen:
            a0, b0 = seen[x]  # f(x0) = a0 + b0 f(x) = a + b f(x)
            fx = (a0 - a) / (b - b0)
            return a0 + b0 * fx
        seen[x] = (a, b)
        if x <= Fraction(1, 2):
            b, x = b * p, 2 * x
        else:
            a, b, x = a + b * p, b * (1 - p), 2 * x - 1
    return a + b * float(x)


def test_gambler_optimal_value_is_bold_play__sutton_barto_ex_4_3():
    m = g.gambler()
    assert (m.S, m.A, m.gamma) == (101, 51, 1.0)
    v, _ = _value_iteration(m.P, m.R, m.action_mask, 1.0, tol=1e-15)
    assert v[50] == pytest.approx(0.4, abs=1e-12)
    assert v[25] == pytest.approx(0.16, abs=1e-12)
    assert v[75] == pytest.approx(0.64, abs=1e-12)
    oracle = np.array([_bold_play_probability(s, 100, 0.4) for s in range(100)])
    assert_allclose(v[:100], oracle, atol=1e-10)
    assert v[100] == 0  # the reward 1 is paid on the transition into the goal, not in it


def test_gambler_stakes_and_terminals():
    m = g.gambler()
    for s in range(1, 100):
        assert_array_equal(np.flatnonzero(m.action_mask[s]), np.arange(1, min(s, 100 - s) + 1))
    assert_array_equal(np.flatnonzero(m.action_mask[0]), [0])
    assert_array_equal(np.flatnonzero(m.action_mask[100]), [0])
    assert m.P[0, 0, 0] == 1 and m.P[100, 0, 100] == 1 and m.R[100, 0] == 0
    assert m.P[30, 20, 50] == pytest.approx(0.4) and m.P[30, 20, 10] == pytest.approx(0.6)
    assert m.R[60, 40] == pytest.approx(0.4) and m.R[60, 39] == 0
    m0 = g.gambler(allow_zero_stake=True)
    assert m0.action_mask[1:100, 0].all() and m0.P[37, 0, 37] == 1
    small = g.gambler(p_heads=0.25, goal=10)
    assert (small.S, small.A) == (11, 6)


def _jack_location_bruteforce(m, lam_req, lam_ret, N, truncate=None, K=60):
    """Next-count law and expected rentals of one location from m cars, by enumeration."""
    support = range(K) if truncate is None else range(truncate)
    pr = np.array([_poisson_pmf(k, lam_req) for k in support])
    pt = np.array([_poisson_pmf(k, lam_ret) for k in support])
    if truncate is not None:
        pr, pt = pr / pr.sum(), pt / pt.sum()
    dist = np.zeros(N + 1)
    rented = 0.0
    for x, px in zip(support, pr):
        k = min(x, m)
        rented += px * k
        for y, py in zip(support, pt):
            dist[min(m - k + y, N)] += px * py
    return dist, rented


@pytest.mark.parametrize("truncated", [False, True])
def test_jacks_car_rental_against_enumeration__sutton_barto_ex_4_2(truncated):
    N = 20
    m = g.jacks_car_rental(truncated=truncated)
    assert (m.S, m.A, m.gamma, m.grid_shape) == (441, 11, 0.9, (21, 21))
    sums = m.P.sum(axis=2)
    assert np.max(np.abs(sums[m.action_mask] - 1)) < 1e-12
    assert np.all(sums[~m.action_mask] == 0)
    trunc = 11 if truncated else None
    for n1, n2, move in [(0, 0, 0), (20, 20, 0), (20, 20, 5), (7, 12, -3), (5, 0, 5), (12, 3, 2)]:
        s, a = n1 * 21 + n2, move + 5
        m1, m2 = min(n1 - move, N), min(n2 + move, N)
        d1, e1 = _jack_location_bruteforce(m1, 3, 3, N, trunc)
        d2, e2 = _jack_location_bruteforce(m2, 4, 2, N, trunc)
        assert_allclose(m.P[s, a].reshape(21, 21), np.outer(d1, d2), rtol=0, atol=1e-13)
        assert m.R[s, a] == pytest.approx(10 * (e1 + e2) - 2 * abs(move), abs=1e-10)


def test_jacks_car_rental_masks_and_variants():
    m = g.jacks_car_rental()
    moves = lambda n1, n2: [int(x) - 5 for x in np.flatnonzero(m.action_mask[n1 * 21 + n2])]  # noqa: E731
    assert moves(0, 0) == [0]
    assert moves(20, 0) == [0, 1, 2, 3, 4, 5]
    assert moves(0, 20) == [-5, -4, -3, -2, -1, 0]
    assert moves(20, 20) == list(range(-5, 6))
    assert moves(2, 1) == [-1, 0, 1, 2]
    assert m.action_labels[0] == "-5" and m.action_labels[10] == "+5"
    t = g.jacks_car_rental(truncated=True)
    assert not np.allclose(t.P, m.P, atol=1e-6)
    assert t.allclose(g.jacks_car_rental(truncated=True))
    small = g.jacks_car_rental(max_cars=5, max_move=2)
    assert (small.S, small.A) == (36, 5)


def test_jacks_car_rental_builds_quickly():
    t0 = time.perf_counter()
    g.jacks_car_rental()
    assert time.perf_counter() - t0 < 5.0


def test_cliff_walking_optimal_path_is_13_steps__sutton_barto_ex_6_6():
    m = g.cliff_walking()
    assert (m.S, m.A, m.gamma, m.grid_shape) == (49, 4, 1.0, (4, 12))
    assert m.action_labels == ("up", "right", "down", "left")
    start = 36
    assert m.mu0[start] == 1
    v, _ = _value_iteration(m.P, m.R, m.action_mask, 1.0, tol=1e-12)
    assert v[start] == pytest.approx(-13.0, abs=1e-9)
    assert m.P[start, 1, start] == 1 and m.R[start, 1] == -100  # stepping into the cliff
    assert m.P[35, 2, 48] == 1 and m.R[35, 2] == -1  # the step into the goal ends the episode


# ----------------------------------------------------------------------------- gymnasium
def test_frozenlake_action_order_matches_gymnasium_source():
    from gymnasium.envs.toy_text import frozen_lake

    m = g.frozenlake()
    order = {name: getattr(frozen_lake, name.upper()) for name in m.action_labels}
    assert order == {"left": 0, "down": 1, "right": 2, "up": 3}
    from gymnasium.envs.toy_text import cliffwalking

    c = g.cliff_walking()
    assert {n: getattr(cliffwalking, n.upper()) for n in c.action_labels} == {"up": 0, "right": 1, "down": 2, "left": 3}


def test_frozenlake_deterministic_4x4_value_is_gamma_power():
    m = g.frozenlake("4x4", is_slippery=False)
    assert (m.S, m.grid_shape) == (17, (4, 4))
    v, _ = _value_iteration(m.P, m.R, m.action_mask, 0.99)
    assert v[0] == pytest.approx(0.99**5, abs=1e-12)  # the shortest safe path has 6 steps


def test_frozenlake_8x8_value_matches_gymnasium_rollouts():
    """End-to-end check of the conversion: the VI value of the start state equals the mean
    discounted return of the greedy policy simulated in gymnasium, within a Hoeffding bound."""
    import gymnasium

    m = g.frozenlake("8x8")
    assert (m.S, m.A, m.gamma, m.grid_shape) == (65, 4, 0.99, (8, 8))
    assert m.state_labels[0] == "S(0,0)" and m.state_labels[63] == "G(7,7)" and m.state_labels[64] == "terminal"
    v, policy = _value_iteration(m.P, m.R, m.action_mask, m.gamma)
    assert m.mu0[0] == 1.0

    env = gymnasium.make("FrozenLake-v1", map_name="8x8", is_slippery=True)
    env.reset(seed=12345)
    u = env.unwrapped  # step without the 200-step limit: the model is the infinite-horizon one
    n, gamma = 2000, m.gamma
    returns = np.zeros(n)
    for i in range(n):
        s, _ = u.reset()
        disc = 1.0
        for _ in range(3000):  # gamma**3000 < 1e-13: the discounted tail is negligible
            s, r, terminated, _, _ = u.step(int(policy[s]))
            returns[i] += disc * r
            disc *= gamma
            if terminated:
                break
    delta = 1e-4
    eps = math.sqrt(math.log(2 / delta) / (2 * n))  # returns lie in [0, 1]
    assert abs(returns.mean() - v[0]) < eps


def test_taxi_and_cliff_shapes():
    m = g.taxi()
    assert (m.S, m.A) == (501, 6)
    assert m.state_labels[-1] == "terminal"
    assert m.action_labels == ("south", "north", "east", "west", "pickup", "dropoff")
    assert m.reward_range == (-10.0, 20.0)
    assert abs(m.mu0.sum() - 1) < 1e-12 and m.mu0[-1] == 0


# ----------------------------------------------------------------------------- data-file oracles
def test_riverswim_equals_craam2_csv():
    P, R_sas = _read_craam2("riverswim_mdp.csv")
    m = g.riverswim()
    assert (m.S, m.A) == P.shape[:2] == (6, 2)
    assert_allclose(m.P, P, rtol=0, atol=1e-15)
    assert_allclose(m.R, np.einsum("sat,sat->sa", P, R_sas), rtol=0, atol=1e-12)
    assert_allclose(m.R_sas[P > 0], R_sas[P > 0], rtol=0, atol=0)
    assert m.action_labels == ("left", "right")


def test_riverswim_variants():
    o = g.riverswim(convention="osband")
    assert o.R[0, 0] == pytest.approx(0.005) and o.R[5, 1] == pytest.approx(1.0)
    big = g.riverswim(n_states=12)
    assert big.S == 12 and big.R[11, 1] == pytest.approx(3000.0)
    with pytest.raises(InvalidArgumentError, match="convention"):
        g.riverswim(convention="nope")


def test_machine_replacement_equals_craam2_csv():
    P, R_sas = _read_craam2("machine_replacement_mdp.csv")
    m = g.machine_replacement()
    assert (m.S, m.A, m.gamma) == (10, 2, 0.8)
    assert_allclose(m.P, P, rtol=0, atol=1e-15)
    assert_allclose(m.R, np.einsum("sat,sat->sa", P, R_sas), rtol=0, atol=1e-12)
    assert_allclose(m.R_sas[P > 0], R_sas[P > 0], rtol=0, atol=0)


# ----------------------------------------------------------------------------- peer library
@pytest.mark.parametrize("kwargs", [{}, {"S": 50, "r1": 7.0, "r2": 3.0, "p": 0.05}, {"S": 4, "p": 0.0}])
def test_forest_equals_pymdptoolbox(kwargs):
    mdptoolbox_example = pytest.importorskip("mdptoolbox.example")
    P_ref, R_ref = mdptoolbox_example.forest(**kwargs)
    m = g.forest(**kwargs)
    assert_array_equal(m.P_dense(), np.transpose(P_ref, (1, 0, 2)))
    assert_array_equal(m.R, R_ref)


def test_forest_large_sparse_equals_pymdptoolbox():
    mdptoolbox_example = pytest.importorskip("mdptoolbox.example")
    S = 10_000
    t0 = time.perf_counter()
    m = g.forest(S=S)
    assert time.perf_counter() - t0 < 2.0
    assert m.is_sparse
    P_ref, R_ref = mdptoolbox_example.forest(S=S, is_sparse=True)
    for a in range(2):
        assert abs(m.P_rows[a::2] - P_ref[a]).max() == 0
    assert_array_equal(m.R, R_ref)


# ----------------------------------------------------------------------------- closed forms
def test_puterman_two_state_closed_form__puterman_sec_3_1():
    beta = 0.95
    m = g.puterman_two_state()
    assert m.gamma == beta
    assert_array_equal(m.action_mask, [[True, True], [True, False]])
    v_star = np.array([(5 - 5.5 * beta) / ((1 - 0.5 * beta) * (1 - beta)), -1 / (1 - beta)])
    v, policy = _value_iteration(m.P, m.R, m.action_mask, beta)
    assert_allclose(v, v_star, atol=1e-10)
    assert_array_equal(policy, [0, 0])
    v_pi = _policy_value(m.P, m.R, np.eye(2)[[0, 0]], beta)
    assert_allclose(v_pi, v_star, rtol=1e-13)


PUTERMAN_R = [[0, -1, -2, -5], [5, 0, -3], [6, -1], [5]]  # Puterman 1994, Sec. 3.2 (numerical example)


def test_inventory__puterman_example_4_6_1():
    m = g.inventory()
    for s, row in enumerate(PUTERMAN_R):
        assert_array_equal(np.flatnonzero(m.action_mask[s]), np.arange(len(row)))
        assert_allclose(m.R[s, : len(row)], row, atol=1e-12)
    # three decision epochs, terminal reward 0 (backward induction)
    u = np.zeros(4)
    for _ in range(3):
        u = np.where(m.action_mask, m.R + m.P @ u, -np.inf).max(axis=1)
    assert_allclose(u, np.array([67, 129, 194, 227]) / 16, atol=1e-12)


def test_inventory_poisson_demand_against_enumeration():
    lam, M, price, h, K, c = 2.5, 6, 5.0, 0.5, 3.0, 1.5
    m = g.inventory(max_inventory=M, demand_mean=lam, price=price, holding_cost=h, fixed_cost=K, unit_cost=c)
    for s in range(M + 1):
        for a in range(M + 1 - s):
            y = s + a
            dist = np.zeros(M + 1)
            revenue = 0.0
            for d in range(80):
                p = _poisson_pmf(d, lam)
                dist[max(y - d, 0)] += p
                revenue += p * price * min(d, y)
            assert_allclose(m.P[s, a], dist, atol=1e-14)
            assert m.R[s, a] == pytest.approx(revenue - (K + c * a if a else 0) - h * y, abs=1e-12)
    with pytest.raises(InvalidArgumentError, match="at most one"):
        g.inventory(demand_pmf=[1.0], demand_mean=1.0)
    with pytest.raises(InvalidArgumentError, match="sum to 1"):
        g.inventory(demand_pmf=[0.5, 0.4])


def test_chain_dynamics__dearden_1998():
    m = g.chain()
    assert (m.S, m.A, m.gamma) == (5, 2, 0.99)
    assert_allclose(m.P[2, 0], [0.2, 0, 0, 0.8, 0], atol=1e-15)
    assert_allclose(m.P[2, 1], [0.8, 0, 0, 0.2, 0], atol=1e-15)
    assert_allclose(m.P[4, 0], [0.2, 0, 0, 0, 0.8], atol=1e-15)
    assert_allclose(m.R[4], [0.8 * 10 + 0.2 * 2, 0.8 * 2 + 0.2 * 10], atol=1e-12)
    assert_allclose(m.R[0], [0.2 * 2, 0.8 * 2], atol=1e-12)
    _, policy = _value_iteration(m.P, m.R, m.action_mask, 0.99)
    assert_array_equal(policy, 0)  # at gamma 0.99 the optimal policy always moves forward
    _, myopic = _value_iteration(m.P, m.R, m.action_mask, 0.5)
    assert myopic[0] == 1


# ----------------------------------------------------------------------------- Garnet
def test_garnet_rows_have_exactly_b_successors():
    for sparse in (False, True):
        m = g.garnet(40, 3, 5, rng=7, sparse=sparse)
        assert m.is_sparse == sparse
        rows = m.P_rows
        nnz = np.diff(rows.indptr) if sparse else np.count_nonzero(rows, axis=1)
        assert np.all(nnz == 5)
        assert np.all((m.R >= 0) & (m.R < 1))
    full = g.garnet(6, 2, 6, rng=1)
    assert np.all(full.P > 0)


def test_garnet_seeds():
    a, b = g.garnet(50, 4, 3, rng=123), g.garnet(50, 4, 3, rng=123)
    assert a.allclose(b)
    assert not g.garnet(50, 4, 3, rng=124).allclose(a)
    d, s = g.garnet(30, 2, 4, rng=5, sparse=False), g.garnet(30, 2, 4, rng=5, sparse=True)
    assert d.allclose(s.to_dense())
    gen = np.random.default_rng(9)
    assert g.garnet(10, 2, 2, rng=gen).S == 10
    r_state = g.garnet(20, 3, 2, rng=0, reward="s").R
    assert np.all(r_state == r_state[:, :1])


def test_garnet_successors_are_uniform():
    """Each state is a successor of a row w.p. b/S; chi-square-sized check over 20000 rows."""
    S, A, b = 20, 1000, 4
    m = g.garnet(S, A, b, rng=2024, sparse=True)
    counts = np.bincount(m.P_rows.indices, minlength=S)
    expected = S * A * b / S
    # binomial sd = sqrt(n p (1-p)); 6 sd covers all S states with overwhelming probability
    sd = math.sqrt(S * A * (b / S) * (1 - b / S))
    assert np.max(np.abs(counts - expected)) < 6 * sd
    # cut-point probabilities are flat-Dirichlet, so each one is Beta(1, b-1): mean 1/b
    first = m.P_rows.data[::b]
    sd_mean = math.sqrt((b - 1) / (b**2 * (b + 1)) / first.size)
    assert abs(first.mean() - 1 / b) < 6 * sd_mean


def test_garnet_large_is_fast():
    t0 = time.perf_counter()
    m = g.garnet(200_000, 4, 8, rng=0)
    elapsed = time.perf_counter() - t0
    assert m.is_sparse and m.nnz == 200_000 * 4 * 8
    assert elapsed < 15.0


def test_garnet_argument_errors():
    with pytest.raises(InvalidArgumentError, match="b must satisfy"):
        g.garnet(5, 2, 6)
    with pytest.raises(InvalidArgumentError, match="S must be >= 1"):
        g.garnet(0, 2, 1)
    with pytest.raises(InvalidArgumentError, match="reward"):
        g.garnet(5, 2, 2, reward="sas")


# ----------------------------------------------------------------------------- make
def test_make_names_and_parameters():
    assert g.make("gridworld").S == 25
    assert g.make("GridWorld-4x4").S == 16
    assert g.make(" gridworld_5x5 ").S == 25
    m = g.make("garnet:S=1000,A=4,b=5,rng=3")
    assert (m.S, m.A) == (1000, 4) and m.allclose(g.garnet(1000, 4, 5, rng=3))
    assert g.make("garnet:S=1000,A=4,b=5,rng=3,sparse=true").is_sparse
    assert g.make("frozenlake8x8").S == 65
    assert g.make("frozenlake4x4").S == 17
    assert g.make("frozenlake:map_name=8x8,is_slippery=false").S == 65
    assert "truncated" in g.make("jacks_car_rental:truncated=true").name
    assert g.make("riverswim").allclose(g.riverswim())
    gm = g.make("gambler:p_heads=0.25,goal=64,gamma=1")
    assert (gm.S, gm.gamma) == (65, 1.0) and gm.allclose(g.gambler(0.25, 64))
    assert g.make("puterman_3_1").S == 2
    assert g.make("inventory:demand_mean=2.5,max_inventory=5").S == 6
    assert g.make("chain:n_states=7, slip=0.1").S == 7
    assert g.make("garnet:S=10,A=2,b=2,rng=none,sparse=none,gamma=0.5").gamma == 0.5
    assert g.make("gambler:").S == 101


@pytest.mark.parametrize(
    "spec, match",
    [
        ("gridwrld", "did you mean gridworld"),
        ("nosuchmodel", "unknown model 'nosuchmodel'"),
        ("garnet", "needs parameter"),
        ("garnet:S=10,A=2,b=2,foo=1", "unknown parameter 'foo'"),
        ("garnet:S=abc,A=2,b=2", "S='abc' is not a valid int"),
        ("garnet:S=10.5,A=2,b=2", "not a valid int"),
        ("jacks_car_rental:truncated=maybe", "not a valid bool"),
        ("jacks_car_rental:request_rates=3", "cannot be set from a spec"),
        ("inventory:demand_pmf=0.5", "cannot be set from a spec"),
        ("frozenlake8x8:map_name=4x4", "fixed"),
        ("gambler:p_heads", "expected key=value"),
        ("gambler:goal=10,goal=12", "given twice"),
        ("gambler:p_heads=1.5", r"p_heads must lie in \[0, 1\]"),
    ],
)
def test_make_errors(spec, match):
    with pytest.raises(InvalidArgumentError, match=match) as info:
        g.make(spec)
    assert "\n" not in str(info.value)


def test_make_rejects_non_string():
    with pytest.raises(InvalidArgumentError, match="spec must be a string"):
        g.make(3)


def test_generator_argument_errors_name_the_parameter():
    with pytest.raises(InvalidArgumentError, match="goal"):
        g.gambler(goal=1)
    with pytest.raises(InvalidArgumentError, match="map_name"):
        g.frozenlake("5x5")
    with pytest.raises(InvalidArgumentError, match="r1"):
        g.forest(r1=0)
    with pytest.raises(InvalidArgumentError, match="max_cars"):
        g.jacks_car_rental(max_cars=0)
    with pytest.raises(InvalidArgumentError, match="slip"):
        g.chain(slip=2.0)
    with pytest.raises(InvalidArgumentError, match="n_states"):
        g.machine_replacement(n_states=3)

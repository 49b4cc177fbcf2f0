"""The policy-optimization theorem checks (mdpkit.theory._pg): each passes on its family, its
negative control fails, and on the tight instances a bound with half its constant fails."""

import numpy as np
import pytest

import mdpkit.theory._pg as pg
from mdpkit import theory

DEFAULT = ["policy-gradient-theorem", "npg-rate", "softmax-pg-rate", "pmd-geometric-linear", "gradient-domination", "trpo-improvement",
           "shapley-contraction", "cmdp-lp-duality"]


@pytest.mark.parametrize("name", DEFAULT)
def test_check_passes_and_negative_control_fails(name):
    res = theory.check(name, n_examples=8, seed=1)
    assert not res.errors, res.errors
    assert res.passed, [(o.label, o.ratio) for o in res.failures()[:3]]
    assert res.control_failed is True
    assert res.n_instances >= 8


def test_opt_in_checks_pass_on_a_few_instances():
    res = theory.check("entropy-npg-linear", n_examples=3, seed=2)
    assert res.passed and not res.errors and res.control_failed is True
    from mdpkit import TabularMDP

    rng = np.random.default_rng(1)
    mdp = TabularMDP(rng.dirichlet(np.ones(3), size=(3, 2)), rng.uniform(0, 1, (3, 2)), 0.8)
    res = theory.check("cmdp-last-iterate", mdp=mdp, seed=0)
    assert res.passed and res.control_failed is True, [o.observed for o in res.observations]
    assert not theory.get("entropy-npg-linear").default and not theory.get("cmdp-last-iterate").default


def _obs(name, mdp, seed=0):
    th = theory.get(name)
    return th.run(mdp, np.random.default_rng(seed), th.subject)


def test_npg_bound_is_nearly_attained_so_half_the_constant_fails():
    o = _obs("npg-rate", pg.bandit_tight(1000, 0.5))
    assert np.all(o.observed <= o.bound)
    assert np.any(o.observed > 0.5 * o.bound) and np.max(o.observed / o.bound) > 0.55


def test_gradient_domination_holds_with_equality_on_absorbing_bandits():
    mdp = pg._absorbing(3, 3, 0.7, seed=4)
    th = theory.get("gradient-domination")
    for seed in range(6):
        o = th.run(mdp, np.random.default_rng(seed), th.subject)
        assert np.all(o.observed <= o.bound + 1e-10)
        if o.info["sharp_mismatch"] == pytest.approx(1.0):  # rho = mu: the sharp form is an equality
            assert o.observed[0] == pytest.approx(o.bound[0], rel=1e-9)
            assert o.observed[0] > 0.5 * o.bound[0]
            break
    else:
        pytest.fail("no draw with rho = mu")


def test_shapley_contraction_is_tight_for_constant_shifts():
    game = pg._random_game(3, 2, 2, 0.8, 5)
    o = theory.get("shapley-contraction").run(game, np.random.default_rng(0), pg._shapley_T)
    assert np.max(o.observed / o.bound) == pytest.approx(1.0, abs=1e-7)
    assert np.any(o.observed > 0.5 * o.bound)


def test_negative_controls_fail_on_the_designed_instances():
    chain = pg.delayed_chain(4, 0.9)
    th = theory.get("npg-rate")
    bad = th.run(chain, np.random.default_rng(0), th.negative)
    bad.evaluate()
    assert not bad.passed
    th = theory.get("gradient-domination")
    bad = th.run(chain, np.random.default_rng(0), th.negative)
    assert np.any(bad.observed > bad.bound)


@pytest.mark.parametrize("name", ["dynamic-pg-epoch-rate", "dynamic-pg-steps-vs-horizon"])
def test_opt_in_dynamic_pg_checks_and_their_controls(name):
    assert not theory.get(name).default
    res = theory.check(name, n_examples=3, seed=3)
    assert res.passed and not res.errors
    assert res.control_failed is True


def test_dynamic_pg_steps_within_derived_h_cubed_bound():
    from mdpkit import TabularMDP, bounds
    from mdpkit.solvers.policy_optimization import dynamic_pg_epoch_run, pg_iterations_to_epsilon

    rng = np.random.default_rng(5)
    for _ in range(3):
        S, A = 3, 2
        mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 1.0)
        w = float(mdp.R.max() - mdp.R.min())
        n = {}
        for H in (2, 3, 4):
            n[H] = pg_iterations_to_epsilon(mdp, H, 0.2, method="dynamic")
            b = bounds.dynamic_pg_steps_bound(H, n_states=S, n_actions=A, reward_span=w, epsilon=0.2)
            assert n[H] <= b.value
            # the bound's C >= 1/A premise, measured along the run
            C = dynamic_pg_epoch_run(mdp, H, 300, lambda h, HH: 2 / (5 * (HH - h) * w))[2]
            assert C.min() >= 1 / A - 1e-12
        # J* - J <= eps really holds after the returned number of dynamic steps: simultaneous PG (exact J)
        # at H = 4 needs more steps relative to H = 2 than dynamic PG does (H^5 vs H^3 scaling)
        sim = {H: pg_iterations_to_epsilon(mdp, H, 0.2, method="simultaneous") for H in (2, 4)}
        assert sim[4] / sim[2] > n[4] / n[2]
    b2 = bounds.dynamic_pg_steps_bound(2, n_states=3, n_actions=2, reward_span=1.0, epsilon=0.5).value
    b8 = bounds.dynamic_pg_steps_bound(8, n_states=3, n_actions=2, reward_span=1.0, epsilon=0.5).value
    assert b8 / b2 == pytest.approx((8 ** 2 * 9) / (2 ** 2 * 3), rel=1e-9)  # H^2 (H+1): cubic


def test_dynamic_pg_stopping_rule_gives_epsilon_optimal_policy():
    # the epoch stopping rule max_s gap <= eps/H implies J* - J <= eps (performance difference lemma)
    from mdpkit import TabularMDP
    from mdpkit.solvers.finite_horizon import backward_induction
    from mdpkit.solvers.policy_optimization import dynamic_pg_epoch_run, pg_iterations_to_epsilon

    rng = np.random.default_rng(6)
    S, A, H, eps = 3, 3, 3, 0.1
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 1.0)
    n = pg_iterations_to_epsilon(mdp, H, eps, method="dynamic")
    assert 0 < n < np.inf
    js = float(mdp.mu0 @ np.asarray(backward_induction(mdp, H).v)[0])
    # replay dynamic PG epoch by epoch with the same stopping rule and evaluate J exactly
    P, R = mdp.P_dense(), mdp.R
    w = float(R.max() - R.min())
    V = np.zeros(S)
    pis = []
    for h in range(H - 1, -1, -1):
        Q = R + P @ V
        th = np.zeros((S, A))
        while True:
            pi = np.exp(th - th.max(axis=1, keepdims=True))
            pi /= pi.sum(axis=1, keepdims=True)
            vq = (pi * Q).sum(axis=1)
            if np.max(Q.max(axis=1) - vq) <= eps / H:
                break
            th += 2 / (5 * (H - h) * w) / S * pi * (Q - vq[:, None])
        V = vq
        pis.append(pi)
    assert js - float(mdp.mu0 @ V) <= eps
    assert dynamic_pg_epoch_run(mdp, H, 5, lambda h, HH: 0.1)[0].shape == (H, S)


@pytest.mark.parametrize("power, max_steps", [(0.0, 100_000), (0.5, 100_000), (0.0, 3)])
def test_softmax_bandit_kernel_matches_plain_twin(power, max_steps):
    from mdpkit._kernels.pg import softmax_bandit_steps, softmax_bandit_steps_plain

    rng = np.random.default_rng(int(power * 10) + max_steps)
    Q = np.ascontiguousarray(rng.uniform(0, 2, (3, 4)))
    nu = np.full(3, 1 / 3)
    p1, p2 = np.empty((3, 4)), np.empty((3, 4))
    n1 = softmax_bandit_steps(Q, nu, np.float64(0.3), np.float64(0.05), np.float64(power), np.int64(max_steps), p1)
    n2 = softmax_bandit_steps_plain(Q, nu, 0.3, 0.05, power, max_steps, p2)
    assert n1 == n2
    assert np.allclose(p1, p2, atol=1e-12)
    assert (n1 == -1) == (max_steps == 3)
    assert len(softmax_bandit_steps.signatures) == 1

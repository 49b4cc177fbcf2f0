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

"""The linear-MDP theorem checks (mdpkit/theory/_linear.py): pass, non-vacuous, enough instances."""

import numpy as np
import pytest

import mdpkit.theory._linear as tl  # registers the checks
from mdpkit.theory import check

NAMES = ["lsvi-onehot-tabular", "linear-q-pi", "lsvi-ucb-optimism", "mdvi-softmax-identity", "lsvi-adp-loss",
         "rfe-planning-decomposition"]


@pytest.mark.parametrize("name", NAMES)
def test_check_passes_and_control_fails(name):
    res = check(name, n_examples=20, seed=0)
    assert res.verdict == "PASS", [(o.label, o.ratio) for o in res.failures()]
    assert res.control_failed is True
    assert res.n_instances >= 20
    labels = {o.label for o in res.observations}
    assert len(labels) >= 5  # distinct instance shapes, not copies of one


def test_optimism_control_breaks_the_claim_itself():
    """beta = 0 violates optimism on the lock instance (estimates start at 0 < V*), not by a constant."""
    m = tl.lock_mdp()
    obs = tl._run_optimism(m, np.random.default_rng(0), tl.ucb_greedy).evaluate()
    assert not obs.passed and obs.observed.max() > 0.1
    ok = tl._run_optimism(m, np.random.default_rng(0), tl.ucb_paper).evaluate()
    assert ok.passed


def test_q_pi_control_is_misspecification():
    from mdpkit.linear import random_linear_mdp

    m = random_linear_mdp(5, 2, 4, horizon=3, rng=1)
    bad = tl._run_q_pi_linear(m, np.random.default_rng(0), tl.q_pi_misspecified).evaluate()
    good = tl._run_q_pi_linear(m, np.random.default_rng(0), tl.q_pi_true).evaluate()
    assert good.passed and not bad.passed and bad.observed.max() > 1e-3


def test_r2pvi_check_small():
    res = check("r2pvi-onehot-tabular", n_examples=4, seed=0, steer=False)
    assert res.verdict == "PASS" and res.control_failed is True


def test_adp_loss_check_has_power():
    """The tight instance reaches ratio 1, so the check fails if the constant 2 is halved."""
    res = check("lsvi-adp-loss", n_examples=20, seed=0)
    assert res.verdict == "PASS" and res.control_failed is True and res.n_instances >= 20
    assert res.worst_ratio > 0.99
    from mdpkit import TabularMDP
    from mdpkit.linear import one_hot_linear_mdp

    tight = (one_hot_linear_mdp(TabularMDP(np.ones((1, 2, 1)), np.array([[0.0, 0.3]]), 1.0), horizon=1),
             np.ones((1, 2, 1)))
    obs = tl._run_adp(tight, np.random.default_rng(0), tl.adp_greedy)
    assert obs.observed[0] == pytest.approx(obs.bound[0])  # loss = 2 * eps exactly
    obs.bound = obs.bound / 2
    assert not obs.evaluate().passed


def test_sublinear_regret_control_is_linear_regret_on_the_lock():
    """beta = 0 locks onto 'reset' (exponent 1: linear regret); the paper's beta is still in burn-in here."""
    m = tl.lock_mdp(4, 4)
    bad = tl._run_regret_exponent(m, np.random.default_rng(0), tl.ucb_no_bonus).evaluate()
    assert not bad.passed and bad.observed[0] == pytest.approx(1.0, abs=1e-6)
    good = tl._run_regret_exponent(m, np.random.default_rng(0), tl.ucb_practical).evaluate()
    assert good.passed


def test_planning_decomposition_tight_and_halving_fails():
    """The tied instance attains the decomposition exactly, so a bound with half the constant fails."""
    obs = tl._run_planning_decomposition(tl.planning_tight_instance(), np.random.default_rng(0),
                                         tl.rfe_greedy_plan).evaluate()
    assert obs.passed and obs.observed[0] == pytest.approx(0.6) and obs.bound[0] == pytest.approx(0.6)
    obs.bound = obs.bound / 2
    assert not obs.evaluate().passed
    bad = tl._run_planning_decomposition(tl.planning_tight_instance(), np.random.default_rng(0),
                                         tl.rfe_antigreedy_plan).evaluate()
    assert bad.passed  # on the tie the anti-greedy policy is the same one; the control fails elsewhere
    res = check("rfe-planning-decomposition", n_examples=20, seed=0)
    assert res.control_failed is True and not res.low_power and res.worst_ratio > 0.999

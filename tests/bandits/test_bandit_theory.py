"""Bandit theorem checks: each passes, its negative controls fail, and the ETC check loses when its
bound is halved (the mutation control); derandomised by fixed seeds."""

import pytest

import mdpkit.theory._bandits  # noqa: F401  (registers the checks until the lead wires them in)
from mdpkit.theory._core import check


@pytest.mark.parametrize("name, n", [("bandit-ucb1-regret", 20), ("bandit-ucb-delta-regret", 20),
                                     ("bandit-etc-regret", 20), ("bandit-ucb-confidence", 20)])
def test_default_checks_pass_and_controls_fail(name, n):
    r = check(name, n_examples=n, seed=0)
    assert r.verdict == "PASS", (r.errors, [o.label for o in r.failures()])
    assert r.n_effective >= 20
    assert r.control_failed is True and not r.control_errors
    if name == "bandit-etc-regret":  # the exact regret is tight: half the bound is violated
        assert r.mutation.get("bound") is True
        assert r.tight_ratio is not None and r.tight_ratio > 0.5


@pytest.mark.slow
def test_lai_robbins_check_not_default_but_passes_small():
    from mdpkit.theory._core import get

    th = get("bandit-ts-lai-robbins")
    assert th.default is False
    r = check(th, n_examples=6, seed=0, negative_control=True)
    assert r.passed and r.control_failed is True

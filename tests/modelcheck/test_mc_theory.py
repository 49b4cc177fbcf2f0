"""The model-checking theorem checks pass, their negative controls fail, and the bracket check
has power: with every half-width halved (the mutation control) it fails."""

from __future__ import annotations

import numpy as np

import mdpkit.theory._reachability as R
from mdpkit.theory._core import check


def test_interval_iteration_bracket_check():
    res = check("interval-iteration-bracket", n_examples=20, seed=0)
    assert res.verdict == "PASS" and res.ok
    assert res.control_failed is True  # naive VI stopped on a small change is not sound
    assert res.mutation.get("bound") is True  # halving the half-width breaks the claim
    assert res.tight_ratio is not None and res.tight_ratio > 0.99  # the two-speed instance attains it
    assert res.n_effective >= 20


def test_naive_vi_stops_far_from_the_value_on_a_leak():
    mdp = R._leak(1e-3)
    naive = R.naive_vi(mdp, [R.GOAL], 1e-6)
    assert abs(R.pmax_lp(mdp)[2] - 0.5) < 1e-9
    assert 0.5 - naive.v_upper[2] > 1e-4  # claimed bracket [x, x + eps] misses the value 1/2


def test_prob01_graph_sets_check():
    res = check("prob01-graph-sets", n_examples=20, seed=1)
    assert res.verdict == "PASS" and res.control_failed is True


def test_lp_oracle_agrees_with_enumeration():
    from hypothesis import given, settings

    @settings(max_examples=15, derandomize=True, deadline=None, database=None)
    @given(R.reach_mdps())
    def run(mdp):
        G = np.arange(mdp.S) == R.GOAL
        _, pmax = R.enumerate_extremes(mdp, G, np.zeros(mdp.S, bool))
        np.testing.assert_allclose(R.pmax_lp(mdp), pmax, atol=1e-7)

    run()

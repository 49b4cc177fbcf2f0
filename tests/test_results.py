"""The result family's records: SolveResult (lazy v_policy, repr, to_dict) and LearningResult."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mdpkit import LearningResult, SolveResult, generators
from mdpkit.results import learning_result
from mdpkit.solvers import modified_policy_iteration


def test_learning_result_pseudo_regret_by_hand():
    means = np.array([0.2, 0.5, 0.9])
    actions = np.array([[0, 2, 1, 2], [2, 2, 2, 0]])
    rewards = np.array([[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
    res = learning_result(actions=actions, rewards=rewards, means=means, seeds=[10, 11], method="ucb1",
                          options={"T": 4}, wall_time=0.0)
    # gaps 0.7, 0.4, 0: cumulative by hand
    np.testing.assert_allclose(res.pseudo_regret, [[0.7, 0.7, 1.1, 1.1], [0.0, 0.0, 0.0, 0.7]], rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.expected_regret, [0.35, 0.35, 0.55, 0.9], rtol=0, atol=1e-15)
    assert not res.expected_regret_exact
    assert res.n_pulls.tolist() == [[1, 1, 2], [1, 0, 3]] and res.n_pulls.dtype == np.int64
    assert res.seeds.tolist() == [10, 11] and (res.n_runs, res.horizon) == (2, 4)
    for f in ("actions", "rewards", "pseudo_regret", "expected_regret", "n_pulls", "seeds"):
        assert not getattr(res, f).flags.writeable, f
    assert isinstance(res, LearningResult) and "pseudo_regret" in repr(res)


def test_learning_result_time_varying_means_and_exact_regret():
    means = np.array([[[0.1, 0.9], [0.8, 0.3]]])  # (n_runs=1, T=2, K=2): the best arm switches
    res = learning_result(actions=[[0, 0]], rewards=[[0.0, 1.0]], means=means, seeds=[3], method="exp3",
                          options={}, wall_time=0.0, expected_regret=[0.8, 0.8])
    np.testing.assert_allclose(res.pseudo_regret, [[0.8, 0.8]], rtol=0, atol=1e-15)
    assert res.expected_regret_exact and res.expected_regret.tolist() == [0.8, 0.8]


@pytest.mark.parametrize("kw, match", [
    ({"actions": [[0, 3]]}, "actions must lie in"),
    ({"seeds": [1, 2]}, "seeds must have shape"),
    ({"rewards": [[0.0]]}, "actions and rewards"),
    ({"means": np.zeros((2, 2, 2))}, "means must have shape"),
    ({"expected_regret": [0.0]}, "expected_regret must have shape"),
])
def test_learning_result_rejects_bad_shapes(kw, match):
    base = dict(actions=[[0, 1]], rewards=[[0.0, 1.0]], means=[0.5, 0.6], seeds=[0], method="m", options={},
                wall_time=0.0)
    with pytest.raises(ValueError, match=match):
        learning_result(**{**base, **kw})


def test_solve_result_lazy_field_survives_replace_and_shows_in_repr():
    mdp = generators.garnet(20, 3, 4, gamma=0.9, rng=0)
    res = modified_policy_iteration(mdp)
    assert "computed on first access" in repr(res)
    assert "v_policy" in res.to_dict() and res.to_dict()["v_policy"] is None
    other = dataclasses.replace(res, options={"x": 1})
    vp = other.v_policy
    assert vp is not None and res._v_policy is None  # replace copies the recipe, not the cache
    assert isinstance(res, SolveResult) and res.error_bound == res.certificate.value
    assert res.certificate.citation in res.bound_source
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.v = None

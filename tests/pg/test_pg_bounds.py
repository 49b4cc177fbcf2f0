"""Closed forms of mdpkit.bounds.pg, recomputed by hand, and their refusals."""

import math

import pytest

from mdpkit import bounds


def test_npg_bound_closed_form():
    b = bounds.npg_bound(0.9, 0.5, 10, kl0=math.log(4), reward_span=2.0)
    assert b.value == pytest.approx(math.log(4) / 5 + 2.0 / (0.01 * 10))
    assert "Thm 16" in b.citation and "not checked" in b.citation


def test_softmax_pg_bound_and_mei_step():
    assert bounds.mei_softmax_step(0.5, 2.0) == pytest.approx(0.125 / 16)
    b = bounds.softmax_pg_bound(0.5, 4, n_states=3, c=0.5, mismatch=2.0, inv_mu=3.0, reward_span=1.0)
    assert b.value == pytest.approx(16 * 3 * 4 * 3 / (0.25 * 0.5 ** 6 * 4))


def test_entropy_npg_bound_and_its_range():
    b = bounds.entropy_npg_bound(0.8, 0.1, 1.0, 3, c1=2.0)
    assert b.value == pytest.approx(2.0 * 0.8 * 0.9 ** 3)
    with pytest.raises(ValueError, match="does not apply"):
        bounds.entropy_npg_bound(0.8, 0.3, 1.0, 3, c1=2.0)  # eta tau = 0.3 > 1 - gamma


def test_pmd_trpo_cpi_gradient_domination_closed_forms():
    assert bounds.pmd_geometric_bound(0.5, 3, gap0=1.0, d0=0.5, eta0=2.0).value == pytest.approx(0.125 * (1 + 0.5 / (0.5 * 2)))
    assert bounds.trpo_improvement_bound(0.5, 1.0, max_abs_advantage=2.0, max_tv=0.1).value == pytest.approx(1 - 4 * 2 * 0.5 * 0.01 / 0.25)
    assert bounds.cpi_improvement_bound(0.5, 0.2, policy_advantage=1.0, eps=1.0).value == pytest.approx(
        0.2 / 0.5 * (1 - 2 * 0.2 * 0.5 / (1 - 0.5 * 0.8)))
    assert bounds.gradient_domination_bound(3.0, 0.2).value == pytest.approx(0.6)
    assert bounds.gradient_domination_bound(3.0, 0.2, gamma=0.5).value == pytest.approx(1.2)
    with pytest.raises(ValueError, match="gamma"):
        bounds.npg_bound(1.0, 1.0, 1, kl0=0.0)
    with pytest.raises(ValueError, match="alpha"):
        bounds.cpi_improvement_bound(0.5, 1.5, policy_advantage=1.0, eps=1.0)

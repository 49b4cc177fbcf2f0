"""The ``stock-cvar-exact`` theorem check: stock augmentation finds the optimal static CVaR over
history-dependent policies, and the risk-level decomposition (its negative control) does not.

Expected values: the exact enumeration in ``mdpkit.theory._risk`` (Fractions, no solver calls), and
the closed forms of the ``cvar_counterexample`` (optimum 25 at alpha = 1/2; decomposition
min_beta [max(20 beta, 100 (beta - 1/2)^+) + 50 (1 - beta)] = 125/4, Hau et al. 2023, Sec. 3).
"""

from fractions import Fraction as F

import numpy as np
import pytest

from mdpkit import InvalidArgumentError, TabularMDP, theory
from mdpkit.generators import make
from mdpkit.theory._risk import achievable_laws, cvar_exact, exact_from_mdp


def test_stock_cvar_exact_holds_and_decomposition_fails__bauerle_ott_2011():
    """max_pi CVaR_alpha(G^pi) over history-dependent policies = the stock-augmented RU optimum."""
    res = theory.check("stock-cvar-exact", n_examples=15, seed=2)
    assert not res.errors, res.errors
    assert res.passed, [(o.label, o.info) for o in res.failures()[:3]]
    assert res.n_effective >= 15 and res.verdict == "PASS" and res.ok
    assert res.control_failed is True
    # the decomposition's failures are over-estimates, never under-estimates beyond round-off
    bad = [o for o in res.control_observations if not o.passed]
    assert bad and all(o.info["max_excess"] > 1e-6 and o.info["min_excess"] > -1e-9 for o in bad)


def test_counterexample_overestimate_is_the_closed_form__hau_et_al_2023():
    mdp = make("cvar_counterexample")
    ok = theory.check("stock-cvar-exact", instances=[(mdp, 0)], negative_control=False)
    assert ok.passed and ok.observations[0].info["H"] == 2 and ok.observations[0].info["state"] == 0
    th = theory.get("stock-cvar-exact")
    bad = theory.check("stock-cvar-exact", instances=[(mdp, 0)], solver=th.negative, negative_control=False)
    o = bad.observations[0]
    assert not bad.passed
    # at alpha = 1/2: decomposition 125/4, optimum 25 (closed forms above)
    i = list(o.x).index(0.5)
    assert o.observed[i] == pytest.approx(float(F(125, 4) - 25), abs=1e-9)
    assert o.info["max_excess"] == pytest.approx(6.25, abs=1e-9)


def test_a_wrong_subject_is_caught():
    """The risk-neutral optimum (optimize_mean) in place of the CVaR optimum fails the check."""
    from mdpkit.solvers.risk import optimize_mean

    def mean_value(mdp, alpha, horizon, *, state):
        return optimize_mean(mdp, horizon, state=state).value

    res = theory.check("stock-cvar-exact", solver=mean_value, n_examples=10, seed=2, negative_control=False)
    assert not res.passed and res.verdict == "FAIL"


def test_oracle_cvar_on_a_known_law():
    law = {F(0): F(1, 4), F(50): F(1, 2), F(100): F(1, 4)}
    assert cvar_exact(law, F(1, 2)) == 25
    assert cvar_exact(law, F(1, 10)) == 0
    assert cvar_exact(law, 1) == 50
    assert cvar_exact(law, 0) == 0
    laws = achievable_laws(exact_from_mdp(make("cvar_counterexample")), 2, 0)
    assert sorted(cvar_exact(x, F(1, 2)) for x in laws) == [20, 25]


def test_oracle_refuses_a_model_it_cannot_represent_exactly():
    p = 1.0 / np.pi
    mdp = TabularMDP(np.array([[[p, 1.0 - p]], [[0.0, 1.0]]]), np.zeros((2, 1)), 1.0)
    with pytest.raises(InvalidArgumentError, match=r"P\[0, 0, 0\]"):
        exact_from_mdp(mdp)


def test_cli_verify_stock_cvar_exact(capsys):
    from mdpkit import cli

    assert cli.main(["verify", "stock-cvar-exact", "--examples", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "stock-cvar-exact" in out and "1/1 checks passed" in out

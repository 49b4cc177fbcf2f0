"""Certified brackets for discounted risk objectives (solvers/risk_bracket.py).

Oracle: exact enumeration of the return law of **every** deterministic history-dependent policy in
rational arithmetic (``achievable_laws``; randomisation cannot beat the best deterministic policy for
these objectives: each is, for a fixed outer level, an expectation), on tiny integer-reward models.
"""

from fractions import Fraction as F
import math

import numpy as np
import pytest

from mdpkit import TabularMDP, generators
from mdpkit._exceptions import InvalidArgumentError
from mdpkit.solvers import policy_iteration
from mdpkit.solvers.risk import solve_objective
from mdpkit.solvers.risk_bracket import bracket_horizon, optimize_discounted_risk

from risk_bruteforce_helpers import achievable_laws, cvar_exact, erm_float, mean_exact, prob_ge, random_model, var_exact

GAMMAS = (F(1, 2), F(3, 4))


def _model(seed, S, gamma):
    mdp, exact = random_model(np.random.default_rng(seed), S, 2, rewards=(-1, 0, 1, 2, 3), gamma=float(gamma))
    return mdp, exact


def _objectives():
    return [("cvar", (0.1,), lambda l: cvar_exact(l, F(1, 10))),
            ("cvar", (0.3,), lambda l: cvar_exact(l, F(3, 10))),
            ("var", (0.3,), lambda l: var_exact(l, F(3, 10))),
            ("var", (0.5,), lambda l: var_exact(l, F(1, 2))),
            ("threshold", (1.0,), lambda l: prob_ge(l, 1)),
            ("threshold", (2.5,), lambda l: prob_ge(l, F(5, 2))),
            ("utility", ("exp", 0.5), lambda l: sum(-math.exp(-0.5 * float(x)) * float(p) for x, p in l.items())),
            ("mean", (), mean_exact),
            ("erm", (0.7,), lambda l: erm_float(l, 0.7))]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("gamma", GAMMAS)
def test_finite_horizon_bracket_contains_the_exact_optimum(seed, gamma):
    S = 2 + seed % 2
    H = 3 if S == 2 else 2
    mdp, exact = _model(seed, S, gamma)
    laws = achievable_laws(exact, H, 0, gamma=gamma)
    assert len(laws) >= 2
    for kind, par, rho in _objectives():
        best = max(float(rho(law)) for law in laws)
        res = optimize_discounted_risk(mdp, kind, par, horizon=H, state=0, n_stocks=257)
        lo, hi = float(res.v_lower), float(res.v_upper)
        slack = 1e-12 * max(1.0, abs(best)) if kind in ("utility", "erm") else 0.0  # float oracle
        assert lo - slack <= best <= hi + slack, (kind, par, lo, best, hi)
        assert abs(float(res.v) - best) <= res.v_error_bound + slack
        assert res.certificate.value == pytest.approx(hi - lo)


def test_bracket_is_tight_on_a_lattice_and_shrinks_with_the_grid():
    """Nested grids (n - 1 doubling) give nested intervals, and the width falls about linearly in delta."""
    m = generators.make("gridworld")
    widths, los, his = [], [], []
    for n in (257, 513, 1025, 2049):
        r = optimize_discounted_risk(m, "cvar", (0.25,), horizon=20, state=0, n_stocks=n)
        los.append(float(r.v_lower))
        his.append(float(r.v_upper))
        widths.append(his[-1] - los[-1])
    assert all(a <= b + 1e-12 for a, b in zip(los, los[1:])), los
    assert all(a >= b - 1e-12 for a, b in zip(his, his[1:])), his
    assert widths[-1] < widths[0] / 4  # 8x finer grid: at least 4x narrower
    assert widths[-1] > 0


@pytest.mark.parametrize("seed", range(4))
def test_truncated_bracket_is_consistent_with_an_exact_longer_horizon(seed):
    """Both [best_H' + L', best_H' + U'] and the truncated bracket contain the infinite-horizon optimum."""
    gamma = F(1, 2)
    mdp, exact = _model(100 + seed, 2, gamma)
    Hx = 4
    laws = achievable_laws(exact, Hx, 0, gamma=gamma)
    r = mdp.R_sas_dense()[mdp.P_dense() > 0]
    tail = float(gamma) ** Hx / (1 - float(gamma))
    for kind, par, rho in _objectives():
        if kind in ("threshold", "utility"):  # not translation-equivariant: the tails enter inside
            continue
        best = max(float(rho(law)) for law in laws)
        lo_x, hi_x = best + tail * r.min() - 1e-12, best + tail * r.max() + 1e-12
        res = optimize_discounted_risk(mdp, kind, par, state=0, tol=1e-3, n_stocks=2049)
        assert res.horizon == bracket_horizon(mdp, 1e-3)[0]
        assert float(res.v_lower) <= hi_x and lo_x <= float(res.v_upper), (kind, par, res.message, lo_x, hi_x)


def _policy_law(mdp, exact, res, H, gamma):
    """Exact law of G_H under the returned stock policy, tracking the rounded-down stock index
    independently (floor of gamma^t r / delta in rational arithmetic)."""
    delta = F(float(res.grid_spacing))
    y = res.stocks
    k = int(np.argmin(np.abs(y - res.initial_stock)))
    assert y[k] == res.initial_stock
    law: dict = {}

    def walk(t, s, k, g, p):
        if t == H:
            law[g] = law.get(g, F(0)) + p
            return
        a = int(res.policy[t, s, min(max(k, 0), len(y) - 1)])
        for s2, q, rew in exact[(s, a)]:
            x = gamma**t * rew
            walk(t + 1, s2, k + math.floor(x / delta), g + x, p * q)

    walk(0, 0, k, F(0), F(1))
    return law


@pytest.mark.parametrize("seed", range(4))
def test_returned_policy_attains_the_lower_bound(seed):
    gamma = F(1, 2)
    mdp, exact = _model(200 + seed, 2, gamma)
    H = 3
    for alpha in (F(1, 10), F(1, 3)):
        res = optimize_discounted_risk(mdp, "cvar", (float(alpha),), horizon=H, state=0, n_stocks=129)
        got = cvar_exact(_policy_law(mdp, exact, res, H, gamma), alpha)
        assert float(got) >= float(res.v_lower) - 1e-12


def test_zoo_models_that_used_to_fail_give_finite_certified_intervals():
    """The issue's reproducers: riverswim cvar:0.1 and gridworld cvar:0.25 (gamma < 1, no horizon)."""
    for name, spec, a in (("riverswim", "cvar:0.1", 0.1), ("gridworld", "cvar:0.25", 0.25)):
        m = generators.make(name)
        res = solve_objective(m, spec, state=0)
        lo, hi = float(res.v_lower), float(res.v_upper)
        assert np.isfinite(lo) and np.isfinite(hi) and lo <= hi
        mean = solve_objective(m, "mean", state=0)
        v_star = float(policy_iteration(m).v[0])  # an independent solver for the mean
        assert float(mean.v_lower) <= v_star <= float(mean.v_upper)
        assert lo <= v_star  # CVaR <= mean
        assert hi - lo < 0.1 * abs(hi)


def test_bad_input_is_refused():
    m = generators.make("gridworld")
    with pytest.raises(InvalidArgumentError, match="gamma"):
        optimize_discounted_risk(m.with_gamma(1.0), "cvar", (0.1,), horizon=3)
    with pytest.raises(InvalidArgumentError, match="alpha"):
        optimize_discounted_risk(m, "cvar", (1.5,))
    with pytest.raises(InvalidArgumentError, match="tol"):
        optimize_discounted_risk(m, "cvar", (0.1,), tol=float("nan"))
    with pytest.raises(InvalidArgumentError, match="negative rewards"):
        optimize_discounted_risk(m, "utility", ("power", 0.5))
    with pytest.raises(InvalidArgumentError, match="no discounted bracket"):
        optimize_discounted_risk(m, "band", (0.0, 1.0))
    P = np.array([[[1.0]]])
    with pytest.raises(InvalidArgumentError, match="n_stocks"):
        optimize_discounted_risk(TabularMDP(P, np.ones((1, 1)), 0.5), "cvar", (0.1,), n_stocks=2)


def test_cli_prints_the_certified_interval(capsys):
    from mdpkit.cli import main

    assert main(["solve", "gridworld", "--objective", "cvar:0.25", "--state", "0"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("interval"))
    lo, hi = (float(v) for v in line.split("[")[1].split("]")[0].split(","))
    res = solve_objective(generators.make("gridworld"), "cvar:0.25", state=0)
    assert lo == pytest.approx(float(res.v_lower), rel=1e-9) and hi == pytest.approx(float(res.v_upper), rel=1e-9)
    assert "truncated at H=" in out and "stocks" in out and "nan" not in out


def test_theorem_check_passes_and_its_controls_fail():
    import mdpkit.theory._risk_bracket  # noqa: F401  (registers the check)
    from mdpkit import theory

    r = theory.check("risk-bracket-contains-optimum", n_examples=20)
    d = r.to_dict()
    assert r.verdict == "PASS" and d["n_effective"] >= 20
    assert r.control_failed is True  # nearest rounding misses the optimum somewhere
    assert d["mutation"]["bound"] is True  # a half-width bracket is too narrow on some instance

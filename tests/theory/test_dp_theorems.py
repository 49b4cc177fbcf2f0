"""Every registered theorem holds on hypothesis instances (steered toward tight ones) and zoo models,
and its negative control fails (so no check is vacuous).

Expected values here are the theorems' inequalities themselves, evaluated against references
computed by independent routes (enumeration of all deterministic policies, stationary
distributions); see mdpkit/theory/_instances.py.
"""

import numpy as np
import pytest

from mdpkit import TabularMDP, theory
from mdpkit.theory import Observation, Theorem

NAMES = [t.name for t in theory.list_theorems()]


@pytest.fixture(scope="module")
def results():
    return {}


@pytest.mark.parametrize("name", NAMES)
def test_theorem_holds_and_control_fails(name):
    res = theory.check(name, n_examples=8, seed=1)
    assert not res.errors, res.errors
    assert not res.control_errors, res.control_errors
    bad = [(o.label, o.ratio, o.info) for o in res.failures()]
    assert res.passed, f"{name} violated on {bad[:3]}"
    assert res.worst_ratio <= 1.0
    assert res.control_failed is True, f"{name}: negative control passed (worst ratio {res.control_worst_ratio})"
    assert res.verdict == "PASS" and res.ok
    assert res.n_effective >= 8  # distinct non-degenerate instances


def _single_state(gamma, r=1.0):
    return TabularMDP(np.ones((1, 1, 1)), np.array([[r]]), gamma)


@pytest.mark.parametrize("name", ["vi-contraction", "vi-a-posteriori", "approximate-vi"])
def test_geometric_bounds_are_attained_on_one_state__puterman_6_3_1(name):
    """One state, one action: v_k - v* = gamma^k (v_0 - v*) exactly, so the bound is tight (ratio 1)."""
    res = theory.check(name, instances=[(_single_state(0.9), 3)], negative_control=False)
    assert res.passed and res.worst_ratio == pytest.approx(1.0, abs=1e-6)


def test_rate_claim_is_checked():
    """The fitted rate of the VI error equals gamma on one state and exceeds it for the wrong operator."""
    m = _single_state(0.8, r=2.0)
    ok = theory.check("vi-contraction", instances=[m], negative_control=False)
    assert ok.fitted_rate == pytest.approx(0.8, rel=1e-9)
    th = theory.get("vi-contraction")
    bad = theory.check("vi-contraction", instances=[m], solver=th.negative, negative_control=False)
    assert not bad.passed and bad.fitted_rate > 0.8


def test_user_solver_is_checked_and_a_buggy_one_fails():
    """A researcher's own value iteration (plain numpy) plugged into the stopping-rule check."""

    def my_vi(mdp, *, epsilon, v0=None):
        P, R, g = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, -np.inf), mdp.gamma
        v = np.zeros(mdp.S) if v0 is None else np.asarray(v0, float)
        tol = np.inf if g == 0 else epsilon * (1 - g) / (2 * g)
        while True:
            q = R + g * P @ v
            v_new = q.max(axis=1)
            done = np.abs(v_new - v).max() < tol
            v = v_new
            if done:
                return type("R", (), {"policy": (R + g * P @ v).argmax(axis=1), "v": v, "n_iter": 0})

    def my_buggy_vi(mdp, *, epsilon, v0=None):  # one sweep and stop
        P, R, g = mdp.P_dense(), np.where(mdp.action_mask, mdp.R, -np.inf), mdp.gamma
        v = (R + g * P @ np.zeros(mdp.S)).max(axis=1)
        return type("R", (), {"policy": (R + g * P @ v).argmax(axis=1), "v": v, "n_iter": 1})

    good = theory.check("vi-stopping-rule", solver=my_vi, n_examples=8, seed=3)
    assert good.passed, [o.label for o in good.failures()]
    bad = theory.check("vi-stopping-rule", solver=my_buggy_vi, n_examples=8, seed=3)
    assert not bad.passed and bad.verdict == "FAIL"


def test_check_on_a_users_model():
    from mdpkit import generators

    res = theory.check("macqueen-bounds", mdp=generators.make("riverswim:gamma=0.95"), seed=0)
    assert res.n_instances == 1 and res.passed and res.control_failed


def test_same_seed_same_report():
    a = theory.check("greedy-loss-v", n_examples=6, seed=7, zoo=False, negative_control=False)
    b = theory.check("greedy-loss-v", n_examples=6, seed=7, zoo=False, negative_control=False)
    assert [o.ratio for o in a.observations] == [o.ratio for o in b.observations]


def test_unknown_theorem_is_a_clear_error():
    from mdpkit import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="unknown theorem 'nope'"):
        theory.check("nope")


def _fake(name, holds: bool, control_holds: bool):
    def subject(mdp):
        return 0.5 if holds else 2.0

    def negative(mdp):
        return 0.5 if control_holds else 2.0

    def run(mdp, rng, f):
        return Observation(np.array([f(mdp)]), np.array([1.0]))

    from mdpkit.theory._instances import discounted_mdps

    return Theorem(name=name, statement="x <= 1", source="test", compare="bound", subject=subject,
                   subject_doc="f(mdp)", run=run, family=discounted_mdps, negative=negative,
                   negative_doc="x = 2", plot="ratio")


def test_verdicts_fail_and_vacuous():
    assert theory.check(_fake("t-fail", False, False), n_examples=3).verdict == "FAIL"
    vac = theory.check(_fake("t-vac", True, True), n_examples=3)
    assert vac.passed and vac.control_failed is False and vac.verdict == "VACUOUS" and not vac.ok
    assert theory.check(_fake("t-ok", True, False), n_examples=3).verdict == "PASS"


def test_verify_writes_json_and_pngs(tmp_path):
    import json

    rep = theory.verify(["vi-contraction", "greedy-loss-q"], n_examples=4, seed=0, out=str(tmp_path))
    assert rep.ok
    d = json.loads((tmp_path / "report.json").read_text())
    assert d["ok"] is True and [c["theorem"] for c in d["checks"]] == ["vi-contraction", "greedy-loss-q"]
    assert all(c["verdict"] == "PASS" and c["control_failed"] is True for c in d["checks"])
    for n in ("vi-contraction", "greedy-loss-q"):
        png = (tmp_path / f"{n}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    table = rep.table()
    assert "vi-contraction" in table and "PASS" in table and "fails" in table


def test_cli_verify_exit_status(tmp_path, monkeypatch, capsys):
    from mdpkit import cli
    from mdpkit.theory import REGISTRY

    assert cli.main(["verify", "pi-monotone", "--examples", "3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "pi-monotone" in out and "1/1 checks passed" in out
    monkeypatch.setitem(REGISTRY, "t-fail", _fake("t-fail", False, False))
    assert cli.main(["verify", "t-fail", "--examples", "2", "--quiet"]) == 1
    assert "violated" in capsys.readouterr().err
    monkeypatch.setitem(REGISTRY, "t-vac", _fake("t-vac", True, True))
    assert cli.main(["verify", "t-vac", "--examples", "2", "--quiet"]) == 1
    assert cli.main(["verify", "no-such-theorem", "--quiet"]) == 2
    assert "unknown theorem" in capsys.readouterr().err


def test_cli_verify_on_a_zoo_model(capsys):
    from mdpkit import cli

    assert cli.main(["verify", "vi-stopping-rule", "pi-contraction", "--model", "gridworld_5x5", "--quiet"]) == 0
    assert "2/2 checks passed" in capsys.readouterr().out

"""``mdpkit solve MODEL --objective ...`` (risk objectives); the robust option keeps working."""

import json

import numpy as np
import pytest

from mdpkit.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cvar_counterexample_prints_value_stock_and_policy(capsys):
    code, out, _ = run(capsys, "solve", "cvar_counterexample", "--objective", "cvar:0.5", "--horizon", "2")
    assert code == 0
    assert "value      25  (exact)" in out  # brute force: tests/risk/test_cvar_counterexample.py
    assert "initial stock c0 = -50" in out
    assert "exact return law = 25" in out


@pytest.mark.parametrize("obj", ["mean", "var:0.3", "evar:0.3", "erm:0.5", "threshold:8", "band:2:9",
                                 "utility:exp:0.3"])
def test_other_objectives_run(capsys, obj):
    code, out, _ = run(capsys, "solve", "risky_investment", "--objective", obj, "--horizon", "4")
    assert code == 0 and "value" in out and "policy at t = 0" in out


def test_mean_objective_equals_backward_induction(capsys):
    from mdpkit.generators import make
    from mdpkit.solvers import backward_induction

    code, out, _ = run(capsys, "solve", "risky_investment", "--objective", "mean", "--horizon", "4", "--state", "0")
    v = backward_induction(make("risky_investment"), 4).v[0][0]
    assert code == 0 and f"value      {v:.10g}" in out


def test_writes_json(capsys, tmp_path):
    f = tmp_path / "r.json"
    code, _, _ = run(capsys, "solve", "cvar_counterexample", "--objective", "cvar:0.5", "--horizon", "2", "--out", str(f))
    d = json.loads(f.read_text())
    assert code == 0 and d["value"] == 25.0 and d["initial_stock"] == -50.0
    assert np.asarray(d["policy"]).shape == (2, 5, len(d["stocks"]))


@pytest.mark.parametrize("argv,msg", [
    (["--objective", "cvar:2", "--horizon", "2"], "alpha"),
    (["--objective", "nope", "--horizon", "2"], "unknown objective"),
    (["--objective", "cvar:0.5"], "horizon"),
    (["--objective", "cvar:0.5", "--horizon", "2", "--robust", "l1:0.1"], "cannot be combined"),
])
def test_bad_input_exits_2(capsys, argv, msg):
    code, _, err = run(capsys, "solve", "cvar_counterexample", *argv)
    assert code == 2 and msg in err


def test_robust_option_still_works(capsys):
    code, out, _ = run(capsys, "solve", "puterman_two_state", "--robust", "l1:0.1")
    assert code == 0 and "robust" in out

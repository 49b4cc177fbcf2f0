"""``mdpkit solve MODEL --robust SET``: the robust solvers from the command line."""

import json

import numpy as np
import pytest

from mdpkit import cli, generators
from mdpkit.solvers import policy_iteration


def _run(tmp_path, *args):
    out = tmp_path / "r.json"
    assert cli.main(["solve", *args, "--out", str(out)]) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("method", ["vi", "pi", "mpi", "ppi"])
def test_radius_zero_is_the_nominal_optimum(tmp_path, method):
    """With radius 0 the uncertainty set is {P}: the robust value is the nominal v* (policy iteration)."""
    vstar = policy_iteration(generators.make("machine_replacement")).v_policy
    d = _run(tmp_path, "machine_replacement", "--robust", "l1:0", "--method", method, "--epsilon", "1e-9")
    np.testing.assert_allclose(d["v"], vstar, rtol=0, atol=1e-7)  # v: the robust optimal value
    assert np.all(np.abs(np.asarray(d["v"]) - vstar) <= float(d["v_error_bound"]) + 1e-9)


def test_robust_value_is_below_nominal_and_certified(tmp_path, capsys):
    vstar = policy_iteration(generators.make("machine_replacement")).v_policy
    d = _run(tmp_path, "machine_replacement", "--robust", "l1:0.2")
    assert d["converged"] and float(d["certificate"]["value"]) <= 1e-6
    v_rob = np.asarray(d["v"])  # the robust optimal value, within d["v_error_bound"]
    assert np.all(v_rob <= vstar + 1e-9) and np.any(v_rob < vstar - 1e-3)
    assert "robust" in capsys.readouterr().out


def test_bad_robust_spec_exits_2(capsys):
    assert cli.main(["solve", "riverswim", "--robust", "foo:1"]) == 2
    assert "unknown uncertainty set kind 'foo'" in capsys.readouterr().err
    assert cli.main(["solve", "riverswim", "--robust", "l1:0.1", "--method", "lp"]) == 2
    assert "--robust works with --method" in capsys.readouterr().err

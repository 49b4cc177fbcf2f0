"""The subcommands and objectives added by other modules are reachable from ``mdpkit``."""

from pathlib import Path

from mdpkit.cli import main

DATA = Path(__file__).resolve().parent / "data" / "modelcheck"


def test_model_checking_objective_on_a_drn_file(capsys, tmp_path):
    sched = tmp_path / "s.json"
    assert main(["solve", str(DATA / "coin2-2.drn"), "--objective", "pmax:finished", "--scheduler", str(sched)]) == 0
    out = capsys.readouterr().out
    assert "pmax:finished" in out and "[1.0, 1.0]" in out  # the protocol finishes with probability 1
    assert sched.read_text().startswith("{")
    assert main(["solve", str(DATA / "coin2-2.drn"), "--objective", "pmax:nolabel"]) == 2
    assert "unknown label" in capsys.readouterr().err


def test_randomized_policies_are_summarised(capsys):
    assert main(["solve", "chain", "--method", "npg"]) == 0
    out = capsys.readouterr().out
    assert "randomized" in out and "p=" in out


def test_describe_and_bandit_subcommands(capsys, tmp_path):
    assert main(["describe", "chain"]) == 0
    assert "diameter" in capsys.readouterr().out
    assert main(["bandit", "ucb1", "bernoulli:0.9,0.8", "--horizon", "200", "--runs", "5", "--out", str(tmp_path)]) == 0
    assert "regret" in capsys.readouterr().out

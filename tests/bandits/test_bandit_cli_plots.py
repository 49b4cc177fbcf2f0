"""`mdpkit bandit` (the subcommand module), plot_regret and the Bernoulli example."""

import argparse
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from mdpkit import InvalidArgumentError
from mdpkit import _cli_bandit
from mdpkit.bandits import BernoulliBandit
from mdpkit.solvers.bandits import run_bandit

PNG = b"\x89PNG\r\n\x1a\n"


def _run(argv):
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    _cli_bandit.add_parser(sub)
    args = p.parse_args(["bandit", *argv])
    return args.func(args)


def test_cli_prints_regret_ci_bound_and_writes_plot(tmp_path, capsys):
    rc = _run(["ucb1", "bernoulli:0.9,0.6", "--horizon", "300", "--runs", "20", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    mean = run_bandit("ucb1", BernoulliBandit([0.9, 0.6]), 300, 20, seed=0).pseudo_regret[:, -1].mean()
    assert f"regret     {mean:.4g} +-" in out
    assert "Auer, Cesa-Bianchi & Fischer 2002, Thm 1" in out and "Lai-Robbins" in out
    assert (tmp_path / "regret.png").read_bytes()[:8] == PNG


def test_cli_refused_bound_and_exact_etc(capsys):
    assert _run(["ucb1[practical]", "gaussian:1,0", "--horizon", "50", "--runs", "3"]) == 0
    assert "bound      none:" in capsys.readouterr().out
    assert _run(["etc", "bernoulli:0.5,0.3", "--horizon", "60", "--runs", "3"]) == 0
    assert "exact      E[R_T] =" in capsys.readouterr().out


@pytest.mark.parametrize("argv, msg", [
    (["ucb9", "bernoulli:0.5,0.4", "--horizon", "10"], "unknown bandit algorithm"),
    (["ucb1", "bernoulli:0.5,1.4", "--horizon", "10"], "means"),
    (["ucb1", "bernoulli:0.5,0.4", "--horizon", "0"], "--horizon"),
    (["ucb1", "bernoulli:0.5,0.4", "--horizon", "10", "--runs", "0"], "--runs"),
])
def test_cli_bad_input_exit_2(argv, msg, capsys):
    assert _run(argv) == 2
    assert msg in capsys.readouterr().err


def test_plot_regret_scales_and_errors(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit.plotting import plot_regret

    inst = BernoulliBandit([0.8, 0.5])
    res = {"ucb1": run_bandit("ucb1", inst, 400, 30, seed=1), "etc": run_bandit("etc", inst, 400, 30, seed=1, m=10)}
    for scale in ("linear", "logx", "loglog"):
        fig = plot_regret(res, bounds={"b": lambda t: 10 * np.log(t + 1)}, lower={"lr": np.arange(400) * 0.0 + 1},
                          scale=scale, n_boot=50)
        fig.savefig(tmp_path / f"{scale}.png")
        plt.close(fig)
        assert (tmp_path / f"{scale}.png").read_bytes()[:8] == PNG
    with pytest.raises(InvalidArgumentError, match="scale"):
        plot_regret(res, scale="semilog")
    with pytest.raises(InvalidArgumentError, match="horizons"):
        plot_regret({"a": res["ucb1"], "b": run_bandit("ucb1", inst, 50, 2)})


def test_bands_cover_the_mean_and_simultaneous_is_wider():
    from mdpkit.plotting import _regret_bands

    P = np.cumsum(np.random.default_rng(0).random((200, 300)), axis=1)
    idx = np.arange(0, 300, 3)
    m, (lo, hi), (slo, shi) = _regret_bands(P, idx, 0.95, 300, 0)
    np.testing.assert_allclose(m, P[:, idx].mean(axis=0))
    assert np.all(lo <= m) and np.all(m <= hi)
    assert np.all(slo <= lo + 1e-12) and np.all(shi >= hi - 1e-12)  # sup-t band contains the pointwise one


def test_example_writes_png(tmp_path, monkeypatch):
    ex = Path(__file__).resolve().parents[2] / "examples" / "bandits" / "plot_bernoulli_regret.py"
    monkeypatch.setattr(sys, "argv", [str(ex), "--out", str(tmp_path), "--runs", "10", "--horizon", "300"])
    runpy.run_path(str(ex), run_name="__main__")
    assert (tmp_path / "bernoulli_regret.png").read_bytes()[:8] == PNG

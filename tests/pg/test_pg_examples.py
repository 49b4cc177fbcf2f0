"""The policy-optimization examples run (small) on the Agg backend and write their PNGs."""

import runpy
import sys
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[2] / "examples" / "pg"


@pytest.mark.parametrize("script, png", [("plot_pg_convergence.py", "pg_convergence.png"),
                                         ("plot_cmdp_last_iterate.py", "cmdp_last_iterate.png"),
                                         ("plot_game_exploitability.py", "game_exploitability.png"),
                                         ("plot_dynamic_vs_simultaneous_pg.py", "dynamic_vs_simultaneous_pg.png"),
                                         ("plot_bobw_regret.py", "bobw_regret.png")])
def test_pg_example_writes_png(tmp_path, monkeypatch, script, png):
    pytest.importorskip("matplotlib")
    if "dynamic" in script:
        extra = ["--hmax", "3", "--steps-per-epoch", "10"]
    elif "bobw" in script:
        extra = ["--episodes", "60"]
    else:
        extra = ["--iters", "4" if "game" in script else "60"]
    monkeypatch.setattr(sys, "argv", [script, "--out", str(tmp_path), *extra])
    runpy.run_path(str(EX / script), run_name="__main__")
    out = tmp_path / png
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

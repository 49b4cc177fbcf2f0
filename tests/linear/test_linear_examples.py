"""The linear-MDP example runs (small) and writes its PNG."""

import runpy
import sys
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[2] / "examples" / "linear"


def test_lsvi_ucb_regret_example_writes_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sys, "argv", ["plot_lsvi_ucb_regret.py", "--out", str(tmp_path), "--episodes", "40",
                                      "--runs", "1"])
    runpy.run_path(str(EX / "plot_lsvi_ucb_regret.py"), run_name="__main__")
    png = tmp_path / "lsvi_ucb_regret.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

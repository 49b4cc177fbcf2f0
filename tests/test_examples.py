"""Examples run (small) on the Agg backend and write their figures."""

import runpy
import sys
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[1] / "examples"


def test_vi_bounds_example_writes_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sys, "argv", ["plot_vi_bounds.py", "--out", str(tmp_path), "--iters", "20"])
    runpy.run_path(str(EX / "dp" / "plot_vi_bounds.py"), run_name="__main__")
    png = tmp_path / "vi_bounds.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

"""examples/risk/plot_cvar_tradeoff.py runs small on Agg and writes its two PNGs."""

import runpy
import sys
from pathlib import Path

EX = Path(__file__).resolve().parents[2] / "examples" / "risk" / "plot_cvar_tradeoff.py"


def test_cvar_tradeoff_example_writes_pngs(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["plot_cvar_tradeoff.py", "--out", str(tmp_path), "--horizon", "4",
                                      "--n-alpha", "4"])
    runpy.run_path(str(EX), run_name="__main__")
    for name in ("cvar_tradeoff.png", "stock_policy.png"):
        png = tmp_path / name
        assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

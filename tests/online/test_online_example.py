"""The RiverSwim regret example runs (small) on Agg and writes a PNG."""

import runpy
import sys
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[2] / "examples" / "online" / "plot_riverswim_regret.py"


def test_riverswim_regret_example_writes_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sys, "argv", ["plot_riverswim_regret.py", "--out", str(tmp_path), "--episodes", "60",
                                      "--runs", "2", "--horizon", "5"])
    runpy.run_path(str(EX), run_name="__main__")
    png = tmp_path / "riverswim_regret.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_online_benchmark_smoke(tmp_path):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "online.py"
    spec = importlib.util.spec_from_file_location("bench_online", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.main(["--episodes", "20", "--horizon", "4", "--rounds", "1", "--out", str(tmp_path / "online")])
    assert all(r["same_regret"] for r in res["rows"]) and len(res["rows"]) == 8
    assert (tmp_path / "online.md").read_text().startswith("# Online tabular RL")

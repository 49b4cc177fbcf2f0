"""The price-of-robustness example runs small and writes its PNG; its curves obey set monotonicity."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EX = Path(__file__).resolve().parents[2] / "examples" / "robust" / "plot_price_of_robustness.py"


def test_price_of_robustness_example_writes_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(sys, "argv", ["plot_price_of_robustness.py", "--out", str(tmp_path), "--n", "3"])
    runpy.run_path(str(EX), run_name="__main__")
    png = tmp_path / "price_of_robustness.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_price_of_robustness_curves():
    from mdpkit import generators
    from mdpkit.solvers import value_iteration

    ns = runpy.run_path(str(EX))
    mdp = generators.make("machine_replacement")
    v_star = mdp.mu0 @ value_iteration(mdp, epsilon=1e-10).v_policy
    rob, nom = ns["price_of_robustness"](mdp, "l1", np.array([0.0, 0.2, 0.5]))
    assert rob[0] == pytest.approx(v_star, abs=1e-6)
    assert np.all(np.diff(rob) <= 1e-9)  # larger set, lower guarantee
    assert np.all(nom <= v_star + 1e-9) and np.all(rob <= nom + 1e-9)

"""The fisheries harvest model and the GPDP example (issue 18: model uncertainty in practice)."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mdpkit._exceptions import InvalidArgumentError
from mdpkit.generators import allen_growth, fisheries, harvest_mdp
from mdpkit.policies import policy_evaluation

EX = Path(__file__).resolve().parents[2] / "examples" / "robust" / "plot_gpdp.py"


def test_harvest_mdp_bins_the_lognormal_law():
    """Row (i, j) is the law of f(S) exp(sigma Z) binned on the cells around the grid (closed form CDF)."""
    m = fisheries(31, sigma=0.1)
    grid = np.linspace(0, 15, 31)
    P = m.P_dense()
    for i, j in [(20, 0), (20, 5), (30, 10), (12, 3)]:
        S = grid[i] - grid[j]
        c = float(allen_growth(S))
        edges = np.concatenate([[-np.inf], grid[:-1] + 0.25, [np.inf]])
        F = stats.lognorm.cdf(edges, s=0.1, scale=c) if c > 0 else (edges >= 0).astype(float)
        np.testing.assert_allclose(P[i, j], np.diff(F), atol=1e-14)
        assert m.R[i, j] == grid[j]
    assert not m.action_mask[3, 4] and m.action_mask[4, 4]
    np.testing.assert_array_equal(P[0, 0], np.eye(31)[0])  # extinction is absorbing


def test_harvest_mdp_refuses_bad_input():
    g = np.linspace(0, 10, 11)
    with pytest.raises(InvalidArgumentError, match="uniform"):
        harvest_mdp(lambda S: S, 0.1, np.array([0.0, 1.0, 3.0]))
    with pytest.raises(InvalidArgumentError, match="start at 0"):
        harvest_mdp(lambda S: S, 0.1, g + 1)
    with pytest.raises(InvalidArgumentError, match="center"):
        harvest_mdp(lambda S: S - 5.0, 0.1, g)
    with pytest.raises(InvalidArgumentError, match="spread"):
        harvest_mdp(lambda S: S, 0.0, g)
    with pytest.raises(InvalidArgumentError, match="noise"):
        harvest_mdp(lambda S: S, 0.1, g, noise="cauchy")


def test_gpdp_example_runs_and_every_policy_is_evaluated_on_the_true_model(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.setattr(sys, "argv", ["plot_gpdp.py", "--out", str(tmp_path), "--n-states", "41", "--seed", "4"])
    ns = runpy.run_path(str(EX), run_name="not_main")
    out = ns["main"](["--out", str(tmp_path), "--n-states", "41", "--seed", "4"])
    for name in ("gpdp_models.png", "gpdp_policies.png", "gpdp_values.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "gpdp_summary.json").read_text())
    assert set(summary["value_on_true_model_from_x0"]) == {"true", "parametric", "GP", "robust GP"}
    true = fisheries(41)
    v_star = out["true_v"]
    for name, pol in out["policies"].items():
        v = policy_evaluation(true, pol)  # an independent evaluation of the example's numbers
        np.testing.assert_allclose(out["values"][name], v, rtol=1e-12, atol=1e-12)
        assert np.all(v <= v_star + out["true_v_error"] + 1e-9), name  # no policy beats the optimum
    # the misspecified parametric model harvests below the tipping point: it loses value at a low stock
    x0 = int(np.searchsorted(np.linspace(0, 15, 41), 6.0))
    assert out["values"]["parametric"][x0] < 0.5 * v_star[x0]

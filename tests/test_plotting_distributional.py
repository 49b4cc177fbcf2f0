"""Distributional plots (Agg backend): what is drawn equals independently computed quantities."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mdpkit import InvalidArgumentError, TabularMDP  # noqa: E402
from mdpkit import distributions as D  # noqa: E402
from mdpkit.plotting import plot_cvar_vs_alpha, plot_return_cdf, plot_stock_policy  # noqa: E402

EX = Path(__file__).resolve().parents[1] / "examples"


def _two_point():
    # law 0 w.p. 0.3, 10 w.p. 0.7 and a point mass at 4
    return D.FiniteReturns((np.array([0.0, 10.0]), np.array([4.0])), (np.array([0.3, 0.7]), np.array([1.0])))


def test_return_cdf_steps_and_dkw_band_cover_the_true_cdf():
    """The drawn step CDF is (0, 0.3, 1) at (0, 0, 10); the DKW band of 4000 seeded samples of the
    same law contains the true CDF on the plotted grid (a 99% band: failure probability 1%)."""
    eta = _two_point()
    # a model whose return from state 0 is exactly that law (gamma = 0 rewards 0 / 10)
    P = np.zeros((3, 1, 3))
    P[0, 0, 1], P[0, 0, 2] = 0.3, 0.7
    P[1, 0, 1] = P[2, 0, 2] = 1.0
    R_sas = np.zeros((3, 1, 3))
    R_sas[0, 0, 2] = 10.0
    mdp = TabularMDP(P, None, 0.0, R_sas=R_sas)
    mc = D.sample_returns(mdp, [0, 0, 0], 0, 4000, rng=7)
    ax = plot_return_cdf(eta, states=[0], mc=mc, delta=0.01)
    step = ax.lines[0]
    np.testing.assert_allclose(step.get_xdata(), [0.0, 0.0, 10.0])
    np.testing.assert_allclose(step.get_ydata(), [0.0, 0.3, 1.0])
    assert len(ax.collections) == 1  # the band
    grid = np.linspace(-1, 11, 500)
    lo, hi = mc.cdf_band(grid, 0.01)
    true = np.where(grid < 0, 0.0, np.where(grid < 10, 0.3, 1.0))
    assert np.all(lo <= true + 1e-12) and np.all(true <= hi + 1e-12)
    assert isinstance(ax, matplotlib.axes.Axes)
    plt.close(ax.figure)


def test_quantile_kind_draws_the_generalised_inverse():
    ax = plot_return_cdf(_two_point(), states=[0, 1], kind="quantile")
    t = ax.lines[0].get_xdata()
    q = ax.lines[0].get_ydata()
    np.testing.assert_array_equal(q, np.where(t <= 0.3, 0.0, 10.0))
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), np.full(t.shape, 4.0))
    plt.close(ax.figure)


def test_cvar_curve_matches_closed_form():
    """Law 0 w.p. 0.3, 10 w.p. 0.7: CVaR_a = 0 for a <= 0.3, else 10 (a - 0.3)/a; point mass 4: 4."""
    a = np.linspace(0.0, 1.0, 41)
    ax = plot_cvar_vs_alpha({"risky": (np.array([0.0, 10.0]), np.array([0.3, 0.7])), "safe": _two_point()},
                            state=1, alphas=a)
    risky = ax.lines[0].get_ydata()
    expect = np.where(a <= 0.3, 0.0, 10.0 * (a - 0.3) / np.where(a > 0, a, 1.0))
    np.testing.assert_allclose(risky, expect, atol=1e-12)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [7.0])  # the mean marker at alpha = 1
    np.testing.assert_allclose(ax.lines[2].get_ydata(), np.full(a.shape, 4.0))
    plt.close(ax.figure)


def test_stock_policy_heat_map_and_legend():
    g = np.array([[0, 0, 2], [1, 2, 2]])
    fig, ax0 = plt.subplots()
    ax = plot_stock_policy(g, np.array([0.0, 0.5, 1.0]), ax=ax0, state_labels=["low", "high"],
                           action_labels=["wait", "buy", "sell"])
    assert ax is ax0
    im = ax.images[0]
    np.testing.assert_array_equal(np.asarray(im.get_array()), g)
    rgba = im.to_rgba(np.asarray(im.get_array(), float), norm=True)
    assert np.allclose(rgba[0, 0], rgba[0, 1]) and not np.allclose(rgba[0, 0], rgba[1, 0])  # one colour per action
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["wait", "buy", "sell"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["low", "high"]
    plt.close(fig)


@pytest.mark.parametrize("bad", [
    dict(policy_grid=np.zeros(3, int), stocks=np.zeros(3)),
    dict(policy_grid=np.zeros((2, 3)) + 0.5, stocks=np.zeros(3)),
    dict(policy_grid=np.zeros((2, 3), int), stocks=np.zeros(2)),
    dict(policy_grid=-np.ones((2, 3), int), stocks=np.zeros(3)),
    dict(policy_grid=np.ones((2, 3), int), stocks=np.zeros(3), action_labels=["a"]),
    dict(policy_grid=np.ones((2, 3), int), stocks=np.zeros(3), state_labels=["a"]),
])
def test_stock_policy_rejects_bad_input(bad):
    with pytest.raises(InvalidArgumentError):
        plot_stock_policy(**bad)


def test_bad_arguments():
    with pytest.raises(InvalidArgumentError):
        plot_return_cdf(_two_point(), kind="pdf")
    with pytest.raises(InvalidArgumentError):
        plot_return_cdf(_two_point(), states=[5])
    with pytest.raises(InvalidArgumentError):
        plot_cvar_vs_alpha({"x": _two_point()}, alphas=[1.5])
    with pytest.raises(InvalidArgumentError):
        plot_cvar_vs_alpha([])


def test_return_distributions_example_writes_png(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["plot_return_distributions.py", "--out", str(tmp_path), "--n", "300",
                                      "--atoms", "51"])
    runpy.run_path(str(EX / "distributional" / "plot_return_distributions.py"), run_name="__main__")
    png = tmp_path / "return_distributions.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

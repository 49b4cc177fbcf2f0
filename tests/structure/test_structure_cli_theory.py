"""``mdpkit describe`` (its own parser: the lead wires it into mdpkit/cli.py), the transition-graph
drawing, the structure bounds and the theorem checks of mdpkit/theory/_structure.py."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from mdpkit import InvalidArgumentError, bounds, generators
from mdpkit import _cli_describe


def _parser():
    p = argparse.ArgumentParser(prog="mdpkit")
    _cli_describe.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def test_describe_riverswim_writes_json_and_png(tmp_path, capsys):
    args = _parser().parse_args(["describe", "riverswim", "--out", str(tmp_path)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "diameter: 22.5103" in text and "Jaksch" in text and "definition:" in text
    d = json.loads((tmp_path / "describe.json").read_text())
    lo, hi = d["diameter"]["bracket"]
    assert lo <= 5470 / 243 <= hi and d["diameter"]["pair"] == [0, 5]  # hand value, see test_structure_diameter
    assert d["classification"]["value"] == "unichain, communicating"
    # sp(h*) <= D * range (Bartlett & Tewari), as reported
    assert d["bias_span"]["value"] <= d["bias_span"]["bound_D_times_range"]["value"]
    png = (tmp_path / "transition_graph.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_describe_explains_what_does_not_apply(capsys):
    args = _parser().parse_args(["describe", "gridworld_4x4"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "not communicating: state 0 is not reachable from state 15" in out
    assert "not weakly communicating" in out and "2 recurrent classes" in out


def test_describe_effective_horizon_on_a_deterministic_model():
    from mdpkit.effective_horizon import FiniteHorizonModel, effective_horizon

    m = generators.make("frozenlake:is_slippery=False")
    d = _cli_describe.describe(m, horizon=8)
    e = effective_horizon(FiniteHorizonModel.from_mdp(m, 8))
    assert d["effective_horizon"]["min_k"] == e.min_k
    assert d["effective_horizon"]["value"] == e.H_bar


def test_describe_rejects_bad_input():
    with pytest.raises(InvalidArgumentError, match="--horizon"):
        args = _parser().parse_args(["describe", "chain", "--horizon", "0"])
        args.func(args)


def test_transition_graph_png_colours_classes(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from mdpkit.plotting import plot_transition_graph

    fig = plot_transition_graph(generators.gridworld_4x4())
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["class 0 (1 states, closed, period 1)", "class 1 (14 states, transient)",
                      "class 2 (1 states, closed, period 1)"]
    fig.savefig(tmp_path / "g.png")
    with pytest.raises(InvalidArgumentError, match="at most 400"):
        plot_transition_graph(generators.garnet(401, 2, 2, rng=0))


# ---------------------------------------------------------------------------- bounds
def test_structure_bounds_values():
    assert bounds.diameter_lower_bound(256, 2).value == pytest.approx(5.0)
    assert bounds.diameter_lower_bound(5, 1).value == -math.inf
    assert bounds.bias_span_bound(4.0, 2.5).value == 10.0
    assert bounds.gorp_rollouts(0.25, 0.5, 10, 2, 1).value == math.ceil(16 * 0.25 / 0.25 * (math.log(20) + math.log(2)))
    lo, hi = bounds.mixing_time_spectral_bounds(5.0, 0.25, 0.1)
    assert lo.value == pytest.approx(4 * math.log(2)) and hi.value == pytest.approx(5 * math.log(40))
    with pytest.raises(ValueError):
        bounds.gorp_rollouts(1.0, 0.0, 10, 2, 1)


# ---------------------------------------------------------------------------- theorem checks
CHECKS = ["diameter-lower-bound", "bias-span-diameter", "dobrushin-contraction", "k-qvi-minimal-k",
          "rover-uniform-q-greedy"]


@pytest.mark.parametrize("name", CHECKS)
def test_theorem_check_passes_and_its_controls_fail(name):
    import mdpkit.theory._structure  # noqa: F401  (registers the checks until the lead wires the module in)
    from mdpkit import theory

    r = theory.check(name, n_examples=26 if name == "k-qvi-minimal-k" else 20, seed=0)
    assert r.verdict == "PASS", (r.errors, [o.label for o in r.failures()])
    assert r.control_failed is True
    assert r.n_effective >= 20


def test_halving_the_bounds_fails_on_the_tight_instances():
    """The mutation control: with the bound halved, the tight instances violate it (issue 14)."""
    from mdpkit.theory import _structure as T

    # diameter: de Bruijn n = 8 has D = 8 and log_2(256) - 3 = 5 > 8 / 2
    r = T.diameter(T.de_bruijn(2, 8))
    assert r.D_lower == r.D_upper == 8.0 and bounds.diameter_lower_bound(256, 2).value > r.D_lower / 2
    # bias span: the slow-reward model has sp(h*) = D exactly
    m = T.slow_reward(10)
    span, D = T._span_and_diameter(m)
    assert abs(span - 10.0) <= 1e-6 and abs(D - 10.0) <= 1e-6
    assert span > bounds.bias_span_bound(D, 1.0).value / 2
    # Dobrushin: point masses at the extremal rows attain delta
    P = np.array([[0.9, 0.1], [0.2, 0.8]])
    d = T.dobrushin_coefficient(P)
    assert abs(0.5 * np.abs(P[0] - P[1]).sum() - d) <= 1e-15


def test_rover_controls_are_the_committed_counterexamples():
    from mdpkit.effective_horizon import rover_check
    from mdpkit.theory import _structure as T

    for make, broken in [(T.stochastic_counterexample, "deterministic"), (T.non_binary_counterexample, "binary_terminal"),
                         (T.cyclic_counterexample, "tree")]:
        r = rover_check(*make())
        assert not getattr(r, broken) and not r.greedy_optimal
        rr = rover_check(*T._relabel(*make(), np.random.default_rng(5)))
        assert rr.v_star == r.v_star and rr.v_greedy == r.v_greedy

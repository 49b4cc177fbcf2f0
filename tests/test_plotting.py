"""mdpkit.plotting: figures render to PNG on Agg and draw what they claim.

Expected values come from independent routes: breadth-first shortest paths on the 4x4 grid for the
optimal arrows (Sutton & Barto 2018, Fig. 4.1), the published optimal values of Figure 3.5 for the
5x5 grid, the map layouts of gymnasium's FrozenLake and CliffWalking, and numpy for medians.
"""

import collections
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from mdpkit import InvalidArgumentError, InvalidPolicyError, TabularMDP, generators  # noqa: E402
from mdpkit.plotting import plot_convergence, plot_policy, plot_ratio_hist, plot_values  # noqa: E402
from mdpkit.solvers import policy_iteration  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "dp" / "plot_gridworld_policy.py"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def save_png(fig, path):
    fig.savefig(path, dpi=60)
    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    return data


def arrows(ax, gid=None):
    """{(row, col): (dcol, drow)} of every quiver arrow drawn in ``ax`` (optionally one gid)."""
    out = {}
    for q in ax.collections:
        if isinstance(q, Quiver) and (gid is None or q.get_gid() == gid):
            for x, y, u, v in zip(q.X, q.Y, q.U, q.V):
                out.setdefault((int(round(y)), int(round(x))), []).append((float(u), float(v)))
    return out


def screen_direction(ax, row, col, u, v):
    """Sign of the arrow's (right, up) components on screen, through the axes transform."""
    p0 = ax.transData.transform((col, row))
    p1 = ax.transData.transform((col + u, row + v))
    d = p1 - p0
    return int(np.sign(round(d[0], 6))), int(np.sign(round(d[1], 6)))


def bfs_distance_4x4():
    """Steps to the nearest terminal corner of the S&B 4x4 grid, by breadth-first search."""
    dist = {(0, 0): 0, (3, 3): 0}
    frontier = collections.deque(dist)
    while frontier:
        r, c = frontier.popleft()
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            nb = (r + dr, c + dc)
            if 0 <= nb[0] < 4 and 0 <= nb[1] < 4 and nb not in dist:
                dist[nb] = dist[(r, c)] + 1
                frontier.append(nb)
    return dist


# ------------------------------------------------------------------------------- import weight
def test_import_does_not_load_matplotlib():
    code = "import sys, mdpkit, mdpkit.plotting; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------------- policies
def test_policy_arrows_point_along_shortest_paths__sutton_barto_fig_4_1(tmp_path):
    """Every arrow of the optimal 4x4 policy moves, on screen, to a cell one step closer to a
    terminal corner (Fig. 4.1: row 0 at the top, "up" points up); terminals get no arrow."""
    mdp = generators.make("gridworld4x4").with_gamma(0.9)
    res = policy_iteration(mdp)
    fig = plot_policy(mdp, res.policy, v=res.v)
    save_png(fig, tmp_path / "policy4x4.png")
    ax = fig.axes[0]
    drawn = arrows(ax, "policy")
    dist = bfs_distance_4x4()
    assert set(drawn) == set(dist) - {(0, 0), (3, 3)}
    for (r, c), uv in drawn.items():
        assert len(uv) == 1
        right, up = screen_direction(ax, r, c, *uv[0])
        assert abs(right) + abs(up) == 1
        target = (r - up, c + right)  # on screen, up is the row above
        assert dist[target] == dist[(r, c)] - 1, f"arrow at {(r, c)} goes to {target}"
    # and the arrow is the drawn direction of the policy's own action label
    book = {"up": (0, 1), "down": (0, -1), "right": (1, 0), "left": (-1, 0)}
    for (r, c), uv in drawn.items():
        label = mdp.action_labels[res.policy[4 * r + c]]
        assert screen_direction(ax, r, c, *uv[0]) == book[label]
    texts = {(int(round(t.get_position()[1])), int(round(t.get_position()[0]))): t.get_text() for t in ax.texts}
    assert texts[(0, 0)] == texts[(3, 3)] == "terminal"


def test_policy_frozenlake_holes_goal_and_offgrid_terminal(tmp_path):
    mdp = generators.make("frozenlake4x4")
    res = policy_iteration(mdp)
    fig = plot_policy(mdp, res.policy)
    save_png(fig, tmp_path / "frozenlake.png")
    ax = fig.axes[0]
    # gymnasium's 4x4 map: SFFF / FHFH / FFFH / HFFG
    special = {(1, 1): "H", (1, 3): "H", (2, 3): "H", (3, 0): "H", (3, 3): "G"}
    drawn = arrows(ax)
    assert set(drawn).isdisjoint(special)
    assert len(drawn) == 16 - len(special)
    texts = {(int(round(t.get_position()[1])), int(round(t.get_position()[0]))): t.get_text() for t in ax.texts}
    assert {k: texts[k] for k in special} == special
    assert "'terminal'" in ax.get_title()  # the 17th state is listed, not dropped


def test_policy_cliff_walking_marks_unreachable_cliff(tmp_path):
    mdp = generators.make("cliff_walking").with_gamma(0.95)
    res = policy_iteration(mdp)
    fig = plot_policy(mdp, res.policy, v=res.v)
    save_png(fig, tmp_path / "cliff.png")
    ax = fig.axes[0]
    # S&B Ex. 6.6: the cliff is the bottom row between start (3, 0) and goal (3, 11); the agent
    # never stands on it (stepping in sends it back to the start), nor on the goal.
    assert set(arrows(ax, "policy-unreachable")) == {(3, c) for c in range(1, 12)}
    assert len(arrows(ax, "policy")) == 48 - 11
    # from the start the optimal (safe-enough, shortest) first move is up
    (uv,) = arrows(ax, "policy")[(3, 0)]
    assert screen_direction(ax, 3, 0, *uv) == (0, 1)


def test_policy_sparse_model_draws_the_same_cells():
    dense = generators.make("frozenlake4x4")
    res = policy_iteration(dense)
    a_dense = plot_policy(dense, res.policy).axes[0]
    a_sparse = plot_policy(dense.to_sparse(), res.policy).axes[0]
    assert arrows(a_sparse) == arrows(a_dense)
    assert sorted(t.get_text() for t in a_sparse.texts) == sorted(t.get_text() for t in a_dense.texts)


def test_stochastic_policy_one_arrow_per_action_length_proportional():
    mdp = generators.make("gridworld4x4")
    pi = np.full((16, 4), 0.25)
    pi[5] = [0.7, 0.1, 0.1, 0.1]
    fig = plot_policy(mdp, pi)
    ax = fig.axes[0]
    drawn = arrows(ax)
    assert len(drawn) == 14 and all(len(v) == 4 for v in drawn.values())
    lengths = {rc: sorted(np.hypot(*np.array(v).T)) for rc, v in drawn.items()}
    np.testing.assert_allclose(lengths[(1, 1)][-1] / lengths[(1, 1)][0], 7.0)
    np.testing.assert_allclose(lengths[(0, 1)], lengths[(0, 1)][0])
    # the long arrow at state 5 = (1, 1) is action 0 = "up"
    (u, v) = max(drawn[(1, 1)], key=lambda uv: np.hypot(*uv))
    assert screen_direction(ax, 1, 1, u, v) == (0, 1)


def test_unknown_action_labels_are_written_in_cells():
    # 1x2 grid: "east" moves right from cell 0; "stay" is not a direction.
    P = np.zeros((2, 2, 2))
    P[0, 0, 1] = P[0, 1, 0] = P[1, 0, 1] = P[1, 1, 1] = 1.0
    R = np.array([[0.0, 1.0], [0.0, 1.0]])
    mdp = TabularMDP(P, R, 0.5, action_labels=("east", "stay"), grid_shape=(1, 2))
    fig = plot_policy(mdp, np.array([0, 1]))
    ax = fig.axes[0]
    (uv,) = arrows(ax)[(0, 0)]
    assert screen_direction(ax, 0, 0, *uv) == (1, 0)
    assert (0, 1) not in arrows(ax)
    assert "stay" in [t.get_text() for t in ax.texts]


def test_policy_draws_into_given_axes():
    mdp = generators.make("gridworld5x5")
    res = policy_iteration(mdp)
    fig, axes = plt.subplots(1, 2)
    assert plot_policy(mdp, res.policy, ax=axes[1]) is fig
    assert arrows(axes[1]) and not arrows(axes[0])


# ------------------------------------------------------------------------------------ values
def test_values_reproduce_sutton_barto_fig_3_5(tmp_path):
    mdp = generators.make("gridworld5x5")
    fig = plot_values(mdp, policy_iteration(mdp).v)
    save_png(fig, tmp_path / "values5x5.png")
    ax = fig.axes[0]
    book = [  # Sutton & Barto (2018), Figure 3.5, v*
        "22.0 24.4 22.0 19.4 17.5",
        "19.8 22.0 19.8 17.8 16.0",
        "17.8 19.8 17.8 16.0 14.4",
        "16.0 17.8 16.0 14.4 13.0",
        "14.4 16.0 14.4 13.0 11.7",
    ]
    cells = {(int(round(t.get_position()[1])), int(round(t.get_position()[0]))): t.get_text() for t in ax.texts}
    assert [" ".join(cells[(r, c)] for c in range(5)) for r in range(5)] == book
    (cbar,) = ax.child_axes  # the colorbar, inset beside the grid
    assert cbar.get_ylabel() == "v(s)"


def test_values_frozenlake_layout_and_offgrid_state(tmp_path):
    mdp = generators.make("frozenlake4x4")
    v = policy_iteration(mdp).v
    fig = plot_values(mdp, v)
    save_png(fig, tmp_path / "values_fl.png")
    ax = fig.axes[0]
    img = ax.images[0].get_array()
    assert img.shape == (4, 4)
    # the cell left of the goal (row 3, col 2) is the best one; holes and goal are worth 0
    assert np.unravel_index(np.argmax(img), img.shape) == (3, 2)
    for rc in [(1, 1), (1, 3), (2, 3), (3, 0), (3, 3)]:
        assert img[rc] == 0.0
    assert "'terminal': v = 0.000" in ax.get_title()


def test_values_annotation_only_up_to_100_cells():
    big = TabularMDP(np.eye(110)[:, None, :], np.zeros((110, 1)), 0.5, grid_shape=(10, 11))
    v = np.linspace(0.0, 1.0, 110)
    assert len(plot_values(big, v).axes[0].texts) == 0
    assert len(plot_values(big, v, annotate=True).axes[0].texts) == 110
    fl8 = generators.make("frozenlake8x8")
    assert len(plot_values(fl8, np.zeros(fl8.S)).axes[0].texts) == 64


# ------------------------------------------------------------------------------- convergence
def test_convergence_masks_zeros_and_says_so(tmp_path):
    k = np.arange(10)
    err = 0.5**k
    err[7:] = 0.0
    fig = plot_convergence(err, 0.9**k, title="t")
    save_png(fig, tmp_path / "conv.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    solid, dashed = ax.lines
    y = np.asarray(solid.get_ydata(), float)
    np.testing.assert_array_equal(y[:7], 0.5 ** np.arange(7))
    assert np.isnan(y[7:]).all()  # a gap, never a fake small value
    assert dashed.get_linestyle() == "--" and solid.get_color() == dashed.get_color()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["observed [3 values <= 0 not shown]", "bound"]


def test_convergence_many_instances_median(tmp_path):
    rng = np.random.default_rng(0)
    traces = rng.uniform(0.1, 1.0, (9, 20)) * 0.8 ** np.arange(20)
    bounds = np.full((9, 20), 2.0) * 0.8 ** np.arange(20)
    fig = plot_convergence({"VI": traces}, {"VI": bounds, "other": 0.9 ** np.arange(20)})
    save_png(fig, tmp_path / "conv2.png")
    ax = fig.axes[0]
    assert len(ax.lines) == (9 + 1) * 2 + 1
    med = [ln for ln in ax.lines if ln.get_label() == "VI (median of 9)"]
    assert len(med) == 1
    np.testing.assert_allclose(med[0].get_ydata(), [np.median(col) for col in traces.T])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["VI (median of 9)", "VI: bound (median of 9)", "other"]


def test_convergence_nan_is_missing_and_joined():
    # recorded every 5 iterations (NaN elsewhere), as a theorem check that samples iterations
    y = np.full(21, np.nan)
    y[::5] = 0.8 ** np.arange(0, 21, 5)
    ax = plot_convergence({"sampled": y}).axes[0]
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_xdata(), [0, 5, 10, 15, 20])
    np.testing.assert_array_equal(line.get_ydata(), y[::5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sampled"]


def test_convergence_linear_axis_keeps_zeros():
    fig = plot_convergence({"a": [1.0, 0.0, -1.0]}, logy=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [1.0, 0.0, -1.0])


# ----------------------------------------------------------------------------------- ratios
def test_ratio_hist_counts_violations(tmp_path):
    fig = plot_ratio_hist([0.2, 0.5, 1.5, 2.0, 0.9], title="r")
    save_png(fig, tmp_path / "hist.png")
    ax = fig.axes[0]
    (vline,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert list(vline.get_xdata()) == [1.0, 1.0]
    assert sum(p.get_height() for p in ax.patches) == 5
    assert "2 of 5 above (max 2)" in [t.get_text() for t in ax.get_legend().get_texts()][1]


def test_ratio_hist_reports_non_finite_ratios():
    # +inf (positive error, zero bound) is a violation; NaN (0/0) is undefined; neither is binned
    ax = plot_ratio_hist([0.5, np.inf, np.nan, 0.25]).axes[0]
    assert sum(p.get_height() for p in ax.patches) == 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["2 finite ratios", "not shown: 1 +inf, 1 NaN", "ratio = 1: 1 of 3 above (max inf)"]


def test_ratio_hist_line_visible_when_all_below_one():
    ax = plot_ratio_hist([0.1, 0.2, 0.3]).axes[0]
    lo, hi = ax.get_xlim()
    assert lo < 1.0 < hi


# ------------------------------------------------------------------------------------ errors
def test_errors():
    grid = generators.make("gridworld4x4")
    flat = generators.make("puterman_two_state")
    with pytest.raises(InvalidArgumentError, match="no grid_shape"):
        plot_values(flat, np.zeros(flat.S))
    with pytest.raises(InvalidArgumentError, match="no grid_shape"):
        plot_policy(flat, np.zeros(flat.S, dtype=int))
    with pytest.raises(InvalidArgumentError, match=r"shape \(S,\) = \(16,\)"):
        plot_values(grid, np.zeros(15))
    with pytest.raises(InvalidArgumentError, match="finite"):
        plot_values(grid, np.full(16, np.nan))
    with pytest.raises(InvalidArgumentError, match=r"shape \(S,\) = \(16,\)"):
        plot_policy(grid, np.zeros(16, dtype=int), v=np.zeros(4))
    with pytest.raises(InvalidPolicyError):
        plot_policy(grid, np.full(16, 7))
    with pytest.raises(InvalidArgumentError, match="1-D"):
        plot_convergence(np.zeros((2, 2, 2)))
    with pytest.raises(InvalidArgumentError, match="empty dict"):
        plot_convergence({})
    with pytest.raises(InvalidArgumentError, match=r"bounds\['b'\] is empty"):
        plot_convergence([1.0], {"b": []})
    with pytest.raises(InvalidArgumentError, match="float array"):
        plot_convergence(["a", "b"])
    with pytest.raises(InvalidArgumentError, match="non-empty 1-D"):
        plot_ratio_hist([])
    with pytest.raises(InvalidArgumentError, match="matplotlib Axes"):
        plot_convergence([1.0], ax="not an axes")


# ----------------------------------------------------------------------------------- example
def test_gridworld_policy_example_writes_pngs(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["plot_gridworld_policy.py", str(tmp_path), "--starts", "3", "--iters", "15"])
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 5
    for p in pngs:
        assert p.read_bytes()[:8] == PNG_MAGIC

r"""Figures for theory checks and grid worlds.

Functions
---------
plot_convergence
    Observed error per iteration against its bound(s) on a log axis; one run, several labelled
    runs, or many instances at once (thin translucent lines and their median).
plot_ratio_hist
    Histogram of observed/bound ratios with the line ratio = 1.
plot_values
    Heat map of a value vector on a grid world (``mdp.grid_shape``).
plot_policy
    Arrows of a deterministic or stochastic policy on a grid world, optionally over the value
    heat map.
plot_return_cdf
    Return CDFs (or quantile functions) per state for one or several representations, with the
    Monte Carlo empirical CDF and its DKW confidence band.
plot_cvar_vs_alpha
    Lower-tail CVaR against the risk level alpha for several policies / distributions.
plot_stock_policy
    Heat map of an integer action array over (state, stock grid) with a categorical legend.
plot_regret
    Mean pseudo-regret of bandit / online-RL runs against the round, with bootstrap and
    simultaneous confidence bands, bound and lower-bound overlays, linear, log-x or log-log axes
    (with the fitted slope).

matplotlib is imported inside these functions only, so ``import mdpkit.plotting`` (and
``import mdpkit``) does not load it.  Every function returns the matplotlib ``Figure`` (the three
distributional plots, which draw into a single axes, return that ``Axes``), draws into
``ax`` when one is given (otherwise it creates a figure with ``matplotlib.pyplot.subplots``:
close it with ``plt.close(fig)`` when making many), and never calls ``plt.show()``.

Grid conventions: a model with ``grid_shape = (rows, cols)`` has its first ``rows*cols`` states
laid out row-major (``s = row*cols + col``); row 0 is drawn at the top, so a move to a smaller
row index ("up", "north") points up on screen.  States beyond ``rows*cols`` (e.g. the absorbing
``"terminal"`` state that the gymnasium toy-text models add) are not cells; they are listed in
the title, never dropped silently.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._exceptions import InvalidArgumentError

__all__ = [
    "plot_convergence",
    "plot_cvar_vs_alpha",
    "plot_policy",
    "plot_ratio_hist",
    "plot_regret",
    "plot_return_cdf",
    "plot_stock_policy",
    "plot_transition_graph",
    "plot_values",
]

#: Screen direction ``(dcol, drow)`` of action-label words; row 0 is at the top, so "up" is
#: ``drow = -1``.  Labels are matched word by word (``"move up"``, ``"north-east"`` work).
_DIRECTIONS: dict[str, tuple[int, int]] = {
    "up": (0, -1),
    "north": (0, -1),
    "down": (0, 1),
    "south": (0, 1),
    "right": (1, 0),
    "east": (1, 0),
    "left": (-1, 0),
    "west": (-1, 0),
    "northeast": (1, -1),
    "northwest": (-1, -1),
    "southeast": (1, 1),
    "southwest": (-1, 1),
}

#: Largest grid (cells) whose values ``plot_values`` writes in the cells by default.
_ANNOTATE_MAX_CELLS = 100
#: Off-grid states listed one by one in a title before summarising them.
_MAX_LISTED = 3


# --------------------------------------------------------------------------------- helpers
def _axes(ax, figsize):
    """``(fig, ax)``: a new pyplot figure when ``ax`` is None, else ``ax``'s root figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        return plt.subplots(figsize=figsize, layout="constrained")
    if not hasattr(ax, "get_figure") or not hasattr(ax, "imshow"):
        raise InvalidArgumentError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    try:
        fig = ax.get_figure(root=True)  # matplotlib >= 3.10 (subfigures)
    except TypeError:
        fig = ax.get_figure()
    return fig, ax


def _as_curves(x, name: str, default_label: str) -> list[tuple[str, np.ndarray]]:
    """``[(label, y)]`` from a 1-D/2-D array or a dict label -> array; y is float (K,) or (n, K)."""
    if isinstance(x, dict):
        if not x:
            raise InvalidArgumentError(f"{name} is an empty dict; give at least one curve")
        items = [(str(k), val, f"{name}[{k!r}]") for k, val in x.items()]
    else:
        items = [(default_label, x, name)]
    out = []
    for label, val, where in items:
        try:
            y = np.array(val, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidArgumentError(f"{where} could not be converted to a float array: {e}") from None
        if y.ndim not in (1, 2):
            raise InvalidArgumentError(
                f"{where} must be 1-D (K,) or 2-D (n_instances, K) per iteration, got shape {y.shape}"
            )
        if y.size == 0:
            raise InvalidArgumentError(f"{where} is empty (shape {y.shape})")
        out.append((label, y))
    return out


def _hidden_note(y: np.ndarray, logy: bool) -> str:
    """Legend suffix counting the values that cannot be drawn (never replaced by fake values)."""
    parts = []
    with np.errstate(invalid="ignore"):
        n_nonpos = int(np.count_nonzero(y <= 0)) if logy else 0
    n_inf = int(np.count_nonzero(np.isinf(y) & ~((y < 0) if logy else False)))
    if n_nonpos:
        parts.append(f"{n_nonpos} value{'s' if n_nonpos > 1 else ''} <= 0")
    if n_inf:
        parts.append(f"{n_inf} infinite")
    return f" [{', '.join(parts)} not shown]" if parts else ""


def _line(ax, y: np.ndarray, *, logy: bool, **kw) -> None:
    """Plot ``y`` against its index: NaN entries are missing (the line joins the neighbouring
    values); values that cannot be drawn (infinite, or <= 0 on a log axis) leave a gap."""
    ks = np.flatnonzero(~np.isnan(y))
    yk = y[ks]
    with np.errstate(invalid="ignore"):
        bad = np.isinf(yk) | ((yk <= 0) if logy else False)
    yd = np.where(bad, np.nan, yk)
    (line,) = ax.plot(ks, yd, **kw)
    if np.count_nonzero(~bad) == 1:  # a single drawable point is invisible as a line
        ax.plot(ks[~bad], yd[~bad], marker="o", ms=3, color=line.get_color(), alpha=line.get_alpha(),
                linestyle="none")


def _draw_curves(ax, curves, *, logy: bool, linestyle: str, colors: list[str]) -> None:
    for (label, y), color in zip(curves, colors):
        if y.ndim == 1:
            _line(ax, y, logy=logy, linestyle=linestyle, color=color, lw=1.8, label=label + _hidden_note(y, logy))
            continue
        n = y.shape[0]
        alpha = float(np.clip(4.0 / n, 0.04, 0.35))
        for row in y:
            _line(ax, row, logy=logy, linestyle=linestyle, color=color, lw=0.6, alpha=alpha)
        # The median is taken over the observed values (zeros included, NaN = missing), then
        # drawn like any curve: a median of 0 is a gap on the log axis, not a fake value.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
            med = np.nanmedian(y, axis=0)
        _line(
            ax, med, logy=logy, linestyle=linestyle, color=color, lw=2.4,
            label=f"{label} (median of {n}){_hidden_note(y, logy)}",
        )


# ------------------------------------------------------------------------ convergence plots
def plot_convergence(
    traces: ArrayLike | dict[str, ArrayLike],
    bounds: ArrayLike | dict[str, ArrayLike] | None = None,
    *,
    ax=None,
    logy: bool = True,
    xlabel: str = "iteration k",
    ylabel: str = "error",
    title: str | None = None,
):
    r"""Plot observed errors per iteration against their bounds.

    Each trace is drawn as a solid line at iterations ``k = 0, 1, ..., K-1`` (its index), each
    bound as a dashed line on the same iteration axis, e.g. the observed
    :math:`\|v_k - v^*\|_\infty` of value iteration against the contraction bound
    :math:`\gamma^k \|v_0 - v^*\|_\infty` (Puterman 1994, Thm 6.3.1).

    Parameters
    ----------
    traces : array_like of shape (K,) or (n_instances, K), or dict of str to such arrays
        Observed error per iteration.  A 2-D array holds many instances (rows) at once, as in a
        theorem check: each row is a thin translucent line and the per-iteration median (over
        the rows, NaN entries ignored) is bold.  NaN marks a missing value (an iteration that
        was not recorded, or the padding of runs that stopped early): it is skipped and the line
        joins the recorded values around it.  A dict draws one labelled curve (or bundle) per
        key; a bare array is labelled ``"observed"``.
    bounds : array_like or dict of str to array_like, optional
        Bounds in the same formats, drawn dashed; a bare array is labelled ``"bound"``.  A bound
        takes the colour of the trace with the same label (its legend entry then reads
        ``"<label>: bound"``), or of the single trace when both are bare arrays; other bounds
        take the next colours.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created if omitted.
    logy : bool, default True
        Logarithmic y-axis.  Values that cannot be drawn on it (``<= 0``) and infinite values
        are **not drawn** (the line has a gap there; they are never replaced by a small fake
        value) and the legend entry says how many were hidden, e.g.
        ``"observed [3 values <= 0 not shown]"``.  An exact zero error, which value iteration
        can reach on small models, therefore shows as the end of the line.
    xlabel, ylabel : str
        Axis labels.
    title : str, optional
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding ``ax``.

    Raises
    ------
    InvalidArgumentError
        If a trace or bound is not numeric, not 1-D or 2-D, empty, an empty dict, or ``ax`` is
        not an Axes.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit.plotting import plot_convergence
    >>> k = np.arange(50)
    >>> fig = plot_convergence({"VI": 0.5 * 0.9**k}, {"VI": 0.9**k})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['VI', 'VI: bound']
    """
    tr = _as_curves(traces, "traces", "observed")
    bd = [] if bounds is None else _as_curves(bounds, "bounds", "bound")
    fig, ax = _axes(ax, (7.0, 4.5))
    t_colors = [f"C{i % 10}" for i in range(len(tr))]
    by_label = {lab: c for (lab, _), c in zip(tr, t_colors)}
    paired_bare = not isinstance(traces, dict) and bounds is not None and not isinstance(bounds, dict)
    b_colors, nxt, b_named = [], len(tr), []
    for lab, y in bd:
        if paired_bare:
            b_colors.append(t_colors[0])
        elif lab in by_label:
            b_colors.append(by_label[lab])
            lab = f"{lab}: bound"  # the legend must tell the pair apart
        else:
            b_colors.append(f"C{nxt % 10}")
            nxt += 1
        b_named.append((lab, y))
    bd = b_named
    if logy:
        ax.set_yscale("log")
    _draw_curves(ax, tr, logy=logy, linestyle="-", colors=t_colors)
    _draw_curves(ax, bd, logy=logy, linestyle="--", colors=b_colors)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_ratio_hist(ratios: ArrayLike, *, ax=None, title: str | None = None, bins: Any = "auto"):
    r"""Histogram of observed/bound ratios, with a vertical line at 1.

    A ratio above 1 means the observed quantity exceeded its bound on that instance (a violation,
    up to floating-point slack); the legend reports how many of the ratios exceed 1 and the
    largest one.  Typical input: ``max_k ||v_k - v*|| / (gamma^k ||v_0 - v*||)`` per instance of
    a theorem check.

    Parameters
    ----------
    ratios : array_like of shape (n,)
        Ratios, one per instance.  Non-finite ratios cannot be binned: they are left out of the
        histogram and the legend says how many (``+inf``, e.g. a positive error against a zero
        bound, is counted as above 1; NaN, e.g. 0/0, as undefined).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created if omitted.
    title : str, optional
        Axes title.
    bins : int, sequence or str, default "auto"
        Passed to ``Axes.hist``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidArgumentError
        If ``ratios`` is not numeric, not 1-D, or empty.
    """
    try:
        r = np.array(ratios, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"ratios could not be converted to a float array: {e}") from None
    if r.ndim != 1 or r.size == 0:
        raise InvalidArgumentError(f"ratios must be a non-empty 1-D array, got shape {r.shape}")
    fin = r[np.isfinite(r)]
    n_nan = int(np.count_nonzero(np.isnan(r)))
    n_pinf = int(np.count_nonzero(r == np.inf))
    n_minf = int(np.count_nonzero(r == -np.inf))
    fig, ax = _axes(ax, (6.0, 4.0))
    if fin.size:
        if isinstance(bins, str) and fin.min() == fin.max():
            # matplotlib would spread identical values over a unit-wide bin around them
            half = 0.01 * max(abs(fin[0]), 1e-3)
            bins = [fin[0] - half, fin[0] + half]
        ax.hist(fin, bins=bins, color="C0", edgecolor="white", label=f"{fin.size} finite ratios")
    hidden = [f"{k} {what}" for k, what in ((n_pinf, "+inf"), (n_minf, "-inf"), (n_nan, "NaN")) if k]
    if hidden:  # a legend entry without a mark, next to the counts it qualifies
        ax.plot([], [], " ", label=f"not shown: {', '.join(hidden)}")
    n_above = int(np.count_nonzero(r > 1.0))
    n_defined = r.size - n_nan
    worst = f"max {np.nanmax(r):.5g}" if n_defined else "max undefined"
    label = f"ratio = 1: {n_above} of {n_defined} above ({worst})"
    ax.axvline(1.0, color="C3", linestyle="--", lw=1.5, label=label)
    lo, hi = ax.get_xlim()
    pad = 0.05 * max(hi - lo, 1.0)
    ax.set_xlim(min(lo, 1.0 - pad), max(hi, 1.0 + pad))
    ax.set_xlabel("observed / bound")
    ax.set_ylabel("count")
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


# ------------------------------------------------------------------------------ grid worlds
def _grid(mdp, who: str) -> tuple[int, int, int]:
    gs = getattr(mdp, "grid_shape", None)
    if gs is None:
        name = getattr(mdp, "name", "") or type(mdp).__name__
        raise InvalidArgumentError(
            f"{who} needs a grid world, but model {name!r} has no grid_shape; build it with "
            "grid_shape=(rows, cols) (its first rows*cols states row-major)"
        )
    rows, cols = gs
    return rows, cols, rows * cols


def _check_values(mdp, v) -> np.ndarray:
    from .policies import check_value  # the one shape/finiteness check of a value vector

    return check_value(mdp, v)


def _state_name(mdp, s: int) -> str:
    return repr(mdp.state_labels[s]) if mdp.state_labels is not None else f"state {s}"


def _off_grid_note(mdp, n: int, describe) -> str:
    """One line listing the states beyond the grid (``describe(s) -> str``), or ``""``."""
    extra = range(n, mdp.S)
    if not extra:
        return ""
    if len(extra) <= _MAX_LISTED:
        items = "; ".join(f"{_state_name(mdp, s)}: {describe(s)}" for s in extra)
        return f"off-grid: {items}"
    return f"off-grid: {len(extra)} states {n}..{mdp.S - 1}"


def _with_note(title: str | None, default: str, note: str) -> str:
    t = default if title is None else title
    return f"{t}\n{note}" if note else t


def _figsize(rows: int, cols: int) -> tuple[float, float]:
    cell = min(0.8, 9.0 / max(rows, cols))
    return (cols * cell + 2.2, rows * cell + 1.6)


def _fontsize(fig, ax, rows: int, cols: int) -> float:
    """Font size (points) for text in a cell: about a quarter of the cell's side on the page."""
    w, h = ax.get_position().width, ax.get_position().height
    fw, fh = fig.get_size_inches()
    cell_pt = 72.0 * min(w * fw / cols, h * fh / rows)
    return float(np.clip(0.25 * cell_pt, 4.0, 11.0))


def _decimals(values: np.ndarray) -> int:
    """Decimals giving about three significant digits to the largest magnitude."""
    m = float(np.max(np.abs(values))) if values.size else 0.0
    if m == 0.0:
        return 1
    return int(np.clip(2 - np.floor(np.log10(m)), 0, 3))


def _setup_grid_axes(ax, rows: int, cols: int) -> None:
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)  # row 0 at the top
    ax.set_aspect("equal")
    if cols <= 25:
        ax.set_xticks(np.arange(cols))
    if rows <= 25:
        ax.set_yticks(np.arange(rows))
    ax.set_xticks(np.arange(-0.5, cols, 1.0), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1.0), minor=True)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="major", labelsize=8)
    ax.set_xlabel("column")
    ax.set_ylabel("row")


def _heat(ax, fig, V: np.ndarray, cmap: str, colorbar_label: str):
    import matplotlib.colors as mcolors

    vmin, vmax = float(V.min()), float(V.max())
    if vmin == vmax:  # a constant map: centre the single colour instead of a singular norm
        vmin, vmax = vmin - 0.5, vmax + 0.5
    norm = mcolors.Normalize(vmin=vmin, vmax=vmax)
    im = ax.imshow(V, cmap=cmap, norm=norm, origin="upper", interpolation="nearest")
    # The colorbar lives in an inset of ``ax`` (axes coordinates), so it has the height of the
    # grid whatever the aspect ratio and layout engine; it is 0.3 cells wide.
    cols = V.shape[1]
    cax = ax.inset_axes([1.0 + 0.2 / cols, 0.0, 0.3 / cols, 1.0])
    fig.colorbar(im, cax=cax, label=colorbar_label)
    return im


def _text_color(im, value: float) -> str:
    r, g, b, _ = im.cmap(im.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def plot_values(
    mdp,
    v: ArrayLike,
    *,
    ax=None,
    title: str | None = None,
    cmap: str = "viridis",
    annotate: bool | None = None,
):
    r"""Heat map of a value vector on a grid world.

    Cell ``(row, col)`` shows ``v[row*cols + col]`` with ``(rows, cols) = mdp.grid_shape``; row 0
    is at the top.  States beyond the grid (``S > rows*cols``, e.g. the absorbing ``"terminal"``
    state of the gymnasium toy-text models) are listed with their values in the title (or
    summarised as a count when there are more than three); the colour scale covers the grid
    cells only.

    Parameters
    ----------
    mdp : TabularMDP
        A model with ``grid_shape`` (S&B grid worlds, FrozenLake, CliffWalking, Jack's car rental).
    v : array_like of shape (S,)
        Finite values, in reward units.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created if omitted.  A colorbar is added beside it.
    title : str, optional
        Title; ``mdp.name`` (or ``"values"``) if omitted.  The off-grid note is appended.
    cmap : str, default "viridis"
        Matplotlib colormap name.
    annotate : bool, optional
        Write each value in its cell (three significant digits of the largest magnitude, the
        same number of decimals in every cell).  Default: only when the grid has at most 100
        cells.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidArgumentError
        If the model has no ``grid_shape``, or ``v`` does not have shape (S,) or is not finite.

    Examples
    --------
    >>> from mdpkit.generators import gridworld_5x5
    >>> from mdpkit.solvers import policy_iteration
    >>> from mdpkit.plotting import plot_values
    >>> m = gridworld_5x5()
    >>> fig = plot_values(m, policy_iteration(m).v)
    >>> fig.axes[0].texts[1].get_text()  # v*(A) of Sutton & Barto Fig. 3.5
    '24.4'
    """
    rows, cols, n = _grid(mdp, "plot_values")
    vv = _check_values(mdp, v)
    fig, ax = _axes(ax, _figsize(rows, cols))
    V = vv[:n].reshape(rows, cols)
    im = _heat(ax, fig, V, cmap, "v(s)")
    _setup_grid_axes(ax, rows, cols)
    if annotate is None:
        annotate = n <= _ANNOTATE_MAX_CELLS
    if annotate:
        d = _decimals(V)
        fs = _fontsize(fig, ax, rows, cols)
        for r in range(rows):
            for c in range(cols):
                val = V[r, c]
                ax.text(c, r, f"{val:.{d}f}", ha="center", va="center", fontsize=fs, color=_text_color(im, val))
    d_all = _decimals(vv)
    if mdp.S - n > _MAX_LISTED:
        extra = vv[n:]
        note = _off_grid_note(mdp, n, None) + f", v in [{extra.min():.{d_all}f}, {extra.max():.{d_all}f}]"
    else:
        note = _off_grid_note(mdp, n, lambda s: f"v = {vv[s]:.{d_all}f}")
    ax.set_title(_with_note(title, mdp.name or "values", note), fontsize=10)
    return fig


# ----------------------------------------------------------------------------------- policies
def _direction(label: str) -> tuple[float, float] | None:
    """Unit screen vector ``(dx, drow)`` of an action label, or None if it names no direction."""
    vec = np.zeros(2)
    found = False
    for word in set(re.findall(r"[a-z]+", label.lower())):
        if word in _DIRECTIONS:
            vec += _DIRECTIONS[word]
            found = True
    if not found or not vec.any():
        return None
    return tuple(vec / np.hypot(*vec))


def _action_irrelevant(mdp) -> np.ndarray:
    """Bool (S,): every available action has the same transition row and reward (>= 2 actions)."""
    import scipy.sparse as sp

    S, A = mdp.S, mdp.A
    mask = mdp.action_mask
    first = np.argmax(mask, axis=1)
    ref_rows = np.arange(S) * A + first
    rows = mdp.P_rows
    ref = rows[np.repeat(ref_rows, A)]
    if sp.issparse(rows):
        D = abs(sp.csr_matrix(rows) - sp.csr_matrix(ref))
        same_p = np.asarray(D.max(axis=1).todense()).ravel() == 0
    else:
        same_p = np.all(rows == ref, axis=1)
    same = (same_p.reshape(S, A) & (mdp.R == mdp.R[np.arange(S), first][:, None])) | ~mask
    return np.all(same, axis=1) & (mask.sum(axis=1) >= 2)


def _cell_tag(label: str | None) -> str:
    """A state label without its ``(row,col)`` coordinates, e.g. ``"H(1,1)" -> "H"``."""
    if label is None:
        return ""
    return re.sub(r"\(\s*-?\d+\s*,\s*-?\d+\s*\)", "", label).strip(" :-_")


def plot_policy(
    mdp,
    policy: ArrayLike,
    *,
    ax=None,
    v: ArrayLike | None = None,
    title: str | None = None,
    cmap: str = "viridis",
):
    r"""Arrows of a policy on a grid world, optionally over the value heat map.

    The direction of an action is read from ``mdp.action_labels``: the words up/north,
    down/south, right/east, left/west (and northeast, ..., or combinations such as
    ``"up-left"``) give an arrow; row 0 is at the top, so "up" points up on screen.  An action
    whose label names no direction (``"pickup"``, ``"+3"``, or an unlabelled model's index) is
    written as text in the cell.

    Deterministic policies (S,) get one arrow per cell, centred.  **Stochastic policies (S, A)
    get one arrow per action of positive probability**, starting at the cell centre, with length
    proportional to the probability (an equiprobable policy shows a cross; a near-deterministic
    one a single long arrow); non-directional actions of positive probability are written as
    ``label:p``.

    Special cells, detected from the model itself:

    - *action has no effect* (hatched ``///``, no arrow): every available action has the same
      transition row and reward, e.g. the absorbing terminal corners of the S&B 4x4 grid, the
      holes and goal of FrozenLake (all actions end the episode), the A and B cells of the S&B
      5x5 grid; absorbing zero-reward states (:func:`mdpkit.structure.terminal_states`) with a
      single action count too.  The cell shows its label without coordinates (``"H"``,
      ``"terminal"``, ``"A"``), or ``"any"``.
    - *unreachable from* ``mu0`` (dotted ``..``, faded arrow, tag in the corner): no policy
      reaches the cell from the initial distribution, e.g. the cliff and goal cells of
      CliffWalking; the policy there does not affect the return from ``mu0``.

    Off-grid states (``S > rows*cols``) are listed with their action in the title.

    Parameters
    ----------
    mdp : TabularMDP
        A model with ``grid_shape``.
    policy : array_like of int, shape (S,), or of float, shape (S, A)
        Deterministic or stochastic policy, validated by :func:`mdpkit.policies.check_policy`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is created if omitted.
    v : array_like of shape (S,), optional
        Values drawn underneath as a heat map with a colorbar (no numbers in the cells).
    title : str, optional
        Title; ``mdp.name`` (or ``"policy"``) if omitted.  The off-grid note is appended.
    cmap : str, default "viridis"
        Colormap of the heat map.

    Returns
    -------
    matplotlib.figure.Figure
        The arrows are ``matplotlib.quiver.Quiver`` objects with gid ``"policy"`` (reachable
        cells) and ``"policy-unreachable"``; their ``X, Y`` are cell centres (column, row) and
        ``U, V`` the arrow in (column, row) units, so ``V < 0`` points up.

    Raises
    ------
    InvalidArgumentError
        If the model has no ``grid_shape`` or ``v`` has the wrong shape or is not finite.
    InvalidPolicyError
        If ``policy`` is not a valid policy of ``mdp``.

    Examples
    --------
    >>> from mdpkit.generators import gridworld_5x5
    >>> from mdpkit.solvers import policy_iteration
    >>> from mdpkit.plotting import plot_policy
    >>> m = gridworld_5x5()
    >>> res = policy_iteration(m)
    >>> fig = plot_policy(m, res.policy, v=res.v)
    """
    from matplotlib.patches import Patch, Rectangle

    from .policies import check_policy
    from .structure import reachable_states, terminal_states

    rows, cols, n = _grid(mdp, "plot_policy")
    pi = check_policy(mdp, policy)
    vv = None if v is None else _check_values(mdp, v)
    fig, ax = _axes(ax, _figsize(rows, cols))
    if vv is not None:
        im = _heat(ax, fig, vv[:n].reshape(rows, cols), cmap, "v(s)")
        arrow_kw = dict(color="white", edgecolor="black", linewidth=0.6)
        text_color = lambda s: _text_color(im, vv[s])  # noqa: E731
    else:
        arrow_kw = dict(color="black")
        text_color = lambda s: "black"  # noqa: E731
    _setup_grid_axes(ax, rows, cols)
    ax.grid(which="minor", color="0.75" if vv is None else "white", lw=0.5)
    ax.grid(which="major", visible=False)

    labels = mdp.action_labels or tuple(str(a) for a in range(mdp.A))
    dirs = [_direction(lab) for lab in labels]
    no_effect = _action_irrelevant(mdp) | terminal_states(mdp)
    reach = reachable_states(mdp)  # from the support of mu0, under some policy
    fs = _fontsize(fig, ax, rows, cols)
    probs = np.eye(mdp.A)[pi] if pi.ndim == 1 else pi
    if pi.ndim == 1:
        length, pivot, shape = 0.7, "middle", dict(width=0.07, headwidth=3.2, headlength=3.2, headaxislength=2.8)
    else:
        length, pivot, shape = 0.46, "tail", dict(width=0.03, headwidth=2.6, headlength=2.2, headaxislength=2.0)

    arrows = {True: [], False: []}  # reachable -> [(x, y, u, v)]
    for s in range(n):
        r, c = divmod(s, cols)
        tag = _cell_tag(mdp.state_labels[s] if mdp.state_labels is not None else None)
        if no_effect[s]:
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.5", lw=0))
            ax.text(c, r, tag or "any", ha="center", va="center", fontsize=fs, color=text_color(s), fontweight="bold")
            continue
        if not reach[s]:
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, hatch="..", edgecolor="0.5", lw=0))
            if tag:
                ax.text(c - 0.45, r - 0.45, tag, ha="left", va="top", fontsize=0.7 * fs, color=text_color(s))
        words = []
        for a in np.flatnonzero(probs[s] > 0):
            p = float(probs[s, a])
            if dirs[a] is None:
                words.append(labels[a] if pi.ndim == 1 else f"{labels[a]}:{p:.2g}")
            else:
                dx, dy = dirs[a]
                L = length * (1.0 if pi.ndim == 1 else p)
                arrows[bool(reach[s])].append((c, r, L * dx, L * dy))
        if words:
            ax.text(c, r, "\n".join(words), ha="center", va="center", fontsize=0.8 * fs, color=text_color(s))
    for ok, gid, alpha in ((True, "policy", 1.0), (False, "policy-unreachable", 0.35)):
        if arrows[ok]:
            X, Y, U, V = np.array(arrows[ok], dtype=float).T
            q = ax.quiver(
                X, Y, U, V, angles="xy", scale_units="xy", scale=1, units="xy", pivot=pivot, alpha=alpha,
                **shape, **arrow_kw,
            )
            q.set_gid(gid)

    handles = []
    if no_effect[:n].any():
        handles.append(Patch(facecolor="none", edgecolor="0.5", hatch="///", label="action has no effect"))
    if (~reach[:n] & ~no_effect[:n]).any():
        handles.append(Patch(facecolor="none", edgecolor="0.5", hatch="..", label="unreachable from mu0"))
    if handles:
        ax.legend(
            handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1 - 0.25 / rows), ncol=2, fontsize=8,
            frameon=False,
        )

    def describe(s: int) -> str:
        if no_effect[s]:
            return "action has no effect"
        acts = np.flatnonzero(probs[s] > 0)
        if pi.ndim == 1:
            return labels[int(pi[s])]
        return ", ".join(f"{labels[a]}:{probs[s, a]:.2g}" for a in acts)

    note = _off_grid_note(mdp, n, describe)
    ax.set_title(_with_note(title, mdp.name or "policy", note), fontsize=10)
    return fig


# ================================================================================ distributional
def _law_rows(returns, who: str):
    """``[(x, p), ...]`` per row of a CategoricalReturns / QuantileReturns / FiniteReturns."""
    if not hasattr(returns, "laws"):
        raise InvalidArgumentError(f"{who} must be a CategoricalReturns, QuantileReturns or FiniteReturns, "
                                   f"got {type(returns).__name__}")
    return returns.laws()


def _step_cdf(x, p):
    """Sorted atoms and the right-continuous CDF just after each (equal atoms merged)."""
    x, p = np.asarray(x, float), np.asarray(p, float)
    pos = p > 0  # zero-mass atoms (e.g. unused categorical atoms) do not move the CDF
    if pos.any():
        x, p = x[pos], p[pos]
    order = np.argsort(x, kind="mergesort")
    xs, cum = x[order], np.cumsum(p[order])
    keep = np.append(xs[1:] != xs[:-1], True)
    return xs[keep], np.minimum(cum[keep], 1.0)


def _quantile_fn(x, p, tau):
    xs, cum = _step_cdf(x, p)
    idx = np.searchsorted(cum, np.asarray(tau) - 1e-12, side="left")
    return xs[np.minimum(idx, xs.shape[0] - 1)]


def plot_return_cdf(returns, *, states=None, mc=None, delta: float = 0.05, kind: str = "cdf", ax=None,
                    title: str | None = None):
    r"""Return-distribution CDFs (or quantile functions) per state, with a Monte Carlo overlay and DKW band.

    Parameters
    ----------
    returns : CategoricalReturns, QuantileReturns, FiniteReturns, or dict {label: one of those}
        Laws with ``batch_shape == (S,)``; a dict overlays several representations.
    states : sequence of int, optional
        Rows to draw; default every state when ``S <= 4``, else state 0.
    mc : MonteCarloReturns or sequence of them, optional
        Samples (:func:`mdpkit.distributions.sample_returns`) drawn as the empirical CDF (grey
        steps) with the simultaneous ``1 - delta`` DKW band
        (:meth:`~mdpkit.distributions.MonteCarloReturns.cdf_band`, which also widens by the
        truncation error); each is matched to its ``state``.
    delta : float, default 0.05
    kind : {"cdf", "quantile"}
        ``"cdf"``: :math:`F(x)` against the return; ``"quantile"``: :math:`F^{-1}(\tau)` against
        :math:`\tau` (band from :meth:`~mdpkit.distributions.MonteCarloReturns.quantile_band`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidArgumentError
        Unknown ``kind``, a state out of range, or objects of the wrong type.
    """
    if kind not in ("cdf", "quantile"):
        raise InvalidArgumentError(f"kind must be 'cdf' or 'quantile', got {kind!r}")
    named = dict(returns) if isinstance(returns, dict) else {"": returns}
    rows = {lab: _law_rows(r, "returns" if not lab else f"returns[{lab!r}]") for lab, r in named.items()}
    S = len(next(iter(rows.values())))
    if any(len(r) != S for r in rows.values()):
        raise InvalidArgumentError("all representations in returns must have the same number of states")
    if states is None:
        states = list(range(S)) if S <= 4 else [0]
    states = [int(s) for s in states]
    for s in states:
        if not 0 <= s < S:
            raise InvalidArgumentError(f"state {s} is out of range [0, {S})")
    mcs = [] if mc is None else ([mc] if hasattr(mc, "samples") else list(mc))
    for m in mcs:
        if not hasattr(m, "cdf_band"):
            raise InvalidArgumentError(f"mc must hold MonteCarloReturns, got {type(m).__name__}")
    fig, ax = _axes(ax, (6.4, 4.2))
    import matplotlib.pyplot as plt

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = ["-", "--", ":", "-."]
    tau = np.linspace(0.0005, 0.9995, 2000)
    for i, s in enumerate(states):
        col = colors[i % len(colors)]
        for j, (lab, rr) in enumerate(rows.items()):
            x, p = rr[s]
            name = f"state {s}" + (f", {lab}" if lab else "")
            if kind == "cdf":
                xs, cum = _step_cdf(x, p)
                ax.step(np.concatenate(([xs[0]], xs)), np.concatenate(([0.0], cum)), where="post", color=col,
                        linestyle=styles[j % len(styles)], label=name)
            else:
                ax.plot(tau, _quantile_fn(x, p, tau), color=col, linestyle=styles[j % len(styles)], label=name,
                        drawstyle="steps-post")
        for m in (mm for mm in mcs if mm.state == s):
            n = m.samples.shape[0]
            if kind == "cdf":
                span = max(m.samples[-1] - m.samples[0], 1e-3 * max(1.0, abs(m.samples[0])), 2 * m.truncation_error)
                grid = np.linspace(m.samples[0] - 0.05 * span, m.samples[-1] + 0.05 * span, 800)
                emp = np.searchsorted(m.samples, grid, side="right") / n
                lo, hi = m.cdf_band(grid, delta)
                ax.fill_between(grid, lo, hi, step="post", color=col, alpha=0.15, linewidth=0,
                                label=f"state {s}, DKW {1 - delta:.0%} band (n={n})")
                ax.step(grid, emp, where="post", color="0.35", linewidth=0.8, label=f"state {s}, Monte Carlo")
            else:
                lo, hi = m.quantile_band(tau, delta)
                k = np.clip(np.ceil(tau * n - 1e-9).astype(np.int64) - 1, 0, n - 1)
                ax.fill_between(tau, np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(hi), hi, np.nan),
                                color=col, alpha=0.15, linewidth=0, label=f"state {s}, DKW {1 - delta:.0%} band (n={n})")
                ax.plot(tau, m.samples[k], color="0.35", linewidth=0.8, drawstyle="steps-post",
                        label=f"state {s}, Monte Carlo")
    if kind == "cdf":
        ax.set_xlabel("return G")
        ax.set_ylabel("CDF  P(G <= x)")
        ax.set_ylim(-0.02, 1.02)
    else:
        ax.set_xlabel("level tau")
        ax.set_ylabel("quantile  F^{-1}(tau)")
        ax.set_xlim(0.0, 1.0)
    ax.set_title(title if title is not None else ("return distributions" if kind == "cdf" else "return quantile functions"))
    ax.legend(fontsize="small")
    return ax


def plot_cvar_vs_alpha(dists, *, state: int = 0, alphas=None, ax=None, title: str | None = None):
    r"""Lower-tail CVaR against the risk level :math:`\alpha` for several policies / distributions.

    :math:`\mathrm{CVaR}_\alpha` follows :mod:`mdpkit.distributions` (lower tail, CVaR_1 = mean,
    CVaR_0 = the smallest atom); each curve is non-decreasing in :math:`\alpha` and ends at the
    mean, marked with a dot.

    Parameters
    ----------
    dists : dict {label: returns}
        Each value a CategoricalReturns / QuantileReturns / FiniteReturns (row ``state`` is used)
        or an ``(x, p)`` pair of 1-D arrays.
    state : int, default 0
    alphas : array_like, optional
        Levels in [0, 1]; default 201 points.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .distributions import cvar as _cvar

    if not isinstance(dists, dict) or not dists:
        raise InvalidArgumentError("dists must be a non-empty dict {label: distribution}")
    a = np.linspace(0.0, 1.0, 201) if alphas is None else np.asarray(alphas, dtype=float)
    if a.ndim != 1 or a.size == 0 or np.any((a < 0) | (a > 1)) or not np.all(np.isfinite(a)):
        raise InvalidArgumentError("alphas must be a non-empty 1-D array of levels in [0, 1]")
    fig, ax = _axes(ax, (6.0, 4.0))
    for lab, d in dists.items():
        if isinstance(d, tuple) and len(d) == 2:
            x, p = np.asarray(d[0], float), np.asarray(d[1], float)
        else:
            rows = _law_rows(d, f"dists[{lab!r}]")
            if not 0 <= int(state) < len(rows):
                raise InvalidArgumentError(f"state {state} is out of range [0, {len(rows)})")
            x, p = rows[int(state)]
        y = np.array([_cvar(x, p, float(al)) for al in a])
        (line,) = ax.plot(a, y, label=str(lab))
        ax.plot([1.0], [_cvar(x, p, 1.0)], "o", color=line.get_color(), markersize=4)
    ax.set_xlabel("risk level alpha (lower-tail fraction)")
    ax.set_ylabel("CVaR_alpha of the return")
    ax.set_xlim(0.0, 1.0)
    ax.set_title(title if title is not None else f"CVaR against alpha (state {state}); dot = mean")
    ax.legend(fontsize="small")
    return ax


def plot_stock_policy(policy_grid, stocks, ax=None, state_labels=None, action_labels=None):
    """Heat map of a 2-D integer array (actions) over (state, stock grid), with a categorical legend.

    Parameters
    ----------
    policy_grid : array_like of int, shape (S, n_stocks)
        ``policy_grid[s, j]`` is the action taken in state ``s`` with stock ``stocks[j]``.
    stocks : array_like, shape (n_stocks,)
        Stock values (x-axis tick labels).
    ax : matplotlib Axes, optional
    state_labels : sequence of str, optional
        One per state (y-axis); default ``s0, s1, ...``.
    action_labels : sequence of str, optional
        One per action index (``len >= max action + 1``); default ``a0, a1, ...``.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InvalidArgumentError
        ``policy_grid`` not a 2-D array of non-negative integers, or lengths of ``stocks`` /
        labels that do not match it.
    """
    g = np.asarray(policy_grid)
    if g.ndim != 2 or g.size == 0:
        raise InvalidArgumentError(f"policy_grid must be a non-empty 2-D array (S, n_stocks), got shape {g.shape}")
    if g.dtype.kind not in "iu":
        if g.dtype.kind == "f" and np.all(np.isfinite(g)) and np.all(g == np.round(g)):
            g = g.astype(np.int64)
        else:
            raise InvalidArgumentError(f"policy_grid must hold integer actions, got dtype {g.dtype}")
    if np.any(g < 0):
        raise InvalidArgumentError(f"policy_grid holds a negative action {int(g.min())}")
    z = np.asarray(stocks)
    if z.ndim != 1 or z.shape[0] != g.shape[1]:
        raise InvalidArgumentError(f"stocks must have shape (n_stocks,) = ({g.shape[1]},), got {z.shape}")
    S, n = g.shape
    n_act = int(g.max()) + 1
    if state_labels is not None and len(state_labels) != S:
        raise InvalidArgumentError(f"state_labels must have {S} entries, got {len(state_labels)}")
    if action_labels is not None and len(action_labels) < n_act:
        raise InvalidArgumentError(f"action_labels must name every action 0..{n_act - 1}, got {len(action_labels)}")
    fig, ax = _axes(ax, (max(4.0, min(12.0, 0.35 * n + 2.5)), max(2.5, min(9.0, 0.4 * S + 1.5))))
    import matplotlib.colors as mcolors
    from matplotlib.patches import Patch

    used = np.unique(g)
    base = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
            "tab:olive", "tab:cyan"]
    palette = [base[i % len(base)] for i in range(n_act)]
    cmap = mcolors.ListedColormap(palette)
    norm = mcolors.BoundaryNorm(np.arange(n_act + 1) - 0.5, n_act)
    ax.imshow(g, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest", origin="upper")
    step = max(1, int(np.ceil(n / 15)))
    ax.set_xticks(np.arange(0, n, step))
    ax.set_xticklabels([f"{float(v):.3g}" for v in z[::step]], rotation=45 if n > 8 else 0)
    ax.set_yticks(np.arange(S))
    ax.set_yticklabels(list(state_labels) if state_labels is not None else [f"s{s}" for s in range(S)])
    ax.set_xlabel("stock")
    ax.set_ylabel("state")
    names = list(action_labels) if action_labels is not None else [f"a{a}" for a in range(n_act)]
    ax.legend(handles=[Patch(facecolor=palette[a], label=str(names[a])) for a in used], title="action",
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    ax.set_title("policy over (state, stock)")
    return ax



# ------------------------------------------------------------------------------ regret plots
def _regret_bands(P: np.ndarray, idx: np.ndarray, level: float, n_boot: int, seed: int):
    """Pointwise percentile-bootstrap band of the mean over runs, and a simultaneous (sup-t) band.

    The simultaneous band is mean +- q se(t), q the ``level`` quantile over bootstrap resamples of
    max_t |mean_b(t) - mean(t)| / se(t): it covers the whole mean curve at once (at the points drawn).
    """
    rng = np.random.default_rng(seed)
    X = P[:, idx]
    n = X.shape[0]
    m = X.mean(axis=0)
    if n < 2:
        return m, None, None
    B = rng.integers(0, n, size=(n_boot, n))
    boot = np.stack([X[b].mean(axis=0) for b in B])
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(boot, [a, 1.0 - a], axis=0)
    se = X.std(axis=0, ddof=1) / np.sqrt(n)
    se[np.ptp(X, axis=0) == 0] = 0.0  # constant columns: the std is round-off, not spread
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, np.abs(boot - m) / np.where(se > 0, se, 1.0), 0.0)
    q = float(np.quantile(z.max(axis=1), level))
    return m, (lo, hi), (m - q * se, m + q * se)


def plot_regret(results, *, bounds=None, lower=None, scale: str = "linear", band: str = "both",
                level: float = 0.95, n_boot: int = 400, n_points: int = 200, seed: int = 0, ax=None,
                title: str | None = None):
    """Mean cumulative pseudo-regret against the round, with confidence bands and bound overlays.

    Parameters
    ----------
    results : LearningResult or dict of str to LearningResult
        Runs to draw (``pseudo_regret`` (n_runs, T)); the exact ``expected_regret`` is drawn as a
        dotted line where the result has it (``expected_regret_exact``).
    bounds : dict of str to callable or array, optional
        Upper bounds to overlay: ``label -> f(t) -> Bound or float`` evaluated on the drawn rounds,
        or an array (T,).
    lower : dict of str to callable or array, optional
        Lower bounds (e.g. the Lai-Robbins line ``C log t``), drawn dashed.
    scale : {"linear", "logx", "loglog"}
        ``logx`` shows logarithmic regret as a straight line; ``loglog`` shows polynomial regret
        as a line and adds the least-squares slope over the last decade of rounds to each label.
    band : {"both", "bootstrap", "simultaneous", "none"}
        Pointwise percentile-bootstrap band of the mean (``level``), and/or the simultaneous sup-t
        bootstrap band that covers the whole mean curve at once.
    n_points : int
        Rounds drawn (evenly spaced, or geometrically on log-x axes).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidArgumentError
        Empty results, results of different horizons, unknown scale or band.
    """
    if scale not in ("linear", "logx", "loglog"):
        raise InvalidArgumentError(f"scale must be 'linear', 'logx' or 'loglog', got {scale!r}")
    if band not in ("both", "bootstrap", "simultaneous", "none"):
        raise InvalidArgumentError(f"band must be 'both', 'bootstrap', 'simultaneous' or 'none', got {band!r}")
    if not 0.0 < level < 1.0:
        raise InvalidArgumentError(f"level must lie in (0, 1), got {level}")
    items = list(results.items()) if isinstance(results, dict) else [(getattr(results, "method", "run"), results)]
    if not items:
        raise InvalidArgumentError("results is empty; give at least one LearningResult")
    Ts = {np.asarray(r.pseudo_regret).shape[1] for _, r in items}
    if len(Ts) != 1:
        raise InvalidArgumentError(f"results have different horizons {sorted(Ts)}; plot them separately")
    T = Ts.pop()
    if scale == "linear":
        idx = np.unique(np.linspace(0, T - 1, min(n_points, T)).astype(int))
    else:
        idx = np.unique(np.geomspace(1, T, min(n_points, T)).astype(int)) - 1
    t = idx + 1.0
    fig, ax = _axes(ax, (7.0, 4.5))
    colors = [f"C{i}" for i in range(10)]
    for i, (label, r) in enumerate(items):
        c = colors[i % 10]
        P = np.asarray(r.pseudo_regret, dtype=float)
        m, boot, simul = _regret_bands(P, idx, level, n_boot, seed)
        lab = f"{label} (mean of {P.shape[0]})"
        if scale == "loglog":
            tail = t >= t[-1] / 10.0
            ok = tail & (m > 0)
            if ok.sum() >= 3:
                slope = float(np.polyfit(np.log(t[ok]), np.log(m[ok]), 1)[0])
                lab += f", slope {slope:.2f}"
        ax.plot(t, m, color=c, lw=1.8, label=lab)
        if band in ("both", "bootstrap") and boot is not None:
            ax.fill_between(t, boot[0], boot[1], color=c, alpha=0.25, lw=0)
        if band in ("both", "simultaneous") and simul is not None:
            ax.plot(t, simul[0], color=c, lw=0.7, ls=":")
            ax.plot(t, simul[1], color=c, lw=0.7, ls=":")
        if getattr(r, "expected_regret_exact", False):
            ax.plot(t, np.asarray(r.expected_regret)[idx], color=c, lw=1.2, ls="-.", label=f"{label} exact E[R]")

    def overlay(d, style):
        for j, (label, f) in enumerate((d or {}).items()):
            if callable(f):
                y = np.array([float(getattr(f(int(tt)), "value", f(int(tt)))) for tt in t])
            else:
                y = np.asarray(f, dtype=float)[idx]
            ax.plot(t, y, color="k", lw=1.2, ls=style, alpha=0.85 - 0.2 * (j % 3), label=label)

    overlay(bounds, "-")
    overlay(lower, "--")
    if scale in ("logx", "loglog"):
        ax.set_xscale("log")
    if scale == "loglog":
        ax.set_yscale("log")
    what = {"both": f"{level:.0%} bootstrap band (shaded), simultaneous band (dotted)",
            "bootstrap": f"{level:.0%} bootstrap band", "simultaneous": f"{level:.0%} simultaneous band", "none": ""}[band]
    ax.set_xlabel("round t")
    ax.set_ylabel("cumulative pseudo-regret")
    ax.set_title(title if title is not None else ("regret" + (f"; {what}" if what else "")), fontsize="medium")
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    return fig


# --------------------------------------------------------------------------------- transition graph
#: Largest number of states :func:`plot_transition_graph` draws (beyond it a drawing is unreadable).
_GRAPH_MAX_STATES = 400


def plot_transition_graph(mdp, policy=None, *, ax=None, title: str | None = None, labels: bool | None = None):
    """Draw the transition graph of a small MDP with its communicating classes coloured.

    Nodes are states, an edge ``s -> s'`` means one step can move ``s`` to ``s'`` with positive
    probability (:func:`mdpkit.structure.transition_graph`: under some available action, or
    under ``policy``).  Each communicating class has its own colour; closed (recurrent) classes
    get a thick black outline and their period in the legend; transient states a dashed grey
    outline.  Grid models (``mdp.grid_shape``) are laid out on their grid, others with
    networkx's Kamada-Kawai layout (deterministic).

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like, optional
        Deterministic (S,) or stochastic (S, A); draws the chain of ``P_pi``.
    ax : matplotlib Axes, optional
    title : str, optional
        Default: the classification label (:func:`mdpkit.structure.classify`).
    labels : bool, optional
        Write the state indices in the nodes (default when S <= 40).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidArgumentError
        More than 400 states, or ``ax`` is not an Axes.
    """
    import matplotlib.colors as mcolors
    import networkx as nx
    from matplotlib.lines import Line2D

    from . import structure

    if mdp.S > _GRAPH_MAX_STATES:
        raise InvalidArgumentError(f"plot_transition_graph draws at most {_GRAPH_MAX_STATES} states, got S={mdp.S}")
    S = mdp.S
    side = max(4.0, min(10.0, 1.2 * S ** 0.5))
    fig, ax = _axes(ax, (side + 3.5, side))
    G = structure.transition_graph(mdp, policy)
    c = structure.classify(mdp, policy)
    comm = c.communicating_classes
    closed = {tuple(k): d for k, d in zip(c.closed_classes, c.periods)}
    grid = getattr(mdp, "grid_shape", None)
    if grid is not None and grid[0] * grid[1] <= S:
        rows, cols = grid
        pos = {s: (s % cols, -(s // cols)) for s in range(rows * cols)}
        rest = [s for s in range(S) if s not in pos]
        for j, s in enumerate(rest):
            pos[s] = (cols + 0.8, -j)
    else:
        pos = nx.kamada_kawai_layout(G) if S > 1 else {0: (0.0, 0.0)}
    palette = list(mcolors.TABLEAU_COLORS.values())
    handles = []
    for i, cls in enumerate(comm):
        col = palette[i % len(palette)]
        is_closed = tuple(cls) in closed
        nx.draw_networkx_nodes(G, pos, nodelist=cls, node_color=col, ax=ax, node_size=300 if S <= 60 else 80,
                               edgecolors="black" if is_closed else "grey", linewidths=2.5 if is_closed else 1.0,
                               alpha=1.0 if is_closed else 0.55)
        if i < 12:
            what = f"closed, period {closed[tuple(cls)]}" if is_closed else "transient"
            handles.append(Line2D([], [], marker="o", ls="", color=col, markeredgecolor="black" if is_closed else "grey",
                                  label=f"class {i} ({len(cls)} states, {what})"))
    nx.draw_networkx_edges(G, pos, ax=ax, arrows=True, arrowsize=8, width=0.6, alpha=0.5,
                           node_size=300 if S <= 60 else 80, connectionstyle="arc3,rad=0.08")
    if labels if labels is not None else S <= 40:
        nx.draw_networkx_labels(G, pos, labels={s: str(s) for s in range(S)}, ax=ax, font_size=7)
    if len(comm) > 12:
        handles.append(Line2D([], [], ls="", label=f"... {len(comm) - 12} more classes"))
    ax.legend(handles=handles, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    import textwrap

    default = f"{getattr(mdp, 'name', '') or 'MDP'}: {c.label}" + ("" if policy is None else " (under the policy)")
    ax.set_title("\n".join(textwrap.wrap(title if title is not None else default, 60)), fontsize="medium")
    ax.set_axis_off()
    return fig

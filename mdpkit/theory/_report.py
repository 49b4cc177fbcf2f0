"""``verify``: run many theorem checks, print a table, write plots and a JSON report."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._core import MUTATION_BOUND_SCALE, CheckResult, check, get, list_theorems

__all__ = ["Report", "verify", "format_table", "write_report"]

COLUMNS = {
    "theorem": "registered name (mdpkit list theorems)",
    "source": "paper or book, theorem number; '*' = the number was not checked against the source text",
    "eff": "distinct effective instances: deduplicated, non-degenerate (S >= 2, gamma >= 0.05), tight ones "
           "included; edge cases (gamma = 0, S = 1) run too but are not counted",
    "gamma": "range of gamma over the effective instances",
    "S": "range of S over the effective instances",
    "worst": "largest observed/bound ratio over all instances; <= 1 means the bound held everywhere, "
             "near 1 means some instance is tight (identities: residual / round-off slack)",
    "tight": "largest ratio on the theorem's tight instances (literature or constructed), '-' if it has none",
    "rate": "largest fitted/claimed ratio of the geometric rate over instances (<= 1 holds), with the claimed rate",
    "control": "the negative controls (deliberately wrong subjects breaking the claim) must FAIL the same check; "
               "'fails' means the check is not vacuous, 'ERROR' that a control raised",
    "power": "mutation control: the same observations against the bound x 1/2 and the claimed rate squared must "
             "FAIL; 'ok' if they do, 'LOW' (low power, reason below) if the check could not see a factor 2",
    "verdict": "PASS, FAIL (the theorem's claim was violated), VACUOUS (a control passed too) or ERROR "
               "(the subject or a control raised)",
}


@dataclass
class Report:
    """Results of :func:`verify`: one :class:`CheckResult` per theorem."""

    results: list
    seed: int
    n_examples: int
    wall_time: float = 0.0
    files: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def table(self) -> str:
        return format_table(self.results)

    def to_dict(self) -> dict:
        return {"seed": self.seed, "n_examples": self.n_examples, "ok": self.ok, "wall_time": self.wall_time,
                "n_results": len(self.results), "n_low_power": sum(r.low_power for r in self.results),
                "columns": COLUMNS, "checks": [r.to_dict() for r in self.results]}


def _f(x, nd=3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{nd}g}"


def _rng(r, nd=2) -> str:
    if r is None:
        return "-"
    lo, hi = r
    if isinstance(lo, float):
        return f"{lo:.{nd}f}" if lo == hi else f"{lo:.{nd}f}-{hi:.{nd}f}"
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def format_table(results) -> str:
    """Plain-text table of check results (columns explained in ``COLUMNS``), with footnotes.

    Footnotes list every low-power reason, every control error and every subject error, so the
    printed table carries everything a reader needs to judge a PASS.
    """
    head = list(COLUMNS)
    rows, notes = [], []
    for r in results:
        th = r.theorem
        rate = "-" if r.rate_ratio is None and not r.claimed_rate else f"{_f(r.rate_ratio)} ({r.claimed_rate or '-'})"
        if r.control_errors:
            ctrl = "ERROR"
        else:
            ctrl = {True: "fails", False: "PASSES", None: "-"}[r.control_failed]
            if r.controls and len(r.controls) > 1:
                ctrl += f" {sum(c['fails'] for c in r.controls)}/{len(r.controls)}"
        power = {"ok": "ok", "n/a": "-"}.get(r.power, "LOW")
        src = th.source if th.source_checked else th.source + " *"
        rows.append([th.name, src, str(r.n_effective), _rng(r.gamma_range), _rng(r.S_range), _f(r.worst_ratio),
                     _f(r.tight_ratio), rate, ctrl, power, r.verdict])
        if r.low_power:
            notes.append(f"{th.name}: {r.power}")
        for e in r.control_errors[:3]:
            notes.append(f"{th.name}: control error: {e}")
        for e in r.errors[:3]:
            notes.append(f"{th.name}: error: {e}")
    src_w = 40
    for row in rows:
        if len(row[1]) > src_w:
            row[1] = row[1][: src_w - 5] + "... *" if row[1].endswith(" *") else row[1][: src_w - 3] + "..."
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    if any(not r.theorem.source_checked for r in results):
        out.append("\n* theorem number not checked against the source text")
    if notes:
        out.append("")
        out += notes
    return "\n".join(out)


def _short(label: str) -> str:
    """Legend label: drop a zoo model's long description in parentheses."""
    import re

    return re.sub(r"\s*\([^)]*\)", "", label)


def _on_axis(x, y) -> np.ndarray:
    """Place ``y`` at integer iterations ``x`` (NaN elsewhere), since plots index by iteration."""
    out = np.full(int(np.max(x)) + 1, np.nan)
    out[np.asarray(x, dtype=int)] = y
    return out


#: ratios below this are drawn in the lowest bin of the log-axis histograms
RATIO_FLOOR = 1e-6


def _log_hist(ax, ratios, title: str, half: bool = True) -> None:
    """Histogram of ratios on a log axis (ratios <= RATIO_FLOOR collected in the first bin).

    Drawn as one filled step artist (``Axes.stairs``) with fixed legend placement and no minor
    ticks, which keeps dozens of panels cheap to render.
    """
    from matplotlib.ticker import LogLocator, NullLocator

    r = np.asarray([x for x in ratios if x is not None], dtype=float)
    n_nan = int(np.isnan(r).sum())
    r = r[~np.isnan(r)]
    n_inf = int(np.isinf(r).sum())
    fin = r[np.isfinite(r)]
    n_low = int((fin <= RATIO_FLOOR).sum())
    hi = max(2.0, float(fin.max()) * 1.5) if fin.size else 2.0
    bins = np.logspace(math.log10(RATIO_FLOOR), math.log10(hi), 32)
    counts, _ = np.histogram(np.clip(fin, RATIO_FLOOR * 1.0001, None), bins=bins)
    ax.stairs(counts, bins, fill=True, color="C0", alpha=0.85,
              label=f"{fin.size} instances" + (f" ({n_low} at <= {RATIO_FLOOR:g})" if n_low else ""))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10.0, numticks=8))
    ax.xaxis.set_minor_locator(NullLocator())
    n_above = int((r > 1.0).sum())
    worst = f"max {np.max(r):.4g}" if r.size else "max undefined"
    ax.axvline(1.0, color="C3", ls="--", lw=1.5, label=f"bound: {n_above} of {r.size} above ({worst})")
    if half:
        ax.axvline(MUTATION_BOUND_SCALE, color="C1", ls=":", lw=1.2, label="ratio 1/2: a halved bound fails above")
    if n_inf or n_nan:
        ax.plot([], [], " ", label=f"not shown: {n_inf} inf, {n_nan} NaN")
    ax.set_xlim(RATIO_FLOOR, hi)
    ax.set_ylim(0, max(1, int(counts.max()) if counts.size else 1) * 1.35)
    ax.set_xlabel("observed / bound (log scale)")
    ax.set_ylabel("instances")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper left")


def plot_check(res: CheckResult, path: str) -> str:
    """Write the PNG of one check.

    Trace checks: the tightest traces against their bounds (log scale) and the ratio histogram.
    Multi-part checks: one log-axis ratio histogram per part.  Others: one log-axis histogram.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from mdpkit import plotting

    th = res.theorem
    obs = res.observations
    traced = [o for o in obs if o.x is not None and o.observed.size > 1 and np.all(np.diff(o.x) > 0)]
    parts = tuple(th.parts) if len(th.parts) > 1 else ()
    n_panels = (1 if th.plot == "trace" and traced else 0) + (len(parts) if parts else 1)
    fig, axes = plt.subplots(1, n_panels, figsize=(5.2 * n_panels, 4.3), squeeze=False)
    axes = list(axes[0])
    if th.plot == "trace" and traced:
        ax = axes.pop(0)
        tight, seen = [], set()
        for o in sorted(traced, key=lambda o: -o.ratio if math.isfinite(o.ratio) else 0):
            if _short(o.label) not in seen and len(tight) < 4:  # distinct models, tightest first
                seen.add(_short(o.label))
                tight.append(o)
        plotting.plot_convergence({_short(o.label): _on_axis(o.x, o.observed) for o in tight},
                                  {_short(o.label): _on_axis(o.x, o.bound) for o in tight},
                                  ax=ax, ylabel=th.ylabel, title=f"{th.name}: tightest instances")
    if parts:
        per = np.array([o.part_ratios(len(parts)) for o in obs], dtype=float).reshape(-1, len(parts))
        for j, (ax, p) in enumerate(zip(axes, parts)):
            col = per[:, j]
            _log_hist(ax, col[~np.isnan(col)], f"part {j + 1}: {p}", half=th.has_mutation)
    else:
        _log_hist(axes[0], [o.ratio for o in obs], f"{th.name}: observed/bound, {res.n_instances} instances",
                  half=th.has_mutation)
    width = int(fig.get_figwidth() * 13)
    flag = "" if th.source_checked else " (theorem number not checked against the text)"
    power = {"ok": "ok", "n/a": "n/a"}.get(res.power, "LOW (see report.json)")
    fig.suptitle(textwrap.fill(th.statement, width) + "\n" +
                 textwrap.fill(f"{th.source}{flag}  -  {res.verdict}, power {power}", width), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def verify(
    theorems=None,
    *,
    n_examples: int = 25,
    seed: int = 0,
    out: str | None = None,
    plots: bool = True,
    negative_control: bool = True,
    progress: bool = False,
) -> Report:
    """Run theorem checks and (optionally) write ``report.json`` and one PNG per theorem to ``out``.

    Parameters
    ----------
    theorems : list of str, optional
        Registered names; the default set when omitted.
    n_examples : int
        Random instances per theorem.
    seed : int
        Seed of the instance draws (same seed, same instances, same report).
    out : str, optional
        Directory for ``report.json`` and ``<theorem>.png`` (created if missing).
    progress : bool
        Show a tqdm progress bar on stderr.
    """
    names = [t.name for t in list_theorems(default_only=True)] if not theorems else list(theorems)
    ths = [get(n) for n in names]  # unknown names fail before any work
    t0 = time.perf_counter()
    it = ths
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(ths, desc="theorems", unit="check")
    results = []
    for th in it:
        if progress:
            it.set_postfix_str(th.name)
        results.append(check(th, n_examples=n_examples, seed=seed, negative_control=negative_control))
    rep = Report(results, seed=seed, n_examples=n_examples, wall_time=time.perf_counter() - t0)
    if out:
        write_report(rep, out, plots=plots)
    return rep


def write_report(rep: Report, out: str, *, plots: bool = True) -> list:
    """Write ``report.json`` (atomically) and, if ``plots``, ``<theorem>.png`` per check into ``out``."""
    from mdpkit.io import atomic_write

    os.makedirs(out, exist_ok=True)
    if plots:
        for r in rep.results:
            rep.files.append(plot_check(r, os.path.join(out, f"{r.theorem.name}.png")))
    path = os.path.join(out, "report.json")
    atomic_write(path, (json.dumps(rep.to_dict(), indent=1) + "\n").encode())
    rep.files.append(path)
    return rep.files

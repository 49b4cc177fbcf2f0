"""``verify``: run many theorem checks, print a table, write plots and a JSON report."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from ._core import CheckResult, check, get, list_theorems

__all__ = ["Report", "verify", "format_table", "write_report"]

COLUMNS = {
    "theorem": "registered name (mdpkit list theorems)",
    "source": "paper or book, theorem number",
    "inst": "instances checked (random draws steered toward tight cases, plus zoo models)",
    "worst": "largest observed/bound ratio over all instances; <= 1 means the bound held everywhere, "
             "near 1 means some instance is tight (identities: residual / round-off slack)",
    "median": "median over instances of each instance's worst ratio",
    "rate (claimed)": "largest fitted geometric rate of the error trace, and the rate the theorem claims",
    "control": "the negative control (a deliberately wrong solver/operator) must FAIL the same check; "
               "'fails' means the check is not vacuous",
    "verdict": "PASS, FAIL (the theorem's claim was violated), VACUOUS (the control passed too) or ERROR",
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
                "columns": COLUMNS, "checks": [r.to_dict() for r in self.results]}


def _f(x, nd=3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.{nd}g}"


def format_table(results) -> str:
    """Plain-text table of check results (columns explained in ``COLUMNS``)."""
    head = list(COLUMNS)
    rows = []
    for r in results:
        rate = "-" if r.fitted_rate is None and not r.claimed_rate else f"{_f(r.fitted_rate)} ({r.claimed_rate or '-'})"
        ctrl = {True: "fails", False: "PASSES", None: "-"}[r.control_failed]
        rows.append([r.theorem.name, r.theorem.source, str(r.n_instances), _f(r.worst_ratio), _f(r.median_ratio),
                     rate, ctrl, r.verdict])
    src_w = 44
    for row in rows:
        if len(row[1]) > src_w:
            row[1] = row[1][: src_w - 3] + "..."
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
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


def plot_check(res: CheckResult, path: str) -> str:
    """Write the PNG of one check: traces with their bounds (log scale) or the ratio histogram."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from mdpkit import plotting

    th = res.theorem
    traced = [o for o in res.observations if o.x is not None and o.observed.size > 1 and np.all(np.diff(o.x) > 0)]
    if th.plot == "trace" and traced:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        tight, seen = [], set()
        for o in sorted(traced, key=lambda o: -o.ratio if math.isfinite(o.ratio) else 0):
            if _short(o.label) not in seen and len(tight) < 4:  # distinct models, tightest first
                seen.add(_short(o.label))
                tight.append(o)
        plotting.plot_convergence({_short(o.label): _on_axis(o.x, o.observed) for o in tight},
                                  {_short(o.label): _on_axis(o.x, o.bound) for o in tight},
                                  ax=axes[0], ylabel=th.ylabel, title=f"{th.name}: tightest instances")
        plotting.plot_ratio_hist([o.ratio for o in res.observations], ax=axes[1],
                                 title=f"observed/bound, {res.n_instances} instances")
    else:
        fig, ax = plt.subplots(figsize=(6, 4.2))
        plotting.plot_ratio_hist([o.ratio for o in res.observations], ax=ax,
                                 title=f"{th.name}: observed/bound, {res.n_instances} instances")
    import textwrap

    width = int(fig.get_figwidth() * 13)
    fig.suptitle(textwrap.fill(th.statement, width) + f"\n{th.source}  -  {res.verdict}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
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

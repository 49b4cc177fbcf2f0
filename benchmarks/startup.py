"""Start-up cost: ``import mdpkit`` and a first ``mdpkit solve`` on a small zoo model (warm cache).

Each measurement runs in a fresh interpreter (``subprocess``), so it includes interpreter start,
imports and loading the compiled Numba kernels from the on-disk cache (``cache=True``); the
command is run once beforehand so the cache is warm.  Medians over ``repeats`` runs.

Usage: ``python benchmarks/startup.py [--out DIR] [--repeats N]``; writes ``startup.json`` and
``startup.md`` to DIR (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

COMMANDS = {
    "python -c pass (interpreter only)": [sys.executable, "-c", "pass"],
    "python -c 'import mdpkit'": [sys.executable, "-c", "import mdpkit"],
    "python -c 'import mdpkit.solvers'": [sys.executable, "-c", "import mdpkit.solvers"],
    "mdpkit solve riverswim": [sys.executable, "-m", "mdpkit.cli", "solve", "riverswim"],
    "mdpkit solve gridworld": [sys.executable, "-m", "mdpkit.cli", "solve", "gridworld"],
}


def measure(repeats: int = 5) -> dict:
    out = {}
    for label, cmd in COMMANDS.items():
        subprocess.run(cmd, capture_output=True, check=True)  # warm the caches
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            ts.append(time.perf_counter() - t0)
        ts.sort()
        out[label] = {"median_s": ts[len(ts) // 2], "min_s": ts[0], "runs": ts}
    try:
        out["load_average"] = os.getloadavg()
    except OSError:
        pass
    return out


def markdown(res: dict) -> str:
    lines = ["| command (fresh interpreter, warm Numba cache) | median wall (s) | min (s) |", "|---|---|---|"]
    for k, v in res.items():
        if isinstance(v, dict):
            lines.append(f"| `{k}` | {v['median_s']:.2f} | {v['min_s']:.2f} |")
    if "load_average" in res:
        lines.append("")
        lines.append("Load average while measuring: " + ", ".join(f"{x:.2f}" for x in res["load_average"]) + ".")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    if shutil.which(sys.executable) is None:  # pragma: no cover
        return 1
    res = measure(args.repeats)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "startup.json"), "w") as f:
        json.dump(res, f, indent=1)
    md = "# Start-up time\n\n" + markdown(res) + "\n"
    with open(os.path.join(args.out, "startup.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""LSVI-UCB seconds per episode at K = 10^2, 10^3, 10^4: mdpkit vs rlberry (issue 15).

mdpkit keeps per-stage sufficient statistics (inverse Gram matrix by Sherman-Morrison, sum phi r,
sum phi e_{s'}^T) so an episode costs the same at any K; rlberry-scool's ``LSVIUCBAgent``
re-fits on the whole history every episode (its docstring also says it assumes stage-independent
transitions and uses a simplified bonus), so its cost per episode grows with K.

rlberry is never installed into the main environment: it runs in its own virtual environment
(``python -m venv /tmp/venv_rlberry && /tmp/venv_rlberry/bin/pip install rlberry rlberry-scool``),
called through a subprocess on the same instance (saved to .npz), with a time budget per K.

    python benchmarks/linear_lsvi_ucb.py [--budget 300] [--rlberry-python /tmp/venv_rlberry/bin/python]

Writes ``benchmarks/results/linear_lsvi_ucb.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from linear_report import write_report  # noqa: E402

WORKER = r"""
import json, sys, time
import numpy as np
from rlberry.envs.finite_mdp import FiniteMDP
from rlberry_scool.agents.features import FeatureMap
from rlberry_scool.agents.linear.lsvi_ucb import LSVIUCBAgent

z = np.load(sys.argv[1])
K = int(sys.argv[2])
phi, P, R, H = z["phi"], z["P"].copy(), z["R"], int(z["H"])
# rlberry's FiniteMDP asserts |sum - 1| < 1e-15 per row; our rows are exact to a few ulps
P = P / P.sum(axis=2, keepdims=True)
S, A, d = phi.shape

class Phi(FeatureMap):
    def __init__(self, env):
        self.shape = (d,)
    def map(self, s, a):
        return phi[s, a].copy()

env = FiniteMDP(R, P, initial_state_distribution=0)
agent = LSVIUCBAgent(env, horizon=H, feature_map_fn=Phi, gamma=1.0, bonus_scale_factor=1.0, reg_factor=1.0)
agent.reseed(0)
t = time.perf_counter()
agent.fit(budget=K)
print(json.dumps({"K": K, "seconds": time.perf_counter() - t}))
"""


def instance():
    from mdpkit.linear import simplex_linear_mdp

    m = simplex_linear_mdp(30, 4, 10, horizon=10, rng=0)  # homogeneous: rlberry's assumption holds
    return m.with_mu0(np.eye(30)[0])


def time_mdpkit(m, K: int, repeats: int = 3) -> float:
    from mdpkit.solvers.linear import lsvi_ucb

    lsvi_ucb(m, 2, seed=0)  # compile / load the cache
    best = np.inf
    for r in range(repeats):
        t = time.perf_counter()
        lsvi_ucb(m, K, seed=r)
        best = min(best, time.perf_counter() - t)
    return best


def time_rlberry(py: str, npz: str, K: int, budget: float):
    try:
        out = subprocess.run([py, "-c", WORKER, npz, str(K)], capture_output=True, text=True, timeout=budget,
                             env={**os.environ, "NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="numba_rlberry_")})
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {budget:.0f} s"
    if out.returncode != 0:
        return None, "failed: " + out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"], ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300.0, help="seconds allowed per rlberry run")
    ap.add_argument("--rlberry-python", default="/tmp/venv_rlberry/bin/python")
    ap.add_argument("--Ks", default="100,1000,10000")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    Ks = [int(k) for k in args.Ks.split(",")]
    m = instance()
    rows = []
    have_rl = Path(args.rlberry_python).exists()
    with tempfile.TemporaryDirectory() as td:
        npz = os.path.join(td, "inst.npz")
        np.savez(npz, phi=m.phi, P=np.asarray(m.P[0]), R=np.asarray(m.R[0]), H=m.horizon)
        skip_rl = not have_rl
        for K in Ks:
            tm = time_mdpkit(m, K)
            row = {"K": K, "mdpkit_s_per_episode": tm / K, "rlberry_s_per_episode": None, "note": ""}
            if not skip_rl:
                tr, note = time_rlberry(args.rlberry_python, npz, K, args.budget)
                if tr is None:
                    row["note"] = "rlberry " + note
                    skip_rl = True  # a larger K cannot finish either
                else:
                    row["rlberry_s_per_episode"] = tr / K
            elif have_rl:
                row["note"] = "rlberry skipped (smaller K exceeded the budget)"
            else:
                row["note"] = "rlberry not installed"
            rows.append(row)
            print(row, flush=True)
    load = os.getloadavg()[0]
    res = {"instance": "simplex_linear_mdp(S=30, A=4, d=10, H=10, seed 0), homogeneous, start state 0",
           "rows": rows, "load_average_1min": load, "python": sys.version.split()[0]}
    lines = ["# LSVI-UCB: seconds per episode", "", f"Instance: {res['instance']}. Load average {load:.2f}.",
             "mdpkit: `lsvi_ucb(m, K)` whole call (exact regret evaluation included), best of 3. "
             "rlberry-scool `LSVIUCBAgent.fit(budget=K)` (bonus_scale_factor=1, reg_factor=1), one run in "
             f"its own venv, budget {args.budget:.0f} s.", "",
             "| K | mdpkit s/episode | rlberry s/episode | rlberry / mdpkit | note |", "|---|---|---|---|---|"]
    for r in rows:
        rl = r["rlberry_s_per_episode"]
        ratio = f"{rl / r['mdpkit_s_per_episode']:.0f}x" if rl else "-"
        lines.append(f"| {r['K']} | {r['mdpkit_s_per_episode']:.2e} | {rl:.2e} | {ratio} | {r['note']} |" if rl else
                     f"| {r['K']} | {r['mdpkit_s_per_episode']:.2e} | - | - | {r['note']} |")
    write_report(args.out, "linear_lsvi_ucb", res, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

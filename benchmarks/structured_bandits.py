"""Structured-bandit speed: Numba kernels vs their plain-NumPy twins, and MDP planning vs brute force.

1. **DynLin-UCB** rounds per second (n = 3, d = 3, 8 actions, T = 2000): ``run_dynlin_ucb`` (all runs
   in one Numba loop) vs :func:`mdpkit._kernels.structured_bandits.reference_dynlin_run`, a NumPy
   loop with the structure of the authors' agent (github.com/marcomussi/DLB: ``np.linalg.inv`` of V
   at each new epoch, per-arm index loop).  Both replay the same runs (bitwise-equal actions).
2. **OFUL on the unit ball** rounds per second (d = 4, T = 2000): kernel vs its twin (the twin
   calls the same argmax routine as plain Python).
3. **Planning** a recovering bandit (N = 3 arms, z_max = 3, idle allowed: 4 actions): backward
   induction on the MDP reduction vs enumeration of the 4^T action sequences, T = 9.

Rounds alternate the two sides; compile time excluded (warm cache).  Usage:
``python benchmarks/structured_bandits.py [--rounds 3] [--out benchmarks/results]`` writes
``structured_bandits.md`` and ``structured_bandits.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time

import numpy as np


def _alternate(rounds, ours, twin):
    """Median wall time (s) of ``ours()`` and of ``twin()`` over ``rounds`` alternating rounds."""
    tk, tr = [], []
    for _ in range(rounds):
        for fn, out in ((ours, tk), (twin, tr)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return float(np.median(tk)), float(np.median(tr))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    a = ap.parse_args(argv)

    from mdpkit._kernels import structured_bandits as ks
    from mdpkit.solvers import structured_bandits as sbs
    from mdpkit.structured_bandits import DynamicalLinearBandit, RecoveringBandit, UnitBallBandit

    rows = {}
    # 1. DynLin-UCB
    inst = DynamicalLinearBandit.random(np.random.default_rng(0), n=3, d=3, n_arms=8, rho=0.8, sigma=0.1)
    T, R = 2000, 20
    sbs.run_dynlin_ucb(inst, 50, 1)  # warm
    c = sbs.dynlin_paper_constants(inst, inst.spectral_radius)
    p = np.array([1.0, inst.sigma, c["c1"], c["c2"], c["bar_sigma_sq"], c["u_norm"], math.log(T), 0.0])
    ends = sbs.dynlin_epoch_ends(T, inst.spectral_radius)
    tk, tr = _alternate(a.rounds, lambda: sbs.run_dynlin_ucb(inst, T, R, seed=1),
                        lambda: [ks.reference_dynlin_run(p, inst.actions, inst.A, inst.B, inst.omega, inst.theta,
                                                         ends, s, T) for s in range(2)])
    rows["dynlin_ucb"] = (R * T / tk, 2 * T / tr)

    # 2. OFUL on the unit ball
    ub = UnitBallBandit([0.4, -0.3, 0.5, 0.2], sigma=0.5)
    sbs.run_unit_ball_oful(ub, 20, 1)
    pb = np.array([1.0, 0.5, ub.theta_norm, 0.05, 0.0])
    tk, tr = _alternate(a.rounds, lambda: sbs.run_unit_ball_oful(ub, T, R, seed=1),
                        lambda: ks.reference_ball_oful_run(pb, ub.theta, 0.5, 3, 200))
    rows["oful_unit_ball"] = (R * T / tk, 200 / tr)

    # 3. planning
    rb = RecoveringBandit([[0.1, 0.5, 0.9], [0.3, 0.4, 0.6], [0.2, 0.2, 0.7]])
    v1 = sbs.plan_history_bandit(rb, 9).value
    assert abs(v1 - sbs.brute_force_plan(rb, 9, max_sequences=300_000).value) < 1e-12
    plan = _alternate(a.rounds, lambda: sbs.plan_history_bandit(rb, 9),
                      lambda: sbs.brute_force_plan(rb, 9, max_sequences=300_000))

    os.makedirs(a.out, exist_ok=True)
    lines = ["# Structured bandits: Numba kernels vs NumPy twins, planning vs brute force", "",
             f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
             f"median of {a.rounds} rounds, warm Numba cache", "",
             "| kernel | mdpkit rounds/s | NumPy twin rounds/s | ratio |", "|---|---|---|---|"]
    for k, (x, y) in rows.items():
        lines.append(f"| {k} | {x:,.0f} | {y:,.0f} | {x / y:,.1f}x |")
    lines += ["", "| planning (recovering, N=3, z_max=3, T=9) | backward induction s | brute force (4^9 sequences) s | ratio |",
              "|---|---|---|---|", f"| optimal value {v1:.4f} | {plan[0]:.4f} | {plan[1]:.4f} | {plan[1] / plan[0]:,.1f}x |"]
    with open(os.path.join(a.out, "structured_bandits.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(a.out, "structured_bandits.json"), "w") as f:
        json.dump({"rounds_per_s": {k: {"mdpkit": x, "numpy_twin": y} for k, (x, y) in rows.items()},
                   "planning_s": {"backward_induction": plan[0], "brute_force": plan[1]}}, f, indent=1)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

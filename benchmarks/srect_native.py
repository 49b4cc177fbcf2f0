"""Native s-rectangular Linf / L2 / KL backups against the cvxpy route (standalone script).

One s-rectangular robust Bellman backup ``(T v)(s) = max_pi min_{(p_a) in U_s} sum_a pi_a (R + gamma
p_a . v)`` on a Garnet model, by the Numba kernels (``robust_bellman_operator``: the validated
public call, including its context set-up) and by ``mdpkit.uncertainty.s_rect_bellman_cvxpy``
state by state (Clarabel; what users had before).  Both run in one process, interleaved
(cvxpy, native, cvxpy, ...), median over ``--rounds``; the largest value difference between
the two is reported with the times.  The native s-rectangular L1 backup and a nominal backup
are timed on the same model for scale.

Usage: ``python benchmarks/srect_native.py [--S 20] [--A 4] [--b 5] [--rounds 3]
[--out benchmarks/results/srect_native]`` (writes ``.md`` and ``.json`` when ``--out`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from mdpkit import generators
from mdpkit import uncertainty as U
from mdpkit.solvers.robust import robust_bellman_operator

SETS = (("linf", 0.1), ("l2", 0.2), ("kl", 0.2))


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(S: int, A: int, b: int, rounds: int) -> list[dict]:
    mdp = generators.garnet(S, A, b, gamma=0.9, rng=0).to_dense()
    v = np.random.default_rng(0).standard_normal(S)
    rows = []
    for kind, r in SETS:
        us = U.UncertaintySet(kind, r, rectangularity="s")
        robust_bellman_operator(mdp, v, us)  # compile / load the cache
        tn, tc, diff = [], [], 0.0
        for _ in range(rounds):
            t, ref = _time(lambda: [U.s_rect_bellman_cvxpy(mdp.R[s], mdp.P[s], v, mdp.gamma, r, kind=kind)[0]
                                    for s in range(S)])
            tc.append(t)
            t, nat = _time(lambda: robust_bellman_operator(mdp, v, us))
            tn.append(t)
            diff = max(diff, float(np.abs(np.asarray(ref) - nat.v).max()))
        rows.append(dict(set=f"{kind}:{r},rect=s", native_s=float(np.median(tn)), cvxpy_s=float(np.median(tc)),
                         ratio_cvxpy_over_native=float(np.median(tc) / np.median(tn)), max_abs_diff=diff))
    for spec in ("l1:0.2,rect=s", "l1:0.2"):
        robust_bellman_operator(mdp, v, spec)
        ts = [_time(lambda: robust_bellman_operator(mdp, v, spec))[0] for _ in range(rounds)]
        rows.append(dict(set=spec, native_s=float(np.median(ts)), cvxpy_s=None, ratio_cvxpy_over_native=None,
                         max_abs_diff=None))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--S", type=int, default=20)
    ap.add_argument("--A", type=int, default=4)
    ap.add_argument("--b", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    load0 = os.getloadavg()[0]
    rows = run(a.S, a.A, a.b, a.rounds)
    load1 = os.getloadavg()[0]
    head = (f"# Native s-rectangular backups vs cvxpy\n\nGarnet S={a.S}, A={a.A}, b={a.b}, dense, gamma=0.9; one "
            f"backup of all states, median of {a.rounds} interleaved rounds; "
            f"{platform.processor() or platform.machine()}, load average {load0:.1f} -> {load1:.1f}.\n\n"
            "| set | native (s) | cvxpy (s) | cvxpy / native | max abs diff |\n|---|---|---|---|---|\n")
    body = "".join(f"| {r['set']} | {r['native_s']:.2e} | "
                   + (f"{r['cvxpy_s']:.2e} | {r['ratio_cvxpy_over_native']:.0f}x | {r['max_abs_diff']:.1e} |\n"
                      if r["cvxpy_s"] is not None else "- | - | - |\n") for r in rows)
    text = head + body
    print(text)
    if a.out:
        from mdpkit.io import atomic_write

        atomic_write(a.out + ".md", text)
        atomic_write(a.out + ".json", json.dumps(dict(S=a.S, A=a.A, b=a.b, rounds=a.rounds, rows=rows), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Exact policy optimization and games: time per call, side by side with a reference route.

* exact softmax policy gradient (``mdpkit.occupancy.softmax_gradient``: one occupancy solve and
  one Q solve) vs central finite differences of the exact value (2 S A value solves), and the
  solver inner loop (``policy_quantities``: one dense inverse) — on random dense MDPs;
* a zero-sum matrix game: ``mdpkit.solvers.games.solve_matrix_game`` (scipy HiGHS, one LP) vs
  the same LP through cvxpy (CLARABEL), values checked equal first.

Writes ``benchmarks/results/pg.md``.  Under a minute on 2 cores (the load average is recorded:
the machine is shared).

Usage: ``python benchmarks/pg.py [--out DIR] [--repeats N]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def _best(f, repeats=5, min_time=0.2):
    f()
    t0 = time.perf_counter()
    f()
    one = max(time.perf_counter() - t0, 1e-7)
    n = max(1, int(min_time / repeats / one))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def run(repeats=5):
    from mdpkit import TabularMDP
    from mdpkit import occupancy as oc
    from mdpkit.solvers.games import solve_matrix_game

    load0 = os.getloadavg()[0]
    rows = []
    for S, A in ((10, 4), (50, 4), (200, 4)):
        rng = np.random.default_rng(0)
        mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 0.9)
        theta = rng.normal(size=(S, A))
        pi = oc.softmax_policy(mdp, theta)

        def fd():
            g = np.zeros((S, A))
            for s in range(S):
                for a in range(A):
                    e = np.zeros((S, A))
                    e[s, a] = 1e-5
                    g[s, a] = (oc.policy_value(mdp, oc.softmax_policy(mdp, theta + e))
                               - oc.policy_value(mdp, oc.softmax_policy(mdp, theta - e))) / 2e-5
            return g

        exact = oc.softmax_gradient(mdp, theta)
        err = float(np.max(np.abs(fd() - exact)))
        t_exact = _best(lambda: oc.softmax_gradient(mdp, theta), repeats)
        t_inner = _best(lambda: oc.policy_quantities(mdp, pi, mdp.mu0), repeats)
        t_fd = _best(fd, 2, min_time=0.05) if S * A <= 200 else float("nan")
        rows.append(("softmax gradient", f"S={S} A={A}", t_exact, t_inner, t_fd, err if S * A <= 200 else float("nan")))
    game_rows = []
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover
        cp = None
    for n in (3, 10, 30):
        M = np.random.default_rng(1).normal(size=(n, n))

        def via_cvxpy():
            x, v = cp.Variable(n), cp.Variable()
            prob = cp.Problem(cp.Maximize(v), [M.T @ x >= v, cp.sum(x) == 1, x >= 0])
            prob.solve(solver="CLARABEL")
            return prob.value

        ours = solve_matrix_game(M).value
        peer = via_cvxpy() if cp else float("nan")
        t_ours = _best(lambda: solve_matrix_game(M), repeats)
        t_peer = _best(via_cvxpy, repeats) if cp else float("nan")
        game_rows.append((f"{n}x{n}", t_ours, t_peer, abs(ours - peer)))
    return rows, game_rows, load0, os.getloadavg()[0]


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    rows, game_rows, l0, l1 = run(args.repeats)
    lines = ["# Exact policy optimization: time per call", "",
             f"load average (1 min) before/after: {l0:.1f} / {l1:.1f} (2 cores, shared machine)", "",
             "| quantity | model | exact (mdpkit) | solver inner loop | central FD (2SA solves) | FD ratio | max abs(FD - exact) |",
             "|---|---|---|---|---|---|---|"]
    for name, model, te, ti, tf, err in rows:
        ratio = tf / te if np.isfinite(tf) else float("nan")
        lines.append(f"| {name} | {model} | {te * 1e3:.3f} ms | {ti * 1e3:.3f} ms | "
                     f"{'%.1f ms' % (tf * 1e3) if np.isfinite(tf) else 'skipped'} | "
                     f"{'%.0fx' % ratio if np.isfinite(ratio) else '-'} | {'%.1e' % err if np.isfinite(err) else '-'} |")
    lines += ["", "| matrix game | mdpkit (HiGHS, 1 LP + pure-saddle check) | cvxpy (CLARABEL) | ratio mdpkit/cvxpy | abs(value diff) |",
              "|---|---|---|---|---|"]
    for n, to, tp, d in game_rows:
        lines.append(f"| {n} | {to * 1e3:.2f} ms | {tp * 1e3:.2f} ms | {to / tp:.2f} | {d:.1e} |")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "pg.md")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)
    print("\n".join(lines))
    return path


if __name__ == "__main__":
    main()

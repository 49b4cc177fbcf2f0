"""
Finite horizon: dynamic (backward-in-time) vs simultaneous softmax PG
=====================================================================

On a random 4-state, 2-action MDP (undiscounted, rewards in [0, 1]), runs exact softmax policy
gradient for horizons H = 2..8 with the same budget of 150 H gradient steps, either training the
epochs backwards in time (dynamic PG, Klein, Weissmann & Döring 2024) or all at once
(simultaneous PG), each with mdpkit's default step sizes, and plots the exact final
suboptimality against backward induction as H grows.  An observation on one instance, not a
theorem check (the paper's constants are not encoded).

Usage: ``python examples/pg/plot_dynamic_vs_simultaneous_pg.py [--out DIR] [--steps-per-epoch N]``
"""

import argparse
import os

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="figures")
    p.add_argument("--steps-per-epoch", type=int, default=150)
    p.add_argument("--hmax", type=int, default=8)
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit import TabularMDP
    from mdpkit.solvers.policy_optimization import finite_horizon_policy_gradient

    rng = np.random.default_rng(0)
    S, A = 4, 2
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 1.0)
    Hs = list(range(2, args.hmax + 1))
    out = {"dynamic": [], "simultaneous": []}
    for H in Hs:
        for m in out:
            res = finite_horizon_policy_gradient(mdp, H, method=m, n_steps=args.steps_per_epoch * H)
            out[m].append(res.suboptimality[-1])
    fig, ax = plt.subplots(figsize=(6.5, 4.3))
    ax.semilogy(Hs, np.maximum(out["dynamic"], 1e-16), "C0o-", label="dynamic PG (epochs trained backwards)")
    ax.semilogy(Hs, np.maximum(out["simultaneous"], 1e-16), "C3s-", label="simultaneous PG")
    ax.set_xlabel("horizon H (budget: %d H exact gradient steps)" % args.steps_per_epoch)
    ax.set_ylabel("final suboptimality mu.(V*_0 - V_0)")
    ax.set_title("finite-horizon softmax PG, S=4 A=2, default steps")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "dynamic_vs_simultaneous_pg.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)
    return path


if __name__ == "__main__":
    main()

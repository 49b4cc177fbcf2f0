"""
Finite horizon: dynamic (backward-in-time) vs simultaneous softmax PG
=====================================================================

On a random 4-state, 2-action MDP (undiscounted, rewards in [0, 1]), runs exact softmax policy
gradient for horizons H = 2..8 with the same budget of 150 H gradient steps, either training the
epochs backwards in time (dynamic PG, Klein, Weissmann & Döring 2024) or all at once
(simultaneous PG), each with mdpkit's default step sizes, and plots the exact final
suboptimality against backward induction as H grows (left).  Right: the exact number of gradient
steps each needs to reach J* - J <= 0.2 (``pg_iterations_to_epsilon``) on log-log axes, with
mdpkit's derived O(H^3/eps) bound for dynamic PG (``mdpkit.bounds.dynamic_pg_steps_bound``; the
paper's own constants were not read) and H^3, H^5 reference slopes.  Observations on one instance.

Usage: ``python examples/pg/plot_dynamic_vs_simultaneous_pg.py [--out DIR] [--steps-per-epoch N] [--hmax H]``
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pgplot  # noqa: E402


def main(argv=None):
    args, plt = _pgplot.setup(argv, steps_per_epoch=150, hmax=8)

    from mdpkit import TabularMDP, bounds
    from mdpkit.solvers.policy_optimization import finite_horizon_policy_gradient, pg_iterations_to_epsilon

    rng = np.random.default_rng(0)
    S, A = 4, 2
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 1.0)
    Hs = list(range(2, args.hmax + 1))
    out = {"dynamic": [], "simultaneous": []}
    for H in Hs:
        for m in out:
            res = finite_horizon_policy_gradient(mdp, H, method=m, n_steps=args.steps_per_epoch * H)
            out[m].append(res.suboptimality[-1])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.3))
    ax.semilogy(Hs, np.maximum(out["dynamic"], 1e-16), "C0o-", label="dynamic PG (epochs trained backwards)")
    ax.semilogy(Hs, np.maximum(out["simultaneous"], 1e-16), "C3s-", label="simultaneous PG")
    ax.set_xlabel("horizon H (budget: %d H exact gradient steps)" % args.steps_per_epoch)
    ax.set_ylabel("final suboptimality mu.(V*_0 - V_0)")
    ax.set_title("finite-horizon softmax PG, S=4 A=2, default steps")
    ax.legend(fontsize=8)

    eps, Hn = 0.2, [H for H in Hs if H <= 6]
    w = float(mdp.R.max() - mdp.R.min())
    nd = [pg_iterations_to_epsilon(mdp, H, eps, method="dynamic") for H in Hn]
    ns = [pg_iterations_to_epsilon(mdp, H, eps, method="simultaneous") for H in Hn]
    bd = [bounds.dynamic_pg_steps_bound(H, n_states=S, n_actions=A, reward_span=w, epsilon=eps).value for H in Hn]
    ax2.loglog(Hn, nd, "C0o-", label="dynamic PG: steps to J* - J <= 0.2 (exact)")
    ax2.loglog(Hn, ns, "C3s-", label="simultaneous PG: steps to J* - J <= 0.2 (exact)")
    ax2.loglog(Hn, bd, "C0--", label="derived bound sum_h 5 S A^2 (H-h) w H / eps = O(H^3)")
    h = np.array(Hn, dtype=float)
    ax2.loglog(h, nd[0] * (h / h[0]) ** 3, "k:", label="slope 3 (from dynamic at H=2)")
    ax2.loglog(h, ns[0] * (h / h[0]) ** 5, "k-.", label="slope 5 (from simultaneous at H=2)")
    ax2.set_xlabel("horizon H")
    ax2.set_ylabel("exact-gradient steps")
    ax2.set_title("steps to eps = 0.2 vs H (bounds: H^3 dynamic, H^5 simultaneous)")
    ax2.legend(fontsize=7)
    return _pgplot.save(fig, plt, args.out, "dynamic_vs_simultaneous_pg.png")


if __name__ == "__main__":
    main()

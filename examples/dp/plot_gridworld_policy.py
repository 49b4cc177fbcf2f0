"""
Optimal values and policies of the classic grid worlds
======================================================

Draws, with :mod:`mdpkit.plotting`:

* Sutton & Barto's 4x4 grid world (Example 4.1, undiscounted): the optimal policy over the
  optimal values, from stochastic-shortest-path policy iteration (each arrow is a shortest path to
  a terminal corner; the book's Figure 4.1 shows the same arrows, with all ties);
* Sutton & Barto's 5x5 grid world (Example 3.5, gamma = 0.9): v* and pi*, which reproduce
  Figure 3.5 (first row 22.0 24.4 22.0 19.4 17.5);
* gymnasium's slippery FrozenLake 4x4 (gamma = 0.99): pi* over v*, holes and goal hatched;
* value iteration on the 5x5 grid from 30 random starts: the errors ||v_k - v*||_inf (thin lines,
  median bold) against the contraction bound gamma^k ||v_0 - v*||_inf (Puterman 1994,
  Thm 6.3.1), and the histogram of the per-start worst ratio error/bound over k >= 1 (at most 1
  by the theorem; k = 0 is an equality).

Usage: ``python examples/dp/plot_gridworld_policy.py [DIR]`` (or ``--out DIR``); figures go to
``DIR`` (default ``./figures``).  Runs on the Agg backend.
"""

import argparse
import os

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("dir", nargs="?", default=None, help="output folder (default ./figures)")
    p.add_argument("--out", default=None, help="output folder (same as DIR)")
    p.add_argument("--starts", type=int, default=30, help="random starting points for value iteration")
    p.add_argument("--iters", type=int, default=120, help="value-iteration sweeps")
    args = p.parse_args(argv)
    out = args.out or args.dir or "figures"

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit import generators, plotting
    from mdpkit.policies import bellman_operator
    from mdpkit.solvers import policy_iteration, ssp_policy_iteration

    os.makedirs(out, exist_ok=True)
    written = []

    def save(fig, name):
        path = os.path.join(out, name)
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    # Sutton & Barto Example 4.1: undiscounted, so the SSP solver (gamma = 1).
    m4 = generators.make("gridworld4x4")
    r4 = ssp_policy_iteration(m4)
    fig = plotting.plot_policy(m4, r4.policy, v=r4.v, title="S&B Ex. 4.1: optimal policy over v*")
    save(fig, "gridworld4x4_policy.png")

    # Sutton & Barto Example 3.5 / Figure 3.5.
    m5 = generators.make("gridworld5x5")
    r5 = policy_iteration(m5)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    plotting.plot_values(m5, r5.v, ax=axes[0], title="v* (S&B Fig. 3.5)")
    plotting.plot_policy(m5, r5.policy, ax=axes[1], title="pi* (lowest-index action among ties)")
    save(fig, "gridworld5x5_values_policy.png")

    # FrozenLake 4x4, slippery.
    mf = generators.make("frozenlake4x4")
    rf = policy_iteration(mf)
    save(plotting.plot_policy(mf, rf.policy, v=rf.v), "frozenlake4x4_policy.png")

    # Value iteration from random starts against the contraction bound.
    rng = np.random.default_rng(0)
    g, v_star = m5.gamma, r5.v
    K = args.iters
    errors = np.empty((args.starts, K))
    bound = np.empty((args.starts, K))
    for i in range(args.starts):
        v = rng.uniform(-50.0, 50.0, m5.S)
        e0 = np.abs(v - v_star).max()
        for k in range(K):
            errors[i, k] = np.abs(v - v_star).max()
            bound[i, k] = g**k * e0
            v, _ = bellman_operator(m5, v)
    save(
        plotting.plot_convergence(
            {"value iteration": errors},
            {"value iteration": bound},
            ylabel=r"$\|v_k - v^*\|_\infty$ (dashed: $\gamma^k \|v_0 - v^*\|_\infty$)",
            title=f"VI on the 5x5 grid world, {args.starts} random starts (gamma = {g})",
        ),
        "gridworld5x5_vi_convergence.png",
    )
    # bound > 0 everywhere (v_0 != v* almost surely and gamma > 0); k = 0 is an equality, skip it
    ratio = (errors[:, 1:] / bound[:, 1:]).max(axis=1)
    save(
        plotting.plot_ratio_hist(ratio, title="max over k >= 1 of error / bound, per start (Thm 6.3.1: <= 1)"),
        "gridworld5x5_vi_ratio_hist.png",
    )
    for path in written:
        print(path)
    return written


if __name__ == "__main__":
    main()

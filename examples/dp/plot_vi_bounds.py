"""
Value iteration error against its bounds
========================================

Runs value iteration on Sutton & Barto's 5x5 grid world (Example 3.5, gamma = 0.9) and plots,
per iteration k:

* the true error ||v_k - v*||_inf, with v* from policy iteration (exact evaluation);
* the a priori contraction bound gamma^k ||v_0 - v*||_inf (Puterman 1994, Thm 6.3.1);
* the suboptimality of the greedy policy, ||v* - v_pi_k||_inf, and its certified a posteriori bound
  gamma/(1-gamma) sp(v_{k+1} - v_k) (MacQueen 1966; mdpkit.bounds.greedy_span_bound).

Usage: ``python examples/dp/plot_vi_bounds.py [--out DIR] [--iters K]``
"""

import argparse
import os

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="figures")
    p.add_argument("--iters", type=int, default=150)
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: F401  (backend chosen above)

    from mdpkit import bounds, generators
    from mdpkit.policies import bellman_operator, policy_evaluation
    from mdpkit.solvers import policy_iteration

    mdp = generators.make("gridworld")
    g = mdp.gamma
    v_star = policy_iteration(mdp).v
    v = np.zeros(mdp.S)
    e0 = np.abs(v - v_star).max()
    err, prior, subopt, cert = [], [], [], []
    for k in range(args.iters):
        Tv, pi = bellman_operator(mdp, v)
        err.append(np.abs(v - v_star).max())
        prior.append(g**k * e0)
        subopt.append(np.abs(v_star - policy_evaluation(mdp, pi)).max())
        d = Tv - v
        cert.append(bounds.greedy_span_bound(g, d.max() - d.min()).value)
        v = Tv
    from mdpkit.plotting import plot_convergence

    # each trace is paired with its bound (same label, dashed); exact zeros are left out of the
    # log axis and counted in the legend rather than clipped to a fake value
    fig = plot_convergence(
        {"||v_k - v*|| vs gamma^k ||v_0 - v*|| (Thm 6.3.1)": err,
         "||v* - v_pi_k|| vs gamma/(1-gamma) sp(Tv_k - v_k)": subopt},
        {"||v_k - v*|| vs gamma^k ||v_0 - v*|| (Thm 6.3.1)": prior,
         "||v* - v_pi_k|| vs gamma/(1-gamma) sp(Tv_k - v_k)": cert},
        ylabel="error (reward units)",
        title=f"Value iteration, {mdp.name or 'grid world'} (gamma={g})",
    )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vi_bounds.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(path)
    return path


if __name__ == "__main__":
    main()

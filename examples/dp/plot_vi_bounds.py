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
    import matplotlib.pyplot as plt

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
    ks = np.arange(args.iters)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.semilogy(ks, err, label=r"$\|v_k - v^*\|_\infty$")
    ax.semilogy(ks, prior, "--", label=r"$\gamma^k \|v_0 - v^*\|_\infty$ (Thm 6.3.1)")
    ax.semilogy(ks, np.maximum(subopt, 1e-17), label=r"$\|v^* - v_{\pi_k}\|_\infty$ (greedy policy)")
    ax.semilogy(ks, np.maximum(cert, 1e-17), ":", label=r"certified $\frac{\gamma}{1-\gamma}\,\mathrm{sp}(Tv_k - v_k)$")
    ax.set_xlabel("iteration k")
    ax.set_ylabel("error (reward units)")
    ax.set_ylim(1e-16, 10 * max(e0, 1.0))
    ax.set_title(f"Value iteration, {mdp.name or 'grid world'} (gamma={g})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "vi_bounds.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(path)
    return path


if __name__ == "__main__":
    main()

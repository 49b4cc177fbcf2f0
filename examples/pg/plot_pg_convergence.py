"""
Exact policy-gradient convergence against the theory rates
==========================================================

On a random 5-state, 3-action MDP (gamma = 0.8), runs with exact gradients / Q-values:

* softmax PG with Mei et al.'s step (1-gamma)^3/(8w): suboptimality and its O(1/t) bound
  (Mei, Xiao, Szepesvari & Schuurmans 2020, Thm 4), and with eta = 2 (outside the theorem's
  range, so no bound; a slope -1 reference line shows the O(1/t) regime);
* natural PG (eta = 1): suboptimality and log|A|/(eta T) + w/((1-gamma)^2 T)
  (Agarwal, Kakade, Lee & Mahajan 2021, Thm 16);
* policy mirror descent with geometric steps eta_k = eta_0/gamma^k: the gamma^k bound (Xiao 2022);

on log-log axes (PMD also on a semi-log panel), each with its theorem's bound dashed.

Usage: ``python examples/pg/plot_pg_convergence.py [--out DIR] [--iters K]``
"""

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pgplot  # noqa: E402


def main(argv=None):
    args, plt = _pgplot.setup(argv, iters=3000)


    from mdpkit import ConvergenceWarning, TabularMDP
    from mdpkit.solvers import natural_policy_gradient, policy_mirror_descent, softmax_policy_gradient

    rng = np.random.default_rng(0)
    S, A = 5, 3
    mdp = TabularMDP(rng.dirichlet(np.ones(S) * 0.5, size=(S, A)), rng.uniform(0, 1, (S, A)), 0.8)
    K = args.iters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = {
            "softmax PG (Mei step)": softmax_policy_gradient(mdp, max_iter=K, epsilon=1e-14),
            "softmax PG, eta = 2": softmax_policy_gradient(mdp, eta=2.0, max_iter=K, epsilon=1e-14),
            "NPG, eta = 1": natural_policy_gradient(mdp, eta=1.0, max_iter=K, epsilon=1e-14),
            "PMD-KL, eta_k = 0.1/gamma^k": policy_mirror_descent(mdp, eta0=0.1, growth="geometric", max_iter=min(K, 200),
                                                                 epsilon=1e-14),
        }
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = ["C0", "C4", "C1", "C2"]
    for (name, res), c in zip(runs.items(), colors):
        t = np.arange(res.suboptimality.size)
        sub = np.maximum(res.suboptimality, 1e-16)
        axes[0].loglog(t[1:], sub[1:], color=c, label=f"{name}: V*(rho) - V^pi_t(rho)")
        ok = np.isfinite(res.rate_bound)
        if not ok.any():  # outside the theorem's step range: draw the O(1/t) slope through the last point
            axes[0].loglog(t[1:], sub[-1] * t[-1] / t[1:], color=c, ls=":", label="slope -1 reference (no bound: eta > 1/L)")
            continue
        axes[0].loglog(t[ok & (t > 0)], res.rate_bound[ok & (t > 0)], color=c, ls="--", label=f"bound ({res.bound_note.split(',')[0]})")
    pmd = runs["PMD-KL, eta_k = 0.1/gamma^k"]
    t = np.arange(pmd.suboptimality.size)
    axes[1].semilogy(t, np.maximum(pmd.suboptimality, 1e-16), "C2", label="PMD-KL geometric steps")
    axes[1].semilogy(t, pmd.rate_bound, "C2--", label="gamma^k (gap_0 + D*_0/((1-gamma) eta_0))  [Xiao 2022]")
    axes[0].set_xlabel("iteration t")
    axes[0].set_ylabel("suboptimality (exact)")
    axes[0].set_title(f"exact PG methods, random MDP S={S} A={A} gamma=0.8 (log-log)")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("iteration k")
    axes[1].set_title("linear rate of PMD with eta_{k+1} = eta_k / gamma")
    axes[1].legend(fontsize=8)
    return _pgplot.save(fig, plt, args.out, "pg_convergence.png")


if __name__ == "__main__":
    main()

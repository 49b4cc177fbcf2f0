"""
Constrained MDP: last iterates of GDA and ReLOAD against the LP optimum
=======================================================================

A 3-state, 2-action CMDP (gamma = 0.8, one cost constraint) is solved exactly by the
occupancy-measure LP (HiGHS), which gives the optimum OPT and the Lagrange multiplier lambda*.
Then the Lagrangian primal-dual method runs with exact advantages, in plain (gradient
descent-ascent) and optimistic (ReLOAD, Moskovitz et al. 2023) form.  Plotted per iteration,
exactly: the reward value V_R(mu) against OPT, the constraint value V_C(mu) against the budget,
and the multiplier against lambda*.  GDA's last iterate keeps cycling; ReLOAD's converges.

Usage: ``python examples/pg/plot_cmdp_last_iterate.py [--out DIR] [--iters K]``
"""

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pgplot  # noqa: E402


def make_instance(seed=1, slack=0.4):
    from mdpkit import TabularMDP
    from mdpkit.solvers.cmdp import cmdp_linear_programming

    rng = np.random.default_rng(seed)
    S, A = 3, 2
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), 0.8)
    C = rng.uniform(0, 1, (S, A))
    cmin = -cmdp_linear_programming(TabularMDP(mdp.P, -C, 0.8), costs=C, budgets=1e9).objective
    r_un = cmdp_linear_programming(mdp, costs=C, budgets=1e9)
    b = cmin + slack * (r_un.constraint_values[0] - cmin)
    return mdp, C, b


def main(argv=None):
    args, plt = _pgplot.setup(argv, iters=800)


    from mdpkit import ConvergenceWarning
    from mdpkit.solvers.cmdp import cmdp_primal_dual

    mdp, C, b = make_instance()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = {v: cmdp_primal_dual(mdp, costs=C, budgets=b, variant=v, eta=0.2, eta_lambda=1.0, n_iter=args.iters)
                for v in ("gda", "reload")}
    opt, lam_star = runs["gda"].lp_objective, float(runs["gda"].lp_multipliers[0])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    for v, c in (("gda", "C3"), ("reload", "C0")):
        r = runs[v]
        t = np.arange(r.reward_values.size)
        label = "GDA" if v == "gda" else "ReLOAD (optimistic)"
        axes[0].plot(t, r.reward_values, c, lw=1, label=label)
        axes[1].plot(t, r.cost_values[:, 0], c, lw=1, label=label)
        axes[2].plot(t, r.multipliers[:, 0], c, lw=1, label=label)
    axes[0].axhline(opt, color="k", ls="--", label="LP optimum OPT")
    axes[1].axhline(b, color="k", ls="--", label="budget b")
    axes[2].axhline(lam_star, color="k", ls="--", label="LP multiplier lambda*")
    for ax, title in zip(axes, ("reward value V_R(mu)", "constraint value V_C(mu)", "Lagrange multiplier")):
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.legend(fontsize=8)
    fig.suptitle("CMDP primal-dual last iterates (exact), S=3 A=2 gamma=0.8")
    return _pgplot.save(fig, plt, args.out, "cmdp_last_iterate.png")


if __name__ == "__main__":
    main()

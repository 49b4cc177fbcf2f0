"""
Return distributions on RiverSwim: categorical, quantile and Monte Carlo
=======================================================================

RiverSwim (Strehl & Littman 2008; gamma = 0.9) has a safe policy (always swim left: a small,
certain reward at the left bank) and the mean-optimal policy (swim right against the current: a
large reward at the right bank, reached only by chance).  For both policies the script

* computes the return distributions by certified categorical DP (201 atoms on the policy's
  return range [r_min, r_max]/(1-gamma), which is [0, 100000] for the mean-optimal policy: the
  support must cover every possible return, so its atoms are 500 apart and its lower tail is
  coarse -- visible in the CVaR panel) and by quantile DP (51 atoms, which adapt to the mass);
* samples 2,000 Monte Carlo returns from the start state and draws their empirical CDF with the
  simultaneous 95% DKW band (Massart's constant), which must contain the true CDF;
* plots CVaR_alpha against the risk level alpha: the mean-optimal policy wins on the mean
  (alpha = 1) and loses in the lower tail, where the safe policy's certain reward dominates.

The mean-optimal policy comes from categorical distributional value iteration
(:func:`mdpkit.solvers.distributional.categorical_value_iteration`), whose means are exactly the
classic value-iteration iterates.

Usage: ``python examples/distributional/plot_return_distributions.py [--out DIR] [--n 2000]``;
writes ``DIR/return_distributions.png`` (default ``./figures``).  Runs on the Agg backend.
"""

import argparse
import os

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default="figures")
    ap.add_argument("--n", type=int, default=2000, help="Monte Carlo samples per policy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--atoms", type=int, default=201, help="categorical atoms on [r_min, r_max]/(1-gamma)")
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit import generators
    from mdpkit.distributions import sample_returns
    from mdpkit.plotting import plot_cvar_vs_alpha, plot_return_cdf
    from mdpkit.solvers.distributional import (
        categorical_policy_evaluation,
        categorical_value_iteration,
        quantile_policy_evaluation,
    )

    mdp = generators.make("riverswim:gamma=0.9")
    s0 = 0
    opt = categorical_value_iteration(mdp, epsilon=1e-8)
    safe = np.zeros(mdp.S, dtype=np.int64)  # always "left"
    policies = {"safe (always left)": safe, "mean-optimal (distributional VI)": np.asarray(opt.policy)}

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), layout="constrained")
    cvars = {}
    for ax, (name, pol) in zip(axes[:2], policies.items()):
        cat = categorical_policy_evaluation(mdp, pol, n_atoms=args.atoms, epsilon=1e-10)
        qua = quantile_policy_evaluation(mdp, pol, n_quantiles=51, epsilon=1e-10)
        mc = sample_returns(mdp, pol, s0, args.n, rng=args.seed)
        plot_return_cdf({f"categorical ({args.atoms} atoms)": cat.returns, "quantile (51 atoms)": qua.returns},
                        states=[s0], mc=mc, ax=ax, title=f"{name}: return from state {s0}")
        hi = float(np.quantile(mc.samples, 0.995))  # the support reaches r_max/(1-gamma); zoom on the mass
        lo = float(mc.samples[0])
        pad = 0.08 * max(hi - lo, 0.2 * abs(lo), 1.0)
        ax.set_xlim(lo - pad, hi + pad)
        cvars[f"{name}, categorical"] = cat.returns
        cvars[f"{name}, Monte Carlo"] = (mc.samples, np.full(mc.samples.shape, 1.0 / mc.samples.shape[0]))
    plot_cvar_vs_alpha(cvars, state=s0, ax=axes[2], title=f"CVaR_alpha of the return from state {s0}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "return_distributions.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()

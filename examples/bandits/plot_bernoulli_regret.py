"""
UCB1 vs KL-UCB vs Thompson sampling on Bernoulli arms, with the Lai-Robbins line
================================================================================

The classic picture (Garivier & Cappe 2011, scenario 1 / Fig. 1): two Bernoulli arms with means
0.9 and 0.8, horizon 5000.  KL-UCB (c = 3, the theorem's constant, and c = 0, the practical one)
and Thompson sampling with a uniform Beta prior have regret growing like C log t with C the
Lai-Robbins constant sum_i D_i / kl(mu_i, mu*) (about 2.25 here); UCB1 pays sum_i 2/D_i-ish
(20 here: a steeper line on the log-t axis).  The Lai-Robbins bound is asymptotic: at T = 5000
KL-UCB and TS still lie below C log t; it is their slope in log t that approaches C.

Left: mean pseudo-regret over the runs (exact: computed from the means of the pulled arms), with
the 95% bootstrap band (shaded) and the simultaneous band (dotted), against C log t (dashed) on a
log-t axis.  Right: the same on log-log axes with the slope fitted over the last decade.

Usage: ``python examples/bandits/plot_bernoulli_regret.py [--out DIR] [--runs N] [--horizon T]``
(default ``./figures``, 500 runs, T = 5000).  Writes ``bernoulli_regret.png``.
"""

import argparse
import os

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--out", default="figures", help="output folder (default ./figures)")
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--horizon", type=int, default=5000)
    p.add_argument("--seed", type=int, default=2011)
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit.bandits import BernoulliBandit
    from mdpkit.bounds import bandits as bb
    from mdpkit.plotting import plot_regret
    from mdpkit.solvers.bandits import bandit_algorithm, run_bandit

    inst = BernoulliBandit([0.9, 0.8], name="Bernoulli(0.9, 0.8)")
    C = inst.lai_robbins_constant()
    algos = [bandit_algorithm("ucb1"), bandit_algorithm("kl_ucb"), bandit_algorithm("kl_ucb", variant="practical", c=0),
             bandit_algorithm("ts_beta")]
    res = {a.label: run_bandit(a, inst, args.horizon, args.runs, seed=args.seed) for a in algos}
    for k, r in res.items():
        fin = r.pseudo_regret[:, -1]
        print(f"{k:<26} R_T = {fin.mean():7.2f} +- {1.96 * fin.std(ddof=1) / np.sqrt(fin.size):.2f}   "
              f"R_T / log T = {fin.mean() / np.log(args.horizon):.3f}   (C = {C:.3f})")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    lower = {f"Lai-Robbins C log t, C = {C:.3f}": lambda t: bb.lai_robbins_bound(inst, t).value}
    plot_regret(res, lower=lower, scale="logx", ax=axes[0],
                title=f"{inst.name}: mean pseudo-regret, {args.runs} runs (95% bootstrap / simultaneous bands)")
    plot_regret(res, lower=lower, scale="loglog", band="none", ax=axes[1], title="log-log, slope over the last decade")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "bernoulli_regret.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()

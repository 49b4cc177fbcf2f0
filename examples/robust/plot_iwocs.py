"""
IWOCS: a robust MDP as a sequence of nominal problems
=====================================================

IWOCS (Zouitine, Geist & Rachelson 2024) keeps a finite set of kernels from the uncertainty set,
starting with the nominal one; each iteration solves the newest kernel's MDP, acts greedily for
the minimum of the optimal q-functions found so far, and adds nature's worst-case kernel for that
policy.  Two certified bounds bracket the robust optimum at mu0:

* lower: the robust value mu0 . v^{pi_i}_U of the current policy (nature's policy iteration);
* upper: min_j mu0 . v*_{T_j}, the best nominal value of a kernel already found (weak duality).

For sa-rectangular sets there is no duality gap, so the bracket closes at the robust value
computed by robust value iteration (dashed line).  Left: one garnet model (S=30, A=4, b=5,
gamma=0.95) with an L1 ball of radius 0.5.  Right: number of IWOCS iterations until the
certified gap is below 1e-8, over ``--n`` garnet models, for the L1 ball and the KL ball.

Usage: ``python examples/robust/plot_iwocs.py [--out DIR] [--n 30]``; writes
``DIR/iwocs.png`` (default ``./figures``).  Runs on the Agg backend.
"""

import argparse
import os

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description="IWOCS bounds and iteration counts on garnet models")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--n", type=int, default=30, help="number of garnet models")
    p.add_argument("--S", type=int, default=30, help="states per garnet model")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit import generators
    from mdpkit.solvers import iwocs, robust_value_iteration

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    mdp = generators.garnet(args.S, 4, 5, gamma=0.95, rng=3)
    res = iwocs(mdp, "l1:0.5", epsilon=1e-8)
    J = mdp.mu0 @ robust_value_iteration(mdp, "l1:0.5", epsilon=1e-10).v
    it = np.arange(1, res.n_iter + 1)
    ax = axes[0]
    ax.plot(it, res.upper, "v-", label=r"upper: $\min_j \mu_0^\top v^*_{T_j}$")
    ax.plot(it, res.lower, "^-", label=r"lower: $\mu_0^\top v^{\pi_i}_{\mathcal{U}}$")
    ax.axhline(J, color="k", ls="--", lw=1, label="robust VI value")
    ax.set_xlabel("IWOCS iteration i")
    ax.set_ylabel(r"value at $\mu_0$")
    ax.set_xticks(it)
    ax.set_title(f"garnet S={args.S}, A=4, L1 ball 0.5")
    ax.legend()

    ax = axes[1]
    counts = {}
    for spec in ("l1:0.5", "kl:0.3"):
        counts[spec] = [iwocs(generators.garnet(args.S, 4, 5, gamma=0.95, rng=seed), spec, epsilon=1e-8).n_iter
                        for seed in range(args.n)]
    top = max(max(c) for c in counts.values())
    bins = np.arange(0.5, top + 1.5)
    ax.hist([counts[k] for k in counts], bins=bins, label=[f"{k} ball" for k in counts])
    ax.set_xlabel("iterations until certified gap < 1e-8")
    ax.set_ylabel(f"garnet models (of {args.n})")
    ax.set_xticks(np.arange(1, top + 1))
    ax.set_title("IWOCS iterations (sa-rectangular sets)")
    ax.legend()

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "iwocs.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    print(main())

"""
Price of robustness on machine replacement
==========================================

For radii kappa of an sa-rectangular L1 set around the nominal kernel of Delage & Mannor's
machine-replacement model (craam2's CSV, gamma = 0.8), robust value iteration returns a policy
pi_kappa.  The figure plots, against kappa,

* the robust value mu0 . v^{pi_kappa}_U (what the policy guarantees against every kernel of
  the set; it decreases with kappa because the sets are nested -- set monotonicity);
* the nominal performance mu0 . v^{pi_kappa}_P of the same policy on the nominal model (at most
  the nominal optimum mu0 . v*_P, reached at kappa = 0): the price paid for robustness;
* the nominal optimum, for reference.

A second panel repeats this for the KL ball (Nilim & El Ghaoui 2005).

Usage: ``python examples/robust/plot_price_of_robustness.py [--out DIR] [--n 25] [--model NAME]``;
writes ``DIR/price_of_robustness.png`` (default ``./figures``).  Runs on the Agg backend.
"""

import argparse
import os

import numpy as np


def price_of_robustness(mdp, kind, radii, epsilon=1e-8):
    """Robust and nominal values (mu0-weighted) of the robust policy for each radius."""
    from mdpkit.solvers import robust_value_iteration
    from mdpkit.uncertainty import UncertaintySet

    rob, nom = [], []
    for r in radii:
        res = robust_value_iteration(mdp, UncertaintySet(kind, float(r)), epsilon=epsilon)
        rob.append(mdp.mu0 @ res.v_policy_robust)  # worst-case value of the robust policy
        nom.append(mdp.mu0 @ res.v_policy)         # its nominal value
    return np.array(rob), np.array(nom)


def main(argv=None):
    p = argparse.ArgumentParser(description="Price of robustness (robust vs nominal value against the radius)")
    p.add_argument("--out", default="figures", help="output folder")
    p.add_argument("--n", type=int, default=25, help="number of radii per set")
    p.add_argument("--model", default="machine_replacement", help="zoo model name (mdpkit.generators.make)")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit import generators
    from mdpkit.solvers import value_iteration

    mdp = generators.make(args.model)
    v_star = mdp.mu0 @ value_iteration(mdp, epsilon=1e-10).v_policy
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, (kind, rmax) in zip(axes, (("l1", 1.0), ("kl", 1.0))):
        radii = np.linspace(0.0, rmax, args.n)
        rob, nom = price_of_robustness(mdp, kind, radii)
        ax.plot(radii, nom, "o-", ms=3, label=r"nominal value of $\pi_\kappa$")
        ax.plot(radii, rob, "s-", ms=3, label=r"robust value of $\pi_\kappa$ (guarantee)")
        ax.axhline(v_star, color="k", lw=0.8, ls="--", label="nominal optimum")
        ax.set_xlabel(r"radius $\kappa$")
        ax.set_title(f"{kind.upper()} ball, sa-rectangular")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(r"$\mu_0^\top v$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Price of robustness: {mdp.name or args.model} (gamma = {mdp.gamma})")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "price_of_robustness.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(path)
    return path


if __name__ == "__main__":
    main()

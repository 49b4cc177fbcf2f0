"""
CVaR vs mean: the price of tail safety, and a stock-dependent policy
====================================================================

On ``risky_investment`` (two market regimes; cash, bonds, stocks; integer rewards, gamma = 1)
we solve the static CVaR problem exactly for a range of risk levels alpha with stock
augmentation and the Rockafellar-Uryasev outer maximisation (``mdpkit.solvers.risk.optimize_cvar``).
For each alpha the figure shows the optimal CVaR, the CVaR of the mean-optimal policy (the cost of
ignoring risk) and the mean given up by the CVaR-optimal policy (the price of tail safety).  Every
number is read off the exact return law of the returned policy.

A second figure shows the CVaR-optimal policy as a heat map over (state, stock) at the middle
step, on the stocks reachable from the chosen initial stock :math:`c_0 = -b^*`: behind the
target (low stock) the policy gambles on stocks in the calm regime; once the target is secured it
locks in with cash.

Writes ``cvar_tradeoff.png`` and ``stock_policy.png`` to ``--out``.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from mdpkit import plotting  # noqa: E402
from mdpkit.distributions import cvar  # noqa: E402
from mdpkit.generators import make  # noqa: E402
from mdpkit.solvers.risk import optimize_cvar, optimize_mean  # noqa: E402
from mdpkit.stock import StockAugmentedMDP  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--out", default="risk_figures")
    ap.add_argument("--horizon", type=int, default=8)
    ap.add_argument("--n-alpha", type=int, default=20, dest="n_alpha")
    ap.add_argument("--heatmap-alpha", type=float, default=0.2, dest="heat_alpha")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    mdp = make("risky_investment")
    H = args.horizon
    alphas = np.linspace(0.05, 1.0, args.n_alpha)
    mean_opt = optimize_mean(mdp, H)
    mx, mp = mean_opt.returns.x[0], mean_opt.returns.p[0]
    rows = []
    for a in alphas:
        r = optimize_cvar(mdp, float(a), H)
        x, p = r.returns.x[0], r.returns.p[0]
        rows.append((r.policy_value, float(x @ p), cvar(mx, mp, float(a))))
    opt_cvar, opt_mean, meanpol_cvar = map(np.array, zip(*rows))
    cash = H * 1.0  # all-cash: deterministic return H

    fig, ax = plt.subplots(1, 2, figsize=(10.5, 4))
    ax[0].plot(alphas, opt_cvar, "o-", label="CVaR-optimal policy (stock augmentation)")
    ax[0].plot(alphas, meanpol_cvar, "s--", label="mean-optimal policy")
    ax[0].axhline(cash, color="grey", lw=1, ls=":", label="all cash")
    ax[0].set_xlabel(r"risk level $\alpha$ (lower tail)")
    ax[0].set_ylabel(r"CVaR$_\alpha$ of the return")
    ax[0].set_title(f"optimal static CVaR, H={H}")
    ax[0].legend(fontsize=8)
    ax[1].plot(opt_cvar - meanpol_cvar, float(mx @ mp) - opt_mean, "o-")
    for a, u, v in zip(alphas[::4], (opt_cvar - meanpol_cvar)[::4], (float(mx @ mp) - opt_mean)[::4]):
        ax[1].annotate(f"{a:.2f}", (u, v), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax[1].set_xlabel(r"CVaR$_\alpha$ gained over the mean-optimal policy")
    ax[1].set_ylabel("mean return given up")
    ax[1].set_title(r"price of tail safety (labels: $\alpha$)")
    fig.tight_layout()
    fig.savefig(out / "cvar_tradeoff.png", dpi=120)
    plt.close(fig)

    r = optimize_cvar(mdp, args.heat_alpha, H)
    t = H // 2
    aug = StockAugmentedMDP(mdp, H, r.stocks)
    reach = aug.reachable(np.flatnonzero(mdp.mu0), [aug.stock_index(r.initial_stock)])[t]  # from the chosen c0
    cols = reach.any(axis=0)
    ax = plotting.plot_stock_policy(r.policy[t][:, cols], r.stocks[cols], state_labels=mdp.state_labels,
                                    action_labels=mdp.action_labels)
    ax.set_title(rf"CVaR$_{{{args.heat_alpha:g}}}$-optimal action at t={t}: stock $c_t = c_0 + $ rewards so far, "
                 rf"$c_0 = -b^* = {r.initial_stock:g}$", fontsize=9)
    ax.figure.savefig(out / "stock_policy.png", dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    print(f"wrote {out / 'cvar_tradeoff.png'} and {out / 'stock_policy.png'}")


if __name__ == "__main__":
    main()

"""Structure and hardness of small MDPs.

1. ``transition_graphs.png``: the transition graphs of RiverSwim (communicating, unichain) and
   Sutton & Barto's 4x4 grid world (two absorbing corners: multichain, not weakly communicating),
   with their communicating classes coloured (mdpkit.plotting.plot_transition_graph), and the
   minimal expected hitting times of RiverSwim whose maximum is the diameter
   D = 5470/243 (mdpkit.structure.diameter).
2. ``effective_horizon.png``: on a BRIDGE-style layered next-state table, the GORP bound
   H_k = k + log_A m_k against k, the minimal k-QVI-solvable k and the effective-horizon bound
   (Laidlaw, Russell & Dragan 2023, Thm 5.4; mdpkit.effective_horizon).

Usage: python examples/structure/plot_structure.py [--out DIR] [--states S] [--horizon H]
"""

from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mdpkit import generators, structure
from mdpkit.effective_horizon import FiniteHorizonModel, effective_horizon
from mdpkit.plotting import plot_transition_graph


def layered_table(S: int, A: int, H: int, seed: int = 0):
    """States in H layers, each action to a random state of the next layer, sparse 0/1 rewards."""
    rng = np.random.default_rng(seed)
    per = max(1, S // H)
    layer = np.minimum(np.arange(S) // per, H - 1)
    ns = np.full((S, A), -1, dtype=np.int64)
    for s in range(S):
        nxt = np.flatnonzero(layer == layer[s] + 1)
        if nxt.size:
            ns[s] = rng.choice(nxt, A)
    R = (rng.random((S, A)) < 0.02).astype(float)
    return ns, R


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="figures")
    ap.add_argument("--states", type=int, default=2000)
    ap.add_argument("--horizon", type=int, default=40)
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    fig, axes = plt.subplots(1, 3, figsize=(19, 5.5), layout="constrained")
    rs = generators.riverswim()
    plot_transition_graph(rs, ax=axes[0])
    plot_transition_graph(generators.gridworld_4x4(), ax=axes[1])
    d = structure.diameter(rs)
    im = axes[2].imshow(d.hitting_times, cmap="viridis")
    fig.colorbar(im, ax=axes[2], label="min expected steps")
    s, t = d.pair
    axes[2].add_patch(plt.Rectangle((t - 0.5, s - 0.5), 1, 1, fill=False, ec="red", lw=2))
    axes[2].set_xlabel("target t")
    axes[2].set_ylabel("start s")
    axes[2].set_title(f"RiverSwim hitting times; D = {d.D:.4f} at (s, t) = {d.pair}\n(5470/243 = {5470 / 243:.4f})",
                      fontsize="medium")
    fig.savefig(os.path.join(args.out, "transition_graphs.png"), dpi=100)
    plt.close(fig)

    A = 4
    ns, R = layered_table(args.states, A, args.horizon)
    m = FiniteHorizonModel.from_next_state(ns, R, args.horizon)
    e = effective_horizon(m)
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    ks = np.array(e.ks)
    hk = np.array(e.H_k)
    ok = np.isfinite(hk)
    ax.plot(ks[ok], hk[ok], "o-", label=r"$H_k = k + \log_A m_k$ (GORP bound applies)")
    ax.plot(ks[~ok], np.full((~ok).sum(), args.horizon), "x", color="grey",
            label="k-QVI not solvable on GORP's states")
    ax.axvline(e.min_k, color="green", ls="--", label=f"minimal k = {e.min_k}")
    ax.axhline(e.H_bar, color="red", ls=":", label=rf"effective horizon bound $\bar H \leq$ {e.H_bar:.2f}")
    ax.axhline(args.horizon, color="k", lw=0.8, label=f"horizon H = {args.horizon}")
    ax.set_xlabel("k")
    ax.set_ylabel("horizon bound")
    ax.set_title(f"layered next-state table, S = {args.states}, A = {A}", fontsize="medium")
    ax.legend(fontsize="small")
    fig.savefig(os.path.join(args.out, "effective_horizon.png"), dpi=100)
    plt.close(fig)
    print(f"D(RiverSwim) = {d.D:.6f}; min k = {e.min_k}; H_bar <= {e.H_bar:.3f}; figures in {args.out}")


if __name__ == "__main__":
    main()

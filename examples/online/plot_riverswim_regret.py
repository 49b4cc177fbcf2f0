"""
Exact regret of UCBVI-CH, UCBVI-BF, UCB-H and PSRL on RiverSwim, with the papers' bounds
=======================================================================================

RiverSwim with Osband, Russo & Van Roy's (2013) rewards (6 states, rewards in [0, 1], start at
the left end), episodes of H = 20 steps.  Every curve is the cumulative *exact* regret
``sum_k V*_1(s_1) - V^{pi_k}_1(s_1)`` (policy evaluation of each played policy on the true model),
mean over the runs with a 10-90 % band.

* Left: the algorithms as published (``variant="paper"``) and the high-probability bounds
  attached to them: Azar, Osband & Munos (2017) Theorem 1 (UCBVI-CH) and Theorem 2 (UCBVI-BF),
  delta = 0.1, beside the trivial bound ``K V*_1(s_1)`` (every episode lost).  The paper bonuses
  (``7 H L / sqrt(N)`` ...) stay above H until a pair has been visited ~49 L^2 times, so over
  these K the optimistic learners are still in their burn-in: every Q-value is clamped at H, the
  argmax ties and the lowest index ("left") is played, so their regret *equals* the trivial
  bound, while the bounds sit orders of magnitude above it.
* Right: the same learners with the bonus scaled by ``--scale`` (``variant="practical"``, no bound
  attached), against PSRL (Dirichlet(1) prior on each row of P; no bonus to tune).

Usage: ``python examples/online/plot_riverswim_regret.py [--out DIR] [--episodes K] [--runs N]``.
Runs on the Agg backend; writes ``riverswim_regret.png``.
"""

import argparse
import os


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--out", default="figures", help="output folder (default ./figures)")
    p.add_argument("--episodes", type=int, default=5000, help="episodes K")
    p.add_argument("--runs", type=int, default=8, help="independent runs per algorithm")
    p.add_argument("--horizon", type=int, default=20, help="episode length H")
    p.add_argument("--scale", type=float, default=0.01, help="bonus scale of the practical variants")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mdpkit.bounds import online as B
    from mdpkit.generators import make
    from mdpkit.solvers.online import run_episodes

    from mdpkit.plotting import plot_regret

    m = make("riverswim:convention=osband")
    H, K, n = args.horizon, args.episodes, args.runs
    paper = {alg: run_episodes(alg, m, horizon=H, n_episodes=K, n_runs=n, seed=0)
             for alg in ("ucbvi-ch", "ucbvi-bf", "ucb-h", "psrl")}
    practical = {f"{alg} (bonus x {args.scale:g})": run_episodes(alg, m, horizon=H, n_episodes=K, n_runs=n, seed=0,
                                                                   variant="practical", bonus_scale=args.scale)
                 for alg in ("ucbvi-ch", "ucbvi-bf", "ucb-h")}
    practical["psrl"] = paper["psrl"]
    vstar = float(paper["psrl"].v_star[0, 0])
    S, A = m.S, m.A
    bounds = {"UCBVI-CH bound (Azar et al. Thm 1)": lambda k: B.ucbvi_ch_regret_bound(S, A, H, k, 0.1),
              "UCBVI-BF bound (Azar et al. Thm 2)": lambda k: B.ucbvi_bf_regret_bound(S, A, H, k, 0.1),
              "trivial bound K V*_1(s_1)": lambda k: vstar * k}
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5))
    plot_regret({f"{k} (paper)" if k != "psrl" else k: v for k, v in paper.items()}, bounds=bounds, scale="loglog",
                band="bootstrap", ax=a1, n_points=120,
                title=f"as published (delta = 0.1): RiverSwim, H = {H}; 95% bootstrap band")
    plot_regret(practical, scale="linear", band="both", ax=a2, n_points=120,
                title="practical bonus scale vs PSRL; bootstrap (shaded) and simultaneous (dotted) 95% bands")
    a1.set_ylim(0.1, None)
    a1.legend(fontsize=7, loc="center left")
    a2.legend(fontsize=7, loc="upper left")
    for ax in (a1, a2):
        ax.set_xlabel("episode k")
        ax.set_ylabel("cumulative exact regret")
        ax.title.set_fontsize(9)
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "riverswim_regret.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()

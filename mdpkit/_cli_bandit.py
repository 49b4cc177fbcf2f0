"""``mdpkit bandit ALGO INSTANCE``: regret runs of a bandit algorithm, with the bound and a plot.

Wired into :mod:`mdpkit.cli` with :func:`add_parser` (the subcommand) and :func:`run` (exit status
0 ok, 2 bad input).
"""

from __future__ import annotations

import math
import os
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers):
    """Add the ``bandit`` subcommand to an ``argparse`` subparsers object."""
    from mdpkit.solvers.bandits import ALGORITHMS

    names = ", ".join(f"{k}[{'|'.join(v[1])}]" for k, v in ALGORITHMS.items())
    b = subparsers.add_parser(
        "bandit", help="run a K-armed bandit algorithm: final regret with a confidence interval, the paper's bound, "
                       "the regret plot",
        description="ALGO is an algorithm name, optionally with a variant in brackets (" + names + "). INSTANCE is "
                    "bernoulli:0.9,0.8,... | gaussian:1,0.5,0;sigma=1 | beta:2/1,1/1,... (alpha/beta per arm).")
    b.add_argument("algo", metavar="ALGO")
    b.add_argument("instance", metavar="INSTANCE")
    b.add_argument("--horizon", type=int, required=True, metavar="T", help="rounds per run")
    b.add_argument("--runs", type=int, default=100, metavar="N", help="independent runs (default 100)")
    b.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    b.add_argument("--out", metavar="DIR", help="write regret.png (and the per-run cells with --scheduler) here")
    b.add_argument("--scheduler", metavar="ADDRESS", help="run the seeds on this dask.distributed scheduler")
    b.add_argument("--jobs", type=int, default=1, help="local joblib processes (default 1: this process)")
    b.set_defaults(func=run)
    return b


def run(args) -> int:
    """Execute ``mdpkit bandit``; returns the exit status."""
    import numpy as np

    from mdpkit._exceptions import MDPKitError
    from mdpkit.bandits import make_bandit
    from mdpkit.bounds import bandits as bb
    from mdpkit.solvers.bandits import bandit_algorithm, run_bandit
    from mdpkit.solvers.sweep import bandit_sweep

    try:
        if args.horizon is None or args.horizon < 1:
            raise MDPKitError(f"--horizon must be an integer >= 1, got {args.horizon}")
        if args.runs < 1:
            raise MDPKitError(f"--runs must be an integer >= 1, got {args.runs}")
        if args.seed < 0:
            raise MDPKitError(f"--seed must be >= 0, got {args.seed}")
        if args.out is not None and not str(args.out).strip():
            raise MDPKitError("--out needs a directory name")
        inst = make_bandit(args.instance)
        algo = bandit_algorithm(args.algo)
        if args.scheduler or args.jobs != 1:
            cells = os.path.join(args.out, "cells") if args.out else None
            res = bandit_sweep([algo], [inst], args.horizon, args.runs, seed=args.seed, out_dir=cells,
                               address=args.scheduler, n_jobs=args.jobs, progress=sys.stderr.isatty())
            res = next(iter(res.values()))
        else:
            res = run_bandit(algo, inst, args.horizon, args.runs, seed=args.seed)
    except (MDPKitError, ValueError) as e:
        print(f"mdpkit: error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 2
    final = res.pseudo_regret[:, -1]
    n = final.size
    mean = float(final.mean())
    half = 1.96 * float(final.std(ddof=1)) / math.sqrt(n) if n > 1 else math.inf
    T = args.horizon
    print(f"algorithm  {algo.label}")
    print(f"instance   {inst!r}  (K={inst.K}, mu*={inst.mu_star:g}, Lai-Robbins C={inst.lai_robbins_constant():.4g})")
    print(f"runs       {n} x {T} rounds, seed {args.seed}, {res.wall_time:.2f} s")
    print(f"regret     {mean:.4g} +- {half:.3g} (95% CI of the mean pseudo-regret at T)")
    if res.expected_regret_exact:
        print(f"exact      E[R_T] = {float(res.expected_regret[-1]):.6g}")
    try:
        bd = bb.regret_bound(algo, inst, T)
        print(f"bound      {bd.value:.4g} ({bd.kind.value}; {bd.statement}) [{bd.citation}]")
    except bb.BoundNotApplicableError as e:
        bd = None
        print(f"bound      none: {e}")
    lr = bb.lai_robbins_bound(inst, T)
    print(f"lower      {lr.value:.4g} (asymptotic Lai-Robbins C log T) [{lr.citation}]")
    if args.out:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from mdpkit.plotting import plot_regret

        os.makedirs(args.out, exist_ok=True)
        C = inst.lai_robbins_constant()
        from mdpkit.bounds import BoundKind

        what = "asymptotic leading term C log t" if bd is not None and bd.kind is BoundKind.ASYMPTOTIC else "bound"
        anytime = algo.name in ("ucb1", "ao_ucb", "kl_ucb", "ts_beta", "imed", "tsallis_inf")
        if bd is None:
            ub = {}
        elif anytime:  # the theorem holds at every horizon t for the same run
            ub = {f"{what} ({bd.citation})": (lambda t: bb.regret_bound(algo, inst, max(t, 1)))}
        else:  # the algorithm's constants depend on T: the theorem bounds R_T (and R_t <= R_T)
            ub = {f"{what} at T ({bd.citation})": np.full(T, bd.value)}
        fig = plot_regret({algo.label: res}, bounds=ub, lower={f"Lai-Robbins C log t (C={C:.3g})": lambda t: C * np.log(t)},
                          scale="logx", title=f"{algo.label} on {args.instance}")
        path = os.path.join(args.out, "regret.png")
        from mdpkit.io import atomic_write

        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
        plt.close(fig)
        print(f"wrote      {path}")
    return 0

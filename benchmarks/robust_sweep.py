"""Cost of one robust Bellman sweep relative to one nominal sweep (standalone script).

Runs the sa-rectangular robust q-backup (``mdpkit._kernels.robust.robust_q``; L1 sets take the
fused row-by-row kernel ``robust_q_l1``) and the nominal q-backup
(``mdpkit._kernels.bellman.bellman_q``) on the same Garnet models (CSR rows with ``b``
successors, and dense rows) and reports the time per sweep and the ratio robust / nominal.
Target from issue 5: under 5x for L1 on sparse rows.

Timing: both sweeps are timed in the same process, interleaved (nominal, robust, nominal, ...)
so that load from other processes hits both alike; each round keeps the best of ``--repeat``
calls, and the report gives the median over ``--rounds`` rounds of the times and of the
per-round ratios.  Each row is measured with Numba's default thread count and with one thread
(``numba.set_num_threads(1)``): which sweeps run in parallel depends on their size (nominal:
``bellman.PAR_MIN_WORK`` stored entries; robust L1: ``robust.PAR_MIN_WORK``).

Usage: ``python benchmarks/robust_sweep.py [--S 5000] [--A 4] [--b 8] [--repeat 20] [--rounds 7]
[--out benchmarks/results/robust_sweep]`` (writes ``.md`` and ``.json`` when ``--out`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numba
import numpy as np

from mdpkit import generators
from mdpkit._kernels import bellman, model_args
from mdpkit._kernels import robust as rk
from mdpkit.uncertainty import KINDS, make_workspace

SETS = (("l1", 0.2), ("l1", 0.05), ("linf", 0.05), ("kl", 0.1), ("l2", 0.1), ("chi2", 0.1))


def _best(fn, repeat):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def sweep_times(mdp, kind: str, radius: float, repeat: int, rounds: int):
    """Median over rounds of (nominal seconds, robust seconds, robust / nominal)."""
    sparse, P2, indptr, indices, data, R1, mask1, S, A = model_args(mdp)
    v = np.random.default_rng(0).standard_normal(S)
    q = np.empty(S * A)
    n_max = int(np.diff(indptr).max()) if sparse else S
    work_entries = data.size if sparse else P2.size
    work = make_workspace(n_max, KINDS[kind], rk.N_CHUNKS if work_entries >= rk.PAR_MIN_WORK else 1)
    kappa = np.full(S * A, radius)
    pw = (np.zeros((1, 1)), np.zeros(1))
    uset = (KINDS[kind], kappa, False, np.zeros(1), np.zeros((1, 1)))
    model = model_args(mdp)

    def nominal():
        bellman.bellman_q(model, mdp.gamma, v, q)

    def robust():
        rk.robust_q(model, uset, mdp.gamma, v, False, pw, q, work)

    nominal(), robust()  # compile / warm
    tn, tr = [], []
    for _ in range(rounds):
        tn.append(_best(nominal, repeat))
        tr.append(_best(robust, repeat))
    tn, tr = np.array(tn), np.array(tr)
    return float(np.median(tn)), float(np.median(tr)), float(np.median(tr / tn))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--S", type=int, default=5000)
    ap.add_argument("--A", type=int, default=4)
    ap.add_argument("--b", type=int, default=8)
    ap.add_argument("--large-S", type=int, default=50_000, help="a CSR model large enough for both to go parallel")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=None, help="path prefix for .md/.json results")
    args = ap.parse_args(argv)
    models = [
        (f"garnet CSR S={args.S},A={args.A},b={args.b}",
         generators.garnet(args.S, args.A, args.b, gamma=0.95, rng=0, sparse=True)),
        (f"garnet CSR S={args.large_S},A={args.A},b={args.b}",
         generators.garnet(args.large_S, args.A, args.b, gamma=0.95, rng=0, sparse=True)),
        (f"garnet dense S={min(args.S, 1000)},A={args.A},b={args.b}",
         generators.garnet(min(args.S, 1000), args.A, args.b, gamma=0.95, rng=0, sparse=False)),
    ]
    n_threads = numba.get_num_threads()
    rows = []
    header = (f"{'model':<30}{'set':<11}{'threads':>8}{'nominal ms':>12}{'robust ms':>11}{'ratio':>8}")
    print(header)
    for name, m in models:
        for kind, r in SETS:
            if kind != "l1" and "S=" + str(args.large_S) in name:
                continue  # the large model is for the L1 target only
            for threads in sorted({n_threads, 1}, reverse=True):
                numba.set_num_threads(threads)
                tn, tr, ratio = sweep_times(m, kind, r, args.repeat, args.rounds)
                rows.append(dict(model=name, set=f"{kind}:{r}", threads=threads, nominal_ms=1e3 * tn,
                                 robust_ms=1e3 * tr, ratio=ratio))
                print(f"{name:<30}{kind + ':' + str(r):<11}{threads:>8}{1e3 * tn:>12.3f}{1e3 * tr:>11.3f}"
                      f"{ratio:>8.2f}")
            numba.set_num_threads(n_threads)
    if args.out:
        meta = dict(machine=platform.machine(), processor=platform.processor(), cpu_count=os.cpu_count(),
                    numba=numba.__version__, numba_threads=n_threads, repeat=args.repeat, rounds=args.rounds,
                    loadavg=os.getloadavg(), date=time.strftime("%Y-%m-%d %H:%M"))
        with open(args.out + ".json", "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write("# Robust sweep vs nominal sweep\n\n")
            f.write(f"Produced by `python benchmarks/robust_sweep.py --out {args.out}` ({meta['date']}, "
                    f"{meta['cpu_count']} cores, numba {meta['numba']}, load average at the end "
                    f"{', '.join(f'{x:.1f}' for x in meta['loadavg'])}). Times are medians over "
                    f"{args.rounds} interleaved rounds of the best of {args.repeat} sweeps; the ratio is the "
                    "median of the per-round ratios. Target (issue 5): L1 on sparse rows under 5x.\n\n")
            f.write("| model | set | threads | nominal ms | robust ms | ratio |\n|---|---|---:|---:|---:|---:|\n")
            for r_ in rows:
                f.write(f"| {r_['model']} | {r_['set']} | {r_['threads']} | {r_['nominal_ms']:.3f} | "
                        f"{r_['robust_ms']:.3f} | {r_['ratio']:.2f} |\n")


if __name__ == "__main__":
    main()

"""Cost of one robust Bellman sweep relative to one nominal sweep (standalone script).

Runs the sa-rectangular robust q-backup (``mdpkit._kernels.robust.robust_q``: L1 sets take the
fused row kernel ``robust_q_l1``, L2 / chi2 / KL the fused ``div_sweep``) and the nominal q-backup
(``mdpkit._kernels.bellman.bellman_q``) on the same Garnet models (CSR rows with ``b`` successors,
and dense rows) and reports the time per sweep and the ratio robust / nominal.  Targets: issue 5,
L1 under 5x on sparse rows; issue 18, KL, chi2 and L2 within 5x on the sparse Garnet
(S = 50 000, A = 4, b = 8).

What is timed: a run of ``K`` consecutive sweeps, each on the next iterate ``v_k`` of a robust
value-iteration trajectory (``v_0 = 0``, iterates ``k0 .. k0 + K - 1`` of robust VI on the same
set; the nominal sweeps run on the same vectors).  Three robust columns:

* ``cold``: no state carried between sweeps (a workspace without warm-start storage), i.e.
  what one isolated backup costs;
* ``warm``: the solvers' default (``solvers/robust.py`` builds the workspace with ``rows = S*A``):
  KL rows start Halley's method from the previous sweep's multiplier, L2 and chi-square rows the
  active-set iteration from the previous sweep's active set; the warm state is reset at the start
  of every timed run, so its first sweep is cold.  Same as ``cold`` for the other sets;
* ``steady``: the same K sweeps, started from the warm state that the sweep on iterate ``k0 - 1``
  left (untimed), i.e. what each sweep of a value-iteration run costs after its first one.

Timing: nominal and robust runs alternate in the same process (nominal, cold, warm, nominal, ...)
so that load from other processes hits them alike; each round keeps the best of ``--repeat``
runs, and the report gives the median over ``--rounds`` rounds of the times and of the per-round
ratios.  Each row is measured with Numba's default thread count and with one thread, on the wall
clock, and with one thread on the process CPU clock (``time.process_time``: on a loaded machine it
leaves out the time the process waited for a core, which the wall clock charges to the longer
robust runs).  Which sweeps run in parallel depends on their size (nominal:
``bellman.PAR_MIN_WORK`` stored entries; robust: ``robust.PAR_MIN_WORK``); at S = 50 000 both do.

Usage: ``python benchmarks/robust_sweep.py [--S 5000] [--large-S 50000] [--A 4] [--b 8]
[--repeat 3] [--rounds 3] [--K 8] [--k0 20] [--whole-call-rounds 3] [--out
benchmarks/results/robust_sweep]`` (writes ``.md`` and ``.json`` when ``--out`` is given).

Also, on the large model: the whole solver calls a user makes, ``robust_value_iteration`` with
default options on the KL, L2 and chi-square sets against ``value_iteration``, as time per sweep.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numba
import numpy as np

from mdpkit import generators
from mdpkit._kernels import bellman, model_args
from mdpkit._kernels import robust as rk
from mdpkit.uncertainty import KINDS, make_workspace

SETS = (("l1", 0.2), ("l1", 0.05), ("linf", 0.05), ("kl", 0.1), ("l2", 0.1), ("chi2", 0.1))
WARM_KINDS = ("kl", "l2", "chi2")


def _best(fn, repeat, clock):
    ts = []
    for _ in range(repeat):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    return min(ts)


def trajectory(mdp, kind, radius, k0, K):
    """Iterates k0-1 .. k0+K-1 of robust value iteration from v = 0: the one before the timed
    sweeps (for the steady runs' warm state), then the K vectors the sweeps run on."""
    model = model_args(mdp)
    S, A = mdp.S, mdp.A
    indptr = model[2]
    n_max = int(np.diff(indptr).max()) if model[0] else S
    work = make_workspace(n_max, KINDS[kind], rk.N_CHUNKS, S * A)
    uset = (KINDS[kind], np.full(S * A, radius), False, np.zeros(1), np.zeros((1, 1)))
    pw = (np.zeros((1, 1)), np.zeros(1))
    v = np.zeros(S)
    q = np.empty(S * A)
    vs = []
    for k in range(k0 + K):
        if k >= k0 - 1:
            vs.append(v.copy())
        rk.robust_q(model, uset, mdp.gamma, v, False, pw, q, work)
        v = q.reshape(S, A).max(axis=1)
    return vs


def sweep_times(mdp, kind, radius, vs, v_prev, repeat, rounds, clock):
    """Median over rounds of per-sweep seconds (nominal, cold, warm, steady) and their ratios to
    nominal (cold, warm, steady); ``v_prev`` is the iterate before ``vs[0]`` (the steady runs start
    from the warm state it leaves)."""
    model = model_args(mdp)
    S, A = mdp.S, mdp.A
    sparse, indptr, data, P2 = model[0], model[2], model[4], model[1]
    n_max = int(np.diff(indptr).max()) if sparse else S
    work_entries = data.size if sparse else P2.size
    chunks = rk.N_CHUNKS if work_entries >= rk.PAR_MIN_WORK else 1
    w_cold = make_workspace(n_max, KINDS[kind], chunks)
    w_warm = make_workspace(n_max, KINDS[kind], chunks, S * A)
    q = np.empty(S * A)
    uset = (KINDS[kind], np.full(S * A, radius), False, np.zeros(1), np.zeros((1, 1)))
    pw = (np.zeros((1, 1)), np.zeros(1))
    warm = kind in WARM_KINDS

    def nominal():
        for v in vs:
            bellman.bellman_q(model, mdp.gamma, v, q)

    def cold():
        for v in vs:
            rk.robust_q(model, uset, mdp.gamma, v, False, pw, q, w_cold)

    def warm_run():
        w_warm[-1][:] = 0.0
        for v in vs:
            rk.robust_q(model, uset, mdp.gamma, v, False, pw, q, w_warm)

    def steady_prep():  # the warm state of the sweep before vs[0], untimed
        w_warm[-1][:] = 0.0
        rk.robust_q(model, uset, mdp.gamma, v_prev, False, pw, q, w_warm)

    def steady_run():
        for v in vs:
            rk.robust_q(model, uset, mdp.gamma, v, False, pw, q, w_warm)

    nominal(), cold(), warm_run()  # compile / warm caches
    tn, tc, tw, ts = [], [], [], []
    for _ in range(rounds):
        tn.append(_best(nominal, repeat, clock))
        tc.append(_best(cold, repeat, clock))
        tw.append(_best(warm_run, repeat, clock) if warm else tc[-1])
        best = np.inf
        for _ in range(repeat):
            if warm:
                steady_prep()
            t0 = clock()
            steady_run() if warm else cold()
            best = min(best, clock() - t0)
        ts.append(best)
    tn, tc, tw, ts = (np.array(x) / len(vs) for x in (tn, tc, tw, ts))
    med = lambda x: float(np.median(x))  # noqa: E731
    return med(tn), med(tc), med(tw), med(ts), med(tc / tn), med(tw / tn), med(ts / tn)


def whole_call_times(mdp, kind, radius, rounds):
    """Per-sweep seconds of the whole solver calls with default options, ``robust_value_iteration``
    on the set vs ``value_iteration`` (what a user runs: validation, the sweeps from v = 0 with
    their warm starts, stopping, the result object), alternating in the same process; medians over
    rounds of the time per sweep and of the per-round ratios, and the sweep counts."""
    from mdpkit.solvers import robust_value_iteration, value_iteration
    us = f"{kind}:{radius}"
    value_iteration(mdp), robust_value_iteration(mdp, us)  # compile
    tn, tr, rat = [], [], []
    nn = nr = 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        rn = value_iteration(mdp)
        t1 = time.perf_counter()
        rr = robust_value_iteration(mdp, us)
        t2 = time.perf_counter()
        nn, nr = rn.n_iter, rr.n_iter
        tn.append((t1 - t0) / nn)
        tr.append((t2 - t1) / nr)
        rat.append(tr[-1] / tn[-1])
    med = lambda x: float(np.median(x))  # noqa: E731
    return med(tn), med(tr), med(rat), nn, nr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--S", type=int, default=5000)
    ap.add_argument("--A", type=int, default=4)
    ap.add_argument("--b", type=int, default=8)
    ap.add_argument("--large-S", type=int, default=50_000, help="the issue-18 target model (CSR)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--K", type=int, default=8, help="sweeps per timed run")
    ap.add_argument("--k0", type=int, default=20, help="first VI iterate of the trajectory")
    ap.add_argument("--sets", default=None, help="comma-separated subset, e.g. kl:0.1,l2:0.1")
    ap.add_argument("--large-only", action="store_true", help="only the S = large-S model")
    ap.add_argument("--whole-call-rounds", type=int, default=3,
                    help="rounds of the whole-call comparison on the large model (0: skip)")
    ap.add_argument("--out", default=None, help="path prefix for .md/.json results")
    args = ap.parse_args(argv)
    sets = SETS if args.sets is None else tuple((s.split(":")[0], float(s.split(":")[1]))
                                                for s in args.sets.split(","))
    models = [
        (f"garnet CSR S={args.large_S},A={args.A},b={args.b}",
         generators.garnet(args.large_S, args.A, args.b, gamma=0.95, rng=0, sparse=True)),
        (f"garnet CSR S={args.S},A={args.A},b={args.b}",
         generators.garnet(args.S, args.A, args.b, gamma=0.95, rng=0, sparse=True)),
        (f"garnet dense S={min(args.S, 1000)},A={args.A},b={args.b}",
         generators.garnet(min(args.S, 1000), args.A, args.b, gamma=0.95, rng=0, sparse=False)),
    ]
    if args.large_only:
        models = models[:1]
    n_threads = numba.get_num_threads()
    settings = [(n_threads, "wall", time.perf_counter)]
    if n_threads != 1:
        settings.append((1, "wall", time.perf_counter))
    settings.append((1, "cpu", time.process_time))
    rows = []
    print(f"{'model':<30}{'set':<11}{'thr':>4}{'clock':>6}{'nominal ms':>12}{'cold ms':>10}{'ratio':>7}"
          f"{'warm ms':>10}{'ratio':>7}{'steady ms':>10}{'ratio':>7}", flush=True)
    load0 = os.getloadavg()
    for name, m in models:
        for kind, r in sets:
            traj = trajectory(m, kind, r, args.k0, args.K)
            v_prev, vs = traj[0], traj[1:]
            for threads, clock_name, clock in settings:
                numba.set_num_threads(threads)
                tn, tc, tw, ts, rc, rw, rs = sweep_times(m, kind, r, vs, v_prev, args.repeat, args.rounds, clock)
                warm = kind in WARM_KINDS
                rows.append(dict(model=name, set=f"{kind}:{r}", threads=threads, clock=clock_name,
                                 nominal_ms=1e3 * tn, cold_ms=1e3 * tc, cold_ratio=rc,
                                 warm_ms=1e3 * tw if warm else None, warm_ratio=rw if warm else None,
                                 steady_ms=1e3 * ts if warm else None, steady_ratio=rs if warm else None))
                wtxt = (f"{1e3 * tw:>10.3f}{rw:>7.2f}{1e3 * ts:>10.3f}{rs:>7.2f}" if warm
                        else f"{'-':>10}{'-':>7}{'-':>10}{'-':>7}")
                print(f"{name:<30}{kind + ':' + str(r):<11}{threads:>4}{clock_name:>6}{1e3 * tn:>12.3f}"
                      f"{1e3 * tc:>10.3f}{rc:>7.2f}{wtxt}", flush=True)
            numba.set_num_threads(n_threads)
    whole = []
    if args.whole_call_rounds > 0:
        name, m = models[0]
        print(f"\nwhole calls on {name}, default options, {n_threads} threads: "
              f"robust_value_iteration vs value_iteration, ms per sweep", flush=True)
        for kind, r in sets:
            if kind not in WARM_KINDS:
                continue
            tn, tr, rat, nn, nr = whole_call_times(m, kind, r, args.whole_call_rounds)
            whole.append(dict(model=name, set=f"{kind}:{r}", threads=n_threads, vi_ms_per_sweep=1e3 * tn,
                              robust_ms_per_sweep=1e3 * tr, ratio=rat, vi_sweeps=nn, robust_sweeps=nr))
            print(f"{kind + ':' + str(r):<11}{1e3 * tn:>10.3f}{1e3 * tr:>10.3f}{rat:>7.2f}  sweeps {nn} / {nr}",
                  flush=True)
    if args.out:
        meta = dict(machine=platform.machine(), processor=platform.processor(), cpu_count=os.cpu_count(),
                    numba=numba.__version__, numba_threads=n_threads, repeat=args.repeat, rounds=args.rounds,
                    K=args.K, k0=args.k0, loadavg_start=load0, loadavg_end=os.getloadavg(),
                    date=time.strftime("%Y-%m-%d %H:%M"))
        with open(args.out + ".json", "w") as f:
            json.dump(dict(meta=meta, rows=rows, whole_calls=whole), f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write("# Robust sweep vs nominal sweep\n\n")
            cmd = " ".join(["python benchmarks/robust_sweep.py"] + list(sys.argv[1:] if argv is None else argv))
            f.write(f"Produced by `{cmd}` ({meta['date']}, "
                    f"{meta['cpu_count']} cores, numba {meta['numba']}, load average at the start "
                    f"{', '.join(f'{x:.1f}' for x in load0)} and at the end "
                    f"{', '.join(f'{x:.1f}' for x in meta['loadavg_end'])}).  Per-sweep times over runs of "
                    f"{args.K} sweeps on robust VI iterates {args.k0}..{args.k0 + args.K - 1} (from v = 0); "
                    f"medians over {args.rounds} interleaved rounds of the best of {args.repeat} runs; the "
                    "ratio is the median of the per-round ratios.  `cold`: no state kept between sweeps; "
                    "`warm`: the solvers' default, warm starts carried from sweep to sweep (KL: the "
                    "multipliers; L2, chi2: the active sets), the first sweep of each run cold; `steady`: "
                    "the same sweeps started from the warm state the previous iterate left, i.e. what "
                    "every sweep of a value-iteration run after its first costs.  `clock`: wall "
                    "(perf_counter) or process CPU time (process_time, one thread).\n\n")
            f.write("| model | set | threads | clock | nominal ms | robust cold ms | ratio cold | "
                    "robust warm ms | ratio warm | robust steady ms | ratio steady |\n"
                    "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n")
            for r_ in rows:
                cells = []
                for key, fmt in (("warm_ms", ".3f"), ("warm_ratio", ".2f"), ("steady_ms", ".3f"), ("steady_ratio", ".2f")):
                    cells.append("-" if r_[key] is None else format(r_[key], fmt))
                f.write(f"| {r_['model']} | {r_['set']} | {r_['threads']} | {r_['clock']} | {r_['nominal_ms']:.3f} | "
                        f"{r_['cold_ms']:.3f} | {r_['cold_ratio']:.2f} | {' | '.join(cells)} |\n")
            if whole:
                f.write(f"\n## Whole solver calls\n\n`robust_value_iteration(mdp, set)` against `value_iteration(mdp)`, "
                        f"default options (epsilon = 1e-6, from v = 0), {n_threads} threads, wall clock, alternating "
                        f"in the same process: time of the whole call divided by its sweeps, median over "
                        f"{args.whole_call_rounds} rounds (the ratio: median of the per-round ratios).\n\n"
                        "| model | set | threads | VI ms / sweep | robust VI ms / sweep | ratio | VI sweeps | "
                        "robust VI sweeps |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
                for w in whole:
                    f.write(f"| {w['model']} | {w['set']} | {w['threads']} | {w['vi_ms_per_sweep']:.3f} | "
                            f"{w['robust_ms_per_sweep']:.3f} | {w['ratio']:.2f} | {w['vi_sweeps']} | "
                            f"{w['robust_sweeps']} |\n")


if __name__ == "__main__":
    main()

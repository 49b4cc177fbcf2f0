"""Bandit speed: pulls per second of mdpkit vs SMPyBandits, and a 10^3-run sweep on dask vs joblib.

1. **Pulls per second**, K = 10 Bernoulli arms (means 0.05, 0.15, ..., 0.95), horizon 10^4:
   mdpkit's ``run_bandit`` (all runs of a call in one Numba loop) for UCB1, Thompson sampling
   (Beta prior) and KL-UCB, against SMPyBandits' ``UCB``, ``Thompson`` and ``klUCB`` policies
   driven by the minimal loop ``choice() / arm.draw() / getReward()`` (no Evaluator overhead).
   SMPyBandits needs SciPy < 1.14 and NumPy < 2.1, so it runs in its own virtual environment
   (``--smpy-python``, default ``/tmp/smpy_venv/bin/python``), started from this script in the
   same invocation; the rounds alternate mdpkit / SMPyBandits so machine load hits both alike.
   Reported: median pulls/s over rounds, the ratio, and each side's mean final regret (the
   same algorithms should show similar regret).
2. **Sweep**: ``bandit_sweep`` of 10^3 runs (UCB1, T = 1000, one cell per run) through joblib
   with 2 processes and on a 2-worker ``dask.distributed.LocalCluster`` (each worker its own
   Numba cache directory, a copy of this process's warm cache), and the vectorised in-process
   ``run_bandit`` for reference.  Compile time is excluded (warm caches).

Usage: ``python benchmarks/bandits.py [--rounds 3] [--runs 200] [--smpy-runs 3] [--out benchmarks/results]``
writes ``bandits.md`` and ``bandits.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

MEANS = [0.05 + 0.1 * i for i in range(10)]
T = 10_000

SMPY = r"""
import json, sys, time, warnings, io, contextlib
warnings.filterwarnings("ignore")
with contextlib.redirect_stdout(io.StringIO()):
    from SMPyBandits.Policies import UCB, Thompson, klUCB
    from SMPyBandits.Arms import Bernoulli
import numpy as np
means, T, runs, seed = json.loads(sys.argv[1])
out = {}
for name, cls in (("ucb1", UCB), ("ts_beta", Thompson), ("kl_ucb", klUCB)):
    np.random.seed(seed)
    arms = [Bernoulli(m) for m in means]
    K = len(means)
    best = max(means)
    regs = []
    t0 = time.perf_counter()
    for r in range(runs):
        pol = cls(K)
        pol.startGame()
        reg = 0.0
        for t in range(T):
            a = pol.choice()
            x = arms[a].draw(t)
            pol.getReward(a, x)
            reg += best - means[a]
        regs.append(reg)
    dt = time.perf_counter() - t0
    out[name] = {"pulls_per_s": runs * T / dt, "mean_regret": float(np.mean(regs)), "runs": runs}
print(json.dumps(out))
"""


def mdpkit_pulls(algo, runs, seed):
    from mdpkit.bandits import BernoulliBandit
    from mdpkit.solvers.bandits import run_bandit

    inst = BernoulliBandit(MEANS)
    t0 = time.perf_counter()
    res = run_bandit(algo, inst, T, runs, seed=seed)
    dt = time.perf_counter() - t0
    return {"pulls_per_s": runs * T / dt, "mean_regret": float(res.pseudo_regret[:, -1].mean()), "runs": runs}


def smpy_pulls(python, runs, seed):
    p = subprocess.run([python, "-c", SMPY, json.dumps([MEANS, T, runs, seed])], capture_output=True, text=True,
                       timeout=3600)
    if p.returncode != 0:
        raise RuntimeError(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def sweep_bench(n_runs=1000, horizon=1000):
    import copy

    from mdpkit.bandits import BernoulliBandit
    from mdpkit.solvers.bandits import run_bandit
    from mdpkit.solvers.sweep import bandit_sweep

    inst = BernoulliBandit(MEANS, name="K10")
    run_bandit("ucb1", inst, 10, 1)  # warm cache
    out = {}
    t0 = time.perf_counter()
    ref = run_bandit("ucb1", inst, horizon, n_runs, seed=1)
    out["in-process run_bandit (vectorised)"] = time.perf_counter() - t0
    tmp = tempfile.mkdtemp(prefix="mdpkit_bench_")
    src = os.environ.get("NUMBA_CACHE_DIR")

    def own(name):
        d = os.path.join(tmp, name)
        if src and os.path.isdir(src):
            shutil.copytree(src, d)
        return d

    old = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = own("joblib")
    try:
        bandit_sweep(["ucb1"], [inst], horizon, 4, seed=99, n_jobs=2, progress=False)  # start the workers
        t0 = time.perf_counter()
        j = bandit_sweep(["ucb1"], [inst], horizon, n_runs, seed=1, n_jobs=2, progress=False)
        out["joblib, 2 processes"] = time.perf_counter() - t0
    finally:
        if old is not None:
            os.environ["NUMBA_CACHE_DIR"] = old
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True)
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=0, processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        for i in range(2):
            (name, spec), = cluster.new_worker_spec().items()
            spec = copy.deepcopy(spec)
            spec.setdefault("options", {})["env"] = {"NUMBA_CACHE_DIR": own(f"w{i}")}
            cluster.worker_spec[f"w{i}"] = spec
        cluster.scale(2)
        with Client(cluster) as client:
            client.wait_for_workers(2)
            bandit_sweep(["ucb1"], [inst], horizon, 4, seed=99, client=client, progress=False)
            t0 = time.perf_counter()
            d = bandit_sweep(["ucb1"], [inst], horizon, n_runs, seed=1, client=client, progress=False)
            out["dask LocalCluster, 2 workers"] = time.perf_counter() - t0
    finally:
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)
    same = all(np.array_equal(next(iter(x.values())).actions, ref.actions) for x in (j, d))
    return out, same


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--runs", type=int, default=200, help="mdpkit runs per call (x 10^4 pulls)")
    p.add_argument("--smpy-runs", type=int, default=3, help="SMPyBandits runs per call (x 10^4 pulls)")
    p.add_argument("--smpy-python", default="/tmp/smpy_venv/bin/python")
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--out", default=None)
    a = p.parse_args(argv)
    from mdpkit.solvers.bandits import run_bandit
    from mdpkit.bandits import BernoulliBandit

    for algo in ("ucb1", "ts_beta", "kl_ucb"):
        run_bandit(algo, BernoulliBandit(MEANS), 100, 1)  # compile / load the kernels
    have_smpy = os.path.exists(a.smpy_python)
    rows = {k: {"mdpkit": [], "smpy": []} for k in ("ucb1", "ts_beta", "kl_ucb")}
    load = [os.getloadavg()[0]]
    for r in range(a.rounds):
        order = ["mdpkit", "smpy"] if r % 2 == 0 else ["smpy", "mdpkit"]
        for who in order:
            if who == "mdpkit":
                for algo in rows:
                    rows[algo]["mdpkit"].append(mdpkit_pulls(algo, a.runs, seed=r))
            elif have_smpy:
                res = smpy_pulls(a.smpy_python, a.smpy_runs, seed=r)
                for algo in rows:
                    rows[algo]["smpy"].append(res[algo])
    load.append(os.getloadavg()[0])
    summary = {}
    lines = ["# Bandit benchmark", "",
             f"K = 10 Bernoulli arms (means {', '.join(f'{m:.2f}' for m in MEANS)}), horizon T = {T}; "
             f"{a.rounds} interleaved rounds, medians; load average {load[0]:.1f} -> {load[1]:.1f} on "
             f"{os.cpu_count()} cores ({platform.processor() or platform.machine()}).", "",
             "| algorithm | mdpkit pulls/s | SMPyBandits pulls/s | ratio | mdpkit mean R_T | SMPyBandits mean R_T |",
             "|---|---:|---:|---:|---:|---:|"]
    for algo, d in rows.items():
        mk = float(np.median([x["pulls_per_s"] for x in d["mdpkit"]]))
        mr = float(np.mean([x["mean_regret"] for x in d["mdpkit"]]))
        if d["smpy"]:
            sp = float(np.median([x["pulls_per_s"] for x in d["smpy"]]))
            sr = float(np.mean([x["mean_regret"] for x in d["smpy"]]))
            lines.append(f"| {algo} | {mk:,.0f} | {sp:,.0f} | {mk / sp:,.0f}x | {mr:.1f} | {sr:.1f} |")
        else:
            sp = sr = None
            lines.append(f"| {algo} | {mk:,.0f} | (not installed) | | {mr:.1f} | |")
        summary[algo] = {"mdpkit_pulls_per_s": mk, "smpy_pulls_per_s": sp, "ratio": None if sp is None else mk / sp,
                         "mdpkit_mean_regret": mr, "smpy_mean_regret": sr, "mdpkit_runs": a.runs * a.rounds,
                         "smpy_runs": a.smpy_runs * a.rounds if sp else 0}
    lines += ["", "mdpkit: `run_bandit(name, BernoulliBandit(means), 10**4, runs)` (`ucb1` = Auer et al. index "
              "with 2 ln(t-1); `ts_beta`; `kl_ucb` = c = 3, Newton-bisection index). SMPyBandits 0.9.7: `UCB`, "
              "`Thompson`, `klUCB` (its default c = 1, tolerance 1e-4), pure Python loop (its numba import path "
              "is dead with current numba, so it runs without numba, as its users get it)."]
    sweep = None
    if not a.no_sweep:
        times, same = sweep_bench()
        sweep = {"times_s": times, "bitwise_equal_to_run_bandit": same}
        lines += ["", "## Sweep of 10^3 runs (UCB1, K = 10, T = 1000; one cell per run, run_sweep groups them into about 16 tasks per worker)", "",
                  "| backend | wall time (s) |", "|---|---:|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in times.items()]
        lines += ["", f"Every backend's traces equal the in-process run_bandit traces bitwise: {same}."]
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "bandits.md"), "w") as f:
            f.write(text)
        with open(os.path.join(a.out, "bandits.json"), "w") as f:
            json.dump({"pulls": summary, "sweep": sweep, "load": load, "T": T, "means": MEANS,
                       "python": sys.version.split()[0]}, f, indent=1)


if __name__ == "__main__":
    main()

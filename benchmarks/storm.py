"""mdpkit vs Storm (stormpy) on Pmax, Rmax and Rmin, side by side in one run (standalone script).

Models: random MDPs with ``S`` states (``S - 2`` transient, an absorbing ``fail`` and ``goal``),
``A = 4`` actions, ``b = 4`` random successors per action plus a positive probability ``q = 0.05``
(split at random) of moving to ``goal`` or ``fail`` from every state-action pair, so every policy
is proper; rewards uniform in [0, 1].  Objectives: ``Pmax=? [!"fail" U "goal"]``,
``Rmax=? [F ("goal" | "fail")]`` and ``Rmin=? [F ("goal" | "fail")]``.

Timing: one process; the model is built once, written as DRN by mdpkit and read by Storm's parser
(untimed); every solver gets one untimed warm-up call (Numba cache loading, page-in), then the
rounds run interleaved (mdpkit, Storm default, Storm sound, Storm policy iteration, and mdpkit's
older ``ssp_policy_iteration`` for the reward objectives; the order reversed every other round)
and the minimum over the rounds is reported for every solver (the machine is shared: the minimum
is the least disturbed run of each side); ratio = min mdpkit / min Storm default, with the range
of the per-round ratios.  Timed: the whole call of each
(mdpkit: ``reach_probability`` / ``reach_reward`` with the given method, graph precomputation
included; Storm: ``stormpy.model_checking`` with the environment, its precomputation included).

Storm's configurations: *default* = ``stormpy.Environment()`` (topological value iteration,
relative precision 1e-6, not sound); *sound* = ``stormpy.environments.sound()`` (a sound method,
certified bracket); *pi* = policy iteration.  Accuracy: the largest relative difference of each
value vector to Storm's policy-iteration values, and mdpkit's certified half-width.

Usage: ``python benchmarks/storm.py [--sizes 20000,200000] [--rounds 5] [--big-rounds 3]
[--method pi] [--out benchmarks/results/storm]``.  Without stormpy the script prints a message and
exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np
import scipy.sparse as sp


def random_proper(S: int, A: int = 4, b: int = 4, q: float = 0.05, seed: int = 0):
    from mdpkit import TabularMDP

    rng = np.random.default_rng(seed)
    n = S * A
    T = S - 2
    dst = rng.integers(0, T, size=(n, b))
    w = rng.random((n, b)) + 0.1
    w = w / w.sum(1, keepdims=True) * (1 - q)
    u = rng.random((n, 1))
    cols = np.concatenate([dst, np.full((n, 1), S - 2), np.full((n, 1), S - 1)], 1)
    vals = np.concatenate([w, q * (1 - u), q * u], 1)
    st = np.arange(n) // A
    absorb = st >= T
    cols[absorb] = st[absorb][:, None]
    vals[absorb] = 0
    vals[absorb, 0] = 1.0
    P = sp.csr_matrix((vals.ravel(), (np.repeat(np.arange(n), b + 2), cols.ravel())), shape=(n, S))
    P.sum_duplicates()
    P.eliminate_zeros()
    R = rng.random((S, A))
    R[T:] = 0
    return TabularMDP(P=P, R=R, gamma=1.0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="20000,200000")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--big-rounds", type=int, default=3, help="rounds for sizes >= 100000")
    ap.add_argument("--method", default="pi")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    try:
        import stormpy
    except ImportError:
        print("stormpy is not installed: pip install stormpy (skipping the Storm comparison)")
        return 0
    from mdpkit import io as mio
    from mdpkit.solvers import ssp_policy_iteration
    from mdpkit.solvers.reachability import reach_probability, reach_reward

    rows = []
    load0 = os.getloadavg()[0]
    for S in [int(x) for x in args.sizes.split(",")]:
        mdp = random_proper(S)
        goal = np.zeros(S, bool)
        goal[S - 1] = True
        fail = np.zeros(S, bool)
        fail[S - 2] = True
        done = goal | fail
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.drn")
            rec = mio.LabelledMDP(mdp=mdp, labels={"goal": np.array([S - 1]), "fail": np.array([S - 2])})
            mio.save_drn(rec, path)
            sm = stormpy.build_model_from_drn(path)
        neg = type(mdp)(P=mdp.P, R=-np.asarray(mdp.R), gamma=1.0)
        objectives = {
            "Pmax": ('Pmax=? [!"fail" U "goal"]',
                     lambda: reach_probability(mdp, goal, avoid=fail, method=args.method), None),
            "Rmax": ('R{"default"}max=? [F ("goal" | "fail")]',
                     lambda: reach_reward(mdp, done, maximize=True, method=args.method),
                     lambda: ssp_policy_iteration(mdp, terminal=done)),
            "Rmin": ('R{"default"}min=? [F ("goal" | "fail")]',
                     lambda: reach_reward(mdp, done, maximize=False, method=args.method),
                     lambda: ssp_policy_iteration(neg, terminal=done)),
        }
        rounds = args.big_rounds if S >= 100_000 else args.rounds
        for name, (prop_text, ours, ssp) in objectives.items():
            prop = stormpy.parse_properties(prop_text)[0]

            def envs():
                pi = stormpy.Environment()
                pi.solver().min_max().method = stormpy.environments.MinMaxMethod.POLICY_ITERATION
                return {"default": stormpy.Environment(), "sound": stormpy.environments.sound(), "pi": pi}

            runners = {"mdpkit": ours}
            for k, env in envs().items():
                runners[f"storm_{k}"] = (lambda e: (lambda: stormpy.model_checking(sm, prop, environment=e)))(env)
            if ssp is not None:
                runners["mdpkit_ssp_pi"] = ssp
            out = {k: f() for k, f in runners.items()}  # warm-up, untimed; keeps the answers
            times = {k: [] for k in runners}
            for r in range(rounds):
                keys = list(runners) if r % 2 == 0 else list(runners)[::-1]
                for k in keys:
                    t0 = time.perf_counter()
                    runners[k]()
                    times[k].append(time.perf_counter() - t0)
            ratio = np.array(times["mdpkit"]) / np.array(times["storm_default"])
            best = {k: float(np.min(t)) for k, t in times.items()}
            ref = np.array(out["storm_pi"].get_value_vector(), dtype=float)
            v = out["mdpkit"].v
            sign = -1.0 if name == "Rmin" else 1.0

            def rel(x):
                fin = np.isfinite(ref)
                return float(np.max(np.abs(x[fin] - ref[fin]) / np.maximum(1.0, np.abs(ref[fin]))))

            row = dict(S=S, objective=name, method=args.method, rounds=rounds,
                       min_s=best, all_s={k: [float(x) for x in t] for k, t in times.items()},
                       ratio_mdpkit_over_storm_default=best["mdpkit"] / best["storm_default"],
                       ratio_range=[float(ratio.min()), float(ratio.max())],
                       ratio_mdpkit_over_storm_sound=best["mdpkit"] / best["storm_sound"],
                       ratio_mdpkit_over_storm_pi=best["mdpkit"] / best["storm_pi"],
                       mdpkit_components=int(out["mdpkit"].n_components), mdpkit_pi_rounds=int(out["mdpkit"].n_iter),
                       mdpkit_half_width=float(out["mdpkit"].v_error_bound),
                       max_rel_diff_to_storm_pi={"mdpkit": rel(v),
                                                 "storm_default": rel(np.array(out["storm_default"].get_value_vector(), float)),
                                                 **({"mdpkit_ssp_pi": rel(sign * np.asarray(out["mdpkit_ssp_pi"].v))} if ssp else {})})
            rows.append(row)
            print(json.dumps(row), flush=True)
    meta = dict(python=sys.version.split()[0], machine=platform.machine(), cpus=os.cpu_count(),
                stormpy=stormpy.__version__, loadavg_before=load0, loadavg_after=os.getloadavg()[0],
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out + ".json", "w") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)
        lines = ["# mdpkit vs Storm (stormpy): Pmax, Rmax, Rmin on random MDPs where every policy is proper", "",
                 f"One run, {meta['date']}, {meta['cpus']} cores (shared), stormpy {meta['stormpy']}, "
                 f"load average {load0:.2f} -> {meta['loadavg_after']:.2f}.  mdpkit method `{args.method}`; "
                 "minimum seconds over interleaved rounds (order reversed every other round) after one untimed "
                 "warm-up; ratio = min mdpkit / min Storm default (range: the per-round ratios).", "",
                 "| S | objective | mdpkit | Storm default | Storm sound | Storm PI | mdpkit ssp_policy_iteration "
                 "| mdpkit / Storm default (range) | / sound | / PI | mdpkit half-width | max rel diff to Storm PI |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            m = r["min_s"]
            lines.append(
                f"| {r['S']} | {r['objective']} | {m['mdpkit']:.3f} | {m['storm_default']:.3f} | {m['storm_sound']:.3f} "
                f"| {m['storm_pi']:.3f} | {m.get('mdpkit_ssp_pi', float('nan')):.3f} "
                f"| {r['ratio_mdpkit_over_storm_default']:.2f} ({r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f}) "
                f"| {r['ratio_mdpkit_over_storm_sound']:.2f} | {r['ratio_mdpkit_over_storm_pi']:.2f} "
                f"| {r['mdpkit_half_width']:.1e} | {r['max_rel_diff_to_storm_pi']['mdpkit']:.1e} |")
        with open(args.out + ".md", "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Effective horizon and minimal k on BRIDGE-style deterministic next-state tables: time for S in the
thousands and H up to 100, side by side with a plain-numpy implementation (same algorithm, NumPy
fancy indexing instead of the Numba kernels), reported as ratios, with both answers compared.

    python benchmarks/effective_horizon.py            # full sizes, writes results/effective_horizon.{md,json}
    python benchmarks/effective_horizon.py --quick    # small sizes, prints only

Instances: ``layered`` (the shape of BRIDGE's consolidated MDPs: states in H layers, every action
moves to a random state of the next layer, a few actions end the episode, sparse 0/1 rewards) and
``graph`` (every action moves to a random state anywhere; episodes end with probability 0.02 per
action).  The reference implementation (the authors' Julia ``EffectiveHorizon.jl`` with SCIP) is not
installed here, so the peer is the plain-numpy twin of the same algorithm.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def layered(S: int, A: int, H: int, rng) -> tuple[np.ndarray, np.ndarray]:
    per = max(1, S // H)
    layer = np.minimum(np.arange(S) // per, H - 1)
    ns = np.empty((S, A), dtype=np.int64)
    for s in range(S):
        nxt = np.flatnonzero(layer == layer[s] + 1)
        ns[s] = rng.choice(nxt, A) if nxt.size else -1
    ns[rng.random((S, A)) < 0.02] = -1
    R = (rng.random((S, A)) < 0.01).astype(float)
    return ns, R


def graph(S: int, A: int, H: int, rng) -> tuple[np.ndarray, np.ndarray]:
    ns = rng.integers(0, S, (S, A))
    ns[rng.random((S, A)) < 0.02] = -1
    R = (rng.random((S, A)) < 0.01).astype(float)
    return ns.astype(np.int64), R


def numpy_minimal_k(ns, R, H, atol):
    """Plain-numpy twin of mdpkit.effective_horizon.minimal_k (deterministic tables, start state 0)."""
    S, A = R.shape
    term = ns < 0
    idx = np.where(term, 0, ns)
    Qr = np.empty((H, S, A))
    Qo = np.empty((H, S, A))
    Qr[H - 1] = Qo[H - 1] = R
    for t in range(H - 2, -1, -1):
        Qr[t] = R + np.where(term, 0.0, Qr[t + 1].mean(axis=1)[idx])
        Qo[t] = R + np.where(term, 0.0, Qo[t + 1].max(axis=1)[idx])
    Q = Qr
    for k in range(1, H + 1):
        vis = np.zeros(S, bool)
        vis[0] = True
        ok = True
        for t in range(H):
            st = np.flatnonzero(vis)
            if st.size == 0:
                break
            q, qo = Q[t, st], Qo[t, st]
            g = q >= q.max(axis=1, keepdims=True) - atol
            if np.any(g & (qo < qo.max(axis=1, keepdims=True) - atol)):
                ok = False
                break
            vis = np.zeros(S, bool)
            n = ns[st][g]
            vis[n[n >= 0]] = True
        if ok:
            return k
        for t in range(H - k):
            Q[t] = R + np.where(term, 0.0, Q[t + 1].max(axis=1)[idx])
    raise AssertionError


def timed(f, repeats):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)
    from mdpkit.effective_horizon import FiniteHorizonModel, effective_horizon, minimal_k

    sizes = [(1000, 4, 20), (1000, 4, 100)] if args.quick else [
        (1000, 4, 20), (1000, 4, 100), (5000, 4, 50), (5000, 4, 100), (5000, 8, 100), (10000, 4, 100)]
    # warm-up: compile or load the kernels outside the timings
    w = FiniteHorizonModel.from_next_state(np.array([[0, -1], [1, 0]]), np.ones((2, 2)), 3)
    minimal_k(w)
    effective_horizon(w)
    rows = []
    for kind, make in (("layered", layered), ("graph", graph)):
        for S, A, H in sizes:
            rng = np.random.default_rng(S * 31 + A * 7 + H)
            ns, R = make(S, A, H, rng)
            m = FiniteHorizonModel.from_next_state(ns, R, H)
            atol = 1e-9 * max(1.0, np.abs(R).max()) * H
            t_mk, k = timed(lambda: minimal_k(m), args.repeats)
            t_np, k_np = timed(lambda: numpy_minimal_k(ns, R, H, atol), max(1, args.repeats - 2))
            t_eh, e = timed(lambda: effective_horizon(m), 1)
            rows.append(dict(instance=kind, S=S, A=A, H=H, min_k=k, min_k_numpy=k_np, agree=bool(k == k_np),
                             t_minimal_k=t_mk, t_numpy=t_np, ratio=t_mk / t_np, t_effective_horizon=t_eh,
                             H_bar=e.H_bar, ks_tried=len(e.ks)))
            r = rows[-1]
            print(f"{kind:8s} S={S:6d} A={A} H={H:3d}  min k={k:3d} (numpy {k_np:3d})  mdpkit {t_mk:7.3f}s  "
                  f"numpy {t_np:7.3f}s  ratio {r['ratio']:.3f}  effective_horizon {t_eh:7.3f}s  H_bar {e.H_bar:.2f}",
                  flush=True)
    if args.quick:
        return 0 if all(r["agree"] for r in rows) else 1
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    meta = {"python": sys.version.split()[0], "machine": platform.machine(), "cores": os.cpu_count(),
            "load_avg_after": load, "repeats": args.repeats}
    os.makedirs(args.out, exist_ok=True)
    from mdpkit.io import atomic_write

    atomic_write(os.path.join(args.out, "effective_horizon.json"), json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["# Effective horizon and minimal k: time on deterministic next-state tables", "",
             f"Best of {args.repeats} (numpy: best of {max(1, args.repeats - 2)}); effective_horizon: one run. "
             f"{meta['cores']} cores, load average after the run {load[0]:.1f}. ratio = mdpkit / numpy "
             "(below 1: mdpkit faster). Both implementations agree on min k on every row: "
             f"{all(r['agree'] for r in rows)}.", "",
             "| instance | S | A | H | min k | mdpkit minimal_k | numpy twin | ratio | effective_horizon | H_bar bound |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['instance']} | {r['S']} | {r['A']} | {r['H']} | {r['min_k']} | {r['t_minimal_k']:.3f} s | "
                     f"{r['t_numpy']:.3f} s | {r['ratio']:.2f} | {r['t_effective_horizon']:.3f} s | {r['H_bar']:.2f} |")
    atomic_write(os.path.join(args.out, "effective_horizon.md"), "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(r["agree"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""Side-by-side benchmark: mdpkit vs QuantEcon, pymdptoolbox and mdpsolver, and vs the memory floor.

Usage::

    python benchmarks/run.py            # the full suite (see README.md; tens of minutes)
    python benchmarks/run.py --quick    # reduced sizes, under 2 minutes
    python benchmarks/run.py --smoke    # tiny sizes, a few seconds (used by the test suite)
    python benchmarks/run.py --h2h-only # only the solve(mdp) vs QuantEcon comparison

First (when QuantEcon is installed) the acceptance comparison: ``solve(mdp)`` with default options
against QuantEcon's ``DiscreteDP(R, Q, beta).solve("modified_policy_iteration", epsilon=eps)`` on
the dense and the sparse Garnet at gamma = 0.99, both in one child process on models built
beforehand, after one untimed warm-up call each, in interleaved rounds; reported as the median over
rounds of the ratio mdpkit / QuantEcon, with both value answers scored against an exact oracle
(:func:`h2h_child`).  Then, for every benchmark MDP (built with fixed seeds, ``instances.py``) and discount factor it

1. measures this machine's memory bandwidth (``bandwidth.py``: STREAM-like triad, numpy and numba);
2. computes a reference solution and certifies it independently of mdpkit's kernels: one
   Bellman backup with scipy gives the MacQueen-Porteus bracket
   ``T v + gamma/(1-gamma) [min d, max d]`` of ``v*`` (``d = T v - v``), whose width is reported;
3. runs every method of every installed library in a child process (``_worker.py``), with a
   time budget (a run that exceeds it is reported as ``timeout``), repeating it and keeping the
   median time;
4. scores each answer: ``value err`` = max |v - v*|, ``policy err`` = max (v* - v_pi) with
   ``v_pi`` the exact value of the returned policy (a scipy linear solve); an answer whose policy
   is not epsilon-optimal is flagged ``NOT eps-optimal``, one whose values are more than epsilon
   from ``v*`` is flagged ``values off``; neither is counted as a time to epsilon (mdpkit's value
   answer is the centre of its certified MacQueen-Porteus bracket ``(v_lower + v_upper) / 2``);
5. times one Bellman sweep per library and compares it with the floor
   ``bytes(P [+ CSR indices]) / bandwidth`` and, on CSR models, with the gather bound
   (``bandwidth.gather_time``: every stored entry times a read of ``v``, nothing else).

Outputs ``results.md`` (Markdown tables), ``results.json`` and ``time_to_epsilon.png`` in
``--out`` (default ``benchmarks/results``; ``--quick``/``--smoke`` write to a ``quick``/``smoke``
subfolder so the committed full results are not overwritten).
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
import scipy.sparse as sp
import scipy.sparse.linalg as spla

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bandwidth  # noqa: E402
import instances  # noqa: E402
import peers  # noqa: E402

PROFILES = {
    # budget: seconds a run may take before it is reported as "timeout" (the child gets
    # ``allowance`` more per run for start-up and building the instance); group: how runs share
    # a child process
    "full": dict(gammas=(0.99, 0.999), repeats=3, sweeps=10, budget=40.0, allowance=40.0, group="job"),
    "quick": dict(gammas=(0.99,), repeats=1, sweeps=3, budget=10.0, allowance=5.0, group="library"),
    "smoke": dict(gammas=(0.99,), repeats=1, sweeps=2, budget=20.0, allowance=20.0, group="library"),
}


# ----------------------------------------------------------------------------- reference (scipy only)
def _rows(mdp):
    return mdp.P_rows if mdp.is_sparse else np.asarray(mdp.P).reshape(mdp.S * mdp.A, mdp.S)


def bellman_scipy(mdp, v):
    """(T v, greedy policy) with scipy/numpy only (independent of mdpkit's kernels)."""
    q = np.asarray(mdp.R) + mdp.gamma * np.asarray(_rows(mdp) @ v).reshape(mdp.S, mdp.A)
    q = np.where(mdp.action_mask, q, -np.inf)
    return q.max(axis=1), q.argmax(axis=1)


def policy_value_scipy(mdp, policy):
    """Exact v_pi = (I - gamma P_pi)^{-1} r_pi with numpy/scipy (direct, or BiCGSTAB + checks)."""
    S, A = mdp.S, mdp.A
    policy = np.asarray(policy, dtype=np.int64)
    rows = np.arange(S) * A + policy
    r = np.asarray(mdp.R)[np.arange(S), policy]
    Ppi = _rows(mdp)[rows]
    if not mdp.is_sparse:
        return np.linalg.solve(np.eye(S) - mdp.gamma * Ppi, r)
    M = (sp.identity(S, format="csr") - mdp.gamma * sp.csr_matrix(Ppi)).tocsr()
    if np.diff(M.indptr).max() <= 2:
        return spla.spsolve(M.tocsc(), r)
    x, info = spla.bicgstab(M, r, x0=r / (1 - mdp.gamma), rtol=1e-14, atol=0.0, maxiter=5000)
    for _ in range(3):  # iterative refinement of the residual
        res = r - M @ x
        if np.abs(res).max() <= 1e-13 * max(1.0, np.abs(r).max()):
            break
        dx, _ = spla.bicgstab(M, res, rtol=1e-10, atol=0.0, maxiter=5000)
        x = x + dx
    return x


def reference(mdp, epsilon):
    """v* to within a certified half-width, from a tight mdpkit solve checked by a scipy backup."""
    from mdpkit.solvers import solve

    eps_ref = epsilon * 1e-2
    t0 = time.perf_counter()
    res = solve(mdp, epsilon=eps_ref)
    v = np.asarray(res.v)
    Tv, _ = bellman_scipy(mdp, v)
    d = Tv - v
    c = mdp.gamma / (1.0 - mdp.gamma)
    lo, hi = Tv + c * d.min(), Tv + c * d.max()
    return {"v_star": 0.5 * (lo + hi), "half_width": float(0.5 * c * (d.max() - d.min())),
            "seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- head to head
#: The acceptance comparison: ``solve(mdp)`` (default options) against QuantEcon's
#: ``DiscreteDP(R, Q, beta).solve("modified_policy_iteration", epsilon=eps)`` on these instances.
H2H_INSTANCES = ("dense-garnet", "sparse-garnet")
H2H_GAMMA = 0.99
#: interleaved rounds per instance (after one untimed warm-up round of each contestant)
H2H_ROUNDS = {"full": 11, "quick": 5, "smoke": 3}


def _mdpkit_default_epsilon() -> float:
    import inspect

    from mdpkit.solvers import modified_policy_iteration

    return float(inspect.signature(modified_policy_iteration).parameters["epsilon"].default)


def h2h_child(spec_path: str) -> int:
    """Child process of :func:`head_to_head`: one instance, both contestants, interleaved rounds.

    Timed region on both sides: the whole public call on a model built beforehand
    (``TabularMDP`` / ``DiscreteDP`` construction is not timed).  mdpkit: ``solve(mdp)`` with
    default options (``epsilon`` passed only when it differs from the default).  QuantEcon:
    ``ddp.solve("modified_policy_iteration", epsilon=eps)``; QuantEcon stops MPI when
    ``span(T v - v) < eps (1 - beta) / beta`` and returns the MacQueen-Porteus midpoint
    (``quantecon/markov/ddp.py``), the same rule and the same value answer as mdpkit's MPI, so
    both promise an eps-optimal policy and values within eps/2 of v*.  Numba compilation (or
    cache loading), page-in and QuantEcon's own jitted helpers are excluded by one untimed
    warm-up call of each.  The order alternates every round; a diagnostic third contestant,
    mdpkit with ``numba.set_num_threads(1)``, is interleaved too.
    """
    import numba

    from mdpkit.policies import policy_evaluation
    from mdpkit.solvers import solve

    with open(spec_path) as f:
        spec = json.load(f)
    eps = float(spec["epsilon"])
    opts = {} if eps == _mdpkit_default_epsilon() else {"epsilon": eps}
    mdp = instances.build(spec["instance"], spec["suite"], spec["gamma"])
    ddp = peers.QuantEconAdapter().prepare(mdp)
    threads = numba.get_num_threads()

    def run(who):
        if who == "mdpkit-1thread":
            numba.set_num_threads(1)
        try:
            t0 = time.perf_counter()
            if who == "quantecon":
                res = ddp.solve(method="modified_policy_iteration", epsilon=eps)
            else:
                res = solve(mdp, **opts)
            return res, time.perf_counter() - t0
        finally:
            numba.set_num_threads(threads)

    who_all = ["mdpkit", "quantecon", "mdpkit-1thread"]
    first = {w: run(w)[0] for w in who_all}  # warm-up (untimed); these answers are scored
    times = {w: [] for w in who_all}
    load = [os.getloadavg()[0]]
    for k in range(int(spec["rounds"])):
        for w in (who_all if k % 2 == 0 else who_all[::-1]):
            times[w].append(run(w)[1])
    load.append(os.getloadavg()[0])
    rm, rq = first["mdpkit"], first["quantecon"]
    v_m, v_q = np.asarray(rm.v, dtype=float), np.asarray(rq.v, dtype=float)
    # exact oracle: a tight solve (certified by a scipy backup), its greedy policy evaluated exactly
    ref = reference(mdp, eps)
    _, pi_ref = bellman_scipy(mdp, ref["v_star"])
    v_oracle = np.asarray(policy_evaluation(mdp, pi_ref), dtype=float)
    pe_m = float(max((v_oracle - policy_value_scipy(mdp, rm.policy)).max(), 0.0))
    pe_q = float(max((v_oracle - policy_value_scipy(mdp, rq.sigma)).max(), 0.0))
    tm, tq, t1 = (np.asarray(times[w]) for w in who_all)
    out = {
        "instance": spec["instance"], "gamma": spec["gamma"], "S": mdp.S, "A": mdp.A, "nnz": mdp.nnz,
        "sparse": mdp.is_sparse, "epsilon": eps, "rounds": len(tm), "status": "ok",
        "mdpkit_call": "solve(mdp" + "".join(f", {k}={v!r}" for k, v in opts.items()) + ")",
        "quantecon_call": f'DiscreteDP(R, Q, beta).solve("modified_policy_iteration", epsilon={eps:g})',
        "mdpkit_times": tm.tolist(), "quantecon_times": tq.tolist(), "mdpkit_1thread_times": t1.tolist(),
        "mdpkit_median_s": float(np.median(tm)), "quantecon_median_s": float(np.median(tq)),
        "mdpkit_1thread_median_s": float(np.median(t1)),
        "ratio_median": float(np.median(tm / tq)), "ratio_min": float((tm / tq).min()),
        "ratio_max": float((tm / tq).max()), "ratio_1thread_median": float(np.median(t1 / tq)),
        "numba_threads": threads, "load_average_1min": load,
        "mdpkit_method": rm.method, "mdpkit_auto_reason": rm.options.get("auto_reason"),
        "mdpkit_n_iter": int(rm.n_iter), "mdpkit_n_eval_sweeps": getattr(rm, "n_eval_sweeps", None),
        "mdpkit_wall_time_s": float(rm.wall_time), "mdpkit_v_error_bound": float(rm.v_error_bound),
        "mdpkit_error_bound": float(rm.error_bound),
        "quantecon_num_iter": int(rq.num_iter), "quantecon_k": int(getattr(rq, "k", 20)),
        "v_diff": float(np.abs(v_m - v_q).max()),
        "mdpkit_v_err": float(np.abs(v_m - v_oracle).max()),
        "quantecon_v_err": float(np.abs(v_q - v_oracle).max()),
        "mdpkit_policy_err": pe_m, "quantecon_policy_err": pe_q,
        "oracle_vs_bracket": float(np.abs(v_oracle - ref["v_star"]).max()),
        "oracle_half_width": ref["half_width"],
    }
    with open(spec["out"], "w") as f:
        json.dump(out, f, indent=1, default=float)
    return 0


def head_to_head(profile: str, eps: float, rounds: int, workdir: str, timeout: float,
                 names=H2H_INSTANCES) -> list[dict]:
    """Run :func:`h2h_child` per instance in a fresh process; one result dict per instance."""
    out = []
    for name in names:
        spec = {"instance": name, "suite": profile, "gamma": H2H_GAMMA, "epsilon": eps, "rounds": rounds,
                "out": os.path.join(workdir, f"h2h-{name}.result.json")}
        path = os.path.join(workdir, f"h2h-{name}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        row = {"instance": name, "gamma": H2H_GAMMA, "epsilon": eps, "rounds": rounds}
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--h2h-child", path],
                                  capture_output=True, text=True, timeout=timeout)
            if proc.returncode == 0 and os.path.exists(spec["out"]):
                with open(spec["out"]) as f:
                    row = json.load(f)
            else:
                err = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
                row.update(status="error", error=err[0][:300])
        except subprocess.TimeoutExpired:
            row.update(status="timeout")
        out.append(row)
        if row["status"] == "ok":
            print(f"[bench] head-to-head {name}: mdpkit {row['mdpkit_median_s']:.3g} s, quantecon "
                  f"{row['quantecon_median_s']:.3g} s, ratio {row['ratio_median']:.2f} "
                  f"(1 thread {row['ratio_1thread_median']:.2f}); |v_m - v_qe| {row['v_diff']:.1e}, "
                  f"|v_m - v*| {row['mdpkit_v_err']:.1e}, |v_qe - v*| {row['quantecon_v_err']:.1e}", flush=True)
        else:
            print(f"[bench] head-to-head {name}: {row['status']} {row.get('error', '')}", flush=True)
    return out


def h2h_markdown(h2h: list[dict]) -> list[str]:
    if not h2h:
        return []
    r0 = next((r for r in h2h if r["status"] == "ok"), h2h[0])
    lines = ["## `solve(mdp)` vs QuantEcon MPI (acceptance: ratio <= 1, values within 1e-6)", "",
             f"Whole call, default options, same process, models built beforehand (not timed), one untimed "
             f"warm-up call each, then {r0['rounds']} interleaved rounds (order alternating); ratio = "
             f"median over rounds of mdpkit time / QuantEcon time.  mdpkit: `{r0.get('mdpkit_call', 'solve(mdp)')}`; "
             f"QuantEcon: `{r0.get('quantecon_call', '')}` (QuantEcon's MPI stops at span(Tv - v) < "
             "eps (1-beta)/beta and returns the MacQueen-Porteus midpoint: the same rule and answer as "
             "mdpkit's).  v* = exact value (`mdpkit.policies.policy_evaluation`) of the greedy policy of a "
             "tight reference solve certified by a scipy backup; errors are max-norm.  `1 thread`: "
             "mdpkit with `numba.set_num_threads(1)`, interleaved in the same rounds (diagnostic: parallel "
             "sweeps on a loaded machine).", "",
             "| instance | gamma | S | A | mdpkit (s) | QuantEcon (s) | mdpkit / QuantEcon | range | "
             "1 thread / QuantEcon | mdpkit iters (eval sweeps) | QE iters | max\\|v_mdpkit - v_QE\\| | "
             "max\\|v_mdpkit - v*\\| | max\\|v_QE - v*\\| | policy err mdpkit / QE | load (1 min) | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in h2h:
        if r["status"] != "ok":
            lines.append(f"| {r['instance']} | {r['gamma']} | | | {r['status']} {r.get('error', '')} |" + " |" * 12)
            continue
        fast = r["ratio_median"] <= 1.0
        close = r["v_diff"] <= 1e-6 and r["mdpkit_v_err"] <= r["epsilon"] and r["mdpkit_policy_err"] <= r["epsilon"]
        verdict = ("pass" if fast and close else
                   "; ".join(x for x in ("slower" if not fast else "", "values off" if not close else "") if x))
        lines.append(
            f"| {r['instance']} | {r['gamma']} | {r['S']} | {r['A']} | {r['mdpkit_median_s']:.3g} | "
            f"{r['quantecon_median_s']:.3g} | **{r['ratio_median']:.2f}** | {r['ratio_min']:.2f}-{r['ratio_max']:.2f} | "
            f"{r['ratio_1thread_median']:.2f} | {r['mdpkit_n_iter']} ({fmt(r['mdpkit_n_eval_sweeps'], 'd')}) | "
            f"{r['quantecon_num_iter']} (k={r['quantecon_k']}) | {r['v_diff']:.1e} | {r['mdpkit_v_err']:.1e} | "
            f"{r['quantecon_v_err']:.1e} | {r['mdpkit_policy_err']:.1e} / {r['quantecon_policy_err']:.1e} | "
            f"{'-'.join(f'{x:.1f}' for x in r['load_average_1min'])} | {verdict} |")
    return lines + [""]


# ----------------------------------------------------------------------------- child runs
def run_child(spec: dict, workdir: str, job_timeout: float) -> list[tuple[dict, tuple | None]]:
    """Run ``_worker.py`` on ``spec``; one ``(result, (v, policy) or None)`` per job, in order.

    Each job gets ``job_timeout`` seconds (measured from the previous job's result): a child
    that exceeds it is killed, the job is reported as ``timeout`` and a new child takes the
    remaining jobs.
    """
    jobs = list(spec["jobs"])
    results: list = []
    while len(results) < len(jobs):
        rest = jobs[len(results):]
        fd, path = tempfile.mkstemp(suffix=".json", dir=workdir)
        with os.fdopen(fd, "w") as f:
            json.dump(dict(spec, jobs=rest), f)
        out = path[: -len(".json")] + ".out.jsonl"
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_worker.py"), path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        done: list = []
        deadline = time.monotonic() + job_timeout
        failure = None
        while True:
            if os.path.exists(out):
                with open(out) as f:
                    lines = [json.loads(line) for line in f if line.strip()]
                if len(lines) > len(done):
                    done = lines
                    deadline = time.monotonic() + job_timeout
            if proc.poll() is not None:
                if os.path.exists(out):  # results written just before exit
                    with open(out) as f:
                        done = [json.loads(line) for line in f if line.strip()]
                if proc.returncode != 0 and len(done) < len(rest):
                    err = (proc.stderr.read() or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
                    failure = {"status": "error", "error": err[0][:200]}
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                failure = {"status": "timeout"}
                break
            time.sleep(0.05)
        for res in done:
            arrays = None
            if res.get("npz") and os.path.exists(res["npz"]):
                with np.load(res["npz"]) as z:
                    arrays = (z["v"], z["policy"])
                os.remove(res["npz"])
            results.append((res, arrays))
        if len(results) < len(jobs):
            results.append((dict(failure or {"status": "error", "error": "no result"},
                                 task=jobs[len(results)]["task"]), None))
    return results


def floor_bytes(mdp) -> int:
    """Bytes of ``P`` as stored (CSR: data, indices and indptr): the issue's floor."""
    if mdp.is_sparse:
        P = mdp.P
        return int(P.data.nbytes + P.indices.nbytes + P.indptr.nbytes)
    return int(np.asarray(mdp.P).nbytes)


def traffic_bytes(mdp) -> int:
    """Bytes a greedy sweep cannot avoid moving: ``P`` as stored, ``R`` (S*A float64), the action
    mask (S*A bytes), ``v`` read once and the new ``v`` and greedy policy written (S each, 8 bytes).

    On models with few entries per row (the grid world: one) ``R`` is as large as ``P``'s data,
    so the P-only floor is out of reach by construction; this floor is the attainable one.
    """
    S, A = mdp.S, mdp.A
    return floor_bytes(mdp) + S * A * (8 + 1) + 3 * 8 * S


def machine_info(bw: dict) -> dict:
    import numba

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS,
            "memory_gib": mem, "python": platform.python_version(), "platform": platform.platform(),
            "bandwidth": bw, "load_average_at_start": load}


# ----------------------------------------------------------------------------- scoring and output
def score(row, arrays, mdp, ref, epsilon):
    v, pi = arrays
    vs = ref["v_star"]
    row["value_err"] = float(np.abs(v - vs).max()) if v.shape == vs.shape else None
    try:
        v_pi = policy_value_scipy(mdp, pi)
        row["policy_err"] = float(max((vs - v_pi).max(), 0.0))
    except Exception as e:  # noqa: BLE001 - an invalid policy from a peer is a result, not a crash
        row["policy_err"] = None
        row["error"] = f"policy evaluation failed: {e}"[:200]
    slack = ref["half_width"]
    pol_ok = row["policy_err"] is not None and row["policy_err"] <= epsilon + slack
    val_ok = row["value_err"] is not None and row["value_err"] <= epsilon + slack
    row["policy_eps_optimal"] = bool(pol_ok)
    row["values_eps_accurate"] = bool(val_ok)
    row["eps_optimal"] = bool(pol_ok and val_ok)  # counted as a certified answer only if both hold
    if not pol_ok:
        row["status"] = "NOT eps-optimal"
    elif not val_ok:
        row["status"] = "values off"


def fmt(x, spec=".3g", none="-"):
    if x is None:
        return none
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return format(x, spec)


def write_outputs(out_dir, meta, rows, sweeps, make_plot=True):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "solves": rows, "sweeps": sweeps}, f, indent=1, default=float)
    bw = meta["machine"]["bandwidth"]
    lines = [f"# mdpkit benchmark ({meta['profile']})", ""]
    mi = meta["machine"]
    lines += [
        f"Machine: {mi['cpu']}, {mi['cores']} cores (numba threads {mi['numba_threads']}), "
        f"{fmt(mi['memory_gib'], '.1f')} GiB RAM, Python {mi['python']}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in mi['load_average_at_start'] or [])}.",
        f"Measured bandwidth (STREAM-like triad, best of 10, {bw['array_mib']:.0f} MiB arrays): numpy "
        f"{bw['numpy_triad_gbs']:.1f} GB/s, numba {bw['numba_triad_gbs']:.1f} GB/s (median "
        f"{bw['numba_triad_median_gbs']:.1f}); read-only numba {bw['numba_read_gbs']:.1f} GB/s. "
        f"Floor bandwidth used (the best of the three): **{bw['floor_gbs']:.1f} GB/s**.",
        f"mdpkit commit {meta.get('commit')}; epsilon = {meta['epsilon']:g}; times are medians over up to {meta['repeats']} repeats; "
        f"time budget per run {meta['budget']:.0f} s (a run still going then is reported as `timeout`). Libraries: "
        + ", ".join(f"{k} {v}" if v else f"{k} (not installed: skipped)" for k, v in meta["libraries"].items())
        + ".",
        "",
    ]
    lines += h2h_markdown(meta.get("head_to_head") or [])
    if not rows:
        with open(os.path.join(out_dir, "results.md"), "w") as f:
            f.write("\n".join(lines) + "\n")
        return "\n".join(lines)
    lines += ["## Time to a certified epsilon-optimal policy (best method per library)", ""]
    libs = [k for k, v in meta["libraries"].items() if v]
    cases = []
    for r in rows:
        key = (r["instance"], r["gamma"])
        if key not in cases:
            cases.append(key)
    lines.append("| instance | gamma | " + " | ".join(libs) + " | mdpkit / fastest peer |")
    lines.append("|---|---|" + "---|" * len(libs) + "---|")
    summary = []
    for inst, g in cases:
        best = {}
        for lib in libs:
            cand = [r for r in rows if r["instance"] == inst and r["gamma"] == g and r["lib"] == lib
                    and r.get("eps_optimal") and r.get("time") is not None]
            best[lib] = min(cand, key=lambda r: r["time"]) if cand else None
        peer_times = [b["time"] for lib, b in best.items() if lib != "mdpkit" and b is not None]
        fastest_peer = min(peer_times) if peer_times else None
        cells = []
        for lib in libs:
            b = best[lib]
            if b is None:
                sts = {r["status"] for r in rows if r["instance"] == inst and r["gamma"] == g and r["lib"] == lib}
                cells.append("/".join(sorted(sts)) or "-")
            else:
                cells.append(f"{b['time']:.3g} s ({b['method']})")
        ratio = (best["mdpkit"]["time"] / fastest_peer) if best.get("mdpkit") and fastest_peer else None
        summary.append({"instance": inst, "gamma": g, "best": {k: (v["time"] if v else None) for k, v in best.items()},
                        "mdpkit_over_fastest_peer": ratio})
        lines.append(f"| {inst} | {g} | " + " | ".join(cells) + f" | {fmt(ratio, '.2f')} |")
    meta["summary"] = summary
    lines += ["", "## Bellman sweep time vs the memory-bandwidth floor", "",
              "floor = bytes(P) (+ CSR indices and indptr) / floor bandwidth; one sweep = all actions.  "
              "traffic floor = the same plus the bytes every sweep must also move (R, the action mask, "
              "v read, new v and policy written; `benchmarks/run.py: traffic_bytes`).  "
              "gather = the least work of any CSR sweep, sum_k data[k] * v[indices[k]] over every stored entry "
              "(no rows, rewards or maximum; `benchmarks/bandwidth.py: gather_time`), timed in this run: on "
              "the sparse Garnet the random reads of v, not the bytes of P, set the pace.  mdpkit's sweep on "
              "deterministic models with every action available reads neither P's data nor the mask, so it "
              "can beat the traffic floor, which counts them.", "",
              "| instance | MB of P | floor (ms) | traffic floor (ms) | gather (ms) | library | sweep median (ms) "
              "| sweep min (ms) | sweep / floor | sweep / traffic floor | sweep / gather |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in sweeps:
        tf = s.get("traffic_floor_s")
        g = s.get("gather_s")
        lines.append(f"| {s['instance']} | {s['bytes'] / 1e6:.1f} | {s['floor_s'] * 1e3:.2f} | "
                     f"{fmt(tf and tf * 1e3, '.2f')} | {fmt(g and g * 1e3, '.2f')} | {s['lib']} | "
                     f"{fmt(s.get('sweep_s') and s['sweep_s'] * 1e3, '.2f', s['status'])} | "
                     f"{fmt(s.get('sweep_min_s') and s['sweep_min_s'] * 1e3, '.2f')} | "
                     f"{fmt(s.get('ratio_to_floor'), '.2f')} | "
                     f"{fmt(s.get('sweep_s') and tf and s['sweep_s'] / tf, '.2f')} | "
                     f"{fmt(s.get('sweep_s') and g and s['sweep_s'] / g, '.2f')} |")
    lines += ["", "## All runs", "",
              "iterations: the library's count (improvement steps for PI/MPI, sweeps for VI/GS); "
              "value err = max|v - v*|; policy err = max(v* - v_pi) (exact v_pi); peak = extra resident "
              "memory during the solve.", "",
              "| instance | gamma | library | method | status | iterations | time (s) | time / fastest peer | "
              "peak MB | value err | policy err |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['instance']} | {r['gamma']} | {r['lib']} | {r['method']} | {r['status']} | "
            f"{fmt(r.get('iterations'), 'd')} | {fmt(r.get('time'))} | {fmt(r.get('ratio_to_fastest_peer'), '.2f')} | "
            f"{fmt(r.get('peak_mb'), '.0f')} | {fmt(r.get('value_err'), '.1e')} | {fmt(r.get('policy_err'), '.1e')} |")
    if meta.get("startup"):
        import startup

        lines += ["", "## Start-up (import and first `mdpkit solve` with a warm Numba cache)", "",
                  startup.markdown(meta["startup"])]
    lines += ["", "Reference v*: " + "; ".join(
        f"{k}: half-width {v['half_width']:.1e}" for k, v in meta["references"].items()) + "."]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"meta": meta, "solves": rows, "sweeps": sweeps}, f, indent=1, default=float)
    if make_plot:
        plot(out_dir, meta, summary, libs)
    return "\n".join(lines)


def plot(out_dir, meta, summary, libs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(summary) + 2), 4.2))
    width = 0.8 / max(len(libs), 1)
    x = np.arange(len(summary))
    ts_all = [t for s in summary for t in s["best"].values() if t]
    ymin = min(ts_all or [1e-3]) / 3
    missing = []
    for k, lib in enumerate(libs):
        ts = [s["best"].get(lib) for s in summary]
        xs = x + (k - (len(libs) - 1) / 2) * width
        ax.bar(xs, [t if t else 0 for t in ts], width, label=lib, color=f"C{k}")
        missing += [(xi, k) for xi, t in zip(xs, ts) if not t]
    ax.set_yscale("log")
    ax.set_ylim(bottom=ymin)
    for xi, k in missing:  # no certified answer: timeout, error, not eps-accurate or not run
        ax.text(xi, ymin * 1.15, "x", ha="center", va="bottom", fontsize=9, color=f"C{k}", fontweight="bold")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{s['instance']}\ngamma={s['gamma']}" for s in summary], fontsize=8)
    ax.set_ylabel("time to certified eps-optimal policy (s)")
    bw = meta["machine"]["bandwidth"]["floor_gbs"]
    ax.set_title(f"{meta['profile']} suite, eps={meta['epsilon']:g}; {meta['machine']['cores']} cores, "
                 f"{bw:.1f} GB/s  (x: no certified answer: timeout, error, not eps-accurate)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "time_to_epsilon.png"), dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="reduced sizes, under 2 minutes")
    g.add_argument("--smoke", action="store_true", help="tiny sizes (test suite)")
    p.add_argument("--out", help="output folder")
    p.add_argument("--epsilon", type=float, default=1e-6)
    p.add_argument("--repeats", type=int)
    p.add_argument("--budget", type=float, help="seconds per run before it is reported as timeout")
    p.add_argument("--libs", help="comma-separated subset of " + ",".join(a.name for a in peers.ADAPTERS))
    p.add_argument("--instances", help="comma-separated subset of dense-garnet,sparse-garnet,forest,grid-world")
    p.add_argument("--gammas", help="comma-separated discount factors")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up timing (full profile only)")
    p.add_argument("--h2h-rounds", type=int, help="interleaved rounds of the solve(mdp) vs QuantEcon comparison")
    h = p.add_mutually_exclusive_group()
    h.add_argument("--no-h2h", action="store_true", help="skip the solve(mdp) vs QuantEcon comparison")
    h.add_argument("--h2h-only", action="store_true", help="run only the solve(mdp) vs QuantEcon comparison")
    p.add_argument("--h2h-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.h2h_child:
        return h2h_child(args.h2h_child)
    profile = "quick" if args.quick else "smoke" if args.smoke else "full"
    prof = dict(PROFILES[profile])
    if args.repeats:
        prof["repeats"] = args.repeats
    if args.budget:
        prof["budget"] = args.budget
    gammas = tuple(float(x) for x in args.gammas.split(",")) if args.gammas else prof["gammas"]
    out_dir = args.out or os.path.join(HERE, "results", "" if profile == "full" else profile,
                                       "head_to_head" if args.h2h_only else "")
    names = args.instances.split(",") if args.instances else list(instances.SUITES[profile])
    avail = peers.availability()
    if args.libs:
        keep = set(args.libs.split(","))
        avail = {k: (v if k in keep else None) for k, v in avail.items()}
    eps = args.epsilon
    t_all = time.perf_counter()
    print(f"[bench] profile={profile} libraries={avail}", flush=True)
    bw = bandwidth.measure(n={"full": 1 << 25, "quick": 1 << 24, "smoke": 1 << 22}[profile],
                           repeats=10 if profile != "smoke" else 3)
    print(f"[bench] bandwidth {bw}", flush=True)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                                text=True).stdout.strip() or None
    except OSError:
        commit = None
    meta = {"profile": profile, "commit": commit, "epsilon": eps, "repeats": prof["repeats"], "budget": prof["budget"],
            "machine": machine_info(bw), "libraries": avail, "references": {}, "instances": {}}
    rows, sweeps = [], []
    workdir = tempfile.mkdtemp(prefix="mdpkit-bench-")
    # 0. the acceptance comparison, solve(mdp) vs QuantEcon's MPI, before the machine warms up
    if args.no_h2h:
        pass
    elif not avail.get("quantecon"):
        print("[bench] head-to-head skipped: quantecon not installed", flush=True)
    else:
        h2h_names = [n for n in H2H_INSTANCES if not args.instances or n in names]
        meta["head_to_head"] = head_to_head(profile, eps, args.h2h_rounds or H2H_ROUNDS[profile], workdir,
                                            timeout=20 * prof["budget"] + 60, names=h2h_names)
    if args.h2h_only:
        names = []
    cases = [(name, gamma) for name in names for gamma in gammas]
    # 1. plan: one job per (library, instance, gamma, method or "sweep")
    jobs = {}
    for name, gamma in cases:
        for adapter in peers.ADAPTERS:
            if avail.get(adapter.name):
                tasks = list(adapter.methods) + (["sweep"] if gamma == gammas[0] else [])
                jobs[(adapter.name, name, gamma)] = tasks
    # 2. run: full = one child per job (a timeout stops only that job); quick = one child per
    #    library and case; quick and smoke = one child per library (start-up time dominates)
    results = {}
    base = dict(suite=profile, epsilon=eps, repeats=prof["repeats"], budget=prof["budget"], sweeps=prof["sweeps"])
    groups = []
    for (lib, name, gamma), tasks in jobs.items():
        js = [dict(instance=name, gamma=gamma, task=t) for t in tasks]
        if prof["group"] == "job":
            groups += [(lib, [j]) for j in js]
        elif prof["group"] == "case" or not groups or groups[-1][0] != lib:
            groups.append((lib, js))
        else:
            groups[-1][1].extend(js)
    if prof["group"] == "library":  # jobs of one library are spread over cases: merge them
        merged = {}
        for lib, js in groups:
            merged.setdefault(lib, []).extend(js)
        groups = list(merged.items())
    for lib, js in groups:
        out = run_child(dict(base, lib=lib, jobs=js), workdir, job_timeout=prof["budget"] + prof["allowance"])
        for job, r in zip(js, out):
            results[(lib, job["instance"], job["gamma"], job["task"])] = r
    # 3. score against the references
    for name, gamma in cases:
        mdp = instances.build(name, profile, gamma)
        key = f"{name} gamma={gamma}"
        meta["instances"][name] = {"params": instances.params(name, profile), "S": mdp.S, "A": mdp.A,
                                   "nnz": mdp.nnz, "sparse": mdp.is_sparse}
        ref = reference(mdp, eps)
        meta["references"][key] = {"half_width": ref["half_width"], "seconds": ref["seconds"]}
        print(f"[bench] {key}: S={mdp.S} A={mdp.A} nnz={mdp.nnz}; reference half-width "
              f"{ref['half_width']:.1e} ({ref['seconds']:.1f} s)", flush=True)
        case_rows = []
        gather = bandwidth.gather_time(mdp)
        if gather is not None:
            meta["instances"][name]["gather_s"] = gather[0]
        for adapter in peers.ADAPTERS:
            if not avail.get(adapter.name):
                continue
            for task in jobs[(adapter.name, name, gamma)]:
                res, arrays = results[(adapter.name, name, gamma, task)]
                if task == "sweep":
                    nb = floor_bytes(mdp)
                    floor_s = nb / (bw["floor_gbs"] * 1e9)
                    s = {"instance": name, "lib": adapter.name, "bytes": nb, "floor_s": floor_s,
                         "traffic_floor_s": traffic_bytes(mdp) / (bw["floor_gbs"] * 1e9), "status": res["status"],
                         "gather_s": gather and gather[0]}
                    if res["status"] == "ok" and res.get("sweep_times"):
                        s["sweep_s"] = float(np.median(res["sweep_times"]))
                        s["sweep_min_s"] = float(np.min(res["sweep_times"]))
                        s["ratio_to_floor"] = s["sweep_s"] / floor_s
                    sweeps.append(s)
                    print(f"[bench]   sweep {adapter.name:<12} {s['status']} "
                          f"{fmt(s.get('sweep_s') and s['sweep_s'] * 1e3, '.2f')} ms "
                          f"(floor {floor_s * 1e3:.2f} ms)", flush=True)
                    continue
                row = {"instance": name, "gamma": gamma, "lib": adapter.name, "method": task,
                       "status": res["status"], "error": res.get("error")}
                if res["status"] == "ok" and arrays is not None:
                    row.update(time=float(np.median(res["times"])), times=res["times"],
                               iterations=res.get("iterations"), extra=res.get("extra"),
                               peak_mb=res.get("peak_mb"))
                    score(row, arrays, mdp, ref, eps)
                case_rows.append(row)
                print(f"[bench]   {adapter.name:<12} {task:<5} {row['status']:<16} "
                      f"{fmt(row.get('time'))} s  iters={row.get('iterations')} "
                      f"policy_err={fmt(row.get('policy_err'), '.1e')} value_err={fmt(row.get('value_err'), '.1e')}",
                      flush=True)
        peer_ok = [r["time"] for r in case_rows if r["lib"] != "mdpkit" and r.get("eps_optimal")]
        fastest = min(peer_ok) if peer_ok else None
        for r in case_rows:
            r["ratio_to_fastest_peer"] = (r["time"] / fastest) if fastest and r.get("time") else None
        rows += case_rows
        del mdp
    shutil.rmtree(workdir, ignore_errors=True)
    if profile == "full" and not args.no_startup and not args.h2h_only:
        import startup

        meta["startup"] = startup.measure(repeats=3)
    meta["total_seconds"] = time.perf_counter() - t_all
    table = write_outputs(out_dir, meta, rows, sweeps, make_plot=not args.no_plot and bool(rows))
    print(table)
    print(f"[bench] wrote {out_dir}/results.md, results.json" + ("" if args.no_plot or not rows else ", time_to_epsilon.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

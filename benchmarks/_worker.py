"""Child process of ``run.py``: one library, a list of jobs (instance, gamma, method or "sweep"),
isolated from the parent so a run can be stopped at its time budget and its peak memory measured.

Usage: ``python _worker.py SPEC.json``.  For each task it appends one JSON line to
``SPEC.out.jsonl`` as soon as the task finishes (so a later timeout keeps earlier results) and
saves the returned ``v`` and ``policy`` to ``SPEC.<k>.npz``.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import instances  # noqa: E402
import peers  # noqa: E402


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's resident-set high-water mark (Linux >= 4.0), so VmHWM measures one task."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _solve(adapter, model, spec, method):
    budget = float(spec["budget"])
    t_start = time.perf_counter()
    times, first = [], None
    while len(times) < spec["repeats"]:
        v, pi, n_iter, extra, dt = adapter.solve(model, method, spec["epsilon"])
        times.append(dt)
        if first is None:
            first = (v, pi, n_iter, extra)
        if (time.perf_counter() - t_start) + dt > budget * 0.8:  # no room for another repeat
            break
    v, pi, n_iter, extra = first
    return {"status": "ok", "times": times, "iterations": n_iter, "extra": extra}, (v, pi)


def _sweep(adapter, model, spec):
    fn = adapter.sweep(model)
    if fn is None:
        return {"status": "n/a"}
    t_start = time.perf_counter()
    fn()  # first call: page-in, caches
    times = []
    while len(times) < spec["sweeps"] and (time.perf_counter() - t_start) < float(spec["budget"]) / 2:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return {"status": "ok", "sweep_times": times}


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    stem = spec_path[: -len(".json")]
    adapter = peers.by_name(spec["lib"])
    warnings.simplefilter("ignore")
    adapter.warmup()
    current, model = None, None
    for k, job in enumerate(spec["jobs"]):
        key = (job["instance"], job["gamma"])
        if key != current:
            model = None
            gc.collect()
            mdp = instances.build(job["instance"], spec["suite"], job["gamma"])
            model = adapter.prepare(mdp)
            del mdp
            current = key
        gc.collect()
        rss0 = _status_kb("VmRSS")
        reset = _reset_peak()
        task = job["task"]
        try:
            if task == "sweep":
                res, arrays = _sweep(adapter, model, spec), None
            else:
                res, arrays = _solve(adapter, model, spec, task)
        except Exception as e:  # noqa: BLE001 - a failing peer is a result; later jobs still run
            res, arrays = {"status": "error", "error": f"{type(e).__name__}: {e}"[:200]}, None
        hwm = _status_kb("VmHWM")
        res["task"] = task
        res["peak_mb"] = max(hwm - rss0, 0) / 1024.0 if (reset and rss0 is not None and hwm is not None) else None
        if arrays is not None:
            np.savez(f"{stem}.{k}.npz", v=np.asarray(arrays[0], float), policy=np.asarray(arrays[1], np.int64))
            res["npz"] = f"{stem}.{k}.npz"
        with open(stem + ".out.jsonl", "a") as f:
            f.write(json.dumps(res, default=float) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])

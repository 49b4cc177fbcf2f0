"""Child process of ``run.py``: one library, one method, one instance (isolated for timeouts and
peak memory).  Usage: ``python _worker.py SPEC.json``; writes ``SPEC.out.json`` (+ ``.npz``)."""

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
    """Reset the kernel's resident-set high-water mark (Linux >= 4.0), so VmHWM measures the solve."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    out_path = spec_path[: -len(".json")] + ".out.json"
    adapter = peers.by_name(spec["lib"])
    warnings.simplefilter("ignore")
    adapter.warmup()
    mdp = instances.build(spec["instance"], spec["suite"], spec["gamma"])
    model = adapter.prepare(mdp)
    gc.collect()
    rss0 = _status_kb("VmRSS")
    reset = _reset_peak()
    budget = float(spec["budget"])
    t_start = time.perf_counter()
    result: dict = {"lib": spec["lib"], "method": spec["method"], "mode": spec["mode"]}
    if spec["mode"] == "sweep":
        fn = adapter.sweep(model)
        if fn is None:
            result["status"] = "n/a"
        else:
            fn()  # first call: caches, page-in
            times = []
            while len(times) < spec["sweeps"] and (time.perf_counter() - t_start) < budget / 2:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            result.update(status="ok", sweep_times=times)
    else:
        times, first = [], None
        while len(times) < spec["repeats"]:
            v, pi, n_iter, extra, dt = adapter.solve(model, spec["method"], spec["epsilon"])
            times.append(dt)
            if first is None:
                first = (v, pi, n_iter, extra)
            spent = time.perf_counter() - t_start
            if spent + dt > budget * 0.8:  # no room for another repeat
                break
        v, pi, n_iter, extra = first
        np.savez(spec_path[: -len(".json")] + ".npz", v=np.asarray(v, float), policy=np.asarray(pi, np.int64))
        result.update(status="ok", times=times, iterations=n_iter, extra=extra)
    hwm = _status_kb("VmHWM")
    if rss0 is not None and hwm is not None:
        result["peak_mb"] = (hwm - rss0) / 1024.0 if reset else None
        result["peak_total_mb"] = hwm / 1024.0
    with open(out_path, "w") as f:
        json.dump(result, f, default=float)


if __name__ == "__main__":
    main(sys.argv[1])

r"""Seeded sweeps of learning runs through joblib (locally) or dask.distributed, saved per cell.

A *sweep* is a set of named cells (an algorithm on an instance, an online-RL method on a model ...),
each given as a callable ``fn(seed) -> LearningResult`` that runs one seed, and a list of per-run
seeds.  :func:`run_sweep` runs every (cell, seed) pair:

* locally with ``joblib.Parallel`` (``n_jobs`` processes; ``n_jobs=1`` runs in this process), or on
  a ``dask.distributed`` cluster when given a ``client`` or a scheduler ``address``;
* each finished pair is written at once, atomically (:func:`mdpkit.io.atomic_write`), to
  ``out_dir/<cell>/<seed>.npz`` (plain arrays and a JSON header: no pickle);
* pairs whose file already exists and reads back are skipped, so a sweep killed or interrupted
  part way resumes where it stopped, and gives the same results as an uninterrupted one (each
  pair's result depends only on its own seed);
* a ``tqdm`` bar shows progress.

The results of a cell, over its seeds in the order given, are merged into one
:class:`~mdpkit.results.LearningResult` (:func:`merge_results`).  Callables must be picklable for
the parallel backends (module-level functions or :func:`functools.partial` of them), e.g.
:func:`bandit_cell`.  :func:`bandit_sweep` builds the cells of algorithms x instances.

joblib, dask and tqdm are imported inside the functions that use them.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit.results import LearningResult

__all__ = ["bandit_cell", "bandit_sweep", "cell_path", "load_cell", "merge_results", "run_sweep", "save_cell"]

_SAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def _safe(key: str) -> str:
    s = _SAFE.sub("_", str(key)).strip("._") or "cell"
    return s[:120]


def cell_path(out_dir, key: str, seed: int) -> Path:
    """File of one (cell, seed) pair: ``out_dir/<sanitised key>/<seed>.npz``."""
    return Path(out_dir) / _safe(key) / f"{int(seed)}.npz"


def _bound_json(b):
    if b is None:
        return None
    return {"value": float(b.value), "kind": b.kind.value, "citation": b.citation, "assumptions": list(b.assumptions),
            "delta": b.delta, "statement": b.statement}


def save_cell(path, res: LearningResult) -> None:
    """Write ``res`` to ``path`` atomically (npz of arrays + a JSON header; no pickle)."""
    from mdpkit.io import atomic_write

    header = json.dumps({"method": res.method, "options": res.options, "wall_time": res.wall_time,
                         "expected_regret_exact": bool(res.expected_regret_exact),
                         "certificate": _bound_json(res.certificate)}, default=str)
    arrays = {"actions": res.actions, "rewards": res.rewards, "pseudo_regret": res.pseudo_regret,
              "expected_regret": res.expected_regret, "n_pulls": res.n_pulls, "seeds": res.seeds,
              "header": np.frombuffer(header.encode("utf-8"), dtype=np.uint8)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_cell(path) -> LearningResult:
    """Read a file written by :func:`save_cell`.

    Raises
    ------
    mdpkit.ModelFileError
        The file is missing an array or its header is not valid JSON.
    """
    from mdpkit._exceptions import ModelFileError
    from mdpkit.bounds import Bound, BoundKind

    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        h = json.loads(bytes(d.pop("header")).decode("utf-8"))
        cert = h.get("certificate")
        if cert is not None:
            cert = Bound(cert["value"], BoundKind(cert["kind"]), cert["citation"], tuple(cert["assumptions"]),
                         cert["delta"], cert["statement"])
        for k in d:
            d[k].flags.writeable = False
        return LearningResult(actions=d["actions"], rewards=d["rewards"], pseudo_regret=d["pseudo_regret"],
                              expected_regret=d["expected_regret"], expected_regret_exact=h["expected_regret_exact"],
                              n_pulls=d["n_pulls"], seeds=d["seeds"], method=h["method"], options=h["options"],
                              wall_time=h["wall_time"], certificate=cert)
    except (KeyError, ValueError, OSError) as e:
        raise ModelFileError(f"{path}: not a sweep cell file ({type(e).__name__}: {e})") from None


def merge_results(results: Sequence[LearningResult]) -> LearningResult:
    """Concatenate results of the same cell along runs (in the order given).

    ``expected_regret`` stays exact when every part holds the same exact curve; otherwise it is
    the mean pseudo-regret of the merged runs.
    """
    if not results:
        raise InvalidArgumentError("merge_results needs at least one result")
    first = results[0]
    cat = {k: np.concatenate([getattr(r, k) for r in results], axis=0)
           for k in ("actions", "rewards", "pseudo_regret", "n_pulls", "seeds")}
    exact = all(r.expected_regret_exact for r in results) and all(
        np.array_equal(r.expected_regret, first.expected_regret) for r in results)
    er = first.expected_regret.copy() if exact else cat["pseudo_regret"].mean(axis=0)
    for a in (*cat.values(), er):
        a.flags.writeable = False
    opts = dict(first.options)
    opts["n_runs"] = int(cat["actions"].shape[0])
    opts.pop("seed", None)
    return LearningResult(actions=cat["actions"], rewards=cat["rewards"], pseudo_regret=cat["pseudo_regret"],
                          expected_regret=er, expected_regret_exact=exact, n_pulls=cat["n_pulls"], seeds=cat["seeds"],
                          method=first.method, options=opts, wall_time=float(sum(r.wall_time for r in results)),
                          certificate=first.certificate)


def _call(fn, seed):
    return fn(int(seed))


def _call_chunk(fns, pairs):
    return [fns[k](int(s)) for k, s in pairs]


def run_sweep(cells: Mapping[str, Callable[[int], LearningResult]], seeds, out_dir=None, *, client=None,
              address: str | None = None, n_jobs: int = 1, backend: str | None = None,
              chunk_size: int | None = None, progress: bool = True,
              description: str = "sweep") -> dict[str, LearningResult]:
    """Run every cell on every seed; save each pair as it finishes; return the merged result per cell.

    Parameters
    ----------
    cells : mapping of str to callable
        ``fn(seed: int) -> LearningResult`` per cell name (picklable for the parallel backends).
    seeds : sequence of int
        Per-run seeds, each passed to every cell (e.g. :func:`mdpkit.solvers.bandits.spawn_seeds`).
    out_dir : path, optional
        Where each (cell, seed) result is saved (:func:`cell_path`); pairs already there are loaded,
        not rerun (resume).  Without it nothing is saved and nothing can be resumed.
    client : dask.distributed.Client, optional
        Run on this cluster.
    address : str, optional
        Scheduler address (``"tcp://host:8786"``): a client is opened for the sweep and closed after.
    n_jobs : int
        joblib workers when no cluster is given (1: in this process).
    backend : str, optional
        joblib backend (default joblib's: ``"loky"`` processes); ``"threading"`` runs in this process.
    chunk_size : int, optional
        (cell, seed) pairs per task on the parallel backends (each pair is still saved on its own
        as soon as its task returns).  Default: enough pairs that there are about 16 tasks per
        worker, which keeps the scheduler's per-task overhead small.
    progress : bool
        Show a tqdm bar.

    Returns
    -------
    dict of str to LearningResult
        Cell name -> the results of its seeds merged in seed order (:func:`merge_results`).

    Raises
    ------
    InvalidArgumentError
        No cells, no seeds, duplicate seeds, both ``client`` and ``address``.
    """
    if not cells:
        raise InvalidArgumentError("run_sweep needs at least one cell")
    seeds = [int(s) for s in np.asarray(seeds, dtype=np.int64).reshape(-1)]
    if not seeds:
        raise InvalidArgumentError("run_sweep needs at least one seed")
    if len(set(seeds)) != len(seeds):
        raise InvalidArgumentError("run_sweep: seeds must be distinct (each names a saved file)")
    if client is not None and address is not None:
        raise InvalidArgumentError("give either a dask client or a scheduler address, not both")
    if len({_safe(k) for k in cells}) != len(cells):
        raise InvalidArgumentError("run_sweep: two cell names map to the same directory name")
    done: dict[tuple[str, int], LearningResult] = {}
    todo: list[tuple[str, int]] = []
    for key in cells:
        for s in seeds:
            p = cell_path(out_dir, key, s) if out_dir is not None else None
            if p is not None and p.exists():
                try:
                    done[(key, s)] = load_cell(p)
                    continue
                except ValueError:
                    pass  # a damaged file is recomputed (atomic writes make this rare)
            todo.append((key, s))

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo) + len(done), initial=len(done), desc=description, disable=not progress, leave=False)

    def finish(key, s, res):
        if out_dir is not None:
            save_cell(cell_path(out_dir, key, s), res)
        done[(key, s)] = res
        bar.update(1)

    def chunks(n_workers):
        c = chunk_size or max(1, len(todo) // (16 * max(1, n_workers)))
        if int(c) < 1:
            raise InvalidArgumentError(f"chunk_size must be >= 1, got {chunk_size}")
        return [todo[i:i + int(c)] for i in range(0, len(todo), int(c))]

    try:
        if todo and (client is not None or address is not None):
            from dask.distributed import Client, as_completed

            own = client is None
            cl = Client(address) if own else client
            try:
                fns = dict(cells)
                parts = chunks(len(cl.scheduler_info().get("workers", {})) or 1)
                futs = {cl.submit(_call_chunk, fns, part, pure=False): part for part in parts}
                for fut in as_completed(list(futs)):
                    for (k, s), res in zip(futs[fut], fut.result()):
                        finish(k, s, res)
            finally:
                if own:
                    cl.close()
        elif todo and n_jobs != 1:
            from joblib import Parallel, delayed

            par = Parallel(n_jobs=n_jobs, backend=backend, return_as="generator_unordered")
            workers = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
            for part, out in par(delayed(lambda p: (p, _call_chunk(cells, p)))(p) for p in chunks(workers)):
                for (k, s), res in zip(part, out):
                    finish(k, s, res)
        else:
            for k, s in todo:
                finish(k, s, _call(cells[k], s))
    finally:
        bar.close()
    return {k: merge_results([done[(k, s)] for s in seeds]) for k in cells}


def bandit_cell(algorithm, instance, horizon: int, seed: int) -> LearningResult:
    """One run of ``algorithm`` on ``instance`` with the per-run seed ``seed`` (a sweep cell).

    Bitwise the run ``i`` of ``run_bandit(..., seed=root)`` when ``seed = spawn_seeds(root, n)[i]``.
    """
    import time

    from mdpkit.results import learning_result

    from . import bandits as sb
    from mdpkit.bounds import bandits as bb

    t0 = time.perf_counter()
    algo = sb.bandit_algorithm(algorithm)
    actions, rewards = sb.run_seeds(algo, instance, horizon, [seed])
    exact = sb.exact_expected_regret(algo, instance, horizon)
    try:
        cert = bb.regret_bound(algo, instance, horizon)
    except bb.BoundNotApplicableError:
        cert = None
    opts = {"algorithm": algo.name, "variant": algo.variant, **algo.options, "horizon": int(horizon),
            "instance": repr(instance)}
    return learning_result(actions=actions, rewards=rewards, means=instance.means, seeds=[seed], method=algo.label,
                           options=opts, wall_time=time.perf_counter() - t0, expected_regret=exact, certificate=cert)


def bandit_sweep(algorithms, instances, horizon: int, n_runs: int, seed=0, out_dir=None, *, client=None,
                 address: str | None = None, n_jobs: int = 1, backend: str | None = None,
                 progress: bool = True) -> dict[tuple[str, str], LearningResult]:
    """Sweep algorithms x instances x ``n_runs`` seeds (spawned from ``seed``) with :func:`run_sweep`.

    Instances are named by their ``name`` (or ``repr``); each cell's merged result equals
    ``run_bandit(algorithm, instance, horizon, n_runs, seed)`` bitwise.

    Returns
    -------
    dict of (algorithm label, instance name) to LearningResult
    """
    from . import bandits as sb

    algos = [sb.bandit_algorithm(a) for a in algorithms]
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise InvalidArgumentError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    seeds = sb.spawn_seeds(seed, int(n_runs))
    cells, names = {}, {}
    for a in algos:
        for inst in instances:
            iname = inst.name or repr(inst)
            key = f"{a.label}@{iname}"
            cells[key] = functools.partial(bandit_cell, a, inst, int(horizon))
            names[key] = (a.label, iname)
    out = run_sweep(cells, seeds, out_dir, client=client, address=address, n_jobs=n_jobs, backend=backend,
                    progress=progress, description="bandit sweep")
    return {names[k]: v for k, v in out.items()}

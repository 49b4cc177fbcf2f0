"""Sweeps: same results as run_bandit (bitwise) in process, through joblib and on a real dask
LocalCluster; resumable after an interruption with the same results."""

import copy
import functools
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mdpkit.bandits import BernoulliBandit, GaussianBandit
from mdpkit.solvers.bandits import run_bandit, spawn_seeds
from mdpkit.solvers.sweep import bandit_cell, bandit_sweep, cell_path, load_cell, run_sweep

def _own_cache(tmp_path, name):
    """A Numba cache directory for one worker process: a copy of this process's (already warm) cache,
    so the worker loads the compiled kernels instead of compiling them, and no two processes ever
    write one directory."""
    import shutil

    run_bandit("ucb1", BernoulliBandit([0.5, 0.4]), 5, 1)  # make sure the kernels are compiled and cached
    dst = tmp_path / name
    src = os.environ.get("NUMBA_CACHE_DIR")
    if src and os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.lock"))
    else:
        dst.mkdir()
    return str(dst)


INSTS = [BernoulliBandit([0.7, 0.5], name="b2"), GaussianBandit([0.5, 0.0, 0.2], name="g3")]
ALGOS = ["ucb1", "ts_gaussian"]


def _same(a, b):
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    np.testing.assert_array_equal(a.pseudo_regret, b.pseudo_regret)
    np.testing.assert_array_equal(a.seeds, b.seeds)


def _check_against_run_bandit(out, T, n, seed):
    for algo in ALGOS:
        for inst in INSTS:
            _same(out[(algo, inst.name)], run_bandit(algo, inst, T, n, seed=seed))


def test_sweep_in_process_equals_run_bandit_and_saves_cells(tmp_path):
    out = bandit_sweep(ALGOS, INSTS, 80, 6, seed=3, out_dir=tmp_path, progress=False)
    _check_against_run_bandit(out, 80, 6, 3)
    s0 = int(spawn_seeds(3, 6)[0])
    f = cell_path(tmp_path, "ucb1@b2", s0)
    assert f.exists()
    _same(load_cell(f), run_bandit("ucb1", INSTS[0], 80, 6, seed=3).__class__(
        **{**out[("ucb1", "b2")].__dict__, **{k: getattr(out[("ucb1", "b2")], k)[:1]
                                              for k in ("actions", "rewards", "pseudo_regret", "n_pulls", "seeds")}}))


class _Interrupt:
    """A cell that raises KeyboardInterrupt at one seed the first time it is called (Ctrl-C)."""

    def __init__(self, fn, seed, flag):
        self.fn, self.seed, self.flag = fn, seed, flag

    def __call__(self, s):
        if s == self.seed and not os.path.exists(self.flag):
            open(self.flag, "w").close()
            raise KeyboardInterrupt
        return self.fn(s)


def test_interrupted_sweep_resumes_with_same_results(tmp_path):
    seeds = spawn_seeds(11, 8)
    inst = INSTS[1]
    base = functools.partial(bandit_cell, "kl_ucb", inst, 120)
    cells = {"kl": _Interrupt(base, int(seeds[5]), str(tmp_path / "flag"))}
    with pytest.raises(KeyboardInterrupt):
        run_sweep(cells, seeds, tmp_path / "out", progress=False)
    saved = sorted(p.name for p in (tmp_path / "out" / "kl").glob("*.npz"))
    assert len(saved) == 5  # the five seeds before the interruption
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "kl").glob("*.npz")}
    res = run_sweep(cells, seeds, tmp_path / "out", progress=False)["kl"]
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())  # saved cells were not rerun
    _same(res, run_bandit("kl_ucb", inst, 120, 8, seed=11))


def test_killed_subprocess_sweep_resumes(tmp_path):
    """A sweep process killed with SIGKILL mid-way leaves only complete cells; resuming finishes it."""
    out_dir = tmp_path / "out"
    env = dict(os.environ, NUMBA_CACHE_DIR=_own_cache(tmp_path, "numba"))
    code = ("import time, functools, numpy as np\n"
            "from mdpkit.bandits import BernoulliBandit\n"
            "from mdpkit.solvers.bandits import spawn_seeds\n"
            "from mdpkit.solvers.sweep import bandit_cell, run_sweep\n"
            "def slow(s):\n"
            "    time.sleep(0.3)\n"
            "    return bandit_cell('uniform', BernoulliBandit([0.6, 0.4], name='b'), 50, s)\n"
            f"run_sweep({{'u': slow}}, spawn_seeds(2, 40), {str(out_dir)!r}, progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    cell_dir = out_dir / "u"
    while time.time() < deadline and proc.poll() is None:
        if cell_dir.exists() and len(list(cell_dir.glob("*.npz"))) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = list(cell_dir.glob("*.npz"))
    assert 3 <= len(saved) < 40
    for f in saved:  # a kill can leave a temporary file behind, never a partial .npz
        load_cell(f)
    res = run_sweep({"u": functools.partial(bandit_cell, "uniform", BernoulliBandit([0.6, 0.4], name="b"), 50)},
                    spawn_seeds(2, 40), out_dir, progress=False)["u"]
    _same(res, run_bandit("uniform", BernoulliBandit([0.6, 0.4]), 50, 40, seed=2))


def test_joblib_threads_same_results(tmp_path):
    """The joblib path (worker processes are exercised by the dask and subprocess tests)."""
    out = bandit_sweep(ALGOS, INSTS, 60, 4, seed=8, n_jobs=2, backend="threading", out_dir=tmp_path, progress=False)
    assert len(list(tmp_path.rglob("*.npz"))) == 16  # one file per (cell, seed) even in chunks
    _check_against_run_bandit(out, 60, 4, 8)


@pytest.mark.slow
def test_joblib_two_processes_same_results(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", _own_cache(tmp_path, "numba_joblib"))
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)  # workers start with this test's cache directory
    out = bandit_sweep(ALGOS, INSTS, 60, 4, seed=8, n_jobs=2, progress=False)
    get_reusable_executor().shutdown(wait=True)
    _check_against_run_bandit(out, 60, 4, 8)


@pytest.mark.slow
def test_dask_local_cluster_same_results(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=0, processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        for i in range(2):  # each worker process gets its own Numba cache directory
            (name, spec), = cluster.new_worker_spec().items()
            spec = copy.deepcopy(spec)
            spec.setdefault("options", {})["env"] = {"NUMBA_CACHE_DIR": _own_cache(tmp_path, f"numba_w{i}")}
            cluster.worker_spec[f"w{i}"] = spec
        cluster.scale(2)
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            dirs = client.run(lambda: os.environ.get("NUMBA_CACHE_DIR"))
            assert sorted(dirs.values()) == [str(tmp_path / "numba_w0"), str(tmp_path / "numba_w1")]
            out = bandit_sweep(ALGOS, INSTS, 60, 4, seed=8, out_dir=tmp_path / "o", client=client, progress=False)
            _check_against_run_bandit(out, 60, 4, 8)
            out2 = bandit_sweep(ALGOS, INSTS, 60, 4, seed=8, out_dir=tmp_path / "o", address=cluster.scheduler_address,
                                progress=False)  # all cells loaded from disk
            _check_against_run_bandit(out2, 60, 4, 8)
    finally:
        cluster.close()

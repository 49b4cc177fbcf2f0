"""Processes compiling the kernels at the same time share one Numba cache safely.

The defect (issue "Results that mean what they say", item 2): kernels were compiled for several
type signatures (read-only vs writable arrays, int32 vs int64 CSR indices, literal ``True`` vs
``False`` flags), so one cache index held several overloads.  Numba numbers a new overload's
data file after the entries of the index it has just read, so two processes adding *different*
overloads of one kernel at the same time can both write ``...1.nbc`` and leave the index
pointing at the other overload's machine code; later processes then crash (SIGSEGV), e.g. on
``value_iteration(TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.0), epsilon=0.01)``.
With one signature per kernel (DESIGN.md "Kernels") every process writes the same entry.

Each test starts pairs of processes on ONE cold ``NUMBA_CACHE_DIR`` (a tmp_path), round after
round, each process running a different mix of solvers and inputs; every process must exit 0,
every result must agree across processes and rounds, and every cache index of
``mdpkit/_kernels/bellman.py`` (and, in the slow variant, ``robust.py`` and ``distributional.py``)
must end with at most one entry.  The first round compiles on a
cold cache (a few minutes of CPU on 2 cores); later rounds mostly load what it wrote, which is
where a corrupted index crashes.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

MIX = r'''
import json, sys, warnings
import numpy as np
import scipy.sparse as sp

warnings.simplefilter("ignore")
from mdpkit import TabularMDP
from mdpkit.solvers import (gauss_seidel_value_iteration, modified_policy_iteration, policy_iteration,
                            value_iteration)

out = {}


def model(seed=0, S=12, A=3):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) ** 4
    P /= P.sum(axis=2, keepdims=True)
    return TabularMDP(P, rng.random((S, A)), 0.9)


def ro(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def put(key, v):
    out[key] = [float(x) for x in np.ravel(v)]


mix = sys.argv[1]
# the reported crash
put("tiny", value_iteration(TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.0), epsilon=0.01).v)
if mix in ("dense", "csr-readonly"):
    m = model()
    if mix == "csr-readonly":
        m = m.to_sparse()
        v0, pi0 = ro(np.zeros(m.S)), ro(np.zeros(m.S, dtype=np.int32))
    else:
        v0, pi0 = np.zeros(m.S), np.zeros(m.S, dtype=np.int64)
    put("vi", value_iteration(m, epsilon=1e-9, v0=v0).v)
    put("mpi", modified_policy_iteration(m, epsilon=1e-9, v0=v0).v)
    put("gs", gauss_seidel_value_iteration(m, epsilon=1e-9, v0=v0).v)
    put("pi", policy_iteration(m, policy0=pi0).v)
elif mix == "one-entry":
    S, A = 9, 4
    nxt = (np.arange(S)[:, None] + np.arange(A)[None, :]) % S
    P = sp.csr_matrix((np.ones(S * A), (np.arange(S * A), nxt.ravel())), shape=(S * A, S))
    m = TabularMDP(P, np.arange(S * A, dtype=float).reshape(S, A) % 5, 0.9)
    put("vi-one-entry", value_iteration(m, epsilon=1e-9).v)
    put("pi-one-entry", policy_iteration(m).v)
elif mix == "robust":
    from mdpkit.solvers import robust_value_iteration
    put("robust", robust_value_iteration(model(), "l1:0.1", epsilon=1e-9).v)
    put("robust-csr", robust_value_iteration(model().to_sparse(), "l1:0.1", epsilon=1e-9).v)
    put("robust-kl", robust_value_iteration(model().to_sparse(), "kl:0.05", epsilon=1e-9).v)
    put("robust-l2", robust_value_iteration(model(), "l2:0.1", epsilon=1e-9).v)
elif mix == "distributional":
    from mdpkit.solvers import categorical_policy_evaluation
    put("categorical", categorical_policy_evaluation(model(), np.zeros(12, dtype=np.int64), n_atoms=21).v)
else:
    raise SystemExit("unknown mix " + mix)
print("RESULT " + json.dumps(out))
'''

#: the CLI mix: a small theorem check end to end
CLI = ["-m", "mdpkit.cli", "verify", "vi-stopping-rule", "--examples", "2", "--no-control", "--quiet"]

#: results that must agree across mixes (dense vs CSR storage): same key, within this tolerance
ATOL_ACROSS = 1e-6


def _start(mix: str, cache: Path) -> subprocess.Popen:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONWARNINGS="ignore")
    args = CLI if mix == "cli" else ["-c", MIX, mix]
    return subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _index_entries(cache: Path, module: str) -> dict[str, int]:
    """Number of overloads in every Numba cache index of ``mdpkit/_kernels/<module>.py``."""
    counts = {}
    for path in cache.rglob(f"{module}.*.nbi"):
        with open(path, "rb") as f:
            pickle.load(f)  # numba version
            _stamp, overloads = pickle.loads(f.read())
        counts[path.name] = len(overloads)
    return counts


def _run_rounds(rounds, cache: Path, modules=("bellman",)) -> None:
    results: dict[tuple[str, str], list] = {}
    by_key: dict[str, list] = {}
    for r, mixes in enumerate(rounds):
        procs = [(mix, _start(mix, cache)) for mix in mixes]  # started together: they compile together
        for mix, p in procs:
            out, err = p.communicate(timeout=1200)
            assert p.returncode == 0, (
                f"round {r}: process {mix!r} exited with {p.returncode}"
                + (f" (signal {-p.returncode})" if p.returncode < 0 else "")
                + f"\n--- stderr ---\n{err[-3000:]}"
            )
            if mix == "cli":
                continue
            line = [ln for ln in out.splitlines() if ln.startswith("RESULT ")]
            assert line, f"round {r}: {mix!r} printed no result:\n{out[-2000:]}"
            for key, val in json.loads(line[-1][len("RESULT "):]).items():
                prev = results.setdefault((mix, key), val)
                assert prev == val, f"round {r}: {mix!r} {key} changed between runs: {prev} vs {val}"
                by_key.setdefault(key, []).append(np.asarray(val))
    for key, vals in by_key.items():
        for v in vals[1:]:
            np.testing.assert_allclose(v, vals[0], rtol=0, atol=ATOL_ACROSS, err_msg=key)
    for module in modules:
        counts = _index_entries(cache, module)
        assert counts, f"no {module} cache index under {cache}"
        many = {k: n for k, n in counts.items() if n > 1}
        assert not many, f"cache indexes with more than one overload: {many}"


@pytest.mark.long
def test_pairs_of_processes_share_one_cold_cache(tmp_path):
    """Dense and CSR, writable and read-only inputs, the one-entry layouts: 3 rounds of 2 processes.

    Runs with ``pytest --long``: the default run keeps the all-families test below, whose rounds
    contain every one of these mixes (each paired with another family compiling at the same time)."""
    rounds = [("dense", "csr-readonly"), ("one-entry", "dense"), ("csr-readonly", "one-entry")]
    _run_rounds(rounds, tmp_path / "numba_cache")


@pytest.mark.slow
def test_pairs_of_processes_share_one_cold_cache_all_families(tmp_path):
    """Nominal, robust and distributional solvers and the CLI, paired in every round."""
    rounds = [
        ("dense", "robust"),
        ("csr-readonly", "distributional"),
        ("one-entry", "cli"),
        ("robust", "distributional"),
        ("cli", "csr-readonly"),
    ]
    _run_rounds(rounds, tmp_path / "numba_cache", modules=("bellman", "robust", "distributional"))

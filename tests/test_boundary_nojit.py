"""The kernel tests under ``NUMBA_DISABLE_JIT=1`` (issue 13): out-of-bounds indexing is an error.

Compiled Numba code does not check bounds, so a kernel reading past an array returns garbage
silently (issue 13 item 1: a CSR index equal to S gave a wrong ``v``).  With the JIT disabled the
same kernels run as plain Python on numpy arrays, where such a read raises ``IndexError``.  This
runs ``tests/kernels/test_vs_reference.py`` (every kernel against its numpy twin, about 10 s of
CPU without the JIT) in a subprocess with the JIT off and its own Numba cache directory, and
checks that the mode really catches an out-of-bounds CSR index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(tmp_path):
    return dict(os.environ, NUMBA_DISABLE_JIT="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"),
                MDPKIT_HYPOTHESIS_PROFILE="ci")


def test_kernel_tests_pass_without_jit(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/kernels/test_vs_reference.py"],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=900,
    )
    tail = r.stdout[-3000:] + r.stderr[-2000:]
    assert r.returncode == 0, tail
    assert " passed" in r.stdout and "failed" not in r.stdout, tail


def test_out_of_bounds_csr_index_is_an_index_error_without_jit(tmp_path):
    # a kernel model whose CSR column index is S: compiled code would read past v silently
    code = textwrap.dedent("""
        import numpy as np, scipy.sparse as sp
        import numba
        assert numba.config.DISABLE_JIT
        from mdpkit import TabularMDP
        from mdpkit._kernels import bellman, model_args
        m = TabularMDP(sp.csr_matrix(np.array([[0.5, 0.5], [0.0, 1.0]])), np.zeros((2, 1)), 0.9)
        km = list(model_args(m))
        idx = np.array(km[3]).copy()
        idx[-1] = 2  # == S, outside v
        km[3] = idx
        try:
            bellman.bellman_q(tuple(km), 0.9, np.zeros(2), np.empty(2))
        except IndexError:
            print("IndexError")
    """)
    r = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "IndexError", (r.stdout, r.stderr[-2000:])

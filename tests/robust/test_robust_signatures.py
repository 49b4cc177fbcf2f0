"""One type signature per robust kernel (DESIGN.md, Kernels; STYLE.md 2.5).

The robust solvers normalise every array at the Python boundary (float64 / int64, C-contiguous;
model arrays read-only as the model stores them, work buffers and iterates freshly allocated and
writable), so each Numba dispatcher in :mod:`mdpkit._kernels.robust` is compiled for exactly one
type signature whatever the user passes: dense or CSR models, read-only or writable, list,
float32 or strided ``v0``, sa- or s-rectangular sets, small (serial) or large (parallel) sweeps.

The runs happen in a fresh interpreter, so that kernels called elsewhere in the test session
(the kernel-level tests call them directly) cannot pollute the count.  Dispatchers loaded from the
on-disk cache register only the signatures called from Python; the ``slow`` variant uses an empty
cache directory, so every kernel (the ones called from inside other kernels included) is
compiled in the process and counted.
"""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r'''
    import numpy as np
    from numba.core.registry import CPUDispatcher

    from mdpkit import generators
    from mdpkit._kernels import robust as rk
    from mdpkit.solvers import robust as R
    from mdpkit.solvers.robust_static import iwocs
    from mdpkit.uncertainty import worst_case

    def v0_variants(S):
        a = np.linspace(-1.0, 1.0, S)
        ro = a.copy()
        ro.flags.writeable = False
        strided = np.linspace(-1.0, 1.0, 2 * S)[::2]
        return [None, a, ro, a.astype(np.float32), list(a), strided]

    m = generators.garnet(9, 3, 4, gamma=0.9, rng=0)
    models = [m.to_dense(), m.to_sparse()]
    for mdp in models:
        S = mdp.S
        for spec in ("l1:0.1", "kl:0.05", "wasserstein:0.2", "l1:0.1,support=simplex", "l1:0.1,rect=s"):
            for v0 in v0_variants(S):
                r = R.robust_value_iteration(mdp, spec, epsilon=1e-5, v0=v0)
                r.P_worst
                R.robust_partial_policy_iteration(mdp, spec, epsilon=1e-5, v0=v0).P_worst
                R.robust_bellman_operator(mdp, np.zeros(S) if v0 is None else v0, spec)
                R.robust_policy_operator(mdp, np.zeros(S) if v0 is None else v0, r.policy, spec)
                R.robust_policy_evaluation(mdp, r.policy, spec)
                if "rect=s" not in spec:
                    R.robust_modified_policy_iteration(mdp, spec, epsilon=1e-5, m=3, v0=v0)
            if "rect=s" not in spec:
                pol = np.zeros(S, dtype=np.int32)
                R.robust_policy_iteration(mdp, spec, policy0=pol)
                ro = np.zeros(S, dtype=np.int64)
                ro.flags.writeable = False
                R.robust_policy_iteration(mdp, spec, policy0=ro)
                R.robust_policy_evaluation(mdp, ro, spec)
        iwocs(mdp, "l1:0.2", max_iter=3)
    # sweeps large enough for the parallel L1 path (dense and CSR)
    for big in (generators.garnet(4000, 3, 6, gamma=0.5, rng=1, sparse=True),
                generators.garnet(160, 3, 6, gamma=0.5, rng=1, sparse=False)):
        R.robust_value_iteration(big, "l1:0.1", epsilon=1e-2)
        R.robust_modified_policy_iteration(big, "l1:0.1", epsilon=1e-2, m=2)
    # the validated inner problems share solve_row with the sweeps
    q = np.array([0.2, 0.3, 0.5])
    z = np.array([1.0, -2.0, 0.5])
    for spec in ("l1:0.1", "linf:0.1", "l2:0.1", "chi2:0.1", "kl:0.1", "wasserstein:0.1", "cvar:0.5",
                 "tv_penalty:1.0", "kl_penalty:1.0"):
        worst_case(q, z, spec)
        worst_case(list(q), z.astype(np.float32), spec)

    bad = []
    n_seen = 0
    for name, obj in sorted(vars(rk).items()):
        if isinstance(obj, CPUDispatcher):
            n_seen += len(obj.signatures) > 0
            if len(obj.signatures) > 1:
                bad.append(f"{name}: " + " | ".join(map(str, obj.signatures)))
    print("SEEN", n_seen)
    print("BAD", bad)
''')


def _run(env):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=3000)
    assert out.returncode == 0, out.stderr[-4000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.startswith(("SEEN", "BAD")))
    return int(lines["SEEN"]), lines["BAD"]


def test_every_robust_kernel_has_one_signature():
    seen, bad = _run(dict(os.environ))
    assert seen >= 5  # the Python-facing entry points ran
    assert bad == "[]", bad


@pytest.mark.long
def test_every_robust_kernel_has_one_signature__fresh_cache(tmp_path):
    """Empty Numba cache: nested kernels compile in-process, so they are counted too.

    About 2 minutes of compiling, so it runs with ``pytest --long``; the default run keeps
    ``tests/test_numba_cache.py``, whose cold-cache processes check one on-disk index entry per
    robust kernel (nested ones included) with the robust solvers exercised."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba_cache"))
    seen, bad = _run(env)
    assert seen >= 30
    assert bad == "[]", bad

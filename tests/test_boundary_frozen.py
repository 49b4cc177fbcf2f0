"""Issue 13 follow-up: a model's arrays cannot be changed after validation.

``TabularMDP`` validates its arrays once, in the constructor; the kernels and SciPy's C++ routines
then trust them (a CSR column index of 10**9 is read out of bounds, a segfault).  So every array
the model holds must be immutable: in-place edits raise (read-only numpy arrays), and the raw
arrays of a CSR ``P`` / ``R_sas`` cannot be reassigned (``m.P.indices = ...`` raises).  Edits are
tried in a subprocess, so that a regression shows up as a crash of the child, not of pytest.
The oracle for "still the validated model" is the value of an independent exact solve
(``numpy.linalg.solve`` of the Bellman equation of the only policy).
"""

from __future__ import annotations

import copy
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp

from mdpkit import TabularMDP
from mdpkit.solvers import solve

# S = 2, A = 1: P = [[.5, .5], [.25, .75]], R = [1, 0], gamma = .9; v = (I - gamma P)^-1 R
_P = np.array([[0.5, 0.5], [0.25, 0.75]])
_R = np.array([[1.0], [0.0]])
_V = np.linalg.solve(np.eye(2) - 0.9 * _P, _R[:, 0])


def _model(sparse: bool) -> TabularMDP:
    P = sp.csr_matrix(_P) if sparse else _P.reshape(2, 1, 2)
    return TabularMDP(P=P, R=_R, gamma=0.9)


_EDITS = {
    "P.indices[0] = 10**9": "m.P.indices[0] = 10**9",
    "P.indices = ...": "m.P.indices = np.array([0, 10**9, 0, 1], dtype=np.int32)",
    "P.indptr = ...": "m.P.indptr = np.array([0, 4, 0], dtype=np.int32)",
    "P.data = ...": "m.P.data = np.array([5.0, -4.0, 0.25, 0.75])",
    "P.data[0] = 5": "m.P.data[0] = 5.0",
    "P.__dict__ = ...": "m.P.__dict__ = dict(m.P.__dict__, indices=np.array([0, 10**9, 0, 1], dtype=np.int32))",
    "P.shape = ...": "m.P.shape = (1, 4)",
    "P[0, 0] = 0.9": "m.P[0, 0] = 0.9",
    "P.resize": "m.P.resize((4, 2))",
    "R[0, 0] = 5": "m.R[0, 0] = 5.0",
    "action_mask[0, 0] = False": "m.action_mask[0, 0] = False",
    "mu0[0] = 5": "m.mu0[0] = 5.0",
}

_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np, scipy.sparse as sp
    from mdpkit import TabularMDP
    from mdpkit.policies import policy_evaluation
    from mdpkit.solvers import solve
    warnings.simplefilter("ignore")
    P = np.array([[0.5, 0.5], [0.25, 0.75]])
    for edit in json.loads(sys.argv[1]):
        for when in ("fresh", "solved_first"):
            m = TabularMDP(P=sp.csr_matrix(P), R=np.array([[1.0], [0.0]]), gamma=0.9)
            if when == "solved_first":
                solve(m)
            try:
                exec(edit)
                outcome = "accepted"
            except (AttributeError, ValueError, TypeError) as e:
                outcome = "refused " + type(e).__name__
            v1 = np.asarray(solve(m).v).tolist()
            v2 = np.asarray(policy_evaluation(m, np.zeros(2, dtype=np.int64))).tolist()
            print(json.dumps([edit, when, outcome, v1, v2]), flush=True)
    """
)


def test_csr_model_arrays_cannot_be_changed(tmp_path):
    # issue 13 left-over: `m.P.indices = ...` after construction segfaulted solve(m).  One child
    # process runs every edit (before and after a first solve): a regression crashes the child.
    # the child shares the session's Numba cache (the parent waits, so nothing compiles concurrently)
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(list(_EDITS.values()))], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, (out.returncode, out.stdout[-1000:], out.stderr[-2000:])
    rows = [json.loads(ln) for ln in out.stdout.splitlines()]
    assert len(rows) == 2 * len(_EDITS)
    for edit, when, outcome, v1, v2 in rows:
        assert outcome.startswith("refused"), (edit, when, outcome)
        np.testing.assert_allclose(v1, _V, rtol=1e-6, err_msg=f"{edit} ({when})")
        np.testing.assert_allclose(v2, _V, rtol=1e-10, err_msg=f"{edit} ({when})")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_pickled_and_copied_models_stay_read_only(sparse):
    m = _model(sparse)
    for m2 in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m), copy.copy(m)):
        arrays = [m2.R, m2.action_mask, m2.mu0] + ([m2.P.data, m2.P.indices, m2.P.indptr] if sparse else [m2.P])
        for arr in arrays:
            assert not arr.flags.writeable
        if sparse:
            with pytest.raises(AttributeError, match="read-only"):
                m2.P.indices = np.array([0, 10**9, 0, 1], dtype=np.int32)
        np.testing.assert_allclose(solve(m2).v, _V, rtol=1e-6)


def test_caller_keeps_a_mutable_matrix_and_the_model_its_own_copy():
    csr = sp.csr_matrix(_P)
    m = TabularMDP(P=csr, R=_R, gamma=0.9)
    csr.indices[0] = 10**9  # the caller's matrix stays theirs to edit ...
    csr.data[:] = 7.0
    np.testing.assert_allclose(solve(m).v, _V, rtol=1e-6)  # ... and the model is unaffected
    assert m.P.indices.max() < 2


def test_copies_of_the_model_matrix_are_ordinary_mutable_matrices():
    # scipy operations on the frozen P return matrices the caller may change freely
    m = _model(True)
    Q = m.P.copy()
    Q.data[0] = 0.1
    Q.indices = Q.indices.copy()
    assert m.P.data[0] == 0.5
    D = (m.P + m.P).tocsr()
    D.data[0] = 3.0
    assert np.allclose((m.P @ np.ones(2)), 1.0)
    dense = m.to_dense()
    assert not dense.P.flags.writeable

"""Issue 13 regression tests: the model constructors refuse bad input with mdpkit's own errors.

Every reproducer of issue 13 that goes through ``TabularMDP`` or its ``from_*`` constructors is
here: corrupt CSR structures (items 1, 2), non-finite rewards derived from ``R_sas`` (item 3),
``atol``/``mu0`` (item 4), the constructor inputs that raised non-mdpkit exceptions (item 11),
silent fixes (item 12) and the sparse ``normalize=True`` asymmetry (item 13).  The oracle is the
exception type (an :class:`~mdpkit.MDPKitError` that is also a ``ValueError``) and a message
naming what was wrong; for valid input, the dense twin of the same model.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from mdpkit import InvalidMDPError, TabularMDP
from mdpkit._exceptions import MDPKitError


def _raw_csr(data, indices, indptr, shape):
    """A CSR matrix whose raw arrays are set after construction (as a corrupt file or a careless
    caller can), bypassing SciPy's own constructor checks."""
    M = sp.csr_matrix((np.ones(1), np.array([0]), np.array([0, 1] + [1] * (shape[0] - 1))), shape=shape)
    M.data = np.asarray(data, dtype=np.float64)
    M.indices = np.asarray(indices, dtype=np.int32 if np.max(np.abs(indices), initial=0) < 2**31 else np.int64)
    M.indptr = np.asarray(indptr, dtype=M.indices.dtype)
    return M


# ----------------------------------------------------------------------------- item 1: CSR indices
@pytest.mark.parametrize("col", [10**9, -1, -(10**9), 2], ids=["huge", "minus1", "very-negative", "equal-S"])
def test_csr_column_index_out_of_range_is_refused(col):
    # issue 13 item 1: [0, 10**9] segfaulted; an index equal to S gave a silently wrong v
    P = _raw_csr([1.0, 1.0], [0, col], [0, 1, 2], (2, 2))
    with pytest.raises(InvalidMDPError, match=r"column index .* outside \[0, 2\)"):
        TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9)


def test_csr_column_index_out_of_range_csc_and_coo():
    csc = sp.csc_matrix(np.eye(2))
    csc.indices = np.array([0, 7], dtype=csc.indices.dtype)
    with pytest.raises(InvalidMDPError, match="outside"):
        TabularMDP(P=csc, R=np.zeros((2, 1)), gamma=0.9)
    coo = sp.coo_matrix(np.eye(2))
    coo.col = np.array([0, -3], dtype=coo.col.dtype)
    with pytest.raises(InvalidMDPError, match="outside"):
        TabularMDP(P=coo, R=np.zeros((2, 1)), gamma=0.9)


# ----------------------------------------------------------------------------- item 2: indptr
@pytest.mark.parametrize(
    "indptr, match",
    [
        ([0, 2, 1], "indptr decreases at row 1"),
        ([1, 1, 2], r"indptr\[0\] must be 0"),
        ([0, 1, 5], r"indptr\[-1\] = 5"),
        ([0, 1], "indptr must have length"),
        ([0, -1, 2], "indptr decreases at row 0"),
    ],
)
def test_csr_invalid_indptr_is_refused(indptr, match):
    P = _raw_csr([1.0, 1.0], [0, 1], indptr, (2, 2))
    with pytest.raises(InvalidMDPError, match=match):
        TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9)


def test_csr_float_indices_are_refused():
    P = sp.csr_matrix(np.eye(2))
    P.indices = P.indices.astype(np.float64)
    with pytest.raises(InvalidMDPError, match="integer"):
        TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9)


def test_csr_r_sas_structure_is_checked_too():
    P = sp.csr_matrix(np.eye(2))
    Rs = _raw_csr([1.0, 1.0], [0, 99], [0, 1, 2], (2, 2))
    with pytest.raises(InvalidMDPError, match="R_sas.*outside"):
        TabularMDP(P=P, R=None, R_sas=Rs, gamma=0.9, action_mask=np.ones((2, 1), bool))


def test_valid_csr_with_unsorted_and_duplicate_entries_still_accepted():
    # entries (0,1) given twice (0.25 + 0.25) and out of order: the format says "add"
    P = sp.csr_matrix((np.array([0.5, 0.25, 0.25, 1.0]), np.array([0, 1, 1, 1]), np.array([0, 3, 4])), shape=(2, 2))
    m = TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9)
    np.testing.assert_array_equal(m.P_dense()[:, 0, :], [[0.5, 0.5], [0.0, 1.0]])


# ----------------------------------------------------------------------------- item 3: R from R_sas
def test_fold_overflow_named_for_every_constructor():
    # rewards at the float64 maximum on a row summing to 1 + 1e-9 (within atol): the expected
    # reward sum_s' P R_sas overflows to inf (issue 13 item 3 gave R = inf and then v = nan)
    big = np.finfo(float).max
    P = np.array([[[1.0 - 1e-9, 2e-9]], [[0.0, 1.0]]])
    Rs = np.array([[[big, big]], [[0.0, 0.0]]])
    with pytest.raises(InvalidMDPError, match="overflow"):
        TabularMDP(P=P, R=None, R_sas=Rs, gamma=0.9)
    with pytest.raises(InvalidMDPError, match="overflow"):
        TabularMDP(P=sp.csr_matrix(P.reshape(2, 2)), R=None, R_sas=sp.csr_matrix(Rs.reshape(2, 2)), gamma=0.9,
                   action_mask=np.ones((2, 1), bool))
    with pytest.raises(InvalidMDPError, match="overflow"):
        TabularMDP.from_arrays(P, Rs, 0.9)
    for sparse in (False, True):
        with pytest.raises(InvalidMDPError, match="finite|overflow"):
            TabularMDP.from_transitions(
                [(0, 0, 0, 1 - 1e-9, big), (0, 0, 1, 2e-9, big), (1, 0, 1, 1.0, 0.0)], 0.9, sparse=sparse
            )


# ----------------------------------------------------------------------------- item 4: atol, mu0
@pytest.mark.parametrize("atol", [np.nan, np.inf, -1.0, None, "1e-8", 0.5, 10**400, True])
def test_atol_is_validated(atol):
    P = np.array([[[0.25, 0.25]], [[0.0, 1.0]]])  # row 0 sums to 0.5
    with pytest.raises(InvalidMDPError, match="atol"):
        TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9, atol=atol)


@pytest.mark.parametrize(
    "mu0, match",
    [
        ([np.nan, 1.0], "finite"),
        ([np.inf, 0.0], "finite"),
        ([0.5, 0.4], "sums to"),
        ([1.5, -0.5], "negative"),
        (["0.5", "0.5"], "real numbers"),
        ([0.5 + 0j, 0.5], "real numbers"),
        ([1.0], r"shape \(S,\)"),
        (None, None),
    ],
)
def test_mu0_is_validated(mu0, match):
    P = np.array([[[0.5, 0.5]], [[0.0, 1.0]]])
    if match is None:
        np.testing.assert_array_equal(TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9, mu0=mu0).mu0, [0.5, 0.5])
        return
    with pytest.raises(InvalidMDPError, match=match):
        TabularMDP(P=P, R=np.zeros((2, 1)), gamma=0.9, mu0=mu0)


# ----------------------------------------------------------------------------- item 11: 35 inputs
_P2 = np.array([[[0.5, 0.5]], [[0.0, 1.0]]])
_R2 = np.zeros((2, 1))


def _ctor_cases():
    """(id, callable) pairs that raised a non-mdpkit exception before issue 13 (35 of them)."""
    T = TabularMDP
    big = 2**63
    return [
        ("action-matrices-nested-lists", lambda: T.from_action_matrices([[[0.5, 0.4], [0.0, 1.0]]], [[0.0], [0.0]], 0.9)),
        ("action-matrices-scalar", lambda: T.from_action_matrices(5, _R2, 0.9)),
        ("action-matrices-ragged", lambda: T.from_action_matrices([[[0.5, 0.5], [1.0]]], _R2, 0.9)),
        ("action-matrices-string", lambda: T.from_action_matrices("abc", _R2, 0.9)),
        ("action-matrices-none", lambda: T.from_action_matrices(None, _R2, 0.9)),
        ("action-matrices-bad-R3", lambda: T.from_action_matrices([sp.csr_matrix(np.eye(2))], np.zeros((3, 2, 2)), 0.9)),
        ("transitions-id-2**63", lambda: T.from_transitions([(0, 0, big, 1.0, 0.0)], 0.9)),
        ("transitions-id-1e300", lambda: T.from_transitions([(0, 0, 1e300, 1.0, 0.0)], 0.9)),
        ("transitions-ragged", lambda: T.from_transitions([(0, 0, 0, 1.0, 0.0), (1, 0, 1)], 0.9)),
        ("transitions-none", lambda: T.from_transitions(None, 0.9)),
        ("transitions-int", lambda: T.from_transitions(7, 0.9)),
        ("transitions-strings", lambda: T.from_transitions([("a", 0, 0, 1.0, 0.0)], 0.9)),
        ("transitions-complex", lambda: T.from_transitions([(0, 0, 0, 1.0 + 1j, 0.0)], 0.9)),
        ("transitions-S-string", lambda: T.from_transitions([(0, 0, 0, 1.0, 0.0)], 0.9, S="2")),
        ("transitions-S-huge", lambda: T.from_transitions([(0, 0, 0, 1.0, 0.0)], 0.9, S=10**12, sparse=True)),
        ("transitions-id-huge-float", lambda: T.from_transitions([(0, 0, 0, 1.0, 0.0), (1e15, 0, 0, 1.0, 0.0)], 0.9)),
        ("grid-shape-inf", lambda: T(_P2, _R2, 0.9, grid_shape=(np.inf, 1))),
        ("grid-shape-nan", lambda: T(_P2, _R2, 0.9, grid_shape=(np.nan, 1))),
        ("grid-shape-int", lambda: T(_P2, _R2, 0.9, grid_shape=5)),
        ("grid-shape-str", lambda: T(_P2, _R2, 0.9, grid_shape="ab")),
        ("grid-shape-3", lambda: T(_P2, _R2, 0.9, grid_shape=(1, 1, 1))),
        ("state-labels-int", lambda: T(_P2, _R2, 0.9, state_labels=5)),
        ("state-labels-str", lambda: T(_P2, _R2, 0.9, state_labels="ab")),
        ("action-labels-none-entry", lambda: T(_P2, _R2, 0.9, action_labels=[None])),
        ("gamma-10**400", lambda: T(_P2, _R2, 10**400)),
        ("gamma-str", lambda: T(_P2, _R2, "0.9")),
        ("gamma-complex", lambda: T(_P2, _R2, 0.9 + 0j)),
        ("P-ragged", lambda: T([[[0.5, 0.5]], [[1.0]]], _R2, 0.9)),
        ("P-none", lambda: T(None, _R2, 0.9)),
        ("R-ragged", lambda: T(_P2, [[0.0], []], 0.9)),
        ("R-int-10**400", lambda: T(_P2, [[10**400], [0]], 0.9)),
        ("mask-ragged", lambda: T(_P2, _R2, 0.9, action_mask=[[True], []])),
        ("sparse-mask-ragged", lambda: T(sp.csr_matrix(_P2.reshape(2, 2)), None, 0.9, R_sas=sp.csr_matrix((2, 2)),
                                         action_mask=[[True], []])),
        ("next-state-ragged", lambda: T.from_next_state([[0], [0, 1]], [[0.0], [0.0]], 0.9)),
        ("io-load-none", lambda: __import__("mdpkit.io").io.load(None)),
    ]


_CASES = _ctor_cases()


def test_from_action_matrices_accepts_nested_lists():
    # issue 13 item 11: nested lists raised AttributeError (no .shape); they are valid input
    m = TabularMDP.from_action_matrices([[[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]], [[1.0, 2.0], [3.0, 4.0]], 0.9)
    np.testing.assert_array_equal(m.P[:, 1, :], [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(m.P[0, 0], [0.5, 0.5])


def test_constructor_case_table_has_35_rows():
    assert len(_CASES) == 35 and len({c[0] for c in _CASES}) == 35


@pytest.mark.parametrize("case", _CASES, ids=[c[0] for c in _CASES])
def test_constructor_inputs_raise_mdpkit_errors(case):
    _, fn = case
    with pytest.raises(MDPKitError) as ei:
        fn()
    assert isinstance(ei.value, ValueError)
    assert str(ei.value)


# ----------------------------------------------------------------------------- item 12: silent fixes
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(P=_P2.astype(complex), R=_R2), "real numbers"),
        (dict(P=_P2, R=_R2.astype(complex)), "real numbers"),
        (dict(P=_P2.astype(str), R=_R2), "real numbers"),
        (dict(P=_P2, R=np.array([["0"], ["1"]])), "real numbers"),
        (dict(P=_P2.tolist(), R=[[0.0], ["1"]]), "real numbers"),
        (dict(P=sp.csr_matrix(_P2.reshape(2, 2).astype(complex)), R=_R2), "real numbers"),
        (dict(P=_P2, R=_R2, grid_shape=(1.5, 2)), "integer"),
        (dict(P=_P2, R=_R2, grid_shape=(1.0, 2)), "integer"),
        (dict(P=_P2, R=_R2, grid_shape=(True, 1)), "integer"),
    ],
)
def test_silent_fixes_are_refused(kwargs, match):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the ComplexWarning path is gone: an error, not a warning
        with pytest.raises(InvalidMDPError, match=match):
            TabularMDP(gamma=0.9, **kwargs)


@pytest.mark.parametrize("S", [2.7, 2.0, "2", True])
def test_from_transitions_non_integer_S_is_refused(S):
    with pytest.raises(InvalidMDPError, match="S must be an integer"):
        TabularMDP.from_transitions([(0, 0, 1, 1.0, 0.0), (1, 0, 1, 1.0, 0.0)], 0.9, S=S)


def test_from_transitions_integer_valued_ids_still_accepted():
    m = TabularMDP.from_transitions(np.array([[0.0, 0.0, 1.0, 1.0, 2.0], [1.0, 0.0, 1.0, 1.0, 0.0]]), 0.5, S=np.int64(2))
    assert (m.S, m.A) == (2, 1) and m.R[0, 0] == 2.0


# ----------------------------------------------------------------------------- item 13: normalize
def test_sparse_normalize_accepts_all_zero_masked_rows_like_dense():
    P = np.array([[[2.0, 2.0], [0.0, 0.0]], [[0.0, 3.0], [0.0, 0.0]]])
    mask = np.array([[True, False], [True, False]])
    R = np.array([[1.0, 0.0], [2.0, 0.0]])
    dense = TabularMDP(P, R, 0.9, action_mask=mask, normalize=True)
    sparse = TabularMDP(sp.csr_matrix(P.reshape(4, 2)), R, 0.9, action_mask=mask, normalize=True)
    np.testing.assert_array_equal(sparse.P_dense(), dense.P_dense())
    np.testing.assert_array_equal(dense.P_dense()[0, 0], [0.5, 0.5])
    # an all-zero row of an available action is still an error, with the same message
    mask2 = np.ones((2, 2), bool)
    for PP in (P, sp.csr_matrix(P.reshape(4, 2))):
        with pytest.raises(InvalidMDPError, match=r"P\[0, 1, :\] sums to 0; cannot normalize an empty row"):
            TabularMDP(PP, R, 0.9, action_mask=mask2, normalize=True)


def test_normalize_must_be_bool():
    with pytest.raises(InvalidMDPError, match="normalize"):
        TabularMDP(_P2, _R2, 0.9, normalize="yes")

"""Numba kernels (private): array in, array out, no validation.  See ``bellman.py``."""

from __future__ import annotations

import numpy as np

from . import bellman

_DUMMY_F = np.zeros((1, 1))
_DUMMY_F.flags.writeable = False
_DUMMY_I = np.zeros(1, dtype=np.int32)
_DUMMY_I.flags.writeable = False
_DUMMY_U = np.zeros(1, dtype=np.uint32)
_DUMMY_U.flags.writeable = False
_DUMMY_D = np.zeros(1)
_DUMMY_D.flags.writeable = False


#: Storage layouts, the kernels' ``sparse`` argument: dense rows, CSR, CSR with exactly one
#: stored entry per row (a functional graph, possibly substochastic), whose row ``i`` holds its
#: entry at position ``i`` so a sweep need not read ``indptr``, and the same with every stored
#: entry equal to 1.0 and every action available (a deterministic model: grid worlds, shortest
#: paths), whose greedy sweep reads neither ``data`` nor the mask (``0.0 + 1.0 * x`` and
#: ``0.0 + x`` are the same double, NaN included).
#: Kernels that only test ``if sparse:`` treat all CSR layouts alike.
DENSE, CSR, CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT = 0, 1, 2, 3


def one_entry_per_row(P) -> bool:
    """True if the CSR matrix ``P`` stores exactly one entry in every row."""
    n_rows = P.shape[0]
    return P.nnz == n_rows and bool(np.all(np.diff(P.indptr) == 1))


def model_args(mdp):
    """Unpack a validated ``TabularMDP`` into the kernels' leading arguments.

    Returns ``(sparse, P2, indptr, indices, data, R1, mask1, S, A)`` where ``sparse`` is the
    layout code (:data:`DENSE`, :data:`CSR`, :data:`CSR_ONE_ENTRY` or :data:`CSR_ONE_ENTRY_UNIT`, an
    ``int``); the unused
    storage form is a read-only dummy of the same dtype so that dense and CSR share one
    compiled signature.
    CSR column ``indices`` are returned as an unsigned view (uint32, or uint64 when widened), so
    the kernels' gather ``v[indices[k]]`` skips Numba's negative-index wraparound (STYLE.md,
    performance notes); the bits are unchanged.
    """
    S, A = mdp.S, mdp.A
    R1 = mdp.R.reshape(S * A)
    mask1 = mdp.action_mask.reshape(S * A)
    if mdp.is_sparse:
        P = mdp.P
        indptr, indices = P.indptr, P.indices
        if indptr.dtype != np.int32 or indices.dtype != np.int32:
            indptr = indptr.astype(np.int64)
            indices = indices.astype(np.int64)
        indices = indices.view(np.uint32 if indices.dtype == np.int32 else np.uint64)
        layout = CSR
        if one_entry_per_row(P):
            unit = bool(np.all(P.data == 1.0)) and bool(np.all(mask1))
            layout = CSR_ONE_ENTRY_UNIT if unit else CSR_ONE_ENTRY
        return layout, _DUMMY_F, indptr, indices, P.data, R1, mask1, S, A
    return DENSE, mdp.P.reshape(S * A, S), _DUMMY_I, _DUMMY_U, _DUMMY_D, R1, mask1, S, A


__all__ = ["CSR", "CSR_ONE_ENTRY", "CSR_ONE_ENTRY_UNIT", "DENSE", "bellman", "model_args", "one_entry_per_row"]

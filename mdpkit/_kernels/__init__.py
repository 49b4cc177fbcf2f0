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


def model_args(mdp):
    """Unpack a validated ``TabularMDP`` into the kernels' leading arguments.

    Returns ``(sparse, P2, indptr, indices, data, R1, mask1, S, A)``; the unused storage form
    is a read-only dummy of the same dtype so that dense and CSR share one compiled signature.
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
        return True, _DUMMY_F, indptr, indices, P.data, R1, mask1, S, A
    return False, mdp.P.reshape(S * A, S), _DUMMY_I, _DUMMY_U, _DUMMY_D, R1, mask1, S, A


__all__ = ["bellman", "model_args"]

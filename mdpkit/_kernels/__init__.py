"""Numba kernels (private): array in, array out, no validation.  See ``bellman.py``."""

from __future__ import annotations

import numpy as np

from .._exceptions import InvalidMDPError
from . import bellman


def _frozen(a: np.ndarray, dtype) -> np.ndarray:
    """``a`` as a C-contiguous read-only array of ``dtype``: a view when it already is one (the
    flag is cleared on the view, never on the caller's array), else a copy."""
    out = np.ascontiguousarray(a, dtype=dtype).view()
    out.flags.writeable = False
    return out


# the storage form a model does not use: read-only, of the same types as the real one
_DUMMY_F = _frozen(np.zeros((1, 1)), np.float64)
_DUMMY_I = _frozen(np.zeros(1), np.int64)
_DUMMY_U = _frozen(np.zeros(1), np.uint32)
_DUMMY_D = _frozen(np.zeros(1), np.float64)

#: CSR column indices are passed to the kernels as uint32, so S may not exceed this.
MAX_CSR_STATES = 2**32


#: Storage layouts, the kernels' ``layout`` code: dense rows, CSR, CSR with exactly one
#: stored entry per row (a functional graph, possibly substochastic), whose row ``i`` holds its
#: entry at position ``i`` so a sweep need not read ``indptr``, and the same with every stored
#: entry equal to 1.0 and every action available (a deterministic model: grid worlds, shortest
#: paths), whose greedy sweep reads neither ``data`` nor the mask (``0.0 + 1.0 * x`` and
#: ``0.0 + x`` are the same double, NaN included).
#: Kernels that only test ``if layout:`` treat all CSR layouts alike.
DENSE, CSR, CSR_ONE_ENTRY, CSR_ONE_ENTRY_UNIT = 0, 1, 2, 3


def one_entry_per_row(P) -> bool:
    """True if the CSR matrix ``P`` stores exactly one entry in every row."""
    n_rows = P.shape[0]
    return P.nnz == n_rows and bool(np.all(np.diff(P.indptr) == 1))


def prepare(mdp) -> tuple:
    """Build the prepared kernel model of a validated ``TabularMDP`` (uncached; see :func:`model_args`).

    Returns ``(layout, P2, indptr, indices, data, R1, mask1, S, A)``, the one argument every
    kernel in :mod:`mdpkit._kernels.bellman` takes, with exactly one Numba type whatever the
    model (DESIGN.md "Kernels": one type signature per kernel):

    * ``layout``: the layout code (:data:`DENSE`, :data:`CSR`, :data:`CSR_ONE_ENTRY` or
      :data:`CSR_ONE_ENTRY_UNIT`), an ``int``; ``S``, ``A``: ``int``;
    * ``P2`` float64 ``(S*A, S)``, ``indptr`` int64 ``(S*A+1,)``, ``indices`` uint32 ``(nnz,)``,
      ``data`` float64 ``(nnz,)``, ``R1`` float64 ``(S*A,)``, ``mask1`` bool ``(S*A,)``: all
      C-contiguous and read-only (views of the model's arrays where the dtype already matches).
      The storage form the model does not use is a read-only dummy of the same type.

    CSR column indices go through an *unsigned* view, so the kernels' gather ``v[indices[k]]``
    skips Numba's negative-index wraparound (STYLE.md, performance notes); int64 indices (SciPy
    widens them for very large matrices) are narrowed to uint32, which needs
    ``S <= 2**32``.

    Raises
    ------
    InvalidMDPError
        A CSR model with more than ``2**32`` states.
    """
    S, A = int(mdp.S), int(mdp.A)
    if mdp.is_sparse and S > MAX_CSR_STATES:
        raise InvalidMDPError(
            f"CSR models may have at most 2**32 = {MAX_CSR_STATES} states (column indices are passed to the "
            f"kernels as uint32), got S={S}"
        )
    R1 = _frozen(np.asarray(mdp.R).reshape(S * A), np.float64)
    mask1 = _frozen(np.asarray(mdp.action_mask).reshape(S * A), np.bool_)
    if not mdp.is_sparse:
        P2 = _frozen(np.asarray(mdp.P).reshape(S * A, S), np.float64)
        return DENSE, P2, _DUMMY_I, _DUMMY_U, _DUMMY_D, R1, mask1, S, A
    P = mdp.P
    indptr = _frozen(P.indptr, np.int64)
    if P.indices.dtype.itemsize == 4:
        indices = _frozen(P.indices.view(np.uint32), np.uint32)
    else:  # every index is < S <= 2**32 (checked by the model), so uint32 holds it
        indices = _frozen(P.indices, np.uint32)
    data = _frozen(P.data, np.float64)
    layout = CSR
    if one_entry_per_row(P):
        unit = bool(np.all(data == 1.0)) and bool(np.all(mask1))
        layout = CSR_ONE_ENTRY_UNIT if unit else CSR_ONE_ENTRY
    return layout, _DUMMY_F, indptr, indices, data, R1, mask1, S, A


def model_args(mdp):
    """The prepared kernel model of ``mdp`` (see :func:`prepare`), cached on the model.

    For a ``TabularMDP`` this is built on first use and kept (``TabularMDP._kernel_model``), so
    every solver call on the same model passes the very same arrays; other objects with the
    attributes :func:`prepare` reads are prepared afresh.  The 9-tuple
    ``(layout, P2, indptr, indices, data, R1, mask1, S, A)`` is also what the robust and
    distributional kernels unpack.
    """
    get = getattr(mdp, "_kernel_model", None)
    return get() if get is not None else prepare(mdp)


def backup_buffers(km) -> tuple:
    """Fresh work arrays ``(q (S*A,) float64, v (S,) float64, pi (S,) int64)`` for one Bellman sweep of ``km``."""
    S, A = km[7], km[8]
    return np.empty(S * A), np.empty(S), np.empty(S, dtype=np.int64)


def greedy_backup(km, gamma: float, v: np.ndarray) -> tuple:
    """One Bellman optimality backup of ``v``: ``(q (S*A,), Tv (S,), greedy pi (S,) int64)``.

    ``q`` holds ``R + gamma P v`` per flat state-action (masked rows unspecified); ties go to the
    lowest action (Puterman 1994, Eq. 6.2.3).
    """
    q, out, pi = backup_buffers(km)
    bellman.bellman_q(km, float(gamma), v, q)
    bellman.greedy_max(km, q, out, pi)
    return q, out, pi


__all__ = [
    "CSR", "CSR_ONE_ENTRY", "CSR_ONE_ENTRY_UNIT", "DENSE", "MAX_CSR_STATES", "backup_buffers", "bellman",
    "greedy_backup", "model_args", "one_entry_per_row", "prepare",
]

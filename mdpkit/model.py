r"""The exact tabular MDP: :class:`TabularMDP`.

A discounted (or undiscounted) MDP is the tuple :math:`(S, A, P, R, \gamma)` with
``P[s, a, s'] = Pr(s' | s, a)`` and ``R[s, a]`` the expected one-step reward in reward units.
``P`` is stored dense ``(S, A, S)`` or as a SciPy CSR matrix ``(S*A, S)`` whose row ``s*A + a``
holds ``P[s, a, :]``; both share one row order so one kernel family serves both.

The model is validated once, here; solvers trust it.  Arrays are float64, C-contiguous and
read-only.  Nothing is renormalised unless the caller passes ``normalize=True``.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import InitVar, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ._exceptions import InvalidMDPError
from ._validation import (
    ROW_SUM_ATOL,
    as_float_array,
    check_atol,
    check_csr_structure,
    check_distribution,
    check_gamma,
    check_int,
    check_memory,
    first_index,
    fmt_index,
    readonly,
)

__all__ = ["TabularMDP"]

#: Models with at most this many ``S*A*S`` entries are built dense by the row constructors.
DENSE_LIMIT = 4_000_000


def _row_label(s: int, a: int) -> str:
    return f"P[{s}, {a}, :]"


def _csr_row_sums(M) -> np.ndarray:
    """Row sums of a canonical CSR matrix, bit for bit what ``M.sum(axis=1)`` gives (the same
    ``np.add.reduceat`` over each row's stored entries), without SciPy's extra passes."""
    counts = np.diff(M.indptr)
    if counts.size and counts.min() > 0:  # no empty row: one reduceat over all rows
        return np.add.reduceat(M.data, M.indptr[:-1])
    sums = np.zeros(M.shape[0])
    nz = counts > 0
    if nz.any():
        sums[nz] = np.add.reduceat(M.data, M.indptr[:-1][nz])
    return sums


class _CSCView:
    """A CSC matrix seen as the CSR structure of its transpose (for :func:`check_csr_structure`)."""

    format = "csr"

    def __init__(self, M) -> None:
        self.shape = (M.shape[1], M.shape[0])
        self.indptr, self.indices, self.data = M.indptr, M.indices, M.data


class _ReadOnlyCSR(sp.csr_matrix):
    """The CSR matrix a :class:`TabularMDP` holds (``P``, ``R_sas``): validated once, then locked.

    Its ``data``, ``indices`` and ``indptr`` are read-only arrays (in-place edits raise
    ``ValueError``) and, once locked, cannot be reassigned, nor can the shape or ``__dict__``
    (``AttributeError``): the kernels and SciPy's C++ routines index memory with these arrays,
    so they must stay the ones the constructor checked.  Everything else is an ordinary
    ``scipy.sparse.csr_matrix``; the matrices SciPy operations return (``copy()``, ``m.P + m.P``,
    ...) are unlocked and writable.
    """

    _LOCKED = frozenset({"data", "indices", "indptr", "_shape", "__dict__"})

    def __setattr__(self, name: str, value) -> None:
        if name in _ReadOnlyCSR._LOCKED and self.__dict__.get("_locked", False):
            raise AttributeError(
                f"the CSR matrix of a TabularMDP is read-only: {name} cannot be reassigned after validation "
                "(build a new model, e.g. TabularMDP(P=m.P.copy(), ...))"
            )
        super().__setattr__(name, value)

    @classmethod
    def lock(cls, M) -> "_ReadOnlyCSR":
        """``M`` (a canonical float64 CSR matrix) as a locked matrix sharing its arrays (no copy)."""
        for arr in (M.data, M.indices, M.indptr):
            arr.flags.writeable = False
        if type(M) is cls and M.__dict__.get("_locked", False):
            return M
        out = cls.__new__(cls)
        out.__dict__.update(M.__dict__)
        out.__dict__["_locked"] = True
        return out


@dataclass(frozen=True, eq=False, repr=False)
class TabularMDP:
    r"""A finite MDP :math:`(S, A, P, R, \gamma)`, validated and immutable.

    Parameters
    ----------
    P : array_like of shape (S, A, S), or scipy.sparse matrix of shape (S*A, S)
        Transition probabilities ``P[s, a, s'] = Pr(s' | s, a)``.  A sparse matrix is stored as
        CSR with row ``s*A + a`` (then ``A`` is taken from ``R``).  Rows of available actions
        must be non-negative and sum to 1 within ``atol``; rows of masked actions must be zero or
        a distribution.
    R : array_like of shape (S, A)
        Expected one-step reward ``R[s, a] = E[r | s, a]`` in reward units.  May be omitted
        (``None``) when ``R_sas`` is given, and is then ``sum_s' P[s, a, s'] R_sas[s, a, s']``.
    gamma : float
        Discount factor in ``[0, 1]``.  Discounted solvers require ``gamma < 1``;
        ``gamma == 1`` is accepted only by finite-horizon, total-reward (SSP) and average-reward
        solvers, which say so.
    R_sas : array_like of shape (S, A, S) or sparse (S*A, S), optional
        Realised reward ``r(s, a, s')``; kept (for distributional DP and lossless files) and,
        when ``R`` is also given, checked against it.
    action_mask : array_like of bool, shape (S, A), optional
        ``True`` where action ``a`` is available in state ``s``; all True if omitted.  Every
        state needs at least one available action.
    mu0 : array_like of shape (S,), optional
        Initial-state distribution; uniform if omitted.
    state_labels, action_labels : sequence of str, optional
        Names of the states (length S) and actions (length A).
    name : str, optional
        A short description, shown by the CLI.
    grid_shape : tuple of int, optional
        ``(rows, cols)`` when the first ``rows*cols`` states form a grid in row-major order
        (used only for printing and plotting).
    atol : float, default 1e-8
        Absolute tolerance on the row sums of ``P`` and on ``sum(mu0)``; a finite number in
        ``[0, 0.5)``.
    normalize : bool, default False
        If True, divide every non-zero row of ``P`` (and ``mu0``) by its sum instead of checking
        it; rows of available actions that sum to zero are still an error, all-zero rows of
        masked actions are kept (dense and sparse alike).

    Raises
    ------
    InvalidMDPError
        Wrong shapes, non-finite entries, negative probabilities, rows not summing to 1,
        an empty action set, ``gamma`` outside ``[0, 1]``, ``R`` inconsistent with ``R_sas``;
        a sparse matrix whose raw structure is corrupt (``indptr`` not starting at 0, decreasing
        or pointing past the data; a column index outside ``[0, S)``, negative ones included),
        checked in O(nnz) before SciPy touches it; an expected reward folded from ``R_sas``
        that overflows float64; entries that are not real numbers (complex, strings, objects:
        refused, never cast); ``grid_shape`` entries that are not integers; labels that are not a
        sequence of strings; ``atol`` not a finite number in ``[0, 0.5)``.

    Notes
    -----
    Equality is identity (``eq=False``): compare models with :meth:`allclose`.

    The model keeps its own copies of the arrays, validated once and then read-only: in-place
    edits (``m.R[0, 0] = 1``, ``m.P.indices[0] = 5``) raise ``ValueError``, and the raw arrays of
    a CSR ``P``/``R_sas`` cannot be reassigned (``m.P.indices = ...`` raises ``AttributeError``),
    so the kernels only ever see what was checked.  Build a new model to change one.
    """

    P: Any
    R: np.ndarray
    gamma: float
    R_sas: Any = None
    action_mask: np.ndarray | None = None
    mu0: np.ndarray | None = None
    state_labels: tuple[str, ...] | None = None
    action_labels: tuple[str, ...] | None = None
    name: str = ""
    grid_shape: tuple[int, int] | None = None
    atol: InitVar[float] = ROW_SUM_ATOL
    normalize: InitVar[bool] = False
    _S: int = field(init=False, default=0)
    _A: int = field(init=False, default=0)

    # ------------------------------------------------------------------ validation
    def __post_init__(self, atol: float, normalize: bool) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("gamma", check_gamma(self.gamma, allow_one=True))
        atol = check_atol(atol)
        if not isinstance(normalize, (bool, np.bool_)):
            raise InvalidMDPError(f"normalize must be True or False, got {normalize!r}")
        normalize = bool(normalize)

        sparse = sp.issparse(self.P)
        if self.R is None and self.R_sas is None:
            raise InvalidMDPError("give R (S, A) or R_sas (S, A, S)")
        R_given = None if self.R is None else as_float_array(self.R, "R", 2)

        if sparse:
            if R_given is not None:
                S, A = R_given.shape
            elif self.action_mask is not None:
                try:
                    mshape = np.shape(self.action_mask)
                except (TypeError, ValueError):
                    mshape = ()
                if len(mshape) != 2:
                    raise InvalidMDPError(f"action_mask must have shape (S, A), got {mshape}")
                S, A = mshape
            else:
                raise InvalidMDPError("a sparse P needs R (S, A) or action_mask (S, A) to fix A")
            if S < 1 or A < 1:
                raise InvalidMDPError(f"P must have S >= 1 and A >= 1, got S={S}, A={A}")
            P, sparse_sums = self._check_sparse_P(self.P, S, A, atol, normalize)
        else:
            P = as_float_array(self.P, "P", 3)
            S, A, S2 = P.shape
            if S2 != S:
                raise InvalidMDPError(f"P must have shape (S, A, S), got {P.shape} (S={S} but last axis {S2})")
        if S < 1 or A < 1:
            raise InvalidMDPError(f"P must have S >= 1 and A >= 1, got S={S}, A={A}")
        set_("_S", S)
        set_("_A", A)

        # mask
        if self.action_mask is None:
            mask = np.ones((S, A), dtype=bool)
        else:
            try:
                mask = np.array(self.action_mask, copy=True)
            except (TypeError, ValueError) as e:
                raise InvalidMDPError(f"action_mask could not be converted to an array: {e}") from None
            if mask.dtype != bool:
                raise InvalidMDPError(f"action_mask must be boolean, got dtype {mask.dtype}")
            if mask.shape != (S, A):
                raise InvalidMDPError(f"action_mask must have shape (S, A) = ({S}, {A}), got {mask.shape}")
        empty = ~mask.any(axis=1)
        if empty.any():
            s = int(np.flatnonzero(empty)[0])
            raise InvalidMDPError(f"state {s} has no available action (action_mask[{s}, :] is all False)")
        set_("action_mask", readonly(np.ascontiguousarray(mask)))

        if sparse:
            m = mask.ravel()
            if normalize:
                zero = (sparse_sums == 0) & m
                if zero.any():
                    r = int(np.flatnonzero(zero)[0])
                    raise InvalidMDPError(f"{_row_label(r // A, r % A)} sums to 0; cannot normalize an empty row")
            bad = (np.abs(sparse_sums - 1.0) > atol) & (m | (sparse_sums != 0))
            if bad.any():
                r = int(np.flatnonzero(bad)[0])
                s, a = divmod(r, A)
                extra = "" if m[r] else " (masked action: its row must be all zeros or a distribution)"
                raise InvalidMDPError(
                    f"{_row_label(s, a)} sums to {float(sparse_sums[r])!r}; expected 1 within atol={atol:g}{extra}"
                )
            P = self._freeze_csr(P)
        else:
            P = self._check_dense_P(P, mask, atol, normalize)
        set_("P", P)

        # rewards
        R_sas = self.R_sas
        if R_sas is not None:
            if sparse:
                R_sas = self._check_sparse_like(R_sas, P, "R_sas")
            else:
                R_sas = readonly(as_float_array(R_sas, "R_sas", 3))
                if R_sas.shape != P.shape:
                    raise InvalidMDPError(f"R_sas must have shape {P.shape}, got {R_sas.shape}")
            with np.errstate(over="ignore", invalid="ignore"):
                R_from_sas = self._fold(P, R_sas, S, A)
            if not np.all(np.isfinite(R_from_sas)):
                s_, a_ = first_index(~np.isfinite(R_from_sas))
                raise InvalidMDPError(
                    f"R[{s_}, {a_}] = sum_s' P[{s_}, {a_}, s'] R_sas[{s_}, {a_}, s'] is {float(R_from_sas[s_, a_])!r} "
                    "(float64 overflow); expected rewards must be finite"
                )
        set_("R_sas", R_sas)
        if self.R is None:
            R = R_from_sas
        else:
            R = R_given
            if R.shape != (S, A):
                raise InvalidMDPError(f"R must have shape (S, A) = ({S}, {A}), got {R.shape}")
            if R_sas is not None:
                bad = ~np.isclose(R, R_from_sas, rtol=1e-9, atol=1e-9) & mask
                if bad.any():
                    s, a = first_index(bad)
                    raise InvalidMDPError(
                        f"R[{s}, {a}] = {float(R[s, a])!r} but sum_s' P[{s}, {a}, s'] R_sas[{s}, {a}, s'] = "
                        f"{float(R_from_sas[s, a])!r}; give one of R and R_sas, or consistent ones"
                    )
        set_("R", readonly(np.ascontiguousarray(R, dtype=np.float64)))

        # initial distribution
        if self.mu0 is None:
            mu0 = np.full(S, 1.0 / S)
        else:
            mu0 = as_float_array(self.mu0, "mu0", 1)
            if mu0.shape != (S,):
                raise InvalidMDPError(f"mu0 must have shape (S,) = ({S},), got {mu0.shape}")
            if normalize and mu0.sum() > 0 and np.all(mu0 >= 0):
                mu0 = mu0 / mu0.sum()
            check_distribution(mu0, "mu0", atol)
        set_("mu0", readonly(mu0))

        # labels and metadata
        for nm, n in (("state_labels", S), ("action_labels", A)):
            lab = getattr(self, nm)
            if lab is not None:
                if isinstance(lab, (str, bytes)) or not isinstance(lab, Iterable):
                    raise InvalidMDPError(f"{nm} must be a sequence of {n} strings, got {type(lab).__name__}")
                lab = list(lab) if not isinstance(lab, np.ndarray) else lab.tolist()
                if len(lab) != n:
                    raise InvalidMDPError(f"{nm} must have length {n}, got {len(lab)}")
                for i, x in enumerate(lab):
                    if not isinstance(x, (str, numbers.Integral)) or isinstance(x, bool):
                        raise InvalidMDPError(f"{nm}[{i}] must be a string (or an integer id), got {type(x).__name__}")
                set_(nm, tuple(str(x) for x in lab))
        if self.grid_shape is not None:
            g = self.grid_shape
            if isinstance(g, (str, bytes)) or not isinstance(g, Iterable) or len(tuple(g)) != 2:
                raise InvalidMDPError(f"grid_shape must be a pair (rows, cols) of integers, got {g!r:.60}")
            gs = tuple(check_int(x, f"grid_shape[{i}]", minimum=1, exc=InvalidMDPError) for i, x in enumerate(g))
            if gs[0] * gs[1] > S:
                raise InvalidMDPError(f"grid_shape must be (rows, cols) with rows*cols <= S={S}, got {self.grid_shape}")
            set_("grid_shape", gs)
        if self.name is None:
            set_("name", "")
        elif not isinstance(self.name, str):
            raise InvalidMDPError(f"name must be a string, got {type(self.name).__name__}")

    @staticmethod
    def _check_dense_P(P: np.ndarray, mask: np.ndarray, atol: float, normalize: bool) -> np.ndarray:
        neg = P < 0
        if neg.any():
            idx = first_index(neg)
            raise InvalidMDPError(f"{fmt_index('P', idx)} = {float(P[idx])!r} is negative; probabilities must be >= 0")
        sums = P.sum(axis=2)
        if normalize:
            zero = (sums == 0) & mask
            if zero.any():
                s, a = first_index(zero)
                raise InvalidMDPError(f"{_row_label(s, a)} sums to 0; cannot normalize an empty row")
            nz = sums > 0
            P[nz] /= sums[nz][:, None]
            sums = P.sum(axis=2)
        bad = (np.abs(sums - 1.0) > atol) & (mask | (sums != 0))
        if bad.any():
            s, a = first_index(bad)
            extra = "" if mask[s, a] else " (masked action: its row must be all zeros or a distribution)"
            raise InvalidMDPError(
                f"{_row_label(s, a)} sums to {float(sums[s, a])!r}; expected 1 within atol={atol:g}{extra}"
            )
        return readonly(P)

    @staticmethod
    def _safe_csr(M, n_rows: int, n_cols: int, name: str):
        """A fresh float64 CSR copy of the sparse matrix ``M``, its raw arrays checked first.

        SciPy trusts ``indptr``/``indices`` (and COO ``row``/``col``) and its C++ routines index
        memory with them, so a corrupt structure is refused here, before any SciPy routine runs
        (O(nnz) vectorized checks).  Complex or non-numeric data are refused, not cast.
        """
        shape = tuple(int(x) for x in M.shape)
        if shape != (n_rows, n_cols):
            raise InvalidMDPError(f"sparse {name} must have shape ({n_rows}, {n_cols}), got {shape}")
        fmt = M.format
        data = np.asarray(M.data) if hasattr(M, "data") and fmt in ("csr", "csc", "coo", "bsr", "dia") else None
        if data is not None and data.dtype.kind not in "biuf":
            raise InvalidMDPError(f"sparse {name} must hold real numbers, got dtype {data.dtype}")
        if fmt == "csr":
            d, ind, ptr = check_csr_structure(M, n_rows, n_cols, name)
            # exactly one copy of each array (the model owns its arrays); index dtypes are kept
            M = sp.csr_matrix(
                (np.array(d, dtype=np.float64), np.array(ind), np.array(ptr)), shape=(n_rows, n_cols), copy=False
            )
        elif fmt == "csc":
            d, ind, ptr = check_csr_structure(_CSCView(M), n_cols, n_rows, f"{name} (CSC, transposed)")
            M = sp.csc_matrix(
                (np.array(d, dtype=np.float64), np.array(ind), np.array(ptr)), shape=(n_rows, n_cols), copy=False
            ).tocsr()
        elif fmt == "coo":
            row, col = np.asarray(M.row), np.asarray(M.col)
            if not (row.ndim == col.ndim == data.ndim == 1 and row.shape == col.shape == data.shape):
                raise InvalidMDPError(f"sparse {name}: COO row, col and data must be 1-D of one length")
            if row.dtype.kind not in "iu" or col.dtype.kind not in "iu":
                raise InvalidMDPError(f"sparse {name}: COO row and col must be integers")
            for arr, lim, nm in ((row, n_rows, "row"), (col, n_cols, "column")):
                if arr.size and (arr.min() < 0 or arr.max() >= lim):
                    k = int(np.flatnonzero((arr < 0) | (arr >= lim))[0])
                    raise InvalidMDPError(f"sparse {name}: {nm} index {int(arr[k])} of entry {k} is outside [0, {lim})")
            M = sp.csr_matrix(
                (data.astype(np.float64), (row.astype(np.int64), col.astype(np.int64))), shape=(n_rows, n_cols)
            )
        elif fmt in ("lil", "dok", "dia"):
            # built from Python structures / offsets that SciPy bounds itself
            try:
                M = sp.csr_matrix(M, copy=True)
            except (TypeError, ValueError, OverflowError) as e:
                raise InvalidMDPError(f"sparse {name} could not be converted to CSR: {e}") from None
            if M.dtype.kind not in "biuf":
                raise InvalidMDPError(f"sparse {name} must hold real numbers, got dtype {M.dtype}")
            M = M.astype(np.float64)
        else:
            try:
                M.check_format(full_check=True)
            except (AttributeError, TypeError, ValueError) as e:
                raise InvalidMDPError(f"sparse {name} ({fmt}) has an invalid structure: {e}") from None
            M = sp.csr_matrix(M, dtype=np.float64, copy=True)
        M.sum_duplicates()  # duplicate COO entries mean "add", by the definition of the format
        M.sort_indices()
        return M

    @staticmethod
    def _check_sparse_P(P, S: int, A: int, atol: float, normalize: bool):
        P = TabularMDP._safe_csr(P, S * A, S, "P")
        if not np.all(np.isfinite(P.data)):
            k = int(np.flatnonzero(~np.isfinite(P.data))[0])
            row = int(np.searchsorted(P.indptr, k, side="right") - 1)
            raise InvalidMDPError(f"P[{row // A}, {row % A}, {P.indices[k]}] is {P.data[k]!r}; entries must be finite")
        if np.any(P.data < 0):
            k = int(np.flatnonzero(P.data < 0)[0])
            row = int(np.searchsorted(P.indptr, k, side="right") - 1)
            raise InvalidMDPError(
                f"P[{row // A}, {row % A}, {P.indices[k]}] = {P.data[k]!r} is negative; probabilities must be >= 0"
            )
        sums = _csr_row_sums(P)
        if normalize:
            # all-zero rows stay zero (allowed for masked actions, refused once the mask is known)
            scale = np.divide(1.0, sums, out=np.ones_like(sums), where=sums > 0)
            P.data *= np.repeat(scale, np.diff(P.indptr))
            sums = _csr_row_sums(P)
        # masked rows may be all-zero: the row sums are checked once the mask is known
        return P, sums

    def _check_sparse_like(self, M, P, name: str):
        if not sp.issparse(M):
            M = as_float_array(M, name, (2, 3))
            M = sp.csr_matrix(M.reshape(P.shape[0], -1) if M.ndim == 3 and M.size == P.shape[0] * P.shape[1] else M)
        M = self._safe_csr(M, P.shape[0], P.shape[1], name)
        if not np.all(np.isfinite(M.data)):
            k = int(np.flatnonzero(~np.isfinite(M.data))[0])
            row = int(np.searchsorted(M.indptr, k, side="right") - 1)
            A = self._A
            raise InvalidMDPError(
                f"{name}[{row // A}, {row % A}, {int(M.indices[k])}] is {float(M.data[k])!r}; entries must be finite"
            )
        return self._freeze_csr(M)

    @staticmethod
    def _freeze_csr(M):
        return _ReadOnlyCSR.lock(M)

    @staticmethod
    def _fold(P, R_sas, S: int, A: int) -> np.ndarray:
        if sp.issparse(P):
            return np.asarray(P.multiply(R_sas).sum(axis=1)).reshape(S, A)
        return np.einsum("ijk,ijk->ij", P, R_sas)

    # ------------------------------------------------------------------ basic properties
    @property
    def S(self) -> int:
        """Number of states."""
        return self._S

    @property
    def A(self) -> int:
        """Number of actions."""
        return self._A

    @property
    def is_sparse(self) -> bool:
        """True when ``P`` is stored as CSR ``(S*A, S)``."""
        return sp.issparse(self.P)

    @property
    def nnz(self) -> int:
        """Number of stored transition probabilities (dense: ``S*A*S``)."""
        return int(self.P.nnz) if self.is_sparse else int(self.P.size)

    @property
    def P_rows(self):
        """``P`` as ``(S*A, S)`` rows: a read-only reshape view (dense) or the CSR matrix."""
        return self.P if self.is_sparse else self.P.reshape(self.S * self.A, self.S)

    def P_dense(self) -> np.ndarray:
        """``P`` as a dense ``(S, A, S)`` array (a copy when sparse)."""
        return self.P.toarray().reshape(self.S, self.A, self.S) if self.is_sparse else self.P

    def R_sas_dense(self) -> np.ndarray | None:
        """``R_sas`` as a dense ``(S, A, S)`` array, or None."""
        if self.R_sas is None:
            return None
        if sp.issparse(self.R_sas):
            return self.R_sas.toarray().reshape(self.S, self.A, self.S)
        return self.R_sas

    @property
    def reward_range(self) -> tuple[float, float]:
        """``(min, max)`` of ``R`` over available actions."""
        r = self.R[self.action_mask]
        return float(r.min()), float(r.max())

    def __repr__(self) -> str:
        kind = f"CSR nnz={self.nnz}" if self.is_sparse else "dense"
        nm = f"name={self.name!r}, " if self.name else ""
        return f"TabularMDP({nm}S={self.S}, A={self.A}, gamma={self.gamma:g}, P {kind})"

    # ------------------------------------------------------------------ kernel model
    def _kernel_model(self) -> tuple:
        """The prepared kernel model (:func:`mdpkit._kernels.prepare`), built on first use and cached.

        Kept in the instance ``__dict__`` (the dataclass is frozen, so it is set with
        ``object.__setattr__``); it is not a field, so ``dataclasses.replace`` (which builds a new,
        revalidated model) does not carry it over, and :meth:`__getstate__` leaves it out of
        pickles and copies.  It does not depend on ``gamma``: :meth:`with_gamma` shares it.
        """
        km = self.__dict__.get("_km")
        if km is None:
            from ._kernels import prepare  # lazy: the kernels module imports numba

            km = prepare(self)
            object.__setattr__(self, "_km", km)
        return km

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_km", None)  # derived, and for a dense model a second view of P: rebuilt on use
        return state

    def __setstate__(self, state: dict) -> None:
        # unpickled arrays come back writable: lock them again (copies share the already-locked ones)
        self.__dict__.update(state)
        for k in ("P", "R", "R_sas", "action_mask", "mu0"):
            v = state.get(k)
            if sp.issparse(v):
                self.__dict__[k] = _ReadOnlyCSR.lock(v)
            elif isinstance(v, np.ndarray):
                v.flags.writeable = False

    # ------------------------------------------------------------------ derived models
    def with_gamma(self, gamma: float) -> "TabularMDP":
        """The same model with another discount factor.

        Only ``gamma`` is validated (``0 <= gamma <= 1``, as in the constructor); every array, the
        prepared kernel model included, is shared with ``self`` rather than copied and
        revalidated, so sweeping ``gamma`` over a large model costs nothing per value.

        Raises
        ------
        InvalidMDPError
            If ``gamma`` is not a real number in ``[0, 1]``.
        """
        g = check_gamma(gamma, allow_one=True)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        object.__setattr__(new, "gamma", g)
        return new

    def to_sparse(self) -> "TabularMDP":
        """A CSR copy of this model (same values bit for bit)."""
        if self.is_sparse:
            return self
        Rs = None if self.R_sas is None else sp.csr_matrix(self.R_sas.reshape(self.S * self.A, self.S))
        return dataclasses.replace(self, P=sp.csr_matrix(self.P_rows), R_sas=Rs)

    def to_dense(self) -> "TabularMDP":
        """A dense copy of this model (same values bit for bit)."""
        if not self.is_sparse:
            return self
        return dataclasses.replace(self, P=self.P_dense(), R_sas=self.R_sas_dense())

    def allclose(self, other: "TabularMDP", rtol: float = 0.0, atol: float = 0.0) -> bool:
        """True when both models have the same S, A, gamma, mask, mu0 and close P, R, R_sas."""
        if (self.S, self.A) != (other.S, other.A) or self.gamma != other.gamma:
            return False
        same = np.array_equal(self.action_mask, other.action_mask)
        same &= np.allclose(self.mu0, other.mu0, rtol=rtol, atol=atol)
        same &= np.allclose(self.P_dense(), other.P_dense(), rtol=rtol, atol=atol)
        same &= np.allclose(self.R, other.R, rtol=rtol, atol=atol)
        a, b = self.R_sas_dense(), other.R_sas_dense()
        if (a is None) != (b is None):
            return False
        if a is not None:
            same &= np.allclose(a, b, rtol=rtol, atol=atol)
        return bool(same)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, P, R, gamma: float, **kwargs) -> "TabularMDP":
        """Build from ``P`` (S, A, S) and ``R`` of shape (S, A), (S,) or (S, A, S).

        ``R (S,)`` is a state reward (the same for every action); ``R (S, A, S)`` is a realised
        reward ``r(s, a, s')``, kept as ``R_sas``.  Other keywords go to :class:`TabularMDP`.
        """
        if sp.issparse(P):
            return cls(P=P, R=R, gamma=gamma, **kwargs)
        Pa = as_float_array(P, "P", 3)
        Ra = as_float_array(R, "R", (1, 2, 3)) if R is not None else None
        if Ra is not None and Ra.ndim == 3:
            return cls(P=Pa, R=None, R_sas=Ra, gamma=gamma, **kwargs)
        if Ra is not None and Ra.ndim == 1 and Pa.ndim == 3:
            Ra = np.repeat(Ra[:, None], Pa.shape[1], axis=1)
        return cls(P=Pa, R=Ra, gamma=gamma, **kwargs)

    @classmethod
    def from_action_matrices(cls, P, R, gamma: float, **kwargs) -> "TabularMDP":
        """Build from pymdptoolbox-style ``P`` of shape (A, S, S) (or a list of A matrices).

        ``R`` may be (S, A), (S,), or (A, S, S) with ``R[a, s, s']`` the realised reward.
        Sparse action matrices are accepted and give a CSR model.
        """
        if sp.issparse(P):
            raise InvalidMDPError("P must be a sequence of A (S, S) matrices or an (A, S, S) array, got one sparse matrix")
        if isinstance(P, np.ndarray) and P.ndim == 3:
            mats = [P[a] for a in range(P.shape[0])]
        elif isinstance(P, (str, bytes)) or not isinstance(P, Iterable):
            raise InvalidMDPError(f"P must be a sequence of A (S, S) matrices or an (A, S, S) array, got {type(P).__name__}")
        else:
            mats = list(P)
        if len(mats) == 0:
            raise InvalidMDPError("P must hold at least one (S, S) action matrix")
        mats = [m if sp.issparse(m) else as_float_array(m, f"P[{a}]", 2) for a, m in enumerate(mats)]
        A = len(mats)
        shapes = {tuple(m.shape) for m in mats}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != next(iter(shapes))[1]:
            raise InvalidMDPError(f"every action matrix must be (S, S) with the same S, got shapes {sorted(shapes)}")
        S = next(iter(shapes))[0]
        Ra = None if R is None else (R if sp.issparse(R) else as_float_array(R, "R", (1, 2, 3)))
        if Ra is not None and sp.issparse(Ra):
            raise InvalidMDPError("R must be a dense (S, A), (S,) or (A, S, S) array, got a sparse matrix")
        if any(sp.issparse(m) for m in mats):
            # interleave rows: row s*A + a of the result is row s of matrix a
            stacked = sp.vstack([cls._safe_csr(m, S, S, f"P[{a}]") for a, m in enumerate(mats)], format="csr")
            order = (np.arange(A)[None, :] * S + np.arange(S)[:, None]).ravel()
            Pc = stacked[order]
            if Ra is not None and Ra.ndim == 3:
                if Ra.shape != (A, S, S):
                    raise InvalidMDPError(f"R of 3 dimensions must have shape (A, S, S) = ({A}, {S}, {S}), got {Ra.shape}")
                Rs = sp.csr_matrix(np.asarray(Ra).transpose(1, 0, 2).reshape(S * A, S))
                Rs = sp.csr_matrix(Pc.sign().multiply(Rs))
                return cls(P=Pc, R=None, R_sas=Rs, gamma=gamma, action_mask=np.ones((S, A), bool), **kwargs)
            if Ra is not None and Ra.ndim == 1:
                Ra = np.repeat(Ra[:, None], A, axis=1)
            return cls(P=Pc, R=Ra, gamma=gamma, **kwargs)
        Pd = np.stack([np.asarray(m, dtype=np.float64) for m in mats], axis=1)
        if Ra is not None and Ra.ndim == 3:
            if Ra.shape != (A, S, S):
                raise InvalidMDPError(f"R of 3 dimensions must have shape (A, S, S) = ({A}, {S}, {S}), got {Ra.shape}")
            Ra = Ra.transpose(1, 0, 2)
        return cls.from_arrays(Pd, Ra, gamma, **kwargs)

    @classmethod
    def from_transitions(
        cls,
        rows: Iterable[Sequence[float]],
        gamma: float,
        *,
        S: int | None = None,
        A: int | None = None,
        sparse: bool | None = None,
        **kwargs,
    ) -> "TabularMDP":
        """Build from transition rows ``(s, a, s', p, r)`` (0-based ids, reward per transition).

        Repeated ``(s, a, s')`` rows add their probabilities; their rewards are merged into the
        probability-weighted mean, which keeps ``R[s, a]`` and ``E[r | s, a, s']`` exact.
        ``(s, a)`` pairs that never occur are masked out.  ``S`` and ``A`` default to one more
        than the largest id seen.  ``sparse=None`` builds a dense model when ``S*A*S`` is at
        most 4e6 entries, else CSR.
        """
        if isinstance(rows, (str, bytes)) or not (isinstance(rows, np.ndarray) or isinstance(rows, Iterable)):
            raise InvalidMDPError(f"rows must be an (n, 5) table (s, a, s', p, r), got {type(rows).__name__}")
        arr = as_float_array(rows if isinstance(rows, np.ndarray) else list(rows), "rows", (1, 2, 3))
        if arr.ndim != 2 or arr.shape[1] != 5 or arr.shape[0] == 0:
            raise InvalidMDPError(f"rows must be a non-empty (n, 5) table (s, a, s', p, r), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            i = first_index(~np.isfinite(arr))[0]
            raise InvalidMDPError(f"transition row {i} has a non-finite entry: {arr[i].tolist()}")
        ids = arr[:, :3]
        if np.any(ids != np.round(ids)) or np.any(ids < 0):
            i = int(np.flatnonzero(np.any((ids != np.round(ids)) | (ids < 0), axis=1))[0])
            raise InvalidMDPError(f"transition row {i}: ids must be non-negative integers, got {arr[i, :3].tolist()}")
        if ids.max() >= 2.0**53:
            i = int(np.flatnonzero(np.any(ids >= 2.0**53, axis=1))[0])
            raise InvalidMDPError(f"transition row {i}: id {arr[i, :3].tolist()} is too large (ids must be < 2**53)")
        s, a, t = (ids[:, k].astype(np.int64) for k in range(3))
        p, r = arr[:, 3], arr[:, 4]
        S = int(max(s.max(), t.max()) + 1) if S is None else check_int(S, "S", minimum=1, exc=InvalidMDPError)
        A = int(a.max() + 1) if A is None else check_int(A, "A", minimum=1, exc=InvalidMDPError)
        if s.max() >= S or t.max() >= S or a.max() >= A:
            raise InvalidMDPError(f"transition rows use ids beyond S={S} or A={A}")
        if sparse is not None and not isinstance(sparse, (bool, np.bool_)):
            raise InvalidMDPError(f"sparse must be True, False or None, got {sparse!r}")
        dense = (S * A * S <= DENSE_LIMIT) if sparse is None else not sparse
        # mask (S, A) bool, CSR index arrays (S*A + 1 int64, twice) and row sums; dense P and R_sas
        check_memory(
            S * A * (1 + 8 * 4) + arr.shape[0] * 5 * 16 + (16 * S * A * S if dense else 0),
            f"from_transitions with S={S}, A={A}" + (" (dense)" if dense else ""),
        )
        if np.any(p < 0):
            i = int(np.flatnonzero(p < 0)[0])
            raise InvalidMDPError(f"transition row {i}: probability {float(p[i])!r} is negative")
        mask = np.zeros((S, A), dtype=bool)
        mask[s, a] = True
        row = s * A + a
        P = sp.coo_matrix((p, (row, t)), shape=(S * A, S)).tocsr()  # sums duplicates
        PR = sp.coo_matrix((p * r, (row, t)), shape=(S * A, S)).tocsr()
        P.sum_duplicates()
        PR.sum_duplicates()
        P.sort_indices()
        PR.sort_indices()
        Rs = P.copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            Rs.data = np.where(P.data > 0, PR.data / np.where(P.data > 0, P.data, 1.0), 0.0)
        kwargs.setdefault("action_mask", mask)
        if not dense:
            with np.errstate(over="ignore", invalid="ignore"):
                R = np.asarray(PR.sum(axis=1)).reshape(S, A)
            return cls(P=P, R=R, R_sas=Rs, gamma=gamma, **kwargs)
        return cls(
            P=P.toarray().reshape(S, A, S), R=None, R_sas=Rs.toarray().reshape(S, A, S), gamma=gamma, **kwargs
        )

    @classmethod
    def from_next_state(cls, next_state, rewards, gamma: float, *, terminal_label: str = "terminal", **kwargs):
        """Build a deterministic MDP from a table ``next_state (S, A)`` of int ids.

        ``next_state[s, a] == -1`` means the episode ends after reward ``rewards[s, a]``: such
        transitions go to one extra absorbing zero-reward state (index ``S``, labelled
        ``terminal_label``), added only when some entry is -1.
        """
        try:
            ns = np.asarray(next_state)
        except (TypeError, ValueError) as e:
            raise InvalidMDPError(f"next_state could not be converted to an array: {e}") from None
        rw = as_float_array(rewards, "rewards", 2)
        if ns.ndim != 2:
            raise InvalidMDPError(f"next_state must have shape (S, A), got {ns.shape}")
        if not np.issubdtype(ns.dtype, np.integer):
            raise InvalidMDPError(f"next_state must hold integers, got dtype {ns.dtype}")
        if rw.shape != ns.shape:
            raise InvalidMDPError(f"rewards must have shape {ns.shape} like next_state, got {rw.shape}")
        S, A = ns.shape
        bad = (ns < -1) | (ns >= S)
        if bad.any():
            s_, a_ = first_index(bad)
            raise InvalidMDPError(f"next_state[{s_}, {a_}] = {ns[s_, a_]} is not in [-1, S) with S={S}")
        ends = bool((ns == -1).any())
        n = S + 1 if ends else S
        tgt = np.where(ns == -1, S, ns)
        rows = [(s_, a_, int(tgt[s_, a_]), 1.0, float(rw[s_, a_])) for s_ in range(S) for a_ in range(A)]
        if ends:
            rows += [(S, a_, S, 1.0, 0.0) for a_ in range(A)]
            for key in ("state_labels",):
                if kwargs.get(key) is not None:
                    lab = kwargs[key]
                    if isinstance(lab, (str, bytes)) or not isinstance(lab, Iterable):
                        raise InvalidMDPError(f"{key} must be a sequence of {S} strings, got {type(lab).__name__}")
                    kwargs[key] = list(lab) + [terminal_label]
            if kwargs.get("mu0") is not None:
                kwargs["mu0"] = np.append(as_float_array(kwargs["mu0"], "mu0", 1), 0.0)
        return cls.from_transitions(rows, gamma, S=n, A=A, **kwargs)

    @classmethod
    def from_gymnasium(cls, env, gamma: float, *, terminal_label: str = "terminal", **kwargs) -> "TabularMDP":
        """Read a gymnasium toy-text model (``env.unwrapped.P``) into an exact MDP.

        ``env`` is a gymnasium environment or an environment id (then ``gymnasium.make(env,
        **make_kwargs)`` with ``make_kwargs`` taken from ``kwargs.pop("make_kwargs", {})``).
        ``env.unwrapped.P[s][a]`` lists ``(p, s', r, terminated)``; duplicate successors are
        summed, ``r(s, a, s')`` is folded into ``R`` (and kept in ``R_sas``), and every
        ``terminated`` transition goes to one extra absorbing zero-reward state (index ``S``,
        labelled ``terminal_label``).  ``mu0`` defaults to the environment's
        ``initial_state_distrib`` when it has one (extended with 0 for the terminal state).
        """
        import gymnasium  # lazy: only this constructor needs it

        make_kwargs = kwargs.pop("make_kwargs", {})
        if isinstance(env, str):
            env = gymnasium.make(env, **make_kwargs)
        u = env.unwrapped
        if not hasattr(u, "P"):
            raise InvalidMDPError(f"{type(u).__name__} has no tabular model P (not a toy-text environment)")
        S = int(u.observation_space.n)
        A = int(u.action_space.n)
        T = S  # index of the extra terminal state
        rows = []
        for s in range(S):
            for a in range(A):
                for p, s2, r, term in u.P[s][a]:
                    rows.append((s, a, T if term else int(s2), float(p), float(r)))
        rows += [(T, a, T, 1.0, 0.0) for a in range(A)]
        if "mu0" not in kwargs and hasattr(u, "initial_state_distrib"):
            kwargs["mu0"] = np.append(np.asarray(u.initial_state_distrib, dtype=float), 0.0)
        if kwargs.get("state_labels") is not None:
            kwargs["state_labels"] = list(kwargs["state_labels"]) + [terminal_label]
        else:
            kwargs["state_labels"] = [str(s) for s in range(S)] + [terminal_label]
        kwargs.setdefault("name", getattr(getattr(env, "spec", None), "id", type(u).__name__))
        return cls.from_transitions(rows, gamma, S=S + 1, A=A, **kwargs)

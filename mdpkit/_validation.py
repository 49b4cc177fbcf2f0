"""Boundary validation shared by the model, the policies and the solvers.

Every check raises one of mdpkit's own ``ValueError`` subclasses with a message that names the
argument, what was expected, what was found and the first offending index.  Nothing is clipped,
renormalised or dropped here.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

import stat

from ._exceptions import InvalidArgumentError, InvalidMDPError, ModelFileError

#: Default absolute tolerance on probability row sums (documented in ``TabularMDP``).
ROW_SUM_ATOL = 1e-8

#: Environment variable that sets the memory limit (in bytes; suffixes K, M, G, T of 1024 are
#: accepted, e.g. ``MDPKIT_MAX_MEMORY=32G``) checked by :func:`check_memory` before a large
#: allocation; ``0`` or ``none`` disables the check.
MEMORY_LIMIT_ENV = "MDPKIT_MAX_MEMORY"

#: Default memory limit (8 GiB) when :data:`MEMORY_LIMIT_ENV` is not set.
DEFAULT_MEMORY_LIMIT = 8 * 2**30

#: Largest accepted bound on ``|v|`` (``max |R| / (1 - gamma)``, or ``(H + 1) max |R|``): far
#: enough below the float64 maximum (1.8e308) that sums and differences of values stay finite.
VALUE_SCALE_LIMIT = 1e300


def _real(x, name: str, exc) -> float:
    """``float(x)`` for a real scalar (not bool, str or complex); overflow is an error, not a crash."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise exc(f"{name} must be a real number, got {type(x).__name__} {x!r:.60}")
    try:
        return float(x)
    except (OverflowError, TypeError, ValueError):
        raise exc(f"{name} = {x!r:.60} is outside the float64 range") from None


def check_gamma(gamma, *, allow_one: bool, who: str = "gamma") -> float:
    """Return ``gamma`` as float after checking ``0 <= gamma < 1`` (or ``<= 1``)."""
    g = _real(gamma, who, InvalidMDPError)
    if not np.isfinite(g) or g < 0.0 or g > 1.0 or (g == 1.0 and not allow_one):
        rng = "[0, 1]" if allow_one else "[0, 1)"
        raise InvalidMDPError(f"{who} must lie in {rng}, got {gamma!r}")
    return g


def check_positive(x, name: str, *, allow_zero: bool = False) -> float:
    """Return ``x`` as a finite float after checking ``x > 0`` (or ``>= 0``); nan and inf are refused."""
    if not math.isfinite(_real(x, name, InvalidArgumentError)):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    if float(x) < 0.0 or (float(x) == 0.0 and not allow_zero):
        op = ">= 0" if allow_zero else "> 0"
        raise InvalidArgumentError(f"{name} must be {op}, got {x!r}")
    return float(x)


#: Largest integer accepted by :func:`check_int` by default: sizes, counts and horizons beyond it
#: cannot describe anything that fits in memory, and stay exactly representable as float64 products.
INT_LIMIT = 2**62


def check_int(x, name: str, *, minimum: int, maximum: int | None = INT_LIMIT, exc=InvalidArgumentError) -> int:
    """Return ``x`` as int after checking it is an integer (not bool, not float) in ``[minimum, maximum]``."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise exc(f"{name} must be an integer, got {type(x).__name__} {x!r:.60}")
    if int(x) < minimum:
        raise exc(f"{name} must be >= {minimum}, got {x!r}")
    if maximum is not None and int(x) > maximum:
        raise exc(f"{name} must be <= {maximum}, got {x!r:.60}")
    return int(x)


def check_real_option(x, name: str, *, lo: float | None = None, hi: float | None = None,
                      lo_open: bool = False, hi_open: bool = False) -> float:
    """Return a solver option as a finite float in the interval given by ``lo``/``hi``.

    nan and +-inf are always refused, as are bools, strings and complex numbers.

    Raises
    ------
    InvalidArgumentError
    """
    v = _real(x, name, InvalidArgumentError)
    if not math.isfinite(v):
        raise InvalidArgumentError(f"{name} must be a finite real number, got {x!r}")
    if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and (v > hi or (hi_open and v == hi))):
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise InvalidArgumentError(f"{name} must lie in {left}{lo_s}, {hi_s}{right}, got {x!r}")
    return v


def check_atol(atol, exc=InvalidMDPError) -> float:
    """Row-sum tolerance: a finite float in ``[0, 0.5)`` (a larger one would accept rows far from 1)."""
    v = _real(atol, "atol", exc) if atol is not None else None
    if v is None or not math.isfinite(v) or v < 0.0 or v >= 0.5:
        raise exc(f"atol must be a finite real number in [0, 0.5), got {atol!r}")
    return v


# ---------------------------------------------------------------------------- memory limits
def _parse_bytes(text: str) -> int | None:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    if t in ("", "0", "NONE", "OFF", "INF"):
        return None
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    try:
        val = float(t)
    except ValueError:
        raise InvalidArgumentError(
            f"{MEMORY_LIMIT_ENV}={text!r} is not a size in bytes (e.g. 17179869184, 16G or none)"
        ) from None
    if not math.isfinite(val) or val <= 0:
        raise InvalidArgumentError(f"{MEMORY_LIMIT_ENV}={text!r} must be a positive size in bytes, or none")
    return int(val * mult)


def memory_limit() -> int | None:
    """The memory limit in bytes (None: no limit), read from :data:`MEMORY_LIMIT_ENV` at each call."""
    raw = os.environ.get(MEMORY_LIMIT_ENV)
    return DEFAULT_MEMORY_LIMIT if raw is None else _parse_bytes(raw)


def fmt_bytes(n: float) -> str:
    """``n`` bytes in binary units, e.g. ``'11.9 GiB'``."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def check_memory(nbytes, what: str) -> None:
    """Refuse, before allocating, a request whose estimated memory exceeds :func:`memory_limit`.

    Parameters
    ----------
    nbytes : int or float
        Estimated peak bytes of the request (a Python int or float: it may exceed int64).
    what : str
        What is being asked for, e.g. ``"garnet(S=10**12, A=4, b=8)"``.

    Raises
    ------
    InvalidArgumentError
        With the estimate and the limit, and how to raise it (environment variable
        ``MDPKIT_MAX_MEMORY``, or ``--max-memory`` on the command line).
    """
    limit = memory_limit()
    if limit is None or nbytes <= limit:
        return
    raise InvalidArgumentError(
        f"{what} needs about {fmt_bytes(nbytes)} of memory, more than the limit of {fmt_bytes(limit)}; "
        f"set the environment variable {MEMORY_LIMIT_ENV} (bytes, or e.g. 32G; 'none' for no limit) "
        "or pass --max-memory to the command line to raise it"
    )


def check_value_scale(R, gamma: float, *, horizon: int | None = None, mask=None, exc=InvalidMDPError) -> float:
    """Check that values stay far from float64 overflow; return the bound on ``|v|``.

    The bound is ``max |R| / (1 - gamma)`` for discounted problems and ``(horizon + 1) max |R|``
    for finite horizons.  Above :data:`VALUE_SCALE_LIMIT` (1e300) the Bellman iterates would
    overflow to inf and then nan, so the problem is refused up front.
    """
    r = np.asarray(R)
    if mask is not None:
        r = r[np.asarray(mask)]
    rmax = float(np.max(np.abs(r))) if r.size else 0.0
    if horizon is not None:
        scale = rmax * (float(horizon) + 1.0)
        how = f"(horizon + 1) * max|R| with horizon={horizon}"
    elif gamma < 1.0:
        scale = rmax / (1.0 - gamma)
        how = f"max|R| / (1 - gamma) with gamma={gamma!r}"
    else:
        return rmax
    if not (scale <= VALUE_SCALE_LIMIT):
        raise exc(
            f"values would overflow float64: {how} = {scale:.3g} (max|R| = {rmax:.3g}) exceeds {VALUE_SCALE_LIMIT:g}; "
            "rescale the rewards"
        )
    return scale


# ---------------------------------------------------------------------------- CSR structure
def check_csr_structure(M, n_rows: int, n_cols: int, name: str, exc=InvalidMDPError):
    """Check the raw arrays of a CSR/CSC/BSR-free sparse matrix before scipy touches them.

    A hostile or corrupt ``indptr`` (not starting at 0, decreasing, ending past the data) or a
    column index outside ``[0, n_cols)`` makes SciPy's C++ routines write out of bounds, so this
    check runs first, in O(nnz) vectorized numpy.  Returns ``(data, indices, indptr)`` as
    float64/int64 arrays (copies only where a conversion is needed).

    Raises
    ------
    InvalidMDPError
        Naming the first offending entry.
    """
    if M.format != "csr":
        return None
    if M.shape != (n_rows, n_cols):
        raise exc(f"sparse {name} must have shape ({n_rows}, {n_cols}), got {M.shape}")
    indptr = np.asarray(M.indptr)
    indices = np.asarray(M.indices)
    data = np.asarray(M.data)
    for arr, nm in ((indptr, "indptr"), (indices, "indices")):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise exc(f"sparse {name}: {nm} must be a 1-D integer array, got dtype {arr.dtype} and shape {arr.shape}")
    if data.ndim != 1:
        raise exc(f"sparse {name}: data must be 1-D, got shape {data.shape}")
    if indptr.shape[0] != n_rows + 1:
        raise exc(f"sparse {name}: indptr must have length n_rows + 1 = {n_rows + 1}, got {indptr.shape[0]}")
    if indptr[0] != 0:
        raise exc(f"sparse {name}: indptr[0] must be 0, got {int(indptr[0])}")
    steps = np.diff(indptr)
    if steps.size and steps.min() < 0:
        r = int(np.flatnonzero(steps < 0)[0])
        raise exc(f"sparse {name}: indptr decreases at row {r} ({int(indptr[r])} then {int(indptr[r + 1])})")
    nnz = int(indptr[-1])
    if nnz > indices.shape[0] or nnz > data.shape[0]:
        raise exc(
            f"sparse {name}: indptr[-1] = {nnz} but indices has {indices.shape[0]} and data {data.shape[0]} entries"
        )
    idx = indices[:nnz]
    if nnz and (idx.min() < 0 or idx.max() >= n_cols):
        k = int(np.flatnonzero((idx < 0) | (idx >= n_cols))[0])
        row = int(np.searchsorted(indptr, k, side="right") - 1)
        raise exc(
            f"sparse {name}: column index {int(idx[k])} of stored entry {k} (row {row}) is outside [0, {n_cols})"
        )
    return data[:nnz], idx, indptr


def first_index(bad: np.ndarray) -> tuple[int, ...]:
    """Index tuple of the first True entry of a boolean array (C order)."""
    flat = int(np.flatnonzero(bad.ravel())[0])
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def fmt_index(name: str, idx: tuple[int, ...], trailing_colon: bool = False) -> str:
    inner = ", ".join(str(i) for i in idx)
    if trailing_colon:
        inner += ", :"
    return f"{name}[{inner}]"


def _real_element(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (str, bytes))


def as_float_array(x, name: str, ndim: int | tuple[int, ...], exc=InvalidMDPError) -> np.ndarray:
    """Convert to a float64 C-contiguous copy; check dimensionality and finiteness.

    Only real numbers are accepted: strings (even ``"0.5"``), bytes, complex numbers (even with
    a zero imaginary part), ragged nested lists and other objects are refused, never coerced.
    """
    if hasattr(x, "format") and hasattr(x, "toarray") and hasattr(x, "nnz"):
        raise exc(f"{name} must be a dense array here, got a scipy.sparse matrix")
    try:
        raw = np.asarray(x)
    except (TypeError, ValueError, OverflowError) as e:
        raise exc(f"{name} could not be converted to an array (ragged or mixed nesting?): {e}") from None
    if raw.dtype.kind not in "biuf":
        if raw.dtype.kind == "O":
            flat = raw.ravel()
            ok = np.fromiter((_real_element(v) for v in flat), bool, flat.size)
            if not ok.all():
                k = int(np.flatnonzero(~ok)[0])
                bad = flat[k]
                raise exc(
                    f"{name} could not be converted to a float64 array: it must hold real numbers; entry {k} "
                    f"(C order) is {type(bad).__name__} {bad!r:.40}"
                )
        else:
            kind = {"c": "complex", "U": "string", "S": "bytes", "M": "datetime", "m": "timedelta", "V": "structured"}
            raise exc(
                f"{name} could not be converted to a float64 array: it must hold real numbers, got dtype "
                f"{raw.dtype} ({kind.get(raw.dtype.kind, raw.dtype.kind)}); convert it explicitly"
            )
    try:
        arr = np.array(raw, dtype=np.float64, copy=True, order="C")
    except (TypeError, ValueError, OverflowError) as e:
        raise exc(f"{name} could not be converted to a float64 array: {e}") from None
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        raise exc(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        idx = first_index(~np.isfinite(arr))
        raise exc(f"{fmt_index(name, idx)} is {float(arr[idx])!r}; entries must be finite")
    return arr


def check_distribution(p: np.ndarray, name: str, atol: float, exc=InvalidMDPError) -> None:
    """Check a 1-D probability vector: finite, non-negative, sums to 1 within ``atol``."""
    if not np.all(np.isfinite(p)):
        idx = first_index(~np.isfinite(p))
        raise exc(f"{fmt_index(name, idx)} is {float(p[idx])!r}; entries must be finite")
    if np.any(p < 0):
        idx = first_index(p < 0)
        raise exc(f"{fmt_index(name, idx)} = {float(p[idx])!r} is negative; probabilities must be >= 0")
    s = float(p.sum())
    if not abs(s - 1.0) <= atol:
        raise exc(f"{name} sums to {s}; expected 1 within atol={atol:g}")


def readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# ---------------------------------------------------------------------------- files
def file_kind(mode: int) -> str:
    """A phrase naming the kind of a non-regular file ('a FIFO (named pipe)', 'a directory', ...)."""
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"  # pragma: no cover


def open_regular_file(path):
    """Open a regular file for reading without ever blocking.

    ``os.stat`` (which follows symbolic links) must report a regular file before the file is
    opened, and the file is opened with ``O_NONBLOCK`` so that a FIFO swapped in between the two
    calls cannot block the open; ``fstat`` on the open descriptor then confirms a regular file.
    FIFOs, devices, directories and sockets are refused with :class:`ModelFileError`.  Returns
    ``(binary file object, os.stat_result)``; the caller closes the file.  Every model-file reader
    should open its files through this function.
    """
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)) or os.fspath(path) in ("", b""):
        raise InvalidArgumentError(f"path must be a non-empty str or os.PathLike, got {path!r:.60}")
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{os.fspath(path)}: is {file_kind(st.st_mode)}; model files must be regular files")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode):
            raise ModelFileError(f"{os.fspath(path)}: is {file_kind(st2.st_mode)}; model files must be regular files")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # regular files never block; plain reads from here on
        return os.fdopen(fd, "rb"), st2
    except BaseException:
        os.close(fd)
        raise

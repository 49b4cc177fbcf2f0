r"""Model files: the native ``.npz`` format, a readable JSON format and craam2-style CSV rows.

- ``.npz`` (native), :func:`save_npz` / :func:`load_npz`: every field, bit for bit.
- ``.json`` (readable), :func:`save_json` / :func:`load_json`: every field, bit for bit.
- ``.csv`` (craam2 transition rows), :func:`save_csv` / :func:`load_csv`: ``P`` and the
  per-transition rewards ``R_sas`` exactly; no ``gamma``, ``mu0``, labels or name.

:func:`load` and :func:`save` choose the format from the file extension (or ``format=``).
:func:`atomic_write` is the small helper every writer here uses (and the CLI reuses): the file
is written to a temporary file in the same directory and moved over the target with
:func:`os.replace`, so a crash or an exception never leaves a half-written file.

Files are treated as untrusted input.  Nothing is unpickled or evaluated (``.npz`` is read with
``np.load(..., allow_pickle=False)`` after its array headers have been checked; JSON is parsed
with :mod:`json`; CSV with :mod:`csv`), every file is refused above ``max_bytes`` before it is
read, and a file may not make the loader allocate arrays larger than ``max_bytes`` either
(``MIN_ALLOC_BYTES`` = 64 MiB is always allowed), so a short file cannot declare a huge model.
Only regular files are read: FIFOs, devices, sockets and directories (or symbolic links to them)
are refused before anything is opened for reading, so a model path can never block the process.

Peak memory.  The limit ``max_bytes`` (default 1 GiB; never below ``MIN_ALLOC_BYTES`` = 64 MiB for
the arrays) bounds both the file size and the arrays the file's declared sizes imply, checked
before those arrays are allocated.  The peak memory of a load is then about

- ``.npz``: the file, plus twice the declared arrays (the arrays read, and the model's own
  copy): at most ``max_bytes + 2 * max(max_bytes, 64 MiB)``, i.e. about 3 GiB by default;
- JSON: the file, its parsed document (about 10 times the file size in Python objects), plus
  twice the dense ``P`` (and ``R_sas``) that ``S`` and ``A`` declare;
- CSV: the file and its decoded text (once or twice the file size), about 100 bytes per row for
  the parsed columns, plus the model (``16 S A S`` bytes when dense).

Every error is a :class:`~mdpkit.ModelFileError` whose message starts with the file name and,
for CSV, the 1-based line number (as an editor counts lines, the header being line 1), followed
by what was wrong.  Nothing is repaired: a row of
probabilities that does not sum to 1 is an error, not a renormalisation.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io as _stdio
import json
import lzma
import math
import os
import re
import secrets
import signal
import stat
import struct
import threading
import zipfile
import zlib
from array import array
from pathlib import Path
from typing import Any, BinaryIO, Callable, Union

import numpy as np
import scipy.sparse as sp

from ._exceptions import InvalidArgumentError, InvalidMDPError, ModelFileError
from ._validation import (
    ROW_SUM_ATOL, check_atol, check_gamma, check_int, check_memory, file_kind, open_regular_file,
)
from .model import DENSE_LIMIT, TabularMDP
# model-checker formats (PRISM explicit, Storm DRN, Cassandra .mdp): readers return a LabelledMDP
from ._io_cassandra import load_cassandra, save_cassandra
from ._io_drn import load_drn, save_drn
from ._io_prism import LabelledMDP, load_prism, save_prism

__all__ = [
    "CSV_HEADER",
    "DEFAULT_MAX_BYTES",
    "JSON_FORMAT_VERSION",
    "LabelledMDP",
    "MIN_ALLOC_BYTES",
    "NPZ_FORMAT_VERSION",
    "atomic_write",
    "load",
    "load_cassandra",
    "load_csv",
    "load_drn",
    "load_json",
    "load_npz",
    "load_prism",
    "save",
    "save_cassandra",
    "save_csv",
    "save_drn",
    "save_json",
    "save_npz",
    "save_prism",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Default limit, in bytes, on the size of a model file and on the arrays it may make the
#: loader allocate (1 GiB).  Pass a larger ``max_bytes`` (or ``None``) for trusted files.
DEFAULT_MAX_BYTES = 2**30

#: Arrays up to this many bytes (64 MiB) may always be allocated, whatever ``max_bytes`` is; above
#: it, the arrays a file declares may not exceed ``max_bytes``.
MIN_ALLOC_BYTES = 2**26

#: Version written to, and the only one accepted from, the ``format_version`` key of ``.npz`` files.
NPZ_FORMAT_VERSION = 1

#: Version written to, and the only one accepted from, the ``"version"`` member of JSON files.
JSON_FORMAT_VERSION = 1

#: Column names of the CSV transition-row schema (craam2), in order.
CSV_HEADER = ("idstatefrom", "idaction", "idstateto", "probability", "reward")

_JSON_MAGIC = "mdpkit-mdp"
# what zipfile / numpy may raise on a corrupt or hostile archive
_ZIP_ERRORS = (
    ValueError, OSError, EOFError, RuntimeError, NotImplementedError, zipfile.BadZipFile, zlib.error, struct.error,
    lzma.LZMAError, TypeError, KeyError, IndexError, OverflowError, UnicodeError,
)
_FORMATS = ("npz", "json", "csv", "tra", "drn", "mdp")  # tra: PRISM explicit; drn: Storm; mdp: Cassandra


# ====================================================================== small helpers
def _name(path: PathLike) -> str:
    return os.fspath(path)


def _fail(path: PathLike, msg: str, line: int | None = None) -> ModelFileError:
    where = _name(path) if line is None else f"{_name(path)}, line {line}"
    return ModelFileError(f"{where}: {msg}")


def _check_max_bytes(max_bytes) -> int | None:
    if max_bytes is None:
        return None
    return check_int(max_bytes, "max_bytes", minimum=1)


def _check_gamma_arg(gamma) -> float:
    try:
        return check_gamma(gamma, allow_one=True)
    except InvalidMDPError as e:
        raise InvalidArgumentError(str(e)) from None


def _check_atol(atol) -> float:
    return check_atol(atol, exc=InvalidArgumentError)


def _check_path(path) -> None:
    """A path must be a non-empty str, bytes or os.PathLike (never None or a file object)."""
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise InvalidArgumentError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    if os.fspath(path) in ("", b""):
        raise InvalidArgumentError("path must not be empty")
    if "\0" in str(os.fspath(path)):
        raise InvalidArgumentError("path must not contain a NUL character")


_kind = file_kind
_open_regular = open_regular_file


def _check_alloc(path: PathLike, nbytes: int, what: str, max_bytes: int | None) -> None:
    """Refuse a file whose declared sizes would need arrays above ``max(max_bytes, 64 MiB)``."""
    if max_bytes is None:
        return
    limit = max(max_bytes, MIN_ALLOC_BYTES)
    if nbytes > limit:
        raise _fail(
            path,
            f"{what} would need about {nbytes:,} bytes of arrays, more than the limit of {limit:,} bytes "
            f"(max_bytes={max_bytes:,}, at least 64 MiB); pass a larger max_bytes= (or None) if the file "
            "is trusted",
        )


def _read_bytes(path: PathLike, max_bytes: int | None) -> bytes:
    """Read a whole regular file, refusing it (before reading) above ``max_bytes``."""
    f, st = _open_regular(path)
    with f:
        if max_bytes is not None:
            if st.st_size > max_bytes:
                raise _fail(
                    path,
                    f"file is {st.st_size:,} bytes, more than max_bytes={max_bytes:,}; "
                    "pass a larger max_bytes= (or None) if the file is trusted",
                )
            # read the size fstat reported, plus one byte to notice a file growing past the limit
            # (f.read(n) allocates n bytes up front: never ask for max_bytes itself)
            data = f.read(st.st_size + 1)
            if len(data) > st.st_size:  # the file grew since fstat: read on in 1 MiB steps
                parts = [data]
                n = len(data)
                while n <= max_bytes:
                    chunk = f.read(1 << 20)
                    if not chunk:
                        break
                    parts.append(chunk)
                    n += len(chunk)
                data = b"".join(parts)
            if len(data) > max_bytes:
                raise _fail(
                    path,
                    f"file is more than max_bytes={max_bytes:,} bytes; "
                    "pass a larger max_bytes= (or None) if the file is trusted",
                )
            return data
        return f.read()


def _decode_utf8(path: PathLike, data: bytes) -> str:
    """Decode UTF-8 text (an initial byte-order mark is allowed and dropped)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise _fail(path, f"not valid UTF-8 text (byte {data[e.start]:#04x}: {e.reason})", line) from None


def _wrap_model_error(path: PathLike, e: InvalidMDPError) -> ModelFileError:
    return _fail(path, f"the file does not describe a valid MDP: {e}")


# ====================================================================== atomic writes
def atomic_write(path: PathLike, content: bytes | str | Callable[[BinaryIO], Any]) -> None:
    """Write a file atomically: the target is either left untouched or fully replaced.

    The content goes to a new temporary file ``.<name>.<random>.tmp`` in the target's directory,
    which is flushed, ``fsync``-ed and then moved over the target with :func:`os.replace` (an
    atomic rename on POSIX and Windows).  If anything fails, including an exception raised by
    ``content``, the temporary file is removed, the target keeps its previous content and the
    exception propagates.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.  A symbolic link is followed: its target file is replaced and the link kept.
    content : bytes, str or callable
        ``bytes`` are written as they are; ``str`` is encoded as UTF-8; a callable is called once
        with the temporary file opened in binary write mode (``writer(f)``) and writes to it.

    Raises
    ------
    OSError
        If the directory does not exist or is not writable, the disk is full, etc.
    InvalidArgumentError
        If ``content`` is none of the accepted types, ``path`` is empty or not a path, or the
        target exists and is not a regular file (a directory, FIFO, device or socket, or a
        symbolic link to one): such a target is never replaced.

    Notes
    -----
    The new file gets the permission bits of the file it replaces, or the usual ``0o666`` minus
    the process umask when it is new.  The directory entry is ``fsync``-ed after the rename where
    the platform allows it, so the new content survives a power cut once this function returns.
    When called from the main thread, a ``SIGTERM`` received during the write removes the
    temporary file before the signal takes its usual effect (the previous handler is restored
    and the signal delivered again).

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> atomic_write(os.path.join(d, "a.txt"), "hello\\n")
    >>> atomic_write(os.path.join(d, "b.bin"), lambda f: f.write(b"\\x00\\x01"))
    >>> sorted(os.listdir(d))
    ['a.txt', 'b.bin']
    """
    _check_path(path)
    if isinstance(content, str):
        content = content.encode("utf-8")
    if not isinstance(content, (bytes, bytearray, memoryview)) and not callable(content):
        raise InvalidArgumentError(
            f"content must be bytes, str or a callable taking a binary file, got {type(content).__name__}"
        )
    target = os.path.realpath(os.fspath(path))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InvalidArgumentError(
            f"refusing to replace {os.fspath(path)!r}: it is {_kind(st.st_mode)}"
            + (f" (the symbolic link points to {target!r})" if target != os.path.abspath(os.fspath(path)) else "")
            + "; write to a regular file"
        )
    directory, base = os.path.split(target)
    with _sigterm_cleanup() as pending:
        _atomic_write_body(target, directory, base, content, pending)
    _fsync_dir(directory)


class _Terminated(BaseException):
    """Raised inside :func:`atomic_write` when SIGTERM arrives, so that the cleanup runs."""


@contextlib.contextmanager
def _sigterm_cleanup():
    """Turn SIGTERM into :class:`_Terminated` for the duration of a write (main thread only).

    On exit the previous handler is restored; if SIGTERM arrived, it is delivered again so the
    process ends (or the caller's own handler runs) as it would have without this guard.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield []
        return
    pending: list[int] = []

    def handler(signum, frame):
        pending.append(signum)
        raise _Terminated()

    try:
        old = signal.getsignal(signal.SIGTERM)
        if old == signal.SIG_IGN:  # the program ignores SIGTERM: nothing to clean up for
            yield []
            return
        signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - e.g. embedded interpreters
        yield []
        return
    try:
        yield pending
    except _Terminated:
        pass
    finally:
        signal.signal(signal.SIGTERM, old if old is not None else signal.SIG_DFL)
    if pending:
        if callable(old):
            old(signal.SIGTERM, None)
        else:
            os.kill(os.getpid(), signal.SIGTERM)
        raise KeyboardInterrupt("SIGTERM during atomic_write")  # pragma: no cover - normally not reached


def _atomic_write_body(target: str, directory: str, base: str, content, pending: list) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the OS applies the umask
            break
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"could not create a temporary file next to {target}")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fsync_dir(directory: str) -> None:
    try:
        dfd = os.open(directory or ".", os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(dfd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dfd)


# ====================================================================== dispatch
def _resolve_format(path: PathLike, format: str | None) -> str:
    _check_path(path)
    if format is not None:
        if not isinstance(format, str) or format.lower().lstrip(".") not in _FORMATS:
            raise InvalidArgumentError(f"format must be one of {', '.join(map(repr, _FORMATS))}, got {format!r}")
        return format.lower().lstrip(".")
    ext = Path(os.fspath(path)).suffix.lower().lstrip(".")
    if ext not in _FORMATS:
        raise InvalidArgumentError(
            f"cannot tell the format of {_name(path)!r} from its extension; use a name ending in "
            f".npz, .json or .csv, or pass format='npz', 'json' or 'csv'"
        )
    return ext


def save(mdp: TabularMDP, path: PathLike, *, format: str | None = None) -> None:
    """Write a model to ``path`` (atomically), in the format given by its extension.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    path : str or os.PathLike
        Target file; ``.npz`` (:func:`save_npz`), ``.json`` (:func:`save_json`) or ``.csv``
        (:func:`save_csv`).
    format : {'npz', 'json', 'csv'}, optional
        Overrides the extension.

    Raises
    ------
    InvalidArgumentError
        Unknown format or extension, or a model the format cannot store (see each writer).
    OSError
        If the file cannot be written.

    Notes
    -----
    ``.npz`` and JSON store every field of the model bit for bit.  CSV stores only ``P`` and
    the per-transition rewards, not ``gamma``; see :func:`save_csv` for the list of what is lost.
    """
    fmt = _resolve_format(path, format)
    {"npz": save_npz, "json": save_json, "csv": save_csv, "tra": save_prism, "drn": save_drn,
     "mdp": save_cassandra}[fmt](mdp, path)


def load(
    path: PathLike,
    *,
    gamma: float | None = None,
    format: str | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    atol: float = ROW_SUM_ATOL,
) -> TabularMDP:
    """Read a model file, in the format given by its extension.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` (:func:`load_npz`), ``.json`` (:func:`load_json`) or ``.csv``
        (:func:`load_csv`) file.
    gamma : float, optional
        Discount factor in ``[0, 1]``.  Required for CSV, which does not store one.  For
        ``.npz`` and JSON, a given ``gamma`` replaces the stored one (as
        :meth:`TabularMDP.with_gamma` does); omitted, the stored one is used.
    format : {'npz', 'json', 'csv'}, optional
        Overrides the extension.
    max_bytes : int or None, default DEFAULT_MAX_BYTES (1 GiB)
        Largest accepted file size in bytes, checked before the file is read.  The arrays the
        file's declared sizes would make the loader allocate may not exceed it either (but
        ``MIN_ALLOC_BYTES`` = 64 MiB is always allowed), so a short file cannot ask for a huge
        allocation.  ``None`` disables both limits (for trusted files only).
    atol : float, default 1e-8
        Tolerance on the row sums of ``P`` and on ``sum(mu0)``, passed to :class:`TabularMDP`.

    Returns
    -------
    TabularMDP

    Raises
    ------
    ModelFileError
        If the file is malformed, too large, or does not describe a valid MDP.  The message
        names the file and, for CSV, the line.
    InvalidArgumentError
        Unknown format or extension; a CSV file without ``gamma``; ``gamma``, ``max_bytes`` or
        ``atol`` out of range.
    OSError
        If the file cannot be read (missing file, permissions).
    """
    fmt = _resolve_format(path, format)
    if fmt == "csv":
        if gamma is None:
            raise InvalidArgumentError(
                f"{_name(path)} is a CSV transition file, which stores no discount factor: "
                "pass gamma=, e.g. load(path, gamma=0.95)"
            )
        return load_csv(path, gamma, max_bytes=max_bytes, atol=atol)
    g = None if gamma is None else _check_gamma_arg(gamma)
    if fmt in ("tra", "drn", "mdp"):  # labels, reward structures: use load_prism / load_drn / load_cassandra
        mdp = {"tra": load_prism, "drn": load_drn, "mdp": load_cassandra}[fmt](path, max_bytes=max_bytes, atol=atol).mdp
        return mdp if g is None or g == mdp.gamma else mdp.with_gamma(g)
    loader = load_npz if fmt == "npz" else load_json
    mdp = loader(path, max_bytes=max_bytes, atol=atol)
    return mdp if g is None or g == mdp.gamma else mdp.with_gamma(g)


# ====================================================================== .npz (native)
# key -> (allowed dtype kinds, required ndim or exact shape as a tuple, human description)
_NPZ_SPEC: dict[str, tuple[str, Any, str]] = {
    "format_version": ("iu", 0, "an integer scalar"),
    "layout": ("U", 0, "a unicode scalar 'dense' or 'csr'"),
    "P": ("f", 3, "float64 of shape (S, A, S)"),
    "P_data": ("f", 1, "float64 of shape (nnz,)"),
    "P_indices": ("iu", 1, "integers of shape (nnz,)"),
    "P_indptr": ("iu", 1, "integers of shape (S*A + 1,)"),
    "P_shape": ("iu", (2,), "integers of shape (2,)"),
    "R": ("f", 2, "float64 of shape (S, A)"),
    "R_sas": ("f", 3, "float64 of shape (S, A, S)"),
    "R_sas_data": ("f", 1, "float64 of shape (nnz,)"),
    "R_sas_indices": ("iu", 1, "integers of shape (nnz,)"),
    "R_sas_indptr": ("iu", 1, "integers of shape (S*A + 1,)"),
    "gamma": ("f", 0, "a float64 scalar"),
    "action_mask": ("b", 2, "bool of shape (S, A)"),
    "mu0": ("f", 1, "float64 of shape (S,)"),
    "name": ("U", 0, "a unicode scalar"),
    "state_labels": ("U", 1, "unicode of shape (S,)"),
    "action_labels": ("U", 1, "unicode of shape (A,)"),
    "grid_shape": ("iu", (2,), "integers of shape (2,)"),
}
_NPZ_COMMON = {"format_version", "layout", "R", "gamma", "action_mask", "mu0", "name"}
_NPZ_LAYOUT = {
    "dense": ({"P"}, [{"R_sas"}]),
    "csr": ({"P_data", "P_indices", "P_indptr", "P_shape"}, [{"R_sas_data", "R_sas_indices", "R_sas_indptr"}]),
}
_NPZ_OPTIONAL = [{"state_labels"}, {"action_labels"}, {"grid_shape"}]


def _unicode_array(values, what: str) -> np.ndarray:
    arr = np.array(list(values) if not isinstance(values, str) else values, dtype=np.str_)
    back = arr.tolist()
    if (back if isinstance(back, list) else [back]) != (list(values) if not isinstance(values, str) else [values]):
        raise InvalidArgumentError(
            f"{what} cannot be stored in .npz: numpy unicode arrays drop trailing NUL characters "
            "('\\x00'); remove them or use JSON"
        )
    return arr


def save_npz(mdp: TabularMDP, path: PathLike, *, compress: bool = True) -> None:
    """Write a model to mdpkit's native ``.npz`` format (atomically, losslessly).

    The file is a NumPy ``.npz`` (zip) archive holding only plain arrays, so it loads without
    pickle.  Its keys (``format_version`` 1):

    ====================  ===========================  ==========================================
    key                   dtype, shape                 content
    ====================  ===========================  ==========================================
    ``format_version``    int64, ()                    1
    ``layout``            unicode, ()                  ``'dense'`` or ``'csr'`` (storage of P)
    ``P``                 float64, (S, A, S)           dense layout only
    ``P_data``            float64, (nnz,)              csr layout only: stored values of P
    ``P_indices``         int64, (nnz,)                csr only: column ``s'`` of each value,
                                                       increasing within a row (no duplicates)
    ``P_indptr``          int64, (S*A + 1,)            csr only: row ``s*A + a`` is
                                                       ``P_indptr[s*A + a] : P_indptr[s*A + a + 1]``
    ``P_shape``           int64, (2,)                  csr only: ``(S*A, S)``
    ``R``                 float64, (S, A)              expected reward
    ``R_sas``             float64, (S, A, S)           optional, dense layout
    ``R_sas_data`` ...    as ``P_data`` ...            optional, csr layout (own sparsity pattern)
    ``gamma``             float64, ()
    ``action_mask``       bool, (S, A)
    ``mu0``               float64, (S,)
    ``name``              unicode, ()
    ``state_labels``      unicode, (S,)                optional (absent means None)
    ``action_labels``     unicode, (A,)                optional
    ``grid_shape``        int64, (2,)                  optional
    ====================  ===========================  ==========================================

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    path : str or os.PathLike
        Target file (conventionally ``*.npz``).
    compress : bool, default True
        Use :func:`numpy.savez_compressed` (zlib) rather than :func:`numpy.savez`.

    Raises
    ------
    InvalidArgumentError
        If a label or the name ends in a NUL character, which numpy unicode arrays cannot keep.
    OSError
        If the file cannot be written.

    See Also
    --------
    load_npz, atomic_write
    """
    arrays = _npz_arrays(mdp)
    saver = np.savez_compressed if compress else np.savez
    atomic_write(path, lambda f: saver(f, **arrays))


def _csr_parts(M) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(M.data, dtype=np.float64),
        np.asarray(M.indices, dtype=np.int64),
        np.asarray(M.indptr, dtype=np.int64),
    )


def _npz_arrays(mdp: TabularMDP) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {
        "format_version": np.array(NPZ_FORMAT_VERSION, dtype=np.int64),
        "layout": np.array("csr" if mdp.is_sparse else "dense", dtype=np.str_),
    }
    if mdp.is_sparse:
        out["P_data"], out["P_indices"], out["P_indptr"] = _csr_parts(mdp.P)
        out["P_shape"] = np.array(mdp.P.shape, dtype=np.int64)
        if mdp.R_sas is not None:
            out["R_sas_data"], out["R_sas_indices"], out["R_sas_indptr"] = _csr_parts(mdp.R_sas)
    else:
        out["P"] = np.asarray(mdp.P)
        if mdp.R_sas is not None:
            out["R_sas"] = np.asarray(mdp.R_sas)
    out["R"] = np.asarray(mdp.R)
    out["gamma"] = np.array(mdp.gamma, dtype=np.float64)
    out["action_mask"] = np.asarray(mdp.action_mask, dtype=bool)
    out["mu0"] = np.asarray(mdp.mu0)
    out["name"] = _unicode_array(mdp.name, "name")
    if mdp.state_labels is not None:
        out["state_labels"] = _unicode_array(mdp.state_labels, "state_labels")
    if mdp.action_labels is not None:
        out["action_labels"] = _unicode_array(mdp.action_labels, "action_labels")
    if mdp.grid_shape is not None:
        out["grid_shape"] = np.array(mdp.grid_shape, dtype=np.int64)
    return out


def _npz_check_headers(path: PathLike, zf: zipfile.ZipFile, max_bytes: int | None) -> dict[str, str]:
    """Check every member's ``.npy`` header (dtype, shape, size) before any data is read."""
    members: dict[str, str] = {}
    total = 0
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            raise _fail(path, f"unexpected member {info.filename!r} in the archive (only .npy arrays belong here)")
        key = info.filename[:-4]
        if key in members:
            raise _fail(path, f"key {key!r} appears twice in the archive")
        if key not in _NPZ_SPEC:
            raise _fail(path, f"unexpected key {key!r}; an mdpkit .npz holds only {', '.join(_NPZ_SPEC)}")
        try:
            with zf.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version == (2, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
        except _ZIP_ERRORS as e:
            raise _fail(path, f"key {key!r}: unreadable .npy header ({e})") from None
        if not isinstance(shape, tuple) or any(type(n) is not int or n < 0 for n in shape):
            raise _fail(path, f"key {key!r}: invalid shape {shape!r} in the .npy header")
        if not isinstance(dtype, np.dtype):  # pragma: no cover - numpy returns a dtype
            raise _fail(path, f"key {key!r}: invalid dtype in the .npy header")
        if dtype.hasobject:
            raise _fail(
                path, f"key {key!r} holds Python objects (dtype {dtype}); pickled data is never loaded"
            )
        kinds, want, desc = _NPZ_SPEC[key]
        ok_kind = dtype.kind in kinds and dtype.fields is None and dtype.subdtype is None
        if ok_kind and dtype.kind in "fiu":
            ok_kind = dtype.itemsize == 8 if dtype.kind == "f" else dtype.itemsize <= 8
        ok_shape = shape == want if isinstance(want, tuple) else len(shape) == want
        if not (ok_kind and ok_shape):
            raise _fail(path, f"key {key!r} must be {desc}, got dtype {dtype} and shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes > info.file_size:
            raise _fail(path, f"key {key!r}: the header declares {nbytes:,} bytes of data but the member is shorter")
        total += nbytes
        members[key] = info.filename
    _check_alloc(path, total, "the arrays in the archive", max_bytes)
    return members


def _npz_check_keys(path: PathLike, keys: set[str]) -> None:
    for k in ("format_version", "layout"):
        if k not in keys:
            raise _fail(path, f"missing key {k!r}: not an mdpkit .npz model file")


def _npz_csr(path: PathLike, z: dict, prefix: str, S: int, A: int):
    # no copies of arrays already of the right dtype: TabularMDP makes the one copy it keeps
    data = np.asarray(z[f"{prefix}_data"], dtype=np.float64)
    indices = np.asarray(z[f"{prefix}_indices"], dtype=np.int64)
    indptr = np.asarray(z[f"{prefix}_indptr"], dtype=np.int64)
    n = S * A
    if indptr.shape != (n + 1,):
        raise _fail(path, f"key '{prefix}_indptr' must have length S*A + 1 = {n + 1}, got {indptr.shape[0]}")
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != indices.shape[0]:
        raise _fail(path, f"key '{prefix}_indptr' must rise from 0 to len({prefix}_indices) = {indices.shape[0]}")
    if data.shape != indices.shape:
        raise _fail(
            path, f"keys '{prefix}_data' and '{prefix}_indices' differ in length: {data.shape[0]} vs {indices.shape[0]}"
        )
    if indices.size and (indices.min() < 0 or indices.max() >= S):
        k = int(np.flatnonzero((indices < 0) | (indices >= S))[0])
        raise _fail(path, f"key '{prefix}_indices': entry {k} is {indices[k]}, outside [0, S) with S={S}")
    # within each row, column indices must strictly increase (canonical CSR, no duplicates)
    starts = np.zeros(indices.shape[0], dtype=bool)
    starts[indptr[:-1][indptr[:-1] < indices.shape[0]]] = True
    bad = np.flatnonzero((np.diff(indices) <= 0) & ~starts[1:])
    if bad.size:
        k = int(bad[0]) + 1
        raise _fail(
            path, f"key '{prefix}_indices': entry {k} is not after entry {k - 1} in its row (not canonical CSR)"
        )
    return sp.csr_matrix((data, indices, indptr), shape=(n, S))


def load_npz(
    path: PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES, atol: float = ROW_SUM_ATOL
) -> TabularMDP:
    """Read a model written by :func:`save_npz`; every field comes back bit for bit.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npz`` file with the keys listed in :func:`save_npz`.
    max_bytes : int or None, default DEFAULT_MAX_BYTES (1 GiB)
        Largest accepted file size in bytes (checked before reading), and largest total size
        of the arrays that the archive's ``.npy`` headers declare (checked before any array is
        read, so a small compressed archive cannot expand into a huge allocation; 64 MiB is
        always allowed).  ``None`` disables both limits (for trusted files only).
    atol : float, default 1e-8
        Row-sum tolerance passed to :class:`TabularMDP`.

    Returns
    -------
    TabularMDP

    Raises
    ------
    ModelFileError
        Not a zip archive; a member that is not a ``.npy`` array; a missing or unknown key; an
        array of the wrong dtype or shape (the message names the key); an object (pickled)
        array, which is refused before anything is unpickled; an unsupported
        ``format_version``; inconsistent CSR arrays; or arrays that do not form a valid MDP.
    InvalidArgumentError
        ``max_bytes`` or ``atol`` out of range.
    OSError
        If the file cannot be read.
    """
    max_bytes = _check_max_bytes(max_bytes)
    atol = _check_atol(atol)
    raw = _read_bytes(path, max_bytes)
    if not raw.startswith(b"PK"):
        raise _fail(path, "not an .npz archive (a .npz file is a zip archive; this file does not start with 'PK')")
    try:
        npz = np.load(_stdio.BytesIO(raw), allow_pickle=False)
    except _ZIP_ERRORS as e:
        raise _fail(path, f"not a readable .npz archive ({e})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # pragma: no cover - guarded by the 'PK' check
        raise _fail(path, "not an .npz archive")
    with npz:
        members = _npz_check_headers(path, npz.zip, max_bytes)
        keys = set(members)
        _npz_check_keys(path, keys)
        z: dict[str, np.ndarray] = {}

        def get(key: str) -> np.ndarray:
            if key not in z:
                try:
                    z[key] = npz[key]
                except _ZIP_ERRORS as e:
                    raise _fail(path, f"key {key!r}: unreadable array data ({e})") from None
            return z[key]

        version = int(get("format_version").item())
        if version != NPZ_FORMAT_VERSION:
            raise _fail(
                path,
                f"format_version is {version}; this mdpkit reads version {NPZ_FORMAT_VERSION} "
                "(a newer mdpkit may have written the file)",
            )
        layout = get("layout").item()
        if layout not in _NPZ_LAYOUT:
            raise _fail(path, f"key 'layout' must be 'dense' or 'csr', got {layout!r}")
        required, optional_groups = _NPZ_LAYOUT[layout]
        required = required | _NPZ_COMMON
        missing = sorted(required - keys)
        if missing:
            raise _fail(path, f"missing key {missing[0]!r} (layout {layout!r} needs {', '.join(sorted(required))})")
        allowed = set(required)
        for group in optional_groups + _NPZ_OPTIONAL:
            present = group & keys
            if present and present != group:
                first = sorted(group - present)[0]
                raise _fail(path, f"key {first!r} is missing; {', '.join(sorted(group))} go together")
            allowed |= group
        extra = sorted(keys - allowed)
        if extra:
            raise _fail(path, f"unexpected key {extra[0]!r} for layout {layout!r}")
        for k in keys:
            get(k)

        R = np.asarray(z["R"], dtype=np.float64)
        S, A = R.shape
        if S < 1 or A < 1:
            raise _fail(path, f"key 'R' must have shape (S, A) with S, A >= 1, got {R.shape}")
        if layout == "dense":
            P = np.asarray(z["P"], dtype=np.float64)
            R_sas = np.asarray(z["R_sas"], dtype=np.float64) if "R_sas" in z else None
        else:
            shape = tuple(int(x) for x in z["P_shape"])
            if shape != (S * A, S):
                raise _fail(path, f"key 'P_shape' is {shape}, but R has shape ({S}, {A}) so it must be ({S * A}, {S})")
            P = _npz_csr(path, z, "P", S, A)
            R_sas = _npz_csr(path, z, "R_sas", S, A) if "R_sas_data" in z else None
        labels = {}
        for k in ("state_labels", "action_labels"):
            labels[k] = tuple(z[k].tolist()) if k in z else None
        grid = tuple(int(x) for x in z["grid_shape"]) if "grid_shape" in z else None
        try:
            return TabularMDP(
                P=P,
                R=R,
                gamma=float(z["gamma"].item()),
                R_sas=R_sas,
                action_mask=np.asarray(z["action_mask"], dtype=bool),
                mu0=np.asarray(z["mu0"], dtype=np.float64),
                name=z["name"].item(),
                grid_shape=grid,
                atol=atol,
                **labels,
            )
        except InvalidMDPError as e:
            raise _wrap_model_error(path, e) from None


# ====================================================================== JSON
def save_json(mdp: TabularMDP, path: PathLike) -> None:
    r"""Write a model as readable JSON (atomically, losslessly).

    Schema (version 1).  One JSON object; every member is written, ``null`` standing for None:

    ================  ===========================================================================
    member            value
    ================  ===========================================================================
    ``format``        ``"mdpkit-mdp"``
    ``version``       ``1``
    ``name``          string
    ``S``, ``A``      integers >= 1: numbers of states and actions
    ``gamma``         number in [0, 1]
    ``layout``        ``"dense"`` or ``"csr"``: how ``P`` (and ``R_sas``) are stored in memory
    ``P``             list of entries ``[s, a, s_next, p]`` (integer ids from 0, number ``p``):
                      dense layout: every entry of P that is not +0.0, all others being 0;
                      csr layout: every stored entry of the CSR matrix (explicit zeros too).
                      Entries may come in any order; an ``(s, a, s_next)`` may appear once.
    ``R``             S lists of A numbers: ``R[s][a]``
    ``R_sas``         ``null``, or entries ``[s, a, s_next, r]`` in the same form as ``P``
                      (with its own sparsity pattern)
    ``action_mask``   S lists of A booleans
    ``mu0``           list of S numbers
    ``state_labels``  ``null`` or list of S strings
    ``action_labels`` ``null`` or list of A strings
    ``grid_shape``    ``null`` or ``[rows, cols]``
    ================  ===========================================================================

    Example (RiverSwim-like, 2 states)::

        {
          "format": "mdpkit-mdp",
          "version": 1,
          "name": "tiny",
          "S": 2,
          "A": 1,
          "gamma": 0.9,
          "layout": "dense",
          "P": [
            [0, 0, 1, 1.0],
            [1, 0, 1, 1.0]
          ],
          "R": [[0.0], [1.0]],
          ...
        }

    Numbers are written with Python's shortest round-trip ``repr``, so every float64 comes
    back bit for bit (``-0.0`` included); non-ASCII characters in strings are written as
    ``\uXXXX`` escapes, so the file is pure ASCII.

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    path : str or os.PathLike
        Target file (conventionally ``*.json``).

    Raises
    ------
    OSError
        If the file cannot be written.

    See Also
    --------
    load_json, atomic_write
    """
    atomic_write(path, _json_text(mdp))


def _entries(M3, M_csr, A: int) -> list[str]:
    """JSON text of the entries [s, a, s', v] of a dense (S, A, S) array (those whose bits are not
    +0.0) or of a CSR matrix (every stored entry).  ``repr`` of a float is what :mod:`json` writes."""
    if M_csr is not None:
        counts = np.diff(M_csr.indptr)
        rows = np.repeat(np.arange(M_csr.shape[0], dtype=np.int64), counts)
        cols = np.asarray(M_csr.indices, dtype=np.int64)
        vals = np.asarray(M_csr.data, dtype=np.float64)
    else:
        flat = M3.reshape(-1, M3.shape[2])
        keep = (flat != 0) | np.signbit(flat)
        rows, cols = np.nonzero(keep)
        vals = flat[rows, cols]
    s, a = np.divmod(rows, A)
    return [f"[{s}, {a}, {t}, {v!r}]" for s, a, t, v in zip(s.tolist(), a.tolist(), cols.tolist(), vals.tolist())]


def _json_text(mdp: TabularMDP) -> str:
    dumps = json.JSONEncoder(ensure_ascii=True, allow_nan=False).encode
    S, A = mdp.S, mdp.A
    csr = mdp.is_sparse
    P_entries = _entries(None if csr else mdp.P, mdp.P if csr else None, A)
    if mdp.R_sas is None:
        Rsas_entries = None
    else:
        Rsas_entries = _entries(None if csr else mdp.R_sas, mdp.R_sas if csr else None, A)

    def rows(items: list[str] | None) -> str:
        if items is None:
            return "null"
        if not items:
            return "[]"
        return "[\n    " + ",\n    ".join(items) + "\n  ]"

    members = [
        ("format", dumps(_JSON_MAGIC)),
        ("version", dumps(JSON_FORMAT_VERSION)),
        ("name", dumps(mdp.name)),
        ("S", dumps(S)),
        ("A", dumps(A)),
        ("gamma", dumps(float(mdp.gamma))),
        ("layout", dumps("csr" if csr else "dense")),
        ("P", rows(P_entries)),
        ("R", rows([dumps(row) for row in mdp.R.tolist()])),
        ("R_sas", rows(Rsas_entries)),
        ("action_mask", rows([dumps(row) for row in mdp.action_mask.tolist()])),
        ("mu0", dumps(mdp.mu0.tolist())),
        ("state_labels", dumps(None if mdp.state_labels is None else list(mdp.state_labels))),
        ("action_labels", dumps(None if mdp.action_labels is None else list(mdp.action_labels))),
        ("grid_shape", dumps(None if mdp.grid_shape is None else list(mdp.grid_shape))),
    ]
    return "{\n" + ",\n".join(f"  {dumps(k)}: {v}" for k, v in members) + "\n}\n"


class _NonFinite:
    """Stands for a NaN/Infinity token so that validation can name its JSON path."""

    def __init__(self, token: str) -> None:
        self.token = token


class _DuplicateKey(Exception):
    pass


def _show(v) -> str:
    if isinstance(v, _NonFinite):
        return v.token
    try:
        text = json.dumps(v, ensure_ascii=False, default=lambda o: "...")
    except (ValueError, TypeError):  # pragma: no cover
        text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


class _JSONReader:
    """Type and shape checks for the parsed JSON document, with JSON-path error messages."""

    def __init__(self, path: PathLike) -> None:
        self.path = path

    def fail(self, where: str, msg: str) -> ModelFileError:
        return _fail(self.path, f"{where}: {msg}")

    def number(self, v, where: str) -> float:
        t = type(v)
        if t is float:
            if not math.isfinite(v):
                raise self.fail(where, f"number {_show(v)} is outside the float64 range")
            return v
        if t is int:
            try:
                return float(v)
            except OverflowError:
                raise self.fail(where, "integer is outside the float64 range") from None
        if isinstance(v, _NonFinite):
            raise self.fail(where, f"expected a finite number, got {v.token}")
        raise self.fail(where, f"expected a number, got {_show(v)}")

    def integer(self, v, where: str, lo: int = 0, hi: int | None = None, what: str = "") -> int:
        if type(v) is not int:
            raise self.fail(where, f"expected an integer{' ' + what if what else ''}, got {_show(v)}")
        if v < lo or (hi is not None and v >= hi):
            rng = f">= {lo}" if hi is None else f"in [{lo}, {hi})"
            raise self.fail(where, f"{what + ' ' if what else ''}{v} is not {rng}")
        return v

    def string(self, v, where: str) -> str:
        if type(v) is not str:
            raise self.fail(where, f"expected a string, got {_show(v)}")
        return v

    def boolean(self, v, where: str) -> bool:
        if type(v) is not bool:
            raise self.fail(where, f"expected true or false, got {_show(v)}")
        return v

    def list_(self, v, where: str, n: int | None = None) -> list:
        if type(v) is not list:
            raise self.fail(where, f"expected a list, got {_show(v)}")
        if n is not None and len(v) != n:
            raise self.fail(where, f"expected a list of length {n}, got length {len(v)}")
        return v

    def table(self, v, where: str, S: int, A: int, conv) -> list[list]:
        rows = self.list_(v, where, S)
        return [
            [conv(x, f"{where}[{i}][{j}]") for j, x in enumerate(self.list_(row, f"{where}[{i}]", A))]
            for i, row in enumerate(rows)
        ]

    def entries(self, v, where: str, S: int, A: int, probability: bool):
        lst = self.list_(v, where)
        fast = self._entries_fast(lst, S, A, probability)
        if fast is not None:
            return fast
        n = len(lst)
        s = np.empty(n, np.int64)
        a = np.empty(n, np.int64)
        t = np.empty(n, np.int64)
        x = np.empty(n, np.float64)
        for k, e in enumerate(lst):
            w = f"{where}[{k}]"
            if type(e) is not list or len(e) != 4:
                raise self.fail(w, f"expected an entry [s, a, s_next, value], got {_show(e)}")
            s[k] = self.integer(e[0], w + "[0]", 0, S, "state id")
            a[k] = self.integer(e[1], w + "[1]", 0, A, "action id")
            t[k] = self.integer(e[2], w + "[2]", 0, S, "state id")
            x[k] = self.number(e[3], w + "[3]")
            if probability and x[k] < 0:
                raise self.fail(w + "[3]", f"probability {e[3]!r} is negative")
        return s, a, t, x

    @staticmethod
    def _entries_fast(lst: list, S: int, A: int, probability: bool):
        """Bulk conversion when every entry is well formed; None sends the caller to the checks."""
        n = len(lst)
        if n == 0 or set(map(type, lst)) != {list} or set(map(len, lst)) != {4}:
            return None
        c0, c1, c2, c3 = zip(*lst)
        if set(map(type, c0)) | set(map(type, c1)) | set(map(type, c2)) != {int}:
            return None
        if not set(map(type, c3)) <= {int, float}:
            return None
        try:
            s, a, t = (np.array(c, dtype=np.int64) for c in (c0, c1, c2))
            x = np.array(c3, dtype=np.float64)
        except (OverflowError, ValueError):
            return None
        ok = (s.min() >= 0) & (s.max() < S) & (t.min() >= 0) & (t.max() < S) & (a.min() >= 0) & (a.max() < A)
        if not ok or not np.isfinite(x).all() or (probability and x.min() < 0):
            return None
        return s, a, t, x

    def csr(self, where: str, s, a, t, x, S: int, A: int):
        row = s * A + a
        order = np.lexsort((t, row))
        rs, ts = row[order], t[order]
        dup = np.flatnonzero((rs[1:] == rs[:-1]) & (ts[1:] == ts[:-1]))
        if dup.size:
            i, j = sorted((int(order[dup[0]]), int(order[dup[0] + 1])))
            raise self.fail(
                f"{where}[{j}]",
                f"entry ({int(s[j])}, {int(a[j])}, {int(t[j])}) already given at {where}[{i}]; each may appear once",
            )
        indptr = np.zeros(S * A + 1, np.int64)
        np.cumsum(np.bincount(rs, minlength=S * A), out=indptr[1:])
        return sp.csr_matrix((x[order], ts, indptr), shape=(S * A, S))


# The entry lists P and R_sas hold nearly all of a file's bytes.  Parsed by ``json`` they become
# Python lists (about 10x the text); instead a list written in the plain form save_json uses
# ([s, a, s', number] entries, JSON whitespace) is recognised by one regular expression (its
# repetition possessive, so no backtracking state piles up) and converted to numpy columns in
# chunks of text (about 1x the text).  Anything else goes through ``json`` as before, so the
# messages for malformed files do not change.
_JWS = r"[ \t\n\r]*"
_JINT = r"-?(?:0|[1-9][0-9]*)"
_JNUM = _JINT + r"(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_JENTRY = rf"\[{_JWS}{_JINT}{_JWS},{_JWS}{_JINT}{_JWS},{_JWS}{_JINT}{_JWS},{_JWS}{_JNUM}{_JWS}\]"
_JENTRIES = re.compile(rf"\[{_JWS}(?:{_JENTRY}(?:{_JWS},{_JWS}{_JENTRY})*+)?{_JWS}\]")
_JSKIP = re.compile(_JWS)
_JSON_CHUNK = 1 << 20  # characters of entry text converted at a time
_BRACKETS_TO_SPACES = str.maketrans("[],", "   ")


class _Entries:
    """An entry list read by the fast path: columns s, a, s' (int64) and value, and its text span."""

    def __init__(self, cols: tuple, start: int, end: int) -> None:
        self.cols, self.start, self.end = cols, start, end


def _fast_entries(text: str, i: int) -> _Entries | None:
    """The entry list starting at ``text[i]`` as numpy columns, or None if it is not in plain form
    (or holds an id of 2**53 or more, or a number that overflows): the caller then uses ``json``."""
    m = _JENTRIES.match(text, i)
    if m is None:
        return None
    end = m.end()
    n = text.count("]", i, end) - 1  # after the match, every ']' but the last closes an entry
    vals = np.empty((n, 4))
    flat = vals.reshape(-1)
    pos, k = i + 1, 0
    while k < 4 * n:
        # a chunk ending just after a ']' holds whole entries
        cut = text.find("]", min(pos + _JSON_CHUNK, end - 2)) + 1
        chunk = np.fromstring(text[pos:cut].translate(_BRACKETS_TO_SPACES), sep=" ")
        if chunk.size % 4 or k + chunk.size > flat.size:  # pragma: no cover - excluded by the expression
            return None
        flat[k : k + chunk.size] = chunk
        k += chunk.size
        pos = cut
    ids = vals[:, :3]
    if not np.isfinite(vals[:, 3]).all() or (n and np.abs(ids).max() >= 2.0**53):
        return None
    return _Entries((*(ids[:, c].astype(np.int64) for c in range(3)), vals[:, 3].copy()), i, end)


class _JSONSizeGuard:
    """Watches S, A and layout while the members are read; once they declare a dense model
    above the limit, the entry lists are skipped unparsed (the error is raised by the usual
    check after the small members are validated, so messages keep their order), or, when a list
    is not in plain form and so cannot be skipped without parsing it, raised at once."""

    def __init__(self, path: PathLike, max_bytes: int | None) -> None:
        self.path, self.max_bytes, self.seen = path, max_bytes, {}

    def too_big(self, key: str) -> ModelFileError | None:
        S, A, lay = self.seen.get("S"), self.seen.get("A"), self.seen.get("layout")
        if not (type(S) is int and type(A) is int and S >= 1 and A >= 1 and lay == "dense"):
            return None
        n_mats = 2 if key == "R_sas" or self.seen.get("R_sas") is not None else 1
        try:
            _check_json_alloc(self.path, S, A, n_mats, self.max_bytes)
        except ModelFileError as e:
            return e
        return None


_SKIPPED = object()


def _json_members(path: PathLike, text: str, guard: _JSONSizeGuard) -> dict | None:
    """Parse a top-level JSON object member by member (``P``/``R_sas`` via :func:`_fast_entries`).

    Returns the members, or None when the text does not start with ``{`` (the caller then parses
    it whole, for the usual message).  Raises ``json.JSONDecodeError``, :class:`_DuplicateKey`
    or ``RecursionError`` like ``json.loads``, and the guard's size error (see
    :class:`_JSONSizeGuard`).
    """
    i = _JSKIP.match(text, 0).end()
    if not text.startswith("{", i):
        return None
    dec = json.JSONDecoder(object_pairs_hook=_pairs_no_duplicates, parse_constant=_NonFinite)
    doc: dict[str, Any] = {}
    i = _JSKIP.match(text, i + 1).end()
    if text.startswith("}", i):
        i += 1
    else:
        while True:
            if not text.startswith('"', i):
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes", text, i)
            key, i = dec.raw_decode(text, i)
            i = _JSKIP.match(text, i).end()
            if not text.startswith(":", i):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, i)
            i = _JSKIP.match(text, i + 1).end()
            value = None
            if key in ("P", "R_sas") and text.startswith("[", i):
                err = guard.too_big(key)
                if err is not None:
                    m = _JENTRIES.match(text, i)
                    if m is None:
                        raise err
                    value, i = _SKIPPED, m.end()
                else:
                    value = _fast_entries(text, i)
                    if value is not None:
                        i = value.end
            if value is None:
                value, i = dec.raw_decode(text, i)
            if key in doc:
                raise _DuplicateKey(key)
            doc[key] = guard.seen[key] = value
            i = _JSKIP.match(text, i).end()
            if text.startswith(",", i):
                i = _JSKIP.match(text, i + 1).end()
            elif text.startswith("}", i):
                i += 1
                break
            else:
                raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
    i = _JSKIP.match(text, i).end()
    if i != len(text):
        raise json.JSONDecodeError("Extra data", text, i)
    return doc


def _pairs_no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise _DuplicateKey(k)
        d[k] = v
    return d


def load_json(
    path: PathLike, *, max_bytes: int | None = DEFAULT_MAX_BYTES, atol: float = ROW_SUM_ATOL
) -> TabularMDP:
    """Read a model written by :func:`save_json` (schema in its docstring), bit for bit.

    Parameters
    ----------
    path : str or os.PathLike
        A UTF-8 JSON file.
    max_bytes : int or None, default DEFAULT_MAX_BYTES (1 GiB)
        Largest accepted file size in bytes (checked before reading), and largest size of the
        dense ``P`` (and ``R_sas``) that ``S`` and ``A`` declare (64 MiB is always allowed).
        ``None`` disables both limits (for trusted files only).
    atol : float, default 1e-8
        Row-sum tolerance passed to :class:`TabularMDP`.

    Returns
    -------
    TabularMDP

    Raises
    ------
    ModelFileError
        Invalid JSON (the message gives line and column), ``NaN``/``Infinity`` tokens,
        duplicate object keys, a missing or unknown member, a value of the wrong type or shape
        (the message gives its JSON path, e.g. ``R[3][1]: expected a number, got "x"``), an id
        out of range, a repeated ``P`` entry, or data that do not form a valid MDP.
    InvalidArgumentError
        ``max_bytes`` or ``atol`` out of range.
    OSError
        If the file cannot be read.

    Notes
    -----
    Members whose value is ``null`` may also be left out (``name`` then defaults to ``""``).
    Unknown members are an error, so that a misspelt member is never silently ignored.
    """
    max_bytes = _check_max_bytes(max_bytes)
    atol = _check_atol(atol)
    text = _decode_utf8(path, _read_bytes(path, max_bytes))
    if not text.strip():
        raise _fail(path, "empty file; expected a JSON object")

    try:
        # a dense model above the size limit is refused before its entry lists are parsed when,
        # as save_json writes them, S, A and layout come first (see _JSONSizeGuard)
        doc = _json_members(path, text, _JSONSizeGuard(path, max_bytes))
        if doc is None:  # not an object: parsed whole only to name what it is
            doc = json.loads(text, object_pairs_hook=_pairs_no_duplicates, parse_constant=_NonFinite)
    except ModelFileError:
        raise
    except json.JSONDecodeError as e:
        raise _fail(path, f"invalid JSON at column {e.colno}: {e.msg}", e.lineno) from None
    except _DuplicateKey as e:
        raise _fail(path, f"duplicate member {e.args[0]!r} in a JSON object") from None
    except (ValueError, RecursionError) as e:
        raise _fail(path, f"invalid JSON: {e}") from None

    r = _JSONReader(path)
    if type(doc) is not dict:
        raise _fail(path, f"expected a JSON object at the top level, got {_show(doc)}")
    if doc.get("format") != _JSON_MAGIC:
        got = _show(doc.get("format"))
        raise _fail(path, f'member "format" must be "{_JSON_MAGIC}" (not an mdpkit JSON model), got {got}')
    known = {
        "format", "version", "name", "S", "A", "gamma", "layout", "P", "R", "R_sas",
        "action_mask", "mu0", "state_labels", "action_labels", "grid_shape",
    }  # fmt: skip
    unknown = sorted(set(doc) - known)
    if unknown:
        raise _fail(path, f"unknown member {unknown[0]!r}; expected only {', '.join(sorted(known))}")
    for k in ("version", "S", "A", "gamma", "layout", "P", "R", "action_mask", "mu0"):
        if k not in doc:
            raise _fail(path, f"missing member {k!r}")
    version = r.integer(doc["version"], "version", 1)
    if version != JSON_FORMAT_VERSION:
        raise _fail(path, f"version is {version}; this mdpkit reads version {JSON_FORMAT_VERSION}")
    S = r.integer(doc["S"], "S", 1)
    A = r.integer(doc["A"], "A", 1)
    gamma = r.number(doc["gamma"], "gamma")
    layout = r.string(doc["layout"], "layout")
    if layout not in ("dense", "csr"):
        raise r.fail("layout", f'expected "dense" or "csr", got {_show(layout)}')
    # R, mask and mu0 are spelled out in full, so S*A is bounded by the file itself: check them first
    R = np.array(r.table(doc["R"], "R", S, A, r.number), dtype=np.float64)
    mask = np.array(r.table(doc["action_mask"], "action_mask", S, A, r.boolean), dtype=bool)
    mu0 = np.array([r.number(x, f"mu0[{i}]") for i, x in enumerate(r.list_(doc["mu0"], "mu0", S))], dtype=np.float64)
    name = doc.get("name")
    name = "" if name is None else r.string(name, "name")
    labels = {}
    for k, n in (("state_labels", S), ("action_labels", A)):
        v = doc.get(k)
        labels[k] = None if v is None else tuple(r.string(x, f"{k}[{i}]") for i, x in enumerate(r.list_(v, k, n)))
    g = doc.get("grid_shape")
    if g is not None:
        g = tuple(r.integer(x, f"grid_shape[{i}]", 1) for i, x in enumerate(r.list_(g, "grid_shape", 2)))
    grid = g

    has_rsas = doc.get("R_sas") is not None
    if layout == "dense":
        _check_json_alloc(path, S, A, 2 if has_rsas else 1, max_bytes)
    mats = {}
    for k in ("P", "R_sas") if has_rsas else ("P",):
        v = doc[k]
        if isinstance(v, _Entries):
            s, a, t, x = v.cols
            if not _entries_in_range(s, a, t, x, S, A, probability=(k == "P")):
                # an id out of range or a negative probability: json names it exactly
                v = json.loads(text[v.start:v.end], parse_constant=_NonFinite)
        if not isinstance(v, _Entries):
            s, a, t, x = r.entries(v, k, S, A, probability=(k == "P"))
        M = r.csr(k, s, a, t, x, S, A)  # also rejects repeated entries
        if layout == "dense":
            dense = np.zeros((S, A, S))
            dense[s, a, t] = x
            mats[k] = dense
        else:
            mats[k] = M
    try:
        return TabularMDP(
            P=mats["P"],
            R=R,
            gamma=gamma,
            R_sas=mats.get("R_sas"),
            action_mask=mask,
            mu0=mu0,
            name=name,
            grid_shape=grid,
            atol=atol,
            **labels,
        )
    except InvalidMDPError as e:
        raise _wrap_model_error(path, e) from None


def _entries_in_range(s, a, t, x, S: int, A: int, probability: bool) -> bool:
    if s.size == 0:
        return True
    ok = s.min() >= 0 and s.max() < S and t.min() >= 0 and t.max() < S and a.min() >= 0 and a.max() < A
    return bool(ok and (not probability or x.min() >= 0))


def _check_json_alloc(path: PathLike, S: int, A: int, n_mats: int, max_bytes: int | None) -> None:
    """The dense arrays a JSON file declares: ``n_mats`` (S, A, S) float64 arrays, each held
    twice at the peak (the array filled from the entries and the model's validated copy)."""
    nbytes = 8 * S * A * S * n_mats
    _check_alloc(path, nbytes, f"a dense model with S={S}, A={A}", max_bytes)
    try:
        check_memory(2 * nbytes, f"{_name(path)}: a dense model with S={S}, A={A}")
    except InvalidArgumentError as e:
        raise ModelFileError(str(e)) from None


# ====================================================================== CSV (craam2 transition rows)
def save_csv(mdp: TabularMDP, path: PathLike) -> None:
    """Write a model as craam2-style CSV transition rows (atomically).

    The file has the header ``idstatefrom,idaction,idstateto,probability,reward`` and one row
    ``s,a,s',p,r`` for every available ``(s, a)`` (``action_mask[s, a]``) and every ``s'`` with
    ``P[s, a, s'] > 0``, in the order of ``s``, then ``a``, then ``s'``.  Ids are 0-based
    integers; ``r`` is ``R_sas[s, a, s']`` when the model has ``R_sas``, else ``R[s, a]``.
    Floats are written with Python's shortest round-trip ``repr``, so :func:`load_csv` gets
    ``P`` and the rewards back bit for bit.  Lines end with ``\\n``; the file is UTF-8 (ASCII).

    What the CSV schema cannot carry, and is therefore not written:

    - ``gamma`` (pass it to :func:`load_csv`);
    - ``mu0``, ``state_labels``, ``action_labels``, ``name`` and ``grid_shape``;
    - zero-probability transitions, and ``R_sas`` where ``P`` is 0;
    - the rows and rewards of masked actions (they come back masked, with zero rows);
    - ``R`` itself: :func:`load_csv` recomputes ``R[s, a] = sum_s' P[s, a, s'] r(s, a, s')``.
      For a model built from ``R_sas`` (``R`` folded by :class:`TabularMDP`) in the same
      layout (dense or CSR) this gives ``R`` back bit for bit.  For a model without
      ``R_sas``, every transition of ``(s, a)`` carries ``R[s, a]`` and the reloaded value is
      ``R[s, a] * sum_s' P[s, a, s']`` (summed in floating point): equal to ``R`` up to a
      relative error of ``|1 - sum_s' P[s, a, s']|`` plus a few ulps, i.e. within
      ``rtol=1e-12`` when the rows of ``P`` sum to 1 within ``1e-13``;
    - trailing actions that are masked in every state (``A`` is read back as one more than the
      largest action id written; pass ``A=`` to :func:`load_csv`);
    - whether ``P`` was stored dense or CSR (:func:`load_csv` decides by size, or by ``sparse=``).

    Parameters
    ----------
    mdp : TabularMDP
        The model.
    path : str or os.PathLike
        Target file (conventionally ``*.csv``).

    Raises
    ------
    OSError
        If the file cannot be written.

    See Also
    --------
    load_csv, save_npz, save_json
    """
    S, A = mdp.S, mdp.A
    if mdp.is_sparse:
        P = mdp.P
        rr = np.repeat(np.arange(S * A, dtype=np.int64), np.diff(P.indptr))
        cc = np.asarray(P.indices, dtype=np.int64)
        pv = np.asarray(P.data)
    else:
        flat = mdp.P.reshape(S * A, S)
        rr, cc = np.nonzero(flat > 0)
        pv = flat[rr, cc]
    keep = (pv > 0) & mdp.action_mask.reshape(-1)[rr]
    rr, cc, pv = rr[keep], cc[keep], pv[keep]
    if mdp.R_sas is None:
        rv = mdp.R.reshape(-1)[rr]
    elif sp.issparse(mdp.R_sas):
        rv = np.asarray(mdp.R_sas[rr, cc]).reshape(-1) if rr.size else np.empty(0)
    else:
        rv = mdp.R_sas.reshape(S * A, S)[rr, cc]
    s_ids, a_ids = np.divmod(rr, A)

    def writer(f: BinaryIO) -> None:
        f.write((",".join(CSV_HEADER) + "\n").encode("ascii"))
        chunk = 65536
        for i in range(0, rr.size, chunk):
            sl = slice(i, i + chunk)
            lines = "".join(
                f"{s},{a},{t},{p!r},{r!r}\n"
                for s, a, t, p, r in zip(
                    s_ids[sl].tolist(), a_ids[sl].tolist(), cc[sl].tolist(), pv[sl].tolist(), rv[sl].tolist()
                )
            )
            f.write(lines.encode("ascii"))

    atomic_write(path, writer)


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class _FieldError(Exception):
    pass


def _csv_number(text: str) -> float:
    t = text.strip()
    if _DECIMAL.fullmatch(t):
        v = float(t)
        if math.isinf(v):
            raise _FieldError(f"{text!r} is outside the float64 range")
        return v
    try:
        v = float(t)
    except ValueError:
        v = None
    if v is not None and math.isnan(v):
        raise _FieldError(f"{text!r} is NaN; expected a finite number")
    if v is not None and math.isinf(v):
        raise _FieldError(f"{text!r} is infinite; expected a finite number")
    raise _FieldError(f"{text!r} is not a number (expected a decimal such as 0.25, 3 or 1e-3)")


def _csv_id(text: str) -> int:
    if text.isdigit() and text.isascii():
        if len(text) > 18:
            raise _FieldError(f"{text[:20]!r}... is too large for an id")
        return int(text)
    v = _csv_number(text)
    if v < 0:
        raise _FieldError(f"{text!r} is negative; ids are 0-based non-negative integers")
    if not v.is_integer():
        raise _FieldError(f"{text!r} is not an integer; ids are 0-based non-negative integers")
    if v >= 2.0**53:
        raise _FieldError(f"{text!r} is too large for an id")
    return int(v)


_CSV_CHUNK = 1 << 12  # rows converted at a time (their strings take about 350 bytes a row)
_READ_BLOCK = 1 << 18  # bytes; io.StringIO holds a block as up to 4 bytes a character


def _text_lines(path: PathLike, max_bytes: int | None):
    """The lines of a UTF-8 text file (terminators kept, as ``open(newline="")`` gives them),
    read in blocks of 256 KiB so that the whole text is never held at once.

    The size limit is checked before reading (``fstat``) and while reading (a growing file);
    a block always ends just after a ``\\n``, so no line or multi-byte character is split
    (a line longer than a block is read whole).  An initial byte-order mark is dropped.
    Invalid UTF-8 is a :class:`ModelFileError` naming its line.
    """
    f, st = _open_regular(path)
    with f:
        if max_bytes is not None and st.st_size > max_bytes:
            raise _fail(path, f"file is {st.st_size:,} bytes, more than max_bytes={max_bytes:,}; "
                              "pass a larger max_bytes= (or None) if the file is trusted")
        pending: list[bytes] = []  # the start of a line not yet ended
        n_read = 0
        newlines = 0  # b"\n" bytes before the current block (line numbers as _decode_utf8 counts them)
        first = True
        while True:
            block = f.read(_READ_BLOCK)
            n_read += len(block)
            if max_bytes is not None and n_read > max_bytes:
                raise _fail(path, f"file is more than max_bytes={max_bytes:,} bytes; "
                                  "pass a larger max_bytes= (or None) if the file is trusted")
            if block:
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # no line end yet: keep reading (joined once, not block by block)
                    pending.append(block)
                    continue
                data = b"".join(pending) + block[:cut] if pending else block[:cut]
                pending = [block[cut:]]
            else:
                data = b"".join(pending)
            if first:
                first = False
                if data.startswith(codecs.BOM_UTF8):
                    data = data[len(codecs.BOM_UTF8):]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                line = newlines + data.count(b"\n", 0, e.start) + 1
                raise _fail(path, f"not valid UTF-8 text (byte {data[e.start]:#04x}: {e.reason})", line) from None
            newlines += data.count(b"\n")
            yield from _stdio.StringIO(text, newline="")
            if not block:
                return


def _read_csv_rows(path: PathLike, lines, on_chunk: Callable | None = None):
    """Parse the header and the transition rows; return column arrays and 1-based line numbers.

    ``lines`` is an iterable of text lines (:func:`_text_lines`).  ``on_chunk(columns)`` is
    called with the columns of every chunk of rows as soon as it is parsed, so that ids implying
    a model above the size limit are refused before the rest of the file is read.
    """
    reader = csv.reader(lines, strict=True, skipinitialspace=True)
    parts: list[tuple[np.ndarray, ...]] = []
    buf: list[list[str]] = []
    buf_lines = array("q")
    header_seen = False
    prev = 0
    try:
        for row in reader:
            line = prev + 1
            prev = reader.line_num
            if not row:
                continue  # blank line
            if not header_seen:
                if tuple(x.strip() for x in row) != CSV_HEADER:
                    raise _fail(path, f"wrong header: expected {','.join(CSV_HEADER)}, got {','.join(row)!r}", line)
                header_seen = True
                continue
            if len(row) != 5:
                msg = f"expected 5 fields ({','.join(CSV_HEADER)}), got {len(row)}: {','.join(row)!r}"
                raise _fail(path, msg, line)
            buf.append(row)
            buf_lines.append(line)
            if len(buf) == _CSV_CHUNK:
                parts.append(_csv_chunk(path, buf, buf_lines))
                if on_chunk is not None:
                    on_chunk(parts[-1])
                buf, buf_lines = [], array("q")
    except csv.Error as e:
        raise _fail(path, f"malformed CSV: {e}", reader.line_num) from None
    if not header_seen:
        raise _fail(path, f"empty file; expected the header {','.join(CSV_HEADER)}", 1)
    if buf:
        parts.append(_csv_chunk(path, buf, buf_lines))
    if not parts:
        raise _fail(path, "no transition rows after the header (end of file)", prev + 1)
    return tuple(np.concatenate(col) for col in zip(*parts))


def _csv_chunk(path: PathLike, rows: list[list[str]], lines: array):
    """Convert a chunk of rows in bulk; on any doubt, redo it field by field for the exact error.

    The bulk path uses ``int`` and ``float``, which accept a superset of the documented syntax
    (underscores, non-ASCII digits, ``nan``/``inf``, signs on ids); any such row is sent to the
    strict per-field path, which either accepts it (e.g. an id written ``3.0``) or names it.
    """
    n = len(rows)
    line_arr = np.frombuffer(lines, dtype=np.int64).copy()
    try:
        cols = list(zip(*rows))
        for col in cols:
            joined = "".join(col)
            if not joined.isascii() or "_" in joined:
                raise ValueError
        ids = [np.fromiter(map(int, cols[k]), np.int64, n) for k in range(3)]
        p = np.fromiter(map(float, cols[3]), np.float64, n)
        r = np.fromiter(map(float, cols[4]), np.float64, n)
        if min(x.min() for x in ids) < 0 or not np.isfinite(p).all() or not np.isfinite(r).all() or p.min() < 0:
            raise ValueError
        return ids[0], ids[1], ids[2], p, r, line_arr
    except (ValueError, OverflowError):
        pass
    out = np.empty((n, 5), dtype=object)
    for i, (row, line) in enumerate(zip(rows, lines)):
        k = 0
        try:
            vals = []
            for k in range(3):
                vals.append(_csv_id(row[k]))
            for k in (3, 4):
                vals.append(_csv_number(row[k]))
        except _FieldError as e:
            raise _fail(path, f"{CSV_HEADER[k]} {e}", line) from None
        if vals[3] < 0:
            raise _fail(path, f"probability {row[3].strip()} is negative; probabilities must be >= 0", line)
        out[i] = vals
    return (
        out[:, 0].astype(np.int64),
        out[:, 1].astype(np.int64),
        out[:, 2].astype(np.int64),
        out[:, 3].astype(np.float64),
        out[:, 4].astype(np.float64),
        line_arr,
    )



def _lines_text(lines: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(str(int(x)) for x in lines[:limit])
    word = "line" if lines.size == 1 else "lines"
    more = f", ... ({lines.size} rows)" if lines.size > limit else ""
    return f"{word} {shown}{more}"


def load_csv(
    path: PathLike,
    gamma: float,
    *,
    S: int | None = None,
    A: int | None = None,
    sparse: bool | None = None,
    atol: float = ROW_SUM_ATOL,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
) -> TabularMDP:
    r"""Read craam2-style CSV transition rows ``idstatefrom,idaction,idstateto,probability,reward``.

    The format, as written by craam2 (``examples/R/*/*_mdp.csv``) and by :func:`save_csv`:

    - UTF-8 text (an initial byte-order mark is allowed), parsed with :mod:`csv` (comma
      separated, fields optionally double-quoted, ``\n`` or ``\r\n`` line ends);
    - the first line is the header ``idstatefrom,idaction,idstateto,probability,reward`` (the
      names may be quoted, e.g. ``"idstatefrom","idaction",...``; spaces around a name are
      ignored; nothing else may differ);
    - then one row per transition: state id ``s``, action id ``a``, next-state id ``s'`` (0-based
      integers, written ``3`` or ``3.0``), probability ``p >= 0`` and reward ``r(s, a, s')``
      (finite decimals such as ``0.25``, ``-3`` or ``1e-3``; ``NaN``, ``inf`` and ``NA`` are
      refused).  Spaces around a field are ignored; blank lines are skipped.

    The model is built with the semantics of :meth:`TabularMDP.from_transitions`:

    - ``S`` is one more than the largest state id (``idstatefrom`` or ``idstateto``) and ``A``
      one more than the largest action id, unless given;
    - ``(s, a)`` pairs with no row are masked out (``action_mask[s, a] = False``); every state
      needs at least one row;
    - repeated ``(s, a, s')`` rows add their probabilities, and their rewards merge into the
      probability-weighted mean (so ``R`` and ``E[r | s, a, s']`` stay exact);
    - the probabilities of every ``(s, a)`` that appears must sum to 1 within ``atol``;
    - ``R_sas[s, a, s'] = r`` (``0`` where the total probability is 0) and
      ``R[s, a] = sum_s' P[s, a, s'] R_sas[s, a, s']``, folded by :class:`TabularMDP`.

    One difference: where ``(s, a, s')`` appears once, ``R_sas`` holds ``r`` itself, whereas
    ``from_transitions`` stores ``(p * r) / p``, which can differ from ``r`` in the last bit.
    So ``P`` and ``R_sas`` written by :func:`save_csv` come back bit for bit.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.
    gamma : float
        Discount factor in ``[0, 1]`` (the file does not store one).
    S, A : int, optional
        Numbers of states and actions, when larger than the ids imply (e.g. trailing actions
        masked in every state).  Ids must be below them.
    sparse : bool, optional
        Store ``P`` as CSR (True) or dense (False); by default dense when ``S*A*S`` is at most
        4e6 entries, as in :meth:`TabularMDP.from_transitions`.
    atol : float, default 1e-8
        Tolerance on the probability sums.
    max_bytes : int or None, default DEFAULT_MAX_BYTES (1 GiB)
        Largest accepted file size in bytes (checked before reading), and largest size of the
        arrays the ids may make the loader allocate (about 33 bytes per state-action pair, plus
        ``16 S A S`` bytes when dense; 64 MiB is always allowed), so that a short file with a
        huge id is refused.  ``None`` disables both limits (for trusted files only).

    Returns
    -------
    TabularMDP
        ``name`` is the file's stem; ``mu0`` uniform; no labels.

    Raises
    ------
    ModelFileError
        With the file name and 1-based line number (header = line 1) for: an empty file; a
        wrong header; a row without exactly 5 fields; a non-numeric field; a negative or
        non-integer id; an id beyond given ``S``/``A``; a negative, NaN or infinite probability;
        a non-finite reward; broken CSV quoting or a NUL byte; invalid UTF-8; no transition
        rows.  A state with no row (naming it and the line of the largest id); ``(s, a)``
        probabilities that do not sum to 1 (naming the pair, the sum and the lines of its
        rows); ids implying arrays larger than ``max_bytes`` (naming the line of the largest
        action id); a file larger than ``max_bytes`` (no line).
    InvalidArgumentError
        ``gamma`` missing or outside ``[0, 1]``; ``S``, ``A``, ``atol`` or ``max_bytes`` invalid.
    OSError
        If the file cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "two.csv")
    >>> _ = open(p, "w").write("idstatefrom,idaction,idstateto,probability,reward\n"
    ...                        "0,0,1,1,0\n1,0,1,0.5,1\n1,0,0,0.5,0\n")
    >>> m = load_csv(p, gamma=0.9)
    >>> (m.S, m.A), m.R.tolist()
    ((2, 1), [[0.0], [0.5]])
    """
    if gamma is None:
        raise InvalidArgumentError(f"{_name(path)}: a CSV transition file stores no discount factor; pass gamma=")
    gamma = _check_gamma_arg(gamma)
    S_arg = None if S is None else check_int(S, "S", minimum=1)
    A_arg = None if A is None else check_int(A, "A", minimum=1)
    if sparse is not None and not isinstance(sparse, (bool, np.bool_)):
        raise InvalidArgumentError(f"sparse must be True, False or None, got {sparse!r}")
    atol = _check_atol(atol)
    max_bytes = _check_max_bytes(max_bytes)

    seen = {"S": 0, "A": 0}

    def early_size_check(cols) -> None:
        # the sizes the ids seen so far imply: refuse as soon as they exceed the limit
        cs, ca, ct, _, _, cl = cols
        seen["S"] = max(seen["S"], int(cs.max()) + 1, int(ct.max()) + 1)
        seen["A"] = max(seen["A"], int(ca.max()) + 1)
        n_s = seen["S"] if S_arg is None else S_arg
        n_a = seen["A"] if A_arg is None else A_arg
        dense_ = (n_s * n_a * n_s <= DENSE_LIMIT) if sparse is None else not bool(sparse)
        k_ = int(np.argmax(np.maximum(cs, ct)))
        _check_alloc(path, 33 * n_s * n_a + (16 * n_s * n_a * n_s if dense_ else 0),
                     f"a model with S={n_s} and A={n_a} (ids up to line {int(cl[k_])})", max_bytes)

    s, a, t, p, r, lines = _read_csv_rows(path, _text_lines(path, max_bytes), early_size_check)
    names = ("idstatefrom", "idaction", "idstateto")

    # sizes: given S/A must cover every id; implied S must have a row for every state
    for arr, lim, nm in ((s, S_arg, names[0]), (t, S_arg, names[2]), (a, A_arg, names[1])):
        if lim is not None and arr.max() >= lim:
            k = int(np.flatnonzero(arr >= lim)[0])
            which = "A" if nm == "idaction" else "S"
            raise _fail(path, f"{nm} {int(arr[k])} is out of range for {which}={lim}", int(lines[k]))
    n_states = int(max(s.max(), t.max())) + 1 if S_arg is None else S_arg
    n_actions = int(a.max()) + 1 if A_arg is None else A_arg
    has_row = np.zeros(n_states, dtype=bool) if n_states <= s.size or S_arg is not None else None
    if has_row is None:
        # more states than rows: some state certainly has no row; find the first without allocating S
        present = np.unique(s)
        gaps = np.flatnonzero(present != np.arange(present.size))
        missing = int(present.size if gaps.size == 0 else gaps[0])
    else:
        has_row[s] = True
        missing = int(np.flatnonzero(~has_row)[0]) if not has_row.all() else -1
    if missing >= 0:
        if S_arg is not None:
            hint = f"S={S_arg} was given"
        else:
            big = s if s.max() >= t.max() else t
            k = int(np.argmax(big))
            col = names[0] if big is s else names[2]
            hint = f"the ids go up to {n_states - 1} ({col} at line {int(lines[k])})"
        raise _fail(
            path,
            f"state {missing} has no transition row (no row has idstatefrom = {missing}) but {hint}; "
            "every state needs at least one action",
        )
    n_pairs = n_states * n_actions
    dense = (n_pairs * n_states <= DENSE_LIMIT) if sparse is None else not bool(sparse)
    k = int(np.argmax(a))
    _check_alloc(
        path,
        33 * n_pairs + (16 * n_pairs * n_states if dense else 0),
        f"a model with S={n_states} and A={n_actions} (largest action id {int(a[k])} at line {int(lines[k])})",
        max_bytes,
    )

    # probability sums, with the rows involved (TabularMDP checks again, without line numbers)
    row = s * n_actions + a
    sums = np.bincount(row, weights=p, minlength=n_pairs)
    present_pairs = np.zeros(n_pairs, dtype=bool)
    present_pairs[row] = True
    bad = present_pairs & (np.abs(sums - 1.0) > atol)
    if bad.any():
        bad_rows = bad[row]
        k = int(np.flatnonzero(bad_rows)[0])  # the earliest line of a bad pair
        pr = int(row[k])
        ps, pa = divmod(pr, n_actions)
        n_bad = int(bad.sum())
        more = f" ({n_bad - 1} more state-action pairs are off too)" if n_bad > 1 else ""
        raise _fail(
            path,
            f"the probabilities of state {ps}, action {pa} (P[{ps}, {pa}, :]) sum to {float(sums[pr])!r}, "
            f"expected 1 within atol={atol:g}; its rows are on {_lines_text(lines[row == pr])}{more}",
        )

    mdp_kwargs = dict(
        gamma=gamma,
        action_mask=present_pairs.reshape(n_states, n_actions),
        name=Path(os.fspath(path)).stem,
        atol=atol,
    )
    P, R_sas = _csr_from_rows(row, t, p, r, n_pairs, n_states)
    try:
        if dense:
            shape = (n_states, n_actions, n_states)
            return TabularMDP(P=_csr_to_dense(P, shape), R=None, R_sas=_csr_to_dense(R_sas, shape), **mdp_kwargs)
        return TabularMDP(P=P, R=None, R_sas=R_sas, **mdp_kwargs)
    except InvalidMDPError as e:
        raise _wrap_model_error(path, e) from None


def _csr_to_dense(M, shape: tuple[int, int, int]) -> np.ndarray:
    """Dense copy by assignment (``toarray`` adds into zeros, which turns ``-0.0`` into ``0.0``)."""
    out = np.zeros(M.shape)
    rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    out[rows, M.indices] = M.data
    return out.reshape(shape)


def _csr_from_rows(row, t, p, r, n_rows: int, n_cols: int):
    """CSR ``P`` and ``R_sas`` from transition rows; duplicates summed / probability-averaged.

    Entries keep the order of the file within a duplicate group, so the sums are reproducible.
    Where ``(row, t)`` occurs once, ``R_sas`` is ``r`` itself (exact).
    """
    order = np.lexsort((t, row))  # stable: file order within equal keys
    rs, ts, ps, rw = row[order], t[order], p[order], r[order]
    new = np.ones(rs.size, dtype=bool)
    new[1:] = (rs[1:] != rs[:-1]) | (ts[1:] != ts[:-1])
    first = np.flatnonzero(new)
    group = np.cumsum(new) - 1
    count = np.bincount(group)
    psum = np.bincount(group, weights=ps)
    if np.all(count == 1):
        pval = ps
        rval = np.where(ps > 0, rw, 0.0)
    else:
        prsum = np.bincount(group, weights=ps * rw)
        pval = np.where(count == 1, ps[first], psum)
        with np.errstate(invalid="ignore", divide="ignore"):
            merged = prsum / np.where(psum > 0, psum, 1.0)
        rval = np.where(pval > 0, np.where(count == 1, rw[first], merged), 0.0)
    ucol = ts[first]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rs[first], minlength=n_rows), out=indptr[1:])
    P = sp.csr_matrix((pval, ucol, indptr), shape=(n_rows, n_cols))
    R_sas = sp.csr_matrix((rval, ucol.copy(), indptr.copy()), shape=(n_rows, n_cols))
    return P, R_sas

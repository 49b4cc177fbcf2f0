"""Issue 13 regression tests for model files and result files (mdpkit.io).

Items 3 (a CSV whose rewards overflow the expected reward), 5 (FIFOs and other non-regular
model files must not hang), 6 (``atomic_write`` never replaces a non-regular target and cleans
up on SIGTERM) and 8 (``load_npz`` lets no LZMA/TypeError escape).  The oracle is the error
type (:class:`~mdpkit.ModelFileError` / :class:`~mdpkit.InvalidArgumentError`), the state of
the file system afterwards, and, for the hang, a watchdog thread.
"""

from __future__ import annotations

import io as _stdio
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import zipfile

import numpy as np
import pytest

import mdpkit.io as mio
from mdpkit import InvalidArgumentError, ModelFileError, TabularMDP

BIG = "1.7976931348623157e308"  # the largest float64


def _tiny():
    return TabularMDP(np.array([[[0.5, 0.5]], [[0.0, 1.0]]]), np.array([[1.0], [0.0]]), 0.9)


# ----------------------------------------------------------------------------- item 3
def test_csv_rewards_overflowing_the_expected_reward_are_refused(tmp_path):
    # probabilities 0.5 and 0.5 + 1e-10 (within atol) times the largest float64 sum to inf
    p = tmp_path / "big.csv"
    p.write_text(f"idstatefrom,idaction,idstateto,probability,reward\n0,0,0,0.5,{BIG}\n"
                 f"0,0,1,0.5000000001,{BIG}\n1,0,1,1,0\n")
    with pytest.raises(ModelFileError, match="big.csv.*(overflow|finite)"):
        mio.load_csv(p, 0.9)


def test_csv_huge_but_finite_rewards_load_and_solve_is_refused(tmp_path):
    from mdpkit.solvers import solve

    p = tmp_path / "huge.csv"
    p.write_text(f"idstatefrom,idaction,idstateto,probability,reward\n0,0,1,1,{BIG}\n1,0,1,1,0\n")
    m = mio.load_csv(p, 0.9)
    assert np.isfinite(m.R).all()
    with pytest.raises(ValueError, match="overflow"):
        solve(m)


# ----------------------------------------------------------------------------- item 5
def _call_with_watchdog(fn, fifo: str, seconds: float = 10.0):
    """Run ``fn`` in a thread; if it is still blocked after ``seconds``, unblock it by opening the
    FIFO for writing and fail."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - reported below
            out["error"] = e

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(seconds)
    if th.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        th.join(5)
        pytest.fail(f"{fn} blocked on a FIFO for {seconds} s")
    return out


@pytest.mark.parametrize("loader", ["load", "load_json", "load_npz", "load_csv"])
def test_fifo_model_file_is_refused_without_blocking(tmp_path, loader):
    fifo = str(tmp_path / "model.json")
    os.mkfifo(fifo)
    fn = getattr(mio, loader)
    args = (fifo, 0.9) if loader == "load_csv" else (fifo,)
    out = _call_with_watchdog(lambda: fn(*args), fifo)
    assert isinstance(out.get("error"), ModelFileError), out
    assert "FIFO" in str(out["error"])


def test_symlink_to_fifo_and_directory_are_refused(tmp_path):
    fifo = str(tmp_path / "f")
    os.mkfifo(fifo)
    link = tmp_path / "m.npz"
    link.symlink_to(fifo)
    out = _call_with_watchdog(lambda: mio.load(str(link)), fifo)
    assert isinstance(out.get("error"), ModelFileError) and "FIFO" in str(out["error"])
    d = tmp_path / "dir.json"
    d.mkdir()
    with pytest.raises(ModelFileError, match="directory"):
        mio.load(d)


@pytest.mark.parametrize("bad", [None, 3, b"", "", object()])
def test_load_bad_path_types(bad):
    with pytest.raises(InvalidArgumentError):
        mio.load(bad)


# ----------------------------------------------------------------------------- item 6
def test_atomic_write_refuses_fifo_and_symlink_to_fifo(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    with pytest.raises(InvalidArgumentError, match="FIFO"):
        mio.atomic_write(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    with pytest.raises(InvalidArgumentError, match="FIFO"):
        mio.atomic_write(link, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.path.islink(link)
    assert sorted(os.listdir(tmp_path)) == ["link.json", "out.json"]  # no temporary file left


def test_atomic_write_refuses_directory_and_empty_path(tmp_path):
    with pytest.raises(InvalidArgumentError, match="directory"):
        mio.atomic_write(tmp_path, "x")
    with pytest.raises(InvalidArgumentError, match="empty"):
        mio.atomic_write("", "x")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_atomic_write_refuses_character_device(tmp_path):
    # a private copy of /dev/full (major 1, minor 7): the issue saw /dev/full itself replaced
    dev = tmp_path / "full"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    with pytest.raises(InvalidArgumentError, match="character device"):
        mio.atomic_write(dev, b"x")
    with pytest.raises(InvalidArgumentError, match="character device"):
        mio.save(_tiny(), str(dev) + "", format="json")
    assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_atomic_write_still_follows_symlink_to_regular_file(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    mio.atomic_write(link, "new")
    assert target.read_text() == "new" and os.path.islink(link)


def test_atomic_write_sigterm_leaves_no_temp_file(tmp_path):
    # the writer sends SIGTERM to its own process half way through the write
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous")
    code = textwrap.dedent(f"""
        import os, signal
        from mdpkit.io import atomic_write
        def writer(f):
            f.write(b"partial" * 1000)
            f.flush()
            os.kill(os.getpid(), signal.SIGTERM)
            f.write(b"never")
        atomic_write({str(target)!r}, writer)
        print("not reached")
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == -signal.SIGTERM, (r.returncode, r.stderr[-2000:])
    assert "not reached" not in r.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "numba") == ["out.bin"]
    assert target.read_bytes() == b"previous"


def test_atomic_write_restores_sigterm_handler(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    mio.atomic_write(tmp_path / "a.txt", "x")
    assert signal.getsignal(signal.SIGTERM) is before


# ----------------------------------------------------------------------------- item 8
def _npz_bytes(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buf = _stdio.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for k, v in members.items():
            zf.writestr(k, v)
    return buf.getvalue()


def _npy(arr) -> bytes:
    b = _stdio.BytesIO()
    np.save(b, arr)
    return b.getvalue()


def test_load_npz_corrupt_lzma_member(tmp_path):
    good = _npz_bytes({"format_version.npy": _npy(np.array(1)), "layout.npy": _npy(np.array("dense"))},
                      compression=zipfile.ZIP_LZMA)
    data = bytearray(good)
    # corrupt the compressed stream of the first member (after its 30-byte local header + name)
    start = 30 + len("format_version.npy") + 4
    for i in range(start + 5, start + 40):
        data[i] ^= 0x5A
    p = tmp_path / "lzma.npz"
    p.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="lzma.npz"):
        mio.load_npz(p)


def test_load_npz_bool_shape_header(tmp_path):
    arr = _npy(np.zeros(1))
    header_len = int.from_bytes(arr[8:10], "little")
    header = arr[10:10 + header_len].decode("latin1").replace("'shape': (1,)", "'shape': (True,)")
    header = header.ljust(header_len - 1) + "\n"
    bad = arr[:10] + header.encode("latin1") + arr[10 + header_len:]
    p = tmp_path / "bool.npz"
    p.write_bytes(_npz_bytes({"format_version.npy": _npy(np.array(1)), "mu0.npy": bad}))
    with pytest.raises(ModelFileError, match="bool.npz"):
        mio.load_npz(p)


def test_cli_corrupt_npz_exits_2_with_one_line(tmp_path, capsys):
    from mdpkit.cli import main

    p = tmp_path / "bool.npz"
    arr = _npy(np.zeros(1))
    header_len = int.from_bytes(arr[8:10], "little")
    header = arr[10:10 + header_len].decode("latin1").replace("'shape': (1,)", "'shape': (True,)")
    p.write_bytes(_npz_bytes({"mu0.npy": arr[:10] + header.ljust(header_len - 1).encode("latin1") + b"\n"}))
    assert main(["solve", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mdpkit: error:") and err.count("\n") == 1


@pytest.mark.parametrize("atol", [np.nan, np.inf, -1.0, None, 0.5])
def test_loaders_validate_atol(tmp_path, atol):
    p = tmp_path / "m.json"
    mio.save(_tiny(), p)
    with pytest.raises(InvalidArgumentError, match="atol"):
        mio.load(p, atol=atol)


# ----------------------------------------------------------------------------- item 7: peak memory
def _peak(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_small_file_load_does_not_allocate_max_bytes(tmp_path):
    # f.read(max_bytes + 1) used to allocate a 1 GiB buffer for every file, whatever its size
    for fmt in ("json", "csv", "npz"):
        p = tmp_path / f"m.{fmt}"
        mio.save(_tiny(), p)
        _, peak = _peak(lambda: mio.load(p, gamma=0.9) if fmt == "csv" else mio.load(p))
        assert peak < 8 * 2**20, (fmt, peak)


def test_peak_memory_of_dense_loads_is_about_twice_the_arrays(tmp_path):
    # a dense model with 16 MB of P: .npz and JSON peak at about 2x the declared arrays
    S, A = 500, 8
    P = np.zeros((S, A, S))
    P[np.arange(S), :, np.arange(S)] = 1.0
    m = TabularMDP(P, np.zeros((S, A)), 0.9)
    for fmt in ("npz", "json"):
        p = tmp_path / f"d.{fmt}"
        mio.save(m, p)
        out, peak = _peak(lambda: mio.load(p))
        assert out.S == S and not out.is_sparse
        assert peak <= 2.5 * P.nbytes + 12 * p.stat().st_size, (fmt, peak / P.nbytes)


def test_csv_huge_ids_refused_after_the_first_chunk(tmp_path):
    # a huge id on line 3 and a malformed row near the end: the size error comes first, i.e. the
    # file is refused after its first chunk of rows instead of after parsing everything
    rows = ["0,0,0,1,0"] * 40_000
    rows[1] = "1000000000000,0,0,1,0"
    rows[-1] = "x,y"
    p = tmp_path / "huge_ids.csv"
    p.write_text("idstatefrom,idaction,idstateto,probability,reward\n" + "\n".join(rows) + "\n")
    with pytest.raises(ModelFileError, match="S=1000000000001.*would need about"):
        mio.load_csv(p, 0.9)

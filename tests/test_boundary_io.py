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


# ----------------------------------------------------------------------------- item 7, continued:
# JSON sizes checked before the entry lists are parsed; JSON entries and CSV rows converted in
# chunks, so the peak is a small multiple of the file (before: about 7x the file in RSS for both).
def _dense_random(S: int, A: int, seed: int = 0) -> TabularMDP:
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    return TabularMDP(P, rng.random((S, A)), 0.9)


def _json_header(S: int, A: int) -> str:
    return (f'{{"format": "mdpkit-mdp", "version": 1, "name": "", "S": {S}, "A": {A}, "gamma": 0.9, '
            f'"layout": "dense", "P": ')


def test_json_oversized_dense_model_refused_before_its_entries_are_parsed(tmp_path):
    # S = 5000 dense needs 200 MB, above the 64 MiB that max_bytes=10**7 allows; 100k plain
    # entries follow (json would make ~12 MB of lists of them).  Oracle: the same file with P = [] (a control); the entries may add at most
    # their bytes and text (2x their length) to the peak, not their parsed lists (about 8x)
    S = 5000
    rest = f', "R": [{", ".join(["[0.0]"] * S)}], "action_mask": [{", ".join(["[true]"] * S)}], ' \
           f'"mu0": [{", ".join(["5e-05"] * S)}]}}'
    entries = "[" + ", ".join(["[0, 0, 1, 0.5]"] * 100_000) + "]"
    peaks = {}
    for name, P_text in (("control", "[]"), ("big", entries)):
        p = tmp_path / f"{name}.json"
        p.write_text(_json_header(S, 1) + P_text + rest.replace("5e-05", "0.0002"))

        def run():
            with pytest.raises(ModelFileError, match=r"S=5000, A=1 would need about 200,000,000 bytes"):
                mio.load_json(p, max_bytes=10**7)

        peaks[name] = _peak(run)[1]
    assert peaks["big"] - peaks["control"] <= 2.5 * len(entries), (peaks, len(entries))


def test_json_oversized_dense_model_with_unusual_entries_is_refused_at_once(tmp_path):
    # entries not in plain form cannot be skipped without parsing: the size error comes at once,
    # not the (later) complaint about the string in entry 1
    p = tmp_path / "big_odd.json"
    p.write_text(_json_header(20_000, 1) + '[[0, 0, 1, 0.5], [0, 0, "x", 0.5]], "R": [[0.0]], '
                 '"action_mask": [[true]], "mu0": [1.0]}')
    with pytest.raises(ModelFileError, match="would need about"):
        mio.load_json(p)


def test_json_size_error_keeps_the_order_of_the_checks(tmp_path):
    # R's length is still checked before the declared dense size (the small members come first)
    p = tmp_path / "r_first.json"
    p.write_text(_json_header(20_000, 1) + '[[0, 0, 1, 0.5]], "R": [[0.0], [1.0]], "action_mask": [[true]], '
                 '"mu0": [1.0]}')
    with pytest.raises(ModelFileError, match=r"R: expected a list of length 20000, got length 2"):
        mio.load_json(p)


_ODD_JSON_ENTRIES = [
    # (text of the P member, the entries it means) -- valid JSON written in unusual ways
    ("[ [0,0,1,1E-1] ,\n\t[0 , 0 , 0 , 9e-1],[1,0,1,1]\r\n]", [(0, 0, 1, 0.1), (0, 0, 0, 0.9), (1, 0, 1, 1.0)]),
    ("[[-0, 0, 0, 1], [1, 0, 0, 0.25], [1, 0, 1, 0.75]]", [(0, 0, 0, 1.0), (1, 0, 0, 0.25), (1, 0, 1, 0.75)]),
    ('[[0, 0, 0, 1.0], [1, 0, 1, 1.0], [1, 0, 0, 0.0]]', [(0, 0, 0, 1.0), (1, 0, 1, 1.0), (1, 0, 0, 0.0)]),
    ('[[0, 0, 0, 5e-324], [0, 0, 1, 1.0], [1, 0, 0, 1]]', [(0, 0, 0, 5e-324), (0, 0, 1, 1.0), (1, 0, 0, 1.0)]),
]


def _two_state_json(P_text: str) -> str:
    return (_json_header(2, 1).replace('"dense"', '"csr"') + P_text +
            ', "R": [[0.0], [1.0]], "action_mask": [[true], [true]], "mu0": [0.5, 0.5]}')


@pytest.mark.parametrize("P_text, entries", _ODD_JSON_ENTRIES)
def test_json_entries_read_exactly_whatever_the_layout_of_the_text(P_text, entries, tmp_path):
    # oracle: the entries as json itself reads them, placed by hand into a CSR matrix
    assert [tuple(e) for e in __import__("json").loads(P_text)] == [tuple(e) for e in entries]
    p = tmp_path / "odd.json"
    p.write_text(_two_state_json(P_text))
    m = mio.load_json(p)
    dense = np.zeros((2, 2))
    for s, a, t, x in entries:
        dense[s, t] = x
    assert np.array_equal(m.P.toarray(), dense)
    stored = {(int(r), int(c)): float(v) for r, c, v in zip(*_csr_entries(m.P))}
    assert stored == {(s, t): float(x) for s, a, t, x in entries}  # explicit zeros kept too


def _csr_entries(M):
    rows = np.repeat(np.arange(M.shape[0]), np.diff(M.indptr))
    return rows, M.indices, M.data


@pytest.mark.parametrize("P_text, message", [
    ("[[0, 0, 0, 1], [1, 0, 9007199254740993, 1]]", r"P\[1\]\[2\]: state id 9007199254740993 is not in \[0, 2\)"),
    ("[[0, 0, 0, 1], [1, 0, 1, 1e400]]", r"P\[1\]\[3\]: number Infinity is outside the float64 range"),
    ("[[0, 0, 0, 1], [1, 0, 1, -0.5], [1, 0, 0, 1.5]]", r"P\[1\]\[3\]: probability -0.5 is negative"),
    ("[[0, 0, 0, 1], [1, 1, 1, 1]]", r"P\[1\]\[1\]: action id 1 is not in \[0, 1\)"),
    ("[[0, 0, 0, 1], [1, 0, 2, 1]]", r"P\[1\]\[2\]: state id 2 is not in \[0, 2\)"),
    ("[[0, 0, 0, 1], [1, 0, 1, NaN]]", r"P\[1\]\[3\]: expected a finite number, got NaN"),
    ("[[0, 0, 0, 1], [1, 0, 1, 1], [1, 0, 1, 0]]", r"P\[2\]: entry \(1, 0, 1\) already given at P\[1\]"),
])
def test_json_entry_errors_name_the_entry(P_text, message, tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(_two_state_json(P_text))
    with pytest.raises(ModelFileError, match=message):
        mio.load_json(p)


# measured peaks: JSON 3.1x the file (its bytes and text, 40 bytes an entry, the dense arrays;
# json.loads alone took 3.1x and its lists were converted on top: 4.4x); CSV 3.4x (about 160
# bytes a row; the whole text and a 32768-row chunk of strings were held before: 8-10x)
@pytest.mark.parametrize("fmt, S, A, ratio", [("json", 120, 4, 3.6), ("csv", 100, 3, 4.0)])
def test_peak_memory_of_a_text_load_is_a_few_times_the_file(fmt, S, A, ratio, tmp_path):
    m = _dense_random(S, A)
    p = tmp_path / f"m.{fmt}"
    mio.save(m, p)
    out, peak = _peak(lambda: mio.load(p, gamma=0.9))
    assert np.array_equal(out.P, m.P)  # read exactly (JSON: R too; CSV stores R_sas, R is refolded)
    assert fmt == "csv" or np.array_equal(out.R, m.R)
    assert peak <= ratio * p.stat().st_size, peak / p.stat().st_size


def test_csv_streaming_keeps_line_numbers_and_line_ends_across_blocks(tmp_path):
    # > 2 blocks of rows with \r\n ends (blocks are 256 KiB): the same model as with \n ends,
    # and an error on the last line names that line
    m = _dense_random(60, 3, seed=1)
    p = tmp_path / "m.csv"
    mio.save_csv(m, p)
    body = p.read_text().splitlines()
    reps = 1 + (600 << 10) // len("\n".join(body))
    # repeat the rows with the probabilities split into equal parts: the same model
    header, rows = body[0], [r.split(",") for r in body[1:]]
    parts = [",".join(r[:3] + [repr(float(r[3]) / reps), r[4]]) for _ in range(reps) for r in rows]
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(("\r\n".join([header] + parts) + "\r\n").encode())
    assert crlf.stat().st_size > 600 << 10
    got = mio.load_csv(crlf, 0.9, atol=1e-6)
    lf = tmp_path / "lf.csv"
    lf.write_bytes(("\n".join([header] + parts) + "\n").encode())
    ref = mio.load_csv(lf, 0.9, atol=1e-6)
    assert np.array_equal(got.P, ref.P) and np.array_equal(got.R, ref.R)
    np.testing.assert_allclose(got.P, m.P, atol=1e-12)
    n_lines = 1 + len(parts)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(("\r\n".join([header] + parts[:-1] + ["0,0,0,x,0"]) + "\r\n").encode())
    with pytest.raises(ModelFileError, match=rf"line {n_lines}: probability 'x' is not a number"):
        mio.load_csv(bad, 0.9, atol=1e-6)
    utf = tmp_path / "utf.csv"
    utf.write_bytes(("\n".join([header] + parts[:-1]) + "\n").encode() + b"0,0,0,1,\xff\n")
    with pytest.raises(ModelFileError, match=rf"line {n_lines}: not valid UTF-8"):
        mio.load_csv(utf, 0.9, atol=1e-6)


def test_csv_line_longer_than_a_block_is_read_whole(tmp_path):
    # one 600 KiB line (no line end for two blocks): read once, named as line 2 (csv's own
    # field-size limit, 128 KiB, is what refuses it)
    p = tmp_path / "long.csv"
    p.write_bytes(b"idstatefrom,idaction,idstateto,probability,reward\n0,0,0,1," + b"1" * (600 << 10) + b"\n")
    with pytest.raises(ModelFileError, match=r"line 2: malformed CSV: field larger than field limit"):
        mio.load_csv(p, 0.9)

"""Issue 13 regression tests for the command line: every bad input exits 2 with one line.

Items 3 (nan never printed as a converged answer), 5 (FIFO model files), 6 (``--out`` targets
that are not regular files), 9 (size limits with the memory estimate), 10 (nan in options) and
14 (argparse errors on one line, ``--out ""``, ``verify --seed -1``).  ``main`` is called in
process (``capsys``), one case through a real subprocess to check the exit status end to end.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from mdpkit.cli import main

BIG = "1.7976931348623157e308"


def _one_line_error(capsys, argv, needle=None):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (code, err)
    assert err.startswith("mdpkit: error:") and err.count("\n") == 1, err
    if needle is not None:
        assert needle in err, err
    return err


# ----------------------------------------------------------------------------- item 14: argparse
@pytest.mark.parametrize(
    "argv",
    [
        ["solve"],
        ["solve", "gridworld", "--gamma", "abc"],
        ["solve", "gridworld", "--max-iter", "1.5"],
        ["nonsense"],
        [],
        ["list", "everything"],
        ["verify", "--seed", "x"],
    ],
)
def test_argparse_errors_are_one_line_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("mdpkit: error:") and err.count("\n") == 1, err


def test_argparse_error_in_a_real_process(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    r = subprocess.run([sys.executable, "-m", "mdpkit.cli", "solve", "gridworld", "--gamma", "x"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "invalid float value" in r.stderr


def test_out_empty_string_is_refused(capsys):
    _one_line_error(capsys, ["solve", "gridworld", "--out", ""], "empty")


def test_verify_negative_seed_exits_2(capsys):
    _one_line_error(capsys, ["verify", "--seed", "-1", "--quiet"], "--seed")


# ----------------------------------------------------------------------------- item 3: nan
def test_overflowing_csv_exits_2_not_nan(tmp_path, capsys):
    p = tmp_path / "big.csv"
    p.write_text(f"idstatefrom,idaction,idstateto,probability,reward\n0,0,0,0.5,{BIG}\n"
                 f"0,0,1,0.5000000001,{BIG}\n1,0,1,1,0\n")
    _one_line_error(capsys, ["solve", str(p), "--gamma", "0.9"])
    out = capsys.readouterr().out
    assert "nan" not in out


def test_huge_finite_rewards_exit_2_not_nan(tmp_path, capsys):
    p = tmp_path / "huge.csv"
    p.write_text(f"idstatefrom,idaction,idstateto,probability,reward\n0,0,1,1,{BIG}\n1,0,1,1,0\n")
    for method in (None, "vi", "pi", "mpi", "gs"):
        argv = ["solve", str(p), "--gamma", "0.9"] + (["--method", method] if method else [])
        _one_line_error(capsys, argv, "overflow")
    _one_line_error(capsys, ["solve", str(p), "--gamma", "1", "--horizon", "3"], "overflow")


# ----------------------------------------------------------------------------- item 5: FIFO
def test_fifo_model_exits_2_without_hanging(tmp_path, capsys):
    fifo = str(tmp_path / "f.json")
    os.mkfifo(fifo)
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("code", main(["solve", fifo])), daemon=True)
    th.start()
    th.join(20)
    if th.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("mdpkit solve blocked on a FIFO")
    assert out["code"] == 2
    err = capsys.readouterr().err
    assert "FIFO" in err and err.count("\n") == 1


# ----------------------------------------------------------------------------- item 6: --out
def test_out_fifo_and_symlink_to_fifo_are_refused_before_solving(tmp_path, capsys):
    fifo = tmp_path / "res.json"
    os.mkfifo(fifo)
    _one_line_error(capsys, ["solve", "gridworld", "--out", str(fifo)], "not a regular file")
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    _one_line_error(capsys, ["solve", "gridworld", "--out", str(link)], "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    _one_line_error(capsys, ["solve", "gridworld", "--out", str(tmp_path)], "not a regular file")
    _one_line_error(capsys, ["solve", "gridworld", "--out", str(tmp_path / "no" / "r.json")], "does not exist")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_out_device_is_refused(tmp_path, capsys):
    dev = tmp_path / "full"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    _one_line_error(capsys, ["solve", "gridworld", "--out", str(dev)], "not a regular file")
    assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_out_regular_file_still_written(tmp_path, capsys):
    out = tmp_path / "r.json"
    out.write_text("old")
    assert main(["solve", "gridworld", "--out", str(out)]) == 0
    assert '"v"' in out.read_text()


# ----------------------------------------------------------------------------- item 9: sizes
@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "garnet:S=1000000000000,A=4,b=8"],
        ["solve", "gambler:goal=10000000"],
        ["solve", "jacks_car_rental:max_cars=100000"],
        ["solve", "forest:S=1000000000"],
        ["solve", "inventory:max_inventory=100000"],
        ["solve", "gridworld", "--horizon", "1000000000"],
        ["solve", "gridworld", "--max-iter", "10000000000", "--method", "vi"],
        ["solve", "cvar_counterexample", "--objective", "cvar:0.5", "--horizon", "1000000000"],
    ],
)
def test_oversized_requests_exit_2_with_the_estimate(capsys, argv):
    err = _one_line_error(capsys, argv, "needs about")
    assert "MDPKIT_MAX_MEMORY" in err


def test_max_memory_option_raises_and_lowers_the_limit(capsys, monkeypatch):
    # setenv first, so that monkeypatch restores the original environment whatever main() set
    monkeypatch.setenv("MDPKIT_MAX_MEMORY", "8G")
    monkeypatch.delenv("MDPKIT_MAX_MEMORY")
    _one_line_error(capsys, ["solve", "garnet:S=2000,A=4,b=8", "--max-memory", "1K"], "needs about")
    _one_line_error(capsys, ["solve", "gridworld", "--max-memory", "lots"], "MDPKIT_MAX_MEMORY")
    monkeypatch.delenv("MDPKIT_MAX_MEMORY", raising=False)
    assert main(["solve", "garnet:S=200,A=2,b=3", "--max-memory", "64M"]) == 0


# ----------------------------------------------------------------------------- item 10: nan options
@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "gridworld", "--epsilon", "nan"],
        ["solve", "gridworld", "--epsilon", "-1"],
        ["solve", "gridworld4x4", "--gamma", "0.9", "--epsilon", "nan"],  # deterministic: auto runs PI
        ["solve", "gridworld", "--gamma", "nan"],
        ["solve", "cvar_counterexample", "--objective", "utility:exp:nan", "--horizon", "2"],
        ["solve", "cvar_counterexample", "--objective", "cvar:inf", "--horizon", "2"],
        ["solve", "gridworld", "--method", "pi", "--epsilon", "inf"],
    ],
)
def test_nan_options_exit_2(capsys, argv):
    _one_line_error(capsys, argv)
    assert "nan" not in capsys.readouterr().out.lower()

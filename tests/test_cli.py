"""The command line, run as a user would run it (a subprocess on the installed entry point)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data" / "craam2"


def run(*args, cwd=None):
    exe = shutil.which("mdpkit")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "mdpkit.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=300)


def _value_line(out: str) -> float:
    line = next(l for l in out.splitlines() if l.startswith("value"))
    return float(line.split("=")[1].split()[0])


def test_solve_frozenlake8x8_prints_certified_summary_and_grid():
    r = run("solve", "frozenlake8x8")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "S=65, A=4, gamma=0.99" in out and "converged" in out and "certified" in out
    assert "policy (grid" in out
    # independent route: plain numpy value iteration on the model read from gymnasium itself
    from mdpkit import TabularMDP

    m = TabularMDP.from_gymnasium("FrozenLake-v1", 0.99, make_kwargs=dict(map_name="8x8", is_slippery=True))
    P, R, v = m.P_dense(), m.R, np.zeros(m.S)
    for _ in range(5000):
        v = (R + 0.99 * P @ v).max(axis=1)
    assert _value_line(out) == pytest.approx(v[0], abs=1e-5)


def test_solve_gridworld_matches_sutton_barto_fig_3_5():
    r = run("solve", "gridworld", "--method", "vi", "--epsilon", "1e-9")
    assert r.returncode == 0, r.stderr
    grid = r.stdout.split("values (grid):")[1].split()[:5]
    # Sutton & Barto (2018), Fig. 3.5: optimal values of the first row
    np.testing.assert_allclose([float(x) for x in grid], [22.0, 24.4, 22.0, 19.4, 17.5], atol=0.05)


def test_solve_craam2_csv_and_own_csv(tmp_path):
    csv_in = DATA / "riverswim_mdp.csv"
    r = run("solve", str(csv_in), "--gamma", "0.9", "--method", "pi")
    assert r.returncode == 0, r.stderr
    # independent route: parse the CSV with numpy and solve by policy enumeration (2^6 policies)
    rows = np.loadtxt(csv_in, delimiter=",", skiprows=1)
    S, A = 6, 2
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    for s, a, t, p, rew in rows:
        P[int(s), int(a), int(t)] += p
        R[int(s), int(a)] += p * rew
    best = -np.inf * np.ones(S)
    for code in range(A**S):
        pi = np.array([(code >> k) & 1 for k in range(S)])
        v = np.linalg.solve(np.eye(S) - 0.9 * P[np.arange(S), pi], R[np.arange(S), pi])
        best = np.maximum(best, v)
    assert _value_line(r.stdout) == pytest.approx(best.mean(), rel=1e-9)

    # write the model with mdpkit, solve the written file: same answer
    from mdpkit import io

    m = io.load(csv_in, gamma=0.9)
    out_csv = tmp_path / "written.csv"
    io.save(m, out_csv)
    r2 = run("solve", str(out_csv), "--gamma", "0.9", "--method", "pi", "--out", str(tmp_path / "res.json"))
    assert r2.returncode == 0, r2.stderr
    assert _value_line(r2.stdout) == pytest.approx(best.mean(), rel=1e-9)
    res = json.loads((tmp_path / "res.json").read_text())
    np.testing.assert_allclose(res["v"], best, rtol=1e-9)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # atomic write left no temp file


@pytest.mark.parametrize(
    "args, needle",
    [
        (["solve", "no_such_model"], "unknown"),
        (["solve", "missing.csv"], "no such file"),
        (["solve", "garnet:S=abc"], "S"),
        (["solve", "gridworld", "--method", "bogus"], "unknown method"),
        (["solve", "gridworld", "--gamma", "1.5"], "gamma"),
    ],
)
def test_bad_input_exits_nonzero_with_one_line(args, needle):
    r = run(*args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.strip().splitlines() if l]
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_csv_without_gamma_and_malformed_file(tmp_path):
    r = run("solve", str(DATA / "riverswim_mdp.csv"))
    assert r.returncode == 2 and "gamma" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("idstatefrom,idaction,idstateto,probability,reward\n0,0,0,1,0\n0,1,0,abc,0\n")
    r = run("solve", str(bad), "--gamma", "0.9")
    assert r.returncode == 2 and "line 3" in r.stderr and "Traceback" not in r.stderr


def test_list_models_and_solvers():
    r = run("list", "models")
    assert r.returncode == 0 and "frozenlake8x8" in r.stdout and "garnet" in r.stdout
    r = run("list", "solvers")
    assert r.returncode == 0 and "value_iteration" in r.stdout and "relative_value_iteration" in r.stdout

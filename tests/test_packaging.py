"""The installed wheel exposes mdpkit.solvers and mdpkit.bounds (DESIGN.md: package-dir mapping)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_solvers_and_bounds_inside_mdpkit(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(wheel_dir), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(wheel_dir.glob("mdpkit-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = (
        "import sys; sys.path.insert(0, %r); import mdpkit, mdpkit.solvers, mdpkit.bounds, mdpkit.theory;"
        "assert mdpkit.theory.check('vi-contraction', n_examples=2).ok;"
        "assert mdpkit.__file__.startswith(%r), mdpkit.__file__;"
        "import importlib.util; assert importlib.util.find_spec('solvers') is None;"
        "assert importlib.util.find_spec('bounds') is None; print('ok')" % (str(target), str(target))
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_import_mdpkit_loads_only_numpy_scipy_numba():
    code = (
        "import sys, mdpkit, mdpkit.solvers, mdpkit.bounds, mdpkit.theory; mdpkit.theory.list_theorems();"
        "heavy = [m for m in ('cvxpy', 'networkx', 'matplotlib', 'gymnasium', 'dask', 'tqdm', 'hypothesis')"
        " if m in sys.modules];"
        "print(heavy)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"

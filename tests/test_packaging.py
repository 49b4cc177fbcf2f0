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


# ----------------------------------------------------------------------------- package faces
_PUBLIC_MODULES = ["mdpkit", "mdpkit.solvers", "mdpkit.bounds", "mdpkit.structure", "mdpkit.policies",
                   "mdpkit.generators", "mdpkit.io", "mdpkit.uncertainty", "mdpkit.distributions", "mdpkit.theory",
                   "mdpkit.plotting", "mdpkit.results", "mdpkit.model", "mdpkit.stock", "mdpkit.testing.strategies",
                   "mdpkit.solvers.robust", "mdpkit.solvers.risk", "mdpkit.solvers.distributional",
                   "mdpkit.solvers.robust_static", "mdpkit.solvers.risk_bracket", "mdpkit.effective_horizon",
                   "mdpkit.linear", "mdpkit.solvers.linear", "mdpkit.bounds.linear", "mdpkit.bounds.structure",
                   "mdpkit.occupancy", "mdpkit.games", "mdpkit.solvers.policy_optimization", "mdpkit.solvers.cmdp",
                   "mdpkit.solvers.games", "mdpkit.bounds.pg", "mdpkit.solvers.online", "mdpkit.bounds.online",
                   "mdpkit.bandits", "mdpkit.solvers.bandits", "mdpkit.solvers.sweep", "mdpkit.bounds.bandits",
                   "mdpkit.qualitative", "mdpkit.solvers.reachability", "mdpkit.bounds.reachability",
                   "mdpkit.structured_bandits", "mdpkit.solvers.structured_bandits", "mdpkit.solvers.adversarial_po"]


@pytest.mark.parametrize("name", _PUBLIC_MODULES)
def test_all_is_explicit_sorted_and_resolves(name):
    import importlib

    mod = importlib.import_module(name)
    names = mod.__all__
    assert isinstance(names, list) and names == sorted(names) and len(set(names)) == len(names), name
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"


def test_no_module_imports_another_modules_private_names():
    """``from x import _name`` couples a module to another's internals; shared helpers get public
    names.  Private submodules (``from . import _dp``) are fine."""
    import ast
    import importlib.util
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1]
    pkgmap = {"mdpkit": "mdpkit", "solvers": "mdpkit.solvers", "bounds": "mdpkit.bounds"}
    bad = []
    for folder, pkg_name in pkgmap.items():
        for path in (root / folder).rglob("*.py"):
            parts = [pkg_name, *path.relative_to(root / folder).with_suffix("").parts]
            pkg = ".".join(parts[:-1])
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
                    continue
                base = node.module or ""
                if node.level:
                    p = pkg.split(".")
                    base = ".".join(p[:len(p) - (node.level - 1)] + ([node.module] if node.module else []))
                for a in node.names:
                    if not a.name.startswith("_") or a.name == "__version__":
                        continue
                    try:
                        is_module = importlib.util.find_spec(f"{base}.{a.name}") is not None
                    except ModuleNotFoundError:
                        is_module = False
                    if not is_module:
                        bad.append(f"{path.relative_to(root)}:{node.lineno} {base}.{a.name}")
    assert not bad, bad

"""Kernels of mdpkit/_kernels/structure.py: one type signature each (DESIGN.md "Kernels") after every
public entry point has run on dense, CSR, masked and read-only inputs; and the example script runs."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
from numba.core.registry import CPUDispatcher

from mdpkit import TabularMDP, generators, structure
from mdpkit._kernels import structure as kern
from mdpkit.effective_horizon import FiniteHorizonModel, effective_horizon, k_qvi, minimal_k


def test_one_signature_per_kernel():
    m = generators.riverswim()
    structure.diameter(m)
    structure.diameter(m.to_sparse())
    mask = np.ones((6, 2), bool)
    mask[0, 1] = False
    structure.diameter(TabularMDP(m.P, m.R, m.gamma, action_mask=mask))
    ns = np.array([[1, -1], [0, 1]], dtype=np.int32)  # int32 table, read-only rewards
    R = np.ones((2, 2))
    R.flags.writeable = False
    fh = FiniteHorizonModel.from_next_state(ns, R, 4)
    minimal_k(fh)
    k_qvi(fh, 2)
    effective_horizon(fh)
    minimal_k(FiniteHorizonModel.from_mdp(generators.make("frozenlake:is_slippery=False"), 5))
    disp = {n: d for n, d in vars(kern).items() if isinstance(d, CPUDispatcher)}
    assert set(disp) == {"det_backup", "det_backward", "det_carry_max", "hitting_times"}
    for name, d in disp.items():
        assert len(d.signatures) == 1, (name, d.signatures)


def test_structure_example_writes_its_figures(tmp_path, monkeypatch):
    ex = Path(__file__).resolve().parents[2] / "examples" / "structure" / "plot_structure.py"
    monkeypatch.setattr(sys, "argv", ["plot_structure.py", "--out", str(tmp_path), "--states", "300", "--horizon", "12"])
    runpy.run_path(str(ex), run_name="__main__")
    for name in ("transition_graphs.png", "effective_horizon.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

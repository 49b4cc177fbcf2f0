"""VWLS-MDVI generative-model samples per second (issue 15).

    python benchmarks/linear_vwls_mdvi.py

Times :func:`mdpkit.solvers.vwls_mdvi` (weighted and unweighted) on random soft-aggregation linear
MDPs and writes ``benchmarks/results/linear_vwls_mdvi.md`` / ``.json``.  No peer implements
VWLS-MDVI, so there is no side-by-side column.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from linear_report import table, write_report  # noqa: E402


def main() -> int:
    from mdpkit.linear import simplex_linear_mdp
    from mdpkit.solvers.linear import vwls_mdvi

    rows = []
    for S, A, d in ((20, 4, 8), (100, 4, 16), (200, 8, 24)):
        m = simplex_linear_mdp(S, A, d, gamma=0.9, rng=0)
        for weighted in (True, False):
            t = time.perf_counter()
            r = vwls_mdvi(m, n_iter=50, samples_per_iter=2000, kl=0.5, weighted=weighted, rng=0)
            dt = time.perf_counter() - t
            rows.append({"S": S, "A": A, "d": d, "weighted": weighted, "samples": r.n_samples, "seconds": dt,
                         "samples_per_second": r.n_samples / dt})
            print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    lines = ["# VWLS-MDVI: generative-model samples per second", "",
             f"50 iterations, 2000 samples per iteration (design-weighted), kl = 0.5, gamma = 0.9; the whole call "
             f"(G-optimal design included). Load average {load:.2f}.", ""]
    lines += table([("S", "S", ""), ("A", "A", ""), ("d", "d", ""), ("weighted", "weighted", ""),
                    ("samples", "samples", ""), ("seconds", "seconds", ".3f"),
                    ("samples/s", "samples_per_second", ".3g")], rows)
    write_report(HERE / "results", "linear_vwls_mdvi", {"rows": rows, "load_average_1min": load}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

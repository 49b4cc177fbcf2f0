"""HF-UCRL-RFE++ (reward-free exploration, linear mixture MDPs) seconds per exploration episode (issue 15).

    python benchmarks/linear_reward_free.py

Times :func:`mdpkit.solvers.reward_free_exploration` (paper parameters) at K = 100, 300, 1000 episodes on
random linear mixtures and writes ``benchmarks/results/linear_reward_free.md`` / ``.json``.  The per-episode
cost should be flat in K (the regressions keep per-level sufficient statistics; the HOME step is the Numba
kernel :func:`mdpkit._kernels.linear.home_update`).  No peer library implements the algorithm, so there is
no side-by-side column.
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
    from mdpkit.linear import linear_mixture_mdp
    from mdpkit.solvers.linear import reward_free_exploration

    rows = []
    for S, A, d, H in ((5, 2, 3, 5), (20, 4, 5, 10)):
        m = linear_mixture_mdp(S, A, d, horizon=H, rng=0)
        reward_free_exploration(m, 2)  # compile the kernel outside the timing
        for K in (100, 300, 1000):
            best = float("inf")
            for _ in range(2):
                t = time.perf_counter()
                r = reward_free_exploration(m, K, seed=0)
                best = min(best, time.perf_counter() - t)
            rows.append({"S": S, "A": A, "d": d, "H": H, "K": K, "seconds": best, "s_per_episode": best / K,
                         "theta_error": float(r.theta_error[-1]), "M": r.options["M"]})
            print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    lines = ["# HF-UCRL-RFE++: seconds per exploration episode", "",
             f"Paper parameters (M = ceil(log2(7KH)) moment levels, two HOME series), default candidate rewards "
             f"(H*S + 1); best of 2 whole calls. Load average {load:.2f}.", ""]
    lines += table([(k, k, "") for k in ("S", "A", "d", "H", "K", "M")]
                   + [("s/episode", "s_per_episode", ".2e"), ("||theta_K - theta*||", "theta_error", ".3f")], rows)
    write_report(HERE / "results", "linear_reward_free", {"rows": rows, "load_average_1min": load}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

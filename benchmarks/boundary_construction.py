"""Cost of model validation (issue 13): ``TabularMDP`` construction on a large sparse Garnet.

Times ``TabularMDP(P=m.P, R=m.R, gamma=m.gamma)`` (a full revalidation of an existing CSR model:
structure check, duplicates/sorting, finiteness, signs, row sums) for a sparse Garnet with
S=200000, A=4, b=8 (6.4e6 stored probabilities), median of ``--repeat`` runs, and prints one JSON
line.  Run it under two source trees to compare before/after::

    python benchmarks/boundary_construction.py --repeat 7
    PYTHONPATH=/path/to/old/tree python benchmarks/boundary_construction.py --repeat 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--S", type=int, default=200_000)
    ap.add_argument("--A", type=int, default=4)
    ap.add_argument("--b", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()

    import mdpkit
    from mdpkit import TabularMDP
    from mdpkit.generators import garnet

    m = garnet(args.S, args.A, args.b, gamma=0.99, rng=0, sparse=True)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        TabularMDP(P=m.P, R=m.R, gamma=m.gamma)
        times.append(time.perf_counter() - t)
    print(json.dumps({"mdpkit": mdpkit.__file__, "S": args.S, "A": args.A, "b": args.b, "nnz": int(m.nnz),
                      "median_s": statistics.median(times), "min_s": min(times), "times_s": times}))


if __name__ == "__main__":
    main()

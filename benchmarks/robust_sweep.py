"""Cost of one robust Bellman sweep relative to one nominal sweep (standalone script).

Runs the sa-rectangular robust q-backup (``mdpkit._kernels.robust.robust_q``) and the nominal
q-backup (``mdpkit._kernels.bellman.bellman_q``) on the same Garnet models (CSR rows with ``b``
successors, and dense rows) and prints the time per sweep and the ratio robust / nominal.
Target from issue 5: under 5x for L1 on sparse rows.

Usage: ``python benchmarks/robust_sweep.py [--S 5000] [--A 4] [--b 8] [--repeat 20]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mdpkit import generators
from mdpkit._kernels import bellman, model_args
from mdpkit._kernels import robust as rk
from mdpkit.uncertainty import KINDS, make_workspace


def _best_of(fn, repeat):
    fn()  # compile / warm
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def sweep_times(mdp, kind: str, radius: float, repeat: int):
    sparse, P2, indptr, indices, data, R1, mask1, S, A = model_args(mdp)
    v = np.random.default_rng(0).standard_normal(S)
    q = np.empty(S * A)
    n_max = int(np.diff(indptr).max()) if sparse else S
    work = make_workspace(n_max, KINDS[kind])
    kappa = np.full(S * A, radius)
    d1, d2 = np.zeros((1, 1)), np.zeros(1)
    W, D = np.zeros(1), np.zeros((1, 1))
    t_nom = _best_of(lambda: bellman.bellman_q(sparse, P2, indptr, indices, data, R1, mdp.gamma, v, q), repeat)
    t_rob = _best_of(lambda: rk.robust_q(sparse, P2, indptr, indices, data, R1, mask1, mdp.gamma, v, KINDS[kind],
                                         kappa, False, W, D, False, d1, d2, q, *work), repeat)
    return t_nom, t_rob


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--S", type=int, default=5000)
    ap.add_argument("--A", type=int, default=4)
    ap.add_argument("--b", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    sparse_mdp = generators.garnet(args.S, args.A, args.b, gamma=0.95, rng=0, sparse=True)
    dense_mdp = generators.garnet(min(args.S, 1000), args.A, args.b, gamma=0.95, rng=0, sparse=False)
    print(f"{'model':<28}{'set':<14}{'nominal ms':>12}{'robust ms':>12}{'ratio':>8}")
    for name, m in ((f"garnet CSR S={m_s(sparse_mdp)}", sparse_mdp), (f"garnet dense S={m_s(dense_mdp)}", dense_mdp)):
        for kind, r in (("l1", 0.2), ("linf", 0.05), ("kl", 0.1), ("l2", 0.1), ("chi2", 0.1)):
            tn, tr = sweep_times(m, kind, r, args.repeat)
            print(f"{name:<28}{kind + ':' + str(r):<14}{1e3 * tn:>12.3f}{1e3 * tr:>12.3f}{tr / tn:>8.2f}")


def m_s(m):
    return f"{m.S},A={m.A}"


if __name__ == "__main__":
    main()

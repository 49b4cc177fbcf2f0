"""The reachability kernels against their numpy twins, and one Numba signature per kernel."""

from __future__ import annotations

import numpy as np
from numba.core.registry import CPUDispatcher

from mdpkit._kernels import reachability as K
from mdpkit.solvers import reachability as R


def _reduced(seed):
    rng = np.random.default_rng(seed)
    from mdpkit import TabularMDP

    S, A = 12, 3
    P = rng.dirichlet(np.ones(S) * 0.3, size=(S, A))
    P[0] = 0
    P[0, :, 0] = 1
    P[1:, :, 0] += 0.05
    P /= P.sum(axis=2, keepdims=True)
    mdp = TabularMDP(P, np.zeros((S, A)), 1.0)
    res = R.reach_probability(mdp, [0])  # value 1 everywhere: use the reduced form directly instead
    g = R.qual.support_graph(mdp)
    maybe = np.arange(S) > 0
    fixed = np.where(maybe, 0.0, 1.0)
    R1 = rng.uniform(0, 1, S * A)
    return R._reduce(mdp, maybe, g.mask1, R1, fixed, np.full(S, -1, np.int64)), res


def test_greedy_pairs_matches_twin():
    for seed in range(5):
        rm, _ = _reduced(seed)
        v = np.random.default_rng(seed).uniform(0, 5, rm.n)
        for mx in (True, False):
            p, val = R._backup(rm, v, mx)
            p2, val2 = K.greedy_pairs_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, mx)
            np.testing.assert_array_equal(p, p2)
            np.testing.assert_allclose(val, val2, rtol=1e-14)


def test_bottom_up_order_matches_twin_property():
    rng = np.random.default_rng(0)
    import scipy.sparse as sp

    for _ in range(10):
        k = 30
        E = np.triu(rng.random((k, k)) < 0.1, 1)  # a DAG
        perm = rng.permutation(k)
        E = E[np.ix_(perm, perm)]
        M = sp.csr_matrix(E.astype(float))
        out = np.empty(k, dtype=np.int64)
        K.bottom_up_order(M.indptr.astype(np.int64), M.indices.astype(np.int64), out)
        rank = np.empty(k, int)
        rank[out] = np.arange(k)
        u, w = np.nonzero(E)
        assert np.all(rank[w] < rank[u])  # successors first
        ref = K.bottom_up_order_reference(M.indptr, M.indices)
        rr = np.empty(k, int)
        rr[ref] = np.arange(k)
        assert np.all(rr[w] < rr[u])


def test_bracket_iterate_matches_twin_fixpoint():
    for seed in range(5):
        rm, _ = _reduced(seed)
        for mx in (True, False):
            scc = R._sccs(rm)
            x, y = np.zeros(rm.n), np.full(rm.n, 50.0)  # rewards <= 1, exit prob >= 0.05: value <= 20
            R._bracket(rm, mx, x, y, 1e-10, 0.0, 10**6, False, scc)
            x2, y2 = K.interval_iteration_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c,
                                                    np.zeros(rm.n), np.full(rm.n, 50.0), mx, 1e-10)
            assert np.all(x <= y2 + 1e-12) and np.all(x2 <= y + 1e-12)  # the brackets overlap
            assert np.max(y - x) <= 2e-10 + 1e-12


def test_one_signature_per_kernel():
    # run every public entry point once (the other test files run them many more times)
    from mdpkit import TabularMDP

    P = np.zeros((3, 2, 3))
    P[0, :, 0] = P[1, :, 1] = 1
    P[2, 0, [0, 1, 2]] = [0.3, 0.3, 0.4]
    P[2, 1, 2] = 1
    m = TabularMDP(P, np.ones((3, 2)) * [[0], [0], [1]], 1.0)
    for meth in ("ovi", "ii", "pi"):
        R.reach_probability(m, [0], method=meth)
        R.reach_probability(m, np.array([True, False, False]), maximize=False, method=meth)
    R.reach_reward(m, [0, 1])
    R.reach_reward(m, [0, 1], maximize=True, method="pi")
    R.long_run_average(m)
    R.max_expected_steps_bound(m, np.array([True, True, False]))
    for name in dir(K):
        f = getattr(K, name)
        if isinstance(f, CPUDispatcher):
            assert len(f.signatures) <= 1, (name, f.signatures)

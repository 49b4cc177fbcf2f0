"""The reachability kernels against their numpy twins (scipy's strongly connected components for
Tarjan's, dense policy iteration for the topological one, an LP (HiGHS) for topological policy
iteration on layered models), the kernel path of the model reduction against its scipy path, and
one Numba signature per kernel."""

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


def _random_graph(rng, n, p):
    import scipy.sparse as sp

    E = rng.random((n, n)) < p
    M = sp.csr_matrix(E.astype(float))
    # repeat some edges: the kernel must not care about duplicates
    extra = rng.integers(0, max(M.nnz, 1), size=M.nnz // 3)
    rows = np.repeat(np.arange(n), np.diff(M.indptr))
    indptr = np.zeros(n + 1, dtype=np.int64)
    r = np.concatenate([rows, rows[extra]]) if M.nnz else rows
    cidx = np.concatenate([M.indices, M.indices[extra]]) if M.nnz else M.indices
    order = np.argsort(r, kind="stable")
    np.cumsum(np.bincount(r, minlength=n), out=indptr[1:])
    return E, indptr, cidx[order].astype(np.int64)


def test_scc_bottom_up_matches_scipy_twin():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(1, 60))
        E, indptr, indices = _random_graph(rng, n, float(rng.choice([0.02, 0.05, 0.1, 0.3])))
        ptr = np.zeros(n + 1, dtype=np.int64)
        states = np.empty(n, dtype=np.int64)
        k = K.scc_bottom_up(indptr, indices, ptr, states)
        rptr, rstates = K.scc_bottom_up_reference(indptr, indices)
        assert k == rptr.size - 1
        lab = np.empty(n, int)
        rlab = np.empty(n, int)
        for i in range(k):
            lab[states[ptr[i]:ptr[i + 1]]] = i
            rlab[rstates[rptr[i]:rptr[i + 1]]] = i
        # same partition
        for i in range(k):
            assert len(set(rlab[lab == i])) == 1
        # bottom-up: every edge goes to the same or an earlier component
        u, w = np.nonzero(E)
        assert np.all(lab[w] <= lab[u])


def _layered(seed, blocks=(3, 150, 1, 5, 140, 2), A=3, exit_p=0.02):
    """Reduced-model-like MDP: strongly connected blocks of the given sizes, each block's states
    moving inside their block, to earlier blocks and (with prob. ``exit_p`` at least) out to an
    absorbing goal (state 0) or trap (state 1).  Block sizes above 128 use the sparse path of the
    topological solver, the others its dense kernel path."""
    import scipy.sparse as sp

    from mdpkit import TabularMDP

    rng = np.random.default_rng(seed)
    starts = np.cumsum((2,) + tuple(blocks))
    S = int(starts[-1])
    rows, cols, vals = [], [], []
    for b, size in enumerate(blocks):
        lo = int(starts[b])
        for s in range(lo, lo + size):
            for a in range(A):
                t = [lo + (s - lo + 1) % size] + list(rng.integers(lo, lo + size, 2))
                if b > 0:
                    t += list(rng.integers(2, lo, 2))
                w = rng.random(len(t)) + 0.1
                w = w / w.sum() * (1 - exit_p)
                u = rng.random()
                for tt, ww in zip(t + [0, 1], list(w) + [exit_p * u, exit_p * (1 - u)]):
                    rows.append(s * A + a)
                    cols.append(tt)
                    vals.append(ww)
    for s in (0, 1):
        for a in range(A):
            rows.append(s * A + a)
            cols.append(s)
            vals.append(1.0)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    R = rng.random((S, A))
    R[:2] = 0
    return TabularMDP(P=P, R=R, gamma=1.0)


def _lp_values(mdp, c_pairs, maximize, free):
    """Optimal values on ``free`` states by the LP (HiGHS): min sum v s.t. v >= c + P v (max), or
    max sum v s.t. v <= c + P v (min); every policy leaves ``free`` almost surely."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    S, A = mdp.S, mdp.A
    idx = np.flatnonzero(free)
    col = np.full(S, -1)
    col[idx] = np.arange(idx.size)
    P = sp.csr_matrix(mdp.P_rows)
    rows = np.flatnonzero(np.repeat(free, A))
    Pr = P[rows].tocoo()
    inside = col[Pr.col] >= 0
    M = sp.csr_matrix((Pr.data[inside], (Pr.row[inside], col[Pr.col[inside]])), shape=(rows.size, idx.size))
    own = sp.csr_matrix((np.ones(rows.size), (np.arange(rows.size), col[rows // A])), shape=M.shape)
    sign = 1.0 if maximize else -1.0
    res = linprog(sign * np.ones(idx.size), A_ub=sign * (M - own), b_ub=-sign * c_pairs[rows], bounds=(None, None),
                  method="highs")
    assert res.status == 0, res.message
    return res.x


def test_topological_pi_matches_lp_on_layered_models():
    for seed in range(2):
        mdp = _layered(seed)
        S = mdp.S
        goal = np.zeros(S, bool)
        goal[0] = True
        trap = np.zeros(S, bool)
        trap[1] = True
        free = ~(goal | trap)
        import scipy.sparse as sp

        to_goal = sp.csr_matrix(mdp.P_rows) @ goal.astype(float)
        for mx in (True, False):
            res = R.reach_probability(mdp, goal, avoid=trap, maximize=mx, method="pi", epsilon=1e-9)
            assert res.n_components >= 6 and res.certificate.citation.startswith("bracket v_lower")
            lp = _lp_values(mdp, to_goal, mx, free)
            np.testing.assert_allclose(res.v[free], lp, atol=1e-8)
            assert np.all(res.v_lower[free] <= lp + 1e-8) and np.all(lp <= res.v_upper[free] + 1e-8)
            rr = R.reach_reward(mdp, goal | trap, maximize=mx, method="pi", epsilon=1e-9)
            lp = _lp_values(mdp, np.asarray(mdp.R).ravel(), mx, free)
            np.testing.assert_allclose(rr.v[free], lp, rtol=1e-8, atol=1e-8)
            # the policy-iteration path was certified (no fallback to optimistic value iteration)
            assert rr.certificate.citation.startswith("bracket v_lower")


def test_topological_pi_kernel_matches_dense_twin():
    for seed in range(5):
        rm, _ = _reduced(seed)
        for mx in (True, False):
            scc = R._sccs(rm)
            pair0 = R._proper_pairs(rm)
            v, pair, _, _ = R._topological_pi(rm, mx, 1000, pair0, scc)
            v2, _ = K.policy_iteration_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, pair0, mx)
            np.testing.assert_allclose(v, v2, rtol=1e-11, atol=1e-12)
            lo, hi = v - 1e-9, v + 1e-9
            assert R._certify(rm, v, mx, 1e-6, 0.0)[2] == K.bracket_is_inductive_reference(
                rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, lo, hi, mx)


def test_sweeps_and_improvement_kernels_match_twins():
    for seed in range(5):
        rm, _ = _reduced(seed)
        for mx in (True, False):
            v = np.zeros(rm.n)
            pair = np.zeros(rm.n, dtype=np.int64)
            limits = np.array([7, 0], dtype=np.int64)
            k = K.jacobi_sweeps(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, np.bool_(mx), limits, pair)
            v2, p2, k2 = K.jacobi_sweeps_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c,
                                                   np.zeros(rm.n), mx, limits)
            assert k == k2
            np.testing.assert_array_equal(pair, p2)
            np.testing.assert_allclose(v, v2, rtol=1e-13)
            best = np.empty(rm.n, dtype=np.int64)
            gain = np.empty(rm.n)
            K.improve_pairs(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, np.bool_(mx), rm.state_ptr[:-1].copy(),
                            best, gain)
            b2, g2 = K.improve_pairs_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v, mx,
                                               rm.state_ptr[:-1])
            np.testing.assert_array_equal(best, b2)
            np.testing.assert_allclose(gain, g2, atol=1e-13)
            for w in (1e-6, -1e-6):  # a valid and an invalid bracket
                got = K.bracket_is_inductive(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v2 - w, v2 + w, np.bool_(mx))
                ref = K.bracket_is_inductive_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, v2 - w, v2 + w, mx)
                assert got == ref


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


def test_reduce_kernel_path_matches_scipy_path(monkeypatch):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        from mdpkit import TabularMDP

        S, A = 15, 3
        P = rng.dirichlet(np.ones(S) * 0.3, size=(S, A))
        P[P < 0.05] = 0.0
        P /= P.sum(axis=2, keepdims=True)
        mdp = TabularMDP(P, rng.random((S, A)), 1.0, action_mask=rng.random((S, A)) < 0.8 + np.eye(S, A, dtype=bool))
        g = R.qual.support_graph(mdp)
        maybe = rng.random(S) < 0.7
        maybe[0] = True
        fixed = rng.random(S)
        rew = rng.random(S * A)
        group = np.full(S, -1, np.int64)
        a = R._reduce(mdp, maybe, g.mask1, rew, fixed, group, allow_empty=True)
        monkeypatch.setattr(R, "_SCIPY_REDUCE", True)
        b = R._reduce(mdp, maybe, g.mask1, rew, fixed, group, allow_empty=True)
        monkeypatch.setattr(R, "_SCIPY_REDUCE", False)
        for f in ("state_ptr", "indptr", "indices", "rows", "red"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
        for f in ("data", "c", "exit_mass"):
            np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-14, atol=1e-15, err_msg=f)


def test_sound_vi_kernel_matches_twin():
    for seed in range(4):
        rm, _ = _reduced(seed)
        for sweeps in (1, 3, 25):
            x, y = np.zeros(rm.n), np.ones(rm.n)
            pair = np.zeros(rm.n, dtype=np.int64)
            bounds = np.array([-np.inf, np.inf])
            stats = np.zeros(2, dtype=np.int64)
            tol = np.array([0.0, 0.0, float(sweeps)])  # never precise enough: exactly `sweeps` sweeps
            K.sound_vi(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c, x, y, pair, bounds, tol, stats)
            x2, y2, p2, b2 = K.sound_vi_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c,
                                                  np.zeros(rm.n), np.ones(rm.n), np.array([-np.inf, np.inf]), sweeps)
            assert stats[0] == sweeps and stats[1] == 1
            np.testing.assert_array_equal(pair, p2)
            np.testing.assert_allclose(x, x2, rtol=1e-13)
            np.testing.assert_allclose(y, y2, rtol=1e-13, atol=1e-300)
            np.testing.assert_allclose(bounds, b2, rtol=1e-13)
            if np.isfinite(bounds[0]):  # the lower side holds whatever the choices (Quatmann & Katoen, Lemma 3)
                v2, _ = K.policy_iteration_reference(rm.state_ptr, rm.indptr, rm.indices, rm.data, rm.c,
                                                     R._proper_pairs(rm), True)
                assert np.all(x + y * bounds[0] <= v2 + 1e-12)

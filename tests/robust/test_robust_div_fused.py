"""The fused L2 / chi-square / KL sweep (``_kernels.robust.div_sweep``) and its fast paths.

Oracles: the plain-numpy twins of ``mdpkit/_reference_robust.py`` applied row by row (support
enumeration ``ellipsoid_enum`` for the L2 and chi-square balls, the 1-D dual ``kl_dual`` by
scipy's bounded scalar search for KL), ``np.exp`` for the vectorised exponential, and the
cold-start sweep for the warm-started one.  The parallel path must give the bits of the serial
one, and the warm start may change a value only at round-off.
"""

import numba
import numpy as np
import pytest

import mdpkit._reference_robust as ref
from mdpkit import generators
from mdpkit._kernels import model_args
from mdpkit._kernels import robust as rk
from mdpkit.uncertainty import KINDS, make_workspace

DUMMY_PW = (np.zeros((1, 1)), np.zeros(1))


def test_exp_nonpos_matches_numpy_to_an_ulp():
    rng = np.random.default_rng(0)
    x = -np.concatenate([rng.random(20000) * 800.0, rng.random(20000) * 3.0, rng.random(2000) * 1e-9,
                         [0.0, 1e-300, 707.9, 708.0, 708.5, 745.2, 1e4]])
    out = np.empty_like(x)
    rk.exp_nonpos_into(x, out)
    ref_ = np.exp(x)
    normal = ref_ > 1e-307
    rel = np.abs(out[normal] - ref_[normal]) / ref_[normal]
    assert rel.max() <= 2.5 * np.finfo(float).eps  # about 1 ulp measured
    assert np.all(out[x < -708.0] == 0.0)  # below the clamp: 0, never garbage
    assert out[x == 0.0][0] == 1.0


def _sweep(mdp, kind, radius, v, work, store=False):
    model = model_args(mdp)
    q = np.empty(mdp.S * mdp.A)
    pwd = np.zeros(model[4].size) if model[0] else np.zeros(1)
    pw2 = np.zeros((1, 1)) if model[0] else np.zeros((mdp.S * mdp.A, mdp.S))
    uset = (KINDS[kind], np.full(mdp.S * mdp.A, radius), False, np.zeros(1), np.zeros((1, 1)))
    rk.robust_q(model, uset, mdp.gamma, v, store, (pw2, pwd), q, work)
    return q, (pw2, pwd)


def _workspace(mdp, kind, chunks=1, rows=0):
    model = model_args(mdp)
    n_max = int(np.diff(model[2]).max()) if model[0] else mdp.S
    return make_workspace(n_max, KINDS[kind], chunks, rows)


def _oracle_row(kind, q, z, r):
    idx = np.flatnonzero(q > 0)
    if kind == "kl":
        return ref.kl_dual(q[idx], z[idx], r)
    c = np.ones(idx.size) if kind == "l2" else q[idx]
    return ref.ellipsoid_enum(q[idx], c, z[idx], r * r if kind == "l2" else r)[1]


@pytest.mark.parametrize("kind", ["kl", "l2", "chi2"])
@pytest.mark.parametrize("sparse", [True, False])
def test_fused_sweep_matches_numpy_twins(kind, sparse):
    mdp = generators.garnet(30, 3, 5, gamma=0.9, rng=2, sparse=sparse)
    P = mdp.P_dense().reshape(mdp.S * mdp.A, mdp.S)
    rng = np.random.default_rng(1)
    for radius in (0.02, 0.3):
        v = rng.normal(scale=4.0, size=mdp.S)
        q, _ = _sweep(mdp, kind, radius, v, _workspace(mdp, kind))
        R1 = mdp.R.reshape(-1)
        for i in range(0, P.shape[0], 7):
            expect = R1[i] + mdp.gamma * _oracle_row(kind, P[i], v, radius)
            assert q[i] == pytest.approx(expect, rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("kind", ["kl", "l2", "chi2"])
def test_stored_minimiser_attains_the_value_and_is_feasible(kind):
    mdp = generators.garnet(25, 2, 4, gamma=0.9, rng=5, sparse=True)
    v = np.random.default_rng(3).normal(scale=2.0, size=mdp.S)
    radius = 0.15
    q, (_, pwd) = _sweep(mdp, kind, radius, v, _workspace(mdp, kind, rows=mdp.S * mdp.A), store=True)
    P = mdp.P.tocsr()
    W = P.copy()
    W.data = pwd.copy()
    R1 = mdp.R.reshape(-1)
    np.testing.assert_allclose(R1 + mdp.gamma * (W @ v), q, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(W.sum(axis=1)).ravel(), 1.0, atol=1e-12)
    assert W.data.min() >= 0.0
    for i in range(P.shape[0]):
        lo, hi = P.indptr[i], P.indptr[i + 1]
        p, q0 = W.data[lo:hi], P.data[lo:hi]
        if kind == "kl":
            m = p > 0
            d = float((p[m] * np.log(p[m] / q0[m])).sum())
            assert d <= radius * (1 + 1e-9) + 1e-12
        elif kind == "l2":
            assert np.sqrt(((p - q0) ** 2).sum()) <= radius * (1 + 1e-9) + 1e-12
        else:
            assert ((p - q0) ** 2 / q0).sum() <= radius * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("kind", ["kl", "l2", "chi2"])
def test_parallel_path_gives_the_serial_bits(kind):
    mdp = generators.garnet(3000, 3, 8, gamma=0.9, rng=4, sparse=True)  # 72k entries >= PAR_MIN_WORK
    assert model_args(mdp)[4].size >= rk.PAR_MIN_WORK
    v = np.random.default_rng(0).normal(size=mdp.S)
    q_ser, _ = _sweep(mdp, kind, 0.1, v, _workspace(mdp, kind, chunks=1))
    n0 = numba.get_num_threads()
    try:
        for threads in sorted({1, n0}):
            numba.set_num_threads(threads)
            q_par, _ = _sweep(mdp, kind, 0.1, v, _workspace(mdp, kind, chunks=rk.N_CHUNKS))
            assert np.array_equal(q_par, q_ser)
    finally:
        numba.set_num_threads(n0)


def test_kl_warm_start_changes_values_only_at_round_off():
    """Along a robust VI trajectory, the sweep warm-started from the previous multipliers (the
    solvers' default) equals the cold sweep to round-off, and the multipliers are the roots."""
    mdp = generators.garnet(400, 3, 6, gamma=0.9, rng=7, sparse=True)
    warm = _workspace(mdp, "kl", rows=mdp.S * mdp.A)
    v = np.zeros(mdp.S)
    for _ in range(12):
        q_w, _ = _sweep(mdp, "kl", 0.1, v, warm)
        q_c, _ = _sweep(mdp, "kl", 0.1, v, _workspace(mdp, "kl"))
        scale = 1.0 + np.abs(q_c).max()
        assert np.abs(q_w - q_c).max() <= 1e-13 * scale
        v_last, v = v, q_c.reshape(mdp.S, mdp.A).max(axis=1)
    assert np.all(warm[-1] >= 0.0) and np.any(warm[-1] > 0.0)
    # the stored multiplier u solves KL(p_u || q) = kappa on the rows where the ball binds
    P = mdp.P.tocsr()
    for i in range(0, P.shape[0], 37):
        u = warm[-1][i]
        if u <= 0.0:
            continue
        lo, hi = P.indptr[i], P.indptr[i + 1]
        qi, z = P.data[lo:hi], v_last[P.indices[lo:hi]]
        w = qi * np.exp(-u * (z - z.min()))
        p = w / w.sum()
        assert float((p * np.log(p / qi)).sum()) == pytest.approx(0.1, rel=1e-6)


def test_kl_taylor_finish_agrees_with_the_evaluated_finish():
    """Without ``want_p`` inner_kl may finish on the Taylor expansion of the last step; with it,
    on an evaluated point.  Both give the value to round-off, from cold and warm starts."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        q = rng.random(n)
        q /= q.sum()
        z = rng.normal(scale=float(rng.choice([0.1, 1.0, 30.0])), size=n) + float(rng.normal(scale=100.0))
        kappa = float(rng.choice([1e-4, 0.05, 0.3]))
        pb = np.zeros(n)
        v_p, u_p = rk.inner_kl(q, z.copy(), kappa, n, pb, 0.0, True)
        for u0 in (0.0, u_p * (1 + 1e-3), u_p * 0.7):
            v_t, _ = rk.inner_kl(q, z.copy(), kappa, n, np.zeros(n), u0, False)
            assert abs(v_t - v_p) <= 1e-12 * (1.0 + np.abs(z).max())
        assert v_p == pytest.approx(ref.kl_dual(q, z, kappa), rel=1e-9, abs=1e-9 * (1 + np.abs(z).max()))

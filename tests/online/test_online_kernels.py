"""Online-RL kernels against their numpy twins and against independent oracles
(exact rational policy evaluation, an LP for the optimistic row, enumeration of gains)."""

from fractions import Fraction

import numpy as np
import pytest

from mdpkit import TabularMDP
from mdpkit._kernels import online as K
from mdpkit.solvers import backward_induction
from mdpkit.solvers.online import online_model


def _instance(seed, S=4, A=3, sas=False):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    R = rng.uniform(0.0, 1.0, (S, A))
    if sas:
        Rs = rng.uniform(0.0, 1.0, (S, A, S))
        return TabularMDP(P, None, 1.0, R_sas=Rs)
    return TabularMDP(P, R, 1.0)


def _ref(m, H):
    bi = backward_induction(m, H)
    return (np.ascontiguousarray(bi.q.reshape(H, m.S * m.A)), np.ascontiguousarray(bi.v))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", [K.HOEFFDING, K.BERNSTEIN])
@pytest.mark.parametrize("scale", [1.0, 0.02])
def test_episodic_kernels_match_numpy_twins(seed, kind, scale):
    m = _instance(seed, sas=seed == 2)
    H, Kk = 4, 150
    om, ref = online_model(m), _ref(m, H)
    rng = np.random.default_rng(100 + seed)
    u0, u = rng.random(Kk), rng.random((Kk, H))
    S, A = m.S, m.A
    ip = np.array([kind, H, Kk], np.int64)
    for kern, twin, fp in (
        (K.ucbvi_run, K.ucbvi_numpy, np.array([np.log(5 * S * A * Kk * H / 0.1), scale])),
        (K.optimistic_q_run, K.optimistic_q_numpy, np.array([np.log(S * A * Kk * H / 0.1), 2.8, 2.8, 2.8, scale])),
    ):
        of, oi = np.zeros((Kk, 3)), np.zeros((Kk, 2), np.int64)
        kern(om, ref, u0, u, ip, fp, of, oi)
        f2, i2 = twin(om, ref, u0, u, ip, fp)
        np.testing.assert_array_equal(oi, i2)
        np.testing.assert_allclose(of, f2, rtol=0, atol=1e-12)


def test_qlearning_kernel_matches_twin():
    m = _instance(5, S=3, A=2).with_gamma(0.7)
    om = online_model(m)
    rng = np.random.default_rng(0)
    u = rng.random((300, 6))
    cps = np.array([10, 100, 300])
    qstar = np.zeros(6)
    for sched, par in ((0, 0.8), (1, 0.3)):
        q = np.zeros(6)
        errs = np.zeros(3)
        K.qlearning_run(om, 0.7, u, np.int64(sched), np.array([par, 0.0]), q, cps, qstar, errs)
        q2, e2 = K.qlearning_numpy(om, 0.7, u, sched, np.array([par, 0.0]), np.zeros(6), cps, qstar)
        np.testing.assert_allclose(q, q2, rtol=0, atol=1e-12)
        np.testing.assert_allclose(errs, e2, rtol=0, atol=1e-12)


def _frac_eval(P, R, pol):
    """Finite-horizon value of a non-stationary policy in exact rational arithmetic."""
    H, S = pol.shape
    v = [Fraction(0)] * S
    for h in range(H - 1, -1, -1):
        v = [Fraction(R[s, pol[h, s]]) + sum(Fraction(P[s, pol[h, s], y]) * v[y] for y in range(S)) for s in range(S)]
    return v


def test_eval_nonstationary_is_exact():
    m = _instance(7, S=5, A=3)
    om = online_model(m)
    rng = np.random.default_rng(1)
    pol = rng.integers(0, 3, (6, 5)).astype(np.int64)
    v = np.zeros((7, 5))
    K.eval_nonstationary(om, pol, v)
    exact = _frac_eval(m.P_dense(), m.R, pol)
    np.testing.assert_allclose(v[0], [float(x) for x in exact], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("seed", range(6))
def test_optimistic_row_solves_its_lp(seed):
    from scipy.optimize import linprog

    rng = np.random.default_rng(seed)
    S = 5
    p = rng.dirichlet(np.ones(S))
    u = rng.normal(size=S)
    d = float(rng.uniform(0.05, 1.5))
    order = np.zeros(S, np.int64)
    K._order_desc(u, order)
    assert np.all(np.diff(u[order]) <= 0)
    q = np.zeros(S)
    val = K.optimistic_row(p, d, u, order, q)
    # LP: max u.x s.t. sum x = 1, x >= 0, sum |x - p| <= d  (variables x and t >= |x - p|)
    c = np.concatenate([-u, np.zeros(S)])
    I = np.eye(S)
    A_ub = np.block([[I, -I], [-I, -I], [np.zeros((1, S)), np.ones((1, S))]])
    b_ub = np.concatenate([p, -p, [d]])
    A_eq = np.concatenate([np.ones(S), np.zeros(S)])[None]
    lp = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * (2 * S), method="highs")
    assert lp.status == 0
    assert val == pytest.approx(-lp.fun, abs=1e-9)
    assert q.min() >= 0 and q.sum() == pytest.approx(1.0) and np.abs(q - p).sum() <= d + 1e-12


def test_evi_with_zero_radius_finds_an_optimal_gain_policy():
    from mdpkit.theory._instances import optimal_gain, stationary_gain

    rng = np.random.default_rng(3)
    S, A = 4, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.uniform(0, 1, (S, A))
    m = TabularMDP(P, R, 1.0)
    pol = np.zeros(S, np.int64)
    u = np.zeros(S)
    mask = np.ones(S * A, bool)
    mask.flags.writeable = False  # as in the kernels' model tuple (one signature per kernel)
    it = K.evi_average(P.reshape(S * A, S).copy(), R.reshape(-1).copy(), np.zeros(S * A), mask,
                       S, A, 1e-10, np.int64(10000), u, pol)
    assert it <= 10000
    g = stationary_gain(P[np.arange(S), pol], R[np.arange(S), pol])
    assert g == pytest.approx(optimal_gain(m), abs=1e-8)

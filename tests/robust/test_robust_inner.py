"""Nature's inner problems: every Numba kernel against an independent oracle, plus set membership.

Oracles: scipy LPs (HiGHS) for the polyhedral sets, active-set enumeration for the L2 and
chi-square balls, the 1-D dual for the KL ball, closed forms for the KL penalty and CVaR (all in
``mdpkit/_reference_robust.py``), and cvxpy (Clarabel) for every set.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdpkit._reference_robust as ref
from mdpkit import uncertainty as U
from mdpkit._exceptions import InvalidArgumentError


@st.composite
def qz(draw, n=(1, 6)):
    k = draw(st.integers(*n))
    w = np.array(draw(st.lists(st.integers(0, 4), min_size=k, max_size=k)), float)
    if w.sum() == 0:
        w[draw(st.integers(0, k - 1))] = 1.0
    z = np.array(draw(st.lists(st.integers(-3, 3), min_size=k, max_size=k)), float)
    if draw(st.booleans()):
        z = z + np.array(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    return w / w.sum(), z


RADII = st.sampled_from([0.0, 1e-3, 0.05, 0.3, 0.9, 2.5])
SUPPORTS = st.sampled_from(["nominal", "simplex"])


def _support(q, support, kind):
    return np.arange(q.size) if (support == "simplex" and kind not in U.SUPPORT_ONLY) else np.flatnonzero(q > 0)


def _in_simplex(p, q, idx):
    assert p.min() >= 0.0
    assert abs(p.sum() - 1.0) <= 1e-12
    outside = np.setdiff1d(np.arange(q.size), idx)
    assert np.all(p[outside] == 0.0)


def _oracle(kind, q, z, r, w=None, D=None):
    if kind == "l1":
        return ref.l1_lp(q, z, r)[1]
    if kind == "wl1":
        return ref.l1_lp(q, z, r, w)[1]
    if kind == "linf":
        return ref.box_lp(np.maximum(q - r, 0), np.minimum(q + r, 1), z)[1]
    if kind == "cvar":
        return ref.cvar_lower(q, z, r)
    if kind == "l2":
        return ref.ellipsoid_enum(q, np.ones_like(q), z, r * r)[1]
    if kind == "chi2":
        return ref.ellipsoid_enum(q, q, z, r)[1]
    if kind == "kl":
        return ref.kl_dual(q, z, r)
    if kind == "kl_penalty":
        return ref.kl_penalty_closed(q, z, r)
    if kind == "tv_penalty":
        return ref.tv_penalty_lp(q, z, r)[1]
    if kind == "wasserstein":
        return ref.transport_lp(q, z, D, r)[1]
    raise AssertionError(kind)


def _distance(kind, p, q, w=None, D=None):
    if kind == "l1":
        return np.abs(p - q).sum()
    if kind == "wl1":
        return (w * np.abs(p - q)).sum()
    if kind == "linf":
        return np.abs(p - q).max()
    if kind == "l2":
        return np.sqrt(((p - q) ** 2).sum())
    s = q > 0
    if kind == "chi2":
        return ((p[s] - q[s]) ** 2 / q[s]).sum()
    if kind == "kl":
        m = p > 0
        return (p[m] * np.log(p[m] / q[m])).sum()
    if kind == "wasserstein":
        return ref.transport_cost(q, p, D)
    return None


KINDS = ["l1", "wl1", "linf", "l2", "chi2", "kl", "wasserstein", "kl_penalty", "tv_penalty", "cvar"]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40)
@given(data=st.data())
def test_inner_matches_independent_oracle_and_lies_in_set(kind, data):
    """min_{p in U(q)} p.z (+ penalty): kernel == oracle within 1e-9, and the minimiser lies in U."""
    q, z = data.draw(qz())
    support = data.draw(SUPPORTS)
    r = data.draw(RADII)
    if kind == "cvar":
        r = data.draw(st.sampled_from([0.05, 0.3, 0.5, 1.0]))
    if kind in U.PENALTIES:
        r = data.draw(st.sampled_from([0.01, 0.3, 1.0, 5.0]))
    n = q.size
    w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n))) \
        if kind == "wl1" else None
    D = U.default_metric(n) if kind == "wasserstein" else None
    p, val = U.worst_case(q, z, U.UncertaintySet(kind, r, support), weights=w)
    idx = _support(q, support, kind)
    _in_simplex(p, q, idx)
    qs, zs, ps = q[idx], z[idx], p[idx]
    ws = w[idx] if w is not None else None
    Ds = D[np.ix_(idx, idx)] if D is not None else None
    expected = _oracle(kind, qs, zs, r, ws, Ds)
    assert val == pytest.approx(expected, abs=1e-9, rel=1e-9)
    # the value is the objective at the returned minimiser
    pen = 0.0
    if kind == "kl_penalty":
        m = ps > 0
        pen = r * (ps[m] * np.log(ps[m] / qs[m])).sum()
    elif kind == "tv_penalty":
        pen = 0.5 * r * np.abs(ps - qs).sum()
    assert ps @ zs + pen == pytest.approx(val, abs=1e-10)
    d = _distance(kind, ps, qs, ws, Ds)
    if d is not None:
        assert d <= r * (1 + 1e-9) + 1e-10
    if kind == "cvar":
        assert np.all(ps <= qs / r + 1e-12)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=12)
@given(data=st.data())
def test_inner_matches_cvxpy_oracle(kind, data):
    """Kernel value == cvxpy (Clarabel, tight tolerances) within 1e-8 when cvxpy reports 'optimal'."""
    q, z = data.draw(qz(n=(2, 5)))
    support = data.draw(SUPPORTS)
    r = data.draw(st.sampled_from([0.05, 0.3, 0.9]))
    if kind == "cvar":
        r = data.draw(st.sampled_from([0.3, 0.5, 1.0]))
    if kind in U.PENALTIES:
        r = data.draw(st.sampled_from([0.3, 1.0]))
    w = np.linspace(0.5, 1.5, q.size) if kind == "wl1" else None
    us = U.UncertaintySet(kind, r, support, weights=w)
    p, val = U.worst_case(q, z, us)
    pc, vc, status = U.cvxpy_inner(q, z, us, return_status=True)
    # 'optimal_inaccurate' happens for the exponential cone near degenerate radii; then 1e-6
    assert val == pytest.approx(vc, abs=1e-8 if status == "optimal" else 1e-6)


def test_l2_closed_form_when_simplex_slack():
    """Interior case: p = q - kappa (z - zbar)/||z - zbar|| (nonnegativity slack)."""
    q = np.array([0.3, 0.4, 0.3])
    z = np.array([1.0, 2.0, 4.0])
    kappa = 0.05
    zc = z - z.mean()
    p_cf = q - kappa * zc / np.linalg.norm(zc)
    p, val = U.l2_inner(q, z, kappa)
    np.testing.assert_allclose(p, p_cf, atol=1e-14)
    assert val == pytest.approx(q @ z - kappa * np.linalg.norm(zc), abs=1e-14)


def test_chi2_closed_form_when_slack():
    """Interior case: value = q.z - sqrt(kappa Var_q(z))."""
    q = np.array([0.2, 0.5, 0.3])
    z = np.array([1.0, 2.0, 3.0])
    kappa = 0.01
    var = q @ (z - q @ z) ** 2
    _, val = U.chi2_inner(q, z, kappa)
    assert val == pytest.approx(q @ z - np.sqrt(kappa * var), abs=1e-14)


@pytest.mark.parametrize("kind", ["l2", "chi2", "kl", "l1", "linf"])
def test_norm_ball_value_is_at_least_the_unconstrained_bound(kind):
    """When the simplex constraint binds, the closed-form value is only a lower bound (an inequality)."""
    q = np.array([0.05, 0.5, 0.45])
    z = np.array([0.0, 1.0, 5.0])
    r = 0.6
    _, val = U.worst_case(q, z, kind, r)
    zc = z - z.mean()
    if kind == "l2":
        assert val >= q @ z - r * np.linalg.norm(zc) - 1e-12
    else:
        assert val >= z.min() - 1e-12


def test_kl_boundary_case_minimum_on_support():
    """kappa >= -log q(argmin z): the minimum min z is attained by q restricted to argmin z."""
    q = np.array([0.25, 0.25, 0.5])
    z = np.array([0.0, 0.0, 1.0])
    p, val = U.kl_inner(q, z, -np.log(0.5) + 1e-3)
    assert val == 0.0
    np.testing.assert_allclose(p, [0.5, 0.5, 0.0])
    p2, val2 = U.kl_inner(q, z, -np.log(0.5) - 1e-3)
    assert 0.0 < val2 < 1e-2


def test_support_semantics_differ_for_l1():
    q = np.array([0.0, 0.5, 0.5])
    z = np.array([-10.0, 1.0, 2.0])
    p_nom, v_nom = U.l1_inner(q, z, 0.4)
    p_sim, v_sim = U.l1_inner(q, z, 0.4, support="simplex")
    assert p_nom[0] == 0.0 and v_nom == pytest.approx(1.3)
    assert p_sim[0] == pytest.approx(0.2) and v_sim == pytest.approx(0.2 * -10 + 0.5 + 0.3 * 2)


def test_radius_zero_is_nominal():
    q = np.array([0.2, 0.3, 0.5])
    z = np.array([3.0, -1.0, 2.0])
    for kind in ["l1", "linf", "l2", "chi2", "kl", "wasserstein"]:
        p, val = U.worst_case(q, z, kind, 0.0)
        np.testing.assert_allclose(p, q, atol=1e-15)
        assert val == pytest.approx(q @ z)


def test_user_cvxpy_set():
    """engine='cvxpy' solves a set the user writes: here an L1 ball written by hand."""
    import cvxpy as cp

    q = np.array([0.2, 0.3, 0.5])
    z = np.array([3.0, -1.0, 2.0])
    us = U.UncertaintySet("cvxpy", 0.0, constraints=lambda p, qq: [cp.sum(cp.abs(p - qq)) <= 0.4])
    p, val = U.worst_case(q, z, us)
    assert val == pytest.approx(U.l1_inner(q, z, 0.4)[1], abs=1e-8)


def test_parse_and_validation():
    us = U.parse_uncertainty("l1:0.1,rect=s,support=simplex")
    assert (us.kind, us.radius, us.rectangularity, us.support) == ("l1", 0.1, "s", "simplex")
    assert U.parse_uncertainty("box:0.2").kind == "linf"
    for bad in ["l1", "l1:x", "foo:0.1", "l1:-1", "cvar:0", "kl_penalty:0", "l1:0.1,bad=1", "l1:0.1,rect=t"]:
        with pytest.raises(InvalidArgumentError):
            U.parse_uncertainty(bad)
    with pytest.raises(InvalidArgumentError, match="sums to"):
        U.l1_inner([0.5, 0.4], [0.0, 1.0], 0.1)
    with pytest.raises(InvalidArgumentError, match="one shape"):
        U.l1_inner([0.5, 0.5], [0.0, 1.0, 2.0], 0.1)
    with pytest.raises(InvalidArgumentError, match="zero diagonal"):
        U.wasserstein_inner([0.5, 0.5], [0.0, 1.0], 0.1, metric=np.ones((2, 2)))
    with pytest.raises(InvalidArgumentError, match="weights"):
        U.weighted_l1_inner([0.5, 0.5], [0.0, 1.0], 0.1, weights=[-1.0, 1.0])

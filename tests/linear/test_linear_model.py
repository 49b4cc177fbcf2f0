"""LinearMDP, linear mixtures, generators, linearity certificate and data (mdpkit.linear)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import InvalidArgumentError, InvalidMDPError, InvalidPolicyError, TabularMDP
from mdpkit.generators import make
from mdpkit.linear import (
    LinearMDP,
    LinearMixtureMDP,
    TransitionData,
    feature_coverage,
    generative_samples,
    linear_mixture_mdp,
    linearity_certificate,
    misspecified_linear_mdp,
    offline_dataset,
    one_hot_features,
    one_hot_linear_mdp,
    policy_q_values,
    random_linear_mdp,
    sample_episodes,
    simplex_linear_mdp,
)


def _tiny(**kw):
    phi = np.eye(2).reshape(2, 1, 2)
    args = dict(phi=phi, mu=[[0.5, 0.5], [0.0, 1.0]], theta=[0.0, 1.0], horizon=3)
    args.update(kw)
    return LinearMDP(**args)


# ----------------------------------------------------------------------------- validation
def test_tiny_model_arrays():
    m = _tiny()
    assert m.P.shape == (3, 2, 1, 2) and m.R.shape == (3, 2, 1)
    np.testing.assert_array_equal(m.P[1, 0, 0], [0.5, 0.5])
    assert m.R[2, 1, 0] == 1.0 and not m.is_stagewise


@pytest.mark.parametrize("kw,match", [
    (dict(phi=np.ones((2, 2))), r"phi must have 3 dimensions"),
    (dict(mu=np.ones((3, 2)) / 2), r"mu must have shape \(d, S\) = \(2, 2\)"),
    (dict(theta=[1.0, 2.0, 3.0]), r"theta must have shape \(d,\) = \(2,\)"),
    (dict(mu=[[0.5, 0.6], [0.0, 1.0]]), r"row \(s, a\) = \(0, 0\) sums to 1.1"),
    (dict(mu=[[1.5, -0.5], [0.0, 1.0]]), r"P\[0, 0, 1\] = -0.5 is negative"),
    (dict(horizon=None), r"exactly one of horizon"),
    (dict(gamma=0.9), r"exactly one of horizon"),
    (dict(horizon=None, gamma=0.9, mu=np.stack([np.eye(2)] * 3)), r"stage-wise"),
    (dict(mu=np.stack([np.eye(2)] * 2)), r"stage-wise mu has 2 stages but horizon=3"),
    (dict(mu0=[0.5, 0.6]), r"mu0 must be a probability vector"),
    (dict(phi=np.full((2, 1, 2), np.nan)), r"phi\[0, 0, 0\] is nan"),
    (dict(horizon=0), r"horizon must be >= 1"),
])
def test_bad_input_named(kw, match):
    with pytest.raises(InvalidMDPError, match=match):
        _tiny(**kw)


def test_nothing_renormalised():
    mu = [[0.5, 0.5 + 1e-6], [0.0, 1.0]]
    with pytest.raises(InvalidMDPError, match="nothing is renormalised"):
        _tiny(mu=mu)
    m = _tiny(mu=mu, atol=1e-5)
    assert m.P[0, 0, 0].sum() == pytest.approx(1.0 + 1e-6, abs=1e-15)  # kept as given


def test_P_is_phi_times_mu_by_loops():
    m = random_linear_mdp(4, 3, 3, horizon=2, stagewise=True, rng=0)
    for h in range(2):
        for s in range(4):
            for a in range(3):
                for t in range(4):
                    ref = sum(m.phi[s, a, i] * m.mu[h, i, t] for i in range(3))
                    assert m.P[h, s, a, t] == pytest.approx(ref, abs=1e-14)
                assert m.R[h, s, a] == pytest.approx(sum(m.phi[s, a, i] * m.theta[h, i] for i in range(3)), abs=1e-14)


def test_to_tabular_forms():
    disc = simplex_linear_mdp(4, 2, 3, gamma=0.8, rng=1)
    t = disc.to_tabular()
    assert isinstance(t, TabularMDP) and t.gamma == 0.8
    np.testing.assert_array_equal(t.P, disc.P)
    hom = simplex_linear_mdp(4, 2, 3, horizon=3, rng=1)
    ts = hom.to_tabular()
    assert len(ts) == 3 and ts[0] is ts[2] and ts[0].gamma == 1.0
    sw = simplex_linear_mdp(4, 2, 3, horizon=3, stagewise=True, rng=1)
    ts = sw.to_tabular()
    assert len(ts) == 3 and not np.allclose(ts[0].P, ts[1].P)
    for h in range(3):
        np.testing.assert_array_equal(ts[h].P, sw.P[h])
        np.testing.assert_array_equal(ts[h].R, sw.R[h])


@pytest.mark.parametrize("spec", ["riverswim:gamma=0.9", "gridworld_5x5"])
def test_one_hot_round_trip(spec):
    mdp = make(spec)
    lm = one_hot_linear_mdp(mdp)
    assert lm.d == mdp.S * mdp.A
    t = lm.to_tabular()
    np.testing.assert_array_equal(t.P, mdp.P_dense())
    np.testing.assert_array_equal(t.R, mdp.R)
    np.testing.assert_array_equal(t.mu0, mdp.mu0)
    assert linearity_certificate(mdp, one_hot_features(mdp.S, mdp.A)).max_P_residual < 1e-12


def test_one_hot_rejects_masked():
    P = np.full((2, 2, 2), 0.5)
    mdp = TabularMDP(P, np.zeros((2, 2)), 0.9, action_mask=np.array([[True, False], [True, True]]))
    with pytest.raises(InvalidArgumentError, match="masks action 1 in state 0"):
        one_hot_linear_mdp(mdp)


@settings(max_examples=25, deadline=None)
@given(S=st.integers(2, 6), A=st.integers(1, 3), d=st.integers(1, 4), seed=st.integers(0, 2**31),
       stagewise=st.booleans(), signed=st.booleans())
def test_generators_valid_and_linear(S, A, d, seed, stagewise, signed):
    d = min(d, S * A)
    gen = random_linear_mdp if signed else simplex_linear_mdp
    m = gen(S, A, d, horizon=3, stagewise=stagewise, rng=seed)
    assert np.all(m.P >= 0)
    np.testing.assert_allclose(m.P.sum(axis=-1), 1.0, atol=1e-12)
    if not signed:
        assert m.jin_assumption_holds()
        assert np.all((m.R >= 0) & (m.R <= 1))
    for h, t in enumerate(m.to_tabular()):
        cert = linearity_certificate(t, m.phi)
        assert cert.is_linear and cert.max_P_residual < 1e-10, (h, cert.max_P_residual)
        assert cert.rank == d


def test_certificate_matches_projection_oracle_and_finds_misspecification():
    m = simplex_linear_mdp(6, 3, 4, horizon=4, rng=3)
    for eps in (0.0, 0.05, 0.3):
        models, phi = misspecified_linear_mdp(m, eps, rng=4)
        cert = linearity_certificate(models[0], phi)
        # oracle: residual of the orthogonal projection I - Phi Phi^+ (pinv, not lstsq)
        Phi = phi.reshape(18, 4)
        P = models[0].P.reshape(18, 6)
        resid = P - Phi @ np.linalg.pinv(Phi) @ P
        np.testing.assert_allclose(cert.P_residual.ravel(), np.abs(resid).sum(axis=1), atol=1e-12)
        # least squares beats the known comparator (1 - eps) mu, row-sum of squares (Frobenius)
        comp = P - (1 - eps) * Phi @ np.asarray(m.mu)
        assert (resid**2).sum() <= (comp**2).sum() + 1e-12
        if eps == 0.0:
            assert cert.is_linear
        else:
            assert not cert.is_linear and cert.max_P_residual > 1e-3
            assert cert.max_P_residual <= 2 * eps * np.sqrt(6) + 1e-12  # l1 <= sqrt(S) l2 <= sqrt(S) ||comp row||
            s, a = cert.worst_pair
            assert cert.P_residual[s, a] + cert.R_residual[s, a] == pytest.approx(
                (cert.P_residual + cert.R_residual).max())


def test_certificate_bad_phi():
    mdp = make("riverswim:gamma=0.9")
    with pytest.raises(InvalidArgumentError, match=r"phi must have shape \(S, A, d\)"):
        linearity_certificate(mdp, np.ones((2, 2, 2)))


# ----------------------------------------------------------------------------- mixtures
def test_linear_mixture():
    lm = linear_mixture_mdp(4, 2, 3, gamma=0.9, rng=0)
    P = sum(lm.theta[i] * lm.bases[i] for i in range(3))
    np.testing.assert_allclose(lm.P, P, atol=1e-15)
    v = np.arange(4.0)
    np.testing.assert_allclose(lm.features(v) @ lm.theta, lm.P @ v, atol=1e-12)
    with pytest.raises(InvalidMDPError, match=r"row \(s, a\) = \(0, 0\)"):
        LinearMixtureMDP(lm.bases, lm.theta * 2, lm.R, gamma=0.9)


# ----------------------------------------------------------------------------- policies and values
def test_policy_values_forward_oracle():
    """Backward recursion of policy_q_values == forward propagation of state laws."""
    m = random_linear_mdp(5, 3, 4, horizon=4, stagewise=True, rng=5)
    rng = np.random.default_rng(0)
    pol = rng.dirichlet(np.ones(3), size=(4, 5))
    _, v = policy_q_values(m, pol)
    law = np.array(m.mu0)
    total = 0.0
    for h in range(4):
        sa = law[:, None] * pol[h]
        total += (sa * m.R[h]).sum()
        law = np.einsum("sa,sat->t", sa, m.P[h])
    assert m.mu0 @ v[0] == pytest.approx(total, rel=1e-12)
    with pytest.raises(InvalidPolicyError, match=r"policy\[0, 0\] = 7"):
        policy_q_values(m, np.full((4, 5), 7))


# ----------------------------------------------------------------------------- data
def test_generative_frequencies():
    m = simplex_linear_mdp(3, 2, 2, horizon=2, rng=6)
    D = generative_samples(m, 20000, h=1, rng=0)
    assert D.n == 3 * 2 * 20000 and np.all(D.h == 1)
    for s in range(3):
        for a in range(2):
            sel = (D.s == s) & (D.a == a)
            freq = np.bincount(D.s_next[sel], minlength=3) / sel.sum()
            p = m.P[1, s, a]
            assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / 20000) + 1e-12)
            assert np.all(D.r[sel] == m.R[1, s, a])


def test_episodes_and_coverage():
    m = one_hot_linear_mdp(make("riverswim:gamma=0.9"), horizon=4)
    S, A = m.S, m.A
    D = sample_episodes(m, np.zeros((4, S), np.int64), 300, rng=1)
    assert D.n == 1200
    np.testing.assert_array_equal(D.h[:4], np.arange(4))
    np.testing.assert_array_equal(D.s[1:4], D.s_next[0:3])  # episodes are contiguous trajectories
    cov = feature_coverage(m, D)
    assert np.all(cov == 0.0)  # action 1 never taken: one-hot directions missing
    unif = np.full((4, S, A), 1.0 / A)
    D2, cov2 = offline_dataset(simplex_linear_mdp(4, 2, 3, horizon=4, rng=2), unif.reshape(4, S, A)[:, :4], 500, rng=2)
    F = simplex_linear_mdp(4, 2, 3, horizon=4, rng=2).phi[D2.s, D2.a]
    for h in range(4):
        sel = D2.h == h
        C = F[sel].T @ F[sel] / sel.sum()
        assert cov2[h] == pytest.approx(np.linalg.eigvalsh(C)[0], rel=1e-10, abs=1e-14)
        assert cov2[h] > 0


def test_dataset_out_of_range_named():
    m = simplex_linear_mdp(3, 2, 2, horizon=2, rng=0)
    D = TransitionData(h=[0, 1], s=[0, 3], a=[0, 1], r=[0.0, 1.0], s_next=[1, 2])
    with pytest.raises(InvalidArgumentError, match=r"transition 1: s = 3 is out of range \[0, 3\)"):
        feature_coverage(m, D)
    with pytest.raises(InvalidArgumentError, match="equal length"):
        TransitionData(h=[0], s=[0, 1], a=[0], r=[0.0], s_next=[0])

"""Kernels of mdpkit._kernels.linear against their plain-numpy twins (the oracles live here)."""

import numpy as np
import pytest

from mdpkit._kernels import linear as klin
from mdpkit.linear import policy_q_values, random_linear_mdp, simplex_linear_mdp
from mdpkit.solvers.linear import linear_exact_solution, lsvi_ucb


# ----------------------------------------------------------------------------- numpy twins
def ucb_plan_np(phi2, Linv, bM, br, beta, cap, S):
    H = Linv.shape[0]
    SA = phi2.shape[0]
    V = np.zeros((H + 1, S))
    Q = np.empty((H, SA))
    pi = np.empty((H, S), np.int64)
    W = np.empty((H, phi2.shape[1]))
    for h in range(H - 1, -1, -1):
        w = Linv[h] @ (br[h] + bM[h] @ V[h + 1])
        bonus = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", phi2, Linv[h], phi2), 0.0))
        Q[h] = np.minimum(phi2 @ w + beta * bonus, cap)
        pi[h] = Q[h].reshape(S, SA // S).argmax(axis=1)
        V[h] = Q[h].reshape(S, SA // S).max(axis=1)
        W[h] = w
    return Q, V, pi, W


def lsvi_ucb_np(lmdp, U, beta, cap, lam=1.0):
    """The whole algorithm, re-fitting every episode from the raw history (no sufficient statistics)."""
    H, S, d = lmdp.horizon, lmdp.S, lmdp.d
    phi = np.asarray(lmdp.phi)
    Vstar = linear_exact_solution(lmdp).v
    hist = [[] for _ in range(H)]
    out = []
    for k in range(U.shape[0]):
        V = np.zeros((H + 1, S))
        pi = np.empty((H, S), np.int64)
        for h in range(H - 1, -1, -1):
            Lam = lam * np.eye(d)
            b = np.zeros(d)
            for (s, a, r, s2) in hist[h]:
                Lam += np.outer(phi[s, a], phi[s, a])
                b += phi[s, a] * (r + V[h + 1, s2])
            Li = np.linalg.inv(Lam)
            w = Li @ b
            q = np.einsum("sad,d->sa", phi, w) + beta * np.sqrt(np.einsum("sad,de,sae->sa", phi, Li, phi))
            q = np.minimum(q, cap)
            pi[h] = q.argmax(axis=1)
            V[h] = q.max(axis=1)
        _, vpi = policy_q_values(lmdp, pi)
        reg = lmdp.mu0 @ (Vstar[0] - vpi[0])
        s = int(np.searchsorted(np.cumsum(lmdp.mu0), U[k, 0] * np.cumsum(lmdp.mu0)[-1], side="right"))
        a0 = int(pi[0, s])
        ret = 0.0
        for h in range(H):
            a = int(pi[h, s])
            c = np.cumsum(lmdp.P[h][s, a])
            s2 = min(int(np.searchsorted(c, U[k, h + 1] * c[-1], side="right")), S - 1)
            r = float(lmdp.R[h][s, a])
            hist[h].append((s, a, r, s2))
            ret += r
            s = s2
        out.append((reg, ret, a0, (V[:H] - Vstar[:H]).min()))
    return out


# ----------------------------------------------------------------------------- tests
def test_sherman_morrison_matches_inverse():
    rng = np.random.default_rng(0)
    d = 5
    Lam = np.eye(d) * 0.7
    Linv = np.linalg.inv(Lam)
    tmp = np.empty(d)
    for _ in range(50):
        x = rng.normal(size=d)
        Lam += np.outer(x, x)
        klin.sherman_morrison(Linv, x, tmp)
    np.testing.assert_allclose(Linv, np.linalg.inv(Lam), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("beta,cap", [(0.0, np.inf), (1.3, 2.5)])
def test_ucb_plan_matches_numpy(beta, cap):
    rng = np.random.default_rng(1)
    H, S, A, d = 3, 4, 2, 3
    phi2 = rng.random((S * A, d))
    G = rng.normal(size=(H, d, d))
    Linv = np.einsum("hij,hkj->hik", G, G) + np.eye(d)
    bM, br = rng.random((H, d, S)), rng.random((H, d))
    Q, V, pi, W = np.empty((H, S * A)), np.zeros((H + 1, S)), np.empty((H, S), np.int64), np.empty((H, d))
    klin.ucb_plan(phi2, Linv, bM, br, np.float64(beta), np.float64(cap), S, Q, V, pi, W)
    Q2, V2, pi2, W2 = ucb_plan_np(phi2, Linv, bM, br, beta, cap, S)
    np.testing.assert_allclose(Q, Q2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(V, V2, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(pi, pi2)


def test_policy_value_matches_policy_q_values():
    m = random_linear_mdp(5, 3, 4, horizon=4, stagewise=True, rng=2)
    pi = np.random.default_rng(0).integers(0, 3, (4, 5))
    V = np.empty((5, 5))
    P3 = np.array(m.P).reshape(4, 15, 5)
    klin.policy_value(P3, np.array(m.R).reshape(4, 15), pi, 5, V)
    np.testing.assert_allclose(V, policy_q_values(m, pi)[1], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 0.1, 0.0])
def test_lsvi_ucb_loop_equals_refit_from_history(scale):
    """The Numba loop with sufficient statistics == re-fitting on the whole history every episode."""
    m = simplex_linear_mdp(4, 2, 3, horizon=3, stagewise=True, rng=3)
    K = 25
    res = lsvi_ucb(m, K, seed=7, beta_scale=scale)
    U = np.random.default_rng(res.seeds[0]).random((K, m.horizon + 1))
    ref = lsvi_ucb_np(m, U, res.beta, float(m.horizon))
    np.testing.assert_allclose(res.episode_regret[0], [r[0] for r in ref], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.rewards[0], [r[1] for r in ref], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(res.actions[0], [r[2] for r in ref])
    np.testing.assert_allclose(res.optimism_margin[0], [r[3] for r in ref], rtol=1e-8, atol=1e-8)


def test_one_signature_per_kernel():
    """Run every public entry point that reaches the kernels, then count compiled signatures."""
    from numba.core.registry import CPUDispatcher

    m = simplex_linear_mdp(3, 2, 2, horizon=2, rng=0)
    lsvi_ucb(m, 3, n_runs=2, beta=0.5)
    lsvi_ucb(m, 3, truncate=False)
    for name, f in vars(klin).items():
        if isinstance(f, CPUDispatcher):
            assert len(f.signatures) <= 1, (name, f.signatures)

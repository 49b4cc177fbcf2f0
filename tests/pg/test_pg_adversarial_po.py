"""Best-of-both-worlds PO and delay-adapted PO on episodic MDPs with known transitions.

Oracles: scipy SLSQP for the FTRL step, trajectory enumeration for the episodic occupancy, an
occupancy-polytope LP (scipy HiGHS) for the best fixed policy in hindsight, and a hand-written
replay of DAPO's delayed update.
"""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog, minimize

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError, InvalidPolicyError
from mdpkit.model import TabularMDP
from mdpkit.occupancy import episodic_occupancy
from mdpkit.solvers.adversarial_po import (
    best_fixed_policy,
    bobw_policy_optimization,
    delay_adapted_policy_optimization,
    ftrl_simplex,
)


def _mdp(S=2, A=2, seed=0):
    rng = np.random.default_rng(seed)
    return TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), np.zeros((S, A)), 0.9)


@pytest.mark.parametrize("reg", ["shannon", "tsallis", "log-barrier"])
def test_ftrl_simplex_matches_slsqp(reg):
    rng = np.random.default_rng(3)
    L = rng.normal(size=(4, 3)) * 3
    eta = np.array([0.3, 1.0, 2.0, 0.05])
    p = ftrl_simplex(L, eta, reg)
    psi = {"shannon": lambda x: np.sum(x * np.log(x)), "tsallis": lambda x: -2 * np.sum(np.sqrt(x)),
           "log-barrier": lambda x: -np.sum(np.log(x))}[reg]
    for i in range(4):
        res = minimize(lambda x: L[i] @ x + psi(x) / eta[i], np.full(3, 1 / 3), method="SLSQP",
                       bounds=[(1e-12, 1)] * 3, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
                       options=dict(ftol=1e-14, maxiter=500))
        assert np.allclose(p[i], res.x, atol=2e-5), (reg, i, p[i], res.x)
    assert np.allclose(p.sum(axis=1), 1.0, atol=1e-14)


def test_episodic_occupancy_matches_trajectory_enumeration():
    S, A, H = 2, 2, 3
    mdp = _mdp(S, A, 1)
    rng = np.random.default_rng(4)
    pi = rng.dirichlet(np.ones(A), size=(H, S))
    q = episodic_occupancy(mdp, pi)
    P, mu = mdp.P_dense(), mdp.mu0
    ref = np.zeros((H, S, A))
    for traj in itertools.product(range(S), range(A), repeat=H):  # (s0, a0, s1, a1, ...)
        ss, aa = traj[0::2], traj[1::2]
        pr = mu[ss[0]]
        for h in range(H):
            pr *= pi[h, ss[h], aa[h]]
            if h + 1 < H:
                pr *= P[ss[h], aa[h], ss[h + 1]]
        for h in range(H):
            ref[h, ss[h], aa[h]] += pr
    assert np.allclose(q, ref, atol=1e-14)
    with pytest.raises(InvalidPolicyError, match="sums to"):
        episodic_occupancy(mdp, pi * 1.1)


def _lp_best_in_hindsight(P, mu, Lsum):
    """min <q, L> over the episodic occupancy polytope (flow constraints), scipy HiGHS."""
    H, S, A = Lsum.shape
    n = H * S * A
    idx = lambda h, s, a: (h * S + s) * A + a  # noqa: E731
    rows, rhs = [], []
    for s in range(S):
        r = np.zeros(n)
        r[[idx(0, s, a) for a in range(A)]] = 1
        rows.append(r), rhs.append(mu[s])
    for h in range(1, H):
        for s2 in range(S):
            r = np.zeros(n)
            r[[idx(h, s2, a) for a in range(A)]] = 1
            for s in range(S):
                for a in range(A):
                    r[idx(h - 1, s, a)] -= P[s, a, s2]
            rows.append(r), rhs.append(0.0)
    res = linprog(Lsum.ravel(), A_eq=np.array(rows), b_eq=rhs, bounds=[(0, None)] * n, method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("reg", ["tsallis", "shannon", "log-barrier"])
def test_regret_is_exact_against_lp(reg):
    S, A, H, K = 3, 2, 3, 40
    mdp = _mdp(S, A, 2)
    losses = np.random.default_rng(5).random((K, H, S, A))
    res = bobw_policy_optimization(mdp, losses, rng=np.random.default_rng(6), regularizer=reg)
    P, mu = mdp.P_dense(), mdp.mu0
    exp = np.array([np.sum(episodic_occupancy(mdp, res.policies[k]) * losses[k]) for k in range(K)])
    assert np.allclose(res.expected_loss, exp, atol=1e-12)
    for k in (0, 9, K - 1):
        best = _lp_best_in_hindsight(P, mu, losses[: k + 1].sum(axis=0))
        assert res.regret[k] == pytest.approx(exp[: k + 1].sum() - best, abs=1e-8)
    val, pol = best_fixed_policy(mdp, losses)
    onehot = np.eye(A)[pol]
    assert np.sum(episodic_occupancy(mdp, onehot) * losses.sum(axis=0)) == pytest.approx(val, abs=1e-10)
    assert np.array_equal(res.comparator_policy, pol)
    # the trajectories are those of the policies: every sampled action has positive probability
    assert np.all(res.policies[np.arange(K)[:, None], np.arange(H)[None], res.states, res.actions] > 0)


def _stochastic(S, A, H, K, seed=0):
    rng = np.random.default_rng(seed)
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), np.zeros((S, A)), 0.9)
    means = np.full((H, S, A), 0.9)
    means[:, :, 0] = 0.1
    return mdp, means, (rng.random((K, H, S, A)) < means).astype(float)


@pytest.mark.parametrize("reg", ["tsallis", "shannon"])
def test_stochastic_regime_regret_flattens(reg):
    # i.i.d. Bernoulli losses with gap 0.8 per step: the pseudo-regret's log-log slope over the
    # last doubling of K is far below the 1/2 of a sqrt(K) algorithm (polylog regime)
    S, A, H, K = 2, 2, 2, 4000
    mdp, means, losses = _stochastic(S, A, H, K)
    res = bobw_policy_optimization(mdp, losses, rng=np.random.default_rng(1), regularizer=reg, mean_losses=means,
                                   gap_min=0.8)
    r = res.pseudo_regret
    slope = math.log(r[K - 1] / r[K // 2 - 1]) / math.log(2)
    assert slope < 0.35, slope
    assert res.certificate.kind is bounds.BoundKind.RATE_ONLY
    assert r[-1] <= res.certificate.value  # far inside the rate shape H^2 S A log^c K / gap
    # contrast: the worst-case-tuned constant rate sqrt(log A / K)/H (no best-of-both-worlds schedule)
    fixed = bobw_policy_optimization(mdp, losses, rng=np.random.default_rng(1), regularizer="shannon",
                                     variant="fixed-eta", eta=math.sqrt(math.log(A) / K) / H, mean_losses=means)
    assert r[-1] < 0.6 * fixed.pseudo_regret[-1], (r[-1], fixed.pseudo_regret[-1])


def _adversarial_sequences(H, S, A, K):
    rng = np.random.default_rng(7)
    unif = rng.random((K, H, S, A))
    pattern = rng.random((H, S, A))
    phase = np.where(((np.arange(K) // 100) % 2 == 1)[:, None, None, None], pattern[None], 0.5)
    near = np.full((H, S, A), 0.5)
    near[:, :, 0] -= 1 / math.sqrt(K)
    return {"uniform": unif, "phases": phase, "small-gap": (rng.random((K, H, S, A)) < near).astype(float)}


def test_adversarial_regime_regret_within_rate_shape():
    S, A, H, K = 2, 2, 2, 1000
    mdp = _mdp(S, A, 0)
    rate = bounds.bobw_po_regret_rate(H=H, S=S, A=A, K=K, regime="adversarial").value
    for name, losses in _adversarial_sequences(H, S, A, K).items():
        for reg in ("tsallis", "shannon"):
            res = bobw_policy_optimization(mdp, losses, rng=np.random.default_rng(2), regularizer=reg)
            assert res.regret[-1] <= 0.5 * rate, (name, reg, res.regret[-1], rate)


def test_dapo_with_zero_delay_is_undelayed_exponential_weights():
    S, A, H, K = 2, 3, 2, 200
    mdp = _mdp(S, A, 3)
    losses = np.random.default_rng(8).random((K, H, S, A))
    a = delay_adapted_policy_optimization(mdp, losses, np.zeros(K, dtype=int), rng=np.random.default_rng(9),
                                          variant="fixed-eta", eta=0.05, ix=0.0)
    b = bobw_policy_optimization(mdp, losses, rng=np.random.default_rng(9), regularizer="shannon",
                                 variant="fixed-eta", eta=0.05)
    assert np.array_equal(a.policies, b.policies)
    assert np.array_equal(a.regret, b.regret)


def test_dapo_delayed_update_matches_hand_replay():
    S, A, H, K = 2, 2, 2, 6
    mdp = _mdp(S, A, 4)
    losses = np.random.default_rng(10).random((K, H, S, A))
    d = np.array([2, 0, 1, 0, 5, 0])
    eta, ix = 0.4, 0.1
    res = delay_adapted_policy_optimization(mdp, losses, d, rng=np.random.default_rng(11), variant="fixed-eta",
                                            eta=eta, ix=ix)
    cum = np.zeros((H, S, A))
    for k in range(K):
        w = np.exp(-eta * (cum - cum.min(axis=2, keepdims=True)))
        assert np.allclose(res.policies[k], w / w.sum(axis=2, keepdims=True), atol=1e-13), k
        for j in range(K):
            if j + d[j] == k:  # arrives at the end of episode k, with pi_{j+d_j} = pi_k
                q = episodic_occupancy(mdp, res.policies[j]).sum(axis=2)
                obs = losses[j][np.arange(H), res.states[j], res.actions[j]]
                for h in range(H):
                    s, a = res.states[j, h], res.actions[j, h]
                    den = q[h, s] * max(res.policies[j, h, s, a], res.policies[k, h, s, a]) + ix
                    cum[h, s, a] += obs[h:].sum() / den
    # episode 4's feedback (delay 5) never arrives: nothing after it changes because of it
    assert res.delays.tolist() == d.tolist()


def test_dapo_feedback_never_arriving_keeps_uniform_policy():
    S, A, H, K = 2, 3, 2, 30
    mdp = _mdp(S, A, 5)
    losses = np.random.default_rng(12).random((K, H, S, A))
    res = delay_adapted_policy_optimization(mdp, losses, np.full(K, K), rng=np.random.default_rng(0))
    assert np.allclose(res.policies, 1 / A, atol=0)
    assert res.options["total_delay"] == sum(K - 1 - k for k in range(K))


def test_dapo_delayed_regret_within_rate_shape():
    S, A, H, K = 2, 2, 2, 1000
    mdp = _mdp(S, A, 0)
    for name, losses in _adversarial_sequences(H, S, A, K).items():
        for dl in (0, 20):
            res = delay_adapted_policy_optimization(mdp, losses, np.full(K, dl), rng=np.random.default_rng(3))
            assert res.regret[-1] <= res.certificate.value, (name, dl)


def test_bounds_refuse_non_paper_and_unencoded_cases():
    with pytest.raises(bounds.NonPaperVariantError):
        bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=10, regime="adversarial", variant="fixed-eta")
    with pytest.raises(bounds.NonPaperVariantError):
        bounds.dapo_regret_rate(H=2, S=2, A=2, K=10, total_delay=0, variant="fixed-eta")
    with pytest.raises(ValueError, match="log-barrier"):
        bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=10, regime="adversarial", regularizer="log-barrier")
    with pytest.raises(ValueError, match="gap_min"):
        bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=10, regime="stochastic")
    a = bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=100, regime="adversarial").value
    b = bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=400, regime="adversarial").value
    assert 2.0 < b / a < 2.7  # sqrt(K log K)
    s1 = bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=100, regime="stochastic", gap_min=0.5).value
    s2 = bounds.bobw_po_regret_rate(H=2, S=2, A=2, K=10_000, regime="stochastic", gap_min=0.5).value
    assert s2 / s1 == pytest.approx(2.0)  # log K
    mdp = _mdp()
    res = bobw_policy_optimization(mdp, np.zeros((3, 2, 2, 2)), rng=np.random.default_rng(0), variant="fixed-eta",
                                   eta=0.1)
    assert res.certificate is None


def test_bad_input_is_refused():
    mdp = _mdp()
    ok = np.zeros((3, 2, 2, 2))
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        bobw_policy_optimization(mdp, ok + 1.5, rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="shape"):
        bobw_policy_optimization(mdp, np.zeros((3, 2, 3, 2)), rng=np.random.default_rng(0))
    with pytest.raises(InvalidArgumentError, match="Generator"):
        bobw_policy_optimization(mdp, ok, rng=0)
    with pytest.raises(InvalidArgumentError, match="fixed-eta"):
        bobw_policy_optimization(mdp, ok, rng=np.random.default_rng(0), eta=0.1)
    with pytest.raises(InvalidArgumentError, match="regularizer"):
        bobw_policy_optimization(mdp, ok, rng=np.random.default_rng(0), regularizer="kl")
    with pytest.raises(InvalidArgumentError, match="delays"):
        delay_adapted_policy_optimization(mdp, ok, [0, -1, 0], rng=np.random.default_rng(0))
    masked = TabularMDP(mdp.P, mdp.R, 0.9, action_mask=np.array([[True, False], [True, True]]))
    with pytest.raises(InvalidArgumentError, match="action_mask"):
        bobw_policy_optimization(masked, ok, rng=np.random.default_rng(0))


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_ftrl_kernel_matches_plain_twin(power):
    from mdpkit._kernels.pg import ftrl_newton_rows, ftrl_newton_rows_plain

    rng = np.random.default_rng(int(power))
    x = rng.exponential(3.0, size=(6, 4))
    x -= x.min(axis=1, keepdims=True)
    eta = rng.uniform(0.01, 5.0, size=6)
    a, b = np.empty_like(x), np.empty_like(x)
    ftrl_newton_rows(x, eta, np.float64(power), a)
    ftrl_newton_rows_plain(x, eta, power, b)
    assert np.allclose(a, b, atol=1e-13)
    assert len(ftrl_newton_rows.signatures) == 1

"""mdpkit against peer libraries: QuantEcon ``DiscreteDP`` and pymdptoolbox ``PolicyIteration``.

The peers solve the same models by their own policy iteration (``numpy.linalg.solve`` / sparse
solves, argmax improvement), so their values are v* up to rounding.  For every mdpkit solver:

* ``-1e-8 * scale <= v_peer - v_policy <= error_bound + 1e-8 * scale`` (the returned policy is
  never better than optimal and is certified within ``error_bound``), ``scale = 1 + max|v_peer|``;
* the policies agree wherever the optimal action is unique by a margin: the peer's
  ``q(s, a*) - max_{a != a*} q(s, a)`` exceeds ``max(1e-6, error_bound + slack)``.  (If pi(s)
  differed there, v*(s) - v_pi(s) >= that margin, contradicting the certified bound.)

Masked actions get reward ``-inf`` in QuantEcon (its convention for infeasible pairs) and are
left out of its sparse state-action form; pymdptoolbox has no masks, so they get a reward so
negative (``-1e6``) that no policy using one can be optimal.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal

mdptoolbox = pytest.importorskip("mdptoolbox")
import mdptoolbox.example  # noqa: E402
import mdptoolbox.mdp  # noqa: E402

qe = pytest.importorskip("quantecon")

from mdpkit import TabularMDP  # noqa: E402
from mdpkit.solvers import (  # noqa: E402
    gauss_seidel_value_iteration,
    linear_programming,
    modified_policy_iteration,
    policy_iteration,
    value_iteration,
)

SOLVERS = [
    ("vi", value_iteration, {}),
    ("vi-span", value_iteration, {"stopping": "span"}),
    ("gs", gauss_seidel_value_iteration, {}),
    ("mpi", modified_policy_iteration, {}),
    ("mpi-m0", modified_policy_iteration, {"m": 0}),
    ("pi", policy_iteration, {}),
    ("lp", linear_programming, {}),
]
#: Slack, relative to 1 + max|v*|, between two float64 computations of v*.
SLACK = 1e-8
#: A state's optimal action counts as unique when it beats the runner-up by more than this.
UNIQUE_GAP = 1e-6
#: Reward given to masked actions in pymdptoolbox, which has no action masks.
MASKED_REWARD = -1e6


# ============================================================================ peers
def quantecon_dense(mdp: TabularMDP):
    """QuantEcon DiscreteDP policy iteration on the dense (S, A) / (S, A, S) form."""
    R = np.where(mdp.action_mask, mdp.R, -np.inf)
    ddp = qe.markov.DiscreteDP(R, np.array(mdp.P_dense()), mdp.gamma)
    res = ddp.solve(method="policy_iteration")
    return np.asarray(res.v), np.asarray(res.sigma)


def quantecon_sparse(mdp: TabularMDP):
    """QuantEcon DiscreteDP on its state-action-pair form: only available (s, a), Q as CSR."""
    s_idx, a_idx = np.nonzero(mdp.action_mask)
    rows = s_idx * mdp.A + a_idx
    Q = sp.csr_matrix(mdp.P_rows)[rows]
    ddp = qe.markov.DiscreteDP(mdp.R[s_idx, a_idx], Q, mdp.gamma, s_idx, a_idx)
    res = ddp.solve(method="policy_iteration")
    return np.asarray(res.v), np.asarray(res.sigma)


def pymdptoolbox_pi(mdp: TabularMDP):
    """pymdptoolbox PolicyIteration on P (A, S, S), R (S, A); masked actions priced out."""
    P = np.ascontiguousarray(np.asarray(mdp.P_dense()).transpose(1, 0, 2))
    # a masked row may be all zeros in mdpkit; pymdptoolbox needs stochastic rows: make it a self-loop
    for s, a in zip(*np.nonzero(~mdp.action_mask)):
        if P[a, s].sum() == 0:
            P[a, s, s] = 1.0
    R = np.where(mdp.action_mask, mdp.R, MASKED_REWARD)
    with contextlib.redirect_stdout(io.StringIO()):  # pymdptoolbox prints when verbose
        pi = mdptoolbox.mdp.PolicyIteration(P, R, mdp.gamma)
        if hasattr(pi, "setSilent"):
            pi.setSilent()
        pi.run()
    return np.asarray(pi.V, dtype=float), np.asarray(pi.policy, dtype=np.int64)


PEERS = {"quantecon": quantecon_dense, "pymdptoolbox": pymdptoolbox_pi}


# ============================================================================ checks
def optimal_margins(mdp: TabularMDP, v_peer: np.ndarray):
    """From the peer's values: q, the best action and its margin over the runner-up, per state."""
    q = np.where(mdp.action_mask, mdp.R + mdp.gamma * np.asarray(mdp.P_dense()) @ v_peer, -np.inf)
    best = q.argmax(axis=1)
    if mdp.A == 1:
        return best, np.full(mdp.S, np.inf)
    top2 = np.sort(q, axis=1)[:, -2:]
    margin = np.where(np.isfinite(top2[:, 0]), top2[:, 1] - top2[:, 0], np.inf)
    return best, margin


def check_against_peer(mdp: TabularMDP, v_peer: np.ndarray, pi_peer: np.ndarray, peer: str):
    scale = 1.0 + float(np.abs(v_peer).max())
    slack = SLACK * scale
    best, margin = optimal_margins(mdp, v_peer)
    unique = margin > UNIQUE_GAP
    # the peer itself is optimal where that is unambiguous
    assert_array_equal(pi_peer[unique], best[unique], err_msg=f"{peer} policy")
    for name, fn, kw in SOLVERS:
        r = fn(mdp, **kw)
        assert r.converged, name
        gap = v_peer - np.asarray(r.v_policy)
        assert gap.min() >= -slack, f"{name} vs {peer}: v_policy exceeds the optimum by {-gap.min():.3g}"
        assert gap.max() <= r.error_bound + slack, (
            f"{name} vs {peer}: suboptimality {gap.max():.3g} > error_bound {r.error_bound:.3g}"
        )
        forced = margin > max(UNIQUE_GAP, r.error_bound + slack)
        assert_array_equal(r.policy[forced], pi_peer[forced], err_msg=f"{name} vs {peer}")


# ============================================================================ models
def random_model(seed: int, *, sparse: bool = False) -> TabularMDP:
    """Seeded random model: S in [2, 30], A in [1, 5], gamma in {0.5, 0.9, 0.99}; Dirichlet rows,
    about a third of them on a random support of 1-3 states; ~15% of actions masked."""
    rng = np.random.default_rng(seed)
    S = int(rng.integers(2, 31))
    A = int(rng.integers(1, 6))
    gamma = (0.5, 0.9, 0.99)[seed % 3]
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
    for s in range(S):
        for a in range(A):
            if rng.random() < 1 / 3:
                k = int(rng.integers(1, min(3, S) + 1))
                P[s, a] = 0.0
                P[s, a, rng.choice(S, size=k, replace=False)] = rng.dirichlet(np.ones(k))
    R = rng.normal(size=(S, A)).round(3)
    mask = rng.random((S, A)) >= 0.15
    mask[np.arange(S), rng.integers(0, A, size=S)] = True
    mdp = TabularMDP(P, R, gamma, action_mask=mask, name=f"random-{seed}")
    return mdp.to_sparse() if sparse else mdp


@pytest.mark.parametrize("peer", sorted(PEERS))
@pytest.mark.parametrize("seed", range(20))
def test_random_models_match_peer(seed, peer):
    mdp = random_model(seed, sparse=seed % 4 == 3)
    v_peer, pi_peer = PEERS[peer](mdp)
    check_against_peer(mdp, v_peer, pi_peer, peer)


def _forest(S=3, r1=4, r2=2, p=0.1, gamma=0.9) -> TabularMDP:
    P, R = mdptoolbox.example.forest(S=S, r1=r1, r2=r2, p=p)  # P (A, S, S), R (S, A)
    return TabularMDP(np.ascontiguousarray(P.transpose(1, 0, 2)), R, gamma, name="forest")


@pytest.mark.parametrize("peer", sorted(PEERS))
@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(gamma=0.96), dict(S=10, p=0.05, gamma=0.99), dict(S=30, r1=10, r2=1, p=0.2, gamma=0.95)],
    ids=["default", "gamma0.96", "S10", "S30"],
)
def test_pymdptoolbox_forest(kwargs, peer):
    """pymdptoolbox's forest-management example (Cordwell 2015) in mdpkit, dense and CSR."""
    mdp = _forest(**kwargs)
    v_peer, pi_peer = PEERS[peer](mdp)
    for m in (mdp, mdp.to_sparse()):
        check_against_peer(m, v_peer, pi_peer, peer)


def test_pymdptoolbox_forest_closed_form():
    """forest(S=3, r1=4, r2=2, p=0.1), gamma = 0.9: pymdptoolbox's documented answer
    V = (26.244, 29.484, 33.484), policy (0, 0, 0) (its PolicyIteration docstring)."""
    mdp = _forest()
    r = policy_iteration(mdp)
    np.testing.assert_allclose(r.v_policy, [26.244, 29.484, 33.484], rtol=0, atol=1e-9)
    assert_array_equal(r.policy, [0, 0, 0])


@pytest.mark.parametrize("peer", sorted(PEERS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pymdptoolbox_rand(seed, peer):
    """mdptoolbox.example.rand(10, 3): random P (A, S, S) with random zero patterns and
    transition rewards R (A, S, S); in mdpkit as R_sas, folded to R(s, a)."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        P, R = mdptoolbox.example.rand(10, 3)
    finally:
        np.random.set_state(state)
    mdp = TabularMDP(
        np.ascontiguousarray(P.transpose(1, 0, 2)),
        None,
        0.9,
        R_sas=np.ascontiguousarray(R.transpose(1, 0, 2)),
        atol=1e-8,
    )
    # pymdptoolbox itself, on its own (A, S, S) reward form
    with contextlib.redirect_stdout(io.StringIO()):
        tb = mdptoolbox.mdp.PolicyIteration(P, R, 0.9)
        tb.setSilent()
        tb.run()
    v_tb, pi_tb = np.asarray(tb.V), np.asarray(tb.policy)
    v_peer, pi_peer = (v_tb, pi_tb) if peer == "pymdptoolbox" else quantecon_dense(mdp)
    for m in (mdp, mdp.to_sparse()):
        check_against_peer(m, v_peer, pi_peer, peer)


@pytest.mark.parametrize("seed", [101, 102])
def test_sparse_model_matches_quantecon_state_action_form(seed):
    """A larger CSR model (S = 200, A = 4, 3 successors per row, masked actions) against
    QuantEcon's sparse state-action-pair form DiscreteDP(R_sa, Q_sa, beta, s_indices, a_indices)."""
    rng = np.random.default_rng(seed)
    S, A, k = 200, 4, 3
    rows = np.repeat(np.arange(S * A), k)
    cols = np.concatenate([rng.choice(S, size=k, replace=False) for _ in range(S * A)])
    vals = rng.dirichlet(np.ones(k), size=S * A).ravel()
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    R = rng.normal(size=(S, A)).round(3)
    mask = rng.random((S, A)) >= 0.25
    mask[np.arange(S), rng.integers(0, A, size=S)] = True
    mdp = TabularMDP(P, R, 0.95, action_mask=mask)
    assert mdp.is_sparse
    v_peer, pi_peer = quantecon_sparse(mdp)
    check_against_peer(mdp, v_peer, pi_peer, "quantecon-sparse")
    # and the dense QuantEcon form agrees with its sparse form
    v_dense, _ = quantecon_dense(mdp)
    np.testing.assert_allclose(v_dense, v_peer, rtol=0, atol=SLACK * (1 + np.abs(v_peer).max()))

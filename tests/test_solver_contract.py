"""One contract for every registered solver (optax ``_common_test.py`` style).

For every entry of :data:`mdpkit.solvers.SOLVERS`, on seeded random models and zoo models:

* ``res.v`` lies within ``res.v_error_bound`` of an **independent oracle** (enumeration of
  deterministic policies with numpy linear solves, backward enumeration for finite horizons,
  the closed-form L1 worst case for robust models, a sort-based one-step CVaR for nested risk);
* the certificate holds: the oracle's optimum minus the exact value of the returned policy is at
  most ``res.certificate.value``;
* the result belongs to the family (a ``SolveResult`` with a ``bounds.Bound`` certificate,
  read-only arrays, a lazy ``v_policy`` equal to the policy's exact value);
* unknown options are rejected with an error naming them; every option the solver takes is
  recorded in ``res.options`` (arrays as ``<name>_given``);
* two processes give bitwise identical results.

A registered solver whose family has no case below fails ``test_every_solver_has_a_case``.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from mdpkit import TabularMDP, generators
from mdpkit._exceptions import InvalidArgumentError
from mdpkit.bounds import Bound
from mdpkit.results import SolveResult
from mdpkit.solvers import SOLVERS, solve

RTOL = 1e-9  # float slack of the oracle's linear solves, relative to the value scale


# ----------------------------------------------------------------------------- instances
def random_mdp(seed: int, S: int, A: int, gamma: float, *, masked: bool = False, zeros: bool = True) -> TabularMDP:
    """A non-degenerate random model: Dirichlet rows with some exact zeros, rewards in [-1, 1]."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S), size=(S, A))
    if zeros:
        cut = rng.random((S, A, S)) < 0.3
        cut[..., 0] = False  # keep every row non-empty
        P = np.where(cut, 0.0, P)
        P /= P.sum(axis=2, keepdims=True)
    R = rng.uniform(-1.0, 1.0, (S, A))
    mask = None
    if masked:
        mask = rng.random((S, A)) < 0.7
        mask[np.arange(S), rng.integers(0, A, S)] = True
    return TabularMDP(P, R, gamma, action_mask=mask)


def dyadic_mdp(seed: int, S: int, A: int, gamma: float) -> TabularMDP:
    """Rows of multiples of 1/8 and rewards of multiples of 1/4: exact in binary and in decimal."""
    rng = np.random.default_rng(seed)
    P = np.stack([[rng.multinomial(8, np.ones(S) / S) / 8.0 for _ in range(A)] for _ in range(S)])
    return TabularMDP(P, rng.integers(-4, 5, (S, A)) / 4.0, gamma)


def exact_instances():
    return [("dyadic-S4A3-g0.875", dyadic_mdp(1, 4, 3, 0.875)), ("dyadic-S3A2-g0.5", dyadic_mdp(2, 3, 2, 0.5)),
            ("puterman_two_state", generators.make("puterman_two_state"))]


def discounted_instances():
    return [
        ("rand-S4A3-g0.9", random_mdp(1, 4, 3, 0.9)),
        ("rand-S5A2-g0.95-masked", random_mdp(2, 5, 2, 0.95, masked=True)),
        ("rand-S3A3-g0.5-csr", random_mdp(3, 3, 3, 0.5).to_sparse()),
        ("puterman_two_state", generators.make("puterman_two_state")),
        ("chain-g0.9", generators.make("chain").with_gamma(0.9)),
    ]


def ssp_instance() -> TabularMDP:
    """Every policy proper: each action reaches the absorbing terminal state 3 w.p. >= 0.2."""
    rng = np.random.default_rng(7)
    S, A = 4, 2
    P = np.zeros((S, A, S))
    P[:3, :, :3] = 0.8 * rng.dirichlet(np.ones(3), size=(3, A))
    P[:3, :, 3] = 0.2
    P[3, :, 3] = 1.0
    R = np.where(np.arange(S)[:, None] < 3, rng.uniform(-2.0, -0.5, (S, A)), 0.0)
    return TabularMDP(P, R, 1.0)


def unichain_instance() -> TabularMDP:
    rng = np.random.default_rng(11)
    P = rng.dirichlet(np.ones(4), size=(4, 2))  # all entries positive: every policy unichain, aperiodic
    return TabularMDP(P, rng.uniform(0.0, 1.0, (4, 2)), 1.0)


# ----------------------------------------------------------------------------- oracles (numpy only)
def deterministic_policies(mdp: TabularMDP):
    avail = [np.flatnonzero(mdp.action_mask[s]) for s in range(mdp.S)]
    for combo in itertools.product(*avail):
        yield np.array(combo, dtype=np.int64)


def value_of(P, R, gamma, pi, terminal=None):
    """Exact value of a deterministic policy by a dense numpy solve (gamma < 1, or SSP on non-terminal states)."""
    S = P.shape[0]
    idx = np.arange(S)
    Ppi, rpi = P[idx, pi], R[idx, pi]
    if terminal is None:
        return np.linalg.solve(np.eye(S) - gamma * Ppi, rpi)
    n = ~terminal
    v = np.zeros(S)
    v[n] = np.linalg.solve(np.eye(n.sum()) - Ppi[np.ix_(n, n)], rpi[n])
    return v


def brute_force_optimum(mdp: TabularMDP, P=None, terminal=None):
    """v* as the state-wise max over all deterministic stationary policies (Puterman 1994 Thm 6.2.10)."""
    P = mdp.P_dense() if P is None else P
    vals = np.array([value_of(P, mdp.R, mdp.gamma, pi, terminal) for pi in deterministic_policies(mdp)])
    return vals.max(axis=0)


def finite_horizon_optimum(mdp: TabularMDP, H: int):
    """v*_t for t = 0..H by enumerating deterministic Markov policies (each evaluated backwards)."""
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    S = mdp.S
    best = np.full((H + 1, S), -np.inf)
    best[H] = 0.0
    pols = list(deterministic_policies(mdp))
    for seq in itertools.product(range(len(pols)), repeat=H):
        v = np.zeros(S)
        for t in range(H - 1, -1, -1):
            pi = pols[seq[t]]
            v = R[np.arange(S), pi] + g * P[np.arange(S), pi] @ v
            best[t] = np.maximum(best[t], v)
    return best


def l1_worst_case(q, z, radius):
    """min_p p.z over ||p - q||_1 <= radius, p in the simplex with support in supp(q) (sort-based closed form)."""
    p = q.copy()
    lo = int(np.argmin(np.where(q > 0, z, np.inf)))
    eps = min(radius / 2.0, 1.0 - q[lo])
    p[lo] += eps
    for i in np.argsort(-z):
        if eps <= 0:
            break
        if i == lo:
            continue
        take = min(eps, p[i])
        p[i] -= take
        eps -= take
    return float(p @ z)


def robust_l1_optimum(mdp: TabularMDP, radius: float):
    """Robust VI with the independent closed-form inner problem above (sa-rectangular L1, nominal support)."""
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    v = np.zeros(mdp.S)
    for _ in range(_n_iter(g)):
        q = np.array([[R[s, a] + g * l1_worst_case(P[s, a], v, radius) if mdp.action_mask[s, a] else -np.inf
                       for a in range(mdp.A)] for s in range(mdp.S)])
        v = q.max(axis=1)
    return v


def robust_l1_policy_value(mdp: TabularMDP, pi, radius: float):
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    v = np.zeros(mdp.S)
    for _ in range(_n_iter(g)):
        v = np.array([R[s, pi[s]] + g * l1_worst_case(P[s, pi[s]], v, radius) for s in range(mdp.S)])
    return v


def regularized_l1_optimum(mdp: TabularMDP, beta: float):
    """VI with T v = max_a R + gamma (P v - beta * (max v - min v) / 2): the l1 regularizer with the
    sum constraint over all next states (Kumar et al. 2022), written out in numpy."""
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    v = np.zeros(mdp.S)
    for _ in range(_n_iter(g * (1 + beta))):  # the relaxed operator contracts with gamma (1 + beta)
        q = np.where(mdp.action_mask, R + g * (P @ v - beta * 0.5 * (v.max() - v.min())), -np.inf)
        v = q.max(axis=1)
    return v


def regularized_l1_policy_value(mdp: TabularMDP, pi, beta: float):
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma
    idx = np.arange(mdp.S)
    v = np.zeros(mdp.S)
    for _ in range(_n_iter(g * (1 + beta))):
        v = R[idx, pi] + g * (P[idx, pi] @ v - beta * 0.5 * (v.max() - v.min()))
    return v


def nested_cvar_optimum(mdp: TabularMDP, level: float):
    """Nested CVaR VI with a sort-based lower-tail CVaR of the next-state values."""
    P, R, g = mdp.P_dense(), mdp.R, mdp.gamma

    def cvar(p, z):
        order = np.argsort(z)
        mass, acc = 0.0, 0.0
        for i in order:
            take = min(p[i], level - mass)
            if take <= 0:
                break
            acc += take * z[i]
            mass += take
        return acc / level

    v = np.zeros(mdp.S)
    for _ in range(_n_iter(g)):
        v = np.array([max(R[s, a] + g * cvar(P[s, a], v) for a in range(mdp.A) if mdp.action_mask[s, a])
                      for s in range(mdp.S)])
    return v


def static_risk_laws(mdp: TabularMDP, H: int, s: int) -> list[dict]:
    """Every return law from ``s`` under deterministic history-dependent policies, exactly
    (enumeration in Fractions, mdpkit.theory._risk)."""
    from mdpkit.theory._risk import achievable_laws, exact_from_mdp

    return achievable_laws(exact_from_mdp(mdp), H, s)


def _lower_tail_var(law, alpha):
    acc = 0
    for x in sorted(law):
        acc += law[x]
        if acc >= alpha:
            return float(x)


def _lower_tail_cvar(law, alpha):
    acc, tot = 0, 0
    for x in sorted(law):
        take = min(law[x], alpha - acc)
        if take <= 0:
            break
        tot, acc = tot + take * x, acc + take
    return float(tot / alpha)


#: static risk objectives of the return: registry key -> (options, objective of a law {value: prob})
RISK_OBJECTIVES = {
    "cvar": ({"alpha": 0.5}, lambda law: _lower_tail_cvar(law, Fraction(1, 2))),
    "var": ({"alpha": 0.3}, lambda law: _lower_tail_var(law, Fraction(3, 10))),
    "erm": ({"beta": 0.5}, lambda law: float(-2.0 * np.log(sum(float(p) * np.exp(-0.5 * float(x)) for x, p in law.items())))),
    "mean": ({}, lambda law: float(sum(x * p for x, p in law.items()))),
    "threshold": ({"threshold": 30.0}, lambda law: float(sum(p for x, p in law.items() if x >= 30))),
    "band": ({"low": 20.0, "high": 60.0}, lambda law: float(sum(p for x, p in law.items() if 20 <= x <= 60))),
}


def stochastic_value(mdp: TabularMDP, pi, R=None):
    """Exact value of a stochastic (S, A) policy by a dense numpy solve (policy-optimization, constrained)."""
    P = mdp.P_dense()
    RR = mdp.R if R is None else R
    return np.linalg.solve(np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", pi, P),
                           np.sum(np.asarray(pi) * np.where(mdp.action_mask, RR, 0.0), axis=1))


def cmdp_optimum(mdp: TabularMDP, C, b: float) -> float:
    """One-constraint CMDP optimum by strong Lagrangian duality: min over lam >= 0 of the upper
    envelope of the lines V_R - lam (V_C - b), one per deterministic policy (numpy solves)."""
    P, S = mdp.P_dense(), mdp.S
    lines = []
    for pi in deterministic_policies(mdp):
        M = np.eye(S) - mdp.gamma * P[np.arange(S), pi]
        lines.append((mdp.mu0 @ np.linalg.solve(M, mdp.R[np.arange(S), pi]), mdp.mu0 @ np.linalg.solve(M, C[np.arange(S), pi])))
    lines = np.array(lines)
    cands = [0.0] + [(r1 - r2) / (c1 - c2) for (r1, c1), (r2, c2) in itertools.combinations(lines, 2)
                     if abs(c1 - c2) > 1e-14 and (r1 - r2) / (c1 - c2) > 0]
    return min(float(np.max(lines[:, 0] - lam * (lines[:, 1] - b))) for lam in cands)


def reach_instance():
    """Absorbing goal 0; from every other state each action reaches the goal with positive
    probability (every policy is proper, values finite); rewards in [0, 2]."""
    rng = np.random.default_rng(77)
    S, A = 5, 2
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[:, :, 0] += 0.1
    P /= P.sum(axis=2, keepdims=True)
    P[0] = 0.0
    P[0, :, 0] = 1.0
    R = rng.uniform(0.0, 2.0, (S, A))
    R[0] = 0.0
    return TabularMDP(P, R, 1.0), np.arange(S) == 0


def reach_value(mdp: TabularMDP, goal, pi, key):
    """Probability of reaching the goal (reach_probability) or expected reward until it
    (reach_reward) under the deterministic policy pi, by a dense solve (every policy is proper)."""
    S = mdp.S
    pi = np.asarray(pi)
    Pp = mdp.P_dense()[np.arange(S), pi]
    n = ~goal
    b = Pp[np.ix_(n, goal)].sum(axis=1) if key == "reach_probability" else mdp.R[np.arange(S), pi][n]
    v = np.where(goal, 1.0 if key == "reach_probability" else 0.0, 0.0)
    v[n] = np.linalg.solve(np.eye(int(n.sum())) - Pp[np.ix_(n, n)], b)
    return v


# ----------------------------------------------------------------------------- cases per family
class Case:
    """How to run one family's solvers and what the oracle says."""

    def __init__(self, name, mdp, options, v_true, policy_gap=None, v_index=None):
        self.name, self.mdp, self.options, self.v_true = name, mdp, options, v_true
        self.policy_gap = policy_gap  # callable(res) -> observed suboptimality of res.policy, or None
        self.v_index = v_index  # callable(res) -> the part of res.v the oracle describes


def _discounted_gap(mdp, v_star):
    P = mdp.P_dense()
    return lambda res: float(np.max(v_star - value_of(P, mdp.R, mdp.gamma, np.asarray(res.policy))))


def cases_for(spec) -> list[Case]:
    return _cases_for(spec.key, spec.family)


def _n_iter(gamma: float) -> int:
    """Sweeps after which gamma^n * (value scale) is below float resolution."""
    return int(np.ceil(np.log(1e-17) / np.log(gamma))) + 1


@functools.cache
def _cases_for(key: str, fam: str) -> list[Case]:
    if fam in ("discounted", "exact", "distributional"):
        out = []
        for name, mdp in (exact_instances() if fam == "exact" else discounted_instances()):
            if key == "lp" and mdp.is_sparse:
                mdp = mdp.to_dense()
            vs = brute_force_optimum(mdp)
            out.append(Case(name, mdp, {}, vs, _discounted_gap(mdp, vs)))
        return out
    if fam == "finite-horizon":
        mdp = random_mdp(5, 3, 2, 0.9)
        opt = finite_horizon_optimum(mdp, 3)
        return [Case("rand-S3A2-H3", mdp, {"horizon": 3}, opt),
                Case("rand-S3A2-H3-undiscounted", mdp.with_gamma(1.0), {"horizon": 3},
                     finite_horizon_optimum(mdp.with_gamma(1.0), 3))]
    if fam == "total-reward":
        mdp = ssp_instance()
        term = np.arange(mdp.S) == 3
        vs = brute_force_optimum(mdp, terminal=term)
        P = mdp.P_dense()
        return [Case("ssp-S4A2", mdp, {}, vs,
                     lambda res: float(np.max(vs - value_of(P, mdp.R, 1.0, np.asarray(res.policy), term))))]
    if fam == "reachability":  # model-checking objectives (solvers/reachability.py): enumeration oracle
        mdp, goal = reach_instance()
        maximize = key == "reach_probability"
        vals = [reach_value(mdp, goal, pi, key) for pi in deterministic_policies(mdp)]
        opt = np.max(vals, axis=0) if maximize else np.min(vals, axis=0)
        sign = 1.0 if maximize else -1.0
        return [Case("reach-S5A2", mdp, {"goal": goal}, opt,
                     lambda res: float(np.max(sign * (opt - reach_value(mdp, goal, np.asarray(res.policy), key)))))]
    if fam == "average-reward":
        mdp = unichain_instance()
        P = mdp.P_dense()
        gains = []
        for pi in deterministic_policies(mdp):
            Ppi = P[np.arange(mdp.S), pi]
            w, V = np.linalg.eig(Ppi.T)
            d = np.real(V[:, np.argmin(np.abs(w - 1))])
            d /= d.sum()
            gains.append(float(d @ mdp.R[np.arange(mdp.S), pi]))
        g = max(gains)
        return [Case("unichain-S4A2", mdp, {}, np.array([g]), v_index=lambda res: np.array([res.gain]))]
    if key == "regularized_vi":
        out = []
        for name, mdp in discounted_instances()[:2]:
            for beta in (0.0, 0.05):
                vs = regularized_l1_optimum(mdp, beta)
                P = mdp.P_dense()
                gap = (lambda m, b, v: (lambda res: float(np.max(v - regularized_l1_policy_value(m, np.asarray(res.policy), b)))))(
                    mdp, beta, vs)
                out.append(Case(f"{name}-beta-{beta}", mdp, {"beta": beta}, vs, gap))
        return out
    if fam == "robust":
        from mdpkit.uncertainty import parse_uncertainty

        out = []
        for name, mdp in discounted_instances()[:2]:
            for radius in (0.0, 0.3):
                vs = robust_l1_optimum(mdp, radius) if radius else brute_force_optimum(mdp)
                gap = (lambda m, r, v: (lambda res: float(np.max(v - robust_l1_policy_value(m, np.asarray(res.policy), r)))))(
                    mdp, radius, vs)
                out.append(Case(f"{name}-l1-{radius}", mdp, {"uncertainty": parse_uncertainty(f"l1:{radius}")}, vs, gap))
        return out
    if fam == "risk" and key in RISK_OBJECTIVES:
        mdp = generators.make("cvar_counterexample")
        opts, objective = RISK_OBJECTIVES[key]
        laws = static_risk_laws(mdp, 2, 0)
        return [Case("cvar_counterexample-H2", mdp, {**opts, "horizon": 2, "state": 0},
                     np.array([max(objective(law) for law in laws)]),
                     v_index=lambda res: np.array([float(np.asarray(res.v).reshape(-1)[0])]))]
    if fam == "risk" and key == "nested_risk":
        mdp = random_mdp(9, 3, 2, 0.8, zeros=False)
        return [Case("rand-S3A2-cvar0.3", mdp, {"risk": "cvar", "level": 0.3}, nested_cvar_optimum(mdp, 0.3))]
    if fam == "policy-optimization":
        # res.v is the exact value of the final stochastic iterate: compare it with a numpy solve of
        # res.policy; the certificate bounds v* - v^pi against brute-force v*
        insts = discounted_instances()[:4] if key == "softmax_pg" else discounted_instances()
        opts = {"softmax_pg": {"eta": 10.0, "epsilon": 1e-3, "max_iter": 20000},
                "cpi": {"alpha": 0.5, "epsilon": 1e-6}}.get(key, {"epsilon": 1e-6})
        out = []
        for name, mdp in insts:
            vs = brute_force_optimum(mdp)
            out.append(Case(name, mdp, opts, np.zeros(mdp.S),
                            (lambda m, v: (lambda res: float(np.max(v - stochastic_value(m, res.policy)))))(mdp, vs),
                            v_index=(lambda m: (lambda res: np.asarray(res.v) - stochastic_value(m, res.policy)))(mdp)))
        return out
    if fam == "constrained":
        out = []
        for seed, slack in ((21, 0.3), (22, 0.7)):
            mdp = random_mdp(seed, 3, 2, 0.8)
            C = np.random.default_rng(seed + 100).uniform(0.0, 1.0, (3, 2))
            lines_c = [stochastic_value(mdp, np.eye(2)[pi], C) @ mdp.mu0 for pi in deterministic_policies(mdp)]
            b = float(min(lines_c) + slack * (max(lines_c) - min(lines_c)))
            opt = cmdp_optimum(mdp, C, b)

            def gap(res, m=mdp, C=C, b=b, opt=opt):
                feasible = stochastic_value(m, res.policy, C) @ m.mu0 <= b + 1e-9
                return float(opt - stochastic_value(m, res.policy) @ m.mu0) if feasible else np.inf

            out.append(Case(f"cmdp-S3A2-seed{seed}", mdp, {"costs": C, "budgets": b}, np.zeros(mdp.S), gap,
                            v_index=(lambda m: (lambda res: np.asarray(res.v) - stochastic_value(m, res.policy)))(mdp)))
        return out
    return []


def _cases():
    for key, spec in SOLVERS.items():
        for case in cases_for(spec):
            yield pytest.param(key, case, id=f"{key}-{case.name}")


CASES = list(_cases())
#: cases whose oracle also gives the returned policy's exact objective (all but the average-reward
#: and static-risk families, whose policies are checked through v against the oracle's optimum)
CERT_CASES = [c for c in CASES if c.values[1].policy_gap is not None]
REQUIRED_KEYS = [k for k, spec in SOLVERS.items() if spec.required]


def run(key, case):
    return solve(case.mdp, key, **case.options)


# ----------------------------------------------------------------------------- the contract
def test_every_solver_has_a_case():
    missing = [k for k, spec in SOLVERS.items() if not cases_for(spec)]
    assert not missing, f"registered solvers without a contract case: {missing}"


@pytest.mark.parametrize("key, case", CASES)
def test_v_within_certified_error_of_independent_oracle(key, case):
    res = run(key, case)
    assert isinstance(res, SolveResult) and isinstance(res.certificate, Bound)
    assert res.converged, res.message
    v = case.v_index(res) if case.v_index else np.asarray(res.v)
    scale = max(1.0, float(np.max(np.abs(case.v_true))))
    err = float(np.max(np.abs(v - case.v_true)))
    if SOLVERS[key].family != "average-reward":
        assert np.isfinite(res.v_error_bound), f"{key}: v is not certified"
        assert err <= res.v_error_bound + RTOL * scale, f"{key}: |v - oracle| = {err:.3g} > v_error_bound = {res.v_error_bound:.3g}"
    else:  # average reward: v is the bias (tests/solvers/test_average_reward.py); the gain has its bracket
        assert res.gain_lower - RTOL * scale <= case.v_true[0] <= res.gain_upper + RTOL * scale
        assert err <= 0.5 * (res.gain_upper - res.gain_lower) + RTOL * scale


@pytest.mark.parametrize("key, case", CERT_CASES)
def test_certificate_holds(key, case):
    res = run(key, case)
    gap = case.policy_gap(res)
    scale = max(1.0, float(np.max(np.abs(case.v_true))))
    assert gap <= res.certificate.value + RTOL * scale, f"{key}: suboptimality {gap:.3g} > certificate {res.certificate.value:.3g}"
    assert res.certificate.citation, key


@pytest.mark.parametrize("key, case", CASES)
def test_result_is_a_family_member(key, case):
    res = run(key, case)
    for f in ("v", "policy", "residuals", "q", "v_iterate", "v_lower", "v_upper"):
        arr = getattr(res, f)
        if isinstance(arr, np.ndarray):
            assert not arr.flags.writeable, f"{key}: {f} is writable"
    assert res.residuals.shape == (res.n_iter,) or res.n_iter >= 0
    # risk solvers name the DP route they took (stock_cvar, erm_backward_induction, ...)
    assert res.method == SOLVERS[key].name or (SOLVERS[key].family == "risk" and res.method)
    assert res.wall_time >= 0.0
    # results travel to joblib / dask workers and back: they pickle, lazy fields included
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.v, res.v)
    if res.v_policy is not None:
        np.testing.assert_array_equal(back.v_policy, res.v_policy)
    if case.mdp.gamma < 1 and np.asarray(res.policy).ndim == 1 and SOLVERS[key].family not in ("robust", "risk"):
        vp = value_of(case.mdp.P_dense(), case.mdp.R, case.mdp.gamma, np.asarray(res.policy))
        np.testing.assert_allclose(res.v_policy, vp, rtol=0, atol=1e-9 * max(1.0, float(np.abs(vp).max())))


@pytest.mark.parametrize("key", list(SOLVERS))
def test_unknown_option_rejected_by_name(key):
    case = cases_for(SOLVERS[key])[0]
    with pytest.raises(InvalidArgumentError, match="no_such_option"):
        solve(case.mdp, key, **case.options, no_such_option=1)


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_required_option_rejected(key):
    spec = SOLVERS[key]
    case = cases_for(spec)[0]
    opts = {k: v for k, v in case.options.items() if k != spec.required[0]}
    with pytest.raises(InvalidArgumentError, match=spec.required[0]):
        solve(case.mdp, key, **opts)


@pytest.mark.parametrize("key", list(SOLVERS))
def test_every_option_recorded(key):
    spec = SOLVERS[key]
    case = cases_for(spec)[0]
    res = run(key, case)
    missing = [o for o in spec.options() if o not in res.options and f"{o}_given" not in res.options]
    assert not missing, f"{key}: options not recorded in res.options: {missing}"


_HASH_SCRIPT = r"""
import hashlib, json, sys
import numpy as np
sys.path.insert(0, {testdir!r})
import test_solver_contract as c
out = {{}}
for key, spec in c.SOLVERS.items():
    case = c.cases_for(spec)[0]
    res = c.run(key, case)
    h = hashlib.sha256()
    for f in ("v", "policy", "residuals", "q", "v_iterate", "v_lower", "v_upper"):
        x = getattr(res, f)
        if isinstance(x, np.ndarray):
            h.update(np.ascontiguousarray(x).tobytes())
    h.update(repr((res.v_error_bound, res.certificate.value, res.n_iter)).encode())
    out[key] = h.hexdigest()
print(json.dumps(out))
"""


def test_bitwise_deterministic_across_two_processes():
    script = _HASH_SCRIPT.format(testdir=os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONHASHSEED="0")
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env, text=True) for _ in range(2)]
    outs = []
    for p in procs:
        so, se = p.communicate(timeout=900)
        assert p.returncode == 0, se[-3000:]
        outs.append(json.loads(so.strip().splitlines()[-1]))
    assert outs[0].keys() == set(SOLVERS)
    diff = [k for k in outs[0] if outs[0][k] != outs[1][k]]
    assert not diff, f"results differ between processes: {diff}"

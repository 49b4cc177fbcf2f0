"""Theorem and contract tests of the discounted solvers: VI, Gauss-Seidel VI, PI, MPI and LP.

Every expected value comes from a route independent of the solver under test:

* ``v*`` from exact rational policy iteration (:func:`mdpkit.solvers.exact_policy_iteration`)
  on the exact model behind the float one (the strategy builds each row of ``P`` from small
  integer weights, so every probability is recovered exactly as a Fraction), cross-checked
  against brute-force enumeration of all deterministic policies with ``numpy.linalg.solve``;
* ``v_pi`` of a returned policy from ``numpy.linalg.solve`` on ``(I - gamma P_pi) v = r_pi``;
* closed forms for the degenerate models (S = 1, A = 1, gamma = 0).

Float-vs-exact comparisons carry an explicit slack ``REL * scale`` with ``scale = 1 + max|v*|``.
"""

from __future__ import annotations

import dataclasses

import functools
import itertools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, target
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

from mdpkit import (
    ConvergenceWarning,
    InvalidArgumentError,
    InvalidMDPError,
    InvalidPolicyError,
    SolveResult,
    Status,
    TabularMDP,
)
from mdpkit.policies import bellman_operator
from mdpkit.solvers import (
    exact_policy_iteration,
    gauss_seidel_value_iteration,
    linear_programming,
    modified_policy_iteration,
    policy_iteration,
    solve,
    value_iteration,
)
from mdpkit.testing import mdps, policies

#: The instances the brief asks for: gamma in [0, 0.95], masked actions, dense or CSR.
MODELS = mdps(gamma=(0.0, 0.95), masked=True, sparse=None)
#: Slack (relative to 1 + max|v*|) between float64 solver output and the exact optimum.
REL = 1e-9
#: LP solver tolerance on primal values, dual feasibility and the duality gap (interior point).
LP_TOL = 1e-6
#: Slack on dual non-negativity of the LP occupancies.
LP_NONNEG_TOL = 1e-7


# ============================================================================ oracles
def _model_key(mdp: TabularMDP):
    P = np.ascontiguousarray(mdp.P_dense())
    return (P.shape, P.tobytes(), mdp.R.tobytes(), mdp.action_mask.tobytes(), float(mdp.gamma))


@functools.lru_cache(maxsize=4096)
def _exact_pi_cached(key):
    shape, Pb, Rb, mb, gamma = key
    S, A, _ = shape
    P = np.frombuffer(Pb).reshape(shape)
    R = np.frombuffer(Rb).reshape(S, A)
    mask = np.frombuffer(mb, dtype=bool).reshape(S, A)
    Pf = np.empty(shape, dtype=object)
    for idx in np.ndindex(shape):
        # the strategy's rows are w / sum(w) with small integer weights: recover them exactly
        f = Fraction(float(P[idx])).limit_denominator(1000)
        assert float(f) == float(P[idx]), "probability is not a small-denominator rational"
        Pf[idx] = f
    Rf = np.array([[Fraction(float(x)) for x in row] for row in R], dtype=object)
    return exact_policy_iteration(Pf, Rf, Fraction(gamma), action_mask=mask)


def exact_optimum(mdp: TabularMDP) -> SolveResult:
    """Exact rational policy iteration on the exact model behind ``mdp`` (gamma read in binary)."""
    return _exact_pi_cached(_model_key(mdp))


def v_star(mdp: TabularMDP) -> np.ndarray:
    """The optimal value, correctly rounded from its exact rational value."""
    res = exact_optimum(mdp)
    assert res.converged
    return np.asarray(res.v)


def brute_force_values(mdp: TabularMDP):
    """Values of every deterministic policy, by numpy.linalg.solve: (policies (N, S), values (N, S))."""
    P, R, mask, S = np.asarray(mdp.P_dense()), mdp.R, mdp.action_mask, mdp.S
    pols = np.array(list(itertools.product(*[np.flatnonzero(mask[s]) for s in range(S)])), dtype=np.int64)
    idx = np.arange(S)
    V = np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pols], R[idx, pols][..., None])[..., 0]
    return pols, V


def value_of(mdp: TabularMDP, pi) -> np.ndarray:
    """v_pi = (I - gamma P_pi)^{-1} r_pi with numpy.linalg.solve on the dense model."""
    S = mdp.S
    idx = np.arange(S)
    P = np.asarray(mdp.P_dense())
    return np.linalg.solve(np.eye(S) - mdp.gamma * P[idx, pi], mdp.R[idx, pi])


def scale_of(v) -> float:
    return 1.0 + float(np.max(np.abs(v)))


def assert_bound(lhs, rhs, *, atol, rtol=0.0, what=""):
    """Assert ``lhs <= rhs + atol + rtol * |rhs|`` elementwise: the float slack is explicit."""
    lhs, rhs = np.broadcast_arrays(np.asarray(lhs, dtype=float), np.asarray(rhs, dtype=float))
    ok = lhs <= rhs + atol + rtol * np.abs(rhs)
    assert np.all(ok), f"{what} bound violated: lhs={lhs[~ok]}, rhs={rhs[~ok]}, atol={atol:g}, rtol={rtol:g}"


def run(fn, mdp, **kw):
    """Call a solver with ConvergenceWarning silenced (tests that need it check it explicitly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(mdp, **kw)


# ============================================================================ solver tables
#: (id, solver, options).  The hypothesis tests loop over this table inside one example so the
#: model (and its exact optimum) is drawn once for every solver; failures name the solver id.
SOLVERS = [
    ("vi-norm", value_iteration, {"stopping": "norm"}),
    ("vi-span", value_iteration, {"stopping": "span"}),
    ("gs", gauss_seidel_value_iteration, {}),
    ("mpi-m0", modified_policy_iteration, {"m": 0}),
    ("mpi-m1", modified_policy_iteration, {"m": 1}),
    ("mpi-m5", modified_policy_iteration, {"m": 5}),
    ("mpi-m20", modified_policy_iteration, {"m": 20}),
    ("pi", policy_iteration, {}),
    ("lp", linear_programming, {}),
]
ITERATIVE = [t for t in SOLVERS if t[0] != "lp"]
BRACKETED = [t for t in SOLVERS if t[0] != "pi"]  # methods that return v_lower / v_upper
ITERATIVE_PARAMS = [pytest.param(fn, kw, id=name) for name, fn, kw in ITERATIVE]


# ============================================================================ oracle sanity
@given(MODELS)
def test_exact_pi_equals_brute_force_optimum__puterman_thm_6_2_10(mdp):
    """Puterman 1994 Thm 6.2.10: a deterministic stationary policy attains v* = max_pi v_pi
    componentwise.  The two oracles (exact rational PI, brute-force enumeration) must agree."""
    _, V = brute_force_values(mdp)
    vb = V.max(axis=0)
    vs = v_star(mdp)
    # the componentwise max is attained by a single policy
    assert np.any(np.all(V >= vb - REL * scale_of(vb), axis=1))
    assert_allclose(vs, vb, rtol=0, atol=REL * scale_of(vb))


# ============================================================================ value iteration
def optional_v0(S: int):
    """None (the solver's default start) or an arbitrary finite start vector."""
    return st.none() | hnp.arrays(np.float64, S, elements=st.floats(-50, 50))


@pytest.mark.parametrize("stopping", ["norm", "span"])
@given(mdp=MODELS, epsilon=st.sampled_from([1e-1, 1e-3, 1e-6, 1e-9]), data=st.data())
def test_vi_policy_epsilon_optimal__puterman_thm_6_3_1(mdp, epsilon, stopping, data):
    """Puterman 1994 Thm 6.3.1 (norm rule) and Sec. 6.6.3 (span rule): for any v0, when VI
    stops, 0 <= v*(s) - v_pi(s) <= error_bound <= epsilon for every s."""
    v0 = data.draw(optional_v0(mdp.S), label="v0")
    vs = v_star(mdp)
    slack = REL * scale_of(vs)
    r = value_iteration(mdp, epsilon=epsilon, stopping=stopping, v0=v0)
    assert r.converged
    gap = vs - np.asarray(r.v_policy)
    assert_bound(0.0, gap, atol=slack, what="v_pi <= v*")
    assert_bound(gap, r.error_bound, atol=slack, what="v* - v_pi <= error_bound")
    # rtol 1e-12: rounding of gamma/(1-gamma) * span against epsilon(1-gamma)/gamma
    assert_bound(r.error_bound, epsilon, atol=0.0, rtol=1e-12, what="error_bound <= epsilon")
    target(float(gap.max()) / epsilon, label="suboptimality / epsilon")


@given(mdp=MODELS, epsilon=st.sampled_from([1e-1, 1e-3, 1e-6]))
def test_vi_norm_rule_last_iterate_within_half_epsilon__puterman_thm_6_3_1(mdp, epsilon):
    """Puterman 1994 Thm 6.3.1(d): ||v_{n+1} - v_n|| < eps(1-gamma)/(2 gamma) implies
    ||v_{n+1} - v*||_inf < eps / 2."""
    vs = v_star(mdp)
    r = value_iteration(mdp, epsilon=epsilon, stopping="norm")
    assert r.converged
    err = float(np.abs(np.asarray(r.v_iterate) - vs).max())
    assert_bound(err, epsilon / 2, atol=REL * scale_of(vs), what="||v_iterate - v*|| < eps/2")
    # the reported estimate is certified as well, and never worse than the iterate's guarantee
    est = float(np.abs(np.asarray(r.v) - vs).max())
    assert_bound(est, r.v_error_bound, atol=REL * scale_of(vs), what="||v - v*|| <= v_error_bound")
    assert r.v_error_bound <= epsilon / 2 + REL * scale_of(vs)
    target(err / epsilon, label="||v - v*|| / epsilon")


@given(mdp=MODELS, data=st.data())
def test_vi_geometric_rate__puterman_thm_6_3_1(mdp, data):
    """Puterman 1994 Thm 6.3.1(a): ||v_n - v*||_inf <= gamma^n ||v_0 - v*||_inf."""
    v0 = data.draw(hnp.arrays(np.float64, mdp.S, elements=st.floats(-50, 50)), label="v0")
    k = data.draw(st.integers(1, 8), label="max_iter")
    vs = v_star(mdp)
    r = run(value_iteration, mdp, epsilon=1e-300, max_iter=k, v0=v0)
    n = r.n_iter
    lhs = float(np.abs(np.asarray(r.v_iterate) - vs).max())
    rhs = mdp.gamma**n * float(np.abs(v0 - vs).max())
    assert_bound(lhs, rhs, atol=REL * (scale_of(vs) + scale_of(v0)), what="geometric rate")
    if rhs > 0:
        target(lhs / rhs, label="rate ratio")


# ============================================================================ certified bounds
@given(mdp=MODELS, max_iter=st.integers(1, 4))
def test_certified_bound_when_stopped_early__puterman_sec_6_6_2(mdp, max_iter):
    """MacQueen 1966 / Puterman 1994 Sec. 6.6.2, Prop. 6.2.4: the bound certifies the returned
    policy whether or not the stopping rule held: 0 <= v* - v_pi <= error_bound; a stop at
    max_iter is reported by converged=False and exactly one ConvergenceWarning."""
    vs = v_star(mdp)
    slack = REL * scale_of(vs)
    worst = 0.0
    for name, fn, kw in ITERATIVE:
        kw = dict(kw, max_iter=max_iter)
        if fn is not policy_iteration:
            kw["epsilon"] = 1e-9
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            r = fn(mdp, **kw)
        conv_w = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
        assert len(conv_w) == (0 if r.converged else 1), name
        assert r.n_iter <= max_iter, name
        if not r.converged:
            assert r.n_iter == max_iter and r.status == Status.MAX_ITER, name
        # v_policy is the value of the policy actually returned (numpy.linalg.solve)
        v_pi = value_of(mdp, r.policy)
        assert_allclose(r.v_policy, v_pi, rtol=0, atol=slack, err_msg=name)
        gap = vs - v_pi
        assert_bound(0.0, gap, atol=slack, what=f"{name}: v_pi <= v*")
        assert_bound(gap, r.error_bound, atol=slack, what=f"{name}: v* - v_pi <= error_bound")
        if r.error_bound > 0:
            worst = max(worst, float(gap.max()) / r.error_bound)
    target(worst, label="suboptimality / bound")


def _needs_iterations_mdp() -> TabularMDP:
    """Three states, gamma = 0.95, where no method can stop within 3 sweeps (PI: 1 step).

    State 0 stays (reward 1) or moves to state 1 (reward 0); state 1 splits evenly between
    states 1 and 2 (reward 2); state 2 stays (reward 0) or jumps to state 0 (reward -5).  The
    one-step-greedy start stays in state 2, which is not optimal, and the values do not shift
    uniformly, so the span rules cannot stop early either."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, :, 1] = P[1, :, 2] = 0.5
    P[2, 0, 2] = P[2, 1, 0] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 2.0], [0.0, -5.0]])
    return TabularMDP(P, R, 0.95)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fn, kw", ITERATIVE_PARAMS)
def test_max_iter_stop_warns_and_stays_certified(fn, kw, sparse):
    mdp = _needs_iterations_mdp()
    vs = brute_force_values(mdp)[1].max(axis=0)
    mdp = mdp.to_sparse() if sparse else mdp
    max_iter = 1 if fn is policy_iteration else 3
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        r = fn(mdp, max_iter=max_iter, **kw)
    assert r.converged is False
    assert r.status == Status.MAX_ITER
    assert r.n_iter == max_iter and len(r.residuals) == max_iter
    v_pi = value_of(mdp, r.policy)
    assert_allclose(r.v_policy, v_pi, rtol=0, atol=REL * scale_of(vs))
    assert_bound(0.0, vs - v_pi, atol=REL * scale_of(vs), what="v_pi <= v*")
    assert_bound(vs - v_pi, r.error_bound, atol=REL * scale_of(vs), what="v* - v_pi <= error_bound")
    assert r.error_bound > 0
    if r.v_lower is not None:
        assert_bound(r.v_lower, vs, atol=REL * scale_of(vs), what="v_lower <= v*")
        assert_bound(vs, r.v_upper, atol=REL * scale_of(vs), what="v* <= v_upper")


@given(mdp=MODELS, max_iter=st.sampled_from([1, 2, 3, 100_000]), data=st.data())
def test_macqueen_porteus_bracket__puterman_sec_6_6_2(mdp, max_iter, data):
    """MacQueen 1966; Puterman 1994 Sec. 6.6.2: with d = T v - v and pi greedy for v,
    T v + gamma/(1-gamma) min d <= v_pi <= v* <= T v + gamma/(1-gamma) max d
    (VI, GS, MPI for any v0 and max_iter; LP)."""
    v0 = data.draw(optional_v0(mdp.S), label="v0")
    vs = v_star(mdp)
    slack = REL * scale_of(vs)
    tight = 0.0
    for name, fn, kw in BRACKETED:
        kw = dict(kw) if fn is linear_programming else dict(kw, max_iter=max_iter, v0=v0)
        r = run(fn, mdp, **kw)
        lo, hi = np.asarray(r.v_lower), np.asarray(r.v_upper)
        assert_bound(lo, vs, atol=slack, what=f"{name}: v_lower <= v*")
        assert_bound(vs, hi, atol=slack, what=f"{name}: v* <= v_upper")
        assert_bound(lo, r.v_policy, atol=slack, what=f"{name}: v_lower <= v_pi")
        width = float((hi - lo).max())
        if width > 0:
            tight = max(tight, 1.0 - float(np.minimum(vs - lo, hi - vs).min()) / width)
    target(tight, label="closeness of v* to an end of the bracket")


@given(mdp=MODELS, epsilon=st.sampled_from([1e-2, 1e-6]))
def test_returned_policy_within_error_bound__puterman_sec_6_6_2(mdp, epsilon):
    """MacQueen 1966 / Puterman 1994 Sec. 6.6.2 (VI, GS, MPI, LP: ||v* - v_pi|| <=
    gamma/(1-gamma) sp(Tv - v)) and Prop. 6.2.4 (PI: ||v* - v_pi|| <= ||T v_pi - v_pi||/(1-gamma)):
    every solver's policy satisfies 0 <= v* - v_pi <= error_bound, and v_policy is its exact value.
    For VI and MPI, whose stopping rules promise it (Puterman 1994 Thm 6.3.1, Sec. 6.5), also
    error_bound < epsilon when converged."""
    vs = v_star(mdp)
    slack = REL * scale_of(vs)
    for name, fn, kw in SOLVERS:
        kw = dict(kw) if fn in (policy_iteration, linear_programming) else dict(kw, epsilon=epsilon)
        r = fn(mdp, **kw)
        assert r.converged, name
        v_pi = value_of(mdp, r.policy)
        assert_allclose(r.v_policy, v_pi, rtol=0, atol=slack, err_msg=name)
        gap = vs - v_pi
        assert_bound(0.0, gap, atol=slack, what=f"{name}: v_pi <= v*")
        assert_bound(gap, r.error_bound, atol=slack, what=f"{name}: v* - v_pi <= error_bound")
        if fn in (value_iteration, modified_policy_iteration):
            assert_bound(r.error_bound, epsilon, atol=0.0, rtol=1e-12, what=f"{name}: error_bound <= epsilon")


@given(mdp=MODELS, m=st.sampled_from([0, 1, 5, 20]), epsilon=st.sampled_from([1e-2, 1e-6]), data=st.data())
def test_mpi_converges_from_any_v0__puterman_thm_6_5_5(mdp, m, epsilon, data):
    """Puterman 1994 Thm 6.5.5 (MPI converges for any v0) with the span stopping rule of
    Sec. 6.6.3: the returned policy satisfies 0 <= v* - v_pi <= error_bound < epsilon."""
    v0 = data.draw(hnp.arrays(np.float64, mdp.S, elements=st.floats(-50, 50)), label="v0")
    vs = v_star(mdp)
    slack = REL * scale_of(vs)
    r = modified_policy_iteration(mdp, m=m, epsilon=epsilon, v0=v0, max_iter=20_000)
    assert r.converged
    gap = vs - value_of(mdp, r.policy)
    assert_bound(0.0, gap, atol=slack, what="v_pi <= v*")
    assert_bound(gap, r.error_bound, atol=slack, what="v* - v_pi <= error_bound")
    assert_bound(r.error_bound, epsilon, atol=0.0, rtol=1e-12, what="error_bound <= epsilon")
    target(float(gap.max()) / epsilon, label="suboptimality / epsilon")


@given(mdp=MODELS, data=st.data())
def test_pi_returns_optimal_policy__puterman_thm_6_4_2(mdp, data):
    """Puterman 1994 Thm 6.4.2: policy iteration stops, from any initial policy, with an
    optimal policy, v_pi = v*; where the optimal action is unique it is the one exact rational
    PI finds."""
    policy0 = data.draw(st.none() | policies(mdp), label="policy0")
    ex = exact_optimum(mdp)
    vs = np.asarray(ex.v)
    slack = REL * scale_of(vs)
    r = policy_iteration(mdp, policy0=policy0)
    assert r.converged and r.status == Status.CONVERGED
    assert_allclose(r.v_policy, vs, rtol=0, atol=slack)
    assert_allclose(value_of(mdp, r.policy), vs, rtol=0, atol=slack)
    assert_array_equal(r.v, r.v_policy)
    assert r.error_bound <= slack
    # exact q*: where the best action beats every other by more than the slack, it is forced
    q = ex.q_exact
    for s in range(mdp.S):
        avail = [a for a in range(mdp.A) if mdp.action_mask[s, a]]
        best = max(q[s, a] for a in avail)
        others = [best - q[s, a] for a in avail if q[s, a] != best]
        winners = [a for a in avail if q[s, a] == best]
        if len(winners) == 1 and (not others or float(min(others)) > slack):
            assert r.policy[s] == winners[0]
        else:
            assert float(best - q[s, r.policy[s]]) <= slack


# ============================================================================ the operator T
@given(mdp=MODELS, data=st.data())
def test_bellman_operator_contraction__puterman_thm_6_2_3(mdp, data):
    """Puterman 1994 Prop. 6.2.4 / Thm 6.2.3: ||T u - T w||_inf <= gamma ||u - w||_inf."""
    arrays = hnp.arrays(np.float64, mdp.S, elements=st.floats(-100, 100))
    u = data.draw(arrays, label="u")
    w = data.draw(arrays, label="w")
    Tu, _ = bellman_operator(mdp, u)
    Tw, _ = bellman_operator(mdp, w)
    lhs = float(np.abs(Tu - Tw).max())
    rhs = mdp.gamma * float(np.abs(u - w).max())
    scale = 1.0 + max(float(np.abs(Tu).max()), float(np.abs(Tw).max()))
    assert_bound(lhs, rhs, atol=1e-12 * scale, what="contraction")
    if rhs > 0:
        target(lhs / rhs, label="||Tu - Tw|| / (gamma ||u - w||)")


@given(mdp=MODELS, data=st.data())
def test_bellman_operator_monotone__puterman_lemma_6_1_2(mdp, data):
    """Puterman 1994 Lemma 6.1.2 (monotonicity): u <= w componentwise implies T u <= T w.

    No slack: with P >= 0 and gamma >= 0, every floating-point step of the backup (products,
    sums in a fixed order, max) is a monotone rounding of a monotone map, so T u <= T w holds
    exactly in float64 too."""
    u = data.draw(hnp.arrays(np.float64, mdp.S, elements=st.floats(-100, 100)), label="u")
    delta = data.draw(hnp.arrays(np.float64, mdp.S, elements=st.floats(0, 10)), label="delta")
    w = u + delta
    assert np.all(u <= w)
    Tu, _ = bellman_operator(mdp, u)
    Tw, _ = bellman_operator(mdp, w)
    assert np.all(Tu <= Tw)


# ============================================================================ dense vs CSR
@st.composite
def generic_models(draw):
    """A strategy model with rewards moved by a seeded continuous perturbation: no Q ties."""
    mdp = draw(mdps(gamma=(0.0, 0.95), masked=True, sparse=False))
    seed = draw(st.integers(0, 2**32 - 1))
    R = mdp.R + np.random.default_rng(seed).uniform(-0.25, 0.25, size=mdp.R.shape)
    return TabularMDP(mdp.P, R, mdp.gamma, action_mask=mdp.action_mask)


def _policy_solve_slack(mdp: TabularMDP, pi) -> float:
    """Accuracy of ``policy_evaluation`` on a CSR model, from its documented GMRES tolerance.

    Relative residual 1e-12 in the 2-norm gives ||res||_inf <= 1e-12 sqrt(S) ||r_pi||_inf and
    ||(I - gamma P_pi)^{-1}||_inf = 1/(1-gamma), so the value error is at most
    1e-12 sqrt(S) max|r_pi| / (1 - gamma)."""
    r_pi = mdp.R[np.arange(mdp.S), pi]
    return 1e-12 * math.sqrt(mdp.S) * (1.0 + float(np.abs(r_pi).max())) / (1.0 - mdp.gamma)


@given(mdp=generic_models())
def test_dense_and_csr_agree(mdp):
    """Dense P (S, A, S) and CSR (S*A, S) give the same policy, iteration count and, within 1e-12
    (relative), the same values, for every solver: they differ only in the summation order of
    each backup (and PI's policy values come from LU vs GMRES, see _policy_solve_slack)."""
    sm = mdp.to_sparse()
    for name, fn, kw in SOLVERS:
        a = run(fn, mdp, **kw)
        b = run(fn, sm, **kw)
        scale = scale_of(a.v)
        solve_slack = _policy_solve_slack(mdp, a.policy)
        assert_array_equal(a.policy, b.policy, err_msg=name)
        assert (a.n_iter, a.converged) == (b.n_iter, b.converged), name
        v_tol = 1e-12 * scale + (solve_slack if fn is policy_iteration else 0.0)
        assert_allclose(b.v, a.v, rtol=0, atol=v_tol, err_msg=name)
        assert_allclose(b.v_policy, a.v_policy, rtol=0, atol=1e-12 * scale + solve_slack, err_msg=name)
        if a.v_lower is not None:
            amp = 1.0 / (1.0 - mdp.gamma)  # the bracket multiplies min/max of d by gamma/(1-gamma)
            assert_allclose(b.v_lower, a.v_lower, rtol=0, atol=1e-12 * scale * amp, err_msg=name)
            assert_allclose(b.v_upper, a.v_upper, rtol=0, atol=1e-12 * scale * amp, err_msg=name)
            assert abs(a.error_bound - b.error_bound) <= 1e-12 * scale * amp, name
        if fn is not linear_programming:
            # PI's residuals are ||T v_pi - v_pi|| of its (LU / GMRES) policy values
            extra = 2 * solve_slack if fn is policy_iteration else 0.0
            assert_allclose(b.residuals, a.residuals, rtol=0, atol=1e-12 * scale + extra, err_msg=name)


@given(mdp=mdps(gamma=(0.0, 0.95), masked=True, sparse=False))
def test_dense_and_csr_same_iterates_with_ties(mdp):
    """On models with Q ties the greedy choice may flip with rounding, but VI and GS iterates
    do not depend on it: same n_iter, values within 1e-12 (relative)."""
    sm = mdp.to_sparse()
    for name, fn, kw in SOLVERS[:3]:
        a = fn(mdp, **kw)
        b = fn(sm, **kw)
        scale = scale_of(a.v)
        assert a.n_iter == b.n_iter, name
        assert_allclose(b.v, a.v, rtol=0, atol=1e-12 * scale, err_msg=name)
        assert_allclose(b.residuals, a.residuals, rtol=0, atol=1e-12 * scale, err_msg=name)
        # policies agree wherever the greedy action is clear in the dense q
        if mdp.A > 1:
            top2 = np.sort(np.asarray(a.q), axis=1)[:, -2:]
            clear = (top2[:, 1] - top2[:, 0]) > 1e-9 * scale
            assert_array_equal(a.policy[clear], b.policy[clear], err_msg=name)


# ============================================================================ contract
@given(mdp=MODELS, max_iter=st.integers(1, 6))
def test_max_iter_respected(mdp, max_iter):
    for name, fn, kw in ITERATIVE:
        r = run(fn, mdp, max_iter=max_iter, **kw)
        assert 1 <= r.n_iter <= max_iter, name
        assert len(r.residuals) == r.n_iter, name
        assert r.converged == (r.status == Status.CONVERGED), name
        if not r.converged:
            assert r.n_iter == max_iter, name


def _snapshot(mdp: TabularMDP):
    if mdp.is_sparse:
        P = (mdp.P.data.copy(), mdp.P.indices.copy(), mdp.P.indptr.copy())
    else:
        P = (mdp.P.copy(),)
    return P + (mdp.R.copy(), mdp.action_mask.copy(), mdp.mu0.copy(), mdp.gamma)


def _same_snapshot(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _kwargs_with_inputs(fn, kw, mdp, v0, policy0, alpha):
    kw = dict(kw)
    if fn is policy_iteration:
        kw["policy0"] = policy0
    elif fn is linear_programming:
        kw["mu0"] = alpha
    else:
        kw["v0"] = v0
    return kw


@given(mdp=MODELS, data=st.data())
def test_inputs_not_mutated(mdp, data):
    """The model stays read-only and unchanged; v0, policy0 and alpha are not written to."""
    v0 = data.draw(hnp.arrays(np.float64, mdp.S, elements=st.floats(-10, 10)), label="v0")
    policy0 = np.array([np.flatnonzero(mdp.action_mask[s])[-1] for s in range(mdp.S)], dtype=np.int64)
    alpha = np.linspace(1.0, 2.0, mdp.S)
    before = _snapshot(mdp)
    for name, fn, kw in SOLVERS:
        kwargs = _kwargs_with_inputs(fn, kw, mdp, v0, policy0, alpha)
        copies = {k: np.array(kwargs[k], copy=True) for k in ("v0", "policy0", "mu0") if k in kwargs}
        run(fn, mdp, **kwargs)
        assert _same_snapshot(before, _snapshot(mdp)), name
        for k, c in copies.items():
            assert_array_equal(kwargs[k], c, err_msg=name)
            assert kwargs[k].flags.writeable, name  # the caller's array is left as it was
    for arr in ((mdp.P.data, mdp.P.indices, mdp.P.indptr) if mdp.is_sparse else (mdp.P,)) + (
        mdp.R,
        mdp.action_mask,
        mdp.mu0,
    ):
        assert not arr.flags.writeable


def _result_arrays(r: SolveResult):
    out = {f.name: getattr(r, f.name) for f in dataclasses.fields(r)
           if not f.name.startswith("_") and (isinstance(getattr(r, f.name), np.ndarray) or getattr(r, f.name) is None)}
    out["v_policy"] = r.v_policy
    return out


@given(mdp=MODELS)
def test_deterministic_outputs(mdp):
    for name, fn, kw in SOLVERS:
        a = run(fn, mdp, **kw)
        b = run(fn, mdp, **kw)
        assert (a.n_iter, a.converged, a.status, a.error_bound) == (b.n_iter, b.converged, b.status, b.error_bound)
        ra, rb = _result_arrays(a), _result_arrays(b)
        assert ra.keys() == rb.keys(), name
        for k in ra:
            if ra[k] is None:
                assert rb[k] is None, (name, k)
            else:
                assert_array_equal(ra[k], rb[k], err_msg=f"{name}: {k}")


@given(mdp=MODELS)
def test_output_types_and_shapes(mdp):
    S, A = mdp.S, mdp.A
    for name, fn, kw in SOLVERS:
        r = run(fn, mdp, **kw)
        assert isinstance(r, SolveResult), name
        assert r.policy.dtype == np.int64 and r.policy.shape == (S,), name
        assert np.all(mdp.action_mask[np.arange(S), r.policy]), f"{name}: policy uses a masked action"
        for field in ("v", "v_policy"):
            arr = getattr(r, field)
            assert arr.dtype == np.float64 and arr.shape == (S,), (name, field)
            assert np.all(np.isfinite(arr)), (name, field)
        assert r.residuals.dtype == np.float64 and r.residuals.shape == (r.n_iter,), name
        assert isinstance(r.error_bound, float) and r.error_bound >= 0.0, name
        assert isinstance(r.converged, bool) and isinstance(r.n_iter, int), name
        if r.q is not None:
            assert r.q.dtype == np.float64 and r.q.shape == (S, A), name
            assert np.all(r.q[~mdp.action_mask] == -np.inf), name
            assert np.all(np.isfinite(r.q[mdp.action_mask])), name
        if fn is not policy_iteration:
            for field in ("v_lower", "v_upper"):
                arr = getattr(r, field)
                assert arr.dtype == np.float64 and arr.shape == (S,), (name, field)
        for field, arr in _result_arrays(r).items():
            if isinstance(arr, np.ndarray):
                assert not arr.flags.writeable, f"{name}: {field} should be read-only"
        if fn is linear_programming:
            assert r.occupancy.shape == (S, A)
            assert r.dual_policy.dtype == np.int64 and r.dual_policy.shape == (S,)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_v_policy_is_lazy_and_exact(sparse):
    """No solver pays for the exact evaluation of its policy until v_policy is read; then it is
    numpy's direct solve of (I - gamma P_pi) v = r_pi."""
    mdp = _dyadic_mdp()
    mdp = mdp.to_sparse() if sparse else mdp
    for name, fn, kw in SOLVERS:
        r = fn(mdp, **kw)
        if fn is not policy_iteration:  # PI's v is the evaluated policy's value
            assert r._v_policy is None, name
        slack = 1e-12 * scale_of(r.v_policy) + _policy_solve_slack(mdp, r.policy)
        assert_allclose(r.v_policy, value_of(mdp, r.policy), rtol=0, atol=slack, err_msg=name)
        assert r.v_policy is r.v_policy  # cached
        assert not r.v_policy.flags.writeable


# ---------------------------------------------------------------------------- solve() dispatch
def _dyadic_mdp() -> TabularMDP:
    """A small masked model whose probabilities, rewards and gamma are exact in decimal and binary."""
    P = np.array(
        [
            [[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0]],
            [[0.0, 1.0, 0.0], [0.25, 0.25, 0.5], [0.0, 0.0, 1.0]],
            [[0.0, 0.0, 1.0], [0.5, 0.0, 0.5], [0.0, 0.0, 0.0]],
        ]
    )
    R = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [1.5, 0.0, 0.0]])
    mask = np.array([[True, True, True], [True, True, True], [True, True, False]])
    return TabularMDP(P, R, 0.75, action_mask=mask)


DISPATCH = [
    ("vi", value_iteration, "value_iteration"),
    ("value_iteration", value_iteration, "value_iteration"),
    ("VI", value_iteration, "value_iteration"),
    ("gs", gauss_seidel_value_iteration, "gauss_seidel_value_iteration"),
    ("gauss_seidel_value_iteration", gauss_seidel_value_iteration, "gauss_seidel_value_iteration"),
    ("pi", policy_iteration, "policy_iteration"),
    ("policy_iteration", policy_iteration, "policy_iteration"),
    ("mpi", modified_policy_iteration, "modified_policy_iteration"),
    ("modified_policy_iteration", modified_policy_iteration, "modified_policy_iteration"),
    ("lp", linear_programming, "linear_programming"),
    ("linear_programming", linear_programming, "linear_programming"),
    ("exact", exact_policy_iteration, "exact_policy_iteration"),
    ("exact_policy_iteration", exact_policy_iteration, "exact_policy_iteration"),
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("name, fn, method", DISPATCH, ids=[d[0] for d in DISPATCH])
def test_solve_dispatches_every_discounted_method(name, fn, method, sparse):
    mdp = _dyadic_mdp()
    mdp = mdp.to_sparse() if sparse else mdp
    r = solve(mdp, name)
    direct = fn(mdp)
    assert r.method == method
    assert_array_equal(r.policy, direct.policy)
    assert_array_equal(r.v, direct.v)
    # and it is optimal: compare with brute force over all 3 * 3 * 2 policies
    _, V = brute_force_values(mdp)
    vb = V.max(axis=0)
    assert np.all(vb - value_of(mdp, r.policy) <= r.error_bound + REL * scale_of(vb))


def test_solve_forwards_options_and_defaults_to_mpi():
    mdp = _dyadic_mdp()
    r = solve(mdp)
    assert r.method == "modified_policy_iteration"
    r = solve(mdp, "vi", epsilon=1e-3, stopping="span", max_iter=7)
    assert r.options["epsilon"] == 1e-3 and r.options["stopping"] == "span" and r.options["max_iter"] == 7
    r = solve(mdp, "mpi", m=0)
    assert r.options["m"] == 0


@pytest.mark.parametrize("method", ["foo", "", "value-iteration", "v i", None, 3])
def test_solve_rejects_unknown_method(method):
    with pytest.raises(InvalidArgumentError, match="unknown method"):
        solve(_dyadic_mdp(), method)


@pytest.mark.parametrize(
    "method, option",
    [
        ("vi", "epsilonn"),
        ("vi", "tol"),
        ("gs", "stopping"),
        ("gs", "m"),
        ("pi", "epsilon"),
        ("pi", "v0"),
        ("mpi", "stopping"),
        ("exact", "epsilon"),
        ("lp", "epsilon"),
        ("lp", "max_iter"),
        ("lp", "verbose"),
    ],
)
def test_solve_rejects_unknown_option(method, option):
    with pytest.raises(InvalidArgumentError, match=option):
        solve(_dyadic_mdp(), method, **{option: 1})


def test_lp_solver_and_solver_options_forwarded():
    """``solver`` and ``solver_options`` reach cvxpy; the certified answer does not depend on them."""
    mdp = _dyadic_mdp()
    vb = brute_force_values(mdp)[1].max(axis=0)
    for solver in ("HIGHS", "CLARABEL"):
        r = linear_programming(mdp, solver=solver, solver_options={"verbose": False})
        assert r.lp_solver == solver
        assert r.options["solver"] == solver and r.options["solver_options"] == {"verbose": False}
        assert np.all(vb - value_of(mdp, r.policy) <= r.error_bound + REL * scale_of(vb))
        assert_allclose(r.v, vb, rtol=0, atol=LP_TOL * scale_of(vb))


# ---------------------------------------------------------------------------- argument checks
DISCOUNTED_FNS = [
    pytest.param(value_iteration, id="vi"),
    pytest.param(gauss_seidel_value_iteration, id="gs"),
    pytest.param(policy_iteration, id="pi"),
    pytest.param(modified_policy_iteration, id="mpi"),
    pytest.param(linear_programming, id="lp"),
    pytest.param(exact_policy_iteration, id="exact"),
]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("fn", DISCOUNTED_FNS)
def test_gamma_one_rejected(fn, sparse):
    mdp = _dyadic_mdp().with_gamma(1.0)
    mdp = mdp.to_sparse() if sparse else mdp
    with pytest.raises(InvalidMDPError, match="gamma"):
        fn(mdp)


@pytest.mark.parametrize("method", ["vi", "gs", "pi", "mpi", "lp", "exact"])
def test_gamma_one_rejected_through_solve(method):
    with pytest.raises(InvalidMDPError, match="gamma"):
        solve(_dyadic_mdp().with_gamma(1.0), method)


EPS_FNS = [
    pytest.param(value_iteration, id="vi"),
    pytest.param(gauss_seidel_value_iteration, id="gs"),
    pytest.param(modified_policy_iteration, id="mpi"),
]
ITER_FNS = EPS_FNS + [pytest.param(policy_iteration, id="pi")]


@pytest.mark.parametrize("epsilon", [0, 0.0, -1e-6, float("nan"), float("inf"), "1e-6", None, True, [1e-6]])
@pytest.mark.parametrize("fn", EPS_FNS)
def test_bad_epsilon_rejected(fn, epsilon):
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        fn(_dyadic_mdp(), epsilon=epsilon)


@pytest.mark.parametrize("max_iter", [0, -1, 2.5, "10", None, True, np.float64(10.0)])
@pytest.mark.parametrize("fn", ITER_FNS)
def test_bad_max_iter_rejected(fn, max_iter):
    with pytest.raises(InvalidArgumentError, match="max_iter"):
        fn(_dyadic_mdp(), max_iter=max_iter)


@pytest.mark.parametrize(
    "v0",
    [
        np.zeros(2),
        np.zeros(4),
        np.zeros((3, 1)),
        np.zeros((1, 3)),
        np.array([0.0, np.nan, 0.0]),
        np.array([0.0, np.inf, 0.0]),
        ["a", "b", "c"],
        5.0,
    ],
    ids=["short", "long", "column", "row", "nan", "inf", "strings", "scalar"],
)
@pytest.mark.parametrize("fn", EPS_FNS)
def test_bad_v0_rejected(fn, v0):
    with pytest.raises(InvalidArgumentError, match="v0"):
        fn(_dyadic_mdp(), v0=v0)


@pytest.mark.parametrize("fn", DISCOUNTED_FNS[:5])
def test_non_model_rejected(fn):
    P = np.full((2, 1, 2), 0.5)
    with pytest.raises(InvalidArgumentError, match="TabularMDP"):
        fn({"P": P, "R": np.zeros((2, 1)), "gamma": 0.5})


@pytest.mark.parametrize("stopping", ["max", "", None, "NORM"])
def test_bad_stopping_rejected(stopping):
    with pytest.raises(InvalidArgumentError, match="stopping"):
        value_iteration(_dyadic_mdp(), stopping=stopping)


@pytest.mark.parametrize("m", [-1, 1.5, "3", None, True])
def test_bad_mpi_m_rejected(m):
    with pytest.raises(InvalidArgumentError, match="m must"):
        modified_policy_iteration(_dyadic_mdp(), m=m)


@pytest.mark.parametrize(
    "policy0",
    [[0, 0, 2], [0, 0, 3], [0, -1, 0], [0, 0], [[1, 0, 0], [0, 1, 0], [1, 0, 0]], [0.5, 0, 0]],
    ids=["masked", "out-of-range", "negative", "short", "stochastic", "fractional"],
)
def test_bad_policy0_rejected(policy0):
    with pytest.raises((InvalidPolicyError, InvalidArgumentError)):
        policy_iteration(_dyadic_mdp(), policy0=policy0)


@pytest.mark.parametrize(
    "alpha",
    [np.zeros(3), np.array([1.0, -1.0, 1.0]), np.ones(2), np.ones((3, 1)), np.array([1.0, np.nan, 1.0])],
    ids=["zero", "negative", "short", "column", "nan"],
)
def test_bad_lp_alpha_rejected(alpha):
    with pytest.raises(InvalidArgumentError, match="mu0"):
        linear_programming(_dyadic_mdp(), mu0=alpha)


# ============================================================================ degenerate models
@given(mdps(gamma=0.0, masked=True, sparse=None))
def test_gamma_zero_one_sweep_gives_max_reward(mdp):
    """gamma = 0: v* = max_a R(s, a) exactly; VI, GS and MPI stop after one sweep with it."""
    Rm = np.where(mdp.action_mask, mdp.R, -np.inf)
    v_exact = Rm.max(axis=1)
    pi_low = Rm.argmax(axis=1)  # lowest-index maximiser
    for fn, kw in [
        (value_iteration, {"stopping": "norm"}),
        (value_iteration, {"stopping": "span"}),
        (gauss_seidel_value_iteration, {}),
        (modified_policy_iteration, {"m": 0}),
        (modified_policy_iteration, {"m": 5}),
    ]:
        r = fn(mdp, **kw)
        assert r.converged and r.n_iter == 1, fn.__name__
        assert_array_equal(r.v, v_exact)  # 0 * (P v) adds an exact zero
        assert_array_equal(r.v_policy, v_exact)
        assert_array_equal(r.policy, pi_low)
        assert r.error_bound == 0.0
        assert_array_equal(r.v_lower, v_exact)
        assert_array_equal(r.v_upper, v_exact)
    r = policy_iteration(mdp)
    assert r.converged and r.n_iter == 1
    assert_array_equal(r.policy, pi_low)
    assert_allclose(r.v_policy, v_exact, rtol=0, atol=1e-12 * scale_of(v_exact))
    r = linear_programming(mdp)
    assert_allclose(r.v, v_exact, rtol=0, atol=LP_TOL * scale_of(v_exact))
    assert_array_equal(np.where(mdp.action_mask, mdp.R, -np.inf)[np.arange(mdp.S), r.policy], v_exact)


@given(mdp=mdps(n_states=1, gamma=(0.0, 0.95), masked=True, sparse=None))
def test_single_state_closed_form(mdp):
    """S = 1: every action loops back, so v* = max_a R(0, a) / (1 - gamma)."""
    r_best = float(np.where(mdp.action_mask, mdp.R, -np.inf).max())
    vs = r_best / (1.0 - mdp.gamma)
    slack = REL * scale_of([vs])
    for name, fn, kw in SOLVERS:
        r = fn(mdp, **kw)
        assert r.converged, name
        assert mdp.R[0, r.policy[0]] == r_best and mdp.action_mask[0, r.policy[0]], name
        assert abs(float(r.v_policy[0]) - vs) <= slack, name
        if r.v_lower is not None:
            assert r.v_lower[0] <= vs + slack and vs <= r.v_upper[0] + slack, name


@given(mdp=mdps(n_actions=1, gamma=(0.0, 0.95), masked=True, sparse=None))
def test_single_action_unique_policy(mdp):
    """A = 1: the only policy is optimal, v* = (I - gamma P)^{-1} R."""
    S = mdp.S
    vs = np.linalg.solve(np.eye(S) - mdp.gamma * np.asarray(mdp.P_dense())[:, 0, :], mdp.R[:, 0])
    for name, fn, kw in SOLVERS:
        r = fn(mdp, **kw)
        assert_array_equal(r.policy, np.zeros(S, dtype=np.int64), err_msg=name)
        assert_allclose(r.v_policy, vs, rtol=0, atol=REL * scale_of(vs), err_msg=name)
        assert r.error_bound >= 0.0, name


# ============================================================================ LP duality
@given(mdp=MODELS, data=st.data())
def test_lp_dual_feasible_and_strong_duality__puterman_thm_6_9_1(mdp, data):
    """Puterman 1994 Sec. 6.9 (Thm 6.9.1): the dual occupancies satisfy x >= 0 and
    sum_a x(s', a) - gamma sum_{s,a} P(s'|s,a) x(s,a) = alpha(s'), and alpha . v = sum x R."""
    use_alpha = data.draw(st.booleans(), label="custom alpha")
    if use_alpha:
        alpha = np.array(data.draw(st.lists(st.floats(0.1, 2.0), min_size=mdp.S, max_size=mdp.S), label="alpha"))
        r = linear_programming(mdp, mu0=alpha)
    else:
        alpha = np.full(mdp.S, 1.0 / mdp.S)
        r = linear_programming(mdp)
    x = np.asarray(r.occupancy)
    vs = v_star(mdp)
    scale = scale_of(vs)
    assert x.shape == (mdp.S, mdp.A)
    assert np.all(x[~mdp.action_mask] == 0.0)
    assert x.min() >= -LP_NONNEG_TOL
    P = np.asarray(mdp.P_dense())
    flow = x.sum(axis=1) - mdp.gamma * np.einsum("sat,sa->t", P, x)
    assert_allclose(flow, alpha, rtol=0, atol=LP_TOL)
    primal = float(alpha @ np.asarray(r.v_iterate))
    dual = float((x * np.where(mdp.action_mask, mdp.R, 0.0)).sum())
    assert abs(primal - dual) <= LP_TOL * scale
    assert abs(r.objective - primal) <= LP_TOL * scale
    # and the primal optimum is v* (Puterman 1994 Thm 6.9.1)
    assert_allclose(r.v, vs, rtol=0, atol=LP_TOL * scale)


@given(MODELS)
def test_lp_dual_policy_optimal__puterman_thm_6_9_4(mdp):
    """Puterman 1994 Thm 6.9.4: pi(s) = argmax_a x(s, a) of an optimal dual solution is optimal."""
    r = linear_programming(mdp)
    pi = np.asarray(r.dual_policy)
    assert np.all(mdp.action_mask[np.arange(mdp.S), pi])
    vs = v_star(mdp)
    assert_allclose(value_of(mdp, pi), vs, rtol=0, atol=REL * scale_of(vs))

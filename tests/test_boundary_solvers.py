"""Issue 13 regression tests for solver options, value overflow and up-front memory estimates.

Items 3 (no nan reported with ``converged=True``), 9 (sizes, horizons and ``max_iter`` refused
up front with the estimate) and 10 (``tie_rtol``, ``epsilon`` on every path, ``tol``, nan in
options).  Oracles: the error type and message; for the memory checks, that the refusal comes
before any allocation (``tracemalloc`` peak far below the request); for valid input, an
independent value iteration in plain numpy.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from mdpkit import InvalidArgumentError, InvalidMDPError, TabularMDP
from mdpkit._exceptions import MDPKitError
from mdpkit._validation import check_memory, fmt_bytes, memory_limit
from mdpkit.generators import garnet, make
from mdpkit.solvers import (
    backward_induction,
    gauss_seidel_value_iteration,
    modified_policy_iteration,
    policy_iteration,
    relative_value_iteration,
    solve,
    value_iteration,
)


def _det_sparse():
    """A deterministic CSR model (``solve`` auto picks policy iteration for it)."""
    return make("gridworld4x4").with_gamma(0.9).to_sparse()


# ----------------------------------------------------------------------------- item 10
@pytest.mark.parametrize("tie_rtol", [np.nan, -1.0, np.inf, 0.5, "1e-12", None])
@pytest.mark.parametrize("sparse", [False, True])
def test_policy_iteration_tie_rtol_validated(tie_rtol, sparse):
    m = garnet(20, 3, 4, gamma=0.9, rng=1)
    for mm in ((_det_sparse(),) if sparse else (m,)):
        with pytest.raises(InvalidArgumentError, match="tie_rtol"):
            policy_iteration(mm, tie_rtol=tie_rtol)


def test_policy_iteration_valid_tie_rtol_is_optimal():
    m = garnet(30, 3, 4, gamma=0.9, rng=2)
    P, R, v = m.P_dense(), m.R, np.zeros(m.S)
    for _ in range(2000):  # plain numpy value iteration: an independent route to v*
        v = (R + 0.9 * P @ v).max(axis=1)
    for tie in (0.0, 1e-12, 1e-3):
        r = policy_iteration(m, tie_rtol=tie)
        assert r.converged
        np.testing.assert_allclose(r.v, v, atol=1e-8)


@pytest.mark.parametrize("eps", [np.nan, -1.0, 0.0, np.inf, "0.1"])
def test_auto_epsilon_validated_on_the_deterministic_path(eps):
    m = _det_sparse()
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        solve(m, epsilon=eps)
    # the same model dense (auto runs MPI) refuses it too
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        solve(m.to_dense(), epsilon=eps)


@pytest.mark.parametrize("fn", [value_iteration, gauss_seidel_value_iteration, modified_policy_iteration])
@pytest.mark.parametrize("eps", [np.nan, np.inf, -1.0])
def test_epsilon_validated(fn, eps):
    with pytest.raises(InvalidArgumentError, match="epsilon"):
        fn(garnet(5, 2, 2, gamma=0.9, rng=0), epsilon=eps)


@pytest.mark.parametrize("tol", [np.nan, -1.0, 0.0, np.inf])
def test_risk_tol_validated(tol):
    from mdpkit.solvers.risk import optimize_cvar, optimize_erm

    m = garnet(4, 2, 2, gamma=0.5, rng=0)
    with pytest.raises(InvalidArgumentError, match="tol"):
        optimize_cvar(m, 0.5, tol=tol)
    with pytest.raises(InvalidArgumentError, match="tol"):
        optimize_erm(m, 0.5, tol=tol)


@pytest.mark.parametrize("spec", ["utility:exp:nan", "utility:power:inf", "cvar:nan", "erm:-inf", "band:nan:1"])
def test_objective_parameters_must_be_finite(spec):
    from mdpkit.solvers.risk import parse_objective

    with pytest.raises(InvalidArgumentError, match="finite"):
        parse_objective(spec)


# ----------------------------------------------------------------------------- item 3
def _huge_reward_model(sparse=False):
    m = TabularMDP(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), np.array([[1.7e308], [0.0]]), 0.9)
    return m.to_sparse() if sparse else m


@pytest.mark.parametrize("method", ["auto", "vi", "gs", "pi", "mpi"])
@pytest.mark.parametrize("sparse", [False, True])
def test_value_overflow_refused_not_nan(method, sparse):
    with pytest.raises(InvalidMDPError, match="overflow"):
        solve(_huge_reward_model(sparse), method)


def test_value_overflow_refused_finite_horizon_and_rvi():
    m = _huge_reward_model().with_gamma(1.0)
    with pytest.raises(InvalidMDPError, match="overflow"):
        backward_induction(m, 5)
    with pytest.raises(InvalidMDPError, match="overflow"):
        relative_value_iteration(m)
    # a large but safe scale still solves: |v| <= 1e290 / (1 - 0.9)
    ok = TabularMDP(np.array([[[0.0, 1.0]], [[0.0, 1.0]]]), np.array([[1e290], [0.0]]), 0.9)
    r = solve(ok)
    assert r.converged and np.all(np.isfinite(r.v))


def test_v0_near_overflow_refused():
    m = garnet(5, 2, 2, gamma=0.9, rng=0)
    with pytest.raises(InvalidArgumentError, match="v0"):
        value_iteration(m, v0=np.full(5, 1e307))


@pytest.mark.parametrize("tie", [1e-12])
def test_no_converged_result_carries_nan(tie):
    # every registered discounted method on a model at the edge of the accepted scale
    m = TabularMDP(np.full((3, 2, 3), 1 / 3), np.array([[1e298, -1e298], [0.0, 1.0], [-1e298, 1e298]]), 0.99)
    for method in ("vi", "gs", "pi", "mpi", "auto"):
        r = solve(m, method) if method != "pi" else solve(m, method, tie_rtol=tie)
        assert not np.isnan(r.v).any() and not np.isnan(r.error_bound)


# ----------------------------------------------------------------------------- item 9: memory
def _refused_before_allocating(fn, match="needs about"):
    tracemalloc.start()
    try:
        with pytest.raises(InvalidArgumentError, match=match) as ei:
            fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak} bytes allocated before the refusal"
    assert "MDPKIT_MAX_MEMORY" in str(ei.value)
    return str(ei.value)


@pytest.mark.parametrize(
    "spec",
    ["garnet:S=1000000000000,A=4,b=8", "gambler:goal=10000000", "jacks_car_rental:max_cars=100000",
     "forest:S=1000000000", "inventory:max_inventory=100000", "riverswim:n_states=10000000",
     "chain:n_states=10000000", "machine_replacement:n_states=10000000"],
)
def test_generators_refuse_oversized_requests_up_front(spec):
    msg = _refused_before_allocating(lambda: make(spec))
    assert "GiB" in msg or "TiB" in msg or "PiB" in msg or "EiB" in msg


def test_max_iter_trace_arrays_refused_up_front():
    m = garnet(5, 2, 2, gamma=0.9, rng=0)
    for fn in (value_iteration, gauss_seidel_value_iteration, modified_policy_iteration, policy_iteration):
        msg = _refused_before_allocating(lambda: fn(m, max_iter=10**10))
        assert "max_iter=10,000,000,000" in msg
    _refused_before_allocating(lambda: relative_value_iteration(m.with_gamma(1.0), max_iter=10**11))


def test_horizon_refused_up_front():
    m = garnet(5, 2, 2, gamma=0.9, rng=0)
    _refused_before_allocating(lambda: backward_induction(m, 10**9))
    _refused_before_allocating(lambda: solve(m, "finite", horizon=10**9))


def test_optimize_cvar_huge_horizon_refused_up_front():
    from mdpkit.solvers.risk import optimize_cvar

    m = make("cvar_counterexample")
    msg = _refused_before_allocating(lambda: optimize_cvar(m, 0.5, horizon=10**6))
    assert "horizon=1000000" in msg


def test_memory_limit_env_var(monkeypatch):
    monkeypatch.setenv("MDPKIT_MAX_MEMORY", "1M")
    assert memory_limit() == 2**20
    with pytest.raises(InvalidArgumentError, match=r"2\.0 MiB .* limit of 1\.0 MiB"):
        check_memory(2 * 2**20, "a test request")
    with pytest.raises(InvalidArgumentError, match="needs about"):
        garnet(2000, 4, 8, rng=0)
    monkeypatch.setenv("MDPKIT_MAX_MEMORY", "none")
    assert memory_limit() is None
    check_memory(10**30, "anything")  # no limit
    monkeypatch.setenv("MDPKIT_MAX_MEMORY", "-5")
    with pytest.raises(InvalidArgumentError, match="MDPKIT_MAX_MEMORY"):
        memory_limit()
    monkeypatch.delenv("MDPKIT_MAX_MEMORY")
    assert memory_limit() == 8 * 2**30
    assert fmt_bytes(11.9 * 2**30) == "11.9 GiB"


def test_all_errors_are_mdpkit_errors():
    # the errors above are both MDPKitError and ValueError (sklearn style)
    for exc in (InvalidArgumentError, InvalidMDPError):
        assert issubclass(exc, MDPKitError) and issubclass(exc, ValueError)


@pytest.mark.parametrize("sparse", [False, True])
def test_mpi_huge_m_ends_and_equals_the_bounded_run(sparse):
    """Regression (fuzz): ``m=5e15`` with ``eval_rtol=0`` ran ~forever.  The evaluation now stops at
    a sweep that moves no value (a floating-point fixed point of T_pi), which gives the same bits
    as running every remaining sweep: the result equals the run with m = 20000, itself more
    sweeps than this model needs to reach that fixed point, and lies within its certificate of an
    exact policy-iteration answer."""
    mdp = garnet(S=6, A=3, b=3, gamma=0.9, rng=3, sparse=sparse)
    big = modified_policy_iteration(mdp, m=5 * 10**15, eval_rtol=0.0)
    ref = modified_policy_iteration(mdp, m=20000, eval_rtol=0.0)
    assert np.array_equal(big.v, ref.v) and np.array_equal(big.policy, ref.policy)
    assert big.n_eval_sweeps < 20000 * big.n_iter
    exact = policy_iteration(mdp)
    assert np.max(np.abs(big.v - exact.v)) <= big.v_error_bound + exact.v_error_bound

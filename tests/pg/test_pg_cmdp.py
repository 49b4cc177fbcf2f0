"""Constrained MDPs (mdpkit.solvers.cmdp).

Oracle: Lagrangian duality by enumeration.  For one constraint the dual function
D(lam) = max over deterministic policies of [V_R - lam (V_C - b)] is the upper envelope of one line
per deterministic policy (each evaluated by a numpy solve here); its minimum over lam >= 0 is
attained at 0 or at a crossing of two lines, all enumerated exactly.  Strong LP duality makes it
the CMDP optimum (Altman 1999, Ch. 3).
"""

import itertools
import warnings

import numpy as np
import pytest

from mdpkit import ConvergenceWarning, TabularMDP
from mdpkit.solvers.cmdp import (
    InfeasibleCMDPError,
    cmdp_linear_programming,
    cmdp_primal_dual,
    constraint_values,
)


def instance(seed, S=3, A=2, gamma=0.8, slack=0.3):
    rng = np.random.default_rng(seed)
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.uniform(0, 1, (S, A)), gamma)
    C = rng.uniform(0, 1, (S, A))
    lines = enumerate_lines(mdp, C)
    cmin, cmax_at_best = lines[:, 1].min(), lines[np.argmax(lines[:, 0]), 1]
    b = cmin + slack * (cmax_at_best - cmin)
    return mdp, C, b, lines


def enumerate_lines(mdp, C):
    """(V_R(mu), V_C(mu)) of every deterministic policy, numpy solves."""
    P, S = mdp.P_dense(), mdp.S
    out = []
    for pol in itertools.product(range(mdp.A), repeat=S):
        pol = np.array(pol)
        M = np.eye(S) - mdp.gamma * P[np.arange(S), pol]
        out.append((mdp.mu0 @ np.linalg.solve(M, mdp.R[np.arange(S), pol]),
                    mdp.mu0 @ np.linalg.solve(M, C[np.arange(S), pol])))
    return np.array(out)


def dual_optimum(lines, b):
    def D(lam):
        return float(np.max(lines[:, 0] - lam * (lines[:, 1] - b)))
    cands = [0.0]
    for (r1, c1), (r2, c2) in itertools.combinations(lines, 2):
        if abs(c1 - c2) > 1e-14:
            lam = (r1 - r2) / (c1 - c2)
            if lam > 0:
                cands.append(lam)
    vals = [D(x) for x in cands]
    i = int(np.argmin(vals))
    return vals[i], cands[i]


@pytest.mark.parametrize("seed", range(6))
def test_lp_matches_the_enumerated_lagrangian_dual(seed):
    mdp, C, b, lines = instance(seed, slack=[0.1, 0.3, 0.5, 0.7, 0.9, 0.2][seed])
    opt, lam_star = dual_optimum(lines, b)
    res = cmdp_linear_programming(mdp, costs=C, budgets=b)
    assert res.objective == pytest.approx(opt, abs=1e-9)
    assert res.upper_bound >= opt - 1e-9
    assert res.certificate.value <= 1e-8
    # the returned randomized policy is feasible, values recomputed here
    P = mdp.P_dense()
    M = np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", res.policy, P)
    vc = mdp.mu0 @ np.linalg.solve(M, np.sum(res.policy * C, axis=1))
    vr = mdp.mu0 @ np.linalg.solve(M, np.sum(res.policy * mdp.R, axis=1))
    assert vc <= b + 1e-9 and vr == pytest.approx(opt, abs=1e-9)
    # the multiplier minimizes the dual function: D(lambda_LP) = OPT
    lam = float(res.multipliers[0])
    assert float(np.max(lines[:, 0] - lam * (lines[:, 1] - b))) == pytest.approx(opt, abs=1e-8)
    # occupancy sums to 1/(1-gamma) and the policy randomizes in at most m = 1 state (Altman 1999)
    assert res.occupancy.sum() == pytest.approx(1 / (1 - mdp.gamma), rel=1e-10)
    assert np.sum(np.sum(res.policy > 1e-9, axis=1) > 1) <= 1


def test_two_constraints_and_constraint_values():
    mdp, C, b, _ = instance(8, S=4, A=3)
    C2 = np.stack([C, 1 - C])
    res = cmdp_linear_programming(mdp, costs=C2, budgets=[b, 10.0])
    cv = constraint_values(mdp, res.policy, C2)
    np.testing.assert_allclose(cv, res.constraint_values, atol=1e-12)
    assert np.all(cv <= np.array([b, 10.0]) + 1e-9)
    assert res.multipliers.shape == (2,) and res.multipliers[1] == pytest.approx(0.0, abs=1e-9)  # slack constraint


def test_infeasible_cmdp_raises_with_a_checkable_certificate():
    mdp, C, _, lines = instance(3)
    cmin = lines[:, 1].min()  # deterministic policies attain the minimal cost
    b = cmin - 0.05
    with pytest.raises(InfeasibleCMDPError, match="infeasible") as ei:
        cmdp_linear_programming(mdp, costs=C, budgets=b)
    e = ei.value
    # verify the certificate independently: u <= w.C + gamma P u on every (s, a), mu.u - w.b > 0
    u, w = e.value, e.weights
    lhs = u[:, None] - (w[0] * C + mdp.gamma * mdp.P_dense() @ u)
    assert lhs.max() <= 1e-9
    assert e.gap == pytest.approx(mdp.mu0 @ u - w @ [b], abs=1e-12)
    assert e.gap == pytest.approx(0.05, abs=1e-8)  # the exact shortfall: min cost - b
    assert isinstance(e, ValueError)


@pytest.mark.parametrize("seed", [1, 5])
def test_reload_last_iterate_converges_where_gda_cycles(seed):
    mdp, C, b, lines = instance(seed, slack=0.4)
    opt, _ = dual_optimum(lines, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gda = cmdp_primal_dual(mdp, costs=C, budgets=b, variant="gda", eta=0.2, eta_lambda=1.0, n_iter=800)
        rel = cmdp_primal_dual(mdp, costs=C, budgets=b, variant="reload", eta=0.2, eta_lambda=1.0, n_iter=800)
    assert rel.lp_objective == pytest.approx(opt, abs=1e-9)
    tail = slice(-200, None)
    assert rel.violation[tail].max() <= 1e-6 and rel.optimality_gap[tail].max() <= 1e-6
    assert rel.converged
    # GDA: the last iterates keep oscillating (gap and multiplier), no convergence
    assert gda.optimality_gap[tail].max() > 1e-2 and np.ptp(gda.multipliers[tail]) > 0.1
    assert not gda.converged
    # exact traces: the last entry recomputed here
    vr = mdp.mu0 @ np.linalg.solve(np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", rel.policy, mdp.P_dense()),
                                   np.sum(rel.policy * mdp.R, axis=1))
    assert rel.reward_values[-1] == pytest.approx(vr, abs=1e-12)
    # the averaged iterate (mixture of the iterates' occupancies) is evaluated exactly too
    M = np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", gda.average_policy, mdp.P_dense())
    assert gda.average_reward_value == pytest.approx(mdp.mu0 @ np.linalg.solve(M, np.sum(gda.average_policy * mdp.R, axis=1)), abs=1e-12)
    assert gda.average_cost_values[0] == pytest.approx(mdp.mu0 @ np.linalg.solve(M, np.sum(gda.average_policy * C, axis=1)), abs=1e-12)


def test_bad_cost_shapes():
    mdp, C, b, _ = instance(0)
    from mdpkit import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="costs must have shape"):
        cmdp_linear_programming(mdp, costs=np.zeros((2, 5)), budgets=1.0)
    with pytest.raises(InvalidArgumentError, match="budgets must have shape"):
        cmdp_linear_programming(mdp, costs=C, budgets=[1.0, 2.0])
    with pytest.raises(InvalidArgumentError, match="variant"):
        cmdp_primal_dual(mdp, costs=C, budgets=b, variant="sgd")

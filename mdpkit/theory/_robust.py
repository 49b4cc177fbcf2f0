"""Registered theorem checks for robust dynamic programming (sa-rectangular sets)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from mdpkit import bounds
from mdpkit.solvers.robust import robust_bellman_operator, robust_value_iteration

from ._core import Observation, Theorem, register
from ._dp import _slack, _start, _sup, _wrong_gamma
from ._instances import discounted_mdps, optimal_value

KINDS = ("l1", "linf", "l2", "chi2", "kl")


def _random_set(rng, radius=None):
    from mdpkit.uncertainty import parse_uncertainty

    kind = KINDS[int(rng.integers(len(KINDS)))]
    r = float(rng.choice([0.0, 0.01, 0.1, 0.5, 2.0])) if radius is None else radius
    return parse_uncertainty(f"{kind}:{r}")


def robust_T(mdp, v, uncertainty):
    """Default subject: the robust Bellman operator ``(mdp, v, U) -> T_U v``."""
    return robust_bellman_operator(mdp, v, uncertainty).v


def robust_T_wrong_discount(mdp, v, uncertainty):
    """Negative control: the robust operator with discount (1+gamma)/2."""
    return robust_bellman_operator(_wrong_gamma(mdp), v, uncertainty).v


def _run_contraction(mdp, rng, T):
    U = _random_set(rng)
    obs, bnd = [], []
    for _ in range(6):
        u, v = _start(mdp, rng), _start(mdp, rng)
        obs.append(_sup(np.asarray(T(mdp, u, U)) - np.asarray(T(mdp, v, U))))
        bnd.append(bounds.vi_contraction_bound(mdp.gamma, 1, _sup(u - v)).value)
    return Observation(np.array(obs), np.array(bnd), atol=_slack(mdp), info={"set": str(U)})


register(Theorem(
    name="robust-contraction",
    statement="||T_U u - T_U v||_inf <= gamma ||u - v||_inf for the sa-rectangular robust Bellman operator",
    source="Iyengar (2005), Math. Oper. Res. 30(2); Nilim & El Ghaoui (2005), Oper. Res. 53(5)",
    compare="bound",
    subject=robust_T, subject_doc="T(mdp, v, uncertainty) -> (S,) array, the robust Bellman operator",
    run=_run_contraction, family=discounted_mdps,
    negative=robust_T_wrong_discount, negative_doc="robust operator with discount (1+gamma)/2",
    zoo=("machine_replacement",), plot="ratio",
))


def robust_vi_best_case(mdp, uncertainty, **kw):
    """Negative control: lets nature help (solves the model with negated rewards and negates back)."""
    from mdpkit.model import TabularMDP

    neg = TabularMDP(mdp.P, -mdp.R, mdp.gamma, action_mask=mdp.action_mask)
    res = robust_value_iteration(neg, uncertainty, **kw)
    return SimpleNamespace(v_policy=-np.asarray(res.v_policy), error_bound=res.error_bound)


def _run_set_monotone(mdp, rng, solver):
    vstar = optimal_value(mdp)
    U0 = _random_set(rng, radius=0.0)
    eps = 1e-8 * max(1.0, _sup(mdp.R[mdp.action_mask]))
    radii = [0.0, 0.05, 0.2, 1.0]
    res = [solver(mdp, U0.with_radius(r), epsilon=eps) for r in radii]
    vals = [np.asarray(x.v_policy, dtype=float) for x in res]
    # radius 0 is the nominal problem; larger sets give lower robust values:
    # v_pol(r2) <= v*_U(r2) <= v*_U(r1) <= v_pol(r1) + error_bound(r1)
    obs = [np.abs(vals[0] - vstar)] + [vals[j + 1] - vals[j] for j in range(len(radii) - 1)]
    bnd = [np.full(mdp.S, res[0].error_bound)] + [np.full(mdp.S, res[j].error_bound) for j in range(len(radii) - 1)]
    return Observation(np.concatenate(obs), np.concatenate(bnd), atol=_slack(mdp), info={"set": U0.kind})


register(Theorem(
    name="robust-set-monotone",
    statement="radius 0 gives the nominal v*, and a larger uncertainty set gives a lower robust optimal value",
    source="Iyengar (2005); Wiesemann, Kuhn & Rustem (2013), Math. Oper. Res. 38(1)",
    compare="bound",
    subject=robust_value_iteration, subject_doc="solver(mdp, uncertainty, epsilon=) -> SolveResult "
                                                "(.v_policy robust value, .error_bound)",
    run=_run_set_monotone, family=discounted_mdps,
    negative=robust_vi_best_case, negative_doc="robust VI where nature maximizes instead of minimizing",
    zoo=("machine_replacement", "riverswim:gamma=0.9"), plot="ratio",
))

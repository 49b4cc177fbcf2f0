r"""Exact identities of discounted MDPs, written as functions of their right-hand sides.

A theorem check evaluates the left-hand side independently and compares the two.
"""

from __future__ import annotations

import numpy as np

from ._bound import Bound, BoundKind

__all__ = ["performance_difference", "simulation_identity"]


def performance_difference(gamma: float, occupancy_new, advantage_old) -> Bound:
    r"""Performance-difference lemma, right-hand side.

    .. math:: V^{\pi'}(\mu) - V^{\pi}(\mu) = \frac{1}{1-\gamma}\,
              \mathbb{E}_{(s,a)\sim d^{\pi'}_\mu}\big[A^\pi(s,a)\big],

    with :math:`d^{\pi'}_\mu(s,a) = (1-\gamma)\sum_t \gamma^t \Pr(s_t=s, a_t=a)` the *normalized*
    discounted occupancy of :math:`\pi'` from :math:`\mu` and :math:`A^\pi = Q^\pi - V^\pi`.
    Kakade & Langford (2002), ICML, Lemma 6.1.

    Parameters
    ----------
    occupancy_new : ndarray (S, A)
        :math:`d^{\pi'}_\mu`, summing to 1 (e.g. :func:`mdpkit.policies.occupancy_measure`).
    advantage_old : ndarray (S, A)
        :math:`A^\pi(s, a)`; entries where the occupancy is zero are ignored (masked actions).
    """
    g = float(gamma)
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    d = np.asarray(occupancy_new, dtype=float)
    adv = np.asarray(advantage_old, dtype=float)
    if d.shape != adv.shape:
        raise ValueError(f"occupancy_new {d.shape} and advantage_old {adv.shape} must have the same shape")
    val = float(np.sum(np.where(d > 0, d * np.where(d > 0, adv, 0.0), 0.0)) / (1.0 - g))
    return Bound(
        value=val,
        kind=BoundKind.DETERMINISTIC,
        citation="S. Kakade and J. Langford, Approximately optimal approximate reinforcement learning, "
                 "ICML 2002, Lemma 6.1",
        assumptions=("gamma < 1", "d normalized discounted occupancy of the new policy from mu"),
        statement="V^{pi'}(mu) - V^{pi}(mu) = E_{(s,a)~d^{pi'}_mu}[A^pi(s,a)] / (1 - gamma)",
    )


def simulation_identity(gamma: float, P1_pi, r1_pi, r2_pi, P2_pi, v2) -> np.ndarray:
    r"""Right-hand side of :math:`V_1 - V_2 = (I-\gamma P_{1,\pi})^{-1}[(r_1-r_2) + \gamma(P_1-P_2)V_2]`.

    All arguments are for one policy: ``P*_pi (S, S)`` dense, ``r*_pi (S,)``, ``v2 (S,)`` the value
    in model 2.  Returns the (S,) vector; :func:`mdpkit.bounds.simulation_lemma_bound` bounds it.
    (Telescoping identity behind the simulation lemma; Agarwal, Jiang, Kakade & Sun, Lemma 2.2.)
    """
    g = float(gamma)
    P1 = np.asarray(P1_pi, dtype=float)
    S = P1.shape[0]
    rhs = (np.asarray(r1_pi, float) - np.asarray(r2_pi, float)) + g * (P1 - np.asarray(P2_pi, float)) @ np.asarray(v2, float)
    return np.linalg.solve(np.eye(S) - g * P1, rhs)

r"""Iteration-count bounds for Howard's policy iteration.

Notation: :math:`n` states, :math:`m` state-action pairs in total (available pairs when actions
are masked), discount :math:`\gamma`.  One iteration is one evaluation followed by one greedy
improvement; :math:`\pi_k` is the policy after :math:`k` improvements.
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind

__all__ = ["pi_iterations_scherrer", "pi_iterations_hansen_miltersen_zwick", "pi_iterations_ye"]


def _args(n_pairs, n_states, gamma):
    m, n, g = int(n_pairs), int(n_states), float(gamma)
    if n < 1 or m < n:
        raise ValueError(f"need n_states >= 1 and n_pairs >= n_states, got n_pairs={m}, n_states={n}")
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    return m, n, g


def pi_iterations_scherrer(n_pairs: int, n_states: int, gamma: float) -> Bound:
    r"""Howard's PI is optimal after :math:`(m-n)\left(\lceil \tfrac{\ln(1/(1-\gamma))}{1-\gamma}\rceil + 1\right)` iterations.

    Strongly polynomial for fixed :math:`\gamma`.  Scherrer (2016), Math. Oper. Res. 41(3),
    which states it as :math:`O\big(\tfrac{m}{1-\gamma}\log\tfrac{1}{1-\gamma}\big)`; the explicit
    constant encoded here is the one stated (following Scherrer's proof) in Szepesvári, *RL Theory*
    lecture notes, Lecture 4, Theorem "Runtime bound for policy iteration", which was read; the
    constant in Scherrer's own theorem was not checked.  PI is invariant under shifting and
    scaling rewards, so the lecture's rewards-in-[0, 1] assumption is not needed.
    """
    m, n, g = _args(n_pairs, n_states, gamma)
    kstar = math.ceil(math.log(1.0 / (1.0 - g)) / (1.0 - g)) + 1
    return Bound(
        value=float((m - n) * kstar),
        kind=BoundKind.DETERMINISTIC,
        citation="B. Scherrer, Improved and generalized upper bounds on the complexity of policy iteration, "
                 "Math. Oper. Res. 41(3), 2016; explicit constant from Szepesvari, RL Theory lecture notes, "
                 "Lecture 4 (Runtime bound for policy iteration)",
        assumptions=("gamma < 1", "Howard (greedy in every state) improvement", "exact evaluation"),
        statement="pi_k is optimal for k >= (m - n) * (ceil(ln(1/(1-gamma))/(1-gamma)) + 1)",
        extra={"m": m, "n": n},
    )


def pi_iterations_hansen_miltersen_zwick(n_pairs: int, n_states: int, gamma: float) -> Bound:
    r"""Rate-only: Howard's PI needs :math:`O\big(\tfrac{m}{1-\gamma}\log\tfrac{n}{1-\gamma}\big)` iterations.

    Hansen, Miltersen & Zwick (2013), J. ACM 60(1).  The constant is hidden in the O; ``value``
    is the expression without it, so it is a rate claim, never a pass/fail bound.
    """
    m, n, g = _args(n_pairs, n_states, gamma)
    return Bound(
        value=m / (1.0 - g) * math.log(n / (1.0 - g)) if n / (1.0 - g) > 1 else 0.0,
        kind=BoundKind.RATE_ONLY,
        citation="T. D. Hansen, P. B. Miltersen and U. Zwick, Strategy iteration is strongly polynomial for "
                 "2-player turn-based stochastic games with a constant discount factor, J. ACM 60(1), 2013",
        assumptions=("gamma < 1", "Howard improvement", "constant factor not stated"),
        statement="iterations = O(m/(1-gamma) log(n/(1-gamma)))",
    )


def pi_iterations_ye(n_pairs: int, n_states: int, gamma: float) -> Bound:
    r"""Rate-only: Ye's bound :math:`O\big(\tfrac{mn}{1-\gamma}\log\tfrac{n}{1-\gamma}\big)` for Howard's PI.

    Y. Ye (2011), Math. Oper. Res. 36(4), as restated by Hansen, Miltersen & Zwick (2013); the
    paper's own statement was not seen, so only the rate is encoded.
    """
    m, n, g = _args(n_pairs, n_states, gamma)
    return Bound(
        value=m * n / (1.0 - g) * math.log(n / (1.0 - g)) if n / (1.0 - g) > 1 else 0.0,
        kind=BoundKind.RATE_ONLY,
        citation="Y. Ye, The simplex and policy-iteration methods are strongly polynomial for the Markov "
                 "decision problem with a fixed discount rate, Math. Oper. Res. 36(4), 2011 (as restated by "
                 "Hansen, Miltersen & Zwick 2013)",
        assumptions=("gamma < 1", "Howard improvement", "constant factor not stated"),
        statement="iterations = O(m n/(1-gamma) log(n/(1-gamma)))",
    )

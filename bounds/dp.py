r"""Bounds for exact dynamic programming in discounted, total-reward and average-reward MDPs.

Every stopping threshold and certificate used by :mod:`mdpkit.solvers` is written here once.

Notation: :math:`T` is the Bellman optimality operator, :math:`\pi` a policy greedy for
:math:`v` (so :math:`T_\pi v = T v`), :math:`d = T v - v`, and the span is
:math:`\operatorname{sp}(d) = \max_s d(s) - \min_s d(s)`.
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind

PUTERMAN = "M. L. Puterman, Markov Decision Processes, Wiley 1994"


def _check_gamma_lt1(gamma: float) -> float:
    g = float(gamma)
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must lie in [0, 1) for a discounted bound, got {gamma!r}")
    return g


def vi_norm_stopping_tol(epsilon: float, gamma: float) -> float:
    r"""Sup-norm stopping threshold of value iteration: :math:`\varepsilon(1-\gamma)/(2\gamma)`.

    If :math:`\|v_{n+1}-v_n\|_\infty < \varepsilon(1-\gamma)/(2\gamma)` then the policy greedy for
    :math:`v_{n+1}` is :math:`\varepsilon`-optimal and :math:`\|v_{n+1}-v^*\|<\varepsilon/2`.
    See Puterman 1994, Thm 6.3.1(c)-(d).  ``gamma == 0`` gives ``inf`` (one sweep is exact).
    """
    g = _check_gamma_lt1(gamma)
    return math.inf if g == 0.0 else float(epsilon) * (1.0 - g) / (2.0 * g)


def span_stopping_tol(epsilon: float, gamma: float) -> float:
    r"""Span stopping threshold :math:`\varepsilon(1-\gamma)/\gamma` for a greedy policy.

    If :math:`\operatorname{sp}(Tv - v) < \varepsilon(1-\gamma)/\gamma` the policy greedy for
    :math:`v` is :math:`\varepsilon`-optimal, by :func:`greedy_span_bound`.  The span rule is
    never looser than the norm rule because :math:`\operatorname{sp}(d) \le 2\|d\|_\infty`.
    See Puterman 1994, Sec. 6.6.3 (span-based stopping criteria).
    """
    g = _check_gamma_lt1(gamma)
    return math.inf if g == 0.0 else float(epsilon) * (1.0 - g) / g


def greedy_span_bound(gamma: float, span: float) -> Bound:
    r"""Certified suboptimality of a greedy policy from one Bellman backup.

    For any :math:`v` and :math:`\pi` greedy for :math:`v`, with :math:`d = Tv - v`,

    .. math:: 0 \le v^* - v_\pi \le \frac{\gamma}{1-\gamma}\,\operatorname{sp}(d).

    Derivation (MacQueen 1966; Porteus 1971; Puterman 1994, Sec. 6.6.2): the upper bound
    :math:`v^* \le Tv + \frac{\gamma}{1-\gamma}\max d` and, since
    :math:`v_\pi = v + (I-\gamma P_\pi)^{-1} d`, the lower bound
    :math:`v_\pi \ge Tv + \frac{\gamma}{1-\gamma}\min d`.  Subtracting gives the claim.
    Checked by derivation here and by property tests on random MDPs; the section number was
    not checked against the book's page.
    """
    g = _check_gamma_lt1(gamma)
    val = 0.0 if g == 0.0 else g / (1.0 - g) * max(float(span), 0.0)
    return Bound(
        value=val,
        kind=BoundKind.DETERMINISTIC,
        citation=f"MacQueen (1966), Porteus (1971); {PUTERMAN}, Sec. 6.6.2",
        assumptions=("gamma < 1", "policy greedy for v", "span of T v - v from one exact backup"),
        statement="||v* - v_pi||_inf <= gamma/(1-gamma) * sp(T v - v)",
    )


def macqueen_bounds(gamma: float, v_next, dmin: float, dmax: float):
    r"""MacQueen-Porteus bracket on :math:`v^*` from :math:`v_{n+1} = T v_n`.

    .. math:: v_{n+1} + \tfrac{\gamma}{1-\gamma}\min d \;\le\; v^* \;\le\;
              v_{n+1} + \tfrac{\gamma}{1-\gamma}\max d,\qquad d = v_{n+1} - v_n.

    Returns ``(lower, upper)`` arrays of shape (S,).  Puterman 1994, Sec. 6.6.2 (MacQueen 1966).
    """
    g = _check_gamma_lt1(gamma)
    c = 0.0 if g == 0.0 else g / (1.0 - g)
    return v_next + c * float(dmin), v_next + c * float(dmax)


def residual_value_bound(gamma: float, residual: float) -> Bound:
    r"""A posteriori distance to a fixed point: :math:`\|v - v^*\|_\infty \le \|Tv - v\|_\infty/(1-\gamma)`.

    Holds for any :math:`\gamma`-contraction :math:`T` (Banach), e.g. :math:`T` or :math:`T_\pi`.
    Puterman 1994, Prop. 6.2.4 / proof of Thm 6.3.1.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=max(float(residual), 0.0) / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Thm 6.3.1 (contraction argument)",
        assumptions=("gamma < 1", "T a gamma-contraction in sup-norm"),
        statement="||v - v*||_inf <= ||T v - v||_inf / (1 - gamma)",
    )


def ssp_greedy_bound(delta_plus: float, expected_steps: float, *, route: str = "all policies proper") -> Bound:
    r"""Suboptimality of a policy in a total-reward (stochastic shortest path) MDP.

    Let :math:`v = v_\pi` and :math:`\delta^+ = \max_s (Tv - v)(s)^+`.  For an optimal proper
    policy :math:`\mu^*`, :math:`v^* - v = \sum_k P_{\mu^*}^k (T_{\mu^*} v - v) \le \delta^+
    E_{\mu^*}[\tau]`, with :math:`\tau` the number of steps to termination.  ``expected_steps``
    must bound :math:`\max_s E_{\mu^*}[\tau]`; two routes give one:

    * ``"all policies proper"``: :math:`\max_\mu \max_s E_\mu[\tau]`, computed exactly;
    * ``"negative rewards"``: if :math:`R(s,a) \le -c < 0` on every non-terminal available pair,
      :math:`E_{\mu^*}[\tau](s) \le -v^*(s)/c \le -v_\pi(s)/c`.

    The setting is Bertsekas & Tsitsiklis (1991); the inequality is derived here (checked by
    property tests against brute-force enumeration), not quoted from the paper.
    """
    if math.isinf(expected_steps):
        val = math.inf  # no finite bound on the optimal policy's expected termination time
    else:
        val = max(float(delta_plus), 0.0) * float(expected_steps)
    return Bound(
        value=val,
        kind=BoundKind.DETERMINISTIC,
        citation="Bertsekas & Tsitsiklis (1991), Math. Oper. Res. 16(3); derived in mdpkit.bounds.dp",
        assumptions=(route, "v is the exact value of pi"),
        statement=f"v* - v_pi <= max(T v_pi - v_pi)^+ * E_mu*[steps to termination] (route: {route})",
    )


def gain_bracket(dmin: float, dmax: float) -> Bound:
    r"""Average reward: :math:`\min_s (Tv-v)(s) \le g_\pi \le g^* \le \max_s (Tv-v)(s)`.

    For :math:`\pi` greedy for :math:`v` (any :math:`v`); so :math:`g^* - g_\pi \le \operatorname{sp}(Tv-v)`.
    Puterman 1994, Thm 8.5.5 (bounds for relative value iteration; Odoni 1969).  Requires a
    constant optimal gain (unichain or weakly communicating models).
    """
    return Bound(
        value=max(float(dmax) - float(dmin), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"Odoni (1969); {PUTERMAN}, Sec. 8.5 (Thm 8.5.5)",
        assumptions=("optimal gain constant across states (unichain / weakly communicating)",),
        statement="g* - g_pi <= sp(T v - v)",
        extra={"gain_lower": float(dmin), "gain_upper": float(dmax)},
    )


def vi_iterations(epsilon: float, gamma: float, initial_error: float) -> int:
    r"""A priori number of VI sweeps: smallest :math:`k` with :math:`\gamma^k e_0 \le \varepsilon`.

    From :math:`\|v_k - v^*\| \le \gamma^k \|v_0 - v^*\|` (Puterman 1994, Thm 6.3.1(a)).
    """
    g = _check_gamma_lt1(gamma)
    if initial_error <= epsilon:
        return 0
    if g == 0.0:
        return 1
    return int(math.ceil(math.log(epsilon / initial_error) / math.log(g)))

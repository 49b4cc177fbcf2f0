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
    Puterman 1994, proof of Thm 6.3.1 (read in the Isabelle AFP formalisation MDP-Algorithms;
    the book itself was not available).
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
    Puterman 1994, Sec. 8.5 (Odoni 1969; theorem number 8.5.5 unverified).  The inequalities hold
    state-wise in any finite MDP; mdpkit's relative VI reports them for one closed class.
    """
    return Bound(
        value=max(float(dmax) - float(dmin), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"Odoni (1969); {PUTERMAN}, Sec. 8.5 (Thm 8.5.5, number unverified)",
        assumptions=("optimal gain constant across states (unichain / weakly communicating)",),
        statement="g* - g_pi <= sp(T v - v)",
        extra={"gain_lower": float(dmin), "gain_upper": float(dmax)},
    )


def rvi_relative_value_bound(tau: float, span: float, delta: float) -> Bound:
    r"""Certified :math:`\|h - h^*\|_\infty` for RVI's relative value (both pinned at ``ref``).

    Let :math:`\tilde T` be the Bellman operator of the transformed model
    :math:`\tilde P = \tau P + (1-\tau)I`, :math:`\delta = \delta(\tilde P) < 1` its delta
    coefficient, so :math:`\operatorname{sp}(\tilde Tu - \tilde Tv) \le \delta
    \operatorname{sp}(u - v)` (:func:`mdpkit.bounds.span_contraction_bound` with
    :math:`\gamma = 1`).  Then :math:`\tilde T` has a fixed point :math:`\tilde h` modulo
    constants (:math:`\tilde T\tilde h = \tilde h + g^*`, unique up to a constant), and for any
    :math:`w` with :math:`d = \tilde Tw - w`:
    :math:`\operatorname{sp}(w - \tilde h) \le \operatorname{sp}(d) +
    \operatorname{sp}(\tilde Tw - \tilde T\tilde h) \le \operatorname{sp}(d) + \delta
    \operatorname{sp}(w - \tilde h)`, so :math:`\operatorname{sp}(w - \tilde h) \le
    \operatorname{sp}(d)/(1-\delta)`; the same bound holds for :math:`\tilde T w`.
    Since :math:`h^* = \tau\tilde h` solves the original optimality equation and
    :math:`|x(s) - x(\text{ref})| \le \operatorname{sp}(x)`,
    :math:`\|\tau(w - w(\text{ref})) - (h^* - h^*(\text{ref}))\|_\infty \le
    \tau\operatorname{sp}(d)/(1-\delta)`.  Puterman 1994, Sec. 6.6 and 8.5 (span
    contraction); the inequality is derived here.  Value ``inf`` when ``delta >= 1``.
    """
    if delta >= 1.0:
        value = float("inf")
    else:
        value = float(tau) * max(float(span), 0.0) / (1.0 - float(delta))
    return Bound(
        value=value,
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Sec. 6.6 and 8.5 (span contraction); inequality derived in mdpkit",
        assumptions=("delta(tau P + (1 - tau) I) < 1", "span(d) of the last relative backup d = T~w - w"),
        statement="||tau (w - w(ref)) - h*|| <= tau sp(T~w - w) / (1 - delta)",
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


# ----------------------------------------------------------------------------- value iteration
def vi_contraction_bound(gamma: float, k: int, initial_error: float) -> Bound:
    r"""A priori VI error: :math:`\|v_k - v^*\|_\infty \le \gamma^k \|v_0 - v^*\|_\infty`.

    :math:`T` is a :math:`\gamma`-contraction in the sup norm (Banach fixed-point theorem), so each
    sweep shrinks the error by at least :math:`\gamma`.  Puterman 1994, Thm 6.2.3 and
    Thm 6.3.1(a).  The same holds for any :math:`T_\pi`.
    """
    g = _check_gamma_lt1(gamma)
    k = int(k)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    return Bound(
        value=(g**k) * max(float(initial_error), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Thm 6.2.3 (contraction) and Thm 6.3.1(a)",
        assumptions=("gamma < 1", "v_{j+1} = T v_j exactly"),
        statement="||v_k - v*||_inf <= gamma^k ||v_0 - v*||_inf",
    )


def vi_a_posteriori_bound(gamma: float, step: float) -> Bound:
    r"""A posteriori VI error: :math:`\|v_{k+1}-v^*\|_\infty \le \frac{\gamma}{1-\gamma}\|v_{k+1}-v_k\|_\infty`.

    From :math:`\|v_{k+1}-v^*\| \le \gamma\|v_k - v^*\| \le \gamma(\|v_k-v_{k+1}\| + \|v_{k+1}-v^*\|)`;
    the inequality behind the stopping rule of Puterman 1994, Thm 6.3.1 (proof of part (c)).
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=0.0 if g == 0.0 else g / (1.0 - g) * max(float(step), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Thm 6.3.1 (proof of (c))",
        assumptions=("gamma < 1", "v_{k+1} = T v_k exactly"),
        statement="||v_{k+1} - v*||_inf <= gamma/(1-gamma) ||v_{k+1} - v_k||_inf",
    )


def span_contraction_coefficient(P, action_mask=None, *, max_rows: int = 20_000) -> float:
    r"""Delta coefficient :math:`\delta(P) = 1 - \min_{(s,a),(s',a')} \sum_j \min\{P(j|s,a), P(j|s',a')\}`.

    The maximum total-variation distance between two available transition rows; it lies in
    :math:`[0, 1]`.  With it the Bellman operator contracts the span seminorm:
    :math:`\operatorname{sp}(Tu - Tv) \le \gamma\,\delta(P)\,\operatorname{sp}(u - v)`
    (:func:`span_contraction_bound`; Puterman 1994, Sec. 6.6; the theorem number is unverified:
    pymdptoolbox's comments cite p. 202, Thm 6.6.6).  pymdptoolbox computes a looser coefficient,
    :math:`1-\sum_j \min_{s,a} P(j|s,a)`, so its iteration estimates are no oracle for this one.

    Parameters
    ----------
    P : ndarray (S, A, S) or (S*A, S), or scipy sparse (S*A, S)
        Transition probabilities, rows in the order ``s*A + a``.
    action_mask : ndarray of bool (S, A), optional
        Only available pairs count.
    max_rows : int
        The cost is O(rows^2 S); larger inputs raise ``ValueError`` rather than run for hours.

    Returns
    -------
    float
    """
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(P):
        P2 = P.toarray() if P.shape[0] <= max_rows else None
    else:
        P2 = np.asarray(P, dtype=float)
    if P2 is None or P2.reshape(-1, P2.shape[-1]).shape[0] > max_rows:
        raise ValueError(f"span_contraction_coefficient: more than max_rows={max_rows} rows; pass a larger max_rows")
    P2 = P2.reshape(-1, P2.shape[-1])
    if action_mask is not None:
        P2 = P2[np.asarray(action_mask, dtype=bool).reshape(-1)]
    n = P2.shape[0]
    if n <= 1:
        return 0.0
    min_overlap = 1.0
    chunk = max(1, int(4_000_000 // max(1, n * P2.shape[1])))
    for i0 in range(0, n, chunk):
        ov = np.minimum(P2[i0:i0 + chunk, None, :], P2[None, :, :]).sum(axis=2)
        min_overlap = min(min_overlap, float(ov.min()))
    return float(min(max(1.0 - min_overlap, 0.0), 1.0))


def span_contraction_bound(gamma: float, delta: float, span_diff: float) -> Bound:
    r"""Span contraction: :math:`\operatorname{sp}(Tu - Tv) \le \gamma\,\delta(P)\,\operatorname{sp}(u-v)`.

    ``delta`` from :func:`span_contraction_coefficient`.  Derivation: with :math:`a_u, a_v` greedy
    for :math:`u, v`, :math:`\gamma P_{s,a_v}(u-v) \le (Tu-Tv)(s) \le \gamma P_{s,a_u}(u-v)`, and
    :math:`(p - p')w \le (1-\sum_j\min(p_j,p'_j))\operatorname{sp}(w)` for probability rows
    :math:`p, p'`.  Puterman 1994, Sec. 6.6 (the inequality was derived here; the theorem
    number is unverified).  With :math:`\gamma = 1` this
    is the contraction used for relative value iteration (Sec. 8.5).
    """
    g = float(gamma)
    if not (0.0 <= g <= 1.0):
        raise ValueError(f"gamma must lie in [0, 1], got {gamma!r}")
    return Bound(
        value=g * float(delta) * max(float(span_diff), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Sec. 6.6 (span contraction; theorem number unverified)",
        assumptions=("delta = delta(P) over all available state-action rows",),
        statement="sp(T u - T v) <= gamma * delta(P) * sp(u - v)",
    )


def span_vi_iterations(gamma: float, delta: float, first_span: float, tol: float) -> int:
    r"""Sweeps after which VI's span rule :math:`\operatorname{sp}(v_{n+1}-v_n) < \mathrm{tol}` holds.

    From :math:`\operatorname{sp}(v_{n+1}-v_n) \le (\gamma\delta)^n \operatorname{sp}(v_1-v_0)`
    (iterate :func:`span_contraction_bound`), the rule holds once
    :math:`(\gamma\delta)^n \operatorname{sp}(v_1-v_0) < \mathrm{tol}`; the number returned is
    the number of sweeps ``n + 1`` (``v_1`` costs one).  Puterman 1994, Sec. 6.6.
    """
    c = float(gamma) * float(delta)
    first_span = float(first_span)
    if first_span < tol:
        return 1
    if c == 0.0:
        return 2
    if c >= 1.0:
        return math.inf
    n = math.floor(math.log(tol / first_span) / math.log(c)) + 1
    return int(n) + 1


def macqueen_action_elimination(gamma: float, P, R, v_lower, v_upper, action_mask=None, *, atol: float | None = None):
    r"""Actions that a bracket on :math:`v^*` proves suboptimal (MacQueen's test).

    If :math:`v_L \le v^* \le v_U` then :math:`Q^*(s,a) = R(s,a) + \gamma P(s,a) v^* \le
    R(s,a) + \gamma P(s,a) v_U`, so an action with :math:`R(s,a) + \gamma P(s,a) v_U < v_L(s)
    \le v^*(s)` cannot be optimal and may be eliminated for good.  MacQueen (1967); Puterman 1994,
    Sec. 6.7 (action elimination; the section number was not checked against the book).

    Parameters
    ----------
    gamma : float
    P : ndarray (S, A, S)
        Dense transition probabilities.
    R : ndarray (S, A)
    v_lower, v_upper : ndarray (S,)
        A bracket on :math:`v^*` (e.g. the MacQueen-Porteus bracket of value iteration).
    action_mask : ndarray of bool (S, A), optional
        Masked actions are never reported as eliminated.
    atol : float, optional
        Round-off margin: eliminate only when the test holds by more than ``atol``.  Default
        ``64 * machine epsilon * (max|v| + max|R|)``: a bracket computed in floating point can
        exclude :math:`v^*` by a few ulps once it has collapsed, and a strict test would then
        eliminate optimal (tied) actions.

    Returns
    -------
    ndarray of bool (S, A)
        True where the action is proved suboptimal.
    """
    import numpy as np

    g = float(gamma)
    if not (0.0 <= g <= 1.0):
        raise ValueError(f"gamma must lie in [0, 1], got {gamma!r}")
    P = np.asarray(P, dtype=float)
    R = np.asarray(R, dtype=float)
    lo, hi = np.asarray(v_lower, dtype=float), np.asarray(v_upper, dtype=float)
    if P.ndim != 3 or R.shape != P.shape[:2] or lo.shape != (P.shape[0],) or hi.shape != lo.shape:
        raise ValueError(f"shapes must be P (S, A, S), R (S, A), brackets (S,); got P {P.shape}, R {R.shape}, "
                         f"v_lower {lo.shape}, v_upper {hi.shape}")
    if atol is None:
        finite = np.isfinite(R)
        scale = float(np.max(np.abs(np.concatenate([lo, hi])))) + float(np.max(np.abs(R[finite]), initial=0.0))
        atol = 64.0 * float(np.finfo(float).eps) * scale
    out = R + g * (P @ hi) < lo[:, None] - float(atol)
    if action_mask is not None:
        out &= np.asarray(action_mask, dtype=bool)
    return out


# ----------------------------------------------------------------------------- greedy policies
def greedy_loss_v(gamma: float, v_error: float) -> Bound:
    r"""Loss of a policy greedy for :math:`V`: :math:`\|V^*-V^{\pi}\|_\infty \le \frac{2\gamma\varepsilon}{1-\gamma}`.

    For :math:`\|V - V^*\|_\infty \le \varepsilon` and :math:`\pi` greedy for :math:`V`.
    Singh & Yee (1994), Machine Learning 16:227-233 (main result; the paper's theorem number
    was not seen).  The statement and its tightness example were read in Szepesvari's RL Theory
    lecture notes, Lecture 3; the constant :math:`2\gamma/(1-\gamma)` is tight.  Derivation used for the check:
    :math:`V^*-V^\pi = (T_{\pi^*}V^* - T_{\pi^*}V) + (T_{\pi^*} V - T_\pi V) + (T_\pi V - T_\pi V^\pi)`
    with the middle term :math:`\le 0`.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=2.0 * g * max(float(v_error), 0.0) / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation="S. P. Singh and R. C. Yee, An upper bound on the loss from approximate optimal-value "
                 "functions, Machine Learning 16 (1994), main result; Szepesvari, RL Theory lecture 3",
        assumptions=("gamma < 1", "||V - V*||_inf <= eps", "pi greedy for V"),
        statement="||V* - V^pi||_inf <= 2 gamma eps / (1 - gamma)",
    )


def greedy_loss_q(gamma: float, q_error: float) -> Bound:
    r"""Loss of a policy greedy for :math:`Q`: :math:`\|V^*-V^{\pi}\|_\infty \le \frac{2\varepsilon}{1-\gamma}`.

    For :math:`\|Q - Q^*\|_\infty \le \varepsilon` and :math:`\pi(s) \in \arg\max_a Q(s,a)`.
    Singh & Yee (1994), Machine Learning 16:227-233; Agarwal, Jiang, Kakade & Sun, *RL: Theory
    and Algorithms*, Lemma 1.11 (read; the formula was checked numerically).
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=2.0 * max(float(q_error), 0.0) / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation="S. P. Singh and R. C. Yee, Machine Learning 16 (1994); Agarwal, Jiang, Kakade & Sun, "
                 "RL: Theory and Algorithms, Lemma 1.11",
        assumptions=("gamma < 1", "||Q - Q*||_inf <= eps", "pi greedy for Q"),
        statement="||V* - V^pi||_inf <= 2 eps / (1 - gamma)",
    )


def approximate_vi_bound(gamma: float, k: int, initial_error: float, step_error: float) -> Bound:
    r"""Approximate VI: :math:`\|v_k - v^*\| \le \gamma^k\|v_0-v^*\| + \varepsilon\frac{1-\gamma^k}{1-\gamma}`.

    For :math:`v_{j+1} = T v_j + e_j` with :math:`\|e_j\|_\infty \le \varepsilon`; by induction from
    the contraction.  Combined with :func:`greedy_loss_v` it gives the classical asymptotic
    :math:`\limsup_k \|v^*-v^{\pi_k}\|_\infty \le 2\gamma\varepsilon/(1-\gamma)^2`
    (Bertsekas & Tsitsiklis 1996, Neuro-Dynamic Programming, approximate VI, not seen; see
    :func:`approximate_vi_asymptotic`).
    """
    g = _check_gamma_lt1(gamma)
    k = int(k)
    e = max(float(step_error), 0.0)
    return Bound(
        value=(g**k) * max(float(initial_error), 0.0) + e * (1.0 - g**k) / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation="derived from the gamma-contraction (Puterman 1994, Thm 6.2.3); "
                 "Bertsekas & Tsitsiklis, Neuro-Dynamic Programming, 1996 (approximate VI)",
        assumptions=("gamma < 1", "||v_{j+1} - T v_j||_inf <= eps for every j"),
        statement="||v_k - v*|| <= gamma^k ||v_0 - v*|| + eps (1 - gamma^k)/(1 - gamma)",
    )


def approximate_vi_asymptotic(gamma: float, step_error: float) -> Bound:
    r"""Asymptotic loss of approximate VI: :math:`\limsup_k \|v^*-v^{\pi_k}\|_\infty \le \frac{2\gamma\varepsilon}{(1-\gamma)^2}`.

    Bertsekas & Tsitsiklis 1996, Neuro-Dynamic Programming (approximate value iteration; the
    book was not seen: the constant follows from :func:`approximate_vi_bound` and
    :func:`greedy_loss_v`).  An asymptotic statement: it constrains the tail, not any finite ``k``.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=2.0 * g * max(float(step_error), 0.0) / (1.0 - g) ** 2,
        kind=BoundKind.ASYMPTOTIC,
        citation="D. P. Bertsekas and J. N. Tsitsiklis, Neuro-Dynamic Programming, 1996 (approximate VI)",
        assumptions=("gamma < 1", "||v_{j+1} - T v_j||_inf <= eps", "pi_k greedy for v_k"),
        statement="limsup_k ||v* - v^{pi_k}||_inf <= 2 gamma eps / (1 - gamma)^2",
    )


# ----------------------------------------------------------------------------- policy iteration
def pi_contraction_bound(gamma: float, k: int, initial_gap: float) -> Bound:
    r"""Howard PI envelope: :math:`\|v^*-v_{\pi_k}\|_\infty \le \gamma^k\|v^*-v_{\pi_0}\|_\infty`.

    Since :math:`v_{\pi_{k+1}} \ge T v_{\pi_k} \ge v_{\pi_k}` (Puterman 1994, Prop. 6.4.1 and the
    proof of Thm 6.4.6: PI converges at least as fast as VI started from :math:`v_{\pi_0}`),
    each iteration shrinks the gap by :math:`\gamma` (Puterman's numbers unverified).  Read in
    Szepesvari, RL Theory lecture notes, Lecture 4 (geometric progress lemma and corollary,
    following Scherrer 2016) and Agarwal, Jiang, Kakade & Sun, Lemma 1.13.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=(g ** int(k)) * max(float(initial_gap), 0.0),
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Sec. 6.4; Szepesvari, RL Theory lecture 4 (geometric convergence); "
                 "Agarwal, Jiang, Kakade & Sun, Lemma 1.13",
        assumptions=("gamma < 1", "exact evaluation", "greedy (Howard) improvement"),
        statement="||v* - v_{pi_k}||_inf <= gamma^k ||v* - v_{pi_0}||_inf",
    )


def mpi_vi_dominance(gamma: float) -> Bound:
    r"""Modified PI is monotone and at least as fast as VI: :math:`T^k v_0 \le v_k \le v^*`.

    For :math:`v_0` with :math:`Tv_0 \ge v_0` (e.g. :math:`v_0 = \min R/(1-\gamma)`), the MPI iterates
    increase monotonically, stay below :math:`v^*`, and dominate the VI iterates from the same
    start.  Puterman 1994, Sec. 6.5 (monotone convergence; read in the Isabelle AFP formalisation
    MDP-Algorithms, theorem ``mpi_conv``; the book's numbers were not checked).  The
    ``value`` is the rate, :math:`\gamma`, of the VI envelope that MPI inherits.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=g,
        kind=BoundKind.DETERMINISTIC,
        citation=f"{PUTERMAN}, Sec. 6.5 (Lemma 6.5.1, Thm 6.5.5)",
        assumptions=("gamma < 1", "T v_0 >= v_0"),
        statement="T^k v_0 <= v_k <= v_{k+1} <= v*  (MPI iterates v_k)",
    )


def simulation_lemma_bound(gamma: float, reward_error: float, transition_error: float, value_span: float) -> Bound:
    r"""Simulation lemma: value gap of one policy in two models.

    For a policy :math:`\pi` in models :math:`(P_1, r_1)` and :math:`(P_2, r_2)` with
    :math:`\max_{s,a}|r_1-r_2| \le \varepsilon_r` and
    :math:`\max_{s,a}\|P_1(\cdot|s,a)-P_2(\cdot|s,a)\|_1 \le \varepsilon_P`,

    .. math:: \|V_1^\pi - V_2^\pi\|_\infty \le \frac{\varepsilon_r + \gamma\,\varepsilon_P\,
              \operatorname{sp}(V_2^\pi)/2}{1-\gamma},

    from the identity :math:`V_1-V_2 = (I-\gamma P_{1,\pi})^{-1}[(r_{1,\pi}-r_{2,\pi}) +
    \gamma(P_{1,\pi}-P_{2,\pi})V_2]` and :math:`|(p-p')v| \le \tfrac12\|p-p'\|_1\operatorname{sp}(v)`.
    With :math:`\operatorname{sp}(V_2)/2 \le \|V_2\|_\infty \le R_{\max}/(1-\gamma)` it gives the
    textbook form (Agarwal, Jiang, Kakade & Sun, *RL: Theory and Algorithms*, Lemma 2.2, read;
    Kearns & Singh 2002 state an O-form).  The identity and the span refinement were derived
    here and checked numerically.
    """
    g = _check_gamma_lt1(gamma)
    return Bound(
        value=(max(float(reward_error), 0.0) + g * max(float(transition_error), 0.0) * max(float(value_span), 0.0) / 2.0)
        / (1.0 - g),
        kind=BoundKind.DETERMINISTIC,
        citation="Agarwal, Jiang, Kakade & Sun, RL: Theory and Algorithms, Lemma 2.2 (simulation lemma); "
                 "Kearns & Singh (2002), Machine Learning 49",
        assumptions=("gamma < 1", "same policy in both models"),
        statement="||V1 - V2||_inf <= (eps_r + gamma eps_P sp(V2)/2) / (1 - gamma)",
    )

r"""Robust MDPs: robust Bellman operators, robust VI, PI (Iyengar form), MPI and PPI.

A rectangular robust MDP lets nature choose the transition rows from an uncertainty set
(:mod:`mdpkit.uncertainty`); the agent maximises the worst-case discounted return.  For
sa-rectangular sets

.. math:: (T_{\mathcal U} v)(s) = \max_a R(s,a) + \gamma \min_{p \in \mathcal U_{s,a}} p^\top v,

and for s-rectangular sets (coupled budget :math:`\sum_a \|p_a - q_a\|_1 \le \kappa_s`)

.. math:: (T_{\mathcal U} v)(s) = \max_{\pi_s \in \Delta_A} \min_{(p_a) \in \mathcal U_s}
          \sum_a \pi_s(a) \big(R(s,a) + \gamma p_a^\top v\big),

whose maximiser is in general *randomized* (Wiesemann, Kuhn & Rustem 2013; Ho, Petrik &
Wiesemann 2018, Sec. 4).  Both operators are monotone :math:`\gamma`-contractions with the robust
optimal value :math:`v^*_{\mathcal U}` as fixed point, and a stationary deterministic (sa) or
randomized (s) policy is optimal (Iyengar 2005, Thm 5 for sa-rectangular sets; Wiesemann et al.
2013, Thm 4 for s-rectangular sets -- theorem numbers not checked against the papers).

Every solver returns a :class:`~mdpkit.SolveResult` whose ``extra`` holds

* ``"P_worst"``: a worst-case kernel for the returned policy, in the model's storage (dense
  ``(S, A, S)`` or CSR ``(S*A, S)``): row ``(s, a)`` minimises :math:`p^\top v^\pi_{\mathcal U}`
  over :math:`\mathcal U_{s,a}` (s-rectangular: at the budget split of ``extra["budget"]``), so
  the *nominal* value of the policy on ``P_worst`` is its robust value;
* ``"uncertainty"``: the set, as a string; ``"spans"``; s-rectangular: ``"budget"`` (S, A).

``v_policy`` is the *robust* value :math:`v^\pi_{\mathcal U}` of the returned policy (computed by
nature's policy iteration to ``1e-10`` relative accuracy), not its nominal value.

Naive alternation may cycle
    Alternating "nominal policy-iteration step on the current worst kernel" with "nature's best
    response to the current policy" (a Hoffman-Karp-style scheme without exact robust
    evaluation) is not guaranteed to converge: for turn-based stochastic games, of which sa-rectangular
    robust MDPs are a special case (Iyengar 2005, Sec. 6), Condon (1993) gives naive alternating
    strategy-improvement schemes that cycle.  :func:`robust_policy_iteration` avoids this by
    evaluating each policy *exactly* against nature (Iyengar's form): values then increase
    monotonically.  :func:`robust_modified_policy_iteration` and
    :func:`robust_partial_policy_iteration` keep the guarantee by starting from
    :math:`T v_0 \ge v_0` (MPI) and by a geometrically shrinking evaluation tolerance (PPI).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import model_args
from mdpkit._kernels import robust as rk
from mdpkit._validation import check_gamma, check_int, check_positive
from mdpkit.bounds.robust import robust_evaluation_bound, robust_greedy_span_bound, robust_pi_bound
from mdpkit.model import DENSE_LIMIT, TabularMDP
from mdpkit.policies import _solve_policy_system, check_policy
from mdpkit.results import SolveResult
from mdpkit.uncertainty import (
    PENALTIES,
    _aux,
    make_workspace,
    parse_uncertainty,
)

from ._common import legacy_build_result as build_result, check_common, check_mdp, initial_policy, initial_v, resolve_evaluate

__all__ = [
    "RobustBackup",
    "robust_bellman_operator",
    "robust_policy_operator",
    "robust_policy_evaluation",
    "robust_value_iteration",
    "robust_policy_iteration",
    "robust_modified_policy_iteration",
    "robust_partial_policy_iteration",
]

#: relative accuracy of the robust evaluation behind ``v_policy`` and ``P_worst``
EVAL_RTOL = 1e-10


class RobustBackup(NamedTuple):
    """One robust Bellman backup: ``v`` (S,), ``policy`` (S,) int64 (sa) or (S, A) float (s),
    ``q`` (S, A) robust q-values (sa; None for s), ``P_worst`` (kernel in the model's storage),
    ``budget`` (S, A) per-state budget split (s-rectangular; None for sa)."""

    v: np.ndarray
    policy: np.ndarray
    q: np.ndarray | None
    P_worst: object
    budget: np.ndarray | None


# --------------------------------------------------------------------------------------------
# preparation: one validated context per (model, set)
# --------------------------------------------------------------------------------------------


class _Ctx:
    """Validated model + set, unpacked for the kernels."""

    def __init__(self, mdp: TabularMDP, uncertainty):
        check_mdp(mdp)
        us = parse_uncertainty(uncertainty)
        if us.kind == "cvxpy":
            raise NotImplementedError("user-written cvxpy sets are available through mdpkit.uncertainty.worst_case("
                                      "..., engine='cvxpy'); the solvers run the built-in Numba kernels")
        S, A = mdp.S, mdp.A
        self.full = us.full_support
        if self.full and mdp.is_sparse:
            if S * A * S > DENSE_LIMIT:
                raise InvalidArgumentError(
                    f"support='simplex' lets nature use every state, which needs dense rows; S*A*S = {S * A * S} "
                    f"exceeds {DENSE_LIMIT}. Use support='nominal' for large sparse models")
            mdp = mdp.to_dense()
        self.mdp = mdp
        self.us = us
        self.S, self.A = S, A
        r = np.asarray(us.radius, dtype=float)
        if us.rectangularity == "sa":
            if r.ndim == 0:
                r = np.full((S, A), float(r))
            if r.shape != (S, A):
                raise InvalidArgumentError(f"an sa-rectangular radius must be a scalar or have shape (S, A) = "
                                           f"({S}, {A}), got {r.shape}")
            self.kappa = np.ascontiguousarray(r.reshape(S * A))
        else:
            if us.kind != "l1":
                raise NotImplementedError(f"s-rectangular sets are implemented for kind='l1' (Ho et al. 2018); got "
                                          f"{us.kind!r}. mdpkit.uncertainty.s_rect_bellman_cvxpy solves one state "
                                          "for l1, linf, l2 and kl")
            if r.ndim == 0:
                r = np.full(S, float(r))
            if r.shape != (S,):
                raise InvalidArgumentError(f"an s-rectangular radius must be a scalar or have shape (S,) = ({S},), "
                                           f"got {r.shape}")
            self.kappa = np.ascontiguousarray(r)
        self.W, self.D = _aux(us.kind, S, us.weights, us.metric)
        self.args = model_args(mdp)
        sparse, P2, indptr, data = self.args[0], self.args[1], self.args[2], self.args[4]
        if sparse:
            n_max = int(np.diff(indptr).max()) if indptr.size > 1 else 1
        else:
            n_max = S
        work_entries = int(data.size) if sparse else S * A * S
        chunks = rk.N_CHUNKS if work_entries >= rk.PAR_MIN_WORK else 1
        self.work = make_workspace(n_max, us.code, chunks)
        self.n_max = n_max
        if us.rectangularity == "s":
            self.swork = (np.zeros((A, n_max + 1)), np.zeros((A, n_max + 1)), np.zeros(A, dtype=np.int64),
                          np.zeros(A), np.zeros(A, dtype=np.bool_))

    @property
    def s_rect(self) -> bool:
        return self.us.rectangularity == "s"

    def new_pw(self):
        sparse = self.args[0]
        if sparse:
            return np.zeros((1, 1)), np.zeros(self.mdp.P.nnz)
        return np.zeros((self.S * self.A, self.S)), np.zeros(1)

    def pw_to_kernel(self, pw2, pwd):
        """The stored worst-case rows as a kernel in the model's storage."""
        if self.args[0]:
            P = self.mdp.P
            K = sp.csr_matrix((pwd.copy(), P.indices.copy(), P.indptr.copy()), shape=P.shape)
            return K
        return pw2.reshape(self.S, self.A, self.S).copy()

    def rows_matrix(self, pw2, pwd):
        if self.args[0]:
            P = self.mdp.P
            return sp.csr_matrix((pwd, P.indices, P.indptr), shape=P.shape)
        return pw2

    # ---- operators --------------------------------------------------------------------------

    def q_backup(self, v, store=False, pw=None):
        """Robust q (S*A,) for sa-rectangular sets (-inf on masked rows)."""
        sparse, P2, indptr, indices, data, R1, mask1, S, A = self.args
        q = np.empty(S * A)
        pw2, pwd = pw if pw is not None else (np.zeros((1, 1)), np.zeros(1))
        rk.robust_q(sparse, P2, indptr, indices, data, R1, mask1, self.mdp.gamma, v, self.us.code, self.kappa,
                    self.full, self.W, self.D, store, pw2, pwd, q, *self.work)
        return q

    def s_backup(self, v, store=False, pw=None):
        sparse, P2, indptr, indices, data, R1, mask1, S, A = self.args
        v_out = np.empty(S)
        pi = np.zeros(S * A)
        xi = np.zeros(S * A)
        pw2, pwd = pw if pw is not None else (np.zeros((1, 1)), np.zeros(1))
        w = self.work
        rk.s_rect_l1_backup(sparse, P2, indptr, indices, data, R1, mask1, S, A, self.mdp.gamma, v, self.kappa,
                            self.full, store, v_out, pi, xi, pw2, pwd, w[0], w[1], w[2], w[3], w[4], w[5],
                            *self.swork)
        return v_out, pi.reshape(S, A), xi.reshape(S, A)

    def policy_backup(self, v, pi, store=False, pw=None):
        """(T_{pi,U} v) for pi (S,) int or (S, A) float; returns (values, budget or None)."""
        sparse, P2, indptr, indices, data, R1, mask1, S, A = self.args
        pw2, pwd = pw if pw is not None else (np.zeros((1, 1)), np.zeros(1))
        if self.s_rect:
            pis = np.zeros((S, A))
            if pi.ndim == 1:
                pis[np.arange(S), pi] = 1.0
            else:
                pis[:] = pi
            v_out = np.empty(S)
            xi = np.zeros(S * A)
            w = self.work
            rk.s_rect_l1_policy_backup(sparse, P2, indptr, indices, data, R1, mask1, S, A, self.mdp.gamma, v,
                                       self.kappa, self.full, pis.reshape(S * A), store, v_out, xi, pw2, pwd,
                                       w[0], w[1], w[2], w[3], w[4], w[5], *self.swork)
            return v_out, xi.reshape(S, A)
        if pi.ndim == 1 and not store:
            v_out = np.empty(S)
            rk.robust_policy_sweep(sparse, P2, indptr, indices, data, R1, self.mdp.gamma, pi, A, v, self.us.code,
                                   self.kappa, self.full, self.W, self.D, False, pw2, pwd, v_out, *self.work)
            return v_out, None
        q = self.q_backup(v, store, (pw2, pwd)).reshape(S, A)
        if pi.ndim == 1:
            return q[np.arange(S), pi].copy(), None
        return np.where(pi > 0, pi * np.where(np.isfinite(q), q, 0.0), 0.0).sum(axis=1), None

    def policy_system(self, pi, pw2, pwd):
        """(P_pi, r_pi) of pi on the stored rows: P_pi (S, S) dense or CSR, r_pi (S,)."""
        S, A = self.S, self.A
        rows = self.rows_matrix(pw2, pwd)
        R = self.mdp.R
        if pi.ndim == 1:
            idx = np.arange(S) * A + pi
            P_pi = rows[idx]
            r_pi = R[np.arange(S), pi].copy()
        else:
            Wm = sp.csr_matrix((pi.ravel(), (np.repeat(np.arange(S), A), np.arange(S * A))), shape=(S, S * A))
            P_pi = Wm @ rows
            r_pi = np.einsum("sa,sa->s", pi, np.where(self.mdp.action_mask, R, 0.0))
        P_pi = sp.csr_matrix(P_pi) if sp.issparse(P_pi) else np.asarray(P_pi)
        return P_pi, r_pi

    def linear_eval(self, pi, pw2, pwd, r_extra=None):
        """Nominal value of pi on the stored rows (a linear solve), with an optional reward term."""
        P_pi, r_pi = self.policy_system(pi, pw2, pwd)
        if r_extra is not None:
            r_pi = r_pi + r_extra
        return _solve_policy_system(P_pi, r_pi, self.mdp.gamma)

    def nominal_rows(self):
        sparse, P2, indptr, indices, data = self.args[:5]
        if sparse:
            return np.zeros((1, 1)), np.array(data, dtype=float)
        return np.array(P2, dtype=float), np.zeros(1)

    def evaluate(self, pi, *, rtol=EVAL_RTOL, max_iter=1000, pw=None):
        """Robust value of pi by nature's policy iteration (Iyengar 2005, robust evaluation).

        Nature's problem for a fixed pi is an MDP with convex action sets; policy iteration on it
        (evaluate the current kernel, then let nature best-respond) gives monotonically
        decreasing values.  Returns ``(v, pw2, pwd, n_iter, residual)`` where ``residual`` =
        ||T_{pi,U} v - v||_inf certifies ||v - v^pi_U|| <= residual / (1 - gamma).
        """
        pw2, pwd = self.nominal_rows() if pw is None else pw
        penalty = self.us.kind in PENALTIES
        v = self.linear_eval(pi, pw2, pwd)
        res = np.inf
        n = 0
        for n in range(1, max_iter + 1):
            new2, newd = self.new_pw()
            Tv, _ = self.policy_backup(v, pi, store=True, pw=(new2, newd))
            res = float(np.abs(Tv - v).max())
            pw2, pwd = new2, newd
            if res <= rtol * (1.0 + float(np.abs(v).max())):
                break
            r_extra = None
            if penalty:
                # penalty forms: T_pi v = r_pi + gamma (P_w v + beta D(P_w, P)); keep the penalty as a reward
                P_pi, r_pi = self.policy_system(pi, pw2, pwd)
                r_extra = Tv - r_pi - self.mdp.gamma * (P_pi @ v)
            v = self.linear_eval(pi, pw2, pwd, r_extra)
        return v, pw2, pwd, n, res


def _as_policy(ctx: _Ctx, policy):
    pi = check_policy(ctx.mdp, policy)
    return pi


def _extra_common(ctx: _Ctx, pw2, pwd, spans=None, budget=None):
    ex = {"P_worst": ctx.pw_to_kernel(pw2, pwd), "uncertainty": str(ctx.us),
          "rectangularity": ctx.us.rectangularity, "support": ctx.us.support}
    if spans is not None:
        ex["spans"] = spans
    if budget is not None:
        ex["budget"] = budget
    return ex


# --------------------------------------------------------------------------------------------
# public operators
# --------------------------------------------------------------------------------------------


def robust_bellman_operator(mdp: TabularMDP, v, uncertainty) -> RobustBackup:
    r"""Apply the robust Bellman operator :math:`T_{\mathcal U}` once.

    Parameters
    ----------
    mdp : TabularMDP
    v : array_like of shape (S,)
    uncertainty : UncertaintySet or str
        E.g. ``"l1:0.1"`` (sa-rectangular) or ``"l1:0.1,rect=s"`` (s-rectangular).

    Returns
    -------
    RobustBackup
        ``v`` (S,) :math:`T_{\mathcal U}v`; ``policy`` greedy: (S,) int64 (lowest-index ties) for
        sa-rectangular sets, a randomized (S, A) policy for s-rectangular ones; ``q`` (S, A)
        (sa only, ``-inf`` on masked actions); ``P_worst`` nature's minimising rows at ``v``;
        ``budget`` (S, A) the per-state split :math:`\xi_{s,a}` of the s-rectangular budget
        (:math:`\sum_a \xi_{s,a} \le \kappa_s`).

    Notes
    -----
    s-rectangular L1 (Ho, Petrik & Wiesemann 2018, Sec. 4; their Thm on the bisection was not
    checked by number): with :math:`q_a(\xi) = R_a + \gamma \min_{\|p-q_a\|_1\le\xi} p^\top v`
    convex piecewise linear, the update is :math:`\min_{\sum\xi_a\le\kappa}\max_a q_a(\xi_a)`,
    solved exactly over the breakpoints; the optimal policy is
    :math:`\pi_a \propto 1/|q_a'(\xi_a)|` on the active actions (the dual multipliers of the
    epigraph constraints), checked against cvxpy's duals in the tests.
    """
    ctx = _Ctx(mdp, uncertainty)
    vv = initial_v(ctx.mdp, v)
    pw2, pwd = ctx.new_pw()
    S, A = ctx.S, ctx.A
    if ctx.s_rect:
        Tv, pi, xi = ctx.s_backup(vv, store=True, pw=(pw2, pwd))
        return RobustBackup(Tv, pi, None, ctx.pw_to_kernel(pw2, pwd), xi)
    q = ctx.q_backup(vv, store=True, pw=(pw2, pwd))
    Tv = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    rk.greedy_max(q, ctx.args[6], S, A, Tv, pi)
    return RobustBackup(Tv, pi, q.reshape(S, A), ctx.pw_to_kernel(pw2, pwd), None)


def robust_policy_operator(mdp: TabularMDP, v, policy, uncertainty):
    r"""Apply :math:`T_{\pi,\mathcal U}` once: returns ``(values (S,), P_worst)``.

    sa-rectangular: :math:`(T_{\pi,\mathcal U}v)(s) = \sum_a \pi(a|s)\,(R(s,a) + \gamma
    \min_{p\in\mathcal U_{s,a}} p^\top v)`; s-rectangular: nature splits the state budget across
    the actions to minimise the policy's mixture (an exact fractional knapsack over the
    breakpoints of each :math:`q_a(\xi)`).
    """
    ctx = _Ctx(mdp, uncertainty)
    vv = initial_v(ctx.mdp, v)
    pi = _as_policy(ctx, policy)
    pw2, pwd = ctx.new_pw()
    out, _ = ctx.policy_backup(vv, pi, store=True, pw=(pw2, pwd))
    return out, ctx.pw_to_kernel(pw2, pwd)


def robust_policy_evaluation(mdp: TabularMDP, policy, uncertainty, *, rtol: float = EVAL_RTOL,
                             max_iter: int = 1000):
    r"""Robust (worst-case) value :math:`v^\pi_{\mathcal U}` of a policy, by nature's policy iteration.

    For a fixed policy, nature faces an MDP whose actions are the kernels of the set; policy
    iteration on it (evaluate the current kernel exactly, then best-respond row by row) produces
    values decreasing monotonically to :math:`v^\pi_{\mathcal U}` (Iyengar 2005, robust policy
    evaluation; finite for polyhedral sets).  Stops when
    :math:`\|T_{\pi,\mathcal U}v - v\|_\infty \le` ``rtol * (1 + max|v|)``.

    Returns
    -------
    v : ndarray (S,)
        The robust value, within ``residual / (1 - gamma)`` (:func:`mdpkit.bounds.robust.robust_evaluation_bound`).
    P_worst : ndarray (S, A, S) or CSR (S*A, S)
        Nature's minimising rows at ``v`` for every available (s, a); the nominal value of the
        policy on ``P_worst`` is ``v`` (to the tolerance).
    info : dict
        ``n_iter``, ``residual``, ``bound`` (a :class:`~mdpkit.bounds.Bound`).
    """
    ctx = _Ctx(mdp, uncertainty)
    check_mdp(mdp)
    check_gamma(mdp.gamma, allow_one=False)
    pi = _as_policy(ctx, policy)
    rtol = check_positive(rtol, "rtol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    v, pw2, pwd, n, res = ctx.evaluate(pi, rtol=rtol, max_iter=max_iter)
    return v, ctx.pw_to_kernel(pw2, pwd), {"n_iter": n, "residual": res,
                                            "bound": robust_evaluation_bound(mdp.gamma, res)}


# --------------------------------------------------------------------------------------------
# solvers
# --------------------------------------------------------------------------------------------


def _finish(ctx, *, v, v_next, pi, q, dmin, dmax, n, converged, residuals, spans, method, options, t0, evaluate,
            budget=None, extra=None):
    gamma = ctx.mdp.gamma
    lo, hi = bounds.macqueen_bounds(gamma, v_next, dmin, dmax)
    if evaluate:
        v_pol, pw2, pwd, _, eres = ctx.evaluate(pi)
    else:
        v_pol = None
        pw2, pwd = ctx.new_pw()
        ctx.policy_backup(v_next, pi, store=True, pw=(pw2, pwd))
    ex = _extra_common(ctx, pw2, pwd, spans=spans, budget=budget)
    if extra:
        ex.update(extra)
    return build_result(
        ctx.mdp, v=v, policy=pi, converged=converged, n_iter=n, residuals=residuals,
        bound=robust_greedy_span_bound(gamma, dmax - dmin), method=method, options=options,
        wall_time=time.perf_counter() - t0, evaluate=False, q=q, v_policy=v_pol, v_lower=lo, v_upper=hi, extra=ex,
    )


def robust_value_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 100_000,
    v0=None,
    stopping: str = "norm",
    evaluate_policy: bool | None = None,
) -> SolveResult:
    r"""Robust value iteration :math:`v_{k+1} = T_{\mathcal U} v_k` with certified stopping.

    :math:`T_{\mathcal U}` is a monotone :math:`\gamma`-contraction (Iyengar 2005, Thm 5; Nilim &
    El Ghaoui 2005, Thm 3; numbers not checked), so the nominal stopping rules carry over with the
    same constants: ``stopping="norm"`` stops when :math:`\|v_{k+1}-v_k\|_\infty <
    \varepsilon(1-\gamma)/(2\gamma)` (:func:`mdpkit.bounds.vi_norm_stopping_tol`), ``"span"``
    when :math:`\operatorname{sp}(v_{k+1}-v_k) < \varepsilon(1-\gamma)/\gamma`.  The returned
    policy, greedy for :math:`v_k` in the robust operator, satisfies the certified
    :math:`\|v^*_{\mathcal U} - v^\pi_{\mathcal U}\|_\infty \le \frac{\gamma}{1-\gamma}
    \operatorname{sp}(v_{k+1}-v_k) < \varepsilon` (:func:`mdpkit.bounds.robust.robust_greedy_span_bound`).

    Parameters
    ----------
    mdp : TabularMDP
        Nominal model (dense or CSR); requires ``gamma < 1``.
    uncertainty : UncertaintySet or str
        The set, e.g. ``"l1:0.1"``, ``"kl:0.05"``, ``"l1:0.2,rect=s"`` (s-rectangular, L1 only).
        A radius array has shape (S, A) (sa) or (S,) (s).
    epsilon : float, default 1e-6
        Target robust suboptimality of the returned policy, in reward units.
    max_iter : int, default 100_000
        Maximum number of robust Bellman sweeps.
    v0 : array_like of shape (S,), optional
    stopping : {"norm", "span"}
    evaluate_policy : bool, optional
        Compute the robust value of the returned policy (``v_policy``) and the worst-case kernel
        attaining it; default True when ``S <= 10_000``.  Otherwise ``P_worst`` is nature's
        response to the last iterate.

    Returns
    -------
    SolveResult
        ``v`` the last iterate; ``policy`` (S,) int64 (sa) or (S, A) randomized (s); ``q`` (S, A)
        robust q-values of :math:`v_k` (sa only); ``v_lower``/``v_upper`` the MacQueen-Porteus
        bracket of :math:`v^*_{\mathcal U}`; ``extra["P_worst"]``, ``extra["budget"]`` (s).

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError
        Bad ``epsilon``, ``max_iter``, ``stopping``, ``v0`` or set parameters.
    NotImplementedError
        s-rectangular sets other than L1; ``kind="cvxpy"``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first (the certificate still holds).

    References
    ----------
    .. [1] G. N. Iyengar, "Robust dynamic programming", Math. Oper. Res. 30(2), 2005.
    .. [2] A. Nilim and L. El Ghaoui, "Robust control of Markov decision processes with uncertain
       transition matrices", Oper. Res. 53(5), 2005.
    .. [3] C. P. Ho, M. Petrik, W. Wiesemann, "Fast Bellman updates for robust MDPs", ICML 2018.

    Examples
    --------
    >>> from mdpkit import generators
    >>> from mdpkit.solvers import robust_value_iteration
    >>> res = robust_value_iteration(generators.riverswim(), "l1:0.1", epsilon=1e-4)
    >>> bool(res.converged), res.error_bound < 1e-4
    (True, True)
    """
    ctx = _Ctx(mdp, uncertainty)
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    if stopping not in ("norm", "span"):
        raise InvalidArgumentError(f"stopping must be 'norm' or 'span', got {stopping!r}")
    tol = bounds.vi_norm_stopping_tol(epsilon, gamma) if stopping == "norm" else bounds.span_stopping_tol(epsilon,
                                                                                                         gamma)
    v = initial_v(ctx.mdp, v0)
    evaluate = resolve_evaluate(ctx.mdp, evaluate_policy)
    t0 = time.perf_counter()
    sparse, P2, indptr, indices, data, R1, mask1, S, A = ctx.args
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    v_new = np.empty(S)
    pw2, pwd = np.zeros((1, 1)), np.zeros(1)
    options = dict(epsilon=epsilon, max_iter=max_iter, stopping=stopping, tol=tol, v0_given=v0 is not None,
                   uncertainty=str(ctx.us))
    if ctx.s_rect:
        pi = np.zeros(S * A)
        xi = np.zeros(S * A)
        w = ctx.work
        n, converged = rk.s_rect_l1_vi_loop(sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, ctx.kappa,
                                            ctx.full, tol, stopping == "span", max_iter, v_new, pi, xi, residuals,
                                            spans, dmm, pw2, pwd, w[0], w[1], w[2], w[3], w[4], w[5], *ctx.swork)
        return _finish(ctx, v=v, v_next=v, pi=pi.reshape(S, A), q=None, dmin=dmm[0], dmax=dmm[1], n=n,
                       converged=converged, residuals=residuals[:n].copy(), spans=spans[:n].copy(),
                       method="robust_value_iteration", options=options, t0=t0, evaluate=evaluate,
                       budget=xi.reshape(S, A))
    q = np.empty(S * A)
    pi = np.empty(S, dtype=np.int64)
    n, converged = rk.robust_vi_loop(sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, ctx.us.code,
                                     ctx.kappa, ctx.full, ctx.W, ctx.D, tol, stopping == "span", max_iter, q, v_new,
                                     pi, residuals, spans, dmm, pw2, pwd, *ctx.work)
    return _finish(ctx, v=v, v_next=v, pi=pi, q=q.reshape(S, A), dmin=dmm[0], dmax=dmm[1], n=n, converged=converged,
                   residuals=residuals[:n].copy(), spans=spans[:n].copy(), method="robust_value_iteration",
                   options=options, t0=t0, evaluate=evaluate)


def robust_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    max_iter: int = 1000,
    policy0=None,
    tie_rtol: float = 1e-10,
    eval_rtol: float = EVAL_RTOL,
) -> SolveResult:
    r"""Robust policy iteration in Iyengar's form (sa-rectangular sets).

    Alternates exact robust evaluation :math:`v_k = v^{\pi_k}_{\mathcal U}` (nature's policy
    iteration, :func:`robust_policy_evaluation`) and greedy improvement in the robust operator.
    The robust values increase monotonically and the method stops with a robust-optimal
    deterministic policy (Iyengar 2005, Sec. 5, robust policy iteration; theorem number not
    checked).  An action is switched only when it improves the robust q-value by more than
    ``tie_rtol * (1 + max|v|)``, so evaluation noise cannot make it cycle among ties.  The bound
    is :math:`(\|T_{\mathcal U}v-v\| + \|T_{\pi,\mathcal U}v - v\|)/(1-\gamma)`
    (:func:`mdpkit.bounds.robust.robust_pi_bound`).

    Parameters
    ----------
    mdp : TabularMDP
    uncertainty : UncertaintySet or str
        sa-rectangular (s-rectangular policies are randomized: use :func:`robust_value_iteration`).
    max_iter : int, default 1000
        Maximum number of evaluation/improvement steps.
    policy0 : array_like (S,), optional
        Initial policy; greedy for ``R`` if omitted.
    tie_rtol, eval_rtol : float
        Switching threshold and robust-evaluation accuracy (relative to ``1 + max|v|``).

    Returns
    -------
    SolveResult
        ``v`` = ``v_policy`` the robust value of the final policy; ``q`` the robust q-values;
        ``residuals`` the robust Bellman residual of each evaluated policy;
        ``extra["P_worst"]``, ``extra["n_changed"]``, ``extra["n_eval_iter"]``.

    Raises
    ------
    InvalidMDPError, InvalidArgumentError, InvalidPolicyError, NotImplementedError

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.

    References
    ----------
    .. [1] G. N. Iyengar, "Robust dynamic programming", Math. Oper. Res. 30(2), 2005.
    """
    ctx = _Ctx(mdp, uncertainty)
    if ctx.s_rect:
        raise NotImplementedError("robust_policy_iteration handles sa-rectangular sets; s-rectangular optimal "
                                  "policies are randomized: use robust_value_iteration or "
                                  "robust_partial_policy_iteration")
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tie_rtol = check_positive(tie_rtol, "tie_rtol", allow_zero=True)
    eval_rtol = check_positive(eval_rtol, "eval_rtol")
    t0 = time.perf_counter()
    S, A = ctx.S, ctx.A
    pi = initial_policy(ctx.mdp, policy0)
    if pi is None:
        pi = np.argmax(np.where(ctx.mdp.action_mask, ctx.mdp.R, -np.inf), axis=1).astype(np.int64)
    residuals, changed, n_eval = [], [], []
    converged = False
    pw = None
    for it in range(max_iter):
        v, pw2, pwd, ne, eres = ctx.evaluate(pi, rtol=eval_rtol, pw=pw)
        pw = (pw2, pwd)
        n_eval.append(ne)
        q = ctx.q_backup(v).reshape(S, A)
        best = np.argmax(q, axis=1)
        cur = q[np.arange(S), pi]
        residuals.append(float(np.abs(q.max(axis=1) - v).max()))
        switch = q[np.arange(S), best] > cur + tie_rtol * (1.0 + np.abs(v).max())
        changed.append(int(switch.sum()))
        if not switch.any():
            converged = True
            break
        if it == max_iter - 1:
            break
        pi = np.where(switch, best, pi).astype(np.int64)
    ex = _extra_common(ctx, pw2, pwd)
    ex.update(n_changed=np.asarray(changed), n_eval_iter=np.asarray(n_eval), evaluation_residual=eres)
    return build_result(
        ctx.mdp, v=v, policy=pi, converged=converged, n_iter=len(residuals), residuals=np.asarray(residuals),
        bound=robust_pi_bound(gamma, residuals[-1], eres), method="robust_policy_iteration",
        options=dict(max_iter=max_iter, tie_rtol=tie_rtol, eval_rtol=eval_rtol, policy0_given=policy0 is not None,
                     uncertainty=str(ctx.us)),
        wall_time=time.perf_counter() - t0, evaluate=False, v_policy=v.copy(), q=q, extra=ex,
    )


def robust_modified_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    m: int = 20,
    max_iter: int = 100_000,
    v0=None,
    evaluate_policy: bool | None = None,
) -> SolveResult:
    r"""Robust modified policy iteration (Kaufman & Schaefer 2013), sa-rectangular sets.

    Each iteration is one robust improvement backup :math:`u_0 = T_{\mathcal U}v_k` (greedy
    :math:`\pi_k`) followed by ``m`` robust evaluation sweeps :math:`u_{j+1} = T_{\pi_k,\mathcal U}u_j`
    (each solving the inner problems); :math:`v_{k+1} = u_m`.  ``m = 0`` is robust VI.  With the
    default :math:`v_0 = \min R/(1-\gamma)`, :math:`T v_0 \ge v_0` and the iterates increase
    monotonically to :math:`v^*_{\mathcal U}` (Kaufman & Schaefer 2013, convergence of exact
    RMPI; theorem number not checked).  Stops when
    :math:`\operatorname{sp}(T_{\mathcal U}v_k - v_k) < \varepsilon(1-\gamma)/\gamma`; the greedy
    policy then has the certified robust suboptimality
    :math:`\frac{\gamma}{1-\gamma}\operatorname{sp}(T_{\mathcal U}v_k - v_k) < \varepsilon`.

    Parameters
    ----------
    mdp : TabularMDP
    uncertainty : UncertaintySet or str
        sa-rectangular set.
    epsilon : float, default 1e-6
    m : int, default 20
        Robust evaluation sweeps per iteration.
    max_iter : int, default 100_000
        Improvement steps (each costs ``1 + m`` sweeps).
    v0 : array_like (S,), optional
        If given, convergence is guaranteed when :math:`T_{\mathcal U}v_0 \ge v_0`.
    evaluate_policy : bool, optional

    Returns
    -------
    SolveResult
        As :func:`robust_value_iteration`; ``n_iter`` counts improvement steps.

    Raises
    ------
    InvalidMDPError, InvalidArgumentError, NotImplementedError

    Warns
    -----
    ConvergenceWarning

    References
    ----------
    .. [1] D. L. Kaufman and A. J. Schaefer, "Robust modified policy iteration", INFORMS J.
       Computing 25(3), 2013.
    """
    ctx = _Ctx(mdp, uncertainty)
    if ctx.s_rect:
        raise NotImplementedError("robust_modified_policy_iteration handles sa-rectangular sets; use "
                                  "robust_value_iteration or robust_partial_policy_iteration for s-rectangular sets")
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    m = check_int(m, "m", minimum=0)
    tol = bounds.span_stopping_tol(epsilon, gamma)
    if v0 is None:
        v = np.full(ctx.S, ctx.mdp.reward_range[0] / (1.0 - gamma))
    else:
        v = initial_v(ctx.mdp, v0)
    evaluate = resolve_evaluate(ctx.mdp, evaluate_policy)
    t0 = time.perf_counter()
    sparse, P2, indptr, indices, data, R1, mask1, S, A = ctx.args
    q = np.empty(S * A)
    v_new = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    pw2, pwd = np.zeros((1, 1)), np.zeros(1)
    n, converged = rk.robust_mpi_loop(sparse, P2, indptr, indices, data, R1, mask1, S, A, gamma, v, ctx.us.code,
                                      ctx.kappa, ctx.full, ctx.W, ctx.D, tol, m, max_iter, q, v_new, pi, residuals,
                                      spans, dmm, pw2, pwd, *ctx.work)
    if not converged:
        q = ctx.q_backup(v)
        rk.greedy_max(q, mask1, S, A, v_new, pi)
        d = v_new - v
        dmm[:] = d.min(), d.max()
        v = v_new.copy()
    return _finish(ctx, v=v, v_next=v, pi=pi, q=q.reshape(S, A), dmin=dmm[0], dmax=dmm[1], n=n, converged=converged,
                   residuals=residuals[:n].copy(), spans=spans[:n].copy(), method="robust_modified_policy_iteration",
                   options=dict(epsilon=epsilon, m=m, max_iter=max_iter, tol=tol, v0_given=v0 is not None,
                                uncertainty=str(ctx.us)),
                   t0=t0, evaluate=evaluate)


def robust_partial_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 1000,
    eval_tol0: float | None = None,
    eval_decay: float | None = None,
    v0=None,
    evaluate_policy: bool | None = None,
) -> SolveResult:
    r"""Partial policy iteration (Ho, Petrik & Wiesemann 2021), sa- or s-rectangular sets.

    Iteration k: the policy :math:`\pi_k` greedy for :math:`v_{k-1}` in the robust operator is
    evaluated *approximately* against nature -- nature's policy iteration, warm-started from the
    previous worst kernel, stopped as soon as :math:`\|T_{\pi_k,\mathcal U}v_k - v_k\|_\infty \le
    (1-\gamma)\,\epsilon_k` -- with tolerances shrinking geometrically,
    :math:`\epsilon_{k+1} = c\,\epsilon_k` (``eval_decay`` c, default :math:`\gamma`).  Ho et al.
    (2021) show PPI converges to :math:`v^*_{\mathcal U}` at the rate of robust VI or faster when
    :math:`\epsilon_k` decreases geometrically (their Thm 3.3 / Sec. 3; number not checked).  Stops
    when :math:`\operatorname{sp}(T_{\mathcal U}v_k - v_k) < \varepsilon(1-\gamma)/\gamma`; the policy
    greedy for :math:`v_k` is then certified :math:`\varepsilon`-optimal
    (:func:`mdpkit.bounds.robust.robust_greedy_span_bound`).  For s-rectangular sets the policies
    are randomized and nature's response splits the state budget (exact knapsack).

    Parameters
    ----------
    mdp : TabularMDP
    uncertainty : UncertaintySet or str
    epsilon : float, default 1e-6
    max_iter : int, default 1000
        Improvement steps.
    eval_tol0 : float, optional
        First evaluation tolerance :math:`\epsilon_1`; default ``max|R| / (1 - gamma)``.
    eval_decay : float in (0, 1), optional
        Geometric decay of the tolerances; default ``gamma`` (or 0.5 if ``gamma == 0``).
    v0 : array_like (S,), optional
        Only used to pick the first greedy policy (default zeros).
    evaluate_policy : bool, optional

    Returns
    -------
    SolveResult
        ``v`` the last robust backup; ``residuals`` sup-norms of :math:`T_{\mathcal U}v_k - v_k`;
        ``extra["n_eval_iter"]`` nature's PI steps per iteration, ``extra["P_worst"]``.

    Raises
    ------
    InvalidMDPError, InvalidArgumentError, NotImplementedError

    Warns
    -----
    ConvergenceWarning

    References
    ----------
    .. [1] C. P. Ho, M. Petrik, W. Wiesemann, "Partial policy iteration for L1-robust Markov
       decision processes", JMLR 22(275), 2021.
    """
    ctx = _Ctx(mdp, uncertainty)
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    tol = bounds.span_stopping_tol(epsilon, gamma)
    scale = max(float(np.abs(ctx.mdp.R).max()), 1e-12) / (1.0 - gamma)
    eps_k = scale if eval_tol0 is None else check_positive(eval_tol0, "eval_tol0")
    c = (gamma if gamma > 0 else 0.5) if eval_decay is None else float(eval_decay)
    if not (0.0 < c < 1.0):
        raise InvalidArgumentError(f"eval_decay must lie in (0, 1), got {eval_decay!r}")
    evaluate = resolve_evaluate(ctx.mdp, evaluate_policy)
    t0 = time.perf_counter()
    S, A = ctx.S, ctx.A
    v = initial_v(ctx.mdp, v0)
    residuals, spans, n_eval = [], [], []
    converged = False
    pw = None

    def backup(u):
        if ctx.s_rect:
            Tu, p, xi = ctx.s_backup(u)
            return Tu, p, None, xi
        qq = ctx.q_backup(u)
        Tu = np.empty(S)
        p = np.empty(S, dtype=np.int64)
        rk.greedy_max(qq, ctx.args[6], S, A, Tu, p)
        return Tu, p, qq.reshape(S, A), None

    Tv, pi, q, xi = backup(v)
    n = 0
    for n in range(1, max_iter + 1):
        d = Tv - v
        residuals.append(float(np.abs(d).max()))
        spans.append(float(d.max() - d.min()))
        if spans[-1] < tol:
            converged = True
            break
        if n == max_iter:
            break
        # partial evaluation of pi against nature, warm-started
        v_e, pw2, pwd, ne, _ = ctx.evaluate(pi, rtol=(1.0 - gamma) * eps_k / (1.0 + np.abs(v).max()) + 1e-300,
                                            pw=pw)
        pw = (pw2, pwd)
        n_eval.append(ne)
        eps_k *= c
        v = v_e
        Tv, pi, q, xi = backup(v)
    d = Tv - v
    return _finish(ctx, v=Tv, v_next=Tv, pi=pi, q=q, dmin=d.min(), dmax=d.max(), n=n, converged=converged,
                   residuals=np.asarray(residuals), spans=np.asarray(spans),
                   method="robust_partial_policy_iteration",
                   options=dict(epsilon=epsilon, max_iter=max_iter, tol=tol, eval_tol0=eval_tol0, eval_decay=c,
                                v0_given=v0 is not None, uncertainty=str(ctx.us)),
                   t0=t0, evaluate=evaluate, budget=xi, extra={"n_eval_iter": np.asarray(n_eval)})

r"""Robust MDPs: robust Bellman operators, robust VI, PI (Iyengar form), MPI and PPI.

A rectangular robust MDP lets nature choose the transition rows from an uncertainty set
(:mod:`mdpkit.uncertainty`); the agent maximises the worst-case discounted return.  For
sa-rectangular sets

.. math:: (T_{\mathcal U} v)(s) = \max_a R(s,a) + \gamma \min_{p \in \mathcal U_{s,a}} p^\top v,

and for s-rectangular sets (coupled budget :math:`\sum_a d(p_a, q_a) \le \kappa_s`, d the L1,
L-infinity or L2 distance or :math:`\mathrm{KL}(p_a\|q_a)`)

.. math:: (T_{\mathcal U} v)(s) = \max_{\pi_s \in \Delta_A} \min_{(p_a) \in \mathcal U_s}
          \sum_a \pi_s(a) \big(R(s,a) + \gamma p_a^\top v\big),

whose maximiser is in general *randomized* (Wiesemann, Kuhn & Rustem 2013; Ho, Petrik &
Wiesemann 2018, Sec. 4).  Both operators are monotone :math:`\gamma`-contractions with the robust
optimal value :math:`v^*_{\mathcal U}` as fixed point, and a stationary deterministic (sa) or
randomized (s) policy is optimal (Iyengar 2005, Thm 5 for sa-rectangular sets; Wiesemann et al.
2013, Thm 4 for s-rectangular sets -- theorem numbers not checked against the papers).

Every solver returns a :class:`RobustResult` (the :class:`~mdpkit.SolveResult` family):

* ``v`` the solver's estimate of the robust value it computes (:math:`v^*_{\mathcal U}` for the
  solvers, :math:`v^\pi_{\mathcal U}` for :func:`robust_policy_evaluation`), with
  ``v_error_bound`` a *certified* bound on :math:`\|v - v_{\text{true}}\|_\infty` (the
  MacQueen-Porteus bracket of :func:`mdpkit.bounds.macqueen_bounds`, valid for robust operators,
  see :mod:`mdpkit.bounds.robust`); ``v_iterate`` the raw last iterate;
* ``certificate`` the certified robust suboptimality :math:`\|v^*_{\mathcal U} - v^\pi_{\mathcal U}\|_\infty`
  of ``policy``;
* ``v_policy`` the *nominal* exact value of the policy (computed on first access);
* ``P_worst`` a worst-case kernel for the returned policy, in the model's storage (dense
  ``(S, A, S)`` or CSR ``(S*A, S)``): row ``(s, a)`` minimises :math:`p^\top v^\pi_{\mathcal U}`
  over :math:`\mathcal U_{s,a}` (s-rectangular: at nature's best response to the policy), so
  the *nominal* value of the policy on ``P_worst`` is its robust value ``v_policy_robust``
  (within ``v_policy_robust_error_bound``).  These come from nature's policy iteration for the
  policy, run on first access (one linear solve per step) unless the solver already did it;
* ``budget`` (s-rectangular sets, (S, A)) nature's split of the state budgets in the solver's
  last robust backup.

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

import dataclasses
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import bellman, model_args
from mdpkit._kernels import robust as rk
from mdpkit._validation import check_gamma, check_int, check_positive
from mdpkit.bounds.robust import robust_evaluation_bound, robust_greedy_span_bound, robust_pi_bound
from mdpkit.model import DENSE_LIMIT, TabularMDP
from mdpkit.policies import solve_policy_system, check_policy
from mdpkit.results import SolveResult, ResultRecord, format_value
from mdpkit.uncertainty import (
    PENALTIES,
    S_RECT_KINDS,
    set_auxiliary_arrays,
    make_workspace,
    parse_uncertainty,
)

from ._common import bracket_midpoint, build_result, check_common, check_mdp, initial_policy, initial_v

__all__ = [
    "RobustBackup",
    "RobustResult",
    "robust_bellman_operator",
    "robust_modified_policy_iteration",
    "robust_partial_policy_iteration",
    "robust_policy_evaluation",
    "robust_policy_iteration",
    "robust_policy_operator",
    "robust_value_iteration",
]

#: relative accuracy of the robust evaluation behind ``v_policy_robust`` and ``P_worst``
EVAL_RTOL = 1e-10

_LAZY = ("P_worst", "v_policy_robust", "v_policy_robust_error_bound")


# --------------------------------------------------------------------------------------------
# result records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class RobustBackup(ResultRecord):
    r"""One robust Bellman backup (:func:`robust_bellman_operator`).

    Attributes
    ----------
    v : ndarray of float64, shape (S,)
        :math:`T_{\mathcal U} v` (exact up to floating point).
    policy : ndarray, shape (S,) int64 (sa) or (S, A) float64 (s)
        A greedy policy (sa: lowest-index ties; s: randomized).
    q : ndarray of float64, shape (S, A), or None
        Robust q-values (sa; ``-inf`` on masked actions); None for s-rectangular sets.
    P_worst : ndarray (S, A, S) or scipy.sparse CSR (S*A, S)
        Nature's minimising rows at ``v`` in the model's storage.
    budget : ndarray of float64, shape (S, A), or None
        s-rectangular: nature's split :math:`\xi_{s,a}` of the state budget
        (:math:`\sum_a \xi_{s,a} \le \kappa_s`); None for sa.
    """

    v: np.ndarray
    policy: np.ndarray
    q: np.ndarray | None
    P_worst: Any
    budget: np.ndarray | None


@dataclass(frozen=True, eq=False, repr=False)
class RobustResult(SolveResult):
    r"""What the robust solvers return (a :class:`~mdpkit.SolveResult`).

    ``v`` estimates the robust value the solver computes (:math:`v^*_{\mathcal U}`, or
    :math:`v^\pi_{\mathcal U}` for :func:`robust_policy_evaluation`) with the certified
    ``v_error_bound``; ``certificate`` bounds :math:`\|v^*_{\mathcal U} - v^\pi_{\mathcal U}\|_\infty`;
    ``v_policy`` is the policy's *nominal* value (lazy; None for randomized policies).

    Attributes
    ----------
    uncertainty : str
        The set, as a string (:func:`mdpkit.uncertainty.parse_uncertainty` reads it back).
    rectangularity : {"sa", "s"}
    support : {"nominal", "simplex"}
    spans : ndarray of float64, shape (n_iter,), or None
        Span of :math:`T_{\mathcal U}v_k - v_k` per iteration (VI, MPI, PPI).
    n_changed : ndarray of int64, shape (n_iter,), or None
        Actions switched per improvement step (PI).
    n_eval_iter : ndarray of int64, or None
        Nature's policy-iteration steps per evaluation (PI, PPI; :func:`robust_policy_evaluation`:
        shape (1,)).
    budget : ndarray of float64, shape (S, A), or None
        s-rectangular sets: nature's split :math:`\xi_{s,a}` of the state budget
        (:math:`\sum_a \xi_{s,a} \le \kappa_s`) in the solver's last robust Bellman backup (the
        saddle point of the s-rectangular update, Ho et al. 2018, Sec. 4);
        :func:`robust_policy_evaluation`: nature's best response to the given policy.  None for
        sa-rectangular sets.
    P_worst : ndarray (S, A, S) or scipy.sparse CSR (S*A, S)
        A worst-case kernel for ``policy`` in the model's storage: nature's minimising rows at
        :math:`v^\pi_{\mathcal U}` for every available (s, a) (s-rectangular: at nature's best
        response to ``policy``, whose budget split may differ from ``budget`` where nature is
        indifferent).  Property, computed on first access by nature's policy iteration unless
        the solver already had it.
    v_policy_robust : ndarray of float64, shape (S,)
        Robust value :math:`v^\pi_{\mathcal U}` of ``policy`` (nature's policy iteration to
        relative residual ``1e-10``), i.e. the nominal value of ``policy`` on ``P_worst``.
    v_policy_robust_error_bound : float
        Certified :math:`\|v_{\text{policy\_robust}} - v^\pi_{\mathcal U}\|_\infty`
        (:func:`mdpkit.bounds.robust.robust_evaluation_bound`).
    """

    uncertainty: str = ""
    rectangularity: str = "sa"
    support: str = "nominal"
    spans: np.ndarray | None = None
    n_changed: np.ndarray | None = None
    n_eval_iter: np.ndarray | None = None
    budget: np.ndarray | None = None
    _worst: tuple | None = field(default=None, compare=False)
    _worst_evaluator: Callable[[], tuple] | None = field(default=None, compare=False)

    def _worst_case(self) -> tuple:
        """(v_policy_robust, P_worst, budget, v_policy_robust_error_bound), computed once."""
        if self._worst is None and self._worst_evaluator is not None:
            object.__setattr__(self, "_worst", self._worst_evaluator())
        return self._worst if self._worst is not None else (None, None, None, float("inf"))

    @property
    def P_worst(self):
        """Worst-case kernel for ``policy`` (dense (S, A, S) or CSR (S*A, S)); see the class docstring."""
        return self._worst_case()[1]

    @property
    def v_policy_robust(self) -> np.ndarray | None:
        r"""Robust value :math:`v^\pi_{\mathcal U}` of ``policy``, shape (S,)."""
        return self._worst_case()[0]

    @property
    def v_policy_robust_error_bound(self) -> float:
        r"""Certified :math:`\|v_{\text{policy\_robust}} - v^\pi_{\mathcal U}\|_\infty`."""
        return float(self._worst_case()[3])

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`SolveResult.to_dict`; the worst-case fields appear once computed."""
        d = super().to_dict()
        if self._worst is not None:
            d.update(v_policy_robust=self._worst[0], P_worst=self._worst[1],
                     v_policy_robust_error_bound=self._worst[3])
        return d

    def __repr__(self) -> str:
        base = super().__repr__()
        w = max(len(f.name) for f in dataclasses.fields(self) if not f.name.startswith("_"))
        w = max(w, *map(len, _LAZY))
        lines = base[:-2].split("\n")  # drop the closing "\n)"
        head = lines[0]
        body = [ln.split(": ", 1) for ln in lines[1:]]
        out = [f"{k.strip().rjust(w)}: {val}" for k, val in body]
        for name in _LAZY:
            out.append(f"{name.rjust(w)}: " + (format_value(getattr(self, name)) if self._worst is not None
                                                else "<computed on first access>"))
        return head + "\n" + "\n".join(out) + "\n)"


_DUMMY_PW = (np.zeros((1, 1)), np.zeros(1))


def _wv(v) -> np.ndarray:
    """``v`` as a writable float64 C-contiguous array (copied only when needed): one kernel signature."""
    v = np.asarray(v, dtype=np.float64)
    if not (v.flags.c_contiguous and v.flags.writeable):
        v = np.array(v, dtype=np.float64, order="C", copy=True)
    return v


def _wi(pi) -> np.ndarray:
    """A deterministic policy as a writable int64 C-contiguous array."""
    pi = np.asarray(pi, dtype=np.int64)
    if not (pi.flags.c_contiguous and pi.flags.writeable):
        pi = np.array(pi, dtype=np.int64, order="C", copy=True)
    return pi


# --------------------------------------------------------------------------------------------
# preparation: one validated context per (model, set)
# --------------------------------------------------------------------------------------------


class RobustContext:
    """Validated model + set, normalised for the kernels (one type signature per kernel).

    ``model`` is the read-only tuple of :func:`mdpkit._kernels.model_args`; ``uset = (kind,
    kappa, full, W, metric)`` and the work buffers are freshly allocated (writable) float64 /
    int64 C-contiguous arrays; every ``v`` and ``pi`` passed to a kernel goes through
    :func:`_wv` / :func:`_wi`.
    """

    def __init__(self, mdp: TabularMDP, uncertainty):
        check_mdp(mdp)
        us = parse_uncertainty(uncertainty)
        if us.kind == "cvxpy":
            raise NotImplementedError("user-written cvxpy sets are available through mdpkit.uncertainty.worst_case("
                                      "..., engine='cvxpy'); the solvers run the built-in Numba kernels")
        S, A = mdp.S, mdp.A
        self.full = bool(us.full_support)
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
            self.kappa = np.array(r.reshape(S * A), dtype=np.float64, order="C", copy=True)
        else:
            if us.kind not in S_RECT_KINDS:
                raise NotImplementedError(f"s-rectangular sets are implemented for kinds {sorted(S_RECT_KINDS)}; got "
                                          f"{us.kind!r}")
            if r.ndim == 0:
                r = np.full(S, float(r))
            if r.shape != (S,):
                raise InvalidArgumentError(f"an s-rectangular radius must be a scalar or have shape (S,) = ({S},), "
                                           f"got {r.shape}")
            self.kappa = np.array(r, dtype=np.float64, order="C", copy=True)
        self.W, self.D = set_auxiliary_arrays(us.kind, S, us.weights, us.metric)
        self.args = model_args(mdp)
        self.uset = (int(us.code), self.kappa, self.full, self.W, self.D)
        sparse, indptr, data = self.args[0], self.args[2], self.args[4]
        if sparse:
            n_max = int(np.diff(indptr).max()) if indptr.size > 1 else 1
        else:
            n_max = S
        work_entries = int(data.size) if sparse else S * A * S
        chunks = rk.N_CHUNKS if work_entries >= rk.PAR_MIN_WORK else 1
        self.work = make_workspace(n_max, us.code, chunks, S * A)
        self.n_max = n_max
        if us.rectangularity == "s" and us.kind == "l1":
            self.swork = (np.zeros((A, n_max + 1)), np.zeros((A, n_max + 1)), np.zeros(A, dtype=np.int64),
                          np.zeros(A), np.zeros(A, dtype=np.bool_))
        elif us.rectangularity == "s":
            # the work tuple of the Linf / L2 / KL kernels (mdpkit._kernels.robust, s-rectangular section)
            self.swork = ((np.zeros((A, n_max)), np.zeros((A, n_max)), np.zeros((A, n_max), dtype=np.int64),
                           np.zeros(A, dtype=np.int64)) + tuple(np.zeros(A) for _ in range(4))
                          + (np.zeros(A, dtype=np.bool_),) + tuple(np.zeros(A) for _ in range(7)))

    @property
    def s_rect(self) -> bool:
        return self.us.rectangularity == "s"

    @property
    def gamma(self) -> float:
        return float(self.mdp.gamma)

    def new_pw(self):
        """Fresh (writable) storage for nature's rows: ``(pw2, pwd)``."""
        if self.args[0]:
            return np.zeros((1, 1)), np.zeros(self.mdp.P.nnz)
        return np.zeros((self.S * self.A, self.S)), np.zeros(1)

    def pw_to_kernel(self, pw):
        """The stored worst-case rows as a kernel in the model's storage (a read-only copy)."""
        pw2, pwd = pw
        if self.args[0]:
            P = self.mdp.P
            K = sp.csr_matrix((pwd.copy(), P.indices.copy(), P.indptr.copy()), shape=P.shape)
            for a in (K.data, K.indices, K.indptr):
                a.flags.writeable = False
            return K
        K = pw2.reshape(self.S, self.A, self.S).copy()
        K.flags.writeable = False
        return K

    def rows_matrix(self, pw):
        pw2, pwd = pw
        if self.args[0]:
            P = self.mdp.P
            return sp.csr_matrix((pwd, P.indices, P.indptr), shape=P.shape)
        return pw2

    # ---- operators --------------------------------------------------------------------------

    def q_backup(self, v, pw=None):
        """Robust q (S*A,) for sa-rectangular sets (-inf on masked rows); rows stored into ``pw``."""
        q = np.empty(self.S * self.A)
        rk.robust_q(self.args, self.uset, self.gamma, _wv(v), pw is not None, _DUMMY_PW if pw is None else pw,
                    q, self.work)
        return q

    def s_backup(self, v, pw=None):
        S, A = self.S, self.A
        out = (np.empty(S), np.zeros(S * A), np.zeros(S * A))
        if self.us.kind == "l1":
            rk.s_rect_l1_backup(self.args, self.uset, self.gamma, _wv(v), pw is not None, out,
                                _DUMMY_PW if pw is None else pw, self.work, self.swork)
        else:
            self.s_run(0, v, np.zeros(S * A), pw, out)
        return out[0], out[1].reshape(S, A), out[2].reshape(S, A)

    def s_run(self, mode, v, pis, pw, out, ctrl=(1e-300, False, 1)):
        """:func:`mdpkit._kernels.robust.s_rect_run` (Linf / L2 / KL): mode 0 backup, 1 policy
        backup, 2 value iteration (``ctrl = (tol, use_span, max_iter)``, ``out`` all six arrays)."""
        tol, use_span, max_iter = ctrl
        if len(out) == 3:
            out = out + (np.zeros(1), np.zeros(1), np.zeros(2))
        return rk.s_rect_run(self.args, self.uset, self.gamma, _wv(v), np.ascontiguousarray(pis, dtype=np.float64),
                             (int(mode), pw is not None, float(tol), bool(use_span), int(max_iter)), out,
                             _DUMMY_PW if pw is None else pw, self.work, self.swork)

    def greedy(self, v):
        """One robust Bellman backup: ``(T v, policy, q (S, A) or None, budget (S, A) or None)``."""
        if self.s_rect:
            Tv, p, xi = self.s_backup(v)
            return Tv, p, None, xi
        q = self.q_backup(v)
        Tv = np.empty(self.S)
        p = np.empty(self.S, dtype=np.int64)
        bellman.greedy_max(self.args, q, Tv, p)
        return Tv, p, q.reshape(self.S, self.A), None

    def policy_backup(self, v, pi, pw=None):
        """(T_{pi,U} v) for pi (S,) int or (S, A) float; returns (values, budget (S, A) or None)."""
        S, A = self.S, self.A
        store = pw is not None
        pwt = _DUMMY_PW if pw is None else pw
        if self.s_rect:
            pis = np.zeros((S, A))
            if pi.ndim == 1:
                pis[np.arange(S), pi] = 1.0
            else:
                pis[:] = pi
            out = (np.empty(S), np.zeros(S * A))
            if self.us.kind == "l1":
                rk.s_rect_l1_policy_backup(self.args, self.uset, self.gamma, _wv(v), pis.reshape(S * A), store, out,
                                           pwt, self.work, self.swork)
            else:
                self.s_run(1, v, pis.reshape(S * A), pw, (out[0], np.zeros(S * A), out[1]))
            return out[0], out[1].reshape(S, A)
        if pi.ndim == 1 and not store:
            v_out = np.empty(S)
            rk.robust_policy_sweep(self.args, self.uset, self.gamma, _wi(pi), _wv(v), False, pwt, v_out, self.work)
            return v_out, None
        q = self.q_backup(v, pw).reshape(S, A)
        if pi.ndim == 1:
            return q[np.arange(S), pi].copy(), None
        return np.where(pi > 0, pi * np.where(np.isfinite(q), q, 0.0), 0.0).sum(axis=1), None

    def policy_system(self, pi, pw):
        """(P_pi, r_pi) of pi on the stored rows: P_pi (S, S) dense or CSR, r_pi (S,)."""
        S, A = self.S, self.A
        rows = self.rows_matrix(pw)
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

    def linear_eval(self, pi, pw, r_extra=None):
        """Nominal value of pi on the stored rows (a linear solve), with an optional reward term."""
        P_pi, r_pi = self.policy_system(pi, pw)
        if r_extra is not None:
            r_pi = r_pi + r_extra
        return solve_policy_system(P_pi, r_pi, self.gamma)

    def nominal_rows(self):
        sparse, P2, indptr, indices, data = self.args[:5]
        if sparse:
            return np.zeros((1, 1)), np.array(data, dtype=float)
        return np.array(P2, dtype=float), np.zeros(1)

    def evaluate(self, pi, *, rtol=EVAL_RTOL, max_iter=1000, pw=None):
        """Robust value of pi by nature's policy iteration (Iyengar 2005, robust evaluation).

        Nature's problem for a fixed pi is an MDP with convex action sets; policy iteration on it
        (evaluate the current kernel, then let nature best-respond) gives monotonically
        decreasing values.  Returns ``(v, pw, n_iter, residual, budget)`` where ``residual`` =
        ||T_{pi,U} v - v||_inf certifies ||v - v^pi_U|| <= residual / (1 - gamma) and ``pw``
        holds nature's rows at ``v`` (``budget`` their s-rectangular budget split, or None).
        """
        pw = self.nominal_rows() if pw is None else pw
        penalty = self.us.kind in PENALTIES
        v = self.linear_eval(pi, pw)
        res = np.inf
        n = 0
        xi = None
        for n in range(1, max_iter + 1):
            new = self.new_pw()
            Tv, xi = self.policy_backup(v, pi, pw=new)
            res = float(np.abs(Tv - v).max())
            pw = new
            if res <= rtol * (1.0 + float(np.abs(v).max())):
                break
            r_extra = None
            if penalty:
                # penalty forms: T_pi v = r_pi + gamma (P_w v + beta D(P_w, P)); keep the penalty as a reward
                P_pi, r_pi = self.policy_system(pi, pw)
                r_extra = Tv - r_pi - self.gamma * (P_pi @ v)
            v = self.linear_eval(pi, pw, r_extra)
        return v, pw, n, res, xi

    def worst_case_record(self, pi, **kw):
        """(v_policy_robust, P_worst, budget, error bound) of pi: the lazy part of a :class:`RobustResult`."""
        v, pw, _, res, xi = self.evaluate(pi, **kw)
        v = np.array(v, dtype=np.float64)
        v.flags.writeable = False
        if xi is not None:
            xi = np.array(xi)
            xi.flags.writeable = False
        return v, self.pw_to_kernel(pw), xi, robust_evaluation_bound(self.gamma, res).value

    def common_fields(self) -> dict:
        return dict(uncertainty=str(self.us), rectangularity=self.us.rectangularity, support=self.us.support)


def _as_policy(ctx: RobustContext, policy):
    return check_policy(ctx.mdp, policy)


# --------------------------------------------------------------------------------------------
# public operators
# --------------------------------------------------------------------------------------------


def robust_bellman_operator(mdp: TabularMDP, v, uncertainty) -> RobustBackup:
    r"""Apply the robust Bellman operator :math:`T_{\mathcal U}` once.

    Parameters
    ----------
    mdp : TabularMDP
        Dense ``P (S, A, S)`` or CSR ``(S*A, S)``.
    v : array_like of float, shape (S,)
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

    Raises
    ------
    InvalidArgumentError
        Bad ``v`` or set parameters.
    NotImplementedError
        ``kind="cvxpy"``.

    Notes
    -----
    s-rectangular L1 (Ho, Petrik & Wiesemann 2018, Sec. 4; their Thm on the bisection was not
    checked by number): with :math:`q_a(\xi) = R_a + \gamma \min_{\|p-q_a\|_1\le\xi} p^\top v`
    convex piecewise linear, the update is :math:`\min_{\sum\xi_a\le\kappa}\max_a q_a(\xi_a)`,
    solved exactly over the breakpoints; the optimal policy is
    :math:`\pi_a \propto 1/|q_a'(\xi_a)|` on the active actions (the dual multipliers of the
    epigraph constraints), checked against cvxpy's duals in the tests.

    s-rectangular L-infinity, L2 and KL (same reduction; Ho, Petrik & Wiesemann 2022, "Robust
    phi-divergence MDPs", for the KL case; section numbers not checked against the text): each
    :math:`q_a(\xi)` is convex and non-increasing but not piecewise linear, so the level
    :math:`u^*` with :math:`\sum_a q_a^{-1}(u^*) = \kappa_s` is found by a safeguarded Newton
    search (the budget is convex in the level), each :math:`q_a^{-1}` by Newton from the left on
    the sa-inner kernels, with :math:`q_a'` the KKT multiplier of the distance constraint.  Value
    and policy agree with cvxpy to 1e-6 relative in the tests
    (``tests/robust/test_srect_native.py``).  The budget is the plain sum of the distances (as in
    :func:`mdpkit.uncertainty.s_rect_bellman_cvxpy`), not the joint :math:`L_p` ball over all
    actions' rows of Kumar et al. (2024), whose closed forms also leave out :math:`p \ge 0`
    (statement not checked against the text).
    """
    ctx = RobustContext(mdp, uncertainty)
    vv = initial_v(ctx.mdp, v)
    pw = ctx.new_pw()
    S, A = ctx.S, ctx.A
    if ctx.s_rect:
        Tv, pi, xi = ctx.s_backup(vv, pw=pw)
        return RobustBackup(Tv, pi, None, ctx.pw_to_kernel(pw), xi)
    q = ctx.q_backup(vv, pw=pw)
    Tv = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    bellman.greedy_max(ctx.args, q, Tv, pi)
    return RobustBackup(Tv, pi, q.reshape(S, A), ctx.pw_to_kernel(pw), None)


def robust_policy_operator(mdp: TabularMDP, v, policy, uncertainty):
    r"""Apply :math:`T_{\pi,\mathcal U}` once: returns ``(values (S,), P_worst)``.

    sa-rectangular: :math:`(T_{\pi,\mathcal U}v)(s) = \sum_a \pi(a|s)\,(R(s,a) + \gamma
    \min_{p\in\mathcal U_{s,a}} p^\top v)`; s-rectangular: nature splits the state budget across
    the actions to minimise the policy's mixture (an exact fractional knapsack over the
    breakpoints of each :math:`q_a(\xi)` for L1; for L-infinity, L2 and KL a bisection on the
    budget multiplier, interpolated so the budget is used exactly).  ``policy`` is (S,) int or
    (S, A) float; ``P_worst`` is dense (S, A, S) or CSR (S*A, S) as the model.
    """
    ctx = RobustContext(mdp, uncertainty)
    vv = initial_v(ctx.mdp, v)
    pi = _as_policy(ctx, policy)
    pw = ctx.new_pw()
    out, _ = ctx.policy_backup(vv, pi, pw=pw)
    return out, ctx.pw_to_kernel(pw)


def robust_policy_evaluation(mdp: TabularMDP, policy, uncertainty, *, rtol: float = EVAL_RTOL,
                             max_iter: int = 1000) -> RobustResult:
    r"""Robust (worst-case) value :math:`v^\pi_{\mathcal U}` of a policy, by nature's policy iteration.

    For a fixed policy, nature faces an MDP whose actions are the kernels of the set; policy
    iteration on it (evaluate the current kernel exactly, then best-respond row by row) produces
    values decreasing monotonically to :math:`v^\pi_{\mathcal U}` (Iyengar 2005, robust policy
    evaluation; finite for polyhedral sets).  Stops when
    :math:`\|T_{\pi,\mathcal U}v - v\|_\infty \le` ``rtol * (1 + max|v|)``.

    Parameters
    ----------
    mdp : TabularMDP
        Requires ``gamma < 1``.
    policy : array_like, (S,) int or (S, A) float
    uncertainty : UncertaintySet or str
    rtol : float, default 1e-10
        Relative residual at which nature's policy iteration stops.
    max_iter : int, default 1000
        Nature's policy-iteration steps.

    Returns
    -------
    RobustResult
        ``v`` (S,) the robust value, with ``v_error_bound`` :math:`= \|T_{\pi,\mathcal U}v - v\|_\infty
        /(1-\gamma)` (Banach, :func:`mdpkit.bounds.robust.robust_evaluation_bound`);
        ``P_worst`` nature's minimising rows at ``v`` (the nominal value of the policy on
        ``P_worst`` is ``v``), ``budget`` (s-rectangular); ``certificate`` the robust
        suboptimality of the policy, :math:`(\|T_{\mathcal U}v - v\| + \|T_{\pi,\mathcal U}v - v\|)
        /(1-\gamma)` (:func:`mdpkit.bounds.robust.robust_pi_bound`); ``n_iter`` nature's steps.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError, InvalidPolicyError, NotImplementedError
        Bad arguments, policy, or set.
    """
    t0 = time.perf_counter()
    ctx = RobustContext(mdp, uncertainty)
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    pi = _as_policy(ctx, policy)
    rtol = check_positive(rtol, "rtol")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    v, pw, n, res, xi = ctx.evaluate(pi, rtol=rtol, max_iter=max_iter)
    v = np.asarray(v, dtype=np.float64)
    err = robust_evaluation_bound(gamma, res).value
    Tv = ctx.greedy(v)[0]
    vr = v.copy()
    vr.flags.writeable = False
    xr = None if xi is None else np.array(xi)
    if xr is not None:
        xr.flags.writeable = False
    converged = res <= rtol * (1.0 + float(np.abs(v).max()))
    return build_result(
        ctx.mdp, cls=RobustResult, v=v, v_error_bound=err, policy=pi,
        certificate=robust_pi_bound(gamma, float(np.abs(Tv - v).max()), res), converged=converged, n_iter=n,
        residuals=np.array([res]), method="robust_policy_evaluation",
        options=dict(rtol=rtol, max_iter=max_iter, uncertainty=str(ctx.us)), t0=t0,
        n_eval_iter=np.array([n], dtype=np.int64), budget=xr,
        _worst=(vr, ctx.pw_to_kernel(pw), xr, err), **ctx.common_fields(),
    )


# --------------------------------------------------------------------------------------------
# solvers
# --------------------------------------------------------------------------------------------


def _finish(ctx, *, v_iterate, v_next, pi, q, dmin, dmax, n, converged, residuals, spans, method, options, t0,
            **fields):
    r"""Result for a policy greedy for some u with v_next = T_U u, d = v_next - u.

    ``v`` is the midpoint of the MacQueen-Porteus bracket on :math:`v^*_{\mathcal U}`, valid for
    the robust operator (monotone, gamma-translation equivariant: :mod:`mdpkit.bounds.robust`),
    ``v_error_bound`` its half-width; the certificate is
    :func:`mdpkit.bounds.robust.robust_greedy_span_bound`.  The worst-case kernel of ``pi`` is
    computed on first access.
    """
    gamma = ctx.gamma
    lo, hi = bounds.macqueen_bounds(gamma, v_next, dmin, dmax)
    v, v_err = bracket_midpoint(lo, hi)
    pol = np.array(pi)
    return build_result(
        ctx.mdp, cls=RobustResult, v=v, v_error_bound=v_err, policy=pol,
        certificate=robust_greedy_span_bound(gamma, dmax - dmin), converged=converged, n_iter=n,
        residuals=residuals, method=method, options=options, t0=t0, q=q, v_iterate=np.array(v_iterate),
        v_lower=lo, v_upper=hi, spans=spans, _worst_evaluator=functools.partial(ctx.worst_case_record, pol),
        **ctx.common_fields(), **fields,
    )


def robust_value_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 100_000,
    v0=None,
    stopping: str = "norm",
) -> RobustResult:
    r"""Robust value iteration :math:`v_{k+1} = T_{\mathcal U} v_k` with certified stopping.

    :math:`T_{\mathcal U}` is a monotone :math:`\gamma`-contraction (Iyengar 2005, Thm 5; Nilim &
    El Ghaoui 2005, Thm 3; numbers not checked), so the nominal stopping rules carry over with the
    same constants: ``stopping="norm"`` stops when :math:`\|v_{k+1}-v_k\|_\infty <
    \varepsilon(1-\gamma)/(2\gamma)` (:func:`mdpkit.bounds.vi_norm_stopping_tol`), ``"span"``
    when :math:`\operatorname{sp}(v_{k+1}-v_k) < \varepsilon(1-\gamma)/\gamma`.  The returned
    policy, greedy for :math:`v_k` in the robust operator, satisfies the certified
    :math:`\|v^*_{\mathcal U} - v^\pi_{\mathcal U}\|_\infty \le \frac{\gamma}{1-\gamma}
    \operatorname{sp}(v_{k+1}-v_k) < \varepsilon` (:func:`mdpkit.bounds.robust.robust_greedy_span_bound`),
    and :math:`v^*_{\mathcal U}` lies in the MacQueen-Porteus bracket
    :math:`v_{k+1} + \frac{\gamma}{1-\gamma}[\min d, \max d]`, :math:`d = v_{k+1} - v_k`
    (:func:`mdpkit.bounds.macqueen_bounds`; its proof uses only monotonicity and
    :math:`\gamma`-translation, so it holds for robust operators).

    Parameters
    ----------
    mdp : TabularMDP
        Nominal model (dense ``(S, A, S)`` or CSR ``(S*A, S)``); requires ``gamma < 1``.
    uncertainty : UncertaintySet or str
        The set, e.g. ``"l1:0.1"``, ``"kl:0.05"``, ``"l1:0.2,rect=s"`` (s-rectangular: l1, linf, l2, kl).
        A radius array has shape (S, A) (sa) or (S,) (s).
    epsilon : float, default 1e-6
        Target robust suboptimality of the returned policy, in reward units.
    max_iter : int, default 100_000
        Maximum number of robust Bellman sweeps.
    v0 : array_like of float, shape (S,), optional
        Initial iterate (zeros if omitted); never modified.
    stopping : {"norm", "span"}

    Returns
    -------
    RobustResult
        ``v`` (S,) float64 the midpoint of the bracket ``[v_lower, v_upper]`` of
        :math:`v^*_{\mathcal U}`, ``v_error_bound`` its half-width; ``v_iterate`` the last
        iterate; ``policy`` (S,) int64 (sa) or (S, A) float64 randomized (s); ``q`` (S, A) robust
        q-values of :math:`v_k` (sa only); ``residuals``/``spans`` (n_iter,); ``certificate`` the
        robust suboptimality bound; ``budget`` (S, A) (s-rectangular) nature's split in the last
        backup; ``P_worst`` and ``v_policy_robust`` on first access.

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
        If ``max_iter`` is reached first (the certificate and the bracket still hold).

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
    t0 = time.perf_counter()
    ctx = RobustContext(mdp, uncertainty)
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    if stopping not in ("norm", "span"):
        raise InvalidArgumentError(f"stopping must be 'norm' or 'span', got {stopping!r}")
    tol = bounds.vi_norm_stopping_tol(epsilon, gamma) if stopping == "norm" else bounds.span_stopping_tol(epsilon,
                                                                                                         gamma)
    v = _wv(initial_v(ctx.mdp, v0))
    S, A = ctx.S, ctx.A
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    v_new = np.empty(S)
    pw = _DUMMY_PW
    ctrl = (float(tol), stopping == "span", int(max_iter))
    options = dict(epsilon=epsilon, max_iter=max_iter, stopping=stopping, tol=tol, v0_given=v0 is not None,
                   uncertainty=str(ctx.us))
    if ctx.s_rect:
        pi = np.zeros(S * A)
        xi = np.zeros(S * A)
        if ctx.us.kind == "l1":
            n, converged = rk.s_rect_l1_vi_loop(ctx.args, ctx.uset, gamma, v, ctrl,
                                                (v_new, pi, xi, residuals, spans, dmm), pw, ctx.work, ctx.swork)
        else:
            n, converged = ctx.s_run(2, v, np.zeros(S * A), None, (v_new, pi, xi, residuals, spans, dmm), ctrl)
        return _finish(ctx, v_iterate=v, v_next=v, pi=pi.reshape(S, A), q=None, dmin=dmm[0], dmax=dmm[1], n=n,
                       converged=converged, residuals=residuals[:n].copy(), spans=spans[:n].copy(),
                       method="robust_value_iteration", options=options, t0=t0, budget=xi.reshape(S, A))
    q = np.empty(S * A)
    pi = np.empty(S, dtype=np.int64)
    n, converged = rk.robust_vi_loop(ctx.args, ctx.uset, gamma, v, ctrl, (q, v_new, pi, residuals, spans, dmm), pw,
                                     ctx.work)
    return _finish(ctx, v_iterate=v, v_next=v, pi=pi, q=q.reshape(S, A), dmin=dmm[0], dmax=dmm[1], n=n,
                   converged=converged, residuals=residuals[:n].copy(), spans=spans[:n].copy(),
                   method="robust_value_iteration", options=options, t0=t0)


def robust_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    max_iter: int = 1000,
    policy0=None,
    tie_rtol: float = 1e-10,
    eval_rtol: float = EVAL_RTOL,
) -> RobustResult:
    r"""Robust policy iteration in Iyengar's form (sa-rectangular sets).

    Alternates robust evaluation :math:`v_k \approx v^{\pi_k}_{\mathcal U}` (nature's policy
    iteration to relative residual ``eval_rtol``, :func:`robust_policy_evaluation`) and greedy
    improvement in the robust operator.  The robust values increase monotonically and the method
    stops with a robust-optimal deterministic policy (Iyengar 2005, Sec. 5, robust policy
    iteration; theorem number not checked).  An action is switched only when it improves the
    robust q-value by more than ``tie_rtol * (1 + max|v|)``, so evaluation noise cannot make it
    cycle among ties.  The certificate is
    :math:`(\|T_{\mathcal U}v-v\| + \|T_{\pi,\mathcal U}v - v\|)/(1-\gamma)`
    (:func:`mdpkit.bounds.robust.robust_pi_bound`).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR; requires ``gamma < 1``.
    uncertainty : UncertaintySet or str
        sa-rectangular (s-rectangular policies are randomized: use :func:`robust_value_iteration`).
    max_iter : int, default 1000
        Maximum number of evaluation/improvement steps.
    policy0 : array_like of int, shape (S,), optional
        Initial policy; greedy for ``R`` if omitted.
    tie_rtol, eval_rtol : float
        Switching threshold and robust-evaluation accuracy (relative to ``1 + max|v|``).

    Returns
    -------
    RobustResult
        ``v`` (S,) the midpoint of the MacQueen-Porteus bracket of :math:`v^*_{\mathcal U}` from
        one robust backup of the last evaluated value, ``v_error_bound`` its half-width;
        ``v_iterate`` the last robust evaluation :math:`v_k` (also ``v_policy_robust``); ``q``
        the robust q-values at :math:`v_k`; ``residuals`` :math:`\|T_{\mathcal U}v_k - v_k\|_\infty`
        per step; ``n_changed``, ``n_eval_iter``; ``P_worst`` nature's rows at :math:`v_k`.

    Raises
    ------
    InvalidMDPError
        If ``gamma >= 1``.
    InvalidArgumentError, InvalidPolicyError
        Bad arguments or ``policy0``.
    NotImplementedError
        s-rectangular sets; ``kind="cvxpy"``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.

    References
    ----------
    .. [1] G. N. Iyengar, "Robust dynamic programming", Math. Oper. Res. 30(2), 2005.
    """
    t0 = time.perf_counter()
    ctx = RobustContext(mdp, uncertainty)
    if ctx.s_rect:
        raise NotImplementedError("robust_policy_iteration handles sa-rectangular sets; s-rectangular optimal "
                                  "policies are randomized: use robust_value_iteration or "
                                  "robust_partial_policy_iteration")
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    tie_rtol = check_positive(tie_rtol, "tie_rtol", allow_zero=True)
    eval_rtol = check_positive(eval_rtol, "eval_rtol")
    S = ctx.S
    pi = initial_policy(ctx.mdp, policy0)
    if pi is None:
        pi = np.argmax(np.where(ctx.mdp.action_mask, ctx.mdp.R, -np.inf), axis=1).astype(np.int64)
    residuals, changed, n_eval = [], [], []
    converged = False
    pw = None
    for it in range(max_iter):
        v, pw, ne, eres, _ = ctx.evaluate(pi, rtol=eval_rtol, pw=pw)
        n_eval.append(ne)
        Tv, best, q, _ = ctx.greedy(v)
        cur = q[np.arange(S), pi]
        d = Tv - v
        residuals.append(float(np.abs(d).max()))
        switch = q[np.arange(S), best] > cur + tie_rtol * (1.0 + np.abs(v).max())
        changed.append(int(switch.sum()))
        if not switch.any():
            converged = True
            break
        if it == max_iter - 1:
            break
        pi = np.where(switch, best, pi).astype(np.int64)
    lo, hi = bounds.macqueen_bounds(gamma, Tv, d.min(), d.max())
    v_mid, v_err = bracket_midpoint(lo, hi)
    vr = np.array(v, dtype=np.float64)
    vr.flags.writeable = False
    return build_result(
        ctx.mdp, cls=RobustResult, v=v_mid, v_error_bound=v_err, policy=pi,
        certificate=robust_pi_bound(gamma, residuals[-1], eres), converged=converged, n_iter=len(residuals),
        residuals=np.asarray(residuals), method="robust_policy_iteration",
        options=dict(max_iter=max_iter, tie_rtol=tie_rtol, eval_rtol=eval_rtol, policy0_given=policy0 is not None,
                     uncertainty=str(ctx.us)),
        t0=t0, q=q, v_iterate=v, v_lower=lo, v_upper=hi, n_changed=np.asarray(changed, dtype=np.int64),
        n_eval_iter=np.asarray(n_eval, dtype=np.int64),
        _worst=(vr, ctx.pw_to_kernel(pw), None, robust_evaluation_bound(gamma, eres).value), **ctx.common_fields(),
    )


def robust_modified_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    m: int = 20,
    max_iter: int = 100_000,
    v0=None,
) -> RobustResult:
    r"""Robust modified policy iteration (Kaufman & Schaefer 2013), sa-rectangular sets.

    Each iteration is one robust improvement backup :math:`u_0 = T_{\mathcal U}v_k` (greedy
    :math:`\pi_k`) followed by ``m`` robust evaluation sweeps :math:`u_{j+1} = T_{\pi_k,\mathcal U}u_j`
    (each solving the inner problems); :math:`v_{k+1} = u_m`.  ``m = 0`` is robust VI.  With the
    default :math:`v_0 = \min R/(1-\gamma)`, :math:`T v_0 \ge v_0` and the iterates increase
    monotonically to :math:`v^*_{\mathcal U}` (Kaufman & Schaefer 2013, convergence of exact
    RMPI; theorem number not checked).  Stops when
    :math:`\operatorname{sp}(T_{\mathcal U}v_k - v_k) < \varepsilon(1-\gamma)/\gamma`; the greedy
    policy then has the certified robust suboptimality
    :math:`\frac{\gamma}{1-\gamma}\operatorname{sp}(T_{\mathcal U}v_k - v_k) < \varepsilon`, and
    :math:`v^*_{\mathcal U}` lies in the MacQueen-Porteus bracket of that backup.

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR; requires ``gamma < 1``.
    uncertainty : UncertaintySet or str
        sa-rectangular set.
    epsilon : float, default 1e-6
    m : int, default 20
        Robust evaluation sweeps per iteration.
    max_iter : int, default 100_000
        Improvement steps (each costs ``1 + m`` sweeps).
    v0 : array_like of float, shape (S,), optional
        If given, convergence is guaranteed when :math:`T_{\mathcal U}v_0 \ge v_0`.

    Returns
    -------
    RobustResult
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
    t0 = time.perf_counter()
    ctx = RobustContext(mdp, uncertainty)
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
        v = _wv(initial_v(ctx.mdp, v0))
    S, A = ctx.S, ctx.A
    q = np.empty(S * A)
    v_new = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    residuals = np.empty(max_iter)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    n, converged = rk.robust_mpi_loop(ctx.args, ctx.uset, gamma, v, (float(tol), int(m), int(max_iter)),
                                      (q, v_new, pi, residuals, spans, dmm), _DUMMY_PW, ctx.work)
    if not converged:
        q = ctx.q_backup(v)
        bellman.greedy_max(ctx.args, q, v_new, pi)
        d = v_new - v
        dmm[:] = d.min(), d.max()
        v = v_new.copy()
    return _finish(ctx, v_iterate=v, v_next=v, pi=pi, q=q.reshape(S, A), dmin=dmm[0], dmax=dmm[1], n=n,
                   converged=converged, residuals=residuals[:n].copy(), spans=spans[:n].copy(),
                   method="robust_modified_policy_iteration",
                   options=dict(epsilon=epsilon, m=m, max_iter=max_iter, tol=tol, v0_given=v0 is not None,
                                uncertainty=str(ctx.us)),
                   t0=t0)


def robust_partial_policy_iteration(
    mdp: TabularMDP,
    uncertainty,
    *,
    epsilon: float = 1e-6,
    max_iter: int = 1000,
    eval_tol0: float | None = None,
    eval_decay: float | None = None,
    v0=None,
) -> RobustResult:
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
    are randomized and nature's response splits the state budget (L1: exact knapsack; Linf, L2,
    KL: bisection on the budget multiplier).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR; requires ``gamma < 1``.
    uncertainty : UncertaintySet or str
    epsilon : float, default 1e-6
    max_iter : int, default 1000
        Improvement steps.
    eval_tol0 : float, optional
        First evaluation tolerance :math:`\epsilon_1`; default ``max|R| / (1 - gamma)``.
    eval_decay : float in (0, 1), optional
        Geometric decay of the tolerances; default ``gamma`` (or 0.5 if ``gamma == 0``).
    v0 : array_like of float, shape (S,), optional
        Only used to pick the first greedy policy (default zeros).

    Returns
    -------
    RobustResult
        ``v`` the midpoint of the MacQueen-Porteus bracket of :math:`v^*_{\mathcal U}` from the
        last robust backup, ``v_error_bound`` its half-width, ``v_iterate`` that backup;
        ``residuals``/``spans`` of :math:`T_{\mathcal U}v_k - v_k`; ``n_eval_iter`` nature's PI
        steps per iteration; ``budget`` (s-rectangular) nature's split in the last backup;
        ``P_worst`` and ``v_policy_robust`` on first access.

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
    t0 = time.perf_counter()
    ctx = RobustContext(mdp, uncertainty)
    gamma = check_gamma(ctx.mdp.gamma, allow_one=False)
    epsilon, max_iter = check_common(epsilon, max_iter)
    tol = bounds.span_stopping_tol(epsilon, gamma)
    scale = max(float(np.abs(ctx.mdp.R).max()), 1e-12) / (1.0 - gamma)
    eps_k = scale if eval_tol0 is None else check_positive(eval_tol0, "eval_tol0")
    c = (gamma if gamma > 0 else 0.5) if eval_decay is None else float(eval_decay)
    if not (0.0 < c < 1.0):
        raise InvalidArgumentError(f"eval_decay must lie in (0, 1), got {eval_decay!r}")
    v = initial_v(ctx.mdp, v0)
    residuals, spans, n_eval = [], [], []
    converged = False
    pw = None
    Tv, pi, q, xi = ctx.greedy(v)
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
        v_e, pw, ne, _, _ = ctx.evaluate(pi, rtol=(1.0 - gamma) * eps_k / (1.0 + np.abs(v).max()) + 1e-300, pw=pw)
        n_eval.append(ne)
        eps_k *= c
        v = v_e
        Tv, pi, q, xi = ctx.greedy(v)
    d = Tv - v
    return _finish(ctx, v_iterate=Tv, v_next=Tv, pi=pi, q=q, dmin=d.min(), dmax=d.max(), n=n, converged=converged,
                   residuals=np.asarray(residuals), spans=np.asarray(spans),
                   method="robust_partial_policy_iteration",
                   options=dict(epsilon=epsilon, max_iter=max_iter, tol=tol, eval_tol0=eval_tol0, eval_decay=c,
                                v0_given=v0 is not None, uncertainty=str(ctx.us)),
                   t0=t0, n_eval_iter=np.asarray(n_eval, dtype=np.int64), budget=xi)

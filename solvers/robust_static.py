r"""Static (non-rectangular) robust MDPs, IWOCS, and the regularized view of ball-robust MDPs.

Static uncertainty
    In the *static* model nature picks one kernel for the whole run; in the *dynamic* model
    (the rectangular robust MDPs of :mod:`mdpkit.solvers.robust`) it may change the kernel at
    every step.  For a *finite scenario set* :math:`\{M_1, \dots, M_K\}` the static problem is

    .. math:: \max_\pi \min_k \; \mu_0^\top v^\pi_{M_k},

    a non-rectangular problem: optimal policies may need randomization and history in general,
    and computing them is NP-hard (Wiesemann, Kuhn & Rustem 2013, Sec. 3; theorem number not
    checked).  :func:`scenario_value` evaluates a stationary policy against the scenarios and
    :func:`static_robust_policy` returns the best *deterministic stationary* policy by
    enumeration (a lower bound on the static optimum over all policies).

IWOCS
    :func:`iwocs` (Zouitine, Geist & Rachelson 2024) solves an sa-rectangular robust MDP as a
    sequence of nominal problems on a growing finite set of worst-case kernels.

Regularized view
    :func:`regularized_bellman_operator` and :func:`regularized_value_iteration` implement the
    robustness-regularization equivalence for sa-rectangular norm balls (Derman, Geist & Mannor
    2021; with the sum-to-one constraint, Kumar, Derman, Geist, Levy & Mannor 2022).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from dataclasses import dataclass

import numpy as np

from mdpkit._exceptions import ConvergenceWarning, InvalidArgumentError, InvalidMDPError
from mdpkit._validation import check_gamma, check_int, check_positive
from mdpkit.bounds.dp import greedy_loss_v, vi_a_posteriori_bound, vi_norm_stopping_tol
from mdpkit.model import TabularMDP
from mdpkit.policies import policy_evaluation, q_from_v
from mdpkit.results import SolveResult, ResultRecord

from ._common import build_result, check_mdp, initial_v, user_stacklevel
from .discounted import policy_iteration
from .robust import RobustContext, robust_policy_evaluation

__all__ = [
    "IWOCSResult",
    "RegularizedBackup",
    "RegularizedVIResult",
    "ScenarioValue",
    "StaticPolicyResult",
    "iwocs",
    "regularized_bellman_operator",
    "regularized_value_iteration",
    "scenario_value",
    "static_robust_policy",
]


# --------------------------------------------------------------------------------------------
# finite scenario sets (static uncertainty)
# --------------------------------------------------------------------------------------------


def _check_scenarios(mdp_list, mu0):
    if isinstance(mdp_list, TabularMDP) or not hasattr(mdp_list, "__len__") or len(mdp_list) == 0:
        raise InvalidArgumentError("mdp_list must be a non-empty sequence of TabularMDP")
    models = list(mdp_list)
    for k, m in enumerate(models):
        if not isinstance(m, TabularMDP):
            raise InvalidArgumentError(f"mdp_list[{k}] is {type(m).__name__}, expected TabularMDP")
    m0 = models[0]
    check_gamma(m0.gamma, allow_one=False)
    for k, m in enumerate(models[1:], start=1):
        if (m.S, m.A) != (m0.S, m0.A):
            raise InvalidMDPError(f"mdp_list[{k}] has (S, A) = ({m.S}, {m.A}); mdp_list[0] has ({m0.S}, {m0.A})")
        if m.gamma != m0.gamma:
            raise InvalidMDPError(f"mdp_list[{k}] has gamma = {m.gamma}; mdp_list[0] has {m0.gamma}")
        if not np.array_equal(m.action_mask, m0.action_mask):
            raise InvalidMDPError(f"mdp_list[{k}] has another action_mask than mdp_list[0]")
    if mu0 is None:
        mu = m0.mu0
    else:
        mu = np.asarray(mu0, dtype=float)
        if mu.shape != (m0.S,) or not np.all(np.isfinite(mu)) or np.any(mu < 0) or abs(mu.sum() - 1) > 1e-8:
            raise InvalidArgumentError(f"mu0 must be a distribution of shape ({m0.S},), got {mu0!r}")
    return models, np.asarray(mu, dtype=float)


@dataclass(frozen=True, eq=False, repr=False)
class ScenarioValue(ResultRecord):
    r"""Result of :func:`scenario_value`.

    Attributes
    ----------
    value : float
        Static worst-case value :math:`\min_k \mu_0^\top v^\pi_{M_k}` (reward units).
    scenario_values : ndarray of float64, shape (K,)
        :math:`\mu_0^\top v^\pi_{M_k}` for every scenario.
    worst_scenario : int
        Nature's choice ``argmin_k`` (lowest index on ties).
    """

    value: float
    scenario_values: np.ndarray
    worst_scenario: int


def scenario_value(mdp_list, policy, *, mu0=None) -> ScenarioValue:
    r"""Static worst-case value of a stationary policy over a finite scenario set.

    .. math:: J(\pi) = \min_{k} \; \mu_0^\top v^\pi_{M_k},\qquad
              v^\pi_{M_k} = (I - \gamma P^k_\pi)^{-1} r^k_\pi

    (nature picks one model :math:`M_k` for the whole run; exact policy evaluation, Puterman
    1994, Thm 6.1.1).

    Parameters
    ----------
    mdp_list : sequence of TabularMDP
        Scenarios with one ``S``, ``A``, ``gamma < 1`` and ``action_mask``; ``P`` and ``R`` may
        differ.
    policy : array_like, (S,) int or (S, A) float
        Stationary policy, valid for every scenario.
    mu0 : array_like (S,), optional
        Initial distribution; ``mdp_list[0].mu0`` if omitted.

    Returns
    -------
    ScenarioValue
        ``value`` :math:`\min_k \mu_0^\top v^\pi_{M_k}`, ``scenario_values`` (K,) float64 every
        :math:`\mu_0^\top v^\pi_{M_k}`, ``worst_scenario`` nature's choice.

    Raises
    ------
    InvalidArgumentError, InvalidMDPError, InvalidPolicyError
    """
    models, mu = _check_scenarios(mdp_list, mu0)
    vals = np.array([float(mu @ policy_evaluation(m, policy)) for m in models])
    vals.flags.writeable = False
    return ScenarioValue(float(vals.min()), vals, int(np.argmin(vals)))


@dataclass(frozen=True, eq=False, repr=False)
class StaticPolicyResult(ResultRecord):
    r"""Result of :func:`static_robust_policy`.

    Attributes
    ----------
    policy : ndarray of int64, shape (S,)
        The best deterministic stationary policy (first in lexicographic order on ties).
    value : float
        Its static worst-case value :math:`\min_k \mu_0^\top v^\pi_{M_k}` (exact up to the LU solves).
    scenario_values : ndarray of float64, shape (K,)
        Its value in every scenario.
    n_policies : int
        Number of policies enumerated.
    """

    policy: np.ndarray
    value: float
    scenario_values: np.ndarray
    n_policies: int


def _batched_values(m: TabularMDP, mu: np.ndarray, pols: np.ndarray) -> np.ndarray:
    """mu0 . v^pi for a batch of deterministic policies (B, S) by batched LU."""
    P = m.P_dense()
    S = m.S
    B = pols.shape[0]
    rows = np.arange(S)
    P_pi = P[rows[None, :], pols]                      # (B, S, S)
    r_pi = m.R[rows[None, :], pols]                    # (B, S)
    M = np.eye(S)[None] - m.gamma * P_pi
    v = np.linalg.solve(M, r_pi[..., None])[..., 0]    # (B, S)
    return v @ mu if B else np.zeros(0)


def static_robust_policy(mdp_list, *, mu0=None, max_policies: int = 200_000,
                         batch: int = 4096) -> StaticPolicyResult:
    r"""Best deterministic stationary policy against a finite scenario set (static uncertainty).

    Computes :math:`\max_{\pi \in \Pi_{DS}} \min_k \mu_0^\top v^\pi_{M_k}` exactly by
    enumerating every deterministic stationary policy :math:`\pi \in \Pi_{DS}`
    (:math:`\prod_s |A_s|` of them), each evaluated exactly in every scenario.  Ties go to the
    first policy in lexicographic order.

    .. warning:: This is **not** the static robust optimum over all policies.  Against a finite
       (non-rectangular) scenario set the optimal policy may need randomization and history
       (Wiesemann, Kuhn & Rustem 2013, Sec. 3); the returned value is a lower bound on that
       optimum, and :math:`\min_k \mu_0^\top v^*_{M_k}` is an upper bound.  Computing the static
       robust optimum is NP-hard in general (same reference; theorem number not checked).

    Parameters
    ----------
    mdp_list : sequence of TabularMDP
        Scenarios as in :func:`scenario_value` (dense or CSR; densified internally).
    mu0 : array_like (S,), optional
    max_policies : int, default 200_000
        Refuse instances with more deterministic policies than this.
    batch : int, default 4096
        Policies evaluated per batched LU call.

    Returns
    -------
    StaticPolicyResult

    Raises
    ------
    InvalidArgumentError
        Bad inputs, or more than ``max_policies`` deterministic policies.

    Notes
    -----
    Cost: :math:`K \prod_s |A_s|` linear solves of size S, i.e. :math:`O(K A^S S^3)` time and
    :math:`O(\text{batch}\, S^2)` memory.  Use it for S up to about 8 with A = 3.
    """
    models, mu = _check_scenarios(mdp_list, mu0)
    max_policies = check_int(max_policies, "max_policies", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    mask = models[0].action_mask
    avail = [np.flatnonzero(mask[s]) for s in range(models[0].S)]
    n = int(np.prod([len(a) for a in avail], dtype=float))
    if n > max_policies:
        raise InvalidArgumentError(f"{n} deterministic policies exceed max_policies={max_policies}; "
                                   "static_robust_policy enumerates them all")
    best_val, best_pol, best_vals = -np.inf, None, None
    it = itertools.product(*avail)
    while True:
        chunk = list(itertools.islice(it, batch))
        if not chunk:
            break
        pols = np.asarray(chunk, dtype=np.int64)
        vals = np.stack([_batched_values(m, mu, pols) for m in models], axis=1)  # (B, K)
        worst = vals.min(axis=1)
        i = int(np.argmax(worst))
        if worst[i] > best_val:
            best_val, best_pol, best_vals = float(worst[i]), pols[i].copy(), vals[i].copy()
    for arr in (best_pol, best_vals):
        arr.flags.writeable = False
    return StaticPolicyResult(best_pol, best_val, best_vals, n)


# --------------------------------------------------------------------------------------------
# IWOCS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class IWOCSResult(ResultRecord):
    r"""Result of :func:`iwocs`.

    Not a :class:`~mdpkit.SolveResult`: its certificate is a gap on the scalar
    :math:`\mu_0^\top v^*_{\mathcal U}`, not a sup-norm bound.

    Attributes
    ----------
    policy : ndarray (S,) int64
        The policy with the best certified robust value seen (the lower bound).
    v_policy_robust : ndarray (S,)
        Its robust value :math:`v^\pi_{\mathcal U}` (nature's policy iteration), within
        ``v_policy_robust_error_bound`` (:func:`mdpkit.bounds.robust.robust_evaluation_bound`).
    kernels : list
        The worst-case kernels found, in the model's storage (dense (S, A, S) or CSR); the
        nominal kernel is ``kernels[0]``.
    lower, upper : ndarray (n_iter,)
        Per iteration: :math:`\mu_0^\top v^{\pi_i}_{\mathcal U}` (robust value of the current
        policy, a lower bound on the robust optimum) and the running
        :math:`\min_{j \le i} \mu_0^\top v^*_{T_j}` (an upper bound, by weak duality, since every
        :math:`T_j \in \mathcal U`).  ``lower`` is not monotone; ``upper`` is.
    converged : bool
        True when ``upper[-1] - best lower <= epsilon``.
    n_iter : int
    options : dict
    wall_time : float
    v_policy_robust_error_bound : float
    """

    policy: np.ndarray
    v_policy_robust: np.ndarray
    kernels: list
    lower: np.ndarray
    upper: np.ndarray
    converged: bool
    n_iter: int
    options: dict
    wall_time: float = 0.0
    v_policy_robust_error_bound: float = 0.0

    @property
    def gap(self) -> float:
        """Certified gap ``upper[-1] - max(lower)`` on the robust optimum at mu0."""
        return float(self.upper[-1] - self.lower.max())


def iwocs(mdp: TabularMDP, uncertainty, *, epsilon: float = 1e-8, max_iter: int = 200,
          mu0=None) -> IWOCSResult:
    r"""IWOCS: incremental worst-case search (Zouitine, Geist & Rachelson 2024).

    Keeps a finite set :math:`\{T_0, \dots, T_i\} \subset \mathcal U` of kernels, starting with
    the nominal :math:`T_0`.  Iteration *i*:

    1. solve the nominal MDP :math:`T_i` exactly (policy iteration) for :math:`Q^*_{T_i}`;
    2. the policy :math:`\pi_i` is greedy for :math:`Q_i = \min_{j \le i} Q^*_{T_j}` (the
       paper's static step on the current finite set);
    3. nature's best response: :math:`T_{i+1}` = the worst-case kernel of :math:`\pi_i`, i.e.
       every row :math:`(s, a)` minimises :math:`p^\top v^{\pi_i}_{\mathcal U}` over
       :math:`\mathcal U_{s,a}` (:func:`mdpkit.solvers.robust.robust_policy_evaluation`);
       add it to the set.

    Certificates (independent of how the policy is chosen): :math:`\mu_0^\top
    v^{\pi_i}_{\mathcal U}` is a lower bound on the robust optimum :math:`\mu_0^\top
    v^*_{\mathcal U}`, and :math:`\min_j \mu_0^\top v^*_{T_j}` an upper bound (weak duality:
    :math:`\max_\pi\min_T \le \min_T\max_\pi`).  Stops when upper - lower <= ``epsilon``.  For
    sa-rectangular sets the static and dynamic robust values of stationary policies coincide
    and there is no duality gap, :math:`v^*_{\mathcal U} = \min_{T\in\mathcal U} v^*_T`
    (Iyengar 2005, Nilim & El Ghaoui 2005; the IWOCS paper, Sec. 3, builds on both -- statement
    read from the paper's abstract and overview, theorem numbers not checked); once
    :math:`\pi_i` is robust-optimal the kernel added in step 3 attains the upper bound (its rows
    minimise at :math:`v^*_{\mathcal U}` for *every* action, so :math:`v^*_{\mathcal U}` is the
    nominal optimal value of that kernel), and the gap closes.  No finite-step convergence
    guarantee is claimed (the paper gives none); ``max_iter`` bounds the run.  The lower bound
    is exact up to the robust-evaluation tolerance (``1e-10`` relative,
    :func:`mdpkit.bounds.robust.robust_evaluation_bound`), so the reported gap may be slightly
    negative (about ``1e-9``).

    Parameters
    ----------
    mdp : TabularMDP
        Nominal model, ``gamma < 1``.
    uncertainty : UncertaintySet or str
        An sa-rectangular set accepted by :mod:`mdpkit.solvers.robust` (e.g. ``"l1:0.2"``,
        ``"kl:0.1"``).
    epsilon : float, default 1e-8
        Target certified gap at ``mu0`` (reward units).
    max_iter : int, default 200
    mu0 : array_like (S,), optional
        Initial distribution; ``mdp.mu0`` if omitted.

    Returns
    -------
    IWOCSResult

    Raises
    ------
    InvalidMDPError, InvalidArgumentError
    NotImplementedError
        For s-rectangular sets (nature's response there depends on a randomized policy).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached with gap > ``epsilon``.

    References
    ----------
    .. [1] A. Zouitine, M. Geist, E. Rachelson, "Solving robust MDPs as a sequence of static RL
       problems", arXiv:2410.06212, 2024.
    .. [2] G. N. Iyengar, "Robust dynamic programming", Math. Oper. Res. 30(2), 2005.
    """
    check_mdp(mdp)
    ctx = RobustContext(mdp, uncertainty)
    if ctx.s_rect:
        raise NotImplementedError("iwocs handles sa-rectangular sets")
    check_gamma(mdp.gamma, allow_one=False)
    epsilon = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    _, mu = _check_scenarios([mdp], mu0)
    t0 = time.perf_counter()
    kernels = [mdp.P]
    Qmin = None
    lower, upper = [], []
    best = (-np.inf, None, None, np.inf)
    converged = False
    up = np.inf
    i = 0
    for i in range(1, max_iter + 1):
        Ti = dataclasses.replace(mdp, P=kernels[-1], R=mdp.R, R_sas=None)
        res = policy_iteration(Ti)
        Qi = q_from_v(Ti, res.v_policy)
        Qmin = Qi if Qmin is None else np.minimum(Qmin, Qi)
        up = min(up, float(mu @ res.v_policy))
        pi = np.argmax(Qmin, axis=1).astype(np.int64)   # masked actions hold -inf
        ev = robust_policy_evaluation(mdp, pi, ctx.us)
        v_rob, P_w = ev.v, ev.P_worst
        lo = float(mu @ v_rob)
        if lo > best[0]:
            best = (lo, pi, v_rob, ev.v_error_bound)
        lower.append(lo)
        upper.append(up)
        if up - best[0] <= epsilon:
            converged = True
            break
        kernels.append(P_w)
    if not converged:
        warnings.warn(f"iwocs: max_iter={max_iter} reached with certified gap {up - best[0]:.3g} > "
                      f"epsilon={epsilon:g}", ConvergenceWarning, stacklevel=user_stacklevel())
    lower, upper = np.asarray(lower), np.asarray(upper)
    for arr in (lower, upper):
        arr.flags.writeable = False
    return IWOCSResult(policy=best[1], v_policy_robust=best[2], kernels=kernels, lower=lower, upper=upper,
                       converged=converged, n_iter=i,
                       options=dict(epsilon=epsilon, max_iter=max_iter, uncertainty=str(ctx.us),
                                    mu0_given=mu0 is not None),
                       wall_time=time.perf_counter() - t0, v_policy_robust_error_bound=float(best[3]))


# --------------------------------------------------------------------------------------------
# regularized view of sa-rectangular ball-robust MDPs
# --------------------------------------------------------------------------------------------

_NORMS = ("l1", "l2", "linf")


@dataclass(frozen=True, eq=False, repr=False)
class RegularizedBackup(ResultRecord):
    """One regularized backup (:func:`regularized_bellman_operator`).

    Attributes
    ----------
    v : ndarray of float64, shape (S,)
    policy : ndarray of int64, shape (S,)
        Greedy (lowest index on ties).
    q : ndarray of float64, shape (S, A)
        Regularized q-values (``-inf`` on masked actions).
    penalty : ndarray of float64, shape (S, A)
        The value-dependent term :math:`\\beta_{s,a}\\,\\kappa_{s,a}(v)`.
    exact : bool
        Whether the sufficient condition for equality with the robust operator holds.
    """

    v: np.ndarray
    policy: np.ndarray
    q: np.ndarray
    penalty: np.ndarray
    exact: bool


def _dual_term(v: np.ndarray, norm: str, constraint: str) -> float:
    """kappa(v): ||v||_q (constraint 'none') or min_w ||v - w 1||_q (constraint 'sum')."""
    if v.size == 0:
        return 0.0
    if constraint == "none":
        return float({"l1": np.abs(v).max(), "l2": np.sqrt(v @ v), "linf": np.abs(v).sum()}[norm])
    if norm == "l1":      # dual linf: min_w max|v - w| = (max - min) / 2
        return 0.5 * float(v.max() - v.min())
    if norm == "l2":      # dual l2: w = mean
        d = v - v.mean()
        return float(np.sqrt(d @ d))
    return float(np.abs(v - np.median(v)).sum())  # dual l1: w = median


def _reg_args(mdp, beta, alpha, norm, constraint, support):
    if norm not in _NORMS:
        raise InvalidArgumentError(f"norm must be one of {_NORMS}, got {norm!r}")
    if constraint not in ("sum", "none"):
        raise InvalidArgumentError(f"constraint must be 'sum' or 'none', got {constraint!r}")
    if support not in ("nominal", "simplex"):
        raise InvalidArgumentError(f"support must be 'nominal' or 'simplex', got {support!r}")
    S, A = mdp.S, mdp.A
    out = []
    for name, x in (("beta", beta), ("alpha", alpha)):
        r = np.asarray(x, dtype=float)
        if r.ndim == 0:
            r = np.full((S, A), float(r))
        if r.shape != (S, A):
            raise InvalidArgumentError(f"{name} must be a scalar or have shape (S, A) = ({S}, {A}), got {r.shape}")
        if not np.all(np.isfinite(r)) or np.any(r < 0):
            raise InvalidArgumentError(f"{name} must be finite and >= 0")
        out.append(r)
    return out


def _reg_setup(mdp, beta, alpha, norm, constraint, support):
    beta, alpha = _reg_args(mdp, beta, alpha, norm, constraint, support)
    P = mdp.P_dense()
    S, A = mdp.S, mdp.A
    mask = mdp.action_mask
    supp = np.ones_like(P, dtype=bool) if support == "simplex" else P > 0
    exact = constraint == "sum"
    worst_l1 = 0.0  # max ||q + d||_1 over the relaxed set, for the contraction modulus
    for s in range(S):
        for a in range(A):
            if not mask[s, a]:
                continue
            n = int(supp[s, a].sum())
            qmin = float(P[s, a][supp[s, a]].min())
            if beta[s, a] > qmin:
                exact = False
            c = {"l1": 1.0, "l2": np.sqrt(n), "linf": float(n)}[norm]
            worst_l1 = max(worst_l1, 1.0 + beta[s, a] * c)
    return beta, alpha, P, supp, exact, worst_l1


def _reg_q(mdp, v, beta, alpha, P, supp, norm, constraint):
    S, A = mdp.S, mdp.A
    mask = mdp.action_mask
    pen = np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            if mask[s, a] and beta[s, a] > 0:
                pen[s, a] = beta[s, a] * _dual_term(v[supp[s, a]], norm, constraint)
    q = mdp.R - alpha + mdp.gamma * (P @ v - pen)
    q = np.where(mask, q, -np.inf)
    return q, pen


def regularized_bellman_operator(mdp: TabularMDP, v, beta, *, norm: str = "l1", alpha=0.0,
                                 constraint: str = "sum", support: str = "simplex") -> RegularizedBackup:
    r"""Regularized Bellman operator equivalent to an sa-rectangular ball-robust operator.

    .. math:: (T v)(s) = \max_a \; R(s,a) - \alpha_{s,a} + \gamma\big(P(\cdot|s,a)^\top v
              - \beta_{s,a}\,\kappa(v)\big)

    with :math:`\kappa(v) = \|v\|_{q}` for ``constraint="none"`` and
    :math:`\kappa(v) = \min_{\omega\in\mathbb R}\|v - \omega\mathbf 1\|_{q}` for
    ``constraint="sum"``, :math:`q` the dual exponent of ``norm`` (l1 -> linf: half the range;
    l2 -> l2 around the mean; linf -> l1 around the median), :math:`v` restricted to the allowed
    next states (``support``).

    Equivalence (what is exact, and when):

    * ``constraint="none"``: Derman, Geist & Mannor (2021), sa-rectangular case of their
      reward-and-transition robust MDPs (Sec. 4; theorem number not checked against the paper,
      whose full text was not available to us): uncertainty set
      :math:`(r_0 + \mathcal R) \times (P_0 + \mathcal P)` with
      :math:`\mathcal R_{s,a} = [-\alpha_{s,a}, \alpha_{s,a}]` and
      :math:`\mathcal P_{s,a} = \{d : \|d\|_p \le \beta_{s,a}\}` -- perturbed rows need *not*
      be distributions.  The formula is then exact for every ``v`` by Hölder's inequality;
      no mdpkit set models it (mdpkit's sets stay in the simplex).
    * ``constraint="sum"``: the ball intersected with :math:`\mathbf 1^\top d = 0` (Kumar,
      Derman, Geist, Levy & Mannor 2022, sa-rectangular Lp case; theorem number not checked).
      This is mdpkit's ``"l1"`` / ``"l2"`` / ``"linf"`` set with the same ``support``, *without*
      the constraint :math:`p \ge 0`, so ``T v <= robust_bellman_operator(...).v`` always, with
      equality for every ``v`` when :math:`\beta_{s,a} \le \min_{s' \in \mathrm{supp}} P(s'|s,a)`
      for all available (s, a) (``exact=True``): the minimiser has entries of modulus at most
      :math:`\beta_{s,a}`, so it stays non-negative.

    The reward part (:math:`-\alpha`) is Derman et al.'s sa-rectangular reward ball; mdpkit's
    uncertainty sets do not model reward uncertainty, so only the transition part is checked
    against :mod:`mdpkit.solvers.robust` (the reward part is checked by enumerating the box
    vertices in the tests).

    Parameters
    ----------
    mdp : TabularMDP
        Dense or CSR (densified).
    v : array_like (S,)
    beta : float or ndarray (S, A)
        Transition radius :math:`\beta \ge 0` (mdpkit's ``radius``).
    norm : {"l1", "l2", "linf"}
        The ball's norm :math:`\|\cdot\|_p`.
    alpha : float or ndarray (S, A), default 0
        Reward radius :math:`\alpha \ge 0`.
    constraint : {"sum", "none"}
    support : {"simplex", "nominal"}
        Next states nature may perturb: all, or those with ``P > 0`` (mdpkit's support semantics).

    Returns
    -------
    RegularizedBackup

    Raises
    ------
    InvalidArgumentError, InvalidMDPError

    References
    ----------
    .. [1] E. Derman, M. Geist, S. Mannor, "Twice regularized MDPs and the equivalence between
       robustness and regularization", NeurIPS 2021.
    .. [2] N. Kumar, E. Derman, M. Geist, K. Levy, S. Mannor, "Policy gradient for rectangular
       robust Markov decision processes" / "Efficient policy iteration for robust MDPs via
       regularization", arXiv:2205.14327, 2022.
    """
    check_mdp(mdp)
    vv = initial_v(mdp, v)
    beta, alpha, P, supp, exact, _ = _reg_setup(mdp, beta, alpha, norm, constraint, support)
    q, pen = _reg_q(mdp, vv, beta, alpha, P, supp, norm, constraint)
    pi = np.argmax(q, axis=1).astype(np.int64)
    return RegularizedBackup(q[np.arange(mdp.S), pi], pi, q, pen, bool(exact))


@dataclass(frozen=True, eq=False, repr=False)
class RegularizedVIResult(SolveResult):
    r"""Result of :func:`regularized_value_iteration` (a :class:`~mdpkit.SolveResult`).

    ``v`` (S,) the last iterate, an estimate of the regularized fixed point :math:`v^*_{reg}`
    (the robust :math:`v^*_{\mathcal U}` when ``exact``) with the certified ``v_error_bound``
    on :math:`\|v - v^*_{reg}\|_\infty`; ``certificate`` bounds the suboptimality of the greedy
    ``policy`` for the regularized operator; ``v_policy`` is its nominal value (lazy).

    Attributes
    ----------
    modulus : float
        The contraction modulus :math:`\gamma'` used in the bounds.
    exact : bool
        The regularized and robust operators coincide (see :func:`regularized_bellman_operator`).
    """

    modulus: float = float("nan")
    exact: bool = False


def regularized_value_iteration(mdp: TabularMDP, beta, *, norm: str = "l1", alpha=0.0, constraint: str = "sum",
                                 support: str = "simplex", epsilon: float = 1e-8, max_iter: int = 100_000,
                                 v0=None) -> RegularizedVIResult:
    r"""Value iteration with :func:`regularized_bellman_operator` (the R^2-MDP view of ball-robust MDPs).

    The operator is a max over actions of :math:`v \mapsto c + \gamma \min_{d} (P_{s,a}+d)^\top v`
    over the (relaxed) ball, hence a contraction of modulus
    :math:`\gamma' = \gamma \max_{s,a} \max_d \|P_{s,a}+d\|_1`; :math:`\gamma' = \gamma` when
    ``exact`` (then the perturbed rows are distributions and the fixed point is the robust
    optimal value :math:`v^*_{\mathcal U}` of mdpkit's set), else the bound
    :math:`\gamma(1 + \beta_{\max} n^{1-1/p})` is used.  Stops when
    :math:`\|v_{k+1}-v_k\|_\infty < \varepsilon(1-\gamma')/(2\gamma')`; then
    :math:`\|v_{k+1} - v^*\|_\infty \le \frac{\gamma'}{1-\gamma'}\|v_{k+1}-v_k\|_\infty`
    (Puterman 1994, Thm 6.3.1 (proof of (c)), for any contraction).

    Parameters
    ----------
    mdp, beta, norm, alpha, constraint, support
        As :func:`regularized_bellman_operator`.
    epsilon : float, default 1e-8
    max_iter : int, default 100_000
    v0 : array_like (S,), optional

    Returns
    -------
    RegularizedVIResult
        ``v`` (S,) float64 the last iterate :math:`v_{k+1}`, ``v_error_bound``
        :math:`= \frac{\gamma'}{1-\gamma'}\|v_{k+1}-v_k\|_\infty` (certified distance to the
        fixed point); ``policy`` (S,) int64 greedy for ``v``, ``q`` (S, A) its backup;
        ``certificate`` :math:`\frac{2\gamma'}{1-\gamma'}` ``v_error_bound`` on the policy's
        suboptimality for the regularized operator (Singh & Yee 1994, valid for any
        :math:`\gamma'`-contraction of this max-over-actions form,
        :func:`mdpkit.bounds.greedy_loss_v`); ``modulus`` :math:`\gamma'`; ``exact``.

    Raises
    ------
    InvalidArgumentError
        Bad arguments, or :math:`\gamma' \ge 1` (the relaxed operator need not contract).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached first.
    """
    t0 = time.perf_counter()
    check_mdp(mdp)
    gamma = check_gamma(mdp.gamma, allow_one=False)
    epsilon = check_positive(epsilon, "epsilon")
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    beta_arg = beta if np.ndim(beta) == 0 else "array"
    alpha_arg = alpha if np.ndim(alpha) == 0 else "array"
    beta, alpha, P, supp, exact, worst_l1 = _reg_setup(mdp, beta, alpha, norm, constraint, support)
    g = gamma if exact else gamma * worst_l1
    if g >= 1.0:
        raise InvalidArgumentError(f"the relaxed regularized operator has contraction bound gamma * max||P+d||_1 = "
                                   f"{g:.4g} >= 1; use a smaller beta (exact when beta <= min P on the support)")
    tol = vi_norm_stopping_tol(epsilon, g)
    v = initial_v(mdp, v0)
    res = []
    converged = False
    n = 0
    for n in range(1, max_iter + 1):
        q, _ = _reg_q(mdp, v, beta, alpha, P, supp, norm, constraint)
        v_new = q.max(axis=1)
        r = float(np.abs(v_new - v).max())
        res.append(r)
        v = v_new
        if r < tol:
            converged = True
            break
    q, _ = _reg_q(mdp, v, beta, alpha, P, supp, norm, constraint)
    pi = np.argmax(q, axis=1).astype(np.int64)
    v_err = vi_a_posteriori_bound(g, res[-1]).value
    return build_result(
        mdp, cls=RegularizedVIResult, v=v, v_error_bound=v_err, policy=pi, certificate=greedy_loss_v(g, v_err),
        converged=converged, n_iter=n, residuals=np.asarray(res), method="regularized_value_iteration",
        options=dict(beta=beta_arg, norm=norm, alpha=alpha_arg, constraint=constraint, support=support,
                     epsilon=epsilon, max_iter=max_iter, tol=tol, v0_given=v0 is not None),
        t0=t0, q=q, modulus=float(g), exact=bool(exact),
    )

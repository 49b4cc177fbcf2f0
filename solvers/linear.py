r"""Algorithms for linear MDPs, each checked against the exact tabular answer.

Planning / batch
    :func:`linear_exact_solution` (the oracle: backward induction or policy iteration on
    :meth:`~mdpkit.linear.LinearMDP.to_tabular`), :func:`lsvi` (least-squares value iteration,
    finite horizon), :func:`fitted_q_iteration` (discounted), both with a pluggable
    scikit-learn-compatible regressor (:class:`RidgeRegressor` by default) and an exact-backup
    mode; :func:`mdvi` (mirror-descent VI with KL and entropy regularisation, tabular or linear).
Online
    :func:`lsvi_ucb` (Jin, Yang, Wang & Jordan 2020) with per-stage sufficient statistics in a
    Numba loop (:mod:`mdpkit._kernels.linear`) and the exact regret of every executed policy.
Reward-free
    :func:`reward_free_exploration` (HF-UCRL-RFE++, Zhang, Zhang & Gu 2023) on linear mixture MDPs:
    exploration without rewards, then :meth:`RewardFreeResult.plan` for any reward with total <= 1,
    its suboptimality computed exactly on the true model.

Finite-horizon conventions: stages ``h = 0 .. H-1``; ``v (H+1, S)`` with ``v[H] = 0``,
``q (H, S, A)``, policies ``(H, S)`` int64.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import linear as klin
from mdpkit._validation import check_int, check_positive
from mdpkit.bounds import Bound, BoundKind, greedy_span_bound
from mdpkit.bounds.linear import finite_horizon_adp_bound, lsvi_ucb_beta, lsvi_ucb_regret_bound
from mdpkit.linear import LinearMDP, TransitionData, check_finite_horizon, policy_q_values
from mdpkit.model import TabularMDP
from mdpkit.policies import policy_evaluation
from mdpkit.results import LearningResult, ResultRecord, SolveResult, learning_result

from ._common import build_result
from .discounted import policy_iteration
from .finite_horizon import backward_induction

__all__ = [
    "GOptimalDesign",
    "LSVIUCBResult",
    "LinearVIResult",
    "MDVIResult",
    "R2PVIResult",
    "RewardFreePlan",
    "RewardFreeResult",
    "RidgeRegressor",
    "VWLSMDVIResult",
    "fitted_q_iteration",
    "g_optimal_design",
    "linear_exact_solution",
    "lmc_lsvi",
    "lsvi",
    "lsvi_ucb",
    "mdvi",
    "mixture_plan",
    "r2pvi",
    "regularized_expectation",
    "reward_free_exploration",
    "vwls_mdvi",
]

NO_CERTIFICATE = "no certificate: sample-based estimate (compare with linear_exact_solution)"


def _no_bound(why: str = NO_CERTIFICATE) -> Bound:
    return Bound(math.inf, BoundKind.DETERMINISTIC, why)


def _check_lmdp(lmdp) -> LinearMDP:
    if not isinstance(lmdp, LinearMDP):
        raise InvalidArgumentError(f"expected a LinearMDP, got {type(lmdp).__name__}")
    return lmdp


# ============================================================================ exact oracle
def linear_exact_solution(lmdp: LinearMDP) -> SolveResult:
    r"""Exact optimal values and policy of a linear MDP (the oracle every learner is compared with).

    Finite horizon: :func:`mdpkit.solvers.backward_induction` on the stage models of
    :meth:`~mdpkit.linear.LinearMDP.to_tabular` (Puterman 1994, Thm 4.5.1), a
    :class:`~mdpkit.FiniteHorizonResult` with ``v (H+1, S)``, ``q (H, S, A)``, ``policy (H, S)``.
    Discounted: :func:`mdpkit.solvers.policy_iteration` (exact evaluation; Puterman 1994,
    Thm 6.4.2) on the tabular model.
    """
    _check_lmdp(lmdp)
    if lmdp.horizon is None:
        return policy_iteration(lmdp.to_tabular())
    return backward_induction(lmdp.to_tabular())


# ============================================================================ regression
class RidgeRegressor:
    r"""Ridge regression without intercept, :math:`w = (X^\top X + \alpha I)^{-1} X^\top y` (scikit-learn API).

    The default regressor of :func:`lsvi` and :func:`fitted_q_iteration`; equal to
    ``sklearn.linear_model.Ridge(alpha, fit_intercept=False)``.  ``alpha = 0`` gives the
    minimum-norm least-squares solution (``numpy.linalg.lstsq``).

    Parameters
    ----------
    alpha : float, default 1.0

    Attributes
    ----------
    coef_ : ndarray (d,)
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X (n, d)``, ``y (n,)``; returns ``self``."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if sample_weight is not None:
            sw = np.sqrt(np.asarray(sample_weight, dtype=np.float64))
            X, y = X * sw[:, None], y * sw
        a = check_positive(self.alpha, "alpha", allow_zero=True)
        if a == 0.0:
            self.coef_ = np.linalg.lstsq(X, y, rcond=None)[0]
        else:
            G = X.T @ X + a * np.eye(X.shape[1])
            self.coef_ = np.linalg.solve(G, X.T @ y)
        return self

    def predict(self, X):
        """``X @ coef_``."""
        return np.asarray(X, dtype=np.float64) @ self.coef_

    def get_params(self, deep=True):
        return {"alpha": self.alpha}

    def set_params(self, **params):
        for k, v in params.items():
            setattr(self, k, v)
        return self


def _fresh(regressor):
    try:
        from sklearn.base import clone

        return clone(regressor)
    except Exception:  # not an sklearn estimator (or sklearn missing): a deep copy is a fresh one
        return copy.deepcopy(regressor)


def _fit_predict(regressor, X, y, Xall):
    reg = _fresh(regressor)
    reg.fit(X, y)
    return np.asarray(reg.predict(Xall), dtype=np.float64).reshape(-1), getattr(reg, "coef_", None)


# ============================================================================ LSVI
@dataclass(frozen=True, eq=False, repr=False)
class LinearVIResult(SolveResult):
    """LSVI / FQI / MDVI on a linear model.

    Attributes
    ----------
    weights : ndarray (H, d) or (d,) or None
        Regression weights per stage (LSVI) or of the last iterate (FQI), when the regressor
        exposes ``coef_``.
    stage_errors : ndarray or None
        Exact-backup mode: sup-norm projection residual of every backup
        :math:`\\max_{s,a} |\\hat Q - (r + P \\hat V)|`, from which the certificate is built.
    exact_backups : bool
    """

    weights: np.ndarray | None = None
    stage_errors: np.ndarray | None = None
    exact_backups: bool = False


def _stage_data(data: TransitionData, lmdp: LinearMDP, h: int):
    m = data.h == h
    return data.s[m], data.a[m], data.r[m], data.s_next[m]


def lsvi(lmdp: LinearMDP, data: TransitionData | None = None, *, regressor=None, ridge: float = 1.0,
         exact_backups: bool = False, clip: bool = False) -> LinearVIResult:
    r"""Least-squares value iteration (finite horizon).

    For :math:`h = H-1, \dots, 0`: regress the targets :math:`y = r + \max_a \hat Q_{h+1}(s', a)` on
    :math:`\phi(s, a)` and set :math:`\hat Q_h = \phi^\top w_h` (Bradtke & Barto 1996; the
    backbone of Jin et al. 2020, Algorithm 1, without the bonus).  With ``exact_backups`` the
    targets are the exact backups :math:`r_h + P_h \hat V_{h+1}` at *every* ``(s, a)``, regressed
    with uniform weights (ordinary least squares when ``regressor`` is None): then on a linear
    MDP every target is linear in :math:`\phi` (Jin et al. 2020, Prop. 2.3, number not checked
    against the text) and LSVI returns :math:`Q^*` exactly; with one-hot features it *is* backward
    induction.

    Parameters
    ----------
    lmdp : LinearMDP (finite horizon)
    data : TransitionData, optional
        Transitions ``(h, s, a, r, s_next)``; required unless ``exact_backups``.
    regressor : scikit-learn-compatible regressor, optional
        Anything with ``fit(X, y)`` and ``predict(X)`` (cloned per stage); default
        :class:`RidgeRegressor` ``(ridge)`` on data, ``(0)`` (least squares) with exact backups.
    ridge : float, default 1.0
        Ridge parameter of the default regressor on data.
    exact_backups : bool
    clip : bool
        Clip :math:`\hat Q_h` to ``[0, H - h]`` (a practical knob for rewards in [0, 1]; off by default
        so the identities above hold).

    Returns
    -------
    LinearVIResult
        ``v`` (H+1, S) the estimate :math:`\hat V`, ``q`` (H, S, A), ``policy`` (H, S) greedy,
        ``v_policy`` its exact value at stage 0.  Exact backups: ``stage_errors`` (H,) and
        ``certificate`` :math:`2\sum_h\varepsilon_h` (:func:`mdpkit.bounds.linear.finite_horizon_adp_bound`),
        ``v_error_bound`` :math:`\sum_h \varepsilon_h`; with data, no certificate (``inf``).

    Raises
    ------
    InvalidArgumentError
        A discounted model; no data without ``exact_backups``; a dataset whose stages, states or
        actions are out of range (named); a stage with no data.
    """
    t0 = time.perf_counter()
    check_finite_horizon(lmdp)
    H, S, A, d = lmdp.horizon, lmdp.S, lmdp.A, lmdp.d
    if not exact_backups:
        if data is None:
            raise InvalidArgumentError("lsvi needs data (a TransitionData) unless exact_backups=True")
        if not isinstance(data, TransitionData):
            raise InvalidArgumentError(f"data must be a TransitionData, got {type(data).__name__}")
        data.check_against(lmdp)
    reg = regressor if regressor is not None else RidgeRegressor(0.0 if exact_backups else ridge)
    Phi = np.asarray(lmdp.phi).reshape(S * A, d)
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    W = np.full((H, d), np.nan)
    errs = np.zeros(H)
    for h in range(H - 1, -1, -1):
        if exact_backups:
            y = (lmdp.R[h] + lmdp.P[h] @ V[h + 1]).reshape(S * A)
            pred, coef = _fit_predict(reg, Phi, y, Phi)
            errs[h] = float(np.max(np.abs(pred - y)))
        else:
            s, a, r, s2 = _stage_data(data, lmdp, h)
            if s.size == 0:
                raise InvalidArgumentError(f"the dataset has no transition at stage h={h}")
            pred, coef = _fit_predict(reg, lmdp.phi[s, a], r + V[h + 1][s2], Phi)
        q = pred.reshape(S, A)
        if clip:
            q = np.clip(q, 0.0, float(H - h))
        Q[h] = q
        if coef is not None and np.shape(coef) == (d,):
            W[h] = coef
        V[h] = q.max(axis=1)
    policy = np.argmax(Q, axis=2).astype(np.int64)
    _, vpi = policy_q_values(lmdp, policy)
    if exact_backups and not clip:
        cert = finite_horizon_adp_bound(errs)
        vbound = float(errs.sum())
    else:
        cert, vbound = _no_bound(), math.inf
    return build_result(None, cls=LinearVIResult, v=V, v_error_bound=vbound, policy=policy, certificate=cert,
                        converged=True, n_iter=H, residuals=errs.copy(), method="lsvi",
                        options=dict(ridge=ridge, exact_backups=bool(exact_backups), clip=bool(clip),
                                     regressor=type(reg).__name__, n_data=None if data is None else data.n),
                        t0=t0, message=f"LSVI over H={H} stages", v_policy=vpi[0], q=Q, weights=W,
                        stage_errors=errs if exact_backups else None, exact_backups=bool(exact_backups))


# ============================================================================ FQI
def fitted_q_iteration(lmdp: LinearMDP, data: TransitionData | None = None, *, n_iter: int = 100, regressor=None,
                       ridge: float = 1.0, exact_backups: bool = False, q0=None) -> LinearVIResult:
    r"""Fitted Q-iteration on a discounted linear model (Ernst, Geurts & Wehenkel 2005; Munos & Szepesvari 2008).

    :math:`Q_{k+1} = \Pi_\phi\,(r + \gamma P \max_a Q_k)`, the projection being a regression on
    :math:`\phi` of sampled targets :math:`r + \gamma \max_a Q_k(s', a)` (data) or of the exact backup at
    every ``(s, a)`` (``exact_backups``).  With one-hot features and exact backups this is value
    iteration, iterate for iterate.

    Parameters
    ----------
    lmdp : LinearMDP (discounted)
    data : TransitionData, optional (required unless ``exact_backups``)
    n_iter : int, default 100
    regressor, ridge, exact_backups
        As :func:`lsvi`.
    q0 : array_like (S, A), optional (zeros)

    Returns
    -------
    LinearVIResult
        ``v`` (S,) :math:`\max_a Q_K`, ``q`` (S, A) :math:`Q_K`, ``policy`` greedy, ``residuals``
        :math:`\|Q_{k+1} - Q_k\|_\infty`.  With exact backups, ``stage_errors`` (n_iter,) the
        projection residuals and ``certificate`` the a posteriori greedy bound
        :math:`\frac{\gamma}{1-\gamma}\operatorname{sp}(T v - v)` (:func:`mdpkit.bounds.greedy_span_bound`,
        which needs the model); with data, no certificate.
    """
    t0 = time.perf_counter()
    _check_lmdp(lmdp)
    if lmdp.gamma is None:
        raise InvalidArgumentError("fitted_q_iteration needs a discounted LinearMDP (gamma=...); use lsvi for a horizon")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    S, A, d, g = lmdp.S, lmdp.A, lmdp.d, lmdp.gamma
    if not exact_backups:
        if not isinstance(data, TransitionData):
            raise InvalidArgumentError("fitted_q_iteration needs data (a TransitionData) unless exact_backups=True")
        data.check_against(lmdp)
        F = lmdp.phi[data.s, data.a]
    reg = regressor if regressor is not None else RidgeRegressor(0.0 if exact_backups else ridge)
    Phi = np.asarray(lmdp.phi).reshape(S * A, d)
    Q = np.zeros((S, A)) if q0 is None else np.array(q0, dtype=np.float64)
    if Q.shape != (S, A) or not np.all(np.isfinite(Q)):
        raise InvalidArgumentError(f"q0 must be a finite (S, A) = ({S}, {A}) array")
    res, errs, coef = [], [], None
    for _ in range(n_iter):
        V = Q.max(axis=1)
        if exact_backups:
            y = (lmdp.R + g * lmdp.P @ V).reshape(S * A)
            pred, coef = _fit_predict(reg, Phi, y, Phi)
            errs.append(float(np.max(np.abs(pred - y))))
        else:
            pred, coef = _fit_predict(reg, F, data.r + g * V[data.s_next], Phi)
        Qn = pred.reshape(S, A)
        res.append(float(np.max(np.abs(Qn - Q))))
        Q = Qn
    v = Q.max(axis=1)
    policy = np.argmax(Q, axis=1).astype(np.int64)
    if exact_backups:
        Tv = (lmdp.R + g * lmdp.P @ v).max(axis=1)
        dlt = Tv - v
        cert = greedy_span_bound(g, float(dlt.max() - dlt.min()))
    else:
        cert = _no_bound()
    tab = lmdp.to_tabular()
    return build_result(tab, cls=LinearVIResult, v=v, v_error_bound=math.inf, policy=policy, certificate=cert,
                        converged=True, n_iter=n_iter, residuals=np.array(res), method="fitted_q_iteration",
                        options=dict(n_iter=n_iter, ridge=ridge, exact_backups=bool(exact_backups),
                                     regressor=type(reg).__name__),
                        t0=t0, message=f"FQI, {n_iter} iterations", q=Q,
                        weights=None if coef is None or np.shape(coef) != (d,) else np.asarray(coef),
                        stage_errors=np.array(errs) if exact_backups else None, exact_backups=bool(exact_backups))


# ============================================================================ MDVI
@dataclass(frozen=True, eq=False, repr=False)
class MDVIResult(SolveResult):
    r"""Mirror-descent value iteration.

    Attributes
    ----------
    stochastic_policy : ndarray (S, A)
        :math:`\pi_{K}`, the last regularised-greedy policy (``policy`` is its argmax).
    h : ndarray (S, A)
        :math:`h_{K-1} = \sum_{j} \beta^{K-1-j} q_j`, the :math:`\beta`-discounted sum of the q-iterates,
        :math:`\beta = \lambda/(\lambda+\tau)`; :math:`\pi_K = \mathrm{softmax}(h_{K-1}/(\lambda+\tau))`.
    identity_residual : float
        :math:`\max |\log \pi_K - \log \mathrm{softmax}(h_{K-1}/(\lambda+\tau))|`, the recursive
        policy against the closed form (round-off only).
    policy_errors : ndarray (n_iter,) or None
        :math:`\|v^* - v^{\pi_k}\|_\infty` per iteration when ``track=True``.
    kl, entropy : float
    """

    stochastic_policy: np.ndarray | None = None
    h: np.ndarray | None = None
    identity_residual: float = math.nan
    policy_errors: np.ndarray | None = None
    kl: float = 0.0
    entropy: float = 0.0


def _logsumexp(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True)))


class _MDVIPolicy:
    r"""MD-VI's policy recursion, shared by :func:`mdvi` and :func:`vwls_mdvi`.

    :meth:`step` takes :math:`q_k` and sets :math:`\pi_{k+1} \propto \pi_k^\beta \exp(q_k/\eta)`,
    :math:`h_k = q_k + \beta h_{k-1}`, returning the regularised value :math:`\eta\log\sum_a \pi_k^\beta e^{q_k/\eta}`.
    """

    def __init__(self, S, A, lam, tau):
        self.eta = lam + tau
        self.beta = lam / self.eta
        self.logpi = np.full((S, A), -math.log(A))
        self.hsum = None

    def step(self, q):
        z = self.beta * self.logpi + q / self.eta
        lse = _logsumexp(z, 1)
        self.logpi = z - lse
        self.hsum = q.copy() if self.hsum is None else q + self.beta * self.hsum
        return self.eta * lse[:, 0]  # max_pi <pi, q> - lam KL(pi||pi_k) + tau H(pi)

    def identity_residual(self) -> float:
        r""":math:`\max|\log\pi_K - \log\mathrm{softmax}(h_{K-1}/\eta)|` (round-off only)."""
        closed = self.hsum / self.eta
        return float(np.max(np.abs(self.logpi - (closed - _logsumexp(closed, 1)))))


def mdvi(model, *, kl: float = 1.0, entropy: float = 0.0, n_iter: int = 100, phi=None, noise_std: float = 0.0,
         rng=None, track: bool = False) -> MDVIResult:
    r"""Mirror-descent value iteration (MD-VI; Vieillard et al. 2020, "Leverage the Average", Eq. (2)).

    With KL coefficient :math:`\lambda > 0` and entropy coefficient :math:`\tau \ge 0`,
    :math:`\beta = \lambda/(\lambda+\tau)`, :math:`\pi_0` uniform, :math:`q_0 = 0`:

    .. math::

        \pi_{k+1} \propto \pi_k^{\beta} \exp\!\big(q_k/(\lambda+\tau)\big), \qquad
        q_{k+1} = r + \gamma P\big[(\lambda+\tau)\log\textstyle\sum_a \pi_k^{\beta} e^{q_k/(\lambda+\tau)}\big] + \epsilon_{k+1},

    the bracket being :math:`\max_\pi \langle\pi, q_k\rangle - \lambda\,\mathrm{KL}(\pi\|\pi_k) + \tau\mathcal H(\pi)`.
    By induction :math:`\pi_{k+1} = \mathrm{softmax}(h_k/(\lambda+\tau))` with
    :math:`h_k = q_k + \beta h_{k-1}`: for :math:`\tau = 0` the policy is the softmax of the *sum* of
    the q-functions, so the errors :math:`\epsilon_j` are averaged (Vieillard et al. 2020, Thm 1 and
    Sec. 4; numbers not checked against the text).  The policy is computed by the recursion and
    compared with the closed form (``identity_residual``).

    Parameters
    ----------
    model : TabularMDP or LinearMDP (discounted)
    kl, entropy : float
        :math:`\lambda > 0`, :math:`\tau \ge 0`.
    n_iter : int
    phi : array_like (S, A, d), optional
        Linear MDVI: each :math:`q_{k+1}` is the least-squares projection of the backup on
        span(phi) (defaults to the model's features for a LinearMDP, none for a TabularMDP).
    noise_std : float
        i.i.d. Gaussian errors :math:`\epsilon_{k+1}(s, a) \sim N(0, \sigma^2)` added to every
        iterate (to study error averaging), drawn from ``rng``.
    rng : numpy.random.Generator or int seed
    track : bool
        Record :math:`\|v^* - v^{\pi_k}\|_\infty` every iteration (exact evaluations).

    Returns
    -------
    MDVIResult
        ``v`` (S,) the regularised value estimate of the last step, ``q`` (S, A) :math:`q_K`,
        ``policy`` argmax of :math:`\pi_K`, ``v_policy`` exact value of :math:`\pi_K` (stochastic),
        no certificate (the paper's bound is a rate; see ``policy_errors``).
    """
    t0 = time.perf_counter()
    if isinstance(model, LinearMDP):
        if model.gamma is None:
            raise InvalidArgumentError("mdvi needs a discounted model")
        tab = model.to_tabular()
        if phi is None:
            phi = np.asarray(model.phi)
    elif isinstance(model, TabularMDP):
        tab = model
        if not tab.action_mask.all():
            raise InvalidArgumentError("mdvi: masked actions are not supported")
    else:
        raise InvalidArgumentError(f"model must be a TabularMDP or LinearMDP, got {type(model).__name__}")
    lam = check_positive(kl, "kl")
    tau = check_positive(entropy, "entropy", allow_zero=True)
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    sig = check_positive(noise_std, "noise_std", allow_zero=True)
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    S, A, g = tab.S, tab.A, tab.gamma
    P, R = tab.P_dense(), np.asarray(tab.R)
    proj = None
    if phi is not None:
        Phi = np.asarray(phi, dtype=np.float64)
        if Phi.ndim != 3 or Phi.shape[:2] != (S, A):
            raise InvalidArgumentError(f"phi must have shape (S, A, d) = ({S}, {A}, d), got {Phi.shape}")
        Phi = Phi.reshape(S * A, -1)
        proj = Phi @ np.linalg.pinv(Phi)  # orthogonal projector on span(phi)
    md = _MDVIPolicy(S, A, lam, tau)
    q = np.zeros((S, A))
    vstar = policy_iteration(tab).v if track else None
    errs, res = [], []
    v = np.zeros(S)
    for _ in range(n_iter):
        v = md.step(q)
        qn = R + g * P @ v
        if proj is not None:
            qn = (proj @ qn.reshape(S * A)).reshape(S, A)
        if sig:
            qn = qn + sig * rng.standard_normal((S, A))
        res.append(float(np.max(np.abs(qn - q))))
        q = qn
        if track:
            errs.append(float(np.max(np.abs(vstar - policy_evaluation(tab, np.exp(md.logpi))))))
    ident = md.identity_residual()
    hsum = md.hsum
    pi = np.exp(md.logpi)
    policy = np.argmax(pi, axis=1).astype(np.int64)
    vpi = policy_evaluation(tab, pi)
    return build_result(tab, cls=MDVIResult, v=v, v_error_bound=math.inf, policy=policy,
                        certificate=_no_bound("no certificate (Vieillard et al. 2020 Thm 1 is a rate); see policy_errors"),
                        converged=True, n_iter=n_iter, residuals=np.array(res), method="mdvi",
                        options=dict(kl=lam, entropy=tau, n_iter=n_iter, linear=phi is not None, noise_std=sig),
                        t0=t0, message=f"MD-VI, {n_iter} iterations", v_policy=vpi, q=q, stochastic_policy=pi,
                        h=hsum, identity_residual=ident, policy_errors=np.array(errs) if track else None,
                        kl=lam, entropy=tau)


# ============================================================================ LSVI-UCB
@dataclass(frozen=True, eq=False, repr=False)
class LSVIUCBResult(LearningResult):
    r"""LSVI-UCB runs: ``T`` in the base record counts *episodes* (K).

    Base fields: ``actions`` (n_runs, K) the first action of each episode, ``rewards``
    (n_runs, K) the realised return of each episode, ``pseudo_regret`` (n_runs, K) the cumulative
    *exact* regret :math:`\sum_{k' \le k} \mu_0^\top(V^*_0 - V^{\pi_{k'}}_0)` (the executed policy
    evaluated on the true model, no Monte Carlo noise), ``expected_regret`` (K,) its mean over runs
    (``expected_regret_exact`` is False: the algorithm's own randomness is averaged over runs),
    ``n_pulls`` (n_runs, A) first-action counts.

    Attributes
    ----------
    episode_regret : ndarray (n_runs, K)
        Per-episode exact regret :math:`\mu_0^\top(V^*_0 - V^{\pi_k}_0)`.
    optimistic_value : ndarray (n_runs, K)
        :math:`\mu_0^\top V^k_0`, the algorithm's optimistic estimate.
    optimism_margin : ndarray (n_runs, K)
        :math:`\min_{h,s} (V^k_h(s) - V^*_h(s))`; ``>= 0`` on the confidence event (Jin et al. 2020,
        Lemma B.5, number not checked against the text).
    v_star : float
        :math:`\mu_0^\top V^*_0`.
    beta : float
        The bonus multiplier used.
    variant : str
        ``"paper"`` (beta from the theorem, truncation at H) or ``"practical"``.
    """

    episode_regret: np.ndarray | None = None
    optimistic_value: np.ndarray | None = None
    optimism_margin: np.ndarray | None = None
    v_star: float = math.nan
    beta: float = math.nan
    variant: str = "paper"
    _bound_args: tuple = ()
    _bound_of: str = "lsvi_ucb"

    def regret_bound(self) -> Bound:
        """Jin et al.'s regret rate for this run (:func:`mdpkit.bounds.linear.lsvi_ucb_regret_bound`).

        Raises
        ------
        InvalidArgumentError
            If the run used a practical variant (``beta``/``beta_scale`` not the theorem's), or the
            model violates the theorem's assumptions: the bound does not apply then.
        """
        if self.variant != "paper" or not self._bound_args:
            raise InvalidArgumentError(f"the LSVI-UCB regret bound applies only to variant='paper' with the "
                                       f"theorem's assumptions; this run is {self.variant!r}")
        if self._bound_of == "lmc_lsvi":
            from mdpkit.bounds.linear import lmc_lsvi_regret_bound

            return lmc_lsvi_regret_bound(*self._bound_args)
        return lsvi_ucb_regret_bound(*self._bound_args)


def lsvi_ucb(lmdp: LinearMDP, n_episodes: int, *, n_runs: int = 1, seed: int = 0, delta: float = 0.05,
             c: float = 1.0, beta: float | None = None, beta_scale: float = 1.0, ridge: float = 1.0,
             truncate: bool = True) -> LSVIUCBResult:
    r"""LSVI-UCB (Jin, Yang, Wang & Jordan 2020, Algorithm 1) with exact per-episode regret.

    Each episode :math:`k`: for :math:`h = H-1..0`,
    :math:`\Lambda_h = \lambda I + \sum_{\tau<k} \phi_\tau\phi_\tau^\top`,
    :math:`w_h = \Lambda_h^{-1} \sum_{\tau<k} \phi_\tau [r_h + \max_a Q_{h+1}(s'_\tau, a)]`,
    :math:`Q_h = \min\{w_h^\top\phi + \beta (\phi^\top\Lambda_h^{-1}\phi)^{1/2}, H\}`; then act greedily.
    On a finite state space the regression targets are sums over next states, so each stage keeps
    :math:`\Lambda_h^{-1}` (Sherman-Morrison), :math:`\sum \phi r` and :math:`\sum \phi e_{s'}^\top`:
    an episode costs :math:`O(H(SAd^2 + dS + S^2A))` whatever :math:`k` (Numba,
    :func:`mdpkit._kernels.linear.lsvi_ucb_loop`).  Stage-wise transitions are supported (a
    separate regression per stage, as in the paper).

    Parameters
    ----------
    lmdp : LinearMDP (finite horizon)
    n_episodes : int
        ``K``.
    n_runs : int
        Independent runs (seeds drawn from ``seed``).
    seed : int
    delta : float
        The theorem's failure probability ``p``.
    c : float, default 1
        The absolute constant of :math:`\beta = c\,dH\sqrt{\iota}` (not given numerically in the paper).
    beta : float, optional
        Override the bonus multiplier (practical variant).
    beta_scale : float, default 1
        Multiply the theorem's :math:`\beta` (practical knob; ``!= 1`` is a practical variant).
    ridge : float, default 1
        :math:`\lambda` (the theorem uses 1; another value is a practical variant).
    truncate : bool, default True
        Truncate :math:`Q_h` at ``H`` as in the paper.

    Returns
    -------
    LSVIUCBResult
        :meth:`LSVIUCBResult.regret_bound` gives the theorem's rate for ``variant == "paper"``
        and raises otherwise; ``certificate`` holds the same bound or None.
    """
    t0 = time.perf_counter()
    check_finite_horizon(lmdp)
    K = check_int(n_episodes, "n_episodes", minimum=1)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    H, S, A, d = lmdp.horizon, lmdp.S, lmdp.A, lmdp.d
    lam = check_positive(ridge, "ridge")
    bs = check_positive(beta_scale, "beta_scale", allow_zero=True)
    paper_beta = lsvi_ucb_beta(d, H, K * H, delta, c)
    if beta is None:
        b = paper_beta * bs
    else:
        b = check_positive(beta, "beta", allow_zero=True)
    variant = "paper" if (beta is None and bs == 1.0 and lam == 1.0 and truncate) else "practical"
    rewards_ok = bool(np.all((lmdp.R >= 0) & (lmdp.R <= 1)))
    bound_args = (d, H, K, delta) if (variant == "paper" and rewards_ok and lmdp.jin_assumption_holds()) else ()
    opt = linear_exact_solution(lmdp)
    Vstar = np.ascontiguousarray(opt.v, dtype=np.float64)
    phi2 = np.array(lmdp.phi, dtype=np.float64).reshape(S * A, d)
    P3 = np.array(lmdp.P, dtype=np.float64).reshape(H, S * A, S)
    model = (phi2, P3, np.cumsum(P3, axis=2), np.array(lmdp.R, dtype=np.float64).reshape(H, S * A),
             np.array(lmdp.mu0, dtype=np.float64), np.cumsum(lmdp.mu0))
    seeds = np.random.default_rng(seed).integers(0, 2**62, n_runs)
    out_f = np.empty((n_runs, K, 4))
    out_i = np.empty((n_runs, K, 2), dtype=np.int64)
    cap = np.float64(H if truncate else np.inf)
    for i in range(n_runs):
        U = np.random.default_rng(seeds[i]).random((K, H + 1))
        stats = (np.ascontiguousarray(np.broadcast_to(np.eye(d) / lam, (H, d, d))), np.zeros((H, d)),
                 np.zeros((H, d, S)))
        of, oi = np.empty((K, 4)), np.empty((K, 2), dtype=np.int64)
        klin.lsvi_ucb_loop(model, Vstar, U, np.float64(b), cap, stats, of, oi)
        out_f[i], out_i[i] = of, oi
    ep_reg = out_f[:, :, 0]
    cum = np.cumsum(ep_reg, axis=1)
    cert = lsvi_ucb_regret_bound(*bound_args) if bound_args else None
    base = learning_result(actions=out_i[:, :, 1], rewards=out_f[:, :, 1], means=np.zeros(A), seeds=seeds,
                           method="lsvi_ucb", options={}, wall_time=0.0)
    opts = dict(n_episodes=K, n_runs=n_runs, seed=seed, delta=delta, c=c, beta=b, beta_scale=bs, ridge=lam,
                truncate=bool(truncate), variant=variant)
    for arr in (cum, ep_reg):
        arr.flags.writeable = False
    er = cum.mean(axis=0)
    er.flags.writeable = False
    return LSVIUCBResult(actions=base.actions, rewards=base.rewards, pseudo_regret=cum, expected_regret=er,
                         expected_regret_exact=False, n_pulls=base.n_pulls, seeds=base.seeds, method="lsvi_ucb",
                         options=opts, wall_time=time.perf_counter() - t0, certificate=cert, episode_regret=ep_reg,
                         optimistic_value=out_f[:, :, 2].copy(), optimism_margin=out_f[:, :, 3].copy(),
                         v_star=float(lmdp.mu0 @ Vstar[0]), beta=float(b), variant=variant, _bound_args=bound_args)


# ============================================================================ R2PVI
DIVERGENCES = ("tv", "kl", "chi2")


def regularized_expectation(v, p0, lam: float, divergence: str) -> float:
    r"""Inner problem of a robust regularized backup: :math:`\inf_{q \in \Delta} \mathbb E_q[v] + \lambda D(q \| p_0)`.

    Closed forms (derived here; conventions stated because papers differ):

    * ``"tv"``, :math:`D = \tfrac12\|q - p_0\|_1`: :math:`\mathbb E_{p_0}[\min(v, \min_s v + \lambda)]`
      (moving mass :math:`\delta` to the minimising state gains :math:`\delta(v(s) - \min v)` and costs
      :math:`\lambda\delta`; nature may move mass to any state);
    * ``"kl"``: :math:`-\lambda \log \mathbb E_{p_0}[e^{-v/\lambda}]` (Donsker-Varadhan);
    * ``"chi2"``, :math:`D = \sum_s (q_s - p_{0,s})^2/p_{0,s}` (so :math:`q \ll p_0`): the KKT solution
      :math:`q_s = p_{0,s}\max(0, 1 + (\eta - v_s)/(2\lambda))`, :math:`\eta` fixed by :math:`\sum q = 1`
      (found exactly over the sorted active sets); equal to
      :math:`\sup_\alpha \mathbb E_{p_0}[v]_\alpha - \mathrm{Var}_{p_0}([v]_\alpha)/(4\lambda)`.

    Parameters
    ----------
    v : array_like (S,)
    p0 : array_like (S,), a probability vector
    lam : float > 0
    divergence : {"tv", "kl", "chi2"}
    """
    v = np.asarray(v, dtype=np.float64)
    p0 = np.asarray(p0, dtype=np.float64)
    if divergence == "tv":
        return float(p0 @ np.minimum(v, v.min() + lam))
    if divergence == "kl":
        m = v.min()
        return float(m - lam * np.log(p0 @ np.exp(-(v - m) / lam)))
    if divergence == "chi2":
        supp = p0 > 0
        vs, ps = v[supp], p0[supp]
        order = np.argsort(vs)
        vs, ps = vs[order], ps[order]
        for k in range(vs.size, 0, -1):  # largest active set first: q_s > 0 exactly for the k smallest v
            m = ps[:k].sum()
            eta = (2.0 * lam * (1.0 - m) + ps[:k] @ vs[:k]) / m
            if k == vs.size or eta + 2.0 * lam <= vs[k] + 1e-15:
                if vs[k - 1] < eta + 2.0 * lam or k == 1:
                    q = ps[:k] * np.maximum(0.0, 1.0 + (eta - vs[:k]) / (2.0 * lam))
                    q = q / q.sum() if k == 1 else q
                    full = np.zeros_like(ps)
                    full[:k] = q
                    return float(full @ vs + lam * np.sum((full - ps) ** 2 / ps))
        raise AssertionError("unreachable: the active set with k = 1 always qualifies")  # pragma: no cover
    raise InvalidArgumentError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")


def _chi2_dual(v, p):
    """sup_alpha E_p[v]_alpha - Var_p([v]_alpha)/(4 lam) over alpha in the sorted values of v (data mode:
    p is a ridge estimate, possibly signed); returns a function of lam."""
    alphas = np.unique(v)

    def f(lam):
        best = -np.inf
        for a in alphas:
            x = np.minimum(v, a)
            m1, m2 = p @ x, p @ (x * x)
            best = max(best, m1 - (m2 - m1 * m1) / (4.0 * lam))
        return best

    return f


@dataclass(frozen=True, eq=False, repr=False)
class R2PVIResult(LinearVIResult):
    """R2PVI: ``v`` (H+1, S) the pessimistic robust regularised value estimate.

    Attributes
    ----------
    divergence : str
    lam : float
        Regularisation strength.
    penalty : ndarray (H, S, A)
        The pessimism term subtracted (zeros in exact mode).
    """

    divergence: str = ""
    lam: float = math.nan
    penalty: np.ndarray | None = None


def _check_d_rectangular(lmdp: LinearMDP, tol: float = 1e-9) -> None:
    phi = np.asarray(lmdp.phi)
    if np.any(phi < -tol) or np.any(np.abs(phi.sum(axis=2) - 1.0) > tol):
        s, a = np.argwhere((phi < -tol).any(axis=2) | (np.abs(phi.sum(axis=2) - 1.0) > tol))[0]
        raise InvalidArgumentError(f"R2PVI needs d-rectangular features on the simplex (phi >= 0, sum 1); "
                                   f"phi[{s}, {a}] is not")
    mu = np.asarray(lmdp.mu)
    if np.any(mu < -tol) or np.any(np.abs(mu.sum(axis=-1) - 1.0) > tol):
        raise InvalidArgumentError("R2PVI needs every mu_{h,i} to be a probability vector over next states")


def r2pvi(lmdp: LinearMDP, data: TransitionData | None = None, *, divergence: str = "kl", lam: float = 1.0,
          beta: float = 0.0, ridge: float = 1.0, exact_backups: bool = False) -> R2PVIResult:
    r"""Robust regularized pessimistic value iteration (R2PVI; Tang, Liu & Xu 2024, arXiv:2411.18612).

    A d-rectangular linear robust regularised MDP: :math:`\phi(s,a) \in \Delta_d`, nominal
    :math:`P^0_h = \sum_i \phi_i \mu^0_{h,i}` with distributions :math:`\mu^0_{h,i}`; nature picks
    :math:`\mu_{h,i}` at cost :math:`\lambda D(\mu_{h,i}\|\mu^0_{h,i})` per coordinate, so
    :math:`Q_h(s,a) = \phi(s,a)^\top(\theta_h + w_h)` with
    :math:`w_{h,i} = \inf_\mu \mathbb E_\mu[V_{h+1}] + \lambda D(\mu\|\mu^0_{h,i})`
    (:func:`regularized_expectation`).  From data, :math:`\mathbb E_{\mu^0_{h,i}}[g]` is the ridge estimate
    :math:`[\Lambda_h^{-1}\sum_\tau \phi_\tau g(s'_\tau)]_i` (for chi2, the dual
    :math:`\sup_\alpha` formula on the ridge estimate of :math:`\mu^0_{h,i}`; for KL the estimate of
    :math:`\mathbb E e^{-V/\lambda}` is floored at :math:`e^{-(H-h)/\lambda}`), minus the pessimism
    penalty :math:`\Gamma_h = \beta\sum_i \phi_i \sqrt{[\Lambda_h^{-1}]_{ii}}`, clipped to ``[0, H - h]``.
    With ``exact_backups`` the expectations are taken under the true :math:`\mu^0_{h,i}` (no data,
    no penalty, no clipping): with one-hot features this is tabular robust regularised backward
    induction.  Algorithm and theorem numbers not checked against the text; the penalty form follows
    the d-rectangular pessimism of Liu & Xu (2024, DRPVI).

    Parameters
    ----------
    lmdp : LinearMDP (finite horizon, features on the simplex, mu rows distributions)
    data : TransitionData (required unless ``exact_backups``)
    divergence : {"tv", "kl", "chi2"}
    lam : float > 0
    beta : float >= 0, pessimism coefficient
    ridge : float > 0
    exact_backups : bool

    Returns
    -------
    R2PVIResult
        ``v`` (H+1, S), ``q`` (H, S, A), ``policy`` (H, S), ``weights`` (H, d) the estimated
        :math:`w_h`, ``v_policy`` the *nominal* value of the policy; no certificate.
    """
    t0 = time.perf_counter()
    check_finite_horizon(lmdp)
    if divergence not in DIVERGENCES:
        raise InvalidArgumentError(f"divergence must be one of {DIVERGENCES}, got {divergence!r}")
    _check_d_rectangular(lmdp)
    lam = check_positive(lam, "lam")
    beta = check_positive(beta, "beta", allow_zero=True)
    ridge = check_positive(ridge, "ridge")
    H, S, A, d = lmdp.horizon, lmdp.S, lmdp.A, lmdp.d
    if not exact_backups:
        if not isinstance(data, TransitionData):
            raise InvalidArgumentError("r2pvi needs data (a TransitionData) unless exact_backups=True")
        data.check_against(lmdp)
    phi = np.asarray(lmdp.phi)
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    W = np.empty((H, d))
    pen = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        mu0 = lmdp.mu_stage(h)
        if exact_backups:
            w = np.array([regularized_expectation(V[h + 1], mu0[i], lam, divergence) for i in range(d)])
        else:
            s, a, _, s2 = _stage_data(data, lmdp, h)
            if s.size == 0:
                raise InvalidArgumentError(f"the dataset has no transition at stage h={h}")
            F = phi[s, a]
            Linv = np.linalg.inv(F.T @ F + ridge * np.eye(d))
            counts = np.zeros((s.size, S))
            counts[np.arange(s.size), s2] = 1.0
            Mhat = Linv @ F.T @ counts  # (d, S): ridge estimate of mu0_h, row i ~ mu0_{h,i}
            vn = V[h + 1]
            if divergence == "tv":
                w = Mhat @ np.minimum(vn, vn.min() + lam)
            elif divergence == "kl":
                m = vn.min()
                e = Mhat @ np.exp(-(vn - m) / lam)
                w = m - lam * np.log(np.maximum(e, math.exp(-(H - h) / lam)))
            else:
                w = np.array([_chi2_dual(vn, Mhat[i])(lam) for i in range(d)])
            pen[h] = beta * np.einsum("sai,i->sa", phi, np.sqrt(np.diag(Linv)))
        q = np.einsum("sai,i->sa", phi, lmdp.theta_stage(h) + w) - pen[h]
        if not exact_backups:
            q = np.clip(q, 0.0, float(H - h))
        Q[h], W[h] = q, w
        V[h] = q.max(axis=1)
    policy = np.argmax(Q, axis=2).astype(np.int64)
    _, vpi = policy_q_values(lmdp, policy)
    return build_result(None, cls=R2PVIResult, v=V, v_error_bound=math.inf, policy=policy,
                        certificate=_no_bound("no certificate (R2PVI's suboptimality bound is instance-dependent "
                                              "with unspecified constants)"),
                        converged=True, n_iter=H, residuals=np.zeros(0), method="r2pvi",
                        options=dict(divergence=divergence, lam=lam, beta=beta, ridge=ridge,
                                     exact_backups=bool(exact_backups)),
                        t0=t0, message=f"R2PVI ({divergence}) over H={H} stages", v_policy=vpi[0], q=Q, weights=W,
                        exact_backups=bool(exact_backups), divergence=divergence, lam=lam, penalty=pen)


# ============================================================================ LMC-LSVI
def lmc_lsvi(lmdp: LinearMDP, n_episodes: int, *, n_runs: int = 1, seed: int = 0, delta: float = 0.05,
             n_steps: int | None = None, inv_temperature: float | None = None, ridge: float = 1.0) -> LSVIUCBResult:
    r"""LMC-LSVI: least-squares VI explored by Langevin Monte Carlo (Ishfaq et al. 2024, Algorithm 1).

    Episode :math:`k`, stage :math:`h = H-1..0`: starting from last episode's weights, run
    :math:`J_k` Langevin steps on :math:`L(w) = \sum_{\tau<k}(r_\tau + V_{h+1}(s'_\tau) - w^\top\phi_\tau)^2 + \lambda\|w\|^2`,

    .. math:: w \leftarrow w - \eta_k \nabla L(w) + \sqrt{2\eta_k/\beta_k}\,\epsilon, \qquad \epsilon \sim N(0, I_d),

    with :math:`\eta_k = 1/(4\lambda_{\max}(\Lambda_h))`, then
    :math:`Q_h = \min(\phi^\top w, H - h)^+` and act greedily.  The gradient is
    :math:`2(\Lambda_h w - b_h)` with the same per-stage sufficient statistics as :func:`lsvi_ucb`
    (:math:`\Lambda_h`, :math:`\sum\phi r`, :math:`\sum \phi e_{s'}^\top`), so no history is stored.

    Paper variant (``n_steps=None``, ``inv_temperature=None``): :math:`J_k = \lceil 2\kappa_k \log(4HKd)\rceil`
    with :math:`\kappa_k` the condition number of :math:`\Lambda_h`, and
    :math:`1/\sqrt{\beta_k} = H\sqrt{d}` (the O~ of Thm 4.2 with constant 1; numbers not checked against
    the text).  The cost of an episode then grows with :math:`\kappa_k`; ``n_steps`` fixes
    :math:`J` (practical variant).

    Returns
    -------
    LSVIUCBResult
        As :func:`lsvi_ucb` (``beta`` holds :math:`1/\sqrt{\beta_k}`); ``regret_bound()`` raises for the
        practical variant and returns :func:`mdpkit.bounds.linear.lmc_lsvi_regret_bound` otherwise.
    """
    from mdpkit.bounds.linear import lmc_lsvi_regret_bound

    t0 = time.perf_counter()
    check_finite_horizon(lmdp)
    K = check_int(n_episodes, "n_episodes", minimum=1)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    lam = check_positive(ridge, "ridge")
    H, S, A, d = lmdp.horizon, lmdp.S, lmdp.A, lmdp.d
    J_fixed = None if n_steps is None else check_int(n_steps, "n_steps", minimum=1)
    temp = H * math.sqrt(d) if inv_temperature is None else 1.0 / math.sqrt(check_positive(inv_temperature,
                                                                                              "inv_temperature"))
    variant = "paper" if (n_steps is None and inv_temperature is None and lam == 1.0) else "practical"
    opt = linear_exact_solution(lmdp)
    Vstar = np.asarray(opt.v)
    phi = np.asarray(lmdp.phi)
    Pc = np.cumsum(np.asarray(lmdp.P), axis=3)
    seeds = np.random.default_rng(seed).integers(0, 2**62, n_runs)
    ep_reg = np.empty((n_runs, K))
    rets = np.empty((n_runs, K))
    first = np.empty((n_runs, K), np.int64)
    est = np.empty((n_runs, K))
    margin = np.empty((n_runs, K))
    logf = math.log(4.0 * H * K * d)
    for i in range(n_runs):
        rng = np.random.default_rng(seeds[i])
        Lam = np.broadcast_to(lam * np.eye(d), (H, d, d)).copy()
        br = np.zeros((H, d))
        bM = np.zeros((H, d, S))
        W = np.zeros((H, d))
        for k in range(K):
            V = np.zeros((H + 1, S))
            pi = np.empty((H, S), np.int64)
            for h in range(H - 1, -1, -1):
                b = br[h] + bM[h] @ V[h + 1]
                ev = np.linalg.eigvalsh(Lam[h])
                eta = 1.0 / (4.0 * ev[-1])
                J = J_fixed if J_fixed is not None else int(math.ceil(2.0 * ev[-1] / ev[0] * logf))
                w = W[h]
                noise = rng.standard_normal((J, d)) * math.sqrt(2.0 * eta) * temp
                for j in range(J):
                    w = w - eta * 2.0 * (Lam[h] @ w - b) + noise[j]
                W[h] = w
                q = np.clip(np.einsum("sai,i->sa", phi, w), 0.0, float(H - h))
                pi[h] = q.argmax(axis=1)
                V[h] = q.max(axis=1)
            _, vpi = policy_q_values(lmdp, pi)
            ep_reg[i, k] = lmdp.mu0 @ (Vstar[0] - vpi[0])
            est[i, k] = lmdp.mu0 @ V[0]
            margin[i, k] = float((V[:H] - Vstar[:H]).min())
            s = int(np.searchsorted(np.cumsum(lmdp.mu0), rng.random() * np.sum(lmdp.mu0), side="right"))
            s = min(s, S - 1)
            first[i, k] = pi[0, s]
            ret = 0.0
            for h in range(H):
                a = int(pi[h, s])
                s2 = min(int(np.searchsorted(Pc[h, s, a], rng.random() * Pc[h, s, a, -1], side="right")), S - 1)
                f = phi[s, a]
                Lam[h] += np.outer(f, f)
                br[h] += f * lmdp.R[h, s, a]
                bM[h][:, s2] += f
                ret += lmdp.R[h, s, a]
                s = s2
            rets[i, k] = ret
    rewards_ok = bool(np.all((lmdp.R >= 0) & (lmdp.R <= 1)))
    ok = variant == "paper" and rewards_ok and lmdp.jin_assumption_holds()
    cum = np.cumsum(ep_reg, axis=1)
    er = cum.mean(axis=0)
    base = learning_result(actions=first, rewards=rets, means=np.zeros(A), seeds=seeds, method="lmc_lsvi",
                           options={}, wall_time=0.0)
    for arr in (cum, ep_reg, er, est, margin):
        arr.flags.writeable = False
    res = LSVIUCBResult(actions=base.actions, rewards=base.rewards, pseudo_regret=cum, expected_regret=er,
                        expected_regret_exact=False, n_pulls=base.n_pulls, seeds=base.seeds, method="lmc_lsvi",
                        options=dict(n_episodes=K, n_runs=n_runs, seed=seed, delta=delta, n_steps=n_steps,
                                     inv_temperature=inv_temperature, ridge=lam, variant=variant),
                        wall_time=time.perf_counter() - t0,
                        certificate=lmc_lsvi_regret_bound(d, H, K, delta) if ok else None, episode_regret=ep_reg,
                        optimistic_value=est, optimism_margin=margin, v_star=float(lmdp.mu0 @ Vstar[0]),
                        beta=float(temp), variant=variant,
                        _bound_args=(d, H, K, delta) if ok else (), _bound_of="lmc_lsvi")
    return res


# ============================================================================ G-optimal design and VWLS-MDVI
@dataclass(frozen=True)
class GOptimalDesign:
    r"""A (near) G-optimal design over feature vectors (Kiefer & Wolfowitz 1960).

    Attributes
    ----------
    weights : ndarray (n,)
        The design :math:`\rho` on the rows of ``X`` (a probability vector).
    g_max : float
        :math:`\max_i x_i^\top G(\rho)^{-1} x_i` with :math:`G(\rho) = \sum_i \rho_i x_i x_i^\top`;
        at least ``d`` for every design, equal to ``d`` exactly at the optimum (Kiefer-Wolfowitz).
    n_iter : int
    converged : bool
        ``g_max <= (1 + tol) d``.
    """

    weights: np.ndarray
    g_max: float
    n_iter: int
    converged: bool


def g_optimal_design(X, *, tol: float = 1e-3, max_iter: int = 100_000) -> GOptimalDesign:
    r"""G-optimal (equivalently D-optimal) design by Frank-Wolfe / Fedorov-Wynn.

    Start from the uniform design; each step moves mass to the row with the largest
    :math:`g_i = x_i^\top G^{-1} x_i` with the exact line-search step
    :math:`\alpha = (g_i/d - 1)/(g_i - 1)` for the log-det objective (Todd 2016, "Minimum-Volume
    Ellipsoids", Ch. 3; Lattimore & Szepesvari 2020, Bandit Algorithms, Note 21.2, not checked).
    By the Kiefer-Wolfowitz equivalence theorem the maximiser of :math:`\log\det G(\rho)` has
    :math:`\max_i g_i = d`; stop when :math:`\max_i g_i \le (1 + \text{tol})\, d`.

    Parameters
    ----------
    X : array_like (n, d), rank d
    tol, max_iter

    Raises
    ------
    InvalidArgumentError
        ``X`` not 2-D finite, or rank-deficient (no design has an invertible G).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise InvalidArgumentError("X must be a finite 2-D array (n, d)")
    n, d = X.shape
    rank = np.linalg.matrix_rank(X)
    if rank < d:
        raise InvalidArgumentError(f"the feature matrix has rank {rank} < d = {d}: rank-deficient design "
                                   "(some feature direction is never excited)")
    rho = np.full(n, 1.0 / n)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    g = Ginv = None
    for it in range(max_iter):
        if it % 200 == 0:  # exact refresh; in between, O(n d) rank-one updates (Sherman-Morrison)
            Ginv = np.linalg.inv(X.T @ (rho[:, None] * X))
            g = np.einsum("ij,jk,ik->i", X, Ginv, X)
        i = int(np.argmax(g))
        if g[i] <= (1.0 + tol) * d:
            Ginv = np.linalg.inv(X.T @ (rho[:, None] * X))  # confirm with an exact evaluation
            g = np.einsum("ij,jk,ik->i", X, Ginv, X)
            i = int(np.argmax(g))
            if g[i] <= (1.0 + tol) * d:
                return GOptimalDesign(rho, float(g[i]), it, True)
        alpha = (g[i] / d - 1.0) / (g[i] - 1.0)
        rho = (1.0 - alpha) * rho
        rho[i] += alpha
        # G' = (1 - a) G + a x x^T  =>  G'^{-1} = (G^{-1} - a u u^T / ((1 - a) + a g_i)) / (1 - a), u = G^{-1} x
        u = Ginv @ X[i]
        den = (1.0 - alpha) + alpha * g[i]
        Xu = X @ u
        g = (g - alpha * Xu * Xu / den) / (1.0 - alpha)
        Ginv = (Ginv - alpha * np.outer(u, u) / den) / (1.0 - alpha)
    return GOptimalDesign(rho, float(np.max(g)), max_iter, False)


@dataclass(frozen=True, eq=False, repr=False)
class VWLSMDVIResult(MDVIResult):
    """VWLS-MDVI: MDVIResult plus the design and the sample count.

    Attributes
    ----------
    design : GOptimalDesign
    n_samples : int
        Generative-model calls used.
    variance_weights : ndarray (S, A) or None
        The regression weights :math:`1/\\hat\\sigma^2` (None for the unweighted variant).
    """

    design: GOptimalDesign | None = None
    n_samples: int = 0
    variance_weights: np.ndarray | None = None


def vwls_mdvi(lmdp: LinearMDP, *, n_iter: int = 100, samples_per_iter: int = 1000, kl: float = 1.0,
              entropy: float = 0.0, weighted: bool = True, variance_iters: int | None = None,
              sigma_floor: float | None = None, rng=None, track: bool = False) -> VWLSMDVIResult:
    r"""Variance-weighted least-squares MDVI on a generative model (after Kitamura et al. 2023, ICML).

    1. Compute a near G-optimal design :math:`\rho` over :math:`\{\phi(s,a)\}` (:func:`g_optimal_design`,
       ``tol=1e-2``: :math:`\max g \le 1.01\, d`).
    2. Each MDVI iteration draws :math:`\lceil \rho(s,a) M\rceil` next states at every design point
       (``M = samples_per_iter``) and fits :math:`q_{k+1} = \phi^\top w`,
       :math:`w = \arg\min \sum_{(s,a)} \rho(s,a)\,\omega(s,a)(\phi^\top w - \bar y(s,a))^2`, with
       :math:`\bar y` the sample mean of :math:`r + \gamma v_k(s')` and :math:`v_k` MDVI's regularised value
       (:func:`mdvi`).  Design points of weight below ``1e-4`` are dropped and the rest renormalised
       (an optimal design with at most :math:`d(d+1)/2` support points exists, Kiefer-Wolfowitz).
    3. ``weighted=True``: the weights are :math:`\omega = 1/\max(\hat\sigma^2, \sigma^2_{\min})`, with
       :math:`\hat\sigma^2(s,a)` the empirical variance of :math:`v(s')` estimated during a first, unweighted
       phase of ``variance_iters`` iterations (default ``n_iter // 2``), :math:`\sigma^2_{\min}` =
       ``sigma_floor`` (default :math:`(1-\gamma)^{-1}`, in the spirit of the paper's floor).
       ``weighted=False`` is the unweighted baseline (WLS-MDVI with :math:`\omega = 1`).

    This follows the published algorithm's structure (design, variance estimation, weighted
    regression inside MDVI); its phase lengths and constants are simplified and the sample-complexity
    theorem (:math:`\tilde O(d^2\epsilon^{-2}(1-\gamma)^{-3})`) is *not* attached (number not checked
    against the text).

    Returns
    -------
    VWLSMDVIResult
    """
    t0 = time.perf_counter()
    _check_lmdp(lmdp)
    if lmdp.gamma is None:
        raise InvalidArgumentError("vwls_mdvi needs a discounted LinearMDP")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    M = check_int(samples_per_iter, "samples_per_iter", minimum=1)
    lam = check_positive(kl, "kl")
    tau = check_positive(entropy, "entropy", allow_zero=True)
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    tab = lmdp.to_tabular()
    S, A, d, g = lmdp.S, lmdp.A, lmdp.d, lmdp.gamma
    Phi = np.asarray(lmdp.phi).reshape(S * A, d)
    design = g_optimal_design(Phi, tol=1e-2)  # a (1 + 1e-2)-approximate G-optimal design suffices here
    # Frank-Wolfe leaves many points with vanishing weight; sampling each at least once would waste
    # samples, so points below 1e-4 are dropped (stated in the docstring) and the rest renormalised
    supp = np.flatnonzero(design.weights >= 1e-4)
    counts = np.maximum(1, np.ceil(design.weights[supp] / design.weights[supp].sum() * M)).astype(np.int64)
    Pc = np.cumsum(np.asarray(lmdp.P).reshape(S * A, S), axis=1)
    R1 = np.asarray(lmdp.R).reshape(S * A)
    rows = np.repeat(supp, counts)
    Xd = Phi[supp]
    rho = design.weights[supp] / design.weights[supp].sum()
    n_var = (n_iter // 2 if variance_iters is None else check_int(variance_iters, "variance_iters", minimum=1)) \
        if weighted else 0
    floor = (1.0 / (1.0 - g)) if sigma_floor is None else check_positive(sigma_floor, "sigma_floor")
    omega = np.ones(supp.size)
    md = _MDVIPolicy(S, A, lam, tau)
    q = np.zeros((S, A))
    vstar = policy_iteration(tab).v if track else None
    errs, res = [], []
    var_acc = np.zeros(supp.size)
    n_samples = 0
    v = np.zeros(S)
    for k in range(n_iter):
        v = md.step(q)
        u = rng.random(rows.size)
        s2 = np.minimum((u[:, None] * Pc[rows, -1:] >= Pc[rows]).sum(axis=1), S - 1)
        n_samples += rows.size
        vals = v[s2]
        sums = np.bincount(np.repeat(np.arange(supp.size), counts), weights=vals, minlength=supp.size)
        means = sums / counts
        if weighted and k < n_var:
            sq = np.bincount(np.repeat(np.arange(supp.size), counts), weights=vals**2, minlength=supp.size)
            var_acc += np.maximum(sq / counts - means**2, 0.0)
            if k == n_var - 1:
                omega = 1.0 / np.maximum(var_acc / n_var, floor)
        y = R1[supp] + g * means
        wts = rho * omega
        w = np.linalg.solve(Xd.T @ (wts[:, None] * Xd), Xd.T @ (wts * y))  # d x d normal equations
        qn = (Phi @ w).reshape(S, A)
        res.append(float(np.max(np.abs(qn - q))))
        q = qn
        if track:
            errs.append(float(np.max(np.abs(vstar - policy_evaluation(tab, np.exp(md.logpi))))))
    pi = np.exp(md.logpi)
    policy = np.argmax(pi, axis=1).astype(np.int64)
    hsum = md.hsum
    om = None
    if weighted:
        om = np.zeros(S * A)
        om[supp] = omega
        om = om.reshape(S, A)
    return build_result(tab, cls=VWLSMDVIResult, v=v, v_error_bound=math.inf, policy=policy,
                        certificate=_no_bound("no certificate attached (simplified VWLS-MDVI)"), converged=True,
                        n_iter=n_iter, residuals=np.array(res), method="vwls_mdvi",
                        options=dict(n_iter=n_iter, samples_per_iter=M, kl=lam, entropy=tau, weighted=bool(weighted),
                                     variance_iters=n_var, sigma_floor=floor),
                        t0=t0, message=f"VWLS-MDVI, {n_iter} iterations, {n_samples} samples",
                        v_policy=policy_evaluation(tab, pi), q=q, stochastic_policy=pi, h=hsum,
                        identity_residual=md.identity_residual(),
                        policy_errors=np.array(errs) if track else None, kl=lam, entropy=tau, design=design,
                        n_samples=int(n_samples), variance_weights=om)


# ============================================================================ reward-free exploration (Zhang et al. 2023)
def _mixture_psi(bases, V):
    """``psi_V (S, A, d)``: :math:`\\psi_V(s, a)_i = \\sum_{s'} P_i(s'|s, a) V(s')` (value-targeted features)."""
    return np.einsum("isat,t->sai", bases, V)


def mixture_plan(bases, theta, R, policy=None):
    r"""The planning phase of HF-UCRL-RFE++ for weights ``theta``: backward induction on the mixture
    :math:`P_\theta = \sum_i \theta_i P_i` (Zhang, Zhang & Gu 2023, Algorithm 4 line 23 of the thesis restatement).

    :math:`V_h = \min\{1, \max_a [r_h + \langle\psi_{V_{h+1}}, \theta\rangle]\}` (the source's value functions are
    truncated at 1, its Lemma 2.8.22), greedy policy with ties to the lowest action; or, with ``policy``,
    the same recursion for that policy.

    Parameters
    ----------
    bases : array_like (d, S, A, S)
    theta : array_like (d,)
    R : array_like (H, S, A)
        Stage rewards.
    policy : array_like of int (H, S), optional

    Returns
    -------
    v : ndarray (H+1, S)
    policy : ndarray (H, S) int64

    Raises
    ------
    InvalidArgumentError
        Inconsistent shapes.
    """
    B = np.asarray(bases, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if B.ndim != 4 or theta.shape != (B.shape[0],) or R.ndim != 3 or R.shape[1:] != B.shape[1:3]:
        raise InvalidArgumentError(f"mixture_plan: bases (d, S, A, S), theta (d,), R (H, S, A) expected; got "
                                   f"{B.shape}, {theta.shape}, {R.shape}")
    H, S, _ = R.shape
    V = np.zeros((H + 1, S))
    pol = np.empty((H, S), np.int64)
    for h in range(H - 1, -1, -1):
        q = R[h] + _mixture_psi(B, V[h + 1]) @ theta
        pol[h] = q.argmax(axis=1) if policy is None else np.asarray(policy)[h]
        V[h] = np.minimum(1.0, q[np.arange(S), pol[h]])
    return V, pol


def _check_total_reward(R, H, S, A) -> np.ndarray:
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (H, S, A) or not np.all(np.isfinite(R)):
        raise InvalidArgumentError(f"the planning reward must be a finite (H, S, A) = ({H}, {S}, {A}) array, got "
                                   f"shape {R.shape}")
    if np.any(R < 0):
        raise InvalidArgumentError(f"the planning reward must be >= 0; R{list(np.argwhere(R < 0)[0])} < 0")
    tot = float(R.reshape(H, -1).max(axis=1).sum())
    if tot > 1.0 + 1e-12:
        raise InvalidArgumentError(f"HF-UCRL-RFE++ assumes every trajectory's total reward is <= 1 (Assumption 2.6.1 "
                                   f"of the source); sum_h max_(s,a) R_h = {tot:g} > 1: scale the reward by 1/{tot:g}")
    return R


@dataclass(frozen=True, eq=False, repr=False)
class RewardFreePlan(ResultRecord):
    r"""The planning phase's answer for one reward (exact values on the true model).

    Attributes
    ----------
    policy : ndarray (H, S) int64
        :math:`\hat\pi_r`, greedy for the estimated model.
    v_star, v_policy : float
        :math:`\mu_0^\top V^*_0` and :math:`\mu_0^\top V^{\hat\pi_r}_0` on the true model (exact:
        :func:`mdpkit.solvers.backward_induction` on the true kernel with these stage rewards, and an exact
        backward evaluation of the policy).
    suboptimality : float
        ``v_star - v_policy``.
    v_estimate : float
        :math:`\mu_0^\top V_0` on the estimated model.
    """

    policy: np.ndarray
    v_star: float
    v_policy: float
    suboptimality: float
    v_estimate: float


@dataclass(frozen=True, eq=False, repr=False)
class RewardFreeResult(ResultRecord):
    r"""HF-UCRL-RFE++'s exploration phase; :meth:`plan` runs the planning phase for any reward.

    Attributes
    ----------
    theta_hat : ndarray (d,)
        Final estimate :math:`\theta_{K+1}` (mixture weights, in the model's own parametrisation).
    theta_history : ndarray (K, d)
        :math:`\theta_{k+1}` after each episode (precision-weighted combination of the two m = 0 centres).
    theta_error : ndarray (K,)
        :math:`\|\theta_{k+1} - \theta^*\|_2` after each episode (the true weights are known to the library,
        not to the algorithm).
    uncertainty : ndarray (K,)
        :math:`\mu_0^\top\hat V_{k,1}`, the trajectory uncertainty the oracle maximised in episode ``k``.
    beta : ndarray (K,)
        Confidence radius used in each episode.
    n_episodes : int
    variant : str
        ``"paper"`` (the source's parameters) or ``"practical"`` (``beta_scale != 1`` or ``beta`` given).
    feature_scale : float
        ``c``: the algorithm works with :math:`\psi/c` and :math:`c\theta` so that Definition 2.3.1's
        :math:`\|\psi_V\|_2 \le 1` holds (the same model, reparametrised).
    options : dict
    wall_time : float
    """

    theta_hat: np.ndarray
    theta_history: np.ndarray
    theta_error: np.ndarray
    uncertainty: np.ndarray
    beta: np.ndarray
    n_episodes: int
    variant: str
    feature_scale: float
    options: dict
    wall_time: float
    method: str = "reward_free_exploration"
    _model: object = None
    _bound_args: tuple = ()

    def plan(self, R) -> RewardFreePlan:
        r"""Planning phase (Algorithm 4, line 23): :math:`\hat\pi_r = \arg\max_\pi V_1(\cdot; \hat\theta, \pi, r)`.

        Parameters
        ----------
        R : array_like (H, S, A)
            Any reward with :math:`\sum_h \max_{s,a} R_h(s, a) \le 1` (so every trajectory's total is <= 1).

        Raises
        ------
        InvalidArgumentError
            Wrong shape, negative entries or total reward above 1 (named).
        """
        m = self._model
        H, S, A = m.horizon, m.S, m.A
        R = _check_total_reward(R, H, S, A)
        B = np.asarray(m.bases)
        Vhat, pol = mixture_plan(B, self.theta_hat, R)
        # the truth: backward induction on the true tabular model with these stage rewards, and the exact
        # (untruncated) value of the planned policy
        P = np.array(m.P)
        mu0 = np.asarray(m.mu0)
        Vstar = np.asarray(backward_induction([TabularMDP(P, R[h], 1.0, mu0=np.array(mu0)) for h in range(H)]).v)
        Vpi = np.zeros((H + 1, S))
        idx = np.arange(S)
        for h in range(H - 1, -1, -1):
            Vpi[h] = R[h][idx, pol[h]] + P[idx, pol[h]] @ Vpi[h + 1]
        vs, vp = float(mu0 @ Vstar[0]), float(mu0 @ Vpi[0])
        return RewardFreePlan(policy=pol, v_star=vs, v_policy=vp, suboptimality=vs - vp,
                              v_estimate=float(mu0 @ Vhat[0]))

    def suboptimality_bound(self) -> Bound:
        """Thm 2.6.3 of the source (:func:`mdpkit.bounds.linear.reward_free_suboptimality_bound`) for this run.

        Raises
        ------
        InvalidArgumentError
            For a practical variant (``beta`` or ``beta_scale`` not the paper's): the bound does not apply.
        """
        from mdpkit.bounds.linear import reward_free_suboptimality_bound

        if self.variant != "paper" or not self._bound_args:
            raise InvalidArgumentError(f"the HF-UCRL-RFE++ bound applies only to variant='paper'; this run is "
                                       f"{self.variant!r}")
        return reward_free_suboptimality_bound(*self._bound_args)


class _HomeSeries:
    """One series of Algorithm 4's weighted regressions (the hat or the tilde series), all M levels.

    The per-step update is the Numba kernel :func:`mdpkit._kernels.linear.home_update` (its numpy twin is
    in ``tests/linear/test_linear_reward_free.py``)."""

    def __init__(self, M, d, lam):
        self.Sinv = np.ascontiguousarray(np.broadcast_to(np.eye(d) / lam, (M, d, d)))  # Sigma_{k,h,m}^{-1}
        self.b = np.zeros((M, d))
        self._phi = np.empty((M, d))
        self._tmp = np.empty((4, M))
        self.freeze()

    def freeze(self):
        """End of an episode (lines 17-19): the frozen matrices and the estimates theta_{k+1,m}."""
        self.Sdot_inv = self.Sinv.copy()
        self.theta = np.ascontiguousarray(np.einsum("mij,mj->mi", self.Sdot_inv, self.b))

    def update(self, Bsa, V, s_next, params):
        """One step (lines 9-15): ``Bsa (d, S)`` C-contiguous, ``V (S,)`` in [0, 1], ``params = (beta, alpha, gamma)``."""
        klin.home_update(Bsa, V, np.int64(s_next), self.theta, self.Sdot_inv, self.Sinv, self.b, params,
                         self._phi, self._tmp)


def _combine_centres(hat, til):
    r"""The point closest to both m = 0 centres in their own metrics,
    :math:`(\dot{\hat\Sigma} + \dot{\tilde\Sigma})^{-1}(\dot{\hat\Sigma}\hat\theta + \dot{\tilde\Sigma}\tilde\theta)`
    (a stand-in for a point of the confidence set :math:`\mathcal U_k`, which constrains both)."""
    A1, A2 = np.linalg.inv(hat.Sdot_inv[0]), np.linalg.inv(til.Sdot_inv[0])
    return np.linalg.solve(A1 + A2, A1 @ hat.theta[0] + A2 @ til.theta[0])


def _rfe_oracle(Bt, theta, cands, beta, Shat_inv, Stil_inv):
    r"""Approximate line-5 oracle: for each candidate reward, the policy greedy for :math:`\hat V_{k,h}` (Eq. (2.6.2))
    at :math:`\theta` (Numba kernel :func:`mdpkit._kernels.linear.rfe_uncertainty_plan`); returns the
    (V_hat (H+1, S), V_tilde (H+1, S), policy (H, S)) of the best candidate."""
    n, H, S, _ = cands.shape
    Vh = np.zeros((n, H + 1, S))
    Vt = np.zeros((n, H + 1, S))
    pol = np.empty((n, H, S), np.int64)
    klin.rfe_uncertainty_plan(Bt, np.ascontiguousarray(theta), cands, np.float64(beta), np.ascontiguousarray(Shat_inv),
                              np.ascontiguousarray(Stil_inv), Vh, Vt, pol)
    # the objective is V_hat_{k,1}(s_1); truncation at 1 makes many candidates tie there, and the
    # tie is broken towards more uncertainty at later stages (which is what feeds the regressions)
    keys = [(round(float(Vh[i, 0].sum()), 12), float(Vh[i, 1:].sum())) for i in range(n)]
    b = max(range(n), key=keys.__getitem__)
    return Vh[b], Vt[b], pol[b]


def reward_free_exploration(mixture, n_episodes: int, *, delta: float = 0.05, B: float | None = None,
                            beta: float | None = None, beta_scale: float = 1.0, candidate_rewards=None,
                            seed: int = 0) -> RewardFreeResult:
    r"""HF-UCRL-RFE++: horizon-free reward-free exploration for linear mixture MDPs (Zhang, Zhang & Gu, ICML 2023).

    Exploration phase (Algorithm 4 with HOME, Algorithm 5, of the authors' thesis restatement; the ICML
    paper's algorithm numbers were not checked against its text).  Each episode ``k``:

    1. pick :math:`(\theta_k, \pi_k, r_k)` maximising the trajectory uncertainty :math:`\hat V_{k,1}(s_1)` of
       Eq. (2.6.2), :math:`\hat V_{k,h} = \min\{1, u_{k,h} + 2\beta\|\psi_{\hat V_{k,h+1}}\|_{\dot{\hat\Sigma}^{-1}_{k,0}}
       + \langle\psi_{\hat V_{k,h+1}}, \theta\rangle\}`, :math:`u_{k,h} = \min\{1, \beta\|\psi_{\tilde V_{k,h+1}}\|_{\dot{\tilde\Sigma}^{-1}_{k,0}}\}`,
       :math:`\tilde V_{k,h}` the value of :math:`\pi` for the pseudo-reward :math:`r` under :math:`\theta`;
    2. run :math:`\pi_k`; after each step update, for both value series (:math:`\hat V` and :math:`\tilde V`) and
       every moment level :math:`m < M`, the weighted ridge regression of :math:`V^{2^m}(s_{h+1})` on
       :math:`\psi_{V^{2^m}}(s_h, a_h)` with HOME's weights :math:`\sigma^2_{k,h,m}`;
    3. at the end of the episode freeze the matrices and set :math:`\hat\theta_{k+1,m}, \tilde\theta_{k+1,m}`.

    Planning phase: :meth:`RewardFreeResult.plan` (line 23).

    **What differs from the published algorithm** (the line-5 argmax over :math:`\theta \in \mathcal U_k`,
    all policies and all rewards with total <= 1 is an oracle the source assumes and does not compute):
    here :math:`\theta_k` is the precision-weighted combination of the two :math:`m = 0` centres
    :math:`\hat\theta_{k,0}, \tilde\theta_{k,0}` (not a maximiser over the intersection :math:`\mathcal U_k`), the reward is the best of a finite family (default: the zero reward and
    the :math:`HS` indicators "1 at stage g in state s'", each with total reward 1), and the policy is greedy
    for :math:`\hat V` stage by stage (exact for fixed later stages, not a joint maximiser).  The planning phase
    uses the same combination after the last episode (:math:`\theta_{K+1}` rather than :math:`\theta_K`).  Values are clipped
    to [0, 1] where the source truncates at 1 only.  Because the oracle is approximate, the proof of the
    suboptimality bound (Lemmas 2.8.8 and 2.8.23 there) does not literally cover this implementation; the
    bound is nevertheless attached for ``variant == "paper"`` (the parameters are the paper's) and refused
    otherwise.

    Parameters
    ----------
    mixture : LinearMixtureMDP (finite horizon)
        The true model, used only as a simulator (its rewards are never read).
    n_episodes : int
        ``K`` exploration episodes.
    delta : float
        Confidence parameter of :math:`\beta_k`.
    B : float, optional
        Known bound on :math:`\|\theta^*\|_2` in the rescaled parametrisation (default: the true norm, i.e.
        the tightest admissible value).
    beta : float, optional
        Fixed confidence radius (practical variant).
    beta_scale : float
        Multiplies the paper's :math:`\beta_k` (practical variant when ``!= 1``).
    candidate_rewards : array_like (n, H, S, A), optional
        The finite reward family of the approximate oracle (each with total reward <= 1).
    seed : int

    Returns
    -------
    RewardFreeResult
    """
    from mdpkit.bounds.linear import reward_free_parameters
    from mdpkit.linear import LinearMixtureMDP

    t0 = time.perf_counter()
    if not isinstance(mixture, LinearMixtureMDP) or mixture.horizon is None:
        raise InvalidArgumentError("reward_free_exploration needs a finite-horizon LinearMixtureMDP (horizon=H)")
    K = check_int(n_episodes, "n_episodes", minimum=1)
    H, S, A, d = mixture.horizon, mixture.S, mixture.A, mixture.d
    bs = check_positive(beta_scale, "beta_scale")
    # reparametrise so that ||psi_V(s, a)||_2 <= 1 for all V in [0, 1] (Definition 2.3.1): c bounds it
    B0 = np.asarray(mixture.bases)
    c = float(np.sqrt((np.abs(B0).sum(axis=3) ** 2).sum(axis=0)).max())
    Bs = B0 / c
    theta_true = c * np.asarray(mixture.theta)
    Bnorm = float(np.linalg.norm(theta_true)) if B is None else check_positive(B, "B")
    if Bnorm <= 0.0:
        raise InvalidArgumentError("B must be positive (theta* is zero)")
    par = reward_free_parameters(d, H, max(K, 3), delta, Bnorm)
    M, alpha, gamma, lam = par["M"], par["alpha"], par["gamma"], par["lam"]
    if candidate_rewards is None:
        cands = np.zeros((H * S + 1, H, S, A))
        for g in range(H):
            for s in range(S):
                cands[1 + g * S + s, g, s, :] = 1.0
    else:
        cands = np.asarray(candidate_rewards, dtype=np.float64)
        if cands.ndim != 4 or cands.shape[1:] != (H, S, A):
            raise InvalidArgumentError(f"candidate_rewards must have shape (n, H, S, A) = (n, {H}, {S}, {A}), got "
                                       f"{cands.shape}")
        for i, r in enumerate(cands):
            try:
                _check_total_reward(r, H, S, A)
            except InvalidArgumentError as e:
                raise InvalidArgumentError(f"candidate_rewards[{i}]: {e}") from None
    cands = np.ascontiguousarray(cands, dtype=np.float64)
    variant = "paper" if (beta is None and bs == 1.0) else "practical"
    rng = np.random.default_rng(seed)
    P = np.asarray(mixture.P)
    Pc = np.cumsum(P, axis=2)
    mu0c = np.cumsum(mixture.mu0)
    hat, til = _HomeSeries(M, d, lam), _HomeSeries(M, d, lam)
    Bsa_all = np.ascontiguousarray(Bs.transpose(1, 2, 0, 3))  # (S, A, d, S): contiguous rows for the kernel
    th_hist = np.empty((K, d))
    unc = np.empty(K)
    betas = np.empty(K)
    for k in range(K):
        bk = check_positive(beta, "beta") if beta is not None else bs * par["beta"](k + 1)
        betas[k] = bk
        theta_k = _combine_centres(hat, til)
        Vh, Vt, pol = _rfe_oracle(Bsa_all, theta_k, cands, bk, hat.Sdot_inv[0], til.Sdot_inv[0])
        unc[k] = float(mixture.mu0 @ Vh[0])
        s = min(int(np.searchsorted(mu0c, rng.random() * mu0c[-1], side="right")), S - 1)
        params = np.array([bk, alpha, gamma])
        for h in range(H):
            a = int(pol[h, s])
            s2 = min(int(np.searchsorted(Pc[s, a], rng.random() * Pc[s, a, -1], side="right")), S - 1)
            hat.update(Bsa_all[s, a], Vh[h + 1], s2, params)
            til.update(Bsa_all[s, a], Vt[h + 1], s2, params)
            s = s2
        hat.freeze()
        til.freeze()
        th_hist[k] = _combine_centres(hat, til) / c
    err = np.linalg.norm(th_hist - np.asarray(mixture.theta)[None, :], axis=1)
    for arr in (th_hist, err, unc, betas):
        arr.flags.writeable = False
    return RewardFreeResult(theta_hat=th_hist[-1].copy(), theta_history=th_hist, theta_error=err, uncertainty=unc,
                            beta=betas, n_episodes=K, variant=variant, feature_scale=c,
                            options=dict(n_episodes=K, delta=delta, B=Bnorm, beta=beta, beta_scale=bs, seed=seed,
                                         M=M, alpha=alpha, gamma=gamma, lam=lam, n_candidates=int(cands.shape[0])),
                            wall_time=time.perf_counter() - t0, _model=mixture,
                            _bound_args=(d, H, max(K, 3), delta, Bnorm) if variant == "paper" else ())

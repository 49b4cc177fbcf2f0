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
from mdpkit.results import FiniteHorizonResult, LearningResult, SolveResult, learning_result

from ._common import build_result
from .discounted import policy_iteration
from .finite_horizon import backward_induction

__all__ = [
    "LSVIUCBResult",
    "LinearVIResult",
    "MDVIResult",
    "RidgeRegressor",
    "fitted_q_iteration",
    "linear_exact_solution",
    "lsvi",
    "lsvi_ucb",
    "mdvi",
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
    eta = lam + tau
    beta = lam / eta
    logpi = np.full((S, A), -math.log(A))
    q = np.zeros((S, A))
    hsum = None
    vstar = policy_iteration(tab).v if track else None
    errs, res = [], []
    v = np.zeros(S)
    for _ in range(n_iter):
        z = beta * logpi + q / eta
        lse = _logsumexp(z, 1)
        logpi = z - lse
        hsum = q.copy() if hsum is None else q + beta * hsum
        v = eta * lse[:, 0]  # max_pi <pi, q> - lam KL(pi||pi_k) + tau H(pi)
        qn = R + g * P @ v
        if proj is not None:
            qn = (proj @ qn.reshape(S * A)).reshape(S, A)
        if sig:
            qn = qn + sig * rng.standard_normal((S, A))
        res.append(float(np.max(np.abs(qn - q))))
        q = qn
        if track:
            errs.append(float(np.max(np.abs(vstar - policy_evaluation(tab, np.exp(logpi))))))
    closed = hsum / eta
    closed = closed - _logsumexp(closed, 1)
    ident = float(np.max(np.abs(logpi - closed)))
    pi = np.exp(logpi)
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

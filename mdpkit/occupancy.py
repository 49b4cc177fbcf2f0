r"""Discounted occupancy measures and exact policy gradients of tabular MDPs.

Conventions (Agarwal, Kakade, Lee & Mahajan 2021, JMLR 22(98), Sec. 2):

* :math:`V^\pi(\mu) = \sum_s \mu(s) V^\pi(s)` with :math:`V^\pi = (I-\gamma P_\pi)^{-1} r_\pi`
  (unnormalized discounted return, reward units);
* :math:`d^\pi_\mu(s) = (1-\gamma)\sum_{t\ge 0}\gamma^t \Pr^\pi_\mu(s_t = s)` (a probability
  distribution), :math:`d^\pi_\mu(s, a) = d^\pi_\mu(s)\pi(a|s)`;
* policy-gradient theorem (Sutton et al. 2000; AKLM Thm 1 in its occupancy form):
  :math:`\nabla_\theta V^{\pi_\theta}(\mu) = \frac{1}{1-\gamma}\mathbb{E}_{(s,a)\sim d^\pi_\mu}
  [\nabla_\theta \log\pi_\theta(a|s) Q^{\pi_\theta}(s,a)]`.

Parametrizations: direct (:math:`\theta = \pi`), tabular softmax (:math:`\pi_\theta(a|s) \propto
\exp\theta_{s,a}` over the *available* actions of ``mdp.action_mask``: masked logits are ignored,
which is exactly the masked-softmax policy of Huang & Ontañón, "A Closer Look at Invalid Action
Masking in Policy Gradient Algorithms", FLAIRS 2022) and log-linear
(:math:`\pi_\theta(a|s)\propto\exp(\theta^\top\phi(s,a))`).  Every gradient here is computed from
the exact occupancy and Q (linear solves), and equals the true derivative of
:func:`policy_value` composed with the parametrization (checked against central finite
differences in ``tests/pg``).  :func:`sampled_gradient` is the unbiased random-horizon Monte
Carlo estimator with its sample variance.

Functions
---------
state_occupancy, state_action_occupancy, policy_value, q_values, advantage, masked_softmax,
softmax_policy, softmax_gradient, direct_gradient, loglinear_policy, loglinear_gradient,
entropy_regularized_values, policy_quantities (the solvers' inner loop), sampled_gradient,
mismatch_coefficient, validate_distribution, episodic_occupancy (finite horizon, (H, S, A))
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._exceptions import InvalidArgumentError
from ._validation import as_float_array, check_gamma, check_int
from .model import TabularMDP
from .policies import check_policy, policy_evaluation, policy_matrices, q_from_v, solve_policy_system

__all__ = [
    "PolicyQuantities",
    "SampledGradient",
    "advantage",
    "direct_gradient",
    "entropy_regularized_values",
    "episodic_occupancy",
    "episodic_occupancy_trusted",
    "loglinear_gradient",
    "loglinear_policy",
    "masked_softmax",
    "mismatch_coefficient",
    "policy_quantities",
    "policy_value",
    "q_values",
    "sampled_gradient",
    "softmax_gradient",
    "softmax_policy",
    "state_action_occupancy",
    "state_occupancy",
    "validate_distribution",
]


def _check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    check_gamma(mdp.gamma, allow_one=False)
    return mdp


def validate_distribution(mdp: TabularMDP, mu: ArrayLike | None, name: str = "mu", *, atol: float = 1e-8) -> NDArray:
    """A start distribution ``mu (S,)`` (``mdp.mu0`` when None): finite, non-negative, summing to 1.

    Raises
    ------
    InvalidArgumentError
        Wrong shape, a negative or non-finite entry, or a sum off 1 by more than ``atol``
        (nothing is renormalised).
    """
    if mu is None:
        return np.asarray(mdp.mu0, dtype=np.float64)
    m = as_float_array(mu, name, 1, exc=InvalidArgumentError)
    if m.shape != (mdp.S,):
        raise InvalidArgumentError(f"{name} must have shape (S,) = ({mdp.S},), got {m.shape}")
    if np.any(m < 0):
        s = int(np.flatnonzero(m < 0)[0])
        raise InvalidArgumentError(f"{name}[{s}] = {float(m[s])!r} is negative")
    if abs(float(m.sum()) - 1.0) > atol:
        raise InvalidArgumentError(f"{name} sums to {float(m.sum())!r}; expected 1 within atol={atol:g}")
    return m


def _as_stochastic(mdp: TabularMDP, policy) -> NDArray:
    pi = check_policy(mdp, policy)
    if pi.ndim == 1:
        out = np.zeros((mdp.S, mdp.A))
        out[np.arange(mdp.S), pi] = 1.0
        return out
    return pi


def state_occupancy(mdp: TabularMDP, policy: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Normalized discounted state occupancy :math:`d^\pi_\mu(s) = (1-\gamma)\sum_t\gamma^t\Pr(s_t=s)`.

    Solves :math:`(I-\gamma P_\pi^\top) x = \mu` and returns :math:`(1-\gamma)x`, shape (S,),
    float64, summing to 1.  ``mu`` defaults to ``mdp.mu0``.

    Raises
    ------
    InvalidMDPError
        ``gamma >= 1``.
    InvalidPolicyError, InvalidArgumentError
        Invalid policy or start distribution.
    """
    _check_mdp(mdp)
    m = validate_distribution(mdp, mu)
    P_pi, _ = policy_matrices(mdp, policy)
    PT = P_pi.T.tocsr() if hasattr(P_pi, "tocsr") else np.ascontiguousarray(P_pi.T)
    return (1.0 - mdp.gamma) * solve_policy_system(PT, m, mdp.gamma)


def state_action_occupancy(mdp: TabularMDP, policy: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r""":math:`d^\pi_\mu(s, a) = d^\pi_\mu(s)\pi(a|s)`, shape (S, A), float64, summing to 1 (zero on masked actions)."""
    pi = _as_stochastic(mdp, policy)
    return state_occupancy(mdp, pi, mu)[:, None] * pi


def policy_value(mdp: TabularMDP, policy: ArrayLike, mu: ArrayLike | None = None) -> float:
    r""":math:`V^\pi(\mu) = \mu^\top (I-\gamma P_\pi)^{-1} r_\pi` (reward units, unnormalized)."""
    _check_mdp(mdp)
    m = validate_distribution(mdp, mu)
    return float(m @ policy_evaluation(mdp, policy))


def q_values(mdp: TabularMDP, policy: ArrayLike) -> NDArray[np.float64]:
    r""":math:`Q^\pi (S, A)` exactly; masked actions hold 0 (not ``-inf``: they carry no probability)."""
    _check_mdp(mdp)
    q = q_from_v(mdp, policy_evaluation(mdp, policy))
    return np.where(mdp.action_mask, q, 0.0)


def advantage(mdp: TabularMDP, policy: ArrayLike) -> NDArray[np.float64]:
    r""":math:`A^\pi = Q^\pi - V^\pi` (S, A); masked actions hold 0."""
    _check_mdp(mdp)
    v = policy_evaluation(mdp, policy)
    q = q_from_v(mdp, v)
    return np.where(mdp.action_mask, q - v[:, None], 0.0)


def _check_theta(mdp: TabularMDP, theta) -> NDArray:
    th = as_float_array(theta, "theta", 2, exc=InvalidArgumentError)
    if th.shape != (mdp.S, mdp.A):
        raise InvalidArgumentError(f"theta must have shape (S, A) = ({mdp.S}, {mdp.A}), got {th.shape}")
    return th


def masked_softmax(logits: NDArray, mask: NDArray) -> NDArray:
    """Row-wise softmax over ``mask`` (masked entries get exactly 0); max-shifted for stability."""
    z = np.where(mask, logits, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    e = np.where(mask, np.exp(z), 0.0)
    return e / e.sum(axis=1, keepdims=True)


def softmax_policy(mdp: TabularMDP, theta: ArrayLike) -> NDArray[np.float64]:
    r"""Tabular softmax policy :math:`\pi_\theta(a|s) = e^{\theta_{s,a}}/\sum_{a'\in A_s} e^{\theta_{s,a'}}`.

    Masked actions (``~mdp.action_mask``) get probability exactly 0 and their logits are ignored
    (the masked softmax).  ``theta (S, A)`` finite float.  Returns (S, A) float64.
    """
    return masked_softmax(_check_theta(mdp, theta), mdp.action_mask)


def softmax_gradient(mdp: TabularMDP, theta: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Exact :math:`\nabla_\theta V^{\pi_\theta}(\mu)` for the (masked) tabular softmax, shape (S, A).

    .. math:: \frac{\partial V^{\pi_\theta}(\mu)}{\partial\theta_{s,a}} =
              \frac{1}{1-\gamma} d^{\pi_\theta}_\mu(s)\,\pi_\theta(a|s)\,A^{\pi_\theta}(s,a)

    (AKLM 2021, Lemma 7 / Eq. (9); number not checked against the text).  Masked entries are 0:
    the masked policy does not depend on them, so this is the true gradient of the masked policy's
    value.
    """
    pi = softmax_policy(mdp, theta)
    d = state_occupancy(mdp, pi, mu)
    return d[:, None] * pi * advantage(mdp, pi) / (1.0 - mdp.gamma)


def direct_gradient(mdp: TabularMDP, policy: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Exact gradient for the direct parametrization, shape (S, A):

    .. math:: \frac{\partial V^\pi(\mu)}{\partial\pi(a|s)} = \frac{1}{1-\gamma} d^\pi_\mu(s) Q^\pi(s,a)

    (AKLM 2021, Eq. (7)), the derivative of :math:`V^\pi(\mu)` as a function of the entries
    :math:`\pi(a|s)` extended off the simplex (:math:`V = \mu^\top(I-\gamma P_\pi)^{-1}r_\pi` with
    :math:`P_\pi, r_\pi` linear in :math:`\pi`).  Masked entries are 0.
    """
    pi = _as_stochastic(mdp, policy)
    d = state_occupancy(mdp, pi, mu)
    return d[:, None] * q_values(mdp, pi) / (1.0 - mdp.gamma)


def _check_features(mdp: TabularMDP, phi) -> NDArray:
    f = as_float_array(phi, "phi", 3, exc=InvalidArgumentError)
    if f.shape[:2] != (mdp.S, mdp.A):
        raise InvalidArgumentError(f"phi must have shape (S, A, d) = ({mdp.S}, {mdp.A}, d), got {f.shape}")
    return f


def loglinear_policy(mdp: TabularMDP, phi: ArrayLike, w: ArrayLike) -> NDArray[np.float64]:
    r"""Log-linear policy :math:`\pi_w(a|s)\propto\exp(w^\top\phi(s,a))` over available actions.

    ``phi (S, A, d)`` features, ``w (d,)`` weights; returns (S, A) float64.
    """
    f = _check_features(mdp, phi)
    ww = as_float_array(w, "w", 1, exc=InvalidArgumentError)
    if ww.shape != (f.shape[2],):
        raise InvalidArgumentError(f"w must have shape (d,) = ({f.shape[2]},), got {ww.shape}")
    return masked_softmax(f @ ww, mdp.action_mask)


def loglinear_gradient(mdp: TabularMDP, phi: ArrayLike, w: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Exact :math:`\nabla_w V^{\pi_w}(\mu)` for the log-linear policy, shape (d,):

    .. math:: \nabla_w V^{\pi_w}(\mu) = \frac{1}{1-\gamma}\sum_{s,a} d^{\pi_w}_\mu(s)\pi_w(a|s)A^{\pi_w}(s,a)\phi(s,a)

    (the PG theorem with :math:`\nabla\log\pi_w = \phi - \mathbb{E}_{\pi_w}\phi`; AKLM 2021, Sec. 6.1).
    """
    f = _check_features(mdp, phi)
    pi = loglinear_policy(mdp, f, w)
    d = state_occupancy(mdp, pi, mu)
    wgt = d[:, None] * pi * advantage(mdp, pi) / (1.0 - mdp.gamma)
    return np.einsum("sa,sad->d", wgt, f)


def entropy_regularized_values(mdp: TabularMDP, policy: ArrayLike, tau: float):
    r"""Entropy-regularized values :math:`(V_\tau^\pi (S,), Q_\tau^\pi (S, A))` exactly.

    :math:`V^\pi_\tau(s) = \mathbb{E}[\sum_t\gamma^t (r(s_t,a_t) - \tau\log\pi(a_t|s_t))]`,
    :math:`Q^\pi_\tau(s,a) = r(s,a) + \gamma\sum_{s'}P(s'|s,a)V^\pi_\tau(s')` (Cen et al. 2022,
    Eq. (8)).  Masked entries of Q hold 0.
    """
    _check_mdp(mdp)
    t = float(tau)
    if not (np.isfinite(t) and t >= 0):
        raise InvalidArgumentError(f"tau must be finite and >= 0, got {tau!r}")
    pi = _as_stochastic(mdp, policy)
    P_pi, r_pi = policy_matrices(mdp, pi)
    ent = -np.sum(np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1.0)), 0.0), axis=1)
    v = solve_policy_system(P_pi, r_pi + t * ent, mdp.gamma)
    q = np.where(mdp.action_mask, mdp.R + mdp.gamma * (mdp.P_rows @ v).reshape(mdp.S, mdp.A), 0.0)
    return v, q


def mismatch_coefficient(mdp: TabularMDP, policy: ArrayLike, rho: ArrayLike | None, mu: ArrayLike | None) -> float:
    r"""Distribution-mismatch coefficient :math:`\|d^{\pi}_\rho/\mu\|_\infty` (AKLM 2021, Def. 3 and Lemma 4).

    ``inf`` when :math:`\mu` is zero on a state that :math:`d^\pi_\rho` visits.
    """
    d = state_occupancy(mdp, policy, rho)
    m = validate_distribution(mdp, mu)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d > 0, d / m, 0.0)
    return float(np.max(r))


class PolicyQuantities(NamedTuple):
    """Exact quantities of one stochastic policy: ``v (S,)``, ``q (S, A)`` (0 on masked actions),
    ``adv (S, A)`` (0 on masked actions) and the normalized state occupancy ``d (S,)`` from ``mu``."""

    v: np.ndarray
    q: np.ndarray
    adv: np.ndarray
    d: np.ndarray


def policy_quantities(mdp: TabularMDP, pi: NDArray, mu: NDArray, *, R: NDArray | None = None) -> PolicyQuantities:
    r"""``v, q, adv, d`` of a stochastic policy ``pi (S, A)`` from one dense LU factorization.

    The inner loop of the exact policy-optimization solvers: ``pi`` and ``mu`` are trusted
    (validated by the caller, e.g. :func:`softmax_policy` output); ``R`` (S, A) replaces the
    model's reward (a Lagrangian reward, say).  Dense :math:`O(S^3)`; for small models.
    """
    S, g = mdp.S, mdp.gamma
    Pd = mdp.P_dense()
    RR = mdp.R if R is None else R
    mask = mdp.action_mask
    P_pi = np.einsum("sa,sat->st", pi, Pd)
    r_pi = np.sum(pi * np.where(mask, RR, 0.0), axis=1)
    # one explicit inverse serves both solves; I - gamma P_pi has condition number <= (1+gamma)/(1-gamma)
    Minv = np.linalg.inv(np.eye(S) - g * P_pi)
    v = Minv @ r_pi
    d = (1.0 - g) * (mu @ Minv)
    q = np.where(mask, RR + g * (Pd @ v), 0.0)
    return PolicyQuantities(v=v, q=q, adv=np.where(mask, q - v[:, None], 0.0), d=d)


class SampledGradient(NamedTuple):
    """Monte Carlo policy-gradient estimate: ``mean (S, A)``, per-entry sample ``variance (S, A)``
    of a single draw, ``stderr (S, A)`` of the mean, and ``n_samples``."""

    mean: np.ndarray
    variance: np.ndarray
    stderr: np.ndarray
    n_samples: int


def sampled_gradient(mdp: TabularMDP, theta: ArrayLike, mu: ArrayLike | None = None, *, n_samples: int = 1000,
                     rng: np.random.Generator) -> SampledGradient:
    r"""Unbiased sampled softmax policy gradient with its sample variance.

    Random-horizon estimator (Zhang, Koppel, Zhu & Başar 2020, SIAM J. Control Optim., Alg. 3;
    number not checked against the text): draw :math:`s_0\sim\mu`, run :math:`\pi_\theta` for
    :math:`T\sim\mathrm{Geom}(1-\gamma)` steps so that :math:`(s_T, a_T)\sim d^\pi_\mu`, then
    estimate :math:`Q^\pi(s_T,a_T)` by the undiscounted reward sum of an independent rollout from
    :math:`(s_T, a_T)` stopped with probability :math:`1-\gamma` per step, and return
    :math:`\hat g = \frac{1}{1-\gamma}\nabla_\theta\log\pi_\theta(a_T|s_T)\hat Q`.  Each draw is
    unbiased for :func:`softmax_gradient`; the mean of ``n_samples`` i.i.d. draws is returned
    with the per-entry sample variance (ddof=1) and standard error.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (keyword-only, required).

    Raises
    ------
    InvalidArgumentError
        ``n_samples < 2``, bad ``theta`` or ``mu``, ``rng`` not a Generator.
    """
    _check_mdp(mdp)
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgumentError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = check_int(n_samples, "n_samples", minimum=2)
    m = validate_distribution(mdp, mu)
    pi = softmax_policy(mdp, theta)
    S, A, g = mdp.S, mdp.A, mdp.gamma
    Prow = mdp.P_dense().reshape(S * A, S) if not mdp.is_sparse else mdp.P_rows.toarray()
    cdfP = np.cumsum(Prow, axis=1)
    cdfpi = np.cumsum(pi, axis=1)

    def draw(cdf, rows):
        u = rng.random(rows.shape[0])
        idx = (cdf[rows] < u[:, None]).sum(axis=1)
        return np.minimum(idx, cdf.shape[1] - 1)

    s = np.minimum((np.cumsum(m)[None, :] < rng.random(n)[:, None]).sum(axis=1), S - 1)
    a = draw(cdfpi, s)
    alive = rng.random(n) < g  # continue with probability gamma: the stop time is Geom(1-gamma)
    while alive.any():
        idx = np.flatnonzero(alive)
        s[idx] = draw(cdfP, s[idx] * A + a[idx])
        a[idx] = draw(cdfpi, s[idx])
        alive[idx] = rng.random(idx.size) < g
    sT, aT = s.copy(), a.copy()
    qhat = mdp.R[sT, aT].astype(np.float64)
    cs, ca = sT.copy(), aT.copy()
    alive = rng.random(n) < g
    while alive.any():
        idx = np.flatnonzero(alive)
        cs[idx] = draw(cdfP, cs[idx] * A + ca[idx])
        ca[idx] = draw(cdfpi, cs[idx])
        qhat[idx] += mdp.R[cs[idx], ca[idx]]
        alive[idx] = rng.random(idx.size) < g
    # grad log pi(a|s) wrt theta[s, :] = e_a - pi(.|s) on available actions
    draws = np.zeros((n, S, A))
    draws[np.arange(n), sT, :] = -pi[sT]
    draws[np.arange(n), sT, aT] += 1.0
    draws *= (qhat / (1.0 - g))[:, None, None]
    mean = draws.mean(axis=0)
    var = draws.var(axis=0, ddof=1)
    return SampledGradient(mean=mean, variance=var, stderr=np.sqrt(var / n), n_samples=n)


def episodic_occupancy(mdp: TabularMDP, policy: ArrayLike, mu: ArrayLike | None = None) -> NDArray[np.float64]:
    r"""Finite-horizon state-action occupancy :math:`q^\pi(h, s, a) = \Pr^\pi_\mu(s_h = s, a_h = a)`.

    The episodic (layered) convention of adversarial-MDP papers (Zimin & Neu 2013; Jin et al.
    2020): steps h = 0..H-1, :math:`s_0\sim\mu`, transitions ``mdp.P`` at every step (the
    discount is not used); each layer of ``q`` sums to 1, and the expected episode loss of
    :math:`\pi` under a loss :math:`\ell` (H, S, A) is :math:`\langle q^\pi, \ell\rangle`.

    Parameters
    ----------
    mdp : TabularMDP
    policy : array_like of shape (H, S, A)
        Non-stationary stochastic policy (rows on the simplex within 1e-8, zero on masked actions).
    mu : array_like of shape (S,), optional
        Initial law (``mdp.mu0`` if omitted).

    Returns
    -------
    ndarray of float64, shape (H, S, A)

    Raises
    ------
    InvalidPolicyError
        Wrong shape, a negative entry, a row off the simplex, or mass on a masked action.
    """
    from ._exceptions import InvalidPolicyError

    pi = as_float_array(policy, "policy", 3, exc=InvalidPolicyError)
    if pi.shape[1:] != (mdp.S, mdp.A) or pi.shape[0] < 1:
        raise InvalidPolicyError(f"policy must have shape (H, S, A) with S, A = {mdp.S}, {mdp.A}, got {pi.shape}")
    if np.any(pi < 0):
        raise InvalidPolicyError("policy has a negative entry")
    bad = np.abs(pi.sum(axis=2) - 1.0) > 1e-8
    if bad.any():
        h, s = map(int, np.argwhere(bad)[0])
        raise InvalidPolicyError(f"policy[{h}, {s}, :] sums to {float(pi[h, s].sum())!r}; expected 1 within 1e-8")
    if np.any(pi[:, ~mdp.action_mask] > 0):
        raise InvalidPolicyError("policy puts mass on a masked action")
    m = validate_distribution(mdp, mu)
    return episodic_occupancy_trusted(mdp.P_dense(), m, pi)


def episodic_occupancy_trusted(P: NDArray, mu: NDArray, pi: NDArray) -> NDArray[np.float64]:
    """:func:`episodic_occupancy` on trusted arrays ``P (S, A, S)``, ``mu (S,)``, ``pi (H, S, A)`` (no checks)."""
    H = pi.shape[0]
    q = np.empty_like(pi)
    d = mu
    for h in range(H):
        q[h] = d[:, None] * pi[h]
        if h + 1 < H:
            d = np.einsum("sa,sat->t", q[h], P)
    return q

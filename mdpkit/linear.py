r"""Linear MDPs with exact oracles: the model, linear mixtures, generators, certificates and data.

A *linear MDP* (Jin, Yang, Wang & Jordan 2020, Assumption A; Yang & Wang 2019) has known features
:math:`\phi(s, a) \in \mathbb{R}^d` such that, at every stage :math:`h`,

.. math::

    P_h(s' \mid s, a) = \langle \phi(s, a), \mu_h(s') \rangle, \qquad
    r_h(s, a) = \langle \phi(s, a), \theta_h \rangle .

Here the state and action sets are finite, so the model is a finite MDP whose transition matrix
factors through ``phi`` and :meth:`LinearMDP.to_tabular` gives the exact tabular model; every
sample-based algorithm in :mod:`mdpkit.solvers.linear` can then be compared with the truth
(exact :math:`Q^*`, :math:`V^*`, :math:`V^\pi` by backward induction on the tabular model).

Shapes (one meaning each): ``phi (S, A, d)``; ``mu (d, S)`` (homogeneous) or ``(H, d, S)``
(stage-wise); ``theta (d,)`` or ``(H, d)``; finite-horizon values ``v (H+1, S)`` with ``v[H] = 0``,
``q (H, S, A)``, policies ``(H, S)``.

This module is core: it imports nothing from :mod:`mdpkit.solvers` or :mod:`mdpkit.bounds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from ._exceptions import InvalidArgumentError, InvalidMDPError, InvalidPolicyError
from ._validation import ROW_SUM_ATOL, as_float_array, check_gamma, check_int, first_index, readonly
from .model import TabularMDP

__all__ = [
    "LinearMDP",
    "LinearMixtureMDP",
    "LinearityCertificate",
    "TransitionData",
    "check_finite_horizon",
    "check_stage_policy",
    "feature_coverage",
    "generative_samples",
    "linear_mixture_mdp",
    "linearity_certificate",
    "misspecified_linear_mdp",
    "offline_dataset",
    "one_hot_features",
    "one_hot_linear_mdp",
    "policy_q_values",
    "random_linear_mdp",
    "sample_episodes",
    "simplex_linear_mdp",
]


def _rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise InvalidArgumentError(f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}")


def _check_P(P: np.ndarray, atol: float, what: str, exc=InvalidMDPError) -> None:
    """``P (..., S, A, S)``: non-negative rows summing to 1 within ``atol`` (nothing renormalised)."""
    neg = P < 0
    if neg.any():
        idx = first_index(neg)
        raise exc(f"{what}: P{list(idx)} = {float(P[idx])!r} is negative (phi[s, a] @ mu must be a "
                  f"probability vector; index order {'[h, s, a, s_next]' if P.ndim == 4 else '[s, a, s_next]'})")
    sums = P.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        idx = first_index(bad)
        raise exc(f"{what}: row {'(h, s, a)' if P.ndim == 4 else '(s, a)'} = {idx} sums to {float(sums[idx])!r}; "
                  f"expected 1 within atol={atol:g} (nothing is renormalised)")


# ============================================================================ the model
def _check_horizon_gamma(horizon, gamma):
    """Exactly one of ``horizon`` (int >= 1) and ``gamma`` (in [0, 1)); returns ``(H or None, gamma or None)``."""
    if (horizon is None) == (gamma is None):
        raise InvalidMDPError("give exactly one of horizon (finite-horizon model) and gamma (discounted model)")
    if horizon is None:
        return None, check_gamma(gamma, allow_one=False)
    try:
        return check_int(horizon, "horizon", minimum=1), None
    except InvalidArgumentError as e:
        raise InvalidMDPError(str(e)) from None


def _check_mu0(mu0, S: int, atol: float) -> np.ndarray:
    """The initial distribution ``(S,)`` (uniform if None), validated; nothing renormalised."""
    if mu0 is None:
        return np.full(S, 1.0 / S)
    mu0 = as_float_array(mu0, "mu0", 1)
    if mu0.shape != (S,):
        raise InvalidMDPError(f"mu0 must have shape (S,) = ({S},), got {mu0.shape}")
    if np.any(mu0 < 0) or abs(mu0.sum() - 1.0) > atol:
        raise InvalidMDPError(f"mu0 must be a probability vector (>= 0, sum 1 within {atol:g}), "
                              f"got sum {mu0.sum()!r}, min {mu0.min()!r}")
    return mu0


class _Sizes:
    """``S``, ``A``, ``d`` read from the model's arrays (``_sad()`` gives them in that order)."""

    @property
    def S(self) -> int:
        """Number of states."""
        return int(self._sad()[0])

    @property
    def A(self) -> int:
        """Number of actions."""
        return int(self._sad()[1])

    @property
    def d(self) -> int:
        """Feature dimension (number of mixture components for a mixture)."""
        return int(self._sad()[2])


@dataclass(frozen=True, eq=False, repr=False)
class LinearMDP(_Sizes):
    r"""A linear MDP on finite state and action sets, validated and immutable.

    Parameters
    ----------
    phi : array_like of float, shape (S, A, d)
        Features :math:`\phi(s, a)`.
    mu : array_like of float, shape (d, S) or (H, d, S)
        :math:`\mu_h(s')`, stage-independent or stage-wise; ``P_h[s, a, :] = phi[s, a] @ mu_h``.
    theta : array_like of float, shape (d,) or (H, d)
        Reward parameters; ``R_h[s, a] = phi[s, a] @ theta_h`` (reward units).
    horizon : int, optional
        Episode length ``H >= 1`` (finite-horizon, undiscounted).  Exactly one of ``horizon``
        and ``gamma`` must be given; stage-wise ``mu`` or ``theta`` require ``horizon``.
    gamma : float, optional
        Discount factor in ``[0, 1)`` (infinite-horizon discounted model).
    mu0 : array_like of float, shape (S,), optional
        Initial-state distribution (uniform if omitted).
    atol : float, default 1e-8
        Tolerance on the row sums of ``phi[s, a] @ mu_h``; entries must be ``>= 0`` exactly.

    Raises
    ------
    InvalidMDPError
        Wrong shapes or dimensions (naming which array and axis), non-finite entries, rows of
        ``phi @ mu`` that are not probability vectors (naming ``(h, s, a)``), bad ``gamma`` or
        ``horizon``, or both/neither of them.

    Notes
    -----
    Nothing is renormalised or clipped.  Jin et al. (2020) additionally assume
    :math:`\|\phi(s,a)\|_2 \le 1` and :math:`\max(\|\mu_h(\mathcal S)\|, \|\theta_h\|) \le \sqrt d`
    (their Assumption A); :meth:`jin_assumption_holds` reports whether they hold, since the
    regret bound of LSVI-UCB needs them and the model itself does not.

    Examples
    --------
    >>> import numpy as np
    >>> from mdpkit.linear import LinearMDP
    >>> phi = np.eye(2).reshape(2, 1, 2)               # S=2, A=1, d=2 (one-hot)
    >>> m = LinearMDP(phi, mu=[[0.5, 0.5], [0, 1.0]], theta=[0.0, 1.0], horizon=3)
    >>> m.P.shape, m.R[1, 0]
    ((3, 2, 1, 2), 1.0)
    """

    phi: np.ndarray
    mu: np.ndarray
    theta: np.ndarray
    horizon: int | None = None
    gamma: float | None = None
    mu0: np.ndarray | None = None
    atol: float = ROW_SUM_ATOL
    name: str = ""
    _P: np.ndarray = field(init=False, default=None)
    _R: np.ndarray = field(init=False, default=None)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        phi = as_float_array(self.phi, "phi", 3)
        S, A, d = phi.shape
        if S < 1 or A < 1 or d < 1:
            raise InvalidMDPError(f"phi must have shape (S, A, d) with S, A, d >= 1, got {phi.shape}")
        mu = as_float_array(self.mu, "mu", (2, 3))
        theta = as_float_array(self.theta, "theta", (1, 2))
        H, g = _check_horizon_gamma(self.horizon, self.gamma)
        set_("horizon", H)
        set_("gamma", g)
        if H is None:
            if mu.ndim == 3 or theta.ndim == 2:
                raise InvalidMDPError("stage-wise mu (H, d, S) or theta (H, d) need horizon=H, not gamma")
        if mu.shape[-2:] != (d, S):
            raise InvalidMDPError(f"mu must have shape (d, S) = ({d}, {S}) or (H, d, S), got {mu.shape} "
                                  f"(phi has shape {phi.shape})")
        if theta.shape[-1] != d:
            raise InvalidMDPError(f"theta must have shape (d,) = ({d},) or (H, d), got {theta.shape}")
        for nm, arr in (("mu", mu), ("theta", theta)):
            if arr.ndim == (3 if nm == "mu" else 2) and arr.shape[0] != H:
                raise InvalidMDPError(f"stage-wise {nm} has {arr.shape[0]} stages but horizon={H}")
        P = np.einsum("sad,...dt->...sat", phi, mu)
        R = np.einsum("sad,...d->...sa", phi, theta)
        _check_P(P, float(self.atol), "LinearMDP")
        if H is not None:
            P = np.broadcast_to(P, (H, S, A, S)) if P.ndim == 3 else P
            R = np.broadcast_to(R, (H, S, A)) if R.ndim == 2 else R
        mu0 = _check_mu0(self.mu0, S, self.atol)
        set_("phi", readonly(phi))
        set_("mu", readonly(mu))
        set_("theta", readonly(theta))
        set_("mu0", readonly(mu0))
        set_("_P", readonly(np.ascontiguousarray(P)))
        set_("_R", readonly(np.ascontiguousarray(R)))
        set_("name", str(self.name))

    # ------------------------------------------------------------------ properties
    def _sad(self) -> tuple:
        return self.phi.shape

    @property
    def H(self) -> int | None:
        """Horizon (None for a discounted model)."""
        return self.horizon

    @property
    def is_stagewise(self) -> bool:
        """True when ``mu`` or ``theta`` depends on the stage."""
        return self.mu.ndim == 3 or self.theta.ndim == 2

    @property
    def P(self) -> np.ndarray:
        """Transitions: ``(H, S, A, S)`` (finite horizon) or ``(S, A, S)`` (discounted); read-only."""
        return self._P

    @property
    def R(self) -> np.ndarray:
        """Expected rewards: ``(H, S, A)`` (finite horizon) or ``(S, A)`` (discounted); read-only."""
        return self._R

    def mu_stage(self, h: int) -> np.ndarray:
        """``mu_h`` of shape (d, S)."""
        return self.mu[h] if self.mu.ndim == 3 else self.mu

    def theta_stage(self, h: int) -> np.ndarray:
        """``theta_h`` of shape (d,)."""
        return self.theta[h] if self.theta.ndim == 2 else self.theta

    def jin_assumption_holds(self, tol: float = 1e-12) -> bool:
        r"""Jin et al. (2020) Assumption A norms: :math:`\|\phi\|_2 \le 1`, :math:`\|\mu_h(\mathcal S)\|_2 \le \sqrt d`
        (the norm of the vector :math:`\sum_{s'} \mu_h(s')`), :math:`\|\theta_h\|_2 \le \sqrt d`."""
        rd = np.sqrt(self.d) + tol
        ok = np.linalg.norm(self.phi, axis=2).max() <= 1.0 + tol
        ok &= np.linalg.norm(self.mu.sum(axis=-1), axis=-1).max() <= rd
        ok &= np.linalg.norm(self.theta, axis=-1).max() <= rd
        return bool(ok)

    def __repr__(self) -> str:
        hz = f"H={self.horizon}" if self.horizon is not None else f"gamma={self.gamma:g}"
        sw = ", stage-wise" if self.is_stagewise else ""
        nm = f"name={self.name!r}, " if self.name else ""
        return f"LinearMDP({nm}S={self.S}, A={self.A}, d={self.d}, {hz}{sw})"

    # ------------------------------------------------------------------ tabular views
    def to_tabular(self):
        """The exact tabular model(s).

        Returns
        -------
        TabularMDP or list of TabularMDP
            Discounted: one :class:`~mdpkit.TabularMDP` with the same ``gamma`` and ``mu0``.
            Finite horizon: a list of ``H`` models (``gamma = 1``), the model of stage
            ``h`` at index ``h`` (the same object repeated when the model is homogeneous), which
            is what :func:`mdpkit.solvers.backward_induction` takes for a time-varying model.
        """
        if self.horizon is None:
            return TabularMDP(np.array(self.P), np.array(self.R), self.gamma, mu0=np.array(self.mu0),
                              atol=self.atol, name=self.name)
        if not self.is_stagewise:
            m = TabularMDP(np.array(self.P[0]), np.array(self.R[0]), 1.0, mu0=np.array(self.mu0), atol=self.atol,
                           name=self.name)
            return [m] * self.horizon
        return [TabularMDP(np.array(self.P[h]), np.array(self.R[h]), 1.0, mu0=np.array(self.mu0), atol=self.atol,
                           name=self.name) for h in range(self.horizon)]

    def with_mu0(self, mu0) -> "LinearMDP":
        """The same model with another initial distribution (revalidated)."""
        return LinearMDP(self.phi, self.mu, self.theta, horizon=self.horizon, gamma=self.gamma, mu0=mu0,
                         atol=self.atol, name=self.name)


def check_finite_horizon(lmdp) -> None:
    """Raise ``InvalidArgumentError`` unless ``lmdp`` is a finite-horizon :class:`LinearMDP`."""
    if not isinstance(lmdp, LinearMDP):
        raise InvalidArgumentError(f"expected a LinearMDP, got {type(lmdp).__name__}")
    if lmdp.horizon is None:
        raise InvalidArgumentError("this function needs a finite-horizon LinearMDP (horizon=H), got a discounted one")


def check_stage_policy(lmdp: LinearMDP, policy) -> np.ndarray:
    """Validate a finite-horizon policy: deterministic ``(H, S)`` int or stochastic ``(H, S, A)``.

    Returns the policy as a stochastic ``(H, S, A)`` float64 array.
    """
    H, S, A = lmdp.horizon, lmdp.S, lmdp.A
    pol = np.asarray(policy)
    if pol.shape == (H, S) and np.issubdtype(pol.dtype, np.integer):
        if pol.size and (pol.min() < 0 or pol.max() >= A):
            idx = first_index((pol < 0) | (pol >= A))
            raise InvalidPolicyError(f"policy{list(idx)} = {int(pol[idx])} is not an action in [0, {A})")
        out = np.zeros((H, S, A))
        np.put_along_axis(out, pol[..., None].astype(np.int64), 1.0, axis=2)
        return out
    if pol.shape == (H, S, A):
        pol = np.asarray(pol, dtype=np.float64)
        if not np.all(np.isfinite(pol)) or np.any(pol < 0) or np.any(np.abs(pol.sum(axis=2) - 1.0) > 1e-9):
            raise InvalidPolicyError("a stochastic policy (H, S, A) must have non-negative rows summing to 1")
        return pol
    raise InvalidPolicyError(f"policy must be int (H, S) = ({H}, {S}) or float (H, S, A) = ({H}, {S}, {A}), "
                             f"got shape {pol.shape} dtype {pol.dtype}")


def policy_q_values(lmdp: LinearMDP, policy) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact :math:`Q^\pi_h` and :math:`V^\pi_h` of a finite-horizon policy (backward recursion).

    Parameters
    ----------
    lmdp : LinearMDP (finite horizon)
    policy : ndarray, int (H, S) or float (H, S, A)

    Returns
    -------
    q : ndarray (H, S, A)
    v : ndarray (H+1, S), ``v[H] = 0``

    Raises
    ------
    InvalidArgumentError, InvalidPolicyError
    """
    check_finite_horizon(lmdp)
    pol = check_stage_policy(lmdp, policy)
    H, S, A = lmdp.horizon, lmdp.S, lmdp.A
    v = np.zeros((H + 1, S))
    q = np.empty((H, S, A))
    for h in range(H - 1, -1, -1):
        q[h] = lmdp.R[h] + lmdp.P[h] @ v[h + 1]
        v[h] = np.einsum("sa,sa->s", pol[h], q[h])
    return q, v


# ============================================================================ linear mixtures
@dataclass(frozen=True, eq=False, repr=False)
class LinearMixtureMDP(_Sizes):
    r"""A linear mixture MDP: :math:`P(s' \mid s, a) = \sum_i \theta_i P_i(s' \mid s, a)`.

    Ayoub, Jia, Szepesvari, Wang & Yang (2020); Zhou, Gu & Szepesvari (2021).  The bases need not
    be stochastic themselves; the mixture must be.

    Parameters
    ----------
    bases : array_like of float, shape (d, S, A, S)
        Basis kernels :math:`P_i`.
    theta : array_like of float, shape (d,)
        Mixture weights.
    R : array_like of float, shape (S, A)
        Expected reward (known).
    horizon, gamma : exactly one of them (as in :class:`LinearMDP`).
    mu0 : array_like (S,), optional
    atol : float

    Raises
    ------
    InvalidMDPError
        Shapes, or a mixture row that is not a probability vector (named by ``(s, a)``).
    """

    bases: np.ndarray
    theta: np.ndarray
    R: np.ndarray
    horizon: int | None = None
    gamma: float | None = None
    mu0: np.ndarray | None = None
    atol: float = ROW_SUM_ATOL
    _P: np.ndarray = field(init=False, default=None)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        B = as_float_array(self.bases, "bases", 4)
        d, S, A, S2 = B.shape
        if S2 != S:
            raise InvalidMDPError(f"bases must have shape (d, S, A, S), got {B.shape}")
        th = as_float_array(self.theta, "theta", 1)
        if th.shape != (d,):
            raise InvalidMDPError(f"theta must have shape (d,) = ({d},), got {th.shape}")
        R = as_float_array(self.R, "R", 2)
        if R.shape != (S, A):
            raise InvalidMDPError(f"R must have shape (S, A) = ({S}, {A}), got {R.shape}")
        H, g = _check_horizon_gamma(self.horizon, self.gamma)
        set_("horizon", H)
        set_("gamma", g)
        P = np.einsum("i,isat->sat", th, B)
        _check_P(P, float(self.atol), "LinearMixtureMDP")
        mu0 = _check_mu0(self.mu0, S, self.atol)
        for k, v in (("bases", B), ("theta", th), ("R", R), ("mu0", mu0), ("_P", P)):
            set_(k, readonly(v))

    def _sad(self) -> tuple:
        d, S, A, _ = self.bases.shape
        return S, A, d

    @property
    def P(self) -> np.ndarray:
        """The mixture kernel ``(S, A, S)``."""
        return self._P

    def features(self, v) -> np.ndarray:
        r"""Value-targeted features :math:`\psi_v(s, a)_i = \sum_{s'} P_i(s' \mid s, a) v(s')`, shape (S, A, d):
        :math:`(P v)(s, a) = \langle \psi_v(s, a), \theta \rangle`."""
        v = np.asarray(v, dtype=np.float64)
        return np.einsum("isat,t->sai", self.bases, v)

    def to_tabular(self):
        """The exact tabular model (a list of ``H`` copies for a finite horizon, as :meth:`LinearMDP.to_tabular`)."""
        if self.horizon is None:
            return TabularMDP(np.array(self.P), np.array(self.R), self.gamma, mu0=np.array(self.mu0), atol=self.atol)
        m = TabularMDP(np.array(self.P), np.array(self.R), 1.0, mu0=np.array(self.mu0), atol=self.atol)
        return [m] * self.horizon

    def __repr__(self) -> str:
        hz = f"H={self.horizon}" if self.horizon is not None else f"gamma={self.gamma:g}"
        return f"LinearMixtureMDP(S={self.S}, A={self.A}, d={self.d}, {hz})"


# ============================================================================ linearity certificate
@dataclass(frozen=True, eq=False)
class LinearityCertificate:
    r"""How far a tabular model is from linear in given features (least-squares residuals).

    Attributes
    ----------
    mu_hat : ndarray (d, S)
        Least-squares :math:`\hat\mu = \arg\min_M \|\Phi M - P\|_F` (minimum-norm solution).
    theta_hat : ndarray (d,)
        Least-squares reward parameters.
    P_residual : ndarray (S, A)
        :math:`\|P(\cdot|s,a) - \phi(s,a)^\top \hat\mu\|_1` per pair.
    R_residual : ndarray (S, A)
        :math:`|r(s,a) - \phi(s,a)^\top \hat\theta|` per pair.
    max_P_residual, max_R_residual : float
        Their maxima; both are (up to round-off) zero iff the model is linear in ``phi``
        (then :math:`P = \Phi \hat\mu` exactly).  They bound the misspecification
        :math:`\epsilon` of an :math:`\epsilon`-approximate linear MDP (Jin et al. 2020, Assumption
        B: :math:`\|P - \langle\phi, \mu\rangle\|_{TV} \le \epsilon`, with TV = half the l1 norm)
        from above: the least-squares fit is one admissible :math:`\mu`, not the best in sup norm.
    worst_pair : tuple of int
        ``(s, a)`` with the largest ``P_residual + R_residual``.
    rank : int
        Rank of the feature matrix ``Phi (S*A, d)``.
    is_linear : bool
        Both maxima within ``tol``.
    tol : float
    """

    mu_hat: np.ndarray
    theta_hat: np.ndarray
    P_residual: np.ndarray
    R_residual: np.ndarray
    max_P_residual: float
    max_R_residual: float
    worst_pair: tuple
    rank: int
    is_linear: bool
    tol: float


def linearity_certificate(mdp: TabularMDP, phi, *, tol: float = 1e-9) -> LinearityCertificate:
    r"""Certify (or refute) that a tabular model is a linear MDP in the features ``phi``.

    Solves the least-squares problems :math:`\min_M \|\Phi M - P\|_F` and
    :math:`\min_w \|\Phi w - r\|_2` with ``Phi = phi.reshape(S*A, d)`` (SVD, ``numpy.linalg.lstsq``)
    and reports the residual of every ``(s, a)``.  Zero residual iff ``P`` and ``r`` lie in the
    column span of ``Phi`` (the definition of a linear MDP, Jin et al. 2020, Def. 2.2; number not
    checked against the text).  Masked actions are included as stored.

    Parameters
    ----------
    mdp : TabularMDP
    phi : array_like of float, shape (S, A, d)
    tol : float, default 1e-9
        Threshold (times ``max(1, max|R|)`` for rewards) under which the model is called linear.

    Returns
    -------
    LinearityCertificate

    Raises
    ------
    InvalidArgumentError
        ``mdp`` not a TabularMDP or ``phi`` of the wrong shape / non-finite.
    """
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    phi = as_float_array(phi, "phi", 3, exc=InvalidArgumentError)
    S, A = mdp.S, mdp.A
    if phi.shape[:2] != (S, A):
        raise InvalidArgumentError(f"phi must have shape (S, A, d) = ({S}, {A}, d), got {phi.shape}")
    d = phi.shape[2]
    Phi = phi.reshape(S * A, d)
    P = mdp.P_dense().reshape(S * A, S)
    r = np.asarray(mdp.R).reshape(S * A)
    sol, _, rank, _ = np.linalg.lstsq(Phi, np.column_stack([P, r]), rcond=None)
    fit = Phi @ sol
    Pres = np.abs(fit[:, :S] - P).sum(axis=1).reshape(S, A)
    Rres = np.abs(fit[:, S] - r).reshape(S, A)
    tot = Pres + Rres
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(tot)), (S, A)))
    rscale = max(1.0, float(np.abs(r).max(initial=0.0)))
    mp, mr = float(Pres.max()), float(Rres.max())
    return LinearityCertificate(mu_hat=readonly(sol[:, :S].copy()), theta_hat=readonly(sol[:, S].copy()),
                                P_residual=readonly(Pres), R_residual=readonly(Rres), max_P_residual=mp,
                                max_R_residual=mr, worst_pair=worst, rank=int(rank),
                                is_linear=bool(mp <= tol and mr <= tol * rscale), tol=float(tol))


# ============================================================================ generators
def one_hot_features(S: int, A: int) -> np.ndarray:
    """One-hot features ``phi[s, a] = e_{s*A + a}``, shape (S, A, S*A): the tabular case, d = S*A."""
    S = check_int(S, "S", minimum=1)
    A = check_int(A, "A", minimum=1)
    return np.eye(S * A).reshape(S, A, S * A)


def one_hot_linear_mdp(mdp, horizon: int | None = None) -> LinearMDP:
    """The tabular model ``mdp`` as a linear MDP with one-hot features (d = S*A).

    Parameters
    ----------
    mdp : TabularMDP or sequence of TabularMDP
        One model (discounted if ``horizon`` is None, else homogeneous finite horizon) or ``H``
        stage models (stage-wise finite horizon).  Masked actions are not supported (their rows
        are not distributions): they raise.
    horizon : int, optional

    Raises
    ------
    InvalidArgumentError
        Masked actions, or mismatched stage models.
    """
    single = isinstance(mdp, TabularMDP)
    models = [mdp] if single else list(mdp)
    if not models or not all(isinstance(m, TabularMDP) for m in models):
        raise InvalidArgumentError("mdp must be a TabularMDP or a non-empty sequence of TabularMDP")
    S, A = models[0].S, models[0].A
    for t, m in enumerate(models):
        if (m.S, m.A) != (S, A):
            raise InvalidArgumentError(f"stage model {t} has S={m.S}, A={m.A}; model 0 has S={S}, A={A}")
        if not m.action_mask.all():
            s, a = first_index(~m.action_mask)
            raise InvalidArgumentError(f"model {t} masks action {a} in state {s}; linear MDPs here have every action "
                                       "available")
    phi = one_hot_features(S, A)
    mus = [m.P_dense().reshape(S * A, S) for m in models]
    ths = [np.asarray(m.R).reshape(S * A) for m in models]
    mu0 = np.array(models[0].mu0)
    if single:
        if horizon is None:
            return LinearMDP(phi, mus[0], ths[0], gamma=models[0].gamma, mu0=mu0, name=models[0].name)
        return LinearMDP(phi, mus[0], ths[0], horizon=horizon, mu0=mu0, name=models[0].name)
    if horizon is not None and horizon != len(models):
        raise InvalidArgumentError(f"horizon={horizon} but {len(models)} stage models were given")
    return LinearMDP(phi, np.stack(mus), np.stack(ths), horizon=len(models), mu0=mu0)


def _dirichlet(rng, alpha: float, shape) -> np.ndarray:
    return rng.dirichlet(np.full(shape[-1], alpha), size=shape[:-1])


def simplex_linear_mdp(S: int, A: int, d: int, *, horizon: int | None = None, gamma: float | None = None,
                       stagewise: bool = False, concentration: float = 0.3, rng=None) -> LinearMDP:
    r"""A random soft-state-aggregation linear MDP (simplex features).

    :math:`\phi(s, a)` is a distribution over ``d`` latent states (Dirichlet(``concentration``)),
    :math:`\mu(z, \cdot)` a distribution over next states (Dirichlet(``concentration``)), so
    :math:`P = \Phi \mu` is stochastic exactly (convex combinations, no rounding below zero);
    :math:`\theta \in [0, 1]^d` so rewards lie in ``[0, 1]``.  Jin et al.'s Assumption A norms hold
    (:math:`\|\phi\|_2 \le \|\phi\|_1 = 1`, :math:`\|\mu(\mathcal S)\| = \|\theta\| \le \sqrt d`).
    Singh, Jaakkola & Jordan (1995); Duan, Ke & Wang (2019).

    Parameters
    ----------
    S, A, d : int
        ``d <= S*A`` is needed for the features to have full rank ``d`` (almost surely then).
    horizon, gamma : exactly one (see :class:`LinearMDP`).
    stagewise : bool
        Draw ``mu_h``, ``theta_h`` per stage (needs ``horizon``).
    concentration : float
        Dirichlet parameter (small: near one-hot, nearly deterministic).
    rng : numpy.random.Generator or int seed
    """
    S, A, d = (check_int(x, n, minimum=1) for x, n in ((S, "S"), (A, "A"), (d, "d")))
    if d > S * A:
        raise InvalidArgumentError(f"d={d} exceeds S*A={S * A}: the features could not have rank d")
    rng = _rng(rng)
    phi = _dirichlet(rng, concentration, (S, A, d))
    nst = horizon if (stagewise and horizon) else None
    if stagewise and horizon is None:
        raise InvalidArgumentError("stagewise=True needs horizon")
    mu = _dirichlet(rng, concentration, ((nst,) if nst else ()) + (d, S))
    theta = rng.uniform(0.0, 1.0, ((nst,) if nst else ()) + (d,))
    return LinearMDP(phi, mu, theta, horizon=horizon, gamma=gamma, name=f"simplex S={S} A={A} d={d}")


def random_linear_mdp(S: int, A: int, d: int, *, horizon: int | None = None, gamma: float | None = None,
                      stagewise: bool = False, concentration: float = 0.3, rng=None) -> LinearMDP:
    r"""A random linear MDP with signed, dense features of rank ``d``.

    Draws a simplex model (:func:`simplex_linear_mdp`) and changes basis with a random
    well-conditioned matrix ``T`` (``phi' = phi T``, ``mu' = T^{-1} mu``, ``theta' = T^{-1}
    theta``), so ``P`` and ``r`` are those of the simplex model up to round-off while the features
    are no longer non-negative or normalised.  Jin et al.'s norm assumption then generally fails
    (see :meth:`LinearMDP.jin_assumption_holds`).
    """
    rng = _rng(rng)
    base = simplex_linear_mdp(S, A, d, horizon=horizon, gamma=gamma, stagewise=stagewise,
                              concentration=concentration, rng=rng)
    # mix mu with the uniform law so every P entry is >= 0.1/S: the round-off of the change of
    # basis (~1e-15) then cannot push an entry of phi @ mu below zero
    mu_b = 0.9 * np.asarray(base.mu) + 0.1 / S
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    T = Q @ np.diag(rng.uniform(0.5, 2.0, d))
    Tinv = np.linalg.inv(T)
    phi = np.asarray(base.phi) @ T
    mu = np.einsum("ij,...jt->...it", Tinv, mu_b)
    theta = np.einsum("ij,...j->...i", Tinv, np.asarray(base.theta))
    return LinearMDP(phi, mu, theta, horizon=horizon, gamma=gamma, name=f"random S={S} A={A} d={d}")


def linear_mixture_mdp(S: int, A: int, d: int, *, horizon: int | None = None, gamma: float | None = None,
                       concentration: float = 0.5, rng=None) -> LinearMixtureMDP:
    """A random linear mixture MDP: ``d`` random stochastic bases, Dirichlet(1) weights, rewards in [0, 1]."""
    S, A, d = (check_int(x, n, minimum=1) for x, n in ((S, "S"), (A, "A"), (d, "d")))
    rng = _rng(rng)
    B = _dirichlet(rng, concentration, (d, S, A, S))
    th = rng.dirichlet(np.ones(d))
    R = rng.uniform(0.0, 1.0, (S, A))
    return LinearMixtureMDP(B, th, R, horizon=horizon, gamma=gamma)


def misspecified_linear_mdp(lmdp: LinearMDP, epsilon: float, *, rng=None):
    r"""Perturb a homogeneous linear MDP off the span of its features.

    Returns the tabular model(s) of :math:`P_\epsilon = (1-\epsilon) \Phi\mu + \epsilon Q`, with ``Q``
    random stochastic rows, and rewards :math:`r + \epsilon \xi`, :math:`\xi \sim U[-1/2, 1/2]`,
    together with the original features.  The perturbation is at most :math:`2\epsilon` in l1 per row
    (:math:`\epsilon` in TV) and :math:`\epsilon/2` in reward, so :func:`linearity_certificate` on the result
    reports a residual of that order (zero only if the perturbation happens to lie in the span).

    Parameters
    ----------
    lmdp : LinearMDP
        Homogeneous (``mu (d, S)``, ``theta (d,)``).
    epsilon : float in [0, 1]
    rng : numpy.random.Generator or int seed

    Returns
    -------
    models : TabularMDP (discounted) or list of H TabularMDP (finite horizon)
    phi : ndarray (S, A, d)
    """
    if not isinstance(lmdp, LinearMDP) or lmdp.is_stagewise:
        raise InvalidArgumentError("misspecified_linear_mdp needs a homogeneous LinearMDP")
    eps = float(epsilon)
    if not (0.0 <= eps <= 1.0):
        raise InvalidArgumentError(f"epsilon must lie in [0, 1], got {epsilon!r}")
    rng = _rng(rng)
    S, A = lmdp.S, lmdp.A
    P0 = np.array(lmdp.P[0] if lmdp.horizon else lmdp.P)
    R0 = np.array(lmdp.R[0] if lmdp.horizon else lmdp.R)
    Q = _dirichlet(rng, 0.3, (S, A, S))
    P = (1.0 - eps) * P0 + eps * Q
    R = R0 + eps * rng.uniform(-0.5, 0.5, (S, A))
    if lmdp.horizon is None:
        return TabularMDP(P, R, lmdp.gamma, mu0=np.array(lmdp.mu0)), np.array(lmdp.phi)
    m = TabularMDP(P, R, 1.0, mu0=np.array(lmdp.mu0))
    return [m] * lmdp.horizon, np.array(lmdp.phi)


# ============================================================================ data
@dataclass(frozen=True, eq=False)
class TransitionData:
    r"""A batch of transitions ``(h, s, a, r, s_next)`` (all arrays shape (n,)).

    ``h`` is the stage (0 for discounted / generative data without stages).  Rewards are the
    model's expected rewards (the linear-MDP literature's deterministic reward,
    Jin et al. 2020), so the only randomness is in ``s_next``.

    Attributes
    ----------
    h, s, a, s_next : ndarray of int64
    r : ndarray of float64
    """

    h: np.ndarray
    s: np.ndarray
    a: np.ndarray
    r: np.ndarray
    s_next: np.ndarray

    def __post_init__(self) -> None:
        arrs = {}
        for nm in ("h", "s", "a", "s_next"):
            x = np.asarray(getattr(self, nm))
            if x.ndim != 1 or (x.size and not np.issubdtype(x.dtype, np.integer)):
                raise InvalidArgumentError(f"dataset field {nm} must be a 1-D integer array, got shape {x.shape} "
                                           f"dtype {x.dtype}")
            arrs[nm] = np.ascontiguousarray(x, dtype=np.int64)
        r = as_float_array(self.r, "r", 1, exc=InvalidArgumentError)
        n = r.shape[0]
        for nm, x in arrs.items():
            if x.shape != (n,):
                raise InvalidArgumentError(f"dataset fields must have equal length; r has {n}, {nm} has {x.shape[0]}")
        for nm, x in {**arrs, "r": r}.items():
            object.__setattr__(self, nm, readonly(x))

    @property
    def n(self) -> int:
        """Number of transitions."""
        return int(self.r.shape[0])

    def check_against(self, lmdp) -> None:
        """Raise :class:`InvalidArgumentError` naming the first transition whose stage, state or
        action is out of range for ``lmdp``."""
        S, A = lmdp.S, lmdp.A
        Hmax = lmdp.horizon if getattr(lmdp, "horizon", None) is not None else 1
        for nm, hi in (("h", Hmax), ("s", S), ("a", A), ("s_next", S)):
            x = getattr(self, nm)
            bad = (x < 0) | (x >= hi)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidArgumentError(f"dataset transition {i}: {nm} = {int(x[i])} is out of range [0, {hi})")


def _sample_next(P_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: ``P_rows (n, S)`` rows, ``u (n,)`` uniforms -> next states (n,)."""
    c = np.cumsum(P_rows, axis=1)
    idx = (u[:, None] * c[:, -1:] >= c).sum(axis=1)  # scale by the row total: sums are 1 only within atol
    return np.minimum(idx, P_rows.shape[1] - 1).astype(np.int64)


def generative_samples(lmdp: LinearMDP, n_per_pair: int, *, h: int = 0, rng=None) -> TransitionData:
    """Generative-model samples: ``n_per_pair`` next states from every ``(s, a)`` at stage ``h``.

    Returns
    -------
    TransitionData
        ``S*A*n_per_pair`` transitions, ordered by ``(s, a)`` then draw.
    """
    n = check_int(n_per_pair, "n_per_pair", minimum=1)
    rng = _rng(rng)
    S, A = lmdp.S, lmdp.A
    P = lmdp.P[h] if lmdp.horizon else lmdp.P
    R = lmdp.R[h] if lmdp.horizon else lmdp.R
    s = np.repeat(np.arange(S), A * n)
    a = np.tile(np.repeat(np.arange(A), n), S)
    s2 = _sample_next(P[s, a], rng.random(s.size))
    return TransitionData(np.full(s.size, h, np.int64), s, a, R[s, a].copy(), s2)


def sample_episodes(lmdp: LinearMDP, policy, n_episodes: int, *, rng=None) -> TransitionData:
    """Roll out ``n_episodes`` episodes of a finite-horizon policy from ``mu0`` (vectorised over episodes).

    Parameters
    ----------
    lmdp : LinearMDP (finite horizon)
    policy : int (H, S) or float (H, S, A) (a stochastic behaviour policy)
    n_episodes : int
    rng : numpy.random.Generator or int seed

    Returns
    -------
    TransitionData
        ``n_episodes * H`` transitions, episode-major (episode ``i`` at rows ``i*H .. i*H+H-1``).
    """
    check_finite_horizon(lmdp)
    pol = check_stage_policy(lmdp, policy)
    n = check_int(n_episodes, "n_episodes", minimum=1)
    rng = _rng(rng)
    H = lmdp.horizon
    s = _sample_next(np.broadcast_to(lmdp.mu0, (n, lmdp.S)), rng.random(n))
    out = {k: np.empty((n, H), np.int64) for k in ("s", "a", "s_next")}
    rew = np.empty((n, H))
    for h in range(H):
        a = _sample_next(pol[h][s], rng.random(n))
        s2 = _sample_next(lmdp.P[h][s, a], rng.random(n))
        out["s"][:, h], out["a"][:, h], out["s_next"][:, h], rew[:, h] = s, a, s2, lmdp.R[h][s, a]
        s = s2
    hh = np.broadcast_to(np.arange(H), (n, H)).ravel()
    return TransitionData(hh.copy(), out["s"].ravel(), out["a"].ravel(), rew.ravel(), out["s_next"].ravel())


def feature_coverage(lmdp: LinearMDP, data: TransitionData) -> np.ndarray:
    r"""Minimum eigenvalue of the empirical feature covariance per stage.

    :math:`\lambda_{\min}\big(\frac1{n_h} \sum_{i: h_i = h} \phi(s_i, a_i)\phi(s_i, a_i)^\top\big)`, the
    coverage quantity of offline linear RL (e.g. Jin, Yang & Wang 2021, "Is pessimism provably
    efficient for offline RL?").  Zero means some feature direction was never explored.

    Returns
    -------
    ndarray (H,) (finite horizon) or (1,) (discounted); 0 for a stage without data.
    """
    data.check_against(lmdp)
    H = lmdp.horizon or 1
    out = np.zeros(H)
    F = lmdp.phi[data.s, data.a]
    for h in range(H):
        m = data.h == h
        if m.any():
            C = F[m].T @ F[m] / m.sum()
            out[h] = max(0.0, float(np.linalg.eigvalsh(C)[0]))
    return out


def offline_dataset(lmdp: LinearMDP, behaviour_policy, n_episodes: int, *, rng=None):
    """Offline data from a behaviour policy, with its coverage.

    Returns
    -------
    data : TransitionData
        As :func:`sample_episodes`.
    coverage : ndarray (H,)
        :func:`feature_coverage` of the data (minimum eigenvalue of the feature covariance per stage).
    """
    data = sample_episodes(lmdp, behaviour_policy, n_episodes, rng=rng)
    return data, feature_coverage(lmdp, data)


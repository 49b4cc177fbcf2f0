r"""Stochastic K-armed bandit instances: Bernoulli, Gaussian and Beta arms.

An instance is a frozen record of the arm laws.  It exposes the quantities the theorems are stated
in: the means :math:`\mu_i`, the best mean :math:`\mu^*`, the gaps :math:`\Delta_i = \mu^* - \mu_i`,
the per-arm divergence that enters the Lai-Robbins lower bound, and the Lai-Robbins constant

.. math::
    C(\nu) = \sum_{i : \Delta_i > 0} \frac{\Delta_i}{K_{\inf}(\nu_i, \mu^*)},
    \qquad \liminf_{n\to\infty} \frac{R_n}{\log n} \ge C(\nu)

for every consistent policy (Lai & Robbins 1985, Thm 2; Burnetas & Katehakis 1996, Thm 1 for
the non-parametric :math:`K_{\inf}`), where :math:`K_{\inf}(\nu_i, \mu^*)` is the smallest KL
divergence from :math:`\nu_i` to a law *of the model class* with mean above :math:`\mu^*`:

* Bernoulli arms, class = Bernoulli laws: :math:`K_{\inf} = \mathrm{kl}(\mu_i, \mu^*)`;
* Gaussian arms with known variances :math:`\sigma_i^2`, class = Gaussians with that variance:
  :math:`K_{\inf} = \Delta_i^2 / (2\sigma_i^2)`;
* Beta arms, class = all laws on [0, 1]: :math:`K_{\inf}(\nu, \mu) = \max_{0 \le \lambda \le 1/(1-\mu)}
  \mathbb{E}_\nu[\log(1 - \lambda (X - \mu))]` (Honda & Takemura 2010, Thm 8, dual form;
  number not checked against the text), computed by quadrature and a bounded scalar maximisation.

Rewards are drawn by the kernels in :mod:`mdpkit._kernels.bandits` (the runner in
:mod:`mdpkit.solvers.bandits`); :meth:`StochasticBandit.sample` draws from a NumPy generator for
users and tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._exceptions import InvalidArgumentError

__all__ = [
    "AdversarialBandit",
    "ArmGaps",
    "BernoulliBandit",
    "BetaBandit",
    "GaussianBandit",
    "InvalidBanditError",
    "LinearBandit",
    "StochasticBandit",
    "bernoulli_kl",
    "k_inf_bounded",
    "make_bandit",
]


class InvalidBanditError(InvalidArgumentError):
    """A bandit instance is malformed: fewer than two arms, a mean outside the reward range,
    a non-positive scale, a non-finite parameter."""


def bernoulli_kl(p, q):
    r"""Bernoulli relative entropy :math:`\mathrm{kl}(p, q) = p\log\frac{p}{q} + (1-p)\log\frac{1-p}{1-q}`
    (elementwise; ``0 log 0 = 0``; ``inf`` when q is 0 or 1 and p differs)."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(p > 0, p * np.log(p / q), 0.0)
        b = np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - q)), 0.0)
    out = a + b
    return float(out) if out.ndim == 0 else out


def _as_vector(x, name, K=None) -> np.ndarray:
    a = np.array(x, dtype=np.float64)
    if a.ndim == 0 and K is not None:
        a = np.full(K, float(a))
    if a.ndim != 1:
        raise InvalidBanditError(f"{name} must be a 1-D array of per-arm values, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        i = int(np.flatnonzero(~np.isfinite(a))[0])
        raise InvalidBanditError(f"{name}[{i}] = {a[i]} is not finite")
    a.flags.writeable = False
    return a


def k_inf_bounded(expect, mu: float) -> float:
    r""":math:`K_{\inf}(\nu, \mu)` over laws on [0, 1] (Honda & Takemura 2010, dual form).

    Parameters
    ----------
    expect : callable
        ``expect(g)`` returns :math:`\mathbb{E}_\nu[g(X)]` for a vectorised function ``g``.
    mu : float
        Target mean in (0, 1].

    Returns
    -------
    float
        :math:`\max_{\lambda\in[0, 1/(1-\mu)]} \mathbb{E}_\nu[\log(1-\lambda(X-\mu))]`
        (``inf`` when the objective is unbounded, e.g. ``mu = 1``).
    """
    from scipy.optimize import minimize_scalar

    if mu >= 1.0:
        return math.inf
    lam_max = 1.0 / (1.0 - mu)

    def neg(lam):
        with np.errstate(divide="ignore", invalid="ignore"):
            v = expect(lambda x: np.log(np.maximum(1.0 - lam * (x - mu), 1e-300)))
        return -v

    r = minimize_scalar(neg, bounds=(0.0, lam_max), method="bounded", options={"xatol": 1e-12})
    return float(max(0.0, -r.fun, -neg(lam_max), -neg(0.0)))


class ArmGaps:
    """Mixin for bandit records with a ``means`` array (K,): the best mean, the gaps, the smallest
    positive gap and the optimal arms, computed in one place for every instance family."""

    @property
    def mu_star(self) -> float:
        """Best mean :math:`\\mu^*`."""
        return float(np.max(self.means))

    @property
    def gaps(self) -> np.ndarray:
        """Gaps :math:`\\Delta_i = \\mu^* - \\mu_i`, shape (K,)."""
        return self.mu_star - self.means

    @property
    def min_gap(self) -> float:
        """Smallest positive gap (``inf`` when all arms are optimal)."""
        g = self.gaps[self.gaps > 0]
        return float(g.min()) if g.size else math.inf

    @property
    def optimal_arms(self) -> np.ndarray:
        """Indices of the arms with mean :math:`\\mu^*` (int64)."""
        m = self.means
        return np.flatnonzero(m == np.max(m)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class StochasticBandit(ArmGaps):
    """Base record of a stochastic K-armed bandit (use the subclasses).

    Attributes
    ----------
    means : ndarray of float64, shape (K,)
        Arm means :math:`\\mu_i` (read-only).
    name : str
        Label for plots and reports.
    """

    means: np.ndarray
    name: str = ""
    family: str = field(default="", init=False)
    #: reward range [low, high] (``-inf, inf`` for Gaussian arms)
    reward_range: tuple = field(default=(0.0, 1.0), init=False)

    @property
    def K(self) -> int:
        """Number of arms."""
        return int(self.means.shape[0])

    @property
    def subgaussian_sigma(self) -> float:
        """A sigma such that every arm's centred reward is sigma-subgaussian."""
        raise NotImplementedError

    def k_inf(self) -> np.ndarray:
        """:math:`K_{\\inf}(\\nu_i, \\mu^*)` of every arm in the instance's model class (0 for optimal arms)."""
        raise NotImplementedError

    def lai_robbins_constant(self) -> float:
        """:math:`C(\\nu) = \\sum_{\\Delta_i>0} \\Delta_i / K_{\\inf}(\\nu_i, \\mu^*)` (module docstring)."""
        g = self.gaps
        k = self.k_inf()
        sub = g > 0
        with np.errstate(divide="ignore"):
            return float(np.sum(np.where(np.isinf(k[sub]), 0.0, g[sub] / k[sub])))

    def kernel_spec(self):
        """``(fam, p1, p2)``: the reward law as :func:`mdpkit._kernels.bandits.run_runs` takes it."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, arm: int, size=None):
        """Rewards of ``arm`` drawn from the NumPy generator ``rng``."""
        raise NotImplementedError

    def _check_arm(self, arm):
        if not (0 <= int(arm) < self.K):
            raise InvalidArgumentError(f"arm must lie in [0, {self.K}), got {arm}")
        return int(arm)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(means={np.array2string(self.means, precision=4)}{', name=' + repr(self.name) if self.name else ''})"


def _check_K(means):
    if means.shape[0] < 2:
        raise InvalidBanditError(f"a bandit needs K >= 2 arms, got K = {means.shape[0]}")


@dataclass(frozen=True, eq=False, repr=False)
class BernoulliBandit(StochasticBandit):
    """Bernoulli arms: rewards in {0, 1}, arm ``i`` pays 1 with probability ``means[i]``.

    Raises
    ------
    InvalidBanditError
        Fewer than two arms, or a mean outside [0, 1] or not finite.

    Examples
    --------
    >>> b = BernoulliBandit([0.9, 0.8])
    >>> round(b.lai_robbins_constant(), 4)
    2.2521
    """

    def __post_init__(self):
        m = _as_vector(self.means, "means")
        _check_K(m)
        bad = np.flatnonzero((m < 0) | (m > 1))
        if bad.size:
            raise InvalidBanditError(f"Bernoulli means must lie in [0, 1]; means[{bad[0]}] = {m[bad[0]]}")
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "family", "bernoulli")
        object.__setattr__(self, "reward_range", (0.0, 1.0))

    @property
    def subgaussian_sigma(self) -> float:
        return 0.5

    def k_inf(self) -> np.ndarray:
        return np.where(self.gaps > 0, bernoulli_kl(self.means, self.mu_star), 0.0)

    def kernel_spec(self):
        return 0, self.means.copy(), np.zeros(self.K)

    def sample(self, rng, arm, size=None):
        return (rng.random(size) < self.means[self._check_arm(arm)]).astype(float)


@dataclass(frozen=True, eq=False, repr=False)
class GaussianBandit(StochasticBandit):
    """Gaussian arms ``N(means[i], sigma[i]^2)`` with known standard deviations.

    Parameters
    ----------
    means : array_like (K,)
    sigma : float or array_like (K,)
        Standard deviations (> 0); default 1.

    Raises
    ------
    InvalidBanditError
        Fewer than two arms, non-finite means, or a non-positive sigma.
    """

    sigma: np.ndarray | float = 1.0

    def __post_init__(self):
        m = _as_vector(self.means, "means")
        _check_K(m)
        s = _as_vector(self.sigma, "sigma", K=m.shape[0])
        if s.shape != m.shape:
            raise InvalidBanditError(f"sigma must be a scalar or have shape {m.shape}, got {s.shape}")
        if np.any(s <= 0):
            i = int(np.flatnonzero(s <= 0)[0])
            raise InvalidBanditError(f"sigma must be > 0; sigma[{i}] = {s[i]}")
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "sigma", s)
        object.__setattr__(self, "family", "gaussian")
        object.__setattr__(self, "reward_range", (-math.inf, math.inf))

    @property
    def subgaussian_sigma(self) -> float:
        return float(self.sigma.max())

    def k_inf(self) -> np.ndarray:
        return self.gaps ** 2 / (2.0 * self.sigma ** 2)

    def kernel_spec(self):
        return 1, self.means.copy(), self.sigma.copy()

    def sample(self, rng, arm, size=None):
        a = self._check_arm(arm)
        return self.means[a] + self.sigma[a] * rng.standard_normal(size)


@dataclass(frozen=True, eq=False, repr=False)
class BetaBandit(StochasticBandit):
    """Beta arms ``Beta(alpha[i], beta[i])``: bounded rewards in [0, 1] with mean alpha/(alpha+beta).

    Build with :meth:`from_params` (``means`` is derived).  The Lai-Robbins constant is taken over
    the class of all laws on [0, 1] (module docstring), the class KL-UCB and IMED are analysed in.

    Raises
    ------
    InvalidBanditError
        Fewer than two arms, or a non-positive or non-finite parameter.
    """

    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None

    @classmethod
    def from_params(cls, alpha, beta, name: str = "") -> "BetaBandit":
        a = _as_vector(alpha, "alpha")
        b = _as_vector(beta, "beta", K=a.shape[0])
        if a.shape != b.shape:
            raise InvalidBanditError(f"alpha and beta must have the same shape, got {a.shape} and {b.shape}")
        return cls(means=a / (a + b), alpha=a, beta=b, name=name)

    def __post_init__(self):
        if self.alpha is None or self.beta is None:
            raise InvalidBanditError("BetaBandit needs alpha and beta; use BetaBandit.from_params(alpha, beta)")
        a = _as_vector(self.alpha, "alpha")
        b = _as_vector(self.beta, "beta", K=a.shape[0])
        _check_K(a)
        for nm, v in (("alpha", a), ("beta", b)):
            if np.any(v <= 0):
                i = int(np.flatnonzero(v <= 0)[0])
                raise InvalidBanditError(f"Beta parameters must be > 0; {nm}[{i}] = {v[i]}")
        m = a / (a + b)
        given = np.asarray(self.means, dtype=float)
        if given.shape != m.shape or not np.allclose(given, m, rtol=1e-12, atol=0):
            raise InvalidBanditError("BetaBandit means must equal alpha/(alpha+beta); use BetaBandit.from_params")
        m.flags.writeable = False
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "alpha", a)
        object.__setattr__(self, "beta", b)
        object.__setattr__(self, "family", "beta")
        object.__setattr__(self, "reward_range", (0.0, 1.0))

    @property
    def subgaussian_sigma(self) -> float:
        return 0.5

    def k_inf(self) -> np.ndarray:
        """:math:`K_{\\inf}` over laws on [0, 1], the expectation by 200-point Gauss-Jacobi quadrature
        of the Beta density (exact for polynomials of degree < 400)."""
        from scipy.special import roots_jacobi

        out = np.zeros(self.K)
        for i in np.flatnonzero(self.gaps > 0):
            t, w = roots_jacobi(200, self.beta[i] - 1.0, self.alpha[i] - 1.0)
            x = (1.0 + t) / 2.0
            w = w / w.sum()

            def expect(g, x=x, w=w):
                return float(np.dot(w, g(x)))

            out[i] = k_inf_bounded(expect, self.mu_star)
        return out

    def kernel_spec(self):
        return 2, self.alpha.copy(), self.beta.copy()

    def sample(self, rng, arm, size=None):
        a = self._check_arm(arm)
        return rng.beta(self.alpha[a], self.beta[a], size)


@dataclass(frozen=True, eq=False)
class AdversarialBandit(ArmGaps):
    r"""Oblivious adversarial bandit: a reward table ``x (T, K)`` in [0, 1] fixed before play;
    pulling arm ``k`` in round ``t`` pays ``x[t, k]``.

    The regret against the best fixed arm in hindsight after ``t`` rounds is
    :math:`\max_i \sum_{s\le t} x_{si} - \sum_{s\le t} x_{s A_s}` (:func:`mdpkit.solvers.bandits.run_adversarial`).

    Raises
    ------
    InvalidBanditError
        Not a 2-D table with K >= 2 columns and T >= 1 rows, or an entry outside [0, 1].
    """

    table: np.ndarray
    name: str = ""
    family: str = field(default="adversarial", init=False)
    reward_range: tuple = field(default=(0.0, 1.0), init=False)

    def __post_init__(self):
        x = np.array(self.table, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 1:
            raise InvalidBanditError(f"table must have shape (T, K), got {x.shape}")
        if x.shape[1] < 2:
            raise InvalidBanditError(f"a bandit needs K >= 2 arms, got K = {x.shape[1]}")
        bad = np.argwhere(~((x >= 0) & (x <= 1)))
        if bad.size:
            t, k = bad[0]
            raise InvalidBanditError(f"rewards must lie in [0, 1]; table[{t}, {k}] = {x[t, k]}")
        x.flags.writeable = False
        object.__setattr__(self, "table", x)

    @property
    def K(self) -> int:
        return int(self.table.shape[1])

    @property
    def horizon(self) -> int:
        return int(self.table.shape[0])

    @property
    def means(self) -> np.ndarray:
        """Average reward of each arm over the table."""
        return self.table.mean(axis=0)

    @property
    def subgaussian_sigma(self) -> float:
        return 0.5

    def kernel_spec(self):
        return 3, self.table.ravel().copy(), np.zeros(self.K)

    @classmethod
    def switching(cls, T: int, K: int = 2, switch_at: float = 0.25, name: str = "") -> "AdversarialBandit":
        """The classic trap for index and posterior-sampling policies: arm 0 pays 1 for the first
        ``switch_at * T`` rounds and 0 after; arm 1 pays the opposite; other arms pay 1/4.  The best
        fixed arm is arm 1; a policy that trusts its early averages keeps pulling arm 0."""
        if T < 2 or K < 2 or not 0.0 < switch_at < 1.0:
            raise InvalidBanditError(f"switching needs T >= 2, K >= 2, switch_at in (0, 1); got {T}, {K}, {switch_at}")
        x = np.full((T, K), 0.25)
        n = int(switch_at * T)
        x[:, 0] = 0.0
        x[:n, 0] = 1.0
        x[:, 1] = 1.0
        x[:n, 1] = 0.0
        return cls(x, name or f"switching(T={T}, K={K}, at={switch_at:g})")


@dataclass(frozen=True, eq=False)
class LinearBandit(ArmGaps):
    r"""Stochastic linear bandit on a finite arm set: pulling arm ``k`` pays
    :math:`\langle x_k, \theta^* \rangle + \sigma \varepsilon`, :math:`\varepsilon \sim N(0, 1)`.

    Parameters
    ----------
    arms : array_like (n_arms, d)
        Arm feature vectors :math:`x_k` (at least two).
    theta : array_like (d,)
        The unknown parameter :math:`\theta^*`.
    sigma : float
        Noise standard deviation (the noise is sigma-subgaussian), > 0.

    Attributes
    ----------
    means : ndarray (n_arms,)
        :math:`\langle x_k, \theta^*\rangle`.
    d, K : int
        Dimension and number of arms.
    theta_norm, arm_norm : float
        :math:`\|\theta^*\|_2` and :math:`\max_k \|x_k\|_2`: the constants S and L of Abbasi-Yadkori
        et al. 2011 (not called S and L here, where S means a number of states).

    Raises
    ------
    InvalidBanditError
        Fewer than two arms, an arm set whose dimension differs from theta's, non-finite entries,
        sigma <= 0.
    """

    arms: np.ndarray
    theta: np.ndarray
    sigma: float = 1.0
    name: str = ""

    def __post_init__(self):
        X = np.array(self.arms, dtype=np.float64)
        th = np.array(self.theta, dtype=np.float64)
        if th.ndim != 1 or th.size < 1:
            raise InvalidBanditError(f"theta must be a non-empty 1-D array, got shape {th.shape}")
        if X.ndim != 2 or X.shape[1] != th.shape[0]:
            raise InvalidBanditError(f"arms must have shape (n_arms, d) with d = len(theta) = {th.shape[0]}, "
                                     f"got {X.shape}")
        if X.shape[0] < 2:
            raise InvalidBanditError(f"a bandit needs K >= 2 arms, got K = {X.shape[0]}")
        for nm, a in (("arms", X), ("theta", th)):
            if not np.all(np.isfinite(a)):
                raise InvalidBanditError(f"{nm} has a non-finite entry")
        if not (float(self.sigma) > 0 and math.isfinite(float(self.sigma))):
            raise InvalidBanditError(f"sigma must be > 0, got {self.sigma}")
        for a in (X, th):
            a.flags.writeable = False
        object.__setattr__(self, "arms", X)
        object.__setattr__(self, "theta", th)
        object.__setattr__(self, "sigma", float(self.sigma))

    @property
    def means(self) -> np.ndarray:
        return self.arms @ self.theta

    @property
    def K(self) -> int:
        return int(self.arms.shape[0])

    @property
    def d(self) -> int:
        return int(self.arms.shape[1])

    @property
    def theta_norm(self) -> float:
        return float(np.linalg.norm(self.theta))

    @property
    def arm_norm(self) -> float:
        return float(np.linalg.norm(self.arms, axis=1).max())

    @classmethod
    def random(cls, rng, n_arms: int, d: int, sigma: float = 1.0, name: str = "") -> "LinearBandit":
        """Arms uniform on the unit sphere, theta uniform on the unit sphere (so rewards' means in [-1, 1])."""
        X = rng.standard_normal((n_arms, d))
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        th = rng.standard_normal(d)
        return cls(X, th / np.linalg.norm(th), sigma, name)


def make_bandit(spec: str) -> StochasticBandit:
    """Build an instance from a short text spec (command line).

    ``bernoulli:0.9,0.8,0.5`` | ``gaussian:1,0.5,0;sigma=1`` | ``beta:2/1,1/1`` (alpha/beta pairs).

    Raises
    ------
    InvalidBanditError
        Unknown family or unreadable numbers (the message names the part that failed).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidBanditError(f"bandit spec must look like 'bernoulli:0.9,0.8', got {spec!r}")
    fam, rest = spec.split(":", 1)
    fam = fam.strip().lower()
    opts = {}
    parts = rest.split(";")
    for p in parts[1:]:
        if "=" not in p:
            raise InvalidBanditError(f"bandit option {p!r} in {spec!r} is not key=value")
        k, v = p.split("=", 1)
        opts[k.strip()] = v.strip()

    def nums(s, what):
        try:
            return [float(x) for x in s.split(",") if x.strip()]
        except ValueError:
            raise InvalidBanditError(f"cannot read the {what} {s!r} in {spec!r} as numbers") from None

    if fam == "bernoulli":
        return BernoulliBandit(nums(parts[0], "means"), name=spec)
    if fam == "gaussian":
        sig = nums(opts.pop("sigma", "1"), "sigma")
        if opts:
            raise InvalidBanditError(f"unknown option(s) {sorted(opts)} in {spec!r}")
        return GaussianBandit(nums(parts[0], "means"), sigma=sig[0] if len(sig) == 1 else sig, name=spec)
    if fam == "beta":
        pairs = [x for x in parts[0].split(",") if x.strip()]
        try:
            ab = [tuple(float(y) for y in x.split("/")) for x in pairs]
        except ValueError:
            raise InvalidBanditError(f"cannot read the alpha/beta pairs in {spec!r}") from None
        if any(len(t) != 2 for t in ab):
            raise InvalidBanditError(f"beta arms are written alpha/beta, got {parts[0]!r}")
        return BetaBandit.from_params([t[0] for t in ab], [t[1] for t in ab], name=spec)
    raise InvalidBanditError(f"unknown bandit family {fam!r} in {spec!r}; known: bernoulli, gaussian, beta")

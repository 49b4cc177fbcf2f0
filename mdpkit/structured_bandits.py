r"""Structured bandit instances: dynamical linear bandits, the unit-ball linear bandit, and bandits
whose arm means depend on the play history (recovering rewards, last-switch-dependent payoffs).

* :class:`DynamicalLinearBandit` (Mussi, Metelli & Restelli 2023, "Dynamical Linear Bandits",
  ICML; model as in the authors' code, github.com/marcomussi/DLB): a hidden state
  :math:`x_{t+1} = A x_t + B u_t + \eta_t`, reward :math:`y_t = \langle\omega, x_t\rangle +
  \langle\theta, u_t\rangle + \varepsilon_t`, :math:`x_0 = 0`, actions :math:`u` from a finite set.
  Holding u forever pays :math:`\langle h, u\rangle` per round in the steady state, with the
  cumulative Markov parameter :math:`h = \theta + B^\top (I - A)^{-\top}\omega`; the best steady
  action maximises it.  The expected reward of an action sequence is a deterministic linear
  function of the actions (:meth:`DynamicalLinearBandit.expected_rewards`).
* :class:`UnitBallBandit`: :math:`\langle x, \theta^*\rangle + \sigma\varepsilon` with
  :math:`\|x\|_2 \le 1` (best action :math:`\theta^*/\|\theta^*\|`).
* :class:`RecoveringBandit` (Simchi-Levi, Zheng & Zhu, "Offline Planning and Online Learning under
  Recovering Rewards", 2021, arXiv:2106.14813): up to K of the N arms are pulled per period, and
  arm i pulled after z periods of idleness pays :math:`r_i(z)`, non-decreasing in z.
* :class:`LSDBandit` (last-switch-dependent bandits, Laforgue, Clerici, Cesa-Bianchi &
  Gilad-Bachrach 2022; monotone payoffs as in Foussoul, Goyal, Papadigenopoulos & Zeevi 2023,
  "Last Switch Dependent Bandits with Monotone Payoff Functions"): each arm's state counts the
  rounds since its last switch, positive while it is being played, negative while it rests; the
  payoff of pulling it is :math:`\mu_i(\tau_i)`.

Both history-dependent families keep per-arm states in a finite range (idle times capped where the
payoff stops changing), so the whole system is a deterministic MDP on the product of the per-arm
states: :meth:`HistoryBandit.to_mdp` builds it as a :class:`~mdpkit.TabularMDP` for exact planning
with mdpkit's solvers (:func:`mdpkit.solvers.structured_bandits.plan_history_bandit`).  The papers'
own planning and learning algorithms are not encoded here (their texts could not be read).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .bandits import ArmGaps, InvalidBanditError

__all__ = [
    "DynamicalLinearBandit",
    "HistoryBandit",
    "LSDBandit",
    "RecoveringBandit",
    "UnitBallBandit",
]

#: largest joint state space :meth:`HistoryBandit.to_mdp` builds
MAX_JOINT_STATES = 200_000


def _finite_array(x, name, ndim) -> np.ndarray:
    a = np.array(x, dtype=np.float64)
    if a.ndim != ndim:
        raise InvalidBanditError(f"{name} must be a {ndim}-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise InvalidBanditError(f"{name}{list(idx)} = {a[idx]} is not finite")
    a.flags.writeable = False
    return a


def _positive(x, name) -> float:
    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise InvalidBanditError(f"{name} must be a positive finite number, got {x}")
    return x


# ----------------------------------------------------------------------------- dynamical linear bandit
@dataclass(frozen=True, eq=False)
class DynamicalLinearBandit(ArmGaps):
    r"""Dynamical linear bandit (Mussi, Metelli & Restelli 2023, Sec. 2; model as in module docstring).

    Parameters
    ----------
    A : array_like (n, n)
        State matrix, spectral radius < 1 (stable system).
    B : array_like (n, d)
        Input matrix.
    omega : array_like (n,)
        State-to-reward weights.
    theta : array_like (d,)
        Direct action-to-reward weights.
    actions : array_like (n_arms, d)
        The finite action set (at least two actions).
    sigma : float
        Standard deviation of the Gaussian noises (each state coordinate and the reward), > 0.

    Attributes
    ----------
    h : ndarray (d,)
        Cumulative Markov parameter :math:`\theta + B^\top (I-A)^{-\top}\omega`.
    means : ndarray (n_arms,)
        Steady-state reward :math:`\langle h, u_k\rangle` of holding action k forever; ``mu_star``
        (:math:`J^*`, the best steady-state reward per round), ``gaps`` and ``optimal_arms`` follow
        from it (:class:`mdpkit.bandits.ArmGaps`).
    spectral_radius : float
        :math:`\rho(A)`.

    Raises
    ------
    InvalidBanditError
        Shapes that do not fit, non-finite entries, fewer than two actions, sigma <= 0, or
        :math:`\rho(A) \ge 1`.
    """

    A: np.ndarray
    B: np.ndarray
    omega: np.ndarray
    theta: np.ndarray
    actions: np.ndarray
    sigma: float = 1.0
    name: str = ""
    family: str = field(default="dynamical_linear", init=False)

    def __post_init__(self):
        A = _finite_array(self.A, "A", 2)
        n = A.shape[0]
        if A.shape != (n, n) or n < 1:
            raise InvalidBanditError(f"A must be square (n, n), got {A.shape}")
        U = _finite_array(self.actions, "actions", 2)
        d = U.shape[1]
        B = _finite_array(self.B, "B", 2)
        if B.shape != (n, d):
            raise InvalidBanditError(f"B must have shape (n, d) = ({n}, {d}) (n from A, d from actions), got {B.shape}")
        om = _finite_array(self.omega, "omega", 1)
        th = _finite_array(self.theta, "theta", 1)
        if om.shape != (n,):
            raise InvalidBanditError(f"omega must have shape (n,) = ({n},), got {om.shape}")
        if th.shape != (d,):
            raise InvalidBanditError(f"theta must have shape (d,) = ({d},), got {th.shape}")
        if U.shape[0] < 2:
            raise InvalidBanditError(f"a bandit needs at least two actions, got {U.shape[0]}")
        rho = float(np.max(np.abs(np.linalg.eigvals(A))))
        if not rho < 1.0:
            raise InvalidBanditError(f"the DLB model needs a stable state matrix, spectral radius rho(A) < 1; got {rho:.6g}")
        for k, v in (("A", A), ("B", B), ("omega", om), ("theta", th), ("actions", U)):
            object.__setattr__(self, k, v)
        object.__setattr__(self, "sigma", _positive(self.sigma, "sigma"))

    @property
    def n(self) -> int:
        """State dimension."""
        return int(self.A.shape[0])

    @property
    def d(self) -> int:
        """Action dimension."""
        return int(self.actions.shape[1])

    @property
    def K(self) -> int:
        """Number of actions (arms)."""
        return int(self.actions.shape[0])

    @property
    def spectral_radius(self) -> float:
        return float(np.max(np.abs(np.linalg.eigvals(self.A))))

    @property
    def h(self) -> np.ndarray:
        n = self.n
        return self.theta + self.B.T @ np.linalg.solve((np.eye(n) - self.A).T, self.omega)

    @property
    def means(self) -> np.ndarray:
        return self.actions @ self.h

    def phi(self, rho_bar: float, max_power: int = 2000) -> float:
        r""":math:`\Phi(A) = \sup_{\tau\ge 0}\|A^\tau\|_2/\bar\rho^\tau` for :math:`\bar\rho \ge \rho(A)`
        (1 for normal A with :math:`\bar\rho \ge \rho(A)`), evaluated over :math:`\tau \le` ``max_power``.

        Raises
        ------
        InvalidBanditError
            ``rho_bar`` below the spectral radius or >= 1, or the ratio still growing at ``max_power``.
        """
        if not self.spectral_radius * (1 - 1e-9) <= rho_bar < 1.0:  # rounding of the eigenvalues
            raise InvalidBanditError(f"rho_bar must lie in [rho(A), 1) = [{self.spectral_radius:.6g}, 1), got {rho_bar}")
        if rho_bar == 0.0:
            # A nilpotent: sup over tau of ||A^tau|| rho_bar^-tau is finite only if A = 0
            if np.any(self.A != 0):
                raise InvalidBanditError("rho_bar = 0 needs A = 0")
            return 1.0
        key = (float(rho_bar), int(max_power))
        cache = self.__dict__.setdefault("_phi_cache", {})
        if key in cache:
            return cache[key]
        # the sup is finite iff the ratio stops growing: accept when the second half of the powers
        # never exceeds the maximum over the first half
        M = np.eye(self.n)
        As = self.A / rho_bar
        ratios = np.empty(max_power + 1)
        ratios[0] = 1.0
        for tau in range(1, max_power + 1):
            M = M @ As
            ratios[tau] = float(np.linalg.norm(M, 2))
        half = max_power // 2
        best = float(ratios[:half].max())
        if ratios[half:].max() > best * (1 + 1e-9):
            raise InvalidBanditError(f"||A^t|| / rho_bar^t still grows at t = {max_power}; take a larger rho_bar")
        cache[key] = best
        return best

    def expected_rewards(self, actions) -> np.ndarray:
        r"""Exact expected rewards :math:`\mathbb{E}[y_t] = \langle\omega, \bar x_t\rangle + \langle\theta, u_{a_t}\rangle`,
        :math:`\bar x_{t+1} = A\bar x_t + B u_{a_t}`, :math:`\bar x_0 = 0`, of an action-index sequence.

        Parameters
        ----------
        actions : array_like of int, shape (T,) or (n_runs, T)

        Returns
        -------
        ndarray of float64, same shape as ``actions``.
        """
        a = np.asarray(actions)
        if a.ndim not in (1, 2) or not np.issubdtype(a.dtype, np.integer):
            raise InvalidBanditError(f"actions must be an integer array of shape (T,) or (n_runs, T), got {a.dtype} {a.shape}")
        if a.size and (a.min() < 0 or a.max() >= self.K):
            raise InvalidBanditError(f"actions must lie in [0, {self.K})")
        a2 = np.atleast_2d(a)
        R, T = a2.shape
        x = np.zeros((R, self.n))
        out = np.empty((R, T))
        for t in range(T):
            u = self.actions[a2[:, t]]
            out[:, t] = x @ self.omega + u @ self.theta
            x = x @ self.A.T + u @ self.B.T
        return out[0] if a.ndim == 1 else out

    @classmethod
    def random(cls, rng, n: int = 2, d: int = 2, n_arms: int = 5, rho: float = 0.7, sigma: float = 0.1,
               name: str = "") -> "DynamicalLinearBandit":
        """A random instance: A symmetric with eigenvalues uniform in [-rho, rho] (so Phi(A) = 1 for
        rho_bar >= rho), B, omega, theta with entries uniform in [0, 1], actions uniform on the unit
        sphere's positive orthant."""
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        ev = rng.uniform(-rho, rho, n)
        ev[0] = rho
        A = Q @ np.diag(ev) @ Q.T
        U = np.abs(rng.standard_normal((n_arms, d)))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        return cls(A, rng.uniform(0, 1, (n, d)), rng.uniform(0, 1, n), rng.uniform(0, 1, d), U, sigma, name)


# ----------------------------------------------------------------------------- unit-ball linear bandit
@dataclass(frozen=True, eq=False)
class UnitBallBandit:
    r"""Linear bandit on the unit ball: action :math:`x \in \mathbb{R}^d`, :math:`\|x\|_2 \le 1`,
    reward :math:`\langle x, \theta^*\rangle + \sigma\varepsilon`, :math:`\varepsilon\sim N(0, 1)`.

    The best action is :math:`\theta^*/\|\theta^*\|` with mean :math:`\|\theta^*\|`.
    ``arm_norm`` (1) and ``theta_norm`` are the constants L and S of Abbasi-Yadkori et al. 2011.

    Raises
    ------
    InvalidBanditError
        theta not a non-zero finite 1-D array, sigma <= 0.
    """

    theta: np.ndarray
    sigma: float = 1.0
    name: str = ""
    family: str = field(default="unit_ball", init=False)

    def __post_init__(self):
        th = _finite_array(self.theta, "theta", 1)
        if th.size < 1 or not np.any(th != 0):
            raise InvalidBanditError("theta must be a non-zero 1-D array (the best action is theta/||theta||)")
        object.__setattr__(self, "theta", th)
        object.__setattr__(self, "sigma", _positive(self.sigma, "sigma"))

    @property
    def d(self) -> int:
        return int(self.theta.shape[0])

    @property
    def theta_norm(self) -> float:
        return float(np.linalg.norm(self.theta))

    @property
    def arm_norm(self) -> float:
        return 1.0

    @property
    def mu_star(self) -> float:
        return self.theta_norm

    @property
    def max_abs_mean(self) -> float:
        r""":math:`\max_{\|x\|\le 1}|\langle x, \theta^*\rangle| = \|\theta^*\|`."""
        return self.theta_norm

    @property
    def best_action(self) -> np.ndarray:
        return self.theta / self.theta_norm


# ----------------------------------------------------------------------------- history-dependent bandits
@dataclass(frozen=True, eq=False)
class HistoryBandit:
    r"""Base record of a bandit whose arm means depend on per-arm states driven by the plays.

    Arm i has ``m`` states; pulling it in state s pays ``mean[i, s]`` and moves it to
    ``next_pull[i, s]``; every arm not pulled moves to ``next_idle[i, s]``.  An action pulls a set
    of at most ``max_pulls`` arms (:attr:`action_sets`): the single arms 0..N-1 first (action k
    pulls arm k), then the larger sets by size and lexicographically, then, when ``allow_idle``,
    the empty set (last action).  Use :class:`RecoveringBandit` or :class:`LSDBandit`.
    """

    mean: np.ndarray
    next_pull: np.ndarray
    next_idle: np.ndarray
    initial: np.ndarray
    allow_idle: bool = False
    name: str = ""
    max_pulls: int = 1

    @property
    def N(self) -> int:
        """Number of arms."""
        return int(self.mean.shape[0])

    @property
    def action_sets(self) -> tuple:
        """The arms each action pulls, a tuple of tuples (see the class docstring)."""
        from itertools import combinations

        sets = [c for k in range(1, self.max_pulls + 1) for c in combinations(range(self.N), k)]
        return tuple(sets + ([()] if self.allow_idle else []))

    @property
    def action_masks(self) -> np.ndarray:
        """bool (n_actions, N): ``action_masks[a, i]`` when action a pulls arm i."""
        sets = self.action_sets
        M = np.zeros((len(sets), self.N), bool)
        for a, c in enumerate(sets):
            M[a, list(c)] = True
        return M

    @property
    def n_actions(self) -> int:
        return len(self.action_sets)

    @property
    def n_joint_states(self) -> int:
        return int(self.mean.shape[1]) ** self.N

    def _check_actions(self, actions) -> np.ndarray:
        a = np.asarray(actions)
        if a.ndim not in (1, 2) or not np.issubdtype(a.dtype, np.integer):
            raise InvalidBanditError(f"actions must be an integer array of shape (T,) or (n_runs, T), got {a.dtype} {a.shape}")
        if a.size and (a.min() < 0 or a.max() >= self.n_actions):
            raise InvalidBanditError(f"actions must lie in [0, {self.n_actions})"
                                     + (" (the last one pulls nothing)" if self.allow_idle else ""))
        return a

    def expected_rewards(self, actions) -> np.ndarray:
        """Exact expected reward of every round of an action sequence (T,) or (n_runs, T), from the
        initial states: the sum of the means of the arms the action pulls (0 for the empty set)."""
        a = self._check_actions(actions)
        a2 = np.atleast_2d(a)
        R, T = a2.shape
        masks = self.action_masks
        st = np.tile(self.initial, (R, 1))
        out = np.zeros((R, T))
        arms = np.arange(self.N)[None, :]
        for t in range(T):
            pulled = masks[a2[:, t]]  # (R, N)
            out[:, t] = np.where(pulled, self.mean[arms, st], 0.0).sum(axis=1)
            st = np.where(pulled, self.next_pull[arms, st], self.next_idle[arms, st])
        return out[0] if a.ndim == 1 else out

    def encode(self, states) -> int:
        """Joint state index of per-arm states (mixed radix, arm 0 most significant)."""
        m = self.mean.shape[1]
        idx = 0
        for s in states:
            idx = idx * m + int(s)
        return idx

    def to_mdp(self):
        r"""The deterministic MDP on joint states (S = m^N for m per-arm states), one action per entry
        of :attr:`action_sets`; ``R[s, a]`` the expected reward, ``gamma = 1``, ``mu0`` the point mass
        on the initial joint state.

        Raises
        ------
        InvalidBanditError
            More than ``MAX_JOINT_STATES`` joint states.
        """
        import scipy.sparse as sp

        from .model import TabularMDP

        N, m = self.mean.shape
        S = self.n_joint_states
        if S > MAX_JOINT_STATES:
            raise InvalidBanditError(f"the joint state space has {m}^{N} = {S:,} states, above {MAX_JOINT_STATES:,}")
        masks = self.action_masks
        A = masks.shape[0]
        digits = np.array(np.unravel_index(np.arange(S), (m,) * N)).T  # (S, N)
        radix = m ** np.arange(N - 1, -1, -1)
        arms = np.arange(N)[None, :]
        idle, pull, mean = self.next_idle[arms, digits], self.next_pull[arms, digits], self.mean[arms, digits]
        R = np.zeros((S, A))
        cols = np.empty((S, A), np.int64)
        for k in range(A):
            cols[:, k] = np.where(masks[k], pull, idle) @ radix
            R[:, k] = (mean * masks[k]).sum(axis=1)
        P = sp.csr_matrix((np.ones(S * A), cols.ravel(), np.arange(S * A + 1)), shape=(S * A, S))
        mu0 = np.zeros(S)
        mu0[self.encode(self.initial)] = 1.0
        labels = tuple("idle" if not c else "pull " + "+".join(map(str, c)) for c in self.action_sets)
        return TabularMDP(P, R, 1.0, mu0=mu0, action_labels=labels, name=self.name or type(self).__name__)


def _check_unit_means(r, name):
    bad = np.argwhere((r < 0) | (r > 1))
    if bad.size:
        i, j = bad[0]
        raise InvalidBanditError(f"{name}[{i}, {j}] = {r[i, j]} lies outside the reward range [0, 1]")


class RecoveringBandit(HistoryBandit):
    r"""Bandit with recovering rewards (Simchi-Levi, Zheng & Zhu 2021, model section; section number
    not checked against the text): up to ``max_pulls`` (their K) of the N arms per period.

    Parameters
    ----------
    recovery : array_like (N, z_max)
        ``recovery[i, z-1]`` = :math:`r_i(z)`, the mean reward (in [0, 1]) of pulling arm i after z
        periods since its last pull (z = 1: it was pulled in the previous period); for
        :math:`z \ge z_{\max}` the mean stays :math:`r_i(z_{\max})`.  Non-decreasing in z.
    initial : array_like of int (N,), optional
        Idle times at the start, in [1, z_max]; default z_max (fully recovered).
    max_pulls : int, default 1
        At most this many arms are pulled per period (1 <= max_pulls <= N); the rewards add up.
    name : str

    In each period the learner pulls a set of at most ``max_pulls`` arms, possibly none (the last
    action, reward 0): resting every arm can pay.

    Raises
    ------
    InvalidBanditError
        Fewer than two arms, a mean outside [0, 1], a recovery function that decreases, an initial
        idle time outside [1, z_max], max_pulls outside [1, N].
    """

    def __init__(self, recovery, initial=None, name: str = "", max_pulls: int = 1):
        r = _finite_array(recovery, "recovery", 2)
        N, m = r.shape
        if N < 2 or m < 1:
            raise InvalidBanditError(f"recovery must have shape (N, z_max) with N >= 2 arms, z_max >= 1; got {r.shape}")
        _check_unit_means(r, "recovery")
        dec = np.argwhere(np.diff(r, axis=1) < 0)
        if dec.size:
            i, j = dec[0]
            raise InvalidBanditError(f"recovery functions must be non-decreasing in the idle time; "
                                     f"r_{i}({j + 2}) = {r[i, j + 1]} < r_{i}({j + 1}) = {r[i, j]}")
        z0 = np.full(N, m, np.int64) if initial is None else np.asarray(initial)
        if z0.shape != (N,) or not np.issubdtype(z0.dtype, np.integer) or z0.min() < 1 or z0.max() > m:
            raise InvalidBanditError(f"initial idle times must be {N} integers in [1, {m}], got {initial!r}")
        idx = np.arange(m)
        nxt_pull = np.zeros((N, m), np.int64)
        nxt_idle = np.tile(np.minimum(idx + 1, m - 1), (N, 1)).astype(np.int64)
        for a in (nxt_pull, nxt_idle):
            a.flags.writeable = False
        init = (z0 - 1).astype(np.int64)
        init.flags.writeable = False
        if isinstance(max_pulls, bool) or not isinstance(max_pulls, (int, np.integer)) or not 1 <= max_pulls <= N:
            raise InvalidBanditError(f"max_pulls must be an integer in [1, N] = [1, {N}], got {max_pulls!r}")
        super().__init__(r, nxt_pull, nxt_idle, init, True, name, int(max_pulls))

    @property
    def recovery(self) -> np.ndarray:
        return self.mean

    @property
    def z_max(self) -> int:
        return int(self.mean.shape[1])

    def __repr__(self):
        return (f"RecoveringBandit(N={self.N}, z_max={self.z_max}, max_pulls={self.max_pulls}"
                f"{', name=' + repr(self.name) if self.name else ''})")


class LSDBandit(HistoryBandit):
    r"""Last-switch-dependent bandit (Laforgue et al. 2022), one arm played per round.

    Arm i's state :math:`\tau_i \in \{-m, \dots, -1, 1, \dots, m\}`: :math:`\tau_i = s > 0` when it
    has been played in each of the last s rounds (capped at m), :math:`\tau_i = -s` when it has
    rested for the last s rounds (capped).  Playing it pays :math:`\mu_i(\tau_i)` and moves it to
    :math:`\min(\tau_i + 1, m)` (or 1 after a rest); resting moves it to :math:`\max(\tau_i - 1, -m)`
    (or -1 after a play).

    Parameters
    ----------
    rest_payoff : array_like (N, m)
        ``rest_payoff[i, s-1]`` = :math:`\mu_i(-s)`: payoff of playing arm i after s rounds of rest.
    play_payoff : array_like (N, m)
        ``play_payoff[i, s-1]`` = :math:`\mu_i(s)`: payoff of playing it again after s consecutive plays.
    initial : array_like of int (N,), optional
        Initial states :math:`\tau_i` (non-zero, |tau| <= m); default -m (fully rested).
    monotone : bool, default True
        Require the monotone form assumed here for Foussoul et al. (form not checked against their
        text): payoff non-decreasing in the rest length and non-increasing in the play length.

    Raises
    ------
    InvalidBanditError
        Shapes, payoffs outside [0, 1], monotonicity violated (when required), bad initial states.
    """

    def __init__(self, rest_payoff, play_payoff, initial=None, monotone: bool = True, name: str = ""):
        rp = _finite_array(rest_payoff, "rest_payoff", 2)
        pp = _finite_array(play_payoff, "play_payoff", 2)
        if rp.shape != pp.shape or rp.shape[0] < 2 or rp.shape[1] < 1:
            raise InvalidBanditError(f"rest_payoff and play_payoff must have the same shape (N, m), N >= 2; "
                                     f"got {rp.shape} and {pp.shape}")
        _check_unit_means(rp, "rest_payoff")
        _check_unit_means(pp, "play_payoff")
        N, m = rp.shape
        if monotone:
            for nm, a, sense in (("rest_payoff", rp, 1), ("play_payoff", pp, -1)):
                bad = np.argwhere(sense * np.diff(a, axis=1) < 0)
                if bad.size:
                    i, j = bad[0]
                    raise InvalidBanditError(f"monotone payoffs: {nm}[{i}] must be {'non-decreasing' if sense > 0 else 'non-increasing'}"
                                             f" in the run length; entries {j} and {j + 1} are {a[i, j]}, {a[i, j + 1]}"
                                             f" (pass monotone=False for general LSD payoffs)")
        # per-arm state index: tau = -m..-1 -> 0..m-1, tau = 1..m -> m..2m-1
        mean = np.concatenate([rp[:, ::-1], pp], axis=1)
        j = np.arange(2 * m)
        tau = np.where(j < m, j - m, j - m + 1)
        nxt_pull = np.where(tau < 0, m, np.minimum(j + 1, 2 * m - 1))
        nxt_idle = np.where(tau > 0, m - 1, np.maximum(j - 1, 0))
        tau0 = np.full(N, -m, np.int64) if initial is None else np.asarray(initial)
        if (tau0.shape != (N,) or not np.issubdtype(tau0.dtype, np.integer) or np.any(tau0 == 0)
                or np.abs(tau0).max() > m):
            raise InvalidBanditError(f"initial states must be {N} non-zero integers with |tau| <= {m}, got {initial!r}")
        init = np.where(tau0 < 0, tau0 + m, tau0 + m - 1).astype(np.int64)
        arrs = [np.ascontiguousarray(mean), np.tile(nxt_pull, (N, 1)).astype(np.int64),
                np.tile(nxt_idle, (N, 1)).astype(np.int64), init]
        for a in arrs:
            a.flags.writeable = False
        super().__init__(arrs[0], arrs[1], arrs[2], arrs[3], False, name)

    @property
    def m(self) -> int:
        return int(self.mean.shape[1] // 2)

    def state_values(self) -> np.ndarray:
        """The :math:`\\tau` value of each per-arm state index, (2m,) int64."""
        m = self.m
        j = np.arange(2 * m)
        return np.where(j < m, j - m, j - m + 1).astype(np.int64)

    def __repr__(self):
        return f"LSDBandit(N={self.N}, m={self.m}{', name=' + repr(self.name) if self.name else ''})"

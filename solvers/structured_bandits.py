r"""Learning and planning on structured bandits (:mod:`mdpkit.structured_bandits`).

* :func:`run_dynlin_ucb`: DynLin-UCB (Mussi, Metelli & Restelli 2023, "Dynamical Linear Bandits",
  ICML, Alg. 1; number not checked against the text: constants and epoch schedule as in the authors'
  code, github.com/marcomussi/DLB).  Epoch m holds one action for
  :math:`H_m = 1 + \lfloor \log m / \log(1/\bar\rho)\rfloor` rounds so the hidden state nears its
  steady state, then regresses the epoch's last reward on the action (ridge, ``lam``) to estimate
  the cumulative Markov parameter h, and picks the next action optimistically with their radius
  :math:`\beta_t`.  Exact pseudo-regret: the expected reward of an action sequence is linear in
  the actions (:meth:`~mdpkit.structured_bandits.DynamicalLinearBandit.expected_rewards`), so each
  run's trace :math:`\sum_{s \le t} (J^* - \mathbb{E}[y_s \mid u_{0:s}])` carries no reward noise.
* :func:`run_unit_ball_oful`: OFUL (Abbasi-Yadkori, Pal & Szepesvari 2011, Alg. 1, radius of Thm 2)
  with the unit ball as the action set; the optimistic action in closed form up to a 1-D root
  (:func:`mdpkit._kernels.structured_bandits.ball_ucb_argmax`); exact per-round regret
  :math:`\|\theta^*\| - \langle\theta^*, x_t\rangle`.
* :func:`plan_history_bandit`, :func:`brute_force_plan`, :func:`history_optimal_gain`,
  :func:`sequence_regret`: exact planning on recovering and last-switch-dependent bandits through
  their MDP reduction (:meth:`~mdpkit.structured_bandits.HistoryBandit.to_mdp`), solved by
  :func:`mdpkit.solvers.backward_induction` (finite horizon) or by Karp's maximum-mean-cycle
  algorithm (average reward of the deterministic MDP), with brute-force enumeration of action
  sequences as the independent oracle.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import structured_bandits as _ks
from mdpkit.results import LearningResult
from mdpkit.structured_bandits import DynamicalLinearBandit, HistoryBandit, UnitBallBandit

__all__ = [
    "BallLearningResult",
    "HistoryPlan",
    "brute_force_plan",
    "dynlin_epoch_ends",
    "dynlin_paper_constants",
    "history_optimal_gain",
    "plan_history_bandit",
    "run_dynlin_ucb",
    "run_unit_ball_oful",
    "sequence_regret",
]


def _horizon(T) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise InvalidArgumentError(f"horizon must be an integer >= 1, got {T!r}")
    return int(T)


def _n_runs(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidArgumentError(f"n_runs must be an integer >= 1, got {n!r}")
    return int(n)


def _check_variant(name, variant, lam, width) -> float:
    """Validate ``variant`` ("paper" | "practical"), ``lam`` > 0 and ``width``; return the fixed
    width of the practical variant (default 1) or 0.0 for the paper's radius."""
    if variant not in ("paper", "practical"):
        raise InvalidArgumentError(f"{name}: unknown variant {variant!r}; available: paper, practical")
    if not (isinstance(lam, (int, float, np.floating)) and lam > 0 and math.isfinite(lam)):
        raise InvalidArgumentError(f"lam must be a positive finite number, got {lam!r}")
    if variant == "paper":
        if width is not None:
            raise InvalidArgumentError(f"{name}: the paper variant takes no width (use variant='practical')")
        return 0.0
    w = 1.0 if width is None else float(width)
    if not (w > 0 and math.isfinite(w)):
        raise InvalidArgumentError(f"width must be > 0, got {width}")
    return w


def _seeds32(seed, n_runs):
    from .bandits import spawn_seeds

    seeds = spawn_seeds(seed, n_runs)
    s32 = np.array([np.random.default_rng(int(x)).integers(0, 2 ** 32) for x in seeds], dtype=np.int64)
    return seeds, s32


def _result(cls, *, actions, rewards, inst_regret, seeds, method, options, t0, certificate, **extra):
    pseudo = np.cumsum(inst_regret, axis=1)
    er = pseudo.mean(axis=0)
    K = extra.pop("K")
    n_pulls = np.stack([np.bincount(a, minlength=K) for a in actions]).astype(np.int64)
    for a in (actions, rewards, pseudo, er, n_pulls, seeds, *extra.values()):
        a.flags.writeable = False
    return cls(actions=actions, rewards=rewards, pseudo_regret=pseudo, expected_regret=er,
               expected_regret_exact=False, n_pulls=n_pulls, seeds=seeds, method=method, options=options,
               wall_time=time.perf_counter() - t0, certificate=certificate, **extra)


# ----------------------------------------------------------------------------- DynLin-UCB
def dynlin_epoch_ends(T: int, rho_bar: float) -> np.ndarray:
    r"""Epoch schedule of DynLin-UCB: int64 (T,), 1 at the last round of each epoch.

    Epoch m = 1, 2, ... lasts :math:`H_m = 1 + \lfloor \log m/\log(1/\bar\rho)\rfloor` rounds
    (every round is an epoch when :math:`\bar\rho < 10^{-6}`, as in the authors' code).  The
    authors' code runs its first epoch one round longer (an indexing detail); here epoch 1 lasts
    :math:`H_1 = 1` round.
    """
    T = _horizon(T)
    out = np.zeros(T, np.int64)
    if rho_bar < 1e-6:
        out[:] = 1
        return out
    t, m = 0, 1
    while True:
        t += 1 + int(math.floor(math.log(m) / math.log(1.0 / rho_bar)))
        if t > T:
            break
        out[t - 1] = 1
        m += 1
    return out


def dynlin_paper_constants(instance: DynamicalLinearBandit, rho_bar: float) -> dict:
    r"""The constants of DynLin-UCB's radius, as the authors' code computes them from norm bounds:

    :math:`c_1 = \Theta + \Omega B\Phi/(1-\bar\rho)`, :math:`c_2 = U\Omega\Phi(UB/(1-\bar\rho) + X)`
    with :math:`X = U/(1-\bar\rho)`, :math:`\bar\sigma^2 = \sigma^2(1 + \Omega^2\Phi^2/(1-\bar\rho^2))`;
    :math:`\Theta = \|\theta\|`, :math:`\Omega = \|\omega\|`, :math:`B = \|B\|_2`,
    :math:`U = \max_k\|u_k\|`, :math:`\Phi = \Phi(A)` (:meth:`DynamicalLinearBandit.phi`).
    """
    Th, Om = float(np.linalg.norm(instance.theta)), float(np.linalg.norm(instance.omega))
    Bn = float(np.linalg.norm(instance.B, 2))
    U = float(np.linalg.norm(instance.actions, axis=1).max())
    Phi = instance.phi(rho_bar)
    X = U / (1.0 - rho_bar)
    return {"c1": Th + Om * Bn * Phi / (1.0 - rho_bar), "c2": U * Om * Phi * (U * Bn / (1.0 - rho_bar) + X),
            "bar_sigma_sq": instance.sigma ** 2 * (1.0 + Om ** 2 * Phi ** 2 / (1.0 - rho_bar ** 2)), "u_norm": U,
            "phi": Phi}


def run_dynlin_ucb(instance: DynamicalLinearBandit, horizon: int, n_runs: int = 1, seed=0, *,
                   variant: str = "paper", lam: float = 1.0, rho_bar: float | None = None,
                   width: float | None = None) -> LearningResult:
    r"""DynLin-UCB on a dynamical linear bandit; exact pseudo-regret traces against :math:`T J^*`.

    Parameters
    ----------
    instance : DynamicalLinearBandit
    horizon, n_runs, seed
        As :func:`mdpkit.solvers.bandits.run_bandit` (per-run seeds spawned from one SeedSequence).
    variant : {"paper", "practical"}
        ``"paper"``: the radius :math:`\beta_t = c_1\sqrt\lambda + \frac{c_2}{\sqrt\lambda}\log(e(t+1))
        + \sqrt{2\bar\sigma^2(\log T + \frac d2\log(1 + tU^2/(d\lambda)))}`
        (:func:`dynlin_paper_constants`), ``rho_bar`` in :math:`[\rho(A), 1)` (default
        :math:`\rho(A)`), the rate bound attached.  ``"practical"``: a fixed ``width`` (default 1)
        and any ``rho_bar`` in [0, 1) (0: one-round epochs, i.e. LinUCB that ignores the dynamics).
    lam : float
        Ridge regularisation, > 0.

    Returns
    -------
    LearningResult
        ``pseudo_regret[i, t]`` :math:`= \sum_{s\le t}(J^* - \mathbb{E}[y_s\mid u_{0:s}])` exact per
        run; ``expected_regret`` its mean over runs (``expected_regret_exact`` False); ``certificate``
        :func:`mdpkit.bounds.bandits.dynlin_ucb_regret_rate` for the paper variant (kind RATE_ONLY).

    Raises
    ------
    InvalidArgumentError
        Not a DynamicalLinearBandit, unknown variant, rho_bar out of range, lam or width <= 0.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, DynamicalLinearBandit):
        raise InvalidArgumentError(f"instance must be a DynamicalLinearBandit, got {type(instance).__name__}")
    T, R = _horizon(horizon), _n_runs(n_runs)
    w = _check_variant("dynlin_ucb", variant, lam, width)
    rho = instance.spectral_radius
    rb = rho if rho_bar is None else float(rho_bar)
    if variant == "paper":
        if not rho * (1 - 1e-9) <= rb < 1.0:
            raise InvalidArgumentError(f"dynlin_ucb[paper]: rho_bar must lie in [rho(A), 1) = [{rho:.6g}, 1), got {rb}")
        c = dynlin_paper_constants(instance, rb)
        params = np.array([lam, instance.sigma, c["c1"], c["c2"], c["bar_sigma_sq"], c["u_norm"], math.log(T), 0.0])
    else:
        if not 0.0 <= rb < 1.0:
            raise InvalidArgumentError(f"dynlin_ucb: rho_bar must lie in [0, 1), got {rb}")
        params = np.array([lam, instance.sigma, 0.0, 0.0, 0.0, 1.0, math.log(T), w])
    ends = dynlin_epoch_ends(T, rb)
    seeds, s32 = _seeds32(seed, R)
    actions = np.zeros((R, T), np.int64)
    rewards = np.zeros((R, T))
    means = np.zeros((R, T))
    # writable C-contiguous float64 copies: the instance's arrays are read-only, which Numba types
    # differently (one kernel signature only)
    f = lambda a: np.array(a, dtype=np.float64, order="C")  # noqa: E731
    _ks.run_dynlin_runs(params, f(instance.actions), f(instance.A), f(instance.B), f(instance.omega),
                        f(instance.theta), ends, s32, actions, rewards, means)
    cert = None
    if variant == "paper":
        from mdpkit.bounds import bandits as _bb

        cert = _bb.dynlin_ucb_regret_rate(instance, T, rb)
    opts = {"algorithm": "dynlin_ucb", "variant": variant, "lam": float(lam), "rho_bar": rb, "horizon": T,
            "n_runs": R, "instance": instance.name or "dynamical_linear",
            "width": None if variant == "paper" else float(params[7])}
    return _result(LearningResult, actions=actions, rewards=rewards, inst_regret=instance.mu_star - means,
                   seeds=seeds, method="dynlin_ucb" + ("" if variant == "paper" else "[practical]"), options=opts,
                   t0=t0, certificate=cert, K=instance.K)


# ----------------------------------------------------------------------------- OFUL on the unit ball
@dataclass(frozen=True, eq=False, repr=False)
class BallLearningResult(LearningResult):
    """A unit-ball linear-bandit run: the :class:`~mdpkit.results.LearningResult` fields, where the
    arm set is continuous, so ``actions`` is all 0 and ``n_pulls`` (n_runs, 1) counts every round,
    plus

    Attributes
    ----------
    action_vectors : ndarray of float64, shape (n_runs, T, d)
        The action :math:`x_t` (unit norm) of every round.
    """

    action_vectors: np.ndarray | None = None


def run_unit_ball_oful(instance: UnitBallBandit, horizon: int, n_runs: int = 1, seed=0, *, variant: str = "paper",
                       lam: float = 1.0, delta: float = 0.05, width: float | None = None) -> BallLearningResult:
    r"""OFUL with the unit ball as the action set (Abbasi-Yadkori, Pal & Szepesvari 2011, Alg. 1).

    Plays :math:`x_t = \arg\max_{\|x\|\le 1}\langle x, \hat\theta_t\rangle + \sqrt{\beta_t}\|x\|_{V_t^{-1}}`,
    the radius of their Thm 2 (``"paper"``; R = instance.sigma, S = ||theta*||) or a fixed ``width``
    (``"practical"``).  ``pseudo_regret`` is exact per run: :math:`\sum_{s\le t}\|\theta^*\| -
    \langle\theta^*, x_s\rangle`.  ``certificate``: the high-probability bound of their Thm 3
    (:func:`mdpkit.bounds.bandits.oful_regret_bound`) for the paper variant when it applies
    (||theta*|| <= 1, lam >= 1).

    Raises
    ------
    InvalidArgumentError
        Not a UnitBallBandit, unknown variant, lam <= 0, delta outside (0, 1), width <= 0.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, UnitBallBandit):
        raise InvalidArgumentError(f"instance must be a UnitBallBandit, got {type(instance).__name__}")
    T, R = _horizon(horizon), _n_runs(n_runs)
    w = _check_variant("oful", variant, lam, width)
    if not 0.0 < delta < 1.0:
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta}")
    params = np.array([lam, instance.sigma, instance.theta_norm, delta, w])
    seeds, s32 = _seeds32(seed, R)
    X = np.zeros((R, T, instance.d))
    inst = np.zeros((R, T))
    _ks.run_ball_oful_runs(params, np.array(instance.theta, dtype=np.float64), float(instance.sigma), s32, X, inst)
    rewards = np.einsum("rtd,d->rt", X, instance.theta)  # mean rewards: the noise never enters the regret
    cert = None
    if variant == "paper":
        from mdpkit.bounds import bandits as _bb

        try:
            cert = _bb.oful_regret_bound(instance, T, lam=lam, delta=delta)
        except _bb.BoundNotApplicableError:
            cert = None
    opts = {"algorithm": "oful_ball", "variant": variant, "lam": float(lam), "delta": float(delta), "width": w,
            "horizon": T, "n_runs": R}
    return _result(BallLearningResult, actions=np.zeros((R, T), np.int64), rewards=rewards, inst_regret=inst,
                   seeds=seeds, method="oful_ball" + ("" if variant == "paper" else "[practical]"), options=opts,
                   t0=t0, certificate=cert, K=1, action_vectors=X)


# ----------------------------------------------------------------------------- history-dependent bandits
@dataclass(frozen=True)
class HistoryPlan:
    """An optimal T-step plan of a history-dependent bandit.

    Attributes
    ----------
    value : float
        Optimal expected total reward over the horizon from the initial states.
    actions : ndarray of int64 (T,)
        One optimal action sequence (action N = pull nothing, where allowed).
    optimal_values : ndarray of float64 (T + 1,)
        ``optimal_values[t]`` = optimal expected reward over the first t rounds (t-step problems).
    solve_result : object
        The :func:`mdpkit.solvers.backward_induction` result (None for brute force).
    """

    value: float
    actions: np.ndarray
    optimal_values: np.ndarray
    solve_result: object = None


def _check_history(instance):
    if not isinstance(instance, HistoryBandit):
        raise InvalidArgumentError(f"instance must be a RecoveringBandit or LSDBandit, got {type(instance).__name__}")


def plan_history_bandit(instance: HistoryBandit, horizon: int) -> HistoryPlan:
    """Exact T-step planning by backward induction on :meth:`HistoryBandit.to_mdp`.

    Raises
    ------
    InvalidArgumentError
        Not a history-dependent bandit, bad horizon; InvalidBanditError if the joint state space
        is too large.
    """
    from .finite_horizon import backward_induction

    _check_history(instance)
    T = _horizon(horizon)
    mdp = instance.to_mdp()
    res = backward_induction(mdp, T)
    s = instance.encode(instance.initial)
    P = mdp.P.tocsr()
    acts = np.empty(T, np.int64)
    for t in range(T):
        a = int(res.policy[t, s])
        acts[t] = a
        s = int(P.indices[P.indptr[s * mdp.A + a]])
    s0 = instance.encode(instance.initial)
    opt = np.array([float(res.v[T - t, s0]) for t in range(T + 1)])
    return HistoryPlan(float(res.v[0, s0]), acts, opt, res)


def brute_force_plan(instance: HistoryBandit, horizon: int, *, max_sequences: int = 2_000_000) -> HistoryPlan:
    """Exact T-step planning by enumerating every action sequence (the independent oracle of
    :func:`plan_history_bandit`); ties go to the lexicographically first sequence.

    Raises
    ------
    InvalidArgumentError
        More than ``max_sequences`` sequences.
    """
    _check_history(instance)
    T = _horizon(horizon)
    A = instance.n_actions
    if A ** T > max_sequences:
        raise InvalidArgumentError(f"{A}^{T} = {A ** T:,} action sequences exceed max_sequences = {max_sequences:,}")
    seqs = np.array(list(itertools.product(range(A), repeat=T)), dtype=np.int64)
    cum = np.cumsum(instance.expected_rewards(seqs), axis=1)
    k = int(np.argmax(cum[:, -1]))
    opt = np.concatenate([[0.0], cum.max(axis=0)])
    return HistoryPlan(float(cum[k, -1]), seqs[k], opt, None)


def sequence_regret(instance: HistoryBandit, actions, plan: HistoryPlan | None = None) -> np.ndarray:
    r"""Exact regret of action sequences (T,) or (n_runs, T) against the optimal t-step values:
    ``out[..., t]`` :math:`= V^*_{t+1} - \sum_{s\le t} \bar r_s` (same shape as ``actions``)."""
    a = np.asarray(actions)
    T = a.shape[-1]
    plan = plan_history_bandit(instance, T) if plan is None else plan
    if plan.optimal_values.shape[0] < T + 1:
        raise InvalidArgumentError(f"plan covers {plan.optimal_values.shape[0] - 1} rounds, actions {T}")
    return plan.optimal_values[1:T + 1] - np.cumsum(instance.expected_rewards(a), axis=-1)


def history_optimal_gain(instance: HistoryBandit) -> float:
    r"""Optimal long-run average reward from the initial states: the maximum mean weight of a cycle
    reachable from the initial joint state in the deterministic MDP (Karp 1978, "A characterization
    of the minimum cycle mean in a digraph", Thm 1, applied to the negated weights):
    :math:`g^* = \max_v \min_{0\le k<n} (D_n(v) - D_k(v))/(n-k)` with :math:`D_k(v)` the largest
    weight of a k-edge walk from the initial state to v (``-inf`` if none) over the n reachable states.
    """
    _check_history(instance)
    mdp = instance.to_mdp()
    S, A = mdp.S, mdp.A
    P = mdp.P.tocsr()
    src = np.repeat(np.arange(S), A)
    dst = P.indices.astype(np.int64)
    w = mdp.R.ravel()
    s0 = instance.encode(instance.initial)
    # restrict to the states reachable from s0
    reach = np.zeros(S, bool)
    reach[s0] = True
    frontier = [s0]
    while frontier:
        nxt = np.unique(dst[np.isin(src, frontier)])
        new = nxt[~reach[nxt]]
        reach[new] = True
        frontier = new.tolist()
    keep = reach[src]
    n = int(reach.sum())
    if n > 4000:
        raise InvalidArgumentError(f"{n} reachable joint states: Karp's O(n^2) table is limited to 4000 states")
    relabel = np.cumsum(reach) - 1
    src, dst, w = relabel[src[keep]], relabel[dst[keep]], w[keep]
    D = np.full((n + 1, n), -np.inf)
    D[0, relabel[s0]] = 0.0
    for k in range(n):
        cand = D[k, src] + w
        np.maximum.at(D[k + 1], dst, cand)
    with np.errstate(invalid="ignore"):
        ks = np.arange(n)[:, None]
        ratios = (D[n][None, :] - D[:n]) / (n - ks)
        ratios = np.where(np.isfinite(D[:n]), ratios, np.inf)
        per_v = ratios.min(axis=0)
    per_v = np.where(np.isfinite(D[n]), per_v, -np.inf)
    return float(per_v.max())

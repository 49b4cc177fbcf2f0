r"""Online tabular RL as published: episodic optimism and posterior sampling, UCRL2, Q-learning.

Episodic setting (:func:`run_episodes`)
    ``K`` episodes of ``H`` steps on a :class:`~mdpkit.TabularMDP` (its ``P``, ``R``, ``R_sas``,
    ``mu0``; ``mdp.gamma`` is not used: the objective is the undiscounted sum of the ``H``
    rewards, the papers' setting).  The optimal values :math:`V^*_h` come from exact backward
    induction, and the *exact* regret of episode ``k`` is
    :math:`V^*_1(s^k_1) - V^{\pi_k}_1(s^k_1)`, with :math:`V^{\pi_k}` the exact finite-horizon
    value of the executed non-stationary policy on the true model (no Monte Carlo).  Algorithms:

    ``"ucbvi-ch"``, ``"ucbvi-bf"``
        UCBVI with Chernoff-Hoeffding / Bernstein-Freedman bonuses (Azar, Osband & Munos 2017,
        Algorithms 1-4, Theorems 1-2).  Known rewards, as in the paper.
    ``"ucb-h"``, ``"ucb-b"``
        Optimistic Q-learning (Jin, Allen-Zhu, Bubeck & Jordan 2018, Algorithms 1-2), learning
        rate :math:`(H+1)/(H+t)`.
    ``"psrl"``
        Posterior sampling (Osband, Russo & Van Roy 2013, Algorithm 1) with independent
        Dirichlet posteriors on the rows of ``P`` and known mean rewards.

Average reward (:func:`ucrl2`)
    UCRL2 with extended value iteration (Jaksch, Ortner & Auer 2010), regret against
    :math:`T g^*`.

Discounted Q-learning (:func:`q_learning`, :func:`orchestrated_q_learning`)
    Watkins' Q-learning with the step sizes of Even-Dar & Mansour (2003), on a generative model
    (synchronous) or along one trajectory, and the orchestrated value mapping of Fatemi &
    Tavakoli (2022), whose log-space instance is log Q-learning (van Seijen et al. 2019).

Randomness: one ``numpy.random.SeedSequence(seed)`` spawns a child per run, each child gives the
run's integer seed (``result.seeds``), and ``numpy.random.default_rng(seeds[i])`` draws every
uniform of run ``i`` (start states, transitions, posterior samples) before or between kernel
calls, so results are bitwise reproducible and any run can be replayed alone.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from mdpkit._exceptions import ConvergenceWarning, InvalidArgumentError
from mdpkit._kernels import online as K_
from mdpkit._validation import check_int
from mdpkit.bounds import online as B_
from mdpkit.model import TabularMDP
from mdpkit.results import LearningResult, ResultRecord

from ._common import user_stacklevel

__all__ = [
    "ALGORITHMS",
    "AverageRewardLearningResult",
    "EpisodicResult",
    "QLearningResult",
    "UCB_Q_CONSTANT",
    "episodes_cell",
    "online_model",
    "orchestrated_q_learning",
    "q_learning",
    "run_episodes",
    "run_seeds",
    "ucrl2",
]

#: Episodic algorithms accepted by :func:`run_episodes`.
ALGORITHMS = ("psrl", "ucb-b", "ucb-h", "ucbvi-bf", "ucbvi-ch")

#: Bonus constant ``c`` of UCB-H (and ``c1``, ``c2`` of UCB-B) for ``variant="paper"``.  Jin et al.
#: (2018) prove Theorem 1 "for some absolute constant c"; the Azuma-Hoeffding step of their
#: Lemma 4.3 needs ``c sqrt(H^3 iota / t) >= H sqrt(2 sum_i (alpha_t^i)^2 ln(2SAT/p))`` with
#: ``sum_i (alpha_t^i)^2 <= 2H/t`` (their Lemma 4.1), which ``c = 2 sqrt(2)`` satisfies whenever
#: ``SAT/p >= 2``.  This derivation is ours, not printed in the paper.
UCB_Q_CONSTANT = 2.0 * math.sqrt(2.0)

_DENSE_LIMIT = 4_000_000


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False, repr=False)
class EpisodicResult(LearningResult):
    r"""An episodic learning run (:func:`run_episodes`); ``T`` below is the number of episodes ``K``.

    Base fields: ``actions (n_runs, K)`` the first action of each episode; ``rewards (n_runs, K)``
    the realised return of each episode; ``pseudo_regret (n_runs, K)`` the cumulative *exact*
    regret :math:`\sum_{k' \le k} V^*_1(s^{k'}_1) - V^{\pi_{k'}}_1(s^{k'}_1)` (the papers'
    :math:`\mathrm{Regret}(k)`, exact given the policies played); ``expected_regret (K,)`` its
    mean over runs (a Monte Carlo average over the algorithm's randomness, so
    ``expected_regret_exact`` is False); ``n_pulls (n_runs, A)`` counts of first actions;
    ``certificate`` the paper's bound at ``K`` (None for non-paper variants).

    Attributes
    ----------
    episode_regret : ndarray of float64, shape (n_runs, K)
        Exact regret of each episode, :math:`V^*_1(s_1) - V^{\pi_k}_1(s_1) \ge 0`.
    start_states : ndarray of int64, shape (n_runs, K)
    optimism_gap : ndarray of float64, shape (n_runs, K)
        :math:`\min_{h,s,a} (Q_{k,h}(s,a) - Q^*_h(s,a))` of the optimistic table the policy of
        episode ``k`` is greedy for (UCBVI, UCB-H/B; NaN for PSRL); ``>= 0`` means optimism held.
    v_star : ndarray of float64, shape (H+1, S)
        Optimal values by backward induction (``v_star[H] = 0``).
    H : int
        Episode length.
    """

    episode_regret: np.ndarray | None = None
    start_states: np.ndarray | None = None
    optimism_gap: np.ndarray | None = None
    v_star: np.ndarray | None = None
    H: int = 0

    @property
    def n_episodes(self) -> int:
        return int(self.actions.shape[1])


@dataclass(frozen=True, eq=False, repr=False)
class AverageRewardLearningResult(LearningResult):
    r"""A UCRL2 run (:func:`ucrl2`); ``T`` is the number of steps.

    Base fields: ``actions``, ``rewards`` ``(n_runs, T)`` per step; ``pseudo_regret`` the
    cumulative :math:`\sum_{t'\le t} (g^* - R(s_{t'}, a_{t'}))`; ``expected_regret`` its mean over
    runs (Monte Carlo, ``expected_regret_exact`` False).

    Attributes
    ----------
    regret : ndarray of float64, shape (n_runs, T)
        Jaksch et al.'s regret :math:`t g^* - \sum_{t' \le t} r_{t'}` (realised rewards).
    states : ndarray of int64, shape (n_runs, T)
        State before each step.
    n_episodes : ndarray of int64, shape (n_runs,)
    episode_starts : ndarray of int64, shape (n_runs, max episodes)
        Step at which each episode started (``-1`` padding).
    evi_iterations : ndarray of int64, shape (n_runs, max episodes)
        Extended value iteration sweeps per episode (``max_evi_iter + 1``: did not converge, and a
        ``ConvergenceWarning`` was issued; 0 padding).
    gain : float
        :math:`g^*` (relative value iteration, certified to ``gain_tolerance``).
    """

    regret: np.ndarray | None = None
    states: np.ndarray | None = None
    n_episodes: np.ndarray | None = None
    episode_starts: np.ndarray | None = None
    evi_iterations: np.ndarray | None = None
    gain: float = float("nan")


@dataclass(frozen=True, eq=False, repr=False)
class QLearningResult(ResultRecord):
    r"""Discounted Q-learning runs (:func:`q_learning`, :func:`orchestrated_q_learning`).

    Attributes
    ----------
    q : ndarray of float64, shape (n_runs, S, A)
        Final tables (masked actions ``-inf``).
    errors : ndarray of float64, shape (n_runs, n_checkpoints)
        :math:`\|Q_t - Q^*\|_\infty` after ``checkpoints[j]`` iterations.
    checkpoints : ndarray of int64
    q_star : ndarray of float64, shape (S, A)
    seeds : ndarray of int64, shape (n_runs,)
    method, options, wall_time
    """

    q: np.ndarray
    errors: np.ndarray
    checkpoints: np.ndarray
    q_star: np.ndarray
    seeds: np.ndarray
    method: str
    options: dict
    wall_time: float


# ----------------------------------------------------------------------------- plumbing
def online_model(mdp: TabularMDP) -> tuple:
    """The kernels' model tuple ``(P2, cdf, last, R1, Rsas2, mask1, mu_cdf, S, A)`` (dense).

    Raises
    ------
    InvalidArgumentError
        Not a ``TabularMDP``, or too large to hold densely (``S*A*S > 4e6``).
    """
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    S, A = mdp.S, mdp.A
    if S * A * S > _DENSE_LIMIT:
        raise InvalidArgumentError(f"online learners hold P densely; S*A*S = {S * A * S} exceeds {_DENSE_LIMIT}")
    P2 = np.ascontiguousarray(mdp.P_dense().reshape(S * A, S), dtype=np.float64)
    cdf = np.cumsum(P2, axis=1)
    pos = P2 > 0
    last = np.where(pos.any(axis=1), S - 1 - np.argmax(pos[:, ::-1], axis=1), 0).astype(np.int64)
    R1 = np.ascontiguousarray(mdp.R.reshape(S * A), dtype=np.float64)
    Rs = mdp.R_sas_dense()
    Rsas2 = np.ascontiguousarray(np.broadcast_to(R1[:, None], (S * A, S)) if Rs is None else Rs.reshape(S * A, S),
                                 dtype=np.float64)
    mask1 = np.ascontiguousarray(mdp.action_mask.reshape(S * A), dtype=np.bool_)
    mu_cdf = np.ascontiguousarray(np.cumsum(mdp.mu0), dtype=np.float64)
    arrs = []
    for x in (P2, cdf, last, R1, Rsas2, mask1, mu_cdf):
        # own read-only copies: one Numba type for the tuple whatever the model's storage
        x = np.array(x, copy=True, order="C")
        x.flags.writeable = False
        arrs.append(x)
    return (*arrs, int(S), int(A))


def run_seeds(seed, n_runs: int) -> np.ndarray:
    """Per-run integer seeds spawned from ``SeedSequence(seed)`` (63-bit, so int64 holds them).

    ``numpy.random.default_rng(run_seeds(seed, n)[i])`` is run ``i``'s generator.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise InvalidArgumentError(f"seed must be a non-negative integer, got {seed!r}")
    children = np.random.SeedSequence(int(seed)).spawn(int(n_runs))
    return np.array([int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children], dtype=np.int64)


def _check_rewards01(mdp: TabularMDP, who: str) -> None:
    r = mdp.R[mdp.action_mask]
    Rs = mdp.R_sas_dense()
    vals = [r] if Rs is None else [r, Rs[mdp.action_mask][mdp.P_dense()[mdp.action_mask] > 0]]
    for x in vals:
        if x.size and (x.min() < 0.0 or x.max() > 1.0):
            raise InvalidArgumentError(
                f"{who} assumes rewards in [0, 1] (the papers' setting; its values are clipped at H); this model's "
                f"rewards span [{x.min():g}, {x.max():g}]: rescale them, e.g. (R - min) / (max - min)")


def _check_variant(variant, bonus_scale):
    if variant not in ("paper", "practical"):
        raise InvalidArgumentError(f"variant must be 'paper' or 'practical', got {variant!r}")
    if variant == "paper":
        if bonus_scale is not None and bonus_scale != 1.0:
            raise InvalidArgumentError(
                f"variant='paper' runs the paper's bonus (scale 1); got bonus_scale={bonus_scale!r}: use variant='practical'")
        return 1.0
    scale = 0.1 if bonus_scale is None else bonus_scale
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (math.isfinite(scale) and scale >= 0):
        raise InvalidArgumentError(f"bonus_scale must be a finite number >= 0, got {bonus_scale!r}")
    return float(scale)


def _check_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (0.0 < float(delta) < 1.0):
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta!r}")
    return float(delta)


def _freeze(*arrs):
    for a in arrs:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False


# ----------------------------------------------------------------------------- episodic runner
def run_episodes(
    algorithm: str,
    mdp: TabularMDP,
    *,
    horizon: int,
    n_episodes: int,
    n_runs: int = 1,
    seed: int = 0,
    variant: str = "paper",
    delta: float = 0.1,
    bonus_scale: float | None = None,
    prior: float = 1.0,
) -> EpisodicResult:
    r"""Run an episodic online-RL algorithm for ``n_episodes`` episodes of ``horizon`` steps.

    Parameters
    ----------
    algorithm : {"ucbvi-ch", "ucbvi-bf", "ucb-h", "ucb-b", "psrl"}
        See the module docstring.
    mdp : TabularMDP
        Rewards must lie in ``[0, 1]`` for the optimistic algorithms (the papers' setting);
        ``mu0`` draws the first state of each episode; the realised reward of a transition is
        ``R_sas[s, a, s']`` (``R[s, a]`` when the model has no ``R_sas``).
    horizon : int
        Episode length ``H >= 1``.
    n_episodes : int
        Number of episodes ``K >= 1``.
    n_runs : int, default 1
        Independent runs (each with its own seed, see :func:`run_seeds`).
    seed : int, default 0
    variant : {"paper", "practical"}
        ``"paper"`` runs the paper's bonus exactly and attaches its bound (``certificate``);
        ``"practical"`` multiplies the bonus by ``bonus_scale`` (default 0.1) and attaches none.
        PSRL has no bonus: ``variant`` must be ``"paper"``.
    delta : float in (0, 1), default 0.1
        Confidence of the optimistic algorithms (``L = ln(5SAT/delta)``, ``iota = ln(SAT/delta)``).
    bonus_scale : float >= 0, optional
        Multiplier of the bonus for ``variant="practical"`` (0 gives the greedy learner).
    prior : float > 0, default 1
        Dirichlet concentration of PSRL's prior on each row of ``P``.

    Returns
    -------
    EpisodicResult
        ``(n_runs, K)`` traces; ``episode_regret`` exact per episode, ``pseudo_regret`` cumulative.

    Raises
    ------
    InvalidArgumentError
        Unknown algorithm, ``horizon``/``n_episodes``/``n_runs`` < 1, ``delta`` outside (0, 1),
        rewards outside [0, 1] (optimistic algorithms), a bonus scale with ``variant="paper"``.

    References
    ----------
    .. [1] M. G. Azar, I. Osband, R. Munos, "Minimax regret bounds for reinforcement learning",
       ICML 2017, Algorithms 1-4, Theorems 1-2.
    .. [2] C. Jin, Z. Allen-Zhu, S. Bubeck, M. I. Jordan, "Is Q-learning provably efficient?",
       NeurIPS 2018, Algorithms 1-2, Theorems 1-2.
    .. [3] I. Osband, D. Russo, B. Van Roy, "(More) efficient reinforcement learning via
       posterior sampling", NeurIPS 2013, Algorithm 1, Theorem 1.
    """
    t0 = time.perf_counter()
    if algorithm not in ALGORITHMS:
        raise InvalidArgumentError(f"unknown episodic algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    H = check_int(horizon, "horizon", minimum=1)
    K = check_int(n_episodes, "n_episodes", minimum=1)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    delta = _check_delta(delta)
    if algorithm == "psrl":
        if variant != "paper" or bonus_scale is not None:
            raise InvalidArgumentError("PSRL has no bonus: use variant='paper' and no bonus_scale")
        if isinstance(prior, bool) or not isinstance(prior, (int, float)) or not (math.isfinite(prior) and prior > 0):
            raise InvalidArgumentError(f"prior must be a finite number > 0, got {prior!r}")
        scale = 1.0
    else:
        scale = _check_variant(variant, bonus_scale)
        _check_rewards01(mdp, algorithm)
    seeds = run_seeds(seed, n_runs)
    om = online_model(mdp)
    S, A = om[7], om[8]
    from .finite_horizon import backward_induction

    bi = backward_induction(mdp.with_gamma(1.0), H)
    vstar = np.ascontiguousarray(bi.v, dtype=np.float64)
    qstar = np.ascontiguousarray(np.asarray(bi.q).reshape(H, S * A), dtype=np.float64)
    ref = (qstar, vstar)
    T = K * H
    if algorithm.startswith("ucbvi"):
        kind = K_.HOEFFDING if algorithm == "ucbvi-ch" else K_.BERNSTEIN
        ip = np.array([kind, H, K], np.int64)
        L = B_.ucbvi_log(S, A, H, K, delta, in_bound=False)
        fp = np.array([L, scale])
        extra = dict(L=L)
    elif algorithm.startswith("ucb-"):
        kind = K_.HOEFFDING if algorithm == "ucb-h" else K_.BERNSTEIN
        ip = np.array([kind, H, K], np.int64)
        iota = math.log(S * A * T / delta)
        c = UCB_Q_CONSTANT
        fp = np.array([iota, c, c, c, scale])
        extra = dict(iota=iota, c=c)
    else:
        extra = dict(prior=float(prior))
    out_f = np.zeros((n_runs, K, 3))
    out_i = np.zeros((n_runs, K, 2), np.int64)
    for r in range(n_runs):
        rng = np.random.default_rng(int(seeds[r]))
        u0 = rng.random(K)
        u = rng.random((K, H))
        if algorithm.startswith("ucbvi"):
            K_.ucbvi_run(om, ref, u0, u, ip, fp, out_f[r], out_i[r])
        elif algorithm.startswith("ucb-"):
            K_.optimistic_q_run(om, ref, u0, u, ip, fp, out_f[r], out_i[r])
        else:
            _psrl(om, ref, u0, u, rng, float(prior), out_f[r], out_i[r])
    episode_regret = out_f[:, :, 0].copy()
    returns = out_f[:, :, 1].copy()
    gap = out_f[:, :, 2].copy()
    starts = out_i[:, :, 0].copy()
    first = out_i[:, :, 1].copy()
    cum = np.cumsum(episode_regret, axis=1)
    cert = None
    if variant == "paper":
        cert = {"ucbvi-ch": lambda: B_.ucbvi_ch_regret_bound(S, A, H, K, delta),
                "ucbvi-bf": lambda: B_.ucbvi_bf_regret_bound(S, A, H, K, delta),
                "ucb-h": lambda: B_.ucb_h_regret_rate(S, A, H, K, delta),
                "ucb-b": lambda: B_.ucb_b_regret_rate(S, A, H, K, delta),
                "psrl": lambda: B_.psrl_bayes_regret_rate(S, A, H, K)}[algorithm]()
    n_pulls = np.stack([np.bincount(f, minlength=A) for f in first]).astype(np.int64)
    er = cum.mean(axis=0)
    _freeze(first, returns, cum, er, n_pulls, seeds, episode_regret, starts, gap, vstar)
    options = dict(algorithm=algorithm, variant=variant, horizon=H, n_episodes=K, n_runs=n_runs, seed=seed,
                   delta=delta, bonus_scale=scale, **extra)
    return EpisodicResult(actions=first, rewards=returns, pseudo_regret=cum, expected_regret=er,
                          expected_regret_exact=False, n_pulls=n_pulls, seeds=seeds, method=algorithm,
                          options=options, wall_time=time.perf_counter() - t0, certificate=cert,
                          episode_regret=episode_regret, start_states=starts, optimism_gap=gap, v_star=vstar, H=H)


def episodes_cell(algorithm: str, mdp: TabularMDP, horizon: int, n_episodes: int, seed: int, **kwargs) -> EpisodicResult:
    """One run of :func:`run_episodes` for seed ``seed``: the cell function of a sweep.

    ``functools.partial(episodes_cell, algorithm, mdp, H, K, variant=...)`` is picklable, so
    :func:`mdpkit.solvers.sweep.run_sweep` can run it on joblib or dask workers; each seed's
    result depends on that seed only.
    """
    return run_episodes(algorithm, mdp, horizon=horizon, n_episodes=n_episodes, n_runs=1, seed=seed, **kwargs)


def _psrl(om, ref, u0, u, rng, prior, out_f, out_i):
    S, A = om[7], om[8]
    H = u.shape[1]
    nsas = np.zeros((S * A, S), np.int64)
    nsa = np.zeros(S * A, np.int64)
    nh = np.zeros((H + 1, S), np.int64)
    counts = (nsas, nsa, nh)
    for k in range(u.shape[0]):
        g = rng.standard_gamma(prior + nsas)
        tot = g.sum(axis=1, keepdims=True)
        # a row whose gamma draws all underflow to 0 (tiny prior) gets its empirical law
        psamp = np.where(tot > 0, g / np.where(tot > 0, tot, 1.0), 1.0 / S)
        K_.psrl_episode(om, ref, np.ascontiguousarray(psamp), u0[k], u[k], np.int64(k), counts, out_f, out_i)


# ----------------------------------------------------------------------------- UCRL2
def ucrl2(
    mdp: TabularMDP,
    *,
    n_steps: int,
    n_runs: int = 1,
    seed: int = 0,
    delta: float = 0.1,
    variant: str = "paper",
    scale: float | None = None,
    D: float | None = None,
    max_evi_iter: int = 100_000,
    stop_ratio: float = 1.0,
) -> AverageRewardLearningResult:
    r"""UCRL2 with extended value iteration (Jaksch, Ortner & Auer 2010, Figure 1 and Sec. 3.1).

    Each episode ``k`` starts at step :math:`t_k`, computes by extended value iteration (to
    span accuracy :math:`1/\sqrt{t_k}`) an optimistic policy over all MDPs whose rewards and
    transition rows lie within :math:`\sqrt{7\ln(2SAt_k/\delta)/(2\max(1,N_k))}` and (L1)
    :math:`\sqrt{14S\ln(2At_k/\delta)/\max(1,N_k)}` of the empirical ones, and runs it until the
    visits of some pair within the episode reach its count before the episode.  With probability
    at least :math:`1-\delta`, regret :math:`\le 34DS\sqrt{AT\ln(T/\delta)}` (Theorem 2).

    Parameters
    ----------
    mdp : TabularMDP
        Communicating, rewards in ``[0, 1]``; the start state is drawn from ``mu0``.
    n_steps : int
        ``T >= 2``.
    n_runs, seed : int
    delta : float in (0, 1)
    variant : {"paper", "practical"}
        ``"practical"`` multiplies both radii by ``scale`` (default 0.1) and carries no bound.
    D : float, optional
        Diameter for the certificate; from ``mdpkit.structure.diameter`` when available.
    max_evi_iter : int
        Cap on extended value iteration sweeps per episode.
    stop_ratio : float in (0, 1], default 1
        An episode ends when some pair's visits in it reach ``max(1, stop_ratio * N_k)``; 1 is the
        paper's rule (other values only with ``variant="practical"``; they exist for the
        negative control of the episode-count check).

    Returns
    -------
    AverageRewardLearningResult

    Raises
    ------
    InvalidArgumentError
        Bad sizes, ``delta``, rewards outside [0, 1], or a scale with ``variant="paper"``.
    MultichainError
        The model has two closed classes (no single optimal gain to compare with).
    """
    t0 = time.perf_counter()
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    T = check_int(n_steps, "n_steps", minimum=2)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    max_evi_iter = check_int(max_evi_iter, "max_evi_iter", minimum=1)
    delta = _check_delta(delta)
    sc = _check_variant(variant, scale)
    if isinstance(stop_ratio, bool) or not isinstance(stop_ratio, (int, float)) or not (0.0 < stop_ratio <= 1.0):
        raise InvalidArgumentError(f"stop_ratio must lie in (0, 1], got {stop_ratio!r}")
    if variant == "paper" and stop_ratio != 1.0:
        raise InvalidArgumentError("variant='paper' runs the paper's stopping rule: stop_ratio must be 1")
    _check_rewards01(mdp, "UCRL2")
    from .average_reward import relative_value_iteration

    rvi = relative_value_iteration(mdp.with_gamma(1.0), epsilon=1e-10)
    gain = float(rvi.gain)
    om = online_model(mdp)
    S, A = om[7], om[8]
    seeds = run_seeds(seed, n_runs)
    acts = np.zeros((n_runs, T), np.int64)
    rews = np.zeros((n_runs, T))
    states = np.zeros((n_runs, T), np.int64)
    max_m = T + 1
    starts = np.full((n_runs, max_m), -1, np.int64)
    evi = np.zeros((n_runs, max_m), np.int64)
    n_ep = np.zeros(n_runs, np.int64)
    fp = np.array([delta, sc, float(stop_ratio)])
    ip = np.array([max_evi_iter], np.int64)
    for r in range(n_runs):
        rng = np.random.default_rng(int(seeds[r]))
        u0 = rng.random()
        u = rng.random(T)
        states[r, 0] = int(np.searchsorted(om[6], u0, side="right")) if u0 < om[6][-1] else S - 1
        n_ep[r] = K_.ucrl2_run(om, u, fp, ip, acts[r], rews[r], states[r], starts[r], evi[r])
    starts = starts[:, : int(n_ep.max())].copy()
    evi = evi[:, : int(n_ep.max())].copy()
    n_bad = int(np.sum(evi > max_evi_iter))
    if n_bad:
        warnings.warn(f"ucrl2: extended value iteration hit max_evi_iter={max_evi_iter} before its span rule held "
                      f"in {n_bad} episode(s); those episodes ran the last EVI policy", ConvergenceWarning,
                      stacklevel=user_stacklevel())
    R1 = om[3]
    inst = gain - R1[states * A + acts]
    pseudo = np.cumsum(inst, axis=1)
    regret = gain * np.arange(1, T + 1)[None, :] - np.cumsum(rews, axis=1)
    cert = None
    if variant == "paper":
        try:
            cert = B_.ucrl2_regret_bound(S, A, T, delta, D=D, mdp=mdp)
        except InvalidArgumentError:
            cert = None  # no diameter available: the run carries no bound
    n_pulls = np.stack([np.bincount(a, minlength=A) for a in acts]).astype(np.int64)
    er = pseudo.mean(axis=0)
    _freeze(acts, rews, pseudo, er, n_pulls, seeds, regret, states, n_ep, starts, evi)
    return AverageRewardLearningResult(
        actions=acts, rewards=rews, pseudo_regret=pseudo, expected_regret=er, expected_regret_exact=False,
        n_pulls=n_pulls, seeds=seeds, method="ucrl2",
        options=dict(n_steps=T, n_runs=n_runs, seed=seed, delta=delta, variant=variant, scale=sc,
                     max_evi_iter=max_evi_iter, stop_ratio=float(stop_ratio), gain_tolerance=float(rvi.gain_upper - rvi.gain_lower)),
        wall_time=time.perf_counter() - t0, certificate=cert, regret=regret, states=states, n_episodes=n_ep,
        episode_starts=starts, evi_iterations=evi, gain=gain)


# ----------------------------------------------------------------------------- discounted Q-learning
def _q_star(mdp):
    from mdpkit.policies import q_from_v

    from .discounted import policy_iteration

    res = policy_iteration(mdp)
    return q_from_v(mdp, res.v_policy)


def _checkpoints(checkpoints, n_iter):
    if checkpoints is None:
        cps = np.unique(np.geomspace(1, n_iter, num=min(n_iter, 30)).round().astype(np.int64))
    else:
        cps = np.unique(np.asarray(checkpoints, dtype=np.int64))
        if cps.size == 0 or cps[0] < 1 or cps[-1] > n_iter:
            raise InvalidArgumentError(f"checkpoints must lie in [1, n_iter] = [1, {n_iter}]")
    return np.ascontiguousarray(cps)


def q_learning(
    mdp: TabularMDP,
    *,
    n_iter: int,
    mode: str = "generative",
    schedule: str = "polynomial",
    omega: float = 0.8,
    step: float = 0.1,
    n_runs: int = 1,
    seed: int = 0,
    checkpoints=None,
) -> QLearningResult:
    r"""Discounted Q-learning with the learning rates of Even-Dar & Mansour (2003).

    :math:`Q_{t+1}(s,a) = (1-\alpha)Q_t(s,a) + \alpha(r + \gamma\max_{a'}Q_t(s',a'))` with
    :math:`\alpha = 1/n(s,a)^\omega` (polynomial, :math:`\omega \in (1/2, 1)`: convergence time
    polynomial in :math:`1/(1-\gamma)`, Theorems 2 and 4; linear, :math:`\omega = 1`: exponential in
    :math:`1/(1-\gamma)`, Theorem 5 and the lower bound; numbers not checked against the text), or
    a constant step (no convergence guarantee: it settles at a noise floor).

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    n_iter : int
        Iterations: synchronous sweeps over every available pair (``mode="generative"``) or steps
        of one trajectory started from ``mu0`` with uniformly random available actions
        (``mode="trajectory"``).
    schedule : {"polynomial", "linear", "constant"}
    omega : float in (1/2, 1], default 0.8
        Exponent of the polynomial rate.
    step : float in (0, 1], default 0.1
        The constant step size.
    n_runs, seed : int
    checkpoints : array_like of int, optional
        Iteration counts at which ``||Q - Q*||_inf`` is recorded (default: 30 log-spaced).

    Returns
    -------
    QLearningResult

    Raises
    ------
    InvalidArgumentError
        Bad mode/schedule/omega/step/sizes, or ``gamma == 1``.

    References
    ----------
    .. [1] E. Even-Dar and Y. Mansour, "Learning rates for Q-learning", JMLR 5:1-25, 2003.
    """
    t0 = time.perf_counter()
    om = online_model(mdp)
    if not mdp.gamma < 1.0:
        raise InvalidArgumentError("q_learning is for discounted models: gamma must be < 1")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    if mode not in ("generative", "trajectory"):
        raise InvalidArgumentError(f"mode must be 'generative' or 'trajectory', got {mode!r}")
    if schedule == "polynomial":
        if not (isinstance(omega, (int, float)) and 0.5 < float(omega) <= 1.0):
            raise InvalidArgumentError(f"omega must lie in (1/2, 1] (Even-Dar & Mansour 2003), got {omega!r}")
        sched, par = 0, float(omega)
    elif schedule == "linear":
        sched, par = 0, 1.0
    elif schedule == "constant":
        if not (isinstance(step, (int, float)) and 0.0 < float(step) <= 1.0):
            raise InvalidArgumentError(f"step must lie in (0, 1], got {step!r}")
        sched, par = 1, float(step)
    else:
        raise InvalidArgumentError(f"schedule must be 'polynomial', 'linear' or 'constant', got {schedule!r}")
    cps = _checkpoints(checkpoints, n_iter)
    S, A = om[7], om[8]
    qstar = _q_star(mdp)
    qs1 = np.ascontiguousarray(np.where(mdp.action_mask, qstar, 0.0).reshape(S * A))
    seeds = run_seeds(seed, n_runs)
    width = S * A if mode == "generative" else 2
    fp = np.array([par, 0.0 if mode == "generative" else 1.0])
    qs = np.zeros((n_runs, S * A))
    errs = np.zeros((n_runs, cps.size))
    for r in range(n_runs):
        u = np.random.default_rng(int(seeds[r])).random((n_iter, width))
        K_.qlearning_run(om, float(mdp.gamma), u, np.int64(sched), fp, qs[r], cps, qs1, errs[r])
    q = qs.reshape(n_runs, S, A)
    q[:, ~mdp.action_mask] = -np.inf
    _freeze(q, errs, cps, seeds)
    return QLearningResult(q=q, errors=errs, checkpoints=cps, q_star=qstar, seeds=seeds, method="q_learning",
                           options=dict(n_iter=n_iter, mode=mode, schedule=schedule, omega=par if sched == 0 else None,
                                        step=par if sched == 1 else None, n_runs=n_runs, seed=seed),
                           wall_time=time.perf_counter() - t0)


def orchestrated_q_learning(
    mdp: TabularMDP,
    *,
    n_iter: int,
    mapping: str = "log",
    c: float = 0.5,
    d: float = 0.02,
    omega: float = 0.8,
    beta_f: float = 1.0,
    n_runs: int = 1,
    seed: int = 0,
    checkpoints=None,
) -> QLearningResult:
    r"""Q-learning in a mapped value space (Fatemi & Tavakoli 2022, orchestrated value mapping).

    The reward is split into channels :math:`r = \sum_j \lambda_j r_j`; channel ``j`` keeps its
    table :math:`\tilde Q_j` in the space of a strictly increasing map :math:`f_j`, and the greedy
    action and targets are formed in the regular space
    :math:`Q = \sum_j \lambda_j f_j^{-1}(\tilde Q_j)` (their Sec. 3; the theorem number of the
    convergence result is not checked against the text).  ``mapping="log"`` is log Q-learning
    (van Seijen, Fatemi & Tavakoli 2019): two channels :math:`r^+ = \max(r, 0)`,
    :math:`r^- = \max(-r, 0)`, :math:`\lambda = (1, -1)`, :math:`f(x) = c\ln(x + d)`;
    ``mapping="identity"`` is plain Q-learning.  Generative model (synchronous updates), mapping-
    space step ``beta_f`` (constant), regular-space step :math:`\beta_{reg} = 1/n(s,a)^\omega`.
    The regular-space step carries the averaging: a decaying step in the mapped space alone
    would converge to :math:`f^{-1}(\mathbb E f(\text{target}))`, off :math:`Q^*` by Jensen's gap on
    stochastic transitions (van Seijen et al. 2019 make the same point).  For a tabular model
    the scale ``c`` cancels (``f(x)/c`` is what is averaged); it matters with function
    approximation only.

    Parameters
    ----------
    mdp : TabularMDP
        ``gamma < 1``.
    n_iter : int
    mapping : {"log", "identity"}
    c, d : float > 0
        Log map :math:`c\ln(x + d)`.
    omega : float in (1/2, 1]
    beta_f : float in (0, 1]
    n_runs, seed, checkpoints
        As in :func:`q_learning`.

    Returns
    -------
    QLearningResult
        ``q`` is the regular-space table :math:`\sum_j \lambda_j f_j^{-1}(\tilde Q_j)`.

    Raises
    ------
    InvalidArgumentError
        Bad mapping or parameters, ``gamma == 1``.
    """
    t0 = time.perf_counter()
    om = online_model(mdp)
    if not mdp.gamma < 1.0:
        raise InvalidArgumentError("orchestrated_q_learning is for discounted models: gamma must be < 1")
    n_iter = check_int(n_iter, "n_iter", minimum=1)
    n_runs = check_int(n_runs, "n_runs", minimum=1)
    for name, val, lo, hi in (("c", c, 0.0, math.inf), ("d", d, 0.0, math.inf), ("omega", omega, 0.5, 1.0),
                              ("beta_f", beta_f, 0.0, 1.0)):
        if isinstance(val, bool) or not isinstance(val, (int, float)) or not (lo < float(val) <= hi) or not math.isfinite(val):
            raise InvalidArgumentError(f"{name} must lie in ({lo}, {hi}], got {val!r}")
    S, A = om[7], om[8]
    Rsas2 = om[4]
    if mapping == "log":
        lam = np.array([1.0, -1.0])
        rch = np.ascontiguousarray(np.stack([np.maximum(Rsas2, 0.0), np.maximum(-Rsas2, 0.0)]))
        fmaps = np.array([[1.0, c, d], [1.0, c, d]])
    elif mapping == "identity":
        lam = np.array([1.0])
        rch = np.ascontiguousarray(Rsas2[None].copy())
        fmaps = np.array([[0.0, 1.0, 0.0]])
    else:
        raise InvalidArgumentError(f"mapping must be 'log' or 'identity', got {mapping!r}")
    cps = _checkpoints(checkpoints, n_iter)
    qstar = _q_star(mdp)
    qs1 = np.ascontiguousarray(np.where(mdp.action_mask, qstar, 0.0).reshape(S * A))
    seeds = run_seeds(seed, n_runs)
    J = lam.size
    q = np.zeros((n_runs, S, A))
    errs = np.zeros((n_runs, cps.size))
    fp = np.array([float(omega), float(beta_f)])
    for r in range(n_runs):
        qt = np.zeros((J, S * A))
        for j in range(J):
            qt[j] = 0.0 if fmaps[j, 0] == 0 else c * math.log(d)  # f_j(0): every channel starts at 0
        u = np.random.default_rng(int(seeds[r])).random((n_iter, S * A))
        K_.ovm_run(om, float(mdp.gamma), u, lam, rch, fmaps, fp, qt, cps, qs1, errs[r])
        reg = np.zeros(S * A)
        for j in range(J):
            reg += lam[j] * (qt[j] if fmaps[j, 0] == 0 else np.exp(qt[j] / c) - d)
        q[r] = reg.reshape(S, A)
    q[:, ~mdp.action_mask] = -np.inf
    _freeze(q, errs, cps, seeds)
    return QLearningResult(q=q, errors=errs, checkpoints=cps, q_star=qstar, seeds=seeds,
                           method="orchestrated_q_learning",
                           options=dict(n_iter=n_iter, mapping=mapping, c=c, d=d, omega=omega, beta_f=beta_f,
                                        n_runs=n_runs, seed=seed), wall_time=time.perf_counter() - t0)

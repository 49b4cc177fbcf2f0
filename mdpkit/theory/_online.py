"""Registered theorem checks for online tabular RL (:mod:`mdpkit.solvers.online`).

Episodic instances are small random MDPs with rewards in [0, 1] (``gamma`` is drawn from
[0.5, 0.95] so the instances count as effective, but the episodic learners do not use it); the
horizon ``H`` and the seeds are drawn from the check's ``rng``.  Every check runs the subject on
fixed seeds, so it is derandomized.
"""

from __future__ import annotations

import numpy as np

from mdpkit.bounds import online as bounds_online
from mdpkit.model import TabularMDP

from ._core import Observation, Theorem, register

__all__ = ["episodic_mdps", "ergodic_mdps", "optimism_instance", "single_pair_instance"]

AZAR = "Azar, Osband & Munos 2017 (arXiv:1703.05449v2)"
JIN = "Jin, Allen-Zhu, Bubeck & Jordan 2018"
JAKSCH = "Jaksch, Ortner & Auer 2010"
OSBAND = "Osband, Russo & Van Roy 2013"
EVEN_DAR = "Even-Dar & Mansour 2003"


# ----------------------------------------------------------------------------- families
def _model_strategy(n_states, n_actions, gamma, positive: bool):
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        S = d(st.integers(*n_states))
        A = d(st.integers(*n_actions))
        lo = 1 if positive else 0
        w = np.array(d(st.lists(st.integers(lo, 4), min_size=S * A * S, max_size=S * A * S)), float).reshape(S, A, S)
        w[w.sum(axis=2) == 0, 0] = 1.0
        R = np.array(d(st.lists(st.integers(0, 10), min_size=S * A, max_size=S * A)), float).reshape(S, A) / 10.0
        g = d(st.floats(*gamma))
        return TabularMDP(w / w.sum(axis=2, keepdims=True), R, g)

    return draw()


def episodic_mdps():
    """Hypothesis strategy: S in 2..4, A in 2..3, rewards in {0, 0.1, ..., 1}, gamma in [0.5, 0.95]."""
    return _model_strategy((2, 4), (2, 3), (0.5, 0.95), positive=False)


def ergodic_mdps():
    """As :func:`episodic_mdps` with every transition probability positive (communicating)."""
    return _model_strategy((2, 4), (1, 3), (0.5, 0.95), positive=True)


def discounted_small():
    """Q-learning family: S in 2..4, A in 1..3, every probability positive, gamma in [0.5, 0.8]."""
    return _model_strategy((2, 4), (1, 3), (0.5, 0.8), positive=True)


def optimism_instance() -> TabularMDP:
    """Two states, two actions; action 1 in state 0 reaches the rewarding state 1 with probability
    1/2, so an empirical model can under-estimate it (the greedy control breaks optimism here)."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1] = (0.5, 0.5)
    P[1, 0] = (0.3, 0.7)
    P[1, 1] = (0.9, 0.1)
    R = np.array([[0.4, 0.0], [1.0, 0.2]])
    return TabularMDP(P, R, 0.9, mu0=np.array([1.0, 0.0]), name="optimism-2x2")


def single_pair_instance() -> TabularMDP:
    """S = A = 1: UCRL2's episodes double in length (1, 1, 2, 4, ...), so ``m = log2 T + 1``, the
    tight case of ``m <= SA log2(8T/(SA))`` (ratio -> 1 as T grows; above 1/2 for every T >= 4)."""
    return TabularMDP(np.ones((1, 1, 1)), np.array([[0.5]]), 0.9, name="single-pair")


# ----------------------------------------------------------------------------- subjects
def ucbvi_paper(mdp, *, algorithm, horizon, n_episodes, seed):
    """Default subject: :func:`mdpkit.solvers.online.run_episodes` with the paper's constants."""
    from mdpkit.solvers.online import run_episodes

    return run_episodes(algorithm, mdp, horizon=horizon, n_episodes=n_episodes, seed=seed, variant="paper")


def zero_bonus(mdp, *, algorithm, horizon, n_episodes, seed):
    """Negative control: the same learner with the bonus switched off (``bonus_scale=0``)."""
    from mdpkit.solvers.online import run_episodes

    return run_episodes(algorithm, mdp, horizon=horizon, n_episodes=n_episodes, seed=seed, variant="practical",
                        bonus_scale=0.0)


def _run_optimism(algorithm, episodes):
    def run(mdp, rng, subject):
        H = int(rng.integers(2, 4))
        K = episodes
        res = subject(mdp, algorithm=algorithm, horizon=H, n_episodes=K, seed=int(rng.integers(2**31)))
        gap = np.asarray(res.optimism_gap[0])
        return Observation(-gap, np.zeros_like(gap), x=np.arange(1, K + 1), atol=1e-9 * H, rtol=0.0,
                           info={"H": H, "K": K, "regret": float(res.pseudo_regret[0, -1]),
                                 "min_gap": float(gap.min())})
    return run


register(Theorem(
    name="ucbvi-optimism",
    statement="UCBVI-CH with the paper's bonus 7 H L sqrt(1/N): Q_{k,h}(s,a) >= Q*_h(s,a) for every episode, step and pair "
              "(on the confidence event, probability >= 1 - delta); checked exactly against backward induction",
    source=f"{AZAR}, Lemma 18 (optimism) with Algorithms 2-3",
    compare="bound",
    subject=ucbvi_paper,
    subject_doc="subject(mdp, *, algorithm, horizon, n_episodes, seed) -> EpisodicResult (.optimism_gap)",
    run=_run_optimism("ucbvi-ch", 3000), family=episodic_mdps,
    negative=zero_bonus, negative_doc="UCBVI-CH with bonus_scale = 0 (certainty equivalence)",
    tight=lambda: [(optimism_instance(), 0)],
    mutation=False, source_checked=True,
    power_note="a sign property (Q - Q* >= 0): a factor 2 on a zero bound means nothing; the paper's bonus keeps Q "
               "clamped at H until N(s,a) > 49 L^2, so optimism is strict only on long runs",
    ylabel="max (Q* - Q_k)",
))

register(Theorem(
    name="ucb-h-optimism",
    statement="Q-learning with UCB-Hoeffding (alpha_t = (H+1)/(H+t), b_t = c sqrt(H^3 iota / t), c = 2 sqrt 2): "
              "Q^k_h >= Q*_h for all k, h, s, a with probability >= 1 - p",
    source=f"{JIN}, Lemma 4.3 (constant c from its Azuma-Hoeffding step; number not checked against the text)",
    compare="bound",
    subject=ucbvi_paper,
    subject_doc="subject(mdp, *, algorithm, horizon, n_episodes, seed) -> EpisodicResult (.optimism_gap)",
    run=_run_optimism("ucb-h", 3000), family=episodic_mdps,
    negative=zero_bonus, negative_doc="UCB-H with bonus_scale = 0 (optimistic start only)",
    tight=lambda: [(optimism_instance(), 0)],
    mutation=False,
    power_note="a sign property (Q - Q* >= 0)",
    ylabel="max (Q* - Q_k)",
))


# ----------------------------------------------------------------------------- PSRL rate
# PSRL's Theorem 1 (Osband et al. 2013) is a Bayesian bound: on a fixed instance with small gaps the
# fitted regret exponent at feasible K is still in the linear burn-in (up to 0.75 seen on random
# 3-state instances and RiverSwim), so a per-instance rate check would fail without the theorem
# being wrong; none is registered.


# ----------------------------------------------------------------------------- UCRL2 episodes
def ucrl2_paper(mdp, *, n_steps, seed):
    """Default subject: UCRL2 with the paper's radii and stopping rule."""
    from mdpkit.solvers.online import ucrl2

    return ucrl2(mdp, n_steps=n_steps, seed=seed)


def ucrl2_quarter_rule(mdp, *, n_steps, seed):
    """Negative control: UCRL2 ending an episode once some pair's visits reach max(1, N_k/4)."""
    from mdpkit.solvers.online import ucrl2

    return ucrl2(mdp, n_steps=n_steps, seed=seed, variant="practical", scale=1.0, stop_ratio=0.25)


def _run_ucrl2_episodes(mdp, rng, subject):
    T = 2000
    res = subject(mdp, n_steps=T, seed=int(rng.integers(2**31)))
    m = int(res.n_episodes[0])
    b = bounds_online.ucrl2_episode_bound(mdp.S, mdp.A, T).value
    return Observation(np.array([float(m)]), np.array([b]), atol=0.0, rtol=1e-12, info={"episodes": m, "T": T})


register(Theorem(
    name="ucrl2-episodes",
    statement="UCRL2 (episode ends when some v_k(s,a) reaches max(1, N_k(s,a))): after T >= SA steps the number of "
              "episodes is m <= S A log2(8T/(SA))",
    source=f"{JAKSCH}, Proposition 18 (number not checked against the text)",
    compare="bound",
    subject=ucrl2_paper, subject_doc="subject(mdp, *, n_steps, seed) -> AverageRewardLearningResult (.n_episodes)",
    run=_run_ucrl2_episodes, family=ergodic_mdps,
    negative=ucrl2_quarter_rule, negative_doc="UCRL2 stopping at max(1, N_k/4) visits (episodes grow by 5/4, not 2)",
    tight=lambda: [(single_pair_instance(), 0)],
    plot="ratio", ylabel="episodes",
))


# ----------------------------------------------------------------------------- Q-learning rate
QL_OMEGA = 0.8
QL_SLACK = 0.2
QL_ITERS = 4000


def qlearning_poly(mdp, *, n_iter, n_runs, seed, checkpoints):
    """Default subject: synchronous (generative-model) Q-learning with alpha = 1/n^0.8."""
    from mdpkit.solvers.online import q_learning

    return q_learning(mdp, n_iter=n_iter, schedule="polynomial", omega=QL_OMEGA, n_runs=n_runs, seed=seed,
                      checkpoints=checkpoints)


def qlearning_constant(mdp, *, n_iter, n_runs, seed, checkpoints):
    """Negative control: a constant step 0.5 (no Robbins-Monro decay: the error stalls at a noise floor)."""
    from mdpkit.solvers.online import q_learning

    return q_learning(mdp, n_iter=n_iter, schedule="constant", step=0.5, n_runs=n_runs, seed=seed,
                      checkpoints=checkpoints)


def _run_ql_rate(mdp, rng, subject):
    T = QL_ITERS
    cps = np.array([T // 16, T])
    res = subject(mdp, n_iter=T, n_runs=8, seed=int(rng.integers(2**31)), checkpoints=cps)
    e = np.asarray(res.errors).mean(axis=0)
    scale = max(1.0, float(np.abs(res.q_star[np.isfinite(res.q_star)]).max()))
    # once the error is at round-off there is nothing left to shrink: count it as converged
    obs = 0.0 if e[1] <= 1e-10 * scale else e[1] / max(e[0], 1e-300)
    bound = 16.0 ** (-(QL_OMEGA / 2 - QL_SLACK))
    return Observation(np.array([obs]), np.array([bound]), atol=0.0, rtol=0.0,
                       info={"err_T16": float(e[0]), "err_T": float(e[1])})


register(Theorem(
    name="qlearning-poly-rate",
    statement=f"synchronous Q-learning with alpha = 1/n^omega (omega = {QL_OMEGA}): the error shrinks at least like "
              f"t^-(omega/2 - {QL_SLACK}) between t = T/16 and T (mean of 8 runs), the t^-omega/2 regime of the "
              "polynomial-rate convergence time",
    source=f"{EVEN_DAR}, Theorem 2 (polynomial rate, synchronous; number not checked against the text)",
    compare="bound",
    subject=qlearning_poly,
    subject_doc="subject(mdp, *, n_iter, n_runs, seed, checkpoints) -> QLearningResult (.errors, .q_star)",
    run=_run_ql_rate, family=discounted_small,
    negative=qlearning_constant, negative_doc="constant step size 0.5",
    zoo=("riverswim:convention=osband,gamma=0.8",),
    mutation=False,
    power_note="the t^-omega/2 envelope is a worst-case rate; small instances often converge faster",
    plot="ratio", ylabel="err(T) / err(T/16)",
))

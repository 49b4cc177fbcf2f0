"""
Best-of-both-worlds and delay-adapted policy optimization: exact regret
=======================================================================

A random episodic MDP (S = 2, A = 2, H = 2, known transitions) under bandit feedback:

* left: i.i.d. Bernoulli losses (gap 0.8 per step): the exact pseudo-regret of FTRL policy
  optimization with the Tsallis and Shannon regularizers flattens (polylog regime; Dann, Wei &
  Zimmert 2023), next to a sqrt(K) reference;
* right: an adversarial phase-switching loss sequence: the exact regret against the best fixed
  policy in hindsight of Tsallis-FTRL PO and of delay-adapted PO (Lancewicki, Rosenberg &
  Sotnikov 2023) with feedback delays 0 and 50, next to the rate-only shape H sqrt(S A K log K).

Every regret here is computed on the true model (occupancy measures and backward induction), not
sampled; the randomness left is that of the one trajectory per episode.  The learning-rate
schedules are mdpkit's (the papers' constants were not checked; see
``mdpkit.solvers.adversarial_po``).

Usage: ``python examples/pg/plot_bobw_regret.py [--out DIR] [--episodes K]``
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _pgplot  # noqa: E402


def main(argv=None):
    args, plt = _pgplot.setup(argv, episodes=4000)

    from mdpkit import TabularMDP, bounds
    from mdpkit.solvers.adversarial_po import bobw_policy_optimization, delay_adapted_policy_optimization

    S, A, H, K = 2, 2, 2, args.episodes
    rng = np.random.default_rng(0)
    mdp = TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), np.zeros((S, A)), 0.9)
    means = np.full((H, S, A), 0.9)
    means[:, :, 0] = 0.1
    stoch = (rng.random((K, H, S, A)) < means).astype(float)
    pattern = rng.random((H, S, A))
    adv = np.where(((np.arange(K) // 100) % 2 == 1)[:, None, None, None], pattern[None], 0.5)
    k = np.arange(1, K + 1)

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for reg, c in (("tsallis", "C0"), ("shannon", "C1")):
        r = bobw_policy_optimization(mdp, stoch, rng=np.random.default_rng(1), regularizer=reg, mean_losses=means)
        axes[0].plot(k, r.pseudo_regret, c, label=f"{reg} FTRL PO (exact pseudo-regret)")
    ref = np.sqrt(k) * r.pseudo_regret[K // 10] / np.sqrt(K // 10)
    axes[0].plot(k, ref, "k:", label="sqrt(K) reference (matched at K/10)")
    axes[0].set_xlabel("episode k")
    axes[0].set_ylabel("regret")
    axes[0].set_title("stochastic losses (gap 0.8): polylog regime")
    axes[0].legend(fontsize=8)

    r = bobw_policy_optimization(mdp, adv, rng=np.random.default_rng(2), regularizer="tsallis")
    axes[1].plot(k, r.regret, "C0", label="Tsallis FTRL PO")
    for d, c in ((0, "C2"), (50, "C3")):
        rd = delay_adapted_policy_optimization(mdp, adv, np.full(K, d), rng=np.random.default_rng(2))
        axes[1].plot(k, rd.regret, c, label=f"delay-adapted PO, delay {d}")
    rate = [bounds.bobw_po_regret_rate(H=H, S=S, A=A, K=int(x), regime="adversarial").value for x in k]
    axes[1].plot(k, rate, "k--", label="H sqrt(S A K log K) (rate shape, no constant)")
    axes[1].set_xlabel("episode k")
    axes[1].set_title("adversarial phase-switching losses: exact regret")
    axes[1].legend(fontsize=8)
    fig.suptitle(f"episodic MDP S={S} A={A} H={H}, known transitions, bandit feedback")
    return _pgplot.save(fig, plt, args.out, "bobw_regret.png")


if __name__ == "__main__":
    main()

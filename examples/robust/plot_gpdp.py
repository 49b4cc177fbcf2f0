"""Gaussian-process dynamic programming on a fishery with a tipping point (Boettiger et al. 2015).

The true stock dynamics (Allen model, tipping point C = 5) are unknown to the manager, who sees a
short time series that never visits low stocks.  Three models are fitted to the same data and each
induces a harvest MDP solved exactly by mdpkit:

* **parametric**: a Ricker curve (no tipping point) fitted by least squares on log(x'/S), the model
  that "model selection" picks in the paper;
* **GP**: a Gaussian-process regression of x' on the escapement S (scikit-learn, RBF + white noise,
  the origin added as a known point: no fish, no recruits), its predictive law binned on the grid;
* **robust GP**: the GP model with an sa-rectangular Wasserstein-1 ball (ground metric: stock
  distance) whose radius at escapement S is one epistemic sd of the GP (its predictive sd without
  the fitted white noise: the uncertainty about the curve itself; shifting the next-stock law by
  that much costs exactly the radius), solved by robust policy iteration.

Each policy is then evaluated **exactly on the true model** (a linear solve), next to the true
optimum, and simulated from a low-ish stock.  Figures: ``gpdp_models.png`` (growth curves and data),
``gpdp_policies.png`` (escapement and harvest per stock), ``gpdp_values.png`` (true value of each
policy and simulated trajectories).

Usage: ``python examples/robust/plot_gpdp.py [--out DIR] [--n-states N] [--seed SEED]``.

Reference: C. Boettiger, M. Mangel, S. Munch, Proc. R. Soc. B 282: 20141631, 2015.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def observe(rng, T, x0, r, K, C, sigma, harvest_frac=(0.0, 0.1)):
    """A time series of (escapement, next stock) from the true Allen dynamics near carrying capacity."""
    from mdpkit.generators import allen_growth

    S_obs, x_next = [], []
    x = x0
    for _ in range(T):
        S = x * (1.0 - rng.uniform(*harvest_frac))
        x = float(allen_growth(S, r, K, C)) * float(np.exp(sigma * rng.standard_normal()))
        S_obs.append(S)
        x_next.append(x)
    return np.array(S_obs), np.array(x_next)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="figures")
    ap.add_argument("--n-states", type=int, default=61)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--T", type=int, default=40, help="length of the observed time series")
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from mdpkit.generators import allen_growth, fisheries, harvest_mdp, ricker_growth
    from mdpkit.policies import policy_evaluation
    from mdpkit.solvers import policy_iteration, robust_policy_iteration
    from mdpkit.uncertainty import UncertaintySet

    t0 = time.perf_counter()
    r, K, C, sigma, gamma = 2.0, 10.0, 5.0, 0.05, 0.95
    rng = np.random.default_rng(args.seed)
    S_obs, x_next = observe(rng, args.T, K, r, K, C, sigma)

    true = fisheries(args.n_states, model="allen", r=r, K=K, C=C, sigma=sigma, gamma=gamma)
    grid = np.linspace(0.0, 1.5 * K, args.n_states)

    # parametric: log(x'/S) = r - (r/K) S + noise, ordinary least squares
    X = np.column_stack([np.ones_like(S_obs), S_obs])
    coef, *_ = np.linalg.lstsq(X, np.log(x_next / S_obs), rcond=None)
    r_hat, K_hat = float(coef[0]), float(-coef[0] / coef[1])
    sig_hat = float(np.std(np.log(x_next / S_obs) - X @ coef, ddof=2))
    param = harvest_mdp(lambda S: ricker_growth(S, r_hat, K_hat), sig_hat, grid, gamma=gamma, name="ricker fit")

    # GP on (S, x'), with the origin as a known point
    Xg = np.concatenate([[0.0], S_obs])[:, None]
    yg = np.concatenate([[0.0], x_next])
    kern = ConstantKernel(10.0, (1e-2, 1e3)) * RBF(2.0, (0.3, 30.0)) + WhiteKernel(0.1, (1e-4, 10.0))
    gp = GaussianProcessRegressor(kern, normalize_y=False, random_state=args.seed).fit(Xg, yg)

    def gp_mean(S):
        return np.maximum(gp.predict(np.asarray(S, float)[:, None]), 0.0)

    def gp_sd(S):
        return gp.predict(np.asarray(S, float)[:, None], return_std=True)[1]

    def gp_epistemic_sd(S):  # predictive sd without the fitted white noise: uncertainty about the curve
        return np.sqrt(np.maximum(gp_sd(S) ** 2 - gp.kernel_.k2.noise_level, 0.0))

    gpm = harvest_mdp(gp_mean, gp_sd, grid, noise="normal", gamma=gamma, name="GP")
    # Wasserstein-1 ball in stock units: moving the curve down by one epistemic sd costs exactly that sd
    i, j = np.meshgrid(np.arange(args.n_states), np.arange(args.n_states), indexing="ij")
    radius = np.where(j <= i, gp_epistemic_sd(grid)[np.maximum(i - j, 0)], 0.0)  # escapement x_i - x_j = x_{i-j}
    metric = np.abs(grid[:, None] - grid[None, :])

    res = {"true": policy_iteration(true), "parametric": policy_iteration(param), "GP": policy_iteration(gpm)}
    rob = robust_policy_iteration(gpm, UncertaintySet("wasserstein", radius, support="simplex", metric=metric))
    policies = {k: np.asarray(v.policy) for k, v in res.items()}
    policies["robust GP"] = np.asarray(rob.policy)
    values = {k: policy_evaluation(true, p) for k, p in policies.items()}  # exact, on the true model

    os.makedirs(args.out, exist_ok=True)
    colors = {"true": "k", "parametric": "tab:red", "GP": "tab:blue", "robust GP": "tab:green"}

    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    s = np.linspace(0, 1.5 * K, 300)
    ax.plot(s, allen_growth(s, r, K, C), "k", label=f"true (Allen, tipping point C={C:g})")
    ax.plot(s, ricker_growth(s, r_hat, K_hat), color="tab:red", label=f"Ricker fit (r={r_hat:.2f}, K={K_hat:.2f})")
    m, sd = gp.predict(s[:, None], return_std=True)
    ax.plot(s, m, color="tab:blue", label="GP mean")
    ax.fill_between(s, m - 2 * sd, m + 2 * sd, color="tab:blue", alpha=0.2, label="GP +/- 2 sd")
    ax.plot(S_obs, x_next, "o", ms=4, color="0.3", label=f"observations (T={args.T})")
    ax.plot(s, s, ":", color="0.5", lw=0.8)
    ax.set_xlabel("escapement S"), ax.set_ylabel("next stock x'")
    ax.set_ylim(-1, 2.2 * K)
    ax.legend(fontsize=8)
    ax.set_title("Stock-recruitment: truth, parametric fit and GP")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "gpdp_models.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, p in policies.items():
        axes[0].step(grid, grid - grid[p], where="mid", color=colors[k], label=k)
        axes[1].step(grid, grid[p], where="mid", color=colors[k], label=k)
    axes[0].set_xlabel("stock x"), axes[0].set_ylabel("escapement x - h")
    axes[1].set_xlabel("stock x"), axes[1].set_ylabel("harvest h")
    axes[0].axhline(C, ls=":", color="0.5")
    axes[0].legend(fontsize=8)
    fig.suptitle("Optimal policies of each model")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "gpdp_policies.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for k, v in values.items():
        axes[0].plot(grid, v, color=colors[k], label=k)
    axes[0].set_xlabel("initial stock"), axes[0].set_ylabel("expected discounted harvest on the TRUE model")
    axes[0].legend(fontsize=8)
    sim_rng = np.random.default_rng(args.seed + 1)
    P = true.P_dense()
    x0 = int(np.searchsorted(grid, 0.6 * K))
    for k, p in policies.items():
        for rep in range(5):
            s_ = x0
            traj = [grid[s_]]
            for _ in range(30):
                s_ = int(sim_rng.choice(true.S, p=P[s_, p[s_]]))
                traj.append(grid[s_])
            axes[1].plot(traj, color=colors[k], alpha=0.6, lw=1, label=k if rep == 0 else None)
    axes[1].axhline(C, ls=":", color="0.5")
    axes[1].set_xlabel("year"), axes[1].set_ylabel("stock (true dynamics)")
    axes[1].legend(fontsize=8)
    fig.suptitle("Each policy on the true model: exact value and simulations")
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "gpdp_values.png"), dpi=110)
    plt.close(fig)

    i0 = x0
    summary = {"value_on_true_model_from_x0": {k: float(v[i0]) for k, v in values.items()}, "x0": float(grid[i0]),
               "ricker_fit": {"r": r_hat, "K": K_hat, "sigma": sig_hat}, "gp_kernel": str(gp.kernel_),
               "seconds": time.perf_counter() - t0}
    with open(os.path.join(args.out, "gpdp_summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)
    print(json.dumps(summary, indent=1))
    return {"values": values, "true_v": np.asarray(res["true"].v), "true_v_error": res["true"].v_error_bound,
            "policies": policies, "summary": summary}


if __name__ == "__main__":
    main()

"""Registered theorem checks for stochastic K-armed bandits.

Instances are :class:`mdpkit.bandits.BernoulliBandit` / :class:`~mdpkit.bandits.GaussianBandit`
records drawn by hypothesis (K in [2, 5], gaps bounded away from 0); every run is seeded from the
check's ``rng`` (derandomised).  Subjects are *runners* ``subject(instance, horizon, n_runs, seed)
-> LearningResult`` (or a confidence radius), so a user can check their own implementation.

Regret bounds are compared with the mean pseudo-regret over runs at a few checkpoints (or with the
exact expected regret where it is known: ETC).  The mean has Monte Carlo error; the finite-time
bounds are loose enough (ratios well below 1) that a fixed seed never sits at the edge, and the
negative controls (uniform play, greedy play, the [0, 1] Hoeffding radius on unit-variance
Gaussian rewards, UCB1 against the Lai-Robbins constant) exceed them by large factors.
"""

from __future__ import annotations

import math

import numpy as np

from mdpkit.bandits import BernoulliBandit, GaussianBandit
from mdpkit.bounds import bandits as bb

from ._core import Observation, Theorem, register

LS = "Lattimore & Szepesvari 2020"
CHECKPOINTS = (0.1, 0.3, 1.0)


# ----------------------------------------------------------------------------- families
def bernoulli_bandits(K=(2, 5)):
    """Bernoulli instances: mu* in [0.3, 0.95], gaps in [0.1, 0.6] (steps of 0.05), means in [0, 1]."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        k = d(st.integers(*K))
        top = d(st.integers(6, 19)) * 0.05
        gaps = [d(st.integers(2, 12)) * 0.05 for _ in range(k - 1)]
        means = np.clip(np.array([top] + [top - g for g in gaps]), 0.0, 1.0)
        if np.sum(means == means.max()) > 1 or len(set(means.tolist())) < 2:
            means[0] = min(1.0, means.max() + 0.05)
        return BernoulliBandit(np.round(means, 10), name="bernoulli")

    return draw()


def gaussian_bandits(K=(2, 5), gap=(6, 30)):
    """Unit-variance Gaussian instances: mu* = 0, gaps in [0.3, 1.5] (steps of 0.05)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        k = d(st.integers(*K))
        gaps = [d(st.integers(*gap)) * 0.05 for _ in range(k - 1)]
        return GaussianBandit(np.round(np.array([0.0] + [-g for g in gaps]), 10), sigma=1.0, name="gaussian")

    return draw()


# ----------------------------------------------------------------------------- subjects
def _runner(name, **kw):
    def subject(instance, horizon, n_runs, seed):
        from mdpkit.solvers.bandits import run_bandit

        return run_bandit(name, instance, horizon, n_runs, seed, **kw)

    subject.__name__ = f"run_{name}"
    subject.__doc__ = f"run_bandit({name!r}, instance, horizon, n_runs, seed{', ' + str(kw) if kw else ''})"
    return subject


ucb1 = _runner("ucb1")
ucb_delta = _runner("ucb_delta")
uniform = _runner("uniform")
greedy = _runner("greedy")
ts_beta = _runner("ts_beta")
ucb1_control = _runner("ucb1")


def etc(instance, horizon, n_runs, seed, m):
    """Default subject of the ETC check: explore-then-commit with ``m`` pulls per arm."""
    from mdpkit.solvers.bandits import run_bandit

    return run_bandit("etc", instance, horizon, n_runs, seed, m=m)


def uniform_etc(instance, horizon, n_runs, seed, m):
    """Negative control: uniformly random arms, ``m`` ignored."""
    return uniform(instance, horizon, n_runs, seed)


def _seed(rng) -> int:
    return int(rng.integers(0, 2 ** 31))


def _checkpoints(T):
    return np.unique(np.maximum(1, (np.array(CHECKPOINTS) * T).astype(int)))


def _mean_regret_obs(res, bound_fn, T, label):
    ts = _checkpoints(T)
    mean = res.expected_regret[ts - 1]
    bnd = np.array([bound_fn(int(t)).value for t in ts])
    return Observation(mean, bnd, x=ts, rtol=1e-9, atol=1e-9, label=label,
                       info={"T": T, "n_runs": res.n_runs, "exact": bool(res.expected_regret_exact)})


# ----------------------------------------------------------------------------- UCB1
def _run_ucb1(inst, rng, subject):
    T = 3000
    res = subject(inst, T, 10, _seed(rng))
    return _mean_regret_obs(res, lambda t: bb.ucb1_regret_bound(inst, t), T, f"bernoulli K={inst.K} "
                            f"mu={np.round(inst.means, 2).tolist()}")


register(Theorem(
    name="bandit-ucb1-regret",
    statement="UCB1: E[R_t] <= 8 sum_{D_i>0} ln(t)/D_i + (1 + pi^2/3) sum_j D_j (rewards in [0, 1])",
    source="Auer, Cesa-Bianchi & Fischer 2002, Thm 1",
    compare="bound", subject=ucb1, subject_doc="subject(instance, horizon, n_runs, seed) -> LearningResult",
    run=_run_ucb1, family=bernoulli_bandits,
    negative=uniform, negative_doc="uniformly random arms (no exploitation: linear regret)",
    ylabel="mean pseudo-regret", plot="ratio",
    power_note="UCB1's constant 8 is about 10x the regret UCB1 shows on these instances; halving it still holds",
))


# ----------------------------------------------------------------------------- UCB(delta)
def _run_ucb_delta(inst, rng, subject):
    T = 3000
    res = subject(inst, T, 15, _seed(rng))
    # delta = 1/T^2 is fixed by the horizon: the theorem bounds R_T, and R_t <= R_T for t <= T
    return _mean_regret_obs(res, lambda t: bb.ucb_delta_regret_bound(inst, T), T,
                            f"gaussian K={inst.K} gaps={np.round(inst.gaps[1:], 2).tolist()}")


register(Theorem(
    name="bandit-ucb-delta-regret",
    statement="UCB(delta), delta = 1/n^2: R_n <= 3 sum_i D_i + sum_{D_i>0} 16 log(n)/D_i (1-subgaussian)",
    source=f"{LS}, Thm 7.1",
    compare="bound", subject=ucb_delta, subject_doc="subject(instance, horizon, n_runs, seed) -> LearningResult",
    run=_run_ucb_delta, family=gaussian_bandits,
    negative=greedy, negative_doc="greedy play (follow the best empirical mean; linear regret)",
    controls=(("uniformly random arms", uniform),),
    ylabel="mean pseudo-regret", plot="ratio", source_checked=True,
    power_note="the bound's constant 16 is loose (the proof's union bounds); UCB's regret is ~5x below it",
))


# ----------------------------------------------------------------------------- ETC (exact)
def _run_etc(inst, rng, subject):
    c = float(rng.choice([2.0, 8.0, 16.0]))
    m = int(math.ceil(c / inst.min_gap ** 2))
    T = m * inst.K + int(rng.integers(20, 300))
    res = subject(inst, T, 100, _seed(rng), m)
    o = _mean_regret_obs(res, lambda t: bb.etc_regret_bound(inst, T, m) if t == T else _etc_bound_t(inst, t, m), T,
                         f"gaussian K={inst.K} m={m} T={T}")
    o.info["m"] = m
    return o


def _etc_bound_t(inst, t, m):
    """Thm 6.1 at a time t < T: the regret up to t of an ETC run with m pulls per arm is that of
    ETC with horizon t (the rule does not depend on the horizon), when m K <= t."""
    if m * inst.K > t:
        # pure exploration so far: the exact round-robin regret, a deterministic bound
        g = inst.gaps
        from mdpkit.bounds import Bound, BoundKind

        return Bound(float(sum(g[i % inst.K] for i in range(t))), BoundKind.DETERMINISTIC, "round robin")
    return bb.etc_regret_bound(inst, t, m)


def _etc_tight():
    return [(GaussianBandit([0.0, -1.0], name="etc-tight"), 1), (GaussianBandit([0.0, -0.5, -0.5], name="etc-tight3"), 2)]


register(Theorem(
    name="bandit-etc-regret",
    statement="ETC with m pulls per arm: R_n <= m sum_i D_i + (n - m k) sum_i D_i exp(-m D_i^2/4) (1-subgaussian)",
    source=f"{LS}, Thm 6.1",
    compare="bound", subject=etc, subject_doc="subject(instance, horizon, n_runs, seed, m) -> LearningResult",
    run=_run_etc, family=lambda: gaussian_bandits(gap=(8, 30)), tight=_etc_tight,
    negative=uniform_etc, negative_doc="uniformly random arms instead of exploring m times and committing",
    ylabel="expected regret (exact)", plot="ratio", source_checked=True,
))


# ----------------------------------------------------------------------------- UCB confidence event
def radius(s, delta):
    """Default subject: the UCB(delta) radius sqrt(2 log(1/delta)/s) for 1-subgaussian rewards."""
    return np.sqrt(2.0 * math.log(1.0 / delta) / s)


def hoeffding01_radius(s, delta):
    """Negative control: the Hoeffding radius sqrt(log(1/delta)/(2 s)) of rewards in [0, 1],
    used on unit-variance Gaussian rewards (2x too narrow)."""
    return np.sqrt(math.log(1.0 / delta) / (2.0 * s))


def _run_confidence(inst, rng, subject):
    n, runs = 100, 2000
    delta = 0.05 / n  # so the union bound n delta is 0.05
    mu = inst.mu_star
    x = mu + rng.standard_normal((runs, n))  # the optimal arm's reward stream (sigma = 1)
    s = np.arange(1, n + 1)
    mean = np.cumsum(x, axis=1) / s
    fail = np.any(mean + subject(s, delta) <= mu, axis=1)
    p = bb.ucb_confidence_failure_bound(n, delta).value
    # binomial slack: allow the count to exceed n*delta*runs by 4 standard deviations (+1)
    allowed = p + (4.0 * math.sqrt(p * (1 - p) * runs) + 1.0) / runs
    return Observation(np.array([fail.mean()]), np.array([allowed]), label=f"gaussian mu*={mu:g} n={n}",
                       info={"failures": int(fail.sum()), "runs": runs, "n_delta": p})


register(Theorem(
    name="bandit-ucb-confidence",
    statement="P(exists s <= n: mu_hat_s + sqrt(2 log(1/delta)/s) <= mu) <= n delta; observed frequency "
              "<= n delta + 4 binomial standard deviations",
    source=f"{LS}, Eq. (7.7) (proof of Thm 7.1)",
    compare="bound", subject=radius, subject_doc="radius(s: int array, delta) -> array, the confidence width",
    run=_run_confidence, family=gaussian_bandits,
    negative=hoeffding01_radius, negative_doc="[0, 1] Hoeffding radius on unit-variance Gaussian rewards",
    ylabel="failure frequency", plot="ratio", source_checked=True,
    power_note="the union bound over s is loose: the observed frequency is far below n delta",
))


# ----------------------------------------------------------------------------- Lai-Robbins
def _run_lai_robbins(inst, rng, subject):
    T = 4000
    res = subject(inst, T, 40, _seed(rng))
    t = np.unique(np.geomspace(T / 20, T, 12).astype(int))
    R = res.expected_regret[t - 1]
    slope = float(np.polyfit(np.log(t), R, 1)[0])  # R(t) ~ a + b log t
    C = inst.lai_robbins_constant()
    return Observation(np.array([slope]), np.array([1.5 * C]), atol=0.5, label=f"bernoulli K={inst.K} "
                       f"mu={np.round(inst.means, 2).tolist()}", info={"C": C, "slope": slope})


def _easy_bernoulli():
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        k = d(st.integers(2, 3))
        top = d(st.integers(14, 19)) * 0.05
        gaps = [d(st.integers(4, 10)) * 0.05 for _ in range(k - 1)]
        return BernoulliBandit(np.round(np.array([top] + [top - g for g in gaps]), 10), name="bernoulli-easy")

    return draw()


register(Theorem(
    name="bandit-ts-lai-robbins",
    statement="Thompson sampling (Beta prior): the regret's slope in log t approaches the Lai-Robbins "
              "constant C = sum D_i / kl(mu_i, mu*); checked: fitted slope over t in [T/20, T] <= 1.5 C + 0.5",
    source="Kaufmann, Korda & Munos 2012, Thm 1; Lai & Robbins 1985",
    compare="bound", subject=ts_beta, subject_doc="subject(instance, horizon, n_runs, seed) -> LearningResult",
    run=_run_lai_robbins, family=_easy_bernoulli,
    negative=ucb1_control, negative_doc="UCB1 (its slope is sum 2/D_i-ish, far above C when means are near 1)",
    ylabel="slope of R(t) in log t / C", plot="ratio", default=False,
    power_note="an asymptotic statement checked at a finite horizon with a declared 1.5x tolerance",
))


# ----------------------------------------------------------------------------- OFUL ellipsoid
def linear_bandits():
    """Linear instances: d in [2, 5], 5 to 20 arms and theta on the unit sphere, noise sigma in {0.25, 0.5, 1}."""
    from hypothesis import strategies as st

    from mdpkit.bandits import LinearBandit

    @st.composite
    def draw(d_):
        d = d_(st.integers(2, 5))
        n = d_(st.integers(5, 20))
        sig = d_(st.sampled_from([0.25, 0.5, 1.0]))
        seed = d_(st.integers(0, 2 ** 31))
        return LinearBandit.random(np.random.default_rng(seed), n, d, sigma=sig, name="linear")

    return draw()


def oful(instance, horizon, n_runs, seed, delta):
    """Default subject: OFUL with the self-normalised radius of Abbasi-Yadkori et al. 2011, Thm 2."""
    from mdpkit.solvers.bandits import run_linear_bandit

    return run_linear_bandit("oful", instance, horizon, n_runs, seed, delta=delta)


def oful_fixed_width(instance, horizon, n_runs, seed, delta):
    """Negative control: LinUCB with a fixed confidence width 1 (as common libraries run it)."""
    from mdpkit.solvers.bandits import run_linear_bandit

    return run_linear_bandit("oful", instance, horizon, n_runs, seed, variant="practical", width=1.0)


def _run_oful(inst, rng, subject):
    delta, runs = 0.1, 60
    res = subject(inst, 150, runs, _seed(rng), delta)
    freq = float(np.mean(res.ellipsoid_ratio > 1.0))
    allowed = delta + (4.0 * math.sqrt(delta * (1 - delta) * runs) + 1.0) / runs
    return Observation(np.array([freq]), np.array([allowed]), label=f"linear d={inst.d} K={inst.K} sigma={inst.sigma:g}",
                       info={"max_ratio": float(res.ellipsoid_ratio.max()), "runs": runs})


register(Theorem(
    name="bandit-oful-ellipsoid",
    statement="P(exists t: ||theta_hat_t - theta*||_{V_t} > R sqrt(2 log(det(V_t)^1/2 det(lam I)^-1/2/delta)) + lam^1/2 S) "
              "<= delta; observed frequency over OFUL runs <= delta + 4 binomial standard deviations",
    source="Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 2",
    compare="bound", subject=oful, subject_doc="subject(instance, horizon, n_runs, seed, delta) -> LinearLearningResult",
    run=_run_oful, family=linear_bandits,
    negative=oful_fixed_width, negative_doc="fixed-width LinUCB (radius 1 instead of the self-normalised radius)",
    ylabel="ellipsoid failure frequency", plot="ratio",
    power_note="the self-normalised bound is conservative: failures are rare, far below delta",
))


# ----------------------------------------------------------------------------- sqrt(T) minimax rate
#: horizons of the rate fit, and the extra fixed gap added to the gap grid
T_RATE = (125, 250, 500, 1000, 2000)
RATE_SLACK = 0.15


def gap_profiles():
    """Gap profiles for the worst-case rate checks: K in [2, 5], the first suboptimal arm at gap
    c, the others at c times {1, 1.25, 1.5, 2}, c in {0.5, 0.75, 1, 1.5}; the run scales the profile
    (:func:`worst_case_regret`)."""
    from hypothesis import strategies as st

    @st.composite
    def draw(d):
        k = d(st.integers(2, 5))
        c = d(st.sampled_from([0.5, 0.75, 1.0, 1.5]))
        mult = [1.0] + [d(st.sampled_from([1.0, 1.25, 1.5, 2.0])) for _ in range(k - 2)]
        return GaussianBandit(np.round(np.array([0.0] + [-c * m for m in mult]), 10), sigma=1.0, name="gap-profile")

    return draw()


def _scaled(profile, scale, family):
    means = profile.means * scale
    if family == "gaussian":
        return GaussianBandit(means, sigma=1.0, name="scaled")
    return BernoulliBandit(np.clip(0.5 + means, 0.0, 1.0), name="scaled")


def worst_case_regret(subject, profile, family, rng, n_runs=24, horizons=T_RATE):
    r"""``R_wc(T)`` = max over a gap grid of the mean pseudo-regret at T, for every T in ``horizons``.

    The grid at horizon T is the profile scaled by :math:`g\sqrt{K/T}`, g in {1/2, 1, 2, 4} (the
    worst-case gap of horizon T is of that order), plus the fixed scale 0.5 (so an algorithm with
    linear regret at a fixed gap shows it; gaps shrinking like 1/sqrt(T) alone cap every
    algorithm's regret at O(sqrt(T)))."""
    K = profile.K
    top = float(np.max(-profile.means))
    out = np.zeros(len(horizons))
    for i, T in enumerate(horizons):
        scales = [g * math.sqrt(K / T) for g in (0.5, 1.0, 2.0, 4.0)] + [0.5]
        if family == "bernoulli":
            scales = [min(s, 0.45 / top) for s in scales]
        for s in scales:
            res = subject(_scaled(profile, s, family), int(T), n_runs, _seed(rng))
            out[i] = max(out[i], float(res.expected_regret[-1]))
    return out


def rate_slope(horizons, regret) -> float:
    """Least-squares slope of log regret against log horizon."""
    return float(np.polyfit(np.log(np.asarray(horizons, float)), np.log(np.maximum(regret, 1e-12)), 1)[0])


def _rate_run(family):
    def run(profile, rng, subject):
        R = worst_case_regret(subject, profile, family, rng)
        slope = rate_slope(T_RATE, R)
        return Observation(np.array([slope]), np.array([0.5 + RATE_SLACK]), label=f"{family} K={profile.K} "
                           f"profile={np.round(-profile.means[1:], 2).tolist()}",
                           info={"worst_case_regret": R.tolist(), "horizons": list(T_RATE), "slope": slope})

    return run


moss = _runner("moss")
exp3 = _runner("exp3")


def etc_m1(instance, horizon, n_runs, seed):
    """Negative control: explore-then-commit with one pull per arm (mis-tuned commit length)."""
    from mdpkit.solvers.bandits import run_bandit

    return run_bandit("etc", instance, horizon, n_runs, seed, m=1)


def _register_minimax_rate(name, statement, source, subject, family, controls=()):
    """Register a worst-case sqrt(T) slope check (not default: several seconds each)."""
    register(Theorem(
        name=name, statement=statement + f"; checked: the log-log slope of the worst-case mean pseudo-regret "
                                         f"over a gap grid, T in {list(T_RATE)}, is <= 1/2 + {RATE_SLACK}",
        source=source, compare="bound", subject=subject,
        subject_doc="subject(instance, horizon, n_runs, seed) -> LearningResult",
        run=_rate_run(family), family=gap_profiles,
        negative=etc_m1, negative_doc="explore-then-commit with m = 1 (linear regret at a fixed gap: slope near 1)",
        controls=controls, ylabel="fitted slope of log R_wc(T) in log T", plot="ratio", default=False,
        power_note="a slope check with a declared tolerance of 0.15; halving the threshold (0.325) is below 1/2 "
                   "and fails",
    ))


_register_minimax_rate("bandit-moss-sqrt-rate", "MOSS (horizon known): worst-case regret O(sqrt(K T)) on unit-variance "
                       "Gaussian arms", f"{LS}, Thm 9.1; Audibert & Bubeck 2009", moss, "gaussian",
                       controls=(("greedy play", greedy),))
_register_minimax_rate("bandit-exp3-sqrt-rate", "Exp3 (eta = sqrt(2 log K/(T K))): regret O(sqrt(T K log K)) on "
                       "Bernoulli arms around 1/2", f"{LS}, Thm 11.2", exp3, "bernoulli")


# ----------------------------------------------------------------------------- OFUL on the unit ball: sqrt(T) log T
def unit_ball_bandits():
    """Unit-ball instances: d in [2, 5], theta uniform in direction with norm in {0.3, 0.5, 0.8, 1},
    noise sigma in {0.5, 1}."""
    from hypothesis import strategies as st

    from mdpkit.structured_bandits import UnitBallBandit

    @st.composite
    def draw(d_):
        d = d_(st.integers(2, 5))
        norm = d_(st.sampled_from([0.3, 0.5, 0.8, 1.0]))
        sig = d_(st.sampled_from([0.5, 1.0]))
        v = np.random.default_rng(d_(st.integers(0, 2 ** 31))).standard_normal(d)
        return UnitBallBandit(np.round(norm * v / np.linalg.norm(v), 12), sigma=sig, name="unit-ball")

    return draw()


def oful_ball(instance, horizon, n_runs, seed):
    """Default subject: OFUL on the unit ball with the radius of Abbasi-Yadkori et al. 2011, Thm 2."""
    from mdpkit.solvers.structured_bandits import run_unit_ball_oful

    return run_unit_ball_oful(instance, horizon, n_runs, seed)


def greedy_ball(instance, horizon, n_runs, seed):
    """Negative control: ridge-greedy play on the unit ball (confidence width 1e-3)."""
    from mdpkit.solvers.structured_bandits import run_unit_ball_oful

    return run_unit_ball_oful(instance, horizon, n_runs, seed, variant="practical", width=1e-3)


def _run_ball_rate(inst, rng, subject):
    R = np.array([float(subject(inst, int(T), 16, _seed(rng)).expected_regret[-1]) for T in T_RATE])
    # OFUL's regret is O(d sqrt(T) log T): fit the slope of R/log T
    slope = rate_slope(T_RATE, R / np.log(np.asarray(T_RATE, float)))
    return Observation(np.array([slope]), np.array([0.5 + RATE_SLACK]), label=f"unit ball d={inst.d} "
                       f"|theta|={inst.theta_norm:.2g} sigma={inst.sigma:g}",
                       info={"regret": R.tolist(), "horizons": list(T_RATE), "slope": slope})


register(Theorem(
    name="bandit-oful-ball-sqrt-rate",
    statement="OFUL on the unit ball: regret O(d sqrt(T) log T); checked: the log-log slope of R_T / log T "
              f"(mean pseudo-regret, exact per run), T in {list(T_RATE)}, is <= 1/2 + {RATE_SLACK}",
    source="Abbasi-Yadkori, Pal & Szepesvari 2011, Thm 3",
    compare="bound", subject=oful_ball, subject_doc="subject(instance, horizon, n_runs, seed) -> BallLearningResult",
    run=_run_ball_rate, family=unit_ball_bandits,
    negative=greedy_ball, negative_doc="ridge-greedy play (width 1e-3): linear regret for d >= 3",
    ylabel="fitted slope of log(R_T / log T) in log T", plot="ratio", default=False,
    power_note="a slope check with a declared tolerance of 0.15; halving the threshold (0.325) fails",
))


# ----------------------------------------------------------------------------- history bandits: MDP reduction
def history_bandits():
    """Recovering-reward (up to 2 pulls per period when N = 3) and last-switch-dependent instances:
    2 or 3 arms, per-arm state ranges 1 to 3,
    payoffs on a 0.05 grid in [0, 1] (recovery non-decreasing in the idle time; LSD payoffs monotone:
    non-decreasing in the rest length, non-increasing in the play length), random initial states."""
    from hypothesis import strategies as st

    from mdpkit.structured_bandits import LSDBandit, RecoveringBandit

    @st.composite
    def draw(d):
        N = d(st.integers(2, 3))
        lsd = d(st.booleans())
        m = d(st.integers(1, 2 if lsd else 3))
        grid = st.integers(0, 20)

        def rows(desc):
            out = np.array([sorted(d(grid) * 0.05 for _ in range(m)) for _ in range(N)])
            return np.round(out[:, ::-1] if desc else out, 10)

        if lsd:
            tau0 = np.array([d(st.sampled_from([-1, 1])) * d(st.integers(1, m)) for _ in range(N)], np.int64)
            return LSDBandit(rows(False), rows(True), initial=tau0, name="lsd")
        z0 = np.array([d(st.integers(1, m)) for _ in range(N)], np.int64)
        K = d(st.integers(1, 2)) if N == 3 and m <= 2 else 1
        return RecoveringBandit(rows(False), initial=z0, max_pulls=K, name=f"recovering K={K}")

    return draw()


def plan_value(instance, horizon):
    """Default subject: the optimal T-step value by backward induction on the MDP reduction."""
    from mdpkit.solvers.structured_bandits import plan_history_bandit

    return plan_history_bandit(instance, horizon).value


def myopic_value(instance, horizon):
    """Negative control: the value of pulling, every round, the arm whose current mean is largest
    (a planner that ignores how a pull changes the arm's future means)."""
    N = instance.N
    st = np.array(instance.initial)
    total = 0.0
    for _ in range(horizon):
        k = int(np.argmax(instance.mean[np.arange(N), st]))
        total += float(instance.mean[k, st[k]])
        nxt = instance.next_idle[np.arange(N), st]
        nxt[k] = instance.next_pull[k, st[k]]
        st = nxt
    return total


def _run_history(inst, rng, subject):
    from mdpkit.solvers.structured_bandits import brute_force_plan

    T = 6 if inst.n_actions <= 4 else 5
    brute = brute_force_plan(inst, T).value
    v = float(subject(inst, T))
    return Observation(np.array([abs(v - brute)]), np.array([0.0]), atol=1e-9, rtol=0.0,
                       label=f"{inst.name} N={inst.N} states/arm={inst.mean.shape[1]}",
                       info={"value": v, "brute_force": brute})


register(Theorem(
    name="bandit-history-mdp-reduction",
    statement="Recovering / last-switch-dependent bandits with capped per-arm states are deterministic MDPs on "
              "the joint states: backward induction on that MDP gives the optimal T-step value, equal to the "
              "maximum over all A^T action sequences (checked |V_plan - V_enum| <= 1e-9, T = 5 or 6)",
    source="Bellman optimality (Puterman 1994, Thm 4.3.3, number not checked) on the reduction of "
           "Simchi-Levi, Zheng & Zhu 2021 / "
           "Laforgue et al. 2022 models",
    compare="identity", subject=plan_value, subject_doc="subject(instance, horizon) -> float, the optimal T-step value",
    run=_run_history, family=history_bandits,
    negative=myopic_value, negative_doc="myopic play: the arm with the largest current mean every round",
    ylabel="|V_plan - V_enumeration|", plot="ratio",
))

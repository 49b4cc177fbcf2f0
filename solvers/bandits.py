r"""K-armed bandit algorithms as published, and the runner that returns exact pseudo-regret traces.

Each algorithm is a :class:`BanditAlgorithm` record (name, variant, options).  ``variant="paper"``
runs the algorithm with the constants of the theorem that :func:`mdpkit.bounds.bandits.regret_bound`
attaches to it; the other variants are the practical versions people run (their bound is refused
with :class:`mdpkit.bounds.bandits.BoundNotApplicableError`).

=================  ==========================================================  =====================
name               index / rule (``variant="paper"``)                          other variants
=================  ==========================================================  =====================
``ucb1``           mu + sqrt(2 log(t-1) / N) (Auer, Cesa-Bianchi & Fischer     ``practical``: c
                   2002, Fig. 1, Thm 1)                                        instead of 2
``ucb_delta``      mu + sqrt(2 log(1/delta)/N), delta = 1/T^2 (Lattimore &     ``practical``: delta
                   Szepesvari 2020, Alg. 3, Thm 7.1)
``ao_ucb``         mu + sqrt(2 log f(t)/N), f(t) = 1 + t log^2 t (L&S 2020,    ``practical``: c
                   Alg. 6, Thm 8.1)
``kl_ucb``         max{q: N kl(mu, q) <= log t + 3 log log t} (Garivier &      ``ls``: log f(t) (L&S
                   Cappe 2011, Thm 1, c = 3)                                   Alg. 8, Thm 10.6);
                                                                               ``practical``: c = 0
``kl_ucb_pp``      max{q: N kl(mu, q) <= g(N)}, g(N) = log+(T/(KN)             --
                   (log+^2(T/(KN)) + 1)) (Menard & Garivier 2017, Thm 1)
``ts_beta``        theta ~ Beta(successes+1, failures+1) (Agrawal & Goyal      --
                   2012, Alg. 2; Kaufmann, Korda & Munos 2012, Thm 1)
``ts_gaussian``    theta ~ N(S/(N+1), 1/(N+1)) (Agrawal & Goyal 2013, Alg. 2)  ``practical``:
                                                                               variance sigma^2
``moss``           mu + sqrt(4/N log+(T/(K N))) with the horizon T (L&S 2020,  ``anytime``: t for T
                   Alg. 7, Thm 9.1; Audibert & Bubeck 2009)
``imed``           argmin N kl(mu, mu*) + log N (Honda & Takemura 2015)        --
``exp3``           P ∝ exp(eta S_hat), eta = sqrt(2 log K/(T K)) (L&S 2020,    ``practical``: eta_t =
                   Alg. 9, Thm 11.2)                                           sqrt(log K/(t K))
``etc``            m rounds per arm, then commit (L&S 2020, Alg. 1, Thm 6.1)   --
``eps_greedy``     epsilon-greedy (no bound attached)                          ``practical`` only;
                                                                               ``decaying``:
                                                                               min(1, cK/(d^2 t))
``tsallis_inf``    FTRL with 1/2-Tsallis entropy, eta_t = 2/sqrt(t), IW        ``practical``: eta0
                   losses (Zimmert & Seldin 2021, Alg. 1, Thm 1)
``greedy``         follow the best mean after one pull each (control)          --
``uniform``        uniformly random arm (control)                              --
=================  ==========================================================  =====================

Linear bandits on finite arm sets (:func:`run_linear_bandit`): ``oful`` (Abbasi-Yadkori, Pal &
Szepesvari 2011, self-normalised radius of Thm 2; ``practical``: fixed width) and ``lin_ts``
(Agrawal & Goyal 2013).  The Gittins index of a Beta-Bernoulli arm (:func:`gittins_index`) by
exact DP on the restart-in-state MDP (Katehakis & Veinott 1987), solved with mdpkit's value
iteration.

Divergences: KL-UCB, KL-UCB++ and IMED use the Bernoulli kl on Bernoulli and Beta (bounded)
instances and the Gaussian divergence :math:`(p-q)^2/(2\sigma^2)` on Gaussian ones.

The hot loop is :func:`mdpkit._kernels.bandits.run_runs` (Numba, all runs of one call in one
compiled loop).  The same rules are available step by step as pure functions
(:meth:`BanditAlgorithm.init`, :func:`select`, :func:`update`) for users who drive a bandit
themselves.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import bandits as _kb
from mdpkit.bandits import AdversarialBandit, LinearBandit, StochasticBandit
from mdpkit.results import LearningResult, learning_result

__all__ = [
    "ALGORITHMS",
    "BanditAlgorithm",
    "BanditState",
    "GittinsIndex",
    "LinearLearningResult",
    "bandit_algorithm",
    "etc_expected_regret",
    "exact_expected_regret",
    "gittins_index",
    "run_adversarial",
    "run_bandit",
    "run_linear_bandit",
    "run_seeds",
    "select",
    "spawn_seeds",
    "update",
]

#: name -> (kernel code, variants, docstring line)
ALGORITHMS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "ucb1": (_kb.UCB1, ("paper", "practical"), "UCB1 (Auer et al. 2002)"),
    "ucb_delta": (_kb.UCB_DELTA, ("paper", "practical"), "UCB(delta) (Lattimore & Szepesvari 2020, Alg. 3)"),
    "ao_ucb": (_kb.AO_UCB, ("paper", "practical"), "asymptotically optimal UCB (L&S 2020, Alg. 6)"),
    "kl_ucb": (_kb.KL_UCB, ("paper", "ls", "practical"), "KL-UCB (Garivier & Cappe 2011)"),
    "kl_ucb_pp": (_kb.KL_UCB, ("paper",), "KL-UCB++ (Menard & Garivier 2017)"),
    "ts_beta": (_kb.TS_BETA, ("paper",), "Thompson sampling, Beta prior (Agrawal & Goyal 2012)"),
    "ts_gaussian": (_kb.TS_GAUSS, ("paper", "practical"), "Thompson sampling, Gaussian prior (Agrawal & Goyal 2013)"),
    "moss": (_kb.MOSS, ("paper", "anytime"), "MOSS (Audibert & Bubeck 2009; L&S 2020, Alg. 7)"),
    "imed": (_kb.IMED, ("paper",), "IMED (Honda & Takemura 2015)"),
    "exp3": (_kb.EXP3, ("paper", "practical"), "EXP3 (Auer et al. 2002b; L&S 2020, Alg. 9)"),
    "etc": (_kb.ETC, ("paper",), "explore-then-commit (L&S 2020, Alg. 1)"),
    "eps_greedy": (_kb.EPS_GREEDY, ("practical", "decaying"), "epsilon-greedy"),
    "tsallis_inf": (_kb.TSALLIS, ("paper", "practical"), "Tsallis-INF (Zimmert & Seldin 2021)"),
    "greedy": (_kb.EPS_GREEDY, ("paper",), "greedy (negative control)"),
    "uniform": (_kb.UNIFORM, ("paper",), "uniformly random arm (control)"),
}

_OPTIONS = {
    "ucb1": {"c"}, "ucb_delta": {"delta"}, "ao_ucb": {"c"}, "kl_ucb": {"c"}, "kl_ucb_pp": set(),
    "ts_beta": set(), "ts_gaussian": {"variance"}, "moss": set(), "imed": set(), "exp3": {"eta"},
    "etc": {"m"}, "eps_greedy": {"epsilon", "c", "d"}, "tsallis_inf": {"eta0"}, "greedy": set(), "uniform": set(),
}


@dataclass(frozen=True)
class BanditAlgorithm:
    """A bandit algorithm with its variant and options (build with :func:`bandit_algorithm`).

    Attributes
    ----------
    name : str
        Key of :data:`ALGORITHMS`.
    variant : str
        ``"paper"`` (the theorem's constants; the regret bound attaches) or a practical variant.
    options : dict
        Tuning options the variant takes (``c``, ``delta``, ``m``, ``eta``, ...).
    """

    name: str
    variant: str = "paper"
    options: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Short label for plots: ``name`` or ``name[variant]`` plus options."""
        s = self.name if self.variant == "paper" else f"{self.name}[{self.variant}]"
        if self.options:
            s += "(" + ",".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                                for k, v in sorted(self.options.items())) + ")"
        return s

    def resolve(self, instance: StochasticBandit, T: int) -> tuple[int, np.ndarray]:
        """The kernel code and float64 parameter vector for ``instance`` and horizon ``T``.

        Raises
        ------
        InvalidArgumentError
            An option out of range (e.g. ``m`` with ``m K > T`` for ETC, ``delta`` outside (0, 1)).
        """
        K = instance.K
        o = self.options
        v = self.variant
        p = np.zeros(_kb.N_PARAMS)
        code = ALGORITHMS[self.name][0]
        dcode, var = (1.0, float(instance.subgaussian_sigma) ** 2) if instance.family == "gaussian" else (0.0, 1.0)
        n = self.name
        if n == "ucb1":
            p[0] = 2.0 if v == "paper" else _pos(o.get("c", 1.0), "c")
        elif n == "ucb_delta":
            delta = 1.0 / T ** 2 if v == "paper" else float(o.get("delta", 1.0 / T))
            if not 0.0 < delta < 1.0:
                raise InvalidArgumentError(f"ucb_delta: delta must lie in (0, 1), got {delta}")
            p[0] = math.log(1.0 / delta)
        elif n == "ao_ucb":
            p[0] = 2.0 if v == "paper" else _pos(o.get("c", 1.0), "c")
        elif n == "kl_ucb":
            mode, c = {"paper": (0.0, 3.0), "ls": (1.0, 0.0)}.get(v, (0.0, float(o.get("c", 0.0))))
            if c < 0:
                raise InvalidArgumentError(f"kl_ucb: c must be >= 0, got {c}")
            p[:] = (mode, c, dcode, var)
        elif n == "kl_ucb_pp":
            p[:] = (2.0, 0.0, dcode, var)
        elif n == "ts_gaussian":
            p[0] = 1.0 if v == "paper" else _pos(o.get("variance", var), "variance")
        elif n == "moss":
            p[:2] = (4.0, 1.0 if v == "paper" else 0.0)
        elif n == "imed":
            p[:2] = (dcode, var)
        elif n == "exp3":
            if v == "paper":
                p[:2] = (math.sqrt(2.0 * math.log(K) / (T * K)), 0.0)
            else:
                p[:2] = (_pos(o.get("eta", math.sqrt(math.log(K) / K)), "eta"), 1.0)
        elif n == "etc":
            m = int(o.get("m", max(1, int(T ** (2.0 / 3.0) / K))))
            if not 1 <= m <= T // K:
                raise InvalidArgumentError(f"etc: m must satisfy 1 <= m <= T/K = {T // K} (L&S Thm 6.1), got {m}")
            p[0] = m
        elif n == "eps_greedy":
            if v == "decaying":
                p[:] = (0.0, 1.0, _pos(o.get("c", 5.0), "c"), _pos(o.get("d", instance.min_gap if math.isfinite(instance.min_gap) else 0.1), "d"))
            else:
                eps = float(o.get("epsilon", 0.1))
                if not 0.0 <= eps <= 1.0:
                    raise InvalidArgumentError(f"eps_greedy: epsilon must lie in [0, 1], got {eps}")
                p[0] = eps
        elif n == "tsallis_inf":
            p[0] = 2.0 if v == "paper" else _pos(o.get("eta0", 2.0), "eta0")
        return int(code), p

    # ---------------------------------------------------------------- pure step-by-step interface
    def init(self, instance: StochasticBandit, T: int) -> "BanditState":
        """The state before round 1 (pure: returns a new record)."""
        T = _check_horizon(T)
        code, p = self.resolve(instance, T)
        return BanditState(np.zeros((_kb.N_ROWS, instance.K)), 1, T, code, p)


def _pos(x, name) -> float:
    x = float(x)
    if not (x > 0 and math.isfinite(x)):
        raise InvalidArgumentError(f"{name} must be a positive finite number, got {x}")
    return x


class BanditState(NamedTuple):
    """State of one run between rounds (optax style: a record, new at every step).

    ``stats`` (N_ROWS, K) float64 holds pulls, reward sums and the algorithm's accumulators
    (:mod:`mdpkit._kernels.bandits`); ``t`` is the next round (1-based) of horizon ``T``.
    """

    stats: np.ndarray
    t: int
    T: int
    code: int
    params: np.ndarray


def select(state: BanditState, rng: np.random.Generator) -> int:
    """The arm to pull in round ``state.t``; any randomness is drawn from ``rng``."""
    _kb.seed_stream(np.int64(rng.integers(0, 2 ** 32)))
    s = state.stats.copy()  # the kernel writes scratch rows; keep the caller's state intact
    return int(_kb.select_arm(np.int64(state.code), state.params, s, np.int64(state.t), np.int64(state.T)))


def update(state: BanditState, arm: int, reward: float, rng: np.random.Generator | None = None) -> BanditState:
    """The state after observing ``reward`` from ``arm`` (pure: the input is not modified).

    EXP3 and Tsallis-INF need the round's sampling law and ETC its committed arm, which are
    recomputed from ``state`` (deterministic); Beta-Thompson sampling binarises a fractional reward
    with a draw from ``rng`` (pass one for Beta rewards).
    """
    K = state.stats.shape[1]
    if not 0 <= int(arm) < K:
        raise InvalidArgumentError(f"arm must lie in [0, {K}), got {arm}")
    s = state.stats.copy()
    if state.code in (_kb.EXP3, _kb.TSALLIS, _kb.ETC):
        # recompute what select records in the state (EXP3 / Tsallis-INF: this round's sampling law;
        # ETC: the committed arm), deterministic given the state
        _kb.select_arm(np.int64(state.code), state.params, s, np.int64(state.t), np.int64(state.T))
    if rng is not None:
        _kb.seed_stream(np.int64(rng.integers(0, 2 ** 32)))
    _kb.update_state(np.int64(state.code), state.params, s, np.int64(arm), float(reward), np.int64(state.t))
    return BanditState(s, state.t + 1, state.T, state.code, state.params)


def bandit_algorithm(name, *, variant: str = "paper", **options) -> BanditAlgorithm:
    """Build a :class:`BanditAlgorithm`, validating the name, the variant and the options.

    Parameters
    ----------
    name : str or BanditAlgorithm
        A key of :data:`ALGORITHMS` (``"ucb1"``, ``"kl_ucb"``, ...).  A ``"name[variant]"`` string
        also works (the command line uses it).
    variant : str
        ``"paper"`` or one of the practical variants listed in :data:`ALGORITHMS`.
    **options
        Tuning options of practical variants.

    Raises
    ------
    InvalidArgumentError
        Unknown algorithm, variant or option.

    Examples
    --------
    >>> bandit_algorithm("kl_ucb").label
    'kl_ucb'
    >>> bandit_algorithm("kl_ucb", variant="practical", c=0).label
    'kl_ucb[practical](c=0)'
    """
    if isinstance(name, BanditAlgorithm):
        return name
    if isinstance(name, str) and name.endswith("]") and "[" in name:
        name, variant = name[:-1].split("[", 1)
    if name not in ALGORITHMS:
        raise InvalidArgumentError(f"unknown bandit algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    variants = ALGORITHMS[name][1]
    if name == "eps_greedy" and variant == "paper":
        variant = "practical"
    if variant not in variants:
        raise InvalidArgumentError(f"{name}: unknown variant {variant!r}; available: {', '.join(variants)}")
    bad = set(options) - _OPTIONS[name]
    if bad:
        raise InvalidArgumentError(f"{name}: unknown option(s) {sorted(bad)}; accepted: {sorted(_OPTIONS[name]) or 'none'}")
    if variant == "paper" and options and name not in ("etc",):
        raise InvalidArgumentError(f"{name}: the paper variant takes no tuning options (got {sorted(options)}); "
                                   f"use variant='practical'")
    return BanditAlgorithm(name, variant, dict(options))


def _check_horizon(T) -> int:
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise InvalidArgumentError(f"horizon must be an integer >= 1, got {T!r}")
    return int(T)


def spawn_seeds(seed, n_runs: int) -> np.ndarray:
    """Per-run seeds spawned from one ``numpy.random.SeedSequence(seed)``: int64 (n_runs,) in [0, 2**63).

    ``np.random.default_rng(seeds[i])`` is the generator of run ``i`` (:func:`run_seeds`).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    out = np.empty(n_runs, np.int64)
    for i, child in enumerate(ss.spawn(n_runs)):
        w = child.generate_state(2, np.uint32).astype(np.uint64)
        out[i] = np.int64(((w[0] & np.uint64(0x7FFFFFFF)) << np.uint64(32)) | w[1])
    return out


def run_seeds(algorithm, instance: StochasticBandit, horizon: int, seeds) -> tuple[np.ndarray, np.ndarray]:
    """Run one trace per seed: ``(actions int64 (R, T), rewards float64 (R, T))``.

    Run ``i`` draws everything from Numba's stream seeded with
    ``np.random.default_rng(seeds[i]).integers(2**32)``, so it depends on its own seed only
    (the same seed gives bitwise the same trace in any batch, process or machine).
    """
    algo = bandit_algorithm(algorithm)
    T = _check_horizon(horizon)
    code, p = algo.resolve(instance, T)
    fam, p1, p2 = instance.kernel_spec()
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    s32 = np.array([np.random.default_rng(int(s)).integers(0, 2 ** 32) for s in seeds], dtype=np.int64)
    R = seeds.shape[0]
    actions = np.zeros((R, T), np.int64)
    rewards = np.zeros((R, T), np.float64)
    # writable C-contiguous float64 copies: one kernel signature whatever the instance hands over
    _kb.run_runs(np.int64(code), np.array(p, np.float64), np.int64(fam),
                 np.array(p1, np.float64), np.array(p2, np.float64), s32, actions, rewards)
    return actions, rewards


def run_bandit(algorithm, instance: StochasticBandit, horizon: int, n_runs: int = 1, seed=0, *,
               variant: str | None = None, **options) -> LearningResult:
    """Run a bandit algorithm ``n_runs`` times for ``horizon`` rounds; exact pseudo-regret traces.

    Parameters
    ----------
    algorithm : str or BanditAlgorithm
        Name (see :data:`ALGORITHMS`) or a record from :func:`bandit_algorithm`.
    instance : StochasticBandit
        :class:`~mdpkit.bandits.BernoulliBandit`, :class:`~mdpkit.bandits.GaussianBandit` or
        :class:`~mdpkit.bandits.BetaBandit`.
    horizon : int
        T >= 1 rounds.
    n_runs : int
        Independent runs (>= 1).
    seed : int or numpy.random.SeedSequence
        Root of the per-run seeds (:func:`spawn_seeds`); the same seed gives bitwise the same traces.
    variant, **options
        Passed to :func:`bandit_algorithm` when ``algorithm`` is a name.

    Returns
    -------
    LearningResult
        ``actions``, ``rewards`` (n_runs, T); ``pseudo_regret`` (n_runs, T) the cumulative
        :math:`\\sum_{s\\le t} \\Delta_{A_s}` computed from the means of the pulled arms (exact, no
        reward noise); ``expected_regret`` (T,) exact where a closed form is known (ETC on Bernoulli
        and Gaussian arms, uniform play: :func:`exact_expected_regret`), else the mean over runs; ``seeds`` (n_runs,);
        ``certificate`` the paper's regret bound at T when it applies (else None).

    Raises
    ------
    InvalidArgumentError
        Unknown algorithm, horizon < 1, n_runs < 1, or options out of range.

    Examples
    --------
    >>> from mdpkit.bandits import BernoulliBandit
    >>> res = run_bandit("ucb1", BernoulliBandit([0.9, 0.5]), horizon=100, n_runs=4, seed=1)
    >>> res.pseudo_regret.shape
    (4, 100)
    """
    t0 = time.perf_counter()
    if not isinstance(instance, StochasticBandit):
        raise InvalidArgumentError(f"instance must be a mdpkit.bandits.StochasticBandit, got {type(instance).__name__}")
    algo = bandit_algorithm(algorithm, variant=variant or "paper", **options) if not isinstance(algorithm, BanditAlgorithm) else algorithm
    T = _check_horizon(horizon)
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise InvalidArgumentError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    seeds = spawn_seeds(seed, int(n_runs))
    actions, rewards = run_seeds(algo, instance, T, seeds)
    exact = exact_expected_regret(algo, instance, T)
    cert = None
    from mdpkit.bounds import bandits as _bb

    try:
        cert = _bb.regret_bound(algo, instance, T)
    except _bb.BoundNotApplicableError:
        cert = None
    opts = {"algorithm": algo.name, "variant": algo.variant, **algo.options, "horizon": T, "n_runs": int(n_runs),
            "seed": seed if isinstance(seed, (int, np.integer)) else repr(seed), "instance": repr(instance)}
    return learning_result(actions=actions, rewards=rewards, means=instance.means, seeds=seeds,
                           method=algo.label, options=opts, wall_time=time.perf_counter() - t0,
                           expected_regret=exact, certificate=cert)


def exact_expected_regret(algorithm, instance: StochasticBandit, T: int) -> np.ndarray | None:
    r"""The exact expected cumulative regret (T,) where a closed form is known, else None.

    ETC on Bernoulli or Gaussian arms (:func:`etc_expected_regret`); uniform play
    (:math:`t \cdot \bar\Delta`, the mean gap per round).
    """
    algo = bandit_algorithm(algorithm)
    if algo.name == "etc" and instance.family in ("bernoulli", "gaussian"):
        return etc_expected_regret(instance, int(algo.resolve(instance, T)[1][0]), T)
    if algo.name == "uniform":
        return np.cumsum(np.full(T, float(instance.gaps.mean())))
    return None


def etc_expected_regret(instance: StochasticBandit, m: int, T: int) -> np.ndarray:
    """Exact expected cumulative regret of explore-then-commit, shape (T,).

    The first ``m K`` rounds are a deterministic round robin; then ETC commits to the arm with the
    best empirical mean (ties to the lowest index).  With :math:`X_j` the sum of arm ``j``'s ``m``
    exploration rewards, the commit law is

    * Bernoulli: :math:`P(k) = \\sum_x P(X_k = x) \\prod_{j<k} P(X_j < x) \\prod_{j>k} P(X_j \\le x)`,
      :math:`X_j \\sim \\mathrm{Bin}(m, \\mu_j)` (exact sums);
    * Gaussian: :math:`P(k) = \\int \\phi_k(x) \\prod_{j\\ne k} \\Phi_j(x)\\,dx` with
      :math:`\\bar X_j \\sim N(\\mu_j, \\sigma_j^2/m)` (adaptive quadrature, ties have probability 0).

    Raises
    ------
    InvalidArgumentError
        Beta arms (no closed form) or ``m`` out of [1, T/K].
    """
    from scipy import integrate, stats

    K = instance.K
    T = _check_horizon(T)
    if not 1 <= m <= T // K:
        raise InvalidArgumentError(f"m must satisfy 1 <= m <= T/K = {T // K}, got {m}")
    gaps = instance.gaps
    if instance.family == "bernoulli":
        x = np.arange(m + 1)
        pmf = np.array([stats.binom.pmf(x, m, mu) for mu in instance.means])  # (K, m+1)
        cdf = np.cumsum(pmf, axis=1)
        below = cdf - pmf  # P(X < x)
        probs = np.empty(K)
        for k in range(K):
            w = pmf[k].copy()
            for j in range(K):
                if j < k:
                    w *= below[j]
                elif j > k:
                    w *= cdf[j]
            probs[k] = w.sum()
    elif instance.family == "gaussian":
        from scipy.special import ndtr

        sd = instance.sigma / math.sqrt(m)
        mus = instance.means
        probs = np.empty(K)
        lo, hi = mus.min() - 12 * sd.max(), mus.max() + 12 * sd.max()
        for k in range(K):
            others = np.arange(K) != k
            mo, so = mus[others], sd[others]

            def f(z, k=k, mo=mo, so=so):
                u = (z - mus[k]) / sd[k]
                return math.exp(-0.5 * u * u) / (sd[k] * math.sqrt(2 * math.pi)) * float(np.prod(ndtr((z - mo) / so)))

            probs[k] = integrate.quad(f, lo, hi, limit=400, epsabs=1e-13, epsrel=1e-11, points=list(mus))[0]
    else:
        raise InvalidArgumentError(f"etc_expected_regret: no closed form for {instance.family} arms")
    inst = np.empty(T)
    t = np.arange(T)
    explore = t < m * K
    inst[explore] = gaps[t[explore] % K]
    inst[~explore] = float(np.dot(probs, gaps))
    return np.cumsum(inst)


@dataclass(frozen=True, eq=False, repr=False)
class LinearLearningResult(LearningResult):
    r"""A linear-bandit run: the :class:`~mdpkit.results.LearningResult` fields plus

    Attributes
    ----------
    ellipsoid_ratio : ndarray of float64, shape (n_runs,)
        max over rounds of :math:`\|\hat\theta_t - \theta^*\|_{V_t} / \sqrt{\beta_t}` with the
        algorithm's radius: at most 1 exactly when the confidence ellipsoid held for the whole run.
    """

    ellipsoid_ratio: np.ndarray | None = None


def run_linear_bandit(algorithm: str, instance: LinearBandit, horizon: int, n_runs: int = 1, seed=0, *,
                      variant: str = "paper", lam: float = 1.0, delta: float = 0.05, width: float | None = None,
                      v: float | None = None) -> LinearLearningResult:
    r"""OFUL / LinUCB and linear Thompson sampling on a finite arm set.

    ``"oful"`` (Abbasi-Yadkori, Pal & Szepesvari 2011, Alg. 1): play
    :math:`\arg\max_x \langle x, \hat\theta_t\rangle + \sqrt{\beta_t}\|x\|_{V_t^{-1}}` with the
    self-normalised radius of their Thm 2,
    :math:`\sqrt{\beta_t} = R\sqrt{2\log(\det(V_t)^{1/2}\lambda^{-d/2}/\delta)} + \sqrt\lambda S`
    (``variant="paper"``; R = instance.sigma, S = ||theta*||), or a fixed ``width`` (``"practical"``,
    the fixed-width LinUCB of common libraries).  ``"lin_ts"`` (Agrawal & Goyal 2013, Alg. 1):
    :math:`\tilde\theta \sim N(\hat\theta_t, v^2 V_t^{-1})` with
    :math:`v = R\sqrt{24 d \log(1/\delta)/\varepsilon}`, :math:`\varepsilon = 1/\log T`
    (``"paper"``; numbers not checked against the text) or ``v`` given (``"practical"``, default R).

    Returns
    -------
    LinearLearningResult
        Traces as :func:`run_bandit`, plus ``ellipsoid_ratio`` (per run), and for OFUL[paper] the
        high-probability regret bound of Thm 3 as ``certificate``.

    Raises
    ------
    InvalidArgumentError
        Unknown algorithm or variant, lam <= 0, delta outside (0, 1), bad horizon or n_runs.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, LinearBandit):
        raise InvalidArgumentError(f"instance must be a mdpkit.bandits.LinearBandit, got {type(instance).__name__}")
    if algorithm not in ("oful", "lin_ts"):
        raise InvalidArgumentError(f"unknown linear bandit algorithm {algorithm!r}; known: oful, lin_ts")
    if variant not in ("paper", "practical"):
        raise InvalidArgumentError(f"{algorithm}: unknown variant {variant!r}; available: paper, practical")
    T = _check_horizon(horizon)
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise InvalidArgumentError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    lam = _pos(lam, "lam")
    if not 0.0 < delta < 1.0:
        raise InvalidArgumentError(f"delta must lie in (0, 1), got {delta}")
    R = instance.sigma
    w = 0.0
    vv = 0.0
    if algorithm == "oful" and variant == "practical":
        w = _pos(1.0 if width is None else width, "width")
    if algorithm == "lin_ts":
        if variant == "paper":
            eps = 1.0 / math.log(max(T, 3))
            vv = R * math.sqrt(24.0 * instance.d * math.log(1.0 / delta) / eps)
        else:
            vv = _pos(R if v is None else v, "v")
    params = np.array([lam, R, instance.theta_norm, delta, w, vv], dtype=np.float64)
    seeds = spawn_seeds(seed, int(n_runs))
    s32 = np.array([np.random.default_rng(int(x)).integers(0, 2 ** 32) for x in seeds], dtype=np.int64)
    actions = np.zeros((n_runs, T), np.int64)
    rewards = np.zeros((n_runs, T))
    ratio = np.zeros(n_runs)
    _kb.run_linear_runs(np.int64(_kb.OFUL if algorithm == "oful" else _kb.LINTS), params,
                        np.array(instance.arms, np.float64), np.array(instance.theta, np.float64), float(R), s32,
                        actions, rewards, ratio)
    cert = None
    if algorithm == "oful" and variant == "paper":
        from mdpkit.bounds import bandits as _bb

        try:
            cert = _bb.oful_regret_bound(instance, T, lam=lam, delta=delta)
        except _bb.BoundNotApplicableError:
            cert = None
    base = learning_result(actions=actions, rewards=rewards, means=instance.means, seeds=seeds,
                           method=f"{algorithm}" + ("" if variant == "paper" else f"[{variant}]"),
                           options={"algorithm": algorithm, "variant": variant, "lam": lam, "delta": delta,
                                    "width": w, "v": vv, "horizon": T, "n_runs": int(n_runs)},
                           wall_time=time.perf_counter() - t0, certificate=cert)
    ratio.flags.writeable = False
    return LinearLearningResult(**{f.name: getattr(base, f.name) for f in dataclasses.fields(base)},
                                ellipsoid_ratio=ratio)


# ----------------------------------------------------------------------------- Gittins index
@dataclass(frozen=True)
class GittinsIndex:
    """Result of :func:`gittins_index`.

    Attributes
    ----------
    index : float
        Gittins index of the Beta(a, b) state, in reward-per-round units.
    error_bound : float
        Certified |index - true index|: truncation gamma^depth plus (1 - gamma) times the
        value-iteration error bound.
    n_states : int
        States of the restart MDP that was solved.
    solve_result : SolveResult
        The value-iteration result on that MDP.
    """

    index: float
    error_bound: float
    n_states: int
    solve_result: object


def gittins_index(a: float, b: float, gamma: float, *, depth: int = 80, epsilon: float = 1e-9) -> GittinsIndex:
    r"""Gittins index of a Bernoulli arm with a Beta(a, b) posterior, discount ``gamma``, by exact DP.

    Katehakis & Veinott 1987, "The multi-armed bandit problem: decomposition and computation"
    (restart-in-state formulation; number not checked against the text): the index of state x is
    :math:`(1-\gamma) V^x(x)`, where :math:`V^x` is the optimal value of the MDP on posterior states
    y = (a', b') in which one either *continues* (reward :math:`a'/(a'+b')`, then y moves to
    (a'+1, b') or (a', b'+1) with the posterior probabilities) or *restarts* (the same from x).
    That MDP, on the states reachable from x within ``depth`` pulls, is built as a
    :class:`~mdpkit.TabularMDP` and solved with :func:`mdpkit.solvers.value_iteration`; at depth
    ``depth`` the posterior is frozen (continuing pays its mean forever), which changes values only
    after ``depth`` rounds: the index moves by at most :math:`\gamma^{depth}` (rewards in [0, 1]).

    Raises
    ------
    InvalidArgumentError
        a, b not positive, gamma outside (0, 1), depth < 1.
    """
    import scipy.sparse as sp

    from mdpkit.model import TabularMDP

    from .discounted import value_iteration

    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise InvalidArgumentError(f"Beta parameters must be positive and finite, got a={a}, b={b}")
    if not 0.0 < gamma < 1.0:
        raise InvalidArgumentError(f"gamma must lie in (0, 1), got {gamma}")
    if int(depth) < 1:
        raise InvalidArgumentError(f"depth must be >= 1, got {depth}")
    D = int(depth)
    # node (n, s): n pulls so far, s successes among them; id = n (n+1)/2 + s
    ids = lambda n, s: n * (n + 1) // 2 + s  # noqa: E731
    S = ids(D, D) + 1
    rows, cols, vals = [], [], []
    R = np.zeros((S, 2))
    for n in range(D + 1):
        for s in range(n + 1):
            i = ids(n, s)
            p = (a + s) / (a + b + n)
            R[i, 0] = p
            R[i, 1] = a / (a + b)  # restart: act as in the root
            if n < D:
                rows += [2 * i, 2 * i]
                cols += [ids(n + 1, s + 1), ids(n + 1, s)]
                vals += [p, 1.0 - p]
            else:
                rows.append(2 * i)
                cols.append(i)
                vals.append(1.0)
            rows += [2 * i + 1, 2 * i + 1]  # restart: the root's transition
            cols += [ids(1, 1), ids(1, 0)]
            vals += [a / (a + b), b / (a + b)]
    P = sp.csr_matrix((vals, (rows, cols)), shape=(2 * S, S))
    mdp = TabularMDP(P, R, gamma)
    res = value_iteration(mdp, epsilon=epsilon)
    idx = (1.0 - gamma) * float(res.v[0])
    err = gamma ** D + (1.0 - gamma) * float(res.v_error_bound)
    return GittinsIndex(idx, err, S, res)


def run_adversarial(algorithm, instance: AdversarialBandit, n_runs: int = 1, seed=0, *, variant: str = "paper",
                    **options) -> LearningResult:
    r"""Run a K-armed algorithm on an oblivious reward table for ``instance.horizon`` rounds.

    ``pseudo_regret[i, t]`` holds the regret of run ``i`` against the best fixed arm in hindsight
    after ``t + 1`` rounds, :math:`\max_k \sum_{s\le t} x_{sk} - \sum_{s \le t} x_{s A_s}`
    (exact: the table is known); ``expected_regret`` its mean over runs.  ``certificate`` is the
    algorithm's adversarial bound when it has one (EXP3: L&S Thm 11.2; Tsallis-INF: Zimmert &
    Seldin 2021, Thm 1).

    Raises
    ------
    InvalidArgumentError
        Not an AdversarialBandit, unknown algorithm, n_runs < 1.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, AdversarialBandit):
        raise InvalidArgumentError(f"instance must be a mdpkit.bandits.AdversarialBandit, got {type(instance).__name__}")
    algo = bandit_algorithm(algorithm, variant=variant, **options)
    if isinstance(n_runs, bool) or not isinstance(n_runs, (int, np.integer)) or n_runs < 1:
        raise InvalidArgumentError(f"n_runs must be an integer >= 1, got {n_runs!r}")
    T = instance.horizon
    seeds = spawn_seeds(seed, int(n_runs))
    actions, rewards = run_seeds(algo, instance, T, seeds)
    best = np.max(np.cumsum(instance.table, axis=0), axis=1)  # (T,)
    regret = best[None, :] - np.cumsum(rewards, axis=1)
    n_pulls = np.stack([np.bincount(a, minlength=instance.K) for a in actions]).astype(np.int64)
    cert = None
    if algo.variant == "paper" and algo.name in ("exp3", "tsallis_inf"):
        from mdpkit.bounds import bandits as _bb

        cert = (_bb.exp3_regret_bound if algo.name == "exp3" else _bb.tsallis_inf_regret_bound)(instance, T)
    er = regret.mean(axis=0)
    for a_ in (actions, rewards, regret, er, n_pulls, seeds):
        a_.flags.writeable = False
    return LearningResult(actions=actions, rewards=rewards, pseudo_regret=regret, expected_regret=er,
                          expected_regret_exact=False, n_pulls=n_pulls, seeds=seeds, method=algo.label,
                          options={"algorithm": algo.name, "variant": algo.variant, **algo.options, "horizon": T,
                                   "n_runs": int(n_runs), "instance": instance.name},
                          wall_time=time.perf_counter() - t0, certificate=cert)

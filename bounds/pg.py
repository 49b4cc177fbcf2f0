r"""Convergence and improvement bounds of exact policy optimization in discounted tabular MDPs.

Every function returns a :class:`~mdpkit.bounds.Bound` for the *unnormalized* value
:math:`V^\pi(\rho) = \sum_s\rho(s)V^\pi(s)` (reward units).  The papers assume rewards in
:math:`[0, 1]`; the functions take the reward span :math:`w = \max R - \min R` and apply the exact
rescaling argument: softmax PG, NPG and PMD iterates depend on the rewards only through
advantages (shift invariant), and scaling rewards by :math:`w` is the same as scaling the step
size by :math:`w`, so the :math:`[0,1]` theorem applied to :math:`(R - \min R)/w` gives the
stated bound.  Theorem numbers that could not be checked against the papers' text are marked.
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind
from .online import NonPaperVariantError

__all__ = [
    "bobw_po_regret_rate",
    "cpi_improvement_bound",
    "dapo_regret_rate",
    "dynamic_pg_epoch_bound",
    "dynamic_pg_steps_bound",
    "entropy_npg_bound",
    "gradient_domination_bound",
    "mei_softmax_step",
    "npg_bound",
    "pmd_geometric_bound",
    "softmax_pg_bound",
    "trpo_improvement_bound",
]

AKLM = ("A. Agarwal, S. Kakade, J. Lee and G. Mahajan, On the theory of policy gradient methods: optimality, "
        "approximation, and distribution shift, JMLR 22(98), 2021")
MEI = ("J. Mei, C. Xiao, C. Szepesvari and D. Schuurmans, On the global convergence rates of softmax policy "
       "gradient methods, ICML 2020")
CEN = ("S. Cen, C. Cheng, Y. Chen, Y. Wei and Y. Chi, Fast global convergence of natural policy gradient methods "
       "with entropy regularization, Operations Research 70(4), 2022")
XIAO = "L. Xiao, On the convergence rates of policy gradient methods, JMLR 23(282), 2022"
SCHULMAN = "J. Schulman, S. Levine, P. Moritz, M. Jordan and P. Abbeel, Trust region policy optimization, ICML 2015"
KL02 = "S. Kakade and J. Langford, Approximately optimal approximate reinforcement learning, ICML 2002"


def _gamma(gamma) -> float:
    g = float(gamma)
    if not (0.0 <= g < 1.0):
        raise ValueError(f"gamma must lie in [0, 1), got {gamma!r}")
    return g


def _nonneg(x, name) -> float:
    v = float(x)
    if not (v >= 0.0 and math.isfinite(v)):
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return v


def _pos(x, name) -> float:
    v = float(x)
    if not (v > 0.0 and math.isfinite(v)):
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return v


def npg_bound(gamma: float, eta: float, T: int, *, kl0: float, reward_span: float = 1.0) -> Bound:
    r"""NPG (softmax, exact): :math:`V^*(\rho) - V^{(T)}(\rho) \le \frac{\Phi_0}{\eta T} + \frac{w}{(1-\gamma)^2 T}`.

    The update is :math:`\pi^{(t+1)}(a|s)\propto\pi^{(t)}(a|s)\exp(\eta A^{(t)}(s,a)/(1-\gamma))`;
    :math:`\Phi_0 = \mathbb{E}_{s\sim d^{\pi^*}_\rho}\mathrm{KL}(\pi^*_s\|\pi^{(0)}_s)` (``kl0``),
    which is at most :math:`\log|A|` from the uniform policy (the theorem's :math:`\theta^{(0)}=0`);
    ``reward_span`` :math:`w` (1 for rewards in [0, 1]).  Any :math:`\eta > 0`, ``T >= 1``.
    AKLM 2021, Thm 16 (number not checked against the text).
    """
    g = _gamma(gamma)
    e = _pos(eta, "eta")
    if int(T) < 1:
        raise ValueError(f"T must be >= 1, got {T!r}")
    w = _nonneg(reward_span, "reward_span")
    val = _nonneg(kl0, "kl0") / (e * T) + w / ((1.0 - g) ** 2 * T)
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{AKLM}, Thm 16 (number not checked against the text)",
                 assumptions=("exact Q/advantages", "softmax NPG update pi <- pi exp(eta A/(1-gamma))", "eta > 0"),
                 statement="V*(rho) - V^(T)(rho) <= KL0/(eta T) + w/((1-gamma)^2 T)")


def mei_softmax_step(gamma: float, reward_span: float = 1.0) -> float:
    r"""The step size of Mei et al. (2020), Thm 4: :math:`\eta = (1-\gamma)^3/(8w)` (the inverse
    of the smoothness constant :math:`8w/(1-\gamma)^3` of :math:`\theta\mapsto V^{\pi_\theta}(\mu)`)."""
    g = _gamma(gamma)
    return (1.0 - g) ** 3 / (8.0 * _pos(reward_span, "reward_span"))


def softmax_pg_bound(gamma: float, t: int, *, n_states: int, c: float, mismatch: float, inv_mu: float,
                     reward_span: float = 1.0) -> Bound:
    r"""Softmax PG, exact gradients, :math:`\eta = (1-\gamma)^3/(8w)`:

    .. math:: V^*(\rho) - V^{\pi_{\theta_t}}(\rho) \le
              \frac{16\,S\,w}{c^2(1-\gamma)^6\,t}\Big\|\frac{d^{\pi^*}_\mu}{\mu}\Big\|_\infty^2\Big\|\frac1\mu\Big\|_\infty

    with :math:`c = \inf_{t\ge1}\min_s\pi_{\theta_t}(a^*(s)|s) > 0` (``c``), ``mismatch`` the
    coefficient :math:`\|d^{\pi^*}_\mu/\mu\|_\infty` and ``inv_mu`` :math:`\|1/\mu\|_\infty` (the
    gradient is taken at :math:`\mu`, which must be positive).  Mei et al. 2020, Thm 4 (number not
    checked against the text).
    """
    g = _gamma(gamma)
    if int(t) < 1:
        raise ValueError(f"t must be >= 1, got {t!r}")
    val = (16.0 * int(n_states) * _nonneg(reward_span, "reward_span") * _nonneg(mismatch, "mismatch") ** 2
           * _nonneg(inv_mu, "inv_mu") / (_pos(c, "c") ** 2 * (1.0 - g) ** 6 * int(t)))
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{MEI}, Thm 4 (number not checked against the text)",
                 assumptions=("exact gradients", "eta = (1-gamma)^3/(8 w)", "mu > 0",
                              "c = inf_t min_s pi_t(a*(s)|s) over the run"),
                 statement="V*(rho) - V^{pi_t}(rho) <= 16 S w ||d*_mu/mu||^2 ||1/mu|| / (c^2 (1-gamma)^6 t)")


def entropy_npg_bound(gamma: float, eta: float, tau: float, t: int, *, c1: float) -> Bound:
    r"""Entropy-regularized NPG: :math:`\|Q^*_\tau - Q^{(t+1)}_\tau\|_\infty \le C_1\gamma(1-\eta\tau)^t`.

    Update :math:`\pi^{(t+1)}(a|s)\propto\pi^{(t)}(a|s)^{1-\eta\tau/(1-\gamma)}\exp(\eta Q^{(t)}_\tau(s,a)/(1-\gamma))`
    for :math:`0<\eta\le(1-\gamma)/\tau`; :math:`C_1 = \|Q^*_\tau-Q^{(0)}_\tau\|_\infty +
    2\tau(1-\frac{\eta\tau}{1-\gamma})\|\log\pi^*_\tau-\log\pi^{(0)}\|_\infty` (``c1``).  Cen et al.
    2022, Thm 1 (number not checked against the text).

    Raises
    ------
    ValueError
        ``eta`` outside :math:`(0, (1-\gamma)/\tau]` (the theorem does not apply).
    """
    g = _gamma(gamma)
    e, ta = _pos(eta, "eta"), _pos(tau, "tau")
    if e * ta > (1.0 - g) * (1.0 + 1e-12):
        raise ValueError(f"entropy_npg_bound: eta = {e:g} > (1-gamma)/tau = {(1 - g) / ta:g}; Cen et al. Thm 1 does not apply")
    if int(t) < 0:
        raise ValueError(f"t must be >= 0, got {t!r}")
    val = _nonneg(c1, "c1") * g * (1.0 - e * ta) ** int(t)
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{CEN}, Thm 1 (number not checked against the text)",
                 assumptions=("exact soft Q", "0 < eta <= (1-gamma)/tau"),
                 statement="||Q*_tau - Q^(t+1)_tau||_inf <= C1 gamma (1 - eta tau)^t")


def pmd_geometric_bound(gamma: float, k: int, *, gap0: float, d0: float, eta0: float) -> Bound:
    r"""PMD with geometrically increasing steps :math:`\eta_{k+1}\ge\eta_k/\gamma`:

    .. math:: V^*(\rho) - V^{\pi_k}(\rho) \le \gamma^k\Big(V^*(\rho)-V^{\pi_0}(\rho) + \frac{D^*_0}{(1-\gamma)\eta_0}\Big)

    with :math:`D^*_0 = \mathbb{E}_{s\sim d^{\pi^*}_\rho} D(\pi^*_s, \pi_{0,s})` the Bregman
    divergence of the mirror map (KL for NPG, half squared Euclidean for projected Q-ascent).
    Xiao 2022, Thm 10 (number not checked against the text).
    """
    g = _gamma(gamma)
    val = g ** int(k) * (_nonneg(gap0, "gap0") + _nonneg(d0, "d0") / ((1.0 - g) * _pos(eta0, "eta0")))
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{XIAO}, Thm 10 (number not checked against the text)",
                 assumptions=("exact Q", "eta_{k+1} >= eta_k / gamma", "eta_0 > 0"),
                 statement="V*(rho) - V^{pi_k}(rho) <= gamma^k (gap_0 + D*_0/((1-gamma) eta_0))")


def gradient_domination_bound(mismatch: float, stationarity: float, *, gamma: float | None = None) -> Bound:
    r"""Gradient domination for the direct parametrization (AKLM 2021, Lemma 4):

    .. math:: V^*(\rho) - V^\pi(\rho) \le \Big\|\frac{d^{\pi^*}_\rho}{d^\pi_\mu}\Big\|_\infty
              \max_{\bar\pi}(\bar\pi-\pi)^\top\nabla_\pi V^\pi(\mu)
              \le \frac{1}{1-\gamma}\Big\|\frac{d^{\pi^*}_\rho}{\mu}\Big\|_\infty\max_{\bar\pi}(\bar\pi-\pi)^\top\nabla_\pi V^\pi(\mu).

    ``mismatch`` is :math:`\|d^{\pi^*}_\rho/d^\pi_\mu\|_\infty` (sharp form, ``gamma=None``) or
    :math:`\|d^{\pi^*}_\rho/\mu\|_\infty` (with ``gamma``: the relaxed form);
    ``stationarity`` is :math:`\max_{\bar\pi}(\bar\pi-\pi)^\top\nabla_\pi V^\pi(\mu)\ge 0`.
    (Number not checked against the text.)
    """
    m, st = _nonneg(mismatch, "mismatch"), _nonneg(stationarity, "stationarity")
    factor = 1.0 if gamma is None else 1.0 / (1.0 - _gamma(gamma))
    return Bound(value=factor * m * st, kind=BoundKind.DETERMINISTIC,
                 citation=f"{AKLM}, Lemma 4 (number not checked against the text)",
                 assumptions=("direct parametrization", "exact gradient at mu"),
                 statement="V*(rho) - V^pi(rho) <= ||d*_rho / d^pi_mu||_inf max_pibar (pibar - pi)^T grad V^pi(mu)")


def trpo_improvement_bound(gamma: float, surrogate_gain: float, *, max_abs_advantage: float, max_tv: float) -> Bound:
    r"""TRPO's monotone-improvement lower bound (Schulman et al. 2015, Thm 1):

    .. math:: V^{\tilde\pi}(\mu) - V^{\pi}(\mu) \ge \underbrace{\sum_s \rho_\pi(s)\sum_a\tilde\pi(a|s)A_\pi(s,a)}_{L_\pi(\tilde\pi)-\eta(\pi)}
              - \frac{4\epsilon\gamma}{(1-\gamma)^2}\alpha^2,

    :math:`\rho_\pi` the *unnormalized* discounted visitation from :math:`\mu`,
    :math:`\epsilon=\max_{s,a}|A_\pi(s,a)|`, :math:`\alpha=\max_s D_{TV}(\pi_s,\tilde\pi_s)` with
    :math:`D_{TV}(p,q)=\frac12\|p-q\|_1`.  Returns the lower bound on the improvement (a Bound whose
    ``value`` is a *lower* bound).  (Number not checked against the text.)
    """
    g = _gamma(gamma)
    val = float(surrogate_gain) - 4.0 * _nonneg(max_abs_advantage, "max_abs_advantage") * g / (1.0 - g) ** 2 * _nonneg(max_tv, "max_tv") ** 2
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{SCHULMAN}, Thm 1 (number not checked against the text)",
                 assumptions=("exact advantages of the old policy",),
                 statement="V^{new}(mu) - V^{old}(mu) >= L_old(new) - eta(old) - 4 eps gamma alpha^2/(1-gamma)^2 (a lower bound)")


def cpi_improvement_bound(gamma: float, alpha: float, *, policy_advantage: float, eps: float) -> Bound:
    r"""Conservative policy iteration (Kakade & Langford 2002, Thm 4.1): for
    :math:`\pi_{new}=(1-\alpha)\pi+\alpha\pi'`,

    .. math:: V^{\pi_{new}}(\mu) - V^\pi(\mu) \ge \frac{\alpha}{1-\gamma}\Big(\mathbb{A}_\pi(\pi')
              - \frac{2\alpha\gamma\epsilon}{1-\gamma(1-\alpha)}\Big)

    with :math:`\mathbb{A}_\pi(\pi') = \mathbb{E}_{s\sim d^\pi_\mu}\mathbb{E}_{a\sim\pi'}A_\pi(s,a)`
    (normalized :math:`d`) and :math:`\epsilon = \max_s|\mathbb{E}_{a\sim\pi'}A_\pi(s,a)|`.  A lower
    bound.  (Number not checked against the text.)
    """
    g = _gamma(gamma)
    a = float(alpha)
    if not (0.0 <= a <= 1.0):
        raise ValueError(f"alpha must lie in [0, 1], got {alpha!r}")
    e = _nonneg(eps, "eps")
    val = a / (1.0 - g) * (float(policy_advantage) - 2.0 * a * g * e / (1.0 - g * (1.0 - a)))
    return Bound(value=val, kind=BoundKind.DETERMINISTIC, citation=f"{KL02}, Thm 4.1 (number not checked against the text)",
                 assumptions=("exact advantages", "mixture update"),
                 statement="V^{new}(mu) - V(mu) >= alpha/(1-gamma) (A(pi') - 2 alpha gamma eps/(1 - gamma(1-alpha)))")


DWZ = "C. Dann, C.-Y. Wei and J. Zimmert, Best of both worlds policy optimization, ICML 2023 (PMLR 202:6968-7008)"
LRS = ("T. Lancewicki, A. Rosenberg and D. Sotnikov, Delay-adapted policy optimization and improved regret for "
       "adversarial MDP with delayed bandit feedback, ICML 2023 (PMLR 202:18482-18534)")


def _posint(x, name) -> int:
    if isinstance(x, bool) or int(x) != x or int(x) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {x!r}")
    return int(x)


def bobw_po_regret_rate(*, H: int, S: int, A: int, K: int, regime: str, gap_min: float | None = None,
                        regularizer: str = "tsallis", variant: str = "decaying") -> Bound:
    r"""Regret *rate* of best-of-both-worlds policy optimization, known transitions (rate-only).

    Dann, Wei & Zimmert 2023 (abstract; the theorem numbers and the exponents of H, S, A were not
    checked against the text): with a Tsallis or Shannon regularizer, FTRL policy optimization
    with dilated bonuses has :math:`\tilde O(\sqrt K)` regret against an adversary and
    :math:`\mathrm{polylog}(K)` regret in the stochastic regime (gap-dependent).  Returned
    ``value`` (no constant; ``kind=RATE_ONLY``):

    * ``regime="adversarial"``: :math:`H\sqrt{SAK\log K}`;
    * ``regime="stochastic"``: :math:`H^2SA\log^{c}(K)/\Delta_{\min}` with c = 1 (Tsallis),
      2 (Shannon; the usual extra log of Shannon-entropy BOBW analyses).

    Use it as a shape (regret / value bounded over K), never as a numeric guarantee.

    Raises
    ------
    NonPaperVariantError
        ``variant != "decaying"`` (a fixed learning rate has no best-of-both-worlds theorem).
    ValueError
        Unknown regime or regularizer (the log-barrier's first-order bound is not encoded),
        ``gap_min`` missing or not > 0 in the stochastic regime.
    """
    if variant != "decaying":
        raise NonPaperVariantError(f"the best-of-both-worlds regret rate holds only for variant='decaying'; got {variant!r}")
    if regularizer not in ("tsallis", "shannon"):
        raise ValueError(f"regularizer must be 'tsallis' or 'shannon' (the log-barrier first-order bound is not "
                         f"encoded), got {regularizer!r}")
    H, S, A, K = (_posint(v, n) for v, n in ((H, "H"), (S, "S"), (A, "A"), (K, "K")))
    lk = math.log(max(K, 2))
    if regime == "adversarial":
        val = H * math.sqrt(S * A * K * lk)
        stmt = "Reg(K) = O~(H sqrt(S A K log K)) against any oblivious loss sequence (rate only)"
    elif regime == "stochastic":
        gm = _pos(gap_min if gap_min is not None else float("nan"), "gap_min")
        val = H * H * S * A * lk ** (1 if regularizer == "tsallis" else 2) / gm
        stmt = "pseudo-Reg(K) = O(H^2 S A polylog(K) / gap_min) for i.i.d. losses (rate only)"
    else:
        raise ValueError(f"regime must be 'adversarial' or 'stochastic', got {regime!r}")
    return Bound(value=val, kind=BoundKind.RATE_ONLY,
                 citation=f"{DWZ}, abstract; theorem numbers and H, S, A exponents not checked against the text",
                 assumptions=("known transitions", "bandit feedback", "losses in [0, 1]", f"{regularizer} regularizer",
                              "variant='decaying' schedules"),
                 statement=stmt)


def dapo_regret_rate(*, H: int, S: int, A: int, K: int, total_delay: int, variant: str = "decaying") -> Bound:
    r"""Regret *rate* of delay-adapted policy optimization, known transitions (rate-only).

    Lancewicki, Rosenberg & Sotnikov 2023 (abstract: near-optimal regret for PO under delayed
    bandit feedback; theorem number and exponents not checked against the text):
    :math:`\tilde O(H\sqrt{SAK\log A} + H\sqrt{D\log A})`, :math:`D=\sum_k d_k` the total delay.
    ``value`` is that expression without constant (``kind=RATE_ONLY``).

    Raises
    ------
    NonPaperVariantError
        ``variant != "decaying"``.
    """
    if variant != "decaying":
        raise NonPaperVariantError(f"the DAPO regret rate holds only for variant='decaying'; got {variant!r}")
    H, S, A, K = (_posint(v, n) for v, n in ((H, "H"), (S, "S"), (A, "A"), (K, "K")))
    D = int(total_delay)
    if D < 0:
        raise ValueError(f"total_delay must be >= 0, got {total_delay!r}")
    la = math.log(max(A, 2))
    val = H * math.sqrt(S * A * K * la) + H * math.sqrt(D * la)
    return Bound(value=val, kind=BoundKind.RATE_ONLY,
                 citation=f"{LRS}, abstract; theorem number and exponents not checked against the text",
                 assumptions=("known transitions", "delayed bandit feedback", "losses in [0, 1]", "variant='decaying'"),
                 statement="Reg(K) = O~(H sqrt(S A K log A) + H sqrt(D log A)) (rate only)")


KWD = ("S. Klein, S. Weissmann and L. Döring, Beyond stationarity: convergence analysis of stochastic softmax "
       "policy gradient methods, ICLR 2024")


def dynamic_pg_epoch_bound(step: float, c: float) -> Bound:
    r"""Softmax-bandit O(1/t) rate, used in every epoch of dynamic PG:
    :math:`t\,(\max_a r_a - \pi_t^\top r)\le 2/(\eta C^2)` for all t >= 1.

    Exact-gradient softmax PG on a bandit with reward vector r of range :math:`\rho` and step
    :math:`\eta\le 2/(5\rho)` (``step``), :math:`C=\inf_t\pi_t(a^*)` (``c``).  Derivation: the
    objective is :math:`\frac52\rho`-smooth (Mei et al. 2020, Lemma 2) and satisfies the
    Łojasiewicz inequality :math:`\|\nabla\|\ge\pi(a^*)(\pi^*-\pi)^\top r` (Lemma 3), so
    :math:`\delta_{t+1}\le\delta_t-\frac\eta2C^2\delta_t^2` and :math:`\delta_t\le2/(\eta C^2t)`;
    with :math:`\eta\rho=2/5` it is Mei et al. 2020 Thm 2's :math:`5\rho/(C^2t)` (numbers not checked
    against the text).  In dynamic PG (Klein et al. 2024) epoch h at state s is such a bandit with
    :math:`r=Q_h(s,\cdot)`, :math:`\rho\le(H-h)w` and step :math:`\eta_h\nu(s)`.
    """
    e, cc = _pos(step, "step"), _pos(c, "c")
    return Bound(value=2.0 / (e * cc * cc), kind=BoundKind.DETERMINISTIC,
                 citation=f"{MEI}, Lemmas 2-3 and Thm 2 (numbers not checked against the text); used per epoch as in {KWD}",
                 assumptions=("exact gradients", "step <= 2/(5 rho), rho the reward range", "C = inf_t pi_t(a*)"),
                 statement="sup_t t (max_a r_a - pi_t^T r) <= 2/(eta C^2)")


def dynamic_pg_steps_bound(H: int, *, n_states: int, n_actions: int, reward_span: float, epsilon: float) -> Bound:
    r"""Steps of exact-gradient dynamic PG to reach :math:`J^*-J\le\epsilon` (finite horizon H, rewards
    of span w, uniform state weights, step :math:`\eta_h=2/(5(H-h)w)`, uniform initial logits):

    .. math:: N(H)\le\sum_{h=0}^{H-1}\Big\lceil\frac{5\,S\,A^2\,(H-h)\,w\,H}{\epsilon}\Big\rceil
              \approx\frac{5SA^2wH^2(H+1)}{2\epsilon} = O(H^3/\epsilon).

    Each epoch is stopped when :math:`\max_s` gap :math:`\le\epsilon/H` (then
    :math:`J^*-J\le\epsilon` by the performance-difference lemma); by
    :func:`dynamic_pg_epoch_bound` with :math:`\eta_h\nu(s)=\eta_h/S` that takes at most
    :math:`2SH/(\eta_hC^2\epsilon)` steps, and :math:`C\ge1/A` from uniform logits (the optimal
    logit never falls behind another: at equal logits its increment is the larger).  This is the
    :math:`H^3` scaling Klein et al. 2024 prove for dynamic PG (their constants and theorem numbers
    were not read; this is our derivation); their :math:`H^5` simultaneous-PG bound is not encoded.
    """
    HH = _posint(H, "H")
    S, A = _posint(n_states, "n_states"), _posint(n_actions, "n_actions")
    w, e = _pos(reward_span, "reward_span"), _pos(epsilon, "epsilon")
    val = float(sum(math.ceil(5.0 * S * A * A * (HH - h) * w * HH / e) for h in range(HH)))
    return Bound(value=val, kind=BoundKind.DETERMINISTIC,
                 citation=f"derived from {MEI}, Thm 2 per epoch, for the dynamic PG of {KWD} (numbers not checked)",
                 assumptions=("exact gradients", "eta_h = 2/(5 (H-h) w)", "uniform state weights", "uniform initial logits",
                              "epoch h stopped at max_s gap <= eps/H"),
                 statement="N(H) <= sum_h ceil(5 S A^2 (H-h) w H / eps) = O(H^3/eps)")

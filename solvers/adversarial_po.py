r"""Policy optimization for episodic MDPs with adversarial or stochastic losses and bandit feedback,
known transitions: best-of-both-worlds FTRL policy optimization (Dann, Wei & Zimmert 2023) and
delay-adapted policy optimization (Lancewicki, Rosenberg & Sotnikov 2023), with exact regret.

Setting (the adversarial-MDP convention of Zimin & Neu 2013 and Jin et al. 2020): a finite-horizon
MDP with steps h = 0..H-1, known kernel ``mdp.P`` (time-indexing the states makes it *layered*),
initial law ``mdp.mu0`` and a loss sequence :math:`\ell_k \in [0,1]^{H\times S\times A}`,
k = 1..K (K episodes), fixed in advance (an oblivious adversary; the stochastic regime is an i.i.d.
draw the caller makes).  In episode k the learner plays a non-stationary policy :math:`\pi_k`,
one trajectory is drawn, and only the losses along it are observed (bandit feedback).

Exact regret.  With :math:`q^\pi` the episodic occupancy
(:func:`mdpkit.occupancy.episodic_occupancy`), every returned number is computed on the true
model, not sampled: ``expected_loss[k] = <q^{pi_k}, l_k>`` and

.. math:: \mathrm{Reg}(k) = \sum_{j\le k}\langle q^{\pi_j},\ell_j\rangle - \min_\pi\sum_{j\le k}\langle q^\pi,\ell_j\rangle,

the minimum by backward induction on the cumulative loss (the best fixed policy in hindsight of
the first k episodes; a deterministic Markov policy attains it).  The randomness left is that of
the policy sequence itself (it depends on the sampled trajectories), so ``regret`` is the exact
regret *given* that sequence; averaging over seeds gives the expected regret.

What could not be checked.  The papers' full texts could not be read when this was written (only their
abstracts).  The update structure below is the one these papers build on (FTRL / OMD per state
on importance-weighted loss-to-go estimates minus dilated bonuses, Luo, Wei & Lee 2021); the
learning-rate schedules, the bonus and the implicit-exploration constants are **our choices,
not checked against the papers** and stated in each docstring.  The regret bounds in
:mod:`mdpkit.bounds.pg` are therefore *rate-only* (the orders claimed in the abstracts), and are
refused for the ``"fixed-eta"`` variants.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError
from mdpkit._validation import as_float_array, check_int
from mdpkit.model import TabularMDP
from mdpkit.occupancy import episodic_occupancy_trusted
from mdpkit.results import ResultRecord

__all__ = [
    "AdversarialPOResult",
    "best_fixed_policy",
    "bobw_policy_optimization",
    "delay_adapted_policy_optimization",
    "ftrl_simplex",
]

REGULARIZERS = ("tsallis", "shannon", "log-barrier")


@dataclass(frozen=True, eq=False, repr=False)
class AdversarialPOResult(ResultRecord):
    r"""Result of an adversarial-MDP policy-optimization run (one trajectory per episode).

    Attributes
    ----------
    policy : ndarray (H, S, A)
        The policy of the last episode.
    policies : ndarray (K, H, S, A)
        :math:`\pi_k` of every episode (replayable: regret can be recomputed from it).
    expected_loss : ndarray (K,)
        :math:`\langle q^{\pi_k},\ell_k\rangle`, exact.
    regret : ndarray (K,)
        Exact regret against the best fixed policy in hindsight of the first k episodes (module
        docstring); ``regret[-1]`` is the regret over all K episodes.
    comparator_policy : ndarray of int64 (H, S)
        Best fixed deterministic policy in hindsight over all K episodes.
    pseudo_regret : ndarray (K,) or None
        With ``mean_losses`` :math:`\bar\ell` given (stochastic regime):
        :math:`\sum_{j\le k}\langle q^{\pi_j}-q^{\pi^\circ},\bar\ell\rangle`, :math:`\pi^\circ`
        optimal for :math:`\bar\ell`; exact.
    learning_rates : ndarray (K,)
        :math:`\eta_k` used to compute :math:`\pi_k` (the state-independent schedule).
    delays : ndarray of int64 (K,)
        Feedback delay of each episode (zeros when undelayed).
    states, actions : ndarray of int64 (K, H)
        The sampled trajectory of every episode (what the learner observed, with the losses on it).
    certificate : mdpkit.bounds.Bound or None
        The rate-only regret bound of the run's variant (None for ``"fixed-eta"``).
    method, options, wall_time
    """

    policy: np.ndarray
    policies: np.ndarray
    expected_loss: np.ndarray
    regret: np.ndarray
    comparator_policy: np.ndarray
    pseudo_regret: np.ndarray | None
    learning_rates: np.ndarray
    delays: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    certificate: object
    method: str
    options: dict
    wall_time: float


# ----------------------------------------------------------------------------- FTRL on the simplex
def ftrl_simplex(L, eta, regularizer: str) -> np.ndarray:
    r"""Row-wise FTRL step :math:`p = \arg\min_{p\in\Delta_A}\langle p, L\rangle + \psi(p)/\eta`.

    * ``"shannon"``: :math:`\psi(p)=\sum_a p_a\log p_a`, so :math:`p\propto e^{-\eta L}`;
    * ``"tsallis"`` (power 1/2): :math:`\psi(p)=-2\sum_a\sqrt{p_a}`, so
      :math:`p_a = (\eta(L_a-\lambda))^{-2}` (Zimmert & Seldin 2021, JMLR 22(28), Sec. 3);
    * ``"log-barrier"``: :math:`\psi(p)=-\sum_a\log p_a`, so :math:`p_a=(\eta(L_a-\lambda))^{-1}`;

    :math:`\lambda<\min_a L_a` the normalizer, found by Newton's method started at
    :math:`\min L - 1/\eta` (Numba kernel :func:`mdpkit._kernels.pg.ftrl_newton_rows`).
    ``L (N, A)`` finite, ``eta`` > 0 scalar or (N,).  Returns (N, A), rows summing to 1.
    """
    L = np.asarray(L, dtype=np.float64)
    if L.ndim != 2 or not np.all(np.isfinite(L)):
        raise InvalidArgumentError(f"L must be a finite (N, A) array, got shape {L.shape}")
    e = np.broadcast_to(np.asarray(eta, dtype=np.float64), (L.shape[0],))[:, None]
    if not np.all((e > 0) & np.isfinite(e)):
        raise InvalidArgumentError("eta must be finite and > 0")
    if regularizer == "shannon":
        z = -e * (L - L.min(axis=1, keepdims=True))
        w = np.exp(z)
        return w / w.sum(axis=1, keepdims=True)
    if regularizer not in ("tsallis", "log-barrier"):
        raise InvalidArgumentError(f"regularizer must be one of {REGULARIZERS}, got {regularizer!r}")
    from mdpkit._kernels.pg import ftrl_newton_rows

    # shift: lambda -> lambda - min L leaves the solution unchanged
    x = np.ascontiguousarray(L - L.min(axis=1, keepdims=True))
    out = np.empty_like(x)
    eta_rows = np.array(e[:, 0], dtype=np.float64)  # a fresh writable C array: one kernel signature
    ftrl_newton_rows(x, eta_rows, np.float64(2.0 if regularizer == "tsallis" else 1.0), out)
    return out


# ----------------------------------------------------------------------------- exact regret
def _backward_min(P, mu, L):
    """min_pi <q^pi, L> by backward induction; returns (value, policy (H, S) int64)."""
    H, S, _ = L.shape
    V = np.zeros(S)
    pol = np.empty((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        Q = L[h] + P @ V
        pol[h] = np.argmin(Q, axis=1)
        V = Q[np.arange(S), pol[h]]
    return float(mu @ V), pol


def best_fixed_policy(mdp: TabularMDP, losses) -> tuple[float, np.ndarray]:
    r"""Best fixed policy in hindsight: :math:`\min_\pi\sum_k\langle q^\pi,\ell_k\rangle` and a
    deterministic minimizer (H, S), by backward induction on :math:`\sum_k\ell_k` (exact; the
    episodic occupancy is linear in the loss, Puterman 1994 Thm 4.5.1).  ``losses`` (K, H, S, A)
    or (H, S, A)."""
    P, mu, ls = _check_inputs(mdp, losses)
    return _backward_min(P, mu, ls.sum(axis=0))


def _check_inputs(mdp, losses):
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    if not np.all(mdp.action_mask):
        raise InvalidArgumentError("adversarial policy optimization needs every action available (no action_mask)")
    ls = as_float_array(losses, "losses", (3, 4), exc=InvalidArgumentError)
    if ls.ndim == 3:
        ls = ls[None]
    K, H, S, A = ls.shape
    if (S, A) != (mdp.S, mdp.A) or K < 1 or H < 1:
        raise InvalidArgumentError(f"losses must have shape (K, H, S, A) with S, A = {mdp.S}, {mdp.A}, got {ls.shape}")
    if ls.min() < 0.0 or ls.max() > 1.0:
        idx = tuple(int(i) for i in np.argwhere((ls < 0) | (ls > 1))[0])
        raise InvalidArgumentError(f"losses must lie in [0, 1]; losses{list(idx)} = {float(ls[idx])!r}")
    return mdp.P_dense(), np.asarray(mdp.mu0, dtype=np.float64), ls


def _regret_traces(P, mu, ls, pols, mean_losses):
    K = ls.shape[0]
    exp_loss = np.einsum("khsa,khsa->k", episodic_occupancy_batch(P, mu, pols), ls)
    cum = np.cumsum(ls, axis=0)
    best = np.array([_backward_min(P, mu, cum[k])[0] for k in range(K)])
    regret = np.cumsum(exp_loss) - best
    comp = _backward_min(P, mu, cum[-1])[1]
    pseudo = None
    if mean_losses is not None:
        vopt = _backward_min(P, mu, mean_losses)[0]
        pseudo = np.cumsum(np.einsum("khsa,hsa->k", episodic_occupancy_batch(P, mu, pols), mean_losses) - vopt)
    return exp_loss, regret, comp, pseudo


def episodic_occupancy_batch(P, mu, pols):
    """Occupancies (K, H, S, A) of K policies (K, H, S, A) at once (trusted arrays)."""
    K, H = pols.shape[:2]
    q = np.empty_like(pols)
    d = np.broadcast_to(mu, (K, mu.shape[0]))
    for h in range(H):
        q[:, h] = d[:, :, None] * pols[:, h]
        if h + 1 < H:
            d = np.einsum("ksa,sat->kt", q[:, h], P)
    return q


# ----------------------------------------------------------------------------- the shared engine
def _sample_episode(P, mu, pi, rng):
    """One trajectory of ``pi`` (H, S, A): states (H,), actions (H,)."""
    H, S, A = pi.shape
    s_arr = np.empty(H, dtype=np.int64)
    a_arr = np.empty(H, dtype=np.int64)
    s = min(int(np.searchsorted(np.cumsum(mu), rng.random(), side="right")), S - 1)
    for h in range(H):
        a = min(int(np.searchsorted(np.cumsum(pi[h, s]), rng.random(), side="right")), A - 1)
        s_arr[h], a_arr[h] = s, a
        s = min(int(np.searchsorted(np.cumsum(P[s, a]), rng.random(), side="right")), S - 1)
    return s_arr, a_arr


def _loss_to_go_estimate(H, S, A, states, actions, losses_k, denom):
    r""":math:`\hat Q(h,s,a)=\mathbb 1\{s_h=s,a_h=a\}L_h/\mathrm{denom}(h,s,a)`, :math:`L_h` the observed loss-to-go."""
    obs = losses_k[np.arange(H), states, actions]
    togo = np.cumsum(obs[::-1])[::-1]
    Qhat = np.zeros((H, S, A))
    Qhat[np.arange(H), states, actions] = togo / denom[np.arange(H), states, actions]
    return Qhat


def _dilated_bonus(P, pi, b):
    r"""Dilated bonus :math:`B(h,s,a)=b(h,s)+(1+\frac1H)\sum_{s'}P(s'|s,a)\sum_{a'}\pi(a'|h+1,s')B(h+1,s',a')`
    (Luo, Wei & Lee 2021, NeurIPS, Eq. (dilated Bellman equation); number not checked)."""
    H, S, A = pi.shape
    B = np.zeros((H, S, A))
    nxt = np.zeros(S)
    for h in range(H - 1, -1, -1):
        B[h] = b[h][:, None] + (1.0 + 1.0 / H) * (P @ nxt)
        nxt = np.sum(pi[h] * B[h], axis=1)
    return B


def _stability(regularizer, pi):
    """Per-(h, s) sum_a pi^c of the stability term: sqrt(pi) Tsallis (c = 1/2), A Shannon (c = 0), 1 log-barrier (c = 1)."""
    if regularizer == "tsallis":
        return np.sum(np.sqrt(pi), axis=2)
    if regularizer == "shannon":
        return np.full(pi.shape[:2], float(pi.shape[2]))
    return np.ones(pi.shape[:2])


def _run(mdp, losses, *, regularizer, eta_fn, bonus, delays, delay_adapted, ix_fn, rng, mean_losses):
    P, mu, ls = _check_inputs(mdp, losses)
    K, H, S, A = ls.shape
    cumL = np.zeros((H, S, A))  # cumulative (estimate - bonus) of the feedback received so far
    pols = np.empty((K, H, S, A))
    etas = np.empty(K)
    st_all = np.empty((K, H), dtype=np.int64)
    ac_all = np.empty((K, H), dtype=np.int64)
    arrivals: dict[int, list[int]] = {}
    for k in range(K):
        eta = eta_fn(k + 1)
        etas[k] = eta
        pi = ftrl_simplex(cumL.reshape(H * S, A), eta, regularizer).reshape(H, S, A)
        pols[k] = pi
        states, actions = _sample_episode(P, mu, pi, rng)
        st_all[k], ac_all[k] = states, actions
        arrivals.setdefault(k + int(delays[k]), []).append(k)
        for j in arrivals.pop(k, []):  # feedback of episode j arrives at the end of episode k = j + d_j
            pj = pols[j]
            qj = episodic_occupancy_trusted(P, mu, pj).sum(axis=2)  # q_j(h, s), known transitions
            pden = np.maximum(pj, pi) if delay_adapted else pj
            denom = qj[:, :, None] * pden + ix_fn(etas[j])
            sj, aj = st_all[j], ac_all[j]
            cumL += _loss_to_go_estimate(H, S, A, sj, aj, ls[j], denom)
            if bonus:
                with np.errstate(divide="ignore"):
                    b = np.where(qj > 0, etas[j] * H * H * _stability(regularizer, pj) / np.where(qj > 0, qj, 1.0), 0.0)
                cumL -= _dilated_bonus(P, pj, b)
    return pols, etas, (st_all, ac_all), _regret_traces(P, mu, ls, pols, mean_losses)


def _check_rng(rng):
    if not isinstance(rng, np.random.Generator):
        raise InvalidArgumentError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def _check_mean_losses(mean_losses, shape):
    if mean_losses is None:
        return None
    m = as_float_array(mean_losses, "mean_losses", 3, exc=InvalidArgumentError)
    if m.shape != shape:
        raise InvalidArgumentError(f"mean_losses must have shape (H, S, A) = {shape}, got {m.shape}")
    return m


def _finish(mdp, ls_shape, pols, etas, trajs, traces, delays, certificate, method, options, t0):
    exp_loss, regret, comp, pseudo = traces
    for arr in (pols, etas, exp_loss, regret, comp, delays, *trajs) + ((pseudo,) if pseudo is not None else ()):
        arr.flags.writeable = False
    return AdversarialPOResult(policy=pols[-1], policies=pols, expected_loss=exp_loss, regret=regret,
                               comparator_policy=comp, pseudo_regret=pseudo, learning_rates=etas, delays=delays,
                               states=trajs[0], actions=trajs[1],
                               certificate=certificate, method=method, options=options,
                               wall_time=time.perf_counter() - t0)


# ----------------------------------------------------------------------------- best of both worlds
def bobw_policy_optimization(mdp: TabularMDP, losses, *, rng: np.random.Generator, regularizer: str = "tsallis",
                             variant: str = "decaying", eta: float | None = None, mean_losses=None,
                             gap_min: float | None = None) -> AdversarialPOResult:
    r"""Best-of-both-worlds policy optimization, known transitions (Dann, Wei & Zimmert 2023, ICML,
    "Best of both worlds policy optimization", Alg. 1; number not checked against the text).

    Each episode k and every step-state (h, s), FTRL over the action simplex
    (:func:`ftrl_simplex`):

    .. math:: \pi_k(\cdot|h,s) = \arg\min_{p\in\Delta_A}\Big\langle p,\sum_{j<k}\big(\hat Q_j(h,s,\cdot)
              - B_j(h,s,\cdot)\big)\Big\rangle + \frac{\psi(p)}{\eta_k}

    with the unbiased loss-to-go estimator :math:`\hat Q_j(h,s,a)=\mathbb 1\{s_h=s,a_h=a\}
    \sum_{h'\ge h}\ell_j(h',s_{h'},a_{h'})/(q_j(h,s)\pi_j(a|h,s))` (:math:`q_j` exact: transitions
    are known) and the dilated bonus :math:`B_j` of :func:`_dilated_bonus` with
    :math:`b_j(h,s)=\eta_jH^2\sum_a\pi_j(a|h,s)^{c}/q_j(h,s)` (c = 1/2 Tsallis; c = 0 Shannon,
    the sum is A; c = 1 log-barrier, the sum is 1): the expected FTRL stability term
    :math:`\eta\sum_a\pi_a^{2-\kappa}\hat Q_a^2` (:math:`\kappa` = 1/2, 1, 0) at (h, s), whose mean is
    at most :math:`\eta H^2\sum_a\pi_a^{1-\kappa}/q`, the role the bonus plays in Luo, Wei & Lee 2021.

    ``variant="decaying"`` schedules (*our choices; the paper's exact constants were not read*):
    Tsallis and log-barrier :math:`\eta_k = 1/(H\sqrt k)` (anytime, Tsallis-INF's
    :math:`1/\sqrt t` scaled to losses-to-go in [0, H]); Shannon :math:`\eta_k=\sqrt{\log A/k}/H`.
    ``variant="fixed-eta"``: constant ``eta``, no bonus; no bound is attached.  The log-barrier's
    first-order (data-adaptive) learning rate of the paper is not encoded.

    Parameters
    ----------
    mdp : TabularMDP
        Known kernel ``P`` and ``mu0``; every action available.  ``gamma`` is not used.
    losses : array_like (K, H, S, A)
        Losses in [0, 1] of the K episodes (oblivious adversary, or an i.i.d. stochastic draw).
    rng : numpy.random.Generator
        Trajectory sampling (the only randomness).
    regularizer : {"tsallis", "shannon", "log-barrier"}
    variant : {"decaying", "fixed-eta"}
    eta : float, optional
        Required for ``"fixed-eta"``; refused for ``"decaying"``.
    mean_losses : array_like (H, S, A), optional
        Mean losses of a stochastic regime: ``pseudo_regret`` is then computed.
    gap_min : float, optional
        Smallest positive gap of the stochastic regime (:func:`mdpkit.bounds.bobw_po_regret_rate`),
        used only for the certificate.

    Returns
    -------
    AdversarialPOResult
        ``certificate``: :func:`mdpkit.bounds.bobw_po_regret_rate` (rate-only) for ``"decaying"``
        (Tsallis and Shannon), None otherwise.

    Raises
    ------
    InvalidArgumentError
        Bad shapes, losses outside [0, 1], a masked action, unknown regularizer/variant, ``eta``
        given with ``"decaying"`` or missing with ``"fixed-eta"``.
    """
    t0 = time.perf_counter()
    _check_rng(rng)
    if regularizer not in REGULARIZERS:
        raise InvalidArgumentError(f"regularizer must be one of {REGULARIZERS}, got {regularizer!r}")
    if variant == "decaying":
        if eta is not None:
            raise InvalidArgumentError("eta is set by the schedule for variant='decaying'; use variant='fixed-eta'")
    elif variant == "fixed-eta":
        if eta is None or not (math.isfinite(float(eta)) and float(eta) > 0):
            raise InvalidArgumentError(f"variant='fixed-eta' needs a finite eta > 0, got {eta!r}")
    else:
        raise InvalidArgumentError(f"variant must be 'decaying' or 'fixed-eta', got {variant!r}")
    P, mu, ls = _check_inputs(mdp, losses)
    K, H, S, A = ls.shape
    ml = _check_mean_losses(mean_losses, (H, S, A))
    if variant == "fixed-eta":
        e0 = float(eta)
        eta_fn = lambda k: e0  # noqa: E731
    elif regularizer == "shannon":
        eta_fn = lambda k: math.sqrt(max(math.log(A), 1e-12) / k) / H  # noqa: E731
    else:
        eta_fn = lambda k: 1.0 / (H * math.sqrt(k))  # noqa: E731
    delays = np.zeros(K, dtype=np.int64)
    pols, etas, trajs, traces = _run(mdp, ls, regularizer=regularizer, eta_fn=eta_fn, bonus=(variant == "decaying"),
                                         delays=delays, delay_adapted=False, ix_fn=lambda e: 0.0, rng=rng,
                                         mean_losses=ml)
    cert = None
    if variant == "decaying" and regularizer in ("tsallis", "shannon"):
        regime = "adversarial" if gap_min is None else "stochastic"
        cert = bounds.bobw_po_regret_rate(H=H, S=S, A=A, K=K, regime=regime, gap_min=gap_min,
                                          regularizer=regularizer, variant=variant)
    return _finish(mdp, ls.shape, pols, etas, trajs, traces, delays, cert, "bobw_policy_optimization",
                   dict(regularizer=regularizer, variant=variant, eta=eta, K=K, H=H,
                        mean_losses_given=ml is not None, gap_min=gap_min), t0)


# ----------------------------------------------------------------------------- delay-adapted PO
def delay_adapted_policy_optimization(mdp: TabularMDP, losses, delays, *, rng: np.random.Generator,
                                      variant: str = "decaying", eta: float | None = None,
                                      ix: float | None = None) -> AdversarialPOResult:
    r"""Delay-adapted policy optimization (DAPO), known transitions (Lancewicki, Rosenberg & Sotnikov
    2023, ICML, "Delay-adapted policy optimization and improved regret for adversarial MDP with
    delayed bandit feedback"; algorithm and theorem numbers not checked against the text).

    The feedback of episode j (its trajectory and the losses along it) arrives at the end of
    episode :math:`j+d_j`; every arrival updates the exponential-weights (OMD with KL = FTRL with
    Shannon entropy and constant :math:`\eta`) policy at every (h, s):

    .. math:: \pi_{k+1}(a|h,s)\propto\exp\Big(-\eta\sum_{j:\,j+d_j\le k}\hat Q_j(h,s,a)\Big),\qquad
              \hat Q_j(h,s,a)=\frac{\mathbb 1\{s_h=s,a_h=a\}L_{j,h}}{q_j(h,s)\max\{\pi_j(a|h,s),\pi_{j+d_j}(a|h,s)\}+\gamma}.

    The *delay-adapted* denominator :math:`\max\{\pi_j,\pi_{j+d_j}\}` (the policy that played and
    the one in force when the feedback arrives) is DAPO's idea as its abstract and title describe
    it; with :math:`d_j = 0` it is :math:`\pi_j` and DAPO is the undelayed exponential-weights PO
    with implicit exploration :math:`\gamma` (tested exactly).

    What differs from / is not checked against the paper: transitions are known, so
    :math:`q_j(h,s)` is exact (the paper's unknown-transition upper occupancy bound and its bonus
    are not encoded); defaults ``variant="decaying"``: :math:`\eta=\sqrt{\log A/(H^2(AK+D))}`,
    :math:`\gamma=\eta H`, with :math:`D=\sum_j\min(d_j, K-1-j)` the total delay inside the run —
    our tuning for the order :math:`\tilde O(H\sqrt{AK\log A}+H\sqrt{D\log A})`, not the
    paper's constants.  ``variant="fixed-eta"`` takes ``eta`` and ``ix``; no bound attached.

    Parameters
    ----------
    mdp : TabularMDP
    losses : array_like (K, H, S, A) in [0, 1]
    delays : array_like of int (K,)
        :math:`d_j\ge0`; feedback arriving after episode K-1 is never used.
    rng : numpy.random.Generator
    variant : {"decaying", "fixed-eta"}
    eta, ix : float, optional
        Learning rate and implicit exploration :math:`\gamma\ge0` (``"fixed-eta"`` only).

    Returns
    -------
    AdversarialPOResult
        ``certificate``: :func:`mdpkit.bounds.dapo_regret_rate` for ``"decaying"``, else None.
    """
    t0 = time.perf_counter()
    _check_rng(rng)
    P, mu, ls = _check_inputs(mdp, losses)
    K, H, S, A = ls.shape
    d = np.asarray(delays)
    if d.shape != (K,) or not np.issubdtype(d.dtype, np.integer) or (d.size and d.min() < 0):
        raise InvalidArgumentError(f"delays must be non-negative integers of shape (K,) = ({K},), got {d!r:.80}")
    d = d.astype(np.int64)
    D = int(np.sum(np.minimum(d, K - 1 - np.arange(K))))
    if variant == "decaying":
        if eta is not None or ix is not None:
            raise InvalidArgumentError("eta and ix are set by the schedule for variant='decaying'; use variant='fixed-eta'")
        e0 = math.sqrt(max(math.log(A), 1e-12) / (H * H * (A * K + D)))
        g0 = e0 * H
    elif variant == "fixed-eta":
        if eta is None or not (math.isfinite(float(eta)) and float(eta) > 0):
            raise InvalidArgumentError(f"variant='fixed-eta' needs a finite eta > 0, got {eta!r}")
        e0 = float(eta)
        g0 = 0.0 if ix is None else float(ix)
        if not (math.isfinite(g0) and g0 >= 0):
            raise InvalidArgumentError(f"ix must be finite and >= 0, got {ix!r}")
    else:
        raise InvalidArgumentError(f"variant must be 'decaying' or 'fixed-eta', got {variant!r}")
    pols, etas, trajs, traces = _run(mdp, ls, regularizer="shannon", eta_fn=lambda k: e0, bonus=False, delays=d,
                                         delay_adapted=True, ix_fn=lambda e: g0, rng=rng, mean_losses=None)
    cert = bounds.dapo_regret_rate(H=H, S=S, A=A, K=K, total_delay=D, variant=variant) if variant == "decaying" else None
    return _finish(mdp, ls.shape, pols, etas, trajs, traces, d, cert, "delay_adapted_policy_optimization",
                   dict(variant=variant, eta=e0, ix=g0, K=K, H=H, total_delay=D), t0)

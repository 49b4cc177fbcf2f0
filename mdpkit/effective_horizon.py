r"""The effective horizon of a finite-horizon MDP, k-QVI, GORP bounds, and the ROVER claim.

Finite-horizon models
---------------------
:class:`FiniteHorizonModel` holds a finite-horizon problem: ``S`` states, ``A`` actions, horizon
``H`` (steps ``t = 0 .. H-1``), rewards ``R (S, A)`` and either a deterministic next-state table
``next_state (S, A)`` with ``-1`` for "the episode ends" (the format of the BRIDGE dataset,
Laidlaw, Russell & Dragan 2023: ``transitions`` and ``rewards`` arrays, initial state 0) or
sub-stochastic transition rows ``P`` (CSR ``(S*A, S)``, the missing mass is the probability that
the episode ends).  Episodes end after ``H`` steps or on an ending transition, whichever comes
first; nothing is earned afterwards.  Values are time-indexed: ``Q[t, s, a]`` is the expected
reward from step ``t`` to the end.

Definitions (Laidlaw, Russell & Dragan 2023, Sec. 5, with the authors' code
``EffectiveHorizon.jl/src/value_iteration.jl`` and ``gorp_bounds.jl`` as the reference for
ties and visited states; definition and theorem numbers not checked against the text, except
"Theorem 5.4" for the simple effective-horizon bound, which the BRIDGE dataset README names)
---------------------------------------------------------------------------------------------
random policy's Q
    :math:`Q^{1} = Q^{\pi_{rand}}`, the time-indexed Q-function of the uniformly random policy.
k-QVI
    :math:`Q^{i+1}_t(s,a) = R(s,a) + E[\max_{a'} Q^{i}_{t+1}(s', a')]`: ``k - 1`` steps of value
    iteration started from :math:`Q^{1}`; then act greedily on :math:`Q^{k}`.
k-QVI-solvable
    Every action that is greedy for :math:`Q^k` (within ``atol`` of the maximum, so that ties
    count) at every (t, s) the greedy actions reach from the initial state is optimal
    (:math:`Q^*_t(s,a) \ge V^*_t(s) -` ``atol``).  Since :math:`Q^{H} = Q^*`, every model is
    H-QVI-solvable; the *minimal k* is the smallest solvable k.
GORP and the effective horizon
    GORP (Greedy Over Random Policy) estimates :math:`Q^k` with ``m`` random rollouts per
    action sequence of length k and acts greedily; :math:`H_k = k + \log_A m_k` with
    :math:`m_k` the rollouts needed, and the effective horizon is
    :math:`\bar H = \min_k H_k`.  The simple bound (Thm 5.4):
    :math:`m_k \le \max_{t,s}\lceil 16\,\sigma^2_k(t,s)/\Delta_k(t,s)^2\,\log(2 H A^k)\rceil`
    over the states GORP may visit, :math:`\Delta_k` the gap between the best and the best
    suboptimal action's :math:`Q^k` and :math:`\sigma^2_k` a bound on the variance of a random
    rollout's return (the Bhatia-Davis bound :math:`(Q^{rand} - Q^{worst})(Q^* - Q^{worst})` at
    the leaves); :func:`mdpkit.bounds.gorp_rollouts`.  Deterministic models only (a single
    stochastic rollout may exceed :math:`Q^*`, so the variance bound fails).
sticky actions
    With probability ``p`` the previous action is repeated instead of the chosen one (Machado
    et al. 2018), except at ``t = 0``: :meth:`FiniteHorizonModel.with_sticky_actions` builds the
    equivalent stochastic model on states ``(s, previous action)``.

ROVER
-----
:func:`rover_check` tests the claim of He et al. (2025, "Random Policy Valuation is Enough for
LLM Reasoning with Verifiable Rewards", Thm 3.1; number from a summary, not checked against the
text): in a finite-horizon MDP with deterministic transitions, tree-structured states and binary
terminal rewards, the greedy policy on the uniform policy's Q is optimal.
"""

from __future__ import annotations

import math

import numpy as np

from ._exceptions import InvalidArgumentError, InvalidMDPError
from .model import TabularMDP
from ._record import SlotsRecord

__all__ = [
    "EffectiveHorizonResult",
    "FiniteHorizonModel",
    "KQVIResult",
    "RoverCheck",
    "effective_horizon",
    "k_qvi",
    "minimal_k",
    "optimal_q",
    "random_policy_q",
    "rover_check",
]


# ============================================================================= the model
class FiniteHorizonModel:
    r"""A finite-horizon MDP: deterministic next-state table or sub-stochastic rows.

    Build with :meth:`from_next_state`, :meth:`from_mdp` or :meth:`with_sticky_actions`.

    Attributes
    ----------
    S, A, H : int
    R : ndarray float64 (S, A)
        Reward of taking ``a`` in ``s`` (paid also on an ending transition).
    next_state : ndarray int64 (S, A) or None
        Deterministic successor, ``-1`` for episode end.
    P : scipy.sparse.csr_matrix (S*A, S) or None
        Sub-stochastic rows ``s*A + a`` (stochastic models).
    initial : ndarray float64 (S,)
        Initial-state distribution.
    deterministic : bool
    """

    __slots__ = ("S", "A", "H", "R", "next_state", "P", "initial", "deterministic", "sticky")

    def __init__(self, R, H, *, next_state=None, P=None, initial=None, sticky: float = 0.0):
        # own read-only copies: one kernel signature whatever the caller passed (dtype, layout, flags)
        R = np.array(R, dtype=np.float64, order="C", copy=True)
        R.flags.writeable = False
        if R.ndim != 2 or R.size == 0:
            raise InvalidMDPError(f"rewards must have shape (S, A) with S, A >= 1, got {R.shape}")
        if not np.all(np.isfinite(R)):
            s, a = np.argwhere(~np.isfinite(R))[0]
            raise InvalidMDPError(f"rewards[{s}, {a}] = {R[s, a]!r} is not finite")
        S, A = R.shape
        if isinstance(H, bool) or not isinstance(H, (int, np.integer)) or int(H) < 1:
            raise InvalidArgumentError(f"horizon must be an integer >= 1, got {H!r}")
        self.S, self.A, self.H, self.R = int(S), int(A), int(H), R
        self.sticky = float(sticky)
        if (next_state is None) == (P is None):
            raise InvalidArgumentError("give exactly one of next_state and P")
        if next_state is not None:
            ns = np.asarray(next_state)
            if ns.shape != (S, A):
                raise InvalidMDPError(f"next_state must have shape {R.shape} like rewards, got {ns.shape}")
            if ns.size and not np.issubdtype(ns.dtype, np.integer):
                raise InvalidMDPError(f"next_state must hold integers, got dtype {ns.dtype}")
            bad = (ns < -1) | (ns >= S)
            if bad.any():
                s, a = np.argwhere(bad)[0]
                raise InvalidMDPError(f"next_state[{s}, {a}] = {ns[s, a]} is not in [-1, S) with S={S}")
            ns = np.array(ns, dtype=np.int64, order="C", copy=True)
            ns.flags.writeable = False
            self.next_state = ns
            self.P = None
            self.deterministic = True
        else:
            import scipy.sparse as sp

            M = sp.csr_matrix(P, dtype=np.float64, copy=True)
            if M.shape != (S * A, S):
                raise InvalidMDPError(f"P must have shape (S*A, S) = ({S * A}, {S}), got {M.shape}")
            if M.nnz and (not np.all(np.isfinite(M.data)) or M.data.min() < 0):
                raise InvalidMDPError("P must have finite non-negative entries")
            rs = np.asarray(M.sum(axis=1)).ravel()
            if np.any(rs > 1.0 + 1e-9):
                r = int(np.argmax(rs))
                raise InvalidMDPError(f"row P[{r // A}, {r % A}, :] sums to {rs[r]!r} > 1")
            M.eliminate_zeros()
            self.P = M
            self.next_state = None
            self.deterministic = False
        if initial is None:
            initial = np.zeros(S)
            initial[0] = 1.0
        mu = np.asarray(initial, dtype=np.float64)
        if mu.shape != (S,) or (mu < 0).any() or abs(mu.sum() - 1.0) > 1e-9:
            raise InvalidArgumentError(f"initial must be a probability vector of shape ({S},)")
        self.initial = mu

    def __repr__(self) -> str:
        kind = "deterministic" if self.deterministic else "stochastic"
        return f"FiniteHorizonModel(S={self.S}, A={self.A}, H={self.H}, {kind})"

    @classmethod
    def from_next_state(cls, next_state, rewards, horizon: int, *, initial_state: int = 0) -> "FiniteHorizonModel":
        """Deterministic model from a next-state table (BRIDGE format: ``-1`` ends the episode).

        Parameters
        ----------
        next_state : array_like of int (S, A)
        rewards : array_like (S, A)
        horizon : int >= 1
        initial_state : int, default 0

        Raises
        ------
        InvalidMDPError, InvalidArgumentError
            Shapes, entries or the initial state out of range.
        """
        R = np.asarray(rewards, dtype=np.float64)
        S = R.shape[0] if R.ndim == 2 else 0
        if not (isinstance(initial_state, (int, np.integer)) and 0 <= int(initial_state) < max(S, 1)):
            raise InvalidArgumentError(f"initial_state must be in [0, {S}), got {initial_state!r}")
        mu = np.zeros(S)
        if S:
            mu[int(initial_state)] = 1.0
        return cls(R, horizon, next_state=next_state, initial=mu if S else None)

    @classmethod
    def from_npz(cls, path, horizon: int, *, max_bytes: int = 2**31) -> "FiniteHorizonModel":
        """Read a BRIDGE ``consolidated.npz``: arrays ``transitions`` (S, A) int and ``rewards`` (S, A).

        Parsed with ``numpy.load(allow_pickle=False)`` (no code runs); files above ``max_bytes``
        are refused.  The initial state is 0, as in BRIDGE.

        Raises
        ------
        ModelFileError
            The file is too large, not an npz archive, or lacks either array.
        InvalidMDPError
            The arrays are malformed (see :meth:`from_next_state`).
        """
        import os
        import zipfile

        from ._exceptions import ModelFileError

        size = os.path.getsize(path)
        if size > int(max_bytes):
            raise ModelFileError(f"{path}: {size} bytes exceeds max_bytes={int(max_bytes)}")
        try:
            with np.load(path, allow_pickle=False) as f:
                files = sorted(getattr(f, "files", []))
                if "transitions" not in files or "rewards" not in files:
                    raise ModelFileError(f"{path}: expected arrays 'transitions' and 'rewards', got {files}")
                ns, rw = f["transitions"], f["rewards"]
        except (ValueError, zipfile.BadZipFile, OSError) as e:
            if isinstance(e, ModelFileError):
                raise
            raise ModelFileError(f"{path}: not a readable npz archive without pickled objects ({e})") from None
        return cls.from_next_state(ns, rw, horizon)

    @classmethod
    def from_mdp(cls, mdp: TabularMDP, horizon: int) -> "FiniteHorizonModel":
        """The finite-horizon problem of a :class:`~mdpkit.TabularMDP` (``gamma`` ignored; ``mu0``
        the initial distribution; deterministic when every available row has one entry 1.0).

        Raises
        ------
        InvalidArgumentError
            The model has masked actions (k-QVI's uniform policy needs every action).
        """
        if not isinstance(mdp, TabularMDP):
            raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
        if not mdp.action_mask.all():
            raise InvalidArgumentError("masked actions are not supported (the random policy plays every action)")
        import scipy.sparse as sp

        M = sp.csr_matrix(mdp.P_rows, dtype=np.float64, copy=True)
        M.eliminate_zeros()
        if np.all(np.diff(M.indptr) == 1) and np.all(M.data == 1.0):
            return cls(mdp.R, horizon, next_state=M.indices.reshape(mdp.S, mdp.A).astype(np.int64),
                       initial=np.asarray(mdp.mu0))
        return cls(mdp.R, horizon, P=M, initial=np.asarray(mdp.mu0))

    def rows(self):
        """CSR ``(S*A, S)`` sub-stochastic rows (built from ``next_state`` when deterministic)."""
        import scipy.sparse as sp

        if self.P is not None:
            return self.P
        ns = self.next_state.reshape(-1)
        keep = np.flatnonzero(ns >= 0)
        return sp.csr_matrix((np.ones(keep.size), (keep, ns[keep])), shape=(self.S * self.A, self.S))

    def with_sticky_actions(self, p: float) -> "FiniteHorizonModel":
        r"""The same problem when the previous action repeats with probability ``p``.

        States ``(s, b)`` with index ``s * (A + 1) + b``, ``b`` the previous action and ``b = A``
        "none" (used at ``t = 0`` only, where nothing sticks); choosing ``a`` in ``(s, b)`` runs
        ``a`` with probability ``1 - p`` and ``b`` with probability ``p`` (Machado et al. 2018,
        "Revisiting the Arcade Learning Environment", Sec. 5.2; as in the effective-horizon
        code's ``sticky_transitions_and_rewards``).  The reward is the executed action's, so
        ``R[(s, b), a] = (1-p) R[s, a] + p R[s, b]``.

        Raises
        ------
        InvalidArgumentError
            ``p`` outside [0, 1) or the model is not deterministic.
        """
        import scipy.sparse as sp

        p = float(p)
        if not (0.0 <= p < 1.0):
            raise InvalidArgumentError(f"sticky-action probability must lie in [0, 1), got {p!r}")
        if not self.deterministic:
            raise InvalidArgumentError("sticky actions are defined here for deterministic models")
        S, A, ns = self.S, self.A, self.next_state
        B = A + 1
        rows, cols, vals = [], [], []
        R2 = np.zeros((S * B, A))
        for s in range(S):
            for b in range(B):
                i = s * B + b
                for a in range(A):
                    r = i * A + a
                    outs = [(a, 1.0)] if b == A or p == 0.0 else [(a, 1.0 - p), (b, p)]
                    for e, w in outs:
                        R2[i, a] += w * self.R[s, e]
                        if ns[s, e] >= 0:
                            rows.append(r)
                            cols.append(ns[s, e] * B + e)
                            vals.append(w)
        P = sp.csr_matrix((vals, (rows, cols)), shape=(S * B * A, S * B))
        mu = np.zeros(S * B)
        mu[np.arange(S) * B + A] = self.initial
        out = FiniteHorizonModel(R2, self.H, P=P, initial=mu, sticky=p)
        return out


def _check_model(model) -> FiniteHorizonModel:
    if not isinstance(model, FiniteHorizonModel):
        raise InvalidArgumentError(f"model must be a FiniteHorizonModel, got {type(model).__name__}")
    return model


def _atol(model: FiniteHorizonModel, atol) -> float:
    if atol is not None:
        a = float(atol)
        if not (a >= 0 and np.isfinite(a)):
            raise InvalidArgumentError(f"atol must be a finite number >= 0, got {atol!r}")
        return a
    return 1e-9 * max(1.0, float(np.abs(model.R).max())) * model.H


# ============================================================================= backward induction
def _backward(model: FiniteHorizonModel):
    """(Qrand, Qopt, Qworst), each (H, S, A)."""
    from ._kernels import structure as kern

    S, A, H = model.S, model.A, model.H
    Qr = np.empty((H, S, A))
    Qo = np.empty((H, S, A))
    Qw = np.empty((H, S, A))
    if model.deterministic:
        kern.det_backward(model.next_state, model.R, Qr, Qo, Qw)
        return Qr, Qo, Qw
    P = model.rows()
    Qr[H - 1] = Qo[H - 1] = Qw[H - 1] = model.R
    for t in range(H - 2, -1, -1):
        Qr[t] = model.R + (P @ Qr[t + 1].mean(axis=1)).reshape(S, A)
        Qo[t] = model.R + (P @ Qo[t + 1].max(axis=1)).reshape(S, A)
        Qw[t] = model.R + (P @ Qw[t + 1].min(axis=1)).reshape(S, A)
    return Qr, Qo, Qw


def random_policy_q(model: FiniteHorizonModel) -> np.ndarray:
    r"""Time-indexed Q-function of the uniformly random policy, :math:`Q^{\pi_{rand}}` (H, S, A).

    Raises
    ------
    InvalidArgumentError
        ``model`` is not a :class:`FiniteHorizonModel`.
    """
    return _backward(_check_model(model))[0]


def optimal_q(model: FiniteHorizonModel) -> np.ndarray:
    r"""Time-indexed optimal Q-function :math:`Q^*` (H, S, A) by backward induction."""
    return _backward(_check_model(model))[1]


def _backup(model: FiniteHorizonModel, Q: np.ndarray, t_stop: int) -> None:
    """In place: ``Q[t] <- R + E max Q[t+1]`` for ``t < t_stop`` (increasing t)."""
    from ._kernels import structure as kern

    if model.deterministic:
        kern.det_backup(model.next_state, model.R, Q, np.int64(t_stop))
        return
    P = model.rows()
    S, A = model.S, model.A
    for t in range(t_stop):
        Q[t] = model.R + (P @ Q[t + 1].max(axis=1)).reshape(S, A)


def _successors(model: FiniteHorizonModel, states: np.ndarray, take: np.ndarray) -> np.ndarray:
    """Bool (S,): states reached with positive probability from ``states`` playing actions ``take``."""
    nxt = np.zeros(model.S, dtype=bool)
    if model.deterministic:
        ns = model.next_state[states][take]
        nxt[ns[ns >= 0]] = True
        return nxt
    r = (states[:, None] * model.A + np.arange(model.A)[None, :])[take]
    if r.size:
        P = model.rows()[r]
        nxt[P.indices] = True
    return nxt


def _check_greedy(model, Q, Qo, atol, follow="greedy"):
    """First (t, s, a) where a greedy action of ``Q`` is suboptimal along the visited states, or None.

    ``follow="greedy"``: visit successors of greedy actions (min-k rule); ``"above"``: of every
    action whose Q exceeds the best suboptimal action's (the GORP-bound rule).  Also returns per-
    visited-state data for the GORP bound: list of (t, states, gap, greedy mask).
    """
    vis = model.initial > 0
    visited = []
    for t in range(model.H):
        st = np.flatnonzero(vis)
        if st.size == 0:
            break
        q = Q[t, st]
        qo = Qo[t, st]
        opt = qo >= qo.max(axis=1, keepdims=True) - atol
        qmax = q.max(axis=1, keepdims=True)
        greedy = q >= qmax - atol
        bad = greedy & ~opt
        if bad.any():
            i, a = np.argwhere(bad)[0]
            return (t, int(st[i]), int(a)), visited
        sub = np.where(opt, -np.inf, q).max(axis=1)
        gap = qmax[:, 0] - sub
        take = greedy if follow == "greedy" else (q > sub[:, None] + atol)
        visited.append((t, st, gap, take))
        if t + 1 < model.H:
            vis = _successors(model, st, take)
    return None, visited


class KQVIResult(SlotsRecord):
    r"""Outcome of :func:`k_qvi`.

    Attributes
    ----------
    k : int
    q : ndarray (H, S, A)
        :math:`Q^k`.
    solvable : bool
        Every greedy action on the visited states is optimal.
    counterexample : tuple (t, s, a) or None
        A visited (t, s) where the greedy action ``a`` is suboptimal.
    greedy : ndarray int64 (H, S)
        Greedy policy on :math:`Q^k` (ties to the lowest action).
    """

    __slots__ = ("k", "q", "solvable", "counterexample", "greedy")


    def __repr__(self) -> str:
        return f"KQVIResult(k={self.k}, solvable={self.solvable}, counterexample={self.counterexample})"


def k_qvi(model: FiniteHorizonModel, k: int, *, atol: float | None = None) -> KQVIResult:
    r"""k-QVI: ``k - 1`` value-iteration steps from the random policy's Q, then greedy.

    Parameters
    ----------
    model : FiniteHorizonModel
    k : int, 1 <= k <= H
    atol : float, optional
        Tie tolerance for "greedy" and "optimal"; default ``1e-9 * max(1, max|R|) * H``.

    Returns
    -------
    KQVIResult

    Raises
    ------
    InvalidArgumentError
        ``k`` outside ``[1, H]``.
    """
    model = _check_model(model)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not (1 <= int(k) <= model.H):
        raise InvalidArgumentError(f"k must be an integer in [1, H={model.H}], got {k!r}")
    tol = _atol(model, atol)
    Qr, Qo, _ = _backward(model)
    Q = Qr
    for j in range(1, int(k)):
        _backup(model, Q, model.H - j)
    bad, _ = _check_greedy(model, Q, Qo, tol)
    return KQVIResult(k=int(k), q=Q, solvable=bad is None, counterexample=bad, greedy=np.argmax(Q, axis=2))


def minimal_k(model: FiniteHorizonModel, *, atol: float | None = None) -> int:
    r"""The smallest k for which the model is k-QVI-solvable (at most H, since :math:`Q^H = Q^*`).

    Parameters
    ----------
    model : FiniteHorizonModel
    atol : float, optional
        As :func:`k_qvi`.

    Returns
    -------
    int in [1, H]
    """
    model = _check_model(model)
    tol = _atol(model, atol)
    Qr, Qo, _ = _backward(model)
    Q = Qr
    for k in range(1, model.H + 1):
        bad, _ = _check_greedy(model, Q, Qo, tol)
        if bad is None:
            return k
        _backup(model, Q, model.H - k)
    raise AssertionError("unreachable: Q^H = Q* is always solvable")  # pragma: no cover


class EffectiveHorizonResult(SlotsRecord):
    r"""Effective-horizon analysis of a deterministic finite-horizon model (see :func:`effective_horizon`).

    Attributes
    ----------
    min_k : int
        Minimal k-QVI-solvable k.
    H_bar : float
        Upper bound on the effective horizon: :math:`\min(H, \min_k H_k)` over the k tried.
    ks : list of int
        The k tried (``1 .. ceil(H_bar) - 1`` as in the reference implementation, or more).
    works : list of bool
        Whether the GORP bound applies at k (no suboptimal action ties the best on the states
        GORP may visit).
    m : list of float
        :math:`m_k` (``nan`` where it does not apply).
    gap, var : list of float
        :math:`\Delta_k` and :math:`\sigma^2_k` at the state attaining :math:`m_k`.
    H_k : list of float
        :math:`k + \log_A m_k` (``inf`` where it does not apply).
    definition : str
    """

    __slots__ = ("min_k", "H_bar", "ks", "works", "m", "gap", "var", "H_k", "definition")


    def to_dict(self) -> dict:
        return {key: getattr(self, key) for key in self.__slots__}

    def __repr__(self) -> str:
        return f"EffectiveHorizonResult(min_k={self.min_k}, H_bar={self.H_bar!r})"


EFFECTIVE_HORIZON_DEFINITION = ("H_bar = min_k [k + log_A m_k], m_k = max over states GORP may visit of "
                                "ceil(16 sigma_k^2 / Delta_k^2 * log(2 H A^k)) (Laidlaw, Russell & Dragan 2023, "
                                "Thm 5.4)")


def effective_horizon(model: FiniteHorizonModel, *, k_max: int | None = None, atol: float | None = None
                      ) -> EffectiveHorizonResult:
    r"""Minimal k and the simple GORP bound on the effective horizon (Laidlaw et al. 2023, Thm 5.4).

    For ``k = 1, 2, ...`` while ``k < H_bar`` (the reference implementation's loop; ``k_max``
    caps it): :math:`Q^k` by value iteration, the Bhatia-Davis variance bound carried ``k - 1``
    steps back, the states GORP may visit (those reached from the initial state through actions
    whose :math:`Q^k` exceeds every suboptimal action's), and
    :math:`m_k = \max\lceil 16\sigma^2/\Delta^2 \log(2HA^k)\rceil`
    (:func:`mdpkit.bounds.gorp_rollouts`); :math:`H_k = k + \log_A m_k`.

    Parameters
    ----------
    model : FiniteHorizonModel
        Deterministic (``next_state`` table), ``A >= 2``.
    k_max : int, optional
        Largest k tried (default H).
    atol : float, optional
        Tie tolerance, as :func:`k_qvi`.

    Returns
    -------
    EffectiveHorizonResult

    Raises
    ------
    InvalidArgumentError
        A stochastic model (the variance bound of Thm 5.4 needs deterministic transitions), or
        ``A < 2``.
    """
    from ._kernels import structure as kern

    model = _check_model(model)
    if not model.deterministic:
        raise InvalidArgumentError("the GORP bound (Laidlaw et al. 2023, Thm 5.4) needs deterministic transitions: "
                                   "a stochastic rollout's return can exceed Q*, so its variance bound fails")
    if model.A < 2:
        raise InvalidArgumentError("the effective horizon needs A >= 2 (log base A)")
    tol = _atol(model, atol)
    H, A, ns = model.H, model.A, model.next_state
    kmax = H if k_max is None else int(k_max)
    if not (1 <= kmax <= H):
        raise InvalidArgumentError(f"k_max must lie in [1, H={H}], got {k_max!r}")
    Qr, Qo, Qw = _backward(model)
    var = (Qr - Qw) * (Qo - Qw)
    var = np.maximum(var, 0.0)
    Q = Qr.copy()
    min_k = minimal_k(model, atol=tol)
    out = dict(ks=[], works=[], m=[], gap=[], var=[], H_k=[])
    H_bar = float(H)
    k = 1
    while k < H_bar and k <= kmax:
        bad, visited = _check_greedy(model, Q, Qo, tol, follow="above")
        out["ks"].append(k)
        if bad is not None:
            out["works"].append(False)
            for key in ("m", "gap", "var"):
                out[key].append(math.nan)
            out["H_k"].append(math.inf)
        else:
            best = (-1.0, math.nan, math.nan)
            logterm = math.log(2.0 * H) + k * math.log(A)
            for t, st, gap, _ in visited:
                v = var[t, st].max(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    mm = np.where(np.isinf(gap), 0.0, 16.0 * v / gap**2 * logterm)
                mm = np.maximum(1.0, np.ceil(mm))
                i = int(np.argmax(mm))
                if mm[i] > best[0]:
                    best = (float(mm[i]), float(gap[i]), float(v[i]))
            m_k = best[0]
            out["works"].append(True)
            out["m"].append(m_k)
            out["gap"].append(best[1])
            out["var"].append(best[2])
            hk = k + math.log(m_k) / math.log(A)
            out["H_k"].append(hk)
            H_bar = min(H_bar, hk)
        if k < H:
            _backup(model, Q, H - k)
            # carry the leaf variance bound one more step back: max over the next actions (in place,
            # increasing t, so row t reads row t+1 before it changes; row H-1 keeps its k = 1 value 0)
            kern.det_carry_max(ns, var, np.int64(H - 1))
        k += 1
    return EffectiveHorizonResult(min_k=min_k, H_bar=H_bar, definition=EFFECTIVE_HORIZON_DEFINITION, **out)


# ============================================================================= ROVER
class RoverCheck(SlotsRecord):
    r"""Outcome of :func:`rover_check`.

    Attributes
    ----------
    deterministic, tree, binary_terminal : bool
        The three assumptions of the claim, as found on the model.
    assumptions_hold : bool
    q_uniform : ndarray (S, A)
        :math:`Q^{\pi_u}`: expected total reward after ``a`` in ``s``, then uniformly random play.
    greedy : ndarray int64 (S,)
        :math:`\arg\max_a Q^{\pi_u}(s, a)`, ties to the lowest action.
    v_star, v_greedy : float
        Optimal value and the greedy policy's value at the root.
    greedy_optimal : bool
        ``v_greedy >= v_star - atol``.
    claim_violated : bool
        The assumptions hold and the greedy policy is not optimal (never expected).
    """

    __slots__ = ("deterministic", "tree", "binary_terminal", "assumptions_hold", "q_uniform", "greedy", "v_star",
                 "v_greedy", "greedy_optimal", "claim_violated")


    def __repr__(self) -> str:
        return (f"RoverCheck(deterministic={self.deterministic}, tree={self.tree}, binary_terminal="
                f"{self.binary_terminal}, v_star={self.v_star!r}, v_greedy={self.v_greedy!r}, "
                f"greedy_optimal={self.greedy_optimal})")


def _episodic(P_or_next_state, rewards):
    """Dense sub-stochastic P (S, A, S) and R (S, A) from a next-state table or a dense P."""
    R = np.asarray(rewards, dtype=np.float64)
    X = np.asarray(P_or_next_state)
    if R.ndim != 2:
        raise InvalidMDPError(f"rewards must have shape (S, A), got {R.shape}")
    S, A = R.shape
    if np.issubdtype(X.dtype, np.integer):
        if X.shape != (S, A):
            raise InvalidMDPError(f"next_state must have shape {R.shape}, got {X.shape}")
        if ((X < -1) | (X >= S)).any():
            raise InvalidMDPError(f"next_state entries must lie in [-1, {S})")
        P = np.zeros((S, A, S))
        s, a = np.nonzero(X >= 0)
        P[s, a, X[s, a]] = 1.0
        return P, R
    P = np.asarray(X, dtype=np.float64)
    if P.shape != (S, A, S):
        raise InvalidMDPError(f"P must have shape (S, A, S) = ({S}, {A}, {S}), got {P.shape}")
    if (P < 0).any() or np.any(P.sum(axis=2) > 1.0 + 1e-9) or not np.all(np.isfinite(P)):
        raise InvalidMDPError("P must be non-negative with rows summing to at most 1 (the rest ends the episode)")
    return P, R


def _topo(adj: np.ndarray) -> np.ndarray | None:
    """Topological order of a directed graph (bool adjacency), or None if it has a cycle."""
    S = adj.shape[0]
    indeg = adj.sum(axis=0).astype(np.int64)
    order, stack = [], [int(s) for s in np.flatnonzero(indeg == 0)]
    while stack:
        u = stack.pop()
        order.append(u)
        for v in np.flatnonzero(adj[u]):
            indeg[v] -= 1
            if indeg[v] == 0:
                stack.append(int(v))
    return np.array(order, dtype=np.int64) if len(order) == S else None


def rover_check(P_or_next_state, rewards, *, root: int = 0, atol: float = 1e-12) -> RoverCheck:
    r"""Check the ROVER claim on one episodic model (He et al. 2025, Thm 3.1).

    Claim: with deterministic transitions, a tree-structured state space and binary terminal
    rewards (:math:`R \in \{0, c\}`, :math:`c > 0`, paid only on the transition that ends the
    episode), the policy greedy on the uniform policy's :math:`Q^{\pi_u}` is optimal.  Here
    episodes end only through ending transitions (a tree gives every episode a finite length);
    values are undiscounted totals.

    Why it holds: with binary terminal rewards and deterministic moves,
    :math:`Q^{\pi_u}(s,a) > 0` iff some action sequence after ``a`` ends with reward ``c`` iff
    :math:`Q^*(s,a) = c`; greedy on :math:`Q^{\pi_u}` therefore stays on optimal actions, and in
    a tree (acyclic) it reaches the end.  Dropping an assumption breaks it: stochastic moves
    (a lucky gamble can look better than a sure success), non-binary rewards (many mediocre
    leaves beat one excellent one), and a graph with cycles (greedy ties can loop forever; see
    ``tests/structure/test_structure_rover.py`` for hypothesis-found instances).

    Parameters
    ----------
    P_or_next_state : array_like
        Integer next-state table (S, A) with ``-1`` for the end, or dense sub-stochastic
        ``P (S, A, S)`` (missing mass ends the episode).
    rewards : array_like (S, A)
        Expected reward of each state-action pair.
    root : int, default 0
    atol : float, default 1e-12

    Returns
    -------
    RoverCheck

    Raises
    ------
    InvalidMDPError
        Malformed arrays.
    InvalidArgumentError
        The uniform policy does not end episodes w.p. 1 from the root's reachable states, or a
        cyclic model is stochastic (its optimal value is not computed here).
    """
    P, R = _episodic(P_or_next_state, rewards)
    S, A = R.shape
    if not (0 <= int(root) < S):
        raise InvalidArgumentError(f"root must be in [0, {S}), got {root!r}")
    end = 1.0 - P.sum(axis=2)
    end[np.abs(end) < 1e-12] = 0.0
    support = P > 0
    n_out = support.sum(axis=2) + (end > 0)
    deterministic = bool(np.all(n_out == 1) and np.all((P == 0) | (P == 1)))
    adj = support.any(axis=1)
    # reachable from the root
    reach = np.zeros(S, dtype=bool)
    reach[int(root)] = True
    frontier = [int(root)]
    while frontier:
        u = frontier.pop()
        for v in np.flatnonzero(adj[u]):
            if not reach[v]:
                reach[v] = True
                frontier.append(int(v))
    parents = support.sum(axis=(0, 1))  # number of (s, a) pairs leading into each state
    order = _topo(adj)
    tree = bool(order is not None and parents[int(root)] == 0 and np.all(parents[reach & (np.arange(S) != root)] == 1)
                and reach.all())
    nz = R[np.abs(R) > atol]
    binary = bool(np.all(end[np.abs(R) > atol] == 1.0) and (nz.size == 0 or (nz.min() > 0 and np.ptp(nz) <= atol)))
    # uniform policy's values: (I - P_u) V = r_u
    Pu = P.mean(axis=1)
    ru = R.mean(axis=1)
    try:
        Vu = np.linalg.solve(np.eye(S) - Pu, ru)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("the uniform policy does not end every episode w.p. 1 (I - P_u is singular)") from None
    Qu = R + P @ Vu
    greedy = np.argmax(Qu, axis=1).astype(np.int64)
    # optimal and greedy values
    if order is not None:
        V = np.zeros(S)
        Vg = np.zeros(S)
        for s in order[::-1]:
            q = R[s] + P[s] @ V
            V[s] = q.max()
            Vg[s] = R[s, greedy[s]] + P[s, greedy[s]] @ Vg
        v_star, v_greedy = float(V[root]), float(Vg[root])
    else:
        if not deterministic:
            raise InvalidArgumentError("a stochastic model with cycles: its optimal value is not computed here")
        if (R < -atol).any() or np.any((np.abs(R) > atol) & (end < 1.0)):
            raise InvalidArgumentError("a cyclic model needs non-negative rewards paid only on ending transitions")
        # deterministic, non-negative rewards: optimal simple paths, S + 1 sweeps of VI from 0 suffice
        V = np.zeros(S)
        for _ in range(S + 1):
            V = (R + P @ V).max(axis=1)
        v_star = float(V[root])
        s, total, seen = int(root), 0.0, set()
        while s not in seen:
            seen.add(s)
            a = int(greedy[s])
            total += float(R[s, a])
            nxt = np.flatnonzero(P[s, a] > 0)
            if nxt.size == 0:
                break
            s = int(nxt[0])
        v_greedy = total
    ok = v_greedy >= v_star - max(atol, 1e-9 * max(1.0, abs(v_star)))
    holds = deterministic and tree and binary
    return RoverCheck(deterministic=deterministic, tree=tree, binary_terminal=binary, assumptions_hold=holds,
                      q_uniform=Qu, greedy=greedy, v_star=v_star, v_greedy=v_greedy, greedy_optimal=bool(ok),
                      claim_violated=bool(holds and not ok))

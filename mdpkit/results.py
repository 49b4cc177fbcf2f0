r"""Result records: one family for every solver, one record for every learning run.

Value semantics (the same for every solver; see the glossary in ``README.md``)
-------------------------------------------------------------------------------
``v``
    The solver's *estimate of the quantity it computes* (:math:`v^*`, :math:`v^\pi`, the robust
    value, :math:`g^*`, ...), never a raw iterate that merely shares the name.
``v_error_bound``
    A certified bound on :math:`\|v - v_{\text{true}}\|_\infty` (reward units): the true
    quantity lies in ``[v - v_error_bound, v + v_error_bound]`` in every state.  ``inf`` where the
    method certifies nothing about ``v``.
``v_iterate``
    The solver's last raw iterate, where it differs from ``v`` (e.g. modified policy iteration,
    whose span stopping rule can leave the iterate off :math:`v^*` by a large constant).
``v_policy``
    The exact value of the returned ``policy`` (an exact linear solve).  Computed on first access
    when the solver did not need it, so nobody pays an O(S^3) solve they did not ask for.
``certificate``
    A :class:`mdpkit.bounds.Bound` on the suboptimality of ``policy``
    (:math:`\|v^* - v^\pi\|_\infty`, or :math:`g^* - g^\pi`), with kind, assumptions and citation.

Family-specific outputs are typed fields of subclasses (:class:`DiscountedResult`,
:class:`AverageRewardResult`, :class:`LPResult`, :class:`ExactResult`,
:class:`FiniteHorizonResult`, :class:`TotalRewardResult`, ...), not string keys of a dict.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from mdpkit._exceptions import InvalidArgumentError

if TYPE_CHECKING:  # core does not import bounds at run time (DESIGN.md layers)
    from mdpkit.bounds import Bound

__all__ = [
    "AverageRewardResult",
    "DiscountedResult",
    "ExactResult",
    "FiniteHorizonResult",
    "LPResult",
    "LearningResult",
    "ResultRecord",
    "SolveResult",
    "Status",
    "TotalRewardResult",
    "format_value",
    "learning_result",
]


class Status(enum.IntEnum):
    """Why a solver stopped."""

    CONVERGED = 0  #: the stopping rule held (or the method is exact and finished)
    MAX_ITER = 1  #: ``max_iter`` was reached first
    CALLBACK_STOP = 2  #: a callback raised ``StopIteration``
    NUMERICAL = 3  #: a numerical failure (singular system, solver error)


def format_value(val) -> str:
    """One-line text of a result field for the aligned repr (arrays abbreviated, Bounds by value,
    kind and citation)."""
    if isinstance(val, np.ndarray):
        if val.dtype == object:
            return f"array{val.shape} of exact values"
        s = np.array2string(val, threshold=8, edgeitems=3, precision=6).replace("\n", " ")
        return f"array{val.shape} {s}" if (val.ndim > 1 or val.size > 8) else s
    if hasattr(val, "citation") and hasattr(val, "kind"):
        return f"Bound({val.value:.6g}, {val.kind.value}, {val.citation!r})"
    if isinstance(val, dict):
        return "{" + ", ".join(f"{k!r}: " + (f"array{x.shape}" if isinstance(x, np.ndarray) else repr(x))
                               for k, x in val.items()) + "}"
    return repr(val)


def _public_fields(obj) -> list[str]:
    return [f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")]


class ResultRecord:
    """Aligned ``name: value`` repr (SciPy's ``_RichResult``) and ``to_dict`` for the records."""

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every public field (arrays kept as arrays, enums by name).

        Lazily computed fields (``v_policy``) appear only once they have been computed.
        """
        d = {n: getattr(self, n) for n in _public_fields(self)}
        if "status" in d:
            d["status"] = self.status.name
        cached = getattr(self, "_v_policy", None)
        if "_v_policy" in {f.name for f in dataclasses.fields(self)}:
            d["v_policy"] = cached
        return d

    def __repr__(self) -> str:
        names = _public_fields(self)
        w = max(map(len, names + ["v_policy"]))
        lines = [f"{n.rjust(w)}: {format_value(getattr(self, n))}" for n in names]
        if "_v_policy" in {f.name for f in dataclasses.fields(self)}:
            cached = getattr(self, "_v_policy")
            lines.append(f"{'v_policy'.rjust(w)}: " + (format_value(cached) if cached is not None
                                                        else "<computed on first access>"))
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"


@dataclass(frozen=True, eq=False, repr=False)
class SolveResult(ResultRecord):
    r"""What a planning solver returns (the base of the result family).

    Attributes
    ----------
    v : ndarray of float64, shape (S,) (finite horizon: (H+1, S))
        The solver's estimate of the value it computes (:math:`v^*`, :math:`v^\pi`, the robust
        value ...); see the module docstring.
    v_error_bound : float
        Certified :math:`\|v - v_{\text{true}}\|_\infty`, reward units (``inf``: not certified).
    policy : ndarray of int64, shape (S,) (finite horizon: (H, S))
        The returned deterministic policy.
    certificate : mdpkit.bounds.Bound
        Certified suboptimality of ``policy`` with its kind, assumptions and citation.
    converged : bool
        True when the stopping rule held (or the method is exact and finished).
    status : Status
    message : str
    n_iter : int
        Number of iterations; what one iteration is depends on ``method`` (each solver says).
    residuals : ndarray of float64, shape (n_iter,)
        Per-iteration residual (sup norm of the change, or the span where the solver says so).
    method : str
        Name of the solver function that ran.
    options : dict
        Every resolved setting (tolerances, ``max_iter``, seeds).
    wall_time : float
        Seconds spent in the whole call, validation included (not in a later lazy ``v_policy``).
    q : ndarray of float64, shape (S, A), or None
        Action values at the solver's final backup (masked actions hold ``-inf``).
    v_iterate : ndarray of float64, shape (S,), or None
        The last raw iterate where it differs from ``v``.
    v_lower, v_upper : ndarray of float64, shape (S,), or None
        Certified per-state bracket ``v_lower <= v_true <= v_upper`` where the method has one.
    v_policy : ndarray of float64, shape (S,)
        Exact value of ``policy`` (property; computed on first access when the solver did not).
    error_bound : float
        Shorthand for ``certificate.value``.
    bound_source : str
        Shorthand for the certificate's statement and citation.
    """

    v: np.ndarray
    v_error_bound: float
    policy: np.ndarray | None
    certificate: Bound
    converged: bool
    status: Status
    message: str
    n_iter: int
    residuals: np.ndarray
    method: str
    options: dict
    wall_time: float
    q: np.ndarray | None = None
    v_iterate: np.ndarray | None = None
    v_lower: np.ndarray | None = None
    v_upper: np.ndarray | None = None
    _v_policy: np.ndarray | None = field(default=None, compare=False)
    _evaluate_policy: Callable[[], np.ndarray] | None = field(default=None, compare=False)

    @property
    def v_policy(self) -> np.ndarray | None:
        """Exact value of ``policy``, shape (S,); computed (and cached) on first access."""
        if self._v_policy is None and self._evaluate_policy is not None:
            vp = np.asarray(self._evaluate_policy(), dtype=np.float64)
            vp.flags.writeable = False
            object.__setattr__(self, "_v_policy", vp)
        return self._v_policy

    @property
    def error_bound(self) -> float:
        """Certified suboptimality of ``policy``: ``certificate.value``."""
        return float(self.certificate.value)

    @property
    def bound_source(self) -> str:
        """The certificate's inequality and citation, as one string."""
        c = self.certificate
        return f"{c.statement} [{c.citation}]" if c.statement else c.citation


@dataclass(frozen=True, eq=False, repr=False)
class DiscountedResult(SolveResult):
    """Value iteration, Gauss-Seidel, policy iteration and modified policy iteration.

    Attributes
    ----------
    spans : ndarray of float64, shape (n_iter,), or None
        Span of each iteration's change (VI, MPI).
    n_changed : ndarray of int64, shape (n_iter,), or None
        Actions switched per improvement step (PI).
    n_eval_sweeps : int or None
        Partial-evaluation sweeps done in total (MPI).
    """

    spans: np.ndarray | None = None
    n_changed: np.ndarray | None = None
    n_eval_sweeps: int | None = None


@dataclass(frozen=True, eq=False, repr=False)
class AverageRewardResult(SolveResult):
    r"""Average-reward solvers: ``v`` is the relative value (bias) estimate, ``gain`` the
    estimate of :math:`g^*` with the certified bracket ``[gain_lower, gain_upper]``.

    ``delta`` is the span-contraction coefficient (an upper bound on it) used to certify ``v``,
    and ``delta_route`` says how it was computed.
    """

    gain: float = float("nan")
    gain_lower: float = float("-inf")
    gain_upper: float = float("inf")
    delta: float = float("nan")
    delta_route: str = ""


@dataclass(frozen=True, eq=False, repr=False)
class LPResult(SolveResult):
    """Linear programming: the dual solution as well as the primal values.

    Attributes
    ----------
    occupancy : ndarray of float64, shape (S, A)
        Discounted state-action occupancy measure (dual variables) for the initial law ``mu0``.
    dual_policy : ndarray of int64, shape (S,)
        ``argmax_a occupancy[s, a]`` over available actions (optimal when the dual is; Puterman 1994, Thm 6.9.4).
    objective : float
        LP objective value.
    lp_solver : str
        Name of the LP solver that ran.
    """

    occupancy: np.ndarray | None = None
    dual_policy: np.ndarray | None = None
    objective: float = float("nan")
    lp_solver: str = ""


@dataclass(frozen=True, eq=False, repr=False)
class ExactResult(SolveResult):
    """Exact rational arithmetic: ``v_exact`` / ``q_exact`` hold :class:`fractions.Fraction` objects.

    ``v`` is the float64 rounding of ``v_exact`` (``v_error_bound`` bounds that rounding, plus the
    exact residual bound when the run stopped early).

    Attributes
    ----------
    v_exact : ndarray of object (Fraction), shape (S,)
    q_exact : ndarray of object (Fraction or None on masked actions), shape (S, A)
    gamma_exact : fractions.Fraction
        The discount factor as read.
    n_changed : ndarray of int64, shape (n_iter,)
        States whose action changed at each improvement step.
    """

    v_exact: np.ndarray | None = None
    q_exact: np.ndarray | None = None
    gamma_exact: Any = None
    n_changed: np.ndarray | None = None


@dataclass(frozen=True, eq=False, repr=False)
class FiniteHorizonResult(SolveResult):
    """Backward induction: ``v`` (H+1, S) with ``v[H]`` terminal, ``policy`` (H, S)."""

    horizon: int = 0


@dataclass(frozen=True, eq=False, repr=False)
class TotalRewardResult(SolveResult):
    """Stochastic shortest path / total reward.

    Attributes
    ----------
    terminal : ndarray of bool, shape (S,)
        Terminal states.
    expected_steps : ndarray of float64, shape (S,)
        Expected number of steps to termination under the returned policy, per state.
    max_expected_steps : float
        Its maximum over states.
    """

    terminal: np.ndarray | None = None
    expected_steps: np.ndarray | None = None
    max_expected_steps: float = float("inf")


@dataclass(frozen=True, eq=False, repr=False)
class LearningResult(ResultRecord):
    r"""What a bandit or online-RL run returns: per-run traces that can be replayed.

    Attributes
    ----------
    actions : ndarray of int64, shape (n_runs, T)
        Arm (or episode's first action) chosen at each round.
    rewards : ndarray of float64, shape (n_runs, T)
        Realised rewards.
    pseudo_regret : ndarray of float64, shape (n_runs, T)
        Cumulative pseudo-regret :math:`\sum_{t' \le t} (\mu^* - \mu_{A_{t'}})`.
    expected_regret : ndarray of float64, shape (T,)
        Exact expected cumulative regret where it is known in closed form, else the mean of
        ``pseudo_regret`` over runs (``expected_regret_exact`` says which).
    expected_regret_exact : bool
    n_pulls : ndarray of int64, shape (n_runs, K)
        Times each arm was chosen.
    seeds : ndarray of int64, shape (n_runs,)
        The seed of every run: ``np.random.default_rng(seeds[i])`` replays run ``i``.
    method : str
    options : dict
    wall_time : float
    certificate : mdpkit.bounds.Bound or None
        The regret bound the algorithm's theorem gives, if any.
    """

    actions: np.ndarray
    rewards: np.ndarray
    pseudo_regret: np.ndarray
    expected_regret: np.ndarray
    expected_regret_exact: bool
    n_pulls: np.ndarray
    seeds: np.ndarray
    method: str
    options: dict
    wall_time: float
    certificate: Bound | None = None

    @property
    def n_runs(self) -> int:
        return int(self.actions.shape[0])

    @property
    def horizon(self) -> int:
        return int(self.actions.shape[1])


def learning_result(*, actions, rewards, means, seeds, method: str, options: dict, wall_time: float,
                    expected_regret=None, certificate=None) -> LearningResult:
    r"""Assemble a :class:`LearningResult` from raw per-run traces (the one place that does it).

    Parameters
    ----------
    actions : array_like of int, shape (n_runs, T)
    rewards : array_like of float, shape (n_runs, T)
    means : array_like of float, shape (K,) or (n_runs, T, K)
        Arm means, fixed or per round (non-stationary and adversarial instances).
    seeds : array_like of int, shape (n_runs,)
    expected_regret : array_like of float, shape (T,), optional
        Exact expected cumulative regret, when the caller can compute it; otherwise the mean
        pseudo-regret over runs is stored and ``expected_regret_exact`` is False.

    Raises
    ------
    InvalidArgumentError
        Inconsistent shapes, or an action outside ``[0, K)``.
    """
    actions = np.ascontiguousarray(actions, dtype=np.int64)
    rewards = np.ascontiguousarray(rewards, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if actions.ndim != 2 or rewards.shape != actions.shape:
        raise InvalidArgumentError(f"actions and rewards must both have shape (n_runs, T); got {actions.shape} and {rewards.shape}")
    n_runs, T = actions.shape
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if seeds.shape != (n_runs,):
        raise InvalidArgumentError(f"seeds must have shape (n_runs,) = ({n_runs},), got {seeds.shape}")
    if not (means.ndim == 1 or (means.ndim == 3 and means.shape[:2] == (n_runs, T))):
        raise InvalidArgumentError(f"means must have shape (K,) or (n_runs, T, K) = ({n_runs}, {T}, K), got {means.shape}")
    K = means.shape[-1]
    if actions.size and (actions.min() < 0 or actions.max() >= K):
        bad = np.argwhere((actions < 0) | (actions >= K))[0]
        raise InvalidArgumentError(f"actions must lie in [0, K) = [0, {K}); actions[{bad[0]}, {bad[1]}] = "
                                   f"{actions[tuple(bad)]}")
    if means.ndim == 1:
        inst = (means.max() - means)[actions]
    else:
        gaps = means.max(axis=2, keepdims=True) - means
        inst = np.take_along_axis(gaps, actions[..., None], axis=2)[..., 0]
    pseudo = np.cumsum(inst, axis=1)
    exact = expected_regret is not None
    er = np.asarray(expected_regret, dtype=np.float64) if exact else pseudo.mean(axis=0)
    if er.shape != (T,):
        raise InvalidArgumentError(f"expected_regret must have shape (T,) = ({T},), got {er.shape}")
    n_pulls = (np.stack([np.bincount(a, minlength=K) for a in actions]).astype(np.int64) if n_runs
               else np.zeros((0, K), np.int64))
    for arr in (actions, rewards, pseudo, er, n_pulls, seeds):
        arr.flags.writeable = False
    return LearningResult(actions=actions, rewards=rewards, pseudo_regret=pseudo, expected_regret=er,
                          expected_regret_exact=exact, n_pulls=n_pulls, seeds=seeds,
                          method=method, options=dict(options), wall_time=float(wall_time),
                          certificate=certificate)

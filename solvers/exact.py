r"""Exact (rational-arithmetic) policy evaluation and policy iteration.

Every number here is a :class:`fractions.Fraction`, so the answers carry no rounding error at
all: :func:`exact_policy_evaluation` returns the exact solution of
:math:`(I - \gamma P_\pi) v = r_\pi`, and :func:`exact_policy_iteration` returns a policy that
satisfies the Bellman optimality equations *exactly*, checked with ``==`` on rationals.  These
are the oracles the floating-point solvers are tested against.

"Exact" is relative to how the inputs are read.  Ints, ``Fraction``, ``decimal.Decimal`` and
strings such as ``"1/3"`` or ``"0.1"`` are taken at their exact value.  Floats are read by
``mode``:

* ``mode="decimal"`` (default) reads a float as its shortest round-tripping decimal, so ``0.1``
  becomes ``1/10`` -- what a user typing ``0.1`` meant;
* ``mode="binary"`` reads a float as the exact binary number stored, so ``0.1`` becomes
  ``3602879701896397/36028797018963968``.

Nothing is renormalised: after conversion every available row of ``P`` must sum to exactly 1.

The cost grows quickly: Gauss-Jordan elimination is :math:`O(S^3)` Fraction operations per
evaluation and the numerators and denominators grow with every step.  Intended for models with
``S`` up to about 50.

References
----------
.. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960.
.. [2] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic Programming*,
   Wiley, 1994, Sec. 6.4 (policy iteration; Prop. 6.4.1 monotonicity, Thm 6.4.2 finite
   termination).
"""

from __future__ import annotations

import math
import numbers
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from mdpkit._exceptions import (
    ImproperPolicyError,
    InvalidArgumentError,
    InvalidMDPError,
    InvalidPolicyError,
)
from mdpkit._validation import check_int
from mdpkit.model import TabularMDP
from mdpkit.bounds import Bound, BoundKind
from mdpkit.results import ExactResult

from ._common import build_result

__all__ = [
    "exact_policy_evaluation",
    "exact_policy_iteration",
    "to_fractions",
]

_MODES = ("decimal", "binary")

_PI_CITATION = (
    "M. L. Puterman, Markov Decision Processes, Wiley 1994, Thm 6.4.2 (policy iteration on finite S and A "
    "terminates with an optimal policy); optimality verified exactly: max_a q(s, a) == v(s) for every s in "
    "rational arithmetic, so v_policy = v* for the model as read under `mode`"
)
_RESIDUAL_CITATION = (
    "M. L. Puterman, Markov Decision Processes, Wiley 1994, Sec. 6.2 (T is a gamma-contraction); residual "
    "computed exactly in rational arithmetic, rounded up to float"
)


# ---------------------------------------------------------------------------- conversion
def _check_mode(mode) -> str:
    if mode not in _MODES:
        raise InvalidArgumentError(f"mode must be 'decimal' or 'binary', got {mode!r}")
    return mode


def _fraction(x, mode: str, where: str, exc) -> Fraction:
    """One number to a Fraction; ``where`` names the entry in error messages."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, (bool, np.bool_)):
        raise exc(f"{where} is a bool ({x!r}); expected a number")
    if isinstance(x, numbers.Integral):
        return Fraction(int(x))
    if isinstance(x, numbers.Rational):
        return Fraction(x.numerator, x.denominator)
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(float(x)):
            raise exc(f"{where} is {float(x)!r}; entries must be finite")
        if mode == "binary":
            return Fraction(*x.as_integer_ratio())
        if isinstance(x, np.floating) and not isinstance(x, np.float64):
            # the shortest decimal that round-trips in the value's own precision (float32 0.1 -> 1/10)
            return Fraction(np.format_float_positional(x, unique=True, trim="-"))
        return Fraction(repr(float(x)))
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise exc(f"{where} is {x!r}; entries must be finite")
        return Fraction(x)
    if isinstance(x, str):
        try:
            return Fraction(x.strip())
        except (ValueError, ZeroDivisionError):
            raise exc(f"{where} = {x!r} is not an exact number (expected e.g. '1/3', '0.25', '2')") from None
    raise exc(f"{where} has type {type(x).__name__} ({x!r}); expected an int, float, Fraction, Decimal or str")


def _object_array(x, name: str, exc) -> np.ndarray:
    if sp.issparse(x):
        return x.toarray()
    if isinstance(x, np.ndarray):
        return x
    try:
        # dtype=object keeps every entry as given: a mixed list of strings and floats is not
        # turned into strings (which would read floats as decimals whatever the mode)
        return np.array(x, dtype=object)
    except (TypeError, ValueError) as e:
        raise exc(f"{name} could not be read as an array: {e}") from None


def _convert(x, mode: str, name: str, exc) -> np.ndarray:
    arr = _object_array(x, name, exc)
    out = np.empty(arr.shape, dtype=object)
    flat_in, flat_out = arr.reshape(-1), out.reshape(-1)
    for k in range(flat_in.size):
        idx = np.unravel_index(k, arr.shape)
        where = f"{name}[{', '.join(str(int(i)) for i in idx)}]" if arr.ndim else name
        flat_out[k] = _fraction(flat_in[k], mode, where, exc)
    return out


def to_fractions(x: ArrayLike, *, mode: str = "decimal") -> NDArray[np.object_] | Fraction:
    """Convert numbers to exact :class:`~fractions.Fraction` values.

    Parameters
    ----------
    x : array_like of any shape, or a scalar
        Ints, floats (Python or NumPy, any width), ``Fraction``, ``decimal.Decimal`` or strings
        such as ``"1/3"``, ``"0.1"`` or ``"2e-3"``.  Ints, Fractions, Decimals and strings are
        read exactly whatever ``mode`` says.
    mode : {"decimal", "binary"}, default "decimal"
        How a float is read.  ``"decimal"``: its shortest round-tripping decimal in its own
        precision (``0.1 -> 1/10``, also for ``float32``).  ``"binary"``: the exact binary value
        stored (``0.1 -> 3602879701896397/36028797018963968``).

    Returns
    -------
    ndarray of object (Fraction), same shape as ``x``; or a Fraction when ``x`` is a scalar

    Raises
    ------
    InvalidArgumentError
        If ``mode`` is unknown, or an entry is non-finite, a bool, an unparsable string or of
        another type; the message names the entry ``x[i, j]``.

    Examples
    --------
    >>> to_fractions([0.1, "1/3", 2]).tolist()
    [Fraction(1, 10), Fraction(1, 3), Fraction(2, 1)]
    >>> to_fractions(0.5, mode="binary")
    Fraction(1, 2)
    """
    mode = _check_mode(mode)
    out = _convert(x, mode, "x", InvalidArgumentError)
    return out.item() if out.ndim == 0 else out


# ---------------------------------------------------------------------------- the exact model
class _ExactModel:
    """An MDP in rationals: ``rows[s][a]`` lists ``(s', p)`` with ``p != 0``."""

    __slots__ = ("S", "A", "rows", "R", "mask", "gamma", "source")

    def __init__(self, S, A, rows, R, mask, gamma, source):
        self.S, self.A, self.rows, self.R, self.mask, self.gamma, self.source = S, A, rows, R, mask, gamma, source


def _exact_model(mdp_or_P, R, gamma, action_mask, mode: str) -> _ExactModel:
    if isinstance(mdp_or_P, TabularMDP):
        mdp = mdp_or_P
        given = [n for n, v in (("R", R), ("gamma", gamma), ("action_mask", action_mask)) if v is not None]
        if given:
            raise InvalidArgumentError(
                f"{', '.join(given)} must be omitted when a TabularMDP is given (the model carries them)"
            )
        P = _convert(mdp.P_dense(), mode, "P", InvalidMDPError)
        Rf = _convert(mdp.R, mode, "R", InvalidMDPError)
        g = _fraction(np.float64(mdp.gamma), mode, "gamma", InvalidMDPError)
        mask = np.asarray(mdp.action_mask, dtype=bool)
        source = "TabularMDP"
    else:
        if R is None or gamma is None:
            raise InvalidArgumentError("give a TabularMDP, or P (S, A, S) together with R (S, A) and gamma")
        P = _convert(mdp_or_P, mode, "P", InvalidMDPError)
        if P.ndim != 3 or P.shape[0] != P.shape[2]:
            raise InvalidMDPError(f"P must have shape (S, A, S), got {P.shape}")
        Rf = _convert(R, mode, "R", InvalidMDPError)
        S, A = P.shape[:2]
        if S < 1 or A < 1:
            raise InvalidMDPError(f"P must have S >= 1 and A >= 1, got S={S}, A={A}")
        if Rf.shape != (S, A):
            raise InvalidMDPError(f"R must have shape (S, A) = ({S}, {A}), got {Rf.shape}")
        if isinstance(gamma, (np.ndarray, list, tuple)):
            raise InvalidMDPError(f"gamma must be a scalar, got {type(gamma).__name__}")
        g = _fraction(gamma, mode, "gamma", InvalidMDPError)
        if action_mask is None:
            mask = np.ones((S, A), dtype=bool)
        else:
            mask = np.array(action_mask, copy=True)
            if mask.dtype != bool:
                raise InvalidMDPError(f"action_mask must be boolean, got dtype {mask.dtype}")
            if mask.shape != (S, A):
                raise InvalidMDPError(f"action_mask must have shape (S, A) = ({S}, {A}), got {mask.shape}")
            empty = np.flatnonzero(~mask.any(axis=1))
            if empty.size:
                s = int(empty[0])
                raise InvalidMDPError(f"state {s} has no available action (action_mask[{s}, :] is all False)")
        source = "arrays"
    if not 0 <= g <= 1:
        raise InvalidMDPError(f"gamma must lie in [0, 1], got {g}")

    S, A = P.shape[:2]
    rows: list[list[list[tuple[int, Fraction]]]] = []
    for s in range(S):
        row_s = []
        for a in range(A):
            nz = []
            for t in range(S):
                p = P[s, a, t]
                if p < 0:
                    raise InvalidMDPError(f"P[{s}, {a}, {t}] = {p} is negative; probabilities must be >= 0")
                if p:
                    nz.append((t, p))
            if mask[s, a]:
                total = sum((p for _, p in nz), Fraction(0))
                if total != 1:
                    raise InvalidMDPError(
                        f"P[{s}, {a}, :] sums to exactly {total} (= {float(total)!r}); expected exactly 1 "
                        f"in rational arithmetic (mode={mode!r}).{_row_hint(mode, source)}"
                    )
            row_s.append(nz if mask[s, a] else [])
        rows.append(row_s)
    Rl = [[Rf[s, a] for a in range(A)] for s in range(S)]
    ml = [[bool(mask[s, a]) for a in range(A)] for s in range(S)]
    return _ExactModel(S, A, rows, Rl, ml, g, source)


def _row_hint(mode: str, source: str) -> str:
    if mode == "binary":
        return " mode='binary' reads each float as its exact binary value; mode='decimal' reads 0.1 as 1/10."
    if source == "TabularMDP":
        return (
            " The float entries were read as their shortest decimals; pass exact P, R and gamma "
            "(Fractions or strings such as '1/3') instead of a float model."
        )
    return " Nothing is renormalised; give entries that sum to 1 exactly (e.g. Fractions or strings such as '1/3')."


# ---------------------------------------------------------------------------- policies
def _policy_rows(policy, m: _ExactModel, mode: str, name: str = "policy") -> list[list[tuple[int, Fraction]]]:
    """``out[s]`` lists ``(a, pi(a|s))`` with positive weight; ``name`` is used in messages."""
    arr = _object_array(policy, name, InvalidPolicyError)
    S, A = m.S, m.A
    if arr.ndim == 1:
        if arr.shape != (S,):
            raise InvalidPolicyError(f"a deterministic policy must have shape (S,) = ({S},), got {arr.shape}")
        out = []
        for s in range(S):
            a = arr[s]
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, numbers.Integral):
                raise InvalidPolicyError(f"{name}[{s}] = {a!r} is not an integer action index")
            a = int(a)
            if not 0 <= a < A:
                raise InvalidPolicyError(f"{name}[{s}] = {a} is out of range [0, {A})")
            if not m.mask[s][a]:
                raise InvalidPolicyError(f"{name}[{s}] = {a} is a masked action (action_mask[{s}, {a}] is False)")
            out.append([(a, Fraction(1))])
        return out
    if arr.ndim == 2:
        if arr.shape != (S, A):
            raise InvalidPolicyError(f"a stochastic policy must have shape (S, A) = ({S}, {A}), got {arr.shape}")
        W = _convert(arr, mode, name, InvalidPolicyError)
        out = []
        for s in range(S):
            row = []
            for a in range(A):
                w = W[s, a]
                if w < 0:
                    raise InvalidPolicyError(f"{name}[{s}, {a}] = {w} is negative; probabilities must be >= 0")
                if w and not m.mask[s][a]:
                    raise InvalidPolicyError(
                        f"{name}[{s}, {a}] = {w} puts weight on a masked action (action_mask[{s}, {a}] is False)"
                    )
                if w:
                    row.append((a, w))
            total = sum((w for _, w in row), Fraction(0))
            if total != 1:
                raise InvalidPolicyError(
                    f"{name}[{s}, :] sums to exactly {total} (= {float(total)!r}); expected exactly 1 "
                    f"in rational arithmetic (mode={mode!r})"
                )
            out.append(row)
        return out
    raise InvalidPolicyError(f"{name} must have shape (S,) or (S, A), got {arr.shape}")


# ---------------------------------------------------------------------------- linear algebra
def _gauss_jordan(M: list[list[Fraction]], b: list[Fraction]) -> list[Fraction] | None:
    """Solve ``M x = b`` exactly; None if ``M`` is singular.  Overwrites ``M`` and ``b``.

    Gauss-Jordan elimination pivoting on the first non-zero entry of each column (in exact
    arithmetic any non-zero pivot is as good as any other).
    """
    n = len(b)
    for col in range(n):
        piv = next((r for r in range(col, n) if M[r][col] != 0), None)
        if piv is None:
            return None
        if piv != col:
            M[col], M[piv] = M[piv], M[col]
            b[col], b[piv] = b[piv], b[col]
        rowc = M[col]
        inv = 1 / rowc[col]
        if inv != 1:
            for j in range(col, n):
                if rowc[j]:
                    rowc[j] *= inv
            b[col] *= inv
        nzc = [j for j in range(col + 1, n) if rowc[j]]
        bc = b[col]
        for r in range(n):
            if r == col:
                continue
            f = M[r][col]
            if f:
                rowr = M[r]
                rowr[col] = Fraction(0)
                for j in nzc:
                    rowr[j] -= f * rowc[j]
                if bc:
                    b[r] -= f * bc
    return b


def _closed_classes(P_pi: list[dict[int, Fraction]]) -> list[set[int] | None]:
    """For each state, its closed communicating class under ``P_pi``, or None if transient."""
    from mdpkit.structure import closed_class_of_each_state

    return closed_class_of_each_state([[t for t, p in row.items() if p != 0] for row in P_pi])


def _evaluate(m: _ExactModel, pi: list[list[tuple[int, Fraction]]]) -> list[Fraction]:
    S, g = m.S, m.gamma
    P_pi: list[dict[int, Fraction]] = []
    r_pi: list[Fraction] = []
    for s in range(S):
        row: dict[int, Fraction] = {}
        r = Fraction(0)
        for a, w in pi[s]:
            r += w * m.R[s][a]
            for t, p in m.rows[s][a]:
                row[t] = row.get(t, Fraction(0)) + w * p
        P_pi.append(row)
        r_pi.append(r)

    if g < 1:
        states = list(range(S))
        v = [Fraction(0)] * S
    else:
        # total reward: I - P_pi is singular on every closed class; the value is finite iff each
        # closed class earns zero reward in every state, and is then 0 there
        classes = _closed_classes(P_pi)
        for s in range(S):
            if classes[s] is not None and r_pi[s] != 0:
                cls = sorted(classes[s])
                raise ImproperPolicyError(
                    f"gamma = 1 but under this policy state {s} lies in the closed recurrent class {cls} "
                    f"and earns r_pi[{s}] = {r_pi[s]} != 0, so the total reward is not finite; with gamma = 1 "
                    "every recurrent class must earn zero reward (I - P_pi is singular otherwise)"
                )
        states = [s for s in range(S) if classes[s] is None]
        v = [Fraction(0)] * S
    if not states:
        return v
    pos = {s: i for i, s in enumerate(states)}
    n = len(states)
    M = [[Fraction(0)] * n for _ in range(n)]
    b = []
    for i, s in enumerate(states):
        M[i][i] = Fraction(1)
        for t, p in P_pi[s].items():
            j = pos.get(t)
            if j is not None:  # transitions into zero-value closed classes contribute 0
                M[i][j] -= g * p
        b.append(r_pi[s])
    x = _gauss_jordan(M, b)
    if x is None:  # impossible: gamma < 1 gives a strictly diagonally dominant matrix,
        # and the transient block of a stochastic matrix has spectral radius < 1
        raise RuntimeError("internal error in mdpkit.solvers.exact: singular system; please report")
    for i, s in enumerate(states):
        v[s] = x[i]
    return v


def _q_values(m: _ExactModel, v: list[Fraction]) -> list[list[Fraction | None]]:
    g = m.gamma
    q: list[list[Fraction | None]] = []
    for s in range(m.S):
        qs: list[Fraction | None] = []
        for a in range(m.A):
            if not m.mask[s][a]:
                qs.append(None)
                continue
            acc = Fraction(0)
            for t, p in m.rows[s][a]:
                if v[t]:
                    acc += p * v[t]
            qs.append(m.R[s][a] + g * acc)
        q.append(qs)
    return q


def _obj_vector(x) -> np.ndarray:
    out = np.empty(len(x), dtype=object)
    for i, xi in enumerate(x):
        out[i] = xi
    return out


def _obj_matrix(q) -> np.ndarray:
    out = np.empty((len(q), len(q[0]) if q else 0), dtype=object)
    for s, row in enumerate(q):
        for a, x in enumerate(row):
            out[s, a] = x
    return out


def _ceil_float(x: Fraction) -> float:
    f = float(x)
    return math.nextafter(f, math.inf) if Fraction(f) < x else f


# ---------------------------------------------------------------------------- public API
def exact_policy_evaluation(
    mdp_or_P: TabularMDP | ArrayLike,
    policy: ArrayLike,
    R: ArrayLike | None = None,
    gamma: Any = None,
    *,
    mode: str = "decimal",
    action_mask: ArrayLike | None = None,
) -> NDArray[np.object_]:
    r"""Exact value of a policy: solve :math:`(I - \gamma P_\pi) v = r_\pi` in rationals.

    With :math:`P_\pi(s, s') = \sum_a \pi(a|s) P(s, a, s')` and
    :math:`r_\pi(s) = \sum_a \pi(a|s) R(s, a)`, the value :math:`v_\pi` is the unique solution
    of the linear system for :math:`\gamma < 1` [2]_ (Thm 6.1.1).  It is computed by
    Gauss-Jordan elimination over :class:`~fractions.Fraction`, so the result is exact for the
    model *as read* (see ``mode``).

    Parameters
    ----------
    mdp_or_P : TabularMDP, or array_like of shape (S, A, S)
        A :class:`~mdpkit.model.TabularMDP` (dense or CSR; its floats are converted with
        ``mode``), or exact transition probabilities ``P[s, a, s']`` as nested lists or object
        arrays of Fractions, ints, strings (``"1/3"``) or floats (read with ``mode``).
    policy : array_like of int, shape (S,); or array_like of shape (S, A)
        Deterministic action indices, or a stochastic policy ``pi[s, a]`` whose rows are
        non-negative exact numbers summing to exactly 1 (no weight on masked actions).
    R : array_like of shape (S, A), optional
        Expected one-step rewards in reward units; required with raw ``P``, omitted with a
        ``TabularMDP``.
    gamma : Fraction, str, int or float, optional
        Discount factor in ``[0, 1]``; required with raw ``P``, omitted with a ``TabularMDP``.
        ``gamma == 1`` (total reward) is accepted when every closed recurrent class of
        :math:`P_\pi` earns zero reward in each of its states (e.g. absorbing zero-reward
        terminal states reached from the others): the value is then 0 on those classes and the
        unique solution of the non-singular transient system elsewhere.
    mode : {"decimal", "binary"}, default "decimal"
        How floats are read: shortest decimal (``0.1 -> 1/10``) or exact binary value.
    action_mask : array_like of bool, shape (S, A), optional
        Available actions with raw ``P`` (all if omitted); masked rows of ``P`` are not used
        and not checked beyond non-negativity.  Omitted with a ``TabularMDP``.

    Returns
    -------
    ndarray of object (Fraction), shape (S,)
        The exact value :math:`v_\pi`, in reward units.

    Raises
    ------
    InvalidMDPError
        Wrong shapes, an entry that is not an exact or finite number, a negative probability
        ``P[s, a, s']``, an available row ``P[s, a, :]`` not summing to exactly 1 (the message
        gives the exact sum), ``gamma`` outside ``[0, 1]``, a state with no available action.
    InvalidPolicyError
        Wrong shape, a non-integer, out-of-range or masked action, or a stochastic row that is
        negative, weights a masked action or does not sum to exactly 1.
    ImproperPolicyError
        ``gamma == 1`` and a closed recurrent class of :math:`P_\pi` earns non-zero reward
        (the total reward is not finite and :math:`I - P_\pi` is singular).
    InvalidArgumentError
        Unknown ``mode``; ``R``, ``gamma`` or ``action_mask`` given with a ``TabularMDP``, or
        missing with raw ``P``.

    Notes
    -----
    Cost: :math:`O(S^3)` Fraction operations whose numerators and denominators grow with
    ``S``; meant for ``S`` up to about 50.

    References
    ----------
    .. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 6.1.

    Examples
    --------
    >>> P = [[["1/2", "1/2"]], [[0, 1]]]
    >>> exact_policy_evaluation(P, [0, 0], R=[[1], [0]], gamma="1/2").tolist()
    [Fraction(4, 3), Fraction(0, 1)]
    """
    mode = _check_mode(mode)
    m = _exact_model(mdp_or_P, R, gamma, action_mask, mode)
    pi = _policy_rows(policy, m, mode)
    return _obj_vector(_evaluate(m, pi))


def exact_policy_iteration(
    mdp_or_P: TabularMDP | ArrayLike,
    R: ArrayLike | None = None,
    gamma: Any = None,
    *,
    policy0: ArrayLike | None = None,
    mode: str = "decimal",
    max_iter: int | None = None,
    action_mask: ArrayLike | None = None,
) -> ExactResult:
    r"""Howard's policy iteration in exact rational arithmetic; returns an exactly optimal policy.

    Each iteration evaluates the current deterministic policy :math:`\pi_k` exactly
    (:func:`exact_policy_evaluation`), forms :math:`q = R + \gamma P v_{\pi_k}` exactly, and
    switches the action in state ``s`` only on *strict* improvement,
    :math:`\max_a q(s, a) > q(s, \pi_k(s))`, to the lowest-index maximiser.  Keeping the
    current action on ties makes the values strictly increase until the policy is stable, so
    the algorithm stops after finitely many iterations with an optimal policy [2]_
    (Prop. 6.4.1, Thm 6.4.2).  At the end the Bellman optimality equations
    :math:`\max_a q(s, a) = v(s)` are verified with exact equality.

    Parameters
    ----------
    mdp_or_P : TabularMDP, or array_like of shape (S, A, S)
        The model; see :func:`exact_policy_evaluation` for the exact-input form.
    R : array_like of shape (S, A), optional
        Rewards in reward units; with raw ``P`` only.
    gamma : Fraction, str, int or float, optional
        Discount factor in ``[0, 1)``; with raw ``P`` only.
    policy0 : array_like of int, shape (S,), optional
        Initial deterministic policy.  Default: greedy for the one-step reward ``R`` (the
        greedy policy of :math:`v = 0`), lowest index on ties.
    mode : {"decimal", "binary"}, default "decimal"
        How floats are read: shortest decimal (``0.1 -> 1/10``) or exact binary value.
    max_iter : int, optional
        Maximum number of improvement steps; unlimited if omitted (PI always terminates, after
        at most :math:`\prod_s |A_s|` steps).
    action_mask : array_like of bool, shape (S, A), optional
        Available actions with raw ``P``; omitted with a ``TabularMDP``.

    Returns
    -------
    ExactResult
        ``v`` and ``v_policy`` (S,) float64: the value of ``policy`` (equal to :math:`v^*` when
        converged), each the correctly rounded float of the exact value, with ``v_error_bound``
        the exact rounding error (plus the residual bound when not converged), rounded up;
        ``q`` (S, A) float64 with ``-inf`` on masked actions; ``policy`` (S,) int64.
        ``n_iter`` is the number of improvement steps, including the last one that changed
        nothing; ``residuals`` (n_iter,) the exact Bellman residual
        :math:`\max_s \max_a q(s,a) - v_{\pi_k}(s)` of each evaluated policy, rounded up (0 at the
        end when converged); ``n_changed`` (n_iter,) the states whose action changed.
        ``certificate.value`` is 0.0 when converged (exact optimality).  ``v_exact`` (S,) and
        ``q_exact`` (S, A) are object arrays of Fractions (``None`` on masked actions);
        ``gamma_exact`` the Fraction read.

    Raises
    ------
    InvalidMDPError
        As :func:`exact_policy_evaluation`; also ``gamma == 1``: with total reward a policy can
        satisfy the optimality equations without being optimal (negative models, Puterman 1994
        Ch. 7), so stability would not certify optimality.
    InvalidPolicyError
        ``policy0`` is not a valid deterministic policy.
    InvalidArgumentError
        Unknown ``mode``, ``max_iter < 1``, misplaced or missing ``R``/``gamma``/``action_mask``.
    RuntimeError
        If the final exact optimality check fails (an internal error; should never happen).

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` improvement steps pass before the policy is stable; the result then has
        ``converged=False``, ``status=Status.MAX_ITER``, the exact value of the last policy,
        and certificate :math:`\|T v_\pi - v_\pi\|_\infty / (1 - \gamma)` (computed
        exactly, rounded up).

    Notes
    -----
    Cost per iteration: an exact :math:`O(S^3)` solve plus :math:`O(S^2 A)` for ``q``, in
    Fractions whose sizes grow with ``S`` and with the denominators of the inputs; meant for
    ``S`` up to about 50.  "Optimal" is exact for the model as read under ``mode``.

    References
    ----------
    .. [1] R. A. Howard, *Dynamic Programming and Markov Processes*, MIT Press, 1960.
    .. [2] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
       Programming*, Wiley, 1994, Sec. 6.4 (Prop. 6.4.1, Thm 6.4.2).

    Examples
    --------
    >>> P = [[["1/2", "1/2"], [0, 1]], [[0, 1], [0, 1]]]
    >>> res = exact_policy_iteration(P, R=[[5, 10], [-1, 0]], gamma="19/20",
    ...                              action_mask=[[True, True], [True, False]])
    >>> res.policy.tolist(), res.v_exact.tolist()
    ([0, 0], [Fraction(-60, 7), Fraction(-20, 1)])
    """
    t0 = time.perf_counter()
    mode = _check_mode(mode)
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
    m = _exact_model(mdp_or_P, R, gamma, action_mask, mode)
    if m.gamma == 1:
        raise InvalidMDPError(
            "exact_policy_iteration needs gamma < 1, got gamma = 1: with total reward a policy can satisfy "
            "the Bellman optimality equations without being optimal, so a stable policy would not be "
            "certified (use exact_policy_evaluation for the total reward of a fixed policy)"
        )
    S, A = m.S, m.A

    if policy0 is None:
        pol = []
        for s in range(S):
            avail = [a for a in range(A) if m.mask[s][a]]
            best = max(m.R[s][a] for a in avail)
            pol.append(next(a for a in avail if m.R[s][a] == best))
        policy0_opt: Any = "greedy in R (lowest index on ties)"
    else:
        pol = [pr[0][0] for pr in _policy_rows(_as_det(policy0), m, mode, "policy0")]
        policy0_opt = list(pol)

    changes: list[int] = []
    gaps: list[Fraction] = []
    converged = False
    while True:
        v = _evaluate(m, [[(a, Fraction(1))] for a in pol])
        q = _q_values(m, v)
        gaps.append(max(max(x for x in q[s] if x is not None) - v[s] for s in range(S)))
        if max_iter is not None and len(changes) == max_iter:
            break  # the last policy is evaluated but not improved
        new = []
        for s in range(S):
            qs = q[s]
            best = max(x for x in qs if x is not None)
            cur = pol[s]
            new.append(cur if qs[cur] == best else next(a for a in range(A) if qs[a] == best))
        n_changed = sum(1 for s in range(S) if new[s] != pol[s])
        changes.append(n_changed)
        if n_changed == 0:
            converged = True
            break
        pol = new

    gap = gaps[-1]
    if converged and gap != 0:
        raise RuntimeError(
            "internal error in mdpkit.solvers.exact: the stable policy fails the exact Bellman optimality "
            f"check (max_s [max_a q(s, a) - v(s)] = {gap}); please report"
        )

    v_f = np.array([float(x) for x in v], dtype=np.float64)
    q_f = np.array([[float(x) if x is not None else -np.inf for x in row] for row in q], dtype=np.float64)
    options = {
        "mode": mode,
        "max_iter": max_iter,
        "policy0": policy0_opt,
        "tie_break": "keep the current action on ties, else the lowest index",
        "gamma": str(m.gamma),
        "input": m.source,
        "R_given": R is not None,
        "action_mask_given": action_mask is not None,
    }
    # v_f estimates v*: exact when converged, else within the exact residual bound; plus rounding
    rounding = max((abs(Fraction(float(x)) - x) for x in v), default=Fraction(0))
    if converged:
        certificate = Bound(0.0, BoundKind.DETERMINISTIC, _PI_CITATION,
                            statement="policy stable under exact strict-improvement PI: optimal")
        message = f"policy stable after {len(changes)} improvement steps; Bellman optimality equations hold exactly"
        v_err = _ceil_float(rounding)
    else:
        certificate = Bound(_ceil_float(gap / (1 - m.gamma)), BoundKind.DETERMINISTIC, _RESIDUAL_CITATION,
                            statement="||v* - v_pi||_inf <= ||T v_pi - v_pi||_inf / (1 - gamma), computed exactly")
        message = f"max_iter={max_iter} improvement steps reached before the policy was stable"
        v_err = _ceil_float(gap / (1 - m.gamma) + rounding)
    return build_result(
        None,
        cls=ExactResult,
        v=v_f,
        v_error_bound=v_err,
        policy=np.array(pol, dtype=np.int64),
        certificate=certificate,
        converged=converged,
        n_iter=len(changes),
        residuals=np.array([_ceil_float(g) for g in gaps[:len(changes)]], dtype=np.float64),
        method="exact_policy_iteration",
        options=options,
        t0=t0,
        message=message,
        v_policy=v_f.copy(),
        q=q_f,
        v_exact=_obj_vector(v),
        q_exact=_obj_matrix(q),
        gamma_exact=m.gamma,
        n_changed=np.array(changes, dtype=np.int64),
    )


def _as_det(policy0):
    arr = _object_array(policy0, "policy0", InvalidPolicyError)
    if arr.ndim != 1:
        raise InvalidPolicyError(f"policy0 must be a deterministic policy of shape (S,), got shape {arr.shape}")
    return arr

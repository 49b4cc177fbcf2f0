"""Shared plumbing of the solvers: argument checks, warnings and result assembly."""

from __future__ import annotations

import functools
import os
import sys
import time
import warnings

import numpy as np

import mdpkit
from mdpkit._exceptions import ConvergenceWarning, InvalidArgumentError
from mdpkit._validation import as_float_array, check_int, check_positive
from mdpkit.model import TabularMDP
from mdpkit.policies import check_policy, policy_evaluation
from mdpkit.results import SolveResult, Status

_PKG_DIRS = tuple(
    os.path.dirname(os.path.abspath(p)) + os.sep
    for p in (mdpkit.__file__, __file__)
)


def user_stacklevel() -> int:
    """stacklevel that points ``warnings.warn`` at the first frame outside mdpkit."""
    level = 1
    f = sys._getframe(1)
    while f is not None and os.path.abspath(f.f_code.co_filename).startswith(_PKG_DIRS):
        f = f.f_back
        level += 1
    return level


def warn_not_converged(method: str, n_iter: int, detail: str) -> None:
    warnings.warn(
        f"{method} stopped at max_iter={n_iter} before its stopping rule held ({detail}); "
        "result.converged is False",
        ConvergenceWarning,
        stacklevel=user_stacklevel(),
    )


def check_mdp(mdp) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise InvalidArgumentError(f"mdp must be a TabularMDP, got {type(mdp).__name__}")
    return mdp


def check_common(epsilon, max_iter):
    return check_positive(epsilon, "epsilon"), check_int(max_iter, "max_iter", minimum=1)


def initial_v(mdp: TabularMDP, v0) -> np.ndarray:
    if v0 is None:
        return np.zeros(mdp.S)
    v = as_float_array(v0, "v0", 1, exc=InvalidArgumentError)
    if v.shape != (mdp.S,):
        raise InvalidArgumentError(f"v0 must have shape (S,) = ({mdp.S},), got {v.shape}")
    return v


def initial_policy(mdp: TabularMDP, policy0):
    if policy0 is None:
        return None
    pi = check_policy(mdp, policy0)
    if pi.ndim != 1:
        raise InvalidArgumentError("policy0 must be a deterministic policy of shape (S,)")
    return pi.copy()


def q_matrix(q1: np.ndarray, mask1: np.ndarray, S: int, A: int) -> np.ndarray:
    """Kernel q rows ``(S*A,)`` as the ``(S, A)`` matrix users read, ``-inf`` on masked actions."""
    q = q1.copy()
    q[~mask1] = -np.inf
    return q.reshape(S, A)


def bracket_midpoint(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float]:
    """Midpoint of a certified per-state bracket ``lo <= x <= hi`` and its certified sup error.

    The half-width is widened by a few ulps of the largest value so that rounding in the
    midpoint itself cannot break the guarantee.
    """
    mid = lo + 0.5 * (hi - lo)
    if mid.size == 0:
        return mid, 0.0
    half = 0.5 * float(np.max(hi - lo))
    slack = 4.0 * float(np.spacing(max(float(np.max(np.abs(lo))), float(np.max(np.abs(hi))))))
    return mid, half + slack


def build_result(
    mdp: TabularMDP | None,
    *,
    v,
    v_error_bound: float,
    policy,
    certificate,
    converged: bool,
    n_iter: int,
    residuals,
    method: str,
    options: dict,
    t0: float,
    cls: type = SolveResult,
    message: str | None = None,
    status: Status | None = None,
    v_policy=None,
    policy_evaluator=None,
    **fields,
) -> SolveResult:
    """Assemble a result of the family ``cls`` (the one place that does it).

    ``t0`` is the ``time.perf_counter()`` taken on entry to the public call, so ``wall_time``
    covers the whole call.  When ``v_policy`` is not given and the model is discounted, it is
    computed on first access by an exact linear solve started from ``v`` (a Krylov start a
    certified distance away), or by ``policy_evaluator()`` when given (e.g. the average-reward
    relative value); ``mdp`` may be None only when ``v_policy`` or ``policy_evaluator`` is given.  Arrays are
    made read-only.  Warns ``ConvergenceWarning`` when
    the solver stopped at ``max_iter``.
    """
    if status is None:
        status = Status.CONVERGED if converged else Status.MAX_ITER
    if message is None:
        head = f"converged in {n_iter} iterations" if converged else f"max_iter={options.get('max_iter')} reached"
        message = f"{head}; certified suboptimality <= {certificate.value:.3g}; |v - v_true| <= {v_error_bound:.3g}"
    evaluator = policy_evaluator
    if (evaluator is None and v_policy is None and mdp is not None and isinstance(policy, np.ndarray) and policy.ndim == 1 and mdp.gamma < 1.0):
        v_start = v if isinstance(v, np.ndarray) and v.shape == (mdp.S,) and np.all(np.isfinite(v)) else None
        # a partial of a module-level function, not a closure: results stay picklable (joblib, dask)
        evaluator = functools.partial(policy_evaluation, mdp, policy, v0=v_start)
    for arr in (v, policy, residuals, v_policy, *fields.values()):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    res = cls(
        v=v,
        v_error_bound=float(v_error_bound),
        policy=policy,
        certificate=certificate,
        converged=bool(converged),
        status=status,
        message=message,
        n_iter=int(n_iter),
        residuals=residuals,
        method=method,
        options=dict(options),
        wall_time=float(time.perf_counter() - t0),
        _v_policy=v_policy,
        _evaluate_policy=evaluator,
        **fields,
    )
    if not converged and status == Status.MAX_ITER:
        warn_not_converged(method, n_iter, f"last residual {residuals[-1]:.3g}" if len(residuals) else "")
    return res

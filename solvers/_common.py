"""Shared plumbing of the solvers: argument checks, warnings and result assembly."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

import mdpkit
from mdpkit._exceptions import ConvergenceWarning, InvalidArgumentError
from mdpkit._validation import as_float_array, check_int, check_positive
from mdpkit.model import TabularMDP
from mdpkit.policies import check_policy, policy_evaluation
from mdpkit.results import SolveResult, Status

#: Models up to this many states get ``v_policy`` (an exact linear solve) by default.
EVALUATE_POLICY_MAX_S = 10_000

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


def resolve_evaluate(mdp: TabularMDP, evaluate_policy) -> bool:
    if evaluate_policy is None:
        return mdp.S <= EVALUATE_POLICY_MAX_S
    return bool(evaluate_policy)


def build_result(
    mdp: TabularMDP,
    *,
    v,
    policy,
    converged: bool,
    n_iter: int,
    residuals,
    bound,
    method: str,
    options: dict,
    wall_time: float,
    evaluate: bool,
    q=None,
    v_policy=None,
    v_lower=None,
    v_upper=None,
    extra=None,
    message: str | None = None,
    status: Status | None = None,
) -> SolveResult:
    """Assemble a SolveResult; warns ConvergenceWarning when not converged."""
    if status is None:
        status = Status.CONVERGED if converged else Status.MAX_ITER
    if message is None:
        message = (
            f"converged in {n_iter} iterations; certified suboptimality <= {bound.value:.3g}"
            if converged
            else f"max_iter={options.get('max_iter')} reached; certified suboptimality <= {bound.value:.3g}"
        )
    v_pi = v_policy
    if v_pi is None and evaluate and mdp.gamma < 1.0:
        # the solver's v is within its certified bound of v_pi: a Krylov start a few steps away
        v0 = v if isinstance(v, np.ndarray) and v.shape == (mdp.S,) and np.all(np.isfinite(v)) else None
        v_pi = policy_evaluation(mdp, policy, v0=v0)
    for arr in (v, policy, residuals, q, v_lower, v_upper, v_pi):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False
    res = SolveResult(
        v=v,
        policy=policy,
        converged=bool(converged),
        status=status,
        message=message,
        n_iter=int(n_iter),
        residuals=residuals,
        error_bound=float(bound.value),
        bound_source=f"{bound.statement} [{bound.citation}]",
        method=method,
        options=dict(options),
        wall_time=float(wall_time),
        v_policy=v_pi,
        q=q,
        v_lower=v_lower,
        v_upper=v_upper,
        extra=dict(extra or {}),
    )
    if not converged and status == Status.MAX_ITER:
        warn_not_converged(method, n_iter, f"last residual {residuals[-1]:.3g}" if len(residuals) else "")
    return res

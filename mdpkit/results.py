"""Result records returned by every solver."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Status", "SolveResult"]


class Status(enum.IntEnum):
    """Why a solver stopped."""

    CONVERGED = 0  #: the stopping rule held (or the method is exact and finished)
    MAX_ITER = 1  #: ``max_iter`` was reached first
    CALLBACK_STOP = 2  #: a callback raised ``StopIteration``
    NUMERICAL = 3  #: a numerical failure (singular system, solver error)


@dataclass(frozen=True, eq=False)
class SolveResult:
    r"""What a planning solver returns.

    Attributes
    ----------
    v : ndarray of shape (S,), or (H+1, S) for finite horizon
        The solver's final value iterate (for exact methods, the optimal value).
    v_policy : ndarray of shape (S,) or None
        The exact value of ``policy`` (linear solve), or None when not computed.
    q : ndarray of shape (S, A) or None
        ``R + gamma * P v`` at the final iterate (masked actions hold ``-inf``).
    policy : ndarray of int64, shape (S,), or (H, S) for finite horizon
        The returned deterministic policy.
    converged : bool
        True when the stopping rule held (or the method is exact and finished).
    status : Status
    message : str
    n_iter : int
        Number of iterations; what one iteration is depends on ``method`` (documented by
        each solver).
    residuals : ndarray of shape (n_iter,)
        Per-iteration residual (sup-norm of the change, or the span where the solver says so).
    error_bound : float
        Certified upper bound on the suboptimality of ``policy``: ``max_s v*(s) - v_pi(s)``
        (discounted / total reward, in reward units) or ``g* - g_pi`` (average reward).
    bound_source : str
        The theorem the bound rests on.
    method : str
    options : dict
        Every resolved setting (tolerances, ``max_iter``, seeds).
    wall_time : float
        Seconds spent in the solver.
    v_lower, v_upper : ndarray of shape (S,) or None
        Certified bracket ``v_lower <= v* <= v_upper`` when the method provides one
        (MacQueen-Porteus bounds).
    extra : dict
        Method-specific outputs (e.g. ``gain`` and ``bias`` for average reward, ``occupancy``
        for the LP dual).
    """

    v: np.ndarray
    policy: np.ndarray
    converged: bool
    status: Status
    message: str
    n_iter: int
    residuals: np.ndarray
    error_bound: float
    bound_source: str
    method: str
    options: dict
    wall_time: float
    v_policy: np.ndarray | None = None
    q: np.ndarray | None = None
    v_lower: np.ndarray | None = None
    v_upper: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of every field (arrays kept as arrays, ``status`` as its name)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["status"] = self.status.name
        return d

    def __repr__(self) -> str:
        names = [f.name for f in dataclasses.fields(self)]
        w = max(map(len, names))
        lines = []
        for n in names:
            val = getattr(self, n)
            if isinstance(val, np.ndarray):
                s = np.array2string(val, threshold=8, edgeitems=3, precision=6)
                s = s.replace("\n", " ")
                if val.ndim > 1 or val.size > 8:
                    s = f"array{val.shape} {s}"
            elif isinstance(val, dict):
                s = "{" + ", ".join(
                    f"{k!r}: " + (f"array{x.shape}" if isinstance(x, np.ndarray) else repr(x)) for k, x in val.items()
                ) + "}"
            else:
                s = repr(val)
            lines.append(f"{n.rjust(w)}: {s}")
        return "SolveResult(\n" + "\n".join(lines) + "\n)"

r"""Two-player zero-sum Markov games (Shapley 1953), validated and immutable.

A discounted zero-sum Markov game is :math:`(S, A_1, A_2, P, R, \gamma)`: in state :math:`s` the
players choose :math:`a\in A_1`, :math:`b\in A_2` simultaneously, player 1 (the maximizer)
receives ``R[s, a, b]`` from player 2 (the minimizer) and the state moves to
:math:`s'\sim` ``P[s, a, b, :]``.  Turn-based (perfect-information) games are the special case
where in every state one player has a single action.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._exceptions import InvalidMDPError
from ._validation import ROW_SUM_ATOL, as_float_array, check_distribution, check_gamma, first_index, readonly

__all__ = ["ZeroSumMarkovGame"]


@dataclass(frozen=True, eq=False)
class ZeroSumMarkovGame:
    r"""A discounted two-player zero-sum Markov game.

    Parameters
    ----------
    P : array_like of shape (S, A1, A2, S)
        ``P[s, a, b, s'] = Pr(s' | s, a, b)``; every row a distribution within ``atol``.
    R : array_like of shape (S, A1, A2)
        Expected payoff to player 1 (the maximizer), reward units.
    gamma : float
        Discount in ``[0, 1)``.
    mu0 : array_like of shape (S,), optional
        Initial distribution (uniform if omitted).
    atol : float
        Row-sum tolerance (nothing is renormalised).

    Raises
    ------
    InvalidMDPError
        Wrong shapes, non-finite entries, negative probabilities, rows off the simplex, gamma
        outside [0, 1).
    """

    P: np.ndarray
    R: np.ndarray
    gamma: float
    mu0: np.ndarray | None = None
    name: str = ""
    atol: float = field(default=ROW_SUM_ATOL, repr=False)

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("gamma", check_gamma(self.gamma, allow_one=False))
        P = as_float_array(self.P, "P", 4)
        S, A1, A2, S2 = P.shape
        if S2 != S or min(S, A1, A2) < 1:
            raise InvalidMDPError(f"P must have shape (S, A1, A2, S) with S, A1, A2 >= 1, got {P.shape}")
        if np.any(P < 0):
            idx = first_index(P < 0)
            raise InvalidMDPError(f"P[{', '.join(map(str, idx))}] = {float(P[idx])!r} is negative")
        sums = P.sum(axis=3)
        bad = np.abs(sums - 1.0) > float(self.atol)
        if bad.any():
            s, a, b = first_index(bad)
            raise InvalidMDPError(f"P[{s}, {a}, {b}, :] sums to {float(sums[s, a, b])!r}; expected 1 within atol={self.atol:g}")
        R = as_float_array(self.R, "R", 3)
        if R.shape != (S, A1, A2):
            raise InvalidMDPError(f"R must have shape (S, A1, A2) = ({S}, {A1}, {A2}), got {R.shape}")
        if self.mu0 is None:
            mu0 = np.full(S, 1.0 / S)
        else:
            mu0 = as_float_array(self.mu0, "mu0", 1)
            if mu0.shape != (S,):
                raise InvalidMDPError(f"mu0 must have shape (S,) = ({S},), got {mu0.shape}")
            check_distribution(mu0, "mu0", float(self.atol))
        set_("P", readonly(np.ascontiguousarray(P)))
        set_("R", readonly(np.ascontiguousarray(R)))
        set_("mu0", readonly(np.ascontiguousarray(mu0)))

    @property
    def S(self) -> int:
        return int(self.P.shape[0])

    @property
    def A1(self) -> int:
        return int(self.P.shape[1])

    @property
    def A2(self) -> int:
        return int(self.P.shape[2])

    def stage_matrix(self, v) -> np.ndarray:
        r"""Stage games :math:`M_s(a, b) = R(s,a,b) + \gamma\sum_{s'}P(s'|s,a,b)v(s')`, shape (S, A1, A2)."""
        vv = np.asarray(v, dtype=np.float64)
        if vv.shape != (self.S,):
            raise InvalidMDPError(f"v must have shape (S,) = ({self.S},), got {vv.shape}")
        return self.R + self.gamma * (self.P @ vv)

r"""Finite-horizon dynamic programming (backward induction)."""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from mdpkit._exceptions import InvalidArgumentError
from mdpkit._kernels import bellman, model_args
from mdpkit._exceptions import InvalidMDPError
from mdpkit._validation import VALUE_SCALE_LIMIT, as_float_array, check_int, check_memory
from mdpkit.bounds import Bound, BoundKind
from mdpkit.model import TabularMDP
from mdpkit.results import FiniteHorizonResult

from ._common import build_result

__all__ = ["backward_induction"]


def backward_induction(
    mdp: TabularMDP | Sequence[TabularMDP],
    horizon: int | None = None,
    *,
    terminal_value=None,
) -> FiniteHorizonResult:
    r"""Backward induction for a finite-horizon MDP, time-homogeneous or time-varying.

    Computes :math:`v_H = v_{\text{term}}` and, for :math:`t = H-1, \dots, 0`,
    :math:`v_t(s) = \max_a R_t(s,a) + \gamma \sum_{s'} P_t(s'|s,a) v_{t+1}(s')`; the greedy
    actions form an optimal Markov policy (Bellman's principle of optimality; Puterman 1994,
    Thm 4.5.1).  The result is exact (no iteration error), so the certificate is 0 and
    ``v_error_bound`` only bounds float64 rounding.

    Parameters
    ----------
    mdp : TabularMDP or sequence of H TabularMDP
        One model (time-homogeneous ``P``, ``R``) used at every step, or one model per step
        ``t = 0..H-1`` (time-varying ``P_t``, ``R_t``; same S and A, same gamma).
        ``gamma`` may be 1.
    horizon : int
        Number of decision epochs ``H >= 0``; required for a single model, must equal
        ``len(mdp)`` (or be omitted) for a sequence.
    terminal_value : array_like of shape (S,), optional
        Terminal reward :math:`v_H`; zeros if omitted.

    Returns
    -------
    FiniteHorizonResult
        ``v`` (H+1, S) optimal values with ``v[H]`` the terminal value (``v_policy`` is
        ``v[0]``); ``v_error_bound`` the float64 rounding bound; ``policy`` (H, S) int64;
        ``q`` (H, S, A) (masked actions ``-inf``); ``n_iter = H``; ``residuals`` empty.

    Raises
    ------
    InvalidArgumentError
        Bad horizon, mismatched models or terminal value.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 4.5.
    """
    t0 = time.perf_counter()
    if isinstance(mdp, TabularMDP):
        if horizon is None:
            raise InvalidArgumentError("horizon is required when a single (time-homogeneous) model is given")
        H = check_int(horizon, "horizon", minimum=0)
        # v (H+1, S), policy (H, S), q (H, S, A), and one list slot per step
        check_memory(8.0 * ((H + 1) * mdp.S + H * mdp.S + H * mdp.S * mdp.A + H),
                     f"backward_induction with horizon={H:,}, S={mdp.S}, A={mdp.A}")
        models = [mdp] * H
        base = mdp
    else:
        models = list(mdp)
        if not models or not all(isinstance(m, TabularMDP) for m in models):
            raise InvalidArgumentError("mdp must be a TabularMDP or a non-empty sequence of TabularMDP")
        H = len(models)
        if horizon is not None and check_int(horizon, "horizon", minimum=0) != H:
            raise InvalidArgumentError(f"horizon={horizon} but {H} per-step models were given")
        base = models[0]
        for t, m in enumerate(models):
            if (m.S, m.A) != (base.S, base.A) or m.gamma != base.gamma:
                raise InvalidArgumentError(
                    f"model {t} has S={m.S}, A={m.A}, gamma={m.gamma}; model 0 has "
                    f"S={base.S}, A={base.A}, gamma={base.gamma}"
                )
    S, A = base.S, base.A
    tv = None
    if terminal_value is not None:
        tv = as_float_array(terminal_value, "terminal_value", 1, exc=InvalidArgumentError)
        if tv.shape != (S,):
            raise InvalidArgumentError(f"terminal_value must have shape (S,) = ({S},), got {tv.shape}")
    # |v_t| <= |v_H| + (H - t) max|R| (also <= max|R|/(1-gamma) + |v_H| when gamma < 1): refuse overflow
    g = base.gamma
    rmax = max(float(np.max(np.abs(m.R[m.action_mask]))) for m in (models if len(models) < 64 else set(models)) or [base])
    tmax = 0.0 if tv is None else float(np.max(np.abs(tv)))
    bound = tmax + rmax * (H if g == 1.0 else min(float(H), 1.0 / (1.0 - g)))
    if not bound <= VALUE_SCALE_LIMIT:
        raise InvalidMDPError(
            f"values would overflow float64: |v| may reach max|v_H| + H max|R| = {bound:.3g} with H={H}, "
            f"max|R| = {rmax:.3g}, above {VALUE_SCALE_LIMIT:g}; rescale the rewards"
        )
    v = np.zeros((H + 1, S))
    if tv is not None:
        v[H] = tv
    policy = np.zeros((H, S), dtype=np.int64)
    q_all = np.empty((H, S, A))
    q = np.empty(S * A)
    for t in range(H - 1, -1, -1):
        km = model_args(models[t])
        mask1 = km[6]
        bellman.bellman_q(km, base.gamma, v[t + 1], q)
        bellman.greedy_max(km, q, v[t], policy[t])
        q[~mask1] = -np.inf
        q_all[t] = q.reshape(S, A)
    certificate = Bound(0.0, BoundKind.DETERMINISTIC, "M. L. Puterman, Markov Decision Processes, Wiley 1994, Thm 4.5.1",
                        statement="backward induction is exact: v_0 = v*_0, greedy policy optimal")
    return build_result(
        base,
        cls=FiniteHorizonResult,
        v=v,
        v_error_bound=_rounding_bound(models, v, base.gamma),
        policy=policy,
        certificate=certificate,
        converged=True,
        n_iter=H,
        residuals=np.zeros(0),
        method="backward_induction",
        options=dict(horizon=H, time_varying=not isinstance(mdp, TabularMDP), terminal_value_given=terminal_value is not None),
        t0=t0,
        message=f"exact backward induction over H={H} steps",
        v_policy=v[0],
        q=q_all,
        horizon=H,
    )


def _rounding_bound(models, v, gamma) -> float:
    r"""Worst-case float64 rounding error of backward induction, in reward units.

    Each backup computes :math:`R + \gamma \sum_{s'} P v` with at most ``S + 2`` roundings, so its
    error is at most :math:`\gamma_{S+2}(|R| + \gamma \max|v_{t+1}|)` plus :math:`\gamma` times the
    error already in :math:`v_{t+1}`, with :math:`\gamma_n = nu/(1-nu)`, :math:`u = 2^{-53}`
    (Higham 2002, *Accuracy and Stability of Numerical Algorithms*, Sec. 3.1).
    """
    u = np.finfo(np.float64).eps / 2
    err = 0.0
    for t in range(len(models) - 1, -1, -1):
        n = models[t].S + 2
        gn = n * u / (1.0 - n * u)
        rmax = float(np.max(np.abs(models[t].R), initial=0.0))
        err = gn * (rmax + gamma * float(np.max(np.abs(v[t + 1]), initial=0.0))) + gamma * err
    return err

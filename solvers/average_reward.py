r"""Average-reward (gain) optimality: relative value iteration."""

from __future__ import annotations

import time

import numpy as np

from mdpkit import bounds
from mdpkit._exceptions import InvalidArgumentError, MultichainError
from mdpkit._kernels import bellman, model_args
from mdpkit._validation import check_int, check_positive
from mdpkit.model import TabularMDP
from mdpkit.results import SolveResult

from ._common import legacy_build_result as build_result, check_common, check_mdp, initial_v

__all__ = ["relative_value_iteration", "closed_classes"]


def closed_classes(mdp: TabularMDP) -> list[list[int]]:
    """Closed communicating classes of the graph "some available action moves s to s' w.p. > 0".

    Each class is closed under every action.  Two or more such classes mean every policy has
    at least two recurrent classes (the model is multichain).  Uses networkx's condensation.
    """
    import networkx as nx  # lazy

    S, A = mdp.S, mdp.A
    P = mdp.P_rows
    G = nx.DiGraph()
    G.add_nodes_from(range(S))
    if mdp.is_sparse:
        coo = P.tocoo()
        rows, cols = coo.row, coo.col
        keep = coo.data > 0
    else:
        rows, cols = np.nonzero(P > 0)
        keep = np.ones(rows.shape, dtype=bool)
    ok = keep & mdp.action_mask.ravel()[rows]
    G.add_edges_from(zip((rows[ok] // A).tolist(), cols[ok].tolist()))
    C = nx.condensation(G)
    sinks = [n for n in C.nodes if C.out_degree(n) == 0]
    return [sorted(C.nodes[n]["members"]) for n in sinks]


def relative_value_iteration(
    mdp: TabularMDP,
    *,
    epsilon: float = 1e-6,
    tau: float = 0.5,
    ref_state: int = 0,
    max_iter: int = 100_000,
    v0=None,
) -> SolveResult:
    r"""Relative value iteration for the average-reward criterion, with gain and bias.

    Runs :math:`w_{k+1} = \tilde T w_k - (\tilde T w_k)(s_{\text{ref}})` on the
    aperiodicity-transformed model :math:`\tilde P = \tau P + (1-\tau) I`, :math:`\tilde R = R`,
    which has the same gain and optimal policies, bias :math:`h = \tau \tilde h`, and an
    aperiodic chain under every policy (Puterman 1994, Sec. 8.5.4-8.5.5).  Stops when
    :math:`\operatorname{sp}(\tilde T w - w) < \varepsilon`; then
    :math:`\min(\tilde T w - w) \le g_\pi \le g^* \le \max(\tilde T w - w)`
    (:func:`mdpkit.bounds.gain_bracket`), so the greedy policy is :math:`\varepsilon`-gain-optimal.
    ``gamma`` of the model is ignored.

    Parameters
    ----------
    mdp : TabularMDP
        Must not have two closed classes (see :func:`closed_classes`).
    epsilon : float, default 1e-6
        Target gain suboptimality, reward units per step.
    tau : float in (0, 1], default 0.5
        Aperiodicity transform weight (``tau = 1`` means no transform).
    ref_state : int, default 0
        State whose relative value is pinned to 0.
    max_iter : int, default 100_000
    v0 : array_like (S,), optional

    Returns
    -------
    SolveResult
        ``v`` (S,) the bias estimate :math:`h` with :math:`h(s_{\text{ref}})=0`;
        ``policy`` (S,) greedy; ``residuals`` the spans :math:`\operatorname{sp}(\tilde Tw_k-w_k)`;
        ``error_bound`` the certified :math:`g^*-g_\pi`; ``extra["gain"]`` the midpoint of the
        bracket, ``extra["gain_lower"]``, ``extra["gain_upper"]``.  ``v_policy`` is None.

    Raises
    ------
    MultichainError
        If the model has two or more closed classes (the optimal gain may differ by state and
        RVI does not apply); the message names one state of each.
    InvalidArgumentError
        Bad ``epsilon``, ``tau``, ``ref_state``, ``max_iter`` or ``v0``.

    Warns
    -----
    ConvergenceWarning
        If ``max_iter`` is reached (e.g. a weakly communicating model whose optimal gain is not
        constant); the bracket still holds state-wise.

    References
    ----------
    .. [1] D. J. White, "Dynamic programming, Markov chains, and the method of successive
       approximations", J. Math. Anal. Appl. 6, 1963.
    .. [2] M. L. Puterman, *Markov Decision Processes*, Wiley, 1994, Sec. 8.5.
    """
    check_mdp(mdp)
    epsilon, max_iter = check_common(epsilon, max_iter)
    tau = check_positive(tau, "tau")
    if tau > 1.0:
        raise InvalidArgumentError(f"tau must lie in (0, 1], got {tau}")
    ref = check_int(ref_state, "ref_state", minimum=0)
    if ref >= mdp.S:
        raise InvalidArgumentError(f"ref_state must be < S={mdp.S}, got {ref}")
    classes = closed_classes(mdp)
    if len(classes) > 1:
        raise MultichainError(
            f"the model has {len(classes)} closed classes (e.g. states {classes[0][0]} and {classes[1][0]} "
            "can never reach each other under any policy): it is multichain and the optimal gain may differ "
            "by state; relative value iteration needs a unichain or communicating model"
        )
    v = initial_v(mdp, v0)
    t0 = time.perf_counter()
    sparse, P2, indptr, indices, data, R1, mask1, S, A = model_args(mdp)
    q = np.empty(S * A)
    v_new = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    spans = np.empty(max_iter)
    dmm = np.empty(2)
    n, converged = bellman.relative_value_iteration_loop(
        sparse, P2, indptr, indices, data, R1, mask1, S, A, tau, ref, v, epsilon, max_iter, q, v_new, pi, spans, dmm
    )
    bound = bounds.gain_bracket(dmm[0], dmm[1])
    h = tau * (v - v[ref])
    return build_result(
        mdp,
        v=h,
        policy=pi,
        converged=converged,
        n_iter=n,
        residuals=spans[:n].copy(),
        bound=bound,
        method="relative_value_iteration",
        options=dict(epsilon=epsilon, tau=tau, ref_state=ref, max_iter=max_iter, v0_given=v0 is not None),
        wall_time=time.perf_counter() - t0,
        evaluate=False,
        extra={"gain": 0.5 * (dmm[0] + dmm[1]), "gain_lower": float(dmm[0]), "gain_upper": float(dmm[1])},
    )

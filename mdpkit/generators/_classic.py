"""Classic operations-research examples: Puterman's two-state MDP and inventory model,
pymdptoolbox's forest management, and the machine replacement problem of Delage & Mannor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .._exceptions import InvalidArgumentError
from ..model import DENSE_LIMIT, TabularMDP
from ._common import check_int, check_memory, check_positive, check_probability, check_real, dense_bytes

__all__ = ["puterman_two_state", "forest", "machine_replacement", "inventory"]


def puterman_two_state(gamma: float = 0.95) -> TabularMDP:
    r"""The two-state example of Puterman (1994), Section 3.1 (Figure 3.1.1).

    State :math:`s_1` has two actions: :math:`a_{1,1}` earns 5 and stays with probability 0.5
    or moves to :math:`s_2` with probability 0.5; :math:`a_{1,2}` earns 10 and moves to
    :math:`s_2`.  State :math:`s_2` has one action :math:`a_{2,1}`: it earns :math:`-1` and
    stays.

    Parameters
    ----------
    gamma : float, default 0.95
        Discount factor (:math:`\lambda` in Puterman); 0.95 is the value of Puterman's
        discounted examples and of QuantEcon's ``test_ddp.py``.

    Returns
    -------
    TabularMDP
        ``S = 2``, ``A = 2``; action index 0 is :math:`a_{s,1}`, index 1 is :math:`a_{s,2}`,
        masked out in :math:`s_2`.

    Notes
    -----
    With :math:`\beta` = ``gamma``, :math:`v^*(s_2) = -1/(1-\beta)` and
    :math:`v^*(s_1) = \max\{(5 - 5.5\beta)/((1 - 0.5\beta)(1-\beta)),\ 10 - \beta/(1-\beta)\}`;
    at :math:`\beta = 0.95` the first term wins, so the optimal policy is ``[0, 0]``.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
       Programming*, Wiley, 1994, Sec. 3.1 (Fig. 3.1.1) and Example 6.2.1.
    .. [2] QuantEcon.py, ``quantecon/markov/tests/test_ddp.py`` (analytic solution).

    Examples
    --------
    >>> from mdpkit.generators import puterman_two_state
    >>> m = puterman_two_state()
    >>> m.R, m.action_mask
    (array([[ 5., 10.],
           [-1.,  0.]]), array([[ True,  True],
           [ True, False]]))
    """
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, 0] = [0.0, 1.0]
    R = np.array([[5.0, 10.0], [-1.0, 0.0]])
    return TabularMDP(
        P=P,
        R=R,
        gamma=gamma,
        action_mask=np.array([[True, True], [True, False]]),
        state_labels=("s1", "s2"),
        action_labels=("a1", "a2"),
        name="Puterman 1994 Sec. 3.1 two-state MDP",
    )


def forest(
    S: int = 3, r1: float = 4.0, r2: float = 2.0, p: float = 0.1, gamma: float = 0.95, sparse: bool | None = None
) -> TabularMDP:
    r"""Forest management, exactly as ``mdptoolbox.example.forest`` (pymdptoolbox).

    A forest has age class ``0, ..., S-1`` (0 youngest).  Each year the manager chooses
    "wait" (0) or "cut" (1).  Under "wait" a fire burns the forest with probability ``p``
    (back to age 0); otherwise it ages by one class (the oldest class stays).  "cut" returns it
    to age 0.  Rewards: waiting in the oldest class earns ``r1`` (wildlife value); cutting
    earns 0 in class 0, 1 in classes ``1..S-2`` and ``r2`` in the oldest class.

    Parameters
    ----------
    S : int, default 3
        Number of age classes (``>= 2``), pymdptoolbox's name and default.
    r1 : float, default 4
        Reward of "wait" in the oldest class (``> 0``).
    r2 : float, default 2
        Reward of "cut" in the oldest class (``> 0``).
    p : float, default 0.1
        Yearly fire probability, in ``[0, 1]``.
    gamma : float, default 0.95
        Discount factor (pymdptoolbox's doctests use 0.9 and 0.96 with this model).
    sparse : bool, optional
        CSR (True) or dense (False); default CSR when ``2*S*S`` exceeds ``4e6`` entries (from
        ``S = 1415`` on), so ``S = 10000`` builds in milliseconds.

    Returns
    -------
    TabularMDP
        ``S`` states, ``A = 2`` (0 = wait, 1 = cut).  ``P[s, a, :]`` equals pymdptoolbox's
        ``P[a][s, :]`` and ``R`` its ``R``, entry for entry.

    Raises
    ------
    InvalidArgumentError
        If ``S < 2``, ``r1 <= 0``, ``r2 <= 0`` or ``p`` is outside ``[0, 1]`` (pymdptoolbox's
        own conditions).

    Notes
    -----
    Reward timing follows pymdptoolbox: ``R[s, a]`` is received for choosing ``a`` in ``s``,
    whether or not the fire then occurs.

    References
    ----------
    .. [1] S. Cordwell, pymdptoolbox, ``mdptoolbox/example.py::forest``,
       https://github.com/sawcordwell/pymdptoolbox.
    .. [2] I. Chades, G. Chapron, M.-J. Cros, F. Garcia and R. Sabbadin, "MDPtoolbox: a
       multi-platform toolbox to solve stochastic dynamic programming problems",
       *Ecography* 37(9):916-920, 2014 (the original ``mdp_example_forest``).

    Examples
    --------
    >>> from mdpkit.generators import forest
    >>> forest().R
    array([[0., 0.],
           [0., 1.],
           [4., 2.]])
    """
    S = check_int(S, "S", minimum=2)
    r1 = check_positive(r1, "r1")
    r2 = check_positive(r2, "r2")
    p = check_probability(p, "p")
    dense = (2 * S * S <= DENSE_LIMIT) if sparse is None else not sparse
    # COO/CSR arrays, rewards and one label string per state; dense: P twice
    check_memory(400.0 * S + (dense_bytes(S, 2, 2) if dense else 0.0), f"forest(S={S}{', dense' if dense else ''})")
    s = np.arange(S)
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1 : S - 1, 1] = 1.0
    R[S - 1, 1] = r2
    if sparse is None:
        sparse = 2 * S * S > DENSE_LIMIT
    # wait: fire -> 0 w.p. p, else s+1 (oldest stays); cut: -> 0.  Rows s*2 + a.
    rows = np.concatenate([2 * s, 2 * s, 2 * s + 1])
    cols = np.concatenate([np.zeros(S, np.int64), np.minimum(s + 1, S - 1), np.zeros(S, np.int64)])
    vals = np.concatenate([np.full(S, p), np.full(S, 1.0 - p), np.ones(S)])
    P = sp.csr_matrix((vals, (rows, cols)), shape=(2 * S, S))  # duplicates (p = 0 or 1 cases) add up
    P.eliminate_zeros()
    if not sparse:
        P = P.toarray().reshape(S, 2, S)
    return TabularMDP(
        P=P,
        R=R,
        gamma=gamma,
        state_labels=[f"age {k}" for k in range(S)],
        action_labels=("wait", "cut"),
        name=f"forest(S={S}, r1={r1:g}, r2={r2:g}, p={p:g})",
    )


def machine_replacement(n_states: int = 10, gamma: float = 0.8) -> TabularMDP:
    r"""Machine replacement (Delage & Mannor 2010) as in craam2's ``machine_replacement_mdp.csv``.

    A machine ages through ``n_states - 2`` states; two further states are repairs: ``R2``
    (index ``n_states - 2``, a hard repair costing 10 per step) and ``R1`` (index
    ``n_states - 1``, a normal repair costing 2 per step).  Reaching the last age costs 20 per
    step.  With the defaults this model equals the 45 rows of craam2's file entry for entry.

    Parameters
    ----------
    n_states : int, default 10
        Total number of states (``>= 4``): ``n_states - 2`` ages, then ``R2`` and ``R1``.
    gamma : float, default 0.8
        Discount factor; 0.8 is the value of Delage & Mannor and of craam2's script.

    Returns
    -------
    TabularMDP
        ``S = n_states``, ``A = 2`` (0 = do nothing, 1 = repair), dense, with ``R_sas``.

    Raises
    ------
    InvalidArgumentError
        If ``n_states < 4``.

    Notes
    -----
    Let ``K = n_states - 2`` ages ``0..K-1``.  Transitions (craam2's nominal probabilities):

    - do nothing, age ``i < K-1``: stay 0.2, age ``i+1`` 0.8; at the last age: stay 1.
    - repair, age ``i``: age ``min(i+1, K-1)`` 0.3, ``R1`` 0.6, ``R2`` 0.1.
    - ``R2``: do nothing stays 1; repair: ``R1`` 0.6, stay 0.4.
    - ``R1``: do nothing: stay 0.2, age 0 0.8; repair stays 1.

    Rewards are realised on arrival (``R_sas``): :math:`-20` on entering or staying in the last
    age, :math:`-10` into ``R2``, :math:`-2` into ``R1``, 0 otherwise; ``R`` is their mean.
    craam2's header comment reads "0 = repair, 1 = not repair", but its rows (and the labels
    here) are 0 = do nothing, 1 = repair.

    References
    ----------
    .. [1] E. Delage and S. Mannor, "Percentile optimization for Markov decision processes
       with parameter uncertainty", *Operations Research* 58(1):203-213, 2010.
    .. [2] M. Petrik et al., craam2, ``examples/R/machine_replacement/machine_replacelemt.Rmd``
       and ``machine_replacement_mdp.csv``, https://github.com/marekpetrik/craam2 (MIT).

    Examples
    --------
    >>> from mdpkit.generators import machine_replacement
    >>> m = machine_replacement()
    >>> m.S, m.A, m.state_labels[-2:]
    (10, 2, ('R2', 'R1'))
    """
    n = check_int(n_states, "n_states", minimum=4)
    check_memory(dense_bytes(n, 2, 4) + 400.0 * n, f"machine_replacement(n_states={n})")
    K = n - 2
    last, R2, R1 = K - 1, n - 2, n - 1
    rows = []
    for i in range(K):
        if i < last:
            rows += [(i, 0, i, 0.2), (i, 0, i + 1, 0.8)]
        else:
            rows += [(i, 0, i, 1.0)]
        rows += [(i, 1, min(i + 1, last), 0.3), (i, 1, R1, 0.6), (i, 1, R2, 0.1)]
    rows += [(R2, 0, R2, 1.0), (R2, 1, R1, 0.6), (R2, 1, R2, 0.4)]
    rows += [(R1, 0, R1, 0.2), (R1, 0, 0, 0.8), (R1, 1, R1, 1.0)]
    arrival = np.zeros(n)
    arrival[[last, R2, R1]] = [-20.0, -10.0, -2.0]
    P = np.zeros((n, 2, n))
    R_sas = np.zeros((n, 2, n))
    for s, a, t, pr in rows:
        P[s, a, t] += pr
        R_sas[s, a, t] = arrival[t]
    return TabularMDP(
        P=P,
        R=None,
        R_sas=R_sas,
        gamma=gamma,
        state_labels=[f"age {k + 1}" for k in range(K)] + ["R2", "R1"],
        action_labels=("do nothing", "repair"),
        name=f"machine_replacement(n_states={n})",
    )


def inventory(
    max_inventory: int = 3,
    demand_pmf: Sequence[float] | None = None,
    demand_mean: float | None = None,
    fixed_cost: float = 4.0,
    unit_cost: float = 2.0,
    holding_cost: float = 1.0,
    price: float = 8.0,
    gamma: float = 0.9,
) -> TabularMDP:
    r"""Single-item stochastic inventory control with lost sales (Puterman 1994, Sec. 3.2).

    At the start of each period the stock :math:`s \in \{0, \ldots, M\}` is observed and
    :math:`a` units are ordered (:math:`s + a \le M`), delivered at once.  Demand :math:`D`
    is then met from the :math:`s + a` units on hand; unmet demand is lost.  The next stock is
    :math:`\max(s + a - D, 0)`.

    Parameters
    ----------
    max_inventory : int, default 3
        Warehouse capacity :math:`M` (``>= 1``).
    demand_pmf : sequence of float, optional
        ``demand_pmf[j] = Pr(D = j)``, non-negative, summing to 1 (within 1e-12).  Default
        (with ``demand_mean`` also None): Puterman's ``(1/4, 1/2, 1/4)``.
    demand_mean : float, optional
        Use Poisson demand with this mean instead (exact tails via ``scipy.stats.poisson``).
        Give at most one of ``demand_pmf`` and ``demand_mean``.
    fixed_cost, unit_cost : float, default 4 and 2
        Ordering cost :math:`O(u) = K + c\,u` for :math:`u > 0`, :math:`O(0) = 0`.
    holding_cost : float, default 1
        Holding cost :math:`h(u) = h\,u` on the :math:`u = s + a` units on hand.
    price : float, default 8
        Revenue :math:`f(j) = \text{price} \cdot j` for :math:`j` units sold.
    gamma : float, default 0.9
        Discount factor.  Puterman's numerical example is finite-horizon; 0.9 is our choice.

    Returns
    -------
    TabularMDP
        ``S = A = M + 1`` (state = stock, action = order quantity, ``s + a > M`` masked), dense.

    Raises
    ------
    InvalidArgumentError
        For ``max_inventory < 1``, both or a malformed demand, or a negative cost or price.

    Notes
    -----
    Reward timing (Puterman's): :math:`r(s, a) = F(s + a) - O(a) - h(s + a)` with expected
    revenue :math:`F(u) = \sum_{j < u} f(j) p_j + f(u)\,\Pr(D \ge u)`.  With the defaults this
    is Puterman's Example 4.6.1 (:math:`M = 3, K = 4, c = 2, h = 1, f(j) = 8j`), whose table
    of :math:`r(s, a)` is ``[[0, -1, -2, -5], [5, 0, -3], [6, -1], [5]]`` and whose optimal
    three-period values are :math:`u_1^* = (67, 129, 194, 227)/16`.

    References
    ----------
    .. [1] M. L. Puterman, *Markov Decision Processes: Discrete Stochastic Dynamic
       Programming*, Wiley, 1994, Sec. 3.2 and Example 4.6.1.

    Examples
    --------
    >>> from mdpkit.generators import inventory
    >>> inventory().R
    array([[ 0., -1., -2., -5.],
           [ 5.,  0., -3.,  0.],
           [ 6., -1.,  0.,  0.],
           [ 5.,  0.,  0.,  0.]])
    """
    M = check_int(max_inventory, "max_inventory", minimum=1)
    # P (S, A, S) with S = A = M + 1, its temporaries G[yc] and the model's copy
    check_memory(dense_bytes(M + 1, M + 1, 3), f"inventory(max_inventory={M})")
    K = check_positive(fixed_cost, "fixed_cost", allow_zero=True)
    c = check_positive(unit_cost, "unit_cost", allow_zero=True)
    h = check_positive(holding_cost, "holding_cost", allow_zero=True)
    f = check_positive(price, "price", allow_zero=True)
    if demand_pmf is not None and demand_mean is not None:
        raise InvalidArgumentError("give at most one of demand_pmf and demand_mean")
    u = np.arange(M + 1)
    if demand_mean is not None:
        from scipy.stats import poisson  # lazy: scipy.stats is slow to import

        lam = check_positive(demand_mean, "demand_mean")
        pmf = poisson.pmf(u, lam)
        tail = poisson.sf(u - 1, lam)  # tail[u] = Pr(D >= u)
    else:
        try:
            d = np.array([0.25, 0.5, 0.25] if demand_pmf is None else demand_pmf, dtype=float)
        except (TypeError, ValueError):
            raise InvalidArgumentError(f"demand_pmf must be a sequence of probabilities, got {demand_pmf!r}") from None
        if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)) or np.any(d < 0):
            raise InvalidArgumentError(f"demand_pmf must be a non-empty sequence of probabilities, got {demand_pmf!r}")
        if abs(d.sum() - 1.0) > 1e-12:
            raise InvalidArgumentError(f"demand_pmf must sum to 1, got sum {d.sum()!r}")
        full = np.zeros(max(d.size, M + 1) + 1)
        full[: d.size] = d
        pmf = full[: M + 1]
        tail = np.cumsum(full[::-1])[::-1][: M + 1]
    # F(u) = sum_{j<u} f j p_j + f u Pr(D >= u)
    F = f * (np.concatenate([[0.0], np.cumsum(u * pmf)[:-1]]) + u * tail)
    s = u[:, None]
    a = u[None, :]
    y = s + a
    mask = y <= M
    yc = np.minimum(y, M)
    R = np.where(mask, F[yc] - np.where(a > 0, K + c * a, 0.0) - h * yc, 0.0)
    # G[y, t] = Pr(max(y - D, 0) = t)
    G = np.zeros((M + 1, M + 1))
    for yy in range(M + 1):
        G[yy, 1 : yy + 1] = pmf[:yy][::-1]  # t = yy - j >= 1 for j < yy
        G[yy, 0] = tail[yy]
    P = np.where(mask[:, :, None], G[yc], 0.0)
    return TabularMDP(
        P=P,
        R=R,
        gamma=gamma,
        action_mask=mask,
        state_labels=[f"stock {k}" for k in range(M + 1)],
        action_labels=[f"order {k}" for k in range(M + 1)],
        name=f"inventory(max_inventory={M})",
    )

"""Jack's car rental of Sutton & Barto (2018), Example 4.2, with exact Poisson tails."""

from __future__ import annotations

import numpy as np

from .._exceptions import InvalidArgumentError
from ..model import TabularMDP
from ._common import check_int, check_memory, check_positive, check_real, dense_bytes

__all__ = ["jacks_car_rental"]


def _count_law(lam: float, n: int, truncated: bool, upper: int) -> tuple[np.ndarray, np.ndarray]:
    """``pmf[k] = Pr(X = k)`` and ``tail[k] = Pr(X >= k)`` for ``k = 0..n`` of a Poisson count.

    Exact: ``tail`` from ``poisson.sf`` (accurate in the far tail).  Truncated: the Poisson law
    conditioned on ``X < upper`` (pmf on ``0..upper-1`` divided by its mass).
    """
    from scipy.stats import poisson  # lazy: scipy.stats is slow to import
    k = np.arange(n + 1)
    if not truncated:
        pmf = poisson.pmf(k, lam)
        tail = poisson.sf(k - 1, lam)  # Pr(X >= k) = Pr(X > k - 1); tail[0] = 1
        return pmf, tail
    L = max(n + 1, upper)
    pmf = np.where(np.arange(L) < upper, poisson.pmf(np.arange(L), lam), 0.0)
    pmf /= pmf.sum()
    tail = np.cumsum(pmf[::-1])[::-1]
    return pmf[: n + 1], tail[: n + 1]


def _location(req: tuple[np.ndarray, np.ndarray], ret: tuple[np.ndarray, np.ndarray], n: int):
    """Overnight kernel of one location: ``T[m, j]`` and expected rentals ``E[m]``.

    ``m`` is the number of cars available in the morning (after the move), ``j`` the number at
    the end of the day.  Rentals are ``min(requests, m)``; then returns are added and capped at
    ``n``.
    """
    req_pmf, req_tail = req
    ret_pmf, ret_tail = ret
    # G[r, j] = Pr(min(r + returns, n) = j): returns beyond capacity are lost
    G = np.zeros((n + 1, n + 1))
    for r in range(n + 1):
        G[r, r:n] = ret_pmf[: n - r]
        G[r, n] = ret_tail[n - r]
    T = np.zeros((n + 1, n + 1))
    E = np.zeros(n + 1)
    for m in range(n + 1):
        q = np.empty(m + 1)  # q[k] = Pr(rented = k): requests >= m rent all m cars
        q[:m] = req_pmf[:m]
        q[m] = req_tail[m]
        E[m] = q @ np.arange(m + 1)
        T[m] = q[::-1] @ G[: m + 1]  # remaining r = m - k
    return T, E


def jacks_car_rental(
    max_cars: int = 20,
    max_move: int = 5,
    gamma: float = 0.9,
    truncated: bool = False,
    *,
    poisson_upper: int = 11,
    request_rates: tuple[float, float] = (3.0, 4.0),
    return_rates: tuple[float, float] = (3.0, 2.0),
    rent_reward: float = 10.0,
    move_cost: float = 2.0,
) -> TabularMDP:
    r"""Jack's car rental of Sutton & Barto (2018), Example 4.2 (Figure 4.2).

    Jack manages two locations of a car rental company.  Each day the numbers of rental
    requests and of returns at location :math:`i` are independent Poisson variables with means
    ``request_rates[i]`` (3 and 4) and ``return_rates[i]`` (3 and 2).  He earns ``rent_reward``
    ($10) per car rented and can move up to ``max_move`` (5) cars overnight between the
    locations at ``move_cost`` ($2) per car.  No location holds more than ``max_cars`` (20)
    cars.

    Parameters
    ----------
    max_cars : int, default 20
        Capacity of each location (``>= 1``).
    max_move : int, default 5
        Most cars moved in one night (``>= 0``).
    gamma : float, default 0.9
        Discount factor; 0.9 is the book's value.
    truncated : bool, default False
        False: exact Poisson laws with their tails (see Notes).  True: the variant of the
        widely copied textbook code, in which every Poisson count is truncated to
        ``0, ..., poisson_upper - 1``; this model conditions each count on that event
        (renormalises it explicitly), so its rows are distributions.
    poisson_upper : int, default 11
        Truncation point of the ``truncated`` variant (ignored otherwise).
    request_rates, return_rates : tuple of 2 floats, default (3, 4) and (3, 2)
        Poisson means at locations 1 and 2.
    rent_reward, move_cost : float, default 10 and 2
        Dollars per car rented and per car moved.

    Returns
    -------
    TabularMDP
        ``S = (max_cars + 1)**2`` (state ``n1*(max_cars+1) + n2`` is ``n1`` cars at location 1
        and ``n2`` at location 2, at the end of a day), ``A = 2*max_move + 1`` (action index
        ``k`` moves ``k - max_move`` cars from location 1 to location 2; negative moves go the
        other way), dense, with an ``action_mask`` and ``grid_shape = (max_cars+1, max_cars+1)``.

    Raises
    ------
    InvalidArgumentError
        For a non-positive capacity or rate, a negative ``max_move``, or ``poisson_upper < 1``.

    Notes
    -----
    Timing of one step (one day), from the end-of-day state :math:`(n_1, n_2)`:

    1. Jack moves :math:`a` cars (available only if the sender has them:
       :math:`a \le n_1` and :math:`-a \le n_2`; other moves are masked out) and pays
       :math:`2|a|`.  Cars moved into a full location are lost ("any additional cars ...
       disappear"), so the morning stocks are :math:`m_1 = \min(n_1 - a, N)` and
       :math:`m_2 = \min(n_2 + a, N)`, :math:`N` = ``max_cars``.
    2. Requests :math:`X_i` arrive; :math:`\min(X_i, m_i)` cars are rented at $10 each.
    3. Returns :math:`Y_i` arrive and become available the next day; the new state is
       :math:`n_i' = \min(m_i - \min(X_i, m_i) + Y_i, N)`.

    ``R[s, a]`` is the expected reward of the day,
    :math:`10\,(E\min(X_1, m_1) + E\min(X_2, m_2)) - 2|a|`.

    Tail mass (exact mode): the whole mass :math:`\Pr(X_i \ge m_i)` goes to "all :math:`m_i`
    cars rented", and the whole mass :math:`\Pr(Y_i \ge N - r)` of returns that would overflow
    goes to :math:`n_i' = N` (``scipy.stats.poisson.sf``).  Every row is therefore a
    probability distribution up to floating-point rounding (about 1e-15), with no truncation.

    ``truncated=True`` reproduces the common code variant that sums over
    :math:`X_i, Y_i \in \{0, \ldots, 10\}` only; there the four counts lose their tails and
    each row sums to :math:`\prod_i \Pr(\cdot < 11) \approx 0.99657`, not 1.  This model divides
    each truncated pmf by its mass, i.e. it conditions on all four counts being below
    ``poisson_upper``, so rows and rewards are exact for that conditioned model.  (Some code
    further replaces the returns by their means; that variant is not provided.)

    References
    ----------
    .. [1] R. S. Sutton and A. G. Barto, *Reinforcement Learning: An Introduction*, 2nd ed.,
       MIT Press, 2018, Example 4.2 and Figure 4.2 (pp. 81-82).

    Examples
    --------
    >>> from mdpkit.generators import jacks_car_rental
    >>> m = jacks_car_rental()
    >>> m.S, m.A
    (441, 11)
    >>> [m.action_labels[k] for k in m.action_mask[20].nonzero()[0]]  # state (0, 20)
    ['-5', '-4', '-3', '-2', '-1', '0']
    """
    N = check_int(max_cars, "max_cars", minimum=1)
    M = check_int(max_move, "max_move", minimum=0)
    U = check_int(poisson_upper, "poisson_upper", minimum=1)
    # dense P (S, A, S) with S = (N+1)^2, A = 2M+1: the outer product, the masked copy and the model's
    check_memory(dense_bytes((N + 1) ** 2, 2 * M + 1, 3), f"jacks_car_rental(max_cars={N}, max_move={M}) (dense)")
    rates = []
    for nm, pair in (("request_rates", request_rates), ("return_rates", return_rates)):
        if np.ndim(pair) != 1 or len(pair) != 2:
            raise InvalidArgumentError(f"{nm} must be a pair of Poisson means, got {pair!r}")
        rates.append([check_positive(x, f"{nm}[{i}]") for i, x in enumerate(pair)])
    rent = check_real(rent_reward, "rent_reward")
    cost = check_real(move_cost, "move_cost")
    truncated = bool(truncated)

    locs = [
        _location(_count_law(rates[0][i], N, truncated, U), _count_law(rates[1][i], N, truncated, U), N)
        for i in range(2)
    ]
    (T1, E1), (T2, E2) = locs

    n1, n2 = np.divmod(np.arange((N + 1) ** 2), N + 1)
    a = np.arange(-M, M + 1)
    mask = (a[None, :] <= n1[:, None]) & (-a[None, :] <= n2[:, None])
    m1 = np.clip(n1[:, None] - a[None, :], 0, N)
    m2 = np.clip(n2[:, None] + a[None, :], 0, N)
    S, A = (N + 1) ** 2, 2 * M + 1
    P = (T1[m1][:, :, :, None] * T2[m2][:, :, None, :]).reshape(S, A, S)
    P[~mask] = 0.0
    R = np.where(mask, rent * (E1[m1] + E2[m2]) - cost * np.abs(a)[None, :], 0.0)
    variant = f", truncated at {U}" if truncated else ""
    return TabularMDP(
        P=P,
        R=R,
        gamma=gamma,
        action_mask=mask,
        state_labels=[f"({i},{j})" for i, j in zip(n1, n2)],
        action_labels=[f"{k:+d}" if k else "0" for k in a],
        name=f"jacks_car_rental(max_cars={N}, max_move={M}{variant})",
        grid_shape=(N + 1, N + 1),
    )

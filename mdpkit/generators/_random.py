"""Random MDPs: Garnet(S, A, b) instances."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._exceptions import InvalidArgumentError
from ..model import DENSE_LIMIT, TabularMDP
from ._common import check_int, check_memory, dense_bytes

__all__ = ["garnet"]


def _distinct_successors(rng: np.random.Generator, n_rows: int, S: int, b: int) -> np.ndarray:
    """``(n_rows, b)`` sorted ids, each row a uniform random ``b``-subset of ``range(S)``.

    Floyd's algorithm, vectorised over rows: for ``j = S-b, ..., S-1`` draw ``t`` uniform on
    ``0..j`` and take ``t`` unless already chosen, else ``j``.  Every ``b``-subset is equally
    likely; the cost is ``O(n_rows * b**2)`` with no rejection loop, for any ``b <= S``.
    """
    out = np.empty((n_rows, b), dtype=np.int64)
    for k, j in enumerate(range(S - b, S)):
        t = rng.integers(0, j + 1, size=n_rows)
        taken = (out[:, :k] == t[:, None]).any(axis=1) if k else np.zeros(n_rows, dtype=bool)
        out[:, k] = np.where(taken, j, t)
    out.sort(axis=1)
    return out


def garnet(
    S: int,
    A: int,
    b: int,
    gamma: float = 0.9,
    rng: int | np.random.Generator | None = None,
    sparse: bool | None = None,
    *,
    reward: str = "sa",
) -> TabularMDP:
    r"""A random Garnet(S, A, b) MDP (Archibald, McKinnon & Thomas 1995).

    For every state-action pair, ``b`` distinct successor states are drawn uniformly at random
    (among all ``S`` states, the state itself included) and the probabilities are the ``b``
    gaps between ``b - 1`` independent Uniform(0, 1) cut points, i.e. a flat Dirichlet(1, ..., 1)
    draw.  Rewards are i.i.d. Uniform[0, 1).

    Parameters
    ----------
    S : int
        Number of states (``>= 1``).
    A : int
        Number of actions (``>= 1``).
    b : int
        Branching factor: successors per state-action pair, ``1 <= b <= S``.
    gamma : float, default 0.9
        Discount factor.
    rng : None, int or numpy.random.Generator, optional
        Normalised with :func:`numpy.random.default_rng`; an int seed makes the instance
        reproducible.
    sparse : bool, optional
        Store ``P`` as CSR (True) or dense (False).  Default: CSR when ``S*A*S`` exceeds
        ``4e6`` entries, else dense.
    reward : {"sa", "s"}, default "sa"
        ``"sa"``: ``R[s, a]`` i.i.d. Uniform[0, 1) per pair.  ``"s"``: one Uniform[0, 1) reward
        per state, shared by all its actions (the convention of Geist & Scherrer [3]_).

    Returns
    -------
    TabularMDP
        ``S`` states, ``A`` actions; every row of ``P`` has exactly ``b`` stored non-zeros
        (CSR: ``indices`` sorted).

    Raises
    ------
    InvalidArgumentError
        If ``S``, ``A`` or ``b`` are not positive integers, ``b > S``, or ``reward`` is unknown.

    Notes
    -----
    Draw order (fixed, so a seed gives the same instance for a given numpy version):
    successors for all ``S*A`` rows (row ``s*A + a``), then the cut points, then the rewards.
    Rewards are expected rewards ``R[s, a]`` (no ``R_sas``).  Building is vectorised,
    ``O(S*A*b**2)`` time and ``O(S*A*b)`` memory for CSR; ``S = 200000, A = 4, b = 8`` takes
    one to two seconds.

    Bhatnagar et al. [2]_ use the same transition construction with Gaussian rewards
    and an extra non-stationarity parameter; only the stationary Uniform-reward form is
    provided here.

    References
    ----------
    .. [1] T. W. Archibald, K. I. M. McKinnon and L. C. Thomas, "On the generation of Markov
       decision processes", *J. Oper. Res. Soc.* 46(3):354-361, 1995.
    .. [2] S. Bhatnagar, R. S. Sutton, M. Ghavamzadeh and M. Lee, "Natural actor-critic
       algorithms", *Automatica* 45(11):2471-2482, 2009.
    .. [3] M. Geist and B. Scherrer, "Off-policy learning with eligibility traces: a survey",
       *JMLR* 15:289-333, 2014.

    Examples
    --------
    >>> from mdpkit.generators import garnet
    >>> m = garnet(100, 4, 5, rng=0)
    >>> m.S, m.A, int((m.P_rows > 0).sum(axis=1).max())
    (100, 4, 5)
    """
    S = check_int(S, "S", minimum=1)
    A = check_int(A, "A", minimum=1)
    b = check_int(b, "b", minimum=1)
    if b > S:
        raise InvalidArgumentError(f"b must satisfy 1 <= b <= S={S}, got b={b}")
    if reward not in ("sa", "s"):
        raise InvalidArgumentError(f"reward must be 'sa' or 's', got {reward!r}")
    dense = (S * A * S <= DENSE_LIMIT) if sparse is None else not sparse
    # successors (int64), cut points, probabilities, CSR arrays and the model's own copy; dense: P twice
    check_memory(56.0 * S * A * b + 24.0 * S * A + (dense_bytes(S, A, 2) if dense else 0.0),
                 f"garnet(S={S}, A={A}, b={b}{', dense' if dense else ''})")
    gen = np.random.default_rng(rng)
    n = S * A
    succ = _distinct_successors(gen, n, S, b)
    cuts = np.sort(gen.random((n, b - 1)), axis=1)
    probs = np.diff(cuts, axis=1, prepend=0.0, append=1.0)
    R = gen.random((S, A)) if reward == "sa" else np.repeat(gen.random(S)[:, None], A, axis=1)
    if sparse is None:
        sparse = S * A * S > DENSE_LIMIT
    if sparse:
        idx_dtype = np.int32 if S < 2**31 else np.int64
        P = sp.csr_matrix(
            (probs.ravel(), succ.ravel().astype(idx_dtype), np.arange(0, n * b + 1, b, dtype=np.int64)),
            shape=(n, S),
        )
    else:
        P = np.zeros((n, S))
        P[np.arange(n)[:, None], succ] = probs
        P = P.reshape(S, A, S)
    return TabularMDP(P=P, R=R, gamma=gamma, name=f"garnet(S={S}, A={A}, b={b})")

r"""Certificates of the model-checking solvers (reachability and total reward to a goal).

Each function turns a verified per-state bracket into a :class:`~mdpkit.bounds.Bound`.  The
brackets themselves come from the inductive-bound principle: in a reduced model where every
policy leaves the undecided states almost surely (or accrues infinite cost), the Bellman
operator :math:`T` has a unique fixpoint :math:`v^*` and :math:`T^k u \to v^*` from every
:math:`u`, so :math:`Tl \ge l` implies :math:`l \le v^*` and :math:`Tu \le u` implies
:math:`u \ge v^*` (monotonicity of :math:`T`).
"""

from __future__ import annotations

import math

from ._bound import Bound, BoundKind

__all__ = ["bracket_bound", "policy_bracket_bound"]

_SOUND = "sound up to floating-point rounding in the backups (as the model checkers' sound modes)"


def bracket_bound(half_width: float, *, method: str) -> Bound:
    r"""``v_lower <= v_true <= v_upper`` state-wise, so ``|mid - v_true| <= half_width``.

    Parameters
    ----------
    half_width : float
        ``max_s (v_upper - v_lower)/2`` over the states with a finite value.
    method : {"ii", "ovi", "svi", "pi"}
        Interval iteration (Haddad & Monmege 2018, Thm 1 (number not checked against the text)),
        optimistic value iteration (Hartmanns & Kaminski 2020, Thm 2 (number not checked)), sound
        value iteration (Quatmann & Katoen 2018, Lemma 3 / Sec. 4 (numbers not checked), the
        choice-dependent side verified by a backup), or policy iteration with a verified
        inductive bracket around the final policy's value.
    """
    cites = {
        "ii": "Haddad & Monmege (2018), Theor. Comput. Sci. 735, Thm 1 (number not checked against the text)",
        "ovi": "Hartmanns & Kaminski (2020), CAV, LNCS 12225, Thm 2 (number not checked against the text)",
        "svi": "Quatmann & Katoen (2018), CAV, LNCS 10981, Lemma 3 / Sec. 4 (numbers not checked against the text); "
               "the choice-dependent side verified inductively (T u <= u)",
        "pi": "inductive bounds (T l >= l, T u <= u) around the final policy's value; "
              "Baier & Katoen (2008), Thm 10.100 / de Alfaro (1997) (numbers not checked against the text)",
    }
    if method not in cites:
        raise ValueError(f"method must be one of {sorted(cites)}, got {method!r}")
    return Bound(
        value=float(half_width) if not math.isnan(half_width) else math.inf,
        kind=BoundKind.DETERMINISTIC,
        citation=cites[method],
        assumptions=("non-negative rewards (reward objectives)", _SOUND),
        statement="v_lower <= v* <= v_upper state-wise (inf where v* is inf); |v - v*| <= half-width",
    )


def policy_bracket_bound(gap: float) -> Bound:
    r"""Suboptimality of a policy whose exact value :math:`v_\pi` lies inside a certified bracket:
    :math:`|v^* - v_\pi| \le \max_s (v_{\text{upper}} - v_\pi)` (maximisation) or
    :math:`\max_s (v_\pi - v_{\text{lower}})` (minimisation)."""
    return Bound(
        value=float(gap),
        kind=BoundKind.DETERMINISTIC,
        citation="bracket v_lower <= v* <= v_upper with v_pi inside it (derived in mdpkit.bounds.reachability)",
        assumptions=("v_pi is the exact value of the returned policy", _SOUND),
        statement="|v* - v_pi| <= max_s distance from v_pi to the far end of the bracket",
    )

"""MacQueen's action-elimination test and the citation fields of ``Bound`` (issue 14).

Expected values are worked out by hand in each docstring.
"""

import numpy as np
import pytest

from mdpkit import bounds


def test_elimination_by_hand__macqueen_1967():
    """One state, two self-loop actions with rewards 1 and 0, gamma = 1/2: v* = 2, Q*(s, 1) = 0 + 1 = 1.

    With the bracket [1.9, 2.1]: action 1's upper bound 0 + 0.5 * 2.1 = 1.05 < 1.9, eliminated;
    action 0's upper bound 1 + 1.05 = 2.05 >= 1.9, kept.  With the loose bracket [0, 4]: nothing.
    """
    P = np.ones((1, 2, 1))
    R = np.array([[1.0, 0.0]])
    out = bounds.macqueen_action_elimination(0.5, P, R, np.array([1.9]), np.array([2.1]))
    assert out.tolist() == [[False, True]]
    out = bounds.macqueen_action_elimination(0.5, P, R, np.array([0.0]), np.array([4.0]))
    assert out.tolist() == [[False, False]]
    masked = bounds.macqueen_action_elimination(0.5, P, R, np.array([1.9]), np.array([2.1]),
                                                np.array([[True, False]]))
    assert masked.tolist() == [[False, False]]


def test_elimination_margin_protects_tied_actions_from_round_off():
    """Two tied optimal actions (rewards 1 and 1): a collapsed bracket that excludes v* = 2 by one ulp
    must not eliminate either (the default margin is 64 ulps of the value scale)."""
    P = np.ones((1, 2, 1))
    R = np.array([[1.0, 1.0]])
    lo = hi = np.array([np.nextafter(2.0, 3.0)])
    assert not bounds.macqueen_action_elimination(0.5, P, R, lo, hi).any()
    # a bracket wrong by 1e-3 (far above the margin) eliminates both: the margin is not a blanket excuse
    assert bounds.macqueen_action_elimination(0.5, P, R, lo + 1e-3, hi + 1e-3).all()


def test_elimination_rejects_bad_shapes():
    with pytest.raises(ValueError, match="shapes"):
        bounds.macqueen_action_elimination(0.5, np.ones((2, 2)), np.zeros((1, 2)), np.zeros(1), np.zeros(1))
    with pytest.raises(ValueError, match="gamma"):
        bounds.macqueen_action_elimination(1.5, np.ones((1, 1, 1)), np.zeros((1, 1)), np.zeros(1), np.zeros(1))


def test_bound_records_say_whether_the_number_was_checked():
    b = bounds.greedy_span_bound(0.9, 1.0)
    assert b.number_checked is False
    assert "not checked" in bounds.categorical_evaluation_bound(0.9, 1.0).citation
    assert "secondary source" in bounds.categorical_fixed_point_bound(0.9, 0.1).citation

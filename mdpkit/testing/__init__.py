"""Reusable test helpers: hypothesis strategies for random MDPs (``mdpkit.testing.strategies``).

``mdps`` is the general strategy (degenerate cases included); ``theory_mdps`` the non-degenerate
instance family of the theorem checks (``S >= 2``, ``gamma`` in :data:`GAMMA_RANGE`), with the
degenerate cases listed by ``edge_mdps`` and duplicates detected by ``instance_key``.
"""

from .strategies import (
    EFFECTIVE_GAMMA_MIN,
    GAMMA_RANGE,
    STATE_RANGE,
    edge_mdps,
    instance_key,
    is_effective,
    mdps,
    policies,
    theory_mdps,
)

__all__ = [
    "EFFECTIVE_GAMMA_MIN",
    "GAMMA_RANGE",
    "STATE_RANGE",
    "edge_mdps",
    "instance_key",
    "is_effective",
    "mdps",
    "policies",
    "theory_mdps",
]

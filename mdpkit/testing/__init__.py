"""Reusable test helpers: hypothesis strategies for random MDPs (``mdpkit.testing.strategies``)."""

from .strategies import mdps, policies

__all__ = ["mdps", "policies"]

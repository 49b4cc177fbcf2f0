"""Exceptions and warnings raised by mdpkit.

Every error about user input derives from both :class:`MDPKitError` and :class:`ValueError`
(scikit-learn style), so ``except ValueError`` keeps working.
"""

__all__ = [
    "MDPKitError",
    "InvalidMDPError",
    "InvalidPolicyError",
    "InvalidArgumentError",
    "ModelFileError",
    "MultichainError",
    "ImproperPolicyError",
    "ConvergenceWarning",
]


class MDPKitError(Exception):
    """Base class of every exception raised by mdpkit."""


class InvalidMDPError(MDPKitError, ValueError):
    """The model arrays do not describe a valid MDP (shape, probability, reward, mask, gamma)."""


class InvalidPolicyError(MDPKitError, ValueError):
    """A policy has the wrong shape, an out-of-range or masked action, or rows off the simplex."""


class InvalidArgumentError(MDPKitError, ValueError):
    """A solver or function argument is out of its documented range."""


class ModelFileError(MDPKitError, ValueError):
    """A model file is malformed; the message names the file, the line and what was wrong."""


class MultichainError(MDPKitError, ValueError):
    """The model is multichain, which the requested average-reward method cannot handle."""


class ImproperPolicyError(MDPKitError, ValueError):
    """A policy never reaches the terminal states with probability one (total-reward/SSP)."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` before its stopping rule held."""

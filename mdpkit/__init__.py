"""mdpkit: exact, fast, certified dynamic programming for tabular MDPs."""

from ._exceptions import (
    ConvergenceWarning,
    ImproperPolicyError,
    InvalidArgumentError,
    InvalidMDPError,
    InvalidPolicyError,
    MDPKitError,
    ModelFileError,
    MultichainError,
)
from .model import TabularMDP
from .results import SolveResult, Status

__version__ = "0.1.0"

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
from .linear import LinearMDP
from .bandits import BernoulliBandit, BetaBandit, GaussianBandit
from .model import TabularMDP
from .results import (
    AverageRewardResult,
    DiscountedResult,
    ExactResult,
    FiniteHorizonResult,
    LearningResult,
    LPResult,
    SolveResult,
    Status,
    TotalRewardResult,
)

__version__ = "0.1.0"

__all__ = [
    "AverageRewardResult",
    "BernoulliBandit",
    "BetaBandit",
    "ConvergenceWarning",
    "DiscountedResult",
    "ExactResult",
    "FiniteHorizonResult",
    "GaussianBandit",
    "ImproperPolicyError",
    "InvalidArgumentError",
    "InvalidMDPError",
    "InvalidPolicyError",
    "LPResult",
    "LearningResult",
    "LinearMDP",
    "MDPKitError",
    "ModelFileError",
    "MultichainError",
    "SolveResult",
    "Status",
    "TabularMDP",
    "TotalRewardResult",
]

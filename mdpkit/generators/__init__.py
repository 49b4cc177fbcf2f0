"""The model zoo: published MDPs as exact :class:`~mdpkit.TabularMDP` instances.

Every generator returns a validated model, cites its source and states its conventions
(reward timing, terminal states, state and action order, default ``gamma``).

Sutton & Barto (2018)
---------------------
gridworld_5x5        Example 3.5: 5x5 grid with the A->A' and B->B' jumps (gamma 0.9).
gridworld_4x4        Example 4.1: 4x4 grid, two absorbing terminal corners (gamma 1).
jacks_car_rental     Example 4.2: Jack's car rental, exact Poisson tails (gamma 0.9).
gambler              Example 4.3: the gambler's problem (gamma 1).
cliff_walking        Example 6.6, read from gymnasium's CliffWalking (gamma 1).

Gymnasium toy text (gymnasium is imported only when these are called)
----------------------------------------------------------------------
frozenlake           FrozenLake-v1, 4x4 or 8x8 map, slippery or not (gamma 0.99).
taxi                 Taxi (Dietterich 2000) (gamma 0.99).

Exploration benchmarks
----------------------
riverswim            RiverSwim (Strehl & Littman 2008); default = craam2's CSV (gamma 0.99).
chain                The chain problem (Dearden et al. 1998; Strens 2000) (gamma 0.99).

Random instances
----------------
garnet               Garnet(S, A, b) (Archibald, McKinnon & Thomas 1995), dense or CSR.

Operations research
-------------------
puterman_two_state   Puterman (1994) Sec. 3.1 two-state MDP with analytic v* (gamma 0.95).
inventory            Single-item inventory with lost sales, Puterman Sec. 3.2 / Ex. 4.6.1.
forest               pymdptoolbox's forest management example, entry for entry (gamma 0.95).
machine_replacement  Delage & Mannor (2010) machine replacement, craam2's CSV (gamma 0.8).
fisheries            Harvest MDP of a stock with a tipping point (Allen model) or Ricker growth,
                     the setting of Gaussian-process dynamic programming (Boettiger et al. 2015).
harvest_mdp          The harvest MDP of any next-stock law on a grid (e.g. a GP's predictive law).

Risk-sensitive (finite horizon, integer rewards: exact stock augmentation)
---------------------------------------------------------------------------
cvar_counterexample  A two-step MDP where the CVaR risk-level decomposition overestimates the
                     static optimum (mdpkit.solvers.risk.cvar_decomposition; Hau et al. 2023).
risky_investment     Cash, bonds and stocks under two market regimes (integer rewards).

By name
-------
make                 Build any of the above from a spec, e.g. ``"garnet:S=1000,A=4,b=5"``.
list_models          The names ``make`` accepts, with one-line descriptions.
"""

from ._car_rental import jacks_car_rental
from ._classic import forest, inventory, machine_replacement, puterman_two_state
from ._exploration import chain, riverswim
from ._fisheries import allen_growth, fisheries, harvest_mdp, ricker_growth
from ._gambler import gambler
from ._gridworlds import gridworld_4x4, gridworld_5x5
from ._random import garnet
from ._risk_examples import cvar_counterexample, risky_investment
from ._registry import list_models, make
from ._toy_text import cliff_walking, frozenlake, taxi

__all__ = [
    "allen_growth",
    "chain",
    "cliff_walking",
    "cvar_counterexample",
    "fisheries",
    "forest",
    "frozenlake",
    "gambler",
    "garnet",
    "gridworld_4x4",
    "gridworld_5x5",
    "harvest_mdp",
    "inventory",
    "jacks_car_rental",
    "list_models",
    "machine_replacement",
    "make",
    "puterman_two_state",
    "ricker_growth",
    "risky_investment",
    "riverswim",
    "taxi",
]

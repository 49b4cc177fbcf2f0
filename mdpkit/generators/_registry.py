"""Build a model zoo entry from a short spec string: ``make("garnet:S=1000,A=4,b=5")``."""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from .._exceptions import InvalidArgumentError
from ..model import TabularMDP
from ._car_rental import jacks_car_rental
from ._classic import forest, inventory, machine_replacement, puterman_two_state
from ._exploration import chain, riverswim
from ._fisheries import fisheries
from ._gambler import gambler
from ._gridworlds import gridworld_4x4, gridworld_5x5
from ._random import garnet
from ._risk_examples import cvar_counterexample, risky_investment
from ._toy_text import cliff_walking, frozenlake, taxi

__all__ = ["make", "list_models"]


@dataclass(frozen=True)
class _Entry:
    func: Callable[..., TabularMDP]
    description: str
    fixed: dict[str, Any] = field(default_factory=dict)


#: name -> entry, in the order ``list_models`` shows them.
_MODELS: dict[str, _Entry] = {
    "gridworld": _Entry(gridworld_5x5, "alias of gridworld5x5 (Sutton & Barto Ex. 3.5)"),
    "gridworld5x5": _Entry(
        gridworld_5x5, "Sutton & Barto Ex. 3.5: 5x5 grid with jumps A->A' (+10), B->B' (+5); gamma 0.9"
    ),
    "gridworld4x4": _Entry(
        gridworld_4x4, "Sutton & Barto Ex. 4.1: 4x4 grid, two terminal corners, -1 per step; gamma 1"
    ),
    "gambler": _Entry(gambler, "Sutton & Barto Ex. 4.3: gambler's problem, p_heads=0.4, goal 100; gamma 1"),
    "jacks_car_rental": _Entry(
        jacks_car_rental, "Sutton & Barto Ex. 4.2: Jack's car rental, exact Poisson tails; gamma 0.9"
    ),
    "cliff_walking": _Entry(cliff_walking, "Sutton & Barto Ex. 6.6 via gymnasium CliffWalking: 4x12 grid; gamma 1"),
    "frozenlake": _Entry(frozenlake, "gymnasium FrozenLake-v1 (map_name=4x4|8x8, is_slippery); gamma 0.99"),
    "frozenlake4x4": _Entry(frozenlake, "gymnasium FrozenLake-v1, 4x4 map, slippery; gamma 0.99", {"map_name": "4x4"}),
    "frozenlake8x8": _Entry(frozenlake, "gymnasium FrozenLake-v1, 8x8 map, slippery; gamma 0.99", {"map_name": "8x8"}),
    "taxi": _Entry(taxi, "gymnasium Taxi (Dietterich 2000): 500 states + terminal, 6 actions; gamma 0.99"),
    "riverswim": _Entry(
        riverswim, "RiverSwim (Strehl & Littman 2008), equal to craam2's riverswim_mdp.csv; gamma 0.99"
    ),
    "chain": _Entry(chain, "chain problem (Dearden et al. 1998, Strens 2000): 5 states, slip 0.2; gamma 0.99"),
    "garnet": _Entry(garnet, "random Garnet(S, A, b) (Archibald et al. 1995); needs S, A, b; gamma 0.9"),
    "forest": _Entry(forest, "pymdptoolbox forest management (wait/cut, fire prob. p); gamma 0.95"),
    "puterman_two_state": _Entry(
        puterman_two_state, "Puterman 1994 Sec. 3.1 two-state MDP with analytic v*; gamma 0.95"
    ),
    "machine_replacement": _Entry(
        machine_replacement, "machine replacement (Delage & Mannor 2010), craam2's CSV; gamma 0.8"
    ),
    "inventory": _Entry(
        inventory, "single-item inventory, lost sales (Puterman 1994 Sec. 3.2, Ex. 4.6.1); gamma 0.9"
    ),
    "cvar_counterexample": _Entry(
        cvar_counterexample, "2-step MDP where the CVaR risk-level decomposition over-estimates (after Hau et al. "
        "2023); gamma 1, use horizon 2"
    ),
    "risky_investment": _Entry(
        risky_investment, "two market regimes, cash/bonds/stocks, integer rewards (CVaR vs mean); gamma 1"
    ),
    "fisheries": _Entry(
        fisheries, "harvest MDP, Allen growth with a tipping point (Boettiger et al. 2015 setting); gamma 0.95"
    ),
}

#: extra spellings accepted by ``make`` (not listed)
_ALIASES = {
    "puterman_3_1": "puterman_two_state",
    "car_rental": "jacks_car_rental",
    "frozen_lake": "frozenlake",
    "cliffwalking": "cliff_walking",
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


_LOOKUP: dict[str, str] = {_key(n): n for n in _MODELS}
_LOOKUP.update({_key(a): n for a, n in _ALIASES.items()})


def list_models() -> list[tuple[str, str]]:
    """Names accepted by :func:`make`, each with a one-line description.

    Returns
    -------
    list of (str, str)
        ``(name, description)`` pairs in a fixed order (grid worlds, Sutton & Barto, gymnasium,
        exploration, random, operations research).

    Examples
    --------
    >>> from mdpkit.generators import list_models
    >>> dict(list_models())["gridworld"]
    'alias of gridworld5x5 (Sutton & Barto Ex. 3.5)'
    """
    return [(n, e.description) for n, e in _MODELS.items()]


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _scalar_types(param: inspect.Parameter) -> tuple[type, ...] | None:
    """Scalar types a spec value may take for this parameter: from the default when it is not
    None, else from the annotation; ``None`` when neither says (then the value is guessed)."""
    _scalars = (bool, int, float, str)
    if param.default is not inspect.Parameter.empty and param.default is not None:
        return (type(param.default),) if type(param.default) in _scalars else ()
    ann = param.annotation
    if ann is inspect.Parameter.empty:
        return None
    union = isinstance(ann, types.UnionType) or typing.get_origin(ann) is typing.Union
    args = typing.get_args(ann) if union else (ann,)
    return tuple(t for t in args if t in _scalars)


def _convert(model: str, pname: str, raw: str, param: inspect.Parameter) -> Any:
    text = raw.strip()
    low = text.lower()
    if param.default is None and low == "none":
        return None
    allowed = _scalar_types(param)
    if allowed == ():
        raise InvalidArgumentError(f"{model}: parameter {pname} cannot be set from a spec string")
    order = allowed or (int, float, bool, str)
    for t in order:
        if t is bool:
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        elif t is int:
            try:
                return int(text)
            except ValueError:
                pass
        elif t is float:
            try:
                return float(text)
            except ValueError:
                pass
        elif t is str:
            return text
    want = " or ".join(t.__name__ for t in order)
    raise InvalidArgumentError(f"{model}: parameter {pname}={raw!r} is not a valid {want}")


def make(spec: str) -> TabularMDP:
    """Build a model of the zoo from a spec ``"name"`` or ``"name:key=value,key=value"``.

    Parameters
    ----------
    spec : str
        A model name from :func:`list_models` (case, ``_`` and ``-`` are ignored), optionally
        followed by ``:`` and comma-separated ``key=value`` settings of the generator's
        parameters.  Values are converted to the type of the parameter's default (``int``,
        ``float``, ``bool`` as ``true/false/1/0/yes/no``, ``str``); ``none`` gives None.
        Examples: ``"gridworld"``, ``"frozenlake8x8"``, ``"garnet:S=1000,A=4,b=5,rng=0"``,
        ``"jacks_car_rental:truncated=true"``.

    Returns
    -------
    TabularMDP

    Raises
    ------
    InvalidArgumentError
        For an unknown name (close matches are suggested), an unknown, repeated, missing or
        ill-typed parameter, or a parameter fixed by the name (``frozenlake8x8:map_name=4x4``).
        Errors of the generator itself propagate unchanged.

    Notes
    -----
    ``"gridworld"`` is the 5x5 grid of Sutton & Barto Example 3.5 (the book's first grid
    world); ``"gridworld4x4"`` is Example 4.1.

    Examples
    --------
    >>> from mdpkit.generators import make
    >>> make("garnet:S=50,A=3,b=4,rng=1").S
    50
    >>> make("frozenlake8x8").grid_shape
    (8, 8)
    """
    if not isinstance(spec, str):
        raise InvalidArgumentError(f"spec must be a string like 'garnet:S=100,A=4,b=5', got {type(spec).__name__}")
    name, _, rest = spec.strip().partition(":")
    canonical = _LOOKUP.get(_key(name))
    if canonical is None:
        close = difflib.get_close_matches(_key(name), list(_LOOKUP), n=3, cutoff=0.6)
        close_names = list(dict.fromkeys(_LOOKUP[c] for c in close))
        hint = f"; did you mean {', '.join(close_names)}?" if close_names else ""
        raise InvalidArgumentError(f"unknown model {name.strip()!r}{hint} (see list_models())")
    entry = _MODELS[canonical]
    params = inspect.signature(entry.func, eval_str=True).parameters
    kwargs: dict[str, Any] = {}
    for item in (x.strip() for x in rest.split(",")):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise InvalidArgumentError(f"{canonical}: expected key=value, got {item!r}")
        if key not in params:
            close = difflib.get_close_matches(key, list(params), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InvalidArgumentError(
                f"{canonical}: unknown parameter {key!r}{hint} (parameters: {', '.join(params)})"
            )
        if key in entry.fixed:
            raise InvalidArgumentError(f"{canonical}: parameter {key} is fixed to {entry.fixed[key]!r} by this name")
        if key in kwargs:
            raise InvalidArgumentError(f"{canonical}: parameter {key} given twice")
        kwargs[key] = _convert(canonical, key, value, params[key])
    kwargs.update(entry.fixed)
    missing = [p for p, v in params.items() if v.default is inspect.Parameter.empty and p not in kwargs]
    if missing:
        example = ",".join(f"{p}=..." for p in missing)
        raise InvalidArgumentError(f"{canonical} needs parameter(s) {', '.join(missing)}, e.g. '{canonical}:{example}'")
    return entry.func(**kwargs)

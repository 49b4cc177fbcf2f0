"""Theorem checks: the records, the registry and the runner.

A :class:`Theorem` pairs a *subject* (the code under test: a solver, an operator, an evaluator)
with a bound from :mod:`mdpkit.bounds` over a family of instances.  Running it produces one
:class:`Observation` per instance: arrays ``observed`` and ``bound`` of the same shape, compared
elementwise as ``observed <= bound + atol + rtol*|bound|`` (:func:`mdpkit.bounds.bound_ratio`),
and optionally a fitted rate compared with a claimed one.  Each theorem also names a *negative
control*: a deliberately wrong subject on which the check must fail, so no check is vacuous.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from mdpkit._exceptions import ConvergenceWarning, InvalidArgumentError
from mdpkit.bounds import bound_ratio, fit_rate

__all__ = ["Theorem", "Observation", "CheckResult", "register", "get", "list_theorems", "check", "REGISTRY"]


@dataclass
class Observation:
    """What one instance showed.

    Attributes
    ----------
    observed, bound : ndarray
        Same shape; the claim is ``observed <= bound`` elementwise (up to the slack).
    x : ndarray or None
        Iteration index of each entry when the arrays are traces (for plots and rate fits).
    rtol, atol : float
        Floating-point slack of the comparison (``atol`` may scale with the instance).
    rate_trace : ndarray or None
        Trace whose geometric rate is fitted (e.g. the error per iteration).
    claimed_rate : float or None
        The rate the theorem claims for ``rate_trace``; the fitted rate must not exceed it
        (by more than ``rate_rtol``).
    label : str
        Where the instance came from (zoo name or "random S=.. A=.. gamma=..").
    info : dict
        Anything else worth reporting (e.g. iteration counts).
    """

    observed: np.ndarray
    bound: np.ndarray
    x: np.ndarray | None = None
    rtol: float = 1e-9
    atol: float = 1e-12
    rate_trace: np.ndarray | None = None
    rate_floor: float = 0.0
    claimed_rate: float | None = None
    rate_rtol: float = 1e-6
    label: str = ""
    info: dict = field(default_factory=dict)

    # filled in by ``evaluate``
    ratio: float = math.nan
    fitted_rate: float | None = None
    passed: bool = False

    def evaluate(self) -> "Observation":
        """Compute the worst ratio, the fitted rate and the verdict for this instance."""
        self.observed = np.atleast_1d(np.asarray(self.observed, dtype=float))
        self.bound = np.atleast_1d(np.asarray(self.bound, dtype=float))
        r = bound_ratio(self.observed, self.bound, rtol=self.rtol, atol=self.atol)
        self.ratio = float(np.nanmax(r)) if r.size and not np.isnan(r).all() else math.nan
        ok = bool(np.all(r <= 1.0)) and not np.isnan(r).any()
        if self.rate_trace is not None:
            fit = fit_rate(self.rate_trace, floor=self.rate_floor)
            self.fitted_rate = None if fit is None else fit.rate
            if fit is not None and self.claimed_rate is not None:
                ok = ok and fit.rate <= self.claimed_rate * (1.0 + self.rate_rtol) + 1e-12
        self.passed = ok
        return self


@dataclass(frozen=True)
class Theorem:
    """A registered theorem check.

    Attributes
    ----------
    name : str
        Short identifier used on the command line (``vi-contraction``).
    statement : str
        The inequality or identity, in plain text.
    source : str
        Paper or book with theorem number.
    compare : {"bound", "identity", "rate"}
        What the check compares (observed vs bound, identity residual vs round-off, or a rate).
    subject : callable
        The default code under test (an mdpkit solver or operator).
    subject_doc : str
        The call signature a user-supplied subject must have.
    run : callable
        ``run(mdp, rng, subject) -> Observation``; every extra input (a start vector, a second
        policy, a perturbation) is drawn from the ``numpy.random.Generator`` ``rng``.
    family : callable
        ``family() -> hypothesis strategy`` drawing :class:`~mdpkit.TabularMDP` instances.
    negative : callable
        A deliberately wrong subject with the same signature; the check must fail on it.
    negative_doc : str
        What is wrong with the negative control.
    zoo : tuple of str
        Zoo models (``mdpkit.generators.make`` specs) also run as instances.
    claimed_rate : str
        How the claimed rate reads in the report (e.g. ``"gamma"``), or "".
    plot : {"trace", "ratio"}
        Trace plots draw observed and bound against iteration; ratio plots a histogram.
    default : bool
        In the default set of ``mdpkit verify``.
    """

    name: str
    statement: str
    source: str
    compare: str
    subject: Callable
    subject_doc: str
    run: Callable
    family: Callable
    negative: Callable
    negative_doc: str
    zoo: tuple = ()
    claimed_rate: str = ""
    plot: str = "trace"
    default: bool = True
    ylabel: str = "error"


REGISTRY: dict[str, Theorem] = {}


def register(th: Theorem) -> Theorem:
    """Add a theorem to the registry (names are unique)."""
    if th.name in REGISTRY:
        raise InvalidArgumentError(f"theorem {th.name!r} is already registered")
    REGISTRY[th.name] = th
    return th


def _ensure_loaded() -> None:
    from . import _distributional, _dp, _risk, _robust  # noqa: F401  (register the theorem checks)


def get(name: str) -> Theorem:
    """The registered theorem called ``name``; raises :class:`InvalidArgumentError` otherwise."""
    _ensure_loaded()
    if isinstance(name, Theorem):
        return name
    if name not in REGISTRY:
        raise InvalidArgumentError(f"unknown theorem {name!r}; registered: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def list_theorems(default_only: bool = False) -> list[Theorem]:
    """Registered theorems in registration order."""
    _ensure_loaded()
    return [t for t in REGISTRY.values() if t.default or not default_only]


@dataclass
class CheckResult:
    """Outcome of :func:`check` for one theorem.

    ``passed`` is True when every instance satisfied the claim.  ``control_failed`` is True when
    the negative control was run and failed as it must (None if it was not run).  ``ok`` combines
    both: the check passed *and* is not vacuous.
    """

    theorem: Theorem
    observations: list
    passed: bool
    worst_ratio: float
    median_ratio: float
    fitted_rate: float | None
    claimed_rate: str
    n_instances: int
    control_failed: bool | None = None
    control_worst_ratio: float | None = None
    control_observations: list | None = None
    seed: int = 0
    wall_time: float = 0.0
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.passed and not self.errors and self.control_failed is not False

    @property
    def verdict(self) -> str:
        if self.errors:
            return "ERROR"
        if not self.passed:
            return "FAIL"
        if self.control_failed is False:
            return "VACUOUS"
        return "PASS"

    def failures(self) -> list:
        return [o for o in self.observations if not o.passed]

    def to_dict(self) -> dict:
        th = self.theorem

        def obs(o):
            return {
                "label": o.label, "passed": o.passed, "ratio": _num(o.ratio), "fitted_rate": _num(o.fitted_rate),
                "claimed_rate": _num(o.claimed_rate), "info": {k: _num(v) for k, v in o.info.items()},
            }

        return {
            "theorem": th.name, "statement": th.statement, "source": th.source, "compare": th.compare,
            "subject": th.subject_doc, "negative_control": th.negative_doc, "verdict": self.verdict,
            "passed": self.passed, "control_failed": self.control_failed, "n_instances": self.n_instances,
            "worst_ratio": _num(self.worst_ratio), "median_ratio": _num(self.median_ratio),
            "fitted_rate": _num(self.fitted_rate), "claimed_rate": self.claimed_rate,
            "control_worst_ratio": _num(self.control_worst_ratio), "seed": self.seed,
            "wall_time": self.wall_time, "errors": self.errors, "instances": [obs(o) for o in self.observations],
        }


def _num(x):
    if x is None:
        return None
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return x if isinstance(x, (str, bool)) else str(x)


def _draw_and_run(th: Theorem, subject, n: int, seed: int, steer: bool) -> list:
    """Run ``th`` on ``n`` instances drawn from its hypothesis family, steering toward tight ones."""
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    out: list = []
    phases = (Phase.generate, Phase.target) if steer else (Phase.generate,)

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=phases, derandomize=False,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(th.family(), st.integers(0, 2**32 - 1))
    def _one(mdp, inst_seed):
        o = _run_one(th, mdp, inst_seed, subject)
        out.append(o)
        if steer and math.isfinite(o.ratio):
            target(float(o.ratio), label="worst observed/bound ratio")

    _one()
    return out


def _run_one(th: Theorem, mdp, inst_seed: int, subject) -> Observation:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        o = th.run(mdp, np.random.default_rng(inst_seed), subject)
    if not o.label:
        o.label = _describe(mdp)
    o.info.setdefault("instance_seed", int(inst_seed))
    return o.evaluate()


def _describe(mdp) -> str:
    name = getattr(mdp, "name", "") or "random"
    return f"{name} S={mdp.S} A={mdp.A} gamma={mdp.gamma:g}"


def _summary(th, obs, seed, t0, errors, control=None):
    ratios = np.array([o.ratio for o in obs], dtype=float)
    fits = [o.fitted_rate for o in obs if o.fitted_rate is not None]
    passed = bool(obs) and all(o.passed for o in obs)
    return CheckResult(
        theorem=th, observations=obs, passed=passed,
        worst_ratio=float(np.nanmax(ratios)) if ratios.size and not np.isnan(ratios).all() else math.nan,
        median_ratio=float(np.nanmedian(ratios)) if ratios.size and not np.isnan(ratios).all() else math.nan,
        fitted_rate=float(max(fits)) if fits else None, claimed_rate=th.claimed_rate,
        n_instances=len(obs), seed=seed, wall_time=time.perf_counter() - t0, errors=errors,
    )


def check(
    theorem: str | Theorem,
    *,
    mdp=None,
    instances: Sequence | None = None,
    solver: Callable | None = None,
    n_examples: int = 30,
    seed: int = 0,
    zoo: bool = True,
    negative_control: bool = True,
    steer: bool = True,
) -> CheckResult:
    """Run one theorem check and return its :class:`CheckResult`.

    Parameters
    ----------
    theorem : str or Theorem
        A registered name (``mdpkit.theory.list_theorems()``).
    mdp : TabularMDP, optional
        Run on this model only (the instance family is not drawn).  Any extra inputs the
        theorem needs (a starting vector, a second policy) are drawn from ``seed``.
    instances : sequence, optional
        Explicit instances: MDPs, or ``(mdp, seed)`` pairs fixing the extra random inputs.
    solver : callable, optional
        Replace the subject under test (e.g. your own value iteration); it must have the
        signature in ``theorem.subject_doc``.
    n_examples : int
        Number of random instances drawn from the family (hypothesis, seeded by ``seed``,
        with ``hypothesis.target`` steering toward near-tight instances when ``steer``).
        The same seed gives the same instances in a fresh process (as ``mdpkit verify`` runs);
        within one long session the draws can differ slightly, because hypothesis mixes
        constants found in loaded non-site-packages modules into its draws.
    zoo : bool
        Also run the theorem's zoo models.
    negative_control : bool
        Also run the deliberately wrong subject, which must fail.

    Returns
    -------
    CheckResult
    """
    th = get(theorem)
    subject = th.subject if solver is None else solver
    t0 = time.perf_counter()
    if int(n_examples) < 0:
        raise InvalidArgumentError(f"n_examples must be >= 0, got {n_examples}")

    def run_all(subj, steer_it):
        obs, errors = [], []
        explicit = instances is not None or mdp is not None
        try:
            if mdp is not None:
                obs.append(_run_one(th, mdp, seed, subj))
            elif instances is not None:
                for inst in instances:
                    m, s_ = inst if isinstance(inst, (tuple, list)) else (inst, seed)
                    obs.append(_run_one(th, m, s_, subj))
            else:
                if n_examples:
                    obs.extend(_draw_and_run(th, subj, int(n_examples), seed, steer_it))
            if zoo and not explicit:
                from mdpkit import generators

                obs.extend(_run_one(th, generators.make(spec), seed, subj) for spec in th.zoo)
        except Exception as e:  # an exception in the subject is a failed check, reported not raised
            if isinstance(e, InvalidArgumentError) and explicit and subj is th.subject:
                raise
            errors.append(f"{type(e).__name__}: {e}")
        return obs, errors

    obs, errors = run_all(subject, steer)
    res = _summary(th, obs, seed, t0, errors)
    if negative_control:
        cobs, cerr = run_all(th.negative, False)
        cres = _summary(th, cobs, seed, t0, [])
        res.control_failed = bool(cerr) or not cres.passed
        res.control_worst_ratio = cres.worst_ratio
        res.control_observations = cobs
    res.wall_time = time.perf_counter() - t0
    return res


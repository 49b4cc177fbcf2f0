"""Theorem checks: the records, the registry and the runner.

A :class:`Theorem` pairs a *subject* (the code under test: a solver, an operator, an evaluator)
with a bound from :mod:`mdpkit.bounds` over a family of instances.  Running it produces one
:class:`Observation` per instance: arrays ``observed`` and ``bound`` of the same shape, compared
elementwise as ``observed <= bound + atol + rtol*|bound|`` (:func:`mdpkit.bounds.bound_ratio`),
and optionally a fitted rate compared with a claimed one.

Three things keep a PASS honest:

* **Instances that mean something.**  Random draws are deduplicated (:func:`mdpkit.testing.instance_key`)
  and counted as *effective* only when non-degenerate (``S >= 2``, ``gamma >= 0.05``,
  :func:`mdpkit.testing.is_effective`); tight instances (``Theorem.tight``) and degenerate edge
  cases (``Theorem.edge``) run as explicit extra instances and are reported separately.
* **A negative control** (``Theorem.negative`` and ``Theorem.controls``): deliberately wrong
  subjects that break the claimed property itself; each must fail the same check.  An exception
  in a control is an *error* (verdict ERROR), never counted as the control failing.
* **A mutation control** for bound and rate checks: the same observations judged against the
  bound scaled by 1/2 and against the claimed rate squared (the stronger claim: the rate
  ``rho`` becomes ``rho**2``, i.e. the claimed ``log``-rate doubles).  A check whose observations
  still pass the mutated claim could not detect a constant off by a factor 2: it is marked
  ``low power`` with the reason.
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

__all__ = ["Theorem", "Observation", "CheckResult", "register", "get", "list_theorems", "check", "REGISTRY",
           "MUTATION_BOUND_SCALE", "N_CONTROL_INSTANCES", "N_STEER"]

#: the mutation control scales every bound by this factor (and squares every claimed rate)
MUTATION_BOUND_SCALE = 0.5
#: the negative controls run on the tight instances plus this many others (more, one by one, until they fail)
N_CONTROL_INSTANCES = 8
#: extra hypothesis examples steered (``hypothesis.target``) toward large ratios, per check
N_STEER = 4


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
    part : ndarray of int or None
        For multi-part claims: the index into ``Theorem.parts`` of every entry of ``observed``.

    Filled in by the runner: ``ratio`` (worst ratio), ``fitted_rate``, ``rate_ratio``
    (fitted / claimed), ``passed``; ``key`` (content key of the instance), ``origin``
    ("random", "steered", "tight", "edge", "zoo" or "given"), ``S``, ``gamma`` (None when the
    instance has none) and ``effective``.
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
    part: np.ndarray | None = None

    # filled in by ``evaluate`` and the runner
    ratio: float = math.nan
    fitted_rate: float | None = None
    rate_ratio: float | None = None
    passed: bool = False
    key: str = ""
    origin: str = ""
    S: int | None = None
    gamma: float | None = None
    effective: bool = True

    def judge(self, bound_scale: float = 1.0, rate_power: float = 1.0):
        """``(passed, ratios)`` against the bound times ``bound_scale`` and the claimed rate to ``rate_power``.

        ``ratios`` is the elementwise ratio array (:func:`mdpkit.bounds.bound_ratio`).  The
        mutation control calls this with ``bound_scale=1/2`` and with ``rate_power=2``.
        """
        obs = np.atleast_1d(np.asarray(self.observed, dtype=float))
        bnd = np.atleast_1d(np.asarray(self.bound, dtype=float)) * bound_scale
        r = bound_ratio(obs, bnd, rtol=self.rtol, atol=self.atol)
        ok = bool(np.all(r <= 1.0)) and not np.isnan(r).any()
        if self.fitted_rate is not None and self.claimed_rate is not None:
            claim = float(self.claimed_rate) ** rate_power
            ok = ok and self.fitted_rate <= claim * (1.0 + self.rate_rtol) + 1e-12
        return ok, r

    def evaluate(self) -> "Observation":
        """Compute the worst ratio, the fitted rate and the verdict for this instance."""
        self.observed = np.atleast_1d(np.asarray(self.observed, dtype=float))
        self.bound = np.atleast_1d(np.asarray(self.bound, dtype=float))
        if self.rate_trace is not None:
            fit = fit_rate(self.rate_trace, floor=self.rate_floor)
            self.fitted_rate = None if fit is None else fit.rate
            if fit is not None and self.claimed_rate is not None and self.claimed_rate > 0:
                self.rate_ratio = fit.rate / float(self.claimed_rate)
        ok, r = self.judge()
        self.ratio = float(np.nanmax(r)) if r.size and not np.isnan(r).all() else math.nan
        self.passed = ok
        return self

    def part_ratios(self, n_parts: int) -> list:
        """Worst ratio of each part (NaN for a part this observation has no entry of)."""
        _, r = self.judge()
        out = []
        for j in range(max(1, n_parts)):
            sel = r if self.part is None or n_parts <= 1 else r[np.asarray(self.part).ravel() == j]
            out.append(float(np.nanmax(sel)) if sel.size and not np.isnan(sel).all() else math.nan)
        return out


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
    compare : {"bound", "identity", "rate", "bound+rate", "identity+bound"}
        What the check compares (observed vs bound, identity residual vs round-off, or a rate).
    subject : callable
        The default code under test (an mdpkit solver or operator).
    subject_doc : str
        The call signature a user-supplied subject must have.
    run : callable
        ``run(instance, rng, subject) -> Observation``; every extra input (a start vector, a
        second policy, a perturbation) is drawn from the ``numpy.random.Generator`` ``rng``.
    family : callable
        ``family() -> hypothesis strategy`` drawing instances (:class:`~mdpkit.TabularMDP` or
        any other object: bandit instances, linear MDPs, games).
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
    ylabel : str
        Axis label of trace plots.
    parts : tuple of str
        Names of the parts of a multi-part claim (``Observation.part`` indexes them); each part
        gets its own worst ratio and plot panel.
    tight : callable or None
        ``tight() -> list`` of instances (or ``(instance, seed)`` pairs) on which the bound is
        attained or nearly so (literature or constructed examples); run on every check.
    edge : callable or None
        ``edge() -> list`` of degenerate instances (``gamma = 0``, ``S = 1``) run as explicit
        extras; they must pass but do not count as effective instances.
    controls : tuple of (str, callable)
        Further negative controls ``(doc, subject)``, each of which must fail too.
    power_note : str
        Why the check cannot reach its bound, shown when the mutation control marks it low power.
    source_checked : bool
        Whether the theorem number in ``source`` was checked against the source text.
    mutation : bool or None
        Run the mutation control; None (default) means for ``compare`` containing "bound" or "rate".
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
    parts: tuple = ()
    tight: Callable | None = None
    edge: Callable | None = None
    controls: tuple = ()
    power_note: str = ""
    source_checked: bool = False
    mutation: bool | None = None

    @property
    def has_mutation(self) -> bool:
        if self.mutation is not None:
            return bool(self.mutation)
        return "bound" in self.compare or "rate" in self.compare


REGISTRY: dict[str, Theorem] = {}


def register(th: Theorem) -> Theorem:
    """Add a theorem to the registry (names are unique)."""
    if th.name in REGISTRY:
        raise InvalidArgumentError(f"theorem {th.name!r} is already registered")
    REGISTRY[th.name] = th
    return th


def _ensure_loaded() -> None:
    from . import (  # noqa: F401  (register the theorem checks)
        _bandits, _classics, _distributional, _dp, _linear, _online, _pg, _reachability, _risk, _risk_bracket, _robust,
        _structure,
    )


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
    every negative control was run and failed as it must (None if none was run).  ``ok``
    combines both: the check passed, no control raised, *and* it is not vacuous.

    Power fields: ``n_effective`` distinct non-degenerate instances, ``gamma_range`` and
    ``S_range`` over them (None when the instances have no such attribute), ``tight_ratio`` the
    largest ratio on the tight instances, ``rate_ratio`` the largest fitted/claimed rate,
    ``mutation`` ``{"bound": bool, "rate": bool}`` (True = the mutated claim failed, as it must),
    ``power`` ``"ok"``, ``"low power: <reason>"`` or ``"n/a"``.
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
    n_effective: int = 0
    gamma_range: tuple | None = None
    S_range: tuple | None = None
    tight_ratio: float | None = None
    rate_ratio: float | None = None
    mutation: dict = field(default_factory=dict)
    power: str = "n/a"
    control_errors: list = field(default_factory=list)
    controls: list = field(default_factory=list)
    part_worst: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.passed and not self.errors and not self.control_errors and self.control_failed is not False

    @property
    def low_power(self) -> bool:
        return self.power.startswith("low power")

    @property
    def verdict(self) -> str:
        if self.errors or self.control_errors:
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
                "label": o.label, "origin": o.origin, "effective": o.effective, "key": o.key,
                "S": _num(o.S), "gamma": _num(o.gamma), "passed": o.passed, "ratio": _num(o.ratio),
                "fitted_rate": _num(o.fitted_rate), "claimed_rate": _num(o.claimed_rate),
                "rate_ratio": _num(o.rate_ratio), "info": {k: _num(v) for k, v in o.info.items()},
            }

        return {
            "theorem": th.name, "statement": th.statement, "source": th.source,
            "source_checked": th.source_checked, "compare": th.compare, "parts": list(th.parts),
            "subject": th.subject_doc, "negative_control": th.negative_doc,
            "controls": self.controls, "verdict": self.verdict,
            "passed": self.passed, "control_failed": self.control_failed, "control_errors": self.control_errors,
            "n_instances": self.n_instances, "n_effective": self.n_effective,
            "gamma_range": None if self.gamma_range is None else [_num(x) for x in self.gamma_range],
            "S_range": None if self.S_range is None else [_num(x) for x in self.S_range],
            "worst_ratio": _num(self.worst_ratio), "max_ratio": _num(self.worst_ratio),
            "median_ratio": _num(self.median_ratio), "tight_ratio": _num(self.tight_ratio),
            "part_worst_ratio": {k: _num(v) for k, v in self.part_worst.items()},
            "fitted_rate": _num(self.fitted_rate), "claimed_rate": self.claimed_rate,
            "rate_ratio": _num(self.rate_ratio),
            "mutation": {k: v for k, v in self.mutation.items()}, "power": self.power,
            "low_power": self.low_power, "power_note": th.power_note,
            "control_worst_ratio": _num(self.control_worst_ratio), "seed": self.seed,
            "wall_time": self.wall_time, "errors": self.errors, "instances": [obs(o) for o in self.observations],
        }


def _num(x):
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    return x if isinstance(x, str) else str(x)


class _Enough(Exception):
    """Raised inside the hypothesis test to stop drawing once enough distinct instances ran."""


def _draw(th: Theorem, n: int, seed: int, seen: set, *, steer: bool, cache: dict, run_inst) -> list:
    """Draw up to ``n`` distinct new instances from ``th.family()`` (plus steered ones if ``steer``).

    ``run_inst(instance, inst_seed, origin) -> Observation`` runs one; duplicates (same
    :func:`mdpkit.testing.instance_key`) are skipped (their cached ratio still feeds
    ``hypothesis.target`` when steering).  Returns the list of ``(instance, inst_seed)`` run.
    """
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from mdpkit.testing import instance_key

    ran: list = []

    def one_pass(budget: int, max_examples: int, phases, origin: str):
        count = [0]

        @hseed(seed)
        @settings(max_examples=max_examples, database=None, deadline=None, phases=phases, derandomize=False,
                  suppress_health_check=list(HealthCheck), report_multiple_bugs=False, verbosity=Verbosity.quiet)
        @given(th.family(), st.integers(0, 2**32 - 1))
        def _one(inst, inst_seed):
            if count[0] >= budget:
                raise _Enough
            key = instance_key(inst)
            if key in seen:
                o = cache.get(key)
            else:
                seen.add(key)
                count[0] += 1
                o = run_inst(inst, inst_seed, origin)
                cache[key] = o
                ran.append((inst, inst_seed))
            if origin == "steered" and o is not None and math.isfinite(o.ratio):
                target(float(o.ratio), label="worst observed/bound ratio")

        try:
            _one()
        except _Enough:
            pass

    if n > 0:
        one_pass(n, 3 * n + 10, (Phase.generate,), "random")
    if steer and n > 0 and N_STEER > 0:
        one_pass(N_STEER, 2 * N_STEER + 2 * n, (Phase.generate, Phase.target), "steered")
    return ran


def _run_one(th: Theorem, inst, inst_seed: int, subject, origin: str = "given") -> Observation:
    from mdpkit.testing import instance_key, is_effective

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        o = th.run(inst, np.random.default_rng(inst_seed), subject)
    if not o.label:
        o.label = _describe(inst)
    o.info.setdefault("instance_seed", int(inst_seed))
    o.origin = origin
    o.key = instance_key(inst)
    S, g = getattr(inst, "S", None), getattr(inst, "gamma", None)
    o.S = int(S) if isinstance(S, (int, np.integer)) else None
    o.gamma = float(g) if isinstance(g, (int, float, np.floating, np.integer)) else None
    o.effective = origin not in ("edge",) and is_effective(inst)
    return o.evaluate()


def _describe(inst) -> str:
    name = getattr(inst, "name", "") or type(inst).__name__
    if type(inst).__name__ == "TabularMDP" and not getattr(inst, "name", ""):
        name = "random"
    bits = []
    for attr in ("S", "A", "K", "d", "H", "gamma"):
        v = getattr(inst, attr, None)
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            bits.append(f"{attr}={v:g}" if isinstance(v, (float, np.floating)) else f"{attr}={int(v)}")
    return " ".join([str(name)] + bits)


def _ranges(obs):
    eff = [o for o in obs if o.effective]
    gs = [o.gamma for o in eff if o.gamma is not None]
    Ss = [o.S for o in eff if o.S is not None]
    return (len({o.key for o in eff}), (min(gs), max(gs)) if gs else None, (min(Ss), max(Ss)) if Ss else None)


def _summary(th, obs, seed, t0, errors):
    ratios = np.array([o.ratio for o in obs], dtype=float)
    fits = [o.fitted_rate for o in obs if o.fitted_rate is not None]
    rr = [o.rate_ratio for o in obs if o.rate_ratio is not None]
    passed = bool(obs) and all(o.passed for o in obs) and not errors
    n_eff, g_rng, s_rng = _ranges(obs)
    tight = [o.ratio for o in obs if o.origin == "tight" and math.isfinite(o.ratio)]
    fin = ratios[~np.isnan(ratios)] if ratios.size else ratios
    res = CheckResult(
        theorem=th, observations=obs, passed=passed,
        worst_ratio=float(np.max(fin)) if fin.size else math.nan,
        median_ratio=float(np.median(fin)) if fin.size else math.nan,
        fitted_rate=float(max(fits)) if fits else None, claimed_rate=th.claimed_rate,
        n_instances=len(obs), seed=seed, wall_time=time.perf_counter() - t0, errors=errors,
        n_effective=n_eff, gamma_range=g_rng, S_range=s_rng, tight_ratio=max(tight) if tight else None,
        rate_ratio=float(max(rr)) if rr else None,
    )
    if len(th.parts) > 1:
        per = np.array([o.part_ratios(len(th.parts)) for o in obs], dtype=float).reshape(-1, len(th.parts))
        res.part_worst = {p: (float(np.nanmax(per[:, j])) if per.size and not np.isnan(per[:, j]).all() else math.nan)
                          for j, p in enumerate(th.parts)}
    return res


def _mutation(th: Theorem, res: CheckResult) -> None:
    """Judge the observations against the halved bound and the squared claimed rate."""
    if not th.has_mutation or not res.observations:
        res.power = "n/a"
        return
    obs = res.observations
    reasons = []
    has_bound = any(np.any(np.asarray(o.bound) != 0) for o in obs)
    if has_bound:
        failed = any(not o.judge(bound_scale=MUTATION_BOUND_SCALE)[0] for o in obs)
        res.mutation["bound"] = failed
        if not failed:
            reasons.append(f"bound x {MUTATION_BOUND_SCALE:g} still holds (max ratio {res.worst_ratio:.3g})")
    if any(o.claimed_rate is not None and o.fitted_rate is not None for o in obs):
        failed = any(not o.judge(rate_power=2.0)[0] for o in obs)
        res.mutation["rate"] = failed
        if not failed:
            reasons.append(f"claimed rate squared still holds (max fitted/claimed {res.rate_ratio:.3g})")
    if not res.mutation:
        res.power = "n/a"
    elif reasons:
        note = f"; {th.power_note}" if th.power_note else ""
        res.power = "low power: " + "; ".join(reasons) + note
    else:
        res.power = "ok"


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
    extras: bool = True,
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
        Number of *distinct* random instances drawn from the family (hypothesis, seeded by
        ``seed``; duplicates are skipped), plus, when ``steer``, a few examples steered by
        ``hypothesis.target`` toward large ratios.  The same seed gives the same instances in a
        fresh process (as ``mdpkit verify`` runs); within one long session the draws can differ
        slightly, because hypothesis mixes constants found in loaded modules into its draws.
    zoo : bool
        Also run the theorem's zoo models.
    negative_control : bool
        Also run the deliberately wrong subjects (on the tight instances and the first
        :data:`N_CONTROL_INSTANCES` others, then on further instances only until they fail), each
        of which must fail on at least one instance.
    extras : bool
        Also run the theorem's tight and edge instances (when drawing from the family).

    Returns
    -------
    CheckResult
    """
    th = get(theorem)
    subject = th.subject if solver is None else solver
    t0 = time.perf_counter()
    if int(n_examples) < 0:
        raise InvalidArgumentError(f"n_examples must be >= 0, got {n_examples}")
    explicit = instances is not None or mdp is not None

    obs: list = []
    errors: list = []
    runs: list = []  # (instance, seed, origin) in run order, for the controls

    def run_inst(inst, s_, origin):
        try:
            o = _run_one(th, inst, s_, subject, origin)
        except Exception as e:  # an exception in the subject is an error, reported not raised
            if isinstance(e, InvalidArgumentError) and explicit and solver is None:
                raise
            errors.append(f"{_describe(inst)} ({origin}): {type(e).__name__}: {e}")
            return None
        obs.append(o)
        runs.append((inst, s_, origin))
        return o

    def listed(fn):
        out = []
        for item in fn() if fn is not None else ():
            out.append(item if isinstance(item, (tuple, list)) else (item, seed))
        return out

    if mdp is not None:
        run_inst(mdp, seed, "given")
    elif instances is not None:
        for inst in instances:
            m, s_ = inst if isinstance(inst, (tuple, list)) else (inst, seed)
            run_inst(m, s_, "given")
    else:
        from mdpkit.testing import instance_key

        seen, cache = set(), {}
        if extras:
            for m, s_ in listed(th.tight):
                seen.add(instance_key(m))
                run_inst(m, s_, "tight")
        if n_examples:
            try:
                _draw(th, int(n_examples), seed, seen, steer=steer, cache=cache, run_inst=run_inst)
            except Exception as e:  # a failure of the family itself
                errors.append(f"drawing instances: {type(e).__name__}: {e}")
        if extras:
            for m, s_ in listed(th.edge):
                run_inst(m, s_, "edge")
        if zoo:
            from mdpkit import generators

            for spec in th.zoo:
                try:
                    m = generators.make(spec)
                except Exception as e:
                    errors.append(f"zoo model {spec!r}: {type(e).__name__}: {e}")
                    continue
                run_inst(m, seed, "zoo")

    res = _summary(th, obs, seed, t0, errors)
    _mutation(th, res)
    if negative_control:
        tight = [r for r in runs if r[2] == "tight"]
        others = [r for r in runs if r[2] not in ("tight", "edge")]
        subset = tight + others
        n_first = len(tight) + N_CONTROL_INSTANCES
        verdicts, cobs_all, ratios = [], [], []
        for doc, neg in ((th.negative_doc, th.negative),) + tuple(th.controls):
            cobs, failed_on = [], 0
            for i, (inst, s_, origin) in enumerate(subset):
                if i >= n_first and failed_on:  # past the first ones, run only until the control has failed
                    break
                try:
                    o = _run_one(th, inst, s_, neg, origin)
                except Exception as e:
                    res.control_errors.append(f"control {doc!r} on {_describe(inst)}: {type(e).__name__}: {e}")
                    continue
                cobs.append(o)
                failed_on += not o.passed
            verdicts.append(failed_on > 0)
            res.controls.append({"control": doc, "instances": len(cobs), "failed_on": failed_on,
                                 "fails": failed_on > 0})
            cobs_all.extend(cobs)
            ratios.extend(o.ratio for o in cobs)
        res.control_failed = bool(verdicts) and all(verdicts)
        fin = [r for r in ratios if not math.isnan(r)]
        res.control_worst_ratio = max(fin) if fin else None
        res.control_observations = cobs_all
    res.wall_time = time.perf_counter() - t0
    return res

"""``mdpkit describe MODEL [--out DIR]``: the structure and hardness quantities of a model.

Prints the classification (Puterman 1994, Sec. 8.3) and every quantity of
:mod:`mdpkit.structure` (and, with ``--horizon``, of :mod:`mdpkit.effective_horizon`) with its
definition and source; quantities that do not apply (e.g. the diameter of a non-communicating
model is infinite, the mixing time of a periodic chain is undefined) say why.  ``--out DIR``
writes ``describe.json`` (atomically) and ``transition_graph.png``.

Wire-up (``mdpkit/cli.py``)::

    from . import _cli_describe
    _cli_describe.add_parser(sub)
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

__all__ = ["add_parser", "describe", "run"]

#: Above these sizes the expensive quantities are skipped (and the report says so).
DIAMETER_MAX_WORK = 2e9  # S * nnz(P)
DENSE_MAX_STATES = 300  # mixing time, Dobrushin, concentrability (dense S x S work)
GRAPH_MAX_STATES = 120
BIG_NNZ = 2_000_000  # bias span (relative value iteration) and exact Q* (policy iteration)


def add_parser(subparsers) -> None:
    """Register the ``describe`` subcommand on an ``argparse`` subparsers object."""
    d = subparsers.add_parser(
        "describe", help="structure and hardness of a model: classification, diameter, mixing, gaps, effective horizon",
        description="MODEL is a zoo name with parameters (see 'mdpkit list models') or a model file. Prints the "
                    "classification and every structural quantity with its definition; --out writes describe.json "
                    "and transition_graph.png.")
    d.add_argument("model")
    d.add_argument("--gamma", type=float, help="discount factor (overrides the model's; used by gaps and concentrability)")
    d.add_argument("--horizon", type=int, help="also analyse the finite-horizon problem with H steps (k-QVI, effective horizon)")
    d.add_argument("--epsilon", type=float, default=0.25, help="mixing-time threshold (default 1/4)")
    d.add_argument("--out", help="directory for describe.json and transition_graph.png")
    d.set_defaults(func=run)


def _num(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, np.ndarray):
        return [_num(v) for v in x.tolist()] if x.ndim else _num(x.item())
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _num(v) for k, v in x.items()}
    return x


def describe(mdp, *, horizon: int | None = None, epsilon: float = 0.25) -> dict:
    """All structural quantities of ``mdp`` as a JSON-ready dict ``{name: {value, definition, ...}}``.

    Each entry has ``value`` (``None`` with a ``reason`` when the quantity does not apply or was
    skipped for size) and ``definition`` (with its source).
    """
    from . import bounds, structure

    out: dict = {"model": {"name": getattr(mdp, "name", "") or "", "S": mdp.S, "A": mdp.A, "gamma": mdp.gamma,
                           "nnz": int(mdp.nnz), "storage": "CSR" if mdp.is_sparse else "dense"}}
    c = structure.classify(mdp)
    out["classification"] = {
        "value": c.label, "definition": "Puterman 1994, Sec. 8.3.1 (recurrent / unichain / communicating / weakly "
                                        "communicating); unichain decided by enumerating deterministic policies "
                                        "(NP-hard in general, Tsitsiklis 2007)",
        "communicating_classes": len(c.communicating_classes), "closed_classes": c.closed_classes[:20],
        "periods": c.periods, "transient_states": int(c.transient.sum()), "communicating": c.communicating,
        "weakly_communicating": c.weakly_communicating, "unichain": c.unichain, "recurrent": c.recurrent}
    # diameter
    lb = bounds.diameter_lower_bound(mdp.S, mdp.A)
    entry = {"definition": structure.DIAMETER_DEFINITION, "lower_bound_log_A_S_minus_3": _num(lb.value)}
    D = None
    if mdp.S * mdp.nnz > DIAMETER_MAX_WORK:
        entry.update(value=None, reason=f"skipped: S * nnz(P) = {mdp.S * mdp.nnz:.3g} > {DIAMETER_MAX_WORK:.0e}")
    else:
        r = structure.diameter(mdp)
        D = r
        entry.update(value=_num(r.D), bracket=_num([r.D_lower, r.D_upper]), pair=list(r.pair), converged=r.converged)
        if not math.isfinite(r.D):
            entry["reason"] = f"not communicating: state {r.pair[1]} is not reachable from state {r.pair[0]}"
    out["diameter"] = entry
    # bias span
    entry = {"definition": structure.BIAS_SPAN_DEFINITION}
    if not c.weakly_communicating:
        entry.update(value=None, reason="the model is not weakly communicating: the optimal gain may depend on the state")
    elif mdp.nnz > BIG_NNZ:
        entry.update(value=None, reason=f"skipped: nnz(P) = {mdp.nnz} > {BIG_NNZ:.0e}")
    else:
        b = structure.optimal_bias(mdp, tol=1e-9, max_iter=200_000)
        rr = float(np.ptp(np.asarray(mdp.R)[mdp.action_mask]))
        entry.update(value=b.span, gain_bracket=[b.gain_lower, b.gain_upper], residual=b.residual, converged=b.converged)
        if D is not None and math.isfinite(D.D):
            bb = bounds.bias_span_bound(D.D_upper, rr)
            entry["bound_D_times_range"] = {"value": bb.value, "source": bb.citation}
    out["bias_span"] = _num(entry)
    # Dobrushin and mixing for the uniformly random policy
    uni = mdp.action_mask / mdp.action_mask.sum(axis=1, keepdims=True)
    entry = {"definition": "delta(P) = (1/2) max_ij ||P_i - P_j||_1 (Dobrushin 1956), for the chain of the uniformly "
                           "random policy; model-level: the max over all available state-action rows"}
    if mdp.S > DENSE_MAX_STATES:
        entry.update(value=None, reason=f"skipped: S > {DENSE_MAX_STATES}")
    else:
        entry["value"] = structure.dobrushin_coefficient(mdp, uni)
        entry["model_level"] = bounds.span_contraction_coefficient(mdp.P, mdp.action_mask)
    out["dobrushin"] = _num(entry)
    entry = {"definition": structure.MIXING_DEFINITION + "; chain of the uniformly random policy"}
    if mdp.S > DENSE_MAX_STATES:
        entry.update(value=None, reason=f"skipped: S > {DENSE_MAX_STATES}")
    else:
        try:
            m = structure.mixing_time(mdp, uni, epsilon=epsilon, t_max=100_000)
            entry.update(value=_num(m.t_mix), epsilon=epsilon, reversible=m.reversible,
                         relaxation_time=_num(m.relaxation_time), spectral_bounds=_num([m.spectral_lower, m.spectral_upper]))
        except Exception as e:  # periodic or several recurrent classes: report why
            entry.update(value=None, reason=str(e))
    out["mixing_time"] = _num(entry)
    # discounted quantities
    if mdp.gamma < 1 and mdp.nnz > BIG_NNZ:
        why = f"skipped: nnz(P) = {mdp.nnz} > {BIG_NNZ:.0e}"
        out["action_gaps"] = {"value": None, "reason": why, "definition": structure.GAPS_DEFINITION}
        out["concentrability"] = {"value": None, "reason": why, "definition": structure.CONCENTRABILITY_DEFINITION}
    elif mdp.gamma < 1:
        g = structure.action_gaps(mdp)
        out["action_gaps"] = _num({"value": g.min_gap, "argmin": g.argmin, "n_optimal_actions": g.n_optimal,
                                   "states_with_ties": int((g.n_optimal > 1).sum()), "definition": g.definition})
        entry = {"definition": structure.CONCENTRABILITY_DEFINITION + "; rho = mu0, mu = uniform, all policies"}
        if mdp.S > DENSE_MAX_STATES // 3:
            entry.update(value=None, reason=f"skipped: S > {DENSE_MAX_STATES // 3}")
        else:
            # enough terms for a tight bracket, within about 2e8 flops
            want = int(math.ceil(math.log(1e-8) / math.log(mdp.gamma))) if mdp.gamma > 0 else 1
            m_max = max(1, min(want, int(2e8 // max(1, mdp.S**3 * mdp.A))))
            cc = structure.concentrability(mdp, np.asarray(mdp.mu0), np.full(mdp.S, 1.0 / mdp.S), m_max=m_max)
            entry.update(value=cc.C, bracket=[cc.C_lower, cc.C_upper], c_first=cc.c[:5])
        out["concentrability"] = _num(entry)
    else:
        why = "gamma = 1: discounted Q* is not defined (pass --gamma G < 1)"
        out["action_gaps"] = {"value": None, "reason": why, "definition": structure.GAPS_DEFINITION}
        out["concentrability"] = {"value": None, "reason": why, "definition": structure.CONCENTRABILITY_DEFINITION}
    # finite horizon
    if horizon is not None:
        from .effective_horizon import FiniteHorizonModel, effective_horizon, minimal_k

        fh = FiniteHorizonModel.from_mdp(mdp, int(horizon))
        entry = {"definition": "upper bound on the effective horizon, min(H, min_k k + log_A m_k) (Laidlaw, Russell & "
                               "Dragan 2023, Thm 5.4); min_k: smallest k with k-QVI (greedy on Q^k, k-1 value-iteration "
                               "steps from the random policy's Q) optimal along the states it visits (Sec. 5)",
                 "horizon": int(horizon), "min_k": minimal_k(fh)}
        if fh.deterministic and mdp.A >= 2:
            e = effective_horizon(fh)
            entry["value"] = e.H_bar
            entry["effective_horizon_definition"] = e.definition
        else:
            entry["value"] = None
            entry["reason"] = "the GORP bound on the effective horizon (Thm 5.4) needs deterministic transitions and A >= 2"
        out["effective_horizon"] = _num(entry)
    return out


def _print(d: dict) -> None:
    m = d["model"]
    print(f"model: {m['name'] or '(unnamed)'}  S={m['S']} A={m['A']} gamma={m['gamma']:g} nnz={m['nnz']} ({m['storage']})")
    for key, e in d.items():
        if key == "model":
            continue
        v = e.get("value")
        vs = "n/a" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))
        extra = []
        for k in ("bracket", "pair", "gain_bracket", "bound_D_times_range", "model_level", "relaxation_time",
                  "spectral_bounds", "argmin", "states_with_ties", "min_k", "horizon", "periods",
                  "transient_states"):
            if k in e and e[k] is not None:
                extra.append(f"{k}={e[k]}")
        print(f"\n{key.replace('_', ' ')}: {vs}" + (f"   ({'; '.join(map(str, extra))})" if extra else ""))
        if e.get("reason"):
            print(f"  why: {e['reason']}")
        print(f"  definition: {e.get('definition', '')}")


def run(args) -> int:
    """Run ``mdpkit describe``; 0 on success, 2 on bad input (raised as MDPKitError/ValueError to cli.main)."""
    from . import cli
    from ._exceptions import InvalidArgumentError

    mdp = cli.load_model(args.model, args.gamma)
    if args.gamma is not None and mdp.gamma != args.gamma:
        mdp = mdp.with_gamma(args.gamma)
    if args.horizon is not None and args.horizon < 1:
        raise InvalidArgumentError(f"--horizon must be >= 1, got {args.horizon}")
    if not (0 < args.epsilon < 1):
        raise InvalidArgumentError(f"--epsilon must lie in (0, 1), got {args.epsilon}")
    d = describe(mdp, horizon=args.horizon, epsilon=args.epsilon)
    _print(d)
    if args.out:
        from .io import atomic_write

        os.makedirs(args.out, exist_ok=True)
        atomic_write(os.path.join(args.out, "describe.json"), json.dumps(_num(d), indent=2, allow_nan=False) + "\n")
        if mdp.S <= GRAPH_MAX_STATES:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from .plotting import plot_transition_graph

            fig = plot_transition_graph(mdp)
            path = os.path.join(args.out, "transition_graph.png")

            def write(f):
                fig.savefig(f, format="png", dpi=110)

            atomic_write(path, write)
            plt.close(fig)
            print(f"\nwrote {os.path.join(args.out, 'describe.json')} and {path}")
        else:
            print(f"\nwrote {os.path.join(args.out, 'describe.json')} (no graph: S > {GRAPH_MAX_STATES})")
    return 0

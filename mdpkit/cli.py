"""Command line: ``mdpkit solve MODEL``, ``mdpkit verify [THEOREM ...]`` and ``mdpkit list models|solvers|theorems``.

Errors in the user's input exit with status 2 and a one-line message, never a traceback; this
includes command-line syntax errors, model files that are not regular files, ``--out`` targets
that are not regular files, requests above the memory limit (``--max-memory`` or the environment
variable ``MDPKIT_MAX_MEMORY``) and results that would print nan as a converged answer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from .results import AverageRewardResult

from ._exceptions import MDPKitError

_ARROWS = {"left": "\u2190", "down": "\u2193", "right": "\u2192", "up": "\u2191", "north": "\u2191",
           "south": "\u2193", "east": "\u2192", "west": "\u2190"}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``mdpkit: error: ...`` on stderr and exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        msg = " ".join(str(message).split())
        self.exit(2, f"mdpkit: error: {self.prog}: {msg} (see '{self.prog} --help')\n")


def _check_out(path: str | None) -> None:
    """Refuse a bad ``--out`` before any work: empty, a directory, or an existing non-regular file."""
    if path is None:
        return
    import stat

    if not path.strip():
        raise MDPKitError("--out needs a file name, got an empty string")
    real = os.path.realpath(path)
    if os.path.lexists(path) or os.path.exists(real):
        try:
            st = os.stat(real)
        except FileNotFoundError:  # a dangling symbolic link: atomic_write creates its target
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise MDPKitError(f"--out {path}: not a regular file (a directory, FIFO, device or socket); "
                              "write to a regular file")
    parent = os.path.dirname(real) or "."
    if not os.path.isdir(parent):
        raise MDPKitError(f"--out {path}: directory {parent} does not exist")


def _set_max_memory(value: str | None) -> None:
    if value is None:
        return
    from ._validation import MEMORY_LIMIT_ENV, memory_limit

    old = os.environ.get(MEMORY_LIMIT_ENV)
    os.environ[MEMORY_LIMIT_ENV] = value
    try:
        memory_limit()  # parse now: a bad value is a usage error
    except Exception:
        if old is None:
            os.environ.pop(MEMORY_LIMIT_ENV, None)
        else:
            os.environ[MEMORY_LIMIT_ENV] = old
        raise


def _refuse_nan(res) -> None:
    """A converged result with nan in it is never printed as an answer."""
    vals = [getattr(res, k, None) for k in ("v", "v_error_bound", "error_bound", "value", "policy_value")]
    for x in vals:
        if x is None:
            continue
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if np.isnan(arr).any():
            raise MDPKitError("the solver returned nan (float64 overflow or invalid input); refusing to print it "
                              "as an answer: rescale the rewards or check the model")


def load_model(spec: str, gamma: float | None):
    from . import generators, io

    if os.path.exists(spec):
        try:
            return io.load(spec, gamma=gamma)
        except OSError as e:
            raise MDPKitError(f"cannot read {spec}: {e.strerror or e}") from None
    if any(spec.lower().endswith(ext) for ext in (".csv", ".json", ".npz")):
        raise MDPKitError(f"no such file: {spec}")
    return generators.make(spec)


def _pick_method(mdp, method: str | None, horizon: int | None) -> str:
    if horizon is not None:
        return "finite"
    if method:
        return method
    if mdp.gamma < 1.0:
        return "auto"
    from .structure import terminal_states

    if terminal_states(mdp).any():
        return "ssp"
    raise MDPKitError(
        "gamma = 1 and no absorbing terminal state: pass --gamma G < 1, --method rvi (average reward) "
        "or --horizon H (finite horizon)"
    )


def _action_symbol(label: str) -> str:
    return _ARROWS.get(label.lower(), label[:1].upper() if label else "?")


def _fmt_grid(values, rows: int, cols: int, fmt) -> list[str]:
    cells = [[fmt(values[r * cols + c]) for c in range(cols)] for r in range(rows)]
    w = max(len(x) for row in cells for x in row)
    return ["  " + " ".join(x.rjust(w) for x in row) for row in cells]


def _certified_digits(x: float, err: float) -> str:
    """``x`` with enough significant digits that printing it moves it by under a tenth of ``err``."""
    if not (np.isfinite(err) and err > 0 and x != 0):
        return f"{x:.10g}"
    digits = int(np.ceil(np.log10(abs(x) / err))) + 2
    return f"{x:.{min(max(digits, 10), 17)}g}"


def _summary(mdp, res, method: str, elapsed: float) -> str:
    lines = []
    kind = f"CSR, nnz={mdp.nnz}" if mdp.is_sparse else "dense"
    lines.append(f"model      {mdp.name or 'unnamed'}  (S={mdp.S}, A={mdp.A}, gamma={mdp.gamma:g}, {kind})")
    lines.append(f"method     {res.method} ({method})  options: " + ", ".join(
        f"{k}={v}" for k, v in res.options.items() if not isinstance(v, (np.ndarray, list))))
    state = "converged" if res.converged else "NOT converged"
    lines.append(f"status     {state} after {res.n_iter} iterations, {res.wall_time:.3f} s solver time ({elapsed:.2f} s total)")
    lines.append(f"certified  suboptimality of the returned policy <= {res.error_bound:.3g}")
    lines.append(f"           from: {res.bound_source}")
    v = np.asarray(res.v)
    if v.ndim == 2:  # finite horizon: report the value at t = 0
        v = v[0]
    pol = np.asarray(res.policy)
    prob = None
    if pol.ndim == 2 and pol.dtype.kind == "f" and pol.shape == (mdp.S, mdp.A):  # randomized (S, A)
        prob = pol.max(axis=1)
        pol = np.argmax(pol, axis=1)  # shown: the most likely action and its probability
    elif pol.ndim == 2:  # finite horizon (H, S): the decision at t = 0
        pol = pol[0]
    if isinstance(res, AverageRewardResult):
        lines.append(f"gain       g* in [{res.gain_lower:.10g}, {res.gain_upper:.10g}]  (reward per step)")
    # |mu0 . v - mu0 . v_true| <= v_error_bound since mu0 is a probability vector
    err = res.v_error_bound
    pm = f" +/- {err:.3g} (certified)" if np.isfinite(err) else " (no certified error for this method)"
    start = np.flatnonzero(mdp.mu0 > 0)
    lines.append(f"value      mu0 . v = {_certified_digits(float(mdp.mu0 @ v), err)}{pm}")
    if start.size <= 8:
        for s in start:
            lab = f" ({mdp.state_labels[s]})" if mdp.state_labels else ""
            lines.append(f"           v[{s}]{lab} = {v[s]:.10g}")
    alabels = mdp.action_labels or tuple(str(a) for a in range(mdp.A))
    if mdp.grid_shape is not None:
        r, c = mdp.grid_shape
        lines.append("policy (grid, row-major):")
        lines += _fmt_grid(pol, r, c, lambda a: _action_symbol(alabels[a]))
        lines.append("values (grid):")
        lines += _fmt_grid(v, r, c, lambda x: f"{x:.3f}")
    elif mdp.S <= 40:
        lines.append("state  action            value" + ("   (randomized: most likely action, probability)"
                                                        if prob is not None else ""))
        for s in range(mdp.S):
            sl = mdp.state_labels[s] if mdp.state_labels else str(s)
            pr = f"  p={prob[s]:.3f}" if prob is not None else ""
            lines.append(f"  {sl:>6}  {alabels[pol[s]]:<12} {v[s]: .10g}{pr}")
    else:
        lines.append(f"policy     (S={mdp.S} states; use --out FILE for the full arrays)")
    return "\n".join(lines)


def _result_fields(res) -> dict:
    """Every field of a result, ``v_policy`` computed, the certificate as plain values."""
    _ = res.v_policy  # a file holds everything: compute the lazy fields
    d = res.to_dict()
    for lazy in ("v_policy_robust", "v_policy_robust_error_bound", "P_worst"):
        if hasattr(res, lazy):
            x = getattr(res, lazy)
            d[lazy] = x.toarray().reshape(res.q.shape + (-1,)) if hasattr(x, "toarray") else x
    c = res.certificate
    d["certificate"] = {"value": float(c.value), "kind": c.kind.value, "citation": c.citation,
                        "statement": c.statement, "assumptions": list(c.assumptions), "delta": c.delta}
    d["status"] = res.status.name
    return d


def _write_result(path: str, mdp, res) -> None:
    from .io import atomic_write

    if path.endswith(".npz"):
        import io as _io

        arrays = {"error_bound": np.float64(res.error_bound)}
        for k, x in _result_fields(res).items():
            if isinstance(x, np.ndarray) and x.dtype != object:
                arrays[k] = x
            elif isinstance(x, (bool, int, float, np.number, np.bool_)):
                arrays[k] = np.asarray(x)
            elif isinstance(x, str):
                arrays[k] = np.str_(x)
        buf = _io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(path, buf.getvalue())
        return

    def enc(x):
        if isinstance(x, np.ndarray):
            return [enc(y) for y in x.tolist()] if x.ndim else enc(x.item())
        if isinstance(x, float) and not np.isfinite(x):
            return str(x)
        if isinstance(x, (np.floating, np.integer, np.bool_)):
            return enc(x.item())
        if isinstance(x, list):
            return [enc(y) for y in x]
        if isinstance(x, dict):
            return {str(k): enc(y) for k, y in x.items()}
        if isinstance(x, (str, int, float, bool)) or x is None:
            return x
        return str(x)

    d = _result_fields(res)
    if mdp is not None:
        d["model"] = {"name": mdp.name, "S": mdp.S, "A": mdp.A, "gamma": mdp.gamma}
    atomic_write(path, (json.dumps(enc(d), indent=1) + "\n").encode())


def _cmd_solve(args) -> int:
    from .solvers import solve

    t0 = time.perf_counter()
    _set_max_memory(args.max_memory)
    _check_out(args.out)
    if args.objective and args.objective.split(":", 1)[0].strip().lower() in _MC_OBJECTIVES:
        return _solve_model_checking(args)
    mdp = load_model(args.model, args.gamma)
    if args.gamma is not None and mdp.gamma != args.gamma:
        mdp = mdp.with_gamma(args.gamma)
    if args.objective:
        return _solve_objective(mdp, args, t0)
    method = _pick_method(mdp, args.method, args.horizon)
    opts = {}
    if args.epsilon is not None:
        opts["epsilon"] = args.epsilon
    if args.max_iter is not None:
        opts["max_iter"] = args.max_iter
    if method == "finite":
        opts["horizon"] = args.horizon
    import warnings

    from ._exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if args.robust:
            res, method = _solve_robust(mdp, args.robust, args.method, opts)
        else:
            res = solve(mdp, method, **opts)
    _refuse_nan(res)
    print(_summary(mdp, res, method, time.perf_counter() - t0))
    if args.robust:
        print(f"robust     worst case over {args.robust}: v is the robust optimal value; --out also writes "
              "v_policy_robust (the policy's robust value), P_worst (nature's kernel) and v_policy (nominal value)")
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    if args.out:
        _write_result(args.out, mdp, res)
        print(f"wrote      {args.out}")
    return 0


_MC_OBJECTIVES = ("pmax", "pmin", "rmax", "rmin", "lra", "lramax", "lramin")


def _solve_model_checking(args) -> int:
    """``--objective pmax:GOAL`` etc. on a PRISM explicit (.tra), Storm DRN or Cassandra (.mdp) file."""
    from .solvers.reachability import save_scheduler_json, solve_file

    if args.robust or args.horizon is not None or args.gamma is not None or args.state is not None:
        raise MDPKitError("--objective pmax/pmin/rmax/rmin/lra takes no --robust, --horizon, --gamma or --state "
                          "(step bounds go in the objective: pmax:GOAL:K)")
    _check_out(args.scheduler)
    res, text = solve_file(args.model, args.objective, method=args.method,
                           epsilon=1e-6 if args.epsilon is None else args.epsilon)
    print(text)
    if args.out:
        _write_result(args.out, None, res)
        print(f"wrote      {args.out}")
    if args.scheduler:
        save_scheduler_json(res, args.scheduler)
        print(f"wrote      {args.scheduler} (scheduler)")
    return 0


def _solve_objective(mdp, args, t0) -> int:
    """``--objective``: a static risk objective of the return (mdpkit.solvers.risk.solve_objective)."""
    from .solvers.risk import solve_objective

    if args.robust:
        raise MDPKitError("--objective and --robust cannot be combined")
    if args.method:
        raise MDPKitError("--method does not apply to --objective (the objective picks its own exact DP)")
    res = solve_objective(mdp, args.objective, args.horizon, state=args.state)
    _refuse_nan(res)
    from .solvers.risk_bracket import RiskBracketResult

    if isinstance(res, RiskBracketResult):
        return _print_bracket(mdp, args, res, t0)
    kind = f"CSR, nnz={mdp.nnz}" if mdp.is_sparse else "dense"
    lines = [f"model      {mdp.name or 'unnamed'}  (S={mdp.S}, A={mdp.A}, gamma={mdp.gamma:g}, {kind})",
             f"objective  {res.objective}  over history-dependent policies, horizon H={res.horizon}",
             f"method     {res.method}: {res.message}",
             f"value      {res.value:.10g}" + ("  (exact)" if res.exact else "  (approximate)")
             + (f"  +/- {res.v_error_bound:.3g} certified" if np.isfinite(res.v_error_bound) else "  (no certified error)"),
             f"check      objective of the returned policy's exact return law = {res.policy_value:.10g}",
             f"bound      {res.error_bound:.3g}  from: {res.bound_source}"]
    start = "mu0" if res.state is None else (f"{res.state}" + (f" ({mdp.state_labels[res.state]})" if mdp.state_labels else ""))
    lines.append(f"start      state {start}")
    if res.initial_stock is not None:
        lines.append(f"stock      initial stock c0 = {res.initial_stock:.10g}  (update c' = (c + r)/gamma; "
                     f"{res.stocks.shape[0]} grid points in [{res.stocks[0]:g}, {res.stocks[-1]:g}])")
    x, p = res.returns.x[0], res.returns.p[0]
    lines.append(f"return     mean {float(x @ p):.6g}, min {x.min():.6g}, max {x.max():.6g}, {x.shape[0]} atoms")
    alabels = mdp.action_labels or tuple(str(a) for a in range(mdp.A))
    pol = np.asarray(res.policy)
    starts = range(mdp.S) if res.state is None else [res.state]
    lines.append("policy at t = 0" + (" (with the initial stock)" if pol.ndim == 3 else "") + ":")
    for s in list(starts)[:20]:
        if mdp.mu0[s] == 0 and res.state is None:
            continue
        a = res.action(0, s, res.initial_stock) if pol.ndim == 3 else int(pol[0, s])
        sl = mdp.state_labels[s] if mdp.state_labels else str(s)
        lines.append(f"  {sl:>10}  {alabels[a]}")
    if pol.ndim == 3:
        reach = np.isfinite(np.asarray(res.dp_values)[:-1])  # (H, S, K): reachable (t, s, stock) nodes
        n_pairs = int(np.sum(reach.any(axis=2)))
        changes = sum(len(set(pol[t, s][reach[t, s]].tolist())) > 1 for t in range(pol.shape[0]) for s in range(pol.shape[1]))
        lines.append(f"stock use  the action depends on the stock in {changes} of {n_pairs} reachable (t, state) "
                     "pairs (--out FILE writes the full (H, S, K) policy)")
    lines.append(f"time       {res.wall_time:.3f} s solver, {time.perf_counter() - t0:.2f} s total")
    print("\n".join(lines))
    if args.out:
        _write_risk_result(args.out, mdp, res)
        print(f"wrote      {args.out}")
    return 0


def _print_bracket(mdp, args, res, t0) -> int:
    """A discounted objective's certified interval (:class:`mdpkit.solvers.risk_bracket.RiskBracketResult`)."""
    kind = f"CSR, nnz={mdp.nnz}" if mdp.is_sparse else "dense"
    start = "mu0" if res.state is None else str(res.state)
    lo, hi = float(res.v_lower), float(res.v_upper)
    lines = [f"model      {mdp.name or 'unnamed'}  (S={mdp.S}, A={mdp.A}, gamma={mdp.gamma:g}, {kind})",
             f"objective  {res.objective}  of the discounted return from state {start}, over history-dependent policies",
             f"interval   [{lo:.10g}, {hi:.10g}]  (certified: contains the optimum; width {hi - lo:.3g})",
             f"value      {float(res.v):.10g} +/- {res.v_error_bound:.3g}  (midpoint)",
             (f"horizon    truncated at H={res.horizon}: tail (U - L) = {res.tail:.3g} of the width"
              if args.horizon is None else f"horizon    H={res.horizon} (finite, no truncation)")]
    if res.stocks is not None:
        lines.append(f"grid       {res.stocks.shape[0]} stocks (accumulated discounted reward) in "
                     f"[{res.stocks[0]:.6g}, {res.stocks[-1]:.6g}], spacing {res.grid_spacing:.3g}; a finer grid narrows the interval")
    if res.initial_stock is not None:
        lines.append(f"stock      the returned policy starts with stock y0 = {res.initial_stock:.10g} and acts on the "
                     "rounded-down stock; its value is >= the lower end")
    lines.append(f"bound      {res.error_bound:.3g}  from: {res.bound_source}")
    lines.append(f"time       {res.wall_time:.3f} s solver, {time.perf_counter() - t0:.2f} s total")
    print("\n".join(lines))
    if args.out:
        arrays = {"v_lower": np.float64(lo), "v_upper": np.float64(hi), "value": np.float64(res.v)}
        if args.out.endswith(".npz"):  # the (H, S, K) policy table is too large for JSON
            arrays["policy"] = np.asarray(res.policy)
        if res.stocks is not None:
            arrays["stocks"] = np.asarray(res.stocks)
            if res.initial_stock is not None:
                arrays["initial_stock"] = np.float64(res.initial_stock)
        _write_result_arrays(args.out, mdp, res, arrays)
        print(f"wrote      {args.out}")
    return 0


def _write_risk_result(path, mdp, res) -> None:
    arrays = {"policy": np.asarray(res.policy), "value": np.float64(res.value),
              "policy_value": np.float64(res.policy_value), "return_x": res.returns.x[0], "return_p": res.returns.p[0]}
    if res.stocks is not None:
        arrays["stocks"] = np.asarray(res.stocks)
        arrays["initial_stock"] = np.float64(res.initial_stock)
    _write_result_arrays(path, mdp, res, arrays, exact=res.exact)


def _write_result_arrays(path, mdp, res, arrays, **meta) -> None:
    from .io import atomic_write

    if path.endswith(".npz"):
        import io as _io

        buf = _io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(path, buf.getvalue())
        return
    d = {k: (v.tolist() if isinstance(v, np.ndarray) else float(v)) for k, v in arrays.items()}
    d.update(objective=res.objective, horizon=res.horizon, **meta, error_bound=str(res.error_bound), v_error_bound=str(res.v_error_bound),
             bound_source=res.bound_source, model={"name": mdp.name, "S": mdp.S, "A": mdp.A, "gamma": mdp.gamma})
    atomic_write(path, (json.dumps(d, indent=1) + "\n").encode())


_ROBUST_METHODS = {"vi": "robust_value_iteration", "pi": "robust_policy_iteration",
                   "mpi": "robust_modified_policy_iteration", "ppi": "robust_partial_policy_iteration"}


def _solve_robust(mdp, spec: str, method: str | None, opts: dict):
    """Robust counterpart of ``solve``: ``spec`` like ``l1:0.1`` (see mdpkit.uncertainty.parse_uncertainty)."""
    from . import solvers
    from .uncertainty import parse_uncertainty

    key = (method or "ppi").lower()
    if key in ("auto",):
        key = "ppi"
    if key not in _ROBUST_METHODS:
        raise MDPKitError(f"--robust works with --method {'|'.join(_ROBUST_METHODS)}, got {method!r}")
    fn = getattr(solvers, _ROBUST_METHODS[key])
    if key == "pi":
        opts = {k: v for k, v in opts.items() if k != "epsilon"}
    return fn(mdp, parse_uncertainty(spec), **opts), _ROBUST_METHODS[key]


def _cmd_verify(args) -> int:
    from . import theory

    _set_max_memory(args.max_memory)
    if args.seed < 0:
        raise MDPKitError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.examples < 1:
        raise MDPKitError(f"--examples must be >= 1, got {args.examples}")
    if args.out is not None and not args.out.strip():
        raise MDPKitError("--out needs a directory name, got an empty string")
    names = args.theorems or None
    if args.model:
        mdp = load_model(args.model, args.gamma)
        if args.gamma is not None and mdp.gamma != args.gamma:
            mdp = mdp.with_gamma(args.gamma)
        chosen = [theory.get(n) for n in names] if names else theory.list_theorems(default_only=True)
        results = []
        for th in chosen:
            results.append(theory.check(th, mdp=mdp, seed=args.seed, negative_control=not args.no_control))
        rep = theory.Report(results, seed=args.seed, n_examples=1)
    else:
        rep = theory.verify(names, n_examples=args.examples, seed=args.seed, out=None,
                            negative_control=not args.no_control, progress=not args.quiet)
    if args.out:
        theory.write_report(rep, args.out, plots=not args.no_plots)
    print(rep.table())
    bad = [r for r in rep.results if not r.ok]
    for r in bad:
        for e in r.errors:
            print(f"{r.theorem.name}: error: {e}", file=sys.stderr)
        for o in r.failures()[:3]:
            print(f"{r.theorem.name}: violated on {o.label} (ratio {o.ratio:.6g}, instance seed "
                  f"{o.info.get('instance_seed')})", file=sys.stderr)
    n_ok = len(rep.results) - len(bad)
    print(f"\n{n_ok}/{len(rep.results)} checks passed in {rep.wall_time:.1f} s (seed {rep.seed}, "
          f"{rep.n_examples} random instances each)" + (f"; report in {args.out}" if args.out else ""))
    return 0 if not bad else 1


def _cmd_list(args) -> int:
    if args.what == "theorems":
        from .theory import list_theorems

        for th in list_theorems():
            flag = "" if th.default else "  (not in the default set)"
            print(f"{th.name:<24} {th.source}{flag}\n{'':<24} {th.statement}")
        return 0
    if args.what == "models":
        from .generators import list_models

        items = list_models()
        w = max(len(n) for n, _ in items)
        for name, desc in items:
            print(f"{name.ljust(w)}  {desc}")
    else:
        from .solvers import SOLVERS

        wk = max(len(k) for k in SOLVERS)
        wn = max(len(sp.name) for sp in SOLVERS.values())
        for key, sp in SOLVERS.items():
            req = f"  (requires {', '.join(sp.required)})" if sp.required else ""
            print(f"{key:<{wk}}  {sp.name:<{wn}}  {sp.family:<15} {sp.summary}{req}")
            print(f"{'':<{wk}}  {'':<{wn}}  {'':<15} theorem: {sp.theorem}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mdpkit", description="Exact, certified dynamic programming for tabular MDPs.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve a zoo model or a model file and print a certified summary",
                       description="MODEL is a zoo name with optional parameters (e.g. frozenlake8x8, gridworld, "
                                   "garnet:S=1000,A=4,b=5; see 'mdpkit list models') or a .npz/.json/.csv file.")
    s.add_argument("model")
    s.add_argument("--method", help="solver (see 'mdpkit list solvers'); default auto (fastest certified method: see mdpkit.solvers.solve) for gamma < 1, ssp for gamma = 1 with terminals")
    s.add_argument("--gamma", type=float, help="discount factor (overrides the model's; required for CSV files)")
    s.add_argument("--epsilon", type=float, help="target suboptimality in reward units (iterative methods)")
    s.add_argument("--max-iter", type=int, dest="max_iter")
    s.add_argument("--horizon", type=int, help="solve the finite-horizon problem with H steps (backward induction)")
    s.add_argument("--robust", metavar="SET",
                   help="solve the robust MDP over an uncertainty set, e.g. l1:0.1, kl:0.05, linf:0.02, "
                        "l1:0.1,rect=s (s-rectangular), l1:0.1,support=simplex; methods vi, pi, mpi, ppi "
                        "(default ppi)")
    s.add_argument("--objective", metavar="OBJ",
                   help="optimise a static risk objective of the return instead of its mean: mean, cvar:ALPHA, "
                        "var:ALPHA, evar:ALPHA, erm:BETA, threshold:T (max P(G >= T)), band:LO:HI, "
                        "utility:exp:A or utility:power:P; lower-tail alpha convention of mdpkit.distributions; "
                        "needs --horizon H when gamma = 1 (exact stock augmentation on integer rewards), certified "
                        "interval when gamma < 1; on .tra/.drn/.mdp files: pmax:GOAL, pmin:GOAL, rmax:GOAL, "
                        "rmin:GOAL, pmax:GOAL:K, pmax:GOAL:avoid=LABEL, lra (labels are goal sets)")
    s.add_argument("--state", type=int, help="with --objective: start state (default: the model's mu0)")
    s.add_argument("--scheduler", metavar="FILE.json",
                   help="with a model-checking --objective: write the scheduler (policy) as JSON")
    s.add_argument("--out", help="write the result (.json or .npz), atomically; an existing target must be a regular file")
    s.add_argument("--max-memory", dest="max_memory", metavar="BYTES",
                   help="memory limit for up-front size checks, e.g. 32G or none (default 8G, or the environment "
                        "variable MDPKIT_MAX_MEMORY)")
    s.set_defaults(func=_cmd_solve)
    from .theory._report import COLUMNS

    cols = "\n".join(f"  {k:<15} {v}" for k, v in COLUMNS.items())
    v = sub.add_parser(
        "verify", help="check theorems numerically on random instances and zoo models",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run registered theorem checks (see 'mdpkit list theorems'). Each check runs its subject (an "
                    "mdpkit solver or operator) on random instances drawn with hypothesis, steered toward instances "
                    "where the bound is tight, plus zoo models, and compares observed numbers with the bound "
                    "from mdpkit.bounds. Each also runs a deliberately wrong subject (the negative control), which "
                    "must fail. Exit status 0 when every check passes and every control fails, 1 otherwise.",
        epilog="table columns:\n" + cols)
    v.add_argument("theorems", nargs="*", metavar="THEOREM", help="theorem names; default: the default set")
    v.add_argument("--out", help="directory for report.json and one PNG per theorem")
    v.add_argument("--examples", type=int, default=25, help="random instances per theorem (default 25)")
    v.add_argument("--seed", type=int, default=0, help="seed of the instance draws (default 0)")
    v.add_argument("--model", help="check on this zoo model or model file only, instead of random instances")
    v.add_argument("--gamma", type=float, help="discount factor for --model")
    v.add_argument("--no-plots", action="store_true", help="with --out, write only report.json")
    v.add_argument("--no-control", action="store_true", help="skip the negative controls")
    v.add_argument("--quiet", action="store_true", help="no progress bar")
    v.add_argument("--max-memory", dest="max_memory", metavar="BYTES",
                   help="memory limit for up-front size checks, e.g. 32G or none (default 8G, or MDPKIT_MAX_MEMORY)")
    v.set_defaults(func=_cmd_verify)
    from . import _cli_bandit, _cli_describe

    _cli_describe.add_parser(sub)
    _cli_bandit.add_parser(sub)
    ls = sub.add_parser("list", help="list built-in models, solvers or theorems")
    ls.add_argument("what", choices=["models", "solvers", "theorems"])
    ls.set_defaults(func=_cmd_list)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (MDPKitError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"mdpkit: error: {msg}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"mdpkit: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    except MemoryError:
        print("mdpkit: error: out of memory; the request is larger than this machine can hold "
              "(see --max-memory and the Limits section of the README)", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

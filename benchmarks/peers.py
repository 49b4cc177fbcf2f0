"""Adapters: one per library, each used as its documentation recommends.

An adapter converts a :class:`mdpkit.TabularMDP` to the library's own input format (not timed),
solves it with one of the library's methods for a target ``epsilon`` (timed), and, when the
library exposes it, returns a callable that applies one Bellman sweep (timed per sweep).

``solve`` returns ``(v, policy, iterations, extra, seconds)``; ``iterations`` is the library's
own count (improvement steps for PI/MPI, sweeps for VI) or None when it does not report one;
``seconds`` is the timed region: the library's solve call only (pymdptoolbox: ``run()``, its
constructor's input check and iteration bound excluded; mdpsolver: ``solve()``, the transfer of
the model lists into its C++ object excluded).
"""

from __future__ import annotations

import importlib
import importlib.metadata

import time

import numpy as np
import scipy.sparse as sp


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


class MdpkitAdapter:
    name = "mdpkit"
    dist = "mdpkit"
    module = "mdpkit"
    #: method label -> mdpkit.solvers.solve method name (``None`` = the default, "auto")
    methods = {"auto": None, "mpi": "mpi", "vi": "vi", "gs": "gs", "pi": "pi"}

    def prepare(self, mdp):
        return mdp

    def solve(self, mdp, method, epsilon):
        from mdpkit.solvers import solve

        opts = {} if method == "pi" else {"epsilon": epsilon}
        t0 = time.perf_counter()
        res = solve(mdp, **opts) if self.methods[method] is None else solve(mdp, self.methods[method], **opts)
        dt = time.perf_counter() - t0
        extra = {"method": res.method, "error_bound": res.error_bound, "converged": res.converged,
                 "v_error_bound": res.v_error_bound}
        extra.update({k: res.options[k] for k in ("m", "eval_rtol", "auto_reason") if k in res.options})
        if getattr(res, "n_eval_sweeps", None) is not None:
            extra["n_eval_sweeps"] = int(res.n_eval_sweeps)
        # res.v is the certified answer: the centre of the MacQueen-Porteus bracket of v*
        # (v_policy, the exact value of the policy, is computed only on access: not touched here)
        return np.asarray(res.v), np.asarray(res.policy), int(res.n_iter), extra, dt

    def sweep(self, mdp):
        from mdpkit._kernels import bellman, model_args

        km = model_args(mdp)
        S, A = km[7], km[8]
        v = np.zeros(S)
        out = np.empty(S)
        pi = np.empty(S, dtype=np.int64)
        q = np.empty(S * A)
        stats = np.empty((bellman.N_CHUNKS, 3))
        gamma = mdp.gamma

        def run():
            bellman.greedy_sweep(km, gamma, v, out, pi, q, False, stats)

        return run

    def warmup(self):
        from mdpkit import TabularMDP

        P = np.full((2, 2, 2), 0.5)
        Pd = np.zeros((2, 2, 2))
        Pd[:, 0, 0] = Pd[:, 1, 1] = 1.0  # deterministic: auto takes the policy-iteration path
        m = TabularMDP(P, np.ones((2, 2)), 0.5)
        models = [m, m.to_sparse(), TabularMDP(Pd, np.ones((2, 2)), 0.5).to_sparse()]
        # and models above the kernels' parallel threshold, so the prange paths are loaded from
        # the cache (or compiled) here rather than inside the first timed solve
        from scipy import sparse

        from mdpkit._kernels.bellman import PAR_MIN_WORK
        from mdpkit.generators import garnet
        S = int(np.sqrt(PAR_MIN_WORK / 8)) + 8
        rng = np.random.default_rng(0)
        big = rng.random((S, 8, S))
        big /= big.sum(axis=2, keepdims=True)
        models.append(TabularMDP(big, rng.random((S, 8)), 0.5))
        models.append(garnet(PAR_MIN_WORK // 40 + 1, 4, 10, gamma=0.5, rng=0, sparse=True))
        n = PAR_MIN_WORK // 4 + 1  # a deterministic CSR model (one entry per row)
        nxt = rng.integers(0, n, size=4 * n)
        Pdet = sparse.csr_matrix((np.ones(4 * n), nxt, np.arange(4 * n + 1)), shape=(4 * n, n))
        models.append(TabularMDP(Pdet, rng.random((n, 4)), 0.5))
        for mm in models:
            for meth in self.methods:
                self.solve(mm, meth, 1e-3)
            self.sweep(mm)()


class QuantEconAdapter:
    name = "quantecon"
    dist = "quantecon"
    module = "quantecon"
    methods = {"pi": "policy_iteration", "mpi": "modified_policy_iteration", "vi": "value_iteration"}

    def prepare(self, mdp):
        from quantecon.markov import DiscreteDP

        if not mdp.is_sparse:
            return DiscreteDP(np.asarray(mdp.R), np.asarray(mdp.P), mdp.gamma)
        # state-action pair formulation with a CSR Q, rows in the order s*A + a (documented form)
        S, A = mdp.S, mdp.A
        s_idx = np.repeat(np.arange(S), A)
        a_idx = np.tile(np.arange(A), S)
        Q = sp.csr_matrix(mdp.P_rows)
        return DiscreteDP(np.asarray(mdp.R).ravel(), Q, mdp.gamma, s_idx, a_idx)

    def solve(self, ddp, method, epsilon):
        t0 = time.perf_counter()
        res = ddp.solve(method=self.methods[method], epsilon=epsilon)
        dt = time.perf_counter() - t0
        return np.asarray(res.v), np.asarray(res.sigma), int(res.num_iter), {}, dt

    def sweep(self, ddp):
        v = np.zeros(ddp.num_states)
        Tv = np.empty(ddp.num_states)
        return lambda: ddp.bellman_operator(v, Tv=Tv)

    def warmup(self):
        from quantecon.markov import DiscreteDP

        ddp = DiscreteDP(np.ones((2, 2)), np.full((2, 2, 2), 0.5), 0.5)
        for meth in self.methods:
            self.solve(ddp, meth, 1e-3)


class PymdptoolboxAdapter:
    name = "pymdptoolbox"
    dist = "pymdptoolbox"
    module = "mdptoolbox"
    methods = {"vi": "ValueIteration", "pi": "PolicyIteration", "mpi": "PolicyIterationModified"}

    def prepare(self, mdp):
        S, A = mdp.S, mdp.A
        if mdp.is_sparse:
            rows = mdp.P_rows
            P = [sp.csr_matrix(rows[np.arange(S) * A + a]) for a in range(A)]
        else:
            P = np.ascontiguousarray(np.transpose(np.asarray(mdp.P), (1, 0, 2)))  # (A, S, S)
        return P, np.asarray(mdp.R), mdp.gamma

    #: pymdptoolbox builds dense (S, S) arrays even from CSR input (its PI/MPI policy matrices and
    #: VI's iteration bound); above this many bytes a run is refused instead of swapping.
    MAX_DENSE_BYTES = 1e9

    def _check_size(self, R):
        S = R.shape[0]
        if 8.0 * S * S > self.MAX_DENSE_BYTES:
            raise MemoryError(f"pymdptoolbox would allocate a dense ({S}, {S}) array "
                              f"({8.0 * S * S / 1e9:.1f} GB) on this model: not run")

    def solve(self, model, method, epsilon):
        import mdptoolbox.mdp as mdpt

        P, R, gamma = model
        self._check_size(R)
        cls = getattr(mdpt, self.methods[method])
        kw = {} if method == "pi" else {"epsilon": epsilon}
        solver = cls(P, R, gamma, **kw)
        t0 = time.perf_counter()
        solver.run()
        dt = time.perf_counter() - t0
        return np.asarray(solver.V, dtype=float), np.asarray(solver.policy), int(solver.iter), {}, dt

    def sweep(self, model):
        import mdptoolbox.mdp as mdpt

        P, R, gamma = model
        self._check_size(R)
        vi = mdpt.ValueIteration(P, R, gamma)
        V = np.zeros(vi.S)
        return lambda: vi._bellmanOperator(V)

    def warmup(self):
        pass


class MdpsolverAdapter:
    name = "mdpsolver"
    dist = "mdpsolver"
    module = "mdpsolver"
    methods = {"mpi": "mpi", "vi": "vi", "pi": "pi"}

    def prepare(self, mdp):
        S, A = mdp.S, mdp.A
        if mdp.is_sparse:
            rows = mdp.P_rows
            probs, cols = [], []
            for s in range(S):
                ps, cs = [], []
                for a in range(A):
                    i = s * A + a
                    lo, hi = rows.indptr[i], rows.indptr[i + 1]
                    ps.append(rows.data[lo:hi].tolist())
                    cs.append(rows.indices[lo:hi].tolist())
                probs.append(ps)
                cols.append(cs)
            return dict(discount=mdp.gamma, rewards=np.asarray(mdp.R).tolist(), tranMatProbs=probs,
                        tranMatColumns=cols)
        return dict(discount=mdp.gamma, rewards=np.asarray(mdp.R).tolist(), tranMatWithZeros=np.asarray(mdp.P).tolist())

    def solve(self, model, method, epsilon):
        import mdpsolver

        mdl = mdpsolver.model()
        mdl.mdp(**model)
        t0 = time.perf_counter()
        mdl.solve(algorithm=self.methods[method], tolerance=epsilon)
        dt = time.perf_counter() - t0
        v = np.asarray(mdl.getValueVector(), dtype=float)
        pi = np.asarray(mdl.getPolicy(), dtype=np.int64)
        return v, pi, None, {"runtime_reported_ms": float(mdl.getRuntime())}, dt

    def sweep(self, model):
        return None

    def warmup(self):
        pass


ADAPTERS = [MdpkitAdapter(), QuantEconAdapter(), PymdptoolboxAdapter(), MdpsolverAdapter()]


def by_name(name: str):
    for a in ADAPTERS:
        if a.name == name:
            return a
    raise KeyError(name)


def availability() -> dict[str, str | None]:
    """library name -> installed version, or None when it is not importable."""
    out = {}
    for a in ADAPTERS:
        try:
            importlib.import_module(a.module)
            out[a.name] = _version(a.dist) or "unknown"
        except Exception:  # noqa: BLE001 - any import failure means "not available"
            out[a.name] = None
    return out

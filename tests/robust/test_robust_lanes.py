"""The row-batched divergence kernels (``_kernels/robust_lanes.py``) against the row-by-row ones.

Oracles: ``np.log`` for the vectorised log; the scalar kernels of ``robust.py`` (which the sweep
runs when the minimiser is stored, and which ``test_robust_div_fused.py`` checks against the
plain-numpy twins) and those twins themselves for the batched sweep.  The instances mix what the
batch hands back to the scalar kernel (rows longer than ``KMAX``, explicit zeros, flat rows, the
KL boundary case, a zero radius, masked actions, a partial last batch) with what it solves.
"""

import numpy as np
import pytest

import mdpkit._reference_robust as ref
from mdpkit import TabularMDP, generators
from mdpkit._kernels import model_args
from mdpkit._kernels import robust as rk
from mdpkit._kernels import robust_lanes as rl
from mdpkit.uncertainty import KINDS, make_workspace


def test_log_pos_matches_numpy_to_two_ulps():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.exp(rng.uniform(-700, 700, 20000)), 1.0 + rng.uniform(-1e-3, 1e-3, 5000),
                        rng.random(5000), [1.0, 2.0, 0.5, np.sqrt(0.5), np.sqrt(2.0), 1e-300, 1e300,
                                           np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0)]])
    out = np.empty_like(x)
    rl.log_pos_into(x, out)
    expect = np.log(x)
    assert np.all(np.abs(out - expect) <= 2.5 * np.finfo(float).eps * np.abs(expect))  # about 1 ulp measured
    assert out[x == 1.0][0] == 0.0


def _mixed_model(rng, S=300, A=3):
    """CSR rows of 1..24 entries (some longer than KMAX), explicit zeros, flat and tied values."""
    rows, P = [], np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            n = int(rng.choice([1, 2, 3, 5, 8, 8, 8, 12, 16, 17, 24]))
            idx = rng.choice(S, size=n, replace=False)
            w = rng.random(n) + 0.05
            P[s, a, idx] = w / w.sum()
    mask = rng.random((S, A)) > 0.1
    mask[:, 0] = True
    import scipy.sparse as sp

    return TabularMDP(P=sp.csr_matrix(P.reshape(S * A, S)), R=rng.normal(size=(S, A)), gamma=0.9, action_mask=mask)


def _with_explicit_zeros(model, rng):
    """The model tuple with an explicit 0 stored in every fifth row, at a state outside the row's
    support whose value is the lowest (so a kernel that read it would change the answer)."""
    import scipy.sparse as sp

    layout, P2, indptr, indices, data, R1, mask1, S, A = model
    M = sp.csr_matrix((data, indices, indptr), shape=(S * A, S)).tocoo()
    rows, cols, vals = [M.row], [M.col], [M.data]
    for i in range(0, S * A, 5):
        free = np.setdiff1d(np.arange(S), indices[indptr[i]:indptr[i + 1]])
        rows.append([i])
        cols.append([free[0]])
        vals.append([0.0])
    C = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(S * A, S)).tocsr()
    assert C.nnz == M.nnz + len(range(0, S * A, 5))  # the zeros are stored

    def frozen(a, dtype):  # the kernels' types (as _kernels.prepare): no new Numba signature
        out = np.ascontiguousarray(a, dtype=dtype)
        out.flags.writeable = False
        return out

    return (layout, P2, frozen(C.indptr, np.int64), frozen(C.indices, indices.dtype), frozen(C.data, data.dtype),
            R1, mask1, S, A)


def _q(model, kind, radius, v, work, store, S, A, gamma):
    q = np.empty(S * A)
    pwd = np.zeros(model[4].size)
    uset = (KINDS[kind], np.full(S * A, radius), False, np.zeros(1), np.zeros((1, 1)))
    rk.robust_q(model, uset, gamma, v, store, (np.zeros((1, 1)), pwd), q, work)
    return q


def _work(model, kind, chunks=1, rows=0):
    return make_workspace(int(np.diff(model[2]).max()), KINDS[kind], chunks, rows)


@pytest.mark.parametrize("kind", ["kl", "l2", "chi2"])
def test_batched_sweep_equals_the_row_by_row_sweep_and_the_twins(kind):
    rng = np.random.default_rng(3)
    mdp = _mixed_model(rng)
    model = _with_explicit_zeros(model_args(mdp), rng)
    S, A = mdp.S, mdp.A
    assert np.diff(model[2]).max() > rl.KMAX  # some rows go to the scalar kernel
    P = mdp.P_dense().reshape(S * A, S)
    mask = model[6]
    for radius in (0.0, 0.01, 0.2, 1.5):
        # ties and flat rows: integer values on a few levels
        v = rng.integers(-2, 3, size=S).astype(float) if radius == 0.2 else rng.normal(scale=3.0, size=S)
        v[model[3][model[4] == 0.0]] = -1e3  # the explicitly stored zeros point at the lowest values
        lanes = _q(model, kind, radius, v, _work(model, kind), False, S, A, mdp.gamma)
        rows = _q(model, kind, radius, v, _work(model, kind), True, S, A, mdp.gamma)
        scale = 1.0 + np.abs(rows[mask]).max()
        np.testing.assert_array_equal(lanes[~mask], -np.inf)
        assert np.abs(lanes[mask] - rows[mask]).max() <= 1e-12 * scale
        R1 = mdp.R.reshape(-1)
        for i in range(0, S * A, 11):
            if not mask[i]:
                continue
            idx = np.flatnonzero(P[i] > 0)
            if idx.size > 12:  # the twins enumerate supports: 2^n
                continue
            if kind == "kl":
                expect = ref.kl_dual(P[i, idx], v[idx], radius)
            else:
                c = np.ones(idx.size) if kind == "l2" else P[i, idx]
                expect = ref.ellipsoid_enum(P[i, idx], c, v[idx], radius ** 2 if kind == "l2" else radius)[1]
            assert lanes[i] == pytest.approx(R1[i] + mdp.gamma * expect, rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("kind", ["kl", "l2", "chi2"])
def test_warm_started_batches_equal_cold_ones_along_a_trajectory(kind):
    """The warm start (KL: the previous tilt; L2 / chi2: the previous active set) changes a value
    only at round-off, and a wrong warm start (garbage bits) is caught by the KKT check."""
    mdp = generators.garnet(500, 3, 7, gamma=0.9, rng=8, sparse=True)
    model = model_args(mdp)
    S, A = mdp.S, mdp.A
    warm = _work(model, kind, rows=S * A)
    v = np.zeros(S)
    for sweep in range(10):
        if sweep == 6:
            rng = np.random.default_rng(0)
            if kind == "kl":
                warm[-1][:] = rng.random(S * A) * 50.0  # far from the roots
            else:  # random active sets over the first 8 stored entries
                warm[-1][:] = rng.integers(1, 256, size=S * A).astype(np.int64).view(np.float64)
        q_w = _q(model, kind, 0.1, v, warm, False, S, A, mdp.gamma)
        q_c = _q(model, kind, 0.1, v, _work(model, kind), False, S, A, mdp.gamma)
        assert np.abs(q_w - q_c).max() <= 1e-13 * (1.0 + np.abs(q_c).max())
        v = q_c.reshape(S, A).max(axis=1)


def test_partial_batches_and_block_splits_give_the_same_bits():
    """A row's value does not depend on which batch it lands in (block boundaries, a short last
    batch): sweeps over the rows in different splits agree bit for bit."""
    mdp = generators.garnet(2 * rl.LANES + 5, 2, 6, gamma=0.9, rng=1, sparse=True)
    model = model_args(mdp)
    S, A = mdp.S, mdp.A
    v = np.random.default_rng(2).normal(size=S)
    for kind in ("kl", "l2", "chi2"):
        full = _q(model, kind, 0.1, v, _work(model, kind), False, S, A, mdp.gamma)
        # the policy sweep visits rows s*A + pi[s]: other batch compositions of the same rows
        for a in range(A):
            pi = np.full(S, a, dtype=np.int64)
            out = np.empty(S)
            uset = (KINDS[kind], np.full(S * A, 0.1), False, np.zeros(1), np.zeros((1, 1)))
            rk.div_sweep(model, uset, mdp.gamma, v, np.bool_(True), pi, False,
                         (np.zeros((1, 1)), np.zeros(1)), out, _work(model, kind))
            np.testing.assert_array_equal(out, full[np.arange(S) * A + a])


@pytest.mark.parametrize("kind", ["l2", "chi2"])
def test_ellipsoid_batch_compacts_lanes_and_grows_too_small_warm_sets(kind):
    """One batch of 64 rows: half of them at the vertex (radius large enough to move all mass to
    argmin z), so at most half still run after the vertex test and the batch swaps them to the
    front; warm active sets of one entry, of every entry, or one entry short of the minimiser's.  Every lane must be
    solved in the batch (the growing step, not the scalar kernel), its value must match the
    support-enumeration oracle, and its new warm mask must be the oracle minimiser's support --
    in the lane it came from (the swaps are undone)."""
    mdp = generators.garnet(rl.LANES, 1, 8, gamma=0.9, rng=5, sparse=True)
    model = model_args(mdp)
    indptr, indices, data = model[2], model[3], model[4]
    rng = np.random.default_rng(11)
    v = rng.normal(scale=2.0, size=mdp.S)
    il = np.arange(rl.LANES, dtype=np.int64)
    big = 1.5 if kind == "l2" else 60.0  # at least the distance from q to its vertex
    kap = np.where(np.arange(rl.LANES) % 2 == 0, big, rng.uniform(0.02, 0.3, rl.LANES))
    T, F, I = lb = rl.lane_buffers()

    def oracle(l):
        a, b = indptr[l], indptr[l + 1]
        q, z = data[a:b], v[indices[a:b]]
        c = np.ones(q.size) if kind == "l2" else q
        p, val = ref.ellipsoid_enum(q, c, z, kap[l] ** 2 if kind == "l2" else kap[l])
        return p, val, z

    # warm masks: {entry 0} (no KKT point on it: restart), every entry, and the minimiser's
    # support less its entry of largest z (too small, but with a KKT point: grown)
    masks = np.where(np.arange(rl.LANES) % 3 == 0, 1, 255)
    grown = 0
    for l in range(2, rl.LANES, 3):
        p, _, z = oracle(l)
        act = np.flatnonzero(p > 1e-12)
        if act.size >= 2:
            masks[l] = sum(1 << int(k) for k in act if k != act[np.argmax(z[act])])
            grown += l % 2
    assert grown >= 5
    F[2] = masks.view(np.float64)
    rl.ellipsoid_lanes((indptr, indices, data), v, il, kap, kind == "l2", lb, 8)
    assert np.any(I[3] != 0)  # lanes were swapped
    assert np.all(F[0] == rl.DONE)
    for l in range(rl.LANES):
        p, expect, _ = oracle(l)
        assert F[1, l] == pytest.approx(expect, rel=1e-12, abs=1e-12)
        if l % 2:  # solved by the iteration: its active set is the next warm start
            support = sum(1 << k for k in range(p.size) if p[k] > 1e-12)
            assert F[2, l].view(np.int64) == support

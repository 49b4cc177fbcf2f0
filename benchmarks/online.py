"""Episodes per second of the online tabular learners: Numba kernels vs the plain-numpy reference.

For UCBVI-CH, UCBVI-BF, UCB-H and UCB-B on RiverSwim (Osband et al. rewards, S = 6, A = 2) and on
a random 20-state, 4-action model, episodes of ``H`` steps: mdpkit's kernel
(``mdpkit._kernels.online``, what :func:`mdpkit.solvers.online.run_episodes` calls) and its
plain-numpy twin (the same algorithm vectorised over state-action pairs with numpy, the
kernels' test oracle) consume the *same* pre-drawn uniforms, and the benchmark checks that they
return the same per-episode regrets before timing.  Each round times both, interleaved (kernel,
numpy, kernel, ...), so load from other processes hits both alike; the report gives median
episodes per second and the median per-round ratio kernel / numpy.  Exact per-episode regret
(policy evaluation of each played policy) is included in both.

Optional peer: rlberry's ``UCBVIAgent`` (rlberry-scool), run in a subprocess by the python of a
separate venv given with ``--rlberry-python`` (it is never installed into the main environment).  rlberry's UCBVI uses
a simplified bonus and no per-episode exact evaluation, so its row is a speed reference only.

Usage: ``python benchmarks/online.py [--episodes 2000] [--horizon 20] [--rounds 5]
[--out benchmarks/results/online]`` (writes ``.md`` and ``.json`` when ``--out`` is given).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

from mdpkit import TabularMDP
from mdpkit._kernels import online as K
from mdpkit.bounds import online as B
from mdpkit.generators import make
from mdpkit.solvers import backward_induction
from mdpkit.solvers.online import UCB_Q_CONSTANT, online_model

ALGOS = (("ucbvi-ch", K.ucbvi_run, K.ucbvi_numpy, K.HOEFFDING),
         ("ucbvi-bf", K.ucbvi_run, K.ucbvi_numpy, K.BERNSTEIN),
         ("ucb-h", K.optimistic_q_run, K.optimistic_q_numpy, K.HOEFFDING),
         ("ucb-b", K.optimistic_q_run, K.optimistic_q_numpy, K.BERNSTEIN))


def _models():
    rng = np.random.default_rng(0)
    S, A = 20, 4
    P = rng.dirichlet(np.full(S, 0.3), size=(S, A))
    rand = TabularMDP(P, rng.uniform(0, 1, (S, A)), 0.9, name="random S=20 A=4")
    return [("riverswim (osband) S=6 A=2", make("riverswim:convention=osband")), ("random S=20 A=4", rand)]


def _args(mdp, name, kind, H, Kk, scale):
    S, A = mdp.S, mdp.A
    bi = backward_induction(mdp.with_gamma(1.0), H)
    ref = (np.ascontiguousarray(bi.q.reshape(H, S * A)), np.ascontiguousarray(bi.v))
    ip = np.array([kind, H, Kk], np.int64)
    if name.startswith("ucbvi"):
        fp = np.array([B.ucbvi_log(S, A, H, Kk, 0.1, in_bound=False), scale])
    else:
        c = UCB_Q_CONSTANT
        fp = np.array([np.log(S * A * H * Kk / 0.1), c, c, c, scale])
    return online_model(mdp), ref, ip, fp


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


_RLBERRY_SCRIPT = r"""
import json, sys, time
import numpy as np
from rlberry.envs import FiniteMDP
try:
    from rlberry_scool.agents import UCBVIAgent
except ImportError:
    from rlberry.agents import UCBVIAgent
d = np.load(sys.argv[1])
H, K = int(sys.argv[2]), int(sys.argv[3])
env = FiniteMDP(d["R"], d["P"], initial_state_distribution=int(d["s0"]))
agent = UCBVIAgent(env, horizon=H, gamma=1.0, bonus_scale_factor=0.01)
agent.fit(budget=5)  # warm-up (imports, numba compilation of rlberry's helpers)
t0 = time.perf_counter()
agent.fit(budget=K)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def rlberry_row(mdp, H, Kk, python):
    """rlberry's UCBVIAgent on the same model, run by another interpreter (a separate venv)."""
    import subprocess
    import tempfile

    if not python:
        return {"available": False, "reason": "no --rlberry-python given"}
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "m.npz")
        np.savez(f, R=mdp.R, P=mdp.P_dense(), s0=int(np.argmax(mdp.mu0)))
        try:
            out = subprocess.run([python, "-c", _RLBERRY_SCRIPT, f, str(H), str(Kk)], capture_output=True,
                                 text=True, timeout=3600, check=True).stdout.strip().splitlines()[-1]
        except Exception as e:  # reported, not an error
            return {"available": False, "reason": f"{type(e).__name__}: {str(e)[:200]}"}
    sec = json.loads(out)["seconds"]
    ver = subprocess.run([python, "-c", "import rlberry; print(rlberry.__version__)"], capture_output=True,
                         text=True).stdout.strip()
    return {"available": True, "episodes_per_s": Kk / sec, "episodes": Kk, "version": ver}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--horizon", type=int, default=20)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--scale", type=float, default=0.01, help="practical bonus scale (learning happens)")
    p.add_argument("--out", default=None)
    p.add_argument("--rlberry-python", default=None,
                   help="python of a separate venv with rlberry (+ rlberry-scool) installed, e.g. /tmp/venv_online/bin/python")
    a = p.parse_args(argv)
    H, Kk = a.horizon, a.episodes
    rows = []
    for mname, mdp in _models():
        rng = np.random.default_rng(1)
        u0, u = rng.random(Kk), rng.random((Kk, H))
        for name, kern, twin, kind in ALGOS:
            om, ref, ip, fp = _args(mdp, name, kind, H, Kk, a.scale)

            def run_kernel():
                of, oi = np.zeros((Kk, 3)), np.zeros((Kk, 2), np.int64)
                kern(om, ref, u0, u, ip, fp, of, oi)
                return of

            run_kernel()  # compile / load from cache, untimed
            tw, of2 = _time(lambda: twin(om, ref, u0, u, ip, fp)[0])
            same = bool(np.allclose(run_kernel(), of2, rtol=0, atol=1e-9))
            tk_all, tn_all, ratios = [], [], []
            for _ in range(a.rounds):
                tk, _ = _time(run_kernel)
                tn, _ = _time(lambda: twin(om, ref, u0, u, ip, fp))
                tk_all.append(tk)
                tn_all.append(tn)
                ratios.append(tn / tk)
            rows.append(dict(model=mname, algorithm=name, episodes=Kk, H=H,
                             kernel_eps=Kk / float(np.median(tk_all)), numpy_eps=Kk / float(np.median(tn_all)),
                             speedup=float(np.median(ratios)), speedup_range=(float(min(ratios)), float(max(ratios))),
                             same_regret=same))
            print(f"{mname:28s} {name:9s} kernel {rows[-1]['kernel_eps']:10.0f} ep/s  numpy "
                  f"{rows[-1]['numpy_eps']:8.0f} ep/s  x{rows[-1]['speedup']:.0f}  same={same}", flush=True)
    river = _models()[0][1]
    peer = rlberry_row(river, H, min(Kk, 500), a.rlberry_python)
    if peer.get("available"):
        k = rows[0]  # riverswim, ucbvi-ch (same model, H, bonus scale)
        peer["mdpkit_ucbvi_ch_eps"] = k["kernel_eps"]
        peer["speedup"] = k["kernel_eps"] / peer["episodes_per_s"]
    print("rlberry:", peer)
    res = dict(machine=platform.processor() or platform.machine(), cpus=os.cpu_count(),
               load=os.getloadavg(), rows=rows, rlberry=peer, rounds=a.rounds)
    if a.out:
        os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
        with open(a.out + ".json", "w") as f:
            json.dump(res, f, indent=1)
        lines = ["# Online tabular RL: episodes per second, Numba kernel vs plain numpy", "",
                 f"H = {H}, K = {Kk} episodes per run, practical bonus scale {a.scale}; median of {a.rounds} "
                 f"interleaved rounds; load average {tuple(round(x, 2) for x in res['load'])}; "
                 f"{res['cpus']} CPUs.  Both include the exact per-episode policy evaluation.", "",
                 "| model | algorithm | kernel ep/s | numpy ep/s | speedup (range) | same regrets |",
                 "|---|---|---|---|---|---|"]
        for r in rows:
            lo, hi = r["speedup_range"]
            lines.append(f"| {r['model']} | {r['algorithm']} | {r['kernel_eps']:.0f} | {r['numpy_eps']:.0f} | "
                         f"**{r['speedup']:.0f}x** ({lo:.0f}-{hi:.0f}) | {r['same_regret']} |")
        lines += ["", "rlberry UCBVIAgent (rlberry " + str(peer.get("version", "?")) + ", simplified Bernstein bonus x 0.01, "
                  "no exact evaluation; its own environment stepping in Python) on RiverSwim, same H: "
                  + (f"{peer['episodes_per_s']:.0f} episodes/s over {peer['episodes']} episodes; mdpkit's UCBVI-CH "
                     f"kernel is **{peer['speedup']:.0f}x** faster" if peer.get("available")
                     else f"not run ({peer['reason']})")]
        from mdpkit.io import atomic_write

        atomic_write(a.out + ".md", "\n".join(lines) + "\n")
    return res


if __name__ == "__main__":
    main()

"""stormpy (Storm 2.0) as a test-only oracle.

On PRISM case-study models exported by Storm and on random models written by mdpkit's DRN writer
(and read by Storm's own parser), mdpkit's values lie inside Storm's sound brackets (widened by
mdpkit's own certified half-width) and match Storm's policy-iteration values; the infinite states
agree exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

stormpy = pytest.importorskip("stormpy")

from mdpkit import io as mio  # noqa: E402
from mdpkit._exceptions import InvalidArgumentError  # noqa: E402
from mdpkit.solvers.reachability import reach_probability, reach_reward  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "modelcheck"


def storm_values(model, prop, method=None):
    env = stormpy.environments.sound() if method is None else stormpy.Environment()
    if method is not None:
        env.solver().min_max().method = getattr(stormpy.environments.MinMaxMethod, method)
        env.solver().min_max().precision = stormpy.Rational("1/10000000000")
    res = stormpy.model_checking(model, stormpy.parse_properties(prop)[0], environment=env)
    v = np.array(res.get_value_vector(), dtype=float)
    if method is None:
        lo = np.array([res[s].lower for s in range(model.nr_states)], dtype=float)
        hi = np.array([res[s].upper for s in range(model.nr_states)], dtype=float)
        # where Storm reports no bound (e.g. the lower side of some reward queries), use its value
        # with its default relative precision 1e-6
        lo = np.where(np.isnan(lo), v - 1e-6 * np.abs(v), lo)
        hi = np.where(np.isnan(hi), v + 1e-6 * np.abs(v), hi)
        return v, lo, hi
    return v


def ours(rec, obj, goal, avoid=None, method="ovi"):
    kw = dict(labels=rec.labels, method=method, epsilon=1e-9)
    if obj[0] == "P":
        return reach_probability(rec.mdp, goal, maximize=obj == "Pmax", avoid=avoid, **kw)
    return reach_reward(rec.mdp, goal, maximize=obj == "Rmax", **kw)


def check_against_storm(path, rec, goal, reward, avoid=None):
    sm = stormpy.build_model_from_drn(str(path))
    assert sm.nr_states == rec.mdp.S and sm.nr_choices == int(rec.mdp.action_mask.sum())
    for obj in ["Pmax", "Pmin"] + (["Rmax", "Rmin"] if reward else []):
        target = f'"{goal}"' if avoid is None or obj[0] == "R" else f'!"{avoid}" U "{goal}"'
        path_f = f"F {target}" if avoid is None or obj[0] == "R" else target
        prop = f"{obj}=? [{path_f}]" if obj[0] == "P" else f'R{{"{reward}"}}{obj[1:]}=? [{path_f}]'
        sv, slo, shi = storm_values(sm, prop)
        spi = storm_values(sm, prop, "POLICY_ITERATION")
        for method in ("ovi", "svi", "pi") + (("ii",) if obj[0] == "P" else ()):
            try:
                res = ours(rec, obj, goal, avoid if obj[0] == "P" else None, method)
            except InvalidArgumentError:
                assert method == "svi" and obj == "Rmin"  # positive-reward end components: refused
                continue
            fin = np.isfinite(sv)
            np.testing.assert_array_equal(np.isinf(res.v), ~fin, err_msg=f"{prop} {method}")
            hw = res.v_error_bound + 1e-12 * np.maximum(1.0, np.abs(sv[fin]))
            assert np.all(res.v[fin] >= slo[fin] - hw), (prop, method)
            assert np.all(res.v[fin] <= shi[fin] + hw), (prop, method)
            np.testing.assert_allclose(res.v[fin], spi[fin], rtol=1e-7, atol=1e-9, err_msg=f"{prop} {method}")


@pytest.mark.parametrize("name, goal, reward", [
    ("die_selection", "done", "coin_flips"),
    ("coin2-2", "finished", "steps"),
    ("leader3", "elected", None),
])
def test_case_study_models_inside_storm_brackets(name, goal, reward):
    path = DATA / f"{name}.drn"
    check_against_storm(path, mio.load_drn(path), goal, reward)


def random_labelled(seed, S=60, A=3):
    rng = np.random.default_rng(seed)
    from mdpkit import TabularMDP

    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            t = rng.choice(S, 3, replace=False)
            P[s, a, t] = rng.integers(1, 5, 3)
    loops = rng.random((S, A)) < 0.1  # end components
    P[loops] = 0
    P[loops, :] = 0
    for s, a in zip(*np.nonzero(loops)):
        P[s, a, s] = 1
    P /= P.sum(axis=2, keepdims=True)
    P[:2] = 0
    P[0, :, 0] = P[1, :, 1] = 1
    R = np.round(rng.uniform(0, 3, (S, A)), 2)
    R[rng.random((S, A)) < 0.3] = 0
    R[:2] = 0
    return mio.LabelledMDP(mdp=TabularMDP(P, R, 1.0), labels={"goal": np.array([0]), "bad": np.array([1])})


@pytest.mark.parametrize("seed", range(4))
def test_random_models_written_by_mdpkit_read_by_storm(seed, tmp_path):
    rec = random_labelled(seed)
    path = tmp_path / "r.drn"
    mio.save_drn(rec, path)
    rec = mio.load_drn(path)  # the record with Storm's view of the rewards ("default")
    check_against_storm(path, rec, "goal", "default", avoid="bad")


def storm_sound_vi(model, prop):
    """Storm's own sound value iteration (Quatmann & Katoen's implementation), forced sound."""
    env = stormpy.Environment()
    env.solver().force_soundness = True
    env.solver().min_max().method = stormpy.environments.MinMaxMethod.SOUND_VALUE_ITERATION
    env.solver().min_max().precision = stormpy.Rational("1/1000000000")
    res = stormpy.model_checking(model, stormpy.parse_properties(prop)[0], environment=env)
    return np.array(res.get_value_vector(), dtype=float)


@pytest.mark.parametrize("seed", range(3))
def test_sound_vi_agrees_with_storms_sound_vi(seed, tmp_path):
    rec = random_labelled(100 + seed)
    path = tmp_path / "r.drn"
    mio.save_drn(rec, path)
    rec = mio.load_drn(path)
    sm = stormpy.build_model_from_drn(str(path))
    for obj, prop in (("Pmax", 'Pmax=? [!"bad" U "goal"]'), ("Pmin", 'Pmin=? [!"bad" U "goal"]'),
                      ("Rmax", 'R{"default"}max=? [F "goal"]')):
        sv = storm_sound_vi(sm, prop)
        res = ours(rec, obj, "goal", "bad" if obj[0] == "P" else None, "svi")
        fin = np.isfinite(sv)
        np.testing.assert_array_equal(np.isinf(res.v), ~fin)
        # Storm's SVI result is within its relative precision 1e-9 of the value; ours is bracketed
        tol = 2e-9 * np.maximum(1.0, np.abs(sv[fin])) + res.v_error_bound
        assert np.all(np.abs(res.v[fin] - sv[fin]) <= tol), obj
        assert np.all(res.v_lower[fin] <= sv[fin] + 2e-9 * np.maximum(1.0, np.abs(sv[fin])))
        assert np.all(sv[fin] <= res.v_upper[fin] + 2e-9 * np.maximum(1.0, np.abs(sv[fin])))


@pytest.mark.parametrize("seed", range(2))
def test_storm_reads_our_headerless_reward_files(seed, tmp_path):
    """Files written with ``save_prism(variant="storm")`` (headerless .srew / .trew, ``mdp`` line,
    #DECLARATION labels) are read by Storm's own explicit parser, and Storm's Rmin / Rmax values on
    them agree with ours on the same files."""
    import scipy.sparse as sp

    from mdpkit._io_prism import RewardStructure

    base = random_labelled(200 + seed, S=40)
    m = base.mdp
    rng = np.random.default_rng(seed)
    Pr = sp.csr_matrix(m.P_rows)
    state = np.where(rng.random(m.S) < 0.6, np.round(rng.uniform(0.5, 3, m.S), 3), 0.0)
    state[:2] = 0
    trans = sp.csr_matrix((np.round(rng.uniform(0, 2, Pr.nnz), 3), Pr.indices.copy(), Pr.indptr.copy()), shape=Pr.shape)
    rec = mio.LabelledMDP(mdp=m, labels={**base.labels, "init": np.array([2])},
                          rewards={"default": RewardStructure(state=state, action=np.zeros((m.S, m.A)), transition=trans)})
    mio.save_prism(rec, tmp_path / "s", variant="storm")
    sm = stormpy.build_model_from_explicit(str(tmp_path / "s.tra"), str(tmp_path / "s.lab"),
                                           state_rewards=str(tmp_path / "s.srew"),
                                           transition_rewards=str(tmp_path / "s.trew"))
    assert sm.nr_states == m.S
    back = mio.load_prism(tmp_path / "s.tra")
    for obj in ("Rmin", "Rmax"):
        prop = f'{obj}=? [F "goal"]'  # Storm names the explicit format's one reward model ""
        sv = np.array(stormpy.model_checking(sm, stormpy.parse_properties(prop)[0],
                                             environment=stormpy.environments.sound()).get_value_vector(), float)
        res = reach_reward(back.mdp, "goal", maximize=obj == "Rmax", labels=back.labels, epsilon=1e-9)
        fin = np.isfinite(sv)
        np.testing.assert_array_equal(np.isinf(res.v), ~fin)
        np.testing.assert_allclose(res.v[fin], sv[fin], rtol=1e-5)

"""PRISM explicit, Storm DRN and Cassandra .mdp files: round trips, real files, named errors, fuzzing.

Expected values come from the files themselves (counts in their headers, a hand-read transition)
and from the writers' inverse (bit-exact arrays); malformed inputs must raise ModelFileError naming
the file (and the line where one exists), never another exception.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mdpkit import TabularMDP
from mdpkit import io as mio
from mdpkit._exceptions import InvalidArgumentError, ModelFileError
from mdpkit._io_prism import RewardStructure

DATA = Path(__file__).resolve().parents[1] / "data" / "modelcheck"


def _same_record(a, b):
    np.testing.assert_array_equal(a.mdp.P.indptr, b.mdp.P.indptr)
    np.testing.assert_array_equal(a.mdp.P.indices, b.mdp.P.indices)
    assert a.mdp.P.data.tobytes() == b.mdp.P.data.tobytes()
    np.testing.assert_array_equal(a.mdp.action_mask, b.mdp.action_mask)
    assert {k: v.tolist() for k, v in a.labels.items()} == {k: v.tolist() for k, v in b.labels.items()}
    assert list(a.rewards) == list(b.rewards)
    assert a.mdp.R.tobytes() == b.mdp.R.tobytes()


# ----------------------------------------------------------------------------- real files
def test_storm_exported_drn_files():
    rec = mio.load_drn(DATA / "die_selection.drn")
    assert (rec.mdp.S, int(rec.mdp.action_mask.sum())) == (13, 25)  # @nr_states, @nr_choices
    assert rec.initial.tolist() == [0]
    assert list(rec.rewards) == ["coin_flips"]
    # "state 0 [0] init / action 1 [1] / 1 : 0.6 / 2 : 0.4"
    P = rec.mdp.P_dense()
    assert P[0, 1, 1] == 0.6 and P[0, 1, 2] == 0.4 and rec.mdp.R[0, 1] == 1.0
    for name, S, C in (("coin2-2", 272, 400), ("leader3", 364, 573)):
        r = mio.load_drn(DATA / f"{name}.drn")
        assert (r.mdp.S, int(r.mdp.action_mask.sum())) == (S, C)
    assert mio.load(DATA / "coin2-2.drn").S == 272


def test_storm_variant_of_explicit_files(tmp_path):
    rec = mio.load_prism(DATA / "storm_mdp_general.tra", lab=DATA / "storm_mdp_general.lab")
    assert rec.mdp.S == 6
    assert rec.labels["init"].tolist() == [0, 4]
    assert rec.labels["three"].tolist() == [0, 2]
    assert rec.mdp.P_dense()[0, 1, 5] == 0.2


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ["die_selection", "coin2-2", "leader3"])
def test_drn_and_prism_round_trips_bit_exact(name, tmp_path):
    rec = mio.load_drn(DATA / f"{name}.drn")
    mio.save_drn(rec, tmp_path / "a.drn")
    back = mio.load_drn(tmp_path / "a.drn")
    _same_record(rec, back)
    mio.save_drn(back, tmp_path / "b.drn")
    assert (tmp_path / "a.drn").read_bytes() == (tmp_path / "b.drn").read_bytes()
    mio.save_prism(rec, tmp_path / "m")
    prism = mio.load_prism(tmp_path / "m.tra")
    np.testing.assert_array_equal(prism.mdp.P.data, rec.mdp.P.data)
    assert {k: v.tolist() for k, v in prism.labels.items()} == {k: v.tolist() for k, v in rec.labels.items()}
    np.testing.assert_allclose(prism.mdp.R, rec.mdp.R, rtol=0, atol=1e-15)
    files = mio.save_prism(prism, tmp_path / "n")
    for f in files:
        assert f.read_bytes() == (tmp_path / ("m" + f.name[1:])).read_bytes().replace(b"m.", b"n.")


def test_random_models_round_trip_all_formats(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(5):
        S, A = 6, 3
        P = rng.dirichlet(np.ones(S) * 0.5, size=(S, A))
        P[P < 0.05] = 0
        P /= P.sum(axis=2, keepdims=True)
        R = rng.normal(size=(S, A)) ** 2
        m = TabularMDP(P, R, 0.9)
        mio.save_cassandra(m, tmp_path / "c.mdp")
        c = mio.load_cassandra(tmp_path / "c.mdp").mdp
        assert c.P.tobytes() == m.P.tobytes() and c.gamma == 0.9
        np.testing.assert_allclose(c.R, m.R, rtol=1e-15)
        rec = mio.LabelledMDP(mdp=m.with_gamma(1.0), labels={"goal": np.array([1, 4])})
        mio.save_drn(rec, tmp_path / "r.drn")
        d = mio.load_drn(tmp_path / "r.drn")
        np.testing.assert_array_equal(d.mdp.P_dense(), m.P)
        assert d.mdp.R.tobytes() == m.R.tobytes() and d.labels["goal"].tolist() == [1, 4]
        mio.save(m, tmp_path / "p.tra")
        p = mio.load(tmp_path / "p.tra")
        np.testing.assert_array_equal(p.P_dense(), m.P)
        np.testing.assert_allclose(p.R, m.R, rtol=1e-15)


def test_cassandra_reader_forms(tmp_path):
    text = """# a tiny MDP
discount: 0.75
values: cost
states: a b
actions: stay go
start: a
T: stay identity
T: go : a
0.25 0.75
T: go : b : a 1.0
R: go : * : * : * 2
R: stay : b : b 1
"""
    p = tmp_path / "t.mdp"
    p.write_text(text)
    m = mio.load_cassandra(p).mdp
    assert m.gamma == 0.75 and m.state_labels == ("a", "b") and m.mu0.tolist() == [1.0, 0.0]
    np.testing.assert_array_equal(m.P_dense()[:, 1], [[0.25, 0.75], [1.0, 0.0]])
    np.testing.assert_array_equal(m.R, [[0.0, -2.0], [-1.0, -2.0]])  # costs are negated
    p.write_text(text.replace("states: a b", "states: a b\nobservations: 2"))
    with pytest.raises(ModelFileError, match="line 5: observations"):
        mio.load_cassandra(p)


# ----------------------------------------------------------------------------- named errors
DRN_OK = """@type: MDP
@parameters

@reward_models
r
@nr_states
2
@nr_choices
3
@model
state 0 [1] init
\taction a [0]
\t\t0 : 0.5
\t\t1 : 0.5
\taction b [2]
\t\t1 : 1
state 1 [0] goal
\taction c [0]
\t\t1 : 1
"""


@pytest.mark.parametrize("old, new, msg", [
    ("@type: MDP", "@type: POMDP", "line 1: model type 'POMDP'"),
    ("\t\t0 : 0.5\n", "\t\t0 : 0.4\n", "sum to 0.9"),
    ("\t\t1 : 1\nstate 1", "\t\t7 : 1\nstate 1", "line 16: destination state 7 is out of range"),
    ("state 1 [0] goal", "state 0 [0] goal", "line 17: state 0 out of order"),
    ("\t\t0 : 0.5\n", "\t\t0 : x\n", "line 13: probability must be a number"),
    ("\t\t0 : 0.5\n", "\t\t0 : -0.5\n", "line 13: probability must be > 0"),
    ("3\n@model", "4\n@model", "@nr_choices is 4"),
    ("state 0 [1] init", "state 0 init", "line 11: state 0: expected its 1 reward"),
    ("\t\t1 : 0.5\n", "\t\t0 : 0.5\n", "line 14: destination 0 listed twice"),
])
def test_drn_errors_name_the_line(tmp_path, old, new, msg):
    p = tmp_path / "m.drn"
    p.write_text(DRN_OK)
    assert mio.load_drn(p).mdp.S == 2
    assert DRN_OK.count(old) >= 1
    p.write_text(DRN_OK.replace(old, new, 1))
    with pytest.raises(ModelFileError, match=msg):
        mio.load_drn(p)


TRA_OK = "3 4 6\n0 0 1 0.5\n0 0 2 0.5\n0 1 0 1\n1 0 1 1\n2 0 2 0.25\n2 0 0 0.75\n"


@pytest.mark.parametrize("old, new, msg", [
    ("3 4 6", "3 4 7", "line 1: the header declares 7 transitions"),
    ("3 4 6", "3 5 6", "declares 5 choices"),
    ("0 1 0 1", "0 2 0 1", "choices of state 0 are not numbered"),
    ("1 0 1 1", "1 0 3 1", "line 5: destination state 3 is out of range"),
    ("1 0 1 1", "1 0 1 1 a b", "line 5: expected 'i k j x'"),
    ("2 0 2 0.25", "2 0 2 0.5", "state 2, choice 0 sum to 1.25"),
    ("2 0 2 0.25", "2 0 0 0.25", "line 7: transition 2 0 -> 0 appears twice \\(first at line 6\\)"),
    ("1 0 1 1", "1 0 1 nan", "line 5: probability must be a finite"),
    ("1 0 1 1", "+1 0 1 1", "line 5: source state must be a non-negative integer"),
])
def test_tra_errors_name_the_line(tmp_path, old, new, msg):
    p = tmp_path / "m.tra"
    p.write_text(TRA_OK)
    assert mio.load_prism(p).mdp.S == 3
    p.write_text(TRA_OK.replace(old, new, 1))
    with pytest.raises(ModelFileError, match=msg):
        mio.load_prism(p)


def test_lab_srew_trew_errors(tmp_path):
    (tmp_path / "m.tra").write_text(TRA_OK)
    (tmp_path / "m.lab").write_text('0="init" 1="goal"\n0: 0\n2: 1 5\n')
    with pytest.raises(ModelFileError, match=r"m.lab, line 3: label index 5 was not declared"):
        mio.load_prism(tmp_path / "m.tra")
    (tmp_path / "m.lab").write_text('0="init" 1="goal"\n0: 0\n2: 1\n')
    (tmp_path / "m.srew").write_text("3 1\n4 2.0\n")
    with pytest.raises(ModelFileError, match=r"m.srew, line 2: state 4 is out of range"):
        mio.load_prism(tmp_path / "m.tra")
    (tmp_path / "m.srew").write_text('# Reward structure "r"\n3 1\n0 2.0\n')
    (tmp_path / "m.trew").write_text("3 4 1\n1 0 0 1.0\n")
    with pytest.raises(ModelFileError, match=r"m.trew, line 2: reward for transition 1 0 -> 0"):
        mio.load_prism(tmp_path / "m.tra")
    (tmp_path / "m.trew").write_text("3 4 1\n1 0 1 1.5\n")
    rec = mio.load_prism(tmp_path / "m.tra")
    assert list(rec.rewards) == ["r"] and rec.labels["goal"].tolist() == [2]
    assert rec.mdp.R[0].tolist() == [2.0, 2.0] and rec.mdp.R[1, 0] == 1.5


def _rewarded(seed, S=7, A=3, names=("default",)):
    """A labelled model with non-negative state and transition rewards (some zero)."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(S) * 0.5, size=(S, A))
    P[P < 0.05] = 0
    P /= P.sum(axis=2, keepdims=True)
    m = TabularMDP(P, np.zeros((S, A)), 1.0)
    Pr = sp.csr_matrix(m.P_rows)
    rewards = {}
    for nm in names:
        state = np.where(rng.random(S) < 0.5, np.round(rng.uniform(0, 3, S), 3), 0.0)
        trans = sp.csr_matrix((np.where(rng.random(Pr.nnz) < 0.4, rng.uniform(0, 2, Pr.nnz), 0.0),
                               Pr.indices.copy(), Pr.indptr.copy()), shape=Pr.shape)
        rewards[nm] = RewardStructure(state=state, action=np.zeros((S, A)), transition=trans)
    return mio.LabelledMDP(mdp=m, labels={"goal": np.array([0, 3]), "init": np.array([1])}, rewards=rewards)


@pytest.mark.parametrize("names", [("default",), ("time", "energy")])
def test_storm_headerless_reward_files_round_trip_bit_exact(names, tmp_path):
    for seed in range(3):
        rec = _rewarded(seed, names=names)
        files = mio.save_prism(rec, tmp_path / "a", variant="storm")
        texts = {f.name[1:]: f.read_text() for f in files}
        srews = [t for n, t in texts.items() if n.endswith(".srew")]
        assert texts[".tra"].startswith("mdp\n") and texts[".lab"].startswith("#DECLARATION\n")
        assert srews and all(not t or t[0].isdigit() for t in srews)  # no header, no comment
        assert all(t[0].isdigit() for n, t in texts.items() if n.endswith(".trew"))
        back = mio.load_prism(tmp_path / "a.tra")
        assert sorted(back.rewards) == sorted(names)  # several structures: found by file name, sorted
        for nm in names:
            a, b = rec.rewards[nm], back.rewards[nm]
            assert a.state.tobytes() == b.state.tobytes()
            assert np.asarray(a.transition.todense()).tobytes() == np.asarray(b.transition.todense()).tobytes()
        files2 = mio.save_prism(back, tmp_path / "b", variant="storm")
        for f in files2:
            assert f.read_bytes() == (tmp_path / ("a" + f.name[1:])).read_bytes().replace(b"b.", b"a.")
        # the PRISM form of the same record reads back to the same arrays
        mio.save_prism(back, tmp_path / "c")
        prism = mio.load_prism(tmp_path / "c.tra")
        for nm in names:
            assert prism.rewards[nm].state.tobytes() == back.rewards[nm].state.tobytes()


def test_storm_headerless_reward_errors_name_the_line(tmp_path):
    (tmp_path / "m.tra").write_text(TRA_OK)
    cases = [
        ("m.srew", "0 1.5\n2 1\n1 3\n", r"m.srew, line 3: state 1 comes after state 2"),
        ("m.srew", "0 1.5\n1 -2\n", r"m.srew, line 2: negative reward -2"),
        ("m.srew", "0 1.5\n# note\n1 2\n", r"m.srew, line 2: a comment line in a headerless"),
        ("m.srew", "1 2 3\n", r"m.srew, line 1: expected the header 'n m' \(PRISM\) or a line 'i x'"),
        ("m.srew", "4 1\n0 1\n", r"m.srew, line 1: the header declares 4 states, the model has 3"),
        ("m.srew", "1 x\n", r"m.srew, line 1: .*reward"),
        ("m.trew", "mdp\n2 0 0 1\n1 0 1 2\n", r"m.trew, line 3: choice 1 0 comes after 2 0"),
        ("m.trew", "dtmc\n0 0 1 1\n", r"m.trew, line 1: format line 'dtmc'"),
        ("m.trew", "mdp\n", r"m.trew, line 2: no transition-reward lines"),
        ("m.trew", "0 0 1 1\n0 0 1 2\n", r"m.trew, line 2: a transition has two rewards"),
        ("m.trew", "0 0 1 1\n1 0 0 2\n", r"m.trew, line 2: reward for transition 1 0 -> 0"),
    ]
    for name, text, msg in cases:
        for f in ("m.srew", "m.trew"):
            (tmp_path / f).unlink(missing_ok=True)
        (tmp_path / name).write_text(text)
        with pytest.raises(ModelFileError, match=msg):
            mio.load_prism(tmp_path / "m.tra")
    # header versus headerless is decided by the first number: S (= 3) is a header, a state index is not
    for f in ("m.srew", "m.trew"):
        (tmp_path / f).unlink(missing_ok=True)
    (tmp_path / "m.srew").write_text("2 1\n")  # Storm: state 2 has reward 1
    assert mio.load_prism(tmp_path / "m.tra").mdp.R[2, 0] == 1.0
    (tmp_path / "m.srew").write_text("3 1\n2 1\n")  # PRISM: 3 states, 1 reward
    assert mio.load_prism(tmp_path / "m.tra").mdp.R[2, 0] == 1.0
    (tmp_path / "m.srew").write_text("")  # Storm reads an empty file as all-zero rewards
    assert not mio.load_prism(tmp_path / "m.tra").mdp.R.any()
    with pytest.raises(InvalidArgumentError, match="non-negative"):
        rec = _rewarded(0)
        rec.rewards["default"].state[0] = -1.0
        mio.save_prism(rec, tmp_path / "neg", variant="storm")


def test_size_limits(tmp_path):
    p = tmp_path / "m.tra"
    p.write_text(TRA_OK)
    with pytest.raises(ModelFileError, match="max_bytes=10"):
        mio.load_prism(p, max_bytes=10)
    p.write_text("100000000000 4 6\n" + TRA_OK.split("\n", 1)[1])
    with pytest.raises(ModelFileError, match="line 1: declared sizes"):
        mio.load_prism(p)
    q = tmp_path / "m.drn"
    q.write_text(DRN_OK.replace("@nr_states\n2", "@nr_states\n9000000000"))
    with pytest.raises(ModelFileError, match="declared sizes"):
        mio.load_drn(q)


def test_writers_refuse_what_the_format_cannot_store(tmp_path):
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = 1
    P[:, 1, 1] = 1
    m = TabularMDP(P, np.zeros((2, 2)), 0.9, action_mask=np.array([[True, False], [True, True]]))
    with pytest.raises(InvalidArgumentError, match="masked actions"):
        mio.save_cassandra(m, tmp_path / "x.mdp")
    with pytest.raises(InvalidArgumentError, match="whitespace"):
        mio.save_drn(mio.LabelledMDP(mdp=m, labels={"a b": np.array([0])}), tmp_path / "x.drn")


# ----------------------------------------------------------------------------- fuzzing
def _mutate(text: str, data) -> str:
    lines = text.split("\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    op = data.draw(st.sampled_from(["drop", "dup", "garble", "swap", "truncate", "number"]))
    if op == "drop":
        del lines[i]
    elif op == "dup":
        lines.insert(i, lines[i])
    elif op == "garble":
        tok = data.draw(st.sampled_from(["x", "-1", "1e999", "nan", "0", "", ":", "[", "state", "action", "9" * 30, "é"]))
        parts = lines[i].split(" ")
        parts[data.draw(st.integers(0, len(parts) - 1))] = tok
        lines[i] = " ".join(parts)
    elif op == "swap":
        j = data.draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        lines = lines[:i]
    else:
        lines[i] = lines[i].replace("0.5", data.draw(st.sampled_from(["0.50000001", "0.6", "5e-1", ".5", "0"])))
    return "\n".join(lines)


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_malformed_files_raise_named_errors(tmp_path, data):
    fmt = data.draw(st.sampled_from(["drn", "tra", "lab"]))
    if fmt == "drn":
        p = tmp_path / "f.drn"
        p.write_text(_mutate(DRN_OK, data))
        load = lambda: mio.load_drn(p)  # noqa: E731
    elif fmt == "tra":
        p = tmp_path / "f.tra"
        p.write_text(_mutate(TRA_OK, data))
        load = lambda: mio.load_prism(p, lab=None, sta=None, srew=None, trew=None)  # noqa: E731
    else:
        (tmp_path / "f.tra").write_text(TRA_OK)
        p = tmp_path / "f.lab"
        p.write_text(_mutate('0="init" 1="goal"\n0: 0\n2: 1\n1: 0 1\n', data))
        load = lambda: mio.load_prism(tmp_path / "f.tra", srew=None, trew=None, sta=None)  # noqa: E731
    try:
        rec = load()
    except ModelFileError as e:
        assert str(e).startswith(os.fspath(p)), str(e)
    else:
        assert isinstance(rec.mdp, TabularMDP)

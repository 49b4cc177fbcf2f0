"""Model files: npz / JSON / CSV round trips, the craam2 files, malformed input, atomic writes."""

from __future__ import annotations

import csv
import json
import os
import pickle
import re
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from mdpkit import InvalidArgumentError, ModelFileError, TabularMDP
from mdpkit import io as mio

DATA = Path(__file__).parent / "data" / "craam2"
RIVERSWIM = DATA / "riverswim_mdp.csv"
MACHINE = DATA / "machine_replacement_mdp.csv"
HEADER = "idstatefrom,idaction,idstateto,probability,reward\n"


# ----------------------------------------------------------------------------- model builders
def random_P(rng, S, A, *, zeros=True):
    """Dirichlet rows; with ``zeros`` about a third of the entries are exact zeros."""
    P = rng.dirichlet(np.ones(S), size=(S, A))
    if zeros and S > 1:
        drop = rng.random((S, A, S)) < 0.35
        drop[..., 0] = False  # keep every row non-empty
        P = np.where(drop, 0.0, P)
        P /= P.sum(axis=2, keepdims=True)
    return P


def make_model(kind, seed=0):
    rng = np.random.default_rng(seed)
    S, A = 5, 3
    P = random_P(rng, S, A)
    R = rng.normal(size=(S, A)) * 10
    if kind == "dense":
        return TabularMDP(P=P, R=R, gamma=0.9)
    if kind == "sparse":
        return TabularMDP(P=sp.csr_matrix(P.reshape(S * A, S)), R=R, gamma=0.95)
    if kind == "masked":
        mask = rng.random((S, A)) < 0.6
        mask[:, 0] = True
        P2 = P.copy()
        P2[~mask] = 0.0  # masked rows all zero, except one that keeps a distribution
        P2[1, 2] = P[1, 2]
        mask[1, 2] = False
        return TabularMDP(P=P2, R=R, gamma=0.5, action_mask=mask)
    if kind == "masked_sparse":
        mask = np.ones((S, A), bool)
        mask[2, 1] = mask[4, 0] = False
        P2 = P.copy()
        P2[2, 1] = 0.0
        return TabularMDP(P=sp.csr_matrix(P2.reshape(S * A, S)), R=R, gamma=0.5, action_mask=mask)
    if kind == "rsas_dense":
        Rs = rng.normal(size=(S, A, S)) * 3
        return TabularMDP(P=P, R=None, R_sas=Rs, gamma=0.99)
    if kind == "rsas_sparse":
        Pc = sp.csr_matrix(P.reshape(S * A, S))
        Rs = Pc.copy()
        Rs.data = rng.normal(size=Rs.nnz) * 3
        return TabularMDP(P=Pc, R=None, R_sas=Rs, gamma=0.99, action_mask=np.ones((S, A), bool))
    if kind == "labelled":
        return TabularMDP(
            P=P,
            R=R,
            gamma=1.0,
            mu0=rng.dirichlet(np.ones(S)),
            state_labels=["s0", "Zürich", "", 'q"uote,comma', "tab\tnew\nline"],
            action_labels=["left", "→", "\U0001f600"],
            name="labelled model ✓",
            grid_shape=(2, 2),
        )
    if kind == "tricky":
        # -0.0 entries, explicit zeros in CSR, a deterministic row, gamma = 0, S*A pattern
        P3 = P.copy()
        P3[0, 0] = 0.0
        P3[0, 0, 3] = 1.0
        P3[0, 0, 1] = -0.0
        R3 = R.copy()
        R3[0, 1] = -0.0
        return TabularMDP(P=P3, R=R3, gamma=0.0, R_sas=None, mu0=np.eye(S)[2])
    if kind == "explicit_zeros":
        data = np.array([0.5, 0.0, 0.5, 1.0, 1.0])  # P[0, 0, 1] is a stored (explicit) zero
        Pc = sp.csr_matrix((data, np.array([0, 1, 2, 1, 2]), np.array([0, 3, 4, 5])), shape=(3, 3))
        return TabularMDP(P=Pc, R=np.array([[1.0], [2.0], [3.0]]), gamma=0.9)
    if kind == "tiny":
        return TabularMDP(P=np.ones((1, 1, 1)), R=np.array([[0.1]]), gamma=0.3)
    raise AssertionError(kind)


KINDS = [
    "dense",
    "sparse",
    "masked",
    "masked_sparse",
    "rsas_dense",
    "rsas_sparse",
    "labelled",
    "tricky",
    "explicit_zeros",
    "tiny",
]


def bits(x):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64)).view(np.uint64)


def assert_same_matrix(a, b):
    assert sp.issparse(a) == sp.issparse(b)
    if sp.issparse(a):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.indptr, b.indptr)
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(bits(a.data), bits(b.data))
    else:
        assert a.shape == b.shape
        np.testing.assert_array_equal(bits(a), bits(b))


def assert_identical(m1: TabularMDP, m2: TabularMDP):
    """Every field bit for bit (including -0.0 and the CSR structure)."""
    assert (m1.S, m1.A) == (m2.S, m2.A)
    assert_same_matrix(m1.P, m2.P)
    np.testing.assert_array_equal(bits(m1.R), bits(m2.R))
    assert (m1.R_sas is None) == (m2.R_sas is None)
    if m1.R_sas is not None:
        assert_same_matrix(m1.R_sas, m2.R_sas)
    assert bits(m1.gamma) == bits(m2.gamma)
    np.testing.assert_array_equal(m1.action_mask, m2.action_mask)
    np.testing.assert_array_equal(bits(m1.mu0), bits(m2.mu0))
    assert m1.state_labels == m2.state_labels
    assert m1.action_labels == m2.action_labels
    assert m1.name == m2.name
    assert m1.grid_shape == m2.grid_shape


# ----------------------------------------------------------------------------- lossless round trips
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fmt", ["npz", "json"])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_is_lossless(tmp_path, fmt, kind, seed):
    m = make_model(kind, seed)
    path = tmp_path / f"model.{fmt}"
    mio.save(m, path)
    back = mio.load(path)
    assert_identical(m, back)
    # saving the loaded model gives the same file (deterministic writers)
    path2 = tmp_path / f"again.{fmt}"
    mio.save(back, path2)
    if fmt == "json":
        assert path.read_bytes() == path2.read_bytes()


@pytest.mark.parametrize("compress", [True, False])
def test_npz_uncompressed_and_keys(tmp_path, compress):
    m = make_model("rsas_sparse")
    mio.save_npz(m, tmp_path / "m.npz", compress=compress)
    assert_identical(m, mio.load_npz(tmp_path / "m.npz"))
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        keys = set(z.files)
        assert all(z[k].dtype != object for k in keys)
    assert {"format_version", "layout", "P_data", "P_indices", "P_indptr", "P_shape", "R"} <= keys
    assert "P" not in keys and "state_labels" not in keys


def test_json_is_readable_and_follows_schema(tmp_path):
    m = make_model("labelled")
    mio.save_json(m, tmp_path / "m.json")
    raw = (tmp_path / "m.json").read_bytes()
    raw.decode("ascii")  # pure ASCII
    doc = json.loads(raw)
    assert doc["format"] == "mdpkit-mdp" and doc["version"] == 1
    assert (doc["S"], doc["A"], doc["gamma"], doc["layout"]) == (5, 3, 1.0, "dense")
    assert doc["R_sas"] is None and doc["grid_shape"] == [2, 2]
    assert doc["state_labels"][1] == "Zürich"
    P = np.zeros((5, 3, 5))
    for s, a, t, p in doc["P"]:
        P[s, a, t] = p
    np.testing.assert_array_equal(P, m.P)
    assert doc["R"] == m.R.tolist() and doc["mu0"] == m.mu0.tolist()
    # one entry per line, so the file diffs well
    assert raw.count(b"\n") > len(doc["P"])


def test_load_gamma_overrides_stored_gamma(tmp_path):
    m = make_model("dense")
    mio.save(m, tmp_path / "m.npz")
    assert mio.load(tmp_path / "m.npz", gamma=0.5).gamma == 0.5
    assert mio.load(tmp_path / "m.npz").gamma == m.gamma
    with pytest.raises(InvalidArgumentError, match="gamma"):
        mio.load(tmp_path / "m.npz", gamma=1.5)


def test_format_dispatch(tmp_path):
    m = make_model("dense")
    mio.save(m, tmp_path / "m.txt", format="json")
    assert_identical(m, mio.load(tmp_path / "m.txt", format="json"))
    mio.save(m, tmp_path / "M.NPZ")
    assert_identical(m, mio.load(tmp_path / "M.NPZ"))
    with pytest.raises(InvalidArgumentError, match="extension"):
        mio.save(m, tmp_path / "m.pkl")
    with pytest.raises(InvalidArgumentError, match="extension"):
        mio.load(tmp_path / "m.txt")
    with pytest.raises(InvalidArgumentError, match="format must be one of"):
        mio.load(tmp_path / "m.txt", format="pickle")


# ----------------------------------------------------------------------------- CSV round trips
def csv_rows(path):
    """The transition rows of a CSV file, read independently with the csv module."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert [h.strip() for h in rows[0]] == HEADER.strip().split(",")
    return [(int(s), int(a), int(t), float(p), float(r)) for s, a, t, p, r in rows[1:]]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
def test_csv_round_trip(tmp_path, kind, seed):
    m = make_model(kind, seed)
    path = tmp_path / "m.csv"
    mio.save_csv(m, path)
    back = mio.load_csv(path, m.gamma, A=m.A, sparse=m.is_sparse)
    assert (back.S, back.A, back.gamma, back.is_sparse) == (m.S, m.A, m.gamma, m.is_sparse)
    # P exactly on available actions; masked actions come back masked with zero rows
    np.testing.assert_array_equal(back.action_mask, m.action_mask)
    Pm = np.where(m.action_mask[..., None], m.P_dense(), 0.0)
    np.testing.assert_array_equal(bits(np.where(Pm > 0, Pm, 0.0)), bits(back.P_dense()))
    # R_sas exactly where P > 0 (the rewards of the file)
    support = Pm > 0
    if m.R_sas is not None:
        expected_r = m.R_sas_dense()
    else:
        expected_r = np.broadcast_to(m.R[..., None], Pm.shape)
    np.testing.assert_array_equal(bits(back.R_sas_dense()[support]), bits(expected_r[support]))
    # R = sum p r: exact when the model was folded from R_sas, within 1e-12 otherwise
    mask = m.action_mask
    if m.R_sas is not None:
        np.testing.assert_array_equal(bits(back.R[mask]), bits(m.R[mask]))
    else:
        np.testing.assert_allclose(back.R[mask], m.R[mask], rtol=1e-12, atol=1e-12)
    # reading and writing again is a fixpoint
    mio.save_csv(back, tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == path.read_bytes()


def test_csv_writer_format(tmp_path):
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.1, 0.9]
    P[0, 1, 1] = 1.0
    P[1, 0, 0] = 1.0
    P[1, 1] = [1 / 3, 2 / 3]
    mask = np.array([[True, True], [True, False]])
    m = TabularMDP(P=P, R=np.array([[1.5, -2.0], [0.0, 99.0]]), gamma=0.9, action_mask=mask)
    mio.save_csv(m, tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_text() == (
        HEADER + "0,0,0,0.1,1.5\n0,0,1,0.9,1.5\n0,1,1,1.0,-2.0\n1,0,0,1.0,0.0\n"
    )


def test_csv_trailing_masked_action_needs_A(tmp_path):
    P = np.zeros((2, 3, 2))
    P[:, :2, 0] = 1.0
    mask = np.array([[True, True, False], [True, True, False]])
    m = TabularMDP(P=P, R=np.zeros((2, 3)), gamma=0.9, action_mask=mask)
    mio.save(m, tmp_path / "m.csv")
    assert mio.load(tmp_path / "m.csv", gamma=0.9).A == 2
    assert mio.load_csv(tmp_path / "m.csv", 0.9, A=3).A == 3


def test_csv_matches_from_transitions(tmp_path):
    rows = csv_rows(MACHINE)
    ref = TabularMDP.from_transitions(rows, 0.9)
    m = mio.load_csv(MACHINE, 0.9)
    assert m.allclose(ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(m.action_mask, ref.action_mask)


def test_csv_duplicate_rows_are_summed(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(HEADER + "0,0,1,0.25,1\n0,0,0,0.5,0\n0,0,1,0.25,3\n1,0,1,1,0\n")
    m = mio.load_csv(path, 0.9)
    assert m.P[0, 0].tolist() == [0.5, 0.5]
    assert m.R_sas[0, 0, 1] == 2.0  # probability-weighted mean of 1 and 3
    assert m.R[0, 0] == 1.0


def test_csv_missing_pairs_are_masked_and_S_A_can_be_given(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER + "0,1,1,1,0\n1,0,0,1,2\n")
    m = mio.load_csv(path, 0.9)
    assert m.action_mask.tolist() == [[False, True], [True, False]]
    m3 = mio.load_csv(path, 0.9, A=4, sparse=True)
    assert m3.A == 4 and m3.is_sparse and m3.action_mask[:, 2:].sum() == 0
    with pytest.raises(ModelFileError, match=r"m\.csv, line 2: idaction 1 is out of range for A=1"):
        mio.load_csv(path, 0.9, A=1)


def test_csv_tolerates_quotes_crlf_bom_blank_lines_and_spaces(tmp_path):
    path = tmp_path / "m.csv"
    text = (
        '\ufeff"idstatefrom", "idaction","idstateto","probability","reward"\r\n'
        '\r\n0, 0 ,0,1.0,2e0\r\n"1",0,1,1,-0\r\n'
    )
    path.write_bytes(text.encode("utf-8"))
    m = mio.load_csv(path, 0.9)
    assert (m.S, m.A) == (2, 1) and m.R.tolist() == [[2.0], [0.0]]
    # integral ids written as floats are accepted
    path.write_text(HEADER + "0.0,0,1.0,1,0\n1,0e0,1,1,0\n")
    assert mio.load_csv(path, 0.9).S == 2


# ----------------------------------------------------------------------------- the craam2 files
@pytest.mark.parametrize("path, S, A", [(RIVERSWIM, 6, 2), (MACHINE, 10, 2)])
def test_craam2_files_load(path, S, A):
    rows = csv_rows(path)
    m = mio.load(path, gamma=0.95)
    assert (m.S, m.A, m.gamma) == (S, A, 0.95)
    assert m.name == path.stem
    assert m.action_mask.all()
    R = np.zeros((S, A))
    seen = set()
    for s, a, t, p, r in rows:
        R[s, a] += p * r
        assert (s, a, t) not in seen  # these files have no duplicates, so P and R_sas are exact
        seen.add((s, a, t))
        assert m.P[s, a, t] == p
        assert m.R_sas[s, a, t] == r
    assert m.P.sum() == pytest.approx(S * A)
    assert len(seen) == int(np.count_nonzero(m.P))
    np.testing.assert_allclose(m.R, R, rtol=1e-12, atol=1e-12)


def test_craam2_known_values():
    rs = mio.load_csv(RIVERSWIM, 0.9)
    assert rs.R[0, 0] == 5.0 and rs.R[5, 1] == pytest.approx(3000.0, rel=1e-12)
    assert rs.P[5, 1, 5] == 0.3 and rs.P[5, 1, 4] == 0.7
    mr = mio.load_csv(MACHINE, 0.9)
    np.testing.assert_allclose(mr.R[:, 1], [-2.2] * 6 + [-8.2, -8.2, -5.2, -2.0], rtol=1e-12)
    np.testing.assert_allclose(mr.R[6:, 0], [-16.0, -20.0, -10.0, -0.4], rtol=1e-12)


def test_craam2_write_then_read_gives_same_model(tmp_path):
    for src in (RIVERSWIM, MACHINE):
        m = mio.load_csv(src, 0.9)
        out = tmp_path / src.name
        mio.save_csv(m, out)
        back = mio.load_csv(out, 0.9)
        assert_identical(m, back)
        assert sorted(csv_rows(out)) == sorted(csv_rows(src))


# ----------------------------------------------------------------------------- malformed CSV
CSV_CASES = {
    # name: (file text, line in the message, other text expected in the message)
    "wrong_header": (
        "idstatefrom,idaction,idstateto,prob,reward\n0,0,0,1,0\n",
        1,
        "wrong header",
    ),
    "no_header": ("0,0,0,1,0\n", 1, "wrong header"),
    "too_few_columns": (HEADER + "0,0,0,1,0\n0,1,0,1\n", 3, "expected 5 fields"),
    "too_many_columns": (HEADER + "0,0,0,1,0,\n", 2, "got 6"),
    "non_numeric": (HEADER + "0,0,0,1,0\n0,1,0,one,0\n", 3, "probability 'one' is not a number"),
    "NA_reward": (HEADER + "0,0,0,1,NA\n", 2, "reward 'NA' is not a number"),
    "empty_field": (HEADER + "0,,0,1,0\n", 2, "idaction '' is not a number"),
    "underscore": (HEADER + "0,0,0,1,1_000\n", 2, "not a number"),
    "negative_id": (HEADER + "0,0,0,1,0\n-1,0,0,1,0\n", 3, "idstatefrom '-1' is negative"),
    "non_integer_id": (HEADER + "0,0,0.5,1,0\n", 2, "idstateto '0.5' is not an integer"),
    "negative_probability": (
        HEADER + "0,0,0,1.5,0\n0,0,1,-0.5,0\n1,0,0,1,0\n",
        3,
        "probability -0.5 is negative",
    ),
    "nan_probability": (HEADER + "0,0,0,nan,0\n", 2, "probability 'nan' is NaN"),
    "inf_reward": (HEADER + "0,0,0,1,-inf\n", 2, "reward '-inf' is infinite"),
    "overflow": (HEADER + "0,0,0,1,1e999\n", 2, "outside the float64 range"),
    "bad_quoting": (HEADER + '0,0,0,1,0\n0,1,"0"x,1,0\n', 3, "malformed CSV"),
    "unterminated_quote": (HEADER + '0,0,0,1,0\n0,1,0,"1,0\n', 3, "malformed CSV"),
    "empty_file": ("", 1, "empty file"),
    "blank_file": ("\n\n", 1, "empty file"),
    "header_only": (HEADER, 2, "no transition rows"),
    "blank_lines_count": (HEADER + "\n0,0,0,1,0\n\n0,1,x,1,0\n", 5, "idstateto 'x'"),
    "state_without_row": (HEADER + "0,0,2,1,0\n2,0,0,1,0\n", 3, "state 1 has no transition row"),
    "huge_state_id": (HEADER + "0,0,99999999999999,1,0\n", 2, "state 1 has no transition row"),
    "huge_action_id": (HEADER + "0,999999999999,0,1,0\n", 2, "max_bytes"),
    "huge_digits": (HEADER + "0,0," + "9" * 30 + ",1,0\n", 2, "too large for an id"),
    "non_ascii_digit": (HEADER + "0,0,\u0661,1,0\n", 2, "idstateto '\u0661' is not a number"),
    "pair_sum": (
        HEADER + "0,0,0,1,0\n0,1,0,0.5,0\n0,1,1,0.25,0\n1,0,1,1,0\n",
        "lines 3, 4",
        "state 0, action 1 (P[0, 1, :]) sum to 0.75, expected 1 within atol=1e-08",
    ),
    "pair_sum_above_one": (
        HEADER + "0,0,0,0.5,0\n0,0,1,0.6,0\n1,0,1,1,0\n",
        "lines 2, 3",
        "sum to 1.1",
    ),
    "pair_sum_duplicate": (
        HEADER + "0,0,0,1,0\n1,0,1,1,0\n1,0,1,1,0\n",
        "lines 3, 4",
        "state 1, action 0",
    ),
    "zero_probability_pair": (HEADER + "0,0,0,1,0\n0,1,0,0,0\n", "line 3", "sum to 0.0"),
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_malformed_csv_names_file_and_line(tmp_path, case):
    text, line, what = CSV_CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(ModelFileError) as info:
        mio.load_csv(path, 0.9)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    assert (f"line {line}" if isinstance(line, int) else line) in msg, msg
    assert what in msg, msg


def test_malformed_csv_bad_utf8(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(HEADER.encode() + b"0,0,0,1,0\n0,1,0,1,\xff\n")
    with pytest.raises(ModelFileError, match=r"bad\.csv, line 3: not valid UTF-8"):
        mio.load_csv(path, 0.9)


def test_malformed_csv_nul_byte(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(HEADER.encode() + b"0,0,0,1,0\x00\n")
    with pytest.raises(ModelFileError, match=r"nul\.csv, line 2"):
        mio.load_csv(path, 0.9)


def test_csv_needs_gamma(tmp_path):
    with pytest.raises(InvalidArgumentError, match="pass gamma"):
        mio.load(RIVERSWIM)
    with pytest.raises(InvalidArgumentError, match="gamma"):
        mio.load_csv(RIVERSWIM, None)
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        mio.load_csv(RIVERSWIM, 1.5)
    with pytest.raises(InvalidArgumentError, match="atol"):
        mio.load_csv(RIVERSWIM, 0.9, atol=-1.0)


def test_csv_atol(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(HEADER + "0,0,0,0.333333,0\n0,0,1,0.666666,0\n1,0,1,1,0\n")
    with pytest.raises(ModelFileError, match="sum to 0.999999"):
        mio.load_csv(path, 0.9)
    assert mio.load_csv(path, 0.9, atol=1e-5).S == 2  # nothing renormalised
    assert mio.load_csv(path, 0.9, atol=1e-5).P[0, 0, 0] == 0.333333


# ----------------------------------------------------------------------------- malformed npz
def npz_arrays(m):
    return mio._npz_arrays(m)


def write_npz(path, arrays):
    np.savez(path, **arrays)


def test_npz_refuses_pickled_object_array(tmp_path):
    arrays = npz_arrays(make_model("dense"))
    arrays["name"] = np.array([{"evil": 1}], dtype=object)
    write_npz(tmp_path / "obj.npz", arrays)  # np.savez pickles object arrays
    with pytest.raises(ModelFileError, match=r"obj\.npz: key 'name' holds Python objects.*never loaded"):
        mio.load_npz(tmp_path / "obj.npz")


def test_npz_refuses_a_pickle_file(tmp_path):
    path = tmp_path / "pickle.npz"
    path.write_bytes(pickle.dumps(make_model("dense").P))
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        mio.load(path)
    np.save(tmp_path / "plain.npy", np.zeros(3))
    os.replace(tmp_path / "plain.npy", tmp_path / "plain.npz")
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        mio.load(tmp_path / "plain.npz")
    (tmp_path / "zip.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ModelFileError, match="not a readable .npz archive"):
        mio.load(tmp_path / "zip.npz")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("mu0"), "missing key 'mu0'"),
        (lambda d: d.pop("format_version"), "missing key 'format_version'"),
        (lambda d: d.update(extra=np.zeros(2)), "unexpected key 'extra'"),
        (lambda d: d.update(R_sas_data=np.zeros(2)), "unexpected key 'R_sas_data'"),
        (lambda d: d.update(R=d["R"].astype(np.float32)), "key 'R' must be float64"),
        (lambda d: d.update(action_mask=d["action_mask"].astype(np.int8)), "key 'action_mask' must be bool"),
        (lambda d: d.update(P=d["P"][0]), r"key 'P' must be float64 of shape \(S, A, S\)"),
        (lambda d: d.update(gamma=np.array([0.9])), "key 'gamma' must be a float64 scalar"),
        (lambda d: d.update(name=np.array(b"bytes")), "key 'name' must be a unicode scalar"),
        (lambda d: d.update(format_version=np.array(2)), "format_version is 2"),
        (lambda d: d.update(layout=np.array("coo")), "key 'layout' must be 'dense' or 'csr'"),
        (lambda d: d.update(mu0=np.full(5, 0.3)), "mu0 sums to"),
        (lambda d: d.update(gamma=np.array(1.5)), "gamma must lie in"),
        (lambda d: d.update(state_labels=np.array(["a", "b"])), "state_labels must have length 5"),
    ],
)
def test_npz_malformed_names_the_key(tmp_path, edit, message):
    arrays = npz_arrays(make_model("dense"))
    edit(arrays)
    write_npz(tmp_path / "bad.npz", arrays)
    with pytest.raises(ModelFileError, match=message) as info:
        mio.load_npz(tmp_path / "bad.npz")
    assert str(info.value).startswith(str(tmp_path / "bad.npz"))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.pop("P_indptr"), "missing key 'P_indptr'"),
        (lambda d: d.pop("R_sas_indices"), "key 'R_sas_indices' is missing"),
        (lambda d: d.update(P_shape=np.array([3, 5])), "key 'P_shape' is"),
        (lambda d: d.update(P_indptr=d["P_indptr"][:-1]), "must have length S\\*A \\+ 1"),
        (lambda d: d.update(P_indices=d["P_indices"] + 7), r"outside \[0, S\)"),
        (lambda d: d.update(P_indices=d["P_indices"][::-1].copy()), "not canonical CSR"),
        (lambda d: d.update(P_data=d["P_data"][:-1]), "differ in length|must rise"),
        (lambda d: d.update(P=np.zeros((5, 3, 5))), "unexpected key 'P'"),
    ],
)
def test_npz_malformed_csr(tmp_path, edit, message):
    arrays = npz_arrays(make_model("rsas_sparse"))
    edit(arrays)
    write_npz(tmp_path / "bad.npz", arrays)
    with pytest.raises(ModelFileError, match=message):
        mio.load_npz(tmp_path / "bad.npz")


def test_npz_refuses_trailing_nul_in_labels(tmp_path):
    m = TabularMDP(P=np.ones((1, 1, 1)), R=np.zeros((1, 1)), gamma=0.5, state_labels=["a\x00"])
    with pytest.raises(InvalidArgumentError, match="NUL"):
        mio.save_npz(m, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    mio.save_json(m, tmp_path / "m.json")  # JSON keeps it
    assert mio.load(tmp_path / "m.json").state_labels == ("a\x00",)


# ----------------------------------------------------------------------------- malformed JSON
def json_doc(kind="dense"):
    m = make_model(kind)
    return json.loads(mio._json_text(m))


def write_json(path, doc):
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["R"][3].__setitem__(1, "x"), re.escape('R[3][1]: expected a number, got "x"')),
        (lambda d: d["R"][0].__setitem__(0, True), re.escape("R[0][0]: expected a number, got true")),
        (lambda d: d["R"].pop(), "R: expected a list of length 5, got length 4"),
        (lambda d: d["mu0"].__setitem__(2, None), re.escape("mu0[2]: expected a number, got null")),
        (
            lambda d: d["action_mask"][1].__setitem__(0, 1),
            re.escape("action_mask[1][0]: expected true or false, got 1"),
        ),
        (lambda d: d["P"][4].__setitem__(0, 1.0), r"P\[4\]\[0\]: expected an integer state id, got 1.0"),
        (lambda d: d["P"][4].__setitem__(1, 3), r"P\[4\]\[1\]: action id 3 is not in \[0, 3\)"),
        (lambda d: d["P"][4].__setitem__(3, -0.5), r"P\[4\]\[3\]: probability -0.5 is negative"),
        (lambda d: d["P"][4].pop(), r"P\[4\]: expected an entry \[s, a, s_next, value\]"),
        (lambda d: d["P"].append(list(d["P"][0])), r"P\[\d+\]: entry \(0, 0, \d\) already given at P\[0\]"),
        (lambda d: d.pop("mu0"), "missing member 'mu0'"),
        (lambda d: d.update(Rsas=None), "unknown member 'Rsas'"),
        (lambda d: d.update(format="other"), 'member "format" must be "mdpkit-mdp"'),
        (lambda d: d.update(version=2), "version is 2"),
        (lambda d: d.update(S=0), "S: 0 is not >= 1"),
        (lambda d: d.update(S=10**12), "R: expected a list of length 1000000000000, got length 5"),
        (lambda d: d.update(S=True), "S: expected an integer, got true"),
        (lambda d: d.update(layout="coo"), 'layout: expected "dense" or "csr"'),
        (lambda d: d.update(state_labels=["a", 1, "c", "d", "e"]), "state_labels\\[1\\]: expected a string, got 1"),
        (lambda d: d.update(grid_shape=[2]), "grid_shape: expected a list of length 2"),
        (lambda d: d.update(gamma=2.0), "gamma must lie in"),
        (lambda d: d["P"].pop(0), r"P\[0, 0, :\] sums to"),
    ],
)
def test_json_malformed_names_the_path(tmp_path, edit, message):
    doc = json_doc()
    edit(doc)
    path = tmp_path / "bad.json"
    write_json(path, doc)
    with pytest.raises(ModelFileError, match=message) as info:
        mio.load_json(path)
    assert str(info.value).startswith(str(path))


def test_json_message_format_exact(tmp_path):
    doc = json_doc()
    doc["R"][3][1] = "x"
    write_json(tmp_path / "m.json", doc)
    with pytest.raises(ModelFileError) as info:
        mio.load(tmp_path / "m.json")
    assert str(info.value) == f'{tmp_path / "m.json"}: R[3][1]: expected a number, got "x"'


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty file"),
        ('{"format": "mdpkit-mdp",\n "S": 1,,}', "line 2: invalid JSON at column"),
        ("[1, 2]", "expected a JSON object at the top level"),
        ('{"format": "mdpkit-mdp", "format": "mdpkit-mdp"}', "duplicate member 'format'"),
        ("[" * 100000 + "]" * 100000, "invalid JSON"),
    ],
    ids=["empty", "syntax", "array", "duplicate_key", "deep_nesting"],
)
def test_json_malformed_text(tmp_path, text, message):
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFileError, match=message):
        mio.load_json(tmp_path / "m.json")


@pytest.mark.parametrize("token, shown", [("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity")])
def test_json_rejects_nan_and_infinity_tokens(tmp_path, token, shown):
    text = mio._json_text(make_model("dense"))
    text = text.replace('"gamma": 0.9', f'"gamma": {token}')
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFileError, match=f"gamma: expected a finite number, got {shown}"):
        mio.load_json(tmp_path / "m.json")


def test_json_rejects_overflowing_numbers(tmp_path):
    text = mio._json_text(make_model("dense")).replace('"gamma": 0.9', '"gamma": 1e400')
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(ModelFileError, match="gamma: number .* outside the float64 range"):
        mio.load_json(tmp_path / "m.json")


def test_json_dense_allocation_is_bounded(tmp_path):
    S = 4000
    doc = {
        "format": "mdpkit-mdp", "version": 1, "S": S, "A": 1, "gamma": 0.5, "layout": "dense",
        "P": [[s, 0, s, 1.0] for s in range(S)], "R": [[0.0]] * S, "action_mask": [[True]] * S,
        "mu0": [1.0] + [0.0] * (S - 1),
    }  # fmt: skip
    write_json(tmp_path / "m.json", doc)
    with pytest.raises(ModelFileError, match="max_bytes"):
        mio.load_json(tmp_path / "m.json", max_bytes=10**6)
    doc["layout"] = "csr"
    write_json(tmp_path / "m.json", doc)
    assert mio.load_json(tmp_path / "m.json", max_bytes=10**6).is_sparse


# ----------------------------------------------------------------------------- size limits
def test_max_bytes_is_checked_before_reading(tmp_path, monkeypatch):
    size = RIVERSWIM.stat().st_size
    with pytest.raises(ModelFileError, match=f"{size:,} bytes, more than max_bytes=100"):
        mio.load_csv(RIVERSWIM, 0.9, max_bytes=100)
    assert mio.load_csv(RIVERSWIM, 0.9, max_bytes=size).S == 6
    assert mio.load_csv(RIVERSWIM, 0.9, max_bytes=None).S == 6
    m = make_model("dense")
    for ext in ("npz", "json"):
        mio.save(m, tmp_path / f"m.{ext}")
        with pytest.raises(ModelFileError, match="max_bytes"):
            mio.load(tmp_path / f"m.{ext}", max_bytes=50)
    with pytest.raises(InvalidArgumentError, match="max_bytes"):
        mio.load(RIVERSWIM, gamma=0.9, max_bytes=0)


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes")
def test_max_bytes_on_a_stream(tmp_path):
    # issue 13 item 5: a FIFO is refused before it is opened for reading (it used to be read up
    # to max_bytes, and hung forever when no writer came); the writer here is never served
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="FIFO"):
        mio.load_csv(fifo, 0.9, max_bytes=100)


def test_npz_decompression_bomb_is_refused(tmp_path):
    arrays = npz_arrays(make_model("dense"))
    arrays["P"] = np.zeros((210, 210, 210))  # 74 MB of zeros (above the 64 MiB floor), ~70 kB compressed
    np.savez_compressed(tmp_path / "bomb.npz", **arrays)
    assert (tmp_path / "bomb.npz").stat().st_size < 10**6
    msg = r"arrays in the archive would need about .* \(max_bytes=2,000,000, at least 64 MiB\)"
    with pytest.raises(ModelFileError, match=msg):
        mio.load_npz(tmp_path / "bomb.npz", max_bytes=2 * 10**6)


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_write_content_kinds(tmp_path):
    mio.atomic_write(tmp_path / "a.bin", b"\x00\x01")
    mio.atomic_write(tmp_path / "b.txt", "héllo\n")
    mio.atomic_write(tmp_path / "c.bin", lambda f: f.write(b"xyz"))
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_bytes() == "héllo\n".encode()
    assert (tmp_path / "c.bin").read_bytes() == b"xyz"
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "b.txt", "c.bin"]
    with pytest.raises(InvalidArgumentError, match="content must be"):
        mio.atomic_write(tmp_path / "d", 42)


def test_atomic_write_failure_keeps_target_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"old content")

    def broken(f):
        f.write(b"half of the new")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        mio.atomic_write(target, broken)
    assert target.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["model.npz"]
    # a failing save (model that npz cannot store) behaves the same
    m = TabularMDP(P=np.ones((1, 1, 1)), R=np.zeros((1, 1)), gamma=0.5, name="x\x00")
    with pytest.raises(InvalidArgumentError):
        mio.save(m, target)
    assert target.read_bytes() == b"old content"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_atomic_write_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        mio.atomic_write(tmp_path / "nope" / "m.json", "x")
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and symlinks")
def test_atomic_write_keeps_mode_and_follows_symlinks(tmp_path):
    target = tmp_path / "t.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    mio.save(make_model("dense"), link)
    assert link.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert mio.load(link).S == 5
    assert sorted(os.listdir(tmp_path)) == ["link.json", "t.json"]


def test_every_writer_is_atomic(tmp_path, monkeypatch):
    calls = []
    real = mio.atomic_write
    monkeypatch.setattr(mio, "atomic_write", lambda p, c: (calls.append(p), real(p, c))[1])
    m = make_model("dense")
    for ext in ("npz", "json", "csv"):
        mio.save(m, tmp_path / f"m.{ext}")
    assert len(calls) == 3

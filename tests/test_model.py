"""TabularMDP construction and boundary validation."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given

import mdpkit
from mdpkit import InvalidMDPError, TabularMDP
from mdpkit.testing import mdps


def _two_state():
    P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return P, R


def test_exceptions_are_value_errors():
    assert issubclass(InvalidMDPError, ValueError) and issubclass(InvalidMDPError, mdpkit.MDPKitError)
    assert issubclass(mdpkit.ModelFileError, ValueError)


def test_arrays_are_readonly_copies_and_model_is_frozen():
    P, R = _two_state()
    m = TabularMDP(P, R, 0.9)
    P[0, 0, 0] = 7.0  # the caller's array is copied
    assert m.P[0, 0, 0] == 0.5
    for arr in (m.P, m.R, m.action_mask, m.mu0):
        with pytest.raises(ValueError):
            arr[(0,) * arr.ndim] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.gamma = 0.5
    ms = m.to_sparse()
    with pytest.raises(ValueError):
        ms.P.data[0] = 3.0


@pytest.mark.parametrize("sparse", [False, True])
def test_row_sum_error_names_state_action_and_sum(sparse):
    P, R = _two_state()
    P[1, 0] = [0.25, 0.7]
    Pin = sp.csr_matrix(P.reshape(4, 2)) if sparse else P
    with pytest.raises(InvalidMDPError, match=r"P\[1, 0, :\] sums to 0\.95; expected 1 within atol=1e-08"):
        TabularMDP(Pin, R, 0.9)


def test_atol_is_documented_and_adjustable():
    P, R = _two_state()
    P[0, 0] = [0.5, 0.5 + 1e-9]
    TabularMDP(P, R, 0.9)  # within the default 1e-8
    with pytest.raises(InvalidMDPError, match="atol=1e-10"):
        TabularMDP(P, R, 0.9, atol=1e-10)


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda P, R: P.__setitem__((0, 1), [-0.5, 1.5]), r"P\[0, 1, 0\] = -0\.5 is negative"),
        (lambda P, R: P.__setitem__((1, 1, 0), np.nan), r"P\[1, 1, 0\] is nan"),
        (lambda P, R: R.__setitem__((0, 0), np.inf), r"R\[0, 0\] is inf"),
    ],
)
def test_bad_entries_are_named(mutate, pattern):
    P, R = _two_state()
    mutate(P, R)
    with pytest.raises(InvalidMDPError, match=pattern):
        TabularMDP(P, R, 0.9)


@pytest.mark.parametrize("gamma", [-0.1, 1.0000001, np.nan, "0.9", True])
def test_gamma_out_of_range(gamma):
    P, R = _two_state()
    with pytest.raises(InvalidMDPError, match="gamma"):
        TabularMDP(P, R, gamma)


def test_gamma_one_is_accepted_by_the_model_but_not_discounted_solvers():
    from mdpkit.solvers import value_iteration

    P, R = _two_state()
    m = TabularMDP(P, R, 1.0)
    with pytest.raises(InvalidMDPError, match=r"\[0, 1\)"):
        value_iteration(m)


@pytest.mark.parametrize(
    "P_shape, R_shape, pattern",
    [((2, 2, 3), (2, 2), r"shape \(S, A, S\)"), ((2, 2, 2), (2, 3), r"R must have shape \(S, A\) = \(2, 2\)"),
     ((2, 2), (2, 2), "3 dimensions")],
)
def test_wrong_shapes(P_shape, R_shape, pattern):
    P = np.full(P_shape, 1.0 / P_shape[-1])
    with pytest.raises(InvalidMDPError, match=pattern):
        TabularMDP(P, np.zeros(R_shape), 0.9)


def test_empty_action_set_and_mask_rules():
    P, R = _two_state()
    with pytest.raises(InvalidMDPError, match=r"state 1 has no available action"):
        TabularMDP(P, R, 0.9, action_mask=np.array([[True, True], [False, False]]))
    P2 = P.copy()
    P2[1, 1] = 0.0  # a masked action may have an all-zero row
    m = TabularMDP(P2, R, 0.9, action_mask=np.array([[True, True], [True, False]]))
    assert m.action_mask.tolist() == [[True, True], [True, False]]
    with pytest.raises(InvalidMDPError, match=r"P\[1, 1, :\] sums to 0\.0"):
        TabularMDP(P2, R, 0.9)  # ...but not an available one
    with pytest.raises(InvalidMDPError, match="boolean"):
        TabularMDP(P, R, 0.9, action_mask=np.ones((2, 2)))


def test_nothing_renormalised_unless_asked():
    P, R = _two_state()
    P[0, 0] = [1.0, 1.0]
    with pytest.raises(InvalidMDPError):
        TabularMDP(P, R, 0.9)
    m = TabularMDP(P, R, 0.9, normalize=True)
    np.testing.assert_array_equal(m.P[0, 0], [0.5, 0.5])


def test_mu0_validation():
    P, R = _two_state()
    with pytest.raises(InvalidMDPError, match="mu0 sums to 0.5"):
        TabularMDP(P, R, 0.9, mu0=[0.25, 0.25])
    with pytest.raises(InvalidMDPError, match=r"mu0\[1\] = -0\.5 is negative"):
        TabularMDP(P, R, 0.9, mu0=[1.5, -0.5])


def test_R_sas_folds_into_R_and_inconsistency_is_caught():
    P, _ = _two_state()
    R_sas = np.arange(8, dtype=float).reshape(2, 2, 2)
    m = TabularMDP(P, None, 0.9, R_sas=R_sas)
    np.testing.assert_allclose(m.R, (P * R_sas).sum(axis=2), rtol=0, atol=1e-15)
    with pytest.raises(InvalidMDPError, match=r"R\[0, 0\]"):
        TabularMDP(P, np.zeros((2, 2)), 0.9, R_sas=R_sas)


def test_from_action_matrices_matches_from_arrays_dense_and_sparse():
    P, R = _two_state()
    PA = P.transpose(1, 0, 2)  # (A, S, S)
    a = TabularMDP.from_action_matrices(PA, R, 0.9)
    b = TabularMDP.from_action_matrices([sp.csr_matrix(PA[0]), sp.csr_matrix(PA[1])], R, 0.9)
    assert b.is_sparse and a.allclose(TabularMDP(P, R, 0.9)) and b.allclose(a)
    c = TabularMDP.from_action_matrices(PA, np.array([1.0, 2.0]), 0.9)  # state reward (S,)
    np.testing.assert_array_equal(c.R, [[1.0, 1.0], [2.0, 2.0]])


def test_from_transitions_sums_duplicates_and_masks_missing_pairs():
    rows = [(0, 0, 1, 0.25, 4.0), (0, 0, 1, 0.25, 0.0), (0, 0, 0, 0.5, 2.0), (1, 0, 1, 1.0, -1.0)]
    m = TabularMDP.from_transitions(rows, 0.9, A=2)
    np.testing.assert_array_equal(m.P[0, 0], [0.5, 0.5])
    assert m.R[0, 0] == pytest.approx(0.25 * 4 + 0.5 * 2)
    assert m.R_sas[0, 0, 1] == pytest.approx(2.0)  # probability-weighted mean of 4 and 0
    assert m.action_mask.tolist() == [[True, False], [True, False]]
    with pytest.raises(InvalidMDPError, match="row 1"):
        TabularMDP.from_transitions([(0, 0, 0, 1.0, 0.0), (0, 1.5, 0, 1.0, 0.0)], 0.9)


def test_from_next_state_adds_one_terminal_state():
    ns = np.array([[1, -1], [0, 1]])
    m = TabularMDP.from_next_state(ns, np.array([[1.0, 5.0], [0.0, 2.0]]), 0.9)
    assert m.S == 3
    assert m.P[0, 1, 2] == 1.0 and m.R[0, 1] == 5.0
    assert np.all(m.P[2, :, 2] == 1.0) and np.all(m.R[2] == 0.0)
    with pytest.raises(InvalidMDPError, match=r"next_state\[1, 0\] = 7"):
        TabularMDP.from_next_state(np.array([[0, 0], [7, 0]]), np.zeros((2, 2)), 0.9)


def test_from_gymnasium_reads_the_real_model():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("FrozenLake-v1", map_name="4x4", is_slippery=True)
    m = TabularMDP.from_gymnasium(env, 0.99)
    assert (m.S, m.A) == (17, 4)
    P = env.unwrapped.P
    # independent recomputation: probability of terminating from (14, right) = sum of terminated entries
    term = sum(p for p, s2, r, t in P[14][2] if t)
    assert m.P[14, 2, 16] == pytest.approx(term)
    assert m.R[14, 2] == pytest.approx(sum(p * r for p, s2, r, t in P[14][2]))
    assert m.mu0[0] == 1.0 and m.mu0[16] == 0.0


@given(mdps(sparse=None, masked=True))
def test_dense_sparse_round_trip_is_exact(m):
    d = m.to_dense()
    s = m.to_sparse()
    np.testing.assert_array_equal(s.P_dense(), d.P_dense())
    assert s.allclose(d) and d.to_sparse().allclose(s)


def test_with_gamma_validates_gamma():
    P, R = _two_state()
    m = TabularMDP(P, R, 0.9)
    assert m.with_gamma(0.5).gamma == 0.5 and m.gamma == 0.9
    assert m.with_gamma(1).gamma == 1.0 and isinstance(m.with_gamma(1).gamma, float)
    for bad in (2.0, -0.1, float("nan"), True, "0.5", None):
        with pytest.raises(InvalidMDPError):
            m.with_gamma(bad)


@pytest.mark.parametrize("sparse", [False, True])
def test_with_gamma_shares_arrays_and_the_kernel_model(sparse):
    """with_gamma neither copies nor revalidates P: it shares every array, and the prepared
    kernel model, with the original (a gamma sweep over a large model costs nothing per value)."""
    from mdpkit._kernels import model_args

    P, R = _two_state()
    m = TabularMDP(P, R, 0.9, action_mask=np.array([[True, True], [True, False]]))
    if sparse:
        m = m.to_sparse()
    km = model_args(m)
    g = m.with_gamma(0.5)
    assert type(g) is TabularMDP and g is not m
    assert g.P is m.P and g.R is m.R and g.action_mask is m.action_mask and g.mu0 is m.mu0
    assert (g.S, g.A, g.is_sparse, g.name) == (m.S, m.A, m.is_sparse, m.name)
    assert model_args(g) is km
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.gamma = 0.1
    # the models stay independent
    assert m.gamma == 0.9 and g.with_gamma(0.7).gamma == 0.7 and g.gamma == 0.5
    # and solve as freshly built models do
    from mdpkit.solvers import value_iteration

    fresh = TabularMDP(m.P, m.R, 0.5, action_mask=m.action_mask)
    np.testing.assert_array_equal(value_iteration(g, epsilon=1e-9).v, value_iteration(fresh, epsilon=1e-9).v)


def test_kernel_model_is_cached_and_left_out_of_pickles_and_copies():
    import copy
    import pickle

    from mdpkit._kernels import model_args

    P, R = _two_state()
    m = TabularMDP(P, R, 0.9)
    km = model_args(m)
    assert model_args(m) is km
    for clone in (pickle.loads(pickle.dumps(m)), copy.copy(m), copy.deepcopy(m)):
        assert "_km" not in clone.__dict__
        assert clone.allclose(m)
        km2 = model_args(clone)  # rebuilt on use, read-only whatever the clone's flags
        assert not km2[1].flags.writeable and not km2[5].flags.writeable
        np.testing.assert_array_equal(km2[1], km[1])
    # replace() builds a new (revalidated) model, without the cache
    r = dataclasses.replace(m, gamma=0.5)
    assert "_km" not in r.__dict__ and model_args(r) is not km

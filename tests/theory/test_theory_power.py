"""Power of the theorem checks (issue 14): instance families, deduplication, mutation and negative
controls, tight instances, control errors, report fields.

Expected values come from closed forms worked out by hand in the docstrings (Singh & Yee's
two-state example, the damped operator's modulus, a constant-reward chain), never from the code
under test.
"""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdpkit import TabularMDP, bounds, theory
from mdpkit.testing import (
    GAMMA_RANGE,
    STATE_RANGE,
    edge_mdps,
    instance_key,
    is_effective,
    theory_mdps,
)
from mdpkit.theory import Observation, Theorem


# ----------------------------------------------------------------------------- the instance family
@settings(max_examples=60, database=None, deadline=None)
@given(theory_mdps())
def test_theory_mdps_draws_stay_in_the_stated_ranges(mdp):
    """Every draw has S in [2, 5] and gamma in [0.5, 0.95]: no degenerate instance is drawn."""
    assert STATE_RANGE == (2, 5) and GAMMA_RANGE == (0.5, 0.95)
    assert 2 <= mdp.S <= 5
    assert 0.5 <= mdp.gamma <= 0.95
    assert is_effective(mdp)


def test_family_of_the_checks_is_theory_mdps_and_draws_cover_the_range():
    """The default family of the DP checks draws distinct instances spread over the gamma range."""
    res = theory.check("vi-contraction", n_examples=12, seed=3, negative_control=False, zoo=False, extras=False)
    rnd = [o for o in res.observations if o.origin == "random"]
    assert len(rnd) == 12 and len({o.key for o in rnd}) == 12  # deduplicated
    assert all(0.5 <= o.gamma <= 0.95 and o.S >= 2 for o in rnd)
    assert res.n_effective >= 12
    lo, hi = res.gamma_range
    assert 0.5 <= lo < hi <= 0.95


def test_edge_cases_are_explicit_and_not_effective():
    edges = edge_mdps()
    assert {m.S for m in edges} == {1, 2} and min(m.gamma for m in edges) == 0.0
    assert not any(is_effective(m) for m in edges)
    res = theory.check("vi-contraction", n_examples=0, seed=0, negative_control=False, zoo=False)
    origins = {o.origin for o in res.observations}
    assert origins == {"tight", "edge"}
    assert res.n_effective == sum(o.origin == "tight" for o in res.observations)  # edge cases not counted


def test_theory_mdps_refuses_degenerate_ranges():
    from mdpkit import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="n_states must be >= 2"):
        theory_mdps(n_states=(1, 3))
    with pytest.raises(InvalidArgumentError, match="bounded away from 0"):
        theory_mdps(gamma=(0.0, 0.9))


def test_instance_key_is_a_content_key_for_any_instance():
    P = np.full((2, 1, 2), 0.5)
    a = TabularMDP(P, np.zeros((2, 1)), 0.9)
    b = TabularMDP(P.copy(), np.zeros((2, 1)), 0.9)
    c = TabularMDP(P, np.array([[0.0], [1e-12]]), 0.9)
    assert instance_key(a) == instance_key(b) != instance_key(c)
    # non-tabular instances: attributes, or their own key
    x = SimpleNamespace(means=np.array([0.1, 0.5]), K=2)
    y = SimpleNamespace(means=np.array([0.1, 0.5]), K=2)
    z = SimpleNamespace(means=np.array([0.1, 0.6]), K=2)
    assert instance_key(x) == instance_key(y) != instance_key(z)

    class Own:
        def instance_key(self):
            return "mine"

    assert instance_key(Own()) == "mine"


# ----------------------------------------------------------------------------- fakes
def _fake(name, ratio, *, rate=None, fitted=None, negative=None, family=None, parts=()):
    """A theorem whose observation is ``ratio`` times its bound (and an optional rate claim)."""

    def subject(inst):
        return ratio

    def neg(inst):
        return 2.0

    def run(inst, rng, f):
        o = Observation(np.array([f(inst)]), np.array([1.0]), rtol=0.0, atol=0.0)
        if rate is not None:  # a trace decaying at exactly `fitted`, claimed to decay at `rate`
            o.rate_trace = fitted ** np.arange(20.0)
            o.claimed_rate = rate
        return o

    if family is None:
        from mdpkit.theory._instances import discounted_mdps as family
    return Theorem(name=name, statement="x <= 1", source="test", compare="bound", subject=subject,
                   subject_doc="f(inst)", run=run, family=family, negative=negative or neg,
                   negative_doc="x = 2", plot="ratio", parts=parts)


def test_mutation_marks_a_check_that_cannot_see_a_halved_bound_as_low_power():
    weak = theory.check(_fake("t-weak", 0.3), n_examples=3)
    assert weak.verdict == "PASS" and weak.mutation == {"bound": False}
    assert weak.low_power and "bound x 0.5 still holds" in weak.power
    strong = theory.check(_fake("t-strong", 0.8), n_examples=3)
    assert strong.mutation == {"bound": True} and strong.power == "ok"


def test_rate_mutation_squares_the_claimed_rate():
    """A trace decaying at rho claimed at sqrt(rho): the squared claim (rho) still holds -> low power;
    claimed at rho exactly: the squared claim (rho^2) fails -> ok."""
    loose = theory.check(_fake("t-rate-loose", 0.8, rate=math.sqrt(0.5), fitted=0.5), n_examples=3)
    assert loose.passed and loose.mutation["rate"] is False and loose.low_power
    assert loose.rate_ratio == pytest.approx(0.5 / math.sqrt(0.5), rel=1e-9)
    tight = theory.check(_fake("t-rate-tight", 0.8, rate=0.5, fitted=0.5), n_examples=3)
    assert tight.passed and tight.mutation == {"bound": True, "rate": True} and tight.power == "ok"


def test_an_exception_in_a_control_is_an_error_not_a_failure(tmp_path):
    def boom(inst):
        raise RuntimeError("control crashed")

    res = theory.check(_fake("t-boom", 0.8, negative=boom), n_examples=3)
    assert res.passed and res.control_errors and "control crashed" in res.control_errors[0]
    assert res.verdict == "ERROR" and not res.ok
    rep = theory.Report([res], seed=0, n_examples=3)
    d = rep.to_dict()["checks"][0]
    assert d["control_errors"] and d["verdict"] == "ERROR"
    assert "control error" in theory.format_table([res])


def test_non_tabular_instances_are_labelled_counted_and_deduplicated():
    fam = lambda: st.builds(lambda k, m: SimpleNamespace(K=k, means=np.linspace(0, m, k)),  # noqa: E731
                            st.integers(2, 4), st.sampled_from([0.5, 1.0]))
    res = theory.check(_fake("t-bandit", 0.8, family=fam), n_examples=20, steer=False)
    assert res.passed and res.gamma_range is None and res.S_range is None
    assert res.n_effective == 6  # only 3 x 2 distinct instances exist
    assert all(o.label.startswith("SimpleNamespace K=") for o in res.observations)


# ----------------------------------------------------------------------------- tight instances
def test_singh_yee_example_attains_the_greedy_bound__singh_yee_1994():
    """V = V* + (1, -1) on the two-state example: greedy stays in state 0 (by the 1e-9 nudge) and loses
    (2 gamma - nudge)/(1 - gamma); the bound is 2 gamma/(1 - gamma), so the ratio is 1 - nudge/(2 gamma)."""
    from mdpkit.policies import greedy_policy, policy_evaluation
    from mdpkit.theory._dp import singh_yee

    g, nudge = 0.9, 1e-9
    m = singh_yee(g, eps=1.0, nudge=nudge)
    vstar = np.array([9.0, 10.0])  # go (reward 0) then reward (1-g) 10 forever
    pi = greedy_policy(m, vstar + np.array([1.0, -1.0]))
    assert list(pi) == [0, 0]
    loss = vstar[0] - policy_evaluation(m, pi)[0]
    assert loss == pytest.approx((2 * g - nudge) / (1 - g), rel=1e-12)
    assert loss / bounds.greedy_loss_v(g, 1.0).value == pytest.approx(1 - nudge / (2 * g), abs=1e-12)
    res = theory.check("greedy-loss-v", n_examples=0, negative_control=False, zoo=False)
    assert res.tight_ratio == pytest.approx(1.0, abs=1e-8) and res.mutation["bound"] is True


@pytest.mark.parametrize("name", ["vi-contraction", "vi-a-posteriori", "approximate-vi", "greedy-loss-v",
                                  "greedy-loss-q", "greedy-span-certificate", "gauss-seidel-contraction",
                                  "categorical-rate", "horizon-truncation", "categorical-cramer-contraction"])
def test_tight_instances_make_a_halved_constant_fail(name):
    """On the tight instances alone (no random draws) the check would FAIL with its bound halved."""
    res = theory.check(name, n_examples=0, negative_control=False, zoo=False)
    assert res.passed and res.tight_ratio is not None and res.tight_ratio > 0.99
    assert res.mutation["bound"] is True and not res.low_power


def test_rate_of_the_geometric_categorical_instance_is_sqrt_gamma__rowland_2018():
    """Support {0, gamma^60, ..., gamma, 1}, reward 0: from the top atom the error is gamma^(k/2), so the
    fitted rate is sqrt(gamma) and the squared claim (gamma) fails."""
    res = theory.check("categorical-rate", n_examples=0, negative_control=False, zoo=False)
    geo = [o for o in res.observations if o.label.startswith("cramer-geometric")]
    assert geo and all(o.fitted_rate == pytest.approx(math.sqrt(o.gamma), rel=1e-6) for o in geo)
    assert res.mutation["rate"] is True


def test_damped_operator_has_modulus_one_half_plus_gamma_half():
    """v_0 = v* + c on the two-state tight model: damped VI shrinks the error by (1 + gamma)/2 exactly."""
    from mdpkit.theory._dp import bellman_damped, two_state_tight
    from mdpkit.theory._instances import optimal_value

    m = two_state_tight(0.8)
    vstar = optimal_value(m)
    v = vstar + 3.0
    for _ in range(5):
        w = bellman_damped(m, v)
        assert np.max(np.abs(w - vstar)) / np.max(np.abs(v - vstar)) == pytest.approx(0.9, rel=1e-12)
        v = w


def test_widened_bracket_fails_only_through_the_width_part():
    """The widened MacQueen bracket still contains v*: only the width comparison catches it."""
    from mdpkit.theory._dp import vi_widened_bracket

    res = theory.check("macqueen-bounds", n_examples=4, solver=vi_widened_bracket, negative_control=False, zoo=False)
    assert not res.passed
    assert res.part_worst["v* in bracket"] <= 1.0 < res.part_worst["width vs theorem"]


# ----------------------------------------------------------------------------- report
def test_report_json_carries_power_fields_and_the_table_shows_low_power(tmp_path):
    rep = theory.verify(["vi-contraction", "pi-iterations"], n_examples=4, seed=0, out=str(tmp_path))
    d = json.loads((tmp_path / "report.json").read_text())
    for c in d["checks"]:
        for k in ("n_effective", "gamma_range", "S_range", "max_ratio", "mutation", "power", "control_errors",
                  "source_checked", "rate_ratio", "tight_ratio"):
            assert k in c
    vi, pi = d["checks"]
    assert vi["mutation"] == {"bound": True, "rate": True} and vi["power"] == "ok"
    assert pi["low_power"] and "Scherrer" in pi["power"]
    table = rep.table()
    assert "LOW" in table and "pi-iterations: low power" in table
    assert "theorem number not checked" in table
    for n in ("vi-contraction", "pi-iterations"):
        assert (tmp_path / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_citations_say_whether_the_number_was_checked():
    assert bounds.Bound(1.0, bounds.BoundKind.DETERMINISTIC, "x").number_checked is False
    cit = bounds.categorical_evaluation_bound(0.9, 1.0).citation
    assert "Prop. 1" in cit and "not checked" in cit
    assert all(isinstance(t.source_checked, bool) for t in theory.list_theorems())


def test_default_set_has_enough_distinct_results():
    names = [t.name for t in theory.list_theorems(default_only=True)]
    assert len(set(names)) == len(names) >= 45


def test_s_rectangular_sets_reward_randomization__wiesemann_kuhn_rustem_2013():
    """The two-identical-actions example (kappa = 0.4, gamma = 0.9): nominal v(0) = 0.9 * 0.5 * 10 = 4.5;
    a deterministic policy loses 0.9 * 0.2 * 10 = 1.8 (nature moves 0.2 of its row's mass), the uniform
    randomized one only 0.9 (nature's budget is split): 2.7 against 3.6."""
    from mdpkit.solvers.robust import robust_value_iteration
    from mdpkit.theory._robust import s_rect_randomization_example, vertex_robust_values

    m = s_rect_randomization_example(0.9)
    res = robust_value_iteration(m, "l1:0.4,rect=s", epsilon=1e-10)
    assert res.v[0] == pytest.approx(3.6, abs=1e-8)
    assert np.asarray(res.policy)[0] == pytest.approx([0.5, 0.5], abs=1e-8)
    for a in (0, 1):
        assert vertex_robust_values(m, 0.4, policy=np.array([a, 0, 0]))[0][0] == pytest.approx(2.7, abs=1e-9)
    chk = theory.check("s-rect-randomized", n_examples=0, negative_control=False)
    assert chk.passed and chk.observations[0].info["gain_from_randomizing"] == pytest.approx(0.9, abs=1e-7)

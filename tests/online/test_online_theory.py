"""The online theorem checks pass, their negative controls fail, and the bound formulas."""

import math

import pytest

from mdpkit.bounds import online as B
from mdpkit.theory import _online  # noqa: F401  (registers the checks)
from mdpkit.theory import check


@pytest.mark.parametrize("name", ["ucbvi-optimism", "ucb-h-optimism", "ucrl2-episodes", "qlearning-poly-rate"])
def test_default_checks_pass_and_controls_fail(name):
    res = check(name, n_examples=20, seed=0)
    assert res.passed, [(o.label, o.ratio) for o in res.failures()]
    assert res.control_failed is True
    assert res.n_effective >= 20


def test_ucrl2_episode_check_is_tight_enough_to_see_a_halved_constant():
    res = check("ucrl2-episodes", n_examples=0, seed=0)
    assert res.tight_ratio is not None and res.tight_ratio > 0.5


def test_no_per_instance_psrl_rate_check_is_registered():
    # PSRL's bound is Bayesian: on RiverSwim (H = 5, K = 1200) PSRL is still in its linear burn-in,
    # so a per-instance rate check would fail without the theorem being wrong
    from mdpkit.theory import list_theorems

    assert "psrl-regret-rate" not in {t.name for t in list_theorems()}


def test_bound_formulas_printed_forms():
    S, A, H, K, d = 3, 2, 4, 100, 0.05
    T = K * H
    L = math.log(5 * H * S * A * T / d)
    assert B.ucbvi_log(S, A, H, K, d, in_bound=False) == pytest.approx(math.log(5 * S * A * T / d))
    ch = B.ucbvi_ch_regret_bound(S, A, H, K, d)
    assert ch.value == pytest.approx(20 * H * L * math.sqrt(S * A * T) + 250 * H**2 * S**2 * A * L**2)
    assert ch.delta == d and "Theorem 1" in ch.citation
    bf = B.ucbvi_bf_regret_bound(S, A, H, K, d)
    assert bf.value == pytest.approx(30 * L * math.sqrt(H * S * A * T) + 2500 * H**2 * S**2 * A * L**2 + 4 * H * math.sqrt(T * L))
    assert B.ucrl2_regret_bound(S, A, 1000, d, D=2.0).value == pytest.approx(34 * 2 * S * math.sqrt(A * 1000 * math.log(1000 / d)))
    assert B.ucrl2_episode_bound(S, A, 600).value == pytest.approx(S * A * math.log2(8 * 600 / (S * A)))
    for f in (B.ucbvi_ch_regret_bound, B.ucbvi_bf_regret_bound, B.ucb_h_regret_rate, B.ucb_b_regret_rate):
        with pytest.raises(B.NonPaperVariantError):
            f(S, A, H, K, d, variant="practical")
    with pytest.raises(ValueError, match="delta"):
        B.ucbvi_ch_regret_bound(S, A, H, K, 0.0)

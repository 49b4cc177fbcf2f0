"""CI smoke test of the benchmark suite (``benchmarks/run.py --smoke``): it runs end to end, writes
its Markdown table, JSON and plot, skips peers that are not installed, every answer it
scores as certified is within epsilon of an independently certified reference, and its
``solve(mdp)`` vs QuantEcon comparison (the acceptance table) runs and agrees on the values.

No timing is asserted (CI machines are shared and noisy); the accuracy checks are the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "benchmarks", "run.py")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run([sys.executable, RUN, "--smoke", "--out", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out / "results.json") as f:
        data = json.load(f)
    return out, proc.stdout, data


@pytest.mark.slow
def test_smoke_writes_table_json_and_plot(smoke):
    out, stdout, data = smoke
    md = (out / "results.md").read_text()
    assert "## Time to a certified epsilon-optimal policy" in md
    assert "## Bellman sweep time vs the memory-bandwidth floor" in md
    assert (out / "time_to_epsilon.png").stat().st_size > 1000
    assert "| instance | gamma |" in stdout  # the table is printed
    meta = data["meta"]
    assert meta["machine"]["cores"] >= 1 and meta["machine"]["bandwidth"]["floor_gbs"] > 0
    instances = {r["instance"] for r in data["solves"]}
    assert instances == {"dense-garnet", "sparse-garnet", "forest", "grid-world"}


@pytest.mark.slow
def test_smoke_missing_peers_are_skipped_with_a_note(smoke):
    out, _, data = smoke
    md = (out / "results.md").read_text()
    for lib, version in data["meta"]["libraries"].items():
        ran = {r["lib"] for r in data["solves"]}
        if version is None:
            assert f"{lib} (not installed: skipped)" in md
            assert lib not in ran
        else:
            assert lib in ran


@pytest.mark.slow
def test_smoke_mdpkit_answers_are_certified_within_epsilon(smoke):
    """Every mdpkit method returns, on every smoke instance, a policy whose exact value (scipy
    solve in the benchmark) is within epsilon of v*, and values within epsilon of v*, where v* is
    bracketed by a scipy Bellman backup to within ``half_width``."""
    _, _, data = smoke
    eps = data["meta"]["epsilon"]
    refs = data["meta"]["references"]
    rows = [r for r in data["solves"] if r["lib"] == "mdpkit"]
    assert {r["method"] for r in rows} == {"auto", "mpi", "vi", "gs", "pi"}
    for r in rows:
        hw = refs[f"{r['instance']} gamma={r['gamma']}"]["half_width"]
        assert hw < 1e-2 * eps, (r["instance"], hw)
        assert r["status"] == "ok", r
        assert r["policy_err"] <= eps + hw, r
        assert r["value_err"] <= eps + hw, r
        assert r["extra"]["error_bound"] <= eps, r


@pytest.mark.slow
def test_smoke_scores_are_consistent(smoke):
    """A row is counted as certified exactly when both its errors are within epsilon; the
    per-instance summary only uses such rows."""
    _, _, data = smoke
    eps = data["meta"]["epsilon"]
    refs = data["meta"]["references"]
    for r in data["solves"]:
        if r.get("policy_err") is None:
            assert not r.get("eps_optimal")
            continue
        hw = refs[f"{r['instance']} gamma={r['gamma']}"]["half_width"]
        ok = r["policy_err"] <= eps + hw and r["value_err"] <= eps + hw
        assert r["eps_optimal"] == ok
        assert (r["status"] == "ok") == ok
    for s in data["meta"]["summary"]:
        for lib, t in s["best"].items():
            if t is not None:
                assert any(r["lib"] == lib and r["instance"] == s["instance"] and r["gamma"] == s["gamma"]
                           and r["eps_optimal"] and r["time"] == t for r in data["solves"])


@pytest.mark.slow
def test_smoke_head_to_head_with_quantecon(smoke):
    """The acceptance comparison runs on both Garnets: ``solve(mdp)`` with default options against
    QuantEcon's MPI at the same epsilon, timed in interleaved rounds (times are recorded, not
    asserted), and both value answers are within epsilon of the exact oracle and within 1e-6 of
    each other."""
    out, stdout, data = smoke
    # quantecon is a test dependency (pyproject [test]): its absence is a failure, not a skip
    assert data["meta"]["libraries"].get("quantecon") is not None, "quantecon missing: pip install -e '.[test]'"
    eps = data["meta"]["epsilon"]
    h2h = {r["instance"]: r for r in data["meta"]["head_to_head"]}
    assert set(h2h) == {"dense-garnet", "sparse-garnet"}
    md = (out / "results.md").read_text()
    assert "## `solve(mdp)` vs QuantEcon MPI" in md
    for r in h2h.values():
        assert r["status"] == "ok", r
        assert r["mdpkit_call"] == "solve(mdp)"  # default options: epsilon 1e-6 is mdpkit's default
        assert r["mdpkit_method"] == "modified_policy_iteration"
        n = r["rounds"]
        assert n >= 1 and len(r["mdpkit_times"]) == len(r["quantecon_times"]) == len(r["mdpkit_1thread_times"]) == n
        assert r["ratio_min"] <= r["ratio_median"] <= r["ratio_max"] and r["ratio_median"] > 0
        assert r["v_diff"] <= 1e-6, r
        assert r["mdpkit_v_err"] <= eps and r["quantecon_v_err"] <= eps, r
        assert r["mdpkit_v_err"] <= r["mdpkit_v_error_bound"] + 1e-2 * eps, r
        assert r["mdpkit_policy_err"] <= eps and r["quantecon_policy_err"] <= eps, r
        assert r["oracle_vs_bracket"] <= 1e-2 * eps, r

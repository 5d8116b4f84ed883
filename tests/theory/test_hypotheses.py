"""Tight hypotheses: a superfluous hypothesis is reported as such, a necessary one comes with a replayed witness."""

from __future__ import annotations

import contextlib
import io
import json
from fractions import Fraction

import pytest

from fcc.cli import main
from fcc_theory.hypotheses import STATEMENTS, Hypothesis, analyse, analyse_claim, matches_registry, replay_witness
from fcc_theory.hypotheses_relu import RELU_HYPOTHESES, violates
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

F = Fraction


def _margins(w) -> tuple[Fraction, Fraction, Fraction]:
    # a fresh exact evaluation of the witness network, not the stored report
    rep = check_configuration(Network.from_dict(w.network.to_dict()), w.x, w.tau)
    eta = rep.logits_scaled[0] - rep.logits_scaled[1]
    eta_p = rep.logits_original[0] - rep.logits_original[1]
    B = rep.pair(0, 1).B
    return eta, eta_p, B


def test_superfluous_hypothesis_is_reported_not_necessary() -> None:
    st = STATEMENTS["target_b_nonneg"].with_hypothesis(Hypothesis("s ≠ 7", lambda v: v["s"] != 7))
    res = analyse(st)
    assert [r.status for r in res] == ["necessary", "necessary", "necessary", "not necessary"]
    assert res[-1].witness is None


def test_a_dropped_necessary_hypothesis_yields_a_replayed_counterexample() -> None:
    st = STATEMENTS["target_b_nonneg"]
    res = {r.name: r for r in analyse(st)}
    w = res["B ≥ 0"].witness
    eta, eta_p, B = _margins(w)
    # every other hypothesis holds, the conclusion fails, the dropped one is violated
    assert w.tau > 1 and eta > 0 and not eta_p > 0 and B < 0
    w = res["τ > 1"].witness
    eta, eta_p, B = _margins(w)
    assert not w.tau > 1 and B >= 0 and eta > 0 and not eta_p > 0


def test_a_corrupted_witness_is_rejected_by_the_exact_replay() -> None:
    st = STATEMENTS["target_b_nonneg"]
    drop = 1  # B ≥ 0
    w = next(r for r in analyse(st) if r.name == "B ≥ 0").witness
    assert replay_witness(st, drop, dict(w.point)) is not None
    bad = dict(w.point, B=-w.point["B"])  # B flipped to > 0: no longer a counterexample
    assert replay_witness(st, drop, bad) is None
    assert replay_witness(STATEMENTS["tau_negative"], 0, {"s": F(1), "B": F(1), "tau": F(0)}) is None  # undefined at τ = 0


def test_characterization_needs_no_sign_of_tau() -> None:
    # computed, and checked here by an exact brute force over τ < 0: the division-free form holds for every τ
    res = analyse_claim("characterization")
    assert [(r.name, r.status) for r in res] == [("τ > 0", "not necessary")]
    sign = lambda v: (v > 0) - (v < 0)
    grid = [F(n, d) for n in range(-4, 5) for d in (1, 2, 3)]
    for s in grid:
        for B in grid:
            for t in (F(-3), F(-1, 2), F(0)):
                div_free = (s < -B and t * s < -B) or (s > -B and t * s > -B) or (s == -B and t * s == -B)
                assert (sign(t * s + B) == sign(s + B)) == div_free


def test_decomposition_must_match_the_registry(monkeypatch) -> None:
    st = STATEMENTS["target_b_nonneg"]
    assert matches_registry(st)
    wrong = type(st)(st.space, st.variables, st.hypotheses[:2], st.parts, st.defined, st.registry)  # η > 0 lost
    assert not matches_registry(wrong)
    monkeypatch.setitem(STATEMENTS, "target_b_nonneg", wrong)
    assert {r.status for r in analyse_claim("target_b_nonneg")} == {"unknown"}


def test_eq7_b_nonzero_is_a_computed_definedness_hypothesis() -> None:
    (r,) = analyse_claim("eq7")
    assert r.status == "necessary" and "denominator" in r.detail


def test_relu_hypotheses_each_necessary_and_witness_checked() -> None:
    res = analyse_claim("relu_no_bias")
    assert [r.name for r in res] == list(RELU_HYPOTHESES) and all(r.status == "necessary" for r in res)
    for r in res[1:]:
        w = r.witness
        assert violates(r.name, w.network, w.x, w.tau) is not None
        # corrupt: zero the output layer; the argmax can no longer change
        d = w.network.to_dict()
        d["layers"][-1]["weight"] = [["0"] * len(row) for row in d["layers"][-1]["weight"]]
        d["layers"][-1]["bias"] = ["0"] * len(d["layers"][-1]["bias"])
        assert violates(r.name, Network.from_dict(d), w.x, w.tau) is None
    w = res[2].witness  # the output-bias witness breaks only that hypothesis
    assert all(b == 0 for b in w.network.layers[0].bias) and any(b != 0 for b in w.network.layers[-1].bias) and w.tau > 0


def _run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(argv)
    return rc, out.getvalue()


@pytest.mark.parametrize("claim", ["target_b_nonneg", "flip_toward_larger_bias", "tau_negative"])
def test_cli_hypothesis_witnesses_replay_with_fcc_check(claim: str, tmp_path) -> None:
    rc, out = _run(["verify", "--claims", claim, "--hypotheses", "--json", "--witness-dir", str(tmp_path)])
    assert rc == 0
    hyps = json.loads(out)[0]["hypotheses"]
    assert hyps and all(h["status"] == "necessary" for h in hyps)
    for n, h in enumerate(hyps, 1):
        w = h["witness"]
        rc2, out2 = _run(
            ["check", str(tmp_path / f"{claim}.without-{n}.json"), "--x=" + ",".join(w["x"]), "--tau=" + w["tau"], "--json"]
        )
        assert rc2 == 0 and json.loads(out2) == w["check"]


def test_cli_table_lists_hypotheses() -> None:
    rc, out = _run(["verify", "--claims", "eq5,characterization,target", "--hypotheses"])
    assert rc == 0
    assert "hypotheses: none" in out and "without τ > 0: not necessary" in out
    assert out.count("without ") == 1  # a refuted claim has no hypotheses to tighten

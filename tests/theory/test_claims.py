"""The claim registry: every verdict, each witness re-checked independently, and the exact sets vs brute force."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fcc_theory.claims import CLAIM_IDS, CLAIMS, run_claim
from fcc_theory.margins import argmax_or_none, check_configuration
from fcc_theory.network import Network

F = Fraction
IDS = (
    "eq5",
    "eq6",
    "eq7",
    "eq8",
    "eq9",
    "key_identity",
    "b_zero",
    "target",
    "target_b_nonneg",
    "failure_set",
    "converse_b_pos",
    "characterization",
    "plane_order",
    "tau_zero",
    "tau_negative",
    "multiclass_bias_rescaling",
    "flip_toward_larger_bias",
    "relu_no_bias",
    "relu_hidden_bias",
    "tanh_no_bias",
    "cosine_scale_invariance",
)
# what docs/theory.md says each should come out as; the program derives them, this test compares
EXPECTED = dict.fromkeys(IDS, "proved") | {
    "target": "refuted",
    "converse_b_pos": "refuted",
    "relu_hidden_bias": "refuted",
    "tanh_no_bias": "refuted",
    "plane_order": "vacuous",
}


@pytest.fixture(scope="module")
def results() -> dict:
    return {i: run_claim(CLAIMS[i]) for i in CLAIM_IDS}


def test_ids_exact() -> None:
    assert CLAIM_IDS == IDS
    for c in CLAIMS.values():
        assert c.paper and c.premise and c.conclusion and c.method and c.how


def test_verdicts(results: dict) -> None:  # the wall time is measured by benchmarks/bench_verify.py
    assert {i: results[i].decision.verdict for i in IDS} == EXPECTED


def _margins(w) -> tuple[Fraction, Fraction]:
    # recomputed from a fresh evaluation of the witness network (not from the stored report)
    rep = check_configuration(Network.from_dict(w.network.to_dict()), w.x, w.tau)
    return rep.logits_scaled[0] - rep.logits_scaled[1], rep.logits_original[0] - rep.logits_original[1]


def test_target_witness(results: dict) -> None:
    w = results["target"].decision.witness
    eta, eta_p = _margins(w)
    assert w.tau > 1 and eta > 0 and not eta_p > 0


def test_converse_witness(results: dict) -> None:
    w = results["converse_b_pos"].decision.witness
    eta, eta_p = _margins(w)
    assert w.tau > 1 and w.report.pair(0, 1).B > 0 and eta_p > 0 and not eta > 0


def test_relu_hidden_bias_witness(results: dict) -> None:
    w = results["relu_hidden_bias"].decision.witness
    assert w.network.activation == "relu" and w.network.has_hidden_bias() and all(b == 0 for b in w.network.layers[-1].bias)
    eta, eta_p = _margins(w)
    assert w.tau > 1 and eta > 0 and not eta_p > 0


def test_tanh_witness_certified(results: dict) -> None:
    w = results["tanh_no_bias"].decision.witness
    net = w.network
    assert net.activation == "tanh" and all(b == 0 for layer in net.layers for b in layer.bias)
    (s0, s1), (o0, o1) = net.forward_interval(w.x, w.tau), net.forward_interval(w.x)
    assert w.tau > 1 and s0[0] > s1[1] and o0[1] < o1[0]  # y1 > y2 certified at τx, y1′ < y2′ certified at x


def test_plane_order_table_and_instances(results: dict) -> None:
    extra = results["plane_order"].decision.extra
    table = extra["realizability"]
    assert {f: r["tau>1"] for f, r in table.items()} == {
        "a": "unrealizable",
        "b": "realizable",
        "c": "realizable",
        "d": "unrealizable",
    }
    assert {f: r["0<tau<1"] for f, r in table.items()} == {
        "a": "realizable",
        "b": "unrealizable",
        "c": "unrealizable",
        "d": "realizable",
    }
    for fig in ("a", "d"):
        inst = extra["instances"][fig]
        assert inst["replayed"] and 0 < F(inst["tau"]) < 1


def test_cross_check_runs_and_agrees() -> None:
    r = run_claim(CLAIMS["tau_zero"], cross_check=True, cross_timeout_ms=20_000)
    assert r.cross_check is not None and r.cross_check.verdict == "proved" and r.decision.verdict == "proved"
    assert "cross_check" in r.to_json()


# --- the exact sets against an independent brute-force oracle (division form, Fractions) --------------
fr = st.builds(F, st.integers(-12, 12), st.integers(1, 6))


@given(fr, fr, fr.filter(lambda t: t > 1))
def test_failure_set_oracle(s: Fraction, B: Fraction, tau: Fraction) -> None:
    fails = tau * s + B > 0 and not s + B > 0
    assert fails == (B < 0 and -B / tau < s <= -B)


@given(fr, fr, fr.filter(lambda t: t > 0))
def test_characterization_oracle(s: Fraction, B: Fraction, tau: Fraction) -> None:
    sign = lambda v: (v > 0) - (v < 0)
    agree = sign(tau * s + B) == sign(s + B)
    lo, hi = sorted((-B, -B / tau))
    if B != 0 and tau != 1:
        assert agree == (not lo <= s <= hi)
    else:
        assert agree


@given(st.lists(st.tuples(fr, fr), min_size=2, max_size=5), fr.filter(lambda t: t > 1))
def test_multiclass_and_flip_oracle(rows: list, tau: Fraction) -> None:
    a = [r[0] for r in rows]
    b = [r[1] for r in rows]
    scaled = argmax_or_none([tau * ai + bi for ai, bi in zip(a, b, strict=True)])
    assert scaled == argmax_or_none([ai + bi / tau for ai, bi in zip(a, b, strict=True)])
    unscaled = argmax_or_none([ai + bi for ai, bi in zip(a, b, strict=True)])
    if scaled is not None and unscaled is not None and unscaled != scaled:
        assert b[unscaled] > b[scaled]

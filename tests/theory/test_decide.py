"""fcc_theory.decide: each verdict's guarantee, on lemmas whose truth is known by hand (and on wrong variants)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from fcc_theory.decide import AND, IFF, NOT, OR, Lemma, decide_all, decide_lemma, env_from_network, lift, replay, sign_agree
from fcc_theory.lemmas import PAIR, failure_region, monolithic, pair_lemmas
from fcc_theory.margins import check_configuration

F = Fraction


def test_connectives_on_python_bools() -> None:
    assert AND(True, True) is True and OR(False, True) is True and NOT(False) is True and IFF(True, False) is False
    assert sign_agree(F(1), F(3)) and sign_agree(F(0), F(0)) and not sign_agree(F(-1), F(0))


def test_proved_and_vacuous() -> None:
    d = decide_lemma(Lemma(PAIR, lambda v: AND(v["tau"] > 1, v["B"] >= 0, v["eta"] > 0), lambda v: v["eta_p"] > 0))
    assert d.verdict == "proved" and d.witness is None
    v = decide_lemma(Lemma(PAIR, lambda v: AND(v["tau"] > 1, v["tau"] < 1), lambda v: v["eta_p"] > 0))
    assert v.verdict == "vacuous"


def test_target_restricted_to_wrong_sign_of_b_is_refuted() -> None:
    # the wrong restriction B ≤ 0 (instead of B ≥ 0) must be refuted with a replayed exact witness
    wrong = Lemma(PAIR, lambda v: AND(v["tau"] > 1, v["B"] <= 0, v["eta"] > 0), lambda v: v["eta_p"] > 0)
    d = decide_lemma(wrong)
    assert d.verdict == "refuted"
    w = d.witness
    p = w.report.pair(0, 1)
    # re-derived here from the network's own logits, independent of the lemma's formulas
    eta = w.report.logits_scaled[0] - w.report.logits_scaled[1]
    eta_p = w.report.logits_original[0] - w.report.logits_original[1]
    assert w.tau > 1 and p.B <= 0 and eta > 0 and not eta_p > 0
    assert (eta, eta_p) == (p.eta, p.eta_prime)
    assert failure_region({"s": p.s, "B": p.B, "tau": w.tau})  # inside the exact failure set


def test_prefer_gives_a_strict_counterexample() -> None:
    d = decide_lemma(pair_lemmas()["target"][0])
    assert d.verdict == "refuted" and d.witness.report.pair(0, 1).eta_prime < 0


@pytest.mark.parametrize("point", [{"s": F(3, 4), "B": F(-1), "tau": F(2)}, {"s": F(-5), "B": F(7, 3), "tau": F(1, 3)}])
def test_pair_lift_realises_the_point(point: dict) -> None:
    net, x, tau = lift("pair", point)
    env = env_from_network("pair", net, check_configuration(net, x, tau))
    assert (env["s"], env["B"]) == (point["s"], point["B"])
    assert env["eta"] == point["tau"] * point["s"] + point["B"] and env["eta_p"] == point["s"] + point["B"]


def test_head_lift_realises_the_point() -> None:
    pt = {"a_i": F(1, 2), "a_j": F(-3), "b_i": F(2), "b_j": F(5), "tau": F(3, 2)}
    net, x, tau = lift("head", pt)
    env = env_from_network("head", net, check_configuration(net, x, tau))
    assert env["ls_i"] == tau * pt["a_i"] + pt["b_i"] and env["lo_j"] == pt["a_j"] + pt["b_j"] and env["a_j"] == pt["a_j"]


def test_replay_rejects_a_point_that_is_not_a_counterexample() -> None:
    target = pair_lemmas()["target"][0]
    assert replay(target, {"s": F(1), "B": F(1), "tau": F(2)}) is None  # η > 0 and η′ > 0: no violation
    assert replay(target, {"s": F(1), "B": F(-2), "tau": F(3)}) is not None


def test_unliftable_counterexample_is_unknown_never_proved() -> None:
    false_plane = Lemma(("u", "tau"), lambda v: v["tau"] > 0, lambda v: v["u"] * v["tau"] > 0, "plane")
    d = decide_lemma(false_plane)
    assert d.verdict == "unknown"


def test_decide_all_reports_the_first_failure() -> None:
    good = pair_lemmas()["b_zero"][0]
    bad = pair_lemmas()["target"][0]
    assert decide_all([good, good]).verdict == "proved"
    assert decide_all([good, bad]).verdict == "refuted"


def test_monolithic_cross_check_agrees_on_quick_queries() -> None:
    assert monolithic(pair_lemmas()["target"][0], 20_000).verdict == "refuted"
    assert monolithic(pair_lemmas()["tau_zero"][0], 20_000).verdict == "proved"


def test_monolithic_timeout_is_unknown() -> None:
    d = monolithic(pair_lemmas()["characterization"][0], 300)
    assert d.verdict in ("unknown", "proved")  # never refuted; with 0.3 s it times out on this machine
    if d.verdict == "unknown":
        assert "after 0.3 s" in d.detail

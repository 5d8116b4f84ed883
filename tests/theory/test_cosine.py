"""The cosine-head claim: FCC's scale cancels for τ > 0; each hypothesis is necessary; mutants are refuted exactly."""

from __future__ import annotations

import contextlib
import io
import json
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from fcc.cli import main
from fcc_theory import cosine
from fcc_theory.claims import CLAIMS, run_claim
from fcc_theory.decide import AND, Lemma

F = Fraction


def _sympy_logit(w: list[Fraction], f: list[Fraction], scale: Fraction) -> sp.Expr | None:
    """s⟨w, f⟩/(‖w‖‖f‖) computed a second way: SymPy's exact sqrt (algebraic numbers allowed)."""
    W, X = [sp.Rational(x.numerator, x.denominator) for x in w], [sp.Rational(x.numerator, x.denominator) for x in f]
    den = sp.sqrt(sum(a * a for a in W)) * sp.sqrt(sum(b * b for b in X))
    if den == 0:
        return None
    return sp.nsimplify(sp.Rational(scale.numerator, scale.denominator) * sum(a * b for a, b in zip(W, X, strict=True)) / den)


def test_registered_claim_is_proved() -> None:
    r = run_claim(CLAIMS["cosine_scale_invariance"])
    assert r.decision.verdict == "proved"
    assert "SymPy" in r.decision.detail and "negation unsat" in r.decision.detail


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=3, max_size=3),
    st.lists(st.integers(-5, 5), min_size=3, max_size=3),
    st.fractions(min_value=F(1, 10), max_value=F(10)),
)
def test_invariance_against_sympy_on_random_heads(w: list[int], f: list[int], tau: Fraction) -> None:
    """The proved statement, checked independently on concrete heads (τ > 0): ℓ(τf) = ℓ(f) exactly."""
    wf, ff = [F(x) for x in w], [F(x) for x in f]
    a, b = _sympy_logit(wf, [tau * x for x in ff], F(30)), _sympy_logit(wf, ff, F(30))
    assert (a is None) == (b is None)
    if a is not None:
        assert sp.simplify(a - b) == 0


@pytest.mark.parametrize("drop", [h.name for h in cosine.HYPOTHESES])
def test_dropping_a_hypothesis_is_refuted_with_an_exact_head(drop: str) -> None:
    d = cosine.decide_cosine(cosine.cosine_lemma(drop=drop))
    assert d.verdict == "refuted"
    w = d.extra["cosine_witness"]
    kept = [h for h in cosine.HYPOTHESES if h.name != drop]
    # the witness head, re-evaluated here with SymPy: every kept hypothesis holds and the claim fails
    tf = [w.tau * x for x in w.f]
    assert all({"τ > 0": w.tau > 0, "f ≠ 0": any(w.f), "w_j ≠ 0": any(w.w)}[h.name] for h in kept), (
        "a kept hypothesis fails on the witness"
    )
    scaled, plain = _sympy_logit(list(w.w), tf, w.scale), _sympy_logit(list(w.w), list(w.f), w.scale)
    assert scaled is None or plain is None or sp.simplify(scaled - plain) != 0
    if drop == "τ > 0":  # a strict disagreement, not only an undefined logit: ℓ(τf) = −ℓ(f) for τ < 0
        assert w.tau < 0 and scaled is not None and plain is not None and sp.simplify(scaled + plain) == 0


def test_tau_zero_leaves_the_scaled_logit_undefined() -> None:
    d = cosine.decide_cosine(cosine.tau_zero_lemma())
    assert d.verdict == "refuted"
    w = d.extra["cosine_witness"]
    assert w.tau == 0 and w.logit_scaled is None and _sympy_logit(list(w.w), [F(0)] * len(w.f), w.scale) is None


def test_mutant_linear_head_is_refuted() -> None:
    """Without the normalisation (ℓ = s⟨w, f⟩) the same premise no longer gives an unchanged logit."""
    base = cosine.cosine_lemma()
    linear = Lemma(cosine.COSINE, base.premise, lambda v: v["scale"] * v["tau"] * v["d"] == v["scale"] * v["d"], "cosine")
    d = cosine.decide_cosine(linear)
    assert d.verdict == "refuted"
    w = d.extra["cosine_witness"]
    dot = sum(a * b for a, b in zip(w.w, w.f, strict=True))
    assert w.tau > 0 and w.scale * w.tau * dot != w.scale * dot


def test_mutant_norm_of_tau_f_taken_as_tau_times_norm_is_caught_for_negative_tau() -> None:
    """‖τf‖ = τ‖f‖ is false for τ < 0: a lemma that assumes it instead of the norm's definition is refuted there."""
    wrong = Lemma(
        cosine.COSINE,
        lambda v: AND(cosine.cosine_lemma(drop="τ > 0").premise(v), v["tau"] < 0),
        lambda v: v["ntf"] == v["tau"] * v["nf"],
        "cosine",
    )
    d = cosine.decide_cosine(wrong)
    assert d.verdict == "refuted" and d.extra["cosine_witness"].tau < 0


def test_a_corrupted_point_does_not_replay() -> None:
    lem = cosine.cosine_lemma(drop="τ > 0")
    good = {"tau": F(-1), "scale": F(1), "d": F(1), "nw": F(1), "nf": F(1), "ntf": F(1)}
    assert cosine.replay(lem, good) is not None
    assert cosine.replay(lem, {**good, "tau": F(2), "ntf": F(2)}) is None  # τ > 0: the head keeps its logit
    assert cosine.replay(lem, {**good, "nw": F(2), "d": F(1)}) is None  # ‖w‖² − (d/‖f‖)² = 3: no rational lift
    assert cosine.replay(lem, {**good, "d": F(2)}) is None  # violates Cauchy–Schwarz: no such vectors


def test_exact_sqrt_and_identities() -> None:
    assert cosine.exact_sqrt(F(49, 16)) == F(7, 4) and cosine.exact_sqrt(F(3)) is None and cosine.exact_sqrt(F(-1)) is None
    lhs, rhs, _ = cosine.reduction_identities(3)
    assert all(sp.expand(a - b) == 0 for a, b in zip(lhs, rhs, strict=True))
    tau = sp.Symbol("tau", real=True)
    assert sp.expand(lhs[1] - rhs[1] / tau) != 0  # mutant: the squared norm scales by τ², not by τ


def test_cli_hypotheses_lists_all_three_necessary() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        rc = main(["verify", "--claims", "cosine_scale_invariance", "--hypotheses", "--json"])
    assert rc == 0
    row = json.loads(out.getvalue())[0]
    assert row["verdict"] == "proved"
    assert [(h["hypothesis"], h["status"]) for h in row["hypotheses"]] == [(h.name, "necessary") for h in cosine.HYPOTHESES]
    assert "τ = -" in row["hypotheses"][0]["detail"] and "at τ = 0" in row["hypotheses"][0]["detail"]

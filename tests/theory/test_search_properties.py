"""Property tests of the decision-plane claims: theorems hold on every generated example, refuted claims
are falsified within a fixed budget, and the tests can fail (wrong variants and mutated formulas are caught).

Profiles (tests/conftest.py): FCC_HYPOTHESIS_PROFILE=dev|ci|thorough sets the number of examples of the
@given tests below.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest
from hypothesis import example, given

from fcc_theory.margins import check_configuration
from fcc_theory.network import Network
from fcc_theory.search.properties import PROPERTIES, Config, Outcome, _paper_symbols, fast_forward, target_variant
from fcc_theory.search.runner import config_strategy, search_hypothesis
from fcc_theory.search.strategies import any_widths

F = Fraction
# the slides' 3-3-2 network with B = -1: one path w_11 = n_11 = 1, output bias z_2 = 1 (theory.md §1.2)
SLIDE_NET = Network.from_matrices([[[1, 0, 0], [0, 0, 0], [0, 0, 0]], [[1, 0, 0], [0, 0, 0]]], [[0, 0, 0], [0, 1]])
SLIDE_FAIL = Config(SLIDE_NET, (F(3, 4), F(0), F(0)), F(2))  # s = 3/4 in the slab (1/2, 1]: η = 1/2 > 0 > η′ = -1/4
TIE = Config(SLIDE_NET, (F(1), F(0), F(0)), F(2))  # s = -B: η = 1, η′ = 0 (the non-strict minimal case)
B_ZERO = Config(Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, -1, 0], [0, 0, 0]]]), (F(1), F(1, 2), F(0)), F(3))

THEOREMS = [
    "eq5",
    "eq6",
    "eq7",
    "eq8",
    "eq9",
    "key_identity",
    "b_zero",
    "target_b_nonneg",
    "failure_set",
    "characterization",
    "plane_order",
    "tau_zero",
    "tau_negative",
    "multiclass_bias_rescaling",
    "flip_toward_larger_bias",
    "relu_no_bias",
]


def _holds_everywhere(cid: str):
    prop = PROPERTIES[cid]

    @given(config_strategy(prop))
    @example(SLIDE_FAIL if prop.kind in ("pair", "paper") else None)
    @example(B_ZERO if prop.kind in ("pair", "paper") else None)
    def run(cfg: Config | None) -> None:
        if cfg is None:
            return
        for strict in (False, True):
            assert prop.check(cfg, strict).holds, (cid, strict, cfg)

    return run


@pytest.mark.parametrize("cid", THEOREMS)
def test_theorem_holds_on_every_example(cid: str) -> None:
    _holds_everywhere(cid)()


def test_pinned_known_cases() -> None:
    # the slides' failure: the target claim fails (strictly and with ties), the B ≥ 0 restriction is silent (B = -1)
    for strict in (False, True):
        assert not PROPERTIES["target"].check(SLIDE_FAIL, strict).holds
        assert PROPERTIES["target_b_nonneg"].check(SLIDE_FAIL, strict) == Outcome(False, True)
    # the tie η = 1, η′ = 0 is a counterexample only when ties count
    assert not PROPERTIES["target"].check(TIE, False).holds
    assert PROPERTIES["target"].check(TIE, True).holds
    assert PROPERTIES["b_zero"].check(B_ZERO, False) == Outcome(True, True)
    # Fig. 3a's premise ("η′ below η" along d) never holds for τ > 1: plane_order is vacuous here
    assert PROPERTIES["plane_order"].check(SLIDE_FAIL, False).premise is False


@pytest.mark.parametrize(
    "cid,widths",
    [("target", None), ("converse_b_pos", None), ("relu_hidden_bias", None), ("tanh_no_bias", None), ("target", (2, 4, 3, 2))],
)
def test_refuted_claims_found_with_a_fixed_seed(cid: str, widths) -> None:
    res = search_hypothesis(PROPERTIES[cid], widths, strict=True, max_examples=400, seed=0)
    ce = res.counterexample
    assert ce is not None, f"no counterexample to {cid} in 400 examples"
    rep = check_configuration(ce.net, ce.x, ce.tau)  # the replay fcc check performs
    assert rep.agree is False and rep.class_scaled is not None and rep.class_original is not None
    assert ce.tau > 1
    if cid == "relu_hidden_bias":
        assert ce.net.activation == "relu" and all(b == 0 for b in ce.net.layers[-1].bias) and ce.net.has_hidden_bias()
    if cid == "tanh_no_bias":
        assert rep.certified and not ce.net.has_hidden_bias() and all(b == 0 for b in ce.net.layers[-1].bias)
    if cid == "target" and widths is None:
        assert ce.net.parameter_count(nonzero_only=True) <= 6
        p = rep.pair(0, 1)
        assert p.B < 0 and -p.B / ce.tau < p.s < -p.B  # inside the failure set of theory.md §1.2


def test_search_is_reproducible() -> None:
    a = search_hypothesis(PROPERTIES["target"], strict=True, max_examples=300, seed=3)
    b = search_hypothesis(PROPERTIES["target"], strict=True, max_examples=300, seed=3)
    assert a.counterexample == b.counterexample and a.examples == b.examples


def test_wrong_variant_is_falsified() -> None:
    # the target restricted to the wrong sign of B (B ≤ 0) is false, and the search must say so
    wrong = target_variant(lambda B: B <= 0, "target_b_nonpos", "τ > 1, B ≤ 0, η > 0 ⇒ η′ > 0 (wrong)")
    res = search_hypothesis(wrong, strict=True, max_examples=400, seed=0)
    assert res.counterexample is not None
    _, eta_p = (lambda r: (r.pair(0, 1).eta, r.pair(0, 1).eta_prime))(
        check_configuration(res.counterexample.net, res.counterexample.x, res.counterexample.tau)
    )
    assert eta_p < 0


def test_mutated_formula_is_caught() -> None:
    # Eq. 6 with k_j = n_2j − n_1j (a sign slip) must be refuted on generated instances
    def bad_eq6(cfg: Config, strict: bool) -> Outcome:
        X, k, B = _paper_symbols(cfg)
        eta = cfg.net.forward(cfg.x, cfg.tau)
        eta = eta[0] - eta[1]
        return Outcome(True, eta == cfg.tau * sum((-a * b for a, b in zip(k, X, strict=True)), F(0)) + B)

    mutated = replace(PROPERTIES["eq6"], id="eq6_mutated", check=bad_eq6)
    assert search_hypothesis(mutated, max_examples=200, seed=0).counterexample is not None


def test_per_class_tau_head_flips_only_toward_larger_bias() -> None:
    # FCC's setting: a 3-feature, 4-class linear head, samples scaled by τ_y of Eqs. 2-4 (or any τ > 1)
    res = search_hypothesis(PROPERTIES["flip_toward_larger_bias"], strict=False, max_examples=600, seed=0)
    assert res.counterexample is None
    assert res.premise_hits > 0  # flips did occur in the budget; each went toward the larger bias
    res = search_hypothesis(PROPERTIES["multiclass_bias_rescaling"], max_examples=300, seed=1)
    assert res.counterexample is None and res.premise_hits == res.examples_total


@pytest.mark.parametrize(
    "cid,act",
    [("relu_no_bias", "relu"), ("relu_no_bias", "leaky_relu"), ("key_identity", "linear"), ("characterization", "linear")],
)
def test_theorems_on_any_widths_and_depth(cid: str, act: str) -> None:
    # deep ReLU / leaky-ReLU nets without biases keep the argmax; every affine net obeys the identity and the characterization
    prop = PROPERTIES[cid]

    @given(any_widths(max_depth=4, max_width=4).flatmap(lambda w: config_strategy(prop, w, act)))
    def run(cfg: Config) -> None:
        assert prop.check(cfg, False).holds

    run()


def test_deep_relu_with_hidden_biases_refuted() -> None:
    res = search_hypothesis(PROPERTIES["relu_hidden_bias"], (2, 3, 3, 2), strict=True, max_examples=600, seed=0)
    assert res.counterexample is not None
    rep = check_configuration(res.counterexample.net, res.counterexample.x, res.counterexample.tau)
    assert rep.agree is False and rep.class_original is not None


@pytest.mark.parametrize("act", ["linear", "relu", "leaky_relu"])
def test_fast_forward_matches_network_forward(act: str) -> None:
    # the search's hot-loop forward pass must give Network.forward's exact logits
    prop = PROPERTIES["key_identity" if act == "linear" else "relu_hidden_bias"]

    @given(
        any_widths(max_depth=3, max_width=4)
        .filter(lambda w: len(w) > 2 or act == "linear")
        .flatmap(lambda w: config_strategy(prop, w, act))
    )
    def run(cfg: Config) -> None:
        assert fast_forward(cfg.net, cfg.x, cfg.tau) == cfg.net.forward(cfg.x, cfg.tau)
        assert fast_forward(cfg.net, cfg.x) == cfg.net.forward(cfg.x)

    run()

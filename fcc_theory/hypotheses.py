"""Tight hypotheses: every hypothesis of a proved claim is dropped in turn and the weakened claim decided.

A claim's statement is written as named hypotheses ``H_1 ∧ … ∧ H_n`` plus, per lemma of the registry, a
remainder ``Q`` and a conclusion (the registry's lemma is ``H_1 ∧ … ∧ H_n ∧ Q ⇒ C``; Z3 checks that this
decomposition is equivalent to the registered lemma before anything is reported, so the two cannot drift).
Dropping ``H_i`` gives the weakened claim ``⋀_{j≠i} H_j ∧ Q ⇒ C``, decided by :func:`fcc_theory.decide.decide_lemma`:

* **necessary** — the weakened claim is refuted: Z3's model is lifted to a concrete network, x and τ and
  replayed exactly (:func:`fcc_theory.decide.replay`), so the witness satisfies every other hypothesis and
  violates the conclusion on the network's own margins;
* **not necessary** — the weakened claim is still proved (the hypothesis is superfluous);
* **necessary (definedness)** — the statement divides by the hypothesis' quantity: SymPy reports it as a
  denominator of the claim's identity, so without it the statement is undefined (no counterexample exists to
  show, there is no statement);
* **unknown** — anything else (a timeout, a model that did not replay).

``relu_no_bias`` has structural hypotheses (activation, biases); those are dropped by an exact search over small
networks (:mod:`fcc_theory.hypotheses_relu`). ``cosine_scale_invariance`` is a statement about a cosine head, not a
network; its weakened lemmas are refuted by a concrete head that replays exactly (:func:`fcc_theory.cosine.analyse_cosine`).

>>> r = analyse(STATEMENTS["target_b_nonneg"])
>>> [(h.name, h.status) for h in r]
[('τ > 1', 'necessary'), ('B ≥ 0', 'necessary'), ('y1 > y2 (η > 0)', 'necessary')]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import z3

from fcc_theory import lemmas
from fcc_theory.decide import AND, IFF, NOT, OR, Decision, Env, Lemma, Witness, _derive, decide_lemma, replay

__all__ = [
    "STATEMENTS",
    "Hypothesis",
    "HypothesisResult",
    "Statement",
    "analyse",
    "analyse_claim",
    "matches_registry",
    "replay_witness",
]

Pred = Callable[[Env], Any]


@dataclass(frozen=True)
class Hypothesis:
    """One named hypothesis; a definedness hypothesis (``denominator_of``) keeps an identity's denominator B non-zero."""

    name: str
    holds: Pred
    #: for a definedness hypothesis "B ≠ 0": the identity id of :mod:`fcc_theory.symbolic` whose denominator it is
    denominator_of: str | None = None


@dataclass(frozen=True)
class Statement:
    """``hypotheses ∧ remainder_k ⇒ conclusion_k`` for each part k, in one lemma space of :mod:`fcc_theory.decide`."""

    space: str
    variables: tuple[str, ...]
    hypotheses: tuple[Hypothesis, ...]
    parts: tuple[tuple[Pred | None, Pred], ...]
    #: asked of a counterexample first: where the conclusion's formulas are defined (no division by zero)
    defined: Pred | None = None
    #: the registry entry the statement decomposes: (table, key) of :mod:`fcc_theory.lemmas`
    registry: tuple[str, str] | None = None

    def lemmas(self, drop: int | None = None) -> list[Lemma]:
        kept = [h for i, h in enumerate(self.hypotheses) if i != drop]

        def premise(rem: Pred | None) -> Pred:
            return lambda v: AND(*[h.holds(v) for h in kept], *([rem(v)] if rem is not None else []), True)

        return [Lemma(self.variables, premise(rem), concl, self.space, self.defined) for rem, concl in self.parts]

    def with_hypothesis(self, hyp: Hypothesis) -> Statement:
        """The same claim with one more hypothesis (for testing that a superfluous one is reported as such)."""
        return replace(self, hypotheses=self.hypotheses + (hyp,), registry=None)


@dataclass
class HypothesisResult:
    name: str
    status: str  # necessary / not necessary / unknown
    detail: str
    witness: Witness | None = None
    decision: Decision | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "hypothesis": self.name,
            "status": self.status,
            "detail": self.detail,
            "witness": None if self.witness is None else self.witness.to_json(),
        }


def analyse(st: Statement, timeout_ms: int = 10_000) -> list[HypothesisResult]:
    """Drop each hypothesis of ``st`` in turn and decide the weakened claim (see the module docstring)."""
    out = []
    for i, hyp in enumerate(st.hypotheses):
        if hyp.denominator_of is not None and _is_denominator_b(hyp.denominator_of):
            out.append(
                HypothesisResult(
                    hyp.name, "necessary", f"SymPy: B is a denominator of {hyp.denominator_of} (d = −k/B); undefined at B = 0"
                )
            )
            continue
        d = _decide_parts(st.lemmas(drop=i), timeout_ms)
        if d.verdict == "refuted" and d.witness is not None:
            out.append(
                HypothesisResult(hyp.name, "necessary", "the weakened claim is refuted; witness replayed exactly", d.witness, d)
            )
        elif d.verdict == "proved":
            out.append(
                HypothesisResult(hyp.name, "not necessary", "the weakened claim is still proved (negation unsat)", None, d)
            )
        else:
            out.append(HypothesisResult(hyp.name, "unknown", f"weakened claim: {d.verdict} ({d.detail})", None, d))
    return out


def _is_denominator_b(identity_id: str) -> bool:
    """Whether ±B is among the denominators SymPy finds in the identity (computed, not assumed)."""
    import sympy as sp

    from fcc_theory import symbolic

    ident = symbolic.identity(identity_id)
    B = ident.net.B()
    dens = symbolic.check_identity(ident).denominators
    return any(sp.expand(d - B) == 0 or sp.expand(d + B) == 0 for d in dens)


def _decide_weakened(lem: Lemma, timeout_ms: int) -> Decision:
    """Refute with τ > 0 added to the premise first (a counterexample there violates the weakened claim too), then as is."""
    if "tau" in lem.variables:
        strong = Lemma(lem.variables, lambda v: AND(lem.premise(v), POSITIVE_TAU(v)), lem.conclusion, lem.space, lem.prefer)
        d = _safe_decide(strong, timeout_ms)
        if d.verdict == "refuted":
            return d
    return _safe_decide(lem, timeout_ms)


def _safe_decide(lem: Lemma, timeout_ms: int) -> Decision:
    try:
        return decide_lemma(lem, timeout_ms)
    except ZeroDivisionError:  # a model where the statement divides by zero: not a counterexample, not a decision
        return Decision("unknown", 0.0, "the solver's model leaves the statement undefined (a division by zero)")


def _decide_parts(ls: list[Lemma], timeout_ms: int) -> Decision:
    total, last = 0.0, None
    for lem in ls:
        d = _decide_weakened(lem, timeout_ms)
        total += d.seconds
        if d.verdict != "proved":
            d.seconds = total
            return d
        last = d
    assert last is not None
    return Decision("proved", total, "every part's negation unsat")


def replay_witness(st: Statement, drop: int, point: dict[str, Any]) -> Witness | None:
    """Re-check a necessary-hypothesis witness exactly: it must violate some part of the weakened claim."""
    for lem in st.lemmas(drop=drop):
        try:
            w = replay(lem, point)
        except ZeroDivisionError:  # the point leaves the statement undefined: not a counterexample
            w = None
        if w is not None:
            return w
    return None


def matches_registry(st: Statement, timeout_ms: int = 10_000) -> bool:
    """Z3: the decomposition with every hypothesis is equivalent, part by part, to the registered lemmas."""
    if st.registry is None:
        return False
    table, key = st.registry
    reg = (lemmas.pair_lemmas() if table == "pair" else lemmas.head_lemmas())[key]
    mine = st.lemmas()
    if len(reg) != len(mine):
        return False
    for a, b in zip(reg, mine, strict=True):
        ctx = z3.Context()
        v = _derive(st.space, {n: z3.Real(n, ctx) for n in st.variables})
        solver = z3.Solver(ctx=ctx)
        solver.set("timeout", int(timeout_ms))
        solver.add(OR(NOT(IFF(a.premise(v), b.premise(v))), NOT(IFF(a.conclusion(v), b.conclusion(v)))))
        if solver.check() != z3.unsat:
            return False
    return True


def analyse_claim(claim_id: str, timeout_ms: int = 10_000) -> list[HypothesisResult] | None:
    """The hypothesis analysis of one registered claim (None when it has no stated hypotheses here)."""
    if claim_id == "relu_no_bias":
        from fcc_theory.hypotheses_relu import analyse_relu_no_bias

        return analyse_relu_no_bias()
    if claim_id == "cosine_scale_invariance":
        from fcc_theory.cosine import analyse_cosine

        return analyse_cosine(timeout_ms)
    st = STATEMENTS.get(claim_id)
    if st is None:
        return None
    if st.registry is not None and not matches_registry(st, timeout_ms):
        return [
            HypothesisResult(h.name, "unknown", "the decomposition does not match the registered lemma") for h in st.hypotheses
        ]
    return analyse(st, timeout_ms)


# --- the statements -----------------------------------------------------------------------------
def _h(name: str, holds: Pred) -> Hypothesis:
    return Hypothesis(name, holds)


TAU_GT_1 = _h("τ > 1", lambda v: v["tau"] > 1)
TAU_GT_0 = _h("τ > 0", lambda v: v["tau"] > 0)
ETA_POS = _h("y1 > y2 (η > 0)", lambda v: v["eta"] > 0)


def _b_nonzero(identity_id: str) -> Hypothesis:
    return Hypothesis("B ≠ 0", lambda v: v["B"] != 0, identity_id)


# asked of a counterexample first: its formulas defined (no division by zero)
PAIR_DEFINED: Pred = lambda v: AND(v["B"] != 0, v["tau"] != 0)
HEAD_DEFINED: Pred = lambda v: v["tau"] != 0
#: tried before the weakened claim itself: a witness inside the paper's τ > 0 says more than one at τ = −1
POSITIVE_TAU: Pred = lambda v: v["tau"] > 0


def _pair(key: str, hyps: tuple[Hypothesis, ...], parts: tuple[tuple[Pred | None, Pred], ...]) -> Statement:
    return Statement("pair", lemmas.PAIR, hyps, parts, PAIR_DEFINED, ("pair", key))


def _statements() -> dict[str, Statement]:
    P = lemmas.pair_lemmas()
    H = lemmas.head_lemmas()
    concl = lambda table, key, k=0: table[key][k].conclusion
    return {
        "eq7": Statement("pair", lemmas.PAIR, (_b_nonzero("eq7"),), ((None, concl(P, "eq7")),), PAIR_DEFINED, ("pair", "eq7")),
        "eq9": Statement("pair", lemmas.PAIR, (_b_nonzero("eq9"),), ((None, concl(P, "eq9")),), PAIR_DEFINED, ("pair", "eq9")),
        "b_zero": _pair("b_zero", (_h("B = 0", lambda v: v["B"] == 0), TAU_GT_0), ((None, concl(P, "b_zero")),)),
        "target_b_nonneg": _pair(
            "target_b_nonneg", (TAU_GT_1, _h("B ≥ 0", lambda v: v["B"] >= 0), ETA_POS), ((None, lambda v: v["eta_p"] > 0),)
        ),
        "failure_set": _pair(
            "failure_set",
            (TAU_GT_1,),
            (
                (lambda v: AND(v["eta"] > 0, v["eta_p"] <= 0), lemmas.failure_region),
                (lemmas.failure_region, lambda v: AND(v["eta"] > 0, v["eta_p"] <= 0)),
            ),
        ),
        "characterization": _pair("characterization", (TAU_GT_0,), ((None, concl(P, "characterization")),)),
        "tau_zero": _pair("tau_zero", (_h("τ = 0", lambda v: v["tau"] == 0),), ((None, concl(P, "tau_zero")),)),
        "tau_negative": _pair(
            "tau_negative",
            (_h("τ < 0", lambda v: v["tau"] < 0),),
            ((None, concl(P, "tau_negative")), (lambda v: AND(v["B"] == 0, v["s"] != 0), concl(P, "tau_negative", 1))),
        ),
        "multiclass_bias_rescaling": Statement(
            "head",
            lemmas.HEAD,
            (TAU_GT_0,),
            ((None, concl(H, "multiclass_bias_rescaling")),),
            HEAD_DEFINED,
            ("head", "multiclass_bias_rescaling"),
        ),
        "flip_toward_larger_bias": Statement(
            "head",
            lemmas.HEAD,
            (
                TAU_GT_1,
                _h("class c wins at τf", lambda v: v["ls_i"] > v["ls_j"]),
                _h("class c′ at least ties at f", lambda v: v["lo_j"] >= v["lo_i"]),
            ),
            ((None, concl(H, "flip_toward_larger_bias")),),
            None,
            ("head", "flip_toward_larger_bias"),
        ),
    }


STATEMENTS: dict[str, Statement] = _statements()

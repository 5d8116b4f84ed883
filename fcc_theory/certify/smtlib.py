"""SMT-LIB2 text for the verifier's lemmas and identities, so that any SMT-LIB2 solver re-decides them as stated.

A :class:`Query` is one satisfiability question: the declarations of its real unknowns, its assertions and the
answer the verifier expects. A proved lemma ``premise ⇒ conclusion`` is written as ``premise ∧ ¬conclusion``
(expected ``unsat``); a refuted one the same way (expected ``sat``, with ``(get-model)``); a vacuous one as the
premise alone (expected ``unsat``). A polynomial identity ``lhs = rhs`` (what SymPy's ``expand(lhs − rhs) == 0``
decides) is written as ``conditions ∧ ¬(lhs = rhs)`` over the reals (expected ``unsat``).

>>> from fcc_theory import lemmas
>>> q = lemma_query("b_zero", "b_zero", lemmas.pair_lemmas()["b_zero"][0], "negation", "unsat")
>>> text = to_smt2(q)
>>> "(set-logic QF_NRA)" in text and "(declare-fun tau () Real)" in text and text.rstrip().endswith("(exit)")
True
>>> import sympy as sp
>>> a, b = sp.symbols("a b", real=True)
>>> sympy_to_smt(sp.Rational(-1, 2) * a), sympy_to_smt(a**2), sympy_to_smt(1 / b)
('(* (/ (- 1.0) 2.0) a)', '(* a a)', '(/ 1.0 b)')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import sympy as sp
import z3

from fcc_theory.decide import NOT, Lemma, _derive

__all__ = ["ANSWERS", "Query", "identity_query", "lemma_query", "sympy_to_smt", "to_smt2"]

#: the answers a query can expect or get; anything else (a timeout, a parse error) counts as unknown
ANSWERS = ("sat", "unsat")


@dataclass(frozen=True)
class Query:
    """One SMT-LIB2 file: ``assertions`` (SMT-LIB2 terms) over the real ``variables``, and the expected answer."""

    claim: str
    name: str
    kind: str  #: "negation" (premise ∧ ¬conclusion), "premise" (vacuity) or "identity" (¬(lhs = rhs))
    statement: str  #: the lemma in words, written into the file as a comment
    variables: tuple[str, ...]
    assertions: tuple[str, ...]
    expected: str  #: "unsat", "sat" or "unknown" (the verifier did not decide this lemma)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def filename(self) -> str:
        return f"{self.claim}__{self.name}.smt2"


def lemma_query(claim: str, name: str, lemma: Lemma, kind: str, expected: str, statement: str = "") -> Query:
    """The lemma's premise (and, for ``kind == "negation"``, its negated conclusion) as SMT-LIB2 terms.

    The terms are the verifier's own: the lemma's functions run on fresh Z3 reals and Z3 prints them.
    """
    ctx = z3.Context()
    v = _derive(lemma.space, {n: z3.Real(n, ctx) for n in lemma.variables})
    asserts = [lemma.premise(v)]
    if kind == "negation":
        asserts.append(NOT(lemma.conclusion(v)))
    elif kind != "premise":
        raise ValueError(f"kind must be 'negation' or 'premise', got {kind!r}")
    terms = tuple(a.sexpr() for a in asserts)  # printed as stated (Z3's let-sharing), not simplified
    return Query(claim, name, kind, statement, tuple(lemma.variables), terms, expected)


def identity_query(
    claim: str,
    name: str,
    lhs: Sequence[sp.Expr],
    rhs: Sequence[sp.Expr],
    symbols: Sequence[sp.Symbol],
    expected: str,
    conditions: Sequence[sp.Basic] = (),
    statement: str = "",
) -> Query:
    """``conditions ∧ ¬(lhs_1 = rhs_1 ∧ …)`` over the reals: unsat exactly when the identity holds where the conditions do.

    A side with a variable denominator (Eqs. 7 and 9: d_j = −k_j/B) is brought over it first (SymPy's
    ``together``): ``a = N_a/D_a`` and ``b = N_b/D_b`` are written ``N_a·D_b = N_b·D_a`` with ``D_a, D_b ≠ 0``
    asserted, a polynomial fact; division by a variable term is outside what cvc5 decides completely.
    """
    eqs, dens = [], []
    for a, b in zip(lhs, rhs, strict=True):
        (na, da), (nb, db) = sp.fraction(sp.together(a)), sp.fraction(sp.together(b))
        if not (da.free_symbols or db.free_symbols):
            eqs.append(f"(= {sympy_to_smt(a)} {sympy_to_smt(b)})")
            continue
        dens += [d for d in (da, db) if d.free_symbols and d not in dens]
        eqs.append(f"(= {sympy_to_smt(na * db)} {sympy_to_smt(nb * da)})")
    conds = [*conditions, *(sp.Ne(d, 0) for d in dens)]
    body = f"(not (and {' '.join(eqs)}))" if len(eqs) > 1 else f"(not {eqs[0]})"
    asserts = tuple(_relation_to_smt(c) for c in conds) + (body,)
    return Query(claim, name, "identity", statement, tuple(str(s) for s in symbols), asserts, expected)


def _number(q: sp.Rational) -> str:
    num = f"{abs(q.p)}.0" if q.q == 1 else f"(/ {abs(q.p)}.0 {q.q}.0)"
    if q.q != 1 and q.p < 0:
        return f"(/ (- {abs(q.p)}.0) {q.q}.0)"
    return f"(- {num})" if q.p < 0 else num


def sympy_to_smt(e: sp.Basic) -> str:
    """A SymPy rational-function expression (symbols, rationals, +, ×, integer powers) as an SMT-LIB2 Real term."""
    if isinstance(e, sp.Symbol):
        return str(e)
    if isinstance(e, sp.Rational):
        return _number(e)
    if isinstance(e, sp.Add):
        return "(+ " + " ".join(sympy_to_smt(a) for a in e.args) + ")"
    if isinstance(e, sp.Mul):
        return "(* " + " ".join(sympy_to_smt(a) for a in e.args) + ")"
    if isinstance(e, sp.Pow) and isinstance(e.exp, sp.Integer) and e.exp != 0:
        k = int(e.exp)
        base = sympy_to_smt(e.base)
        power = base if abs(k) == 1 else "(* " + " ".join([base] * abs(k)) + ")"
        return power if k > 0 else f"(/ 1.0 {power})"
    raise ValueError(f"cannot write {e!r} ({type(e).__name__}) as an SMT-LIB2 real term")


def _relation_to_smt(c: sp.Basic) -> str:
    ops = {sp.StrictGreaterThan: ">", sp.StrictLessThan: "<", sp.GreaterThan: ">=", sp.LessThan: "<=", sp.Equality: "="}
    a, b = (sympy_to_smt(t) for t in c.args)
    if isinstance(c, sp.Unequality):
        return f"(not (= {a} {b}))"
    for cls, op in ops.items():
        if isinstance(c, cls):
            return f"({op} {a} {b})"
    raise ValueError(f"cannot write the condition {c!r} in SMT-LIB2")


def to_smt2(q: Query) -> str:
    """The whole file: comments naming the claim and lemma, the logic, declarations, assertions, ``(check-sat)``."""
    lines = [
        f"; claim {q.claim}, lemma {q.name} ({q.kind})",
        *(f"; {ln}" for ln in q.statement.splitlines() if ln.strip()),
        f"; expected answer: {q.expected}"
        + {"negation": " (unsat: the lemma holds; sat: a counterexample)", "premise": " (unsat: the premise is vacuous)"}.get(
            q.kind, " (unsat: the identity holds over the reals)"
        ),
        "(set-option :produce-models true)",
        "(set-logic QF_NRA)",
        *(f"(declare-fun {v} () Real)" for v in q.variables),
        *(f"(assert {a})" for a in q.assertions),
        "(check-sat)",
    ]
    if q.expected == "sat":
        lines.append("(get-model)")
    lines.append("(exit)")
    return "\n".join(lines) + "\n"

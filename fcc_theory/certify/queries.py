"""Which SMT-LIB2 queries certify which claim: the verifier's own lemmas and identities, with the answer it expects.

The expected answer of a lemma is the verifier's verdict on that lemma (:func:`fcc_theory.decide.decide_lemma`:
proved → the negation is ``unsat``, refuted → ``sat``, vacuous → the premise alone is ``unsat``); of an
identity, SymPy's ``expand`` of the residue's numerator (zero → ``unsat``). Nothing is expected in advance.

>>> [q.name for q in claim_queries("failure_set")]
['reduction', 'lemma1', 'lemma2']
>>> claim_queries("failure_set")[1].expected
'unsat'
"""

from __future__ import annotations

from typing import Sequence

import sympy as sp

from fcc_theory import activations, cosine, lemmas, symbolic
from fcc_theory.certify.smtlib import Query, identity_query, lemma_query
from fcc_theory.decide import Lemma, decide_lemma

__all__ = ["claim_queries", "lemma_specs"]


def lemma_specs(claim_id: str) -> list[tuple[str, Lemma]]:
    """The (name, lemma) pairs the verifier decides by SMT for ``claim_id`` (empty for SI-only and IA claims)."""
    pair, head = lemmas.pair_lemmas(), lemmas.head_lemmas()
    table = pair.get(claim_id) or head.get(claim_id)
    if table:
        return [("lemma", table[0])] if len(table) == 1 else [(f"lemma{i}", lem) for i, lem in enumerate(table, 1)]
    if claim_id == "plane_order":
        return [("offsets", lemmas.offsets_lemma()), ("fig3a_step", lemmas.p7_lemma())]
    if claim_id == "relu_no_bias":
        return list(activations.relu_no_bias_lemmas().items())
    if claim_id == "cosine_scale_invariance":
        return [("lemma", cosine.cosine_lemma())]
    return []


def _identity_specs(claim_id: str) -> list[tuple[str, symbolic.Identity | tuple[list, list, list, list]]]:
    out: list[tuple[str, symbolic.Identity | tuple[list, list, list, list]]] = []
    if claim_id in symbolic.IDENTITY_IDS:
        out.append(("identity", symbolic.identity(claim_id)))
    if claim_id in lemmas.pair_lemmas() or claim_id in ("eq6", "eq8"):
        out.append(("reduction", symbolic.reduction_identities()))  # the compositional route rests on it
    if claim_id == "multiclass_bias_rescaling":
        tau = sp.Symbol("tau", real=True)
        W = sp.Matrix(4, 3, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
        f = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"f_{i}", real=True))
        b = sp.Matrix(4, 1, lambda i, _: sp.Symbol(f"b_{i}", real=True))
        out.append(("rescaling", (list(tau * W * f + b), list(tau * (W * f + b / tau)), [*W, *f, *b, tau], [sp.Gt(tau, 0)])))
    if claim_id == "relu_no_bias":
        lhs, rhs, syms = activations.bias_free_layer_identity()
        out.append(("bias_free_layers", (lhs, rhs, syms, [])))
    if claim_id == "cosine_scale_invariance":
        lhs, rhs, syms = cosine.reduction_identities(max(cosine.DIMS))
        out.append(("norm_reduction", (lhs, rhs, syms, [])))
    return out


#: the words written into an identity's SMT-LIB2 file, by identity name (a registry identity has its own text)
_IDENTITY_TEXT = {
    "rescaling": "τWf + b = τ(Wf + b/τ)",
    "bias_free_layers": "W(τx) = τ(Wx), N(τh) = τ(Nh)",
    "norm_reduction": "⟨w, τf⟩ = τ⟨w, f⟩, ‖τf‖² = τ²‖f‖²",
}


def _holds(lhs: Sequence[sp.Expr], rhs: Sequence[sp.Expr]) -> bool:
    """SymPy's decision, as in :func:`fcc_theory.symbolic.check_identity`: every residue's numerator expands to 0."""
    return all(sp.expand(sp.fraction(sp.together(a - b))[0]) == 0 for a, b in zip(lhs, rhs, strict=True))


def _lemma_answer(lemma: Lemma) -> tuple[str, str]:
    """(kind, expected) from the verifier's verdict on the lemma."""
    verdict = decide_lemma(lemma).verdict
    if verdict == "vacuous":
        return "premise", "unsat"
    return "negation", {"proved": "unsat", "refuted": "sat"}.get(verdict, "unknown")


def claim_queries(claim_id: str) -> list[Query]:
    """Every SMT-LIB2 query behind ``claim_id``: its identities first, then its lemmas."""
    from fcc_theory.claims import CLAIMS

    claim = CLAIMS[claim_id]
    words = f"{claim.premise}  =>  {claim.conclusion}"
    out: list[Query] = []
    for name, spec in _identity_specs(claim_id):
        conds: list[sp.Basic]
        if isinstance(spec, symbolic.Identity):
            lhs, rhs, syms, conds = list(spec.lhs), list(spec.rhs), list(spec.net.symbols), []
            text = spec.text
        else:
            lhs, rhs, syms, conds = spec
            text = f"{name}: {_IDENTITY_TEXT[name]}"
        out.append(identity_query(claim_id, name, lhs, rhs, syms, "unsat" if _holds(lhs, rhs) else "sat", conds, text))
    for name, lem in lemma_specs(claim_id):
        kind, expected = _lemma_answer(lem)
        out.append(lemma_query(claim_id, name, lem, kind, expected, words))
    return out

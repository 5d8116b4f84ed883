"""A cosine (normalised) head cancels FCC's per-sample scale: ℓ_j(τf) = ℓ_j(f) for τ > 0.

The head is LDAM's FCNorm (Cao et al., NeurIPS 2019) and the normalised experts of RIDE / SADE:
ℓ_j(f) = s·⟨w_j, f⟩ / (‖w_j‖·‖f‖). FCC multiplies the feature f by τ > 1 before the head (paper, Eq. 2), so
if ℓ_j(τf) = ℓ_j(f) for every class j, FCC changes neither the logits nor the loss nor the gradients there.

Route (like the pair claims: a SymPy reduction, then a small Z3 lemma over the rationals):

* SymPy: ⟨w, τf⟩ = τ⟨w, f⟩ and ‖τf‖² = τ²‖f‖², in every dimension 1 … :data:`DIMS` (termwise identities);
* Z3 decides the lemma on the reals (d, nw, nf, ntf, scale, τ), d = ⟨w, f⟩ and the norms written without a
  square root as ``n ≥ 0 ∧ n² = ‖·‖²`` (so it stays polynomial: ``ntf² = τ²·nf²`` with ``ntf ≥ 0`` means
  ntf = |τ|·nf, which is τ·nf only for τ ≥ 0), plus Cauchy–Schwarz d² ≤ nw²·nf² (every vector pair has it).
  The conclusion is division-free: both denominators non-zero (both logits defined) and
  ``scale·τd·nw·nf = scale·d·nw·ntf`` (the two quotients cross-multiplied).

Hypotheses τ > 0, f ≠ 0, w_j ≠ 0. Dropping one gives a weakened lemma that Z3 refutes; its model is lifted to a
concrete head in the plane — f = (nf, 0), w = (d/nf, r) with r² = nw² − d²/nf² an exact rational square (f = 0:
w = (nw, 0)) — and replayed exactly: the norms are exact square roots of the vectors' own squared norms and the
logits are recomputed from the vectors, never from the lemma's variables. τ < 0 flips the sign of the logit
(ℓ(τf) = −ℓ(f)); at τ = 0 or f = 0 a denominator ‖τf‖ or ‖f‖ is 0 and the logit is undefined.

>>> cosine_logit((Fraction(3), Fraction(4)), (Fraction(6), Fraction(8)), Fraction(30))
Fraction(30, 1)
>>> exact_sqrt(Fraction(9, 4)), exact_sqrt(Fraction(2))
(Fraction(3, 2), None)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable

import sympy as sp
import z3

from fcc_theory.decide import AND, NOT, Decision, Env, Lemma, _simplify, to_fraction
from fcc_theory.rational import format_rational

__all__ = [
    "COSINE",
    "DIMS",
    "HYPOTHESES",
    "CosineHypothesis",
    "analyse_cosine",
    "cosine_lemma",
    "cosine_logit",
    "decide_claim",
    "decide_cosine",
    "exact_sqrt",
    "lift",
    "reduction_identities",
    "replay",
    "tau_zero_lemma",
]

#: the lemma's reals: FCC's factor, the head's scale s, d = ⟨w, f⟩, and the norms ‖w‖, ‖f‖, ‖τf‖
COSINE = ("tau", "scale", "d", "nw", "nf", "ntf")
#: the dimensions in which SymPy checks the reduction identities (they hold termwise, hence in every dimension)
DIMS = (1, 2, 3, 4, 8)

Vec = tuple[Fraction, ...]


def exact_sqrt(q: Fraction) -> Fraction | None:
    """The exact square root of a non-negative rational, or None when it is irrational."""
    if q < 0:
        return None
    n, d = math.isqrt(q.numerator), math.isqrt(q.denominator)
    return Fraction(n, d) if n * n == q.numerator and d * d == q.denominator else None


def _norm(v: Vec) -> Fraction | None:
    return exact_sqrt(sum((x * x for x in v), Fraction(0)))


def cosine_logit(w: Vec, f: Vec, scale: Fraction) -> Fraction | None:
    """s·⟨w, f⟩/(‖w‖·‖f‖) in exact rationals; None where it is undefined (w or f zero) or a norm is irrational."""
    nw, nf = _norm(w), _norm(f)
    if nw is None or nf is None or nw * nf == 0:
        return None
    return scale * sum((a * b for a, b in zip(w, f, strict=True)), Fraction(0)) / (nw * nf)


# --- the statement --------------------------------------------------------------------------------
def _realizable(v: Env) -> Any:
    """What every (w, f, τ) satisfies: the norms' definitions (non-negative roots) and Cauchy–Schwarz."""
    nw, nf, ntf, t = v["nw"], v["nf"], v["ntf"], v["tau"]
    return AND(nw >= 0, nf >= 0, ntf >= 0, ntf * ntf == t * t * nf * nf, v["d"] * v["d"] <= nw * nw * nf * nf)


def _unchanged(v: Env) -> Any:
    """Both logits defined and equal: ℓ(τf) = s·τd/(nw·ntf) and ℓ(f) = s·d/(nw·nf), cross-multiplied."""
    s, d, t, nw, nf, ntf = v["scale"], v["d"], v["tau"], v["nw"], v["nf"], v["ntf"]
    return AND(nw * ntf != 0, nw * nf != 0, s * t * d * nw * nf == s * d * nw * ntf)


@dataclass(frozen=True)
class CosineHypothesis:
    name: str
    holds: Callable[[Env], Any]


HYPOTHESES = (
    CosineHypothesis("τ > 0", lambda v: v["tau"] > 0),
    CosineHypothesis("f ≠ 0", lambda v: v["nf"] != 0),
    CosineHypothesis("w_j ≠ 0", lambda v: v["nw"] != 0),
)


def cosine_lemma(drop: str | None = None) -> Lemma:
    """``realizable ∧ hypotheses ⇒ ℓ(τf) = ℓ(f)``; ``drop`` names a hypothesis of :data:`HYPOTHESES` to leave out."""
    names = [h.name for h in HYPOTHESES]
    if drop is not None and drop not in names:
        raise ValueError(f"unknown hypothesis {drop!r}; one of {names}")
    kept = [h for h in HYPOTHESES if h.name != drop]
    return Lemma(COSINE, lambda v: AND(_realizable(v), *[h.holds(v) for h in kept]), _unchanged, "cosine")


def reduction_identities(dim: int) -> tuple[list[sp.Expr], list[sp.Expr], list[sp.Symbol]]:
    """⟨w, τf⟩ = τ⟨w, f⟩ and ‖τf‖² = τ²‖f‖² in dimension ``dim``: (lhs, rhs, symbols)."""
    tau = sp.Symbol("tau", real=True)
    w = [sp.Symbol(f"w_{i}", real=True) for i in range(dim)]
    f = [sp.Symbol(f"f_{i}", real=True) for i in range(dim)]
    lhs = [sum(wi * (tau * fi) for wi, fi in zip(w, f, strict=True)), sum((tau * fi) ** 2 for fi in f)]
    rhs = [tau * sum(wi * fi for wi, fi in zip(w, f, strict=True)), tau**2 * sum(fi**2 for fi in f)]
    return lhs, rhs, [*w, *f, tau]


# --- lift and exact replay ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CosineWitness:
    """A concrete head row w, feature f, scale s and τ, with the exact logits at τf and f (None: undefined)."""

    w: Vec
    f: Vec
    scale: Fraction
    tau: Fraction
    logit_scaled: Fraction | None
    logit: Fraction | None

    def to_json(self) -> dict[str, Any]:
        g = lambda q: None if q is None else format_rational(q)
        return {
            "w": [format_rational(x) for x in self.w],
            "f": [format_rational(x) for x in self.f],
            "scale": format_rational(self.scale),
            "tau": format_rational(self.tau),
            "logit_scaled": g(self.logit_scaled),
            "logit": g(self.logit),
        }

    def line(self) -> str:
        j = self.to_json()
        show = lambda q: "undefined" if q is None else q
        return (
            f"w = ({', '.join(j['w'])}), f = ({', '.join(j['f'])}), s = {j['scale']}, τ = {j['tau']}: "
            f"ℓ(τf) = {show(j['logit_scaled'])}, ℓ(f) = {show(j['logit'])}"
        )


def lift(point: dict[str, Fraction]) -> tuple[Vec, Vec] | None:
    """Vectors (w, f) in the plane with ⟨w, f⟩ = d, ‖w‖ = nw, ‖f‖ = nf; None when no rational pair is found."""
    d, nw, nf = point["d"], point["nw"], point["nf"]
    if nw < 0 or nf < 0:
        return None
    if nf == 0:
        return ((nw, Fraction(0)), (Fraction(0), Fraction(0))) if d == 0 else None
    a = d / nf
    r = exact_sqrt(nw * nw - a * a)
    return None if r is None else ((a, r), (nf, Fraction(0)))


def _env(w: Vec, f: Vec, scale: Fraction, tau: Fraction) -> Env | None:
    """The lemma's variables read off the concrete vectors (exact norms), not off the solver's model."""
    tf = tuple(tau * x for x in f)
    nw, nf, ntf = _norm(w), _norm(f), _norm(tf)
    if nw is None or nf is None or ntf is None:
        return None
    return {
        "tau": tau,
        "scale": scale,
        "d": sum((a * b for a, b in zip(w, f, strict=True)), Fraction(0)),
        "nw": nw,
        "nf": nf,
        "ntf": ntf,
    }


def replay(lemma: Lemma, point: dict[str, Fraction]) -> CosineWitness | None:
    """Lift ``point`` to a head and keep it only if the head itself violates ``lemma`` (exact arithmetic)."""
    if any(point.get(n) is None for n in COSINE):
        return None
    vecs = lift(point)
    if vecs is None:
        return None
    w, f = vecs
    env = _env(w, f, point["scale"], point["tau"])
    if env is None or not (lemma.premise(env) is True and lemma.conclusion(env) is False):
        return None
    tf = tuple(point["tau"] * x for x in f)
    return CosineWitness(
        w, f, point["scale"], point["tau"], cosine_logit(w, tf, point["scale"]), cosine_logit(w, f, point["scale"])
    )


# --- decisions -----------------------------------------------------------------------------------------
def tau_zero_lemma() -> Lemma:
    """The claim with τ > 0 replaced by τ = 0 (then τf = 0 and ℓ(τf) has the denominator ‖τf‖ = 0)."""
    kept = [h for h in HYPOTHESES if h.name != "τ > 0"]
    return Lemma(COSINE, lambda v: AND(_realizable(v), v["tau"] == 0, *[h.holds(v) for h in kept]), _unchanged, "cosine")


def _what(w: CosineWitness) -> str:
    return "the logits differ" if w.logit is not None and w.logit_scaled is not None else "a logit is undefined"


def _defined(v: Env) -> Any:
    return AND(v["nw"] * v["ntf"] != 0, v["nw"] * v["nf"] != 0)


def _parallel(v: Env) -> Any:
    # w ∥ f: the lift then needs no square root beyond the norms' own (a rational witness)
    return v["d"] * v["d"] == v["nw"] * v["nw"] * v["nf"] * v["nf"]


def decide_cosine(lemma: Lemma, timeout_ms: int = 10_000) -> Decision:
    """Decide a cosine-head lemma: proved (negation unsat), vacuous, or refuted by a head that replays exactly.

    A counterexample is asked for first where both logits are defined (a real disagreement), then anywhere (a
    logit undefined); each time with w ∥ f so that the lift is rational. A model that does not replay: unknown.
    """
    t0 = time.perf_counter()
    ctx = z3.Context()
    v: Env = {n: z3.Real(n, ctx) for n in lemma.variables}
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", int(timeout_ms))
    solver.add(lemma.premise(v))
    r = solver.check()
    if r == z3.unsat:
        return Decision("vacuous", time.perf_counter() - t0, "premise unsatisfiable")
    if r == z3.unknown:
        return Decision("unknown", time.perf_counter() - t0, f"premise: z3 unknown ({solver.reason_unknown()})")
    solver.add(NOT(lemma.conclusion(v)))
    for prefer in (lambda e: AND(_defined(e), _parallel(e)), _parallel):
        solver.push()
        solver.add(prefer(v))
        if solver.check() == z3.sat:
            model = _simplify(solver, v, lemma.variables)
            point = {n: to_fraction(model.eval(v[n], model_completion=True)) for n in lemma.variables}
            w = replay(lemma, point)  # type: ignore[arg-type]
            secs = time.perf_counter() - t0
            if w is None:
                return Decision("unknown", secs, f"z3 model {point} did not replay exactly on a cosine head")
            return Decision(
                "refuted", secs, f"exact witness replayed: {w.line()}", extra={"witness": w.to_json(), "cosine_witness": w}
            )
        solver.pop()
    r = solver.check()
    if r == z3.unsat:
        return Decision("proved", time.perf_counter() - t0, "negation unsat")
    if r == z3.unknown:
        return Decision("unknown", time.perf_counter() - t0, f"z3 unknown ({solver.reason_unknown()})")
    return Decision("unknown", time.perf_counter() - t0, "a counterexample exists but none with w ∥ f to lift")


def _identities_hold() -> bool:
    for dim in DIMS:
        lhs, rhs, _ = reduction_identities(dim)
        if any(sp.expand(a - b) != 0 for a, b in zip(lhs, rhs, strict=True)):
            return False
    return True


def decide_claim(timeout_ms: int = 10_000) -> Decision:
    """The registered claim: the SymPy reduction in every dimension of :data:`DIMS`, then the Z3 lemma."""
    t0 = time.perf_counter()
    if not _identities_hold():
        return Decision("unknown", time.perf_counter() - t0, "⟨w, τf⟩ = τ⟨w, f⟩ or ‖τf‖² = τ²‖f‖² failed symbolically")
    d = decide_cosine(cosine_lemma(), timeout_ms)
    d.seconds = time.perf_counter() - t0
    dims = ", ".join(map(str, DIMS))
    d.detail = f"⟨w, τf⟩ = τ⟨w, f⟩, ‖τf‖² = τ²‖f‖² (SymPy, dimensions {dims}); ℓ(τf) = ℓ(f), both defined (z3): {d.detail}"
    return d


def analyse_cosine(timeout_ms: int = 10_000) -> list[Any]:
    """Drop each hypothesis in turn; necessary when the weakened lemma is refuted by a head that replays exactly."""
    from fcc_theory.hypotheses import HypothesisResult

    out = []
    for h in HYPOTHESES:
        d = decide_cosine(cosine_lemma(drop=h.name), timeout_ms)
        if d.verdict == "refuted":
            w: CosineWitness = d.extra["cosine_witness"]
            detail = f"the weakened claim is refuted ({_what(w)}): {w.line()}"
            if h.name == "τ > 0":  # the other side of τ ≤ 0 (the first witness has τ < 0)
                z = decide_cosine(tau_zero_lemma(), timeout_ms)
                if z.verdict == "refuted":
                    detail += f"; at τ = 0 ({_what(z.extra['cosine_witness'])}): {z.extra['cosine_witness'].line()}"
            out.append(HypothesisResult(h.name, "necessary", detail, None, d))
        elif d.verdict == "proved":
            out.append(HypothesisResult(h.name, "not necessary", "the weakened claim is still proved (negation unsat)", None, d))
        else:
            out.append(HypothesisResult(h.name, "unknown", f"weakened claim: {d.verdict} ({d.detail})", None, d))
    return out

"""The full-network cross-check: a pair lemma decided on the 24-unknown 3-3-2 network, without the reduction.

The compositional route reduces the network to (s, B, τ) with a SymPy identity and decides a 3-variable lemma.
This module decides the same lemma again on the network itself (weights ``w_ij``, hidden biases ``b_i``, output
weights ``n_oj``, output biases ``z_o``, input ``x_m`` and τ: 24 real unknowns), independently of SymPy and of
the reduction. The margins are computed by the layered forward pass (``a = W(τx) + b``, ``y = N a + z``) in
exact polynomial arithmetic over the 24 unknowns (:class:`Poly`, plain Python dictionaries), and the lemma's
own formulas are evaluated on those polynomials. Two procedures, in order:

1. **Linear relaxation with product lemmas** (a degree-2 Positivstellensatz step, the method of e.g.
   Sherali–Adams / RLT): every atom ``p ⋈ 0`` of ``premise ∧ ¬conclusion`` is collected, and for every pair of
   atoms (p, q) the sign rule ``sign(p)·sign(q) = sign(p·q)`` is added — a valid fact of real arithmetic, so
   the query's satisfiability is unchanged. Then every monomial of degree ≥ 2 is replaced by a fresh variable.
   The result is linear; if Z3 finds it unsatisfiable, so is the original query (a relaxation): **proved**.
2. Otherwise the plain nonlinear query (Z3, QF_NRA) on the same polynomials, with the time that is left: a model
   is turned into a concrete network (all 24 values), evaluated with :func:`fcc_theory.margins.check_configuration`
   and the lemma re-checked on its exact margins before the claim counts as **refuted**; unsat is **proved**;
   anything else (the timeout) is **unknown**.

>>> from fcc_theory.lemmas import pair_lemmas
>>> decide_full(pair_lemmas()["target_b_nonneg"][0], 20_000).verdict
'proved'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any, ClassVar

import z3

from fcc_theory.decide import NOT, Decision, Env, Lemma, Witness, to_fraction
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

__all__ = ["UNKNOWNS", "Poly", "decide_full", "network_env"]

Monomial = tuple[str, ...]

#: the 24 unknowns, in the order of the slides (indices from 0 here)
UNKNOWNS = (
    [f"w_{i}{m}" for i in range(3) for m in range(3)]
    + [f"b_{i}" for i in range(3)]
    + [f"n_{o}{j}" for o in range(2) for j in range(3)]
    + ["z_0", "z_1"]
    + [f"x_{m}" for m in range(3)]
    + ["tau"]
)


class Poly:
    """A polynomial over named real unknowns with exact coefficients; comparisons record an atom ``p ⋈ 0``.

    >>> x, y = Poly.var("x"), Poly.var("y")
    >>> sorted(((x + y) * (x - y)).terms.items())
    [(('x', 'x'), Fraction(1, 1)), (('y', 'y'), Fraction(-1, 1))]
    """

    __slots__ = ("factors", "query", "terms")

    def __init__(
        self, terms: dict[Monomial, Fraction], query: Query | None = None, factors: tuple[Poly, Poly] | None = None
    ) -> None:
        self.terms = terms
        self.query = query
        #: the two non-constant polynomials this one is the product of (their signs become atoms too)
        self.factors = factors

    @staticmethod
    def var(name: str, query: Query | None = None) -> Poly:
        return Poly({(name,): Fraction(1)}, query)

    def _lift(self, other: Any) -> Poly:
        if isinstance(other, Poly):
            return other
        if isinstance(other, (int, Fraction)):
            return Poly({(): Fraction(other)} if other != 0 else {}, self.query)
        return NotImplemented

    def __add__(self, other: Any) -> Poly:
        o = self._lift(other)
        out = dict(self.terms)
        for m, c in o.terms.items():
            v = out.get(m, Fraction(0)) + c
            if v:
                out[m] = v
            else:
                out.pop(m, None)
        return Poly(out, self.query or o.query)

    __radd__ = __add__

    def __neg__(self) -> Poly:
        return Poly({m: -c for m, c in self.terms.items()}, self.query)

    def __sub__(self, other: Any) -> Poly:
        return self + (-self._lift(other))

    def __rsub__(self, other: Any) -> Poly:
        return self._lift(other) - self

    def __mul__(self, other: Any) -> Poly:
        o = self._lift(other)
        out: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in o.terms.items():
                m = tuple(sorted(m1 + m2))
                out[m] = out.get(m, Fraction(0)) + c1 * c2
        both = len(self.terms) > 0 and len(o.terms) > 0 and set(self.terms) != {()} and set(o.terms) != {()}
        return Poly({m: c for m, c in out.items() if c}, self.query or o.query, (self, o) if both else None)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Ratio:
        return Ratio(self, self._lift(other))

    def __rtruediv__(self, other: Any) -> Ratio:
        return Ratio(self._lift(other), self)

    def _cmp(self, other: Any, op: str) -> Any:
        if isinstance(other, Ratio):
            return other._rcmp(self, op)
        q = self.query or self._lift(other).query
        assert q is not None, "a comparison needs the query that records its atoms"
        return q.atom(self if isinstance(other, int) and other == 0 else self - other, op)

    def __lt__(self, other: Any) -> Any:
        return self._cmp(other, "<")

    def __le__(self, other: Any) -> Any:
        return self._cmp(other, "<=")

    def __gt__(self, other: Any) -> Any:
        return self._cmp(other, ">")

    def __ge__(self, other: Any) -> Any:
        return self._cmp(other, ">=")

    def __eq__(self, other: Any) -> Any:
        return self._cmp(other, "==")

    def __ne__(self, other: Any) -> Any:
        return z3.Not(self._cmp(other, "=="))

    __hash__ = None  # type: ignore[assignment]


class Ratio:
    """``num / den`` for a lemma that divides (e.g. −B/τ); ``a ⋈ b`` becomes ``(a − b)·den² ⋈ 0`` with den ≠ 0 required."""

    def __init__(self, num: Poly, den: Poly) -> None:
        self.num, self.den = num, den

    def __neg__(self) -> Ratio:
        return Ratio(-self.num, self.den)

    def _diff(self, other: Any) -> Poly:  # (self − other)·den²
        if isinstance(other, Ratio):
            return (self.num * other.den - other.num * self.den) * self.den * other.den
        return (self.num - other * self.den) * self.den

    def _atom(self, p: Poly, op: str) -> Any:
        q = p.query
        assert q is not None
        nonzero = z3.Not(q.atom(self.den, "=="))
        return z3.And(nonzero, q.atom(p, op))

    def _rcmp(self, left: Poly, op: str) -> Any:
        flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}[op]
        return self._atom(self._diff(left), flip)

    def __lt__(self, other: Any) -> Any:
        return self._atom(self._diff(other), "<")

    def __gt__(self, other: Any) -> Any:
        return self._atom(self._diff(other), ">")


class Query:
    """Records the atoms ``p ⋈ 0`` of a formula; turns them into Z3 (nonlinear, or linearized)."""

    OPS: ClassVar[dict[str, Callable[[Any], Any]]] = {
        "<": lambda a: a < 0,
        "<=": lambda a: a <= 0,
        ">": lambda a: a > 0,
        ">=": lambda a: a >= 0,
        "==": lambda a: a == 0,
    }

    def __init__(self, ctx: z3.Context, linear: bool) -> None:
        self.ctx, self.linear = ctx, linear
        self.atoms: dict[tuple[tuple[Monomial, Fraction], ...], Poly] = {}
        self.monomials: dict[Monomial, z3.ArithRef] = {}

    def term(self, p: Poly) -> Any:
        parts = []
        for m, c in p.terms.items():
            coeff = z3.RealVal(f"{c.numerator}/{c.denominator}", self.ctx)
            parts.append(coeff if not m else coeff * self._monomial(m))
        return z3.Sum(parts) if parts else z3.RealVal(0, self.ctx)

    def _monomial(self, m: Monomial) -> Any:
        if m not in self.monomials:
            if len(m) == 1 or not self.linear:
                t = z3.Real(m[0], self.ctx)
                for name in m[1:]:
                    t = t * z3.Real(name, self.ctx)
            else:  # the relaxation: one fresh variable per monomial of degree ≥ 2
                t = z3.Real("mono!" + "*".join(m), self.ctx)
            self.monomials[m] = t
        return self.monomials[m]

    def atom(self, p: Poly, op: str) -> Any:
        if not p.terms or set(p.terms) == {()}:  # a constant: decided here, exactly
            c = p.terms.get((), Fraction(0))
            return z3.BoolVal(bool(self.OPS[op](c)), self.ctx)
        self._record(p)
        return self.OPS[op](self.term(p))

    def _record(self, p: Poly) -> None:
        self.atoms.setdefault(tuple(sorted(p.terms.items())), p)
        for f in p.factors or ():
            if len(f.terms) > 1 or set(f.terms) != {()}:
                self._record(f)

    def product_lemmas(self) -> list[Any]:
        """sign(p)·sign(q) = sign(p·q) for every pair of recorded atoms (valid in real arithmetic).

        An atom that is itself a product f·g is linked through its factors' pair (f, g) and is not multiplied
        further (its products would have degree up to 16 and thousands of monomials for nothing).
        """
        out = []
        atoms = [a for a in self.atoms.values() if a.factors is None]
        terms = {id(a): self.term(a) for a in atoms}
        for p, q in itertools.combinations_with_replacement(atoms, 2):
            tp, tq, tpq = terms[id(p)], terms[id(q)], self.term(p * q)
            signs = ((tp > 0, 1), (tp < 0, -1), (tp == 0, 0))
            for (cp, sp_), (cq, sq) in itertools.product(signs, ((tq > 0, 1), (tq < 0, -1), (tq == 0, 0))):
                s = sp_ * sq
                out.append(z3.Implies(z3.And(cp, cq), tpq > 0 if s > 0 else (tpq < 0 if s < 0 else tpq == 0)))
        return out


def network_env(query: Query | None = None) -> Env:
    """The lemma environment of the symbolic network: η, η′, B from the layered forward pass, s = Σ k_j X_j."""
    V = {n: Poly.var(n, query) for n in UNKNOWNS}
    W = [[V[f"w_{i}{m}"] for m in range(3)] for i in range(3)]
    N = [[V[f"n_{o}{j}"] for j in range(3)] for o in range(2)]
    x = [V[f"x_{m}"] for m in range(3)]

    def margin(inp: list[Any]) -> Poly:
        a = [sum((W[i][m] * inp[m] for m in range(3)), V[f"b_{i}"]) for i in range(3)]
        y = [sum((N[o][j] * a[j] for j in range(3)), V[f"z_{o}"]) for o in range(2)]
        return y[0] - y[1]

    tau = V["tau"]
    X = [sum((W[i][m] * x[m] for m in range(3)), Poly({}, query)) for i in range(3)]
    s = sum(((N[0][j] - N[1][j]) * X[j] for j in range(3)), Poly({}, query))
    return {"tau": tau, "s": s, "B": margin([0, 0, 0]), "eta": margin([tau * x[m] for m in range(3)]), "eta_p": margin(x)}


def _network_from_model(values: dict[str, Fraction]) -> tuple[Network, tuple[Fraction, ...], Fraction]:
    g = values.__getitem__
    net = Network.from_matrices(
        [[[g(f"w_{i}{m}") for m in range(3)] for i in range(3)], [[g(f"n_{o}{j}") for j in range(3)] for o in range(2)]],
        [[g(f"b_{i}") for i in range(3)], [g("z_0"), g("z_1")]],
    )
    return net, tuple(g(f"x_{m}") for m in range(3)), g("tau")


def _replay(lemma: Lemma, values: dict[str, Fraction]) -> Witness | None:
    """The model as a concrete network; the lemma re-checked on its exact margins (s = Σ k_j X_j from its weights)."""
    net, x, tau = _network_from_model(values)
    rep = check_configuration(net, x, tau)
    W, N = net.layers[0].weight, net.layers[1].weight
    s = sum(((N[0][j] - N[1][j]) * sum((W[j][m] * x[m] for m in range(3)), Fraction(0)) for j in range(3)), Fraction(0))
    eta = rep.logits_scaled[0] - rep.logits_scaled[1]  # type: ignore[index]
    eta_p = rep.logits_original[0] - rep.logits_original[1]  # type: ignore[index]
    B = net.forward([Fraction(0)] * 3)
    env = {"tau": tau, "s": s, "B": B[0] - B[1], "eta": eta, "eta_p": eta_p}
    try:
        ok = lemma.premise(env) is True and lemma.conclusion(env) is False
    except ZeroDivisionError:
        ok = False
    return Witness(net, x, tau, rep, dict(values)) if ok else None


def _ms_left(deadline: float) -> int:
    return max(1, int((deadline - time.perf_counter()) * 1000))


def decide_full(lemma: Lemma, timeout_ms: int) -> Decision:
    """Decide one pair lemma on the full network (see the module docstring); never proved on a timeout."""
    t0 = time.perf_counter()
    deadline = t0 + timeout_ms / 1000
    ctx = z3.Context()
    rel = Query(ctx, linear=True)
    env = network_env(rel)
    negation = z3.And(lemma.premise(env), NOT(lemma.conclusion(env)))
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", _ms_left(deadline))
    solver.add(negation, *rel.product_lemmas())
    r = solver.check()
    if r == z3.unsat:
        return Decision(
            "proved", time.perf_counter() - t0, f"full network: linear relaxation with {len(rel.atoms)} atoms' products unsat"
        )
    if time.perf_counter() >= deadline:
        return Decision("unknown", time.perf_counter() - t0, f"full network: timeout after {timeout_ms / 1000:g} s")
    nl = Query(ctx, linear=False)
    env = network_env(nl)
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", _ms_left(deadline))
    solver.add(lemma.premise(env), NOT(lemma.conclusion(env)))
    r = solver.check()
    secs = time.perf_counter() - t0
    if r == z3.unsat:
        return Decision("proved", secs, "full network: nonlinear negation unsat")
    if r == z3.sat:
        m = solver.model()
        values = {n: to_fraction(m.eval(z3.Real(n, ctx), model_completion=True)) for n in UNKNOWNS}
        if all(v is not None for v in values.values()):
            w = _replay(lemma, values)  # type: ignore[arg-type]
            if w is not None:
                return Decision("refuted", secs, "full network: model replayed exactly on the 3-3-2 network", w)
        return Decision("unknown", secs, "full network: a model that did not replay exactly")
    return Decision("unknown", secs, f"full network: {solver.reason_unknown()} after {timeout_ms / 1000:g} s")

"""Exact decisions: a claim as ``premise ⇒ conclusion`` over a few real variables, decided by Z3 (QF_NRA).

A :class:`Lemma` is written once as Python functions of an environment ``v`` (a dict of values); the same
functions run on Z3 terms (to decide) and on exact Fractions read off a concrete network (to re-check a
counterexample). Verdicts (theory.md §4):

* ``proved``  — ``premise ∧ ¬conclusion`` is unsatisfiable;
* ``refuted`` — Z3 returned a model; it is turned into exact rationals, lifted to a concrete network, x and
  τ, evaluated with :func:`fcc_theory.margins.check_configuration`, and the premise is re-checked true and
  the conclusion false *on the network's own margins*; only then is the claim refuted;
* ``vacuous`` — the premise alone is unsatisfiable;
* ``unknown`` — a timeout, an irrational model that does not survive rounding, or a model that does not
  replay. Never reported as proved.

Spaces (how a model becomes a network):

* ``pair``: variables ``s, B, tau``; the reduced margins ``eta = tau*s + B``, ``eta_p = s + B`` (the
  identities of :mod:`fcc_theory.symbolic`). Lift: the 3-3-2 network with W = I, b = (B, 0, 0),
  N = [[1, 0, 0], [0, 0, 0]], z = 0 and x = (s, 0, 0), whose pair (0, 1) has exactly this s and B.
* ``head``: a linear head, variables ``a_i, a_j, b_i, b_j, tau``; scaled logits ``tau*a + b``, unscaled
  ``a + b``. Lift: the one-layer network with weight [[a_i], [a_j]], bias [b_i, b_j] and f = (1).
* ``plane``: abstract variables with no network (only ``proved``/``vacuous`` are final there).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

import z3

from fcc_theory.margins import CheckReport, check_configuration
from fcc_theory.network import Network
from fcc_theory.rational import format_rational

__all__ = [
    "AND",
    "IFF",
    "IMPLIES",
    "NOT",
    "OR",
    "Decision",
    "Lemma",
    "Witness",
    "decide_all",
    "decide_lemma",
    "env_from_network",
    "lift",
    "sign_agree",
    "to_fraction",
]

Env = dict[str, Any]


# --- connectives that work on Python bools (exact re-check) and on Z3 terms (decision) ----------------
def _is_py(args: tuple[Any, ...]) -> bool:
    return all(isinstance(a, bool) for a in args)


def AND(*a: Any) -> Any:
    return all(a) if _is_py(a) else z3.And(*a)


def OR(*a: Any) -> Any:
    return any(a) if _is_py(a) else z3.Or(*a)


def NOT(a: Any) -> Any:
    return (not a) if isinstance(a, bool) else z3.Not(a)


def IMPLIES(a: Any, b: Any) -> Any:
    return ((not a) or b) if _is_py((a, b)) else z3.Implies(a, b)


def IFF(a: Any, b: Any) -> Any:
    return a == b  # on two bools and on two z3 Booleans alike, == is equivalence


def sign_agree(p: Any, q: Any) -> Any:
    """sign(p) = sign(q), ties included (theory.md §1.2).

    >>> sign_agree(0, 0), sign_agree(2, -1)
    (True, False)
    """
    return OR(AND(p > 0, q > 0), AND(p < 0, q < 0), AND(p == 0, q == 0))


@dataclass(frozen=True)
class Lemma:
    """``premise(v) ⇒ conclusion(v)`` for all real values of ``variables`` (in the given space)."""

    variables: tuple[str, ...]
    premise: Callable[[Env], Any]
    conclusion: Callable[[Env], Any]
    space: str = "pair"
    #: an extra constraint tried first when looking for a counterexample (a more informative one, e.g. strict)
    prefer: Callable[[Env], Any] | None = None


@dataclass(frozen=True)
class Witness:
    """A counterexample lifted to a concrete network, checked exactly."""

    network: Network
    x: tuple[Fraction, ...]
    tau: Fraction
    report: CheckReport
    point: dict[str, Fraction]

    def to_json(self) -> dict[str, Any]:
        out = self.network.to_dict()
        out["x"] = [format_rational(v) for v in self.x]
        out["tau"] = format_rational(self.tau)
        out["point"] = {k: format_rational(v) for k, v in self.point.items()}
        out["check"] = self.report.to_json()
        return out


@dataclass
class Decision:
    verdict: str
    seconds: float
    detail: str = ""
    witness: Witness | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def to_fraction(val: Any) -> Fraction | None:
    """A Z3 numeral as an exact Fraction; algebraic numbers are rounded (the caller re-checks exactly)."""
    if z3.is_rational_value(val):
        return Fraction(val.numerator_as_long(), val.denominator_as_long())
    if z3.is_algebraic_value(val):
        r = val.approx(40)
        return Fraction(r.numerator_as_long(), r.denominator_as_long())
    return None


def _z3_env(lemma: Lemma, ctx: z3.Context) -> tuple[Env, list[Any]]:
    v: Env = {name: z3.Real(name, ctx) for name in lemma.variables}
    return _derive(lemma.space, v), [v[n] for n in lemma.variables]


def _derive(space: str, v: Env) -> Env:
    v = dict(v)
    if all(n in v for n in ("s", "B", "tau")):  # the pair reduction (also inside plane lemmas)
        v["eta"] = v["tau"] * v["s"] + v["B"]
        v["eta_p"] = v["s"] + v["B"]
    elif space == "head":
        for c in ("i", "j"):
            v[f"ls_{c}"] = v["tau"] * v[f"a_{c}"] + v[f"b_{c}"]
            v[f"lo_{c}"] = v[f"a_{c}"] + v[f"b_{c}"]
    return v


def lift(space: str, point: dict[str, Fraction]) -> tuple[Network, tuple[Fraction, ...], Fraction]:
    """A concrete network, input and τ realising ``point`` (see the module docstring)."""
    tau = point["tau"]
    if space == "pair":
        s, B = point["s"], point["B"]
        net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]], [[B, 0, 0], [0, 0]])
        return net, (s, Fraction(0), Fraction(0)), tau
    if space == "head":
        net = Network.from_matrices([[[point["a_i"]], [point["a_j"]]]], [[point["b_i"], point["b_j"]]])
        return net, (Fraction(1),), tau
    raise ValueError(f"space {space!r} has no network lift")


def env_from_network(space: str, net: Network, report: CheckReport) -> Env:
    """The lemma's environment read off an exact evaluation of a network (not from the lemma's formulas)."""
    v: Env = {"tau": report.tau}
    if space == "pair":
        p = report.pair(0, 1)
        v.update(s=p.s, B=p.B, eta=p.eta, eta_p=p.eta_prime)
    elif space == "head":
        bias = net.layers[-1].bias
        ls, lo = report.logits_scaled, report.logits_original
        assert ls is not None and lo is not None  # an exact network's report has exact logits; only interval ones lack them
        for c, idx in (("i", 0), ("j", 1)):
            v[f"ls_{c}"] = ls[idx]
            v[f"lo_{c}"] = lo[idx]
            v[f"b_{c}"] = bias[idx]
            v[f"a_{c}"] = lo[idx] - bias[idx]
    return v


def replay(lemma: Lemma, point: dict[str, Fraction]) -> Witness | None:
    """Lift ``point``, evaluate the network exactly, and keep it only if it really violates the lemma."""
    if any(point.get(n) is None for n in lemma.variables):
        return None
    net, x, tau = lift(lemma.space, point)
    report = check_configuration(net, x, tau)
    env = env_from_network(lemma.space, net, report)
    if lemma.premise(env) is True and lemma.conclusion(env) is False:
        return Witness(net, x, tau, report, dict(point))
    return None


def _solver(timeout_ms: int, ctx: z3.Context) -> z3.Solver:
    # a fresh context per query: the answer (and a model) then does not depend on which queries ran before
    s = z3.Solver(ctx=ctx)
    s.set("timeout", int(timeout_ms))
    return s


def decide_lemma(lemma: Lemma, timeout_ms: int = 10_000) -> Decision:
    """Decide one lemma; see the module docstring for what each verdict guarantees."""
    t0 = time.perf_counter()
    ctx = z3.Context()
    v, _ = _z3_env(lemma, ctx)
    solver = _solver(timeout_ms, ctx)
    solver.add(lemma.premise(v))
    r = solver.check()
    if r == z3.unsat:
        return Decision("vacuous", time.perf_counter() - t0, "premise unsatisfiable")
    if r == z3.unknown:
        return Decision("unknown", time.perf_counter() - t0, f"premise: z3 unknown ({solver.reason_unknown()})")
    solver.add(NOT(lemma.conclusion(v)))
    if lemma.prefer is not None:
        solver.push()
        solver.add(lemma.prefer(v))
        if solver.check() == z3.sat:
            return _refute(lemma, solver.model(), v, t0, solver)
        solver.pop()
    r = solver.check()
    if r == z3.unsat:
        return Decision("proved", time.perf_counter() - t0, "negation unsat")
    if r == z3.unknown:
        return Decision("unknown", time.perf_counter() - t0, f"z3 unknown ({solver.reason_unknown()})")
    return _refute(lemma, solver.model(), v, t0, solver)


#: values tried, in order, when simplifying a counterexample (readable witnesses; each try is one cheap query)
SIMPLE_VALUES = tuple(Fraction(q) for q in ("0", "1", "-1", "2", "-2", "3", "-3", "1/2", "-1/2", "3/2", "4", "-4"))


def _simplify(solver: z3.Solver, v: Env, names: tuple[str, ...]) -> z3.ModelRef:
    """Greedily pin each variable to the first small value that keeps the counterexample query satisfiable."""
    for n in names:
        for q in SIMPLE_VALUES:
            solver.push()
            solver.add(v[n] == z3.RealVal(f"{q.numerator}/{q.denominator}", v[n].ctx))
            if solver.check() == z3.sat:
                break
            solver.pop()
    if solver.check() != z3.sat:  # pragma: no cover - every push kept was satisfiable
        raise RuntimeError("simplified counterexample query became unsatisfiable")
    return solver.model()


def _refute(lemma: Lemma, model: z3.ModelRef, v: Env, t0: float, solver: z3.Solver | None = None) -> Decision:
    if solver is not None:
        model = _simplify(solver, v, lemma.variables)
    point = {n: to_fraction(model.eval(v[n], model_completion=True)) for n in lemma.variables}
    if lemma.space not in ("pair", "head"):
        return Decision("unknown", time.perf_counter() - t0, f"counterexample {point} has no network lift")
    w = replay(lemma, point)  # type: ignore[arg-type]
    if w is None:
        return Decision("unknown", time.perf_counter() - t0, f"z3 model {point} did not replay exactly on a network")
    return Decision("refuted", time.perf_counter() - t0, "exact witness replayed", w)


def decide_all(lemmas: list[Lemma], timeout_ms: int = 10_000) -> Decision:
    """Several lemmas that together make one claim: proved iff all are proved; else the first non-proved."""
    total = 0.0
    for lem in lemmas:
        d = decide_lemma(lem, timeout_ms)
        total += d.seconds
        if d.verdict != "proved":
            d.seconds = total
            return d
    return Decision("proved", total, f"{len(lemmas)} lemma(s), each negation unsat")


def satisfiable(
    variables: tuple[str, ...], constraint: Callable[[Env], Any], space: str = "pair", timeout_ms: int = 10_000
) -> tuple[str, dict[str, Fraction] | None]:
    """``sat``/``unsat``/``unknown`` of a constraint, with an exact model point when sat."""
    ctx = z3.Context()
    v: Env = _derive(space, {n: z3.Real(n, ctx) for n in variables})
    solver = _solver(timeout_ms, ctx)
    solver.add(constraint(v))
    r = solver.check()
    if r != z3.sat:
        return str(r), None
    m = solver.model()
    return "sat", {n: to_fraction(m.eval(v[n], model_completion=True)) for n in variables}  # type: ignore[misc]

"""Two readings of the slides' Fig. 3a step "if plane η′ is below plane η, the point is also above plane η′".

Both readings take "the point is above plane η" as the slides use it, y1 > y2 (η > 0), and conclude
y1′ > y2′ (η′ > 0); they differ in what "plane η′ below plane η" means for the parallel planes d·X = 1/τ (η = 0)
and d·X = 1 (η′ = 0) in the hidden space X (Eqs. 7 and 9, B < 0, d = −k/B):

* **along d** — η′'s offset along the unit normal d/‖d‖ is smaller than η's: 1/‖d‖ < 1/(τ‖d‖). For τ > 1
  this never happens, so the step is *vacuous* (decided by :func:`fcc_theory.lemmas.p7_lemma`);
* **fixed axis** — along the fixed coordinate axis X_3 (the vertical axis of a 3-D plot), η′'s plane lies below
  η's at every (X_1, X_2): (1 − d_1X_1 − d_2X_2)/d_3 < (1/τ − d_1X_1 − d_2X_2)/d_3, i.e. (1 − 1/τ)/d_3 < 0. This
  is realizable for τ > 1 (d_3 < 0), and the step is *refuted*: Z3 finds (s, B, τ, k_3), the point is lifted to
  the 3-3-2 network W = I, b = (B, 0, 0), N = [[1, 0, k_3], [0, 0, 0]], z = 0, x = (s, 0, 0), and the premise
  and the failed conclusion are re-checked exactly on that network's own weights and margins.

>>> fixed_axis_reading()["verdict"]
'refuted'
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Any

import z3

from fcc_theory.decide import Witness, _simplify, to_fraction
from fcc_theory.margins import CheckReport, check_configuration
from fcc_theory.network import Network

__all__ = ["axis_network", "fixed_axis_reading", "fixed_axis_violated"]

AXIS = 2  # X_3, indices from 0


def axis_network(s: Fraction, B: Fraction, k3: Fraction) -> tuple[Network, tuple[Fraction, ...]]:
    """The 3-3-2 linear network with pair margin s, B and k_3 = k3 (X = x since W = I)."""
    net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, k3], [0, 0, 0]]], [[B, 0, 0], [0, 0]])
    return net, (s, Fraction(0), Fraction(0))


def fixed_axis_violated(net: Network, x: tuple[Fraction, ...], tau: Fraction) -> CheckReport | None:
    """The exact report when (net, x, τ) satisfies the fixed-axis premise and η′ ≤ 0; else None.

    k and B are read off the network (k_j = n_1j − n_2j of its output layer, B its margin at x = 0).
    """
    if len(net.layers) != 2 or not net.is_affine or net.layers[0].n_out != 3 or net.n_classes != 2:
        return None
    rep = check_configuration(net, x, tau)
    p = rep.pair(0, 1)
    N = net.layers[1].weight
    k3 = N[0][AXIS] - N[1][AXIS]
    if p.B is None or p.eta is None or p.eta_prime is None or p.B == 0 or k3 == 0 or not tau > 1:
        return None
    d3 = -k3 / p.B
    etap_below_eta_along_axis = 1 / d3 < (1 / tau) / d3  # the planes' X_3 coordinates at the same (X_1, X_2)
    if p.B < 0 and p.eta > 0 and etap_below_eta_along_axis and not p.eta_prime > 0:
        return rep
    return None


def fixed_axis_reading(timeout_ms: int = 10_000) -> dict[str, Any]:
    """Decide the Fig. 3a step under the fixed-axis reading; a counterexample is replayed exactly."""
    t0 = time.perf_counter()
    ctx = z3.Context()
    v = {n: z3.Real(n, ctx) for n in ("s", "B", "tau", "k3")}
    s, B, tau, k3 = v["s"], v["B"], v["tau"], v["k3"]
    d3 = -k3 / B
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", int(timeout_ms))
    premise = z3.And(tau > 1, B < 0, k3 != 0, tau * s + B > 0, 1 / d3 < (1 / tau) / d3)
    solver.add(premise, z3.Not(s + B > 0))
    solver.push()
    solver.add(s + B < 0)  # a strict misclassification first (η′ < 0), a tie only if none exists
    r = solver.check()
    if r != z3.sat:
        solver.pop()
        r = solver.check()
    reading = "fixed axis X_3"
    if r == z3.unsat:
        return {"reading": reading, "verdict": "proved", "detail": "negation unsat", "seconds": time.perf_counter() - t0}
    if r != z3.sat:
        return {"reading": reading, "verdict": "unknown", "detail": f"z3 {r}", "seconds": time.perf_counter() - t0}
    m = _simplify(solver, v, ("s", "B", "tau", "k3"))
    pt = {n: to_fraction(m.eval(v[n], model_completion=True)) for n in v}
    net, x = axis_network(pt["s"], pt["B"], pt["k3"])  # type: ignore[arg-type]
    rep = fixed_axis_violated(net, x, pt["tau"])  # type: ignore[arg-type]
    secs = time.perf_counter() - t0
    if rep is None:
        return {"reading": reading, "verdict": "unknown", "detail": "z3 model did not replay exactly", "seconds": secs}
    w = Witness(net, x, pt["tau"], rep, pt)  # type: ignore[arg-type]
    d3v = -pt["k3"] / pt["B"]  # type: ignore[operator]
    return {
        "reading": reading,
        "verdict": "refuted",
        "detail": f"η′ below η along X_3 (d_3 = {d3v}), point above η (η > 0), yet η′ ≤ 0; replayed exactly",
        "seconds": secs,
        "witness": w.to_json(),
    }

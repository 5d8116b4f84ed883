"""Claims about nonlinear hidden layers (theory.md §1.5(b)): ReLU with and without biases, tanh without biases.

* ``relu_no_bias`` — proved by homogeneity: Z3 proves φ(τu) = τφ(u) for τ > 0 (ReLU and leaky ReLU), SymPy
  proves that a bias-free layer stack then gives o(τx) = τ·o(x), and Z3 proves that η = τη′ with τ > 0
  keeps the sign of every pairwise margin, hence the argmax (ties included).
* ``relu_hidden_bias`` — Z3 searches the reduced piecewise-linear form η(τ) = Σ_j k_j·relu(τX_j + b_j)
  (output bias 0); the model is lifted to a 3-3-2 ReLU network and re-evaluated exactly.
* ``tanh_no_bias`` — a small grid search (floats, for speed only) over two-unit tanh networks without
  biases; every candidate is certified with mpmath interval arithmetic (:meth:`Network.forward_interval`
  via :func:`check_configuration`) before it counts.
"""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction
from typing import Any

import sympy as sp
import z3

from fcc_theory.decide import AND, Decision, Env, Lemma, Witness, decide_all, sign_agree, to_fraction
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

__all__ = ["decide_relu_no_bias", "decide_relu_hidden_bias", "decide_tanh_no_bias", "relu_target_fails"]

LEAKY = Fraction(1, 100)


def _relu(t: Any) -> Any:
    return z3.If(t > 0, t, 0) if isinstance(t, z3.ExprRef) else max(t, 0)


def _leaky(t: Any) -> Any:
    return z3.If(t > 0, t, LEAKY * t) if isinstance(t, z3.ExprRef) else (t if t > 0 else LEAKY * t)


def decide_relu_no_bias(timeout_ms: int = 10_000) -> Decision:
    t0 = time.perf_counter()
    homogeneous = Lemma(
        ("u", "tau"),
        lambda v: v["tau"] > 0,
        lambda v: AND(
            _relu(v["tau"] * v["u"]) == v["tau"] * _relu(v["u"]), _leaky(v["tau"] * v["u"]) == v["tau"] * _leaky(v["u"])
        ),
        "plane",
    )
    scaled_margin = Lemma(
        ("eta", "eta_p", "tau"),
        lambda v: AND(v["tau"] > 0, v["eta"] == v["tau"] * v["eta_p"]),
        lambda v: sign_agree(v["eta"], v["eta_p"]),
        "plane",
    )
    d = decide_all([homogeneous, scaled_margin], timeout_ms)
    # the structural step: a bias-free linear layer commutes with τ; with φ(τh) = τφ(h) so does the stack
    tau = sp.Symbol("tau", positive=True)
    W = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"w_{i}{j}"))
    N = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"n_{i}{j}"))
    x = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"x_{i}"))
    h = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"h_{i}"))  # h_j = φ(X_j)
    layer_ok = sp.expand(W * (tau * x) - tau * (W * x)) == sp.zeros(3, 1)
    out_ok = sp.expand(N * (tau * h) - tau * (N * h)) == sp.zeros(2, 1)
    secs = time.perf_counter() - t0
    if d.verdict == "proved" and layer_ok and out_ok:
        return Decision(
            "proved",
            secs,
            "relu(τu)=τ·relu(u) and leaky likewise (z3); bias-free layers commute with τ (SymPy); "
            "η = τη′, τ > 0 ⇒ same sign (z3)",
        )
    return Decision("unknown" if d.verdict == "proved" else d.verdict, secs, f"homogeneity step failed: {d.detail}")


def relu_target_fails(net: Network, x: tuple[Fraction, ...], tau: Fraction) -> bool:
    """Exact re-check on the network: τ > 1, y1 > y2 at τx, but not y1′ > y2′ at x."""
    rep = check_configuration(net, x, tau)
    p = rep.pair(0, 1)
    return tau > 1 and p.eta > 0 and not p.eta_prime > 0


def decide_relu_hidden_bias(timeout_ms: int = 10_000) -> Decision:
    t0 = time.perf_counter()
    ctx = z3.Context()  # fresh, so that the model does not depend on earlier queries
    X = [z3.Real(f"X_{j}", ctx) for j in range(3)]
    b = [z3.Real(f"b_{j}", ctx) for j in range(3)]
    k = [z3.Real(f"k_{j}", ctx) for j in range(3)]
    tau = z3.Real("tau", ctx)
    eta = sum(k[j] * _relu(tau * X[j] + b[j]) for j in range(3))
    eta_p = sum(k[j] * _relu(X[j] + b[j]) for j in range(3))
    solver = z3.Solver(ctx=ctx)
    solver.set("timeout", int(timeout_ms))
    solver.add(tau > 1, eta > 0)
    solver.push()
    solver.add(eta_p < 0)  # a strict counterexample first; a tie (η′ = 0) only if none exists
    r = solver.check()
    if r != z3.sat:
        solver.pop()
        solver.add(z3.Not(eta_p > 0))
        r = solver.check()
    if r != z3.sat:
        return Decision("proved" if r == z3.unsat else "unknown", time.perf_counter() - t0, f"piecewise query: {r}")
    m = solver.model()
    val = lambda e: to_fraction(m.eval(e, model_completion=True))  # noqa: E731
    Xs, bs, ks, t = [val(e) for e in X], [val(e) for e in b], [val(e) for e in k], val(tau)
    net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [ks, [0, 0, 0]]], [bs, [0, 0]], activation="relu")
    xs = tuple(Xs)
    if not relu_target_fails(net, xs, t):
        return Decision("unknown", time.perf_counter() - t0, "z3 model did not replay exactly")
    point = {
        **{f"X_{j}": Xs[j] for j in range(3)},
        **{f"b_{j}": bs[j] for j in range(3)},
        **{f"k_{j}": ks[j] for j in range(3)},
        "tau": t,
    }
    w = Witness(net, xs, t, check_configuration(net, xs, t), point)
    return Decision("refuted", time.perf_counter() - t0, "z3 on the piecewise form; replayed exactly", w)


def _tanh_candidates() -> Any:
    # y1 = tanh(τ·p·x1), y2 = a·tanh(τ·q·x1) with x = (1, 0, 0): small rationals, simplest first
    small = sorted(
        {Fraction(n, d) for n in range(1, 5) for d in (1, 2, 3, 4, 5, 10)}, key=lambda f: (f.numerator + f.denominator, f)
    )
    taus = [Fraction(t) for t in (2, 3, 4, 5, 10)]
    for total in range(2, 40):
        for p, q, a in itertools.product(small, small, small):
            if p.numerator + p.denominator + q.numerator + q.denominator + a.numerator + a.denominator != total:
                continue
            for tau in taus:
                yield p, q, a, tau


def decide_tanh_no_bias(max_candidates: int = 200_000) -> Decision:
    t0 = time.perf_counter()
    tries = 0
    for p, q, a, tau in _tanh_candidates():
        tries += 1
        if tries > max_candidates:
            break
        fp, fq, fa, ft = float(p), float(q), float(a), float(tau)
        # float screen only; the decision is the certified interval check below
        if not (math.tanh(ft * fp) - fa * math.tanh(ft * fq) > 1e-3 and math.tanh(fp) - fa * math.tanh(fq) < -1e-3):
            continue
        net = Network.from_matrices(
            [[[p, 0, 0], [q, 0, 0], [0, 0, 0]], [[1, 0, 0], [0, a, 0]]], [[0, 0, 0], [0, 0]], activation="tanh"
        )
        x = (Fraction(1), Fraction(0), Fraction(0))
        rep = check_configuration(net, x, tau)
        pair = rep.pair(0, 1)
        lo_eta = pair.eta_interval[0]  # type: ignore[index]
        hi_eta_p = pair.eta_prime_interval[1]  # type: ignore[index]
        if rep.certified and lo_eta > 0 and hi_eta_p < 0:
            point: Env = {"p": p, "q": q, "a": a, "tau": tau}
            return Decision(
                "refuted",
                time.perf_counter() - t0,
                f"grid search ({tries} candidates), certified by interval arithmetic: η ≥ {float(lo_eta):.6g} > 0, "
                f"η′ ≤ {float(hi_eta_p):.6g} < 0",
                Witness(net, x, tau, rep, point),
            )
    return Decision("unknown", time.perf_counter() - t0, f"no certified witness among {tries} candidates")

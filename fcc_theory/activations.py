"""Claims about nonlinear hidden layers: ReLU with and without biases, tanh without biases.

* ``relu_no_bias`` — proved by homogeneity, for the leaky ReLU φ_α with the slope α ≥ 0 a variable (α = 0 is
  ReLU): Z3 proves φ_α(τu) = τφ_α(u) for τ > 0, SymPy proves that bias-free linear layers commute with τ, and
  Z3 proves that the output layer, its biases encoded and set to 0, keeps every comparison y_0 > y_1 and
  y_0 = y_1 when the hidden values are scaled by τ > 0 (hence the argmax, ties included). The induction
  over any depth and widths is the Coq proof ``HomogeneousNetwork.v`` that ``fcc verify --certify`` writes.
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

from fcc_theory.decide import AND, Decision, Env, Lemma, Witness, decide_all, to_fraction
from fcc_theory.margins import check_configuration
from fcc_theory.network import Network

__all__ = [
    "bias_free_layer_identity",
    "decide_relu_hidden_bias",
    "decide_relu_no_bias",
    "decide_tanh_no_bias",
    "leaky",
    "relu_no_bias_lemmas",
    "relu_target_fails",
]


def _relu(t: Any) -> Any:
    return z3.If(t > 0, t, 0) if isinstance(t, z3.ExprRef) else max(t, 0)


def leaky(t: Any, alpha: Any) -> Any:
    """The leaky ReLU with slope ``alpha`` for t ≤ 0 (``alpha = 0``: ReLU), on Z3 terms or exact numbers.

    >>> leaky(Fraction(-2), Fraction(1, 100)), leaky(3, 0), leaky(-3, 0)
    (Fraction(-1, 50), 3, 0)
    """
    return z3.If(t > 0, t, alpha * t) if isinstance(t, z3.ExprRef) else (t if t > 0 else alpha * t)


#: the 3-3-2 shape of the output-layer lemma (any widths and depth: the Coq induction)
HIDDEN, OUTPUTS = 3, 2


def _bias_free_outputs(v: Env, hidden: list[Any]) -> list[Any]:
    # the output layer y_o = Σ_j n_oj h_j + z_o, its bias z_o a variable that the premise sets to 0
    return [sum(v[f"n_{o}{j}"] * hidden[j] for j in range(HIDDEN)) + v[f"z_{o}"] for o in range(OUTPUTS)]


def relu_no_bias_lemmas() -> dict[str, Lemma]:
    """The two SMT lemmas of ``relu_no_bias`` (slope α a variable, α = 0 plain ReLU; no output bias encoded).

    * ``leaky_homogeneous``: τ > 0, α ≥ 0 ⇒ φ_α(τu) = τ·φ_α(u) — with the bias-free linear step W(τx) = τWx
      (an identity) every hidden unit at τx is τ times its value at x;
    * ``output_no_bias``: τ > 0, output biases z_0 = z_1 = 0, hidden values τh at τx and h at x ⇒
      y_0 > y_1 and y_0 = y_1 are the same at τx and at x (the argmax, ties included).
    """
    hp = [f"h_{j}" for j in range(HIDDEN)]
    out_vars = (*hp, *(f"n_{o}{j}" for o in range(OUTPUTS) for j in range(HIDDEN)), "z_0", "z_1", "tau")

    def same_order(v: Env) -> Any:
        ys = _bias_free_outputs(v, [v["tau"] * v[h] for h in hp])
        yo = _bias_free_outputs(v, [v[h] for h in hp])
        return AND((ys[0] > ys[1]) == (yo[0] > yo[1]), (ys[0] == ys[1]) == (yo[0] == yo[1]))

    return {
        "leaky_homogeneous": Lemma(
            ("u", "tau", "alpha"),
            lambda v: AND(v["tau"] > 0, v["alpha"] >= 0),
            lambda v: leaky(v["tau"] * v["u"], v["alpha"]) == v["tau"] * leaky(v["u"], v["alpha"]),
            "plane",
        ),
        "output_no_bias": Lemma(out_vars, lambda v: AND(v["tau"] > 0, v["z_0"] == 0, v["z_1"] == 0), same_order, "plane"),
    }


def bias_free_layer_identity() -> tuple[list[sp.Expr], list[sp.Expr], list[sp.Symbol]]:
    """W(τx) = τ(Wx) for the 3×3 hidden layer and N(τh) = τ(Nh) for the 2×3 output layer (no biases)."""
    tau = sp.Symbol("tau", real=True)
    W = sp.Matrix(3, 3, lambda i, j: sp.Symbol(f"w_{i}{j}", real=True))
    N = sp.Matrix(2, 3, lambda i, j: sp.Symbol(f"n_{i}{j}", real=True))
    x = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"x_{i}", real=True))
    h = sp.Matrix(3, 1, lambda i, _: sp.Symbol(f"h_{i}", real=True))
    lhs = list(W * (tau * x)) + list(N * (tau * h))
    rhs = list(tau * (W * x)) + list(tau * (N * h))
    return lhs, rhs, [*W, *N, *x, *h, tau]


def decide_relu_no_bias(timeout_ms: int = 10_000) -> Decision:
    t0 = time.perf_counter()
    d = decide_all(list(relu_no_bias_lemmas().values()), timeout_ms)
    lhs, rhs, _ = bias_free_layer_identity()
    layers_ok = all(sp.expand(a - b) == 0 for a, b in zip(lhs, rhs, strict=True))
    secs = time.perf_counter() - t0
    if d.verdict == "proved" and layers_ok:
        return Decision(
            "proved",
            secs,
            "φ_α(τu) = τφ_α(u) for every slope α ≥ 0 (z3; α = 0 is ReLU); bias-free layers commute with τ (SymPy); "
            "output layer with its bias set to 0 keeps y_0 > y_1 and y_0 = y_1 (z3); any depth: Coq induction",
        )
    if d.verdict == "proved":
        return Decision("unknown", secs, "a bias-free layer did not commute with τ symbolically")
    return Decision("unknown" if d.verdict == "refuted" else d.verdict, secs, f"homogeneity step failed: {d.detail}")


def relu_target_fails(net: Network, x: tuple[Fraction, ...], tau: Fraction) -> bool:
    """Exact re-check on the network: τ > 1, y1 > y2 at τx, but not y1′ > y2′ at x."""
    rep = check_configuration(net, x, tau)
    p = rep.pair(0, 1)
    if p.eta is None or p.eta_prime is None:  # an interval-only evaluation is no exact re-check
        return False
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

    def val(e: Any) -> Fraction:
        q = to_fraction(m.eval(e, model_completion=True))
        return Fraction(0) if q is None else q  # a non-numeral cannot occur with model completion; replay re-checks

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

"""Tight hypotheses of ``relu_no_bias`` (argmax at τx = argmax at x for bias-free ReLU / leaky-ReLU networks, τ > 0).

Its hypotheses are structural (the activation, the biases, the sign of τ), so each is dropped by an exact
search: small networks that keep every *other* hypothesis are enumerated (simplest first) and evaluated with
:func:`fcc_theory.margins.check_configuration` in exact rationals; the first whose argmax at τx differs from the
argmax at x is the witness. A dropped activation hypothesis is witnessed by the certified tanh search of
:func:`fcc_theory.activations.decide_tanh_no_bias` (interval bounds, never floats). Every witness is re-checked
by :func:`violates` before it is reported; a search that finds nothing is ``unknown`` (a search cannot prove).

>>> [(r.name, r.status) for r in analyse_relu_no_bias()]  # doctest: +NORMALIZE_WHITESPACE
[('ReLU / leaky ReLU activation', 'necessary'), ('no hidden biases', 'necessary'), ('no output bias', 'necessary'),
 ('τ > 0', 'necessary')]
"""

from __future__ import annotations

import itertools
from fractions import Fraction

from fcc_theory.decide import Witness
from fcc_theory.hypotheses import HypothesisResult
from fcc_theory.margins import CheckReport, check_configuration
from fcc_theory.network import Network

__all__ = ["RELU_HYPOTHESES", "analyse_relu_no_bias", "violates"]

RELU_HYPOTHESES = ("ReLU / leaky ReLU activation", "no hidden biases", "no output bias", "τ > 0")
SMALL = (0, 1, -1)


def _holds(name: str, net: Network, tau: Fraction) -> bool:
    if name == RELU_HYPOTHESES[0]:
        return net.activation in ("relu", "leaky_relu")
    if name == RELU_HYPOTHESES[1]:
        return all(b == 0 for layer in net.layers[:-1] for b in layer.bias)
    if name == RELU_HYPOTHESES[2]:
        return all(b == 0 for b in net.layers[-1].bias)
    return tau > 0


def violates(dropped: str, net: Network, x: tuple[Fraction, ...], tau: Fraction) -> CheckReport | None:
    """The exact report when (net, x, τ) keeps every hypothesis but ``dropped`` and the argmax changes; else None."""
    if not all(_holds(h, net, tau) for h in RELU_HYPOTHESES if h != dropped):
        return None
    rep = check_configuration(net, x, tau)
    if not rep.certified or rep.class_scaled == rep.class_original:
        return None
    return rep


def _relu_logits_times_q(w: tuple, n: tuple, b: tuple, z: tuple, x: int, p: int, q: int) -> tuple[int, int]:
    """q·logits of the 1-2-2 ReLU net at (p/q)·x, in integers (q > 0 and relu(q·u) = q·relu(u) keep it exact)."""
    h = [max(p * w[i] * x + q * b[i], 0) for i in range(2)]
    return n[0] * h[0] + n[1] * h[1] + q * z[0], n[2] * h[0] + n[3] * h[1] + q * z[1]


def _strict_flip(w: tuple, n: tuple, b: tuple, z: tuple, x: int, tau: Fraction) -> bool:
    """A fast exact screen (the same ReLU map in integers); a hit is re-evaluated by :func:`violates`."""
    ys = _relu_logits_times_q(w, n, b, z, x, tau.numerator, tau.denominator)
    yo = _relu_logits_times_q(w, n, b, z, x, 1, 1)
    return ys[0] != ys[1] and yo[0] != yo[1] and (ys[0] > ys[1]) != (yo[0] > yo[1])


def _search(dropped: str) -> HypothesisResult:
    """1-2-2 ReLU networks with entries in {0, 1, −1}; biases only where that hypothesis is dropped."""
    hidden_b = SMALL if dropped == RELU_HYPOTHESES[1] else (0,)
    out_b = SMALL if dropped == RELU_HYPOTHESES[2] else (0,)
    taus = (Fraction(-1), Fraction(0)) if dropped == RELU_HYPOTHESES[3] else (Fraction(2), Fraction(1, 2))
    tries = 0
    # the dropped quantity varies outermost and is never all zero (all-zero is the proved bias-free case)
    dropped_bias = lambda v: dropped not in RELU_HYPOTHESES[1:3] or any(v)
    grid = itertools.product(
        [b for b in itertools.product(hidden_b, repeat=2) if hidden_b == SMALL[:1] or dropped_bias(b)],
        [z for z in itertools.product(out_b, repeat=2) if out_b == SMALL[:1] or dropped_bias(z)],
        itertools.product(SMALL, repeat=2),
        itertools.product(SMALL, repeat=4),
        (1, -1),
        taus,
    )
    for b, z, w, n, x0, tau in grid:
        tries += 1
        if not _strict_flip(w, n, b, z, x0, tau):
            continue
        net = Network.from_matrices([[[w[0]], [w[1]]], [[n[0], n[1]], [n[2], n[3]]]], [list(b), list(z)], activation="relu")
        x = (Fraction(x0),)
        rep = violates(dropped, net, x, tau)
        if rep is not None:
            return HypothesisResult(
                dropped,
                "necessary",
                f"exact search ({tries} candidates): argmax {rep.class_scaled} at τx, {rep.class_original} at x",
                Witness(net, x, tau, rep, {"tau": tau}),
            )
    return HypothesisResult(dropped, "unknown", f"no witness among {tries} candidates (a search cannot prove)")


def analyse_relu_no_bias() -> list[HypothesisResult]:
    """Drop each hypothesis of ``relu_no_bias`` in turn (see the module docstring)."""
    from fcc_theory.activations import decide_tanh_no_bias

    out = []
    d = decide_tanh_no_bias()
    act = RELU_HYPOTHESES[0]
    if d.verdict == "refuted" and d.witness is not None and violates(act, d.witness.network, d.witness.x, d.witness.tau):
        out.append(HypothesisResult(act, "necessary", f"tanh without biases: {d.detail}", d.witness))
    else:
        out.append(HypothesisResult(act, "unknown", f"no certified tanh witness ({d.detail})"))
    out.extend(_search(h) for h in RELU_HYPOTHESES[1:])
    return out

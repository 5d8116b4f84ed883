"""One exact, checkable property per claim id of ``fcc verify``.

A property is a statement "premise ⇒ conclusion" about one configuration (network, x, τ). ``check``
evaluates it in exact rationals and returns whether the premise was met and whether the statement held;
a configuration where it does not hold is a counterexample. Nothing here knows whether a claim is a
theorem: that is what the search (and ``fcc verify``) finds out.

Conventions: η is the margin y_1 − y_2 (classes 0 and 1) at τx, η′ the margin at x, B the margin at
x = 0 and s = η′ − B (paper Eqs. 6 and 8; for an affine network of any depth). ``strict`` excludes ties
from counterexamples ("η > 0 > η′" rather than "η′ ≤ 0"), so a minimal counterexample is informative.
Identities (eq5 … key_identity) are checked numerically-exactly on each instance against the paper's
formulas written from the weights, independently of :meth:`Network.forward`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Callable

from fcc_theory.margins import argmax_or_none, argmax_set, check_configuration
from fcc_theory.network import Layer, Network
from fcc_theory.tau import STRATEGIES, tau_values

__all__ = ["PROPERTIES", "PROPERTY_IDS", "Config", "Outcome", "Property", "get_property", "pair_values", "sign"]

F0 = Fraction(0)


@dataclass(frozen=True)
class Config:
    """One configuration: a network, an input x, a scale τ, and (FCC's setting) where τ came from."""

    net: Network
    x: tuple[Fraction, ...]
    tau: Fraction
    #: e.g. {"strategy": "edc", "gamma": "1/2", "num_classes": 4, "label": 1} when τ = τ_y from Eqs. 2-4
    tau_source: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    premise: bool
    holds: bool


@dataclass(frozen=True)
class Property:
    """A claim as a property of one configuration (see the module docstring)."""

    id: str
    statement: str
    #: "pair" (affine net, classes 0/1), "paper" (2-layer linear net, the paper's symbols), "head"
    #: (one linear layer, C classes, FCC's per-class τ), "relu", "tanh"
    kind: str
    tau_domain: str
    activations: tuple[str, ...]
    default_widths: tuple[int, ...]
    #: "all" (every layer), "none", "hidden" (hidden layers only, output bias 0)
    biases: str
    check: Callable[[Config, bool], Outcome]
    #: transforms a drawn configuration so that the premise can hold (e.g. B = 0 for b_zero)
    adjust: Callable[[Config], Config] | None = None


def sign(v: Fraction) -> int:
    return (v > 0) - (v < 0)


def _margin(v: tuple[Fraction, ...]) -> Fraction:
    return v[0] - v[1]


def fast_forward(net: Network, x: tuple[Fraction, ...], tau: Fraction | int = 1) -> tuple[Fraction, ...]:
    """Exact logits of τx for linear / ReLU / leaky-ReLU networks, skipping zero products (the search's hot loop;
    same values as :meth:`Network.forward`, which the identity properties use as their reference)."""
    h = tuple(tau * v for v in x) if tau != 1 else x
    last = len(net.layers) - 1
    for k, layer in enumerate(net.layers):
        h = tuple(
            sum((w * v for w, v in zip(row, h, strict=True) if w and v), b)
            for row, b in zip(layer.weight, layer.bias, strict=True)
        )
        if k < last and net.activation != "linear":
            slope = F0 if net.activation == "relu" else net.leaky_slope
            h = tuple(v if v > 0 else slope * v for v in h)
    return h


def pair_values(cfg: Config) -> tuple[Fraction, Fraction, Fraction, Fraction]:
    """(η, η′, s, B) of classes 0/1 of an affine network, exactly: B = margin at 0, s = η′ − B."""
    net, x, tau = cfg.net, cfg.x, cfg.tau
    eta = _margin(fast_forward(net, x, tau))
    eta_p = _margin(fast_forward(net, x))
    B = _margin(fast_forward(net, (F0,) * len(x)))
    return eta, eta_p, eta_p - B, B


# ---------------------------------------------------------------------------- the paper's 3-3-2 symbols
def _paper_symbols(cfg: Config) -> tuple[list[Fraction], list[Fraction], Fraction]:
    """X_j = Σ_i w_ji x_i, k_j = n_1j − n_2j and B = Σ_j k_j b_j + z_1 − z_2, written from the weights."""
    W, N = cfg.net.layers
    X = [sum((w * v for w, v in zip(row, cfg.x, strict=True)), F0) for row in W.weight]
    k = [a - b for a, b in zip(N.weight[0], N.weight[1], strict=True)]
    B = sum((kj * bj for kj, bj in zip(k, W.bias, strict=True)), F0) + N.bias[0] - N.bias[1]
    return X, k, B


def _dot(a: list[Fraction], b: list[Fraction]) -> Fraction:
    return sum((u * v for u, v in zip(a, b, strict=True)), F0)


def _eq5(cfg: Config, strict: bool) -> Outcome:
    W, N = cfg.net.layers
    X, _, _ = _paper_symbols(cfg)
    y = cfg.net.forward(cfg.x, cfg.tau)
    formula = [
        sum((n * (cfg.tau * Xj + bj) for n, Xj, bj in zip(N.weight[i], X, W.bias, strict=True)), F0) + N.bias[i]
        for i in range(len(y))
    ]
    return Outcome(True, list(y) == formula)


def _eq6(cfg: Config, strict: bool) -> Outcome:
    X, k, B = _paper_symbols(cfg)
    eta = _margin(cfg.net.forward(cfg.x, cfg.tau))
    return Outcome(True, eta == cfg.tau * _dot(k, X) + B)


def _eq8(cfg: Config, strict: bool) -> Outcome:
    X, k, B = _paper_symbols(cfg)
    return Outcome(True, _margin(cfg.net.forward(cfg.x)) == _dot(k, X) + B)


def _eq7(cfg: Config, strict: bool) -> Outcome:
    X, k, B = _paper_symbols(cfg)
    if B == 0:  # d = −k/B is undefined: the premise B ≠ 0 fails
        return Outcome(False, True)
    dX = _dot([-kj / B for kj in k], X)
    eta = _margin(cfg.net.forward(cfg.x, cfg.tau))
    split = (cfg.tau * dX > 1) if B < 0 else (cfg.tau * dX < 1)  # the slides' case split for η > 0
    return Outcome(True, eta == -B * (cfg.tau * dX - 1) and (eta > 0) == split)


def _eq9(cfg: Config, strict: bool) -> Outcome:
    X, k, B = _paper_symbols(cfg)
    if B == 0:
        return Outcome(False, True)
    dX = _dot([-kj / B for kj in k], X)
    eta_p = _margin(cfg.net.forward(cfg.x))
    return Outcome(True, eta_p == -B * (dX - 1) and (eta_p == 0) == (dX == 1))


def _key_identity(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, _, B = pair_values(cfg)
    return Outcome(True, eta - cfg.tau * eta_p == (1 - cfg.tau) * B)


# ----------------------------------------------------------------------------------- sign claims
def _lost(eta_p: Fraction, strict: bool) -> bool:
    """The original feature is not classified like the scaled one (strict: strictly the other class)."""
    return eta_p < 0 if strict else eta_p <= 0


def _target(b_ok: Callable[[Fraction], bool]) -> Callable[[Config, bool], Outcome]:
    def check(cfg: Config, strict: bool) -> Outcome:
        eta, eta_p, _, B = pair_values(cfg)
        premise = cfg.tau > 1 and eta > 0 and b_ok(B)
        return Outcome(premise, not (premise and _lost(eta_p, strict)))

    return check


def target_variant(b_ok: Callable[[Fraction], bool], name: str, statement: str) -> Property:
    """The target claim restricted by a condition on B (used to build deliberately wrong variants in tests)."""
    return replace(PROPERTIES["target"], id=name, statement=statement, check=_target(b_ok))


def _converse_b_pos(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, _, B = pair_values(cfg)
    premise = cfg.tau > 1 and B > 0 and eta_p > 0
    return Outcome(premise, not (premise and _lost(eta, strict)))


def _agree(eta: Fraction, eta_p: Fraction) -> bool:
    return sign(eta) == sign(eta_p)


def _b_zero(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, _, B = pair_values(cfg)
    premise = B == 0 and cfg.tau > 0
    return Outcome(premise, not premise or _agree(eta, eta_p))


def _force_b_zero(cfg: Config) -> Config:
    """Shift the output bias of class 0 so that B (the margin at x = 0) is exactly 0."""
    B = _margin(cfg.net.forward((F0,) * len(cfg.x)))
    last = cfg.net.layers[-1]
    bias = (last.bias[0] - B,) + last.bias[1:]
    return replace(cfg, net=replace(cfg.net, layers=cfg.net.layers[:-1] + (Layer(last.weight, bias),)))


def _failure_set(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, s, B = pair_values(cfg)
    t = cfg.tau
    lhs = eta > 0 and eta_p <= 0
    rhs = B < 0 and -B / t < s <= -B
    return Outcome(t > 1, lhs == rhs or t <= 1)


def _characterization(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, s, B = pair_values(cfg)
    t = cfg.tau
    rhs = (s < -B and t * s < -B) or (s > -B and t * s > -B) or (s == -B and t * s == -B)
    return Outcome(t > 0, t <= 0 or _agree(eta, eta_p) == rhs)


def _tau_zero(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, s, B = pair_values(cfg)
    return Outcome(cfg.tau == 0, cfg.tau != 0 or (eta == B and _agree(eta, eta_p) == (sign(B) == sign(s + B))))


def _tau_negative(cfg: Config, strict: bool) -> Outcome:
    eta, eta_p, s, B = pair_values(cfg)
    t = cfg.tau
    if t >= 0:
        return Outcome(False, True)
    lo, hi = sorted((-B, -B / t))
    rhs = lo < s < hi or (B == 0 and s == 0)
    opposite = B != 0 or s == 0 or sign(eta) == -sign(eta_p)  # B = 0, s ≠ 0 ⇒ opposite signs
    return Outcome(True, _agree(eta, eta_p) == rhs and opposite)


def _plane_order(cfg: Config, strict: bool) -> Outcome:
    """Fig. 3a's step: τ > 1, B < 0, point above η, plane η′ below plane η along d ⇒ point above η′."""
    _X, k, B = _paper_symbols(cfg)
    eta = _margin(cfg.net.forward(cfg.x, cfg.tau))
    eta_p = _margin(cfg.net.forward(cfg.x))
    if B == 0 or all(kj == 0 for kj in k):
        return Outcome(False, True)
    d2 = _dot([-kj / B for kj in k], [-kj / B for kj in k])
    # offsets of the planes from the origin along d, squared: η at 1/(τ‖d‖), η′ at 1/‖d‖
    below = 1 / d2 < 1 / (cfg.tau**2 * d2)
    premise = cfg.tau > 1 and B < 0 and eta > 0 and below
    return Outcome(premise, not (premise and _lost(eta_p, strict)))


# ----------------------------------------------------------------------------- FCC's linear head
def _head_logits(cfg: Config) -> tuple[tuple[Fraction, ...], tuple[Fraction, ...], tuple[Fraction, ...]]:
    """(τWf + b, Wf + b/τ, b) of a one-layer head, Wf written from the weights."""
    (L,) = cfg.net.layers
    Wf = [sum((w * v for w, v in zip(row, cfg.x, strict=True)), F0) for row in L.weight]
    t = cfg.tau
    return (
        tuple(t * a + b for a, b in zip(Wf, L.bias, strict=True)),
        tuple(a + b / t for a, b in zip(Wf, L.bias, strict=True)),
        L.bias,
    )


def _multiclass(cfg: Config, strict: bool) -> Outcome:
    if cfg.tau <= 0:
        return Outcome(False, True)
    scaled, rescaled, _ = _head_logits(cfg)
    return Outcome(True, argmax_set(scaled) == argmax_set(rescaled))


def _flip(cfg: Config, strict: bool) -> Outcome:
    """τ > 1, c wins at τf, c′ ≠ c at least ties with c at f (strict: beats c) ⇒ b_c′ > b_c."""
    scaled, _, b = _head_logits(cfg)
    orig = cfg.net.forward(cfg.x)
    c = argmax_or_none(scaled)
    if cfg.tau <= 1 or c is None:
        return Outcome(False, True)
    rivals = [j for j in range(len(orig)) if j != c and (orig[j] > orig[c] if strict else orig[j] >= orig[c])]
    return Outcome(bool(rivals), all(b[j] > b[c] for j in rivals))


# ------------------------------------------------------------------------------ nonlinear layers
def _class_kept(cfg: Config, strict: bool) -> Outcome:
    """c strictly wins at τx ⇒ c wins at x (strict: no class beats c at x), for any C."""
    scaled = fast_forward(cfg.net, cfg.x, cfg.tau)
    c = argmax_or_none(scaled)
    if cfg.tau <= 1 or c is None:
        return Outcome(False, True)
    orig = fast_forward(cfg.net, cfg.x)
    lost = any(orig[j] > orig[c] for j in range(len(orig)) if j != c) if strict else argmax_or_none(orig) != c
    return Outcome(True, not lost)


def _relu_no_bias(cfg: Config, strict: bool) -> Outcome:
    if cfg.tau <= 0:
        return Outcome(False, True)
    # the decision is the argmax set: {0, 1} at τx against {1, 2} at x is a change, not two equal "ties"
    return Outcome(True, argmax_set(fast_forward(cfg.net, cfg.x, cfg.tau)) == argmax_set(fast_forward(cfg.net, cfg.x)))


def _float_logits(net: Network, x: tuple[Fraction, ...], tau: Fraction) -> list[float]:
    h = [float(tau) * float(v) for v in x]
    for k, layer in enumerate(net.layers):
        h = [
            sum(float(w) * v for w, v in zip(row, h, strict=True)) + float(b)
            for row, b in zip(layer.weight, layer.bias, strict=True)
        ]
        if k < len(net.layers) - 1:
            h = [math.tanh(v) if net.activation == "tanh" else 1 / (1 + math.exp(-v)) for v in h]
    return h


def _tanh_no_bias(cfg: Config, strict: bool) -> Outcome:
    """Certified only: floats pre-screen for speed; a counterexample needs both interval argmaxes certified."""
    if cfg.tau <= 1:
        return Outcome(False, True)
    fs, fo = _float_logits(cfg.net, cfg.x, cfg.tau), _float_logits(cfg.net, cfg.x, Fraction(1))
    cs = max(range(len(fs)), key=fs.__getitem__)
    margin_s = min((fs[cs] - v for j, v in enumerate(fs) if j != cs), default=1.0)
    if margin_s <= 1e-12:
        return Outcome(False, True)  # no float winner at τx: the premise cannot be certified here
    co = max(range(len(fo)), key=fo.__getitem__)
    if co == cs or fo[co] - fo[cs] <= 1e-12:
        return Outcome(True, True)  # floats see no flip: never a counterexample without certification
    rep = check_configuration(cfg.net, cfg.x, cfg.tau)
    flipped = (
        rep.certified
        and rep.class_scaled is not None
        and rep.class_original is not None
        and rep.class_scaled != rep.class_original
    )
    return Outcome(True, not flipped)


# ----------------------------------------------------------------------------------- registry
PAIR = ("linear",)


def _p(
    id: str,
    statement: str,
    kind: str,
    tau: str,
    check: Callable[[Config, bool], Outcome],
    acts: tuple[str, ...] = PAIR,
    widths: tuple[int, ...] = (3, 3, 2),
    biases: str = "all",
    adjust: Callable[[Config], Config] | None = None,
) -> Property:
    return Property(id, statement, kind, tau, acts, widths, biases, check, adjust)


PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in [
        _p("eq5", "Eq. 5: y_i(τx) = Σ_j n_ij(τX_j + b_j) + z_i", "paper", "pos", _eq5),
        _p("eq6", "Eq. 6: η = τΣk_jX_j + B, k_j = n_1j − n_2j", "paper", "pos", _eq6),
        _p("eq7", "Eq. 7: B ≠ 0 ⇒ η = −B(τd·X − 1), d = −k/B, and the sign split on B", "paper", "pos", _eq7),
        _p("eq8", "Eq. 8: η′ = Σk_jX_j + B", "paper", "pos", _eq8),
        _p("eq9", "Eq. 9: B ≠ 0 ⇒ η′ = −B(d·X − 1), η′ = 0 ⇔ d·X = 1", "paper", "pos", _eq9),
        _p("key_identity", "η − τη′ = (1 − τ)B", "pair", "pos", _key_identity),
        _p("b_zero", "B = 0, τ > 0 ⇒ sign(η) = sign(η′)", "pair", "pos", _b_zero, adjust=_force_b_zero),
        _p("target", "τ > 1, η > 0 ⇒ η′ > 0 (y1 > y2 ⇒ y1′ > y2′)", "pair", "gt1", _target(lambda B: True)),
        _p("target_b_nonneg", "τ > 1, B ≥ 0, η > 0 ⇒ η′ > 0", "pair", "gt1", _target(lambda B: B >= 0)),
        _p("failure_set", "τ > 1: (η > 0 ∧ η′ ≤ 0) ⇔ (B < 0 ∧ −B/τ < s ≤ −B)", "pair", "gt1", _failure_set),
        _p("converse_b_pos", "τ > 1, B > 0, η′ > 0 ⇒ η > 0", "pair", "gt1", _converse_b_pos),
        _p("characterization", "τ > 0: sign(η) = sign(η′) ⇔ s on the same side of −B and −B/τ", "pair", "pos", _characterization),
        _p("plane_order", "τ > 1, B < 0, η > 0, plane η′ below plane η along d ⇒ η′ > 0 (Fig. 3a)", "paper", "gt1", _plane_order),
        _p("tau_zero", "τ = 0: η = B; agree ⇔ sign(B) = sign(s + B)", "pair", "zero", _tau_zero),
        _p("tau_negative", "τ < 0: agree ⇔ s strictly between −B and −B/τ, or B = s = 0", "pair", "neg", _tau_negative),
        _p(
            "multiclass_bias_rescaling",
            "argmax(τWf + b) = argmax(Wf + b/τ), τ = τ_y (Eqs. 2-4) or any τ > 0",
            "head",
            "pos",
            _multiclass,
            widths=(3, 4),
        ),
        _p(
            "flip_toward_larger_bias",
            "τ > 1, c wins at τf, c′ ≠ c at least ties at f ⇒ b_c′ > b_c",
            "head",
            "gt1",
            _flip,
            widths=(3, 4),
        ),
        _p(
            "relu_no_bias",
            "ReLU / leaky ReLU, no biases, τ > 0 ⇒ same argmax at τx and x",
            "relu",
            "pos",
            _relu_no_bias,
            acts=("relu", "leaky_relu"),
            biases="none",
        ),
        _p(
            "relu_hidden_bias",
            "ReLU, hidden biases, output bias 0, τ > 1: c wins at τx ⇒ c wins at x",
            "relu",
            "gt1",
            _class_kept,
            acts=("relu", "leaky_relu"),
            biases="hidden",
        ),
        _p(
            "tanh_no_bias",
            "tanh, no biases, τ > 1: c wins at τx ⇒ c wins at x (certified intervals)",
            "tanh",
            "gt1",
            _tanh_no_bias,
            acts=("tanh",),
            biases="none",
        ),
    ]
}
PROPERTY_IDS: tuple[str, ...] = tuple(PROPERTIES)


def get_property(claim_id: str) -> Property:
    """The property of a claim id; one-line :class:`UserError` naming the valid ids otherwise."""
    from fcc_theory.errors import UserError

    if claim_id not in PROPERTIES:
        raise UserError(f"unknown claim id {claim_id!r}; use one of {', '.join(PROPERTY_IDS)}")
    return PROPERTIES[claim_id]


def head_tau_sources(num_classes: int) -> list[dict]:
    """Every (strategy, γ, β) of Eqs. 2-4 the head search draws τ_y from (γ in {1/4, 1/2, 1})."""
    return [
        {"strategy": s, "gamma": g, "beta": b, "num_classes": num_classes}
        for s in STRATEGIES
        for g in ("1/4", "1/2", "1")
        for b in ((0, 1) if s == "half" else (0,))
    ]


def tau_for_label(source: dict, label: int) -> Fraction:
    """τ_y of Eqs. 2-4 for class rank ``label`` (exact; the official code's 2-decimal rounding included)."""
    return tau_values(
        source["strategy"], Fraction(source["gamma"]), source["num_classes"], beta=source["beta"], round_decimals=2
    )[label]

"""Pairwise margins of a network at x and at τx (paper Eqs. 6 and 8, generalised).

For an affine network the logits are ``o(τx) = τ A x + c`` with ``c = o(0)``.
For the class pair (i, j):

* ``s = (A_i - A_j)·x``    (the paper's Σ k_j X_j),
* ``B = c_i - c_j``        (the paper's B: the margin at x = 0),
* ``η = τ s + B``          (margin of the multiplied feature, Eq. 6),
* ``η' = s + B``           (margin of the original feature, Eq. 8),
* for τ > 0, τ ≠ 1 and B ≠ 0 the signs of η and η' differ exactly when s lies
  in the closed slab between ``-B`` and ``-B/τ``; :func:`sign_change_rule` states
  what holds for every other (B, τ) (τ = 1 or B = 0: never; τ < 0: outside the
  open interval; τ = 0: η = B).

Tie semantics: the decision at a point is the *set* of classes attaining the
maximum logit (:func:`argmax_set`); the decisions at τx and x agree exactly when
the two sets are equal, so {0, 1} at τx against {1, 2} at x is a disagreement.

For non-affine networks the margins are still exact (ReLU) or certified
intervals (tanh/sigmoid), but s and B are undefined and reported as ``None``.

>>> from fcc_theory.network import Network
>>> net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]],
...                             [[0, 0, 0], [0, 1]])
>>> rep = check_configuration(net, [Fraction(3, 4), 0, 0], Fraction(2))
>>> rep.class_scaled, rep.class_original, rep.agree
(0, 1, False)
>>> p = rep.pairs[0]
>>> rep.argmax_scaled, rep.argmax_original
(frozenset({0}), frozenset({1}))
>>> p.s, p.B, p.eta, p.eta_prime, p.slab, p.in_slab
(Fraction(3, 4), Fraction(-1, 1), Fraction(1, 2), Fraction(-1, 4), (Fraction(1, 2), Fraction(1, 1)), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from fcc_theory.intervals import LogitEvaluator
from fcc_theory.limits import MAX_BITS, START_BITS
from fcc_theory.network import Network, NetworkError
from fcc_theory.rational import format_rational

__all__ = [
    "CheckReport",
    "PairMargin",
    "argmax_or_none",
    "argmax_set",
    "check_configuration",
    "collapse_affine",
    "in_failure_set",
    "pair_margins",
    "sign_change_rule",
    "slab",
]

Matrix = tuple[tuple[Fraction, ...], ...]


def collapse_affine(net: Network) -> tuple[Matrix, tuple[Fraction, ...]]:
    """Return ``(A, c)`` with ``net(x) = A x + c`` for an affine network, exactly."""
    if not net.is_affine:
        raise NetworkError(
            f"a {net.activation} network with hidden layers is not affine; s and B are defined for linear networks only"
        )
    n = net.n_inputs
    c = net.forward([Fraction(0)] * n)
    cols = []
    for k in range(n):
        e = [Fraction(0)] * n
        e[k] = Fraction(1)
        out = net.forward(e)
        cols.append(tuple(o - ci for o, ci in zip(out, c, strict=True)))
    A = tuple(tuple(cols[k][i] for k in range(n)) for i in range(net.n_classes))
    return A, c


def argmax_or_none(values: Sequence[Fraction]) -> int | None:
    """Index of the strict maximum; ``None`` on a tie for the maximum (the tie convention)."""
    best = max(values)
    idx = [i for i, v in enumerate(values) if v == best]
    return idx[0] if len(idx) == 1 else None


def argmax_set(values: Sequence[Fraction]) -> frozenset[int]:
    """Every class attaining the maximum (the decision, ties included).

    >>> sorted(argmax_set([Fraction(2), Fraction(2), Fraction(1)]))
    [0, 1]
    """
    best = max(values)
    return frozenset(i for i, v in enumerate(values) if v == best)


def _sign(v: Fraction) -> int:
    return (v > 0) - (v < 0)


def sign_change_rule(s: Fraction, B: Fraction, tau: Fraction) -> tuple[str, bool]:
    """What decides whether sign(τs + B) ≠ sign(s + B), for this (B, τ), and whether it does here.

    From η = τs + B, η′ = s + B (Eqs. 6, 8): for τ > 0, τ ≠ 1, B ≠ 0 the signs differ exactly on the closed
    slab between −B and −B/τ; for τ = 1 or B = 0 (τ > 0) never (η = η′, resp. η = τη′); for τ < 0 exactly
    outside the open interval between −B and −B/τ, except s = B = 0; for τ = 0, η = B.

    >>> sign_change_rule(Fraction(3, 4), Fraction(-1), Fraction(2))
    ('signs differ iff s in the closed slab [1/2, 1] between -B and -B/tau (tau > 0, tau != 1, B != 0): s is inside', True)
    >>> sign_change_rule(Fraction(0), Fraction(0), Fraction(2))[1]
    False
    """
    f = format_rational
    if tau > 0 and (tau == 1 or B == 0):
        why = "tau = 1: eta = eta'" if tau == 1 else "B = 0: eta = tau*eta' with tau > 0"
        return f"{why}, the signs never differ", False
    if tau == 0:
        differs = _sign(B) != _sign(s + B)
        return f"tau = 0: eta = B, the signs differ iff sign(s + B) != sign(B): they {'do' if differs else 'do not'}", differs
    lo, hi = slab(B, tau)
    if tau > 0:
        inside = lo <= s <= hi
        where = "inside" if inside else "outside"
        return (
            f"signs differ iff s in the closed slab [{f(lo)}, {f(hi)}] between -B and -B/tau (tau > 0, tau != 1, B != 0): "
            f"s is {where}",
            inside,
        )
    differs = not (lo < s < hi) and not (B == 0 and s == 0)
    return (
        f"tau < 0: signs differ iff s is outside the open interval ({f(lo)}, {f(hi)}) between -B and -B/tau "
        f"(and not s = B = 0): they {'do' if differs else 'do not'}",
        differs,
    )


def in_failure_set(s: Fraction, B: Fraction, tau: Fraction) -> bool:
    """The exact failure set of the paper's target claim (τ > 1, η > 0 ⇒ η′ > 0): B < 0 ∧ −B/τ < s ≤ −B.

    There η = τs + B > 0 but η′ = s + B ≤ 0 (the multiplied feature wins, the original does not).

    >>> in_failure_set(Fraction(3, 4), Fraction(-1), Fraction(2)), in_failure_set(Fraction(3, 4), Fraction(1), Fraction(2))
    (True, False)
    """
    return tau > 1 and B < 0 and -B / tau < s <= -B


def slab(B: Fraction, tau: Fraction) -> tuple[Fraction, Fraction]:
    """The closed interval between -B and -B/τ, ordered (τ ≠ 0)."""
    a, b = -B, -B / tau
    return (min(a, b), max(a, b))


@dataclass(frozen=True)
class PairMargin:
    """Margins of the class pair (i, j) at τx (``eta``) and at x (``eta_prime``).

    ``eta``/``eta_prime`` are exact rationals, or ``None`` where only an enclosure is known (tanh/sigmoid:
    ``eta_interval``/``eta_prime_interval``, and the certified signs ``sign_eta``/``sign_eta_prime``,
    ``None`` when undecided at ``bits`` bits).
    """

    i: int
    j: int
    eta: Fraction | None
    eta_prime: Fraction | None
    s: Fraction | None = None
    B: Fraction | None = None
    slab: tuple[Fraction, Fraction] | None = None
    in_slab: bool | None = None
    eta_interval: tuple[Fraction, Fraction] | None = None
    eta_prime_interval: tuple[Fraction, Fraction] | None = None
    sign_eta: int | None = None
    sign_eta_prime: int | None = None
    bits: int = 0

    @property
    def sign_changes(self) -> bool | None:
        """Whether sign(η) ≠ sign(η′) (``None`` when a sign is undecided)."""
        if self.sign_eta is None or self.sign_eta_prime is None:
            return None
        return self.sign_eta != self.sign_eta_prime

    @property
    def rule(self) -> str | None:
        """What holds for this pair's (B, τ) (affine networks; see :func:`sign_change_rule`)."""
        return None if self.s is None or self.B is None or self._tau is None else sign_change_rule(self.s, self.B, self._tau)[0]

    _tau: Fraction | None = None

    def to_json(self) -> dict[str, Any]:
        f = lambda v: None if v is None else format_rational(v)
        iv = lambda t: None if t is None else [f(t[0]), f(t[1])]
        out: dict[str, Any] = {
            "i": self.i,
            "j": self.j,
            "s": f(self.s),
            "B": f(self.B),
            "eta": f(self.eta) if self.eta is not None or self.eta_interval is None else iv(self.eta_interval),
            "eta_prime": (
                f(self.eta_prime)
                if self.eta_prime is not None or self.eta_prime_interval is None
                else iv(self.eta_prime_interval)
            ),
            "slab": iv(self.slab),
            "in_slab": self.in_slab,
        }
        if self.rule is not None:
            out["rule"] = self.rule
        out["sign_eta"], out["sign_eta_prime"], out["sign_changes"] = self.sign_eta, self.sign_eta_prime, self.sign_changes
        if self.eta_interval is not None:
            out["eta_interval"] = iv(self.eta_interval)
            out["eta_prime_interval"] = iv(self.eta_prime_interval)
            out["bits"] = self.bits
        return out


@dataclass(frozen=True)
class CheckReport:
    """Exact evaluation of one configuration (network, x, τ): what ``fcc check`` prints.

    The decision at a point is its argmax *set* (ties included); ``agree`` is ``argmax_scaled ==
    argmax_original``, ``None`` when an interval network leaves a set undecided. ``class_scaled`` /
    ``class_original`` are the single winner, ``None`` on a tie or when undecided.
    """

    tau: Fraction
    x: tuple[Fraction, ...]
    logits_scaled: tuple[Fraction, ...] | None
    logits_original: tuple[Fraction, ...] | None
    class_scaled: int | None
    class_original: int | None
    agree: bool | None
    pairs: tuple[PairMargin, ...]
    certified: bool = True
    logits_scaled_interval: tuple[tuple[Fraction, Fraction], ...] | None = None
    logits_original_interval: tuple[tuple[Fraction, Fraction], ...] | None = None
    argmax_scaled: frozenset[int] | None = None
    argmax_original: frozenset[int] | None = None
    max_bits: int = 0

    def pair(self, i: int, j: int) -> PairMargin:
        for p in self.pairs:
            if (p.i, p.j) == (i, j):
                return p
        raise KeyError((i, j))

    def to_json(self) -> dict[str, Any]:
        vec = lambda v: None if v is None else [format_rational(t) for t in v]
        ivs = lambda v: None if v is None else [vec(t) for t in v]
        aset = lambda a: None if a is None else sorted(a)
        interval = self.logits_scaled_interval is not None
        out: dict[str, Any] = {
            "tau": format_rational(self.tau),
            "x": vec(self.x),
            # only enclosures are known for tanh / sigmoid: [lo, hi] per logit, never a midpoint
            "logits_scaled": ivs(self.logits_scaled_interval) if interval else vec(self.logits_scaled),
            "logits_original": ivs(self.logits_original_interval) if interval else vec(self.logits_original),
            "argmax_scaled": aset(self.argmax_scaled),
            "argmax_original": aset(self.argmax_original),
            "class_scaled": self.class_scaled,
            "class_original": self.class_original,
            "agree": self.agree,
            "tie_semantics": TIE_SEMANTICS,
            "pairs": [p.to_json() for p in self.pairs],
        }
        if interval:
            out["logits_scaled_interval"] = out["logits_scaled"]
            out["logits_original_interval"] = out["logits_original"]
            out["certified"] = self.certified
            out["bits"] = self.max_bits
            out["max_bits"] = MAX_BITS
        return out


#: printed by ``fcc check`` and written into its JSON
TIE_SEMANTICS = "the decision is the set of classes with the maximum logit; τx and x agree iff the two sets are equal"


def _single(a: frozenset[int] | None) -> int | None:
    return next(iter(a)) if a is not None and len(a) == 1 else None


def pair_margins(net: Network, x: Sequence[Fraction], tau: Fraction) -> tuple[PairMargin, ...]:
    """Exact pairwise margins for every class pair i < j of an affine or ReLU network."""
    x = net.check_input(x)
    scaled = net.forward(x, tau)
    orig = net.forward(x)
    affine = net.is_affine
    if affine:
        A, c = collapse_affine(net)
        Ax = [sum((a * v for a, v in zip(row, x, strict=True)), Fraction(0)) for row in A]
    pairs = []
    C = net.n_classes
    for i in range(C):
        for j in range(i + 1, C):
            eta = scaled[i] - scaled[j]
            eta_p = orig[i] - orig[j]
            signs = {"sign_eta": _sign(eta), "sign_eta_prime": _sign(eta_p)}
            if affine:
                s = Ax[i] - Ax[j]
                B = c[i] - c[j]
                sl = slab(B, tau) if tau != 0 else None
                in_sl = None if sl is None else sl[0] <= s <= sl[1]
                pairs.append(PairMargin(i, j, eta, eta_p, s, B, sl, in_sl, _tau=tau, **signs))  # type: ignore[arg-type]
            else:
                pairs.append(PairMargin(i, j, eta, eta_p, **signs))  # type: ignore[arg-type]
    return tuple(pairs)


def check_configuration(net: Network, x: Sequence[Any], tau: Fraction | int) -> CheckReport:
    """Evaluate one configuration exactly (``fcc check``); tanh/sigmoid give certified signs and enclosures."""
    tau = Fraction(tau)
    xs = net.check_input(x)
    if net.is_exact:
        scaled = net.forward(xs, tau)
        orig = net.forward(xs)
        a_s, a_o = argmax_set(scaled), argmax_set(orig)
        return CheckReport(
            tau, xs, scaled, orig, _single(a_s), _single(a_o), a_s == a_o, pair_margins(net, xs, tau),
            argmax_scaled=a_s, argmax_original=a_o,
        )  # fmt: skip
    ev_s, ev_o = LogitEvaluator(net, xs, tau), LogitEvaluator(net, xs)
    C = net.n_classes
    sg_s = {(i, j): ev_s.difference_sign(i, j) for i in range(C) for j in range(C) if i < j}
    sg_o = {(i, j): ev_o.difference_sign(i, j) for i in range(C) for j in range(C) if i < j}
    bits = max([b for _, b in sg_s.values()] + [b for _, b in sg_o.values()] + [START_BITS])
    pairs = []
    for (i, j), (sgn, b) in sg_s.items():
        sgn_p, b_p = sg_o[(i, j)]
        e, ep = ev_s.difference(i, j), ev_o.difference(i, j)
        pairs.append(
            PairMargin(
                i, j, None if e[1] else e[0], None if ep[1] else ep[0],
                eta_interval=ev_s.difference_enclosure(i, j, max(b, START_BITS)),
                eta_prime_interval=ev_o.difference_enclosure(i, j, max(b_p, START_BITS)),
                sign_eta=sgn, sign_eta_prime=sgn_p, bits=max(b, b_p),
            )
        )  # fmt: skip
    a_s_iv = _argmax_from_signs(C, {k: v[0] for k, v in sg_s.items()})
    a_o_iv = _argmax_from_signs(C, {k: v[0] for k, v in sg_o.items()})
    certified = a_s_iv is not None and a_o_iv is not None
    exact_s = [ev_s.exact_logit(i) for i in range(C)]
    exact_o = [ev_o.exact_logit(i) for i in range(C)]
    return CheckReport(
        tau, xs,
        tuple(exact_s) if all(v is not None for v in exact_s) else None,  # type: ignore[arg-type]
        tuple(exact_o) if all(v is not None for v in exact_o) else None,  # type: ignore[arg-type]
        _single(a_s_iv), _single(a_o_iv), (a_s_iv == a_o_iv) if certified else None, tuple(pairs), certified,
        tuple(ev_s.logit_enclosures(bits)), tuple(ev_o.logit_enclosures(bits)), a_s_iv, a_o_iv, bits,
    )  # fmt: skip


def _argmax_from_signs(C: int, signs: dict[tuple[int, int], int | None]) -> frozenset[int] | None:
    """The argmax set from the signs of logit i − logit j (i < j); ``None`` if an undecided sign matters."""
    members = set()
    for c in range(C):
        rel = [signs[(c, k)] if c < k else (None if signs[(k, c)] is None else -signs[(k, c)]) for k in range(C) if k != c]  # type: ignore[operator]
        if any(r is not None and r < 0 for r in rel):
            continue  # beaten by someone: out, whatever the undecided signs are
        if any(r is None for r in rel):
            return None
        members.add(c)
    return frozenset(members)

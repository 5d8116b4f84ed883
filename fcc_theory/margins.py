"""Pairwise margins of a network at x and at τx (paper Eqs. 6 and 8, generalised).

For an affine network the logits are ``o(τx) = τ A x + c`` with ``c = o(0)``.
For the class pair (i, j):

* ``s = (A_i - A_j)·x``    (the paper's Σ k_j X_j),
* ``B = c_i - c_j``        (the paper's B: the margin at x = 0),
* ``η = τ s + B``          (margin of the multiplied feature, Eq. 6),
* ``η' = s + B``           (margin of the original feature, Eq. 8),
* the signs of η and η' differ exactly when s lies in the closed slab between
  ``-B`` and ``-B/τ`` (theory.md §1.2; for τ > 0, B ≠ 0, τ ≠ 1).

For non-affine networks the margins are still exact (ReLU) or certified
intervals (tanh/sigmoid), but s and B are undefined and reported as ``None``.

>>> from fcc_theory.network import Network
>>> net = Network.from_matrices([[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[1, 0, 0], [0, 0, 0]]],
...                             [[0, 0, 0], [0, 1]])
>>> rep = check_configuration(net, [Fraction(3, 4), 0, 0], Fraction(2))
>>> rep.class_scaled, rep.class_original, rep.agree
(0, 1, False)
>>> p = rep.pairs[0]
>>> p.s, p.B, p.eta, p.eta_prime, p.slab, p.in_slab
(Fraction(3, 4), Fraction(-1, 1), Fraction(1, 2), Fraction(-1, 4), (Fraction(1, 2), Fraction(1, 1)), True)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from fcc_theory.network import Network, NetworkError
from fcc_theory.rational import format_rational

__all__ = [
    "PairMargin",
    "CheckReport",
    "collapse_affine",
    "argmax_or_none",
    "slab",
    "pair_margins",
    "check_configuration",
]

Matrix = tuple[tuple[Fraction, ...], ...]


def collapse_affine(net: Network) -> tuple[Matrix, tuple[Fraction, ...]]:
    """Return ``(A, c)`` with ``net(x) = A x + c`` for an affine network, exactly."""
    if not net.is_affine:
        raise NetworkError(f"a {net.activation} network with hidden layers is not affine; s and B are defined for linear networks only")
    n = net.n_inputs
    c = net.forward([Fraction(0)] * n)
    cols = []
    for k in range(n):
        e = [Fraction(0)] * n
        e[k] = Fraction(1)
        out = net.forward(e)
        cols.append(tuple(o - ci for o, ci in zip(out, c)))
    A = tuple(tuple(cols[k][i] for k in range(n)) for i in range(net.n_classes))
    return A, c


def argmax_or_none(values: Sequence[Fraction]) -> int | None:
    """Index of the strict maximum; ``None`` on a tie for the maximum (the tie convention)."""
    best = max(values)
    idx = [i for i, v in enumerate(values) if v == best]
    return idx[0] if len(idx) == 1 else None


def slab(B: Fraction, tau: Fraction) -> tuple[Fraction, Fraction]:
    """The closed interval between -B and -B/τ, ordered (τ ≠ 0)."""
    a, b = -B, -B / tau
    return (min(a, b), max(a, b))


@dataclass(frozen=True)
class PairMargin:
    """Margins of the class pair (i, j) at τx (``eta``) and at x (``eta_prime``)."""

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

    def to_json(self) -> dict[str, Any]:
        f = lambda v: None if v is None else format_rational(v)  # noqa: E731
        out: dict[str, Any] = {
            "i": self.i,
            "j": self.j,
            "s": f(self.s),
            "B": f(self.B),
            "eta": f(self.eta),
            "eta_prime": f(self.eta_prime),
            "slab": None if self.slab is None else [f(self.slab[0]), f(self.slab[1])],
            "in_slab": self.in_slab,
        }
        if self.eta_interval is not None:
            out["eta_interval"] = [f(v) for v in self.eta_interval]
            out["eta_prime_interval"] = [f(v) for v in self.eta_prime_interval]  # type: ignore[union-attr]
        return out


@dataclass(frozen=True)
class CheckReport:
    """Exact evaluation of one configuration (network, x, τ): what ``fcc check`` prints."""

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

    def pair(self, i: int, j: int) -> PairMargin:
        for p in self.pairs:
            if (p.i, p.j) == (i, j):
                return p
        raise KeyError((i, j))

    def to_json(self) -> dict[str, Any]:
        vec = lambda v: None if v is None else [format_rational(t) for t in v]  # noqa: E731
        out: dict[str, Any] = {
            "tau": format_rational(self.tau),
            "x": vec(self.x),
            "logits_scaled": vec(self.logits_scaled),
            "logits_original": vec(self.logits_original),
            "class_scaled": self.class_scaled,
            "class_original": self.class_original,
            "agree": self.agree,
            "pairs": [p.to_json() for p in self.pairs],
        }
        if self.logits_scaled_interval is not None:
            out["logits_scaled_interval"] = [vec(iv) for iv in self.logits_scaled_interval]
            out["logits_original_interval"] = [vec(iv) for iv in self.logits_original_interval]  # type: ignore[union-attr]
            out["certified"] = self.certified
        return out


def pair_margins(net: Network, x: Sequence[Fraction], tau: Fraction) -> tuple[PairMargin, ...]:
    """Exact pairwise margins for every class pair i < j of an affine or ReLU network."""
    x = net.check_input(x)
    scaled = net.forward(x, tau)
    orig = net.forward(x)
    affine = net.is_affine
    if affine:
        A, c = collapse_affine(net)
        Ax = [sum((a * v for a, v in zip(row, x)), Fraction(0)) for row in A]
    pairs = []
    C = net.n_classes
    for i in range(C):
        for j in range(i + 1, C):
            eta = scaled[i] - scaled[j]
            eta_p = orig[i] - orig[j]
            if affine:
                s = Ax[i] - Ax[j]
                B = c[i] - c[j]
                sl = slab(B, tau) if tau != 0 else None
                pairs.append(PairMargin(i, j, eta, eta_p, s, B, sl, None if sl is None else sl[0] <= s <= sl[1]))
            else:
                pairs.append(PairMargin(i, j, eta, eta_p))
    return tuple(pairs)


def check_configuration(net: Network, x: Sequence[Any], tau: Fraction | int) -> CheckReport:
    """Evaluate one configuration exactly (``fcc check``); tanh/sigmoid give certified intervals."""
    tau = Fraction(tau)
    xs = net.check_input(x)
    if net.is_exact:
        scaled = net.forward(xs, tau)
        orig = net.forward(xs)
        cs, co = argmax_or_none(scaled), argmax_or_none(orig)
        return CheckReport(tau, xs, scaled, orig, cs, co, cs == co, pair_margins(net, xs, tau))
    iv_s = net.forward_interval(xs, tau)
    iv_o = net.forward_interval(xs)
    cs, ok_s = _interval_argmax(iv_s)
    co, ok_o = _interval_argmax(iv_o)
    pairs = []
    C = net.n_classes
    for i in range(C):
        for j in range(i + 1, C):
            e = (iv_s[i][0] - iv_s[j][1], iv_s[i][1] - iv_s[j][0])
            ep = (iv_o[i][0] - iv_o[j][1], iv_o[i][1] - iv_o[j][0])
            mid = lambda t: (t[0] + t[1]) / 2  # noqa: E731
            pairs.append(PairMargin(i, j, mid(e), mid(ep), eta_interval=e, eta_prime_interval=ep))
    certified = ok_s and ok_o
    return CheckReport(
        tau, xs, tuple(mid for mid in ((a + b) / 2 for a, b in iv_s)), tuple((a + b) / 2 for a, b in iv_o),
        cs, co, (cs == co) if certified else None, tuple(pairs), certified, iv_s, iv_o,
    )


def _interval_argmax(iv: Sequence[tuple[Fraction, Fraction]]) -> tuple[int | None, bool]:
    """The class whose lower bound beats every other upper bound, and whether that is certified."""
    for i, (lo, _) in enumerate(iv):
        if all(lo > hi for k, (_, hi) in enumerate(iv) if k != i):
            return i, True
    return None, False

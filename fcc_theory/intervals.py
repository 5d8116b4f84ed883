"""Certified signs of tanh / sigmoid logit differences: exact symbolic terms, then adaptive-precision intervals.

A tanh or sigmoid network's logits are transcendental, so the verifier never rounds them. Each hidden unit
is kept as an exact *term*: an exact rational when its argument is one it can evaluate (tanh(0) = 0,
σ(0) = 1/2), else an atom φ(L) of an exact linear combination L of earlier atoms. Atoms are interned by
their exact argument, and the symmetries tanh(−L) = −tanh(L) and σ(−L) = 1 − σ(L) are applied, so two units
with identical (or opposite) pre-activations give the *same* atom. A logit difference whose linear
combination cancels to exactly 0 is then an exact tie, decided without any rounding.

Every other difference is enclosed with mpmath interval arithmetic (sound outward rounding) at
:data:`~fcc_theory.limits.START_BITS` bits, doubled until the enclosure excludes 0 or
:data:`~fcc_theory.limits.MAX_BITS` is reached; then the sign is reported as unknown ("undecided at N
bits"), never guessed. For one hidden layer with rational pre-activations a non-cancelling combination is
never 0 (the tanh/σ values are rational functions of one transcendental e^(2/D), whose poles cannot
cancel), so refinement decides it given enough bits.

Bounds stay small: mpmath keeps a binary exponent, so σ(−10⁹) ≈ 2^(−1.44·10⁹) is one short mantissa, and
:func:`interval_to_fractions` rounds such endpoints outward to rationals of bounded size before printing.

>>> from fcc_theory.network import Network
>>> net = Network.from_matrices([[[1, 0], [1, 0]], [[1, 0], [0, 1]]], activation="tanh")
>>> ev = LogitEvaluator(net, (Fraction(1, 3), Fraction(0)))
>>> ev.difference_sign(0, 1)   # both units compute tanh(x1): an exact tie
(0, 0)
>>> net2 = Network.from_matrices([[[1], [2]], [[2, 0], [0, 1]]], activation="tanh")
>>> LogitEvaluator(net2, (Fraction(1, 100),)).difference_sign(0, 1)[0]   # 2·tanh(1/100) > tanh(2/100)
1
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import mpmath

from fcc_theory import limits
from fcc_theory.network import Network

__all__ = ["LinComb", "LogitEvaluator", "interval_to_fractions"]

#: a linear combination: (constant, ((atom id, coefficient), ...) sorted by atom id, no zero coefficients)
LinComb = tuple[Fraction, tuple[tuple[int, Fraction], ...]]
#: exponent arguments beyond this magnitude are enclosed directly: e^v < 2^(-CUT) for v < -CUT
_CUT = 2**40
#: endpoints smaller than 2^(-_TINY_EXP) in magnitude are rounded outward to 0 / ±2^(-_TINY_EXP) for output
_TINY_EXP = 2 * limits.MAX_BITS


def _combine(parts: Sequence[tuple[Fraction, LinComb]], const: Fraction = Fraction(0)) -> LinComb:
    """Σ w·L + const, exactly, with zero coefficients dropped."""
    acc: dict[int, Fraction] = {}
    c = const
    for w, (lc, terms) in parts:
        if w == 0:
            continue
        c += w * lc
        for a, k in terms:
            acc[a] = acc.get(a, Fraction(0)) + w * k
    return c, tuple(sorted((a, k) for a, k in acc.items() if k != 0))


def _neg(L: LinComb) -> LinComb:
    return -L[0], tuple((a, -k) for a, k in L[1])


class _Terms:
    """The logits as linear combinations of interned atoms φ(argument), built exactly layer by layer.

    ``orient`` picks the form: +1 / −1 rewrite each atom so that its argument's leading coefficient has that
    sign (tanh(−u) = −tanh(u), σ(−u) = 1 − σ(u)), so identical *and* opposite pre-activations meet in one
    atom; 0 keeps every atom as computed. All three are the same numbers; they differ in what interval
    arithmetic resolves (σ(−10⁹) is tiny written directly, but 1 − σ(10⁹) is 1 − (1 ± ε)).
    """

    def __init__(self, net: Network, x: Sequence[Fraction], tau: Fraction, orient: int) -> None:
        self.activation, self.orient = net.activation, orient
        self.atoms: list[LinComb] = []  # atom id -> its exact argument (the unit is φ(argument))
        self._ids: dict[LinComb, int] = {}
        h: list[LinComb] = [(tau * v, ()) for v in x]
        for k, layer in enumerate(net.layers):
            h = [_combine(list(zip(row, h, strict=True)), b) for row, b in zip(layer.weight, layer.bias, strict=True)]
            limits.check_exact_size((c for L in h for c in [L[0], *(q for _, q in L[1])]), f"layer {k}")
            if k < len(net.layers) - 1:
                h = [self._apply(L) for L in h]
        self.logits = h
        self._cache: dict[int, list[Any]] = {}

    def _apply(self, L: LinComb) -> LinComb:
        """φ(L) as a term, with the exact values φ(0) and (when oriented) the symmetries of tanh and sigmoid."""
        const, terms = L
        if not terms and const == 0:
            return (Fraction(0), ()) if self.activation == "tanh" else (Fraction(1, 2), ())
        lead = terms[0][1] if terms else const
        flip = self.orient != 0 and (lead > 0) != (self.orient > 0)
        arg = _neg(L) if flip else L
        if arg not in self._ids:
            self._ids[arg] = len(self.atoms)
            self.atoms.append(arg)
        atom: LinComb = (Fraction(0), ((self._ids[arg], Fraction(1)),))
        if not flip:
            return atom
        # tanh(−u) = −tanh(u); σ(−u) = 1 − σ(u)
        return _neg(atom) if self.activation == "tanh" else _combine([(Fraction(-1), atom)], Fraction(1))

    def _atom_values(self, prec: int) -> list[Any]:
        if prec not in self._cache:
            vals: list[Any] = []
            for arg in self.atoms:
                v = _eval(arg, vals)
                vals.append(_tanh(mpmath.iv, v) if self.activation == "tanh" else 1 / (1 + _exp(mpmath.iv, -v)))
            self._cache[prec] = vals
        return self._cache[prec]

    def enclosure(self, L: LinComb, prec: int) -> Any:
        return _eval(L, self._atom_values(prec))


def _eval(L: LinComb, vals: list[Any]) -> Any:
    ctx = mpmath.iv
    out = _iv(ctx, L[0])
    for a, k in L[1]:
        out = out + _iv(ctx, k) * vals[a]
    return out


class LogitEvaluator:
    """The logits of ``net`` at ``tau * x`` as exact terms, and certified signs of their differences."""

    def __init__(self, net: Network, x: Sequence[Fraction], tau: Fraction | int = 1) -> None:
        tau = Fraction(tau)
        self._forms = [_Terms(net, x, tau, orient) for orient in (1, -1, 0)]
        self.logits = self._forms[0].logits  # the canonical form: exact cancellation is read off it

    def difference(self, i: int, j: int) -> LinComb:
        """Logit i − logit j in the canonical form (its atoms are exact; a constant means an exact value)."""
        return self._diff(self._forms[0], i, j)

    @staticmethod
    def _diff(form: _Terms, i: int, j: int) -> LinComb:
        return _combine([(Fraction(1), form.logits[i]), (Fraction(-1), form.logits[j])])

    def _enclose(self, pick: Any, prec: int) -> Any:
        """The intersection of the three forms' enclosures of one quantity (each is sound)."""
        ctx = mpmath.iv
        old = ctx.prec
        ctx.prec = prec
        try:
            ivs = [form.enclosure(pick(form), prec) for form in self._forms]
            lo = max(v.a for v in ivs)
            hi = min(v.b for v in ivs)
            return ctx.mpf([lo.a, hi.b])
        finally:
            ctx.prec = old

    def difference_sign(self, i: int, j: int) -> tuple[int | None, int]:
        """Sign of logit i − logit j and the bits it took (0: decided exactly, e.g. an exact tie); ``None``
        when undecided at :data:`~fcc_theory.limits.MAX_BITS`."""
        d = self.difference(i, j)
        if not d[1]:
            return (d[0] > 0) - (d[0] < 0), 0
        prec = limits.START_BITS
        while True:
            v = self._enclose(lambda form: self._diff(form, i, j), prec)
            if v.a > 0:
                return 1, prec
            if v.b < 0:
                return -1, prec
            if prec >= limits.MAX_BITS:
                return None, prec
            prec = min(2 * prec, limits.MAX_BITS)

    def difference_enclosure(self, i: int, j: int, prec: int) -> tuple[Fraction, Fraction]:
        return interval_to_fractions(self._enclose(lambda form: self._diff(form, i, j), prec))

    def logit_enclosures(self, prec: int) -> list[tuple[Fraction, Fraction]]:
        n = len(self.logits)
        return [interval_to_fractions(self._enclose(lambda form, i=i: form.logits[i], prec)) for i in range(n)]

    def exact_logit(self, i: int) -> Fraction | None:
        """The logit as an exact rational when it is one (every unit it uses cancelled or was exact)."""
        L = self.logits[i]
        return None if L[1] else L[0]


def _iv(ctx: Any, q: Fraction) -> Any:
    return ctx.mpf(q.numerator) / ctx.mpf(q.denominator)


def _exp(ctx: Any, v: Any) -> Any:
    """e^v, enclosed directly for huge |v| (mpmath would work out e^(10^12) digit by digit for nothing)."""
    if v.b < -_CUT:
        return ctx.mpf([0, mpmath.mpf(2) ** -_CUT])
    if v.a > _CUT:
        return ctx.mpf([mpmath.mpf(2) ** _CUT, mpmath.inf])
    return ctx.exp(v)


def _tanh(ctx: Any, v: Any) -> Any:
    # tanh(v) = 1 − 2/(e^(2v) + 1): monotone in e^(2v), so the interval evaluation is sound
    return 1 - 2 / (_exp(ctx, 2 * v) + 1)


def _endpoint(t: Any, up: bool) -> Fraction:
    sign, man, exp, _ = t
    if man == 0:
        if exp != 0:  # mpmath's inf / nan
            raise ValueError("an interval endpoint is infinite")
        return Fraction(0)
    if exp + int(man).bit_length() < -_TINY_EXP:  # |value| < 2^(-_TINY_EXP): round outward, keep it small
        if up:
            return Fraction(0) if sign else Fraction(1, 2**_TINY_EXP)
        return -Fraction(1, 2**_TINY_EXP) if sign else Fraction(0)
    value = Fraction(int(man)) * Fraction(2) ** int(exp)
    return -value if sign else value


def interval_to_fractions(v: Any) -> tuple[Fraction, Fraction]:
    """An mpmath interval as exact rational endpoints, rounded outward where they would be huge to write.

    >>> interval_to_fractions(mpmath.iv.mpf([1, 2]))
    (Fraction(1, 1), Fraction(2, 1))
    """
    lo, hi = v._mpi_
    return _endpoint(lo, up=False), _endpoint(hi, up=True)

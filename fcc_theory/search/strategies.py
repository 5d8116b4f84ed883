"""Hypothesis strategies for exact rational networks, points and τ (shared by ``fcc search`` and the tests).

Speed matters: ``st.fractions`` costs about 55 examples/s on the 3-3-2 network, so every
rational here is built from two small integers (a numerator and a denominator) drawn in one flat list and
turned into a :class:`~fractions.Fraction` afterwards. Hypothesis shrinks numerators toward 0 and
denominators toward 1, so minimal counterexamples come out sparse and with small integers.

>>> from hypothesis import find
>>> net = find(networks((3, 3, 2)), lambda n: n.parameter_count(nonzero_only=True) >= 1)
>>> net.parameter_count(nonzero_only=True)
1
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence

from hypothesis import strategies as st

from fcc_theory.network import ACTIVATIONS, Layer, Network

__all__ = [
    "TAU_DOMAINS",
    "any_networks",
    "any_widths",
    "decode",
    "n_params",
    "network_from_values",
    "networks",
    "points",
    "rational_table",
    "rational_vectors",
    "rationals",
    "tau_table",
    "taus",
]

#: τ ranges a claim may quantify over; each maps to (lowest, highest) with the openness of each end
TAU_DOMAINS = ("gt1", "pos", "lt1", "zero", "neg")

MAX_NUM = 4
MAX_DEN = 4


def rational_table(max_num: int = MAX_NUM, max_den: int = MAX_DEN, density: str = "any") -> tuple[Fraction, ...]:
    """The distinct ``p/q`` with ``|p| <= max_num``, ``1 <= q <= max_den``, simplest first (0, 1, -1, 1/2, 2, ...)."""
    if density not in ("any", "sparse", "dense"):
        raise ValueError(f"density must be any, sparse or dense, got {density!r}")
    vals = {Fraction(p, q) for p in range(-max_num, max_num + 1) for q in range(1, max_den + 1)}
    if density == "dense":
        vals.discard(Fraction(0))
    return tuple(sorted(vals, key=lambda f: (abs(f.numerator) + f.denominator, f < 0, abs(f))))


def decode(table: Sequence[Fraction], raw: bytes, sparse: bool = False) -> tuple[Fraction, ...]:
    """Map bytes to table entries uniformly; byte 0 is the simplest entry, so shrinking bytes simplifies values.

    ``sparse``: the lower half of the byte range maps to 0 (half the entries zero).
    """
    n = len(table)
    if sparse:
        return tuple(table[0] if v < 128 else table[((v - 128) * n) >> 7] for v in raw)
    return tuple(table[(v * n) >> 8] for v in raw)


def rational_vectors(
    n: int, max_num: int = MAX_NUM, max_den: int = MAX_DEN, density: str = "any"
) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """``n`` exact rationals ``p/q`` with ``|p| <= max_num`` and ``1 <= q <= max_den``.

    One ``st.binary`` draw of ``n`` bytes, each byte indexing :func:`rational_table`: Hypothesis's cost is
    per draw, so this is several times faster than ``n`` integer pairs (and ~8x faster than ``st.fractions``).
    """
    table = rational_table(max_num, max_den, density)
    return st.binary(min_size=n, max_size=n).map(lambda raw: decode(table, raw, density == "sparse"))


def rationals(max_num: int = MAX_NUM, max_den: int = MAX_DEN, density: str = "any") -> st.SearchStrategy[Fraction]:
    """One small exact rational (see :func:`rational_vectors`)."""
    return rational_vectors(1, max_num, max_den, density).map(lambda v: v[0])


def _layers_from_flat(widths: Sequence[int], values: Sequence[Fraction], biases: Sequence[bool]) -> tuple[Layer, ...]:
    layers = []
    pos = 0
    for k in range(len(widths) - 1):
        n_in, n_out = widths[k], widths[k + 1]
        w = tuple(tuple(values[pos + r * n_in : pos + (r + 1) * n_in]) for r in range(n_out))
        pos += n_in * n_out
        if biases[k]:
            b = tuple(values[pos : pos + n_out])
            pos += n_out
        else:
            b = tuple(Fraction(0) for _ in range(n_out))
        layers.append(Layer(w, b))
    return tuple(layers)


def network_from_values(widths: Sequence[int], activation: str, values: Sequence[Fraction], biases: Sequence[bool]) -> Network:
    """A network of the given widths from a flat list of parameters (layer by layer: weight rows, then bias)."""
    return Network(activation, _layers_from_flat(widths, values, biases))


def n_params(widths: Sequence[int], biases: Sequence[bool]) -> int:
    return sum(widths[k] * widths[k + 1] + (widths[k + 1] if biases[k] else 0) for k in range(len(widths) - 1))


def networks(
    widths: Sequence[int],
    activation: str = "linear",
    biases: Sequence[bool] | bool | None = True,
    density: str = "any",
    max_num: int = MAX_NUM,
    max_den: int = MAX_DEN,
) -> st.SearchStrategy[Network]:
    """Exact fully connected networks of the given widths (input, hidden..., classes).

    ``biases``: ``True``/``False`` for every layer, a per-layer sequence of booleans, or ``None`` to let
    Hypothesis choose per layer. Layers are built directly (no JSON parsing) because generation speed
    dominates the search.
    """
    widths = tuple(int(w) for w in widths)
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"widths need an input width and at least one layer, all >= 1, got {widths}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}")
    n_layers = len(widths) - 1
    if biases is None:
        return st.lists(st.booleans(), min_size=n_layers, max_size=n_layers).flatmap(
            lambda bs: networks(widths, activation, bs, density, max_num, max_den)
        )
    flags = (bool(biases),) * n_layers if isinstance(biases, bool) else tuple(bool(b) for b in biases)
    if len(flags) != n_layers:
        raise ValueError(f"give one bias flag per layer ({n_layers}), got {len(flags)}")
    n = n_params(widths, flags)
    return rational_vectors(n, max_num, max_den, density).map(lambda v: Network(activation, _layers_from_flat(widths, v, flags)))


def any_widths(max_depth: int = 3, max_width: int = 4, n_classes: int | None = None) -> st.SearchStrategy[tuple[int, ...]]:
    """Widths (input, hidden..., classes) of any depth 1..max_depth layers; ``n_classes`` fixes the last."""
    last = st.just(n_classes) if n_classes is not None else st.integers(2, max_width)
    return st.tuples(st.lists(st.integers(1, max_width), min_size=1, max_size=max_depth), last).map(
        lambda t: tuple(t[0]) + (t[1],)
    )


def any_networks(
    activation: str = "linear", biases: bool | None = None, max_depth: int = 3, max_width: int = 4
) -> st.SearchStrategy[Network]:
    """Networks of any widths and depth (the generalisation of the paper's 3-3-2)."""
    return any_widths(max_depth, max_width).flatmap(lambda w: networks(w, activation, biases))


def points(n: int, max_num: int = MAX_NUM, max_den: int = MAX_DEN) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """An input point x with ``n`` exact rational entries."""
    return rational_vectors(n, max_num, max_den)


def tau_table(
    domain: str = "gt1", lo: Fraction | None = None, hi: Fraction | None = None, max_num: int = 8, max_den: int = MAX_DEN
) -> tuple[Fraction, ...]:
    """The τ values of a domain, simplest first: ``gt1`` (τ > 1: 2, 3, 3/2, ...), ``pos`` (τ > 0: 1, 2, 1/2, ...),
    ``lt1`` (0 < τ < 1), ``zero`` (just 0), ``neg`` (τ < 0). With ``lo``/``hi``: lo + (hi − lo)·u, u in (0, 1],
    i.e. τ in (lo, hi]; the caller checks that the interval lies inside the claim's domain.
    """
    simple = lambda f: (f.numerator + f.denominator, f)
    fr = {Fraction(p, q) for p in range(1, max_num + 1) for q in range(1, max_den + 1)}
    if lo is not None or hi is not None:
        low = Fraction(lo) if lo is not None else Fraction(0)
        high = Fraction(hi) if hi is not None else low + max_num
        us = sorted(
            {f for f in fr if f <= 1} | {Fraction(p, max_num) for p in range(1, max_num + 1)}, key=lambda f: (f.denominator, -f)
        )
        return tuple(low + (high - low) * u for u in us)
    if domain == "zero":
        return (Fraction(0),)
    if domain == "gt1":
        return tuple(sorted((1 + f for f in fr), key=lambda t: simple(t - 1)))
    if domain == "pos":
        return tuple(sorted(fr, key=lambda t: (abs(t.numerator - t.denominator) + t.denominator, t)))
    if domain == "lt1":
        return tuple(sorted((f for f in {Fraction(p, q) for q in range(2, 2 * max_den + 1) for p in range(1, q)}), key=simple))
    if domain == "neg":
        return tuple(-t for t in sorted(fr, key=simple))
    raise ValueError(f"unknown tau domain {domain!r}; use one of {', '.join(TAU_DOMAINS)}")


def taus(domain: str = "gt1", lo: Fraction | None = None, hi: Fraction | None = None) -> st.SearchStrategy[Fraction]:
    """τ drawn from :func:`tau_table` (one byte; shrinks toward the simplest value of the domain)."""
    table = tau_table(domain, lo, hi)
    return st.binary(min_size=1, max_size=1).map(lambda raw: table[(raw[0] * len(table)) >> 8])

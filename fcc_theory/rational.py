"""Exact rationals at the project's boundary.

Every exact number enters and leaves the theory through this module: as a
Python ``int``, a ``Fraction``, or a string ``"p/q"`` / ``"-3"`` / ``"0.25"``.
Floats are refused on purpose: ``0.1`` is not one tenth, and the verifier
never decides anything in floating point.

>>> parse_rational("3/4")
Fraction(3, 4)
>>> format_rational(Fraction(-6, 4))
'-3/2'
>>> parse_vector("3/4,0,-1")
(Fraction(3, 4), Fraction(0, 1), Fraction(-1, 1))
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Iterable

from fcc_theory.errors import UserError
from fcc_theory.limits import MAX_DIGITS, check_number_text

__all__ = [
    "RationalError",
    "format_bound",
    "format_rational",
    "format_vector",
    "parse_rational",
    "parse_vector",
]

_RATIONAL_RE = re.compile(r"^[+-]?(\d+/\d+|(\d+|\d*\.\d+|\d+\.\d*)([eE][+-]?\d+)?)$")
_FRACTION_EXP_RE = re.compile(r"^[+-]?\d+/\d+[eE][+-]?\d+$")


class RationalError(UserError):
    """A value that is not an exact rational number (one-line message)."""


def parse_rational(value: object, what: str = "number") -> Fraction:
    """Parse ``value`` as an exact rational.

    Accepts ints, Fractions, and strings such as ``"p/q"``, ``"-2"`` or the
    decimal ``"0.125"`` (read exactly as written).

    >>> parse_rational("-2/6")
    Fraction(-1, 3)
    >>> parse_rational("0.1")
    Fraction(1, 10)
    >>> parse_rational("1/2e3")
    Traceback (most recent call last):
    ...
    fcc_theory.rational.RationalError: number '1/2e3' puts an exponent on p/q; write the exponent into p or q, e.g. "1/2000" for 1/2e3
    >>> parse_rational(1.5)
    Traceback (most recent call last):
    ...
    fcc_theory.rational.RationalError: number 1.5 is a float; write it as an exact string such as "3/2"
    """
    if isinstance(value, bool):
        raise RationalError(f'{what} {value!r} is a boolean, not a number; write it as "p/q"')
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        if value.bit_length() > MAX_DIGITS / 0.30103:
            raise RationalError(f"{what} has more than {MAX_DIGITS} digits (MAX_DIGITS): give a shorter rational")
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise RationalError(f'{what} {value!r} is not a finite number; use an integer or "p/q"')
        raise RationalError(
            f'{what} {value!r} is a float; write it as an exact string such as "{Fraction(value).limit_denominator(1000)}"'
        )
    if isinstance(value, str):
        text = value.strip()
        if _FRACTION_EXP_RE.match(text):
            raise RationalError(
                f'{what} {value!r} puts an exponent on p/q; write the exponent into p or q, e.g. "1/2000" for 1/2e3'
            )
        if not _RATIONAL_RE.match(text):
            raise RationalError(f'{what} {value!r} is not a rational; use an integer or "p/q" such as "3/4"')
        check_number_text(text, what)
        if "/" in text and int(text.split("/")[1]) == 0:
            raise RationalError(f"{what} {value!r} has a zero denominator")
        return Fraction(text)
    raise RationalError(f'{what} {value!r} is not a number; use an integer or a string "p/q"')


def parse_vector(text: str, what: str = "vector") -> tuple[Fraction, ...]:
    """Parse a comma-separated list of rationals such as ``"3/4,0,0"``."""
    parts = text.split(",")
    if not text.strip() or any(not p.strip() for p in parts):
        raise RationalError(f'{what} {text!r} is not a comma-separated list of rationals such as "3/4,0,0"')
    return tuple(parse_rational(p, what=f"{what} entry") for p in parts)


def format_rational(value: Fraction | int) -> str:
    """The canonical exact string of a rational: ``"p/q"`` or ``"p"``."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def format_vector(values: Iterable[Fraction | int]) -> list[str]:
    """Format each entry with :func:`format_rational`."""
    return [format_rational(v) for v in values]


def format_bound(value: Fraction, up: bool, digits: int = 10) -> str:
    """``value`` rounded outward (up or down) to ``digits`` significant decimal digits, as an exact decimal string.

    Rounding the lower end of an enclosure down and the upper end up keeps it an enclosure, and the string
    (read back with :func:`parse_rational`) is an exact rational.

    >>> format_bound(Fraction(1, 3), up=False, digits=4), format_bound(Fraction(1, 3), up=True, digits=4)
    ('3.333e-1', '3.334e-1')
    >>> format_bound(Fraction(-2), up=True)
    '-2'
    """
    if value == 0:
        return "0"
    if value.denominator == 1 and abs(value.numerator) < 10**digits:
        return str(value.numerator)
    mag = abs(value)
    e = int((mag.numerator.bit_length() - mag.denominator.bit_length()) * 0.30102999566398120)
    while Fraction(10) ** e > mag:
        e -= 1
    while Fraction(10) ** (e + 1) <= mag:
        e += 1
    scaled = value * Fraction(10) ** (digits - 1 - e)
    m = -((-scaled.numerator) // scaled.denominator) if up else scaled.numerator // scaled.denominator
    if abs(m) == 10**digits:  # rounding carried into a new digit: m is ±10^digits, so dividing is exact
        m, e = m // 10, e + 1
    sign, ds = ("-" if m < 0 else ""), str(abs(m))
    return f"{sign}{ds[0]}.{ds[1:]}e{e}" if len(ds) > 1 else f"{sign}{ds}e{e}"

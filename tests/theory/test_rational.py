"""fcc_theory.rational: exact parsing/formatting at the boundary; floats and malformed text refused."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fcc_theory.errors import UserError
from fcc_theory.rational import RationalError, format_rational, format_vector, parse_rational, parse_vector


@pytest.mark.parametrize(
    "text, value",
    [
        ("3/4", Fraction(3, 4)),
        ("-2/6", Fraction(-1, 3)),
        ("0.1", Fraction(1, 10)),
        ("7", Fraction(7)),
        ("+1/2", Fraction(1, 2)),
        ("1e-2", Fraction(1, 100)),
        (" 5 ", Fraction(5)),
        (3, Fraction(3)),
        (Fraction(2, 3), Fraction(2, 3)),
    ],
)
def test_parse_exact(text: object, value: Fraction) -> None:
    assert parse_rational(text) == value


@pytest.mark.parametrize("bad", [0.5, True, "abc", "1/0", "1/", "", None, [1], "1//2", "nan", "inf"])
def test_parse_refuses(bad: object) -> None:
    with pytest.raises(RationalError) as exc:
        parse_rational(bad, what="entry")
    msg = str(exc.value)
    assert "\n" not in msg and "entry" in msg
    assert isinstance(exc.value, UserError)


def test_float_message_suggests_exact_string() -> None:
    with pytest.raises(RationalError, match='"3/2"'):
        parse_rational(1.5)


@given(st.fractions(max_denominator=10**6))
def test_format_parse_roundtrip(q: Fraction) -> None:
    assert parse_rational(format_rational(q)) == q


def test_vectors() -> None:
    assert parse_vector("3/4, 0,-1") == (Fraction(3, 4), Fraction(0), Fraction(-1))
    assert format_vector([Fraction(1, 2), 3]) == ["1/2", "3"]
    for bad in ("", "1,,2", "1,x", ","):
        with pytest.raises(RationalError):
            parse_vector(bad, what="--x")

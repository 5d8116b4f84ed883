"""FCC's scaling factors τ_i, paper Eqs. 2-4, in exact rationals.

``i`` is the class's *rank* (0 = the majority class) under whichever order
the caller chooses; the official code (lijian16/FCC) uses the label id and
rounds to two decimals, which is ``round_decimals=2`` here.

* uniform (Eq. 2):          τ_i = 1 + γ
* equal difference (Eq. 3): τ_i = 1 + γ (1 - i/C)
* half (Eq. 4):             τ_i = 1 + γ (1 - i/C) φ((-1)^β (i - C/2)),
  φ(t) = 1 if t < 0 else 0; β = 0 compresses the top 50 % (majority) classes,
  β = 1 the bottom 50 %.

>>> [str(t) for t in tau_values("edc", Fraction(1, 2), 4)]
['3/2', '11/8', '5/4', '9/8']
>>> [str(t) for t in tau_values("half", Fraction(1, 2), 4, beta=0)]
['3/2', '11/8', '1', '1']
>>> [str(t) for t in tau_values("edc", Fraction(1), 100, round_decimals=2)][-2:]
['51/50', '101/100']
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

from fcc_theory.errors import UserError

__all__ = ["STRATEGIES", "tau_values"]

STRATEGIES = ("uniform", "edc", "half")


def _phi(t: Fraction) -> int:
    return 1 if t < 0 else 0


def tau_values(
    strategy: str, gamma: Fraction | int | str, num_classes: int, beta: int = 0, round_decimals: int | None = None
) -> list[Fraction]:
    """τ for class ranks 0..C-1 (rank 0 = majority), exactly.

    ``round_decimals`` rounds half-to-even like Python's ``round`` (the
    official code's ``round(x, 2)``) but on the exact value.
    """
    g = Fraction(gamma)
    C = int(num_classes)
    if strategy not in STRATEGIES:
        raise UserError(f"unknown FCC strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if g <= 0:
        raise UserError(f"FCC gamma must be > 0 (paper Eqs. 2-4), got {g}; set fcc.gamma to a positive value")
    if C < 1:
        raise UserError(f"number of classes must be >= 1, got {C}")
    if beta not in (0, 1):
        raise UserError(f"FCC beta must be 0 (compress the top half) or 1 (the bottom half), got {beta}")
    out = []
    for i in range(C):
        if strategy == "uniform":
            t = 1 + g
        elif strategy == "edc":
            t = 1 + g * (1 - Fraction(i, C))
        else:
            t = 1 + g * (1 - Fraction(i, C)) * _phi((-1) ** beta * (i - Fraction(C, 2)))
        if round_decimals is not None:
            q = Decimal(t.numerator) / Decimal(t.denominator)
            t = Fraction(q.quantize(Decimal(1).scaleb(-round_decimals), rounding=ROUND_HALF_EVEN))
        out.append(t)
    return out

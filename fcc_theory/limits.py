"""Every resource limit of the theory commands, in one place, each with a one-line error naming it.

The verifier computes in exact rationals, so an innocent-looking input can ask for unbounded work: a
decimal exponent of a billion (``1e1000000000``) is a billion-digit integer, 25 layers of ``10^200/3``
weights multiply into numbers with thousands of digits, a 3-3000-2 network in numpy batches of 100,000
rows is 13 GiB. These limits refuse such inputs up front (exit 2, one line) instead of hanging, running
out of memory, or hitting Python's own 4,300-digit int/str limit with a traceback.

>>> check_number_text("1e5", "--tau")
>>> check_number_text("1e1000000000", "--tau")
Traceback (most recent call last):
...
fcc_theory.limits.LimitError: --tau '1e1000000000' has a decimal exponent of 1000000000; the limit is 1000 (MAX_EXPONENT): write the number with a smaller exponent
>>> numpy_batch_rows(10_000, 100_000)
3200
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable

from fcc_theory.errors import UserError

__all__ = [
    "MAX_BITS",
    "MAX_DIGITS",
    "MAX_EXACT_DIGITS",
    "MAX_EXPONENT",
    "MAX_FILE_BYTES",
    "MAX_HYPOTHESIS_PARAMETERS",
    "MAX_JSON_DEPTH",
    "MAX_NUMPY_CELLS",
    "MAX_PARAMETERS",
    "START_BITS",
    "LimitError",
    "check_exact_size",
    "check_input_file",
    "check_number_text",
    "check_parameters",
    "numpy_batch_rows",
    "prepare_output_dir",
    "prepare_output_file",
]

#: digits of one number as written (numerator and denominator each, or a decimal's digits)
MAX_DIGITS = 1000
#: |N| of a decimal exponent ``eN``: ``1e1000`` is a 1001-digit integer, ``1e1000000000`` would be a billion digits
MAX_EXPONENT = 1000
#: digits of any exact value the forward pass builds (numerator + denominator); below Python's 4,300-digit
#: int/str limit, so that every exact result can also be printed
MAX_EXACT_DIGITS = 4000
#: nesting depth of a network JSON file (the format needs 4: object, layers, layer, rows)
MAX_JSON_DEPTH = 32
#: size of a network JSON file
MAX_FILE_BYTES = 16 * 2**20
#: weights + biases of one network (exact evaluation)
MAX_PARAMETERS = 200_000
#: float64 cells (rows × parameters) of one numpy batch (8 bytes each: 256 MiB; einsum temporaries are smaller)
MAX_NUMPY_CELLS = 32_000_000
#: parameters + input entries a Hypothesis draw can hold (one byte each; Hypothesis's buffer is 8 KiB)
MAX_HYPOTHESIS_PARAMETERS = 4000
#: interval precision for tanh / sigmoid: start here, double until the sign is decided or MAX_BITS is reached
START_BITS = 64
MAX_BITS = 4096

_LOG10_2 = 0.30102999566398120


class LimitError(UserError):
    """An input beyond one of this module's limits (the message names the limit and the fix)."""


def check_number_text(text: str, what: str) -> None:
    """Refuse a number string whose digits or decimal exponent exceed :data:`MAX_DIGITS` / :data:`MAX_EXPONENT`."""
    body, _, exp = text.lower().partition("e")
    shown = repr(text) if len(text) <= 40 else repr(text[:20] + "..." + text[-8:])
    digits = sum(ch.isdigit() for ch in body)
    if digits > MAX_DIGITS:
        raise LimitError(
            f"{what} {shown} has {digits} digits; the limit is {MAX_DIGITS} per number (MAX_DIGITS): give a shorter rational"
        )
    if exp and (sum(ch.isdigit() for ch in exp) > 12 or abs(int(exp)) > MAX_EXPONENT):
        raise LimitError(
            f"{what} {shown} has a decimal exponent of {exp.lstrip('+')}; the limit is {MAX_EXPONENT} (MAX_EXPONENT): "
            "write the number with a smaller exponent"
        )


def _digits(v: Fraction) -> int:
    # from bit lengths: cheap, and an upper bound to within one digit
    return int((v.numerator.bit_length() + v.denominator.bit_length()) * _LOG10_2) + 2


def check_exact_size(values: Iterable[Fraction], where: str) -> None:
    """Refuse an exact intermediate value with more than :data:`MAX_EXACT_DIGITS` digits (numerator + denominator)."""
    for v in values:
        if v.numerator.bit_length() + v.denominator.bit_length() > MAX_EXACT_DIGITS / _LOG10_2:
            raise LimitError(
                f"the exact value at {where} has about {_digits(v)} digits, over the limit of {MAX_EXACT_DIGITS} "
                "(MAX_EXACT_DIGITS): use weights and inputs with fewer digits or fewer layers"
            )


def check_parameters(n: int, what: str = "network") -> None:
    """Refuse a network with more than :data:`MAX_PARAMETERS` weights and biases."""
    if n > MAX_PARAMETERS:
        raise LimitError(f"{what} has {n} parameters; the limit is {MAX_PARAMETERS} (MAX_PARAMETERS): use smaller widths")


def numpy_batch_rows(cells_per_row: int, batch: int) -> int:
    """Rows per numpy batch so that a batch holds at most :data:`MAX_NUMPY_CELLS` float64 cells."""
    if cells_per_row > MAX_NUMPY_CELLS:
        raise LimitError(
            f"one configuration has {cells_per_row} parameters; the numpy engine's limit is {MAX_NUMPY_CELLS} "
            "(MAX_NUMPY_CELLS): use smaller --widths"
        )
    return max(1, min(batch, MAX_NUMPY_CELLS // max(1, cells_per_row)))


def prepare_output_dir(path: str | Path, what: str) -> Path:
    """Create the output folder (and its parents); one line if the path is a file or cannot be created."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{what} {str(p)!r} is a file, not a folder; give a folder path (it is created if missing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{what} {str(p)!r} cannot be created ({exc.strerror}); give a writable folder") from None
    return p


def prepare_output_file(path: str | Path, what: str) -> Path:
    """Create the output file's parent folders; one line if the path is a folder or the parent cannot be made."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {str(p)!r} is a folder; give a file path such as {str(p / 'counterexample.json')!r}")
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{what} {str(p)!r}: {str(parent)!r} is a file, not a folder; give a path inside a folder")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{what} {str(p)!r}: the folder cannot be created ({exc.strerror}); give a writable path") from None
    return p


def check_input_file(path: str | Path, what: str) -> Path:
    """An existing regular file within :data:`MAX_FILE_BYTES`; else one line saying what the path is instead."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{what} {str(p)!r} is a directory, not a file; give the path of a JSON network file")
    if not p.exists():
        raise UserError(f"{what} {str(p)!r} does not exist; give the path of a JSON network file")
    if not p.is_file():
        raise UserError(f"{what} {str(p)!r} is not a regular file; give the path of a JSON network file")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LimitError(f"{what} {str(p)!r} has {size} bytes; the limit is {MAX_FILE_BYTES} (MAX_FILE_BYTES)")
    return p

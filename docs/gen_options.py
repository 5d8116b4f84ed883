"""Render every config key into docs/usage.md, between ``<!-- options:start -->`` and ``<!-- options:end -->``.

    python docs/gen_options.py           # rewrite the region from fcc_train/config.py
    python docs/gen_options.py --check   # exit 1 if the region is stale (what the test suite checks)

One row per key of :class:`fcc_train.config.Config`: the key, its default, what it allows (the values of
its ``Literal`` type from :data:`fcc_train.config.CHOICES`, or its numeric range from
:data:`fcc_train.config_ranges.RANGES`) and the comment written beside the field in ``config.py``. The
comments are read from the source with :mod:`tokenize` (dataclass fields carry no docstrings), so the
table says what the code says.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import io
import sys
import tokenize
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fcc_train import config as config_module  # noqa: E402
from fcc_train.config import CHOICES, Config  # noqa: E402
from fcc_train.config_ranges import RANGES, Range  # noqa: E402

USAGE = ROOT / "docs" / "usage.md"
START, END = "<!-- options:start -->", "<!-- options:end -->"
COMMAND = "python docs/gen_options.py"


def field_comments(source: str) -> dict[tuple[str, str], str]:
    """``{(class, field): comment}``: the trailing comment of each dataclass field, or the comment lines
    right above it (a field whose explanation does not fit on its line)."""
    comments: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    lines = source.splitlines()
    out: dict[tuple[str, str], str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
            inline = [comments[n] for n in range(first, last + 1) if n in comments]
            above: list[str] = []
            n = first - 1
            while n >= 1 and lines[n - 1].strip().startswith("#"):
                above.insert(0, comments[n])
                n -= 1
            out[(node.name, stmt.target.id)] = " ".join(above + inline)
    return out


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return str(v)


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _range(r: Range) -> str:
    """:meth:`Range.text` with whole numbers written in full (2**32 - 1, not 4.29497e+09)."""
    lo = "−∞" if r.low is None else _num(r.low)
    hi = "∞" if r.high is None else _num(r.high)
    if r.high is None:
        return f"{'>' if r.open_low else '≥'} {lo}"
    if r.low is None:
        return f"{'<' if r.open_high else '≤'} {hi}"
    return f"{'(' if r.open_low else '['}{lo}, {hi}{')' if r.open_high else ']'}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows(cls: type = Config, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(key, default, allowed, description)`` of every key, in declaration order."""
    comments = field_comments(Path(config_module.__file__).read_text())
    hints = typing.get_type_hints(cls)
    out: list[tuple[str, str, str, str]] = []
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if isinstance(t, type) and dataclasses.is_dataclass(t):
            out += rows(t, f"{prefix}{f.name}.")
            continue
        key = f"{prefix}{f.name}"
        if key in CHOICES:
            allowed = " \\| ".join(f"`{c}`" for c in CHOICES[key])
        elif key in RANGES:
            allowed = _range(RANGES[key])
        elif t is bool:
            allowed = "`true` \\| `false`"
        else:
            allowed = ""
        if typing.get_origin(t) in (typing.Union, types.UnionType) and type(None) in typing.get_args(t):
            allowed = f"{allowed}, or none" if allowed else "or none"
        out.append((key, _show(_default(f)), allowed, comments.get((cls.__name__, f.name), "")))
    return out


def render() -> str:
    """The region's text (between the markers, markers excluded)."""
    lines = [
        "",
        f"Generated from `fcc_train/config.py` by `{COMMAND}` (do not edit by hand; the test suite fails when",
        "this table is stale). *allowed*: the values a key accepts (any other is refused in one line, exit 2)",
        "or its numeric range.",
        "",
    ]
    section = None
    for key, default, allowed, desc in rows():
        head = key.split(".")[0] if "." in key else "(top level)"
        if head != section:
            section = head
            lines += [
                "",
                f"**`{head}`**" if "." in key else "**top level**",
                "",
                "| key | default | allowed | what it does |",
                "|---|---|---|---|",
            ]
        lines.append(f"| `{key}` | `{_cell(default)}` | {allowed} | {_cell(desc)} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n\n"


def splice(text: str, region: str) -> str:
    """``text`` with the region between the markers replaced; a ValueError if the markers are missing."""
    a, b = text.find(START), text.find(END)
    if a < 0 or b < a:
        raise ValueError(f"{USAGE.name} has no {START} ... {END} region")
    return text[: a + len(START)] + "\n" + region + text[b:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if docs/usage.md's region is stale; write nothing")
    args = p.parse_args(argv)
    text = USAGE.read_text()
    new = splice(text, render())
    if args.check:
        if new != text:
            print(f"docs/usage.md: the config key table is stale; run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    USAGE.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``fcc`` subcommands of the trainer wing, and the one ``--set KEY=VALUE ...`` option they share."""

from __future__ import annotations

import argparse

__all__ = ["add_overrides_argument", "overrides_of"]


def add_overrides_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--set KEY=VALUE [KEY=VALUE ...]``, repeatable; read back with :func:`overrides_of`."""
    parser.add_argument("--set", dest="overrides", action="append", nargs="+", default=[], metavar="KEY=VALUE", help=help)


def overrides_of(args: argparse.Namespace) -> list[str]:
    """Every ``--set`` item in command-line order (``--set a=1 b=2 --set c=3`` → [a=1, b=2, c=3]).

    >>> p = argparse.ArgumentParser(); add_overrides_argument(p, "overrides")
    >>> overrides_of(p.parse_args(["--set", "a=1", "b=2", "--set", "c=3"]))
    ['a=1', 'b=2', 'c=3']
    """
    return [item for group in args.overrides for item in group]

"""``fcc import-config OFFICIAL.yaml [-o OURS.yaml] [--official-quirks] [--depends-on STEM]``.

Converts an official FCC / Bag-of-Tricks-LT yacs config into this project's config format
(:mod:`fcc_train.experiments.official_config`; the key table is docs/official-configs.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("official", metavar="OFFICIAL.yaml", help="an official (upper-case yacs) config file")
    p.add_argument("-o", "--output", metavar="OURS.yaml", help="write the converted config here (default: print it)")
    p.add_argument(
        "--official-quirks",
        action="store_true",
        help="keep the official code's behaviour where a key here can express it (tau by label id rounded to 2 decimals, Remix batch-mean weights, ...)",
    )
    p.add_argument(
        "--depends-on",
        metavar="STEM",
        help="stage 2 / DiVe: the config (same folder) whose run is stage 1 / the teacher, for fcc sweep",
    )
    p.add_argument("--force", action="store_true", help="overwrite OURS.yaml if it exists")


def run(args: argparse.Namespace) -> int:
    from fcc_train.config import ConfigError
    from fcc_train.experiments.official_config import import_official, to_yaml

    imp = import_official(args.official, quirks=args.official_quirks, depends_on=args.depends_on)
    text = to_yaml(imp, Path(args.official).name, quirks=args.official_quirks)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise ConfigError(f"'{out}' exists; pass --force to overwrite it or choose another -o")
    try:
        out.write_text(text)
    except OSError as exc:
        raise ConfigError(f"cannot write '{out}' ({exc.strerror}); choose a writable -o") from None
    print(f"wrote {out}")
    for note in imp.notes:
        print(f"note: {note}")
    return 0

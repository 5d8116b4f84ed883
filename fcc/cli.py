"""``fcc`` subcommand dispatcher.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``. Only the chosen subcommand's module is imported, so
``fcc verify`` never loads torch; trainer modules import torch inside ``run``
or at their own import, never here.

Exit codes: whatever ``run`` returns; 2 for bad input (:class:`UserError`,
printed as one line without a traceback); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

# name -> (module, one-line help). Theory commands first, then the trainer's.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("fcc_theory.commands.verify", "decide every claim of the paper's Eqs. 5-9 exactly"),
    "check": ("fcc_theory.commands.check", "evaluate one network, x and tau exactly (margins, slab, verdict)"),
    "search": ("fcc_theory.commands.search", "search for (and shrink) counterexamples to a claim"),
    "figures": ("fcc_theory.commands.figures", "draw Fig. 3, Fig. 2 and the slab figures from exact configurations"),
    "demo": ("fcc.demo", "the main job: fcc verify, then digits-LT raw vs FCC on CPU (needs the train extra)"),
    "train": ("fcc_train.commands.train", "train one experiment from a YAML config (resumes when re-run)"),
    "data": ("fcc_train.commands.data", "print a data set's per-class counts and shot splits"),
    "methods": ("fcc_train.commands.methods", "list every long-tailed method, its source and hyperparameters"),
    "sweep": ("fcc_train.commands.sweep", "run a table's configs (raw and +FCC), skipping finished runs"),
    "analyze": ("fcc_train.commands.analyze", "check a trained head against the theory (flips, slabs, identity)"),
    "table": ("fcc_train.commands.table", "lay results out beside the paper's Tables 1-2"),
    "import-config": ("fcc_train.commands.import_config", "convert an official FCC / BoT-LT yacs config to ours"),
    "config": ("fcc_train.commands.config", "config show: print the resolved config (defaults filled, --set applied)"),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fcc",
        description="FCC (CVPR 2023): an exact verifier of the paper's proof and a long-tailed trainer.",
    )
    from fcc import __version__

    parser.add_argument("--version", action="version", version=f"fcc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            importlib.import_module(module).add_arguments(p)
    return parser


def _glue_negative_values(argv: list[str]) -> list[str]:
    """``--x -1,0,0`` → ``--x=-1,0,0``: argparse would read a value starting with '-' as an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if (
            a.startswith("--")
            and "=" not in a
            and nxt is not None
            and len(nxt) > 1
            and nxt[0] == "-"
            and (nxt[1].isdigit() or nxt[1] in "./")
        ):
            out.append(f"{a}={nxt}")
            i += 2
            continue
        out.append(a)
        i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    from fcc_theory.errors import UserError

    argv = _glue_negative_values(list(sys.argv[1:] if argv is None else argv))
    selected = next((a for a in argv if not a.startswith("-")), None)
    if selected not in COMMANDS:
        selected = None
    try:
        parser = build_parser(selected)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {"torch", "yaml", "sklearn"}:
            print(
                f"fcc: error: '{selected}' needs the train extra ({exc.name} is missing); install it with: pip install torch==2.13.0 && pip install -e '.[train]'",
                file=sys.stderr,
            )
            return 2
        raise
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except UserError as exc:
        print(f"fcc {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fcc {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0

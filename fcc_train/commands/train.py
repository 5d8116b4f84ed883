"""``fcc train``: train one experiment from a YAML config; re-running the same command resumes."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_arguments", "run", "default_out"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="experiment YAML (see configs/)")
    parser.add_argument("--data-root", default=None, help="folder holding the data set (sets data.root)")
    parser.add_argument("--out", default=None, help="run folder (default runs/<config name>)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. --set optim.epochs=10 train.seed=1",
    )
    parser.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (sets train.device)")


def default_out(cfg_name: str) -> Path:
    return Path("runs") / cfg_name


def run(args: argparse.Namespace) -> int:
    from fcc_train.config import load_config
    from fcc_train.run import run_training

    overrides = [item for group in args.overrides for item in group]
    if args.data_root is not None:
        overrides.append(f"data.root={args.data_root}")
    if args.device is not None:
        overrides.append(f"train.device={args.device}")
    cfg = load_config(args.config, overrides)
    out = Path(args.out) if args.out else default_out(cfg.name)
    return run_training(cfg, out)

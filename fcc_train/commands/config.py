"""``fcc config show [--config FILE] [--set KEY=VALUE ...] [--json]``: the resolved config.

The same resolution as ``fcc train`` (:func:`fcc_train.config.load_config`): defaults filled in,
overrides applied, validated; printed as YAML (default) or JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

from fcc_train.commands import add_overrides_argument, overrides_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="print the resolved config (defaults filled, overrides applied)")
    show.add_argument("--config", metavar="FILE", help="experiment YAML (default: the built-in defaults)")
    add_overrides_argument(show, "override a config key, e.g. optim.epochs=10")
    show.add_argument("--json", action="store_true", help="print JSON instead of YAML")


def run(args: argparse.Namespace) -> int:
    from fcc_train.config import config_to_dict, load_config

    resolved = config_to_dict(load_config(args.config, overrides_of(args)))
    if args.json:
        print(json.dumps(resolved, indent=2))
        return 0
    import yaml

    sys.stdout.write(yaml.safe_dump(resolved, sort_keys=False, width=130))
    return 0

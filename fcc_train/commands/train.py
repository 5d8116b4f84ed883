"""``fcc train``: train one experiment from a YAML config; re-running the same command resumes.

Several runs in one process (they share one GPU, each on its own CUDA stream,
their epochs overlapped; see :mod:`fcc_train.fleet.multirun`)::

    fcc train --config configs/cifar10_lt100/ce.yaml --config configs/cifar10_lt100/ce_fcc.yaml --out runs/c10
    fcc train --jobs jobs.yaml          # a list of {config: ..., out: ..., set: [KEY=VALUE, ...]}

With several ``--config`` files, ``--out`` is the parent folder (default
``runs``) and each run trains into ``<out>/<config name>``; ``--set`` applies
to every run. In a jobs file each entry's own ``set`` comes after the
command line's, so it wins. ``--stack`` trains the runs that can step in
lockstep (same recipe, CIFAR ResNet, one head kind, one stage) as one network of
grouped convolutions (:mod:`fcc_train.fleet.stacked_runs`): one kernel launch does
every run's work.

A finished run continues to more epochs with ``--extend``; the stored config may then differ in
``optim.epochs`` and in milestones after its last epoch, and the schedule of the new epochs is stated
at start (:func:`fcc_train.train.schedule.extension_schedule`)::

    fcc train --config configs/digits/ce.yaml --out runs/d --extend 120
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fcc_train.commands import add_overrides_argument, overrides_of

__all__ = ["add_arguments", "default_out", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="experiment YAML (see configs/); repeat it to train several runs in one process",
    )
    parser.add_argument("--jobs", default=None, help="YAML/JSON list of runs {config, out, set} trained together in one process")
    parser.add_argument(
        "--stack",
        action="store_true",
        help="with several runs: train those that step in lockstep as one stacked network (grouped convolutions)",
    )
    parser.add_argument("--data-root", default=None, help="folder holding the data set (sets data.root)")
    parser.add_argument(
        "--out", default=None, help="run folder (default runs/<config name>); with several configs, their parent folder"
    )
    add_overrides_argument(parser, "override config keys, e.g. --set optim.epochs=10 train.seed=1")
    parser.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N (sets train.device)")
    parser.add_argument(
        "--extend",
        nargs="?",
        const="",
        default=None,
        metavar="EPOCHS",
        help="continue the finished run in --out to more epochs: --extend 300, or --extend with --set optim.epochs=300 "
        "(only optim.epochs and milestones after the run's last epoch may change)",
    )


def default_out(cfg_name: str) -> Path:
    return Path("runs") / cfg_name


def run(args: argparse.Namespace) -> int:
    from fcc_theory.errors import UserError
    from fcc_train.config import load_config

    overrides = overrides_of(args)
    if args.data_root is not None:
        overrides.append(f"data.root={args.data_root}")
    if args.device is not None:
        overrides.append(f"train.device={args.device}")
    if not args.config and not args.jobs:
        raise UserError("no experiment given; pass --config FILE (see configs/) or --jobs FILE")
    if args.config and args.jobs:
        raise UserError("--config and --jobs cannot be combined; list every run in the jobs file")
    extend = args.extend is not None
    if extend and (args.jobs or len(args.config) != 1):
        raise UserError("--extend continues one run; pass one --config and its --out")
    if args.extend:
        if not args.extend.isdigit():
            raise UserError(f"--extend {args.extend!r} is not a number of epochs; write e.g. --extend 300")
        overrides.append(f"optim.epochs={args.extend}")
    if len(args.config) == 1:
        from fcc_train.train.loop import run_training

        cfg = load_config(args.config[0], overrides)
        out = Path(args.out) if args.out else default_out(cfg.name)
        return run_training(cfg, out, extend=extend)

    from fcc_train.experiments.run_request import RunRequest
    from fcc_train.fleet.multirun import report, run_many

    specs: list[RunRequest] = []
    if args.jobs:
        from fcc_train.experiments.run_request import read_jobs_file

        for entry in read_jobs_file(args.jobs):
            req = entry.after(overrides)  # the entry's own overrides come after the command line's
            specs.append(req)
    else:
        parent = Path(args.out) if args.out else Path("runs")
        for path in args.config:
            cfg = load_config(path, overrides)
            specs.append(RunRequest.of_config(cfg, parent / cfg.name))
    return report(run_many(specs, stack=args.stack))

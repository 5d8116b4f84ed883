"""``fcc sweep``: run a table's configs raw and +FCC as ``fcc train`` subprocesses, K at once, and collect the results.

    fcc sweep --table 1 --benchmark cifar10_lt100 [--methods bsce,remix] [--seeds 0,1,2] [--parallel P]
              [--per-process K [--stack]] [--dry-run]
              [--data-root DIR] [--out DIR] [--configs DIR] [--set KEY=VALUE ...] [--device D]
              [--launcher slurm [--slurm-config FILE] [--gpus-per-run G] [--time-min M] ... [--no-wait]]
    fcc sweep --status OUT

``--launcher slurm`` submits every run as its own Slurm job instead (:mod:`fcc_train.experiments.slurm`: chains
as job dependencies, requeue and resume, one task per GPU); ``--status OUT`` prints each run's state from the
folder (:mod:`fcc_train.experiments.sweep_status`).

Which runs a table needs and how they chain: :mod:`fcc_train.experiments.plan`; how they are trained
(``--parallel P`` processes, ``--per-process K`` runs each, ``--stack``), skipped when done and collected:
:mod:`fcc_train.experiments.sweep`. Results: ``<out>/<benchmark>/sweep_results.json`` and ``.csv``, one row
per run (method, variant raw/fcc, seed, best/last top-1 error, many/medium/few, status).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fcc_train.commands import add_overrides_argument
from fcc_train.experiments.plan import Job, SweepOptions, next_group, plan_jobs, plan_lines
from fcc_train.experiments.sweep import all_succeeded, collect, run_all, write_results

# Job, plan_jobs, collect and next_group live in fcc_train.experiments; importable from here as before
__all__ = ["Job", "add_arguments", "collect", "next_group", "plan_jobs", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table",
        type=int,
        default=1,
        help="which table's methods to run (1: CIFAR-LT, 2: ImageNet-LT / iNat18 single-model rows)",
    )
    parser.add_argument(
        "--benchmark", default=None, help="cifar10_lt100 | cifar10_lt50 | cifar100_lt100 | cifar100_lt50 | digits (required)"
    )
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated config stems (default: the table's rows that the paper reports on --benchmark); see fcc methods",
    )
    parser.add_argument("--variants", default="raw,fcc", help="raw,fcc (default both)")
    parser.add_argument("--seeds", default="42", help="comma-separated train.seed values (default 42, the official seed)")
    parser.add_argument("--parallel", type=int, default=1, help="training processes at once (default 1)")
    parser.add_argument(
        "--per-process",
        type=int,
        default=1,
        help="runs trained together in each process, on one GPU with a CUDA stream each (default 1; see fcc train --jobs)",
    )
    parser.add_argument(
        "--stack", action="store_true", help="with --per-process K: stack each process's compatible runs (fcc train --stack)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the runs and their commands; train nothing")
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="delete and train again the run folders that hold a run of another config (otherwise the sweep refuses them)",
    )
    parser.add_argument("--data-root", default=None, help="folder holding the data set (passed to fcc train)")
    parser.add_argument("--out", default="runs/sweep", help="sweep folder (default runs/sweep)")
    parser.add_argument("--configs", default="configs", help="configs folder (default configs)")
    parser.add_argument("--device", default=None, help="passed to fcc train")
    add_overrides_argument(parser, "extra overrides for every run (e.g. optim.epochs=2 for a smoke test)")
    parser.add_argument(
        "--launcher", choices=("local", "slurm"), default="local", help="local process pool (default) or one Slurm job per run"
    )
    parser.add_argument(
        "--status", metavar="OUT", default=None, help="print each run's state in the sweep folder OUT; run nothing"
    )
    from fcc_train.experiments.slurm_resources import add_slurm_arguments

    add_slurm_arguments(parser)


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _print_status(out: Path) -> int:
    from fcc_theory.errors import UserError
    from fcc_train.experiments.sweep_status import format_states, sweep_states

    if not out.is_dir():
        raise UserError(f"sweep folder '{out}' does not exist; pass the --out of a sweep")
    states = sweep_states(out)
    if not states:
        raise UserError(f"no runs under '{out}'; pass the --out of a sweep (it holds <benchmark>/<config>/seed<k>)")
    print(format_states(states))
    return 0 if all(s.state == "done" for s in states) else 1


def run(args: argparse.Namespace) -> int:
    if args.status is not None:
        return _print_status(Path(args.status))
    opts = SweepOptions.of(args)
    jobs = plan_jobs(opts)
    if args.dry_run:
        print("\n".join(plan_lines(jobs, opts)))
        return 0
    if args.launcher == "slurm":
        from fcc_train.experiments.slurm import run_on_slurm

        if not run_on_slurm(jobs, args):  # --no-wait: submitted, nothing to collect yet
            return 0
    else:
        run_all(jobs, opts)
    assert opts.benchmark is not None  # plan_jobs above rejected a sweep without --benchmark
    rows = collect(jobs, opts.benchmark)
    pj, pc = write_results(rows, opts.folder)
    print(f"{'run':<28} {'status':<13} {'best err':>8} {'last err':>8}")
    for r, j in zip(rows, jobs, strict=True):
        print(f"{j.name:<28} {r['status']:<13} {_fmt(r['best_top1_error']):>8} {_fmt(r['last_top1_error']):>8}")
    print(f"results: {pj} and {pc}")
    return 0 if all_succeeded(jobs) else 1

"""``fcc sweep``: run a table's configs raw and +FCC as ``fcc train`` subprocesses, K at once, and collect the results.

    fcc sweep --table 1 --benchmark cifar10_lt100 [--methods bsce,remix] [--seeds 0,1,2] [--parallel P]
              [--per-process K [--stack]] [--dry-run]
              [--data-root DIR] [--out DIR] [--configs DIR] [--set KEY=VALUE ...] [--device D]

Which runs a table needs and how they chain: :mod:`fcc_train.experiments.plan`; how they are trained
(``--parallel P`` processes, ``--per-process K`` runs each, ``--stack``), skipped when done and collected:
:mod:`fcc_train.experiments.sweep`. Results: ``<out>/<benchmark>/sweep_results.json`` and ``.csv``, one row
per run (method, variant raw/fcc, seed, best/last top-1 error, many/medium/few, status).
"""

from __future__ import annotations

import argparse
from typing import Any

from fcc_train.commands import add_overrides_argument
from fcc_train.experiments.plan import Job, SweepOptions, next_group, plan_jobs, plan_lines
from fcc_train.experiments.sweep import all_succeeded, collect, run_all, write_results

# Job, plan_jobs, collect and next_group live in fcc_train.experiments; importable from here as before
__all__ = ["add_arguments", "run", "Job", "plan_jobs", "collect", "next_group"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", type=int, default=1, help="which table's methods to run (1: the CIFAR-LT single-model methods)"
    )
    parser.add_argument(
        "--benchmark", required=True, help="cifar10_lt100 | cifar10_lt50 | cifar100_lt100 | cifar100_lt50 | digits"
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated config stems (default: every Table 1 row); see fcc methods"
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
    parser.add_argument("--data-root", default=None, help="folder holding the data set (passed to fcc train)")
    parser.add_argument("--out", default="runs/sweep", help="sweep folder (default runs/sweep)")
    parser.add_argument("--configs", default="configs", help="configs folder (default configs)")
    parser.add_argument("--device", default=None, help="passed to fcc train")
    add_overrides_argument(parser, "extra overrides for every run (e.g. optim.epochs=2 for a smoke test)")


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def run(args: argparse.Namespace) -> int:
    opts = SweepOptions.of(args)
    jobs = plan_jobs(opts)
    if args.dry_run:
        print("\n".join(plan_lines(jobs, opts)))
        return 0
    run_all(jobs, opts)
    rows = collect(jobs, opts.benchmark)
    pj, pc = write_results(rows, opts.folder)
    print(f"{'run':<28} {'status':<13} {'best err':>8} {'last err':>8}")
    for r, j in zip(rows, jobs, strict=True):
        print(f"{j.name:<28} {r['status']:<13} {_fmt(r['best_top1_error']):>8} {_fmt(r['last_top1_error']):>8}")
    print(f"results: {pj} and {pc}")
    return 0 if all_succeeded(jobs) else 1

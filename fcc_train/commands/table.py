"""``fcc table RUNS...``: our raw / +FCC results (mean ± std over seeds) beside the paper's Tables 1-2."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run folders (with summary.json), or folders holding them")
    parser.add_argument("--format", choices=("md", "csv", "html"), default="md", help="output format (default md)")
    parser.add_argument(
        "--metric",
        choices=("best", "last"),
        default="best",
        help="which epoch's top-1 error to report (default best, as the official code prints)",
    )
    parser.add_argument(
        "--paper-benchmark",
        default=None,
        metavar="BENCH",
        help="paper column to show beside runs on a benchmark the paper lacks (e.g. cifar10_lt100 for digits-LT)",
    )
    parser.add_argument("--out", default=None, help="also write the table to this file")


def run(args: argparse.Namespace) -> int:
    from fcc_train.results.run_results import find_runs
    from fcc_train.results.tables import build_rows, render

    runs = find_runs(args.runs)
    text = render(build_rows(runs, args.metric, args.paper_benchmark), args.format, args.metric)
    sys.stdout.write(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
    return 0

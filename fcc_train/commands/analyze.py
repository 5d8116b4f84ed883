"""``fcc analyze RUN_DIR``: check a trained head against the slab theory (:mod:`fcc_train.analysis.report`).

Exit status: 0 when theory and exact measurement agree everywhere, 1 when not. With ``--figures DIR`` it
draws Fig. 2(b) and, given ``--compare RAW_RUN``, Fig. 4(b) and Fig. 6; ``--strategies RUN...`` draws
Fig. 4(a) from finished runs of the three strategies and several γ (RUN_DIR may then be omitted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fcc_theory.errors import UserError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run folder written by fcc train")
    parser.add_argument("--split", choices=("test", "train"), default="test", help="features of which split (default test)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best", help="which checkpoint (default best)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the JSON report to FILE")
    parser.add_argument(
        "--figures", default=None, metavar="DIR", help="draw Fig. 2(b) (+ 4(b), 6 with --compare; 4(a) with --strategies)"
    )
    parser.add_argument(
        "--compare", default=None, metavar="RAW_RUN", help="a run without FCC (same data) for Fig. 4(b) and Fig. 6"
    )
    parser.add_argument(
        "--strategies", nargs="+", default=None, metavar="RUN", help="finished runs (or folders of them) for Fig. 4(a)"
    )
    parser.add_argument("--class", dest="cls", type=int, default=None, help="class of Fig. 2(b) (default: the majority class)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")


def run(args: argparse.Namespace) -> int:
    if args.run_dir is None and not args.strategies:
        raise UserError("give a RUN_DIR (a folder written by fcc train), or --strategies RUN... with --figures DIR for Fig. 4(a)")
    if (args.strategies or args.compare) and not args.figures:
        raise UserError("--strategies and --compare draw figures; add --figures DIR")
    figs = Path(args.figures) if args.figures else None
    written: list[str] = []
    code = 0
    if args.strategies and figs is not None:
        from fcc_train.analysis.figures import fig4a_strategies
        from fcc_train.analysis.report import strategy_entries, strategy_title

        entries, raw = strategy_entries(args.strategies)
        title = strategy_title(args.strategies)
        written.append(str(fig4a_strategies(entries, raw, figs / "fig4a_strategies.png", title)))
    if args.run_dir is not None:
        code = _analyze(args, figs, written)
    for w in written:
        print(f"wrote {w}", file=sys.stderr if args.json else sys.stdout)
    return code


def _analyze(args: argparse.Namespace, figs: Path | None, written: list[str]) -> int:
    from fcc_train.analysis.report import analyze_run, format_report, run_figures

    analysis = analyze_run(args.run_dir, args.checkpoint, args.split, args.device)
    js = analysis.report
    if figs is not None:
        written.extend(run_figures(analysis, figs, args.cls, args.compare, args.checkpoint, args.split, args.device))
        js["figures"] = written
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(js, indent=1))
    print(json.dumps(js, indent=1) if args.json else format_report(js, js["meta"]))
    return 0 if analysis.ok else 1

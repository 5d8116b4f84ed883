"""Train the multi-expert methods on digits-LT (raw and +FCC, seeds 0, 1, 2) and print the results table.

    python benchmarks/digits_experts_table.py --out runs/digits_experts [--seeds 0,1,2] [--methods sade,ncl,ride,bbn]

Each run is ``fcc train --config configs/digits/<method>[_fcc].yaml --set train.seed=S`` (resumed or skipped when its
folder is finished). The table gives the mean ± std of the last-epoch top-1 error over the seeds, the seconds per
run, and the paper's CIFAR-100-LT-100 (Table 1) and ImageNet-LT (Table 2) cells from paper-tables.csv beside them.
docs/results.md, "Multi-expert methods on digits-LT", is this script's output (``python docs/gen_results.py
--section digits-experts`` runs it and rewrites that table).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAPER = {  # (Table 1 row, Table 2 row) in paper-tables.csv
    "sade": ("SADE", "SADE (ResNeXt-50)"),
    "ncl": ("NCL", "NCL (ResNet-50)"),
    "ride": (None, "RIDE"),
    "bbn": (None, "BBN (ResNet-50)"),
}


def _cell(label: str | None, benchmark: str) -> str:
    from fcc_train.results.paper_tables import paper_row

    row = paper_row(label, benchmark) if label else None
    if row is None or row.raw is None or row.fcc is None:
        return "–"
    return f"{row.raw:.2f} → {row.fcc:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/digits_experts")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default="sade,ncl,ride,bbn")
    ap.add_argument("--no-train", action="store_true", help="train nothing: a run folder that is not finished is an error")
    args = ap.parse_args()
    import torch

    from fcc_train.config import load_config
    from fcc_train.train.loop import run_training

    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    for key in args.methods.split(","):
        cells = {}
        for fcc in (False, True):
            stem = key + ("_fcc" if fcc else "")
            errs, secs = [], []
            for seed in seeds:
                out = Path(args.out) / stem / f"seed{seed}"
                cfg = load_config(ROOT / "configs" / "digits" / f"{stem}.yaml", [f"train.seed={seed}", "train.progress=none"])
                if args.no_train:
                    if not (out / "summary.json").is_file():
                        raise SystemExit(f"{out} has no finished run; run without --no-train to train it")
                elif run_training(cfg, out, log=lambda msg: print(msg, file=sys.stderr)) != 0:
                    raise SystemExit(f"run {out} failed")
                summary = json.loads((out / "summary.json").read_text())
                errs.append(summary["last_top1_error"])
                secs.append(summary.get("seconds") or 0.0)
            cells[fcc] = (statistics.mean(errs), statistics.stdev(errs) if len(errs) > 1 else 0.0, statistics.mean(secs))
        t1, t2 = PAPER[key]
        rows.append((key, cells, _cell(t1, "cifar100_lt100"), _cell(t2, "imagenet_lt")))
    print(
        "| method | digits-LT raw | digits-LT +FCC | s / run | paper CIFAR-100-LT-100 raw → +FCC | paper ImageNet-LT raw → +FCC |"
    )
    print("|---|---|---|---|---|---|")
    for key, cells, p1, p2 in rows:
        (rm, rs, rt), (fm, fs, ft) = cells[False], cells[True]
        print(f"| {key} | {rm:.2f} ± {rs:.2f} | {fm:.2f} ± {fs:.2f} | {(rt + ft) / 2:.0f} | {p1} | {p2} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

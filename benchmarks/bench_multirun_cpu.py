"""K digits-LT runs three ways on one CPU thread: one after another, interleaved in one process, stacked.

The digits net (ResNet-8 on 8×8 images, batch 64) is small enough that a CPU step is mostly
per-operation overhead, the same regime a ResNet-32 step is in on a large GPU; stacking K runs
into one grouped-convolution network (``fcc train --stack``) pays that overhead once for K runs.
Every mode trains the same K configs (``configs/digits/ce_fcc.yaml``, seeds 0..K-1, the full
60-epoch recipe, evaluation every epoch) in a fresh folder; the modes alternate over
``--repeats``; medians are reported with each run's final top-1 error, so equal accuracy is
visible beside the speed.

    OMP_NUM_THREADS=1 python benchmarks/bench_multirun_cpu.py --k 4 --repeats 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_mode(mode: str, k: int, epochs: int, root: Path) -> dict:
    from fcc_train.config import load_config
    from fcc_train.experiments.run_request import RunRequest
    from fcc_train.fleet.multirun import run_many
    from fcc_train.train.loop import run_training

    sets = ["train.progress=none", "train.device=cpu", "train.threads=1", f"optim.epochs={epochs}"]
    cfgs = [load_config(ROOT / "configs/digits/ce_fcc.yaml", sets + [f"train.seed={i}"]) for i in range(k)]
    outs = [root / f"{mode}{i}" for i in range(k)]
    sink = open(os.devnull, "w")  # noqa: SIM115 - closed after the timed block
    t0 = time.perf_counter()
    if mode == "sequential":
        codes = [run_training(c, o, log=lambda s: None, stream=sink) for c, o in zip(cfgs, outs, strict=True)]
    else:
        codes = [
            o.exit_code
            for o in run_many(
                [RunRequest.of_config(c, o) for c, o in zip(cfgs, outs, strict=True)], stream=sink, stack=(mode == "stacked")
            )
        ]
    wall = time.perf_counter() - t0
    errs = [json.loads((o / "summary.json").read_text())["last_top1_error"] for o in outs]
    return {"wall_s": wall, "exit_codes": codes, "last_top1_error": [round(e, 2) for e in errs]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--modes", default="sequential,interleaved,stacked")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    modes = a.modes.split(",")
    results: dict[str, list[dict]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="fccmulti") as tmp:
        for rep in range(a.repeats):
            for m in modes:
                r = run_mode(m, a.k, a.epochs, Path(tmp) / f"rep{rep}")
                results[m].append(r)
                print(f"[{m} repeat {rep}] {r['wall_s']:.1f} s, last errors {r['last_top1_error']}", flush=True)
    base = statistics.median(r["wall_s"] for r in results[modes[0]])
    table = {}
    print(f"\n{'mode':<12} {'median s':>9} {'vs ' + modes[0]:>16}  last top-1 errors (repeat 0)")
    for m in modes:
        med = statistics.median(r["wall_s"] for r in results[m])
        table[m] = {
            "median_wall_s": round(med, 2),
            "walls": [round(r["wall_s"], 2) for r in results[m]],
            "speedup_vs_" + modes[0]: round(base / med, 2),
            "runs": results[m],
        }
        print(f"{m:<12} {med:>9.1f} {base / med:>15.2f}x  {results[m][0]['last_top1_error']}")
    if a.json:
        meta = {
            "k": a.k,
            "epochs": a.epochs,
            "repeats": a.repeats,
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "threads": 1,
        }
        Path(a.json).write_text(json.dumps({"meta": meta, "modes": table}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

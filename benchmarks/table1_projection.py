"""How long Table 1 takes on one GPU, from the real sweep and measured rates (the 2-hour target for the whole table).

The run list is exactly what ``fcc sweep --table 1`` trains on the four CIFAR-LT benchmarks (stage-1
runs and DiVe teachers included), each run's images are ``epochs × steps_per_epoch × batch`` from
its own config (mixup recipes train 400 epochs, cRT/LWS 30, LTR-WB's second stage 10) and the
long-tailed training set size (Cao et al.'s profile; the CIFAR training sets hold 5,000 / 500 images
per class). Runs split into those ``fcc train --stack`` can stack
(:func:`fcc_train.fleet.stacked_runs.config_stack_problem`) and those that train alone beside the stacks.

With rates (aggregate training images/s) the projection is

    hours = stackable images / stacked rate + other images / alone rate

(the two parts one after another: a conservative bound, since alone runs can also overlap the
stacks on their own CUDA streams). Without a stacked rate it prints the stacked rate the target
needs. Rates come from the command line or from ``bench_gpu.py``'s JSON (``--from-json``: the best
``stacked_k*`` for the stacked rate, the best ``inprocess_k*`` or else the full single run for the
alone rate).

    python benchmarks/table1_projection.py --alone-rate 36300
    python benchmarks/table1_projection.py --from-json gpu_out/trainer.json --json projection.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCHMARKS = ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")
PER_CLASS = {"cifar10": (5000, 10), "cifar100": (500, 100)}  # the balanced CIFAR training sets


def sweep_args(benchmark: str, seeds: str = "42") -> SimpleNamespace:
    """The arguments ``fcc sweep --table 1 --benchmark B --seeds S`` plans its runs from."""
    return SimpleNamespace(
        table=1,
        benchmark=benchmark,
        parallel=1,
        per_process=1,
        stack=False,
        methods=None,
        variants="raw,fcc",
        seeds=seeds,
        configs=str(ROOT / "configs"),
        out="runs/sweep",
        overrides=[],
    )


def sweep_runs(benchmarks: tuple[str, ...] = BENCHMARKS, seeds: str = "42") -> list[dict]:
    """One row per run of ``fcc sweep --table 1``: benchmark, name, epochs, images, why it cannot stack (or None)."""
    from fcc_train.commands.sweep import plan_jobs
    from fcc_train.config import load_config
    from fcc_train.data.longtail import class_profile
    from fcc_train.fleet.stacked_runs import config_stack_problem

    rows = []
    for bench in benchmarks:
        for job in plan_jobs(sweep_args(bench, seeds)):
            cfg = load_config(job.config, [f"train.seed={job.seed}"])
            n_max, classes = PER_CLASS[cfg.data.dataset]
            n_train = sum(class_profile(cfg.data.imbalance_type, n_max, classes, cfg.data.imbalance_factor, cfg.data.step_ratio))
            steps = n_train // cfg.optim.batch_size  # drop_last
            rows.append(
                {
                    "benchmark": bench,
                    "run": job.name,
                    "epochs": cfg.optim.epochs,
                    "steps_per_epoch": steps,
                    "images": cfg.optim.epochs * steps * cfg.optim.batch_size,
                    "alone_because": config_stack_problem(cfg),
                }
            )
    return rows


def rates_from_json(path: str) -> tuple[float | None, float | None, str]:
    """(stacked rate, alone rate, where they came from) out of bench_gpu.py's JSON."""
    data = json.loads(Path(path).read_text())

    def best(prefix: str) -> float | None:
        vals = [
            v["aggregate_train_images_per_s"]
            for k, v in data.items()
            if k.startswith(prefix)
            and isinstance(v, dict)
            and v.get("aggregate_train_images_per_s")
            and not any(v.get("exit_codes") or [])
        ]
        return max(vals) if vals else None

    stacked, alone = best("stacked_k"), best("inprocess_k")
    source = "best stacked_k*, best inprocess_k*"
    if alone is None and isinstance(data.get("full_200_epochs_graphs"), dict):
        alone, source = data["full_200_epochs_graphs"]["images_per_s"], "best stacked_k*, full_200_epochs_graphs"
    device = (data.get("device") or {}).get("name", "?")
    return stacked, alone, f"{path} ({device}; {source})"


def project(rows: list[dict], stacked_rate: float | None, alone_rate: float | None, target_h: float) -> dict:
    stack_imgs = sum(r["images"] for r in rows if r["alone_because"] is None)
    alone_imgs = sum(r["images"] for r in rows if r["alone_because"] is not None)
    why: dict[str, dict[str, int]] = {}
    for r in rows:
        if r["alone_because"] is not None:
            w = why.setdefault(r["alone_because"], {"runs": 0, "images": 0})
            w["runs"] += 1
            w["images"] += r["images"]
    out: dict = {
        "runs": len(rows),
        "stackable_runs": sum(r["alone_because"] is None for r in rows),
        "stackable_images": stack_imgs,
        "alone_images": alone_imgs,
        "alone_by_reason": why,
        "target_hours": target_h,
        "stacked_rate": stacked_rate,
        "alone_rate": alone_rate,
    }
    if alone_rate:
        alone_s = alone_imgs / alone_rate
        out["alone_hours"] = round(alone_s / 3600, 2)
        left = target_h * 3600 - alone_s
        out["stacked_rate_needed"] = round(stack_imgs / left) if left > 0 else None  # None: the alone part alone misses it
        if stacked_rate:
            out["hours"] = round((stack_imgs / stacked_rate + alone_s) / 3600, 2)
            out["meets_target"] = out["hours"] <= target_h
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stacked-rate", type=float, default=None, help="aggregate training images/s of stacked runs")
    ap.add_argument("--alone-rate", type=float, default=None, help="aggregate training images/s of the runs that cannot stack")
    ap.add_argument("--from-json", default=None, help="bench_gpu.py's JSON: rates not given on the command line come from it")
    ap.add_argument("--target-hours", type=float, default=2.0)
    ap.add_argument("--seeds", default="42", help="as fcc sweep --seeds")
    ap.add_argument("--json", default=None, help="write the projection and the run list here")
    a = ap.parse_args()
    stacked, alone, source = a.stacked_rate, a.alone_rate, "command line"
    if a.from_json:
        js, ja, source = rates_from_json(a.from_json)
        stacked, alone = stacked or js, alone or ja
    rows = sweep_runs(seeds=a.seeds)
    p = project(rows, stacked, alone, a.target_hours)
    gi = 1e9
    print(f"Table 1 sweep: {p['runs']} runs on {len(BENCHMARKS)} benchmarks, seeds {a.seeds}; rates from {source}")
    print(f"  stackable: {p['stackable_runs']} runs, {p['stackable_images'] / gi:.3f} G training images")
    print(f"  alone:     {p['runs'] - p['stackable_runs']} runs, {p['alone_images'] / gi:.3f} G training images")
    for reason, w in sorted(p["alone_by_reason"].items(), key=lambda kv: -kv[1]["images"]):
        print(f"    {w['runs']:3d} runs, {w['images'] / gi:.3f} G: {reason}")
    if alone:
        print(f"  the alone runs at {alone:,.0f} img/s: {p['alone_hours']:.2f} h")
        need = p["stacked_rate_needed"]
        print(
            f"  stacked rate the {a.target_hours:g} h target needs: "
            + (f"{need:,.0f} img/s" if need else "none suffices (the alone runs use up the target)")
        )
        if stacked:
            verdict = "meets" if p["meets_target"] else "misses"
            print(f"  at {stacked:,.0f} img/s stacked: {p['hours']:.2f} h, {verdict} the {a.target_hours:g} h target")
    else:
        print("  no alone rate: give --alone-rate or --from-json to project hours")
    if a.json:
        Path(a.json).write_text(json.dumps({"projection": p, "source": source, "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""GPU speed in one call: our trainer vs the official-style pipeline on synthetic CIFAR-10-LT-100.

Priority order (each section appends to the JSON file as soon as it is measured, so a
cut-off run still returns what it finished):

1. one full 200-epoch ResNet-32 + FCC run with CUDA graphs (``fcc train`` code path,
   evaluation every ``--eval-every`` epochs), wall seconds and images/s;
2. the same run eager for ``--eager-epochs`` epochs (per-epoch time; 200-epoch time extrapolated
   and labelled so);
3. the official-style reference pipeline (benchmarks/reference_pipeline.py) for
   ``--ref-epochs`` epochs on the same card, model and data: per-epoch ratio;
4. K concurrent runs (K processes, ``--concurrency 1,2,4``) of ``--k-epochs`` epochs each:
   aggregate images/s;
5. K runs inside one process (``fcc_train.fleet.multirun``: one CUDA stream per run, epochs
   overlapped; ``--inprocess 1,2,4,8``) and K runs stacked as one grouped-convolution network
   (``fcc_train.fleet.stacked_runs``; ``--stacked 4,8,16``) of ``--k-epochs`` epochs each: aggregate
   images/s, and the hours of Table 1's real sweep at those rates (benchmarks/table1_projection.py:
   stackable runs at the best stacked rate, the others at the best in-process rate);
6. an input-mixup + FCC run (Table 1's 400-epoch mixup recipe) for ``--mixup-epochs`` epochs,
   captured and eager: s/epoch of each (mixup used to train eagerly);
7. a torch.profiler table of an eager step (the kernels a replay spends its time on).

Synthetic data has CIFAR-10-LT-100's shape (12,406 training images of 3x32x32, 10,000 test).
Run: ``python benchmarks/bench_gpu.py --json OUT.json``; on a machine without CUDA it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

N_TRAIN = 12406
SYNTH = [
    "data.dataset=synthetic",
    "data.synthetic_train_size=12406",
    "data.synthetic_test_size=10000",
    "data.num_classes=10",
    "train.progress=none",
    "train.checkpoint_every=50",
]


def record(path: str | None, key: str, value) -> None:
    print(f"[{key}] {json.dumps(value)}", flush=True)
    if not path:
        return
    data = json.loads(Path(path).read_text()) if Path(path).exists() else {}
    data[key] = value
    Path(path).write_text(json.dumps(data, indent=1))


def train_once(overrides: list[str], out: str, config: str = "ce_fcc") -> dict:
    from fcc_train.config import load_config
    from fcc_train.train.loop import run_training

    cfg = load_config(ROOT / f"configs/cifar10_lt100/{config}.yaml", SYNTH + overrides)
    t0 = time.perf_counter()
    rc = run_training(cfg, out, log=lambda s: None)
    wall = time.perf_counter() - t0
    summary = json.loads((Path(out) / "summary.json").read_text())
    return {
        "rc": rc,
        "wall_s": round(wall, 2),
        "epochs": cfg.optim.epochs,
        "timing": summary.get("timing_this_process"),
        "best_top1_error": summary.get("best_top1_error"),
        "last_top1_error": summary.get("last_top1_error"),
        "images_per_s": round(cfg.optim.epochs * (N_TRAIN // 128) * 128 / wall),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--eval-every", type=int, default=10)
    ap.add_argument("--eager-epochs", type=int, default=6)
    ap.add_argument("--ref-epochs", type=int, default=2)
    ap.add_argument("--ref-workers", type=int, default=8)
    ap.add_argument("--k-epochs", type=int, default=20)
    ap.add_argument("--concurrency", default="1,2,4")
    ap.add_argument("--inprocess", default="1,2,4,8", help="runs per process for the in-process section")
    ap.add_argument("--stacked", default="4,8,16", help="runs per stacked network for the stacked section")
    ap.add_argument("--mixup-epochs", type=int, default=6, help="epochs of the captured and the eager input-mixup run")
    ap.add_argument(
        "--skip",
        default="",
        help="comma-separated sections to skip: full,eager,reference,concurrent,inprocess,stacked,mixup,profile",
    )
    ap.add_argument("--profile-steps", type=int, default=20, help="eager steps traced by torch.profiler in the profile section")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run of every section (checks the script, measures nothing)")
    a = ap.parse_args()
    import torch

    global SYNTH, N_TRAIN
    if a.smoke:
        SYNTH = SYNTH + [
            "data.synthetic_train_size=256",
            "data.synthetic_test_size=64",
            "data.image_size=16",
            "optim.epochs=2",
            "train.device=cpu",
        ]
        N_TRAIN = 256
    if not torch.cuda.is_available() and not a.smoke:
        print("bench_gpu: no CUDA device here; run this on a GPU machine (nothing measured)")
        return 0
    skip = set(filter(None, a.skip.split(",")))
    tmp = tempfile.mkdtemp(prefix="fccbench")
    if a.worker:  # one of the K concurrent processes
        print(
            json.dumps(
                train_once([f"optim.epochs={a.k_epochs}", f"train.eval_every={a.k_epochs}", "train.compile=graphs"], a.worker)
            )
        )
        return 0
    record(
        a.json,
        "device",
        {
            "name": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu (smoke)",
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
        },
    )
    our_epoch = None
    if "full" not in skip:
        r = train_once([f"train.eval_every={a.eval_every}", "train.compile=graphs"], f"{tmp}/full")
        our_epoch = r["timing"]["train"] / r["epochs"] if r.get("timing") else r["wall_s"] / r["epochs"]
        record(a.json, "full_200_epochs_graphs", r)
    if "eager" not in skip:
        r = train_once(
            [f"optim.epochs={a.eager_epochs}", f"train.eval_every={a.eager_epochs}", "train.compile=none"], f"{tmp}/eager"
        )
        per = r["timing"]["train"] / r["epochs"]
        r["train_s_per_epoch"] = round(per, 4)
        r["extrapolated_200_epoch_train_s"] = round(per * 200, 1)
        record(a.json, "eager_short", r)
    if "reference" not in skip:
        from reference_pipeline import train_reference_on

        from fcc_train.config import load_config
        from fcc_train.data import build_datasets
        from fcc_train.models import build_model

        cfg = load_config(ROOT / "configs/cifar10_lt100/ce_fcc.yaml", SYNTH)
        data = build_datasets(cfg)
        model = build_model(cfg, data.num_classes, data.in_channels)
        res = train_reference_on(
            model,
            data,
            epochs=a.ref_epochs,
            fcc_gamma=0.5,
            fcc_start=0,
            workers=a.ref_workers,
            device="cpu" if a.smoke else "cuda",
        )
        per = res.seconds / res.epochs
        out = {
            "epochs": res.epochs,
            "seconds": round(res.seconds, 2),
            "s_per_epoch_incl_eval": round(per, 3),
            "images_per_s": round(res.images_per_second),
            "workers": a.ref_workers,
        }
        if our_epoch:
            out["ratio_vs_graphs_train_epoch"] = round(per / our_epoch, 1)
        record(a.json, "reference_pipeline", out)
    if "concurrent" not in skip:
        for k in [int(v) for v in a.concurrency.split(",")]:
            t0 = time.perf_counter()
            procs = [
                subprocess.Popen(
                    [sys.executable, __file__, "--worker", f"{tmp}/k{k}_{i}", "--k-epochs", str(a.k_epochs)]
                    + (["--smoke"] if a.smoke else []),
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                for i in range(k)
            ]
            outs = [p.communicate()[0] for p in procs]
            wall = time.perf_counter() - t0
            runs = [json.loads(o.strip().splitlines()[-1]) for o in outs]
            train_s = max(r["timing"]["train"] for r in runs)
            imgs = k * a.k_epochs * (N_TRAIN // 128) * 128
            record(
                a.json,
                f"concurrent_k{k}",
                {
                    "k": k,
                    "epochs_each": a.k_epochs,
                    "wall_s_incl_startup": round(wall, 2),
                    "max_train_s": round(train_s, 2),
                    "aggregate_train_images_per_s": round(imgs / train_s),
                },
            )
    best = {"inprocess": 0.0, "stacked": 0.0}
    for section, ks, stack in (("inprocess", a.inprocess, False), ("stacked", a.stacked, True)):
        if section in skip:
            continue
        for k in [int(v) for v in ks.split(",")]:
            r = train_in_process(k, a.k_epochs, f"{tmp}/{section}{k}", stack=stack)
            ok = not r["exit_codes"] or max(r["exit_codes"]) == 0
            best[section] = max(best[section], r["aggregate_train_images_per_s"] if ok else 0)
            record(a.json, f"{section}_k{k}", r)
    alone = best["inprocess"] or (our_epoch and (N_TRAIN // 128) * 128 / our_epoch)
    if alone:
        from table1_projection import project, sweep_runs

        record(a.json, "table1_projection", project(sweep_runs(), best["stacked"] or None, alone, 2.0))
    if "mixup" not in skip:
        out = {}
        for mode in ("graphs", "none"):
            r = train_once(
                [
                    f"optim.epochs={a.mixup_epochs}",
                    f"train.eval_every={a.mixup_epochs}",
                    f"train.compile={mode}",
                    "fcc.start_epoch=0",
                ],
                f"{tmp}/mixup_{mode}",
                config="input_mixup_fcc",
            )
            out[mode] = {
                "rc": r["rc"],
                "train_s_per_epoch": round(r["timing"]["train"] / r["epochs"], 4) if r.get("timing") else None,
            }
        g, e = out["graphs"]["train_s_per_epoch"], out["none"]["train_s_per_epoch"]
        out["eager_over_graphs"] = round(e / g, 2) if g and e else None
        record(a.json, "mixup_input_fcc", out)
    if "profile" not in skip:
        record(a.json, "profile_top_kernels", profile_step(a.profile_steps, a.smoke))
    return 0


def train_in_process(k: int, epochs: int, out: str, stack: bool = False) -> dict:
    """K runs (seeds 0..K-1) in one process via fcc_train.fleet.multirun (``stack``: as one stacked network).

    Setup (sequential, before any epoch) is excluded from the rate.
    """
    from fcc_train.config import load_config
    from fcc_train.experiments.run_request import RunRequest
    from fcc_train.fleet.multirun import run_many

    specs = [
        RunRequest.of_config(
            load_config(
                ROOT / "configs/cifar10_lt100/ce_fcc.yaml",
                SYNTH + [f"optim.epochs={epochs}", f"train.eval_every={epochs}", f"train.seed={i}"],
            ),
            Path(out) / f"run{i}",
        )
        for i in range(k)
    ]
    t0 = time.perf_counter()
    with open(os.devnull, "w") as sink:
        outcomes = run_many(specs, stream=sink, stack=stack)
    wall = time.perf_counter() - t0
    summaries = [json.loads((s.out / "summary.json").read_text()) for s in specs]
    setup = sum(s["timing_this_process"]["setup"] for s in summaries)
    imgs = k * epochs * (N_TRAIN // 128) * 128
    return {
        "k": k,
        "stacked": stack,
        "epochs_each": epochs,
        "exit_codes": [o.exit_code for o in outcomes],
        "wall_s": round(wall, 2),
        "setup_s": round(setup, 2),
        "aggregate_train_images_per_s": round(imgs / max(wall - setup, 1e-9)),
        "last_top1_error": [s.get("last_top1_error") for s in summaries],
    }


def profile_step(steps: int, smoke: bool) -> list[dict]:
    """Where a ResNet-32 training step's device time goes (bf16 + channels_last, batch 128).

    Eager steps run the same kernels a replayed graph runs, so the top of this table is what a
    3.4 ms graph replay spends its time on (docs/performance.md's open lead).
    """
    import torch
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    from fcc_train.config import load_config
    from fcc_train.models import build_model

    dev = "cpu" if smoke else "cuda"
    cfg = load_config(ROOT / "configs/cifar10_lt100/ce_fcc.yaml")
    model = build_model(cfg, 10, 3).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=2e-4)
    x = torch.randn(128, 3, 32, 32, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (128,), device=dev)

    def step() -> None:
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=not smoke):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    acts = [ProfilerActivity.CPU] + ([] if smoke else [ProfilerActivity.CUDA])
    with profile(activities=acts) as prof:
        for _ in range(steps):
            step()
        if not smoke:
            torch.cuda.synchronize()
    key = "self_cpu_time_total" if smoke else "self_device_time_total"
    rows = sorted(prof.key_averages(), key=lambda e: getattr(e, key, 0.0), reverse=True)[:15]
    print(prof.key_averages().table(sort_by=key, row_limit=15))
    return [{"name": e.key[:80], "count": e.count, "self_us_per_step": round(getattr(e, key, 0.0) / steps, 1)} for e in rows]


if __name__ == "__main__":
    sys.exit(main())

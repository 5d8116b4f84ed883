"""Is stacking K runs as grouped convolutions worth building into the trainer? One timing answers it.

Times the captured training step (CapturedStep + ForeachSGD, the trainer's own GPU step) of
``fcc_train.fleet.stacked_model.StackedCifarResNet`` holding K ResNet-32s, each run with its own batch
of 128, for K in ``--ks`` and for bf16 + channels_last and bf16 NCHW (cuDNN's grouped kernels
differ by layout). Reports ms/step and aggregate training images/s (K·128 per step), beside the
plain ResNet-32 step, and what Table 1's 184 runs × 200 epochs × 96 steps would take at each rate.
Each result is written to ``--json`` as soon as it is measured.

Run: ``python benchmarks/bench_stacked_gpu.py --json stacked.json`` (about a minute on an H100);
``--smoke`` runs every path tiny on the CPU; without CUDA and without ``--smoke`` it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def record(path: str | None, key: str, value) -> None:
    print(f"[{key}] {json.dumps(value)}", flush=True)
    if path:
        data = json.loads(Path(path).read_text()) if Path(path).exists() else {}
        data[key] = value
        Path(path).write_text(json.dumps(data, indent=1))


def time_step(k: int, layout: str, steps: int, blocks: int, smoke: bool) -> dict:
    import torch
    import torch.nn.functional as F

    from fcc_train.fleet.stacked_model import stack_resnets
    from fcc_train.models.resnet_cifar import resnet32
    from fcc_train.train.graphs import CapturedStep, ForeachSGD

    dev = "cpu" if smoke else "cuda"
    size, batch = (16, 8) if smoke else (32, 128)
    torch.manual_seed(0)
    plain = k == 0
    model = (resnet32(10) if plain else stack_resnets([resnet32(10) for _ in range(k)])).to(dev)
    kk = max(k, 1)
    if layout == "nhwc":
        model = model.to(memory_format=torch.channels_last)
    opt = ForeachSGD(list(model.parameters()), lr=0.1, momentum=0.9, weight_decay=2e-4)

    def loss_fn(x, y, scale):
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=not smoke):
            logits = model(x).reshape(batch, kk, 10)  # plain: (N, C) -> (N, 1, C)
            return F.cross_entropy(logits.reshape(-1, 10).float(), y.reshape(-1), reduction="sum") / batch

    step = CapturedStep(loss_fn, opt, [model], capture=not smoke)
    x = torch.randn(batch, 3 * kk, size, size, device=dev)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch, kk), device=dev)
    s = torch.ones(batch, device=dev)
    for _ in range(3):
        step(x, y, s)
    times = []
    for _ in range(blocks):
        if not smoke:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(steps):
            step(x, y, s)
        if not smoke:
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) / steps)
    ms = statistics.median(times) * 1e3
    imgs = kk * batch / (ms / 1e3)
    return {
        "k": k,
        "model": "resnet32" if plain else f"stacked x{k}",
        "layout": layout,
        "ms_per_step": round(ms, 3),
        "aggregate_images_per_s": round(imgs),
        "table1_184_runs_h": round(184 * 200 * 96 * 128 / imgs / 3600, 2),
        "loss_finite": bool(torch.isfinite(step.pop_loss()).item()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None)
    ap.add_argument("--ks", default="1,2,4,8,16", help="runs per stacked model (0 = the plain ResNet-32 is always timed first)")
    ap.add_argument("--layouts", default="nhwc,nchw")
    ap.add_argument("--steps", type=int, default=100, help="replays per timing block")
    ap.add_argument("--blocks", type=int, default=3, help="timing blocks (median)")
    ap.add_argument("--budget-s", type=float, default=240.0, help="stop starting new measurements after this many seconds")
    ap.add_argument("--smoke", action="store_true", help="tiny CPU run of every path (checks the script, measures nothing)")
    a = ap.parse_args()
    import torch

    if not torch.cuda.is_available() and not a.smoke:
        print("bench_stacked_gpu: no CUDA device here; run this on a GPU machine (nothing measured)")
        return 0
    if not a.smoke:
        torch.backends.cudnn.benchmark = True
    record(
        a.json,
        "device",
        {
            "name": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu (smoke)",
            "torch": torch.__version__,
            "date": time.strftime("%Y-%m-%d"),
        },
    )
    t_start = time.perf_counter()
    steps, blocks = (2, 1) if a.smoke else (a.steps, a.blocks)
    for layout in a.layouts.split(","):
        for k in [0] + [int(v) for v in a.ks.split(",")]:
            if time.perf_counter() - t_start > a.budget_s:
                record(a.json, f"skipped_{layout}_k{k}", f"budget of {a.budget_s} s spent")
                continue
            try:
                record(a.json, f"{layout}_k{k}", time_step(k, layout, steps, blocks, a.smoke))
            except Exception as exc:  # e.g. out of memory at large K: record it and go on
                record(a.json, f"{layout}_k{k}", {"error": f"{type(exc).__name__}: {str(exc)[:200]}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())

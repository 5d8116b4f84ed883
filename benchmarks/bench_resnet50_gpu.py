"""ResNet-50 training throughput on one GPU (synthetic data): eager vs torch.compile, bf16 autocast + channels_last.

Usage: ``python benchmarks/bench_resnet50_gpu.py --seconds 60 --json OUT`` (one call of a few minutes).
Prints a small table and writes JSON. Without CUDA it prints a message and exits 0 (nothing to measure).

What is timed: full training steps (forward, cross-entropy over 1000 classes, backward, SGD momentum +
Nesterov + weight decay) of ``fcc_train.models.resnet_imagenet.resnet50`` on 224×224 inputs already on the
GPU, after a warm-up, with CUDA events; the images/s is batch × steps / elapsed. The same run also times the
GPU augmentation of :mod:`fcc_train.data.gpu_augment` (RandomResizedCrop + flip + ColorJitter + normalise of
a uint8 batch at short side 256) to show it is not the bottleneck. ``--seconds`` is shared by the modes
(torch.compile's compile time is reported separately and not counted).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _step_fn(model: torch.nn.Module, opt: torch.optim.Optimizer):
    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def _time(step, x: torch.Tensor, y: torch.Tensor, seconds: float, warmup: int) -> dict:
    for _ in range(warmup):
        step(x, y)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    # calibrate: how many steps fit in the budget
    t0 = time.perf_counter()
    for _ in range(5):
        step(x, y)
    torch.cuda.synchronize()
    per = (time.perf_counter() - t0) / 5
    n = max(10, int(seconds / max(per, 1e-4)))
    start.record()
    for _ in range(n):
        loss = step(x, y)
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end)
    return {"steps": n, "ms_per_step": ms / n, "images_per_s": x.shape[0] * n / (ms / 1000), "final_loss": float(loss)}


def bench_model(mode: str, arch: str, batch: int, seconds: float, warmup: int) -> dict:
    from fcc_train.models.resnet_imagenet import build

    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = build(arch, 1000).to(dev).to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x = torch.randn(batch, 3, 224, 224, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (batch,), device=dev)
    step = _step_fn(model, opt)
    compile_s = None
    if mode == "compile":
        t0 = time.perf_counter()
        step = torch.compile(step)
        for _ in range(3):
            step(x, y)
        torch.cuda.synchronize()
        compile_s = time.perf_counter() - t0
    torch.cuda.reset_peak_memory_stats()
    r = _time(step, x, y, seconds, warmup)
    r.update(mode=mode, arch=arch, batch=batch, compile_seconds=compile_s, peak_mem_gib=torch.cuda.max_memory_allocated() / 2**30)
    return r


def bench_augment(batch: int, seconds: float) -> dict:
    from fcc_train.data.gpu_augment import IMAGENET_MEAN, IMAGENET_STD, train_transform

    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    x = torch.randint(0, 256, (batch, 256, 341, 3), dtype=torch.uint8, device=dev).permute(0, 3, 1, 2)
    sizes = torch.tensor([[256, 341]] * batch, device=dev)
    mean = torch.tensor(IMAGENET_MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=dev).view(1, 3, 1, 1)

    def step(x: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
        return ((train_transform(x, sizes, 224, g) - mean) / std).sum()

    r = _time(step, x, sizes, seconds, warmup=5)
    r.pop("final_loss")
    r.update(mode="gpu_augment", batch=batch)
    return r


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="total timed seconds, shared by the modes")
    p.add_argument("--json", metavar="OUT", help="write the results here")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--arch", default="resnet50", choices=["resnet10", "resnet50", "resnext50"])
    p.add_argument("--modes", default="eager,compile", help="comma list of eager, compile")
    p.add_argument("--warmup", type=int, default=10)
    a = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("bench_resnet50_gpu: no CUDA device here; run this on a GPU machine (nothing measured).")
        return 0
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    modes = [m for m in a.modes.split(",") if m]
    share = a.seconds / (len(modes) + 0.25)
    results = []
    for m in modes:
        if m == "compile" and not hasattr(torch, "compile"):
            results.append({"mode": m, "error": "torch.compile not available"})
            continue
        try:
            results.append(bench_model(m, a.arch, a.batch, share, a.warmup))
        except Exception as exc:  # e.g. no Triton for compile: report, keep the other numbers
            results.append({"mode": m, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        torch.cuda.empty_cache()
    results.append(bench_augment(a.batch, share * 0.25))
    env = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "precision": "bf16 autocast, channels_last, TF32 on",
    }
    print(f"{a.arch} training, 224 px, batch {a.batch}, {env['gpu']} (torch {env['torch']})")
    print(f"{'mode':<12} {'img/s':>9} {'ms/step':>9} {'steps':>6} {'mem GiB':>8} {'compile s':>10}")
    for r in results:
        if "error" in r:
            print(f"{r['mode']:<12} error: {r['error']}")
            continue
        comp = f"{r['compile_seconds']:.1f}" if r.get("compile_seconds") else "-"
        mem = f"{r['peak_mem_gib']:.1f}" if "peak_mem_gib" in r else "-"
        print(f"{r['mode']:<12} {r['images_per_s']:>9.0f} {r['ms_per_step']:>9.2f} {r['steps']:>6} {mem:>8} {comp:>10}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"env": env, "arch": a.arch, "batch": a.batch, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

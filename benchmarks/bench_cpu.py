"""CPU speed, one thread, side by side in one run: digits-LT end to end, ResNet-32 steps, FCC's τ.

1. digits-LT raw+FCC (configs/digits/ce_fcc.yaml): ``fcc train``'s code path vs the official-style
   reference pipeline (benchmarks/reference_pipeline.py) on the same model, recipe and data,
   alternating, ``--repeats`` times each; median seconds, ratio, and both errors.
2. ResNet-32 training step at batch 128: fp32 NCHW, fp32 channels_last, bf16 autocast + channels_last.
3. FCC's per-sample τ: the official loop vs the vectorised gather (benchmarks/bench_fcc_op.py).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_cpu.py --json OUT.json``
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def ours(cfg_path: Path, out: str, seed: int) -> tuple[float, float]:
    from fcc_train.config import load_config
    from fcc_train.train.loop import run_training

    cfg = load_config(cfg_path, ["train.progress=none", f"train.seed={seed}", "train.device=cpu", "train.threads=1"])
    t0 = time.perf_counter()
    run_training(cfg, out, log=lambda s: None)
    dt = time.perf_counter() - t0
    s = json.loads((Path(out) / "summary.json").read_text())
    return dt, float(s["last_top1_error"])


def reference(cfg_path: Path, seed: int, workers: int) -> tuple[float, float]:
    from reference_pipeline import train_reference_on

    from fcc_train.config import load_config
    from fcc_train.data import build_datasets
    from fcc_train.models import build_model

    cfg = load_config(cfg_path, [f"train.seed={seed}"])
    data = build_datasets(cfg)
    torch.manual_seed(seed)
    model = build_model(cfg, data.num_classes, data.in_channels)
    o, f = cfg.optim, cfg.fcc
    t0 = time.perf_counter()
    r = train_reference_on(
        model,
        data,
        epochs=o.epochs,
        batch_size=o.batch_size,
        lr=o.lr,
        wd=o.weight_decay,
        milestones=tuple(o.milestones),
        decay=o.lr_decay,
        warmup=o.warmup_epochs,
        fcc_gamma=f.gamma if f.enabled else None,
        fcc_start=f.start_epoch,
        pad=cfg.data.crop_padding,
        flip=cfg.data.flip,
        workers=workers,
        device="cpu",
        seed=seed,
    )
    return time.perf_counter() - t0, r.top1_error


def resnet32_steps(steps: int) -> dict[str, float]:
    from fcc_train.config import load_config
    from fcc_train.models import build_model

    out = {}
    cfg = load_config(None, ["model.arch=resnet32"])
    for name, cl, bf16 in (("fp32", False, False), ("fp32_channels_last", True, False), ("bf16_channels_last", True, True)):
        torch.manual_seed(0)
        m = build_model(cfg, 10, 3)
        x, y = torch.randn(128, 3, 32, 32), torch.randint(0, 10, (128,))
        if cl:
            m, x = m.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=2e-4)

        def step(m=m, x=x, y=y, opt=opt, bf16=bf16) -> None:  # bind this variant's objects
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        step()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        out[name] = round(128 / statistics.median(times), 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=16, help="reference DataLoader workers (the official configs use 16)")
    ap.add_argument("--steps", type=int, default=5, help="timed ResNet-32 steps per variant")
    ap.add_argument("--skip", default="")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    skip = set(filter(None, a.skip.split(",")))
    res: dict = {"cpu": _cpu_name(), "date": time.strftime("%Y-%m-%d %H:%M"), "torch": torch.__version__}
    if "digits" not in skip:
        # import once before timing so neither pipeline pays torch._dynamo's first import (~3 s)
        importlib.import_module("torch._dynamo")

        cfg_path = ROOT / "configs/digits/ce_fcc.yaml"
        o_t, o_e, r_t, r_e = [], [], [], []
        for i in range(a.repeats):  # alternate so load changes hit both
            with tempfile.TemporaryDirectory() as d:
                t, e = ours(cfg_path, d, seed=i)
            o_t.append(t)
            o_e.append(e)
            t, e = reference(cfg_path, seed=i, workers=a.workers)
            r_t.append(t)
            r_e.append(e)
            print(
                f"repeat {i}: ours {o_t[-1]:.1f} s (error {o_e[-1]:.2f} %), reference {r_t[-1]:.1f} s (error {r_e[-1]:.2f} %)",
                flush=True,
            )
        res["digits_end_to_end"] = {
            "config": "configs/digits/ce_fcc.yaml",
            "repeats": a.repeats,
            "reference_workers": a.workers,
            "ours_median_s": round(statistics.median(o_t), 2),
            "reference_median_s": round(statistics.median(r_t), 2),
            "speedup": round(statistics.median(r_t) / statistics.median(o_t), 2),
            "ours_last_error": o_e,
            "reference_last_error": r_e,
        }
        print(json.dumps(res["digits_end_to_end"]))
    if "resnet32" not in skip:
        res["resnet32_train_img_per_s_batch128"] = resnet32_steps(a.steps)
        print(json.dumps(res["resnet32_train_img_per_s_batch128"]))
    if "fcc_op" not in skip:
        out = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks/bench_fcc_op.py"), "--repeats", "1000"], capture_output=True, text=True
        )
        res["fcc_op"] = out.stdout.strip()
        print(res["fcc_op"])
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())

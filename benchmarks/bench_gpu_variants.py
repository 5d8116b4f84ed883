"""The trainer's ResNet-32 training step, variant by variant, side by side in one call (docs/performance.md's 3.4 ms/step).

What is timed: ``fcc_train.train.engine.train_one_epoch`` itself (the trainer's step: τ gather, the copy into
the captured graph's inputs and the replay; or the eager loop) on an :class:`~fcc_train.train.engine.Engine`
built as ``fcc train`` builds it from ``configs/cifar10_lt100/ce_fcc.yaml`` (ResNet-32, CE + FCC active,
SGD Nesterov), batch 128, on synthetic CIFAR-shaped batches already on the GPU and laid out as the loader
lays them out. Only the batches are synthetic; model, method, optimiser and step are the trainer's.

Variants (``--variants`` picks some), in priority order (the budget cuts from the end): ``{graphs,
compile_graphs} × {bf16 channels_last, fp32 NCHW, bf16 NCHW, fp32 channels_last}`` and eager bf16
channels_last as the baseline. Each runs in its own process (a crash or a sticky CUDA error costs one
variant, and Dynamo/allocator state does not leak between variants) and reports:

* ``setup_s``: build + the first short epoch (warm-up, torch.compile, capture); not in the projection;
* ``ms_per_step``: median over ``--blocks`` blocks of ``--steps`` steps (CUDA events; host wall beside it);
* ``replay_only_ms`` (captured modes): the graph replayed alone, without the τ gather and input copies;
* ``projected_200_epoch_train_s`` = ms/step × 96 steps × 200 epochs / 1000;
* ``mode_ran`` / ``fell_back``: the mode that really ran (a fallback to eager is flagged and not ranked);
* ``profile``: ``torch.profiler`` over ``--profile-steps`` steps after the timing — device kernels per step
  and the top 5 kernels by device time (``--profile-steps 0`` skips it).

Each result is written to ``--json`` as soon as it is measured (a cut-off run keeps what it finished);
variants not started within ``--budget-s`` are listed as skipped. The table is printed at the end. fp32
runs with torch's TF32 settings as they are (recorded in ``meta``).

Run (one GPU call):  ``PYTHONPATH=$PWD python3 benchmarks/bench_gpu_variants.py --json variants.json``
``--smoke``: every code path tiny on the CPU (resnet_small, batch 8, a few steps; torch.compile with
Dynamo's ``eager`` backend unless ``--smoke-backend inductor``; the profiler records CPU activity only).
It measures nothing. Without CUDA and without ``--smoke`` it says so and exits 0 (no JSON is written).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONFIG = ROOT / "configs/cifar10_lt100/ce_fcc.yaml"
CIFAR10_LT100_COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # 12,406 images (Cao et al., imbalance 100)
STEPS_PER_EPOCH = sum(CIFAR10_LT100_COUNTS) // 128  # 96 with drop_last
EPOCHS = 200
EPOCH = 60  # a training epoch with FCC active (start_epoch 50), before the LR milestones
BASELINE = "eager/bf16/cl"

# name -> (train.compile, train.precision, train.channels_last), in priority order
VARIANTS: dict[str, tuple[str, str, bool]] = {
    "graphs/bf16/cl": ("graphs", "bf16", True),  # what train.compile=auto runs on a GPU today (3.4 ms/step)
    "compile_graphs/bf16/cl": ("compile_graphs", "bf16", True),
    "eager/bf16/cl": ("none", "bf16", True),
    "graphs/fp32/nchw": ("graphs", "fp32", False),
    "compile_graphs/fp32/nchw": ("compile_graphs", "fp32", False),
    "graphs/bf16/nchw": ("graphs", "bf16", False),
    "compile_graphs/bf16/nchw": ("compile_graphs", "bf16", False),
    "graphs/fp32/cl": ("graphs", "fp32", True),
    "compile_graphs/fp32/cl": ("compile_graphs", "fp32", True),
}
WANT_MODE = {"graphs": "graphs", "compile_graphs": "compile_graphs", "none": "eager"}


class Results:
    """The JSON document, rewritten (atomically) after every change."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.data: dict = {"meta": {}, "variants": {}, "skipped": {}}

    def put(self, section: str, key: str | None, value) -> None:
        if key is None:
            self.data[section] = value
        else:
            self.data[section][key] = value
        shown = {k: v for k, v in value.items() if k != "traceback"} if isinstance(value, dict) else value
        print(f"[{section}{'' if key is None else ' ' + key}] {json.dumps(shown)}", flush=True)
        if self.path is not None:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=1))
            os.replace(tmp, self.path)


class FixedBatches:
    """The trainer's loader interface: ``n`` steps cycling over a few prepared device batches."""

    def __init__(self, xs: list, ys: list) -> None:
        self.xs, self.ys, self.n = xs, ys, 0

    def batches(self, probs, gen):
        for i in range(self.n):
            yield self.xs[i % len(self.xs)], self.ys[i % len(self.ys)]


# -- one variant (runs in a worker process) -----------------------------------------------------------------


class Variant:
    def __init__(self, a: argparse.Namespace, name: str) -> None:
        import torch

        self.a, self.name, self.torch = a, name, torch
        self.device = torch.device("cpu" if a.smoke else "cuda")
        self.batch, self.size = (8, 16) if a.smoke else (128, 32)

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def build(self):
        torch = self.torch
        from fcc_train.config import load_config
        from fcc_train.fcc import tau_by_class
        from fcc_train.methods import DataInfo, build_method, prepare_stage
        from fcc_train.models import build_model
        from fcc_train.train.engine import Engine, lr_at

        compile_mode, precision, cl = VARIANTS[self.name]
        over = [
            f"train.compile={compile_mode}",
            f"train.precision={precision}",
            f"train.channels_last={str(cl).lower()}",
            f"train.device={self.device.type}",
        ]
        if self.a.smoke:
            over.append("model.arch=resnet_small")
        cfg = load_config(CONFIG, over)
        torch.manual_seed(0)
        model = build_model(cfg, len(CIFAR10_LT100_COUNTS), 3).to(self.device)
        method = build_method(cfg, DataInfo(class_counts=list(CIFAR10_LT100_COUNTS), epochs=cfg.optim.epochs), self.device)
        params = list(prepare_stage(model, cfg, self.device))
        tau = tau_by_class(cfg.fcc, CIFAR10_LT100_COUNTS, self.device)
        engine = Engine(cfg, model, method, params, self.device, tau, notes=[])  # as fcc_train.train.loop builds it
        engine.set_lr(lr_at(cfg.optim, EPOCH))
        g = torch.Generator().manual_seed(1)
        xs, ys = [], []
        for _ in range(4):
            x = torch.randn(self.batch, 3, self.size, self.size, generator=g).to(self.device)
            xs.append(x.contiguous(memory_format=torch.channels_last) if cl else x)  # the loader's layout
            ys.append(torch.randint(0, len(CIFAR10_LT100_COUNTS), (self.batch,), generator=g).to(self.device))
        return engine, FixedBatches(xs, ys)

    def epoch(self, engine, loader, steps: int):
        from fcc_train.train.engine import train_one_epoch

        loader.n = steps
        return train_one_epoch(engine, loader, EPOCH, None)

    def timed(self, fn) -> tuple[float, float]:
        """(device ms, host wall ms) of ``fn()``; on the CPU both are the wall."""
        torch = self.torch
        self.sync()
        t0 = time.perf_counter()
        if self.device.type != "cuda":
            fn()
            wall = (time.perf_counter() - t0) * 1e3
            return wall, wall
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        e0.record()
        fn()
        e1.record()
        e1.synchronize()
        return e0.elapsed_time(e1), (time.perf_counter() - t0) * 1e3

    def run(self) -> dict:
        torch, a = self.torch, self.a
        compile_mode, precision, cl = VARIANTS[self.name]
        t0 = time.perf_counter()
        engine, loader = self.build()
        self.epoch(engine, loader, a.warmup_steps)  # the first short epoch: warm-up, torch.compile, capture
        self.sync()
        out: dict = {
            "compile": compile_mode,
            "precision": precision,
            "channels_last": cl,
            "mode_ran": engine.mode,
            "fell_back": engine.mode != WANT_MODE[compile_mode],
            "notes": list(engine.notes),
            "setup_s": round(time.perf_counter() - t0, 2),
            "warmup_steps": a.warmup_steps,
        }
        dev_ms, wall_ms = [], []
        for _ in range(a.blocks):
            d, w = self.timed(lambda: self.epoch(engine, loader, a.steps))
            dev_ms.append(d / a.steps)
            wall_ms.append(w / a.steps)
        med = statistics.median(dev_ms)
        loss = float(self.epoch(engine, loader, 1))
        out.update(
            {
                "steps_per_block": a.steps,
                "blocks": a.blocks,
                "ms_per_step_blocks": [round(v, 4) for v in dev_ms],
                "ms_per_step": round(med, 4),
                "wall_ms_per_step": round(statistics.median(wall_ms), 4),
                "projected_200_epoch_train_s": round(med * STEPS_PER_EPOCH * EPOCHS / 1000, 2),
                "last_loss": loss,
            }
        )
        step = engine.captured
        if step is not None and step.capture and step.graphs:  # the graph alone
            graph = next(iter(step.graphs.values()))[0]
            d, _ = self.timed(lambda: [graph.replay() for _ in range(a.steps)])
            out["replay_only_ms"] = round(d / a.steps, 4)
        if self.device.type == "cuda":
            out["peak_mem_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if a.profile_steps > 0:
            try:
                out["profile"] = self.profile(engine, loader)
            except Exception as exc:  # the timing above stands without it
                out["profile"] = {"error": f"{type(exc).__name__}: {exc}"}
        return out

    def profile(self, engine, loader) -> dict:
        """Device kernels per step and the top 5 kernels by device time (CPU smoke: the top CPU ops)."""
        from torch.autograd import DeviceType
        from torch.profiler import ProfilerActivity, profile

        steps = self.a.profile_steps
        cuda = self.device.type == "cuda"
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])

        def trace(uncaptured: bool) -> dict:
            step = engine.captured
            was = step.capture if step is not None else None
            if uncaptured and step is not None:
                step.capture = False  # the same step launched kernel by kernel (compile_graphs: the compiled step)
            try:
                self.epoch(engine, loader, 2)
                self.sync()
                with profile(activities=acts) as prof:
                    self.epoch(engine, loader, steps)
                    self.sync()
            finally:
                if step is not None:
                    step.capture = was
            if not cuda:
                ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:5]
                return {
                    "top_cpu_ops": [
                        {
                            "name": e.key[:100],
                            "calls_per_step": round(e.count / steps, 2),
                            "us_per_step": round(e.self_cpu_time_total / steps, 1),
                        }
                        for e in ops
                    ]
                }
            dev = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
            kernels = [e for e in dev if not e.name.startswith(("Memcpy", "Memset"))]
            per: dict[str, list[float]] = {}
            for e in kernels:
                per.setdefault(e.name, []).append(e.time_range.elapsed_us())
            total = sum(sum(v) for v in per.values())
            top = sorted(per.items(), key=lambda kv: -sum(kv[1]))[:5]
            return {
                "kernels_per_step": round(len(kernels) / steps, 1),
                "memcpy_memset_per_step": round((len(dev) - len(kernels)) / steps, 1),
                "kernel_us_per_step": round(total / steps, 1),
                "top_kernels": [
                    {
                        "name": k[:100],
                        "calls_per_step": round(len(v) / steps, 2),
                        "us_per_step": round(sum(v) / steps, 1),
                        "share": round(sum(v) / total, 3) if total else None,
                    }
                    for k, v in top
                ],
            }

        out = {"steps": steps, "activities": "cpu+cuda" if cuda else "cpu only (smoke)", **trace(uncaptured=False)}
        if cuda and out["kernels_per_step"] == 0 and engine.captured is not None:
            out = {
                **out,
                **trace(uncaptured=True),
                "note": "CUPTI reported no kernels inside the graph replay; these are the same step's kernels launched uncaptured",
            }
        return out


def worker(a: argparse.Namespace) -> int:
    try:
        out = Variant(a, a.worker).run()
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
    Path(a.worker_out).write_text(json.dumps(out))
    return 0


# -- the driver -------------------------------------------------------------------------------------------


def run_variant(a: argparse.Namespace, name: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="fccvar") as tmp:
        out = Path(tmp) / "out.json"
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            name,
            "--worker-out",
            str(out),
            "--blocks",
            str(a.blocks),
            "--steps",
            str(a.steps),
            "--warmup-steps",
            str(a.warmup_steps),
            "--profile-steps",
            str(a.profile_steps),
        ]
        if a.smoke:
            cmd += ["--smoke", "--smoke-backend", a.smoke_backend]
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            tail = (exc.stderr or b"")[-1500:]
            return {
                "error": f"timed out after {timeout:.0f} s",
                "stderr_tail": tail.decode(errors="replace") if isinstance(tail, bytes) else tail,
            }
        if out.is_file():
            res = json.loads(out.read_text())
            if "error" in res:
                res["stderr_tail"] = p.stderr[-1500:]
            return res
        return {"error": f"worker exited {p.returncode} without a result", "stderr_tail": p.stderr[-3000:]}


def table(res: dict) -> str:
    rows = res["variants"]
    base = rows.get(BASELINE, {}).get("ms_per_step")
    head = (
        f"{'variant':25} {'ran as':20} {'ms/step':>8} {'replay':>7} {'kern/st':>7} {'200-ep s':>8} {'setup s':>7} {'vs eager':>8}"
    )
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        if "error" in r:
            lines.append(f"{name:25} ERROR: {r['error'][:90]}")
            continue
        ran = r["mode_ran"] + (" (FELL BACK)" if r["fell_back"] else "")
        rep = f"{r['replay_only_ms']:.3f}" if "replay_only_ms" in r else "-"
        kern = r.get("profile", {}).get("kernels_per_step")
        ratio = f"{base / r['ms_per_step']:.2f}x" if base else "-"
        lines.append(
            f"{name:25} {ran:20} {r['ms_per_step']:8.3f} {rep:>7} {'-' if kern is None else kern:>7} "
            f"{r['projected_200_epoch_train_s']:8.1f} {r['setup_s']:7.1f} {ratio:>8}"
        )
    for name, why in res["skipped"].items():
        lines.append(f"{name:25} skipped: {why}")
    ranked = sorted((r["ms_per_step"], n) for n, r in rows.items() if "ms_per_step" in r and not r["fell_back"])
    if ranked:
        best = ranked[0][1]
        lines.append(f"\nfastest: {best} at {ranked[0][0]:.3f} ms/step")
        prof = rows[best].get("profile", {})
        if prof.get("top_kernels"):
            lines.append(
                f"profile of {best}: {prof['kernels_per_step']} kernels/step, {prof['kernel_us_per_step']} us kernel time/step"
                + (f" [{prof['note']}]" if "note" in prof else "")
            )
            lines += [f"  {k['us_per_step']:8.1f} us/step {k['calls_per_step']:6.1f}x  {k['name']}" for k in prof["top_kernels"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="write results here (rewritten after each variant)")
    ap.add_argument("--budget-s", type=float, default=330.0, help="wall limit: variants not started within it are skipped")
    ap.add_argument("--grace-s", type=float, default=90.0, help="a variant started within the budget may run this much past it")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--blocks", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200, help="steps (replays) per timed block")
    ap.add_argument("--warmup-steps", type=int, default=20, help="steps of the untimed first epoch (warm-up, compile, capture)")
    ap.add_argument("--profile-steps", type=int, default=20, help="steps traced by torch.profiler per variant (0: none)")
    ap.add_argument("--smoke", action="store_true", help="every code path tiny on the CPU (measures nothing)")
    ap.add_argument(
        "--smoke-backend", default="eager", help="torch.compile backend under --smoke (inductor: real CPU codegen, slow)"
    )
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    names = [v for v in a.variants.split(",") if v]
    unknown = [v for v in names + ([a.worker] if a.worker else []) if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; use: {', '.join(VARIANTS)}")
    if a.smoke:
        a.blocks, a.steps, a.warmup_steps = min(a.blocks, 2), min(a.steps, 3), min(a.warmup_steps, 4)
        a.profile_steps = min(a.profile_steps, 2)

    import torch

    if not a.smoke and not torch.cuda.is_available():
        print("bench_gpu_variants: no CUDA device here; run this on a GPU machine (nothing measured, no JSON written)")
        return 0
    if a.worker:
        if a.smoke:
            torch.set_num_threads(1)
            if a.smoke_backend != "inductor":
                torch.compile = functools.partial(torch.compile, backend=a.smoke_backend)
        else:
            torch.backends.cudnn.benchmark = True  # as fcc_train.train.loop does on a GPU
        return worker(a)

    t_start = time.perf_counter()
    res = Results(a.json)
    res.put(
        "meta",
        None,
        {
            "device": "cpu (smoke: measures nothing)" if a.smoke else torch.cuda.get_device_name(),
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": None if a.smoke else torch.backends.cudnn.version(),
            "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "cudnn_benchmark": not a.smoke,
            "config": str(CONFIG.relative_to(ROOT)),
            "batch": 8 if a.smoke else 128,
            "steps_per_epoch": STEPS_PER_EPOCH,
            "epochs": EPOCHS,
            "epoch_timed": EPOCH,
            "smoke": a.smoke,
            "smoke_compile_backend": a.smoke_backend if a.smoke else None,
            "projection": "projected_200_epoch_train_s = ms_per_step x 96 x 200 / 1000 (setup_s not included)",
            "args": {k: v for k, v in vars(a).items() if not k.startswith("worker")},
        },
    )
    for name in names:
        elapsed = time.perf_counter() - t_start
        if elapsed > a.budget_s:
            why = f"--budget-s {a.budget_s:.0f} spent ({elapsed:.0f} s elapsed)"
            print(f"bench_gpu_variants: skipping {name}: {why}", flush=True)
            res.put("skipped", name, why)
            continue
        print(f"bench_gpu_variants: {name} ...", flush=True)
        res.put("variants", name, run_variant(a, name, timeout=a.budget_s - elapsed + a.grace_s))
    res.put("wall_s", None, round(time.perf_counter() - t_start, 1))
    print()
    print(table(res.data))
    if a.smoke:
        print("\n(smoke run on the CPU: these numbers measure nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

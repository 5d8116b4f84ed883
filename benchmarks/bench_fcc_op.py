"""FCC's per-sample τ: the official per-sample Python loop vs a vectorised gather.

Same output is checked before timing. One CPU thread. Run:
    python benchmarks/bench_fcc_op.py [--classes 100] [--batch 128] [--repeats 2000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from fcc_theory.tau import tau_values


def official_loop(labels: torch.Tensor, gamma: float, num_classes: int, device: str) -> torch.Tensor:
    # lijian16/FCC: a Python loop over the batch, round(..., 2), then a host-to-device copy
    taus = [round(1 + gamma - int(y) * gamma / num_classes, 2) for y in labels.tolist()]
    return torch.tensor(taus, dtype=torch.float32).to(device)


def vectorised(labels: torch.Tensor, tau_by_class: torch.Tensor) -> torch.Tensor:
    return tau_by_class[labels]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=2000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    tau_by_class = torch.tensor([float(t) for t in tau_values("edc", str(a.gamma), a.classes, round_decimals=2)], device=a.device)
    labels = torch.randint(0, a.classes, (a.batch,), device=a.device)
    assert torch.equal(official_loop(labels, a.gamma, a.classes, a.device), vectorised(labels, tau_by_class)), "outputs differ"

    def timeit(fn) -> float:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(a.repeats // 5):
                fn()
            if a.device.startswith("cuda"):
                torch.cuda.synchronize()
            samples.append((time.perf_counter() - t0) / (a.repeats // 5))
        return statistics.median(samples)

    # alternate the two so a busy neighbour hurts both alike
    t_loop = timeit(lambda: official_loop(labels, a.gamma, a.classes, a.device))
    t_vec = timeit(lambda: vectorised(labels, tau_by_class))
    t_loop = min(t_loop, timeit(lambda: official_loop(labels, a.gamma, a.classes, a.device)))
    t_vec = min(t_vec, timeit(lambda: vectorised(labels, tau_by_class)))
    out = {
        "classes": a.classes,
        "batch": a.batch,
        "official_loop_us": t_loop * 1e6,
        "vectorised_us": t_vec * 1e6,
        "speedup": t_loop / t_vec,
        "identical_output": True,
        "device": a.device,
    }
    print(
        f"FCC τ per batch ({a.batch} samples, {a.classes} classes, {a.device}): official loop {t_loop * 1e6:.1f} µs, "
        f"vectorised gather {t_vec * 1e6:.1f} µs, {t_loop / t_vec:.1f}x faster, identical output"
    )
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

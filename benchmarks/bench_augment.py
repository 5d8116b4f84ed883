"""Training augmentation cost per CIFAR batch: crop + flip vs crop + flip + AutoAugment (CIFAR-10 policy) + Cutout(16).

Both batched on the uint8 batch (:mod:`fcc_train.data.autoaugment`), plus, for scale, the same AutoAugment + Cutout
done image by image with Pillow (what a DataLoader worker does for NCL) and SADE's test-time view
(:mod:`fcc_train.data.sade_views`). One CPU thread, median of 5 rounds. Run:
    python benchmarks/bench_augment.py [--batch 128] [--repeats 50] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fcc_train.data.augment import random_crop_flip
from fcc_train.data.autoaugment import CIFAR10_POLICY, cifar10_policy, cutout, magnitude
from fcc_train.data.sade_views import sade_view

# the per-image Pillow transcription the tests compare the batched ops with
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "train"))
from pillow_reference import pil_op


def pillow_per_image(batch: np.ndarray) -> torch.Tensor:
    """Crop + flip + policy + Cutout one image at a time with Pillow, then stacked as a uint8 tensor."""
    out = []
    for a in batch:
        dy, dx = random.randint(0, 8), random.randint(0, 8)
        img = Image.fromarray(np.pad(a, ((4, 4), (4, 4), (0, 0)))[dy : dy + 32, dx : dx + 32])
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        p1, o1, m1, p2, o2, m2 = random.choice(CIFAR10_POLICY)
        if random.random() < p1:
            img = pil_op(img, o1, magnitude(o1, m1), random.choice((-1, 1)))
        if random.random() < p2:
            img = pil_op(img, o2, magnitude(o2, m2), random.choice((-1, 1)))
        x = np.asarray(img).copy()
        cy, cx = random.randrange(32), random.randrange(32)
        x[max(cy - 8, 0) : cy + 8, max(cx - 8, 0) : cx + 8] = 0
        out.append(x)
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (a.batch, 3, 32, 32), generator=g, dtype=torch.uint8)
    host = x.permute(0, 2, 3, 1).numpy().copy()

    def crop_flip() -> torch.Tensor:
        return random_crop_flip(x, 4, True, g)

    def ncl() -> torch.Tensor:
        return cutout(cifar10_policy(random_crop_flip(x, 4, True, g), g), 16, g)

    def sade() -> torch.Tensor:
        return sade_view(x, 4, True, g)

    def timeit(fn: Callable[[], torch.Tensor], repeats: int) -> float:
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(max(1, repeats // 5)):
                fn()
            samples.append((time.perf_counter() - t0) / max(1, repeats // 5))
        return statistics.median(samples)

    # alternate the variants so a busy neighbour hurts all alike
    t = {"crop_flip": [], "crop_flip_autoaugment_cutout": [], "pillow_per_image": [], "sade_view": []}
    for _ in range(2):
        t["crop_flip"].append(timeit(crop_flip, a.repeats))
        t["crop_flip_autoaugment_cutout"].append(timeit(ncl, a.repeats))
        t["pillow_per_image"].append(timeit(lambda: pillow_per_image(host), max(5, a.repeats // 5)))
        t["sade_view"].append(timeit(sade, a.repeats))
    best = {k: min(v) for k, v in t.items()}
    base = best["crop_flip"]
    print(f"augmentation of one {a.batch}x3x32x32 uint8 batch, CPU, 1 thread (median of 5, best of 2):")
    print(f"{'variant':34s} {'ms/batch':>9s} {'x crop+flip':>12s}")
    for k, v in best.items():
        print(f"{k:34s} {v * 1e3:9.2f} {v / base:12.1f}")
    ratio = best["pillow_per_image"] / best["crop_flip_autoaugment_cutout"]
    print(f"batched AutoAugment + Cutout vs Pillow per image: {ratio:.1f}x")
    if a.json:
        out = {"batch": a.batch, "ms_per_batch": {k: v * 1e3 for k, v in best.items()}, "pillow_over_batched": ratio}
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

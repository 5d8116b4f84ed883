"""Tiny ImageNet-LT / iNat18 trees of real JPEGs for the large-data tests (written with Pillow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TRAIN_COUNTS = [2, 7, 1, 4]  # label 1 is the largest class: label order is not frequency order (as on ImageNet-LT)
TEST_PER_CLASS = 2


def _jpeg(path: Path, rng: np.random.Generator, label: int) -> None:
    from PIL import Image

    h, w = int(rng.integers(30, 50)), int(rng.integers(30, 50))
    base = np.zeros((h, w, 3), dtype=np.float64)
    base[..., label % 3] = 180.0  # a class colour, so a model could learn something
    a = np.clip(base + rng.normal(0, 40, size=(h, w, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, quality=90)


def make_imagenet_lt(root: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for split in lines:
        for c, n in enumerate(TRAIN_COUNTS):
            for k in range(n if split == "train" else TEST_PER_CLASS):
                rel = f"{'train' if split == 'train' else 'val'}/n{c:08d}/{split}_{c}_{k}.JPEG"
                _jpeg(root / rel, rng, c)
                lines[split].append(f"{rel} {c}")
    for split, ls in lines.items():
        rng.shuffle(ls)
        (root / f"ImageNet_LT_{split}.txt").write_text("\n".join(ls) + "\n")
    return root


def make_inat(root: Path, seed: int = 1, cat_ids: list[int] | None = None) -> Path:
    rng = np.random.default_rng(seed)
    cat_ids = cat_ids or list(range(len(TRAIN_COUNTS)))
    iid = 100
    for split, fname in (("train", "train2018.json"), ("val", "val2018.json")):
        images, anns = [], []
        for c, n in enumerate(TRAIN_COUNTS):
            for k in range(n if split == "train" else TEST_PER_CLASS):
                rel = f"train_val2018/Plantae/{cat_ids[c]}/{split}_{k}.jpg"
                _jpeg(root / rel, rng, c)
                images.append({"id": iid, "file_name": rel, "width": 0, "height": 0})
                anns.append({"id": iid, "image_id": iid, "category_id": cat_ids[c]})
                iid += 1
        doc = {"images": images, "annotations": anns, "categories": [{"id": i, "name": f"c{i}"} for i in cat_ids]}
        (root / fname).write_text(json.dumps(doc))
    return root

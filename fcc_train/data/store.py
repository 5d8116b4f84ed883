"""Decode-once image store: every image decoded once, resized to a short side (256), kept as uint8 on disk.

Why: decoding JPEGs on the CPU every epoch bounds ImageNet-LT / iNat18 training (about
3-6k img/s on 16 cores); a memory-mapped uint8 store is read at disk/page-cache speed and cropped on
the GPU (:mod:`fcc_train.data.gpu_augment`). ImageNet-LT train at short side 256 is about 23 GB.

A store of one split is a folder::

    images.npy   1-D uint8 (np.save format, opened with mmap_mode="r"): images back to back, each h×w×3 (HWC)
    index.npy    int64 (N, 4): byte offset, h, w, label
    index.json   {"format": 1, "short_side", "mode", "count", "num_classes", "bytes", "source"} — written last

``mode``: ``full`` keeps the aspect ratio (short side = ``short_side``, long side ``int(s·long/short)``
as torchvision's ``Resize(s)``); ``centre`` then centre-crops an s×s square (fixed size, smaller).
The build writes into a temporary sibling folder and renames it into place, so a store either exists
whole or not at all. A data set's store root holds one such folder per split: ``train/``, ``test/`` (``val/``).

Build: ``python -m fcc_train.data.store --config configs/imagenet_lt/ce.yaml --data-root DIR --out STORE``
(or :func:`build_store` / :func:`build_large_store`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["FORMAT", "ImageStore", "build_large_store", "build_store", "load_resized", "main", "resized_size"]

FORMAT = 1
MODES = ("full", "centre")


def resized_size(h: int, w: int, short_side: int) -> tuple[int, int]:
    """(h, w) after ``Resize(short_side)`` as torchvision computes it: the long side is ``int(s·long/short)``."""
    if h <= w:
        return short_side, int(short_side * w / h)
    return int(short_side * h / w), short_side


def load_resized(path: str | Path, short_side: int, mode: str = "full") -> np.ndarray:
    """Decode an image to RGB, resize its short side to ``short_side`` (bilinear, antialiased), HWC uint8.

    JPEG ``draft`` mode lets libjpeg decode at a reduced scale (never below the target size) first: much faster
    for large photos. The store and the Pillow loader both call this, so their pixels are identical.
    """
    from PIL import Image

    with Image.open(path) as im:
        w0, h0 = im.size
        th, tw = resized_size(h0, w0, short_side)
        im.draft("RGB", (tw, th))
        rgb = im.convert("RGB")
        if rgb.size != (tw, th):
            rgb = rgb.resize((tw, th), Image.Resampling.BILINEAR)
        a = np.asarray(rgb, dtype=np.uint8)
    if mode == "centre":
        y0, x0 = (th - short_side) // 2, (tw - short_side) // 2
        a = a[y0 : y0 + short_side, x0 : x0 + short_side]
    return np.ascontiguousarray(a)


def _header_size(path: str) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as im:
        w, h = im.size
    return h, w


def build_store(
    paths: Sequence[str],
    labels: Sequence[int],
    out: str | Path,
    *,
    short_side: int = 256,
    mode: str = "full",
    num_classes: int | None = None,
    workers: int = 0,
    source: str = "",
    progress: bool = False,
) -> Path:
    """Decode ``paths`` once into a store folder ``out`` (atomic: built in a temporary sibling, then renamed)."""
    from fcc_train.data import DataError

    if mode not in MODES:
        raise DataError(f"unknown store mode '{mode}'; use full or centre")
    if len(paths) != len(labels) or not paths:
        raise DataError("build_store needs as many labels as paths, and at least one image")
    out = Path(out)
    if (out / "index.json").is_file():
        raise DataError(f"store '{out}' already exists; delete it to rebuild")
    workers = workers or min(16, os.cpu_count() or 1)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while decoding and resizing
            try:
                heads = list(pool.map(_header_size, paths, chunksize=64))
            except (OSError, ValueError) as exc:
                raise DataError(f"cannot read an image header ({exc}); check data.root and the split lists") from None
            shapes = [((short_side, short_side) if mode == "centre" else resized_size(h, w, short_side)) for h, w in heads]
            sizes = np.array([h * w * 3 for h, w in shapes], dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
            total = int(sizes.sum())
            flat = np.lib.format.open_memmap(tmp / "images.npy", mode="w+", dtype=np.uint8, shape=(total,))

            def put(i: int) -> None:
                a = load_resized(paths[i], short_side, mode)
                if a.shape[:2] != shapes[i]:
                    raise DataError(f"{paths[i]}: decoded to {a.shape[:2]}, expected {shapes[i]} (corrupt file?)")
                flat[offsets[i] : offsets[i] + sizes[i]] = a.reshape(-1)

            for done, _ in enumerate(pool.map(put, range(len(paths)), chunksize=16), start=1):
                if progress and done % 5000 == 0:
                    print(f"  {done:,}/{len(paths):,} images", file=sys.stderr)
            flat.flush()
        index = np.stack([offsets, [h for h, _ in shapes], [w for _, w in shapes], np.asarray(labels)], axis=1).astype(np.int64)
        np.save(tmp / "index.npy", index)
        meta = {
            "format": FORMAT,
            "short_side": int(short_side),
            "mode": mode,
            "count": len(paths),
            "num_classes": int(num_classes if num_classes is not None else max(labels) + 1),
            "bytes": total,
            "source": source,
        }
        (tmp / "index.json").write_text(json.dumps(meta, indent=1))  # last: marks the store complete
        if out.exists():
            shutil.rmtree(out)  # a leftover without index.json is an incomplete build
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


class ImageStore:
    """A built store opened read-only and memory-mapped: ``len``, ``labels``, ``sizes`` (N, 2) and ``image(i)`` (HWC view)."""

    def __init__(self, folder: str | Path) -> None:
        from fcc_train.data import DataError

        self.folder = Path(folder)
        meta_path = self.folder / "index.json"
        if not meta_path.is_file():
            raise DataError(
                f"no complete image store at '{self.folder}' (index.json missing); build it with python -m fcc_train.data.store"
            )
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT:
            raise DataError(f"store '{self.folder}' has format {self.meta.get('format')}, this code reads {FORMAT}; rebuild it")
        self.flat = np.load(self.folder / "images.npy", mmap_mode="r")
        index = np.load(self.folder / "index.npy")
        self.offsets = index[:, 0]
        self.sizes = index[:, 1:3].copy()
        self.labels = index[:, 3].copy()
        self.short_side = int(self.meta["short_side"])
        self.num_classes = int(self.meta["num_classes"])

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, i: int) -> np.ndarray:
        h, w = (int(v) for v in self.sizes[i])
        o = int(self.offsets[i])
        return self.flat[o : o + h * w * 3].reshape(h, w, 3)


def build_large_store(cfg: Config, out: str | Path, *, mode: str = "full", workers: int = 0, progress: bool = True) -> list[Path]:
    """Build ``out/train`` and ``out/<test split>`` for the ImageNet-LT / iNat18 data set of ``cfg`` (skips built splits)."""
    from fcc_train.data.large import split_items

    out = Path(out)
    built = []
    for split in ("train", cfg.data.test_split):
        dest = out / split
        if (dest / "index.json").is_file():
            built.append(dest)
            continue
        paths, labels, C = split_items(cfg, split)
        if progress:
            print(f"building {dest} ({len(paths):,} images, short side {cfg.data.short_side}, {mode})", file=sys.stderr)
        built.append(
            build_store(
                paths,
                labels,
                dest,
                short_side=cfg.data.short_side,
                mode=mode,
                num_classes=C,
                workers=workers,
                source=f"{cfg.data.dataset}:{split}",
                progress=progress,
            )
        )
    return built


def main(argv: list[str] | None = None) -> int:
    """``python -m fcc_train.data.store --config FILE --data-root DIR --out STORE [--mode full|centre] [--workers N]``."""
    from fcc_theory.errors import UserError
    from fcc_train.config import load_config

    p = argparse.ArgumentParser(prog="python -m fcc_train.data.store", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="an imagenet_lt or inat18 experiment YAML")
    p.add_argument("--data-root", help="folder of the split lists / JSON annotations and the images (overrides data.root)")
    p.add_argument("--out", required=True, help="store root to create (train/ and the test split inside)")
    p.add_argument("--mode", choices=MODES, default="full")
    p.add_argument("--workers", type=int, default=0, help="decoding threads (0: up to 16)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    try:
        cfg = load_config(a.config, a.overrides)
        if a.data_root:
            cfg.data.root = a.data_root
        for d in build_large_store(cfg, a.out, mode=a.mode, workers=a.workers):
            print(d)
    except UserError as exc:
        print(f"fcc store: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

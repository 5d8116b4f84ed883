"""CIFAR-10/100-LT from the standard python pickle folders (cs.toronto.edu), read with numpy.

Layout under ``data.root`` (the root itself may also be the inner folder)::

    cifar-10-batches-py/data_batch_1 .. data_batch_5, test_batch    dict: b'data' uint8 N×3072, b'labels'
    cifar-100-python/train, test                                     dict: b'data', b'fine_labels'

Rows of ``b'data'`` are the R, G and B planes of a 32×32 image, row-major. The long-tailed
training subset is Cao et al.'s draw (see :mod:`fcc_train.data.longtail`); the test split is
the full balanced one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from fcc_train.data import DataError, LTData
from fcc_train.data.longtail import class_profile, draw_subset, profile_fields, require_every_class
from fcc_train.data.safe_pickle import UnsafePickleError, load_batch

if TYPE_CHECKING:
    from fcc_train.config import DataConfig

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "build_cifar", "read_cifar"]

# The normalisation of BoT/FCC/LDAM-DRW (docs/recipes.md, "Shared recipe"), used for both CIFAR-10 and CIFAR-100.
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)

_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels", 10),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels", 100),
}


def _expected(name: str, root: str) -> str:
    folder = _LAYOUT[name][0]
    files = "data_batch_1..5 and test_batch" if name == "cifar10" else "train and test"
    return f"expected {root}/{folder}/{files} (the python version from cs.toronto.edu/~kriz/cifar.html)"


def _folder(name: str, root: str | None) -> Path:
    folder = _LAYOUT[name][0]
    if root is None:
        raise DataError(f"{name} needs a data root: pass --data-root DIR (or data.root) with DIR/{folder}/ inside")
    base = Path(root).expanduser()
    for cand in (base / folder, base):
        if cand.is_dir() and cand.name == folder:
            return cand
    raise DataError(f"{name}: folder '{base / folder}' not found; {_expected(name, str(base))}")


def _read_part(path: Path, label_key: bytes, name: str, root: str) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DataError(f"{name}: missing file '{path}'; {_expected(name, root)}")
    try:
        with open(path, "rb") as fh:
            d = load_batch(fh)  # restricted: a foreign pickle cannot run code here
        data = np.asarray(d[b"data"])
        labels = np.asarray(d[label_key], dtype=np.int64)
    except Exception as exc:
        if isinstance(exc, UnsafePickleError):
            raise DataError(f"{name}: refusing to load '{path}': {exc}; use the original files") from None
        why = f"no key {exc}" if isinstance(exc, KeyError) else type(exc).__name__
        raise DataError(f"{name}: cannot read '{path}' ({why}); {_expected(name, root)}") from None
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0],):
        raise DataError(
            f"{name}: '{path}' holds data {data.dtype}{list(data.shape)} / {labels.shape[0]} labels, not uint8 N×3072 with N labels; {_expected(name, root)}"
        )
    return data, labels


def read_cifar(name: str, root: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The full train and test splits: images uint8 (N, 3, 32, 32) and int64 labels."""
    folder = _folder(name, root)
    shown = str(folder.parent)
    _, train_files, test_files, key, C = _LAYOUT[name]
    out = []
    for files in (train_files, test_files):
        parts = [_read_part(folder / f, key, name, shown) for f in files]
        x = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32)
        y = np.concatenate([p[1] for p in parts])
        if len(y) and (y.min() < 0 or y.max() >= C):
            raise DataError(f"{name}: labels outside 0..{C - 1} in '{folder}'; {_expected(name, shown)}")
        out += [x, y]
    return out[0], out[1], out[2], out[3]


def build_cifar(dc: DataConfig) -> LTData:
    """CIFAR-{10,100}-LT: Cao et al.'s subset with ``n_max`` = the balanced per-class count (5000 / 500)."""
    name = dc.dataset
    C = _LAYOUT[name][4]
    x_tr, y_tr, x_te, y_te = read_cifar(name, dc.root)
    per_class = np.bincount(y_tr, minlength=C)
    n_max = int(per_class.min())  # Cao: img_max = len(data) / cls_num on the balanced set
    if n_max < 1:
        raise DataError(f"{name}: some class has no training image under '{dc.root}'; {_expected(name, str(dc.root))}")
    try:
        counts = class_profile(dc.imbalance_type, n_max, C, dc.imbalance_factor, dc.step_ratio)
        require_every_class(counts, n_max, dc.imbalance_factor)
    except ValueError as exc:
        raise DataError(f"{name}: {exc}; fix data.imbalance_type / data.imbalance_factor") from None
    keep = draw_subset(y_tr, counts, dc.subset_seed)
    return LTData(
        train_images=torch.from_numpy(np.ascontiguousarray(x_tr[keep])),
        train_labels=torch.from_numpy(y_tr[keep]),
        test_images=torch.from_numpy(np.ascontiguousarray(x_te)),
        test_labels=torch.from_numpy(y_te),
        class_counts=list(counts),
        num_classes=C,
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        image_size=32,
        in_channels=3,
        **profile_fields(name, dc, n_max, source=str(_folder(name, dc.root))),
    )

"""Digits-LT: scikit-learn's bundled 8×8 digits (offline) made long-tailed — the embedded default data set.

The 16-level grey values become uint8 ``round(v·255/16)``, one channel. For every class (in
label order) its indices are shuffled with ``RandomState(subset_seed)``; the first
``data.test_per_class`` form the balanced held-out test split and the training subset is
drawn from the rest with Cao et al.'s profile, ``n_max`` = the smallest remaining class, so
label 0 is the majority class as in CIFAR-LT.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from fcc_train.data import DataError, LTData
from fcc_train.data.augment import channel_stats
from fcc_train.data.longtail import class_profile, draw_subset, profile_fields, require_every_class

if TYPE_CHECKING:
    from fcc_train.config import DataConfig

__all__ = ["build_digits", "digits_split_indices", "load_digits_uint8"]


@functools.lru_cache(maxsize=1)
def load_digits_uint8() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as uint8 (N, 1, 8, 8) and int64 labels (cached, read-only).

    Reads scikit-learn's bundled ``datasets/data/digits.csv.gz`` (64 pixel values 0..16 and the label
    per row, the file ``load_digits`` parses) without importing scikit-learn, whose import costs
    ~3 s — more than a whole digits-LT epoch budget.
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the digits data set needs scikit-learn: pip install -e '.[train]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        raw = np.loadtxt(path, delimiter=",")
        images, target = raw[:, :-1].reshape(-1, 8, 8), raw[:, -1]
    else:  # a scikit-learn that stores the file elsewhere
        from sklearn.datasets import load_digits

        d = load_digits()
        images, target = d.images, d.target
    x = np.rint(images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)[:, None]
    y = target.astype(np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def digits_split_indices(dc: DataConfig, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int], int]:
    """Indices (into sklearn's order) of the long-tailed training subset and the balanced test split,
    the class counts and ``n_max``."""
    C = int(y.max()) + 1
    rng = np.random.RandomState(dc.subset_seed)
    test_idx, pool_idx = [], []
    for c in range(C):
        idx = np.where(y == c)[0]
        rng.shuffle(idx)
        if not 0 <= dc.test_per_class < len(idx):
            raise DataError(
                f"digits: data.test_per_class={dc.test_per_class} must lie in 0..{len(idx) - 1} (class {c} has {len(idx)} images)"
            )
        test_idx.append(idx[: dc.test_per_class])
        pool_idx.append(idx[dc.test_per_class :])
    pool = np.concatenate(pool_idx)
    n_max = min(len(p) for p in pool_idx)
    try:
        counts = class_profile(dc.imbalance_type, n_max, C, dc.imbalance_factor, dc.step_ratio)
        require_every_class(counts, n_max, dc.imbalance_factor)
    except ValueError as exc:
        raise DataError(f"digits: {exc}; fix data.imbalance_type / data.imbalance_factor") from None
    keep = pool[draw_subset(y[pool], counts, dc.subset_seed)]
    return keep, np.concatenate(test_idx), counts, n_max


def build_digits(dc: DataConfig) -> LTData:
    x, y = load_digits_uint8()
    C = int(y.max()) + 1
    keep, test, counts, n_max = digits_split_indices(dc, y)
    train_images = torch.from_numpy(np.ascontiguousarray(x[keep]))
    mean, std = channel_stats(train_images)
    return LTData(
        train_images=train_images,
        train_labels=torch.from_numpy(y[keep]),
        test_images=torch.from_numpy(np.ascontiguousarray(x[test])),
        test_labels=torch.from_numpy(y[test]),
        class_counts=list(counts),
        num_classes=C,
        mean=mean,
        std=std,
        image_size=8,
        in_channels=1,
        **profile_fields("digits", dc, n_max, test_per_class=dc.test_per_class),
    )

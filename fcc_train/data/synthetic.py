"""A synthetic long-tailed set shaped like CIFAR-10-LT-100, for speed work (no files needed).

Images are 3×S×S uint8 (``data.image_size``); class ``c`` has a fixed smooth colour template
(a random 4×4×3 field upsampled bilinearly) and each image is that template, randomly shifted
by up to S/8 pixels, plus Gaussian noise — learnable, but not in one step. Class counts follow
the configured profile with the largest ``n_max`` whose total does not exceed
``data.synthetic_train_size`` (12,406 → n_max 5000, exactly CIFAR-10-LT-100's counts); the
test split is balanced with ``synthetic_test_size // C`` images per class. Deterministic in
``data.subset_seed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from fcc_train.data import DataError, LTData
from fcc_train.data.augment import channel_stats
from fcc_train.data.longtail import class_profile, profile_fields

if TYPE_CHECKING:
    from fcc_train.config import DataConfig

__all__ = ["build_synthetic", "fit_n_max"]


def fit_n_max(total: int, kind: str, C: int, imbalance_factor: float, fraction: float = 0.5) -> int:
    """The largest n_max whose profile sums to at most ``total`` (binary search; the sum is monotone in n_max)."""
    lo, hi = 1, max(1, total)
    if sum(class_profile(kind, 1, C, imbalance_factor, fraction)) > total:
        raise DataError(f"synthetic: data.synthetic_train_size={total} is too small for {C} classes; use at least {C}")
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if sum(class_profile(kind, mid, C, imbalance_factor, fraction)) <= total:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _make(labels: torch.Tensor, templates: torch.Tensor, size: int, gen: torch.Generator, noise: float = 48.0) -> torch.Tensor:
    out = torch.empty((len(labels), 3, size, size), dtype=torch.uint8)
    shift = max(1, size // 8)
    for start in range(0, len(labels), 4096):  # chunks bound the float temporaries
        y = labels[start : start + 4096]
        x = templates[y]
        dy, dx = (int(v) for v in torch.randint(-shift, shift + 1, (2,), generator=gen))  # one shift per chunk keeps it cheap
        x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        x = x + noise * torch.randn(x.shape, generator=gen)
        out[start : start + 4096] = x.round_().clamp_(0, 255).to(torch.uint8)
    return out


def build_synthetic(dc: DataConfig) -> LTData:
    C, S = dc.num_classes, dc.image_size
    if C < 2 or S < 4:
        raise DataError(f"synthetic: needs data.num_classes >= 2 and data.image_size >= 4, got {C} and {S}")
    try:
        n_max = fit_n_max(dc.synthetic_train_size, dc.imbalance_type, C, dc.imbalance_factor, dc.step_ratio)
        counts = class_profile(dc.imbalance_type, n_max, C, dc.imbalance_factor, dc.step_ratio)
    except ValueError as exc:
        raise DataError(f"synthetic: {exc}; fix data.imbalance_type / data.imbalance_factor") from None
    per_test = max(1, dc.synthetic_test_size // C)
    gen = torch.Generator().manual_seed(dc.subset_seed)
    coarse = torch.rand((C, 3, 4, 4), generator=gen) * 255.0
    templates = F.interpolate(coarse, size=(S, S), mode="bilinear", align_corners=False)
    y_tr = torch.repeat_interleave(torch.arange(C), torch.tensor(counts))
    y_te = torch.repeat_interleave(torch.arange(C), per_test)
    x_tr = _make(y_tr, templates, S, gen)
    x_te = _make(y_te, templates, S, gen)
    mean, std = channel_stats(x_tr)
    return LTData(
        train_images=x_tr,
        train_labels=y_tr,
        test_images=x_te,
        test_labels=y_te,
        class_counts=list(counts),
        num_classes=C,
        mean=mean,
        std=std,
        image_size=S,
        in_channels=3,
        **profile_fields("synthetic", dc, n_max),
    )

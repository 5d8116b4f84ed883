"""Batched augmentation and normalisation as tensor ops (no per-sample Python loop, no host sync).

``random_crop_flip`` is torchvision's ``RandomCrop(size, padding=p)`` (zero fill) followed by
``RandomHorizontalFlip()``, drawn independently per sample, done as one gather: every sample
gets an offset ``(dy, dx)`` uniform in ``0..2p`` into the zero-padded image and a coin for the
flip, which only reverses the column index.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["channel_stats", "normalize", "random_crop_flip"]


def random_crop_flip(x: torch.Tensor, padding: int, flip: bool, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop of the original size from the zero-padded batch, then random horizontal flips.

    ``x`` is (B, C, H, W) of any dtype (uint8 keeps the gather cheap); the result has x's shape and dtype.
    """
    B, C, H, W = x.shape
    if padding <= 0 and not flip:
        return x
    dev = x.device
    if padding > 0:
        x = F.pad(x, (padding, padding, padding, padding))  # zero fill, as RandomCrop(padding=p)
        dy = torch.randint(0, 2 * padding + 1, (B,), device=dev, generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (B,), device=dev, generator=generator)
    else:
        dy = dx = torch.zeros(B, dtype=torch.long, device=dev)
    ar_h = torch.arange(H, device=dev)
    ar_w = torch.arange(W, device=dev)
    rows = dy[:, None] + ar_h  # (B, H)
    cols = dx[:, None] + ar_w  # (B, W)
    if flip:
        coin = torch.rand(B, device=dev, generator=generator) < 0.5
        cols = torch.where(coin[:, None], dx[:, None] + (W - 1 - ar_w), cols)
    b = torch.arange(B, device=dev)[:, None, None, None]
    c = torch.arange(C, device=dev)[None, :, None, None]
    return x[b, c, rows[:, None, :, None], cols[:, None, None, :]]


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 → float ``(x/255 − mean) / std`` per channel (``mean``, ``std`` shaped (1, C, 1, 1))."""
    return (x.float().div_(255.0) - mean) / std


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std of uint8 images (N, C, H, W), in 0..1 units."""
    x = images.double().div(255.0).transpose(0, 1).reshape(images.shape[1], -1)
    mean = x.mean(dim=1)
    std = x.std(dim=1, unbiased=False).clamp_min(1e-6)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)

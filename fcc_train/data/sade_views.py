"""SADE's test-time views of an image batch as batched tensor ops (Zhang et al., NeurIPS 2022; the authors' CIFAR
test-time training script).

The authors' script builds two independent views of every test image with one transform (``TwoCropsTransform``):
``RandomCrop(32, padding=4)``, ``RandomApply([ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8)``, ``RandomGrayscale(p=0.2)``,
``RandomApply([GaussianBlur(σ ~ U[0.1, 2])], p=0.2)``, ``RandomHorizontalFlip()``, then normalisation. On Pillow
images, ColorJitter applies brightness, contrast and saturation factors uniform in [0.6, 1.4] (``ImageEnhance``
Brightness, Contrast, Color) and a hue shift uniform in [−0.1, 0.1] (in Pillow's HSV) in a random order drawn per
image; the grayscale is Pillow's luma in all three channels; the blur is Pillow's three-pass extended-box Gaussian.

:func:`sade_view` does the same per sample on a uint8 batch with the Pillow-exact operations of
:mod:`fcc_train.data.pil_ops` and :mod:`fcc_train.data.pil_filters` (every factor, order, coin and σ drawn per sample from the caller's generator). The
flip is drawn with the crop, before the colour operations: each of them is pointwise or mirror-symmetric (the box
blur), so this gives the authors' pixels. Digits' one channel: saturation, hue and grayscale leave it unchanged,
as torchvision's do on an ``L`` image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from fcc_train.data import pil_filters as PF
from fcc_train.data import pil_ops as P
from fcc_train.data.augment import random_crop_flip

__all__ = ["JITTER", "sade_view"]

JITTER = (0.4, 0.4, 0.4, 0.1)  # ColorJitter(brightness, contrast, saturation, hue)
P_JITTER, P_GRAY, P_BLUR = 0.8, 0.2, 0.2
SIGMA = (0.1, 2.0)


def color_jitter(
    x: torch.Tensor, on: torch.Tensor, factors: torch.Tensor, hue: torch.Tensor, order: torch.Tensor
) -> torch.Tensor:
    """ColorJitter on the samples with ``on`` (B,): ``factors`` (B, 3) brightness/contrast/saturation, ``hue`` (B,),
    ``order`` (B, 4) a permutation of 0..3 (0 brightness, 1 contrast, 2 saturation, 3 hue) per sample."""
    degenerate: tuple[Callable[[torch.Tensor], torch.Tensor], ...] = (torch.zeros_like, P.gray_mean, P.gray)

    def enhance(k: int) -> Callable[[torch.Tensor, Any], torch.Tensor]:
        return lambda xs, i: P.blend(degenerate[k](xs), xs, factors[i, k])

    for pos in range(4):
        op = torch.where(on, order[:, pos], -1)
        for k in range(3):
            x = P.on_rows(x, op == k, enhance(k))
        x = P.on_rows(x, op == 3, lambda xs, i: PF.hue_shift(xs, hue[i]))
    return x


def sade_view(x: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
    """One SADE test-time view of the uint8 batch ``x`` (B, C, H, W); same shape and dtype, not normalised."""
    x = random_crop_flip(x, padding, flip, generator)
    B = x.shape[0]
    dev = x.device
    b, c, s, h = JITTER
    on = torch.rand(B, device=dev, generator=generator) < P_JITTER
    # built on the device (a host list copied per batch would wait for the GPU)
    lo = torch.stack([torch.full((), 1 - v, device=dev) for v in (b, c, s)])
    hi = torch.stack([torch.full((), 1 + v, device=dev) for v in (b, c, s)])
    factors = lo + (hi - lo) * torch.rand((B, 3), device=dev, generator=generator)
    hue = (torch.rand(B, device=dev, generator=generator, dtype=torch.float64) * 2 - 1) * h
    order = torch.argsort(torch.rand((B, 4), device=dev, generator=generator), dim=1)  # a uniform permutation per sample
    x = color_jitter(x, on, factors, hue, order)
    gray = torch.rand(B, device=dev, generator=generator) < P_GRAY
    x = P.on_rows(x, gray, lambda xs, i: P.gray(xs))
    blur = torch.rand(B, device=dev, generator=generator) < P_BLUR
    sigma = SIGMA[0] + (SIGMA[1] - SIGMA[0]) * torch.rand(B, device=dev, generator=generator, dtype=torch.float64)
    return P.on_rows(x, blur, lambda xs, i: PF.gaussian_blur(xs, sigma[i]))

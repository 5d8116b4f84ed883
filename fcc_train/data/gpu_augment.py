"""ImageNet-style augmentation as batched tensor ops on the device (no per-sample Python work).

Training (the BoT/FCC ImageNet-LT recipe, docs/recipes.md, "Shared recipe"): ``RandomResizedCrop(S, scale=(0.08, 1),
ratio=(3/4, 4/3))`` + ``RandomHorizontalFlip()`` + ``ColorJitter(0.4, 0.4, 0.4)``, then ImageNet
mean/std. Test: resize to short side 256, centre-crop S (the store already holds short side 256,
so the test transform is a centre crop of the stored image).

How: a batch is a uint8 tensor (B, C, H, W) padded (edge-replicated) to the largest image, plus
each image's true (h, w). Every sample gets a crop box drawn as torchvision draws it (10 tries of
area × log-uniform aspect ratio, accept the first box that fits, else the central crop clamped to
the ratio range), all tries drawn at once. Crop, resize and flip are one ``grid_sample`` (bilinear)
whose sampling grid maps output pixel centres into the box (a flip reverses the x-axis). Known
difference: torchvision's PIL resize antialiases when it shrinks; ``grid_sample`` does not
(mild aliasing when a large box shrinks). Colour jitter draws brightness, contrast and saturation
factors per sample (uniform in [0.6, 1.4]) and applies the three in one random order per batch
(torchvision draws the order per image). Every random number comes from the caller's generator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "center_boxes", "color_jitter", "resized_crop", "rrc_boxes", "train_transform"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def rrc_boxes(
    sizes: torch.Tensor,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    generator: torch.Generator | None = None,
    tries: int = 10,
) -> torch.Tensor:
    """RandomResizedCrop boxes (B, 4) = (y0, x0, h, w) in pixels (float, integral values) for images of ``sizes`` (B, 2) = (h, w)."""
    dev = sizes.device
    H, W = sizes[:, 0:1].double(), sizes[:, 1:2].double()
    B = sizes.shape[0]
    area = H * W
    u = torch.rand((B, tries), device=dev, generator=generator, dtype=torch.float64)
    target = area * (scale[0] + (scale[1] - scale[0]) * u)
    lr = torch.rand((B, tries), device=dev, generator=generator, dtype=torch.float64)
    logr = math.log(ratio[0]) + (math.log(ratio[1]) - math.log(ratio[0])) * lr
    ar = torch.exp(logr)
    w = torch.round(torch.sqrt(target * ar))
    h = torch.round(torch.sqrt(target / ar))
    ok = (w > 0) & (h > 0) & (w <= W) & (h <= H)
    first = torch.argmax(ok.to(torch.int8), dim=1, keepdim=True)  # first accepted try (0 if none)
    any_ok = ok.any(dim=1, keepdim=True)
    h_sel, w_sel = h.gather(1, first), w.gather(1, first)
    # fallback (torchvision): the central crop with the aspect ratio clamped into the range
    in_ratio = W / H
    fw = torch.where(in_ratio < ratio[0], W, torch.where(in_ratio > ratio[1], torch.round(H * ratio[1]), W))
    fh = torch.where(in_ratio < ratio[0], torch.round(W / ratio[0]), H)
    h_sel = torch.where(any_ok, h_sel, fh)
    w_sel = torch.where(any_ok, w_sel, fw)
    # offsets uniform in 0..H-h (inclusive), like torch.randint(0, H - h + 1)
    oy = torch.rand((B, 1), device=dev, generator=generator, dtype=torch.float64)
    ox = torch.rand((B, 1), device=dev, generator=generator, dtype=torch.float64)
    y0 = torch.where(any_ok, torch.floor(oy * (H - h_sel + 1)), torch.floor((H - h_sel) / 2))
    x0 = torch.where(any_ok, torch.floor(ox * (W - w_sel + 1)), torch.floor((W - w_sel) / 2))
    return torch.cat([y0, x0, h_sel, w_sel], dim=1).float()


def center_boxes(sizes: torch.Tensor, crop: int) -> torch.Tensor:
    """Centre-crop boxes (B, 4) of ``crop``×``crop`` pixels (torchvision's rounding of the offset); needs h, w >= crop."""
    h, w = sizes[:, 0].float(), sizes[:, 1].float()
    y0 = torch.round((h - crop) / 2)
    x0 = torch.round((w - crop) / 2)
    c = torch.full_like(h, float(crop))
    return torch.stack([y0, x0, c, c], dim=1)


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, out: int, flip: torch.Tensor | None = None) -> torch.Tensor:
    """Crop every box of ``x`` (B, C, H, W; uint8 or float) and resize it to ``out``×``out`` (bilinear); float in 0..1.

    Output pixel j's centre samples source x-coordinate ``x0 + (j + 0.5)·w/out`` (pixel edges at integers), which is
    exact for a box of size ``out`` at an integer offset: a centre crop is a pure copy.
    """
    B, _, H, W = x.shape
    dev = x.device
    xf = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
    t = (torch.arange(out, device=dev, dtype=torch.float32) + 0.5) / out  # (out,)
    y0, x0, bh, bw = boxes[:, 0:1], boxes[:, 1:2], boxes[:, 2:3], boxes[:, 3:4]
    tx = t.expand(B, out)
    if flip is not None:
        tx = torch.where(flip.view(B, 1), 1.0 - tx, tx)
    gx = 2.0 * (x0 + tx * bw) / W - 1.0  # (B, out)
    gy = 2.0 * (y0 + t * bh) / H - 1.0
    grid = torch.stack([gx[:, None, :].expand(B, out, out), gy[:, :, None].expand(B, out, out)], dim=-1)
    return F.grid_sample(xf, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _gray(x: torch.Tensor) -> torch.Tensor:
    # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) if x.shape[1] == 3 else x


def color_jitter(x: torch.Tensor, strength: float = 0.4, generator: torch.Generator | None = None) -> torch.Tensor:
    """ColorJitter(brightness=s, contrast=s, saturation=s) on float images in 0..1 (B, C, H, W); per-sample factors."""
    if strength <= 0:
        return x
    B = x.shape[0]
    lo, hi = max(0.0, 1 - strength), 1 + strength
    f = lo + (hi - lo) * torch.rand((3, B, 1, 1, 1), device=x.device, generator=generator)
    order = torch.randperm(3, device=x.device, generator=generator).tolist()  # one small host read per batch
    for k in order:
        if k == 0:  # brightness: blend with black
            x = (x * f[0]).clamp_(0, 1)
        elif k == 1:  # contrast: blend with the image's mean grey level
            m = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
            x = (m + f[1] * (x - m)).clamp_(0, 1)
        elif x.shape[1] == 3:  # saturation: blend with the greyscale image
            g = _gray(x)
            x = (g + f[2] * (x - g)).clamp_(0, 1)
    return x


def train_transform(
    x: torch.Tensor,
    sizes: torch.Tensor,
    out: int,
    generator: torch.Generator | None = None,
    *,
    scale: tuple[float, float] = (0.08, 1.0),
    flip: bool = True,
    jitter: float = 0.4,
) -> torch.Tensor:
    """RandomResizedCrop + flip + ColorJitter of a padded uint8 batch; float in 0..1 (B, C, out, out), not normalised."""
    boxes = rrc_boxes(sizes, scale=scale, generator=generator)
    coin = (torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5) if flip else None
    y = resized_crop(x, boxes, out, coin)
    return color_jitter(y, jitter, generator)

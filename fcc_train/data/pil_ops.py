"""Pillow's image operations as batched tensor ops on uint8 images (B, C, H, W), C = 1 or 3, one parameter per sample.

The authors' augmentations (NCL's AutoAugment, SADE's test-time views) run Pillow on one image at a time; these
functions compute the same pixels for a whole device-resident batch, without a per-sample Python loop or a host
read. Each follows Pillow's C code: the same integer and float arithmetic, the same rounding and clipping. A
parameter that leaves an image unchanged (factor 1, shift 0, the identity LUT) reproduces it exactly.
:func:`on_rows` applies an operation to some samples of a batch.

* :func:`blend` — ``Image.blend(degenerate, image, f)`` in float32, truncated and clipped to 0..255: the
  ``ImageEnhance`` operations (Color, Contrast, Brightness, Sharpness) with :func:`gray`, :func:`gray_mean`,
  zeros and :func:`smooth` as the degenerate images.
* :func:`apply_lut` with :func:`posterize_lut`, :func:`solarize_lut`, :func:`invert_lut`, :func:`autocontrast_lut`,
  :func:`equalize_lut` — ``ImageOps`` (per-channel lookup tables; the last two from each image's histogram).
* :func:`affine_nearest` — ``Image.transform(AFFINE, NEAREST, fillcolor)`` in Pillow's 16.16 fixed point (translate,
  and ``rotate``, which is an affine map about the centre).
* :func:`affine_bicubic` — ``Image.transform(AFFINE, BICUBIC, fillcolor)``: Pillow's transform bicubic is the
  a = −1 cubic convolution (not the a = −0.5 of its resize), with taps clamped at the borders; outputs whose
  source point falls outside the image take the fill.

Hue and blur (SADE's views) are in :mod:`fcc_train.data.pil_filters`.

The tests (tests/train/test_autoaugment.py) find Pillow's pixels exactly. Two places where that rests on float
details: :func:`smooth` sums the kernel in float32 row by row (y+1, y, y−1), and divisions are true IEEE divisions
(:func:`true_div`); another summation order, or torch's reciprocal-multiply for a scalar divisor, moves a value lying
within an ulp of a rounding boundary by one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = [
    "affine_bicubic",
    "affine_nearest",
    "apply_lut",
    "autocontrast_lut",
    "blend",
    "equalize_lut",
    "gray",
    "gray_mean",
    "identity_lut",
    "invert_lut",
    "on_rows",
    "posterize_lut",
    "rotate_matrix",
    "shear_matrix",
    "smooth",
    "solarize_lut",
    "translate_matrix",
    "true_div",
]


def true_div(a: torch.Tensor, b: float) -> torch.Tensor:
    # a true IEEE division: torch turns ``tensor / python_scalar`` into a multiplication by the reciprocal
    # (and ``scalar / tensor`` into one by the tensor's reciprocal), one ulp off Pillow's C division now and then
    return a / torch.full_like(a, b)


FULL_BATCH: bool | None = None  # None: by device (a GPU masks the whole batch); True / False force a path (tests)


def on_rows(x: torch.Tensor, mask: torch.Tensor, fn: Callable[[torch.Tensor, Any], torch.Tensor]) -> torch.Tensor:
    """``x`` with ``fn`` applied to the samples of ``mask`` (B,); ``fn(rows, index)`` indexes its own parameters.

    On a CPU ``fn`` sees only the selected rows (``index`` their positions; nothing runs when none is selected).
    On a GPU it sees the whole batch (``index`` = ``slice(None)``) and a ``where`` keeps the others: selecting rows
    would need the count on the host, which stalls the step. Both give the same pixels.
    """
    full = FULL_BATCH if FULL_BATCH is not None else x.device.type != "cpu"
    if full:
        return torch.where(mask.view(-1, 1, 1, 1), fn(x, slice(None)), x)
    idx = mask.nonzero()[:, 0]
    if idx.numel() == 0:
        return x
    return x.index_copy(0, idx, fn(x[idx], idx))


def gray(x: torch.Tensor) -> torch.Tensor:
    """``convert("L").convert(mode)``: ITU-R 601-2 luma in Pillow's integers, (R·19595 + G·38470 + B·7471 + 2¹⁵) >> 16."""
    if x.shape[1] == 1:
        return x
    xi = x.to(torch.int32)
    L = (xi[:, 0:1] * 19595 + xi[:, 1:2] * 38470 + xi[:, 2:3] * 7471 + 0x8000) >> 16
    return L.to(torch.uint8).expand_as(x)


def gray_mean(x: torch.Tensor) -> torch.Tensor:
    """``ImageEnhance.Contrast``'s degenerate: the image filled with int(mean of its luma + 0.5)."""
    m = gray(x)[:, :1].double().mean(dim=(1, 2, 3), keepdim=True)
    return torch.floor(m + 0.5).to(torch.uint8).expand_as(x)


def smooth(x: torch.Tensor) -> torch.Tensor:
    """``filter(ImageFilter.SMOOTH)``: the 3×3 kernel [1 1 1; 1 5 1; 1 1 1]/13 in float32, rounded; border pixels copied."""
    H, W = x.shape[2:]
    if H < 3 or W < 3:
        return x
    xf = x.float()
    k1, k5 = 1.0 / 13.0, 5.0 / 13.0

    def row(r: torch.Tensor, centre: float) -> torch.Tensor:
        return r[..., :-2] * k1 + r[..., 1:-1] * centre + r[..., 2:] * k1

    s = row(xf[:, :, 2:], k1) + row(xf[:, :, 1:-1], k5) + row(xf[:, :, :-2], k1)  # rows y+1, y, y-1
    inner = torch.floor(s.clamp(0, 255) + 0.5).clamp_(0, 255).to(torch.uint8)
    out = x.clone()
    out[:, :, 1:-1, 1:-1] = inner
    return out


def blend(degenerate: torch.Tensor, image: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``Image.blend(degenerate, image, f)`` per sample (``factor`` (B,)): float32 ``d + f·(i − d)``, clipped, truncated."""
    d = degenerate.float()
    f = factor.to(torch.float32).view(-1, 1, 1, 1)
    v = (image.float() - d).mul_(f).add_(d)
    return v.clamp_(0, 255).floor_().to(torch.uint8)


# -- lookup tables ------------------------------------------------------------------------------------------------
def identity_lut(B: int, C: int, device: torch.device) -> torch.Tensor:
    """(B, C, 256) int64: every value maps to itself."""
    return torch.arange(256, device=device).expand(B, C, 256).clone()


def apply_lut(x: torch.Tensor, lut: torch.Tensor) -> torch.Tensor:
    """Map every pixel of sample b, channel c through ``lut[b, c]`` (B, C, 256)."""
    B, C, H, W = x.shape
    return lut.gather(2, x.reshape(B, C, H * W).long()).reshape(B, C, H, W).to(torch.uint8)


def posterize_lut(bits: torch.Tensor, C: int) -> torch.Tensor:
    """``ImageOps.posterize(img, bits)``: keep the top ``bits`` (B,) bits of each value."""
    mask = (~((1 << (8 - bits.long())) - 1)) & 0xFF
    i = torch.arange(256, device=bits.device)
    return (i[None, :] & mask[:, None]).unsqueeze(1).expand(-1, C, -1)


def solarize_lut(threshold: torch.Tensor, C: int) -> torch.Tensor:
    """``ImageOps.solarize(img, threshold)``: values >= ``threshold`` (B,) become 255 − value."""
    i = torch.arange(256, device=threshold.device)
    lut = torch.where(i[None, :].double() < threshold.double()[:, None], i[None, :], 255 - i[None, :])
    return lut.unsqueeze(1).expand(-1, C, -1)


def invert_lut(B: int, C: int, device: torch.device) -> torch.Tensor:
    """``ImageOps.invert``: 255 − value."""
    return 255 - identity_lut(B, C, device)


def _histogram(x: torch.Tensor) -> torch.Tensor:
    B, C, H, W = x.shape
    h = torch.zeros(B * C, 256, dtype=torch.long, device=x.device)
    h.scatter_add_(1, x.reshape(B * C, H * W).long(), torch.ones(1, dtype=torch.long, device=x.device).expand(B * C, H * W))
    return h.view(B, C, 256)


def autocontrast_lut(x: torch.Tensor) -> torch.Tensor:
    """``ImageOps.autocontrast(img)`` (cutoff 0): per channel, int(i·255/(hi−lo) − lo·255/(hi−lo)) clipped; identity if hi <= lo."""
    xr = x.flatten(2)
    lo = xr.amin(dim=2).double()[..., None]
    hi = xr.amax(dim=2).double()[..., None]
    i = torch.arange(256, device=x.device, dtype=torch.float64)
    span = (hi - lo).clamp_min(1.0)
    scale = torch.full_like(span, 255.0) / span
    offset = -lo * scale
    lut = torch.trunc(i * scale + offset).clamp_(0, 255).long()
    return torch.where(hi > lo, lut, i.long().expand_as(lut))


def equalize_lut(x: torch.Tensor) -> torch.Tensor:
    """``ImageOps.equalize(img)``: per channel, step = (N − count of the top value) // 255, lut[i] = (step//2 + Σ_{j<i} h_j) // step.

    Identity where fewer than two values occur or step is 0, as Pillow.
    """
    h = _histogram(x)
    total = h.sum(dim=2, keepdim=True)
    occupied = h > 0
    top = 255 - torch.argmax(occupied.flip(2).to(torch.int8), dim=2, keepdim=True)  # the highest value present
    step = (total - h.gather(2, top)) // 255
    excl = torch.cumsum(h, dim=2) - h
    lut = ((step // 2 + excl) // step.clamp_min(1)).clamp_(0, 255)
    ok = (occupied.sum(dim=2, keepdim=True) > 1) & (step > 0)
    return torch.where(ok, lut, torch.arange(256, device=x.device).expand_as(lut))


# -- geometry -------------------------------------------------------------------------------------------------------
def rotate_matrix(angle_deg: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """The (B, 6) inverse affine map of ``Image.rotate(angle)`` (counter-clockwise about (W/2, H/2), no expand)."""
    a = -torch.deg2rad(angle_deg.double())
    # Pillow rounds the matrix to 15 decimals; the 16.16 fixed point below makes that rounding irrelevant
    c, s = torch.cos(a), torch.sin(a)
    cx, cy = W / 2.0, H / 2.0
    m2 = c * (-cx) + s * (-cy) + cx
    m5 = -s * (-cx) + c * (-cy) + cy
    return torch.stack([c, s, m2, -s, c, m5], dim=1)


def _coords(H: int, W: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    ys = torch.arange(H, device=device).view(1, H, 1)
    xs = torch.arange(W, device=device).view(1, 1, W)
    return ys, xs


def _gather(x: torch.Tensor, yi: torch.Tensor, xi: torch.Tensor) -> torch.Tensor:
    """x[b, c, yi[b, h, w], xi[b, h, w]] for in-range indices (B, C, H, W)."""
    B, C, H, W = x.shape
    flat = (yi * W + xi).view(B, 1, -1).expand(B, C, -1)
    return x.reshape(B, C, H * W).gather(2, flat).view(B, C, *yi.shape[1:])


def affine_nearest(x: torch.Tensor, m: torch.Tensor, fill: int = 128) -> torch.Tensor:
    """``transform(size, AFFINE, m, NEAREST, fillcolor=fill)`` with per-sample maps ``m`` (B, 6), in Pillow's fixed point.

    Output pixel (x, y) reads source (⌊X/2¹⁶⌋, ⌊Y/2¹⁶⌋) with X = FIX(a·0.5 + b·0.5 + c) + x·FIX(a) + y·FIX(b),
    FIX(v) = ⌊v·2¹⁶ + 0.5⌋ (and likewise Y from d, e, f), or the fill when that is outside the image.
    """
    B, _, H, W = x.shape
    md = m.double()
    a, b, c, d, e, f = md.unbind(1)

    def fix(v: torch.Tensor) -> torch.Tensor:
        return torch.floor(v * 65536.0 + 0.5).long().view(B, 1, 1)

    ys, xs = _coords(H, W, x.device)
    X = fix(c + a * 0.5 + b * 0.5) + xs * fix(a) + ys * fix(b)
    Y = fix(f + d * 0.5 + e * 0.5) + xs * fix(d) + ys * fix(e)
    xi, yi = X >> 16, Y >> 16
    ok = (xi >= 0) & (xi < W) & (yi >= 0) & (yi < H)
    v = _gather(x, torch.where(ok, yi, 0), torch.where(ok, xi, 0))
    return torch.where(ok[:, None], v, torch.full_like(v, fill))


def _cubic(v1: torch.Tensor, v2: torch.Tensor, v3: torch.Tensor, v4: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    # Pillow's BICUBIC macro (the a = -1 kernel), same association
    p2 = -v1 + v3
    p3 = 2 * (v1 - v2) + v3 - v4
    p4 = -v1 + v2 - v3 + v4
    return v2 + d * (p2 + d * (p3 + d * p4))


def affine_bicubic(x: torch.Tensor, m: torch.Tensor, fill: int = 128) -> torch.Tensor:
    """``transform(size, AFFINE, m, BICUBIC, fillcolor=fill)`` with per-sample maps ``m`` (B, 6), in float64.

    The source point of output pixel (x, y) is (a(x+½) + b(y+½) + c, d(x+½) + e(y+½) + f); outside [0, W)×[0, H)
    it takes the fill, else the 4×4 taps around it (indices clamped) are combined with Pillow's cubic, clipped and
    truncated to 0..255. A pure shear along one axis has an integral offset on the other, so the cubic there is exact.
    """
    B, _, H, W = x.shape
    md = m.double()
    a, b, c, d, e, f = (t.view(B, 1, 1) for t in md.unbind(1))
    ys, xs = _coords(H, W, x.device)
    xin = a * (xs + 0.5) + b * (ys + 0.5) + c
    yin = d * (xs + 0.5) + e * (ys + 0.5) + f
    ok = (xin >= 0) & (xin < W) & (yin >= 0) & (yin < H)
    xs0, ys0 = xin - 0.5, yin - 0.5
    X, Y = torch.floor(xs0), torch.floor(ys0)
    dx, dy = (xs0 - X)[:, None], (ys0 - Y)[:, None]
    X, Y = X.long(), Y.long()
    xf = x.double()
    rows = []
    for j in range(-1, 3):
        yj = (Y + j).clamp(0, H - 1)
        t = [_gather(xf, yj, (X + i).clamp(0, W - 1)) for i in range(-1, 3)]
        rows.append(_cubic(t[0], t[1], t[2], t[3], dx))
    v = _cubic(rows[0], rows[1], rows[2], rows[3], dy)
    out = torch.where(v <= 0, 0.0, torch.where(v >= 255, 255.0, torch.trunc(v)))
    return torch.where(ok[:, None], out, float(fill)).to(torch.uint8)


def shear_matrix(shear: torch.Tensor, axis: str) -> torch.Tensor:
    """(B, 6) affine data of AutoAugment's shear: x' = x + s·y (``axis`` "x") or y' = y + s·x ("y")."""
    z, o = torch.zeros_like(shear.double()), torch.ones_like(shear.double())
    s = shear.double()
    if axis == "x":
        return torch.stack([o, s, z, z, o, z], dim=1)
    return torch.stack([o, z, z, s, o, z], dim=1)


def translate_matrix(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    """(B, 6) affine data (1, 0, tx, 0, 1, ty): output (x, y) reads source (x + tx, y + ty)."""
    z, o = torch.zeros_like(tx.double()), torch.ones_like(tx.double())
    return torch.stack([o, z, tx.double(), z, o, ty.double()], dim=1)

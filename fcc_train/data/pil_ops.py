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
* :func:`hue_shift` (torchvision's PIL ``adjust_hue``: Pillow's RGB↔HSV in its float32/float64 mix) and
  :func:`gaussian_blur` (``ImageFilter.GaussianBlur``: three extended-box passes per axis in 8.24 fixed point,
  edges replicated), for SADE's test-time views.

The tests (tests/train/test_autoaugment.py) find Pillow's pixels exactly. Two places where that rests on float
details: :func:`smooth` sums the kernel in float32 row by row (y+1, y, y−1), and divisions are true IEEE divisions
(:func:`_div`); another summation order, or torch's reciprocal-multiply for a scalar divisor, moves a value lying
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
    "box_blur_radius",
    "equalize_lut",
    "gaussian_blur",
    "gray",
    "gray_mean",
    "hsv_to_rgb",
    "hue_shift",
    "identity_lut",
    "invert_lut",
    "on_rows",
    "posterize_lut",
    "rgb_to_hsv",
    "rotate_matrix",
    "shear_matrix",
    "smooth",
    "solarize_lut",
    "translate_matrix",
]


def _div(a: torch.Tensor, b: float) -> torch.Tensor:
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


# -- colour space and blur (torchvision's PIL ColorJitter hue, ImageFilter.GaussianBlur) ----------------------------
def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """``convert("HSV")`` of uint8 RGB (B, 3, H, W): Pillow's float32/float64 mix, hue and saturation truncated to 0..255."""
    xi = x.long()
    r, g, b = xi[:, 0], xi[:, 1], xi[:, 2]
    maxc = torch.maximum(r, torch.maximum(g, b))
    minc = torch.minimum(r, torch.minimum(g, b))
    cr = (maxc - minc).float()
    safe = torch.where(cr > 0, cr, torch.ones_like(cr))
    s = cr / maxc.float().clamp_min(1)
    rc, gc, bc = ((maxc - r).float() / safe), ((maxc - g).float() / safe), ((maxc - b).float() / safe)
    h = torch.where(
        r == maxc,
        bc - gc,
        torch.where(g == maxc, (2.0 + rc.double() - bc.double()).float(), (4.0 + gc.double() - rc.double()).float()),
    )
    h = torch.fmod(_div(h.double(), 6.0) + 1.0, 1.0).float()
    uh = torch.trunc(h.double() * 255.0).clamp(0, 255).long()
    us = torch.trunc(s.double() * 255.0).clamp(0, 255).long()
    grey = cr == 0
    uh = torch.where(grey, 0, uh)
    us = torch.where(grey, 0, us)
    return torch.stack([uh, us, maxc], dim=1).to(torch.uint8)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """``Image.merge("HSV", …).convert("RGB")``: Pillow's sextant formula, p, q, t rounded half away from zero."""
    h, s, v = (hsv[:, k].double() for k in range(3))
    i = torch.floor(_div(h * 6.0, 255.0))
    f = (_div(h * 6.0, 255.0) - i).float()
    fs = _div(s, 255.0).float()
    p = torch.floor(v * (1.0 - fs.double()) + 0.5).clamp(0, 255)
    q = torch.floor(v * (1.0 - (fs * f).double()) + 0.5).clamp(0, 255)
    t = torch.floor(v * (1.0 - fs.double() * (1.0 - f.double())) + 0.5).clamp(0, 255)
    sector = i.long() % 6
    table = (  # (r, g, b) of each sextant
        (v, t, p),
        (q, v, p),
        (p, v, t),
        (p, q, v),
        (t, p, v),
        (v, p, q),
    )
    out = torch.zeros_like(hsv, dtype=torch.float64)
    for k, (cr, cg, cb) in enumerate(table):
        sel = (sector == k)[:, None]
        out = torch.where(sel, torch.stack([cr, cg, cb], dim=1), out)
    out = torch.where((s == 0)[:, None], v[:, None].expand_as(out), out)
    return out.to(torch.uint8)


def hue_shift(x: torch.Tensor, hue: torch.Tensor) -> torch.Tensor:
    """torchvision's PIL ``adjust_hue(img, hue)`` per sample (``hue`` (B,) in [−0.5, 0.5]): H += int(hue·255) mod 256 in HSV."""
    if x.shape[1] == 1:
        return x
    hsv = rgb_to_hsv(x)
    shift = torch.trunc(hue.double() * 255.0).long().view(-1, 1, 1)
    h = (hsv[:, 0].long() + shift) % 256
    return hsv_to_rgb(torch.cat([h[:, None].to(torch.uint8), hsv[:, 1:]], dim=1))


def box_blur_radius(sigma: torch.Tensor, passes: int = 3) -> torch.Tensor:
    """Pillow's extended-box radius (float32) of a Gaussian of standard deviation ``sigma`` in ``passes`` box passes."""
    r = sigma.float()
    sigma2 = _div(r * r, float(passes))
    L = torch.sqrt(12.0 * sigma2.double() + 1.0).float()
    lo = torch.floor((L.double() - 1.0) / 2.0).float()
    a = (2 * lo + 1) * (lo * (lo + 1) - 3 * sigma2)
    a = a / (6 * (sigma2 - (lo + 1) * (lo + 1)))
    return lo + a


def _box_pass(x: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """One horizontal extended-box pass in Pillow's 8.24 fixed point, edges replicated: per sample float radius (B,) < W."""
    B, C, H, W = x.shape
    reach = W
    rint = radius.long()  # (int) of the float radius
    ww = torch.trunc(torch.tensor(float(1 << 24), dtype=torch.float32, device=x.device) / (radius * 2 + 1)).long()
    fw = ((1 << 24) - (rint * 2 + 1) * ww) // 2
    idx = torch.arange(W, device=x.device)
    xl = x.long()
    # prefix sums over the clamped line, so every sample's window width is one gather
    ext = torch.arange(-reach - 1, W + reach + 1, device=x.device).clamp(0, W - 1)
    line = xl[..., ext]  # (B, C, H, W + 2 reach + 2)
    csum = torch.cat([torch.zeros_like(line[..., :1]), torch.cumsum(line, dim=-1)], dim=-1)
    off = reach + 1  # position of pixel 0 in ``line``
    rr = rint.view(B, 1, 1, 1)
    lo = idx + off - rr
    hi = idx + off + rr + 1
    acc = csum.gather(-1, hi.expand(B, C, H, W)) - csum.gather(-1, lo.expand(B, C, H, W))
    left = xl.gather(-1, (idx - rr - 1).clamp(0, W - 1).expand(B, C, H, W))
    right = xl.gather(-1, (idx + rr + 1).clamp(0, W - 1).expand(B, C, H, W))
    bulk = acc * ww.view(B, 1, 1, 1) + (left + right) * fw.view(B, 1, 1, 1)
    return ((bulk + (1 << 23)) >> 24).to(torch.uint8)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``filter(ImageFilter.GaussianBlur(sigma))`` per sample (B,): three extended-box passes along x, then three along y."""
    radius = box_blur_radius(sigma)
    y = x
    for _ in range(3):
        y = _box_pass(y, radius)
    y = y.transpose(2, 3)
    for _ in range(3):
        y = _box_pass(y, radius)
    return y.transpose(2, 3).contiguous()

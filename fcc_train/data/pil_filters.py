"""Pillow's HSV hue shift and Gaussian blur as batched tensor ops on uint8 images (B, C, H, W), for SADE's views.

* :func:`hue_shift` — torchvision's PIL ``adjust_hue``: Pillow's RGB → HSV (its float32/float64 mix, hue and
  saturation truncated), H + int(hue·255) mod 256, HSV → RGB (its sextant formula, p, q, t rounded half away from 0).
* :func:`gaussian_blur` — ``ImageFilter.GaussianBlur(σ)``: Pillow's three extended-box passes along x, then three
  along y, in 8.24 fixed point with edges replicated; the box radius from σ as Pillow computes it in float32.

Same conventions as :mod:`fcc_train.data.pil_ops` (true IEEE divisions, one parameter per sample); the tests find
Pillow's pixels exactly.
"""

from __future__ import annotations

import torch

from fcc_train.data.pil_ops import true_div

__all__ = ["box_blur_radius", "gaussian_blur", "hsv_to_rgb", "hue_shift", "rgb_to_hsv"]


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
    h = torch.fmod(true_div(h.double(), 6.0) + 1.0, 1.0).float()
    uh = torch.trunc(h.double() * 255.0).clamp(0, 255).long()
    us = torch.trunc(s.double() * 255.0).clamp(0, 255).long()
    grey = cr == 0
    uh = torch.where(grey, 0, uh)
    us = torch.where(grey, 0, us)
    return torch.stack([uh, us, maxc], dim=1).to(torch.uint8)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """``Image.merge("HSV", …).convert("RGB")``: Pillow's sextant formula, p, q, t rounded half away from zero."""
    h, s, v = (hsv[:, k].double() for k in range(3))
    i = torch.floor(true_div(h * 6.0, 255.0))
    f = (true_div(h * 6.0, 255.0) - i).float()
    fs = true_div(s, 255.0).float()
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
    sigma2 = true_div(r * r, float(passes))
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
    ww = torch.trunc(torch.full_like(radius, float(1 << 24)) / (radius * 2 + 1)).long()
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

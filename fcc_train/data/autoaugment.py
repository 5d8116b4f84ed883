"""AutoAugment's CIFAR-10 policy and Cutout as batched tensor ops (NCL's CIFAR training augmentation).

NCL (Li et al., CVPR 2022) trains CIFAR-LT with ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip()``, the
CIFAR-10 AutoAugment policy (Cubuk et al., CVPR 2019, in the widely used Pillow transcription of its 25
sub-policies) and ``Cutout(n_holes=1, length=16)`` (DeVries & Taylor, 2017), in that order, then normalisation.
One view per image serves all experts (the authors' training loop hands the same batch to each of them).

:func:`cifar10_policy` draws, per sample, one of the 25 sub-policies uniformly and, for each of its two
operations, whether it applies (probability ``p``) and the sign of a signed magnitude (±, one coin each), then
applies slot 1 and slot 2: each operation (:mod:`fcc_train.data.pil_ops`) runs once per slot, batched, on the
samples that drew it (:func:`~fcc_train.data.pil_ops.on_rows`: the selected rows on a CPU, the whole batch and a
mask on a GPU, where selecting rows would read the device), so there is no per-sample Python loop. Every random
number comes from the caller's generator.

The operations and magnitudes are the transcription's (magnitude index m of 0..9): ShearX/Y (bicubic, fill 128)
s = ±0.3·m/9; TranslateX/Y (nearest, fill 128) ±(150/331)·m/9 of the width / height; Rotate (nearest, outside
grey 128) +30·m/9 degrees, counter-clockwise (no random sign); Color, Contrast, Sharpness, Brightness: factor
1 ± 0.9·m/9; Posterize: round(8 − 4·m/9) bits; Solarize: threshold 256 − 256·m/9; AutoContrast, Equalize, Invert.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from fcc_train.data import pil_ops as P

__all__ = ["CIFAR10_POLICY", "OPS", "apply_ops", "cifar10_policy", "cutout", "magnitude"]

OPS = (
    "shearX",
    "shearY",
    "translateX",
    "translateY",
    "rotate",
    "color",
    "posterize",
    "solarize",
    "contrast",
    "sharpness",
    "brightness",
    "autocontrast",
    "equalize",
    "invert",
)
_ID = {name: i for i, name in enumerate(OPS)}

# (p1, op1, m1, p2, op2, m2): the CIFAR-10 policy's 25 sub-policies, as the transcription NCL imports
CIFAR10_POLICY: tuple[tuple[float, str, int, float, str, int], ...] = (
    (0.1, "invert", 7, 0.2, "contrast", 6),
    (0.7, "rotate", 2, 0.3, "translateX", 9),
    (0.8, "sharpness", 1, 0.9, "sharpness", 3),
    (0.5, "shearY", 8, 0.7, "translateY", 9),
    (0.5, "autocontrast", 8, 0.9, "equalize", 2),
    (0.2, "shearY", 7, 0.3, "posterize", 7),
    (0.4, "color", 3, 0.6, "brightness", 7),
    (0.3, "sharpness", 9, 0.7, "brightness", 9),
    (0.6, "equalize", 5, 0.5, "equalize", 1),
    (0.6, "contrast", 7, 0.6, "sharpness", 5),
    (0.7, "color", 7, 0.5, "translateX", 8),
    (0.3, "equalize", 7, 0.4, "autocontrast", 8),
    (0.4, "translateY", 3, 0.2, "sharpness", 6),
    (0.9, "brightness", 6, 0.2, "color", 8),
    (0.5, "solarize", 2, 0.0, "invert", 3),
    (0.2, "equalize", 0, 0.6, "autocontrast", 0),
    (0.2, "equalize", 8, 0.6, "equalize", 4),
    (0.9, "color", 9, 0.6, "equalize", 6),
    (0.8, "autocontrast", 4, 0.2, "solarize", 8),
    (0.1, "brightness", 3, 0.7, "color", 0),
    (0.4, "solarize", 5, 0.9, "autocontrast", 3),
    (0.9, "translateY", 9, 0.7, "translateY", 9),
    (0.9, "autocontrast", 2, 0.8, "solarize", 3),
    (0.8, "equalize", 8, 0.1, "invert", 3),
    (0.7, "translateY", 9, 0.9, "autocontrast", 1),
)


def _linspace(start: float, stop: float, m: int) -> float:
    # numpy's linspace(start, stop, 10)[m]: m·step + start, the last point exactly stop
    return stop if m == 9 else m * ((stop - start) / 9) + start


def magnitude(op: str, m: int) -> float:
    """The unsigned magnitude of ``op`` at index ``m`` (0..9): a 10-point linspace, as the transcription's table."""
    if not 0 <= m <= 9:
        raise ValueError(f"magnitude index {m} outside 0..9")
    if op in ("shearX", "shearY"):
        return _linspace(0.0, 0.3, m)
    if op in ("translateX", "translateY"):
        return _linspace(0.0, 150 / 331, m)
    if op == "rotate":
        return _linspace(0.0, 30.0, m)
    if op in ("color", "contrast", "sharpness", "brightness"):
        return _linspace(0.0, 0.9, m)
    if op == "posterize":
        return float(round(_linspace(8.0, 4.0, m)))
    if op == "solarize":
        return _linspace(256.0, 0.0, m)
    return 0.0


_TABLES: dict[tuple[str, tuple[tuple[float, str, int, float, str, int], ...]], tuple[torch.Tensor, ...]] = {}


def _table(device: torch.device) -> tuple[torch.Tensor, ...]:
    """Probabilities, operation ids and magnitudes (25, 2) on ``device``, built once per device and table (a copy
    from the host per batch would wait for the GPU)."""
    key = (str(device), CIFAR10_POLICY)
    if key not in _TABLES:
        probs = torch.tensor([[r[0], r[3]] for r in CIFAR10_POLICY], dtype=torch.float64)
        ops = torch.tensor([[_ID[r[1]], _ID[r[4]]] for r in CIFAR10_POLICY], dtype=torch.long)
        mags = torch.tensor([[magnitude(r[1], r[2]), magnitude(r[4], r[5])] for r in CIFAR10_POLICY], dtype=torch.float64)
        _TABLES[key] = (probs.to(device), ops.to(device), mags.to(device))
    return _TABLES[key]


def apply_ops(x: torch.Tensor, op: torch.Tensor, mag: torch.Tensor, sign: torch.Tensor) -> torch.Tensor:
    """Apply operation ``op[b]`` (an index of :data:`OPS`; −1: none) with magnitude ``mag[b]`` and sign ``sign[b]`` (±1).

    ``x`` is uint8 (B, C, H, W); the result has its shape and dtype.
    """
    _, C, H, W = x.shape
    mag = mag.double()
    s = mag * sign.double()  # the signed magnitude
    zero = torch.zeros_like(s)

    def luts(make: Callable[[torch.Tensor, Any], torch.Tensor]) -> Callable[[torch.Tensor, Any], torch.Tensor]:
        return lambda xs, i: P.apply_lut(xs, make(xs, i))

    fns: dict[str, Callable[[torch.Tensor, Any], torch.Tensor]] = {
        "shearX": lambda xs, i: P.affine_bicubic(xs, P.shear_matrix(s[i], "x")),
        "shearY": lambda xs, i: P.affine_bicubic(xs, P.shear_matrix(s[i], "y")),
        "translateX": lambda xs, i: P.affine_nearest(xs, P.translate_matrix(s[i] * W, zero[i])),
        "translateY": lambda xs, i: P.affine_nearest(xs, P.translate_matrix(zero[i], s[i] * H)),
        "rotate": lambda xs, i: P.affine_nearest(xs, P.rotate_matrix(mag[i], H, W)),  # no random sign
        "color": lambda xs, i: P.blend(P.gray(xs), xs, 1.0 + s[i]),
        "contrast": lambda xs, i: P.blend(P.gray_mean(xs), xs, 1.0 + s[i]),
        "sharpness": lambda xs, i: P.blend(P.smooth(xs), xs, 1.0 + s[i]),
        "brightness": lambda xs, i: P.blend(torch.zeros_like(xs), xs, 1.0 + s[i]),
        "posterize": luts(lambda xs, i: P.posterize_lut(mag[i].long(), C)),
        "solarize": luts(lambda xs, i: P.solarize_lut(mag[i], C)),
        "autocontrast": luts(lambda xs, i: P.autocontrast_lut(xs)),
        "equalize": luts(lambda xs, i: P.equalize_lut(xs)),
        "invert": luts(lambda xs, i: P.invert_lut(xs.shape[0], C, xs.device)),
    }
    for name in OPS:
        x = P.on_rows(x, op == _ID[name], fns[name])
    return x


def cifar10_policy(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """AutoAugment's CIFAR-10 policy on a uint8 batch (B, C, H, W): one uniformly drawn sub-policy per sample."""
    B = x.shape[0]
    dev = x.device
    probs, ops, mags = _table(dev)
    pick = torch.randint(0, len(CIFAR10_POLICY), (B,), device=dev, generator=generator)
    u = torch.rand((B, 2), device=dev, generator=generator, dtype=torch.float64)
    sign = torch.randint(0, 2, (B, 2), device=dev, generator=generator) * 2 - 1
    for slot in range(2):
        apply = u[:, slot] < probs[pick, slot]
        op = torch.where(apply, ops[pick, slot], -1)
        x = apply_ops(x, op, mags[pick, slot], sign[:, slot])
    return x


def cutout(x: torch.Tensor, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Cutout(n_holes=1, length): per sample a centre (cy, cx) uniform over the pixels, rows/cols [c − L//2, c + L//2) clipped, set to 0.

    Zero on the uint8 image is the authors' zero on the 0..1 tensor before normalisation (a black square).
    """
    if length <= 0:
        return x
    B, _, H, W = x.shape
    dev = x.device
    cy = torch.randint(0, H, (B, 1), device=dev, generator=generator)
    cx = torch.randint(0, W, (B, 1), device=dev, generator=generator)
    half = length // 2
    ys = torch.arange(H, device=dev)[None, :]
    xs = torch.arange(W, device=dev)[None, :]
    rows = (ys >= cy - half) & (ys < cy + half)  # (B, H); the clip at the borders is implicit
    cols = (xs >= cx - half) & (xs < cx + half)
    hole = rows[:, :, None] & cols[:, None, :]
    return x.masked_fill(hole[:, None], 0)

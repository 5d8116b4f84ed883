"""AutoAugment's operations done one image at a time with Pillow (the usual CIFAR-10-policy transcription).

The independent computation that tests/train/test_autoaugment.py compares the batched ops with, and the
per-image baseline that benchmarks/bench_augment.py times them against. Fill grey 128, as the transcription.
"""

from __future__ import annotations

from PIL import Image, ImageEnhance, ImageOps

FILL = 128
_ENHANCE = {
    "color": ImageEnhance.Color,
    "contrast": ImageEnhance.Contrast,
    "sharpness": ImageEnhance.Sharpness,
    "brightness": ImageEnhance.Brightness,
}


def fill(img: Image.Image) -> int | tuple[int, ...]:
    return FILL if img.mode == "L" else (FILL,) * 3


def rotate_with_fill(img: Image.Image, deg: float) -> Image.Image:
    rot = img.convert("RGBA").rotate(deg)
    return Image.composite(rot, Image.new("RGBA", rot.size, (FILL,) * 4), rot).convert(img.mode)


def pil_op(img: Image.Image, op: str, mag: float, sign: int) -> Image.Image:
    """Operation ``op`` at magnitude ``mag``; ``sign`` (±1) for the signed ones (shear, translate, enhance)."""
    w, h = img.size
    if op == "shearX":
        return img.transform(img.size, Image.AFFINE, (1, mag * sign, 0, 0, 1, 0), Image.BICUBIC, fillcolor=fill(img))
    if op == "shearY":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, mag * sign, 1, 0), Image.BICUBIC, fillcolor=fill(img))
    if op == "translateX":
        return img.transform(img.size, Image.AFFINE, (1, 0, mag * w * sign, 0, 1, 0), fillcolor=fill(img))
    if op == "translateY":
        return img.transform(img.size, Image.AFFINE, (1, 0, 0, 0, 1, mag * h * sign), fillcolor=fill(img))
    if op == "rotate":
        return rotate_with_fill(img, mag)
    if op in _ENHANCE:
        return _ENHANCE[op](img).enhance(1 + mag * sign)
    if op == "posterize":
        return ImageOps.posterize(img, int(mag))
    if op == "solarize":
        return ImageOps.solarize(img, mag)
    return {"autocontrast": ImageOps.autocontrast, "equalize": ImageOps.equalize, "invert": ImageOps.invert}[op](img)

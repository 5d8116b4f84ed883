"""NCL's AutoAugment + Cutout and SADE's test-time views against Pillow, one image at a time.

Every batched operation is compared with Pillow (``PIL.Image`` / ``ImageEnhance`` / ``ImageOps`` / ``ImageFilter``,
the library the authors' transforms call) on small random images, RGB and one-channel, square and odd-sized.
All comparisons are exact, the interpolating ones included: the batched ShearX/Y reproduce Pillow's transform
bicubic (its a = −1 cubic, float64, clamped taps, truncation), Translate/Rotate its 16.16 fixed-point nearest
neighbour, and the blur its three-pass extended box in 8.24 fixed point; none is a bilinear or ``grid_sample``
stand-in, so there is no tolerance to state. The policy test replays the generator's draws through an independent
Pillow transcription of the authors' sub-policy table here; mutants of the table (a probability, a magnitude index)
and of SADE's view probabilities must be caught.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageFilter, ImageOps
from pillow_reference import FILL, fill, pil_op, rotate_with_fill

from fcc_train.config import ConfigError, load_config
from fcc_train.config_ranges import check_ranges
from fcc_train.data import autoaugment as AA
from fcc_train.data import pil_filters as PF
from fcc_train.data import pil_ops as P
from fcc_train.data import sade_views as SV
from fcc_train.data.loader import DeviceLoader

torch.set_num_threads(1)
REPO = Path(__file__).resolve().parents[2]


def _images(seed: int, B: int, C: int, H: int, W: int) -> np.ndarray:
    """Noise for half the batch, smooth ramps (few distinct values, flat regions) for the rest, one constant image."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (B, H, W, C), dtype=np.uint8)
    a[B // 2 :] = (np.cumsum(rng.integers(0, 24, (B - B // 2, H, W, C)), axis=2) % 256).astype(np.uint8)
    a[0] = 77
    return a


def _pil(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a[..., 0], "L") if a.shape[-1] == 1 else Image.fromarray(a, "RGB")


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()


def _back(ims: list[Image.Image]) -> torch.Tensor:
    arrs = [np.asarray(im) for im in ims]
    arrs = [x[..., None] if x.ndim == 2 else x for x in arrs]
    return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2)


SHAPES = [(3, 32, 32), (1, 8, 8), (3, 9, 7)]


# -- each operation against Pillow ----------------------------------------------------------------------------------
@pytest.mark.parametrize("C,H,W", SHAPES)
def test_every_operation_matches_pillow_exactly(C, H, W):
    B = 12
    a = _images(C * 100 + H, B, C, H, W)
    x = _tensor(a)
    rng = np.random.default_rng(H)
    ims = [_pil(a[i]) for i in range(B)]
    f = rng.uniform(0.05, 1.95, B)  # blend factors on both sides of 1 (interpolation and extrapolation)
    ft = torch.tensor(f)
    s = rng.uniform(-0.3, 0.3, B)
    t = rng.choice([-1, 1], B) * (150 / 331) * rng.integers(0, 10, B) / 9
    ang = rng.uniform(0, 30, B)
    bits = rng.integers(1, 9, B)
    thr = rng.uniform(0, 256, B)
    z = torch.zeros(B, dtype=torch.float64)
    cases = {
        "Color": (P.blend(P.gray(x), x, ft), [ImageEnhance.Color(im).enhance(f[i]) for i, im in enumerate(ims)]),
        "Contrast": (P.blend(P.gray_mean(x), x, ft), [ImageEnhance.Contrast(im).enhance(f[i]) for i, im in enumerate(ims)]),
        "Brightness": (
            P.blend(torch.zeros_like(x), x, ft),
            [ImageEnhance.Brightness(im).enhance(f[i]) for i, im in enumerate(ims)],
        ),
        "Sharpness": (P.blend(P.smooth(x), x, ft), [ImageEnhance.Sharpness(im).enhance(f[i]) for i, im in enumerate(ims)]),
        "Posterize": (
            P.apply_lut(x, P.posterize_lut(torch.tensor(bits), C)),
            [ImageOps.posterize(im, int(bits[i])) for i, im in enumerate(ims)],
        ),
        "Solarize": (
            P.apply_lut(x, P.solarize_lut(torch.tensor(thr), C)),
            [ImageOps.solarize(im, thr[i]) for i, im in enumerate(ims)],
        ),
        "Invert": (P.apply_lut(x, P.invert_lut(B, C, x.device)), [ImageOps.invert(im) for im in ims]),
        "AutoContrast": (P.apply_lut(x, P.autocontrast_lut(x)), [ImageOps.autocontrast(im) for im in ims]),
        "Equalize": (P.apply_lut(x, P.equalize_lut(x)), [ImageOps.equalize(im) for im in ims]),
        "ShearX": (
            P.affine_bicubic(x, P.shear_matrix(torch.tensor(s), "x")),
            [
                im.transform(im.size, Image.AFFINE, (1, s[i], 0, 0, 1, 0), Image.BICUBIC, fillcolor=fill(im))
                for i, im in enumerate(ims)
            ],
        ),
        "ShearY": (
            P.affine_bicubic(x, P.shear_matrix(torch.tensor(s), "y")),
            [
                im.transform(im.size, Image.AFFINE, (1, 0, 0, s[i], 1, 0), Image.BICUBIC, fillcolor=fill(im))
                for i, im in enumerate(ims)
            ],
        ),
        "TranslateX": (
            P.affine_nearest(x, P.translate_matrix(torch.tensor(t * W), z)),
            [im.transform(im.size, Image.AFFINE, (1, 0, t[i] * W, 0, 1, 0), fillcolor=fill(im)) for i, im in enumerate(ims)],
        ),
        "TranslateY": (
            P.affine_nearest(x, P.translate_matrix(z, torch.tensor(t * H))),
            [im.transform(im.size, Image.AFFINE, (1, 0, 0, 0, 1, t[i] * H), fillcolor=fill(im)) for i, im in enumerate(ims)],
        ),
        "Rotate": (
            P.affine_nearest(x, P.rotate_matrix(torch.tensor(ang), H, W)),
            [rotate_with_fill(im, ang[i]) for i, im in enumerate(ims)],
        ),
    }
    for name, (ours, theirs) in cases.items():
        ref = _back(theirs)
        assert torch.equal(ours, ref), f"{name}: {int((ours != ref).sum())} pixels differ"
    # identity parameters reproduce the image exactly (what lets a batch apply an operation to some samples only)
    one = torch.ones(B, dtype=torch.float64)
    assert torch.equal(P.blend(P.smooth(x), x, one), x)
    assert torch.equal(P.affine_bicubic(x, P.shear_matrix(z, "x")), x)
    assert torch.equal(P.affine_nearest(x, P.rotate_matrix(z, H, W)), x)


def test_mutated_operations_are_caught():
    """The comparison can fail: a bilinear shear, a rounded instead of truncated blend, a 0.5 pixel rotate centre."""
    a = _images(5, 8, 3, 32, 32)
    x = _tensor(a)
    ims = [_pil(a[i]) for i in range(8)]
    f = 1.37
    ref = _back([ImageEnhance.Contrast(im).enhance(f) for im in ims])
    d = P.gray_mean(x).float()
    rounded = torch.round(d + f * (x.float() - d)).clamp(0, 255).to(torch.uint8)
    assert not torch.equal(rounded, ref)
    ref = _back([im.transform(im.size, Image.AFFINE, (1, 0.27, 0, 0, 1, 0), Image.BICUBIC, fillcolor=(FILL,) * 3) for im in ims])
    bilinear = _back(
        [im.transform(im.size, Image.AFFINE, (1, 0.27, 0, 0, 1, 0), Image.BILINEAR, fillcolor=(FILL,) * 3) for im in ims]
    )
    assert torch.equal(P.affine_bicubic(x, P.shear_matrix(torch.full((8,), 0.27), "x")), ref)
    assert not torch.equal(bilinear, ref)
    m = P.rotate_matrix(torch.full((8,), 20.0), 32, 32)
    shifted = m.clone()
    shifted[:, 2] += 0.5
    ref = _back([rotate_with_fill(im, 20.0) for im in ims])
    assert torch.equal(P.affine_nearest(x, m), ref) and not torch.equal(P.affine_nearest(x, shifted), ref)


# -- the policy: an independent transcription of the authors' table, replayed ---------------------------------------
# (p1, op1, m1, p2, op2, m2), transcribed separately from the module's table
POLICY = [
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
]
RANGES = {
    "shearX": np.linspace(0, 0.3, 10),
    "shearY": np.linspace(0, 0.3, 10),
    "translateX": np.linspace(0, 150 / 331, 10),
    "translateY": np.linspace(0, 150 / 331, 10),
    "rotate": np.linspace(0, 30, 10),
    "color": np.linspace(0.0, 0.9, 10),
    "posterize": np.round(np.linspace(8, 4, 10), 0).astype(int),
    "solarize": np.linspace(256, 0, 10),
    "contrast": np.linspace(0.0, 0.9, 10),
    "sharpness": np.linspace(0.0, 0.9, 10),
    "brightness": np.linspace(0.0, 0.9, 10),
    "autocontrast": [0] * 10,
    "equalize": [0] * 10,
    "invert": [0] * 10,
}


def _policy_by_pillow(a: np.ndarray, seed: int) -> torch.Tensor:
    """The policy per image with Pillow, drawing pick, coins and signs as the module's generator does."""
    B = a.shape[0]
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(0, 25, (B,), generator=g)
    u = torch.rand((B, 2), generator=g, dtype=torch.float64)
    sign = torch.randint(0, 2, (B, 2), generator=g) * 2 - 1
    out = []
    for i in range(B):
        img = _pil(a[i])
        p1, o1, m1, p2, o2, m2 = POLICY[int(pick[i])]
        for slot, (p, o, m) in enumerate(((p1, o1, m1), (p2, o2, m2))):
            if float(u[i, slot]) < p:
                img = pil_op(img, o, float(RANGES[o][m]), int(sign[i, slot]))
        out.append(img)
    return _back(out)


def test_magnitudes_are_the_linspace_table():
    for op, values in RANGES.items():
        assert [AA.magnitude(op, m) for m in range(10)] == [float(v) for v in values], op


@pytest.mark.parametrize("C,H,W", [(3, 32, 32), (1, 8, 8)])
def test_policy_matches_pillow_sub_policies(C, H, W):
    B = 400  # every sub-policy drawn many times, each slot both applied and not
    a = _images(7, B, C, H, W)
    ours = AA.cifar10_policy(_tensor(a), torch.Generator().manual_seed(11))
    ref = _policy_by_pillow(a, 11)
    assert torch.equal(ours, ref), f"{int((ours != ref).any(dim=(1, 2, 3)).sum())} images differ"


@pytest.mark.parametrize(
    "row,field,value",
    [(13, 0, 0.5), (1, 3, 0.7), (3, 2, 5), (21, 5, 4), (6, 1, "brightness")],
    ids=["probability-slot1", "probability-slot2", "magnitude-slot1", "magnitude-slot2", "operation"],
)
def test_a_mutated_policy_table_is_caught(monkeypatch, row, field, value):
    B = 400
    a = _images(7, B, 3, 32, 32)
    ref = _policy_by_pillow(a, 11)
    table = [list(r) for r in AA.CIFAR10_POLICY]
    table[row][field] = value
    monkeypatch.setattr(AA, "CIFAR10_POLICY", tuple(tuple(r) for r in table))
    assert not torch.equal(AA.cifar10_policy(_tensor(a), torch.Generator().manual_seed(11)), ref)


def test_policy_is_deterministic_per_generator():
    x = _tensor(_images(3, 64, 3, 32, 32))
    a = AA.cifar10_policy(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, AA.cifar10_policy(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, AA.cifar10_policy(x, torch.Generator().manual_seed(2)))


# -- Cutout ----------------------------------------------------------------------------------------------------------
def test_cutout_box_geometry_as_the_usual_cutout():
    B, H, W, L = 2000, 32, 32, 16
    x = torch.full((B, 3, H, W), 200, dtype=torch.uint8)
    out = AA.cutout(x, L, torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)
    cy = torch.randint(0, H, (B, 1), generator=g)[:, 0].numpy()
    cx = torch.randint(0, W, (B, 1), generator=g)[:, 0].numpy()
    for i in range(B):  # DeVries & Taylor's mask: np.clip of the box corners, one hole
        mask = np.ones((H, W), np.float32)
        y1, y2 = np.clip(cy[i] - L // 2, 0, H), np.clip(cy[i] + L // 2, 0, H)
        x1, x2 = np.clip(cx[i] - L // 2, 0, W), np.clip(cx[i] + L // 2, 0, W)
        mask[y1:y2, x1:x2] = 0.0
        assert np.array_equal(out[i, 0].numpy() == 0, mask == 0), i
        assert torch.equal(out[i, 0], out[i, 1]) and torch.equal(out[i, 1], out[i, 2])
    holes = (out[:, 0] == 0).sum(dim=(1, 2))
    assert int(holes.max()) == L * L  # a centre far from the borders: the full 16x16 square
    assert int(holes.min()) == (L // 2) ** 2  # a corner centre: clipped to a quarter
    assert set(cy.tolist()) == set(range(H)) and set(cx.tolist()) == set(range(W))  # centres anywhere
    assert torch.equal(AA.cutout(x, 0, torch.Generator().manual_seed(4)), x)


# -- loader and config ------------------------------------------------------------------------------------------------
def _loader(**kw) -> DeviceLoader:
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (96, 3, 16, 16), generator=g, dtype=torch.uint8)
    labels = torch.arange(96) % 4
    return DeviceLoader(imgs, labels, imgs[:8], labels[:8], mean=(0.5,) * 3, std=(0.25,) * 3, batch_size=32, **kw)


def test_loader_applies_the_options_and_resumes_from_the_generator_state():
    plain = _loader()
    aug = _loader(autoaugment="cifar10", cutout=8)
    x0 = [b for b, _ in plain.batches(generator=torch.Generator().manual_seed(3))]
    g = torch.Generator().manual_seed(3)
    x1 = [b for b, _ in aug.batches(generator=g)]
    assert not any(torch.equal(a, b) for a, b in zip(x0, x1, strict=True))
    state = g.get_state()  # what a checkpoint stores between epochs
    epoch2 = [b for b, _ in aug.batches(generator=g)]
    g2 = torch.Generator()
    g2.set_state(state)
    assert all(torch.equal(a, b) for a, b in zip(epoch2, [b for b, _ in aug.batches(generator=g2)], strict=True))
    # the epoch-tensor path (CUDA graphs) draws the same kinds of views
    ep = [b for b, _ in aug.batches_from_epoch_tensor(generator=torch.Generator().manual_seed(3))]
    assert len(ep) == len(x1) and all(b.shape == (32, 3, 16, 16) for b in ep)


def test_config_keys_are_checked_in_one_line():
    with pytest.raises(ConfigError, match=r"data\.autoaugment"):
        load_config(None, ["data.autoaugment=imagenet"])
    with pytest.raises(ConfigError, match=r"data\.cutout"):
        check_ranges(load_config(None, ["data.cutout=-1"]))
    from fcc_train.data import build_datasets
    from fcc_train.data.large import make_large_loader

    cfg = load_config(None, ["data.dataset=digits", "data.augment=none", "data.cutout=4", "optim.batch_size=32"])
    with pytest.raises(ConfigError, match=r"data\.augment: none"):
        DeviceLoader.from_data(build_datasets(cfg), cfg, "cpu")
    cfg = load_config(None, ["data.dataset=digits", "data.autoaugment=cifar10", "data.cutout=4", "optim.batch_size=32"])
    loader = DeviceLoader.from_data(build_datasets(cfg), cfg, "cpu")
    assert (loader.autoaugment, loader.cutout) == ("cifar10", 4)
    with pytest.raises(ConfigError, match="device-resident"):
        make_large_loader(None, load_config(None, ["data.dataset=imagenet_lt", "data.autoaugment=cifar10"]), "cpu")  # type: ignore[arg-type]


def test_ncl_cifar_configs_use_the_authors_augmentation_and_digits_keep_theirs():
    for split in ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50"):
        for name in ("ncl", "ncl_fcc"):
            cfg = load_config(REPO / "configs" / split / f"{name}.yaml", [])
            assert (cfg.data.autoaugment, cfg.data.cutout, cfg.data.crop_padding, cfg.data.flip) == ("cifar10", 16, 4, True)
    for name in ("ncl", "ncl_fcc", "sade", "ride", "bbn"):
        cfg = load_config(REPO / "configs" / "digits" / f"{name}.yaml", [])
        assert (cfg.data.autoaugment, cfg.data.cutout) == ("none", 0)


@pytest.mark.slow
def test_ncl_digits_two_epochs_with_autoaugment_and_cutout(tmp_path):
    from fcc_train.train.loop import run_training

    over = ["optim.epochs=2", "train.progress=none", "train.threads=1", "data.autoaugment=cifar10", "data.cutout=4"]
    cfg = load_config(REPO / "configs" / "digits" / "ncl.yaml", over)
    assert run_training(cfg, tmp_path / "run") == 0
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["done"] and s["config"]["data"]["autoaugment"] == "cifar10" and s["config"]["data"]["cutout"] == 4


# -- SADE's test-time views ------------------------------------------------------------------------------------------
def _hue_pillow(img: Image.Image, hue: float) -> Image.Image:
    if img.mode == "L":
        return img
    h, s, v = img.convert("HSV").split()
    nh = np.array(h, dtype=np.uint8)
    nh += np.int8(hue * 255).astype(np.uint8)  # wraps, as torchvision's adjust_hue
    return Image.merge("HSV", (Image.fromarray(nh, "L"), s, v)).convert(img.mode)


def _sade_by_pillow(a: np.ndarray, seed: int, pad: int, flip: bool) -> torch.Tensor:
    """The authors' view transform per image with Pillow, drawing as the module does: crop, flip, jitter, gray, blur."""
    B, H, W, _ = a.shape
    g = torch.Generator().manual_seed(seed)
    dy = torch.randint(0, 2 * pad + 1, (B,), generator=g)
    dx = torch.randint(0, 2 * pad + 1, (B,), generator=g)
    coin = torch.rand(B, generator=g) < 0.5 if flip else torch.zeros(B, dtype=torch.bool)
    on = torch.rand(B, generator=g) < 0.8
    u = torch.rand((B, 3), generator=g)
    lo, hi = torch.tensor([0.6] * 3), torch.tensor([1.4] * 3)
    factors = lo + (hi - lo) * u
    hue = (torch.rand(B, generator=g, dtype=torch.float64) * 2 - 1) * 0.1
    order = torch.argsort(torch.rand((B, 4), generator=g), dim=1)
    gray = torch.rand(B, generator=g) < 0.2
    blur = torch.rand(B, generator=g) < 0.2
    sigma = 0.1 + 1.9 * torch.rand(B, generator=g, dtype=torch.float64)
    out = []
    for i in range(B):
        padded = np.pad(a[i], ((pad, pad), (pad, pad), (0, 0)))
        img = _pil(padded[int(dy[i]) : int(dy[i]) + H, int(dx[i]) : int(dx[i]) + W])
        if on[i]:
            for k in order[i].tolist():
                if k == 3:
                    img = _hue_pillow(img, float(hue[i]))
                else:
                    cls = (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color)[k]
                    img = cls(img).enhance(float(factors[i, k]))
        if gray[i] and img.mode == "RGB":
            lum = np.asarray(img.convert("L"))
            img = Image.fromarray(np.dstack([lum] * 3), "RGB")
        if blur[i]:
            img = img.filter(ImageFilter.GaussianBlur(radius=float(sigma[i])))
        if coin[i]:  # the authors flip last
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        out.append(img)
    return _back(out)


@pytest.mark.parametrize("C,H,W", SHAPES)
def test_hue_and_blur_match_pillow_exactly(C, H, W):
    B = 24
    a = _images(C + H + 3, B, C, H, W)
    x = _tensor(a)
    rng = np.random.default_rng(W)
    hue = rng.uniform(-0.5, 0.5, B)
    sigma = rng.uniform(0.1, 2.0, B)
    ims = [_pil(a[i]) for i in range(B)]
    assert torch.equal(PF.hue_shift(x, torch.tensor(hue)), _back([_hue_pillow(im, hue[i]) for i, im in enumerate(ims)]))
    blurred = [im.filter(ImageFilter.GaussianBlur(radius=float(sigma[i]))) for i, im in enumerate(ims)]
    assert torch.equal(PF.gaussian_blur(x, torch.tensor(sigma)), _back(blurred))
    if C == 3:
        assert torch.equal(PF.rgb_to_hsv(x), _back([im.convert("HSV") for im in ims]))


@pytest.mark.parametrize("C,H,W,pad,flip", [(3, 32, 32, 4, True), (1, 8, 8, 1, False)])
def test_sade_view_matches_the_authors_transform(C, H, W, pad, flip):
    B = 200
    a = _images(9, B, C, H, W)
    ours = SV.sade_view(_tensor(a), pad, flip, torch.Generator().manual_seed(5))
    ref = _sade_by_pillow(a, 5, pad, flip)
    assert torch.equal(ours, ref), f"{int((ours != ref).any(dim=(1, 2, 3)).sum())} images differ"


@pytest.mark.parametrize(
    "name,value", [("P_GRAY", 0.5), ("P_BLUR", 0.4), ("JITTER", (0.4, 0.4, 0.4, 0.2)), ("SIGMA", (0.1, 3.0))]
)
def test_a_mutated_sade_view_is_caught(monkeypatch, name, value):
    B = 200
    a = _images(9, B, 3, 32, 32)
    ref = _sade_by_pillow(a, 5, 4, True)
    monkeypatch.setattr(SV, name, value)
    assert not torch.equal(SV.sade_view(_tensor(a), 4, True, torch.Generator().manual_seed(5)), ref)


def test_sade_views_are_deterministic_and_two_views_differ():
    x = _tensor(_images(2, 64, 3, 32, 32))
    g = torch.Generator().manual_seed(8)
    v1, v2 = SV.sade_view(x, 4, True, g), SV.sade_view(x, 4, True, g)
    assert not torch.equal(v1, v2)
    g = torch.Generator().manual_seed(8)
    assert torch.equal(v1, SV.sade_view(x, 4, True, g)) and torch.equal(v2, SV.sade_view(x, 4, True, g))


def test_the_gpu_path_masks_the_whole_batch_to_the_same_pixels(monkeypatch):
    """On a GPU every operation runs on the whole batch and a mask keeps the others; forced here on the CPU."""
    x = _tensor(_images(4, 128, 3, 32, 32))
    rows = (AA.cifar10_policy(x, torch.Generator().manual_seed(6)), SV.sade_view(x, 4, True, torch.Generator().manual_seed(6)))
    monkeypatch.setattr(P, "FULL_BATCH", True)
    full = (AA.cifar10_policy(x, torch.Generator().manual_seed(6)), SV.sade_view(x, 4, True, torch.Generator().manual_seed(6)))
    assert torch.equal(rows[0], full[0]) and torch.equal(rows[1], full[1])


@pytest.mark.slow
def test_resume_after_kill_with_autoaugment_is_bit_identical(tmp_path):
    """Every augmentation draw comes from the loader's generator, whose state the checkpoint stores."""
    import os
    import signal
    import subprocess
    import sys

    from fcc_train.train.checkpoint import load_checkpoint

    over = ["optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1", "fcc.start_epoch=1"]
    over += ["data.autoaugment=cifar10", "data.cutout=4"]

    def cli(out: Path, kill_after: int | None) -> subprocess.CompletedProcess[str]:
        launch = ["-m"] if kill_after is None else [str(REPO / "tests/train/kill_runner.py"), str(kill_after)]
        cmd = [sys.executable, *launch, "fcc_train", "train", "--config", "configs/digits/ce_fcc.yaml", "--out", str(out)]
        cmd += ["--set", "optim.epochs=3", *over]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    killed = cli(tmp_path / "a", 2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = cli(tmp_path / "a", None)
    assert resumed.returncode == 0 and "resuming" in resumed.stdout, resumed.stderr
    assert cli(tmp_path / "b", None).returncode == 0
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert a["epoch"] == b["epoch"] == 3
    for k in b["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k

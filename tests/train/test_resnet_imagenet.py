"""ImageNet-style ResNets: parameter counts against published values and an independent formula, contract fields."""

from __future__ import annotations

import pytest
import torch

from fcc_train.config import load_config
from fcc_train.models import build_model
from fcc_train.models.heads import CosineHead, LinearHead
from fcc_train.models.resnet_imagenet import build


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def basic_resnet_count(layers: list[int], num_classes: int, in_ch: int = 3) -> int:
    """Parameters of a BasicBlock ResNet counted by hand: convs k·k·cin·cout, BN 2·c, 1×1+BN projections, FC W+b."""
    total = 7 * 7 * in_ch * 64 + 2 * 64
    cin = 64
    for i, (n, w) in enumerate(zip(layers, (64, 128, 256, 512), strict=True)):
        for b in range(n):
            stride = 2 if (i > 0 and b == 0) else 1
            total += 9 * cin * w + 2 * w + 9 * w * w + 2 * w
            if stride != 1 or cin != w:
                total += cin * w + 2 * w
            cin = w
    return total + cin * num_classes + num_classes


@pytest.mark.parametrize(
    "arch,expected",
    [("resnet50", 25_557_032), ("resnext50", 25_028_904)],  # torchvision's published counts at 1000 classes
)
def test_published_parameter_counts(arch: str, expected: int) -> None:
    assert n_params(build(arch, 1000)) == expected


@pytest.mark.parametrize("classes", [1000, 8142, 7])
def test_resnet10_count_matches_formula(classes: int) -> None:
    assert n_params(build("resnet10", classes)) == basic_resnet_count([1, 1, 1, 1], classes)
    if classes == 1000:
        assert n_params(build("resnet10", classes)) == 5_418_792


def test_formula_catches_a_wrong_layout() -> None:
    # the formula is not a tautology: a ResNet-18 layout gives a different count from ResNet-10's
    assert basic_resnet_count([2, 2, 2, 2], 1000) == 11_689_512  # torchvision resnet18
    assert basic_resnet_count([2, 2, 2, 2], 1000) != n_params(build("resnet10", 1000))


@pytest.mark.parametrize("arch,dim", [("resnet10", 512), ("resnet50", 2048), ("resnext50", 2048)])
def test_contract_and_shapes(arch: str, dim: int) -> None:
    torch.manual_seed(0)
    cfg = load_config(None, [f"model.arch={arch}"])
    m = build_model(cfg, 5, 3).eval()
    assert m.feature_dim == dim and isinstance(m.head, LinearHead) and m.head.weight.shape == (5, dim)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        f = m.features(x)
        assert f.shape == (2, dim) and bool((f >= 0).all())  # pooled after the last ReLU
        assert torch.allclose(m(x), m.head(f))
        fm = m.feature_map(x)
        assert torch.allclose(fm.mean(dim=(2, 3)), f)
    assert len(m.stages) == 4


def test_cosine_head_from_config() -> None:
    cfg = load_config(None, ["model.arch=resnet10", "model.head=cosine", "model.cosine_scale=16"])
    m = build_model(cfg, 4, 3)
    assert isinstance(m.head, CosineHead) and m.head.scale == 16.0

"""ResNet-32 / small ResNet and the heads: parameter count, option-A shortcut, contract attributes, cosine head."""

from __future__ import annotations

import pytest
import torch

from fcc_train.config import ConfigError, load_config
from fcc_train.models import CosineHead, LinearHead, build_model
from fcc_train.models.resnet_cifar import BasicBlock, _ShortcutA


def _nparams(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _resnet_backbone_params(blocks: list[int], widths: list[int], cin: int) -> int:
    """Independent count: 3×3 convs without bias, BN γ and β, option-A shortcuts parameter-free."""
    conv = lambda a, b: 9 * a * b
    total = conv(cin, widths[0]) + 2 * widths[0]
    prev = widths[0]
    for n, w in zip(blocks, widths, strict=True):
        for _ in range(n):
            total += conv(prev, w) + conv(w, w) + 4 * w
            prev = w
    return total


def test_resnet32_has_464154_parameters():
    m = build_model(load_config(None), 10, 3)
    assert _nparams(m) == 464_154
    assert _resnet_backbone_params([5, 5, 5], [16, 32, 64], 3) + 64 * 10 + 10 == 464_154
    assert _nparams(build_model(load_config(None, ["model.bias=false"]), 10, 3)) == 464_154 - 10
    assert _nparams(build_model(load_config(None), 100, 3)) == _resnet_backbone_params([5, 5, 5], [16, 32, 64], 3) + 6500
    small = build_model(load_config(None, ["model.arch=resnet_small"]), 10, 1)
    assert _nparams(small) == _resnet_backbone_params([1, 1, 1], [16, 32, 64], 1) + 650
    assert sum(isinstance(b, BasicBlock) for b in m.modules()) == 15


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = torch.randn(2, 16, 8, 8)
    out = _ShortcutA(16, 32, 2)(x)
    assert out.shape == (2, 32, 4, 4)
    assert torch.equal(out[:, 8:24], x[:, :, ::2, ::2])
    assert not out[:, :8].any() and not out[:, 24:].any()
    assert not list(_ShortcutA(16, 32, 2).parameters())


@pytest.mark.parametrize(("arch", "cin", "size"), [("resnet32", 3, 32), ("resnet_small", 1, 8)])
def test_contract_attributes_and_forward(arch, cin, size):
    torch.manual_seed(0)
    m = build_model(load_config(None, [f"model.arch={arch}"]), 7, cin).eval()
    assert isinstance(m.stages, torch.nn.ModuleList) and len(m.stages) == 3 and isinstance(m.stem, torch.nn.Module)
    assert m.feature_dim == 64 and isinstance(m.head, LinearHead)
    assert m.head.weight.shape == (7, 64) and m.head.bias.shape == (7,)
    x = torch.randn(5, cin, size, size)
    with torch.no_grad():
        fmap = m.feature_map(x)
        f = m.features(x)
        assert f.shape == (5, 64) and bool((fmap >= 0).all())  # after the last ReLU
        torch.testing.assert_close(f, fmap.mean(dim=(2, 3)))
        torch.testing.assert_close(m(x), m.head(f))
        # FCC's linearity fact: scaling the map before GAP equals scaling the pooled feature
        torch.testing.assert_close((2.5 * fmap).mean(dim=(2, 3)), 2.5 * f)
        cl = m.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
        torch.testing.assert_close(cl, m.head(f), rtol=1e-4, atol=1e-4)


def test_kaiming_normal_backbone_and_the_heads_init():
    torch.manual_seed(0)
    m = build_model(load_config(None), 10, 3)
    w = m.stages[2][4].conv2.weight.detach()  # 64×64×3×3, fan_in 576
    assert float(w.std()) == pytest.approx((2 / 576) ** 0.5, rel=0.05)
    # the head: nn.Linear's own default (BoT/FCC), U(-1/sqrt(d), 1/sqrt(d)): std 1/sqrt(3d) = 0.072 at d = 64
    official = 1 / (3 * 64) ** 0.5
    assert official == pytest.approx(0.0722, abs=1e-4)
    head = m.head.weight.detach()
    assert float(head.std()) == pytest.approx(official, rel=0.2) and float(head.abs().max()) <= 1 / 64**0.5
    # the same draw as a bare nn.Linear built from the same RNG state (the official classifier)
    torch.manual_seed(5)
    ours = LinearHead(64, 10)
    torch.manual_seed(5)
    ref = torch.nn.Linear(64, 10)
    torch.testing.assert_close(ours.weight, ref.weight, rtol=0, atol=0)
    torch.testing.assert_close(ours.bias, ref.bias, rtol=0, atol=0)
    # model.head_init: kaiming keeps the Kaiming-normal option, std sqrt(2/d) = 0.177 at d = 64
    k = build_model(load_config(None, ["model.head_init=kaiming"]), 10, 3).head.weight.detach()
    assert pytest.approx(0.177, abs=1e-3) == (2 / 64) ** 0.5
    assert float(k.std()) == pytest.approx((2 / 64) ** 0.5, rel=0.2) and float(k.abs().max()) > 1 / 64**0.5
    big = LinearHead(64, 1000, init="kaiming").weight.detach()  # many draws: the std is pinned tightly
    assert float(big.std()) == pytest.approx((2 / 64) ** 0.5, rel=0.03)
    assert float(LinearHead(64, 1000).weight.detach().std()) == pytest.approx(official, rel=0.03)


def test_cosine_head_init_renormalises_columns_as_fcnorm():
    """BoT's FCNorm: uniform(-1, 1), then renorm_(2, 1, 1e-5)·1e5: every column w[:, k] has unit norm."""
    torch.manual_seed(1)
    head = CosineHead(64, 10)
    w = head.weight.detach()
    torch.testing.assert_close(w.norm(dim=0), torch.ones(64))
    assert not torch.allclose(w.norm(dim=1), torch.ones(10))  # rows are not (the previous, wrong init)
    torch.manual_seed(1)
    ref = torch.empty(10, 64).uniform_(-1, 1)
    ref = ref / ref.norm(dim=0, keepdim=True)  # an independent column normalisation of the same draw
    torch.testing.assert_close(w, ref)


def test_heads_without_bias_and_cosine():
    m = build_model(load_config(None, ["model.bias=false"]), 10, 3)
    assert m.head.bias is None
    c = build_model(load_config(None, ["model.head=cosine", "model.cosine_scale=16"]), 10, 3)
    assert isinstance(c.head, CosineHead) and c.head.bias is None and c.head.weight.shape == (10, 64)
    f = torch.rand(6, 64) + 0.01
    z = c.head(f)
    ref = 16 * (f / f.norm(dim=1, keepdim=True)) @ (c.head.weight / c.head.weight.norm(dim=1, keepdim=True)).T
    torch.testing.assert_close(z, ref)
    assert float(z.detach().abs().max()) <= 16 + 1e-4
    tau = torch.rand(6, 1) * 3 + 0.5
    torch.testing.assert_close(c.head(tau * f), z)  # a per-sample scale cancels
    lin = LinearHead(64, 10)
    assert not torch.allclose(lin(tau * f), lin(f))


def test_bad_arch_and_head():
    with pytest.raises(ConfigError, match=r"unknown model\.arch"):
        build_model(load_config(None, ["model.arch=vgg"]), 10, 3)
    with pytest.raises(ConfigError, match=r"model\.head"):
        build_model(load_config(None, ["model.head=mlp"]), 10, 3)
    try:
        import fcc_train.models.resnet_imagenet  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(ConfigError, match="resnet_imagenet"):
            build_model(load_config(None, ["model.arch=resnet50"]), 10, 3)

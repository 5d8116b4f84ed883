"""ImageNet-style ResNets for ImageNet-LT and iNaturalist 2018 (He et al. 2016; Xie et al. 2017).

* ``resnet10``: BasicBlock × [1, 1, 1, 1], widths 64/128/256/512, a 512-d feature — the backbone of
  OLTR (Liu et al. 2019) and decoupling (Kang et al. 2020) used for ImageNet-LT by BoT and FCC.
* ``resnet50``: Bottleneck × [3, 4, 6, 3], a 2048-d feature (25,557,032 parameters at 1000 classes).
* ``resnext50``: ResNeXt-50 32×4d, Bottleneck with 32 groups of width 4 at the first stage
  (25,028,904 parameters at 1000 classes).

Layout follows torchvision's (v1.5: the stride sits on the 3×3 conv of a bottleneck; 1×1 conv + BN
projection shortcuts), written here because the project does not depend on torchvision. The stem is
7×7/2 conv + BN + ReLU + 3×3/2 max-pool. The feature is the global average of the last stage's
output after its ReLU (non-negative), so FCC's scaling before or after pooling agrees.
Init: Kaiming-normal (fan_out) convs, BN weight 1 / bias 0; the head keeps its own init.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn

from fcc_train.models.base import StagedNet

if TYPE_CHECKING:
    from fcc_train.config import Config, ModelConfig

__all__ = ["ARCHS", "BasicBlock", "Bottleneck", "ImageNetResNet", "build", "build_model", "resnet10", "resnet50", "resnext50"]


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        mid = int(width * (base_width / 64.0)) * groups  # ResNeXt 32×4d: 128 at the first stage
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _projection(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


def _projection(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class ImageNetResNet(StagedNet):
    """``stem → stages → GAP → head`` with the contract's ``.stem``, ``.stages``, ``.features``, ``.head``, ``.feature_dim``."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        in_channels: int = 3,
        head: nn.Module | None = None,
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        cin, stages = 64, []
        for i, (n, width) in enumerate(zip(layers, (64, 128, 256, 512), strict=True)):
            blocks = []
            for b in range(n):
                stride = 2 if (i > 0 and b == 0) else 1
                blocks.append(block(cin, width, stride, groups, width_per_group))
                cin = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.feature_dim = cin
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if head is None:
            from fcc_train.models.heads import LinearHead

            head = LinearHead(self.feature_dim, num_classes)
        self.head = head  # built after the backbone init, so its own init is kept


def resnet10(num_classes: int = 1000, in_channels: int = 3, head: nn.Module | None = None) -> ImageNetResNet:
    """ResNet-10 of OLTR / decoupling: BasicBlock × [1, 1, 1, 1], 512-d feature."""
    return ImageNetResNet(BasicBlock, [1, 1, 1, 1], num_classes, in_channels, head)


def resnet50(num_classes: int = 1000, in_channels: int = 3, head: nn.Module | None = None) -> ImageNetResNet:
    """ResNet-50: Bottleneck × [3, 4, 6, 3], 2048-d feature."""
    return ImageNetResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, head)


def resnext50(num_classes: int = 1000, in_channels: int = 3, head: nn.Module | None = None) -> ImageNetResNet:
    """ResNeXt-50 32×4d: ResNet-50's layout with 32 groups of width 4 in the 3×3 convs."""
    return ImageNetResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, head, groups=32, width_per_group=4)


ARCHS = {"resnet10": resnet10, "resnet50": resnet50, "resnext50": resnext50}
FEATURE_DIMS = {"resnet10": 512, "resnet50": 2048, "resnext50": 2048}


def build(arch: str, num_classes: int, head_cfg: ModelConfig | None = None, in_channels: int = 3) -> ImageNetResNet:
    """``arch`` with the head of ``head_cfg`` (a ``ModelConfig``: ``model.head`` / ``bias`` / ``cosine_scale``)."""
    from fcc_train.config import ConfigError
    from fcc_train.models.heads import build_head

    if arch not in ARCHS:
        raise ConfigError(f"unknown ImageNet arch '{arch}'; use one of: {', '.join(ARCHS)}")
    head = build_head(head_cfg, FEATURE_DIMS[arch], num_classes) if head_cfg is not None else None
    return ARCHS[arch](num_classes=num_classes, in_channels=in_channels, head=head)


def build_model(cfg: Config, num_classes: int, in_channels: int) -> ImageNetResNet:
    """The entry point of :func:`fcc_train.models.build_model` for ``resnet10`` / ``resnet50`` / ``resnext50``."""
    return build(cfg.model.arch, num_classes, cfg.model, in_channels)

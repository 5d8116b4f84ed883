"""ResNet-32 for CIFAR (He et al. 2016, §4.2) as used by LDAM-DRW, BoT and FCC, and a small variant for digits.

Option-A shortcuts: when a block halves the resolution and doubles the width, the identity is
subsampled by 2 and zero-padded in the channel dimension (no parameters). Conv and linear
weights are Kaiming-normal (LDAM-DRW's ``_weights_init``). ResNet-32: a 3×3 stem to 16
channels, three stages of 5 basic blocks (16/32/64 channels, strides 1/2/2); the feature is
the global average of the last block's output after its ReLU (non-negative, 64-d). With a
biased linear head at 10 classes it has 464,154 parameters.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from fcc_train.models.base import StagedNet

__all__ = ["BasicBlock", "CifarResNet", "resnet32", "resnet_small"]


class _ShortcutA(nn.Module):
    """Identity subsampled by ``stride`` and zero-padded from ``cin`` to ``cout`` channels (option A)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.pad_lo = (cout - cin) // 2
        self.pad_hi = cout - cin - self.pad_lo

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad_lo, self.pad_hi))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut: nn.Module = _ShortcutA(cin, cout, stride) if (stride != 1 or cin != cout) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(StagedNet):
    """``stem → stages → GAP → head``; the contract's ``.stem``, ``.stages``, ``.features``, ``.head``, ``.feature_dim``."""

    def __init__(
        self, blocks: list[int], widths: list[int], head: nn.Module | None = None, num_classes: int = 10, in_channels: int = 3
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)
        )
        stages, cin = [], widths[0]
        for i, (n, w) in enumerate(zip(blocks, widths, strict=True)):
            layers = []
            for b in range(n):
                layers.append(BasicBlock(cin, w, stride=2 if (i > 0 and b == 0) else 1))
                cin = w
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.feature_dim = cin
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
        # the head is built after the backbone init so its own init (Kaiming / FCNorm) is kept
        if head is None:
            from fcc_train.models.heads import LinearHead

            head = LinearHead(self.feature_dim, num_classes)
        self.head = head


def resnet32(num_classes: int = 10, in_channels: int = 3, head: nn.Module | None = None) -> CifarResNet:
    """ResNet-32 (3 stages × 5 basic blocks, 16/32/64 channels)."""
    return CifarResNet([5, 5, 5], [16, 32, 64], head=head, num_classes=num_classes, in_channels=in_channels)


def resnet_small(num_classes: int = 10, in_channels: int = 1, head: nn.Module | None = None) -> CifarResNet:
    """A ResNet-8 for 8×8 digits (3 stages × 1 basic block, 16/32/64 channels): fast on one CPU core."""
    return CifarResNet([1, 1, 1], [16, 32, 64], head=head, num_classes=num_classes, in_channels=in_channels)

"""The shape every model of the trainer shares: stem → stages → GAP → head.

The engine and the methods rely on it: FCC scales ``features(x)`` before
``head``; Manifold Mixup enters between stages; cRT / LWS / τ-norm act on ``head``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["StagedNet"]


class StagedNet(nn.Module):
    """A backbone of ``stem`` and ``stages`` (nn.ModuleList) with a classifier ``head``; subclasses build them."""

    stem: nn.Module
    stages: nn.ModuleList
    head: nn.Module

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's output before pooling, (N, d, h, w); non-negative (after the last ReLU)."""
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled backbone feature (N, d) = GAP(stages(stem(x))); FCC scales this (GAP is linear)."""
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

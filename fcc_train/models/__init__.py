"""Backbones and heads: ``build_model(cfg, num_classes, in_channels)``.

Every model exposes ``.stem``, ``.stages`` (ModuleList), ``.features(x) -> (N, d)``, ``.head``
(:class:`~fcc_train.models.heads.LinearHead` or :class:`~fcc_train.models.heads.CosineHead`),
``.feature_dim`` and ``forward(x) = head(features(x))`` (CONTRIBUTING.md, "Where things live").
With ``model.experts`` set it is a multi-expert model instead (:mod:`fcc_train.models.multi_expert`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch.nn as nn

from fcc_train.config import ConfigError
from fcc_train.models.heads import CosineHead, LinearHead, build_head

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["CIFAR_ARCHS", "IMAGENET_ARCHS", "CosineHead", "LinearHead", "build_head", "build_model"]

CIFAR_ARCHS = ("resnet32", "resnet_small")
IMAGENET_ARCHS = ("resnet10", "resnet50", "resnext50")


def build_model(cfg: Config, num_classes: int, in_channels: int) -> nn.Module:
    """The backbone named by ``cfg.model.arch`` with the head of ``cfg.model.head`` / ``cfg.model.bias``."""
    arch = cfg.model.arch
    if cfg.model.experts != "none":
        from fcc_train.models.multi_expert import build_multi_expert

        return build_multi_expert(cfg, num_classes, in_channels)
    if arch in CIFAR_ARCHS:
        from fcc_train.models import resnet_cifar

        ctor = getattr(resnet_cifar, arch)
        dim = 64  # both CIFAR backbones end at 64 channels
        return ctor(num_classes=num_classes, in_channels=in_channels, head=build_head(cfg.model, dim, num_classes))
    if arch in IMAGENET_ARCHS:
        from fcc_train.models import resnet_imagenet

        return resnet_imagenet.build_model(cfg, num_classes, in_channels)
    raise ConfigError(f"unknown model.arch '{arch}'; use one of: {', '.join(CIFAR_ARCHS + IMAGENET_ARCHS)}")

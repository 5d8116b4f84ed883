"""Classifier heads: a linear layer with or without bias, and a cosine (normalised) head.

FCC (paper Eq. 1) scales the pooled feature before the head. With a linear head the logit
becomes ``τ·(W f) + b`` (the bias is not scaled, as in the official code); with a cosine head
the feature is L2-normalised first, so a per-sample scalar τ cancels (docs/recipes.md,
"FCC in the official code").

Initialisation (``model.head_init``): BoT and FCC build their classifier as a plain ``nn.Linear``
after the backbone's Kaiming init, so it keeps PyTorch's default init, kaiming-uniform with
a = √5: U(−1/√d, 1/√d), std 1/√(3d) ≈ 0.072 at d = 64 (``pytorch``). ``kaiming`` is Kaiming-normal,
std √(2/d) ≈ 0.177 at d = 64 (the ResNet-32 backbone's own init in LDAM-DRW and BoT).

>>> import torch
>>> _ = torch.manual_seed(0)
>>> round(float(LinearHead(64, 1000).weight.std()), 3), round(float(LinearHead(64, 1000, init="kaiming").weight.std()), 3)
(0.072, 0.177)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn as nn
import torch.nn.functional as F

if TYPE_CHECKING:
    from fcc_train.config import ModelConfig

__all__ = ["HEAD_INITS", "CosineHead", "LinearHead", "build_head"]

HEAD_INITS = ("pytorch", "kaiming")


class LinearHead(nn.Linear):
    """``z = W f + b`` with ``weight`` (C, d) and ``bias`` (C,) or None.

    ``init``: ``pytorch`` keeps ``nn.Linear``'s default initialisation (BoT/FCC's classifier);
    ``kaiming`` draws the weight Kaiming-normal (the bias keeps nn.Linear's default either way).
    cRT's head reset (``reset_parameters``) is nn.Linear's default whatever ``init`` was, as BoT's cRT.
    """

    def __init__(self, in_features: int, num_classes: int, bias: bool = True, init: str = "pytorch") -> None:
        if init not in HEAD_INITS:
            raise ValueError(f"unknown model.head_init '{init}'; use one of {', '.join(HEAD_INITS)}")
        super().__init__(in_features, num_classes, bias=bias)
        self.init = init
        if init == "kaiming":
            nn.init.kaiming_normal_(self.weight)


class CosineHead(nn.Module):
    """``z_j = s · ⟨f/‖f‖, w_j/‖w_j‖⟩`` (BoT's FCNorm / the normalised heads of SADE and RIDE, times the scale s).

    ``weight`` is (C, d); ``bias`` is None so code can treat both heads alike.
    """

    bias: None

    def __init__(self, in_features: int, num_classes: int, scale: float = 30.0) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, num_classes
        self.scale = float(scale)
        # BoT's FCNorm init: uniform(-1, 1), then each *column* w[:, k] (one feature across the
        # classes) renormalised to unit norm (renorm_ over dim 1); the forward normalises rows anyway
        w = torch.empty(num_classes, in_features).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)
        self.weight = nn.Parameter(w)
        self.bias = None

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.scale * F.linear(F.normalize(f, dim=1), F.normalize(self.weight, dim=1))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, scale={self.scale}"


def build_head(mc: ModelConfig, in_features: int, num_classes: int) -> nn.Module:
    """``model.head``: ``linear`` (``model.bias``, ``model.head_init``) or ``cosine`` (``model.cosine_scale``)."""
    from fcc_train.config import ConfigError

    if mc.head == "linear":
        return LinearHead(in_features, num_classes, bias=mc.bias, init=mc.head_init)
    if mc.head == "cosine":
        return CosineHead(in_features, num_classes, scale=mc.cosine_scale)
    raise ConfigError(f"unknown model.head '{mc.head}'; use linear or cosine")

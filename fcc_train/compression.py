"""FCC as a module for anyone's training loop (paper Eq. 1 with the τ rules of Eqs. 2–4).

``FCC`` multiplies each training feature by the τ of its sample's class, before the classifier,
and does nothing at evaluation or before its start epoch — the official rule ``epoch > start_epoch``
with epochs counted from 1. It holds no parameters; τ is a constant buffer built once.

>>> import torch
>>> fcc = FCC(num_classes=4, strategy="edc", gamma=0.5, start_epoch=0)
>>> fcc.tau.tolist()  # Eq. 3 by label: label 0 is the head class
[1.5, 1.375, 1.25, 1.125]
>>> f = torch.ones(2, 3)
>>> fcc(f, torch.tensor([0, 3]), epoch=1)
tensor([[1.5000, 1.5000, 1.5000],
        [1.1250, 1.1250, 1.1250]])
>>> fcc.eval()(f, torch.tensor([0, 3]), epoch=1).equal(f)  # evaluation: features unchanged
True
>>> FCC(4, class_counts=[5, 50, 20, 5]).tau.tolist()  # ranked by frequency: label 1 is the head
[1.25, 1.5, 1.375, 1.125]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from fcc_train.config import FCCConfig, Strategy, TauOrder
from fcc_train.fcc import tau_by_class

__all__ = ["FCC"]


class FCC(nn.Module):
    """Feature-clusters compression: ``features * τ[labels]`` in training mode once ``epoch > start_epoch``.

    ``strategy``: ``"uniform"`` (Eq. 2), ``"edc"`` (equal difference, Eq. 3, the official one) or
    ``"half"`` (Eq. 4, ``beta`` 0 compresses the top half, 1 the bottom half). Without
    ``class_counts`` classes are ranked by label id (label 0 is the head, as in CIFAR-LT); with
    them, by training frequency, largest first.
    """

    tau: torch.Tensor

    def __init__(
        self,
        num_classes: int,
        strategy: Strategy = "edc",
        gamma: float = 0.5,
        start_epoch: int = 50,
        class_counts: Sequence[int] | None = None,
        beta: int = 0,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        if class_counts is not None and len(class_counts) != num_classes:
            raise ValueError(f"class_counts has {len(class_counts)} entries for {num_classes} classes")
        order: TauOrder = "label" if class_counts is None else "frequency"
        cfg = FCCConfig(enabled=True, strategy=strategy, gamma=gamma, beta=beta, order=order, start_epoch=start_epoch)
        counts = list(class_counts) if class_counts is not None else [1] * num_classes
        self.start_epoch = start_epoch
        self.register_buffer("tau", tau_by_class(cfg, counts))

    def active(self, epoch: int) -> bool:
        """Whether training epoch ``epoch`` (1-based) scales features (the official ``epoch > start_epoch``)."""
        return self.training and epoch > self.start_epoch

    def forward(self, features: torch.Tensor, labels: torch.Tensor, epoch: int) -> torch.Tensor:
        if not self.active(epoch):
            return features
        scale = self.tau.to(features.device, features.dtype)[labels]
        return features * scale.view(-1, *([1] * (features.dim() - 1)))

    def extra_repr(self) -> str:
        return f"num_classes={self.tau.numel()}, start_epoch={self.start_epoch}"

"""The learning-rate schedule: BoT's ``WarmupMultiStepLR`` (stepped before each epoch) or a cosine.

Epoch e (1-based) trains at ``lr · w(e) · decay^{#milestones ≤ e}``, ``w(e) = f + (1 − f)·e/W`` for
``e < W`` else 1 (f = 1/3, W = 5): epoch 1 trains at 0.0467, epochs ≥ 5 at 0.1, epoch 160 at 1e-3 and
epoch 180 at 1e-5.

>>> from fcc_train.config import load_config
>>> o = load_config(None, []).optim
>>> [round(lr_at(o, e), 5) for e in (1, 5, 160, 180)]
[0.04667, 0.1, 0.001, 1e-05]
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fcc_train.config import OptimConfig

__all__ = ["lr_at"]


def lr_at(optim: OptimConfig, epoch: int) -> float:
    """Learning rate of training epoch ``epoch`` (1-based): BoT warmup, then steps (×decay at each milestone) or cosine."""
    w = optim.warmup_epochs
    warm = optim.warmup_start_factor + (1 - optim.warmup_start_factor) * epoch / w if epoch < w else 1.0
    if optim.schedule == "step":
        return float(optim.lr * warm * optim.lr_decay ** sum(epoch >= m for m in optim.milestones))
    if optim.schedule == "cosine":
        # after warmup, half a cosine from lr (epoch W) towards 0 (never reached: the last epoch keeps a small lr)
        start = min(w, optim.epochs)
        t = max(epoch - start, 0) / max(optim.epochs - start + 1, 1)
        return float(optim.lr * warm * 0.5 * (1 + math.cos(math.pi * t)))
    raise ValueError(f"unknown optim.schedule '{optim.schedule}'; use step or cosine")

"""One evaluation pass: the method's evaluation head on unscaled features, predictions gathered across ranks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from fcc_train.methods import eval_head
from fcc_train.train.distributed import all_gather_cat

if TYPE_CHECKING:
    from fcc_train.train.engine import Engine

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(engine: Engine, loader: Any, net: nn.Module | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and labels on the test set (no mixing, no FCC scale) of the method's evaluation head, or of
    ``net`` (τ-norm's selection on the raw head), gathered across ranks."""
    net = eval_head(engine.model, engine.cfg) if net is None else net
    was_training = net.training
    net.eval()
    preds, labels = [], []
    for x, y in loader.eval_batches():
        with engine.autocast():
            logits = net(engine.prepare_images(x))
        preds.append(logits.argmax(1))
        labels.append(y)
    if was_training:
        net.train()
    p = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long, device=engine.device)
    t = torch.cat(labels) if labels else torch.zeros(0, dtype=torch.long, device=engine.device)
    return all_gather_cat(p), all_gather_cat(t)

"""One evaluation pass: the method's evaluation head on unscaled features, predictions gathered across ranks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from fcc_train.methods import eval_head
from fcc_train.train.distributed import all_gather_cat

if TYPE_CHECKING:
    from fcc_train.train.engine import Engine

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(engine: Engine, loader: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Predictions and labels on the test set (no mixing, no FCC scale), gathered across ranks."""
    net = eval_head(engine.model, engine.cfg)
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

"""Long-tailed evaluation metrics.

* top-1 error in percent on the (balanced) test set;
* many-shot (> 100 training images), medium-shot (20-100, both ends
  included) and few-shot (< 20) accuracy in percent: the mean per-class
  recall of the classes in each split (SADE/RIDE/OLTR convention; NCL's
  ≥ 100 / ≤ 20 differs); a split with no class is reported as ``None``;
* per-class recall (percent).

>>> m = compute_metrics(torch.tensor([0, 0, 1, 2]), torch.tensor([0, 1, 1, 2]), [200, 50, 5])
>>> m["top1_error"], m["many"], m["medium"], m["few"]
(25.0, 100.0, 50.0, 100.0)
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from fcc_train.data.longtail import SHOTS, shot_of

__all__ = ["compute_metrics", "per_class_recall"]


def per_class_recall(preds: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[float | None]:
    """Recall (%) of each class; None for a class absent from the test labels."""
    preds, labels = preds.cpu().long(), labels.cpu().long()
    total = torch.bincount(labels, minlength=num_classes)
    hit = torch.bincount(labels[preds == labels], minlength=num_classes)
    return [100.0 * int(h) / int(t) if int(t) else None for h, t in zip(hit.tolist(), total.tolist(), strict=True)]


def compute_metrics(preds: torch.Tensor, labels: torch.Tensor, class_counts: Sequence[int]) -> dict[str, Any]:
    """top1_error, many, medium, few (percent) and per_class_recall from test predictions."""
    preds, labels = preds.cpu().long(), labels.cpu().long()
    C = len(class_counts)
    n = int(labels.numel())
    correct = int((preds == labels).sum())
    recall = per_class_recall(preds, labels, C)
    splits = [shot_of(n) for n in class_counts]
    out: dict[str, Any] = {"top1_error": 100.0 * (1 - correct / n) if n else float("nan")}
    for name in SHOTS:
        vals = [r for r, s in zip(recall, splits, strict=True) if s == name and r is not None]
        out[name] = sum(vals) / len(vals) if vals else None
    out["per_class_recall"] = recall
    return out

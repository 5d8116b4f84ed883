"""The training loss of one batch: the one function the eager, the captured and the stacked step call.

In order (the hooks of :class:`fcc_train.methods.Method`)::

    batch  = method.apply_mix(batch, λ, perm)        # when the step has mixing draws (drawn outside)
    feats  = model.features(batch.images)
    feats, batch = method.mix_features(feats, batch, None)
    if FCC on: feats = feats * method.fcc_tau(tau_by_class, batch)[:, None]   # Eq. 1, training only
    logits = model.head(feats)
    loss   = method.loss(logits, batch, epoch)

A multi-expert model (:mod:`fcc_train.models.multi_expert`) runs ``method.expert_forward`` instead of the three
middle lines: the experts' logits (E, N, C) with FCC's τ where ``fcc.placement`` puts it.

Everything here is tensor work: no host synchronisation and no branch on a tensor's value, so a
CUDA graph can capture it. What a captured graph freezes (the epoch and FCC on/off, the Python
values of :class:`StepContext`) is keyed by the method's :meth:`~fcc_train.methods.Method.phase`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn as nn

from fcc_train.methods import Batch, Method

__all__ = ["Draws", "StepContext", "TrainForward", "batch_loss", "scaled_features"]

# a step's mixing draws: (λ as a host float or a 0-d device tensor, the pairing permutation), or None
Draws = tuple[Any, torch.Tensor] | None


@dataclass(frozen=True)
class StepContext:
    """The Python values a step's loss reads: the epoch (1-based) and whether FCC scales features.

    >>> StepContext(3, True)
    StepContext(epoch=3, fcc_on=True)
    """

    epoch: int
    fcc_on: bool


def scaled_features(
    method: Method, feats: torch.Tensor, batch: Batch, tau_by_class: torch.Tensor | None
) -> tuple[torch.Tensor, Batch]:
    """Manifold mixing at the pooled feature, then FCC's per-sample scale (Eq. 1) from the method's hook.

    ``tau_by_class`` None: FCC off (the features are not multiplied at all).
    """
    feats, batch = method.mix_features(feats, batch, None)
    if tau_by_class is not None:
        feats = feats * method.fcc_tau(tau_by_class, batch)[:, None].to(feats.dtype)
    return feats, batch


class TrainForward(nn.Module):
    """features → mix_features → FCC scale → head, as one module (so DDP sees one forward)."""

    tau_by_class: torch.Tensor
    model: Any  # a StagedNet: features and head

    def __init__(self, model: nn.Module, method: Method, tau_by_class: torch.Tensor) -> None:
        super().__init__()
        from fcc_train.models.multi_expert import is_multi_expert

        self.model = model
        self.method = method
        self.multi = is_multi_expert(model)
        if self.multi != bool(getattr(method, "multi_expert", False)):
            from fcc_theory.errors import UserError

            raise UserError(
                "a multi-expert model (model.experts) trains with a multi-expert method (method.loss: sade, ride, ncl, bbn) and only with one"
            )
        self.register_buffer("tau_by_class", tau_by_class, persistent=False)

    def forward(self, batch: Batch, gen: torch.Generator | None, fcc_on: bool) -> tuple[torch.Tensor, Batch]:
        # gen is unused: every random draw of a step happens before its loss (Method.draw_mix)
        if self.multi:  # the experts' logits (E, N, C), FCC at fcc.placement (methods/experts/methods.py)
            return self.method.expert_forward(self.model, batch, self.tau_by_class if fcc_on else None), batch  # type: ignore[attr-defined]
        feats = self.model.features(batch.images)
        feats, batch = scaled_features(self.method, feats, batch, self.tau_by_class if fcc_on else None)
        return self.model.head(feats), batch


def batch_loss(
    forward: Callable[[Batch, torch.Generator | None, bool], tuple[torch.Tensor, Batch]],
    method: Method,
    batch: Batch,
    draws: Draws,
    ctx: StepContext,
) -> torch.Tensor:
    """The scalar training loss of ``batch`` with this step's mixing ``draws`` under ``ctx``."""
    if draws is not None:
        batch = method.apply_mix(batch, *draws)
    logits, batch = forward(batch, None, ctx.fcc_on)
    return method.loss(logits, batch, ctx.epoch)

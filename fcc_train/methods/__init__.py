"""Long-tailed methods of Tables 1-2 behind one registry.

The training loop calls only these four functions and the :class:`Method`
hooks (see ``base.py``):

* ``build_method(cfg, info, device)``: the method for ``cfg.method``;
* ``prepare_stage(model, cfg, device)``: two-stage set-up (load a stage-1
  checkpoint, freeze the backbone, reset the head, wrap LWS); returns the
  parameters the optimiser trains;
* ``after_step(model, cfg)``: projections after each optimiser step (LTR-WB's MaxNorm);
* ``eval_head(model, cfg)``: the model used for evaluation (τ-norm rescales the classifier).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import torch

from fcc_train.methods.base import Batch, DataInfo, Method

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["Batch", "DataInfo", "Method", "build_method", "prepare_stage", "after_step", "eval_head"]


def build_method(cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> Method:
    return Method(cfg, info, device)


def prepare_stage(model: torch.nn.Module, cfg: Config, device: torch.device | str = "cpu") -> Iterable[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def after_step(model: torch.nn.Module, cfg: Config) -> None:
    return None


def eval_head(model: torch.nn.Module, cfg: Config) -> torch.nn.Module:
    return model

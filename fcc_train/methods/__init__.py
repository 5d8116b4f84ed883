"""Long-tailed methods of Tables 1-2 behind one registry.

The training loop calls only these four functions and the :class:`Method`
hooks (see ``base.py``):

* ``build_method(cfg, info, device)``: the method for ``cfg.method`` (a multi-expert one, :mod:`fcc_train.methods.experts`,
  for ``method.loss`` sade | ride | ncl | bbn);
* ``prepare_stage(model, cfg, device)``: two-stage set-up (load a stage-1
  checkpoint, freeze the backbone, reset the head, wrap LWS); returns the
  parameters the optimiser trains;
* ``after_step(model, cfg)``: projections after each optimiser step (LTR-WB's MaxNorm);
* ``eval_head(model, cfg)``: the model used for evaluation (τ-norm rescales the classifier).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Iterable

import torch

from fcc_theory.errors import UserError
from fcc_train.methods.base import Batch, DataInfo, Method

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["FCC_COSINE_WARNING", "Batch", "DataInfo", "Method", "after_step", "build_method", "eval_head", "prepare_stage"]


# worded as the run's start-up line (fcc_train.experiments.fcc_placement), which replaces this warning in a run
FCC_COSINE_WARNING = (
    "FCC cancels here: the cosine head normalises the scaled feature, so logits, loss and gradients equal the raw run's "
    "(verifier claim cosine_scale_invariance); model.head linear makes it act (the ldam_linear configs), "
    "or on a multi-expert model fcc.placement shared or logits"
)


def build_method(cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> Method:
    """The method named by ``cfg.method`` (DiVe when ``method.teacher`` is set, else a configured loss/sampler/mixup)."""
    from fcc_train.methods.configured import ConfiguredMethod
    from fcc_train.methods.experts import EXPERT_METHODS, build_expert_method

    if cfg.fcc.enabled and cfg.model.head == "cosine" and cfg.fcc.placement == "features":
        warnings.warn(FCC_COSINE_WARNING, stacklevel=2)
    if cfg.method.loss in EXPERT_METHODS:
        return build_expert_method(cfg, info, device)
    if cfg.model.experts != "none":
        raise UserError(
            f"model.experts: {cfg.model.experts} needs a multi-expert method; use method.loss: {', '.join(EXPERT_METHODS)}"
        )
    if cfg.fcc.placement != "features":
        raise UserError(
            f"fcc.placement: {cfg.fcc.placement} needs a multi-expert model (model.experts); a single model takes features"
        )
    if cfg.method.teacher or cfg.method.loss == "dive":
        from fcc_train.methods.distill import DiVeMethod

        return DiVeMethod(cfg, info, device)
    return ConfiguredMethod(cfg, info, device)


def prepare_stage(model: torch.nn.Module, cfg: Config, device: torch.device | str = "cpu") -> Iterable[torch.nn.Parameter]:
    """Two-stage set-up (cRT, LWS, LTR-WB stage 2); returns the parameters the optimiser trains."""
    from fcc_train.methods.two_stage import prepare_two_stage

    return prepare_two_stage(model, cfg, device)


def after_step(model: torch.nn.Module, cfg: Config) -> None:
    """Projections after each optimiser step (LTR-WB's MaxNorm, ``stage.max_norm``)."""
    if cfg.stage.max_norm is not None:
        from fcc_train.methods.two_stage import apply_after_step

        apply_after_step(model, cfg)


def eval_head(model: torch.nn.Module, cfg: Config) -> torch.nn.Module:
    """The model used for evaluation (τ-norm: the head with w_j / ||w_j||^p)."""
    if cfg.stage.head_transform == "none":
        return model
    from fcc_train.methods.two_stage import build_eval_model

    return build_eval_model(model, cfg)

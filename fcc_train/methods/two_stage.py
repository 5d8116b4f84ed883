"""Two-stage (decoupled) methods: cRT, LWS, τ-norm (Kang et al., ICLR 2020) and LTR-WB's MaxNorm (Alshammari et al., CVPR 2022).

* **cRT**: stage 2 loads the stage-1 checkpoint (``stage.init_from``: a run
  folder → its ``checkpoints/last.pt``, i.e. the epoch-200 weights BoT uses;
  or a ``.pt`` file), freezes every backbone parameter
  (``stage.freeze_backbone``), re-initialises the classifier
  (``stage.reset_head``) and retrains it with class-balanced sampling (the
  config: 30 epochs, LR 0.1, wd 5e-4, steps 10/20 ×0.1, batch 128). As in
  BoT, only parameters are frozen: the backbone's BatchNorm layers stay in
  training mode and keep updating their running statistics.
* **LWS**: stage 2 wraps the head as f_j·(w_j·x + b_j) with a learnable
  per-class scale f (initialised to 1); only f is trained.
* **τ-norm**: at evaluation the classifier weights become w_j / ‖w_j‖^p
  (``stage.head_transform: tau_norm``, p = ``stage.tau_norm_p``); the bias
  is kept. Training is untouched, so a τ-norm run trains like CE. Which
  epoch counts as best is ``stage.tau_norm_checkpoint``: ``ce_best`` (the
  official code: τ-norm is applied to the CE run's best checkpoint, the
  epoch the *raw* head scored best on) or ``own_best`` (the epoch the
  normalised head scores best on). Either way every reported number is
  the normalised head's.
* **MaxNorm** (LTR-WB stage 2): after each optimiser step every class
  weight vector is projected onto the ball ‖w_j‖ ≤ ``stage.max_norm``
  (projected gradient descent).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from fcc_theory.errors import UserError

if TYPE_CHECKING:
    from fcc_train.config import Config
    from fcc_train.models.base import StagedNet

__all__ = [
    "LWSHead",
    "TauNormModel",
    "apply_after_step",
    "build_eval_model",
    "load_state_from",
    "max_norm_",
    "prepare_two_stage",
    "resolve_checkpoint",
    "selection_model",
    "tau_normalise",
]


def resolve_checkpoint(spec: str, what: str = "stage.init_from") -> Path:
    """A run folder (→ ``checkpoints/last.pt``) or a checkpoint file; one clear line if neither exists."""
    p = Path(spec)
    if p.is_dir():
        cand = p / "checkpoints" / "last.pt"
        if cand.is_file():
            return cand
        raise UserError(
            f"{what} '{spec}' is a folder without checkpoints/last.pt; train the stage-1 run first (fcc sweep chains it)"
        )
    if p.is_file():
        return p
    raise UserError(f"{what} '{spec}' does not exist; give a finished run folder or a .pt checkpoint")


def load_state_from(spec: str, what: str = "stage.init_from") -> tuple[dict[str, Any], Path]:
    from fcc_train.train.restore import load_state

    return load_state(resolve_checkpoint(spec, what), what=what)


class LWSHead(nn.Module):
    """Learnable weight scaling: logits_j = f_j·head(x)_j with f initialised to 1 (Kang et al. 2020, §4)."""

    def __init__(self, head: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.head = head
        self.scale = nn.Parameter(torch.ones(num_classes))

    @property
    def weight(self) -> torch.Tensor:
        return _weight(self.head)

    @property
    def bias(self) -> torch.Tensor | None:
        return getattr(self.head, "bias", None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x) * self.scale


def _weight(head: nn.Module) -> torch.Tensor:
    """The head's class-weight matrix (rows are classes): an nn.Linear's, a CosineHead's or an LWSHead's."""
    w = head.weight
    if not isinstance(w, torch.Tensor):
        raise UserError(f"the head {type(head).__name__} has no weight matrix; use model.head: linear or cosine")
    return w


def _staged(model: nn.Module) -> StagedNet:
    """``model`` as the trainer's models all are: a StagedNet (``.features``, ``.head``); build_model types them nn.Module."""
    return cast("StagedNet", model)


def tau_normalise(weight: torch.Tensor, p: float) -> torch.Tensor:
    """τ-normalised classifier weights w_j / ‖w_j‖^p (rows are classes)."""
    return weight / weight.norm(dim=1, keepdim=True).clamp_min(1e-12).pow(p)


class TauNormModel(nn.Module):
    """Evaluation view of a model whose linear head uses τ-normalised weights (the model itself is unchanged)."""

    def __init__(self, model: nn.Module, p: float) -> None:
        super().__init__()
        self.model = model
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = _staged(self.model).head
        w = tau_normalise(_weight(head).float(), self.p)
        b = getattr(head, "bias", None)
        f = _staged(self.model).features(x)
        return F.linear(f.float(), w, None if b is None else b.float())


@torch.no_grad()
def max_norm_(weight: torch.Tensor, threshold: float) -> None:
    """Project each row onto ‖w_j‖ ≤ threshold, in place (LTR-WB's MaxNorm)."""
    norms = weight.norm(dim=1, keepdim=True)
    weight.mul_(torch.clamp(threshold / norms.clamp_min(1e-12), max=1.0))


def _head_params(model: nn.Module) -> list[nn.Parameter]:
    return list(_staged(model).head.parameters())


def _reset_head(head: nn.Module) -> None:
    reset = getattr(head, "reset_parameters", None)
    if callable(reset):
        reset()
        return
    for mod in head.modules():
        reset = getattr(mod, "reset_parameters", None)
        if mod is not head and callable(reset):
            reset()
    w = getattr(head, "weight", None)
    if isinstance(w, nn.Parameter):  # a bare-parameter head: nn.Linear's default initialisation
        nn.init.kaiming_uniform_(w, a=5**0.5)
        b = getattr(head, "bias", None)
        if isinstance(b, nn.Parameter):
            bound = 1 / w.shape[1] ** 0.5
            nn.init.uniform_(b, -bound, bound)


def prepare_two_stage(model: nn.Module, cfg: Config, device: torch.device | str = "cpu") -> list[nn.Parameter]:
    """Load stage 1, freeze, reset or wrap the head as ``cfg.stage`` says; return the parameters to train."""
    st = cfg.stage
    if st.head_transform not in ("none", "tau_norm"):
        raise UserError(f"unknown stage.head_transform '{st.head_transform}'; use none or tau_norm")
    if st.head_transform == "tau_norm" and cfg.model.head != "linear":
        raise UserError("stage.head_transform: tau_norm needs model.head: linear (a cosine head is already normalised)")
    if st.reset_head or st.freeze_backbone or st.lws or st.head_transform != "none" or st.max_norm is not None:
        from fcc_train.models.multi_expert import refuse_multi_expert

        refuse_multi_expert(model, "cRT / LWS / tau-norm / LTR-WB (the stage keys)")
    if st.init_from:
        from fcc_train.train.restore import load_weights

        state, path = load_state_from(st.init_from)
        load_weights(model, state["model"], path, "use the same data set and model.arch as stage 1")
        model.to(device)
    if st.reset_head:
        _reset_head(_staged(model).head)
    if st.freeze_backbone or st.lws:
        for p in model.parameters():
            p.requires_grad_(False)
        if not st.lws:
            for p in _head_params(model):
                p.requires_grad_(True)
    if st.lws:
        head = _staged(model).head
        model.head = LWSHead(head, _weight(head).shape[0]).to(device)
    return [p for p in model.parameters() if p.requires_grad]


def apply_after_step(model: nn.Module, cfg: Config) -> None:
    if cfg.stage.max_norm is not None:
        max_norm_(_weight(_staged(model).head), cfg.stage.max_norm)


def build_eval_model(model: nn.Module, cfg: Config) -> nn.Module:
    if cfg.stage.head_transform == "tau_norm":
        return TauNormModel(model, cfg.stage.tau_norm_p)
    return model


def selection_model(model: nn.Module, cfg: Config) -> nn.Module | None:
    """The model whose test error picks the best epoch when that is not the evaluated one, else None.

    τ-norm with ``stage.tau_norm_checkpoint: ce_best`` selects on the raw head (the CE run's best
    checkpoint, as the official code) while the reported error is the normalised head's.
    """
    if cfg.stage.head_transform == "tau_norm" and cfg.stage.tau_norm_checkpoint == "ce_best":
        return model
    return None

"""SADE, RIDE, NCL and BBN as :class:`~fcc_train.methods.base.Method` subclasses (formulas in ``losses.py``).

FCC on a multi-expert model (``fcc.placement``; docs/recipes.md, "FCC on multi-expert models"): the per-sample τ of
the label (Eq. 1) multiplies

* ``features`` (default): each expert's pooled feature before its head, what the paper calls "the features" fed to
  the classifier. With a cosine head (SADE, RIDE) the head normalises the feature, so τ cancels exactly;
* ``shared``: the map after the shared layers, before the expert-specific ones (BBN: the trunk's map of each stream);
* ``logits``: each expert's logits (s·cos for a cosine head), not for BBN (its one logit mixes two samples).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn as nn

from fcc_theory.errors import UserError
from fcc_train.methods import losses as L
from fcc_train.methods.base import Batch, DataInfo, Method
from fcc_train.methods.experts import losses as X

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["EXPERT_METHODS", "BBNMethod", "MultiExpertMethod", "NCLMethod", "RIDEMethod", "SADEMethod", "build_expert_method"]

EXPERT_METHODS = ("sade", "ride", "ncl", "bbn")
_LAYOUTS = {"sade": ("split",), "ride": ("split",), "ncl": ("independent", "split"), "bbn": ("bilateral",)}


class MultiExpertMethod(Method):
    """The shared part: refusals, the FCC placements, the experts' forward. Subclasses define ``expert_loss``."""

    multi_expert = True

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, info, device)
        self.name = cfg.method.loss
        if cfg.model.experts not in _LAYOUTS[self.name]:
            raise UserError(
                f"method.loss {self.name} needs model.experts: {' or '.join(_LAYOUTS[self.name])} (got {cfg.model.experts})"
            )
        m = cfg.method
        if m.mixup != "none" or m.sampler != "instance":
            raise UserError(
                f"method.loss {self.name} trains with instance sampling and no mixup; set method.mixup: none, method.sampler: instance"
            )
        self.placement = cfg.fcc.placement
        if m.ride_router and self.name != "ride":
            raise UserError(f"method.ride_router trains RIDE's expert router; use it with method.loss: ride (got {self.name})")
        if cfg.fcc.enabled and self.placement == "shared" and cfg.model.experts == "independent":
            raise UserError(
                "fcc.placement: shared scales the layers the experts share, and independent experts share none; use features or logits"
            )
        self.prior = (self.counts / self.counts.sum()).to(self.device)
        self.log_counts = torch.log(self.counts)

    def attach(self, model: nn.Module) -> None:
        from fcc_train.models.multi_expert import is_multi_expert

        if not is_multi_expert(model):
            raise UserError(f"method.loss {self.name} needs a multi-expert model; set model.experts")

    def expert_forward(self, model: Any, batch: Batch, tau_by_class: torch.Tensor | None) -> torch.Tensor:
        """The experts' logits (E, N, C) with FCC's τ at ``fcc.placement`` (``tau_by_class`` None: FCC off)."""
        tau = None if tau_by_class is None else self.fcc_tau(tau_by_class, batch)
        m = model.shared_map(batch.images)
        if tau is not None and self.placement == "shared":
            m = m * tau.to(m.dtype)[:, None, None, None]
        feats = model.expert_features(m)
        if tau is not None and self.placement == "features":
            feats = [f * tau.to(f.dtype)[:, None] for f in feats]
        z = model.expert_logits(feats)
        if tau is not None and self.placement == "logits":
            z = [zi * tau.to(zi.dtype)[:, None] for zi in z]
        return torch.stack(z)

    def loss(self, logits: torch.Tensor, batch: Batch, epoch: int) -> torch.Tensor:
        return self.expert_loss(list(logits.unbind(0)), batch.labels, epoch)

    def expert_loss(self, z: list[torch.Tensor], labels: torch.Tensor, epoch: int) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "experts": self.cfg.model.experts, "fcc_placement": self.placement}


class SADEMethod(MultiExpertMethod):
    """SADE: CE, balanced-softmax and inverse-softmax experts (τ = ``method.sade_tau``), summed."""

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, info, device)
        if cfg.model.num_experts != 3:
            raise UserError(
                f"SADE trains 3 experts (CE, balanced, inverse); set model.num_experts: 3 (got {cfg.model.num_experts})"
            )

    def expert_loss(self, z: list[torch.Tensor], labels: torch.Tensor, epoch: int) -> torch.Tensor:
        return X.sade_loss(z, labels, self.prior, self.cfg.method.sade_tau)

    def before_last_evaluation(self, engine: Any, loader: Any) -> None:
        """Test-time self-supervised aggregation (``method.sade_test_time_epochs`` > 0) before the last evaluation."""
        if self.cfg.method.sade_test_time_epochs > 0:
            from fcc_train.methods.experts.aggregation import test_time_aggregation

            test_time_aggregation(engine, loader, self.cfg)


class RIDEMethod(MultiExpertMethod):
    """RIDE: LDAM per expert (CB weights after ``method.drw_start_epoch``) + the distribution-aware diversity term;
    with ``method.ride_router`` the expert router (RIDE-EA) is trained after the last epoch, before its evaluation."""

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, info, device)
        m = cfg.method
        C = len(info.class_counts)
        if m.ride_router and cfg.model.num_experts < 2:
            raise UserError("method.ride_router routes between experts; set model.num_experts: 2 or more")
        if m.ride_router:
            from fcc_train.data import LARGE_DATASETS

            if cfg.data.dataset in LARGE_DATASETS:  # refused before training, not after its last epoch
                raise UserError(
                    f"method.ride_router trains on the device-resident data sets (digits, CIFAR), not {cfg.data.dataset}; "
                    "set method.ride_router: false"
                )
        if m.ride_router and m.ride_router_top_k > C:
            raise UserError(f"method.ride_router_top_k is {m.ride_router_top_k} but there are {C} classes; set it to {C} or less")
        self.last_evaluation_extras: dict[str, float] = {}
        self.model: nn.Module | None = None
        self.margins = L.ldam_margins(info.class_counts, m.ldam_max_m).to(self.device)
        self.cb_w = L.cb_weights(info.class_counts, m.drw_beta).to(self.device)
        self.temps = (m.ride_diversity_temperature * X.ride_diversity_temperatures(info.class_counts, m.ride_reweight_factor)).to(
            self.device
        )

    def reweighting(self, epoch: int) -> bool:
        s = self.cfg.method.drw_start_epoch
        return s is not None and epoch > s

    def expert_loss(self, z: list[torch.Tensor], labels: torch.Tensor, epoch: int) -> torch.Tensor:
        m = self.cfg.method
        on = self.reweighting(epoch)
        return X.ride_loss(
            z,
            labels,
            self.margins,
            m.ldam_s,
            self.cb_w if on else None,
            self.temps if on else float(m.ride_diversity_temperature),
            m.ride_diversity_factor,
        )

    def attach(self, model: nn.Module) -> None:
        super().attach(model)
        self.model = model

    def on_epoch_start(self, epoch: int) -> None:
        # a router trained on earlier weights is stale once the experts train on (fcc train --extend):
        # every expert counts until the router is trained again before the new last evaluation
        on = getattr(self.model, "router_on", None)
        if on is not None:
            on.fill_(False)

    def before_last_evaluation(self, engine: Any, loader: Any) -> None:
        """RIDE-EA (``method.ride_router``): train the router on the frozen experts; the evaluation is then routed."""
        if self.cfg.method.ride_router:
            from fcc_train.methods.experts.router import experts_used, train_router
            from fcc_train.train.evaluate import evaluate

            preds, labels = evaluate(engine, loader)  # all experts, before routing: what the router trades against
            every = round(100.0 * float((preds != labels).float().mean()), 4)
            train_router(engine, loader, self.cfg)
            self.last_evaluation_extras = {
                "experts_per_sample": round(experts_used(engine, loader), 4),
                "all_experts_top1_error": every,
            }


class NCLMethod(MultiExpertMethod):
    """NCL: balanced-softmax CE on all and on the hard classes per expert, NBOD on both."""

    def expert_loss(self, z: list[torch.Tensor], labels: torch.Tensor, epoch: int) -> torch.Tensor:
        m = self.cfg.method
        return X.ncl_loss(z, labels, self.log_counts, m.ncl_hcm_k, m.ncl_nbod_factor, m.ncl_nbod_hcm_factor, m.ncl_hcm_ratio)


class BBNMethod(MultiExpertMethod):
    """BBN: a uniform and a reversed stream each step (the batch holds both halves), cumulative learning's α."""

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        super().__init__(cfg, info, device)
        if cfg.fcc.enabled and self.placement == "logits":
            raise UserError(
                "fcc.placement: logits has no single label in BBN (its logit mixes two samples); use features or shared"
            )
        self.reversed = X.reversed_probabilities(info.class_counts).to(self.device)
        # a device scalar filled before each epoch, so a captured step reads the new α without a new graph
        self.alpha = torch.ones((), device=self.device)

    def on_epoch_start(self, epoch: int) -> None:
        self.alpha.fill_(X.bbn_alpha(epoch, self.info.epochs))

    def paired_sampling(self, epoch: int) -> torch.Tensor | None:
        return self.reversed

    def expert_forward(self, model: Any, batch: Batch, tau_by_class: torch.Tensor | None) -> torch.Tensor:
        half = batch.labels.shape[0] // 2
        x, y = batch.images, batch.labels
        a = self.alpha
        feats = []
        for branch, sl in ((0, slice(0, half)), (1, slice(half, None))):
            m = model.shared_map(x[sl])  # one trunk pass per stream, as BBN (its BN sees each stream's batch)
            tau = None if tau_by_class is None else tau_by_class[y[sl]]
            if tau is not None and self.placement == "shared":
                m = m * tau.to(m.dtype)[:, None, None, None]
            f = model.branch_feature(m, branch)
            if tau is not None and self.placement == "features":
                f = f * tau.to(f.dtype)[:, None]
            feats.append(f)
        mixed = 2 * torch.cat((a.to(feats[0].dtype) * feats[0], (1 - a).to(feats[1].dtype) * feats[1]), dim=1)
        return model.head(mixed)[None]

    def loss(self, logits: torch.Tensor, batch: Batch, epoch: int) -> torch.Tensor:
        half = batch.labels.shape[0] // 2
        return X.bbn_loss(logits[0], batch.labels[:half], batch.labels[half:], self.alpha)


def build_expert_method(cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> MultiExpertMethod:
    """The multi-expert method of ``cfg.method.loss`` (sade | ride | ncl | bbn)."""
    cls = {"sade": SADEMethod, "ride": RIDEMethod, "ncl": NCLMethod, "bbn": BBNMethod}[cfg.method.loss]
    return cls(cfg, info, device)

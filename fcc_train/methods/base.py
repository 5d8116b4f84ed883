"""The contract between the training loop and a long-tailed method.

The engine (``fcc_train/train/engine.py``) runs one straight loop and asks the
method at fixed points; a method overrides only what it changes. Plain
cross-entropy (the baseline of Tables 1-2) is this base class unchanged.

One training step, in order::

    idx    = method.epoch_sampling(epoch)          # once per epoch: per-class draw probabilities or None
    batch  = Batch(images, labels)                 # augmented, normalised, on the device
    batch  = method.mix_inputs(batch, gen)         # input mixup / Remix (identity by default):
                                                   #   apply_mix(batch, *draw_mix(N, device, gen))
    feats  = model.features(batch.images)          # pooled backbone feature, (N, d)
    feats, batch = method.mix_features(feats, batch, gen)   # manifold mixup at 'pool'
    if FCC active:  feats = feats * method.fcc_tau(tau_by_class, batch)[:, None]   # Eq. 1
    logits = model.head(feats)
    loss   = method.loss(logits, batch, epoch)

Evaluation never calls ``mix_*`` or scales features (FCC acts in training only).
A captured step (CUDA graphs) calls ``draw_mix`` outside the graph, where random
draws belong, and ``apply_mix`` with the draws as device tensors inside it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["Batch", "DataInfo", "Method"]


@dataclass
class DataInfo:
    """What a method may know about the training set."""

    class_counts: list[int]  # n_j, indexed by label id
    epochs: int  # total epochs of this run (PB sampling's T)

    @property
    def num_classes(self) -> int:
        return len(self.class_counts)


@dataclass
class Batch:
    """A training batch as the method sees it.

    For mixed samples ``labels_b`` holds the second label and ``lam`` the
    per-sample weight of ``labels`` in the loss (Remix changes it from the
    image-mixing λ, so ``image_lam`` keeps the latter for FCC's mixed τ).
    """

    images: torch.Tensor
    labels: torch.Tensor
    labels_b: torch.Tensor | None = None
    lam: torch.Tensor | None = None  # (N,) weight of `labels` in the loss
    image_lam: torch.Tensor | None = None  # (N,) weight of image a in the mixed input/feature
    extra: dict[str, Any] | None = None

    def with_(self, **kw: Any) -> Batch:
        return replace(self, **kw)


class Method:
    """Plain softmax cross-entropy with instance-uniform sampling (the baseline)."""

    name = "ce"

    def __init__(self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu") -> None:
        self.cfg = cfg
        self.info = info
        self.device = torch.device(device)
        self.counts = torch.tensor(info.class_counts, dtype=torch.float32, device=self.device)

    def attach(self, model: torch.nn.Module) -> None:
        """Called once with the model this method trains, before training (manifold mixup installs its hook)."""

    # -- sampling -------------------------------------------------------
    def epoch_sampling(self, epoch: int) -> torch.Tensor | None:
        """Per-class draw probabilities (C,) for this epoch, or None for instance-uniform shuffling."""
        return None

    def paired_sampling(self, epoch: int) -> torch.Tensor | None:
        """Per-class probabilities of a second stream drawn beside the first (BBN's reversed sampler), or None.

        With a second stream each step's batch is the two batches concatenated (first stream first)."""
        return None

    # -- mixing ---------------------------------------------------------
    def draw_mix(self, n: int, device: torch.device, gen: torch.Generator | None) -> tuple[float, torch.Tensor] | None:
        """This step's mixing draws, (λ on the host, the pairing permutation on the device), or None (no mixing)."""
        return None

    def apply_mix(self, batch: Batch, lam: float | torch.Tensor, perm: torch.Tensor) -> Batch:
        """Mix the batch with given draws; λ a float or a 0-d device tensor. Tensor ops only (no host sync,
        no branch on values), so a CUDA graph can capture it and replay it with new draws."""
        return batch

    def mix_inputs(self, batch: Batch, gen: torch.Generator | None) -> Batch:
        draws = self.draw_mix(batch.labels.shape[0], batch.labels.device, gen)
        return batch if draws is None else self.apply_mix(batch, *draws)

    def mix_features(self, feats: torch.Tensor, batch: Batch, gen: torch.Generator | None) -> tuple[torch.Tensor, Batch]:
        return feats, batch

    # -- FCC --------------------------------------------------------------
    def fcc_tau(self, tau_by_class: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per-sample τ (N,): τ of the label; for mixed samples τ of label a (official) or the λ-mix."""
        tau = tau_by_class[batch.labels]
        if batch.labels_b is not None and self.cfg.fcc.mix_tau == "mixed":
            lam = batch.image_lam if batch.image_lam is not None else batch.lam
            assert lam is not None, "a mixed batch carries its λ"
            tau = lam * tau + (1 - lam) * tau_by_class[batch.labels_b]
        return tau

    def fcc_on(self, epoch: int) -> bool:
        """Whether FCC scales the features in training epoch ``epoch`` (``fcc.enabled`` and ``epoch > fcc.start_epoch``)."""
        from fcc_train.fcc import fcc_active

        return fcc_active(self.cfg.fcc, epoch)

    # -- the captured step's key -------------------------------------------------
    def phase(self, epoch: int) -> Hashable:
        """Everything that changes this method's traced loss between epochs: a captured step keeps one graph
        per phase and replays it with the epoch it was captured at. Default: FCC on/off and the DRW switch.
        A method whose loss depends on the epoch in another way must add it here."""
        drw = self.cfg.method.drw_start_epoch
        return (self.fcc_on(epoch), drw is not None and epoch > drw)

    # -- loss -------------------------------------------------------------
    def per_sample_loss(self, logits: torch.Tensor, labels: torch.Tensor, epoch: int) -> torch.Tensor:
        """The method's loss for hard labels, one value per sample (N,)."""
        return F.cross_entropy(logits.float(), labels, reduction="none")

    def loss(self, logits: torch.Tensor, batch: Batch, epoch: int) -> torch.Tensor:
        """Scalar loss; mixed batches weight each sample's two labels by its own λ."""
        la = self.per_sample_loss(logits, batch.labels, epoch)
        if batch.labels_b is None:
            return la.mean()
        lb = self.per_sample_loss(logits, batch.labels_b, epoch)
        lam = batch.lam
        assert lam is not None, "a mixed batch carries its λ"
        return (lam * la + (1 - lam) * lb).mean()

    # -- stage hooks --------------------------------------------------------
    def on_epoch_start(self, epoch: int) -> None:
        """Called before each epoch (DRW switches its weights here)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

"""The mixup family: Input Mixup, Manifold Mixup and Remix.

* Input Mixup (Zhang et al., ICLR 2018): one λ ~ Beta(α, α) per batch (as
  BoT), a random permutation pairs each image a with an image b;
  x = λ·x_a + (1−λ)·x_b, loss = λ·L(y_a) + (1−λ)·L(y_b).
* Manifold Mixup (Verma et al., ICML 2019): the same mixing applied to a
  hidden representation. ``method.manifold_layer``: ``pool`` (default, the
  pooled feature, as BoT's configs), ``stem`` (output of ``model.stem``) or
  ``stageK`` (output of ``model.stages[K-1]``, K from 1). Non-``pool`` layers
  mix inside ``model.features`` through a forward hook that
  :func:`install_manifold_hook` registers with the method's own :class:`ManifoldSlot`
  (``Method.attach(model)``, called when the engine is built).
* Remix (Chou et al., ECCV-W 2020): the image is mixed with λ; the label
  weight of y_a becomes λ_y = 0 if n_a/n_b ≥ κ and λ < τ, λ_y = 1 if
  n_a·κ/n_b ≤ 1 and 1−λ < τ, else λ. **Each sample's loss is weighted by its
  own λ_y** (``method.remix_weighting: per_sample``). BoT multiplies the
  per-sample λ_y vector into a batch-*mean* CE, which equals using the
  batch-average λ_y for every sample; that quirk is
  ``remix_weighting: batch_mean``.

λ is drawn on the host from a NumPy generator seeded by (train seed, epoch,
step), so no device→host synchronisation is needed and a resumed run (which
restarts at an epoch boundary) draws the same λ sequence. The pairing
permutation uses the loader's device generator. Both draws happen outside a
captured step (``Method.draw_mix``); the mixing itself takes λ as a float or
as a 0-d device tensor (``Method.apply_mix``), so a CUDA graph replays it with
each step's new draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from fcc_train.methods.base import Batch

__all__ = [
    "MIXUPS",
    "LambdaSource",
    "ManifoldSlot",
    "install_manifold_hook",
    "manifold_target",
    "mix_pair",
    "remix_label_weights",
]

MIXUPS = ("none", "input", "manifold", "remix")


class LambdaSource:
    """λ ~ Beta(α, α), one per step, reproducible per (seed, epoch)."""

    def __init__(self, alpha: float, seed: int) -> None:
        self.alpha, self.seed = float(alpha), int(seed)
        self.rng = np.random.default_rng([self.seed, 0])

    def start_epoch(self, epoch: int) -> None:
        self.rng = np.random.default_rng([self.seed, int(epoch)])

    def draw(self) -> float:
        return float(self.rng.beta(self.alpha, self.alpha)) if self.alpha > 0 else 1.0


def _perm(n: int, device: torch.device, gen: torch.Generator | None) -> torch.Tensor:
    if gen is not None and gen.device.type == device.type:
        return torch.randperm(n, device=device, generator=gen)
    return torch.randperm(n, device=device)


def mix_pair(x: torch.Tensor, lam: float | torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """λ·x + (1−λ)·x[perm] (the mixed input or hidden representation); λ a float or a 0-d tensor.

    Both coefficients are float32 numbers computed in float32 arithmetic, whether λ comes as a host
    float (the eager step) or as a device tensor (a captured step), so the two steps mix identically.
    """
    if not isinstance(lam, torch.Tensor):
        a = np.float32(lam)
        return float(a) * x + float(np.float32(1.0) - a) * x[perm]
    lam = lam.to(torch.float32)
    return lam * x + (1.0 - lam) * x[perm]


def remix_label_weights(
    lam: float | torch.Tensor, counts: torch.Tensor, labels_a: torch.Tensor, labels_b: torch.Tensor, kappa: float, tau: float
) -> torch.Tensor:
    """Remix's per-sample weight λ_y of label a (Chou et al. 2020, Eq. 5)."""
    n_a = counts[labels_a].float()
    n_b = counts[labels_b].float()
    lam_t = torch.as_tensor(lam, dtype=torch.float32, device=n_a.device).expand_as(n_a)
    out = lam_t.clone()
    out = torch.where((n_a / n_b >= kappa) & (lam_t < tau), torch.zeros_like(out), out)
    out = torch.where((n_a * kappa / n_b <= 1) & (1 - lam_t < tau), torch.ones_like(out), out)
    return out


def mixed_batch(batch: Batch, lam: float | torch.Tensor, perm: torch.Tensor, label_lam: torch.Tensor | None = None) -> Batch:
    """The batch's labels after mixing (images unchanged here): labels_b, the loss weight lam and the mixing image_lam."""
    n = batch.labels.shape[0]
    if isinstance(lam, torch.Tensor):  # a captured step's λ: stays on the device (float() would synchronise)
        lam_vec = lam.to(torch.float32).expand(n)
    else:
        lam_vec = torch.full((n,), float(lam), device=batch.labels.device)
    return batch.with_(labels_b=batch.labels[perm], lam=lam_vec if label_lam is None else label_lam, image_lam=lam_vec)


class ManifoldSlot:
    """A pending hidden-layer mix of one model: armed by ``apply_mix``, consumed by the forward hook inside
    ``model.features``. Each method owns one for the model it trains, so several models may train in one process."""

    def __init__(self) -> None:
        self.pending: tuple[float | torch.Tensor, torch.Tensor] | None = None
        self.consumed = False

    def arm(self, lam: float | torch.Tensor, perm: torch.Tensor) -> None:
        self.pending, self.consumed = (lam, perm), False

    def hook(self, module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor | None:
        if self.pending is None or not module.training:
            return None
        lam, perm = self.pending
        self.pending, self.consumed = None, True
        return mix_pair(output, lam, perm)


def manifold_target(model: torch.nn.Module, layer: str) -> torch.nn.Module | None:
    """The module whose output a non-``pool`` manifold mixup mixes (None for ``pool``)."""
    if layer == "pool":
        return None
    if layer == "stem":
        return model.stem  # type: ignore[return-value]
    if layer.startswith("stage") and layer[5:].isdigit():
        k = int(layer[5:])
        stages = model.stages
        assert isinstance(stages, torch.nn.ModuleList)
        if 1 <= k <= len(stages):
            return stages[k - 1]
        raise ValueError(f"method.manifold_layer '{layer}' is out of range: the model has stages 1..{len(stages)}")
    raise ValueError(f"unknown method.manifold_layer '{layer}'; use pool, stem or stageK (K from 1)")


def install_manifold_hook(model: torch.nn.Module, layer: str, slot: ManifoldSlot) -> Any:
    """Register ``slot``'s mixing hook on the chosen layer of ``model`` (replacing an earlier slot's); the handle, or None for ``pool``."""
    target = manifold_target(model, layer)
    if target is None:
        return None
    old = getattr(model, "_fcc_manifold_hook", None)
    if old is not None:
        old.remove()
    handle = target.register_forward_hook(slot.hook)
    setattr(model, "_fcc_manifold_hook", handle)  # noqa: B010 (nn.Module typing: a handle is not a Module)
    return handle

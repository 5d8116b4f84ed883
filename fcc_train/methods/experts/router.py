"""Training RIDE's expert router (RIDE-EA; Wang et al., ICLR 2021, §3.3; the authors' ``*_ride_ea`` configs).

After the experts are trained they are frozen (parameters and BatchNorm statistics), and only the router
(:class:`fcc_train.models.expert_router.ExpertRouter`) learns, for ``method.ride_router_epochs`` (5) epochs of
class-balanced sampling (each draw a uniformly chosen class, then one of its images) with the training
augmentation, batch ``method.ride_router_batch_size`` (512), SGD LR ``method.ride_router_lr`` (0.01, momentum
0.9, Nesterov, wd 5e-4) on a per-epoch cosine schedule to 0.

The label of router ``i`` (:func:`router_targets`): the mean of experts ``0..i`` is wrong *and* the mean of
experts ``0..j`` is right for some ``j > i`` — the next experts would fix the sample. Its loss
(:func:`router_loss`): binary cross-entropy on the router logits with positive weight
``method.ride_router_pos_weight`` (100), averaged over the E − 1 routers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from fcc_theory.errors import UserError
from fcc_train.data.augment import random_crop_flip

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["experts_used", "router_logits", "router_loss", "router_targets", "train_router"]


def router_targets(z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(N, E − 1) booleans from the experts' logits ``z`` (E, N, C): column ``i`` says that experts ``0..i`` get
    the label wrong and some longer prefix ``0..j`` (j > i) gets it right."""
    correct = z.cumsum(0).argmax(-1) == labels[None]  # (E, N): the prefix 0..i right
    # later[i]: some prefix 0..j with j >= i is right
    later = correct.flip(0).cumsum(0).flip(0) > 0
    return (~correct[:-1] & later[1:]).T


def router_logits(router: Any, feats: list[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """(N, E − 1): router ``i`` on expert ``i``'s feature and the mean logits of experts ``0..i``."""
    run = z.cumsum(0)
    return torch.stack([router.help_logit(i, feats[i], run[i] / (i + 1)) for i in range(z.shape[0] - 1)], dim=1)


def router_loss(logits: torch.Tensor, targets: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Σ_i BCE(logits[:, i], targets[:, i]; pos_weight) / (E − 1), each BCE a batch mean."""
    w = logits.new_tensor([pos_weight])
    per = [
        F.binary_cross_entropy_with_logits(logits[:, i], targets[:, i].to(logits.dtype), pos_weight=w)
        for i in range(logits.shape[1])
    ]
    return torch.stack(per).sum() / logits.shape[1]


def train_router(engine: Any, loader: Any, cfg: Config) -> None:
    """Train ``engine.model.router`` on the frozen experts and switch the model to routed evaluation."""
    if not hasattr(loader, "train_images"):
        raise UserError(
            "RIDE's router stage runs on the device-resident data sets (digits, CIFAR); set method.ride_router: false"
        )
    model, m = engine.model, cfg.method
    router = model.router
    router.requires_grad_(True)
    params = list(router.parameters())
    opt = torch.optim.SGD(params, lr=m.ride_router_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator(device=loader.device).manual_seed(cfg.train.seed + 11)
    counts = loader.class_counts.to(loader.device, torch.float64)
    # each class drawn with probability 1/C, then uniformly among its images (the authors' BalancedSampler)
    weights = (1.0 / (counts.numel() * counts.clamp_min(1.0)))[loader.train_labels]
    n, batch = int(loader.train_labels.shape[0]), m.ride_router_batch_size
    was_training = model.training
    model.eval()  # frozen experts: their BatchNorm layers keep their statistics
    for epoch in range(m.ride_router_epochs):
        for g in opt.param_groups:  # cosine annealing over the epochs, stepped once per epoch
            g["lr"] = m.ride_router_lr * (1 + math.cos(math.pi * epoch / m.ride_router_epochs)) / 2
        idx = torch.multinomial(weights, n, replacement=True, generator=gen)
        for s in range(0, n, batch):
            j = idx[s : s + batch]
            x = loader.train_images[j]
            if loader.augment:
                x = random_crop_flip(x, loader.crop_padding, loader.flip, gen)
            with torch.no_grad(), engine.autocast():
                shared = model.shared_map(engine.prepare_images(loader._finish(x)))
                feats = model.expert_features(shared)
                z = torch.stack(model.expert_logits(feats))
            feats, z = [f.float() for f in feats], z.float()
            loss = router_loss(
                router_logits(router, feats, z), router_targets(z, loader.train_labels[j]), m.ride_router_pos_weight
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    router.requires_grad_(False)
    model.router_on.fill_(True)
    if was_training:
        model.train()


@torch.no_grad()
def experts_used(engine: Any, loader: Any) -> float:
    """The mean number of experts a test sample runs through under the trained router."""
    from fcc_train.models.expert_router import routed_logits

    model = engine.model
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    for x, _ in loader.eval_batches():
        with engine.autocast():
            _, count = routed_logits(model, engine.prepare_images(x))
        total += float(count.sum())
        n += int(count.numel())
    if was_training:
        model.train()
    return total / max(n, 1)

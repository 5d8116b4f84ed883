"""SADE's test-time self-supervised aggregation (Zhang et al., NeurIPS 2022, §4.2, Eq. 8; the authors' test-time configs).

Learn the experts' aggregation weights w = softmax(θ) (θ initialised to 1/3 each, so w is uniform) on the
*unlabeled* test images: each batch gives two augmented views, and SGD (LR ``method.sade_test_time_lr`` = 0.1,
momentum 0.9, Nesterov, wd 5e-4, batch 128, shuffled, the last batch kept) maximises the mean cosine similarity of
softmax(Σ_e w_e z_e) between the views, for ``method.sade_test_time_epochs`` epochs (5), stopping after an epoch in
which a weight, rounded to two decimals as the authors' record of it, is below 0.05. The backbone is frozen and in
eval mode; labels are never read. The learned w becomes the model's ``expert_weights`` (what its ``forward``
aggregates with).

Images and views as the authors' CIFAR script: the test set itself (its uniform test distribution is the whole
CIFAR test split), each image seen as two independent views of :func:`~fcc_train.data.sade_views.sade_view` —
random crop, colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur (p 0.2), flip — with the split's crop padding
(at least 1) and flip setting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from fcc_theory.errors import UserError
from fcc_train.data.sade_views import sade_view
from fcc_train.methods.experts.losses import sade_stability

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["test_time_aggregation"]

BATCH = 128
MIN_WEIGHT = 0.05


def _views(loader: Any, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    x = sade_view(images, max(loader.crop_padding, 1), loader.flip, gen)
    return loader._finish(x)


def test_time_aggregation(engine: Any, loader: Any, cfg: Config) -> torch.Tensor:
    """Learn and install the aggregation weights (E,) of ``engine.model``; returns them."""
    if not hasattr(loader, "test_images"):
        raise UserError(
            "SADE's test-time aggregation runs on the device-resident data sets (digits, CIFAR); set method.sade_test_time_epochs: 0"
        )
    model = engine.model
    E = model.num_experts
    theta = torch.full((E,), 1.0 / E, device=engine.device, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=cfg.method.sade_test_time_lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    gen = torch.Generator(device=loader.device).manual_seed(cfg.train.seed + 7)
    was_training = model.training
    model.eval()
    test = loader.test_images
    for _ in range(cfg.method.sade_test_time_epochs):
        order = torch.randperm(test.shape[0], device=test.device, generator=gen)
        for s in range(0, test.shape[0], BATCH):
            x = test[order[s : s + BATCH]]
            with torch.no_grad(), engine.autocast():
                z = [
                    torch.stack(
                        model.expert_logits(
                            model.expert_features(model.shared_map(engine.prepare_images(_views(loader, x, gen))))
                        )
                    )
                    for _ in range(2)
                ]
            loss = -sade_stability(z[0].float(), z[1].float(), torch.softmax(theta, dim=0))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if bool((torch.round(torch.softmax(theta, dim=0) * 100) / 100 < MIN_WEIGHT).any()):
            break
    w = torch.softmax(theta.detach(), dim=0)
    with torch.no_grad():
        model.expert_weights.copy_(w.to(model.expert_weights.dtype))
    if was_training:
        model.train()
    return w

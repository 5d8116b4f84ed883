"""The multi-expert losses and rules as pure formulas on tensors (formulas: docs/recipes.md, "Methods").

* SADE (Zhang et al., Self-Supervised Aggregation of Diverse Experts, NeurIPS 2022, Eqs. 2-5): expert 1 CE on z,
  expert 2 CE on z + log π (balanced softmax), expert 3 CE on z + log π − τ·log π̄ (π̄: the inverse prior), summed;
  test-time aggregation maximises the cosine similarity of the aggregated predictions of two views (Eq. 8).
* RIDE (Wang et al., Long-tailed Recognition by Routing Diverse Distribution-Aware Experts, ICLR 2021, Eq. 4): per
  expert LDAM(z_e) (CB-weighted after the reweighting epoch) plus λ·T²·KL(softmax(z̄/T) ‖ softmax(z_e/T)),
  λ = −0.2 (rewards diversity from the experts' mean z̄, held constant), T per class after the reweighting epoch.
* NCL (Li et al., Nested Collaborative Learning for Long-Tailed Visual Recognition, CVPR 2022, Eqs. 1-7):
  balanced-softmax CE per expert on all classes and on the hard classes (HCM: the label and the top-k of expert
  1's logits, the others multiplied by 0 as the official mask), and NBOD, the pairwise KL between experts on both.
* BBN (Zhou et al., Bilateral-Branch Network with Cumulative Learning, CVPR 2020, Eqs. 1-3): α = 1 − ((T−1)/T_max)²,
  z = W·2[α f_c, (1−α) f_r], loss α·CE(z, y_c) + (1−α)·CE(z, y_r); the re-balancing branch samples class j with
  probability ∝ 1/n_j.

The constants are the official code's (1e-9 inside the logs, batch-mean KL, sums over experts).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "bbn_alpha",
    "bbn_loss",
    "inverse_prior",
    "kl_batchmean",
    "nbod",
    "ncl_hard_mask",
    "ncl_loss",
    "reversed_probabilities",
    "ride_diversity_temperatures",
    "ride_loss",
    "sade_expert_logits",
    "sade_loss",
    "sade_stability",
]

EPS = 1e-9  # inside log(prior + ε) and log(softmax + ε), as the official SADE and NCL code


def _up(t: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (bf16 autocast) in float32; float32 / float64 as they are."""
    return t if t.dtype in (torch.float32, torch.float64) else t.float()


def inverse_prior(prior: torch.Tensor) -> torch.Tensor:
    """π̄: the class with the r-th smallest prior gets the r-th largest prior (SADE's ``inverse_prior``)."""
    values, order = torch.sort(prior, stable=True)
    rank = torch.argsort(order, stable=True)
    return values[prior.shape[0] - 1 - rank]


def sade_expert_logits(z: Sequence[torch.Tensor], prior: torch.Tensor, tau: float) -> list[torch.Tensor]:
    """The three experts' logits as their losses see them: z₁, z₂ + log π, z₃ + log π − τ log π̄."""
    if len(z) != 3:
        raise ValueError(f"SADE trains exactly 3 experts, got {len(z)}")
    log_p = torch.log(prior + EPS)
    return [_up(z[0]), _up(z[1]) + log_p, _up(z[2]) + log_p - tau * torch.log(inverse_prior(prior) + EPS)]


def sade_loss(z: Sequence[torch.Tensor], labels: torch.Tensor, prior: torch.Tensor, tau: float) -> torch.Tensor:
    """SADE's training loss: the sum over the three experts of the mean CE of their adjusted logits."""
    return sum((F.cross_entropy(a, labels) for a in sade_expert_logits(z, prior, tau)), torch.zeros((), device=labels.device))


def sade_stability(z_view1: torch.Tensor, z_view2: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Test-time prediction stability: mean cosine similarity of softmax(Σ_e w_e z_e) over two views, (E, N, C) each."""
    p1 = F.softmax(torch.einsum("e,enc->nc", weights, z_view1), dim=1)
    p2 = F.softmax(torch.einsum("e,enc->nc", weights, z_view2), dim=1)
    return F.cosine_similarity(p1, p2, dim=1, eps=1e-6).mean()


def kl_batchmean(log_q: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) summed over classes, averaged over the batch (``F.kl_div(log_q, p, reduction='batchmean')``)."""
    return (torch.xlogy(p, p) - p * log_q).sum() / p.shape[0]


def ride_diversity_temperatures(counts: Sequence[float] | torch.Tensor, factor: float) -> torch.Tensor:
    """RIDE's per-class diversity temperatures after the reweighting epoch: (C·π_j·f + 1 − f) / max_k (...)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    w = len(n) * (n / n.sum()) * factor + 1 - factor
    return (w / w.max()).float()


def ride_loss(
    z: Sequence[torch.Tensor],
    labels: torch.Tensor,
    margins: torch.Tensor,
    s: float,
    class_weights: torch.Tensor | None,
    temperature: torch.Tensor | float,
    diversity_factor: float,
) -> torch.Tensor:
    """Σ_e [CE_w(z_e − s·m_y·e_y) + λ·T̄²·KL(softmax(z̄/T) ‖ softmax(z_e/T))], z̄ = mean_e z_e held constant."""
    zs = [_up(zi) for zi in z]
    mean = torch.stack(zs).mean(0).detach()
    onehot = F.one_hot(labels, zs[0].shape[1]).to(zs[0].dtype)
    t = temperature if isinstance(temperature, float) else temperature.view(1, -1)
    t_mean = temperature if isinstance(temperature, float) else temperature.mean()  # a device scalar: no host sync
    target = F.softmax(mean / t, dim=1)
    total = torch.zeros((), device=labels.device)
    for zi in zs:
        total = total + F.cross_entropy(zi - s * margins[labels][:, None] * onehot, labels, weight=class_weights)
        total = total + diversity_factor * t_mean * t_mean * kl_batchmean(F.log_softmax(zi / t, dim=1), target)
    return total


def ncl_hard_mask(z_first: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """HCM's 0/1 mask (N, C): the label and the k − 1 other classes with the largest logits of the first expert."""
    forced = _up(z_first.detach()).scatter(1, labels[:, None], float("inf"))
    top = forced.topk(min(k, z_first.shape[1]), dim=1).indices
    return torch.zeros_like(forced).scatter(1, top, 1.0)


def nbod(logits: Sequence[torch.Tensor], factor: float) -> torch.Tensor:
    """NBOD: factor · Σ_{i≠j} KL(p_j ‖ p_i) / (E − 1), p = softmax, log(p_i + ε) (NCL's ``NBOD``; both sides get gradients)."""
    E = len(logits)
    if E == 1:
        return torch.zeros((), device=logits[0].device)
    p = [F.softmax(z, dim=1) for z in logits]
    logp = [torch.log(q + EPS) for q in p]
    total = torch.zeros((), device=logits[0].device)
    for i in range(E):
        for j in range(E):
            if i != j:
                total = total + factor * kl_batchmean(logp[i], p[j])
    return total / (E - 1)


def ncl_loss(
    z: Sequence[torch.Tensor],
    labels: torch.Tensor,
    log_counts: torch.Tensor,
    k: int,
    nbod_factor: float,
    nbod_hcm_factor: float,
    hcm_ratio: float,
) -> torch.Tensor:
    """NCL's NIL + NBOD: Σ_e [CE(b_e) + r·CE(b_e ⊙ M)] + NBOD(b) + NBOD(b ⊙ M), b_e = z_e + log n."""
    mask = ncl_hard_mask(z[0], labels, k)
    balanced = [_up(zi) + log_counts for zi in z]
    hard = [b * mask for b in balanced]
    ce = sum(
        (F.cross_entropy(b, labels) + hcm_ratio * F.cross_entropy(h, labels) for b, h in zip(balanced, hard, strict=True)),
        torch.zeros((), device=labels.device),
    )
    return ce + nbod(balanced, nbod_factor) + nbod(hard, nbod_hcm_factor)


def bbn_alpha(epoch: int, max_epoch: int) -> float:
    """Cumulative learning's α = 1 − ((T − 1)/T_max)² at epoch T (1-based), as BBN's combiner."""
    return 1.0 - ((epoch - 1) / max_epoch) ** 2


def bbn_loss(z: torch.Tensor, labels_c: torch.Tensor, labels_r: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
    """α·CE(z, y_c) + (1 − α)·CE(z, y_r), each the batch mean."""
    z = _up(z)
    return alpha * F.cross_entropy(z, labels_c) + (1 - alpha) * F.cross_entropy(z, labels_r)


def reversed_probabilities(counts: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """BBN's reversed sampler: class j drawn with probability (N_max/n_j) / Σ_k (N_max/n_k)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    w = n.max() / n
    return (w / w.sum()).float()

"""Re-weighting and logit-adjusting losses of Table 1 (formulas: docs/recipes.md, "Methods").

Each function is a pure formula on tensors; :mod:`fcc_train.methods.configured`
wraps them as :class:`~fcc_train.methods.base.Method` subclasses. Per-sample
losses return shape ``(N,)`` so mixed batches can weight each sample by its
own λ.

Sources: focal loss (Lin et al., ICCV 2017; the sigmoid form as in
BagofTricks-LT, the softmax form as in LDAM-DRW), class-balanced weights
(Cui et al., CVPR 2019), balanced softmax (Ren et al., NeurIPS 2020), label
smoothing (Szegedy et al., CVPR 2016), label-aware smoothing (Zhong et al.,
MiSLAS, CVPR 2021), LDAM (Cao et al., NeurIPS 2019), class-dependent
temperatures (Ye et al., 2020).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F

__all__ = [
    "bsce_logits",
    "cb_weights",
    "cdt_temperatures",
    "celas_epsilons",
    "focal_sigmoid",
    "focal_softmax",
    "ldam_margins",
    "smoothed_ce",
]


def cb_weights(counts: Sequence[float] | torch.Tensor, beta: float) -> torch.Tensor:
    """Class-balanced weights w_j = (1−β)/(1−β^{n_j}), normalised so that Σ_j w_j = C (Cui et al. 2019, Eq. 3)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    if beta >= 1.0 or beta < 0.0:
        raise ValueError(f"class-balanced β must lie in [0, 1), got {beta}")
    # β = 0 gives w_j = 1 (no reweighting); computed in float64 because 1 − 0.9999^5000 is fine but β^n underflows softly
    w = (1.0 - beta) / (1.0 - torch.pow(torch.tensor(beta, dtype=torch.float64), n))
    return (w / w.sum() * len(n)).float()


def ldam_margins(counts: Sequence[float] | torch.Tensor, max_m: float) -> torch.Tensor:
    """LDAM margins m_j = c·n_j^(−1/4) with c chosen so the largest margin (rarest class) is ``max_m`` (Cao et al. 2019, Eq. 12)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    m = n.pow(-0.25)
    return (m * (max_m / m.max())).float()


def cdt_temperatures(counts: Sequence[float] | torch.Tensor, gamma: float) -> torch.Tensor:
    """CDT temperatures a_j = (N_max / n_j)^γ; the loss uses z_j / a_j (Ye et al. 2020)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    return (n.max() / n).pow(gamma).float()


def celas_epsilons(counts: Sequence[float] | torch.Tensor, eps_head: float, eps_tail: float) -> torch.Tensor:
    """Label-aware smoothing, concave rule: ε_j = ε_tail + (ε_head − ε_tail)·sin(π(n_j − N_min) / (2(N_max − N_min))) (MiSLAS)."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    span = float(n.max() - n.min())
    if span == 0:  # balanced: every class is both head and tail; the rule's limit is ε_head
        return torch.full(n.shape, float(eps_head))
    return (eps_tail + (eps_head - eps_tail) * torch.sin(math.pi * (n - n.min()) / (2 * span))).float()


def focal_sigmoid(logits: torch.Tensor, labels: torch.Tensor, gamma: float) -> torch.Tensor:
    """BoT's sigmoid focal loss per sample: Σ_j BCE(z_j, y_j)·((1−p_j)·y_j + p_j·(1−y_j))^γ, p = σ(z).

    The batch loss divides the sum by the batch size (the caller's mean).
    """
    z = logits.float()
    y = F.one_hot(labels, z.shape[1]).to(z.dtype)
    bce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    p = torch.sigmoid(z)
    mod = ((1 - p) * y + p * (1 - y)).pow(gamma)
    return (bce * mod).sum(1)


def focal_softmax(logits: torch.Tensor, labels: torch.Tensor, gamma: float) -> torch.Tensor:
    """LDAM-DRW's focal loss per sample: (1 − p_y)^γ · CE, p_y = softmax(z)_y."""
    ce = F.cross_entropy(logits.float(), labels, reduction="none")
    p = torch.exp(-ce)
    return (1 - p).pow(gamma) * ce


def smoothed_ce(logits: torch.Tensor, labels: torch.Tensor, eps: torch.Tensor | float) -> torch.Tensor:
    """(1−ε)·NLL + ε·mean_j(−log p_j): CE against (1−ε)·one-hot + ε/C; ``eps`` is a float or per-sample (N,)."""
    logp = F.log_softmax(logits.float(), dim=1)
    nll = -logp.gather(1, labels[:, None]).squeeze(1)
    smooth = -logp.mean(1)
    return (1 - eps) * nll + eps * smooth


def bsce_logits(logits: torch.Tensor, log_counts: torch.Tensor) -> torch.Tensor:
    """Balanced softmax: the logits z_j + log n_j (the loss is CE on them; Ren et al. 2020, Eq. 4)."""
    return logits.float() + log_counts

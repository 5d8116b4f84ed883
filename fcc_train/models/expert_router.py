"""RIDE's expert router (RIDE-EA; Wang et al., Long-tailed Recognition by Routing Diverse Distribution-Aware Experts,
ICLR 2021, §3.3 "expert assignment"): a small module, trained after the experts, that decides per sample whether
the next expert is worth running.

Router ``i`` (one per expert but the last) reads expert ``i``'s pooled feature, L2-normalised, through its own
``Linear(d, 16)`` + ReLU, and the top-``k`` values of the running mean logits of experts ``0..i``; one shared
``Linear(16 + k, 1)`` gives the logit of "expert ``i+1`` helps" (the authors' shared ``expert_help_pred_fc``).
At test time (:func:`routed_logits`) expert 0 always runs; a sample goes on to expert ``i+1`` while
``sigmoid(router_i) > 0.5``, and its prediction is the mean of the experts it used. Training:
:mod:`fcc_train.methods.experts.router`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["HIDDEN", "ExpertRouter", "routed_logits"]

HIDDEN = 16  # the authors' expert_hidden_fc_output_dim


class ExpertRouter(nn.Module):
    """The E − 1 routers of an E-expert model on ``feat_dim``-wide features, reading the top ``top_k`` logits."""

    def __init__(self, feat_dim: int, num_experts: int, top_k: int) -> None:
        super().__init__()
        self.top_k = top_k
        self.hidden = nn.ModuleList(nn.Linear(feat_dim, HIDDEN) for _ in range(num_experts - 1))
        self.out = nn.Linear(HIDDEN + top_k, 1)
        for m in self.modules():  # the authors' _weights_init on every Linear (the bias keeps nn.Linear's)
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
        # trained only by the router stage: the experts' optimiser never sees these parameters
        self.requires_grad_(False)

    def help_logit(self, i: int, feature: torch.Tensor, mean_logits: torch.Tensor) -> torch.Tensor:
        """Router ``i``'s logit (N,) that expert ``i+1`` helps, from expert ``i``'s feature and the mean logits of
        experts ``0..i``."""
        h = F.relu(self.hidden[i](F.normalize(feature, dim=1)))
        top = torch.topk(mean_logits, self.top_k, dim=1).values
        return self.out(torch.cat((top, h), dim=1)).squeeze(1)


def routed_logits(net: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The routed prediction (N, C) of a multi-expert ``net`` with a ``router``, and how many experts each sample
    used (N,). Each later expert runs only on the samples still routed on, so the compute saved is real."""
    m = net.shared_map(x)
    experts = list(net.experts)
    feat = experts[0].features(m)
    total = experts[0].head(feat).float()
    count = torch.ones(x.shape[0], device=total.device)
    active = torch.arange(x.shape[0], device=total.device)
    for i in range(1, len(experts)):
        go_on = torch.sigmoid(net.router.help_logit(i - 1, feat, total[active] / i)) > 0.5
        active = active[go_on]
        if active.numel() == 0:
            break
        feat = experts[i].features(m[active])
        total[active] += experts[i].head(feat).float()
        count[active] += 1
    return total / count[:, None], count

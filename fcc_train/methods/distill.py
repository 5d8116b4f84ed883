"""DiVe: distilling virtual examples from a balanced-softmax teacher (He et al., ICCV 2021).

Student loss:

    α·T²·KL(p_t ‖ softmax(z_s/T)) + (1−α)·BSCE(z_s, y),   p_t ∝ softmax(z_t/T)^power

with T = ``method.distill_temperature`` (2.0 in the CIFAR configs; DiVe's
default config file says 3.0), α = ``method.distill_alpha`` (0.5) and the
power 0.5 that flattens the teacher. The KL is averaged over the batch
(``reduction='batchmean'``, as the official code's
``kl_div(log_softmax(z_s/T), p_t)`` — often written KL(student ‖ teacher),
its value is Σ_j p_t,j·(log p_t,j − log p_s,j)).

The teacher is a BSCE model loaded from ``method.teacher`` (a run folder:
its ``checkpoints/last.pt``, the epoch-200 weights the official code uses;
or a ``.pt`` file). It runs in eval mode, without gradients and without FCC,
on the same augmented images as the student. With FCC, the official code
trains only the teacher with FCC (``dive_fcc`` configs: teacher
``dive_teacher_fcc``, student plain); ``fcc.enabled: true`` on the student
is allowed and scales the student's features as for any method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from fcc_theory.errors import UserError
from fcc_train.methods import losses as L
from fcc_train.methods.base import Batch, DataInfo, Method

if TYPE_CHECKING:
    from fcc_train.config import Config

__all__ = ["DiVeMethod", "dive_loss", "load_teacher"]


def dive_loss(
    z_s: torch.Tensor,
    z_t: torch.Tensor,
    labels: torch.Tensor,
    log_counts: torch.Tensor,
    temperature: float,
    alpha: float,
    power: float,
) -> torch.Tensor:
    """The DiVe student loss (scalar) for student logits ``z_s`` and teacher logits ``z_t``."""
    T = float(temperature)
    p_t = F.softmax(z_t.float() / T, dim=1).pow(power)
    p_t = p_t / p_t.sum(1, keepdim=True)
    kl = F.kl_div(F.log_softmax(z_s.float() / T, dim=1), p_t, reduction="batchmean")
    bsce = F.cross_entropy(L.bsce_logits(z_s, log_counts), labels)
    return alpha * T * T * kl + (1 - alpha) * bsce


def load_teacher(spec: str, num_classes: int, device: torch.device) -> torch.nn.Module:
    """The teacher rebuilt from its checkpoint's own config and weights (``checkpoints/last.pt`` of a run folder); eval mode, frozen."""
    from fcc_train.methods.two_stage import resolve_checkpoint
    from fcc_train.train.restore import restore_model

    teacher = restore_model(resolve_checkpoint(spec, what="method.teacher"), device=device, which="last").model
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


class DiVeMethod(Method):
    """The DiVe student (instance sampling, no mixing)."""

    name = "dive"

    def __init__(
        self, cfg: Config, info: DataInfo, device: torch.device | str = "cpu", teacher: torch.nn.Module | None = None
    ) -> None:
        super().__init__(cfg, info, device)
        if teacher is None:
            if not cfg.method.teacher:
                raise UserError(
                    "DiVe needs a teacher: set method.teacher to the BSCE teacher's run folder (e.g. runs/<split>/dive_teacher)"
                )
            teacher = load_teacher(cfg.method.teacher, info.num_classes, self.device)
        self.teacher = teacher
        self.log_counts = torch.log(self.counts)

    def loss(self, logits: torch.Tensor, batch: Batch, epoch: int) -> torch.Tensor:
        with torch.no_grad():
            z_t = self.teacher(batch.images)
        m = self.cfg.method
        return dive_loss(logits, z_t, batch.labels, self.log_counts, m.distill_temperature, m.distill_alpha, m.distill_power)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "teacher": self.cfg.method.teacher}

"""Re-sampling: per-class draw probabilities for an epoch (the loader draws a class, then an instance in it).

* ``instance``: None — plain shuffling, class j appears with frequency n_j/N.
* ``cb`` (class-balanced; Kang et al., ICLR 2020): p_j = 1/C.
* ``sr`` (square-root; Mahajan et al., ECCV 2018): p_j ∝ sqrt(n_j).
* ``pb`` (progressively balanced; Kang et al., ICLR 2020):
  p_j(t) = (t/T)·(1/C) + (1 − t/T)·n_j/N, t the (1-based) epoch, T the run's epochs.

DRS (deferred re-sampling; Cao et al., NeurIPS 2019) uses instance sampling
while ``epoch <= drs_start_epoch`` and the sampler afterwards (BoT: the
sampler is active from epoch 161 with start 160). The backbone is not
frozen. For PB+DRS the schedule still runs on t/T with T = the run's 200
epochs, as the official code does, so at epoch 161 the PB sampler is already
80 % of the way to class-balanced (documented, not "fixed").
"""

from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["SAMPLERS", "class_probabilities", "sampler_active"]

SAMPLERS = ("instance", "cb", "sr", "pb")


def class_probabilities(
    kind: str, counts: Sequence[float] | torch.Tensor, epoch: int = 0, total_epochs: int = 1
) -> torch.Tensor | None:
    """Per-class draw probabilities (C,) summing to 1, or None for instance sampling."""
    n = torch.as_tensor(counts, dtype=torch.float64)
    C = len(n)
    if kind == "instance":
        return None
    if kind == "cb":
        p = torch.full((C,), 1.0 / C, dtype=torch.float64)
    elif kind == "sr":
        p = n.sqrt() / n.sqrt().sum()
    elif kind == "pb":
        t = min(max(epoch / max(total_epochs, 1), 0.0), 1.0)
        p = t / C + (1 - t) * n / n.sum()
    else:
        raise ValueError(f"unknown method.sampler '{kind}'; use one of {', '.join(SAMPLERS)}")
    return p.float()


def sampler_active(epoch: int, drs_start_epoch: int | None) -> bool:
    """DRS switch: the weighted sampler draws in epoch ``epoch`` (1-based) iff there is no DRS or epoch > start."""
    return drs_start_epoch is None or epoch > drs_start_epoch

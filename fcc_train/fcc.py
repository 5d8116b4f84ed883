"""FCC — feature-clusters compression (paper Eq. 1) — as the trainer applies it.

During training only, the pooled backbone feature of a sample of class y is
multiplied by a constant τ_y > 1 before the classifier (Eq. 1), so the
training logit is ``z = τ_y·(W f) + b`` (the bias is not scaled; recipes.md
§1). τ comes from :func:`fcc_theory.tau.tau_values` (Eqs. 2-4, exact
rationals) and is turned into a float tensor once; per sample it is a gather
``tau_by_class[labels]`` (no Python loop, no host copy per step).

Differences from the official code (lijian16/FCC; recipes.md §1 and §6), each
one config switch away from the official behaviour:

* **Class order.** The paper ranks classes by training frequency; the
  official code indexes τ by the *label id*. On CIFAR-LT the two agree (label
  0 is the largest class); on ImageNet-LT / iNat18 they do not. Default here:
  ``fcc.order: frequency`` (rank by training count, majority first, ties by
  label id); official: ``fcc.order: label``.
* **Rounding.** The official code rounds τ to two decimals; default here is
  the exact Eq. value; official: ``fcc.round_decimals: 2``. (For γ = 0.5,
  C = 10 and γ = 1, C = 100 the values are already two-decimal numbers, so
  this changes nothing on CIFAR.)
* **Strategies.** Only equal-difference (``edc``, Eq. 3) exists in the
  official code; uniform (Eq. 2) and half (Eq. 4, β = 0/1) are implemented
  here from the paper's equations.
* **Start epoch.** As the official code: FCC acts when ``epoch > start_epoch``
  (epochs count from 1; 50 on CIFAR). The paper does not mention it; set
  ``fcc.start_epoch: 0`` to scale from the first epoch.
* **Mixed samples.** Official Remix+FCC uses τ of the first label only
  (``fcc.mix_tau: first``); ``mixed`` uses λτ_a + (1−λ)τ_b (the method's
  ``fcc_tau`` hook).

>>> from fcc_train.config import FCCConfig
>>> tau_by_class(FCCConfig(enabled=True, strategy="edc", gamma=0.5), [5, 50, 20, 5]).tolist()
[1.25, 1.5, 1.375, 1.125]
>>> tau_by_class(FCCConfig(enabled=True, strategy="edc", gamma=0.5, order="label"), [5, 50, 20, 5]).tolist()
[1.5, 1.375, 1.25, 1.125]
>>> fcc_active(FCCConfig(enabled=True, start_epoch=50), 50), fcc_active(FCCConfig(enabled=True, start_epoch=50), 51)
(False, True)
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

import torch

from fcc_theory.errors import UserError
from fcc_theory.tau import tau_values

if TYPE_CHECKING:
    from fcc_train.config import FCCConfig

__all__ = ["ORDERS", "class_ranks", "tau_by_class", "fcc_active"]

ORDERS = ("frequency", "label")


def class_ranks(class_counts: Sequence[int], order: str = "frequency") -> list[int]:
    """Rank of each label id (0 = first in the order).

    ``frequency``: by training count, largest first, ties broken by the smaller
    label id (a stable, documented choice). ``label``: rank = label id (official).
    """
    C = len(class_counts)
    if order == "label":
        return list(range(C))
    if order != "frequency":
        raise UserError(f"unknown fcc.order '{order}'; use one of {', '.join(ORDERS)}")
    by_rank = sorted(range(C), key=lambda j: (-int(class_counts[j]), j))
    ranks = [0] * C
    for r, j in enumerate(by_rank):
        ranks[j] = r
    return ranks


def tau_fractions(cfg: FCCConfig, class_counts: Sequence[int]) -> list[Fraction]:
    """Exact τ per label id (Eqs. 2-4 on the chosen order)."""
    # str(gamma) so that 0.1 is 1/10, not the binary float's 3602879701896397/36028797018963968
    exact = tau_values(
        cfg.strategy, Fraction(str(cfg.gamma)), len(class_counts), beta=cfg.beta, round_decimals=cfg.round_decimals
    )
    return [exact[r] for r in class_ranks(class_counts, cfg.order)]


def label_order_warning(cfg: FCCConfig, class_counts: Sequence[int]) -> str | None:
    """A start-up warning when ``fcc.order: label`` gives τ by an id order that is not the frequency order.

    On CIFAR-LT label 0 is the largest class, so the official label-id order is harmless; on
    ImageNet-LT and iNat18 ids are not sorted by frequency (recipes.md §6.1) and the official rule
    hands the largest τ to arbitrary classes.
    """
    if not cfg.enabled or cfg.order != "label":
        return None
    if class_ranks(class_counts, "label") == class_ranks(class_counts, "frequency"):
        return None
    return (
        "fcc.order is 'label' (the official code's rule) but label ids are not sorted by training frequency here, "
        "so tau follows an arbitrary class order; set fcc.order: frequency for the paper's majority-first tau"
    )


def tau_by_class(cfg: FCCConfig, class_counts: Sequence[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """τ per label id as a float32 tensor (C,) on ``device`` (built once per run)."""
    return torch.tensor([float(t) for t in tau_fractions(cfg, class_counts)], dtype=torch.float32, device=device)


def fcc_active(cfg: FCCConfig, epoch: int) -> bool:
    """FCC scales features in training epoch ``epoch`` (1-based) iff enabled and ``epoch > start_epoch`` (official rule)."""
    return bool(cfg.enabled) and epoch > cfg.start_epoch

"""FCC — feature-clusters compression (paper Eq. 1) — as the trainer applies it.

During training only, the pooled backbone feature of a sample of class y is
multiplied by a constant τ_y > 1 before the classifier (Eq. 1), so the
training logit is ``z = τ_y·(W f) + b`` (the bias is not scaled, as in the
official code). τ comes from :func:`fcc_theory.tau.tau_values` (Eqs. 2-4, exact
rationals) and is turned into a float tensor once; per sample it is a gather
``tau_by_class[labels]`` (no Python loop, no host copy per step).

Differences from the official code (lijian16/FCC; docs/recipes.md, "Differences"),
each one config switch away from the official behaviour:

* **Class order.** The paper ranks classes by training frequency; the
  official code indexes τ by the *label id*. On CIFAR-LT the two agree (label
  0 is the largest class); on ImageNet-LT / iNat18 they do not. Default here:
  ``fcc.order: frequency`` (rank by training count, majority first, ties by
  label id); official: ``fcc.order: label``.
* **Rounding.** The official code computes ``round(1 + γ − k·γ/C, 2)`` on
  Python floats, so it rounds the *binary* value: label 37 at C = 100,
  γ = 0.5 is 1.315 in decimal but 1.31499999… in binary, hence 1.31 (the
  exact fraction rounded half-to-even would give 1.32). ``fcc.round_decimals:
  2`` does exactly that (:func:`official_round`); every shipped FCC config sets
  it. ``fcc.round_decimals: null`` (the dataclass default) keeps the exact
  Eq. value, the corrected behaviour. At γ = 0.5, C = 10 and γ = 1, C = 100
  the values are two-decimal numbers either way; at γ = 0.1 or 0.5 on
  CIFAR-100 and on ImageNet-LT / iNat18 rounding moves τ by up to 0.005.
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
>>> tau_by_class(FCCConfig(enabled=True, gamma=0.5, order="label", round_decimals=2), [9] * 100)[37].item()
1.309999942779541
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

__all__ = ["ORDERS", "class_ranks", "fcc_active", "official_round", "tau_by_class", "tau_fractions"]

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


def official_round(strategy: str, gamma: float, rank: int, num_classes: int, exact: Fraction, decimals: int) -> Fraction:
    """τ rounded as the official code does: Python's ``round`` of the binary float, as a decimal fraction.

    For ``edc`` the float is the official expression ``1 + γ − k·γ/C`` evaluated left to right in
    binary floats; the other strategies have no official code, so their exact value is converted to
    the nearest float first.

    >>> official_round("edc", 0.5, 37, 100, Fraction(263, 200), 2)
    Fraction(131, 100)
    """
    x = 1 + gamma - rank * gamma / num_classes if strategy == "edc" else float(exact)
    return Fraction(repr(round(x, decimals)))


def tau_fractions(cfg: FCCConfig, class_counts: Sequence[int]) -> list[Fraction]:
    """τ per label id (Eqs. 2-4 on the chosen order): exact, or rounded as the official code when ``round_decimals`` is set."""
    C = len(class_counts)
    # str(gamma) so that 0.1 is 1/10, not the binary float's 3602879701896397/36028797018963968
    exact = tau_values(cfg.strategy, Fraction(str(cfg.gamma)), C, beta=cfg.beta)
    if cfg.round_decimals is not None:
        exact = [official_round(cfg.strategy, float(cfg.gamma), r, C, t, cfg.round_decimals) for r, t in enumerate(exact)]
    return [exact[r] for r in class_ranks(class_counts, cfg.order)]


def label_order_warning(cfg: FCCConfig, class_counts: Sequence[int]) -> str | None:
    """A start-up warning when ``fcc.order: label`` gives τ by an id order that is not the frequency order.

    On CIFAR-LT label 0 is the largest class, so the official label-id order is harmless; on
    ImageNet-LT and iNat18 ids are not sorted by frequency (docs/recipes.md, "FCC in the official code") and the official rule
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

"""What FCC changes in a run: where the per-sample factor τ_y acts, and whether the head lets it change training.

FCC (paper, Eq. 2) multiplies a training sample's feature by τ_y. Where it acts is ``fcc.placement``:

* ``features`` (default, the paper's "features" fed to the classifier): the pooled feature f becomes τ_y·f.
  A linear head gives τ_y·(W f) + b, so the logits, the loss and the gradients change. A cosine (normalised)
  head gives s·⟨w_j, τ_y f⟩/(‖w_j‖‖τ_y f‖), which equals its value at f for τ_y > 0: the verifier's claim
  ``cosine_scale_invariance`` (:mod:`fcc_theory.cosine`), decided here when asked, never assumed.
* ``shared``: the feature before the expert-specific layers of a multi-expert model is scaled; those layers
  are not scale-invariant, so training changes whatever the heads are.
* ``logits``: the un-normalised logits are multiplied by τ_y (a per-sample softmax temperature): the loss
  changes even behind a cosine head.

>>> describe(fcc_enabled=True, head="linear", placement="features").changes_training
True
>>> describe(fcc_enabled=False, head="cosine").line()
'FCC is off in this run'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

__all__ = ["CLAIM", "PLACEMENTS", "FccEffect", "describe", "fcc_effect", "verifier_verdict"]

PLACEMENTS = ("features", "shared", "logits")
#: the verifier claim that decides the cosine-head case
CLAIM = "cosine_scale_invariance"


@dataclass(frozen=True)
class FccEffect:
    """Where FCC acts in one config and whether it changes training (None: FCC off, or the verifier undecided)."""

    placement: str
    head: str
    changes_training: bool | None
    where: str
    claim: str | None = None
    verdict: str | None = None  #: the verifier's verdict on ``claim``, computed when this was described

    def line(self) -> str:
        return self.where

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@cache
def verifier_verdict(claim_id: str = CLAIM) -> str:
    """The verdict ``fcc verify`` gives ``claim_id``, decided now (once per process); fcc_theory is imported lazily."""
    from fcc_theory.claims import CLAIMS, run_claim

    return run_claim(CLAIMS[claim_id]).decision.verdict


def describe(
    *, fcc_enabled: bool, head: str, placement: str = "features", bias: bool = True, multi_expert: bool = False
) -> FccEffect:
    """FCC's effect for a head kind (``linear`` / ``cosine``, a linear head with or without ``bias``) and an
    ``fcc.placement``; ``multi_expert`` (``model.experts`` set) says which remedy a cancelling run is offered, since
    a single model takes only ``features``."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown fcc.placement {placement!r}; use one of {', '.join(PLACEMENTS)}")
    if not fcc_enabled:
        return FccEffect(placement, head, None, "FCC is off in this run")
    if placement == "shared":
        return FccEffect(
            placement, head, True, "FCC scales the shared feature before the expert-specific layers: the experts' inputs change"
        )
    if placement == "logits":
        return FccEffect(placement, head, True, "FCC multiplies the un-normalised logits by τ_y (a per-sample temperature)")
    if head != "cosine":
        logit = "τ_y·(W f) + b" if bias else "τ_y·(W f), no bias"
        return FccEffect(placement, head, True, f"FCC scales the feature fed to the linear head: {logit}, the loss changes")
    verdict = verifier_verdict(CLAIM)
    if verdict == "proved":
        return FccEffect(
            placement,
            head,
            False,
            f"FCC cancels here: the cosine head normalises the scaled feature, so logits, loss and gradients equal the "
            f"raw run's (verifier claim {CLAIM}: {verdict}); {_remedy(multi_expert)}",
            CLAIM,
            verdict,
        )
    return FccEffect(
        placement,
        head,
        None,
        f"FCC scales the feature fed to a cosine head; the verifier did not prove that it cancels ({CLAIM}: {verdict})",
        CLAIM,
        verdict,
    )


def _remedy(multi_expert: bool) -> str:
    # the switches that make FCC act which the run accepts: a single model refuses the other placements
    return (
        "fcc.placement shared or logits makes it act"
        if multi_expert
        else "model.head linear makes it act (the ldam_linear configs)"
    )


def fcc_effect(cfg: Any) -> FccEffect:
    """:func:`describe` for a resolved :class:`fcc_train.config.Config`."""
    return describe(
        fcc_enabled=bool(cfg.fcc.enabled),
        head=str(cfg.model.head),
        placement=str(getattr(cfg.fcc, "placement", "features")),
        bias=bool(getattr(cfg.model, "bias", True)),
        multi_expert=str(getattr(cfg.model, "experts", "none")) != "none",
    )

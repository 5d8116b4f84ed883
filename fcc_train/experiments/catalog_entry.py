"""One catalogue entry (:data:`fcc_train.experiments.catalog.METHODS`): a method's config stem, source and keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MethodEntry"]


@dataclass(frozen=True)
class MethodEntry:
    key: str  # config stem
    title: str
    family: str  # baseline | re-weighting | re-sampling | mixup | two-stage | multi-expert
    source: str  # paper, venue year (as Table 1 cites it)
    keys: dict[str, Any]  # config overrides (dotted) shared by all CIFAR splits
    per_split: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> extra overrides
    digits: dict[str, Any] = field(default_factory=dict)  # overrides for the digits-LT short recipe
    table_row: str | None = None  # name in paper-tables.csv (Table 1), None if not a Table 1 row
    depends_on: str | None = None  # stage-1 / teacher config stem (the +FCC config depends on <stem>_fcc)
    fcc_start_epoch: int | None = None  # None: the split's default (50 on CIFAR); 0 for stage-2 runs
    fcc_on_student: bool = True  # DiVe: the official code trains only the teacher with FCC
    notes: str = ""
    writes_config: bool = True  # False: the config is written elsewhere (ce.yaml / ce_fcc.yaml: the run loop's baseline)

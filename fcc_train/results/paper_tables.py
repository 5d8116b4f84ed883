"""The paper's Tables 1 and 2 (top-1 error in %, raw and +FCC), from the packaged ``paper-tables.csv``.

>>> row = paper_row("Baseline", "cifar10_lt100")
>>> row.table, row.raw, row.fcc
(1, 27.59, 24.08)
>>> paper_row("Baseline", "no_such_benchmark") is None
True
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

__all__ = ["PAPER_ALIASES", "PAPER_BENCHMARKS", "PaperRow", "paper_row", "paper_rows"]

PAPER_BENCHMARKS = ("cifar10_lt50", "cifar10_lt100", "cifar100_lt50", "cifar100_lt100", "imagenet_lt", "inat2018")
# our method label -> the paper's row names to try, in order (Table 1 names, then Table 2's)
PAPER_ALIASES = {
    "Baseline": ("Baseline (Vanilla ResNet32)", "ResNet10/32"),
    "LDAM-DRW": ("LDAM-DRW", "LDAM"),
    "DiVe": ("DiVe", "DiVE"),
}


@dataclass(frozen=True)
class PaperRow:
    """One (method, benchmark) cell pair of the paper's Table 1 or 2: top-1 error (%), raw and +FCC."""

    table: int
    method: str
    benchmark: str
    raw: float | None
    fcc: float | None
    note: str

    @property
    def delta(self) -> float | None:
        return None if self.raw is None or self.fcc is None else round(self.fcc - self.raw, 2)


@lru_cache(maxsize=1)
def paper_rows() -> tuple[PaperRow, ...]:
    """Every row of the packaged ``fcc_train/resources/paper-tables.csv``."""
    text = (resources.files("fcc_train") / "resources" / "paper-tables.csv").read_text(encoding="utf-8")
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        num = lambda v: float(v) if v.strip() else None
        out.append(
            PaperRow(
                int(r["table"]),
                r["method"],
                r["benchmark"],
                num(r["raw_top1_error"]),
                num(r["fcc_top1_error"]),
                r["fcc_gamma_note"],
            )
        )
    return tuple(out)


def paper_row(label: str, benchmark: str) -> PaperRow | None:
    """The paper's row for our method label on a benchmark (aliases in :data:`PAPER_ALIASES`), or None."""
    names = PAPER_ALIASES.get(label, (label,)) + (("ResNet10/32",) if label == "Baseline (Vanilla ResNet32)" else ())
    for name in names:
        for r in paper_rows():
            if r.method == name and r.benchmark == benchmark:
                return r
    return None

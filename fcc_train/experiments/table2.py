"""The rows of the paper's Table 2 (ImageNet-LT, iNaturalist 2018): paper row name → config stem → backbone.

``fcc sweep --table 2`` plans the rows the paper reports on the benchmark (a variant, raw or +FCC, only where
the paper's ``paper-tables.csv`` has its number), and ``fcc methods --table 2`` lists them with the backbone
the paper names and the one the shipped config trains. Stage chains come from the configs themselves
(``stage.depends_on``: cRT after the CE run, DiVE's student after its teacher), as on CIFAR.

>>> [r.key for r in planned_rows("inat18")]
['ce', 'cbce', 'ldam_drw', 'crt', 'tau_norm', 'ncl']
>>> planned_rows("imagenet_lt")[0].variants
('raw', 'fcc')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PAPER_BENCHMARK", "TABLE2_ROWS", "PlannedRow", "Table2Row", "config_arch", "planned_rows", "table2_records"]

#: our benchmark name → the paper table's benchmark column (paper-tables.csv)
PAPER_BENCHMARK = {"imagenet_lt": "imagenet_lt", "inat18": "inat2018"}


@dataclass(frozen=True)
class Table2Row:
    """One row of Table 2 on one benchmark: the paper's row name, our config stem, the backbone the paper names."""

    paper_row: str
    key: str
    backbone: str


def _rows(default: str) -> tuple[Table2Row, ...]:
    # the paper's order; rows without a backbone in their name use the benchmark's backbone (docs/large-scale.md)
    R = Table2Row
    return (
        R("ResNet10/32", "ce", default),
        R("Focal loss", "focal", default),
        R("CBCE", "cbce", default),
        R("LDAM-DRW", "ldam_drw", default),
        R("BBN (ResNet-50)", "bbn", "ResNet-50"),
        R("cRT", "crt", default),
        R("tau-norm", "tau_norm", default),
        R("DiVE", "dive", default),
        R("RIDE", "ride", default),
        R("SADE (ResNeXt-50)", "sade", "ResNeXt-50"),
        R("NCL (ResNet-50)", "ncl", "ResNet-50"),
    )


TABLE2_ROWS: dict[str, tuple[Table2Row, ...]] = {"imagenet_lt": _rows("ResNet-10"), "inat18": _rows("ResNet-50")}


@dataclass(frozen=True)
class PlannedRow:
    """A Table 2 row the sweep runs: the variants the paper has a number for, and those numbers (top-1 error, %)."""

    row: Table2Row
    variants: tuple[str, ...]
    raw: float | None
    fcc: float | None

    @property
    def key(self) -> str:
        return self.row.key


def planned_rows(benchmark: str) -> list[PlannedRow]:
    """The rows of Table 2 that the paper reports on ``benchmark``, each with the variants it has numbers for."""
    from fcc_train.results.paper_tables import paper_rows

    cells = {r.method: r for r in paper_rows() if r.table == 2 and r.benchmark == PAPER_BENCHMARK[benchmark]}
    out = []
    for row in TABLE2_ROWS[benchmark]:
        cell = cells.get(row.paper_row)
        if cell is None:
            continue
        variants = tuple(v for v, num in (("raw", cell.raw), ("fcc", cell.fcc)) if num is not None)
        if variants:
            out.append(PlannedRow(row, variants, cell.raw, cell.fcc))
    return out


def config_arch(configs: str | Path, benchmark: str, key: str) -> str | None:
    """``model.arch`` of ``<configs>/<benchmark>/<key>.yaml`` (the backbone the run trains); None if it does not exist."""
    import yaml

    path = Path(configs) / benchmark / f"{key}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return str((data.get("model") or {}).get("arch", "resnet32"))


def table2_records(configs: str | Path = "configs") -> list[dict[str, Any]]:
    """Every Table 2 row on both benchmarks (the data behind ``fcc methods --table 2``)."""
    out = []
    for bench, rows in TABLE2_ROWS.items():
        planned = {p.key: p for p in planned_rows(bench)}
        for r in rows:
            p = planned.get(r.key)
            out.append(
                {
                    "benchmark": bench,
                    "paper_row": r.paper_row,
                    "key": r.key,
                    "paper_backbone": r.backbone,
                    "config_arch": config_arch(configs, bench, r.key),
                    "variants": list(p.variants) if p else [],
                    "paper_top1_error": {"raw": p.raw, "fcc": p.fcc} if p else None,
                    "configs": [f"{configs}/{bench}/{r.key}{s}.yaml" for s in ("", "_fcc")],
                }
            )
    return out

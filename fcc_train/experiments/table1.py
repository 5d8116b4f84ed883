"""The cells of the paper's Table 1 (CIFAR-LT): which catalogue rows ``fcc sweep --table 1`` plans on a split.

A catalogue entry is a Table 1 row when its ``table_row`` names a row of ``paper-tables.csv``; on a CIFAR-LT
split the sweep plans it, and each of its variants (raw, +FCC), only where the paper has that number. Most rows
have all four splits, LTR-WB (+WD&Max) and SADE only CIFAR-100-LT-100. Digits-LT is not in the paper: there
every Table 1 row runs, with the variants it has on any split. ``--methods`` plans whatever it names.

>>> p = table1_plan("cifar10_lt100")
>>> "ncl" in p.variants, "sade" in p.variants, p.left_out
(True, False, ('ltr_wb', 'sade'))
>>> table1_plan("cifar100_lt100").variants["sade"], table1_plan("cifar100_lt100").left_out
(('raw', 'fcc'), ())
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPER_SPLITS", "Table1Plan", "left_out_line", "table1_plan"]

#: the splits the paper's Table 1 reports (paper-tables.csv's benchmark column)
PAPER_SPLITS = ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")


@dataclass(frozen=True)
class Table1Plan:
    """On one split: config stem → the variants the paper has a number for (catalogue order), the Table 1 rows
    left out there (no number on this split), and the catalogue entries that are no Table 1 row at all."""

    benchmark: str
    variants: dict[str, tuple[str, ...]]
    left_out: tuple[str, ...]
    not_rows: tuple[str, ...]


def _cell_variants(raw: float | None, fcc: float | None) -> tuple[str, ...]:
    return tuple(v for v, num in (("raw", raw), ("fcc", fcc)) if num is not None)


def table1_plan(benchmark: str) -> Table1Plan:
    """Which catalogue rows (and variants) the paper's Table 1 fills on ``benchmark`` (a CIFAR-LT split or digits)."""
    from fcc_train.experiments.catalog import METHODS
    from fcc_train.results.paper_tables import paper_rows

    cells: dict[str, dict[str, tuple[str, ...]]] = {}
    for r in paper_rows():
        if r.table == 1:
            cells.setdefault(r.method, {})[r.benchmark] = _cell_variants(r.raw, r.fcc)
    variants: dict[str, tuple[str, ...]] = {}
    left_out, not_rows = [], []
    stage_ones = {m.depends_on for m in METHODS if m.depends_on}
    for m in METHODS:
        by_split = cells.get(m.table_row or "", {})
        if not by_split:
            # a stage 1 joins the plan with the row that needs it; it is no row of its own
            if m.key not in stage_ones:
                not_rows.append(m.key)
            continue
        if benchmark in PAPER_SPLITS:
            have = by_split.get(benchmark, ())
        else:  # digits-LT: the row's variants on any split
            have = tuple(v for v in ("raw", "fcc") if any(v in vs for vs in by_split.values()))
        if have:
            variants[m.key] = have
        else:
            left_out.append(m.key)
    return Table1Plan(benchmark, variants, tuple(left_out), tuple(not_rows))


def left_out_line(plan: Table1Plan) -> str:
    """The dry run's one line on the catalogue entries the plan leaves out and why."""
    parts = []
    if plan.left_out:
        parts.append(f"{', '.join(plan.left_out)} (the paper's Table 1 has no cell for them on {plan.benchmark})")
    if plan.not_rows:
        parts.append(f"{', '.join(plan.not_rows)} (not Table 1 rows)")
    return "not planned: " + ("; ".join(parts) or "none") + "; --methods plans any catalogue entry"

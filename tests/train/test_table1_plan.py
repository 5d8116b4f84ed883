"""``fcc sweep --table 1`` plans a method on a split only where the paper's Table 1 has its number."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest

from fcc.cli import main
from fcc_train.experiments.plan import SweepOptions, plan_jobs

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "fcc_train" / "resources" / "paper-tables.csv"
SPLITS = ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50")
# the paper's Table 1 row names and the config stems that reproduce them (written out here, not read from the catalogue)
ROW_KEY = {
    "Baseline (Vanilla ResNet32)": "ce",
    "Focal loss": "focal",
    "CB Focal loss": "cb_focal",
    "CBCE": "cbce",
    "BSCE": "bsce",
    "CELS": "ce_ls",
    "CELAS": "celas",
    "LDAM": "ldam",
    "CDT": "cdt",
    "CB sampling": "cb_sampling",
    "SR sampling": "sr_sampling",
    "PB sampling": "pb_sampling",
    "Input Mixup": "input_mixup",
    "Manifold Mixup": "manifold_mixup",
    "Remix": "remix",
    "CB sampling+DRS": "cb_drs",
    "SR sampling+DRS": "sr_drs",
    "PB sampling+DRS": "pb_drs",
    "BSCE+DRW": "bsce_drw",
    "CELAS+DRW": "celas_drw",
    "CDT+DRW": "cdt_drw",
    "cRT": "crt",
    "DiVe": "dive",
    "LTR-WB +WD&Max": "ltr_wb",
    "SADE": "sade",
    "NCL": "ncl",
}
CHAIN_ONLY = {"dive_teacher", "ltr_wb_stage1"}  # stage-1 runs the chains add; no Table 1 rows themselves


def _csv_cells() -> dict[str, dict[str, set[str]]]:
    """split -> key -> the variants whose Table 1 cell the paper fills, read straight from the CSV."""
    out: dict[str, dict[str, set[str]]] = {s: {} for s in SPLITS}
    with CSV.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["table"] != "1":
                continue
            vs = {v for v, col in (("raw", "raw_top1_error"), ("fcc", "fcc_top1_error")) if r[col].strip()}
            if vs:
                out[r["benchmark"]][ROW_KEY[r["method"]]] = vs
    return out


def _planned(benchmark: str, tmp_path: Path, methods: str | None = None) -> dict[str, set[str]]:
    opts = SweepOptions(benchmark=benchmark, configs=str(REPO / "configs"), out=str(tmp_path), methods=methods)
    got: dict[str, set[str]] = {}
    for j in plan_jobs(opts):
        got.setdefault(j.key, set()).add("fcc" if j.fcc else "raw")
    return got


@pytest.mark.parametrize("split", SPLITS)
def test_table1_plans_the_paper_cells(split: str, tmp_path: Path) -> None:
    want = _csv_cells()[split]
    got = _planned(split, tmp_path)
    assert {k: v for k, v in got.items() if k not in CHAIN_ONLY} == want
    assert ("ltr_wb_stage1" in got) == ("ltr_wb" in want)  # a stage 1 only with the row that needs it


def test_the_csv_has_partial_rows() -> None:
    """The case the plan must handle: rows the paper fills on some splits only (LTR-WB and SADE)."""
    cells = _csv_cells()
    partial = {k for s in SPLITS for k in ROW_KEY.values() if k in cells[s] and any(k not in cells[t] for t in SPLITS)}
    assert partial == {"ltr_wb", "sade"}
    assert all("ncl" in cells[s] for s in SPLITS)


def test_methods_still_plans_anything(tmp_path: Path) -> None:
    got = _planned("cifar10_lt100", tmp_path, methods="sade,ltr_wb,ride")
    assert got == {k: {"raw", "fcc"} for k in ("sade", "ltr_wb", "ltr_wb_stage1", "ride")}


def test_digits_plans_every_table1_row(tmp_path: Path) -> None:
    got = _planned("digits", tmp_path)
    assert {k for k in got if k not in CHAIN_ONLY} == set(ROW_KEY.values())


def _edited_rows(monkeypatch: pytest.MonkeyPatch, edit) -> None:
    from fcc_train.results import paper_tables

    rows = tuple(edit(r) for r in paper_tables.paper_rows())
    monkeypatch.setattr(paper_tables, "paper_rows", lambda: tuple(r for r in rows if r is not None))


def test_mutant_removed_cell_changes_the_plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Mutants of the paper table: NCL's CIFAR-10-LT-50 row removed, SADE given a raw number on CIFAR-10-LT-100."""
    before50, before100 = _planned("cifar10_lt50", tmp_path), _planned("cifar10_lt100", tmp_path)
    assert "ncl" in before50 and "sade" not in before100

    def edit(r):
        if r.table == 1 and r.method == "NCL" and r.benchmark == "cifar10_lt50":
            return None
        if r.table == 1 and r.method == "SADE" and r.benchmark == "cifar10_lt100":
            return replace(r, raw=50.0)
        return r

    _edited_rows(monkeypatch, edit)
    after50, after100 = _planned("cifar10_lt50", tmp_path), _planned("cifar10_lt100", tmp_path)
    assert after50 == {k: v for k, v in before50.items() if k != "ncl"}
    assert after100 == {**before100, "sade": {"raw"}}  # the variant the paper has, not both
    assert _planned("cifar100_lt50", tmp_path)["ncl"] == {"raw", "fcc"}  # other splits untouched


def test_dry_run_names_what_it_left_out(capsys, tmp_path: Path) -> None:
    argv = ["sweep", "--table", "1", "--benchmark", "cifar10_lt100", "--dry-run", "--out", str(tmp_path)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    (note,) = [ln for ln in lines if ln.startswith("not planned:")]
    missing = sorted(k for k in ROW_KEY.values() if k not in _csv_cells()["cifar10_lt100"])
    named = note.split(": ", 1)[1].split(" (the paper's")[0].split(", ")
    assert sorted(named) == missing == ["ltr_wb", "sade"]
    assert "ride" in note and "bbn" in note and "--methods" in note
    runs = [ln.split()[0] for ln in lines if "/seed42" in ln.split()[0]]
    assert not [r for r in runs if r.split("/")[0].removesuffix("_fcc") in missing + ["ltr_wb_stage1"]]
    assert lines[-1].startswith(f"{len(runs)} runs")
    assert main([*argv, "--methods", "sade"]) == 0
    out = capsys.readouterr().out
    assert "not planned" not in out and "sade_fcc/seed42" in out


def test_docstring_examples() -> None:
    import doctest

    from fcc_train.experiments import table1

    assert doctest.testmod(table1).failed == 0

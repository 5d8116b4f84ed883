"""fcc table: grouping by stored config, mean ± std over seeds, the paper's numbers read correctly."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from pathlib import Path

import pytest

from fcc.cli import main
from fcc_train.config import config_to_dict, load_config
from fcc_train.results.method_identity import fcc_variant, method_identity, method_label
from fcc_train.results.paper_tables import paper_row, paper_rows
from fcc_train.results.run_results import find_runs
from fcc_train.results.tables import build_rows, render

REF = Path(__file__).resolve().parents[3] / "shared" / "reference" / "paper-tables.csv"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _run(
    root: Path,
    name: str,
    overrides: list[str],
    best: float,
    last: float | None = None,
    shots=(90.0, 60.0, 30.0),
    done: bool = True,
    config: Path | None = None,
) -> Path:
    cfg = config_to_dict(load_config(config, [f"name={name}"] + overrides))
    d = root / name
    d.mkdir(parents=True)
    many, medium, few = shots
    summary = {
        "best_top1_error": best,
        "best_epoch": 10,
        "last_top1_error": best + 1 if last is None else last,
        "last_epoch": 12,
        "many": {"best": many, "last": many - 1},
        "medium": {"best": medium, "last": medium - 1},
        "few": {"best": few, "last": few - 1},
        "class_counts": [100, 10],
        "config": cfg,
        "seconds": 1.0,
        "done": done,
    }
    (d / "summary.json").write_text(json.dumps(summary))
    return d


DIGITS = ["data.dataset=digits", "data.imbalance_factor=10"]
FCC = ["fcc.enabled=true", "fcc.strategy=edc", "fcc.gamma=0.5"]


def test_paper_numbers_are_read_from_the_packaged_csv() -> None:
    rows = paper_rows()
    assert len(rows) == 126
    # compare every cell with the reference copy, parsed here independently
    ref = list(csv.reader(io.StringIO(REF.read_text())))[1:] if REF.is_file() else None
    if ref is not None:
        for r, line in zip(rows, ref, strict=True):
            assert (str(r.table), r.method, r.benchmark) == tuple(line[:3])
            assert r.raw == (float(line[3]) if line[3] else None) and r.fcc == (float(line[4]) if line[4] else None)
    assert paper_row("Baseline", "cifar10_lt100").raw == 27.59
    assert paper_row("Baseline", "imagenet_lt").method == "ResNet10/32"
    assert paper_row("BSCE", "cifar100_lt50").note == "gamma=0.1"
    assert paper_row("Baseline", "digits_lt10") is None
    assert paper_row("LTR-WB +WD&Max", "cifar10_lt50").raw is None


def test_grouping_mean_std_and_delta(tmp_path: Path) -> None:
    raw = [20.0, 22.0, 27.0]
    fcc = [18.0, 21.0, 23.0]
    for s, (a, b) in enumerate(zip(raw, fcc, strict=True)):
        _run(tmp_path, f"ce_s{s}", DIGITS + [f"train.seed={s}"], a)
        _run(tmp_path, f"fcc_s{s}", DIGITS + FCC + [f"train.seed={s}"], b)
    _run(tmp_path, "focal_s0", DIGITS + ["method.loss=focal", "train.seed=0"], 30.0)
    rows = build_rows(find_runs([tmp_path]), paper_benchmark="cifar10_lt100")
    base = [r for r in rows if r.method == "Baseline"]
    assert len(base) == 1
    r = base[0]
    assert r.raw.n == 3 and r.fcc_stats.n == 3
    assert r.raw.mean == pytest.approx(statistics.mean(raw)) and r.raw.std == pytest.approx(statistics.stdev(raw))
    assert r.fcc_stats.std == pytest.approx(statistics.stdev(fcc))
    diffs = [b - a for a, b in zip(raw, fcc, strict=True)]
    assert r.delta_kind == "paired" and r.delta.mean == pytest.approx(statistics.mean(diffs))
    assert r.delta.std == pytest.approx(statistics.stdev(diffs))
    assert r.paper is not None and (r.paper.raw, r.paper.fcc) == (27.59, 24.08)
    assert r.raw_shots["many"].mean == pytest.approx(90.0)
    focal = next(x for x in rows if x.method == "Focal loss")
    assert focal.raw.n == 1 and focal.raw.std is None and focal.fcc_stats.n == 0
    md = render(rows, "md")
    assert "| Baseline | digits_lt10 | edc γ=0.5 |" in md and "27.59" in md and "23.00 ± 3.61 (n=3)" in md
    parsed = list(csv.DictReader(io.StringIO(render(rows, "csv"))))
    assert float(parsed[0]["raw_mean"]) == pytest.approx(23.0) and parsed[0]["paper_raw"] == "27.59"
    assert "<table>" in render(rows, "html")


def test_last_metric_and_unpaired_seeds(tmp_path: Path) -> None:
    _run(tmp_path, "a", DIGITS + ["train.seed=1"], 20.0, last=25.0)
    _run(tmp_path, "b", DIGITS + ["train.seed=2"], 22.0, last=27.0)
    _run(tmp_path, "c", DIGITS + FCC + ["train.seed=3"], 19.0, last=23.0)
    _run(tmp_path, "d", DIGITS + FCC + ["train.seed=4"], 21.0, last=24.0)
    (r,) = build_rows(find_runs([tmp_path]), metric="last")
    assert r.raw.mean == pytest.approx(26.0) and r.delta_kind == "independent"
    assert r.delta.mean == pytest.approx(23.5 - 26.0)
    assert r.delta.std == pytest.approx(math.sqrt(statistics.stdev([25.0, 27.0]) ** 2 + statistics.stdev([23.0, 24.0]) ** 2))


def test_fcc_variants_and_differing_recipes_are_separate(tmp_path: Path) -> None:
    _run(tmp_path, "raw", DIGITS, 20.0)
    _run(tmp_path, "g05", DIGITS + FCC, 19.0)
    _run(tmp_path, "g1", DIGITS + ["fcc.enabled=true", "fcc.gamma=1.0"], 18.0)
    _run(tmp_path, "raw_long", DIGITS + ["optim.epochs=300"], 17.0)
    rows = build_rows(find_runs([tmp_path]))
    fccs = sorted((r.method, r.fcc.split(" [")[0]) for r in rows)
    assert ("Baseline [optim.epochs=200]", "edc γ=0.5") in fccs and ("Baseline [optim.epochs=200]", "edc γ=1.0") in fccs
    assert ("Baseline [optim.epochs=300]", "—") in fccs


@pytest.mark.parametrize(
    "overrides,label",
    [
        ([], "Baseline"),
        (["method.loss=ldam", "method.drw_start_epoch=160"], "LDAM-DRW"),
        (["method.loss=bsce", "method.drw_start_epoch=160"], "BSCE+DRW"),
        (["method.sampler=cb", "method.drs_start_epoch=160"], "CB sampling+DRS"),
        (["method.mixup=remix"], "Remix"),
        (["stage.reset_head=true", "stage.freeze_backbone=true"], "cRT"),
    ],
)
def test_method_labels_match_paper_names(overrides: list[str], label: str) -> None:
    cfg = config_to_dict(load_config(None, overrides))
    assert method_label(cfg) == label
    assert paper_row(label, "cifar10_lt100") is not None


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0]
    _run(tmp_path, "unfinished", DIGITS, 20.0, done=False)
    assert main(["table", str(tmp_path / "unfinished")]) == 2
    assert "not finished" in capsys.readouterr().err
    _run(tmp_path, "ok", DIGITS, 20.0)
    assert main(["table", str(tmp_path / "ok"), "--paper-benchmark", "cifar11"]) == 2
    assert "unknown paper benchmark" in capsys.readouterr().err


def test_cli_prints_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(tmp_path, "raw", DIGITS, 20.0)
    _run(tmp_path, "fcc", DIGITS + FCC, 18.5)
    out = tmp_path / "t.md"
    assert main(["table", str(tmp_path), "--paper-benchmark", "cifar10_lt100", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "-1.50" in text and "24.08" in text and out.read_text() == text


def test_every_catalogue_config_maps_to_its_paper_row() -> None:
    """The configs fcc sweep trains are labelled with the paper's row names (raw and +FCC, every split)."""
    catalog = pytest.importorskip("fcc_train.experiments.catalog")
    root = Path(__file__).resolve().parents[2] / "configs"
    checked = 0
    for entry in catalog.METHODS:
        for split in catalog.SPLITS:
            for fcc in (False, True):
                path = catalog.config_path(root, split, entry.key, fcc)
                if not path.is_file():
                    continue
                label, paper_name = method_identity(config_to_dict(load_config(path)))
                assert paper_name == entry.table_row, (path, label)
                if entry.table_row:
                    assert paper_row(paper_name, split).method == entry.table_row
                checked += 1
    assert checked > 100


def test_two_stage_raw_and_fcc_pair_despite_stage1_paths(tmp_path: Path) -> None:
    """cRT raw and +FCC start from different stage-1 folders; they must still be one row."""
    crt = DIGITS + ["stage.freeze_backbone=true", "stage.reset_head=true", "method.sampler=cb"]
    _run(tmp_path, "crt", crt + ["stage.init_from=runs/ce_s0"], 20.0)
    _run(tmp_path, "crt_fcc", crt + FCC + ["stage.init_from=runs/ce_fcc_s0"], 18.0)
    rows = build_rows(find_runs([tmp_path]))
    assert len(rows) == 1
    assert rows[0].raw.n == 1 and rows[0].fcc_stats.n == 1


def test_dive_fcc_is_the_fcc_column_though_only_its_teacher_used_fcc(tmp_path: Path) -> None:
    """DiVe+FCC's student has fcc.enabled: false (FCC is in the teacher); it was counted as a second raw run."""
    for seed in (1, 2):
        for stem, err in (("dive", 20.0 + seed), ("dive_fcc", 18.0 + seed)):
            teacher = f"method.teacher=runs/sweep/cifar10_lt100/{stem.replace('dive', 'dive_teacher')}/seed{seed}"
            _run(
                tmp_path,
                f"{stem}_s{seed}",
                [teacher, f"train.seed={seed}"],
                err,
                config=CONFIGS / "cifar10_lt100" / f"{stem}.yaml",
            )
    (row,) = build_rows(find_runs([tmp_path]))
    assert row.method == "DiVe" and row.benchmark == "cifar10_lt100"
    assert row.raw.n == 2 and row.raw.mean == pytest.approx(21.5)
    assert row.fcc_stats.n == 2 and row.fcc_stats.mean == pytest.approx(19.5)
    assert row.delta_kind == "paired" and row.delta.mean == pytest.approx(-2.0)
    assert row.fcc == "FCC on the teacher [depends_on=dive_teacher_fcc]"
    assert row.paper is not None and row.paper.method == "DiVe" and row.paper.fcc is not None
    assert "| DiVe | cifar10_lt100 | FCC on the teacher |" in render([row], "md")


def test_fcc_variant_is_what_the_sweep_asks_for() -> None:
    """Every catalogue config reads as raw exactly when fcc sweep runs it as the raw variant (stem without _fcc)."""
    catalog = pytest.importorskip("fcc_train.experiments.catalog")
    checked = 0
    for entry in catalog.METHODS:
        for split in catalog.ALL_SPLITS:
            for fcc in (False, True):
                path = catalog.config_path(CONFIGS, split, entry.key, fcc)
                if path.is_file():
                    assert (fcc_variant(config_to_dict(load_config(path))) != "raw") == fcc, path
                    checked += 1
    assert checked >= 300


def test_runs_stored_before_a_new_config_key_still_group(tmp_path: Path) -> None:
    """A summary written before a config key existed (key absent) groups with one that has its default."""
    old = _run(tmp_path, "old", DIGITS + ["train.seed=1"], 20.0)
    s = json.loads((old / "summary.json").read_text())
    del s["config"]["data"]["flip"]  # as if written by a version without data.flip
    (old / "summary.json").write_text(json.dumps(s))
    _run(tmp_path, "new", DIGITS + ["train.seed=2"], 22.0)
    (row,) = build_rows(find_runs([tmp_path]))
    assert row.raw.n == 2


def test_docstring_examples() -> None:
    import doctest

    import fcc_train.results.method_identity
    import fcc_train.results.paper_tables
    import fcc_train.results.run_results

    for mod in (fcc_train.results.paper_tables, fcc_train.results.run_results, fcc_train.results.method_identity):
        res = doctest.testmod(mod)
        assert res.failed == 0 and res.attempted > 0, mod.__name__

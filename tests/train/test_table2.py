"""Table 2 as a sweep (rows from paper-tables.csv, stage chains), ``fcc methods --table 2`` and FCC's effect per head."""

from __future__ import annotations

import csv
import json
import shutil
import warnings
from pathlib import Path

import pytest
import yaml

from fcc.cli import main
from fcc_train.experiments.plan import SweepOptions, plan_jobs
from fcc_train.methods import FCC_COSINE_WARNING

REPO = Path(__file__).resolve().parents[2]
CSV = REPO / "fcc_train" / "resources" / "paper-tables.csv"
PAPER_NAME = {"imagenet_lt": "imagenet_lt", "inat18": "inat2018"}
# the paper's row names and the config stems that reproduce them (written out here, independently of table2.py)
ROW_KEY = {
    "ResNet10/32": "ce",
    "Focal loss": "focal",
    "CBCE": "cbce",
    "LDAM-DRW": "ldam_drw",
    "BBN (ResNet-50)": "bbn",
    "cRT": "crt",
    "tau-norm": "tau_norm",
    "DiVE": "dive",
    "RIDE": "ride",
    "SADE (ResNeXt-50)": "sade",
    "NCL (ResNet-50)": "ncl",
}
MULTI_EXPERT = ("bbn", "ride", "sade", "ncl")
# stage-1 runs the chains add (not paper rows themselves)
CHAIN = {"dive": "dive_teacher", "crt": "ce"}


def _paper_variants(benchmark: str) -> dict[str, set[str]]:
    """key -> the variants whose cell the paper fills, read straight from the CSV."""
    out: dict[str, set[str]] = {}
    with CSV.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["table"] == "2" and r["benchmark"] == PAPER_NAME[benchmark]:
                vs = {v for v, col in (("raw", "raw_top1_error"), ("fcc", "fcc_top1_error")) if r[col].strip()}
                if vs:
                    out[ROW_KEY[r["method"]]] = vs
    return out


def _configs_with_stubs(tmp_path: Path, benchmark: str) -> Path:
    """The shipped configs of ``benchmark``, plus stand-ins (copies of ce.yaml) for rows whose configs are not shipped."""
    root = tmp_path / "configs"
    shutil.copytree(REPO / "configs" / benchmark, root / benchmark)
    for key in MULTI_EXPERT:
        for suffix in ("", "_fcc"):
            p = root / benchmark / f"{key}{suffix}.yaml"
            if not p.exists():
                shutil.copy(root / benchmark / f"ce{suffix}.yaml", p)
    return root


def _check_chains(jobs: list) -> None:
    names = [j.name for j in jobs]
    for j in jobs:
        if j.depends is not None:
            assert names.index(j.depends.name) < names.index(j.name), f"{j.name} planned before its stage 1"
            assert j.depends.fcc == j.fcc and j.depends.seed == j.seed
    for key, first in CHAIN.items():
        for j in (j for j in jobs if j.key == key):
            assert j.depends is not None and j.depends.key == first
            target = "method.teacher" if key == "dive" else "stage.init_from"
            assert f"{target}={j.depends.out}" in j.sets()


@pytest.mark.parametrize("bench", ["imagenet_lt", "inat18"])
def test_table2_plans_the_paper_rows(bench: str, tmp_path: Path) -> None:
    expected = _paper_variants(bench)
    assert expected, "the CSV lists Table 2 rows"
    root = _configs_with_stubs(tmp_path, bench)
    jobs = plan_jobs(SweepOptions(benchmark=bench, table=2, configs=str(root), out=str(tmp_path / "runs"), seeds="0,1"))
    planned: dict[str, set[str]] = {}
    for j in jobs:
        planned.setdefault(j.key, set()).add("fcc" if j.fcc else "raw")
    chain_only = {CHAIN[k] for k in expected if k in CHAIN and CHAIN[k] not in expected}
    assert {k: v for k, v in planned.items() if k not in chain_only} == expected
    assert all(planned[k] == {"raw", "fcc"} for k in chain_only)  # the teachers of both variants
    _check_chains(jobs)
    assert {j.seed for j in jobs} == {0, 1}


def test_rows_without_paper_numbers_are_not_planned(tmp_path: Path) -> None:
    root = _configs_with_stubs(tmp_path, "inat18")
    keys = {j.key for j in plan_jobs(SweepOptions(benchmark="inat18", table=2, configs=str(root)))}
    assert (REPO / "configs" / "inat18" / "focal.yaml").is_file() and "focal" not in keys  # config shipped, paper cell empty
    assert "dive" not in keys and "dive_teacher" not in keys and "bbn" not in keys


def test_table2_missing_config_is_one_line_exit_2(tmp_path: Path, capsys) -> None:
    root = _configs_with_stubs(tmp_path, "imagenet_lt")
    (root / "imagenet_lt" / "crt_fcc.yaml").unlink()
    argv = ["sweep", "--table", "2", "--benchmark", "imagenet_lt", "--configs", str(root), "--dry-run", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "crt_fcc.yaml' does not exist" in err[0] and "Traceback" not in err[0]


def test_table2_dry_run_prints_chained_commands(tmp_path: Path, capsys) -> None:
    root = _configs_with_stubs(tmp_path, "imagenet_lt")
    argv = ["sweep", "--table", "2", "--benchmark", "imagenet_lt", "--configs", str(root), "--dry-run", "--out", str(tmp_path)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [ln.split()[0] for ln in lines[:-1]]
    assert names.index("dive_teacher_fcc/seed42") < names.index("dive_fcc/seed42")
    crt = next(ln for ln in lines if ln.startswith("crt_fcc/seed42"))
    assert "[after ce_fcc/seed42]" in crt and f"stage.init_from={tmp_path}/imagenet_lt/ce_fcc/seed42" in crt
    n_rows = sum(len(v) for v in _paper_variants("imagenet_lt").values())
    assert lines[-1].startswith(f"{n_rows + 2} runs")  # + the two DiVE teachers


def test_table2_plans_multi_expert_rows(tmp_path: Path) -> None:
    """With the shipped configs (no stand-ins): every Table 2 row of BBN, RIDE, SADE and NCL the paper reports."""
    for benchmark in ("imagenet_lt", "inat18"):
        expected = {k: v for k, v in _paper_variants(benchmark).items() if k in MULTI_EXPERT}
        jobs = plan_jobs(SweepOptions(benchmark=benchmark, table=2, configs=str(REPO / "configs"), out=str(tmp_path)))
        planned: dict[str, set[str]] = {}
        for j in jobs:
            if j.key in MULTI_EXPERT:
                planned.setdefault(j.key, set()).add("fcc" if j.fcc else "raw")
        assert planned == expected
        _check_chains(jobs)
        for key in expected:
            cfg = yaml.safe_load((REPO / "configs" / benchmark / f"{key}.yaml").read_text())
            assert cfg["data"]["dataset"] == benchmark


def test_table1_cifar100_lt100_includes_ltr_wb(capsys, tmp_path: Path) -> None:
    assert main(["sweep", "--table", "1", "--benchmark", "cifar100_lt100", "--dry-run", "--out", str(tmp_path)]) == 0
    names = [ln.split()[0] for ln in capsys.readouterr().out.splitlines()[:-1]]
    for v in ("", "_fcc"):
        assert names.index(f"ltr_wb_stage1{v}/seed42") < names.index(f"ltr_wb{v}/seed42")


# --- fcc methods: fcc_effect and Table 2 rows -------------------------------------------------------------
def test_methods_json_has_fcc_effect_from_the_verifier(capsys) -> None:
    from fcc_theory.claims import CLAIMS, run_claim

    assert main(["methods", "--json"]) == 0
    recs = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    verdict = run_claim(CLAIMS["cosine_scale_invariance"]).decision.verdict
    for key, r in recs.items():
        eff = r["fcc_effect"]
        assert set(eff) >= {"placement", "head", "changes_training", "where", "claim", "verdict"}
        cosine = r["config_keys"].get("model.head") == "cosine"
        assert eff["head"] == ("cosine" if cosine else "linear") and eff["placement"] == "features", key
        if cosine:
            assert eff["claim"] == "cosine_scale_invariance" and eff["verdict"] == verdict
            assert eff["changes_training"] is (False if verdict == "proved" else None)
        else:
            assert eff["changes_training"] is True and eff["claim"] is None
    assert "teacher" in recs["dive"]["fcc_effect"]["where"]
    assert [t["benchmark"] for t in recs["ce"]["table2_rows"]] == ["imagenet_lt", "inat18"]


def test_fcc_effect_follows_the_verifier_not_a_fixed_answer(monkeypatch) -> None:
    """Mutant: a verifier that does not prove the claim must turn 'FCC cancels' into 'undecided'."""
    from dataclasses import replace

    from fcc_theory import claims
    from fcc_theory.decide import Decision
    from fcc_train.experiments import fcc_placement

    fake = replace(claims.CLAIMS["cosine_scale_invariance"], decide=lambda t: Decision("unknown", 0.0, "mutant"))
    monkeypatch.setitem(claims.CLAIMS, "cosine_scale_invariance", fake)
    fcc_placement.verifier_verdict.cache_clear()
    try:
        eff = fcc_placement.describe(fcc_enabled=True, head="cosine")
        assert eff.changes_training is None and eff.verdict == "unknown" and "did not prove" in eff.where
    finally:
        fcc_placement.verifier_verdict.cache_clear()
    for placement in ("shared", "logits"):
        assert fcc_placement.describe(fcc_enabled=True, head="cosine", placement=placement).changes_training is True
    with pytest.raises(ValueError, match=r"unknown fcc\.placement"):
        fcc_placement.describe(fcc_enabled=True, head="linear", placement="pooled")


def test_fcc_effect_reads_the_placement_key_when_present() -> None:
    from types import SimpleNamespace

    from fcc_train.experiments.fcc_placement import fcc_effect

    cfg = SimpleNamespace(fcc=SimpleNamespace(enabled=True, placement="logits"), model=SimpleNamespace(head="cosine"))
    assert fcc_effect(cfg).placement == "logits" and fcc_effect(cfg).changes_training is True
    cfg.fcc = SimpleNamespace(enabled=True)  # a config without the key: the default placement
    assert fcc_effect(cfg).placement == "features"
    cfg.model = SimpleNamespace(head="linear", bias=False)
    assert fcc_effect(cfg).changes_training is True and "no bias" in fcc_effect(cfg).where


def test_methods_table2_lists_rows_with_backbones(capsys) -> None:
    assert main(["methods", "--table", "2", "--json", "--configs", str(REPO / "configs")]) == 0
    rows = json.loads(capsys.readouterr().out)
    for bench in ("imagenet_lt", "inat18"):
        mine = [r for r in rows if r["benchmark"] == bench]
        assert {r["key"] for r in mine if r["variants"]} == set(_paper_variants(bench))
        for r in mine:
            path = REPO / "configs" / bench / f"{r['key']}.yaml"
            arch = yaml.safe_load(path.read_text())["model"]["arch"] if path.is_file() else None
            assert r["config_arch"] == arch and r["paper_backbone"]
    sade = next(r for r in rows if r["key"] == "sade" and r["benchmark"] == "imagenet_lt")
    assert sade["paper_backbone"] == "ResNeXt-50"
    assert main(["methods", "--table", "2", "--configs", str(REPO / "configs")]) == 0
    text = capsys.readouterr().out
    assert "Table 2, imagenet_lt" in text and "Table 2, inat18" in text and "not planned" in text
    assert main(["methods", "--table", "1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_train_start_prints_one_clean_fcc_line(tmp_path: Path, capsys) -> None:
    cfg = str(REPO / "configs" / "digits" / "ldam_fcc.yaml")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rc = main(["train", "--config", cfg, "--out", str(tmp_path / "r"), "--set", "optim.epochs=1", "train.progress=lines"])
    assert rc == 0
    assert not [w for w in rec if FCC_COSINE_WARNING in str(w.message)]
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("fcc: ")]
    assert len(lines) == 1 and "cosine_scale_invariance" in lines[0] and "FCC cancels" in lines[0]


@pytest.mark.parametrize("config", ["ldam_fcc", "sade_fcc", "ride_fcc"])
def test_the_remedy_the_start_line_names_is_accepted(config: str) -> None:
    """A run whose FCC cancels names the switch that makes it act; that switch must build and make FCC act. Mutant:
    the placement remedy on a single model (the wording before) is refused by the trainer."""
    from fcc_theory.errors import UserError
    from fcc_train.config import load_config
    from fcc_train.experiments.fcc_placement import fcc_effect
    from fcc_train.methods import DataInfo, build_method

    path = REPO / "configs" / "digits" / f"{config}.yaml"
    line = fcc_effect(load_config(path)).line()
    assert "FCC cancels here" in line
    remedies = {"model.head linear": ["model.head=linear"], "fcc.placement shared or logits": ["fcc.placement=shared"]}
    named = [k for k in remedies if k in line]
    assert len(named) == 1, line
    fixed = load_config(path, remedies[named[0]])
    assert fcc_effect(fixed).changes_training is True
    build_method(fixed, DataInfo(class_counts=[50, 20, 8, 3, 2, 2, 2, 2, 2, 2], epochs=2))
    wrong = next(v for k, v in remedies.items() if k not in named)
    if wrong == ["fcc.placement=shared"]:  # a single model refuses the multi-expert placements
        with pytest.raises(UserError, match="needs a multi-expert model"):
            build_method(load_config(path, wrong), DataInfo(class_counts=[50, 20, 8, 3, 2, 2, 2, 2, 2, 2], epochs=2))
    # the warning a direct build_method call gives says what the run's line says
    assert FCC_COSINE_WARNING.split(" (verifier")[0] == line.split(" (verifier")[0]


def test_docstring_examples() -> None:
    import doctest

    from fcc_train.experiments import fcc_placement, plan, table2

    for mod in (table2, fcc_placement, plan):
        assert doctest.testmod(mod).failed == 0

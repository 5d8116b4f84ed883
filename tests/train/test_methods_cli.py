"""``fcc methods`` and ``fcc sweep`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fcc.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_methods_lists_every_catalogue_entry(capsys):
    from fcc_train.experiments.catalog import METHODS

    assert main(["methods"]) == 0
    text = capsys.readouterr().out
    for m in METHODS:
        assert m.key in text and m.source in text
    assert "ICCV 2017" in text and "NeurIPS 2020" in text and "ICLR 2020" in text


def test_methods_json_has_hyperparameters(capsys):
    assert main(["methods", "--json"]) == 0
    recs = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert recs["cb_focal"]["per_split"]["cifar100_lt50"] == {"method.cb_beta": 0.99, "method.focal_gamma": 1.0}
    assert recs["remix"]["config_keys"]["method.remix_kappa"] == 3.0
    assert recs["crt"]["depends_on"] == "ce"
    assert recs["cdt"]["fcc"]["gamma"]["cifar100_lt100"] == 0.1


def test_methods_bad_split_one_line(capsys):
    assert main(["methods", "--split", "cifar10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown --split 'cifar10'" in err[0]


def test_sweep_dry_run_chains_stage1(capsys, tmp_path):
    assert (
        main(
            [
                "sweep",
                "--benchmark",
                "cifar10_lt100",
                "--methods",
                "crt,dive",
                "--seeds",
                "0,1",
                "--dry-run",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    names = [ln.split()[0] for ln in lines[:-1]]
    assert names.index("ce/seed0") < names.index("crt/seed0") and names.index("ce_fcc/seed1") < names.index("crt_fcc/seed1")
    crt = next(ln for ln in lines if ln.startswith("crt_fcc/seed1"))
    assert f"stage.init_from={tmp_path}/cifar10_lt100/ce_fcc/seed1" in crt and "train.seed=1" in crt
    dive = next(ln for ln in lines if ln.startswith("dive_fcc/seed0"))
    assert f"method.teacher={tmp_path}/cifar10_lt100/dive_teacher_fcc/seed0" in dive
    assert lines[-1].startswith("16 runs")


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["--benchmark", "cifar10"], "unknown --benchmark"),
        (["--benchmark", "digits", "--methods", "bcse"], "unknown method 'bcse'"),
        (["--benchmark", "digits", "--seeds", "a"], "--seeds 'a'"),
        (["--benchmark", "digits", "--parallel", "0"], "--parallel"),
        (["--benchmark", "digits", "--per-process", "0"], "--per-process"),
        (["--benchmark", "digits", "--stack"], "add --per-process K"),
    ],
)
def test_sweep_bad_input(argv, msg, capsys):
    assert main(["sweep", "--dry-run", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0]


def test_sweep_runs_chains_skips_and_collects(tmp_path, digits_sweep):
    args = ("--methods", "crt", "--variants", "raw", "--parallel", "2")
    r = digits_sweep(tmp_path, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads((tmp_path / "digits" / "sweep_results.json").read_text())
    assert [(x["method"], x["status"]) for x in rows] == [("ce", "done"), ("crt", "done")]
    assert all(x["best_top1_error"] is not None for x in rows)
    cfg = (tmp_path / "digits" / "crt" / "seed42" / "config.yaml").read_text()
    assert str(tmp_path / "digits" / "ce" / "seed42") in cfg
    r2 = digits_sweep(tmp_path, *args)
    assert r2.returncode == 0 and "start" not in r2.stdout  # both finished: nothing re-trained
    rows2 = json.loads((tmp_path / "digits" / "sweep_results.json").read_text())
    assert [x["status"] for x in rows2] == ["skipped-done", "skipped-done"]
    assert (tmp_path / "digits" / "sweep_results.csv").read_text().startswith("benchmark,method")


def test_sweep_per_process_groups_runs_and_keeps_the_chain(tmp_path, digits_sweep):
    r = digits_sweep(tmp_path, "--methods", "ce,crt", "--per-process", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads((tmp_path / "digits" / "sweep_results.json").read_text())
    assert sorted((x["method"], x["variant"], x["status"]) for x in rows) == [
        ("ce", "fcc", "done"),
        ("ce", "raw", "done"),
        ("crt", "fcc", "done"),
        ("crt", "raw", "done"),
    ]
    starts = [ln for ln in r.stdout.splitlines() if ln.startswith("[sweep] start")]
    assert len(starts) == 2 and all("--jobs" in ln for ln in starts)  # two processes of two runs each
    assert "ce/seed42, ce_fcc/seed42" in starts[0] and "crt/seed42, crt_fcc/seed42" in starts[1]
    cfg = (tmp_path / "digits" / "crt_fcc" / "seed42" / "config.yaml").read_text()
    assert str(tmp_path / "digits" / "ce_fcc" / "seed42") in cfg
    logs = list((tmp_path / "digits" / "sweep_groups").glob("group-*.log"))
    assert len(logs) == 2 and "[ce_fcc/seed42]" in "".join(p.read_text() for p in logs)


def test_sweep_stack_trains_a_group_as_one_network(tmp_path, digits_sweep):
    # plan order: ce, ce_fcc, remix, remix_fcc, focal, focal_fcc. A slice of 4 would stack CE with its pair
    # and Remix with its pair; grouping by lockstep gives CE and focal loss (one recipe) a process of their
    # own, one stack of 4, and the Remix pair (the 400-epoch mixup recipe) the next process
    r = digits_sweep(tmp_path, "--methods", "ce,remix,focal", "--per-process", "4", "--stack")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "--jobs" in r.stdout and "--stack" in r.stdout
    logs = [p.read_text() for p in (tmp_path / "digits" / "sweep_groups").glob("group-*.log")]
    assert len(logs) == 2 and all(log.count("as one network") == 1 for log in logs)
    joined = "".join(logs)
    assert "[stack] training ce/seed42, ce_fcc/seed42, focal/seed42, focal_fcc/seed42 as one network of 4 runs" in joined
    assert "[stack] training remix/seed42, remix_fcc/seed42 as one network of 2 runs" in joined
    rows = json.loads((tmp_path / "digits" / "sweep_results.json").read_text())
    assert [x["status"] for x in rows] == ["done"] * 6


def test_next_group_fills_a_process_with_whole_stacks():
    from types import SimpleNamespace

    from fcc_train.commands.sweep import next_group

    jobs = [SimpleNamespace(name=n) for n in ["a1", "a2", "a3", "b1", "b2", "c1", "x1", "x2"]]
    order = {
        "a1": (0, "A"),
        "a2": (0, "A"),
        "a3": (0, "A"),
        "b1": (0, "B"),
        "b2": (0, "B"),
        "c1": (0, "C"),
        "x1": (1, ""),
        "x2": (1, ""),
    }
    names = lambda g: [j.name for j in g]
    assert names(next_group(jobs, 2, order)) == ["a1", "a2"]  # the largest lockstep first, cut at K
    assert names(next_group(jobs, 4, order)) == ["a1", "a2", "a3", "c1"]  # B's pair does not fit; C's run does
    assert names(next_group(jobs, 8, order)) == ["a1", "a2", "a3", "b1", "b2", "c1", "x1", "x2"]
    assert names(next_group(jobs[6:], 4, order)) == ["x1", "x2"]  # runs that train alone share a process too


def test_methods_split_digits_prints_the_digits_fcc_values(capsys):
    import yaml

    from fcc_train.experiments.catalog import METHODS, config_path

    assert main(["methods", "--split", "digits"]) == 0
    text = capsys.readouterr().out
    blocks = {}
    for line in text.splitlines():
        if line and not line.startswith(" "):
            key = line.split()[0]
        elif "+FCC:" in line:
            blocks[key] = line.split("+FCC:", 1)[1].strip()
    for m in METHODS:
        if not m.fcc_on_student:
            assert blocks[m.key] == "only the teacher"
            continue
        # the values of the shipped +FCC config itself
        fcc = yaml.safe_load(config_path(REPO / "configs", "digits", m.key, True).read_text())["fcc"]
        # multi-expert entries add "; placement ..." after the values
        assert blocks[m.key].split("; placement")[0] == f"gamma {fcc['gamma']}; start epoch {fcc['start_epoch']}", m.key
    assert blocks["ce"] == "gamma 0.5; start epoch 15" and not any("cifar" in v for v in blocks.values())
    # every split: the catalogue's start epoch is the one its rendered +FCC configs hold
    from fcc_train.experiments.catalog import ALL_SPLITS, fcc_start_epoch

    for split in ALL_SPLITS:
        for m in METHODS:
            if m.fcc_on_student and m.writes_config:
                fcc = yaml.safe_load(config_path(REPO / "configs", split, m.key, True).read_text())["fcc"]
                assert fcc["start_epoch"] == fcc_start_epoch(m.key, split), (split, m.key)

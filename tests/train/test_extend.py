"""``fcc train --extend``: a finished 2-epoch digits run continued to 3 epochs resumes from its last checkpoint and
continues its metrics exactly as a 3-epoch run would have; other changes are refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from fcc.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs/digits/ce.yaml")
FAST = ["--set", "optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1"]


def _train(out: Path, *extra: str) -> int:
    return main(["train", "--config", CONFIG, "--out", str(out), *FAST, *extra])


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    for p in parts:
        assert p in err, err
    return err


def test_extend_a_finished_run_to_more_epochs(tmp_path, capsys):
    run, straight = tmp_path / "run", tmp_path / "straight"
    assert _train(run, "optim.epochs=2") == 0
    before = _records(run)
    capsys.readouterr()

    # without --extend a changed epochs count is refused, naming --extend
    assert _train(run, "optim.epochs=3") == 2
    _one_line_error(capsys, "optim.epochs: 2 -> 3", "--extend")

    assert _train(run, "--extend", "3") == 0
    out = capsys.readouterr().out
    assert "from last.pt (epoch 2/3)" in out
    line = next(x for x in out.splitlines() if x.startswith("extending"))
    lr3 = 0.1 * (1 / 3 + (1 - 1 / 3) * 3 / 5)  # epoch 3 of the 5-epoch warmup from LR/3, written out again
    lr2 = 0.1 * (1 / 3 + (1 - 1 / 3) * 2 / 5)
    assert f"from 2 to 3 epochs: step schedule, milestones [48, 54]: epoch 3 trains at lr {lr3:.3g}" in line
    assert f"(epoch 2 trained at {lr2:.3g})" in line

    after = _records(run)
    assert [r["epoch"] for r in after] == [1, 2, 3] and after[:2] == before  # the first epochs kept as written
    summary = json.loads((run / "summary.json").read_text())
    assert summary["done"] and summary["last_epoch"] == 3 and summary["config"]["optim"]["epochs"] == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["optim"]["epochs"] == 3

    # continuity: the same numbers as a run trained for 3 epochs at once (the resume is exact)
    assert _train(straight, "optim.epochs=3") == 0
    drop = lambda rs: [{k: v for k, v in r.items() if k != "seconds"} for r in rs]
    assert drop(after) == drop(_records(straight))

    # the same command again: finished, nothing trained
    capsys.readouterr()
    assert _train(run, "--extend", "3") == 0
    assert "already finished" in capsys.readouterr().out


def test_extend_refuses_what_it_cannot_continue(tmp_path, capsys):
    run = tmp_path / "run"
    assert _train(run, "optim.epochs=2") == 0
    capsys.readouterr()
    assert _train(run, "--extend", "1") == 2
    _one_line_error(capsys, "cannot shorten", "2 -> 1")
    assert _train(run, "optim.lr=0.2", "--extend", "3") == 2
    _one_line_error(capsys, "optim.lr", "--extend changes only optim.epochs")
    assert _train(run, "optim.milestones=[1,54]", "--extend", "3") == 2  # epoch 1 was trained without that decay
    _one_line_error(capsys, "milestones", "after epoch 2")
    assert _train(tmp_path / "empty", "--extend", "3") == 2
    _one_line_error(capsys, "holds no checkpoint", "drop --extend")
    assert _train(run, "--extend", "many") == 2
    _one_line_error(capsys, "--extend 'many'")
    assert _records(run)[-1]["epoch"] == 2  # nothing was trained by the refused commands


@pytest.mark.parametrize("extra", [[], ["optim.milestones=[48,54,3]"]])
def test_extend_with_set_and_a_new_milestone(tmp_path, capsys, extra):
    run = tmp_path / "run"
    assert _train(run, "optim.epochs=2") == 0
    capsys.readouterr()
    assert _train(run, "optim.epochs=4", *extra, "--extend") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("extending"))
    recs = _records(run)
    assert [r["epoch"] for r in recs] == [1, 2, 3, 4]
    decay = 0.01 if extra else 1.0  # a milestone at 3: from epoch 3 on the LR is x lr_decay (0.01)
    for e in (3, 4):  # still in the 5-epoch warmup: each epoch its own LR
        lr = 0.1 * (1 / 3 + (2 / 3) * e / 5) * decay
        assert recs[e - 1]["lr"] == pytest.approx(lr)
        assert f"{e} at lr {lr:.3g}" in line, line

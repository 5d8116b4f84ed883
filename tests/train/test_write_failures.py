"""Failed writes and damaged run files: disk full and read-only folders are one line with nothing lost; stale temporary
files of killed writers are removed; a ``best.pt`` left behind ``last.pt`` is published again; damaged metrics are kept;
a NaN at epoch 1 says no checkpoint was written; non-UTF-8 configs and list files are one line."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import torch

from fcc.cli import main
from fcc_train.config import ConfigError, load_config
from fcc_train.train import checkpoint as ck
from fcc_train.train.checkpoint import CheckpointSaver, load_checkpoint, remove_stale_temporaries, save_checkpoint
from fcc_train.train.runlog import RunLog

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "configs/digits/ce.yaml")
FAST = ["train.progress=none", "train.threads=1", "optim.batch_size=64"]


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_disk_full_is_one_line_and_keeps_the_previous_checkpoint(tmp_path: Path, capsys, monkeypatch) -> None:
    real = ck.torch.save
    calls = []

    def full_after_first(obj, f, *a, **k):
        calls.append(1)
        if len(calls) > 1:  # epoch 2's checkpoint: the disk is full
            f.write(b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(obj, f, *a, **k)

    monkeypatch.setattr(ck.torch, "save", full_after_first)
    out = tmp_path / "r"
    assert main(["train", "--config", DIGITS, "--out", str(out), "--device", "cpu", "--set", *FAST, "optim.epochs=2"]) == 2
    err = _one_line(capsys)
    assert "no space left to write" in err and str(out / "checkpoints" / "last.pt") in err and "needs about" in err, err
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1  # nothing lost
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["best.pt", "last.pt"]  # no temporary file left


def test_read_only_out_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    real_open = os.open

    def read_only(path, *a, **k):  # the file system refuses every new file in the run folder (root ignores chmod)
        if str(path).startswith(str(tmp_path / "r")):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", read_only)
    assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--device", "cpu", "--set", *FAST]) == 2
    err = _one_line(capsys)
    assert "cannot write" in err and "Read-only file system" in err and "--out" in err, err


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".last.pt.tmp.{int(dead.stdout)}"
    live = tmp_path / f".best.pt.tmp.{os.getpid()}"
    other = tmp_path / "notes.tmp.1"
    for p in (stale, live, other):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [stale]  # a live writer's file is left alone
    assert remove_stale_temporaries(tmp_path, lock_held=True) == [live]  # the lock holder is the only writer
    assert other.exists()


def _state(epoch: int, best_epoch: int) -> dict:
    return {"model": {"w": torch.full((2,), float(epoch))}, "epoch": epoch, "best": {"epoch": best_epoch}, "format_version": 2}


def test_best_left_behind_last_is_published_again(tmp_path: Path) -> None:
    saver = CheckpointSaver(tmp_path)
    save_checkpoint(_state(1, 1), tmp_path / "best.pt")
    last = save_checkpoint(_state(2, 2), tmp_path / "last.pt")  # killed before best.pt was published
    note = saver.repair_best(last, load_checkpoint(last))
    assert note and "best.pt held epoch 1" in note and "best epoch 2" in note
    assert load_checkpoint(tmp_path / "best.pt")["epoch"] == 2
    assert (tmp_path / "best.pt").read_bytes() == last.read_bytes()
    assert saver.repair_best(last, load_checkpoint(last)) is None  # consistent now
    last = save_checkpoint(_state(3, 2), tmp_path / "last.pt")  # epoch 3 was not the best: best.pt stays
    assert saver.repair_best(last, load_checkpoint(last)) is None and load_checkpoint(tmp_path / "best.pt")["epoch"] == 2


def test_damaged_metrics_lines_are_skipped_and_the_file_kept(tmp_path: Path) -> None:
    good = [{"epoch": e, "top1_error": 50.0 - e} for e in (1, 2, 3)]
    raw = json.dumps(good[0]) + "\n\xff\x00garbage\n" + json.dumps(good[1]) + "\n" + '{"epoch": "x"}\n' + json.dumps(good[2])
    (tmp_path / "metrics.jsonl").write_bytes(raw.encode("latin-1") + b'\n{"epo')  # and a last line cut by a kill
    notes: list[str] = []
    log = RunLog(tmp_path, progress="none")
    log.note = notes.append  # type: ignore[method-assign]
    log.load_existing(2)
    assert [r["epoch"] for r in log.records] == [1, 2]
    assert [json.loads(x)["epoch"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (tmp_path / "metrics.jsonl.damaged").read_bytes().startswith(raw.encode("latin-1"))
    assert len(notes) == 1 and notes[0].startswith("2 damaged line(s)")  # the cut last line is not damage


def test_nan_at_epoch_1_says_no_checkpoint_was_written(tmp_path: Path, monkeypatch, capsys) -> None:
    import fcc_train.methods as methods
    from fcc_train.train.loop import EXIT_NAN, run_training

    class NaNAt1(methods.Method):
        def loss(self, logits, batch, epoch):
            return super().loss(logits, batch, epoch) * float("nan")

    monkeypatch.setattr(methods, "build_method", lambda cfg, info, device="cpu": NaNAt1(cfg, info, device))
    cfg = load_config(DIGITS, [*FAST, "train.device=cpu", "optim.epochs=2"])
    assert run_training(cfg, tmp_path / "r") == EXIT_NAN
    out = capsys.readouterr().out
    assert "loss is nan at epoch 1" in out and "No checkpoint was written before it" in out and "kept in" not in out
    assert not (tmp_path / "r" / "checkpoints").exists() or not any((tmp_path / "r" / "checkpoints").iterdir())


def test_non_utf8_config_and_list_file_are_one_line(tmp_path: Path, capsys) -> None:
    from fcc_train.data import DataError
    from fcc_train.data.imagenet_lt import read_split_list

    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: x\n\xff\xfe: 1\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(bad)
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert "not UTF-8" in _one_line(capsys)
    lst = tmp_path / "ImageNet_LT_train.txt"
    lst.write_bytes(b"train/a.jpg 0\ntrain/\xff.jpg 1\n")
    with pytest.raises(DataError, match="is not UTF-8 text"):
        read_split_list(lst)

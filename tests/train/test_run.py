"""The run loop end to end on digits-LT: a two-epoch run, resume after a kill (bit-identical), NaN stop, corrupt checkpoints."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import fcc_train.methods as methods
from fcc_train.config import load_config
from fcc_train.train.checkpoint import load_checkpoint
from fcc_train.train.loop import EXIT_NAN, run_training

REPO = Path(__file__).resolve().parents[2]
FAST = ["optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1"]


def _cfg(config="configs/digits/ce_fcc.yaml", extra=()):
    return load_config(REPO / config, FAST + list(extra))


def test_two_epoch_run_writes_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert run_training(_cfg(extra=["optim.epochs=2", "fcc.start_epoch=1"]), out) == 0
    text = capsys.readouterr().out
    assert "best" in text and "last" in text and "top-1 err" in text
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "metrics.csv",
        "per_class_recall.csv",
        "summary.json",
        "checkpoints/last.pt",
        "checkpoints/best.pt",
    ):
        assert (out / name).is_file(), name
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2]
    assert set(recs[0]) >= {"epoch", "lr", "train_loss", "top1_error", "many", "medium", "few", "seconds"}
    assert recs[0]["lr"] == pytest.approx(0.1 * (1 / 3 + 2 / 3 / 5))
    s = json.loads((out / "summary.json").read_text())
    assert s["done"] is True and s["last_epoch"] == 2 and s["best_top1_error"] <= s["last_top1_error"]
    for k in ("best_top1_error", "best_epoch", "last_top1_error", "many", "medium", "few", "class_counts", "config", "seconds"):
        assert k in s
    assert s["config"]["fcc"]["enabled"] is True
    ck = load_checkpoint(out / "checkpoints" / "last.pt")
    assert {"model", "optimizer", "epoch", "config", "rng", "best", "class_counts", "format_version"} <= set(ck)
    assert ck["epoch"] == 2 and ck["config"] == s["config"]
    assert (out / "per_class_recall.csv").read_text().count("\n") == len(s["class_counts"]) + 1
    # re-running a finished run prints its summary and trains nothing
    mtime = (out / "checkpoints" / "last.pt").stat().st_mtime_ns
    assert run_training(_cfg(extra=["optim.epochs=2", "fcc.start_epoch=1"]), out) == 0
    assert "already finished" in capsys.readouterr().out
    assert (out / "checkpoints" / "last.pt").stat().st_mtime_ns == mtime


def _cli(out, epochs, kill_after=None):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    launch = ["-m"] if kill_after is None else [str(REPO / "tests/train/kill_runner.py"), str(kill_after)]
    cmd = [
        sys.executable,
        *launch,
        "fcc_train",
        "train",
        "--config",
        "configs/digits/ce_fcc.yaml",
        "--out",
        str(out),
        "--set",
        f"optim.epochs={epochs}",
        "fcc.start_epoch=1",
        *FAST,
    ]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_resume_after_kill_is_bit_identical(tmp_path):
    killed = _cli(tmp_path / "a", 4, kill_after=2)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    mid = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    assert mid["epoch"] == 2 and not (tmp_path / "a" / "summary.json").exists()
    resumed = _cli(tmp_path / "a", 4)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert run_training(_cfg(extra=["optim.epochs=4", "fcc.start_epoch=1"]), tmp_path / "b") == 0  # uninterrupted
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")
    assert a["epoch"] == b["epoch"] == 4
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for x, y in zip(a["optimizer"]["momentum_buffer"], b["optimizer"]["momentum_buffer"], strict=True):
        assert torch.equal(x, y)
    # the comparison can fail: the epoch-2 state differs from the final one
    assert any(not torch.equal(mid["model"][k], b["model"][k]) for k in b["model"])
    ra = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    rb = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in ra] == [1, 2, 3, 4]
    assert [(r["train_loss"], r["top1_error"]) for r in ra] == [(r["train_loss"], r["top1_error"]) for r in rb]


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    real = methods.build_method

    class NaNAt2(methods.Method):
        def loss(self, logits, batch, epoch):
            loss = super().loss(logits, batch, epoch)
            return loss * float("nan") if epoch == 2 else loss

    monkeypatch.setattr(methods, "build_method", lambda cfg, info, device="cpu": NaNAt2(cfg, info, device))
    out = tmp_path / "run"
    assert run_training(_cfg(extra=["optim.epochs=3"]), out) == EXIT_NAN
    assert "loss is nan at epoch 2" in capsys.readouterr().out
    assert load_checkpoint(out / "checkpoints" / "last.pt")["epoch"] == 1
    assert not (out / "summary.json").exists()
    monkeypatch.setattr(methods, "build_method", real)


def test_truncated_last_checkpoint_is_skipped_on_resume(tmp_path, capsys):
    import shutil

    out = tmp_path / "run"
    cfg = _cfg("configs/digits/ce.yaml", ["optim.epochs=2"])
    kept = tmp_path / "best_epoch1.pt"

    def keep_first_best(epoch, run):
        if epoch == 1:
            shutil.copyfile(out / "checkpoints" / "best.pt", kept)

    assert run_training(cfg, out, on_checkpoint=keep_first_best) == 0
    last = out / "checkpoints" / "last.pt"
    final = load_checkpoint(last)
    # best.pt holds epoch 1 (as when epoch 1 was the best), last.pt is cut: the resume must come from best.pt
    shutil.copyfile(kept, out / "checkpoints" / "best.pt")
    (out / "summary.json").unlink()
    last.write_bytes(last.read_bytes()[:1000])
    capsys.readouterr()
    with pytest.warns(UserWarning, match=r"skipping checkpoint.*last\.pt"):
        assert run_training(cfg, out) == 0
    assert "from best.pt (epoch 1/2)" in capsys.readouterr().out
    again = load_checkpoint(last)
    assert again["epoch"] == 2
    assert all(torch.equal(again["model"][k], final["model"][k]) for k in final["model"])  # epoch 2 trained again, the same


def test_runlog_bar_lines_and_resume_truncation(tmp_path):
    import io

    from fcc_train.train.runlog import RunLog

    class TTY(io.StringIO):
        def isatty(self):
            return True

    tty, plain = TTY(), io.StringIO()
    bar = RunLog(tmp_path / "a", progress="auto", stream=tty)
    lines = RunLog(tmp_path / "b", progress="auto", stream=plain)
    for e in (1, 2):
        bar.progress(e, 2, 0.5, 10.0, 0.1)
        lines.progress(e, 2, 0.5, None, 0.1)
    assert "epochs: 100%" in tty.getvalue() and "2/2" in tty.getvalue() and tty.getvalue().endswith("\n")  # tqdm's bar
    assert plain.getvalue().splitlines()[0].startswith("epoch 1/2") and "\r" not in plain.getvalue()
    # resume: records after the checkpoint's epoch and a line cut by a kill are dropped, csv rewritten
    log = RunLog(tmp_path / "c", stream=plain)
    for e in (1, 2, 3):
        log.log_epoch(
            {"epoch": e, "lr": 0.1, "train_loss": 1.0, "top1_error": 50.0, "many": None, "medium": 1.0, "few": 2.0, "seconds": e}
        )
    with open(tmp_path / "c" / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 4, "lr"')
    again = RunLog(tmp_path / "c", stream=plain)
    again.load_existing(2)
    assert [r["epoch"] for r in again.records] == [1, 2]
    assert (tmp_path / "c" / "metrics.jsonl").read_text().count("\n") == 2
    assert (tmp_path / "c" / "metrics.csv").read_text().splitlines()[1:] == [
        "1,0.1,1.0,50.0,,1.0,2.0,1",
        "2,0.1,1.0,50.0,,1.0,2.0,2",
    ]


def test_tensorboard_optional(tmp_path):
    import io

    from fcc_train.train.runlog import RunLog

    out = io.StringIO()
    log = RunLog(tmp_path, tensorboard=True, stream=out)
    try:
        import torch.utils.tensorboard  # noqa: F401
    except Exception:
        assert "tensorboard is not installed" in out.getvalue() and log.tb is None
    else:
        log.log_epoch(
            {"epoch": 1, "lr": 0.1, "train_loss": 1.0, "top1_error": 5.0, "many": 1.0, "medium": 1.0, "few": 1.0, "seconds": 1}
        )
        assert any((tmp_path / "tensorboard").iterdir())
    log.close()

"""TensorBoard and W&B get, per evaluated epoch, the numbers metrics.jsonl holds (read back with TensorBoard's own
reader; W&B through a fake module that records its calls, no network)."""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path

import pytest

from fcc_train.config import load_config
from fcc_train.train.loop import run_training

REPO = Path(__file__).resolve().parents[2]
FAST = ["optim.epochs=2", "optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1"]
# tag -> metrics.jsonl key, written out again (not imported from the module under test)
WANT = {
    "train/loss": "train_loss",
    "train/lr": "lr",
    "test/top1_error": "top1_error",
    "test/many_acc": "many",
    "test/medium_acc": "medium",
    "test/few_acc": "few",
}


def _records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_tensorboard_event_files_hold_the_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    cfg = load_config(REPO / "configs/digits/ce.yaml", FAST + ["train.tensorboard=true"])
    assert run_training(cfg, run, stream=io.StringIO()) == 0
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    records = _records(run)
    assert len(records) == 2
    assert set(acc.Tags()["scalars"]) == set(WANT)
    for tag, key in WANT.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [r["epoch"] for r in records], tag
        # event files store float32
        assert [e.value for e in events] == pytest.approx([r[key] for r in records], rel=1e-6, abs=1e-6), tag
    # a mutated mapping (accuracy written where the error belongs) would be caught
    err = [e.value for e in acc.Scalars("test/top1_error")]
    assert err != pytest.approx([100 - r["top1_error"] for r in records], rel=1e-6)


class FakeWandb(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("wandb")
        self.inits: list[dict] = []
        self.logged: list[tuple[dict, int]] = []
        self.finished = 0

    def init(self, **kw):
        self.inits.append(kw)
        fake = self

        class Run:
            id = kw.get("id") or "abc123"

            def log(self, values, step=None):
                fake.logged.append((dict(values), step))

            def finish(self):
                fake.finished += 1

        return Run()


def test_wandb_logs_the_same_scalars(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    run = tmp_path / "run"
    cfg = load_config(REPO / "configs/digits/ce.yaml", FAST + ["train.wandb=lt-digits"])
    assert run_training(cfg, run, stream=io.StringIO()) == 0
    assert len(fake.inits) == 1 and fake.inits[0]["project"] == "lt-digits" and fake.inits[0]["name"] == cfg.name
    assert fake.inits[0]["config"]["optim"]["epochs"] == 2 and fake.inits[0]["id"] is None
    records = _records(run)
    assert [step for _, step in fake.logged] == [r["epoch"] for r in records]
    for (values, _), r in zip(fake.logged, records, strict=True):
        assert values == {tag: r[key] for tag, key in WANT.items()} | {"epoch": r["epoch"]}
    assert fake.finished == 1
    assert (run / "wandb_id.txt").read_text().strip() == "abc123"  # a resumed run continues this W&B run


def test_wandb_true_means_the_default_project(tmp_path, monkeypatch):
    fake = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake)
    assert run_training(load_config(REPO / "configs/digits/ce.yaml", FAST + ["train.wandb=true"]), tmp_path / "r") == 0
    assert fake.inits[0]["project"] == "fcc"
    fake2 = FakeWandb()
    monkeypatch.setitem(sys.modules, "wandb", fake2)
    assert run_training(load_config(REPO / "configs/digits/ce.yaml", FAST + ["train.wandb=false"]), tmp_path / "r2") == 0
    assert fake2.inits == []


def test_wandb_missing_or_failing_is_one_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    cfg = load_config(REPO / "configs/digits/ce.yaml", FAST + ["train.wandb=true"])
    assert run_training(cfg, tmp_path / "a") == 0
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if line.startswith("wandb")] == [
        "wandb is not installed; train.wandb is ignored (pip install wandb)"
    ]

    broken = FakeWandb()

    def refuse(**kw):
        raise RuntimeError("api key not configured\nmore text")

    broken.init = refuse  # type: ignore[method-assign]
    monkeypatch.setitem(sys.modules, "wandb", broken)
    assert run_training(cfg, tmp_path / "b") == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wandb")]
    assert notes == ["wandb did not start (RuntimeError: api key not configured); train.wandb is ignored"]
    assert (tmp_path / "b" / "summary.json").is_file()

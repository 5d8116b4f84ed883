"""Atomic checkpoints, newest-complete discovery, corrupt files skipped, RNG round trip."""

import random

import numpy as np
import pytest
import torch

from fcc_train.train import checkpoint as ck
from fcc_train.train.checkpoint import CheckpointError, capture_rng, find_resume, load_checkpoint, restore_rng, save_checkpoint


def _state(epoch, value=0.0):
    return {"model": {"w": torch.full((3,), value)}, "epoch": epoch, "format_version": 1}


def test_save_load_roundtrip_and_no_temp_left(tmp_path):
    p = save_checkpoint(_state(3, 1.5), tmp_path / "c" / "last.pt")
    s = load_checkpoint(p)
    assert s["epoch"] == 3 and torch.equal(s["model"]["w"], torch.full((3,), 1.5))
    assert sorted(x.name for x in p.parent.iterdir()) == ["last.pt"]


def test_kill_during_save_keeps_previous_file(tmp_path, monkeypatch):
    p = save_checkpoint(_state(1, 1.0), tmp_path / "last.pt")

    def dying_save(obj, f):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # stands in for a kill in the middle of torch.save

    monkeypatch.setattr(ck.torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(_state(2, 2.0), p)
    monkeypatch.undo()
    assert load_checkpoint(p)["epoch"] == 1
    assert [x.name for x in tmp_path.iterdir()] == ["last.pt"]


def test_truncated_checkpoint_is_skipped_with_warning(tmp_path):
    folder = tmp_path / "checkpoints"
    save_checkpoint(_state(4), folder / "best.pt")
    last = save_checkpoint(_state(6), folder / "last.pt")
    data = last.read_bytes()
    last.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint(last)
    with pytest.warns(UserWarning, match=r"skipping checkpoint: checkpoint '.*last\.pt' is unreadable") as caught:
        path, state = find_resume(folder)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert path.name == "best.pt" and state["epoch"] == 4  # best (4) != last (6): the older complete file is taken


def test_newest_complete_wins_and_foreign_file_rejected(tmp_path):
    folder = tmp_path / "checkpoints"
    save_checkpoint(_state(2), folder / "last.pt")
    save_checkpoint(_state(5), folder / "best.pt")
    assert find_resume(folder)[0].name == "best.pt"
    save_checkpoint(_state(5), folder / "last.pt")
    assert find_resume(folder)[0].name == "last.pt"  # equal epochs: last.pt
    torch.save({"weights": 1}, folder / "other.pt")
    with pytest.raises(CheckpointError, match="not an fcc checkpoint"):
        load_checkpoint(folder / "other.pt")
    assert find_resume(tmp_path / "missing") is None


def test_rng_roundtrip_reproduces_draws():
    g = torch.Generator().manual_seed(7)
    state = capture_rng({"loader": g})
    a = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=g))
    restore_rng(state, {"loader": g})
    b = (random.random(), np.random.rand(), torch.rand(2), torch.rand(2, generator=g))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])


def test_publish_copy_is_independent(tmp_path):
    from fcc_train.train.checkpoint import publish_copy

    last = save_checkpoint(_state(3, 1.0), tmp_path / "last.pt")
    best = publish_copy(last, tmp_path / "best.pt")
    assert load_checkpoint(best)["epoch"] == 3
    last.write_bytes(last.read_bytes()[:100])  # damage to one file ...
    assert load_checkpoint(best)["epoch"] == 3  # ... never reaches the other
    save_checkpoint(_state(4, 2.0), last)
    assert load_checkpoint(best)["epoch"] == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "last.pt"]

"""Checkpoints load with ``weights_only=True`` on every path: plain ``torch.load`` opens ours, a format-1 file
loads through the numpy allowlist, and a checkpoint whose pickle would run code runs nothing anywhere."""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from fcc.cli import main
from fcc_train.config import load_config
from fcc_train.train.checkpoint import CheckpointError, capture_rng, find_resume, load_checkpoint, restore_rng, save_checkpoint
from fcc_train.train.loop import run_training

REPO = Path(__file__).resolve().parents[2]
FAST = ["optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1", "optim.epochs=1"]


class _Payload:
    """Unpickling this runs a shell command that creates ``marker``: if it exists, foreign code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _malicious(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # everything a real checkpoint has (a newer epoch than any real one), plus the payload
    torch.save({"format_version": 2, "model": {}, "epoch": 99, "config": {}, "x": _Payload(marker)}, path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("safe") / "ce"
    assert run_training(load_config(REPO / "configs/digits/ce.yaml", FAST), out) == 0
    return out


def test_plain_torch_load_opens_the_projects_checkpoints(trained: Path) -> None:
    for name in ("last.pt", "best.pt"):
        state = torch.load(trained / "checkpoints" / name)  # torch's default: weights_only=True
        assert state["format_version"] == 2 and state["epoch"] == 1 and state["config"]["name"] == "digits_ce"
        assert state["model"]["head.weight"].shape[0] == len(state["class_counts"])
        rng = state["rng"]["numpy"]
        assert rng["bit_generator"] == "MT19937" and rng["keys"].shape == (624,) and isinstance(rng["pos"], int)


def test_format_1_numpy_state_loads_through_the_allowlist(tmp_path: Path) -> None:
    np.random.seed(3)
    old = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(), "generators": {}}
    p = save_checkpoint({"model": {"w": torch.ones(1)}, "epoch": 1, "format_version": 1, "rng": old}, tmp_path / "last.pt")
    with pytest.raises(Exception, match="numpy"):
        torch.load(p)  # a format-1 file needs the allowlist: the plain default refuses the numpy array
    state = load_checkpoint(p)
    expected = np.random.rand(3)
    np.random.seed(0)
    restore_rng(state["rng"])
    assert (np.random.rand(3) == expected).all()
    new = capture_rng()  # format 2: the same state as a tensor of keys, round trip exact
    a = np.random.rand(3)
    restore_rng(new)
    assert (np.random.rand(3) == a).all()


def test_a_foreign_object_is_refused_in_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    _malicious(tmp_path / "c" / "last.pt", marker)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "c" / "last.pt")
    assert "foreign object" in str(e.value) and "system" in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()
    with pytest.warns(UserWarning, match="foreign object"):
        assert find_resume(tmp_path / "c") is None


def test_malicious_checkpoints_run_nothing_on_any_load_path(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "ran"
    run = tmp_path / "shared_run"
    for name in ("last.pt", "best.pt", "zzz.pt"):
        _malicious(run / "checkpoints" / name, marker)
    cpu = ["--device", "cpu", "--set", *FAST]

    # fcc analyze RUN (best and last)
    for which in ("best", "last"):
        assert main(["analyze", str(run), "--checkpoint", which]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "foreign object" in err, err
    # stage.init_from=RUN (cRT) and method.teacher=RUN (DiVe)
    crt, dive = str(REPO / "configs/digits/crt.yaml"), str(REPO / "configs/digits/dive.yaml")
    assert main(["train", "--config", crt, "--out", str(tmp_path / "crt"), *cpu, f"stage.init_from={run}"]) == 2
    assert "foreign object" in capsys.readouterr().err
    assert main(["train", "--config", dive, "--out", str(tmp_path / "dive"), *cpu, f"method.teacher={run}"]) == 2
    assert "foreign object" in capsys.readouterr().err
    # resume: every *.pt of checkpoints/ is scanned (last.pt, best.pt, the stray zzz.pt): all skipped, a fresh run
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert run_training(load_config(REPO / "configs/digits/ce.yaml", FAST), run) == 0
    skipped = [str(w.message) for w in caught if "foreign object" in str(w.message)]
    assert len(skipped) == 3, skipped
    assert not marker.exists(), "code ran from a checkpoint"
    assert load_checkpoint(run / "checkpoints" / "last.pt")["epoch"] == 1


def test_checkpoint_without_a_config_is_one_line(tmp_path: Path, capsys) -> None:
    save_checkpoint({"model": {"w": torch.ones(1)}, "epoch": 1, "format_version": 2}, tmp_path / "r" / "checkpoints" / "best.pt")
    assert main(["analyze", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "holds no config" in err, err

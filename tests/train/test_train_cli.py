"""``fcc train`` bad inputs: one line on stderr, exit 2; and the ``python -m fcc_train`` entry point."""

import subprocess
import sys
from pathlib import Path

import pytest

from fcc.cli import main

REPO = Path(__file__).resolve().parents[2]
DIGITS = str(REPO / "configs/digits/ce.yaml")


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("fcc train: error:")
    for n in needles:
        assert n in err, err
    return err


def test_unknown_key_override(capsys, tmp_path):
    assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--set", "optim.epoch=2"]) == 2
    _one_line_error(capsys, "optim.epoch", "optim.epochs")
    assert not (tmp_path / "r").exists()


def test_unknown_key_in_file(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optim:\n  learning_rate: 0.1\n")
    assert main(["train", "--config", str(bad), "--out", str(tmp_path / "r")]) == 2
    _one_line_error(capsys, "optim.learning_rate")


def test_missing_config_file(capsys, tmp_path):
    assert main(["train", "--config", str(tmp_path / "nope.yaml")]) == 2
    _one_line_error(capsys, "does not exist")


def test_missing_dataset_folder(capsys, tmp_path):
    rc = main(
        [
            "train",
            "--config",
            str(REPO / "configs/cifar10_lt100/ce.yaml"),
            "--data-root",
            str(tmp_path / "no_data"),
            "--out",
            str(tmp_path / "r"),
            "--device",
            "cpu",
        ]
    )
    assert rc == 2
    _one_line_error(capsys, "cifar-10-batches-py")


def test_changed_config_is_refused(capsys, tmp_path):
    out = str(tmp_path / "r")
    common = ["train", "--config", DIGITS, "--out", out, "--device", "cpu", "--set", "optim.epochs=1", "train.progress=none"]
    assert main(common) == 0
    capsys.readouterr()
    assert main(common + ["optim.lr=0.05"]) == 2
    _one_line_error(capsys, "different config", "optim.lr")
    assert main(common + ["train.progress=lines"]) == 0  # cosmetic keys may change


def test_unavailable_device(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the refusal path, on every machine
    for spec in ("cuda", "cuda:0"):
        assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--device", spec]) == 2
        _one_line_error(capsys, f"device '{spec}'", "CUDA is not available", "--device cpu")
    assert not (tmp_path / "r").exists()  # refused before the run folder is made


def test_missing_cuda_index(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # a one-GPU machine, wherever the test runs
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    for spec in ("cuda:1", "cuda:x"):
        assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--device", spec]) == 2
        _one_line_error(capsys, f"device '{spec}' does not exist", "1 CUDA device(s)")
    assert not (tmp_path / "r").exists()


@pytest.mark.gpu
def test_missing_cuda_index_on_this_gpu_machine(capsys, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    n = torch.cuda.device_count()
    assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--device", f"cuda:{n}"]) == 2
    _one_line_error(capsys, f"device 'cuda:{n}' does not exist", f"{n} CUDA device(s)")


def test_module_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "fcc_train", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "--config" in r.stdout


def test_demo_without_torch_says_how_to_install(monkeypatch, capsys):
    import sys as _sys

    monkeypatch.setitem(_sys.modules, "torch", None)  # `import torch` now fails as on a machine without the extra
    assert main(["demo", "--skip-verify"]) == 0
    out = capsys.readouterr().out
    assert "pip install torch==2.13.0" in out and "train" in out


def test_batch_larger_than_the_training_set(capsys, tmp_path):
    assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--set", "optim.batch_size=100000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lower optim.batch_size" in err[0]


def test_value_outside_choices_is_one_line(capsys, tmp_path):
    """An enumerated key with a value it does not have (config.CHOICES): one line naming key, value and choices."""
    assert main(["train", "--config", DIGITS, "--out", str(tmp_path / "r"), "--set", "train.precision=fp8"]) == 2
    _one_line_error(capsys, "train.precision", "'fp8'", "auto, bf16, fp32")
    assert not (tmp_path / "r").exists()


def test_value_outside_choices_as_a_process(tmp_path):
    """``python -m fcc train ... --set train.precision=fp8``: exit 2, one stderr line, no traceback (was accepted as fp32)."""
    cmd = [sys.executable, "-m", "fcc", "train", "--config", DIGITS, "--set", "train.precision=fp8", "--out", str(tmp_path / "r")]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(err) == 1 and "Traceback" not in r.stderr, r.stderr
    assert err[0] == "fcc train: error: config key 'train.precision' is 'fp8'; use one of auto, bf16, fp32"
    assert not (tmp_path / "r").exists()


def test_a_run_stored_before_a_key_existed_is_still_finished(capsys, tmp_path):
    """A key the stored config lacks counts as its default (an upgrade keeps finished runs); set otherwise, it differs."""
    import json

    import yaml

    out = tmp_path / "r"
    common = ["train", "--config", DIGITS, "--out", str(out), "--device", "cpu", "--set", "optim.epochs=1", "train.progress=none"]
    assert main(common) == 0
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    del cfg["data"]["cutout"]  # as written by a version without the key
    (out / "config.yaml").write_text(yaml.safe_dump(cfg))
    summary = json.loads((out / "summary.json").read_text())
    del summary["config"]["data"]["cutout"]
    (out / "summary.json").write_text(json.dumps(summary))
    before = (out / "metrics.jsonl").read_text()
    capsys.readouterr()
    assert main(common) == 0
    assert (out / "metrics.jsonl").read_text() == before  # nothing trained again
    capsys.readouterr()
    assert main(common + ["data.cutout=2"]) == 2
    _one_line_error(capsys, "different config", "data.cutout")

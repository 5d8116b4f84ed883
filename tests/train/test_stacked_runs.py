"""Runs trained as one stacked network (fcc_train/stacked_runs.py) end like their solo runs.

The stack is exact in real arithmetic; grouped and separate convolutions sum in different orders.
At the recipe's LR 0.1 the digits net amplifies that round-off (near-constant BatchNorm channels on
2×2 maps) to 1e-2 within two epochs, so the comparison trains at LR 0.001, where stacked and solo
weights agree to 5e-7 and a stack that drops one run's FCC scale is off by 1e-3 (caught below). Also: incompatible runs train on their own, a run that
stops (non-finite loss) leaves the others training, and a killed stacked process resumes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fcc_train.checkpoint import load_checkpoint
from fcc_train.config import load_config
from fcc_train.multirun import RunSpec, run_many
from fcc_train.run import run_training

REPO = Path(__file__).resolve().parents[2]
FAST = ["optim.batch_size=64", "train.progress=none", "train.device=cpu", "train.threads=1", "optim.epochs=2",
        "fcc.start_epoch=1", "train.checkpoint_every=1"]
QUIET = ["optim.lr=0.001"]
# three methods that differ in loss, sampler and FCC but share the recipe: they stack
RUNS = [("configs/digits/ce_fcc.yaml", 0), ("configs/digits/bsce.yaml", 1), ("configs/digits/cb_drs_fcc.yaml", 2)]


def _cfg(path, seed, extra=()):
    return load_config(REPO / path, FAST + [f"train.seed={seed}", *extra])


def _state(out):
    return load_checkpoint(out / "checkpoints" / "last.pt")


def _close(a, b, rtol=1e-4, atol=2e-5, momentum_atol=1e-3):
    """Weights and BN statistics to ``atol``; momentum (a sum of gradients, which round-off moves more) to ``momentum_atol``."""
    sa, sb = _state(a), _state(b)
    for k in sa["model"]:
        torch.testing.assert_close(sa["model"][k].float(), sb["model"][k].float(), rtol=rtol, atol=atol, msg=k)
    for x, y in zip(sa["optimizer"]["momentum_buffer"], sb["optimizer"]["momentum_buffer"]):
        torch.testing.assert_close(x, y, rtol=rtol, atol=momentum_atol)


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    root = tmp_path_factory.mktemp("solo")
    for i, (path, seed) in enumerate(RUNS):
        assert run_training(_cfg(path, seed, QUIET), root / f"solo{i}", log=lambda s: None) == 0
    return root


def test_stacked_runs_match_their_solo_runs(solo, tmp_path, capsys):
    specs = [RunSpec(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    outcomes = run_many(specs, stack=True)
    assert [o.exit_code for o in outcomes] == [0, 0, 0]
    out = capsys.readouterr().out
    assert "[stack] training stack0, stack1, stack2 as one network of 3 runs" in out
    for i in range(len(RUNS)):
        _close(solo / f"solo{i}", tmp_path / f"stack{i}")
        a = [json.loads(x) for x in (solo / f"solo{i}" / "metrics.jsonl").read_text().splitlines()]
        b = [json.loads(x) for x in (tmp_path / f"stack{i}" / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in b] == [1, 2]
        for r, q in zip(a, b):
            assert q["train_loss"] == pytest.approx(r["train_loss"], rel=1e-5)
            assert q["top1_error"] == r["top1_error"]


def test_a_stack_that_drops_a_runs_fcc_scale_is_caught(solo, tmp_path, monkeypatch):
    import fcc_train.fcc as fcc

    monkeypatch.setattr(fcc, "fcc_active", lambda cfg, epoch: False)
    specs = [RunSpec(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    _close(solo / "solo1", tmp_path / "stack1")  # BSCE has no FCC: unaffected
    with pytest.raises(AssertionError):
        _close(solo / "solo0", tmp_path / "stack0")


def test_incompatible_runs_train_on_their_own(tmp_path, capsys):
    specs = [RunSpec(_cfg("configs/digits/ce.yaml", 0), tmp_path / "ce"),
             RunSpec(_cfg("configs/digits/remix.yaml", 0), tmp_path / "remix"),
             RunSpec(_cfg("configs/digits/ce.yaml", 1, ["optim.lr=0.05"]), tmp_path / "lr")]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    out = capsys.readouterr().out
    assert "remix trains on its own (remix: mixup mixes inside the step)" in out
    assert "lr trains on its own (lr: its optim settings differ from ce's)" in out
    assert "as one network" not in out


def test_a_stopped_run_leaves_the_stack_training(tmp_path):
    # γ = 1e30 makes run 0's FCC-scaled logits overflow once FCC starts (epoch 2): its loss is not finite
    specs = [RunSpec(_cfg("configs/digits/ce_fcc.yaml", 0, ["optim.epochs=3", "fcc.gamma=1e30"]), tmp_path / "nan"),
             RunSpec(_cfg("configs/digits/ce.yaml", 1, ["optim.epochs=3"]), tmp_path / "a"),
             RunSpec(_cfg("configs/digits/ce_fcc.yaml", 2, ["optim.epochs=3"]), tmp_path / "b")]
    outcomes = run_many(specs, stack=True)
    assert [o.exit_code for o in outcomes] == [3, 0, 0]
    for name in ("a", "b"):
        assert json.loads((tmp_path / name / "summary.json").read_text())["last_epoch"] == 3


@pytest.mark.slow
def test_killed_stacked_process_resumes(tmp_path):
    a, b = str(REPO / "configs/digits/ce.yaml"), str(REPO / "configs/digits/bsce_fcc.yaml")
    sets = ["--set", *FAST[:4], *QUIET, "optim.epochs=3", "fcc.start_epoch=1", "train.checkpoint_every=1"]

    def train(out, kill=None):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        if kill:
            env["FCC_TEST_KILL_AFTER_EPOCH"] = str(kill)
        cmd = [sys.executable, "-m", "fcc", "train", "--stack", "--config", a, "--config", b, "--out", str(out), *sets]
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=300)

    assert train(tmp_path / "whole").returncode == 0
    r = train(tmp_path / "cut", kill=2)
    assert r.returncode != 0  # killed after the first run's epoch-2 checkpoint: the second run is at epoch 1
    r = train(tmp_path / "cut")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "from last.pt (epoch 2/3)" in r.stdout and "from last.pt (epoch 1/3)" in r.stdout
    assert "the runs behind catch up alone" in r.stdout and "as one network of 2 runs" in r.stdout
    for name in ("digits_ce", "digits_bsce_fcc"):
        _close(tmp_path / "whole" / name, tmp_path / "cut" / name)


@pytest.mark.gpu
def test_stacked_runs_on_cuda_match_solo_runs(tmp_path, capsys, monkeypatch):
    # captured stacked step (CUDA graph) vs each run's own captured step; fp32 without TF32 for a close comparison
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    synth = ["data.dataset=synthetic", "data.synthetic_train_size=1024", "data.synthetic_test_size=256", "data.num_classes=10",
             "train.progress=none", "train.device=cuda", "train.precision=fp32", "optim.epochs=2", "fcc.start_epoch=1",
             *QUIET]
    cfgs = [load_config(REPO / "configs/cifar10_lt100/ce_fcc.yaml", synth + [f"train.seed={i}"]) for i in range(2)]
    for i, c in enumerate(cfgs):
        assert run_training(c, tmp_path / f"solo{i}", log=lambda s: None) == 0
    outcomes = run_many([RunSpec(c, tmp_path / f"stack{i}") for i, c in enumerate(cfgs)], stack=True)
    assert [o.exit_code for o in outcomes] == [0, 0]
    assert "as one network of 2 runs" in capsys.readouterr().out
    for i in range(2):
        _close(tmp_path / f"solo{i}", tmp_path / f"stack{i}", rtol=1e-3, atol=1e-4, momentum_atol=1e-2)


def test_a_stack_that_cannot_be_built_trains_interleaved(tmp_path, capsys, monkeypatch):
    import fcc_train.stacked_runs as sr

    def broken(self, runs):
        raise MemoryError("no room for the stack")

    monkeypatch.setattr(sr.StackedGroup, "__init__", broken)
    specs = [RunSpec(_cfg("configs/digits/ce.yaml", i, ["optim.epochs=1"]), tmp_path / f"r{i}") for i in range(2)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0]
    assert "could not stack r0, r1 (MemoryError: no room for the stack); training them interleaved" in capsys.readouterr().out


def test_a_failed_capture_falls_back_to_the_eager_stacked_step(solo, tmp_path, capsys, monkeypatch):
    # on CPU nothing is captured; pretend it is, and make the capture fail: the group must go on eagerly, unchanged
    import fcc_train.stacked_runs as sr
    from fcc_train.graphed import CapturedStep

    class Capturing(sr._StackedStep):
        def __init__(self, loss_fn, opt, modules, k, capture):
            super().__init__(loss_fn, opt, modules, k, capture=True)

    def failing_build(self, phase, x, y, scale):
        raise RuntimeError("capture not supported")

    monkeypatch.setattr(sr, "_StackedStep", Capturing)
    monkeypatch.setattr(CapturedStep, "_build", failing_build)
    specs = [RunSpec(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    assert "CUDA graph capture failed (RuntimeError: capture not supported)" in capsys.readouterr().out
    for i in range(len(RUNS)):
        _close(solo / f"solo{i}", tmp_path / f"stack{i}")

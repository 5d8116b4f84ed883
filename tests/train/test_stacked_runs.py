"""Runs trained as one stacked network (fcc_train/fleet/stacked_runs.py) end like their solo runs.

The stack is exact in real arithmetic; grouped and separate convolutions sum in different orders.
At the recipe's LR 0.1 the digits net amplifies that round-off (near-constant BatchNorm channels on
2×2 maps) to 1e-2 within two epochs, so the comparison trains at LR 0.001, where stacked and solo
weights agree to 5e-7 and a stack that drops one run's FCC scale is off by 1e-3 (caught below). Mixup runs
(input, manifold at the pooled feature, Remix) stack with their own draws. Also: incompatible runs train on their own, a run that
stops (non-finite loss) leaves the others training, and a killed stacked process resumes.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fcc_train.config import load_config
from fcc_train.experiments.run_request import RunRequest
from fcc_train.fleet.multirun import run_many
from fcc_train.train.checkpoint import load_checkpoint
from fcc_train.train.loop import run_training

REPO = Path(__file__).resolve().parents[2]
FAST = [
    "optim.batch_size=64",
    "train.progress=none",
    "train.device=cpu",
    "train.threads=1",
    "optim.epochs=2",
    "fcc.start_epoch=1",
    "train.checkpoint_every=1",
]
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
    for x, y in zip(sa["optimizer"]["momentum_buffer"], sb["optimizer"]["momentum_buffer"], strict=True):
        torch.testing.assert_close(x, y, rtol=rtol, atol=momentum_atol)


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    root = tmp_path_factory.mktemp("solo")
    for i, (path, seed) in enumerate(RUNS):
        assert run_training(_cfg(path, seed, QUIET), root / f"solo{i}", log=lambda s: None) == 0
    return root


def test_stacked_runs_match_their_solo_runs(solo, tmp_path, capsys):
    specs = [RunRequest.of_config(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    outcomes = run_many(specs, stack=True)
    assert [o.exit_code for o in outcomes] == [0, 0, 0]
    out = capsys.readouterr().out
    assert "[stack] training stack0, stack1, stack2 as one network of 3 runs" in out
    for i in range(len(RUNS)):
        _close(solo / f"solo{i}", tmp_path / f"stack{i}")
        a = [json.loads(x) for x in (solo / f"solo{i}" / "metrics.jsonl").read_text().splitlines()]
        b = [json.loads(x) for x in (tmp_path / f"stack{i}" / "metrics.jsonl").read_text().splitlines()]
        assert [r["epoch"] for r in b] == [1, 2]
        for r, q in zip(a, b, strict=True):
            assert q["train_loss"] == pytest.approx(r["train_loss"], rel=1e-5)
            assert q["top1_error"] == r["top1_error"]


def test_a_stack_that_drops_a_runs_fcc_scale_is_caught(solo, tmp_path, monkeypatch):
    import fcc_train.fcc as fcc

    monkeypatch.setattr(fcc, "fcc_active", lambda cfg, epoch: False)
    specs = [RunRequest.of_config(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    _close(solo / "solo1", tmp_path / "stack1")  # BSCE has no FCC: unaffected
    with pytest.raises(AssertionError):
        _close(solo / "solo0", tmp_path / "stack0")


# the mixup family stacks too: each run draws its own λ and permutation; one of them with FCC's mixed τ
MIXUP_RUNS = [
    ("configs/digits/input_mixup_fcc.yaml", 0, ()),
    ("configs/digits/manifold_mixup_fcc.yaml", 1, ()),
    ("configs/digits/remix_fcc.yaml", 2, ("fcc.mix_tau=mixed",)),
]


def test_stacked_mixup_runs_match_their_solo_runs(tmp_path, capsys):
    """Input mixup and Remix agree to 1e-6. The manifold run has one momentum entry that any round-off moves
    by 2e-3 (measured: the same solo run with 2 CPU threads instead of 1 differs from itself exactly as much),
    so its momentum gets 5e-3; a stack that mixed with wrong draws is off by far more (caught in the review
    of this test: a constant λ moved weights or BN statistics by 5e-3 to 0.7)."""
    for i, (path, seed, extra) in enumerate(MIXUP_RUNS):
        assert run_training(_cfg(path, seed, [*QUIET, *extra]), tmp_path / f"solo{i}", log=lambda s: None) == 0
    specs = [
        RunRequest.of_config(_cfg(path, seed, [*QUIET, *extra]), tmp_path / f"stack{i}")
        for i, (path, seed, extra) in enumerate(MIXUP_RUNS)
    ]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    assert "as one network of 3 runs" in capsys.readouterr().out
    for i in range(len(MIXUP_RUNS)):
        _close(tmp_path / f"solo{i}", tmp_path / f"stack{i}", momentum_atol=5e-3 if "manifold" in MIXUP_RUNS[i][0] else 1e-3)
        a = [json.loads(x) for x in (tmp_path / f"solo{i}" / "metrics.jsonl").read_text().splitlines()]
        b = [json.loads(x) for x in (tmp_path / f"stack{i}" / "metrics.jsonl").read_text().splitlines()]
        assert [q["train_loss"] for q in b] == pytest.approx([r["train_loss"] for r in a], rel=1e-5)


def test_stacked_cosine_head_runs_match_their_solo_runs(tmp_path, capsys):
    """LDAM with its normalised head (Table 1's LDAM rows), one run with DRW from the first epoch. One epoch:
    LDAM's margins at scale 30 amplify round-off so much that after two epochs the same solo run with 2 CPU
    threads instead of 1 differs from itself by 2e-4 in the weights (measured), as much as the stack does.
    The momentum holds sums of gradients of scale-30 logits (entries up to 17), so its tolerance is 1e-2."""
    runs = [("configs/digits/ldam.yaml", 0, []), ("configs/digits/ldam_drw_fcc.yaml", 1, ["method.drw_start_epoch=0"])]
    for i, (path, seed, extra) in enumerate(runs):
        assert run_training(_cfg(path, seed, [*QUIET, "optim.epochs=1", *extra]), tmp_path / f"solo{i}", log=lambda s: None) == 0
    specs = [
        RunRequest.of_config(_cfg(path, seed, [*QUIET, "optim.epochs=1", *extra]), tmp_path / f"stack{i}")
        for i, (path, seed, extra) in enumerate(runs)
    ]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0]
    assert "as one network of 2 runs" in capsys.readouterr().out
    for i in range(len(runs)):
        _close(tmp_path / f"solo{i}", tmp_path / f"stack{i}", momentum_atol=1e-2)


def test_incompatible_runs_train_on_their_own(tmp_path, capsys):
    specs = [
        RunRequest.of_config(_cfg("configs/digits/ce.yaml", 0), tmp_path / "ce"),
        RunRequest.of_config(
            _cfg("configs/digits/ce.yaml", 0, ["method.mixup=manifold", "method.manifold_layer=stage2"]), tmp_path / "mm"
        ),
        RunRequest.of_config(_cfg("configs/digits/ce.yaml", 1, ["optim.lr=0.05"]), tmp_path / "lr"),
    ]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    out = capsys.readouterr().out
    assert "mm trains on its own (mm: manifold mixup at a hidden layer mixes inside the backbone)" in out
    assert "lr trains on its own (lr: its optim settings differ from ce's)" in out
    assert "as one network" not in out


def test_a_stopped_run_leaves_the_stack_training(tmp_path):
    # γ = 1e30 makes run 0's FCC-scaled logits overflow once FCC starts (epoch 2): its loss is not finite
    specs = [
        RunRequest.of_config(_cfg("configs/digits/ce_fcc.yaml", 0, ["optim.epochs=3", "fcc.gamma=1e30"]), tmp_path / "nan"),
        RunRequest.of_config(_cfg("configs/digits/ce.yaml", 1, ["optim.epochs=3"]), tmp_path / "a"),
        RunRequest.of_config(_cfg("configs/digits/ce_fcc.yaml", 2, ["optim.epochs=3"]), tmp_path / "b"),
    ]
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
        launch = ["-m"] if not kill else [str(REPO / "tests/train/kill_runner.py"), str(kill)]
        cmd = [sys.executable, *launch, "fcc", "train", "--stack", "--config", a, "--config", b, "--out", str(out), *sets]
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


# One short epoch (4 steps, FCC on from the start): ResNet-32 on noise images amplifies round-off fast, so
# that on the CPU two epochs of these runs differ from themselves run with 2 threads by 1e-3 in the weights;
# after 4 steps stacked and solo agree to 3e-6 (weights) and 3e-3 (momentum) on the CPU.
CUDA_SYNTH = [
    "data.dataset=synthetic",
    "data.synthetic_train_size=512",
    "data.synthetic_test_size=256",
    "data.num_classes=10",
    "train.progress=none",
    "train.device=cuda",
    "train.precision=fp32",
    "optim.epochs=1",
    "fcc.start_epoch=0",
    *QUIET,
]


@pytest.mark.gpu
def test_stacked_runs_on_cuda_match_solo_runs(tmp_path, capsys, monkeypatch):
    # captured stacked step (CUDA graph) vs each run's own captured step; fp32 without TF32 for a close comparison
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    synth = CUDA_SYNTH
    cfgs = [load_config(REPO / "configs/cifar10_lt100/ce_fcc.yaml", synth + [f"train.seed={i}"]) for i in range(2)]
    _solo_then_stacked_on_cuda(cfgs, tmp_path, capsys)


@pytest.mark.gpu
def test_stacked_mixup_runs_on_cuda_match_solo_runs(tmp_path, capsys, monkeypatch):
    # each run's draws enter the stacked CUDA graph as tensors; solo runs replay their own captured mixup step
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    synth = CUDA_SYNTH
    cfgs = [
        load_config(REPO / f"configs/cifar10_lt100/{name}.yaml", synth + [f"train.seed={i}"])
        for i, name in enumerate(("input_mixup_fcc", "remix_fcc"))
    ]
    _solo_then_stacked_on_cuda(cfgs, tmp_path, capsys)


def _solo_then_stacked_on_cuda(cfgs, tmp_path, capsys):
    for i, c in enumerate(cfgs):
        assert run_training(c, tmp_path / f"solo{i}", log=lambda s: None) == 0
    outcomes = run_many([RunRequest.of_config(c, tmp_path / f"stack{i}") for i, c in enumerate(cfgs)], stack=True)
    assert [o.exit_code for o in outcomes] == [0, 0]
    assert "as one network of 2 runs" in capsys.readouterr().out
    for i in range(len(cfgs)):
        _close(tmp_path / f"solo{i}", tmp_path / f"stack{i}", rtol=1e-3, atol=1e-4, momentum_atol=1e-2)


def test_a_stack_that_cannot_be_built_trains_interleaved(tmp_path, capsys, monkeypatch):
    import fcc_train.fleet.stacked_runs as sr

    def broken(self, runs):
        raise MemoryError("no room for the stack")

    monkeypatch.setattr(sr.StackedGroup, "__init__", broken)
    specs = [RunRequest.of_config(_cfg("configs/digits/ce.yaml", i, ["optim.epochs=1"]), tmp_path / f"r{i}") for i in range(2)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0]
    assert "could not stack r0, r1 (MemoryError: no room for the stack); training them interleaved" in capsys.readouterr().out


def test_a_failed_capture_falls_back_to_the_eager_stacked_step(solo, tmp_path, capsys, monkeypatch):
    # on CPU nothing is captured; pretend it is, and make the capture fail: the group must go on eagerly, unchanged
    import fcc_train.fleet.stacked_runs as sr
    from fcc_train.train.graphs import CapturedStep

    class Capturing(sr._StackedStep):
        def __init__(self, loss_fn, opt, modules, k, capture):
            super().__init__(loss_fn, opt, modules, k, capture=True)

    def failing_build(self, phase, inputs):
        raise RuntimeError("capture not supported")

    monkeypatch.setattr(sr, "_StackedStep", Capturing)
    monkeypatch.setattr(CapturedStep, "_build", failing_build)
    specs = [RunRequest.of_config(_cfg(path, seed, QUIET), tmp_path / f"stack{i}") for i, (path, seed) in enumerate(RUNS)]
    assert [o.exit_code for o in run_many(specs, stack=True)] == [0, 0, 0]
    assert "CUDA graph capture failed (RuntimeError: capture not supported)" in capsys.readouterr().out
    for i in range(len(RUNS)):
        _close(solo / f"solo{i}", tmp_path / f"stack{i}")


def test_docstring_examples():
    import doctest

    import fcc_train.fleet.stacked_model
    import fcc_train.fleet.stacked_runs

    for mod in (fcc_train.fleet.stacked_runs, fcc_train.fleet.stacked_model):
        res = doctest.testmod(mod)
        assert res.attempted > 0 and res.failed == 0, mod.__name__

"""DDP on CPU (gloo, 2 processes) against one process: same losses, parameters and gathered metrics.

What is compared: each step's *global* batch (8 images) is the same in both runs — drawn by
``fcc_train.train.distributed.epoch_indices`` from a seed rank 0 broadcasts — and is split 4 + 4 over two
ranks; BatchNorm runs in eval mode (fixed running statistics) so a sample's forward does not depend on
which rank holds its batch mates. DDP averages gradients, so every SGD step equals the one-process step
on the whole batch. Tolerance: losses and parameters agree to 1e-4 relative (float32 summation order
differs: gradients are averaged after a per-rank mean); the test predictions, gathered across ranks
before the per-class metrics, are identical, so top-1 error and per-class recall match exactly.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("ddp_worker.py")


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    return env


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    tmp = tmp_path_factory.mktemp("ddp")
    port = _free_port()
    two = [subprocess.Popen([sys.executable, str(WORKER), str(r), "2", port, str(tmp / "two.json")], env=_env()) for r in (0, 1)]
    one = subprocess.run([sys.executable, str(WORKER), "0", "1", "0", str(tmp / "one.json")], env=_env(), timeout=120)
    codes = [p.wait(timeout=120) for p in two]
    assert one.returncode == 0 and codes == [0, 0]
    return json.loads((tmp / "one.json").read_text()), json.loads((tmp / "two.json").read_text())


def test_same_global_batches_on_both_ranks(runs: tuple[dict, dict]) -> None:
    one, two = runs
    assert two["seeds"][0] == two["seeds"][1]  # the broadcast seed: both ranks drew the same epoch lists
    assert two["seeds"][0] == one["seeds"][0]  # and the same as one process (rank 0's generator is the source)


def test_losses_and_parameters_match(runs: tuple[dict, dict]) -> None:
    one, two = runs
    a, b = torch.tensor(one["losses"]), torch.tensor(two["losses"])
    assert len(a) == 8 and torch.allclose(a, b, rtol=1e-4, atol=1e-5)
    assert float(a[0] - a[-1]) != 0.0  # the model did train (a frozen model would trivially agree)
    pa, pb = torch.tensor(one["params"]), torch.tensor(two["params"])
    assert torch.allclose(pa, pb, rtol=1e-4, atol=1e-5)
    assert abs(one["param_norm"] - two["param_norm"]) < 1e-4 * one["param_norm"]


def test_gathered_metrics_match(runs: tuple[dict, dict]) -> None:
    one, two = runs
    assert two["labels"] == one["labels"] == [i % 4 for i in range(13)]  # gathered in rank order: the full order
    assert torch.allclose(torch.tensor(one["logits"]), torch.tensor(two["logits"]), rtol=1e-4, atol=1e-4)
    assert two["top1_error"] == one["top1_error"] and two["per_class_recall"] == one["per_class_recall"]


@pytest.mark.slow
def test_torchrun_two_processes_end_to_end(tmp_path: Path) -> None:
    """``torchrun --nproc_per_node=2 -m fcc_train train`` on a tiny ImageNet-LT tree: rank 0 writes one finished run."""
    import shutil

    sys.path.insert(0, str(Path(__file__).parent))
    from large_fixtures import TRAIN_COUNTS, make_imagenet_lt

    torchrun = shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not on PATH")
    root = make_imagenet_lt(tmp_path / "data")
    cfg = Path(__file__).resolve().parents[2] / "configs" / "imagenet_lt" / "ce_fcc.yaml"
    sets = ["data.short_side=32", "data.image_size=24", "optim.batch_size=4", "optim.epochs=2", "fcc.start_epoch=1"]
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "fcc_train", "train", "--config", str(cfg)]
    cmd += ["--data-root", str(root), "--out", str(tmp_path / "run"), "--device", "cpu"]
    for s in sets + ["train.progress=none"]:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["done"] and summary["class_counts"] == TRAIN_COUNTS
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2  # one record per epoch: only rank 0 wrote

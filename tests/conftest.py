"""Shared test configuration: Hypothesis profiles, one CPU thread, gpu/slow markers.

Hypothesis profiles (choose with FCC_HYPOTHESIS_PROFILE, default ``dev``; with
``CI`` set the default is ``ci``):

* ``dev``: fast feedback, 100 examples, no deadline.
* ``ci``: built on Hypothesis's own ``ci`` profile (derandomized, no deadline).
* ``thorough``: tens of thousands of examples, for a search before a release.

CPU kernels: the golden digests and the stacked-vs-solo tolerances were recorded with PyTorch's AVX2
kernels. On an AVX-512 machine torch would pick other kernels whose float round-off differs, and at
LR 0.1 that round-off grows within a few epochs into visibly different weights. So before torch is
first imported the suite asks for the AVX2 family (ATen, oneDNN, MKL), which such a CPU also runs; set
the variables yourself to test other kernels.
"""

from __future__ import annotations

import os

os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "AVX2")

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    parent=settings.get_profile("ci"),
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("FCC_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_configure(config: pytest.Config) -> None:
    # Two threads with a busy neighbour core run 5-8x slower on these machines.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _has_cuda():
        return
    skip_gpu = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the train settings every sweep test shares: CPU, one thread, no progress output
SWEEP_TRAIN_SETS = ("train.progress=none", "train.device=cpu", "train.threads=1")


@pytest.fixture
def digits_sweep():
    """Run ``python -m fcc sweep --benchmark digits ARGS --out OUT --set optim.epochs=N ...`` in a subprocess.

    ``env`` extends the current environment (a Slurm cluster's, say); the run is pinned to one thread.
    """
    import subprocess
    import sys

    def run(out, *args: str, epochs: int = 1, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "fcc", "sweep", "--benchmark", "digits", *args, "--out", str(out)]
        cmd += ["--set", f"optim.epochs={epochs}", *SWEEP_TRAIN_SETS]
        run_env = dict(env if env is not None else os.environ, OMP_NUM_THREADS="1")
        return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=run_env, timeout=timeout)

    return run

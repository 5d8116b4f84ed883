"""benchmarks/bench_gpu.py runs every code path (tiny, on the CPU) so the one GPU call of a session cannot die on a typo."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_gpu_smoke_runs_each_section(tmp_path):
    out = tmp_path / "smoke.json"
    cmd = [
        sys.executable,
        "benchmarks/bench_gpu.py",
        "--smoke",
        "--json",
        str(out),
        "--eager-epochs",
        "1",
        "--ref-epochs",
        "1",
        "--ref-workers",
        "0",
        "--k-epochs",
        "1",
        "--concurrency",
        "1",
        "--inprocess",
        "1,2",
        "--stacked",
        "2",
        "--profile-steps",
        "1",
        "--skip",
        "full",
    ]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    got = json.loads(out.read_text())
    for key in (
        "device",
        "eager_short",
        "reference_pipeline",
        "concurrent_k1",
        "inprocess_k1",
        "inprocess_k2",
        "stacked_k2",
        "table1_projection",
        "mixup_input_fcc",
        "profile_top_kernels",
    ):
        assert key in got, key
    assert got["inprocess_k2"]["exit_codes"] == [0, 0] and got["stacked_k2"]["exit_codes"] == [0, 0]
    assert got["mixup_input_fcc"]["graphs"]["rc"] == 0
    assert got["table1_projection"]["runs"] >= got["table1_projection"]["stackable_runs"] > 0


def test_bench_stacked_smoke(tmp_path):
    out = tmp_path / "stacked.json"
    cmd = [sys.executable, "benchmarks/bench_stacked_gpu.py", "--smoke", "--ks", "2", "--layouts", "nchw", "--json", str(out)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    got = json.loads(out.read_text())
    assert got["nchw_k0"]["model"] == "resnet32" and got["nchw_k2"]["loss_finite"] is True


@pytest.mark.slow
def test_gpu_session_script_runs_to_the_end_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("on a GPU machine this would run the real measurements")
    r = subprocess.run(
        ["bash", "benchmarks/gpu_measurements.sh"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, OUT=str(tmp_path), OMP_NUM_THREADS="1"),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "=== done" in r.stdout and r.stdout.count("no CUDA device") == 3
    assert (tmp_path / "gpu.txt").is_file()

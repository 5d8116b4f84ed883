"""benchmarks/bench_gpu.py runs every code path (tiny, on the CPU) so a scarce GPU run cannot die on a typo."""

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
        env=dict(os.environ, OUT=str(tmp_path), OMP_NUM_THREADS="1", PYTHON=sys.executable),
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "=== done" in r.stdout and r.stdout.count("no CUDA device") == 3
    assert (tmp_path / "gpu.txt").is_file()


def _measurements_with_fake_python(tmp_path, passes: str):
    """Run the measurement script with PYTHON a stub that records its calls and succeeds only for ``passes``."""
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "fake_python"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\ncase "$*" in *{passes}*) exit 0;; esac\nexit 3\n')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    decoy = bin_dir / "python3"  # what PATH offers first: the script must not use it
    decoy.write_text(f"#!/bin/sh\ntouch {tmp_path / 'python3_was_called'}\nexit 0\n")
    for f in (fake, decoy):
        f.chmod(0o755)
    env = dict(os.environ, OUT=str(tmp_path / "out"), PYTHON=str(fake), PATH=f"{bin_dir}:{os.environ['PATH']}")
    r = subprocess.run(["bash", "benchmarks/gpu_measurements.sh"], cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert not (tmp_path / "python3_was_called").exists()
    return r, calls.read_text()


def test_measurements_exit_1_when_every_part_fails_and_name_them(tmp_path):
    r, calls = _measurements_with_fake_python(tmp_path, "no-such-part")
    assert r.returncode == 1, r.stdout
    for name in ("1 stacked step (exit 3)", "2 trainer (exit 3)", "3 step variants (exit 3)", "4 gpu tests (exit 3)"):
        assert f"failed: {name}" in r.stdout, r.stdout
    assert "0 of 4 parts succeeded" in r.stdout
    assert "bench_stacked_gpu.py" in calls and "-m pytest -q -m gpu" in calls  # every part ran through $PYTHON


def test_measurements_exit_0_when_one_part_succeeds(tmp_path):
    r, _ = _measurements_with_fake_python(tmp_path, "bench_gpu.py")
    assert r.returncode == 0, r.stdout
    assert "failed: 2 trainer" not in r.stdout and "failed: 1 stacked step (exit 3)" in r.stdout
    assert "1 of 4 parts succeeded" in r.stdout

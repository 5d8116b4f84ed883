"""benchmarks/bench_gpu_variants.py runs (tiny, on the CPU) and records nothing fake."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "bench_gpu_variants.py"


def _run(*args, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_without_cuda_says_so_and_writes_nothing(tmp_path):
    p = _run("--json", str(tmp_path / "out.json"))
    assert p.returncode == 0, p.stderr
    assert "no CUDA device" in p.stdout
    assert not (tmp_path / "out.json").exists()


def test_budget_spent_skips_variants_and_says_so(tmp_path):
    out = tmp_path / "out.json"
    p = _run("--smoke", "--budget-s", "0", "--variants", "graphs/bf16/cl,eager/bf16/cl", "--json", str(out))
    assert p.returncode == 0, p.stderr
    data = json.loads(out.read_text())
    assert data["variants"] == {} and set(data["skipped"]) == {"graphs/bf16/cl", "eager/bf16/cl"}
    assert data["meta"]["smoke"] is True and "smoke" in data["meta"]["device"]
    assert "skipped: --budget-s 0 spent" in p.stdout


def test_unknown_variant_is_a_usage_error():
    p = _run("--smoke", "--variants", "graphs/fp16/cl")
    assert p.returncode == 2 and "unknown variant" in p.stderr


@pytest.mark.slow  # one worker process per variant: ~25 s on a busy 2-core machine
def test_smoke_runs_every_code_path(tmp_path):
    """One variant of each mode (graphs falls back to eager on the CPU and must say so; compile_graphs runs
    the Dynamo-compiled step uncaptured; eager is the baseline), each timed, profiled and recorded."""
    out = tmp_path / "out.json"
    names = ["graphs/fp32/nchw", "compile_graphs/fp32/cl", "eager/bf16/cl"]
    p = _run("--smoke", "--variants", ",".join(names), "--json", str(out))
    assert p.returncode == 0, p.stdout + p.stderr
    data = json.loads(out.read_text())
    assert list(data["variants"]) == names and data["skipped"] == {}
    for name, r in data["variants"].items():
        assert "error" not in r, (name, r)
        assert r["ms_per_step"] > 0 and len(r["ms_per_step_blocks"]) == 2 and r["profile"]["top_cpu_ops"]
        assert r["projected_200_epoch_train_s"] == pytest.approx(r["ms_per_step"] * 96 * 200 / 1000, rel=1e-3, abs=0.01)
    g, c, e = (data["variants"][n] for n in names)
    assert g["mode_ran"] == "eager" and g["fell_back"] is True  # no CUDA: graphs cannot capture, and the JSON says so
    assert c["mode_ran"] == "compile_graphs" and c["fell_back"] is False
    assert e["mode_ran"] == "eager" and e["fell_back"] is False
    assert "replay_only_ms" not in c  # nothing was captured on the CPU, so no replay timing is invented
    assert "ran as" in p.stdout and "(FELL BACK)" in p.stdout and "measure nothing" in p.stdout
    assert data["meta"]["torch"] == torch.__version__ and data["wall_s"] > 0

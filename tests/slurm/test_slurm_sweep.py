"""``fcc sweep --launcher slurm`` against a real local Slurm: chains, local equality, cancel + resume, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]


def _slurm_config(tmp: Path) -> Path:
    path = tmp / "slurm.yaml"
    path.write_text("slurm:\n  poll_s: 1\n  time_min: 20\n  cpus_per_run: 1\n  mem_gb: 1\n")
    return path


@pytest.fixture
def sweep(digits_sweep):
    """``sweep(cluster, out, methods, epochs, *extra, launcher="slurm")``: a digits sweep of raw runs on the cluster."""

    def run(cluster, out: Path, methods: str, epochs: int, *extra: str, launcher: str = "slurm") -> subprocess.CompletedProcess:
        args = ["--methods", methods, "--variants", "raw", "--launcher", launcher, *extra]
        if launcher == "slurm" and "--slurm-config" not in extra:
            args += ["--slurm-config", str(_slurm_config(out.parent))]
        return digits_sweep(out, *args, epochs=epochs, env=cluster.env, timeout=600)

    return run


def status(cluster, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fcc", "sweep", "--status", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=cluster.env,
        timeout=120,
    )


def rows(out: Path) -> list[dict]:
    return json.loads((out / "digits" / "sweep_results.json").read_text())


def events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "slurm_run.jsonl").read_text().splitlines()]


def same_tensors(a: Path, b: Path) -> None:
    import torch

    sa, sb = (torch.load(p, map_location="cpu") for p in (a, b))
    assert sa["epoch"] == sb["epoch"]
    for part in ("model", "optimizer"):
        flat_a, flat_b = _tensors(sa[part]), _tensors(sb[part])
        assert flat_a.keys() == flat_b.keys() and flat_a, part
        for k in flat_a:
            assert torch.equal(flat_a[k], flat_b[k]), f"{part}: {k} differs"


def _tensors(obj, prefix: str = "") -> dict:
    import torch

    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    out: dict = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_tensors(v, f"{prefix}/{k}"))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.update(_tensors(v, f"{prefix}/{i}"))
    return out


def squeue_state(cluster, job_id: str) -> str:
    return subprocess.run(
        ["squeue", "-h", "--states=all", "-j", job_id, "-o", "%T"], env=cluster.env, capture_output=True, text=True
    ).stdout


def wait_for(ok, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ok():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_chain_runs_in_order_and_equals_the_local_sweep(slurm_cluster, tmp_path, sweep):
    out = tmp_path / "slurm"
    r = sweep(slurm_cluster, out, "crt", 2)
    assert r.returncode == 0, r.stdout + r.stderr
    got = rows(out)
    assert [(x["method"], x["status"]) for x in got] == [("ce", "done"), ("crt", "done")]
    ce, crt = out / "digits" / "ce" / "seed42", out / "digits" / "crt" / "seed42"
    ce_job, crt_job = (json.loads((d / "slurm_job.json").read_text()) for d in (ce, crt))
    assert crt_job["dependency"] == f"afterok:{ce_job['job_id']}"
    ce_exit = [e["time"] for e in events(ce) if e["event"] == "exit"]
    crt_start = [e["time"] for e in events(crt) if e["event"] == "start"]
    assert len(ce_exit) == 1 and len(crt_start) == 1 and crt_start[0] >= ce_exit[0]  # stage 2 started after stage 1 ended
    assert str(ce) in (crt / "config.yaml").read_text()  # cRT initialised from the CE run of this sweep

    local = tmp_path / "local"
    r = sweep(slurm_cluster, local, "crt", 2, launcher="local")
    assert r.returncode == 0, r.stdout + r.stderr
    numbers = (
        "best_top1_error",
        "best_epoch",
        "last_top1_error",
        "many",
        "medium",
        "few",
        "last_many",
        "last_medium",
        "last_few",
    )
    for a, b in zip(got, rows(local), strict=True):
        assert (a["method"], a["variant"], a["seed"]) == (b["method"], b["variant"], b["seed"])
        assert {k: a[k] for k in numbers} == {k: b[k] for k in numbers}
    for stem in ("ce", "crt"):
        same_tensors(
            out / "digits" / stem / "seed42" / "checkpoints" / "last.pt",
            local / "digits" / stem / "seed42" / "checkpoints" / "last.pt",
        )

    st = status(slurm_cluster, out)
    assert st.returncode == 0, st.stdout + st.stderr
    assert [ln.split()[1] for ln in st.stdout.splitlines()[1:3]] == ["done", "done"]

    again = sweep(slurm_cluster, out, "crt", 2)  # both finished with this config: nothing submitted
    assert again.returncode == 0 and "submitted" not in again.stdout, again.stdout + again.stderr
    assert [x["status"] for x in rows(out)] == ["skipped-done", "skipped-done"]

    other = sweep(slurm_cluster, out, "crt", 3)  # another config in a finished folder: refused, nothing submitted
    assert other.returncode == 2 and "submitted" not in other.stdout
    assert len(other.stderr.strip().splitlines()) == 1 and "optim.epochs" in other.stderr, other.stderr


def test_preempted_and_cancelled_job_resumes_bit_identical(slurm_cluster, tmp_path, sweep):
    out, epochs = tmp_path / "slurm", 16
    r = sweep(slurm_cluster, out, "ce", epochs, "--no-wait")
    assert r.returncode == 0, r.stdout + r.stderr
    run = out / "digits" / "ce" / "seed42"
    job = json.loads((run / "slurm_job.json").read_text())
    trained = lambda: len((run / "metrics.jsonl").read_text().splitlines()) if (run / "metrics.jsonl").is_file() else 0

    # preemption stand-in: Slurm requeues the running job; the same job id starts again and resumes
    wait_for(lambda: trained() >= 2, 180, "two epochs")
    subprocess.run(["scontrol", "requeue", job["job_id"]], env=slurm_cluster.env, check=True, capture_output=True)
    # Slurm holds a requeued job for two minutes (its BeginTime); release it at once, as an admin would
    wait_for(lambda: "PENDING" in squeue_state(slurm_cluster, job["job_id"]), 60, "the requeued job to be pending")
    subprocess.run(
        ["scontrol", "update", f"JobId={job['job_id']}", "StartTime=now"], env=slurm_cluster.env, check=True, capture_output=True
    )
    wait_for(lambda: sum(e["event"] == "start" for e in events(run)) >= 2, 180, "the requeued job to start again")
    first = trained()
    wait_for(lambda: trained() >= first + 2, 180, "two more epochs after the requeue")

    subprocess.run(["scancel", job["job_id"]], env=slurm_cluster.env, check=True, capture_output=True)
    wait_for(lambda: "cancelled" in status(slurm_cluster, out).stdout, 60, "the job to leave the queue")
    st = status(slurm_cluster, out)
    assert st.returncode == 1 and job["log"] in st.stdout, st.stdout
    assert not json.loads((run / "summary.json").read_text()).get("done") if (run / "summary.json").is_file() else True
    assert trained() < epochs

    r = sweep(slurm_cluster, out, "ce", epochs)  # resubmit: a new job resumes from the checkpoint
    assert r.returncode == 0, r.stdout + r.stderr
    job2 = json.loads((run / "slurm_job.json").read_text())
    assert job2["job_id"] != job["job_id"] and "resuming" in Path(job2["log"]).read_text()
    assert "resuming" in Path(job["log"]).read_text()  # the requeued attempt resumed too

    ref = tmp_path / "reference"
    cmd = [a if a != str(run) else str(ref) for a in job["command"]]
    subprocess.run(cmd, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS="1"), check=True, capture_output=True, timeout=600)
    same_tensors(run / "checkpoints" / "last.pt", ref / "checkpoints" / "last.pt")
    a, b = (json.loads((d / "summary.json").read_text()) for d in (run, ref))
    assert (a["best_top1_error"], a["last_top1_error"], a["best"]) == (b["best_top1_error"], b["last_top1_error"], b["best"])


def test_a_failing_run_is_reported_with_its_log_and_the_others_finish(slurm_cluster, tmp_path, sweep):
    import yaml

    configs = tmp_path / "configs" / "digits"
    configs.mkdir(parents=True)
    for stem in ("crt", "focal"):
        (configs / f"{stem}.yaml").write_text((REPO / "configs" / "digits" / f"{stem}.yaml").read_text())
    broken = yaml.safe_load((REPO / "configs" / "digits" / "ce.yaml").read_text())
    broken["data"].update(dataset="cifar10", root=str(tmp_path / "no-cifar-here"))  # its data are missing
    (configs / "ce.yaml").write_text(yaml.safe_dump(broken))
    out = tmp_path / "slurm"
    r = sweep(slurm_cluster, out, "crt,focal", 2, "--configs", str(tmp_path / "configs"))
    assert r.returncode == 1, r.stdout + r.stderr
    got = {x["method"]: x["status"] for x in rows(out)}
    assert got == {"ce": "failed", "crt": "blocked", "focal": "done"}
    ce = out / "digits" / "ce" / "seed42"
    log = json.loads((ce / "slurm_job.json").read_text())["log"]
    assert "failed ce/seed42" in r.stdout and log in r.stdout
    assert "no-cifar-here" in Path(log).read_text()  # the trainer's own one-line error is in the log
    st = status(slurm_cluster, out)
    states = {ln.split()[0]: ln for ln in st.stdout.splitlines()[1:-1]}
    assert " failed " in states["digits/ce/seed42"] and log in states["digits/ce/seed42"]
    assert " cancelled " in states["digits/crt/seed42"]
    assert " done " in states["digits/focal/seed42"]


def test_a_two_task_run_trains_as_one_ddp_run(slurm_cluster, tmp_path, sweep):
    """tasks_per_run 2 (as 2 GPUs would give): two Slurm tasks, one gloo process group, rank 0 writes the run."""
    out = tmp_path / "slurm"
    out.parent.mkdir(exist_ok=True)
    conf = tmp_path / "ddp.yaml"
    conf.write_text("slurm:\n  poll_s: 1\n  time_min: 20\n  tasks_per_run: 2\n  cpus_per_run: 2\n  mem_gb: 2\n")
    r = sweep(slurm_cluster, out, "ce", 2, "--slurm-config", str(conf))
    assert r.returncode == 0, r.stdout + r.stderr
    run = out / "digits" / "ce" / "seed42"
    job = json.loads((run / "slurm_job.json").read_text())
    assert job["resources"]["tasks"] == 2
    logs = sorted((run / "slurm").glob(f"{job['job_id']}_*_log.out"))
    assert [p.name for p in logs] == [f"{job['job_id']}_0_log.out", f"{job['job_id']}_1_log.out"]
    # the sweep returns at rank 0's done summary; the tasks then leave the process group and exit
    wait_for(lambda: len(events(run)) >= 2, 60, "the job's exit")
    assert [(e["event"], e.get("exit_code")) for e in events(run)] == [("start", None), ("exit", 0)], logs[0].read_text()
    assert events(run)[0]["world_size"] == 2  # the trainer saw WORLD_SIZE=2 (RANK/MASTER_ADDR from Slurm's task environment)
    assert json.loads((run / "summary.json").read_text())["done"]

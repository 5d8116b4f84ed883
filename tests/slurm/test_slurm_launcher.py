"""The Slurm launcher's parts without a cluster: resources, the DDP environment, requeue, config checks, run states."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

submitit = pytest.importorskip("submitit")

from fcc_theory.errors import UserError  # noqa: E402
from fcc_train.experiments import slurm, sweep_status  # noqa: E402
from fcc_train.experiments.slurm_resources import SlurmResources, merge_resources  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_resources_become_sbatch_parameters():
    r = SlurmResources(partition="gpu", account="lab", gpus_per_run=4, cpus_per_run=32, mem_gb=64, time_min=240)
    p = r.executor_parameters("fcc-crt/seed42", "afterok:17")
    assert (p["ntasks_per_node"], p["gpus_per_node"], p["cpus_per_task"]) == (4, 4, 8)  # one task per GPU
    assert (p["partition"], p["account"], p["time"], p["mem"], p["dependency"]) == ("gpu", "lab", 240, "65536M", "afterok:17")
    assert p["additional_parameters"]["kill_on_invalid_dep"] == "yes"
    cpu = SlurmResources().executor_parameters("x", None)
    assert cpu["ntasks_per_node"] == 1 and "gpus_per_node" not in cpu and "dependency" not in cpu


@pytest.mark.parametrize(
    "values, msg",
    [
        ({"gpus": 2}, "unknown slurm setting 'gpus'"),
        ({"time_min": 0}, "time_min"),
        ({"cpus_per_run": "8"}, "cpus_per_run"),
        ({"tasks_per_run": 0}, "tasks_per_run"),
        ({"setup": "module load x"}, "'setup' must be a list"),
    ],
)
def test_bad_resources_are_one_line_errors(values, msg):
    with pytest.raises(UserError, match=msg):
        merge_resources(values, {})


def test_command_line_wins_over_the_file():
    assert merge_resources({"partition": "a", "gpus_per_run": 1}, {"partition": "b", "gpus_per_run": None}).partition == "b"


def test_ddp_environment_from_slurm_task_variables(monkeypatch):
    for k, v in {
        "SUBMITIT_EXECUTOR": "slurm",
        "SLURM_JOB_ID": "4242",
        "SLURM_NTASKS": "8",
        "SLURM_JOB_NUM_NODES": "2",
        "SLURM_NODEID": "1",
        "SLURM_JOB_NODELIST": "gpu[07-08]",
        "SLURM_PROCID": "5",
        "SLURM_LOCALID": "1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    env = slurm.ddp_environment()
    assert {k: env[k] for k in ("MASTER_ADDR", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")} == {
        "MASTER_ADDR": "gpu07",
        "RANK": "5",
        "WORLD_SIZE": "8",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "4",
    }
    assert 20000 <= int(env["MASTER_PORT"]) <= 60000
    monkeypatch.setenv("SLURM_PROCID", "0")
    assert slurm.ddp_environment()["MASTER_PORT"] == env["MASTER_PORT"]  # every task derives the same port from the job id
    monkeypatch.setenv("SLURM_NTASKS", "1")
    assert slurm.ddp_environment() == {}  # one task: a plain single-process run


def test_an_interrupted_task_is_resubmitted_as_itself():
    task = slurm.TrainTask(["python", "-m", "fcc", "train"], "/repo", "/runs/x")
    again = task.checkpoint()
    assert isinstance(again, submitit.helpers.DelayedSubmission) and again.function is task
    assert isinstance(task, submitit.helpers.Checkpointable)


def _args(**kw) -> argparse.Namespace:
    base = {
        "table": 1,
        "benchmark": "digits",
        "methods": "ce",
        "variants": "raw",
        "seeds": "42",
        "parallel": 1,
        "per_process": 1,
        "stack": False,
        "out": "runs",
        "configs": str(REPO / "configs"),
        "data_root": None,
        "device": None,
        "overrides": [["optim.epochs=2"]],
    }
    return argparse.Namespace(**{**base, **kw})


def test_config_problem_names_the_differing_keys(tmp_path):
    from fcc_train.commands.sweep import plan_jobs

    (job,) = plan_jobs(_args(out=str(tmp_path)))
    cfg = slurm.resolved_config(job, _args(out=str(tmp_path)))
    assert slurm.config_problem(job, cfg) is None  # nothing stored yet
    job.out.mkdir(parents=True)
    import yaml

    (job.out / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert slurm.config_problem(job, cfg) is None
    (job.out / "summary.json").write_text(json.dumps({"done": True, "config": {**cfg, "optim": {**cfg["optim"], "epochs": 3}}}))
    problem = slurm.config_problem(job, cfg)
    assert problem is not None and "optim.epochs" in problem and "train" not in problem.split("(")[1]
    cosmetic = {**cfg, "train": {**cfg["train"], "device": "cuda"}}  # cosmetic keys may differ
    (job.out / "summary.json").write_text(json.dumps({"done": True, "config": cosmetic}))
    assert slurm.config_problem(job, cfg) is None


def _run_dir(tmp_path: Path, job_id: str | None = "7", events: list[dict] | None = None, done: bool = False) -> Path:
    d = tmp_path / "digits" / "ce" / "seed42"
    d.mkdir(parents=True)
    if job_id:
        (d / sweep_status.JOB_FILE).write_text(json.dumps({"job_id": job_id, "log": "/logs/7_0_log.out"}))
    if events is not None:
        (d / sweep_status.EVENTS_FILE).write_text("".join(json.dumps({"job_id": job_id, **e}) + "\n" for e in events) + '{"cut')
    if done:
        (d / "summary.json").write_text(json.dumps({"done": True}))
    return d


@pytest.mark.parametrize(
    "sched, events, want",
    [
        ({"7": ("PENDING", "Dependency")}, None, ("pending", "pending (Dependency)")),
        ({"7": ("RUNNING", "None")}, [{"event": "start"}], ("running", "running")),
        ({"7": ("CANCELLED", "None")}, [{"event": "start"}], ("cancelled", "cancelled")),
        ({"7": ("TIMEOUT", "None")}, [{"event": "start"}], ("failed", "timeout")),
        ({}, [{"event": "start"}, {"event": "exit", "exit_code": 2}], ("failed", "exit 2")),
        ({}, [{"event": "start"}], ("failed", "left the queue while running (killed or cancelled)")),
        ({}, None, ("cancelled", "left the queue before it started")),
    ],
)
def test_run_state_from_the_folder_and_the_queue(tmp_path, sched, events, want):
    st = sweep_status.run_state(_run_dir(tmp_path, events=events), "ce/seed42", sched)
    assert (st.state, st.detail) == want and st.log == "/logs/7_0_log.out" and st.job_id == "7"


def test_done_wins_and_local_runs_are_read_too(tmp_path):
    assert sweep_status.run_state(_run_dir(tmp_path / "a", done=True), "x", {"7": ("RUNNING", "")}).state == "done"
    d = _run_dir(tmp_path / "b", job_id=None)
    (d / "sweep.log").write_text("killed\n")
    st = sweep_status.run_state(d, "x", {})
    assert (st.state, st.log) == ("incomplete", str(d / "sweep.log"))
    states = sweep_status.sweep_states(tmp_path / "b")
    assert [s.name for s in states] == ["digits/ce/seed42"]
    assert "incomplete" in sweep_status.format_states(states)


def test_status_of_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    from fcc.cli import main

    assert main(["sweep", "--status", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["sweep", "--status", str(tmp_path)]) == 2
    assert "no runs under" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["cifar", "imagenet_lt", "inat18"])
def test_the_example_resource_files_load(name):
    from fcc_train.experiments.slurm_resources import read_slurm_config

    res = merge_resources(read_slurm_config(REPO / "examples" / "slurm" / f"{name}.yaml"), {})
    assert res.gpus_per_run >= 1 and res.tasks == res.gpus_per_run and res.cpus_per_task >= 4


def test_docstring_examples():
    import doctest

    from fcc_train.experiments import slurm_resources

    assert doctest.testmod(slurm_resources).failed == 0 and doctest.testmod(sweep_status).failed == 0


@pytest.mark.parametrize(
    "extra, msg",
    [
        (["--slurm-config", "no-such.yaml"], "slurm config 'no-such.yaml' does not exist"),
        (["--time-min", "0"], "time_min must be a whole number >= 1"),
        (["--per-process", "2"], "each run is its own job"),
    ],
)
def test_bad_cluster_options_are_one_line_errors(extra, msg, capsys, tmp_path):
    from fcc.cli import main

    argv = ["sweep", "--benchmark", "digits", "--methods", "ce", "--out", str(tmp_path), "--launcher", "slurm", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert msg in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())  # nothing submitted, nothing written

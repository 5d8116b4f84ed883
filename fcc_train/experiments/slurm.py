"""``fcc sweep --launcher slurm``: every planned run is one Slurm job, submitted with submitit.

Each job runs the run's own ``fcc train`` command (the one a local sweep runs), so a job that starts again —
requeued after a preemption or its time limit, or resubmitted by re-running the sweep — resumes from
``<run>/checkpoints`` exactly as a re-run local command does. :class:`TrainTask` is a
``submitit.helpers.Checkpointable``: at the time limit (submitit's USR2 signal) and on preemption submitit
requeues it with the same arguments. A chained run (cRT / LWS / τ-norm after stage 1, DiVE's student after its
teacher, LTR-WB's second stage) is submitted with ``--dependency=afterok:<stage-1 job>`` and
``--kill-on-invalid-dep=yes``, so it starts only after its stage 1 succeeded and is cancelled if it failed.

A run with ``tasks`` > 1 (one per GPU) gets ``--ntasks-per-node=tasks``; every task runs the command with the
``torch.distributed`` environment built from Slurm's (:func:`ddp_environment`), which
:mod:`fcc_train.distributed` reads like torchrun's.

Finished runs are skipped only when their stored config equals the one the sweep would train; a run folder
holding another config stops the sweep before anything is submitted, with one line naming the keys. Runs
still queued from an earlier invocation are not submitted twice: the sweep waits for them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from fcc_train.experiments.plan import Job
from fcc_train.experiments.slurm_resources import SlurmResources, resources_of
from fcc_train.experiments.sweep_status import EVENTS_FILE, JOB_FILE, run_state, scheduler_states

try:  # submitit is the ``slurm`` extra; the class below needs its base at import time
    from submitit.helpers import Checkpointable
except ImportError:  # pragma: no cover - without submitit, run_on_slurm says how to install it
    Checkpointable = object  # type: ignore[assignment,misc]

__all__ = ["TrainTask", "config_problem", "ddp_environment", "resolved_config", "run_on_slurm"]


def ddp_environment() -> dict[str, str]:
    """``MASTER_ADDR/MASTER_PORT/RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE`` for this Slurm task.

    From submitit's :class:`~submitit.helpers.TorchDistributedEnvironment` (``SLURM_PROCID``, ``SLURM_NTASKS``,
    ``SLURM_LOCALID``, the first host of ``SLURM_JOB_NODELIST``; the port derived from the job id). Empty for a
    one-task job, so the trainer runs as a single process.
    """
    from submitit.helpers import TorchDistributedEnvironment

    if int(os.environ.get("SLURM_NTASKS", "1")) <= 1:
        return {}
    d = TorchDistributedEnvironment()
    return {
        "MASTER_ADDR": str(d.master_addr),
        "MASTER_PORT": str(d.master_port),
        "RANK": str(d.rank),
        "WORLD_SIZE": str(d.world_size),
        "LOCAL_RANK": str(d.local_rank),
        "LOCAL_WORLD_SIZE": str(d.local_world_size),
    }


class TrainTask(Checkpointable):
    """One run's ``fcc train`` command as a Slurm job; requeued with the same command when interrupted."""

    def __init__(self, command: list[str], cwd: str, run_dir: str, threads: int = 1) -> None:
        self.command, self.cwd, self.run_dir, self.threads = list(command), cwd, run_dir, threads

    def _event(self, **fields: Any) -> None:
        if int(os.environ.get("SLURM_PROCID", "0")) != 0:
            return
        rec = {"job_id": os.environ.get("SLURM_JOB_ID"), "time": time.time(), "host": os.uname().nodename, **fields}
        Path(self.run_dir).mkdir(parents=True, exist_ok=True)
        with open(Path(self.run_dir) / EVENTS_FILE, "a") as fh:
            fh.write(json.dumps(rec) + "\n")

    def __call__(self) -> int:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(self.threads))
        ddp = ddp_environment()
        env.update(ddp)
        self._event(
            event="start", restarts=int(os.environ.get("SLURM_RESTART_COUNT", "0") or 0), world_size=int(ddp.get("WORLD_SIZE", 1))
        )
        rc = subprocess.run(self.command, cwd=self.cwd, env=env).returncode
        self._event(event="exit", exit_code=rc)
        if rc != 0:
            raise RuntimeError(f"fcc train exited with status {rc}: {' '.join(self.command)}")
        return rc


def resolved_config(job: Job, args: argparse.Namespace) -> dict[str, Any] | None:
    """The config ``fcc train`` will train for ``job`` (as the run folder stores it); None if it does not load
    (the run then fails in its own job, with its own message)."""
    from fcc_theory.errors import UserError
    from fcc_train.config import config_to_dict, load_config

    extra = ([f"data.root={args.data_root}"] if args.data_root else []) + ([f"train.device={args.device}"] if args.device else [])
    try:
        return config_to_dict(load_config(job.config, job.sets(args) + extra))
    except UserError:
        return None


def _stored_config(run_dir: Path) -> dict[str, Any] | None:
    import yaml

    from fcc_train.config import config_from_dict, config_to_dict

    try:
        summary = json.loads((run_dir / "summary.json").read_text())
        if summary.get("config") is not None:
            return config_to_dict(config_from_dict(summary["config"]))
    except (OSError, ValueError):
        pass
    try:
        return config_to_dict(config_from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()) or {}))
    except Exception:  # no run there yet, or a file the trainer rewrites anyway
        return None


def config_problem(job: Job, cfg: dict[str, Any] | None) -> str | None:
    """One line when ``job``'s folder holds a run of another config than ``cfg`` (the keys that differ)."""
    from fcc_train.train.run_config import config_differences

    old = _stored_config(job.out)
    if cfg is None or old is None:
        return None
    diff = config_differences(old, cfg)
    if not diff:
        return None
    return f"run folder '{job.out}' holds {job.name} with a different config ({', '.join(diff[:6])}{' ...' if len(diff) > 6 else ''})"


def _active_job(job: Job) -> str | None:
    """The id of a job an earlier invocation submitted for this run that is still pending or running."""
    st = run_state(job.out, job.name, scheduler_states(_job_ids([job])))
    return st.job_id if st.state in ("pending", "running") else None


def _job_ids(jobs: list[Job]) -> list[str]:
    ids = []
    for j in jobs:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            ids.append(str(json.loads((j.out / JOB_FILE).read_text())["job_id"]))
    return ids


def _submit(job: Job, args: argparse.Namespace, res: SlurmResources, dependency: str | None, cfg: dict[str, Any] | None) -> str:
    import submitit

    folder = job.out / "slurm"
    ex = submitit.SlurmExecutor(folder=folder, max_num_timeout=res.max_requeues)
    ex.update_parameters(stderr_to_stdout=True, **res.executor_parameters(f"fcc-{job.name}", dependency))
    cmd = job.command(args)
    sub = ex.submit(TrainTask(cmd, os.getcwd(), str(job.out), res.cpus_per_task))
    record = {
        "job_id": str(sub.job_id),
        "name": job.name,
        "log": str(sub.paths.stdout),
        "command": cmd,
        "dependency": dependency,
        "submitted": time.time(),
        "resources": {"tasks": res.tasks, "gpus": res.gpus_per_run, "cpus_per_task": res.cpus_per_task, "time_min": res.time_min},
        "config": cfg,
    }
    (job.out / JOB_FILE).write_text(json.dumps(record, indent=1))
    return str(sub.job_id)


def run_on_slurm(jobs: list[Job], args: argparse.Namespace) -> bool:
    """Submit the sweep's runs as Slurm jobs and, unless ``--no-wait``, wait for them; sets each ``Job.status``.

    Returns False when it returned right after submitting (``--no-wait``)."""
    from fcc_theory.errors import UserError

    try:
        import submitit  # noqa: F401
    except ImportError:
        raise UserError("--launcher slurm needs submitit; pip install 'fcc[slurm]' (or pip install submitit)") from None
    if getattr(args, "per_process", 1) > 1 or getattr(args, "stack", False):
        raise UserError("--per-process/--stack pack runs into one local process; with --launcher slurm each run is its own job")
    res = resources_of(args)
    import shutil

    if shutil.which("sbatch") is None:
        raise UserError("--launcher slurm needs Slurm's sbatch on PATH; run the sweep on a login node of the cluster")
    configs = {j.name: resolved_config(j, args) for j in jobs}
    problems = [p for j in jobs if (p := config_problem(j, configs[j.name]))]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{problems[0]}{more}; use another --out or delete the folder")
    ids: dict[str, str] = {}
    for j in jobs:
        if _is_done(j):
            j.status = "skipped-done"
            continue
        active = _active_job(j)
        if active:
            ids[j.name] = active
            j.status = "running"
            print(f"[sweep] {j.name}: already queued as job {active}", flush=True)
            continue
        dep = ids.get(j.depends.name) if j.depends is not None else None
        j.out.mkdir(parents=True, exist_ok=True)
        ids[j.name] = _submit(j, args, res, f"afterok:{dep}" if dep else None, configs[j.name])
        j.status = "running"
        print(f"[sweep] submitted {j.name} as job {ids[j.name]}{f' (after job {dep})' if dep else ''}", flush=True)
    if getattr(args, "no_wait", False):
        print(f"[sweep] {len(ids)} jobs queued; follow them with: fcc sweep --status {args.out}", flush=True)
        return False
    _wait(jobs, ids, res.poll_s)
    return True


def _is_done(job: Job) -> bool:
    from fcc_train.experiments.sweep import is_done as done

    return done(job.out)


def _wait(jobs: list[Job], ids: dict[str, str], poll_s: float) -> None:
    """Poll squeue until no submitted job is pending or running, printing each state change."""
    waiting = [j for j in jobs if j.name in ids]
    seen: dict[str, str] = {}
    t0 = time.monotonic()
    while waiting:
        sched = scheduler_states([ids[j.name] for j in waiting])
        still = []
        for j in waiting:
            st = run_state(j.out, j.name, sched)
            if seen.get(j.name) != st.state:
                seen[j.name] = st.state
                where = f"; see {st.log}" if st.state in ("failed", "cancelled") and st.log else ""
                print(f"[sweep] {st.state} {j.name} (job {st.job_id}{', ' + st.detail if st.detail else ''}){where}", flush=True)
            if st.state in ("pending", "running"):
                still.append(j)
            else:
                blocked = st.state == "cancelled" and j.depends is not None and j.depends.status in ("failed", "blocked")
                j.status = "done" if st.state == "done" else ("blocked" if blocked else "failed")
                j.seconds = time.monotonic() - t0
        waiting = still
        if waiting:
            time.sleep(poll_s)

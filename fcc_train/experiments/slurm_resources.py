"""What one sweep run asks Slurm for: GPUs, CPUs, memory, time, partition/account, from the command line or a YAML.

A ``--slurm-config FILE`` holds a ``slurm:`` mapping (or is the mapping itself)::

    slurm:
      partition: gpu
      account: my-lab
      gpus_per_run: 1          # one task per GPU: a run with 4 GPUs is 4 DDP processes
      cpus_per_run: 8          # split over the tasks (cpus_per_task = cpus_per_run // tasks)
      mem_gb: 32
      time_min: 240            # a job that reaches it is requeued and resumes from its checkpoint
      setup: ["module load cuda"]          # shell lines run before the job's command
      additional: {constraint: a100}       # any other sbatch flag
      max_requeues: 3

Command-line options (``--slurm-partition``, ``--gpus-per-run``, ...) win over the file.

>>> r = SlurmResources(gpus_per_run=4, cpus_per_run=16)
>>> r.tasks, r.cpus_per_task
(4, 4)
>>> merge_resources({"mem_gb": 8, "time_min": 30}, {"time_min": 90}).time_min
90
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SlurmResources", "add_slurm_arguments", "merge_resources", "read_slurm_config", "resources_of"]


@dataclass(frozen=True)
class SlurmResources:
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_run: int = 0
    tasks_per_run: int | None = None  # default: one per GPU (one on a CPU-only run); set it for CPU DDP runs
    cpus_per_run: int = 1
    mem_gb: float | None = None
    time_min: int = 60
    setup: list[str] = field(default_factory=list)
    additional: dict[str, Any] = field(default_factory=dict)
    max_requeues: int = 3
    poll_s: float = 15.0  # how often a waiting sweep asks squeue

    @property
    def tasks(self) -> int:
        return self.tasks_per_run if self.tasks_per_run else max(1, self.gpus_per_run)

    @property
    def cpus_per_task(self) -> int:
        return max(1, self.cpus_per_run // self.tasks)

    def executor_parameters(self, job_name: str, dependency: str | None) -> dict[str, Any]:
        """Keyword arguments of ``submitit.SlurmExecutor.update_parameters`` for one run."""
        params: dict[str, Any] = {
            "job_name": job_name,
            "time": self.time_min,
            "nodes": 1,
            "ntasks_per_node": self.tasks,
            "cpus_per_task": self.cpus_per_task,
            "signal_delay_s": 90 if self.time_min > 5 else 30,
            # a dependant of a failed run is cancelled instead of pending forever
            "additional_parameters": {"kill_on_invalid_dep": "yes", "requeue": True, **self.additional},
        }
        if self.gpus_per_run:
            params["gpus_per_node"] = self.gpus_per_run
        if self.mem_gb:
            params["mem"] = f"{int(self.mem_gb * 1024)}M"
        for key in ("partition", "account", "qos"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.setup:
            params["setup"] = list(self.setup)
        if dependency:
            params["dependency"] = dependency
        return params


_FIELDS = {f.name for f in dataclasses.fields(SlurmResources)}


def merge_resources(file_values: dict[str, Any], cli_values: dict[str, Any]) -> SlurmResources:
    """The file's values with the command line's (those not None) on top, checked."""
    from fcc_theory.errors import UserError

    values = {**file_values, **{k: v for k, v in cli_values.items() if v is not None}}
    unknown = sorted(set(values) - _FIELDS)
    if unknown:
        raise UserError(f"unknown slurm setting '{unknown[0]}'; use {', '.join(sorted(_FIELDS))}")
    res = SlurmResources(**values)
    for name in ("gpus_per_run", "cpus_per_run", "time_min", "max_requeues"):
        v = getattr(res, name)
        if not isinstance(v, int) or v < (0 if name in ("gpus_per_run", "max_requeues") else 1):
            raise UserError(
                f"slurm setting {name} must be a whole number >= {0 if name in ('gpus_per_run', 'max_requeues') else 1}, got {v!r}"
            )
    if res.tasks_per_run is not None and (not isinstance(res.tasks_per_run, int) or res.tasks_per_run < 1):
        raise UserError(f"slurm setting tasks_per_run must be a whole number >= 1, got {res.tasks_per_run!r}")
    if not isinstance(res.setup, list) or not isinstance(res.additional, dict):
        raise UserError("slurm setting 'setup' must be a list of shell lines and 'additional' a mapping of sbatch flags")
    return res


def read_slurm_config(path: str | Path) -> dict[str, Any]:
    """The ``slurm:`` mapping of a YAML file (or the whole file when it has no such key)."""
    import yaml

    from fcc_theory.errors import UserError

    p = Path(path)
    if not p.is_file():
        raise UserError(f"slurm config '{p}' does not exist; write a YAML with a 'slurm:' mapping (see docs/large-scale.md)")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"slurm config '{p}' is not valid YAML ({type(exc).__name__}); fix its syntax") from None
    data = data.get("slurm", data) if isinstance(data, dict) else data
    if not isinstance(data, dict):
        raise UserError(f"slurm config '{p}' must hold a mapping of slurm settings (partition, gpus_per_run, ...)")
    return data


def add_slurm_arguments(parser: argparse.ArgumentParser) -> None:
    """``fcc sweep``'s cluster options (only read with ``--launcher slurm``)."""
    g = parser.add_argument_group("cluster (--launcher slurm)")
    g.add_argument("--slurm-config", default=None, help="YAML with a 'slurm:' mapping of the settings below (the options win)")
    g.add_argument("--slurm-partition", default=None, help="sbatch --partition")
    g.add_argument("--slurm-account", default=None, help="sbatch --account")
    g.add_argument("--gpus-per-run", type=int, default=None, help="GPUs of each run, one task (DDP process) per GPU (default 0)")
    g.add_argument("--cpus-per-run", type=int, default=None, help="CPUs of each run, over its tasks (default 1)")
    g.add_argument("--mem-gb", type=float, default=None, help="memory of each run in GB (default: the partition's)")
    g.add_argument(
        "--time-min", type=int, default=None, help="time limit of each job in minutes; at it the job is requeued (default 60)"
    )
    g.add_argument("--no-wait", action="store_true", help="submit and return; re-run the same command (or --status) later")


def resources_of(args: argparse.Namespace) -> SlurmResources:
    file_values = read_slurm_config(args.slurm_config) if getattr(args, "slurm_config", None) else {}
    cli = {
        "partition": getattr(args, "slurm_partition", None),
        "account": getattr(args, "slurm_account", None),
        "gpus_per_run": getattr(args, "gpus_per_run", None),
        "cpus_per_run": getattr(args, "cpus_per_run", None),
        "mem_gb": getattr(args, "mem_gb", None),
        "time_min": getattr(args, "time_min", None),
    }
    return merge_resources(file_values, cli)

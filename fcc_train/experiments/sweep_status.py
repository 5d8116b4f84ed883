"""Each sweep run's state, read from the sweep folder alone (``fcc sweep --status OUT``).

A run folder (``<out>/<benchmark>/<config>/seed<k>``) says what happened to it:
``summary.json`` with ``done: true`` — done; ``slurm_job.json`` (written when the sweep submitted it: job id,
log path, command, resolved config) and ``slurm_run.jsonl`` (one line per start and exit of the job, written by
the job itself) — where the job is. While Slurm still knows the job, its state comes from ``squeue`` (or
``sacct`` where accounting is on); after that from the job's own lines. A run without a Slurm job that has a
``sweep.log`` ran in a local sweep and did not finish.

States: ``done``, ``pending`` (with Slurm's reason, e.g. waiting on its stage 1), ``running``, ``failed`` (it
started and did not finish: non-zero exit, timed out without requeue, killed), ``cancelled`` (left the queue
before it finished without failing itself: ``scancel``, or its stage 1 failed), ``incomplete`` (a local run
that did not finish). Every state but done names the log.

>>> classify("PENDING"), classify("COMPLETING"), classify("TIMEOUT"), classify("CANCELLED by 0")
('pending', 'running', 'failed', 'cancelled')
"""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "EVENTS_FILE",
    "FINISHED",
    "JOB_FILE",
    "RunState",
    "classify",
    "format_states",
    "progress_line",
    "run_state",
    "scheduler_states",
    "sweep_states",
]

JOB_FILE = "slurm_job.json"
EVENTS_FILE = "slurm_run.jsonl"

_PENDING = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "SUSPENDED", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
_RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "RESIZING"}


def classify(slurm_state: str) -> str:
    """Our state for a Slurm job state (``squeue %T`` / ``sacct State``; sacct appends ``by UID`` to CANCELLED)."""
    st = slurm_state.split()[0].upper() if slurm_state.strip() else ""
    if st in _PENDING:
        return "pending"
    if st in _RUNNING:
        return "running"
    if st == "CANCELLED":
        return "cancelled"
    return "failed"  # COMPLETED without a done summary, FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, ...


def _run(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def scheduler_states(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Job id → (Slurm state, reason) for the jobs Slurm still knows (squeue, then sacct for the rest)."""
    found: dict[str, tuple[str, str]] = {}
    if not job_ids:
        return found
    out = _run(["squeue", "-h", "--states=all", "-u", getpass.getuser(), "-o", "%i|%T|%r"])
    for line in (out or "").splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[0] in job_ids:
            found[parts[0]] = (parts[1], parts[2])
    rest = [j for j in job_ids if j not in found]
    if rest:
        out = _run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(rest)])
        for line in (out or "").splitlines():
            parts = line.strip().split("|")
            if len(parts) == 2 and parts[0] in rest:
                found[parts[0]] = (parts[1], "")
    return found


@dataclass
class RunState:
    name: str
    run_dir: Path
    state: str
    job_id: str | None = None
    log: str | None = None
    detail: str = ""


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _events(run_dir: Path, job_id: str) -> list[dict[str, Any]]:
    try:
        lines = (run_dir / EVENTS_FILE).read_text().splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:  # a line cut by a kill
            continue
        if isinstance(e, dict) and str(e.get("job_id")) == job_id:
            events.append(e)
    return events


def run_state(run_dir: Path, name: str, sched: dict[str, tuple[str, str]]) -> RunState:
    """One run's state from its folder and the scheduler's answer ``sched`` (:func:`scheduler_states`)."""
    summary = _read_json(run_dir / "summary.json") or {}
    job = _read_json(run_dir / JOB_FILE)
    job_id = str(job["job_id"]) if job and job.get("job_id") is not None else None
    log = str(job["log"]) if job and job.get("log") else None
    if summary.get("done"):
        return RunState(name, run_dir, "done", job_id, log)
    if job_id is None:
        local = run_dir / "sweep.log"
        return RunState(name, run_dir, "incomplete", None, str(local) if local.is_file() else None, "not finished (local run)")
    if job_id in sched:
        slurm_state, reason = sched[job_id]
        state = classify(slurm_state)
        detail = slurm_state.lower() + (f" ({reason})" if reason and reason not in ("None", "(null)") else "")
        return RunState(name, run_dir, state, job_id, log, detail)
    events = _events(run_dir, job_id)
    last = events[-1] if events else None
    if last is None:
        return RunState(name, run_dir, "cancelled", job_id, log, "left the queue before it started")
    if last.get("event") == "exit":
        return RunState(name, run_dir, "failed", job_id, log, f"exit {last.get('exit_code')}")
    return RunState(name, run_dir, "failed", job_id, log, "left the queue while running (killed or cancelled)")


def _run_dirs(out: Path) -> list[Path]:
    marks = ("summary.json", JOB_FILE, "sweep.log", "config.yaml")
    found = {p.parent for m in marks for p in out.rglob(m) if "checkpoints" not in p.parts}
    return sorted(d for d in found if d.name.startswith("seed"))


def sweep_states(out: str | Path) -> list[RunState]:
    """The state of every run under the sweep folder ``out`` (or one benchmark's folder in it)."""
    out = Path(out)
    dirs = _run_dirs(out)
    jobs = {d: _read_json(d / JOB_FILE) for d in dirs}
    ids = [str(j["job_id"]) for j in jobs.values() if j and j.get("job_id") is not None]
    sched = scheduler_states(ids)
    return [run_state(d, str(d.relative_to(out)), sched) for d in dirs]


def format_states(states: list[RunState]) -> str:
    width = max([len(s.name) for s in states] + [3])
    lines = [f"{'run':<{width}} {'state':<10} {'job':>8}  detail"]
    for s in states:
        where = f"; log {s.log}" if s.log and s.state != "done" else ""
        lines.append(f"{s.name:<{width}} {s.state:<10} {s.job_id or '-':>8}  {s.detail}{where}".rstrip())
    counts: dict[str, int] = {}
    for s in states:
        counts[s.state] = counts.get(s.state, 0) + 1
    lines.append(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return "\n".join(lines)


FINISHED = ("done", "failed", "blocked", "busy", "skipped-done")
"""The states of a local sweep's run that will not change again in this call (:mod:`fcc_train.experiments.sweep`)."""


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else (f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s")


def progress_line(statuses: list[str], durations: list[float], slots: int) -> str:
    """What a local sweep prints as runs finish: runs finished / total, and an ETA.

    ``statuses``: every run's status; ``durations``: the seconds of the runs trained so far in this call;
    ``slots``: runs trained at once (``--parallel`` × ``--per-process``). The ETA assumes the runs still to
    finish take the mean duration of those that did, ``slots`` at a time (the running ones counted as whole).

    >>> progress_line(["done", "done", "running", "pending", "pending", "skipped-done"], [60.0, 90.0], 1)
    '[sweep] 3/6 runs finished (2 done, 1 skipped as done); eta 3m45s (mean 1m15s a run, 1 at a time)'
    >>> progress_line(["failed", "blocked"], [5.0], 2)
    '[sweep] 2/2 runs finished (1 failed, 1 blocked)'
    """
    total = len(statuses)
    finished = [st for st in statuses if st in FINISHED]
    counts = {st: finished.count(st) for st in FINISHED if st in finished}
    names = {"skipped-done": "skipped as done"}
    parts = ", ".join(f"{n} {names.get(st, st)}" for st, n in counts.items())
    line = f"[sweep] {len(finished)}/{total} runs finished" + (f" ({parts})" if parts else "")
    left = total - len(finished)
    if left and durations:
        mean = sum(durations) / len(durations)
        rounds = -(-left // max(slots, 1))
        line += f"; eta {_duration(mean * rounds)} (mean {_duration(mean)} a run, {slots} at a time)"
    return line

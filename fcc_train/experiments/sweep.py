"""Running a planned sweep (:mod:`fcc_train.experiments.plan`) as ``fcc train`` processes, and collecting
its results.

Runs whose ``summary.json`` says ``done`` are skipped (and still collected), only when their stored config is
the one the sweep would train; folders in use are reported ``busy``; children live in their own process group
and end with the sweep (:mod:`fcc_train.experiments.sweep_guard`). A failed run is reported and its
dependants are blocked. Several runs share one GPU two ways: ``parallel`` processes at once (the GPU
time-slices between processes: 4 processes measured only 1.16x the throughput of one on an H200), and
``per_process`` runs inside each process, written to a jobs file for ``fcc train --jobs``, each on its own
CUDA stream with their epochs overlapped (:mod:`fcc_train.fleet.multirun`); with ``stack`` the runs of a
process that step in lockstep train as one network of grouped convolutions
(:mod:`fcc_train.fleet.stacked_runs`).

Results: ``<out>/<benchmark>/sweep_results.json`` and ``.csv``, one row per run (:func:`collect`), merged with
the rows of earlier calls.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fcc_train.experiments.plan import Job, SweepOptions, next_group, shown_command, stack_order
from fcc_train.experiments.run_request import write_jobs_file
from fcc_train.experiments.sweep_guard import check_stored_configs, children_guarded, folder_busy, merge_rows, popen_child
from fcc_train.experiments.sweep_status import progress_line
from fcc_train.results.summary import RunSummary, SummaryError, read_summary

__all__ = ["all_succeeded", "collect", "group_command", "is_done", "run_all", "write_results"]


def _summary_of(out: Path) -> RunSummary | None:
    try:
        return read_summary(out / "summary.json")
    except SummaryError:
        return None


def is_done(out: Path) -> bool:
    """Whether the run folder ``out`` holds a finished run (a readable ``summary.json`` with ``done: true``)."""
    s = _summary_of(out)
    return s is not None and s.done


def group_command(jobs: list[Job], args: Any, jobs_file: Path) -> list[str]:
    """One ``fcc train --jobs FILE`` process for several runs (written to ``jobs_file``)."""
    opts = SweepOptions.of(args)
    write_jobs_file([j.request for j in jobs], jobs_file)
    stack = ["--stack"] if opts.stack else []
    return [sys.executable, "-m", "fcc", "train", "--jobs", str(jobs_file), *stack, *opts.shared_flags()]


@dataclass
class _Process:
    jobs: list[Job]
    proc: subprocess.Popen[bytes]
    log: IO[str]
    log_path: Path
    started: float


def _start(group: list[Job], opts: SweepOptions, number: int, env: dict[str, str]) -> _Process:
    for j in group:
        j.out.mkdir(parents=True, exist_ok=True)
        j.status = "running"
    if len(group) == 1:
        log_path = group[0].out / "sweep.log"
        cmd = group[0].command(opts)
    else:
        stamp = f"{os.getpid()}-{number}"
        log_path = opts.folder / "sweep_groups" / f"group-{stamp}.log"
        cmd = group_command(group, opts, log_path.with_suffix(".json"))
    log = open(log_path, "a")  # noqa: SIM115 (closed when the process ends)
    print(f"[sweep] start {', '.join(j.name for j in group)}: {shown_command(cmd)}", flush=True)
    proc = popen_child(cmd, log, env)
    return _Process(group, proc, log, log_path, time.perf_counter())


def _finish(p: _Process, rc: int) -> None:
    p.log.close()
    for j in p.jobs:
        j.seconds = time.perf_counter() - p.started
        # in a group process one run may fail while the others finish: each is judged by its own summary
        j.status = "done" if is_done(j.out) and (rc == 0 or len(p.jobs) > 1) else "failed"
        tail = "" if j.status == "done" else "; see " + str(p.log_path)
        print(f"[sweep] {j.status} {j.name} (exit {rc}, {j.seconds:.1f} s){tail}", flush=True)


def run_all(jobs: list[Job], args: Any) -> None:
    """Train every pending job, ``parallel`` processes at once, ``per_process`` runs each; the jobs' ``status``
    and ``seconds`` say how each went."""
    opts = SweepOptions.of(args)
    check_stored_configs(jobs, opts)
    for j in jobs:
        if is_done(j.out):
            j.status = "skipped-done"
    per = max(1, opts.per_process)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    order = stack_order(jobs) if opts.stack and per > 1 else None
    running: list[_Process] = []
    started = 0
    skipped = sum(j.status == "skipped-done" for j in jobs)
    print(f"[sweep] {len(jobs)} runs: {skipped} already done, {len(jobs) - skipped} to train", flush=True)
    with children_guarded(lambda: [p.proc for p in running]):
        _drive(jobs, opts, per, order, env, running, started)


def _drive(
    jobs: list[Job], opts: SweepOptions, per: int, order: Any, env: dict[str, str], running: list[_Process], started: int
) -> None:
    while True:
        for j in jobs:  # a failed stage 1 blocks its stage 2
            if j.status == "pending" and j.depends is not None and j.depends.status in ("failed", "blocked", "busy"):
                j.status = "blocked"
                print(f"[sweep] {j.name}: blocked ({j.depends.name} {j.depends.status})", flush=True)
        ready = [j for j in jobs if j.status == "pending" and (j.depends is None or j.depends.status in ("done", "skipped-done"))]
        for j in ready:  # never a second trainer into a folder in use
            if (holder := folder_busy(j)) is not None:
                j.status = "busy"
                print(f"[sweep] busy {j.name}: {holder}", flush=True)
        ready = [j for j in ready if j.status == "pending"]
        while ready and len(running) < opts.parallel:
            group = ready[:per] if order is None else next_group(ready, per, order)
            ready = [j for j in ready if j not in group]
            started += len(group) > 1  # group processes are numbered from 1
            running.append(_start(group, opts, started, env))
        if not running:
            break
        time.sleep(0.2)
        still = []
        for p in running:
            rc = p.proc.poll()
            if rc is None:
                still.append(p)
            else:
                _finish(p, rc)
                trained = [j.seconds for j in jobs if j.status in ("done", "failed")]
                print(progress_line([j.status for j in jobs], trained, opts.parallel * per), flush=True)
        running[:] = still  # in place: the guard reads this list


def collect(jobs: list[Job], benchmark: str) -> list[dict[str, Any]]:
    """One row per run: its summary's numbers (None where the run did not finish or its summary is unreadable)."""
    from fcc_train.experiments.catalog import method_entry

    rows = []
    for j in jobs:
        s = _summary_of(j.out)
        entry = method_entry(j.key)
        rows.append(
            {
                "benchmark": benchmark,
                "method": j.key,
                "title": entry.title,
                "table_row": entry.table_row,
                "variant": "fcc" if j.fcc else "raw",
                "seed": j.seed,
                "config": str(j.config),
                "run_dir": str(j.out),
                "status": j.status,
                **_numbers(s),
            }
        )
    return rows


def _numbers(s: RunSummary | None) -> dict[str, Any]:
    """A row's numbers from a run's summary (all None without one)."""
    if s is None:
        return {"done": False} | dict.fromkeys(_NUMBER_COLUMNS)
    b, la = s.best, s.last
    values = (s.best_top1_error, s.best_epoch, s.last_top1_error, b.many, b.medium, b.few, la.many, la.medium, la.few, s.seconds)
    return {"done": s.done} | dict(zip(_NUMBER_COLUMNS, values, strict=True))


_NUMBER_COLUMNS = (
    "best_top1_error",
    "best_epoch",
    "last_top1_error",
    "many",
    "medium",
    "few",
    "last_many",
    "last_medium",
    "last_few",
    "seconds",
)


def write_results(rows: list[dict[str, Any]], folder: Path) -> tuple[Path, Path]:
    """``sweep_results.json`` and ``.csv`` in ``folder``, ``rows`` merged with the rows already there; returns their paths.

    An earlier ``sweep_results.json`` that does not read as a list of rows is kept as ``.damaged`` and not merged.
    """
    from io import StringIO

    from fcc_train.train.runlog import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    pj, pc = folder / "sweep_results.json", folder / "sweep_results.csv"
    old: Any = []
    if pj.is_file():
        try:
            old = json.loads(pj.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            old = None
        if not (isinstance(old, list) and all(isinstance(r, dict) for r in old)):
            pj.replace(pj.with_name(pj.name + ".damaged"))
            print(f"[sweep] {pj} was unreadable; kept as {pj.name}.damaged, written again from this call's rows", flush=True)
            old = []
    rows = merge_rows(old, rows)
    atomic_write_text(pj, json.dumps(rows, indent=2))
    fieldnames = list(dict.fromkeys(k for r in rows for k in r)) or ["benchmark"]
    buf = StringIO()
    w = csv.DictWriter(buf, fieldnames=fieldnames)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(pc, buf.getvalue())
    return pj, pc


def all_succeeded(jobs: list[Job]) -> bool:
    return all(j.status in ("done", "skipped-done") for j in jobs)

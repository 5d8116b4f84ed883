"""What keeps a local sweep from mixing runs up: stored configs compared before a run is skipped, folders in use
left alone, children in their own process group that die with the sweep, results merged with earlier ones.

* A run folder that already holds a run (finished or not) of another config than the one the sweep would
  train stops the sweep with one line per folder naming the differing keys; ``--retrain`` deletes those
  folders and trains them again (:func:`check_stored_configs`).
* A folder whose lock (:mod:`fcc_train.train.runlock`) a live process holds is reported ``busy`` and not
  started (:func:`folder_busy`); the child's own lock would refuse it anyway.
* Each ``fcc train`` child runs in its own process group (``start_new_session=True``) so a Ctrl-C at the terminal
  reaches only the sweep, which forwards SIGINT/SIGTERM to every child's group and, when it ends for any
  reason it can catch, kills what is left (:func:`children_guarded`). On Linux a child also gets SIGKILL
  when the sweep dies of a SIGKILL (``PR_SET_PDEATHSIG``), so a restarted sweep never meets a trainer left over.
* ``sweep_results.json``/``.csv`` keep the rows of earlier calls: a row is replaced only by a row of the same
  benchmark, method, variant and seed (:func:`merge_rows`).

>>> old = [{"benchmark": "digits", "method": "ce", "variant": "raw", "seed": 1, "best_top1_error": 30.0}]
>>> new = [{"benchmark": "digits", "method": "ce", "variant": "raw", "seed": 2, "best_top1_error": 29.0}]
>>> [r["seed"] for r in merge_rows(old, new)]
[1, 2]
>>> merge_rows(old, [dict(old[0], best_top1_error=28.0)])[0]["best_top1_error"]
28.0
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from fcc_theory.errors import UserError
from fcc_train.experiments.plan import Job, SweepOptions
from fcc_train.train.runlock import RunFolderBusy, RunLock

__all__ = ["ROW_KEY", "check_stored_configs", "children_guarded", "folder_busy", "merge_rows", "popen_child"]

ROW_KEY = ("benchmark", "method", "variant", "seed")


def check_stored_configs(jobs: list[Job], opts: SweepOptions, say: Callable[[str], None] = print) -> None:
    """Refuse (one line per folder, then a :class:`UserError`) folders holding a run of another config; with
    ``opts.retrain`` delete them so they train again."""
    from fcc_train.experiments.slurm import config_problem, resolved_config

    problems = [(j, p) for j in jobs if (p := config_problem(j, resolved_config(j, opts)))]  # type: ignore[arg-type]
    if not problems:
        return
    if not getattr(opts, "retrain", False):
        for _, p in problems:
            say(f"[sweep] {p}")
        raise UserError(
            f"{len(problems)} run folder(s) hold runs of another config; pass --retrain to delete and train them again, "
            "or delete them, or use another --out"
        )
    for j, p in problems:
        if folder_busy(j) is None:
            say(f"[sweep] --retrain: {p}; deleted, trains again")
            shutil.rmtree(j.out)


def folder_busy(job: Job) -> str | None:
    """The line saying who holds ``job``'s run folder, or None when no live process does."""
    if not (job.out / ".lock").is_file():
        return None
    lock = RunLock(job.out)
    try:
        lock.acquire()
    except RunFolderBusy as exc:
        return str(exc)
    lock.release()
    return None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def popen_child(cmd: list[str], log: Any, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """An ``fcc train`` child in its own process group (it leads it), killed if the sweep is."""
    pre = _die_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True, preexec_fn=pre)


def _signal_all(procs: list[subprocess.Popen[bytes]], sig: int) -> None:
    for p in procs:
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p.pid, sig)


@contextlib.contextmanager
def children_guarded(procs: Callable[[], list[subprocess.Popen[bytes]]]) -> Iterator[None]:
    """Forward SIGINT/SIGTERM to every live child's group (then stop the sweep); on the way out, however the
    sweep ends, SIGTERM what is still running, and SIGKILL it after 10 s."""

    def forward(signum: int, _frame: Any) -> None:
        _signal_all(procs(), signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        live = [p for p in procs() if p.poll() is None]
        _signal_all(live, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in live:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
        _signal_all(live, signal.SIGKILL)  # those still running
        for p in live:
            p.wait()


def merge_rows(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier rows, each replaced in place by a new row of the same :data:`ROW_KEY`, then the new rows not seen before."""

    def key(r: dict[str, Any]) -> tuple[str, ...]:
        return tuple(str(r.get(k)) for k in ROW_KEY)

    fresh = {key(r): r for r in new}
    merged = [fresh.pop(key(r), r) for r in old]
    return merged + [r for r in new if key(r) in fresh]

"""Kill a digits-LT run inside each kind of write, many times, resume it, and keep the folders for comparison.

    python tests/train/kill_anywhere.py --work DIR [--trials N] [--kills-per-trial K] [--mutant no-rng]

The parent imports the trainer once and forks one child per process of a run (no ptrace, no library
kill switch). In each child the writers' primitives are wrapped: every ``write`` of a file opened for
writing by :mod:`fcc_train.train.checkpoint` (the atomic writer: checkpoints, ``best.pt``'s published
copy, ``summary.json``, ``per_class_recall.csv``, ``metrics.csv``, ``config.yaml``) or appended to by
:mod:`fcc_train.train.runlog` (``metrics.jsonl`` / ``metrics.csv`` rows), every ``os.fsync`` (of a file
or of a folder) and every ``os.replace`` (just before and just after it) is one numbered *event* of a
*kind* (the operation and the file's final name). A child told to die at the j-th event of kind K
does so with ``SIGKILL`` right there; a write is cut halfway first (half its bytes reach the file),
so the killed writer leaves a truncated temporary file or a cut ``metrics.jsonl`` line behind.

First an uninterrupted reference run records its events. Then each trial runs the same command into
its own folder: up to ``--kills-per-trial`` processes each die at an event: the first process of trial
t at the t-th kind the reference run showed (so N trials, N >= the number of kinds, kill inside every
kind), at an occurrence drawn from a seeded generator; each resumed one at the first occurrence it
reaches of the next kind in a second turn over the kinds, then one more process resumes
the run to its end. A process that finishes before its event ends the trial's kills (``killed``
false in the report). The run loop's clock is pinned to 0 in every process (the
wall-clock fields ``seconds`` of each metrics record, of ``summary.json`` and of a checkpoint, and
``summary.json``'s ``timing_this_process``, are then 0 everywhere), so the trial's folder can be
compared with the reference byte for byte, every file, checkpoints included. The comparison is the
caller's (``tests/train/test_kill_anywhere.py``); this script writes ``report.json`` with the
reference folder, each trial's folder, its kills (kind, occurrence, whether the child died by
SIGKILL) and the wall time.

``--mutant no-rng`` adds one trial, ``mutant``, whose processes skip restoring the random states on
resume (a broken resume the comparison must catch); it dies at the last epoch's metrics line, after a
checkpoint, so its resumed epoch depends on the restored states.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout's packages, as `python -m` from its root

import torch

torch.set_num_threads(1)

from fcc_train.config import load_config  # noqa: E402
from fcc_train.train import checkpoint, loop, runlog  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 3
OVERRIDES = [
    f"optim.epochs={EPOCHS}",
    "fcc.start_epoch=1",
    # every other epoch writes last.pt (and the last), so best.pt is written on its own (epoch 1) and as a copy of last.pt
    "train.checkpoint_every=2",
    "optim.batch_size=64",
    "train.progress=none",
    "train.device=cpu",
    "train.threads=1",
]


# the kinds the trials kill in first (the writes a kill is most likely to damage), then every other kind in turn
FIRST_KINDS = [
    "write last.pt",  # inside the checkpoint's temporary file
    "after-rename last.pt",  # last.pt published, best.pt not yet
    "write best.pt",
    "append metrics.jsonl",
    "write summary.json",
    "fsync last.pt",
    "append metrics.csv",
    "write per_class_recall.csv",
    "before-rename last.pt",
    "before-rename best.pt",
    "write metrics.csv",
]


def _final_name(name: str) -> str:
    """``last.pt`` for ``.last.pt.tmp.123`` (the atomic writer's temporary file), else the name itself."""
    m = checkpoint._TEMP.match(name)
    return m["name"] if m else name


def _fd_name(fd: int) -> str:
    """The final name of the file behind ``fd``; ``checkpoints/`` or ``run folder/`` for a folder (the same in every trial)."""
    try:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        return "?"
    if path.is_dir():
        return "checkpoints/" if path.name == "checkpoints" else "run folder/"
    return _final_name(path.name)


class _Hook:
    """Numbers the events of one process and dies at the chosen one (``target``: (kind, occurrence) or None)."""

    def __init__(self, target: tuple[str, int] | None) -> None:
        self.target = target
        self.seen: dict[str, int] = {}
        self.events: list[str] = []

    def event(self, kind: str, before_death: Any = None) -> None:
        self.events.append(kind)
        self.seen[kind] = self.seen.get(kind, 0) + 1
        if self.target is not None and self.target == (kind, self.seen[kind]):
            if before_death is not None:
                before_death()
            os.kill(os.getpid(), signal.SIGKILL)


class _File:
    """A file opened for writing whose ``write`` calls are events (a dying write lands half its bytes)."""

    def __init__(self, f: Any, kind: str, hook: _Hook) -> None:
        self._f, self._kind, self._hook = f, kind, hook

    def write(self, data: Any) -> int:
        def half() -> None:
            if isinstance(data, str):
                self._f.write(data[: len(data) // 2])
            else:
                raw = memoryview(data).cast("B")
                self._f.write(raw[: len(raw) // 2])
            self._f.flush()

        self._hook.event(self._kind, half)
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _File:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


def _install(hook: _Hook, mutant: str | None) -> None:
    import builtins

    real_open, real_fsync, real_replace = builtins.open, os.fsync, os.replace

    def opener(op: str):
        def hooked_open(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
            f = real_open(file, mode, *a, **k)
            if any(c in mode for c in "wa+"):
                return _File(f, f"{op} {_final_name(Path(file).name)}", hook)
            return f

        return hooked_open

    def fsync(fd: int) -> None:
        hook.event(f"fsync {_fd_name(fd)}")
        real_fsync(fd)

    def replace(src: Any, dst: Any, *a: Any, **k: Any) -> None:
        name = Path(dst).name
        hook.event(f"before-rename {name}")
        real_replace(src, dst, *a, **k)
        hook.event(f"after-rename {name}")

    checkpoint.open = opener("write")  # type: ignore[attr-defined]  # shadows the builtin in that module only
    runlog.open = opener("append")  # type: ignore[attr-defined]
    os.fsync, os.replace = fsync, replace
    # a pinned clock: the wall-clock fields become 0, so a resumed folder can equal the reference byte for byte
    pinned = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("_")})
    pinned.perf_counter = pinned.monotonic = pinned.time = lambda: 0.0
    loop.time = pinned  # type: ignore[assignment]
    if mutant == "no-rng":
        loop.restore_rng = lambda state, generators=None: None  # type: ignore[assignment]


def _child(out: Path, target: tuple[str, int] | None, mutant: str | None, log: Path, events: Path | None) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    hook = _Hook(target)
    _install(hook, mutant)
    cfg = load_config(REPO / "configs/digits/ce_fcc.yaml", OVERRIDES)
    rc = loop.run_training(cfg, out)
    if events is not None:
        events.write_text(json.dumps(hook.events))
    sys.stdout.flush()
    os._exit(rc)


def _process(out: Path, target: tuple[str, int] | None, mutant: str | None, log: Path, events: Path | None = None) -> int:
    """Run one process of the run in a forked child; its raw wait status."""
    pid = os.fork()
    if pid == 0:
        try:
            _child(out, target, mutant, log, events)
        finally:
            os._exit(70)
    _, status = os.waitpid(pid, 0)
    return status


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--kills-per-trial", type=int, default=3)
    ap.add_argument("--mutant", choices=["no-rng"], default=None, help="add one trial whose resume is broken this way")
    args = ap.parse_args()
    t0 = time.monotonic()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    # warm up in the parent (lazy imports, the data set, first-call costs), so that each forked child only trains
    warm = load_config(REPO / "configs/digits/ce_fcc.yaml", [*OVERRIDES, "optim.epochs=1"])
    loop.run_training(warm, work / "warmup", log=lambda msg: None)
    ref = work / "reference"
    status = _process(ref, None, None, work / "reference.log", work / "reference_events.json")
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        raise SystemExit(f"the reference run failed (wait status {status}); see {work / 'reference.log'}")
    events: list[str] = json.loads((work / "reference_events.json").read_text())
    counts: dict[str, int] = {}
    for e in events:
        counts[e] = counts.get(e, 0) + 1
    kinds = [k for k in FIRST_KINDS if k in counts] + sorted(k for k in counts if k not in FIRST_KINDS)
    specs: list[tuple[str, list[tuple[str, int]], str | None]] = []
    later = 2  # the kinds of the later kills of each trial, in turn from the third (trial t's first kill: kind t)
    for t in range(args.trials):
        rng = random.Random(1000 + t)
        plan: list[tuple[str, int]] = []
        for i in range(args.kills_per_trial):
            if i == 0:
                kind = kinds[t % len(kinds)]
            else:
                kind = kinds[later % len(kinds)]
                later += 1
            # the first process of a trial reaches every occurrence; a resumed one dies at the first it reaches
            plan.append((kind, rng.randint(1, counts[kind]) if i == 0 else 1))
        specs.append((f"trial{t:03d}", plan, None))
    if args.mutant:  # dies at the last epoch's metrics line, after a checkpoint: its resume must restore the RNG states
        specs.append(("mutant", [("append metrics.jsonl", counts["append metrics.jsonl"])], args.mutant))
    trials: list[dict[str, Any]] = []
    for name, plan, mutant in specs:
        folder = work / name
        kills: list[dict[str, Any]] = []
        for target in plan:
            st = _process(folder, target, mutant, work / f"{name}.log")
            died = os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGKILL
            kills.append({"kind": target[0], "occurrence": target[1], "killed": died})
            if not died:  # the run reached its end before that write: later processes would find it finished
                break
        st = _process(folder, None, mutant, work / f"{name}.log")
        trials.append({"name": name, "folder": str(folder), "mutant": mutant, "kills": kills, "final_status": st})
    report = {
        "reference": str(ref),
        "kinds": counts,
        "trials": trials,
        "wall_s": round(time.monotonic() - t0, 1),
    }
    (work / "report.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

"""Several training runs in one process, their epochs overlapped on one GPU.

Experimental until measured on a GPU: kept working and tested on the CPU (interleaved = solo), but
whether it pays off is not yet measured.

Table 1 is 184 small runs. One ResNet-32 at batch 128 leaves most of an H100
idle (its kernels are 8×8×64 maps, a few dozen thread blocks each), and K
separate processes do not fill it either: without MPS the GPU time-slices
between processes, which measured only 1.16× aggregate throughput at K = 4
(docs/performance.md). Here the runs share one process and each gets its own
CUDA stream. :class:`~fcc_train.train.loop.TrainingRun` splits a run at the epoch's
single host synchronisation, so the driver can queue run *k*'s next epoch
(graph replays return at once) and then wait for run *k+1*'s current one:
the kernels of different runs execute side by side.

Each run keeps its own random state. The process-wide generators (python,
numpy, torch CPU and CUDA) are swapped in and out around every call, so a run
trained here draws what it draws alone; on the CPU, where the runs simply
alternate, the results are bit-identical to separate runs (tested).

A run that fails (bad data folder, NaN loss) is reported and dropped; the
others go on. Under torchrun, use one run per process.

>>> from fcc_train.config import load_config
>>> from fcc_train.experiments.run_request import RunRequest
>>> spec = RunRequest.of_config(load_config(None, ["optim.epochs=1"]), Path("runs/a"))
>>> spec.name, _label(Path("runs/sweep/cifar10_lt100/ce_fcc/seed0"))
('experiment', 'ce_fcc/seed0')
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

import torch

from fcc_theory.errors import UserError
from fcc_train.experiments.run_request import RunRequest
from fcc_train.train.checkpoint import capture_rng, restore_rng

__all__ = ["RunOutcome", "run_many"]


@dataclass
class RunOutcome:
    """How a run of :func:`run_many` ended: exit code 0 (done), 3 (NaN loss) or 1 (error, one line in ``error``)."""

    spec: RunRequest
    exit_code: int
    error: str | None = None
    last_epoch: int = 0  # the last epoch the run reached (resumed ones included)
    extra: dict[str, Any] = field(default_factory=dict)


class _Prefixed:
    """A text stream that starts every line with ``[name] `` (several runs share one terminal or log)."""

    def __init__(self, prefix: str, target: TextIO) -> None:
        self.prefix, self.target, self._at_line_start = prefix, target, True

    def write(self, text: str) -> int:
        text = text.replace("\r", "\n")  # a progress bar's carriage returns become lines
        for piece in text.splitlines(keepends=True):
            if self._at_line_start and piece.strip():
                self.target.write(self.prefix)
            self.target.write(piece)
            self._at_line_start = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.target.flush()


def _label(out: Path) -> str:
    """``ce_fcc/seed0`` for a sweep's folders, else the folder's name."""
    return f"{out.parent.name}/{out.name}" if out.name.startswith("seed") and out.parent.name else out.name


class _Slot:
    """A run with its stream and its own copy of the process-wide random state."""

    def __init__(self, spec: RunRequest, stream: TextIO, use_streams: bool) -> None:
        from fcc_train.train.loop import TrainingRun

        self.spec, self.stream = spec, stream
        out = _Prefixed(f"[{_label(spec.out)}] ", stream)
        self.run = TrainingRun(spec.config, spec.out, stream=out, log=lambda s: print(s, file=out, flush=True))
        self.run.in_epoch_progress = False  # runs overlap on one GPU: a mid-epoch loss read would wait for the others
        self.cuda_stream = None
        if use_streams:
            self.cuda_stream = torch.cuda.Stream()
        self.rng: dict[str, Any] | None = None
        self.outcome: RunOutcome | None = None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Everything of this run happens on its stream and with its random state."""
        if self.rng is not None:
            restore_rng(self.rng)
        ctx = torch.cuda.stream(self.cuda_stream) if self.cuda_stream is not None else contextlib.nullcontext()
        with ctx:
            yield
        self.rng = capture_rng()

    def call(self, what: Callable[[], Any]) -> bool:
        """Run one step of this run; False (and an outcome) when the run has ended, by finishing or failing."""
        try:
            with self.active():
                result = what()
        except (KeyboardInterrupt, SystemExit):
            raise
        except UserError as exc:
            return self._end(1, str(exc))
        except Exception as exc:  # one run's crash must not take the others down
            traceback.print_exc(file=sys.stderr)
            return self._end(1, f"{type(exc).__name__}: {exc}")
        if result is False or self.run.finished:
            return self._end(int(self.run.exit_code or 0))
        return True

    def _end(self, code: int, error: str | None = None) -> bool:
        self.outcome = RunOutcome(self.spec, code, error, last_epoch=self.run.epoch)
        self.run.close()  # its folder's lock: the other runs of this process go on
        return False


class _Stack:
    """Slots whose runs train as one stacked network (:mod:`fcc_train.fleet.stacked_runs`), on the first slot's stream."""

    def __init__(self, slots: list[_Slot]) -> None:
        from fcc_train.fleet.stacked_runs import StackedGroup

        self.slots = slots
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()  # the runs were built on their own streams; the stack reads them on one
        with self._stream():
            self.group = StackedGroup([s.run for s in slots])
        names = ", ".join(_label(s.spec.out) for s in slots)
        print(f"[stack] training {names} as one network of {len(slots)} runs", file=slots[0].stream, flush=True)

    def _stream(self) -> contextlib.AbstractContextManager:
        cs = self.slots[0].cuda_stream
        return torch.cuda.stream(cs) if cs is not None else contextlib.nullcontext()

    def _call(self, name: str) -> bool:
        try:
            with self._stream():
                getattr(self.group, name)()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a failure of the fused step ends every run in it
            if not isinstance(exc, UserError):
                traceback.print_exc(file=sys.stderr)
            for slot in self.slots:
                if not slot.run.finished:
                    slot._end(1, f"stacked group: {type(exc).__name__}: {exc}")
            return False
        return True

    def first(self) -> list[Any]:
        return [self] if self._call("queue_epoch") else []

    def advance(self) -> list[Any]:
        """Finish the epoch; go on as a stack, a smaller stack (a run stopped) or a single run."""
        if not self._call("finish_epoch"):
            return []
        for slot in self.slots:
            if slot.run.finished and slot.outcome is None:
                slot._end(int(slot.run.exit_code or 0))
        alive = [slot for slot in self.slots if not slot.run.finished]
        if len(alive) == len(self.slots):
            return self.first()
        if not alive:
            return []
        with self._stream():
            self.group.unstack_all()  # the remaining runs are rebuilt from their own state
        return [u for unit in _together(alive) for u in unit.first()]


class _CatchUp:
    """Stackable runs at different epochs: the ones behind train alone, one epoch at a time, then they stack."""

    def __init__(self, slots: list[_Slot]) -> None:
        self.slots = slots

    def first(self) -> list[Any]:
        alive = [s for s in self.slots if s.outcome is None]
        if not alive:
            return []
        target = max(s.run.epoch for s in alive)
        behind = [s for s in alive if s.run.epoch < target]
        if not behind:
            return [u for unit in _together(alive) for u in unit.first()]
        for s in behind:
            s.call(s.run.queue_epoch) and s.call(s.run.finish_epoch)
        return [self]

    advance = first


class _Single:
    """One slot driven alone (interleaved with the other units)."""

    def __init__(self, slot: _Slot) -> None:
        self.slot = slot

    def first(self) -> list[Any]:
        return [self] if self.slot.call(self.slot.run.queue_epoch) else []

    def advance(self) -> list[Any]:
        ok = self.slot.call(self.slot.run.finish_epoch) and self.slot.call(self.slot.run.queue_epoch)
        return [self] if ok else []


def _units(slots: list[_Slot], stack: bool) -> list[Any]:
    """Greedy: each run joins the first stack it is compatible with (same lockstep), else starts one."""
    if not stack:
        return [_Single(s) for s in slots]
    from fcc_train.fleet.stacked_runs import stack_problem

    groups: list[list[_Slot]] = []
    for slot in slots:
        for g in groups:
            if stack_problem([x.run for x in g] + [slot.run], same_epoch=False) is None:
                g.append(slot)
                break
        else:
            groups.append([slot])
    units: list[Any] = []
    for g in groups:
        if len(g) == 1:
            if len(slots) > 1:
                why = stack_problem([slots[0].run, g[0].run]) if g[0] is not slots[0] else None
                print(
                    f"[stack] {_label(g[0].spec.out)} trains on its own{f' ({why})' if why else ''}", file=g[0].stream, flush=True
                )
            units.append(_Single(g[0]))
        elif len({x.run.epoch for x in g}) > 1:
            print(
                f"[stack] {', '.join(_label(x.spec.out) for x in g)} resumed at different epochs: "
                "the runs behind catch up alone, then they stack",
                file=g[0].stream,
                flush=True,
            )
            units.append(_CatchUp(g))
        else:
            units.extend(_together(g))
    return units


def _together(slots: list[_Slot]) -> list[Any]:
    """Stackable slots at one epoch as one stack (one slot: alone); if the stack cannot be built, interleaved."""
    if len(slots) == 1:
        return [_Single(slots[0])]
    try:
        return [_Stack(slots)]
    except Exception as exc:  # e.g. out of memory building the stack: the runs still train, side by side
        print(
            f"[stack] could not stack {', '.join(_label(x.spec.out) for x in slots)} ({type(exc).__name__}: {exc}); "
            "training them interleaved",
            file=slots[0].stream,
            flush=True,
        )
        return [_Single(x) for x in slots]


def run_many(
    specs: list[RunRequest], *, stream: TextIO | None = None, use_streams: bool | None = None, stack: bool = False
) -> list[RunOutcome]:
    """Train every spec in this process, interleaved epoch by epoch; one outcome per spec, in order.

    ``use_streams`` (default: when CUDA is available and a spec asks for it)
    gives each run its own CUDA stream. ``stack=True`` trains runs that can step
    in lockstep as one stacked network (:mod:`fcc_train.fleet.stacked_runs`); the
    others are interleaved as usual. Run folders must differ.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise UserError("several runs in one process cannot be combined with torchrun; launch one config per torchrun")
    outs = [s.out.resolve() for s in specs]
    dup = next((o for o in outs if outs.count(o) > 1), None)
    if dup is not None:
        raise UserError(f"two runs write to the same folder '{dup}'; give each run its own --out")
    stream = stream or sys.stdout
    if use_streams is None:
        use_streams = torch.cuda.is_available() and any(s.config.train.device != "cpu" for s in specs)
    slots = [_Slot(s, stream, use_streams) for s in specs]
    started = [slot for slot in slots if slot.call(slot.run.start)]
    # queue every unit's first epoch, then: wait for unit k, queue its next epoch, go on to unit k+1
    live = [u for unit in _units(started, stack) for u in unit.first()]
    while live:
        live = [u for unit in live for u in unit.advance()]
    return [slot.outcome or RunOutcome(slot.spec, 1, "did not finish") for slot in slots]


def report(outcomes: list[RunOutcome], stream: TextIO | None = None) -> int:
    """One line per run; the process exit code (0 when every run finished)."""
    stream = stream or sys.stdout
    for o in outcomes:
        state = {0: "done", 3: "stopped: non-finite loss"}.get(o.exit_code, f"failed: {o.error}")
        print(f"{o.spec.name} -> {o.spec.out}: {state}", file=stream, flush=True)
    return 0 if all(o.exit_code == 0 for o in outcomes) else max(o.exit_code for o in outcomes)

"""Progress inside an epoch (``train.progress``): a tqdm step bar on a terminal, plain lines in logs.

* ``bar`` (``auto`` on a terminal): two `tqdm <https://tqdm.github.io>`_ bars, the run's epochs and the
  current epoch's steps, each with its rate and ETA;
* ``lines`` (``auto`` otherwise: a log file, a sweep's ``sweep.log``): a line at every tenth of an epoch's
  steps, and sooner when :data:`LINE_SECONDS` have passed since the last line (a slow epoch never leaves a log
  silent for longer), e.g. ``epoch 3/60 step 45/90 (50%) loss 1.2345 4.1 steps/s eta 11s``;
* ``none``: nothing inside an epoch.

The running loss lives on the device (:meth:`~fcc_train.train.step.Step.peek_loss`); reading it is a host
synchronisation that drains the GPU's queue of work. So it is read only at the moments a line or a bar's loss
is printed (at most ten lines per epoch plus one per :data:`LINE_SECONDS`, or once per
:data:`BAR_LOSS_SECONDS` on a bar), never per step: counting steps is a Python integer.

The clocks are injectable (``clock``) so that the time rule is tested without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TextIO

__all__ = ["BAR_LOSS_SECONDS", "LINE_SECONDS", "BarProgress", "LineProgress", "line_boundaries"]

LINE_SECONDS = 30.0  # lines mode: the longest a log stays silent inside an epoch
BAR_LOSS_SECONDS = 1.0  # bar mode: how often the bar's loss is read (one host sync each)

Clock = Callable[[], float]
LossReader = Callable[[], float]


def line_boundaries(total: int) -> list[int]:
    """The steps after which lines mode prints a line: each tenth of ``total`` (rounded up), the last step excluded
    (the epoch's own line follows it).

    >>> line_boundaries(95)
    [10, 19, 29, 38, 48, 57, 67, 76, 86]
    >>> line_boundaries(4)
    [1, 2, 3]
    """
    return sorted({math.ceil(total * j / 10) for j in range(1, 10)} - {0, total})


def _eta(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s}s"


class LineProgress:
    """Lines mode for one epoch: :meth:`update` after each step, :meth:`close` at its end."""

    def __init__(
        self,
        stream: TextIO,
        epoch: int,
        epochs: int,
        total: int | None,
        clock: Clock = time.monotonic,
        every_s: float = LINE_SECONDS,
    ) -> None:
        self.stream, self.epoch, self.epochs, self.total = stream, epoch, epochs, total
        self.clock, self.every_s = clock, every_s
        self.t0 = self.last = clock()
        self.marks = line_boundaries(total) if total else []
        self.lines = 0

    def update(self, done: int, loss: LossReader) -> None:
        """Step ``done`` (1-based) has been queued; print a line if a tenth was crossed or ``every_s`` passed."""
        now = self.clock()
        crossed = bool(self.marks) and done >= self.marks[0]
        if not (crossed or now - self.last >= self.every_s):
            return
        self.marks = [m for m in self.marks if m > done]
        self.last = now
        elapsed = max(now - self.t0, 1e-9)
        rate = done / elapsed
        where = f"step {done}/{self.total} ({100 * done // self.total}%)" if self.total else f"step {done}"
        eta = f" eta {_eta((self.total - done) / rate)}" if self.total and rate > 0 else ""
        print(f"epoch {self.epoch}/{self.epochs} {where} loss {loss():.4f} {rate:.1f} steps/s{eta}", file=self.stream, flush=True)
        self.lines += 1

    def close(self) -> None:
        pass


class BarProgress:
    """Bar mode: a tqdm bar over the run's epochs and one over the current epoch's steps (closed at its end)."""

    def __init__(
        self, stream: TextIO, epochs: int, clock: Clock = time.monotonic, loss_every_s: float = BAR_LOSS_SECONDS
    ) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.stream, self.epochs, self.clock, self.loss_every_s = stream, epochs, clock, loss_every_s
        self.epoch_bar: Any = None
        self.step_bar: Any = None
        self._loss_at = -math.inf

    def _epochs_bar(self, done: int) -> Any:
        if self.epoch_bar is None:  # opened at the first epoch this process trains (a resumed run starts part-way)
            self.epoch_bar = self._tqdm(
                total=self.epochs, initial=done, desc="epochs", unit="ep", file=self.stream, position=0, dynamic_ncols=True
            )
        return self.epoch_bar

    def begin_epoch(self, epoch: int, total: int | None) -> BarProgress:
        self._epochs_bar(epoch - 1)
        self.step_bar = self._tqdm(
            total=total, desc=f"epoch {epoch}", unit="step", file=self.stream, position=1, leave=False, dynamic_ncols=True
        )
        self._loss_at = -math.inf
        return self

    def update(self, done: int, loss: LossReader) -> None:
        bar = self.step_bar
        if bar is None:
            return
        bar.update(done - bar.n)
        now = self.clock()
        if now - self._loss_at >= self.loss_every_s:  # one host sync per loss_every_s, not per step
            self._loss_at = now
            bar.set_postfix_str(f"loss {loss():.4f}", refresh=False)

    def close(self) -> None:
        if self.step_bar is not None:
            self.step_bar.close()
            self.step_bar = None

    def end_epoch(self, epoch: int, loss: float, err: float | None) -> None:
        bar = self._epochs_bar(epoch - 1)
        bar.set_postfix_str(f"loss {loss:.4f}" + (f" err {err:.2f}%" if err is not None else ""), refresh=False)
        bar.update(epoch - bar.n)

    def write(self, msg: str) -> None:
        """A note printed above the bars (tqdm redraws them below it)."""
        self._tqdm.write(msg, file=self.stream)

    def finish(self) -> None:
        self.close()
        if self.epoch_bar is not None:
            self.epoch_bar.close()
            self.epoch_bar = None

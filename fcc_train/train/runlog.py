"""What a run writes next to its checkpoints (CONTRIBUTING.md, "Where things live").

* ``metrics.jsonl`` — one JSON object per evaluated epoch (epoch, lr,
  train_loss, top1_error, many, medium, few, seconds) and ``metrics.csv`` with
  the same columns (rewritten from the records, so a resumed run never holds
  duplicate epochs);
* ``per_class_recall.csv`` — class, training count, shot split, recall at the
  best and at the last evaluated epoch;
* ``summary.json`` — best/last top-1 error and shot accuracies, class counts,
  the resolved config, seconds, ``done: true``;
* progress (:mod:`fcc_train.train.progress`): tqdm bars on a terminal, plain lines
  otherwise, inside every epoch and at its end;
* TensorBoard event files and W&B scalars when ``train.tensorboard`` / ``train.wandb`` ask for
  them (:mod:`fcc_train.train.trackers`; skipped with one note when the library is missing).

Only rank 0 writes (``enabled=False`` on the other ranks).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Sequence, TextIO

from fcc_train.data.longtail import shot_of
from fcc_train.train.progress import BarProgress, LineProgress
from fcc_train.train.trackers import Trackers

__all__ = ["RECORD_FIELDS", "RunLog", "atomic_write_text", "format_results"]

RECORD_FIELDS = ["epoch", "lr", "train_loss", "top1_error", "many", "medium", "few", "seconds"]


def atomic_write_text(path: Path, text: str, fsync: bool = False) -> None:
    """Write ``text`` to ``path`` atomically (a kill leaves the old file or the new one, never a part)."""
    # logs are re-derivable, so no fsync by default (it costs ms per epoch on some file systems); the rename is atomic
    from fcc_train.train.checkpoint import atomic_open

    with atomic_open(path, "w", fsync=fsync, encoding="utf-8", needed=len(text.encode())) as f:
        f.write(text)


_atomic_write_text = atomic_write_text


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def format_results(summary: dict[str, Any]) -> str:
    """The end-of-run table: best and last top-1 error and many/medium/few accuracy (percent)."""
    rows = [
        ("best", summary.get("best_epoch"), summary.get("best_top1_error"), summary.get("best", {})),
        ("last", summary.get("last_epoch"), summary.get("last_top1_error"), summary.get("last", {})),
    ]
    lines = [f"{'':5} {'epoch':>5} {'top-1 err %':>11} {'many %':>7} {'medium %':>8} {'few %':>6}"]
    for name, ep, err, m in rows:
        lines.append(
            f"{name:5} {ep if ep is not None else '-':>5} {_fmt(err):>11} {_fmt(m.get('many')):>7} {_fmt(m.get('medium')):>8} {_fmt(m.get('few')):>6}"
        )
    return "\n".join(lines)


class RunLog:
    """Writes a run folder's logs; silent and file-free when ``enabled`` is False (ranks > 0).

    ``clock`` (seconds, monotonic) times the progress lines; tests pass a fake one.
    """

    def __init__(
        self,
        run_dir: str | Path,
        *,
        enabled: bool = True,
        progress: str = "auto",
        tensorboard: bool = False,
        wandb: bool | str | None = False,
        run_name: str = "",
        config: dict[str, Any] | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dir = Path(run_dir)
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self.clock = clock
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.mode = {"auto": "bar" if tty else "lines", "bar": "bar", "none": "none", "lines": "lines"}.get(progress, "lines")
        self.records: list[dict[str, Any]] = []
        self.bar: BarProgress | None = None
        if enabled and self.mode == "bar":
            try:
                self.bar = BarProgress(self.stream, 0, clock=clock)
            except ImportError:  # tqdm comes with the train extra; without it the run still reports in lines
                self.mode = "lines"
                self.note("tqdm is not installed; progress is printed as lines (pip install tqdm)")
        self.trackers = (
            Trackers(self.dir, tensorboard=tensorboard, wandb=wandb, name=run_name, config=config, note=self.note)
            if enabled
            else None
        )

    # -- messages -----------------------------------------------------------
    def note(self, msg: str) -> None:
        if not self.enabled:
            return
        if self.bar is not None and self.bar.epoch_bar is not None:
            self.bar.write(msg)
        else:
            print(msg, file=self.stream, flush=True)

    def epoch_progress(self, epoch: int, epochs: int, total: int | None) -> LineProgress | BarProgress | None:
        """The progress of one training epoch of ``total`` steps (None: nothing to show inside epochs)."""
        if not self.enabled or self.mode == "none":
            return None
        if self.bar is not None:
            self.bar.epochs = epochs
            return self.bar.begin_epoch(epoch, total)
        return LineProgress(self.stream, epoch, epochs, total, clock=self.clock)

    def progress(self, epoch: int, epochs: int, loss: float, err: float | None, sec_per_epoch: float) -> None:
        """One update per epoch (the loss is synchronised once per epoch anyway, for the NaN check)."""
        if not self.enabled or self.mode == "none":
            return
        if self.bar is not None:
            self.bar.epochs = epochs
            self.bar.end_epoch(epoch, loss, err)
            if epoch >= epochs:
                self.bar.finish()
            return
        err_s = f" err {err:5.2f}%" if err is not None else ""
        every = max(1, epochs // 10)
        if epoch == 1 or epoch == epochs or epoch % every == 0:
            print(f"epoch {epoch}/{epochs} loss {loss:.4f}{err_s} {sec_per_epoch:.2f}s/epoch", file=self.stream, flush=True)

    # -- records --------------------------------------------------------------
    def load_existing(self, up_to_epoch: int) -> None:
        """On resume: keep the records of epochs ≤ the checkpoint's and rewrite the files (drops epochs that were lost)."""
        from fcc_theory.errors import UserError

        self.records = []
        path = self.dir / "metrics.jsonl"
        if path.exists() and not path.is_file():
            raise UserError(f"'{path}' is not a file; move it out of the run folder (it is written again from the run)")
        damaged = 0
        if path.is_file():
            lines = path.read_bytes().split(b"\n")
            for i, raw in enumerate(lines):
                if not raw.strip():
                    continue
                try:
                    r = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    damaged += i < len(lines) - 1  # the last line may be one cut by a kill
                    continue
                epoch = r.get("epoch") if isinstance(r, dict) else None
                if not isinstance(epoch, int) or isinstance(epoch, bool):
                    damaged += 1
                elif epoch <= up_to_epoch:
                    self.records.append(r)
        if self.enabled and damaged:  # nothing lost: the damaged file is kept next to the rewritten one
            keep = path.with_name("metrics.jsonl.damaged")
            keep.write_bytes(path.read_bytes())
            self.note(f"{damaged} damaged line(s) in '{path}' skipped; the file as it was is kept in '{keep.name}'")
        if self.enabled:
            self._rewrite()

    def log_epoch(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if not self.enabled:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record) + "\n"
        try:
            with open(self.dir / "metrics.jsonl", "a", encoding="utf-8") as f:
                f.write(line)
            csv_path = self.dir / "metrics.csv"
            if csv_path.is_file():  # append one row; the file is rewritten whole only on resume
                with open(csv_path, "a", encoding="utf-8", newline="") as f:
                    csv.DictWriter(f, fieldnames=RECORD_FIELDS, extrasaction="ignore").writerow(
                        {k: ("" if record.get(k) is None else record.get(k)) for k in RECORD_FIELDS}
                    )
            else:
                self._write_csv()
        except OSError as exc:
            from fcc_train.train.checkpoint import write_error

            err = write_error(exc, self.dir / "metrics.jsonl", len(line))
            if err is None:
                raise
            raise err from None
        if self.trackers is not None:
            self.trackers.log(record)

    def _rewrite(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(self.dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in self.records))
        self._write_csv()

    def _write_csv(self) -> None:
        from io import StringIO

        buf = StringIO()
        w = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in self.records:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in RECORD_FIELDS})
        _atomic_write_text(self.dir / "metrics.csv", buf.getvalue())

    def write_per_class(
        self, class_counts: Sequence[int], best: Sequence[float | None] | None, last: Sequence[float | None] | None
    ) -> None:
        if not self.enabled:
            return
        from io import StringIO

        buf = StringIO()
        w = csv.writer(buf)
        w.writerow(["class", "train_count", "split", "recall_best", "recall_last"])
        for j, n in enumerate(class_counts):
            rb = best[j] if best is not None else None
            rl = last[j] if last is not None else None
            w.writerow([j, n, shot_of(n), "" if rb is None else f"{rb:.4f}", "" if rl is None else f"{rl:.4f}"])
        _atomic_write_text(self.dir / "per_class_recall.csv", buf.getvalue())

    def write_summary(self, summary: dict[str, Any]) -> None:
        if self.enabled:
            _atomic_write_text(self.dir / "summary.json", json.dumps(summary, indent=2) + "\n", fsync=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.finish()
        if self.trackers is not None:
            self.trackers.close()

"""What a run writes next to its checkpoints (CONTRIBUTING.md, "Where things live").

* ``metrics.jsonl`` — one JSON object per evaluated epoch (epoch, lr,
  train_loss, top1_error, many, medium, few, seconds) and ``metrics.csv`` with
  the same columns (rewritten from the records, so a resumed run never holds
  duplicate epochs);
* ``per_class_recall.csv`` — class, training count, shot split, recall at the
  best and at the last evaluated epoch;
* ``summary.json`` — best/last top-1 error and shot accuracies, class counts,
  the resolved config, seconds, ``done: true``;
* a progress line on a terminal (carriage-return updated), plain lines
  otherwise; TensorBoard scalars when ``train.tensorboard`` is set and
  ``torch.utils.tensorboard`` is importable (skipped with one note if not).

Only rank 0 writes (``enabled=False`` on the other ranks).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from fcc_train.data.longtail import shot_of

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
    """Writes a run folder's logs; silent and file-free when ``enabled`` is False (ranks > 0)."""

    def __init__(
        self,
        run_dir: str | Path,
        *,
        enabled: bool = True,
        progress: str = "auto",
        tensorboard: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.dir = Path(run_dir)
        self.enabled = enabled
        self.stream = stream or sys.stdout
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.mode = {"auto": "bar" if tty else "lines", "bar": "bar", "none": "none", "lines": "lines"}.get(progress, "lines")
        self.records: list[dict[str, Any]] = []
        self.tb = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(self.dir / "tensorboard"))
            except Exception:  # tensorboard is optional: not installed means no event files
                self.note("tensorboard is not installed; metrics go to metrics.jsonl/csv only (pip install tensorboard)")

    # -- messages -----------------------------------------------------------
    def note(self, msg: str) -> None:
        if self.enabled:
            self._end_bar()
            print(msg, file=self.stream, flush=True)

    _bar_open = False

    def _end_bar(self) -> None:
        if self._bar_open:
            print(file=self.stream, flush=True)
            self._bar_open = False

    def progress(self, epoch: int, epochs: int, loss: float, err: float | None, sec_per_epoch: float) -> None:
        """One update per epoch (the loss is synchronised once per epoch anyway, for the NaN check)."""
        if not self.enabled or self.mode == "none":
            return
        err_s = f" err {err:5.2f}%" if err is not None else ""
        eta = (epochs - epoch) * sec_per_epoch
        if self.mode == "bar":
            width = 24
            done = int(width * epoch / max(epochs, 1))
            line = f"\r[{'#' * done}{'.' * (width - done)}] {epoch}/{epochs} loss {loss:.4f}{err_s} {sec_per_epoch:.2f}s/ep eta {eta:.0f}s"
            print(line, end="", file=self.stream, flush=True)
            self._bar_open = True
            if epoch == epochs:
                self._end_bar()
        else:
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
        if self.tb is not None:
            for k in ("lr", "train_loss", "top1_error", "many", "medium", "few"):
                if record.get(k) is not None:
                    self.tb.add_scalar(k, record[k], record["epoch"])
            self.tb.flush()

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
        self._end_bar()
        if self.tb is not None:
            self.tb.close()
            self.tb = None

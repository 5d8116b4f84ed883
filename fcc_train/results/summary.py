"""What a finished run's ``summary.json`` holds: one :class:`RunSummary`, written by the run loop and read
back by ``fcc table``, ``fcc sweep`` and ``fcc analyze``.

The file is the JSON of :meth:`RunSummary.to_dict`: best and last top-1 error (%) and their epochs, the
many/medium/few-shot accuracies of both epochs (under each shot name, and again under ``best`` / ``last``),
the training class counts, the resolved config, the process's seconds and ``done``; a run that trained in
this process also records ``timing_this_process`` (setup, train, eval, checkpoint seconds).

>>> s = RunSummary.from_records({"epoch": 3, "top1_error": 31.0, "many": 98.3, "medium": 80.0, "few": 6.7},
...     {"epoch": 3, "top1_error": 31.0, "many": 98.3, "medium": 80.0, "few": 6.7},
...     class_counts=[144, 14], config={"name": "x"}, seconds=12.3456, done=True)
>>> d = s.to_dict()
>>> d["best_top1_error"], d["many"], d["last"]["few"], d["seconds"], "timing_this_process" in d
(31.0, {'best': 98.3, 'last': 98.3}, 6.7, 12.346, False)
>>> RunSummary.from_dict(d, "summary.json") == s
True
>>> RunSummary.from_dict({**d, "best_epoch": "3"}, "runs/a/summary.json")
Traceback (most recent call last):
...
fcc_train.results.summary.SummaryError: 'runs/a/summary.json': best_epoch is a str, not an integer or null; re-run fcc train to rewrite it
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcc_theory.errors import UserError

__all__ = ["SHOT_NAMES", "RunSummary", "Shots", "SummaryError", "read_summary"]

SHOT_NAMES = ("many", "medium", "few")


class SummaryError(UserError):
    """A ``summary.json`` that cannot be read, or holds a value of the wrong type (one line naming the file)."""


@dataclass(frozen=True)
class Shots:
    """Mean per-class accuracy (%) of the many-, medium- and few-shot classes at one epoch (None: no such class)."""

    many: float | None = None
    medium: float | None = None
    few: float | None = None

    def get(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value


@dataclass(frozen=True)
class RunSummary:
    """The numbers of one run (``summary.json``); the ``best`` epoch is the one of the lowest top-1 error."""

    best_top1_error: float | None
    best_epoch: int | None
    last_top1_error: float | None
    last_epoch: int | None
    best: Shots
    last: Shots
    class_counts: list[int]
    config: dict[str, Any]
    seconds: float | None
    done: bool
    timing: dict[str, float] | None = field(default=None)  # ``timing_this_process``; None when not recorded

    @classmethod
    def from_records(
        cls,
        best: dict[str, Any] | None,
        last: dict[str, Any] | None,
        *,
        class_counts: list[int],
        config: dict[str, Any],
        seconds: float,
        done: bool,
        timing: dict[str, float] | None = None,
    ) -> RunSummary:
        """From the run loop's evaluation records (``epoch``, ``top1_error`` and the shot accuracies); the seconds
        and timings rounded to the millisecond."""
        b, la = best or {}, last or {}
        return cls(
            best_top1_error=b.get("top1_error"),
            best_epoch=b.get("epoch"),
            last_top1_error=la.get("top1_error"),
            last_epoch=la.get("epoch"),
            best=Shots(*(b.get(k) for k in SHOT_NAMES)),
            last=Shots(*(la.get(k) for k in SHOT_NAMES)),
            class_counts=class_counts,
            config=config,
            seconds=round(seconds, 3),
            done=done,
            timing=None if timing is None else {k: round(v, 3) for k, v in timing.items()},
        )

    def error(self, metric: str) -> float | None:
        """Top-1 error (%) of the ``best`` or ``last`` epoch."""
        return self.best_top1_error if metric == "best" else self.last_top1_error

    def shot(self, name: str, metric: str) -> float | None:
        """Accuracy (%) of shot group ``name`` (many / medium / few) at the ``best`` or ``last`` epoch."""
        return (self.best if metric == "best" else self.last).get(name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``summary.json`` (key order as written since the format began)."""
        d: dict[str, Any] = {
            "best_top1_error": self.best_top1_error,
            "best_epoch": self.best_epoch,
            "last_top1_error": self.last_top1_error,
            "last_epoch": self.last_epoch,
        }
        for name in SHOT_NAMES:
            d[name] = {"best": self.best.get(name), "last": self.last.get(name)}
        d["best"] = {name: self.best.get(name) for name in SHOT_NAMES}
        d["last"] = {name: self.last.get(name) for name in SHOT_NAMES}
        d.update(class_counts=self.class_counts, config=self.config, seconds=self.seconds, done=self.done)
        if self.timing is not None:
            d["timing_this_process"] = self.timing
        return d

    @classmethod
    def from_dict(cls, data: Any, where: str | Path) -> RunSummary:
        """Validate a parsed ``summary.json``; keys an older version did not write read as None. ``where``
        names the file in the error."""
        check = _Checker(where)
        if not isinstance(data, dict):
            raise check.fail(f"holds a {type(data).__name__}, not a JSON object")
        if not isinstance(data.get("config"), dict):
            raise SummaryError(f"'{where}' has no stored config; it was not written by fcc train")
        counts = data.get("class_counts", [])
        if not isinstance(counts, list) or not all(_is_int(c) for c in counts):
            raise check.fail("class_counts is not a list of integers")
        timing = data.get("timing_this_process")
        if timing is not None and not (isinstance(timing, dict) and all(_is_number(v) for v in timing.values())):
            raise check.fail("timing_this_process is not a mapping of seconds")
        done = data.get("done", False)
        if not isinstance(done, bool):
            raise check.fail(f"done is a {type(done).__name__}, not true or false")
        return cls(
            best_top1_error=check.number(data, "best_top1_error"),
            best_epoch=check.integer(data, "best_epoch"),
            last_top1_error=check.number(data, "last_top1_error"),
            last_epoch=check.integer(data, "last_epoch"),
            best=check.shots(data, "best"),
            last=check.shots(data, "last"),
            class_counts=counts,
            config=data["config"],
            seconds=check.number(data, "seconds"),
            done=done,
            timing=timing,
        )


def read_summary(path: str | Path) -> RunSummary:
    """Read and validate a ``summary.json`` (a run folder or the file); anything wrong is one :class:`SummaryError`."""
    p = Path(path)
    sp = p / "summary.json" if p.is_dir() else p
    try:
        text = sp.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SummaryError(
            f"'{sp}' cannot be read ({exc.strerror or type(exc).__name__}); pass a run folder written by fcc train"
        ) from None
    except UnicodeDecodeError:
        raise SummaryError(f"'{sp}' is not UTF-8 text; re-run fcc train to rewrite it") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SummaryError(f"'{sp}' is not valid JSON ({exc}); re-run fcc train to rewrite it") from None
    return RunSummary.from_dict(data, sp)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Checker:
    """Typed reads of one summary's keys; each failure names the file and the key."""

    def __init__(self, where: str | Path) -> None:
        self.where = where

    def fail(self, what: str) -> SummaryError:
        return SummaryError(f"'{self.where}': {what}; re-run fcc train to rewrite it")

    def number(self, data: dict[str, Any], key: str, value: Any = None, label: str | None = None) -> float | None:
        v = data.get(key) if label is None else value
        if v is not None and not _is_number(v):
            raise self.fail(f"{label or key} is a {type(v).__name__}, not a number or null")
        return v

    def integer(self, data: dict[str, Any], key: str) -> int | None:
        v = data.get(key)
        if v is not None and not _is_int(v):
            raise self.fail(f"{key} is a {type(v).__name__}, not an integer or null")
        return v

    def shots(self, data: dict[str, Any], metric: str) -> Shots:
        """The shot accuracies of ``metric``: from ``many: {best, last}`` etc., else from ``best: {many, ...}``;
        a plain number under a shot name (the earliest format) stands for both epochs."""
        values = []
        for name in SHOT_NAMES:
            by_metric, by_name = data.get(name), data.get(metric)
            if isinstance(by_metric, dict):
                v = by_metric.get(metric)
            elif by_metric is not None:
                v = by_metric
            elif isinstance(by_name, dict):
                v = by_name.get(name)
            else:
                v = None
            values.append(self.number(data, name, v, f"{name} ({metric})"))
        return Shots(*values)

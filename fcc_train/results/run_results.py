"""Finished runs read back from their ``summary.json`` (``fcc table``, ``fcc analyze``), and the
per-cell statistics over seeds.

>>> fmt_stats(Stats.of([20.0, 22.0, 24.0]))
'22.00 ± 2.00 (n=3)'
>>> benchmark_name({"data": {"dataset": "cifar10", "imbalance_factor": 100}})
'cifar10_lt100'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from fcc_theory.errors import UserError
from fcc_train.config import config_from_dict, config_to_dict
from fcc_train.results.summary import RunSummary, SummaryError, read_summary

__all__ = ["RunResult", "Stats", "TableError", "benchmark_name", "find_runs", "fmt_stats", "load_run_result"]


class TableError(UserError):
    """Runs or options ``fcc table`` cannot use (one line)."""


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Stats:
    """Mean and sample standard deviation (ddof = 1; None for n < 2) of one cell."""

    mean: float | None
    std: float | None
    n: int

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Stats:
        v = [float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
        if not v:
            return cls(None, None, 0)
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else None
        return cls(m, sd, len(v))


def fmt_stats(s: Stats | None, digits: int = 2, with_n: bool = True) -> str:
    if s is None or s.mean is None:
        return "—"
    text = f"{s.mean:.{digits}f}"
    if s.std is not None:
        text += f" ± {s.std:.{digits}f}"
    return text + (f" (n={s.n})" if with_n else "")


# ----------------------------------------------------------------------------- runs


@dataclass
class RunResult:
    """A finished run folder: its summary (with its stored resolved config)."""

    path: Path
    summary: RunSummary

    @property
    def config(self) -> dict[str, Any]:
        """The stored config with today's defaults filled in, so runs written before a key existed
        group with runs written after (a key added with its default changes nothing that was trained)."""
        stored = self.summary.config
        try:
            return config_to_dict(config_from_dict(stored))
        except UserError:  # a key this version no longer knows: compare as stored
            return stored

    @property
    def seed(self) -> Any:
        return self.config.get("train", {}).get("seed")

    def error(self, metric: str) -> float | None:
        return self.summary.error(metric)

    def shot(self, name: str, metric: str) -> float | None:
        return self.summary.shot(name, metric)


def load_run_result(path: str | Path) -> RunResult:
    """Read ``summary.json`` of a run folder; a missing, damaged, unfinished or foreign folder is a one-line error."""
    p = Path(path)
    sp = p / "summary.json" if p.is_dir() else p
    if not sp.is_file():
        raise TableError(f"'{p}' has no summary.json; pass run folders written by fcc train (e.g. runs/digits_ce)")
    try:
        summary = read_summary(sp)
    except SummaryError as exc:
        raise TableError(str(exc)) from None
    if not summary.done:
        raise TableError(f"run '{sp.parent}' is not finished (summary.json without done: true); finish it with fcc train first")
    return RunResult(sp.parent, summary)


def find_runs(paths: Sequence[str | Path]) -> list[RunResult]:
    """Run folders from the arguments: a folder with ``summary.json`` is a run; any other folder is
    searched recursively for run folders (so ``fcc table runs/`` works)."""
    found: list[RunResult] = []
    for a in paths:
        p = Path(a)
        if not p.exists():
            raise TableError(f"'{p}' does not exist; pass run folders (or a folder holding them) written by fcc train")
        if p.is_file() or (p / "summary.json").is_file():
            found.append(load_run_result(p))
            continue
        subs = sorted(s.parent for s in p.rglob("summary.json"))
        if not subs:
            raise TableError(f"no run folder (with summary.json) under '{p}'; train one with fcc train --out {p}/NAME")
        found.extend(load_run_result(s) for s in subs)
    seen: set[Path] = set()
    unique = []
    for r in found:
        key = r.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def benchmark_name(cfg: dict[str, Any]) -> str:
    """The paper's benchmark key for a run (``cifar10_lt100``, ``imagenet_lt``, ...); digits-LT etc. by analogy."""
    data = cfg.get("data", {})
    ds = data.get("dataset", "?")
    if ds in ("imagenet_lt", "inat18"):
        return {"imagenet_lt": "imagenet_lt", "inat18": "inat2018"}[ds]
    imb = data.get("imbalance_factor")
    imb_s = f"{imb:g}" if isinstance(imb, (int, float)) else str(imb)
    step = "_step" if data.get("imbalance_type") == "step" else ""
    return f"{ds}_lt{imb_s}{step}"

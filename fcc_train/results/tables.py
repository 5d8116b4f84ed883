"""Our results beside the paper's Tables 1 and 2 (``fcc table``).

Runs are read from their ``summary.json`` (written by ``fcc train``, :mod:`fcc_train.results.run_results`)
and grouped by what was trained, taken from the stored resolved config: the *method*
(everything except the FCC section, the seed, the run name and the runtime
keys) and the *FCC variant* (raw, or strategy/γ/..., or FCC on the teacher for
DiVe+FCC, whose student trains without FCC; :mod:`fcc_train.results.method_identity`). Within a group the
runs are the seeds; each cell is mean ± sample standard deviation (n - 1)
over them. The paper's numbers come from the packaged copy of
``paper-tables.csv`` (:mod:`fcc_train.results.paper_tables`; top-1 error in percent; raw and +FCC).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from fcc_train.data.longtail import SHOTS
from fcc_train.results.method_identity import fcc_variant, method_identity, method_key, method_label, short_fcc
from fcc_train.results.paper_tables import PAPER_BENCHMARKS, PaperRow, paper_row
from fcc_train.results.run_results import RunResult, Stats, TableError, benchmark_name, fmt_stats

__all__ = ["TableRow", "build_rows", "render"]


# ----------------------------------------------------------------------------- rows


@dataclass
class TableRow:
    method: str
    benchmark: str
    fcc: str  # the FCC variant of the +FCC column
    raw: Stats
    fcc_stats: Stats
    delta: Stats
    delta_kind: str  # "paired" (same seeds) or "independent"
    paper: PaperRow | None
    paper_benchmark: str | None
    raw_shots: dict[str, Stats] = field(default_factory=dict)
    fcc_shots: dict[str, Stats] = field(default_factory=dict)
    runs_raw: list[str] = field(default_factory=list)
    runs_fcc: list[str] = field(default_factory=list)


def _delta(raw: list[RunResult], fcc: list[RunResult], metric: str) -> tuple[Stats, str]:
    """FCC - raw (negative = FCC better): paired by seed when both groups have the same seeds, else
    difference of means with std sqrt(s_raw² + s_fcc²)."""
    rs = {r.seed: r.error(metric) for r in raw}
    fs = {r.seed: r.error(metric) for r in fcc}
    if raw and fcc and set(rs) == set(fs) and len(rs) == len(raw) == len(fcc):
        pairs = [(fs[s], rs[s]) for s in rs]
        return Stats.of(f - r for f, r in pairs if f is not None and r is not None), "paired"
    a, b = Stats.of(r.error(metric) for r in raw), Stats.of(r.error(metric) for r in fcc)
    if a.mean is None or b.mean is None:
        return Stats(None, None, 0), "independent"
    sd = math.sqrt(a.std**2 + b.std**2) if a.std is not None and b.std is not None else None
    return Stats(b.mean - a.mean, sd, min(a.n, b.n)), "independent"


def build_rows(runs: Sequence[RunResult], metric: str = "best", paper_benchmark: str | None = None) -> list[TableRow]:
    """Group runs by (method, benchmark) and FCC variant; one row per (method, FCC variant), raw beside it."""
    if metric not in ("best", "last"):
        raise TableError(f"unknown metric {metric!r}; use best or last")
    if paper_benchmark is not None and paper_benchmark not in PAPER_BENCHMARKS:
        raise TableError(f"unknown paper benchmark {paper_benchmark!r}; use one of {', '.join(PAPER_BENCHMARKS)}")
    groups: dict[tuple, dict[str, list[RunResult]]] = {}
    for r in runs:
        groups.setdefault(method_key(r.config), {}).setdefault(fcc_variant(r.config), []).append(r)
    # labels: disambiguate methods that share a label on one benchmark by the keys that differ
    labelled: dict[tuple, str] = {}
    by_label: dict[tuple[str, str], list[tuple]] = {}
    for key, variants in groups.items():
        cfg = next(iter(variants.values()))[0].config
        by_label.setdefault((method_label(cfg), benchmark_name(cfg)), []).append(key)
    for (label, _), keys in by_label.items():
        if len(keys) == 1:
            labelled[keys[0]] = label
            continue
        common = set.intersection(*(set(k) for k in keys))
        for k in keys:
            diff = ", ".join(f"{a}={json.loads(v)}" for a, v in sorted(set(k) - common))
            labelled[k] = f"{label} [{diff}]"
    rows = []
    for key, variants in groups.items():
        cfg = next(iter(variants.values()))[0].config
        bench = benchmark_name(cfg)
        pb = bench if bench in PAPER_BENCHMARKS else paper_benchmark
        label = labelled[key]
        paper_name = method_identity(cfg)[1]
        raw = variants.get("raw", [])
        fcc_names: list[str | None] = [*sorted(v for v in variants if v != "raw")] or [None]
        for v in fcc_names:
            fr = variants.get(v, []) if v else []
            d, kind = _delta(raw, fr, metric)
            rows.append(
                TableRow(
                    method=label,
                    benchmark=bench,
                    fcc=v or "—",
                    raw=Stats.of(r.error(metric) for r in raw),
                    fcc_stats=Stats.of(r.error(metric) for r in fr),
                    delta=d,
                    delta_kind=kind,
                    paper=paper_row(paper_name, pb) if pb and paper_name else None,
                    paper_benchmark=pb,
                    raw_shots={s: Stats.of(r.shot(s, metric) for r in raw) for s in SHOTS},
                    fcc_shots={s: Stats.of(r.shot(s, metric) for r in fr) for s in SHOTS},
                    runs_raw=sorted(str(r.path) for r in raw),
                    runs_fcc=sorted(str(r.path) for r in fr),
                )
            )
    rows.sort(key=lambda r: (r.benchmark, r.method != "Baseline", r.method, r.fcc))
    return rows


# ----------------------------------------------------------------------------- rendering

HEADER = [
    "Method",
    "Benchmark",
    "FCC",
    "Ours raw",
    "Ours +FCC",
    "Δ (FCC−raw)",
    "Paper bench.",
    "Paper raw",
    "Paper +FCC",
    "Paper Δ",
    "raw many/med/few acc",
    "+FCC many/med/few acc",
]


def _shot_means(d: dict[str, Stats]) -> str:
    return " / ".join(_fmt(d[s].mean, 1) if s in d else "—" for s in SHOTS)


def _text_cells(r: TableRow) -> list[str]:
    p = r.paper
    return [
        r.method,
        r.benchmark,
        short_fcc(r.fcc),
        fmt_stats(r.raw),
        fmt_stats(r.fcc_stats),
        fmt_stats(r.delta, with_n=False) + ("" if r.delta.mean is None or r.delta_kind == "paired" else " ‡"),
        r.paper_benchmark or "—",
        _fmt(p.raw) if p else "—",
        _fmt(p.fcc) if p else "—",
        (_fmt(p.delta) + (f" ({p.note})" if p.note else "")) if p and p.delta is not None else "—",
        _shot_means(r.raw_shots),
        _shot_means(r.fcc_shots),
    ]


def _csv_rows(rows: Sequence[TableRow]) -> list[list[Any]]:
    head = [
        "method",
        "benchmark",
        "fcc",
        "raw_mean",
        "raw_std",
        "raw_n",
        "fcc_mean",
        "fcc_std",
        "fcc_n",
        "delta_mean",
        "delta_std",
        "delta_kind",
        "paper_benchmark",
        "paper_raw",
        "paper_fcc",
        "paper_delta",
        "paper_note",
    ]
    head += [f"raw_{s}" for s in SHOTS] + [f"fcc_{s}" for s in SHOTS]
    out: list[list[Any]] = [head]
    for r in rows:
        p = r.paper
        out.append(
            [
                r.method,
                r.benchmark,
                r.fcc,
                r.raw.mean,
                r.raw.std,
                r.raw.n,
                r.fcc_stats.mean,
                r.fcc_stats.std,
                r.fcc_stats.n,
                r.delta.mean,
                r.delta.std,
                r.delta_kind,
                r.paper_benchmark,
                p.raw if p else None,
                p.fcc if p else None,
                p.delta if p else None,
                p.note if p else None,
            ]
            + [r.raw_shots[s].mean for s in SHOTS]
            + [r.fcc_shots[s].mean for s in SHOTS]
        )
    return out


def render(rows: Sequence[TableRow], fmt: str = "md", metric: str = "best") -> str:
    """The table as Markdown, CSV or HTML. Errors are top-1 error in %, lower is better."""
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for row in _csv_rows(rows):
            w.writerow(["" if v is None else (str(round(v, 4)) if isinstance(v, float) else v) for v in row])
        return buf.getvalue()
    cells = [_text_cells(r) for r in rows]
    note = (
        f"Top-1 error (%) of the {metric} epoch, mean ± std over seeds (n runs); Δ < 0 means FCC helps. "
        "Δ is paired by seed unless marked ‡ (different seeds: difference of means, std √(s²_raw + s²_fcc)). "
        "Paper: Tables 1-2 of the FCC paper (single numbers, no std); for benchmarks the paper does not have, "
        "the paper benchmark shown is the one asked for with --paper-benchmark. many/med/few: mean per-class accuracy (%)."
    )
    if fmt == "html":
        out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in HEADER) + "</tr></thead>", "<tbody>"]
        out.extend("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in c) + "</tr>" for c in cells)
        out += ["</tbody>", "</table>", f"<p>{html.escape(note)}</p>"]
        return "\n".join(out) + "\n"
    if fmt != "md":
        raise TableError(f"unknown format {fmt!r}; use md, csv or html")
    esc = lambda s: s.replace("|", "\\|")
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(esc(x) for x in c) + " |" for c in cells]
    return "\n".join(lines) + "\n\n" + note + "\n"


def _fmt(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"

"""Our results beside the paper's Tables 1 and 2 (``fcc table``).

Runs are read from their ``summary.json`` (written by ``fcc train``) and grouped
by what was trained, taken from the stored resolved config: the *method*
(everything except the FCC section, the seed, the run name and the runtime
keys) and the *FCC variant* (raw, or strategy/γ/..., or FCC on the teacher for
DiVe+FCC, whose student trains without FCC). Within a group the
runs are the seeds; each cell is mean ± sample standard deviation (n - 1)
over them. The paper's numbers come from the packaged copy of
``paper-tables.csv`` (top-1 error in percent; raw and +FCC).

>>> row = paper_row("Baseline", "cifar10_lt100")
>>> row.table, row.raw, row.fcc
(1, 27.59, 24.08)
>>> fmt_stats(Stats.of([20.0, 22.0, 24.0]))
'22.00 ± 2.00 (n=3)'
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

from fcc_theory.errors import UserError
from fcc_train.config import config_from_dict, config_to_dict, flatten_config

__all__ = [
    "TableError",
    "PaperRow",
    "paper_rows",
    "paper_row",
    "Stats",
    "fmt_stats",
    "RunResult",
    "load_run_result",
    "find_runs",
    "benchmark_name",
    "method_label",
    "method_identity",
    "TableRow",
    "build_rows",
    "render",
]

SHOTS = ("many", "medium", "few")
# keys that do not change what is trained or that vary between seeds of one experiment; the stage-1 /
# teacher paths differ between a two-stage run's raw and +FCC variants (and between seeds), so they
# must not split cRT, LWS or DiVe rows
IGNORED_KEYS = ("name", "train.", "data.root", "data.store", "fcc.", "stage.init_from", "stage.depends_on", "method.teacher")
PAPER_BENCHMARKS = ("cifar10_lt50", "cifar10_lt100", "cifar100_lt50", "cifar100_lt100", "imagenet_lt", "inat2018")
# our method label -> the paper's row names to try, in order (Table 1 names, then Table 2's)
PAPER_ALIASES = {
    "Baseline": ("Baseline (Vanilla ResNet32)", "ResNet10/32"),
    "LDAM-DRW": ("LDAM-DRW", "LDAM"),
    "DiVe": ("DiVe", "DiVE"),
}


class TableError(UserError):
    """Runs or options ``fcc table`` cannot use (one line)."""


# ----------------------------------------------------------------------------- the paper


@dataclass(frozen=True)
class PaperRow:
    """One (method, benchmark) cell pair of the paper's Table 1 or 2: top-1 error (%), raw and +FCC."""

    table: int
    method: str
    benchmark: str
    raw: float | None
    fcc: float | None
    note: str

    @property
    def delta(self) -> float | None:
        return None if self.raw is None or self.fcc is None else round(self.fcc - self.raw, 2)


@lru_cache(maxsize=1)
def paper_rows() -> tuple[PaperRow, ...]:
    """Every row of the packaged ``fcc_train/resources/paper-tables.csv``."""
    text = (resources.files("fcc_train") / "resources" / "paper-tables.csv").read_text(encoding="utf-8")
    out = []
    for r in csv.DictReader(io.StringIO(text)):
        num = lambda v: float(v) if v.strip() else None  # noqa: E731
        out.append(
            PaperRow(
                int(r["table"]),
                r["method"],
                r["benchmark"],
                num(r["raw_top1_error"]),
                num(r["fcc_top1_error"]),
                r["fcc_gamma_note"],
            )
        )
    return tuple(out)


def paper_row(label: str, benchmark: str) -> PaperRow | None:
    """The paper's row for our method label on a benchmark (aliases in :data:`PAPER_ALIASES`), or None."""
    names = PAPER_ALIASES.get(label, (label,)) + (("ResNet10/32",) if label == "Baseline (Vanilla ResNet32)" else ())
    for name in names:
        for r in paper_rows():
            if r.method == name and r.benchmark == benchmark:
                return r
    return None


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


def _fmt(v: float | None, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


# ----------------------------------------------------------------------------- runs


@dataclass
class RunResult:
    """A finished run folder: its summary and resolved config."""

    path: Path
    summary: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        """The stored config with today's defaults filled in, so runs written before a key existed
        group with runs written after (a key added with its default changes nothing that was trained)."""
        stored = self.summary["config"]
        try:
            return config_to_dict(config_from_dict(stored))
        except UserError:  # a key this version no longer knows: compare as stored
            return stored

    @property
    def seed(self) -> Any:
        return self.config.get("train", {}).get("seed")

    def error(self, metric: str) -> float | None:
        return self.summary.get(f"{metric}_top1_error")

    def shot(self, name: str, metric: str) -> float | None:
        v = self.summary.get(name)
        if isinstance(v, dict):
            return v.get(metric)
        return v


def load_run_result(path: str | Path) -> RunResult:
    """Read ``summary.json`` of a run folder; a missing, unfinished or foreign folder is a one-line error."""
    p = Path(path)
    sp = p / "summary.json" if p.is_dir() else p
    if not sp.is_file():
        raise TableError(f"'{p}' has no summary.json; pass run folders written by fcc train (e.g. runs/digits_ce)")
    try:
        summary = json.loads(sp.read_text())
    except ValueError as exc:
        raise TableError(f"'{sp}' is not valid JSON ({exc}); re-run fcc train to rewrite it") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("config"), dict):
        raise TableError(f"'{sp}' has no stored config; it was not written by fcc train")
    if not summary.get("done"):
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


_LOSS_LABELS = {
    "ce": "",
    "focal": "Focal loss",
    "cb_focal": "CB Focal loss",
    "cbce": "CBCE",
    "bsce": "BSCE",
    "ce_ls": "CELS",
    "celas": "CELAS",
    "ldam": "LDAM",
    "cdt": "CDT",
    "dive": "DiVe",
}
# keys of a catalogue entry that say how a run is chained or compressed, not which method it is
_CATALOG_SKIP = ("fcc.", "stage.depends_on", "stage.init_from", "method.teacher")


def _catalog_entry(cfg: dict[str, Any]) -> Any:
    """The method catalogue's entry (``fcc_train.methods.catalog``) whose config keys this run has (and no
    other method/stage key off its default), the most specific one when several match; None if none does."""
    try:
        from fcc_train.methods.catalog import METHODS, SPLITS, config_overrides
    except ImportError:  # the catalogue is optional for reading tables
        return None
    from fcc_train.config import Config

    flat = flatten_config(cfg)
    defaults = flatten_config(config_to_dict(Config()))
    bench = benchmark_name(cfg)
    split = "digits" if cfg.get("data", {}).get("dataset") == "digits" else (bench if bench in SPLITS else SPLITS[0])
    best, best_n = None, -1
    for entry in METHODS:
        over = {k: v for k, v in config_overrides(entry, split, False).items() if not k.startswith(_CATALOG_SKIP)}
        # specificity: how many of the entry's keys move away from the defaults (method.loss=ce does not)
        n = sum(defaults.get(k) != v for k, v in over.items())
        # the run must have all the entry's keys, and no other method/stage key away from the defaults
        same = all(k in flat and flat[k] == v for k, v in over.items()) and all(
            flat[k] == over.get(k, defaults.get(k))
            for k in flat
            if k.startswith(("method.", "stage.")) and not k.startswith(_CATALOG_SKIP)
        )
        if same and n > best_n:
            best, best_n = entry, n
    return best


def _heuristic_label(cfg: dict[str, Any]) -> str:
    m, st = cfg.get("method", {}), cfg.get("stage", {})
    parts = []
    loss = m.get("loss", "ce")
    base = _LOSS_LABELS.get(loss, loss)
    if base:
        parts.append(base + ("-DRW" if loss == "ldam" and m.get("drw_start_epoch") is not None else ""))
        if loss != "ldam" and m.get("drw_start_epoch") is not None:
            parts[-1] += "+DRW"
    sampler = m.get("sampler", "instance")
    if sampler != "instance":
        parts.append(f"{sampler.upper()} sampling" + ("+DRS" if m.get("drs_start_epoch") is not None else ""))
    mix = m.get("mixup", "none")
    if mix != "none":
        parts.append({"input": "Input Mixup", "manifold": "Manifold Mixup", "remix": "Remix"}.get(mix, mix))
    for flag, name in (("reset_head", "cRT"), ("lws", "LWS")):
        if st.get(flag):
            parts.append(name)
    if st.get("head_transform") == "tau_norm":
        parts.append("tau-norm")
    if st.get("max_norm") is not None:
        parts.append("LTR-WB +WD&Max")
    label = "+".join(parts) or "Baseline"
    if cfg.get("model", {}).get("head") == "cosine":
        label += " (cosine head)"
    return label


def method_identity(cfg: dict[str, Any]) -> tuple[str, str | None]:
    """(label, the paper's row name or None) for the method a config trains, FCC not included.

    The method catalogue decides when the run's keys match one of its entries (label = the paper's row
    name where the entry is a Table 1 row, else the entry's title); otherwise a label is built from the keys.
    """
    entry = _catalog_entry(cfg)
    if entry is not None:
        label = entry.table_row or entry.title
        if entry.key == "ce":
            label = "Baseline"
        return label, entry.table_row
    label = _heuristic_label(cfg)
    return label, label


def method_label(cfg: dict[str, Any]) -> str:
    """A human label in the paper's naming for the method a config trains (FCC not included)."""
    return method_identity(cfg)[0]


def _method_key(cfg: dict[str, Any]) -> tuple:
    flat = flatten_config(cfg)
    return tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in flat.items() if not k.startswith(IGNORED_KEYS)))


def fcc_variant(cfg: dict[str, Any]) -> str:
    """'raw', or a short description of the FCC setting (strategy, γ, and whatever differs from the defaults).

    A run without FCC of its own whose teacher / stage 1 is a +FCC config (``stage.depends_on`` ending in
    ``_fcc``) is a +FCC run too: DiVe+FCC trains only the teacher with FCC (the official recipe), so its
    student config has ``fcc.enabled: false`` and differs from raw DiVe only in ``stage.depends_on``, the
    key ``fcc sweep`` follows. Its variant is 'FCC on the teacher [depends_on=...]'.
    """
    f = cfg.get("fcc", {})
    if not f.get("enabled"):
        dep = (cfg.get("stage") or {}).get("depends_on")
        if isinstance(dep, str) and dep.endswith("_fcc"):
            m = cfg.get("method") or {}
            who = "teacher" if m.get("loss") == "dive" or m.get("teacher") else "stage 1"
            return f"FCC on the {who} [depends_on={dep}]"
        return "raw"
    text = f"{f.get('strategy', 'edc')} γ={f.get('gamma')}"
    if f.get("strategy") == "half":
        text += f" β={f.get('beta', 0)}"
    extras = [f"{k}={f[k]}" for k in ("order", "round_decimals", "start_epoch", "mix_tau") if k in f]
    return text + (" [" + ", ".join(extras) + "]" if extras else "")


def _short_fcc(variant: str) -> str:
    return variant.split(" [", 1)[0]


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
        return Stats.of(fs[s] - rs[s] for s in rs if fs[s] is not None and rs[s] is not None), "paired"
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
        groups.setdefault(_method_key(r.config), {}).setdefault(fcc_variant(r.config), []).append(r)
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
        fcc_names = sorted(v for v in variants if v != "raw") or [None]
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


def _shots(d: dict[str, Stats]) -> str:
    return " / ".join(_fmt(d[s].mean, 1) if s in d else "—" for s in SHOTS)


def _text_cells(r: TableRow) -> list[str]:
    p = r.paper
    return [
        r.method,
        r.benchmark,
        _short_fcc(r.fcc),
        fmt_stats(r.raw),
        fmt_stats(r.fcc_stats),
        fmt_stats(r.delta, with_n=False) + ("" if r.delta.mean is None or r.delta_kind == "paired" else " ‡"),
        r.paper_benchmark or "—",
        _fmt(p.raw) if p else "—",
        _fmt(p.fcc) if p else "—",
        (_fmt(p.delta) + (f" ({p.note})" if p.note else "")) if p and p.delta is not None else "—",
        _shots(r.raw_shots),
        _shots(r.fcc_shots),
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
        for c in cells:
            out.append("<tr>" + "".join(f"<td>{html.escape(x)}</td>" for x in c) + "</tr>")
        out += ["</tbody>", "</table>", f"<p>{html.escape(note)}</p>"]
        return "\n".join(out) + "\n"
    if fmt != "md":
        raise TableError(f"unknown format {fmt!r}; use md, csv or html")
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(esc(x) for x in c) + " |" for c in cells]
    return "\n".join(lines) + "\n\n" + note + "\n"

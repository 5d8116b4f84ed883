"""Regenerate the measured tables of docs/results.md: train what is missing, then rewrite each table.

    python docs/gen_results.py                          # every section (digits-LT, ~100 runs of ~30 s on one core)
    python docs/gen_results.py --section digits-seeds   # one section
    python docs/gen_results.py --render-only            # rewrite the tables from the runs already there

Each table sits between ``<!-- results:NAME:start -->`` and ``<!-- results:NAME:end -->`` and starts
with the command that regenerates it and the date, commit, torch version and CPU it was measured with.
Runs go to ``runs/docs/`` (``--runs``); a finished run is never trained again (``fcc train`` and
``fcc sweep`` skip it), so after an interruption the same command continues. Every run is pinned to one
CPU thread and to PyTorch's AVX2 kernels (:data:`RUN_ENV`), and the runs are deterministic: the same code
and seed give the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results.md"
FIGURES = "docs/figures/analysis"
ONE_THREAD = ["--device", "cpu", "--set", "train.progress=none", "train.threads=1"]
SEEDS_BASELINE = (0, 1, 2, 3, 4)
SEEDS = (1, 2, 3)
METHODS = ("ce", "bsce", "focal", "cb_sampling")
SUBSET = ("ce", "bsce", "ldam_drw", "cb_drs", "remix", "crt")
SUBSET_SEEDS = (42, 0, 1)
STRATEGY_CONFIGS = {"uniform": "ce_fcc_uniform", "edc": "ce_fcc", "half": "ce_fcc_half"}
STRATEGY_TITLES = {"uniform": "uniform (Eq. 2)", "edc": "equal difference (Eq. 3)", "half": "half, β = 0 (Eq. 4)"}
GAMMAS = ("0.25", "0.5", "1.0")


#: One thread and PyTorch's AVX2 kernels (which AVX-512 CPUs run too): the runs then give the same numbers on
#: both kinds of x86 machine (with AVX-512 kernels the float round-off differs and grows into other weights).
RUN_ENV = {
    "OMP_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
}


def fcc(*args: str, capture: bool = False, ok: tuple[int, ...] = (0,)) -> str:
    """``python -m fcc ARGS`` in the repository root, one thread; its stdout when ``capture``."""
    env = {**os.environ, **RUN_ENV, "PYTHONPATH": str(ROOT)}
    # paths relative to the repository (the command runs there): figure titles and tables name the runs so
    args = tuple(os.path.relpath(a, ROOT) if a.startswith(str(ROOT) + os.sep) else a for a in args)
    print("+ fcc " + " ".join(args), file=sys.stderr)
    r = subprocess.run([sys.executable, "-m", "fcc", *args], cwd=ROOT, env=env, text=True, capture_output=capture)
    if r.returncode not in ok:
        raise SystemExit(f"fcc {' '.join(args)} exited with status {r.returncode}")
    return r.stdout if capture else ""


def done(run: Path) -> bool:
    p = run / "summary.json"
    return p.is_file() and bool(json.loads(p.read_text()).get("done"))


def train(config: str, out: Path, *overrides: str) -> None:
    if not done(out):
        fcc("train", "--config", f"configs/digits/{config}.yaml", "--out", str(out), *ONE_THREAD, *overrides)


def summary(run: Path) -> dict[str, Any]:
    s: dict[str, Any] = json.loads((run / "summary.json").read_text())
    return s


def mean_std(xs: Iterable[float], digits: int = 2) -> str:
    v = list(xs)
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return f"{statistics.mean(v):.{digits}f} ± {sd:.{digits}f}"


def measured_line(command: str) -> str:
    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cpu = next((ln.split(":", 1)[1].strip() for ln in _cpuinfo() if ln.startswith("model name")), platform.processor() or "CPU")
    return (
        f"Regenerate: `{command}`. Measured {date.today().isoformat()} at commit {commit or 'unknown'} "
        f"(torch {torch.__version__}, one thread each, AVX2 kernels; CPU: {cpu}, {os.cpu_count()} cores)."
    )


def _cpuinfo() -> list[str]:
    p = Path("/proc/cpuinfo")
    return p.read_text().splitlines() if p.is_file() else []


# --- sections: each trains its runs and returns the region's Markdown ---


def seeds(runs: Path, render_only: bool) -> str:
    """CE and CE+FCC, seeds 0-4: mean ± std and per seed."""
    folder = runs / "digits_seeds"
    if not render_only:
        for s in SEEDS_BASELINE:
            for c in ("ce", "ce_fcc"):
                train(c, folder / f"{c}_s{s}", f"train.seed={s}")
    lines = [
        "| method | best top-1 err % | last top-1 err % | many % (last) | medium % (last) | few % (last) | seconds per run |"
    ]
    lines.append("|---|---|---|---|---|---|---|")
    per_seed = ["| method | " + " | ".join(f"seed {s}" for s in SEEDS_BASELINE) + " |", "|---|" + "---|" * len(SEEDS_BASELINE)]
    for c, title in (("ce", "CE (raw)"), ("ce_fcc", "CE + FCC")):
        ss = [summary(folder / f"{c}_s{s}") for s in SEEDS_BASELINE]
        cells = [mean_std(x["best_top1_error"] for x in ss), mean_std(x["last_top1_error"] for x in ss)]
        cells += [mean_std(x["last"][k] for x in ss) for k in ("many", "medium", "few")]
        cells.append(mean_std((x["seconds"] for x in ss), 1))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
        per_seed.append(
            f"| {title} | " + " | ".join(f"{x['best_top1_error']:.2f} / {x['last_top1_error']:.2f}" for x in ss) + " |"
        )
    return "\n".join(
        [
            *lines,
            "",
            f"mean ± sample standard deviation over {len(SEEDS_BASELINE)} seeds. Per seed, best / last error %:",
            "",
            *per_seed,
        ]
    )


def _sweep(out: Path, methods: Iterable[str], seeds_: Iterable[int]) -> None:
    fcc("sweep", "--benchmark", "digits", "--methods", ",".join(methods), "--seeds", ",".join(map(str, seeds_)), "--out", str(out),
        *ONE_THREAD)  # fmt: skip


def methods(runs: Path, render_only: bool) -> str:
    """Four methods raw and +FCC, seeds 1-3: ``fcc table`` at the best and at the last epoch."""
    out = runs / "methods"
    if not render_only:
        _sweep(out, METHODS, SEEDS)
    best = fcc("table", str(out), "--paper-benchmark", "cifar10_lt100", capture=True).strip()
    last = fcc("table", str(out), "--paper-benchmark", "cifar10_lt100", "--metric", "last", capture=True).strip()
    return f"Best epoch (the official selection on the test set):\n\n{best}\n\nLast epoch:\n\n{last}"


def subset(runs: Path, render_only: bool) -> str:
    """The representative subset of Table 1's methods, seeds 42, 0, 1."""
    out = runs / "subset"
    if not render_only:
        _sweep(out, SUBSET, SUBSET_SEEDS)
    best = fcc("table", str(out), "--paper-benchmark", "cifar10_lt100", capture=True).strip()
    last = fcc("table", str(out), "--paper-benchmark", "cifar10_lt100", "--metric", "last", capture=True).strip()
    return f"Best epoch:\n\n{best}\n\nLast epoch:\n\n{last}"


def strategy_run(runs: Path, strategy: str, gamma: str, seed: int) -> Path:
    if (strategy, gamma) == ("edc", "0.5"):  # the CE+FCC runs of the methods section
        return runs / "methods" / "digits" / "ce_fcc" / f"seed{seed}"
    return runs / "strategies" / f"{strategy}_g{gamma}" / f"seed{seed}"


def strategies(runs: Path, render_only: bool) -> str:
    """CE with the three compression strategies of Eqs. 2-4 and γ in {0.25, 0.5, 1.0}, seeds 1-3."""
    if not render_only:
        _sweep(runs / "methods", ("ce",), SEEDS)
        for s in SEEDS:
            for g in GAMMAS:
                for c, cfg in STRATEGY_CONFIGS.items():
                    train(cfg, strategy_run(runs, c, g, s), f"train.seed={s}", f"fcc.gamma={g}")
        fcc("analyze", "--strategies", str(runs / "strategies"), str(runs / "methods" / "digits" / "ce_fcc"),
            str(runs / "methods" / "digits" / "ce"), "--figures", FIGURES)  # fmt: skip
    rows = ["| strategy | γ | n | best top-1 err % | last top-1 err % | few % (last) |", "|---|---|---|---|---|---|"]

    def row(title: str, gamma: str, folders: list[Path]) -> str:
        ss = [summary(f) for f in folders]
        cells = [
            mean_std(x["best_top1_error"] for x in ss),
            mean_std(x["last_top1_error"] for x in ss),
            mean_std(x["last"]["few"] for x in ss),
        ]
        return f"| {title} | {gamma} | {len(ss)} | " + " | ".join(cells) + " |"

    rows.append(row("raw (no FCC)", "—", [runs / "methods" / "digits" / "ce" / f"seed{s}" for s in SEEDS]))
    rows.extend(
        row(STRATEGY_TITLES[c], g, [strategy_run(runs, c, g, s) for s in SEEDS])
        for c in ("edc", "half", "uniform")
        for g in GAMMAS
    )
    return "\n".join(rows)


def analyzed_runs(runs: Path) -> dict[str, list[Path]]:
    """The run folders the theory table covers: the method, strategy/γ and bias-free runs."""
    method_runs = sorted(p.parent for p in (runs / "methods").glob("digits/*/seed*/summary.json"))
    strategy_runs = sorted(p.parent for p in (runs / "strategies").glob("*/seed*/summary.json"))
    bias_free = sorted(p.parent for p in (runs / "bias_free").glob("*/seed*/summary.json"))
    return {"methods": method_runs, "strategies": strategy_runs, "bias_free": bias_free}


def analyze(runs: Path, render_only: bool) -> str:
    """``fcc analyze`` on every method, strategy/γ and bias-free run, summed."""
    if not render_only:
        for s in SEEDS:
            for c in ("ce", "ce_fcc"):
                train(c, runs / "bias_free" / c / f"seed{s}", f"train.seed={s}", "model.bias=false")
    groups = analyzed_runs(runs)
    reports: dict[str, list[dict[str, Any]]] = {}
    located: list[tuple[str, dict[str, Any]]] = []
    for group, folders in groups.items():
        for d in folders:
            out = d / "analysis.json"
            if not render_only and not (out.is_file() and out.stat().st_mtime >= (d / "summary.json").stat().st_mtime):
                # exit status 1: theory and measurement disagree somewhere; the table then shows where
                fcc("analyze", str(d), "--out", str(out), capture=True, ok=(0, 1))
            reports.setdefault(group, []).append(json.loads(out.read_text()))
            located.append((d.relative_to(runs).as_posix(), reports[group][-1]))
    if not render_only:
        m = runs / "methods" / "digits"
        fcc(
            "analyze",
            str(m / "ce_fcc" / "seed1"),
            "--compare",
            str(m / "ce" / "seed1"),
            "--figures",
            FIGURES,
            capture=True,
            ok=(0, 1),
        )
    every = [r for rs in reports.values() for r in rs]
    table = _analysis_table(every, reports.get("bias_free", []), {g: len(v) for g, v in groups.items()})
    return table + "\n\n" + _flip_table(located)


def _flip_table(located: list[tuple[str, dict[str, Any]]]) -> str:
    """Every point that changes class, by run and τ mode: scaled → unscaled class and both test errors."""
    rows = ["| run | τ of the | scaled → unscaled class (points) | test error % scaled / unscaled |", "|---|---|---|---|"]
    for name, r in located:
        for mode, title in (("true", "true class"), ("pred", "predicted class")):
            m = r["modes"][mode]
            if m["flips_measured_exact"]:
                moves = ", ".join(f"{k.replace('->', ' → ')} ({v})" for k, v in sorted(m["transitions"].items()))
                rows.append(f"| `{name}` | {title} | {moves} | {m['top1_error_scaled']:.2f} / {m['top1_error_unscaled']:.2f} |")
    if len(rows) == 2:
        return "No point changes class in any run."
    return "The points that change class:\n\n" + "\n".join(rows)


def _analysis_table(every: list[dict[str, Any]], bias_free: list[dict[str, Any]], counts: dict[str, int]) -> str:
    def total(f: Callable[[dict[str, Any]], int], mode: str | None = None) -> int:
        return sum(f(r["modes"][mode]) if mode else f(r) for r in every)

    n = total(lambda r: r["num_points"])
    both = ("true", "pred")

    def per_mode(f: Callable[[dict[str, Any]], Any]) -> list[str]:
        return [f"{total(f, m):,}" for m in both]

    def split(key: str) -> list[str]:
        return [" / ".join(str(total(lambda x, s=s: x["by_split"][s][key], m)) for s in ("many", "medium", "few")) for m in both]

    flips = [
        f"{total(lambda x: x['flips_predicted'], m)} = {total(lambda x: x['flips_measured_exact'], m)} = "
        f"{total(lambda x: x['flips_measured_float'] or 0, m)}"
        for m in both
    ]
    fix_break = [
        " / ".join(
            str(total(lambda x, k=k: sum(x["by_split"][s][k] for s in ("many", "medium", "few")), m))
            for k in ("flips_fixing", "flips_breaking")
        )
        for m in both
    ]
    toward = [
        f"{total(lambda x: x['direction']['bias_larger_unscaled'], m)} / {total(lambda x: x['direction']['violations'], m)}"
        for m in both
    ]
    frequent = [
        f"{total(lambda x: x['direction']['toward_more_frequent'], m)} of {total(lambda x: x['direction']['flips'], m)}"
        for m in both
    ]
    bf = [str(sum(r["modes"][m]["flips_measured_exact"] for r in bias_free)) for m in both]
    rows = [
        ("identity argmax(τWf + b) = argmax(Wf + b/τ), exact", f"{total(lambda r: r['identity']['exact_holds']):,} / {n:,}", "—"),
        (
            "same, float32 (the model's head on τf against Wf + b/τ)",
            f"{total(lambda r: r['identity']['float_holds'] or 0):,} / {n:,}",
            "—",
        ),
        ("slab prediction = exact measurement, point for point", *(f"{v} / {n:,}" for v in per_mode(lambda x: x["agree_exact"]))),
        ("points that change class (predicted = measured exactly = measured in float32)", *flips),
        ("float32 flips that differ from the exact ones", *per_mode(lambda x: len(x["float_mismatches"]))),
        ("flips toward the class with the larger bias / against it", *toward),
        ("flips toward the more frequent class", *frequent),
        ("flips per split (many / medium / few)", *split("flips_exact")),
        ("flips that fix / break a prediction (unscaled vs scaled)", *fix_break),
        ("points where *some* class pair changes order (in any pairwise slab)", *per_mode(lambda x: x["in_any_slab"])),
        (f"bias-free heads ({len(bias_free)} runs): flips", *bf),
    ]
    head = (
        f"{len(every)} runs ({counts['methods']} method runs, {counts['strategies']} strategy/γ runs, {counts['bias_free']} "
        f"bias-free runs), {n:,} point-analyses per τ mode.\n\n"
        "| check | τ of the true class | τ of the predicted class |\n|---|---|---|"
    )
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return head + "\n" + table + "\n\n" + _slab_table(every)


def _slab_table(every: list[dict[str, Any]]) -> str:
    """Slab widths against distances to the boundary, and the bias-frequency rank correlation."""
    widths = [c["median"] for r in every if not r["bias_free"] for c in r["slab_width"]["per_class"] if c["median"] is not None]
    dist = [r["slab_width"]["boundary_distance"]["median"] for r in every]
    dmin = min(r["slab_width"]["boundary_distance"]["min"] for r in every)
    wmax = max(c["max"] for r in every if not r["bias_free"] for c in r["slab_width"]["per_class"] if c["max"] is not None)

    def rho(fcc_on: bool) -> str:
        v = [
            r["bias_vs_frequency"]["spearman_rank_corr"]
            for r in every
            if not r["bias_free"] and r["meta"]["fcc_enabled"] == fcc_on
        ]
        v = [x for x in v if x is not None]
        return f"{statistics.mean(v):+.2f} (n = {len(v)})" if v else "—"

    return "\n".join(
        [
            "| quantity (heads with a bias) | value |",
            "|---|---|",
            f"| median slab width \\|B_cj\\|(1 − 1/τ_c)/‖w_c − w_j‖ (median over runs and classes) | {statistics.median(widths):.4f} |",
            f"| widest slab of any run | {wmax:.3f} |",
            f"| median distance of a test point to its nearest decision boundary (median over runs) | {statistics.median(dist):.2f} |",
            f"| smallest such distance, over all points | {dmin:.2g} |",
            f"| Spearman rank correlation of training count and bias, raw runs | {rho(False)} |",
            f"| the same, runs trained with FCC | {rho(True)} |",
        ]
    )


def experts(runs: Path, render_only: bool) -> str:
    """SADE, NCL, RIDE and BBN raw and +FCC, seeds 0-2: ``benchmarks/digits_experts_table.py``'s table."""
    env = {**os.environ, **RUN_ENV, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "benchmarks/digits_experts_table.py", "--out", str(runs / "experts"), "--seeds", "0,1,2"]
    if render_only:
        cmd.append("--no-train")
    print("+ " + " ".join(cmd[1:]), file=sys.stderr)
    r = subprocess.run(cmd, cwd=ROOT, env=env, text=True, capture_output=True)
    if r.returncode != 0:
        raise SystemExit(f"benchmarks/digits_experts_table.py exited with status {r.returncode}: {r.stderr.strip()[-500:]}")
    return r.stdout.strip()


ROUTER_SEEDS = (1, 2, 3)


def ride_router(runs: Path, render_only: bool) -> str:
    """RIDE with its expert router (``method.ride_router``, top-k 3), seeds 1-3: routed vs all-experts error."""
    folder = runs / "ride_router"
    if not render_only:
        for s in ROUTER_SEEDS:
            train("ride", folder / f"seed{s}", f"train.seed={s}", "method.ride_router=true", "method.ride_router_top_k=3")
    rows = [
        "| seed | routed top-1 err % | all experts top-1 err % | experts per test image | seconds per run |",
        "|---|---|---|---|---|",
    ]
    for s in ROUTER_SEEDS:
        run = folder / f"seed{s}"
        last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        rows.append(
            f"| {s} | {last['top1_error']:.2f} | {last['all_experts_top1_error']:.2f} | {last['experts_per_sample']:.3f} | "
            f"{summary(run)['seconds']:.1f} |"
        )
    return "Last epoch, `configs/digits/ride.yaml` with `method.ride_router=true method.ride_router_top_k=3`:\n\n" + "\n".join(
        rows
    )


SECTIONS: dict[str, Callable[[Path, bool], str]] = {
    "digits-seeds": seeds,
    "digits-methods": methods,
    "digits-subset": subset,
    "digits-strategies": strategies,
    "digits-analyze": analyze,
    "digits-experts": experts,
    "digits-ride-router": ride_router,
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"


def splice(text: str, name: str, body: str) -> str:
    """``text`` with section ``name``'s region replaced by ``body``; a ValueError if its markers are missing."""
    start, end = markers(name)
    a, b = text.find(start), text.find(end)
    if a < 0 or b < a:
        raise ValueError(f"docs/results.md has no {start} ... {end} region")
    return text[: a + len(start)] + "\n" + body.rstrip() + "\n" + text[b:]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--section", choices=sorted(SECTIONS), action="append", help="one section (repeatable; default all)")
    p.add_argument("--runs", default="runs/docs", help="folder of the runs (default runs/docs)")
    p.add_argument("--render-only", action="store_true", help="train nothing; rewrite the tables from the runs there")
    args = p.parse_args(argv)
    runs = Path(args.runs)
    runs = runs if runs.is_absolute() else ROOT / runs
    for name in args.section or list(SECTIONS):
        body = SECTIONS[name](runs, args.render_only)
        command = f"python docs/gen_results.py --section {name}"
        RESULTS.write_text(splice(RESULTS.read_text(), name, measured_line(command) + "\n\n" + body))
        print(f"docs/results.md: {name} rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

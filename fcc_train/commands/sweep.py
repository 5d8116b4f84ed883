"""``fcc sweep``: run a table's configs raw and +FCC as ``fcc train`` subprocesses, K at once, and collect the results.

    fcc sweep --table 1 --benchmark cifar10_lt100 [--methods bsce,remix] [--seeds 0,1,2] [--parallel P]
              [--per-process K [--stack]] [--dry-run]
              [--data-root DIR] [--out DIR] [--configs DIR] [--set KEY=VALUE ...] [--device D]
              [--launcher slurm [--slurm-config FILE] [--gpus-per-run G] [--time-min M] ... [--no-wait]]
    fcc sweep --status OUT

Each run trains ``configs/<benchmark>/<method>[_fcc].yaml`` with ``train.seed``
set to the seed into ``<out>/<benchmark>/<method>[_fcc]/seed<k>``. Runs whose
``summary.json`` says ``done`` are skipped (and still collected). Two-stage
configs (``stage.depends_on``: cRT, LWS, LTR-WB, DiVe) wait for their stage-1
run of the same seed and variant and get ``stage.init_from`` (or
``method.teacher`` for DiVe) pointing at its folder; the stage-1 run is added
to the sweep if it was not asked for. A failed run is reported and its
dependants are skipped. Several runs share one GPU two ways: ``--parallel P``
processes at once (the GPU time-slices between processes: K = 4 processes
measured only 1.16× the throughput of one on an H200), and ``--per-process K``
runs inside each process, each on its own CUDA stream with their epochs
overlapped (:mod:`fcc_train.multirun`), which lets the small kernels of
different runs execute side by side; with ``--stack`` the runs of a process
that step in lockstep train as one network of grouped convolutions
(:mod:`fcc_train.stacked_runs`), K runs per kernel launch.

``--launcher slurm`` submits every run as its own Slurm job instead
(:mod:`fcc_train.experiments.slurm`: chains as job dependencies, requeue and
resume, one task per GPU); ``--status OUT`` prints each run's state from the
folder (:mod:`fcc_train.experiments.sweep_status`).

Results: ``<out>/<benchmark>/sweep_results.json`` and ``.csv`` — one row per
run (method, variant raw/fcc, seed, best/last top-1 error, many/medium/few,
status) — read by ``fcc table``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fcc_train.commands import add_overrides_argument, overrides_of

__all__ = ["add_arguments", "run", "Job", "plan_jobs", "collect"]

TABLES = {1: ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50", "digits"), 2: ("imagenet_lt", "inat18")}
# Table 2's single-model rows with configs in configs/imagenet_lt and configs/inat18 (docs/large-scale.md)
TABLE2_METHODS = ("ce", "focal", "cbce", "ldam_drw", "crt", "tau_norm", "dive")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table",
        type=int,
        default=1,
        help="which table's methods to run (1: CIFAR-LT, 2: ImageNet-LT / iNat18 single-model rows)",
    )
    parser.add_argument(
        "--benchmark", default=None, help="cifar10_lt100 | cifar10_lt50 | cifar100_lt100 | cifar100_lt50 | digits (required)"
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated config stems (default: every Table 1 row); see fcc methods"
    )
    parser.add_argument("--variants", default="raw,fcc", help="raw,fcc (default both)")
    parser.add_argument("--seeds", default="42", help="comma-separated train.seed values (default 42, the official seed)")
    parser.add_argument("--parallel", type=int, default=1, help="training processes at once (default 1)")
    parser.add_argument(
        "--per-process",
        type=int,
        default=1,
        help="runs trained together in each process, on one GPU with a CUDA stream each (default 1; see fcc train --jobs)",
    )
    parser.add_argument(
        "--stack", action="store_true", help="with --per-process K: stack each process's compatible runs (fcc train --stack)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the runs and their commands; train nothing")
    parser.add_argument("--data-root", default=None, help="folder holding the data set (passed to fcc train)")
    parser.add_argument("--out", default="runs/sweep", help="sweep folder (default runs/sweep)")
    parser.add_argument("--configs", default="configs", help="configs folder (default configs)")
    parser.add_argument("--device", default=None, help="passed to fcc train")
    add_overrides_argument(parser, "extra overrides for every run (e.g. optim.epochs=2 for a smoke test)")
    parser.add_argument(
        "--launcher", choices=("local", "slurm"), default="local", help="local process pool (default) or one Slurm job per run"
    )
    parser.add_argument(
        "--status", metavar="OUT", default=None, help="print each run's state in the sweep folder OUT; run nothing"
    )
    from fcc_train.experiments.slurm_resources import add_slurm_arguments

    add_slurm_arguments(parser)


@dataclass
class Job:
    key: str  # config stem
    fcc: bool
    seed: int
    config: Path
    out: Path
    depends: Job | None = None
    extra: list[str] = field(default_factory=list)
    status: str = "pending"  # pending | done | skipped-done | failed | blocked | running
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.key}{'_fcc' if self.fcc else ''}/seed{self.seed}"

    def sets(self, args: argparse.Namespace) -> list[str]:
        return [f"train.seed={self.seed}"] + self.extra + overrides_of(args)

    def command(self, args: argparse.Namespace) -> list[str]:
        cmd = [sys.executable, "-m", "fcc", "train", "--config", str(self.config), "--out", str(self.out)]
        return cmd + _shared_flags(args) + ["--set", *self.sets(args)]


def _shared_flags(args: argparse.Namespace) -> list[str]:
    return (["--data-root", args.data_root] if args.data_root else []) + (["--device", args.device] if args.device else [])


def group_command(jobs: list[Job], args: argparse.Namespace, jobs_file: Path) -> list[str]:
    """One ``fcc train --jobs FILE`` process for several runs (written to ``jobs_file``)."""
    entries = [{"config": str(j.config), "out": str(j.out), "set": j.sets(args)} for j in jobs]
    jobs_file.parent.mkdir(parents=True, exist_ok=True)
    jobs_file.write_text(json.dumps(entries, indent=1))
    stack = ["--stack"] if getattr(args, "stack", False) else []
    return [sys.executable, "-m", "fcc", "train", "--jobs", str(jobs_file), *stack] + _shared_flags(args)


def _is_done(out: Path) -> bool:
    try:
        return bool(json.loads((out / "summary.json").read_text()).get("done"))
    except (OSError, ValueError):
        return False


def _parse_ints(text: str, what: str) -> list[int]:
    from fcc_theory.errors import UserError

    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} '{text}' is not a comma-separated list of integers; write e.g. --seeds 0,1,2") from None
    if not vals:
        raise UserError(f"{what} is empty; write e.g. --seeds 0,1,2")
    return vals


def plan_jobs(args: argparse.Namespace) -> list[Job]:
    """The runs to do, stage-1 runs before their stage-2 runs."""
    import yaml

    from fcc_theory.errors import UserError
    from fcc_train.methods.catalog import METHODS

    if args.benchmark is None:
        raise UserError("--benchmark is required; use one of " + ", ".join(TABLES.get(args.table, TABLES[1])))
    if args.table not in TABLES:
        raise UserError(f"unknown --table {args.table}; fcc sweep runs table 1 (CIFAR-LT) or 2 (ImageNet-LT, iNat18)")
    if args.benchmark not in TABLES[args.table]:
        raise UserError(
            f"unknown --benchmark '{args.benchmark}' for table {args.table}; use one of {', '.join(TABLES[args.table])}"
        )
    if args.parallel < 1:
        raise UserError(f"--parallel must be >= 1, got {args.parallel}")
    if getattr(args, "per_process", 1) < 1:
        raise UserError(f"--per-process must be >= 1, got {args.per_process}")
    if getattr(args, "stack", False) and getattr(args, "per_process", 1) < 2:
        raise UserError("--stack stacks the runs that share a process; add --per-process K with K >= 2")
    known = [m.key for m in METHODS]
    if args.methods:
        keys = [k.strip() for k in args.methods.split(",") if k.strip()]
        bad = [k for k in keys if k not in known]
        if bad:
            raise UserError(f"unknown method '{bad[0]}' in --methods; choose from {', '.join(known)} (fcc methods lists them)")
    else:
        keys = list(TABLE2_METHODS) if args.table == 2 else [m.key for m in METHODS if m.table_row]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if not variants or any(v not in ("raw", "fcc") for v in variants):
        raise UserError(f"--variants '{args.variants}' must list raw and/or fcc")
    seeds = _parse_ints(args.seeds, "--seeds")
    cfg_dir = Path(args.configs) / args.benchmark
    out_dir = Path(args.out) / args.benchmark
    jobs: dict[tuple[str, bool, int], Job] = {}

    def add(key: str, fcc: bool, seed: int) -> Job:
        if (key, fcc, seed) in jobs:
            return jobs[(key, fcc, seed)]
        stem = key + ("_fcc" if fcc else "")
        path = cfg_dir / f"{stem}.yaml"
        if not path.is_file():
            raise UserError(
                f"config '{path}' does not exist; regenerate with python -m fcc_train.methods.catalog or drop {key} from --methods"
            )
        data = yaml.safe_load(path.read_text()) or {}
        dep_stem = (data.get("stage") or {}).get("depends_on")
        dep = None
        extra: list[str] = []
        if dep_stem:
            dep_key, dep_fcc = (dep_stem[:-4], True) if dep_stem.endswith("_fcc") else (dep_stem, False)
            dep = add(dep_key, dep_fcc, seed)
            target = "method.teacher" if (data.get("method") or {}).get("loss") == "dive" else "stage.init_from"
            extra.append(f"{target}={dep.out}")
        job = Job(key, fcc, seed, path, out_dir / stem / f"seed{seed}", dep, extra)
        jobs[(key, fcc, seed)] = job
        return job

    for seed in seeds:
        for key in keys:
            for v in variants:
                add(key, v == "fcc", seed)
    return list(jobs.values())  # insertion order puts every dependency before its dependant


def stack_order(jobs: list[Job], args: argparse.Namespace) -> dict[str, tuple[int, str]]:
    """A key per job name: runs with equal keys can stack together (``--stack``); stackable runs have keys
    ``(0, lockstep)`` (recipe, model, numerics), the runs that train alone ``(1, "")``. :func:`next_group`
    fills each ``--per-process K`` process from them, instead of a slice of the plan that would split
    recipes into several small stacks."""
    from fcc_theory.errors import UserError
    from fcc_train.config import load_config
    from fcc_train.stacked_runs import config_stack_problem, stack_key

    order = {}
    for j in jobs:
        try:
            cfg = load_config(j.config, j.sets(args))
        except UserError:  # a broken config fails in its own process, with its own message
            order[j.name] = (2, "")
            continue
        alone = config_stack_problem(cfg) is not None
        order[j.name] = (int(alone), "" if alone else json.dumps(stack_key(cfg), sort_keys=True))
    return order


def next_group(ready: list[Job], per: int, order: dict[str, tuple[int, str]]) -> list[Job]:
    """The runs of the next ``--stack`` process: up to ``per`` ready runs of the largest lockstep (one full
    stack), then whole smaller locksteps that fit in the room left (more stacks in the same process, on
    their own CUDA streams). Runs keep their plan order within a lockstep."""
    buckets: dict[tuple[int, str], list[Job]] = {}
    for j in ready:
        buckets.setdefault(order[j.name], []).append(j)
    group: list[Job] = []
    for _, js in sorted(buckets.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        room = per - len(group)
        if room <= 0:
            break
        chunk = js[:per]
        if len(chunk) <= room or not group:
            group += chunk[:room]
    return group


def _run_all(jobs: list[Job], args: argparse.Namespace) -> None:
    for j in jobs:
        if _is_done(j.out):
            j.status = "skipped-done"
    per = max(1, getattr(args, "per_process", 1))
    running: list[tuple[list[Job], subprocess.Popen, Any, Path, float]] = []
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    groups = 0
    order = stack_order(jobs, args) if getattr(args, "stack", False) and per > 1 else None
    while True:
        for j in jobs:  # a failed stage 1 blocks its stage 2
            if j.status == "pending" and j.depends is not None and j.depends.status in ("failed", "blocked"):
                j.status = "blocked"
                print(f"[sweep] {j.name}: blocked ({j.depends.name} {j.depends.status})", flush=True)
        ready = [j for j in jobs if j.status == "pending" and (j.depends is None or j.depends.status in ("done", "skipped-done"))]
        while ready and len(running) < args.parallel:
            group = ready[:per] if order is None else next_group(ready, per, order)
            ready = [j for j in ready if j not in group]
            for j in group:
                j.out.mkdir(parents=True, exist_ok=True)
                j.status = "running"
            if len(group) == 1:
                log_path = group[0].out / "sweep.log"
                cmd = group[0].command(args)
            else:
                groups += 1
                folder = Path(args.out) / args.benchmark / "sweep_groups"
                stamp = f"{os.getpid()}-{groups}"
                log_path = folder / f"group-{stamp}.log"
                cmd = group_command(group, args, folder / f"group-{stamp}.json")
            log = open(log_path, "a")
            print(f"[sweep] start {', '.join(j.name for j in group)}: {' '.join(cmd[1:])}", flush=True)
            running.append((group, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log, log_path, time.perf_counter()))
        if not running:
            break
        time.sleep(0.2)
        still = []
        for group, proc, log, log_path, t0 in running:
            rc = proc.poll()
            if rc is None:
                still.append((group, proc, log, log_path, t0))
                continue
            log.close()
            for j in group:
                j.seconds = time.perf_counter() - t0
                j.status = "done" if _is_done(j.out) and (rc == 0 or len(group) > 1) else "failed"
                print(
                    f"[sweep] {j.status} {j.name} (exit {rc}, {j.seconds:.1f} s){'' if j.status == 'done' else '; see ' + str(log_path)}",
                    flush=True,
                )
        running = still


def collect(jobs: list[Job], benchmark: str) -> list[dict[str, Any]]:
    """One row per run: its summary.json's numbers (None where the run did not finish)."""
    from fcc_train.methods.catalog import method_entry

    rows = []
    for j in jobs:
        s: dict[str, Any] = {}
        try:
            s = json.loads((j.out / "summary.json").read_text())
        except (OSError, ValueError):
            pass
        entry = method_entry(j.key)
        best, last = s.get("best") or {}, s.get("last") or {}
        rows.append(
            {
                "benchmark": benchmark,
                "method": j.key,
                "title": entry.title,
                "table_row": entry.table_row,
                "variant": "fcc" if j.fcc else "raw",
                "seed": j.seed,
                "config": str(j.config),
                "run_dir": str(j.out),
                "status": j.status,
                "done": bool(s.get("done")),
                "best_top1_error": s.get("best_top1_error"),
                "best_epoch": s.get("best_epoch"),
                "last_top1_error": s.get("last_top1_error"),
                "many": best.get("many"),
                "medium": best.get("medium"),
                "few": best.get("few"),
                "last_many": last.get("many"),
                "last_medium": last.get("medium"),
                "last_few": last.get("few"),
                "seconds": s.get("seconds"),
            }
        )
    return rows


def _write_results(rows: list[dict[str, Any]], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    pj, pc = folder / "sweep_results.json", folder / "sweep_results.csv"
    pj.write_text(json.dumps(rows, indent=2))
    with pc.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()) if rows else ["benchmark"])
        w.writeheader()
        w.writerows(rows)
    return pj, pc


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}"


def _print_status(out: Path) -> int:
    from fcc_theory.errors import UserError
    from fcc_train.experiments.sweep_status import format_states, sweep_states

    if not out.is_dir():
        raise UserError(f"sweep folder '{out}' does not exist; pass the --out of a sweep")
    states = sweep_states(out)
    if not states:
        raise UserError(f"no runs under '{out}'; pass the --out of a sweep (it holds <benchmark>/<config>/seed<k>)")
    print(format_states(states))
    return 0 if all(s.state == "done" for s in states) else 1


def run(args: argparse.Namespace) -> int:
    if args.status is not None:
        return _print_status(Path(args.status))
    jobs = plan_jobs(args)
    if args.dry_run:
        for j in jobs:
            state = "done, skip" if _is_done(j.out) else ("after " + j.depends.name if j.depends else "ready")
            print(f"{j.name:<28} [{state}]  {' '.join(j.command(args)[1:])}")
        if args.per_process > 1 and args.stack:
            order = stack_order(jobs, args)
            keys = sorted({order[j.name] for j in jobs})
            for n, key in enumerate(keys):
                names = [j.name for j in jobs if order[j.name] == key]
                what = "train alone (beside each other)" if key[0] else f"stack together (lockstep {n + 1})"
                print(f"--stack: {len(names)} runs {what}: {', '.join(names)}")
            print(f"--per-process {args.per_process}: each process takes up to {args.per_process} ready runs of the largest group "
                  "above (one stack), then whole smaller groups that fit")
        elif args.per_process > 1:
            print(f"--per-process {args.per_process}: ready runs are grouped {args.per_process} to one 'fcc train --jobs' process")
        print(f"{len(jobs)} runs ({sum(_is_done(j.out) for j in jobs)} already done); nothing trained (--dry-run)")
        return 0
    if args.launcher == "slurm":
        from fcc_train.experiments.slurm import run_on_slurm

        if not run_on_slurm(jobs, args):  # --no-wait: submitted, nothing to collect yet
            return 0
    else:
        _run_all(jobs, args)
    rows = collect(jobs, args.benchmark)
    pj, pc = _write_results(rows, Path(args.out) / args.benchmark)
    print(f"{'run':<28} {'status':<13} {'best err':>8} {'last err':>8}")
    for r, j in zip(rows, jobs):
        print(f"{j.name:<28} {r['status']:<13} {_fmt(r['best_top1_error']):>8} {_fmt(r['last_top1_error']):>8}")
    print(f"results: {pj} and {pc}")
    return 0 if all(j.status in ("done", "skipped-done") for j in jobs) else 1

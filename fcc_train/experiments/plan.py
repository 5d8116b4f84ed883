"""Which runs a table needs (``fcc sweep``): each method's config raw and +FCC for each seed, stage-1 runs
chained before the runs that start from them, and which runs can share a process as one stack.

Without ``--methods`` a sweep plans the rows the paper reports on the benchmark, each variant only where the
paper has its number: Table 1's from :mod:`fcc_train.experiments.table1` (every Table 1 row on digits-LT),
Table 2's from :mod:`fcc_train.experiments.table2`. Each run trains ``<configs>/<benchmark>/<method>[_fcc].yaml``
with ``train.seed`` set to the seed, into ``<out>/<benchmark>/<method>[_fcc]/seed<k>``. Two-stage configs
(``stage.depends_on``: cRT, LWS, LTR-WB, DiVe) wait for their stage-1 run of the same seed and variant and get
``stage.init_from`` (or ``method.teacher`` for DiVe) pointing at its folder; the stage-1 run joins the plan if
it was not asked for.

>>> configs = str(Path(__file__).resolve().parents[2] / "configs")
>>> jobs = plan_jobs(SweepOptions(benchmark="digits", methods="crt", variants="raw", configs=configs))
>>> [(j.name, j.depends.name if j.depends else None) for j in jobs]
[('ce/seed42', None), ('crt/seed42', 'ce/seed42')]
>>> jobs[1].sets()
['train.seed=42', 'stage.init_from=runs/sweep/digits/ce/seed42']
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fcc_theory.errors import UserError
from fcc_train.experiments.run_request import RunRequest

__all__ = [
    "TABLES",
    "Job",
    "SweepOptions",
    "next_group",
    "parse_ints",
    "plan_jobs",
    "plan_lines",
    "shown_command",
    "stack_order",
]

TABLES = {1: ("cifar10_lt100", "cifar10_lt50", "cifar100_lt100", "cifar100_lt50", "digits"), 2: ("imagenet_lt", "inat18")}


@dataclass(frozen=True)
class SweepOptions:
    """What ``fcc sweep`` was asked (its command-line options, with the same defaults)."""

    benchmark: str | None = "digits"
    table: int = 1
    methods: str | None = None  # comma-separated config stems; None: every row of the table
    variants: str = "raw,fcc"
    seeds: str = "42"
    parallel: int = 1
    per_process: int = 1
    stack: bool = False
    configs: str = "configs"
    out: str = "runs/sweep"
    data_root: str | None = None
    device: str | None = None
    overrides: tuple[str, ...] = ()  # --set items, in order, for every run
    retrain: bool = False  # delete and train again the folders holding a run of another config

    @classmethod
    def of(cls, args: Any) -> SweepOptions:
        """From parsed arguments (an ``argparse.Namespace`` or any object with these attributes; ``overrides`` as
        ``--set`` gives them: a list of lists of items, or a flat list); missing attributes take the defaults."""
        if isinstance(args, SweepOptions):
            return args
        values = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        groups = values.get("overrides") or ()
        values["overrides"] = tuple(item for g in groups for item in ([g] if isinstance(g, str) else g))
        return cls(**values)

    @property
    def folder(self) -> Path:
        """``<out>/<benchmark>``: the runs, the results and the group jobs files."""
        assert self.benchmark is not None, "plan_jobs rejects a sweep without --benchmark before any folder is named"
        return Path(self.out) / self.benchmark

    def shared_flags(self) -> list[str]:
        """``fcc train`` flags every process of the sweep gets."""
        return (["--data-root", self.data_root] if self.data_root else []) + (["--device", self.device] if self.device else [])


@dataclass
class Job:
    """A run of the sweep: its method (config stem ``key``), variant and seed, its :class:`RunRequest`, the job it
    waits for, and how it went (pending | running | done | skipped-done | failed | blocked)."""

    key: str
    fcc: bool
    seed: int
    request: RunRequest
    depends: Job | None = None
    status: str = "pending"
    seconds: float = 0.0
    extra: list[str] = field(default_factory=list)  # the overrides that link it to ``depends``

    @property
    def config(self) -> Path:
        assert self.request.config_path is not None  # a sweep's runs come from config files
        return self.request.config_path

    @property
    def out(self) -> Path:
        return self.request.out

    @property
    def name(self) -> str:
        return f"{self.key}{'_fcc' if self.fcc else ''}/seed{self.seed}"

    def sets(self, args: Any = None) -> list[str]:
        """The run's ``--set`` items: its seed, its link to stage 1, then the sweep's own (``args`` is accepted for
        callers that pass the sweep's options; the items were fixed when the sweep was planned)."""
        return list(self.request.overrides)

    def command(self, args: Any = None) -> list[str]:
        """The ``fcc train`` process that trains this run alone."""
        opts = SweepOptions.of(args) if args is not None else SweepOptions()
        cmd = [sys.executable, "-m", "fcc", "train", "--config", str(self.config), "--out", str(self.out)]
        return cmd + opts.shared_flags() + ["--set", *self.sets()]


def shown_command(cmd: list[str]) -> str:
    """A child command as a user would type it: ``python -m fcc train ...``, shell-quoted, so that it can be pasted.

    >>> shown_command([sys.executable, "-m", "fcc", "train", "--out", "runs/a b", "--set", "optim.milestones=[48, 54]"])
    "python -m fcc train --out 'runs/a b' --set 'optim.milestones=[48, 54]'"
    """
    import shlex

    return shlex.join(["python", *cmd[1:]] if cmd and cmd[0] == sys.executable else cmd)


def parse_ints(text: str, what: str) -> list[int]:
    """``"0,1,2"`` → ``[0, 1, 2]``; anything else is a one-line error naming the option ``what``."""
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} '{text}' is not a comma-separated list of integers; write e.g. --seeds 0,1,2") from None
    if not vals:
        raise UserError(f"{what} is empty; write e.g. --seeds 0,1,2")
    return vals


def _check(opts: SweepOptions) -> str:
    """Reject bad options; the benchmark, now known to be given."""
    if opts.benchmark is None:
        raise UserError("--benchmark is required; use one of " + ", ".join(TABLES.get(opts.table, TABLES[1])))
    if opts.table not in TABLES:
        raise UserError(f"unknown --table {opts.table}; fcc sweep runs table 1 (CIFAR-LT) or 2 (ImageNet-LT, iNat18)")
    if opts.benchmark not in TABLES[opts.table]:
        raise UserError(
            f"unknown --benchmark '{opts.benchmark}' for table {opts.table}; use one of {', '.join(TABLES[opts.table])}"
        )
    if opts.parallel < 1:
        raise UserError(f"--parallel must be >= 1, got {opts.parallel}")
    if opts.per_process < 1:
        raise UserError(f"--per-process must be >= 1, got {opts.per_process}")
    if opts.stack and opts.per_process < 2:
        raise UserError("--stack stacks the runs that share a process; add --per-process K with K >= 2")
    return opts.benchmark


def plan_jobs(args: Any) -> list[Job]:
    """The runs to do, stage-1 runs before their stage-2 runs (``args``: :class:`SweepOptions` or parsed arguments)."""
    import yaml

    from fcc_train.experiments.catalog import METHODS

    opts = SweepOptions.of(args)
    benchmark = _check(opts)
    known = [m.key for m in METHODS]
    # without --methods: the rows the paper's table reports on this benchmark, each variant only where it has the number
    paper_variants: dict[str, tuple[str, ...]] = {}
    if opts.methods:
        keys = [k.strip() for k in opts.methods.split(",") if k.strip()]
        bad = [k for k in keys if k not in known]
        if bad:
            raise UserError(f"unknown method '{bad[0]}' in --methods; choose from {', '.join(known)} (fcc methods lists them)")
    elif opts.table == 2:
        from fcc_train.experiments.table2 import planned_rows

        paper_variants = {r.key: r.variants for r in planned_rows(benchmark)}
        keys = list(paper_variants)
    else:
        from fcc_train.experiments.table1 import table1_plan

        paper_variants = dict(table1_plan(benchmark).variants)
        keys = list(paper_variants)
    variants = [v.strip() for v in opts.variants.split(",") if v.strip()]
    if not variants or any(v not in ("raw", "fcc") for v in variants):
        raise UserError(f"--variants '{opts.variants}' must list raw and/or fcc")
    seeds = parse_ints(opts.seeds, "--seeds")
    cfg_dir = Path(opts.configs) / benchmark
    jobs: dict[tuple[str, bool, int], Job] = {}

    def add(key: str, fcc: bool, seed: int) -> Job:
        if (key, fcc, seed) in jobs:
            return jobs[(key, fcc, seed)]
        stem = key + ("_fcc" if fcc else "")
        path = cfg_dir / f"{stem}.yaml"
        if not path.is_file():
            # the CIFAR and digits configs are rendered from the catalogue; the Table 2 ones are written by hand
            fix = "regenerate with python -m fcc_train.experiments.catalog" if benchmark in TABLES[1] else f"add it to {cfg_dir}"
            raise UserError(f"config '{path}' does not exist; {fix} or leave {key} out (--methods lists the runs to plan)")
        data = yaml.safe_load(path.read_text()) or {}
        dep_stem = (data.get("stage") or {}).get("depends_on")
        dep = None
        extra: list[str] = []
        if dep_stem:
            dep_key, dep_fcc = (dep_stem[:-4], True) if dep_stem.endswith("_fcc") else (dep_stem, False)
            dep = add(dep_key, dep_fcc, seed)
            target = "method.teacher" if (data.get("method") or {}).get("loss") == "dive" else "stage.init_from"
            extra.append(f"{target}={dep.out}")
        sets = (f"train.seed={seed}", *extra, *opts.overrides)
        request = RunRequest(path, opts.folder / stem / f"seed{seed}", sets, dep.request if dep else None)
        job = Job(key, fcc, seed, request, dep, extra=extra)
        jobs[(key, fcc, seed)] = job
        return job

    for seed in seeds:
        for key in keys:
            for v in variants:
                if v in paper_variants.get(key, variants):
                    add(key, v == "fcc", seed)
    return list(jobs.values())  # insertion order puts every dependency before its dependant


def stack_order(jobs: list[Job], args: Any = None) -> dict[str, tuple[int, str]]:
    """A key per job name: runs with equal keys can stack together (``--stack``); stackable runs have keys
    ``(0, lockstep)`` (recipe, model, numerics), the runs that train alone ``(1, "")``, a config that does not
    load ``(2, "")`` (it fails in its own process, with its own message). :func:`next_group` fills each
    ``--per-process K`` process from them, instead of a slice of the plan that would split recipes into
    several small stacks."""
    from fcc_train.fleet.stacked_runs import config_stack_problem, stack_key

    order = {}
    for j in jobs:
        try:
            cfg = j.request.config
        except UserError:
            order[j.name] = (2, "")
            continue
        alone = config_stack_problem(cfg) is not None
        order[j.name] = (int(alone), "" if alone else json.dumps(stack_key(cfg), sort_keys=True))
    return order


def next_group(ready: list[Any], per: int, order: dict[str, tuple[int, str]]) -> list[Any]:
    """The runs of the next ``--stack`` process: up to ``per`` ready runs of the largest lockstep (one full
    stack), then whole smaller locksteps that fit in the room left (more stacks in the same process, on
    their own CUDA streams). Runs keep their plan order within a lockstep."""
    buckets: dict[tuple[int, str], list[Any]] = {}
    for j in ready:
        buckets.setdefault(order[j.name], []).append(j)
    group: list[Any] = []
    for _, js in sorted(buckets.items(), key=lambda kv: (kv[0][0], -len(kv[1]), kv[0][1])):
        room = per - len(group)
        if room <= 0:
            break
        chunk = js[:per]
        if len(chunk) <= room or not group:
            group += chunk[:room]
    return group


def plan_lines(jobs: list[Job], args: Any) -> list[str]:
    """What ``fcc sweep --dry-run`` prints: each run, its state and command, then how processes are filled."""
    from fcc_train.experiments.sweep import is_done

    opts = SweepOptions.of(args)
    lines = []
    for j in jobs:
        state = "done, skip" if is_done(j.out) else ("after " + j.depends.name if j.depends else "ready")
        lines.append(f"{j.name:<28} [{state}]  {shown_command(j.command(opts))}")
    per = opts.per_process
    if per > 1 and opts.stack:
        order = stack_order(jobs)
        for n, key in enumerate(sorted({order[j.name] for j in jobs})):
            names = [j.name for j in jobs if order[j.name] == key]
            what = "train alone (beside each other)" if key[0] else f"stack together (lockstep {n + 1})"
            lines.append(f"--stack: {len(names)} runs {what}: {', '.join(names)}")
        lines.append(
            f"--per-process {per}: each process takes up to {per} ready runs of the largest group "
            "above (one stack), then whole smaller groups that fit"
        )
    elif per > 1:
        lines.append(f"--per-process {per}: ready runs are grouped {per} to one 'fcc train --jobs' process")
    if opts.table == 1 and not opts.methods and opts.benchmark is not None:
        from fcc_train.experiments.table1 import left_out_line, table1_plan

        lines.append(left_out_line(table1_plan(opts.benchmark)))
    lines.append(f"{len(jobs)} runs ({sum(is_done(j.out) for j in jobs)} already done); nothing trained (--dry-run)")
    return lines

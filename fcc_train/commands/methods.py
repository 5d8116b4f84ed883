"""``fcc methods [--json]``: every single-model method, its source paper, hyperparameters and the config keys that select it."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_arguments", "method_records", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--split", default=None, help="show the per-split values of one split (cifar10_lt100, ..., digits)")


def method_records(split: str | None = None) -> list[dict[str, Any]]:
    """One dict per catalogue entry (the data behind ``fcc methods``)."""
    from fcc_train.experiments.catalog import (
        ALL_SPLITS,
        METHODS,
        SPLITS,
        config_overrides,
        config_path,
        fcc_gamma,
        fcc_start_epoch,
    )

    out = []
    for m in METHODS:
        rec: dict[str, Any] = {
            "key": m.key,
            "title": m.title,
            "family": m.family,
            "source": m.source,
            "table1_row": m.table_row,
            "config_keys": dict(m.keys),
            "per_split": {s: dict(v) for s, v in m.per_split.items()},
            "depends_on": m.depends_on,
            "fcc": {
                "gamma": {s: fcc_gamma(m.key, s) for s in SPLITS},
                "start_epoch": fcc_start_epoch(m.key, SPLITS[0]),  # CIFAR-LT's
                "start_epoch_by_split": {s: fcc_start_epoch(m.key, s) for s in ALL_SPLITS},
                "on_student": m.fcc_on_student,
            },
            "configs": [str(config_path("configs", "<split>", m.key, f)) for f in (False, True)],
            "notes": m.notes,
        }
        if split is not None:
            rec["resolved"] = {"raw": config_overrides(m, split, False), "fcc": config_overrides(m, split, True)}
            rec["fcc"]["split"] = {"split": split, "gamma": fcc_gamma(m.key, split), "start_epoch": fcc_start_epoch(m.key, split)}
        out.append(rec)
    return out


def _fmt(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def run(args: argparse.Namespace) -> int:
    from fcc_theory.errors import UserError
    from fcc_train.experiments.catalog import ALL_SPLITS

    if args.split is not None and args.split not in ALL_SPLITS:
        raise UserError(f"unknown --split '{args.split}'; use one of {', '.join(ALL_SPLITS)}")
    recs = method_records(args.split)
    if args.json:
        print(json.dumps(recs, indent=2))
        return 0
    for r in recs:
        row = f" [Table 1: {r['table1_row']}]" if r["table1_row"] else ""
        print(f"{r['key']:<15} {r['title']} ({r['family']}){row}")
        print(f"{'':<15} source: {r['source']}")
        keys = r["resolved"]["raw"] if args.split else r["config_keys"]
        print(f"{'':<15} keys: " + ", ".join(f"{k}={_fmt(v)}" for k, v in keys.items()))
        for s, v in ({} if args.split else r["per_split"]).items():
            print(f"{'':<15}   {s}: " + ", ".join(f"{k}={_fmt(v2)}" for k, v2 in v.items()))
        if r["depends_on"]:
            print(f"{'':<15} stage 1 / teacher: {r['depends_on']} (the +FCC config uses {r['depends_on']}_fcc)")
        f = r["fcc"]
        if not f["on_student"]:
            fcc_text = "only the teacher"
        elif args.split:  # the values of the split's +FCC config
            fcc_text = f"gamma {f['split']['gamma']}; start epoch {f['split']['start_epoch']}"
        else:
            gammas = ", ".join(f"{s}={v}" for s, v in f["gamma"].items())
            starts = f["start_epoch_by_split"]
            other = ", ".join(f"{s} {v}" for s, v in starts.items() if v != f["start_epoch"])
            fcc_text = f"gamma {gammas}; start epoch {f['start_epoch']}" + (f" ({other})" if other else "")
        print(f"{'':<15} +FCC: {fcc_text}")
        print(f"{'':<15} configs: {r['configs'][0]}, {r['configs'][1]}")
        if r["notes"]:
            print(f"{'':<15} {r['notes']}")
    return 0

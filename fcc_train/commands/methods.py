"""``fcc methods [--json] [--table 2]``: every method, its source paper, hyperparameters, the config keys that select it
and what FCC changes with it (``fcc_effect``); ``--table 2`` lists the paper's Table 2 rows with their backbones."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "method_records", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--split", default=None, help="show the per-split values of one split (cifar10_lt100, ..., digits)")
    parser.add_argument(
        "--table", type=int, default=None, help="2: list Table 2's rows (paper row, config, backbones, FCC's effect)"
    )
    parser.add_argument("--configs", default="configs", help="config root read by --table 2 (default: configs)")


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
    from fcc_train.experiments.table2 import TABLE2_ROWS

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
                "placement": m.keys.get("fcc.placement", "features"),
                "cancels_in_cosine_head": m.keys.get("model.head") == "cosine"
                and m.keys.get("fcc.placement", "features") == "features",
            },
            "configs": [str(config_path("configs", "<split>", m.key, f)) for f in (False, True)],
            "notes": m.notes,
        }
        if split is not None:
            rec["resolved"] = {"raw": config_overrides(m, split, False), "fcc": config_overrides(m, split, True)}
            rec["fcc"]["split"] = {"split": split, "gamma": fcc_gamma(m.key, split), "start_epoch": fcc_start_epoch(m.key, split)}
        rec["fcc_effect"] = _catalogue_effect(m, split or SPLITS[0])
        rec["table2_rows"] = [
            {"benchmark": b, "paper_row": r.paper_row, "paper_backbone": r.backbone}
            for b, rows in TABLE2_ROWS.items()
            for r in rows
            if r.key == m.key
        ]
        out.append(rec)
    return out


def _catalogue_effect(m: Any, split: str) -> dict[str, Any]:
    """What FCC changes in the entry's +FCC config (DiVe: in its teacher's, the only run the official code scales)."""
    from fcc_train.experiments.catalog import config_overrides, method_entry
    from fcc_train.experiments.fcc_placement import describe

    entry = m if m.fcc_on_student or not m.depends_on else method_entry(m.depends_on)
    over = config_overrides(entry, split, True)
    eff = describe(
        fcc_enabled=bool(over.get("fcc.enabled", False)),
        # every split's ce.yaml has a linear head with bias; an entry's keys override it
        head=str(over.get("model.head", "linear")),
        placement=str(over.get("fcc.placement", "features")),
        bias=bool(over.get("model.bias", True)),
        multi_expert=str(over.get("model.experts", "none")) != "none",
    ).to_json()
    if entry is not m:
        eff["where"] = f"only the teacher ({entry.key}_fcc) trains with FCC: {eff['where']}"
    return eff


def table2_rows(configs: str) -> list[dict[str, Any]]:
    """Table 2's rows (:func:`fcc_train.experiments.table2.table2_records`) with FCC's effect in each +FCC config."""
    from fcc_train.config import load_config
    from fcc_train.experiments.fcc_placement import fcc_effect
    from fcc_train.experiments.table2 import table2_records

    recs = table2_records(configs)
    for r in recs:
        path = Path(r["configs"][1])
        if not path.is_file():
            r["fcc_effect"] = None
            continue
        cfg = load_config(path)
        dep = cfg.stage.depends_on
        if not cfg.fcc.enabled and dep and (path.parent / f"{dep}.yaml").is_file():
            # DiVe's +FCC row: the official code trains only the teacher with FCC
            eff = fcc_effect(load_config(path.parent / f"{dep}.yaml")).to_json()
            eff["where"] = f"only the stage before it ({dep}) trains with FCC: {eff['where']}"
            r["fcc_effect"] = eff
        else:
            r["fcc_effect"] = fcc_effect(cfg).to_json()
    return recs


def _print_table2(recs: list[dict[str, Any]]) -> None:
    bench = None
    for r in recs:
        if r["benchmark"] != bench:
            bench = r["benchmark"]
            print(f"Table 2, {bench}")
        head = f"  {r['paper_row']:<18} {r['key']:<9} paper backbone {r['paper_backbone']:<11}"
        if not r["variants"]:
            print(f"{head} no numbers in the paper here: not planned")
            continue
        arch = r["config_arch"] or f"missing ({r['configs'][0]})"
        nums = r["paper_top1_error"]
        print(f"{head} config {arch:<9} paper top-1 err raw {nums['raw']:.2f}, +FCC {nums['fcc']:.2f}")
        if r["fcc_effect"] is not None:
            print(f"  {'':<18} +FCC: {r['fcc_effect']['where']}")


def _fmt(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (list, dict)) else str(v)


def run(args: argparse.Namespace) -> int:
    from fcc_theory.errors import UserError
    from fcc_train.experiments.catalog import ALL_SPLITS

    if args.split is not None and args.split not in ALL_SPLITS:
        raise UserError(f"unknown --split '{args.split}'; use one of {', '.join(ALL_SPLITS)}")
    if args.table is not None:
        if args.table != 2:
            raise UserError(
                f"--table {args.table}: fcc methods lists Table 2's rows (--table 2); Table 1's rows are the default list"
            )
        rows = table2_rows(args.configs)
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            _print_table2(rows)
        return 0
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
        if r["family"] == "multi-expert":
            fcc_text += f"; placement {r['fcc']['placement']}" + (
                " (cancels in the cosine heads)" if r["fcc"]["cancels_in_cosine_head"] else ""
            )
        print(f"{'':<15} +FCC: {fcc_text}")
        print(f"{'':<15} +FCC effect: {r['fcc_effect']['where']}")
        if r["table2_rows"]:
            print(
                f"{'':<15} Table 2: "
                + ", ".join(f"{t['benchmark']} '{t['paper_row']}' ({t['paper_backbone']})" for t in r["table2_rows"])
            )
        print(f"{'':<15} configs: {r['configs'][0]}, {r['configs'][1]}")
        if r["notes"]:
            print(f"{'':<15} {r['notes']}")
    return 0

"""``fcc search --claim ID``: search for (and shrink) a counterexample to one claim of ``fcc verify``.

Engines: ``hypothesis`` (seeded @given search in exact rationals, shrunk, then greedily simplified) and
``numpy`` (float64 batches, every flagged candidate re-checked exactly, or, with ``--exact-seconds``, the
ones left unchecked counted and reported, never passed off as "none found"). Either way the reported
counterexample is exact and replayable: ``--out FILE`` writes the network and the output prints the
``fcc check`` command line. Exit 0 whether or not a counterexample was found; 2 on bad input.
"""

from __future__ import annotations

import argparse
import functools
import json
from typing import Any

from fcc_theory.errors import UserError
from fcc_theory.limits import prepare_output_file
from fcc_theory.rational import format_rational, parse_rational, parse_vector


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claim", required=True, help="claim id of fcc verify (e.g. target, relu_hidden_bias, tanh_no_bias)")
    p.add_argument(
        "--strict", action="store_true", help="exclude ties: a counterexample needs eta > 0 > eta' rather than eta' <= 0"
    )
    p.add_argument("--widths", default=None, help="network widths input,hidden...,classes (default: the claim's, e.g. 3,3,2)")
    p.add_argument("--activation", default=None, help="linear, relu, leaky_relu, tanh, sigmoid (default: the claim's)")
    p.add_argument("--max-examples", type=int, default=None, help="budget (default 2000 for hypothesis, 10000000 for numpy)")
    p.add_argument("--seed", type=int, default=0, help="random seed (the search is reproducible)")
    p.add_argument("--engine", choices=("hypothesis", "numpy"), default="hypothesis")
    p.add_argument("--tau-range", default=None, help="draw tau from (LO, HI], e.g. 1,2 (must lie inside the claim's tau domain)")
    p.add_argument("--json", action="store_true", help="print JSON (every number an exact rational string)")
    p.add_argument(
        "--exact-seconds",
        type=float,
        default=None,
        help="numpy engine: stop exact re-checks after this many seconds (the rest are counted as unchecked); default: re-check all",
    )
    p.add_argument("--out", default=None, help="write the counterexample's network JSON here (replay with fcc check)")


def _widths(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        w = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--widths {text!r} is not a comma-separated list of integers such as 3,3,2") from None
    return w


def run(args: argparse.Namespace) -> int:
    from fcc_theory.search.properties import get_property
    from fcc_theory.search.runner import search_hypothesis

    prop = get_property(args.claim)
    widths = _widths(args.widths)
    if args.max_examples is not None and args.max_examples < 1:
        raise UserError(f"--max-examples must be >= 1, got {args.max_examples}")
    if args.exact_seconds is not None and not args.exact_seconds >= 0:
        raise UserError(f"--exact-seconds must be >= 0, got {args.exact_seconds}")
    out_path = prepare_output_file(args.out, "--out") if args.out else None
    tau_range = None
    if args.tau_range is not None:
        parts = parse_vector(args.tau_range, what="--tau-range")
        if len(parts) != 2:
            raise UserError(f"--tau-range {args.tau_range!r} needs exactly two rationals LO,HI such as 1,2")
        tau_range = (parse_rational(parts[0]), parse_rational(parts[1]))
    if args.engine == "numpy":
        from fcc_theory.search.falsifier import search_numpy

        default_examples = 10_000_000  # float candidates are cheap: millions per second
        engine: Any = functools.partial(search_numpy, exact_seconds=args.exact_seconds)
    else:
        engine, default_examples = search_hypothesis, 2000
    res = engine(
        prop,
        widths,
        args.activation,
        strict=args.strict,
        max_examples=args.max_examples or default_examples,
        seed=args.seed,
        tau_range=tau_range,
    )
    out = res.to_json()
    out["statement"] = prop.statement
    ce = res.counterexample
    if ce is not None:
        xs = ",".join(format_rational(v) for v in ce.x)
        path = args.out or "NETWORK.json"
        out["counterexample"]["replay"] = f"fcc check {path} --x {xs} --tau {format_rational(ce.tau)}"
        if out_path is not None:
            out_path.write_text(ce.net.to_json() + "\n")
    if args.json:
        print(json.dumps(out, indent=1, ensure_ascii=False))
        return 0
    print(f"claim {prop.id}: {prop.statement}")
    print(
        f"engine {res.engine}, seed {res.seed}, widths {'-'.join(map(str, res.widths))}, {res.activation}, "
        f"{'strict (ties excluded)' if res.strict else 'ties count'}"
    )
    if ce is None:
        unchecked = res.extra.get("exact_unchecked", 0)
        if unchecked:
            print(
                f"NOT 'none found': {res.examples_total} examples in {res.seconds:.2f} s; float candidates "
                f"{res.extra['candidates_flagged']}, exact re-checks {res.extra['exact_checked']} (none held up), "
                f"{unchecked} flagged candidates NOT re-checked (--exact-seconds {args.exact_seconds}); "
                "raise or drop --exact-seconds to re-check them all"
            )
            return 0
        seen = (
            f"float candidates {res.extra['candidates_flagged']}, every one re-checked exactly ({res.extra['exact_checked']}), "
            "none held up"
            if res.engine == "numpy"
            else f"premise met {res.premise_hits} times"
        )
        print(
            f"none found within budget: {res.examples_total} examples in {res.seconds:.2f} s "
            f"({res.examples_per_second:,.0f}/s); {seen}"
        )
        return 0
    c = out["counterexample"]
    print(
        f"COUNTEREXAMPLE after {res.examples} examples ({res.seconds_to_first or 0:.3f} s; {res.examples_total} evaluated in "
        f"{res.seconds:.2f} s, {res.examples_per_second:,.0f}/s), {c['nonzero_parameters']} non-zero parameters:"
    )
    print(json.dumps(ce.net.to_dict()))
    print(f"x = ({', '.join(c['x'])}), tau = {c['tau']}" + (f"  (tau_y of {ce.tau_source})" if ce.tau_source else ""))
    chk = c["check"]
    print(
        f"argmax at tau*x: {chk['argmax_scaled']}, argmax at x: {chk['argmax_original']}; logits {chk['logits_scaled']} vs {chk['logits_original']}"
    )
    print(f"replay: {c['replay']}" + ("" if args.out else "  (write the network with --out)"))
    return 0

"""``fcc check NETWORK.json --x 3/4,0,0 --tau 2``: exact evaluation of one configuration."""

from __future__ import annotations

import argparse
import json

from fcc_theory.margins import check_configuration
from fcc_theory.network import load_network
from fcc_theory.rational import format_rational, parse_rational, parse_vector


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="network JSON file (see fcc_theory.network)")
    p.add_argument("--x", required=True, help="the original feature, comma-separated rationals, e.g. 3/4,0,0")
    p.add_argument("--tau", required=True, help="the scaling factor, an exact rational, e.g. 2 or 3/2")
    p.add_argument("--json", action="store_true", help="print JSON (every number an exact rational string)")


def run(args: argparse.Namespace) -> int:
    net = load_network(args.network)
    x = parse_vector(args.x, what="--x")
    tau = parse_rational(args.tau, what="--tau")
    report = check_configuration(net, x, tau)
    if args.json:
        print(json.dumps(report.to_json(), indent=1))
        return 0
    f = format_rational
    print(f"network: {args.network}  ({net.activation}, widths {'-'.join(map(str, net.widths))})")
    print(f"x = ({', '.join(f(v) for v in report.x)}),  tau = {f(tau)}")
    if report.logits_scaled_interval is None:
        print(f"logits at tau*x: ({', '.join(f(v) for v in report.logits_scaled)})  -> class {report.class_scaled if report.class_scaled is not None else 'tie'}")
        print(f"logits at x:     ({', '.join(f(v) for v in report.logits_original)})  -> class {report.class_original if report.class_original is not None else 'tie'}")
    else:
        fmt = lambda iv: "(" + ", ".join(f"[{float(a):.6g}, {float(b):.6g}]" for a, b in iv) + ")"  # noqa: E731
        print(f"logits at tau*x (certified intervals): {fmt(report.logits_scaled_interval)} -> class {report.class_scaled}")
        print(f"logits at x     (certified intervals): {fmt(report.logits_original_interval)} -> class {report.class_original}")
    verdict = {True: "agree", False: "DISAGREE", None: "undecided (intervals overlap)"}[report.agree]
    print(f"decision: {verdict}")
    for p in report.pairs:
        if p.eta_interval is not None:  # tanh/sigmoid: the certified enclosures, not the long exact midpoints
            lo, hi = p.eta_interval
            lo_p, hi_p = p.eta_prime_interval  # type: ignore[misc]
            print(f"  pair ({p.i},{p.j}): eta in [{float(lo):.9g}, {float(hi):.9g}], eta' in [{float(lo_p):.9g}, {float(hi_p):.9g}]"
                  " (certified; exact bounds with --json)")
            continue
        line = f"  pair ({p.i},{p.j}): eta = {f(p.eta)}, eta' = {f(p.eta_prime)}"
        if p.s is not None:
            line += f", s = {f(p.s)}, B = {f(p.B)}"
            if p.slab is not None:
                line += f", slab [{f(p.slab[0])}, {f(p.slab[1])}] {'contains s' if p.in_slab else 'does not contain s'}"
        print(line)
    return 0

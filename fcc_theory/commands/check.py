"""``fcc check NETWORK.json --x 3/4,0,0 --tau 2``: exact evaluation of one configuration.

The decision at a point is its argmax *set*; τx and x agree exactly when the two sets are equal (ties
included). Each class pair prints its margins, whether their sign changes, and the rule that decides it
for this (B, τ) (affine networks). tanh / sigmoid logits are printed as certified enclosures [lo, hi]
(decimals rounded outward; the exact rational bounds with ``--json``).
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction

from fcc_theory.margins import TIE_SEMANTICS, check_configuration
from fcc_theory.network import load_network
from fcc_theory.rational import format_bound, format_rational, parse_rational, parse_vector


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", help="network JSON file (see fcc_theory.network)")
    p.add_argument("--x", required=True, help="the original feature, comma-separated rationals, e.g. 3/4,0,0")
    p.add_argument("--tau", required=True, help="the scaling factor, an exact rational, e.g. 2 or 3/2")
    p.add_argument("--json", action="store_true", help="print JSON (every number an exact rational string)")


def _set(a: frozenset[int] | None) -> str:
    return "undecided" if a is None else "{" + ", ".join(map(str, sorted(a))) + "}"


def _iv(lo_hi: tuple[Fraction, Fraction] | None) -> str:
    if lo_hi is None:
        return "?"
    return f"[{format_bound(lo_hi[0], up=False)}, {format_bound(lo_hi[1], up=True)}]"


_SIGN = {1: "+", 0: "0", -1: "-", None: "?"}


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
        print(f"logits at tau*x: ({', '.join(f(v) for v in report.logits_scaled)})  -> argmax {_set(report.argmax_scaled)}")  # type: ignore[union-attr]
        print(f"logits at x:     ({', '.join(f(v) for v in report.logits_original)})  -> argmax {_set(report.argmax_original)}")  # type: ignore[union-attr]
    else:
        bits = f"certified enclosures, signs refined up to {report.max_bits} bits"
        print(
            f"logits at tau*x ({bits}): ({', '.join(map(_iv, report.logits_scaled_interval or ()))}) -> argmax {_set(report.argmax_scaled)}"
        )
        print(
            f"logits at x     ({bits}): ({', '.join(map(_iv, report.logits_original_interval or ()))}) -> argmax {_set(report.argmax_original)}"
        )
    verdict = {True: "agree", False: "DISAGREE", None: "undecided (a sign is undecided at the precision bound)"}[report.agree]
    print(f"decision: {verdict}  (argmax {_set(report.argmax_scaled)} at tau*x, {_set(report.argmax_original)} at x)")
    print(f"ties: {TIE_SEMANTICS}")
    for p in report.pairs:
        change = {True: "changes", False: "same", None: "undecided"}[p.sign_changes]
        signs = f"sign {_SIGN[p.sign_eta]} -> {_SIGN[p.sign_eta_prime]} ({change})"
        if p.eta_interval is not None:  # tanh/sigmoid
            eta = f(p.eta) if p.eta is not None else f"in {_iv(p.eta_interval)}"
            eta_p = f(p.eta_prime) if p.eta_prime is not None else f"in {_iv(p.eta_prime_interval)}"
            undecided = f" (undecided at {p.bits} bits)" if p.sign_changes is None else ""
            print(
                f"  pair ({p.i},{p.j}): eta {eta if p.eta is None else '= ' + eta}, eta' {eta_p if p.eta_prime is None else '= ' + eta_p}, {signs}{undecided}"
            )
            continue
        line = f"  pair ({p.i},{p.j}): eta = {f(p.eta)}, eta' = {f(p.eta_prime)}, {signs}"  # type: ignore[arg-type]
        if p.s is not None:
            line += f"; s = {f(p.s)}, B = {f(p.B)}"  # type: ignore[arg-type]
            if p.rule is not None:
                line += f"; {p.rule}"
        print(line)
    return 0

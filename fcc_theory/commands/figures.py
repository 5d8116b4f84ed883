"""``fcc figures``: write Fig. 3 (a)–(d), Fig. 2, the slab probabilities and the multi-class head picture.

``fcc figures [--out DIR] [--format png,svg,pdf]`` writes the whole set (default ``./figures``) and
prints each path. ``fcc figures --network FILE --x 1/2,1/2,1/4 --tau 2 [--pair 0,1]`` draws one
configuration of a linear 3-input network in the Fig. 3 style, with the verdict of ``fcc check``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fcc_theory.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="figures", help="output folder (default: ./figures)")
    p.add_argument("--format", default="png", help="comma-separated formats among png, svg, pdf (default: png)")
    p.add_argument("--network", help="draw this network's configuration instead of the standard set (linear, 3 inputs)")
    p.add_argument("--x", help="with --network: the original feature, comma-separated rationals, e.g. 1/2,1/2,1/4")
    p.add_argument("--tau", help="with --network: the scaling factor, an exact rational > 0, e.g. 2 or 1/2")
    p.add_argument("--pair", default="0,1", help="with --network: the class pair i,j whose planes are drawn (default 0,1)")


def _parse_pair(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(q.strip().isdigit() for q in parts):
        raise UserError(f"--pair {text!r} is not two class indices; write it as i,j such as 0,1")
    return int(parts[0]), int(parts[1])


def run(args: argparse.Namespace) -> int:
    from fcc_theory.figures.render import parse_formats

    formats = parse_formats(args.format)
    out = Path(args.out)
    if args.network is None:
        if args.x is not None or args.tau is not None:
            raise UserError(
                "--x and --tau describe a configuration of --network FILE; give --network too, or neither to draw the standard set"
            )
        from fcc_theory.figures import write_all

        for path in write_all(out, formats):
            print(path)
        return 0
    if args.x is None or args.tau is None:
        raise UserError("--network needs --x (e.g. --x 1/2,1/2,1/4) and --tau (e.g. --tau 2)")
    from fcc_theory.figures.fig3 import render_user, user_panel
    from fcc_theory.figures.render import save
    from fcc_theory.geometry import require_drawable
    from fcc_theory.network import load_network
    from fcc_theory.rational import parse_rational, parse_vector

    net = load_network(args.network)
    require_drawable(net)
    x = parse_vector(args.x, what="--x")
    tau = parse_rational(args.tau, what="--tau")
    pair = _parse_pair(args.pair)
    panel = user_panel(net, x, tau, pair)
    stem = f"config_{Path(args.network).stem}"
    for path in save(render_user(panel, Path(args.network).name), out, stem, formats):
        print(path)
    g = panel.geometry
    print(f"{g.case}; verdict (fcc check): {panel.verdict}")
    return 0

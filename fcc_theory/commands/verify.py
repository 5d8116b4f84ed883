"""``fcc verify [--claims ID,...] [--json] [--cross-check] [--timeout S] [--certify DIR]``: decide every claim exactly.

Exit status: 0 when every selected claim was decided (proved, refuted or vacuous), 1 if any is unknown (or,
with ``--cross-check``, any full-network cross-check is undecided at its ``--timeout``), 2 on bad input. Refuted claims carry a witness (a network in the JSON file format, plus ``x`` and ``tau``)
that ``fcc check`` replays; ``--witness-dir DIR`` writes them as files and prints the replay commands.
``--certify DIR`` writes certificates that other tools re-check (:mod:`fcc_theory.certify.certificates`); a
certificate that the two solvers or coqc do not confirm makes the exit status 1.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from fcc_theory.errors import UserError
from fcc_theory.limits import prepare_output_dir
from fcc_theory.rational import RationalError, parse_rational

DECIDED = ("proved", "refuted", "vacuous")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claims", default=None, help="comma-separated claim ids (default: all); see the table for the ids")
    p.add_argument("--json", action="store_true", help="print a JSON list of {id, verdict, method, seconds, witness, ...}")
    p.add_argument(
        "--cross-check",
        action="store_true",
        help="also decide the pair claims on the full 24-unknown network (slow, with --timeout)",
    )
    p.add_argument("--timeout", default="30", help="seconds per claim for the full-network cross-check (a rational, default 30)")
    p.add_argument("--witness-dir", default=None, help="write each refuted claim's witness network to DIR/<id>.json")
    p.add_argument("--equations", action="store_true", help="print the quantities derived from the symbolic network first")
    p.add_argument(
        "--certify",
        default=None,
        metavar="DIR",
        help="write SMT-LIB2 files (re-decided by z3 and cvc5), Coq proofs and DIR/manifest.json (slower: ~20 s)",
    )
    p.add_argument(
        "--hypotheses",
        action="store_true",
        help="for every proved claim, drop each hypothesis in turn and report it necessary (with a replayed witness) or not",
    )


def _parse_ids(text: str | None) -> list[str]:
    from fcc_theory.claims import CLAIM_IDS

    if text is None:
        return list(CLAIM_IDS)
    ids = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in ids if t not in CLAIM_IDS]
    if not ids or bad:
        raise UserError(f"unknown claim id(s) {', '.join(bad) or repr(text)}; valid ids: {', '.join(CLAIM_IDS)}")
    return list(dict.fromkeys(ids))


def _parse_timeout(text: str) -> int:
    try:
        t = parse_rational(text, what="--timeout")
    except RationalError as exc:
        raise UserError(str(exc)) from None
    if t <= 0:
        raise UserError(f"--timeout must be > 0 seconds, got {text}; give e.g. --timeout 30")
    return max(1, int(t * 1000))


def _print_equations() -> None:
    from fcc_theory.symbolic import PaperNetwork

    net = PaperNetwork()
    print("Derived from the symbolic 3-3-2 network (hidden a = W(τx) + b, linear; y = N a + z):")
    for j, X in enumerate(net.X(), 1):
        print(f"  X_{j} = {X}")
    for j, k in enumerate(net.k(), 1):
        print(f"  k_{j} = {k}")
    print(f"  B = {net.B()}")
    print(f"  d_j = -k_j / B,  η = y_1 - y_2 at τx,  η' = y_1' - y_2' at x  ({len(net.symbols)} unknowns)")
    print()


def _witness_line(w: dict) -> str:
    layers = w["layers"]
    shape = "-".join([str(len(layers[0]["weight"][0]))] + [str(len(la["weight"])) for la in layers])
    p = w["check"]["pairs"][0]
    margins = f"η = {p['eta']}, η′ = {p['eta_prime']}"
    if p.get("s") is not None:
        margins += f", s = {p['s']}, B = {p['B']}"
    if "eta_interval" in p:
        margins = (
            f"η ∈ [{float(_f(p['eta_interval'][0])):.6g}, {float(_f(p['eta_interval'][1])):.6g}], "
            f"η′ ∈ [{float(_f(p['eta_prime_interval'][0])):.6g}, {float(_f(p['eta_prime_interval'][1])):.6g}]"
        )
    return f"{w['activation']} {shape}, x = ({', '.join(w['x'])}), τ = {w['tau']}: {margins}"


def _f(s: str):
    return parse_rational(s)


def _certify_dir(text: str | None) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise UserError(f"--certify {text}: not a directory; give a new or existing directory, e.g. --certify certs")
    return path


def _print_certificates(certs: list, secs: float, coqc: dict | str, out: Path) -> bool:
    for c in certs:
        print(c.line())
    if isinstance(coqc, dict):
        for name, status in coqc.items():
            print(f"coqc {name}: {status}")
    else:
        print(coqc)
    print(
        f"certificates in {secs:.1f} s: {out / 'manifest.json'}; re-check with z3/cvc5 {out / 'smt'}/*.smt2, coqc {out / 'coq'}/*.v"
    )
    return all(c.status != "unknown" for c in certs) and (
        not isinstance(coqc, dict) or all(v == "checked" for v in coqc.values())
    )


def _certify(results: list, cert_dir: Path, as_json: bool) -> bool:
    from fcc_theory.certify.certificates import certify

    certs, secs = certify(results, cert_dir)
    coqc = json.loads((cert_dir / "manifest.json").read_text(encoding="utf-8"))["coq"]["coqc"]
    if as_json:  # stdout stays one JSON document (the claim list); the certificates are in DIR/manifest.json
        return all(c.status != "unknown" for c in certs) and (
            not isinstance(coqc, dict) or all(v == "checked" for v in coqc.values())
        )
    return _print_certificates(certs, secs, coqc, cert_dir)


def run(args: argparse.Namespace) -> int:
    ids = _parse_ids(args.claims)
    if args.witness_dir:  # before the claims run: a bad folder is a one-line error, not a traceback at the end
        prepare_output_dir(args.witness_dir, "--witness-dir")
    cross_ms = _parse_timeout(args.timeout)
    cert_dir = _certify_dir(args.certify)
    from fcc_theory.claims import CLAIMS, run_claim

    if args.equations and not args.json:
        _print_equations()
    t0 = time.perf_counter()
    results = [run_claim(CLAIMS[i], cross_check=args.cross_check, cross_timeout_ms=cross_ms) for i in ids]
    total = time.perf_counter() - t0
    rows = [r.to_json() for r in results]
    if args.hypotheses:
        _add_hypotheses(rows)
    if args.witness_dir:
        out = Path(args.witness_dir)
        for row in rows:
            if row["witness"] is not None:
                w = row["witness"]
                net = {k: w[k] for k in ("activation", "layers", "leaky_slope") if k in w}
                (out / f"{row['id']}.json").write_text(json.dumps(net, indent=1) + "\n")
            for name, w in _extra_witnesses(row):
                net = {k: w[k] for k in ("activation", "layers", "leaky_slope") if k in w}
                (out / f"{name}.json").write_text(json.dumps(net, indent=1) + "\n")
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
    else:
        print(f"{'id':<26} {'verdict':<8} {'seconds':>8}  method")
        for row in rows:
            print(f"{row['id']:<26} {row['verdict']:<8} {row['seconds']:>8.3f}  {row['method']}")
            print(f"    paper: {row['paper']}")
            print(f"    claim: {row['premise']}  ⇒  {row['conclusion']}")
            print(f"    how:   {row['detail']}")
            if row["witness"] is not None:
                print(f"    witness: {_witness_line(row['witness'])}")
                if args.witness_dir:
                    print(
                        f"    replay: fcc check {Path(args.witness_dir) / (row['id'] + '.json')} --x={','.join(row['witness']['x'])} "
                        f"--tau={row['witness']['tau']}"
                    )  # '=' so that a leading minus is not read as an option
            if "extra" in row and "realizability" in row["extra"]:
                for fig, r in row["extra"]["realizability"].items():
                    print(f"    Fig. 3{fig}: τ > 1 {r['tau>1']}, 0 < τ < 1 {r['0<tau<1']}")
                for fig, inst in row["extra"]["instances"].items():
                    print(
                        f"    Fig. 3{fig} instance (0 < τ < 1): x = ({', '.join(inst['x'])}), τ = {inst['tau']}, "
                        f"B = {inst['check']['pairs'][0]['B']}, s = {inst['check']['pairs'][0]['s']}, replayed: {inst['replayed']}"
                    )
            _print_hypotheses(row, args.witness_dir)
            _print_readings(row, args.witness_dir)
            if "cross_check" in row:
                cc = row["cross_check"]
                print(f"    cross-check (full network): {cc['verdict']} in {cc['seconds']:.3f} s ({cc['detail']})")
        counts = {v: sum(r["verdict"] == v for r in rows) for v in ("proved", "refuted", "vacuous", "unknown")}
        line = f"\n{len(rows)} claims in {total:.2f} s: " + ", ".join(f"{n} {v}" for v, n in counts.items())
        if args.cross_check:
            cc = [r["cross_check"]["verdict"] for r in rows if "cross_check" in r]
            line += f"; cross-check: {sum(v != 'unknown' for v in cc)} decided, {cc.count('unknown')} unknown"
        print(line)
    certified = True
    if cert_dir is not None:
        if not args.json:
            print()
        certified = _certify(results, cert_dir, args.json)
    return 0 if all(r["verdict"] in DECIDED for r in rows) and not _cross_unknown(rows) and certified else 1


def _cross_unknown(rows: list[dict]) -> bool:
    """A cross-check left undecided (its timeout) counts as unknown: exit status 1, like an unknown verdict."""
    return any(r.get("cross_check", {}).get("verdict") == "unknown" for r in rows)


def _add_hypotheses(rows: list[dict]) -> None:
    """Each proved claim's hypotheses, dropped in turn (:mod:`fcc_theory.hypotheses`)."""
    from fcc_theory.hypotheses import analyse_claim

    for row in rows:
        if row["verdict"] == "proved":
            res = analyse_claim(row["id"])
            if res is not None:
                row["hypotheses"] = [h.to_json() for h in res]
            elif row["premise"] == "none":
                row["hypotheses"] = []


def _extra_witnesses(row: dict) -> list[tuple[str, dict]]:
    """(file stem, witness) for the hypothesis witnesses and the readings of plane_order."""
    out = []
    for n, h in enumerate(row.get("hypotheses", []), 1):
        if h["witness"] is not None:
            out.append((f"{row['id']}.without-{n}", h["witness"]))
    for key, r in row.get("extra", {}).get("readings", {}).items():
        if r.get("witness") is not None:
            out.append((f"{row['id']}.{key}", r["witness"]))
    return out


def _replay_cmd(witness_dir: str | None, stem: str, w: dict) -> str:
    if not witness_dir:
        return ""
    return f"; replay: fcc check {Path(witness_dir) / (stem + '.json')} --x={','.join(w['x'])} --tau={w['tau']}"


def _print_hypotheses(row: dict, witness_dir: str | None) -> None:
    hyps = row.get("hypotheses")
    if hyps is None:
        return
    if not hyps:
        print("    hypotheses: none (nothing to drop)")
    for n, h in enumerate(hyps, 1):
        w, stem = h["witness"], f"{row['id']}.without-{n}"
        shown = f" — {_witness_line(w)}{_replay_cmd(witness_dir, stem, w)}" if w is not None else f" ({h['detail']})"
        print(f"    without {h['hypothesis']}: {h['status']}{shown}")


def _print_readings(row: dict, witness_dir: str | None) -> None:
    for key, r in row.get("extra", {}).get("readings", {}).items():
        w, stem = r.get("witness"), f"{row['id']}.{key}"
        shown = f" — {_witness_line(w)}{_replay_cmd(witness_dir, stem, w)}" if w is not None else ""
        print(f"    reading {r['reading']}: {r['verdict']} ({r['detail']}){shown}")

"""Wall time of ``fcc verify`` (the ≤ 3 s target on a 2-core machine) and of its optional analyses.

Run from the repository root:  python benchmarks/bench_verify.py [--repeats 3] [--cross-check] [--json OUT]

* ``fcc verify`` (every claim, no flags): the median of ``--repeats`` runs of ``python -m fcc verify``, wall
  clock, each a fresh process (imports included, as a user sees it);
* ``fcc verify --hypotheses``: the same with every proved claim's hypotheses dropped in turn;
* with ``--cross-check``: one ``fcc verify --cross-check --timeout 60`` run per pair claim, its seconds as printed.

The load average is recorded before and after: the machine is shared, and the numbers mean little without it.
Speed is never asserted in the tests; this script is where it is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

PAIR_CLAIMS = (
    "b_zero",
    "target",
    "target_b_nonneg",
    "failure_set",
    "converse_b_pos",
    "characterization",
    "tau_zero",
    "tau_negative",
)


def _wall(argv: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(
        [sys.executable, "-m", "fcc", *argv], capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    return time.perf_counter() - t0, p.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cross-check", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    out: dict = {"load_average_before": os.getloadavg()}
    for name, argv in (("verify", ["verify"]), ("verify_hypotheses", ["verify", "--hypotheses"])):
        runs = [_wall(argv)[0] for _ in range(a.repeats)]
        out[name] = {"median_s": round(statistics.median(runs), 2), "runs_s": [round(r, 2) for r in runs]}
        print(f"fcc {' '.join(argv):<22} median {out[name]['median_s']:.2f} s wall  (runs: {out[name]['runs_s']})", flush=True)
    if a.cross_check:
        out["cross_check"] = {}
        for claim in PAIR_CLAIMS:
            secs, text = _wall(["verify", "--claims", claim, "--cross-check", "--timeout", "60"])
            line = next((ln.strip() for ln in text.splitlines() if "cross-check (full network)" in ln), "no cross-check line")
            out["cross_check"][claim] = {"wall_s": round(secs, 2), "line": line}
            print(f"{claim:<18} {secs:6.2f} s wall  {line}", flush=True)
    out["load_average_after"] = os.getloadavg()
    print(f"load average before {out['load_average_before']}, after {out['load_average_after']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()

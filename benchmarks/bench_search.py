"""Counterexample search speed, both engines side by side in one run (the search's speed targets).

Run on one core:  OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_search.py [--seeds 50] [--json OUT]

* Hypothesis engine: examples/s on the 3-3-2 network (a theorem, target_b_nonneg, so no early stop; target ≥ 400/s),
  and the median number of examples to the first counterexample of ``target`` over 50 seeds (target ≤ 150).
* numpy engine: float64 candidate configurations/s on the 3-3-2 network (target ≥ 1e6), and for both engines the
  time to the first *exact* counterexample of ``target`` (median over seeds; the exact re-check included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from fcc_theory.search.falsifier import search_numpy
from fcc_theory.search.properties import PROPERTIES
from fcc_theory.search.runner import search_hypothesis


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--hyp-examples", type=int, default=2000)
    ap.add_argument("--numpy-examples", type=int, default=5_000_000)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    out: dict = {"python": platform.python_version(), "load_average_before": os.getloadavg()}

    # 1. Hypothesis throughput on a theorem (every example evaluated, nothing to shrink)
    r = search_hypothesis(PROPERTIES["target_b_nonneg"], (3, 3, 2), max_examples=a.hyp_examples, seed=0, shrink=False)
    out["hypothesis_examples_per_second"] = round(r.examples_total / r.seconds, 1)
    out["hypothesis_examples"] = r.examples_total

    # 1b. the same draws with a trivial test: Hypothesis's own per-example ceiling on this machine right now
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    from fcc_theory.search.runner import config_strategy

    calls = [0]

    @hseed(0)
    @settings(
        max_examples=a.hyp_examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(config_strategy(PROPERTIES["target_b_nonneg"], (3, 3, 2)))
    def gen_only(cfg: object) -> None:
        calls[0] += 1

    t0 = time.perf_counter()
    gen_only()
    out["hypothesis_generation_only_examples_per_second"] = round(calls[0] / (time.perf_counter() - t0), 1)
    # exact property evaluation alone (no Hypothesis), on the configurations of one draw
    cfgs = [config_strategy(PROPERTIES["target_b_nonneg"], (3, 3, 2)).example() for _ in range(200)]
    t0 = time.perf_counter()
    for c in cfgs * 5:
        PROPERTIES["target_b_nonneg"].check(c, False)
    out["exact_property_evaluations_per_second"] = round(1000 / (time.perf_counter() - t0), 1)

    # 2. examples (and seconds) to the first counterexample of target, plain and strict, over seeds
    for strict in (False, True):
        ex, secs = [], []
        for s in range(a.seeds):
            t0 = time.perf_counter()
            r = search_hypothesis(PROPERTIES["target"], (3, 3, 2), strict=strict, max_examples=5000, seed=s, shrink=False)
            assert r.counterexample is not None and not PROPERTIES["target"].check(r.counterexample, strict).holds
            ex.append(r.examples)
            secs.append(r.seconds_to_first if r.seconds_to_first is not None else time.perf_counter() - t0)
        key = "strict" if strict else "plain"
        out[f"hypothesis_target_{key}_median_examples_to_first"] = statistics.median(ex)
        out[f"hypothesis_target_{key}_max_examples_to_first"] = max(ex)
        out[f"hypothesis_target_{key}_median_seconds_to_first_exact"] = round(statistics.median(secs), 4)

    # 3. numpy float throughput on a theorem (candidates flagged, each re-checked exactly; none survives)
    r = search_numpy(PROPERTIES["target_b_nonneg"], (3, 3, 2), max_examples=a.numpy_examples, seed=0)
    assert r.counterexample is None
    out["numpy_float_candidates_per_second"] = r.extra["float_candidates_per_second"]
    out["numpy_overall_configurations_per_second"] = round(r.examples_total / r.seconds, 1)
    out["numpy_flagged"] = r.extra["candidates_flagged"]
    out["numpy_exact_checked"] = r.extra["exact_checked"]

    # 4. numpy time to the first exact counterexample of target (plain and strict), over seeds
    for strict in (False, True):
        secs, ex = [], []
        for s in range(a.seeds):
            r = search_numpy(
                PROPERTIES["target"], (3, 3, 2), strict=strict, max_examples=10_000_000, seed=s, batch=20_000, do_simplify=False
            )
            assert r.counterexample is not None
            secs.append(r.seconds_to_first)
            ex.append(r.examples)
        key = "strict" if strict else "plain"
        out[f"numpy_target_{key}_median_seconds_to_first_exact"] = round(statistics.median(secs), 4)
        out[f"numpy_target_{key}_median_configurations_to_first"] = statistics.median(ex)
    out["load_average_after"] = os.getloadavg()
    text = json.dumps(out, indent=1)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()

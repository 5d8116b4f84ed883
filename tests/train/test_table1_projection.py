"""benchmarks/table1_projection.py: the real sweep's runs, which of them stack, and the hours at given rates."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

from table1_projection import BENCHMARKS, project, sweep_args, sweep_runs  # noqa: E402


@pytest.fixture(scope="module")
def rows():
    return sweep_runs()


def test_the_run_list_is_the_sweeps(rows):
    from fcc_train.commands.sweep import plan_jobs

    want = [(b, j.name) for b in BENCHMARKS for j in plan_jobs(sweep_args(b))]
    assert [(r["benchmark"], r["run"]) for r in rows] == want
    by = {(r["benchmark"], r["run"]): r for r in rows}
    # CIFAR-10-LT-100 has 12,406 training images: 96 full batches of 128; the mixup recipe trains 400 epochs
    ce = by[("cifar10_lt100", "ce/seed42")]
    assert (ce["steps_per_epoch"], ce["images"], ce["alone_because"]) == (96, 200 * 96 * 128, None)
    assert by[("cifar10_lt100", "remix_fcc/seed42")]["images"] == 400 * 96 * 128
    assert by[("cifar10_lt100", "remix_fcc/seed42")]["alone_because"] is None  # mixup runs stack
    assert "two-stage" in by[("cifar100_lt50", "crt/seed42")]["alone_because"]
    assert by[("cifar10_lt50", "ldam/seed42")]["alone_because"] is None  # LDAM's cosine head stacks too
    assert by[("cifar10_lt100", "ncl/seed42")]["alone_because"] == "multi-expert models train separately"
    assert ("cifar10_lt100", "sade/seed42") not in by and ("cifar100_lt100", "sade/seed42") in by  # the paper's cells


def test_hours_follow_the_rates(rows):
    p = project(rows, stacked_rate=100_000, alone_rate=25_000, target_h=2.0)
    assert p["stackable_images"] + p["alone_images"] == sum(r["images"] for r in rows)
    want = (p["stackable_images"] / 100_000 + p["alone_images"] / 25_000) / 3600
    assert p["hours"] == pytest.approx(want, abs=0.01) and p["meets_target"] == (p["hours"] <= 2.0)
    need = p["stacked_rate_needed"]  # at exactly the needed stacked rate the target is met, just
    assert project(rows, need, 25_000, 2.0)["hours"] == pytest.approx(2.0, abs=0.01)
    assert project(rows, None, 1_000, 2.0)["stacked_rate_needed"] is None  # the alone runs alone take longer

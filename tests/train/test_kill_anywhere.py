"""Kill a run inside every kind of write, resume it, and find every file of its folder bit-identical.

``tests/train/kill_anywhere.py`` does the killing (SIGKILL inside a checkpoint's temporary write, its fsync,
around the rename of ``last.pt`` and ``best.pt``, inside ``metrics.jsonl`` / ``metrics.csv`` appends,
``summary.json`` and ``per_class_recall.csv``); this test compares the folders itself. The run loop's clock is
pinned in every process, so the wall-clock fields (``seconds`` and ``timing_this_process``) are 0 and no field
is excluded: files are compared byte for byte. ``FCC_KILL_TRIALS=N`` runs N trials (3 kills each) instead of 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _differences(a: Path, b: Path) -> list[str]:
    fa, fb = _files(a), _files(b)
    only = sorted(set(fa) ^ set(fb))
    return [f"only in one: {n}" for n in only] + [n for n in sorted(set(fa) & set(fb)) if fa[n] != fb[n]]


@pytest.mark.slow
def test_kill_anywhere_resumes_bit_identical(tmp_path: Path) -> None:
    trials = int(os.environ.get("FCC_KILL_TRIALS", "2"))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, str(REPO / "tests/train/kill_anywhere.py"), "--work", str(tmp_path), "--trials", str(trials)]
    r = subprocess.run([*cmd, "--mutant", "no-rng"], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    ref = Path(report["reference"])
    expected = {"config.yaml", "metrics.jsonl", "metrics.csv", "per_class_recall.csv", "summary.json", ".lock"}
    assert expected | {"checkpoints/last.pt", "checkpoints/best.pt"} == set(_files(ref))
    summary = json.loads((ref / "summary.json").read_text())
    assert summary["done"] is True and summary["last_epoch"] == 3

    normal = [t for t in report["trials"] if not t["mutant"]]
    kills = [k for t in normal for k in t["kills"] if k["killed"]]
    assert len(normal) == trials and len(kills) >= trials, report  # every trial died at least once
    for t in normal:
        assert t["final_status"] == 0, t
        assert _differences(ref, Path(t["folder"])) == [], t
    # the first trials kill inside the checkpoint, between last.pt and best.pt, in summary.json and best.pt (in turn)
    hit = {k["kind"] for k in kills}
    assert {"write last.pt", "after-rename last.pt", "write summary.json", "write best.pt"} <= hit, hit

    # the comparison catches a resume that does not restore the random states
    (mutant,) = [t for t in report["trials"] if t["mutant"]]
    assert mutant["kills"][0]["killed"] and mutant["final_status"] == 0
    diff = _differences(ref, Path(mutant["folder"]))
    assert "checkpoints/last.pt" in diff and "metrics.jsonl" in diff, diff

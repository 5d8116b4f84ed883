"""``fcc sweep`` progress (runs finished / total and an ETA from the finished runs' durations) and dry-run commands
that can be pasted into a shell as printed."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from fcc_train.experiments.sweep_status import progress_line

REPO = Path(__file__).resolve().parents[2]
SETS = ["--set", "optim.epochs=1", "train.progress=none", "train.device=cpu", "train.threads=1"]


def _seconds(text: str) -> int:
    """'1h02m' / '3m45s' / '12s' -> seconds (the ETA as printed)."""
    h = re.fullmatch(r"(\d+)h(\d+)m", text)
    if h:
        return int(h[1]) * 3600 + int(h[2]) * 60
    m = re.fullmatch(r"(?:(\d+)m)?(\d+)s", text)
    assert m, text
    return int(m[1] or 0) * 60 + int(m[2])


def test_progress_line_counts_and_eta():
    statuses = ["done", "failed", "running", "running", "pending", "pending", "pending", "skipped-done"]
    line = progress_line(statuses, [100.0, 20.0], 2)
    assert line.startswith("[sweep] 3/8 runs finished (1 done, 1 failed, 1 skipped as done); eta ")
    # 5 runs left, 2 at a time: 3 rounds of the mean 60 s
    eta = re.search(r"eta (\S+) ", line)[1]
    assert _seconds(eta) == 3 * 60
    assert _seconds(re.search(r"eta (\S+) ", progress_line(statuses, [100.0, 20.0], 5))[1]) == 60  # one round
    assert "eta" not in progress_line(["done", "done"], [3.0, 4.0], 1)  # nothing left
    assert "eta" not in progress_line(["skipped-done", "pending"], [], 1)  # no duration measured yet


def test_sweep_prints_progress_and_pasteable_dry_run(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    base = [
        sys.executable,
        "-m",
        "fcc",
        "sweep",
        "--benchmark",
        "digits",
        "--methods",
        "ce,focal,bsce",
        "--variants",
        "raw",
        "--out",
        str(tmp_path),
    ]
    dry = subprocess.run([*base, "--dry-run", *SETS], cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    commands = [line.split("]  ", 1)[1] for line in dry.stdout.splitlines() if "]  " in line]
    assert len(commands) == 3 and all(shlex.split(c)[:4] == ["python", "-m", "fcc", "train"] for c in commands)
    # pasted into a shell as printed, the first one trains its run
    pasted = subprocess.run(["bash", "-c", commands[0]], cwd=REPO, capture_output=True, text=True, env=env, timeout=300)
    assert pasted.returncode == 0, pasted.stdout + pasted.stderr
    assert (tmp_path / "digits" / "ce" / "seed42" / "summary.json").is_file()

    r = subprocess.run([*base, *SETS], cwd=REPO, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "[sweep] 3 runs: 1 already done, 2 to train" in lines
    progress = [line for line in lines if re.match(r"\[sweep\] \d+/3 runs finished", line)]
    assert [line.split(" runs")[0] for line in progress] == ["[sweep] 2/3", "[sweep] 3/3"]
    assert progress[0].startswith("[sweep] 2/3 runs finished (1 done, 1 skipped as done); eta ")
    assert progress[-1] == "[sweep] 3/3 runs finished (2 done, 1 skipped as done)"
    # the first ETA: the one measured run's duration x the 1 run left (one at a time)
    took = float(re.search(r"^\[sweep\] done \S+ \(exit 0, ([\d.]+) s\)", r.stdout, re.M)[1])
    assert abs(_seconds(re.search(r"eta (\S+) ", progress[0])[1]) - took) <= 1

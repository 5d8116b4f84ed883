"""One writer per run folder: a second ``fcc train`` exits 2 at once; a sweep never starts a trainer into a folder
in use, refuses folders of another config (``--retrain`` trains them again), merges its results, and a SIGKILL of
it leaves no trainer behind to race the restarted sweep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fcc_train.train.runlock import RunLock, holder_of

REPO = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, OMP_NUM_THREADS="1")
TRAIN = [sys.executable, "-m", "fcc", "train", "--config", str(REPO / "configs/digits/ce.yaml"), "--device", "cpu"]
FAST = ["train.progress=none", "train.threads=1", "optim.batch_size=64"]


def _wait_for(cond, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.1)


def _epochs(run: Path) -> list[int]:
    return [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()]


def test_second_writer_exits_2_at_once_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "r"
    first = subprocess.Popen([*TRAIN, "--out", str(out), "--set", *FAST, "optim.epochs=40"], cwd=REPO, env=ENV)
    try:
        _wait_for(lambda: (holder_of(out) or {}).get("pid") == first.pid)
        second = subprocess.run(
            [*TRAIN, "--out", str(out), "--set", *FAST, "optim.epochs=40"], cwd=REPO, env=ENV, capture_output=True, text=True
        )
        assert first.poll() is None, "the second one did not exit at once: the first finished before it"
        assert second.returncode == 2
        err = second.stderr.strip()
        assert len(err.splitlines()) == 1 and "in use by PID" in err and str(first.pid) in err, err
    finally:
        first.kill()
        first.wait()
    # the lock the killed writer left is taken over, with a note naming it
    notes: list[str] = []
    with RunLock(out, note=notes.append):
        pass
    assert len(notes) == 1 and f"PID {first.pid}" in notes[0] and "no longer running" in notes[0]


def _sweep(out: Path, *extra: str, retrain: bool = False) -> list[str]:
    return [
        sys.executable, "-m", "fcc", "sweep", "--benchmark", "digits", "--methods", "ce", "--variants", "raw",
        "--out", str(out), *(["--retrain"] if retrain else []), "--set", *FAST, "train.device=cpu", *extra,
    ]  # fmt: skip


def test_sweep_refuses_another_config_retrains_on_request_and_merges_results(tmp_path: Path) -> None:
    run = tmp_path / "digits" / "ce" / "seed42"
    r = subprocess.run(_sweep(tmp_path, "optim.epochs=1"), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(_sweep(tmp_path, "optim.epochs=2"), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "optim.epochs" in r.stdout and "--retrain" in r.stderr, r.stdout + r.stderr
    assert "skipped-done" not in r.stdout and _epochs(run) == [1]
    r = subprocess.run(
        _sweep(tmp_path, "optim.epochs=2", retrain=True), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0 and _epochs(run) == [1, 2], r.stdout + r.stderr
    # another seed: the earlier row stays in the results
    r = subprocess.run(
        [*_sweep(tmp_path, "optim.epochs=2"), "--seeds", "7"], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout + r.stderr
    rows = json.loads((tmp_path / "digits" / "sweep_results.json").read_text())
    assert sorted((x["seed"], x["status"]) for x in rows) == [(7, "done"), (42, "done")]
    assert (tmp_path / "digits" / "sweep_results.csv").read_text().count("\n") == 3


def test_sweep_reports_busy_and_starts_no_second_writer(tmp_path: Path) -> None:
    run = tmp_path / "digits" / "ce" / "seed42"
    with RunLock(run):  # a live writer (this process) holds the folder
        r = subprocess.run(_sweep(tmp_path, "optim.epochs=1"), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "busy" in r.stdout and "start" not in r.stdout, r.stdout + r.stderr
    assert not (run / "metrics.jsonl").exists()


def test_sigkill_of_a_sweep_leaves_no_second_writer_after_restart(tmp_path: Path) -> None:
    run = tmp_path / "digits" / "ce" / "seed42"
    cmd = _sweep(tmp_path, "optim.epochs=6")
    sweep = subprocess.Popen(cmd, cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: (run / "metrics.jsonl").is_file() and len(_epochs(run)) >= 1)
    child = (holder_of(run) or {}).get("pid")
    assert isinstance(child, int) and child != sweep.pid
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    _wait_for(lambda: _free(run), 30)  # the child died with the sweep (PR_SET_PDEATHSIG): nobody writes there
    r = subprocess.run(cmd, cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "resuming" in (run / "sweep.log").read_text(), r.stdout + r.stderr
    assert _epochs(run) == [1, 2, 3, 4, 5, 6]  # each epoch once, in order
    summary = json.loads((run / "summary.json").read_text())
    assert summary["done"] and summary["last_epoch"] == 6


def _free(run: Path) -> bool:
    from fcc_theory.errors import UserError

    try:
        with RunLock(run):
            return True
    except UserError:
        return False

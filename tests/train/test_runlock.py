"""The run-folder lock: a second live writer is refused at once, a dead holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from fcc_train.train.runlock import LOCK_NAME, RunFolderBusy, RunLock, holder_of

HOLD = "import sys, time; from fcc_train.train.runlock import RunLock; l = RunLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(60)"


def _holder(folder: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_second_writer_is_refused_while_the_first_lives(tmp_path: Path) -> None:
    p = _holder(tmp_path)
    try:
        with pytest.raises(RunFolderBusy) as e:
            RunLock(tmp_path).acquire()
        assert p.poll() is None  # refused while the holder still holds it: no wait for it to end
        msg = str(e.value)
        assert f"PID {p.pid}" in msg and "\n" not in msg and "--out" in msg
    finally:
        p.kill()
        p.wait()


def test_lock_of_a_killed_holder_is_taken_over_with_a_note(tmp_path: Path) -> None:
    p = _holder(tmp_path)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert holder_of(tmp_path)["pid"] == p.pid  # the file still names the dead holder
    notes: list[str] = []
    with RunLock(tmp_path, note=notes.append) as lock:
        assert lock.held and holder_of(tmp_path)["pid"] == os.getpid()
    assert len(notes) == 1 and f"PID {p.pid}" in notes[0] and "no longer running" in notes[0]
    # released cleanly: the next writer takes it without a note
    notes.clear()
    with RunLock(tmp_path, note=notes.append):
        pass
    assert notes == []
    assert (tmp_path / LOCK_NAME).exists()

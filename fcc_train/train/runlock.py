"""One writer per run folder: an advisory lock held for a run's whole life.

``<out>/.lock`` is locked with ``fcntl.flock`` (exclusive, non-blocking) and holds the holder's PID,
host and start time. The kernel drops the lock when the holder dies, however it dies (SIGKILL
included), so a dead holder never blocks a new run: the next writer takes the lock over and says
whose it was. A second live writer gets one line naming the holder and exits. The lock file itself
stays in the folder (removing it would race with a writer that just opened it).

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> with RunLock(d) as lock:
...     RunLock(d).acquire()
Traceback (most recent call last):
...
fcc_train.train.runlock.RunFolderBusy: run folder '...' is in use by PID ... on ... (since ...); wait for it to finish, or stop it, or pass another --out
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from fcc_theory.errors import UserError

__all__ = ["LOCK_NAME", "RunFolderBusy", "RunLock", "holder_of"]

LOCK_NAME = ".lock"


class RunFolderBusy(UserError):
    """Another live process writes into this run folder."""


def _describe(info: dict[str, object]) -> str:
    since = info.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(since))) if isinstance(since, (int, float)) else "?"
    return f"PID {info.get('pid', '?')} on {info.get('host', '?')} (since {when})"


def holder_of(folder: str | Path) -> dict[str, object] | None:
    """What the lock file of ``folder`` says about its last holder (None when there is none or it is unreadable)."""
    try:
        info = json.loads((Path(folder) / LOCK_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


class RunLock:
    """Exclusive lock on a run folder; ``acquire()`` raises :class:`RunFolderBusy` at once if it is held.

    ``note`` receives one line when a lock left by a dead process is taken over.
    """

    def __init__(self, folder: str | Path, note: object = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._note = note
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            return self
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only or unwritable --out: one line, before anything is trained
            from fcc_train.train.checkpoint import write_error

            err = write_error(exc, self.path, None)
            if err is None:
                raise
            raise err from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            info = holder_of(self.folder) or {}
            raise RunFolderBusy(
                f"run folder '{self.folder}' is in use by {_describe(info)}; "
                "wait for it to finish, or stop it, or pass another --out"
            ) from None
        previous = holder_of(self.folder)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        self._fd = fd
        if previous and previous.get("pid") != me["pid"] and callable(self._note):
            self._note(f"took over the lock of '{self.folder}' left by {_describe(previous)}, which is no longer running")
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)  # an empty lock file: nobody holds it, nothing to take over
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

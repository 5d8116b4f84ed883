"""Checkpoints that survive a kill: atomic writes, newest-complete discovery, full RNG state.

A checkpoint is written to a temporary file in the same folder, flushed and
fsync'ed, then moved onto its name with ``os.replace`` (atomic on POSIX) and
the folder is fsync'ed, so ``last.pt`` is always either the previous or the
new complete file (timm / Lightning practice). A file that
does not load (truncated, corrupt, foreign) is skipped with a warning when
looking for the checkpoint to resume from.

The dict (CONTRIBUTING.md, "Where things live"): ``model`` (state_dict), ``optimizer`` (momentum
buffers in a form both optimisers of the engine accept), ``epoch``,
``config`` (resolved, as a dict), ``rng`` (python, numpy, torch CPU/CUDA and
every named ``torch.Generator``), ``best`` (metrics of the best epoch),
``class_counts``, ``format_version`` 1, plus ``seconds`` (training time so
far) and ``history`` (the evaluated epochs' records).
"""

from __future__ import annotations

import contextlib
import os
import random
import warnings
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np
import torch

from fcc_theory.errors import UserError

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "CheckpointSaver",
    "atomic_open",
    "capture_rng",
    "find_resume",
    "load_checkpoint",
    "publish_copy",
    "restore_rng",
    "save_checkpoint",
]

FORMAT_VERSION = 1


class CheckpointError(UserError):
    """A checkpoint that cannot be read (one line)."""


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not let a folder be opened; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", *, fsync: bool = True, encoding: str | None = None) -> Iterator[IO]:
    """A file that appears at ``path`` only when complete.

    It is written to a temporary file in the same folder, fsync'ed (``fsync=True``), renamed over
    ``path`` (atomic) and the folder fsync'ed; on an error or a kill the old ``path`` is untouched and
    the temporary file is removed (when the process lives to do so).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    try:
        with open(tmp, mode, encoding=encoding) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    if fsync:
        _fsync_dir(path.parent)


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` atomically to ``path`` (temporary file in the same folder, fsync, os.replace, fsync folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as f:
        torch.save(state, f)
    return path


def publish_copy(src: str | Path, dst: str | Path) -> Path:
    """Make ``dst`` an independent, complete copy of the checkpoint file ``src``, atomically.

    Used for ``best.pt`` at an epoch that also wrote ``last.pt``: the bytes are
    copied (no second serialisation of the state), into a temporary file that
    is fsync'ed and moved onto ``dst``. A copy, not a hard link, so damage to
    one file never reaches the other.
    """
    import shutil

    src, dst = Path(src), Path(dst)
    with open(src, "rb") as fi, atomic_open(dst) as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)
    return dst


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load one of our checkpoints; raise :class:`CheckpointError` if it is missing, truncated or not ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; pass a run folder's checkpoints/last.pt or best.pt")
    try:
        # our own files hold numpy RNG states and plain dicts, so the full unpickler is needed
        state = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as exc:  # truncated zip, bad pickle, ...: all mean "not a complete checkpoint"
        raise CheckpointError(
            f"checkpoint '{path}' is unreadable ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:100]}); delete it or train again"
        ) from None
    if not isinstance(state, dict) or state.get("format_version") != FORMAT_VERSION or "model" not in state:
        raise CheckpointError(
            f"'{path}' is not an fcc checkpoint (format_version {FORMAT_VERSION} with a model); pass a file written by fcc train"
        )
    return state


def find_resume(folder: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict[str, Any]] | None:
    """The complete checkpoint with the highest epoch under ``folder`` (``*.pt``), or None.

    Unreadable files are skipped with a warning; on equal epochs ``last.pt`` wins.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found: list[tuple[int, int, Path, dict[str, Any]]] = []
    for p in sorted(folder.glob("*.pt")):
        try:
            state = load_checkpoint(p, map_location)
        except CheckpointError as exc:
            warnings.warn(f"skipping checkpoint: {exc}", stacklevel=2)
            continue
        found.append((int(state.get("epoch", 0)), int(p.name == "last.pt"), p, state))
    if not found:
        return None
    _, _, p, state = max(found, key=lambda t: (t[0], t[1]))
    return p, state


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Every random state the run uses: python, numpy, torch (CPU and CUDA) and the named generators."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Put back what :func:`capture_rng` saved (a resumed run then draws the same numbers)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    for k, g in (generators or {}).items():
        if k in state.get("generators", {}):
            g.set_state(state["generators"][k].cpu())


class CheckpointSaver:
    """Writes a run's ``last.pt`` and ``best.pt`` under ``folder`` (only where ``enabled``: the main process).

    An epoch that writes both serialises the state once: ``best.pt`` becomes a copy of the new ``last.pt``.
    """

    def __init__(self, folder: str | Path, enabled: bool = True) -> None:
        self.folder, self.enabled = Path(folder), enabled

    def save(self, state: dict[str, Any], *, last: bool, best: bool) -> None:
        if not self.enabled:
            return
        if last:
            save_checkpoint(state, self.folder / "last.pt")
            if best:  # the same state: copy the file instead of serialising it twice
                publish_copy(self.folder / "last.pt", self.folder / "best.pt")
        elif best:
            save_checkpoint(state, self.folder / "best.pt")

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
every named ``torch.Generator``), ``best`` and ``last_eval`` (metrics of the best and the last
evaluated epoch), ``class_counts``, ``format_version`` 2, plus ``seconds`` (training time so far).

Safe loading: every value is a tensor or a plain Python type (numpy's MT19937 state is stored as a
tensor of its keys plus ints), so a checkpoint loads with ``torch.load(path)`` and its default
``weights_only=True``; no code in a checkpoint is ever run. Format-1 files (which held numpy's state
as an array) load with an explicit allowlist of the three numpy globals an array needs; anything
else is refused in one line (:func:`load_checkpoint`).

>>> import tempfile, pathlib
>>> p = save_checkpoint({"model": {"w": torch.ones(2)}, "epoch": 1, "rng": capture_rng(),
...                      "format_version": FORMAT_VERSION}, pathlib.Path(tempfile.mkdtemp()) / "last.pt")
>>> state = torch.load(p)  # plain torch.load: weights_only=True
>>> state["epoch"], sorted(state["rng"]["numpy"])
(1, ['bit_generator', 'cached_gaussian', 'has_gauss', 'keys', 'pos'])
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import random
import re
import shutil
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
    "DiskFull",
    "atomic_open",
    "capture_rng",
    "checkpoint_config",
    "find_resume",
    "load_checkpoint",
    "publish_copy",
    "remove_stale_temporaries",
    "restore_rng",
    "save_checkpoint",
    "write_error",
]

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: numpy's RNG state as an array (loaded with the numpy allowlist below)
_TEMP = re.compile(r"^\.(?P<name>.+)\.tmp\.(?P<pid>\d+)$")


class CheckpointError(UserError):
    """A checkpoint that cannot be read (one line)."""


class DiskFull(UserError):
    """A write that failed for want of space or permission (one line: the path, the space needed, the fix)."""


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def write_error(exc: OSError, path: Path, needed: int | None) -> UserError | None:
    """The one-line error for a failed write of ``path`` (None when ``exc`` is not about space or permission)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f", {_size(shutil.disk_usage(path.parent).free)} free"
        except OSError:
            free = ""
        need = f"about {_size(needed)}" if needed else "more space"
        return DiskFull(f"no space left to write '{path}' (it needs {need}{free}); free space there or pass another --out")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return DiskFull(f"cannot write '{path}' ({os.strerror(exc.errno)}); make the folder writable or pass another --out")
    return None


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
def atomic_open(
    path: str | Path, mode: str = "wb", *, fsync: bool = True, encoding: str | None = None, needed: int | None = None
) -> Iterator[IO]:
    """A file that appears at ``path`` only when complete.

    It is written to a temporary file ``.<name>.tmp.<pid>`` in the same folder, fsync'ed (``fsync=True``),
    renamed over ``path`` (atomic) and the folder fsync'ed; on an error or a kill the old ``path`` is
    untouched and the temporary file is removed (when the process lives to do so; otherwise the next run
    removes it, :func:`remove_stale_temporaries`). A full disk or a folder that cannot be written is
    :class:`DiskFull`, naming the path and ``needed`` bytes.
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
    except OSError as exc:
        err = write_error(exc, path, needed)
        if err is None:
            raise
        raise err from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    if fsync:
        _fsync_dir(path.parent)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(folder: str | Path, *, lock_held: bool = False) -> list[Path]:
    """Delete the temporary files ``.<name>.tmp.<pid>`` that killed writers left in ``folder``.

    Only those whose writer is dead, or every one when ``lock_held`` (the caller is the folder's only writer).
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        m = _TEMP.match(p.name)
        if m and p.is_file() and (lock_held or not _pid_alive(int(m["pid"]))):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _state_bytes(obj: Any) -> int:
    """The tensor bytes in a state (what its file needs, give or take the pickle)."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_state_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_state_bytes(v) for v in obj)
    return 0


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` atomically to ``path`` (temporary file in the same folder, fsync, os.replace, fsync folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, needed=_state_bytes(state)) as f:
        torch.save(state, f)
    return path


def publish_copy(src: str | Path, dst: str | Path) -> Path:
    """Make ``dst`` an independent, complete copy of the checkpoint file ``src``, atomically.

    Used for ``best.pt`` at an epoch that also wrote ``last.pt``: the bytes are
    copied (no second serialisation of the state), into a temporary file that
    is fsync'ed and moved onto ``dst``. A copy, not a hard link, so damage to
    one file never reaches the other.
    """
    src, dst = Path(src), Path(dst)
    with open(src, "rb") as fi, atomic_open(dst, needed=src.stat().st_size) as fo:
        shutil.copyfileobj(fi, fo, 1 << 20)
    return dst


def _numpy_globals() -> list[Any]:
    """The globals a pickled numpy array needs: format-1 checkpoints held numpy's RNG state as one."""
    core = getattr(np, "_core", None) or np.core
    rebuild = core.multiarray._reconstruct
    return [
        np.ndarray,
        np.dtype,
        type(np.dtype(np.uint32)),
        (rebuild, "numpy.core.multiarray._reconstruct"),
        (rebuild, "numpy._core.multiarray._reconstruct"),
    ]


def _load_error(path: Path, exc: Exception) -> CheckpointError:
    text = str(exc)
    foreign = re.search(r"GLOBAL (\S+)", text) or re.search(r"Unsupported global: (\S+)", text)
    if isinstance(exc, pickle.UnpicklingError) and foreign:
        return CheckpointError(
            f"checkpoint '{path}' holds a foreign object ({foreign.group(1)}) that is never loaded (it could run code); "
            "delete the file and use one written by fcc train"
        )
    first = (text.splitlines() or [""])[0][:100]
    return CheckpointError(f"checkpoint '{path}' is unreadable ({type(exc).__name__}: {first}); delete it or train again")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load one of our checkpoints safely; raise :class:`CheckpointError` if it is missing, truncated or not ours.

    ``weights_only=True`` always: tensors and plain types only (plus numpy arrays for format 1), so a file
    whose pickle would call anything else is refused in one line and nothing in it runs.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; pass a run folder's checkpoints/last.pt or best.pt")
    try:
        with torch.serialization.safe_globals(_numpy_globals()):
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, bad or foreign pickle, ...: all mean "not a checkpoint we load"
        raise _load_error(path, exc) from None
    if not isinstance(state, dict) or state.get("format_version") not in READABLE_VERSIONS or "model" not in state:
        raise CheckpointError(
            f"'{path}' is not an fcc checkpoint (format_version {FORMAT_VERSION} with a model); pass a file written by fcc train"
        )
    return state


def checkpoint_config(state: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """The resolved config a checkpoint stores; one line when it has none."""
    cfg = state.get("config")
    if not isinstance(cfg, dict):
        raise CheckpointError(
            f"checkpoint '{path}' holds no config (it was not written by fcc train); pass a run folder's checkpoint"
        )
    return cfg


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
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),  # (version, tuple of ints, None): plain types
        "numpy": {
            "bit_generator": str(name),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "generators": {k: g.get_state() for k, g in (generators or {}).items()},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Put back what :func:`capture_rng` saved (a resumed run then draws the same numbers)."""
    random.setstate(state["python"])
    npst = state["numpy"]
    if isinstance(npst, dict):
        keys = npst["keys"].cpu().numpy().astype(np.uint32)
        np.random.set_state((npst["bit_generator"], keys, npst["pos"], npst["has_gauss"], npst["cached_gaussian"]))
    else:  # format 1: the tuple numpy gave
        np.random.set_state(npst)
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    for k, g in (generators or {}).items():
        if k in state.get("generators", {}):
            g.set_state(state["generators"][k].cpu())


class CheckpointSaver:
    """Writes a run's ``last.pt`` and ``best.pt`` under ``folder`` (only where ``enabled``: the main process).

    An epoch that writes both serialises the state once: ``best.pt`` becomes a copy of the new ``last.pt``,
    published after it. A kill between the two leaves a ``last.pt`` whose ``best`` record names its own
    epoch while ``best.pt`` holds an older one; :meth:`repair_best` publishes it again on resume.
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

    def repair_best(self, resumed: Path, state: dict[str, Any]) -> str | None:
        """Publish ``best.pt`` again when the resumed ``last.pt`` says it is the best epoch and ``best.pt`` does not hold it.

        Returns a note saying so, or None when nothing needed repair.
        """
        best = state.get("best")
        epoch = state.get("epoch")
        if not self.enabled or resumed.name != "last.pt" or not isinstance(best, dict) or best.get("epoch") != epoch:
            return None
        target = self.folder / "best.pt"
        try:
            held = load_checkpoint(target).get("epoch")
        except CheckpointError:
            held = None
        if held == epoch:
            return None
        publish_copy(resumed, target)
        return f"best.pt held epoch {held}, not the best epoch {epoch} that last.pt names (a kill between the two writes); published it again"

"""A restricted unpickler for the CIFAR python batches: it builds numpy arrays and plain containers only.

The CIFAR files are pickles, and a pickle can name any importable callable (``os.system`` among
them) and have it called while loading. The real batch files only ever contain dicts, lists,
bytes, strings, numbers and numpy arrays, which a pickle rebuilds through three numpy globals
(``_reconstruct``, ``ndarray``, ``dtype``; a Python 3 protocol-2 pickle adds latin-1 ``_codecs.encode``). This unpickler resolves exactly those and refuses
every other global with :class:`UnsafePickleError`, before anything is called.

>>> import io, os, pickle
>>> import numpy as np
>>> good = pickle.dumps({b"data": np.zeros((2, 3), np.uint8), b"labels": [1, 2]}, protocol=2)
>>> load_batch(io.BytesIO(good))[b"labels"]
[1, 2]
>>> class Evil:
...     def __reduce__(self):
...         return (os.system, ("echo owned",))
>>> load_batch(io.BytesIO(pickle.dumps(Evil())))
Traceback (most recent call last):
...
fcc_train.data.safe_pickle.UnsafePickleError: the file asks to call posix.system, which a CIFAR batch never contains
"""

from __future__ import annotations

import codecs
import pickle
from typing import IO, Any

import numpy as np

__all__ = ["UnsafePickleError", "load_batch"]


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle refers to a global that a CIFAR batch never contains."""


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocol 2 (latin-1 only: nothing else is needed)."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise UnsafePickleError(f"the file asks to encode with {encoding!r}, which a CIFAR batch never does")
    return codecs.encode(text, "latin1")


# (module, name) of every global a real CIFAR batch pickle refers to (numpy 1.x and 2.x spellings)
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,  # type: ignore[attr-defined]
    ("numpy._core.multiarray", "_reconstruct"): np.core.multiarray._reconstruct,  # type: ignore[attr-defined]
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_bytes,  # bytes in a protocol-2 pickle written by Python 3
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"the file asks to call {module}.{name}, which a CIFAR batch never contains") from None


def load_batch(fh: IO[bytes]) -> Any:
    """Unpickle one CIFAR batch file (Python-2 pickles: ``bytes`` keys) without running foreign code."""
    return _BatchUnpickler(fh, encoding="bytes").load()

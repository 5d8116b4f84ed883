"""fcc_train: a fast long-tailed trainer reproducing FCC's Tables 1-2 (raw methods and +FCC).

``from fcc_train import FCC`` gives FCC as a module for any training loop (:mod:`fcc_train.compression`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FCC"]


def __getattr__(name: str) -> Any:
    # lazy: `import fcc_train.config` and friends must not pay for torch.nn at import time
    if name == "FCC":
        from fcc_train.compression import FCC

        return FCC
    raise AttributeError(f"module 'fcc_train' has no attribute {name!r}")

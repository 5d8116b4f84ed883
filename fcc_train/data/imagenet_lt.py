"""ImageNet-LT split lists (Liu et al. 2019, OLTR; also used by decoupling, BoT and FCC).

Layout under ``data.root``::

    ImageNet_LT_train.txt   "relative/path.JPEG label" per line (115,846 lines, 1,000 classes, 1,280 max, 5 min)
    ImageNet_LT_val.txt     20,000 lines (20 per class)
    ImageNet_LT_test.txt    50,000 lines (50 per class; BoT/FCC evaluate on this one)
    train/... val/...       the ImageNet images the paths point to (relative to the root)

The list files may also sit in a ``splits/`` sub-folder of the root.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SPLIT_FILES", "imagenet_lt_split", "read_split_list", "split_list_path"]

SPLIT_FILES = {"train": "ImageNet_LT_train.txt", "val": "ImageNet_LT_val.txt", "test": "ImageNet_LT_test.txt"}
LAYOUT = "expected ImageNet_LT_{train,val,test}.txt ('relative/path label' lines) in the root (or root/splits) beside the images"


def read_split_list(path: str | Path) -> tuple[list[str], list[int]]:
    """``(paths, labels)`` of a "relative/path label" list; blank lines skipped; a malformed line raises ``DataError``."""
    from fcc_train.data import DataError

    paths: list[str] = []
    labels: list[int] = []
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{p} is not UTF-8 text (byte {exc.start}); {LAYOUT}") from None
    for k, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.rsplit(None, 1)  # the label is the last field; paths never hold spaces in the official lists
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit() or int(parts[1]) < 0:
            raise DataError(f"{p}:{k}: expected 'relative/path label', got {line[:80]!r}")
        paths.append(parts[0])
        labels.append(int(parts[1]))
    if not paths:
        raise DataError(f"{p} lists no images; {LAYOUT}")
    return paths, labels


def split_list_path(root: str | Path, split: str) -> Path:
    from fcc_train.data import DataError

    if split not in SPLIT_FILES:
        raise DataError(f"unknown ImageNet-LT split '{split}'; use train, val or test")
    root = Path(root)
    for cand in (root / SPLIT_FILES[split], root / "splits" / SPLIT_FILES[split]):
        if cand.is_file():
            return cand
    raise DataError(f"ImageNet-LT: {SPLIT_FILES[split]} not found under '{root}'; {LAYOUT}")


def imagenet_lt_split(root: str | Path, split: str) -> tuple[list[str], list[int]]:
    """Absolute image paths and labels of one split (``train`` / ``val`` / ``test``)."""
    paths, labels = read_split_list(split_list_path(root, split))
    root = Path(root)
    return [str(root / p) for p in paths], labels
